/*
 * ebs.c - the EBS job of a cycle: discover tagged instances, snapshot the due ones (one CreateSnapshots call per
 * instance, tags in the same call), copy completed snapshots to the DR region, and delete what retention says in
 * both regions.
 *
 * Phase by phase, each phase a batch: "list, then fan out creates, then list, then fan out copies, then fan out
 * deletes". Decisions are made by the pure planners (backup/plan, backup/retention) over plain structs built
 * from the listings; this file only gathers their inputs, carries out their outputs and records every action in
 * the report. One instance, copy or deletion failing is recorded and never stops the others.
 *
 * What it does not do: parse or sign anything (svc/ec2, aws/call), decide what is due/copied/deleted (planners),
 * choose the exit code (main.c).
 */
#include "backup/cycle.h"

#include "backup/plan.h"
#include "backup/retention.h"
#include "base/log.h"
#include "base/time.h"
#include "svc/ec2.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Instance states that are backed up (DESIGN.md §2): not pending, shutting-down or terminated. */
static const char *const s_states[] = { "running", "stopping", "stopped" };
/* How long a presigned CopySnapshot URL stays valid: the copy request is sent right after. */
#define EBS_PRESIGN_EXPIRES_S 3600u
/* WAIT_FOR_COMPLETION polls this often. */
#define EBS_WAIT_POLL_S 15

/* What the job learned about one discovered instance. */
struct ebs_instance {
    const struct ec2_instance *inst;
    struct span name;        /* Name tag, may be empty */
    uint32_t retention_days; /* valid `retention` tag, else 0 */
};

struct ebs_state {
    struct cycle *cy;
    struct ebs_instance *instances;
    size_t ninstances;
    struct ec2_snapshot_list src; /* SmartVault snapshots in the source region */
    struct ec2_snapshot_list dst; /* SmartVault snapshots in the destination region */
};

static struct span s_tag(const struct ec2_tag *tags, size_t n, const char *key) {
    return ec2_tag_value(tags, n, key, NULL);
}

/* A failed call, recorded with its AWS code (or error class) and message. */
static void s_record_failure(struct cycle *cy, struct report_item *it, const struct aws_request *r, const char *what) {
    char msg[AWS_ERROR_MESSAGE_MAX + 64];
    it->action = REPORT_FAILED;
    it->job = REPORT_JOB_EBS;
    it->ts_ms = time_wall_ms();
    it->aws_code = r->error.code[0] ? r->error.code : err_name(r->result);
    snprintf(msg, sizeof(msg), "%s: %s", what, r->error.message[0] ? r->error.message : err_name(r->result));
    it->message = msg;
    report_add(cy->report, it);
    LOG(
      LOG_ERROR,
      "ebs.failed",
      LF_S("step", what),
      LF_S("region", it->region),
      LF_S("instance_id", it->instance_id),
      LF_S("snapshot_id", it->snapshot_id),
      LF_S("aws_code", it->aws_code),
      LF_S("request_id", r->error.request_id),
      LF_S("message", r->error.message),
      LF_U("attempts", r->attempts));
}

/* ---- listing ---- */

static enum err s_list_snapshots(struct cycle *cy, const char *region, struct ec2_snapshot_list *out) {
    struct span token = SPAN_NULL;
    do {
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_snapshots_request(&q, TAG_CREATED_BY, TAG_CREATED_BY_VALUE, cy->page_size, token);
        struct aws_request r = {
            .service = ENDPOINT_EC2, .region = region, .operation = "DescribeSnapshots", .params = &q
        };
        enum err e = aws_run_one(cy->aws, &r);
        if (e != ERR_OK) {
            struct report_item it = { .region = region };
            s_record_failure(cy, &it, &r, "DescribeSnapshots");
            aws_request_free(&r);
            return e;
        }
        struct arena_mark m = arena_mark(cy->scratch);
        const struct xml_node *root = NULL;
        e = aws_response_xml(&r, cy->scratch, &root);
        /* The tree holds copies of everything: free the body before the lists grow (peak memory). */
        aws_request_free(&r);
        if (e == ERR_OK) {
            e = ec2_describe_snapshots_parse(cy->arena, root, out, &token);
        }
        arena_rewind(cy->scratch, m);
        TRY(e);
    } while (token.n > 0);
    return ERR_OK;
}

