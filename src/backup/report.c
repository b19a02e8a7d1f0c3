/*
 * report.c - records of a cycle's actions and the counts derived from them.
 *
 * Records live in a heap array (grown by doubling) whose strings are copied into the cycle arena. Nothing here
 * talks to AWS; the one log line is report_deferred's (the one rule for work a stop cancelled, shared by the jobs).
 * The report renderers (SNS body, metrics, audit items) read from here.
 */
#include "backup/report.h"

#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cycle with more actions than this is beyond any fleet we plan for; it is a bug, not a big fleet. */
#define REPORT_MAX_ITEMS ((size_t) 10 * 1000 * 1000)

void report_init(struct report *r, struct arena *arena, int64_t start_ms) {
    memset(r, 0, sizeof(*r));
    r->arena = arena;
    r->start_ms = start_ms;
    rand_uuid4(r->run_id);
}

void report_free(struct report *r) {
    free(r->items);
    r->items = NULL;
    r->nitems = r->cap = 0;
}

static const char *s_dup(struct arena *a, const char *s) {
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

const struct report_item *report_add(struct report *r, const struct report_item *item) {
    if (r->nitems == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        if (cap > REPORT_MAX_ITEMS) {
            FATAL("too many report items");
        }
        struct report_item *p = realloc(r->items, cap * sizeof(*p));
        if (p == NULL) {
            FATAL("out of memory");
        }
        r->items = p;
        r->cap = cap;
    }
    struct report_item *d = &r->items[r->nitems++];
    *d = *item;
    d->region = s_dup(r->arena, item->region);
    d->instance_id = s_dup(r->arena, item->instance_id);
    d->volume_id = s_dup(r->arena, item->volume_id);
    d->snapshot_id = s_dup(r->arena, item->snapshot_id);
    d->source_snapshot_id = s_dup(r->arena, item->source_snapshot_id);
    d->device = s_dup(r->arena, item->device);
    d->bucket = s_dup(r->arena, item->bucket);
    d->key = s_dup(r->arena, item->key);
    d->reason = s_dup(r->arena, item->reason);
    d->aws_code = s_dup(r->arena, item->aws_code);
    d->message = s_dup(r->arena, item->message);
    d->target = r->target;
    d->account_id =
      item->account_id ? s_dup(r->arena, item->account_id) : (r->target ? r->targets[r->target - 1].account_id : NULL);
    return d;
}

static void s_count_item(struct report_counts *c, const struct report_item *it) {
    if (it->action == REPORT_FAILED) {
        c->failures++;
    }
    if (it->action == REPORT_DEFERRED) {
        c->deferred++;
    }
    if (it->job == REPORT_JOB_EBS) {
        switch (it->action) {
            case REPORT_CREATED:
                c->snapshots_created++;
                break;
            case REPORT_COPIED:
                c->snapshots_copied++;
                break;
            case REPORT_DELETED:
                c->snapshots_deleted++;
                break;
            case REPORT_SKIPPED:
                c->skipped++;
                break;
            default:
                break;
        }
    } else if (it->job == REPORT_JOB_DRILL) {
        c->drills_passed += it->action == REPORT_DRILLED ? 1 : 0;
        c->drills_failed += it->action == REPORT_FAILED && it->snapshot_id ? 1 : 0; /* not cleanup failures */
        double s = (double) it->duration_ms / 1000.0;
        c->drill_seconds_max = it->action == REPORT_DRILLED && s > c->drill_seconds_max ? s : c->drill_seconds_max;
    } else if (it->job == REPORT_JOB_S3) {
        switch (it->action) {
            case REPORT_COPIED:
                c->s3_objects_copied++;
                c->s3_bytes_copied += it->bytes;
                break;
            case REPORT_SKIPPED:
                c->s3_skipped++;
                break;
            case REPORT_FAILED:
                c->s3_failed++;
                break;
            default:
                break;
        }
    }
}

struct report_counts report_counts(const struct report *r) {
    struct report_counts c = { 0 };
    c.instances_seen = r->instances_seen;
    c.s3_objects_seen = r->s3_objects_seen;
    c.s3_unchanged = r->s3_unchanged;
    c.s3_skipped = r->s3_skipped_unrecorded;
    for (size_t i = 0; i < r->nitems; i++) {
        s_count_item(&c, &r->items[i]);
    }
    return c;
}

struct report_counts report_target_counts(const struct report *r, uint32_t target) {
    struct report_counts c = { 0 };
    if (target >= 1 && target <= r->ntargets) {
        c.instances_seen = r->targets[target - 1].instances_seen;
    }
    for (size_t i = 0; i < r->nitems; i++) {
        if (r->items[i].target == target) {
            s_count_item(&c, &r->items[i]);
        }
    }
    return c;
}

size_t report_region_counts(const struct report *r, struct report_region_counts *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        if (it->job != REPORT_JOB_EBS || it->region == NULL) {
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(out[k].region, it->region) != 0) {
            k++;
        }
        if (k == n) {
            if (n == max) {
                continue;
            }
            memset(&out[n], 0, sizeof(out[n]));
            if (span_copy_cstr(span_from_cstr(it->region), out[n].region, sizeof(out[n].region)) != ERR_OK) {
                continue; /* region names are short; a longer one is not a region we wrote */
            }
            n++;
        }
        switch (it->action) {
            case REPORT_CREATED:
                out[k].created++;
                break;
            case REPORT_COPIED:
                out[k].copied++;
                break;
            case REPORT_DELETED:
                out[k].deleted++;
                break;
            case REPORT_SKIPPED:
                out[k].skipped++;
                break;
            case REPORT_FAILED:
                out[k].failed++;
                break;
            default:
                break;
        }
    }
    return n;
}

