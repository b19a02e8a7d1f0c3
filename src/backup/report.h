/*
 * report.h - the cycle report: the one source of truth for what a cycle did.
 *
 * Every action of the cycle (a snapshot created, copied, deleted; an item skipped or deferred; a failure) is
 * recorded here once, as it happens. Every count anyone prints — the final `cycle.done` log line, the SNS
 * summary, the CloudWatch metrics, the DynamoDB audit items — is derived from these records by the functions
 * below, never counted separately, so the four can never disagree (issue 5, item 4).
 *
 * Strings in records are copied into the report's arena; callers may pass views into scratch memory.
 */
#ifndef SV_BACKUP_REPORT_H
#define SV_BACKUP_REPORT_H

#include "backup/coverage.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/rand.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

enum report_action {
    REPORT_CREATED = 0, /* a source snapshot was created */
    REPORT_COPIED,      /* a cross-region copy was started, or an S3 object was copied */
    REPORT_DELETED,     /* a snapshot past retention was deleted */
    REPORT_SKIPPED,     /* deliberately not acted on (not due, pending, copy limit, unrouted key, in use...) */
    REPORT_FAILED,      /* an action that should have happened failed */
    REPORT_DRILLED,     /* a restore drill passed: a volume restored, available in time, deleted */
    REPORT_DEFERRED,    /* left undone because the run stopped (RUN_TIMEOUT or a signal): not a failure */
    REPORT__ACTIONS
};

enum report_job { REPORT_JOB_EBS = 0, REPORT_JOB_S3, REPORT_JOB_REPORTING, REPORT_JOB_DRILL, REPORT__JOBS };

struct report_item {
    enum report_action action;
    enum report_job job;
    int64_t ts_ms;
    /* Each may be NULL when it does not apply. */
    const char *region;
    const char *instance_id;
    const char *volume_id;
    const char *snapshot_id;
    const char *source_snapshot_id; /* copies: the source snapshot */
    const char *device;             /* created: the volume's device name */
    const char *bucket;             /* S3: destination bucket */
    const char *key;                /* S3: object key */
    uint64_t bytes;                 /* S3: bytes copied */
    const char *reason;             /* skipped/deleted: why (human readable) */
    const char *aws_code;           /* failed: the AWS error code, or an error class ("timeout") */
    const char *message;            /* failed: the error message */
    int64_t duration_ms;            /* drills: time until the volume was available (-1: never) */
    /* Multi-account runs: set by report_add from the report's current target (report.target). */
    const char *account_id; /* NULL in a single-account run */
    uint32_t target;        /* 1 + index into report.targets; 0 = not a target's action (S3, reporting) */
};

/* Counts derived from the items plus the "seen" figures that are not actions. */
struct report_counts {
    uint64_t instances_seen;
    uint64_t snapshots_created;
    uint64_t snapshots_copied;
    uint64_t snapshots_deleted;
    uint64_t skipped;  /* EBS skips (not due, pending, deferred, in use, ...) */
    uint64_t failures; /* every REPORT_FAILED, all jobs */
    uint64_t deferred; /* every REPORT_DEFERRED, all jobs: work the run's stop left for the next run */
    uint64_t s3_objects_seen;
    uint64_t s3_objects_copied;
    uint64_t s3_bytes_copied;
    uint64_t s3_unchanged;
    uint64_t s3_skipped;
    uint64_t s3_failed;
    uint64_t drills_passed;
    uint64_t drills_failed;
    double drill_seconds_max; /* the slowest drill volume's time to available */
};

#define REPORT_MAX_REGIONS 4
#define REPORT_REGION_LEN 32

struct report_region_counts {
    char region[REPORT_REGION_LEN];
    uint64_t created, copied, deleted, skipped, failed;
};

