/*
 * report.c - records of a cycle's actions and the counts derived from them.
 *
 * Records live in a heap array (grown by doubling) whose strings are copied into the cycle arena. Nothing here
 * talks to AWS or writes logs; the report renderers (SNS body, metrics, audit items) read from here.
 */
#include "backup/report.h"

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
    return d;
}

struct report_counts report_counts(const struct report *r) {
    struct report_counts c = { 0 };
    c.instances_seen = r->instances_seen;
    c.s3_objects_seen = r->s3_objects_seen;
    c.s3_unchanged = r->s3_unchanged;
    for (size_t i = 0; i < r->nitems; i++) {
        const struct report_item *it = &r->items[i];
        if (it->action == REPORT_FAILED) {
            c.failures++;
        }
        if (it->action == REPORT_DEFERRED) {
            c.deferred++;
        }
        if (it->job == REPORT_JOB_EBS) {
            switch (it->action) {
                case REPORT_CREATED:
                    c.snapshots_created++;
                    break;
                case REPORT_COPIED:
                    c.snapshots_copied++;
                    break;
                case REPORT_DELETED:
                    c.snapshots_deleted++;
                    break;
                case REPORT_SKIPPED:
                    c.skipped++;
                    break;
                default:
                    break;
            }
        } else if (it->job == REPORT_JOB_S3) {
            switch (it->action) {
                case REPORT_COPIED:
                    c.s3_objects_copied++;
                    c.s3_bytes_copied += it->bytes;
                    break;
                case REPORT_SKIPPED:
                    c.s3_skipped++;
                    break;
                case REPORT_FAILED:
                    c.s3_failed++;
                    break;
                default:
                    break;
            }
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

bool report_has_failures(const struct report *r) {
    return report_counts(r).failures > 0;
}

void report_counts_json(const struct report_counts *c, struct buf *out) {
    buf_appendf(
      out,
      "\"instances_seen\":%llu,\"snapshots_created\":%llu,\"snapshots_copied\":%llu,\"snapshots_deleted\":%llu,"
      "\"skipped\":%llu,\"failures\":%llu,\"s3_objects_seen\":%llu,\"s3_objects_copied\":%llu,"
      "\"s3_bytes_copied\":%llu,\"s3_unchanged\":%llu,\"s3_skipped\":%llu,\"s3_failed\":%llu,\"deferred\":%llu",
      (unsigned long long) c->instances_seen,
      (unsigned long long) c->snapshots_created,
      (unsigned long long) c->snapshots_copied,
      (unsigned long long) c->snapshots_deleted,
      (unsigned long long) c->skipped,
      (unsigned long long) c->failures,
      (unsigned long long) c->s3_objects_seen,
      (unsigned long long) c->s3_objects_copied,
      (unsigned long long) c->s3_bytes_copied,
      (unsigned long long) c->s3_unchanged,
      (unsigned long long) c->s3_skipped,
      (unsigned long long) c->s3_failed,
      (unsigned long long) c->deferred);
}

const char *report_action_name(enum report_action a) {
    static const char *const names[REPORT__ACTIONS] = {
        "created", "copied", "deleted", "skipped", "failed", "deferred"
    };
    return (unsigned) a < REPORT__ACTIONS ? names[a] : "unknown";
}
