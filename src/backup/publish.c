/*
 * publish.c - the reporting step of a cycle (DESIGN.md §2 step 7): the DynamoDB audit items, the CloudWatch
 * metrics and the SNS summary, each rendered from the report by its pure module (backup/audit, backup/metrics,
 * backup/notify) and sent through the request layer.
 *
 * Order: audit, then metrics, then the coverage page (REPORT_BUCKET, backup/webreport_publish.c), then SNS, whose
 * summary links to the page. Each channel reports the failures of the ones before it (the Errors
 * metric and the SNS "Errors" list include a failed audit write; the SNS message says when the metrics could not
 * be put), so the last message an operator reads is the most complete. A channel's own failure is in the
 * cycle.done line and the exit code.
 *
 * A failure to report is recorded in the report as one REPORT_FAILED item of job REPORT_JOB_REPORTING (so the
 * outcome is partial and the exit code 1) and logged as one `report.<channel>_failed` error line; nothing the
 * jobs recorded is changed or hidden. Channels are independent: one failing never skips the others.
 *
 * Dry run: everything is rendered, nothing is sent — no Publish, no PutMetricData, no BatchWriteItem and no EMF
 * line either (CloudWatch Logs would turn it into real metrics, and a dry run's counts are what *would* be done).
 * Instead one `report.<channel>_dry_run` line says what would be sent (subject and size, metric values, item
 * and batch counts); the SNS body itself is logged at debug level (rendered again within 40 KiB when it is larger,
 * since a log line holds 64 KiB).
 *
 * The duration in the metrics and the SNS body is report->wall_ms, which cycle.c sets just before this step:
 * the cycle's time up to reporting (reporting itself is in cycle.done's wall_ms).
 *
 * What it does not do: render anything itself, decide the exit code (main.c), or retry requests beyond the
 * request layer's policy — except DynamoDB's UnprocessedItems and throttled batches, which BatchWriteItem
 * leaves to the caller (backup/audit's rounds).
 */
#include "backup/publish.h"

#include "backup/audit_stream.h"
#include "backup/metrics.h"
#include "backup/notify.h"
#include "backup/webreport_publish.h"
#include "base/log.h"
#include "base/time.h"
#include "svc/dynamodb.h"
#include "svc/sns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failure line's message: "<what>: <AWS message>". */
#define PUBLISH_MESSAGE_MAX (AWS_ERROR_MESSAGE_MAX + 512)
/* The dry-run message in a debug line: below the logger's 64 KiB line limit, with room for JSON escapes. */
#define PUBLISH_LOG_MESSAGE_MAX ((size_t) 40 * 1024)
/* The SNS FIFO message group: one cycle at a time, in order. */
#define PUBLISH_SNS_GROUP_ID "smartvault"

static const char *const s_effect = "reporting only: the cycle's own results are unchanged; the exit code is 1";

/* A reporting step failed: one REPORT_FAILED item of job reporting, and one clear error line. */
static void s_fail(
  struct cycle *cy,
  const char *event,
  const char *region,
  const char *target,
  const char *code,
  const char *request_id,
  const char *message) {
    struct report_item it = { .action = REPORT_FAILED,
                              .job = REPORT_JOB_REPORTING,
                              .ts_ms = time_wall_ms(),
                              .region = region,
                              .aws_code = code,
                              .message = message };
    report_add(cy->report, &it);
    LOG(
      LOG_ERROR,
      event,
      LF_S("region", region),
      LF_S("target", target),
      LF_S("aws_code", code),
      LF_S("request_id", request_id && request_id[0] ? request_id : NULL),
      LF_S("message", message),
      LF_S("effect", s_effect));
}

/* A failed request: its AWS code (or error class) and "<what>: <message>". */
static void
s_fail_request(struct cycle *cy, const char *event, const char *target, const char *what, const struct aws_request *r) {
    char msg[PUBLISH_MESSAGE_MAX];
    snprintf(msg, sizeof(msg), "%s: %s", what, r->error.message[0] ? r->error.message : err_name(r->result));
    const char *code = r->error.code[0] ? r->error.code : err_name(r->result);
    s_fail(cy, event, r->region, target, code, r->error.request_id, msg);
}

