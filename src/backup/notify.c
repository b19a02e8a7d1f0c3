/*
 * notify.c - renders the SNS summary (subject and body) of a cycle from its report.
 *
 * The subject and the head of the body come from report_counts / report_region_counts, the lists from the
 * report's items, so every number here is the number the metrics and the cycle.done line show. The body budget
 * is enforced while writing (whole lines, a fair share per list, "… and N more"), never by cutting bytes
 * afterwards, so the result is always valid UTF-8 within the limit.
 *
 * What it does not do: publish (backup/publish), read a clock (the duration and start come from the report),
 * log, or decide the outcome of the cycle (it reads the report's failures like everyone else).
 */
#include "backup/notify.h"

#include "base/time.h"
#include "base/utf8.h"

#include <stdio.h>
#include <string.h>

/* "…" U+2026 HORIZONTAL ELLIPSIS, and U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define NOTIFY_ELLIPSIS "\xe2\x80\xa6"
#define NOTIFY_REPLACEMENT "\xef\xbf\xbd"
/* Target lines in the head of a multi-account summary (each at most about 400 bytes). */
#define NOTIFY_TARGETS_MAX 50
#define NOTIFY_TARGET_REASON_MAX 256
/* Room kept for each list still to come: its blank line, its heading and its "… and N more" line. */
#define NOTIFY_SECTION_RESERVE ((size_t) 128)
/* The longest "  … and N more\n" line (N up to 20 digits). */
#define NOTIFY_MORE_LINE_MAX ((size_t) 40)
/* One rendered list line: a handful of fields of at most NOTIFY_FIELD_MAX_BYTES each. */
#define NOTIFY_LINE_MAX ((size_t) 12 * 1024)
/* The subject is built here before it is checked against the SNS limit. */
#define NOTIFY_SUBJECT_SCRATCH ((size_t) 1024)

/* ---- text ---- */

/* The clean form of the character at p: its bytes, a space, or U+FFFD. Returns how many input bytes it took. */
static size_t s_clean_char(const unsigned char *p, size_t n, const char **piece, size_t *piece_len) {
    size_t len = utf8_decode(p, n, NULL);
    if (len == 0) {
        *piece = NOTIFY_REPLACEMENT;
        *piece_len = 3;
        return 1;
    }
    if (len == 1 && (p[0] < 0x20 || p[0] == 0x7f)) {
        *piece = " ";
        *piece_len = 1;
        return 1;
    }
    *piece = (const char *) p;
    *piece_len = len;
    return len;
}

size_t notify_text_append(struct buf *out, struct span s, size_t max_bytes) {
    const unsigned char *p = (const unsigned char *) s.p;
    size_t total = 0;
    for (size_t i = 0; i < s.n;) {
        const char *piece;
        size_t plen;
        i += s_clean_char(p + i, s.n - i, &piece, &plen);
        total += plen;
    }
    bool cut = total > max_bytes;
    size_t limit = cut && max_bytes >= 3 ? max_bytes - 3 : max_bytes;
    size_t used = 0;
    for (size_t i = 0; i < s.n;) {
        const char *piece;
        size_t plen;
        size_t took = s_clean_char(p + i, s.n - i, &piece, &plen);
        if (used + plen > limit) {
            break;
        }
        buf_append(out, piece, plen);
        used += plen;
        i += took;
    }
    if (cut && max_bytes >= 3) {
        buf_append_cstr(out, NOTIFY_ELLIPSIS);
        used += 3;
    }
    return used;
}

/* Printable ASCII only (the subject): every character outside it, whatever its length, becomes one '?'. */
static void s_ascii_append(struct buf *out, const char *s) {
    struct span sp = span_from_cstr(s);
    const unsigned char *p = (const unsigned char *) sp.p;
    for (size_t i = 0; i < sp.n;) {
        size_t len = utf8_decode(p + i, sp.n - i, NULL);
        if (len == 1 && p[i] >= 0x20 && p[i] < 0x7f) {
            buf_append_char(out, (char) p[i]);
        } else {
            buf_append_char(out, '?');
        }
        i += len ? len : 1;
    }
}

