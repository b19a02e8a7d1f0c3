/*
 * test_plan.c - the due-instance and copy planners: tables of named cases (boundaries, states, existing copies
 * in every state, the copy limit counting pending copies, the order copies are started in), then property
 * tests over random fleets checking the rules of plan.h after every plan.
 */
#include "harness.h"

#include "backup/plan.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define DAY ((int64_t) 86400)
#define HOUR ((int64_t) 3600)
#define PT_NOW "2026-11-20T12:00:00Z"
#define PT_MAX 10
#define PT_MAX_DST 12

/* Test-local state codes: zero is `completed`. */
enum pt_st { C = 0, P, E, RB, U };

#define NOMARK 1u
#define COPY 2u

static enum snap_state s_state(enum pt_st st) {
    switch (st) {
        case C:
            return SNAP_COMPLETED;
        case P:
            return SNAP_PENDING;
        case E:
            return SNAP_ERROR;
        case RB:
            return SNAP_RECOVERABLE;
        case U:
            break;
    }
    return SNAP_UNKNOWN;
}

static int64_t s_now(void) {
    int64_t t = 0;
    if (time_parse_rfc3339(SPAN_LIT(PT_NOW), &t) != ERR_OK) {
        harness_note("bad PT_NOW");
    }
    return t;
}

/* ---- due instances: table ---------------------------------------------------------------------------- */

struct due_snap {
    const char *inst; /* NULL ends the list */
    enum pt_st st;
    int64_t ago;
    unsigned flags;
};

struct due_want {
    bool due;
    enum plan_due_reason reason;
    const char *why; /* exact, or NULL */
};

struct due_case {
    const char *name;
    int64_t interval_s;
    const char *inst[PT_MAX]; /* NULL ends the list */
    struct due_snap s[PT_MAX];
    struct due_want want[PT_MAX];
};

#define DUE(r)                                                                                                         \
    { true, (r), NULL }
#define NOT(r)                                                                                                         \
    { false, (r), NULL }

static const struct due_case s_due_cases[] = {
    { "due_empty_fleet", DAY, { NULL }, { { 0 } }, { { 0 } } },
    { "due_no_snapshot_yet",
      DAY,
      { "i-1" },
      { { 0 } },
      { { true, PLAN_DUE_FIRST, "due: no SmartVault snapshot yet" } } },
    { "due_recent_completed_blocks",
      DAY,
      { "i-1" },
      { { "i-1", C, 2 * HOUR, 0 } },
      { { false, PLAN_NOT_DUE_RECENT, "not due: last snapshot 7200 s ago < interval 86400 s" } } },
    { "due_recent_pending_blocks", DAY, { "i-1" }, { { "i-1", P, 60, 0 } }, { NOT(PLAN_NOT_DUE_RECENT) } },
    { "due_recent_error_does_not_block", DAY, { "i-1" }, { { "i-1", E, 60, 0 } }, { DUE(PLAN_DUE_FIRST) } },
    { "due_recycle_bin_and_unknown_states_do_not_block",
      DAY,
      { "i-1" },
      { { "i-1", RB, 60, 0 }, { "i-1", U, 60, 0 } },
      { DUE(PLAN_DUE_FIRST) } },
    { "due_old_snapshot",
      DAY,
      { "i-1" },
      { { "i-1", C, 3 * DAY, 0 } },
      { { true, PLAN_DUE_INTERVAL, "due: last snapshot 259200 s ago >= interval 86400 s" } } },
    { "due_exactly_at_interval", DAY, { "i-1" }, { { "i-1", C, DAY, 0 } }, { DUE(PLAN_DUE_INTERVAL) } },
    { "due_one_second_before_interval", DAY, { "i-1" }, { { "i-1", C, DAY - 1, 0 } }, { NOT(PLAN_NOT_DUE_RECENT) } },
    { "due_future_dated_snapshot_blocks",
      DAY,
      { "i-1" },
      { { "i-1", C, -30, 0 }, { "i-1", C, 5 * DAY, 0 } },
      { { false, PLAN_NOT_DUE_FUTURE, "not due: last snapshot starts 30 s in the future" } } },
    { "due_snapshot_without_marker_ignored", DAY, { "i-1" }, { { "i-1", C, 60, NOMARK } }, { DUE(PLAN_DUE_FIRST) } },
    { "due_copy_ignored", DAY, { "i-1" }, { { "i-1", C, 60, COPY } }, { DUE(PLAN_DUE_FIRST) } },
    { "due_other_instance_snapshot_ignored",
      DAY,
      { "i-1", "i-2" },
      { { "i-2", C, 60, 0 }, { "i-3", C, 60, 0 } },
      { DUE(PLAN_DUE_FIRST), NOT(PLAN_NOT_DUE_RECENT) } },
    { "due_newest_snapshot_decides",
      DAY,
      { "i-1" },
      { { "i-1", C, 9 * DAY, 0 }, { "i-1", C, HOUR, 0 }, { "i-1", C, 3 * DAY, 0 } },
      { NOT(PLAN_NOT_DUE_RECENT) } },
    { "due_instance_listed_twice_planned_once",
      DAY,
      { "i-1", "i-2", "i-1" },
      { { 0 } },
      { DUE(PLAN_DUE_FIRST),
        DUE(PLAN_DUE_FIRST),
        { false, PLAN_NOT_DUE_DUPLICATE, "not due: instance listed twice" } } },
    { "due_interval_zero_always_due_unless_future",
      0,
      { "i-1", "i-2" },
      { { "i-1", C, 0, 0 }, { "i-2", P, -1, 0 } },
      { DUE(PLAN_DUE_INTERVAL), NOT(PLAN_NOT_DUE_FUTURE) } },
    { "due_mixed_fleet",
      23 * HOUR,
      { "i-a", "i-b", "i-c", "i-d" },
      { { "i-a", C, 23 * HOUR, 0 }, { "i-b", C, 22 * HOUR, 0 }, { "i-c", E, HOUR, 0 }, { "i-c", C, 2 * DAY, 0 } },
      { DUE(PLAN_DUE_INTERVAL), NOT(PLAN_NOT_DUE_RECENT), DUE(PLAN_DUE_INTERVAL), DUE(PLAN_DUE_FIRST) } },
};

