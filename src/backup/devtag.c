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
#include "backup/devtag.h"

#include "backup/tags.h"
#include "svc/ec2_volume.h"

#include "base/log.h"
#include "base/time.h"

#include <stdlib.h>
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
        /* A stop (signal or RUN_TIMEOUT) cancelled it before it was sent: deferred, not a failure of the account. */
        bool stopped = r->result == ERR_CANCELLED;
        struct report_item it = { .action = stopped ? REPORT_DEFERRED : REPORT_FAILED,
                                  .job = REPORT_JOB_EBS,
                                  .ts_ms = time_wall_ms(),
                                  .region = c->cy->cfg->source_region,
                                  .device = c->device,
                                  .aws_code = r->error.code[0] ? r->error.code : err_name(r->result),
                                  .message = "CreateTags SmartVault:Device" };
        report_add(c->cy->report, &it);
        LOG(
          stopped ? LOG_WARN : LOG_ERROR,
          stopped ? "ebs.deferred" : "snapshot.device_tag_failed", /* one event for all work a stop left undone */
          LF_S("step", "CreateTags"),
          LF_S("device", c->device),
          LF_U("snapshots", c->nids),
          LF_S("aws_code", it.aws_code),
          LF_S("message", r->error.message));
    }
    aws_request_free(r);
}

/* One created snapshot and its device, sorted by device so each group is a run of the array. */
struct devtag_snap {
    const char *device;
    const char *snapshot_id;
};

static int s_by_device(const void *a, const void *b) {
    const struct devtag_snap *x = a, *y = b;
    int c = strcmp(x->device, y->device);
    return c ? c : strcmp(x->snapshot_id, y->snapshot_id);
}

/* The snapshots created since `first_item` that have a device, sorted by device (O(n log n) for any fleet). */
static size_t s_collect(struct cycle *cy, size_t first_item, struct devtag_snap **out) {
    const struct report *rep = cy->report;
    size_t n = rep->nitems - first_item, k = 0;
    *out = ARENA_NEW_ARRAY(cy->scratch, struct devtag_snap, n);
    for (size_t i = 0; i < n; i++) {
        const struct report_item *it = &rep->items[first_item + i];
        /* it->target: the targets of a multi-account run create in one batch; each tags only its own. */
        if (
          it->action == REPORT_CREATED && it->snapshot_id && it->device && it->device[0] && it->target == rep->target) {
            (*out)[k++] = (struct devtag_snap){ it->device, it->snapshot_id };
        }
    }
    qsort(*out, k, sizeof(**out), s_by_device);
    return k;
}

void devtag_snapshots(struct cycle *cy, size_t first_item) {
    if (cy->report->nitems <= first_item || cy->dry_run) {
        return;
    }
    struct arena_mark phase = arena_mark(cy->scratch);
    struct devtag_snap *snaps = NULL;
    size_t n = s_collect(cy, first_item, &snaps);
    struct devtag_call *calls = ARENA_NEW_ARRAY(cy->scratch, struct devtag_call, n ? n : 1);
    struct aws_request **reqs = ARENA_NEW_ARRAY(cy->scratch, struct aws_request *, n ? n : 1);
    size_t ncalls = 0;
    for (size_t i = 0; i < n;) {
        /* One call: a run of the same device, at most 1,000 snapshots. */
        size_t nids = 0;
        struct span *ids = ARENA_NEW_ARRAY(cy->scratch, struct span, EC2_CREATE_TAGS_MAX_RESOURCES);
        const char *device = snaps[i].device;
        while (i < n && nids < EC2_CREATE_TAGS_MAX_RESOURCES && strcmp(snaps[i].device, device) == 0) {
            ids[nids++] = span_from_cstr(snaps[i++].snapshot_id);
        }
        struct ec2_tag *tag = ARENA_NEW(cy->scratch, struct ec2_tag);
        *tag = (struct ec2_tag){ SPAN_LIT(TAG_DEVICE), span_from_cstr(device) };
        struct query_params *q = ARENA_NEW(cy->scratch, struct query_params);
        query_init(q, cy->scratch);
        ec2_create_tags_request(q, ids, nids, tag, 1);
        calls[ncalls] = (struct devtag_call){ .cy = cy, .device = device, .nids = nids };
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
