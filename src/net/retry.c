/*
 * retry.c - the retry decision (standard and adaptive modes) and the retry quota, in one place.
 *
 * The rules and their sources are in retry.h. This file holds the code lists, the pure classification and
 * backoff functions, and the bookkeeping that applies a decision to the shared policy state.
 *
 * What it does not do: parse AWS error documents (aws/ does and passes the code), correct the clock (aws/
 * does and passes skew_corrected), wait (net/batch schedules the delay), read clocks.
 */
#include "net/retry.h"

#include "base/rand.h"

#include <stddef.h>

/* [BC] standard.py ThrottledRetryableChecker._THROTTLED_ERROR_CODES; [ST] THROTTLING_ERROR_CODES. */
static const char *const s_throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* [BC] TransientRetryableChecker._TRANSIENT_ERROR_CODES; [ST] TRANSIENT_ERROR_CODES. */
static const char *const s_transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

/* AWS_CLIENT_SPEC_NOTES.md §7, [ST] CLOCK_SKEW_ERROR_CODES. */
static const char *const s_clock_skew_codes[] = {
    "AuthFailure",        "InvalidSignatureException", "RequestExpired",
    "RequestInTheFuture", "RequestTimeTooSkewed",      "SignatureDoesNotMatch",
};

static bool s_in_list(struct span code, const char *const *list, size_t n) {
    if (code.n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (span_eq_cstr(code, list[i])) {
            return true;
        }
    }
    return false;
}

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool retry_is_throttling_code(struct span code) {
    return s_in_list(code, s_throttling_codes, S_COUNT(s_throttling_codes));
}

bool retry_is_transient_code(struct span code) {
    return s_in_list(code, s_transient_codes, S_COUNT(s_transient_codes));
}

bool retry_is_clock_skew_code(struct span code) {
    return s_in_list(code, s_clock_skew_codes, S_COUNT(s_clock_skew_codes));
}

enum err retry_mode_parse(struct span s, enum retry_mode *out) {
    s = span_trim(s);
    if (span_eq_nocase(s, SPAN_LIT("standard"))) {
        *out = RETRY_MODE_STANDARD;
    } else if (span_eq_nocase(s, SPAN_LIT("adaptive"))) {
        *out = RETRY_MODE_ADAPTIVE;
    } else if (span_eq_nocase(s, SPAN_LIT("legacy"))) {
        *out = RETRY_MODE_LEGACY;
    } else {
        FAIL(ERR_CONFIG, "AWS_RETRY_MODE must be standard, adaptive or legacy");
    }
    return ERR_OK;
}

const char *retry_mode_name(enum retry_mode m) {
    switch (m) {
        case RETRY_MODE_STANDARD:
            return "standard";
        case RETRY_MODE_ADAPTIVE:
            return "adaptive";
        case RETRY_MODE_LEGACY:
            return "legacy";
    }
    return "?";
}

enum err retry_max_attempts_parse(struct span s, uint32_t *out) {
    uint64_t v = 0;
    if (span_to_u64(span_trim(s), RETRY_MAX_ATTEMPTS_LIMIT, &v) != ERR_OK || v < 1) {
        FAIL(ERR_CONFIG, "AWS_MAX_ATTEMPTS must be a whole number from 1 to %d", RETRY_MAX_ATTEMPTS_LIMIT);
    }
    *out = (uint32_t) v;
    return ERR_OK;
}

const char *retry_class_name(enum retry_class c) {
    switch (c) {
        case RETRY_CLASS_SUCCESS:
            return "success";
        case RETRY_CLASS_THROTTLING:
            return "throttling";
        case RETRY_CLASS_TRANSIENT:
            return "transient";
        case RETRY_CLASS_TIMEOUT:
            return "timeout";
        case RETRY_CLASS_NOT_RETRYABLE:
            return "not_retryable";
    }
    return "?";
}

const char *retry_stop_name(enum retry_stop s) {
    switch (s) {
        case RETRY_STOP_NONE:
            return "retry";
        case RETRY_STOP_SUCCESS:
            return "success";
        case RETRY_STOP_NOT_RETRYABLE:
            return "not_retryable";
        case RETRY_STOP_MAX_ATTEMPTS:
            return "max_attempts";
        case RETRY_STOP_QUOTA:
            return "quota";
        case RETRY_STOP_DEADLINE:
            return "deadline";
        case RETRY_STOP_STOPPED:
            return "stopped";
    }
    return "?";
}

