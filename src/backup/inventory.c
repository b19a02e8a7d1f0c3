/*
 * inventory.c - `smartvault list`: what can be restored. One line per (instance, volume) that SmartVault has
 * snapshots of in the source region, live or terminated: its device, its newest completed snapshot (id, age,
 * state), how many SmartVault snapshots are kept, and the DR copy of that snapshot (id, state) when DEST_REGION
 * is set. JSON `inventory.volume` lines, or a table with --log-format text.
 *
 * The device is the snapshot's SmartVault:Device tag, else the instance's current mapping (older snapshots).
 * What it does not do: change anything.
 */
#include "backup/inventory.h"

#include "backup/ec2io.h"
#include "backup/restore_args.h"
#include "backup/restore_plan.h"
#include "backup/tags.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inv_row {
    struct span instance_id;
    struct span volume_id;
    struct span device;
    const struct ec2_snapshot *newest; /* newest completed, or NULL */
    const struct ec2_snapshot *latest; /* newest in any state */
    size_t kept;
    const struct ec2_snapshot *dr; /* the copy of `newest` in DEST_REGION, or NULL */
};

struct inventory {
    struct ec2io_tool t;
    struct restore_args args;
    const char *region;
    struct ec2_snapshot_list src;
    struct ec2_snapshot_list dst;
    struct ec2_instance_list instances;
    struct inv_row *rows;
    size_t nrows;
};

static struct span s_tag(const struct ec2_snapshot *s, const char *key) {
    return ec2_tag_value(s->tags, s->ntags, key, NULL);
}

static bool s_newer(const struct ec2_snapshot *a, const struct ec2_snapshot *b) {
    return b == NULL || a->start_time_s > b->start_time_s ||
           (a->start_time_s == b->start_time_s && span_cmp(a->id, b->id) < 0);
}

/* Snapshots ordered by (instance, volume) so each row is a run; copies ordered by their source snapshot. */
static int s_by_volume(const void *a, const void *b) {
    const struct ec2_snapshot *x = *(const struct ec2_snapshot *const *) a,
                              *y = *(const struct ec2_snapshot *const *) b;
    int c = span_cmp(s_tag(x, TAG_INSTANCE_ID), s_tag(y, TAG_INSTANCE_ID));
    return c ? c : span_cmp(x->volume_id, y->volume_id);
}

static int s_by_source(const void *a, const void *b) {
    const struct ec2_snapshot *x = *(const struct ec2_snapshot *const *) a,
                              *y = *(const struct ec2_snapshot *const *) b;
    return span_cmp(s_tag(x, TAG_SOURCE_SNAPSHOT_ID), s_tag(y, TAG_SOURCE_SNAPSHOT_ID));
}

