/*
 * webreport_publish.c - the coverage page of a cycle: the model from the EBS job's listings (cy->fleet) and the
 * report, rendered (backup/webreport_render.c) and put to S3 as <prefix>index.html and <prefix>report.json, then
 * a presigned GET link for the SNS summary; or, for `smartvault report`, written to local files.
 *
 * S3: both objects are put concurrently with Content-Type (text/html; charset=utf-8, application/json),
 * Cache-Control: no-cache (each run replaces them) and SSE-S3 (x-amz-server-side-encryption: AES256), so a
 * bucket policy that requires encryption accepts them and no public access is ever needed. The report bucket
 * is in the source region (the CloudFormation stack creates it there).
 *
 * The link: valid for seven days (the SigV4 maximum) or until the credentials that sign it expire, whichever is
 * first (aws_presign_s3_get_url says how long). A task role's credentials last hours, so the SNS summary says
 * when the link stops working and how to open the page after that. Not being able to presign is a warning: the
 * page is written and the summary gives its location.
 *
 * What it does not do: decide anything about volumes (webreport.c) or write HTML (webreport_render.c).
 */
#include "backup/webreport_publish.h"

#include "backup/webreport.h"
#include "backup/webreport_calendar.h"
#include "base/log.h"
#include "base/time.h"
#include "svc/dynamodb.h"
#include "svc/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBREPORT_LINK_MAX_S ((uint32_t) 7 * 24 * 3600) /* SigV4: presigned URLs live at most seven days */
#define WEBREPORT_LINK_URL_MAX ((size_t) 16 * 1024)
#define WEBREPORT_MESSAGE_MAX (AWS_ERROR_MESSAGE_MAX + 512)

static const char *const s_effect = "reporting only: the cycle's own results are unchanged; the exit code is 1";

/* ---- the run index in the audit table: the page's "last runs" ---- */

/* One item per run under one partition key, so the last runs are one Query (newest first), not a table scan. */
#define WEBREPORT_RUNS_PK "smartvault#runs"
#define WEBREPORT_RUN_ATTRS 24

static const char *s_table_region(const struct cfg *cfg) {
    return cfg->dynamodb_table_region ? cfg->dynamodb_table_region : cfg->source_region;
}

/* The counts as N attributes, named as in cycle.done. */
static size_t s_count_attrs(struct arena *a, const struct report_counts *c, struct dynamodb_attr *out) {
    const struct {
        const char *name;
        uint64_t v;
    } f[] = { { "instances_seen", c->instances_seen },
              { "snapshots_created", c->snapshots_created },
              { "snapshots_copied", c->snapshots_copied },
              { "snapshots_deleted", c->snapshots_deleted },
              { "skipped", c->skipped },
              { "failures", c->failures },
              { "s3_objects_copied", c->s3_objects_copied },
              { "s3_bytes_copied", c->s3_bytes_copied },
              { "s3_failed", c->s3_failed } };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        out[i] = (struct dynamodb_attr){ .name = f[i].name,
                                         .type = DYNAMODB_N,
                                         .text = arena_printf(a, "%llu", (unsigned long long) f[i].v) };
    }
    return sizeof(f) / sizeof(f[0]);
}

