/*
 * test_retention.c - the retention planner: a table of named cases (every rule, every boundary, the GFS
 * calendar), then a property test over random histories that checks the contract of retention.h (S1-S10)
 * after every plan, against oracles written independently of the planner (naive ranks, calendar periods
 * from civil dates rather than day arithmetic).
 */
#include "harness.h"

#include "backup/retention.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define DAY ((int64_t) 86400)
#define HOUR ((int64_t) 3600)
#define RT_NOW_DEFAULT "2026-11-20T12:00:00Z"
#define RT_MAX 12

/* Test-local state codes: zero is `completed`, the common case, so tables only name the others. */
enum rt_st { C = 0, P, E, RB, RG, U };

#define NOMARK 1u
#define HOLD 2u
#define COPY 4u

/* Reasons, short. */
#define K_NOT_OURS RETENTION_KEPT_NOT_OURS
#define K_HOLD RETENTION_KEPT_HOLD
#define K_PENDING RETENTION_KEPT_PENDING
#define K_STATE RETENTION_KEPT_STATE
#define K_FUTURE RETENTION_KEPT_FUTURE
#define K_NO_VOL RETENTION_KEPT_NO_VOLUME
#define K_WITHIN RETENTION_KEPT_WITHIN
#define K_MIN RETENTION_KEPT_MIN_KEEP
#define K_GFS_M RETENTION_KEPT_GFS_MONTHLY
#define K_GFS_W RETENTION_KEPT_GFS_WEEKLY
#define K_GFS_D RETENTION_KEPT_GFS_DAILY
#define D_EXP RETENTION_DELETE_EXPIRED
#define D_ERR RETENTION_DELETE_ERROR

/* retention_days, min_keep, keep_daily, keep_weekly, keep_monthly */
#define POL(r, m, d, w, mo)                                                                                            \
    { (r), (m), (d), (w), (mo) }

struct rt_snap {
    const char *id; /* NULL ends the list */
    const char *vol;
    enum rt_st st;
    int64_t ago;    /* start = now - ago, unless `at` is set */
    const char *at; /* RFC 3339 start time */
    unsigned flags;
    uint32_t override;
    enum retention_reason want;
    const char *why; /* exact sentence, or NULL */
};

struct rt_case {
    const char *name;
    const char *now; /* RFC 3339; NULL = RT_NOW_DEFAULT */
    struct retention_policy pol;
    struct rt_snap s[RT_MAX];
};

