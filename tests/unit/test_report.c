/*
 * test_report.c - the cycle report: counts are derived from the recorded actions, one source of truth.
 */
#include "harness.h"

#include "backup/report.h"
#include "base/stop.h"

#include <stdio.h>

static void s_add(struct report *r, enum report_job job, enum report_action a, const char *region, uint64_t bytes) {
    struct report_item it = { .action = a, .job = job, .region = region, .snapshot_id = "snap-1", .bytes = bytes };
    (void) report_add(r, &it);
}

TEST(report_counts_derive_from_items) {
    struct arena a;
    arena_init(&a, 0);
    struct report r;
    report_init(&r, &a, 0);
    r.instances_seen = 3;
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, "us-east-1", 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_CREATED, "us-east-1", 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_COPIED, "us-west-2", 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_DELETED, "us-west-2", 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_SKIPPED, "us-east-1", 0);
    s_add(&r, REPORT_JOB_EBS, REPORT_FAILED, "us-east-1", 0);
    s_add(&r, REPORT_JOB_S3, REPORT_COPIED, NULL, 100);
    s_add(&r, REPORT_JOB_S3, REPORT_COPIED, NULL, 23);
    s_add(&r, REPORT_JOB_S3, REPORT_SKIPPED, NULL, 0);
    s_add(&r, REPORT_JOB_S3, REPORT_FAILED, NULL, 0);
    s_add(&r, REPORT_JOB_REPORTING, REPORT_FAILED, NULL, 0);
    struct report_counts c = report_counts(&r);
    CHECK_INT(c.instances_seen, 3);
    CHECK_INT(c.snapshots_created, 2);
    CHECK_INT(c.snapshots_copied, 1);
    CHECK_INT(c.snapshots_deleted, 1);
    CHECK_INT(c.skipped, 1);
    CHECK_INT(c.failures, 3);
    CHECK_INT(c.s3_objects_copied, 2);
    CHECK_INT(c.s3_bytes_copied, 123);
    CHECK_INT(c.s3_skipped, 1);
    CHECK_INT(c.s3_failed, 1);
    CHECK(report_has_failures(&r));
    struct report_region_counts rc[REPORT_MAX_REGIONS];
    size_t n = report_region_counts(&r, rc, REPORT_MAX_REGIONS);
    CHECK_INT(n, 2);
    CHECK_STR(rc[0].region, "us-east-1");
    CHECK_INT(rc[0].created, 2);
    CHECK_INT(rc[0].failed, 1);
    CHECK_STR(rc[1].region, "us-west-2");
    CHECK_INT(rc[1].copied, 1);
    CHECK_INT(rc[1].deleted, 1);
    struct buf b;
    buf_init(&b, 4096);
    report_counts_json(&c, &b);
    CHECK(strstr(buf_cstr(&b), "\"snapshots_created\":2,") != NULL);
    CHECK(strstr(buf_cstr(&b), "\"s3_bytes_copied\":123,") != NULL);
    buf_free(&b);
    report_free(&r);
    arena_free(&a);
}

TEST(report_copies_strings_and_grows) {
    struct arena a;
    arena_init(&a, 0);
    struct report r;
    report_init(&r, &a, 0);
    CHECK_INT(strlen(r.run_id), 36);
    char scratch[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(scratch, sizeof(scratch), "snap-%d", i);
        struct report_item it = { .action = REPORT_DELETED, .job = REPORT_JOB_EBS, .snapshot_id = scratch };
        (void) report_add(&r, &it);
    }
    CHECK_INT(r.nitems, 5000);
    CHECK_STR(r.items[0].snapshot_id, "snap-0");
    CHECK_STR(r.items[4999].snapshot_id, "snap-4999");
    CHECK(!report_has_failures(&r));
    CHECK_INT(report_counts(&r).snapshots_deleted, 5000);
    CHECK_STR(report_action_name(REPORT_SKIPPED), "skipped");
    report_free(&r);
    arena_free(&a);
}

/* The one rule for work a stop cancelled: deferred once, "not done" or "not confirmed", never a failure or a skip. */
TEST(report_deferred_is_the_one_rule_for_work_a_stop_cancelled) {
    struct arena a;
    arena_init(&a, 0);
    struct report r;
    report_init(&r, &a, 1767225600000);
    stop_reset();
    CHECK(!report_stop_cancelled(ERR_CANCELLED)); /* no stop: not the stop's */
    stop_request(STOP_SIGNAL, 15);
    CHECK(report_stop_cancelled(ERR_CANCELLED));
    CHECK(!report_stop_cancelled(ERR_TIMEOUT));
    struct report_item ebs = { .job = REPORT_JOB_EBS, .instance_id = "i-1", .aws_code = "x", .message = "y" };
    const struct report_item *d = report_deferred(&r, &ebs, "CreateSnapshots", false);
    CHECK_INT(d->action, REPORT_DEFERRED);
    CHECK_STR(d->reason, "deferred: CreateSnapshots not done, run stopped (signal)");
    CHECK(d->aws_code == NULL && d->message == NULL);
    struct report_item s3 = { .job = REPORT_JOB_S3, .bucket = "b", .key = "k" };
    d = report_deferred(&r, &s3, "multipart copy", true);
    CHECK_STR(d->reason, "deferred: multipart copy not confirmed, run stopped (signal)");
    struct report_counts c = report_counts(&r);
    CHECK_INT(c.deferred, 2);
    CHECK_INT(c.failures + c.skipped + c.s3_failed + c.s3_skipped, 0);
    CHECK(!report_has_failures(&r));
    stop_reset();
    report_free(&r);
    arena_free(&a);
}
