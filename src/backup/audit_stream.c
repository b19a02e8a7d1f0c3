/*
 * audit_stream.c - the audit items written during the run (audit_stream.h) and the BatchWriteItem sender that the
 * stream and the ending's final write (backup/publish.c) share.
 *
 * The pure part - which items, which batch, what a result does to its items - is backup/audit.c; this file only
 * decides when to send, builds the request and turns its response into a batch result.
 *
 * What it does not do: retry beyond the request layer (a streamed batch that failed goes back to pending; the
 * final write's rounds retry), log items (the final write logs each lost one), or stream after a stop.
 */
#include "backup/audit_stream.h"

#include "backup/lease.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/stop.h"
#include "base/time.h"
#include "net/retry.h"
#include "svc/dynamodb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct audit_stream {
    struct cycle *cy;
    struct aws_client *aws; /* the run's own client: its progress hook drives the stream */
    struct arena scratch;   /* response documents, rewound at once */
    struct audit_dynamodb ddb;
    struct audit_items items;
    struct audit_result res; /* what streamed sends did */
    size_t in_flight;
    int64_t pending_since_ms; /* monotonic: when the oldest pending item was built (0: none pending) */
    int64_t paused_until_ms;  /* monotonic: after a failed send, the stream waits until then */
    bool broken;              /* a send failed for good (AccessDenied, no table): the final write reports it */
    bool ended;
};

/* ---- the BatchWriteItem sender ---- */

/*
 * Another round only for throttling (ProvisionedThroughputExceededException, ThrottlingException...): the
 * request layer has already spent its attempts on it, and DynamoDB asks for backoff. Any other error after the
 * request layer's retries is an answer, not a hiccup.
 */
static bool s_throttled(const struct aws_request *r) {
    struct retry_input in = {
        .attempt = r->attempts,
        .transport = (r->result == ERR_AWS || r->result == ERR_HTTP || r->result == ERR_AUTH) ? ERR_OK : r->result,
        .status = r->status,
        .aws_code = span_from_cstr(r->error.code),
    };
    return retry_classify(&in) == RETRY_CLASS_THROTTLING;
}

static void s_batch_fail(struct audit_batch *b, enum err e, bool retryable, const char *code) {
    b->result = e;
    b->retryable = retryable;
    snprintf(b->code, sizeof(b->code), "%s", code);
}

/* Marks the batch's items that the response lists in UnprocessedItems. */
static void s_mark_unprocessed(
  const struct audit_dynamodb *a,
  struct arena *scratch,
  struct audit_batch *b,
  struct aws_request *r) {
    struct arena_mark m = arena_mark(scratch);
    const struct json_value *root = NULL;
    struct span *keys = NULL;
    size_t nkeys = 0;
    enum err e = aws_response_json(r, scratch, &root);
    if (e == ERR_OK) {
        e = dynamodb_batch_write_parse(scratch, root, "sk", &keys, &nkeys);
    }
    if (e != ERR_OK) {
        /* Which items were written is unknown: send them all again (puts are idempotent). */
        s_batch_fail(b, e, true, "MalformedResponse");
        arena_rewind(scratch, m);
        return;
    }
    b->result = ERR_OK;
    for (size_t k = 0; k < nkeys; k++) {
        bool found = false;
        for (size_t j = 0; j < b->n && !found; j++) {
            if (span_eq_cstr(keys[k], b->items[j]->sk)) {
                b->unprocessed[j] = found = true;
            }
        }
        if (!found) {
            LOG(LOG_WARN, "report.audit_unknown_unprocessed", LF_S("table", a->table), LF_SP("sk", keys[k]));
        }
    }
    arena_rewind(scratch, m);
}

/* The request of one batch; its body in `body`. False (and the batch failed) when the body cannot be built. */
static bool s_request(const struct audit_dynamodb *a, struct audit_batch *b, struct buf *body, struct aws_request *r) {
    const struct dynamodb_item *items[AUDIT_BATCH_MAX];
    for (size_t j = 0; j < b->n; j++) {
        items[j] = &b->items[j]->item;
    }
    buf_init(body, BUF_MAX_REQUEST);
    enum err e = dynamodb_batch_write_body(body, a->table, items, b->n);
    if (e != ERR_OK) {
        s_batch_fail(b, e, false, err_name(e));
        return false;
    }
    *r = (struct aws_request){ .service = ENDPOINT_DYNAMODB,
                               .region = a->region,
                               .operation = "BatchWriteItem",
                               .target = DYNAMODB_TARGET_BATCH_WRITE_ITEM,
                               .body = buf_span(body) };
    return true;
}