static const struct rt_case s_cases[] = {
    { "empty_input", NULL, POL(7, 1, 0, 0, 0), { { 0 } } },
    { "all_pending_even_ancient",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "p1", "vol-1", P, 400 * DAY, NULL, 0, 0, K_PENDING, "kept: pending" },
        { "p2", "vol-1", P, 30 * DAY, NULL, 0, 0, K_PENDING, NULL },
        { "p3", "vol-2", P, 1 * HOUR, NULL, 0, 0, K_PENDING, NULL } } },
    { "exactly_at_retention_age_kept",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 7 * DAY, NULL, 0, 0, K_WITHIN, "kept: within retention (7 days old <= 7)" } } },
    { "one_second_past_retention_deleted",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 7 * DAY + 1, NULL, 0, 0, D_EXP, "expired: 7 days 1 s old > retention 7" } } },
    { "one_second_before_retention_kept",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 7 * DAY - 1, NULL, 0, 0, K_WITHIN, "kept: within retention (6 days old <= 7)" } } },
    { "nine_days_old_deleted_sentence",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 9 * DAY, NULL, 0, 0, D_EXP, "expired: 9 days old > retention 7" } } },
    { "retention_one_day_boundary",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "a", "vol-1", C, 1 * DAY, NULL, 0, 0, K_WITHIN, "kept: within retention (1 day old <= 1)" },
        { "b", "vol-1", C, 1 * DAY + 1, NULL, 0, 0, D_EXP, "expired: 1 day 1 s old > retention 1" } } },
    { "equal_start_times_tie_broken_by_id",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "snap-b", "vol-1", C, 10 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "snap-a", "vol-1", C, 10 * DAY, NULL, 0, 0, K_MIN, "kept: min_keep newest completed for vol-1 (1 of 1)" },
        { "snap-c", "vol-1", C, 10 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "equal_start_times_min_keep_two",
      NULL,
      POL(7, 2, 0, 0, 0),
      { { "snap-3", "vol-1", C, 10 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "snap-2", "vol-1", C, 10 * DAY, NULL, 0, 0, K_MIN, "kept: min_keep newest completed for vol-1 (2 of 2)" },
        { "snap-1", "vol-1", C, 10 * DAY, NULL, 0, 0, K_MIN, NULL } } },
    { "min_keep_0_deletes_every_expired",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 8 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "s2", "vol-1", C, 9 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "min_keep_1_keeps_last_backup_of_terminated_instance",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "s1", "vol-1", C, 300 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "s2", "vol-1", C, 301 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "min_keep_3_fewer_snapshots_than_min_keep",
      NULL,
      POL(7, 3, 0, 0, 0),
      { { "s1", "vol-1", C, 20 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "s2", "vol-1", C, 21 * DAY, NULL, 0, 0, K_MIN, "kept: min_keep newest completed for vol-1 (2 of 3)" } } },
    { "min_keep_3_more_snapshots_than_min_keep",
      NULL,
      POL(7, 3, 0, 0, 0),
      { { "s5", "vol-1", C, 14 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "s1", "vol-1", C, 10 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "s3", "vol-1", C, 12 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "s4", "vol-1", C, 13 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "s2", "vol-1", C, 11 * DAY, NULL, 0, 0, K_MIN, NULL } } },
    { "min_keep_counts_snapshots_within_retention",
      NULL,
      POL(7, 2, 0, 0, 0),
      { { "new1", "vol-1", C, 1 * DAY, NULL, 0, 0, K_WITHIN, NULL },
        { "new2", "vol-1", C, 2 * DAY, NULL, 0, 0, K_WITHIN, NULL },
        { "old1", "vol-1", C, 8 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "old2", "vol-1", C, 9 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "min_keep_ignores_pending_newest",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "pend", "vol-1", P, 1 * HOUR, NULL, 0, 0, K_PENDING, NULL },
        { "old", "vol-1", C, 30 * DAY, NULL, 0, 0, K_MIN, NULL } } },
    { "min_keep_ignores_error_newest",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "err", "vol-1", E, 20 * DAY, NULL, 0, 0, D_ERR, "expired: error state, 20 days old > retention 7" },
        { "old", "vol-1", C, 30 * DAY, NULL, 0, 0, K_MIN, NULL } } },
    { "min_keep_ignores_snapshots_without_marker",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "manual", "vol-1", C, 10 * DAY, NULL, NOMARK, 0, K_NOT_OURS, NULL },
        { "ours", "vol-1", C, 30 * DAY, NULL, 0, 0, K_MIN, NULL } } },
    { "min_keep_counts_held_snapshots",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "held", "vol-1", C, 10 * DAY, NULL, HOLD, 0, K_HOLD, "kept: legal hold" },
        { "older", "vol-1", C, 30 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "override_longer_than_default_keeps",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1",
          "vol-1",
          C,
          20 * DAY,
          NULL,
          0,
          30,
          K_WITHIN,
          "kept: within retention (20 days old <= 30, instance retention tag)" },
        { "s2",
          "vol-1",
          C,
          31 * DAY,
          NULL,
          0,
          30,
          D_EXP,
          "expired: 31 days old > retention 30 (instance retention tag)" } } },
    { "override_shorter_than_default_deletes",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 5 * DAY, NULL, 0, 3, D_EXP, "expired: 5 days old > retention 3 (instance retention tag)" },
        { "s2", "vol-1", C, 2 * DAY, NULL, 0, 3, K_WITHIN, NULL } } },
    { "override_above_maximum_is_invalid_default_applies",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 8 * DAY, NULL, 0, RETENTION_MAX_DAYS + 1, D_EXP, "expired: 8 days old > retention 7" } } },
    { "override_zero_means_none",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 6 * DAY, NULL, 0, 0, K_WITHIN, NULL },
        { "s2", "vol-1", C, 8 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "no_marker_never_deleted_even_ancient",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 3000 * DAY, NULL, NOMARK, 0, K_NOT_OURS, "kept: not created by SmartVault" },
        { "s2", "vol-1", E, 3000 * DAY, NULL, NOMARK, 0, K_NOT_OURS, NULL },
        { "s3", "", C, 3000 * DAY, NULL, NOMARK | COPY, 0, K_NOT_OURS, NULL } } },
    { "hold_never_deleted",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "s1", "vol-1", C, 3000 * DAY, NULL, HOLD, 0, K_HOLD, NULL },
        { "s2", "vol-1", E, 3000 * DAY, NULL, HOLD, 0, K_HOLD, NULL },
        { "s3", "vol-1", C, 3000 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "future_start_time_kept",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "s1", "vol-1", C, -1, NULL, 0, 0, K_FUTURE, "kept: start time 1 s in the future (clock skew)" },
        { "s2", "vol-1", C, -3650 * DAY, NULL, 0, 0, K_FUTURE, NULL },
        { "s3", "vol-1", C, 0, NULL, 0, 0, K_WITHIN, NULL } } },
    { "future_snapshot_counts_towards_min_keep",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "future", "vol-1", C, -2 * HOUR, NULL, 0, 0, K_FUTURE, NULL },
        { "old", "vol-1", C, 30 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "mixed_volumes_min_keep_per_volume",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "a1", "vol-a", C, 10 * DAY, NULL, 0, 0, K_MIN, "kept: min_keep newest completed for vol-a (1 of 1)" },
        { "a2", "vol-a", C, 11 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "b1", "vol-b", C, 40 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "b2", "vol-b", C, 41 * DAY, NULL, 0, 0, D_EXP, NULL },
        { "c1", "vol-c", C, 1 * DAY, NULL, 0, 0, K_WITHIN, NULL },
        { "c2", "vol-c", C, 12 * DAY, NULL, 0, 0, D_EXP, NULL } } },
    { "dr_copies_keyed_by_volume_tag",
      NULL,
      POL(14, 1, 0, 0, 0),
      { { "cp-a1", "vol-a", C, 20 * DAY, NULL, COPY, 0, K_MIN, NULL },
        { "cp-a2", "vol-a", C, 21 * DAY, NULL, COPY, 0, D_EXP, NULL },
        { "cp-b1", "vol-b", C, 22 * DAY, NULL, COPY, 0, D_EXP, NULL },
        { "cp-b2", "vol-b", C, 2 * DAY, NULL, COPY, 0, K_WITHIN, NULL } } },
    { "dr_copy_placeholder_volume_is_unknown_and_kept",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "cp-1", "vol-ffffffff", C, 20 * DAY, NULL, COPY, 0, K_NO_VOL, "kept: volume unknown" },
        { "cp-2", "vol-ffffffff", C, 21 * DAY, NULL, COPY, 0, K_NO_VOL, NULL } } },
    { "empty_volume_is_unknown_and_kept",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "cp-1", "", C, 20 * DAY, NULL, COPY, 0, K_NO_VOL, NULL },
        { "s-1", "", E, 20 * DAY, NULL, 0, 0, K_NO_VOL, NULL } } },
    { "source_and_copy_of_one_volume_have_separate_min_keep",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "src", "vol-1", C, 20 * DAY, NULL, 0, 0, K_MIN, NULL },
        { "cp-new", "vol-1", C, 10 * DAY, NULL, COPY, 0, K_MIN, NULL },
        { "cp-old", "vol-1", C, 30 * DAY, NULL, COPY, 0, D_EXP, NULL } } },
    { "error_state_past_retention_deleted",
      NULL,
      POL(7, 1, 0, 0, 0),
      { { "err", "vol-1", E, 7 * DAY + 1, NULL, 0, 0, D_ERR, NULL } } },
    { "error_state_within_retention_kept",
      NULL,
      POL(7, 0, 0, 0, 0),
      { { "err", "vol-1", E, 7 * DAY, NULL, 0, 0, K_WITHIN, NULL } } },
    { "recycle_bin_and_unknown_states_kept",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "rb", "vol-1", RB, 300 * DAY, NULL, 0, 0, K_STATE, "kept: state recoverable" },
        { "rg", "vol-1", RG, 300 * DAY, NULL, 0, 0, K_STATE, "kept: state recovering" },
        { "un", "vol-1", U, 300 * DAY, NULL, 0, 0, K_STATE, "kept: state unknown" } } },
    { "hold_beats_pending_and_marker_beats_all",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "a", "vol-1", P, 300 * DAY, NULL, HOLD, 0, K_HOLD, NULL },
        { "b", "vol-1", P, 300 * DAY, NULL, HOLD | NOMARK, 0, K_NOT_OURS, NULL } } },
    { "gfs_off_deletes_past_retention",
      NULL,
      POL(1, 0, 0, 0, 0),
      { { "a", "vol-1", C, 0, "2026-11-19T06:00:00Z", 0, 0, D_EXP, NULL },
        { "b", "vol-1", C, 0, "2026-11-01T06:00:00Z", 0, 0, D_EXP, NULL } } },
    { "gfs_daily_newest_of_each_day",
      NULL,
      POL(1, 0, 3, 0, 0),
      { { "d17", "vol-1", C, 0, "2026-11-17T23:59:59Z", 0, 0, D_EXP, NULL },
        { "d18a", "vol-1", C, 0, "2026-11-18T01:00:00Z", 0, 0, D_EXP, NULL },
        { "d18b", "vol-1", C, 0, "2026-11-18T23:00:00Z", 0, 0, K_GFS_D, "kept: gfs daily 2026-11-18" },
        { "d19", "vol-1", C, 0, "2026-11-19T00:00:00Z", 0, 0, K_GFS_D, "kept: gfs daily 2026-11-19" },
        { "d20", "vol-1", C, 0, "2026-11-20T00:00:00Z", 0, 0, K_WITHIN, NULL } } },
    { "gfs_daily_today_counts_as_one",
      NULL,
      POL(1, 0, 1, 0, 0),
      { { "d19", "vol-1", C, 0, "2026-11-19T06:00:00Z", 0, 0, D_EXP, NULL },
        { "d20", "vol-1", C, 0, "2026-11-20T00:00:00Z", 0, 0, K_WITHIN, NULL } } },
    { "gfs_daily_per_volume",
      NULL,
      POL(1, 0, 2, 0, 0),
      { { "a1", "vol-a", C, 0, "2026-11-19T06:00:00Z", 0, 0, K_GFS_D, NULL },
        { "a0", "vol-a", C, 0, "2026-11-19T05:00:00Z", 0, 0, D_EXP, NULL },
        { "b1", "vol-b", C, 0, "2026-11-19T01:00:00Z", 0, 0, K_GFS_D, NULL } } },
    { "gfs_daily_ignores_pending_and_error",
      NULL,
      POL(1, 0, 2, 0, 0),
      { { "pend", "vol-1", P, 0, "2026-11-19T10:00:00Z", 0, 0, K_PENDING, NULL },
        { "err", "vol-1", E, 0, "2026-11-19T09:00:00Z", 0, 0, D_ERR, NULL },
        { "ok", "vol-1", C, 0, "2026-11-19T08:00:00Z", 0, 0, K_GFS_D, NULL } } },
    { "gfs_daily_gap_keeps_nothing",
      NULL,
      POL(1, 0, 3, 0, 0),
      { { "old", "vol-1", C, 0, "2026-11-10T06:00:00Z", 0, 0, D_EXP, NULL } } },
    { "gfs_daily_leap_day",
      "2024-03-01T12:00:00Z",
      POL(1, 0, 2, 0, 0),
      { { "feb28", "vol-1", C, 0, "2024-02-28T23:59:59Z", 0, 0, D_EXP, NULL },
        { "feb29", "vol-1", C, 0, "2024-02-29T00:00:00Z", 0, 0, K_GFS_D, "kept: gfs daily 2024-02-29" } } },
    { "gfs_weekly_iso_week_starts_monday",
      NULL,
      POL(1, 0, 0, 2, 0),
      { { "sun8", "vol-1", C, 0, "2026-11-08T12:00:00Z", 0, 0, D_EXP, NULL },
        { "sun15a", "vol-1", C, 0, "2026-11-15T10:00:00Z", 0, 0, D_EXP, NULL },
        { "sun15b", "vol-1", C, 0, "2026-11-15T23:59:59Z", 0, 0, K_GFS_W, "kept: gfs weekly 2026-W46" },
        { "mon16", "vol-1", C, 0, "2026-11-16T00:00:00Z", 0, 0, D_EXP, NULL },
        { "tue17", "vol-1", C, 0, "2026-11-17T06:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2026-W47" } } },
    { "gfs_weekly_week_53_spans_new_year",
      "2021-01-06T12:00:00Z",
      POL(1, 0, 0, 2, 0),
      { { "dec27", "vol-1", C, 0, "2020-12-27T12:00:00Z", 0, 0, D_EXP, NULL },
        { "dec31", "vol-1", C, 0, "2020-12-31T12:00:00Z", 0, 0, D_EXP, NULL },
        { "jan03", "vol-1", C, 0, "2021-01-03T12:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2020-W53" },
        { "jan04", "vol-1", C, 0, "2021-01-04T01:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2021-W01" } } },
    { "gfs_weekly_december_date_in_next_iso_year",
      "2025-01-01T12:00:00Z",
      POL(1, 0, 0, 1, 0),
      { { "dec29", "vol-1", C, 0, "2024-12-29T23:00:00Z", 0, 0, D_EXP, NULL },
        { "dec30", "vol-1", C, 0, "2024-12-30T00:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2025-W01" } } },
    { "gfs_weekly_thursday_new_year_is_w01",
      "2026-01-02T12:00:00Z",
      POL(1, 0, 0, 1, 0),
      { { "dec29", "vol-1", C, 0, "2025-12-29T00:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2026-W01" } } },
    { "gfs_monthly_month_boundary",
      "2026-03-15T00:00:00Z",
      POL(1, 0, 0, 0, 2),
      { { "jan31", "vol-1", C, 0, "2026-01-31T23:59:59Z", 0, 0, D_EXP, NULL },
        { "feb01", "vol-1", C, 0, "2026-02-01T00:00:00Z", 0, 0, D_EXP, NULL },
        { "feb28", "vol-1", C, 0, "2026-02-28T23:59:59Z", 0, 0, K_GFS_M, "kept: gfs monthly 2026-02" },
        { "mar01", "vol-1", C, 0, "2026-03-01T00:00:00Z", 0, 0, K_GFS_M, "kept: gfs monthly 2026-03" } } },
    { "gfs_monthly_leap_day_is_newest_of_february",
      "2024-03-05T00:00:00Z",
      POL(1, 0, 0, 0, 2),
      { { "feb28", "vol-1", C, 0, "2024-02-28T12:00:00Z", 0, 0, D_EXP, NULL },
        { "feb29", "vol-1", C, 0, "2024-02-29T12:00:00Z", 0, 0, K_GFS_M, "kept: gfs monthly 2024-02" },
        { "mar01", "vol-1", C, 0, "2024-03-01T06:00:00Z", 0, 0, D_EXP, NULL },
        { "mar02", "vol-1", C, 0, "2024-03-02T06:00:00Z", 0, 0, K_GFS_M, NULL } } },
    { "gfs_monthly_year_boundary",
      "2027-01-10T00:00:00Z",
      POL(1, 0, 0, 0, 2),
      { { "nov30", "vol-1", C, 0, "2026-11-30T12:00:00Z", 0, 0, D_EXP, NULL },
        { "dec31", "vol-1", C, 0, "2026-12-31T23:59:59Z", 0, 0, K_GFS_M, "kept: gfs monthly 2026-12" },
        { "jan01", "vol-1", C, 0, "2027-01-01T00:00:00Z", 0, 0, K_GFS_M, "kept: gfs monthly 2027-01" } } },
    { "gfs_combined_reason_names_coarsest_period",
      NULL,
      POL(1, 0, 7, 2, 12),
      { { "n19",
          "vol-1",
          C,
          0,
          "2026-11-19T06:00:00Z",
          0,
          0,
          K_GFS_M,
          "kept: gfs monthly 2026-11, weekly 2026-W47, daily 2026-11-19" },
        { "n18", "vol-1", C, 0, "2026-11-18T06:00:00Z", 0, 0, K_GFS_D, "kept: gfs daily 2026-11-18" },
        { "n14", "vol-1", C, 0, "2026-11-14T06:00:00Z", 0, 0, K_GFS_W, "kept: gfs weekly 2026-W46, daily 2026-11-14" },
        { "n13", "vol-1", C, 0, "2026-11-13T06:00:00Z", 0, 0, D_EXP, NULL },
        { "o31", "vol-1", C, 0, "2026-10-31T06:00:00Z", 0, 0, K_GFS_M, "kept: gfs monthly 2026-10" },
        { "o30", "vol-1", C, 0, "2026-10-30T06:00:00Z", 0, 0, D_EXP, NULL } } },
    { "min_keep_reason_before_gfs",
      NULL,
      POL(1, 1, 3, 0, 0),
      { { "a", "vol-1", C, 0, "2026-11-19T06:00:00Z", 0, 0, K_MIN, NULL },
        { "b", "vol-1", C, 0, "2026-11-18T06:00:00Z", 0, 0, K_GFS_D, NULL },
        { "c", "vol-1", C, 0, "2026-11-18T05:00:00Z", 0, 0, D_EXP, NULL } } },
    { "gfs_picks_are_per_copy_group_too",
      NULL,
      POL(1, 0, 0, 0, 1),
      { { "src", "vol-1", C, 0, "2026-11-03T00:00:00Z", 0, 0, K_GFS_M, NULL },
        { "cp", "vol-1", C, 0, "2026-11-02T00:00:00Z", COPY, 0, K_GFS_M, NULL },
        { "cp0", "vol-1", C, 0, "2026-11-01T00:00:00Z", COPY, 0, D_EXP, NULL } } },
};