/* ---- outcome ---- */

static bool s_ebs_failed(const struct report *r) {
    for (size_t i = 0; i < r->nitems; i++) {
        if (r->items[i].action == REPORT_FAILED && r->items[i].job == REPORT_JOB_EBS) {
            return true;
        }
    }
    return false;
}

/* The EBS job ran and found nothing to back up; whatever else happened (S3, reporting) is told besides. */
static bool s_no_instances(const struct report *r) {
    return r->ebs_ran && r->instances_seen == 0 && !s_ebs_failed(r);
}

enum notify_outcome notify_outcome(const struct report *r) {
    if (report_has_failures(r)) {
        return NOTIFY_FAILED;
    }
    return s_no_instances(r) ? NOTIFY_NO_INSTANCES : NOTIFY_OK;
}

static const char *s_tag(const struct notify_context *ctx) {
    return ctx && ctx->backup_tag ? ctx->backup_tag : "Backup=true";
}

/* ---- subject ---- */

/* The subject's first words: what kind of run it was and how it went. */
static void s_subject_prefix(const struct report *r, bool failed, struct buf *b) {
    if (r->interrupted) {
        buf_append_cstr(b, r->dry_run ? "SmartVault DRY RUN INTERRUPTED: " : "SmartVault INTERRUPTED: ");
    } else if (r->dry_run) {
        buf_append_cstr(b, failed ? "SmartVault DRY RUN FAILED: " : "SmartVault DRY RUN: ");
    } else if (!failed && r->coverage.known && r->coverage.outside_rpo > 0) {
        buf_appendf(b, "SmartVault AT RISK: %llu volumes outside RPO, ", (unsigned long long) r->coverage.outside_rpo);
    } else {
        buf_append_cstr(b, failed ? "SmartVault FAILED: " : "SmartVault OK: ");
    }
}

/* The EBS counts (what was or would be created, copied, deleted). */
static void s_subject_ebs(const struct report *r, const struct report_counts *c, const char *sep, struct buf *b) {
    buf_appendf(
      b,
      r->dry_run ? "%swould create %llu, copy %llu, delete %llu" : "%s%llu created, %llu copied, %llu deleted",
      sep,
      (unsigned long long) c->snapshots_created,
      (unsigned long long) c->snapshots_copied,
      (unsigned long long) c->snapshots_deleted);
}

/* The scratch buffer is far larger than anything the subject writes except a long tag, which is cut here. */
static void s_subject_out(struct buf *b, char out[NOTIFY_SUBJECT_MAX + 1]) {
    size_t n = b->len;
    if (buf_status(b) != ERR_OK || n > NOTIFY_SUBJECT_MAX) {
        n = NOTIFY_SUBJECT_MAX - 3;
        memcpy(out, buf_cstr(b), n);
        memcpy(out + n, "...", 4);
    } else {
        memcpy(out, buf_cstr(b), n + 1);
    }
}

void notify_subject(const struct report *r, const struct notify_context *ctx, char out[NOTIFY_SUBJECT_MAX + 1]) {
    struct report_counts c = report_counts(r);
    bool failed = c.failures > 0;
    struct buf b;
    buf_init(&b, NOTIFY_SUBJECT_SCRATCH);
    s_subject_prefix(r, failed, &b);
    const char *sep = "";
    if (failed) {
        buf_appendf(&b, "%llu error%s", (unsigned long long) c.failures, c.failures == 1 ? "" : "s");
        sep = ", ";
    }
    if (s_no_instances(r)) {
        buf_appendf(&b, "%sNo instances found with ", sep);
        s_ascii_append(&b, s_tag(ctx));
        sep = ", ";
    } else if (r->ebs_ran || !r->s3_ran) {
        s_subject_ebs(r, &c, sep, &b);
        sep = ", ";
    }
    if (r->s3_ran) {
        buf_appendf(
          &b, r->dry_run ? "%sS3 would copy %llu" : "%sS3 %llu copied", sep, (unsigned long long) c.s3_objects_copied);
    }
    s_subject_out(&b, out);
    buf_free(&b);
}

