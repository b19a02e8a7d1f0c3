/*
 * metrics.c - the metric set of a cycle and its two renderings (PutMetricData parameters, an EMF line).
 *
 * What it does not do: send (backup/publish), choose between API and EMF (cfg's METRICS_MODE, read by
 * backup/publish), or format the wire protocols itself (svc/cloudwatch does).
 */
#include "backup/metrics.h"

#include "codec/json.h"

#include <string.h>

static const struct cloudwatch_dimension s_dims[] = { { METRICS_DIMENSION_NAME, METRICS_DIMENSION_VALUE } };
#define METRICS_NDIMS (sizeof(s_dims) / sizeof(s_dims[0]))

static void s_add(struct metrics_set *m, const char *name, const char *unit, double value) {
    if (m->n < METRICS_MAX) {
        m->items[m->n++] = (struct cloudwatch_metric){ .name = name, .unit = unit, .value = value };
    }
}

void metrics_from_report(const struct report *r, struct metrics_set *out) {
    struct report_counts c = report_counts(r);
    memset(out, 0, sizeof(*out));
    s_add(out, "SnapshotsCreated", "Count", (double) c.snapshots_created);
    s_add(out, "SnapshotsCopied", "Count", (double) c.snapshots_copied);
    s_add(out, "SnapshotsDeleted", "Count", (double) c.snapshots_deleted);
    s_add(out, "Errors", "Count", (double) c.failures);
    s_add(out, "CycleDurationSeconds", "Seconds", (double) (r->wall_ms > 0 ? r->wall_ms : 0) / 1000.0);
    if (r->drill_ran) {
        s_add(out, "RestoreDrillsPassed", "Count", (double) c.drills_passed);
        s_add(out, "RestoreDrillsFailed", "Count", (double) c.drills_failed);
        s_add(out, "RestoreDrillSecondsMax", "Seconds", c.drill_seconds_max);
    }
    if (r->s3_ran) {
        s_add(out, "S3ObjectsCopied", "Count", (double) c.s3_objects_copied);
        s_add(out, "S3BytesCopied", "Bytes", (double) c.s3_bytes_copied);
        s_add(out, "S3ObjectsFailed", "Count", (double) c.s3_failed);
    }
    if (r->coverage.known) {
        s_add(out, "VolumesOutsideRpo", "Count", (double) r->coverage.outside_rpo);
        s_add(out, "OldestBackupAgeSeconds", "Seconds", (double) r->coverage.oldest_age_s);
    }
    if (r->interrupted) {
        s_add(out, "RunsInterrupted", "Count", 1.0);
    }
    if (r->dr_backlog_known) {
        s_add(out, "DrCopyBacklog", "Count", (double) r->dr_backlog);
        s_add(out, "DrCopyBacklogOldestSeconds", "Seconds", (double) r->dr_backlog_oldest_s);
    }
    if (c.deferred > 0) { /* only a stopped run has any: its alarm treats missing data as "not stopped" */
        s_add(out, "Deferred", "Count", (double) c.deferred);
    }
}

double metrics_value(const struct metrics_set *m, const char *name) {
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->items[i].name, name) == 0) {
            return m->items[i].value;
        }
    }
    return -1;
}

enum err metrics_put_request(struct query_params *q, const char *metric_namespace, const struct metrics_set *m) {
    return cloudwatch_put_metric_data_request(q, metric_namespace, s_dims, METRICS_NDIMS, m->items, m->n);
}

enum err metrics_emf_line(
  struct buf *out,
  const char *metric_namespace,
  const struct metrics_set *m,
  int64_t timestamp_ms,
  const char *run_id) {
    const struct cloudwatch_property props[] = { { "run_id", run_id ? run_id : "" } };
    return cloudwatch_emf_write(out, timestamp_ms, metric_namespace, s_dims, METRICS_NDIMS, m->items, m->n, props, 1);
}

enum err metrics_json(const struct metrics_set *m, struct buf *out) {
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    for (size_t i = 0; i < m->n; i++) {
        json_write_key(&w, m->items[i].name);
        json_write_double(&w, m->items[i].value);
    }
    json_write_object_end(&w);
    return json_writer_finish(&w);
}

/* The per-target metrics and dimensions of target `index` (0-based). */
static void s_target(
  const struct report *r,
  size_t index,
  struct cloudwatch_metric m[METRICS_TARGET_METRICS],
  struct cloudwatch_dimension d[3]) {
    const struct report_target *t = &r->targets[index];
    struct report_counts c = report_target_counts(r, (uint32_t) (index + 1));
    m[0] = (struct cloudwatch_metric){ "SnapshotsCreated", "Count", (double) c.snapshots_created };
    m[1] = (struct cloudwatch_metric){ "SnapshotsCopied", "Count", (double) c.snapshots_copied };
    m[2] = (struct cloudwatch_metric){ "SnapshotsDeleted", "Count", (double) c.snapshots_deleted };
    m[3] = (struct cloudwatch_metric){ "Errors", "Count", (double) c.failures };
    d[0] = s_dims[0];
    d[1] = (struct cloudwatch_dimension){ METRICS_DIMENSION_ACCOUNT, t->account_id };
    d[2] = (struct cloudwatch_dimension){ METRICS_DIMENSION_REGION, t->region };
}

enum err metrics_put_targets_request(
  struct query_params *q,
  const char *metric_namespace,
  const struct report *r,
  size_t first,
  size_t count) {
    ENSURE(count > 0 && count <= METRICS_TARGETS_PER_CALL, ERR_INVALID, "metrics: %zu targets in one call", count);
    ENSURE(first + count <= r->ntargets, ERR_INVALID, "metrics: targets past the end");
    query_add_cstr(q, "Namespace", metric_namespace);
    size_t next = 1;
    for (size_t i = first; i < first + count; i++) {
        struct cloudwatch_metric m[METRICS_TARGET_METRICS];
        struct cloudwatch_dimension d[3];
        s_target(r, i, m, d);
        TRY(cloudwatch_put_metric_data_add(q, d, 3, m, METRICS_TARGET_METRICS, &next));
    }
    return ERR_OK;
}

enum err metrics_emf_target_line(
  struct buf *out,
  const char *metric_namespace,
  const struct report *r,
  size_t index,
  int64_t timestamp_ms) {
    struct cloudwatch_metric m[METRICS_TARGET_METRICS];
    struct cloudwatch_dimension d[3];
    s_target(r, index, m, d);
    const struct cloudwatch_property props[] = { { "run_id", r->run_id } };
    return cloudwatch_emf_write(out, timestamp_ms, metric_namespace, d, 3, m, METRICS_TARGET_METRICS, props, 1);
}
