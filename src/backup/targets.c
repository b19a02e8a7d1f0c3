/*
 * targets.c - a multi-account, multi-region run: list this shard's targets, open each target's own AWS stack
 * (its account's credentials through AssumeRole, or the hub's own) over one shared HTTP client, run the EBS jobs
 * of all of them overlapped (backup/ebs_many.h), then drill and record how each target went.
 *
 * It does not snapshot, copy or retain anything itself (backup/ebs.c), does not decide the split (backup/shard.c)
 * and does not publish (backup/publish.c reads the per-target records from the report).
 */
#include "backup/targets.h"

#include "backup/drill.h"
#include "backup/ebs.h"
#include "backup/ebs_many.h"

#include "backup/shard.h"
#include "backup/webreport_publish.h"
#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"
#include "codec/json.h"
#include "svc/organizations.h"
#include "svc/sts.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Why a target could not start, one line (the credentials chain's failure line fits). */
#define TARGETS_WHY_MAX CREDS_MAX_FAILURE

bool targets_enabled(const struct cfg *c) {
    return c->naccounts > 0 || c->accounts_organization || c->nsource_regions > 1 || c->shard_count > 1;
}

/* The accounts of the run: ACCOUNTS as given, every ACTIVE account of the organization, or none (own account). */
static enum err s_accounts(struct cycle *hub, const char *const **ids, size_t *n) {
    const struct cfg *c = hub->cfg;
    if (!c->accounts_organization) {
        *ids = c->accounts;
        *n = c->naccounts;
        return ERR_OK;
    }
    const char **listed = NULL;
    enum err e = organizations_list_active_accounts(
      hub->aws, c->source_region, hub->arena, hub->scratch, CFG_ACCOUNTS_MAX, &listed, n);
    if (e != ERR_OK) {
        LOG(LOG_ERROR, "targets.organization_failed", LF_S("error", err_name(e)), LF_S("detail", err_last()->msg));
        return e;
    }
    *ids = listed;
    return ERR_OK;
}

/* Records a target that could not start: one failed item (so the run exits 1) and the reason. */
static void s_cannot_start(struct cycle *hub, struct report_target *rt, const char *code, const char *why) {
    rt->outcome = "failed";
    rt->reason = arena_strndup(hub->arena, why, strlen(why));
    struct report_item it = {
        .action = REPORT_FAILED,
        .job = REPORT_JOB_EBS,
        .ts_ms = time_wall_ms(),
        .region = rt->region,
        .aws_code = code,
        .message = why,
    };
    report_add(hub->report, &it);
    LOG(LOG_ERROR, "target.cannot_start", LF_S("aws_code", code), LF_S("reason", why));
}

/*
 * The target's own stack: its region, its account (for pacing), and AssumeRole credentials unless it is the
 * hub's own account. The credentials are fetched here, so a refused AssumeRole stops this target before any EC2
 * call. On failure `why` says what happened and the stack is closed.
 */
static enum err s_open_stack(
  struct cycle *hub,
  const struct aws_stack_options *base,
  const struct report_target *rt,
  bool own,
  struct aws_stack *st,
  char why[TARGETS_WHY_MAX]) {
    const struct cfg *c = hub->cfg;
    struct aws_stack_options opt = *base;
    opt.region = rt->region;
    opt.account_id = rt->account_id;
    opt.provider = NULL;
    if (!own) {
        char arn[STS_ROLE_ARN_MAX + 1];
        char session[STS_SESSION_NAME_MAX + 1];
        if (!sts_role_arn(c->source_region, rt->account_id, c->account_role_name, arn, sizeof(arn))) {
            snprintf(why, TARGETS_WHY_MAX, "role ARN too long");
            return ERR_LIMIT;
        }
        sts_session_name(hub->report->run_id, session);
        opt.provider =
          sts_assume_role_provider_new(hub->aws, c->source_region, arn, session, c->account_role_external_id);
    }
    enum err e = aws_stack_open(&opt, st);
    if (e != ERR_OK) {
        snprintf(why, TARGETS_WHY_MAX, "%s", err_last()->msg);
        return e;
    }
    const struct creds *cr = NULL;
    e = creds_get(st->creds, aws_client_now_s(st->client), &cr);
    if (e != ERR_OK) {
        snprintf(why, TARGETS_WHY_MAX, "%s", creds_chain_failure(st->creds));
        aws_stack_close(st);
    }
    return e;
}

