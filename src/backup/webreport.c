/*
 * webreport.c - the coverage model: volumes from the instances' block device mappings and from the snapshots
 * kept, each with its newest snapshot, DR copy state, backlog and 30-day calendar; the run's counts, failures
 * and S3 routes. (The page and report.json are written by webreport_render.c.)
 *
 * Lookups are sorted arrays and binary searches (volumes by id, copies by source snapshot id, deleted and failed
 * ids), so a fleet of 5,000 volumes and 100,000 snapshots builds in a few milliseconds. It does not list, call
 * AWS, read a clock or log: the caller hands it the listings and "now".
 */
#include "backup/webreport.h"

#include "backup/retention.h"
#include "backup/tags.h"
#include "base/time.h"

#include <stdlib.h>
#include <string.h>

#define WEBREPORT_HOUR_S 3600
#define WEBREPORT_DAY_S 86400

/* ---- sorted string sets ---- */

struct s_idref {
    struct span id;
    size_t index; /* into the owner's array */
    int state;    /* copies: enum snap_state, or -1 for "started this run" */
};

static int s_idref_cmp(const void *a, const void *b) {
    const struct s_idref *x = a, *y = b;
    int c = span_cmp(x->id, y->id);
    return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static const struct s_idref *s_find(const struct s_idref *v, size_t n, struct span id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = span_cmp(v[mid].id, id);
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && span_eq(v[lo].id, id) ? &v[lo] : NULL;
}

static bool s_set(const char *s) {
    return s != NULL && s[0] != '\0';
}

/* The EBS job's listings are compact records (svc/ec2.h): strings are read through the listing. */
static struct span s_tag(const struct ec2_snaps *l, const struct ec2_snaprec *s, const char *key) {
    return ec2_snaps_tag(l, s, key);
}

static bool s_ours(const struct ec2_snaps *l, const struct ec2_snaprec *s) {
    return span_eq_cstr(s_tag(l, s, TAG_CREATED_BY), TAG_CREATED_BY_VALUE);
}

#define S_ID(l, s) ec2_snaps_str((l), (s)->id)
#define S_VOL(l, s) ec2_snaps_str((l), (s)->volume_id)
#define S_STATE(l, s) ec2_snaps_str((l), (s)->state)

/* ---- the build state ---- */

struct s_build {
    struct arena *a;
    const struct webreport_input *in;
    const struct webreport_part *part; /* the (account, region) being built */
    size_t first;                      /* its first volume in w->volumes */
    bool dr, dst_failed;               /* it has a DR region; that region could not be listed */
    struct webreport *w;
    int64_t today;        /* now_s / day */
    struct s_idref *vols; /* by volume id -> w->volumes index (the part's volumes) */
    size_t nvols;
    struct s_idref *copies; /* by source snapshot id: copies in dst and copies started this run */
    size_t ncopies;
    struct s_idref *deleted; /* snapshot ids deleted this run */
    size_t ndeleted;
    struct s_idref *failed; /* instance and volume ids named by a failure -> failure index */
    size_t nfailed;
    size_t vcap;
};

static const char *s_str(struct arena *a, struct span s) {
    return arena_span_cstr(a, s);
}

static struct webreport_volume *s_new_volume(struct s_build *b) {
    struct webreport *w = b->w;
    if (w->nvolumes == b->vcap) {
        w->volumes = arena_grow_array(b->a, w->volumes, w->nvolumes, &b->vcap, sizeof(*w->volumes));
    }
    struct webreport_volume *v = &w->volumes[w->nvolumes++];
    memset(v, 0, sizeof(*v));
    v->account = s_set(b->part->account) ? b->part->account : "";
    v->region = b->part->region ? b->part->region : "";
    v->instance_id = v->name = v->device = "";
    return v;
}

static void s_index_volumes(struct s_build *b) {
    b->nvols = b->w->nvolumes - b->first;
    b->vols = b->nvols ? ARENA_NEW_ARRAY(b->a, struct s_idref, b->nvols) : NULL;
    for (size_t i = 0; i < b->nvols; i++) {
        b->vols[i] = (struct s_idref){ span_from_cstr(b->w->volumes[b->first + i].volume_id), b->first + i, 0 };
    }
    if (b->nvols) {
        qsort(b->vols, b->nvols, sizeof(*b->vols), s_idref_cmp);
    }
}

static struct webreport_volume *s_volume(const struct s_build *b, struct span id) {
    const struct s_idref *r = s_find(b->vols, b->nvols, id);
    return r ? &b->w->volumes[r->index] : NULL;
}

/* Volumes of the discovered instances, in mapping order. */
static void s_instance_volumes(struct s_build *b) {
    for (size_t i = 0; i < b->part->ninstances; i++) {
        const struct ec2_instance *inst = b->part->instances[i];
        struct span name = ec2_tag_value(inst->tags, inst->ntags, TAG_NAME, NULL);
        for (size_t k = 0; k < inst->nvolumes; k++) {
            struct webreport_volume *v = s_new_volume(b);
            v->instance_id = s_str(b->a, inst->id);
            v->name = s_str(b->a, name);
            v->device = s_str(b->a, inst->volumes[k].device);
            v->volume_id = s_str(b->a, inst->volumes[k].volume_id);
        }
    }
}

/* Volumes only the source snapshots know (instance terminated or untagged): one row each. */
static void s_snapshot_only_volumes(struct s_build *b) {
    const struct ec2_snaps *src = b->part->src;
    size_t n = 0;
    struct s_idref *orphans = src && src->n ? ARENA_NEW_ARRAY(b->a, struct s_idref, src->n) : NULL;
    for (size_t i = 0; src != NULL && i < src->n; i++) {
        const struct ec2_snaprec *s = &src->items[i];
        if (s_ours(src, s) && S_VOL(src, s).n > 0 && s_volume(b, S_VOL(src, s)) == NULL) {
            orphans[n++] = (struct s_idref){ S_VOL(src, s), i, 0 };
        }
    }
    if (n == 0) {
        return;
    }
    qsort(orphans, n, sizeof(*orphans), s_idref_cmp);
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && span_eq(orphans[k].id, orphans[k - 1].id)) {
            continue;
        }
        const struct ec2_snaprec *s = &src->items[orphans[k].index];
        struct webreport_volume *v = s_new_volume(b);
        v->volume_id = s_str(b->a, S_VOL(src, s));
        v->instance_id = s_str(b->a, s_tag(src, s, TAG_INSTANCE_ID));
        v->name = s_str(b->a, s_tag(src, s, TAG_NAME));
        v->instance_gone = true;
    }
    s_index_volumes(b);
}