/* The coverage page's location and presigned link (a link longer than NOTIFY_LINK_MAX_BYTES is left out). */
static void s_report_link(const struct notify_context *ctx, struct buf *out) {
    if (ctx == NULL || ctx->report_location == NULL) {
        return;
    }
    buf_append_cstr(out, "Coverage:  ");
    notify_text_append(out, span_from_cstr(ctx->report_location), NOTIFY_LINK_MAX_BYTES);
    buf_append_char(out, '\n');
    if (ctx->report_url != NULL && strlen(ctx->report_url) <= NOTIFY_LINK_MAX_BYTES) {
        char until[TIME_ISO8601_LEN + 1];
        time_format_iso8601(ctx->report_url_expires_at, until);
        buf_appendf(out, "Open:      %s\n", ctx->report_url);
        buf_appendf(
          out,
          "           (this link works until %s, when the credentials that signed it expire; after that open the "
          "page from the S3 console or with aws s3 cp)\n",
          until);
    }
}

/* ---- body ---- */

/*
 * Multi-account runs: after the totals, one line per target that has something to say (it did something,
 * failed, or found no instances), at most NOTIFY_TARGETS_MAX lines so the head stays bounded; the lists below
 * name the account of every action.
 */
static void s_targets(const struct report *r, struct buf *out) {
    size_t shown = 0, quiet = 0;
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        struct report_counts c = report_target_counts(r, (uint32_t) (i + 1));
        bool says = strcmp(t->outcome, "ok") != 0 || c.snapshots_created || c.snapshots_copied || c.snapshots_deleted ||
                    c.failures;
        if (!says) {
            quiet++;
            continue;
        }
        if (shown == 0) {
            buf_append_cstr(out, "\nPer target (account, region):\n");
        }
        if (shown++ == NOTIFY_TARGETS_MAX) {
            continue;
        }
        buf_appendf(out, "  %s ", t->account_id);
        notify_text_append(out, span_from_cstr(t->region), REPORT_REGION_LEN);
        buf_appendf(
          out,
          ": %s, %llu instances, %llu created, %llu copied, %llu deleted, %llu failed",
          t->outcome,
          (unsigned long long) c.instances_seen,
          (unsigned long long) c.snapshots_created,
          (unsigned long long) c.snapshots_copied,
          (unsigned long long) c.snapshots_deleted,
          (unsigned long long) c.failures);
        if (t->reason != NULL) {
            buf_append_cstr(out, ": ");
            notify_text_append(out, span_from_cstr(t->reason), NOTIFY_TARGET_REASON_MAX);
        }
        buf_append_char(out, '\n');
    }
    if (shown > NOTIFY_TARGETS_MAX) {
        buf_appendf(out, "  " NOTIFY_ELLIPSIS " and %zu more targets\n", shown - NOTIFY_TARGETS_MAX);
    }
    if (quiet > 0 && shown > 0) {
        buf_appendf(out, "  (%zu more targets had nothing to do)\n", quiet);
    }
}

/* The notes above the run's facts: no instances, dry run, interrupted. */
static void s_head_notes(const struct report *r, const struct notify_context *ctx, struct buf *out) {
    if (s_no_instances(r)) {
        /* Seed 001: send_sns("No instances found with Backup=true — skipping snapshot.") */
        buf_append_cstr(out, "No instances found with ");
        notify_text_append(out, span_from_cstr(s_tag(ctx)), NOTIFY_TAG_MAX_BYTES);
        buf_append_cstr(out, " \xe2\x80\x94 skipping snapshot.\n\n");
    }
    if (r->dry_run) {
        buf_append_cstr(out, "DRY RUN: nothing was changed; the counts below are what a real run would do.\n\n");
    }
    if (r->interrupted) {
        buf_appendf(
          out,
          "INTERRUPTED (%s): the run was stopped before it finished. The counts below are what it did; the next run "
          "carries on from there.\n\n",
          r->stop_reason ? r->stop_reason : "stop");
    }
}

