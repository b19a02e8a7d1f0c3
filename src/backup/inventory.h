/*
 * inventory.h - `smartvault list` (backup/inventory.c): what can be restored, per instance and set.
 */
#ifndef SV_BACKUP_INVENTORY_H
#define SV_BACKUP_INVENTORY_H

#include "backup/restore.h"

/* `smartvault list ...` (argv after the command); main.c maps the outcome to the exit code. */
enum restore_outcome inventory_command(int argc, char **argv, const char *const *envp);

#endif
