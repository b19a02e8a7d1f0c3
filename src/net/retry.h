/*
 * retry.h - the one place where SmartVault decides whether to retry an AWS request, and how long to wait.
 *
 * It implements the AWS SDKs' "standard" retry mode, and "adaptive" (standard + a client-side rate limiter,
 * net/ratelimit.h), as described in shared/AWS_CLIENT_SPEC_NOTES.md §5. Sources: botocore retries/standard.py
 * and quota.py ([BC]), the JS v3 SDK's @smithy/util-retry and service-error-classification ([ST]).
 *
 * The module has two layers:
 *   1. Pure functions, no state, no clock, no randomness of their own: retry_classify() puts one attempt's
 *      outcome into a class; retry_backoff_ms() turns a class, an attempt number and a jitter draw into a
 *      delay; retry_decide() combines them with the attempt limit and the quota balance into a decision.
 *   2. A small state object, struct retry_policy, shared by every request of one client (one AWS service in
 *      one region): the retry quota, the adaptive limiter, the counters for the cycle report, and the
 *      injectable jitter source. Per request, the caller keeps a struct retry_state.
 *
 * The caller's loop (net/batch does this; anything else may too):
 *
 *     struct retry_state st;
 *     retry_state_init(&st);
 *     for (;;) {
 *         int64_t wait = retry_before_attempt(policy, &st, now_ms);   // adaptive limiter
 *         if (wait > 0) { wait, then ask again; continue; }
 *         ... sign and send attempt st.attempt ...
 *         struct retry_input in = { .attempt = st.attempt, .transport = e, .status = status,
 *                                   .aws_code = code, .skew_corrected = fixed_clock };
 *         struct retry_decision d;
 *         retry_after_attempt(policy, &st, &in, now_ms, &d);
 *         if (!d.retry) break;                                        // d.cls, d.stop say why
 *         wait d.delay_ms;
 *     }
 *
 * Choices, with their sources:
 *   - Attempts: AWS_MAX_ATTEMPTS counts every attempt, the first included; default 3 [BC DEFAULT_MAX_ATTEMPTS].
 *   - Backoff: full jitter, delay = jitter × min(base × 2^(attempt−1), 20 s), jitter uniform in [0, 1), where
 *     attempt is the 1-based number of the attempt that just failed. The base is the JS SDK's: 100 ms, or
 *     500 ms after a throttling error [ST util-retry constants.ts DEFAULT_RETRY_DELAY_BASE,
 *     THROTTLING_RETRY_DELAY_BASE, MAXIMUM_RETRY_DELAY]. botocore uses 1 s for everything, which makes a
 *     three-attempt call to a flapping endpoint wait up to 3 s instead of 0.3 s; the JS values keep a cycle
 *     short and still spread throttled clients apart. The cap applies before the jitter (the formula of the
 *     AWS "Exponential Backoff And Jitter" note and of the spec notes), so the delay is always < 20 s.
 *   - Retry quota: one bucket per policy, 500 tokens; a retry costs 5, or 10 when the attempt timed out; a
 *     success on the first attempt adds 1; a success after retries gives back what the last retry took;
 *     never above 500; when the bucket cannot pay, the request stops with its last error [BC quota.py,
 *     RetryQuotaChecker]. The timeout surcharge follows botocore (ConnectTimeout/ReadTimeout only); the JS
 *     SDK charges 10 for every "transient" error including 5xx.
 *   - Clock skew: a skew error (AuthFailure, RequestTimeTooSkewed, ... see §7) is retried only when the
 *     caller says it corrected its clock offset because of it (the JS SDK's clockSkewCorrected, which makes
 *     the error transient [ST isTransientError]). Otherwise it is an ordinary 4xx: not retried.
 *   - Mode "legacy" is accepted and treated exactly as "standard" (including the default of 3 attempts;
 *     botocore's legacy mode would default to 5 and use other codes). SmartVault has no legacy users.
 *   - Throttling until the deadline (retry_config.throttle_until_deadline, what the cycle uses): a throttling
 *     reply means the call was NOT executed (EC2: "the request is not processed"), so retrying it can never
 *     duplicate anything. It is retried with the throttling backoff however many attempts it took, without
 *     taking from the retry quota; the caller's deadline (net/batch: the run's RUN_TIMEOUT) is the only end.
 *     AWS_MAX_ATTEMPTS and the quota keep governing every other transient error.
 *   - Limiters: a request may carry its own limiter (retry_state.limiter: aws/pacing's per-API one, paced or
 *     adaptive); it is asked before every attempt and told about every reply, in every mode. Without one, the
 *     policy's own limiter is used in adaptive mode only.
 *   - Transport errors: ERR_TIMEOUT is the timeout class; ERR_NET (reset, refused, DNS, truncated body) and
 *     ERR_TLS are transient, as botocore retries every ConnectionError (its SSLError is one). Other errors
 *     (ERR_LIMIT: a response over a named maximum, ERR_CANCELLED ...) are not retryable.
 */
