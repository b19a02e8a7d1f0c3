/*
 * batch.c - the batch executor: bounded concurrency, retries, scheduled backoff and rate limiting for many
 * independent requests, on one thread, over the http client's asynchronous interface (or a test transport).
 *
 * The loop, until the queue is empty and no request is open:
 *   1. open queued requests while a slot is free (skipping, for now, those whose limiter already has an open
 *      request waiting for a token: batch.h, Scheduling);
 *   2. for each open request whose wait is over: ask the retry policy (the adaptive limiter may answer "wait
 *      N ms": reschedule), then prepare() and submit the attempt;
 *   3. wait for transfers (at most until the earliest scheduled request is due), or sleep if none is on the
 *      wire; for each finished transfer: classify(), retry_after_attempt(), then either schedule the retry
 *      after its delay or complete() the request and free its slot.
 *
 * What it does not do: build, sign or parse requests (callbacks), decide about retries (net/retry), touch
 * libcurl (net/http).
 */
#include "net/batch.h"

#include "base/stop.h"
#include "base/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_POLL_BATCH 64 /* completions taken from the transport per poll */

enum s_state {
    S_WAITING,   /* open, next attempt due at due_ms */
    S_IN_FLIGHT, /* open, attempt on the wire */
};

struct batch_item {
    const struct batch_ops *ops;
    void *user;
    struct retry_policy *policy;
    struct retry_state rs;
    struct http_response resp;
    enum s_state state;
    int64_t due_ms;
    int64_t started_ms;
    int64_t deadline_ms; /* INT64_MAX when none */
    uint64_t seq;        /* opening order: the limiter's tokens go to the longest-open request first */
    bool limited;        /* waiting for its limiter's token (not for a backoff) */
    bool first;          /* batch_add_next: opens before every queued request, never skipped */
    struct batch_item_result res;
};

struct batch {
    struct batch_options opt;
    struct batch_transport http; /* the default transport, over `client` */
    const struct batch_transport *tr;
    struct http_client *client;
    struct batch_item **queue; /* not yet opened: queue[qhead..qlen) */
    size_t qhead, qlen, qcap;
    size_t nfront;             /* queue[qhead..qhead+nfront) were added by batch_add_next or batch_add_front */
    struct batch_item **slots; /* open requests; NULL = free slot */
    size_t open;
    size_t on_wire;
    uint64_t next_seq;
    bool running;
    struct batch_stats stats;
    /* batch_set_tick */
    void (*tick)(void *ctx);
    void *tick_ctx;
    int64_t tick_every_ms, tick_next_ms;
};

/* ---- the default transport: net/http and the monotonic clock ---- */

static enum err s_http_submit(void *ctx, const struct http_request *req, struct http_response *resp, void *user) {
    return http_submit(ctx, req, resp, user);
}

static size_t s_http_poll(void *ctx, int64_t timeout_ms, struct http_completion *out, size_t max) {
    return http_poll(ctx, timeout_ms, out, max);
}

static int64_t s_http_now(void *ctx) {
    (void) ctx;
    return time_mono_ms();
}

static void s_http_sleep(void *ctx, int64_t ms) {
    (void) ctx;
    struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested()) {
    }
}

enum err batch_new(struct http_client *client, const struct batch_options *opt, struct batch **out) {
    ENSURE(opt->policy != NULL, ERR_INVALID, "batch needs a default retry policy");
    ENSURE(client != NULL || opt->transport != NULL, ERR_INVALID, "batch needs an http client or a transport");
    ENSURE(opt->max_in_flight <= BATCH_MAX_IN_FLIGHT, ERR_LIMIT, "batch concurrency above %d", BATCH_MAX_IN_FLIGHT);
    struct batch *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        FATAL("out of memory");
    }
    b->opt = *opt;
    if (b->opt.max_in_flight == 0) {
        b->opt.max_in_flight = BATCH_DEFAULT_IN_FLIGHT;
    }
    b->client = client;
    b->http = (struct batch_transport){ client, s_http_submit, s_http_poll, s_http_now, s_http_sleep };
    b->tr = opt->transport != NULL ? opt->transport : &b->http;
    b->slots = calloc(b->opt.max_in_flight, sizeof(*b->slots));
    if (b->slots == NULL) {
        FATAL("out of memory");
    }
    *out = b;
    return ERR_OK;
}

