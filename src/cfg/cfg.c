/*
 * cfg.c - environment + flags → one validated `struct cfg` (the rules are in cfg.h).
 *
 * It works in three steps: collect the raw text of every known variable (environment first, then the flags on
 * top, each remembering where it came from), resolve each setting from its variable and aliases and check it
 * (cfg_check.c holds the shape rules), then the checks that span several settings (DEST_REGION vs
 * SOURCE_REGION, the S3 job's source and routes, "nothing to do"). The first failure writes the one error line
 * and stops.
 *
 * It does not read the process environment (the input is injected), does not log, does not resolve anything
 * over the network (the region from IMDS, credentials, whether a bucket exists), and does not read credential
 * values: for those it records only that they are set.
 */
#include "cfg/cfg.h"

#include "base/time.h"
#include "cfg/cfg_check.h"
#include "cfg/cfg_targets.h"
#include "cfg/cfg_typo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The table (cfg_vars.c), read directly here: the parser is its main reader. */
#define s_vars (cfg_var_table())

/* ---- parse state and the one error line ------------------------------------------------------------------- */

struct s_raw {
    struct span v; /* trimmed; empty means unset */
    enum cfg_origin origin;
    const char *flag; /* the flag as written, when origin is CFG_ORIGIN_FLAG */
    size_t seq;       /* position among the flags, to let the last of several flags win */
};

struct s_parse {
    struct cfg *c;
    struct arena *a;
    struct cfg_error *err;
    struct s_raw raw[CFG_VAR__COUNT];
};

/* Values are quoted in the error line at most this long, escaped, so the line stays one short line. */
#define S_QUOTE_MAX 80

static void s_append(struct cfg_error *e, const char *fmt, ...) SV_PRINTF(2, 3);
static void s_append(struct cfg_error *e, const char *fmt, ...) {
    size_t used = strlen(e->line);
    if (used + 1 >= sizeof(e->line)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->line + used, sizeof(e->line) - used, fmt, ap);
    va_end(ap);
}

/* Appends `"value"` with quotes, backslashes and non-printable bytes escaped, cut at S_QUOTE_MAX. */
static void s_append_quoted(struct cfg_error *e, struct span v) {
    s_append(e, "\"");
    for (size_t i = 0; i < v.n && i < S_QUOTE_MAX; i++) {
        unsigned char c = (unsigned char) v.p[i];
        if (c == '"' || c == '\\') {
            s_append(e, "\\%c", c);
        } else if (c < 0x20 || c >= 0x7f) {
            s_append(e, "\\x%02x", c);
        } else {
            s_append(e, "%c", c);
        }
    }
    s_append(e, v.n > S_QUOTE_MAX ? "...\"" : "\"");
}

/*
 * Writes "<NAME>: <message>[, got "<value>"][ (from <flag>)]" and returns ERR_CONFIG. `got` NULL: the value is
 * not quoted (because it is not the point, or because it might hold a password).
 */
static enum err s_fail(struct s_parse *p, enum cfg_var var, const struct span *got, const char *fmt, ...)
  SV_PRINTF(4, 5);
static enum err s_fail(struct s_parse *p, enum cfg_var var, const struct span *got, const char *fmt, ...) {
    struct cfg_error *e = p->err;
    e->var = var;
    e->line[0] = '\0';
    s_append(e, "%s: ", s_vars[var].name);
    size_t used = strlen(e->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->line + used, sizeof(e->line) - used, fmt, ap);
    va_end(ap);
    if (got != NULL) {
        s_append(e, ", got ");
        s_append_quoted(e, *got);
    }
    if (p->raw[var].origin == CFG_ORIGIN_FLAG) {
        s_append(e, " (from %s)", p->raw[var].flag);
    }
    return err_raise(ERR_CONFIG, __FILE__, __LINE__, "%s", e->line);
}

/* An error about a flag itself (unknown, missing value): the line starts with the flag, made printable. */
static enum err s_fail_flag(struct s_parse *p, struct span flag, const char *fmt, ...) SV_PRINTF(3, 4);
static enum err s_fail_flag(struct s_parse *p, struct span flag, const char *fmt, ...) {
    struct cfg_error *e = p->err;
    e->var = CFG_VAR__COUNT;
    e->line[0] = '\0';
    for (size_t i = 0; i < flag.n && i < S_QUOTE_MAX; i++) {
        unsigned char c = (unsigned char) flag.p[i];
        s_append(e, "%c", c < 0x20 || c >= 0x7f ? '?' : (char) c);
    }
    s_append(e, ": ");
    size_t used = strlen(e->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->line + used, sizeof(e->line) - used, fmt, ap);
    va_end(ap);
    return err_raise(ERR_CONFIG, __FILE__, __LINE__, "%s", e->line);
}

/* "--set: <why>, got "<value>"". */
static enum err s_fail_set(struct s_parse *p, const char *why, struct span got) {
    struct cfg_error *e = p->err;
    e->var = CFG_VAR__COUNT;
    e->line[0] = '\0';
    s_append(e, "--set: %s, got ", why);
    s_append_quoted(e, got);
    return err_raise(ERR_CONFIG, __FILE__, __LINE__, "%s", e->line);
}

/* ---- step 1: collect ------------------------------------------------------------------------------------- */

static bool s_env_lookup(const struct cfg_input *in, const char *name, struct span *out) {
    if (in->envp != NULL) {
        size_t n = strlen(name);
        for (const char *const *e = in->envp; *e != NULL; e++) {
            if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
                *out = span_from_cstr(*e + n + 1);
                return true;
            }
        }
        return false;
    }
    if (in->getenv_fn != NULL) {
        const char *v = in->getenv_fn(in->getenv_ctx, name);
        if (v != NULL) {
            *out = span_from_cstr(v);
            return true;
        }
    }
    return false;
}

static enum err s_collect_env(struct s_parse *p, const struct cfg_input *in) {
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        struct span v;
        if (!s_env_lookup(in, s_vars[i].name, &v)) {
            continue;
        }
        v = span_trim(v);
        if (v.n == 0) {
            continue;
        }
        /* Credentials: only whether they are set matters here; their length is none of our business. */
        if (v.n > CFG_VALUE_MAX && s_vars[i].kind != CFG_KIND_SECRET) {
            return s_fail(p, (enum cfg_var) i, NULL, "value longer than %d bytes", CFG_VALUE_MAX);
        }
        p->raw[i] = (struct s_raw){ v, CFG_ORIGIN_ENV, NULL, 0 };
    }
    return ERR_OK;
}

/* An unknown variable that looks like ours (cfg_typo.h) is refused before anything runs: a typo in a retention
 * variable would otherwise be a silent default. Only an injected envp can be walked. */
