/*
 * restore_args.c - parses the flags of `smartvault restore` and `smartvault list` (restore_args.h).
 *
 * Each flag takes `--flag VALUE` or `--flag=VALUE`. Ids are checked for their shape (i-…, vol-…) so a typo is
 * one clear line and exit 2 before any call. What it does not do: look anything up in AWS.
 */
#include "backup/restore_args.h"

#include "base/time.h"
#include "cfg/cfg_check.h"

#include <stdio.h>
#include <string.h>

/* "i-" or "vol-" followed by 8 or 17 lower-case hex digits (EC2's two id lengths). */
static bool s_id_ok(const char *v, const char *prefix) {
    size_t p = strlen(prefix), n = strlen(v);
    if (strncmp(v, prefix, p) != 0 || (n - p != 8 && n - p != 17)) {
        return false;
    }
    for (size_t i = p; i < n; i++) {
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* An availability zone: a region name followed by a letter (us-east-1a) or a local/wavelength zone name. */
static bool s_az_ok(const char *v) {
    size_t n = strlen(v);
    if (n < 4 || n > CFG_REGION_MAX + 16) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return v[n - 1] >= 'a' && v[n - 1] <= 'z';
}

static enum err s_bad(struct restore_args *a, const char *flag, const char *why, const char *v) {
    snprintf(a->error, sizeof(a->error), "%s: %s%s%s%s", flag, why, v ? ", got \"" : "", v ? v : "", v ? "\"" : "");
    return ERR_INVALID;
}

/* The value of --name (next argument or after '='); NULL when the flag does not match. */
static const char *s_value(int argc, char **argv, int *i, const char *name, bool *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) {
        return NULL;
    }
    if (argv[*i][n] == '=') {
        return argv[*i] + n + 1;
    }
    if (argv[*i][n] != '\0') {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static enum err s_take(struct restore_args *a, const char *flag, const char *v) {
    if (strcmp(flag, "--instance") == 0 || strcmp(flag, "--attach-to") == 0) {
        ENSURE(s_id_ok(v, "i-"), s_bad(a, flag, "must be an instance id (i-0123456789abcdef0)", v), "bad id");
        *(flag[2] == 'i' ? &a->instance : &a->attach_to) = v;
    } else if (strcmp(flag, "--region") == 0) {
        const char *why = NULL;
        ENSURE(cfg_check_region(span_from_cstr(v), &why) == ERR_OK, s_bad(a, flag, why, v), "bad region");
        a->region = v;
    } else if (strcmp(flag, "--az") == 0) {
        ENSURE(s_az_ok(v), s_bad(a, flag, "must be an availability zone name (us-east-1a)", v), "bad zone");
        a->az = v;
    } else if (strcmp(flag, "--at") == 0) {
        ENSURE(
          time_parse_rfc3339(span_from_cstr(v), &a->at_s) == ERR_OK,
          s_bad(a, flag, "must be an RFC 3339 time (2026-01-31T23:00:00Z)", v),
          "bad time");
        a->at_set = true;
    } else if (strcmp(flag, "--volume") == 0) {
        ENSURE(s_id_ok(v, "vol-"), s_bad(a, flag, "must be a volume id (vol-0123456789abcdef0)", v), "bad id");
        ENSURE(a->nvolumes < RESTORE_MAX_VOLUMES, s_bad(a, flag, "given more than 64 times", NULL), "too many");
        a->volumes[a->nvolumes++] = span_from_cstr(v);
    } else {
        ENSURE(
          cfg_check_duration(span_from_cstr(v), RESTORE_MAX_TIMEOUT_S, &a->timeout_s) == ERR_OK && a->timeout_s > 0,
          s_bad(a, flag, "must be a duration from 1s to 6h (90s, 30m, 2h)", v),
          "bad duration");
    }
    return ERR_OK;
}

static const char *const s_restore_flags[] = { "--instance", "--region",    "--az",     "--at",
                                               "--volume",   "--attach-to", "--timeout" };

enum err restore_args_parse(struct restore_args *a, int argc, char **argv, bool is_list) {
    memset(a, 0, sizeof(*a));
    a->timeout_s = RESTORE_DEFAULT_TIMEOUT_S;
    size_t nflags = is_list ? 2 : sizeof(s_restore_flags) / sizeof(s_restore_flags[0]);
    for (int i = 0; i < argc; i++) {
        bool taken = false, missing = false;
        for (size_t f = 0; f < nflags && !taken; f++) {
            const char *v = s_value(argc, argv, &i, s_restore_flags[f], &missing);
            if (missing) {
                return s_bad(a, s_restore_flags[f], "needs a value", NULL);
            }
            if (v != NULL) {
                TRY(s_take(a, s_restore_flags[f], v));
                taken = true;
            }
        }
        if (!taken && !is_list && (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "--no-wait") == 0)) {
            *(argv[i][2] == 'd' ? &a->dry_run : &a->no_wait) = true;
            taken = true;
        }
        if (!taken) {
            ENSURE(a->nrest < CFG_FLAG_ARGS_MAX, s_bad(a, argv[i], "too many arguments", NULL), "too many");
            a->rest[a->nrest++] = argv[i];
        }
    }
    if (!is_list && a->instance == NULL) {
        return s_bad(a, "--instance", "required: the instance to restore (see smartvault list)", NULL);
    }
    return ERR_OK;
}