static void s_run_due_case(const struct due_case *c, int64_t now) {
    struct span ids[PT_MAX];
    struct snap snaps[PT_MAX];
    struct plan_due out[PT_MAX];
    size_t ni = 0, ns = 0;
    for (; ni < PT_MAX && c->inst[ni] != NULL; ni++) {
        ids[ni] = span_from_cstr(c->inst[ni]);
    }
    for (; ns < PT_MAX && c->s[ns].inst != NULL; ns++) {
        snaps[ns] = (struct snap){ .snapshot_id = SPAN_LIT("snap-x"),
                                   .volume_id = SPAN_LIT("vol-1"),
                                   .instance_id = span_from_cstr(c->s[ns].inst),
                                   .state = s_state(c->s[ns].st),
                                   .start_time_s = now - c->s[ns].ago,
                                   .has_marker = !(c->s[ns].flags & NOMARK),
                                   .is_copy = (c->s[ns].flags & COPY) != 0 };
    }
    if (!CHECK_OK(
          plan_due_instances(ni ? ids : NULL, ni, ns ? snaps : NULL, ns, c->interval_s, now, ni ? out : NULL))) {
        harness_note("case %s", c->name);
        return;
    }
    for (size_t i = 0; i < ni; i++) {
        bool ok = CHECK_INT(out[i].index, i);
        ok = CHECK_INT(out[i].due, c->want[i].due) && ok;
        ok = CHECK_STR(plan_due_reason_name(out[i].reason), plan_due_reason_name(c->want[i].reason)) && ok;
        if (c->want[i].why != NULL) {
            ok = CHECK_STR(out[i].why, c->want[i].why) && ok;
        }
        if (!ok) {
            harness_note("case %s: instance %zu %s (why: %s)", c->name, i, c->inst[i], out[i].why);
        }
    }
}

/* The decision's sentence (plan_copy_why), in a buffer of its own per call site use. */
static const char *
s_copy_why(const struct plan_copy_decision *d, const struct snap *src, const struct plan_copy_policy *p) {
    static char buf[PLAN_WHY_MAX];
    return plan_copy_why(d, src, p, buf, sizeof(buf));
}

TEST(plan_due_table) {
    int64_t now = s_now();
    for (size_t i = 0; i < sizeof(s_due_cases) / sizeof(s_due_cases[0]); i++) {
        s_run_due_case(&s_due_cases[i], now);
    }
}

TEST(plan_due_rejects_bad_input) {
    int64_t now = s_now();
    struct span ids[2] = { SPAN_LIT("i-1"), SPAN_LIT("") };
    struct plan_due out[2];
    CHECK_INT(plan_due_instances(ids, 2, NULL, 0, DAY, now, out), ERR_INVALID);
    CHECK_INT(out[0].due, false);
    CHECK_INT(out[0].reason, PLAN_NOT_DUE_INVALID_INPUT);
    ids[1] = SPAN_LIT("i-2");
    CHECK_INT(plan_due_instances(ids, 2, NULL, 0, -1, now, out), ERR_INVALID);
    CHECK_INT(plan_due_instances(ids, 2, NULL, 0, PLAN_MAX_INTERVAL_S + 1, now, out), ERR_INVALID);
    CHECK_OK(plan_due_instances(ids, 2, NULL, 0, PLAN_MAX_INTERVAL_S, now, out));
    CHECK_INT(plan_due_instances(ids, 2, NULL, 0, DAY, -1, out), ERR_INVALID);
    CHECK_INT(plan_due_instances(ids, 2, NULL, 1, DAY, now, out), ERR_INVALID);
    CHECK_INT(plan_due_instances(ids, 2, NULL, 0, DAY, now, NULL), ERR_INVALID);
    struct snap bad = { .snapshot_id = SPAN_LIT("s"), .start_time_s = SNAP_TIME_MAX_S + 1 };
    CHECK_INT(plan_due_instances(ids, 2, &bad, 1, DAY, now, out), ERR_INVALID);
    CHECK_INT(out[1].due, false);
    CHECK_INT(plan_due_instances(ids, PLAN_MAX_INSTANCES + 1, NULL, 0, DAY, now, NULL), ERR_INVALID);
}

/* One past the named maximum. */
TEST(plan_due_rejects_more_than_max_instances) {
    struct span *ids = calloc(PLAN_MAX_INSTANCES + 1, sizeof(*ids));
    struct plan_due *out = calloc(PLAN_MAX_INSTANCES + 1, sizeof(*out));
    REQUIRE(ids != NULL && out != NULL);
    for (size_t i = 0; i < PLAN_MAX_INSTANCES + 1; i++) {
        ids[i] = SPAN_LIT("i-1");
        out[i].due = true;
    }
    CHECK_INT(plan_due_instances(ids, PLAN_MAX_INSTANCES + 1, NULL, 0, DAY, s_now(), out), ERR_LIMIT);
    size_t due = 0;
    for (size_t i = 0; i < PLAN_MAX_INSTANCES + 1; i++) {
        due += out[i].due;
    }
    CHECK_INT(due, 0);
    free(ids);
    free(out);
}