bool report_stop_cancelled(enum err result) {
    return result == ERR_CANCELLED && stop_requested();
}

const struct report_item *report_deferred(struct report *r, struct report_item *it, const char *what, bool maybe_done) {
    static const char *const events[REPORT__JOBS] = {
        "ebs.deferred", "s3.deferred", "report.deferred", "drill.deferred"
    };
    char why[160];
    snprintf(
      why,
      sizeof(why),
      "deferred: %s not %s, run stopped (%s)",
      what,
      maybe_done ? "confirmed" : "done",
      stop_reason_name(stop_reason()));
    it->action = REPORT_DEFERRED;
    it->ts_ms = time_wall_ms();
    it->reason = why;
    it->aws_code = NULL;
    it->message = NULL;
    const struct report_item *d = report_add(r, it);
    LOG(
      LOG_WARN,
      (unsigned) it->job < REPORT__JOBS ? events[it->job] : "report.deferred",
      LF_S("step", what),
      LF_S("region", d->region),
      LF_S("instance_id", d->instance_id),
      LF_S("snapshot_id", d->snapshot_id),
      LF_S("source_snapshot_id", d->source_snapshot_id),
      LF_S("bucket", d->bucket),
      LF_S("key", d->key),
      LF_S("reason", d->reason));
    return d;
}

bool report_has_failures(const struct report *r) {
    return report_counts(r).failures > 0;
}

size_t report_count_fields(const struct report_counts *c, struct report_count_field out[REPORT_COUNT_FIELDS_MAX]) {
    const struct report_count_field f[] = {
        { "instances_seen", "Instances backed up", (double) c->instances_seen, false },
        { "snapshots_created", "Snapshots created", (double) c->snapshots_created, false },
        { "snapshots_copied", "Copies started", (double) c->snapshots_copied, false },
        { "snapshots_deleted", "Snapshots deleted", (double) c->snapshots_deleted, false },
        { "skipped", "Skipped or deferred", (double) c->skipped, false },
        { "failures", "Failures", (double) c->failures, false },
        { "s3_objects_seen", "S3 objects seen", (double) c->s3_objects_seen, false },
        { "s3_objects_copied", "S3 objects copied", (double) c->s3_objects_copied, false },
        { "s3_bytes_copied", "S3 bytes copied", (double) c->s3_bytes_copied, false },
        { "s3_unchanged", "S3 unchanged", (double) c->s3_unchanged, false },
        { "s3_skipped", "S3 skipped", (double) c->s3_skipped, false },
        { "s3_failed", "S3 failed", (double) c->s3_failed, false },
        { "drills_passed", "Restore drills passed", (double) c->drills_passed, false },
        { "drills_failed", "Restore drills failed", (double) c->drills_failed, false },
        { "drill_seconds_max", "Slowest drill (s)", c->drill_seconds_max, true },
        { "deferred", "Deferred by a stop", (double) c->deferred, false },
    };
    _Static_assert(sizeof(f) / sizeof(f[0]) <= REPORT_COUNT_FIELDS_MAX, "REPORT_COUNT_FIELDS_MAX is too small");
    memcpy(out, f, sizeof(f));
    return sizeof(f) / sizeof(f[0]);
}

void report_count_value(const struct report_count_field *f, struct buf *out) {
    if (f->fractional) {
        buf_appendf(out, "%.3f", f->value);
    } else {
        buf_appendf(out, "%llu", (unsigned long long) f->value);
    }
}

void report_counts_json(const struct report_counts *c, struct buf *out) {
    struct report_count_field f[REPORT_COUNT_FIELDS_MAX];
    size_t n = report_count_fields(c, f);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(out, "%s\"%s\":", i ? "," : "", f[i].key);
        report_count_value(&f[i], out);
    }
}

const char *report_action_name(enum report_action a) {
    static const char *const names[REPORT__ACTIONS] = { "created", "copied",  "deleted", "skipped",
                                                        "failed",  "drilled", "deferred" };
    return (unsigned) a < REPORT__ACTIONS ? names[a] : "unknown";
}
