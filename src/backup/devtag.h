/*
 * devtag.h - the device tags (backup/devtag.c) that let a terminated instance be restored with its devices.
 */
#ifndef SV_BACKUP_DEVTAG_H
#define SV_BACKUP_DEVTAG_H

#include "backup/job.h"

/*
 * After CreateSnapshots: tags every snapshot created since report item `first_item` with SmartVault:Device, one
 * CreateTags call per distinct device name (and per 1,000 snapshots). A failure is recorded, never fatal.
 */
void devtag_snapshots(struct cycle *cy, size_t first_item);

#endif