static enum snap_state s_state(enum rt_st st) {
    switch (st) {
        case C:
            return SNAP_COMPLETED;
        case P:
            return SNAP_PENDING;
        case E:
            return SNAP_ERROR;
        case RB:
            return SNAP_RECOVERABLE;
        case RG:
            return SNAP_RECOVERING;
        case U:
            break;
    }
    return SNAP_UNKNOWN;
}

static int64_t s_parse_time(const char *s) {
    int64_t t = -1;
    if (time_parse_rfc3339(span_from_cstr(s), &t) != ERR_OK) {
        harness_note("bad time in table: %s", s);
    }
    return t;
}

static size_t s_build(const struct rt_case *c, int64_t now, struct snap *out) {
    size_t n = 0;
    for (; n < RT_MAX && c->s[n].id != NULL; n++) {
        const struct rt_snap *r = &c->s[n];
        out[n] = (struct snap){
            .snapshot_id = span_from_cstr(r->id),
            .volume_id = span_from_cstr(r->vol),
            .instance_id = SPAN_LIT("i-1"),
            .state = s_state(r->st),
            .start_time_s = r->at ? s_parse_time(r->at) : now - r->ago,
            .has_marker = !(r->flags & NOMARK),
            .hold = (r->flags & HOLD) != 0,
            .is_copy = (r->flags & COPY) != 0,
            .retention_days_override = r->override,
        };
    }
    return n;
}