static bool s_tag_matches(const struct cfg *cfg, const struct ec2_instance *inst) {
    for (size_t k = 0; k < cfg->backup_tag.nkeys; k++) {
        bool found = false;
        struct span v = ec2_tag_value(inst->tags, inst->ntags, cfg->backup_tag.keys[k], &found);
        if (found && span_eq_nocase(span_trim(v), span_from_cstr(cfg->backup_tag.value))) {
            return true;
        }
    }
    return false;
}

static enum err s_discover(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    const struct cfg *cfg = cy->cfg;
    struct ec2_instance_list all = { 0 };
    struct span token = SPAN_NULL;
    size_t pages = 0;
    do {
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_describe_instances_request(
          &q,
          cfg->backup_tag.keys,
          cfg->backup_tag.nkeys,
          s_states,
          sizeof(s_states) / sizeof(s_states[0]),
          cy->page_size,
          token);
        struct aws_request r = {
            .service = ENDPOINT_EC2, .region = cfg->source_region, .operation = "DescribeInstances", .params = &q
        };
        enum err e = aws_run_one(cy->aws, &r);
        if (e != ERR_OK) {
            if (pages == 0 && cycle_err_cannot_start(e)) {
                cy->could_not_start = true;
            }
            struct report_item it = { .region = cfg->source_region };
            s_record_failure(cy, &it, &r, "DescribeInstances");
            aws_request_free(&r);
            return e;
        }
        struct arena_mark m = arena_mark(cy->scratch);
        const struct xml_node *root = NULL;
        e = aws_response_xml(&r, cy->scratch, &root);
        /* The tree holds copies of everything: free the body before the lists grow (peak memory). */
        aws_request_free(&r);
        if (e == ERR_OK) {
            e = ec2_describe_instances_parse(cy->arena, root, &all, &token);
        }
        arena_rewind(cy->scratch, m);
        TRY(e);
        pages++;
    } while (token.n > 0);

    st->instances = all.n ? ARENA_NEW_ARRAY(cy->arena, struct ebs_instance, all.n) : NULL;
    for (size_t i = 0; i < all.n; i++) {
        const struct ec2_instance *inst = &all.items[i];
        if (!s_tag_matches(cfg, inst)) {
            continue; /* has the key but not the value */
        }
        struct ebs_instance *ei = &st->instances[st->ninstances++];
        ei->inst = inst;
        ei->name = s_tag(inst->tags, inst->ntags, TAG_NAME);
        bool has = false;
        struct span ret = ec2_tag_value(inst->tags, inst->ntags, TAG_RETENTION, &has);
        if (has && retention_parse_days(span_trim(ret), &ei->retention_days) != ERR_OK) {
            ei->retention_days = 0;
            LOG(
              LOG_WARN,
              "ebs.retention_tag_invalid",
              LF_SP("instance_id", inst->id),
              LF_SP("value", ret),
              LF_U("default_days", cfg->retention_days));
        }
    }
    cy->report->instances_seen = st->ninstances;
    LOG(
      LOG_INFO,
      "ebs.discovered",
      LF_S("region", cfg->source_region),
      LF_U("instances", st->ninstances),
      LF_U("pages", pages),
      LF_U("with_key", all.n));
    return ERR_OK;
}

static const struct ebs_instance *s_find_instance(const struct ebs_state *st, struct span id) {
    for (size_t i = 0; i < st->ninstances; i++) {
        if (span_eq(st->instances[i].inst->id, id)) {
            return &st->instances[i];
        }
    }
    return NULL;
}