/* A finished request's result, into the batch. */
static void
s_result(const struct audit_dynamodb *a, struct arena *scratch, struct audit_batch *b, struct aws_request *r) {
    if (r->result == ERR_OK) {
        s_mark_unprocessed(a, scratch, b, r);
        return;
    }
    s_batch_fail(b, r->result, s_throttled(r), r->error.code[0] ? r->error.code : err_name(r->result));
    LOG(
      LOG_WARN,
      "report.audit_batch_failed",
      LF_S("table", a->table),
      LF_S("aws_code", b->code),
      LF_S("request_id", r->error.request_id),
      LF_S("message", r->error.message),
      LF_U("items", b->n),
      LF_B("retry", b->retryable),
      LF_U("attempts", r->attempts));
}

static void s_send(void *ctx, struct audit_batch *batches, size_t nb) {
    struct audit_dynamodb *a = ctx;
    struct aws_request *reqs = calloc(nb, sizeof(*reqs));
    struct aws_request **run = calloc(nb, sizeof(*run));
    struct buf *bodies = calloc(nb, sizeof(*bodies));
    if (reqs == NULL || run == NULL || bodies == NULL) {
        FATAL("out of memory");
    }
    size_t m = 0;
    for (size_t k = 0; k < nb; k++) {
        if (s_request(a, &batches[k], &bodies[k], &reqs[k])) {
            run[m++] = &reqs[k];
        }
    }
    enum err e = aws_run(a->aws, run, m);
    for (size_t k = 0; k < nb; k++) {
        if (reqs[k].operation == NULL) {
            buf_free(&bodies[k]);
            continue; /* never sent: the body could not be built */
        }
        if (e != ERR_OK) {
            s_batch_fail(&batches[k], e, false, err_name(e));
        } else {
            s_result(a, a->scratch, &batches[k], &reqs[k]);
        }
        aws_request_free(&reqs[k]);
        buf_free(&bodies[k]);
    }
    free(reqs);
    free(run);
    free(bodies);
}

/* The request layer's throttling backoff, one step per round: jitter x min(500 ms x 2^(round-2), 20 s). */
static int64_t s_backoff(void *ctx, uint32_t round) {
    (void) ctx;
    return retry_backoff_ms(RETRY_CLASS_THROTTLING, round - 1, rand_unit());
}

static void s_sleep(void *ctx, int64_t ms) {
    (void) ctx;
    if (ms <= 0) {
        return;
    }
    struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void audit_dynamodb_init(struct cycle *cy, struct audit_dynamodb *ctx, struct audit_sender *out) {
    const struct cfg *cfg = cy->cfg;
    *ctx = (struct audit_dynamodb){
        .aws = cy->aws,
        .scratch = cy->scratch,
        .table = cfg->dynamodb_table,
        .region = cfg->dynamodb_table_region ? cfg->dynamodb_table_region : cfg->source_region,
    };
    *out = (struct audit_sender){ .ctx = ctx, .send = s_send, .backoff_ms = s_backoff, .sleep_ms = s_sleep };
}

/* ---- the stream ---- */

/*
 * A streamed batch that failed: its items are pending again (the final write decides, with its rounds), and the
 * stream pauses; an error that is not worth another try (AccessDenied, no such table) ends the streaming.
 */
static void s_settle(struct audit_stream *s, struct audit_batch *b) {
    if (b->result != ERR_OK) {
        bool again = b->retryable || b->result == ERR_CANCELLED || b->result == ERR_NET || b->result == ERR_TIMEOUT;
        s->broken |= !again;
        s->paused_until_ms = time_mono_ms() + AUDIT_STREAM_MAX_AGE_MS;
        b->retryable = true;
    }
    audit_settle(&s->items, b, &s->res);
}

/* One streamed batch in the running phase's batch. */
struct s_flight {
    struct audit_stream *s;
    struct aws_request req;
    struct buf body;
    size_t idx[AUDIT_BATCH_MAX];
    size_t n;
};

static void s_flight_done(struct aws_request *r) {
    struct s_flight *f = r->user;
    struct audit_stream *s = f->s;
    struct audit_batch b;
    memset(&b, 0, sizeof(b));
    for (size_t j = 0; j < f->n; j++) {
        b.items[j] = &s->items.items[f->idx[j]]; /* by index: the item array may have grown meanwhile */
    }
    b.n = f->n;
    s_result(&s->ddb, &s->scratch, &b, r);
    s_settle(s, &b);
    aws_request_free(r);
    buf_free(&f->body);
    free(f);
    s->in_flight--;
}

/* Hands one taken batch to the running phase's batch; false when it could not (the batch is settled). */
static bool s_send_async(struct audit_stream *s, struct audit_batch *b) {
    struct s_flight *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        FATAL("out of memory");
    }
    f->s = s;
    f->n = b->n;
    for (size_t j = 0; j < b->n; j++) {
        f->idx[j] = (size_t) (b->items[j] - s->items.items);
    }
    if (!s_request(&s->ddb, b, &f->body, &f->req)) {
        buf_free(&f->body);
        free(f);
        s_settle(s, b);
        return false;
    }
    f->req.user = f;
    f->req.on_done = s_flight_done;
    if (aws_run_add(s->aws, &f->req) != ERR_OK) {
        buf_free(&f->body);
        free(f);
        s_batch_fail(b, ERR_CANCELLED, true, "NotSent");
        audit_settle(&s->items, b, &s->res); /* pending again: the next boundary sends it */
        s->res.batches_sent--;
        return false;
    }
    s->in_flight++;
    return true;
}

