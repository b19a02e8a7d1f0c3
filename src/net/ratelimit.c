/*
 * ratelimit.c - adaptive-mode client-side rate limiting: a token bucket whose fill rate follows TCP CUBIC,
 * ported line for line from botocore's retries/throttling.py, bucket.py and adaptive.py so the numbers match
 * (tests/unit/test_retry.c checks values computed with botocore itself).
 *
 * What it does not do: decide whether to retry (net/retry), wait (net/batch schedules the wait), read clocks.
 */
#include "net/ratelimit.h"

/*
 * Two small numeric helpers instead of <math.h>: the glibc sanitizer build links without libm, and these are
 * the only two functions the port needs.
 */

/* floor() for the values used here (times and rates, far below 2^52 in magnitude). */
static double s_floor(double x) {
    double t = (double) (int64_t) x;
    return t > x ? t - 1.0 : t;
}

/* Real cube root by Newton's method (x >= 0 here: a rate times a positive constant), to the last bit or two. */
static double s_cbrt(double x) {
    if (!(x > 0)) {
        return 0;
    }
    double y = x > 1 ? x : 1.0; /* a start above the root: from there Newton's steps decrease monotonically */
    for (int i = 0; i < 200; i++) {
        double next = (2.0 * y + x / (y * y)) / 3.0;
        if (next >= y) {
            break;
        }
        y = next;
    }
    return y;
}

void ratelimit_cubic_init(struct ratelimit_cubic *c, double starting_max_rate, double start) {
    c->w_max = starting_max_rate;
    /* K = ∛(W_max × (1 − β) / C): the time for the curve to climb back to W_max. */
    c->k = s_cbrt((c->w_max * (1.0 - RATELIMIT_BETA)) / RATELIMIT_SCALE);
    c->last_fail = start;
}

double ratelimit_cubic_success(const struct ratelimit_cubic *c, double now) {
    double x = (now - c->last_fail) - c->k;
    return RATELIMIT_SCALE * x * x * x + c->w_max;
}

double ratelimit_cubic_error(struct ratelimit_cubic *c, double current_rate, double now) {
    /* "We have a new max rate, which is the current rate we were sending at when we received an error." */
    ratelimit_cubic_init(c, current_rate, now);
    return current_rate * RATELIMIT_BETA;
}

static void s_refill(struct ratelimit_bucket *b, double now) {
    if (!b->has_last) {
        b->last = now;
        b->has_last = true;
        return;
    }
    double filled = b->capacity + (now - b->last) * b->fill_rate;
    b->capacity = filled < b->max_capacity ? filled : b->max_capacity;
    b->last = now;
}

void ratelimit_bucket_set_max_rate(struct ratelimit_bucket *b, double rate, double now) {
    /* Tokens earned since the last refill accrue at the old rate before the new one applies. */
    s_refill(b, now);
    b->fill_rate = rate > RATELIMIT_MIN_RATE ? rate : RATELIMIT_MIN_RATE;
    b->max_capacity = rate >= 1.0 ? rate : 1.0;
    if (b->capacity > b->max_capacity) {
        b->capacity = b->max_capacity;
    }
}

void ratelimit_bucket_init(struct ratelimit_bucket *b, double max_rate, double now) {
    b->fill_rate = 0;
    b->max_capacity = 0;
    b->capacity = 0;
    b->last = 0;
    b->has_last = false;
    ratelimit_bucket_set_max_rate(b, max_rate, now);
}

double ratelimit_bucket_acquire(struct ratelimit_bucket *b, double amount, double now) {
    s_refill(b, now);
    if (amount <= b->capacity) {
        b->capacity -= amount;
        return 0;
    }
    return (amount - b->capacity) / b->fill_rate;
}

void ratelimit_clocker_init(struct ratelimit_clocker *k, double now) {
    k->measured_rate = 0;
    k->last_bucket = s_floor(now); /* botocore: math.floor(clock.current_time()), whole seconds */
    k->count = 0;
}