static bool s_is_delete_reason(enum retention_reason r) {
    return r == RETENTION_DELETE_EXPIRED || r == RETENTION_DELETE_ERROR;
}

/* Plans the case in `perm` order and checks it decides exactly as `base` did for every snapshot. */
static void s_check_permutation(
  const struct rt_case *c,
  const struct snap *snaps,
  size_t n,
  int64_t now,
  const struct retention_decision *base,
  const size_t *perm) {
    struct snap p[RT_MAX];
    struct retention_decision d[RT_MAX];
    for (size_t i = 0; i < n; i++) {
        p[i] = snaps[perm[i]];
    }
    if (!CHECK_OK(retention_plan(p, n, &c->pol, now, d))) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct retention_decision *b = &base[perm[i]];
        if (!CHECK(d[i].action == b->action && d[i].reason == b->reason && strcmp(d[i].why, b->why) == 0)) {
            harness_note("case %s: %s decided differently after permutation", c->name, c->s[perm[i]].id);
        }
    }
}

static void s_run_case(const struct rt_case *c) {
    int64_t now = s_parse_time(c->now ? c->now : RT_NOW_DEFAULT);
    struct snap snaps[RT_MAX];
    struct retention_decision out[RT_MAX];
    size_t n = s_build(c, now, snaps);
    if (!CHECK_OK(retention_plan(n ? snaps : NULL, n, &c->pol, now, n ? out : NULL))) {
        harness_note("case %s: plan failed", c->name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct rt_snap *r = &c->s[i];
        bool ok = CHECK_INT(out[i].index, i);
        ok = CHECK_STR(retention_reason_name(out[i].reason), retention_reason_name(r->want)) && ok;
        ok = CHECK_INT(out[i].action, s_is_delete_reason(r->want) ? RETENTION_DELETE : RETENTION_KEEP) && ok;
        if (r->why != NULL) {
            ok = CHECK_STR(out[i].why, r->why) && ok;
        }
        if (!ok) {
            harness_note("case %s: snapshot %s (why: %s)", c->name, r->id, out[i].why);
        }
    }
    /* S9 on every case: reversed and every rotation decide the same. */
    size_t perm[RT_MAX];
    for (size_t i = 0; i < n; i++) {
        perm[i] = n - 1 - i;
    }
    s_check_permutation(c, snaps, n, now, out, perm);
    for (size_t k = 1; k < n; k++) {
        for (size_t i = 0; i < n; i++) {
            perm[i] = (i + k) % n;
        }
        s_check_permutation(c, snaps, n, now, out, perm);
    }
    /* Counts are derived from the decisions. */
    struct retention_counts cnt = retention_count(out, n);
    size_t del = 0;
    for (size_t i = 0; i < n; i++) {
        del += out[i].action == RETENTION_DELETE;
    }
    CHECK_INT(cnt.total, n);
    CHECK_INT(cnt.to_delete, del);
    CHECK_INT(cnt.kept, n - del);
}

TEST(retention_table) {
    size_t ncases = sizeof(s_cases) / sizeof(s_cases[0]);
    CHECK(ncases >= 40);
    for (size_t i = 0; i < ncases; i++) {
        s_run_case(&s_cases[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s_cases[i].name, s_cases[j].name) == 0) {
                CHECK(!"duplicate case name");
                harness_note("duplicate case %s", s_cases[i].name);
            }
        }
    }
}

