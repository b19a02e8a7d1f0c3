/*
 * restore.c - `smartvault restore`: new EBS volumes for an instance's volumes from one crash-consistent snapshot
 * set, in the source region or from the DR copies, optionally attached to an instance at the original devices.
 *
 * Steps: list SmartVault's snapshots in --region, keep the instance's, choose the set (restore_plan.c), learn what
 * it can about the source (the instance's devices and zone, the volumes' type/size/IOPS/throughput; either may
 * be gone), choose the zone, then create the volumes in one batch, wait for `available` (bounded), attach, and
 * print one `restore.volume` line per volume and `restore.done`. A failed step never deletes anything: volumes
 * already created are kept and listed.
 *
 * What it does not do: choose the exit code (main.c maps the outcome), or decide the set itself (restore_plan.c).
 */
#include "backup/restore.h"
#include "backup/ec2io.h"
#include "backup/restore_args.h"
#include "backup/restore_plan.h"
#include "backup/tags.h"
#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

/* Used when the source volume no longer exists (AWS's own default type for new volumes). */
#define RESTORE_DEFAULT_TYPE "gp3"

struct rvol {
    const struct ec2_snapshot *snap;
    struct span source_volume;
    struct span device;
    struct ec2_volume_spec spec;
    struct ec2_tag tags[6];
    struct span volume_id; /* empty until created */
    struct span state;     /* the last state seen */
    struct span attach;    /* the attachment state, when attached */
    const char *error;     /* what failed for this volume, or NULL */
    struct aws_request req;
    struct cycle *cy;
};

struct restore {
    struct ec2io_tool t;
    struct restore_args args;
    const char *region;        /* where the volumes are made */
    const char *source_region; /* where the backed-up instance lived */
    struct ec2_snapshot_list snaps;
    struct restore_set set;
    const struct ec2_snapshot **mine; /* the instance's snapshots, index-aligned with the planner's input */
    struct ec2_instance_list source;  /* the backed-up instance, if it still exists */
    struct ec2_volume_list source_vols;
    const struct ec2_instance *target; /* --attach-to */
    struct span az;
    const char *az_from;
    struct rvol *vols;
    size_t nvols;
};

static struct span s_tag(const struct ec2_snapshot *s, const char *key) {
    return ec2_tag_value(s->tags, s->ntags, key, NULL);
}

static bool s_is_copy(const struct ec2_snapshot *s) {
    return s_tag(s, TAG_SOURCE_SNAPSHOT_ID).n > 0;
}

/* The planner's view of one snapshot: copies name their volume and run in tags (their own are placeholders). */
static struct restore_snap s_to_rsnap(const struct ec2_snapshot *s) {
    bool copy = s_is_copy(s);
    struct span set = copy ? s_tag(s, TAG_SOURCE_RUN_ID) : SPAN_NULL;
    return (struct restore_snap){
        .snapshot_id = s->id,
        .volume_id = copy ? s_tag(s, TAG_VOLUME_ID) : s->volume_id,
        .set_id = set.n ? set : s_tag(s, TAG_RUN_ID),
        .device = s_tag(s, TAG_DEVICE),
        .instance_id = s_tag(s, TAG_INSTANCE_ID),
        .completed = span_eq_cstr(s->state, "completed"),
        .start_time_s = s->start_time_s,
    };
}

