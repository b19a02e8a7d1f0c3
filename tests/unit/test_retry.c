/*
 * test_retry.c - net/retry (standard/adaptive decision, backoff, quota, counters) and net/ratelimit (CUBIC,
 * token bucket, rate clocker), the latter checked against numbers printed by botocore 1.29's own classes
 * (retries/throttling.py, bucket.py, adaptive.py) driven by a fake clock.
 *
 * No test reads a clock or sleeps: time is passed in, jitter is injected.
 */
#include "harness.h"

#include "net/ratelimit.h"
#include "net/retry.h"

#include <stdio.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static double s_abs(double x) {
    return x < 0 ? -x : x;
}

static bool s_near(double got, double want) {
    double tol = 1e-9 * (s_abs(want) > 1 ? s_abs(want) : 1);
    if (s_abs(got - want) <= tol) {
        return true;
    }
    harness_note("got %.17g want %.17g", got, want);
    return false;
}

#define CHECK_NEAR(got, want) CHECK(s_near((got), (want)))

/* A jitter source that replays a list, then repeats the last value. */
struct fake_jitter {
    const double *values;
    size_t n;
    size_t next;
};

static double s_fake_jitter(void *ctx) {
    struct fake_jitter *j = ctx;
    double v = j->values[j->next < j->n ? j->next : j->n - 1];
    if (j->next < j->n) {
        j->next++;
    }
    return v;
}

static struct retry_input s_http(uint32_t attempt, long status, const char *code) {
    struct retry_input in = { .attempt = attempt, .transport = ERR_OK, .status = status };
    if (code != NULL) {
        in.aws_code = span_from_cstr(code);
    }
    return in;
}

static struct retry_input s_transport(uint32_t attempt, enum err e) {
    return (struct retry_input){ .attempt = attempt, .transport = e };
}

static enum retry_class s_class(long status, const char *code) {
    struct retry_input in = s_http(1, status, code);
    return retry_classify(&in);
}

/* ---- classification ---- */

TEST(retry_classify_every_throttling_code) {
    static const char *codes[] = {
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
    for (size_t i = 0; i < COUNT(codes); i++) {
        if (!CHECK_INT(s_class(400, codes[i]), RETRY_CLASS_THROTTLING)) {
            harness_note("code %s", codes[i]);
        }
        CHECK(retry_is_throttling_code(span_from_cstr(codes[i])));
    }
}

TEST(retry_classify_http_429_is_throttling_without_code) {
    CHECK_INT(s_class(429, NULL), RETRY_CLASS_THROTTLING);
    CHECK_INT(s_class(429, "SomethingElse"), RETRY_CLASS_THROTTLING);
}

TEST(retry_classify_transient_codes) {
    CHECK_INT(s_class(400, "RequestTimeout"), RETRY_CLASS_TRANSIENT);
    CHECK_INT(s_class(408, "RequestTimeoutException"), RETRY_CLASS_TRANSIENT);
    CHECK(retry_is_transient_code(SPAN_LIT("RequestTimeout")));
    CHECK(!retry_is_transient_code(SPAN_LIT("InternalError")));
}

TEST(retry_classify_prior_request_not_complete_counts_as_throttling) {
    /* It is in both lists; the SDKs test throttling first (it also feeds the adaptive limiter). */
    CHECK(retry_is_transient_code(SPAN_LIT("PriorRequestNotComplete")));
    CHECK_INT(s_class(400, "PriorRequestNotComplete"), RETRY_CLASS_THROTTLING);
}

TEST(retry_classify_transient_statuses) {
    static const long statuses[] = { 500, 502, 503, 504 };
    for (size_t i = 0; i < COUNT(statuses); i++) {
        CHECK_INT(s_class(statuses[i], NULL), RETRY_CLASS_TRANSIENT);
        CHECK_INT(s_class(statuses[i], "InternalError"), RETRY_CLASS_TRANSIENT);
    }
}

TEST(retry_classify_other_5xx_not_retryable) {
    CHECK_INT(s_class(501, NULL), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(505, NULL), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(599, NULL), RETRY_CLASS_NOT_RETRYABLE);
}

TEST(retry_classify_s3_slowdown_503_is_throttling) {
    CHECK_INT(s_class(503, "SlowDown"), RETRY_CLASS_THROTTLING);
}

TEST(retry_classify_transport_timeout) {
    struct retry_input in = s_transport(1, ERR_TIMEOUT);
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TIMEOUT);
}

TEST(retry_classify_transport_net_and_tls_are_transient) {
    struct retry_input in = s_transport(1, ERR_NET);
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TRANSIENT);
    in.transport = ERR_TLS;
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TRANSIENT);
}

TEST(retry_classify_other_transport_errors_not_retryable) {
    static const enum err errs[] = { ERR_LIMIT, ERR_INVALID, ERR_CANCELLED, ERR_NOMEM, ERR_PARSE };
    for (size_t i = 0; i < COUNT(errs); i++) {
        struct retry_input in = s_transport(1, errs[i]);
        CHECK_INT(retry_classify(&in), RETRY_CLASS_NOT_RETRYABLE);
    }
}

TEST(retry_classify_transport_error_ignores_status_and_code) {
    struct retry_input in = s_transport(1, ERR_LIMIT);
    in.status = 503;
    in.aws_code = SPAN_LIT("Throttling");
    CHECK_INT(retry_classify(&in), RETRY_CLASS_NOT_RETRYABLE);
}

