/*
 * cfg_print.c - `smartvault config`: the effective configuration as text, one setting per line.
 *
 *   RETENTION_DAYS=14  (source: env)
 *   SOURCE_REGION=eu-west-1  (source: alias AWS_REGION)
 *   S3_ROUTES=documents/=doc-backup,photos/=photo-backup  (source: env + alias DOC_DEST)
 *   AWS_SECRET_ACCESS_KEY=(set)  (source: env)
 *
 * The value part is what the cycle will use, in the syntax the variable accepts, so a line can be pasted back
 * into an environment file. Text rather than JSON because its reader is an operator at a terminal; the JSON log
 * already carries the settings that matter per run.
 *
 * It cannot print a secret: struct cfg never holds one (cfg.c records only that a credential is set).
 */
#include "cfg/cfg.h"

#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>

static void s_bool(struct buf *b, bool v) {
    buf_append_cstr(b, v ? "true" : "false");
}

static void s_str(struct buf *b, const char *s) {
    if (s != NULL) {
        buf_append_cstr(b, s);
    }
}

static void s_duration(struct buf *b, int64_t secs) {
    static const struct {
        char unit;
        int64_t secs;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    if (secs == 0) {
        buf_append_cstr(b, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t n = secs / units[i].secs;
        secs %= units[i].secs;
        if (n > 0) {
            buf_appendf(b, "%" PRId64 "%c", n, units[i].unit);
        }
    }
}

static void s_size(struct buf *b, uint64_t bytes) {
    if (bytes != 0 && bytes % CFG_GIB == 0) {
        buf_appendf(b, "%" PRIu64 "GiB", bytes / CFG_GIB);
    } else if (bytes != 0 && bytes % CFG_MIB == 0) {
        buf_appendf(b, "%" PRIu64 "MiB", bytes / CFG_MIB);
    } else {
        buf_appendf(b, "%" PRIu64, bytes);
    }
}

static void s_optional_count(struct buf *b, const struct cfg *c, enum cfg_var v, uint32_t n) {
    if (c->src[v].origin != CFG_ORIGIN_UNSET) {
        buf_appendf(b, "%" PRIu32, n);
    }
}

static void s_routes(struct buf *b, const struct cfg *c) {
    for (size_t i = 0; i < c->s3_nroutes; i++) {
        buf_appendf(b, "%s%s=%s", i ? "," : "", c->s3_routes[i].prefix, c->s3_routes[i].bucket);
    }
}

static void s_list(struct buf *b, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        buf_appendf(b, "%s%s", i ? "," : "", list[i]);
    }
}

/* The effective value of setting v. */
static void s_value(struct buf *b, const struct cfg *c, enum cfg_var v) {
    static const char *const metrics[] = { "api", "emf", "both", "off" };
    static const char *const retry[] = { "standard", "adaptive", "legacy" };
    switch (v) {
        case CFG_VAR_SOURCE_REGION:
            s_str(b, c->source_region);
            break;
        case CFG_VAR_DEST_REGION:
            s_str(b, c->dest_region);
            break;
        case CFG_VAR_EBS_BACKUP:
            s_bool(b, c->ebs_backup);
            break;
        case CFG_VAR_BACKUP_TAG:
            buf_appendf(b, "%s=%s", c->backup_tag.keys[0], c->backup_tag.value);
            break;
        case CFG_VAR_RETENTION_DAYS:
            buf_appendf(b, "%" PRIu32, c->retention_days);
            break;
        case CFG_VAR_DEST_RETENTION_DAYS:
            buf_appendf(b, "%" PRIu32, c->dest_retention_days);
            break;
        case CFG_VAR_MIN_KEEP:
            buf_appendf(b, "%" PRIu32, c->min_keep);
            break;
        case CFG_VAR_KEEP_DAILY:
            s_optional_count(b, c, v, c->keep_daily);
            break;
        case CFG_VAR_KEEP_WEEKLY:
            s_optional_count(b, c, v, c->keep_weekly);
            break;
        case CFG_VAR_KEEP_MONTHLY:
            s_optional_count(b, c, v, c->keep_monthly);
            break;
        case CFG_VAR_MIN_INTERVAL:
            s_duration(b, c->min_interval_s);
            break;
        case CFG_VAR_RPO:
            s_duration(b, c->rpo_s);
            break;
        case CFG_VAR_KMS_KEY_ID:
            s_str(b, c->kms_key_id);
            break;
        case CFG_VAR_WAIT_FOR_COMPLETION:
            s_duration(b, c->wait_for_completion_s);
            break;
        case CFG_VAR_COPY_WINDOW:
            s_duration(b, c->copy_window_s);
            break;
        case CFG_VAR_RUN_TIMEOUT:
            s_duration(b, c->run_timeout_s);
            break;
        case CFG_VAR_MAX_CONCURRENCY:
            buf_appendf(b, "%" PRIu32, c->max_concurrency);
            break;
        case CFG_VAR_COPY_LIMIT:
            buf_appendf(b, "%" PRIu32, c->copy_limit);
            break;
        case CFG_VAR_EC2_PAGE_SIZE:
            buf_appendf(b, "%" PRIu32, c->ec2_page_size);
            break;
        case CFG_VAR_RESTORE_DRILL:
            buf_appendf(b, "%" PRIu32, c->restore_drill);
            break;
        case CFG_VAR_RESTORE_DRILL_AZ:
            s_str(b, c->restore_drill_az);
            break;
        case CFG_VAR_RESTORE_DRILL_TIMEOUT:
            s_duration(b, c->restore_drill_timeout_s);
            break;
        case CFG_VAR_RESTORE_DRILL_PERIOD:
            s_duration(b, c->restore_drill_period_s);
            break;
        case CFG_VAR_SOURCE_REGIONS:
            s_list(b, c->source_regions, c->nsource_regions);
            break;
        case CFG_VAR_DEST_REGION_MAP:
            for (size_t i = 0; i < c->ndest_region_map; i++) {
                buf_appendf(b, "%s%s=%s", i ? "," : "", c->dest_region_map[i].source, c->dest_region_map[i].dest);
            }
            break;
        case CFG_VAR_ACCOUNTS:
            if (c->accounts_organization) {
                buf_append_cstr(b, "organization");
            }
            s_list(b, c->accounts, c->naccounts);
            break;
        case CFG_VAR_ACCOUNTS_EXCLUDE:
            s_list(b, c->accounts_exclude, c->naccounts_exclude);
            break;
        case CFG_VAR_ACCOUNT_ROLE_NAME:
            s_str(b, c->account_role_name);
            break;
        case CFG_VAR_ACCOUNT_ROLE_EXTERNAL_ID:
            /* Not a secret by AWS's definition, but it is one half of the confused-deputy guard: shown as set. */
            buf_append_cstr(b, c->account_role_external_id ? "(set)" : "");
            break;
        case CFG_VAR_SHARD_INDEX:
            buf_appendf(b, "%" PRIu32, c->shard_index);
            break;
        case CFG_VAR_SHARD_COUNT:
            buf_appendf(b, "%" PRIu32, c->shard_count);
            break;
        case CFG_VAR_DRY_RUN:
            s_bool(b, c->dry_run);
            break;
        case CFG_VAR_SMARTVAULT_NOW:
            if (c->now_set) {
                char ts[TIME_ISO8601_LEN + 5];
                time_format_iso8601_ms(c->now_ms, ts);
                buf_append_cstr(b, ts);
            }
            break;
        case CFG_VAR_LOG_FORMAT:
            buf_append_cstr(b, c->log_format == LOG_FORMAT_TEXT ? "text" : "json");
            break;
        case CFG_VAR_LOG_LEVEL:
            buf_append_cstr(b, log_level_name(c->log_level));
            break;
        case CFG_VAR_STOP_TIMEOUT:
            s_duration(b, c->stop_timeout_s);
            break;
        case CFG_VAR_SNS_TOPIC_ARN:
            s_str(b, c->sns_topic_arn);
            break;
        case CFG_VAR_METRIC_NAMESPACE:
            s_str(b, c->metric_namespace);
            break;
        case CFG_VAR_METRICS_MODE:
            buf_append_cstr(b, metrics[c->metrics_mode]);
            break;
        case CFG_VAR_DYNAMODB_TABLE:
            s_str(b, c->dynamodb_table);
            break;
        case CFG_VAR_AUDIT_TTL_DAYS:
            buf_appendf(b, "%" PRIu32, c->audit_ttl_days);
            break;
        case CFG_VAR_REPORT_BUCKET:
            s_str(b, c->report_bucket);
            break;
        case CFG_VAR_REPORT_PREFIX:
            s_str(b, c->report_prefix);
            break;
        case CFG_VAR_S3_SOURCE_BUCKET:
            s_str(b, c->s3_source_bucket);
            break;
        case CFG_VAR_S3_ROUTES:
            s_routes(b, c);
            break;
        case CFG_VAR_S3_DEST_PREFIX:
            s_str(b, c->s3_dest_prefix);
            break;
        case CFG_VAR_S3_STORAGE_CLASS:
            s_str(b, c->s3_storage_class);
            break;
        case CFG_VAR_S3_SSE:
            buf_append_cstr(b, c->s3_sse == CFG_S3_SSE_KMS ? "aws:kms" : "AES256");
            break;
        case CFG_VAR_S3_SSE_KMS_KEY_ID:
            s_str(b, c->s3_sse_kms_key_id);
            break;
        case CFG_VAR_S3_MULTIPART_THRESHOLD:
            s_size(b, c->s3_multipart_threshold_bytes);
            break;
        case CFG_VAR_S3_PART_SIZE:
            s_size(b, c->s3_part_size_bytes);
            break;
        case CFG_VAR_AWS_MAX_ATTEMPTS:
            buf_appendf(b, "%" PRIu32, c->aws_max_attempts);
            break;
        case CFG_VAR_AWS_RETRY_MODE:
            buf_append_cstr(b, retry[c->aws_retry_mode]);
            break;
        case CFG_VAR_AWS_ENDPOINT_URL:
            s_str(b, c->endpoint_url);
            break;
        case CFG_VAR_AWS_ENDPOINT_URL_EC2:
        case CFG_VAR_AWS_ENDPOINT_URL_S3:
        case CFG_VAR_AWS_ENDPOINT_URL_SNS:
        case CFG_VAR_AWS_ENDPOINT_URL_CLOUDWATCH:
        case CFG_VAR_AWS_ENDPOINT_URL_DYNAMODB:
        case CFG_VAR_AWS_ENDPOINT_URL_STS:
            s_str(b, c->service_endpoint_urls[v - CFG_VAR_AWS_ENDPOINT_URL_EC2]);
            break;
        case CFG_VAR_AWS_IGNORE_CONFIGURED_ENDPOINT_URLS:
            s_bool(b, c->ignore_configured_endpoint_urls);
            break;
        case CFG_VAR_AWS_CA_BUNDLE:
            s_str(b, c->ca_bundle);
            break;
        case CFG_VAR_AWS_EC2_METADATA_DISABLED:
            s_bool(b, c->ec2_metadata_disabled);
            break;
        case CFG_VAR_AWS_EC2_METADATA_V1_DISABLED:
            s_bool(b, c->ec2_metadata_v1_disabled);
            break;
        default:
            /* Credentials and proxies: a secret is never in struct cfg, so there is nothing to leak here. */
            if (cfg_var_info(v)->kind == CFG_KIND_SHOWN) {
                s_str(b, c->src[v].shown);
            } else if (c->src[v].origin != CFG_ORIGIN_UNSET) {
                buf_append_cstr(b, "(set)");
            }
            break;
    }
}

/* "env", "alias AWS_REGION", "flag --retention-days", "flag --set SRC_BUCKET", "default", "unset". */
static void s_origin(struct buf *b, const struct cfg *c, enum cfg_var v) {
    const struct cfg_source *s = &c->src[v];
    const char *from = cfg_var_info(s->from)->name;
    switch (s->origin) {
        case CFG_ORIGIN_UNSET:
            buf_append_cstr(b, "unset");
            break;
        case CFG_ORIGIN_DEFAULT:
            buf_append_cstr(b, "default");
            break;
        case CFG_ORIGIN_ENV:
            if (s->from == v) {
                buf_append_cstr(b, "env");
            } else {
                buf_appendf(b, "alias %s", from);
            }
            break;
        case CFG_ORIGIN_FLAG:
            buf_appendf(b, "flag %s", s->flag != NULL ? s->flag : "");
            if (s->from != v) {
                buf_appendf(b, " %s", from);
            }
            break;
    }
}

static void s_source(struct buf *b, const struct cfg *c, enum cfg_var v) {
    if (v == CFG_VAR_S3_ROUTES) {
        /* Routes merge S3_ROUTES and the seed-004 variables: name every contributor. */
        static const enum cfg_var parts[] = {
            CFG_VAR_S3_ROUTES, CFG_VAR_DOC_DEST, CFG_VAR_PHOTO_DEST, CFG_VAR_DB_DEST
        };
        size_t shown = 0;
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            const struct cfg_source *s = &c->src[parts[i]];
            if (s->origin == CFG_ORIGIN_UNSET) {
                continue;
            }
            buf_append_cstr(b, shown++ ? " + " : "");
            if (parts[i] != CFG_VAR_S3_ROUTES && s->origin == CFG_ORIGIN_ENV) {
                buf_appendf(b, "alias %s", cfg_var_info(parts[i])->name);
            } else if (parts[i] != CFG_VAR_S3_ROUTES) {
                buf_appendf(b, "flag --set %s", cfg_var_info(parts[i])->name);
            } else {
                s_origin(b, c, parts[i]);
            }
        }
        if (shown == 0) {
            buf_append_cstr(b, "unset");
        }
        return;
    }
    s_origin(b, c, v);
    if (c->src[v].origin != CFG_ORIGIN_DEFAULT) {
        if (v == CFG_VAR_SOURCE_REGION && c->src[v].origin == CFG_ORIGIN_UNSET) {
            buf_append_cstr(b, "; the instance metadata service is asked at run time");
        }
        return;
    }
    switch (v) {
        case CFG_VAR_DEST_RETENTION_DAYS:
            buf_append_cstr(b, " = RETENTION_DAYS");
            break;
        case CFG_VAR_SOURCE_REGIONS:
            buf_append_cstr(b, " = SOURCE_REGION");
            break;
        case CFG_VAR_SOURCE_REGION:
            buf_append_cstr(b, " = the first of SOURCE_REGIONS");
            break;
        case CFG_VAR_BACKUP_TAG:
            buf_append_cstr(b, ": key Backup or backup, value true in any case");
            break;
        case CFG_VAR_AWS_MAX_ATTEMPTS:
            buf_append_cstr(b, " for the retry mode");
            break;
        default:
            break;
    }
}

void cfg_print(const struct cfg *c, struct buf *out) {
    for (size_t i = 0; i < CFG_VAR__COUNT; i++) {
        enum cfg_var v = (enum cfg_var) i;
        if (cfg_var_info(v)->kind == CFG_KIND_ALIAS) {
            continue;
        }
        buf_appendf(out, "%s=", cfg_var_info(v)->name);
        s_value(out, c, v);
        buf_append_cstr(out, "  (source: ");
        s_source(out, c, v);
        buf_append_cstr(out, ")\n");
    }
}