struct report {
    struct arena *arena;
    char run_id[RAND_UUID_LEN + 1];
    int64_t start_ms; /* wall clock at cycle start (or SMARTVAULT_NOW) */
    int64_t end_ms;
    int64_t wall_ms; /* monotonic duration */
    bool dry_run;
    struct report_item *items;
    size_t nitems;
    size_t cap;
    /* Seen figures, set by the jobs. */
    uint64_t instances_seen;
    uint64_t s3_objects_seen;
    uint64_t s3_unchanged;
    uint64_t s3_skipped_unrecorded; /* S3 skips counted in s3_skipped without an item each (unrouted keys past a cap) */
    bool s3_ran;
    bool ebs_ran;
    bool drill_ran;
    /*
     * Multi-account runs (backup/targets.c): one entry per target of this shard, and the target whose actions
     * are being recorded (1-based; 0 = none). ntargets is 0 in a single-account run.
     */
    struct report_target *targets;
    size_t ntargets;
    uint32_t target;
    struct targets_totals *target_totals; /* backup/targets.h: the targets' API calls, for cycle.done */
    /* A stop (SIGTERM/SIGINT, RUN_TIMEOUT) ended the jobs early: every channel says so; "signal" or "deadline". */
    bool interrupted;
    const char *stop_reason;
    /* Set by the EBS job after its snapshot phase (coverage.known false when it did not get there). */
    struct coverage coverage;
    /* DR backlog (set by the EBS job's last copy plan): completed snapshots inside retention without a copy. */
    bool dr_backlog_known;
    uint64_t dr_backlog;
    int64_t dr_backlog_oldest_s; /* age of the oldest of them, 0 when none */
};

struct targets_totals;

/* One (account, source region) of a multi-account run and how it went. */
struct report_target {
    char account_id[16];
    const char *region;      /* source */
    const char *dest_region; /* NULL: no copies */
    const char *outcome;     /* "ok", "no_instances", "partial", "failed" (could not start), "interrupted", "not_run" */
    const char *reason;      /* failed: why it could not start */
    uint64_t instances_seen;
    uint64_t api_calls; /* requests made by the target's own stack */
    int64_t wall_ms;
};

/* The counts of one target's actions (items whose .target is `target`). */
struct report_counts report_target_counts(const struct report *r, uint32_t target);

void report_init(struct report *r, struct arena *arena, int64_t start_ms);
void report_free(struct report *r);

/* Records one action; strings are copied. Returns the stored record. */
const struct report_item *report_add(struct report *r, const struct report_item *item);

struct report_counts report_counts(const struct report *r);
/* Per-region counts of EBS actions, in first-seen order; returns how many regions. */
size_t report_region_counts(const struct report *r, struct report_region_counts *out, size_t max);

/*
 * The one rule for work a stop cancelled (SIGTERM/SIGINT or RUN_TIMEOUT, base/stop.h), for every job: a request
 * the stop left unsent (queued, or waiting for a retry after a throttled attempt) or cancelled on the wire after
 * the drain bound, and a multipart copy the stop aborted, is recorded once, as REPORT_DEFERRED: not a failure and
 * not a skip (counts.deferred, nothing else). The next run reconciles it from what exists. The exit code follows
 * the stop's reason, not the deferred work: 4 after a signal, 1 after RUN_TIMEOUT (backup/cycle.c).
 *
 * report_stop_cancelled: the request's result is a stop's cancellation (ERR_CANCELLED while a stop is requested).
 * report_deferred: records `it` as deferred, with reason "deferred: <what> not done, run stopped (<reason>)", or
 * "... not confirmed ..." when `maybe_done` (the request was on the wire: AWS may have acted; the next run's
 * listing has the last word), and logs one `<job>.deferred` warning. `it` needs its ids and job; the rest is set.
 */
bool report_stop_cancelled(enum err result);
const struct report_item *report_deferred(struct report *r, struct report_item *it, const char *what, bool maybe_done);

/* True when some action failed: the exit code is 1. */
bool report_has_failures(const struct report *r);

/* Appends the counts as JSON object members (no braces): "instances_seen":3,"snapshots_created":... */
/*
 * Every count of cycle.done's "counts", in its order: the key, a label for people, and the value. One list, so
 * cycle.done, report.json and the coverage page's table can never disagree about which counts exist.
 */
#define REPORT_COUNT_FIELDS_MAX 40
struct report_count_field {
    const char *key;   /* as in cycle.done: "snapshots_created" */
    const char *label; /* "Snapshots created" */
    double value;      /* exact for counts below 2^53 */
    bool fractional;   /* printed with 3 decimals (seconds) rather than as a whole number */
};
size_t report_count_fields(const struct report_counts *c, struct report_count_field out[REPORT_COUNT_FIELDS_MAX]);

/* One field's value as cycle.done prints it. */
void report_count_value(const struct report_count_field *f, struct buf *out);

void report_counts_json(const struct report_counts *c, struct buf *out);

const char *report_action_name(enum report_action a);

#endif
