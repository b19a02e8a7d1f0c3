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

static void s_str(struct buf *b, const char *s) {
    if (s != NULL) {
        buf_append_cstr(b, s);
    }
}

static void s_list(struct buf *b, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        buf_appendf(b, "%s%s", i ? "," : "", list[i]);
    }
}

/*
 * The TEXT settings whose printed form is not simply the value given: normalised lists, derived defaults, the
 * external id shown only as set. Returns false for the others (their value is printed as recorded).
 */
static bool s_text_value(struct buf *b, const struct cfg *c, enum cfg_var v) {
    switch (v) {
        case CFG_VAR_BACKUP_TAG:
            buf_appendf(b, "%s=%s", c->backup_tag.keys[0], c->backup_tag.value);
            return true;
        case CFG_VAR_SOURCE_REGIONS:
            s_list(b, c->source_regions, c->nsource_regions);
            return true;
        case CFG_VAR_DEST_REGION_MAP:
            for (size_t i = 0; i < c->ndest_region_map; i++) {
                buf_appendf(b, "%s%s=%s", i ? "," : "", c->dest_region_map[i].source, c->dest_region_map[i].dest);
            }
            return true;
        case CFG_VAR_ACCOUNTS:
            s_str(b, c->accounts_organization ? "organization" : NULL);
            s_list(b, c->accounts, c->naccounts);
            return true;
        case CFG_VAR_ACCOUNTS_EXCLUDE:
            s_list(b, c->accounts_exclude, c->naccounts_exclude);
            return true;
        case CFG_VAR_ACCOUNT_ROLE_EXTERNAL_ID:
            /* Not a secret by AWS's definition, but it is one half of the confused-deputy guard: shown as set. */
            s_str(b, c->account_role_external_id ? "(set)" : NULL);
            return true;
        case CFG_VAR_SHARD_INDEX:
            buf_appendf(b, "%" PRIu32, c->shard_index);
            return true;
        case CFG_VAR_SMARTVAULT_NOW:
            if (c->now_set) {
                char ts[TIME_ISO8601_LEN + 5];
                time_format_iso8601_ms(c->now_ms, ts);
                buf_append_cstr(b, ts);
            }
            return true;
        case CFG_VAR_LOG_LEVEL:
            buf_append_cstr(b, log_level_name(c->log_level));
            return true;
        case CFG_VAR_S3_ROUTES:
            for (size_t i = 0; i < c->s3_nroutes; i++) {
                buf_appendf(b, "%s%s=%s", i ? "," : "", c->s3_routes[i].prefix, c->s3_routes[i].bucket);
            }
            return true;
        case CFG_VAR_METRIC_NAMESPACE:
            s_str(b, c->metric_namespace);
            return true;
        case CFG_VAR_REPORT_PREFIX:
            s_str(b, c->report_prefix);
            return true;
        case CFG_VAR_S3_DEST_PREFIX:
            s_str(b, c->s3_dest_prefix);
            return true;
        default:
            return false;
    }
}

/* The effective value of setting v: typed settings and plain TEXT ones as recorded by cfg_parse. */
static void s_value(struct buf *b, const struct cfg *c, enum cfg_var v) {
    enum cfg_var_kind kind = cfg_var_info(v)->kind;
    if (kind == CFG_KIND_SECRET) {
        /* A secret is never in struct cfg, so there is nothing to leak here. */
        s_str(b, c->src[v].origin != CFG_ORIGIN_UNSET ? "(set)" : NULL);
    } else if (kind == CFG_KIND_SHOWN || cfg_var_info(v)->type != CFG_TYPE_TEXT || !s_text_value(b, c, v)) {
        s_str(b, c->src[v].value);
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
