/*
 * test_cfg.c - configuration: every variable's defaults and valid values (checked through cfg_print, so the
 * printed provenance is tested too), every bad value (ERR_CONFIG, one line naming the variable), alias merging,
 * flags over environment, S3 route selection, and the shape checkers directly.
 */
#include "harness.h"

#include "base/arena.h"
#include "base/buf.h"
#include "cfg/cfg.h"
#include "cfg/cfg_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_ENV_MAX 6
#define S_ARGV_MAX 6

struct s_run {
    struct arena a;
    struct cfg c;
    struct cfg_error err;
    enum err e;
    struct buf out;
};

static void s_parse(struct s_run *r, const char *const *env, int argc, const char *const *argv) {
    arena_init(&r->a, 0);
    buf_init(&r->out, BUF_MAX_REQUEST);
    struct cfg_input in = { .envp = env, .argc = argc, .argv = argv };
    r->e = cfg_parse(&r->c, &r->a, &in, &r->err);
    if (r->e == ERR_OK) {
        cfg_print(&r->c, &r->out);
    }
}

static void s_done(struct s_run *r) {
    buf_free(&r->out);
    arena_free(&r->a);
}

static int s_argc(const char *const *argv) {
    int n = 0;
    while (n < S_ARGV_MAX && argv[n] != NULL) {
        n++;
    }
    return n;
}

/* True if `line` (one full line, without the newline) is in the cfg_print output. */
static bool s_has_line(const struct buf *out, const char *line) {
    size_t n = strlen(line);
    const char *p = buf_cstr(out);
    while ((p = strstr(p, line)) != NULL) {
        bool starts = p == buf_cstr(out) || p[-1] == '\n';
        if (starts && p[n] == '\n') {
            return true;
        }
        p++;
    }
    return false;
}

/* ---- defaults ----------------------------------------------------------------------------------------------- */

TEST(cfg_defaults_in_struct) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ NULL }, 0, NULL);
    REQUIRE(r.e == ERR_OK);
    const struct cfg *c = &r.c;
    CHECK(c->source_region == NULL);
    CHECK(c->dest_region == NULL);
    CHECK(c->ebs_backup);
    CHECK(c->backup_tag.is_default);
    CHECK_INT(c->backup_tag.nkeys, 2);
    CHECK_STR(c->backup_tag.keys[0], "Backup");
    CHECK_STR(c->backup_tag.keys[1], "backup");
    CHECK_STR(c->backup_tag.value, "true");
    CHECK_INT(c->retention_days, 7);
    CHECK_INT(c->dest_retention_days, 7);
    CHECK_INT(c->min_keep, 1);
    CHECK(!c->gfs);
    CHECK_INT(c->min_interval_s, 1800);
    CHECK(c->kms_key_id == NULL);
    CHECK_INT(c->wait_for_completion_s, 0);
    CHECK_INT(c->max_concurrency, 16);
    CHECK_INT(c->copy_limit, 20);
    CHECK(!c->dry_run);
    CHECK(!c->now_set);
    CHECK_INT(c->log_format, LOG_FORMAT_JSON);
    CHECK_INT(c->log_level, LOG_INFO);
    CHECK(c->sns_topic_arn == NULL);
    CHECK_STR(c->metric_namespace, "SmartVault");
    CHECK_INT(c->metrics_mode, CFG_METRICS_API);
    CHECK(c->dynamodb_table == NULL);
    CHECK_INT(c->audit_ttl_days, 365);
    CHECK(!c->s3_enabled);
    CHECK_INT(c->s3_nroutes, 0);
    CHECK_STR(c->s3_dest_prefix, "");
    CHECK_STR(c->s3_storage_class, "STANDARD");
    CHECK_INT(c->s3_sse, CFG_S3_SSE_AES256);
    CHECK(c->s3_sse_kms_key_id == NULL);
    CHECK_INT(c->s3_multipart_threshold_bytes, 64 * 1024 * 1024);
    CHECK_INT(c->s3_part_size_bytes, 64 * 1024 * 1024);
    CHECK_INT(c->aws_max_attempts, 3);
    CHECK_INT(c->aws_retry_mode, CFG_RETRY_STANDARD);
    CHECK(c->endpoint_url == NULL);
    struct endpoint ep;
    CHECK_OK(endpoint_resolve(&c->env, ENDPOINT_S3, "us-east-1", NULL, &ep));
    CHECK_STR(ep.source, "default");
    CHECK(c->ca_bundle == NULL);
    CHECK(!c->ec2_metadata_disabled);
    CHECK_INT(c->src[CFG_VAR_RETENTION_DAYS].origin, CFG_ORIGIN_DEFAULT);
    CHECK_INT(c->src[CFG_VAR_SOURCE_REGION].origin, CFG_ORIGIN_UNSET);
    s_done(&r);
}

TEST(cfg_defaults_printed) {
    static const char *const lines[] = {
        "SOURCE_REGION=  (source: unset; the instance metadata service is asked at run time)",
        "DEST_REGION=  (source: unset)",
        "EBS_BACKUP=true  (source: default)",
        "BACKUP_TAG=Backup=true  (source: default: key Backup or backup, value true in any case)",
        "RETENTION_DAYS=7  (source: default)",
        "DEST_RETENTION_DAYS=7  (source: default = RETENTION_DAYS)",
        "MIN_KEEP=1  (source: default)",
        "KEEP_DAILY=  (source: unset)",
        "KEEP_WEEKLY=  (source: unset)",
        "KEEP_MONTHLY=  (source: unset)",
        "MIN_INTERVAL=30m  (source: default)",
        "KMS_KEY_ID=  (source: unset)",
        "WAIT_FOR_COMPLETION=0s  (source: default)",
        "MAX_CONCURRENCY=16  (source: default)",
        "COPY_LIMIT=20  (source: default)",
        "EC2_PAGE_SIZE=1000  (source: default)",
        "DRY_RUN=false  (source: default)",
        "SMARTVAULT_NOW=  (source: unset)",
        "LOG_FORMAT=json  (source: default)",
        "LOG_LEVEL=info  (source: default)",
        "SNS_TOPIC_ARN=  (source: unset)",
        "METRIC_NAMESPACE=SmartVault  (source: default)",
        "METRICS_MODE=api  (source: default)",
        "DYNAMODB_TABLE=  (source: unset)",
        "AUDIT_TTL_DAYS=365  (source: default)",
        "S3_SOURCE_BUCKET=  (source: unset)",
        "S3_ROUTES=  (source: unset)",
        "S3_DEST_PREFIX=  (source: unset)",
        "S3_STORAGE_CLASS=STANDARD  (source: default)",
        "S3_SSE=AES256  (source: default)",
        "S3_SSE_KMS_KEY_ID=  (source: unset)",
        "S3_MULTIPART_THRESHOLD=64MiB  (source: default)",
        "S3_PART_SIZE=64MiB  (source: default)",
        "AWS_MAX_ATTEMPTS=3  (source: default for the retry mode)",
        "AWS_RETRY_MODE=standard  (source: default)",
        "AWS_ENDPOINT_URL=  (source: unset)",
        "AWS_ENDPOINT_URL_EC2=  (source: unset)",
        "AWS_ENDPOINT_URL_STS=  (source: unset)",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false  (source: default)",
        "AWS_CA_BUNDLE=  (source: unset)",
        "AWS_EC2_METADATA_DISABLED=false  (source: default)",
        "AWS_ACCESS_KEY_ID=  (source: unset)",
        "AWS_SECRET_ACCESS_KEY=  (source: unset)",
        "HTTPS_PROXY=  (source: unset)",
    };
    struct s_run r;
    s_parse(&r, (const char *const[]){ NULL }, 0, NULL);
    REQUIRE(r.e == ERR_OK);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!CHECK(s_has_line(&r.out, lines[i]))) {
            harness_note("missing line: %s\n--- output:\n%s", lines[i], buf_cstr(&r.out));
        }
    }
    /* Aliases are folded into their setting, never printed as a line of their own. */
    CHECK(strstr(buf_cstr(&r.out), "\nAWS_REGION=") == NULL);
    CHECK(strstr(buf_cstr(&r.out), "\nSRC_BUCKET=") == NULL);
    CHECK(strstr(buf_cstr(&r.out), "\nDOC_DEST=") == NULL);
    s_done(&r);
}

/* ---- valid values: each row is an environment and one line cfg_print must show ------------------------------ */

