/*
 * test_batch.c - net/batch over a scripted fake transport and a fake clock: no sockets, no sleeping, every
 * time exact. Each job's script says, attempt by attempt, what the "server" answers and after how long.
 *
 * The last tests drive net/http's asynchronous interface itself over loopback sockets that refuse or never
 * answer (no server needed): completion, errors, deadlines, and freeing a client with transfers in flight.
 */
#include "harness.h"

#include "base/stop.h"
#include "base/time.h"
#include "net/batch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_JOBS 64
#define MAX_WIRE 64

struct reply {
    int64_t latency_ms;
    enum err transport; /* ERR_OK: an HTTP response */
    long status;
    const char *code; /* written as the body; the test's classify() reads it back as the AWS code */
};

struct job {
    const struct reply *replies;
    size_t nreplies;
    uint32_t prepared[16]; /* attempt numbers given to prepare() */
    size_t nprepared;
    int64_t timeout_seen[16]; /* req.timeout_ms of each attempt */
    enum err prepare_err;
    int completes;
    enum err final;
    struct batch_item_result res;
    int64_t done_at;
    int chain_left;        /* pagination: complete() adds the next page while > 0 */
    bool stop_on_complete; /* complete() requests a stop, as SIGTERM arriving then would */
    struct batch *b;
    char url[32];
};

struct wire {
    bool used;
    struct http_response *resp;
    void *user;
    int64_t done_at;
    enum err result;
    long status;
    const char *code;
};

static struct {
    int64_t now;
    struct wire wire[MAX_WIRE];
    size_t on_wire, peak;
    struct job jobs[MAX_JOBS];
    size_t njobs;
    int64_t slept_ms;
} s_fake;

static void s_reset(void) {
    memset(&s_fake, 0, sizeof(s_fake));
    s_fake.now = 1000000;
}

static struct job *s_job(const struct reply *replies, size_t n) {
    struct job *j = &s_fake.jobs[s_fake.njobs];
    snprintf(j->url, sizeof(j->url), "fake://job/%zu", s_fake.njobs);
    s_fake.njobs++;
    j->replies = replies;
    j->nreplies = n;
    return j;
}

static enum err s_submit(void *ctx, const struct http_request *req, struct http_response *resp, void *user) {
    (void) ctx;
    size_t id = (size_t) strtoul(req->url + strlen("fake://job/"), NULL, 10);
    struct job *j = &s_fake.jobs[id];
    const struct reply *r = &j->replies[j->nprepared - 1 < j->nreplies ? j->nprepared - 1 : j->nreplies - 1];
    j->timeout_seen[j->nprepared - 1] = req->timeout_ms;
    for (size_t i = 0; i < MAX_WIRE; i++) {
        struct wire *w = &s_fake.wire[i];
        if (!w->used) {
            *w = (struct wire){ true, resp, user, s_fake.now + r->latency_ms, r->transport, r->status, r->code };
            /* The attempt's deadline, as libcurl's CURLOPT_TIMEOUT_MS would enforce it. */
            if (req->timeout_ms > 0 && r->latency_ms >= req->timeout_ms) {
                w->done_at = s_fake.now + req->timeout_ms;
                w->result = ERR_TIMEOUT;
            }
            s_fake.on_wire++;
            s_fake.peak = s_fake.on_wire > s_fake.peak ? s_fake.on_wire : s_fake.peak;
            buf_reset(&resp->body);
            resp->status = 0;
            return ERR_OK;
        }
    }
    return ERR_LIMIT;
}

static size_t s_poll(void *ctx, int64_t timeout_ms, struct http_completion *out, size_t max) {
    (void) ctx;
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < MAX_WIRE; i++) {
        if (s_fake.wire[i].used && s_fake.wire[i].done_at < first) {
            first = s_fake.wire[i].done_at;
        }
    }
    if (first == INT64_MAX) {
        return 0;
    }
    if (timeout_ms >= 0 && first > s_fake.now + timeout_ms) {
        s_fake.now += timeout_ms;
        return 0;
    }
    if (first > s_fake.now) {
        s_fake.now = first;
    }
    size_t n = 0;
    for (size_t i = 0; i < MAX_WIRE && n < max; i++) {
        struct wire *w = &s_fake.wire[i];
        if (w->used && w->done_at <= s_fake.now) {
            w->used = false;
            s_fake.on_wire--;
            if (w->result == ERR_OK) {
                w->resp->status = w->status;
                if (w->code != NULL) {
                    buf_append_cstr(&w->resp->body, w->code);
                }
            }
            out[n++] = (struct http_completion){ w->user, w->resp, w->result };
        }
    }
    return n;
}

static int64_t s_now(void *ctx) {
    (void) ctx;
    return s_fake.now;
}

static void s_sleep(void *ctx, int64_t ms) {
    (void) ctx;
    s_fake.now += ms;
    s_fake.slept_ms += ms;
}

static const struct batch_transport s_transport = { NULL, s_submit, s_poll, s_now, s_sleep };

/* ---- the caller's side ---- */

static enum err s_prepare(void *user, uint32_t attempt, struct http_request *out) {
    struct job *j = user;
    j->prepared[j->nprepared++] = attempt;
    if (j->prepare_err != ERR_OK) {
        return j->prepare_err;
    }
    out->method = "POST";
    out->url = j->url;
    return ERR_OK;
}

static void s_classify(void *user, enum err transport, const struct http_response *resp, struct retry_input *in) {
    (void) user;
    if (transport == ERR_OK && resp->body.len > 0) {
        in->aws_code = buf_span(&resp->body);
    }
}

static const struct batch_ops s_ops;

