/*
 * drill.c - the restore drill of a cycle (RESTORE_DRILL=N): prove that snapshots restore by restoring N volumes
 * from their newest completed snapshot, waiting until they are available (RESTORE_DRILL_TIMEOUT), and deleting
 * them again.
 *
 * Order: (1) delete drill volumes a killed or timed-out run left behind (tag SmartVault:Drill=true, in every
 * drill region); (2) list the snapshots; (3) choose the volumes: the rotation of restore_plan.c over every volume
 * with a completed snapshot, numbered by RESTORE_DRILL_PERIOD, so every volume is drilled within
 * ceil(volumes / N) cycles without any stored state; the i-th drill of cycle k uses the DR region when
 * (k + i) is odd and DEST_REGION is set (its newest completed copy; the source when it has none); (4) create
 * every volume (tagged SmartVault:Drill=true and the run id), wait, record the time to available; (5) delete
 * every volume created - always, also after a timeout, an error or a stop request.
 *
 * What it does not do: attach anything, or touch a volume without the drill tag.
 */
#include "backup/drill.h"

#include "backup/ec2io.h"
#include "backup/restore_plan.h"
#include "backup/tags.h"

#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct drill_vol {
    struct cycle *cy;
    const char *region;
    struct span volume_id; /* the backed-up volume */
    const struct ec2_snapshot *snap;
    struct span instance_id;
    struct span az;
    struct ec2_tag tags[6];
    struct span drill_volume_id; /* empty until created */
    struct span state;
    int64_t ready_ms;
    const char *error;
    struct aws_request req;
};

struct drill {
    struct cycle *cy;
    const char *regions[2];
    size_t nregions;
    struct span zones[2];
    struct ec2_snapshot_list snaps[2];
    struct drill_vol *vols;
    size_t nvols;
    int64_t start_ms;
};

static struct span s_tag(const struct ec2_snapshot *s, const char *key) {
    return ec2_tag_value(s->tags, s->ntags, key, NULL);
}

static void
s_fail_item(struct cycle *cy, const struct drill_vol *v, const char *region, const char *code, const char *msg) {
    struct report_item it = { .action = REPORT_FAILED,
                              .job = REPORT_JOB_DRILL,
                              .ts_ms = time_wall_ms(),
                              .region = region,
                              .aws_code = code,
                              .message = msg,
                              .duration_ms = -1 };
    if (v != NULL) {
        it.instance_id = arena_span_cstr(cy->arena, v->instance_id);
        it.volume_id = arena_span_cstr(cy->arena, v->volume_id);
        it.snapshot_id = arena_span_cstr(cy->arena, v->snap->id);
    }
    report_add(cy->report, &it);
}

/* DeleteVolume, one at a time (few volumes); NotFound means someone else already did it. */
static bool s_delete(struct cycle *cy, const char *region, struct span id, char code[AWS_ERROR_CODE_MAX + 1]) {
    struct arena_mark m = arena_mark(cy->scratch);
    struct query_params q;
    query_init(&q, cy->scratch);
    ec2_delete_volume_request(&q, id);
    const struct xml_node *root = NULL;
    enum err e = ec2io_call(cy, region, "DeleteVolume", &q, cy->scratch, &root, code);
    arena_rewind(cy->scratch, m);
    return e == ERR_OK || strcmp(code, "InvalidVolume.NotFound") == 0;
}

/* (1) Drill volumes of earlier runs (killed, or whose delete failed): never more than one cycle old. */
static void s_cleanup(struct drill *d) {
    struct cycle *cy = d->cy;
    struct span value = SPAN_LIT("true");
    for (size_t r = 0; r < d->nregions; r++) {
        struct ec2_volume_list l = { 0 };
        if (ec2io_list_volumes(cy, d->regions[r], "tag:" TAG_DRILL, &value, 1, &l) != ERR_OK) {
            s_fail_item(cy, NULL, d->regions[r], "DescribeVolumes", "listing leftover drill volumes failed");
            continue;
        }
        for (size_t i = 0; i < l.n; i++) {
            char code[AWS_ERROR_CODE_MAX + 1] = "";
            bool ok = s_delete(cy, d->regions[r], l.items[i].id, code);
            LOG(
              ok ? LOG_INFO : LOG_ERROR,
              ok ? "drill.leftover_deleted" : "drill.leftover_delete_failed",
              LF_S("region", d->regions[r]),
              LF_SP("volume_id", l.items[i].id),
              LF_SP("state", l.items[i].state),
              LF_SP("run_id", ec2_tag_value(l.items[i].tags, l.items[i].ntags, TAG_RUN_ID, NULL)));
            if (!ok) {
                s_fail_item(
                  cy, NULL, d->regions[r], code, "leftover drill volume not deleted; the next run tries again");
            }
        }
    }
}