TEST(retry_classify_access_denied_not_retryable) {
    CHECK_INT(s_class(403, "AccessDenied"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "AccessDeniedException"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(403, "UnauthorizedOperation"), RETRY_CLASS_NOT_RETRYABLE);
}

TEST(retry_classify_validation_errors_not_retryable) {
    CHECK_INT(s_class(400, "ValidationError"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "ValidationException"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "InvalidParameterValue"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "InvalidSnapshot.InUse"), RETRY_CLASS_NOT_RETRYABLE);
}

TEST(retry_classify_plain_4xx_not_retryable) {
    static const long statuses[] = { 400, 401, 403, 404, 409, 413 };
    for (size_t i = 0; i < COUNT(statuses); i++) {
        CHECK_INT(s_class(statuses[i], NULL), RETRY_CLASS_NOT_RETRYABLE);
    }
}

TEST(retry_classify_skew_uncorrected_not_retryable) {
    static const char *codes[] = { "AuthFailure",        "InvalidSignatureException", "RequestExpired",
                                   "RequestInTheFuture", "RequestTimeTooSkewed",      "SignatureDoesNotMatch" };
    for (size_t i = 0; i < COUNT(codes); i++) {
        CHECK(retry_is_clock_skew_code(span_from_cstr(codes[i])));
        CHECK_INT(s_class(403, codes[i]), RETRY_CLASS_NOT_RETRYABLE);
    }
    CHECK(!retry_is_clock_skew_code(SPAN_LIT("AccessDenied")));
}

TEST(retry_classify_skew_corrected_is_transient) {
    struct retry_input in = s_http(1, 403, "RequestTimeTooSkewed");
    in.skew_corrected = true;
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TRANSIENT);
    in = s_http(1, 401, "AuthFailure");
    in.skew_corrected = true;
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TRANSIENT);
}

TEST(retry_classify_success_statuses) {
    CHECK_INT(s_class(200, NULL), RETRY_CLASS_SUCCESS);
    CHECK_INT(s_class(204, NULL), RETRY_CLASS_SUCCESS);
    CHECK_INT(s_class(304, NULL), RETRY_CLASS_SUCCESS);
    CHECK_INT(s_class(200, ""), RETRY_CLASS_SUCCESS);
}

TEST(retry_classify_code_in_200_body_wins) {
    /* S3 CopyObject may answer 200 with an error document; the caller passes its code. */
    CHECK_INT(s_class(200, "SlowDown"), RETRY_CLASS_THROTTLING);
    CHECK_INT(s_class(200, "InternalError"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "RequestTimeout"), RETRY_CLASS_TRANSIENT);
}

TEST(retry_classify_modeled_errors) {
    struct retry_input in = s_http(1, 400, "IdempotentParameterMismatch");
    in.modeled = RETRY_MODELED_TRANSIENT;
    CHECK_INT(retry_classify(&in), RETRY_CLASS_TRANSIENT);
    in.modeled = RETRY_MODELED_THROTTLING;
    CHECK_INT(retry_classify(&in), RETRY_CLASS_THROTTLING);
}

TEST(retry_classify_codes_are_case_sensitive) {
    /* The SDKs compare with `in` / includes(): exact. */
    CHECK_INT(s_class(400, "throttling"), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "Throttling "), RETRY_CLASS_NOT_RETRYABLE);
    CHECK_INT(s_class(400, "ThrottlingExceptionX"), RETRY_CLASS_NOT_RETRYABLE);
}

/* ---- backoff ---- */

TEST(retry_backoff_first_attempt_bounds) {
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, 0.0), 0);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, 0.5), 50);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, 0.999999), 99);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TIMEOUT, 1, 0.5), 50);
}

TEST(retry_backoff_throttling_base_is_500ms) {
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_THROTTLING, 1, 0.5), 250);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_THROTTLING, 2, 0.5), 500);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_THROTTLING, 3, 0.999999), 1999);
}

TEST(retry_backoff_doubles_per_attempt_table) {
    static const struct {
        enum retry_class cls;
        uint32_t attempt;
        double jitter;
        int64_t want;
    } cases[] = {
        { RETRY_CLASS_TRANSIENT, 1, 0.25, 25 },    { RETRY_CLASS_TRANSIENT, 2, 0.25, 50 },
        { RETRY_CLASS_TRANSIENT, 3, 0.25, 100 },   { RETRY_CLASS_TRANSIENT, 8, 0.5, 6400 },
        { RETRY_CLASS_TRANSIENT, 9, 0.5, 10000 },  { RETRY_CLASS_TRANSIENT, 10, 0.5, 10000 },
        { RETRY_CLASS_THROTTLING, 6, 0.5, 8000 },  { RETRY_CLASS_THROTTLING, 7, 0.5, 10000 },
        { RETRY_CLASS_THROTTLING, 7, 0.25, 5000 }, { RETRY_CLASS_TIMEOUT, 4, 1.0 / 8, 100 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        if (!CHECK_INT(retry_backoff_ms(cases[i].cls, cases[i].attempt, cases[i].jitter), cases[i].want)) {
            harness_note("case %zu", i);
        }
    }
}

TEST(retry_backoff_capped_at_20s) {
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 20, 0.999999), 19999);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_THROTTLING, 100, 0.999999), 19999);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 40, 0.5), 10000);
}

