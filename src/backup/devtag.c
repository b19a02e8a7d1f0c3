/*
 * devtag.c - records each new snapshot's device name on the snapshot itself (tag SmartVault:Device), so a
 * terminated instance can be restored with its original devices without the audit table.
 *
 * One CreateSnapshots call tags all of an instance's snapshots alike, so the device is added afterwards with
 * CreateTags, which takes many resource ids per call: snapshots are grouped by device name and each group is one
 * call (per 1,000 snapshots). A fleet's devices are few (/dev/xvda, /dev/sdf, ...), so a cycle costs about as
 * many calls as there are distinct device names, whatever the number of instances.
 *
 * What it does not do: fail the cycle on a tagging error (it is recorded; `restore` then falls back to the
 * instance's current mapping), or tag snapshots it did not create in this cycle.
 */
#include "backup/restore.h"

#include "base/log.h"
#include "base/time.h"

#include <string.h>

struct devtag_call {
    struct cycle *cy;
    const char *device;
    size_t nids;
    struct aws_request req;
};

static void s_done(struct aws_request *r) {
    struct devtag_call *c = r->user;
    if (r->result == ERR_OK) {
        LOG(LOG_INFO, "snapshot.device_tagged", LF_S("device", c->device), LF_U("snapshots", c->nids));
    } else {
        struct report_item it = { .action = REPORT_FAILED,
                                  .job = REPORT_JOB_EBS,
                                  .ts_ms = time_wall_ms(),
                                  .region = c->cy->cfg->source_region,
                                  .device = c->device,
                                  .aws_code = r->error.code[0] ? r->error.code : err_name(r->result),
                                  .message = "CreateTags SmartVault:Device" };
        report_add(c->cy->report, &it);
        LOG(
          LOG_ERROR,
          "snapshot.device_tag_failed",
          LF_S("device", c->device),
          LF_U("snapshots", c->nids),
          LF_S("aws_code", it.aws_code),
          LF_S("message", r->error.message));
    }
    aws_request_free(r);
}

void devtag_snapshots(struct cycle *cy, size_t first_item) {
    const struct report *rep = cy->report;
    size_t n = rep->nitems > first_item ? rep->nitems - first_item : 0;
    if (n == 0 || cy->dry_run) {
        return;
    }
    struct arena_mark phase = arena_mark(cy->scratch);
    struct devtag_call *calls = ARENA_NEW_ARRAY(cy->scratch, struct devtag_call, n);
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, n);
    struct span *ids = ARENA_NEW_ARRAY(cy->scratch, struct span, n);
    bool *done = ARENA_NEW_ARRAY(cy->scratch, bool, n);
    memset(done, 0, n * sizeof(*done));
    size_t ncalls = 0;
    for (size_t i = 0; i < n; i++) {
        const struct report_item *it = &rep->items[first_item + i];
        if (done[i] || it->action != REPORT_CREATED || !it->snapshot_id || !it->device || !it->device[0]) {
            continue;
        }
        /* One group: every snapshot of this cycle with the same device, at most 1,000 per call. */
        size_t nids = 0;
        for (size_t k = i; k < n && nids < EC2_CREATE_TAGS_MAX_RESOURCES; k++) {
            const struct report_item *o = &rep->items[first_item + k];
            if (
              !done[k] && o->action == REPORT_CREATED && o->snapshot_id && o->device &&
              strcmp(o->device, it->device) == 0) {
                ids[nids++] = span_from_cstr(o->snapshot_id);
                done[k] = true;
            }
        }
        struct ec2_tag tag = { SPAN_LIT(TAG_DEVICE), span_from_cstr(it->device) };
        struct query_params *q = ARENA_NEW(cy->scratch, struct query_params);
        query_init(q, cy->scratch);
        ec2_create_tags_request(q, ids, nids, &tag, 1);
        calls[ncalls] = (struct devtag_call){ .cy = cy, .device = it->device, .nids = nids };
        calls[ncalls].req = (struct aws_request){ .service = ENDPOINT_EC2,
                                                  .region = cy->cfg->source_region,
                                                  .operation = "CreateTags",
                                                  .params = q,
                                                  .user = &calls[ncalls],
                                                  .on_done = s_done };
        reqs[ncalls] = &calls[ncalls].req;
        ncalls++;
    }
    if (aws_run(cy->aws, reqs, ncalls) != ERR_OK) {
        LOG(LOG_ERROR, "snapshot.device_tag_failed", LF_S("error", err_last()->msg));
    }
    arena_rewind(cy->scratch, phase);
}