double ratelimit_clocker_record(struct ratelimit_clocker *k, double now) {
    const double scale = 1.0 / RATELIMIT_BUCKET_RANGE;
    double bucket = s_floor(now * scale) / scale;
    k->count += 1;
    if (bucket > k->last_bucket) {
        double current_rate = k->count / (bucket - k->last_bucket);
        k->measured_rate = current_rate * RATELIMIT_SMOOTHING + k->measured_rate * (1.0 - RATELIMIT_SMOOTHING);
        k->count = 0;
        k->last_bucket = bucket;
    }
    return k->measured_rate;
}

void ratelimit_init(struct ratelimit *rl, double now) {
    rl->enabled = false;
    rl->paced = false;
    rl->ceiling = 0;
    rl->throttles = 0;
    rl->delays = 0;
    ratelimit_cubic_init(&rl->cubic, 0, now);
    ratelimit_bucket_init(&rl->bucket, 1, now);
    ratelimit_clocker_init(&rl->clocker, now);
}

void ratelimit_init_paced(struct ratelimit *rl, double capacity, double refill, double now) {
    ratelimit_init(rl, now);
    rl->enabled = true;
    rl->paced = true;
    rl->ceiling = refill > RATELIMIT_MIN_RATE ? refill : RATELIMIT_MIN_RATE;
    /* The curve's plateau is the documented rate, reached at once: no throttle has been seen yet. */
    ratelimit_cubic_init(&rl->cubic, rl->ceiling, now - 1e6);
    rl->bucket.fill_rate = rl->ceiling;
    rl->bucket.max_capacity = capacity >= 1.0 ? capacity : 1.0;
    rl->bucket.capacity = rl->bucket.max_capacity; /* the server's bucket starts full too */
    rl->bucket.last = now;
    rl->bucket.has_last = true;
}

double ratelimit_rate(const struct ratelimit *rl) {
    return rl->bucket.fill_rate;
}

/*
 * Paced: only the fill rate moves (the bucket keeps its documented size). A throttle empties the client bucket
 * (the server said its own is empty) and restarts the curve from the rate we were sending at.
 */
static void s_paced_response(struct ratelimit *rl, bool throttled, double now) {
    struct ratelimit_bucket *b = &rl->bucket;
    s_refill(b, now);
    double rate;
    if (throttled) {
        rl->throttles++;
        rate = ratelimit_cubic_error(&rl->cubic, b->fill_rate, now);
        b->capacity = 0;
    } else {
        rate = ratelimit_cubic_success(&rl->cubic, now);
    }
    if (rate > rl->ceiling) {
        rate = rl->ceiling;
    }
    b->fill_rate = rate > RATELIMIT_MIN_RATE ? rate : RATELIMIT_MIN_RATE;
}

double ratelimit_acquire(struct ratelimit *rl, double now) {
    if (!rl->enabled) {
        return 0;
    }
    double wait = ratelimit_bucket_acquire(&rl->bucket, 1, now);
    if (wait > 0) {
        rl->delays++;
    }
    return wait;
}

void ratelimit_on_response(struct ratelimit *rl, bool throttled, double now) {
    if (rl->paced) {
        s_paced_response(rl, throttled, now);
        return;
    }
    double measured = ratelimit_clocker_record(&rl->clocker, now);
    double new_rate;
    if (!throttled) {
        new_rate = ratelimit_cubic_success(&rl->cubic, now);
    } else {
        rl->throttles++;
        double rate_to_use = measured;
        if (rl->enabled && rl->bucket.fill_rate < measured) {
            rate_to_use = rl->bucket.fill_rate;
        }
        new_rate = ratelimit_cubic_error(&rl->cubic, rate_to_use, now);
        rl->enabled = true;
    }
    double cap = RATELIMIT_MAX_SCALE * measured;
    ratelimit_bucket_set_max_rate(&rl->bucket, new_rate < cap ? new_rate : cap, now);
}
