/*
 * webreport_render.c - the coverage page (HTML) and report.json, written from the model of backup/webreport.
 *
 * The page is fixed markup from this file with values in between; every value that came from AWS (tag values,
 * ids, error codes and messages, bucket names, keys) goes through codec/html, every value in report.json
 * through the JSON string writer. Values are only ever placed in element text or double-quoted attributes,
 * never in a script, a style, a URL or an event handler. The style and the script are constants; the
 * Content-Security-Policy names them by their SHA-256, computed here from the very bytes written, so the policy
 * and the page cannot drift apart, and nothing else (no other script, no style attribute, no image, font,
 * frame or connection) is allowed.
 *
 * What it does not do: decide what a volume's state is (webreport.c), talk to S3 (publish.c) or read a clock.
 */
#include "aws/sigv4.h"
#include "backup/webreport.h"
#include "codec/html.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

#define R_MINUTE 60
#define R_HOUR 3600
#define R_DAY 86400
#define R_NO_AGE 999999999999LL /* sort key of "never" */
#define R_BASE64_SHA256_LEN 44

/* Printable, phone and print friendly; no url(), no @import, no fonts: nothing to fetch. */
static const char s_style[] =
  ":root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--mut:#57606a;--line:#d0d7de}"
  "*{box-sizing:border-box}body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;"
  "padding:16px;color:#1f2328;background:#fff}h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
  ".sub,.mut,footer{color:var(--mut)}dl.kpi{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));"
  "gap:8px;margin:12px 0}dl.kpi div{border:1px solid var(--line);border-radius:6px;padding:8px}dt{color:var(--mut);"
  "font-size:12px}dd{margin:0;font-size:18px;font-weight:600}.ok dd{color:var(--ok)}.bad dd{color:var(--bad)}"
  ".warn dd{color:var(--warn)}.wrap{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;"
  "padding:3px 6px;border-bottom:1px solid var(--line);white-space:nowrap}thead th{position:sticky;top:0;"
  "background:#f6f8fa}th[tabindex]{cursor:pointer}tr.g th{background:#eef1f4}tr.p td:first-child{color:var(--bad);"
  "font-weight:600}tr.v td:first-child{color:var(--ok)}tr.p td:first-child{color:var(--bad)}h3{font-size:14px;"
  "margin:12px 0 6px}summary{cursor:pointer;font-weight:600;margin:12px 0 6px}td.m{white-space:normal;"
  "max-width:40em;word-break:break-word}svg{width:150px;height:14px;display:block;background:repeating-linear-gradient"
  "(90deg,#eaeef2 0 4px,#fff 4px 5px)}.s{fill:var(--ok)}.d{fill:#0969da}.lg i{display:inline-block;width:10px;"
  "height:10px;margin:0 4px 0 12px}.lg .s1{background:var(--ok)}.lg .d1{background:#0969da}#f{margin:0 0 8px;"
  "padding:4px 8px;width:min(100%,320px)}@media(max-width:700px){body{padding:8px}.h1,.h2{display:none}}"
  "@media print{#f{display:none}thead th{position:static}body{padding:0}svg{print-color-adjust:exact;"
  "-webkit-print-color-adjust:exact}tr{break-inside:avoid}}";

/* Sorting by a column (numbers by data-v) and filtering by text; the rows are already problems-first without it. */
static const char s_script[] =
  "(function(){var d=document,f=d.getElementById('f'),h=d.getElementById('healthy'),"
  "ts=[].slice.call(d.querySelectorAll('table.vol'));if(!f||!ts.length)return;f.hidden=false;"
  "var rows=function(b){return[].slice.call(b.querySelectorAll('tr.v'))};"
  "f.oninput=function(){var q=f.value.toLowerCase();if(h&&q)h.open=true;ts.forEach(function(t){"
  "[].forEach.call(t.tBodies,function(b){rows(b).forEach(function(r){"
  "r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0})})})};"
  "addEventListener('beforeprint',function(){if(h)h.open=true});"
  "ts.forEach(function(t){var hs=t.tHead.rows[0].cells;[].forEach.call(hs,function(th,i){th.tabIndex=0;"
  "th.onclick=th.onkeydown=function(e){if(e.type==='keydown'&&e.key!=='Enter')return;"
  "var a=th.getAttribute('aria-sort')!=='ascending';[].forEach.call(hs,function(x){x.removeAttribute('aria-sort')});"
  "th.setAttribute('aria-sort',a?'ascending':'descending');[].forEach.call(t.tBodies,function(b){var rs=rows(b);"
  "rs.sort(function(x,y){var p=x.cells[i],q=y.cells[i],u=p.getAttribute('data-v'),w=q.getAttribute('data-v'),"
  "c=u!==null&&w!==null?u-w:p.textContent.localeCompare(q.textContent);return a?c:-c});"
  "rs.forEach(function(r){b.appendChild(r)})})}})})})();";

