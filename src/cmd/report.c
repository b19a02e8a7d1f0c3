/*
 * report.c - `smartvault report` (the coverage page from the live account, no cycle) and the restore commands
 * `restore` and `list`, whose work is in backup/restore.c and backup/inventory.c: here only flags and exit codes.
 */
#include "cmd/cmd.h"

#include "backup/cycle.h"
#include "backup/inventory.h"
#include "backup/restore.h"
#include "base/arena.h"
#include "base/log.h"
#include "cfg/cfg.h"
#include "exit_code.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory of `path` can be written to: checked before any network call, so a typo exits 2 at once. */
static bool s_writable_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return access(".", W_OK) == 0;
    }
    if (slash == path) {
        return access("/", W_OK) == 0;
    }
    char dir[4096];
    size_t n = (size_t) (slash - path);
    if (n >= sizeof(dir)) {
        return false;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return access(dir, W_OK) == 0;
}

/* The page itself, once the flags are known good. */
static int s_report_page(int argc, char **argv, const char *const *envp, const char *out, const char *json) {
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    int code = EXIT_USAGE;
    if (cmd_load_cfg(argc, argv, envp, &a, &c)) {
        struct log_config lc = { c.log_format, c.log_level, NULL };
        log_configure(&lc);
        enum cycle_outcome o = cycle_report_page(&c, &a, out, json);
        code = o == CYCLE_OK ? EXIT_OK : o == CYCLE_PARTIAL ? EXIT_PARTIAL : EXIT_CANNOT_START;
    }
    arena_free(&a);
    return code;
}

/* Takes --out and --json (as `--x FILE` or `--x=FILE`) out of argv; the other flags go to `rest`, counted. */
static int s_report_flags(int argc, char **argv, const char **out, const char **json, char **rest) {
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        bool is_out = strcmp(argv[i], "--out") == 0, is_json = strcmp(argv[i], "--json") == 0;
        if ((is_out || is_json) && i + 1 < argc && argv[i + 1][0] != '\0') {
            *(is_out ? out : json) = argv[++i];
        } else if (strncmp(argv[i], "--out=", 6) == 0 || strncmp(argv[i], "--json=", 7) == 0) {
            *(argv[i][2] == 'o' ? out : json) = strchr(argv[i], '=') + 1;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    return nrest;
}

/* report: --out FILE [--json FILE] and the configuration flags; the page from listings only (no cycle). */
int cmd_report(int argc, char **argv, const char *const *envp) {
    if (cmd_wants_help(argc, argv)) {
        cmd_usage();
        return EXIT_OK;
    }
    const char *out = NULL, *json = NULL;
    char **rest = calloc((size_t) argc + 1, sizeof(*rest));
    int nrest = rest != NULL ? s_report_flags(argc, argv, &out, &json, rest) : 0;
    int code = EXIT_USAGE;
    if (rest == NULL) {
        fprintf(stderr, "smartvault: out of memory\n");
    } else if (out == NULL || out[0] == '\0') {
        fprintf(stderr, "smartvault: report: --out FILE is required (where to write the HTML page)\n");
    } else if (!s_writable_dir(out) || (json != NULL && !s_writable_dir(json))) {
        fprintf(
          stderr,
          "smartvault: report: cannot write %s: its directory is not writable\n",
          s_writable_dir(out) ? json : out);
    } else {
        code = s_report_page(nrest, rest, envp, out, json);
    }
    free(rest);
    return code;
}

static int s_restore_exit(enum restore_outcome o) {
    static const int codes[] = { EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_CANNOT_START };
    return codes[o];
}

int cmd_restore(int argc, char **argv, const char *const *envp) {
    if (cmd_wants_help(argc, argv)) {
        cmd_usage();
        return EXIT_OK;
    }
    return s_restore_exit(restore_command(argc, argv, envp));
}

int cmd_list(int argc, char **argv, const char *const *envp) {
    if (cmd_wants_help(argc, argv)) {
        cmd_usage();
        return EXIT_OK;
    }
    return s_restore_exit(inventory_command(argc, argv, envp));
}
