/*
 * plan.c - the due-instance and copy planners (rules in plan.h).
 *
 * Both use their output array as the sort space, as retention.c does: records carrying the input index are
 * sorted by id so lookups are binary searches (instances by id for the due plan; sources by id to find their
 * existing copies), then into the order the caller needs. Nothing is allocated, the clock is never read.
 *
 * What it does not do: call AWS, wait for pending snapshots, or decide what to delete (retention.c). The
 * caller issues CreateSnapshots / CopySnapshot for what is planned and reports every deferral and skip.
 */
#include "backup/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Printing a volume id in a sentence: real ones are 21 bytes. */
#define PLAN_VOLUME_PRINT_MAX 64

/* Marks a record nobody has decided yet (never visible to callers). */
#define PLAN_COPY_UNDECIDED PLAN__COPY_REASONS

const char *plan_due_reason_name(enum plan_due_reason r) {
    switch (r) {
        case PLAN_DUE_FIRST:
            return "first";
        case PLAN_DUE_INTERVAL:
            return "interval";
        case PLAN_NOT_DUE_RECENT:
            return "recent";
        case PLAN_NOT_DUE_FUTURE:
            return "future";
        case PLAN_NOT_DUE_DUPLICATE:
            return "duplicate";
        case PLAN_NOT_DUE_INVALID_INPUT:
            return "invalid_input";
        case PLAN__DUE_REASONS:
            break;
    }
    return "unknown";
}

const char *plan_copy_reason_name(enum plan_copy_reason r) {
    switch (r) {
        case PLAN_COPY_START_LATEST:
            return "latest";
        case PLAN_COPY_START_BACKFILL:
            return "backfill";
        case PLAN_COPY_DEFER_PENDING:
            return "pending";
        case PLAN_COPY_DEFER_LIMIT:
            return "copy_limit";
        case PLAN_COPY_SKIP_NOT_OURS:
            return "not_ours";
        case PLAN_COPY_SKIP_IS_COPY:
            return "is_copy";
        case PLAN_COPY_SKIP_DUPLICATE:
            return "duplicate";
        case PLAN_COPY_SKIP_EXISTS:
            return "copy_exists";
        case PLAN_COPY_SKIP_EXISTS_ERROR:
            return "copy_failed";
        case PLAN_COPY_SKIP_STATE:
            return "state";
        case PLAN_COPY_SKIP_EXPIRED:
            return "expired";
        case PLAN_COPY_SKIP_INVALID_INPUT:
            return "invalid_input";
        case PLAN__COPY_REASONS:
            break;
    }
    return "unknown";
}

/* ---- an in-place heapsort over any record type ------------------------------------------------------- */

/* Record sizes here are a few hundred bytes; the swap goes through a small bounce buffer. */
#define PLAN_SWAP_CHUNK 64

struct s_sorter {
    unsigned char *base;
    size_t size;
    int (*cmp)(const void *a, const void *b, const void *ctx);
    const void *ctx;
};

static void s_swap(const struct s_sorter *s, size_t i, size_t j) {
    unsigned char tmp[PLAN_SWAP_CHUNK];
    unsigned char *a = s->base + i * s->size;
    unsigned char *b = s->base + j * s->size;
    for (size_t off = 0; off < s->size; off += PLAN_SWAP_CHUNK) {
        size_t k = s->size - off < PLAN_SWAP_CHUNK ? s->size - off : PLAN_SWAP_CHUNK;
        memcpy(tmp, a + off, k);
        memcpy(a + off, b + off, k);
        memcpy(b + off, tmp, k);
    }
}

static int s_at(const struct s_sorter *s, size_t i, size_t j) {
    return s->cmp(s->base + i * s->size, s->base + j * s->size, s->ctx);
}

static void s_sift_down(const struct s_sorter *s, size_t root, size_t end) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= end) {
            return;
        }
        if (child + 1 < end && s_at(s, child, child + 1) < 0) {
            child++;
        }
        if (s_at(s, root, child) >= 0) {
            return;
        }
        s_swap(s, root, child);
        root = child;
    }
}