static void s_item_free(struct batch_item *it) {
    http_response_free(&it->resp);
    free(it);
}

void batch_free(struct batch *b) {
    if (b == NULL) {
        return;
    }
    for (size_t i = b->qhead; i < b->qlen; i++) {
        s_item_free(b->queue[i]);
    }
    /* Open requests exist only inside batch_run(), which always finishes them. */
    free(b->queue);
    free(b->slots);
    free(b);
}

void batch_set_tick(struct batch *b, void (*fn)(void *ctx), void *ctx, int64_t every_ms) {
    b->tick = fn;
    b->tick_ctx = ctx;
    b->tick_every_ms = every_ms > 0 ? every_ms : 1;
    b->tick_next_ms = 0; /* the first turn of the run ticks */
}

/* The tick, when due (or `force`d: the batch has nothing left); true when it queued something. */
static bool s_tick(struct batch *b, bool force) {
    int64_t now = b->tr->now_ms(b->tr->ctx);
    if (b->tick == NULL || stop_refuses_new() || (!force && now < b->tick_next_ms)) {
        return false;
    }
    b->tick_next_ms = now + b->tick_every_ms;
    size_t before = b->qlen - b->qhead;
    b->tick(b->tick_ctx);
    return b->qlen - b->qhead > before;
}

const struct batch_stats *batch_stats(const struct batch *b) {
    return &b->stats;
}

enum err batch_add(struct batch *b, const struct batch_ops *ops, void *user, struct retry_policy *policy) {
    return batch_add_paced(b, ops, user, policy, NULL);
}

enum err batch_add_paced(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) {
    ENSURE(ops != NULL && ops->prepare != NULL && ops->complete != NULL, ERR_INVALID, "batch_add: missing ops");
    if (b->qhead > 0 && b->qlen == b->qcap) {
        memmove(b->queue, b->queue + b->qhead, (b->qlen - b->qhead) * sizeof(*b->queue));
        b->qlen -= b->qhead;
        b->qhead = 0;
    }
    ENSURE(b->qlen < BATCH_MAX_ITEMS, ERR_LIMIT, "more than %d queued requests", BATCH_MAX_ITEMS);
    if (b->qlen == b->qcap) {
        size_t cap = b->qcap ? b->qcap * 2 : 16;
        struct batch_item **q = realloc(b->queue, cap * sizeof(*q));
        if (q == NULL) {
            FATAL("out of memory");
        }
        b->queue = q;
        b->qcap = cap;
    }
    struct batch_item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        FATAL("out of memory");
    }
    it->ops = ops;
    it->user = user;
    it->policy = policy != NULL ? policy : b->opt.policy;
    retry_state_init(&it->rs);
    it->rs.limiter = limiter;
    http_response_init(&it->resp);
    b->queue[b->qlen++] = it;
    return ERR_OK;
}

/* Moves the request just queued last to queue position qhead + at, and counts it in the front. */
static void s_to_front(struct batch *b, size_t at) {
    struct batch_item *it = b->queue[b->qlen - 1];
    size_t pos = b->qhead + at;
    memmove(b->queue + pos + 1, b->queue + pos, (b->qlen - 1 - pos) * sizeof(*b->queue));
    b->queue[pos] = it;
    b->nfront++;
}

enum err batch_add_next(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) {
    TRY(batch_add_paced(b, ops, user, policy, limiter));
    b->queue[b->qlen - 1]->first = true;
    s_to_front(b, 0);
    return ERR_OK;
}

enum err batch_add_front(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) {
    TRY(batch_add_paced(b, ops, user, policy, limiter));
    s_to_front(b, b->nfront);
    return ERR_OK;
}

static void s_release_slot(struct batch *b, struct batch_item *it) {
    for (size_t i = 0; i < b->opt.max_in_flight; i++) {
        if (b->slots[i] == it) {
            b->slots[i] = NULL;
            b->open--;
            return;
        }
    }
}

/* The request is over: report it once, then forget it. */
static void s_finish(struct batch *b, struct batch_item *it, enum err final, int64_t now) {
    s_release_slot(b, it);
    it->res.attempts = it->rs.attempt;
    it->res.retries = it->rs.attempt > 0 ? it->rs.attempt - 1 : 0;
    it->res.wall_ms = now - it->started_ms;
    b->stats.items++;
    if (final == ERR_OK) {
        b->stats.succeeded++;
    }
    it->ops->complete(it->user, final, &it->resp, &it->res);
    s_item_free(it);
}