#ifndef SV_NET_RETRY_H
#define SV_NET_RETRY_H

#include "base/err.h"
#include "base/span.h"
#include "net/ratelimit.h"

#include <stdbool.h>
#include <stdint.h>

#define RETRY_DEFAULT_MAX_ATTEMPTS 3
#define RETRY_MAX_ATTEMPTS_LIMIT 100       /* AWS_MAX_ATTEMPTS above this is a configuration error */
#define RETRY_BASE_DELAY_MS 100            /* [ST] DEFAULT_RETRY_DELAY_BASE */
#define RETRY_THROTTLING_BASE_DELAY_MS 500 /* [ST] THROTTLING_RETRY_DELAY_BASE */
#define RETRY_MAX_DELAY_MS 20000           /* [BC] _MAX_BACKOFF, [ST] MAXIMUM_RETRY_DELAY */
#define RETRY_QUOTA_INITIAL 500            /* [BC] RetryQuota.INITIAL_CAPACITY */
#define RETRY_QUOTA_COST 5                 /* [BC] _RETRY_COST */
#define RETRY_QUOTA_TIMEOUT_COST 10        /* [BC] _TIMEOUT_RETRY_REQUEST */
#define RETRY_QUOTA_SUCCESS_INCREMENT 1    /* [BC] _NO_RETRY_INCREMENT */

enum retry_mode {
    RETRY_MODE_STANDARD = 0,
    RETRY_MODE_ADAPTIVE,
    RETRY_MODE_LEGACY, /* behaves as standard */
};

enum retry_class {
    RETRY_CLASS_SUCCESS = 0,   /* a response that is not an error */
    RETRY_CLASS_THROTTLING,    /* throttling code or HTTP 429: retryable, long base, feeds the limiter */
    RETRY_CLASS_TRANSIENT,     /* 500/502/503/504, transient codes, connection errors, corrected skew */
    RETRY_CLASS_TIMEOUT,       /* the attempt's deadline passed: retryable, costs double quota */
    RETRY_CLASS_NOT_RETRYABLE, /* everything else: AccessDenied, validation errors, other 4xx, ... */
};

/* Why a request stops (or RETRY_STOP_NONE when it is retried). */
enum retry_stop {
    RETRY_STOP_NONE = 0,
    RETRY_STOP_SUCCESS,
    RETRY_STOP_NOT_RETRYABLE,
    RETRY_STOP_MAX_ATTEMPTS,
    RETRY_STOP_QUOTA,    /* the retry quota could not pay for another attempt */
    RETRY_STOP_DEADLINE, /* the caller's overall deadline passed first (set by net/batch, never by retry_decide) */
    RETRY_STOP_STOPPED,  /* the run is stopping (deadline or signal): not sent, or its retry not made (net/batch) */
};

/* What the model says about an error code, when the caller knows it (botocore ModeledRetryErrorDetector). */
enum retry_modeled {
    RETRY_MODELED_NO = 0,
    RETRY_MODELED_TRANSIENT,
    RETRY_MODELED_THROTTLING,
};

