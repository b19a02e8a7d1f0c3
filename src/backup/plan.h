/*
 * plan.h - what to snapshot and what to copy in this cycle: two pure planners over plain data (DESIGN.md §2).
 *
 * plan_due_instances() decides which instances get a new CreateSnapshots call; plan_copies() decides which
 * source snapshots get a CopySnapshot to the DR region now, which wait for a later cycle, and which never will.
 * Like retention (backup/retention.h, which defines `struct snap`), they do no I/O, read no clock, allocate
 * nothing, and give the same decisions whatever the order of their input. A repeated or failed cycle is
 * therefore safe: everything they plan is derived from what exists, never from what a previous run meant to do.
 *
 * ---------------------------------------------------------------------------------------------------------
 * DUE (plan_due_instances). A snapshot COUNTS for an instance when it has the SmartVault marker, is not a
 * copy (a copy's StartTime is the copy's, not the data's), its InstanceId tag equals the instance id, and its
 * state is `pending` or `completed`. `error` snapshots do not count (a failed backup must not block the next
 * one), nor do `recoverable`/`recovering` (in the Recycle Bin: deleted) or unknown states.
 *  D1  An instance is due when no counting snapshot has age < min_interval_s, age = now - StartTime.
 *      Boundary: a snapshot exactly min_interval_s old no longer blocks (the instance is due).
 *  D2  A counting snapshot with StartTime after now (clock skew) blocks: it is treated as recent.
 *  D3  An instance id listed twice is planned once: the first occurrence (input order) is decided, later ones
 *      are "not due: duplicate" - two CreateSnapshots calls for one instance in one cycle would be the seeds'
 *      duplicate-on-re-run bug.
 * Choose min_interval_s somewhat below the schedule's period (e.g. 23 h for a daily schedule): a snapshot's
 * StartTime is a few seconds after the run started, so an interval equal to the period skips every other run.
 *
 * COPY (plan_copies). For each source snapshot, the first rule that applies, in this order:
 *  skip   no SmartVault marker                               (never copy what we did not create)
 *  skip   it is itself a copy                                 (no copy chains between two regions)
 *  skip   its id appeared earlier in the input                (never twice within one plan)
 *  skip   a copy exists in the destination - a snapshot there whose SourceSnapshotId tag equals its id, in
 *         ANY state (pending = in flight, completed = done, error = failed: reported with its own reason so
 *         an operator looks at it; retrying automatically could pile up failed copies)
 *  defer  state pending                                       (a later cycle copies it once completed)
 *  skip   state error / recoverable / recovering / unknown
 *  skip   outside retention: age >= its retention (the instance override when valid, else
 *         policy.retention_days): it would be deleted at the source, and min_keep-kept old snapshots are not
 *         backfilled to a newly enabled DR region
 *  start  otherwise, while the destination has fewer than policy.copy_limit copies in flight, counting every
 *         `pending` snapshot listed in dst (AWS: 20 concurrent copies per destination region by default)
 *  defer  the rest, "copy limit"
 * ORDER in which eligible snapshots get the free slots: first, for each volume, its newest completed
 * SmartVault snapshot (when eligible) - the latest state of every volume is what DR is for - then every
 * other eligible snapshot; within each tier newest first, then snapshot id. Older eligible snapshots are
 * backfilled by later cycles while they are still inside retention.
 * ---------------------------------------------------------------------------------------------------------
 */
#ifndef SV_BACKUP_PLAN_H
#define SV_BACKUP_PLAN_H

#include "backup/retention.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_MAX_INSTANCES ((size_t) 100000)
#define PLAN_WHY_MAX 160                            /* bytes of a decision's human sentence, NUL included */
#define PLAN_MAX_INTERVAL_S ((int64_t) 366 * 86400) /* min_interval_s is in [0, one year] */
#define PLAN_COPY_LIMIT_DEFAULT 20u                 /* AWS: concurrent snapshot copies per destination region */
#define PLAN_MAX_COPY_LIMIT 1000u

/* ---- due instances ----------------------------------------------------------------------------------- */

enum plan_due_reason {
    PLAN_DUE_FIRST = 0,         /* due: no counting snapshot at all */
    PLAN_DUE_INTERVAL,          /* due: the newest counting snapshot is >= min_interval_s old */
    PLAN_NOT_DUE_RECENT,        /* not due: a counting snapshot is < min_interval_s old (D1) */
    PLAN_NOT_DUE_FUTURE,        /* not due: a counting snapshot starts in the future (D2) */
    PLAN_NOT_DUE_DUPLICATE,     /* not due: the instance id was listed before (D3) */
    PLAN_NOT_DUE_INVALID_INPUT, /* not due: the plan was rejected (error return) */
    PLAN__DUE_REASONS
};

struct plan_due {
    size_t index; /* the instance's position in the input: out[i].index == i */
    bool due;
    enum plan_due_reason reason;
    bool has_last;          /* some snapshot counts for this instance */
    int64_t last_start_s;   /* the newest counting snapshot's StartTime, when has_last */
    char why[PLAN_WHY_MAX]; /* "due: last snapshot 86400 s ago >= interval 82800 s", ... */
};

