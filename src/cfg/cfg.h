/*
 * cfg.h - the environment and command-line flags turned into one validated, immutable `struct cfg`.
 *
 * 12-factor: every setting is an environment variable; a flag overrides the variable it names. The input is
 * injected (an envp-like array or a getenv-like callback, and argv), so nothing here reads the real process
 * environment and tests never touch it. cfg_parse either fills a complete `struct cfg` or fails with
 * ERR_CONFIG and ONE message line that names the variable (or flag) and says what is wrong:
 *
 *   RETENTION_DAYS: must be a whole number of days between 1 and 36500, got "7d"
 *
 * Nothing else happens on error: no log line, no network call; main.c prints the line and exits 2.
 *
 * Rules that hold for every variable:
 *   - Precedence: a flag (a dedicated one such as --retention-days, or `--set VAR=VALUE`) beats any environment
 *     variable; among environment variables the canonical name beats its aliases (SOURCE_REGION, then
 *     AWS_REGION, then AWS_DEFAULT_REGION; S3_SOURCE_BUCKET, then SRC_BUCKET). When a flag is given twice the
 *     last one wins.
 *   - Values are trimmed of surrounding spaces, tabs, CR and LF (ConfigMaps and .env files add them). An empty
 *     value means "unset"; an empty flag value (`--dest-region=`) unsets what the environment set.
 *   - If a name appears twice in envp the first one counts, as getenv does.
 *   - Values are checked in the order of enum cfg_var and the first bad one is reported; a rule that relates
 *     several variables (DEST_REGION vs the source region, S3 source vs routes) is checked once they are parsed.
 *   - Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, container tokens) are NOT
 *     parsed or copied here: only whether they are set is recorded, for `smartvault config`. The credentials
 *     chain reads them itself. They cannot be given with --set (argv is visible to every local user).
 *
 * Consumers take `const struct cfg *`; after cfg_parse nothing writes to it. Layers below cfg that need one of
 * these settings (endpoints, CA bundle, retries, metadata) must be handed the value from here rather than call
 * getenv, or a flag would not reach them.
 */
#ifndef SV_CFG_CFG_H
#define SV_CFG_CFG_H

#include "aws/endpoint.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/span.h"
#include "cfg/cfg_check.h"
#include "cfg/cfg_help.h"
#include "cfg/cfg_targets.h"
#include "cfg/cfg_vars.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a value came from. */
enum cfg_origin {
    CFG_ORIGIN_UNSET = 0, /* not given, and no default: the setting is off (or resolved later, see regions) */
    CFG_ORIGIN_DEFAULT,
    CFG_ORIGIN_ENV,
    CFG_ORIGIN_FLAG,
};

struct cfg_source {
    enum cfg_origin origin;
    enum cfg_var from; /* the name actually read: the variable itself or one of its aliases */
    const char *flag;  /* CFG_ORIGIN_FLAG: the flag as written ("--retention-days", "--set") */
    /*
     * The value as text, or NULL when unset: typed settings in their canonical form ("30m", "64MiB", "true"),
     * TEXT settings and CFG_KIND_SHOWN variables as given. Never set for secrets. cfg_print and cfg_env_get
     * read it.
     */
    const char *value;
};

enum cfg_metrics_mode {
    CFG_METRICS_API = 0, /* PutMetricData (default) */
    CFG_METRICS_EMF,     /* CloudWatch embedded metric format lines in the log, no API call */
    CFG_METRICS_BOTH,
    CFG_METRICS_OFF,
};

enum cfg_retry_mode { CFG_RETRY_STANDARD = 0, CFG_RETRY_ADAPTIVE, CFG_RETRY_LEGACY };

enum cfg_s3_sse { CFG_S3_SSE_AES256 = 0, CFG_S3_SSE_KMS };

/* Services with their own AWS_ENDPOINT_URL_<SERVICE> override. */
enum cfg_service {
    CFG_SVC_EC2 = 0,
    CFG_SVC_S3,
    CFG_SVC_SNS,
    CFG_SVC_CLOUDWATCH,
    CFG_SVC_DYNAMODB,
    CFG_SVC_STS,
    CFG_SVC__COUNT
};

/*
 * Which instances are backed up. The default (BACKUP_TAG unset) is stated explicitly: keys "Backup" and
 * "backup", value "true". Keys match exactly (EC2 tag keys are case-sensitive); the value always matches
 * case-insensitively ("True", "TRUE"), so discovery filters by tag key and compares values itself.
 */
struct cfg_backup_tag {
    const char *keys[CFG_TAG_KEYS_MAX];
    size_t nkeys;
    const char *value;
    bool is_default;
};

/* One S3 route: source keys starting with `prefix` are copied to `bucket`. An empty prefix matches every key. */
struct cfg_route {
    const char *prefix;
    const char *bucket;
    enum cfg_var from; /* S3_ROUTES, DOC_DEST, PHOTO_DEST or DB_DEST */
};

