/*
 * test_restore.c - the pure planners of restores and drills (backup/restore_plan.c): the crash-consistent set
 * chosen for a restore, and the drill rotation's promise (every volume within ceil(volumes / N) cycles).
 */
#include "backup/audit.h"
#include "backup/metrics.h"
#include "backup/notify.h"
#include "backup/restore_plan.h"
#include "harness.h"

#include <stdio.h>

/* A span initializer that is a constant expression (SPAN_LIT is a compound literal). */
#define L(s)                                                                                                           \
    { (s), sizeof(s) - 1 }
#define S(id, vol, set, done, t)                                                                                       \
    { .snapshot_id = L(id), .volume_id = L(vol), .set_id = L(set), .completed = (done), .start_time_s = (t) }

/* Three volumes, three runs: r1 (t=100), r2 (t=200), r3 (t=300, one snapshot still pending). */
static const struct restore_snap s_hist[] = {
    S("snap-a1", "vol-a", "r1", true, 100), S("snap-b1", "vol-b", "r1", true, 101),
    S("snap-c1", "vol-c", "r1", true, 101), S("snap-a2", "vol-a", "r2", true, 200),
    S("snap-b2", "vol-b", "r2", true, 200), S("snap-c2", "vol-c", "r2", true, 201),
    S("snap-a3", "vol-a", "r3", true, 300), S("snap-b3", "vol-b", "r3", false, 300),
    S("snap-c3", "vol-c", "r3", true, 300),
};
#define NHIST (sizeof(s_hist) / sizeof(s_hist[0]))

static void s_check_set(const struct restore_set *set, const char *want_set, const char *const *want_snaps, size_t n) {
    CHECK_SPAN(set->set_id, want_set);
    REQUIRE(set->nmembers == n);
    for (size_t k = 0; k < n; k++) {
        CHECK_SPAN(s_hist[set->members[k]].snapshot_id, want_snaps[k]);
    }
}

TEST(restore_pick_skips_set_with_pending_snapshot) {
    struct arena a;
    arena_init(&a, 0);
    struct restore_set set;
    REQUIRE_OK(restore_pick_set(&a, s_hist, NHIST, 1000, NULL, 0, &set));
    static const char *const want[] = { "snap-a2", "snap-b2", "snap-c2" };
    s_check_set(&set, "r2", want, 3);
    CHECK_INT(set.newer_incomplete, 1);
    arena_free(&a);
}

TEST(restore_pick_at_picks_older_set) {
    struct arena a;
    arena_init(&a, 0);
    struct restore_set set;
    REQUIRE_OK(restore_pick_set(&a, s_hist, NHIST, 199, NULL, 0, &set));
    static const char *const want[] = { "snap-a1", "snap-b1", "snap-c1" };
    s_check_set(&set, "r1", want, 3);
    /* The boundary: a set whose newest snapshot started exactly at --at is restorable. */
    REQUIRE_OK(restore_pick_set(&a, s_hist, NHIST, 201, NULL, 0, &set));
    CHECK_SPAN(set.set_id, "r2");
    REQUIRE_OK(restore_pick_set(&a, s_hist, NHIST, 200, NULL, 0, &set));
    CHECK_SPAN(set.set_id, "r1");
    CHECK(restore_pick_set(&a, s_hist, NHIST, 99, NULL, 0, &set) == ERR_NOT_FOUND);
    arena_free(&a);
}

TEST(restore_pick_volume_restriction_ignores_other_volumes_state) {
    struct arena a;
    arena_init(&a, 0);
    struct restore_set set;
    /* Only vol-a and vol-c: r3 is complete for them. */
    struct span vols[] = { SPAN_LIT("vol-c"), SPAN_LIT("vol-a") };
    REQUIRE_OK(restore_pick_set(&a, s_hist, NHIST, 1000, vols, 2, &set));
    static const char *const want[] = { "snap-a3", "snap-c3" };
    s_check_set(&set, "r3", want, 2);
    /* A volume no set holds: nothing qualifies. */
    struct span none[] = { SPAN_LIT("vol-z") };
    CHECK(restore_pick_set(&a, s_hist, NHIST, 1000, none, 1, &set) == ERR_NOT_FOUND);
    arena_free(&a);
}

