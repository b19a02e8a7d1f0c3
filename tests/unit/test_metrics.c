/*
 * test_metrics.c - the CloudWatch metrics of a cycle: derived from the report, one PutMetricData call with
 * Service=Backup on every metric, and the same metrics as a valid Embedded Metric Format line.
 */
#include "harness.h"

#include "backup/metrics.h"
#include "codec/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void s_report(struct arena *a, struct report *r) {
    arena_init(a, 0);
    report_init(r, a, 0);
    memcpy(r->run_id, "11111111-2222-4333-8444-555555555555", RAND_UUID_LEN + 1);
    r->ebs_ran = true;
}

static void s_add(struct report *r, enum report_job job, enum report_action action, uint64_t bytes) {
    struct report_item it = { .action = action, .job = job, .region = "us-east-1", .bytes = bytes };
    (void) report_add(r, &it);
}

TEST(metrics_zero_cycle_still_has_snapshots_created) {
    struct arena a;
    struct report r;
    s_report(&a, &r);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    REQUIRE(m.n == 5);
    const char *names[] = {
        "SnapshotsCreated", "SnapshotsCopied", "SnapshotsDeleted", "Errors", "CycleDurationSeconds"
    };
    const char *units[] = { "Count", "Count", "Count", "Count", "Seconds" };
    for (size_t i = 0; i < 5; i++) {
        CHECK_STR(m.items[i].name, names[i]);
        CHECK_STR(m.items[i].unit, units[i]);
        CHECK(m.items[i].value == 0);
    }
    CHECK(metrics_value(&m, "S3ObjectsCopied") == -1); /* the S3 job did not run */
    report_free(&r);
    arena_free(&a);
}

TEST(metrics_values_come_from_report_counts) {
    struct arena a;
    struct report r;
    s_report(&a, &r);
    r.s3_ran = true;
    r.wall_ms = 12345;
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_COPIED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_DELETED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_DELETED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_DELETED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_SKIPPED, 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_FAILED, 0);
    s_add(&r, REPORT_JOB_S3, REPORT_COPIED, 1000);
    s_add(&r, REPORT_JOB_S3, REPORT_COPIED, 24);
    s_add(&r, REPORT_JOB_S3, REPORT_FAILED, 0);
    s_add(&r, REPORT_JOB_REPORTING, REPORT_FAILED, 0);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    struct report_counts c = report_counts(&r);
    CHECK_INT(m.n, 8);
    CHECK(metrics_value(&m, "SnapshotsCreated") == (double) c.snapshots_created);
    CHECK(metrics_value(&m, "SnapshotsCreated") == 2);
    CHECK(metrics_value(&m, "SnapshotsCopied") == 1);
    CHECK(metrics_value(&m, "SnapshotsDeleted") == 3);
    CHECK(metrics_value(&m, "Errors") == (double) c.failures);
    CHECK(metrics_value(&m, "Errors") == 3); /* every job, the reporting step included */
    CHECK(metrics_value(&m, "CycleDurationSeconds") == 12.345);
    CHECK(metrics_value(&m, "S3ObjectsCopied") == 2);
    CHECK(metrics_value(&m, "S3BytesCopied") == 1024);
    CHECK(metrics_value(&m, "S3ObjectsFailed") == 1);
    CHECK_STR(m.items[6].unit, "Bytes");
    report_free(&r);
    arena_free(&a);
}