static enum err s_check_typos(struct s_parse *p, const struct cfg_input *in) {
    for (const char *const *e = in->envp; e != NULL && *e != NULL; e++) {
        struct span name, value;
        const char *suggest;
        if (!span_split(span_from_cstr(*e), '=', &name, &value) || !cfg_typo_suspect(name, &suggest)) {
            continue;
        }
        struct cfg_error *err = p->err;
        err->var = CFG_VAR__COUNT;
        err->line[0] = '\0';
        if (suggest != NULL) {
            s_append(err, "%.*s: not a SmartVault variable; did you mean %s?", SPAN_FMT(name), suggest);
        } else {
            s_append(err, "%.*s: not a SmartVault variable (smartvault --help lists them)", SPAN_FMT(name));
        }
        return err_raise(ERR_CONFIG, __FILE__, __LINE__, "%s", err->line);
    }
    return ERR_OK;
}

static bool s_find_var(struct span name, enum cfg_var *out) {
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        if (span_eq_cstr(name, s_vars[i].name)) {
            *out = (enum cfg_var) i;
            return true;
        }
    }
    return false;
}

static enum err s_set_flag(struct s_parse *p, enum cfg_var var, struct span v, const char *flag, size_t seq) {
    if (v.n > CFG_VALUE_MAX) {
        return s_fail_flag(p, span_from_cstr(flag), "value longer than %d bytes", CFG_VALUE_MAX);
    }
    /* An empty flag value is kept (as "unset, from a flag") so that it overrides the environment. */
    p->raw[var] = (struct s_raw){ span_trim(v), CFG_ORIGIN_FLAG, flag, seq };
    return ERR_OK;
}

/* `--set VAR=VALUE` (or `--set` `VAR=VALUE`) at argv[*i]; *i moves past what it used. */
static enum err
s_flag_set(struct s_parse *p, const struct cfg_input *in, int argc, int *i, struct span value, bool has) {
    if (!has) {
        if (*i + 1 >= argc || in->argv[*i + 1] == NULL) {
            return s_fail_flag(p, SPAN_LIT("--set"), "needs VAR=VALUE");
        }
        value = span_from_cstr(in->argv[++*i]);
    }
    struct span var_name, var_value;
    if (!span_split(value, '=', &var_name, &var_value) || var_name.n == 0) {
        return s_fail_set(p, "needs VAR=VALUE", value);
    }
    enum cfg_var var;
    if (!s_find_var(var_name, &var)) {
        return s_fail_set(p, "unknown variable (see smartvault --help)", var_name);
    }
    if (s_vars[var].kind == CFG_KIND_SECRET || s_vars[var].kind == CFG_KIND_SHOWN) {
        return s_fail_flag(
          p,
          SPAN_LIT("--set"),
          "%s is read from the environment only (flags are visible to every local user)",
          s_vars[var].name);
    }
    return s_set_flag(p, var, var_value, "--set", (size_t) *i + 1);
}

/* A dedicated flag (`--retention-days 14`, `--dry-run`) at argv[*i]; *i moves past its value. */
static enum err s_flag_named(
  struct s_parse *p,
  const struct cfg_input *in,
  int argc,
  int *i,
  struct span name,
  struct span value,
  bool has) {
    enum cfg_var var = CFG_VAR__COUNT;
    for (size_t k = 0; k < CFG_VAR__COUNT; k++) {
        if (s_vars[k].flag != NULL && span_eq_cstr(name, s_vars[k].flag)) {
            var = (enum cfg_var) k;
        }
    }
    if (var == CFG_VAR__COUNT) {
        return s_fail_flag(p, name, "unknown flag (see smartvault --help)");
    }
    if (var == CFG_VAR_DRY_RUN && !has) {
        value = SPAN_LIT("true"); /* --dry-run alone; --dry-run=false is also accepted */
    } else if (!has) {
        if (*i + 1 >= argc || in->argv[*i + 1] == NULL) {
            return s_fail_flag(p, name, "needs a value");
        }
        value = span_from_cstr(in->argv[++*i]);
    }
    /* The flag as written, without "=value", kept in the arena for the error line and cfg_print. */
    return s_set_flag(p, var, value, arena_span_cstr(p->a, name), (size_t) *i + 1);
}

static enum err s_collect_flags(struct s_parse *p, const struct cfg_input *in) {
    int argc = in->argv != NULL ? in->argc : 0;
    if (argc < 0 || argc > CFG_FLAG_ARGS_MAX) {
        return s_fail_flag(p, SPAN_LIT("flags"), "at most %d arguments are accepted", CFG_FLAG_ARGS_MAX);
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = in->argv[i] != NULL ? in->argv[i] : "";
        struct span a = span_from_cstr(arg);
        if (!span_starts_with(a, SPAN_LIT("--")) || a.n == 2) {
            return s_fail_flag(p, a, "unexpected argument (flags are --name VALUE or --name=VALUE)");
        }
        struct span name, value;
        bool has_value = span_split(a, '=', &name, &value);
        if (span_eq_cstr(name, "--set")) {
            TRY(s_flag_set(p, in, argc, &i, value, has_value));
        } else {
            TRY(s_flag_named(p, in, argc, &i, name, value, has_value));
        }
    }
    return ERR_OK;
}

/* ---- step 2: resolve, one setting at a time --------------------------------------------------------------- */

/* Is v the setting `canon` itself or one of its plain aliases (not the route contributors)? */
static bool s_in_group(enum cfg_var v, enum cfg_var canon) {
    if (v == canon) {
        return true;
    }
    return s_vars[v].kind == CFG_KIND_ALIAS && s_vars[v].alias_of == canon && canon != CFG_VAR_S3_ROUTES;
}

/*
 * The value of setting `canon`: the last flag among it and its aliases, else the first of them set in the
 * environment. Records provenance in c->src[canon]. Returns false when unset (the span is then empty); *from is
 * the variable read, to name in an error.
 */
static bool s_get(struct s_parse *p, enum cfg_var canon, struct span *out, enum cfg_var *from) {
    enum cfg_var pick = CFG_VAR__COUNT;
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        const struct s_raw *r = &p->raw[i];
        if (
          s_in_group((enum cfg_var) i, canon) && r->origin == CFG_ORIGIN_FLAG &&
          (pick == CFG_VAR__COUNT || r->seq > p->raw[pick].seq)) {
            pick = (enum cfg_var) i;
        }
    }
    for (size_t i = 0; pick == CFG_VAR__COUNT && i < CFG_VAR__COUNT; i++) {
        if (s_in_group((enum cfg_var) i, canon) && p->raw[i].origin == CFG_ORIGIN_ENV) {
            pick = (enum cfg_var) i;
        }
    }
    *from = pick == CFG_VAR__COUNT ? canon : pick;
    if (pick == CFG_VAR__COUNT || p->raw[pick].v.n == 0) {
        /* Unset; an empty flag still shows as the reason (it overrode the environment). */
        p->c->src[canon] = (struct cfg_source){ CFG_ORIGIN_UNSET, *from, NULL, NULL };
        *out = (struct span){ "", 0 };
        return false;
    }
    p->c->src[canon] =
      (struct cfg_source){ p->raw[pick].origin, pick, p->raw[pick].flag, arena_span_cstr(p->a, p->raw[pick].v) };
    *out = p->raw[pick].v;
    return true;
}

