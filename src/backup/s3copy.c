/*
 * s3copy.c - the S3 job of a cycle (seed 004, issues 6 and 12): copy new and changed objects of the source bucket
 * into the backup bucket of their folder, server-side and incrementally, at any bucket size.
 *
 * ListObjectsV2 returns keys in UTF-8 binary order, and a route maps a source prefix to S3_DEST_PREFIX + that
 * prefix without changing the order. So the job compares two sorted streams: the source bucket, and for each
 * destination scope (s3copy_scopes) its listing with S3_DEST_PREFIX dropped. Each source key is routed
 * (cfg_s3_route, longest prefix), the stream of its scope is advanced to it (destination keys before it are extra
 * copies, kept), and s3copy_decide says whether to copy. Nothing is held but pages in flight and copies in
 * progress: memory does not grow with the number of objects.
 *
 * Work happens in rounds, each one aws_run batch: the listing pages the merge needs next, and the next request
 * of every copy in progress (CopyObject; or HeadObject, GetObjectTagging for tagged objects,
 * CreateMultipartUpload, UploadPartCopy parts, CompleteMultipartUpload, and AbortMultipartUpload for an upload
 * that failed). Listings are split into key ranges listed concurrently: each stream starts as one delimited
 * listing ("/"), and every common prefix of a delimited page becomes a range of its own (delimited again down to
 * S3COPY_SPLIT_DEPTH levels), placed in key order between the objects of that page; each range is paged with
 * its own continuation token. A flat range (no common prefix) still truncated after its 1st, 2nd, 4th ... page
 * is cut into StartAfter sub-ranges (s3copy_split_points), each ending at the next one's start, inclusive. The
 * ranges the merge waits for are always fetched; the others (and their chains of pages) are fetched ahead while
 * fewer than S3COPY_MAX_PAGES pages are in memory; an emptied page's memory is kept for the next page.
 *
 * Before the merge, the incomplete multipart uploads of every scope are listed page by page and every one
 * initiated before this run started is aborted, whatever its age (s3copy_upload_stale). On a stop request
 * (base/stop.h) the job lists and starts nothing more, aborts the uploads it opened and returns ERR_CANCELLED.
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
#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"
#include "net/ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Requests of copies in progress given to aws_run in one round: about 1.4 KiB each. */
#define S3COPY_WINDOW 512
/* Listing pages in memory at once (about 150 KiB each), beyond the one each stream's merge is waiting for. */
#define S3COPY_MAX_PAGES 48
/* Objects decided for copying and not finished: the merge pauses at this many. */
#define S3COPY_MAX_ITEMS 1024
/* Multipart copies in progress at once (each holds its part ETags, up to 10,000). */
#define S3COPY_MAX_MULTIPART 32
/* Levels of common prefixes split into ranges of their own: the scope's root and one level below it. */
#define S3COPY_SPLIT_DEPTH 2
/* Region redirects followed per listing range: one (the bucket's region is then known). */
#define S3COPY_MAX_REDIRECTS 1
/*
 * Unrouted source keys recorded one by one in the report (and so in the audit); past this many they are only
 * counted (report s3_skipped_unrecorded) and logged at debug level, so a bucket of mostly unrouted keys does not
 * grow the report with its size.
 */
#define S3COPY_MAX_UNROUTED_RECORDS 1000
/*
 * Key ranges known at once. A delimited page adds up to 1,000 (one per common prefix); past this many, listings
 * of delimited ranges other than the one the merge waits for are not fetched ahead, so a bucket with millions of
 * folders holds at most this many ranges (about 150 bytes each with their prefixes).
 */
#define S3COPY_MAX_RANGES 20000
/*
 * A flat range (no common prefix on its first page) still truncated after its first page is cut into at most
 * this many more StartAfter sub-ranges (s3copy_split_points), and each of those again after its own first page,
 * so a folder of millions of keys without '/' is listed concurrently rather than as one chain of pages. The
 * round's MAX_CONCURRENCY and S3COPY_MAX_PAGES still bound what is fetched at once.
 */
#define S3COPY_SPLIT_FANOUT 16
/* The route of an item that has none (the abort of an abandoned upload: never paced). */
#define S3COPY_NO_ROUTE ((size_t) -1)
/* A progress line this often during a long job. */
#define S3COPY_PROGRESS_MS 10000

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

bool s3copy_upload_stale(int64_t initiated_s, int64_t run_start_s) {
    return initiated_s <= run_start_s;
}

static size_t s_lcp(struct span a, struct span b) {
    size_t i = 0;
    while (i < a.n && i < b.n && a.p[i] == b.p[i]) {
        i++;
    }
    return i;
}

/*
 * `last` cut before position j, followed by byte c (0x80: U+0080, the first character after ASCII). SPAN_NULL
 * when last[j] is inside a multibyte character, c is not a character of its own, or would be '/' in a delimited
 * listing (a boundary ending in '/' would cut a common prefix).
 */
static struct span s_boundary(struct arena *a, struct span last, size_t j, unsigned c, bool delimited) {
    if ((unsigned char) last.p[j] >= 0x80 || c > 0x80 || (delimited && c == '/')) {
        return SPAN_NULL;
    }
    char *b = arena_alloc(a, j + 2);
    memcpy(b, last.p, j);
    if (c == 0x80) {
        b[j] = (char) 0xC2;
        b[j + 1] = (char) 0x80;
        return (struct span){ b, j + 2 };
    }
    b[j] = (char) (c < 0x20 ? 0x20 : c);
    return (struct span){ b, j + 1 };
}

static size_t s_boundary_add(struct span b, struct span last, struct span end, struct span *out, size_t n) {
    if (
      b.n && span_cmp(b, last) > 0 && (end.n == 0 || span_cmp(b, end) < 0) && (n == 0 || span_cmp(b, out[n - 1]) > 0)) {
        out[n++] = b;
    }
    return n;
}

size_t s3copy_split_points(
  struct arena *a,
  struct span prefix,
  struct span first,
  struct span last,
  struct span end,
  bool delimited,
  struct span *out,
  size_t max) {
    size_t lo = prefix.n;
    if (end.n && s_lcp(last, end) > lo) {
        lo = s_lcp(last, end);
    }
    /*
     * The level: two positions above where the page's keys start to differ (pages often end where the digit
     * just above rolls over, …0999, so the next position up is about one page per value: too small a range).
     */
    size_t d = s_lcp(first, last);
    size_t jv = d > lo + 1 ? d - 2 : lo;
    if (jv >= last.n) {
        return 0;
    }
    size_t n = 0;
    unsigned c = (unsigned char) last.p[jv];
    for (unsigned v = c + 1; v <= 0x80 && n < (max + 1) / 2; v++) {
        n = s_boundary_add(s_boundary(a, last, jv, v, delimited), last, end, out, n);
    }
    /* Then one boundary per position further out (the rest of each), nearest first. */
    for (size_t j = jv; j > lo && n < max; j--) {
        unsigned up = (unsigned char) last.p[j - 1] + 1;
        n = s_boundary_add(s_boundary(a, last, j - 1, up, delimited), last, end, out, n);
    }
    return n;
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
    const char *region; /* the cycle's region until a redirect says otherwise */
    bool failed;        /* a listing of this bucket failed: its objects wait for the next run */
};

/* One parsed listing page, in its own arena; freed when the last of its objects has been merged. */
struct s3copy_page {
    struct arena a;
    uint32_t refs; /* slices still pointing into it */
    struct s3copy_stream *st;
    struct s3copy_page *next_free; /* in run->free_pages once emptied */
};

/* Objects of one page that belong to one node, consumed from i to n. Allocated in the page's arena. */
struct s3copy_slice {
    struct s3copy_page *page;
    const struct s3_object *objs;
    size_t i, n;
    struct s3copy_slice *next;
};

/*
 * A node is one contiguous key range of a listing: the objects already fetched for it (slices) and, unless
 * `listed`, what is left to fetch (keys under `prefix` after `token`). A stream is the list of its nodes in key
 * order; a delimited page splits its node, each common prefix becoming a node of its own that is listed
 * concurrently with the others.
 */
struct s3copy_node {
    struct s3copy_node *prev, *next;
    struct s3copy_slice *first, *last;
    size_t buffered; /* objects in the slices */
    struct span prefix;
    struct span token; /* malloc'd; empty before the first page */
    struct span after; /* malloc'd: the last key or common prefix of its last page (where its listing resumes) */
    struct span end;   /* malloc'd: a StartAfter sub-range's last possible key (inclusive); empty: none */
    uint32_t depth;    /* levels of common prefixes above it; delimited while below S3COPY_SPLIT_DEPTH */
    uint32_t redirects;
    bool listed;    /* nothing left to fetch */
    bool fetching;  /* a page is being fetched this round */
    uint32_t pages; /* pages received for it (a flat range is split after its 1st, 2nd, 4th, 8th ... page) */
};

struct s3copy_run;