/* The copy of `id` (a completed one when there are several), by binary search in the sorted copies. */
static const struct ec2_snapshot *s_copy_of(const struct ec2_snapshot **copies, size_t n, struct span id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (span_cmp(s_tag(copies[mid], TAG_SOURCE_SNAPSHOT_ID), id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    const struct ec2_snapshot *best = NULL;
    for (; lo < n && span_eq(s_tag(copies[lo], TAG_SOURCE_SNAPSHOT_ID), id); lo++) {
        best = (best == NULL || span_eq_cstr(copies[lo]->state, "completed")) ? copies[lo] : best;
    }
    return best;
}

static const struct ec2_snapshot **
s_sorted(struct arena *a, const struct ec2_snapshot_list *l, size_t *n, bool copies, const char *instance) {
    const struct ec2_snapshot **v = ARENA_NEW_ARRAY(a, const struct ec2_snapshot *, l->n ? l->n : 1);
    *n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct ec2_snapshot *s = &l->items[i];
        struct span inst = s_tag(s, TAG_INSTANCE_ID);
        bool is_copy = s_tag(s, TAG_SOURCE_SNAPSHOT_ID).n > 0;
        if (is_copy == copies && (copies || (inst.n && (instance == NULL || span_eq_cstr(inst, instance))))) {
            v[(*n)++] = s;
        }
    }
    qsort(v, *n, sizeof(*v), copies ? s_by_source : s_by_volume);
    return v;
}

/* Rows from the source region's snapshots (copies living in the same region are not rows). */
static void s_build_rows(struct inventory *inv) {
    struct arena *a = inv->t.cy.arena;
    size_t n = 0, ncopies = 0;
    const struct ec2_snapshot **v = s_sorted(a, &inv->src, &n, false, inv->args.instance);
    const struct ec2_snapshot **copies = s_sorted(a, &inv->dst, &ncopies, true, NULL);
    inv->rows = ARENA_NEW_ARRAY(a, struct inv_row, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        const struct ec2_snapshot *s = v[i];
        if (inv->nrows == 0 || s_by_volume(&v[i - 1], &v[i]) != 0) {
            struct inv_row *r = &inv->rows[inv->nrows++];
            memset(r, 0, sizeof(*r));
            r->instance_id = s_tag(s, TAG_INSTANCE_ID);
            r->volume_id = s->volume_id;
        }
        struct inv_row *r = &inv->rows[inv->nrows - 1];
        r->kept++;
        r->latest = s_newer(s, r->latest) ? s : r->latest;
        if (span_eq_cstr(s->state, "completed") && s_newer(s, r->newest)) {
            r->newest = s;
        }
    }
    for (size_t i = 0; i < inv->nrows; i++) {
        struct inv_row *r = &inv->rows[i];
        const struct ec2_snapshot *s = r->newest ? r->newest : r->latest;
        r->device = s_tag(s, TAG_DEVICE);
        if (r->device.n == 0) {
            r->device = ec2io_device_of(ec2io_find_instance(&inv->instances, r->instance_id), r->volume_id);
        }
        r->dr = r->newest ? s_copy_of(copies, ncopies, r->newest->id) : NULL;
    }
}

static struct span s_id(const struct ec2_snapshot *s) {
    return s ? s->id : SPAN_NULL;
}

static void s_print_row(const struct inventory *inv, const struct inv_row *r) {
    const struct ec2_snapshot *s = r->newest ? r->newest : r->latest;
    int64_t age = r->newest ? inv->t.cy.now_s - r->newest->start_time_s : -1;
    const char *dest = inv->t.cfg.dest_region;
    if (inv->t.cfg.log_format == LOG_FORMAT_TEXT) {
        printf(
          "%-20.*s %-22.*s %-10.*s %-22.*s %8lld %-9.*s %5zu  %-22.*s %.*s\n",
          SPAN_FMT(r->instance_id),
          SPAN_FMT(r->volume_id),
          SPAN_FMT(r->device),
          SPAN_FMT(s_id(r->newest)),
          (long long) age,
          SPAN_FMT(s->state),
          r->kept,
          SPAN_FMT(s_id(r->dr)),
          SPAN_FMT(r->dr ? r->dr->state : SPAN_NULL));
        return;
    }
    LOG(
      LOG_INFO,
      "inventory.volume",
      LF_SP("instance_id", r->instance_id),
      LF_SP("volume_id", r->volume_id),
      LF_SP("device", r->device),
      LF_S("region", inv->region),
      LF_SP("snapshot_id", s_id(r->newest)),
      LF_I("snapshot_age_s", age),
      LF_SP("snapshot_state", s->state),
      LF_U("snapshots_kept", r->kept),
      LF_S("dr_region", dest),
      LF_SP("dr_snapshot_id", s_id(r->dr)),
      LF_SP("dr_state", r->dr ? r->dr->state : SPAN_NULL));
}

static int s_row_cmp(const void *a, const void *b) {
    const struct inv_row *x = a, *y = b;
    int c = span_cmp(x->instance_id, y->instance_id);
    return c ? c : span_cmp(x->device, y->device);
}

/* Devices of snapshots made before SmartVault:Device existed: the live instances' mappings. */
static enum err s_live_instances(struct inventory *inv) {
    struct cycle *cy = &inv->t.cy;
    struct span *ids = inv->src.n ? ARENA_NEW_ARRAY(cy->arena, struct span, inv->src.n) : NULL;
    size_t nids = 0;
    for (size_t i = 0; i < inv->src.n; i++) {
        struct span id = s_tag(&inv->src.items[i], TAG_INSTANCE_ID);
        if (
          s_tag(&inv->src.items[i], TAG_DEVICE).n == 0 && id.n &&
          (inv->args.instance == NULL || span_eq_cstr(id, inv->args.instance))) {
            ids[nids++] = id;
        }
    }
    nids = ec2io_unique_spans(ids, nids);
    return nids ? ec2io_instances(cy, inv->region, ids, nids, &inv->instances) : ERR_OK;
}

static enum restore_outcome s_list(struct inventory *inv) {
    struct cycle *cy = &inv->t.cy;
    enum err e = ec2io_list_snapshots(cy, inv->region, &inv->src);
    if (e != ERR_OK) {
        return job_err_cannot_start(e) ? RESTORE_CANNOT_START : RESTORE_PARTIAL;
    }
    bool partial = false;
    const char *dest = inv->t.cfg.dest_region;
    if (dest && strcmp(dest, inv->region) != 0 && ec2io_list_snapshots(cy, dest, &inv->dst) != ERR_OK) {
        partial = true; /* the source side is still worth printing */
    }
    partial = s_live_instances(inv) != ERR_OK || partial;
    s_build_rows(inv);
    qsort(inv->rows, inv->nrows, sizeof(*inv->rows), s_row_cmp);
    if (inv->t.cfg.log_format == LOG_FORMAT_TEXT) {
        printf(
          "%-20s %-22s %-10s %-22s %8s %-9s %5s  %-22s %s\n",
          "INSTANCE",
          "VOLUME",
          "DEVICE",
          "SNAPSHOT",
          "AGE_S",
          "STATE",
          "KEPT",
          "DR_SNAPSHOT",
          "DR_STATE");
    }
    for (size_t i = 0; i < inv->nrows; i++) {
        s_print_row(inv, &inv->rows[i]);
    }
    LOG(LOG_INFO, "inventory.done", LF_S("region", inv->region), LF_U("volumes", inv->nrows), LF_B("partial", partial));
    return partial ? RESTORE_PARTIAL : RESTORE_OK;
}

enum restore_outcome inventory_command(int argc, char **argv, const char *const *envp) {
    struct inventory inv;
    memset(&inv, 0, sizeof(inv));
    if (restore_args_parse(&inv.args, argc, argv, true) != ERR_OK) {
        fprintf(stderr, "smartvault: list: %s\n", inv.args.error);
        return RESTORE_USAGE;
    }
    enum ec2io_open_result open = ec2io_tool_open(&inv.t, "list", inv.args.nrest, inv.args.rest, envp);
    enum restore_outcome o = open == EC2IO_OPEN_USAGE ? RESTORE_USAGE : RESTORE_CANNOT_START;
    if (open == EC2IO_OPEN_OK) {
        if (inv.t.cfg.log_format == LOG_FORMAT_TEXT) {
            /* The table alone on stdout (it can be piped); the log lines go to stderr. */
            struct log_config lc = { LOG_FORMAT_TEXT, inv.t.cfg.log_level, stderr };
            log_configure(&lc);
        }
        inv.region = inv.args.region ? inv.args.region : inv.t.cfg.source_region;
        o = s_list(&inv);
    }
    ec2io_tool_close(&inv.t);
    return o;
}
