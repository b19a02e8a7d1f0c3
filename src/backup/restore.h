/*
 * restore.h - `smartvault restore` (backup/restore.c): volumes from the newest crash-consistent snapshot set of an
 * instance, in its zone or another, optionally attached. The commands' outcome is shared with `list`
 * (backup/inventory.h); the flags are backup/restore_args.h, the pure planners backup/restore_plan.h, the calls
 * backup/ec2io.h, the drill of the cycle backup/drill.h and the device tags backup/devtag.h.
 */
#ifndef SV_BACKUP_RESTORE_H
#define SV_BACKUP_RESTORE_H

#include "base/err.h"

/* The outcome of `restore` and `list`; main.c maps it to the exit code. */
enum restore_outcome { RESTORE_OK = 0, RESTORE_PARTIAL, RESTORE_USAGE, RESTORE_CANNOT_START };

/* `smartvault restore ...` (argv after the command). */
enum restore_outcome restore_command(int argc, char **argv, const char *const *envp);
#endif