static void s_add_op(struct aws_op_stat *ops, size_t *nops, size_t max, const struct aws_op_stat *op) {
    for (size_t i = 0; i < *nops; i++) {
        if (strcmp(ops[i].name, op->name) == 0) {
            ops[i].calls += op->calls;
            ops[i].attempts += op->attempts;
            ops[i].failures += op->failures;
            return;
        }
    }
    if (*nops < max) {
        ops[(*nops)++] = *op;
    }
}

static void s_add_retry(struct retry_counters *to, const struct retry_counters *from) {
    to->attempts += from->attempts;
    to->retries += from->retries;
    to->throttles += from->throttles;
    to->timeouts += from->timeouts;
    to->quota_exhausted += from->quota_exhausted;
    to->max_attempts += from->max_attempts;
    to->limiter_waits += from->limiter_waits;
}

static void s_add_http(struct http_stats *to, const struct http_stats *from) {
    to->requests += from->requests;
    to->connections += from->connections;
    to->tls_handshakes += from->tls_handshakes;
    to->bytes_sent += from->bytes_sent;
    to->bytes_received += from->bytes_received;
}

/* Folds a target's stack into the run's totals before it is closed; returns the target's request count. */
static uint64_t s_collect(struct report *rep, const struct aws_stack *st) {
    struct targets_totals *t = rep->target_totals;
    size_t n = 0;
    uint64_t calls = 0;
    const struct aws_op_stat *ops = aws_client_ops(st->client, &n);
    for (size_t i = 0; i < n; i++) {
        s_add_op(t->ops, &t->nops, AWS_MAX_OPS, &ops[i]);
        calls += ops[i].calls;
    }
    struct retry_counters rc = pacing_counters(&st->pacing);
    s_add_retry(&t->retry, &rc);
    return calls; /* HTTP statistics: the targets' shared client, once (targets_run) */
}

void targets_add_totals(
  const struct report *r,
  struct aws_op_stat *ops,
  size_t *nops,
  size_t max,
  struct retry_counters *rc,
  struct http_stats *hs) {
    const struct targets_totals *t = r->target_totals;
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nops; i++) {
        s_add_op(ops, nops, max, &t->ops[i]);
    }
    s_add_retry(rc, &t->retry);
    s_add_http(hs, &t->http);
}

/*
 * What a target's outcome is, from how ebs_run ended and what it recorded. Stopping before any instance was seen
 * (EC2 unreachable, or refusing the very first call as for a region that is not enabled: AuthFailure,
 * OptInRequired) means the target could not start.
 */
static const char *s_outcome(enum err e, const struct cycle *cy, const struct report_counts *c) {
    if (e != ERR_OK && (cy->could_not_start || c->instances_seen == 0)) {
        return "failed";
    }
    if (e != ERR_OK || c->failures > 0) {
        return "partial";
    }
    return c->instances_seen == 0 ? "no_instances" : "ok";
}

/* "<code>: <message>" of the target's first failed action, or NULL. */
static const char *s_first_failure(struct cycle *hub, uint32_t idx) {
    const struct report *rep = hub->report;
    for (size_t i = 0; i < rep->nitems; i++) {
        const struct report_item *it = &rep->items[i];
        if (it->target == idx && it->action == REPORT_FAILED) {
            return arena_printf(hub->arena, "%s: %s", it->aws_code ? it->aws_code : "", it->message ? it->message : "");
        }
    }
    return NULL;
}