static void s_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *res) {
    (void) resp;
    struct job *j = user;
    j->completes++;
    j->final = final;
    j->res = *res;
    j->done_at = s_fake.now;
    if (j->stop_on_complete) {
        stop_request(STOP_SIGNAL, 15);
    }
    if (j->chain_left > 0) {
        struct job *next = s_job(j->replies, j->nreplies);
        next->chain_left = j->chain_left - 1;
        next->b = j->b;
        if (batch_add(j->b, &s_ops, next, NULL) != ERR_OK) {
            j->final = ERR_INVALID;
        }
    }
}

static const struct batch_ops s_ops = { s_prepare, s_classify, s_complete };

static double s_jitter_value = 0.5;
static double s_jitter(void *ctx) {
    (void) ctx;
    return s_jitter_value;
}

static void s_policy(struct retry_policy *p, enum retry_mode mode, uint32_t max_attempts) {
    struct retry_config cfg = { .mode = mode, .max_attempts = max_attempts, .jitter = s_jitter };
    retry_policy_init(p, &cfg, s_fake.now);
}

static struct batch *s_batch(struct retry_policy *p, size_t in_flight, int64_t item_deadline_ms) {
    struct batch_options opt = {
        .max_in_flight = in_flight, .policy = p, .item_deadline_ms = item_deadline_ms, .transport = &s_transport
    };
    struct batch *b = NULL;
    if (batch_new(NULL, &opt, &b) != ERR_OK) {
        return NULL;
    }
    return b;
}

static const struct reply s_ok[] = { { 100, ERR_OK, 200, NULL } };

/* ---- tests ---- */

TEST(batch_all_succeed_with_bounded_concurrency) {
    s_reset();
    s_jitter_value = 0.5;
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 4, 0);
    REQUIRE(b != NULL);
    for (int i = 0; i < 10; i++) {
        REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    }
    REQUIRE_OK(batch_run(b));
    const struct batch_stats *st = batch_stats(b);
    CHECK_INT(st->items, 10);
    CHECK_INT(st->succeeded, 10);
    CHECK_INT(st->attempts, 10);
    CHECK_INT(st->retries, 0);
    CHECK_INT(st->peak_in_flight, 4);
    CHECK_INT(s_fake.peak, 4);
    CHECK_INT(st->wall_ms, 300); /* 10 requests of 100 ms, 4 at a time: 3 rounds */
    for (size_t i = 0; i < 10; i++) {
        CHECK_INT(s_fake.jobs[i].completes, 1);
        CHECK_INT(s_fake.jobs[i].final, ERR_OK);
        CHECK_INT(s_fake.jobs[i].res.attempts, 1);
        CHECK_INT(s_fake.jobs[i].res.stop, RETRY_STOP_SUCCESS);
    }
    CHECK_INT(p.quota, 500);
    batch_free(b);
}

static const struct reply s_throttled_then_ok[] = { { 10, ERR_OK, 503, "SlowDown" }, { 10, ERR_OK, 200, NULL } };

TEST(batch_stop_starts_nothing_new_and_lets_in_flight_finish) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.5;
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 3, 0);
    REQUIRE(b != NULL);
    static const struct reply fast[] = { { 100, ERR_OK, 200, NULL } }, slow[] = { { 300, ERR_OK, 200, NULL } };
    struct job *first = s_job(fast, 1), *in_flight = s_job(slow, 1), *retrying = s_job(s_throttled_then_ok, 2);
    first->stop_on_complete = true;
    REQUIRE_OK(batch_add(b, &s_ops, first, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, in_flight, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, retrying, NULL));
    for (int i = 0; i < 5; i++) {
        REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    }
    REQUIRE_OK(batch_run(b));
    CHECK_INT(first->final, ERR_OK);
    CHECK_INT(in_flight->final, ERR_OK);       /* on the wire at the stop: allowed to finish within the drain bound */
    CHECK_INT(retrying->final, ERR_CANCELLED); /* waiting for its retry at the stop: not retried */
    CHECK_INT(retrying->nprepared, 1);
    for (size_t i = 3; i < 8; i++) {
        CHECK_INT(s_fake.jobs[i].completes, 1);
        CHECK_INT(s_fake.jobs[i].final, ERR_CANCELLED);
        CHECK_INT(s_fake.jobs[i].nprepared, 0); /* queued at the stop: never sent */
    }
    CHECK_INT(p.quota, 500); /* the abandoned retry's cost is given back */
    /* In the ending (reports), requests run again. */
    stop_begin_ending();
    REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(s_fake.jobs[8].final, ERR_OK);
    stop_reset();
    batch_free(b);
}

TEST(stop_bounds_follow_the_configuration) {
    stop_reset();
    stop_configure(10000, 4000);
    CHECK(!stop_requested() && !stop_refuses_new() && !stop_cancels_in_flight(0));
    stop_request(STOP_DEADLINE, 0);
    stop_request(STOP_SIGNAL, 15); /* the first reason wins */
    CHECK_INT(stop_reason(), STOP_DEADLINE);
    CHECK(stop_refuses_new());
    int64_t now = time_mono_ms();
    CHECK(!stop_cancels_in_flight(now + 3000));
    CHECK(stop_cancels_in_flight(now + 4000));
    stop_begin_ending();
    CHECK(!stop_refuses_new());
    CHECK(!stop_cancels_in_flight(now + 9000));
    CHECK(stop_cancels_in_flight(now + 10000));
    stop_configure(0, 0);
    stop_reset();
}