enum err webreport_record_run(struct cycle *cy) {
    const struct cfg *cfg = cy->cfg;
    const struct report *r = cy->report;
    char start[TIME_ISO8601_LEN + 5];
    time_format_iso8601_ms(r->start_ms, start);
    struct report_counts c = report_counts(r);
    struct dynamodb_attr attrs[WEBREPORT_RUN_ATTRS];
    size_t n = 0;
    attrs[n++] = (struct dynamodb_attr){ .name = "pk", .type = DYNAMODB_S, .text = WEBREPORT_RUNS_PK };
    attrs[n++] = (struct dynamodb_attr){ .name = "sk",
                                         .type = DYNAMODB_S,
                                         .text = arena_printf(cy->arena, "%s#%s", start, r->run_id) };
    attrs[n++] = (struct dynamodb_attr){ .name = "run_id", .type = DYNAMODB_S, .text = r->run_id };
    attrs[n++] = (struct dynamodb_attr){ .name = "outcome",
                                         .type = DYNAMODB_S,
                                         .text = report_has_failures(r) ? "partial" : "ok" };
    attrs[n++] = (struct dynamodb_attr){ .name = "started_ms",
                                         .type = DYNAMODB_N,
                                         .text = arena_printf(cy->arena, "%lld", (long long) r->start_ms) };
    attrs[n++] = (struct dynamodb_attr){ .name = "duration_ms",
                                         .type = DYNAMODB_N,
                                         .text = arena_printf(cy->arena, "%lld", (long long) r->wall_ms) };
    attrs[n++] = (struct dynamodb_attr){
        .name = "expires_at",
        .type = DYNAMODB_N,
        .text =
          arena_printf(cy->arena, "%lld", (long long) (time_wall_ms() / 1000 + (int64_t) cfg->audit_ttl_days * 86400))
    };
    n += s_count_attrs(cy->arena, &c, attrs + n);
    struct dynamodb_item item = { attrs, n };
    const struct dynamodb_item *items[1] = { &item };
    struct buf body;
    buf_init(&body, BUF_MAX_SMALL * 4);
    enum err e = dynamodb_batch_write_body(&body, cfg->dynamodb_table, items, 1);
    struct aws_request req = { .service = ENDPOINT_DYNAMODB,
                               .region = s_table_region(cfg),
                               .operation = "BatchWriteItem",
                               .target = DYNAMODB_TARGET_BATCH_WRITE_ITEM,
                               .body = buf_span(&body) };
    if (e == ERR_OK) {
        e = aws_run_one(cy->aws, &req);
    }
    if (e != ERR_OK) {
        /* The page's run history only: a warning, the audit items of the run were written (or reported). */
        LOG(
          LOG_WARN,
          "report.run_index_failed",
          LF_S("table", cfg->dynamodb_table),
          LF_S("aws_code", req.error.code[0] ? req.error.code : err_name(e)),
          LF_S("effect", "this run is missing from the coverage page's last runs"));
    }
    aws_request_free(&req);
    buf_free(&body);
    return e;
}

static void s_run_from_item(struct arena *a, const struct dynamodb_item *it, struct webreport_run *out) {
    const char *v;
    memset(out, 0, sizeof(*out));
    out->run_id = dynamodb_item_text(it, "run_id");
    out->outcome = dynamodb_item_text(it, "outcome");
    out->start_ms = (v = dynamodb_item_text(it, "started_ms")) ? strtoll(v, NULL, 10) : 0;
    out->duration_ms = (v = dynamodb_item_text(it, "duration_ms")) ? strtoll(v, NULL, 10) : -1;
    struct report_counts *c = &out->counts;
    struct {
        const char *name;
        uint64_t *dst;
    } f[] = { { "snapshots_created", &c->snapshots_created },
              { "snapshots_copied", &c->snapshots_copied },
              { "snapshots_deleted", &c->snapshots_deleted },
              { "failures", &c->failures },
              { "s3_objects_copied", &c->s3_objects_copied } };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        *f[i].dst = (v = dynamodb_item_text(it, f[i].name)) ? strtoull(v, NULL, 10) : 0;
    }
    out->run_id = out->run_id ? out->run_id : "?";
    out->outcome = out->outcome ? out->outcome : "?";
    (void) a;
}

/* The last runs, newest first: this one (from the report) and the earlier ones from the audit table. */
static void s_runs(struct cycle *cy, struct webreport_run **runs, size_t *nruns) {
    const struct cfg *cfg = cy->cfg;
    bool this_run = cy->report->ebs_ran || cy->report->s3_ran;
    *runs = ARENA_NEW_ARRAY(cy->arena, struct webreport_run, WEBREPORT_RUNS_MAX + 1);
    *nruns = 0;
    if (this_run) {
        struct webreport_run *r = &(*runs)[(*nruns)++];
        *r = (struct webreport_run){ .run_id = cy->report->run_id,
                                     .start_ms = cy->report->start_ms,
                                     .outcome = report_has_failures(cy->report) ? "partial" : "ok",
                                     .duration_ms = cy->report->wall_ms,
                                     .counts = report_counts(cy->report) };
    }
    if (cfg->dynamodb_table == NULL) {
        *nruns = 0; /* only this run: the page says so */
        return;
    }
    struct buf body;
    buf_init(&body, BUF_MAX_SMALL);
    enum err e = dynamodb_query_body(&body, cfg->dynamodb_table, "pk", WEBREPORT_RUNS_PK, WEBREPORT_RUNS_MAX, false);
    struct aws_request req = { .service = ENDPOINT_DYNAMODB,
                               .region = s_table_region(cfg),
                               .operation = "Query",
                               .target = DYNAMODB_TARGET_QUERY,
                               .body = buf_span(&body) };
    const struct json_value *root = NULL;
    struct dynamodb_item *items = NULL;
    size_t n = 0;
    if (
      e == ERR_OK && (e = aws_run_one(cy->aws, &req)) == ERR_OK &&
      (e = aws_response_json(&req, cy->arena, &root)) == ERR_OK) {
        e = dynamodb_query_parse(cy->arena, root, &items, &n);
    }
    if (e != ERR_OK) {
        LOG(
          LOG_WARN,
          "report.page_runs_unavailable",
          LF_S("table", cfg->dynamodb_table),
          LF_S("aws_code", req.error.code[0] ? req.error.code : err_name(e)),
          LF_S("effect", "the coverage page lists no earlier runs"));
    }
    for (size_t i = 0; i < n && *nruns < WEBREPORT_RUNS_MAX; i++) {
        struct webreport_run run;
        s_run_from_item(cy->arena, &items[i], &run);
        if (!this_run || strcmp(run.run_id, cy->report->run_id) != 0) {
            (*runs)[(*nruns)++] = run;
        }
    }
    aws_request_free(&req);
    buf_free(&body);
}