/* ---- copies: table ----------------------------------------------------------------------------------- */

struct cp_src {
    const char *id; /* NULL ends the list */
    const char *vol;
    enum pt_st st;
    int64_t ago;
    unsigned flags;
    uint32_t override;
};

struct cp_dst {
    const char *source; /* SourceSnapshotId; "" for a snapshot that is not a copy; NULL ends the list */
    enum pt_st st;
};

struct cp_want {
    const char *id;
    enum plan_copy_action action;
    enum plan_copy_reason reason;
    const char *why; /* exact, or NULL */
};

struct cp_case {
    const char *name;
    struct plan_copy_policy pol;
    size_t extra_pending; /* synthetic pending snapshots in dst, on top of `dst` */
    struct cp_src src[PT_MAX];
    struct cp_dst dst[PT_MAX_DST];
    struct cp_want want[PT_MAX]; /* in plan order */
};

#define START PLAN_COPY_START
#define DEFER PLAN_COPY_DEFER
#define SKIP PLAN_COPY_SKIP

static const struct cp_case s_cp_cases[] = {
    { "copy_empty", { 7, 20 }, 0, { { 0 } }, { { 0 } }, { { 0 } } },
    { "copy_completed_inside_retention",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 } },
      { { 0 } },
      { { "s1", START, PLAN_COPY_START_LATEST, "copy: newest completed snapshot of vol-1" } } },
    { "copy_pending_source_deferred",
      { 7, 20 },
      0,
      { { "s1", "vol-1", P, 60, 0, 0 } },
      { { 0 } },
      { { "s1", DEFER, PLAN_COPY_DEFER_PENDING, "deferred: source pending, a later cycle copies it" } } },
    { "copy_pending_newest_older_completed_is_latest",
      { 7, 20 },
      0,
      { { "new", "vol-1", P, 60, 0, 0 }, { "old", "vol-1", C, DAY, 0, 0 } },
      { { 0 } },
      { { "old", START, PLAN_COPY_START_LATEST, NULL }, { "new", DEFER, PLAN_COPY_DEFER_PENDING, NULL } } },
    { "copy_error_and_other_states_skipped",
      { 7, 20 },
      0,
      { { "e", "vol-1", E, 60, 0, 0 }, { "r", "vol-1", RB, 60, 0, 0 }, { "u", "vol-1", U, 60, 0, 0 } },
      { { 0 } },
      { { "e", SKIP, PLAN_COPY_SKIP_STATE, "skipped: source state error" },
        { "r", SKIP, PLAN_COPY_SKIP_STATE, "skipped: source state recoverable" },
        { "u", SKIP, PLAN_COPY_SKIP_STATE, "skipped: source state unknown" } } },
    { "copy_outside_retention_not_copied",
      { 7, 20 },
      0,
      { { "at", "vol-1", C, 7 * DAY, 0, 0 }, { "before", "vol-2", C, 7 * DAY - 1, 0, 0 } },
      { { 0 } },
      { { "before", START, PLAN_COPY_START_LATEST, NULL },
        { "at", SKIP, PLAN_COPY_SKIP_EXPIRED, "skipped: outside retention (604800 s old >= 7 days)" } } },
    { "copy_existing_completed_copy",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 } },
      { { "s1", C } },
      { { "s1", SKIP, PLAN_COPY_SKIP_EXISTS, "skipped: copy exists in the destination" } } },
    { "copy_existing_pending_copy",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 } },
      { { "s1", P } },
      { { "s1", SKIP, PLAN_COPY_SKIP_EXISTS, NULL } } },
    { "copy_existing_error_copy_reported",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 } },
      { { "s1", E } },
      { { "s1",
          SKIP,
          PLAN_COPY_SKIP_EXISTS_ERROR,
          "skipped: copy failed (error state) - delete the failed copy to let SmartVault retry" } } },
    { "copy_error_and_completed_copies_is_exists",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 } },
      { { "s1", E }, { "s1", C } },
      { { "s1", SKIP, PLAN_COPY_SKIP_EXISTS, NULL } } },
    { "copy_not_ours_skipped",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, NOMARK, 0 } },
      { { 0 } },
      { { "s1", SKIP, PLAN_COPY_SKIP_NOT_OURS, "skipped: not created by SmartVault" } } },
    { "copy_of_a_copy_skipped",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, COPY, 0 } },
      { { 0 } },
      { { "s1", SKIP, PLAN_COPY_SKIP_IS_COPY, NULL } } },
    { "copy_duplicate_source_planned_once",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, DAY, 0, 0 }, { "s1", "vol-1", C, DAY, 0, 0 } },
      { { 0 } },
      { { "s1", START, PLAN_COPY_START_LATEST, NULL },
        { "s1", SKIP, PLAN_COPY_SKIP_DUPLICATE, "skipped: listed twice" } } },
    { "copy_limit_counts_pending_copies",
      { 7, 3 },
      0,
      { { "a", "vol-a", C, HOUR, 0, 0 }, { "b", "vol-b", C, 2 * HOUR, 0, 0 }, { "c", "vol-c", C, 3 * HOUR, 0, 0 } },
      { { "x", P }, { "y", P } },
      { { "a", START, PLAN_COPY_START_LATEST, NULL },
        { "b", DEFER, PLAN_COPY_DEFER_LIMIT, "deferred: copy limit (3 in flight, limit 3)" },
        { "c", DEFER, PLAN_COPY_DEFER_LIMIT, NULL } } },
    { "copy_limit_counts_pending_non_copies",
      { 7, 2 },
      0,
      { { "a", "vol-a", C, HOUR, 0, 0 }, { "b", "vol-b", C, 2 * HOUR, 0, 0 } },
      { { "", P }, { "", C }, { "z", C } },
      { { "a", START, PLAN_COPY_START_LATEST, NULL }, { "b", DEFER, PLAN_COPY_DEFER_LIMIT, NULL } } },
    { "copy_limit_reached_all_deferred",
      { 7, 20 },
      20,
      { { "a", "vol-a", C, HOUR, 0, 0 } },
      { { 0 } },
      { { "a", DEFER, PLAN_COPY_DEFER_LIMIT, "deferred: copy limit (20 in flight, limit 20)" } } },
    { "copy_pending_above_limit_all_deferred",
      { 7, 20 },
      25,
      { { "a", "vol-a", C, HOUR, 0, 0 }, { "p", "vol-a", P, 60, 0, 0 } },
      { { 0 } },
      { { "a", DEFER, PLAN_COPY_DEFER_LIMIT, "deferred: copy limit (25 in flight, limit 20)" },
        { "p", DEFER, PLAN_COPY_DEFER_PENDING, NULL } } },
    { "copy_error_copies_do_not_count_in_flight",
      { 7, 1 },
      0,
      { { "a", "vol-a", C, HOUR, 0, 0 } },
      { { "x", E }, { "y", C } },
      { { "a", START, PLAN_COPY_START_LATEST, NULL } } },
    { "copy_order_latest_of_each_volume_first",
      { 7, 3 },
      0,
      { { "a-old", "vol-a", C, 3 * DAY, 0, 0 },
        { "a-new", "vol-a", C, 1 * DAY, 0, 0 },
        { "b-new", "vol-b", C, 2 * DAY, 0, 0 },
        { "a-mid", "vol-a", C, 2 * DAY - 1, 0, 0 } },
      { { 0 } },
      { { "a-new", START, PLAN_COPY_START_LATEST, NULL },
        { "b-new", START, PLAN_COPY_START_LATEST, NULL },
        { "a-mid", START, PLAN_COPY_START_BACKFILL, "copy: inside retention (172799 s old < 7 days)" },
        { "a-old", DEFER, PLAN_COPY_DEFER_LIMIT, NULL } } },
    { "copy_latest_already_copied_backfills_older",
      { 7, 20 },
      0,
      { { "new", "vol-1", C, HOUR, 0, 0 }, { "old", "vol-1", C, DAY, 0, 0 } },
      { { "new", C } },
      { { "old", START, PLAN_COPY_START_BACKFILL, NULL }, { "new", SKIP, PLAN_COPY_SKIP_EXISTS, NULL } } },
    { "copy_equal_times_ordered_by_id",
      { 7, 20 },
      0,
      { { "s-b", "vol-1", C, HOUR, 0, 0 }, { "s-c", "vol-1", C, HOUR, 0, 0 }, { "s-a", "vol-1", C, HOUR, 0, 0 } },
      { { 0 } },
      { { "s-a", START, PLAN_COPY_START_LATEST, NULL },
        { "s-b", START, PLAN_COPY_START_BACKFILL, NULL },
        { "s-c", START, PLAN_COPY_START_BACKFILL, NULL } } },
    { "copy_instance_override_longer_copies_older",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, 20 * DAY, 0, 30 } },
      { { 0 } },
      { { "s1", START, PLAN_COPY_START_LATEST, NULL } } },
    { "copy_instance_override_shorter_skips",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, 4 * DAY, 0, 3 } },
      { { 0 } },
      { { "s1", SKIP, PLAN_COPY_SKIP_EXPIRED, NULL } } },
    { "copy_future_dated_completed_source_copied",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, -HOUR, 0, 0 } },
      { { 0 } },
      { { "s1", START, PLAN_COPY_START_LATEST, NULL } } },
    { "copy_dst_copies_of_unknown_sources_ignored",
      { 7, 20 },
      0,
      { { "s1", "vol-1", C, HOUR, 0, 0 } },
      { { "s0", C }, { "s9", E } },
      { { "s1", START, PLAN_COPY_START_LATEST, NULL } } },
    { "copy_skips_sorted_by_id_after_defers",
      { 7, 20 },
      0,
      { { "z", "vol-1", C, DAY, NOMARK, 0 },
        { "m", "vol-1", P, 60, 0, 0 },
        { "a", "vol-1", E, 60, 0, 0 },
        { "k", "vol-2", C, DAY, 0, 0 } },
      { { 0 } },
      { { "k", START, PLAN_COPY_START_LATEST, NULL },
        { "m", DEFER, PLAN_COPY_DEFER_PENDING, NULL },
        { "a", SKIP, PLAN_COPY_SKIP_STATE, NULL },
        { "z", SKIP, PLAN_COPY_SKIP_NOT_OURS, NULL } } },
};