/* The planners' view of a listed snapshot. */
static void s_to_snap(const struct ebs_state *st, const struct ec2_snapshot *s, bool is_copy, struct snap *out) {
    memset(out, 0, sizeof(*out));
    out->snapshot_id = s->id;
    out->instance_id = s_tag(s->tags, s->ntags, TAG_INSTANCE_ID);
    /* A copy's own VolumeId attribute is a placeholder (DESIGN.md §3): its volume is the VolumeId tag. */
    out->volume_id = is_copy ? s_tag(s->tags, s->ntags, TAG_VOLUME_ID) : s->volume_id;
    out->source_snapshot_id = s_tag(s->tags, s->ntags, TAG_SOURCE_SNAPSHOT_ID);
    out->state = snap_state_parse(s->state);
    out->start_time_s = s->start_time_s;
    out->has_marker = span_eq_cstr(s_tag(s->tags, s->ntags, TAG_CREATED_BY), TAG_CREATED_BY_VALUE);
    out->hold = span_eq_nocase(span_trim(s_tag(s->tags, s->ntags, TAG_HOLD)), SPAN_LIT("true"));
    out->is_copy = is_copy;
    const struct ebs_instance *ei = s_find_instance(st, out->instance_id);
    out->retention_days_override = ei ? ei->retention_days : 0;
}

/* The planners' input for a listing, in the scratch arena: callers are phases with their own scratch scope. */
static struct snap *s_snaps(const struct ebs_state *st, const struct ec2_snapshot_list *l, bool is_copy) {
    struct snap *v = l->n ? ARENA_NEW_ARRAY(st->cy->scratch, struct snap, l->n) : NULL;
    for (size_t i = 0; i < l->n; i++) {
        s_to_snap(st, &l->items[i], is_copy, &v[i]);
    }
    return v;
}

/* ---- snapshots ---- */

struct ebs_create {
    struct ebs_state *st;
    const struct ebs_instance *ei;
    struct aws_request req;
};

static void s_create_done(struct aws_request *r) {
    struct ebs_create *c = r->user;
    struct cycle *cy = c->st->cy;
    const struct ec2_instance *inst = c->ei->inst;
    const char *id = arena_span_cstr(cy->scratch, inst->id);
    if (r->result != ERR_OK) {
        struct report_item it = { .region = cy->cfg->source_region, .instance_id = id };
        s_record_failure(cy, &it, r, "CreateSnapshots");
        aws_request_free(r);
        return;
    }
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct ec2_snapshot_list created = { 0 };
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK) {
        e = ec2_create_snapshots_parse(cy->scratch, root, &created);
    }
    for (size_t i = 0; e == ERR_OK && i < created.n; i++) {
        const struct ec2_snapshot *s = &created.items[i];
        const char *snap_id = arena_span_cstr(cy->scratch, s->id);
        const char *vol_id = arena_span_cstr(cy->scratch, s->volume_id);
        const char *device = "";
        for (size_t v = 0; v < inst->nvolumes; v++) {
            if (span_eq(inst->volumes[v].volume_id, s->volume_id)) {
                device = arena_span_cstr(cy->scratch, inst->volumes[v].device);
            }
        }
        struct report_item it = { .action = REPORT_CREATED,
                                  .job = REPORT_JOB_EBS,
                                  .ts_ms = time_wall_ms(),
                                  .region = cy->cfg->source_region,
                                  .instance_id = id,
                                  .volume_id = vol_id,
                                  .snapshot_id = snap_id,
                                  .device = device };
        report_add(cy->report, &it);
        LOG(
          LOG_INFO,
          "snapshot.created",
          LF_S("region", cy->cfg->source_region),
          LF_S("instance_id", id),
          LF_S("volume_id", vol_id),
          LF_S("device", device),
          LF_S("snapshot_id", snap_id),
          LF_SP("state", s->state));
    }
    if (e != ERR_OK) {
        struct report_item it = { .region = cy->cfg->source_region, .instance_id = id };
        r->result = e;
        s_record_failure(cy, &it, r, "CreateSnapshots response");
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(r);
}