void webreport_keep_target_fleet(struct cycle *hub, struct cycle *target, const char *account_id) {
    struct cycle_fleet *f = ARENA_NEW(hub->arena, struct cycle_fleet);
    *f = target->fleet; /* the listings move: the hub frees them (job_fleet_free), the target's are left empty */
    memset(&target->fleet.src, 0, sizeof(target->fleet.src));
    memset(&target->fleet.dst, 0, sizeof(target->fleet.dst));
    f->account = arena_strndup(hub->arena, account_id ? account_id : "", account_id ? strlen(account_id) : 0);
    f->region = arena_strndup(hub->arena, target->cfg->source_region, strlen(target->cfg->source_region));
    f->dest_region = target->cfg->dest_region
                       ? arena_strndup(hub->arena, target->cfg->dest_region, strlen(target->cfg->dest_region))
                       : NULL;
    f->next = NULL;
    struct cycle_fleet **tail = &hub->fleet.next;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = f;
}

static struct webreport_part
s_part(const struct cycle_fleet *f, const char *account, const char *region, const char *dest) {
    return (struct webreport_part){ .account = account,
                                    .region = region,
                                    .dest_region = dest,
                                    .instances = f->instances,
                                    .ninstances = f->ninstances,
                                    .src = f->src_listed ? &f->src : NULL,
                                    .dst = f->dst_listed ? &f->dst : NULL,
                                    .dst_failed = dest != NULL && !f->dst_listed };
}

/* The (account, region) parts: the targets' listings in a multi-target run, else the run's own. */
static size_t s_parts(struct cycle *cy, struct webreport_part **parts) {
    size_t n = 0;
    for (const struct cycle_fleet *f = cy->fleet.next; f != NULL; f = f->next) {
        n++;
    }
    *parts = ARENA_NEW_ARRAY(cy->arena, struct webreport_part, n ? n : 1);
    if (n == 0) {
        const char *account = cy->aws ? aws_client_account_id(cy->aws) : NULL;
        (*parts)[0] = s_part(&cy->fleet, account, cy->cfg->source_region, cy->cfg->dest_region);
        return 1;
    }
    n = 0;
    for (const struct cycle_fleet *f = cy->fleet.next; f != NULL; f = f->next) {
        (*parts)[n++] = s_part(f, f->account, f->region, f->dest_region);
    }
    return n;
}

/*
 * The model; with DYNAMODB_TABLE the calendar's history is read first (per part), and after the build the days
 * this run knows more about are written back (not in a dry run or `smartvault report`).
 */
