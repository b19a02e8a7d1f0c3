/*
 * batch.h - the batch executor: runs many independent requests with bounded concurrency on one thread, each
 * with its own retries (net/retry), backoff delays, adaptive rate limiting and deadline (DESIGN.md §6).
 *
 * The caller describes each request by three callbacks and a user pointer; the executor never looks inside
 * a request or a response (signing and AWS error parsing belong to aws/):
 *
 *   prepare(user, attempt, out)        before EVERY attempt (1, 2, ...): fill *out. The caller signs here, with
 *                                      a fresh time and possibly refreshed credentials, and may add
 *                                      "amz-sdk-request: attempt=N; max=M". The memory *out points to (URL,
 *                                      headers, body) must stay valid until classify() for that attempt returns.
 *                                      A non-OK return ends the request with that error (not retried).
 *   classify(user, transport, resp, in) after every attempt: `in` arrives filled with attempt, transport and
 *                                      status; the caller parses the AWS error document, if any, and sets
 *                                      in->aws_code (it may point into resp: the executor decides and copies
 *                                      it before resp is touched again), in->skew_corrected (after correcting
 *                                      its clock offset, AWS_CLIENT_SPEC_NOTES.md §7) and in->modeled, and may
 *                                      change in->status (S3's 200-with-error-document). NULL: decide from
 *                                      transport and status alone.
 *   complete(user, final, resp, res)   exactly once per request, with the final result:
 *                                        ERR_OK       the last attempt was a success (2xx/3xx, no AWS code)
 *                                        ERR_AWS      an error response with an AWS code (res->aws_code)
 *                                        ERR_HTTP     an error status without an AWS code
 *                                        ERR_NET, ERR_TIMEOUT, ERR_TLS, ERR_LIMIT   the transport's error
 *                                        ERR_TIMEOUT  also when the request's deadline passed (res->stop says)
 *                                        anything prepare() returned
 *                                      (finer errors such as ERR_AUTH are the caller's to derive from
 *                                      res->aws_code).
 *                                      resp holds the last attempt's response and is valid only during the
 *                                      call: parse or copy what is needed. complete() may call batch_add()
 *                                      (pagination chains: the next page joins the running batch).
 *
 * Scheduling. At most max_in_flight requests are "open" at once. An open request keeps its slot through its
 * retries and backoff waits (like a worker thread in the SDKs' transfer managers), so under throttling the
 * batch opens no more requests, while the other open requests' transfers proceed during one's wait. Requests
 * open in the order they were added, with one exception so that one slow bucket cannot hold every slot while
 * the others sit idle: a queued request whose limiter (its own, or its policy's in adaptive mode) already has an
 * open request waiting for a token - made to wait by the limiter, or just opened and not yet asked - is skipped
 * for now, and the next queued request of another limiter (or of none) opens instead. The executor looks at most
 * BATCH_OPEN_LOOKAHEAD queued requests ahead; each limiter's requests still open in the order they were added;
 * requests without a limiter and those added by batch_add_next are never skipped. A limiter with tokens to spare
 * still fills the free slots (each opened request asks before the next one of its limiter opens), so a step
 * queuing 800 requests for one bucket before 800 for another takes the longer of the two buckets' floors, not
 * their sum. Before every attempt the request's retry policy is asked (retry_before_attempt: the adaptive limiter
 * may make it wait, scheduled, not slept). The whole batch sleeps only when nothing is on the wire and every
 * open request is waiting. Keep max_in_flight at or below the http client's max_host_connections when all
 * requests go to one host: libcurl would queue the excess, and their attempt deadlines would run while they wait
 * for a connection.
 *
 * Deadlines. Each attempt has one (CURLOPT_TIMEOUT_MS: the request's timeout_ms, else the batch's
 * attempt_timeout_ms, else the client's default). With item_deadline_ms set, each request also has an overall
 * deadline counted from its first attempt: an attempt's timeout is cut to the time left; a retry whose delay
 * would end past it is not made (its quota cost is given back); the request completes with ERR_TIMEOUT and
 * res->stop = RETRY_STOP_DEADLINE.
 *
 * Stopping. The run's deadline (run_deadline_ms, absolute on the transport's clock) and a signal share one flag,
 * base/stop: when the deadline passes the executor sets it (stop_request(STOP_DEADLINE)); once it is set, by
 * either, the executor starts nothing new - queued requests and requests waiting for a (re)try complete with
 * ERR_CANCELLED and res->stop = RETRY_STOP_STOPPED (nothing was sent for them, or their last attempt was
 * throttled, i.e. not executed: they are "deferred", never half done); attempts already on the wire finish
 * normally. That check is s_stopping() in batch.c, the only place that reads the flag.
 *
 * Not thread-safe; callbacks run on the thread that called batch_run(), never re-entrantly.
 */
#ifndef SV_NET_BATCH_H
#define SV_NET_BATCH_H

#include "base/err.h"
#include "net/http.h"
#include "net/retry.h"

#include <stddef.h>
#include <stdint.h>

#define BATCH_DEFAULT_IN_FLIGHT 8
#define BATCH_MAX_IN_FLIGHT 256   /* max_in_flight above this is an error (ERR_LIMIT) */
#define BATCH_MAX_ITEMS 1000000   /* queued requests at once; batch_add past it fails (ERR_LIMIT) */
#define BATCH_MAX_AWS_CODE 64     /* an AWS error code longer than this is cut in res->aws_code */
#define BATCH_OPEN_LOOKAHEAD 4096 /* queued requests looked at for one whose limiter is free (see Scheduling) */