/* "reason=count ..." for every reason that kept snapshots from being copied (deferred or skipped). */
static void s_copy_reasons(const struct plan_copy_counts *c, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t r = PLAN_COPY_DEFER_PENDING; r < PLAN__COPY_REASONS && used + 1 < cap; r++) {
        if (c->by_reason[r] > 0) {
            int n = snprintf(
              out + used,
              cap - used,
              "%s%s=%zu",
              used ? " " : "",
              plan_copy_reason_name((enum plan_copy_reason) r),
              c->by_reason[r]);
            used += n > 0 ? (size_t) n : 0;
        }
    }
}
static enum err s_snapshot_due(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    /* Requests, plans and decisions of this phase live in a scratch scope, rewound when it ends. */
    struct arena_mark phase = arena_mark(cy->scratch);
    const struct cfg *cfg = cy->cfg;
    if (st->ninstances == 0) {
        arena_rewind(cy->scratch, phase);
        return ERR_OK;
    }
    struct span *ids = ARENA_NEW_ARRAY(cy->scratch, struct span, st->ninstances);
    for (size_t i = 0; i < st->ninstances; i++) {
        ids[i] = st->instances[i].inst->id;
    }
    struct snap *snaps = s_snaps(st, &st->src, false);
    struct plan_due *due = ARENA_NEW_ARRAY(cy->scratch, struct plan_due, st->ninstances);
    enum err e_plan = plan_due_instances(ids, st->ninstances, snaps, st->src.n, cfg->min_interval_s, cy->now_s, due);
    if (e_plan != ERR_OK) {
        arena_rewind(cy->scratch, phase);
        return e_plan;
    }

    char date[TIME_DATE_LEN + 1];
    time_format_date(cy->now_s, date);
    struct ebs_create *creates = ARENA_NEW_ARRAY(cy->scratch, struct ebs_create, st->ninstances);
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, st->ninstances);
    size_t n = 0;
    for (size_t i = 0; i < st->ninstances; i++) {
        const struct ebs_instance *ei = &st->instances[i];
        char *id = arena_span_cstr(cy->scratch, ei->inst->id);
        if (!due[i].due || ei->inst->nvolumes == 0) {
            const char *why = due[i].due ? "no EBS volumes" : due[i].why;
            struct report_item it = { .action = REPORT_SKIPPED,
                                      .job = REPORT_JOB_EBS,
                                      .ts_ms = time_wall_ms(),
                                      .region = cfg->source_region,
                                      .instance_id = id,
                                      .reason = why };
            report_add(cy->report, &it);
            LOG(LOG_INFO, "snapshot.skipped", LF_S("instance_id", id), LF_S("reason", why));
            continue;
        }
        if (cy->dry_run) {
            LOG(
              LOG_INFO,
              "plan.create",
              LF_S("region", cfg->source_region),
              LF_S("instance_id", id),
              LF_U("volumes", ei->inst->nvolumes),
              LF_S("reason", due[i].why));
            struct report_item it = { .action = REPORT_CREATED,
                                      .job = REPORT_JOB_EBS,
                                      .ts_ms = time_wall_ms(),
                                      .region = cfg->source_region,
                                      .instance_id = id,
                                      .reason = "dry run" };
            report_add(cy->report, &it);
            continue;
        }
        struct ec2_tag tags[5];
        size_t nt = 0;
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_BY), SPAN_LIT(TAG_CREATED_BY_VALUE) };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_INSTANCE_ID), ei->inst->id };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_ON), span_from_cstr(date) };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
        if (ei->name.n) {
            tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_NAME), ei->name };
        }
        struct query_params *q = ARENA_NEW(cy->scratch, struct query_params);
        query_init(q, cy->scratch);
        char desc[160];
        snprintf(desc, sizeof(desc), "SmartVault snapshot of %s", id);
        ec2_create_snapshots_request(q, ei->inst->id, span_from_cstr(desc), tags, nt);
        struct ebs_create *c = &creates[n];
        c->st = st;
        c->ei = ei;
        c->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                       .region = cfg->source_region,
                                       .operation = "CreateSnapshots",
                                       .params = q,
                                       .user = c,
                                       .on_done = s_create_done };
        reqs[n++] = &c->req;
    }
    enum err e_run = aws_run(cy->aws, reqs, n);
    arena_rewind(cy->scratch, phase);
    return e_run;
}