/* The error a request ends with, from its last attempt. */
static enum err s_final_error(enum retry_class cls, const struct retry_input *in) {
    if (cls == RETRY_CLASS_SUCCESS) {
        return ERR_OK;
    }
    if (in->transport != ERR_OK) {
        return in->transport;
    }
    return in->aws_code.n > 0 ? ERR_AWS : ERR_HTTP;
}

/*
 * An attempt has ended (transport result `transport`, response in it->resp): decide what comes next. Returns
 * false when the request is over (completed and freed).
 */
static bool s_attempt_done(struct batch *b, struct batch_item *it, enum err transport, int64_t now) {
    struct retry_input in = {
        .attempt = it->rs.attempt,
        .transport = transport,
        .status = transport == ERR_OK ? it->resp.status : 0,
    };
    if (it->ops->classify != NULL) {
        it->ops->classify(it->user, transport, &it->resp, &in);
    }
    in.attempt = it->rs.attempt; /* not the callback's to change */
    in.transport = transport;
    struct retry_decision d;
    retry_after_attempt(it->policy, &it->rs, &in, now, &d);
    size_t code_n = in.aws_code.n < BATCH_MAX_AWS_CODE ? in.aws_code.n : BATCH_MAX_AWS_CODE;
    if (code_n > 0) {
        memcpy(it->res.aws_code, in.aws_code.p, code_n);
    }
    it->res.aws_code[code_n] = '\0';
    it->res.last_class = d.cls;
    it->res.stop = d.stop;
    it->res.transport = transport;
    it->res.status = in.status;
    if (d.cls == RETRY_CLASS_THROTTLING) {
        b->stats.throttles++;
    }
    if (!d.retry) {
        s_finish(b, it, s_final_error(d.cls, &in), now);
        return false;
    }
    if (now + d.delay_ms >= it->deadline_ms) {
        retry_abandon(it->policy, &it->rs);
        it->res.stop = RETRY_STOP_DEADLINE;
        s_finish(b, it, ERR_TIMEOUT, now);
        return false;
    }
    it->state = S_WAITING;
    it->due_ms = now + d.delay_ms;
    return true;
}

/* Sends the next attempt of a request whose turn it is. Returns false when the request is over (freed). */
static bool s_send(struct batch *b, struct batch_item *it, int64_t now) {
    struct http_request req = { 0 };
    enum err e = it->ops->prepare(it->user, it->rs.attempt, &req);
    if (e != ERR_OK) {
        it->res.last_class = RETRY_CLASS_NOT_RETRYABLE;
        it->res.stop = RETRY_STOP_NOT_RETRYABLE;
        s_finish(b, it, e, now);
        return false;
    }
    if (req.timeout_ms <= 0 && b->opt.attempt_timeout_ms > 0) {
        req.timeout_ms = b->opt.attempt_timeout_ms;
    }
    if (it->deadline_ms != INT64_MAX) {
        int64_t left = it->deadline_ms - now;
        if (req.timeout_ms <= 0 || req.timeout_ms > left) {
            req.timeout_ms = left > 0 ? left : 1;
        }
    }
    b->stats.attempts++;
    if (it->rs.attempt > 1) {
        b->stats.retries++;
    }
    e = b->tr->submit(b->tr->ctx, &req, &it->resp, it);
    if (e != ERR_OK) {
        /* Could not even start (a header over its maximum): an attempt that failed below HTTP. */
        return s_attempt_done(b, it, e, now);
    }
    it->state = S_IN_FLIGHT;
    b->on_wire++;
    if (b->on_wire > b->stats.peak_in_flight) {
        b->stats.peak_in_flight = b->on_wire;
    }
    return true;
}

/*
 * A stop (base/stop) ends a request that is not on the wire: queued ones are never started and waiting ones are
 * not retried; they complete with ERR_CANCELLED. In the stop's ending (reports) only the total bound cancels.
 */
static bool s_stopped(void) {
    return stop_refuses_new() || stop_cancels_in_flight(time_mono_ms()); /* base/stop counts on this clock */
}

static void s_cancel(struct batch *b, struct batch_item *it, int64_t now) {
    retry_abandon(it->policy, &it->rs);
    it->res.last_class = RETRY_CLASS_NOT_RETRYABLE;
    it->res.stop = RETRY_STOP_NOT_RETRYABLE;
    s_finish(b, it, ERR_CANCELLED, now);
}