/* Run id, start, duration, regions and the page's link. */
static void s_head_run(const struct report *r, const struct notify_context *ctx, struct buf *out) {
    char started[TIME_ISO8601_LEN + 5];
    time_format_iso8601_ms(r->start_ms, started);
    int64_t ms = r->wall_ms > 0 ? r->wall_ms : 0;
    buf_appendf(out, "Run id:    %s\n", r->run_id);
    buf_appendf(out, "Started:   %s\n", started);
    /* The cycle's time up to this summary (the reporting step itself is in the cycle.done line). */
    buf_appendf(
      out, "Duration:  %lld.%03lld s (until this report)\n", (long long) (ms / 1000), (long long) (ms % 1000));
    if (ctx && ctx->source_region) {
        buf_append_cstr(out, "Regions:   ");
        notify_text_append(out, span_from_cstr(ctx->source_region), 64);
        if (ctx->dest_region) {
            buf_append_cstr(out, ", copies to ");
            notify_text_append(out, span_from_cstr(ctx->dest_region), 64);
        }
        buf_append_char(out, '\n');
    }
    s_report_link(ctx, out);
    buf_append_char(out, '\n');
}

/* The EBS counts, coverage, errors, DR backlog and deferred work. */
static void s_head_counts(const struct report *r, const struct report_counts *c, struct buf *out) {
    if (r->ebs_ran || !r->s3_ran) {
        buf_appendf(out, "Instances seen:     %llu\n", (unsigned long long) c->instances_seen);
        buf_appendf(out, "Snapshots created:  %llu\n", (unsigned long long) c->snapshots_created);
        buf_appendf(out, "Snapshots copied:   %llu\n", (unsigned long long) c->snapshots_copied);
        buf_appendf(out, "Snapshots deleted:  %llu\n", (unsigned long long) c->snapshots_deleted);
        buf_appendf(out, "Skipped:            %llu\n", (unsigned long long) c->skipped);
    }
    if (r->coverage.known) {
        const struct coverage *cv = &r->coverage;
        buf_appendf(
          out,
          "Coverage:           %llu of %llu volumes outside the RPO of %lld h (%llu never backed up); oldest newest "
          "backup %lld h %02lld min old\n",
          (unsigned long long) cv->outside_rpo,
          (unsigned long long) cv->volumes,
          (long long) (cv->rpo_s / 3600),
          (unsigned long long) cv->never_backed_up,
          (long long) (cv->oldest_age_s / 3600),
          (long long) (cv->oldest_age_s % 3600 / 60));
    }
    buf_appendf(out, "Errors:             %llu\n", (unsigned long long) c->failures);
    if (r->dr_backlog_known) {
        buf_appendf(
          out,
          "DR copy backlog:    %llu (oldest %lld s)\n",
          (unsigned long long) r->dr_backlog,
          (long long) r->dr_backlog_oldest_s);
    }
    if (c->deferred > 0) {
        buf_appendf(
          out,
          "Deferred:           %llu (the run stopped; the next run does them)\n",
          (unsigned long long) c->deferred);
    }
}

/* One line per region the run acted in. */
static void s_head_regions(const struct report *r, struct buf *out) {
    struct report_region_counts rc[REPORT_MAX_REGIONS];
    size_t nr = report_region_counts(r, rc, REPORT_MAX_REGIONS);
    if (nr == 0) {
        return;
    }
    buf_append_cstr(out, "\nPer region:\n");
    for (size_t i = 0; i < nr; i++) {
        buf_append_cstr(out, "  ");
        notify_text_append(out, span_from_cstr(rc[i].region), REPORT_REGION_LEN);
        buf_appendf(
          out,
          ": %llu created, %llu copied, %llu deleted, %llu skipped, %llu failed\n",
          (unsigned long long) rc[i].created,
          (unsigned long long) rc[i].copied,
          (unsigned long long) rc[i].deleted,
          (unsigned long long) rc[i].skipped,
          (unsigned long long) rc[i].failed);
    }
}

