/*
 * retention.h - which SmartVault snapshots to delete: a pure planner over plain data (DESIGN.md §4).
 *
 * retention_plan() looks at the snapshots of ONE region, one policy and one "now", and decides for every
 * snapshot keep or delete, with a reason code and a human sentence. It does no I/O, reads no clock, allocates
 * nothing and keeps no state: the same input gives the same output, whatever the order of the input.
 *
 * This header also defines `struct snap`, the plain snapshot record shared by the planners (backup/plan.h uses
 * it too). The caller fills it from DescribeSnapshots; this module never parses AWS documents.
 *
 * ---------------------------------------------------------------------------------------------------------
 * THE CONTRACT - holds for ANY input that retention_plan() accepts (ERR_OK). The property test checks every
 * rule after every plan over random histories.
 *
 *  S1  A snapshot without the SmartVault marker (tag CreatedBy=SmartVault) is never deleted.
 *  S2  Only `completed` and `error` snapshots are ever deleted. `pending`, `recoverable`, `recovering` and any
 *      state we do not know are kept. (`error` snapshots hold no restorable data; an operator expects them to
 *      be cleaned up, but only once they are past retention like any other - S4 - so the evidence stays
 *      around long enough to be looked at. They never count towards min_keep or GFS.)
 *  S3  A snapshot on legal hold (tag SmartVault:Hold=true) is never deleted.
 *  S4  Nothing is deleted unless age > retention, strictly: age = now - StartTime, retention = the instance's
 *      override when valid, else policy.retention_days, in days of 86400 s. A snapshot exactly
 *      retention_days * 86400 s old is KEPT; one second older is deleted. ("older than RETENTION_DAYS".)
 *  S5  A snapshot whose StartTime is after now (clock skew) is kept.
 *  S6  Per volume, the policy.min_keep newest completed SmartVault snapshots are kept, however old. "Newest" is
 *      by StartTime, ties broken by snapshot id (byte order, smaller id counts as newer), so the choice never
 *      depends on input order. Held and future-dated completed snapshots count among the newest (they exist
 *      and are kept anyway); error/pending ones and snapshots without the marker do not.
 *  S7  GFS (each 0 = off), per volume, UTC calendar, evaluated at `now`:
 *        keep_daily   = N: for each of the N calendar days ending with today (today counts as one), the
 *                          newest completed SmartVault snapshot that started that day is kept;
 *        keep_weekly  = N: the same for the N ISO 8601 weeks (Monday 00:00 UTC to Sunday 24:00) ending with
 *                          the current one; a week belongs to the ISO year of its Thursday ("2026-W01");
 *        keep_monthly = N: the same for the N calendar months ending with the current one.
 *      Periods are calendar windows, not "the last N periods that have a snapshot": after a gap in backups
 *      an empty period simply keeps nothing (min_keep protects the last backups). "Newest" is as in S6.
 *  S8  A snapshot whose volume is unknown (empty, or AWS's placeholder `vol-ffffffff`) is kept: without its
 *      volume we cannot prove it is not among its volume's min_keep newest.
 *  S9  Decisions are a function of the set of snapshots: permuting the input permutes the output and
 *      changes nothing else (snapshot ids must be unique - ERR_INVALID otherwise).
 *  S10 Idempotent: planning again over the kept snapshots with the same now and policy deletes nothing.
 *  And no more than that: a snapshot that none of S1-S8 keeps IS deleted (the property test checks "deleted
 *  if and only if no rule keeps it", so keeping too much - silent cost - is caught as well).
 *
 * Volumes: a source snapshot's volume is its own VolumeId attribute. A copy's own VolumeId attribute is a
 * placeholder (vol-ffffffff), so for copies in the DR region the CALLER passes the copy's `VolumeId` TAG
 * (written by SmartVault at copy time, DESIGN.md §3). Source snapshots and copies never share a min_keep or
 * GFS budget: the group key is (is_copy, volume_id).
 *
 * Per-instance override: the `retention` tag lives on the INSTANCE; the caller looks it up and passes it in
 * each snapshot (0 = none). Parse the tag with retention_parse_days(); an invalid value is reported by the
 * caller and passed as 0, so the default applies. A terminated instance has no tags: its snapshots fall back
 * to the default (min_keep still keeps its last ones).
 *
 * Policy: the caller passes the region's retention (RETENTION_DAYS in the source region, DEST_RETENTION_DAYS in
 * the DR region). Deleting, and `InvalidSnapshot.InUse` (a snapshot backing an AMI: a warning), are the
 * caller's business.
 * ---------------------------------------------------------------------------------------------------------
 */
