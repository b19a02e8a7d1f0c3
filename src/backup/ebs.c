/*
 * ebs.c - the EBS job of a cycle: discover tagged instances, snapshot the due ones (one CreateSnapshots call per
 * instance, tags in the same call), copy completed snapshots to the DR region, and delete what retention says in
 * both regions.
 *
 * Step by step, each step one batch of every target (ebs_many.h): list; then step A - creates and deletions in
 * both regions, planned from those listings, each a phase of small descriptions built into requests as they go
 * out - while the copy feeder (COPY_WINDOW) starts copies as snapshots complete and slots free; then step B
 * (something was created) - a second retention pass and the copies left; then the copy pump's rounds. Decisions
 * are made by the pure planners (backup/plan, backup/retention) over plain structs built
 * from the listings; this file only gathers their inputs, carries out their outputs and records every action in
 * the report. One instance, copy or deletion failing is recorded and never stops the others.
 *
 * What it does not do: parse or sign anything (svc/ec2, aws/call), decide what is due/copied/deleted (planners),
 * choose the exit code (main.c).
 */
#include "backup/ebs.h"
#include "backup/ebs_many.h"

#include "backup/devtag.h"
#include "backup/heartbeat.h"
#include "backup/plan.h"
#include "backup/retention.h"
#include "backup/tags.h"
#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"
#include "svc/ec2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Instance states that are backed up (DESIGN.md §2): not pending, shutting-down or terminated. */
static const char *const s_states[] = { "running", "stopping", "stopped" };
/* How long a presigned CopySnapshot URL stays valid: the copy request is sent right after. */
#define EBS_PRESIGN_EXPIRES_S 3600u
/* WAIT_FOR_COMPLETION polls this often. */
#define EBS_WAIT_POLL_S 15
/*
 * SmartVault snapshots one region's listing may hold: 1.5x EC2's default quota of 100,000 snapshots per region. At
 * about 100 bytes per listed snapshot (record and interned strings) and the planners' arrays beside them, two regions
 * at this maximum stay inside the shipped 64 MiB CronJob limit; past it the cycle stops with one line naming it
 * instead of being OOM-killed.
 */
#define EBS_MAX_LISTED_SNAPSHOTS ((size_t) 150000)
/* The tags the planners, the copies and the coverage page read: a listing keeps only these. */
static const char *const s_kept_tags[] = { TAG_CREATED_BY,         TAG_INSTANCE_ID, TAG_VOLUME_ID,
                                           TAG_SOURCE_SNAPSHOT_ID, TAG_HOLD,        TAG_RUN_ID,
                                           TAG_CREATED_ON,         TAG_NAME,        TAG_DEVICE };

/* What the job learned about one discovered instance. */
struct ebs_instance {
    const struct ec2_instance *inst;
    struct span name;        /* Name tag, may be empty */
    uint32_t retention_days; /* valid `retention` tag, else 0 */
};

/* The planners' array of one listing, rebuilt only when the listing changed (one array, not one per planner). */
struct ebs_snap_cache {
    struct snap *v;
    size_t n;
    uint64_t version; /* the listing's version it was built from; 0 = none */
};

struct ebs_state {
    struct cycle *cy;
    struct ebs_instance *instances;
    size_t ninstances;
    const struct ebs_instance **by_id;          /* the instances sorted by id: snapshots join them by binary search */
    struct ec2_snaps *src;                      /* SmartVault snapshots in the source region (cy->fleet's, compact) */
    struct ec2_snaps *dst;                      /* SmartVault snapshots in the destination region */
    struct ebs_snap_cache src_snaps, dst_snaps; /* the planners' view of each listing, built once per version */
    size_t creates_queued; /* CreateSnapshots calls of step A: step B lists again and has the last word on copies */
    bool pump;             /* COPY_WINDOW > 0 with a DR region: the copy pump reports what is left */
    bool dst_stale;        /* copies were started since st->dst was listed */
    size_t copies_waiting; /* the last copy plan's eligible snapshots left for a free slot */
    /* ---- orchestration (ebs_run_many): where this target is ---- */
    struct ebs_target *t;
    bool active;  /* no step has ended it */
    bool in_step; /* takes part in the step (or pump round) in progress */
    enum err dst_listed, copy_err, dst_err, due_err, src_err;
    size_t items_before; /* report items before step A: devtag tags what it created */
    bool pumping;        /* in the copy pump */
    /* ---- the copy feeder (COPY_WINDOW): copies start inside every step's batch ---- */
    int64_t window_end_ms;      /* COPY_WINDOW counted from step A (monotonic): no copy starts after it */
    bool feeding;               /* the running step's tick starts this target's copies */
    bool refresh_out[2];        /* a DescribeSnapshots by id in flight: [0] source, [1] destination */
    int64_t refresh_next_ms[2]; /* when the next one may be sent */
    int64_t refresh_poll_ms[2]; /* EBS_FEED_POLL_MIN_MS, doubling while nothing completes */
    size_t refresh_from[2];     /* the listing index the next one starts looking from */
    uint64_t fed_version[2];    /* the listings' versions after the feeder's last plan */
    int64_t fed_ms;             /* when the feeder last planned */
    int64_t fed_cost_ms;        /* how long that plan took */
    uint32_t *feed_list;        /* the last plan's copies waiting for a slot, in plan order: st->src indices */
    size_t feed_n, feed_next, feed_cap;
};

/* What a copy pass does with its plan. */
enum s_copy_mode {
    S_COPY_START_AND_REPORT, /* start what fits, report the rest as deferred (no pump) */
    S_COPY_START,            /* start what fits, report nothing yet (a pump round) */
    S_COPY_REPORT,           /* start nothing: report the backlog (the pump's last word) */
};

/*
 * The requests of one overlapped step: phases that draw on different buckets (CreateSnapshots, DeleteSnapshot in
 * each region, CopySnapshot), of every target, queue theirs here and run as one batch, so the step takes about as
 * long as its slowest bucket instead of the sum of the phases and targets. Lives in the scratch arena of the step.
 */
struct ebs_queue {
    struct aws_request **reqs;
    struct aws_client **clients; /* the client (target's stack) of each request */
    size_t n, cap;
    const struct ebs_many *m; /* the run: its enter hook */
    void *arg;                /* the target whose requests are being queued */
    size_t *seg;              /* where each target's requests start (interleaved before running) */
    size_t nseg, segcap;
    /* progress of the step: ebs.progress every EBS_PROGRESS_MS while it runs */
    const char *step;
    size_t done;
    size_t joined;             /* requests the feeder joined to the running batch (live) */
    size_t planned;            /* requests of the step: queued, and the phases' (built as they go) */
    struct ebs_phase **phases; /* the step's phases: planned requests, built as slots free */
    size_t nphases, phasecap;
    bool live;                /* the batch runs: s_enqueue joins requests to it instead of queuing them */
    struct aws_client *owner; /* the client running the batch */
    int64_t t0_ms, logged_ms;
};

/*
 * One phase of a step (a target's CreateSnapshots, or its deletions in one region): what it will send, as small
 * descriptions (an instance; a deletion's ids and reason), built into requests only as they go out - `ahead` of
 * them queued or in flight, one more as each is answered - so a step over a big fleet holds descriptions (about
 * 200 bytes per deletion) instead of requests (about 2 KB each, in their own arenas).
 */
struct ebs_delete;
struct ebs_phase {
    struct ebs_queue *q;
    struct ebs_state *st;
    void *arg;                         /* the target */
    const struct ebs_instance **insts; /* CreateSnapshots of these, or */
    struct ebs_delete *dels;           /* these deletions */
    size_t n, cap;
    size_t next; /* built so far */
    size_t out;  /* built and not answered */
    size_t ahead;
};

/* A request's own completion, and whose it is: the target is made current before it runs. */
struct ebs_wrap {
    struct ebs_queue *q;
    struct ebs_phase *phase; /* the phase it belongs to, or NULL */
    void *arg;
    void (*on_done)(struct aws_request *r);
    void *user;
};

static void s_request_done(struct aws_request *r);

/*
 * Queues r for the step (its wrapper allocated in `a`), or, while the step's batch runs (q->live), joins it to the
 * batch at once; false when that failed (r was not added, its on_done will not be called).
 */
static bool
s_enqueue_in(struct cycle *cy, struct ebs_queue *q, struct aws_request *r, struct arena *a, struct ebs_phase *phase) {
    struct ebs_wrap *w = ARENA_NEW(a, struct ebs_wrap);
    *w = (struct ebs_wrap){
        .q = q, .phase = phase, .arg = phase ? phase->arg : q->arg, .on_done = r->on_done, .user = r->user
    };
    if (q->live) {
        r->user = w;
        r->on_done = s_request_done;
        if (aws_run_join(q->owner, cy->aws, r) != ERR_OK) {
            r->user = w->user;
            r->on_done = w->on_done;
            return false;
        }
        q->joined += phase == NULL;
        return true;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct aws_request **v = ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, cap);
        struct aws_client **c = ARENA_NEW_ARRAY(cy->scratch, struct aws_client *, cap);
        if (q->n) {
            memcpy(v, q->reqs, q->n * sizeof(*v));
            memcpy(c, q->clients, q->n * sizeof(*c));
        }
        q->reqs = v;
        q->clients = c;
        q->cap = cap;
    }
    r->user = w;
    r->on_done = s_request_done;
    q->clients[q->n] = cy->aws;
    q->reqs[q->n++] = r;
    q->planned += phase == NULL;
    return true;
}

static bool s_enqueue(struct cycle *cy, struct ebs_queue *q, struct aws_request *r, struct arena *a) {
    return s_enqueue_in(cy, q, r, a, NULL);
}

/*
 * A request's own arena (given back when it is answered). Given-back arenas keep their first chunk and are used
 * again (at most EBS_SPARE_ARENAS of them: about as many as requests are in flight), so a step of thousands of
 * requests does not map and unmap a chunk for each. The process has one thread.
 */
#define EBS_SPARE_ARENAS 64
static struct arena *s_spare[EBS_SPARE_ARENAS];
static size_t s_nspare;

static struct arena *s_own_arena(void) {
    if (s_nspare > 0) {
        return s_spare[--s_nspare];
    }
    struct arena *own = malloc(sizeof(*own));
    if (own == NULL) {
        FATAL("out of memory for a request");
    }
    arena_init(own, 0);
    return own;
}

static void s_own_free(struct arena *own) {
    if (own == NULL) {
        return;
    }
    if (s_nspare < EBS_SPARE_ARENAS) {
        arena_clear(own); /* keeps its chunks for the next request */
        s_spare[s_nspare++] = own;
        return;
    }
    arena_free(own);
    free(own);
}

/* A new phase of the step for st (descriptions added by the caller). */
static struct ebs_phase *s_phase(struct ebs_queue *q, struct ebs_state *st) {
    struct cycle *cy = st->cy;
    if (q->nphases == q->phasecap) {
        q->phases = arena_grow_array(cy->scratch, q->phases, q->nphases, &q->phasecap, sizeof(*q->phases));
    }
    struct ebs_phase *p = ARENA_NEW(cy->scratch, struct ebs_phase);
    *p = (struct ebs_phase){ .q = q, .st = st, .arg = q->arg, .ahead = cy->cfg->max_concurrency };
    q->phases[q->nphases++] = p;
    return p;
}

/* Room for one more description in the phase (in the step's scratch). */
static void *s_phase_room(struct ebs_phase *p, void **items, size_t sz) {
    if (p->n == p->cap) {
        *items = arena_grow_array(p->st->cy->scratch, *items, p->n, &p->cap, sz);
    }
    p->q->planned++;
    return (char *) *items + p->n++ * sz;
}

static struct span s_tag(const struct ec2_tag *tags, size_t n, const char *key) {
    return ec2_tag_value(tags, n, key, NULL);
}

/* One EBS action, recorded in the report at this moment (strings are copied). */
static void s_record(struct cycle *cy, enum report_action action, struct report_item *it) {
    it->action = action;
    it->job = REPORT_JOB_EBS;
    it->ts_ms = time_wall_ms();
    report_add(cy->report, it);
}

/*
 * A dry run's planned action: one `plan.<what>` line with the item's ids and `why` (plus `extra`, may be NULL),
 * and the action recorded as it would be, with reason "dry run" (retention keeps its own reason).
 */