TEST(batch_throttled_then_success_within_max_attempts) {
    s_reset();
    s_jitter_value = 0.5;
    static const struct reply r[] = {
        { 10, ERR_OK, 400, "Throttling" },
        { 10, ERR_OK, 503, "SlowDown" },
        { 10, ERR_OK, 200, NULL },
    };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 1, 0);
    struct job *j = s_job(r, COUNT(r));
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_OK);
    CHECK_INT(j->res.attempts, 3);
    CHECK_INT(j->res.retries, 2);
    CHECK_INT(j->nprepared, 3);
    CHECK_INT(j->prepared[0], 1);
    CHECK_INT(j->prepared[1], 2);
    CHECK_INT(j->prepared[2], 3);
    /* 10 + 250 (0.5 × 500) + 10 + 500 (0.5 × 1000) + 10 */
    CHECK_INT(j->res.wall_ms, 780);
    CHECK_INT(batch_stats(b)->throttles, 2);
    CHECK_INT(s_fake.slept_ms, 750); /* nothing else on the wire: the loop slept through the backoff */
    CHECK_INT(p.quota, 495);         /* 2 × 5 taken, the last 5 given back */
    batch_free(b);
}

TEST(batch_backoff_does_not_block_other_requests) {
    s_reset();
    s_jitter_value = 0.8;
    static const struct reply slow[] = { { 10, ERR_OK, 400, "ThrottlingException" }, { 10, ERR_OK, 200, NULL } };
    static const struct reply fast[] = { { 50, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 2, 0);
    struct job *a = s_job(slow, COUNT(slow));
    REQUIRE_OK(batch_add(b, &s_ops, a, NULL));
    struct job *others[5];
    for (size_t i = 0; i < COUNT(others); i++) {
        others[i] = s_job(fast, COUNT(fast));
        REQUIRE_OK(batch_add(b, &s_ops, others[i], NULL));
    }
    int64_t t0 = s_fake.now;
    REQUIRE_OK(batch_run(b));
    /* a: 10 ms, then waits 400 ms (0.8 × 500); meanwhile the other slot runs the five 50 ms requests. */
    CHECK_INT(a->done_at - t0, 420);
    for (size_t i = 0; i < COUNT(others); i++) {
        CHECK_INT(others[i]->done_at - t0, 50 * (int64_t) (i + 1));
    }
    CHECK_INT(s_fake.slept_ms, 410 - 250); /* only once the others are done does the loop sleep */
    CHECK_INT(batch_stats(b)->wall_ms, 420);
    batch_free(b);
}

TEST(batch_not_retryable_is_one_attempt) {
    s_reset();
    static const struct reply denied[] = { { 10, ERR_OK, 403, "AccessDenied" } };
    static const struct reply invalid[] = { { 10, ERR_OK, 400, "ValidationError" } };
    static const struct reply plain404[] = { { 10, ERR_OK, 404, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 3, 0);
    struct job *j1 = s_job(denied, 1), *j2 = s_job(invalid, 1), *j3 = s_job(plain404, 1);
    REQUIRE_OK(batch_add(b, &s_ops, j1, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, j2, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, j3, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j1->final, ERR_AWS);
    CHECK_STR(j1->res.aws_code, "AccessDenied");
    CHECK_INT(j1->res.attempts, 1);
    CHECK_INT(j1->res.stop, RETRY_STOP_NOT_RETRYABLE);
    CHECK_INT(j2->final, ERR_AWS);
    CHECK_INT(j2->res.attempts, 1);
    CHECK_INT(j3->final, ERR_HTTP);
    CHECK_INT(j3->res.status, 404);
    CHECK_INT(j3->res.attempts, 1);
    CHECK_INT(batch_stats(b)->attempts, 3);
    batch_free(b);
}

TEST(batch_max_attempts_then_last_error) {
    s_reset();
    s_jitter_value = 0.5;
    static const struct reply r[] = { { 10, ERR_OK, 503, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 1, 0);
    struct job *j = s_job(r, 1);
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_HTTP);
    CHECK_INT(j->res.attempts, 3);
    CHECK_INT(j->res.stop, RETRY_STOP_MAX_ATTEMPTS);
    CHECK_INT(j->res.last_class, RETRY_CLASS_TRANSIENT);
    CHECK_INT(j->res.wall_ms, 10 + 50 + 10 + 100 + 10);
    CHECK_INT(p.counters.max_attempts, 1);
    batch_free(b);
}

TEST(batch_transport_errors_retried_and_reported) {
    s_reset();
    s_jitter_value = 0.5;
    static const struct reply reset[] = { { 5, ERR_NET, 0, NULL }, { 5, ERR_NET, 0, NULL }, { 5, ERR_NET, 0, NULL } };
    static const struct reply tls[] = { { 5, ERR_TLS, 0, NULL }, { 5, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 2, 0);
    struct job *j1 = s_job(reset, COUNT(reset)), *j2 = s_job(tls, COUNT(tls));
    REQUIRE_OK(batch_add(b, &s_ops, j1, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, j2, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j1->final, ERR_NET);
    CHECK_INT(j1->res.attempts, 3);
    CHECK_INT(j1->res.transport, ERR_NET);
    CHECK_INT(j1->res.status, 0);
    CHECK_INT(j2->final, ERR_OK);
    CHECK_INT(j2->res.attempts, 2);
    batch_free(b);
}

TEST(batch_attempt_timeout_is_timeout_class_and_costs_ten) {
    s_reset();
    s_jitter_value = 0.5;
    static const struct reply r[] = { { 5000, ERR_OK, 200, NULL }, { 10, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch_options opt = {
        .max_in_flight = 1, .policy = &p, .attempt_timeout_ms = 1000, .transport = &s_transport
    };
    struct batch *b = NULL;
    REQUIRE_OK(batch_new(NULL, &opt, &b));
    struct job *j = s_job(r, COUNT(r));
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->timeout_seen[0], 1000);
    CHECK_INT(j->final, ERR_OK);
    CHECK_INT(j->res.attempts, 2);
    CHECK_INT(p.counters.timeouts, 1);
    CHECK_INT(p.quota, 500); /* 10 taken, 10 given back on success */
    CHECK_INT(j->res.wall_ms, 1000 + 50 + 10);
    batch_free(b);
}

TEST(batch_item_deadline_cuts_attempt_and_stops_retries) {
    s_reset();
    s_jitter_value = 0.9;
    static const struct reply r[] = { { 300, ERR_OK, 400, "Throttling" }, { 10000, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 5);
    struct batch *b = s_batch(&p, 1, 1000);
    struct job *j = s_job(r, COUNT(r));
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    /* attempt 1: 300 ms, throttled; waits 450 ms; attempt 2 gets the 250 ms left and times out. */
    CHECK_INT(j->timeout_seen[0], 1000);
    CHECK_INT(j->timeout_seen[1], 250);
    CHECK_INT(j->final, ERR_TIMEOUT);
    CHECK_INT(j->res.stop, RETRY_STOP_DEADLINE);
    CHECK_INT(j->res.attempts, 2);
    CHECK_INT(j->res.wall_ms, 1000);
    CHECK_INT(p.quota, 495); /* the first retry was made (5); the abandoned second one (10) came back */
    batch_free(b);
}

TEST(batch_deadline_stops_long_backoff_early) {
    s_reset();
    s_jitter_value = 0.99;
    static const struct reply r[] = { { 10, ERR_OK, 503, "SlowDown" } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 1, 200);
    struct job *j = s_job(r, 1);
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_TIMEOUT);
    CHECK_INT(j->res.attempts, 1);
    CHECK_INT(j->res.last_class, RETRY_CLASS_THROTTLING);
    CHECK_STR(j->res.aws_code, "SlowDown");
    CHECK_INT(j->res.wall_ms, 10); /* gives up at once instead of waiting 495 ms past the deadline */
    CHECK_INT(p.quota, 500);
    batch_free(b);
}

TEST(batch_prepare_failure_ends_request) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 2, 0);
    struct job *bad = s_job(s_ok, 1), *good = s_job(s_ok, 1);
    bad->prepare_err = ERR_CREDS;
    REQUIRE_OK(batch_add(b, &s_ops, bad, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, good, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(bad->final, ERR_CREDS);
    CHECK_INT(bad->completes, 1);
    CHECK_INT(good->final, ERR_OK);
    CHECK_INT(batch_stats(b)->attempts, 1);
    batch_free(b);
}

TEST(batch_complete_may_add_pages) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 2, 0);
    struct job *first = s_job(s_ok, 1);
    first->chain_left = 4;
    first->b = b;
    REQUIRE_OK(batch_add(b, &s_ops, first, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(s_fake.njobs, 5);
    for (size_t i = 0; i < s_fake.njobs; i++) {
        CHECK_INT(s_fake.jobs[i].completes, 1);
        CHECK_INT(s_fake.jobs[i].final, ERR_OK);
    }
    CHECK_INT(batch_stats(b)->items, 5);
    CHECK_INT(batch_stats(b)->wall_ms, 500);
    batch_free(b);
}

TEST(batch_add_next_opens_before_the_queued_requests) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 1, 0);
    for (int i = 0; i < 3; i++) {
        REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    }
    struct job *urgent = s_job(s_ok, 1);
    REQUIRE_OK(batch_add_next(b, &s_ops, urgent, NULL, NULL));
    int64_t t0 = s_fake.now;
    REQUIRE_OK(batch_run(b));
    CHECK_INT(urgent->done_at - t0, 100); /* one slot: it went first */
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(s_fake.jobs[i].done_at - t0, 200 + 100 * (int64_t) i); /* the others keep their order */
    }
    batch_free(b);
}

TEST(batch_adaptive_limiter_spaces_attempts_after_throttling) {
    s_reset();
    s_jitter_value = 0.0; /* no backoff: only the limiter can make anything wait */
    static const struct reply thr[] = { { 10, ERR_OK, 400, "Throttling" }, { 10, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_ADAPTIVE, 3);
    struct batch *b = s_batch(&p, 8, 0);
    REQUIRE_OK(batch_add(b, &s_ops, s_job(thr, COUNT(thr)), NULL));
    for (int i = 0; i < 20; i++) {
        REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    }
    REQUIRE_OK(batch_run(b));
    CHECK(p.limiter.enabled);
    CHECK(batch_stats(b)->limiter_waits > 0);
    CHECK_INT(batch_stats(b)->limiter_waits, p.counters.limiter_waits);
    CHECK_INT(batch_stats(b)->succeeded, 21);
    /* The bucket holds at most max(1, rate) tokens and refills at >= 0.5/s: 20 requests after the throttle
     * cannot all go at once. */
    CHECK(batch_stats(b)->wall_ms > 1000);
    batch_free(b);
}

TEST(batch_standard_mode_never_limits) {
    s_reset();
    s_jitter_value = 0.0;
    static const struct reply thr[] = { { 10, ERR_OK, 400, "Throttling" }, { 10, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 8, 0);
    REQUIRE_OK(batch_add(b, &s_ops, s_job(thr, COUNT(thr)), NULL));
    for (int i = 0; i < 20; i++) {
        REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    }
    REQUIRE_OK(batch_run(b));
    CHECK_INT(batch_stats(b)->limiter_waits, 0);
    CHECK_INT(batch_stats(b)->wall_ms, 300);
    batch_free(b);
}

TEST(batch_per_item_policy) {
    s_reset();
    s_jitter_value = 0.5;
    static const struct reply r[] = { { 10, ERR_OK, 500, NULL } };
    struct retry_policy p3, p1;
    s_policy(&p3, RETRY_MODE_STANDARD, 3);
    s_policy(&p1, RETRY_MODE_STANDARD, 1);
    struct batch *b = s_batch(&p3, 2, 0);
    struct job *a = s_job(r, 1), *c = s_job(r, 1);
    REQUIRE_OK(batch_add(b, &s_ops, a, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, c, &p1));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(a->res.attempts, 3);
    CHECK_INT(c->res.attempts, 1);
    CHECK_INT(p3.counters.attempts, 3);
    CHECK_INT(p1.counters.attempts, 1);
    batch_free(b);
}

/* ---- pacing, throttling until the deadline, stopping ---- */

static void s_policy_until_deadline(struct retry_policy *p, uint32_t max_attempts) {
    struct retry_config cfg = {
        .mode = RETRY_MODE_STANDARD, .max_attempts = max_attempts, .jitter = s_jitter, .throttle_until_deadline = true
    };
    retry_policy_init(p, &cfg, s_fake.now);
}

static struct batch *s_batch_run_deadline(struct retry_policy *p, size_t in_flight, int64_t run_deadline_ms) {
    struct batch_options opt = {
        .max_in_flight = in_flight, .policy = p, .run_deadline_ms = run_deadline_ms, .transport = &s_transport
    };
    struct batch *b = NULL;
    return batch_new(NULL, &opt, &b) == ERR_OK ? b : NULL;
}

TEST(batch_throttled_ten_times_still_succeeds_before_the_deadline) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.1;
    static const struct reply r[] = {
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 503, "RequestLimitExceeded" },
        { 10, ERR_OK, 200, NULL },
    };
    struct retry_policy p;
    s_policy_until_deadline(&p, 3);
    struct batch *b = s_batch_run_deadline(&p, 1, s_fake.now + 3600 * 1000);
    REQUIRE(b != NULL);
    struct job *j = s_job(r, COUNT(r));
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_OK);
    CHECK_INT(j->res.attempts, 11);          /* AWS_MAX_ATTEMPTS=3 does not end a throttled call */
    CHECK_INT(p.quota, RETRY_QUOTA_INITIAL); /* and throttling takes nothing from the quota */
    CHECK_INT(batch_stats(b)->throttles, 10);
    CHECK(!stop_requested());
    batch_free(b);
}

TEST(batch_transient_errors_still_end_at_max_attempts_with_the_deadline_rule) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.1;
    static const struct reply r[] = { { 10, ERR_OK, 500, "InternalError" } };
    struct retry_policy p;
    s_policy_until_deadline(&p, 3);
    struct batch *b = s_batch_run_deadline(&p, 1, s_fake.now + 3600 * 1000);
    struct job *j = s_job(r, 1);
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_AWS);
    CHECK_INT(j->res.attempts, 3);
    CHECK_INT(j->res.stop, RETRY_STOP_MAX_ATTEMPTS);
    batch_free(b);
}