/* This shard's targets, recorded in the report (all "not_run" until they run). */
static size_t s_plan(struct cycle *hub, const char *const *ids, size_t n, const char *hub_account, struct target **t) {
    const struct cfg *c = hub->cfg;
    size_t total = shard_targets(c, ids, n, c->accounts_exclude, c->naccounts_exclude, hub->arena, t);
    size_t mine = shard_select(*t, total, c->shard_index);
    struct report *rep = hub->report;
    rep->target_totals = ARENA_NEW(hub->arena, struct targets_totals);
    memset(rep->target_totals, 0, sizeof(*rep->target_totals));
    rep->targets = ARENA_NEW_ARRAY(hub->arena, struct report_target, mine ? mine : 1);
    rep->ntargets = mine;
    for (size_t i = 0; i < mine; i++) {
        struct report_target *rt = &rep->targets[i];
        memset(rt, 0, sizeof(*rt));
        const char *acct = (*t)[i].account_id[0] ? (*t)[i].account_id : hub_account;
        snprintf(rt->account_id, sizeof(rt->account_id), "%s", acct);
        rt->region = (*t)[i].region;
        rt->dest_region = (*t)[i].dest_region;
        rt->outcome = "not_run";
    }
    LOG(
      LOG_INFO,
      "targets.planned",
      LF_U("targets", mine),
      LF_U("targets_all_shards", total),
      LF_U("shard_index", c->shard_index),
      LF_U("shard_count", c->shard_count),
      LF_S("hub_account_id", hub_account));
    return mine;
}

/* One target in the run: its stack, cycle and configuration copy, alive until its record is made. */
struct s_target {
    struct aws_stack stack;
    bool opened;
    struct cfg cfg;
    struct cycle cy;
    int64_t start_ms;
};

/* ebs_many's hook: the target `arg` (1-based index) becomes current for the log and the report; NULL = none. */
static void s_enter(void *ctx, void *arg) {
    struct report *rep = ctx;
    uint32_t idx = (uint32_t) (uintptr_t) arg;
    if (idx == 0 || idx > rep->ntargets) {
        rep->target = 0;
        log_context_clear();
        return;
    }
    const struct report_target *rt = &rep->targets[idx - 1];
    const struct log_field ctxf[] = { LF_S("account_id", rt->account_id), LF_S("region", rt->region) };
    log_context_set(ctxf, 2);
    rep->target = idx;
}

/* Opens a target's stack (its credentials fetched: a refused AssumeRole ends it here) and prepares its cycle. */
static bool s_open_target(
  struct cycle *hub,
  const struct aws_stack_options *base,
  const char *hub_account,
  const struct target *t,
  uint32_t idx,
  struct s_target *x) {
    struct report *rep = hub->report;
    struct report_target *rt = &rep->targets[idx - 1];
    x->start_ms = time_mono_ms();
    bool own = t->account_id[0] == '\0' || strcmp(t->account_id, hub_account) == 0;
    s_enter(rep, (void *) (uintptr_t) idx);
    LOG(LOG_INFO, "target.start", LF_S("dest_region", rt->dest_region), LF_B("assume_role", !own));
    char why[TARGETS_WHY_MAX];
    enum err e = s_open_stack(hub, base, rt, own, &x->stack, why);
    if (e != ERR_OK) {
        s_cannot_start(hub, rt, e == ERR_AUTH || e == ERR_CREDS ? "AssumeRoleFailed" : err_name(e), why);
        return false;
    }
    x->opened = true;
    x->cfg = *hub->cfg;
    x->cfg.source_region = rt->region;
    x->cfg.dest_region = rt->dest_region;
    x->cy = *hub;
    x->cy.cfg = &x->cfg;
    x->cy.aws = x->stack.client;
    x->cy.could_not_start = false;
    x->cy.lease_held = false; /* the hub's lease, renewed by the hub's client (ebs_many.lease), never a target's */
    x->cy.fleet = (struct cycle_fleet){ 0 };
    return true;
}