static void s_record_planned(
  struct cycle *cy,
  enum report_action action,
  struct report_item *it,
  const char *event,
  const char *why,
  const struct log_field *extra) {
    struct log_field f[8];
    size_t n = 0;
    f[n++] = LF_S("region", it->region);
    const struct log_field ids[] = { LF_S("instance_id", it->instance_id),
                                     LF_S("snapshot_id", it->snapshot_id),
                                     LF_S("source_snapshot_id", it->source_snapshot_id) };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (ids[i].v.s != NULL) {
            f[n++] = ids[i];
        }
    }
    if (extra != NULL) {
        f[n++] = *extra;
    }
    f[n++] = LF_S("reason", why);
    log_emit(LOG_INFO, event, f, n);
    it->reason = it->reason ? it->reason : "dry run";
    s_record(cy, action, it);
}

/*
 * A failed call: a stop's cancellation is deferred work (report_deferred: the one rule of every job), anything else
 * a failure recorded with its AWS code (or error class) and message.
 */
static void s_record_failure(struct cycle *cy, struct report_item *it, const struct aws_request *r, const char *what) {
    if (report_stop_cancelled(r->result)) {
        it->job = REPORT_JOB_EBS;
        report_deferred(cy->report, it, what, r->attempts > 0);
        return;
    }
    char msg[AWS_ERROR_MESSAGE_MAX + 64];
    it->aws_code = r->error.code[0] ? r->error.code : err_name(r->result);
    snprintf(msg, sizeof(msg), "%s: %s", what, r->error.message[0] ? r->error.message : err_name(r->result));
    it->message = msg;
    s_record(cy, REPORT_FAILED, it);
    LOG(
      LOG_ERROR,
      "ebs.failed",
      LF_S("step", what),
      LF_S("region", it->region),
      LF_S("instance_id", it->instance_id),
      LF_S("snapshot_id", it->snapshot_id),
      LF_S("aws_code", it->aws_code),
      LF_S("request_id", r->error.request_id),
      LF_S("message", r->error.message),
      LF_U("attempts", r->attempts));
}

/* ---- the listings, kept for the coverage report ---- */

static void s_keep_instances(struct ebs_state *st) {
    struct cycle_fleet *f = &st->cy->fleet;
    const struct ec2_instance **v =
      st->ninstances ? ARENA_NEW_ARRAY(st->cy->arena, const struct ec2_instance *, st->ninstances) : NULL;
    for (size_t i = 0; i < st->ninstances; i++) {
        v[i] = st->instances[i].inst;
    }
    f->instances = v;
    f->ninstances = st->ninstances;
    f->discovered = true;
}

/* The listings live in cy->fleet (st->src, st->dst point there): this says they are complete. */
static void s_keep_listings(struct ebs_state *st, bool src, bool dst) {
    struct cycle_fleet *f = &st->cy->fleet;
    f->src_listed = f->src_listed || src;
    f->dst_listed = f->dst_listed || dst;
}

/* ---- listing ---- */

#define EBS_NEXT_TOKEN_MAX 4096 /* bytes of a DescribeSnapshots nextToken carried to the next page */

static enum err s_list_pages(struct cycle *cy, const char *region, struct ec2_snaps *out);

/*
 * Lists a region's SmartVault snapshots into a fresh compact listing, page by page (each page's body and tree are
 * released before the next request), and on success replaces *out with it: the listing it supersedes (e.g. the one
 * made before creating) is freed then. On failure *out is left as it was.
 */
static enum err s_list_snapshots(struct cycle *cy, const char *region, struct ec2_snaps *out) {
    struct ec2_snaps fresh;
    ec2_snaps_init(
      &fresh,
      s_kept_tags,
      sizeof(s_kept_tags) / sizeof(s_kept_tags[0]),
      EBS_MAX_LISTED_SNAPSHOTS,
      "EBS_MAX_LISTED_SNAPSHOTS");
    enum err e = s_list_pages(cy, region, &fresh);
    if (e != ERR_OK) {
        ec2_snaps_free(&fresh);
        return e;
    }
    ec2_snaps_replace(out, &fresh);
    return ERR_OK;
}

static enum err s_list_pages(struct cycle *cy, const char *region, struct ec2_snaps *out) {
    char token_buf[EBS_NEXT_TOKEN_MAX + 1] = "";
    struct span token = SPAN_NULL;
    do {
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_snapshots_request(&q, TAG_CREATED_BY, TAG_CREATED_BY_VALUE, cy->page_size, token);
        struct aws_request r = {
            .service = ENDPOINT_EC2, .region = region, .operation = "DescribeSnapshots", .params = &q
        };
        enum err e = aws_run_one(cy->aws, &r);
        if (e != ERR_OK) {
            struct report_item it = { .region = region };
            s_record_failure(cy, &it, &r, "DescribeSnapshots");
            aws_request_free(&r);
            return e;
        }
        struct arena_mark m = arena_mark(cy->scratch);
        const struct xml_node *root = NULL;
        e = aws_response_xml(&r, cy->scratch, &root);
        /* The tree holds copies of everything: free the body before the lists grow (peak memory). */
        aws_request_free(&r);
        if (e == ERR_OK) {
            e = ec2_snaps_parse_page(out, root, cy->scratch, &token);
        }
        if (e == ERR_OK && token.n > EBS_NEXT_TOKEN_MAX) {
            e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "DescribeSnapshots: nextToken of %zu bytes", token.n);
        }
        if (e == ERR_OK) {
            memcpy(token_buf, token.p, token.n);
            token = (struct span){ token_buf, token.n };
        }
        arena_rewind(cy->scratch, m); /* the page's tree: what is kept is in the records */
        if (e == ERR_LIMIT) {
            LOG(LOG_ERROR, "ebs.listing_too_large", LF_S("region", region), LF_S("error", err_last()->msg));
        }
        TRY(e);
    } while (token.n > 0);
    return ERR_OK;
}

static int s_by_id_cmp(const void *a, const void *b) {
    const struct ebs_instance *x = *(const struct ebs_instance *const *) a;
    const struct ebs_instance *y = *(const struct ebs_instance *const *) b;
    return span_cmp(x->inst->id, y->inst->id);
}

/* The join index: O(n log n) once, then O(log n) per listed snapshot (a linear scan made the cycle quadratic). */
static void s_index_instances(struct ebs_state *st) {
    if (st->ninstances == 0) {
        return;
    }
    st->by_id = ARENA_NEW_ARRAY(st->cy->arena, const struct ebs_instance *, st->ninstances);
    for (size_t i = 0; i < st->ninstances; i++) {
        st->by_id[i] = &st->instances[i];
    }
    qsort(st->by_id, st->ninstances, sizeof(*st->by_id), s_by_id_cmp);
}

static const struct ebs_instance *s_find_instance(const struct ebs_state *st, struct span id) {
    size_t lo = 0, hi = st->ninstances;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = span_cmp(st->by_id[mid]->inst->id, id);
        if (c == 0) {
            return st->by_id[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static bool s_tag_matches(const struct cfg *cfg, const struct ec2_instance *inst) {
    for (size_t k = 0; k < cfg->backup_tag.nkeys; k++) {
        bool found = false;
        struct span v = ec2_tag_value(inst->tags, inst->ntags, cfg->backup_tag.keys[k], &found);
        if (found && span_eq_nocase(span_trim(v), span_from_cstr(cfg->backup_tag.value))) {
            return true;
        }
    }
    return false;
}

static enum err s_discover(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    struct ec2_instance_list all = { 0 };
    struct span token = SPAN_NULL;
    size_t pages = 0;
    do {
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_instances_request(
          &q,
          cfg->backup_tag.keys,
          cfg->backup_tag.nkeys,
          s_states,
          sizeof(s_states) / sizeof(s_states[0]),
          cy->page_size,
          token);
        struct aws_request r = {
            .service = ENDPOINT_EC2, .region = cfg->source_region, .operation = "DescribeInstances", .params = &q
        };
        enum err e = aws_run_one(cy->aws, &r);
        if (e != ERR_OK) {
            if (pages == 0 && job_err_cannot_start(e)) {
                cy->could_not_start = true;
            }
            struct report_item it = { .region = cfg->source_region };
            s_record_failure(cy, &it, &r, "DescribeInstances");
            aws_request_free(&r);
            return e;
        }
        struct arena_mark m = arena_mark(cy->scratch);
        const struct xml_node *root = NULL;
        e = aws_response_xml(&r, cy->scratch, &root);
        /* The tree holds copies of everything: free the body before the lists grow (peak memory). */
        aws_request_free(&r);
        if (e == ERR_OK) {
            e = ec2_describe_instances_parse(cy->arena, root, &all, &token);
        }
        arena_rewind(cy->scratch, m);
        TRY(e);
        pages++;
    } while (token.n > 0);

    st->instances = all.n ? ARENA_NEW_ARRAY(cy->arena, struct ebs_instance, all.n) : NULL;
    for (size_t i = 0; i < all.n; i++) {
        const struct ec2_instance *inst = &all.items[i];
        if (!s_tag_matches(cfg, inst)) {
            continue; /* has the key but not the value */
        }
        struct ebs_instance *ei = &st->instances[st->ninstances++];
        ei->inst = inst;
        ei->name = s_tag(inst->tags, inst->ntags, TAG_NAME);
        bool has = false;
        struct span ret = ec2_tag_value(inst->tags, inst->ntags, TAG_RETENTION, &has);
        if (has && retention_parse_days(span_trim(ret), &ei->retention_days) != ERR_OK) {
            ei->retention_days = 0;
            LOG(
              LOG_WARN,
              "ebs.retention_tag_invalid",
              LF_SP("instance_id", inst->id),
              LF_SP("value", ret),
              LF_U("default_days", cfg->retention_days));
        }
    }
    cy->report->instances_seen = st->ninstances;
    s_index_instances(st);
    s_keep_instances(st);
    LOG(
      LOG_INFO,
      "ebs.discovered",
      LF_S("region", cfg->source_region),
      LF_U("instances", st->ninstances),
      LF_U("pages", pages),
      LF_U("with_key", all.n));
    return ERR_OK;
}

/* The listings only, for `smartvault report` (cycle.h). */
enum err ebs_survey(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    struct ebs_state st = { .cy = cy, .src = &cy->fleet.src, .dst = &cy->fleet.dst };
    TRY(s_discover(&st));
    TRY(s_list_snapshots(cy, cfg->source_region, st.src));
    s_keep_listings(&st, true, false);
    if (cfg->dest_region != NULL) {
        TRY(s_list_snapshots(cy, cfg->dest_region, st.dst));
        s_keep_listings(&st, false, true);
    }
    return ERR_OK;
}

/* A kept tag of a listed snapshot (the listing keeps s_kept_tags only). */
static struct span s_rtag(const struct ec2_snaps *l, const struct ec2_snaprec *s, const char *key) {
    return ec2_snaps_tag(l, s, key);
}

static struct span s_rid(const struct ec2_snaps *l, const struct ec2_snaprec *s) {
    return ec2_snaps_str(l, s->id);
}

static bool s_rstate_is(const struct ec2_snaps *l, const struct ec2_snaprec *s, const char *state) {
    return span_eq_cstr(ec2_snaps_str(l, s->state), state);
}

/* How many of the listing's snapshots are `pending` (compared by handle: one look-up, not one per record). */
static size_t s_count_pending(const struct ec2_snaps *l) {
    uint32_t pending = ec2_pool_find(&l->pool, SPAN_LIT("pending"));
    size_t n = 0;
    for (size_t i = 0; pending != 0 && i < l->n; i++) {
        n += l->items[i].state == pending;
    }
    return n;
}

/* The planners' view of a listed snapshot (its spans point into the listing's string pool). */
static void s_to_snap(
  const struct ebs_state *st,
  const struct ec2_snaps *l,
  const struct ec2_snaprec *s,
  bool is_copy,
  struct snap *out) {
    memset(out, 0, sizeof(*out));
    out->snapshot_id = s_rid(l, s);
    out->instance_id = s_rtag(l, s, TAG_INSTANCE_ID);
    /* A copy's own VolumeId attribute is a placeholder (DESIGN.md §3): its volume is the VolumeId tag. */
    out->volume_id = is_copy ? s_rtag(l, s, TAG_VOLUME_ID) : ec2_snaps_str(l, s->volume_id);
    out->source_snapshot_id = s_rtag(l, s, TAG_SOURCE_SNAPSHOT_ID);
    out->state = snap_state_parse(ec2_snaps_str(l, s->state));
    out->start_time_s = s->start_time_s;
    out->has_marker = span_eq_cstr(s_rtag(l, s, TAG_CREATED_BY), TAG_CREATED_BY_VALUE);
    out->hold = span_eq_nocase(span_trim(s_rtag(l, s, TAG_HOLD)), SPAN_LIT("true"));
    out->is_copy = is_copy;
    const struct ebs_instance *ei = s_find_instance(st, out->instance_id);
    out->retention_days_override = ei ? ei->retention_days : 0;
}

/*
 * The planners' input for a listing: one array per listing version, kept until the listing changes, so the
 * planners of one step (due, retention, copies) share it instead of each building its own.
 */
static const struct snap *s_snaps(struct ebs_state *st, const struct ec2_snaps *l, bool is_copy) {
    struct ebs_snap_cache *c = is_copy ? &st->dst_snaps : &st->src_snaps;
    if (c->version == l->version && c->n == l->n) {
        return c->v;
    }
    free(c->v);
    *c = (struct ebs_snap_cache){ 0 };
    if (l->n == 0) {
        return NULL;
    }
    c->v = malloc(l->n * sizeof(*c->v));
    if (c->v == NULL) {
        FATAL("out of memory for the planners' snapshot records");
    }
    for (size_t i = 0; i < l->n; i++) {
        s_to_snap(st, l, &l->items[i], is_copy, &c->v[i]);
    }
    c->n = l->n;
    c->version = l->version;
    return c->v;
}

static void s_snaps_free(struct ebs_state *st) {
    free(st->src_snaps.v);
    free(st->dst_snaps.v);
    st->src_snaps = st->dst_snaps = (struct ebs_snap_cache){ 0 };
}

/* ---- snapshots ---- */

struct ebs_create {
    struct ebs_state *st;
    const struct ebs_instance *ei;
    struct arena *own; /* it lives here (freed when it is answered) */
    struct aws_request req;
};

/* The tags CreateSnapshots puts on an instance's snapshots (an empty Name is left out); returns how many. */
static size_t
s_created_tags(const struct cycle *cy, const struct ebs_instance *ei, const char *date, struct ec2_tag tags[5]) {
    size_t nt = 0;
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_BY), SPAN_LIT(TAG_CREATED_BY_VALUE) };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_INSTANCE_ID), ei->inst->id };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_ON), span_from_cstr(date) };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
    if (ei->name.n) {
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_NAME), ei->name };
    }
    return nt;
}

