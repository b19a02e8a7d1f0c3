/*
 * cfg_vars.h - the configuration table's types and the table itself (cfg_vars.def, built in cfg_vars.c): every
 * variable with its name, kind, aliases, flag, group, type, range, default and help; and the named maxima and
 * defaults the table uses. cfg.h has the parsed result; this header is what --help, `config`, the typo
 * detector and the README table read.
 */
#ifndef SV_CFG_CFG_VARS_H
#define SV_CFG_CFG_VARS_H

#include <stdint.h>

/* Named maximums (the shape limits the checks share are in cfg_check.h). */
#define CFG_VALUE_MAX 8192        /* longest accepted value of one variable or flag, in bytes */
#define CFG_ERROR_MAX 512         /* the one error line, NUL included */
#define CFG_ROUTES_MAX 64         /* S3 routes after merging S3_ROUTES and the seed-004 aliases */
#define CFG_TAG_KEYS_MAX 2        /* the default backup tag matches two keys */
#define CFG_FLAG_ARGS_MAX 1024    /* argv entries considered */
#define CFG_SOURCE_REGIONS_MAX 32 /* SOURCE_REGIONS entries (AWS has about 35 regions) */
#define CFG_ACCOUNTS_MAX 2048     /* ACCOUNTS and ACCOUNTS_EXCLUDE entries */
#define CFG_ACCOUNT_ID_LEN 12     /* AWS account ids are 12 digits */
#define CFG_ROLE_NAME_MAX 64      /* IAM role names are 1-64 characters */
#define CFG_EXTERNAL_ID_MIN 2     /* STS AssumeRole ExternalId: 2-1224 characters */
#define CFG_EXTERNAL_ID_MAX 1224
#define CFG_SHARDS_MAX 10000 /* SHARD_COUNT (AWS Batch arrays go to 10,000) */

#define CFG_DAYS_MAX 36500             /* RETENTION_DAYS, DEST_RETENTION_DAYS, AUDIT_TTL_DAYS: 100 years */
#define CFG_KEEP_MAX 1000              /* MIN_KEEP, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY */
#define CFG_MIN_INTERVAL_MAX_S 7776000 /* 90 days */
#define CFG_RPO_MAX_S 15552000         /* RPO: 180 days (twice the longest MIN_INTERVAL) */
#define CFG_RPO_MIN_DEFAULT_S 3600     /* the derived RPO is never under an hour */
#define CFG_WAIT_MAX_S 7200            /* WAIT_FOR_COMPLETION: 2 hours, a scheduled task must end */
#define CFG_STOP_TIMEOUT_MAX_S 3600    /* STOP_TIMEOUT: at most an hour (Kubernetes allows longer grace periods) */
#define CFG_DEFAULT_STOP_TIMEOUT_S 20  /* below the 30 s that ECS (stopTimeout) and Kubernetes give by default */
#define CFG_RUN_TIMEOUT_MAX_S 86400    /* RUN_TIMEOUT: a day; a daily run must end before the next one */
#define CFG_CONCURRENCY_MAX 256
#define CFG_COPY_LIMIT_MAX 100
#define CFG_RESTORE_DRILL_MAX 100     /* RESTORE_DRILL: volumes drilled per cycle */
#define CFG_RESTORE_DRILL_ZONES_MAX 4 /* RESTORE_DRILL_AZ entries */
#define CFG_EC2_PAGE_SIZE_MIN 5       /* EC2 DescribeInstances/DescribeSnapshots MaxResults bounds */
#define CFG_EC2_PAGE_SIZE_MAX 1000
#define CFG_MAX_ATTEMPTS_MAX 20
#define CFG_MIB ((uint64_t) 1024 * 1024)
#define CFG_GIB ((uint64_t) 1024 * 1024 * 1024)
#define CFG_S3_PART_MIN (5 * CFG_MIB) /* S3 UploadPartCopy: parts are 5 MiB to 5 GiB */
#define CFG_S3_COPY_MAX (5 * CFG_GIB) /* CopyObject copies at most 5 GiB; larger objects need multipart */

/* Defaults. */
#define CFG_DEFAULT_RETENTION_DAYS 7
#define CFG_DEFAULT_MIN_KEEP 1
#define CFG_DEFAULT_MIN_INTERVAL_S 1800
#define CFG_DEFAULT_MAX_CONCURRENCY 16
#define CFG_DEFAULT_RESTORE_DRILL_TIMEOUT_S 600  /* a gp3 volume from a snapshot is available in seconds */
#define CFG_DEFAULT_RESTORE_DRILL_PERIOD_S 86400 /* the shipped schedule runs daily */
#define CFG_DEFAULT_COPY_LIMIT 20 /* the default EC2 quota of concurrent snapshot copies per destination region */
/*
 * RUN_TIMEOUT: 55 minutes. The shipped CronJob's activeDeadlineSeconds is 3600 and Kubernetes then sends SIGTERM
 * with the default 30 s grace; ECS tasks have no run limit, but a scheduled task should end long before the next
 * start. 5 minutes are left for the requests in flight and the reporting step.
 */