/* The instance's snapshots in --region, and the set to restore. */
static enum restore_outcome s_choose_set(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    enum err e = ec2io_list_snapshots(cy, r->region, &r->snaps);
    if (e != ERR_OK) {
        return job_err_cannot_start(e) ? RESTORE_CANNOT_START : RESTORE_PARTIAL;
    }
    struct restore_snap *rs = r->snaps.n ? ARENA_NEW_ARRAY(cy->arena, struct restore_snap, r->snaps.n) : NULL;
    r->mine = r->snaps.n ? ARENA_NEW_ARRAY(cy->arena, const struct ec2_snapshot *, r->snaps.n) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->snaps.n; i++) {
        struct restore_snap s = s_to_rsnap(&r->snaps.items[i]);
        if (span_eq_cstr(s.instance_id, r->args.instance)) {
            r->mine[n] = &r->snaps.items[i];
            rs[n++] = s;
        }
    }
    int64_t at = r->args.at_set ? r->args.at_s : cy->now_s;
    if (restore_pick_set(cy->arena, rs, n, at, r->args.volumes, r->args.nvolumes, &r->set) != ERR_OK) {
        char at_s[TIME_ISO8601_LEN + 1];
        time_format_iso8601(at, at_s);
        LOG(
          LOG_ERROR,
          "restore.no_set",
          LF_S("instance_id", r->args.instance),
          LF_S("region", r->region),
          LF_U("snapshots", n),
          LF_U("incomplete_sets", r->set.newer_incomplete),
          LF_S("at", at_s),
          LF_S("hint", "no set of completed snapshots started at or before --at (see smartvault list)"));
        return RESTORE_PARTIAL;
    }
    for (size_t k = 0; k < r->set.nmembers; k++) {
        r->set.members[k] = (size_t) (r->mine[r->set.members[k]] - r->snaps.items);
    }
    LOG(
      LOG_INFO,
      "restore.set",
      LF_S("instance_id", r->args.instance),
      LF_S("region", r->region),
      LF_SP("run_id", r->set.set_id),
      LF_U("volumes", r->set.nmembers),
      LF_U("skipped_incomplete_sets", r->set.newer_incomplete));
    return RESTORE_OK;
}

/*
 * What still exists of the source, in the source region: the instance (devices, zone) and its volumes (type,
 * size, IOPS, throughput). Best effort: when the source region cannot answer (the DR case) the copies' tags and
 * the snapshot size are enough.
 */
static void s_learn_source(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    const struct ec2_snapshot *first = &r->snaps.items[r->set.members[0]];
    struct span sr = s_tag(first, TAG_SOURCE_REGION);
    r->source_region = s_is_copy(first) && sr.n ? arena_span_cstr(cy->arena, sr) : r->region;
    struct span id = span_from_cstr(r->args.instance);
    if (ec2io_instances(cy, r->source_region, &id, 1, &r->source) != ERR_OK) {
        LOG(LOG_WARN, "restore.source_unknown", LF_S("region", r->source_region), LF_S("what", "instance"));
    }
    struct span *vids = ARENA_NEW_ARRAY(cy->arena, struct span, r->set.nmembers);
    for (size_t k = 0; k < r->set.nmembers; k++) {
        vids[k] = s_to_rsnap(&r->snaps.items[r->set.members[k]]).volume_id;
    }
    if (ec2io_list_volumes(cy, r->source_region, "volume-id", vids, r->set.nmembers, &r->source_vols) != ERR_OK) {
        LOG(LOG_WARN, "restore.source_unknown", LF_S("region", r->source_region), LF_S("what", "volumes"));
    }
}

static const struct ec2_volume *s_source_volume(const struct restore *r, struct span id) {
    for (size_t i = 0; i < r->source_vols.n; i++) {
        if (span_eq(r->source_vols.items[i].id, id)) {
            return &r->source_vols.items[i];
        }
    }
    return NULL;
}

/* --attach-to: the instance must exist in --region. */
static enum restore_outcome s_find_target(struct restore *r) {
    if (r->args.attach_to == NULL) {
        return RESTORE_OK;
    }
    struct ec2_instance_list l = { 0 };
    struct span id = span_from_cstr(r->args.attach_to);
    if (ec2io_instances(&r->t.cy, r->region, &id, 1, &l) != ERR_OK) {
        return RESTORE_PARTIAL;
    }
    r->target = ec2io_find_instance(&l, id);
    if (r->target == NULL || span_eq_cstr(r->target->state, "terminated")) {
        fprintf(stderr, "smartvault: restore: --attach-to: no instance %s in %s\n", r->args.attach_to, r->region);
        return RESTORE_USAGE;
    }
    return RESTORE_OK;
}

/*
 * The zone: --az; else the --attach-to instance's; else (restoring in the source region) the source instance's,
 * then the source volume's; else the region's first available zone (by name). --az and --attach-to must agree.
 */