static void s_model(struct cycle *cy, struct webreport *w) {
    struct webreport_run *runs = NULL;
    size_t nruns = 0;
    s_runs(cy, &runs, &nruns);
    struct webreport_part *parts = NULL;
    size_t nparts = s_parts(cy, &parts);
    bool table = cy->cfg->dynamodb_table != NULL;
    bool *read = ARENA_NEW_ARRAY(cy->arena, bool, nparts);
    for (size_t i = 0; table && i < nparts; i++) {
        struct webreport_history_day *h = NULL;
        read[i] = webreport_calendar_read(cy, parts[i].account, parts[i].region, &h, &parts[i].nhistory) == ERR_OK;
        parts[i].history = read[i] ? h : NULL;
    }
    struct webreport_input in = {
        .cfg = cy->cfg,
        .account = nparts == 1 ? parts[0].account : NULL,
        .source_region = cy->cfg->source_region,
        .now_s = cy->now_s,
        .report = cy->report->ebs_ran || cy->report->s3_ran ? cy->report : NULL,
        .outcome = report_has_failures(cy->report) ? "partial" : "ok",
        .runs = runs,
        .nruns = nruns,
        .parts = parts,
        .nparts = nparts,
    };
    webreport_build(cy->arena, &in, w);
    /* A day is rewritten as the union of what is stored and what the run saw: never without having read it. */
    for (size_t i = 0; table && !cy->dry_run && i < nparts; i++) {
        if (!read[i]) {
            continue;
        }
        size_t written = 0;
        enum err e = webreport_calendar_write(
          cy, w, parts[i].account, parts[i].region, parts[i].history, parts[i].nhistory, &written);
        LOG(
          LOG_INFO,
          "report.calendar",
          LF_S("region", parts[i].region),
          LF_U("history", parts[i].nhistory),
          LF_U("items_written", written),
          LF_S("error", e == ERR_OK ? NULL : err_name(e)));
    }
}

/* The page and the JSON; ERR_LIMIT past WEBREPORT_PAGE_MAX (a fleet far beyond the 100,000-snapshot quota). */
static enum err s_render(struct cycle *cy, struct buf *html, struct buf *json, struct webreport *w) {
    s_model(cy, w);
    buf_init(html, WEBREPORT_PAGE_MAX);
    buf_init(json, WEBREPORT_PAGE_MAX);
    enum err e = webreport_html(w, html);
    return e != ERR_OK ? e : webreport_json(w, json);
}

static enum err s_write_file(const char *path, const struct buf *b) {
    FILE *f = fopen(path, "wb");
    ENSURE(f != NULL, ERR_IO, "%s: %s", path, strerror(errno));
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = (fclose(f) == 0) && ok;
    ENSURE(ok, ERR_IO, "%s: write failed", path);
    return ERR_OK;
}

enum err webreport_write_files(struct cycle *cy, const char *html_path, const char *json_path) {
    struct buf html, json;
    struct webreport w;
    enum err e = s_render(cy, &html, &json, &w);
    if (e == ERR_OK) {
        e = s_write_file(html_path, &html);
    }
    if (e == ERR_OK && json_path != NULL) {
        e = s_write_file(json_path, &json);
    }
    if (e == ERR_OK) {
        LOG(
          LOG_INFO,
          "report.page",
          LF_S("file", html_path),
          LF_S("json_file", json_path),
          LF_U("bytes", html.len),
          LF_U("json_bytes", json.len),
          LF_U("volumes", w.nvolumes),
          LF_U("problems", w.problems),
          LF_U("failures", report_counts(cy->report).failures));
    } else {
        LOG(LOG_ERROR, "report.page_failed", LF_S("file", html_path), LF_S("error", err_last()->msg));
    }
    buf_free(&html);
    buf_free(&json);
    return e;
}

/* A failure of this step: one REPORT_FAILED item of job reporting and one error line (as publish.c does). */
static void s_fail(struct cycle *cy, const char *code, const char *request_id, const char *message) {
    struct report_item it = { .action = REPORT_FAILED,
                              .job = REPORT_JOB_REPORTING,
                              .ts_ms = time_wall_ms(),
                              .region = cy->cfg->source_region,
                              .bucket = cy->cfg->report_bucket,
                              .aws_code = code,
                              .message = message };
    report_add(cy->report, &it);
    LOG(
      LOG_ERROR,
      "report.page_failed",
      LF_S("bucket", cy->cfg->report_bucket),
      LF_S("aws_code", code),
      LF_S("request_id", request_id && request_id[0] ? request_id : NULL),
      LF_S("message", message),
      LF_S("effect", s_effect));
}

static enum err s_put_request(
  struct cycle *cy,
  struct aws_request *r,
  const char *key,
  const char *content_type,
  const struct buf *body) {
    const struct cfg *cfg = cy->cfg;
    s3_request_init(r, "PutObject", "PUT", cfg->source_region, cfg->report_bucket, span_from_cstr(key));
    r->body = buf_span(body);
    TRY(s3_request_header(r, "Content-Type", content_type));
    TRY(s3_request_header(r, "Cache-Control", "no-cache"));
    return s3_request_header(r, "x-amz-server-side-encryption", "AES256");
}

