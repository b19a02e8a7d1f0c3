/*
 * metrics.h - the CloudWatch metrics of a cycle, derived from the report (backup/report.h) and nothing else, so
 * they agree with the SNS summary and the cycle.done line (issue 5, item 4). Pure: no clock, no network.
 *
 * Namespace METRIC_NAMESPACE (default "SmartVault"), one dimension Service=Backup (seed 000's alarm
 * NoSnapshotsCreated watches SnapshotsCreated with exactly that dimension, so no other dimension is added: a
 * metric with more dimensions is a different metric). Always, in this order:
 *
 *   SnapshotsCreated      Count    also when 0, so "no snapshots created" alarms on a value, not on silence
 *   SnapshotsCopied       Count
 *   SnapshotsDeleted      Count
 *   Errors                Count    every failed action, all jobs (report_counts().failures)
 *   CycleDurationSeconds  Seconds  report->wall_ms / 1000: the duration up to the reporting step
 *
 * when the EBS job measured coverage (backup/coverage.h): VolumesOutsideRpo (Count: backed-up volumes whose newest
 * snapshot is older than RPO, or that have none) and OldestBackupAgeSeconds (Seconds) - the shipped alarm watches
 * VolumesOutsideRpo and treats missing data as breaching; and when the S3 job ran: S3ObjectsCopied (Count),
 * S3BytesCopied (Bytes), S3ObjectsFailed (Count); when a stop (SIGTERM, RUN_TIMEOUT) ended the jobs early:
 * RunsInterrupted (Count, 1), so an alarm can count them. Dry runs have counts of what would be done; the caller does
 * not publish them (backup/publish).
 */
#ifndef SV_BACKUP_METRICS_H
#define SV_BACKUP_METRICS_H

#include "aws/query.h"
#include "backup/report.h"
#include "base/buf.h"
#include "base/err.h"
#include "svc/cloudwatch.h"

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX 16
#define METRICS_DIMENSION_NAME "Service"
#define METRICS_DIMENSION_VALUE "Backup"

struct metrics_set {
    struct cloudwatch_metric items[METRICS_MAX];
    size_t n;
};

void metrics_from_report(const struct report *r, struct metrics_set *out);

/*
 * Multi-account runs add, per target, SnapshotsCreated, SnapshotsCopied, SnapshotsDeleted and Errors with the
 * dimensions Service=Backup, AccountId=<id>, Region=<source region> (other metrics than the totals above, so the
 * totals' alarms are unchanged). 4 metrics x 9 parameters per target: 100 targets fit one request.
 */
#define METRICS_TARGETS_PER_CALL 100
#define METRICS_TARGET_METRICS 4
#define METRICS_DIMENSION_ACCOUNT "AccountId"
#define METRICS_DIMENSION_REGION "Region"

/* PutMetricData parameters for targets [first, first + count) of r (count <= METRICS_TARGETS_PER_CALL). */
enum err metrics_put_targets_request(
  struct query_params *q,
  const char *metric_namespace,
  const struct report *r,
  size_t first,
  size_t count) SV_MUST_CHECK;

/* One EMF object (no newline) for target `index` (0-based) of r. */
enum err metrics_emf_target_line(
  struct buf *out,
  const char *metric_namespace,
  const struct report *r,
  size_t index,
  int64_t timestamp_ms) SV_MUST_CHECK;

/* The value of the named metric in the set, or -1 when the set has no such metric (tests, logs). */
double metrics_value(const struct metrics_set *m, const char *name);

/* The one PutMetricData call: every metric of the set with Service=Backup. */
enum err metrics_put_request(struct query_params *q, const char *metric_namespace, const struct metrics_set *m)
  SV_MUST_CHECK;

/*
 * The same metrics as one CloudWatch Embedded Metric Format object (no newline), timestamped `timestamp_ms`,
 * with the run id as the non-metric property "run_id" (searchable in Logs Insights).
 */
enum err metrics_emf_line(
  struct buf *out,
  const char *metric_namespace,
  const struct metrics_set *m,
  int64_t timestamp_ms,
  const char *run_id) SV_MUST_CHECK;

/* The set as a flat JSON object {"SnapshotsCreated":0,...} for log lines. */
enum err metrics_json(const struct metrics_set *m, struct buf *out) SV_MUST_CHECK;

#endif