/*
 * A snapshot just created joins the source listing as EC2 answered it (usually `pending`), with the tags the
 * planners and the copy read - also SmartVault:Device, which devtag puts on the snapshot itself only after the
 * step - so the copy feeder can copy it as soon as it completes, without listing the region again.
 */
static void s_listed_created(
  struct ebs_state *st,
  const struct ebs_instance *ei,
  const struct ec2_snapshot *s,
  struct span device) {
    struct cycle *cy = st->cy;
    char date[TIME_DATE_LEN + 1];
    time_format_date(cy->now_s, date);
    struct ec2_tag tags[6];
    size_t nt = s_created_tags(cy, ei, date, tags);
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_DEVICE), device };
    struct span state = s->state.n ? s->state : SPAN_LIT("pending");
    int64_t start = s->start_time_s > 0 ? s->start_time_s : job_decision_now_s(cy);
    if (ec2_snaps_push(st->src, s->id, s->volume_id, state, start, tags, nt) != ERR_OK) {
        LOG(LOG_WARN, "copy.feed_stopped", LF_S("reason", err_last()->msg));
        st->feeding = false; /* step B lists the region again and copies it */
    }
}

static void s_create_done(struct aws_request *r) {
    struct ebs_create *c = r->user;
    struct cycle *cy = c->st->cy;
    const struct ec2_instance *inst = c->ei->inst;
    const char *id = arena_span_cstr(cy->scratch, inst->id);
    if (r->result != ERR_OK) {
        struct report_item it = { .region = cy->cfg->source_region, .instance_id = id };
        s_record_failure(cy, &it, r, "CreateSnapshots");
        aws_request_free(r);
        s_own_free(c->own);
        return;
    }
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct ec2_snapshot_list created = { 0 };
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK) {
        e = ec2_create_snapshots_parse(cy->scratch, root, &created);
    }
    for (size_t i = 0; e == ERR_OK && i < created.n; i++) {
        const struct ec2_snapshot *s = &created.items[i];
        const char *snap_id = arena_span_cstr(cy->scratch, s->id);
        const char *vol_id = arena_span_cstr(cy->scratch, s->volume_id);
        const char *device = "";
        for (size_t v = 0; v < inst->nvolumes; v++) {
            if (span_eq(inst->volumes[v].volume_id, s->volume_id)) {
                device = arena_span_cstr(cy->scratch, inst->volumes[v].device);
            }
        }
        struct report_item it = { .region = cy->cfg->source_region,
                                  .instance_id = id,
                                  .volume_id = vol_id,
                                  .snapshot_id = snap_id,
                                  .device = device };
        s_record(cy, REPORT_CREATED, &it);
        if (c->st->pump) {
            s_listed_created(c->st, c->ei, s, span_from_cstr(device));
        }
        LOG(
          LOG_INFO,
          "snapshot.created",
          LF_S("region", cy->cfg->source_region),
          LF_S("instance_id", id),
          LF_S("volume_id", vol_id),
          LF_S("device", device),
          LF_S("snapshot_id", snap_id),
          LF_SP("state", s->state));
    }
    if (e != ERR_OK) {
        struct report_item it = { .region = cy->cfg->source_region, .instance_id = id };
        r->result = e;
        s_record_failure(cy, &it, r, "CreateSnapshots response");
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(r);
    s_own_free(c->own);
}

/* "reason=count ..." for every reason that kept snapshots from being copied (deferred or skipped). */
static void s_copy_reasons(const struct plan_copy_counts *c, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t r = PLAN_COPY_DEFER_PENDING; r < PLAN__COPY_REASONS && used + 1 < cap; r++) {
        if (c->by_reason[r] > 0) {
            int n = snprintf(
              out + used,
              cap - used,
              "%s%s=%zu",
              used ? " " : "",
              plan_copy_reason_name((enum plan_copy_reason) r),
              c->by_reason[r]);
            used += n > 0 ? (size_t) n : 0;
        }
    }
}

/* Plans the due instances and queues their CreateSnapshots (in the step's scratch scope). */
static enum err s_snapshot_due(struct ebs_state *st, struct ebs_queue *queue) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    if (st->ninstances == 0) {
        return ERR_OK;
    }
    struct arena plan; /* the plan (about 200 bytes per instance) lives only while the creates are queued */
    arena_init(&plan, 0);
    struct span *ids = ARENA_NEW_ARRAY(&plan, struct span, st->ninstances);
    for (size_t i = 0; i < st->ninstances; i++) {
        ids[i] = st->instances[i].inst->id;
    }
    const struct snap *snaps = s_snaps(st, st->src, false);
    struct plan_due *due = ARENA_NEW_ARRAY(&plan, struct plan_due, st->ninstances);
    enum err e =
      plan_due_instances(ids, st->ninstances, snaps, st->src->n, cfg->min_interval_s, job_decision_now_s(cy), due);
    if (e != ERR_OK) {
        arena_free(&plan);
        return e;
    }

    struct ebs_phase *phase = s_phase(queue, st); /* the due instances; requests built as they go out */
    size_t n = 0;
    for (size_t i = 0; i < st->ninstances; i++) {
        const struct ebs_instance *ei = &st->instances[i];
        char *id = arena_span_cstr(cy->scratch, ei->inst->id);
        if (!due[i].due || ei->inst->nvolumes == 0) {
            const char *why = due[i].due ? "no EBS volumes" : due[i].why;
            struct report_item it = { .region = cfg->source_region, .instance_id = id, .reason = why };
            s_record(cy, REPORT_SKIPPED, &it);
            LOG(LOG_INFO, "snapshot.skipped", LF_S("instance_id", id), LF_S("reason", why));
            continue;
        }
        if (cy->dry_run) {
            struct report_item it = { .region = cfg->source_region, .instance_id = id };
            const struct log_field volumes = LF_U("volumes", ei->inst->nvolumes);
            s_record_planned(cy, REPORT_CREATED, &it, "plan.create", due[i].why, &volumes);
            continue;
        }
        *(const struct ebs_instance **) s_phase_room(phase, (void **) &phase->insts, sizeof(*phase->insts)) = ei;
        n++;
    }
    st->creates_queued += n;
    arena_free(&plan);
    return ERR_OK;
}

/* The CreateSnapshots of one due instance (tags in the same call), in its own arena. */
static struct aws_request *s_build_create(struct ebs_state *st, const struct ebs_instance *ei, struct arena *own) {
    struct cycle *cy = st->cy;
    char date[TIME_DATE_LEN + 1];
    time_format_date(cy->now_s, date);
    struct ec2_tag tags[5];
    size_t nt = s_created_tags(cy, ei, date, tags);
    struct query_params *q = ARENA_NEW(own, struct query_params);
    query_init(q, own);
    char desc[160];
    snprintf(desc, sizeof(desc), "SmartVault snapshot of %.*s", (int) ei->inst->id.n, ei->inst->id.p);
    ec2_create_snapshots_request(q, ei->inst->id, span_from_cstr(desc), tags, nt);
    struct ebs_create *c = ARENA_NEW(own, struct ebs_create);
    *c = (struct ebs_create){ .st = st, .ei = ei, .own = own };
    c->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                   .region = cy->cfg->source_region,
                                   .operation = "CreateSnapshots",
                                   .params = q,
                                   .user = c,
                                   .on_done = s_create_done };
    return &c->req;
}

/* ---- copies ---- */

struct ebs_copy {
    struct ebs_state *st;
    const char *src_id, *instance_id, *volume_id; /* of the source (the listing may change before it is done) */
    size_t slot;                                  /* its record in st->dst (tracked copies), else SIZE_MAX */
    struct arena *own; /* the arena it lives in when the feeder started it (freed when it is answered), or NULL */
    struct aws_request req;
};

/*
 * With COPY_WINDOW the job keeps the destination listing current itself: a copy joins st->dst as `pending` (with
 * the tags the planner reads) when it is queued, so a plan made while it waits for its bucket counts it in flight
 * and never starts it twice; its id is filled in when EC2 answers (an unanswered one is cleared and dropped after
 * the step), and the pending ones are asked about by id.
 */
static void s_track_copy(struct ebs_state *st, struct ebs_copy *c) {
    struct ec2_tag tags[4] = {
        { SPAN_LIT(TAG_CREATED_BY), SPAN_LIT(TAG_CREATED_BY_VALUE) },
        { SPAN_LIT(TAG_SOURCE_SNAPSHOT_ID), span_from_cstr(c->src_id) },
        { SPAN_LIT(TAG_VOLUME_ID), span_from_cstr(c->volume_id) },
        { SPAN_LIT(TAG_INSTANCE_ID), span_from_cstr(c->instance_id) },
    };
    c->slot = SIZE_MAX;
    if (
      ec2_snaps_push(st->dst, SPAN_NULL, SPAN_NULL, SPAN_LIT("pending"), job_decision_now_s(st->cy), tags, 4) !=
      ERR_OK) {
        st->dst_stale = true; /* not tracked (the listing is full): the pump lists the destination instead */
        return;
    }
    c->slot = st->dst->n - 1;
}

/* A tracked copy was answered: its record gets the copy's id, or (not started) is cleared for dropping. */
static void s_settle_copy(struct ebs_state *st, struct ebs_copy *c, struct span copy_id) {
    if (c->slot == SIZE_MAX) {
        return;
    }
    struct ec2_snaprec *rec = &st->dst->items[c->slot];
    uint32_t id = copy_id.n ? ec2_pool_intern(&st->dst->pool, copy_id) : 0;
    if (id == 0 || id == UINT32_MAX) {
        memset(rec, 0, sizeof(*rec)); /* no id: ec2_snaps_drop_unnamed removes it after the step */
        st->dst_stale = st->dst_stale || copy_id.n > 0;
    } else {
        rec->id = id;
    }
    ec2_snaps_touch(st->dst);
}

/* The copy is over: frees what it lived in (the feeder's own arena). r and c are gone afterwards. */
static void s_copy_free(struct ebs_copy *c) {
    aws_request_free(&c->req);
    s_own_free(c->own);
}