/*
 * Decides for each instance_ids[i] (out[i]) whether it is due at now_s. snaps are the SmartVault snapshots
 * of the source region (others are ignored, see COUNTS above).
 * ERR_INVALID: an empty instance id, min_interval_s outside [0, PLAN_MAX_INTERVAL_S], a time outside
 * [0, SNAP_TIME_MAX_S], NULL arrays with non-zero counts. ERR_LIMIT: ninst > PLAN_MAX_INSTANCES or
 * nsnaps > SNAP_MAX_COUNT. On error every out[i] is "not due" (nothing is created).
 * Cost: O((ninst + nsnaps) log ninst), no allocation.
 */
enum err plan_due_instances(
  const struct span *instance_ids,
  size_t ninst,
  const struct snap *snaps,
  size_t nsnaps,
  int64_t min_interval_s,
  int64_t now_s,
  struct plan_due *out) SV_MUST_CHECK;

/* ---- copies ------------------------------------------------------------------------------------------ */

struct plan_copy_policy {
    uint32_t retention_days; /* the SOURCE region's retention (1..RETENTION_MAX_DAYS) */
    uint32_t copy_limit;     /* 1..PLAN_MAX_COPY_LIMIT copies in flight per destination; usually 20 */
};

enum plan_copy_action {
    PLAN_COPY_SKIP = 0, /* zero: a zeroed decision copies nothing */
    PLAN_COPY_START,
    PLAN_COPY_DEFER,
};

enum plan_copy_reason {
    PLAN_COPY_START_LATEST = 0,   /* start: the newest completed snapshot of its volume */
    PLAN_COPY_START_BACKFILL,     /* start: an older snapshot still inside retention */
    PLAN_COPY_DEFER_PENDING,      /* defer: source still pending */
    PLAN_COPY_DEFER_LIMIT,        /* defer: copy limit reached */
    PLAN_COPY_SKIP_NOT_OURS,      /* skip: no SmartVault marker */
    PLAN_COPY_SKIP_IS_COPY,       /* skip: the source is itself a copy */
    PLAN_COPY_SKIP_DUPLICATE,     /* skip: same id listed earlier */
    PLAN_COPY_SKIP_EXISTS,        /* skip: a pending or completed copy exists */
    PLAN_COPY_SKIP_EXISTS_ERROR,  /* skip: only failed (error) copies exist - operator attention */
    PLAN_COPY_SKIP_STATE,         /* skip: error, recoverable, recovering or unknown state */
    PLAN_COPY_SKIP_EXPIRED,       /* skip: outside retention */
    PLAN_COPY_SKIP_INVALID_INPUT, /* skip: the plan was rejected (error return) */
    PLAN__COPY_REASONS
};

struct plan_copy_decision {
    size_t index; /* position of the source snapshot in src */
    enum plan_copy_action action;
    enum plan_copy_reason reason;
    bool latest;              /* the newest completed SmartVault snapshot of its volume */
    uint32_t copies_existing; /* snapshots in dst whose SourceSnapshotId is this one, any state */
    uint32_t copies_failed;   /* of those, in state error */
    uint32_t retention_days;  /* the retention that applied (for the sentence) */
    uint32_t in_flight;       /* PLAN_COPY_DEFER_LIMIT: copies in flight when the limit was reached */
    int64_t age_s;            /* now - StartTime */
};

struct plan_copy_counts {
    size_t start;            /* out[0 .. start): copies to start now, in this order */
    size_t deferred;         /* out[start .. start + deferred): left for a later cycle */
    size_t skipped;          /* the rest */
    size_t in_flight_before; /* pending snapshots found in dst */
    size_t by_reason[PLAN__COPY_REASONS];
};

/*
 * Plans the copies of src[0..nsrc) (the source region's snapshots) to the destination whose snapshots are
 * dst[0..ndst) (its copies, each with source_snapshot_id from its SourceSnapshotId tag; every pending entry
 * counts as in flight). out must have room for nsrc decisions and is filled in PLAN ORDER, not input order:
 * the copies to start (in the order to issue them), then the deferred, then the skipped; out[k].index says
 * which source. counts gives the ranges.
 * ERR_INVALID: policy out of range, empty source snapshot id, time outside [0, SNAP_TIME_MAX_S], NULL arrays
 * with non-zero counts. ERR_LIMIT: nsrc or ndst > SNAP_MAX_COUNT. On error nothing is started: every decision
 * is a skip and counts->start == 0.
 * Cost: O((nsrc + ndst) log nsrc), no allocation.
 */
enum err plan_copies(
  const struct snap *src,
  size_t nsrc,
  const struct snap *dst,
  size_t ndst,
  const struct plan_copy_policy *policy,
  int64_t now_s,
  struct plan_copy_decision *out,
  struct plan_copy_counts *counts) SV_MUST_CHECK;

/*
 * The decision's human sentence ("copy: newest completed snapshot of vol-1", "deferred: copy limit (20 in flight,
 * limit 20)", ...) into buf (PLAN_WHY_MAX is enough); `src` is the array the plan was made over. Written on demand
 * so that a plan over 100,000 snapshots does not carry 100,000 sentences. Returns buf.
 */
const char *plan_copy_why(
  const struct plan_copy_decision *d,
  const struct snap *src,
  const struct plan_copy_policy *policy,
  char *buf,
  size_t cap);

/* Stable snake_case names for logs and metrics. */
const char *plan_due_reason_name(enum plan_due_reason r);
const char *plan_copy_reason_name(enum plan_copy_reason r);

#endif
