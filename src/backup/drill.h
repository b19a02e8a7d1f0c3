/*
 * drill.h - the restore drill of the cycle (RESTORE_DRILL, backup/drill.c): restore a rotating few volumes from
 * the newest snapshots, wait until they are available, record the outcome, delete them.
 */
#ifndef SV_BACKUP_DRILL_H
#define SV_BACKUP_DRILL_H

#include "backup/job.h"

/* The restore drill (RESTORE_DRILL > 0): after the backup jobs, before reporting. Records drilled/failed items. */
void drill_run(struct cycle *cy);

#endif
