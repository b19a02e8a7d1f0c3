/*
 * ebs_many.h - the EBS job of several targets (account, region) overlapped in one process: every step of every
 * target runs in ONE batch of the executor (net/batch through aws_run_each), each request signed and paced by
 * its own target's stack, so the targets' buckets drain in parallel and MAX_CONCURRENCY bounds the whole run.
 *
 * The steps are those of ebs_run (cycle.h), which is this with one target: each target's listings (one after
 * the other: a few pages each), then step A of all targets as one batch, step B of those that created something
 * as one batch (WAIT_FOR_COMPLETION shared), then copy-pump rounds shared by every target that has copies waiting
 * (one sleep, one batch per round). Every step's batch also runs the copy feeder of each target with COPY_WINDOW:
 * its copies join the batch as snapshots complete and slots free, in front of the step's queue. Each target's requests
 * are interleaved round-robin in a batch, so the executor's slots are shared fairly between the targets' buckets. A
 * target whose step fails (or that a stop cancels) leaves the later steps; the others go on.
 *
 * What it does not do: open stacks, assume roles, decide outcomes or drill (backup/targets.c).
 */
#ifndef SV_BACKUP_EBS_MANY_H
#define SV_BACKUP_EBS_MANY_H

#include "backup/job.h"

#include <stdbool.h>
#include <stdint.h>

struct ebs_target {
    struct cycle *cy; /* the target's cycle: its configuration copy and client; arena and scratch shared */
    void *arg;        /* given to ebs_many.enter */
    /* out */
    enum err result;         /* how its EBS job ended, as ebs_run returns it */
    const char *message;     /* err_last()'s message when result is not ERR_OK (cy->arena) */
    uint64_t instances_seen; /* tagged instances discovered */
};

struct ebs_many {
    struct ebs_target *targets;
    size_t n;
    /*
     * Makes a target current before its phases and before each of its requests' completion callbacks (log
     * context, report target): arg is the target's ebs_target.arg, or NULL for lines of no one target. May be NULL.
     */
    void (*enter)(void *ctx, void *arg);
    void *ctx;
    struct cycle *lease; /* renewed at the phase boundaries (heartbeat) besides the targets' own; or NULL */
};

/* Runs the EBS job of every target; each target's outcome is in its ebs_target. */
void ebs_run_many(const struct ebs_many *m);

#endif