/* Not stable: every comparator below ends with the input index, so each is a total order. */
static void
s_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, const void *), const void *ctx) {
    struct s_sorter s = { base, size, cmp, ctx };
    if (n < 2) {
        return;
    }
    for (size_t i = n / 2; i-- > 0;) {
        s_sift_down(&s, i, n);
    }
    for (size_t end = n - 1; end > 0; end--) {
        s_swap(&s, 0, end);
        s_sift_down(&s, 0, end);
    }
}

static int s_cmp_index(size_t a, size_t b) {
    return a < b ? -1 : a > b;
}

/* Newer first; equal StartTime: smaller snapshot id first (the same tie-break as retention.c). */
static int s_cmp_newest(const struct snap *a, const struct snap *b) {
    if (a->start_time_s != b->start_time_s) {
        return a->start_time_s > b->start_time_s ? -1 : 1;
    }
    return span_cmp(a->snapshot_id, b->snapshot_id);
}

static bool s_time_ok(int64_t t) {
    return t >= 0 && t <= SNAP_TIME_MAX_S;
}

/* ---- due instances ----------------------------------------------------------------------------------- */

static int s_due_by_id(const void *a, const void *b, const void *ctx) {
    const struct plan_due *x = a;
    const struct plan_due *y = b;
    const struct span *ids = ctx;
    int c = span_cmp(ids[x->index], ids[y->index]);
    return c != 0 ? c : s_cmp_index(x->index, y->index);
}

static int s_due_by_index(const void *a, const void *b, const void *ctx) {
    (void) ctx;
    return s_cmp_index(((const struct plan_due *) a)->index, ((const struct plan_due *) b)->index);
}