static void s_defaulted(struct s_parse *p, enum cfg_var canon) {
    p->c->src[canon].origin = CFG_ORIGIN_DEFAULT;
}

static const char *s_dup(struct s_parse *p, struct span s) {
    return arena_span_cstr(p->a, s);
}

/*
 * The typed settings: range, default and wording come from the table (cfg_vars.def). The `_or` forms take a
 * default computed from another setting (DEST_RETENTION_DAYS = RETENTION_DAYS, RPO = 2 x MIN_INTERVAL).
 */

/* Records a typed setting's effective value in its canonical text (for `config` and cfg_env_get). */
static void s_typed_value(struct s_parse *p, enum cfg_var var, int64_t n) {
    char text[64];
    cfg_format_value(var, n, text, sizeof(text));
    p->c->src[var].value = arena_strndup(p->a, text, strlen(text));
}

/* A whole number in [min, max]; the table's unit completes "must be a whole number<unit> between". */
static enum err s_uint_or(struct s_parse *p, enum cfg_var var, uint32_t def, uint32_t *out) {
    const struct cfg_var_info *t = &s_vars[var];
    struct span v;
    enum cfg_var from;
    uint64_t n = def;
    if (!s_get(p, var, &v, &from)) {
        s_defaulted(p, var);
    } else if (span_to_u64(v, (uint64_t) t->max, &n) != ERR_OK || n < (uint64_t) t->min) {
        return s_fail(
          p, from, &v, "must be a whole number%s between %u and %u", t->extra, (unsigned) t->min, (unsigned) t->max);
    }
    *out = (uint32_t) n;
    s_typed_value(p, var, (int64_t) n);
    return ERR_OK;
}

static enum err s_uint(struct s_parse *p, enum cfg_var var, uint32_t *out) {
    return s_uint_or(p, var, (uint32_t) s_vars[var].def, out);
}

/* A number without a default: unset stays unset (*set false, *out 0). */
static enum err s_optional_uint(struct s_parse *p, enum cfg_var var, bool *set, uint32_t *out) {
    struct span v;
    enum cfg_var from;
    *set = s_get(p, var, &v, &from);
    *out = 0;
    if (!*set) {
        return ERR_OK;
    }
    TRY(s_uint_or(p, var, 0, out));
    return ERR_OK;
}

static enum err s_bool(struct s_parse *p, enum cfg_var var, bool *out) {
    struct span v;
    enum cfg_var from;
    *out = s_vars[var].def == 1;
    if (!s_get(p, var, &v, &from)) {
        s_defaulted(p, var);
    } else if (cfg_check_bool(v, out) != ERR_OK) {
        return s_fail(p, from, &v, "must be true or false (or 1/0, yes/no)");
    }
    s_typed_value(p, var, *out);
    return ERR_OK;
}

static enum err s_duration_or(struct s_parse *p, enum cfg_var var, int64_t def, int64_t *out) {
    const struct cfg_var_info *t = &s_vars[var];
    struct span v;
    enum cfg_var from;
    *out = def;
    if (!s_get(p, var, &v, &from)) {
        s_defaulted(p, var);
        s_typed_value(p, var, def);
        return ERR_OK;
    }
    char limit[32];
    if (cfg_check_duration(v, t->max, out) != ERR_OK) {
        cfg_format_duration(t->max, limit, sizeof(limit));
        return s_fail(
          p, from, &v, "must be a duration such as 90s, 30m, 1h or 2h30m (or whole seconds), at most %s", limit);
    }
    if (*out < t->min) {
        cfg_format_duration(t->min, limit, sizeof(limit));
        return s_fail(p, from, &v, "must be at least %s", limit);
    }
    s_typed_value(p, var, *out);
    return ERR_OK;
}

static enum err s_duration(struct s_parse *p, enum cfg_var var, int64_t *out) {
    return s_duration_or(p, var, s_vars[var].def, out);
}

static enum err s_size(struct s_parse *p, enum cfg_var var, uint64_t *out) {
    const struct cfg_var_info *t = &s_vars[var];
    struct span v;
    enum cfg_var from;
    *out = (uint64_t) t->def;
    if (!s_get(p, var, &v, &from)) {
        s_defaulted(p, var);
        s_typed_value(p, var, t->def);
        return ERR_OK;
    }
    const char *why = NULL;
    if (cfg_check_size(v, (uint64_t) t->min, (uint64_t) t->max, out, &why) != ERR_OK) {
        if (why == NULL) {
            return s_fail(
              p,
              from,
              &v,
              "must be between %lluMiB and %lluGiB",
              (unsigned long long) ((uint64_t) t->min / CFG_MIB),
              (unsigned long long) ((uint64_t) t->max / CFG_GIB));
        }
        return s_fail(p, from, &v, "%s", why);
    }
    s_typed_value(p, var, (int64_t) *out);
    return ERR_OK;
}

/* One of the table's choices ("a|b|c", any letter case); *out is its index. */
static enum err s_choice(struct s_parse *p, enum cfg_var var, int *out) {
    const struct cfg_var_info *t = &s_vars[var];
    struct span v;
    enum cfg_var from;
    *out = (int) t->def;
    if (!s_get(p, var, &v, &from)) {
        s_defaulted(p, var);
        s_typed_value(p, var, t->def);
        return ERR_OK;
    }
    struct span rest = span_from_cstr(t->extra), choice;
    for (int i = 0; rest.n > 0; i++) {
        span_split(rest, '|', &choice, &rest); /* the last part: all of it, rest empty */
        if (span_eq_nocase(v, choice)) {
            *out = i;
            s_typed_value(p, var, i);
            return ERR_OK;
        }
    }
    char list[CFG_ERROR_MAX / 2];
    cfg_choices_text(t, ", ", list, sizeof(list));
    return s_fail(p, from, &v, "must be one of %s", list);
}

/* A string checked by `check`; NULL when unset. */
static enum err
s_checked(struct s_parse *p, enum cfg_var var, enum err (*check)(struct span, const char **), const char **out) {
    struct span v;
    enum cfg_var from;
    *out = NULL;
    if (!s_get(p, var, &v, &from)) {
        return ERR_OK;
    }
    const char *why = "is not valid";
    if (check(v, &why) != ERR_OK) {
        return s_fail(p, from, &v, "%s", why);
    }
    *out = s_dup(p, v);
    return ERR_OK;
}

