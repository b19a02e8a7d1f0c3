/*
 * audit_stream.h - the DynamoDB audit log written while the cycle runs (issue 11): a killed run loses at most the
 * batch it had not sent yet, not its whole audit trail.
 *
 * When: after every completed request of the run's client (aws_client_on_progress), once 25 items are pending, or
 * once the oldest pending item is AUDIT_STREAM_MAX_AGE_MS old, one BatchWriteItem joins the batch that is
 * running (aws_run_add): the same executor, pacing and retry policy as every other call, and the EBS or S3 phase
 * never waits for it. At a phase boundary (heartbeat, nothing running) the full batches, and the partial one
 * when it is due, are sent at once. A short run (under AUDIT_STREAM_MAX_AGE_MS) so still makes one call per 25
 * items in all.
 * At most AUDIT_STREAM_IN_FLIGHT streamed batches are on the wire at a time. The same hook renews the run's lease
 * in the same table during a long phase (lease_renew_in_run, backup/lease.h).
 *
 * Once a stop is requested nothing more is streamed: the ending's final write (backup/publish.c, audit_write)
 * sends what is left, marked interrupted, with the coverage item. A streamed batch that fails retryably (throttled,
 * network, cancelled by the stop) goes back to pending for the next send or the final write; one that fails for
 * good (AccessDenied, no such table) fails its items, which the final write reports with the others.
 *
 * Without DYNAMODB_TABLE, and in a dry run, there is no stream (the final write builds and logs as before).
 */
#ifndef SV_BACKUP_AUDIT_STREAM_H
#define SV_BACKUP_AUDIT_STREAM_H

#include "backup/audit.h"
#include "backup/job.h"

/* A pending item older than this is sent without waiting for its batch of 25 to fill. */
#define AUDIT_STREAM_MAX_AGE_MS 5000
/* Streamed BatchWriteItem calls on the wire at once (each body holds 25 items of a few KiB). */
#define AUDIT_STREAM_IN_FLIGHT 4

/* Starts streaming when DYNAMODB_TABLE is set and the run is not a dry run. */
void audit_stream_start(struct cycle *cy);
/* A phase boundary: sends what is due now (one try each; failures stay pending). */
void audit_stream_flush(struct cycle *cy);
/*
 * The ending: no more streaming; the items of every action recorded since (built now, so they carry `interrupted`
 * when the run was stopped) and the coverage item are added. Returns the run's items (written ones included) for
 * audit_write, or NULL without a stream.
 */
struct audit_items *audit_stream_end(struct cycle *cy);
/* What the stream wrote before the ending (for the report.audit line). */
void audit_stream_totals(const struct cycle *cy, struct audit_result *out);
void audit_stream_free(struct cycle *cy);

/* The BatchWriteItem sender of audit_write (backup/publish.c), over DYNAMODB_TABLE. */
struct audit_dynamodb {
    struct aws_client *aws;
    struct arena *scratch; /* response documents */
    const char *table;
    const char *region;
};
void audit_dynamodb_init(struct cycle *cy, struct audit_dynamodb *ctx, struct audit_sender *out);

#endif