static void s_copy_done(struct aws_request *r) {
    struct ebs_copy *c = r->user;
    struct cycle *cy = c->st->cy;
    const struct cfg *cfg = cy->cfg;
    const char *src_id = c->src_id;
    const char *inst_id = c->instance_id;
    const char *vol_id = c->volume_id;
    struct report_item it = { .job = REPORT_JOB_EBS,
                              .ts_ms = time_wall_ms(),
                              .region = cfg->dest_region,
                              .instance_id = inst_id,
                              .volume_id = vol_id,
                              .source_snapshot_id = src_id };
    if (r->result != ERR_OK) {
        if (strcmp(r->error.code, "ResourceLimitExceeded") == 0) {
            /* The account's copy quota is full: the next cycle copies it (issue 4: defers, does not fail). */
            it.reason = "deferred: copy limit reached (ResourceLimitExceeded)";
            s_record(cy, REPORT_SKIPPED, &it);
            LOG(LOG_WARN, "copy.deferred", LF_S("source_snapshot_id", src_id), LF_S("reason", it.reason));
            c->st->feeding = false; /* the account's quota is full: the pump's rounds go on from here */
        } else {
            it.snapshot_id = src_id;
            s_record_failure(cy, &it, r, "CopySnapshot");
        }
        s_settle_copy(c->st, c, SPAN_NULL);
        s_copy_free(c);
        return;
    }
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct span copy_id = SPAN_NULL;
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK) {
        e = ec2_copy_snapshot_parse(cy->scratch, root, &copy_id);
    }
    s_settle_copy(c->st, c, e == ERR_OK ? copy_id : SPAN_NULL);
    if (e != ERR_OK) {
        r->result = e;
        it.snapshot_id = src_id;
        s_record_failure(cy, &it, r, "CopySnapshot response");
    } else {
        const char *copy = arena_span_cstr(cy->scratch, copy_id);
        it.snapshot_id = copy;
        s_record(cy, REPORT_COPIED, &it);
        LOG(
          LOG_INFO,
          "snapshot.copied",
          LF_S("region", cfg->dest_region),
          LF_S("source_region", cfg->source_region),
          LF_S("source_snapshot_id", src_id),
          LF_S("snapshot_id", copy),
          LF_S("instance_id", inst_id),
          LF_S("volume_id", vol_id),
          LF_B("encrypted", cfg->kms_key_id != NULL));
    }
    arena_rewind(cy->scratch, m); /* copy_id lived in the scratch tree until here */
    s_copy_free(c);
}

/* Plans the copies to the DR region and queues the CopySnapshot calls (in the step's scratch scope). */
static void
s_report_backlog(struct ebs_state *st, const struct plan_copy_decision *dec, size_t n, enum s_copy_mode mode);

/*
 * The snapshot ids this run already recorded a failure for in `region` (a copy's source or a deletion), so that
 * the second pass after creating (step B) does not try them again and report the same failure twice. Collected once
 * per pass and sorted, so a pass over n snapshots with f failures costs O((n + f) log f), never n x f.
 */
struct s_failed_ids {
    const char **ids;
    size_t n;
};

static int s_cstr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static struct s_failed_ids s_failed_this_run(struct cycle *cy, const char *region) {
    const struct report *r = cy->report;
    struct s_failed_ids f = { 0 };
    for (size_t pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t i = 0; i < r->nitems; i++) {
            const struct report_item *it = &r->items[i];
            if (
              it->action != REPORT_FAILED || it->job != REPORT_JOB_EBS || it->region == NULL ||
              strcmp(it->region, region) != 0) {
                continue;
            }
            const char *id = it->source_snapshot_id ? it->source_snapshot_id : it->snapshot_id;
            if (id != NULL && pass == 1) {
                f.ids[n] = id;
            }
            n += id != NULL;
        }
        if (pass == 0) {
            if (n == 0) {
                return f;
            }
            f.ids = ARENA_NEW_ARRAY(cy->scratch, const char *, n);
        }
        f.n = n;
    }
    qsort(f.ids, f.n, sizeof(*f.ids), s_cstr_cmp);
    return f;
}

static bool s_failed_has(const struct s_failed_ids *f, const char *id) {
    return f->n > 0 && bsearch(&id, f->ids, f->n, sizeof(*f->ids), s_cstr_cmp) != NULL;
}

static void s_report_copy_dry_run(struct cycle *cy, const char *sid, const char *why) {
    struct report_item it = { .region = cy->cfg->dest_region, .source_snapshot_id = sid };
    s_record_planned(cy, REPORT_COPIED, &it, "plan.copy", why, NULL);
}

static void s_report_copy_deferred(struct cycle *cy, const char *sid, const char *why) {
    struct report_item it = { .region = cy->cfg->dest_region, .source_snapshot_id = sid, .reason = why };
    s_record(cy, REPORT_SKIPPED, &it);
    LOG(LOG_INFO, "copy.deferred", LF_S("source_snapshot_id", sid), LF_S("reason", why));
}

/* Builds one CopySnapshot (tags, presigned URL) for source `s` into *c and queues it; false when presigning failed. */
static bool s_queue_copy(
  struct ebs_state *st,
  struct ebs_queue *queue,
  const struct ec2_snaprec *s,
  const char *sid,
  struct ebs_copy *c) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    struct arena *ar = c->own != NULL ? c->own : cy->scratch; /* everything of the request lives here */
    sid = c->own != NULL ? arena_strndup(ar, sid, strlen(sid)) : sid;
    struct span s_id = span_from_cstr(sid), s_vol = ec2_snaps_str(st->src, s->volume_id);
    struct ec2_tag tags[10];
    size_t nt = 0;
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_BY), SPAN_LIT(TAG_CREATED_BY_VALUE) };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_SOURCE_SNAPSHOT_ID), s_id };
    /* The source's run (its crash-consistent set) for `restore --region DEST_REGION`. */
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_SOURCE_RUN_ID), s_rtag(st->src, s, TAG_RUN_ID) };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_SOURCE_REGION), span_from_cstr(cfg->source_region) };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_VOLUME_ID), s_vol };
    tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
    static const char *const keep[] = { TAG_CREATED_ON, TAG_INSTANCE_ID, TAG_NAME, TAG_DEVICE };
    for (size_t t = 0; t < sizeof(keep) / sizeof(keep[0]); t++) {
        struct span v = s_rtag(st->src, s, keep[t]);
        if (v.n > 0) { /* the listing keeps no empty values: an empty tag is not carried to the copy */
            tags[nt++] = (struct ec2_tag){ span_from_cstr(keep[t]), v };
        }
    }
    struct ec2_copy_request cr = {
        .source_region = span_from_cstr(cfg->source_region),
        .source_snapshot_id = s_id,
        .destination_region = span_from_cstr(cfg->dest_region),
        .description = span_from_cstr(arena_printf(ar, "SmartVault copy of %s from %s", sid, cfg->source_region)),
        .kms_key_id = cfg->kms_key_id ? span_from_cstr(cfg->kms_key_id) : SPAN_NULL,
        .tags = tags,
        .ntags = nt,
    };
    /* The PresignedUrl is this same CopySnapshot, presigned for the source region (always sent). */
    struct query_params pre;
    query_init(&pre, ar);
    ec2_copy_snapshot_request(&pre, &cr, false);
    struct buf url;
    buf_init(&url, 64 * 1024);
    enum err e = aws_presign_query_url(
      cy->aws, ENDPOINT_EC2, cfg->source_region, "CopySnapshot", &pre, EBS_PRESIGN_EXPIRES_S, &url);
    c->st = st;
    c->src_id = sid;
    c->volume_id = arena_span_cstr(ar, s_vol);
    c->instance_id = arena_span_cstr(ar, s_rtag(st->src, s, TAG_INSTANCE_ID));
    c->slot = SIZE_MAX;
    c->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                   .region = cfg->dest_region,
                                   .operation = "CopySnapshot",
                                   .user = c,
                                   .on_done = s_copy_done };
    if (e != ERR_OK) {
        c->req.result = e;
        struct report_item it = { .region = cfg->dest_region, .source_snapshot_id = sid };
        s_record_failure(cy, &it, &c->req, "presign CopySnapshot");
        buf_free(&url);
        return false;
    }
    cr.presigned_url = arena_span_dup(ar, buf_span(&url));
    buf_free(&url);
    struct query_params *q = ARENA_NEW(ar, struct query_params);
    query_init(q, ar);
    ec2_copy_snapshot_request(q, &cr, true);
    c->req.params = q;
    if (!s_enqueue(cy, queue, &c->req, ar)) {
        return false; /* the batch refused it: nothing was started (the next plan or run copies it) */
    }
    if (st->pump) {
        s_track_copy(st, c);
    } else {
        st->dst_stale = true; /* step B lists the destination again */
    }
    return true;
}

/* A copy that lives in its own arena (the feeder's: freed when it is answered, so memory follows the slots). */
static struct ebs_copy *s_copy_own(void) {
    struct arena *own = s_own_arena();
    struct ebs_copy *c = ARENA_NEW(own, struct ebs_copy);
    memset(c, 0, sizeof(*c));
    c->own = own;
    return c;
}

/* The feeder's list of the plan's copies waiting for a slot (at most 4 x COPY_LIMIT: the next plan comes first). */
static void s_feed_keep(struct ebs_state *st, size_t index) {
    size_t max = 4 * (size_t) st->cy->cfg->copy_limit;
    if (st->feed_n >= max) {
        return;
    }
    if (st->feed_n == st->feed_cap) {
        size_t cap = max < 64 ? max : 64;
        cap = st->feed_cap ? st->feed_cap * 2 : cap;
        uint32_t *v = realloc(st->feed_list, cap * sizeof(*v));
        if (v == NULL) {
            return; /* the next plan starts it */
        }
        st->feed_list = v;
        st->feed_cap = cap;
    }
    st->feed_list[st->feed_n++] = (uint32_t) index;
}

/* complexity: one pass over the plan that starts, reports or skips each decision by mode (3 modes x 3 actions) */
static enum err s_copy(struct ebs_state *st, struct ebs_queue *queue, enum s_copy_mode mode) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    const struct snap *src = s_snaps(st, st->src, false);
    const struct snap *dst = s_snaps(st, st->dst, true);
    /* The decisions (about 200 bytes per source snapshot) live only during this pass: their own arena. */
    struct arena plan;
    arena_init(&plan, 0);
    struct plan_copy_decision *dec = st->src->n ? ARENA_NEW_ARRAY(&plan, struct plan_copy_decision, st->src->n) : NULL;
    struct plan_copy_counts counts;
    struct plan_copy_policy pol = { .retention_days = cfg->retention_days, .copy_limit = cfg->copy_limit };
    enum err e = plan_copies(src, st->src->n, dst, st->dst->n, &pol, job_decision_now_s(cy), dec, &counts);
    if (e != ERR_OK) {
        arena_free(&plan);
        return e;
    }
    char why[256]; /* "exists=4 expired=4": why snapshots were not copied, so that "0 copied" explains itself */
    s_copy_reasons(&counts, why, sizeof(why));
    LOG(
      queue->live ? LOG_DEBUG : LOG_INFO, /* the feeder plans again every few seconds */
      "copy.plan",
      LF_S("region", cfg->dest_region),
      LF_U("start", counts.start),
      LF_U("deferred", counts.deferred),
      LF_U("in_flight_before", counts.in_flight_before),
      LF_U("skipped", counts.skipped),
      LF_S("not_copied", why));
    st->copies_waiting = counts.by_reason[PLAN_COPY_DEFER_LIMIT] + (mode == S_COPY_REPORT ? counts.start : 0);
    if (mode != S_COPY_START) {
        s_report_backlog(st, dec, counts.start + counts.deferred, mode);
    }
    size_t nstart = mode == S_COPY_REPORT ? 0 : counts.start; /* window over: the eligible ones are the backlog */
    st->feed_n = st->feed_next = 0;                           /* a new plan: a new list */

    struct ebs_copy *copies = nstart && !queue->live ? ARENA_NEW_ARRAY(cy->scratch, struct ebs_copy, nstart) : NULL;
    size_t n = 0;
    struct s_failed_ids failed = s_failed_this_run(cy, cfg->dest_region);
    for (size_t k = 0; k < counts.start + counts.deferred; k++) {
        const struct ec2_snaprec *s = &st->src->items[dec[k].index];
        char *sid = arena_span_cstr(cy->scratch, s_rid(st->src, s));
        if (dec[k].action == PLAN_COPY_START && s_failed_has(&failed, sid)) {
            continue; /* its copy failed earlier in this run: reported once, tried again by the next run */
        }
        if (dec[k].action == PLAN_COPY_DEFER || mode == S_COPY_REPORT) {
            if (queue->live && dec[k].reason == PLAN_COPY_DEFER_LIMIT && !s_failed_has(&failed, sid)) {
                s_feed_keep(st, dec[k].index); /* the feeder starts it when a slot frees, before planning again */
            }
            /* A pump round reports nothing; the last word reports what waits (the startable ones are backlog). */
            if (mode == S_COPY_START || dec[k].action != PLAN_COPY_DEFER) {
                continue;
            }
            s_report_copy_deferred(cy, sid, plan_copy_why(&dec[k], src, &pol, why, sizeof(why)));
            continue;
        }
        if (cy->dry_run) {
            s_report_copy_dry_run(cy, sid, plan_copy_why(&dec[k], src, &pol, why, sizeof(why)));
            continue;
        }
        struct ebs_copy *c = queue->live ? s_copy_own() : &copies[n];
        if (s_queue_copy(st, queue, s, sid, c)) {
            n++;
        } else if (c->own != NULL) {
            s_copy_free(c);
        }
    }
    arena_free(&plan);
    return ERR_OK;
}