TEST(retry_backoff_huge_attempt_does_not_overflow) {
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, UINT32_MAX, 0.5), 10000);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 0, 0.5), 50);
}

TEST(retry_backoff_bad_jitter_is_clamped) {
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, -1.0), 0);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, __builtin_nan("")), 0);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, 1.0), 99);
    CHECK_INT(retry_backoff_ms(RETRY_CLASS_TRANSIENT, 1, 7.0), 99);
}

TEST(retry_backoff_property_within_full_jitter_window) {
    uint64_t rng = harness_seed();
    for (int i = 0; i < 5000; i++) {
        uint32_t attempt = (uint32_t) harness_rng_range(&rng, 1, 30);
        double jitter = (double) harness_rng_range(&rng, 0, 999999) / 1e6;
        enum retry_class cls = harness_rng_range(&rng, 0, 1) ? RETRY_CLASS_THROTTLING : RETRY_CLASS_TRANSIENT;
        double base = cls == RETRY_CLASS_THROTTLING ? 500 : 100;
        double cap = base;
        for (uint32_t k = 1; k < attempt; k++) {
            cap *= 2;
        }
        cap = cap < 20000 ? cap : 20000;
        int64_t d = retry_backoff_ms(cls, attempt, jitter);
        if (!CHECK(d >= 0 && (double) d < cap && d == (int64_t) (jitter * cap))) {
            harness_note("attempt %u jitter %f delay %lld cap %f", attempt, jitter, (long long) d, cap);
            return;
        }
    }
}

/* ---- the pure decision ---- */

TEST(retry_decide_default_three_attempts) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD };
    struct retry_decision d;
    struct retry_input in = s_http(1, 503, NULL);
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(d.retry);
    CHECK_INT(d.stop, RETRY_STOP_NONE);
    CHECK_INT(d.delay_ms, 50);
    CHECK_INT(d.cost, 5);
    in.attempt = 2;
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(d.retry);
    CHECK_INT(d.delay_ms, 100);
    in.attempt = 3;
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_MAX_ATTEMPTS);
    CHECK_INT(d.cls, RETRY_CLASS_TRANSIENT);
    CHECK_INT(d.delay_ms, 0);
}

TEST(retry_decide_max_attempts_one_never_retries) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 1 };
    struct retry_decision d;
    struct retry_input in = s_http(1, 400, "Throttling");
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_MAX_ATTEMPTS);
    CHECK_INT(d.cls, RETRY_CLASS_THROTTLING);
}

TEST(retry_decide_max_attempts_five) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 5 };
    struct retry_decision d;
    for (uint32_t a = 1; a <= 5; a++) {
        struct retry_input in = s_transport(a, ERR_NET);
        retry_decide(&cfg, &in, 500, 0.5, &d);
        CHECK(d.retry == (a < 5));
    }
}

TEST(retry_decide_not_retryable_costs_nothing) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD };
    struct retry_decision d;
    struct retry_input in = s_http(1, 403, "AccessDenied");
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_NOT_RETRYABLE);
    CHECK_INT(d.cost, 0);
    in = s_http(1, 200, NULL);
    retry_decide(&cfg, &in, 0, 0.5, &d);
    CHECK_INT(d.stop, RETRY_STOP_SUCCESS);
}

TEST(retry_decide_quota_cannot_pay) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD };
    struct retry_decision d;
    struct retry_input in = s_http(1, 500, NULL);
    retry_decide(&cfg, &in, 4, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_QUOTA);
    retry_decide(&cfg, &in, 5, 0.5, &d);
    CHECK(d.retry);
}

TEST(retry_decide_timeout_costs_ten) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD };
    struct retry_decision d;
    struct retry_input in = s_transport(1, ERR_TIMEOUT);
    retry_decide(&cfg, &in, 9, 0.5, &d);
    CHECK_INT(d.stop, RETRY_STOP_QUOTA);
    retry_decide(&cfg, &in, 10, 0.5, &d);
    CHECK(d.retry);
    CHECK_INT(d.cost, 10);
    CHECK_INT(d.cls, RETRY_CLASS_TIMEOUT);
}

TEST(retry_decide_is_pure) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD };
    struct retry_input in = s_http(2, 400, "ThrottlingException");
    struct retry_decision a, b;
    retry_decide(&cfg, &in, 100, 0.3, &a);
    retry_decide(&cfg, &in, 100, 0.3, &b);
    CHECK(a.retry == b.retry && a.delay_ms == b.delay_ms && a.cost == b.cost && a.cls == b.cls);
    CHECK_INT(a.delay_ms, 300);
}

/* ---- policy state: quota, counters ---- */

static double s_half(void *ctx) {
    (void) ctx;
    return 0.5;
}

static void s_policy(struct retry_policy *p, enum retry_mode mode, uint32_t max_attempts) {
    struct retry_config cfg = { .mode = mode, .max_attempts = max_attempts, .jitter = s_half };
    retry_policy_init(p, &cfg, 0);
}

/* Runs one attempt through the policy; returns the decision. */
static struct retry_decision s_attempt(struct retry_policy *p, struct retry_state *st, struct retry_input in) {
    struct retry_decision d;
    CHECK_INT(retry_before_attempt(p, st, 0), 0);
    in.attempt = st->attempt;
    retry_after_attempt(p, st, &in, 0, &d);
    return d;
}