/* ---- rejected input: nothing is deleted ---------------------------------------------------------------- */

static void s_check_all_kept(const struct retention_decision *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(d[i].action, RETENTION_KEEP);
        CHECK_INT(d[i].reason, RETENTION_KEPT_INVALID_INPUT);
        CHECK_INT(d[i].index, i);
    }
}

TEST(retention_rejects_bad_input_and_keeps_everything) {
    const int64_t now = 1800000000;
    struct snap s[2] = {
        { .snapshot_id = SPAN_LIT("snap-1"),
          .volume_id = SPAN_LIT("vol-1"),
          .state = SNAP_COMPLETED,
          .has_marker = true },
        { .snapshot_id = SPAN_LIT("snap-2"),
          .volume_id = SPAN_LIT("vol-1"),
          .state = SNAP_COMPLETED,
          .has_marker = true },
    };
    struct retention_decision d[2];
    struct retention_policy ok = { 7, 0, 0, 0, 0 };
    struct retention_policy bad;

    bad = ok;
    bad.retention_days = 0;
    CHECK_INT(retention_plan(s, 2, &bad, now, d), ERR_INVALID);
    s_check_all_kept(d, 2);
    bad.retention_days = RETENTION_MAX_DAYS + 1;
    CHECK_INT(retention_plan(s, 2, &bad, now, d), ERR_INVALID);
    bad = ok;
    bad.min_keep = RETENTION_MAX_MIN_KEEP + 1;
    CHECK_INT(retention_plan(s, 2, &bad, now, d), ERR_INVALID);
    bad = ok;
    bad.keep_monthly = RETENTION_MAX_GFS + 1;
    CHECK_INT(retention_plan(s, 2, &bad, now, d), ERR_INVALID);
    CHECK_INT(retention_plan(s, 2, NULL, now, d), ERR_INVALID);
    s_check_all_kept(d, 2);
    CHECK_INT(retention_plan(NULL, 2, &ok, now, d), ERR_INVALID);
    CHECK_INT(retention_plan(s, 2, &ok, now, NULL), ERR_INVALID);
    CHECK_INT(retention_plan(s, 2, &ok, -1, d), ERR_INVALID);
    CHECK_INT(retention_plan(s, 2, &ok, SNAP_TIME_MAX_S + 1, d), ERR_INVALID);

    s[1].snapshot_id = SPAN_LIT("snap-1");
    CHECK_INT(retention_plan(s, 2, &ok, now, d), ERR_INVALID);
    s_check_all_kept(d, 2);
    s[1].snapshot_id = SPAN_LIT("");
    CHECK_INT(retention_plan(s, 2, &ok, now, d), ERR_INVALID);
    s[1].snapshot_id = SPAN_LIT("snap-2");
    s[1].start_time_s = -1;
    CHECK_INT(retention_plan(s, 2, &ok, now, d), ERR_INVALID);
    s_check_all_kept(d, 2);
    s[1].start_time_s = SNAP_TIME_MAX_S + 1;
    CHECK_INT(retention_plan(s, 2, &ok, now, d), ERR_INVALID);

    /* Both ends of the accepted ranges work. */
    s[0].start_time_s = 0;
    s[1].start_time_s = SNAP_TIME_MAX_S;
    struct retention_policy edge = {
        RETENTION_MAX_DAYS, RETENTION_MAX_MIN_KEEP, RETENTION_MAX_GFS, RETENTION_MAX_GFS, RETENTION_MAX_GFS
    };
    CHECK_OK(retention_plan(s, 2, &edge, SNAP_TIME_MAX_S, d));
    CHECK_OK(retention_plan(s, 2, &ok, 0, d));
    CHECK_INT(d[0].reason, RETENTION_KEPT_WITHIN);
    CHECK_INT(d[1].reason, RETENTION_KEPT_FUTURE);
    CHECK_OK(retention_plan(NULL, 0, &ok, now, NULL));
}

/* One past the named maximum: rejected, and still nothing is deleted. */
TEST(retention_rejects_more_than_max_snapshots) {
    struct snap *s = calloc(SNAP_MAX_COUNT + 1, sizeof(*s));
    struct retention_decision *d = calloc(SNAP_MAX_COUNT + 1, sizeof(*d));
    REQUIRE(s != NULL && d != NULL);
    for (size_t i = 0; i < SNAP_MAX_COUNT + 1; i++) {
        d[i].action = RETENTION_DELETE; /* garbage the planner must overwrite */
    }
    struct retention_policy p = { 7, 0, 0, 0, 0 };
    CHECK_INT(retention_plan(s, SNAP_MAX_COUNT + 1, &p, 1800000000, d), ERR_LIMIT);
    size_t deletes = 0;
    for (size_t i = 0; i < SNAP_MAX_COUNT + 1; i++) {
        deletes += d[i].action != RETENTION_KEEP;
    }
    CHECK_INT(deletes, 0);
    free(s);
    free(d);
}