TEST(batch_run_deadline_stops_throttled_and_queued_requests_as_not_done) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.9;
    static const struct reply thr[] = { { 10, ERR_OK, 503, "RequestLimitExceeded" } }; /* forever */
    static const struct reply slow[] = { { 3000, ERR_OK, 200, NULL } };
    struct retry_policy p;
    s_policy_until_deadline(&p, 3);
    int64_t t0 = s_fake.now;
    struct batch *b = s_batch_run_deadline(&p, 2, t0 + 2000);
    struct job *a = s_job(thr, 1);
    struct job *c = s_job(slow, 1); /* on the wire when the deadline passes: finishes normally */
    struct job *q[3];
    REQUIRE_OK(batch_add(b, &s_ops, a, NULL));
    REQUIRE_OK(batch_add(b, &s_ops, c, NULL));
    for (size_t i = 0; i < COUNT(q); i++) {
        q[i] = s_job(s_ok, 1);
        REQUIRE_OK(batch_add(b, &s_ops, q[i], NULL));
    }
    REQUIRE_OK(batch_run(b));
    CHECK(stop_requested());
    CHECK_INT(stop_reason(), STOP_DEADLINE);
    CHECK_INT(a->completes, 1);
    CHECK_INT(a->final, ERR_CANCELLED);
    CHECK_INT(a->res.stop, RETRY_STOP_STOPPED);
    CHECK(a->res.attempts >= 2);
    CHECK_INT(c->final, ERR_OK);
    CHECK_INT(c->done_at - t0, 3000);
    for (size_t i = 0; i < COUNT(q); i++) {
        CHECK_INT(q[i]->completes, 1);
        CHECK_INT(q[i]->final, ERR_CANCELLED);
        CHECK_INT(q[i]->nprepared, 0); /* never sent */
        CHECK_INT(q[i]->res.stop, RETRY_STOP_STOPPED);
    }
    CHECK_INT(batch_stats(b)->items, 5);
    batch_free(b);
    stop_reset();
}

