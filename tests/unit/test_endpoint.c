/*
 * test_endpoint.c - region names, partitions, the service table and endpoint resolution (notes §6), driven by
 * an injected environment so the process environment is never read.
 */
#include "harness.h"

#include "aws/endpoint.h"
#include "aws/region.h"

#include <stdio.h>

/* A fake environment: up to 8 "NAME=value" pairs, NULL-terminated. */
struct fake_env {
    const char *vars[8];
};

static const char *s_fake_get(void *ctx, const char *name) {
    const struct fake_env *fe = ctx;
    size_t n = strlen(name);
    for (size_t i = 0; i < 8 && fe->vars[i] != NULL; i++) {
        if (strncmp(fe->vars[i], name, n) == 0 && fe->vars[i][n] == '=') {
            return fe->vars[i] + n + 1;
        }
    }
    return NULL;
}

static struct endpoint_env s_env(struct fake_env *fe) {
    return (struct endpoint_env){ s_fake_get, fe };
}

TEST(region_names_table) {
    static const struct {
        const char *name;
        bool valid;
    } cases[] = {
        { "us-east-1", true },
        { "eu-central-2", true },
        { "cn-northwest-1", true },
        { "us-gov-west-1", true },
        { "us-isob-east-1", true },
        { "local", true },
        { "", false },
        { "US-EAST-1", false },
        { "us_east_1", false },
        { "-us-east-1", false },
        { "us-east-1-", false },
        { "us--east-1", false },
        { "1us-east", false },
        { "us east 1", false },
        { "us-east-1.evil.com", false },
        { "abcdefghijabcdefghijabcdefghijab", true }, /* exactly REGION_MAX */
        { "abcdefghijabcdefghijabcdefghijabc", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!CHECK(region_is_valid(span_from_cstr(cases[i].name)) == cases[i].valid)) {
            harness_note("region '%s'", cases[i].name);
        }
    }
}

TEST(region_partitions_table) {
    static const struct {
        const char *region, *partition, *suffix;
    } cases[] = {
        { "us-east-1", "aws", "amazonaws.com" },
        { "eu-west-3", "aws", "amazonaws.com" },
        { "cn-north-1", "aws-cn", "amazonaws.com.cn" },
        { "cn-northwest-1", "aws-cn", "amazonaws.com.cn" },
        { "us-gov-west-1", "aws-us-gov", "amazonaws.com" },
        { "us-gov-east-1", "aws-us-gov", "amazonaws.com" },
        { "us-iso-east-1", "aws-iso", "c2s.ic.gov" },
        { "us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov" },
        { "cnx-north-1", "aws", "amazonaws.com" }, /* prefix must be "cn-" exactly */
        { "local", "aws", "amazonaws.com" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct region_partition *p = region_partition(span_from_cstr(cases[i].region));
        CHECK_STR(p->name, cases[i].partition);
        CHECK_STR(p->dns_suffix, cases[i].suffix);
    }
}

TEST(endpoint_service_table) {
    static const struct {
        enum endpoint_service svc;
        const char *env_id, *prefix, *signing;
    } cases[] = {
        { ENDPOINT_EC2, "EC2", "ec2", "ec2" },
        { ENDPOINT_S3, "S3", "s3", "s3" },
        { ENDPOINT_SNS, "SNS", "sns", "sns" },
        { ENDPOINT_CLOUDWATCH, "CLOUDWATCH", "monitoring", "monitoring" },
        { ENDPOINT_DYNAMODB, "DYNAMODB", "dynamodb", "dynamodb" },
        { ENDPOINT_STS, "STS", "sts", "sts" },
        { ENDPOINT_KMS, "KMS", "kms", "kms" },
        { ENDPOINT_ORGANIZATIONS, "ORGANIZATIONS", "organizations", "organizations" },
    };
    CHECK_INT(sizeof(cases) / sizeof(cases[0]), ENDPOINT__COUNT);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct endpoint_service_info *info = endpoint_service_info(cases[i].svc);
        REQUIRE(info != NULL);
        CHECK_STR(info->env_id, cases[i].env_id);
        CHECK_STR(info->prefix, cases[i].prefix);
        CHECK_STR(info->signing_name, cases[i].signing);
        enum endpoint_service got = ENDPOINT__COUNT;
        CHECK(endpoint_service_parse(span_from_cstr(cases[i].prefix), &got) && got == cases[i].svc);
        got = ENDPOINT__COUNT;
        CHECK(endpoint_service_parse(span_from_cstr(cases[i].env_id), &got) && got == cases[i].svc);
    }
    enum endpoint_service got;
    CHECK(endpoint_service_parse(SPAN_LIT("CloudWatch"), &got) && got == ENDPOINT_CLOUDWATCH);
    CHECK(!endpoint_service_parse(SPAN_LIT("logs"), &got));
    CHECK(!endpoint_service_parse(SPAN_LIT(""), &got));
    CHECK(endpoint_service_info(ENDPOINT__COUNT) == NULL);
}