/* The limiter a request's next attempt asks (its own, or its policy's in adaptive mode); NULL when none. */
static const void *s_limiter_of(const struct batch_item *it) {
    if (it->rs.limiter != NULL) {
        return it->rs.limiter;
    }
    return it->policy->cfg.mode == RETRY_MODE_ADAPTIVE ? &it->policy->limiter : NULL;
}

/* True when an earlier request (in opening order) is already waiting for this limiter's next token. */
static bool s_queued_behind(const void *rl, const void *const *waiting, size_t n) {
    for (size_t i = 0; rl != NULL && i < n; i++) {
        if (waiting[i] == rl) {
            return true;
        }
    }
    return false;
}

/*
 * The limiters that already have an open request waiting for a token: one that the limiter made wait, or one
 * just opened that has not asked yet (it asks in s_start_due). A request in a backoff wait does not count.
 */
static size_t s_busy_limiters(const struct batch *b, const void **out) {
    size_t n = 0;
    for (size_t i = 0; i < b->opt.max_in_flight; i++) {
        const struct batch_item *it = b->slots[i];
        if (it == NULL || it->state != S_WAITING || !(it->limited || it->rs.attempt == 0)) {
            continue;
        }
        const void *rl = s_limiter_of(it);
        if (rl != NULL && !s_queued_behind(rl, out, n)) {
            out[n++] = rl;
        }
    }
    return n;
}

/*
 * The queue position of the next request to open: the first (within BATCH_OPEN_LOOKAHEAD) that was added by
 * batch_add_next, has no limiter, or whose limiter has no open request waiting for a token. Taking the first
 * such one keeps each limiter's requests in the order they were added. The queue's end when there is none.
 */
static size_t s_next_to_open(const struct batch *b, const void *const *busy, size_t nbusy) {
    size_t end = b->qlen - b->qhead > BATCH_OPEN_LOOKAHEAD ? b->qhead + BATCH_OPEN_LOOKAHEAD : b->qlen;
    for (size_t k = b->qhead; k < end; k++) {
        const struct batch_item *it = b->queue[k];
        if (it->first || !s_queued_behind(s_limiter_of(it), busy, nbusy)) {
            return k;
        }
    }
    return b->qlen;
}

/* Takes queue[k] out of the queue, keeping the order of the others. */
static struct batch_item *s_dequeue(struct batch *b, size_t k) {
    struct batch_item *it = b->queue[k];
    b->nfront -= k < b->qhead + b->nfront ? 1 : 0;
    memmove(b->queue + b->qhead + 1, b->queue + b->qhead, (k - b->qhead) * sizeof(*b->queue));
    b->qhead++;
    return it;
}

/*
 * Opens queued requests into free slots, skipping (for now) those whose limiter already has an open request
 * waiting for a token (batch.h, Scheduling). Returns how many it opened.
 */
static size_t s_open(struct batch *b, int64_t now) {
    while (b->qhead < b->qlen && stop_requested() && s_stopped()) {
        struct batch_item *it = s_dequeue(b, b->qhead);
        it->started_ms = now;
        s_cancel(b, it, now);
    }
    const void *busy[BATCH_MAX_IN_FLIGHT];
    size_t nbusy = s_busy_limiters(b, busy);
    size_t opened = 0;
    for (size_t i = 0; i < b->opt.max_in_flight && b->qhead < b->qlen; i++) {
        if (b->slots[i] != NULL) {
            continue;
        }
        size_t k = s_next_to_open(b, busy, nbusy);
        if (k == b->qlen) {
            break; /* every request looked at waits behind its limiter */
        }
        struct batch_item *it = s_dequeue(b, k);
        it->state = S_WAITING;
        it->due_ms = now;
        it->started_ms = now;
        it->deadline_ms = b->opt.item_deadline_ms > 0 ? now + b->opt.item_deadline_ms : INT64_MAX;
        it->seq = b->next_seq++;
        b->slots[i] = it;
        b->open++;
        opened++;
        const void *rl = s_limiter_of(it);
        if (rl != NULL && !s_queued_behind(rl, busy, nbusy)) {
            busy[nbusy++] = rl; /* it has not asked yet: the next of its limiter waits for that answer */
        }
    }
    if (b->qhead == b->qlen) {
        b->qhead = b->qlen = b->nfront = 0;
    }
    return opened;
}