/* WAIT_FOR_COMPLETION: re-list until no snapshot of this run is pending, or the bound passes. */
static enum err s_wait_for_completion(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    int64_t deadline = time_mono_ms() + cy->cfg->wait_for_completion_s * 1000;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < st->src.n; i++) {
            if (span_eq_cstr(st->src.items[i].state, "pending")) {
                pending++;
            }
        }
        if (pending == 0 || time_mono_ms() >= deadline) {
            LOG(LOG_INFO, "ebs.wait_done", LF_U("pending", pending));
            return ERR_OK;
        }
        LOG(LOG_INFO, "ebs.waiting", LF_U("pending", pending));
        /* Never sleep past the bound: the last poll is shortened to the time left. */
        int64_t left_ms = deadline - time_mono_ms();
        int64_t sleep_ms = left_ms < EBS_WAIT_POLL_S * 1000 ? left_ms : EBS_WAIT_POLL_S * 1000;
        if (sleep_ms > 0) {
            struct timespec ts = { (time_t) (sleep_ms / 1000), (long) (sleep_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        st->src = (struct ec2_snapshot_list){ 0 };
        TRY(s_list_snapshots(cy, cy->cfg->source_region, &st->src));
    }
}

/* ---- copies ---- */

struct ebs_copy {
    struct ebs_state *st;
    const struct ec2_snapshot *src;
    struct aws_request req;
};

static void s_copy_done(struct aws_request *r) {
    struct ebs_copy *c = r->user;
    struct cycle *cy = c->st->cy;
    const struct cfg *cfg = cy->cfg;
    const char *src_id = arena_span_cstr(cy->scratch, c->src->id);
    const char *inst_id = arena_span_cstr(cy->scratch, s_tag(c->src->tags, c->src->ntags, TAG_INSTANCE_ID));
    const char *vol_id = arena_span_cstr(cy->scratch, c->src->volume_id);
    struct report_item it = { .job = REPORT_JOB_EBS,
                              .ts_ms = time_wall_ms(),
                              .region = cfg->dest_region,
                              .instance_id = inst_id,
                              .volume_id = vol_id,
                              .source_snapshot_id = src_id };
    if (r->result != ERR_OK) {
        if (strcmp(r->error.code, "ResourceLimitExceeded") == 0) {
            /* The account's copy quota is full: the next cycle copies it (issue 4: defers, does not fail). */
            it.action = REPORT_SKIPPED;
            it.reason = "deferred: copy limit reached (ResourceLimitExceeded)";
            report_add(cy->report, &it);
            LOG(LOG_WARN, "copy.deferred", LF_S("source_snapshot_id", src_id), LF_S("reason", it.reason));
        } else {
            it.snapshot_id = src_id;
            s_record_failure(cy, &it, r, "CopySnapshot");
        }
        aws_request_free(r);
        return;
    }
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct span copy_id = SPAN_NULL;
    enum err e = aws_response_xml(r, cy->scratch, &root);
    if (e == ERR_OK) {
        e = ec2_copy_snapshot_parse(cy->scratch, root, &copy_id);
    }
    if (e != ERR_OK) {
        r->result = e;
        it.snapshot_id = src_id;
        s_record_failure(cy, &it, r, "CopySnapshot response");
    } else {
        const char *copy = arena_span_cstr(cy->scratch, copy_id);
        it.action = REPORT_COPIED;
        it.snapshot_id = copy;
        report_add(cy->report, &it);
        LOG(
          LOG_INFO,
          "snapshot.copied",
          LF_S("region", cfg->dest_region),
          LF_S("source_region", cfg->source_region),
          LF_S("source_snapshot_id", src_id),
          LF_S("snapshot_id", copy),
          LF_S("instance_id", inst_id),
          LF_S("volume_id", vol_id),
          LF_B("encrypted", cfg->kms_key_id != NULL));
    }
    arena_rewind(cy->scratch, m); /* copy_id lived in the scratch tree until here */
    aws_request_free(r);
}

static enum err s_copy(struct ebs_state *st) {
    struct cycle *cy = st->cy;
    /* Requests, plans and decisions of this phase live in a scratch scope, rewound when it ends. */
    struct arena_mark phase = arena_mark(cy->scratch);
    const struct cfg *cfg = cy->cfg;
    struct snap *src = s_snaps(st, &st->src, false);
    struct snap *dst = s_snaps(st, &st->dst, true);
    struct plan_copy_decision *dec =
      st->src.n ? ARENA_NEW_ARRAY(cy->scratch, struct plan_copy_decision, st->src.n) : NULL;
    struct plan_copy_counts counts;
    struct plan_copy_policy pol = { .retention_days = cfg->retention_days, .copy_limit = cfg->copy_limit };
    enum err e_plan = plan_copies(src, st->src.n, dst, st->dst.n, &pol, cy->now_s, dec, &counts);
    if (e_plan != ERR_OK) {
        arena_rewind(cy->scratch, phase);
        return e_plan;
    }
    char why[256]; /* "exists=4 expired=4": why snapshots were not copied, so that "0 copied" explains itself */
    s_copy_reasons(&counts, why, sizeof(why));
    LOG(
      LOG_INFO,
      "copy.plan",
      LF_S("region", cfg->dest_region),
      LF_U("start", counts.start),
      LF_U("deferred", counts.deferred),
      LF_U("in_flight_before", counts.in_flight_before),
      LF_U("skipped", counts.skipped),
      LF_S("not_copied", why));

    struct ebs_copy *copies = counts.start ? ARENA_NEW_ARRAY(cy->scratch, struct ebs_copy, counts.start) : NULL;
    struct aws_request **reqs = counts.start ? ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, counts.start) : NULL;
    size_t n = 0;
    for (size_t k = 0; k < counts.start + counts.deferred; k++) {
        const struct ec2_snapshot *s = &st->src.items[dec[k].index];
        char *sid = arena_span_cstr(cy->scratch, s->id);
        if (dec[k].action == PLAN_COPY_DEFER) {
            struct report_item it = { .action = REPORT_SKIPPED,
                                      .job = REPORT_JOB_EBS,
                                      .ts_ms = time_wall_ms(),
                                      .region = cfg->dest_region,
                                      .source_snapshot_id = sid,
                                      .reason = dec[k].why };
            report_add(cy->report, &it);
            LOG(LOG_INFO, "copy.deferred", LF_S("source_snapshot_id", sid), LF_S("reason", dec[k].why));
            continue;
        }
        if (cy->dry_run) {
            LOG(
              LOG_INFO,
              "plan.copy",
              LF_S("source_snapshot_id", sid),
              LF_S("region", cfg->dest_region),
              LF_S("reason", dec[k].why));
            struct report_item it = { .action = REPORT_COPIED,
                                      .job = REPORT_JOB_EBS,
                                      .ts_ms = time_wall_ms(),
                                      .region = cfg->dest_region,
                                      .source_snapshot_id = sid,
                                      .reason = "dry run" };
            report_add(cy->report, &it);
            continue;
        }
        struct ec2_tag tags[8];
        size_t nt = 0;
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_CREATED_BY), SPAN_LIT(TAG_CREATED_BY_VALUE) };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_SOURCE_SNAPSHOT_ID), s->id };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_SOURCE_REGION), span_from_cstr(cfg->source_region) };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_VOLUME_ID), s->volume_id };
        tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
        static const char *const keep[] = { TAG_CREATED_ON, TAG_INSTANCE_ID, TAG_NAME };
        for (size_t t = 0; t < sizeof(keep) / sizeof(keep[0]); t++) {
            bool found = false;
            struct span v = ec2_tag_value(s->tags, s->ntags, keep[t], &found);
            if (found) {
                tags[nt++] = (struct ec2_tag){ span_from_cstr(keep[t]), v };
            }
        }
        struct ec2_copy_request cr = {
            .source_region = span_from_cstr(cfg->source_region),
            .source_snapshot_id = s->id,
            .destination_region = span_from_cstr(cfg->dest_region),
            .description =
              span_from_cstr(arena_printf(cy->scratch, "SmartVault copy of %s from %s", sid, cfg->source_region)),
            .kms_key_id = cfg->kms_key_id ? span_from_cstr(cfg->kms_key_id) : SPAN_NULL,
            .tags = tags,
            .ntags = nt,
        };
        /* The PresignedUrl is this same CopySnapshot, presigned for the source region (always sent). */
        struct query_params pre;
        query_init(&pre, cy->scratch);
        ec2_copy_snapshot_request(&pre, &cr, false);
        struct buf url;
        buf_init(&url, 64 * 1024);
        enum err e = aws_presign_query_url(
          cy->aws, ENDPOINT_EC2, cfg->source_region, "CopySnapshot", &pre, EBS_PRESIGN_EXPIRES_S, &url);
        struct ebs_copy *c = &copies[n];
        c->st = st;
        c->src = s;
        c->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                       .region = cfg->dest_region,
                                       .operation = "CopySnapshot",
                                       .user = c,
                                       .on_done = s_copy_done };
        if (e != ERR_OK) {
            c->req.result = e;
            struct report_item it = { .region = cfg->dest_region, .source_snapshot_id = sid };
            s_record_failure(cy, &it, &c->req, "presign CopySnapshot");
            buf_free(&url);
            continue;
        }
        cr.presigned_url = arena_span_dup(cy->scratch, buf_span(&url));
        buf_free(&url);
        struct query_params *q = ARENA_NEW(cy->scratch, struct query_params);
        query_init(q, cy->scratch);
        ec2_copy_snapshot_request(q, &cr, true);
        c->req.params = q;
        reqs[n++] = &c->req;
    }
    enum err e_run = aws_run(cy->aws, reqs, n);
    arena_rewind(cy->scratch, phase);
    return e_run;
}

