/*
 * retention.c - the retention planner: keep or delete, for every SmartVault snapshot of one region.
 *
 * How: the decisions array is the sort space (no allocation). It is sorted three times by index-carrying
 * records: by snapshot id to reject duplicates, by (is_copy, volume, newest first, id) to rank each volume's
 * completed snapshots and find each GFS period's newest, then back to input order. The per-snapshot decision is
 * a straight list of rules, first match wins, in the order of enum retention_reason - the keep rules all come
 * before the single delete rule, so a new keep rule can only make the planner delete less.
 *
 * What it does not do: parse AWS responses, look up instance tags, delete anything, read the clock, or log.
 * The caller turns the decisions into DeleteSnapshot calls and report records.
 */
#include "backup/retention.h"

#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Printing a volume id in a sentence: real ones are 21 bytes; a longer one is cut, not the sentence. */
#define RETENTION_VOLUME_PRINT_MAX 64

/* AWS's placeholder VolumeId of a copied snapshot ("vol-ffffffff"): not a real volume. */
#define RETENTION_PLACEHOLDER_VOLUME "vol-ffffffff"

enum snap_state snap_state_parse(struct span s) {
    static const struct {
        const char *name;
        enum snap_state st;
    } names[] = {
        { "pending", SNAP_PENDING },         { "completed", SNAP_COMPLETED },   { "error", SNAP_ERROR },
        { "recoverable", SNAP_RECOVERABLE }, { "recovering", SNAP_RECOVERING },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (span_eq_cstr(s, names[i].name)) {
            return names[i].st;
        }
    }
    return SNAP_UNKNOWN;
}

const char *snap_state_name(enum snap_state st) {
    switch (st) {
        case SNAP_PENDING:
            return "pending";
        case SNAP_COMPLETED:
            return "completed";
        case SNAP_ERROR:
            return "error";
        case SNAP_RECOVERABLE:
            return "recoverable";
        case SNAP_RECOVERING:
            return "recovering";
        case SNAP_UNKNOWN:
            break;
    }
    return "unknown";
}

const char *retention_reason_name(enum retention_reason r) {
    switch (r) {
        case RETENTION_KEPT_NOT_OURS:
            return "not_ours";
        case RETENTION_KEPT_HOLD:
            return "hold";
        case RETENTION_KEPT_PENDING:
            return "pending";
        case RETENTION_KEPT_STATE:
            return "state";
        case RETENTION_KEPT_FUTURE:
            return "future";
        case RETENTION_KEPT_NO_VOLUME:
            return "no_volume";
        case RETENTION_KEPT_WITHIN:
            return "within_retention";
        case RETENTION_KEPT_MIN_KEEP:
            return "min_keep";
        case RETENTION_KEPT_GFS_MONTHLY:
            return "gfs_monthly";
        case RETENTION_KEPT_GFS_WEEKLY:
            return "gfs_weekly";
        case RETENTION_KEPT_GFS_DAILY:
            return "gfs_daily";
        case RETENTION_KEPT_INVALID_INPUT:
            return "invalid_input";
        case RETENTION_DELETE_EXPIRED:
            return "expired";
        case RETENTION_DELETE_ERROR:
            return "expired_error";
        case RETENTION__REASONS:
            break;
    }
    return "unknown";
}

uint32_t retention_effective_days(const struct snap *s, uint32_t policy_days) {
    uint32_t o = s->retention_days_override;
    return o >= 1 && o <= RETENTION_MAX_DAYS ? o : policy_days;
}

enum err retention_parse_days(struct span tag_value, uint32_t *days) {
    uint64_t v = 0;
    TRY(span_to_u64(span_trim(tag_value), RETENTION_MAX_DAYS, &v));
    ENSURE(v >= 1, ERR_LIMIT, "retention of 0 days");
    *days = (uint32_t) v;
    return ERR_OK;
}

