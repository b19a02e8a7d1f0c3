/*
 * debug.h - the developer commands, `smartvault debug NAME ...`: one file per command, each driving one layer
 * from outside so the integration tests can check it (HTTP, the batch executor, the signer, the credentials
 * chain, endpoint resolution, one signed AWS call, the configuration's variable list).
 *
 * Each command takes the arguments after its name and returns the process exit code (exit_code.h): 0 done,
 * 2 for a usage error (one line on stderr naming it), 1 or 3 as the command documents. They are not part of
 * a backup cycle and nothing in a cycle calls them.
 */
#ifndef SV_DEBUG_DEBUG_H
#define SV_DEBUG_DEBUG_H

#include "cfg/cfg.h"
#include "exit_code.h"

/*
 * Dispatches `smartvault debug NAME ARGS...` (argv[0] is NAME); exit 2 for an unknown name, or with the one line
 * of a bad variable in `envp` (the configuration is parsed first, as for a cycle).
 */
int debug_main(int argc, char **argv, const char *const *envp);

/* The configuration parsed from the environment; its `env` is what the AWS layer reads (cfg_env_get). */
const struct cfg *debug_cfg(void);

int debug_http(int argc, char **argv);     /* debug http URL */
int debug_batch(int argc, char **argv);    /* debug batch [--count N] ... SERVICE OPERATION [args] */
int debug_sign(int argc, char **argv);     /* debug sign [options] [FILE|-] */
int debug_creds(int argc, char **argv);    /* debug creds [--now S] [--twice] [--advance S] */
int debug_endpoint(int argc, char **argv); /* debug endpoint SERVICE [--region R] [--bucket B] */
int debug_call(int argc, char **argv);     /* debug call SERVICE OPERATION [args] */
int debug_cfg_vars(int argc, char **argv); /* debug cfg-vars */

/* The CA file that replaces the embedded bundle (AWS_CA_BUNDLE, then SSL_CERT_FILE), or NULL: debug_cfg's. */
const char *debug_ca_file(void);

#endif
