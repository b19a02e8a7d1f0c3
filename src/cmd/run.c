/*
 * run.c - `smartvault run` (one backup cycle) and `smartvault config` (the effective configuration): both
 * validate the whole configuration first and exit 2, with the one line naming the variable, on a bad value.
 *
 * The cycle itself is backup/cycle.c; here only the configuration, logging, signals and the exit code.
 */
#include "cmd/cmd.h"

#include "backup/cycle.h"
#include "backup/report.h"
#include "backup/shard.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/stop.h"
#include "cfg/cfg.h"
#include "exit_code.h"

#include <stdio.h>

/* Of STOP_TIMEOUT, the share requests in flight at a stop may use before they are cancelled; the rest is reporting. */
#define S_STOP_DRAIN_PERCENT 40

bool cmd_load_cfg(int argc, char **argv, const char *const *envp, struct arena *a, struct cfg *c) {
    struct cfg_input in = { .envp = envp, .argc = argc, .argv = (const char *const *) argv };
    struct cfg_error err;
    if (cfg_parse(c, a, &in, &err) != ERR_OK) {
        fprintf(stderr, "smartvault: %s\n", err.line);
        return false;
    }
    return true;
}

/* config: print the effective configuration; exit 0, or 2 with the one error line. */
int cmd_config(int argc, char **argv, const char *const *envp) {
    if (cmd_wants_help(argc, argv)) {
        cmd_usage();
        return EXIT_OK;
    }
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    int code = EXIT_USAGE;
    if (cmd_load_cfg(argc, argv, envp, &a, &c)) {
        struct buf out;
        buf_init(&out, BUF_MAX_REQUEST);
        cfg_print(&c, &out);
        shard_print(&c, &a, &out);
        if (buf_status(&out) == ERR_OK) {
            fwrite(buf_cstr(&out), 1, out.len, stdout);
            code = EXIT_OK;
        } else {
            fprintf(stderr, "smartvault: config: the configuration does not fit the output buffer\n");
        }
        buf_free(&out);
    }
    arena_free(&a);
    return code;
}

static int s_cycle_exit(enum cycle_outcome outcome) {
    switch (outcome) {
        case CYCLE_OK:
        case CYCLE_SKIPPED:
            return EXIT_OK;
        case CYCLE_PARTIAL:
            return EXIT_PARTIAL;
        case CYCLE_CANNOT_START:
            return EXIT_CANNOT_START;
        case CYCLE_INTERRUPTED:
            return EXIT_INTERRUPTED;
    }
    return EXIT_CANNOT_START;
}

/* run: validate everything first (exit 2, nothing done, on any bad value), then the cycle. */
int cmd_run(int argc, char **argv, const char *const *envp) {
    if (cmd_wants_help(argc, argv)) {
        cmd_usage();
        return EXIT_OK;
    }
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    if (!cmd_load_cfg(argc, argv, envp, &a, &c)) {
        arena_free(&a);
        return EXIT_USAGE;
    }
    struct log_config lc = { c.log_format, c.log_level, NULL };
    log_configure(&lc);
    /* From here a SIGTERM/SIGINT stops the cycle gracefully (also as PID 1, where unhandled signals are dropped). */
    stop_configure(c.stop_timeout_s * 1000, c.stop_timeout_s * 1000 * S_STOP_DRAIN_PERCENT / 100);
    stop_install_signal_handlers();
    struct report report;
    enum cycle_outcome outcome = cycle_run(&c, &report, &a);
    report_free(&report);
    arena_free(&a);
    return s_cycle_exit(outcome);
}