/* ---- the settings, grouped as in cfg.h ---------------------------------------------------------------------- */

static enum err s_regions(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_checked(p, CFG_VAR_SOURCE_REGION, cfg_check_region, &c->source_region));
    TRY(s_checked(p, CFG_VAR_DEST_REGION, cfg_check_region, &c->dest_region));
    if (c->source_region == NULL || c->dest_region == NULL) {
        return ERR_OK;
    }
    const char *source_name = s_vars[c->src[CFG_VAR_SOURCE_REGION].from].name;
    if (strcmp(c->source_region, c->dest_region) == 0) {
        return s_fail(
          p,
          CFG_VAR_DEST_REGION,
          NULL,
          "must differ from the source region (%s=%s): a copy in the same region is no disaster recovery",
          source_name,
          c->source_region);
    }
    const char *sp = cfg_check_partition_of(span_from_cstr(c->source_region));
    const char *dp = cfg_check_partition_of(span_from_cstr(c->dest_region));
    if (strcmp(sp, dp) != 0) {
        return s_fail(
          p,
          CFG_VAR_DEST_REGION,
          NULL,
          "%s is in partition %s but %s=%s is in %s; snapshots cannot be copied between partitions",
          c->dest_region,
          dp,
          source_name,
          c->source_region,
          sp);
    }
    return ERR_OK;
}

static enum err s_backup_tag(struct s_parse *p) {
    struct cfg_backup_tag *t = &p->c->backup_tag;
    struct span v;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_BACKUP_TAG, &v, &from)) {
        /* DESIGN.md §2: key Backup or backup (seeds 000-004 use both), value true in any case. */
        *t = (struct cfg_backup_tag){ { "Backup", "backup" }, 2, "true", true };
        s_defaulted(p, CFG_VAR_BACKUP_TAG);
        return ERR_OK;
    }
    struct span key, value;
    const char *why = NULL;
    if (cfg_check_tag(v, &key, &value, &why) != ERR_OK) {
        return s_fail(p, from, &v, "%s", why);
    }
    *t = (struct cfg_backup_tag){ { s_dup(p, key), NULL }, 1, s_dup(p, value), false };
    return ERR_OK;
}

static enum err s_retention(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_uint(p, CFG_VAR_RETENTION_DAYS, &c->retention_days));
    TRY(s_uint_or(p, CFG_VAR_DEST_RETENTION_DAYS, c->retention_days, &c->dest_retention_days));
    TRY(s_uint(p, CFG_VAR_MIN_KEEP, &c->min_keep));
    bool d, w, m;
    TRY(s_optional_uint(p, CFG_VAR_KEEP_DAILY, &d, &c->keep_daily));
    TRY(s_optional_uint(p, CFG_VAR_KEEP_WEEKLY, &w, &c->keep_weekly));
    TRY(s_optional_uint(p, CFG_VAR_KEEP_MONTHLY, &m, &c->keep_monthly));
    c->gfs = d || w || m;
    return ERR_OK;
}

static enum err s_kms(struct s_parse *p) {
    struct cfg *c = p->c;
    struct span v, region;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_KMS_KEY_ID, &v, &from)) {
        return ERR_OK;
    }
    const char *why = NULL;
    if (cfg_check_kms_key(v, &region, &why) != ERR_OK) {
        return s_fail(p, from, &v, "%s", why);
    }
    c->kms_key_id = s_dup(p, v);
    c->kms_key_region = region.n > 0 ? s_dup(p, region) : NULL;
    /* EC2 CopySnapshot: "The KMS key must be in the destination Region" - a key elsewhere fails every copy. */
    if (c->kms_key_region != NULL && c->dest_region != NULL && strcmp(c->kms_key_region, c->dest_region) != 0) {
        return s_fail(
          p,
          from,
          NULL,
          "the key is in %s but copies are encrypted in DEST_REGION %s; use a key in %s",
          c->kms_key_region,
          c->dest_region,
          c->dest_region);
    }
    return ERR_OK;
}

/* One zone name: lower-case letters, digits and '-', ending in a letter (us-east-1a, us-west-2-lax-1a). */
static bool s_zone_ok(struct span z) {
    if (z.n < 4 || z.n > CFG_REGION_MAX + 16 || z.p[z.n - 1] < 'a' || z.p[z.n - 1] > 'z') {
        return false;
    }
    for (size_t i = 0; i < z.n; i++) {
        char ch = z.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    return true;
}

/* RESTORE_DRILL_AZ: up to 4 zones, comma-separated, at most one per region (the drill picks by region). */
static enum err s_drill_zones(struct s_parse *p) {
    struct span v, rest, z;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_RESTORE_DRILL_AZ, &v, &from)) {
        return ERR_OK;
    }
    size_t n = 0;
    for (rest = v; rest.n > 0; n++) {
        span_split(rest, ',', &z, &rest); /* the last part: all of it, rest empty */
        if (n >= CFG_RESTORE_DRILL_ZONES_MAX || !s_zone_ok(span_trim(z))) {
            return s_fail(p, from, &v, "must be availability zone names, one per region, comma-separated (us-east-1a)");
        }
    }
    p->c->restore_drill_az = s_dup(p, v);
    return ERR_OK;
}

static enum err s_drill(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_uint(p, CFG_VAR_RESTORE_DRILL, &c->restore_drill));
    TRY(s_drill_zones(p));
    TRY(s_duration(p, CFG_VAR_RESTORE_DRILL_TIMEOUT, &c->restore_drill_timeout_s));
    return s_duration(p, CFG_VAR_RESTORE_DRILL_PERIOD, &c->restore_drill_period_s);
}

static enum err s_ebs(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_regions(p));
    TRY(s_bool(p, CFG_VAR_EBS_BACKUP, &c->ebs_backup));
    TRY(s_backup_tag(p));
    TRY(s_retention(p));
    TRY(s_duration(p, CFG_VAR_MIN_INTERVAL, &c->min_interval_s));
    /* A volume whose newest backup is older than two intervals missed at least one chance to be backed up. */
    int64_t rpo_default = 2 * c->min_interval_s > CFG_RPO_MIN_DEFAULT_S ? 2 * c->min_interval_s : CFG_RPO_MIN_DEFAULT_S;
    TRY(s_duration_or(p, CFG_VAR_RPO, rpo_default, &c->rpo_s));
    TRY(s_kms(p));
    TRY(s_duration(p, CFG_VAR_WAIT_FOR_COMPLETION, &c->wait_for_completion_s));
    TRY(s_uint(p, CFG_VAR_MAX_CONCURRENCY, &c->max_concurrency));
    TRY(s_uint(p, CFG_VAR_COPY_LIMIT, &c->copy_limit));
    TRY(s_duration(p, CFG_VAR_COPY_WINDOW, &c->copy_window_s));
    TRY(s_uint(p, CFG_VAR_EC2_PAGE_SIZE, &c->ec2_page_size));
    TRY(s_drill(p));
    return ERR_OK;
}