/* After the EBS job: the target's drill, its outcome and counts, its stack closed. Never fails the run. */
static void s_finish_target(struct cycle *hub, struct s_target *x, const struct ebs_target *et, uint32_t idx) {
    struct report *rep = hub->report;
    struct report_target *rt = &rep->targets[idx - 1];
    s_enter(rep, (void *) (uintptr_t) idx);
    if (x->opened) {
        enum err e = et->result;
        if (!x->cy.could_not_start) {
            drill_run(&x->cy); /* RESTORE_DRILL: each target drills its own volumes, in its own account and regions */
        }
        webreport_keep_target_fleet(hub, &x->cy, rt->account_id);
        rt->instances_seen = et->instances_seen;
        struct report_counts c = report_target_counts(rep, idx);
        rt->outcome = s_outcome(e, &x->cy, &c);
        if (e == ERR_CANCELLED && stop_requested()) {
            /* The run's stop (signal, RUN_TIMEOUT) ended it: not a failure; what it left is recorded as deferred. */
            rt->outcome = "interrupted";
            rt->reason = et->message;
        } else if (e != ERR_OK && c.failures == 0) {
            /* Stopped without recording why: record it, so the run cannot pass for a success. */
            s_cannot_start(hub, rt, err_name(e), et->message ? et->message : err_name(e));
            rt->outcome = x->cy.could_not_start ? "failed" : "partial";
        } else if (strcmp(rt->outcome, "failed") == 0) {
            rt->reason = s_first_failure(hub, idx);
        }
        rt->api_calls = s_collect(rep, &x->stack);
        aws_stack_close(&x->stack);
    }
    rt->wall_ms = time_mono_ms() - x->start_ms;
    struct report_counts c = report_target_counts(rep, idx);
    LOG(
      strcmp(rt->outcome, "ok") == 0 || strcmp(rt->outcome, "no_instances") == 0 ? LOG_INFO : LOG_WARN,
      "target.done",
      LF_S("outcome", rt->outcome),
      LF_U("instances_seen", c.instances_seen),
      LF_U("snapshots_created", c.snapshots_created),
      LF_U("snapshots_copied", c.snapshots_copied),
      LF_U("snapshots_deleted", c.snapshots_deleted),
      LF_U("failures", c.failures),
      LF_U("api_calls", rt->api_calls),
      LF_I("wall_ms", rt->wall_ms));
    s_enter(rep, NULL);
}

/*
 * Every target of the shard: the stacks are opened one after the other (each fetches its credentials), then the
 * EBS jobs of all targets that could start run overlapped (backup/ebs_many.h) over one shared HTTP client, so
 * MAX_CONCURRENCY bounds the whole run; then each target drills and is recorded.
 */
static void s_run_targets(
  struct cycle *hub,
  const struct aws_stack_options *base,
  const char *hub_account,
  const struct target *t,
  size_t mine,
  struct http_client *http) {
    struct report *rep = hub->report;
    struct s_target *xs = ARENA_NEW_ARRAY(hub->arena, struct s_target, mine ? mine : 1);
    struct ebs_target *ets = ARENA_NEW_ARRAY(hub->arena, struct ebs_target, mine ? mine : 1);
    struct aws_stack_options opt = *base;
    opt.http = http;
    size_t n = 0, opened = 0;
    for (; n < mine && !stop_requested(); n++) {
        memset(&xs[n], 0, sizeof(xs[n]));
        if (s_open_target(hub, &opt, hub_account, &t[n], (uint32_t) (n + 1), &xs[n])) {
            ets[opened++] = (struct ebs_target){ .cy = &xs[n].cy, .arg = (void *) (uintptr_t) (n + 1) };
        }
    }
    s_enter(rep, NULL);
    if (n < mine) {
        LOG(
          LOG_WARN, "targets.stopped", LF_U("not_started", mine - n), LF_S("reason", stop_reason_name(stop_reason())));
    }
    struct ebs_many m = { .targets = ets, .n = opened, .enter = s_enter, .ctx = rep, .lease = hub };
    ebs_run_many(&m);
    uint64_t seen = 0;
    for (size_t i = 0, k = 0; i < n; i++) {
        const struct ebs_target *et = xs[i].opened ? &ets[k++] : NULL;
        struct ebs_target none = { .result = ERR_OK };
        s_finish_target(hub, &xs[i], et ? et : &none, (uint32_t) (i + 1));
        seen += rep->targets[i].instances_seen;
    }
    rep->instances_seen = seen;
}