/* The newest completed snapshot (copies: of that volume, by their VolumeId tag) in listing `l`. */
static const struct ec2_snapshot *s_newest(const struct ec2_snapshot_list *l, struct span volume, bool copies) {
    const struct ec2_snapshot *best = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct ec2_snapshot *s = &l->items[i];
        bool is_copy = s_tag(s, TAG_SOURCE_SNAPSHOT_ID).n > 0;
        struct span vol = is_copy ? s_tag(s, TAG_VOLUME_ID) : s->volume_id;
        if (is_copy != copies || !span_eq(vol, volume) || !span_eq_cstr(s->state, "completed")) {
            continue;
        }
        if (
          best == NULL || s->start_time_s > best->start_time_s ||
          (s->start_time_s == best->start_time_s && span_cmp(s->id, best->id) < 0)) {
            best = s;
        }
    }
    return best;
}

/* Distinct backed-up volumes: those with a completed SmartVault snapshot in the source region (sorted, unique). */
static size_t s_volumes(struct drill *d, struct span *out) {
    size_t n = 0;
    const struct ec2_snapshot_list *l = &d->snaps[0];
    for (size_t i = 0; i < l->n; i++) {
        const struct ec2_snapshot *s = &l->items[i];
        if (s_tag(s, TAG_SOURCE_SNAPSHOT_ID).n == 0 && span_eq_cstr(s->state, "completed") && s->volume_id.n) {
            out[n++] = s->volume_id;
        }
    }
    return ec2io_unique_spans(out, n);
}

/* (3) The volumes of this cycle and the snapshot each is restored from. */
static void s_choose(struct drill *d) {
    struct cycle *cy = d->cy;
    size_t cap = d->snaps[0].n;
    struct span *vols = cap ? ARENA_NEW_ARRAY(cy->arena, struct span, cap) : NULL;
    size_t nvol = s_volumes(d, vols);
    uint64_t cycle_no = restore_drill_cycle_no(cy->now_s, cy->cfg->restore_drill_period_s);
    size_t *pick = nvol ? ARENA_NEW_ARRAY(cy->arena, size_t, nvol) : NULL;
    size_t k = restore_drill_pick(cy->arena, vols, nvol, cy->cfg->restore_drill, cycle_no, pick);
    d->vols = k ? ARENA_NEW_ARRAY(cy->arena, struct drill_vol, k) : NULL;
    for (size_t i = 0; i < k; i++) {
        struct drill_vol *v = &d->vols[d->nvols++];
        memset(v, 0, sizeof(*v));
        v->cy = cy;
        v->volume_id = vols[pick[i]];
        size_t r = d->nregions > 1 && (cycle_no + i) % 2 == 1 ? 1 : 0;
        v->snap = r ? s_newest(&d->snaps[1], v->volume_id, true) : NULL;
        r = v->snap ? r : 0; /* no completed copy yet: drill the source */
        v->snap = v->snap ? v->snap : s_newest(&d->snaps[0], v->volume_id, false);
        v->region = d->regions[r];
        v->az = d->zones[r];
        v->instance_id = s_tag(v->snap, TAG_INSTANCE_ID);
        v->ready_ms = -1;
    }
    LOG(
      LOG_INFO,
      "drill.plan",
      LF_U("volumes", nvol),
      LF_U("drill", d->nvols),
      LF_U("cycle_no", cycle_no),
      LF_U("cycles_to_cover_all", nvol ? (nvol + cy->cfg->restore_drill - 1) / cy->cfg->restore_drill : 0));
}

/* RESTORE_DRILL_AZ's zone for the region (its name starts with the region's), else the first available zone. */
static enum err s_zone(struct drill *d, size_t r) {
    const char *list = d->cy->cfg->restore_drill_az;
    struct span rest = list ? span_from_cstr(list) : SPAN_NULL, z;
    size_t rn = strlen(d->regions[r]);
    while (rest.n > 0) {
        if (!span_split(rest, ',', &z, &rest)) {
            z = rest, rest = SPAN_NULL;
        }
        z = span_trim(z);
        if (z.n > rn && memcmp(z.p, d->regions[r], rn) == 0 && z.p[rn] >= 'a' && z.p[rn] <= 'z') {
            d->zones[r] = z;
            return ERR_OK;
        }
    }
    return ec2io_first_zone(d->cy, d->regions[r], &d->zones[r]);
}

