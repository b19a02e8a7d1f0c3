/*
 * cloudwatch.c - PutMetricData as a Query request, and the same metrics as one Embedded Metric Format line.
 *
 * What it does not do: choose metrics or their values (backup/metrics), write the EMF line anywhere (the caller
 * prints it), sign, send or retry (aws/).
 */
#include "svc/cloudwatch.h"

#include "codec/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cloudwatch_format_value(double v, char out[CLOUDWATCH_VALUE_MAX]) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, CLOUDWATCH_VALUE_MAX, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v) {
            return;
        }
    }
}

static enum err s_check(
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics,
  size_t max_metrics) {
    ENSURE(nmetrics > 0, ERR_INVALID, "cloudwatch: no metrics");
    ENSURE(nmetrics <= max_metrics, ERR_LIMIT, "cloudwatch: %zu metrics, at most %zu", nmetrics, max_metrics);
    ENSURE(ndims <= CLOUDWATCH_MAX_DIMENSIONS, ERR_LIMIT, "cloudwatch: %zu dimensions, at most 30", ndims);
    for (size_t i = 0; i < ndims; i++) {
        ENSURE(dims[i].name && dims[i].value, ERR_INVALID, "cloudwatch: dimension %zu without name or value", i);
    }
    for (size_t i = 0; i < nmetrics; i++) {
        ENSURE(metrics[i].name != NULL, ERR_INVALID, "cloudwatch: metric %zu without a name", i);
        ENSURE(isfinite(metrics[i].value), ERR_INVALID, "cloudwatch: %s is not a finite number", metrics[i].name);
    }
    return ERR_OK;
}

enum err cloudwatch_put_metric_data_request(
  struct query_params *q,
  const char *metric_namespace,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics) {
    ENSURE(metric_namespace != NULL && metric_namespace[0], ERR_INVALID, "cloudwatch: no namespace");
    TRY(s_check(dims, ndims, metrics, nmetrics, CLOUDWATCH_MAX_METRICS_PER_CALL));
    /* Name, value, unit and a name/value pair per dimension for each metric, plus Namespace. */
    ENSURE(
      1 + nmetrics * (3 + 2 * ndims) <= QUERY_MAX_PARAMS - q->n,
      ERR_LIMIT,
      "cloudwatch: %zu metrics with %zu dimensions are more parameters than one request holds",
      nmetrics,
      ndims);
    query_add_cstr(q, "Namespace", metric_namespace);
    size_t next = 1;
    return cloudwatch_put_metric_data_add(q, dims, ndims, metrics, nmetrics, &next);
}

enum err cloudwatch_put_metric_data_add(
  struct query_params *q,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics,
  size_t *next) {
    TRY(s_check(dims, ndims, metrics, nmetrics, CLOUDWATCH_MAX_METRICS_PER_CALL + 1 - *next));
    ENSURE(
      nmetrics * (3 + 2 * ndims) <= QUERY_MAX_PARAMS - q->n,
      ERR_LIMIT,
      "cloudwatch: %zu metrics with %zu dimensions are more parameters than one request holds",
      nmetrics,
      ndims);
    for (size_t k = 0; k < nmetrics; k++) {
        const struct cloudwatch_metric *m = &metrics[k];
        size_t i = (*next)++;
        char value[CLOUDWATCH_VALUE_MAX];
        cloudwatch_format_value(m->value, value);
        query_addf(q, span_from_cstr(m->name), "MetricData.member.%zu.MetricName", i);
        query_addf(q, span_from_cstr(value), "MetricData.member.%zu.Value", i);
        if (m->unit != NULL) {
            query_addf(q, span_from_cstr(m->unit), "MetricData.member.%zu.Unit", i);
        }
        for (size_t d = 0; d < ndims; d++) {
            query_addf(q, span_from_cstr(dims[d].name), "MetricData.member.%zu.Dimensions.member.%zu.Name", i, d + 1);
            query_addf(q, span_from_cstr(dims[d].value), "MetricData.member.%zu.Dimensions.member.%zu.Value", i, d + 1);
        }
    }
    return ERR_OK;
}

static bool s_name_taken(
  const char *name,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics) {
    for (size_t i = 0; i < ndims; i++) {
        if (strcmp(dims[i].name, name) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < nmetrics; i++) {
        if (strcmp(metrics[i].name, name) == 0) {
            return true;
        }
    }
    return strcmp(name, "_aws") == 0;
}

enum err cloudwatch_emf_write(
  struct buf *out,
  int64_t timestamp_ms,
  const char *metric_namespace,
  const struct cloudwatch_dimension *dims,
  size_t ndims,
  const struct cloudwatch_metric *metrics,
  size_t nmetrics,
  const struct cloudwatch_property *props,
  size_t nprops) {
    ENSURE(metric_namespace != NULL && metric_namespace[0], ERR_INVALID, "cloudwatch: no namespace");
    TRY(s_check(dims, ndims, metrics, nmetrics, CLOUDWATCH_EMF_MAX_METRICS));
    for (size_t i = 0; i < nprops; i++) {
        ENSURE(props[i].name && props[i].value, ERR_INVALID, "emf: property %zu without name or value", i);
        ENSURE(
          !s_name_taken(props[i].name, dims, ndims, metrics, nmetrics),
          ERR_INVALID,
          "emf: property %s repeats a dimension or metric name",
          props[i].name);
    }
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "_aws");
    json_write_object_begin(&w);
    json_write_key(&w, "Timestamp");
    json_write_i64(&w, timestamp_ms);
    json_write_key(&w, "CloudWatchMetrics");
    json_write_array_begin(&w);
    json_write_object_begin(&w);
    json_write_key(&w, "Namespace");
    json_write_cstr(&w, metric_namespace);
    json_write_key(&w, "Dimensions");
    json_write_array_begin(&w);
    json_write_array_begin(&w);
    for (size_t i = 0; i < ndims; i++) {
        json_write_cstr(&w, dims[i].name);
    }
    json_write_array_end(&w);
    json_write_array_end(&w);
    json_write_key(&w, "Metrics");
    json_write_array_begin(&w);
    for (size_t i = 0; i < nmetrics; i++) {
        json_write_object_begin(&w);
        json_write_key(&w, "Name");
        json_write_cstr(&w, metrics[i].name);
        if (metrics[i].unit != NULL) {
            json_write_key(&w, "Unit");
            json_write_cstr(&w, metrics[i].unit);
        }
        json_write_object_end(&w);
    }
    json_write_array_end(&w);
    json_write_object_end(&w);
    json_write_array_end(&w);
    json_write_object_end(&w);
    for (size_t i = 0; i < ndims; i++) {
        json_write_key(&w, dims[i].name);
        json_write_cstr(&w, dims[i].value);
    }
    for (size_t i = 0; i < nmetrics; i++) {
        json_write_key(&w, metrics[i].name);
        json_write_double(&w, metrics[i].value);
    }
    for (size_t i = 0; i < nprops; i++) {
        json_write_key(&w, props[i].name);
        json_write_cstr(&w, props[i].value);
    }
    json_write_object_end(&w);
    return json_writer_finish(&w);
}