/* ---- retention ---- */

struct ebs_delete {
    struct cycle *cy;
    const char *region;
    const char *snapshot_id;
    const char *instance_id;
    const char *volume_id;
    const char *why;
    struct aws_request req;
};

static void s_delete_done(struct aws_request *r) {
    struct ebs_delete *d = r->user;
    struct cycle *cy = d->cy;
    struct report_item it = { .job = REPORT_JOB_EBS,
                              .ts_ms = time_wall_ms(),
                              .region = d->region,
                              .snapshot_id = d->snapshot_id,
                              .instance_id = d->instance_id,
                              .volume_id = d->volume_id };
    if (r->result == ERR_OK) {
        it.action = REPORT_DELETED;
        it.reason = d->why;
        report_add(cy->report, &it);
        LOG(
          LOG_INFO,
          "snapshot.deleted",
          LF_S("region", d->region),
          LF_S("snapshot_id", d->snapshot_id),
          LF_S("instance_id", d->instance_id),
          LF_S("volume_id", d->volume_id),
          LF_S("reason", d->why));
    } else if (strcmp(r->error.code, "InvalidSnapshot.InUse") == 0) {
        /* Backs an AMI: a warning, not a failure (DESIGN.md §4). */
        it.action = REPORT_SKIPPED;
        it.reason = "in use: backs an AMI (InvalidSnapshot.InUse)";
        it.aws_code = r->error.code;
        report_add(cy->report, &it);
        LOG(
          LOG_WARN,
          "snapshot.in_use",
          LF_S("region", d->region),
          LF_S("snapshot_id", d->snapshot_id),
          LF_S("aws_code", r->error.code));
    } else if (strcmp(r->error.code, "InvalidSnapshot.NotFound") == 0) {
        /* Already gone (an overlapping run or a human): the goal state is reached. */
        LOG(LOG_INFO, "snapshot.already_deleted", LF_S("region", d->region), LF_S("snapshot_id", d->snapshot_id));
    } else {
        s_record_failure(cy, &it, r, "DeleteSnapshot");
    }
    aws_request_free(r);
}