/*
 * The DR backlog: completed source snapshots inside retention without a copy (those the plan would start, when
 * nothing is started any more, and those waiting for a slot), and the age of the oldest. Logged and kept in the
 * report for cycle.done, the SNS summary and the metrics.
 */
static void
s_report_backlog(struct ebs_state *st, const struct plan_copy_decision *dec, size_t n, enum s_copy_mode mode) {
    struct cycle *cy = st->cy;
    uint64_t count = 0;
    int64_t oldest = 0;
    for (size_t k = 0; k < n; k++) {
        bool start_now = mode == S_COPY_REPORT && dec[k].action == PLAN_COPY_START;
        if (dec[k].reason != PLAN_COPY_DEFER_LIMIT && !start_now) {
            continue;
        }
        count++;
        int64_t age = cy->now_s - st->src->items[dec[k].index].start_time_s;
        oldest = age > oldest ? age : oldest;
    }
    uint64_t total = count;
    int64_t total_oldest = oldest;
    if (cy->report->target != 0 && cy->report->dr_backlog_known) { /* several targets: the run's backlog */
        total += cy->report->dr_backlog;
        total_oldest = cy->report->dr_backlog_oldest_s > oldest ? cy->report->dr_backlog_oldest_s : oldest;
    }
    cy->report->dr_backlog = total;
    cy->report->dr_backlog_oldest_s = total_oldest;
    cy->report->dr_backlog_known = true;
    LOG(
      count ? LOG_WARN : LOG_INFO,
      "copy.backlog",
      LF_S("region", cy->cfg->dest_region),
      LF_U("snapshots", count),
      LF_I("oldest_s", oldest));
}

/*
 * The copy pump (COPY_WINDOW): EC2 runs at most COPY_LIMIT copies per destination at once, so while eligible
 * snapshots wait for a slot, list the destination again (paced DescribeSnapshots: one call per 1,000 copies),
 * start as many as slots are free, newest of each volume first, and wait - 2 s after a round that started
 * something, doubling to 30 s while nothing completes. The window, the run's deadline and a stop all end it;
 * the last plan is reported as the backlog. A listing made again replaces (frees) the one it supersedes.
 */
#define EBS_PUMP_POLL_MIN_MS 2000
#define EBS_PUMP_POLL_MAX_MS 30000

static void s_pump_sleep(int64_t ms) {
    struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL); /* a signal cuts it short; the loop then sees the stop */
}

/*
 * DescribeSnapshots by id for the copies still pending in st->dst (at most EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS, else
 * ERR_LIMIT: the caller lists the whole destination instead), updating their state in place.
 */
/*
 * The states EC2 gave for the snapshots at l->items[pending[0..n)] (n <= one page), set in place; *changed: how many
 * are no longer pending.
 */
static enum err s_apply_states(
  struct ec2_snaps *l,
  const size_t *pending,
  size_t n,
  const struct ec2_snapshot_list *got,
  size_t *changed) {
    uint32_t completed = ec2_pool_intern(&l->pool, SPAN_LIT("completed"));
    uint32_t error = ec2_pool_intern(&l->pool, SPAN_LIT("error"));
    ENSURE(completed != UINT32_MAX && error != UINT32_MAX, ERR_NOMEM, "snapshot listing: out of memory");
    *changed = 0;
    for (size_t k = 0; k < got->n; k++) {
        bool done = span_eq_cstr(got->items[k].state, "completed"), failed = span_eq_cstr(got->items[k].state, "error");
        for (size_t j = 0; (done || failed) && j < n; j++) {
            struct ec2_snaprec *rec = &l->items[pending[j]];
            if (span_eq(s_rid(l, rec), got->items[k].id)) {
                rec->state = done ? completed : error;
                ++*changed;
                break;
            }
        }
    }
    if (*changed) {
        ec2_snaps_touch(l);
    }
    return ERR_OK;
}

/*
 * Up to one page of l's pending snapshots that have an id (a queued copy has none yet), from index *from on and
 * round again: their indices into pending[] and their ids into q. Returns how many; *from moves past the last.
 * `all`: ERR_LIMIT-worthy when more than a page is pending (*from unchanged, returns SIZE_MAX).
 */
static size_t s_collect_pending(
  const struct ec2_snaps *l,
  struct arena *a,
  struct query_params *q,
  size_t *pending,
  size_t *from,
  bool all) {
    size_t n = 0, start = *from < l->n ? *from : 0;
    for (size_t k = 0; k < l->n; k++) {
        size_t i = (start + k) % l->n;
        const struct ec2_snaprec *rec = &l->items[i];
        if (rec->id == 0 || !s_rstate_is(l, rec, "pending")) {
            continue;
        }
        if (n == EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS) {
            if (all) {
                return SIZE_MAX;
            }
            break;
        }
        pending[n] = i;
        query_add(q, arena_printf(a, "SnapshotId.%zu", ++n), s_rid(l, rec));
        *from = i + 1;
    }
    return n;
}

/* A DescribeSnapshots-by-id answer to the ask about l->items[pending[0..n)], applied (parsed in scratch, rewound). */
static enum err s_apply_answer(
  struct cycle *cy,
  const struct aws_request *r,
  struct ec2_snaps *l,
  const size_t *pending,
  size_t n,
  size_t *changed) {
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct ec2_snapshot_list got = { 0 };
    struct span token = SPAN_NULL;
    *changed = 0;
    enum err e = r->result;
    if (e == ERR_OK) {
        e = aws_response_xml(r, cy->scratch, &root);
    }
    if (e == ERR_OK) {
        e = ec2_describe_snapshots_parse(cy->scratch, root, &got, &token);
    }
    if (e == ERR_OK) {
        e = s_apply_states(l, pending, n, &got, changed);
    }
    arena_rewind(cy->scratch, m);
    return e;
}

static enum err s_refresh_in_flight(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    struct ec2_snaps *l = st->dst;
    struct arena_mark m = arena_mark(cy->scratch);
    struct query_params q;
    query_init(&q, cy->scratch);
    size_t *pending = ARENA_NEW_ARRAY(cy->scratch, size_t, EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS);
    size_t from = 0;
    size_t n = s_collect_pending(l, cy->scratch, &q, pending, &from, true);
    if (n == SIZE_MAX) {
        arena_rewind(cy->scratch, m);
        return ERR_LIMIT;
    }
    if (n == 0) {
        arena_rewind(cy->scratch, m);
        return ERR_OK;
    }
    struct aws_request r = {
        .service = ENDPOINT_EC2, .region = cy->cfg->dest_region, .operation = "DescribeSnapshots", .params = &q
    };
    size_t changed = 0;
    enum err e = aws_run_one(cy->aws, &r);
    if (e == ERR_OK) {
        e = s_apply_answer(cy, &r, l, pending, n, &changed);
    }
    aws_request_free(&r);
    arena_rewind(cy->scratch, m);
    return e;
}

/*
 * A pump round's plan for one target: what is still pending asked about by id (or the destination listed again,
 * replacing the listing, when that is not possible), then the copies that fit queued (S_COPY_START) or the backlog
 * reported (S_COPY_REPORT: the last word too asks by id, and lists only when that fails).
 */
static enum err s_pump_plan(struct ebs_state *st, struct ebs_queue *q, enum s_copy_mode mode) {
    struct cycle *cy = st->cy;
    /* Also for the last word: the copies started are tracked, so asking about the pending ones by id makes the
     * listing current without listing the whole destination again (a 100,000-snapshot region is 100 pages). */
    if (s_refresh_in_flight(st) == ERR_OK) {
        st->dst_stale = false; /* current: started copies were added, pending ones asked about by id */
    } else {
        st->dst_stale = true; /* the by-id look-up failed (a copy deleted meanwhile, too many): list it all */
    }
    if (st->dst_stale) { /* the last word needs no listing when the listing is current */
        TRY(s_list_snapshots(cy, cy->cfg->dest_region, st->dst));
        st->dst_stale = false;
    }
    return s_copy(st, q, mode);
}

/* ---- retention ---- */

/* A planned deletion (in the step's scratch); its request is built when it goes out (struct ebs_deleting). */
struct ebs_delete {
    struct cycle *cy;
    const char *region;
    const char *snapshot_id;
    const char *instance_id;
    const char *volume_id;
    const char *why;
};

struct ebs_deleting {
    const struct ebs_delete *d;
    struct arena *own; /* it lives here (freed when it is answered) */
    struct aws_request req;
};

static void s_delete_done(struct aws_request *r) {
    struct ebs_deleting *x = r->user;
    const struct ebs_delete *d = x->d;
    struct cycle *cy = d->cy;
    struct report_item it = {
        .region = d->region, .snapshot_id = d->snapshot_id, .instance_id = d->instance_id, .volume_id = d->volume_id
    };
    if (r->result == ERR_OK) {
        it.reason = d->why;
        s_record(cy, REPORT_DELETED, &it);
        LOG(
          LOG_INFO,
          "snapshot.deleted",
          LF_S("region", d->region),
          LF_S("snapshot_id", d->snapshot_id),
          LF_S("instance_id", d->instance_id),
          LF_S("volume_id", d->volume_id),
          LF_S("reason", d->why));
    } else if (strcmp(r->error.code, "InvalidSnapshot.InUse") == 0) {
        /* Backs an AMI: a warning, not a failure (DESIGN.md §4). */
        it.reason = "in use: backs an AMI (InvalidSnapshot.InUse)";
        it.aws_code = r->error.code;
        s_record(cy, REPORT_SKIPPED, &it);
        LOG(
          LOG_WARN,
          "snapshot.in_use",
          LF_S("region", d->region),
          LF_S("snapshot_id", d->snapshot_id),
          LF_S("aws_code", r->error.code));
    } else if (strcmp(r->error.code, "InvalidSnapshot.NotFound") == 0) {
        /* Already gone (an overlapping run or a human): the goal state is reached. */
        LOG(LOG_INFO, "snapshot.already_deleted", LF_S("region", d->region), LF_S("snapshot_id", d->snapshot_id));
    } else {
        s_record_failure(cy, &it, r, "DeleteSnapshot");
    }
    aws_request_free(r);
    s_own_free(x->own);
}

static struct aws_request *s_build_delete(const struct ebs_delete *d, struct arena *own) {
    struct query_params *q = ARENA_NEW(own, struct query_params);
    query_init(q, own);
    ec2_delete_snapshot_request(q, span_from_cstr(d->snapshot_id));
    struct ebs_deleting *x = ARENA_NEW(own, struct ebs_deleting);
    *x = (struct ebs_deleting){ .d = d, .own = own };
    x->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                   .region = d->region,
                                   .operation = "DeleteSnapshot",
                                   .params = q,
                                   .user = x,
                                   .on_done = s_delete_done };
    return &x->req;
}

/* Adds a deletion to the phase for each RETENTION_DELETE decision (their strings copied into the step's scratch). */
static void s_queue_deletes(
  struct ebs_state *st,
  const char *region,
  const struct snap *snaps,
  const struct retention_decision *dec,
  size_t nsnaps,
  struct ebs_phase *phase) {
    struct cycle *cy = st->cy;
    struct ebs_delete one;
    struct s_failed_ids failed = s_failed_this_run(cy, region);
    for (size_t i = 0; i < nsnaps; i++) {
        if (dec[i].action != RETENTION_DELETE) {
            continue;
        }
        const char *id = arena_span_cstr(cy->scratch, snaps[i].snapshot_id);
        if (s_failed_has(&failed, id)) {
            continue; /* its deletion failed earlier in this run: reported once, tried again by the next run */
        }
        struct ebs_delete *d = &one;
        d->cy = cy;
        d->region = region;
        d->snapshot_id = id;
        d->instance_id = arena_span_cstr(cy->scratch, snaps[i].instance_id);
        d->volume_id = arena_span_cstr(cy->scratch, snaps[i].volume_id);
        d->why = arena_strndup(cy->scratch, dec[i].why, strlen(dec[i].why));
        if (cy->dry_run) {
            struct report_item it = { .region = region,
                                      .snapshot_id = d->snapshot_id,
                                      .instance_id = d->instance_id,
                                      .volume_id = d->volume_id,
                                      .reason = d->why };
            s_record_planned(cy, REPORT_DELETED, &it, "plan.delete", d->why, NULL);
            continue;
        }
        *(struct ebs_delete *) s_phase_room(phase, (void **) &phase->dels, sizeof(*phase->dels)) = one;
    }
}

