/*
 * test_pacing.c - aws/pacing: EC2's documented buckets, one limiter per (account, region, API) for EC2 and per
 * (account, service, region) for the others, one retry policy per (service, region).
 */
#include "harness.h"

#include "aws/pacing.h"

#include <stdio.h>

TEST(pacing_ec2_table_has_the_documented_buckets) {
    static const struct {
        const char *api;
        double capacity, refill;
    } cases[] = {
        { "CreateSnapshots", 100, 5 },  { "CreateSnapshot", 100, 5 },     { "DeleteSnapshot", 100, 5 },
        { "CopySnapshot", 50, 5 },      { "DescribeSnapshots", 100, 20 }, { "DescribeInstances", 100, 20 },
        { "DescribeVolumes", 100, 20 }, { "DescribeImages", 100, 20 }, /* class default: non-mutating */
        { "CreateVolume", 50, 5 },                                     /* class default: mutating */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pacing_ec2_bucket b = pacing_ec2_bucket(cases[i].api);
        if (!CHECK(b.capacity == cases[i].capacity && b.refill == cases[i].refill)) {
            harness_note("%s: %g/%g", cases[i].api, b.capacity, b.refill);
        }
    }
}

TEST(pacing_limiters_are_per_account_region_and_api) {
    static struct pacing p;
    pacing_init(&p, NULL);
    struct ratelimit *create = pacing_limiter(&p, "111122223333", ENDPOINT_EC2, "eu-west-1", "CreateSnapshots", 0);
    struct ratelimit *del = pacing_limiter(&p, "111122223333", ENDPOINT_EC2, "eu-west-1", "DeleteSnapshot", 0);
    struct ratelimit *del_dr = pacing_limiter(&p, "111122223333", ENDPOINT_EC2, "eu-central-1", "DeleteSnapshot", 0);
    struct ratelimit *del_other = pacing_limiter(&p, "444455556666", ENDPOINT_EC2, "eu-west-1", "DeleteSnapshot", 0);
    CHECK(create != del && del != del_dr && del != del_other);
    CHECK(pacing_limiter(&p, "111122223333", ENDPOINT_EC2, "eu-west-1", "CreateSnapshots", 5) == create);
    CHECK(create->paced && create->enabled);
    CHECK(create->bucket.max_capacity == 100 && create->ceiling == 5);
    /* A throttle on one API lowers that API's rate only. */
    ratelimit_on_response(create, true, 1.0);
    CHECK(ratelimit_rate(create) < 5);
    CHECK(ratelimit_rate(del) == 5);
    CHECK(ratelimit_rate(del_dr) == 5);
    CHECK_INT(p.nlimiters, 4);
}

TEST(pacing_other_services_get_one_adaptive_limiter_per_service_and_region) {
    static struct pacing p;
    pacing_init(&p, NULL);
    struct ratelimit *put = pacing_limiter(&p, "", ENDPOINT_S3, "eu-west-1", "S3.PUT", 0);
    struct ratelimit *get = pacing_limiter(&p, "", ENDPOINT_S3, "eu-west-1", "S3.GET", 0);
    struct ratelimit *sns = pacing_limiter(&p, "", ENDPOINT_SNS, "eu-west-1", "Publish", 0);
    struct ratelimit *s3_dr = pacing_limiter(&p, "", ENDPOINT_S3, "eu-central-1", "S3.PUT", 0);
    CHECK(put == get);
    CHECK(put != sns && put != s3_dr);
    CHECK(!put->paced && !put->enabled); /* armed: on at the first SlowDown */
    ratelimit_on_response(put, true, 1.0);
    CHECK(put->enabled && !sns->enabled && !s3_dr->enabled);
}

TEST(pacing_retry_quota_is_per_service_and_region) {
    static struct pacing p;
    struct retry_config cfg = { .mode = RETRY_MODE_STANDARD, .max_attempts = 3 };
    pacing_init(&p, &cfg);
    struct retry_policy *ec2 = pacing_policy(&p, ENDPOINT_EC2, "eu-west-1", 0);
    struct retry_policy *ec2_dr = pacing_policy(&p, ENDPOINT_EC2, "eu-central-1", 0);
    struct retry_policy *sns = pacing_policy(&p, ENDPOINT_SNS, "eu-west-1", 0);
    CHECK(ec2 != ec2_dr && ec2 != sns);
    CHECK(pacing_policy(&p, ENDPOINT_EC2, "eu-west-1", 9) == ec2);
    ec2->quota = 0; /* one region's transient storm does not starve the other's retries */
    CHECK_INT(ec2_dr->quota, RETRY_QUOTA_INITIAL);
    CHECK_INT(ec2->cfg.max_attempts, 3);
    ec2->counters.throttles = 2;
    sns->counters.throttles = 3;
    CHECK_INT(pacing_counters(&p).throttles, 5);
}

TEST(pacing_tables_past_their_maximum_share_the_last_entry) {
    static struct pacing p;
    pacing_init(&p, NULL);
    char api[32];
    struct ratelimit *last = NULL;
    for (int i = 0; i < PACING_MAX_LIMITERS + 5; i++) {
        snprintf(api, sizeof(api), "Describe%d", i);
        last = pacing_limiter(&p, "", ENDPOINT_EC2, "eu-west-1", api, 0);
    }
    CHECK_INT(p.nlimiters, PACING_MAX_LIMITERS);
    CHECK(last == &p.limiters[PACING_MAX_LIMITERS - 1].limiter);
}
