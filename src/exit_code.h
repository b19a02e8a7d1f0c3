/*
 * exit_code.h - the process exit codes (DESIGN.md §2). Chosen only by the command entry points (main.c and the
 * developer commands under debug/); no other layer returns or knows them.
 */
#ifndef SV_EXIT_CODE_H
#define SV_EXIT_CODE_H

enum exit_code {
    EXIT_OK = 0,           /* everything succeeded */
    EXIT_PARTIAL = 1,      /* the cycle ran but some actions failed */
    EXIT_USAGE = 2,        /* usage or configuration error; nothing was done */
    EXIT_CANNOT_START = 3, /* could not start (no credentials, no region, endpoint unreachable); nothing was done */
    EXIT_INTERRUPTED = 4   /* stopped by SIGTERM/SIGINT or RUN_TIMEOUT: what was done is reported, the rest is not */
};

#endif
