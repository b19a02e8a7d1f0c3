/*
 * restore_plan.c - the pure decisions of restores and drills: which crash-consistent snapshot set to restore
 * from, and which volumes a cycle drills.
 *
 * A set is what one CreateSnapshots call made: every snapshot tagged with the same run id. It is restorable when
 * each of its snapshots (of the requested volumes) is completed and started at or before the restore point; the
 * newest restorable set wins. The drill rotation is a stable hash order cut into windows (see restore_plan.h).
 *
 * What it does not do: any call, any clock (now and the cycle number are arguments).
 */
#include "backup/restore_plan.h"

#include <stdlib.h>
#include <string.h>

/* The snapshot of `volume` in set `set`, preferring a completed one (a DR copy may have a failed twin). */
static bool s_member(const struct restore_snap *s, size_t n, struct span set, struct span volume, size_t *idx) {
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (!span_eq(s[i].set_id, set) || !span_eq(s[i].volume_id, volume)) {
            continue;
        }
        if (!found || (s[i].completed && !s[*idx].completed)) {
            *idx = i;
            found = true;
        }
    }
    return found;
}

static bool s_wanted(struct span volume, const struct span *volumes, size_t nvolumes) {
    for (size_t k = 0; k < nvolumes; k++) {
        if (span_eq(volumes[k], volume)) {
            return true;
        }
    }
    return nvolumes == 0;
}

/* Evaluates set `set`: fills members (one per wanted volume); returns false when it does not qualify. */
static bool s_eval_set(
  const struct restore_snap *s,
  size_t n,
  struct span set,
  int64_t at_s,
  const struct span *volumes,
  size_t nvolumes,
  size_t *members,
  size_t *nmembers,
  int64_t *newest,
  bool *incomplete) {
    *nmembers = 0;
    *newest = INT64_MIN;
    *incomplete = false;
    bool too_new = false;
    for (size_t i = 0; i < n; i++) {
        if (!span_eq(s[i].set_id, set) || !s_wanted(s[i].volume_id, volumes, nvolumes)) {
            continue;
        }
        size_t idx = 0;
        if (!s_member(s, n, set, s[i].volume_id, &idx) || idx != i) {
            continue; /* a twin of a volume already counted */
        }
        members[(*nmembers)++] = i;
        *newest = s[i].start_time_s > *newest ? s[i].start_time_s : *newest;
        too_new = too_new || s[i].start_time_s > at_s;
        *incomplete = *incomplete || !s[i].completed;
    }
    for (size_t k = 0; k < nvolumes; k++) {
        size_t idx = 0;
        if (!s_member(s, n, set, volumes[k], &idx)) {
            return false; /* the set lacks a requested volume */
        }
    }
    if (too_new) {
        *incomplete = false; /* after the restore point: neither chosen nor "skipped" */
        return false;
    }
    return *nmembers > 0 && !*incomplete;
}

/* True for the first snapshot of its set in the listing (each set is evaluated once). */
static bool s_first_of_set(const struct restore_snap *snaps, size_t i) {
    for (size_t j = 0; j < i; j++) {
        if (span_eq(snaps[j].set_id, snaps[i].set_id)) {
            return false;
        }
    }
    return snaps[i].set_id.n > 0;
}

/* The running choice: the newest qualifying set, ties by the smaller set id; the newest times of incomplete ones. */
struct s_pick {
    bool have;
    int64_t best_time;
    size_t *best;
    int64_t *incomplete_times;
    size_t nincomplete;
};

static void s_consider(
  struct s_pick *p,
  struct restore_set *out,
  struct span set,
  const size_t *members,
  size_t nm,
  int64_t newest) {
    if (!p->have || newest > p->best_time || (newest == p->best_time && span_cmp(set, out->set_id) < 0)) {
        p->have = true;
        p->best_time = newest;
        out->set_id = set;
        memcpy(p->best, members, nm * sizeof(*members));
        out->nmembers = nm;
    }
}

enum err restore_pick_set(
  struct arena *a,
  const struct restore_snap *snaps,
  size_t n,
  int64_t at_s,
  const struct span *volumes,
  size_t nvolumes,
  struct restore_set *out) {
    memset(out, 0, sizeof(*out));
    size_t *cur = n ? ARENA_NEW_ARRAY(a, size_t, n) : NULL;
    struct s_pick p = { .best_time = INT64_MIN,
                        .best = n ? ARENA_NEW_ARRAY(a, size_t, n) : NULL,
                        .incomplete_times = n ? ARENA_NEW_ARRAY(a, int64_t, n) : NULL };
    for (size_t i = 0; i < n; i++) {
        if (!s_first_of_set(snaps, i)) {
            continue;
        }
        size_t nm = 0;
        int64_t newest = 0;
        bool incomplete = false;
        if (s_eval_set(snaps, n, snaps[i].set_id, at_s, volumes, nvolumes, cur, &nm, &newest, &incomplete)) {
            s_consider(&p, out, snaps[i].set_id, cur, nm, newest);
        } else if (incomplete) {
            p.incomplete_times[p.nincomplete++] = newest;
        }
    }
    /* Incomplete sets count as "skipped" only when newer than the one chosen (all of them when none is). */
    for (size_t k = 0; k < p.nincomplete; k++) {
        out->newer_incomplete += !p.have || p.incomplete_times[k] > p.best_time ? 1 : 0;
    }
    if (!p.have) {
        FAIL(ERR_NOT_FOUND, "no complete snapshot set started at or before the restore point");
    }
    out->members = p.best;
    return ERR_OK;
}

/* FNV-1a, 64-bit: stable across runs, builds and platforms (the rotation must not change between cycles). */
static uint64_t s_hash(struct span s) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < s.n; i++) {
        h ^= (unsigned char) s.p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct s_ranked {
    uint64_t hash;
    struct span id;
    size_t index;
};

static int s_rank_cmp(const void *a, const void *b) {
    const struct s_ranked *x = a, *y = b;
    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }
    return span_cmp(x->id, y->id);
}

size_t restore_drill_pick(
  struct arena *a,
  const struct span *volume_ids,
  size_t nvol,
  uint32_t n,
  uint64_t cycle_no,
  size_t *out) {
    if (nvol == 0 || n == 0) {
        return 0;
    }
    struct s_ranked *r = ARENA_NEW_ARRAY(a, struct s_ranked, nvol);
    for (size_t i = 0; i < nvol; i++) {
        r[i] = (struct s_ranked){ s_hash(volume_ids[i]), volume_ids[i], i };
    }
    qsort(r, nvol, sizeof(*r), s_rank_cmp);
    size_t windows = (nvol + n - 1) / n;
    size_t first = (size_t) (cycle_no % windows) * n;
    size_t k = 0;
    for (size_t p = first; p < nvol && p < first + n; p++) {
        out[k++] = r[p].index;
    }
    return k;
}

uint64_t restore_drill_cycle_no(int64_t now_s, int64_t period_s) {
    if (period_s <= 0 || now_s < 0) {
        return 0;
    }
    return (uint64_t) ((now_s + period_s / 2) / period_s);
}
