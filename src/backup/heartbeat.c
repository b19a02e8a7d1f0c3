/*
 * heartbeat.c - a cycle's phase boundary: the lease renewed, the due audit items sent (heartbeat.h).
 *
 * What it does not do: decide when a lease is due or which items are (backup/lease.c, backup/audit_stream.c).
 */
#include "backup/heartbeat.h"

#include "backup/audit_stream.h"
#include "backup/lease.h"

void heartbeat(struct cycle *cy) {
    lease_renew(cy);
    audit_stream_flush(cy);
}