TEST(batch_stop_by_signal_starts_nothing_but_the_ending_runs) {
    s_reset();
    stop_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    stop_request(STOP_SIGNAL, 15);
    struct batch *b = s_batch(&p, 2, 0);
    struct job *j = s_job(s_ok, 1);
    REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(j->final, ERR_CANCELLED);
    CHECK_INT(j->nprepared, 0);
    batch_free(b);
    stop_begin_ending(); /* the cycle's reports: base/stop lets them through */
    b = s_batch(&p, 2, 0);
    struct job *k = s_job(s_ok, 1);
    REQUIRE_OK(batch_add(b, &s_ops, k, NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(k->final, ERR_OK); /* the report of a stopped run still goes out */
    batch_free(b);
    stop_reset();
}

TEST(batch_paced_limiter_bursts_the_bucket_then_goes_at_the_refill_rate) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.0;
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct ratelimit rl;
    ratelimit_init_paced(&rl, 10, 5, (double) s_fake.now / 1000.0); /* bucket 10, refill 5/s */
    static const struct reply fast[] = { { 1, ERR_OK, 200, NULL } };
    struct batch *b = s_batch(&p, 16, 0);
    int64_t t0 = s_fake.now;
    struct job *jobs[30];
    for (size_t i = 0; i < COUNT(jobs); i++) {
        jobs[i] = s_job(fast, 1);
        REQUIRE_OK(batch_add_paced(b, &s_ops, jobs[i], NULL, &rl));
    }
    REQUIRE_OK(batch_run(b));
    CHECK_INT(batch_stats(b)->succeeded, 30);
    /* 10 at once, then 20 more at 5/s: the last one goes about 4 s after the start (the floor). */
    CHECK(jobs[9]->done_at - t0 <= 10);
    int64_t last = jobs[29]->done_at - t0;
    CHECK(last >= 3990 && last <= 4100);
    for (size_t i = 1; i < COUNT(jobs); i++) {
        CHECK(jobs[i]->done_at >= jobs[i - 1]->done_at); /* tokens go in opening order (FIFO) */
    }
    CHECK(batch_stats(b)->limiter_waits > 0);
    batch_free(b);
}

/*
 * Two slow buckets, A's requests queued before B's, and a few requests without a limiter after both: the slots
 * must not all wait on A's bucket while B's sits idle. B's requests are sent while A's wait, each bucket keeps
 * its own order, and the whole batch takes about the longer bucket's floor, not the sum of the two.
 */
TEST(batch_a_slow_limiter_does_not_hold_the_slots_of_another) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.0;
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct ratelimit ra, rb;
    ratelimit_init_paced(&ra, 1, 5, (double) s_fake.now / 1000.0);  /* 20 requests: floor 19 / 5 = 3.8 s */
    ratelimit_init_paced(&rb, 1, 10, (double) s_fake.now / 1000.0); /* 20 requests: floor 19 / 10 = 1.9 s */
    static const struct reply fast[] = { { 1, ERR_OK, 200, NULL } };
    struct batch *b = s_batch(&p, 4, 0);
    struct job *a[20], *bj[20], *free_[4];
    for (size_t i = 0; i < COUNT(a); i++) {
        REQUIRE_OK(batch_add_paced(b, &s_ops, a[i] = s_job(fast, 1), NULL, &ra));
    }
    for (size_t i = 0; i < COUNT(bj); i++) {
        REQUIRE_OK(batch_add_paced(b, &s_ops, bj[i] = s_job(fast, 1), NULL, &rb));
    }
    for (size_t i = 0; i < COUNT(free_); i++) {
        REQUIRE_OK(batch_add(b, &s_ops, free_[i] = s_job(fast, 1), NULL));
    }
    int64_t t0 = s_fake.now;
    REQUIRE_OK(batch_run(b));
    CHECK_INT(batch_stats(b)->succeeded, 44);
    CHECK(bj[0]->done_at - t0 <= 10);    /* B's bucket starts at once, not after A's 20 */
    CHECK(free_[3]->done_at - t0 <= 10); /* requests without a limiter are never held back */
    int64_t b_last = bj[19]->done_at - t0, a_last = a[19]->done_at - t0;
    CHECK(b_last >= 1890 && b_last <= 2000); /* B at its own floor, while A's requests wait */
    CHECK(a_last >= 3790 && a_last <= 3900); /* the whole batch: the longer floor, not the sum (5.7 s) */
    CHECK(b_last < a[10]->done_at - t0);
    for (size_t i = 1; i < COUNT(a); i++) {
        CHECK(a[i]->done_at > a[i - 1]->done_at); /* FIFO within each limiter */
        CHECK(bj[i]->done_at > bj[i - 1]->done_at);
    }
    CHECK_INT(batch_stats(b)->wall_ms, a_last);
    batch_free(b);
}

