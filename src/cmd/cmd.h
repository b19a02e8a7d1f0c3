/*
 * cmd.h - the user commands behind `smartvault COMMAND`: each parses what is its own, runs, and returns the
 * process exit code (exit_code.h). main.c only picks the command. The developer commands are in src/debug/.
 *
 * `envp` is the process environment, handed down from main.c: the configuration (cfg) is the only reader.
 */
#ifndef SV_CMD_CMD_H
#define SV_CMD_CMD_H

#include <stdbool.h>

int cmd_run(int argc, char **argv, const char *const *envp);     /* run [options]: one backup cycle */
int cmd_config(int argc, char **argv, const char *const *envp);  /* config [options] */
int cmd_report(int argc, char **argv, const char *const *envp);  /* report --out FILE [--json FILE] [options] */
int cmd_restore(int argc, char **argv, const char *const *envp); /* restore --instance ID ... */
int cmd_list(int argc, char **argv, const char *const *envp);    /* list [--instance ID] [--region R] */
int cmd_version(void);                                           /* --version */
int cmd_sbom(void);                                              /* sbom: this binary's CycloneDX SBOM */

/* Prints `--help`: the commands, then every variable of the configuration table (cfg_help). */
void cmd_usage(void);

/* The configuration from `envp` and the flags; on a bad value the one line naming it on stderr, and false. */
struct arena;
struct cfg;
bool cmd_load_cfg(int argc, char **argv, const char *const *envp, struct arena *a, struct cfg *c);

/* `--help` or `-h` among a command's flags (the command then prints the usage rather than "unknown flag"). */
bool cmd_wants_help(int argc, char **argv);

#endif