struct s3copy_stream {
    struct s3copy_run *run;
    struct s3copy_bucket *bucket;
    struct span root_prefix;
    bool is_source;
    size_t strip; /* destinations: S3_DEST_PREFIX, dropped before keys are compared */
    struct s3copy_node *head, *tail;
    uint64_t objects, pages, ranges;
    uint64_t split_ranges; /* StartAfter sub-ranges of flat ranges */
    uint64_t past_end;     /* keys listed beyond a sub-range's end (listed again by the next sub-range) */
    size_t pages_alive;
    size_t nodes;
    bool failed;
};

struct s3copy_fetch {
    struct s3copy_stream *st;
    struct s3copy_node *node;
    struct aws_request req;
};

/* The incomplete uploads of one destination scope, listed page by page before the merge. */
struct s3copy_uploads {
    struct s3copy_run *run;
    struct s3copy_bucket *bucket;
    struct span prefix;
    struct span key_marker, id_marker; /* malloc'd */
    bool done;
    uint64_t listed, pages;
    struct aws_request req;
};

enum s3copy_step {
    S3COPY_COPY = 0,
    S3COPY_HEAD,
    S3COPY_TAGS,
    S3COPY_CREATE,
    S3COPY_PART,
    S3COPY_COMPLETE,
    S3COPY_ABORT,
    S3COPY_END /* nothing more to send */
};

/*
 * One object to copy (or, with `stale`, one abandoned upload to abort), from the merge until its last request.
 * Its strings are its own (the listing page it came from is freed long before a large copy ends); a multipart
 * copy also owns an arena for HeadObject's headers and the part ETags.
 */
struct s3copy_item {
    struct s3copy_item *next;
    struct s3_object src; /* key, etag and storage class copied */
    struct s3copy_bucket *dst;
    struct span dst_key;
    const char *why;
    const char *abort_why; /* why its upload is aborted; NULL: the copy failed */
    enum s3copy_step step; /* the next request to send */
    size_t route;          /* cfg route index (its pacing); S3COPY_NO_ROUTE for an abandoned upload */
    bool multipart;
    bool stale;
    bool failed; /* a failure is recorded: no more steps, except the abort of its upload */
    bool ended;  /* copied, or skipped because the source went away */
    uint64_t size;
    struct s3_head *head;
    struct span upload_id;
    uint64_t part_size;
    uint32_t nparts;
    uint32_t next_part; /* parts sent so far (1-based next = next_part + 1) */
    uint32_t parts_ok;
    struct span *etags;
    struct arena a;
};

struct s3copy_job {
    struct s3copy_run *run;
    struct s3copy_item *item;
    enum s3copy_step step;
    uint32_t part;
    struct aws_request req;
};

struct s3copy_plan_counts {
    uint64_t routed, unrouted, unchanged, waiting, archived, copy, multipart, bytes, stale, extra;
};