/* ---- targets: accounts x source regions, and shards (cfg_targets.c holds the shape rules) ---------------- */

typedef enum err (*s_list_check)(struct span, struct arena *, const char *const **, size_t *, const char **);

/* A list checked by `check`; unset leaves *out NULL and *n 0. The reason quotes the bad entry itself. */
static enum err s_list(struct s_parse *p, enum cfg_var var, s_list_check check, const char *const **out, size_t *n) {
    struct span v;
    enum cfg_var from;
    *out = NULL;
    *n = 0;
    if (!s_get(p, var, &v, &from)) {
        return ERR_OK;
    }
    const char *why = "is not valid";
    if (check(v, p->a, out, n, &why) != ERR_OK) {
        return s_fail(p, from, NULL, "%s", why);
    }
    return ERR_OK;
}

static bool s_listed(const char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* The DR region of every source region: differs from it, same partition, and where KMS_KEY_ID's ARN lives. */
static enum err s_dest_per_source(struct s_parse *p) {
    struct cfg *c = p->c;
    for (size_t i = 0; i < c->nsource_regions; i++) {
        const char *src = c->source_regions[i];
        const char *dst = cfg_dest_region_for(c, src);
        if (dst == NULL) {
            continue;
        }
        if (strcmp(src, dst) == 0) {
            return s_fail(
              p,
              CFG_VAR_DEST_REGION,
              NULL,
              "must differ from the source region %s (give %s another DR region in DEST_REGION_MAP)",
              src,
              src);
        }
        const char *sp = cfg_check_partition_of(span_from_cstr(src));
        const char *dp = cfg_check_partition_of(span_from_cstr(dst));
        if (strcmp(sp, dp) != 0) {
            return s_fail(
              p,
              CFG_VAR_DEST_REGION,
              NULL,
              "%s is in partition %s but source region %s is in %s; snapshots cannot be copied between partitions",
              dst,
              dp,
              src,
              sp);
        }
        if (c->kms_key_region != NULL && strcmp(c->kms_key_region, dst) != 0) {
            return s_fail(
              p,
              CFG_VAR_KMS_KEY_ID,
              NULL,
              "the key is in %s but copies of %s go to %s; a key ARN serves one region, use an alias or key id",
              c->kms_key_region,
              src,
              dst);
        }
    }
    return ERR_OK;
}

static enum err s_source_regions(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_list(p, CFG_VAR_SOURCE_REGIONS, cfg_targets_regions, &c->source_regions, &c->nsource_regions));
    if (c->nsource_regions == 0 && c->source_region != NULL) {
        const char **one = ARENA_NEW_ARRAY(p->a, const char *, 1);
        one[0] = c->source_region;
        c->source_regions = one;
        c->nsource_regions = 1;
        s_defaulted(p, CFG_VAR_SOURCE_REGIONS);
    } else if (c->nsource_regions > 0 && c->source_region == NULL) {
        /* The home region (STS, Organizations, reporting) is the first region backed up. */
        c->source_region = c->source_regions[0];
        s_defaulted(p, CFG_VAR_SOURCE_REGION);
        c->src[CFG_VAR_SOURCE_REGION].value = c->source_region;
    }
    struct span v;
    enum cfg_var from;
    const char *why = "is not valid";
    if (
      s_get(p, CFG_VAR_DEST_REGION_MAP, &v, &from) &&
      cfg_targets_region_map(v, p->a, &c->dest_region_map, &c->ndest_region_map, &why) != ERR_OK) {
        return s_fail(p, from, NULL, "%s", why);
    }
    for (size_t i = 0; i < c->ndest_region_map; i++) {
        if (c->nsource_regions == 0 || !s_listed(c->source_regions, c->nsource_regions, c->dest_region_map[i].source)) {
            return s_fail(
              p,
              CFG_VAR_DEST_REGION_MAP,
              NULL,
              "maps %s, which is not a source region (SOURCE_REGIONS or SOURCE_REGION)",
              c->dest_region_map[i].source);
        }
    }
    return s_dest_per_source(p);
}

static enum err s_accounts(struct s_parse *p) {
    struct cfg *c = p->c;
    struct span v;
    enum cfg_var from;
    if (s_get(p, CFG_VAR_ACCOUNTS, &v, &from) && span_eq_nocase(v, SPAN_LIT("organization"))) {
        c->accounts_organization = true;
    } else {
        TRY(s_list(p, CFG_VAR_ACCOUNTS, cfg_targets_accounts, &c->accounts, &c->naccounts));
    }
    TRY(s_list(p, CFG_VAR_ACCOUNTS_EXCLUDE, cfg_targets_accounts, &c->accounts_exclude, &c->naccounts_exclude));
    TRY(s_checked(p, CFG_VAR_ACCOUNT_ROLE_NAME, cfg_targets_role_name, &c->account_role_name));
    TRY(s_checked(p, CFG_VAR_ACCOUNT_ROLE_EXTERNAL_ID, cfg_targets_external_id, &c->account_role_external_id));
    bool multi = c->accounts_organization || c->naccounts > 0;
    static const enum cfg_var needs_accounts[] = { CFG_VAR_ACCOUNTS_EXCLUDE,
                                                   CFG_VAR_ACCOUNT_ROLE_NAME,
                                                   CFG_VAR_ACCOUNT_ROLE_EXTERNAL_ID };
    for (size_t i = 0; !multi && i < sizeof(needs_accounts) / sizeof(needs_accounts[0]); i++) {
        if (c->src[needs_accounts[i]].origin != CFG_ORIGIN_UNSET) {
            return s_fail(p, needs_accounts[i], NULL, "is set but ACCOUNTS is not, so it would be ignored");
        }
    }
    if (multi && c->account_role_name == NULL) {
        return s_fail(
          p, CFG_VAR_ACCOUNT_ROLE_NAME, NULL, "must be set when ACCOUNTS is: the role assumed in each account");
    }
    size_t left = 0;
    for (size_t i = 0; i < c->naccounts; i++) {
        left += !s_listed(c->accounts_exclude, c->naccounts_exclude, c->accounts[i]);
    }
    if (c->naccounts > 0 && left == 0) {
        return s_fail(p, CFG_VAR_ACCOUNTS_EXCLUDE, NULL, "excludes every account of ACCOUNTS: nothing to back up");
    }
    return ERR_OK;
}