/* What happened to one request, given to complete(). */
struct batch_item_result {
    uint32_t attempts;                     /* attempts sent */
    uint32_t retries;                      /* attempts - 1, or 0 */
    enum retry_class last_class;           /* class of the last attempt */
    enum retry_stop stop;                  /* why it stopped */
    enum err transport;                    /* the last attempt's transport result */
    long status;                           /* the last HTTP status; 0 when none arrived */
    int64_t wall_ms;                       /* from the request's first attempt (or first limiter wait) to completion */
    char aws_code[BATCH_MAX_AWS_CODE + 1]; /* the last attempt's AWS code, "" when none */
};

struct batch_ops {
    enum err (*prepare)(void *user, uint32_t attempt, struct http_request *out);
    void (*classify)(void *user, enum err transport, const struct http_response *resp, struct retry_input *in);
    void (*complete)(void *user, enum err final, struct http_response *resp, const struct batch_item_result *res);
};

/*
 * Where the requests go. NULL in batch_options means the http client given to batch_new() with the monotonic
 * clock; tests give a fake one (a scripted transport and clock, no sockets, no sleeping).
 */
struct batch_transport {
    void *ctx;
    enum err (*submit)(void *ctx, const struct http_request *req, struct http_response *resp, void *user);
    size_t (*poll)(void *ctx, int64_t timeout_ms, struct http_completion *out, size_t max); /* as http_poll */
    int64_t (*now_ms)(void *ctx);                                                           /* monotonic */
    void (*sleep_ms)(void *ctx, int64_t ms);
};

struct batch_options {
    size_t max_in_flight;                    /* 0 = BATCH_DEFAULT_IN_FLIGHT */
    struct retry_policy *policy;             /* for requests added without one; required */
    int64_t attempt_timeout_ms;              /* 0 = the request's own timeout_ms, else the client's default */
    int64_t item_deadline_ms;                /* 0 = none */
    int64_t run_deadline_ms;                 /* absolute, transport clock; 0 = none (see Stopping) */
    const struct batch_transport *transport; /* NULL = the http client */
};

struct batch_stats {
    uint64_t items;         /* requests completed */
    uint64_t succeeded;     /* completed with ERR_OK */
    uint64_t attempts;      /* attempts sent */
    uint64_t retries;       /* attempts after a request's first */
    uint64_t throttles;     /* attempts answered with a throttling error */
    uint64_t limiter_waits; /* attempts the adaptive limiter delayed */
    size_t peak_in_flight;  /* most transfers on the wire at once */
    int64_t wall_ms;        /* time spent in batch_run() */
};

struct batch;

/* client may be NULL only when opt->transport is given. */
enum err batch_new(struct http_client *client, const struct batch_options *opt, struct batch **out) SV_MUST_CHECK;
/* Frees the batch. Requests never run are dropped without complete(). Not from inside a callback. */
void batch_free(struct batch *b);

/*
 * Queues one request. ops must outlive the batch (a static const struct, typically); policy NULL = the batch's
 * default. May be called before batch_run() and from complete() while it runs.
 */
enum err batch_add(struct batch *b, const struct batch_ops *ops, void *user, struct retry_policy *policy) SV_MUST_CHECK;

/* batch_add with the request's own limiter (net/retry.h: asked before every attempt, in every mode). */
enum err batch_add_paced(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) SV_MUST_CHECK;
/*
 * batch_add_paced, but the request opens before every request still queued (the next free slot is its): for a
 * small request that must not wait behind a long phase's queue (a streamed audit write, backup/audit_stream.h).
 */
enum err batch_add_next(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) SV_MUST_CHECK;

/*
 * A function the run calls on its own thread, never re-entrantly and never from a callback: at the run's first
 * turn, then at most every every_ms (the run wakes up for it even while every open request waits), and once more
 * whenever the batch has nothing left to run - when that call queues nothing, the run ends. It may batch_add (the
 * requests join this run): the place for a producer that keeps a long phase fed (the EBS job's copies started as
 * snapshots complete and slots free). Not called once a stop refuses new work. NULL fn: none.
 */
void batch_set_tick(struct batch *b, void (*fn)(void *ctx), void *ctx, int64_t every_ms);

/*
 * batch_add_paced, but the request is queued before every request batch_add/batch_add_paced queued (behind those
 * batch_add_next and batch_add_front queued earlier) and, unlike batch_add_next's, is passed over while its limiter
 * has a request waiting for a token: a producer's requests added during a long phase (batch_set_tick) open as soon
 * as their bucket has a token, however long the phase's queue, without holding a slot while it has none.
 */
enum err batch_add_front(
  struct batch *b,
  const struct batch_ops *ops,
  void *user,
  struct retry_policy *policy,
  struct ratelimit *limiter) SV_MUST_CHECK;

/*
 * Runs every queued request, and every request added while it runs, to completion; complete() has been called
 * for each when it returns. Returns ERR_OK (results are per request) or ERR_INVALID when called from a callback.
 * A batch may be run again after more batch_add() calls; stats accumulate.
 */
enum err batch_run(struct batch *b) SV_MUST_CHECK;

const struct batch_stats *batch_stats(const struct batch *b);

/*
 * A batch of one, for single calls: runs the request to completion (complete() is called as for a batch) and
 * returns the same final error complete() received.
 */
enum err batch_run_one(struct http_client *client, struct retry_policy *policy, const struct batch_ops *ops, void *user)
  SV_MUST_CHECK;

#endif