#define CFG_DEFAULT_RUN_TIMEOUT_S 3300
/*
 * COPY_WINDOW: 20 minutes. Daily incremental copies usually complete in minutes, so 20 slots turn over several
 * times; with RUN_TIMEOUT 55m it leaves half an hour for creating and deleting before it.
 */
#define CFG_DEFAULT_COPY_WINDOW_S 1200
#define CFG_DEFAULT_METRIC_NAMESPACE "SmartVault"
#define CFG_DEFAULT_AUDIT_TTL_DAYS 365
#define CFG_DEFAULT_REPORT_PREFIX "smartvault/"
#define CFG_DEFAULT_S3_STORAGE_CLASS "STANDARD"
#define CFG_DEFAULT_S3_MULTIPART_THRESHOLD (64 * CFG_MIB)
#define CFG_DEFAULT_S3_PART_SIZE (64 * CFG_MIB)
#define CFG_DEFAULT_MAX_ATTEMPTS 3        /* standard and adaptive retry modes, as the SDKs */
#define CFG_DEFAULT_MAX_ATTEMPTS_LEGACY 5 /* legacy retry mode, as the SDKs */

/* DEF of a variable without a fixed default (unset stays unset, or the default depends on another variable). */
#define CFG_NO_DEF (-1)

/*
 * Every variable cfg knows, in the order they are validated and printed: generated from cfg_vars.def, the one
 * table of variables (aliases and the variables that are only read elsewhere are listed too).
 */
enum cfg_var {
#define CFG_SET(id, ...) CFG_VAR_##id,
#define CFG_ALIAS(id, ...) CFG_VAR_##id,
#define CFG_READ(id, ...) CFG_VAR_##id,
#include "cfg/cfg_vars.def"
#undef CFG_SET
#undef CFG_ALIAS
#undef CFG_READ
    CFG_VAR__COUNT
};

enum cfg_var_kind {
    CFG_KIND_SETTING = 0, /* parsed and validated here */
    CFG_KIND_ALIAS,       /* another name for (or a contribution to) `alias_of` */
    CFG_KIND_SHOWN,       /* read elsewhere; `smartvault config` shows the value (a path, a role ARN) */
    CFG_KIND_SECRET,      /* read elsewhere; `smartvault config` shows only "(set)" */
};

/* The headings of --help and the README, in order. */
enum cfg_group {
    CFG_GROUP_EBS = 0,
    CFG_GROUP_DRILL,
    CFG_GROUP_TARGETS,
    CFG_GROUP_RUN,
    CFG_GROUP_REPORTING,
    CFG_GROUP_S3,
    CFG_GROUP_SDK,
    CFG_GROUP_CREDS,
    CFG_GROUP__COUNT
};

/* How a setting's value is written; all but TEXT are parsed by one helper each, from the table alone. */
enum cfg_type {
    CFG_TYPE_TEXT = 0, /* its own checker in cfg.c; aliases and variables read elsewhere too */
    CFG_TYPE_UINT,     /* a whole number in [min, max] */
    CFG_TYPE_DURATION, /* 90s, 30m, 2h30m, 1d or whole seconds, in [min, max] seconds */
    CFG_TYPE_SIZE,     /* bytes or KiB/MiB/GiB, in [min, max] bytes */
    CFG_TYPE_BOOL,     /* true/false, 1/0, yes/no */
    CFG_TYPE_CHOICE,   /* one of `choices` ("a|b|c"), any letter case */
};

struct cfg_var_info {
    const char *name; /* "RETENTION_DAYS" */
    enum cfg_var_kind kind;
    enum cfg_var alias_of; /* CFG_KIND_ALIAS only */
    const char *flag;      /* the dedicated flag ("--retention-days"), or NULL (use --set) */
    enum cfg_group group;
    enum cfg_type type;
    int64_t min, max;         /* UINT, DURATION, SIZE */
    int64_t def;              /* the default (BOOL 0/1, CHOICE an index), or CFG_NO_DEF */
    const char *extra;        /* UINT: the unit in the error line (" of days"); CHOICE: "a|b|c"; else NULL */
    const char *default_text; /* NULL: `def` written as the variable accepts it */
    const char *help;         /* one line */
};

/* The static description of one variable; `v` must be < CFG_VAR__COUNT. */
const struct cfg_var_info *cfg_var_info(enum cfg_var v);

/* The whole table, CFG_VAR__COUNT entries in enum cfg_var order. */
const struct cfg_var_info *cfg_var_table(void);

#endif