#ifndef SV_BACKUP_RETENTION_H
#define SV_BACKUP_RETENTION_H

#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named maximums. */
#define SNAP_MAX_COUNT ((size_t) 250000) /* snapshots in one plan: 2.5x the default EBS quota (100,000 per region) */
#define SNAP_TIME_MAX_S ((int64_t) 253402300799) /* 9999-12-31T23:59:59Z; times are in [0, SNAP_TIME_MAX_S] */
#define RETENTION_MAX_DAYS 36500u                /* 100 years */
#define RETENTION_MAX_MIN_KEEP 10000u
#define RETENTION_MAX_GFS 10000u /* periods, for each of keep_daily / keep_weekly / keep_monthly */
#define RETENTION_WHY_MAX 160    /* bytes of a decision's human sentence, NUL included */
#define RETENTION_DAY_S ((int64_t) 86400)

/* EC2 snapshot states (DescribeSnapshots `status`). */
enum snap_state {
    SNAP_UNKNOWN = 0, /* anything else: treated as "do not touch" */
    SNAP_PENDING,
    SNAP_COMPLETED,
    SNAP_ERROR,
    SNAP_RECOVERABLE, /* in the Recycle Bin */
    SNAP_RECOVERING,  /* being restored from the Recycle Bin */
};

/* "pending", "completed", ... (exact, lower case as EC2 writes them); SNAP_UNKNOWN for anything else. */
enum snap_state snap_state_parse(struct span s);
const char *snap_state_name(enum snap_state st);

/*
 * One snapshot, as the caller parsed it. Spans point into the caller's memory and must outlive the call.
 */
struct snap {
    struct span snapshot_id;        /* required, unique within one call */
    struct span volume_id;          /* source: the VolumeId attribute; copy: the VolumeId TAG (see above) */
    struct span instance_id;        /* InstanceId tag; may be empty */
    struct span source_snapshot_id; /* copies: the SourceSnapshotId tag; empty otherwise */
    enum snap_state state;
    int64_t start_time_s;             /* StartTime, Unix seconds UTC - never a tag */
    bool has_marker;                  /* tag CreatedBy=SmartVault */
    bool hold;                        /* tag SmartVault:Hold=true */
    bool is_copy;                     /* a cross-region copy made by SmartVault (DR region) */
    uint32_t retention_days_override; /* the instance's `retention` tag; 0 = none or invalid */
};

struct retention_policy {
    uint32_t retention_days; /* 1..RETENTION_MAX_DAYS: this region's retention */
    uint32_t min_keep;       /* 0..RETENTION_MAX_MIN_KEEP newest completed kept per volume (DESIGN default 1) */
    uint32_t keep_daily;     /* 0..RETENTION_MAX_GFS, 0 = off (S7) */
    uint32_t keep_weekly;
    uint32_t keep_monthly;
};

enum retention_action {
    RETENTION_KEEP = 0, /* zero: a zeroed decision never deletes */
    RETENTION_DELETE,
};