struct retention_counts retention_count(const struct retention_decision *d, size_t n) {
    struct retention_counts c;
    memset(&c, 0, sizeof(c));
    c.total = n;
    for (size_t i = 0; i < n; i++) {
        if (d[i].action == RETENTION_DELETE) {
            c.to_delete++;
        } else {
            c.kept++;
        }
        if ((unsigned) d[i].reason < RETENTION__REASONS) {
            c.by_reason[d[i].reason]++;
        }
    }
    return c;
}

/* ---- sorting the decisions by the snapshots they point at ---------------------------------------------- */

/* Newer first; equal StartTime: smaller snapshot id first (S6: the tie-break never depends on input order). */
static int s_cmp_newest(const struct snap *a, const struct snap *b) {
    if (a->start_time_s != b->start_time_s) {
        return a->start_time_s > b->start_time_s ? -1 : 1;
    }
    return span_cmp(a->snapshot_id, b->snapshot_id);
}

static int s_cmp_by_id(const struct retention_decision *a, const struct retention_decision *b, const struct snap *s) {
    int c = span_cmp(s[a->index].snapshot_id, s[b->index].snapshot_id);
    if (c != 0) {
        return c;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

static int
s_cmp_by_group(const struct retention_decision *a, const struct retention_decision *b, const struct snap *s) {
    const struct snap *x = &s[a->index];
    const struct snap *y = &s[b->index];
    if (x->is_copy != y->is_copy) {
        return x->is_copy ? 1 : -1;
    }
    int c = span_cmp(x->volume_id, y->volume_id);
    if (c != 0) {
        return c;
    }
    return s_cmp_newest(x, y);
}

static int
s_cmp_by_index(const struct retention_decision *a, const struct retention_decision *b, const struct snap *s) {
    (void) s;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void s_swap(struct retention_decision *a, struct retention_decision *b) {
    struct retention_decision t = *a;
    *a = *b;
    *b = t;
}

static void s_sift_down(
  struct retention_decision *v,
  size_t root,
  size_t end,
  int (*cmp)(const struct retention_decision *, const struct retention_decision *, const struct snap *),
  const struct snap *s) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= end) {
            return;
        }
        if (child + 1 < end && cmp(&v[child], &v[child + 1], s) < 0) {
            child++;
        }
        if (cmp(&v[root], &v[child], s) >= 0) {
            return;
        }
        s_swap(&v[root], &v[child]);
        root = child;
    }
}

/* Heapsort: in place, O(n log n) worst case, no allocation. Not stable - every comparator is a total order. */
static void s_sort(
  struct retention_decision *v,
  size_t n,
  int (*cmp)(const struct retention_decision *, const struct retention_decision *, const struct snap *),
  const struct snap *s) {
    if (n < 2) {
        return;
    }
    for (size_t i = n / 2; i-- > 0;) {
        s_sift_down(v, i, n, cmp, s);
    }
    for (size_t end = n - 1; end > 0; end--) {
        s_swap(&v[0], &v[end]);
        s_sift_down(v, 0, end, cmp, s);
    }
}

/* ---- calendar periods (UTC) -------------------------------------------------------------------------- */

/* Times are validated to [0, SNAP_TIME_MAX_S], so plain division is floor division here. */
static int64_t s_day(int64_t t) {
    return t / RETENTION_DAY_S;
}

/* ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday, so day d lies in week (d + 3) / 7. */
static int64_t s_week(int64_t t) {
    return (s_day(t) + 3) / 7;
}

static int64_t s_month(int64_t t) {
    struct civil c = time_civil_from_unix(t);
    return (int64_t) c.year * 12 + (c.month - 1);
}

/* "2026-W47": the ISO year is the year of the week's Thursday. */
static void s_format_week(int64_t week, char *out, size_t cap) {
    int64_t thursday = week * 7; /* Monday is week * 7 - 3 */
    struct civil c = time_civil_from_unix(thursday * RETENTION_DAY_S);
    int week_no = (int) ((thursday - time_days_from_civil(c.year, 1, 1)) / 7 + 1); /* 1..53 */
    snprintf(out, cap, "%04d-W%02d", c.year, week_no);
}