/* Copies by their source snapshot id: the DR listing, plus the copies this run started. */
static void s_index_copies(struct s_build *b) {
    const struct ec2_snaps *dst = b->part->dst;
    const struct report *r = b->in->report;
    size_t cap = (dst ? dst->n : 0) + (r ? r->nitems : 0);
    b->copies = cap ? ARENA_NEW_ARRAY(b->a, struct s_idref, cap) : NULL;
    b->ncopies = 0;
    for (size_t i = 0; dst != NULL && i < dst->n; i++) {
        struct span src_id = s_tag(dst, &dst->items[i], TAG_SOURCE_SNAPSHOT_ID);
        if (src_id.n) {
            b->copies[b->ncopies++] =
              (struct s_idref){ src_id, i, (int) snap_state_parse(S_STATE(dst, &dst->items[i])) };
        }
    }
    for (size_t i = 0; r != NULL && !r->dry_run && i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        if (it->job == REPORT_JOB_EBS && it->action == REPORT_COPIED && s_set(it->source_snapshot_id)) {
            b->copies[b->ncopies++] = (struct s_idref){ span_from_cstr(it->source_snapshot_id), i, -1 };
        }
    }
    if (b->ncopies) {
        qsort(b->copies, b->ncopies, sizeof(*b->copies), s_idref_cmp);
    }
}