TEST(restore_pick_prefers_completed_twin_and_ignores_unset_run) {
    struct arena a;
    arena_init(&a, 0);
    const struct restore_snap snaps[] = {
        S("snap-x1", "vol-x", "r9", false, 500), /* a failed copy attempt */
        S("snap-x2", "vol-x", "r9", true, 501),  /* its completed twin */
        S("snap-y1", "vol-y", "r9", true, 500),
        S("snap-n1", "vol-x", "", true, 900), /* no run id: no set */
    };
    struct restore_set set;
    REQUIRE_OK(restore_pick_set(&a, snaps, 4, 1000, NULL, 0, &set));
    CHECK_SPAN(set.set_id, "r9");
    REQUIRE(set.nmembers == 2);
    CHECK_SPAN(snaps[set.members[0]].snapshot_id, "snap-x2");
    CHECK(restore_pick_set(&a, snaps, 0, 1000, NULL, 0, &set) == ERR_NOT_FOUND);
    arena_free(&a);
}

/* Property: for any V volumes and N per cycle, any ceil(V/N) consecutive cycles drill every volume exactly once. */
TEST(restore_drill_rotation_covers_every_volume) {
    uint64_t rng = harness_seed();
    struct arena a;
    arena_init(&a, 0);
    for (int round = 0; round < 200; round++) {
        size_t nvol = (size_t) harness_rng_range(&rng, 1, 120);
        uint32_t n = (uint32_t) harness_rng_range(&rng, 1, 25);
        uint64_t start = (uint64_t) harness_rng_range(&rng, 0, 1000000);
        struct span *ids = ARENA_NEW_ARRAY(&a, struct span, nvol);
        for (size_t i = 0; i < nvol; i++) {
            ids[i] = span_from_cstr(arena_printf(&a, "vol-%017llx", (unsigned long long) harness_rng_next(&rng)));
        }
        size_t cycles = (nvol + n - 1) / n;
        size_t *seen = ARENA_NEW_ARRAY(&a, size_t, nvol);
        memset(seen, 0, nvol * sizeof(*seen));
        size_t *out = ARENA_NEW_ARRAY(&a, size_t, n);
        for (size_t c = 0; c < cycles; c++) {
            size_t k = restore_drill_pick(&a, ids, nvol, n, start + c, out);
            CHECK(k <= n && k >= 1);
            for (size_t j = 0; j < k; j++) {
                seen[out[j]]++;
            }
        }
        for (size_t i = 0; i < nvol; i++) {
            if (!CHECK_INT(seen[i], 1)) {
                harness_note("volumes %zu, N %u, start %llu: volume %zu", nvol, n, (unsigned long long) start, i);
                arena_free(&a);
                return;
            }
        }
    }
    arena_free(&a);
}

TEST(restore_drill_rotation_is_stable_across_input_order) {
    struct arena a;
    arena_init(&a, 0);
    struct span ids[] = {
        SPAN_LIT("vol-1"), SPAN_LIT("vol-2"), SPAN_LIT("vol-3"), SPAN_LIT("vol-4"), SPAN_LIT("vol-5")
    };
    struct span rev[] = {
        SPAN_LIT("vol-5"), SPAN_LIT("vol-4"), SPAN_LIT("vol-3"), SPAN_LIT("vol-2"), SPAN_LIT("vol-1")
    };
    for (uint64_t c = 0; c < 6; c++) {
        size_t o1[2], o2[2];
        size_t k1 = restore_drill_pick(&a, ids, 5, 2, c, o1);
        size_t k2 = restore_drill_pick(&a, rev, 5, 2, c, o2);
        REQUIRE(k1 == k2);
        for (size_t j = 0; j < k1; j++) {
            CHECK(span_eq(ids[o1[j]], rev[o2[j]]));
        }
    }
    CHECK_INT(restore_drill_pick(&a, ids, 0, 2, 0, NULL), 0);
    CHECK_INT(restore_drill_pick(&a, ids, 5, 0, 0, NULL), 0);
    arena_free(&a);
}

