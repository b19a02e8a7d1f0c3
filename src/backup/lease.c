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
#include <stdlib.h>
#include <string.h>

#define S_LEASE_SK "lease"

static const char *s_region(const struct cycle *cy) {
    return cy->cfg->dynamodb_table_region ? cy->cfg->dynamodb_table_region : cy->cfg->source_region;
}

/* A lease write's request and its body (in `body`): a put (take or renew) or a delete, on `condition`. */
struct s_lease_write {
    struct cycle *cy;
    struct aws_request r;
    struct buf body;
};

static enum err s_build(struct s_lease_write *w, struct cycle *cy, bool put, const char *condition) {
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
    w->cy = cy;
    buf_init(&w->body, BUF_MAX_SMALL);
    w->r = (struct aws_request){ .service = ENDPOINT_DYNAMODB,
                                 .region = s_region(cy),
                                 .operation = put ? "PutItem" : "DeleteItem",
                                 .target = put ? DYNAMODB_TARGET_PUT_ITEM : DYNAMODB_TARGET_DELETE_ITEM };
    enum err e = dynamodb_conditional_body(&w->body, cy->cfg->dynamodb_table, put, &item, condition, &names, &values);
    w->r.body = buf_span(&w->body);
    return e;
}

/* A finished write: true when the condition failed (another run holds the lease); other errors are logged. */
static bool s_condition_failed(struct cycle *cy, const struct aws_request *r) {
    bool failed = r->result != ERR_OK && strcmp(r->error.code, DYNAMODB_CONDITION_FAILED) == 0;
    if (r->result != ERR_OK && !failed) {
        LOG(
          LOG_WARN,
          "lease.unavailable",
          LF_S("table", cy->cfg->dynamodb_table),
          LF_S("operation", r->operation),
          LF_S("aws_code", r->error.code[0] ? r->error.code : err_name(r->result)),
          LF_S("message", r->error.message),
          LF_S("detail", "running without the overlap lease"));
    }
    return failed;
}

/* One conditional write; ERR_OK, ERR_AWS with *condition_failed set when the condition failed, or the error. */
static enum err s_write(struct cycle *cy, bool put, const char *condition, bool *condition_failed) {
    struct s_lease_write w;
    enum err e = s_build(&w, cy, put, condition);
    if (e == ERR_OK) {
        e = aws_run_one(cy->aws, &w.r);
        *condition_failed = s_condition_failed(cy, &w.r);
        aws_request_free(&w.r);
    }
    buf_free(&w.body);
    return e;
}

/* A renewal's answer: the expiry moved, or another run took the (expired) lease. */
static void s_renewed(struct cycle *cy, const struct aws_request *r) {
    if (r->result == ERR_OK) {
        cy->lease_renewed_ms = time_mono_ms();
    } else if (s_condition_failed(cy, r) && cy->lease_held) {
        cy->lease_held = false;
        LOG(LOG_WARN, "lease.lost", LF_S("detail", "another run took the expired lease; this run finishes safely"));
    }
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
    if (!cy->lease_held || cy->lease_renewing || time_mono_ms() - cy->lease_renewed_ms < LEASE_RENEW_S * 1000) {
        return;
    }
    struct s_lease_write w;
    if (s_build(&w, cy, true, "#o = :me") == ERR_OK && aws_run_one(cy->aws, &w.r) != ERR_CANCELLED) {
        s_renewed(cy, &w.r);
    }
    aws_request_free(&w.r);
    buf_free(&w.body);
}

static void s_renew_done(struct aws_request *r) {
    struct s_lease_write *w = r->user;
    w->cy->lease_renewing = false;
    s_renewed(w->cy, r);
    aws_request_free(r);
    buf_free(&w->body);
    free(w);
}

void lease_renew_in_run(struct cycle *cy) {
    if (!cy->lease_held || cy->lease_renewing || time_mono_ms() - cy->lease_renewed_ms < LEASE_RENEW_S * 1000) {
        return;
    }
    struct s_lease_write *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        FATAL("out of memory");
    }
    if (s_build(w, cy, true, "#o = :me") != ERR_OK) {
        buf_free(&w->body);
        free(w);
        return;
    }
    w->r.user = w;
    w->r.on_done = s_renew_done;
    if (aws_run_add(cy->aws, &w->r) != ERR_OK) {
        buf_free(&w->body);
        free(w);
        return;
    }
    cy->lease_renewing = true;
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