/* Snapshots this run deleted (the listings were taken before retention ran), and ids failures name. */
static void s_index_report(struct s_build *b) {
    const struct report *r = b->in->report;
    if (r == NULL || r->nitems == 0) {
        return;
    }
    b->deleted = ARENA_NEW_ARRAY(b->a, struct s_idref, r->nitems);
    b->failed = ARENA_NEW_ARRAY(b->a, struct s_idref, 2 * r->nitems);
    for (size_t i = 0; i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        if (it->action == REPORT_DELETED && !r->dry_run && s_set(it->snapshot_id)) {
            b->deleted[b->ndeleted++] = (struct s_idref){ span_from_cstr(it->snapshot_id), i, 0 };
        }
        if (it->action == REPORT_FAILED && it->job == REPORT_JOB_EBS) {
            if (s_set(it->instance_id)) {
                b->failed[b->nfailed++] = (struct s_idref){ span_from_cstr(it->instance_id), i, 0 };
            }
            if (s_set(it->volume_id)) {
                b->failed[b->nfailed++] = (struct s_idref){ span_from_cstr(it->volume_id), i, 0 };
            }
        }
    }
    qsort(b->deleted, b->ndeleted, sizeof(*b->deleted), s_idref_cmp);
    qsort(b->failed, b->nfailed, sizeof(*b->failed), s_idref_cmp);
}

static bool s_deleted(const struct s_build *b, struct span id) {
    return s_find(b->deleted, b->ndeleted, id) != NULL;
}

/* Day index of a time: 0 today, 1 yesterday...; -1 when outside the calendar. */
static int s_day(const struct s_build *b, int64_t t_s) {
    int64_t d = b->today - t_s / WEBREPORT_DAY_S;
    return d >= 0 && d < WEBREPORT_DAYS ? (int) d : -1;
}

static void s_mark_day(const struct s_build *b, uint32_t *bits, int64_t t_s) {
    int d = s_day(b, t_s);
    if (d >= 0) {
        *bits |= (uint32_t) 1 << d;
    }
}

/* The copy state of a source snapshot: -2 none, -1 started this run, else enum snap_state of the best copy. */
static int s_copy_state(const struct s_build *b, struct span snapshot_id) {
    const struct s_idref *c = s_find(b->copies, b->ncopies, snapshot_id);
    int best = -2;
    for (; c != NULL && c < b->copies + b->ncopies && span_eq(c->id, snapshot_id); c++) {
        if (c->state == SNAP_COMPLETED) {
            return SNAP_COMPLETED;
        }
        if (c->state == -1 || c->state == SNAP_PENDING) {
            best = SNAP_PENDING;
        } else if (best == -2) {
            best = c->state;
        }
    }
    return best;
}

/* A completed source snapshot: calendar, newest completed (ties by id, for a stable DR state), backlog. */
static void s_completed(
  struct s_build *b,
  struct webreport_volume *v,
  const struct ec2_snaps *l,
  const struct ec2_snaprec *s,
  struct span *newest) {
    struct span id = S_ID(l, s);
    s_mark_day(b, &v->days, s->start_time_s);
    if (s->start_time_s > v->newest_done_s || (s->start_time_s == v->newest_done_s && span_cmp(id, *newest) < 0)) {
        v->newest_done_s = s->start_time_s;
        *newest = id;
    }
    bool inside = b->w->now_s - s->start_time_s < (int64_t) b->w->retention_days * WEBREPORT_DAY_S;
    if (b->dr && !b->dst_failed && inside && s_copy_state(b, id) == -2) {
        v->dr_backlog++;
        if (v->dr_backlog_oldest_s == 0 || s->start_time_s < v->dr_backlog_oldest_s) {
            v->dr_backlog_oldest_s = s->start_time_s;
        }
    }
}

/* Source snapshots: newest, kept, calendar, backlog; the newest completed id per volume (of the part) for its DR. */
static void s_source_snapshots(struct s_build *b, struct span *newest_done_id) {
    const struct ec2_snaps *src = b->part->src;
    for (size_t i = 0; src != NULL && i < src->n; i++) {
        const struct ec2_snaprec *s = &src->items[i];
        const struct s_idref *vr = s_ours(src, s) ? s_find(b->vols, b->nvols, S_VOL(src, s)) : NULL;
        if (vr == NULL || s_deleted(b, S_ID(src, s))) {
            continue;
        }
        struct webreport_volume *v = &b->w->volumes[vr->index];
        enum snap_state st = snap_state_parse(S_STATE(src, s));
        v->kept++;
        if (st == SNAP_PENDING || st == SNAP_COMPLETED) {
            v->newest_s = s->start_time_s > v->newest_s ? s->start_time_s : v->newest_s;
        }
        if (st == SNAP_COMPLETED) {
            s_completed(b, v, src, s, &newest_done_id[vr->index - b->first]);
        }
    }
}