TEST(retry_policy_defaults) {
    struct retry_policy p;
    retry_policy_init(&p, NULL, 0);
    CHECK_INT(p.cfg.mode, RETRY_MODE_STANDARD);
    CHECK_INT(p.cfg.max_attempts, 3);
    CHECK_INT(p.quota, 500);
    struct retry_state st;
    retry_state_init(&st);
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 500, NULL));
    CHECK(d.retry);
    CHECK(d.delay_ms >= 0 && d.delay_ms < 100); /* kernel jitter */
}

TEST(retry_policy_quota_drains_then_stops) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 2);
    /* 100 requests each failing once with a 503 take 100 × 5 = 500 tokens (their retries fail too). */
    for (int i = 0; i < 100; i++) {
        struct retry_state st;
        retry_state_init(&st);
        struct retry_decision d = s_attempt(&p, &st, s_http(0, 503, NULL));
        REQUIRE(d.retry);
        d = s_attempt(&p, &st, s_http(0, 503, NULL));
        REQUIRE(!d.retry && d.stop == RETRY_STOP_MAX_ATTEMPTS);
    }
    CHECK_INT(p.quota, 0);
    struct retry_state st;
    retry_state_init(&st);
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 503, NULL));
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_QUOTA);
    CHECK_INT(p.counters.quota_exhausted, 1);
    CHECK_INT(p.counters.max_attempts, 100);
}

TEST(retry_policy_first_try_success_adds_one) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    p.quota = 3;
    struct retry_state st;
    retry_state_init(&st);
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 200, NULL));
    CHECK_INT(d.stop, RETRY_STOP_SUCCESS);
    CHECK_INT(p.quota, 4);
    /* Now a retry is affordable again after one more success. */
    retry_state_init(&st);
    d = s_attempt(&p, &st, s_http(0, 500, NULL));
    CHECK_INT(d.stop, RETRY_STOP_QUOTA);
    retry_state_init(&st);
    (void) s_attempt(&p, &st, s_http(0, 200, NULL));
    retry_state_init(&st);
    d = s_attempt(&p, &st, s_http(0, 500, NULL));
    CHECK(d.retry);
    CHECK_INT(p.quota, 0);
}

TEST(retry_policy_success_after_retry_refunds_last_cost) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    p.quota = 100;
    struct retry_state st;
    retry_state_init(&st);
    (void) s_attempt(&p, &st, s_http(0, 500, NULL));
    CHECK_INT(p.quota, 95);
    (void) s_attempt(&p, &st, s_transport(0, ERR_TIMEOUT));
    CHECK_INT(p.quota, 85);
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 200, NULL));
    CHECK_INT(d.stop, RETRY_STOP_SUCCESS);
    CHECK_INT(p.quota, 95); /* the last retry (a timeout, 10) comes back; the first 5 does not */
}

TEST(retry_policy_quota_never_above_initial) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    for (int i = 0; i < 10; i++) {
        struct retry_state st;
        retry_state_init(&st);
        (void) s_attempt(&p, &st, s_http(0, 200, NULL));
    }
    CHECK_INT(p.quota, 500);
    p.quota = 497;
    struct retry_state st;
    retry_state_init(&st);
    st.last_cost = 10; /* as after a timeout retry */
    struct retry_input in = s_http(2, 200, NULL);
    struct retry_decision d;
    retry_after_attempt(&p, &st, &in, 0, &d);
    CHECK_INT(p.quota, 500);
}

TEST(retry_policy_failure_after_retries_refunds_nothing) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 2);
    struct retry_state st;
    retry_state_init(&st);
    (void) s_attempt(&p, &st, s_http(0, 500, NULL));
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 403, "AccessDenied"));
    CHECK_INT(d.stop, RETRY_STOP_NOT_RETRYABLE);
    CHECK_INT(p.quota, 495);
}

TEST(retry_policy_counters) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    struct retry_state st;
    retry_state_init(&st);
    (void) s_attempt(&p, &st, s_http(0, 400, "Throttling"));
    (void) s_attempt(&p, &st, s_transport(0, ERR_TIMEOUT));
    (void) s_attempt(&p, &st, s_http(0, 200, NULL));
    retry_state_init(&st);
    (void) s_attempt(&p, &st, s_http(0, 200, NULL));
    CHECK_INT(p.counters.attempts, 4);
    CHECK_INT(p.counters.retries, 2);
    CHECK_INT(p.counters.throttles, 1);
    CHECK_INT(p.counters.timeouts, 1);
    CHECK_INT(p.counters.quota_exhausted, 0);
    CHECK_INT(p.counters.max_attempts, 0);
}

TEST(retry_policy_throttling_burst_ends_in_success) {
    static const double jitters[] = { 0.1, 0.9 };
    struct fake_jitter fj = { jitters, COUNT(jitters), 0 };
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .jitter = s_fake_jitter, .jitter_ctx = &fj };
    struct retry_policy p;
    retry_policy_init(&p, &cfg, 0);
    struct retry_state st;
    retry_state_init(&st);
    struct retry_decision d = s_attempt(&p, &st, s_http(0, 503, "SlowDown"));
    CHECK(d.retry);
    CHECK_INT(d.delay_ms, 50); /* 0.1 × 500 */
    d = s_attempt(&p, &st, s_http(0, 400, "RequestLimitExceeded"));
    CHECK(d.retry);
    CHECK_INT(d.delay_ms, 900); /* 0.9 × 1000 */
    d = s_attempt(&p, &st, s_http(0, 200, NULL));
    CHECK_INT(d.stop, RETRY_STOP_SUCCESS);
    CHECK_INT(st.attempt, 3);
    CHECK_INT(p.quota, 495);
}