#define PT_MAX_EXTRA 32

static void s_run_cp_case(const struct cp_case *c, int64_t now) {
    struct snap src[PT_MAX];
    struct snap dst[PT_MAX_DST + PT_MAX_EXTRA];
    struct plan_copy_decision out[PT_MAX];
    struct plan_copy_counts counts;
    size_t ns = 0, nd = 0;
    for (; ns < PT_MAX && c->src[ns].id != NULL; ns++) {
        const struct cp_src *r = &c->src[ns];
        src[ns] = (struct snap){ .snapshot_id = span_from_cstr(r->id),
                                 .volume_id = span_from_cstr(r->vol),
                                 .instance_id = SPAN_LIT("i-1"),
                                 .state = s_state(r->st),
                                 .start_time_s = now - r->ago,
                                 .has_marker = !(r->flags & NOMARK),
                                 .is_copy = (r->flags & COPY) != 0,
                                 .retention_days_override = r->override };
    }
    for (; nd < PT_MAX_DST && c->dst[nd].source != NULL; nd++) {
        dst[nd] = (struct snap){ .snapshot_id = SPAN_LIT("snap-copy"),
                                 .volume_id = SPAN_LIT("vol-1"),
                                 .source_snapshot_id = span_from_cstr(c->dst[nd].source),
                                 .state = s_state(c->dst[nd].st),
                                 .start_time_s = now,
                                 .has_marker = true,
                                 .is_copy = c->dst[nd].source[0] != '\0' };
    }
    for (size_t k = 0; k < c->extra_pending && k < PT_MAX_EXTRA; k++) {
        dst[nd++] = (struct snap){ .snapshot_id = SPAN_LIT("snap-other"),
                                   .source_snapshot_id = SPAN_LIT("snap-elsewhere"),
                                   .state = SNAP_PENDING,
                                   .has_marker = true,
                                   .is_copy = true };
    }
    if (!CHECK_OK(plan_copies(ns ? src : NULL, ns, nd ? dst : NULL, nd, &c->pol, now, ns ? out : NULL, &counts))) {
        harness_note("case %s", c->name);
        return;
    }
    size_t start = 0, deferred = 0;
    for (size_t k = 0; k < ns; k++) {
        const struct cp_want *w = &c->want[k];
        bool ok = CHECK(w->id != NULL);
        if (!ok) {
            harness_note("case %s: more decisions than expected", c->name);
            return;
        }
        ok = CHECK_SPAN(src[out[k].index].snapshot_id, w->id) && ok;
        ok = CHECK_INT(out[k].action, w->action) && ok;
        ok = CHECK_STR(plan_copy_reason_name(out[k].reason), plan_copy_reason_name(w->reason)) && ok;
        if (w->why != NULL) {
            ok = CHECK_STR(s_copy_why(&out[k], src, &c->pol), w->why) && ok;
        }
        if (!ok) {
            harness_note("case %s: position %zu (why: %s)", c->name, k, s_copy_why(&out[k], src, &c->pol));
        }
        start += out[k].action == PLAN_COPY_START;
        deferred += out[k].action == PLAN_COPY_DEFER;
    }
    CHECK(ns == PT_MAX || c->want[ns].id == NULL);
    CHECK_INT(counts.start, start);
    CHECK_INT(counts.deferred, deferred);
    CHECK_INT(counts.skipped, ns - start - deferred);
}