/* Copies in the DR region: how many per volume (their VolumeId tag) and on which days (their CreatedOn tag). */
static void s_dest_snapshots(struct s_build *b) {
    const struct ec2_snaps *dst = b->part->dst;
    for (size_t i = 0; dst != NULL && i < dst->n; i++) {
        const struct ec2_snaprec *s = &dst->items[i];
        struct webreport_volume *v = s_ours(dst, s) ? s_volume(b, s_tag(dst, s, TAG_VOLUME_ID)) : NULL;
        if (v == NULL || s_deleted(b, S_ID(dst, s))) {
            continue;
        }
        v->dr_kept++;
        int64_t day_s = s->start_time_s;
        struct span on = s_tag(dst, s, TAG_CREATED_ON);
        struct civil c = { 0 };
        if (on.n == TIME_DATE_LEN) {
            char tmp[TIME_DATE_LEN + 1];
            memcpy(tmp, on.p, on.n);
            tmp[on.n] = '\0';
            c.year = (int) strtol(tmp, NULL, 10);
            c.month = (int) strtol(tmp + 5, NULL, 10);
            c.day = (int) strtol(tmp + 8, NULL, 10);
            if (c.year > 1970 && c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= 31) {
                day_s = time_unix_from_civil(&c);
            }
        }
        if (snap_state_parse(S_STATE(dst, s)) == SNAP_COMPLETED) {
            s_mark_day(b, &v->dr_days, day_s);
        }
    }
}

/* A drill result if it is newer than the volume's (a failure wins a tie: the same day from the history). */
static void s_drill(struct webreport_volume *v, bool passed, int64_t t_s) {
    if (v->drill == WEBREPORT_DRILL_NONE || t_s > v->drill_s || (t_s == v->drill_s && !passed)) {
        v->drill = passed ? WEBREPORT_DRILL_PASSED : WEBREPORT_DRILL_FAILED;
        v->drill_s = t_s;
    }
}

/* The audit table's calendar items: days beyond the snapshots kept, and the drills of earlier runs. */
static void s_history(struct s_build *b) {
    for (size_t i = 0; i < b->part->nhistory; i++) {
        const struct webreport_history_day *h = &b->part->history[i];
        struct webreport_volume *v = h->volume_id ? s_volume(b, span_from_cstr(h->volume_id)) : NULL;
        if (v == NULL || s_day(b, h->start_s) < 0) {
            continue;
        }
        b->w->has_history = true;
        if (h->kind == WEBREPORT_HIST_SNAP || h->kind == WEBREPORT_HIST_DR) {
            s_mark_day(b, h->kind == WEBREPORT_HIST_DR ? &v->dr_days : &v->days, h->start_s);
        } else {
            /* the day is all the history knows: its start, so this run's drill of the same day is newer */
            s_drill(v, h->kind == WEBREPORT_HIST_DRILL_PASSED, h->start_s - h->start_s % WEBREPORT_DAY_S);
        }
    }
}

/* This run's drills (backup/drill.c: REPORT_DRILLED, or REPORT_FAILED naming the snapshot it restored). */
static void s_run_drills(struct s_build *b) {
    const struct report *r = b->in->report;
    for (size_t i = 0; r != NULL && i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        if (it->job != REPORT_JOB_DRILL || !s_set(it->volume_id) || !s_set(it->snapshot_id)) {
            continue;
        }
        struct webreport_volume *v = NULL;
        if (it->action == REPORT_DRILLED || it->action == REPORT_FAILED) {
            v = s_volume(b, span_from_cstr(it->volume_id));
        }
        if (v != NULL) {
            s_drill(v, it->action == REPORT_DRILLED, it->ts_ms / 1000);
        }
    }
}