/* Plans retention in one region and queues the DeleteSnapshot calls (in the step's scratch scope). */
/*
 * Retention is decided per (is_copy, volume) group (retention.h: min_keep and GFS count per volume, every other
 * rule per snapshot), so the planner runs over chunks of whole volumes of at most EBS_RETAIN_CHUNK snapshots: its
 * decisions (about 200 bytes each) exist for one chunk at a time, not for a 100,000-snapshot region at once.
 */
#define EBS_RETAIN_CHUNK ((size_t) 4096)

struct s_volref {
    struct span volume;
    size_t index;
};

static int s_volref_cmp(const void *a, const void *b) {
    const struct s_volref *x = a, *y = b;
    int c = span_cmp(x->volume, y->volume);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

struct s_retain_chunk {
    struct snap *snaps;
    struct retention_decision *dec;
    size_t n, cap;
};

static enum err s_retain_flush(
  struct ebs_state *st,
  const char *region,
  const struct retention_policy *pol,
  struct s_retain_chunk *c,
  struct retention_counts *total,
  struct ebs_phase *phase) {
    if (c->n == 0) {
        return ERR_OK;
    }
    TRY(retention_plan(c->snaps, c->n, pol, job_decision_now_s(st->cy), c->dec));
    struct retention_counts rc = retention_count(c->dec, c->n);
    total->total += rc.total;
    total->to_delete += rc.to_delete;
    total->kept += rc.kept;
    s_queue_deletes(st, region, c->snaps, c->dec, c->n, phase);
    c->n = 0;
    return ERR_OK;
}

/* Room for `need` snapshots in the chunk (a volume larger than a chunk gets a chunk of its own size). */
static enum err s_chunk_room(struct s_retain_chunk *c, size_t need) {
    if (need <= c->cap && c->snaps != NULL && c->dec != NULL) {
        return ERR_OK;
    }
    free(c->snaps);
    free(c->dec);
    c->cap = need > c->cap ? need : c->cap;
    c->snaps = malloc(c->cap * sizeof(*c->snaps));
    c->dec = malloc(c->cap * sizeof(*c->dec));
    ENSURE(c->snaps != NULL && c->dec != NULL, ERR_NOMEM, "retention: out of memory for %zu snapshots", c->cap);
    return ERR_OK;
}

/* Chunks of whole volumes through the planner, volumes in id order. */
/* complexity: one pass that groups by volume, flushes full chunks and stops at the first error (each an &&) */
static enum err s_retain_chunks(
  struct ebs_state *st,
  const char *region,
  const struct snap *snaps,
  size_t n,
  const struct retention_policy *pol,
  struct retention_counts *total,
  struct ebs_queue *queue) {
    struct ebs_phase *phase = s_phase(queue, st); /* the region's deletions, built as they go out */
    struct s_volref *order = malloc((n ? n : 1) * sizeof(*order));
    struct s_retain_chunk c = { .cap = EBS_RETAIN_CHUNK };
    enum err e = order ? s_chunk_room(&c, c.cap) : ERR_NOMEM;
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        order[i] = (struct s_volref){ snaps[i].volume_id, i };
    }
    if (e == ERR_OK) {
        qsort(order, n, sizeof(*order), s_volref_cmp);
    }
    for (size_t lo = 0, hi = 0; e == ERR_OK && lo < n; lo = hi) {
        for (hi = lo + 1; hi < n && span_eq(order[hi].volume, order[lo].volume); hi++) {
        }
        if (c.n + (hi - lo) > c.cap) {
            e = s_retain_flush(st, region, pol, &c, total, phase);
        }
        e = e == ERR_OK ? s_chunk_room(&c, hi - lo) : e;
        for (size_t k = lo; e == ERR_OK && k < hi; k++) {
            c.snaps[c.n++] = snaps[order[k].index];
        }
    }
    e = e == ERR_OK ? s_retain_flush(st, region, pol, &c, total, phase) : e;
    if (e != ERR_OK) {
        queue->planned -= phase->n;
        phase->n = 0; /* a rejected plan deletes nothing in this region, as one plan over all of it did */
    }
    free(order);
    free(c.snaps);
    free(c.dec);
    return e;
}

static enum err s_retain(
  struct ebs_state *st,
  const char *region,
  const struct ec2_snaps *list,
  bool is_copy,
  uint32_t retention_days,
  struct ebs_queue *queue) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    if (list->n == 0) {
        return ERR_OK;
    }
    const struct snap *snaps = s_snaps(st, list, is_copy);
    struct retention_policy pol = { .retention_days = retention_days,
                                    .min_keep = cfg->min_keep,
                                    .keep_daily = cfg->keep_daily,
                                    .keep_weekly = cfg->keep_weekly,
                                    .keep_monthly = cfg->keep_monthly };
    struct retention_counts rc = { 0 };
    TRY(s_retain_chunks(st, region, snaps, list->n, &pol, &rc, queue));
    LOG(
      LOG_INFO,
      "retention.plan",
      LF_S("region", region),
      LF_U("snapshots", rc.total),
      LF_U("delete", rc.to_delete),
      LF_U("keep", rc.kept),
      LF_U("retention_days", retention_days),
      LF_U("min_keep", cfg->min_keep));
    return ERR_OK;
}

/*
 * Coverage after the snapshot phase: the volumes of the discovered instances against the source listing plus
 * what this run created (the listing may predate them, e.g. when a stop came). Logged as ebs.coverage.
 */
static void s_coverage(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    s_snaps_free(st); /* step A's planners are done; step B re-lists (new versions) and the pump rebuilds its own */
    struct arena_mark m = arena_mark(cy->scratch);
    size_t nvol = 0, nb = 0;
    for (size_t i = 0; i < st->ninstances; i++) {
        nvol += st->instances[i].inst->nvolumes;
    }
    struct span *vols = nvol ? ARENA_NEW_ARRAY(cy->scratch, struct span, nvol) : NULL;
    nvol = 0;
    for (size_t i = 0; i < st->ninstances; i++) {
        for (size_t v = 0; v < st->instances[i].inst->nvolumes; v++) {
            vols[nvol++] = st->instances[i].inst->volumes[v].volume_id;
        }
    }
    size_t cap = st->src->n + cy->report->nitems;
    struct coverage_backup *bs = cap ? ARENA_NEW_ARRAY(cy->scratch, struct coverage_backup, cap) : NULL;
    for (size_t i = 0; i < st->src->n; i++) {
        const struct ec2_snaprec *s = &st->src->items[i];
        bool counts = s_rstate_is(st->src, s, "pending") || s_rstate_is(st->src, s, "completed");
        bs[nb++] = (struct coverage_backup){ ec2_snaps_str(st->src, s->volume_id), s->start_time_s, counts };
    }
    for (size_t i = 0; !cy->dry_run && i < cy->report->nitems; i++) {
        const struct report_item *it = &cy->report->items[i];
        if (it->action == REPORT_CREATED && it->job == REPORT_JOB_EBS && it->volume_id != NULL) {
            bs[nb++] = (struct coverage_backup){ span_from_cstr(it->volume_id), it->ts_ms / 1000, true };
        }
    }
    int64_t now_s = job_decision_now_s(cy);
    struct coverage part, *c = &part;
    coverage_compute(cy->scratch, vols, nvol, bs, nb, now_s, cy->cfg->rpo_s, c);
    coverage_add(&cy->report->coverage, c); /* a multi-target run's coverage is every target's */
    arena_rewind(cy->scratch, m);
    LOG(
      c->outside_rpo ? LOG_WARN : LOG_INFO,
      "ebs.coverage",
      LF_U("volumes", c->volumes),
      LF_U("outside_rpo", c->outside_rpo),
      LF_U("never_backed_up", c->never_backed_up),
      LF_I("oldest_backup_age_s", c->oldest_age_s),
      LF_I("rpo_s", c->rpo_s));
}

/* Between phases: after a stop no phase starts (the cycle's ending reports what was done). */
static enum err s_stop_point(struct cycle *cy, const char *next_phase) {
    heartbeat(cy);
    if (!stop_refuses_new()) {
        return ERR_OK;
    }
    LOG(LOG_WARN, "ebs.stopped", LF_S("before", next_phase), LF_S("reason", stop_reason_name(stop_reason())));
    FAIL(ERR_CANCELLED, "stopped (%s) before %s", stop_reason_name(stop_reason()), next_phase);
}

/* ---- orchestration: the steps of one or many targets (backup/ebs_many.h) ---- */

/* A progress line this often while a step's batch runs (done/total, rate, ETA), and not for short steps. */
#define EBS_PROGRESS_MS 10000

static void s_enter(const struct ebs_many *m, const struct ebs_state *st) {
    if (m->enter != NULL) {
        m->enter(m->ctx, st != NULL ? st->t->arg : NULL);
    }
}

static void s_progress(struct ebs_queue *q, bool last) {
    int64_t now = time_mono_ms();
    if (now - q->logged_ms < EBS_PROGRESS_MS && !(last && q->logged_ms > q->t0_ms)) {
        return; /* the last line only when the step was long enough to have had one */
    }
    q->logged_ms = now;
    double s = (double) (now - q->t0_ms) / 1000.0;
    double rate = s > 0 ? (double) q->done / s : 0;
    size_t total = q->planned + q->joined;
    int64_t eta = rate > 0 ? (int64_t) ((double) (total - q->done) / rate) : -1;
    s_enter(q->m, NULL);
    LOG(
      LOG_INFO,
      "ebs.progress",
      LF_S("step", q->step),
      LF_U("done", q->done),
      LF_U("total", total),
      LF_U("targets", q->nseg),
      LF_D("requests_per_s", rate),
      LF_I("eta_s", eta));
}

/*
 * Builds the phase's next request and queues it (before the step's batch runs) or joins it to the batch; false when
 * the phase has nothing left. A request the batch refuses is answered at once as a failure of its own.
 */
static bool s_produce(struct ebs_phase *p) {
    if (p->next == p->n) {
        return false;
    }
    struct cycle *cy = p->st->cy;
    size_t k = p->next++;
    struct arena *own = s_own_arena(); /* the request's: its on_done gives it back */
    struct aws_request *r =
      p->insts != NULL ? s_build_create(p->st, p->insts[k], own) : s_build_delete(&p->dels[k], own);
    p->out++;
    if (!s_enqueue_in(cy, p->q, r, own, p)) {
        r->result = ERR_LIMIT;
        snprintf(r->error.message, sizeof(r->error.message), "%s", err_last()->msg);
        p->out--;
        p->q->done++;
        r->on_done(r);
    }
    return true;
}

/* Each phase with `ahead` of its requests built (the rest follow one by one as they are answered). */
static void s_prime(struct ebs_queue *q) {
    for (size_t i = 0; i < q->nphases; i++) {
        struct ebs_phase *p = q->phases[i];
        while (p->out < p->ahead && s_produce(p)) {
        }
    }
}

static void s_request_done(struct aws_request *r) {
    struct ebs_wrap *w = r->user;
    struct ebs_queue *q = w->q;
    struct ebs_phase *phase = w->phase; /* w may live in the arena on_done frees */
    r->user = w->user;
    r->on_done = w->on_done;
    if (q->m->enter != NULL) {
        q->m->enter(q->m->ctx, w->arg);
    }
    r->on_done(r);
    q->done++;
    if (phase != NULL) {
        phase->out--;
        (void) s_produce(phase); /* at a stop too: the batch cancels it, and it is reported as deferred */
    }
    s_progress(q, false);
}

/* The queue of a step: targets add their requests after s_queue_target. */
static struct ebs_queue s_queue(const struct ebs_many *m, const char *step) {
    return (struct ebs_queue){ .m = m, .step = step };
}

static void s_queue_target(struct cycle *cy, struct ebs_queue *q, const struct ebs_state *st) {
    if (q->nseg == q->segcap) {
        size_t cap = q->segcap ? q->segcap * 2 : 16;
        size_t *v = ARENA_NEW_ARRAY(cy->scratch, size_t, cap);
        if (q->nseg) {
            memcpy(v, q->seg, q->nseg * sizeof(*v));
        }
        q->seg = v;
        q->segcap = cap;
    }
    q->seg[q->nseg++] = q->n;
    q->arg = st->t->arg;
}