TEST(retention_parse_days_table) {
    static const struct {
        const char *in;
        enum err want;
        uint32_t days;
    } cases[] = {
        { "7", ERR_OK, 7 },         { " 14 ", ERR_OK, 14 },    { "1", ERR_OK, 1 },
        { "36500", ERR_OK, 36500 }, { "36501", ERR_LIMIT, 0 }, { "0", ERR_LIMIT, 0 },
        { "", ERR_PARSE, 0 },       { "7d", ERR_PARSE, 0 },    { "-1", ERR_PARSE, 0 },
        { "1.5", ERR_PARSE, 0 },    { "seven", ERR_PARSE, 0 }, { "99999999999999999999999", ERR_PARSE, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t d = 0;
        enum err e = retention_parse_days(span_from_cstr(cases[i].in), &d);
        if (!CHECK_INT(e, cases[i].want)) {
            harness_note("input \"%s\"", cases[i].in);
        }
        if (e == ERR_OK) {
            CHECK_INT(d, cases[i].days);
        }
    }
}

TEST(retention_states_and_names) {
    CHECK_INT(snap_state_parse(SPAN_LIT("pending")), SNAP_PENDING);
    CHECK_INT(snap_state_parse(SPAN_LIT("completed")), SNAP_COMPLETED);
    CHECK_INT(snap_state_parse(SPAN_LIT("error")), SNAP_ERROR);
    CHECK_INT(snap_state_parse(SPAN_LIT("recoverable")), SNAP_RECOVERABLE);
    CHECK_INT(snap_state_parse(SPAN_LIT("recovering")), SNAP_RECOVERING);
    CHECK_INT(snap_state_parse(SPAN_LIT("Completed")), SNAP_UNKNOWN);
    CHECK_INT(snap_state_parse(SPAN_LIT("")), SNAP_UNKNOWN);
    CHECK_STR(snap_state_name(SNAP_RECOVERABLE), "recoverable");
    for (int r = 0; r < RETENTION__REASONS; r++) {
        CHECK(strcmp(retention_reason_name((enum retention_reason) r), "unknown") != 0);
        for (int q = 0; q < r; q++) {
            CHECK(
              strcmp(
                retention_reason_name((enum retention_reason) r), retention_reason_name((enum retention_reason) q)) !=
              0);
        }
    }
    struct snap s = { .retention_days_override = 0 };
    CHECK_INT(retention_effective_days(&s, 7), 7);
    s.retention_days_override = 30;
    CHECK_INT(retention_effective_days(&s, 7), 30);
    s.retention_days_override = RETENTION_MAX_DAYS + 1;
    CHECK_INT(retention_effective_days(&s, 7), 7);
}

/* A large plan stays O(n log n): 100,000 snapshots (the default EBS quota) over 1,000 volumes. */
TEST(retention_large_plan) {
    enum { N = 100000, VOLS = 1000 };
    struct snap *s = calloc(N, sizeof(*s));
    struct retention_decision *d = calloc(N, sizeof(*d));
    char(*ids)[40] = calloc(N, sizeof(*ids));
    char(*vols)[24] = calloc(VOLS, sizeof(*vols));
    REQUIRE(s && d && ids && vols);
    const int64_t now = 1800000000;
    for (size_t v = 0; v < VOLS; v++) {
        snprintf(vols[v], sizeof(vols[v]), "vol-%05zu", v);
    }
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "snap-%07zu", (i * 7919) % N);
        s[i] = (struct snap){ .snapshot_id = span_from_cstr(ids[i]),
                              .volume_id = span_from_cstr(vols[i % VOLS]),
                              .state = SNAP_COMPLETED,
                              .has_marker = true,
                              .start_time_s = now - (int64_t) (i / VOLS) * DAY };
    }
    struct retention_policy p = { 7, 2, 0, 0, 0 };
    REQUIRE_OK(retention_plan(s, N, &p, now, d));
    struct retention_counts c = retention_count(d, N);
    /* Per volume: 100 snapshots one day apart, ages 0..99 days: 8 within (0..7), the rest expired. */
    CHECK_INT(c.by_reason[RETENTION_KEPT_WITHIN], 8 * VOLS);
    CHECK_INT(c.to_delete, (size_t) 92 * VOLS);
    free(s);
    free(d);
    free(ids);
    free(vols);
}

/* ---- property test ----------------------------------------------------------------------------------- */

#define PROP_ITERATIONS 10000
#define PROP_MAX_SNAPS 40

struct prop_history {
    size_t n;
    struct snap s[PROP_MAX_SNAPS];
    char ids[PROP_MAX_SNAPS][24];
    struct retention_policy pol;
    int64_t now;
};

static const char *const s_prop_vols[] = { "vol-a", "vol-b", "vol-c", "vol-d", "", "vol-ffffffff" };