static enum restore_outcome s_choose_zone(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    const struct ec2_instance *src = ec2io_find_instance(&r->source, span_from_cstr(r->args.instance));
    bool same_region = strcmp(r->region, r->source_region) == 0;
    if (r->target && r->args.az && !span_eq_cstr(r->target->availability_zone, r->args.az)) {
        fprintf(
          stderr,
          "smartvault: restore: --az: %s differs from the zone of --attach-to %s (%.*s)\n",
          r->args.az,
          r->args.attach_to,
          SPAN_FMT(r->target->availability_zone));
        return RESTORE_USAGE;
    }
    if (r->args.az) {
        r->az = span_from_cstr(r->args.az), r->az_from = "--az";
    } else if (r->target) {
        r->az = r->target->availability_zone, r->az_from = "--attach-to";
    } else if (same_region && src && src->availability_zone.n && !span_eq_cstr(src->state, "terminated")) {
        r->az = src->availability_zone, r->az_from = "source instance";
    } else if (same_region && r->source_vols.n) {
        r->az = r->source_vols.items[0].availability_zone, r->az_from = "source volume";
    } else if (ec2io_first_zone(cy, r->region, &r->az) == ERR_OK) {
        r->az_from = "first available zone";
    } else {
        return RESTORE_PARTIAL;
    }
    return RESTORE_OK;
}

/* One volume's request: the source volume's shape when it still exists, else the snapshot's size and gp3. */
static void s_plan_volume(struct restore *r, struct rvol *v, const struct ec2_snapshot *s) {
    struct cycle *cy = &r->t.cy;
    struct restore_snap rs = s_to_rsnap(s);
    const struct ec2_instance *src = ec2io_find_instance(&r->source, span_from_cstr(r->args.instance));
    v->cy = cy;
    v->snap = s;
    v->source_volume = rs.volume_id;
    v->device = rs.device.n ? rs.device : ec2io_device_of(src, rs.volume_id);
    const struct ec2_volume *sv = s_source_volume(r, rs.volume_id);
    v->spec = (struct ec2_volume_spec){ .snapshot_id = s->id,
                                        .availability_zone = r->az,
                                        .volume_type = SPAN_LIT(RESTORE_DEFAULT_TYPE),
                                        .size_gib = s->volume_size_gib,
                                        .encrypted = s->encrypted,
                                        .tags = v->tags };
    if (sv != NULL) {
        v->spec.volume_type = sv->volume_type;
        v->spec.size_gib = sv->size_gib > s->volume_size_gib ? sv->size_gib : s->volume_size_gib;
        bool provisioned = span_eq_cstr(sv->volume_type, "io1") || span_eq_cstr(sv->volume_type, "io2") ||
                           span_eq_cstr(sv->volume_type, "gp3");
        v->spec.iops = provisioned ? sv->iops : 0;
        v->spec.throughput = span_eq_cstr(sv->volume_type, "gp3") ? sv->throughput : 0;
    }
    struct span name = s_tag(s, TAG_NAME);
    const char *who = name.n ? arena_span_cstr(cy->arena, name) : r->args.instance;
    size_t nt = 0;
    v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RESTORE_OF), rs.volume_id };
    v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RESTORED_FROM), s->id };
    v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_INSTANCE_ID), span_from_cstr(r->args.instance) };
    v->tags[nt++] =
      (struct ec2_tag){ SPAN_LIT(TAG_NAME),
                        span_from_cstr(arena_printf(cy->arena, "restore of %s %.*s", who, SPAN_FMT(v->device))) };
    v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_DEVICE), v->device };
    v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
    v->spec.ntags = nt;
}

/* A running instance's root device is never replaced under it: refuse before anything is created. */
static enum restore_outcome s_check_root(const struct restore *r) {
    if (r->target == NULL || !span_eq_cstr(r->target->state, "running")) {
        return RESTORE_OK;
    }
    for (size_t i = 0; i < r->nvols; i++) {
        if (r->vols[i].device.n && span_eq(r->vols[i].device, r->target->root_device)) {
            fprintf(
              stderr,
              "smartvault: restore: --attach-to: %s is running and %.*s is its root device; stop it, or leave "
              "that volume out with --volume\n",
              r->args.attach_to,
              SPAN_FMT(r->vols[i].device));
            return RESTORE_USAGE;
        }
    }
    return RESTORE_OK;
}

