/*
 * heartbeat.h - what a cycle does at a phase boundary or a turn of a waiting loop, when nothing of its own is on
 * the wire: renew the run lease when it is due (backup/lease.h) and send the audit items that are due
 * (backup/audit_stream.h). Jobs call it; it calls no job.
 */
#ifndef SV_BACKUP_HEARTBEAT_H
#define SV_BACKUP_HEARTBEAT_H

#include "backup/job.h"

void heartbeat(struct cycle *cy);

#endif