static enum err s_retain(
  struct ebs_state *st,
  const char *region,
  const struct ec2_snapshot_list *list,
  bool is_copy,
  uint32_t retention_days) {
    struct cycle *cy = st->cy;
    /* Requests, plans and decisions of this phase live in a scratch scope, rewound when it ends. */
    struct arena_mark phase = arena_mark(cy->scratch);
    const struct cfg *cfg = cy->cfg;
    if (list->n == 0) {
        return ERR_OK;
    }
    struct snap *snaps = s_snaps(st, list, is_copy);
    struct retention_decision *dec = ARENA_NEW_ARRAY(cy->scratch, struct retention_decision, list->n);
    struct retention_policy pol = { .retention_days = retention_days,
                                    .min_keep = cfg->min_keep,
                                    .keep_daily = cfg->keep_daily,
                                    .keep_weekly = cfg->keep_weekly,
                                    .keep_monthly = cfg->keep_monthly };
    enum err e_plan = retention_plan(snaps, list->n, &pol, cy->now_s, dec);
    if (e_plan != ERR_OK) {
        arena_rewind(cy->scratch, phase);
        return e_plan;
    }
    struct retention_counts rc = retention_count(dec, list->n);
    LOG(
      LOG_INFO,
      "retention.plan",
      LF_S("region", region),
      LF_U("snapshots", rc.total),
      LF_U("delete", rc.to_delete),
      LF_U("keep", rc.kept),
      LF_U("retention_days", retention_days),
      LF_U("min_keep", cfg->min_keep));
    struct ebs_delete *dels = rc.to_delete ? ARENA_NEW_ARRAY(cy->scratch, struct ebs_delete, rc.to_delete) : NULL;
    struct aws_request **reqs = rc.to_delete ? ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, rc.to_delete) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < list->n; i++) {
        if (dec[i].action != RETENTION_DELETE) {
            continue;
        }
        struct ebs_delete *d = &dels[n];
        d->cy = cy;
        d->region = region;
        d->snapshot_id = arena_span_cstr(cy->scratch, snaps[i].snapshot_id);
        d->instance_id = arena_span_cstr(cy->scratch, snaps[i].instance_id);
        d->volume_id = arena_span_cstr(cy->scratch, snaps[i].volume_id);
        d->why = arena_strndup(cy->scratch, dec[i].why, strlen(dec[i].why));
        if (cy->dry_run) {
            LOG(
              LOG_INFO,
              "plan.delete",
              LF_S("region", region),
              LF_S("snapshot_id", d->snapshot_id),
              LF_S("instance_id", d->instance_id),
              LF_S("reason", d->why));
            struct report_item it = { .action = REPORT_DELETED,
                                      .job = REPORT_JOB_EBS,
                                      .ts_ms = time_wall_ms(),
                                      .region = region,
                                      .snapshot_id = d->snapshot_id,
                                      .instance_id = d->instance_id,
                                      .volume_id = d->volume_id,
                                      .reason = d->why };
            report_add(cy->report, &it);
            continue;
        }
        struct query_params *q = ARENA_NEW(cy->scratch, struct query_params);
        query_init(q, cy->scratch);
        ec2_delete_snapshot_request(q, snaps[i].snapshot_id);
        d->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                       .region = region,
                                       .operation = "DeleteSnapshot",
                                       .params = q,
                                       .user = d,
                                       .on_done = s_delete_done };
        reqs[n++] = &d->req;
    }
    enum err e_run = aws_run(cy->aws, reqs, n);
    arena_rewind(cy->scratch, phase);
    return e_run;
}

