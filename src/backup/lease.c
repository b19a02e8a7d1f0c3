/*
 * lease.c - the run lease (lease.h): one conditional PutItem to take or renew it, one conditional DeleteItem to
 * give it back, each a single call through the request layer.
 *
 * What it does not do: decide to skip the run (cycle.c does, on LEASE_BUSY) or retry beyond the request layer.
 */
#include "backup/lease.h"

#include "base/log.h"
#include "base/time.h"
#include "svc/dynamodb.h"

#include <stdio.h>
#include <string.h>

#define S_LEASE_SK "lease"

static const char *s_region(const struct cycle *cy) {
    return cy->cfg->dynamodb_table_region ? cy->cfg->dynamodb_table_region : cy->cfg->source_region;
}

/* One conditional write; ERR_OK, ERR_AWS with *lost set when the condition failed, or the call's error. */
static enum err s_write(struct cycle *cy, bool put, const char *condition, bool *condition_failed) {
    char now[24], expires[24], pk[96];
    int64_t now_s = aws_client_now_s(cy->aws);
    snprintf(now, sizeof(now), "%lld", (long long) now_s);
    snprintf(expires, sizeof(expires), "%lld", (long long) (now_s + LEASE_TTL_S));
    snprintf(pk, sizeof(pk), "lease#%s", cy->cfg->source_region);
    struct dynamodb_attr attrs[] = {
        { .name = "pk", .type = DYNAMODB_S, .text = pk },
        { .name = "sk", .type = DYNAMODB_S, .text = S_LEASE_SK },
        { .name = "owner", .type = DYNAMODB_S, .text = cy->report->run_id },
        { .name = "expires_at", .type = DYNAMODB_N, .text = expires },
        { .name = "renewed_at", .type = DYNAMODB_N, .text = now },
    };
    struct dynamodb_item item = { attrs, put ? 5 : 2 };
    struct dynamodb_attr name_attrs[] = { { .name = "#o", .type = DYNAMODB_S, .text = "owner" } };
    struct dynamodb_attr value_attrs[] = {
        { .name = ":me", .type = DYNAMODB_S, .text = cy->report->run_id },
        { .name = ":now", .type = DYNAMODB_N, .text = now },
    };
    struct dynamodb_item names = { name_attrs, 1 };
    struct dynamodb_item values = { value_attrs, strstr(condition, ":now") ? 2 : 1 };
    struct buf body;
    buf_init(&body, BUF_MAX_SMALL);
    enum err e = dynamodb_conditional_body(&body, cy->cfg->dynamodb_table, put, &item, condition, &names, &values);
    struct aws_request r = { .service = ENDPOINT_DYNAMODB,
                             .region = s_region(cy),
                             .operation = put ? "PutItem" : "DeleteItem",
                             .target = put ? DYNAMODB_TARGET_PUT_ITEM : DYNAMODB_TARGET_DELETE_ITEM,
                             .body = buf_span(&body) };
    if (e == ERR_OK) {
        e = aws_run_one(cy->aws, &r);
        *condition_failed = e != ERR_OK && strcmp(r.error.code, DYNAMODB_CONDITION_FAILED) == 0;
        if (e != ERR_OK && !*condition_failed) {
            LOG(
              LOG_WARN,
              "lease.unavailable",
              LF_S("table", cy->cfg->dynamodb_table),
              LF_S("operation", r.operation),
              LF_S("aws_code", r.error.code[0] ? r.error.code : err_name(e)),
              LF_S("message", r.error.message),
              LF_S("detail", "running without the overlap lease"));
        }
        aws_request_free(&r);
    }
    buf_free(&body);
    return e;
}

enum lease_result lease_acquire(struct cycle *cy) {
    if (cy->cfg->dynamodb_table == NULL || cy->dry_run) {
        return LEASE_UNAVAILABLE;
    }
    bool busy = false;
    enum err e = s_write(cy, true, "attribute_not_exists(pk) OR expires_at < :now OR #o = :me", &busy);
    if (e == ERR_OK) {
        cy->lease_held = true;
        cy->lease_renewed_ms = time_mono_ms();
        LOG(LOG_INFO, "lease.acquired", LF_S("table", cy->cfg->dynamodb_table), LF_I("ttl_s", LEASE_TTL_S));
        return LEASE_HELD;
    }
    return busy ? LEASE_BUSY : LEASE_UNAVAILABLE;
}

void lease_renew(struct cycle *cy) {
    if (!cy->lease_held || time_mono_ms() - cy->lease_renewed_ms < LEASE_RENEW_S * 1000) {
        return;
    }
    bool lost = false;
    if (s_write(cy, true, "#o = :me", &lost) == ERR_OK) {
        cy->lease_renewed_ms = time_mono_ms();
        return;
    }
    if (lost) {
        cy->lease_held = false;
        LOG(LOG_WARN, "lease.lost", LF_S("detail", "another run took the expired lease; this run finishes safely"));
    }
}

void lease_release(struct cycle *cy) {
    if (!cy->lease_held) {
        return;
    }
    bool lost = false;
    if (s_write(cy, false, "#o = :me", &lost) == ERR_OK) {
        LOG(LOG_INFO, "lease.released", LF_S("table", cy->cfg->dynamodb_table));
    }
    cy->lease_held = false;
}