enum retry_class retry_classify(const struct retry_input *in) {
    switch (in->transport) {
        case ERR_OK:
            break;
        case ERR_TIMEOUT:
            return RETRY_CLASS_TIMEOUT;
        case ERR_NET:
        case ERR_TLS:
            /* [BC] TransientRetryableChecker retries every ConnectionError/HTTPClientError (SSLError is one). */
            return RETRY_CLASS_TRANSIENT;
        default:
            return RETRY_CLASS_NOT_RETRYABLE;
    }
    /* [ST] isThrottlingError: "error.$metadata?.httpStatusCode === 429 || THROTTLING_ERROR_CODES.includes(...)" */
    if (retry_is_throttling_code(in->aws_code) || in->status == 429 || in->modeled == RETRY_MODELED_THROTTLING) {
        return RETRY_CLASS_THROTTLING;
    }
    /* [BC] _TRANSIENT_STATUS_CODES = [500, 502, 503, 504]; [ST] isTransientError includes clockSkewCorrected. */
    bool transient_status = in->status == 500 || in->status == 502 || in->status == 503 || in->status == 504;
    if (
      retry_is_transient_code(in->aws_code) || transient_status || in->skew_corrected ||
      in->modeled == RETRY_MODELED_TRANSIENT) {
        return RETRY_CLASS_TRANSIENT;
    }
    if (in->aws_code.n > 0 || in->status >= 400) {
        return RETRY_CLASS_NOT_RETRYABLE;
    }
    return RETRY_CLASS_SUCCESS;
}

int64_t retry_backoff_ms(enum retry_class cls, uint32_t attempt, double jitter) {
    int64_t base = cls == RETRY_CLASS_THROTTLING ? RETRY_THROTTLING_BASE_DELAY_MS : RETRY_BASE_DELAY_MS;
    int64_t ceiling = RETRY_MAX_DELAY_MS;
    /* base × 2^(attempt−1), stopping the doubling once past the cap so the shift cannot overflow. */
    int64_t exp = base;
    for (uint32_t i = 1; i < attempt && exp < ceiling; i++) {
        exp *= 2;
    }
    if (exp > ceiling) {
        exp = ceiling;
    }
    if (!(jitter > 0)) { /* also catches NaN */
        return 0;
    }
    if (jitter >= 1) {
        jitter = 0.9999999999;
    }
    return (int64_t) (jitter * (double) exp);
}

void retry_decide(
  const struct retry_config *cfg,
  const struct retry_input *in,
  uint32_t quota_available,
  double jitter,
  struct retry_decision *out) {
    out->retry = false;
    out->delay_ms = 0;
    out->cost = 0;
    out->cls = retry_classify(in);
    switch (out->cls) {
        case RETRY_CLASS_SUCCESS:
            out->stop = RETRY_STOP_SUCCESS;
            return;
        case RETRY_CLASS_NOT_RETRYABLE:
            out->stop = RETRY_STOP_NOT_RETRYABLE;
            return;
        default:
            break;
    }
    if (out->cls == RETRY_CLASS_THROTTLING && cfg->throttle_until_deadline) {
        /* Not executed, so never duplicated by a retry: only the caller's deadline ends it (retry.h). */
        out->retry = true;
        out->stop = RETRY_STOP_NONE;
        out->delay_ms = retry_backoff_ms(out->cls, in->attempt, jitter);
        return;
    }
    uint32_t max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : RETRY_DEFAULT_MAX_ATTEMPTS;
    /* [BC] MaxAttemptsChecker: "under_max_attempts = context.attempt_number < self._max_attempts" */
    if (in->attempt >= max_attempts) {
        out->stop = RETRY_STOP_MAX_ATTEMPTS;
        return;
    }
    uint32_t cost = out->cls == RETRY_CLASS_TIMEOUT ? RETRY_QUOTA_TIMEOUT_COST : RETRY_QUOTA_COST;
    /* [BC] RetryQuota.acquire: "if capacity_amount > self._available_capacity: return False" */
    if (cost > quota_available) {
        out->stop = RETRY_STOP_QUOTA;
        return;
    }
    out->retry = true;
    out->stop = RETRY_STOP_NONE;
    out->cost = cost;
    out->delay_ms = retry_backoff_ms(out->cls, in->attempt, jitter);
}