/* Both objects; the first failure is recorded (with its AWS code) and returned. */
static enum err s_put(struct cycle *cy, const struct buf *html, const struct buf *json, const char *keys[2]) {
    struct aws_request reqs[2];
    enum err e = s_put_request(cy, &reqs[0], keys[0], "text/html; charset=utf-8", html);
    if (e == ERR_OK) {
        e = s_put_request(cy, &reqs[1], keys[1], "application/json", json);
    }
    struct aws_request *run[2] = { &reqs[0], &reqs[1] };
    if (e == ERR_OK) {
        e = aws_run(cy->aws, run, 2);
    }
    if (e != ERR_OK) {
        s_fail(cy, err_name(e), NULL, "S3 PutObject of the coverage page: the request could not be made");
        return e;
    }
    for (size_t i = 0; i < 2 && e == ERR_OK; i++) {
        struct aws_request *r = &reqs[i];
        if (r->result != ERR_OK) {
            char msg[WEBREPORT_MESSAGE_MAX];
            snprintf(
              msg,
              sizeof(msg),
              "S3 PutObject to s3://%s/%s: %s",
              cy->cfg->report_bucket,
              keys[i],
              r->error.message[0] ? r->error.message : err_name(r->result));
            s_fail(cy, r->error.code[0] ? r->error.code : err_name(r->result), r->error.request_id, msg);
            e = r->result;
        }
    }
    aws_request_free(&reqs[0]);
    aws_request_free(&reqs[1]);
    return e;
}

static void s_link(struct cycle *cy, const char *key, struct webreport_page_link *link) {
    const struct cfg *cfg = cy->cfg;
    link->location = arena_printf(cy->arena, "s3://%s/%s", cfg->report_bucket, key);
    struct buf url;
    buf_init(&url, WEBREPORT_LINK_URL_MAX);
    uint32_t expires_s = 0;
    enum err e = aws_presign_s3_get_url(
      cy->aws, cfg->source_region, cfg->report_bucket, span_from_cstr(key), WEBREPORT_LINK_MAX_S, &url, &expires_s);
    if (e == ERR_OK) {
        link->url = arena_strndup(cy->arena, url.data, url.len);
        link->expires_at = aws_client_now_s(cy->aws) + expires_s;
    } else {
        LOG(
          LOG_WARN,
          "report.page_link_failed",
          LF_S("location", link->location),
          LF_S("error", err_last()->msg),
          LF_S("effect", "the SNS summary gives the page's location without a link"));
    }
    buf_free(&url);
}

enum err webreport_publish(struct cycle *cy, struct webreport_page_link *link) {
    const struct cfg *cfg = cy->cfg;
    memset(link, 0, sizeof(*link));
    struct buf html, json;
    struct webreport w;
    const char *keys[2] = { arena_printf(cy->arena, "%sindex.html", cfg->report_prefix),
                            arena_printf(cy->arena, "%sreport.json", cfg->report_prefix) };
    enum err e = s_render(cy, &html, &json, &w);
    if (e != ERR_OK) {
        s_fail(cy, err_name(e), NULL, "the coverage page could not be rendered (larger than its maximum)");
    } else if (cy->dry_run) {
        LOG(
          LOG_INFO,
          "report.page_dry_run",
          LF_S("bucket", cfg->report_bucket),
          LF_S("key", keys[0]),
          LF_U("bytes", html.len),
          LF_U("json_bytes", json.len),
          LF_U("volumes", w.nvolumes));
    } else if ((e = s_put(cy, &html, &json, keys)) == ERR_OK) {
        s_link(cy, keys[0], link);
        LOG(
          LOG_INFO,
          "report.page",
          LF_S("bucket", cfg->report_bucket),
          LF_S("key", keys[0]),
          LF_S("json_key", keys[1]),
          LF_U("bytes", html.len),
          LF_U("json_bytes", json.len),
          LF_U("volumes", w.nvolumes),
          LF_U("problems", w.problems),
          LF_I("link_expires_in_s", link->url ? link->expires_at - aws_client_now_s(cy->aws) : 0));
    }
    buf_free(&html);
    buf_free(&json);
    return e;
}