/* The first record (lowest input index) whose instance id is `id`, in `v` sorted by s_due_by_id; or NULL. */
static struct plan_due *s_due_find(struct plan_due *v, size_t n, const struct span *ids, struct span id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (span_cmp(ids[v[mid].index], id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && span_eq(ids[v[lo].index], id) ? &v[lo] : NULL;
}

static bool s_counts_for_due(const struct snap *s) {
    return s->has_marker && !s->is_copy && s->instance_id.n > 0 &&
           (s->state == SNAP_PENDING || s->state == SNAP_COMPLETED);
}

static void s_due_reject(struct plan_due *out, size_t n) {
    for (size_t i = 0; out != NULL && i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].due = false;
        out[i].reason = PLAN_NOT_DUE_INVALID_INPUT;
        snprintf(out[i].why, sizeof(out[i].why), "not due: plan rejected (invalid input)");
    }
}

static enum err s_due_validate(
  const struct span *ids,
  size_t ninst,
  const struct snap *snaps,
  size_t nsnaps,
  int64_t min_interval_s,
  int64_t now_s) {
    ENSURE(ninst <= PLAN_MAX_INSTANCES, ERR_LIMIT, "plan: %zu instances, max %zu", ninst, PLAN_MAX_INSTANCES);
    ENSURE(nsnaps <= SNAP_MAX_COUNT, ERR_LIMIT, "plan: %zu snapshots, max %zu", nsnaps, SNAP_MAX_COUNT);
    ENSURE(ninst == 0 || ids != NULL, ERR_INVALID, "plan: no instance array");
    ENSURE(nsnaps == 0 || snaps != NULL, ERR_INVALID, "plan: no snapshot array");
    ENSURE(
      min_interval_s >= 0 && min_interval_s <= PLAN_MAX_INTERVAL_S,
      ERR_INVALID,
      "plan: min_interval_s %" PRId64 " out of range",
      min_interval_s);
    ENSURE(s_time_ok(now_s), ERR_INVALID, "plan: now %" PRId64 " out of range", now_s);
    for (size_t i = 0; i < ninst; i++) {
        ENSURE(ids[i].n > 0, ERR_INVALID, "plan: instance %zu has no id", i);
    }
    for (size_t i = 0; i < nsnaps; i++) {
        ENSURE(
          s_time_ok(snaps[i].start_time_s),
          ERR_INVALID,
          "plan: snapshot %.*s: start time out of range",
          SPAN_FMT(snaps[i].snapshot_id));
    }
    return ERR_OK;
}

static void s_due_decide(struct plan_due *d, int64_t min_interval_s, int64_t now_s) {
    if (d->reason == PLAN_NOT_DUE_DUPLICATE) {
        d->due = false;
        snprintf(d->why, sizeof(d->why), "not due: instance listed twice");
        return;
    }
    if (!d->has_last) {
        d->due = true;
        d->reason = PLAN_DUE_FIRST;
        snprintf(d->why, sizeof(d->why), "due: no SmartVault snapshot yet");
        return;
    }
    int64_t age = now_s - d->last_start_s;
    if (age < 0) {
        d->due = false;
        d->reason = PLAN_NOT_DUE_FUTURE;
        snprintf(d->why, sizeof(d->why), "not due: last snapshot starts %" PRId64 " s in the future", -age);
    } else if (age < min_interval_s) {
        d->due = false;
        d->reason = PLAN_NOT_DUE_RECENT;
        snprintf(
          d->why,
          sizeof(d->why),
          "not due: last snapshot %" PRId64 " s ago < interval %" PRId64 " s",
          age,
          min_interval_s);
    } else {
        d->due = true;
        d->reason = PLAN_DUE_INTERVAL;
        snprintf(
          d->why,
          sizeof(d->why),
          "due: last snapshot %" PRId64 " s ago >= interval %" PRId64 " s",
          age,
          min_interval_s);
    }
}

enum err plan_due_instances(
  const struct span *instance_ids,
  size_t ninst,
  const struct snap *snaps,
  size_t nsnaps,
  int64_t min_interval_s,
  int64_t now_s,
  struct plan_due *out) {
    if (ninst > 0 && out == NULL) {
        FAIL(ERR_INVALID, "plan: no output array");
    }
    enum err e = s_due_validate(instance_ids, ninst, snaps, nsnaps, min_interval_s, now_s);
    if (e != ERR_OK) {
        s_due_reject(out, ninst);
        return e;
    }
    for (size_t i = 0; i < ninst; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].reason = PLAN_DUE_FIRST;
    }
    s_sort(out, ninst, sizeof(*out), s_due_by_id, instance_ids);
    for (size_t k = 1; k < ninst; k++) {
        if (span_eq(instance_ids[out[k - 1].index], instance_ids[out[k].index])) {
            out[k].reason = PLAN_NOT_DUE_DUPLICATE; /* sorted by (id, index): out[k] is the later one */
        }
    }
    for (size_t j = 0; j < nsnaps; j++) {
        const struct snap *s = &snaps[j];
        if (!s_counts_for_due(s)) {
            continue;
        }
        struct plan_due *d = s_due_find(out, ninst, instance_ids, s->instance_id);
        if (d != NULL && (!d->has_last || s->start_time_s > d->last_start_s)) {
            d->has_last = true;
            d->last_start_s = s->start_time_s;
        }
    }
    s_sort(out, ninst, sizeof(*out), s_due_by_index, NULL);
    for (size_t i = 0; i < ninst; i++) {
        s_due_decide(&out[i], min_interval_s, now_s);
    }
    return ERR_OK;
}

/* ---- copies ------------------------------------------------------------------------------------------ */

static int s_copy_by_id(const void *a, const void *b, const void *ctx) {
    const struct plan_copy_decision *x = a;
    const struct plan_copy_decision *y = b;
    const struct snap *src = ctx;
    int c = span_cmp(src[x->index].snapshot_id, src[y->index].snapshot_id);
    return c != 0 ? c : s_cmp_index(x->index, y->index);
}

static int s_copy_by_volume(const void *a, const void *b, const void *ctx) {
    const struct plan_copy_decision *x = a;
    const struct plan_copy_decision *y = b;
    const struct snap *src = ctx;
    int c = span_cmp(src[x->index].volume_id, src[y->index].volume_id);
    if (c == 0) {
        c = s_cmp_newest(&src[x->index], &src[y->index]);
    }
    return c != 0 ? c : s_cmp_index(x->index, y->index);
}

static int s_action_rank(enum plan_copy_action a) {
    return a == PLAN_COPY_START ? 0 : a == PLAN_COPY_DEFER ? 1 : 2;
}