/* ---- DynamoDB audit ---- */

/* Never silently: every item not written is logged whole enough to be written by hand. */
static void s_log_lost(const char *table, const struct audit_items *items) {
    for (size_t i = 0; i < items->n; i++) {
        const struct audit_item *it = &items->items[i];
        if (it->state != AUDIT_FAILED) {
            continue;
        }
        LOG(
          LOG_WARN,
          "report.audit_item_lost",
          LF_S("table", table),
          LF_S("pk", audit_attr(it, "pk")),
          LF_S("sk", it->sk),
          LF_S("action", audit_attr(it, "action")),
          LF_S("job", audit_attr(it, "job")),
          LF_S("region", audit_attr(it, "region")),
          LF_S("instance_id", audit_attr(it, "instance_id")),
          LF_S("volume_id", audit_attr(it, "volume_id")),
          LF_S("snapshot_id", audit_attr(it, "snapshot_id")),
          LF_S("source_snapshot_id", audit_attr(it, "source_snapshot_id")),
          LF_S("bucket", audit_attr(it, "bucket")),
          LF_S("key", audit_attr(it, "key")),
          LF_S("error_code", it->error_code));
    }
}

/* The items the stream has not written yet (the rest of the run's items), or all of them without a stream. */
static enum err s_audit(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    struct audit_dynamodb a;
    struct audit_sender sender;
    audit_dynamodb_init(cy, &a, &sender);
    struct audit_items all;
    struct audit_items *stream = audit_stream_end(cy);
    if (stream == NULL) {
        audit_build(cy->arena, cy->report, time_wall_ms() / 1000, cfg->audit_ttl_days, &all);
    }
    struct audit_items *items = stream ? stream : &all;
    if (cy->dry_run) {
        LOG(
          LOG_INFO,
          "report.audit_dry_run",
          LF_S("table", a.table),
          LF_S("region", a.region),
          LF_U("items", items->n),
          LF_U("batches", audit_batch_count(items->n)),
          LF_U("ttl_days", cfg->audit_ttl_days));
        return ERR_OK;
    }
    if (items->n == 0) {
        LOG(LOG_INFO, "report.audit", LF_S("table", a.table), LF_S("region", a.region), LF_U("items", 0));
        return ERR_OK;
    }
    struct audit_result streamed, res;
    audit_stream_totals(cy, &streamed);
    enum err e = audit_write(items, &sender, &res);
    LOG(
      res.lost ? LOG_WARN : LOG_INFO,
      "report.audit",
      LF_S("table", a.table),
      LF_S("region", a.region),
      LF_U("items", items->n),
      LF_U("written", audit_count(items, AUDIT_WRITTEN)),
      LF_U("streamed", streamed.written),
      LF_U("lost", res.lost),
      LF_U("batches", res.batches_sent + streamed.batches_sent),
      LF_U("rounds", res.rounds),
      LF_U("unprocessed", res.unprocessed + streamed.unprocessed),
      LF_U("resent", res.resent));
    if (e == ERR_OK) {
        return ERR_OK;
    }
    s_log_lost(a.table, items);
    char msg[PUBLISH_MESSAGE_MAX];
    snprintf(
      msg,
      sizeof(msg),
      "DynamoDB BatchWriteItem to %s: %zu of %zu audit items not written after %u round%s (each is logged as "
      "report.audit_item_lost)",
      a.table,
      res.lost,
      items->n,
      res.rounds,
      res.rounds == 1 ? "" : "s");
    s_fail(cy, "report.audit_failed", a.region, a.table, res.last_code ? res.last_code : err_name(e), NULL, msg);
    return e;
}

/* ---- CloudWatch metrics ---- */

static const char *s_metrics_mode_name(enum cfg_metrics_mode m) {
    switch (m) {
        case CFG_METRICS_API:
            return "api";
        case CFG_METRICS_EMF:
            return "emf";
        case CFG_METRICS_BOTH:
            return "both";
        case CFG_METRICS_OFF:
            return "off";
    }
    return "unknown";
}