static bool s_in_window(int64_t period, int64_t now_period, uint32_t count) {
    return period <= now_period && period > now_period - (int64_t) count;
}

/* ---- the rules ------------------------------------------------------------------------------------------ */

static bool s_volume_known(struct span volume_id) {
    return volume_id.n > 0 && !span_eq_cstr(volume_id, RETENTION_PLACEHOLDER_VOLUME);
}

/* Completed SmartVault snapshots are the ones min_keep and GFS choose among (S6, S7). */
static bool s_rankable(const struct snap *s) {
    return s->has_marker && s->state == SNAP_COMPLETED && s_volume_known(s->volume_id);
}

static void s_keep_all(struct retention_decision *out, size_t n) {
    for (size_t i = 0; out != NULL && i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].action = RETENTION_KEEP;
        out[i].reason = RETENTION_KEPT_INVALID_INPUT;
        out[i].volume_rank = RETENTION_NO_RANK;
        snprintf(out[i].why, sizeof(out[i].why), "kept: plan rejected (invalid input)");
    }
}

static enum err s_validate(const struct snap *snaps, size_t n, const struct retention_policy *p, int64_t now_s) {
    ENSURE(p != NULL, ERR_INVALID, "retention: no policy");
    ENSURE(n <= SNAP_MAX_COUNT, ERR_LIMIT, "retention: %zu snapshots, max %zu", n, SNAP_MAX_COUNT);
    ENSURE(n == 0 || snaps != NULL, ERR_INVALID, "retention: no snapshots array");
    ENSURE(
      p->retention_days >= 1 && p->retention_days <= RETENTION_MAX_DAYS,
      ERR_INVALID,
      "retention: retention_days %" PRIu32 " outside 1..%u",
      p->retention_days,
      RETENTION_MAX_DAYS);
    ENSURE(p->min_keep <= RETENTION_MAX_MIN_KEEP, ERR_INVALID, "retention: min_keep %" PRIu32, p->min_keep);
    ENSURE(
      p->keep_daily <= RETENTION_MAX_GFS && p->keep_weekly <= RETENTION_MAX_GFS && p->keep_monthly <= RETENTION_MAX_GFS,
      ERR_INVALID,
      "retention: GFS count above %u",
      RETENTION_MAX_GFS);
    ENSURE(now_s >= 0 && now_s <= SNAP_TIME_MAX_S, ERR_INVALID, "retention: now %" PRId64 " out of range", now_s);
    for (size_t i = 0; i < n; i++) {
        ENSURE(snaps[i].snapshot_id.n > 0, ERR_INVALID, "retention: snapshot %zu has no id", i);
        ENSURE(
          snaps[i].start_time_s >= 0 && snaps[i].start_time_s <= SNAP_TIME_MAX_S,
          ERR_INVALID,
          "retention: snapshot %.*s: start time out of range",
          SPAN_FMT(snaps[i].snapshot_id));
    }
    return ERR_OK;
}

/* "9 days"; "7 days 1 s" when whole days alone would read as equal to the retention. */
static void s_format_age(int64_t age_s, uint32_t retention_days, char *out, size_t cap) {
    int64_t days = age_s / RETENTION_DAY_S;
    int64_t rem = age_s % RETENTION_DAY_S;
    const char *unit = days == 1 ? "day" : "days";
    if (rem != 0 && days == (int64_t) retention_days) {
        snprintf(out, cap, "%" PRId64 " %s %" PRId64 " s", days, unit, rem);
    } else {
        snprintf(out, cap, "%" PRId64 " %s", days, unit);
    }
}