TEST(retry_policy_jitter_is_drawn_per_decision) {
    static const double jitters[] = { 0.2, 0.4, 0.6 };
    struct fake_jitter fj = { jitters, COUNT(jitters), 0 };
    struct retry_config cfg = {
        .mode = RETRY_MODE_STANDARD, .max_attempts = 4, .jitter = s_fake_jitter, .jitter_ctx = &fj
    };
    struct retry_policy p;
    retry_policy_init(&p, &cfg, 0);
    struct retry_state st;
    retry_state_init(&st);
    CHECK_INT(s_attempt(&p, &st, s_transport(0, ERR_NET)).delay_ms, 20);
    CHECK_INT(s_attempt(&p, &st, s_transport(0, ERR_NET)).delay_ms, 80);
    CHECK_INT(s_attempt(&p, &st, s_transport(0, ERR_NET)).delay_ms, 240);
    CHECK_INT(fj.next, 3);
}

TEST(retry_policy_legacy_behaves_as_standard) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_LEGACY, 0);
    CHECK_INT(p.cfg.max_attempts, 3);
    struct retry_state st;
    retry_state_init(&st);
    for (int i = 0; i < 5; i++) {
        (void) s_attempt(&p, &st, s_http(0, 400, "Throttling"));
    }
    /* Legacy never consults the limiter: every attempt went at once. */
    CHECK_INT(retry_before_attempt(&p, &st, 0), 0);
    CHECK_INT(p.counters.limiter_waits, 0);
}

/* ---- configuration parsing ---- */

TEST(retry_mode_parse_table) {
    static const struct {
        const char *in;
        int err;
        enum retry_mode want;
    } cases[] = {
        { "standard", ERR_OK, RETRY_MODE_STANDARD },
        { "Adaptive", ERR_OK, RETRY_MODE_ADAPTIVE },
        { " legacy ", ERR_OK, RETRY_MODE_LEGACY },
        { "", ERR_CONFIG, 0 },
        { "fast", ERR_CONFIG, 0 },
        { "standard2", ERR_CONFIG, 0 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        enum retry_mode m = RETRY_MODE_STANDARD;
        CHECK_INT(retry_mode_parse(span_from_cstr(cases[i].in), &m), cases[i].err);
        if (cases[i].err == ERR_OK) {
            CHECK_INT(m, cases[i].want);
            CHECK(span_eq_nocase(span_trim(span_from_cstr(cases[i].in)), span_from_cstr(retry_mode_name(m))));
        }
    }
}

TEST(retry_max_attempts_parse_table) {
    static const struct {
        const char *in;
        int err;
        uint32_t want;
    } cases[] = {
        { "1", ERR_OK, 1 },       { "3", ERR_OK, 3 },      { "100", ERR_OK, 100 },
        { "101", ERR_CONFIG, 0 }, { "0", ERR_CONFIG, 0 },  { "-1", ERR_CONFIG, 0 },
        { "", ERR_CONFIG, 0 },    { "3x", ERR_CONFIG, 0 }, { "99999999999999999999", ERR_CONFIG, 0 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint32_t v = 0;
        if (!CHECK_INT(retry_max_attempts_parse(span_from_cstr(cases[i].in), &v), cases[i].err)) {
            harness_note("input '%s'", cases[i].in);
        }
        if (cases[i].err == ERR_OK) {
            CHECK_INT(v, cases[i].want);
        }
    }
}

TEST(retry_names) {
    CHECK_STR(retry_class_name(RETRY_CLASS_THROTTLING), "throttling");
    CHECK_STR(retry_class_name(RETRY_CLASS_NOT_RETRYABLE), "not_retryable");
    CHECK_STR(retry_stop_name(RETRY_STOP_QUOTA), "quota");
    CHECK_STR(retry_stop_name(RETRY_STOP_MAX_ATTEMPTS), "max_attempts");
}

/* ---- adaptive limiter, against botocore ---- */

TEST(ratelimit_cubic_matches_botocore) {
    /* CubicCalculator(starting_max_rate=10, start_time=0) */
    struct ratelimit_cubic c;
    ratelimit_cubic_init(&c, 10, 0);
    CHECK_NEAR(c.k, 1.9574338205844317);
    static const struct {
        double t, want;
    } cases[] = {
        { 0, 7.0 },
        { 1, 9.64893600966 },
        { 2, 10.000030849917364 },
        { 3, 10.453284520772092 },
        { 4, 13.408697022224185 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        CHECK_NEAR(ratelimit_cubic_success(&c, cases[i].t), cases[i].want);
    }
}

TEST(ratelimit_cubic_error_restarts_curve) {
    struct ratelimit_cubic c;
    ratelimit_cubic_init(&c, 10, 0);
    CHECK_NEAR(ratelimit_cubic_error(&c, 10, 5), 7.0);
    CHECK_NEAR(c.k, 1.9574338205844317);
    CHECK_NEAR(ratelimit_cubic_success(&c, 5), 7.0);
    CHECK_NEAR(ratelimit_cubic_success(&c, 7), 10.000030849917364);
    CHECK_NEAR(ratelimit_cubic_success(&c, 9.5), 16.574712834424243);
    /* Starting from rate 0 the curve is flat at 0 until the first error. */
    ratelimit_cubic_init(&c, 0, 100);
    CHECK_NEAR(c.k, 0);
    CHECK_NEAR(ratelimit_cubic_success(&c, 100), 0);
    CHECK_NEAR(ratelimit_cubic_success(&c, 102), 3.2);
}

TEST(ratelimit_clocker_matches_botocore) {
    struct ratelimit_clocker k;
    ratelimit_clocker_init(&k, 100.2);
    static const struct {
        double t, want;
    } cases[] = {
        { 100.2, 0 },    { 100.3, 0 },    { 100.4, 0 },    { 100.6, 6.4 },   { 100.7, 6.4 },
        { 101.1, 4.48 }, { 101.2, 4.48 }, { 101.3, 4.48 }, { 103.0, 2.096 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        if (!CHECK_NEAR(ratelimit_clocker_record(&k, cases[i].t), cases[i].want)) {
            harness_note("t %.1f", cases[i].t);
        }
    }
}

TEST(ratelimit_bucket_matches_botocore) {
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, 1, 0);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 0.5), 0.5); /* half a token there, wait half a second */
    CHECK_NEAR(b.capacity, 0.5);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 1.0), 0);
    CHECK_NEAR(b.capacity, 0);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 1.5), 0.5);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 2.0), 0);
    ratelimit_bucket_set_max_rate(&b, 5, 3.0);
    CHECK_NEAR(b.fill_rate, 5);
    CHECK_NEAR(b.max_capacity, 5);
    CHECK_NEAR(b.capacity, 1);
}

