/*
 * s3copy.c - the S3 job of a cycle (seed 004, issue 6): copy new and changed objects of the source bucket into
 * the backup bucket of their folder, server-side and incrementally.
 *
 * Phase by phase, each phase a batch through aws_run:
 *   1. list: the source bucket (every page), every destination scope (s3copy_scopes, every page) and the
 *      incomplete multipart uploads in those scopes, in rounds: each round sends the next page of every listing
 *      at once, so the wall time is that of the longest listing, not of all of them;
 *   2. plan: route each source key (cfg_s3_route, longest prefix), find its copy by binary search in the sorted
 *      destination listing, decide with s3copy_decide; keys without a route are reported as skipped;
 *   3. copy: CopyObject for small objects, and HeadObject for large ones, together with the abort of
 *      abandoned uploads (s3copy_upload_stale); then GetObjectTagging for tagged large ones,
 *      CreateMultipartUpload (content headers, metadata and tags of the source), all UploadPartCopy parts of
 *      all large objects, CompleteMultipartUpload, and AbortMultipartUpload for every upload that failed, so
 *      nothing incomplete is left behind.
 * Requests are handed to aws_run S3COPY_WINDOW at a time, their strings in the scratch arena rewound after each
 * window, so memory grows with the listings only (keys in the cycle arena), never with the number of copies.
 *
 * A bucket in another region is found from the first listing's redirect (x-amz-bucket-region) and used from
 * then on. Every action is recorded in the report; one object failing never stops the others; a destination
 * whose listing failed has its objects left for the next run (one failure recorded), never copied blindly.
 *
 * What it does not do: delete anything in a destination (versioning and lifecycle rules keep history),
 * build or parse S3 requests (svc/s3), retry (net/retry through aws/call), choose the exit code (main.c).
 */
#include "backup/s3copy.h"

#include "aws/region.h"
#include "backup/cycle.h"
#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests given to aws_run at once: about 1.4 KiB each, so a window holds well under a megabyte. */
#define S3COPY_WINDOW 512
/* Objects kept from all listings together (about 100 bytes each in the cycle arena). */
#define S3COPY_MAX_LISTED ((size_t) 2 * 1000 * 1000)
/* Region redirects followed per listing: one (the bucket's region is then known). */
#define S3COPY_MAX_REDIRECTS 1

/* ---- pure decisions ------------------------------------------------------------------------------------- */

bool s3copy_etag_single_part(struct span etag) {
    return etag.n > 0 && span_index(etag, '-') < 0;
}

struct s3copy_decision s3copy_decide(const struct s3_object *src, const struct s3_object *dst, bool etags_comparable) {
    if (dst == NULL) {
        return (struct s3copy_decision){ true, "missing" };
    }
    if (src->size != dst->size) {
        return (struct s3copy_decision){ true, "size differs" };
    }
    bool comparable = etags_comparable && s3copy_etag_single_part(src->etag) && s3copy_etag_single_part(dst->etag);
    if (comparable && span_eq(src->etag, dst->etag)) {
        return (struct s3copy_decision){ false, "same etag" };
    }
    if (src->last_modified_ms > dst->last_modified_ms) {
        return (struct s3copy_decision){ true, "source newer" };
    }
    if (comparable && src->last_modified_ms == dst->last_modified_ms) {
        return (struct s3copy_decision){ true, "changed in the second of its copy" };
    }
    return (struct s3copy_decision){ false, "copy is newer" };
}

bool s3copy_archived(struct span storage_class) {
    return span_eq_cstr(storage_class, "GLACIER") || span_eq_cstr(storage_class, "DEEP_ARCHIVE");
}

bool s3copy_use_multipart(uint64_t size, uint64_t threshold) {
    return size >= threshold || size > S3_COPY_OBJECT_MAX;
}

uint64_t s3copy_part_size(uint64_t size, uint64_t configured) {
    uint64_t part = configured < S3_PART_MIN ? S3_PART_MIN : configured;
    if (s3copy_part_count(size, part) > S3_MAX_PARTS) {
        uint64_t need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
        part = (need + S3COPY_PART_ALIGN - 1) / S3COPY_PART_ALIGN * S3COPY_PART_ALIGN;
    }
    return part > S3_PART_MAX ? S3_PART_MAX : part;
}

uint32_t s3copy_part_count(uint64_t size, uint64_t part_size) {
    if (size == 0 || part_size == 0) {
        return 1;
    }
    return (uint32_t) ((size + part_size - 1) / part_size);
}

void s3copy_part_range(uint64_t size, uint64_t part_size, uint32_t part, uint64_t *first, uint64_t *last) {
    *first = (uint64_t) (part - 1) * part_size;
    uint64_t end = *first + part_size;
    *last = (end < size ? end : size) - 1;
}

bool s3copy_upload_stale(int64_t initiated_s, int64_t now_s) {
    return now_s - initiated_s >= S3COPY_STALE_UPLOAD_S;
}