/* A producer's tick: joins one job per call (batch_add_front, on its limiter) until `left` runs out. */
struct s_feeder {
    struct batch *b;
    struct ratelimit *rl;
    int calls;
    int left;
    int64_t at[32]; /* when each call came */
    struct job *added[32];
    int nadded;
};

static void s_feed(void *ctx) {
    struct s_feeder *f = ctx;
    static const struct reply fast[] = { { 1, ERR_OK, 200, NULL } };
    if (f->calls < 32) {
        f->at[f->calls] = s_fake.now;
    }
    f->calls++;
    if (f->left > 0 && f->nadded < 32) {
        f->left--;
        struct job *j = s_job(fast, 1);
        f->added[f->nadded++] = j;
        if (batch_add_front(f->b, &s_ops, j, NULL, f->rl) != ERR_OK) {
            j->final = ERR_INVALID;
        }
    }
}

TEST(batch_tick_runs_on_time_while_requests_wait_and_keeps_the_run_going_while_it_adds) {
    s_reset();
    stop_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 4, 0);
    static const struct reply slow[] = { { 5000, ERR_OK, 200, NULL } };
    struct job *long_one = s_job(slow, 1);
    REQUIRE_OK(batch_add(b, &s_ops, long_one, NULL));
    struct s_feeder f = { .b = b, .left = 0 };
    batch_set_tick(b, s_feed, &f, 1000);
    int64_t t0 = s_fake.now;
    REQUIRE_OK(batch_run(b));
    CHECK_INT(long_one->done_at - t0, 5000);
    /* at the first turn, then every second while the only request is on the wire, then once at the end */
    CHECK(f.calls >= 6 && f.calls <= 7);
    CHECK_INT(f.at[0] - t0, 0);
    for (int i = 1; i < 5; i++) {
        CHECK_INT(f.at[i] - f.at[i - 1], 1000);
    }
    batch_free(b);

    /* A tick that keeps adding keeps the run going after everything queued is done: one job per forced call. */
    s_reset();
    b = s_batch(&p, 4, 0);
    struct s_feeder g = { .b = b, .left = 5 };
    batch_set_tick(b, s_feed, &g, 1000000); /* only the first turn and the "nothing left" calls */
    REQUIRE_OK(batch_run(b));               /* nothing queued at all: the tick alone feeds it */
    CHECK_INT(g.nadded, 5);
    for (int i = 0; i < g.nadded; i++) {
        CHECK_INT(g.added[i]->completes, 1);
        CHECK_INT(g.added[i]->final, ERR_OK);
    }
    CHECK_INT(g.calls, 6); /* the sixth call added nothing: the run ended */
    CHECK_INT(batch_stats(b)->items, 5);
    batch_free(b);

    /* Once a stop refuses new work the tick is not called. */
    s_reset();
    b = s_batch(&p, 4, 0);
    struct s_feeder h = { .b = b, .left = 5 };
    batch_set_tick(b, s_feed, &h, 1);
    stop_request(STOP_SIGNAL, 15);
    REQUIRE_OK(batch_run(b));
    CHECK_INT(h.calls, 0);
    stop_reset();
    batch_free(b);
}

