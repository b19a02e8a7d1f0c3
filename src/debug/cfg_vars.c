/*
 * cfg_vars.c - `smartvault debug cfg-vars [--markdown]`: every environment variable of the configuration table
 * (cfg/cfg_vars.def), one name per line, or the README's reference table generated from it (the tests compare
 * both with --help and README.md).
 */
#include "debug/debug.h"

#include "base/buf.h"
#include "cfg/cfg.h"

#include <stdio.h>
#include <string.h>

int debug_cfg_vars(int argc, char **argv) {
    bool markdown = argc == 1 && strcmp(argv[0], "--markdown") == 0;
    if (argc != 0 && !markdown) {
        fprintf(stderr, "smartvault: usage: smartvault debug cfg-vars [--markdown]\n");
        return EXIT_USAGE;
    }
    if (!markdown) {
        for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
            printf("%s\n", cfg_var_info((enum cfg_var) i)->name);
        }
        return EXIT_OK;
    }
    struct buf out;
    buf_init(&out, BUF_MAX_REQUEST);
    cfg_markdown(&out);
    int code = buf_status(&out) == ERR_OK ? EXIT_OK : EXIT_CANNOT_START;
    fwrite(buf_cstr(&out), 1, out.len, stdout);
    buf_free(&out);
    return code;
}