/*
 * Round-robin over the targets' requests (each target's own order kept): the executor opens requests in queue
 * order and an open request keeps its slot while it waits for its bucket's token, so one target's long phase
 * queued first would hold every slot while the other targets' buckets sit full.
 */
static void s_interleave(struct cycle *cy, struct ebs_queue *q) {
    if (q->nseg < 2 || q->n < 2) {
        return;
    }
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, q->n);
    struct aws_client **clients = ARENA_NEW_ARRAY(cy->scratch, struct aws_client *, q->n);
    size_t k = 0;
    for (size_t round = 0; k < q->n; round++) {
        for (size_t t = 0; t < q->nseg; t++) {
            size_t end = t + 1 < q->nseg ? q->seg[t + 1] : q->n;
            if (q->seg[t] + round < end) {
                reqs[k] = q->reqs[q->seg[t] + round];
                clients[k++] = q->clients[q->seg[t] + round];
            }
        }
    }
    q->reqs = reqs;
    q->clients = clients;
}

/*
 * The copy feeder (COPY_WINDOW): copies do not wait for the step that creates and deletes. Every step's batch runs
 * with a tick that, for each target, asks EC2 by id about its pending snapshots - the new sources, and the copies
 * in flight - (paced DescribeSnapshots, one at a time per region, every EBS_FEED_POLL_MIN_MS, doubling to
 * EBS_PUMP_POLL_MAX_MS while nothing completes) and, as COPY_LIMIT's slots free, joins copies to the running
 * batch: from the last plan's ordered list, planning again from the tracked listings when they changed (every
 * EBS_FEED_REPLAN_MS, at once when the list is used up, and never more than 1/50 of the time). So CopySnapshot in the
 * DR region draws on its bucket while CreateSnapshots and the deletions draw on theirs, and the copies of the snapshots
 * just created start as they complete. Each copy lives in its own arena, freed when it is answered: memory follows the
 * slots, not the fleet.
 */
#define EBS_FEED_TICK_MS 500
#define EBS_FEED_POLL_MIN_MS 1000
#define EBS_FEED_REPLAN_MS 5000

struct ebs_feed {
    const struct ebs_many *m;
    struct ebs_state **sts;
    struct ebs_queue *q;
};

/* A DescribeSnapshots by id of the feeder, in its own arena. */
struct ebs_refresh {
    struct ebs_state *st;
    struct arena *own;
    int which; /* 0 source, 1 destination */
    size_t n;
    size_t *pending;
    struct aws_request req;
};

static void s_refresh_done(struct aws_request *r) {
    struct ebs_refresh *f = r->user;
    struct ebs_state *st = f->st;
    size_t changed = 0;
    enum err e = s_apply_answer(st->cy, r, f->which ? st->dst : st->src, f->pending, f->n, &changed);
    int64_t *poll = &st->refresh_poll_ms[f->which];
    int64_t next = *poll * 2 < EBS_FEED_POLL_MIN_MS ? EBS_FEED_POLL_MIN_MS : *poll * 2;
    *poll = changed ? EBS_FEED_POLL_MIN_MS : (next < EBS_PUMP_POLL_MAX_MS ? next : EBS_PUMP_POLL_MAX_MS);
    st->refresh_next_ms[f->which] = time_mono_ms() + *poll;
    st->refresh_out[f->which] = false;
    if (e != ERR_OK && !report_stop_cancelled(e)) { /* a snapshot deleted meanwhile, say: the pump lists instead */
        LOG(LOG_WARN, "copy.feed_stopped", LF_S("reason", err_name(e)), LF_S("aws_code", r->error.code));
        st->feeding = false;
        st->dst_stale = st->dst_stale || f->which == 1;
    }
    aws_request_free(r);
    s_own_free(f->own);
}

/* Asks EC2 about up to a page of the listing's pending snapshots, when it is time and none is in flight. */
static void s_feed_refresh(struct ebs_feed *fd, struct ebs_state *st, int which, int64_t now) {
    if (st->refresh_out[which] || now < st->refresh_next_ms[which]) {
        return;
    }
    struct cycle *cy = st->cy;
    struct ec2_snaps *l = which ? st->dst : st->src;
    struct arena *own = s_own_arena();
    struct ebs_refresh *f = ARENA_NEW(own, struct ebs_refresh);
    *f = (struct ebs_refresh){ .st = st, .own = own, .which = which };
    f->pending = ARENA_NEW_ARRAY(own, size_t, EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS);
    struct query_params *q = ARENA_NEW(own, struct query_params);
    query_init(q, own);
    f->n = s_collect_pending(l, own, q, f->pending, &st->refresh_from[which], false);
    f->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                   .region = which ? cy->cfg->dest_region : cy->cfg->source_region,
                                   .operation = "DescribeSnapshots",
                                   .params = q,
                                   .user = f,
                                   .on_done = s_refresh_done };
    if (f->n == 0 || !s_enqueue(cy, fd->q, &f->req, own)) {
        st->refresh_next_ms[which] = now + EBS_FEED_POLL_MIN_MS; /* nothing pending: look again later */
        s_own_free(own);
        return;
    }
    st->refresh_out[which] = true;
}

/* COPY_LIMIT minus the copies in flight: pending in the destination listing, queued ones included. */
static size_t s_free_slots(const struct ebs_state *st) {
    size_t in_flight = s_count_pending(st->dst);
    return in_flight < st->cy->cfg->copy_limit ? st->cy->cfg->copy_limit - in_flight : 0;
}

/* Starts up to `free` copies from the last plan's list, in its order. */
static void s_feed_from_list(struct ebs_feed *fd, struct ebs_state *st, size_t free) {
    struct cycle *cy = st->cy;
    uint32_t completed = ec2_pool_find(&st->src->pool, SPAN_LIT("completed"));
    while (completed != 0 && free > 0 && st->feed_next < st->feed_n) {
        const struct ec2_snaprec *s = &st->src->items[st->feed_list[st->feed_next++]];
        if (s->state != completed) {
            continue; /* cannot happen within a step; the next plan decides */
        }
        struct arena_mark m = arena_mark(cy->scratch);
        struct ebs_copy *c = s_copy_own();
        if (s_queue_copy(st, fd->q, s, arena_span_cstr(cy->scratch, s_rid(st->src, s)), c)) {
            free--;
        } else {
            s_copy_free(c);
        }
        arena_rewind(cy->scratch, m);
    }
}

/* One target's turn of the feeder: what is pending asked about, and copies started as slots free. */
static void s_feed_target(struct ebs_feed *fd, struct ebs_state *st) {
    int64_t now = time_mono_ms();
    if (now >= st->window_end_ms || st->dst_stale) {
        st->feeding = false;
        return;
    }
    s_feed_refresh(fd, st, 0, now);
    s_feed_refresh(fd, st, 1, now);
    size_t free = s_free_slots(st);
    if (!st->feeding || free == 0) {
        return;
    }
    /* Plan again when the listings changed: at once when the last plan's list is used up, else every few seconds
     * (a plan reads every listed snapshot; between plans the list feeds the slots) - and never more than 1/50 of
     * the time, so planning stays a small part of a big fleet's run. */
    bool changed = st->src->version != st->fed_version[0] || st->dst->version != st->fed_version[1];
    int64_t every = st->feed_next < st->feed_n ? EBS_FEED_REPLAN_MS : EBS_FEED_POLL_MIN_MS;
    every = every > 50 * st->fed_cost_ms ? every : 50 * st->fed_cost_ms;
    if (!changed || now - st->fed_ms < every) {
        s_feed_from_list(fd, st, free);
        return;
    }
    struct arena_mark m = arena_mark(st->cy->scratch); /* the plan's strings; each copy lives in its own arena */
    enum err e = s_copy(st, fd->q, S_COPY_START);
    arena_rewind(st->cy->scratch, m);
    st->fed_version[0] = st->src->version;
    st->fed_version[1] = st->dst->version;
    st->fed_ms = time_mono_ms();
    st->fed_cost_ms = st->fed_ms - now;
    if (e != ERR_OK) {
        LOG(LOG_WARN, "copy.feed_stopped", LF_S("reason", err_last()->msg));
        st->feeding = false; /* the step's or the pump's own plan reports it */
    }
}

static void s_feed_tick(void *ctx) {
    struct ebs_feed *fd = ctx;
    for (size_t i = 0; i < fd->m->n && !stop_requested(); i++) {
        struct ebs_state *st = fd->sts[i];
        if (st->in_step && st->feeding) {
            s_enter(fd->m, st);
            fd->q->arg = st->t->arg;
            s_feed_target(fd, st);
        }
    }
    s_enter(fd->m, NULL);
}

/* Whether the feeder runs for this target in the next step: COPY_WINDOW, a current destination listing. */
static bool s_feeds(const struct ebs_state *st) {
    return st->in_step && st->pump && st->copy_err == ERR_OK && !st->dst_stale && !stop_requested() &&
           time_mono_ms() < st->window_end_ms;
}

/*
 * Runs what a step queued as one batch, the copy feeder joining it for the targets that feed, then frees the
 * step's requests, plans and decisions, and drops the copies that were never started from the tracked listings.
 */
static enum err s_run_step(struct cycle *cy, struct ebs_queue *q, struct arena_mark step, struct ebs_state **sts) {
    s_interleave(cy, q);
    struct ebs_feed fd = { .m = q->m, .sts = sts, .q = q };
    struct aws_tick tick = { .fn = s_feed_tick, .ctx = &fd, .every_ms = EBS_FEED_TICK_MS };
    bool feeds = false;
    for (size_t i = 0; i < q->m->n; i++) {
        sts[i]->feeding = s_feeds(sts[i]);
        feeds = feeds || sts[i]->feeding;
    }
    q->t0_ms = q->logged_ms = time_mono_ms();
    s_prime(q);
    q->owner = cy->aws;
    q->live = true;
    enum err e = aws_run_ticking(cy->aws, q->n ? q->clients : NULL, q->reqs, q->n, feeds ? &tick : NULL);
    q->live = false;
    s_progress(q, true);
    for (size_t i = 0; i < q->m->n; i++) {
        sts[i]->feeding = false;
        sts[i]->feed_n = sts[i]->feed_next = 0; /* indices into listings the next step may replace */
        if (sts[i]->in_step && ec2_snaps_drop_unnamed(sts[i]->dst) > 0) {
            sts[i]->fed_version[1] = 0;
        }
    }
    arena_rewind(cy->scratch, step);
    return e;
}

/* A step ended this target: its result is `e` (as ebs_run returns it), and it takes part in no later step. */
static void s_end(struct ebs_state *st, enum err e) {
    if (e == ERR_OK) {
        return;
    }
    st->active = false;
    st->in_step = false;
    st->t->result = e;
    st->t->message = arena_strndup(st->cy->arena, err_last()->msg, strlen(err_last()->msg));
}

/* Discovery and both listings: a failed DR listing skips the copies and DR retention, never the source's work. */
static enum err s_start(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    st->pump = cfg->dest_region != NULL && cfg->copy_window_s > 0 && !cy->dry_run;
    cy->report->ebs_ran = true;
    TRY(s_discover(st));
    st->t->instances_seen = st->ninstances;
    TRY(s_list_snapshots(cy, cfg->source_region, st->src));
    st->dst_listed = cfg->dest_region != NULL ? s_list_snapshots(cy, cfg->dest_region, st->dst) : ERR_OK;
    s_keep_listings(st, true, cfg->dest_region != NULL && st->dst_listed == ERR_OK);
    return s_stop_point(cy, "snapshots");
}

/*
 * Step A's plan for one target: CreateSnapshots for the due instances, the copies already due (the DR backlog),
 * and retention in both regions planned from the listings made before creating. Each phase plans from complete
 * listings only (a failed listing stops the phases that need it), and they touch disjoint snapshots: a copy
 * needs age < retention, a deletion age > retention; deletions of copies never touch sources.
 */
static void s_step_a_plan(struct ebs_state *st, struct ebs_queue *q) {
    const struct cfg *cfg = st->cy->cfg;
    st->items_before = st->cy->report->nitems;
    st->due_err = s_snapshot_due(st, q);
    st->src_err = s_retain(st, cfg->source_region, st->src, false, cfg->retention_days, q);
    st->copy_err = st->dst_listed;
    st->dst_err = ERR_OK;
    if (cfg->dest_region != NULL && st->dst_listed == ERR_OK) {
        /* With COPY_WINDOW the feeder starts the copies while the step runs (and the pump has the last word); else
         * step B (after creating) has it, or this pass reports. */
        if (!st->pump) {
            st->copy_err = s_copy(st, q, st->creates_queued > 0 ? S_COPY_START : S_COPY_START_AND_REPORT);
        }
        st->dst_err = s_retain(st, cfg->dest_region, st->dst, true, cfg->dest_retention_days, q);
    }
}

