/*
 * coverage.c - the coverage figures of a cycle (see coverage.h): one sort of the counting backups by volume id,
 * then one binary search per volume. O((V + B) log B) for V volumes and B snapshots.
 *
 * What it does not do: decide what to snapshot (backup/plan) or read AWS (backup/ebs gathers the inputs).
 */
#include "backup/coverage.h"

#include <stdlib.h>
#include <string.h>

static int s_cmp_span(struct span a, struct span b) {
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0) {
        return c;
    }
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

/* By volume id, newest first within a volume. */
static int s_cmp_backup(const void *x, const void *y) {
    const struct coverage_backup *a = x, *b = y;
    int c = s_cmp_span(a->volume_id, b->volume_id);
    if (c != 0) {
        return c;
    }
    return a->start_time_s > b->start_time_s ? -1 : a->start_time_s < b->start_time_s ? 1 : 0;
}

static int s_cmp_volume(const void *x, const void *y) {
    return s_cmp_span(*(const struct span *) x, *(const struct span *) y);
}

/* The newest counting backup of a volume in the sorted array, or NULL. */
static const struct coverage_backup *s_newest(const struct coverage_backup *sorted, size_t n, struct span volume) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_cmp_span(sorted[mid].volume_id, volume) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && s_cmp_span(sorted[lo].volume_id, volume) == 0 ? &sorted[lo] : NULL;
}

/* The backups that count, sorted by volume (newest first within a volume, s_cmp_backup). */
static struct coverage_backup *
s_sorted_backups(struct arena *scratch, const struct coverage_backup *backups, size_t nbackups, size_t *n) {
    struct coverage_backup *sorted = nbackups ? ARENA_NEW_ARRAY(scratch, struct coverage_backup, nbackups) : NULL;
    *n = 0;
    for (size_t i = 0; i < nbackups; i++) {
        if (backups[i].counts && backups[i].volume_id.n > 0) {
            sorted[(*n)++] = backups[i];
        }
    }
    if (*n > 1) {
        qsort(sorted, *n, sizeof(*sorted), s_cmp_backup);
    }
    return sorted;
}

/* One volume's newest backup (or none) counted into out. */
static void s_count_volume(const struct coverage_backup *b, int64_t now_s, struct coverage *out) {
    out->volumes++;
    if (b == NULL) {
        out->never_backed_up++;
        out->outside_rpo++;
        return;
    }
    int64_t age = now_s > b->start_time_s ? now_s - b->start_time_s : 0;
    if (age > out->rpo_s) {
        out->outside_rpo++;
    }
    if (age > out->oldest_age_s) {
        out->oldest_age_s = age;
    }
}

void coverage_compute(
  struct arena *scratch,
  const struct span *volumes,
  size_t nvolumes,
  const struct coverage_backup *backups,
  size_t nbackups,
  int64_t now_s,
  int64_t rpo_s,
  struct coverage *out) {
    memset(out, 0, sizeof(*out));
    out->known = true;
    out->rpo_s = rpo_s;
    size_t n = 0;
    struct coverage_backup *sorted = s_sorted_backups(scratch, backups, nbackups, &n);
    struct span *vols = nvolumes ? ARENA_NEW_ARRAY(scratch, struct span, nvolumes) : NULL;
    if (nvolumes > 0) {
        memcpy(vols, volumes, nvolumes * sizeof(*vols));
        qsort(vols, nvolumes, sizeof(*vols), s_cmp_volume);
    }
    for (size_t i = 0; i < nvolumes; i++) {
        if (vols[i].n == 0 || (i > 0 && s_cmp_span(vols[i], vols[i - 1]) == 0)) {
            continue; /* empty, or listed twice: counted once */
        }
        s_count_volume(s_newest(sorted, n, vols[i]), now_s, out);
    }
}

void coverage_add(struct coverage *total, const struct coverage *part) {
    if (!part->known) {
        return;
    }
    if (!total->known) {
        *total = *part;
        return;
    }
    total->volumes += part->volumes;
    total->outside_rpo += part->outside_rpo;
    total->never_backed_up += part->never_backed_up;
    total->oldest_age_s = part->oldest_age_s > total->oldest_age_s ? part->oldest_age_s : total->oldest_age_s;
    total->rpo_s = part->rpo_s > total->rpo_s ? part->rpo_s : total->rpo_s;
}