size_t s3copy_scopes(struct arena *a, const struct cfg *cfg, struct s3copy_scope *out) {
    size_t n = 0;
    for (size_t i = 0; i < cfg->s3_nroutes; i++) {
        const struct cfg_route *r = &cfg->s3_routes[i];
        struct span mine = span_from_cstr(r->prefix);
        bool covered = false;
        for (size_t j = 0; j < cfg->s3_nroutes && !covered; j++) {
            const struct cfg_route *o = &cfg->s3_routes[j];
            struct span theirs = span_from_cstr(o->prefix);
            /* Prefixes are unique (cfg), so "starts with and is shorter" is "lies under". */
            covered =
              j != i && strcmp(o->bucket, r->bucket) == 0 && theirs.n < mine.n && span_starts_with(mine, theirs);
        }
        if (!covered) {
            out[n].bucket = r->bucket;
            out[n].prefix = span_from_cstr(arena_printf(a, "%s%s", cfg->s3_dest_prefix, r->prefix));
            n++;
        }
    }
    return n;
}

/* ---- the job's state ------------------------------------------------------------------------------------ */

struct s3copy_bucket {
    const char *name;
    const char *region;         /* the cycle's region until a redirect says otherwise */
    struct s3_object_list objs; /* destinations: keys without s3_dest_prefix, sorted once listed */
    bool failed;                /* a listing of this bucket failed: its objects wait for the next run */
};

enum s3copy_list_kind { S3COPY_LIST_OBJECTS = 0, S3COPY_LIST_UPLOADS };

struct s3copy_run;

struct s3copy_lister {
    struct s3copy_run *run;
    struct s3copy_bucket *bucket;
    enum s3copy_list_kind kind;
    bool is_source;
    struct span prefix;
    struct span token;         /* objects: continuation token; uploads: key marker */
    struct span upload_marker; /* uploads: upload id marker */
    bool done;
    size_t pages;
    size_t listed;
    uint32_t redirects;
    struct s3_upload_list uploads;
    struct aws_request req;
};

enum s3copy_step {
    S3COPY_COPY = 0,
    S3COPY_HEAD,
    S3COPY_TAGS,
    S3COPY_CREATE,
    S3COPY_PART,
    S3COPY_COMPLETE,
    S3COPY_ABORT
};

/* One object to copy (or, with `stale`, one abandoned upload to abort). */
struct s3copy_item {
    const struct s3_object *src;
    struct s3copy_bucket *dst;
    struct span dst_key;
    const char *why;
    bool multipart;
    bool stale;
    bool failed; /* a failure is recorded: no more steps, except the abort of its upload */
    bool ended;  /* copied, or skipped because the source went away */
    uint64_t size;
    struct s3_head *head;
    struct span upload_id;
    uint64_t part_size;
    uint32_t nparts;
    uint32_t parts_ok;
    struct span *etags;
};

struct s3copy_task {
    struct s3copy_item *item;
    enum s3copy_step step;
    uint32_t part;
};

struct s3copy_job {
    struct s3copy_run *run;
    struct s3copy_task task;
    struct aws_request req;
};

struct s3copy_run {
    struct cycle *cy;
    const struct cfg *cfg;
    struct s3_dest dest;
    bool etags_comparable;
    struct s3copy_bucket source;
    struct s3copy_bucket *dests;
    size_t ndests;
    size_t *route_dest; /* cfg route index → dests index */
    struct s3copy_lister *listers;
    size_t nlisters;
    size_t listed;
    bool source_failed;
    enum err source_err;
    struct s3copy_item *items;
    size_t nitems;
    size_t cap;
    struct s3copy_job *jobs;
    struct aws_request **reqs;
};

/* ---- recording ------------------------------------------------------------------------------------------ */

static void s_report(struct s3copy_run *run, struct report_item *it) {
    it->job = REPORT_JOB_S3;
    it->ts_ms = time_wall_ms();
    report_add(run->cy->report, it);
}

/*
 * A failure of one object (or listing), recorded once with its AWS code (or error class) and message. `r` may be
 * NULL for a failure found here; then `code` and `message` say what it was.
 */
static void s_fail(
  struct s3copy_run *run,
  const char *bucket,
  struct span key,
  const struct aws_request *r,
  const char *step,
  const char *code,
  const char *message) {
    struct arena *a = run->cy->scratch;
    struct arena_mark m = arena_mark(a);
    if (r != NULL) {
        code = r->error.code[0] ? r->error.code : err_name(r->result);
        message = r->error.message[0] ? r->error.message : err_name(r->result);
    }
    const char *k = key.n ? arena_span_cstr(a, key) : NULL;
    struct report_item it = {
        .action = REPORT_FAILED,
        .bucket = bucket,
        .key = k,
        .aws_code = code,
        .message = arena_printf(a, "%s: %s", step, message),
    };
    s_report(run, &it);
    LOG(
      LOG_ERROR,
      "s3.failed",
      LF_S("step", step),
      LF_S("bucket", bucket),
      LF_S("key", k),
      LF_S("aws_code", code),
      LF_S("message", message),
      LF_S("request_id", r ? r->error.request_id : NULL),
      LF_U("attempts", r ? r->attempts : 0));
    arena_rewind(a, m);
}

static void s_item_fail(struct s3copy_item *it, struct s3copy_run *run, const struct aws_request *r, const char *step) {
    if (!it->failed) {
        it->failed = true;
        s_fail(run, it->dst->name, it->dst_key, r, step, NULL, NULL);
    }
}