TEST(plan_copy_table) {
    int64_t now = s_now();
    size_t ncases = sizeof(s_cp_cases) / sizeof(s_cp_cases[0]);
    size_t ndue = sizeof(s_due_cases) / sizeof(s_due_cases[0]);
    CHECK(ncases + ndue >= 25);
    for (size_t i = 0; i < ncases; i++) {
        s_run_cp_case(&s_cp_cases[i], now);
    }
}

TEST(plan_copy_rejects_bad_input) {
    int64_t now = s_now();
    struct snap src[1] = { { .snapshot_id = SPAN_LIT("s1"),
                             .volume_id = SPAN_LIT("vol-1"),
                             .state = SNAP_COMPLETED,
                             .has_marker = true,
                             .start_time_s = now } };
    struct plan_copy_decision out[1];
    struct plan_copy_counts counts;
    struct plan_copy_policy ok = { 7, 20 };
    struct plan_copy_policy bad = { 0, 20 };
    CHECK_INT(plan_copies(src, 1, NULL, 0, &bad, now, out, &counts), ERR_INVALID);
    CHECK_INT(out[0].action, PLAN_COPY_SKIP);
    CHECK_INT(out[0].reason, PLAN_COPY_SKIP_INVALID_INPUT);
    CHECK_INT(counts.start, 0);
    CHECK_INT(counts.skipped, 1);
    bad = (struct plan_copy_policy){ 7, 0 };
    CHECK_INT(plan_copies(src, 1, NULL, 0, &bad, now, out, &counts), ERR_INVALID);
    bad = (struct plan_copy_policy){ 7, PLAN_MAX_COPY_LIMIT + 1 };
    CHECK_INT(plan_copies(src, 1, NULL, 0, &bad, now, out, &counts), ERR_INVALID);
    bad = (struct plan_copy_policy){ RETENTION_MAX_DAYS + 1, 20 };
    CHECK_INT(plan_copies(src, 1, NULL, 0, &bad, now, out, &counts), ERR_INVALID);
    CHECK_INT(plan_copies(src, 1, NULL, 0, NULL, now, out, &counts), ERR_INVALID);
    CHECK_INT(plan_copies(src, 1, NULL, 1, &ok, now, out, &counts), ERR_INVALID);
    CHECK_INT(plan_copies(src, 1, NULL, 0, &ok, now, out, NULL), ERR_INVALID);
    CHECK_INT(plan_copies(src, 1, NULL, 0, &ok, now, NULL, &counts), ERR_INVALID);
    CHECK_INT(plan_copies(src, 1, NULL, 0, &ok, -1, out, &counts), ERR_INVALID);
    src[0].snapshot_id = SPAN_LIT("");
    CHECK_INT(plan_copies(src, 1, NULL, 0, &ok, now, out, &counts), ERR_INVALID);
    CHECK_INT(counts.start, 0);
    src[0].snapshot_id = SPAN_LIT("s1");
    src[0].start_time_s = -5;
    CHECK_INT(plan_copies(src, 1, NULL, 0, &ok, now, out, &counts), ERR_INVALID);
    src[0].start_time_s = now;
    CHECK_INT(plan_copies(src, 1, NULL, SNAP_MAX_COUNT + 1, &ok, now, out, &counts), ERR_LIMIT);
    CHECK_INT(counts.start, 0);
    bad = (struct plan_copy_policy){ RETENTION_MAX_DAYS, PLAN_MAX_COPY_LIMIT };
    CHECK_OK(plan_copies(src, 1, NULL, 0, &bad, now, out, &counts));
    CHECK_INT(counts.start, 1);
    CHECK_OK(plan_copies(NULL, 0, NULL, 0, &ok, now, NULL, &counts));
    CHECK_INT(counts.start + counts.deferred + counts.skipped, 0);
}