struct s3copy_run {
    struct cycle *cy;
    const struct cfg *cfg;
    struct s3_dest dest;
    bool etags_comparable;
    struct s3copy_bucket source;
    struct s3copy_bucket *dests;
    size_t ndests;
    struct s3copy_stream src;
    struct s3copy_stream *scopes; /* one destination stream per scope (s3copy_scopes) */
    size_t nscopes;
    size_t *route_scope;                 /* cfg route index → scopes index */
    struct s3copy_bucket **route_bucket; /* cfg route index → its destination bucket */
    struct s3copy_uploads *uploads;
    bool source_failed;
    enum err source_err;
    bool stopped;
    struct s3copy_item *items; /* in progress, in merge order */
    struct s3copy_item **items_tail;
    size_t nitems, nmultipart;
    size_t pages_alive, pages_peak;
    size_t nodes, nodes_peak;
    struct s3copy_plan_counts pc;
    struct s3copy_fetch *fetches;
    size_t max_fetches;
    struct s3copy_page *free_pages; /* emptied pages kept for reuse: at most the peak held at once */
    struct s3copy_job *jobs;
    struct aws_request **reqs;
    uint64_t rounds;
    int64_t start_ms, progress_ms;
    /*
     * Per-prefix pacing: S3 answers SlowDown per prefix ("at least 3,500 PUT/COPY/POST/DELETE ... per second per
     * partitioned prefix"), so each route has its own limiter (net/ratelimit: off until the route's first
     * throttled request, then CUBIC), and a throttled route slows its own copies only.
     */
    struct ratelimit *pace;
    bool *paced_logged;
    double pace_wait_s; /* this round: the shortest wait of an item held back by its route's limiter */
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
    if (r != NULL && report_stop_cancelled(r->result)) {
        /* A stop's cancellation is deferred work, as in every job (report.h: the one rule). */
        struct report_item it = { .job = REPORT_JOB_S3,
                                  .bucket = bucket,
                                  .key = key.n ? arena_span_cstr(a, key) : NULL };
        report_deferred(run->cy->report, &it, step, r->attempts > 0);
        arena_rewind(a, m);
        return;
    }
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

/* A copy the stop ended: recorded once as deferred (the one rule of report_deferred), never as a failure. */
static void s_item_deferred(struct s3copy_item *it, struct s3copy_run *run, const char *step) {
    if (!it->failed) {
        it->failed = true;
        struct arena_mark m = arena_mark(run->cy->scratch);
        struct report_item d = { .job = REPORT_JOB_S3,
                                 .bucket = it->dst->name,
                                 .key = arena_span_cstr(run->cy->scratch, it->dst_key) };
        report_deferred(run->cy->report, &d, step, false);
        arena_rewind(run->cy->scratch, m);
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
      LF_SP("source_key", it->src.key),
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
    LOG(LOG_WARN, "s3.source_gone", LF_S("bucket", run->source.name), LF_SP("key", it->src.key));
    arena_rewind(a, m);
}

static bool s_code_is(const struct aws_request *r, const char *code) {
    return strcmp(r->error.code, code) == 0;
}

static bool s_not_found(const struct aws_request *r) {
    return r->status == 404 || s_code_is(r, "NoSuchKey");
}

/* ---- listing: pages, nodes, streams --------------------------------------------------------------------- */

/* memcpy of a span that may be empty with a NULL pointer (memcpy's arguments must never be NULL). */
static char *s_put(char *dst, struct span s) {
    if (s.n) {
        memcpy(dst, s.p, s.n);
    }
    return dst + s.n;
}

static struct span s_span_malloc(struct span s) {
    if (s.n == 0) {
        return SPAN_NULL;
    }
    char *p = malloc(s.n);
    if (p == NULL) {
        LOG(LOG_ERROR, "s3.out_of_memory", LF_U("bytes", s.n));
        abort();
    }
    memcpy(p, s.p, s.n);
    return (struct span){ p, s.n };
}

/* A page's memory is kept for the next page (run->free_pages): no malloc/free per page, no fragmentation. */
static void s_page_unref(struct s3copy_run *run, struct s3copy_page *pg) {
    if (--pg->refs == 0) {
        pg->st->pages_alive--;
        arena_clear(&pg->a);
        pg->next_free = run->free_pages;
        run->free_pages = pg;
        run->pages_alive--;
    }
}

static struct s3copy_page *s_page_new(struct s3copy_run *run) {
    struct s3copy_page *pg = run->free_pages;
    if (pg) {
        run->free_pages = pg->next_free;
        pg->next_free = NULL;
        return pg;
    }
    pg = calloc(1, sizeof(*pg));
    if (pg == NULL) {
        abort();
    }
    arena_init(&pg->a, 0);
    return pg;
}

static struct s3copy_node *s_node_new(struct s3copy_stream *st, struct span prefix, uint32_t depth, bool listed) {
    struct s3copy_node *n = calloc(1, sizeof(*n) + prefix.n);
    if (n == NULL) {
        LOG(LOG_ERROR, "s3.out_of_memory", LF_U("bytes", sizeof(*n) + prefix.n));
        abort();
    }
    s_put((char *) (n + 1), prefix);
    n->prefix = (struct span){ (const char *) (n + 1), prefix.n };
    n->depth = depth;
    n->listed = listed;
    if (!listed) {
        st->ranges++;
    }
    st->nodes++;
    st->run->nodes++;
    return n;
}

/* Inserts n before `at` (NULL: at the end). */
static void s_node_insert(struct s3copy_stream *st, struct s3copy_node *n, struct s3copy_node *at) {
    n->next = at;
    n->prev = at ? at->prev : st->tail;
    if (n->prev) {
        n->prev->next = n;
    } else {
        st->head = n;
    }
    if (at) {
        at->prev = n;
    } else {
        st->tail = n;
    }
}

static void s_node_free(struct s3copy_stream *st, struct s3copy_node *n) {
    if (n->prev) {
        n->prev->next = n->next;
    } else {
        st->head = n->next;
    }
    if (n->next) {
        n->next->prev = n->prev;
    } else {
        st->tail = n->prev;
    }
    while (n->first) {
        struct s3copy_slice *s = n->first;
        n->first = s->next;
        s_page_unref(st->run, s->page);
    }
    free((void *) n->token.p);
    free((void *) n->after.p);
    free((void *) n->end.p);
    st->nodes--;
    st->run->nodes--;
    free(n);
}

static void s_slice_add(struct s3copy_node *n, struct s3copy_page *pg, const struct s3_object *objs, size_t count) {
    if (count == 0) {
        return;
    }
    struct s3copy_slice *s = ARENA_NEW(&pg->a, struct s3copy_slice);
    *s = (struct s3copy_slice){ .page = pg, .objs = objs, .n = count };
    pg->refs++;
    if (n->last) {
        n->last->next = s;
    } else {
        n->first = s;
    }
    n->last = s;
    n->buffered += count;
}

/*
 * Places a page fetched for node n into the stream, in key order: objects before the first common prefix, each
 * common prefix as a new node (listed on its own), the objects between them, and the objects after the last one
 * go before n's continuation. Objects already buffered in n move to a node of their own in front.
 */
static void s_absorb(
  struct s3copy_stream *st,
  struct s3copy_node *n,
  struct s3copy_page *pg,
  const struct s3_object_list *objs,
  const struct s3_prefix_list *pfx) {
    if (pfx->n > 0 && n->first != NULL) {
        struct s3copy_node *m = s_node_new(st, SPAN_NULL, n->depth, true);
        m->first = n->first;
        m->last = n->last;
        m->buffered = n->buffered;
        n->first = n->last = NULL;
        n->buffered = 0;
        s_node_insert(st, m, n);
    }
    size_t oi = 0;
    for (size_t j = 0; j < pfx->n; j++) {
        size_t end = oi;
        while (end < objs->n && span_cmp(objs->items[end].key, pfx->items[j]) < 0) {
            end++;
        }
        if (end > oi) {
            struct s3copy_node *m = s_node_new(st, SPAN_NULL, n->depth, true);
            s_slice_add(m, pg, objs->items + oi, end - oi);
            s_node_insert(st, m, n);
        }
        oi = end;
        s_node_insert(st, s_node_new(st, pfx->items[j], n->depth + 1, false), n);
    }
    if (objs->n > oi) {
        s_slice_add(n, pg, objs->items + oi, objs->n - oi);
    }
    struct span last = objs->n ? objs->items[objs->n - 1].key : SPAN_NULL;
    if (pfx->n && span_cmp(pfx->items[pfx->n - 1], last) > 0) {
        last = pfx->items[pfx->n - 1];
    }
    free((void *) n->after.p);
    n->after = s_span_malloc(last);
    struct s3copy_run *run = st->run;
    run->nodes_peak = run->nodes > run->nodes_peak ? run->nodes : run->nodes_peak;
}

/*
 * A bucket in another region answers 301 PermanentRedirect (or 400 AuthorizationHeaderMalformed when the
 * signing region is wrong) with its region in x-amz-bucket-region: use it and ask again.
 */
static bool
s_region_redirect(struct s3copy_run *run, struct s3copy_bucket *b, uint32_t *redirects, const struct aws_request *r) {
    struct span region = aws_response_header(r, "x-amz-bucket-region");
    bool redirect = r->status == 301 || s_code_is(r, "PermanentRedirect") ||
                    s_code_is(r, "AuthorizationHeaderMalformed") || s_code_is(r, "IllegalLocationConstraintException");
    if (
      !redirect || *redirects >= S3COPY_MAX_REDIRECTS || !region_is_valid(region) || span_eq_cstr(region, r->region)) {
        return false;
    }
    (*redirects)++;
    if (!span_eq_cstr(region, b->region)) {
        b->region = arena_span_cstr(run->cy->arena, region);
        LOG(LOG_INFO, "s3.bucket_region", LF_S("bucket", b->name), LF_S("region", b->region));
    }
    return true;
}

/* A listing failed: the source stops the job; a destination's objects wait for the next run (one failure). */
static void s_stream_failed(struct s3copy_stream *st, const struct aws_request *r, enum err e, const char *why) {
    struct s3copy_run *run = st->run;
    st->failed = true; /* its nodes are freed after the round (other pages of it may still arrive) */
    if (st->is_source) {
        run->source_failed = true;
        run->source_err = e;
        if (st->pages == 0 && !run->cy->report->ebs_ran && job_err_cannot_start(e)) {
            run->cy->could_not_start = true;
        }
    }
    if (!st->bucket->failed) {
        st->bucket->failed = true;
        s_fail(run, st->bucket->name, SPAN_NULL, r, "ListObjectsV2", why, r ? NULL : err_last()->msg);
    }
}

/*
 * A StartAfter sub-range ends at its `end` key: drops what its page listed past it (the next sub-range lists
 * those) and says whether the range is complete.
 */
static bool
s_cut_at_end(struct s3copy_stream *st, struct s3copy_node *n, struct s3_object_list *objs, struct s3_prefix_list *pfx) {
    if (n->end.n == 0) {
        return false;
    }
    size_t o = objs->n, p = pfx->n;
    while (o > 0 && span_cmp(objs->items[o - 1].key, n->end) > 0) {
        o--;
    }
    while (p > 0 && span_cmp(pfx->items[p - 1], n->end) > 0) {
        p--;
    }
    bool done = o < objs->n || p < pfx->n || (o > 0 && span_eq(objs->items[o - 1].key, n->end));
    st->past_end += objs->n - o;
    objs->n = o;
    pfx->n = p;
    return done;
}

/*
 * After the first page of a flat range that is still truncated, cuts the rest of it into StartAfter sub-ranges
 * (s3copy_split_points), placed after it in key order: it keeps (last key, first boundary], each new range
 * (Bi, Bi+1] (the last one up to its old end). Delimited ranges are cut too when their page has no common prefix
 * (a folder without '/' below it); the boundaries never cut a common prefix.
 */
static void s_split(
  struct s3copy_stream *st,
  struct s3copy_node *n,
  const struct s3_object_list *objs,
  size_t npfx,
  bool truncated) {
    struct s3copy_run *run = st->run;
    uint32_t p = ++n->pages;
    if ((p & (p - 1)) != 0 || !truncated || npfx > 0 || objs->n < 2 || run->nodes >= S3COPY_MAX_RANGES) {
        return;
    }
    /*
     * At most as many new ranges as pages it has listed: a range that ends soon (a folder of a few pages) costs
     * at most one extra request per page listed, while a long one is cut ever finer (1, 2, 4, ... ranges).
     */
    size_t max = p < S3COPY_SPLIT_FANOUT ? p : S3COPY_SPLIT_FANOUT;
    struct arena_mark m = arena_mark(run->cy->scratch);
    struct span b[S3COPY_SPLIT_FANOUT];
    size_t nb = s3copy_split_points(
      run->cy->scratch,
      n->prefix,
      objs->items[0].key,
      objs->items[objs->n - 1].key,
      n->end,
      n->depth < S3COPY_SPLIT_DEPTH,
      b,
      max);
    struct s3copy_node *at = n->next;
    for (size_t i = 0; i < nb; i++) {
        struct s3copy_node *r = s_node_new(st, n->prefix, n->depth, false);
        r->after = s_span_malloc(b[i]);
        r->end = i + 1 < nb ? s_span_malloc(b[i + 1]) : n->end;
        s_node_insert(st, r, at);
    }
    if (nb > 0) {
        n->end = s_span_malloc(b[0]); /* its old end moved to the last new range */
        st->split_ranges += nb;
        run->nodes_peak = run->nodes > run->nodes_peak ? run->nodes : run->nodes_peak;
    }
    arena_rewind(run->cy->scratch, m);
}

static enum err
s_parse_page(struct s3copy_fetch *f, struct aws_request *r, struct s3copy_page *pg, struct span *token) {
    struct s3copy_run *run = f->st->run;
    struct arena_mark m = arena_mark(run->cy->scratch);
    struct s3_object_list objs = { 0 };
    struct s3_prefix_list pfx = { 0 };
    const struct xml_node *root = NULL;
    enum err e = aws_response_xml(r, run->cy->scratch, &root);
    if (e == ERR_OK) {
        e = s3_list_objects_parse_q(&pg->a, root, &objs, &pfx, token);
    }
    for (size_t i = 0; e == ERR_OK && i < objs.n; i++) {
        /* The merge relies on S3's order: a listing out of order would copy wrongly, so it is refused. */
        if (i > 0 && span_cmp(objs.items[i - 1].key, objs.items[i].key) >= 0) {
            e = err_raise(ERR_PARSE, __FILE__, __LINE__, "listed keys out of order");
        } else if (!span_starts_with(objs.items[i].key, f->node->prefix) || objs.items[i].key.n < f->st->strip) {
            e = err_raise(ERR_PARSE, __FILE__, __LINE__, "listed key outside the requested prefix");
        } else if (i == 0 && f->node->token.n == 0 && span_cmp(objs.items[0].key, f->node->after) <= 0) {
            /* StartAfter not honoured: the sub-ranges would overlap */
            e = err_raise(ERR_PARSE, __FILE__, __LINE__, "listed key not after StartAfter");
        }
    }
    arena_rewind(run->cy->scratch, m);
    if (e == ERR_OK) {
        if (s_cut_at_end(f->st, f->node, &objs, &pfx)) {
            *token = SPAN_NULL;
        }
        f->st->objects += objs.n;
        f->st->pages++;
        s_absorb(f->st, f->node, pg, &objs, &pfx);
        s_split(f->st, f->node, &objs, pfx.n, token->n > 0);
    }
    return e;
}

static void s_fetch_done(struct aws_request *r) {
    struct s3copy_fetch *f = r->user;
    struct s3copy_stream *st = f->st;
    struct s3copy_run *run = st->run;
    f->node->fetching = false;
    if (st->failed) {
        aws_request_free(r);
        return;
    }
    if (r->result != ERR_OK) {
        if (!s_region_redirect(run, st->bucket, &f->node->redirects, r)) {
            s_stream_failed(st, r, r->result, NULL);
        }
        aws_request_free(r);
        return;
    }
    struct s3copy_page *pg = s_page_new(run);
    pg->refs = 1; /* held while it is being placed */
    pg->st = st;
    st->pages_alive++;
    run->pages_alive++;
    run->pages_peak = run->pages_alive > run->pages_peak ? run->pages_alive : run->pages_peak;
    struct span token = SPAN_NULL;
    enum err e = s_parse_page(f, r, pg, &token);
    aws_request_free(r);
    if (e == ERR_OK) {
        free((void *) f->node->token.p);
        f->node->token = s_span_malloc(token);
        f->node->listed = token.n == 0;
    }
    s_page_unref(run, pg);
    if (e != ERR_OK) {
        s_stream_failed(st, NULL, e, err_name(e));
    }
}

static void s_fetch_build(struct s3copy_run *run, struct s3copy_fetch *f) {
    struct s3copy_node *n = f->node;
    struct s3_list_query q = { .prefix = n->prefix, .token = n->token };
    if (n->token.n == 0) {
        q.start_after = n->after; /* a StartAfter sub-range's first page */
    }
    if (n->depth < S3COPY_SPLIT_DEPTH) {
        q.delimiter = SPAN_LIT("/");
    }
    s3_list_objects_request_q(&f->req, run->cy->scratch, f->st->bucket->region, f->st->bucket->name, &q);
    f->req.user = f;
    f->req.on_done = s_fetch_done;
    n->fetching = true;
}

/*
 * A range's next page may be fetched while earlier ones are still buffered: its chain of pages is then fetched
 * ahead while the merge works on the ranges before it (S3COPY_MAX_PAGES bounds what is held).
 */
static bool s_wants_page(const struct s3copy_node *n) {
    return !n->listed && !n->fetching;
}

/* Where a range's next page starts, as a source key (a destination's key without S3_DEST_PREFIX). */
static struct span s_pos(const struct s3copy_stream *st, const struct s3copy_node *n) {
    struct span p = n->after.n ? n->after : n->prefix;
    return span_sub(p, st->strip < p.n ? st->strip : p.n, p.n);
}

/* The next range to fetch ahead from c on: delimited ones (which add ranges) only below S3COPY_MAX_RANGES. */
static struct s3copy_node *s_next_wanted(const struct s3copy_run *run, struct s3copy_node *c) {
    while (c && (!s_wants_page(c) || (c->depth < S3COPY_SPLIT_DEPTH && run->nodes >= S3COPY_MAX_RANGES))) {
        c = c->next;
    }
    return c;
}

static struct s3copy_stream *s_stream(struct s3copy_run *run, size_t s) {
    return s == 0 ? &run->src : &run->scopes[s - 1];
}

/* The stream whose next range to fetch ahead starts first (walk[s]: each stream's candidate); nstreams: none. */
static size_t s_first_candidate(struct s3copy_run *run, struct s3copy_node **walk, size_t nstreams) {
    size_t best = nstreams;
    for (size_t s = 0; s < nstreams; s++) {
        if (walk[s] == NULL) {
            continue;
        }
        if (
          best == nstreams || span_cmp(s_pos(s_stream(run, s), walk[s]), s_pos(s_stream(run, best), walk[best])) < 0) {
            best = s;
        }
    }
    return best;
}

static void s_fetch_take(struct s3copy_run *run, size_t *n, struct s3copy_stream *st, struct s3copy_node *node) {
    run->fetches[(*n)++] = (struct s3copy_fetch){ .st = st, .node = node };
    node->fetching = true;
}

/*
 * The listing requests of one round: first the front range of every stream that has nothing to give (the merge
 * waits for it), then, while fewer than S3COPY_MAX_PAGES pages are in memory, the next ranges of all streams in
 * the order the merge will reach them (by start key, source and destinations alike), so that ranges are listed
 * concurrently and neither side runs ahead of the other.
 */
static size_t s_schedule_fetches(struct s3copy_run *run, size_t max) {
    size_t n = 0;
    size_t nstreams = 1 + run->nscopes;
    struct s3copy_node **walk = ARENA_NEW_ARRAY(run->cy->scratch, struct s3copy_node *, nstreams);
    for (size_t s = 0; s < nstreams && n < max; s++) {
        struct s3copy_stream *st = s_stream(run, s);
        struct s3copy_node *h = st->failed ? NULL : st->head;
        if (h && h->first == NULL && s_wants_page(h)) {
            s_fetch_take(run, &n, st, h);
        }
        walk[s] = h ? s_next_wanted(run, h) : NULL;
    }
    while (n < max && run->pages_alive + n < S3COPY_MAX_PAGES) {
        size_t best = s_first_candidate(run, walk, nstreams);
        if (best == nstreams) {
            break;
        }
        s_fetch_take(run, &n, s_stream(run, best), walk[best]);
        walk[best] = s_next_wanted(run, walk[best]->next);
    }
    for (size_t i = 0; i < n; i++) {
        s_fetch_build(run, &run->fetches[i]);
    }
    return n;
}

/* The next object of a stream: 1 (*o set), 0 at its end (or failed), -1 while its front range waits for a page. */
static int s_peek(struct s3copy_stream *st, const struct s3_object **o) {
    while (!st->failed && st->head) {
        struct s3copy_node *n = st->head;
        if (n->first) {
            *o = &n->first->objs[n->first->i];
            return 1;
        }
        if (!n->listed || n->fetching) {
            return -1;
        }
        s_node_free(st, n);
    }
    return 0;
}

static void s_pop(struct s3copy_stream *st) {
    struct s3copy_node *n = st->head;
    struct s3copy_slice *s = n->first;
    n->buffered--;
    if (++s->i == s->n) {
        n->first = s->next;
        if (n->first == NULL) {
            n->last = NULL;
        }
        s_page_unref(st->run, s->page);
    }
}
/* ---- items ---------------------------------------------------------------------------------------------- */

/* A new item owning copies of its strings: the source key, ETag and storage class, and the destination key. */
static struct s3copy_item *
s_item_new(struct s3copy_run *run, const struct s3_object *o, struct span dst_prefix, struct span upload_id) {
    size_t sz =
      sizeof(struct s3copy_item) + o->key.n + o->etag.n + o->storage_class.n + dst_prefix.n + o->key.n + upload_id.n;
    struct s3copy_item *it = calloc(1, sz);
    if (it == NULL) {
        LOG(LOG_ERROR, "s3.out_of_memory", LF_U("bytes", sz));
        abort();
    }
    char *p = (char *) (it + 1);
    it->src = *o;
    struct span *dst[] = { &it->src.key, &it->src.etag, &it->src.storage_class };
    for (size_t i = 0; i < 3; i++) {
        char *at = p;
        p = s_put(p, *dst[i]);
        dst[i]->p = at;
    }
    it->dst_key = (struct span){ p, dst_prefix.n + o->key.n };
    p = s_put(s_put(p, dst_prefix), o->key);
    it->upload_id = (struct span){ p, upload_id.n };
    s_put(p, upload_id);
    it->size = o->size;
    arena_init(&it->a, 0);
    *run->items_tail = it;
    run->items_tail = &it->next;
    run->nitems++;
    return it;
}

static void s_item_free(struct s3copy_item *it) {
    arena_free(&it->a);
    free(it);
}

/* Frees the items with nothing left to send; keeps the order of the others. */
static void s_reap(struct s3copy_run *run) {
    struct s3copy_item **pp = &run->items;
    run->items_tail = &run->items;
    while (*pp) {
        struct s3copy_item *it = *pp;
        bool over = it->ended || it->step == S3COPY_END || (it->failed && it->upload_id.n == 0);
        if (over) {
            *pp = it->next;
            run->nitems--;
            run->nmultipart -= it->multipart && !it->stale;
            s_item_free(it);
        } else {
            run->items_tail = &it->next;
            pp = &it->next;
        }
    }
}

/* ---- merge: decide per object as the listings arrive ------------------------------------------------------ */

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

/* One routed source object against its copy (NULL: none): nothing, a skip, or a new item to copy. */
static void s_decide_one(
  struct s3copy_run *run,
  const struct s3_object *o,
  const struct s3_object *copy,
  struct s3copy_bucket *b,
  size_t route) {
    const struct cfg *cfg = run->cfg;
    struct s3copy_decision d = s3copy_decide(o, copy, run->etags_comparable);
    if (!d.copy) {
        run->pc.unchanged++;
        return;
    }
    if (s3copy_archived(o->storage_class)) {
        run->pc.archived++;
        s_skip(
          run, cfg->s3_source_bucket, o->key, "source is archived (GLACIER/DEEP_ARCHIVE): restore it to copy", true);
        return;
    }
    struct s3copy_item *it = s_item_new(run, o, span_from_cstr(cfg->s3_dest_prefix), SPAN_NULL);
    it->route = route;
    it->dst = b;
    it->why = d.why;
    it->multipart = s3copy_use_multipart(o->size, cfg->s3_multipart_threshold_bytes);
    it->step = it->multipart ? S3COPY_HEAD : S3COPY_COPY;
    if (it->dst_key.n > S3_KEY_MAX) {
        s_item_fail_msg(
          it, run, "plan", "KeyTooLongError", "the destination key (S3_DEST_PREFIX + key) is over 1024 bytes");
        return;
    }
    /* A NUL byte cannot travel in the report, the log or a header: say so rather than name another key. */
    if (memchr(o->key.p, '\0', o->key.n) != NULL) {
        s_item_fail_msg(it, run, "plan", "InvalidKey", "the key contains a NUL byte");
        return;
    }
    run->pc.copy++;
    run->pc.bytes += o->size;
    run->pc.multipart += it->multipart;
    run->nmultipart += it->multipart;
    if (run->cy->dry_run) {
        if (it->multipart) {
            it->part_size = s3copy_part_size(it->size, cfg->s3_part_size_bytes);
            it->nparts = s3copy_part_count(it->size, it->part_size);
        }
        s_copied(run, it, it->multipart ? "UploadPartCopy" : "CopyObject");
    }
}

/*
 * The copy of source key `key` in its scope's stream: pops the destination keys before it (extra keys, kept),
 * sets *copy (NULL when there is none). False while the stream's front waits for a page.
 */
static bool
s_find_copy(struct s3copy_run *run, struct s3copy_stream *st, struct span key, const struct s3_object **copy) {
    *copy = NULL;
    for (;;) {
        const struct s3_object *d = NULL;
        int r = s_peek(st, &d);
        if (r < 0) {
            return false;
        }
        if (r == 0) {
            return true;
        }
        int c = span_cmp(span_sub(d->key, st->strip, d->key.n), key);
        if (c > 0) {
            return true;
        }
        if (c == 0) {
            *copy = d;
            return true;
        }
        run->pc.extra++;
        s_pop(st);
    }
}

/* Merges as far as the listings and the copies in progress allow. True when the source is merged to its end. */
static bool s_merge(struct s3copy_run *run) {
    const struct cfg *cfg = run->cfg;
    while (run->nitems < S3COPY_MAX_ITEMS && run->nmultipart < S3COPY_MAX_MULTIPART) {
        const struct s3_object *o = NULL;
        int r = s_peek(&run->src, &o);
        if (r <= 0) {
            return r == 0;
        }
        const struct cfg_route *route = cfg_s3_route(cfg, o->key);
        if (route == NULL) {
            if (++run->pc.unrouted <= S3COPY_MAX_UNROUTED_RECORDS) {
                s_skip(run, cfg->s3_source_bucket, o->key, "no route", false);
            } else {
                run->cy->report->s3_skipped_unrecorded++;
                LOG(
                  LOG_DEBUG,
                  "s3.skipped",
                  LF_S("bucket", cfg->s3_source_bucket),
                  LF_SP("key", o->key),
                  LF_S("reason", "no route"));
            }
            s_pop(&run->src);
            continue;
        }
        struct s3copy_stream *st = &run->scopes[run->route_scope[route - cfg->s3_routes]];
        struct s3copy_bucket *b = run->route_bucket[route - cfg->s3_routes];
        if (b->failed) {
            run->pc.routed++;
            run->pc.waiting++; /* its listing failed (recorded once): decided by the next run */
            s_pop(&run->src);
            continue;
        }
        const struct s3_object *copy = NULL;
        if (!s_find_copy(run, st, o->key, &copy)) {
            return false;
        }
        run->pc.routed++;
        s_decide_one(run, o, copy, b, (size_t) (route - cfg->s3_routes));
        if (copy) {
            s_pop(st);
        }
        s_pop(&run->src);
    }
    return false;
}
static double s_now_s(void) {
    return (double) time_mono_ms() / 1000.0;
}

/* Takes a token of the item's route limiter for one request; false (the wait noted) when it must wait. */
static bool s_paced(struct s3copy_run *run, const struct s3copy_item *it) {
    if (it->route == S3COPY_NO_ROUTE) {
        return true;
    }
    double wait = ratelimit_acquire(&run->pace[it->route], s_now_s());
    if (wait > 0 && (run->pace_wait_s == 0 || wait < run->pace_wait_s)) {
        run->pace_wait_s = wait;
    }
    return wait <= 0;
}

/* A paced request's answer feeds its route's limiter; the first throttled one turns it on (logged once). */
static void s_pace_feedback(struct s3copy_run *run, const struct s3copy_item *it, const struct aws_request *r) {
    if (it->route == S3COPY_NO_ROUTE) {
        return;
    }
    struct ratelimit *rl = &run->pace[it->route];
    ratelimit_on_response(rl, r->throttles > 0, s_now_s());
    if (rl->enabled && !run->paced_logged[it->route]) {
        run->paced_logged[it->route] = true;
        LOG(
          LOG_WARN,
          "s3.prefix_paced",
          LF_S("prefix", run->cfg->s3_routes[it->route].prefix),
          LF_S("operation", r->operation),
          LF_U("throttled_attempts", r->throttles));
    }
}

/* ---- copy: the requests of the items in progress --------------------------------------------------------- */

static const char *s_source_cstr(struct s3copy_run *run, struct s3copy_item *it) {
    const char *cs = s3_copy_source(run->cy->scratch, run->source.name, it->src.key);
    if (cs == NULL) {
        s_item_fail_msg(it, run, "copy source", "KeyTooLongError", "the source key cannot be encoded");
    }
    return cs;
}

/*
 * ---- the copy of one object as a table of steps ----
 *
 * Each request of a copy is one row of s_steps: how it is built, which S3 operation names it in a failure, what a
 * 404 means (the source went away: skipped, not failed), how its answer is read into the item, and which step
 * comes next. s_step_done is the one completion handler:
 *
 *   CopyObject                                                  → copied
 *   HeadObject → [GetObjectTagging] → CopyObject                (shrank below the threshold)
 *                                   → CreateMultipartUpload → UploadPartCopy × nparts → CompleteMultipartUpload
 *   any failure with an upload open                             → AbortMultipartUpload
 */

/* What a 404 (or NoSuchKey) answer to a step means. */
enum s_gone {
    S_GONE_NEVER = 0, /* a failure like any other */
    S_GONE_ANY,       /* the source went away (HeadObject: no body, so no code tells a missing bucket apart) */
    S_GONE_KEY,       /* the source went away, unless the code is NoSuchBucket */
};

struct s_step {
    const char *op;         /* the S3 operation, in failure records */
    const char *parse_what; /* the step named when its answer cannot be read */
    enum s_gone gone;
    bool changed;                                            /* PreconditionFailed: the source changed meanwhile */
    bool (*build)(struct s3copy_run *, struct s3copy_job *); /* false: not sent (the failure is recorded) */
    enum err (*parse)(struct s3copy_run *, struct s3copy_job *, struct aws_request *); /* NULL: nothing to read */
    void (*next)(struct s3copy_run *, struct s3copy_job *);                            /* after a success */
};

/* A request that could not be built is the item's failure. */
static bool s_built(struct s3copy_run *run, struct s3copy_item *it, enum err e) {
    if (e != ERR_OK) {
        s_item_fail_msg(it, run, "build request", err_name(e), err_last()->msg);
        return false;
    }
    return true;
}

static bool s_build_copy(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    const char *cs = s_source_cstr(run, it);
    return cs != NULL &&
           s_built(
             run, it, s3_copy_object_request(&job->req, it->dst->region, it->dst->name, it->dst_key, cs, &run->dest));
}

static bool s_build_head(struct s3copy_run *run, struct s3copy_job *job) {
    s3_head_object_request(&job->req, run->source.region, run->source.name, job->item->src.key);
    return true;
}

static bool s_build_tags(struct s3copy_run *run, struct s3copy_job *job) {
    s3_get_object_tagging_request(&job->req, run->source.region, run->source.name, job->item->src.key);
    return true;
}

static bool s_build_create(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    return s_built(
      run,
      it,
      s3_create_multipart_request(&job->req, it->dst->region, it->dst->name, it->dst_key, it->head, &run->dest));
}

static bool s_build_part(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    const char *cs = s_source_cstr(run, it);
    if (cs == NULL) {
        return false;
    }
    uint64_t first = 0, last = 0;
    s3copy_part_range(it->size, it->part_size, job->part, &first, &last);
    return s_built(
      run,
      it,
      s3_upload_part_copy_request(
        &job->req,
        run->cy->scratch,
        it->dst->region,
        it->dst->name,
        it->dst_key,
        it->upload_id,
        job->part,
        cs,
        first,
        last,
        it->head->etag));
}

static bool s_build_complete(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    struct arena *a = run->cy->scratch;
    struct span body;
    enum err e = s3_complete_multipart_body(a, it->etags, it->nparts, &body);
    if (e == ERR_OK) {
        s3_complete_multipart_request(&job->req, a, it->dst->region, it->dst->name, it->dst_key, it->upload_id, body);
    }
    return s_built(run, it, e);
}

static bool s_build_abort(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    s3_abort_multipart_request(&job->req, run->cy->scratch, it->dst->region, it->dst->name, it->dst_key, it->upload_id);
    return true;
}

static enum err s_parse_head(struct s3copy_run *run, struct s3copy_job *job, struct aws_request *r) {
    struct s3copy_item *it = job->item;
    it->head = ARENA_NEW(&it->a, struct s3_head);
    TRY(s3_head_object_parse(&it->a, r, it->head));
    /* Copy the object as it is now: the size may have changed since the listing. */
    it->size = it->head->size;
    it->part_size = s3copy_part_size(it->size, run->cfg->s3_part_size_bytes);
    it->nparts = s3copy_part_count(it->size, it->part_size);
    return ERR_OK;
}

static enum err s_parse_tags(struct s3copy_run *run, struct s3copy_job *job, struct aws_request *r) {
    const struct xml_node *root = NULL;
    TRY(aws_response_xml(r, run->cy->scratch, &root));
    return s3_get_object_tagging_parse(&job->item->a, root, &job->item->head->tagging);
}

static enum err s_parse_create(struct s3copy_run *run, struct s3copy_job *job, struct aws_request *r) {
    const struct xml_node *root = NULL;
    TRY(aws_response_xml(r, run->cy->scratch, &root));
    return s3_create_multipart_parse(&job->item->a, root, &job->item->upload_id);
}

static enum err s_parse_part(struct s3copy_run *run, struct s3copy_job *job, struct aws_request *r) {
    const struct xml_node *root = NULL;
    TRY(aws_response_xml(r, run->cy->scratch, &root));
    return s3_upload_part_copy_parse(&job->item->a, root, &job->item->etags[job->part - 1]);
}

static void s_next_copied(struct s3copy_run *run, struct s3copy_job *job) {
    s_copied(run, job->item, "CopyObject");
}

/* After HeadObject (and GetObjectTagging): create the upload, or CopyObject when it shrank below the threshold. */
static void s_next_after_head(struct s3copy_run *run, struct s3copy_job *job) {
    struct s3copy_item *it = job->item;
    if (!s3copy_use_multipart(it->size, run->cfg->s3_multipart_threshold_bytes)) {
        it->multipart = false;
        run->nmultipart--;
        it->step = S3COPY_COPY;
    } else {
        it->step = S3COPY_CREATE;
    }
}

static void s_next_head(struct s3copy_run *run, struct s3copy_job *job) {
    if (job->item->head->tag_count > 0) {
        job->item->step = S3COPY_TAGS; /* CopyObject keeps tags, so a multipart copy must carry them too */
    } else {
        s_next_after_head(run, job);
    }
}

static void s_next_create(struct s3copy_run *run, struct s3copy_job *job) {
    (void) run;
    job->item->etags = ARENA_NEW_ARRAY(&job->item->a, struct span, job->item->nparts);
    job->item->step = S3COPY_PART;
}

static void s_next_part(struct s3copy_run *run, struct s3copy_job *job) {
    (void) run;
    if (++job->item->parts_ok == job->item->nparts) {
        job->item->step = S3COPY_COMPLETE;
    }
}

static void s_next_complete(struct s3copy_run *run, struct s3copy_job *job) {
    job->item->upload_id = SPAN_NULL; /* complete: nothing to abort */
    s_copied(run, job->item, "UploadPartCopy");
}

static const struct s_step s_steps[S3COPY_END] = {
    [S3COPY_COPY] = { "CopyObject", NULL, S_GONE_KEY, false, s_build_copy, NULL, s_next_copied },
    [S3COPY_HEAD] = { "HeadObject", "HeadObject", S_GONE_ANY, false, s_build_head, s_parse_head, s_next_head },
    [S3COPY_TAGS] = { "GetObjectTagging",
                      "GetObjectTagging response",
                      S_GONE_KEY,
                      false,
                      s_build_tags,
                      s_parse_tags,
                      s_next_after_head },
    [S3COPY_CREATE] = { "CreateMultipartUpload",
                        "CreateMultipartUpload response",
                        S_GONE_NEVER,
                        false,
                        s_build_create,
                        s_parse_create,
                        s_next_create },
    [S3COPY_PART] = { "UploadPartCopy",
                      "UploadPartCopy response",
                      S_GONE_NEVER,
                      true,
                      s_build_part,
                      s_parse_part,
                      s_next_part },
    [S3COPY_COMPLETE] = { "CompleteMultipartUpload",
                          NULL,
                          S_GONE_NEVER,
                          false,
                          s_build_complete,
                          NULL,
                          s_next_complete },
    [S3COPY_ABORT] = { "AbortMultipartUpload", NULL, S_GONE_NEVER, false, s_build_abort, NULL, NULL },
};

/* Builds the request of one job; false when it cannot be sent (the item's failure is then recorded). */
static bool s_build(struct s3copy_run *run, struct s3copy_job *job) {
    return job->step < S3COPY_END && s_steps[job->step].build(run, job);
}

/* A step's failure: the source went away, it changed meanwhile, or the item failed at this step. */
static void
s_step_failed(struct s3copy_run *run, struct s3copy_item *it, const struct s_step *st, struct aws_request *r) {
    bool gone = st->gone != S_GONE_NEVER && s_not_found(r) && (st->gone == S_GONE_ANY || !s_code_is(r, "NoSuchBucket"));
    if (gone) {
        s_source_gone(run, it, r);
    } else if (st->changed && s_code_is(r, "PreconditionFailed")) {
        s_item_fail_msg(it, run, st->op, r->error.code, "the source changed during the copy; the next run copies it");
    } else {
        s_item_fail(it, run, r, st->op);
    }
}

/* The one completion handler of every step but the abort: failure, or read the answer and go on. */
static void s_step_done(struct s3copy_run *run, struct s3copy_job *job, struct aws_request *r) {
    const struct s_step *st = &s_steps[job->step];
    if (r->result != ERR_OK) {
        s_step_failed(run, job->item, st, r);
        return;
    }
    enum err e = st->parse != NULL ? st->parse(run, job, r) : ERR_OK;
    if (e != ERR_OK) {
        s_item_fail_msg(job->item, run, st->parse_what, err_name(e), err_last()->msg);
        return;
    }
    st->next(run, job);
}

static void s_abort_done(struct s3copy_item *it, struct aws_request *r) {
    if (r->result == ERR_OK || s_code_is(r, "NoSuchUpload")) {
        LOG(
          LOG_INFO,
          "s3.upload_aborted",
          LF_S("bucket", it->dst->name),
          LF_SP("key", it->dst_key),
          LF_SP("upload_id", it->upload_id),
          LF_S("reason", it->abort_why ? it->abort_why : "copy failed"));
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
    it->upload_id = SPAN_NULL;
    it->step = S3COPY_END;
}

static void s_job_done(struct aws_request *r) {
    struct s3copy_job *job = r->user;
    struct s3copy_run *run = job->run;
    struct arena_mark m = arena_mark(run->cy->scratch);
    if (job->step == S3COPY_ABORT) {
        s_abort_done(job->item, r); /* the ending's own request: no pacing feedback, no failure of its own */
    } else {
        s_pace_feedback(run, job->item, r);
        s_step_done(run, job, r);
    }
    arena_rewind(run->cy->scratch, m);
    aws_request_free(r);
}

static void s_job_add(struct s3copy_run *run, size_t *k, struct s3copy_item *it, enum s3copy_step step, uint32_t part) {
    struct s3copy_job *job = &run->jobs[*k];
    *job = (struct s3copy_job){ .run = run, .item = it, .step = step, .part = part };
    if (s_build(run, job)) {
        job->req.user = job;
        job->req.on_done = s_job_done;
        run->reqs[(*k)++] = &job->req;
    }
}

/*
 * The requests of this round for the items in progress (at most S3COPY_WINDOW, jobs[0..]): one step of each item,
 * or as many parts of an upload as fit; an item that failed with an open upload sends its abort.
 */
static size_t s_schedule_jobs(struct s3copy_run *run) {
    size_t k = 0;
    run->pace_wait_s = 0;
    for (struct s3copy_item *it = run->items; it && k < S3COPY_WINDOW; it = it->next) {
        if (it->ended || it->step == S3COPY_END) {
            continue;
        }
        if (it->failed) {
            if (it->upload_id.n) {
                s_job_add(run, &k, it, S3COPY_ABORT, 0);
            }
            continue;
        }
        if (it->step != S3COPY_PART) {
            if (it->step == S3COPY_ABORT || s_paced(run, it)) {
                s_job_add(run, &k, it, it->step, 0);
            }
            continue;
        }
        while (it->next_part < it->nparts && k < S3COPY_WINDOW && !it->failed && s_paced(run, it)) {
            it->next_part++;
            s_job_add(run, &k, it, S3COPY_PART, it->next_part);
        }
    }
    return k;
}

/* Nothing could be sent: every item waits for its route's limiter. Sleeps until the first may go (a signal wakes). */
static void s_pace_sleep(const struct s3copy_run *run) {
    double w = run->pace_wait_s;
    struct timespec ts = { .tv_sec = (time_t) w, .tv_nsec = (long) ((w - (double) (time_t) w) * 1e9) };
    if (nanosleep(&ts, NULL) != 0 && errno != EINTR) {
        LOG(LOG_WARN, "s3.pace_sleep_failed", LF_I("errno", errno));
    }
}

/* A stop was requested: no new listing, merge or copy; every upload this run opened is aborted. */
static void s_stop(struct s3copy_run *run) {
    run->stopped = true;
    stop_begin_ending(); /* the aborts below are the ending's own requests (base/stop.h): they must still go out */
    uint64_t dropped = 0;
    for (struct s3copy_item *it = run->items; it; it = it->next) {
        if (it->ended || it->failed || it->step == S3COPY_END) {
            continue;
        }
        if (it->upload_id.n && !it->stale) {
            s_item_deferred(it, run, "multipart copy"); /* aborted below: not done, deferred (report.h) */
            it->abort_why = "copy interrupted by a stop request";
        } else if (!it->stale) {
            it->step = S3COPY_END;
            dropped++;
        }
    }
    LOG(
      LOG_WARN,
      "s3.stopping",
      LF_S("reason", stop_reason_name(stop_reason())),
      LF_U("copies_not_started", dropped),
      LF_U("source_objects_merged", run->pc.routed + run->pc.unrouted));
}
/* ---- incomplete uploads ------------------------------------------------------------------------------------ */

static void s_uploads_done(struct aws_request *r) {
    struct s3copy_uploads *u = r->user;
    struct s3copy_run *run = u->run;
    struct cycle *cy = run->cy;
    if (r->result != ERR_OK) {
        if (!s_region_redirect(run, u->bucket, &(uint32_t){ 0 }, r)) {
            /* Housekeeping only: an unreadable upload listing costs nothing but the cleanup. */
            u->done = true;
            LOG(
              LOG_WARN,
              "s3.uploads_unlisted",
              LF_S("bucket", u->bucket->name),
              LF_S("aws_code", r->error.code[0] ? r->error.code : err_name(r->result)),
              LF_S("message", r->error.message));
        }
        aws_request_free(r);
        return;
    }
    struct arena page;
    arena_init(&page, 0);
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct s3_upload_list list = { 0 };
    struct span km = SPAN_NULL, um = SPAN_NULL;
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK) {
        e = s3_list_uploads_parse(&page, root, &list, &km, &um);
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(r);
    if (e != ERR_OK) {
        u->done = true;
        LOG(
          LOG_WARN,
          "s3.uploads_unlisted",
          LF_S("bucket", u->bucket->name),
          LF_S("aws_code", err_name(e)),
          LF_S("message", err_last()->msg));
        arena_free(&page);
        return;
    }
    u->pages++;
    u->listed += list.n;
    /*
     * Every upload initiated before this run started is abandoned (at most one run is live: the scheduler's
     * concurrency policy, and the lease with DYNAMODB_TABLE), whatever its age: abort it in the next round.
     */
    for (size_t i = 0; i < list.n; i++) {
        const struct s3_upload *up = &list.items[i];
        if (!s3copy_upload_stale(up->initiated_s, cy->now_s)) {
            continue;
        }
        run->pc.stale++;
        struct s3_object o = { .key = up->key };
        struct s3copy_item *it = s_item_new(run, &o, SPAN_NULL, up->upload_id);
        it->stale = true;
        it->route = S3COPY_NO_ROUTE;
        it->dst = u->bucket;
        it->abort_why = "abandoned by an earlier run";
        it->step = S3COPY_ABORT;
        if (cy->dry_run) {
            LOG(
              LOG_INFO,
              "plan.s3_abort",
              LF_S("bucket", u->bucket->name),
              LF_SP("key", it->dst_key),
              LF_SP("upload_id", it->upload_id),
              LF_S("reason", it->abort_why));
            it->step = S3COPY_END;
        }
    }
    free((void *) u->key_marker.p);
    free((void *) u->id_marker.p);
    u->key_marker = s_span_malloc(km);
    u->id_marker = s_span_malloc(um);
    u->done = km.n == 0;
    arena_free(&page);
}

static size_t s_schedule_uploads(struct s3copy_run *run, size_t k) {
    for (size_t i = 0; i < run->nscopes; i++) {
        struct s3copy_uploads *u = &run->uploads[i];
        if (u->done) {
            continue;
        }
        s3_list_uploads_request(
          &u->req, run->cy->scratch, u->bucket->region, u->bucket->name, u->prefix, u->key_marker, u->id_marker);
        u->req.user = u;
        u->req.on_done = s_uploads_done;
        run->reqs[k++] = &u->req;
    }
    return k;
}

/* ---- the job ------------------------------------------------------------------------------------------------ */

static struct s3copy_bucket *s_dest(struct s3copy_run *run, const char *bucket) {
    for (size_t i = 0; i < run->ndests; i++) {
        if (strcmp(run->dests[i].name, bucket) == 0) {
            return &run->dests[i];
        }
    }
    return NULL;
}

static void
s_stream_init(struct s3copy_run *run, struct s3copy_stream *st, struct s3copy_bucket *b, struct span prefix) {
    *st = (struct s3copy_stream){ .run = run, .bucket = b, .root_prefix = prefix, .is_source = b == &run->source };
    st->strip = st->is_source ? 0 : strlen(run->cfg->s3_dest_prefix);
    s_node_insert(st, s_node_new(st, prefix, 0, false), NULL);
}

static void s_setup(struct s3copy_run *run) {
    struct cycle *cy = run->cy;
    const struct cfg *cfg = run->cfg;
    run->source = (struct s3copy_bucket){ .name = cfg->s3_source_bucket, .region = cfg->source_region };
    run->dests = ARENA_NEW_ARRAY(cy->arena, struct s3copy_bucket, cfg->s3_nroutes);
    run->route_bucket = ARENA_NEW_ARRAY(cy->arena, struct s3copy_bucket *, cfg->s3_nroutes);
    for (size_t i = 0; i < cfg->s3_nroutes; i++) {
        struct s3copy_bucket *b = s_dest(run, cfg->s3_routes[i].bucket);
        if (b == NULL) {
            b = &run->dests[run->ndests++];
            *b = (struct s3copy_bucket){ .name = cfg->s3_routes[i].bucket, .region = cfg->source_region };
        }
        run->route_bucket[i] = b;
    }
    struct s3copy_scope *scopes = ARENA_NEW_ARRAY(cy->arena, struct s3copy_scope, cfg->s3_nroutes);
    run->nscopes = s3copy_scopes(cy->arena, cfg, scopes);
    run->scopes = ARENA_NEW_ARRAY(cy->arena, struct s3copy_stream, run->nscopes);
    run->uploads = ARENA_NEW_ARRAY(cy->arena, struct s3copy_uploads, run->nscopes);
    s_stream_init(run, &run->src, &run->source, SPAN_NULL);
    for (size_t i = 0; i < run->nscopes; i++) {
        struct s3copy_bucket *b = s_dest(run, scopes[i].bucket);
        s_stream_init(run, &run->scopes[i], b, scopes[i].prefix);
        run->uploads[i] = (struct s3copy_uploads){ .run = run, .bucket = b, .prefix = scopes[i].prefix };
    }
    /* Each route is merged against the scope that lists it: its own, or the one of a route it lies under. */
    run->route_scope = ARENA_NEW_ARRAY(cy->arena, size_t, cfg->s3_nroutes);
    for (size_t i = 0; i < cfg->s3_nroutes; i++) {
        struct span want =
          span_from_cstr(arena_printf(cy->scratch, "%s%s", cfg->s3_dest_prefix, cfg->s3_routes[i].prefix));
        size_t best = 0, best_n = 0;
        for (size_t s = 0; s < run->nscopes; s++) {
            struct s3copy_stream *st = &run->scopes[s];
            if (
              st->bucket == run->route_bucket[i] && span_starts_with(want, st->root_prefix) &&
              st->root_prefix.n >= best_n) {
                best = s;
                best_n = st->root_prefix.n;
            }
        }
        run->route_scope[i] = best;
    }
    run->pace = ARENA_NEW_ARRAY(cy->arena, struct ratelimit, cfg->s3_nroutes);
    run->paced_logged = ARENA_NEW_ARRAY(cy->arena, bool, cfg->s3_nroutes);
    for (size_t i = 0; i < cfg->s3_nroutes; i++) {
        ratelimit_init(&run->pace[i], s_now_s());
    }
    run->max_fetches = cfg->max_concurrency ? cfg->max_concurrency : 16;
    run->fetches = ARENA_NEW_ARRAY(cy->arena, struct s3copy_fetch, run->max_fetches);
    run->jobs = ARENA_NEW_ARRAY(cy->arena, struct s3copy_job, S3COPY_WINDOW);
    run->reqs = ARENA_NEW_ARRAY(cy->arena, struct aws_request *, S3COPY_WINDOW + run->max_fetches + run->nscopes);
    run->items_tail = &run->items;
}

static void s_progress(struct s3copy_run *run, bool last) {
    int64_t now = time_mono_ms();
    if (!last && now - run->progress_ms < S3COPY_PROGRESS_MS) {
        return;
    }
    run->progress_ms = now;
    int64_t ms = now - run->start_ms;
    uint64_t merged = run->pc.routed + run->pc.unrouted;
    LOG(
      LOG_INFO,
      "s3.progress",
      LF_U("source_listed", run->src.objects),
      LF_U("merged", merged),
      LF_U("copies_decided", run->pc.copy),
      LF_U("copies_in_progress", run->nitems),
      LF_U("pages_in_memory", run->pages_alive),
      LF_U("objects_per_s", ms > 0 ? merged * 1000 / (uint64_t) ms : 0),
      LF_I("elapsed_ms", ms));
}

/* Frees what the round left behind: finished items, the ranges of failed listings, destinations once merged. */
static void s_after_round(struct s3copy_run *run, bool merged) {
    s_reap(run);
    for (size_t s = 0; s <= run->nscopes; s++) {
        struct s3copy_stream *st = s == 0 ? &run->src : &run->scopes[s - 1];
        while ((st->failed || (merged && !st->is_source)) && st->head) {
            s_node_free(st, st->head);
        }
    }
}

/* The requests of one round into run->reqs: the copies' next steps, then the listings (see s_rounds). */
static size_t s_round_requests(struct s3copy_run *run, bool objects, bool active, bool merged) {
    size_t k = s_schedule_jobs(run);
    size_t jobs = k;
    if (active && !objects) {
        k = s_schedule_uploads(run, k);
    } else if (active && !merged) {
        size_t nf = s_schedule_fetches(run, run->max_fetches);
        for (size_t i = 0; i < nf; i++) {
            run->reqs[k++] = &run->fetches[i].req;
        }
    }
    LOG(
      LOG_DEBUG,
      "s3.round",
      LF_U("round", run->rounds),
      LF_U("copy_requests", jobs),
      LF_U("list_requests", k - jobs),
      LF_U("pages_in_memory", run->pages_alive),
      LF_U("merged", run->pc.routed + run->pc.unrouted));
    return k;
}

/*
 * The rounds: each sends, at once, the listing pages the merge needs next (or the upload listings, in the first
 * phase) and the next requests of the copies in progress; then merges what arrived. Ends when a round has
 * nothing to send (while items wait only for their route's limiter, it sleeps until the first may go).
 */
static enum err s_rounds(struct s3copy_run *run, bool objects) {
    struct cycle *cy = run->cy;
    bool merged = false;
    for (;;) {
        struct arena_mark m = arena_mark(cy->scratch);
        if (stop_requested() && !run->stopped) {
            s_stop(run);
        }
        bool active = !run->stopped && !run->source_failed;
        if (objects && active && !merged) {
            merged = s_merge(run);
        }
        size_t k = s_round_requests(run, objects, active, merged);
        enum err e = k ? aws_run(cy->aws, run->reqs, k) : ERR_OK;
        arena_rewind(cy->scratch, m);
        run->rounds += k > 0;
        s_after_round(run, merged);
        s_progress(run, false);
        TRY(e);
        if (k == 0 && run->pace_wait_s <= 0) {
            return ERR_OK;
        }
        if (k == 0) {
            s_pace_sleep(run);
        }
    }
}

static void s_log_listed(const struct s3copy_run *run) {
    for (size_t s = 0; s <= run->nscopes; s++) {
        const struct s3copy_stream *st = s == 0 ? &run->src : &run->scopes[s - 1];
        LOG(
          LOG_INFO,
          "s3.listed",
          LF_S("bucket", st->bucket->name),
          LF_SP("prefix", st->root_prefix),
          LF_B("source", st->is_source),
          LF_U("objects", st->objects),
          LF_U("pages", st->pages),
          LF_U("ranges", st->ranges),
          LF_U("split_ranges", st->split_ranges),
          LF_U("past_end", st->past_end),
          LF_S("region", st->bucket->region));
    }
    for (size_t i = 0; i < run->nscopes; i++) {
        const struct s3copy_uploads *u = &run->uploads[i];
        LOG(
          LOG_INFO,
          "s3.uploads_listed",
          LF_S("bucket", u->bucket->name),
          LF_SP("prefix", u->prefix),
          LF_U("objects", u->listed),
          LF_U("pages", u->pages));
    }
}

static void s_cleanup(struct s3copy_run *run) {
    while (run->items) {
        struct s3copy_item *it = run->items;
        run->items = it->next;
        s_item_free(it);
    }
    for (size_t s = 0; s <= run->nscopes; s++) {
        struct s3copy_stream *st = s == 0 ? &run->src : &run->scopes[s - 1];
        while (st->head) {
            s_node_free(st, st->head);
        }
    }
    while (run->free_pages) {
        struct s3copy_page *pg = run->free_pages;
        run->free_pages = pg->next_free;
        arena_free(&pg->a);
        free(pg);
    }
    for (size_t i = 0; i < run->nscopes; i++) {
        free((void *) run->uploads[i].key_marker.p);
        free((void *) run->uploads[i].id_marker.p);
    }
}

static void s_log_plan(const struct s3copy_run *run) {
    const struct s3copy_plan_counts *pc = &run->pc;
    LOG(
      LOG_INFO,
      "s3.plan",
      LF_S("source_bucket", run->cfg->s3_source_bucket),
      LF_U("objects", run->src.objects),
      LF_U("routed", pc->routed),
      LF_U("unrouted", pc->unrouted),
      LF_U("unchanged", pc->unchanged),
      LF_U("copy", pc->copy),
      LF_U("multipart", pc->multipart),
      LF_U("bytes", pc->bytes),
      LF_U("archived", pc->archived),
      LF_U("waiting", pc->waiting),
      LF_U("stale_uploads", pc->stale),
      LF_U("extra_in_destination", pc->extra),
      LF_U("rounds", run->rounds),
      LF_U("peak_pages_in_memory", run->pages_peak),
      LF_U("peak_ranges", run->nodes_peak),
      LF_B("stopped", run->stopped),
      LF_B("dry_run", run->cy->dry_run));
}

enum err s3copy_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    cy->report->s3_ran = true;
    struct s3copy_run run = {
        .cy = cy,
        .cfg = cfg,
        .dest = { .storage_class = cfg->s3_storage_class,
                  .sse = cfg->s3_sse == CFG_S3_SSE_KMS ? "aws:kms" : "AES256",
                  .sse_kms_key_id = cfg->s3_sse == CFG_S3_SSE_KMS ? cfg->s3_sse_kms_key_id : NULL },
        .etags_comparable = cfg->s3_sse != CFG_S3_SSE_KMS,
        .start_ms = time_mono_ms(),
    };
    run.progress_ms = run.start_ms;
    s_setup(&run);
    /* 1. abandoned uploads first, so that none is confused with one this run opens. */
    enum err e = s_rounds(&run, false);
    /* 2. the merge, listing and copying as it goes. */
    if (e == ERR_OK && !run.stopped) {
        e = s_rounds(&run, true);
    }
    s_progress(&run, true);
    s_log_listed(&run);
    s_log_plan(&run);
    s_cleanup(&run);
    cy->report->s3_objects_seen = run.pc.routed + run.pc.unrouted;
    cy->report->s3_unchanged = run.pc.unchanged;
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
      LF_I("duration_ms", time_mono_ms() - run.start_ms));
    if (e == ERR_OK && run.source_failed) {
        e = run.source_err != ERR_OK ? run.source_err : ERR_AWS;
    }
    if (e == ERR_OK && run.stopped) {
        e = err_raise(ERR_CANCELLED, __FILE__, __LINE__, "stop requested (%s)", stop_reason_name(stop_reason()));
    }
    return e;
}