static void s_create_done(struct aws_request *req) {
    struct drill_vol *v = req->user;
    struct cycle *cy = v->cy;
    struct arena_mark m = arena_mark(cy->scratch);
    const struct xml_node *root = NULL;
    struct ec2_volume vol;
    enum err e = req->result;
    if (e == ERR_OK && (e = aws_response_xml(req, cy->scratch, &root)) == ERR_OK) {
        e = ec2_create_volume_parse(cy->arena, root, &vol);
    }
    if (e == ERR_OK) {
        v->drill_volume_id = vol.id;
        v->state = vol.state;
    } else {
        const char *code = req->error.code[0] ? req->error.code : err_name(e);
        v->error = arena_printf(cy->arena, "CreateVolume: %s %s", code, req->error.message);
    }
    arena_rewind(cy->scratch, m);
    aws_request_free(req);
}

/* (4) Every drill volume in one batch: gp3 of the snapshot's size, encrypted when the snapshot is. */
static void s_create(struct drill *d) {
    struct cycle *cy = d->cy;
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->arena, struct aws_request *, d->nvols);
    size_t n = 0;
    for (size_t i = 0; i < d->nvols; i++) {
        struct drill_vol *v = &d->vols[i];
        if (v->snap == NULL) {
            v->error = "no completed snapshot";
            continue;
        }
        size_t nt = 0;
        v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_DRILL), SPAN_LIT("true") };
        v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RUN_ID), span_from_cstr(cy->report->run_id) };
        v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RESTORE_OF), v->volume_id };
        v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_RESTORED_FROM), v->snap->id };
        v->tags[nt++] = (struct ec2_tag){ SPAN_LIT(TAG_NAME), SPAN_LIT("SmartVault restore drill (deleted by it)") };
        struct ec2_volume_spec spec = { .snapshot_id = v->snap->id,
                                        .availability_zone = v->az,
                                        .volume_type = SPAN_LIT("gp3"),
                                        .encrypted = v->snap->encrypted,
                                        .tags = v->tags,
                                        .ntags = nt };
        struct query_params *q = ARENA_NEW(cy->arena, struct query_params);
        query_init(q, cy->arena);
        ec2_create_volume_request(q, &spec);
        v->req = (struct aws_request){ .service = ENDPOINT_EC2,
                                       .region = v->region,
                                       .operation = "CreateVolume",
                                       .params = q,
                                       .user = v,
                                       .on_done = s_create_done };
        reqs[n++] = &v->req;
    }
    if (aws_run(cy->aws, reqs, n) != ERR_OK) {
        LOG(LOG_ERROR, "drill.create_failed", LF_S("error", err_last()->msg));
    }
}

/* Waits in each region for its created volumes; the time to available counts from the start of creation. */
static void s_wait(struct drill *d) {
    struct cycle *cy = d->cy;
    for (size_t r = 0; r < d->nregions; r++) {
        struct span *ids = ARENA_NEW_ARRAY(cy->arena, struct span, d->nvols);
        size_t *idx = ARENA_NEW_ARRAY(cy->arena, size_t, d->nvols);
        size_t n = 0;
        for (size_t i = 0; i < d->nvols; i++) {
            if (d->vols[i].region == d->regions[r] && d->vols[i].drill_volume_id.n) {
                idx[n] = i;
                ids[n++] = d->vols[i].drill_volume_id;
            }
        }
        if (n == 0) {
            continue;
        }
        struct span *states = ARENA_NEW_ARRAY(cy->arena, struct span, n);
        int64_t *ready = ARENA_NEW_ARRAY(cy->arena, int64_t, n);
        int64_t timeout_ms = cy->cfg->restore_drill_timeout_s * 1000 - (time_mono_ms() - d->start_ms);
        if (ec2io_wait_available(cy, d->regions[r], ids, n, d->start_ms, timeout_ms, states, ready) != ERR_OK) {
            for (size_t k = 0; k < n; k++) {
                d->vols[idx[k]].error = "DescribeVolumes failed while waiting";
            }
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            struct drill_vol *v = &d->vols[idx[k]];
            v->state = states[k];
            v->ready_ms = ready[k];
            if (ready[k] < 0) {
                v->error = arena_printf(
                  cy->arena,
                  "not available within RESTORE_DRILL_TIMEOUT (%llds): %.*s",
                  (long long) cy->cfg->restore_drill_timeout_s,
                  SPAN_FMT(states[k]));
            }
        }
    }
}