TEST(plan_reason_names_distinct) {
    for (int r = 0; r < PLAN__COPY_REASONS; r++) {
        CHECK(strcmp(plan_copy_reason_name((enum plan_copy_reason) r), "unknown") != 0);
        for (int q = 0; q < r; q++) {
            CHECK(
              strcmp(
                plan_copy_reason_name((enum plan_copy_reason) r), plan_copy_reason_name((enum plan_copy_reason) q)) !=
              0);
        }
    }
    for (int r = 0; r < PLAN__DUE_REASONS; r++) {
        CHECK(strcmp(plan_due_reason_name((enum plan_due_reason) r), "unknown") != 0);
        for (int q = 0; q < r; q++) {
            CHECK(
              strcmp(plan_due_reason_name((enum plan_due_reason) r), plan_due_reason_name((enum plan_due_reason) q)) !=
              0);
        }
    }
}

/* ---- property tests ---------------------------------------------------------------------------------- */

#define PROP_ITERATIONS 10000
#define PROP_MAX 30
#define PROP_ID_POOL 40

static char s_pool[PROP_ID_POOL][16];

static void s_pool_init(void) {
    for (int i = 0; i < PROP_ID_POOL; i++) {
        snprintf(s_pool[i], sizeof(s_pool[i]), "snap-%02d", (i * 17) % PROP_ID_POOL);
    }
}

static enum snap_state s_rand_state(uint64_t *rng) {
    int64_t r = harness_rng_range(rng, 0, 99);
    return r < 60   ? SNAP_COMPLETED
           : r < 80 ? SNAP_PENDING
           : r < 92 ? SNAP_ERROR
           : r < 96 ? SNAP_RECOVERING
                    : SNAP_UNKNOWN;
}

static void s_shuffle(uint64_t *rng, struct snap *s, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) harness_rng_range(rng, 0, (int64_t) i - 1);
        struct snap t = s[i - 1];
        s[i - 1] = s[j];
        s[j] = t;
    }
}

static const char *const s_vols[] = { "vol-a", "vol-b", "vol-c", "" };

static void s_gen_src(uint64_t *rng, int64_t now, const struct plan_copy_policy *pol, struct snap *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        src[i] = (struct snap){
            .snapshot_id = span_from_cstr(s_pool[harness_rng_range(rng, 0, PROP_ID_POOL - 1)]),
            .volume_id = span_from_cstr(s_vols[harness_rng_range(rng, 0, 3)]),
            .instance_id = SPAN_LIT("i-1"),
            .state = s_rand_state(rng),
            .start_time_s = now - harness_rng_range(rng, -DAY, 40 * DAY),
            .has_marker = harness_rng_range(rng, 0, 9) > 0,
            .is_copy = harness_rng_range(rng, 0, 9) == 0,
            .retention_days_override = harness_rng_range(rng, 0, 3) == 0 ? (uint32_t) harness_rng_range(rng, 1, 40) : 0,
        };
        if (harness_rng_range(rng, 0, 4) == 0) {
            /* exactly at the retention boundary, or one second either side */
            src[i].start_time_s = now - (int64_t) retention_effective_days(&src[i], pol->retention_days) * DAY +
                                  harness_rng_range(rng, -1, 1);
        }
    }
}

static void s_gen_dst(uint64_t *rng, int64_t now, struct snap *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t k = harness_rng_range(rng, 0, PROP_ID_POOL + 4);
        dst[i] = (struct snap){
            .snapshot_id = SPAN_LIT("snap-dst"),
            .volume_id = SPAN_LIT("vol-a"),
            .source_snapshot_id = k < PROP_ID_POOL ? span_from_cstr(s_pool[k]) : SPAN_LIT(""),
            .state = s_rand_state(rng),
            .start_time_s = now,
            .has_marker = true,
            .is_copy = k < PROP_ID_POOL,
        };
    }
}