static enum err s_shards(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_uint(p, CFG_VAR_SHARD_COUNT, &c->shard_count));
    bool count_set = c->src[CFG_VAR_SHARD_COUNT].origin != CFG_ORIGIN_DEFAULT;
    struct span v;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_SHARD_INDEX, &v, &from)) {
        if (c->shard_count > 1) {
            return s_fail(
              p,
              CFG_VAR_SHARD_INDEX,
              NULL,
              "must be set when SHARD_COUNT is %u (or come from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX)",
              c->shard_count);
        }
        s_defaulted(p, CFG_VAR_SHARD_INDEX);
        return ERR_OK;
    }
    /* Without the count, every array child would back up every target. */
    if (!count_set) {
        return s_fail(
          p,
          CFG_VAR_SHARD_COUNT,
          NULL,
          "must be set when %s is: the number of shards (the Indexed Job's completions, the array size)",
          s_vars[from].name);
    }
    uint64_t n = 0;
    if (span_to_u64(v, CFG_SHARDS_MAX, &n) != ERR_OK || n >= c->shard_count) {
        return s_fail(p, from, &v, "must be a whole number between 0 and %u (SHARD_COUNT - 1)", c->shard_count - 1);
    }
    c->shard_index = (uint32_t) n;
    return ERR_OK;
}

static enum err s_targets(struct s_parse *p) {
    TRY(s_source_regions(p));
    TRY(s_accounts(p));
    return s_shards(p);
}

static enum err s_cycle(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_bool(p, CFG_VAR_DRY_RUN, &c->dry_run));
    struct span v;
    enum cfg_var from;
    if (s_get(p, CFG_VAR_SMARTVAULT_NOW, &v, &from)) {
        if (time_parse_rfc3339_ms(v, &c->now_ms) != ERR_OK || c->now_ms < 0) {
            return s_fail(p, from, &v, "must be an RFC 3339 time such as 2025-01-31T02:00:00Z (after 1970)");
        }
        c->now_set = true;
    }
    int format = 0;
    TRY(s_choice(p, CFG_VAR_LOG_FORMAT, &format));
    c->log_format = format == 1 ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
    c->log_level = LOG_INFO;
    if (!s_get(p, CFG_VAR_LOG_LEVEL, &v, &from)) {
        s_defaulted(p, CFG_VAR_LOG_LEVEL);
    } else if (!log_level_parse(v, &c->log_level)) {
        return s_fail(p, from, &v, "must be one of debug, info, warn, error, off");
    }
    TRY(s_duration(p, CFG_VAR_STOP_TIMEOUT, &c->stop_timeout_s));
    return s_duration(p, CFG_VAR_RUN_TIMEOUT, &c->run_timeout_s);
}

static enum err s_reporting(struct s_parse *p) {
    struct cfg *c = p->c;
    struct span v, region;
    enum cfg_var from;
    const char *why = NULL;
    if (s_get(p, CFG_VAR_SNS_TOPIC_ARN, &v, &from)) {
        if (cfg_check_sns_topic(v, &region, &why) != ERR_OK) {
            return s_fail(p, from, &v, "%s", why);
        }
        c->sns_topic_arn = s_dup(p, v);
        c->sns_topic_region = s_dup(p, region);
    }
    if (!s_get(p, CFG_VAR_METRIC_NAMESPACE, &v, &from)) {
        c->metric_namespace = CFG_DEFAULT_METRIC_NAMESPACE;
        s_defaulted(p, CFG_VAR_METRIC_NAMESPACE);
    } else if (cfg_check_namespace(v, &why) != ERR_OK) {
        return s_fail(p, from, &v, "%s", why);
    } else {
        c->metric_namespace = s_dup(p, v);
    }
    int mode = 0;
    TRY(s_choice(p, CFG_VAR_METRICS_MODE, &mode));
    c->metrics_mode = (enum cfg_metrics_mode) mode;
    if (s_get(p, CFG_VAR_DYNAMODB_TABLE, &v, &from)) {
        if (cfg_check_dynamodb_table(v, &region, &why) != ERR_OK) {
            return s_fail(p, from, &v, "%s", why);
        }
        c->dynamodb_table = s_dup(p, v);
        c->dynamodb_table_region = region.n > 0 ? s_dup(p, region) : NULL;
    }
    TRY(s_uint(p, CFG_VAR_AUDIT_TTL_DAYS, &c->audit_ttl_days));
    TRY(s_checked(p, CFG_VAR_REPORT_BUCKET, cfg_check_bucket, &c->report_bucket));
    c->report_prefix = CFG_DEFAULT_REPORT_PREFIX;
    if (!s_get(p, CFG_VAR_REPORT_PREFIX, &v, &from)) {
        s_defaulted(p, CFG_VAR_REPORT_PREFIX);
    } else if (cfg_check_key_prefix(v, &why) != ERR_OK) {
        return s_fail(p, from, &v, "%s", why);
    } else if (v.p[0] == '/') {
        return s_fail(p, from, &v, "must not start with '/' (S3 keys have no leading slash)");
    } else {
        c->report_prefix = s_dup(p, v);
    }
    return ERR_OK;
}

/* ---- S3 routes -------------------------------------------------------------------------------------------- */

struct s_routes {
    struct cfg_route items[CFG_ROUTES_MAX];
    size_t n;
};

static const struct cfg_route *s_route_find(const struct s_routes *r, struct span prefix) {
    for (size_t i = 0; i < r->n; i++) {
        if (span_eq_cstr(prefix, r->items[i].prefix)) {
            return &r->items[i];
        }
    }
    return NULL;
}

static enum err
s_route_add(struct s_parse *p, struct s_routes *r, enum cfg_var var, struct span prefix, struct span bucket) {
    if (r->n == CFG_ROUTES_MAX) {
        return s_fail(p, var, NULL, "more than %d routes", CFG_ROUTES_MAX);
    }
    r->items[r->n++] = (struct cfg_route){ s_dup(p, prefix), s_dup(p, bucket), var };
    return ERR_OK;
}

static enum err s_routes_list(struct s_parse *p, struct s_routes *r) {
    struct span v;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_S3_ROUTES, &v, &from)) {
        return ERR_OK;
    }
    struct span rest = v;
    size_t index = 0;
    for (bool more = true; more;) {
        struct span entry;
        more = span_split(rest, ',', &entry, &rest);
        index++;
        entry = span_trim(entry);
        if (entry.n == 0) {
            return s_fail(p, from, &v, "entry %zu is empty (expected prefix=bucket[,prefix=bucket...])", index);
        }
        /* Split at the last '=': bucket names never contain one, key prefixes may. */
        long eq = -1;
        for (size_t i = 0; i < entry.n; i++) {
            eq = entry.p[i] == '=' ? (long) i : eq;
        }
        if (eq < 0) {
            return s_fail(p, from, &entry, "entry %zu must be prefix=bucket", index);
        }
        struct span prefix = span_trim(span_sub(entry, 0, (size_t) eq));
        struct span bucket = span_trim(span_sub(entry, (size_t) eq + 1, entry.n));
        const char *why = NULL;
        if (cfg_check_key_prefix(prefix, &why) != ERR_OK) {
            return s_fail(p, from, &prefix, "entry %zu: %s", index, why);
        }
        if (cfg_check_bucket(bucket, &why) != ERR_OK) {
            return s_fail(p, from, &bucket, "entry %zu: %s", index, why);
        }
        if (s_route_find(r, prefix) != NULL) {
            return s_fail(p, from, &prefix, "prefix appears twice (each prefix goes to one bucket)");
        }
        TRY(s_route_add(p, r, from, prefix, bucket));
    }
    return ERR_OK;
}