/* Snapshots this run created count for the RPO as cycle.done's coverage counts them (a listing may predate them). */
static void s_run_creates(struct s_build *b) {
    const struct report *r = b->in->report;
    for (size_t i = 0; r != NULL && !r->dry_run && i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        struct webreport_volume *v = it->job == REPORT_JOB_EBS && it->action == REPORT_CREATED && s_set(it->volume_id)
                                       ? s_volume(b, span_from_cstr(it->volume_id))
                                       : NULL;
        if (v != NULL && it->ts_ms / 1000 > v->newest_s) {
            v->newest_s = it->ts_ms / 1000;
        }
    }
}

static enum webreport_dr s_dr_state(const struct s_build *b, const struct webreport_volume *v, struct span newest) {
    if (!b->dr) {
        return WEBREPORT_DR_OFF;
    }
    if (b->dst_failed) {
        return WEBREPORT_DR_UNKNOWN;
    }
    if (newest.n == 0) {
        return WEBREPORT_DR_NONE;
    }
    int st = s_copy_state(b, newest);
    if (st == SNAP_COMPLETED) {
        return WEBREPORT_DR_OK;
    }
    if (st == SNAP_PENDING) {
        return WEBREPORT_DR_PENDING;
    }
    return v->dr_kept > 0 ? WEBREPORT_DR_BEHIND : WEBREPORT_DR_MISSING;
}

/* The first failure of this run naming the volume or its instance. */
static const char *s_failure_code(const struct s_build *b, const struct webreport_volume *v) {
    const struct s_idref *f = s_find(b->failed, b->nfailed, span_from_cstr(v->volume_id));
    if (f == NULL && s_set(v->instance_id)) {
        f = s_find(b->failed, b->nfailed, span_from_cstr(v->instance_id));
    }
    if (f == NULL) {
        return NULL;
    }
    const char *code = b->in->report->items[f->index].aws_code;
    return s_set(code) ? code : "failed";
}

static void s_judge(struct s_build *b, struct webreport_volume *v) {
    int64_t now = b->w->now_s, rpo = b->w->rpo_s;
    v->failure_code = s_failure_code(b, v);
    const char *why = NULL;
    if (v->failure_code) {
        why = "failed";
    } else if (v->newest_s == 0) {
        why = "no snapshot";
    } else if (now - v->newest_s > rpo) {
        why = v->instance_gone ? "not discovered" : "stale"; /* untagged or terminated: no longer backed up */
    } else if (v->dr_backlog_oldest_s && now - v->dr_backlog_oldest_s > rpo) {
        why = "DR behind";
    } else if (v->drill == WEBREPORT_DRILL_FAILED) {
        why = "drill failed";
    }
    v->problem = why != NULL;
    v->problem_why = why ? why : "ok";
}

/* Fleet figures, from the judged volumes. */
static void s_totals(struct webreport *w) {
    w->oldest_backup_age_s = -1;
    if (!w->dr_backlog_from_run) {
        w->dr_backlog_oldest_age_s = -1;
    }
    for (size_t i = 0; i < w->nvolumes; i++) {
        const struct webreport_volume *v = &w->volumes[i];
        w->protected_n += v->newest_done_s > 0;
        bool within = v->newest_s > 0 && w->now_s - v->newest_s <= w->rpo_s;
        w->rpo_volumes += !v->instance_gone;
        w->within_rpo += within && !v->instance_gone;
        w->outside_rpo += !within && !v->instance_gone;
        w->dr_up_to_date += v->dr == WEBREPORT_DR_OK || v->dr == WEBREPORT_DR_PENDING;
        w->problems += v->problem;
        w->dr_backlog += w->dr_backlog_from_run ? 0 : v->dr_backlog;
        if (v->newest_s > 0 && w->now_s - v->newest_s > w->oldest_backup_age_s) {
            w->oldest_backup_age_s = w->now_s - v->newest_s;
        }
        if (
          !w->dr_backlog_from_run && v->dr_backlog_oldest_s > 0 &&
          w->now_s - v->dr_backlog_oldest_s > w->dr_backlog_oldest_age_s) {
            w->dr_backlog_oldest_age_s = w->now_s - v->dr_backlog_oldest_s;
        }
        w->has_drills = w->has_drills || v->drill != WEBREPORT_DRILL_NONE;
        w->drills_passed += v->drill == WEBREPORT_DRILL_PASSED;
        w->drills_failed += v->drill == WEBREPORT_DRILL_FAILED;
    }
}