TEST(ratelimit_bucket_rate_floor_and_capacity) {
    struct ratelimit_bucket b;
    ratelimit_bucket_init(&b, 5, 0);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 10), 0); /* full (5), one taken */
    CHECK_NEAR(b.capacity, 4);
    ratelimit_bucket_set_max_rate(&b, 0.2, 11);
    CHECK_NEAR(b.fill_rate, 0.5); /* floor */
    CHECK_NEAR(b.max_capacity, 1);
    CHECK_NEAR(b.capacity, 1); /* trimmed to the new maximum */
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 11), 0);
    CHECK_NEAR(ratelimit_bucket_acquire(&b, 1, 11), 2.0); /* one token at 0.5/s */
}

TEST(ratelimit_limiter_sequence_matches_botocore) {
    /* ClientRateLimiter built as register_retry_handler does, at t=1000, then these replies. */
    static const struct {
        double t;
        bool throttled;
        bool enabled;
        double measured, fill_rate, max_capacity, capacity, w_max, k;
    } ev[] = {
        { 1000.1, false, false, 0, 0.5, 1, 0.10000000000002274, 0, 0 },
        { 1000.3, false, false, 0, 0.5, 1, 0.19999999999998863, 0, 0 },
        { 1000.6, false, false, 4.800000000000001, 0.5, 1, 0.35000000000002274, 0, 0 },
        { 1000.8, false, false, 4.800000000000001, 0.5, 1, 0.44999999999998863, 0, 0 },
        { 1001.1, false, false, 4.16, 0.5324000000000331, 1, 0.6000000000000227, 0, 0 },
        { 1001.2, true, true, 4.16, 2.912, 2.912, 0.6532400000000381, 4.16, 1.4612287148125607 },
        { 1001.4,
          false,
          true,
          4.16,
          3.3575064673671315,
          3.3575064673671315,
          1.2356399999998393,
          4.16,
          1.4612287148125607 },
        { 1001.7,
          false,
          true,
          5.632000000000001,
          3.8047449997518927,
          3.8047449997518927,
          2.2428919402102077,
          4.16,
          1.4612287148125607 },
        { 1002.2,
          true,
          true,
          2.7264,
          1.9084799999999997,
          1.9084799999999997,
          1.9084799999999997,
          2.7264,
          1.2692590796821506 },
        { 1002.6,
          false,
          true,
          2.14528,
          2.463671190151685,
          2.463671190151685,
          1.9084799999999997,
          2.7264,
          1.2692590796821506 },
        { 1003.1,
          false,
          true,
          2.029056,
          2.7062602748129723,
          2.7062602748129723,
          2.463671190151685,
          2.7264,
          1.2692590796821506 },
        { 1004.0,
          false,
          true,
          1.2058111999999999,
          2.4116223999999997,
          2.4116223999999997,
          2.4116223999999997,
          2.7264,
          1.2692590796821506 },
        { 1006.0,
          false,
          true,
          0.6411622399999999,
          1.2823244799999998,
          1.2823244799999998,
          1.2823244799999998,
          2.7264,
          1.2692590796821506 },
    };
    struct ratelimit rl;
    ratelimit_init(&rl, 1000.0);
    for (size_t i = 0; i < COUNT(ev); i++) {
        ratelimit_on_response(&rl, ev[i].throttled, ev[i].t);
        bool ok = CHECK(rl.enabled == ev[i].enabled);
        ok = CHECK_NEAR(rl.clocker.measured_rate, ev[i].measured) && ok;
        ok = CHECK_NEAR(rl.bucket.fill_rate, ev[i].fill_rate) && ok;
        ok = CHECK_NEAR(rl.bucket.max_capacity, ev[i].max_capacity) && ok;
        ok = CHECK_NEAR(rl.bucket.capacity, ev[i].capacity) && ok;
        ok = CHECK_NEAR(rl.cubic.w_max, ev[i].w_max) && ok;
        ok = CHECK_NEAR(rl.cubic.k, ev[i].k) && ok;
        if (!ok) {
            harness_note("event %zu at t=%.1f", i, ev[i].t);
            return;
        }
    }
    CHECK_INT(rl.throttles, 2);
}