/* The EMF line goes to stdout on its own, one line: CloudWatch Logs reads each log event as one EMF document. */
static enum err s_metrics_emf(struct cycle *cy, const struct metrics_set *m) {
    const struct cfg *cfg = cy->cfg;
    struct buf line;
    buf_init(&line, BUF_MAX_SMALL * 4);
    enum err e = metrics_emf_line(&line, cfg->metric_namespace, m, time_wall_ms(), cy->report->run_id);
    if (e == ERR_OK) {
        buf_append_char(&line, '\n');
        e = buf_status(&line);
    }
    if (e == ERR_OK && (fwrite(line.data, 1, line.len, stdout) != line.len || fflush(stdout) != 0)) {
        e = ERR_IO;
    }
    buf_free(&line);
    if (e != ERR_OK) {
        s_fail(
          cy,
          "report.metrics_failed",
          NULL,
          cfg->metric_namespace,
          err_name(e),
          NULL,
          "CloudWatch EMF: the metrics line could not be written to stdout");
    }
    return e;
}

static enum err s_metrics_api(struct cycle *cy, const struct metrics_set *m, struct span json) {
    const struct cfg *cfg = cy->cfg;
    struct arena_mark mark = arena_mark(cy->scratch);
    struct query_params q;
    query_init(&q, cy->scratch);
    enum err e = metrics_put_request(&q, cfg->metric_namespace, m);
    if (e != ERR_OK) {
        s_fail(
          cy,
          "report.metrics_failed",
          cfg->source_region,
          cfg->metric_namespace,
          err_name(e),
          NULL,
          "CloudWatch PutMetricData: the request could not be built");
        arena_rewind(cy->scratch, mark);
        return e;
    }
    struct aws_request r = {
        .service = ENDPOINT_CLOUDWATCH, .region = cfg->source_region, .operation = "PutMetricData", .params = &q
    };
    e = aws_run_one(cy->aws, &r);
    if (e == ERR_OK) {
        LOG(
          LOG_INFO,
          "report.metrics",
          LF_S("mode", "api"),
          LF_S("namespace", cfg->metric_namespace),
          LF_S("region", cfg->source_region),
          LF_RAW("metrics", json),
          LF_U("attempts", r.attempts));
    } else {
        char what[CFG_NAMESPACE_MAX + 64];
        snprintf(what, sizeof(what), "CloudWatch PutMetricData to namespace %s", cfg->metric_namespace);
        s_fail_request(cy, "report.metrics_failed", cfg->metric_namespace, what, &r);
    }
    aws_request_free(&r);
    arena_rewind(cy->scratch, mark);
    return e;
}

/* Multi-account runs: the per-target metrics (AccountId, Region), METRICS_TARGETS_PER_CALL targets per call. */
static enum err s_metrics_targets_api(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    const struct report *rep = cy->report;
    enum err first = ERR_OK;
    for (size_t i = 0; i < rep->ntargets; i += METRICS_TARGETS_PER_CALL) {
        size_t n = rep->ntargets - i < METRICS_TARGETS_PER_CALL ? rep->ntargets - i : METRICS_TARGETS_PER_CALL;
        struct arena_mark mark = arena_mark(cy->scratch);
        struct query_params q;
        query_init(&q, cy->scratch);
        enum err e = metrics_put_targets_request(&q, cfg->metric_namespace, rep, i, n);
        struct aws_request r = {
            .service = ENDPOINT_CLOUDWATCH, .region = cfg->source_region, .operation = "PutMetricData", .params = &q
        };
        if (e == ERR_OK && (e = aws_run_one(cy->aws, &r)) != ERR_OK) {
            s_fail_request(
              cy, "report.metrics_failed", cfg->metric_namespace, "CloudWatch PutMetricData (targets)", &r);
        } else if (e == ERR_OK) {
            LOG(LOG_INFO, "report.metrics_targets", LF_U("targets", n), LF_U("attempts", r.attempts));
        }
        aws_request_free(&r);
        arena_rewind(cy->scratch, mark);
        first = first != ERR_OK ? first : e;
    }
    return first;
}