TEST(metrics_put_request_one_call_with_the_service_dimension) {
    struct arena a;
    struct report r;
    s_report(&a, &r);
    r.wall_ms = 1500;
    r.s3_ran = true;
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, 0);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    struct query_params q;
    query_init(&q, &a);
    REQUIRE_OK(metrics_put_request(&q, "SmartVault", &m));
    CHECK_SPAN(query_get(&q, "Namespace"), "SmartVault");
    CHECK_SPAN(query_get(&q, "MetricData.member.1.MetricName"), "SnapshotsCreated");
    CHECK_SPAN(query_get(&q, "MetricData.member.1.Value"), "1");
    CHECK_SPAN(query_get(&q, "MetricData.member.1.Unit"), "Count");
    CHECK_SPAN(query_get(&q, "MetricData.member.5.MetricName"), "CycleDurationSeconds");
    CHECK_SPAN(query_get(&q, "MetricData.member.5.Value"), "1.5");
    CHECK_SPAN(query_get(&q, "MetricData.member.5.Unit"), "Seconds");
    for (size_t i = 1; i <= m.n; i++) {
        char name[96];
        snprintf(name, sizeof(name), "MetricData.member.%zu.Dimensions.member.1.Name", i);
        CHECK_SPAN(query_get(&q, name), "Service");
        snprintf(name, sizeof(name), "MetricData.member.%zu.Dimensions.member.1.Value", i);
        CHECK_SPAN(query_get(&q, name), "Backup");
        snprintf(name, sizeof(name), "MetricData.member.%zu.Dimensions.member.2.Name", i);
        CHECK_INT(query_get(&q, name).n, 0);
        snprintf(name, sizeof(name), "MetricData.member.%zu.Timestamp", i);
        CHECK_INT(query_get(&q, name).n, 0); /* CloudWatch stamps it on arrival */
    }
    CHECK_INT(q.n, 1 + 5 * m.n); /* Namespace, then name, value, unit and one dimension pair per metric */
    report_free(&r);
    arena_free(&a);
}

/* Every member of the line checked against the EMF specification's shape. */
TEST(metrics_emf_line_is_valid_emf) {
    struct arena a;
    struct report r;
    s_report(&a, &r);
    r.wall_ms = 2000;
    r.s3_ran = true;
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, 0);
    s_add(&r, REPORT_JOB_S3, REPORT_COPIED, 5000000000ull);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL * 4);
    REQUIRE_OK(metrics_emf_line(&b, "SmartVault", &m, 1767225600123, r.run_id));
    CHECK(strchr(buf_cstr(&b), '\n') == NULL);
    const struct json_value *root;
    REQUIRE_OK(json_parse(&a, buf_span(&b), NULL, &root));
    REQUIRE(json_is(root, JSON_OBJECT));
    const struct json_value *aws = json_get(root, "_aws");
    int64_t ts = 0;
    CHECK_OK(json_as_i64(json_get(aws, "Timestamp"), &ts));
    CHECK_INT(ts, 1767225600123);
    const struct json_value *cwm = json_get(aws, "CloudWatchMetrics");
    REQUIRE(json_is(cwm, JSON_ARRAY) && cwm->count == 1);
    const struct json_value *d = json_first(cwm);
    CHECK_SPAN(json_get_string(d, "Namespace"), "SmartVault");
    const struct json_value *dims = json_get(d, "Dimensions");
    REQUIRE(json_is(dims, JSON_ARRAY) && dims->count == 1);
    REQUIRE(json_is(json_first(dims), JSON_ARRAY) && json_first(dims)->count == 1);
    CHECK_SPAN(json_string(json_first(json_first(dims))), "Service");
    CHECK_SPAN(json_get_string(root, "Service"), "Backup");
    CHECK_SPAN(json_get_string(root, "run_id"), "11111111-2222-4333-8444-555555555555");
    const struct json_value *metrics = json_get(d, "Metrics");
    REQUIRE(json_is(metrics, JSON_ARRAY));
    CHECK_INT(metrics->count, m.n);
    size_t i = 0;
    for (const struct json_value *mv = json_first(metrics); mv; mv = mv->next, i++) {
        struct span name = json_get_string(mv, "Name");
        CHECK_SPAN(name, m.items[i].name);
        CHECK_SPAN(json_get_string(mv, "Unit"), m.items[i].unit);
        /* The value is a number member of the root object with the metric's name. */
        const struct json_value *v = json_get_span(root, name);
        double got = -1;
        CHECK(json_is(v, JSON_NUMBER));
        CHECK_OK(json_as_double(v, &got));
        CHECK(got == m.items[i].value);
    }
    CHECK(metrics_value(&m, "S3BytesCopied") == 5e9);
    buf_free(&b);
    report_free(&r);
    arena_free(&a);
}