/* Walks one group [lo, hi) sorted newest first: volume ranks and the newest of each GFS period. */
static void s_rank_group(
  struct retention_decision *v,
  size_t lo,
  size_t hi,
  const struct snap *snaps,
  const struct retention_policy *p,
  int64_t now_s) {
    uint32_t rank = 0;
    int64_t last_day = -1, last_week = -1, last_month = -1; /* periods of valid times are >= 0 */
    for (size_t k = lo; k < hi; k++) {
        const struct snap *s = &snaps[v[k].index];
        if (!s_rankable(s)) {
            continue;
        }
        v[k].volume_rank = rank;
        if (rank < UINT32_MAX - 1) {
            rank++;
        }
        int64_t day = s_day(s->start_time_s);
        int64_t week = s_week(s->start_time_s);
        int64_t month = s_month(s->start_time_s);
        /* Newest first: the first snapshot met in a period is that period's newest. */
        if (day != last_day && s_in_window(day, s_day(now_s), p->keep_daily)) {
            v[k].gfs |= RETENTION_GFS_DAILY;
        }
        if (week != last_week && s_in_window(week, s_week(now_s), p->keep_weekly)) {
            v[k].gfs |= RETENTION_GFS_WEEKLY;
        }
        if (month != last_month && s_in_window(month, s_month(now_s), p->keep_monthly)) {
            v[k].gfs |= RETENTION_GFS_MONTHLY;
        }
        last_day = day;
        last_week = week;
        last_month = month;
    }
}

static void s_why_gfs(struct retention_decision *d, const struct snap *s) {
    char day[TIME_DATE_LEN + 1];
    char week[32];
    char month[8];
    time_format_date(s->start_time_s, day);
    s_format_week(s_week(s->start_time_s), week, sizeof(week));
    memcpy(month, day, 7);
    month[7] = '\0';
    size_t used = (size_t) snprintf(d->why, sizeof(d->why), "kept: gfs");
    const char *sep = " ";
    if (d->gfs & RETENTION_GFS_MONTHLY) {
        used += (size_t) snprintf(d->why + used, sizeof(d->why) - used, "%smonthly %s", sep, month);
        sep = ", ";
    }
    if ((d->gfs & RETENTION_GFS_WEEKLY) && used < sizeof(d->why)) {
        used += (size_t) snprintf(d->why + used, sizeof(d->why) - used, "%sweekly %s", sep, week);
        sep = ", ";
    }
    if ((d->gfs & RETENTION_GFS_DAILY) && used < sizeof(d->why)) {
        snprintf(d->why + used, sizeof(d->why) - used, "%sdaily %s", sep, day);
    }
}