static bool s_may_stream(struct audit_stream *s) {
    return s != NULL && !s->ended && !s->broken && !stop_requested() && time_mono_ms() >= s->paused_until_ms;
}

/* New items of the report; a partial batch is due once the oldest pending one is AUDIT_STREAM_MAX_AGE_MS old. */
static bool s_partial_due(struct audit_stream *s) {
    audit_add_new(&s->items, s->cy->report);
    int64_t now = time_mono_ms();
    if (s->items.npending == 0) {
        s->pending_since_ms = 0;
    } else if (s->pending_since_ms == 0) {
        s->pending_since_ms = now;
    }
    return s->pending_since_ms != 0 && now - s->pending_since_ms >= AUDIT_STREAM_MAX_AGE_MS;
}

/*
 * After every completed request of the run's client: the lease's renewal when due, and full batches (or an old
 * partial one) of audit items join the phase.
 */
static void s_on_progress(void *ctx) {
    struct audit_stream *s = ctx;
    if (!s->ended && !stop_requested()) {
        lease_renew_in_run(s->cy); /* the run's other use of the table: keep the lease through a long phase */
    }
    if (!s_may_stream(s)) {
        return;
    }
    bool partial = s_partial_due(s);
    struct audit_batch b;
    while (s->in_flight < AUDIT_STREAM_IN_FLIGHT && audit_take(&s->items, partial, &b) > 0) {
        if (!s_send_async(s, &b)) {
            break;
        }
        s->pending_since_ms = s->items.npending ? time_mono_ms() : 0;
    }
}

void audit_stream_start(struct cycle *cy) {
    if (cy->cfg->dynamodb_table == NULL || cy->dry_run || cy->audit_stream != NULL) {
        return;
    }
    struct audit_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        FATAL("out of memory");
    }
    s->cy = cy;
    s->aws = cy->aws;
    arena_init(&s->scratch, 0);
    struct audit_sender unused;
    audit_dynamodb_init(cy, &s->ddb, &unused);
    s->ddb.scratch = &s->scratch;
    audit_begin(&s->items, cy->arena, time_wall_ms() / 1000, cy->cfg->audit_ttl_days);
    cy->audit_stream = s;
    aws_client_on_progress(s->aws, s_on_progress, s);
}

void audit_stream_flush(struct cycle *cy) {
    struct audit_stream *s = cy->audit_stream;
    if (!s_may_stream(s) || s->in_flight > 0) {
        return;
    }
    bool partial = s_partial_due(s);
    struct audit_batch *batches = calloc(AUDIT_BATCHES_PER_SEND, sizeof(*batches));
    if (batches == NULL) {
        FATAL("out of memory");
    }
    size_t nb = 0;
    while (nb < AUDIT_BATCHES_PER_SEND && audit_take(&s->items, partial, &batches[nb]) > 0) {
        nb++;
    }
    if (nb > 0) {
        s_send(&s->ddb, batches, nb); /* also at a target's boundary: the run's own client and table */
        for (size_t k = 0; k < nb; k++) {
            s_settle(s, &batches[k]);
        }
    }
    s->pending_since_ms = s->items.npending ? time_mono_ms() : 0;
    free(batches);
}

struct audit_items *audit_stream_end(struct cycle *cy) {
    struct audit_stream *s = cy->audit_stream;
    if (s == NULL) {
        return NULL;
    }
    s->ended = true;
    aws_client_on_progress(s->aws, NULL, NULL);
    audit_add_new(&s->items, cy->report);
    audit_add_coverage(&s->items, cy->report);
    return &s->items;
}

void audit_stream_totals(const struct cycle *cy, struct audit_result *out) {
    memset(out, 0, sizeof(*out));
    if (cy->audit_stream != NULL) {
        *out = cy->audit_stream->res;
    }
}

void audit_stream_free(struct cycle *cy) {
    struct audit_stream *s = cy->audit_stream;
    if (s == NULL) {
        return;
    }
    aws_client_on_progress(s->aws, NULL, NULL);
    arena_free(&s->scratch);
    free(s);
    cy->audit_stream = NULL;
}