static void
s_item_fail_msg(struct s3copy_item *it, struct s3copy_run *run, const char *step, const char *code, const char *msg) {
    if (!it->failed) {
        it->failed = true;
        s_fail(run, it->dst->name, it->dst_key, NULL, step, code, msg);
    }
}

static void s_copied(struct s3copy_run *run, struct s3copy_item *it, const char *method) {
    struct arena *a = run->cy->scratch;
    struct arena_mark m = arena_mark(a);
    it->ended = true;
    struct report_item ri = { .action = REPORT_COPIED,
                              .region = it->dst->region,
                              .bucket = it->dst->name,
                              .key = arena_span_cstr(a, it->dst_key),
                              .bytes = it->size,
                              .reason = run->cy->dry_run ? "dry run" : it->why };
    s_report(run, &ri);
    LOG(
      LOG_INFO,
      run->cy->dry_run ? "plan.s3_copy" : "s3.copied",
      LF_S("bucket", it->dst->name),
      LF_S("key", ri.key),
      LF_SP("source_key", it->src->key),
      LF_U("bytes", it->size),
      LF_S("method", method),
      LF_U("parts", it->multipart ? it->nparts : 0),
      LF_S("reason", it->why));
    arena_rewind(a, m);
}

/* The source went away between the listing and the copy: nothing to back up, not a failure. */
static void s_source_gone(struct s3copy_run *run, struct s3copy_item *it, const struct aws_request *r) {
    struct arena *a = run->cy->scratch;
    struct arena_mark m = arena_mark(a);
    it->ended = true;
    struct report_item ri = { .action = REPORT_SKIPPED,
                              .bucket = it->dst->name,
                              .key = arena_span_cstr(a, it->dst_key),
                              .reason = "source deleted during the run",
                              .aws_code = r->error.code[0] ? r->error.code : NULL };
    s_report(run, &ri);
    LOG(LOG_WARN, "s3.source_gone", LF_S("bucket", run->source.name), LF_SP("key", it->src->key));
    arena_rewind(a, m);
}

static bool s_code_is(const struct aws_request *r, const char *code) {
    return strcmp(r->error.code, code) == 0;
}

static bool s_not_found(const struct aws_request *r) {
    return r->status == 404 || s_code_is(r, "NoSuchKey");
}

/* ---- listing -------------------------------------------------------------------------------------------- */

/*
 * A bucket in another region answers 301 PermanentRedirect (or 400 AuthorizationHeaderMalformed when the
 * signing region is wrong) with its region in x-amz-bucket-region: use it and list that page again.
 */
static bool s_region_redirect(struct s3copy_lister *l, const struct aws_request *r) {
    struct span region = aws_response_header(r, "x-amz-bucket-region");
    bool redirect = r->status == 301 || s_code_is(r, "PermanentRedirect") ||
                    s_code_is(r, "AuthorizationHeaderMalformed") || s_code_is(r, "IllegalLocationConstraintException");
    if (
      !redirect || l->redirects >= S3COPY_MAX_REDIRECTS || !region_is_valid(region) ||
      span_eq_cstr(region, r->region)) {
        return false;
    }
    l->redirects++;
    if (!span_eq_cstr(region, l->bucket->region)) {
        l->bucket->region = arena_span_cstr(l->run->cy->arena, region);
        LOG(LOG_INFO, "s3.bucket_region", LF_S("bucket", l->bucket->name), LF_S("region", l->bucket->region));
    }
    return true;
}

static void s_list_failed(struct s3copy_lister *l, const struct aws_request *r, enum err e, const char *why) {
    struct s3copy_run *run = l->run;
    l->done = true;
    const char *step = l->kind == S3COPY_LIST_UPLOADS ? "ListMultipartUploads" : "ListObjectsV2";
    if (l->kind == S3COPY_LIST_UPLOADS) {
        /* Housekeeping only: an unreadable upload listing costs nothing but the cleanup. */
        LOG(
          LOG_WARN,
          "s3.uploads_unlisted",
          LF_S("bucket", l->bucket->name),
          LF_S("aws_code", r ? r->error.code : why),
          LF_S("message", r ? r->error.message : err_last()->msg));
        return;
    }
    if (l->is_source) {
        run->source_failed = true;
        run->source_err = e;
        if (l->pages == 0 && !run->cy->report->ebs_ran && cycle_err_cannot_start(e)) {
            run->cy->could_not_start = true;
        }
    }
    if (!l->bucket->failed) {
        l->bucket->failed = true;
        s_fail(run, l->bucket->name, SPAN_NULL, r, step, why, r ? NULL : err_last()->msg);
    }
}

