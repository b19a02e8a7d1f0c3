/*
 * call.c - `smartvault debug call SERVICE OPERATION [args]`: one signed AWS call through the whole stack
 * (aws/stack.h does the work); here only the exit code.
 */
#include "debug/debug.h"

#include "aws/stack.h"
#include "backup/job.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* debug call: one signed AWS call through the whole stack (aws/stack.h). */
int debug_call(int argc, char **argv) {
    struct aws_stack_options so;
    job_stack_options(debug_cfg(), &so);
    enum err e = aws_debug_call(&so, argc, argv);
    switch (e) {
        case ERR_OK:
            return EXIT_OK;
        case ERR_INVALID:
        case ERR_CONFIG:
            fprintf(stderr, "smartvault: %s\n", err_last()->msg);
            return EXIT_USAGE;
        case ERR_AWS:
        case ERR_AUTH:
        case ERR_HTTP:
            return EXIT_PARTIAL;
        default:
            fprintf(stderr, "smartvault: %s: %s\n", err_name(e), err_last()->msg);
            return EXIT_CANNOT_START;
    }
}
