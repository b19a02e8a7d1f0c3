/*
 * ratelimit.h - the client-side rate limiter of the SDKs' "adaptive" retry mode, ported from botocore
 * (retries/adaptive.py ClientRateLimiter + RateClocker, retries/throttling.py CubicCalculator,
 * retries/bucket.py TokenBucket) and kept numerically identical to it.
 *
 * How it behaves (AWS_CLIENT_SPEC_NOTES.md §5, "Adaptive"):
 *   - It is OFF until the first throttling reply: until then every attempt goes out at once.
 *   - From then on every attempt takes one token from a bucket. The bucket's fill rate (tokens/s) follows
 *     TCP CUBIC: on a throttling reply the rate drops to β × the rate we were sending at (β = 0.7) and the
 *     cubic curve restarts from there; each other reply moves the rate along
 *     rate(t) = C × (t − K)³ + W_max, with C = 0.4 and K = ∛(W_max × (1 − β) / C).
 *   - The fill rate is capped at 2 × the measured send rate (an EWMA of replies per second, smoothing 0.8,
 *     counted in 0.5 s buckets) and never falls below 0.5 tokens/s; the bucket holds at most
 *     max(1, fill rate) tokens.
 *
 * Differences from botocore, on purpose:
 *   - botocore blocks the calling thread in acquire(); SmartVault has one event loop, so ratelimit_acquire()
 *     never blocks: it either takes a token or says how long to wait before asking again (net/batch schedules
 *     the attempt for then and lets other transfers proceed).
 *   - Time is passed in by the caller (seconds, any monotonic origin, as a double like Python's time.time()),
 *     so the module reads no clock and tests feed it exact instants.
 *
 * PACED limiters (ratelimit_init_paced), SmartVault's addition for APIs whose server-side bucket AWS documents
 * (EC2: "Request throttling for the Amazon EC2 API", per account, region and API): the client bucket starts as
 * the server's does - full, holding `capacity` tokens, refilling at `refill` tokens/s - and is on from the first
 * request, so a burst takes the bucket and then requests go at the refill rate instead of being answered
 * RequestLimitExceeded. A throttling reply means someone else shares the server bucket (another tool, the
 * console) or the account's limit is lower: the client bucket is emptied and the fill rate follows CUBIC from
 * β × the rate we were sending at, as in adaptive mode, climbing back (never above the documented refill) as
 * replies succeed. The measured-rate cap of adaptive mode does not apply: it would throttle the first burst.
 *
 * One limiter per (account, service, region, API): the owner (aws/pacing) decides the grouping.
 * Not thread-safe; SmartVault has one thread of its own.
 */
#ifndef SV_NET_RATELIMIT_H
#define SV_NET_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_BETA 0.7         /* CubicCalculator._BETA */
#define RATELIMIT_SCALE 0.4        /* CubicCalculator._SCALE_CONSTANT (C) */
#define RATELIMIT_MIN_RATE 0.5     /* TokenBucket._MIN_RATE, tokens per second */
#define RATELIMIT_MAX_SCALE 2.0    /* ClientRateLimiter._MAX_RATE_ADJUST_SCALE */
#define RATELIMIT_SMOOTHING 0.8    /* RateClocker._DEFAULT_SMOOTHING */
#define RATELIMIT_BUCKET_RANGE 0.5 /* RateClocker._TIME_BUCKET_RANGE, seconds */

/* CUBIC rate calculator (throttling.py). */
struct ratelimit_cubic {
    double w_max;     /* the rate at the last throttling reply */
    double k;         /* seconds after last_fail at which the curve is back at w_max */
    double last_fail; /* time of the last throttling reply */
};

/* Token bucket (bucket.py). */
struct ratelimit_bucket {
    double fill_rate;    /* tokens per second, >= RATELIMIT_MIN_RATE */
    double max_capacity; /* max(1, the rate last set) */
    double capacity;     /* tokens available now */
    double last;         /* time of the last refill */
    bool has_last;       /* false until the first refill (botocore's _last_timestamp is None) */
};

/* Send-rate meter (adaptive.py RateClocker). */
struct ratelimit_clocker {
    double measured_rate; /* EWMA of replies per second */
    double last_bucket;   /* start of the current 0.5 s bucket */
    double count;         /* replies counted in the current bucket */
};

struct ratelimit {
    bool enabled;   /* set by the first throttling reply, never cleared; always set for a paced limiter */
    bool paced;     /* seeded with a documented server bucket (ratelimit_init_paced) */
    double ceiling; /* paced: the documented refill rate; the fill rate never climbs above it */
    struct ratelimit_cubic cubic;
    struct ratelimit_bucket bucket;
    struct ratelimit_clocker clocker;
    uint64_t throttles; /* throttling replies seen */
    uint64_t delays;    /* acquire calls that had to wait */
};

/* A limiter as botocore's register_retry_handler makes one: cubic from rate 0 at `now`, bucket rate 1. */
void ratelimit_init(struct ratelimit *rl, double now);

/*
 * A paced limiter for a server bucket of `capacity` tokens refilled at `refill` tokens/s (both > 0): full at
 * `now`, on at once, CUBIC on throttling capped at `refill`.
 */
void ratelimit_init_paced(struct ratelimit *rl, double capacity, double refill, double now);

/* The fill rate now (tokens/s), for logs and tests. */
double ratelimit_rate(const struct ratelimit *rl);

/*
 * Called before every attempt. Returns 0 when the attempt may go now (the limiter is off, or a token was
 * taken), otherwise the number of seconds (> 0) to wait before calling again; no token is taken then.
 */
double ratelimit_acquire(struct ratelimit *rl, double now);

/*
 * Called after every attempt (botocore hooks it to needs-retry, which fires for every reply and every
 * transport error), with whether the reply was a throttling error (net/retry's RETRY_CLASS_THROTTLING).
 * Updates the measured rate, the CUBIC curve and the bucket's fill rate; the first throttling reply turns
 * the limiter on.
 */
void ratelimit_on_response(struct ratelimit *rl, bool throttled, double now);

/* The pieces, exposed so unit tests can check each against botocore's Python. */
void ratelimit_cubic_init(struct ratelimit_cubic *c, double starting_max_rate, double start);
double ratelimit_cubic_success(const struct ratelimit_cubic *c, double now);
double ratelimit_cubic_error(struct ratelimit_cubic *c, double current_rate, double now);
void ratelimit_bucket_init(struct ratelimit_bucket *b, double max_rate, double now);
void ratelimit_bucket_set_max_rate(struct ratelimit_bucket *b, double rate, double now);
/* Non-blocking TokenBucket.acquire(amount): 0 when taken, else seconds until `amount` tokens are there. */
double ratelimit_bucket_acquire(struct ratelimit_bucket *b, double amount, double now);
void ratelimit_clocker_init(struct ratelimit_clocker *k, double now);
/* Counts one reply and returns the measured rate (RateClocker.record). */
double ratelimit_clocker_record(struct ratelimit_clocker *k, double now);

#endif