TEST(cloudwatch_limits_and_invalid_values) {
    struct arena a;
    arena_init(&a, 0);
    struct cloudwatch_dimension dim = { "Service", "Backup" };
    static struct cloudwatch_metric many[CLOUDWATCH_MAX_METRICS_PER_CALL + 1];
    for (size_t i = 0; i < CLOUDWATCH_MAX_METRICS_PER_CALL + 1; i++) {
        many[i] = (struct cloudwatch_metric){ "M", "Count", 1 };
    }
    struct query_params q;
    query_init(&q, &a);
    CHECK_OK(cloudwatch_put_metric_data_request(&q, "NS", NULL, 0, many, CLOUDWATCH_MAX_METRICS_PER_CALL));
    CHECK_INT(q.n, 1 + 3 * CLOUDWATCH_MAX_METRICS_PER_CALL);
    query_init(&q, &a);
    /* 1000 metrics with a dimension are 5001 parameters: over the request layer's limit, refused up front. */
    CHECK_INT(cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, many, CLOUDWATCH_MAX_METRICS_PER_CALL), ERR_LIMIT);
    CHECK_INT(q.n, 0);
    CHECK_OK(cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, many, 500));
    query_init(&q, &a);
    CHECK_INT(
      cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, many, CLOUDWATCH_MAX_METRICS_PER_CALL + 1), ERR_LIMIT);
    CHECK_INT(cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, many, 0), ERR_INVALID);
    CHECK_INT(cloudwatch_put_metric_data_request(&q, "", &dim, 1, many, 1), ERR_INVALID);
    struct cloudwatch_metric bad = { "M", "Count", NAN };
    CHECK_INT(cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, &bad, 1), ERR_INVALID);
    bad.value = INFINITY;
    CHECK_INT(cloudwatch_put_metric_data_request(&q, "NS", &dim, 1, &bad, 1), ERR_INVALID);
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    CHECK_OK(cloudwatch_emf_write(&b, 0, "NS", &dim, 1, many, CLOUDWATCH_EMF_MAX_METRICS, NULL, 0));
    buf_reset(&b);
    CHECK_INT(cloudwatch_emf_write(&b, 0, "NS", &dim, 1, many, CLOUDWATCH_EMF_MAX_METRICS + 1, NULL, 0), ERR_LIMIT);
    /* A property may not shadow a dimension or metric: EMF reads both from the same root object. */
    struct cloudwatch_property clash = { "Service", "x" };
    CHECK_INT(cloudwatch_emf_write(&b, 0, "NS", &dim, 1, many, 1, &clash, 1), ERR_INVALID);
    clash.name = "M";
    CHECK_INT(cloudwatch_emf_write(&b, 0, "NS", &dim, 1, many, 1, &clash, 1), ERR_INVALID);
    clash.name = "_aws";
    CHECK_INT(cloudwatch_emf_write(&b, 0, "NS", &dim, 1, many, 1, &clash, 1), ERR_INVALID);
    /* A buffer too small for the line: its sticky error comes back. */
    struct buf small;
    buf_init(&small, 16);
    CHECK_INT(cloudwatch_emf_write(&small, 0, "NS", &dim, 1, many, 1, NULL, 0), ERR_LIMIT);
    buf_free(&small);
    buf_free(&b);
    arena_free(&a);
}

TEST(cloudwatch_format_value_shortest_exact) {
    struct {
        double v;
        const char *want;
    } cases[] = { { 0, "0" },        { 1, "1" },        { 42, "42" },          { 12.345, "12.345" },
                  { 0.1, "0.1" },    { 1.5, "1.5" },    { 5e9, "5000000000" }, { 1e15, "1e+15" },
                  { 1e16, "1e+16" }, { 0.001, "0.001" } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[CLOUDWATCH_VALUE_MAX];
        cloudwatch_format_value(cases[i].v, out);
        CHECK_STR(out, cases[i].want);
        CHECK(strtod(out, NULL) == cases[i].v);
    }
    /* 2^53 + 1 is not a double; 2^53 reads back exactly. */
    char out[CLOUDWATCH_VALUE_MAX];
    cloudwatch_format_value(9007199254740992.0, out);
    CHECK(strtod(out, NULL) == 9007199254740992.0);
}

TEST(metrics_json_for_logs) {
    struct arena a;
    struct report r;
    s_report(&a, &r);
    r.wall_ms = 250;
    s_add(&r, REPORT_JOB_EBS, REPORT_DELETED, 0);
    struct metrics_set m;
    metrics_from_report(&r, &m);
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    REQUIRE_OK(metrics_json(&m, &b));
    CHECK_STR(
      buf_cstr(&b),
      "{\"SnapshotsCreated\":0,\"SnapshotsCopied\":0,\"SnapshotsDeleted\":1,\"Errors\":0,\"CycleDurationSeconds\":0."
      "25}");
    buf_free(&b);
    report_free(&r);
    arena_free(&a);
}