/* One snapshot, rank and GFS already known. First rule that matches wins; only the last rule deletes. */
/* complexity: retention.h's rules as one chain in their documented order; split up, the order would not show */
static void
s_decide(struct retention_decision *d, const struct snap *s, const struct retention_policy *p, int64_t now_s) {
    d->retention_days = retention_effective_days(s, p->retention_days);
    d->override_used = s->retention_days_override >= 1 && s->retention_days_override <= RETENTION_MAX_DAYS;
    d->age_s = now_s - s->start_time_s;
    d->action = RETENTION_KEEP;
    const char *origin = d->override_used ? " (instance retention tag)" : "";
    const char *origin_inner = d->override_used ? ", instance retention tag" : "";
    char age[48];
    s_format_age(d->age_s, d->retention_days, age, sizeof(age));

    if (!s->has_marker) {
        d->reason = RETENTION_KEPT_NOT_OURS;
        snprintf(d->why, sizeof(d->why), "kept: not created by SmartVault");
    } else if (s->hold) {
        d->reason = RETENTION_KEPT_HOLD;
        snprintf(d->why, sizeof(d->why), "kept: legal hold");
    } else if (s->state == SNAP_PENDING) {
        d->reason = RETENTION_KEPT_PENDING;
        snprintf(d->why, sizeof(d->why), "kept: pending");
    } else if (s->state != SNAP_COMPLETED && s->state != SNAP_ERROR) {
        d->reason = RETENTION_KEPT_STATE;
        snprintf(d->why, sizeof(d->why), "kept: state %s", snap_state_name(s->state));
    } else if (d->age_s < 0) {
        d->reason = RETENTION_KEPT_FUTURE;
        snprintf(d->why, sizeof(d->why), "kept: start time %" PRId64 " s in the future (clock skew)", -d->age_s);
    } else if (!s_volume_known(s->volume_id)) {
        d->reason = RETENTION_KEPT_NO_VOLUME;
        snprintf(d->why, sizeof(d->why), "kept: volume unknown");
    } else if (d->age_s <= (int64_t) d->retention_days * RETENTION_DAY_S) {
        d->reason = RETENTION_KEPT_WITHIN;
        snprintf(
          d->why,
          sizeof(d->why),
          "kept: within retention (%s old <= %" PRIu32 "%s)",
          age,
          d->retention_days,
          origin_inner);
    } else if (d->volume_rank < p->min_keep) {
        d->reason = RETENTION_KEPT_MIN_KEEP;
        int vn = (int) (s->volume_id.n < RETENTION_VOLUME_PRINT_MAX ? s->volume_id.n : RETENTION_VOLUME_PRINT_MAX);
        snprintf(
          d->why,
          sizeof(d->why),
          "kept: min_keep newest completed for %.*s (%" PRIu32 " of %" PRIu32 ")",
          vn,
          s->volume_id.p,
          d->volume_rank + 1,
          p->min_keep);
    } else if (d->gfs != 0) {
        d->reason = d->gfs & RETENTION_GFS_MONTHLY  ? RETENTION_KEPT_GFS_MONTHLY
                    : d->gfs & RETENTION_GFS_WEEKLY ? RETENTION_KEPT_GFS_WEEKLY
                                                    : RETENTION_KEPT_GFS_DAILY;
        s_why_gfs(d, s);
    } else {
        d->action = RETENTION_DELETE;
        bool err_state = s->state == SNAP_ERROR;
        d->reason = err_state ? RETENTION_DELETE_ERROR : RETENTION_DELETE_EXPIRED;
        snprintf(
          d->why,
          sizeof(d->why),
          "expired: %s%s old > retention %" PRIu32 "%s",
          err_state ? "error state, " : "",
          age,
          d->retention_days,
          origin);
    }
}

enum err retention_plan(
  const struct snap *snaps,
  size_t n,
  const struct retention_policy *policy,
  int64_t now_s,
  struct retention_decision *out) {
    if (n > 0 && out == NULL) {
        FAIL(ERR_INVALID, "retention: no decisions array");
    }
    enum err e = s_validate(snaps, n, policy, now_s);
    if (e != ERR_OK) {
        s_keep_all(out, n);
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].index = i;
        out[i].volume_rank = RETENTION_NO_RANK;
    }

    /* S9: ids must be unique, or "the same snapshot" could get two different decisions. */
    s_sort(out, n, s_cmp_by_id, snaps);
    for (size_t k = 1; k < n; k++) {
        if (span_eq(snaps[out[k - 1].index].snapshot_id, snaps[out[k].index].snapshot_id)) {
            s_keep_all(out, n);
            FAIL(ERR_INVALID, "retention: duplicate snapshot id %.*s", SPAN_FMT(snaps[out[k].index].snapshot_id));
        }
    }

    s_sort(out, n, s_cmp_by_group, snaps);
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo + 1;
        const struct snap *first = &snaps[out[lo].index];
        while (hi < n && snaps[out[hi].index].is_copy == first->is_copy &&
               span_eq(snaps[out[hi].index].volume_id, first->volume_id)) {
            hi++;
        }
        s_rank_group(out, lo, hi, snaps, policy, now_s);
        lo = hi;
    }

    s_sort(out, n, s_cmp_by_index, snaps);
    for (size_t i = 0; i < n; i++) {
        s_decide(&out[i], &snaps[i], policy, now_s);
    }
    return ERR_OK;
}