struct cfg {
    /* --- EBS job --- */
    const char *source_region; /* NULL: not configured; the AWS layer resolves it (IMDS) or fails with exit 3 */
    const char *dest_region;   /* NULL: no cross-region copy. Differs from source_region when both are known;
                                * when source_region is resolved later the cycle must repeat that check. */
    bool ebs_backup;           /* EBS_BACKUP, default true; false runs only the S3 job */
    struct cfg_backup_tag backup_tag;
    uint32_t retention_days;      /* default 7, 1..36500 */
    uint32_t dest_retention_days; /* default retention_days */
    uint32_t min_keep;            /* default 1, 0..1000; 0 (only ever explicit) lets a volume's last snapshot expire */
    bool gfs;                     /* any of KEEP_DAILY/WEEKLY/MONTHLY set: the grandfather-father-son policy applies */
    uint32_t keep_daily;          /* 0..1000, 0 when unset */
    uint32_t keep_weekly;
    uint32_t keep_monthly;
    int64_t min_interval_s;        /* default 1800, 0..90 days: an instance is due when its newest snapshot is older */
    int64_t rpo_s;                 /* RPO: default 2 x MIN_INTERVAL (at least 1h), up to 180 days */
    const char *kms_key_id;        /* NULL: copies keep the source's encryption (or the region default) */
    const char *kms_key_region;    /* the region of a key/alias ARN, else NULL */
    int64_t wait_for_completion_s; /* default 0 = do not wait for pending snapshots, at most 2h */
    uint32_t max_concurrency;      /* default 16, 1..256: requests in flight */
    uint32_t copy_limit;           /* default 20, 1..100: snapshot copies in flight per destination region */
    int64_t copy_window_s;         /* COPY_WINDOW, default 20m, 0..1d: how long the copy pump refills slots */
    uint32_t ec2_page_size;        /* default 1000, 5..1000: MaxResults of EC2 listings */
    uint32_t restore_drill;        /* RESTORE_DRILL: volumes restored per cycle as a drill, 0 (default, off)..100 */
    const char *restore_drill_az;  /* RESTORE_DRILL_AZ: zones, one per region, comma-separated; NULL: first available */
    int64_t restore_drill_timeout_s; /* RESTORE_DRILL_TIMEOUT: wait for `available`, default 10m, 1s..2h */
    int64_t restore_drill_period_s;  /* RESTORE_DRILL_PERIOD: the schedule's period, default 1d, 1m..90d */

    /* --- targets: every (account, source region) is one EBS cycle; see backup/targets.h --- */
    const char *const *source_regions; /* SOURCE_REGIONS, or just source_region; unique; NULL when none known */
    size_t nsource_regions;
    const struct cfg_region_map *dest_region_map; /* DEST_REGION_MAP; each source is in source_regions */
    size_t ndest_region_map;
    bool accounts_organization;  /* ACCOUNTS=organization: every ACTIVE account AWS Organizations lists */
    const char *const *accounts; /* ACCOUNTS as 12-digit ids, unique; none: the credentials' own account */
    size_t naccounts;
    const char *const *accounts_exclude; /* ACCOUNTS_EXCLUDE */
    size_t naccounts_exclude;
    const char *account_role_name;        /* ACCOUNT_ROLE_NAME; set exactly when ACCOUNTS is */
    const char *account_role_external_id; /* ACCOUNT_ROLE_EXTERNAL_ID or NULL */
    uint32_t shard_index;                 /* 0..shard_count-1 */
    uint32_t shard_count;                 /* default 1 */

    /* --- the cycle --- */
    bool dry_run;
    bool now_set;               /* SMARTVAULT_NOW given */
    int64_t now_ms;             /* SMARTVAULT_NOW as Unix milliseconds (meaningful when now_set) */
    enum log_format log_format; /* default json */
    enum log_level log_level;   /* default info */
    int64_t stop_timeout_s;     /* default 20, 1s..1h: a stop (SIGTERM, RUN_TIMEOUT) ends the run within it */
    int64_t run_timeout_s;      /* RUN_TIMEOUT, default 55m, 1s..1d: no new request starts after it */

    /* --- reporting --- */
    const char *sns_topic_arn;    /* NULL: no SNS summary */
    const char *sns_topic_region; /* the topic's region, from its ARN */
    const char *metric_namespace; /* default "SmartVault" */
    enum cfg_metrics_mode metrics_mode;
    const char *dynamodb_table;        /* NULL: no audit items. A table name or a table ARN, as given */
    const char *dynamodb_table_region; /* the region of a table ARN, else NULL (= source region) */
    uint32_t audit_ttl_days;           /* default 365 */
    const char *report_bucket;         /* NULL: no coverage page in S3 (the bucket is in the source region) */
    const char *report_prefix;         /* default "smartvault/": <prefix>index.html and <prefix>report.json */

