/*
 * cfg_vars.c - `smartvault debug cfg-vars`: every environment variable the configuration knows, one per line, so
 * the tests (and the README check) can compare them with --help.
 */
#include "debug/debug.h"

#include "cfg/cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int debug_cfg_vars(int argc, char **argv) {
    (void) argv;
    if (argc != 0) {
        fprintf(stderr, "smartvault: usage: smartvault debug cfg-vars\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        printf("%s\n", cfg_var_info((enum cfg_var) i)->name);
    }
    return EXIT_OK;
}