/* One resolution case: environment, inputs, and the expected result written as one line (see s_describe). */
struct resolve_case {
    const char *name;
    struct fake_env env;
    enum endpoint_service svc;
    const char *region;
    const char *bucket;
    const char *want; /* "<url> host=<Host> sign=<region>/<name> src=<source>[ path-style]" or "error:<err>" */
};

static const struct resolve_case s_resolve_cases[] = {
    /* Defaults: https://<prefix>.<region>.<suffix>, every service. */
    { "ec2 default",
      { { NULL } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "https://ec2.us-east-1.amazonaws.com host=ec2.us-east-1.amazonaws.com sign=us-east-1/ec2 src=default" },
    { "sns default",
      { { NULL } },
      ENDPOINT_SNS,
      "eu-west-1",
      NULL,
      "https://sns.eu-west-1.amazonaws.com host=sns.eu-west-1.amazonaws.com sign=eu-west-1/sns src=default" },
    { "cloudwatch default uses monitoring",
      { { NULL } },
      ENDPOINT_CLOUDWATCH,
      "us-west-2",
      NULL,
      "https://monitoring.us-west-2.amazonaws.com host=monitoring.us-west-2.amazonaws.com sign=us-west-2/monitoring "
      "src=default" },
    { "dynamodb default",
      { { NULL } },
      ENDPOINT_DYNAMODB,
      "ap-south-1",
      NULL,
      "https://dynamodb.ap-south-1.amazonaws.com host=dynamodb.ap-south-1.amazonaws.com sign=ap-south-1/dynamodb "
      "src=default" },
    { "sts regional",
      { { NULL } },
      ENDPOINT_STS,
      "eu-central-1",
      NULL,
      "https://sts.eu-central-1.amazonaws.com host=sts.eu-central-1.amazonaws.com sign=eu-central-1/sts src=default" },
    { "sts without region is global",
      { { NULL } },
      ENDPOINT_STS,
      NULL,
      NULL,
      "https://sts.amazonaws.com host=sts.amazonaws.com sign=us-east-1/sts src=default" },
    { "kms default",
      { { NULL } },
      ENDPOINT_KMS,
      "sa-east-1",
      NULL,
      "https://kms.sa-east-1.amazonaws.com host=kms.sa-east-1.amazonaws.com sign=sa-east-1/kms src=default" },
    { "s3 service level",
      { { NULL } },
      ENDPOINT_S3,
      "us-east-1",
      NULL,
      "https://s3.us-east-1.amazonaws.com host=s3.us-east-1.amazonaws.com sign=us-east-1/s3 src=default" },
    /* Partitions. */
    { "ec2 china",
      { { NULL } },
      ENDPOINT_EC2,
      "cn-north-1",
      NULL,
      "https://ec2.cn-north-1.amazonaws.com.cn host=ec2.cn-north-1.amazonaws.com.cn sign=cn-north-1/ec2 src=default" },
    { "sns govcloud",
      { { NULL } },
      ENDPOINT_SNS,
      "us-gov-west-1",
      NULL,
      "https://sns.us-gov-west-1.amazonaws.com host=sns.us-gov-west-1.amazonaws.com sign=us-gov-west-1/sns "
      "src=default" },
    { "kms iso",
      { { NULL } },
      ENDPOINT_KMS,
      "us-iso-east-1",
      NULL,
      "https://kms.us-iso-east-1.c2s.ic.gov host=kms.us-iso-east-1.c2s.ic.gov sign=us-iso-east-1/kms src=default" },
    { "s3 iso-b",
      { { NULL } },
      ENDPOINT_S3,
      "us-isob-east-1",
      "logs-b",
      "https://logs-b.s3.us-isob-east-1.sc2s.sgov.gov host=logs-b.s3.us-isob-east-1.sc2s.sgov.gov "
      "sign=us-isob-east-1/s3 src=default" },
    /* S3 virtual-hosted versus path style. */
    { "s3 virtual hosted",
      { { NULL } },
      ENDPOINT_S3,
      "eu-west-1",
      "my-docs",
      "https://my-docs.s3.eu-west-1.amazonaws.com host=my-docs.s3.eu-west-1.amazonaws.com sign=eu-west-1/s3 "
      "src=default" },
    { "s3 dotted bucket is path style",
      { { NULL } },
      ENDPOINT_S3,
      "eu-west-1",
      "backups.example.com",
      "https://s3.eu-west-1.amazonaws.com/backups.example.com host=s3.eu-west-1.amazonaws.com sign=eu-west-1/s3 "
      "src=default path-style" },
    { "s3 legacy upper-case bucket is path style",
      { { NULL } },
      ENDPOINT_S3,
      "us-east-1",
      "Old_Bucket",
      "https://s3.us-east-1.amazonaws.com/Old_Bucket host=s3.us-east-1.amazonaws.com sign=us-east-1/s3 src=default "
      "path-style" },
    { "s3 china virtual",
      { { NULL } },
      ENDPOINT_S3,
      "cn-northwest-1",
      "photos",
      "https://photos.s3.cn-northwest-1.amazonaws.com.cn host=photos.s3.cn-northwest-1.amazonaws.com.cn "
      "sign=cn-northwest-1/s3 src=default" },
    { "s3 override forces path style",
      { { "AWS_ENDPOINT_URL=http://127.0.0.1:5000" } },
      ENDPOINT_S3,
      "us-east-1",
      "my-docs",
      "http://127.0.0.1:5000/my-docs host=127.0.0.1:5000 sign=us-east-1/s3 src=AWS_ENDPOINT_URL path-style" },
    { "s3 override with path prefix",
      { { "AWS_ENDPOINT_URL_S3=https://gw.example.com/s3/" } },
      ENDPOINT_S3,
      "us-east-1",
      "docs",
      "https://gw.example.com/s3/docs host=gw.example.com sign=us-east-1/s3 src=AWS_ENDPOINT_URL_S3 path-style" },
    /* Overrides and precedence. */
    { "global override",
      { { "AWS_ENDPOINT_URL=http://localhost:5000" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://localhost:5000 host=localhost:5000 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    { "service override beats global",
      { { "AWS_ENDPOINT_URL=http://localhost:5000", "AWS_ENDPOINT_URL_SNS=http://localhost:6000" } },
      ENDPOINT_SNS,
      "us-east-1",
      NULL,
      "http://localhost:6000 host=localhost:6000 sign=us-east-1/sns src=AWS_ENDPOINT_URL_SNS" },
    { "other service override does not apply",
      { { "AWS_ENDPOINT_URL=http://localhost:5000", "AWS_ENDPOINT_URL_SNS=http://localhost:6000" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://localhost:5000 host=localhost:5000 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    { "cloudwatch override keeps monitoring signing",
      { { "AWS_ENDPOINT_URL_CLOUDWATCH=http://127.0.0.1:4566" } },
      ENDPOINT_CLOUDWATCH,
      "eu-west-2",
      NULL,
      "http://127.0.0.1:4566 host=127.0.0.1:4566 sign=eu-west-2/monitoring src=AWS_ENDPOINT_URL_CLOUDWATCH" },
    { "dynamodb override",
      { { "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000" } },
      ENDPOINT_DYNAMODB,
      "us-east-1",
      NULL,
      "http://127.0.0.1:8000 host=127.0.0.1:8000 sign=us-east-1/dynamodb src=AWS_ENDPOINT_URL_DYNAMODB" },
    { "kms override",
      { { "AWS_ENDPOINT_URL_KMS=https://kms.internal:8443/" } },
      ENDPOINT_KMS,
      "us-east-1",
      NULL,
      "https://kms.internal:8443 host=kms.internal:8443 sign=us-east-1/kms src=AWS_ENDPOINT_URL_KMS" },
    { "sts override without region",
      { { "AWS_ENDPOINT_URL_STS=http://127.0.0.1:9000" } },
      ENDPOINT_STS,
      NULL,
      NULL,
      "http://127.0.0.1:9000 host=127.0.0.1:9000 sign=us-east-1/sts src=AWS_ENDPOINT_URL_STS" },
    { "ignore configured endpoint urls",
      { { "AWS_ENDPOINT_URL=http://localhost:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=TRUE" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "https://ec2.us-east-1.amazonaws.com host=ec2.us-east-1.amazonaws.com sign=us-east-1/ec2 src=default" },
    { "ignore=false keeps overrides",
      { { "AWS_ENDPOINT_URL=http://localhost:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://localhost:5000 host=localhost:5000 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    { "empty override is unset",
      { { "AWS_ENDPOINT_URL_EC2=", "AWS_ENDPOINT_URL=http://h:1" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://h:1 host=h:1 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    { "default port dropped",
      { { "AWS_ENDPOINT_URL=https://proxy.example.com:443/" } },
      ENDPOINT_SNS,
      "us-east-1",
      NULL,
      "https://proxy.example.com host=proxy.example.com sign=us-east-1/sns src=AWS_ENDPOINT_URL" },
    { "http default port dropped",
      { { "AWS_ENDPOINT_URL=HTTP://h:80" } },
      ENDPOINT_SNS,
      "us-east-1",
      NULL,
      "http://h host=h sign=us-east-1/sns src=AWS_ENDPOINT_URL" },
    { "ipv6 override",
      { { "AWS_ENDPOINT_URL=http://[::1]:5000/" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://[::1]:5000 host=[::1]:5000 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    { "host is lower-cased",
      { { "AWS_ENDPOINT_URL=http://LocalHost:5000" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "http://localhost:5000 host=localhost:5000 sign=us-east-1/ec2 src=AWS_ENDPOINT_URL" },
    /* Refusals. */
    { "bad region", { { NULL } }, ENDPOINT_EC2, "us-east-1.evil.com", NULL, "error:invalid" },
    { "missing region", { { NULL } }, ENDPOINT_EC2, NULL, NULL, "error:invalid" },
    { "bucket on non-s3", { { NULL } }, ENDPOINT_EC2, "us-east-1", "b-1", "error:invalid" },
    { "bucket too short", { { NULL } }, ENDPOINT_S3, "us-east-1", "ab", "error:invalid" },
    { "bucket too long",
      { { NULL } },
      ENDPOINT_S3,
      "us-east-1",
      "a123456789a123456789a123456789a123456789a123456789a123456789abcd",
      "error:invalid" },
    { "bucket with slash", { { NULL } }, ENDPOINT_S3, "us-east-1", "a/b/c", "error:invalid" },
    { "ftp scheme", { { "AWS_ENDPOINT_URL=ftp://h" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "no scheme", { { "AWS_ENDPOINT_URL=localhost:5000" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "empty host", { { "AWS_ENDPOINT_URL_EC2=http:///x" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "user info", { { "AWS_ENDPOINT_URL=http://u:p@h" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "query", { { "AWS_ENDPOINT_URL=http://h/?a=b" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "space", { { "AWS_ENDPOINT_URL=http://h /" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "port zero", { { "AWS_ENDPOINT_URL=http://h:0" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "port too big", { { "AWS_ENDPOINT_URL=http://h:65536" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "empty port", { { "AWS_ENDPOINT_URL=http://h:/" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "unclosed ipv6", { { "AWS_ENDPOINT_URL=http://[::1:5000" } }, ENDPOINT_EC2, "us-east-1", NULL, "error:config" },
    { "bad override beats nothing: service var wins even if bad",
      { { "AWS_ENDPOINT_URL_EC2=nonsense", "AWS_ENDPOINT_URL=http://ok" } },
      ENDPOINT_EC2,
      "us-east-1",
      NULL,
      "error:config" },
};

static void s_describe(enum err e, const struct endpoint *ep, char *out, size_t cap) {
    if (e != ERR_OK) {
        snprintf(out, cap, "error:%s", err_name(e));
        return;
    }
    snprintf(
      out,
      cap,
      "%s host=%s sign=%s/%s src=%s%s",
      ep->base_url,
      ep->host_header,
      ep->signing_region,
      ep->signing_name,
      ep->source,
      ep->s3_path_style ? " path-style" : "");
}

TEST(endpoint_resolve_table) {
    for (size_t i = 0; i < sizeof(s_resolve_cases) / sizeof(s_resolve_cases[0]); i++) {
        const struct resolve_case *c = &s_resolve_cases[i];
        struct fake_env fe = c->env;
        struct endpoint_env env = s_env(&fe);
        struct endpoint ep;
        char got[ENDPOINT_MAX_URL + ENDPOINT_MAX_HOST_HEADER + 128];
        s_describe(endpoint_resolve(&env, c->svc, c->region, c->bucket, &ep), &ep, got, sizeof(got));
        if (!CHECK_STR(got, c->want)) {
            harness_note("case '%s'", c->name);
        }
    }
}

TEST(endpoint_resolve_error_names_the_variable) {
    struct fake_env fe = { { "AWS_ENDPOINT_URL_KMS=ftp://x" } };
    struct endpoint_env env = s_env(&fe);
    struct endpoint ep;
    CHECK_INT(endpoint_resolve(&env, ENDPOINT_KMS, "us-east-1", NULL, &ep), ERR_CONFIG);
    CHECK(strstr(err_last()->msg, "AWS_ENDPOINT_URL_KMS") != NULL);
}

TEST(endpoint_parts_of_an_override) {
    struct fake_env fe = { { "AWS_ENDPOINT_URL=https://gw.example.com:8443/base/path//" } };
    struct endpoint_env env = s_env(&fe);
    struct endpoint ep;
    REQUIRE_OK(endpoint_resolve(&env, ENDPOINT_DYNAMODB, "us-east-1", NULL, &ep));
    CHECK(ep.https);
    CHECK_STR(ep.host, "gw.example.com");
    CHECK_INT(ep.port, 8443);
    CHECK_STR(ep.path_prefix, "/base/path");
    CHECK_STR(ep.base_url, "https://gw.example.com:8443/base/path");
}

TEST(endpoint_limits) {
    /* A host exactly at the maximum is taken; one byte more is refused, not cut. */
    char url[ENDPOINT_MAX_HOST + 64];
    char host[ENDPOINT_MAX_HOST + 2];
    memset(host, 'a', sizeof(host));
    host[ENDPOINT_MAX_HOST] = '\0';
    snprintf(url, sizeof(url), "AWS_ENDPOINT_URL=http://%s", host);
    struct fake_env fe = { { url } };
    struct endpoint_env env = s_env(&fe);
    struct endpoint ep;
    CHECK_OK(endpoint_resolve(&env, ENDPOINT_EC2, "us-east-1", NULL, &ep));
    host[ENDPOINT_MAX_HOST] = 'a';
    host[ENDPOINT_MAX_HOST + 1] = '\0';
    snprintf(url, sizeof(url), "AWS_ENDPOINT_URL=http://%s", host);
    CHECK_INT(endpoint_resolve(&env, ENDPOINT_EC2, "us-east-1", NULL, &ep), ERR_LIMIT);

    char longpath[ENDPOINT_MAX_PATH + 64];
    int n = snprintf(longpath, sizeof(longpath), "AWS_ENDPOINT_URL=http://h/");
    memset(longpath + n, 'p', ENDPOINT_MAX_PATH);
    longpath[n + ENDPOINT_MAX_PATH] = '\0';
    fe.vars[0] = longpath;
    CHECK_INT(endpoint_resolve(&env, ENDPOINT_EC2, "us-east-1", NULL, &ep), ERR_LIMIT);
}

TEST(endpoint_env_helpers) {
    struct fake_env fe = { { "A=", "B=x", "T=True", "F=yes" } };
    struct endpoint_env env = s_env(&fe);
    CHECK(endpoint_env_get(&env, "A") == NULL);
    CHECK_STR(endpoint_env_get(&env, "B"), "x");
    CHECK(endpoint_env_get(&env, "C") == NULL);
    CHECK(endpoint_env_is_true(&env, "T"));
    CHECK(!endpoint_env_is_true(&env, "F"));
    CHECK(!endpoint_env_is_true(&env, "C"));
}

/* The one partition table (cfg's checks use it too): the newer partitions and their DNS suffixes. */
TEST(region_partitions_beyond_the_first_five) {
    static const struct {
        const char *region, *partition, *suffix;
    } cases[] = {
        { "eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk" },
        { "us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov" },
        { "eusc-de-east-1", "aws-eusc", "amazonaws.eu" },
        { "us-isoe-west-1-x", "aws", "amazonaws.com" }, /* five parts: no qualifier */
        { "eu-central-2", "aws", "amazonaws.com" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct region_partition *p = region_partition(span_from_cstr(cases[i].region));
        CHECK_STR(p->name, cases[i].partition);
        CHECK_STR(p->dns_suffix, cases[i].suffix);
    }
}