static bool s_copy_exists(const struct snap *dst, size_t nd, struct span id) {
    for (size_t j = 0; j < nd; j++) {
        if (span_eq(dst[j].source_snapshot_id, id)) {
            return true;
        }
    }
    return false;
}

/* The rules of plan.h for one copy plan; false (with a note) at the first violation. */
static bool s_copy_check(
  const struct snap *src,
  size_t ns,
  const struct snap *dst,
  size_t nd,
  const struct plan_copy_policy *pol,
  int64_t now,
  const struct plan_copy_decision *out,
  const struct plan_copy_counts *c) {
    size_t pending = 0;
    for (size_t j = 0; j < nd; j++) {
        pending += dst[j].state == SNAP_PENDING;
    }
    size_t slots = pending < pol->copy_limit ? pol->copy_limit - pending : 0;
    if (c->start + c->deferred + c->skipped != ns || c->in_flight_before != pending) {
        harness_note("counts");
        return false;
    }
    if (c->start > slots) {
        harness_note("limit: started %zu with %zu pending, limit %" PRIu32, c->start, pending, pol->copy_limit);
        return false;
    }
    bool seen[PROP_MAX] = { false };
    for (size_t k = 0; k < ns; k++) {
        const struct plan_copy_decision *d = &out[k];
        enum plan_copy_action want_range = k < c->start                 ? PLAN_COPY_START
                                           : k < c->start + c->deferred ? PLAN_COPY_DEFER
                                                                        : PLAN_COPY_SKIP;
        if (d->index >= ns || seen[d->index] || d->action != want_range) {
            harness_note("ranges/indices at %zu", k);
            return false;
        }
        seen[d->index] = true;
        const struct snap *s = &src[d->index];
        if (d->reason == PLAN_COPY_DEFER_LIMIT && c->start != slots) {
            harness_note("deferred for the limit with a slot free");
            return false;
        }
        if (d->action != PLAN_COPY_START) {
            continue;
        }
        uint32_t days = s->retention_days_override ? s->retention_days_override : pol->retention_days;
        if (s->state != SNAP_COMPLETED) {
            harness_note("started a %s source", snap_state_name(s->state));
            return false;
        }
        if (!s->has_marker || s->is_copy) {
            harness_note("started a source that is not ours or is a copy");
            return false;
        }
        if (now - s->start_time_s >= (int64_t) days * DAY) {
            harness_note("started a source outside retention");
            return false;
        }
        if (s_copy_exists(dst, nd, s->snapshot_id)) {
            harness_note("started a copy that exists");
            return false;
        }
        for (size_t q = 0; q < k; q++) {
            if (span_eq(src[out[q].index].snapshot_id, s->snapshot_id)) {
                harness_note("started twice");
                return false;
            }
        }
    }
    /* A completed eligible source is never silently dropped: it is started or deferred for the limit. */
    for (size_t k = 0; k < ns; k++) {
        const struct snap *s = &src[out[k].index];
        if (out[k].reason == PLAN_COPY_SKIP_DUPLICATE) {
            continue;
        }
        uint32_t days = s->retention_days_override ? s->retention_days_override : pol->retention_days;
        bool eligible = s->state == SNAP_COMPLETED && s->has_marker && !s->is_copy &&
                        now - s->start_time_s < (int64_t) days * DAY && !s_copy_exists(dst, nd, s->snapshot_id);
        if (eligible != (out[k].action == PLAN_COPY_START || out[k].reason == PLAN_COPY_DEFER_LIMIT)) {
            harness_note("eligible source %.*s decided %s", SPAN_FMT(s->snapshot_id), s_copy_why(&out[k], src, pol));
            return false;
        }
        if (
          s->state == SNAP_PENDING && s->has_marker && !s->is_copy && !s_copy_exists(dst, nd, s->snapshot_id) &&
          out[k].reason != PLAN_COPY_DEFER_PENDING) {
            harness_note("pending source not deferred");
            return false;
        }
    }
    return true;
}

TEST(plan_copy_property) {
    s_pool_init();
    uint64_t seed = harness_seed() ^ 0xc0b1e5u;
    uint64_t rng = seed;
    int64_t now = s_now();
    static struct snap src[PROP_MAX], dst[PROP_MAX];
    struct plan_copy_decision out[PROP_MAX], out2[PROP_MAX];
    struct plan_copy_counts c, c2;
    size_t started = 0, limited = 0;
    for (int it = 0; it < PROP_ITERATIONS; it++) {
        size_t ns = (size_t) harness_rng_range(&rng, 0, PROP_MAX);
        size_t nd = (size_t) harness_rng_range(&rng, 0, PROP_MAX);
        struct plan_copy_policy pol = { (uint32_t) harness_rng_range(&rng, 1, 30),
                                        (uint32_t) harness_rng_range(&rng, 1, 12) };
        s_gen_src(&rng, now, &pol, src, ns);
        s_gen_dst(&rng, now, dst, nd);
        if (
          !CHECK_OK(plan_copies(src, ns, dst, nd, &pol, now, out, &c)) ||
          !CHECK(s_copy_check(src, ns, dst, nd, &pol, now, out, &c))) {
            harness_note("seed %" PRIu64 " iteration %d", seed, it);
            return;
        }
        started += c.start;
        limited += c.by_reason[PLAN_COPY_DEFER_LIMIT];
        /* Same plan, in the same order, whatever the input order (duplicates aside: which record of a
         * duplicated id is "first" is input order by contract). */
        bool dup = false;
        for (size_t i = 0; i < ns; i++) {
            for (size_t j = 0; j < i; j++) {
                dup = dup || span_eq(src[i].snapshot_id, src[j].snapshot_id);
            }
        }
        if (dup) {
            continue;
        }
        static struct snap src2[PROP_MAX], dst2[PROP_MAX];
        memcpy(src2, src, sizeof(src));
        memcpy(dst2, dst, sizeof(dst));
        s_shuffle(&rng, src2, ns);
        s_shuffle(&rng, dst2, nd);
        if (!CHECK_OK(plan_copies(src2, ns, dst2, nd, &pol, now, out2, &c2))) {
            return;
        }
        for (size_t k = 0; k < ns; k++) {
            if (!CHECK(
                  span_eq(src[out[k].index].snapshot_id, src2[out2[k].index].snapshot_id) &&
                  out[k].action == out2[k].action && out[k].reason == out2[k].reason)) {
                harness_note("seed %" PRIu64 " iteration %d: order differs at %zu", seed, it, k);
                return;
            }
        }
    }
    CHECK(started > PROP_ITERATIONS);
    CHECK(limited > 100);
}