static void s_log_volume(const struct restore *r, const struct rvol *v, const char *event) {
    LOG(
      v->error ? LOG_ERROR : LOG_INFO,
      event,
      LF_S("instance_id", r->args.instance),
      LF_SP("device", v->device),
      LF_SP("source_volume_id", v->source_volume),
      LF_SP("snapshot_id", v->snap->id),
      LF_SP("volume_id", v->volume_id),
      LF_S("region", r->region),
      LF_SP("availability_zone", r->az),
      LF_SP("volume_type", v->spec.volume_type),
      LF_U("size_gib", v->spec.size_gib),
      LF_U("iops", v->spec.iops),
      LF_U("throughput", v->spec.throughput),
      LF_B("encrypted", v->spec.encrypted),
      LF_SP("state", v->state),
      LF_SP("attachment", v->attach),
      LF_S("error", v->error));
}

static void s_create_done(struct aws_request *req) {
    struct rvol *v = req->user;
    struct arena_mark m = arena_mark(v->cy->scratch);
    const struct xml_node *root = NULL;
    struct ec2_volume vol;
    enum err e = req->result;
    if (e == ERR_OK && (e = aws_response_xml(req, v->cy->scratch, &root)) == ERR_OK) {
        e = ec2_create_volume_parse(v->cy->arena, root, &vol);
    }
    if (e == ERR_OK) {
        v->volume_id = vol.id;
        v->state = vol.state;
    } else {
        const char *code = req->error.code[0] ? req->error.code : err_name(e);
        v->error = arena_printf(v->cy->arena, "CreateVolume: %s %s", code, req->error.message);
    }
    arena_rewind(v->cy->scratch, m);
    aws_request_free(req);
}

static void s_create(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->arena, struct aws_request *, r->nvols);
    for (size_t i = 0; i < r->nvols; i++) {
        struct query_params *q = ARENA_NEW(cy->arena, struct query_params);
        query_init(q, cy->arena);
        ec2_create_volume_request(q, &r->vols[i].spec);
        r->vols[i].req = (struct aws_request){ .service = ENDPOINT_EC2,
                                               .region = r->region,
                                               .operation = "CreateVolume",
                                               .params = q,
                                               .user = &r->vols[i],
                                               .on_done = s_create_done };
        reqs[i] = &r->vols[i].req;
    }
    if (aws_run(cy->aws, reqs, r->nvols) != ERR_OK) {
        for (size_t i = 0; i < r->nvols; i++) {
            r->vols[i].error = r->vols[i].volume_id.n ? NULL : "CreateVolume: not sent";
        }
    }
}

/* Bounded wait for `available`; a volume still creating at the bound, or in `error`, is a failure (kept). */
static void s_wait(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    struct span *ids = ARENA_NEW_ARRAY(cy->arena, struct span, r->nvols);
    size_t *idx = ARENA_NEW_ARRAY(cy->arena, size_t, r->nvols);
    size_t n = 0;
    for (size_t i = 0; i < r->nvols; i++) {
        if (r->vols[i].volume_id.n) {
            idx[n] = i;
            ids[n++] = r->vols[i].volume_id;
        }
    }
    struct span *states = ARENA_NEW_ARRAY(cy->arena, struct span, n ? n : 1);
    int64_t *ready = ARENA_NEW_ARRAY(cy->arena, int64_t, n ? n : 1);
    if (n == 0) {
        return;
    }
    if (
      ec2io_wait_available(cy, r->region, ids, n, time_mono_ms(), r->args.timeout_s * 1000, states, ready) != ERR_OK) {
        for (size_t k = 0; k < n; k++) {
            r->vols[idx[k]].error = "DescribeVolumes failed while waiting (the volume is kept)";
        }
        return;
    }
    for (size_t k = 0; k < n; k++) {
        struct rvol *v = &r->vols[idx[k]];
        v->state = states[k];
        if (!span_eq_cstr(states[k], "available")) {
            v->error = arena_printf(
              cy->arena,
              "not available after %llds: %.*s (the volume is kept)",
              (long long) r->args.timeout_s,
              SPAN_FMT(states[k]));
        }
    }
}