/* The restore drill's and the S3 job's sections, when they ran. */
static void s_head_jobs(const struct report *r, const struct report_counts *c, struct buf *out) {
    if (r->drill_ran) {
        buf_append_cstr(out, "\nRestore drill:\n");
        buf_appendf(out, "  Passed:           %llu\n", (unsigned long long) c->drills_passed);
        buf_appendf(out, "  Failed:           %llu\n", (unsigned long long) c->drills_failed);
        buf_appendf(out, "  Slowest:          %.1f s to available\n", c->drill_seconds_max);
    }
    s_targets(r, out);
    if (r->s3_ran) {
        buf_append_cstr(out, "\nS3 backup:\n");
        buf_appendf(out, "  Objects seen:     %llu\n", (unsigned long long) c->s3_objects_seen);
        buf_appendf(
          out,
          "  Objects copied:   %llu (%llu bytes)\n",
          (unsigned long long) c->s3_objects_copied,
          (unsigned long long) c->s3_bytes_copied);
        buf_appendf(out, "  Unchanged:        %llu\n", (unsigned long long) c->s3_unchanged);
        buf_appendf(out, "  Skipped:          %llu\n", (unsigned long long) c->s3_skipped);
        buf_appendf(out, "  Failed:           %llu\n", (unsigned long long) c->s3_failed);
    }
}

static void s_head(const struct report *r, const struct notify_context *ctx, struct buf *out) {
    struct report_counts c = report_counts(r);
    char subject[NOTIFY_SUBJECT_MAX + 1];
    notify_subject(r, ctx, subject);
    buf_append_cstr(out, subject);
    buf_append_cstr(out, "\n\n");
    s_head_notes(r, ctx, out);
    s_head_run(r, ctx, out);
    s_head_counts(r, &c, out);
    s_head_regions(r, out);
    s_head_jobs(r, &c, out);
}

/* The lists, in the order an operator reads them: what went wrong first. */
struct s_section {
    const char *title;
    bool any_job; /* errors: every job */
    enum report_job job;
    enum report_action action;
};

static const struct s_section s_sections[] = {
    { "Errors", true, REPORT_JOB_EBS, REPORT_FAILED },
    { "Deferred", true, REPORT_JOB_EBS, REPORT_DEFERRED },
    { "Snapshots created", false, REPORT_JOB_EBS, REPORT_CREATED },
    { "Snapshots copied", false, REPORT_JOB_EBS, REPORT_COPIED },
    { "Snapshots deleted", false, REPORT_JOB_EBS, REPORT_DELETED },
    { "Skipped", false, REPORT_JOB_EBS, REPORT_SKIPPED },
    { "S3 objects copied", false, REPORT_JOB_S3, REPORT_COPIED },
    { "S3 objects skipped", false, REPORT_JOB_S3, REPORT_SKIPPED },
    { "Restore drills passed", false, REPORT_JOB_DRILL, REPORT_DRILLED },
};
#define NOTIFY_NSECTIONS (sizeof(s_sections) / sizeof(s_sections[0]))

static bool s_in_section(const struct s_section *s, const struct report_item *it) {
    return it->action == s->action && (s->any_job || it->job == s->job);
}

/* Appends sep and the cleaned field when the field is set and not empty. */
static void s_field(struct buf *line, const char *sep, const char *s) {
    if (s != NULL && s[0] != '\0') {
        buf_append_cstr(line, sep);
        notify_text_append(line, span_from_cstr(s), NOTIFY_FIELD_MAX_BYTES);
    }
}

static bool s_set(const char *s) {
    return s != NULL && s[0] != '\0';
}

/*
 * One action as one line: "  - <region> <instance> <device> <volume> [<source> ]-> <snapshot>
 * [<key> -> <bucket>] [(N bytes)][: <reason>][: <code>[ - <message>]]".
 */