/* Plan order: start, defer, skip; latest of a volume before backfill; newest first; id; input index. */
static int s_copy_by_plan(const void *a, const void *b, const void *ctx) {
    const struct plan_copy_decision *x = a;
    const struct plan_copy_decision *y = b;
    const struct snap *src = ctx;
    int c = s_action_rank(x->action) - s_action_rank(y->action);
    if (c == 0 && x->action != PLAN_COPY_SKIP) {
        c = (int) y->latest - (int) x->latest;
        if (c == 0) {
            c = s_cmp_newest(&src[x->index], &src[y->index]);
        }
    } else if (c == 0) {
        c = span_cmp(src[x->index].snapshot_id, src[y->index].snapshot_id);
    }
    return c != 0 ? c : s_cmp_index(x->index, y->index);
}

/* First record (lowest input index) of source `id` in v sorted by s_copy_by_id; or NULL. */
static struct plan_copy_decision *
s_copy_find(struct plan_copy_decision *v, size_t n, const struct snap *src, struct span id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (span_cmp(src[v[mid].index].snapshot_id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && span_eq(src[v[lo].index].snapshot_id, id) ? &v[lo] : NULL;
}

static bool s_copy_candidate(const struct snap *s) {
    return s->has_marker && !s->is_copy && s->state == SNAP_COMPLETED;
}

static void s_copy_reject(struct plan_copy_decision *out, size_t n, struct plan_copy_counts *counts) {
    for (size_t i = 0; out != NULL && i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].action = PLAN_COPY_SKIP;
        out[i].reason = PLAN_COPY_SKIP_INVALID_INPUT;
    }
    if (counts != NULL) {
        memset(counts, 0, sizeof(*counts));
        counts->skipped = out != NULL ? n : 0;
        counts->by_reason[PLAN_COPY_SKIP_INVALID_INPUT] = counts->skipped;
    }
}

static enum err s_copy_validate(
  const struct snap *src,
  size_t nsrc,
  const struct snap *dst,
  size_t ndst,
  const struct plan_copy_policy *p,
  int64_t now_s) {
    ENSURE(p != NULL, ERR_INVALID, "plan: no copy policy");
    ENSURE(
      nsrc <= SNAP_MAX_COUNT && ndst <= SNAP_MAX_COUNT, ERR_LIMIT, "plan: more than %zu snapshots", SNAP_MAX_COUNT);
    ENSURE(nsrc == 0 || src != NULL, ERR_INVALID, "plan: no source array");
    ENSURE(ndst == 0 || dst != NULL, ERR_INVALID, "plan: no destination array");
    ENSURE(
      p->retention_days >= 1 && p->retention_days <= RETENTION_MAX_DAYS,
      ERR_INVALID,
      "plan: retention_days %" PRIu32 " out of range",
      p->retention_days);
    ENSURE(
      p->copy_limit >= 1 && p->copy_limit <= PLAN_MAX_COPY_LIMIT,
      ERR_INVALID,
      "plan: copy_limit %" PRIu32 " outside 1..%u",
      p->copy_limit,
      PLAN_MAX_COPY_LIMIT);
    ENSURE(s_time_ok(now_s), ERR_INVALID, "plan: now %" PRId64 " out of range", now_s);
    for (size_t i = 0; i < nsrc; i++) {
        ENSURE(src[i].snapshot_id.n > 0, ERR_INVALID, "plan: source snapshot %zu has no id", i);
        ENSURE(
          s_time_ok(src[i].start_time_s),
          ERR_INVALID,
          "plan: snapshot %.*s: start time out of range",
          SPAN_FMT(src[i].snapshot_id));
    }
    return ERR_OK;
}

/* The rules of plan.h, first match wins. Eligible snapshots get a provisional START; slots are given later. */
static void
s_copy_decide(struct plan_copy_decision *d, const struct snap *s, const struct plan_copy_policy *p, int64_t now_s) {
    d->retention_days = retention_effective_days(s, p->retention_days);
    d->age_s = now_s - s->start_time_s;
    d->action = PLAN_COPY_SKIP;
    if (d->reason == PLAN_COPY_SKIP_DUPLICATE) {
        return;
    }
    if (!s->has_marker) {
        d->reason = PLAN_COPY_SKIP_NOT_OURS;
    } else if (s->is_copy) {
        d->reason = PLAN_COPY_SKIP_IS_COPY;
    } else if (d->copies_existing > d->copies_failed) {
        d->reason = PLAN_COPY_SKIP_EXISTS;
    } else if (d->copies_existing > 0) {
        d->reason = PLAN_COPY_SKIP_EXISTS_ERROR;
    } else if (s->state == SNAP_PENDING) {
        d->action = PLAN_COPY_DEFER;
        d->reason = PLAN_COPY_DEFER_PENDING;
    } else if (s->state != SNAP_COMPLETED) {
        d->reason = PLAN_COPY_SKIP_STATE;
    } else if (d->age_s >= (int64_t) d->retention_days * RETENTION_DAY_S) {
        d->reason = PLAN_COPY_SKIP_EXPIRED;
    } else {
        d->action = PLAN_COPY_START;
        d->reason = d->latest ? PLAN_COPY_START_LATEST : PLAN_COPY_START_BACKFILL;
    }
}

/* complexity: one sentence per reason of plan.h, in its order */
const char *plan_copy_why(
  const struct plan_copy_decision *d,
  const struct snap *src,
  const struct plan_copy_policy *p,
  char *buf,
  size_t cap) {
    const struct snap *s = &src[d->index];
    int vn = (int) (s->volume_id.n < PLAN_VOLUME_PRINT_MAX ? s->volume_id.n : PLAN_VOLUME_PRINT_MAX);
    switch (d->reason) {
        case PLAN_COPY_START_LATEST:
            snprintf(buf, cap, "copy: newest completed snapshot of %.*s", vn, s->volume_id.p);
            break;
        case PLAN_COPY_START_BACKFILL:
            snprintf(
              buf, cap, "copy: inside retention (%" PRId64 " s old < %" PRIu32 " days)", d->age_s, d->retention_days);
            break;
        case PLAN_COPY_DEFER_PENDING:
            snprintf(buf, cap, "deferred: source pending, a later cycle copies it");
            break;
        case PLAN_COPY_DEFER_LIMIT:
            snprintf(
              buf, cap, "deferred: copy limit (%" PRIu32 " in flight, limit %" PRIu32 ")", d->in_flight, p->copy_limit);
            break;
        case PLAN_COPY_SKIP_NOT_OURS:
            snprintf(buf, cap, "skipped: not created by SmartVault");
            break;
        case PLAN_COPY_SKIP_IS_COPY:
            snprintf(buf, cap, "skipped: is itself a copy");
            break;
        case PLAN_COPY_SKIP_DUPLICATE:
            snprintf(buf, cap, "skipped: listed twice");
            break;
        case PLAN_COPY_SKIP_EXISTS:
            snprintf(buf, cap, "skipped: copy exists in the destination");
            break;
        case PLAN_COPY_SKIP_EXISTS_ERROR:
            snprintf(buf, cap, "skipped: copy failed (error state) - delete the failed copy to let SmartVault retry");
            break;
        case PLAN_COPY_SKIP_STATE:
            snprintf(buf, cap, "skipped: source state %s", snap_state_name(s->state));
            break;
        case PLAN_COPY_SKIP_EXPIRED:
            snprintf(
              buf,
              cap,
              "skipped: outside retention (%" PRId64 " s old >= %" PRIu32 " days)",
              d->age_s,
              d->retention_days);
            break;
        case PLAN_COPY_SKIP_INVALID_INPUT:
        case PLAN__COPY_REASONS:
            snprintf(buf, cap, "skipped: plan rejected (invalid input)");
            break;
    }
    return buf;
}

/* Never twice within one plan: later records of an id are duplicates. */
static void s_copy_mark_duplicates(const struct snap *src, size_t nsrc, struct plan_copy_decision *out) {
    s_sort(out, nsrc, sizeof(*out), s_copy_by_id, src);
    for (size_t k = 1; k < nsrc; k++) {
        if (span_eq(src[out[k - 1].index].snapshot_id, src[out[k].index].snapshot_id)) {
            out[k].reason = PLAN_COPY_SKIP_DUPLICATE;
        }
    }
}

/* Existing copies, in any state, and what is in flight (out sorted by id). */
static void s_copy_count_existing(
  const struct snap *src,
  size_t nsrc,
  const struct snap *dst,
  size_t ndst,
  struct plan_copy_decision *out,
  struct plan_copy_counts *counts) {
    for (size_t j = 0; j < ndst; j++) {
        if (dst[j].state == SNAP_PENDING) {
            counts->in_flight_before++;
        }
        if (dst[j].source_snapshot_id.n == 0) {
            continue;
        }
        struct plan_copy_decision *d = s_copy_find(out, nsrc, src, dst[j].source_snapshot_id);
        if (d != NULL) {
            d->copies_existing++;
            if (dst[j].state == SNAP_ERROR) {
                d->copies_failed++;
            }
        }
    }
}

/* The newest completed SmartVault snapshot of each volume goes first (plan.h ORDER). */
static void s_copy_mark_latest(const struct snap *src, size_t nsrc, struct plan_copy_decision *out) {
    s_sort(out, nsrc, sizeof(*out), s_copy_by_volume, src);
    for (size_t lo = 0; lo < nsrc;) {
        size_t hi = lo;
        bool found = false;
        while (hi < nsrc && span_eq(src[out[hi].index].volume_id, src[out[lo].index].volume_id)) {
            if (!found && s_copy_candidate(&src[out[hi].index])) {
                out[hi].latest = true;
                found = true;
            }
            hi++;
        }
        lo = hi;
    }
}

/* In plan order, the starts beyond the free slots are deferred (they keep their priority for the next cycle). */
static void s_copy_limit(
  const struct snap *src,
  size_t nsrc,
  const struct plan_copy_policy *policy,
  struct plan_copy_decision *out,
  struct plan_copy_counts *counts) {
    s_sort(out, nsrc, sizeof(*out), s_copy_by_plan, src);
    size_t slots = counts->in_flight_before < policy->copy_limit ? policy->copy_limit - counts->in_flight_before : 0;
    for (size_t k = 0; k < nsrc && out[k].action == PLAN_COPY_START; k++) {
        if (k < slots) {
            continue;
        }
        out[k].action = PLAN_COPY_DEFER;
        out[k].reason = PLAN_COPY_DEFER_LIMIT;
        out[k].in_flight = (uint32_t) (counts->in_flight_before + slots); /* here only once every slot is taken */
    }
    for (size_t k = 0; k < nsrc; k++) {
        counts->by_reason[out[k].reason]++;
        if (out[k].action == PLAN_COPY_START) {
            counts->start++;
        } else if (out[k].action == PLAN_COPY_DEFER) {
            counts->deferred++;
        } else {
            counts->skipped++;
        }
    }
}

enum err plan_copies(
  const struct snap *src,
  size_t nsrc,
  const struct snap *dst,
  size_t ndst,
  const struct plan_copy_policy *policy,
  int64_t now_s,
  struct plan_copy_decision *out,
  struct plan_copy_counts *counts) {
    if ((nsrc > 0 && out == NULL) || counts == NULL) {
        s_copy_reject(out, nsrc, counts);
        FAIL(ERR_INVALID, "plan: no output array");
    }
    enum err e = s_copy_validate(src, nsrc, dst, ndst, policy, now_s);
    if (e != ERR_OK) {
        s_copy_reject(out, nsrc, counts);
        return e;
    }
    memset(counts, 0, sizeof(*counts));
    for (size_t i = 0; i < nsrc; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].reason = PLAN_COPY_UNDECIDED;
    }
    s_copy_mark_duplicates(src, nsrc, out);
    s_copy_count_existing(src, nsrc, dst, ndst, out, counts);
    s_copy_mark_latest(src, nsrc, out);
    for (size_t k = 0; k < nsrc; k++) {
        s_copy_decide(&out[k], &src[out[k].index], policy, now_s);
    }
    s_copy_limit(src, nsrc, policy, out, counts);
    return ERR_OK;
}