/* One attempt's outcome. The aws/ layer parses the error document; this module only reads the code. */
struct retry_input {
    uint32_t attempt;           /* 1-based number of the attempt that just finished */
    enum err transport;         /* ERR_OK when an HTTP response arrived; else http's ERR_NET/ERR_TIMEOUT/ERR_TLS... */
    long status;                /* HTTP status; ignored unless transport is ERR_OK */
    struct span aws_code;       /* AWS error code ("Throttling", "SlowDown", ...); empty when none */
    bool skew_corrected;        /* the caller corrected its clock offset because of this error (§7) */
    enum retry_modeled modeled; /* the error is modelled as retryable in the service model */
};

struct retry_decision {
    bool retry;
    enum retry_class cls;
    enum retry_stop stop; /* RETRY_STOP_NONE when retry is true */
    int64_t delay_ms;     /* wait before the next attempt; 0 unless retry */
    uint32_t cost;        /* quota tokens this retry takes (0 unless retry) */
};

struct retry_config {
    enum retry_mode mode;
    uint32_t max_attempts; /* total attempts, >= 1; 0 = RETRY_DEFAULT_MAX_ATTEMPTS */
    /* Uniform draw in [0, 1) for the jitter; NULL = base/rand's rand_unit (kernel randomness). Tests inject. */
    double (*jitter)(void *ctx);
    void *jitter_ctx;
    bool throttle_until_deadline; /* throttling replies ignore max_attempts and the quota (see above) */
};

/* Counters for the cycle report (summed over every request that used the policy). */
struct retry_counters {
    uint64_t attempts;        /* attempts sent */
    uint64_t retries;         /* attempts after the first */
    uint64_t throttles;       /* attempts answered with a throttling error */
    uint64_t timeouts;        /* attempts that timed out */
    uint64_t quota_exhausted; /* retries refused because the quota could not pay */
    uint64_t max_attempts;    /* requests that ran out of attempts while still retryable */
    uint64_t limiter_waits;   /* times the adaptive limiter made an attempt wait */
};

/* Shared by all requests of one client (one service in one region): quota, limiter, counters. */
struct retry_policy {
    struct retry_config cfg;
    uint32_t quota;           /* available retry tokens, 0..RETRY_QUOTA_INITIAL */
    struct ratelimit limiter; /* used in adaptive mode only */
    struct retry_counters counters;
};

/* Per request. */
struct retry_state {
    uint32_t attempt;          /* number of the attempt about to be sent or just sent (1-based); 0 before the first */
    uint32_t last_cost;        /* quota taken by the last retry; 0 when the request has not been retried */
    struct ratelimit *limiter; /* this request's limiter (not owned); NULL = the policy's, adaptive mode only */
};

/* "standard", "adaptive", "legacy" (case-insensitive). ERR_CONFIG otherwise. */
enum err retry_mode_parse(struct span s, enum retry_mode *out) SV_MUST_CHECK;
const char *retry_mode_name(enum retry_mode m);
/* AWS_MAX_ATTEMPTS: a decimal integer 1..RETRY_MAX_ATTEMPTS_LIMIT. ERR_CONFIG otherwise. */
enum err retry_max_attempts_parse(struct span s, uint32_t *out) SV_MUST_CHECK;
const char *retry_class_name(enum retry_class c);
const char *retry_stop_name(enum retry_stop s);

/* Code lists of §5, exposed for the aws/ layer and tests. Exact, case-sensitive match as in the SDKs. */
bool retry_is_throttling_code(struct span code);
bool retry_is_transient_code(struct span code);
/* The clock-skew codes of §7: the aws/ layer corrects its offset on these and then sets skew_corrected. */
bool retry_is_clock_skew_code(struct span code);

/*
 * The class of one attempt's outcome (pure). In order:
 *   transport ERR_TIMEOUT → TIMEOUT; ERR_NET, ERR_TLS → TRANSIENT; any other transport error → NOT_RETRYABLE;
 *   a throttling code, HTTP 429 or a modelled throttling error → THROTTLING;
 *   a transient code, HTTP 500/502/503/504, skew_corrected or a modelled retryable error → TRANSIENT;
 *   any other code, or HTTP >= 400 → NOT_RETRYABLE; else SUCCESS.
 * A code wins over the status, so S3's 400 RequestTimeout is transient and a 200 carrying an error document
 * (S3 CopyObject) is classed by its code.
 */
