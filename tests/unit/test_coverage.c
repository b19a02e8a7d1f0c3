/*
 * test_coverage.c - backup/coverage: which volumes are outside the RPO and how old the oldest newest backup is.
 */
#include "harness.h"

#include "backup/coverage.h"

#include <stdio.h>

#define NOW 1000000000LL
#define H 3600LL

struct cov_case {
    const char *name;
    const char *volumes[4];
    struct {
        const char *vol;
        int64_t age_s;
        bool counts;
    } backups[5];
    int64_t rpo_s;
    uint64_t volumes_want, outside_want, never_want;
    int64_t oldest_want;
};

static const struct cov_case s_cases[] = {
    { "all fresh", { "vol-a", "vol-b" }, { { "vol-a", 10, true }, { "vol-b", 20, true } }, 2 * H, 2, 0, 0, 20 },
    { "newest counts, not oldest",
      { "vol-a" },
      { { "vol-a", 50 * H, true }, { "vol-a", 1 * H, true } },
      2 * H,
      1,
      0,
      0,
      1 * H },
    { "one stale", { "vol-a", "vol-b" }, { { "vol-a", 3 * H, true }, { "vol-b", 1, true } }, 2 * H, 2, 1, 0, 3 * H },
    { "exactly at the RPO is inside", { "vol-a" }, { { "vol-a", 2 * H, true } }, 2 * H, 1, 0, 0, 2 * H },
    { "one second past", { "vol-a" }, { { "vol-a", 2 * H + 1, true } }, 2 * H, 1, 1, 0, 2 * H + 1 },
    { "never backed up", { "vol-a", "vol-b" }, { { "vol-a", 5, true } }, 2 * H, 2, 1, 1, 5 },
    { "error snapshot protects nothing",
      { "vol-a" },
      { { "vol-a", 10, false }, { "vol-a", 30 * H, true } },
      2 * H,
      1,
      1,
      0,
      30 * H },
    { "future-dated counts as now", { "vol-a" }, { { "vol-a", -5 * H, true } }, 2 * H, 1, 0, 0, 0 },
    { "duplicate volume counted once", { "vol-a", "vol-a" }, { { "vol-a", 3 * H, true } }, 2 * H, 1, 1, 0, 3 * H },
    { "other volumes' backups ignored", { "vol-a" }, { { "vol-b", 1, true } }, 2 * H, 1, 1, 1, 0 },
    { "no volumes", { NULL }, { { "vol-a", 1, true } }, 2 * H, 0, 0, 0, 0 },
};

TEST(coverage_table) {
    for (size_t k = 0; k < sizeof(s_cases) / sizeof(s_cases[0]); k++) {
        const struct cov_case *c = &s_cases[k];
        struct span vols[4];
        struct coverage_backup bs[5];
        size_t nv = 0, nb = 0;
        for (; nv < 4 && c->volumes[nv]; nv++) {
            vols[nv] = span_from_cstr(c->volumes[nv]);
        }
        for (; nb < 5 && c->backups[nb].vol; nb++) {
            bs[nb] = (struct coverage_backup){ span_from_cstr(c->backups[nb].vol),
                                               NOW - c->backups[nb].age_s,
                                               c->backups[nb].counts };
        }
        struct arena a;
        arena_init(&a, 0);
        struct coverage out;
        coverage_compute(&a, vols, nv, bs, nb, NOW, c->rpo_s, &out);
        arena_free(&a);
        if (
          !CHECK(out.known) || !CHECK_INT(out.volumes, c->volumes_want) ||
          !CHECK_INT(out.outside_rpo, c->outside_want) || !CHECK_INT(out.never_backed_up, c->never_want) ||
          !CHECK_INT(out.oldest_age_s, c->oldest_want)) {
            harness_note("case: %s", c->name);
        }
    }
}

TEST(coverage_large_fleet_property) {
    /* 2,000 volumes, each with 3 backups of random ages: the result equals a brute-force count. */
    enum { NV = 2000, PER = 3 };
    static struct span vols[NV];
    static struct coverage_backup bs[NV * PER];
    static char names[NV][16];
    uint64_t outside = 0, rng = harness_seed();
    int64_t oldest = 0;
    for (size_t i = 0; i < NV; i++) {
        int n = snprintf(names[i], sizeof(names[i]), "vol-%05zu", i);
        vols[i] = (struct span){ names[i], (size_t) n };
        int64_t newest = INT64_MAX;
        for (size_t j = 0; j < PER; j++) {
            int64_t age = harness_rng_range(&rng, 0, 100 * H);
            bs[i * PER + j] = (struct coverage_backup){ vols[i], NOW - age, true };
            newest = age < newest ? age : newest;
        }
        outside += newest > 24 * H;
        oldest = newest > oldest ? newest : oldest;
    }
    struct arena a;
    arena_init(&a, 0);
    struct coverage out;
    coverage_compute(&a, vols, NV, bs, NV * PER, NOW, 24 * H, &out);
    arena_free(&a);
    CHECK_INT(out.volumes, NV);
    CHECK_INT(out.outside_rpo, outside);
    CHECK_INT(out.oldest_age_s, oldest);
}

TEST(coverage_add_sums_targets) {
    /* Two targets' coverage make the run's: counts add up, the oldest age is the larger; unknown parts add nothing. */
    struct coverage total = { 0 };
    struct coverage unknown = { .known = false, .volumes = 99 };
    coverage_add(&total, &unknown);
    CHECK(!total.known);
    struct coverage a = {
        .known = true, .rpo_s = 2 * H, .volumes = 4, .outside_rpo = 1, .never_backed_up = 0, .oldest_age_s = 3 * H
    };
    struct coverage b = {
        .known = true, .rpo_s = 2 * H, .volumes = 6, .outside_rpo = 2, .never_backed_up = 2, .oldest_age_s = H
    };
    coverage_add(&total, &a);
    coverage_add(&total, &b);
    coverage_add(&total, &unknown);
    CHECK(total.known);
    CHECK_INT(total.volumes, 10);
    CHECK_INT(total.outside_rpo, 3);
    CHECK_INT(total.never_backed_up, 2);
    CHECK_INT(total.oldest_age_s, 3 * H);
    CHECK_INT(total.rpo_s, 2 * H);
}