static void s_list_done(struct aws_request *r) {
    struct s3copy_lister *l = r->user;
    struct s3copy_run *run = l->run;
    struct cycle *cy = run->cy;
    if (r->result != ERR_OK) {
        if (!s_region_redirect(l, r)) {
            s_list_failed(l, r, r->result, NULL);
        }
        aws_request_free(r);
        return;
    }
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK && l->kind == S3COPY_LIST_UPLOADS) {
        e = s3_list_uploads_parse(cy->arena, root, &l->uploads, &l->token, &l->upload_marker);
    } else if (e == ERR_OK) {
        struct s3_object_list *list = &l->bucket->objs;
        size_t before = list->n;
        e = s3_list_objects_parse(cy->arena, root, list, &l->token);
        /* Copies are found by source key: drop S3_DEST_PREFIX from destination keys as they arrive. */
        size_t strip = l->is_source ? 0 : strlen(run->cfg->s3_dest_prefix);
        for (size_t i = before; e == ERR_OK && strip && i < list->n; i++) {
            list->items[i].key = span_sub(list->items[i].key, strip, list->items[i].key.n);
        }
        l->listed += list->n - before;
        run->listed += list->n - before;
        if (e == ERR_OK && run->listed > S3COPY_MAX_LISTED) {
            e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "more than %zu objects listed", S3COPY_MAX_LISTED);
        }
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(r);
    if (e != ERR_OK) {
        s_list_failed(l, NULL, e, err_name(e));
        return;
    }
    l->pages++;
    l->done = l->token.n == 0;
}

static void s_add_lister(
  struct s3copy_run *run,
  struct s3copy_bucket *b,
  enum s3copy_list_kind kind,
  struct span prefix,
  bool is_source) {
    struct s3copy_lister *l = &run->listers[run->nlisters++];
    memset(l, 0, sizeof(*l));
    l->run = run;
    l->bucket = b;
    l->kind = kind;
    l->prefix = prefix;
    l->is_source = is_source;
}

static struct s3copy_bucket *s_dest(struct s3copy_run *run, const char *bucket) {
    for (size_t i = 0; i < run->ndests; i++) {
        if (strcmp(run->dests[i].name, bucket) == 0) {
            return &run->dests[i];
        }
    }
    return NULL;
}

static void s_setup(struct s3copy_run *run) {
    struct cycle *cy = run->cy;
    const struct cfg *cfg = run->cfg;
    run->source = (struct s3copy_bucket){ .name = cfg->s3_source_bucket, .region = cfg->source_region };
    run->dests = ARENA_NEW_ARRAY(cy->arena, struct s3copy_bucket, cfg->s3_nroutes);
    run->route_dest = ARENA_NEW_ARRAY(cy->arena, size_t, cfg->s3_nroutes);
    for (size_t i = 0; i < cfg->s3_nroutes; i++) {
        struct s3copy_bucket *b = s_dest(run, cfg->s3_routes[i].bucket);
        if (b == NULL) {
            b = &run->dests[run->ndests++];
            *b = (struct s3copy_bucket){ .name = cfg->s3_routes[i].bucket, .region = cfg->source_region };
        }
        run->route_dest[i] = (size_t) (b - run->dests);
    }
    struct s3copy_scope *scopes = ARENA_NEW_ARRAY(cy->arena, struct s3copy_scope, cfg->s3_nroutes);
    size_t nscopes = s3copy_scopes(cy->arena, cfg, scopes);
    run->listers = ARENA_NEW_ARRAY(cy->arena, struct s3copy_lister, 1 + 2 * nscopes);
    s_add_lister(run, &run->source, S3COPY_LIST_OBJECTS, SPAN_NULL, true);
    for (size_t i = 0; i < nscopes; i++) {
        s_add_lister(run, s_dest(run, scopes[i].bucket), S3COPY_LIST_OBJECTS, scopes[i].prefix, false);
    }
    for (size_t i = 0; i < nscopes; i++) {
        s_add_lister(run, s_dest(run, scopes[i].bucket), S3COPY_LIST_UPLOADS, scopes[i].prefix, false);
    }
    run->jobs = ARENA_NEW_ARRAY(cy->arena, struct s3copy_job, S3COPY_WINDOW);
    run->reqs = ARENA_NEW_ARRAY(cy->arena, struct aws_request *, S3COPY_WINDOW);
}

/* Every listing to its last page, one page of each per round. */
static enum err s_list(struct s3copy_run *run) {
    struct cycle *cy = run->cy;
    for (;;) {
        struct arena_mark m = arena_mark(cy->scratch);
        size_t n = 0;
        for (size_t i = 0; i < run->nlisters; i++) {
            struct s3copy_lister *l = &run->listers[i];
            /* Once the source failed nothing can be planned: stop listing the rest too. */
            if (l->done || run->source_failed) {
                continue;
            }
            if (l->kind == S3COPY_LIST_UPLOADS) {
                s3_list_uploads_request(
                  &l->req, cy->scratch, l->bucket->region, l->bucket->name, l->prefix, l->token, l->upload_marker);
            } else {
                s3_list_objects_request(
                  &l->req, cy->scratch, l->bucket->region, l->bucket->name, l->prefix, l->token, S3_LIST_MAX_KEYS);
            }
            l->req.user = l;
            l->req.on_done = s_list_done;
            run->reqs[n++] = &l->req;
        }
        enum err e = n ? aws_run(cy->aws, run->reqs, n) : ERR_OK;
        arena_rewind(cy->scratch, m);
        TRY(e);
        if (n == 0) {
            break;
        }
    }
    for (size_t i = 0; i < run->nlisters; i++) {
        const struct s3copy_lister *l = &run->listers[i];
        LOG(
          LOG_INFO,
          l->kind == S3COPY_LIST_UPLOADS ? "s3.uploads_listed" : "s3.listed",
          LF_S("bucket", l->bucket->name),
          LF_SP("prefix", l->prefix),
          LF_B("source", l->is_source),
          LF_U("objects", l->kind == S3COPY_LIST_UPLOADS ? l->uploads.n : l->listed),
          LF_U("pages", l->pages),
          LF_S("region", l->bucket->region));
    }
    return ERR_OK;
}