TEST(batch_add_front_goes_before_the_queue_keeps_its_order_and_never_holds_a_slot_waiting) {
    s_reset();
    stop_reset();
    s_jitter_value = 0.0;
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct ratelimit slow_rl;
    ratelimit_init_paced(&slow_rl, 1, 1, (double) s_fake.now / 1000.0); /* 1 token, then 1 per second */
    static const struct reply fast[] = { { 1, ERR_OK, 200, NULL } };
    struct batch *b = s_batch(&p, 2, 0);
    struct job *queued[10], *front[4];
    for (size_t i = 0; i < COUNT(queued); i++) {
        REQUIRE_OK(batch_add(b, &s_ops, queued[i] = s_job(fast, 1), NULL)); /* no limiter */
    }
    struct job *next = s_job(fast, 1);
    REQUIRE_OK(batch_add_next(b, &s_ops, next, NULL, NULL));
    for (size_t i = 0; i < COUNT(front); i++) {
        REQUIRE_OK(batch_add_front(b, &s_ops, front[i] = s_job(fast, 1), NULL, &slow_rl));
    }
    int64_t t0 = s_fake.now;
    REQUIRE_OK(batch_run(b));
    CHECK(next->done_at - t0 <= 1);     /* batch_add_next still goes first */
    CHECK(front[0]->done_at - t0 <= 2); /* then the front, before the queue... */
    for (size_t i = 1; i < COUNT(front); i++) {
        CHECK(front[i]->done_at > front[i - 1]->done_at); /* ...in the order added, at its limiter's rate */
        CHECK(front[i]->done_at - t0 >= 1000 * (int64_t) i);
    }
    /* Two slots, a front request always waiting for a token: the queue still ran through the other slot,
     * in order, long before the limiter's last token (3 s). */
    for (size_t i = 1; i < COUNT(queued); i++) {
        CHECK(queued[i]->done_at >= queued[i - 1]->done_at);
    }
    CHECK(queued[9]->done_at - t0 < 100);
    CHECK_INT(batch_stats(b)->succeeded, 15);
    batch_free(b);
}

TEST(batch_options_validated) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = NULL;
    struct batch_options opt = { .max_in_flight = BATCH_MAX_IN_FLIGHT + 1, .policy = &p, .transport = &s_transport };
    CHECK_INT(batch_new(NULL, &opt, &b), ERR_LIMIT);
    opt.max_in_flight = 1;
    opt.policy = NULL;
    CHECK_INT(batch_new(NULL, &opt, &b), ERR_INVALID);
    opt.policy = &p;
    opt.transport = NULL;
    CHECK_INT(batch_new(NULL, &opt, &b), ERR_INVALID);
    opt.transport = &s_transport;
    REQUIRE_OK(batch_new(NULL, &opt, &b));
    struct batch_ops no_complete = { s_prepare, NULL, NULL };
    CHECK_INT(batch_add(b, &no_complete, NULL, NULL), ERR_INVALID);
    REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    batch_free(b); /* a queued request never run is dropped without leaking */
}

TEST(batch_empty_run_and_rerun) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 2, 0);
    REQUIRE_OK(batch_run(b));
    CHECK_INT(batch_stats(b)->items, 0);
    REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    REQUIRE_OK(batch_run(b));
    REQUIRE_OK(batch_add(b, &s_ops, s_job(s_ok, 1), NULL));
    REQUIRE_OK(batch_run(b));
    CHECK_INT(batch_stats(b)->items, 2);
    CHECK_INT(batch_stats(b)->wall_ms, 200);
    batch_free(b);
}

TEST(batch_many_items_queue_compaction) {
    s_reset();
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct batch *b = s_batch(&p, 8, 0);
    static const struct reply fast[] = { { 1, ERR_OK, 200, NULL } };
    /* A chain that keeps adding while the queue is being consumed exercises the move-to-front path. */
    for (int i = 0; i < 40; i++) {
        struct job *j = s_job(fast, 1);
        j->b = b;
        j->chain_left = i < 20 ? 1 : 0;
        REQUIRE_OK(batch_add(b, &s_ops, j, NULL));
    }
    REQUIRE_OK(batch_run(b));
    CHECK_INT(s_fake.njobs, 60);
    CHECK_INT(batch_stats(b)->items, 60);
    CHECK_INT(batch_stats(b)->succeeded, 60);
    batch_free(b);
}

/* ---- the same over the real http client (loopback only, no server needed) ---- */