/* Row order: group (account, region), problems first, then name, instance, device, volume. */
static int s_row_cmp(const void *a, const void *b) {
    const struct webreport_volume *x = a, *y = b;
    int c = strcmp(x->account, y->account);
    c = c ? c : strcmp(x->region, y->region);
    c = c ? c : (int) y->problem - (int) x->problem;
    c = c ? c : strcmp(x->name, y->name);
    c = c ? c : strcmp(x->instance_id, y->instance_id);
    c = c ? c : strcmp(x->device, y->device);
    return c ? c : strcmp(x->volume_id, y->volume_id);
}

static size_t s_groups(const struct webreport *w) {
    size_t n = 0;
    for (size_t i = 0; i < w->nvolumes; i++) {
        n += i == 0 || strcmp(w->volumes[i].account, w->volumes[i - 1].account) != 0 ||
             strcmp(w->volumes[i].region, w->volumes[i - 1].region) != 0;
    }
    return n;
}

/* ---- the run ---- */

/* The S3 job's routes and what each did in this run (from the report's S3 items). */
static void s_routes(struct s_build *b, const struct report *r, const struct cfg *cfg) {
    struct webreport *w = b->w;
    w->nroutes = cfg->s3_nroutes;
    w->routes = ARENA_NEW_ARRAY(b->a, struct webreport_route, cfg->s3_nroutes);
    for (size_t k = 0; k < cfg->s3_nroutes; k++) {
        w->routes[k] =
          (struct webreport_route){ .prefix = cfg->s3_routes[k].prefix, .bucket = cfg->s3_routes[k].bucket };
    }
    for (size_t i = 0; i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        const struct cfg_route *rt =
          it->job == REPORT_JOB_S3 && it->key ? cfg_s3_route(cfg, span_from_cstr(it->key)) : NULL;
        if (rt == NULL) {
            continue;
        }
        struct webreport_route *o = &w->routes[rt - cfg->s3_routes];
        o->copied += it->action == REPORT_COPIED;
        o->bytes += it->action == REPORT_COPIED ? it->bytes : 0;
        o->skipped += it->action == REPORT_SKIPPED;
        o->failed += it->action == REPORT_FAILED;
    }
}

static void s_run(struct s_build *b) {
    const struct report *r = b->in->report;
    struct webreport *w = b->w;
    w->has_run = r != NULL;
    if (r == NULL) {
        return;
    }
    w->report = r;
    w->outcome = b->in->outcome ? b->in->outcome : "ok";
    w->counts = report_counts(r);
    w->failures = ARENA_NEW_ARRAY(b->a, const struct report_item *, r->nitems ? r->nitems : 1);
    for (size_t i = 0; i < r->nitems && w->nfailures < WEBREPORT_FAILURES_MAX; i++) {
        if (r->items[i].action == REPORT_FAILED) {
            w->failures[w->nfailures++] = &r->items[i];
        }
    }
    const struct cfg *cfg = b->in->cfg;
    if (cfg != NULL && r->s3_ran && cfg->s3_nroutes > 0) {
        s_routes(b, r, cfg);
    }
}

/* The DR backlog of the header: the run's copy plan's figures (cycle.done's) when a single-target run made one. */
static void s_run_backlog(struct s_build *b) {
    const struct report *r = b->in->report;
    if (r != NULL && r->dr_backlog_known && r->ntargets == 0 && b->w->dest_region != NULL) {
        b->w->dr_backlog_from_run = true;
        b->w->dr_backlog = r->dr_backlog;
        b->w->dr_backlog_oldest_age_s = r->dr_backlog ? r->dr_backlog_oldest_s : -1;
    }
}

int64_t webreport_default_rpo_s(const struct cfg *cfg) {
    int64_t rpo = cfg ? 2 * cfg->min_interval_s : 0;
    return rpo < WEBREPORT_HOUR_S ? WEBREPORT_HOUR_S : rpo;
}

/* Some DR region could not be listed. */
static bool s_dst_failed(const struct webreport_input *in, const char *dest_region) {
    bool failed = in->nparts == 0 && dest_region != NULL && (in->dst == NULL || in->dst_failed);
    for (size_t i = 0; i < in->nparts; i++) {
        failed = failed || (in->parts[i].dest_region && (!in->parts[i].dst || in->parts[i].dst_failed));
    }
    return failed;
}