static void s_prop_generate(uint64_t *rng, struct prop_history *h) {
    memset(h, 0, sizeof(*h));
    h->now = harness_rng_range(rng, 1600000000, 1900000000);
    h->pol.retention_days = (uint32_t) harness_rng_range(rng, 1, 30);
    h->pol.min_keep = (uint32_t) harness_rng_range(rng, 0, 4);
    bool gfs = harness_rng_range(rng, 0, 2) > 0;
    h->pol.keep_daily = gfs ? (uint32_t) harness_rng_range(rng, 0, 10) : 0;
    h->pol.keep_weekly = gfs ? (uint32_t) harness_rng_range(rng, 0, 6) : 0;
    h->pol.keep_monthly = gfs ? (uint32_t) harness_rng_range(rng, 0, 14) : 0;
    h->n = (size_t) harness_rng_range(rng, 0, PROP_MAX_SNAPS);
    /* Volumes mostly known, sometimes unknown; the span (days back) sometimes short, sometimes over a year. */
    int64_t span_days = harness_rng_range(rng, 0, 1) ? 40 : 500;
    for (size_t i = 0; i < h->n; i++) {
        struct snap *s = &h->s[i];
        snprintf(
          h->ids[i],
          sizeof(h->ids[i]),
          "snap-%04x%02u",
          (unsigned) harness_rng_range(rng, 0, 0xffff),
          (unsigned) i % 100u);
        s->snapshot_id = span_from_cstr(h->ids[i]);
        int64_t v = harness_rng_range(rng, 0, 19);
        s->volume_id = span_from_cstr(s_prop_vols[v < 18 ? v % 4 : v - 14]);
        s->instance_id = SPAN_LIT("i-1");
        int64_t st = harness_rng_range(rng, 0, 99);
        s->state = st < 70   ? SNAP_COMPLETED
                   : st < 82 ? SNAP_PENDING
                   : st < 94 ? SNAP_ERROR
                   : st < 96 ? SNAP_RECOVERABLE
                   : st < 98 ? SNAP_RECOVERING
                             : SNAP_UNKNOWN;
        s->has_marker = harness_rng_range(rng, 0, 99) < 88;
        s->hold = harness_rng_range(rng, 0, 99) < 7;
        s->is_copy = harness_rng_range(rng, 0, 99) < 20;
        int64_t o = harness_rng_range(rng, 0, 9);
        s->retention_days_override = o < 6   ? 0
                                     : o < 9 ? (uint32_t) harness_rng_range(rng, 1, 60)
                                             : RETENTION_MAX_DAYS + 7;
        int64_t shape = harness_rng_range(rng, 0, 9);
        if (shape == 0 && i > 0) {
            s->start_time_s = h->s[harness_rng_range(rng, 0, (int64_t) i - 1)].start_time_s; /* a tie */
        } else if (shape == 1) {
            s->start_time_s = h->now + harness_rng_range(rng, 1, 3 * DAY); /* clock skew */
        } else if (shape == 2) {
            /* exactly at a retention boundary, or one second either side */
            s->start_time_s = h->now - (int64_t) retention_effective_days(s, h->pol.retention_days) * DAY +
                              harness_rng_range(rng, -1, 1);
        } else if (shape == 3) {
            s->start_time_s = h->now - harness_rng_range(rng, 0, span_days) * DAY; /* midnight-aligned offsets */
            s->start_time_s -= s->start_time_s % DAY;
        } else {
            s->start_time_s = h->now - harness_rng_range(rng, 0, span_days * DAY);
        }
        if (s->start_time_s < 0) {
            s->start_time_s = 0;
        }
    }
}

static bool s_known_vol(struct span v) {
    return v.n > 0 && !span_eq_cstr(v, "vol-ffffffff");
}

static bool s_same_group(const struct snap *a, const struct snap *b) {
    return a->is_copy == b->is_copy && span_eq(a->volume_id, b->volume_id);
}

static bool s_oracle_rankable(const struct snap *s) {
    return s->has_marker && s->state == SNAP_COMPLETED && s_known_vol(s->volume_id);
}

/* a is newer than b (S6 order). */
static bool s_newer(const struct snap *a, const struct snap *b) {
    return a->start_time_s > b->start_time_s ||
           (a->start_time_s == b->start_time_s && span_cmp(a->snapshot_id, b->snapshot_id) < 0);
}

/* Calendar periods from civil dates, independent of the planner's day arithmetic. */
struct prop_periods {
    int64_t days;   /* days since epoch of the date */
    int64_t monday; /* days since epoch of that ISO week's Monday */
    int64_t month;  /* year * 12 + month - 1 */
};

static struct prop_periods s_periods(int64_t t) {
    struct civil c = time_civil_from_unix(t);
    int64_t days = time_days_from_civil(c.year, c.month, c.day);
    /* Zeller-free weekday: 2001-01-01 was a Monday. ISO weekday 0..6 = Monday..Sunday. */
    int64_t wd = (days - time_days_from_civil(2001, 1, 1)) % 7;
    if (wd < 0) {
        wd += 7;
    }
    return (struct prop_periods){ days, days - wd, (int64_t) c.year * 12 + c.month - 1 };
}

/* Is s the newest rankable snapshot of its group in its period (kind 0 day, 1 week, 2 month) within the window? */
static bool s_oracle_gfs(const struct prop_history *h, size_t i, int kind, uint32_t count) {
    const struct snap *s = &h->s[i];
    if (count == 0 || !s_oracle_rankable(s)) {
        return false;
    }
    struct prop_periods ps = s_periods(s->start_time_s), pn = s_periods(h->now);
    int64_t back;
    if (kind == 0) {
        back = pn.days - ps.days;
    } else if (kind == 1) {
        back = (pn.monday - ps.monday) / 7;
    } else {
        back = pn.month - ps.month;
    }
    if (back < 0 || back >= (int64_t) count) {
        return false;
    }
    for (size_t j = 0; j < h->n; j++) {
        const struct snap *o = &h->s[j];
        if (j == i || !s_oracle_rankable(o) || !s_same_group(o, s) || !s_newer(o, s)) {
            continue;
        }
        struct prop_periods po = s_periods(o->start_time_s);
        bool same = kind == 0 ? po.days == ps.days : kind == 1 ? po.monday == ps.monday : po.month == ps.month;
        if (same) {
            return false;
        }
    }
    return true;
}

/*
 * Exactness: the planner deletes a snapshot if and only if no rule keeps it. The safety checks below catch
 * deleting too much; this catches keeping too much (a GFS window one period too wide, a rank off by one...),
 * which silently costs money and breaks the operator's expectations.
 */
static bool s_oracle_keeps(const struct prop_history *h, size_t i) {
    const struct snap *s = &h->s[i];
    uint32_t days = s->retention_days_override >= 1 && s->retention_days_override <= RETENTION_MAX_DAYS
                      ? s->retention_days_override
                      : h->pol.retention_days;
    int64_t age = h->now - s->start_time_s;
    if (
      !s->has_marker || s->hold || (s->state != SNAP_COMPLETED && s->state != SNAP_ERROR) || age < 0 ||
      !s_known_vol(s->volume_id) || age <= (int64_t) days * DAY) {
        return true;
    }
    if (!s_oracle_rankable(s)) {
        return false;
    }
    uint32_t newer = 0;
    for (size_t j = 0; j < h->n; j++) {
        newer += j != i && s_oracle_rankable(&h->s[j]) && s_same_group(&h->s[j], s) && s_newer(&h->s[j], s);
    }
    return newer < h->pol.min_keep || s_oracle_gfs(h, i, 0, h->pol.keep_daily) ||
           s_oracle_gfs(h, i, 1, h->pol.keep_weekly) || s_oracle_gfs(h, i, 2, h->pol.keep_monthly);
}