/* (5) Delete what this run created, whatever happened; a failure leaves it to the next run's cleanup. */
static void s_delete_all(struct drill *d) {
    for (size_t i = 0; i < d->nvols; i++) {
        struct drill_vol *v = &d->vols[i];
        if (!v->drill_volume_id.n) {
            continue;
        }
        char code[AWS_ERROR_CODE_MAX + 1] = "";
        if (s_delete(d->cy, v->region, v->drill_volume_id, code)) {
            LOG(LOG_INFO, "drill.volume_deleted", LF_S("region", v->region), LF_SP("volume_id", v->drill_volume_id));
            continue;
        }
        struct report_item it = { .action = REPORT_FAILED,
                                  .job = REPORT_JOB_DRILL,
                                  .ts_ms = time_wall_ms(),
                                  .region = v->region,
                                  .aws_code = code,
                                  .message = "drill volume not deleted; the next run deletes it",
                                  .reason = arena_span_cstr(d->cy->arena, v->drill_volume_id),
                                  .duration_ms = -1 };
        report_add(d->cy->report, &it);
    }
}

static void s_record(struct drill *d) {
    struct cycle *cy = d->cy;
    for (size_t i = 0; i < d->nvols; i++) {
        const struct drill_vol *v = &d->vols[i];
        struct span snap = v->snap ? v->snap->id : SPAN_NULL;
        LOG(
          v->error ? LOG_ERROR : LOG_INFO,
          v->error ? "drill.failed" : "drill.passed",
          LF_S("region", v->region),
          LF_SP("instance_id", v->instance_id),
          LF_SP("volume_id", v->volume_id),
          LF_SP("snapshot_id", snap),
          LF_SP("drill_volume_id", v->drill_volume_id),
          LF_SP("availability_zone", v->az),
          LF_D("seconds", v->ready_ms >= 0 ? (double) v->ready_ms / 1000.0 : -1.0),
          LF_S("error", v->error));
        if (v->error) {
            struct drill_vol copy = *v;
            if (copy.snap == NULL) {
                continue; /* nothing to restore from: reported as drill.failed only */
            }
            s_fail_item(cy, &copy, v->region, "drill", v->error);
            continue;
        }
        struct report_item it = { .action = REPORT_DRILLED,
                                  .job = REPORT_JOB_DRILL,
                                  .ts_ms = time_wall_ms(),
                                  .region = v->region,
                                  .instance_id = arena_span_cstr(cy->arena, v->instance_id),
                                  .volume_id = arena_span_cstr(cy->arena, v->volume_id),
                                  .snapshot_id = arena_span_cstr(cy->arena, snap),
                                  .reason = arena_span_cstr(cy->arena, v->az),
                                  .duration_ms = v->ready_ms };
        report_add(cy->report, &it);
    }
}

void drill_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    if (cfg->restore_drill == 0 || stop_requested()) {
        return;
    }
    struct drill d = { .cy = cy, .regions = { cfg->source_region, cfg->dest_region } };
    d.nregions = cfg->dest_region ? 2 : 1;
    cy->report->drill_ran = true;
    if (!cy->dry_run) {
        s_cleanup(&d);
    }
    for (size_t r = 0; r < d.nregions; r++) {
        if (ec2io_list_snapshots(cy, d.regions[r], &d.snaps[r]) != ERR_OK) {
            s_fail_item(cy, NULL, d.regions[r], "DescribeSnapshots", "drill: listing snapshots failed");
            return;
        }
    }
    s_choose(&d);
    for (size_t r = 0; r < d.nregions && d.nvols > 0; r++) {
        if (s_zone(&d, r) != ERR_OK) {
            s_fail_item(cy, NULL, d.regions[r], "DescribeAvailabilityZones", "drill: no zone");
            return;
        }
    }
    for (size_t i = 0; i < d.nvols; i++) {
        d.vols[i].az = d.zones[d.vols[i].region == d.regions[0] ? 0 : 1];
    }
    if (cy->dry_run) {
        for (size_t i = 0; i < d.nvols; i++) {
            LOG(
              LOG_INFO,
              "plan.drill",
              LF_S("region", d.vols[i].region),
              LF_SP("volume_id", d.vols[i].volume_id),
              LF_SP("snapshot_id", d.vols[i].snap ? d.vols[i].snap->id : SPAN_NULL),
              LF_SP("availability_zone", d.vols[i].az));
        }
        return;
    }
    d.start_ms = time_mono_ms();
    s_create(&d);
    s_wait(&d);
    s_delete_all(&d);
    s_record(&d);
}