TEST(restore_drill_cycle_no_rounds_schedule_jitter) {
    /* A daily 01:00 schedule whose starts wander by minutes still numbers consecutive days consecutively. */
    int64_t day = 86400, base = 20000 * day + 3600;
    CHECK_INT(restore_drill_cycle_no(base, day), 20000);
    CHECK_INT(restore_drill_cycle_no(base + day + 600, day), 20001);
    CHECK_INT(restore_drill_cycle_no(base + 2 * day - 900, day), 20002);
    CHECK_INT(restore_drill_cycle_no(base, 0), 0);
}

/* A cycle with two passed drills and one failed: counts, metrics, SNS section and audit items agree. */
static void s_drill_report(struct report *r, struct arena *a) {
    report_init(r, a, 1700000000000LL);
    r->drill_ran = true;
    struct report_item ok1 = { .action = REPORT_DRILLED,
                               .job = REPORT_JOB_DRILL,
                               .region = "us-east-1",
                               .instance_id = "i-1",
                               .volume_id = "vol-1",
                               .snapshot_id = "snap-1",
                               .duration_ms = 2500 };
    struct report_item ok2 = ok1;
    ok2.region = "us-west-2", ok2.volume_id = "vol-2", ok2.snapshot_id = "snap-2", ok2.duration_ms = 7250;
    struct report_item bad = { .action = REPORT_FAILED,
                               .job = REPORT_JOB_DRILL,
                               .region = "us-east-1",
                               .instance_id = "i-3",
                               .volume_id = "vol-3",
                               .snapshot_id = "snap-3",
                               .aws_code = "drill",
                               .message = "not available within RESTORE_DRILL_TIMEOUT (600s)",
                               .duration_ms = -1 };
    /* A cleanup failure (no snapshot): a failure, but not a failed drill. */
    struct report_item cleanup = { .action = REPORT_FAILED,
                                   .job = REPORT_JOB_DRILL,
                                   .region = "us-east-1",
                                   .aws_code = "InternalError",
                                   .message = "leftover",
                                   .duration_ms = -1 };
    report_add(r, &ok1);
    report_add(r, &ok2);
    report_add(r, &bad);
    report_add(r, &cleanup);
}

TEST(restore_drill_counts_metrics_sns_and_audit_agree) {
    struct arena a;
    arena_init(&a, 0);
    struct report r;
    s_drill_report(&r, &a);
    struct report_counts c = report_counts(&r);
    CHECK_INT(c.drills_passed, 2);
    CHECK_INT(c.drills_failed, 1);
    CHECK_INT(c.failures, 2);
    CHECK(c.drill_seconds_max > 7.249 && c.drill_seconds_max < 7.251);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    CHECK(metrics_value(&m, "RestoreDrillsPassed") == 2.0);
    CHECK(metrics_value(&m, "RestoreDrillsFailed") == 1.0);
    CHECK(metrics_value(&m, "RestoreDrillSecondsMax") > 7.249);
    struct buf body;
    buf_init(&body, 1 << 20);
    REQUIRE_OK(notify_body(&r, NULL, 64 * 1024, &body));
    const char *text = buf_cstr(&body);
    CHECK(strstr(text, "Restore drill:\n  Passed:           2\n  Failed:           1\n") != NULL);
    CHECK(strstr(text, "Restore drills passed (2):\n  - us-east-1 i-1 vol-1 -> snap-1 (available in 2.5 s)") != NULL);
    CHECK(strstr(text, "not available within RESTORE_DRILL_TIMEOUT") != NULL); /* in Errors */
    struct audit_items items;
    audit_build(&a, &r, 1700000000, 30, &items);
    REQUIRE(items.n == 4);
    CHECK_STR(audit_attr(&items.items[0], "action"), "drilled");
    CHECK_STR(audit_attr(&items.items[0], "job"), "drill");
    CHECK_STR(audit_attr(&items.items[1], "duration_ms"), "7250");
    CHECK_STR(audit_attr(&items.items[2], "action"), "failed");
    /* Without a drill, no drill metrics at all (the metric set is unchanged for everyone else). */
    r.drill_ran = false;
    metrics_from_report(&r, &m);
    CHECK(metrics_value(&m, "RestoreDrillsPassed") < 0);
    buf_free(&body);
    report_free(&r);
    arena_free(&a);
}