/*
 * The one place that decides "start nothing new": the run's deadline (which it turns into the process-wide stop
 * flag) or a stop already requested (a signal, base/stop) - until the cycle's ending begins, whose reports must
 * still go out (stop_begin_ending).
 */
static bool s_stopping(struct batch *b, int64_t now) {
    if (b->opt.run_deadline_ms > 0 && now >= b->opt.run_deadline_ms && !stop_requested()) {
        stop_request(STOP_DEADLINE, 0);
    }
    return stop_refuses_new();
}

/* Stopping: every request not on the wire completes as not done (ERR_CANCELLED, RETRY_STOP_STOPPED). */
static void s_cancel_unsent(struct batch *b, int64_t now) {
    for (size_t i = 0; i < b->opt.max_in_flight; i++) {
        struct batch_item *it = b->slots[i];
        if (it != NULL && it->state == S_WAITING) {
            retry_abandon(it->policy, &it->rs);
            it->res.stop = RETRY_STOP_STOPPED;
            s_finish(b, it, ERR_CANCELLED, now);
        }
    }
    /* complete() may queue more (a next page): those are cancelled as well, in this same loop. */
    while (b->qhead < b->qlen) {
        struct batch_item *it = s_dequeue(b, b->qhead);
        it->started_ms = now;
        it->res.stop = RETRY_STOP_STOPPED;
        b->stats.items++;
        it->ops->complete(it->user, ERR_CANCELLED, &it->resp, &it->res);
        s_item_free(it);
    }
    b->qhead = b->qlen = b->nfront = 0;
}

/*
 * The open requests waiting for an attempt, in opening order (insertion sort: at most BATCH_MAX_IN_FLIGHT), so a
 * limiter's tokens go first to the request that has waited longest (FIFO), not to the lowest slot.
 */
static size_t s_waiting_in_order(const struct batch *b, struct batch_item **out) {
    size_t n = 0;
    for (size_t i = 0; i < b->opt.max_in_flight; i++) {
        struct batch_item *it = b->slots[i];
        if (it == NULL || it->state != S_WAITING) {
            continue;
        }
        size_t k = n++;
        while (k > 0 && out[k - 1]->seq > it->seq) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = it;
    }
    return n;
}

/*
 * One open request's turn: cancelled at a stop, ended at its deadline, or - when due - sent, or made to wait for
 * its limiter's token. False when it is over (finished, and maybe freed).
 */
static bool s_turn(struct batch *b, struct batch_item *it) {
    int64_t now = b->tr->now_ms(b->tr->ctx);
    if (stop_requested() && s_stopped()) {
        s_cancel(b, it, now);
        return false;
    }
    if (now >= it->deadline_ms) {
        retry_abandon(it->policy, &it->rs); /* the retry it was waiting for will not be made */
        it->res.stop = RETRY_STOP_DEADLINE;
        s_finish(b, it, ERR_TIMEOUT, now);
        return false;
    }
    if (it->due_ms > now) {
        return true;
    }
    int64_t wait = retry_before_attempt(it->policy, &it->rs, now);
    it->limited = wait > 0;
    if (wait > 0) {
        b->stats.limiter_waits++;
        it->due_ms = now + wait;
        return true;
    }
    return s_send(b, it, now);
}

/*
 * Starts every waiting request that is due; returns the earliest time a still-waiting one is due. A request
 * that finds an earlier one waiting for the same limiter's token waits behind it (FIFO per limiter).
 */
static int64_t s_start_due(struct batch *b) {
    int64_t next = INT64_MAX;
    struct batch_item *order[BATCH_MAX_IN_FLIGHT];
    const void *waiting[BATCH_MAX_IN_FLIGHT]; /* limiters with a request already waiting for a token */
    size_t nwaiting = 0;
    size_t n = s_waiting_in_order(b, order);
    for (size_t i = 0; i < n; i++) {
        struct batch_item *it = order[i];
        const void *rl = s_limiter_of(it);
        if (it->limited && s_queued_behind(rl, waiting, nwaiting)) {
            continue; /* the earlier request's due time, already in `next`, wakes the loop */
        }
        if (!s_turn(b, it) || it->state != S_WAITING) {
            continue; /* over, or on the wire */
        }
        if (it->limited && rl != NULL) {
            waiting[nwaiting++] = rl;
        }
        int64_t due = it->due_ms < it->deadline_ms ? it->due_ms : it->deadline_ms;
        next = due < next ? due : next;
    }
    return next;
}

