/*
 * debug.c - dispatches `smartvault debug NAME ...` to the command's file, and the one helper the commands share.
 */
#include "debug/debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *debug_ca_file(void) {
    const char *f = getenv("AWS_CA_BUNDLE");
    if (f == NULL || *f == '\0') {
        f = getenv("SSL_CERT_FILE");
    }
    return (f != NULL && *f != '\0') ? f : NULL;
}

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command s_debug_commands[] = {
    { "cfg-vars", debug_cfg_vars }, { "http", debug_http },         { "batch", debug_batch }, { "sign", debug_sign },
    { "creds", debug_creds },       { "endpoint", debug_endpoint }, { "call", debug_call },
};

int debug_main(int argc, char **argv) {
    if (argc >= 1) {
        for (size_t i = 0; i < sizeof(s_debug_commands) / sizeof(s_debug_commands[0]); i++) {
            if (strcmp(argv[0], s_debug_commands[i].name) == 0) {
                return s_debug_commands[i].fn(argc - 1, argv + 1);
            }
        }
    }
    fprintf(stderr, "smartvault: unknown debug command; see smartvault --help\n");
    return EXIT_USAGE;
}