/* Why. For kept snapshots, the first rule that applies in this order (so the reason names the strongest). */
enum retention_reason {
    RETENTION_KEPT_NOT_OURS = 0, /* no SmartVault marker (S1) */
    RETENTION_KEPT_HOLD,         /* SmartVault:Hold=true (S3) */
    RETENTION_KEPT_PENDING,      /* state pending (S2) */
    RETENTION_KEPT_STATE,        /* recoverable, recovering or an unknown state (S2) */
    RETENTION_KEPT_FUTURE,       /* StartTime after now (S5) */
    RETENTION_KEPT_NO_VOLUME,    /* volume unknown (S8) */
    RETENTION_KEPT_WITHIN,       /* age <= retention (S4) */
    RETENTION_KEPT_MIN_KEEP,     /* among the min_keep newest completed of its volume (S6) */
    RETENTION_KEPT_GFS_MONTHLY,  /* the newest of a month in the window (S7); coarsest period named first */
    RETENTION_KEPT_GFS_WEEKLY,
    RETENTION_KEPT_GFS_DAILY,
    RETENTION_KEPT_INVALID_INPUT, /* the plan was rejected (error return): everything kept */
    RETENTION_DELETE_EXPIRED,     /* completed, past retention, no rule keeps it */
    RETENTION_DELETE_ERROR,       /* error state, past retention */
    RETENTION__REASONS
};

/* Bits of retention_decision.gfs. */
#define RETENTION_GFS_DAILY 1u
#define RETENTION_GFS_WEEKLY 2u
#define RETENTION_GFS_MONTHLY 4u

/* Value of retention_decision.volume_rank when the snapshot is not ranked (not a completed SmartVault one). */
#define RETENTION_NO_RANK UINT32_MAX

struct retention_decision {
    size_t index; /* the snapshot's position in the input: out[i].index == i */
    enum retention_action action;
    enum retention_reason reason;
    uint32_t retention_days;     /* the retention that applied: the valid override, else the policy's */
    bool override_used;          /* retention_days came from the instance's tag */
    int64_t age_s;               /* now - StartTime; negative when in the future */
    uint32_t volume_rank;        /* 0 = newest completed SmartVault snapshot of its volume; RETENTION_NO_RANK */
    unsigned gfs;                /* RETENTION_GFS_* periods this snapshot is the kept newest of */
    char why[RETENTION_WHY_MAX]; /* "expired: 9 days old > retention 7", "kept: legal hold", ... */
};

/*
 * Plans retention for snaps[0..n) at now_s. out must have room for n decisions; out[i] is the decision for
 * snaps[i]. n may be 0 (snaps and out may then be NULL).
 *
 * Errors (then NO snapshot is deleted: every out[i] is a KEEP with reason RETENTION_KEPT_INVALID_INPUT):
 *   ERR_INVALID  policy out of range; now_s or a start_time_s outside [0, SNAP_TIME_MAX_S]; an empty or
 *                duplicate snapshot id; NULL pointers with n > 0
 *   ERR_LIMIT    n > SNAP_MAX_COUNT
 *
 * Cost: O(n log n) time, no allocation (out is used as the sort space).
 */
enum err retention_plan(
  const struct snap *snaps,
  size_t n,
  const struct retention_policy *policy,
  int64_t now_s,
  struct retention_decision *out) SV_MUST_CHECK;

/* Counts derived from decisions (never counted separately). */
struct retention_counts {
    size_t total;
    size_t to_delete;
    size_t kept;
    size_t by_reason[RETENTION__REASONS];
};

struct retention_counts retention_count(const struct retention_decision *d, size_t n);

/* A stable snake_case name for a reason ("expired", "min_keep", "gfs_daily", ...), for logs and metrics. */
const char *retention_reason_name(enum retention_reason r);

/*
 * The retention in days that applies to s: its override when 1..RETENTION_MAX_DAYS, else policy_days.
 * Shared with the copy planner so "inside retention" means the same thing in both.
 */
uint32_t retention_effective_days(const struct snap *s, uint32_t policy_days);

/*
 * Parses an instance's `retention` tag value: decimal days, surrounding blanks allowed, 1..RETENTION_MAX_DAYS.
 * ERR_PARSE for anything not a number ("", "7d", "-1", "1.5"); ERR_LIMIT for 0 or above the maximum. The caller reports
 * the error and passes 0 as the override, so the default applies.
 */
enum err retention_parse_days(struct span tag_value, uint32_t *days) SV_MUST_CHECK;

#endif