/* The hub's account, the accounts of the run and this shard's targets; an error when the run cannot start. */
static enum err
s_targets(struct cycle *hub, char hub_account[STS_ACCOUNT_ID_LEN + 1], struct target **t, size_t *mine) {
    enum err e = sts_get_caller_account(hub->aws, hub->cfg->source_region, hub->scratch, hub_account);
    const char *const *ids = NULL;
    size_t n = 0;
    if (e == ERR_OK) {
        e = s_accounts(hub, &ids, &n);
    } else {
        LOG(LOG_ERROR, "targets.no_identity", LF_S("error", err_name(e)), LF_S("detail", err_last()->msg));
    }
    if (e != ERR_OK) {
        hub->could_not_start = job_err_cannot_start(e) || e == ERR_AUTH || e == ERR_AWS;
        return e;
    }
    *mine = s_plan(hub, ids, n, hub_account, t);
    return ERR_OK;
}

enum err targets_run(struct cycle *hub, const struct aws_stack_options *base) {
    char hub_account[STS_ACCOUNT_ID_LEN + 1];
    struct target *t = NULL;
    size_t mine = 0;
    TRY(s_targets(hub, hub_account, &t, &mine));
    hub->report->ebs_ran = true;
    /* One connection pool for every target (the executor drives one), apart from the hub's: the hub's client
     * refreshes the targets' assumed roles from inside their batch. */
    struct http_client_options ho = { .ca_file = base->ca_file,
                                      .max_host_connections = (long) (base->max_in_flight ? base->max_in_flight : 16) };
    struct http_client *http = NULL;
    enum err e = http_client_new(&ho, &http);
    if (e != ERR_OK) {
        LOG(LOG_ERROR, "targets.no_http", LF_S("error", err_name(e)), LF_S("detail", err_last()->msg));
        hub->could_not_start = true;
        return e;
    }
    s_run_targets(hub, base, hub_account, t, mine, http);
    s_add_http(&hub->report->target_totals->http, http_client_stats(http));
    http_client_free(http);
    return ERR_OK;
}

enum err targets_survey(struct cycle *hub, const struct aws_stack_options *base) {
    char hub_account[STS_ACCOUNT_ID_LEN + 1];
    struct target *t = NULL;
    size_t mine = 0;
    TRY(s_targets(hub, hub_account, &t, &mine));
    for (size_t i = 0; i < mine && !stop_requested(); i++) {
        struct s_target x;
        memset(&x, 0, sizeof(x));
        if (s_open_target(hub, base, hub_account, &t[i], (uint32_t) (i + 1), &x)) {
            enum err e = ebs_survey(&x.cy);
            if (e != ERR_OK) {
                LOG(LOG_WARN, "target.survey_failed", LF_S("error", err_name(e)), LF_S("detail", err_last()->msg));
            }
            webreport_keep_target_fleet(hub, &x.cy, hub->report->targets[i].account_id);
            aws_stack_close(&x.stack);
        }
        s_enter(hub->report, NULL);
    }
    return ERR_OK;
}

void targets_json(const struct report *r, struct buf *out) {
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_array_begin(&w);
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *rt = &r->targets[i];
        struct report_counts c = report_target_counts(r, (uint32_t) (i + 1));
        json_write_object_begin(&w);
        json_write_key(&w, "account_id");
        json_write_cstr(&w, rt->account_id);
        json_write_key(&w, "region");
        json_write_cstr(&w, rt->region);
        json_write_key(&w, "dest_region");
        if (rt->dest_region) {
            json_write_cstr(&w, rt->dest_region);
        } else {
            json_write_null(&w);
        }
        json_write_key(&w, "outcome");
        json_write_cstr(&w, rt->outcome);
        if (rt->reason) {
            json_write_key(&w, "reason");
            json_write_cstr(&w, rt->reason);
        }
        const struct {
            const char *k;
            uint64_t v;
        } nums[] = { { "instances_seen", c.instances_seen },
                     { "snapshots_created", c.snapshots_created },
                     { "snapshots_copied", c.snapshots_copied },
                     { "snapshots_deleted", c.snapshots_deleted },
                     { "skipped", c.skipped },
                     { "failures", c.failures } };
        for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
            json_write_key(&w, nums[k].k);
            json_write_u64(&w, nums[k].v);
        }
        json_write_key(&w, "wall_ms");
        json_write_i64(&w, rt->wall_ms);
        json_write_object_end(&w);
    }
    json_write_array_end(&w);
}
