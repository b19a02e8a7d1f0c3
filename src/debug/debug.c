/*
 * debug.c - dispatches `smartvault debug NAME ...` to the command's file, and the one thing the commands share:
 * the configuration, parsed from the environment like a cycle's (no flags), through which every command reads
 * its inputs (the region, the CA bundle, retry settings, the environment the credentials chain sees).
 */
#include "debug/debug.h"

#include "base/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct arena s_arena;
static struct cfg s_cfg;

const struct cfg *debug_cfg(void) {
    return &s_cfg;
}

const char *debug_ca_file(void) {
    return s_cfg.ca_bundle;
}

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command s_debug_commands[] = {
    { "cfg-vars", debug_cfg_vars }, { "http", debug_http },         { "batch", debug_batch }, { "sign", debug_sign },
    { "creds", debug_creds },       { "endpoint", debug_endpoint }, { "call", debug_call },
};

int debug_main(int argc, char **argv, const char *const *envp) {
    const struct command *cmd = NULL;
    for (size_t i = 0; argc >= 1 && i < sizeof(s_debug_commands) / sizeof(s_debug_commands[0]); i++) {
        cmd = strcmp(argv[0], s_debug_commands[i].name) == 0 ? &s_debug_commands[i] : cmd;
    }
    if (cmd == NULL) {
        fprintf(stderr, "smartvault: unknown debug command; see smartvault --help\n");
        return EXIT_USAGE;
    }
    arena_init(&s_arena, 0);
    struct cfg_input in = { .envp = envp };
    struct cfg_error err;
    int code = EXIT_USAGE;
    /* cfg-vars prints the table and reads no input. */
    if (cmd->fn != debug_cfg_vars && cfg_parse(&s_cfg, &s_arena, &in, &err) != ERR_OK) {
        fprintf(stderr, "smartvault: %s\n", err.line);
    } else {
        code = cmd->fn(argc - 1, argv + 1);
    }
    arena_free(&s_arena);
    return code;
}