enum err ebs_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    struct ebs_state st = { .cy = cy };
    cy->report->ebs_ran = true;
    TRY(s_discover(&st));
    TRY(s_list_snapshots(cy, cfg->source_region, &st.src));
    size_t created_before = report_counts(cy->report).snapshots_created;
    TRY(s_snapshot_due(&st));
    bool created = report_counts(cy->report).snapshots_created > created_before;
    /*
     * Re-list after creating: what completed already is copied in this cycle, and the new snapshots count for
     * min_keep. (Real EBS snapshots are usually still pending here and are copied by the next cycle.)
     */
    if (created && !cy->dry_run) {
        st.src = (struct ec2_snapshot_list){ 0 };
        TRY(s_list_snapshots(cy, cfg->source_region, &st.src));
        if (cfg->wait_for_completion_s > 0) {
            TRY(s_wait_for_completion(&st));
        }
    }
    /* Copies and destination retention: a failure there never skips source retention, and vice versa. */
    enum err copy_err = ERR_OK;
    if (cfg->dest_region != NULL) {
        copy_err = s_list_snapshots(cy, cfg->dest_region, &st.dst);
        if (copy_err == ERR_OK) {
            copy_err = s_copy(&st);
        }
    }
    enum err src_err = s_retain(&st, cfg->source_region, &st.src, false, cfg->retention_days);
    enum err dst_err = ERR_OK;
    if (cfg->dest_region != NULL && copy_err == ERR_OK) {
        dst_err = s_retain(&st, cfg->dest_region, &st.dst, true, cfg->dest_retention_days);
    }
    TRY(copy_err);
    TRY(src_err);
    return dst_err;
}