/* The rules D1-D3 for one due plan. */
static bool s_due_check(
  const struct span *ids,
  size_t ni,
  const struct snap *snaps,
  size_t ns,
  int64_t interval,
  int64_t now,
  const struct plan_due *out) {
    for (size_t i = 0; i < ni; i++) {
        if (out[i].index != i) {
            harness_note("index");
            return false;
        }
        bool first = true;
        for (size_t j = 0; j < i; j++) {
            first = first && !span_eq(ids[j], ids[i]);
        }
        if (!first) {
            if (out[i].due || out[i].reason != PLAN_NOT_DUE_DUPLICATE) {
                harness_note("D3: duplicate %.*s planned", SPAN_FMT(ids[i]));
                return false;
            }
            continue;
        }
        bool blocked = false;
        for (size_t j = 0; j < ns; j++) {
            const struct snap *s = &snaps[j];
            bool counts = s->has_marker && !s->is_copy && span_eq(s->instance_id, ids[i]) &&
                          (s->state == SNAP_PENDING || s->state == SNAP_COMPLETED);
            blocked = blocked || (counts && (s->start_time_s > now || now - s->start_time_s < interval));
        }
        if (out[i].due == blocked) {
            harness_note("D1/D2: %.*s due=%d blocked=%d (%s)", SPAN_FMT(ids[i]), out[i].due, blocked, out[i].why);
            return false;
        }
    }
    return true;
}

TEST(plan_due_property) {
    static const char *const inst[] = { "i-0", "i-1", "i-2", "i-3", "i-4", "i-5", "i-6", "i-7" };
    uint64_t seed = harness_seed() ^ 0xd0e5u;
    uint64_t rng = seed;
    int64_t now = s_now();
    struct span ids[PROP_MAX];
    static struct snap snaps[PROP_MAX];
    struct plan_due out[PROP_MAX], out2[PROP_MAX];
    size_t due = 0, not_due = 0;
    for (int it = 0; it < PROP_ITERATIONS; it++) {
        size_t ni = (size_t) harness_rng_range(&rng, 0, 10);
        size_t ns = (size_t) harness_rng_range(&rng, 0, PROP_MAX);
        int64_t interval =
          harness_rng_range(&rng, 0, 3) == 0 ? harness_rng_range(&rng, 0, 2) : harness_rng_range(&rng, 0, 2 * DAY);
        for (size_t i = 0; i < ni; i++) {
            ids[i] = span_from_cstr(inst[harness_rng_range(&rng, 0, 7)]);
        }
        for (size_t j = 0; j < ns; j++) {
            int64_t shape = harness_rng_range(&rng, 0, 4);
            snaps[j] = (struct snap){
                .snapshot_id = SPAN_LIT("snap"),
                .instance_id = span_from_cstr(inst[harness_rng_range(&rng, 0, 7)]),
                .state = s_rand_state(&rng),
                .start_time_s = shape == 0 ? now - interval + harness_rng_range(&rng, -1, 1)
                                           : now - harness_rng_range(&rng, -HOUR, 3 * DAY),
                .has_marker = harness_rng_range(&rng, 0, 9) > 0,
                .is_copy = harness_rng_range(&rng, 0, 9) == 0,
            };
            if (snaps[j].start_time_s > SNAP_TIME_MAX_S) {
                snaps[j].start_time_s = SNAP_TIME_MAX_S;
            }
        }
        if (
          !CHECK_OK(plan_due_instances(ids, ni, snaps, ns, interval, now, out)) ||
          !CHECK(s_due_check(ids, ni, snaps, ns, interval, now, out))) {
            harness_note("seed %" PRIu64 " iteration %d", seed, it);
            return;
        }
        for (size_t i = 0; i < ni; i++) {
            due += out[i].due;
            not_due += !out[i].due;
        }
        /* Input order of the snapshots does not matter at all. */
        s_shuffle(&rng, snaps, ns);
        if (!CHECK_OK(plan_due_instances(ids, ni, snaps, ns, interval, now, out2))) {
            return;
        }
        for (size_t i = 0; i < ni; i++) {
            if (!CHECK(out[i].due == out2[i].due && out[i].reason == out2[i].reason)) {
                harness_note("seed %" PRIu64 " iteration %d: snapshot order changed a decision", seed, it);
                return;
            }
        }
    }
    CHECK(due > 1000 && not_due > 1000);
}