static enum err s_metrics_targets_emf(struct cycle *cy) {
    const struct report *rep = cy->report;
    enum err e = ERR_OK;
    for (size_t i = 0; i < rep->ntargets && e == ERR_OK; i++) {
        struct buf line;
        buf_init(&line, BUF_MAX_SMALL * 4);
        e = metrics_emf_target_line(&line, cy->cfg->metric_namespace, rep, i, time_wall_ms());
        buf_append_char(&line, '\n');
        e = e != ERR_OK ? e : buf_status(&line);
        if (e == ERR_OK && (fwrite(line.data, 1, line.len, stdout) != line.len || fflush(stdout) != 0)) {
            e = ERR_IO;
        }
        buf_free(&line);
    }
    return e;
}

static enum err s_metrics(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    struct metrics_set m;
    metrics_from_report(cy->report, &m);
    struct buf json;
    buf_init(&json, BUF_MAX_SMALL);
    if (metrics_json(&m, &json) != ERR_OK) {
        buf_reset(&json);
        buf_append_cstr(&json, "{}");
    }
    enum err first = ERR_OK;
    if (cy->dry_run) {
        LOG(
          LOG_INFO,
          "report.metrics_dry_run",
          LF_S("mode", s_metrics_mode_name(cfg->metrics_mode)),
          LF_S("namespace", cfg->metric_namespace),
          LF_RAW("metrics", buf_span(&json)));
    } else {
        if (cfg->metrics_mode == CFG_METRICS_EMF || cfg->metrics_mode == CFG_METRICS_BOTH) {
            first = s_metrics_emf(cy, &m);
            first = first != ERR_OK ? first : s_metrics_targets_emf(cy);
        }
        if (cfg->metrics_mode == CFG_METRICS_API || cfg->metrics_mode == CFG_METRICS_BOTH) {
            enum err e = s_metrics_api(cy, &m, buf_span(&json));
            first = first != ERR_OK ? first : e;
            e = s_metrics_targets_api(cy);
            first = first != ERR_OK ? first : e;
        }
    }
    buf_free(&json);
    return first;
}

/* ---- SNS summary ---- */

static enum err s_sns(struct cycle *cy, const struct webreport_page_link *page) {
    const struct cfg *cfg = cy->cfg;
    char tag[CFG_TAG_KEY_MAX + CFG_TAG_VALUE_MAX + 2];
    snprintf(tag, sizeof(tag), "%s=%s", cfg->backup_tag.keys[0], cfg->backup_tag.value);
    struct notify_context nc = { .backup_tag = tag,
                                 .source_region = cfg->source_region,
                                 .dest_region = cfg->dest_region,
                                 .report_location = page->location,
                                 .report_url = page->url,
                                 .report_url_expires_at = page->expires_at };
    char subject[NOTIFY_SUBJECT_MAX + 1];
    notify_subject(cy->report, &nc, subject);
    struct buf body;
    buf_init(&body, NOTIFY_BODY_MAX_BYTES);
    enum err e = notify_body(cy->report, &nc, NOTIFY_BODY_MAX_BYTES, &body);
    if (e != ERR_OK) {
        s_fail(cy, "report.sns_failed", cfg->sns_topic_region, cfg->sns_topic_arn, err_name(e), NULL, err_last()->msg);
        buf_free(&body);
        return e;
    }
    if (cy->dry_run) {
        LOG(
          LOG_INFO,
          "report.sns_dry_run",
          LF_S("topic", cfg->sns_topic_arn),
          LF_S("subject", subject),
          LF_U("message_bytes", body.len));
        if (log_enabled(LOG_DEBUG)) {
            /* A log line holds 64 KiB: a bigger message is rendered again for the log, cut the same way. */
            bool cut = body.len > PUBLISH_LOG_MESSAGE_MAX;
            if (cut) {
                buf_reset(&body);
                if (notify_body(cy->report, &nc, PUBLISH_LOG_MESSAGE_MAX, &body) != ERR_OK) {
                    buf_reset(&body);
                }
            }
            LOG(LOG_DEBUG, "report.sns_dry_run_message", LF_B("cut_for_log", cut), LF_SP("message", buf_span(&body)));
        }
        buf_free(&body);
        return ERR_OK;
    }
    struct arena_mark mark = arena_mark(cy->scratch);
    struct query_params q;
    query_init(&q, cy->scratch);
    sns_publish_request(
      &q, cfg->sns_topic_arn, span_from_cstr(subject), buf_span(&body), PUBLISH_SNS_GROUP_ID, cy->report->run_id);
    struct aws_request r = {
        .service = ENDPOINT_SNS, .region = cfg->sns_topic_region, .operation = "Publish", .params = &q
    };
    e = aws_run_one(cy->aws, &r);
    if (e == ERR_OK) {
        struct span message_id = SPAN_NULL;
        const struct xml_node *root = NULL;
        if (
          aws_response_xml(&r, cy->scratch, &root) != ERR_OK ||
          sns_publish_parse(cy->scratch, root, &message_id) != ERR_OK) {
            message_id = SPAN_NULL; /* published (200), only the id is unknown */
        }
        LOG(
          LOG_INFO,
          "report.sns",
          LF_S("topic", cfg->sns_topic_arn),
          LF_SP("message_id", message_id),
          LF_S("subject", subject),
          LF_U("message_bytes", body.len),
          LF_U("attempts", r.attempts));
    } else {
        s_fail_request(cy, "report.sns_failed", cfg->sns_topic_arn, "SNS Publish to the summary topic", &r);
    }
    aws_request_free(&r);
    arena_rewind(cy->scratch, mark);
    buf_free(&body);
    return e;
}