/* Every rule of the contract, for one plan. Returns false (and notes why) at the first violation. */
static bool s_prop_check(const struct prop_history *h, const struct retention_decision *d) {
    for (size_t i = 0; i < h->n; i++) {
        const struct snap *s = &h->s[i];
        const char *id = h->ids[i];
        if (d[i].index != i) {
            harness_note("index %zu", i);
            return false;
        }
        bool del = d[i].action == RETENTION_DELETE;
        if (del != (d[i].reason == RETENTION_DELETE_EXPIRED || d[i].reason == RETENTION_DELETE_ERROR)) {
            harness_note("S-: %s action/reason disagree", id);
            return false;
        }
        if (!del && !s_oracle_keeps(h, i)) {
            harness_note("exactness: %s kept but no rule keeps it (%s)", id, d[i].why);
            return false;
        }
        if (!del) {
            continue;
        }
        int64_t age = h->now - s->start_time_s;
        uint32_t days = s->retention_days_override >= 1 && s->retention_days_override <= RETENTION_MAX_DAYS
                          ? s->retention_days_override
                          : h->pol.retention_days;
        if (!s->has_marker) {
            harness_note("S1: deleted %s without marker", id);
            return false;
        }
        if (s->state != SNAP_COMPLETED && s->state != SNAP_ERROR) {
            harness_note("S2: deleted %s in state %s", id, snap_state_name(s->state));
            return false;
        }
        if (s->hold) {
            harness_note("S3: deleted held %s", id);
            return false;
        }
        if (age <= (int64_t) days * DAY) {
            harness_note("S4: deleted %s at age %" PRId64 " <= %" PRIu32 " days", id, age, days);
            return false;
        }
        if (age < 0) {
            harness_note("S5: deleted future %s", id);
            return false;
        }
        if (!s_known_vol(s->volume_id)) {
            harness_note("S8: deleted %s of unknown volume", id);
            return false;
        }
        if (s_oracle_rankable(s)) {
            uint32_t newer = 0;
            for (size_t j = 0; j < h->n; j++) {
                newer += j != i && s_oracle_rankable(&h->s[j]) && s_same_group(&h->s[j], s) && s_newer(&h->s[j], s);
            }
            if (newer < h->pol.min_keep) {
                harness_note("S6: deleted %s, only %" PRIu32 " newer, min_keep %" PRIu32, id, newer, h->pol.min_keep);
                return false;
            }
            if (
              s_oracle_gfs(h, i, 0, h->pol.keep_daily) || s_oracle_gfs(h, i, 1, h->pol.keep_weekly) ||
              s_oracle_gfs(h, i, 2, h->pol.keep_monthly)) {
                harness_note("S7: deleted %s, the newest of a GFS period", id);
                return false;
            }
        }
    }
    struct retention_counts c = retention_count(d, h->n);
    size_t del = 0;
    for (size_t i = 0; i < h->n; i++) {
        del += d[i].action == RETENTION_DELETE;
    }
    if (c.to_delete != del || c.kept + c.to_delete != h->n) {
        harness_note("counts disagree with decisions");
        return false;
    }
    return true;
}

TEST(retention_property_random_histories) {
    uint64_t seed = harness_seed();
    uint64_t rng = seed;
    static struct prop_history h, survivors, shuffled;
    struct retention_decision d[PROP_MAX_SNAPS], d2[PROP_MAX_SNAPS];
    size_t reasons_seen[RETENTION__REASONS] = { 0 };
    size_t snapshots = 0;
    for (int it = 0; it < PROP_ITERATIONS; it++) {
        s_prop_generate(&rng, &h);
        snapshots += h.n;
        if (!CHECK_OK(retention_plan(h.s, h.n, &h.pol, h.now, d)) || !CHECK(s_prop_check(&h, d))) {
            harness_note("seed %" PRIu64 " iteration %d", seed, it);
            return;
        }
        for (size_t i = 0; i < h.n; i++) {
            reasons_seen[d[i].reason]++;
        }

        /* S10: plan again over the survivors - nothing more is deleted. */
        survivors = h;
        survivors.n = 0;
        for (size_t i = 0; i < h.n; i++) {
            if (d[i].action == RETENTION_KEEP) {
                memcpy(survivors.ids[survivors.n], h.ids[i], sizeof(h.ids[i]));
                survivors.s[survivors.n] = h.s[i];
                survivors.s[survivors.n].snapshot_id = span_from_cstr(survivors.ids[survivors.n]);
                survivors.n++;
            }
        }
        if (!CHECK_OK(retention_plan(survivors.s, survivors.n, &h.pol, h.now, d2))) {
            return;
        }
        for (size_t i = 0; i < survivors.n; i++) {
            if (!CHECK_INT(d2[i].action, RETENTION_KEEP)) {
                harness_note(
                  "S10: seed %" PRIu64 " iteration %d: %s deleted on re-plan: %s",
                  seed,
                  it,
                  survivors.ids[i],
                  d2[i].why);
                return;
            }
        }

        /* S9: a random permutation decides the same for every snapshot. */
        size_t perm[PROP_MAX_SNAPS];
        for (size_t i = 0; i < h.n; i++) {
            perm[i] = i;
        }
        for (size_t i = h.n; i > 1; i--) {
            size_t j = (size_t) harness_rng_range(&rng, 0, (int64_t) i - 1);
            size_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        shuffled = h;
        for (size_t i = 0; i < h.n; i++) {
            memcpy(shuffled.ids[i], h.ids[perm[i]], sizeof(h.ids[i]));
            shuffled.s[i] = h.s[perm[i]];
            shuffled.s[i].snapshot_id = span_from_cstr(shuffled.ids[i]);
        }
        if (!CHECK_OK(retention_plan(shuffled.s, shuffled.n, &h.pol, h.now, d2))) {
            return;
        }
        for (size_t i = 0; i < h.n; i++) {
            const struct retention_decision *a = &d[perm[i]];
            if (!CHECK(a->action == d2[i].action && a->reason == d2[i].reason && strcmp(a->why, d2[i].why) == 0)) {
                harness_note(
                  "S9: seed %" PRIu64 " iteration %d: %s: \"%s\" vs \"%s\"",
                  seed,
                  it,
                  h.ids[perm[i]],
                  a->why,
                  d2[i].why);
                return;
            }
        }
    }
    /* The generator must exercise every rule, or the property proves little. */
    for (int r = 0; r < RETENTION__REASONS; r++) {
        if (r == RETENTION_KEPT_INVALID_INPUT) {
            continue;
        }
        if (!CHECK(reasons_seen[r] > 0)) {
            harness_note("reason %s never produced", retention_reason_name((enum retention_reason) r));
        }
    }
    CHECK(snapshots > (size_t) PROP_ITERATIONS * 10);
}