/* Seed 004's DOC_DEST, PHOTO_DEST, DB_DEST: fixed prefixes merged with S3_ROUTES. */
static enum err s_routes_aliases(struct s_parse *p, struct s_routes *r) {
    static const struct {
        enum cfg_var var;
        const char *prefix;
    } aliases[] = {
        { CFG_VAR_DOC_DEST, "documents/" },
        { CFG_VAR_PHOTO_DEST, "photos/" },
        { CFG_VAR_DB_DEST, "database/" },
    };
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        enum cfg_var var = aliases[i].var;
        const struct s_raw *raw = &p->raw[var];
        p->c->src[var] = (struct cfg_source){ raw->v.n ? raw->origin : CFG_ORIGIN_UNSET, var, raw->flag, NULL };
        if (raw->v.n == 0) {
            continue;
        }
        const char *why = NULL;
        if (cfg_check_bucket(raw->v, &why) != ERR_OK) {
            return s_fail(p, var, &raw->v, "%s", why);
        }
        struct span prefix = span_from_cstr(aliases[i].prefix);
        const struct cfg_route *have = s_route_find(r, prefix);
        if (have == NULL) {
            TRY(s_route_add(p, r, var, prefix, raw->v));
        } else if (!span_eq_cstr(raw->v, have->bucket)) {
            return s_fail(
              p,
              var,
              NULL,
              "conflicts with %s: prefix \"%s\" goes to bucket %s in %s and to %.*s in %s",
              s_vars[have->from].name,
              aliases[i].prefix,
              have->bucket,
              s_vars[have->from].name,
              SPAN_FMT(raw->v),
              s_vars[var].name);
        }
    }
    return ERR_OK;
}

static enum err s_s3(struct s_parse *p) {
    struct cfg *c = p->c;
    TRY(s_checked(p, CFG_VAR_S3_SOURCE_BUCKET, cfg_check_bucket, &c->s3_source_bucket));
    struct s_routes *r = ARENA_NEW(p->a, struct s_routes);
    TRY(s_routes_list(p, r));
    TRY(s_routes_aliases(p, r));
    const char *source_name = s_vars[c->src[CFG_VAR_S3_SOURCE_BUCKET].from].name;
    if (c->s3_source_bucket != NULL && r->n == 0) {
        return s_fail(
          p,
          c->src[CFG_VAR_S3_SOURCE_BUCKET].from,
          NULL,
          "the S3 job needs routes: set S3_ROUTES (prefix=bucket,...) or DOC_DEST, PHOTO_DEST, DB_DEST");
    }
    if (c->s3_source_bucket == NULL && r->n > 0) {
        return s_fail(p, r->items[0].from, NULL, "routes are set but S3_SOURCE_BUCKET (or SRC_BUCKET) is not");
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->items[i].bucket, c->s3_source_bucket) == 0) {
            return s_fail(
              p,
              r->items[i].from,
              NULL,
              "the route for prefix \"%s\" copies into the source bucket itself (%s=%s)",
              r->items[i].prefix,
              source_name,
              c->s3_source_bucket);
        }
    }
    c->s3_enabled = r->n > 0;
    c->s3_routes = r->items;
    c->s3_nroutes = r->n;

    struct span v;
    enum cfg_var from;
    const char *why = NULL;
    c->s3_dest_prefix = "";
    if (s_get(p, CFG_VAR_S3_DEST_PREFIX, &v, &from)) {
        if (cfg_check_key_prefix(v, &why) != ERR_OK) {
            return s_fail(p, from, &v, "%s", why);
        }
        if (v.p[0] == '/') {
            return s_fail(p, from, &v, "must not start with '/' (S3 keys have no leading slash)");
        }
        c->s3_dest_prefix = s_dup(p, v);
    }
    /* REDUCED_REDUNDANCY is refused (not among the choices): AWS recommends against it and it costs more. */
    int class_index = 0;
    TRY(s_choice(p, CFG_VAR_S3_STORAGE_CLASS, &class_index));
    c->s3_storage_class = c->src[CFG_VAR_S3_STORAGE_CLASS].value;
    int sse_index = 0;
    TRY(s_choice(p, CFG_VAR_S3_SSE, &sse_index));
    c->s3_sse = sse_index == 1 ? CFG_S3_SSE_KMS : CFG_S3_SSE_AES256;
    if (s_get(p, CFG_VAR_S3_SSE_KMS_KEY_ID, &v, &from)) {
        struct span region;
        if (cfg_check_kms_key(v, &region, &why) != ERR_OK) {
            return s_fail(p, from, &v, "%s", why);
        }
        if (c->s3_sse != CFG_S3_SSE_KMS) {
            return s_fail(p, from, NULL, "is only used with S3_SSE=aws:kms (S3_SSE is AES256)");
        }
        c->s3_sse_kms_key_id = s_dup(p, v);
    } else if (c->s3_sse == CFG_S3_SSE_KMS) {
        return s_fail(p, CFG_VAR_S3_SSE_KMS_KEY_ID, NULL, "is required when S3_SSE is aws:kms");
    }
    TRY(s_size(p, CFG_VAR_S3_MULTIPART_THRESHOLD, &c->s3_multipart_threshold_bytes));
    return s_size(p, CFG_VAR_S3_PART_SIZE, &c->s3_part_size_bytes);
}

/* ---- AWS SDK settings ------------------------------------------------------------------------------------- */

static enum err s_endpoint(struct s_parse *p, enum cfg_var var, const char **out) {
    struct span v;
    enum cfg_var from;
    *out = NULL;
    if (!s_get(p, var, &v, &from)) {
        return ERR_OK;
    }
    const char *why = NULL;
    if (cfg_check_endpoint_url(v, &why) != ERR_OK) {
        /* Never echo a URL that may carry a password. */
        return s_fail(p, from, span_index(v, '@') >= 0 ? NULL : &v, "%s", why);
    }
    *out = s_dup(p, v);
    return ERR_OK;
}

