/*
 * lease.h - no two runs act at once: a lease item in the DYNAMODB_TABLE, taken by a conditional write.
 *
 * Item: pk `lease#<source region>`, sk `lease`, owner (the run id), expires_at (N, Unix seconds on AWS's clock -
 * also the table's TTL attribute, so an abandoned lease is eventually removed), acquired_at, renewed_at.
 *   acquire  PutItem if no lease exists, it has expired, or it is ours (attribute_not_exists(pk) OR
 *            expires_at < :now OR owner = :me). ConditionalCheckFailedException = another live run holds it.
 *   renew    PutItem with a new expiry if it is still ours (owner = :me), at most every LEASE_RENEW_S: at the
 *            cycle's phase boundaries and in its waiting loops (lease_renew), and during a phase after any request
 *            of the run's client completes (lease_renew_in_run, from the progress hook of backup/audit_stream.c:
 *            the PutItem joins the running batch), so a phase longer than LEASE_TTL_S keeps the lease.
 *   release  DeleteItem if it is still ours, at the end of the run (also an interrupted one).
 * A run killed with SIGKILL leaves its lease until it expires (LEASE_TTL_S): the next run within that window is
 * skipped, the one after proceeds. Only a single request longer than LEASE_TTL_S with nothing else completing
 * (one CopyObject of several GiB alone in its phase) lets the lease lapse; a second run could then start, and
 * would still be safe (each run is a reconciliation, MIN_INTERVAL keeps it from snapshotting twice) - just not
 * exclusive.
 *
 * Without a table there is no lease: the schedulers' own settings keep runs apart (README "Overlapping runs").
 * A lease that cannot be written for another reason (AccessDenied, no such table, network) is logged
 * (lease.unavailable) and the run goes on: exclusivity is an optimisation over a safe reconciliation, not a
 * reason to skip a backup. Dry runs take no lease (they write nothing).
 */
#ifndef SV_BACKUP_LEASE_H
#define SV_BACKUP_LEASE_H

#include "backup/job.h"

#define LEASE_TTL_S 600  /* a lease not renewed for 10 minutes is free */
#define LEASE_RENEW_S 60 /* renewed at most once a minute */

enum lease_result {
    LEASE_HELD = 0,    /* this run holds it */
    LEASE_BUSY,        /* another live run holds it: skip this run */
    LEASE_UNAVAILABLE, /* no table, dry run, or the write failed: go on without */
};

enum lease_result lease_acquire(struct cycle *cy);
/* At a phase boundary or a turn of a waiting loop: renews a held lease when LEASE_RENEW_S has passed since the last
 * write; cheap otherwise. */
void lease_renew(struct cycle *cy);
/* The same from inside a running phase (a progress callback of cy->aws): the renewal joins the running batch. */
void lease_renew_in_run(struct cycle *cy);
void lease_release(struct cycle *cy);

#endif