void retry_policy_init(struct retry_policy *p, const struct retry_config *cfg, int64_t now_ms) {
    if (cfg != NULL) {
        p->cfg = *cfg;
    } else {
        p->cfg = (struct retry_config){ .mode = RETRY_MODE_STANDARD };
    }
    if (p->cfg.max_attempts == 0) {
        p->cfg.max_attempts = RETRY_DEFAULT_MAX_ATTEMPTS;
    }
    p->quota = RETRY_QUOTA_INITIAL;
    p->counters = (struct retry_counters){ 0 };
    ratelimit_init(&p->limiter, (double) now_ms / 1000.0);
}

void retry_state_init(struct retry_state *s) {
    s->attempt = 0;
    s->last_cost = 0;
    s->limiter = NULL;
}

/* The limiter that paces this request, or NULL. */
static struct ratelimit *s_limiter(struct retry_policy *p, struct retry_state *st) {
    if (st->limiter != NULL) {
        return st->limiter;
    }
    return p->cfg.mode == RETRY_MODE_ADAPTIVE ? &p->limiter : NULL;
}

int64_t retry_before_attempt(struct retry_policy *p, struct retry_state *st, int64_t now_ms) {
    struct ratelimit *rl = s_limiter(p, st);
    if (rl != NULL) {
        double wait_s = ratelimit_acquire(rl, (double) now_ms / 1000.0);
        if (wait_s > 0) {
            p->counters.limiter_waits++;
            /* Round up past the whole ms so that, after the wait, the token is there (no sub-ms spinning). */
            return (int64_t) (wait_s * 1000.0) + 1;
        }
    }
    st->attempt++;
    p->counters.attempts++;
    if (st->attempt > 1) {
        p->counters.retries++;
    }
    return 0;
}

static void s_quota_release(struct retry_policy *p, uint32_t amount) {
    uint32_t room = RETRY_QUOTA_INITIAL - p->quota;
    p->quota += amount < room ? amount : room;
}

void retry_after_attempt(
  struct retry_policy *p,
  struct retry_state *st,
  const struct retry_input *in,
  int64_t now_ms,
  struct retry_decision *out) {
    double jitter = p->cfg.jitter != NULL ? p->cfg.jitter(p->cfg.jitter_ctx) : rand_unit();
    retry_decide(&p->cfg, in, p->quota, jitter, out);
    struct ratelimit *rl = s_limiter(p, st);
    if (rl != NULL) {
        ratelimit_on_response(rl, out->cls == RETRY_CLASS_THROTTLING, (double) now_ms / 1000.0);
    }
    if (out->cls == RETRY_CLASS_THROTTLING) {
        p->counters.throttles++;
    } else if (out->cls == RETRY_CLASS_TIMEOUT) {
        p->counters.timeouts++;
    }
    switch (out->stop) {
        case RETRY_STOP_NONE:
            p->quota -= out->cost;
            st->last_cost = out->cost;
            break;
        case RETRY_STOP_SUCCESS:
            /* [BC] release_retry_quota: first-try success adds 1; after retries, the last acquisition. */
            s_quota_release(p, st->last_cost > 0 ? st->last_cost : RETRY_QUOTA_SUCCESS_INCREMENT);
            break;
        case RETRY_STOP_QUOTA:
            p->counters.quota_exhausted++;
            break;
        case RETRY_STOP_MAX_ATTEMPTS:
            p->counters.max_attempts++;
            break;
        case RETRY_STOP_NOT_RETRYABLE:
        case RETRY_STOP_DEADLINE:
        case RETRY_STOP_STOPPED:
            break;
    }
}

void retry_abandon(struct retry_policy *p, struct retry_state *st) {
    s_quota_release(p, st->last_cost);
    st->last_cost = 0;
}

bool retry_bounded_again(const struct retry_bounded *b, const struct retry_input *in) {
    if (b->modeled_only && in->modeled == RETRY_MODELED_NO) {
        return false;
    }
    const struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = b->max_attempts };
    struct retry_decision d;
    retry_decide(&cfg, in, RETRY_QUOTA_INITIAL, 0.0, &d);
    if (!d.retry) {
        return false;
    }
    int64_t wait_ms = b->linear ? (int64_t) in->attempt * b->delay_ms : b->delay_ms;
    if (b->sleep_ms != NULL && wait_ms > 0) {
        b->sleep_ms(wait_ms);
    }
    return true;
}