/* The targets still running that take part in the next step. Returns how many. */
static size_t s_select(struct ebs_state **sts, size_t n, bool (*wants)(const struct ebs_state *)) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        sts[i]->in_step = sts[i]->active && (wants == NULL || wants(sts[i]));
        k += sts[i]->in_step;
    }
    return k;
}

/* Runs the plans of every selected target as one batch; returns the batch's own error (it then ran nothing). */
static enum err s_step(
  const struct ebs_many *m,
  struct ebs_state **sts,
  void (*plan)(struct ebs_state *, struct ebs_queue *),
  const char *name) {
    struct cycle *cy = sts[0]->cy;
    struct arena_mark step = arena_mark(cy->scratch);
    struct ebs_queue q = s_queue(m, name);
    for (size_t i = 0; i < m->n; i++) {
        if (sts[i]->in_step) {
            s_enter(m, sts[i]);
            s_queue_target(cy, &q, sts[i]);
            plan(sts[i], &q);
        }
    }
    s_enter(m, NULL);
    return s_run_step(cy, &q, step, sts);
}

static enum err s_first_err(enum err a, enum err b, enum err c) {
    return a != ERR_OK ? a : (b != ERR_OK ? b : c);
}

static void s_step_a(const struct ebs_many *m, struct ebs_state **sts) {
    if (s_select(sts, m->n, NULL) == 0) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) { /* COPY_WINDOW counts from the first copy the feeder may start */
        sts[i]->window_end_ms = time_mono_ms() + sts[i]->cy->cfg->copy_window_s * 1000;
    }
    enum err run_err = s_step(m, sts, s_step_a_plan, "snapshots");
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        if (!st->in_step) {
            continue;
        }
        s_enter(m, st);
        s_end(st, s_first_err(st->due_err, st->src_err, run_err));
        if (st->active) {
            devtag_snapshots(st->cy, st->items_before); /* SmartVault:Device, before the re-list so copies carry it */
            s_coverage(st);
        }
    }
}

static size_t s_pending_all(struct ebs_state **sts, size_t n) {
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        pending += sts[i]->in_step ? s_count_pending(sts[i]->src) : 0;
    }
    return pending;
}

/* A phase boundary or a turn of a waiting loop: the targets' cycles and the run's lease. */
static void s_heartbeat(const struct ebs_many *m, struct ebs_state **sts) {
    for (size_t i = 0; i < m->n; i++) {
        if (sts[i]->in_step) {
            heartbeat(sts[i]->cy);
        }
    }
    if (m->lease != NULL) {
        heartbeat(m->lease);
    }
}

/* WAIT_FOR_COMPLETION: re-list until no snapshot of this run is pending in any target, or the bound passes. */
static void s_wait_for_completion(const struct ebs_many *m, struct ebs_state **sts, int64_t wait_s) {
    int64_t deadline = time_mono_ms() + wait_s * 1000;
    for (;;) {
        size_t pending = s_pending_all(sts, m->n);
        s_enter(m, NULL);
        if (pending == 0 || time_mono_ms() >= deadline || stop_requested()) {
            LOG(LOG_INFO, "ebs.wait_done", LF_U("pending", pending));
            return;
        }
        LOG(LOG_INFO, "ebs.waiting", LF_U("pending", pending));
        /* Never sleep past the bound: the last poll is shortened to the time left. */
        int64_t left_ms = deadline - time_mono_ms();
        s_pump_sleep(left_ms < EBS_WAIT_POLL_S * 1000 ? left_ms : EBS_WAIT_POLL_S * 1000);
        s_heartbeat(m, sts);
        if (stop_requested()) {
            LOG(LOG_INFO, "ebs.wait_done", LF_U("pending", pending), LF_S("stopped", stop_reason_name(stop_reason())));
            return;
        }
        for (size_t i = 0; i < m->n; i++) {
            struct ebs_state *st = sts[i];
            if (st->in_step && s_count_pending(st->src) > 0) {
                s_enter(m, st);
                s_end(st, s_list_snapshots(st->cy, st->cy->cfg->source_region, st->src)); /* replaces (frees) it */
            }
        }
    }
}

/*
 * Step B's plan, after creating: both regions listed again, so what completed already is copied in this cycle and
 * the new snapshots count for min_keep (a second retention pass, usually empty: the first one kept the newest old
 * snapshots because the new ones were not listed yet). Real EBS snapshots are usually still pending here.
 */
static void s_step_b_plan(struct ebs_state *st, struct ebs_queue *q) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    st->src_err = s_retain(st, cfg->source_region, st->src, false, cfg->retention_days, q);
    if (cfg->dest_region != NULL && st->copy_err == ERR_OK) {
        if (!st->pump || st->dst_stale) { /* a tracked listing is current: its copies were added as queued */
            st->copy_err = s_list_snapshots(cy, cfg->dest_region, st->dst); /* frees the listing it supersedes */
            st->dst_stale = false;
        }
        if (st->copy_err == ERR_OK) {
            st->copy_err = s_copy(st, q, st->pump ? S_COPY_START : S_COPY_START_AND_REPORT);
        }
    }
}

static bool s_created(const struct ebs_state *st) {
    return st->creates_queued > 0; /* also when they failed: step B reports the copies step A left to it */
}

static void s_step_b(const struct ebs_many *m, struct ebs_state **sts) {
    if (s_select(sts, m->n, s_created) == 0) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        if (st->in_step) {
            s_enter(m, st);
            s_end(st, s_stop_point(st->cy, "copies"));
        }
        if (st->in_step) { /* frees the listing made before creating */
            s_end(st, s_list_snapshots(st->cy, st->cy->cfg->source_region, st->src));
        }
    }
    int64_t wait_s = sts[0]->cy->cfg->wait_for_completion_s;
    if (wait_s > 0 && s_select(sts, m->n, s_created) > 0) {
        s_wait_for_completion(m, sts, wait_s);
    }
    if (s_select(sts, m->n, s_created) == 0) {
        return;
    }
    enum err run_err = s_step(m, sts, s_step_b_plan, "copies");
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        if (st->in_step) {
            s_enter(m, st);
            s_end(st, s_first_err(st->src_err, run_err, ERR_OK));
        }
        if (st->in_step) {
            s_keep_listings(st, true, st->cy->cfg->dest_region != NULL && st->copy_err == ERR_OK);
        }
    }
}

/*
 * The copy pump (COPY_WINDOW) of every target with copies waiting for a slot: one sleep per round for all of
 * them, then each target's plan (its pending copies asked about, what fits queued) and one batch. The poll
 * interval is 2 s after a round that started something, doubling to 30 s while nothing completes.
 */
static bool s_pumps(const struct ebs_state *st) {
    return st->pump && st->copy_err == ERR_OK;
}

static bool s_waits(const struct ebs_state *st) {
    return st->pump && st->copy_err == ERR_OK && st->copies_waiting > 0;
}

static void s_pump_round_plan(struct ebs_state *st, struct ebs_queue *q) {
    st->due_err = s_pump_plan(st, q, S_COPY_START);
}

static size_t s_waiting_all(struct ebs_state **sts, size_t n) {
    size_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        waiting += sts[i]->active && s_waits(sts[i]) ? sts[i]->copies_waiting : 0;
    }
    return waiting;
}

/* The pump's rounds; a target's failed round ends its pump (copy_err), not the others'. */
static void s_pump_rounds(const struct ebs_many *m, struct ebs_state **sts, struct cycle *cy) {
    int64_t end = 0; /* COPY_WINDOW counts from step A, where the feeder began */
    for (size_t i = 0; i < m->n; i++) {
        end = sts[i]->pumping && sts[i]->window_end_ms > end ? sts[i]->window_end_ms : end;
    }
    int64_t poll = EBS_PUMP_POLL_MIN_MS, round_start = time_mono_ms();
    size_t waiting = 0;
    while ((waiting = s_waiting_all(sts, m->n)) > 0 && !stop_requested()) {
        int64_t left = end - time_mono_ms();
        if (left <= 0) {
            break;
        }
        s_enter(m, NULL);
        LOG(LOG_INFO, "copy.pump", LF_U("waiting", waiting), LF_I("window_left_s", left / 1000));
        int64_t nap = poll - (time_mono_ms() - round_start); /* the poll counts from the last round's start */
        nap = nap < left ? nap : left;
        if (nap > 0) {
            s_pump_sleep(nap);
        }
        round_start = time_mono_ms();
        uint64_t before = report_counts(cy->report).snapshots_copied;
        s_select(sts, m->n, s_waits);
        enum err run_err = s_step(m, sts, s_pump_round_plan, "copy pump");
        for (size_t i = 0; i < m->n; i++) {
            if (sts[i]->in_step) {
                sts[i]->copy_err = s_first_err(sts[i]->due_err, run_err, ERR_OK);
            }
        }
        bool started = report_counts(cy->report).snapshots_copied > before;
        poll = started ? EBS_PUMP_POLL_MIN_MS : (poll * 2 < EBS_PUMP_POLL_MAX_MS ? poll * 2 : EBS_PUMP_POLL_MAX_MS);
    }
}

/*
 * The pump's last word per target: its copies in flight asked about by id (the destination listed again only
 * when that fails), then what still waits is the backlog.
 */
static enum err s_pump_last(struct ebs_state *st) {
    struct arena_mark step = arena_mark(st->cy->scratch);
    struct ebs_queue q = { 0 };
    enum err plan_err = s_pump_plan(st, &q, S_COPY_REPORT);
    arena_rewind(st->cy->scratch, step); /* S_COPY_REPORT starts nothing: there is nothing to run */
    return plan_err;
}

static void s_copy_pump(const struct ebs_many *m, struct ebs_state **sts) {
    struct cycle *cy = NULL;
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        st->in_step = st->active && s_pumps(st);
        if (st->in_step) {
            s_enter(m, st);
            s_end(st, s_stop_point(st->cy, "the copy pump"));
        }
        if (st->in_step) {
            st->pumping = true;
            st->dst_stale = false; /* the copies of steps A and B were added to st->dst as they were started */
            cy = st->cy;
        }
    }
    if (cy == NULL) {
        return;
    }
    s_pump_rounds(m, sts, cy);
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        if (!st->pumping) {
            continue;
        }
        s_enter(m, st);
        if (st->copy_err == ERR_OK && !stop_requested()) {
            st->copy_err = s_pump_last(st);
        } else if (stop_requested()) {
            LOG(LOG_WARN, "copy.backlog_unknown", LF_S("reason", "the run stopped before the last listing"));
        }
        st->pumping = false;
    }
}

void ebs_run_many(const struct ebs_many *m) {
    if (m->n == 0) {
        return;
    }
    struct ebs_state **sts = ARENA_NEW_ARRAY(m->targets[0].cy->arena, struct ebs_state *, m->n);
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_target *t = &m->targets[i];
        sts[i] = ARENA_NEW(t->cy->arena, struct ebs_state);
        memset(sts[i], 0, sizeof(*sts[i]));
        *sts[i] =
          (struct ebs_state){ .cy = t->cy, .src = &t->cy->fleet.src, .dst = &t->cy->fleet.dst, .t = t, .active = true };
        t->result = ERR_OK;
        s_enter(m, sts[i]);
        s_end(sts[i], s_start(sts[i]));
    }
    s_step_a(m, sts);
    s_step_b(m, sts);
    s_copy_pump(m, sts);
    for (size_t i = 0; i < m->n; i++) {
        struct ebs_state *st = sts[i];
        if (st->active) {
            s_enter(m, st);
            s_end(st, st->copy_err != ERR_OK ? st->copy_err : st->dst_err);
        }
        s_snaps_free(st); /* the listings stay in cy->fleet for the coverage page; the planners' arrays go */
        free(st->feed_list);
    }
    s_enter(m, NULL);
}

enum err ebs_run(struct cycle *cy) {
    struct ebs_target t = { .cy = cy };
    struct ebs_many m = { .targets = &t, .n = 1 };
    ebs_run_many(&m);
    if (t.result != ERR_OK) {
        FAIL(t.result, "%s", t.message ? t.message : err_name(t.result));
    }
    return ERR_OK;
}