static void s_header(struct s_build *b) {
    const struct webreport_input *in = b->in;
    struct webreport *w = b->w;
    const struct cfg *cfg = in->cfg;
    char ts[TIME_ISO8601_LEN + 1];
    time_format_iso8601(in->now_s, ts);
    w->generated_at = arena_strndup(b->a, ts, strlen(ts));
    w->now_s = in->now_s;
    w->account = s_set(in->account) ? arena_strndup(b->a, in->account, strlen(in->account)) : NULL;
    w->source_region = in->source_region;
    w->dest_region = cfg ? cfg->dest_region : NULL;
    for (size_t i = 0; i < in->nparts && w->dest_region == NULL; i++) {
        w->dest_region = in->parts[i].dest_region; /* DEST_REGION_MAP: some target has a DR region */
    }
    w->retention_days = cfg ? cfg->retention_days : CFG_DEFAULT_RETENTION_DAYS;
    w->rpo_s = in->rpo_s > 0 ? in->rpo_s : cfg && cfg->rpo_s > 0 ? cfg->rpo_s : webreport_default_rpo_s(cfg);
    w->backup_tag = cfg ? arena_printf(b->a, "%s=%s", cfg->backup_tag.keys[0], cfg->backup_tag.value) : "";
    w->listed = in->src != NULL;
    w->dst_failed = s_dst_failed(in, w->dest_region);
    w->runs = in->runs;
    w->nruns = in->nruns < WEBREPORT_RUNS_MAX ? in->nruns : WEBREPORT_RUNS_MAX;
}

/* One (account, region): its volumes, their snapshots, copies, calendar and this run's drills. */
static void s_part(struct s_build *b, const struct webreport_part *part) {
    b->part = part;
    b->first = b->w->nvolumes;
    b->dr = part->dest_region != NULL;
    b->dst_failed = b->dr && (part->dst == NULL || part->dst_failed);
    s_instance_volumes(b);
    s_index_volumes(b);
    s_snapshot_only_volumes(b);
    s_index_copies(b);
    struct span *newest = b->nvols ? ARENA_NEW_ARRAY(b->a, struct span, b->nvols) : NULL;
    s_source_snapshots(b, newest);
    s_dest_snapshots(b);
    s_history(b);
    s_run_drills(b);
    s_run_creates(b);
    for (size_t i = 0; i < b->nvols; i++) {
        struct webreport_volume *v = &b->w->volumes[b->first + i];
        v->dr = s_dr_state(b, v, newest[i]);
    }
}

void webreport_build(struct arena *a, const struct webreport_input *in, struct webreport *out) {
    memset(out, 0, sizeof(*out));
    struct s_build b = { .a = a, .in = in, .w = out, .today = in->now_s / WEBREPORT_DAY_S };
    s_header(&b);
    s_index_report(&b);
    struct webreport_part single = { .account = out->account,
                                     .region = in->source_region,
                                     .dest_region = out->dest_region,
                                     .instances = in->instances,
                                     .ninstances = in->ninstances,
                                     .src = in->src,
                                     .dst = in->dst,
                                     .dst_failed = in->dst_failed,
                                     .history = in->history,
                                     .nhistory = in->nhistory };
    for (size_t i = 0; i < (in->nparts ? in->nparts : 1); i++) {
        s_part(&b, in->nparts ? &in->parts[i] : &single);
    }
    s_run(&b);
    s_run_backlog(&b);
    for (size_t i = 0; i < out->nvolumes; i++) {
        s_judge(&b, &out->volumes[i]);
    }
    s_totals(out);
    if (out->nvolumes > 1) {
        qsort(out->volumes, out->nvolumes, sizeof(*out->volumes), s_row_cmp);
    }
    out->ngroups = s_groups(out);
}

const char *webreport_dr_name(enum webreport_dr d) {
    static const char *const names[] = { "off", "ok", "pending", "behind", "missing", "none", "unknown" };
    return (unsigned) d < sizeof(names) / sizeof(names[0]) ? names[d] : "unknown";
}