/* ---- plan ----------------------------------------------------------------------------------------------- */

static int s_obj_cmp(const void *a, const void *b) {
    return span_cmp(((const struct s3_object *) a)->key, ((const struct s3_object *) b)->key);
}

static const struct s3_object *s_find(const struct s3copy_bucket *b, struct span key) {
    size_t lo = 0, hi = b->objs.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = span_cmp(b->objs.items[mid].key, key);
        if (c == 0) {
            return &b->objs.items[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static struct s3copy_item *s_new_item(struct s3copy_run *run) {
    run->items = arena_grow_array(run->cy->arena, run->items, run->nitems, &run->cap, sizeof(*run->items));
    struct s3copy_item *it = &run->items[run->nitems++];
    memset(it, 0, sizeof(*it));
    return it;
}

static void s_skip(struct s3copy_run *run, const char *bucket, struct span key, const char *reason, bool loud) {
    struct arena *a = run->cy->scratch;
    struct arena_mark m = arena_mark(a);
    struct report_item it = {
        .action = REPORT_SKIPPED, .bucket = bucket, .key = arena_span_cstr(a, key), .reason = reason
    };
    s_report(run, &it);
    LOG(loud ? LOG_WARN : LOG_DEBUG, "s3.skipped", LF_S("bucket", bucket), LF_S("key", it.key), LF_S("reason", reason));
    arena_rewind(a, m);
}

struct s3copy_plan_counts {
    uint64_t routed, unrouted, unchanged, waiting, archived, copy, multipart, bytes, stale;
};

static void s_plan(struct s3copy_run *run, struct s3copy_plan_counts *pc) {
    struct cycle *cy = run->cy;
    const struct cfg *cfg = run->cfg;
    size_t dest_prefix_n = strlen(cfg->s3_dest_prefix);
    for (size_t i = 0; i < run->ndests; i++) {
        struct s3copy_bucket *b = &run->dests[i];
        if (b->objs.n > 1) {
            qsort(b->objs.items, b->objs.n, sizeof(*b->objs.items), s_obj_cmp);
        }
    }
    const struct s3_object_list *src = &run->source.objs;
    for (size_t i = 0; i < src->n; i++) {
        const struct s3_object *o = &src->items[i];
        const struct cfg_route *route = cfg_s3_route(cfg, o->key);
        if (route == NULL) {
            pc->unrouted++;
            s_skip(run, cfg->s3_source_bucket, o->key, "no route", false);
            continue;
        }
        pc->routed++;
        struct s3copy_bucket *b = &run->dests[run->route_dest[route - cfg->s3_routes]];
        if (b->failed) {
            pc->waiting++; /* its listing failed (recorded once): decided by the next run */
            continue;
        }
        struct s3copy_decision d = s3copy_decide(o, s_find(b, o->key), run->etags_comparable);
        if (!d.copy) {
            pc->unchanged++;
            continue;
        }
        if (s3copy_archived(o->storage_class)) {
            pc->archived++;
            s_skip(
              run,
              cfg->s3_source_bucket,
              o->key,
              "source is archived (GLACIER/DEEP_ARCHIVE): restore it to copy",
              true);
            continue;
        }
        struct s3copy_item *it = s_new_item(run);
        it->src = o;
        it->dst = b;
        it->why = d.why;
        it->size = o->size;
        it->multipart = s3copy_use_multipart(o->size, cfg->s3_multipart_threshold_bytes);
        it->dst_key = o->key;
        if (dest_prefix_n) {
            char *k = arena_alloc(cy->arena, dest_prefix_n + o->key.n + 1);
            memcpy(k, cfg->s3_dest_prefix, dest_prefix_n);
            memcpy(k + dest_prefix_n, o->key.p, o->key.n);
            it->dst_key = (struct span){ k, dest_prefix_n + o->key.n };
        }
        if (it->dst_key.n > S3_KEY_MAX) {
            s_item_fail_msg(
              it, run, "plan", "KeyTooLongError", "the destination key (S3_DEST_PREFIX + key) is over 1024 bytes");
            continue;
        }
        /* A NUL byte cannot travel in the report, the log or a header: say so rather than name another key. */
        if (memchr(o->key.p, '\0', o->key.n) != NULL) {
            s_item_fail_msg(it, run, "plan", "InvalidKey", "the key contains a NUL byte");
            continue;
        }
        pc->copy++;
        pc->bytes += o->size;
        pc->multipart += it->multipart;
    }
    /* Abandoned uploads in our scopes (an interrupted run): abort them, they hold storage and are never used. */
    for (size_t i = 0; i < run->nlisters; i++) {
        struct s3copy_lister *l = &run->listers[i];
        for (size_t u = 0; l->kind == S3COPY_LIST_UPLOADS && u < l->uploads.n; u++) {
            const struct s3_upload *up = &l->uploads.items[u];
            if (!s3copy_upload_stale(up->initiated_s, cy->now_s)) {
                continue;
            }
            struct s3copy_item *it = s_new_item(run);
            it->stale = true;
            it->dst = l->bucket;
            it->dst_key = up->key;
            it->upload_id = up->upload_id;
            pc->stale++;
        }
    }
    cy->report->s3_objects_seen = src->n;
    cy->report->s3_unchanged = pc->unchanged;
}

/* ---- copy ----------------------------------------------------------------------------------------------- */

static const char *s_source_cstr(struct s3copy_run *run, struct s3copy_item *it) {
    const char *cs = s3_copy_source(run->cy->scratch, run->source.name, it->src->key);
    if (cs == NULL) {
        s_item_fail_msg(it, run, "copy source", "KeyTooLongError", "the source key cannot be encoded");
    }
    return cs;
}

/* Builds the request of one task; false when it cannot be sent (the item's failure is then recorded). */
static bool s_build(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->task.item;
    struct aws_request *r = &job->req;
    struct arena *a = run->cy->scratch;
    const char *region = it->dst->region;
    const char *cs = NULL;
    enum err e = ERR_OK;
    switch (job->task.step) {
        case S3COPY_COPY:
            if ((cs = s_source_cstr(run, it)) == NULL) {
                return false;
            }
            e = s3_copy_object_request(r, region, it->dst->name, it->dst_key, cs, &run->dest);
            break;
        case S3COPY_HEAD:
            s3_head_object_request(r, run->source.region, run->source.name, it->src->key);
            break;
        case S3COPY_TAGS:
            s3_get_object_tagging_request(r, run->source.region, run->source.name, it->src->key);
            break;
        case S3COPY_CREATE:
            e = s3_create_multipart_request(r, region, it->dst->name, it->dst_key, it->head, &run->dest);
            break;
        case S3COPY_PART: {
            if ((cs = s_source_cstr(run, it)) == NULL) {
                return false;
            }
            uint64_t first = 0, last = 0;
            s3copy_part_range(it->size, it->part_size, job->task.part, &first, &last);
            e = s3_upload_part_copy_request(
              r, a, region, it->dst->name, it->dst_key, it->upload_id, job->task.part, cs, first, last, it->head->etag);
            break;
        }
        case S3COPY_COMPLETE: {
            struct span body;
            e = s3_complete_multipart_body(a, it->etags, it->nparts, &body);
            if (e == ERR_OK) {
                s3_complete_multipart_request(r, a, region, it->dst->name, it->dst_key, it->upload_id, body);
            }
            break;
        }
        case S3COPY_ABORT:
            s3_abort_multipart_request(r, a, region, it->dst->name, it->dst_key, it->upload_id);
            break;
    }
    if (e != ERR_OK) {
        s_item_fail_msg(it, run, "build request", err_name(e), err_last()->msg);
        return false;
    }
    return true;
}

static void s_head_done(struct s3copy_run *run, struct s3copy_item *it, struct aws_request *r) {
    struct cycle *cy = run->cy;
    if (r->result != ERR_OK) {
        if (s_not_found(r)) {
            s_source_gone(run, it, r);
        } else {
            s_item_fail(it, run, r, "HeadObject");
        }
        return;
    }
    it->head = ARENA_NEW(cy->arena, struct s3_head);
    if (s3_head_object_parse(cy->arena, r, it->head) != ERR_OK) {
        s_item_fail_msg(it, run, "HeadObject", err_name(err_last()->code), err_last()->msg);
        return;
    }
    /* Copy the object as it is now: the size may have changed since the listing. */
    it->size = it->head->size;
    it->part_size = s3copy_part_size(it->size, run->cfg->s3_part_size_bytes);
    it->nparts = s3copy_part_count(it->size, it->part_size);
}

static void s_job_done(struct aws_request *r) {
    struct s3copy_job *job = r->user;
    struct s3copy_run *run = job->run;
    struct s3copy_item *it = job->task.item;
    struct cycle *cy = run->cy;
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    enum err e = ERR_OK;
    switch (job->task.step) {
        case S3COPY_COPY:
            if (r->result == ERR_OK) {
                s_copied(run, it, "CopyObject");
            } else if (s_not_found(r) && !s_code_is(r, "NoSuchBucket")) {
                s_source_gone(run, it, r);
            } else {
                s_item_fail(it, run, r, "CopyObject");
            }
            break;
        case S3COPY_HEAD:
            s_head_done(run, it, r);
            break;
        case S3COPY_TAGS:
            if (r->result != ERR_OK) {
                if (s_not_found(r) && !s_code_is(r, "NoSuchBucket")) {
                    s_source_gone(run, it, r);
                } else {
                    s_item_fail(it, run, r, "GetObjectTagging");
                }
                break;
            }
            e = aws_response_xml(r, cy->scratch, &root);
            if (e == ERR_OK) {
                e = s3_get_object_tagging_parse(cy->arena, root, &it->head->tagging);
            }
            if (e != ERR_OK) {
                s_item_fail_msg(it, run, "GetObjectTagging response", err_name(e), err_last()->msg);
            }
            break;
        case S3COPY_CREATE:
            if (r->result != ERR_OK) {
                s_item_fail(it, run, r, "CreateMultipartUpload");
                break;
            }
            e = aws_response_xml(r, cy->scratch, &root);
            if (e == ERR_OK) {
                e = s3_create_multipart_parse(cy->arena, root, &it->upload_id);
            }
            if (e != ERR_OK) {
                s_item_fail_msg(it, run, "CreateMultipartUpload response", err_name(e), err_last()->msg);
                break;
            }
            it->etags = ARENA_NEW_ARRAY(cy->arena, struct span, it->nparts);
            break;
        case S3COPY_PART:
            if (r->result != ERR_OK) {
                if (s_code_is(r, "PreconditionFailed")) {
                    s_item_fail_msg(
                      it,
                      run,
                      "UploadPartCopy",
                      r->error.code,
                      "the source changed during the copy; the next run copies it");
                } else {
                    s_item_fail(it, run, r, "UploadPartCopy");
                }
                break;
            }
            e = aws_response_xml(r, cy->scratch, &root);
            if (e == ERR_OK) {
                e = s3_upload_part_copy_parse(cy->arena, root, &it->etags[job->task.part - 1]);
            }
            if (e != ERR_OK) {
                s_item_fail_msg(it, run, "UploadPartCopy response", err_name(e), err_last()->msg);
                break;
            }
            it->parts_ok++;
            break;
        case S3COPY_COMPLETE:
            if (r->result != ERR_OK) {
                s_item_fail(it, run, r, "CompleteMultipartUpload");
                break;
            }
            it->upload_id = SPAN_NULL; /* complete: nothing to abort */
            s_copied(run, it, "UploadPartCopy");
            break;
        case S3COPY_ABORT:
            if (r->result == ERR_OK || s_code_is(r, "NoSuchUpload")) {
                LOG(
                  LOG_INFO,
                  "s3.upload_aborted",
                  LF_S("bucket", it->dst->name),
                  LF_SP("key", it->dst_key),
                  LF_SP("upload_id", it->upload_id),
                  LF_S("reason", it->stale ? "abandoned by an earlier run" : "copy failed"));
            } else {
                /* The object's failure is already recorded; a lifecycle rule or the next run cleans up. */
                LOG(
                  LOG_ERROR,
                  "s3.abort_failed",
                  LF_S("bucket", it->dst->name),
                  LF_SP("key", it->dst_key),
                  LF_SP("upload_id", it->upload_id),
                  LF_S("aws_code", r->error.code[0] ? r->error.code : err_name(r->result)));
            }
            break;
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(r);
}

/* Runs the tasks S3COPY_WINDOW at a time; their strings live in the scratch arena for one window. */
static enum err s_run_tasks(struct s3copy_run *run, const struct s3copy_task *tasks, size_t n) {
    struct cycle *cy = run->cy;
    for (size_t off = 0; off < n; off += S3COPY_WINDOW) {
        struct arena_mark m = arena_mark(cy->scratch);
        size_t k = 0;
        for (size_t i = off; i < n && i < off + S3COPY_WINDOW; i++) {
            struct s3copy_job *job = &run->jobs[k];
            job->run = run;
            job->task = tasks[i];
            /* A part of an upload that already failed is not sent: the upload is aborted anyway. */
            if (tasks[i].step != S3COPY_ABORT && tasks[i].item->failed) {
                continue;
            }
            if (!s_build(run, job)) {
                continue;
            }
            job->req.user = job;
            job->req.on_done = s_job_done;
            run->reqs[k++] = &job->req;
        }
        enum err e = k ? aws_run(cy->aws, run->reqs, k) : ERR_OK;
        arena_rewind(cy->scratch, m);
        TRY(e);
    }
    return ERR_OK;
}

/* The tasks of one step, for the items `want` selects; in the cycle arena (small: 16 bytes per task). */
static struct s3copy_task *s_tasks(struct s3copy_run *run, size_t cap, size_t *n) {
    *n = 0;
    return cap ? ARENA_NEW_ARRAY(run->cy->arena, struct s3copy_task, cap) : NULL;
}

static enum err s_copy(struct s3copy_run *run) {
    size_t n = 0;
    /* 1. small copies, HEADs of large ones, and aborts of abandoned uploads, all in one batch. */
    struct s3copy_task *t = s_tasks(run, run->nitems, &n);
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (!it->failed) {
            t[n++] = (struct s3copy_task){ it,
                                           it->stale       ? S3COPY_ABORT
                                           : it->multipart ? S3COPY_HEAD
                                                           : S3COPY_COPY,
                                           0 };
        }
    }
    TRY(s_run_tasks(run, t, n));

    /* 1b. the tags of tagged large objects: CopyObject keeps tags, so a multipart copy must carry them too. */
    t = s_tasks(run, run->nitems, &n);
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->multipart && !it->failed && !it->ended && it->head && it->head->tag_count > 0) {
            t[n++] = (struct s3copy_task){ it, S3COPY_TAGS, 0 };
        }
    }
    TRY(s_run_tasks(run, t, n));

    /* 2. CreateMultipartUpload (or CopyObject, when the object has shrunk below the threshold since listed). */
    t = s_tasks(run, run->nitems, &n);
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->multipart && !it->failed && !it->ended) {
            bool small = !s3copy_use_multipart(it->size, run->cfg->s3_multipart_threshold_bytes);
            if (small) {
                it->multipart = false;
            }
            t[n++] = (struct s3copy_task){ it, small ? S3COPY_COPY : S3COPY_CREATE, 0 };
        }
    }
    /* From here on uploads may exist: an error does not return before step 5 has aborted them. */
    enum err create_err = s_run_tasks(run, t, n);

    /* 3. every part of every upload, in one batch. */
    size_t parts = 0;
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        parts += it->multipart && it->upload_id.n && !it->failed ? it->nparts : 0;
    }
    t = s_tasks(run, parts, &n);
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->multipart && it->upload_id.n && !it->failed) {
            for (uint32_t p = 1; p <= it->nparts; p++) {
                t[n++] = (struct s3copy_task){ it, S3COPY_PART, p };
            }
        }
    }
    enum err parts_err = create_err == ERR_OK ? s_run_tasks(run, t, n) : create_err;

    /* 4. complete the uploads whose parts all succeeded. */
    t = s_tasks(run, run->nitems, &n);
    for (size_t i = 0; parts_err == ERR_OK && i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->multipart && it->upload_id.n && !it->failed && it->parts_ok == it->nparts) {
            t[n++] = (struct s3copy_task){ it, S3COPY_COMPLETE, 0 };
        }
    }
    enum err complete_err = parts_err == ERR_OK ? s_run_tasks(run, t, n) : parts_err;

    /* 5. abort every upload that did not complete, whatever went wrong above. */
    t = s_tasks(run, run->nitems, &n);
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->multipart && it->upload_id.n && !it->ended) {
            if (!it->failed) {
                s_item_fail_msg(it, run, "multipart copy", err_name(complete_err), "the copy was interrupted");
            }
            t[n++] = (struct s3copy_task){ it, S3COPY_ABORT, 0 };
        }
    }
    TRY(s_run_tasks(run, t, n));
    return complete_err;
}