static const struct {
    const char *env[S_ENV_MAX];
    const char *line;
} s_valid[] = {
    /* regions */
    { { "SOURCE_REGION=us-east-1" }, "SOURCE_REGION=us-east-1  (source: env)" },
    { { "SOURCE_REGION=ap-southeast-2" }, "SOURCE_REGION=ap-southeast-2  (source: env)" },
    { { "SOURCE_REGION=us-gov-west-1" }, "SOURCE_REGION=us-gov-west-1  (source: env)" },
    { { "SOURCE_REGION=cn-north-1" }, "SOURCE_REGION=cn-north-1  (source: env)" },
    { { "SOURCE_REGION=eu-central-2" }, "SOURCE_REGION=eu-central-2  (source: env)" },
    { { "SOURCE_REGION=us-isob-east-1" }, "SOURCE_REGION=us-isob-east-1  (source: env)" },
    { { "SOURCE_REGION=eusc-de-east-1" }, "SOURCE_REGION=eusc-de-east-1  (source: env)" },
    { { "SOURCE_REGION= il-central-1 \n" }, "SOURCE_REGION=il-central-1  (source: env)" },
    { { "AWS_REGION=eu-west-1" }, "SOURCE_REGION=eu-west-1  (source: alias AWS_REGION)" },
    { { "AWS_DEFAULT_REGION=eu-west-3" }, "SOURCE_REGION=eu-west-3  (source: alias AWS_DEFAULT_REGION)" },
    { { "AWS_REGION=eu-west-1", "SOURCE_REGION=us-east-2" }, "SOURCE_REGION=us-east-2  (source: env)" },
    { { "AWS_DEFAULT_REGION=eu-west-3", "AWS_REGION=eu-west-1" },
      "SOURCE_REGION=eu-west-1  (source: alias AWS_REGION)" },
    { { "SOURCE_REGION=", "AWS_REGION=eu-west-1" }, "SOURCE_REGION=eu-west-1  (source: alias AWS_REGION)" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION=us-west-2" }, "DEST_REGION=us-west-2  (source: env)" },
    { { "DEST_REGION=us-west-2" }, "DEST_REGION=us-west-2  (source: env)" },
    { { "SOURCE_REGION=us-gov-west-1", "DEST_REGION=us-gov-east-1" }, "DEST_REGION=us-gov-east-1  (source: env)" },
    /* EBS job */
    { { "EBS_BACKUP=TRUE" }, "EBS_BACKUP=true  (source: env)" },
    { { "EBS_BACKUP=no", "SRC_BUCKET=src-bkt", "DOC_DEST=doc-bkt" }, "EBS_BACKUP=false  (source: env)" },
    { { "BACKUP_TAG=Env=prod" }, "BACKUP_TAG=Env=prod  (source: env)" },
    { { "BACKUP_TAG=backup-policy=a=b" }, "BACKUP_TAG=backup-policy=a=b  (source: env)" },
    { { "BACKUP_TAG= Team = Data Eng " }, "BACKUP_TAG=Team=Data Eng  (source: env)" },
    { { "RETENTION_DAYS=1" }, "RETENTION_DAYS=1  (source: env)" },
    { { "RETENTION_DAYS=36500" }, "RETENTION_DAYS=36500  (source: env)" },
    { { "RETENTION_DAYS= 14 " }, "RETENTION_DAYS=14  (source: env)" },
    { { "RETENTION_DAYS=10" }, "DEST_RETENTION_DAYS=10  (source: default = RETENTION_DAYS)" },
    { { "RETENTION_DAYS=10", "DEST_RETENTION_DAYS=30" }, "DEST_RETENTION_DAYS=30  (source: env)" },
    { { "MIN_KEEP=0" }, "MIN_KEEP=0  (source: env)" },
    { { "MIN_KEEP=1000" }, "MIN_KEEP=1000  (source: env)" },
    { { "KEEP_DAILY=7" }, "KEEP_DAILY=7  (source: env)" },
    { { "KEEP_WEEKLY=0" }, "KEEP_WEEKLY=0  (source: env)" },
    { { "KEEP_MONTHLY=1000" }, "KEEP_MONTHLY=1000  (source: env)" },
    { { "MIN_INTERVAL=90s" }, "MIN_INTERVAL=1m30s  (source: env)" },
    { { "MIN_INTERVAL=1h" }, "MIN_INTERVAL=1h  (source: env)" },
    { { "MIN_INTERVAL=2h30m" }, "MIN_INTERVAL=2h30m  (source: env)" },
    { { "MIN_INTERVAL=3600" }, "MIN_INTERVAL=1h  (source: env)" },
    { { "MIN_INTERVAL=0" }, "MIN_INTERVAL=0s  (source: env)" },
    { { "MIN_INTERVAL=1d" }, "MIN_INTERVAL=1d  (source: env)" },
    { { "MIN_INTERVAL=90d" }, "MIN_INTERVAL=90d  (source: env)" },
    { { "MIN_INTERVAL=1h0m0s" }, "MIN_INTERVAL=1h  (source: env)" },
    { { "KMS_KEY_ID=1234abcd-12ab-34cd-56ef-1234567890ab" },
      "KMS_KEY_ID=1234abcd-12ab-34cd-56ef-1234567890ab  (source: env)" },
    { { "KMS_KEY_ID=mrk-1234abcd12ab34cd56ef1234567890ab" },
      "KMS_KEY_ID=mrk-1234abcd12ab34cd56ef1234567890ab  (source: env)" },
    { { "KMS_KEY_ID=alias/aws/ebs" }, "KMS_KEY_ID=alias/aws/ebs  (source: env)" },
    { { "KMS_KEY_ID=alias/smartvault-dr" }, "KMS_KEY_ID=alias/smartvault-dr  (source: env)" },
    { { "DEST_REGION=us-west-2",
        "KMS_KEY_ID=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
      "KMS_KEY_ID=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab  (source: env)" },
    { { "KMS_KEY_ID=arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/dr" },
      "KMS_KEY_ID=arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/dr  (source: env)" },
    { { "WAIT_FOR_COMPLETION=2h" }, "WAIT_FOR_COMPLETION=2h  (source: env)" },
    { { "WAIT_FOR_COMPLETION=15m" }, "WAIT_FOR_COMPLETION=15m  (source: env)" },
    { { "MAX_CONCURRENCY=1" }, "MAX_CONCURRENCY=1  (source: env)" },
    { { "MAX_CONCURRENCY=256" }, "MAX_CONCURRENCY=256  (source: env)" },
    { { "COPY_LIMIT=1" }, "COPY_LIMIT=1  (source: env)" },
    { { "COPY_LIMIT=100" }, "COPY_LIMIT=100  (source: env)" },
    { { "COPY_WINDOW=0" }, "COPY_WINDOW=0s  (source: env)" },
    { { "COPY_WINDOW=1d" }, "COPY_WINDOW=1d  (source: env)" },
    { { "RUN_TIMEOUT=1s" }, "RUN_TIMEOUT=1s  (source: env)" },
    { { "RUN_TIMEOUT=2h30m" }, "RUN_TIMEOUT=2h30m  (source: env)" },
    { { "EC2_PAGE_SIZE=5" }, "EC2_PAGE_SIZE=5  (source: env)" },
    /* the cycle */
    { { "DRY_RUN=TRUE" }, "DRY_RUN=true  (source: env)" },
    { { "DRY_RUN=yes" }, "DRY_RUN=true  (source: env)" },
    { { "DRY_RUN=1" }, "DRY_RUN=true  (source: env)" },
    { { "DRY_RUN=No" }, "DRY_RUN=false  (source: env)" },
    { { "DRY_RUN=0" }, "DRY_RUN=false  (source: env)" },
    { { "DRY_RUN=False" }, "DRY_RUN=false  (source: env)" },
    { { "SMARTVAULT_NOW=2025-01-31T02:00:00Z" }, "SMARTVAULT_NOW=2025-01-31T02:00:00.000Z  (source: env)" },
    { { "SMARTVAULT_NOW=2025-01-31T04:00:00.250+02:00" }, "SMARTVAULT_NOW=2025-01-31T02:00:00.250Z  (source: env)" },
    { { "LOG_FORMAT=TEXT" }, "LOG_FORMAT=text  (source: env)" },
    { { "LOG_FORMAT=json" }, "LOG_FORMAT=json  (source: env)" },
    { { "LOG_LEVEL=debug" }, "LOG_LEVEL=debug  (source: env)" },
    { { "LOG_LEVEL=WARN" }, "LOG_LEVEL=warn  (source: env)" },
    { { "LOG_LEVEL=error" }, "LOG_LEVEL=error  (source: env)" },
    /* reporting */
    { { "SNS_TOPIC_ARN=arn:aws:sns:ap-southeast-2:123456789012:smartvault" },
      "SNS_TOPIC_ARN=arn:aws:sns:ap-southeast-2:123456789012:smartvault  (source: env)" },
    { { "SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:backup-status_notifications.fifo" },
      "SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:backup-status_notifications.fifo  (source: env)" },
    { { "SNS_TOPIC_ARN=arn:aws-cn:sns:cn-north-1:123456789012:t" },
      "SNS_TOPIC_ARN=arn:aws-cn:sns:cn-north-1:123456789012:t  (source: env)" },
    { { "METRIC_NAMESPACE=My App/Backups" }, "METRIC_NAMESPACE=My App/Backups  (source: env)" },
    { { "METRICS_MODE=emf" }, "METRICS_MODE=emf  (source: env)" },
    { { "METRICS_MODE=BOTH" }, "METRICS_MODE=both  (source: env)" },
    { { "METRICS_MODE=off" }, "METRICS_MODE=off  (source: env)" },
    { { "DYNAMODB_TABLE=SmartVault.Audit-1_x" }, "DYNAMODB_TABLE=SmartVault.Audit-1_x  (source: env)" },
    { { "DYNAMODB_TABLE=arn:aws:dynamodb:eu-west-1:123456789012:table/audit" },
      "DYNAMODB_TABLE=arn:aws:dynamodb:eu-west-1:123456789012:table/audit  (source: env)" },
    { { "AUDIT_TTL_DAYS=30" }, "AUDIT_TTL_DAYS=30  (source: env)" },
    /* S3 job, including seed 004's names */
    { { "SRC_BUCKET=src-bkt", "DOC_DEST=doc-bkt" }, "S3_SOURCE_BUCKET=src-bkt  (source: alias SRC_BUCKET)" },
    { { "SRC_BUCKET=src-bkt", "DOC_DEST=doc-bkt" }, "S3_ROUTES=documents/=doc-bkt  (source: alias DOC_DEST)" },
    { { "SRC_BUCKET=src-bkt", "DOC_DEST=doc-bkt", "PHOTO_DEST=photo-bkt", "DB_DEST=db-bkt" },
      "S3_ROUTES=documents/=doc-bkt,photos/=photo-bkt,database/=db-bkt  (source: alias DOC_DEST + alias PHOTO_DEST + "
      "alias DB_DEST)" },
    { { "S3_SOURCE_BUCKET=main-src", "SRC_BUCKET=other-src", "S3_ROUTES=a/=bkt-a" },
      "S3_SOURCE_BUCKET=main-src  (source: env)" },
    { { "S3_SOURCE_BUCKET=src.example.com", "S3_ROUTES=logs/=log-bkt, =catch-all-bkt" },
      "S3_ROUTES=logs/=log-bkt,=catch-all-bkt  (source: env)" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=documents/=doc-bkt,x/=x-bkt", "DOC_DEST=doc-bkt" },
      "S3_ROUTES=documents/=doc-bkt,x/=x-bkt  (source: env + alias DOC_DEST)" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=k=v/=bkt-kv" }, "S3_ROUTES=k=v/=bkt-kv  (source: env)" },
    { { "S3_DEST_PREFIX=backup/2025/" }, "S3_DEST_PREFIX=backup/2025/  (source: env)" },
    { { "S3_STORAGE_CLASS=glacier_ir" }, "S3_STORAGE_CLASS=GLACIER_IR  (source: env)" },
    { { "S3_STORAGE_CLASS=DEEP_ARCHIVE" }, "S3_STORAGE_CLASS=DEEP_ARCHIVE  (source: env)" },
    { { "S3_STORAGE_CLASS=INTELLIGENT_TIERING" }, "S3_STORAGE_CLASS=INTELLIGENT_TIERING  (source: env)" },
    { { "S3_SSE=aws:kms", "S3_SSE_KMS_KEY_ID=alias/s3-backup" }, "S3_SSE=aws:kms  (source: env)" },
    { { "S3_SSE=aws:kms", "S3_SSE_KMS_KEY_ID=alias/s3-backup" }, "S3_SSE_KMS_KEY_ID=alias/s3-backup  (source: env)" },
    { { "S3_SSE=aes256" }, "S3_SSE=AES256  (source: env)" },
    { { "S3_MULTIPART_THRESHOLD=5MiB" }, "S3_MULTIPART_THRESHOLD=5MiB  (source: env)" },
    { { "S3_MULTIPART_THRESHOLD=5GiB" }, "S3_MULTIPART_THRESHOLD=5GiB  (source: env)" },
    { { "S3_MULTIPART_THRESHOLD=67108864" }, "S3_MULTIPART_THRESHOLD=64MiB  (source: env)" },
    { { "S3_MULTIPART_THRESHOLD=100000000" }, "S3_MULTIPART_THRESHOLD=100000000  (source: env)" },
    { { "S3_PART_SIZE=8mib" }, "S3_PART_SIZE=8MiB  (source: env)" },
    { { "S3_PART_SIZE=5120MiB" }, "S3_PART_SIZE=5GiB  (source: env)" },
    /* AWS SDK settings */
    { { "AWS_MAX_ATTEMPTS=1" }, "AWS_MAX_ATTEMPTS=1  (source: env)" },
    { { "AWS_MAX_ATTEMPTS=20" }, "AWS_MAX_ATTEMPTS=20  (source: env)" },
    { { "AWS_RETRY_MODE=legacy" }, "AWS_MAX_ATTEMPTS=5  (source: default for the retry mode)" },
    { { "AWS_RETRY_MODE=Adaptive" }, "AWS_RETRY_MODE=adaptive  (source: env)" },
    { { "AWS_ENDPOINT_URL=http://127.0.0.1:5000" }, "AWS_ENDPOINT_URL=http://127.0.0.1:5000  (source: env)" },
    { { "AWS_ENDPOINT_URL=https://vpce-1.ec2.us-east-1.vpce.amazonaws.com/" },
      "AWS_ENDPOINT_URL=https://vpce-1.ec2.us-east-1.vpce.amazonaws.com/  (source: env)" },
    { { "AWS_ENDPOINT_URL=http://[::1]:4566" }, "AWS_ENDPOINT_URL=http://[::1]:4566  (source: env)" },
    { { "AWS_ENDPOINT_URL_EC2=http://localhost" }, "AWS_ENDPOINT_URL_EC2=http://localhost  (source: env)" },
    { { "AWS_ENDPOINT_URL_S3=https://s3.local:9000/base" },
      "AWS_ENDPOINT_URL_S3=https://s3.local:9000/base  (source: env)" },
    { { "AWS_ENDPOINT_URL_SNS=http://sns:1" }, "AWS_ENDPOINT_URL_SNS=http://sns:1  (source: env)" },
    { { "AWS_ENDPOINT_URL_CLOUDWATCH=http://cw:65535" }, "AWS_ENDPOINT_URL_CLOUDWATCH=http://cw:65535  (source: env)" },
    { { "AWS_ENDPOINT_URL_DYNAMODB=http://ddb:8000" }, "AWS_ENDPOINT_URL_DYNAMODB=http://ddb:8000  (source: env)" },
    { { "AWS_ENDPOINT_URL_STS=https://sts.us-east-1.amazonaws.com" },
      "AWS_ENDPOINT_URL_STS=https://sts.us-east-1.amazonaws.com  (source: env)" },
    { { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=yes" }, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true  (source: env)" },
    { { "AWS_EC2_METADATA_DISABLED=true" }, "AWS_EC2_METADATA_DISABLED=true  (source: env)" },
    /* reported, never parsed */
    { { "AWS_SECRET_ACCESS_KEY=supersecret" }, "AWS_SECRET_ACCESS_KEY=(set)  (source: env)" },
    { { "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" }, "AWS_ACCESS_KEY_ID=(set)  (source: env)" },
    { { "AWS_SESSION_TOKEN=tok" }, "AWS_SESSION_TOKEN=(set)  (source: env)" },
    { { "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok" }, "AWS_CONTAINER_AUTHORIZATION_TOKEN=(set)  (source: env)" },
    { { "HTTPS_PROXY=http://u:p@proxy:3128" }, "HTTPS_PROXY=(set)  (source: env)" },
    { { "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/sv" },
      "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/sv  (source: env)" },
    { { "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token" },
      "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token  (source: env)" },
};

TEST(cfg_valid_values_table) {
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const char *env[S_ENV_MAX + 1] = { 0 };
        memcpy(env, s_valid[i].env, sizeof(s_valid[i].env));
        struct s_run r;
        s_parse(&r, env, 0, NULL);
        if (!CHECK_INT(r.e, ERR_OK)) {
            harness_note("case %zu (%s): %s\n", i, s_valid[i].env[0], r.err.line);
        } else if (!CHECK(s_has_line(&r.out, s_valid[i].line))) {
            harness_note("case %zu: missing line: %s\n--- output:\n%s", i, s_valid[i].line, buf_cstr(&r.out));
        }
        s_done(&r);
    }
}

/* ---- bad values: ERR_CONFIG and one line that starts with the variable named -------------------------------- */

static const struct {
    const char *env[S_ENV_MAX];
    const char *var; /* the line must start with "<var>: " */
} s_bad[] = {
    /* regions */
    { { "SOURCE_REGION=US-EAST-1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-east" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=useast1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-east-1a" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us_east_1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-east-1234" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=u-east-1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us--1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-east-1-" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-foo-bar-baz-1" }, "SOURCE_REGION" },
    { { "SOURCE_REGION=us-gov-west-x" }, "SOURCE_REGION" },
    { { "AWS_REGION=EU-WEST-1" }, "AWS_REGION" },
    { { "AWS_DEFAULT_REGION=eu west 1" }, "AWS_DEFAULT_REGION" },
    { { "DEST_REGION=mars-1" }, "DEST_REGION" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION=us-east-1" }, "DEST_REGION" },
    { { "AWS_REGION=us-east-1", "DEST_REGION=us-east-1" }, "DEST_REGION" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION=cn-north-1" }, "DEST_REGION" },
    { { "SOURCE_REGION=us-gov-west-1", "DEST_REGION=us-west-2" }, "DEST_REGION" },
    /* EBS job */
    { { "EBS_BACKUP=maybe" }, "EBS_BACKUP" },
    { { "EBS_BACKUP=false" }, "EBS_BACKUP" },
    { { "BACKUP_TAG=Backup" }, "BACKUP_TAG" },
    { { "BACKUP_TAG==true" }, "BACKUP_TAG" },
    { { "BACKUP_TAG=Backup=" }, "BACKUP_TAG" },
    { { "BACKUP_TAG=aws:backup=true" }, "BACKUP_TAG" },
    { { "BACKUP_TAG=Back\001up=true" }, "BACKUP_TAG" },
    { { "RETENTION_DAYS=7d" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=0" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=-1" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=36501" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=1e3" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=7.5" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=+7" }, "RETENTION_DAYS" },
    { { "RETENTION_DAYS=99999999999999999999999" }, "RETENTION_DAYS" },
    { { "DEST_RETENTION_DAYS=0" }, "DEST_RETENTION_DAYS" },
    { { "DEST_RETENTION_DAYS=abc" }, "DEST_RETENTION_DAYS" },
    { { "MIN_KEEP=-1" }, "MIN_KEEP" },
    { { "MIN_KEEP=1001" }, "MIN_KEEP" },
    { { "MIN_KEEP=one" }, "MIN_KEEP" },
    { { "KEEP_DAILY=1001" }, "KEEP_DAILY" },
    { { "KEEP_WEEKLY=x" }, "KEEP_WEEKLY" },
    { { "KEEP_MONTHLY=-3" }, "KEEP_MONTHLY" },
    { { "MIN_INTERVAL=30x" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=1.5h" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=91d" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=h" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=30m5" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=-5m" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=1ms" }, "MIN_INTERVAL" },
    { { "MIN_INTERVAL=99999999999999999999s" }, "MIN_INTERVAL" },
    { { "KMS_KEY_ID=not-a-key" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=alias/" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=1234abcd-12ab-34cd-56ef-1234567890a" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=arn:aws:kms:us-east-1:123:key/1234abcd-12ab-34cd-56ef-1234567890ab" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=arn:aws:kms:us-east-1:123456789012:key/not-a-uuid" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=arn:aws:sns:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }, "KMS_KEY_ID" },
    { { "KMS_KEY_ID=arn:aws-cn:kms:us-east-1:123456789012:alias/x" }, "KMS_KEY_ID" },
    { { "DEST_REGION=us-west-2", "KMS_KEY_ID=arn:aws:kms:eu-west-1:123456789012:alias/dr" }, "KMS_KEY_ID" },
    { { "WAIT_FOR_COMPLETION=3h" }, "WAIT_FOR_COMPLETION" },
    { { "WAIT_FOR_COMPLETION=7201" }, "WAIT_FOR_COMPLETION" },
    { { "WAIT_FOR_COMPLETION=forever" }, "WAIT_FOR_COMPLETION" },
    { { "MAX_CONCURRENCY=0" }, "MAX_CONCURRENCY" },
    { { "MAX_CONCURRENCY=257" }, "MAX_CONCURRENCY" },
    { { "MAX_CONCURRENCY=lots" }, "MAX_CONCURRENCY" },
    { { "COPY_LIMIT=0" }, "COPY_LIMIT" },
    { { "COPY_LIMIT=101" }, "COPY_LIMIT" },
    { { "COPY_WINDOW=2d" }, "COPY_WINDOW" },
    { { "COPY_WINDOW=soon" }, "COPY_WINDOW" },
    { { "RUN_TIMEOUT=0" }, "RUN_TIMEOUT" },
    { { "RUN_TIMEOUT=86401" }, "RUN_TIMEOUT" },
    { { "RUN_TIMEOUT=-5m" }, "RUN_TIMEOUT" },
    { { "EC2_PAGE_SIZE=4" }, "EC2_PAGE_SIZE" },
    { { "EC2_PAGE_SIZE=1001" }, "EC2_PAGE_SIZE" },
    { { "EC2_PAGE_SIZE=abc" }, "EC2_PAGE_SIZE" },
    /* the cycle */
    { { "DRY_RUN=maybe" }, "DRY_RUN" },
    { { "DRY_RUN=2" }, "DRY_RUN" },
    { { "DRY_RUN=tru" }, "DRY_RUN" },
    { { "SMARTVAULT_NOW=yesterday" }, "SMARTVAULT_NOW" },
    { { "SMARTVAULT_NOW=2025-13-01T00:00:00Z" }, "SMARTVAULT_NOW" },
    { { "SMARTVAULT_NOW=2025-01-01" }, "SMARTVAULT_NOW" },
    { { "SMARTVAULT_NOW=1969-12-31T23:59:59Z" }, "SMARTVAULT_NOW" },
    { { "LOG_FORMAT=xml" }, "LOG_FORMAT" },
    { { "LOG_FORMAT=jsonl" }, "LOG_FORMAT" },
    { { "LOG_LEVEL=verbose" }, "LOG_LEVEL" },
    { { "LOG_LEVEL=trace" }, "LOG_LEVEL" },
    /* reporting */
    { { "SNS_TOPIC_ARN=my-topic" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123:topic" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws:sqs:us-east-1:123456789012:q" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws:sns:useast1:123456789012:t" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:bad name" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:aws-cn:sns:us-east-1:123456789012:t" }, "SNS_TOPIC_ARN" },
    { { "SNS_TOPIC_ARN=arn:AWS:sns:us-east-1:123456789012:t" }, "SNS_TOPIC_ARN" },
    { { "METRIC_NAMESPACE=:x" }, "METRIC_NAMESPACE" },
    { { "METRIC_NAMESPACE=AWS/EC2" }, "METRIC_NAMESPACE" },
    { { "METRIC_NAMESPACE=Smart\001Vault" }, "METRIC_NAMESPACE" },
    { { "METRIC_NAMESPACE=\xc3\x9c"
        "berwachung" },
      "METRIC_NAMESPACE" },
    { { "METRICS_MODE=prometheus" }, "METRICS_MODE" },
    { { "DYNAMODB_TABLE=ab" }, "DYNAMODB_TABLE" },
    { { "DYNAMODB_TABLE=bad table" }, "DYNAMODB_TABLE" },
    { { "DYNAMODB_TABLE=arn:aws:dynamodb:us-east-1:123456789012:stream/x" }, "DYNAMODB_TABLE" },
    { { "DYNAMODB_TABLE=arn:aws:dynamodb:us-east-1:12345678901:table/audit" }, "DYNAMODB_TABLE" },
    { { "AUDIT_TTL_DAYS=0" }, "AUDIT_TTL_DAYS" },
    { { "AUDIT_TTL_DAYS=36501" }, "AUDIT_TTL_DAYS" },
    /* S3 job */
    { { "S3_SOURCE_BUCKET=My_Bucket", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=ab", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=192.168.1.1", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=bucket-", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=a..b", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=xn--bucket", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=bucket-s3alias", "S3_ROUTES=a/=bkt-a" }, "S3_SOURCE_BUCKET" },
    { { "S3_SOURCE_BUCKET=src-bkt" }, "S3_SOURCE_BUCKET" },
    { { "SRC_BUCKET=UPPER", "DOC_DEST=doc-bkt" }, "SRC_BUCKET" },
    { { "SRC_BUCKET=src-bkt" }, "SRC_BUCKET" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=documents/" }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=documents/=Bad_Bucket" }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=a/=bkt-a,,c/=bkt-c" }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=a/=bkt-a," }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=a/=bkt-one,a/=bkt-two" }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=a/=bkt-a,a/=bkt-a" }, "S3_ROUTES" },
    { { "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=a/=src-bkt" }, "S3_ROUTES" },
    { { "S3_ROUTES=a/=bkt-a" }, "S3_ROUTES" },
    { { "SRC_BUCKET=src-bkt", "DOC_DEST=Bad" }, "DOC_DEST" },
    { { "SRC_BUCKET=src-bkt", "S3_ROUTES=documents/=bkt-a", "DOC_DEST=bkt-b" }, "DOC_DEST" },
    { { "SRC_BUCKET=src-bkt", "PHOTO_DEST=x" }, "PHOTO_DEST" },
    { { "SRC_BUCKET=src-bkt", "DB_DEST=-db" }, "DB_DEST" },
    { { "DB_DEST=db-bkt" }, "DB_DEST" },
    { { "SRC_BUCKET=src-bkt", "DB_DEST=src-bkt" }, "DB_DEST" },
    { { "S3_DEST_PREFIX=/backup/" }, "S3_DEST_PREFIX" },
    { { "S3_DEST_PREFIX=a\tb" }, "S3_DEST_PREFIX" },
    { { "S3_STORAGE_CLASS=REDUCED_REDUNDANCY" }, "S3_STORAGE_CLASS" },
    { { "S3_STORAGE_CLASS=COLD" }, "S3_STORAGE_CLASS" },
    { { "S3_SSE=SSE-C" }, "S3_SSE" },
    { { "S3_SSE=aws:kms" }, "S3_SSE_KMS_KEY_ID" },
    { { "S3_SSE_KMS_KEY_ID=alias/s3" }, "S3_SSE_KMS_KEY_ID" },
    { { "S3_SSE=aws:kms", "S3_SSE_KMS_KEY_ID=bogus" }, "S3_SSE_KMS_KEY_ID" },
    { { "S3_MULTIPART_THRESHOLD=1MiB" }, "S3_MULTIPART_THRESHOLD" },
    { { "S3_MULTIPART_THRESHOLD=6GiB" }, "S3_MULTIPART_THRESHOLD" },
    { { "S3_MULTIPART_THRESHOLD=64MB" }, "S3_MULTIPART_THRESHOLD" },
    { { "S3_MULTIPART_THRESHOLD=big" }, "S3_MULTIPART_THRESHOLD" },
    { { "S3_MULTIPART_THRESHOLD=99999999999999999999GiB" }, "S3_MULTIPART_THRESHOLD" },
    { { "S3_PART_SIZE=4MiB" }, "S3_PART_SIZE" },
    { { "S3_PART_SIZE=5368709121" }, "S3_PART_SIZE" },
    /* AWS SDK settings */
    { { "AWS_MAX_ATTEMPTS=0" }, "AWS_MAX_ATTEMPTS" },
    { { "AWS_MAX_ATTEMPTS=21" }, "AWS_MAX_ATTEMPTS" },
    { { "AWS_MAX_ATTEMPTS=x" }, "AWS_MAX_ATTEMPTS" },
    { { "AWS_RETRY_MODE=fast" }, "AWS_RETRY_MODE" },
    { { "AWS_ENDPOINT_URL=localhost:4566" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=ftp://x" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://host:0" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://host:99999" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://host:" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://host/path?x=1" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://[::1" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL=http://bad host/" }, "AWS_ENDPOINT_URL" },
    { { "AWS_ENDPOINT_URL_EC2=ec2.local" }, "AWS_ENDPOINT_URL_EC2" },
    { { "AWS_ENDPOINT_URL_S3=s3.local" }, "AWS_ENDPOINT_URL_S3" },
    { { "AWS_ENDPOINT_URL_SNS=sns" }, "AWS_ENDPOINT_URL_SNS" },
    { { "AWS_ENDPOINT_URL_CLOUDWATCH=https://" }, "AWS_ENDPOINT_URL_CLOUDWATCH" },
    { { "AWS_ENDPOINT_URL_DYNAMODB=http://-x" }, "AWS_ENDPOINT_URL_DYNAMODB" },
    { { "AWS_ENDPOINT_URL_STS=http://sts#frag" }, "AWS_ENDPOINT_URL_STS" },
    { { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=sometimes" }, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" },
    { { "AWS_CA_BUNDLE=/nonexistent/ca.pem" }, "AWS_CA_BUNDLE" },
    { { "AWS_CA_BUNDLE=/" }, "AWS_CA_BUNDLE" },
    { { "SSL_CERT_FILE=/nonexistent/ca.pem" }, "SSL_CERT_FILE" },
    { { "AWS_EC2_METADATA_DISABLED=disabled" }, "AWS_EC2_METADATA_DISABLED" },
};

static bool s_line_ok(const struct cfg_error *err, const char *var) {
    size_t n = strlen(var);
    return strncmp(err->line, var, n) == 0 && err->line[n] == ':' && err->line[n + 1] == ' ' &&
           strchr(err->line, '\n') == NULL && strlen(err->line) > n + 2;
}

TEST(cfg_bad_values_table) {
    size_t cases = sizeof(s_bad) / sizeof(s_bad[0]);
    CHECK(cases >= 80);
    for (size_t i = 0; i < cases; i++) {
        const char *env[S_ENV_MAX + 1] = { 0 };
        memcpy(env, s_bad[i].env, sizeof(s_bad[i].env));
        struct s_run r;
        s_parse(&r, env, 0, NULL);
        if (!CHECK_INT(r.e, ERR_CONFIG) || !CHECK(s_line_ok(&r.err, s_bad[i].var))) {
            harness_note("case %zu (%s): want %s, got line: %s\n", i, s_bad[i].env[0], s_bad[i].var, r.err.line);
        }
        s_done(&r);
    }
    harness_note("%zu bad-value cases\n", cases);
}

TEST(cfg_error_messages_are_specific) {
    static const struct {
        const char *env[S_ENV_MAX];
        const char *line;
    } cases[] = {
        { { "RETENTION_DAYS=7d" }, "RETENTION_DAYS: must be a whole number of days between 1 and 36500, got \"7d\"" },
        { { "MIN_KEEP=1001" }, "MIN_KEEP: must be a whole number between 0 and 1000, got \"1001\"" },
        { { "RETENTION_DAYS=7\nX" },
          "RETENTION_DAYS: must be a whole number of days between 1 and 36500, got \"7\\x0aX\"" },
        { { "DRY_RUN=maybe" }, "DRY_RUN: must be true or false (or 1/0, yes/no), got \"maybe\"" },
        { { "LOG_FORMAT=xml" }, "LOG_FORMAT: must be one of json, text, got \"xml\"" },
        { { "WAIT_FOR_COMPLETION=3h" },
          "WAIT_FOR_COMPLETION: must be a duration such as 90s, 30m, 1h or 2h30m (or whole seconds), at most 2h, "
          "got \"3h\"" },
        { { "SOURCE_REGION=us-east-1", "DEST_REGION=us-east-1" },
          "DEST_REGION: must differ from the source region (SOURCE_REGION=us-east-1): a copy in the same region is "
          "no disaster recovery" },
        { { "S3_MULTIPART_THRESHOLD=6GiB" }, "S3_MULTIPART_THRESHOLD: must be between 5MiB and 5GiB, got \"6GiB\"" },
        { { "S3_SSE=aws:kms" }, "S3_SSE_KMS_KEY_ID: is required when S3_SSE is aws:kms" },
        { { "SRC_BUCKET=src-bkt", "S3_ROUTES=documents/=bkt-a", "DOC_DEST=bkt-b" },
          "DOC_DEST: conflicts with S3_ROUTES: prefix \"documents/\" goes to bucket bkt-a in S3_ROUTES and to bkt-b "
          "in DOC_DEST" },
        { { "BACKUP_TAG=\"quoted\\" }, "BACKUP_TAG: must be Key=Value, such as Backup=true, got \"\\\"quoted\\\\\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *env[S_ENV_MAX + 1] = { 0 };
        memcpy(env, cases[i].env, sizeof(cases[i].env));
        struct s_run r;
        s_parse(&r, env, 0, NULL);
        CHECK_INT(r.e, ERR_CONFIG);
        CHECK_STR(r.err.line, cases[i].line);
        s_done(&r);
    }
}

TEST(cfg_endpoint_password_never_echoed) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ "AWS_ENDPOINT_URL=http://user:hunter2@host/", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(s_line_ok(&r.err, "AWS_ENDPOINT_URL"));
    CHECK(strstr(r.err.line, "hunter2") == NULL);
    s_done(&r);
}

TEST(cfg_long_values) {
    static char big[CFG_VALUE_MAX + 32];
    static char env[CFG_VALUE_MAX + 64];
    memset(big, '7', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(env, sizeof(env), "RETENTION_DAYS=%s", big);
    struct s_run r;
    s_parse(&r, (const char *const[]){ env, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(s_line_ok(&r.err, "RETENTION_DAYS"));
    CHECK(strlen(r.err.line) < CFG_ERROR_MAX);
    s_done(&r);

    /* A quoted value is cut, so the line stays short. */
    char value[300];
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    char one[400];
    snprintf(one, sizeof(one), "LOG_LEVEL=%s", value);
    s_parse(&r, (const char *const[]){ one, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(strstr(r.err.line, "...\"") != NULL);
    CHECK(strlen(r.err.line) < 200);
    s_done(&r);

    /* Tag key 128 is fine, 129 is not; value 256 is fine, 257 is not. */
    char tag[600];
    char key[130], val[258];
    memset(key, 'k', sizeof(key));
    memset(val, 'v', sizeof(val));
    snprintf(tag, sizeof(tag), "BACKUP_TAG=%.128s=%.256s", key, val);
    s_parse(&r, (const char *const[]){ tag, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_OK);
    s_done(&r);
    snprintf(tag, sizeof(tag), "BACKUP_TAG=%.129s=v", key);
    s_parse(&r, (const char *const[]){ tag, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    s_done(&r);
    snprintf(tag, sizeof(tag), "BACKUP_TAG=k=%.257s", val);
    s_parse(&r, (const char *const[]){ tag, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    s_done(&r);

    /* Namespace 255 is fine, 256 is not. */
    char ns[300];
    memset(ns, 0, sizeof(ns));
    memcpy(ns, "METRIC_NAMESPACE=", 17);
    memset(ns + 17, 'n', 255);
    s_parse(&r, (const char *const[]){ ns, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_OK);
    s_done(&r);
    ns[17 + 255] = 'n';
    s_parse(&r, (const char *const[]){ ns, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(s_line_ok(&r.err, "METRIC_NAMESPACE"));
    s_done(&r);
}

TEST(cfg_first_bad_value_in_table_order_wins) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ "LOG_LEVEL=loud", "RETENTION_DAYS=x", "AWS_MAX_ATTEMPTS=0", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(s_line_ok(&r.err, "RETENTION_DAYS"));
    CHECK_INT(r.err.var, CFG_VAR_RETENTION_DAYS);
    s_done(&r);
}

TEST(cfg_route_limit) {
    static char routes[CFG_VALUE_MAX];
    size_t used = (size_t) snprintf(routes, sizeof(routes), "S3_ROUTES=");
    for (int i = 0; i < CFG_ROUTES_MAX; i++) {
        used += (size_t) snprintf(routes + used, sizeof(routes) - used, "%sp%d/=bkt-%d", i ? "," : "", i, i);
    }
    struct s_run r;
    s_parse(&r, (const char *const[]){ "S3_SOURCE_BUCKET=src-bkt", routes, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_OK);
    CHECK_INT(r.c.s3_nroutes, CFG_ROUTES_MAX);
    s_done(&r);
    s_parse(&r, (const char *const[]){ "S3_SOURCE_BUCKET=src-bkt", routes, "DB_DEST=db-bkt", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK(s_line_ok(&r.err, "DB_DEST"));
    s_done(&r);
}

/* ---- flags -------------------------------------------------------------------------------------------------- */

static const struct {
    const char *env[S_ENV_MAX];
    const char *argv[S_ARGV_MAX];
    const char *line;
} s_flags[] = {
    { { "RETENTION_DAYS=7" }, { "--retention-days", "14" }, "RETENTION_DAYS=14  (source: flag --retention-days)" },
    { { "RETENTION_DAYS=7" }, { "--retention-days=14" }, "RETENTION_DAYS=14  (source: flag --retention-days)" },
    { { 0 },
      { "--retention-days", "5", "--retention-days", "6" },
      "RETENTION_DAYS=6  (source: flag --retention-days)" },
    { { 0 }, { "--set", "RETENTION_DAYS=3" }, "RETENTION_DAYS=3  (source: flag --set)" },
    { { 0 }, { "--retention-days", "5", "--set", "RETENTION_DAYS=3" }, "RETENTION_DAYS=3  (source: flag --set)" },
    { { 0 }, { "--set=MIN_KEEP=2" }, "MIN_KEEP=2  (source: flag --set)" },
    { { 0 }, { "--min-keep", "0" }, "MIN_KEEP=0  (source: flag --min-keep)" },
    { { 0 }, { "--dry-run" }, "DRY_RUN=true  (source: flag --dry-run)" },
    { { "DRY_RUN=true" }, { "--dry-run=false" }, "DRY_RUN=false  (source: flag --dry-run)" },
    { { "SOURCE_REGION=us-east-1" },
      { "--source-region", "eu-west-1" },
      "SOURCE_REGION=eu-west-1  (source: flag --source-region)" },
    { { "SOURCE_REGION=us-east-1" },
      { "--set", "AWS_REGION=eu-west-2" },
      "SOURCE_REGION=eu-west-2  (source: flag --set AWS_REGION)" },
    { { "DEST_REGION=us-west-2" }, { "--dest-region=" }, "DEST_REGION=  (source: unset)" },
    { { "DEST_REGION=us-west-2" },
      { "--dest-region", "eu-west-1" },
      "DEST_REGION=eu-west-1  (source: flag --dest-region)" },
    { { 0 }, { "--backup-tag", "Env=prod" }, "BACKUP_TAG=Env=prod  (source: flag --backup-tag)" },
    { { 0 }, { "--now", "2025-06-01T00:00:00Z" }, "SMARTVAULT_NOW=2025-06-01T00:00:00.000Z  (source: flag --now)" },
    { { "LOG_FORMAT=json" }, { "--log-format", "text" }, "LOG_FORMAT=text  (source: flag --log-format)" },
    { { 0 }, { "--log-level=debug" }, "LOG_LEVEL=debug  (source: flag --log-level)" },
    { { "DOC_DEST=doc-bkt" },
      { "--set", "SRC_BUCKET=src-bkt" },
      "S3_SOURCE_BUCKET=src-bkt  (source: flag --set SRC_BUCKET)" },
    { { "SRC_BUCKET=src-bkt" },
      { "--set", "PHOTO_DEST=photo-bkt" },
      "S3_ROUTES=photos/=photo-bkt  (source: flag --set PHOTO_DEST)" },
    { { 0 },
      { "--set", "AWS_ENDPOINT_URL=http://127.0.0.1:1" },
      "AWS_ENDPOINT_URL=http://127.0.0.1:1  (source: flag --set)" },
};

TEST(cfg_flags_override_env) {
    for (size_t i = 0; i < sizeof(s_flags) / sizeof(s_flags[0]); i++) {
        const char *env[S_ENV_MAX + 1] = { 0 };
        memcpy(env, s_flags[i].env, sizeof(s_flags[i].env));
        struct s_run r;
        s_parse(&r, env, s_argc(s_flags[i].argv), s_flags[i].argv);
        if (!CHECK_INT(r.e, ERR_OK)) {
            harness_note("case %zu (%s): %s\n", i, s_flags[i].argv[0], r.err.line);
        } else if (!CHECK(s_has_line(&r.out, s_flags[i].line))) {
            harness_note("case %zu: missing line: %s\n--- output:\n%s", i, s_flags[i].line, buf_cstr(&r.out));
        }
        s_done(&r);
    }
}

static const struct {
    const char *argv[S_ARGV_MAX];
    const char *start; /* the line starts with this */
    const char *contains;
} s_bad_flags[] = {
    { { "--retention-days", "7d" }, "RETENTION_DAYS: ", "(from --retention-days)" },
    { { "--source-region", "US-EAST-1" }, "SOURCE_REGION: ", "(from --source-region)" },
    { { "--set", "MIN_KEEP=-1" }, "MIN_KEEP: ", "(from --set)" },
    { { "--set", "AWS_REGION=nowhere" }, "AWS_REGION: ", "(from --set)" },
    { { "--frobnicate" }, "--frobnicate: ", "unknown flag" },
    { { "--frobnicate=1" }, "--frobnicate: ", "unknown flag" },
    { { "--retention-days" }, "--retention-days: ", "needs a value" },
    { { "--set" }, "--set: ", "needs VAR=VALUE" },
    { { "--set", "NOEQUALS" }, "--set: ", "needs VAR=VALUE" },
    { { "--set", "=1" }, "--set: ", "needs VAR=VALUE" },
    { { "--set", "FOO=1" }, "--set: ", "unknown variable" },
    { { "--set", "AWS_SECRET_ACCESS_KEY=x" }, "--set: ", "environment only" },
    { { "--set", "AWS_ROLE_ARN=x" }, "--set: ", "environment only" },
    { { "positional" }, "positional: ", "unexpected argument" },
    { { "-v" }, "-v: ", "unexpected argument" },
    { { "--" }, "--: ", "unexpected argument" },
    { { "--dry-run", "false" }, "false: ", "unexpected argument" },
    { { "--dry-run=perhaps" }, "DRY_RUN: ", "(from --dry-run)" },
    { { "--bad\nflag" }, "--bad?flag: ", "unknown flag" },
};

TEST(cfg_bad_flags) {
    for (size_t i = 0; i < sizeof(s_bad_flags) / sizeof(s_bad_flags[0]); i++) {
        struct s_run r;
        s_parse(&r, (const char *const[]){ NULL }, s_argc(s_bad_flags[i].argv), s_bad_flags[i].argv);
        bool ok = CHECK_INT(r.e, ERR_CONFIG);
        ok = ok && CHECK(strncmp(r.err.line, s_bad_flags[i].start, strlen(s_bad_flags[i].start)) == 0);
        ok = ok && CHECK(strstr(r.err.line, s_bad_flags[i].contains) != NULL);
        ok = ok && CHECK(strchr(r.err.line, '\n') == NULL);
        if (!ok) {
            harness_note("case %zu (%s): %s\n", i, s_bad_flags[i].argv[0], r.err.line);
        }
        s_done(&r);
    }
}

/* ---- aliases, provenance, secrets ------------------------------------------------------------------------------ */

TEST(cfg_seed_004_aliases_merge) {
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){ "SRC_BUCKET=your-source-files-bucket",
                             "DOC_DEST=your-documents-backup-bucket",
                             "PHOTO_DEST=your-photos-backup-bucket",
                             "DB_DEST=your-database-backup-bucket",
                             "S3_ROUTES=logs/=log-bkt",
                             NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    CHECK(r.c.s3_enabled);
    CHECK_STR(r.c.s3_source_bucket, "your-source-files-bucket");
    CHECK_INT(r.c.src[CFG_VAR_S3_SOURCE_BUCKET].from, CFG_VAR_SRC_BUCKET);
    REQUIRE(r.c.s3_nroutes == 4);
    CHECK_STR(r.c.s3_routes[0].prefix, "logs/");
    CHECK_INT(r.c.s3_routes[0].from, CFG_VAR_S3_ROUTES);
    CHECK_STR(r.c.s3_routes[1].prefix, "documents/");
    CHECK_STR(r.c.s3_routes[1].bucket, "your-documents-backup-bucket");
    CHECK_INT(r.c.s3_routes[1].from, CFG_VAR_DOC_DEST);
    CHECK_STR(r.c.s3_routes[2].prefix, "photos/");
    CHECK_STR(r.c.s3_routes[3].prefix, "database/");
    CHECK_INT(r.c.s3_routes[3].from, CFG_VAR_DB_DEST);
    s_done(&r);
}

TEST(cfg_seed_000_names_work) {
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){ "SOURCE_REGION=ap-southeast-2",
                             "DEST_REGION=ap-southeast-1",
                             "RETENTION_DAYS=7",
                             "SNS_TOPIC_ARN=arn:aws:sns:ap-southeast-2:123456789012:smartvault",
                             NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    CHECK_STR(r.c.source_region, "ap-southeast-2");
    CHECK_STR(r.c.dest_region, "ap-southeast-1");
    CHECK_INT(r.c.retention_days, 7);
    CHECK_STR(r.c.sns_topic_region, "ap-southeast-2");
    s_done(&r);
}

TEST(cfg_secrets_are_never_printed) {
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){ "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
                             "AWS_SECRET_ACCESS_KEY=supersecretsupersecret",
                             "AWS_SESSION_TOKEN=sessiontokenvalue",
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN=containertokenvalue",
                             "HTTPS_PROXY=http://user:proxypass@proxy:3128",
                             NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    const char *out = buf_cstr(&r.out);
    CHECK(strstr(out, "AKIAIOSFODNN7EXAMPLE") == NULL);
    CHECK(strstr(out, "supersecret") == NULL);
    CHECK(strstr(out, "sessiontokenvalue") == NULL);
    CHECK(strstr(out, "containertokenvalue") == NULL);
    CHECK(strstr(out, "proxypass") == NULL);
    CHECK(s_has_line(&r.out, "AWS_SESSION_TOKEN=(set)  (source: env)"));
    /* Not even a copy: struct cfg has no field that could hold them. */
    CHECK(r.c.src[CFG_VAR_AWS_SECRET_ACCESS_KEY].value == NULL);
    CHECK_INT(r.c.src[CFG_VAR_AWS_SECRET_ACCESS_KEY].origin, CFG_ORIGIN_ENV);
    s_done(&r);
}

TEST(cfg_ca_bundle_readable_file) {
    char path[] = "/tmp/sv_cfg_ca_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "-----BEGIN CERTIFICATE-----\n", 28) == 28);
    close(fd);
    char env1[64], env2[64];
    snprintf(env1, sizeof(env1), "SSL_CERT_FILE=%s", path);
    snprintf(env2, sizeof(env2), "AWS_CA_BUNDLE=%s", path);
    struct s_run r;
    s_parse(&r, (const char *const[]){ env1, NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_OK);
    CHECK_STR(r.c.ca_bundle, path);
    CHECK_INT(r.c.src[CFG_VAR_AWS_CA_BUNDLE].from, CFG_VAR_SSL_CERT_FILE);
    s_done(&r);
    /* AWS_CA_BUNDLE wins over SSL_CERT_FILE, whose value is then not looked at. */
    s_parse(&r, (const char *const[]){ env2, "SSL_CERT_FILE=/nonexistent", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_OK);
    CHECK_STR(r.c.ca_bundle, path);
    s_done(&r);
    unlink(path);
}

/* The production path: endpoint resolution (aws/endpoint.c) reads the validated configuration through cfg->env. */
static void s_resolved(const struct cfg *c, enum endpoint_service svc, const char *url, const char *source) {
    struct endpoint ep;
    REQUIRE_OK(endpoint_resolve(&c->env, svc, "us-east-1", NULL, &ep));
    CHECK(strncmp(ep.base_url, url, strlen(url)) == 0);
    CHECK_STR(ep.source, source);
}

TEST(cfg_endpoint_resolution) {
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){
        "AWS_ENDPOINT_URL=http://127.0.0.1:5000", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000", NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    s_resolved(&r.c, ENDPOINT_S3, "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_S3");
    s_resolved(&r.c, ENDPOINT_EC2, "http://127.0.0.1:5000", "AWS_ENDPOINT_URL");
    s_resolved(&r.c, ENDPOINT_STS, "http://127.0.0.1:5000", "AWS_ENDPOINT_URL");
    s_done(&r);
    /* A flag reaches it too, and "1" means true to both cfg and the resolver. */
    static const char *const argv[] = { "--set", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=1" };
    s_parse(&r, (const char *const[]){ "AWS_ENDPOINT_URL=http://127.0.0.1:5000", NULL }, 2, argv);
    REQUIRE_OK(r.e);
    s_resolved(&r.c, ENDPOINT_EC2, "https://ec2.us-east-1.amazonaws.com", "default");
    s_done(&r);
}

TEST(cfg_struct_fields_from_values) {
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){ "KEEP_WEEKLY=4",
                             "SMARTVAULT_NOW=2025-01-31T02:00:00Z",
                             "DYNAMODB_TABLE=arn:aws:dynamodb:eu-west-1:123456789012:table/audit",
                             "KMS_KEY_ID=arn:aws:kms:us-west-2:111122223333:alias/dr",
                             "BACKUP_TAG=Env=Prod",
                             NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    CHECK(r.c.gfs);
    CHECK_INT(r.c.keep_weekly, 4);
    CHECK_INT(r.c.keep_daily, 0);
    CHECK(r.c.now_set);
    CHECK_INT(r.c.now_ms, 1738288800000LL);
    CHECK_STR(r.c.dynamodb_table_region, "eu-west-1");
    CHECK_STR(r.c.kms_key_region, "us-west-2");
    CHECK(!r.c.backup_tag.is_default);
    CHECK_INT(r.c.backup_tag.nkeys, 1);
    CHECK_STR(r.c.backup_tag.keys[0], "Env");
    CHECK_STR(r.c.backup_tag.value, "Prod");
    s_done(&r);
}

static const char *s_getenv_table(void *ctx, const char *name) {
    const char *const *kv = ctx;
    for (size_t i = 0; kv[i] != NULL; i += 2) {
        if (strcmp(kv[i], name) == 0) {
            return kv[i + 1];
        }
    }
    return NULL;
}

TEST(cfg_getenv_callback_input) {
    static const char *const kv[] = { "RETENTION_DAYS", "21", "AWS_REGION", "eu-north-1", NULL };
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    struct cfg_error err;
    struct cfg_input in = { .getenv_fn = s_getenv_table, .getenv_ctx = (void *) kv };
    REQUIRE_OK(cfg_parse(&c, &a, &in, &err));
    CHECK_INT(c.retention_days, 21);
    CHECK_STR(c.source_region, "eu-north-1");
    arena_free(&a);
}

TEST(cfg_envp_first_entry_wins_like_getenv) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ "RETENTION_DAYS=3", "RETENTION_DAYS=x", "RETENTION=9", NULL }, 0, NULL);
    REQUIRE_OK(r.e);
    CHECK_INT(r.c.retention_days, 3);
    s_done(&r);
}

TEST(cfg_var_table_is_complete) {
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        const struct cfg_var_info *v = cfg_var_info((enum cfg_var) i);
        REQUIRE(v->name != NULL);
        for (size_t j = 0; j < i; j++) {
            const struct cfg_var_info *w = cfg_var_info((enum cfg_var) j);
            CHECK(strcmp(v->name, w->name) != 0);
            CHECK(v->flag == NULL || w->flag == NULL || strcmp(v->flag, w->flag) != 0);
        }
        if (v->kind == CFG_KIND_ALIAS) {
            CHECK(cfg_var_info(v->alias_of)->kind == CFG_KIND_SETTING);
        }
    }
}

/* ---- S3 routing --------------------------------------------------------------------------------------------- */

TEST(cfg_s3_route_longest_prefix_wins) {
    static const struct {
        const char *key;
        const char *bucket; /* NULL: no route */
    } cases[] = {
        { "documents/private/a.pdf", "priv-bkt" },
        { "documents/private/", "priv-bkt" },
        { "documents/a.pdf", "doc-bkt" },
        { "documents/privateer.txt", "doc-bkt" },
        { "documents/", "doc-bkt" },
        { "document", NULL },
        { "photos/x.jpg", "photo-bkt" },
        { "Photos/x.jpg", NULL },
        { "other/x", NULL },
        { "", NULL },
    };
    struct s_run r;
    /* Defined out of order on purpose: the longest prefix wins, not the first. */
    s_parse(
      &r,
      (const char *const[]){ "S3_SOURCE_BUCKET=src-bkt",
                             "S3_ROUTES=documents/=doc-bkt,documents/private/=priv-bkt",
                             "PHOTO_DEST=photo-bkt",
                             NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct cfg_route *route = cfg_s3_route(&r.c, span_from_cstr(cases[i].key));
        if (cases[i].bucket == NULL) {
            if (!CHECK(route == NULL)) {
                harness_note("key %s routed to %s\n", cases[i].key, route->bucket);
            }
        } else if (CHECK(route != NULL)) {
            CHECK_STR(route->bucket, cases[i].bucket);
        }
    }
    s_done(&r);

    /* A catch-all (empty prefix) takes what no other route does. */
    s_parse(
      &r, (const char *const[]){ "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES==all-bkt,documents/=doc-bkt", NULL }, 0, NULL);
    REQUIRE_OK(r.e);
    CHECK_STR(cfg_s3_route(&r.c, SPAN_LIT("other/x"))->bucket, "all-bkt");
    CHECK_STR(cfg_s3_route(&r.c, SPAN_LIT(""))->bucket, "all-bkt");
    CHECK_STR(cfg_s3_route(&r.c, SPAN_LIT("documents/x"))->bucket, "doc-bkt");
    s_done(&r);

    /* No S3 job: nothing routes. */
    s_parse(&r, (const char *const[]){ NULL }, 0, NULL);
    REQUIRE_OK(r.e);
    CHECK(cfg_s3_route(&r.c, SPAN_LIT("documents/x")) == NULL);
    s_done(&r);
}

TEST(cfg_s3_route_property_longest_match) {
    /* Random keys over a small alphabet against nested prefixes; compare with a brute-force oracle. */
    static const char *const prefixes[] = { "a", "ab", "abc", "b/", "b/a", "ca" };
    struct s_run r;
    s_parse(
      &r,
      (const char *const[]){
        "S3_SOURCE_BUCKET=src-bkt", "S3_ROUTES=ab=bkt-1,a=bkt-0,b/a=bkt-4,abc=bkt-2,ca=bkt-5,b/=bkt-3", NULL },
      0,
      NULL);
    REQUIRE_OK(r.e);
    uint64_t rng = harness_seed();
    for (int iter = 0; iter < 2000; iter++) {
        char key[8];
        int len = (int) harness_rng_range(&rng, 0, 6);
        for (int i = 0; i < len; i++) {
            key[i] = "abc/"[harness_rng_range(&rng, 0, 3)];
        }
        key[len] = '\0';
        int want = -1;
        size_t want_len = 0;
        for (int i = 0; i < 6; i++) {
            size_t n = strlen(prefixes[i]);
            if (strncmp(key, prefixes[i], n) == 0 && (want < 0 || n > want_len)) {
                want = i;
                want_len = n;
            }
        }
        const struct cfg_route *route = cfg_s3_route(&r.c, span_from_cstr(key));
        if (want < 0) {
            CHECK(route == NULL);
        } else if (CHECK(route != NULL)) {
            char bucket[16];
            snprintf(bucket, sizeof(bucket), "bkt-%d", want);
            CHECK_STR(route->bucket, bucket);
        }
    }
    s_done(&r);
}

/* ---- the shape checkers directly ---------------------------------------------------------------------------- */

TEST(cfg_check_region_partition) {
    static const struct {
        const char *region;
        const char *partition;
    } cases[] = {
        { "us-east-1", "aws" },
        { "cn-north-1", "aws-cn" },
        { "cn-northwest-1", "aws-cn" },
        { "us-gov-west-1", "aws-us-gov" },
        { "us-iso-east-1", "aws-iso" },
        { "us-isob-east-1", "aws-iso-b" },
        { "eu-isoe-west-1", "aws-iso-e" },
        { "us-isof-south-1", "aws-iso-f" },
        { "eusc-de-east-1", "aws-eusc" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        CHECK_OK(cfg_check_region(span_from_cstr(cases[i].region), &why));
        CHECK_STR(cfg_region_partition(span_from_cstr(cases[i].region)), cases[i].partition);
    }
}

TEST(cfg_check_bucket_rules) {
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        { "abc", true },
        { "a-b.c1", true },
        { "1bucket", true },
        { "my.bucket.name", true },
        { "ab", false },
        { "-abc", false },
        { "abc-", false },
        { "abc.", false },
        { "a..b", false },
        { "ABC", false },
        { "a_b", false },
        { "10.0.0.1", false },
        { "10.0.0.1.x", true },
        { "xn--abc", false },
        { "sthree-abc", false },
        { "amzn-s3-demo-x", false },
        { "abc-s3alias", false },
        { "abc--ol-s3", false },
        { "abc.mrap", false },
        { "abc--x-s3", false },
        { "abc--table-s3", false },
        { "a23456789012345678901234567890123456789012345678901234567890123", true },
        { "a234567890123456789012345678901234567890123456789012345678901234", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        bool ok = cfg_check_bucket(span_from_cstr(cases[i].name), &why) == ERR_OK;
        if (!CHECK(ok == cases[i].ok)) {
            harness_note("bucket %s\n", cases[i].name);
        }
    }
}

TEST(cfg_check_durations_and_sizes) {
    static const struct {
        const char *in;
        int64_t max;
        bool ok;
        int64_t want;
    } durations[] = {
        { "0", 100, true, 0 },      { "100", 100, true, 100 }, { "101", 100, false, 0 },  { "1m40s", 100, true, 100 },
        { "1m41s", 100, false, 0 }, { "1s1s", 100, true, 2 },  { "", 100, false, 0 },     { "s", 100, false, 0 },
        { "1", 0, false, 0 },       { "0s", 0, true, 0 },      { "1H", 10000, false, 0 }, { "1h", 3600, true, 3600 },
    };
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        int64_t v = -1;
        bool ok = cfg_check_duration(span_from_cstr(durations[i].in), durations[i].max, &v) == ERR_OK;
        if (CHECK(ok == durations[i].ok) && ok) {
            CHECK_INT(v, durations[i].want);
        }
    }
    static const struct {
        const char *in;
        bool ok;
        uint64_t want;
    } sizes[] = {
        { "5242880", true, 5242880 },
        { "5MiB", true, 5242880 },
        { "5120KiB", true, 5242880 },
        { "5242879", false, 0 },
        { "5mib", true, 5242880 },
        { "5 MiB", false, 0 },
        { "5M", false, 0 },
        { "MiB", false, 0 },
        { "1TiB", false, 0 },
        { "5GiB", true, 5 * CFG_GIB },
        { "5242880B", true, 5242880 },
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t v = 0;
        const char *why = NULL;
        bool ok = cfg_check_size(span_from_cstr(sizes[i].in), CFG_S3_PART_MIN, CFG_S3_COPY_MAX, &v, &why) == ERR_OK;
        if (CHECK(ok == sizes[i].ok) && ok) {
            CHECK_INT(v, sizes[i].want);
        } else if (!ok && sizes[i].ok) {
            harness_note("size %s\n", sizes[i].in);
        }
    }
}

/* ---- the one table (cfg_vars.def): cfg_env_get, --help and the typed defaults come from it ------------------- */

TEST(cfg_env_get_answers_from_the_validated_cfg) {
    struct s_run r;
    static const char *const argv[] = { "--set", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9" };
    s_parse(
      &r,
      (const char *const[]){ "AWS_REGION=eu-west-1",
                             "AWS_ENDPOINT_URL=http://127.0.0.1:8",
                             "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=1",
                             "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:7",
                             "UNRELATED=x",
                             NULL },
      2,
      argv);
    REQUIRE_OK(r.e);
    void *c = &r.c;
    CHECK_STR(cfg_env_get(c, "SOURCE_REGION"), "eu-west-1");
    CHECK_STR(cfg_env_get(c, "AWS_REGION"), "eu-west-1"); /* an alias answers with its setting */
    CHECK_STR(cfg_env_get(c, "AWS_ENDPOINT_URL"), "http://127.0.0.1:8");
    CHECK_STR(cfg_env_get(c, "AWS_ENDPOINT_URL_S3"), "http://127.0.0.1:9");   /* a flag reaches the AWS layer */
    CHECK_STR(cfg_env_get(c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true"); /* canonical: "1" is true */
    CHECK_STR(cfg_env_get(c, "AWS_MAX_ATTEMPTS"), "3");
    CHECK_STR(cfg_env_get(c, "AWS_SECRET_ACCESS_KEY"), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    CHECK_STR(cfg_env_get(c, "AWS_EC2_METADATA_SERVICE_ENDPOINT"), "http://127.0.0.1:7");
    CHECK(cfg_env_get(c, "UNRELATED") == NULL); /* only names the table knows */
    CHECK(cfg_env_get(c, "AWS_SESSION_TOKEN") == NULL);
    CHECK(r.c.env.get == cfg_env_get && r.c.env.ctx == c);
    CHECK(r.c.src[CFG_VAR_AWS_SECRET_ACCESS_KEY].value == NULL); /* never copied */
    s_done(&r);
}

TEST(cfg_typed_defaults_come_from_the_table) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ NULL }, 0, NULL);
    REQUIRE_OK(r.e);
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        const struct cfg_var_info *t = cfg_var_info((enum cfg_var) i);
        if (t->kind != CFG_KIND_SETTING || t->type == CFG_TYPE_TEXT || t->def == CFG_NO_DEF) {
            continue;
        }
        char want[64];
        cfg_format_value((enum cfg_var) i, t->def, want, sizeof(want));
        CHECK_STR(r.c.src[i].value, want);
        CHECK_INT(r.c.src[i].origin, CFG_ORIGIN_DEFAULT);
        CHECK(t->min <= t->def && (t->max == 0 || t->def <= t->max));
    }
    CHECK_INT(r.c.retention_days, CFG_DEFAULT_RETENTION_DAYS);
    CHECK_INT(r.c.copy_window_s, CFG_DEFAULT_COPY_WINDOW_S);
    s_done(&r);
}

TEST(cfg_help_names_every_variable_with_its_range_and_default) {
    struct buf b;
    buf_init(&b, BUF_MAX_REQUEST);
    cfg_help(&b);
    REQUIRE_OK(buf_status(&b));
    const char *text = buf_cstr(&b);
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        char line[96];
        snprintf(line, sizeof(line), "\n  %s ", cfg_var_info((enum cfg_var) i)->name);
        CHECK(strstr(text, line) != NULL);
    }
    CHECK(strstr(text, "RETENTION_DAYS      days snapshots are kept, 1-36500 (--retention-days; default 7)\n") != NULL);
    CHECK(strstr(text, "up to 90d (default 30m)") != NULL);
    CHECK(strstr(text, "5MiB-5GiB (default 64MiB)") != NULL);
    for (const char *l = text; (l = strchr(l, '\n')) != NULL; l++) {
        const char *end = strchr(l + 1, '\n');
        CHECK(end == NULL || end - l - 1 <= 104); /* wrapped */
    }
    buf_free(&b);
}

TEST(cfg_uint_range_and_wording_come_from_the_table) {
    struct s_run r;
    s_parse(&r, (const char *const[]){ "AUDIT_TTL_DAYS=0", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK_STR(r.err.line, "AUDIT_TTL_DAYS: must be a whole number of days between 1 and 36500, got \"0\"");
    s_done(&r);
    s_parse(&r, (const char *const[]){ "RUN_TIMEOUT=0", NULL }, 0, NULL);
    CHECK_INT(r.e, ERR_CONFIG);
    CHECK_STR(r.err.line, "RUN_TIMEOUT: must be at least 1s, got \"0\"");
    s_done(&r);
    s_parse(&r, (const char *const[]){ "S3_STORAGE_CLASS=glacier_ir", NULL }, 0, NULL);
    REQUIRE_OK(r.e);
    CHECK_STR(r.c.s3_storage_class, "GLACIER_IR"); /* the table's spelling */
    s_done(&r);
}
