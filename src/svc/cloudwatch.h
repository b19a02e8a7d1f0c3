/*
 * cloudwatch.h - the two ways SmartVault hands metrics to CloudWatch: the PutMetricData call and the Embedded
 * Metric Format (EMF) log line. Both are wire formats only; which metrics, and when, is backup/metrics' job.
 *
 * PutMetricData speaks the Query protocol (API version 2010-08-01), with an empty XML response on success.
 * Limits quoted from the CloudWatch API Reference, PutMetricData: "Each PutMetricData request is limited to
 * 1 MB in size for HTTP POST requests. You can send a payload compressed by gzip. Each request is also limited
 * to no more than 1000 different metrics." and "You can use up to 30 dimensions per metric". Values are
 * doubles; "Values that are too large or too small are truncated" to 8.515920e-109..1.174271e+108, and NaN /
 * infinities are rejected — the builder refuses them rather than have the call fail.
 *
 * EMF (CloudWatch Logs, "Specification: Embedded metric format"): one JSON object per log event,
 *   {"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":"..","Dimensions":[["Service"]],
 *    "Metrics":[{"Name":"..","Unit":".."}]}]},"Service":"Backup","SnapshotsCreated":0}
 * where every dimension and metric named in the directive is a member of the root object. "A
 * CloudWatchMetrics directive can contain up to 100 metrics" and a dimension set "up to 30 dimension keys".
 */
#ifndef SV_SVC_CLOUDWATCH_H
#define SV_SVC_CLOUDWATCH_H

#include "aws/query.h"
#include "base/buf.h"
#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define CLOUDWATCH_API_VERSION "2010-08-01"
#define CLOUDWATCH_MAX_METRICS_PER_CALL 1000
#define CLOUDWATCH_MAX_REQUEST_BYTES ((size_t) 1024 * 1024)
#define CLOUDWATCH_MAX_DIMENSIONS 30
#define CLOUDWATCH_EMF_MAX_METRICS 100
/* Longest formatted value: "%.17g" of a double is at most 24 characters. */
#define CLOUDWATCH_VALUE_MAX 32

struct cloudwatch_dimension {
    const char *name;
    const char *value;
};

struct cloudwatch_metric {
    const char *name;
    const char *unit; /* a CloudWatch StandardUnit: "Count", "Seconds", "Bytes", ... */
    double value;
};

/*
 * PutMetricData parameters: Namespace, then MetricData.member.N.{MetricName,Value,Unit} with every dimension
 * on every metric. No Timestamp: CloudWatch stamps the data when it arrives, which is what an alarm on "the
 * last run" wants (a SMARTVAULT_NOW far from the real clock would otherwise be rejected).
 * ERR_INVALID for no metrics, a NULL name, or a non-finite value; ERR_LIMIT past the metric or dimension limits,
 * or past QUERY_MAX_PARAMS parameters in all (1000 metrics fit with no dimension; SmartVault sends 8 with one).
 */
enum err cloudwatch_put_metric_data_request(
  struct query_params *q,
  const char *metric_namespace,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics) SV_MUST_CHECK;

/*
 * Appends more MetricData members (numbered from *next, which is advanced) with their own dimensions, after
 * cloudwatch_put_metric_data_request: one request can carry metrics of several dimension sets (per-target
 * metrics of a multi-account run). Same rules and limits as above, counted over the whole request.
 */
enum err cloudwatch_put_metric_data_add(
  struct query_params *q,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics,
  size_t *next) SV_MUST_CHECK;

/* A metric value as sent: the shortest of %.15g..%.17g that reads back as the same double ("0", "12.5"). */
void cloudwatch_format_value(double v, char out[CLOUDWATCH_VALUE_MAX]);

/* A non-metric member of an EMF line (searchable in Logs Insights, not a metric): a string value. */
struct cloudwatch_property {
    const char *name;
    const char *value;
};

/*
 * Appends one EMF JSON object (no newline) to out: one directive with one dimension set (all of `dims`), the
 * dimension values, the metric values, then `props`. Property names must not repeat a dimension or metric
 * name (EMF reads them from the same root object): ERR_INVALID. Same value rules and ERR_LIMIT (100 metrics)
 * as above; the buffer's own sticky error is returned too.
 */
enum err cloudwatch_emf_write(
  struct buf *out,
  int64_t timestamp_ms,
  const char *metric_namespace,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics,
  const struct cloudwatch_property *props,
  size_t nprops) SV_MUST_CHECK;

#endif