/* ---- the step ---- */

static const char *s_state(bool configured, bool dry_run, enum err e) {
    if (!configured) {
        return "off";
    }
    if (dry_run) {
        return "dry_run";
    }
    return e == ERR_OK ? "ok" : "failed";
}

/* One reporting channel's outcome, for report.done. */
struct s_channel {
    const char *name;
    bool on;
    enum err e;
};

/* Logs report.done (audit, metrics, page, sns in that order) and returns the first failure. */
static enum err s_done(const struct cycle *cy, const struct s_channel ch[4]) {
    enum err first = ERR_OK;
    for (size_t i = 0; i < 4; i++) {
        first = first != ERR_OK ? first : ch[i].e;
    }
    LOG(
      first == ERR_OK ? LOG_INFO : LOG_WARN,
      "report.done",
      LF_S(ch[0].name, s_state(ch[0].on, cy->dry_run, ch[0].e)),
      LF_S(ch[1].name, s_state(ch[1].on, cy->dry_run, ch[1].e)),
      LF_S(ch[2].name, s_state(ch[2].on, cy->dry_run, ch[2].e)),
      LF_S(ch[3].name, s_state(ch[3].on, cy->dry_run, ch[3].e)));
    return first;
}

enum err publish_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    bool audit_on = cfg->dynamodb_table != NULL;
    bool metrics_on = cfg->metrics_mode != CFG_METRICS_OFF;
    bool sns_on = cfg->sns_topic_arn != NULL;
    bool page_on = cfg->report_bucket != NULL;
    enum err audit_e = audit_on ? s_audit(cy) : ERR_OK;
    /* The page's run index lives in the audit table: written only when there is a page to show it. */
    if (audit_on && page_on && !cy->dry_run && webreport_record_run(cy) != ERR_OK) {
        /* logged as report.run_index_failed: only the page's history misses this run */
    }
    enum err metrics_e = metrics_on ? s_metrics(cy) : ERR_OK;
    /* The page before SNS, so the summary can link to it. */
    struct webreport_page_link page = { 0 };
    enum err page_e = page_on ? webreport_publish(cy, &page) : ERR_OK;
    enum err sns_e = sns_on ? s_sns(cy, &page) : ERR_OK;
    const struct s_channel channels[] = {
        { "audit", audit_on, audit_e },
        { "metrics", metrics_on, metrics_e },
        { "page", page_on, page_e },
        { "sns", sns_on, sns_e },
    };
    return s_done(cy, channels);
}