TEST(ratelimit_off_until_first_throttle) {
    struct ratelimit rl;
    ratelimit_init(&rl, 0);
    for (int i = 0; i < 100; i++) {
        CHECK_NEAR(ratelimit_acquire(&rl, 0.001 * i), 0);
    }
    CHECK(!rl.enabled);
    CHECK_INT(rl.delays, 0);
}

TEST(retry_adaptive_limiter_delays_after_throttle) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_ADAPTIVE, 3);
    struct retry_state st;
    retry_state_init(&st);
    int64_t now = 0;
    /* Ten quick successes: no waiting. */
    for (int i = 0; i < 10; i++) {
        REQUIRE(retry_before_attempt(&p, &st, now) == 0);
        struct retry_input in = s_http(st.attempt, 200, NULL);
        struct retry_decision d;
        retry_after_attempt(&p, &st, &in, now, &d);
        retry_state_init(&st);
        now += 100;
    }
    CHECK(!p.limiter.enabled);
    /* One throttling reply turns the limiter on. */
    REQUIRE(retry_before_attempt(&p, &st, now) == 0);
    struct retry_input in = s_http(st.attempt, 400, "Throttling");
    struct retry_decision d;
    retry_after_attempt(&p, &st, &in, now, &d);
    CHECK(d.retry);
    CHECK(p.limiter.enabled);
    /* Drain the bucket; the next attempt must wait, and may go once that time has passed. */
    int64_t wait = 0;
    for (int i = 0; i < 20 && wait == 0; i++) {
        wait = retry_before_attempt(&p, &st, now);
    }
    CHECK(wait > 0);
    CHECK(p.counters.limiter_waits >= 1);
    uint32_t before = st.attempt;
    CHECK_INT(retry_before_attempt(&p, &st, now + wait), 0);
    CHECK_INT(st.attempt, before + 1);
}

TEST(retry_adaptive_counts_only_sent_attempts) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_ADAPTIVE, 3);
    p.limiter.enabled = true;
    p.limiter.bucket.capacity = 0;
    struct retry_state st;
    retry_state_init(&st);
    int64_t wait = retry_before_attempt(&p, &st, 0);
    CHECK(wait > 0);
    CHECK_INT(st.attempt, 0);
    CHECK_INT(p.counters.attempts, 0);
}

TEST(retry_standard_never_waits_for_limiter) {
    struct retry_policy p;
    s_policy(&p, RETRY_MODE_STANDARD, 3);
    p.limiter.enabled = true;
    p.limiter.bucket.capacity = 0;
    struct retry_state st;
    retry_state_init(&st);
    CHECK_INT(retry_before_attempt(&p, &st, 0), 0);
    CHECK_INT(st.attempt, 1);
}

/* ---- paced limiters (EC2's documented buckets) and the deadline rule ---- */

TEST(ratelimit_paced_bursts_the_bucket_then_refills_at_the_documented_rate) {
    struct ratelimit rl;
    ratelimit_init_paced(&rl, 100, 5, 1000.0);
    CHECK(rl.enabled);
    for (int i = 0; i < 100; i++) {
        CHECK_NEAR(ratelimit_acquire(&rl, 1000.0), 0); /* the whole bucket at once, as the server allows */
    }
    CHECK_NEAR(ratelimit_acquire(&rl, 1000.0), 0.2); /* then one token per 1/5 s */
    CHECK_NEAR(ratelimit_acquire(&rl, 1000.2), 0);
    CHECK_NEAR(ratelimit_acquire(&rl, 1000.3), 0.1);
    /* Successes never push the rate above the documented refill. */
    for (int i = 0; i < 50; i++) {
        ratelimit_on_response(&rl, false, 1001.0 + i);
    }
    CHECK_NEAR(ratelimit_rate(&rl), 5);
    /* After a long idle the bucket is full again, never above its size. */
    for (int i = 0; i < 100; i++) {
        CHECK_NEAR(ratelimit_acquire(&rl, 2000.0), 0);
    }
    CHECK(ratelimit_acquire(&rl, 2000.0) > 0);
}

TEST(ratelimit_paced_throttle_lowers_the_rate_and_it_recovers) {
    struct ratelimit rl;
    ratelimit_init_paced(&rl, 100, 5, 0.0);
    ratelimit_on_response(&rl, true, 10.0);
    CHECK_NEAR(ratelimit_rate(&rl), 5 * RATELIMIT_BETA); /* β × the rate we were sending at */
    CHECK_NEAR(rl.bucket.capacity, 0);                   /* the server said its bucket is empty */
    CHECK_INT(rl.throttles, 1);
    /* CUBIC: back at the old rate K = ∛(5 × 0.3 / 0.4) s after the throttle, and capped there. */
    double k = rl.cubic.k;
    CHECK(k > 1.5 && k < 1.6);
    ratelimit_on_response(&rl, false, 10.0 + k / 2);
    double mid = ratelimit_rate(&rl);
    CHECK(mid > 3.5 && mid < 5);
    ratelimit_on_response(&rl, false, 10.0 + k + 5);
    CHECK_NEAR(ratelimit_rate(&rl), 5);
    /* Repeated throttles keep lowering it, never under the floor rate. */
    for (int i = 0; i < 40; i++) {
        ratelimit_on_response(&rl, true, 100.0 + i * 0.01);
    }
    CHECK_NEAR(ratelimit_rate(&rl), RATELIMIT_MIN_RATE);
}