enum retry_class retry_classify(const struct retry_input *in);

/* jitter × min(base × 2^(attempt−1), RETRY_MAX_DELAY_MS), floored to whole ms (pure). attempt >= 1. */
int64_t retry_backoff_ms(enum retry_class cls, uint32_t attempt, double jitter);

/*
 * The decision for one attempt's outcome (pure): classify, then stop on success / not retryable; a throttling
 * reply with cfg->throttle_until_deadline is retried (cost 0, throttling backoff) whatever the attempt number
 * and the quota; otherwise stop when
 * in->attempt >= max attempts, stop when quota_available cannot pay the cost, otherwise retry after
 * retry_backoff_ms(cls, in->attempt, jitter). Changes nothing: retry_after_attempt applies it.
 */
void retry_decide(
  const struct retry_config *cfg,
  const struct retry_input *in,
  uint32_t quota_available,
  double jitter,
  struct retry_decision *out);

/*
 * cfg NULL = defaults (standard, 3 attempts, kernel jitter). One policy per client (service, region): its quota
 * and limiter are shared by every request of that client. now_ms must come from the clock later passed to
 * retry_before_attempt/retry_after_attempt (net/batch uses time_mono_ms).
 */
void retry_policy_init(struct retry_policy *p, const struct retry_config *cfg, int64_t now_ms);
void retry_state_init(struct retry_state *s);

/*
 * Before every attempt, including the first. Returns 0 when the attempt may go now: st->attempt is then the
 * number of the attempt to send, and it is counted. Returns > 0 (ms) in adaptive mode when the limiter has
 * no token yet: wait that long and call again; nothing is counted.
 */
int64_t retry_before_attempt(struct retry_policy *p, struct retry_state *st, int64_t now_ms);

/*
 * After every attempt: decides (retry_decide with a fresh jitter draw), then applies the decision to the
 * shared state: takes the retry's cost from the quota, or on success returns 1 token (first attempt) or the
 * last retry's cost (after retries); updates the adaptive limiter and the counters. in->attempt must be
 * st->attempt.
 */
void retry_after_attempt(
  struct retry_policy *p,
  struct retry_state *st,
  const struct retry_input *in,
  int64_t now_ms,
  struct retry_decision *out);

/*
 * The retry that retry_after_attempt() decided will not be made after all (the caller's deadline passed before
 * its delay ran out): gives its quota cost back, so abandoned retries do not drain the bucket.
 */
void retry_abandon(struct retry_policy *p, struct retry_state *st);

/*
 * Bounded retry, for the few requests sent outside net/batch (IMDS, a container credentials endpoint, STS's
 * AssumeRoleWithWebIdentity): no shared quota, no limiter, at most `max_attempts` in all, and the client's own
 * documented wait between attempts (botocore's fetchers wait fixed times, not the jittered backoff). Whether an
 * attempt is retried is retry_decide's answer (connection errors, timeouts, throttling, 500/502/503/504, and what
 * the client marks in retry_input.modeled), so these clients agree with every other request of the process.
 * The loop:
 *
 *     for (uint32_t attempt = 1;; attempt++) {
 *         ... send ...
 *         struct retry_input in = { .attempt = attempt, .transport = e, .status = status, .aws_code = code };
 *         if (!retry_bounded_again(&b, &in)) break;   // slept b's wait when it returns true
 *     }
 */
struct retry_bounded {
    uint32_t max_attempts;        /* attempts in all, the first included (>= 1) */
    int64_t delay_ms;             /* the wait before retry n: delay_ms, or n x delay_ms when linear */
    bool linear;                  /* web identity waits 0.5 s, then 1 s; the container endpoint 1 s each time */
    bool modeled_only;            /* retry only what the client marks as modeled (IMDS: one 401, after a new token) */
    void (*sleep_ms)(int64_t ms); /* NULL: no wait */
};

/* After attempt in->attempt: true when another attempt is to be made (the wait has then been slept). */
bool retry_bounded_again(const struct retry_bounded *b, const struct retry_input *in);

#endif