/* A loopback TCP port: listening (connections are accepted by the kernel but never answered) or not. */
static int s_loopback(bool listening, char *url, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *) &a, &len)) {
        return -1;
    }
    if (listening && listen(fd, 8) != 0) {
        return -1;
    }
    snprintf(url, cap, "http://127.0.0.1:%u/", (unsigned) ntohs(a.sin_port));
    return fd;
}

static struct http_client *s_client(void) {
    struct http_client_options opt = { .timeout_ms = 5000 };
    struct http_client *c = NULL;
    return http_client_new(&opt, &c) == ERR_OK ? c : NULL;
}

TEST(http_poll_without_transfers_returns_at_once) {
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    struct http_completion done[4];
    CHECK_INT(http_poll(c, -1, done, 4), 0);
    CHECK_INT(http_in_flight(c), 0);
    http_client_free(c);
}

TEST(http_submit_refused_port_completes_with_net_error) {
    char url[64];
    int fd = s_loopback(false, url, sizeof(url));
    REQUIRE(fd >= 0);
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    struct http_response resp;
    http_response_init(&resp);
    struct http_request req = { .method = "GET", .url = url };
    int marker = 0;
    REQUIRE_OK(http_submit(c, &req, &resp, &marker));
    CHECK_INT(http_in_flight(c), 1);
    struct http_completion done[4];
    size_t n = http_poll(c, -1, done, 4);
    REQUIRE(n == 1);
    CHECK(done[0].user == &marker);
    CHECK(done[0].resp == &resp);
    CHECK_INT(done[0].result, ERR_NET);
    CHECK_INT(resp.status, 0);
    CHECK(resp.error[0] != '\0');
    CHECK_INT(http_in_flight(c), 0);
    CHECK_INT(http_client_stats(c)->requests, 1);
    http_response_free(&resp);
    http_client_free(c);
    close(fd);
}

TEST(http_submit_rejects_too_many_headers) {
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    static struct http_header many[HTTP_MAX_REQUEST_HEADERS + 1];
    for (size_t i = 0; i < COUNT(many); i++) {
        many[i] = (struct http_header){ "X-A", "b" };
    }
    struct http_request req = {
        .method = "GET", .url = "http://127.0.0.1:9/", .headers = many, .nheaders = COUNT(many)
    };
    struct http_response resp;
    http_response_init(&resp);
    CHECK_INT(http_submit(c, &req, &resp, NULL), ERR_LIMIT);
    CHECK_INT(http_in_flight(c), 0);
    http_response_free(&resp);
    http_client_free(c);
}

TEST(http_perform_keeps_other_completions_for_poll) {
    char silent[64], refused[64];
    int lfd = s_loopback(true, silent, sizeof(silent));
    int rfd = s_loopback(false, refused, sizeof(refused));
    REQUIRE(lfd >= 0 && rfd >= 0);
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    struct http_response a, b;
    http_response_init(&a);
    http_response_init(&b);
    struct http_request slow = { .method = "GET", .url = silent, .timeout_ms = 300 };
    REQUIRE_OK(http_submit(c, &slow, &a, &a));
    struct http_request now = { .method = "GET", .url = refused };
    CHECK_INT(http_perform(c, &now, &b), ERR_NET);
    CHECK_INT(http_in_flight(c), 1); /* the submitted one is still there, not lost by http_perform */
    struct http_completion done[4];
    size_t n = http_poll(c, -1, done, 4);
    REQUIRE(n == 1);
    CHECK(done[0].user == &a);
    CHECK_INT(done[0].result, ERR_TIMEOUT); /* the server accepted and never answered: the deadline ended it */
    http_response_free(&a);
    http_response_free(&b);
    http_client_free(c);
    close(lfd);
    close(rfd);
}

TEST(http_client_free_abandons_transfers_in_flight) {
    char silent[64];
    int lfd = s_loopback(true, silent, sizeof(silent));
    REQUIRE(lfd >= 0);
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    struct http_response r[3];
    struct http_request req = { .method = "POST", .url = silent, .body = SPAN_LIT("x=1") };
    for (size_t i = 0; i < COUNT(r); i++) {
        http_response_init(&r[i]);
        REQUIRE_OK(http_submit(c, &req, &r[i], NULL));
    }
    struct http_completion done[4];
    CHECK_INT(http_poll(c, 0, done, 4), 0);
    CHECK_INT(http_in_flight(c), 3);
    http_client_free(c); /* no leak, no crash (checked under ASan) */
    for (size_t i = 0; i < COUNT(r); i++) {
        http_response_free(&r[i]);
    }
    close(lfd);
}

static enum err s_real_prepare(void *user, uint32_t attempt, struct http_request *out) {
    (void) attempt;
    out->method = "GET";
    out->url = user;
    return ERR_OK;
}

static int s_real_completes;
static void s_real_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *r) {
    (void) user;
    (void) resp;
    s_real_completes++;
    CHECK_INT(final, ERR_NET);
    CHECK_INT(r->attempts, 1);
    CHECK_INT(r->last_class, RETRY_CLASS_TRANSIENT);
    CHECK_INT(r->stop, RETRY_STOP_MAX_ATTEMPTS);
}

TEST(batch_run_one_over_http) {
    char url[64];
    int fd = s_loopback(false, url, sizeof(url));
    REQUIRE(fd >= 0);
    struct http_client *c = s_client();
    REQUIRE(c != NULL);
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 1 };
    struct retry_policy p;
    retry_policy_init(&p, &cfg, 0);
    static const struct batch_ops ops = { s_real_prepare, NULL, s_real_complete };
    s_real_completes = 0;
    CHECK_INT(batch_run_one(c, &p, &ops, url), ERR_NET);
    CHECK_INT(s_real_completes, 1);
    CHECK_INT(p.counters.attempts, 1);
    http_client_free(c);
    close(fd);
}