TEST(retry_throttling_until_deadline_ignores_attempts_and_quota) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 3, .throttle_until_deadline = true };
    struct retry_decision d;
    struct retry_input in = s_http(50, 503, "RequestLimitExceeded");
    retry_decide(&cfg, &in, 0, 0.5, &d);
    CHECK(d.retry);
    CHECK_INT(d.cls, RETRY_CLASS_THROTTLING);
    CHECK_INT(d.cost, 0);
    CHECK_INT(d.delay_ms, 10000); /* 0.5 × the 20 s cap */
    /* Every other retryable class keeps AWS_MAX_ATTEMPTS and the quota. */
    in = s_http(3, 503, "ServiceUnavailable");
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_MAX_ATTEMPTS);
    in = s_http(1, 500, NULL);
    retry_decide(&cfg, &in, 4, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_QUOTA);
    in = s_transport(1, ERR_TIMEOUT);
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(d.retry);
    CHECK_INT(d.cost, RETRY_QUOTA_TIMEOUT_COST);
    /* Without the rule (no deadline: debug commands), throttling ends at max attempts as before. */
    cfg.throttle_until_deadline = false;
    in = s_http(3, 503, "RequestLimitExceeded");
    retry_decide(&cfg, &in, 500, 0.5, &d);
    CHECK(!d.retry);
    CHECK_INT(d.stop, RETRY_STOP_MAX_ATTEMPTS);
}

TEST(retry_request_limiter_is_used_in_standard_mode) {
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 3 };
    struct retry_policy p;
    retry_policy_init(&p, &cfg, 0);
    struct ratelimit rl;
    ratelimit_init_paced(&rl, 1, 2, 0.0);
    struct retry_state st;
    retry_state_init(&st);
    st.limiter = &rl;
    CHECK_INT(retry_before_attempt(&p, &st, 0), 0);
    struct retry_state st2;
    retry_state_init(&st2);
    st2.limiter = &rl;
    CHECK_INT(retry_before_attempt(&p, &st2, 0), 501); /* 1 token per 0.5 s, rounded past the ms */
    CHECK_INT(st2.attempt, 0);
    CHECK_INT(p.counters.limiter_waits, 1);
}

/* ---- bounded retry (IMDS, container endpoint, web identity) ---- */

static int64_t s_slept[8];
static size_t s_nslept;

static void s_record_sleep(int64_t ms) {
    if (s_nslept < COUNT(s_slept)) {
        s_slept[s_nslept++] = ms;
    }
}

TEST(retry_bounded_follows_the_decision_and_the_clients_waits) {
    s_nslept = 0;
    /* web identity: 3 attempts, 0.5 s then 1 s; 5xx, transport errors and modeled codes retried. */
    struct retry_bounded b = { .max_attempts = 3, .delay_ms = 500, .linear = true, .sleep_ms = s_record_sleep };
    struct retry_input in = s_transport(1, ERR_NET);
    CHECK(retry_bounded_again(&b, &in));
    in = s_http(2, 503, "");
    CHECK(retry_bounded_again(&b, &in));
    in = s_http(3, 503, "");
    CHECK(!retry_bounded_again(&b, &in)); /* the third attempt was the last */
    CHECK_INT(s_nslept, 2);
    CHECK_INT(s_slept[0], 500);
    CHECK_INT(s_slept[1], 1000);
    in = s_http(1, 400, "InvalidIdentityToken");
    CHECK(!retry_bounded_again(&b, &in)); /* a 4xx the client does not mark: not retried */
    in.modeled = RETRY_MODELED_TRANSIENT;
    CHECK(retry_bounded_again(&b, &in));
    in = s_http(1, 400, "Throttling");
    CHECK(retry_bounded_again(&b, &in));
    in = s_http(1, 403, "AccessDenied");
    CHECK(!retry_bounded_again(&b, &in));
    in = s_http(1, 200, "");
    CHECK(!retry_bounded_again(&b, &in));
    /* container endpoint: 1 s each time; a timeout and a 429 are retried. */
    s_nslept = 0;
    b = (struct retry_bounded){ .max_attempts = 3, .delay_ms = 1000, .sleep_ms = s_record_sleep };
    in = s_transport(1, ERR_TIMEOUT);
    CHECK(retry_bounded_again(&b, &in));
    in = s_http(2, 429, "");
    CHECK(retry_bounded_again(&b, &in));
    CHECK_INT(s_slept[0], 1000);
    CHECK_INT(s_slept[1], 1000);
    /* IMDS: only what the client marks (a 401, once), never a timeout; no wait. */
    s_nslept = 0;
    b = (struct retry_bounded){ .max_attempts = 2, .modeled_only = true, .sleep_ms = s_record_sleep };
    in = s_transport(1, ERR_TIMEOUT);
    CHECK(!retry_bounded_again(&b, &in));
    in = s_http(1, 401, "");
    in.modeled = RETRY_MODELED_TRANSIENT;
    CHECK(retry_bounded_again(&b, &in));
    in.attempt = 2;
    CHECK(!retry_bounded_again(&b, &in));
    CHECK_INT(s_nslept, 0);
}