static enum err s_ca_bundle(struct s_parse *p) {
    struct span v;
    enum cfg_var from;
    if (!s_get(p, CFG_VAR_AWS_CA_BUNDLE, &v, &from)) {
        return ERR_OK;
    }
    const char *path = s_dup(p, v);
    struct stat st;
    if (stat(path, &st) != 0) {
        return s_fail(p, from, &v, "cannot read the CA bundle file (%s)", strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return s_fail(p, from, &v, "must name a PEM file, not a directory or device");
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return s_fail(p, from, &v, "cannot read the CA bundle file (%s)", strerror(errno));
    }
    fclose(f);
    p->c->ca_bundle = path;
    return ERR_OK;
}

static enum err s_sdk(struct s_parse *p) {
    struct cfg *c = p->c;
    /* 0 stands for "unset": the default depends on the retry mode, parsed next. */
    uint32_t attempts = 0;
    TRY(s_uint_or(p, CFG_VAR_AWS_MAX_ATTEMPTS, 0, &attempts));
    int mode = 0;
    TRY(s_choice(p, CFG_VAR_AWS_RETRY_MODE, &mode));
    c->aws_retry_mode = (enum cfg_retry_mode) mode;
    if (attempts == 0) {
        attempts = c->aws_retry_mode == CFG_RETRY_LEGACY ? CFG_DEFAULT_MAX_ATTEMPTS_LEGACY : CFG_DEFAULT_MAX_ATTEMPTS;
    }
    c->aws_max_attempts = attempts;
    s_typed_value(p, CFG_VAR_AWS_MAX_ATTEMPTS, attempts);
    TRY(s_endpoint(p, CFG_VAR_AWS_ENDPOINT_URL, &c->endpoint_url));
    static const enum cfg_var services[CFG_SVC__COUNT] = {
        [CFG_SVC_EC2] = CFG_VAR_AWS_ENDPOINT_URL_EC2,
        [CFG_SVC_S3] = CFG_VAR_AWS_ENDPOINT_URL_S3,
        [CFG_SVC_SNS] = CFG_VAR_AWS_ENDPOINT_URL_SNS,
        [CFG_SVC_CLOUDWATCH] = CFG_VAR_AWS_ENDPOINT_URL_CLOUDWATCH,
        [CFG_SVC_DYNAMODB] = CFG_VAR_AWS_ENDPOINT_URL_DYNAMODB,
        [CFG_SVC_STS] = CFG_VAR_AWS_ENDPOINT_URL_STS,
    };
    for (size_t i = 0; i < CFG_SVC__COUNT; i++) {
        TRY(s_endpoint(p, services[i], &c->service_endpoint_urls[i]));
    }
    TRY(s_bool(p, CFG_VAR_AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, &c->ignore_configured_endpoint_urls));
    TRY(s_ca_bundle(p));
    TRY(s_bool(p, CFG_VAR_AWS_EC2_METADATA_DISABLED, &c->ec2_metadata_disabled));
    TRY(s_bool(p, CFG_VAR_AWS_EC2_METADATA_V1_DISABLED, &c->ec2_metadata_v1_disabled));
    return ERR_OK;
}

/* Credentials and proxies: whether they are set (and, for the harmless ones, the value). */
static void s_reported(struct s_parse *p) {
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        enum cfg_var_kind kind = s_vars[i].kind;
        if (kind != CFG_KIND_SECRET && kind != CFG_KIND_SHOWN) {
            continue;
        }
        const struct s_raw *r = &p->raw[i];
        bool set = r->origin == CFG_ORIGIN_ENV && r->v.n > 0;
        p->c->src[i] = (struct cfg_source){
            set ? CFG_ORIGIN_ENV : CFG_ORIGIN_UNSET,
            (enum cfg_var) i,
            NULL,
            set && kind == CFG_KIND_SHOWN ? s_dup(p, r->v) : NULL,
        };
    }
}

enum err cfg_parse(struct cfg *out, struct arena *arena, const struct cfg_input *in, struct cfg_error *err) {
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    err->var = CFG_VAR__COUNT;
    struct s_parse *p = ARENA_NEW(arena, struct s_parse);
    p->c = out;
    p->a = arena;
    p->err = err;
    out->env = (struct endpoint_env){ cfg_env_get, out };
    out->envp = in->envp;
    out->getenv_fn = in->envp == NULL ? in->getenv_fn : NULL;
    out->getenv_ctx = in->getenv_ctx;
    TRY(s_collect_env(p, in));
    TRY(s_check_typos(p, in));
    TRY(s_collect_flags(p, in));
    /* Aliases record only whether they were given; the setting they feed records what was used. */
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        const struct s_raw *r = &p->raw[i];
        out->src[i] = (struct cfg_source){ r->v.n ? r->origin : CFG_ORIGIN_UNSET, (enum cfg_var) i, r->flag, NULL };
    }
    TRY(s_ebs(p));
    TRY(s_targets(p));
    TRY(s_cycle(p));
    TRY(s_reporting(p));
    TRY(s_s3(p));
    TRY(s_sdk(p));
    s_reported(p);
    if (!out->ebs_backup && !out->s3_enabled) {
        return s_fail(
          p,
          CFG_VAR_EBS_BACKUP,
          NULL,
          "is false and no S3 job is configured (S3_SOURCE_BUCKET and routes), so there is nothing to do");
    }
    return ERR_OK;
}

/* ---- queries ---------------------------------------------------------------------------------------------- */

const struct cfg_route *cfg_s3_route(const struct cfg *c, struct span key) {
    const struct cfg_route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < c->s3_nroutes; i++) {
        const struct cfg_route *r = &c->s3_routes[i];
        struct span prefix = span_from_cstr(r->prefix);
        if (span_starts_with(key, prefix) && (best == NULL || prefix.n > best_len)) {
            best = r;
            best_len = prefix.n;
        }
    }
    return best;
}

const char *cfg_dest_region_for(const struct cfg *c, const char *source) {
    for (size_t i = 0; i < c->ndest_region_map; i++) {
        if (strcmp(c->dest_region_map[i].source, source) == 0) {
            return c->dest_region_map[i].dest;
        }
    }
    return c->dest_region;
}

const char *cfg_region_partition(struct span region) {
    return cfg_check_partition_of(region);
}

const char *cfg_env_get(void *ctx, const char *name) {
    const struct cfg *c = ctx;
    enum cfg_var v;
    if (c == NULL || name == NULL || !s_find_var(span_from_cstr(name), &v)) {
        return NULL;
    }
    const struct cfg_var_info *t = &s_vars[v];
    if (t->kind == CFG_KIND_SECRET || t->kind == CFG_KIND_SHOWN) {
        /* Read elsewhere: the value as the environment holds it (cfg never copies a secret). */
        struct cfg_input in = { .envp = c->envp, .getenv_fn = c->getenv_fn, .getenv_ctx = c->getenv_ctx };
        struct span value;
        return s_env_lookup(&in, name, &value) ? value.p : NULL;
    }
    return c->src[t->kind == CFG_KIND_ALIAS ? t->alias_of : v].value;
}