static void s_dry_run(struct s3copy_run *run) {
    for (size_t i = 0; i < run->nitems; i++) {
        struct s3copy_item *it = &run->items[i];
        if (it->failed) {
            continue;
        }
        if (it->stale) {
            LOG(
              LOG_INFO,
              "plan.s3_abort",
              LF_S("bucket", it->dst->name),
              LF_SP("key", it->dst_key),
              LF_SP("upload_id", it->upload_id),
              LF_S("reason", "abandoned by an earlier run"));
            continue;
        }
        if (it->multipart) {
            it->part_size = s3copy_part_size(it->size, run->cfg->s3_part_size_bytes);
            it->nparts = s3copy_part_count(it->size, it->part_size);
        }
        s_copied(run, it, it->multipart ? "UploadPartCopy" : "CopyObject");
    }
}

enum err s3_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    cy->report->s3_ran = true;
    int64_t start_ms = time_mono_ms();
    struct s3copy_run run = {
        .cy = cy,
        .cfg = cfg,
        .dest = { .storage_class = cfg->s3_storage_class,
                  .sse = cfg->s3_sse == CFG_S3_SSE_KMS ? "aws:kms" : "AES256",
                  .sse_kms_key_id = cfg->s3_sse == CFG_S3_SSE_KMS ? cfg->s3_sse_kms_key_id : NULL },
        .etags_comparable = cfg->s3_sse != CFG_S3_SSE_KMS,
    };
    s_setup(&run);
    TRY(s_list(&run));
    if (run.source_failed) {
        return run.source_err != ERR_OK ? run.source_err : ERR_AWS;
    }
    struct s3copy_plan_counts pc = { 0 };
    s_plan(&run, &pc);
    LOG(
      LOG_INFO,
      "s3.plan",
      LF_S("source_bucket", cfg->s3_source_bucket),
      LF_U("objects", run.source.objs.n),
      LF_U("routed", pc.routed),
      LF_U("unrouted", pc.unrouted),
      LF_U("unchanged", pc.unchanged),
      LF_U("copy", pc.copy),
      LF_U("multipart", pc.multipart),
      LF_U("bytes", pc.bytes),
      LF_U("archived", pc.archived),
      LF_U("waiting", pc.waiting),
      LF_U("stale_uploads", pc.stale),
      LF_B("dry_run", cy->dry_run));
    enum err e = ERR_OK;
    if (cy->dry_run) {
        s_dry_run(&run);
    } else {
        e = s_copy(&run);
    }
    struct report_counts c = report_counts(cy->report);
    LOG(
      LOG_INFO,
      "s3.done",
      LF_U("objects_seen", c.s3_objects_seen),
      LF_U("copied", c.s3_objects_copied),
      LF_U("bytes_copied", c.s3_bytes_copied),
      LF_U("unchanged", c.s3_unchanged),
      LF_U("skipped", c.s3_skipped),
      LF_U("failed", c.s3_failed),
      LF_I("duration_ms", time_mono_ms() - start_ms));
    return e;
}