/* ---- small writers ---- */

static void s_base64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned) in[i] << 16 | (i + 1 < n ? (unsigned) in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* 'sha256-<base64>' of a constant, as CSP wants it. */
static void s_csp_hash(const char *text, char out[R_BASE64_SHA256_LEN + 1]) {
    char hex[SIGV4_HEX_LEN + 1];
    sigv4_sha256_hex(span_from_cstr(text), hex);
    unsigned char raw[SIGV4_HEX_LEN / 2];
    for (size_t i = 0; i < sizeof(raw); i++) {
        unsigned hi = (unsigned) (hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo = (unsigned) (hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        raw[i] = (unsigned char) (hi << 4 | lo);
    }
    s_base64(raw, sizeof(raw), out);
}

/* "45 min", "3 h", "2 d": coarse on purpose; the exact seconds are in data-v and report.json. */
static void s_age(struct buf *b, int64_t s) {
    if (s < 0) {
        buf_append_cstr(b, "in the future");
    } else if (s < R_HOUR) {
        buf_appendf(b, "%lld min", (long long) (s / R_MINUTE));
    } else if (s < 2 * R_DAY) {
        buf_appendf(b, "%lld h", (long long) (s / R_HOUR));
    } else {
        buf_appendf(b, "%lld d", (long long) (s / R_DAY));
    }
}

static void s_time(struct buf *b, int64_t unix_s) {
    char ts[TIME_ISO8601_LEN + 1];
    time_format_iso8601(unix_s, ts);
    buf_append_cstr(b, ts);
}

static void s_kpi(struct buf *b, const char *cls, const char *id, const char *label) {
    buf_appendf(b, "<div class=%s><dt>%s</dt><dd id=%s>", cls, label, id);
}

/* ---- header ---- */

static void s_head(const struct webreport *w, struct buf *b) {
    char style_hash[R_BASE64_SHA256_LEN + 1], script_hash[R_BASE64_SHA256_LEN + 1];
    s_csp_hash(s_style, style_hash);
    s_csp_hash(s_script, script_hash);
    buf_appendf(
      b,
      "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n<meta http-equiv=Content-Security-Policy "
      "content=\"default-src 'none'; style-src 'sha256-%s'; script-src 'sha256-%s'; img-src 'none'; "
      "base-uri 'none'; form-action 'none'\">\n<meta name=viewport content=\"width=device-width,initial-scale=1\">"
      "<meta name=referrer content=no-referrer><meta name=generator content=\"SmartVault %s\">\n<title>SmartVault "
      "backup coverage - ",
      style_hash,
      script_hash,
      SMARTVAULT_VERSION);
    html_cstr(b, w->source_region ? w->source_region : "no region");
    buf_appendf(b, " - %s</title>\n<style>%s</style></head>\n<body>\n", w->generated_at, s_style);
}

/* Protected, within the RPO, DR copies, DR backlog. */
static void s_kpi_coverage(const struct webreport *w, struct buf *b) {
    size_t t = w->nvolumes;
    s_kpi(b, w->protected_n == t ? "ok" : "bad", "k-protected", "Volumes protected");
    buf_appendf(b, "%zu / %zu</dd></div>", w->protected_n, t);
    s_kpi(b, w->outside_rpo ? "bad" : "ok", "k-rpo", "Within RPO");
    size_t rt = w->rpo_volumes;
    buf_appendf(b, "%zu%% <span class=mut>(%zu / %zu, RPO ", rt ? (w->within_rpo * 100 / rt) : 100, w->within_rpo, rt);
    s_age(b, w->rpo_s);
    buf_append_cstr(b, ")</span></dd></div>");
    s_kpi(b, !w->dest_region ? "mut" : w->dr_up_to_date == t ? "ok" : "warn", "k-dr", "DR copies up to date");
    if (w->dest_region && !w->dst_failed) {
        buf_appendf(b, "%zu / %zu</dd></div>", w->dr_up_to_date, t);
    } else {
        buf_append_cstr(b, w->dest_region ? "unknown (DR region not listed)</dd></div>" : "no DR region</dd></div>");
    }
    s_kpi(b, !w->dest_region ? "mut" : w->dr_backlog ? "warn" : "ok", "k-backlog", "DR backlog");
    buf_appendf(b, "%llu", (unsigned long long) w->dr_backlog);
    if (w->dr_backlog_oldest_age_s >= 0) {
        buf_append_cstr(b, " <span class=mut>oldest ");
        s_age(b, w->dr_backlog_oldest_age_s);
        buf_append_cstr(b, "</span>");
    }
    buf_append_cstr(b, "</dd></div>");
}

/* The oldest newest backup, the run, the drills. */
static void s_kpi_run(const struct webreport *w, struct buf *b) {
    s_kpi(b, w->oldest_backup_age_s > w->rpo_s ? "bad" : "ok", "k-oldest", "Oldest newest backup");
    if (w->oldest_backup_age_s >= 0) {
        s_age(b, w->oldest_backup_age_s);
    } else {
        buf_append_cstr(b, "none");
    }
    buf_append_cstr(b, "</dd></div>");
    s_kpi(b, !w->has_run ? "mut" : strcmp(w->outcome, "ok") == 0 ? "ok" : "bad", "k-run", "Last run");
    if (w->has_run) {
        html_cstr(b, w->outcome);
        buf_append_cstr(b, " <span class=mut>");
        s_time(b, w->report->start_ms / 1000);
        buf_appendf(b, ", %lld s</span>", (long long) (w->report->wall_ms / 1000));
    } else {
        buf_append_cstr(b, "no run <span class=mut>(smartvault report)</span>");
    }
    buf_append_cstr(b, "</dd></div>");
    s_kpi(b, !w->has_drills ? "mut" : w->drills_failed ? "bad" : "ok", "k-drills", "Restore drills (last per volume)");
    if (w->has_drills) {
        buf_appendf(
          b,
          "%llu passed, %llu failed</dd></div>",
          (unsigned long long) w->drills_passed,
          (unsigned long long) w->drills_failed);
    } else {
        buf_append_cstr(b, "not run</dd></div>");
    }
}

static void s_fleet(const struct webreport *w, struct buf *b) {
    buf_append_cstr(b, "<header><h1>SmartVault backup coverage</h1><p class=sub>");
    if (w->account) {
        buf_append_cstr(b, "Account ");
        html_cstr(b, w->account);
        buf_append_cstr(b, " &middot; ");
    }
    if (w->ngroups > 1) {
        buf_appendf(b, "%zu accounts and regions (grouped below)", w->ngroups);
    } else {
        html_cstr(b, w->source_region ? w->source_region : "no region");
    }
    if (w->dest_region && w->ngroups <= 1) {
        buf_append_cstr(b, " &rarr; DR ");
        html_cstr(b, w->dest_region);
    }
    buf_append_cstr(b, " &middot; instances tagged ");
    html_cstr(b, w->backup_tag);
    buf_appendf(b, " &middot; generated <time id=generated>%s</time></p>\n<dl class=kpi>", w->generated_at);
    s_kpi_coverage(w, b);
    s_kpi_run(w, b);
    s_kpi(b, w->problems ? "bad" : "ok", "k-problems", "Volumes with problems");
    buf_appendf(b, "%zu</dd></div></dl></header>\n", w->problems);
}

/* ---- volumes ---- */

/* One SVG path of 1x1 cells for the set bits, oldest day on the left; runs of days become one rectangle. */
static void s_cal_path(struct buf *b, uint32_t bits, int y, const char *cls) {
    if (bits == 0) {
        return;
    }
    buf_appendf(b, "<path class=%s d=\"", cls);
    int x = 0;
    while (x < WEBREPORT_DAYS) {
        int d = WEBREPORT_DAYS - 1 - x;
        if (!(bits & ((uint32_t) 1 << d))) {
            x++;
            continue;
        }
        int len = 0;
        while (x + len < WEBREPORT_DAYS && (bits & ((uint32_t) 1 << (WEBREPORT_DAYS - 1 - x - len)))) {
            len++;
        }
        buf_appendf(b, "M%d %dh%dv1h-%dz", x, y, len, len);
        x += len;
    }
    buf_append_cstr(b, "\"/>");
}

static int s_popcount(uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1) {
        n++;
    }
    return n;
}

static void s_calendar(struct buf *b, const struct webreport_volume *v) {
    buf_appendf(
      b,
      "<td><svg viewBox=\"0 0 30 2\" preserveAspectRatio=none role=img aria-label=\"%d/30 d, DR %d\">",
      s_popcount(v->days),
      s_popcount(v->dr_days));
    s_cal_path(b, v->days, 0, "s");
    s_cal_path(b, v->dr_days, 1, "d");
    buf_append_cstr(b, "</svg>");
}

static void s_dr_cell(const struct webreport *w, struct buf *b, const struct webreport_volume *v) {
    buf_append_cstr(b, "<td>");
    buf_append_cstr(b, webreport_dr_name(v->dr));
    if (v->dr_backlog) {
        buf_appendf(b, " (%u)", v->dr_backlog);
    }
    (void) w;
}

static void s_drill_cell(const struct webreport *w, struct buf *b, const struct webreport_volume *v) {
    if (v->drill == WEBREPORT_DRILL_NONE) {
        buf_append_cstr(b, "<td>-");
        return;
    }
    buf_append_cstr(b, v->drill == WEBREPORT_DRILL_PASSED ? "<td>passed " : "<td>failed ");
    s_age(b, w->now_s - v->drill_s);
}

static void s_row(const struct webreport *w, struct buf *b, const struct webreport_volume *v) {
    buf_append_cstr(b, v->problem ? "<tr class=\"v p\"><td>" : "<tr class=v><td>");
    buf_append_cstr(b, v->problem_why);
    if (v->failure_code) {
        buf_append_cstr(b, ": ");
        html_cstr(b, v->failure_code);
    }
    buf_append_cstr(b, "<td>");
    html_cstr(b, v->name);
    if (v->instance_gone) {
        buf_append_cstr(b, " <i class=mut>(not discovered)</i>");
    }
    buf_append_cstr(b, "<td>");
    html_cstr(b, v->instance_id);
    buf_append_cstr(b, "<td class=h2>");
    html_cstr(b, v->device);
    buf_append_cstr(b, "<td class=h1>");
    html_cstr(b, v->volume_id);
    if (v->newest_s > 0) {
        buf_appendf(b, "<td data-v=%lld>", (long long) (w->now_s - v->newest_s));
        s_age(b, w->now_s - v->newest_s);
    } else {
        buf_appendf(b, "<td data-v=%lld>never", R_NO_AGE);
    }
    buf_appendf(b, "<td data-v=%u>%u", v->kept, v->kept);
    s_dr_cell(w, b, v);
    s_drill_cell(w, b, v);
    s_calendar(b, v);
    buf_append_cstr(b, "</tr>\n");
}

/* One table of the problem rows or of the healthy ones, with a group header row per (account, region). */
static void s_volume_table(const struct webreport *w, struct buf *b, bool problems) {
    buf_appendf(
      b,
      "<div class=wrap><table class=vol id=%s><thead><tr><th>State<th>Instance<th>Instance id<th class=h2>Device"
      "<th class=h1>Volume<th>Newest snapshot<th>Kept<th>DR copy<th>Last drill<th>Last 30 days</thead>\n",
      problems ? "vt-p" : "vt-h");
    const struct webreport_volume *prev = NULL;
    for (size_t i = 0; i < w->nvolumes; i++) {
        const struct webreport_volume *v = &w->volumes[i];
        if (v->problem != problems) {
            continue;
        }
        bool new_group = prev == NULL || strcmp(v->account, prev->account) != 0 || strcmp(v->region, prev->region) != 0;
        if (new_group) {
            buf_append_cstr(b, prev ? "</tbody><tbody>" : "<tbody>");
            if (w->ngroups > 1) {
                buf_append_cstr(b, "<tr class=g><th colspan=10>");
                html_cstr(b, v->account[0] ? v->account : "account unknown");
                buf_append_cstr(b, " &middot; ");
                html_cstr(b, v->region);
                buf_append_cstr(b, "</tr>\n");
            }
        }
        s_row(w, b, v);
        prev = v;
    }
    buf_append_cstr(b, prev ? "</tbody></table></div>\n" : "</table></div>\n");
}

/*
 * Problem rows in their own table, always shown; healthy rows in a second table inside <details>, open up to
 * WEBREPORT_OPEN_ROWS_MAX rows. A closed <details> is parsed but neither styled nor laid out, which is what keeps
 * a 5,000-volume page fast (laying out 50,000 table cells is most of the cost); the script opens it for a filter
 * and for printing.
 */
static void s_volumes(const struct webreport *w, struct buf *b) {
    buf_appendf(b, "<section id=volumes><h2>Volumes (%zu)</h2>\n", w->nvolumes);
    if (!w->listed) {
        buf_append_cstr(
          b,
          "<p class=bad id=not-listed>The source region could not be listed: the table is "
          "incomplete (see the failures below).</p>\n");
    }
    if (w->nvolumes == 0) {
        buf_append_cstr(b, "<p id=empty>No backed-up volumes: no instance carries the tag ");
        html_cstr(b, w->backup_tag);
        buf_append_cstr(b, " and no SmartVault snapshot is kept.</p></section>\n");
        return;
    }
    buf_append_cstr(
      b,
      "<input id=f type=search placeholder=\"Filter volumes\" aria-label=\"Filter volumes\" hidden>"
      "<p class=\"lg mut\">Last 30 days, today on the right:<i class=s1></i>snapshot<i class=d1></i>DR copy</p>\n");
    size_t healthy = w->nvolumes - w->problems;
    if (w->problems > 0) {
        buf_appendf(b, "<h3 id=attention>Needing attention (%zu)</h3>\n", w->problems);
        s_volume_table(w, b, true);
    }
    if (healthy > 0) {
        buf_appendf(
          b,
          "<details id=healthy%s><summary>Healthy volumes (%zu)</summary>\n",
          healthy <= WEBREPORT_OPEN_ROWS_MAX ? " open" : "",
          healthy);
        s_volume_table(w, b, false);
        buf_append_cstr(b, "</details>\n");
    }
    buf_append_cstr(b, "</section>\n");
}

/* ---- the run ---- */

static void s_counts(const struct webreport *w, struct buf *b) {
    struct report_count_field rows[REPORT_COUNT_FIELDS_MAX];
    size_t n = report_count_fields(&w->counts, rows);
    buf_append_cstr(b, "<section id=run><h2>This run</h2><p class=mut>Run ");
    html_cstr(b, w->report->run_id);
    buf_append_cstr(b, w->report->dry_run ? " (dry run: nothing was changed)" : "");
    buf_append_cstr(b, "</p><table id=counts>\n");
    for (size_t i = 0; i < n; i++) {
        buf_appendf(b, "<tr><th>%s<td id=n-%s>", rows[i].label, rows[i].key);
        report_count_value(&rows[i], b);
        buf_append_cstr(b, "</tr>\n");
    }
    buf_append_cstr(b, "</table></section>\n");
}

static const char *s_job_name(enum report_job j) {
    return j == REPORT_JOB_EBS ? "ebs" : j == REPORT_JOB_S3 ? "s3" : "reporting";
}

static void s_failures(const struct webreport *w, struct buf *b) {
    buf_appendf(b, "<section id=fail><h2>Failures (%llu)</h2>\n", (unsigned long long) w->counts.failures);
    if (w->nfailures == 0) {
        buf_append_cstr(b, "<p>None.</p></section>\n");
        return;
    }
    buf_append_cstr(
      b,
      "<div class=wrap><table id=failures><thead><tr><th>Job<th>Region<th>Resource<th>AWS code"
      "<th>Message</thead><tbody>\n");
    for (size_t i = 0; i < w->nfailures; i++) {
        const struct report_item *it = w->failures[i];
        const char *res = it->snapshot_id          ? it->snapshot_id
                          : it->source_snapshot_id ? it->source_snapshot_id
                          : it->instance_id        ? it->instance_id
                          : it->volume_id          ? it->volume_id
                          : it->key                ? it->key
                                                   : it->bucket;
        buf_appendf(b, "<tr><td>%s<td>", s_job_name(it->job));
        html_cstr(b, it->region);
        buf_append_cstr(b, "<td>");
        if (it->bucket && it->key) {
            html_cstr(b, it->bucket);
            buf_append_char(b, '/');
        }
        html_cstr(b, res ? res : "-");
        buf_append_cstr(b, "<td>");
        html_cstr(b, it->aws_code);
        buf_append_cstr(b, "<td class=m>");
        html_cstr(b, it->message);
        buf_append_cstr(b, "</tr>\n");
    }
    buf_append_cstr(b, "</tbody></table></div>");
    if (w->counts.failures > w->nfailures) {
        buf_appendf(
          b,
          "<p>... and %llu more in report.json and the audit table.</p>",
          (unsigned long long) (w->counts.failures - w->nfailures));
    }
    buf_append_cstr(b, "</section>\n");
}

static void s_s3(const struct webreport *w, struct buf *b) {
    if (w->nroutes == 0) {
        return;
    }
    buf_append_cstr(
      b,
      "<section id=s3><h2>S3 backup</h2><div class=wrap><table id=routes><thead><tr><th>Prefix"
      "<th>Backup bucket<th>Copied<th>Bytes<th>Skipped<th>Failed</thead><tbody>\n");
    for (size_t i = 0; i < w->nroutes; i++) {
        const struct webreport_route *r = &w->routes[i];
        buf_append_cstr(b, "<tr><td>");
        html_cstr(b, r->prefix[0] ? r->prefix : "(all keys)");
        buf_append_cstr(b, "<td>");
        html_cstr(b, r->bucket);
        buf_appendf(
          b,
          "<td>%llu<td>%llu<td>%llu<td>%llu</tr>\n",
          (unsigned long long) r->copied,
          (unsigned long long) r->bytes,
          (unsigned long long) r->skipped,
          (unsigned long long) r->failed);
    }
    buf_appendf(
      b,
      "</tbody></table></div><p class=mut>%llu objects seen, %llu unchanged.</p></section>\n",
      (unsigned long long) w->counts.s3_objects_seen,
      (unsigned long long) w->counts.s3_unchanged);
}

static void s_runs(const struct webreport *w, struct buf *b) {
    buf_append_cstr(b, "<section id=history><h2>Last runs</h2>");
    if (w->nruns == 0) {
        buf_append_cstr(
          b,
          w->has_run ? "<p class=mut>Only this run is known (no earlier run in the audit table, or "
                       "no DYNAMODB_TABLE).</p></section>\n"
                     : "<p class=mut>No run data (no DYNAMODB_TABLE).</p></section>\n");
        return;
    }
    buf_append_cstr(
      b,
      "<div class=wrap><table id=runs><thead><tr><th>Started<th>Outcome<th>Duration<th>Created"
      "<th>Copied<th>Deleted<th>Failures<th>S3 copied</thead><tbody>\n");
    for (size_t i = 0; i < w->nruns; i++) {
        const struct webreport_run *r = &w->runs[i];
        buf_append_cstr(b, "<tr><td>");
        s_time(b, r->start_ms / 1000);
        buf_append_cstr(b, "<td>");
        html_cstr(b, r->outcome);
        buf_append_cstr(b, "<td>");
        if (r->duration_ms >= 0) {
            buf_appendf(b, "%lld s", (long long) (r->duration_ms / 1000));
        }
        buf_appendf(
          b,
          "<td>%llu<td>%llu<td>%llu<td>%llu<td>%llu</tr>\n",
          (unsigned long long) r->counts.snapshots_created,
          (unsigned long long) r->counts.snapshots_copied,
          (unsigned long long) r->counts.snapshots_deleted,
          (unsigned long long) r->counts.failures,
          (unsigned long long) r->counts.s3_objects_copied);
    }
    buf_append_cstr(b, "</tbody></table></div></section>\n");
}

static void s_footer(const struct webreport *w, struct buf *b) {
    buf_append_cstr(
      b,
      "<footer><h2>How to read this page</h2><p>A volume is <b>protected</b> when a completed "
      "SmartVault snapshot of it is kept. <b>Within RPO</b>: its newest snapshot started at most ");
    s_age(b, w->rpo_s);
    buf_appendf(
      b,
      " ago. <b>DR copy</b>: the state of the copy of its newest completed snapshot; the number in brackets is its "
      "backlog (completed snapshots inside the %u-day retention without a copy). Rows with problems (failed, no "
      "snapshot, stale, DR behind by more than the RPO, drill failed) come first. The calendar shows the days with a "
      "completed snapshot (top) and with a DR copy (bottom) among the snapshots kept%s. <b>Last drill</b>: the newest "
      "restore drill of the volume in this run or the last 30 days' calendar. Times are UTC. SmartVault "
      "%s.</p></footer>\n<script>%s</script>\n</body></html>\n",
      w->retention_days,
      w->has_history ? " and in the audit table's calendar items (days retention has deleted)" : "",
      SMARTVAULT_VERSION,
      s_script);
}

enum err webreport_html(const struct webreport *w, struct buf *out) {
    s_head(w, out);
    s_fleet(w, out);
    s_volumes(w, out);
    if (w->has_run) {
        s_failures(w, out);
        s_s3(w, out);
        s_counts(w, out);
    }
    s_runs(w, out);
    s_footer(w, out);
    return buf_status(out);
}

/* ---- report.json ---- */

static void s_jstr(struct buf *b, const char *key, const char *v) {
    buf_appendf(b, "\"%s\":", key);
    if (v == NULL) {
        buf_append_cstr(b, "null");
    } else {
        buf_append_json_string(b, span_from_cstr(v));
    }
}

static void s_jtime(struct buf *b, const char *key, int64_t unix_s) {
    if (unix_s <= 0) {
        buf_appendf(b, "\"%s\":null", key);
        return;
    }
    char ts[TIME_ISO8601_LEN + 1];
    time_format_iso8601(unix_s, ts);
    buf_appendf(b, "\"%s\":\"%s\"", key, ts);
}

/* 30 characters, oldest day first: '1' when the bit is set. */
static void s_jdays(struct buf *b, const char *key, uint32_t bits) {
    buf_appendf(b, "\"%s\":\"", key);
    for (int x = 0; x < WEBREPORT_DAYS; x++) {
        buf_append_char(b, (bits & ((uint32_t) 1 << (WEBREPORT_DAYS - 1 - x))) ? '1' : '0');
    }
    buf_append_char(b, '"');
}

static void s_json_fleet(const struct webreport *w, struct buf *b) {
    buf_appendf(b, "\"fleet\":{");
    s_jstr(b, "account", w->account);
    buf_append_char(b, ',');
    s_jstr(b, "source_region", w->source_region);
    buf_append_char(b, ',');
    s_jstr(b, "dest_region", w->dest_region);
    buf_append_char(b, ',');
    s_jstr(b, "backup_tag", w->backup_tag);
    buf_appendf(
      b,
      ",\"listed\":%s,\"dest_listed\":%s,\"rpo_seconds\":%lld,\"retention_days\":%u,\"volumes_total\":%zu,"
      "\"volumes_protected\":%zu,\"volumes_within_rpo\":%zu,\"volumes_outside_rpo\":%zu,"
      "\"oldest_backup_age_seconds\":%lld,\"dr_up_to_date\":%zu,\"dr_backlog\":%llu,"
      "\"dr_backlog_oldest_seconds\":%lld,\"dr_backlog_from_run\":%s,\"volumes_held_to_rpo\":%zu,"
      "\"calendar_history\":%s,\"problems\":%zu,\"groups\":%zu",
      w->listed ? "true" : "false",
      w->dest_region && !w->dst_failed ? "true" : "false",
      (long long) w->rpo_s,
      w->retention_days,
      w->nvolumes,
      w->protected_n,
      w->within_rpo,
      w->outside_rpo,
      (long long) w->oldest_backup_age_s,
      w->dr_up_to_date,
      (unsigned long long) w->dr_backlog,
      (long long) w->dr_backlog_oldest_age_s,
      w->dr_backlog_from_run ? "true" : "false",
      w->rpo_volumes,
      w->has_history ? "true" : "false",
      w->problems,
      w->ngroups);
    if (w->has_drills) {
        buf_appendf(
          b,
          ",\"drills\":{\"passed\":%llu,\"failed\":%llu}",
          (unsigned long long) w->drills_passed,
          (unsigned long long) w->drills_failed);
    }
    buf_append_char(b, '}');
}

static void s_json_volume(const struct webreport *w, struct buf *b, const struct webreport_volume *v) {
    buf_append_char(b, '{');
    s_jstr(b, "account", v->account);
    buf_append_char(b, ',');
    s_jstr(b, "region", v->region);
    buf_append_char(b, ',');
    s_jstr(b, "instance_id", v->instance_id);
    buf_append_char(b, ',');
    s_jstr(b, "name", v->name);
    buf_append_char(b, ',');
    s_jstr(b, "device", v->device);
    buf_append_char(b, ',');
    s_jstr(b, "volume_id", v->volume_id);
    buf_appendf(b, ",\"instance_discovered\":%s,", v->instance_gone ? "false" : "true");
    s_jtime(b, "newest_snapshot_at", v->newest_s);
    buf_appendf(b, ",\"newest_age_seconds\":%lld,", v->newest_s > 0 ? (long long) (w->now_s - v->newest_s) : -1LL);
    s_jtime(b, "newest_completed_at", v->newest_done_s);
    buf_appendf(
      b,
      ",\"snapshots_kept\":%u,\"dr\":\"%s\",\"dr_copies_kept\":%u,\"dr_backlog\":%u,",
      v->kept,
      webreport_dr_name(v->dr),
      v->dr_kept,
      v->dr_backlog);
    s_jtime(b, "dr_backlog_oldest_at", v->dr_backlog_oldest_s);
    buf_append_char(b, ',');
    s_jdays(b, "days", v->days);
    buf_append_char(b, ',');
    s_jdays(b, "dr_days", v->dr_days);
    if (v->drill != WEBREPORT_DRILL_NONE) {
        buf_appendf(b, ",\"drill\":\"%s\",", v->drill == WEBREPORT_DRILL_PASSED ? "passed" : "failed");
        s_jtime(b, "drill_at", v->drill_s);
    }
    buf_appendf(b, ",\"problem\":%s,", v->problem ? "true" : "false");
    s_jstr(b, "state", v->problem_why);
    buf_append_char(b, ',');
    s_jstr(b, "failure_code", v->failure_code);
    buf_append_char(b, '}');
}

static void s_json_failure(struct buf *b, const struct report_item *it) {
    buf_appendf(b, "{\"job\":\"%s\",", s_job_name(it->job));
    static const char *const keys[] = { "region", "instance_id", "volume_id", "snapshot_id", "source_snapshot_id",
                                        "bucket", "key",         "aws_code",  "message" };
    const char *vals[] = { it->region, it->instance_id, it->volume_id, it->snapshot_id, it->source_snapshot_id,
                           it->bucket, it->key,         it->aws_code,  it->message };
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        s_jstr(b, keys[k], vals[k]);
        buf_append_char(b, k + 1 < sizeof(keys) / sizeof(keys[0]) ? ',' : '}');
    }
}

static void s_json_run(const struct webreport *w, struct buf *b) {
    if (!w->has_run) {
        buf_append_cstr(b, ",\"run\":null");
        return;
    }
    const struct report *r = w->report;
    buf_append_cstr(b, ",\"run\":{");
    s_jstr(b, "run_id", r->run_id);
    buf_append_char(b, ',');
    s_jstr(b, "outcome", w->outcome);
    buf_appendf(b, ",\"dry_run\":%s,", r->dry_run ? "true" : "false");
    s_jtime(b, "started_at", r->start_ms / 1000);
    buf_appendf(b, ",\"wall_ms\":%lld},\"counts\":{", (long long) r->wall_ms);
    report_counts_json(&w->counts, b);
    buf_appendf(b, "},\"failures_listed\":%zu,\"failures\":[", w->nfailures);
    for (size_t i = 0; i < w->nfailures; i++) {
        buf_append_cstr(b, i ? ",\n" : "\n");
        s_json_failure(b, w->failures[i]);
    }
    buf_append_cstr(b, "],\"s3_routes\":[");
    for (size_t i = 0; i < w->nroutes; i++) {
        const struct webreport_route *rt = &w->routes[i];
        buf_append_cstr(b, i ? ",{" : "{");
        s_jstr(b, "prefix", rt->prefix);
        buf_append_char(b, ',');
        s_jstr(b, "bucket", rt->bucket);
        buf_appendf(
          b,
          ",\"copied\":%llu,\"bytes\":%llu,\"skipped\":%llu,\"failed\":%llu}",
          (unsigned long long) rt->copied,
          (unsigned long long) rt->bytes,
          (unsigned long long) rt->skipped,
          (unsigned long long) rt->failed);
    }
    buf_append_char(b, ']');
}

static void s_json_runs(const struct webreport *w, struct buf *b) {
    buf_append_cstr(b, ",\"runs\":[");
    for (size_t i = 0; i < w->nruns; i++) {
        const struct webreport_run *r = &w->runs[i];
        buf_append_cstr(b, i ? ",{" : "{");
        s_jstr(b, "run_id", r->run_id);
        buf_append_char(b, ',');
        s_jtime(b, "started_at", r->start_ms / 1000);
        buf_append_char(b, ',');
        s_jstr(b, "outcome", r->outcome);
        buf_appendf(b, ",\"duration_ms\":%lld,\"counts\":{", (long long) r->duration_ms);
        report_counts_json(&r->counts, b);
        buf_append_cstr(b, "}}");
    }
    buf_append_char(b, ']');
}

enum err webreport_json(const struct webreport *w, struct buf *out) {
    buf_appendf(out, "{\"schema\":%d,\"generator\":\"SmartVault %s\",", WEBREPORT_SCHEMA_VERSION, SMARTVAULT_VERSION);
    s_jstr(out, "generated_at", w->generated_at);
    buf_append_char(out, ',');
    s_json_fleet(w, out);
    s_json_run(w, out);
    s_json_runs(w, out);
    buf_append_cstr(out, ",\"volumes\":[");
    for (size_t i = 0; i < w->nvolumes; i++) {
        buf_append_cstr(out, i ? ",\n" : "\n");
        s_json_volume(w, out, &w->volumes[i]);
    }
    buf_append_cstr(out, "]}\n");
    return buf_status(out);
}