static void s_attach(struct restore *r) {
    struct cycle *cy = &r->t.cy;
    for (size_t i = 0; r->target && i < r->nvols; i++) {
        struct rvol *v = &r->vols[i];
        if (v->error || !v->volume_id.n) {
            continue;
        }
        if (v->device.n == 0) {
            v->error = "no device name recorded for this volume: attach it yourself (the volume is kept)";
            continue;
        }
        struct arena_mark m = arena_mark(cy->scratch);
        struct query_params q;
        query_init(&q, cy->scratch);
        ec2_attach_volume_request(&q, v->volume_id, r->target->id, v->device);
        const struct xml_node *root = NULL;
        char code[AWS_ERROR_CODE_MAX + 1] = "";
        if (
          ec2io_call(cy, r->region, "AttachVolume", &q, cy->scratch, &root, code) == ERR_OK &&
          ec2_attach_volume_parse(cy->arena, root, &v->attach) == ERR_OK) {
            LOG(LOG_INFO, "restore.attached", LF_SP("volume_id", v->volume_id), LF_SP("device", v->device));
        } else {
            v->error = arena_printf(cy->arena, "AttachVolume: %s (the volume is kept)", code);
        }
        arena_rewind(cy->scratch, m);
    }
}

static enum restore_outcome s_prepare(struct restore *r) {
    enum restore_outcome o = s_choose_set(r);
    if (o != RESTORE_OK) {
        return o;
    }
    s_learn_source(r);
    if ((o = s_find_target(r)) != RESTORE_OK || (o = s_choose_zone(r)) != RESTORE_OK) {
        return o;
    }
    r->nvols = r->set.nmembers;
    r->vols = ARENA_NEW_ARRAY(r->t.cy.arena, struct rvol, r->nvols);
    for (size_t k = 0; k < r->nvols; k++) {
        memset(&r->vols[k], 0, sizeof(r->vols[k]));
        s_plan_volume(r, &r->vols[k], &r->snaps.items[r->set.members[k]]);
    }
    return s_check_root(r);
}

static enum restore_outcome s_execute(struct restore *r) {
    bool dry = r->args.dry_run || r->t.cfg.dry_run;
    if (dry) {
        for (size_t i = 0; i < r->nvols; i++) {
            s_log_volume(r, &r->vols[i], "restore.plan");
        }
    } else {
        s_create(r);
        if (!r->args.no_wait) {
            s_wait(r);
        }
        s_attach(r);
    }
    size_t failed = 0;
    for (size_t i = 0; !dry && i < r->nvols; i++) {
        failed += r->vols[i].error ? 1 : 0;
        s_log_volume(r, &r->vols[i], "restore.volume");
    }
    LOG(
      failed ? LOG_WARN : LOG_INFO,
      "restore.done",
      LF_S("instance_id", r->args.instance),
      LF_S("region", r->region),
      LF_SP("availability_zone", r->az),
      LF_S("zone_from", r->az_from),
      LF_SP("run_id", r->set.set_id),
      LF_S("attach_to", r->args.attach_to),
      LF_B("dry_run", dry),
      LF_U("volumes", r->nvols),
      LF_U("failed", failed));
    return failed ? RESTORE_PARTIAL : RESTORE_OK;
}

enum restore_outcome restore_command(int argc, char **argv, const char *const *envp) {
    struct restore r;
    memset(&r, 0, sizeof(r));
    if (restore_args_parse(&r.args, argc, argv, false) != ERR_OK) {
        fprintf(stderr, "smartvault: restore: %s\n", r.args.error);
        return RESTORE_USAGE;
    }
    enum ec2io_open_result open = ec2io_tool_open(&r.t, "restore", r.args.nrest, r.args.rest, envp);
    enum restore_outcome o = open == EC2IO_OPEN_USAGE ? RESTORE_USAGE : RESTORE_CANNOT_START;
    if (open == EC2IO_OPEN_OK) {
        r.region = r.args.region ? r.args.region : r.t.cfg.source_region;
        o = s_prepare(&r);
        if (o == RESTORE_OK) {
            o = s_execute(&r);
        }
    }
    ec2io_tool_close(&r.t);
    return o;
}