static void s_item_line(const struct report_item *it, struct buf *line) {
    buf_append_cstr(line, "  -");
    s_field(line, " ", it->account_id); /* multi-account runs only */
    s_field(line, " ", it->region);
    s_field(line, " ", it->instance_id);
    s_field(line, " ", it->device);
    s_field(line, " ", it->volume_id);
    s_field(line, " ", it->source_snapshot_id);
    if (s_set(it->snapshot_id)) {
        s_field(line, s_set(it->source_snapshot_id) || s_set(it->volume_id) ? " -> " : " ", it->snapshot_id);
    }
    s_field(line, " ", it->key);
    if (s_set(it->bucket)) {
        s_field(line, s_set(it->key) ? " -> s3://" : " s3://", it->bucket);
    }
    if (it->bytes > 0) {
        buf_appendf(line, " (%llu bytes)", (unsigned long long) it->bytes);
    }
    if (it->job == REPORT_JOB_DRILL && it->action == REPORT_DRILLED) {
        buf_appendf(line, " (available in %.1f s)", (double) it->duration_ms / 1000.0);
    }
    s_field(line, ": ", it->reason);
    s_field(line, ": ", it->aws_code);
    s_field(line, s_set(it->aws_code) ? " - " : ": ", it->message);
    buf_append_char(line, '\n');
}

enum err notify_body(const struct report *r, const struct notify_context *ctx, size_t max_bytes, struct buf *out) {
    ENSURE(
      max_bytes >= NOTIFY_BODY_MIN_BYTES,
      ERR_INVALID,
      "notify_body: budget of %zu bytes, at least %zu",
      max_bytes,
      NOTIFY_BODY_MIN_BYTES);
    size_t base = out->len;
    size_t counts[NOTIFY_NSECTIONS] = { 0 };
    size_t nonempty = 0;
    for (size_t k = 0; k < NOTIFY_NSECTIONS; k++) {
        for (size_t i = 0; i < r->nitems; i++) {
            counts[k] += s_in_section(&s_sections[k], &r->items[i]);
        }
        nonempty += counts[k] > 0;
    }
    s_head(r, ctx, out);
    TRY(buf_status(out));
    /* The head is bounded by construction (fixed lines, cut fields, at most REPORT_MAX_REGIONS regions). */
    ENSURE(
      out->len - base + nonempty * NOTIFY_SECTION_RESERVE <= max_bytes,
      ERR_LIMIT,
      "notify_body: the head does not fit in %zu bytes",
      max_bytes);

    struct buf line;
    buf_init(&line, NOTIFY_LINE_MAX);
    size_t after = nonempty; /* non-empty lists from this one on */
    for (size_t k = 0; k < NOTIFY_NSECTIONS; k++) {
        if (counts[k] == 0) {
            continue;
        }
        after--;
        buf_appendf(out, "\n%s (%zu):\n", s_sections[k].title, counts[k]);
        /* Invariant: used <= max - (lists to come) * RESERVE, so room is never negative. */
        size_t used = out->len - base;
        size_t room = max_bytes - used - after * NOTIFY_SECTION_RESERVE - NOTIFY_MORE_LINE_MAX;
        size_t limit = out->len + room / (after + 1);
        size_t shown = 0;
        for (size_t i = 0; i < r->nitems; i++) {
            const struct report_item *it = &r->items[i];
            if (!s_in_section(&s_sections[k], it)) {
                continue;
            }
            buf_reset(&line);
            s_item_line(it, &line);
            if (buf_status(&line) != ERR_OK || out->len + line.len > limit) {
                break;
            }
            buf_append_span(out, buf_span(&line));
            shown++;
        }
        if (shown < counts[k]) {
            buf_appendf(out, "  " NOTIFY_ELLIPSIS " and %zu more\n", counts[k] - shown);
        }
    }
    buf_free(&line);
    TRY(buf_status(out));
    ENSURE(out->len - base <= max_bytes, ERR_LIMIT, "notify_body: over budget (a bug)");
    return ERR_OK;
}
