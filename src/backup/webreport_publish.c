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
#include "backup/cycle.h"
#include "backup/webreport.h"
#include "base/log.h"
#include "base/time.h"
#include "svc/s3.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WEBREPORT_LINK_MAX_S ((uint32_t) 7 * 24 * 3600) /* SigV4: presigned URLs live at most seven days */
#define WEBREPORT_LINK_URL_MAX ((size_t) 16 * 1024)
#define WEBREPORT_MESSAGE_MAX (AWS_ERROR_MESSAGE_MAX + 512)

static const char *const s_effect = "reporting only: the cycle's own results are unchanged; the exit code is 1";

static void s_model(struct cycle *cy, struct webreport *w) {
    const struct cycle_fleet *f = &cy->fleet;
    struct webreport_input in = {
        .cfg = cy->cfg,
        .account = cy->aws ? aws_client_account_id(cy->aws) : NULL,
        .source_region = cy->cfg->source_region,
        .now_s = cy->now_s,
        .instances = f->instances,
        .ninstances = f->ninstances,
        .src = f->src_listed ? &f->src : NULL,
        .dst = f->dst_listed ? &f->dst : NULL,
        .dst_failed = cy->cfg->dest_region != NULL && !f->dst_listed,
        .report = cy->report->ebs_ran || cy->report->s3_ran ? cy->report : NULL,
        .outcome = report_has_failures(cy->report) ? "partial" : "ok",
    };
    webreport_build(cy->arena, &in, w);
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

static void s_link(struct cycle *cy, const char *key, struct cycle_page_link *link) {
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

enum err webreport_publish(struct cycle *cy, struct cycle_page_link *link) {
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