    /* --- S3 job: runs when s3_enabled (a source bucket and at least one route) --- */
    bool s3_enabled;
    const char *s3_source_bucket;
    const struct cfg_route *s3_routes; /* in the order defined (S3_ROUTES, then DOC/PHOTO/DB_DEST); unique prefixes */
    size_t s3_nroutes;
    const char *s3_dest_prefix;            /* "" when unset; the destination key is s3_dest_prefix + the source key */
    const char *s3_storage_class;          /* default "STANDARD"; upper case */
    enum cfg_s3_sse s3_sse;                /* default AES256 */
    const char *s3_sse_kms_key_id;         /* set exactly when s3_sse is CFG_S3_SSE_KMS */
    uint64_t s3_multipart_threshold_bytes; /* default 64 MiB, 5 MiB..5 GiB: objects this large use multipart copy */
    uint64_t s3_part_size_bytes;           /* default 64 MiB, 5 MiB..5 GiB */

    /* --- AWS SDK settings --- */
    uint32_t aws_max_attempts; /* default 3 (5 in legacy mode), 1..20; attempts including the first */
    enum cfg_retry_mode aws_retry_mode;
    const char *endpoint_url;                          /* AWS_ENDPOINT_URL, or NULL */
    const char *service_endpoint_urls[CFG_SVC__COUNT]; /* AWS_ENDPOINT_URL_<SERVICE>, or NULL */
    bool ignore_configured_endpoint_urls;              /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS */
    const char *ca_bundle;                             /* a readable regular file, or NULL (embedded bundle) */
    bool ec2_metadata_disabled;                        /* AWS_EC2_METADATA_DISABLED */
    bool ec2_metadata_v1_disabled;                     /* AWS_EC2_METADATA_V1_DISABLED (read by aws/imds) */

    /*
     * --- the environment as the AWS layer must see it: { cfg_env_get, this cfg } (a copy of struct cfg keeps
     * pointing at the parsed original, whose answers are the same) ---
     */
    struct endpoint_env env;
    /* the environment cfg_parse was given (its envp or getenv callback), for cfg_env_get */
    const char *const *envp;
    const char *(*getenv_fn)(void *ctx, const char *name);
    void *getenv_ctx;

    /* --- provenance, for cfg_print and tests: indexed by the canonical variable (never by an alias) --- */
    struct cfg_source src[CFG_VAR__COUNT];
};

/*
 * The injected input. Exactly one of `envp` and `getenv_fn` is used (envp when non-NULL); both NULL means an
 * empty environment. `argv` holds the flags only (after the subcommand), `argc` entries, not NULL-terminated.
 */
struct cfg_input {
    const char *const *envp; /* "NAME=value" strings, NULL-terminated, as environ */
    const char *(*getenv_fn)(void *ctx, const char *name);
    void *getenv_ctx;
    int argc;
    const char *const *argv;
};

/* The one error line: "<VARIABLE or --flag>: <what is wrong>[, got "<value>"][ (from --flag)]", no newline. */
struct cfg_error {
    enum cfg_var var; /* the variable the line names, or CFG_VAR__COUNT when it is about a flag itself */
    char line[CFG_ERROR_MAX];
};

/*
 * Parses and validates everything. On ERR_OK *out is complete; strings and the route table live in `arena`
 * (which must outlive *out). On ERR_CONFIG, err->line holds the one message and *out must not be used. No
 * other error is returned (out of memory is fatal in the arena). The only side effect is checking that the CA
 * bundle file (AWS_CA_BUNDLE / SSL_CERT_FILE) can be opened for reading.
 */
enum err cfg_parse(struct cfg *out, struct arena *arena, const struct cfg_input *in, struct cfg_error *err)
  SV_MUST_CHECK;

/*
 * The route for a source key: the route whose prefix is the longest prefix of `key`, or NULL when no route
 * matches (the object is not backed up). Pure.
 */
const struct cfg_route *cfg_s3_route(const struct cfg *c, struct span key);

/* Which endpoint a request uses is decided in one place, aws/endpoint.c (endpoint_resolve), from `env` below. */

/*
 * The DR region of snapshots taken in `source`: its DEST_REGION_MAP entry, else DEST_REGION (NULL: no copies).
 */
const char *cfg_dest_region_for(const struct cfg *c, const char *source);

/* The partition of a valid region name ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", ...). */
const char *cfg_region_partition(struct span region);

/*
 * The environment as the layers below see it (aws/endpoint.h's `struct endpoint_env` lookup, with `ctx` the
 * parsed `const struct cfg *`): a setting's validated value (flags included; an alias answers with its
 * setting's value), the value of a variable read elsewhere (credentials, proxies) from the environment cfg_parse
 * was given, and NULL for any name not in the table. Nothing below cfg calls getenv.
 */
const char *cfg_env_get(void *ctx, const char *name);

/*
 * Appends the effective configuration, one line per setting in enum cfg_var order (aliases are folded into
 * their setting):
 *
 *   NAME=value  (source: env|flag --x|default|unset|alias AWS_REGION|...)
 *
 * Unset settings print an empty value. Credential and proxy variables print "(set)" or nothing: their values
 * are never copied into struct cfg, so they cannot be printed. The caller checks buf_status().
 */
void cfg_print(const struct cfg *c, struct buf *out);

#endif