/*
 * Opens what may open and starts what is due, again while that opened something and a slot is still free: a
 * request opened for a limiter holds back the next of that limiter until it has asked for its token, so a bucket
 * with tokens to spare fills the slots one round per request.
 */
static int64_t s_open_and_start(struct batch *b) {
    for (;;) {
        size_t opened = s_open(b, b->tr->now_ms(b->tr->ctx));
        int64_t next = s_start_due(b);
        if (opened == 0 || b->open >= b->opt.max_in_flight || b->qhead == b->qlen) {
            return next;
        }
    }
}

/* When the run must wake up at the latest: the next due request, the run's deadline, the tick. */
static int64_t s_wake_at(const struct batch *b, int64_t next) {
    if (b->opt.run_deadline_ms > 0 && b->opt.run_deadline_ms < next && !stop_requested()) {
        next = b->opt.run_deadline_ms; /* wake up at the deadline to stop the waiting requests */
    }
    if (b->tick != NULL && b->tick_next_ms < next) {
        next = b->tick_next_ms;
    }
    return next;
}

enum err batch_run(struct batch *b) {
    ENSURE(!b->running, ERR_INVALID, "batch_run called from a batch callback");
    b->running = true;
    int64_t t0 = b->tr->now_ms(b->tr->ctx);
    struct http_completion done[S_POLL_BATCH];
    for (;;) {
        if (s_stopping(b, b->tr->now_ms(b->tr->ctx))) {
            s_cancel_unsent(b, b->tr->now_ms(b->tr->ctx));
            if (b->on_wire == 0) {
                break;
            }
        }
        (void) s_tick(b, false);
        int64_t next = s_wake_at(b, s_open_and_start(b));
        if (b->open == 0) {
            if (b->qhead == b->qlen && !s_tick(b, true)) {
                break;
            }
            continue; /* requests were finished and more are queued (or were added by complete() or the tick) */
        }
        int64_t now = b->tr->now_ms(b->tr->ctx);
        int64_t wait = next == INT64_MAX ? -1 : (next > now ? next - now : 0);
        if (b->on_wire == 0) {
            if (wait > 0) {
                b->tr->sleep_ms(b->tr->ctx, wait);
            }
            continue;
        }
        size_t n = b->tr->poll(b->tr->ctx, wait, done, S_POLL_BATCH);
        now = b->tr->now_ms(b->tr->ctx);
        for (size_t i = 0; i < n; i++) {
            struct batch_item *it = done[i].user;
            b->on_wire--;
            (void) s_attempt_done(b, it, done[i].result, now);
        }
    }
    b->stats.wall_ms += b->tr->now_ms(b->tr->ctx) - t0;
    b->running = false;
    return ERR_OK;
}

/* batch_run_one: the caller's ops wrapped so the final error can be returned. */
struct s_one {
    const struct batch_ops *ops;
    void *user;
    enum err final;
};

static enum err s_one_prepare(void *user, uint32_t attempt, struct http_request *out) {
    struct s_one *o = user;
    return o->ops->prepare(o->user, attempt, out);
}

static void s_one_classify(void *user, enum err transport, const struct http_response *resp, struct retry_input *in) {
    struct s_one *o = user;
    if (o->ops->classify != NULL) {
        o->ops->classify(o->user, transport, resp, in);
    }
}

static void s_one_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *r) {
    struct s_one *o = user;
    o->final = final;
    o->ops->complete(o->user, final, resp, r);
}

static const struct batch_ops s_one_ops = { s_one_prepare, s_one_classify, s_one_complete };

enum err
batch_run_one(struct http_client *client, struct retry_policy *policy, const struct batch_ops *ops, void *user) {
    struct batch_options opt = { .max_in_flight = 1, .policy = policy };
    struct batch *b = NULL;
    TRY(batch_new(client, &opt, &b));
    struct s_one one = { ops, user, ERR_CANCELLED };
    enum err e = batch_add(b, &s_one_ops, &one, NULL);
    if (e == ERR_OK) {
        e = batch_run(b);
    }
    batch_free(b);
    TRY(e);
    return one.final;
}
