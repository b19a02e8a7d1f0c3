/*
 * cycle.c - one backup cycle from a validated configuration: resolve the region, open the AWS stack, run the
 * jobs, report, and log the one `cycle.done` line with every count.
 *
 * The outcome (ok, partial, could not start) is a fact the cycle states; main.c maps it to the exit code.
 */
#include "backup/cycle.h"

#include "aws/imds.h"
#include "backup/audit_stream.h"
#include "backup/drill.h"
#include "backup/ebs.h"
#include "backup/heartbeat.h"
#include "backup/job.h"
#include "backup/lease.h"
#include "backup/publish.h"
#include "backup/s3copy.h"
#include "backup/targets.h"
#include "backup/webreport_publish.h"
#include "base/log.h"
#include "base/stop.h"
#include "base/time.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* EC2 listings: the largest page the API allows (tests lower it with EC2_PAGE_SIZE to prove pagination). */
#define CYCLE_DEFAULT_PAGE_SIZE 1000

const char *cycle_outcome_name(enum cycle_outcome o) {
    switch (o) {
        case CYCLE_OK:
            return "ok";
        case CYCLE_PARTIAL:
            return "partial";
        case CYCLE_CANNOT_START:
            return "could_not_start";
        case CYCLE_INTERRUPTED:
            return "interrupted";
        case CYCLE_SKIPPED:
            return "skipped";
    }
    return "unknown";
}

/*
 * Peak resident memory of this process image. VmHWM belongs to the address space made by execve; getrusage's
 * ru_maxrss does not: Linux keeps the high-water mark across execve, so a cycle started by a large parent (a
 * Python test runner, 80 MB) would report the parent's figure. ru_maxrss is the fallback without /proc.
 */
static long s_peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f != NULL) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "VmHWM:", 6) == 0) {
                kb = strtol(line + 6, NULL, 10);
                break;
            }
        }
        fclose(f);
        if (kb >= 0) {
            return kb;
        }
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

/* The coverage figures of cycle.done ("null" when the EBS job did not compute them). */
static void s_coverage_json(const struct coverage *cv, struct buf *out) {
    buf_init(out, 512);
    if (!cv->known) {
        buf_append_cstr(out, "null");
        return;
    }
    buf_appendf(
      out,
      "{\"rpo_s\":%lld,\"volumes\":%llu,\"volumes_outside_rpo\":%llu,\"never_backed_up\":%llu,"
      "\"oldest_backup_age_s\":%lld}",
      (long long) cv->rpo_s,
      (unsigned long long) cv->volumes,
      (unsigned long long) cv->outside_rpo,
      (unsigned long long) cv->never_backed_up,
      (long long) cv->oldest_age_s);
}

/* API calls by operation as a JSON object; returns their total. */
static uint64_t s_calls_json(const struct aws_op_stat *ops, size_t nops, struct buf *out) {
    buf_init(out, 8192);
    buf_append_char(out, '{');
    uint64_t total = 0;
    for (size_t i = 0; i < nops; i++) {
        buf_appendf(out, "%s\"%s\":%llu", i ? "," : "", ops[i].name, (unsigned long long) ops[i].calls);
        total += ops[i].calls;
    }
    buf_append_char(out, '}');
    return total;
}

/* The final line: every count of the report, API calls by operation, retries, time and memory. */
static void
s_log_done(const struct cycle *cy, const struct aws_stack *st, enum cycle_outcome outcome, int64_t wall_ms) {
    struct report_counts c = report_counts(cy->report);
    struct buf counts;
    buf_init(&counts, 4096);
    buf_append_char(&counts, '{');
    report_counts_json(&c, &counts);
    buf_append_char(&counts, '}');
    /* The hub's own calls, plus those of the targets' stacks in a multi-account run (backup/targets.h). */
    struct aws_op_stat ops[AWS_MAX_OPS];
    size_t nops = 0;
    struct retry_counters rcs = pacing_counters(&st->pacing);
    struct http_stats hss = { 0 };
    if (st->client) {
        const struct aws_op_stat *hub_ops = aws_client_ops(st->client, &nops);
        memcpy(ops, hub_ops, nops * sizeof(ops[0]));
    }
    if (st->http) {
        hss = *http_client_stats(st->http);
    }
    targets_add_totals(cy->report, ops, &nops, AWS_MAX_OPS, &rcs, &hss);
    struct buf coverage;
    s_coverage_json(&cy->report->coverage, &coverage);
    struct buf calls;
    uint64_t total = s_calls_json(ops, nops, &calls);
    struct buf targets;
    buf_init(&targets, BUF_MAX_REQUEST);
    targets_json(cy->report, &targets);
    const struct retry_counters *rc = &rcs;
    const struct http_stats *hs = &hss;
    LOG(
      outcome == CYCLE_OK ? LOG_INFO : LOG_WARN,
      "cycle.done",
      LF_S("run_id", cy->report->run_id),
      LF_S("outcome", cycle_outcome_name(outcome)),
      LF_S("stop_reason", stop_requested() ? stop_reason_name(stop_reason()) : NULL),
      LF_I("stop_elapsed_ms", stop_requested() ? stop_elapsed_ms(time_mono_ms()) : 0),
      LF_B("dry_run", cy->dry_run),
      LF_RAW("counts", buf_span(&counts)),
      LF_RAW("coverage", buf_span(&coverage)),
      LF_RAW("api_calls", buf_span(&calls)),
      LF_RAW("targets", buf_status(&targets) == ERR_OK ? buf_span(&targets) : SPAN_LIT("null")),
      LF_U("api_calls_total", total),
      LF_U("attempts", rc->attempts),
      LF_U("retries", rc->retries),
      LF_U("throttles", rc->throttles),
      LF_U("limiter_waits", rc->limiter_waits),
      LF_I("dr_backlog", cy->report->dr_backlog_known ? (int64_t) cy->report->dr_backlog : -1),
      LF_I("dr_backlog_oldest_s", cy->report->dr_backlog_oldest_s),
      LF_U("tls_handshakes", hs->tls_handshakes),
      LF_U("bytes_sent", hs->bytes_sent),
      LF_U("bytes_received", hs->bytes_received),
      LF_I("wall_ms", wall_ms),
      LF_I("peak_rss_kb", s_peak_rss_kb()),
      LF_U("arena_peak_bytes", cy->arena->peak_total));
    buf_free(&counts);
    buf_free(&coverage);
    buf_free(&calls);
    buf_free(&targets);
}

/* No region configured: ask IMDS (on EC2 and ECS-on-EC2), as the SDKs do. */
static enum err
s_resolve_region(const struct cfg *cfg, struct http_client *http, int64_t now_s, char out[REGION_MAX + 1]) {
    enum err e = imds_discover_region(&cfg->env, http, now_s, out);
    if (e != ERR_OK) {
        LOG(
          LOG_ERROR,
          "cycle.no_region",
          LF_S("error", err_name(e)),
          LF_S("hint", "set SOURCE_REGION or AWS_REGION (IMDS did not answer)"));
    }
    return e;
}

/* A stop that came during the jobs marks the run interrupted; one during the reports only bounds them (stop.h). */
static void s_begin_ending(struct report *report) {
    stop_begin_ending();
    if (!stop_requested()) {
        return;
    }
    report->interrupted = true;
    report->stop_reason = stop_reason_name(stop_reason());
    LOG(
      LOG_WARN,
      "cycle.stopping",
      LF_S("reason", report->stop_reason),
      LF_I("signal", stop_signal()),
      LF_I("elapsed_ms", stop_elapsed_ms(time_mono_ms())),
      LF_S("detail", "no new work started; reporting what was done"));
}

/* No region configured (EBS or S3 on): the region from IMDS, into `resolved` (a copy of the configuration). */
static enum cycle_outcome s_resolve(struct cycle *cy, struct http_client *http, struct cfg *resolved) {
    if (resolved->source_region != NULL || !(resolved->ebs_backup || resolved->s3_enabled)) {
        return CYCLE_OK;
    }
    char region[REGION_MAX + 1];
    if (s_resolve_region(cy->cfg, http, cy->now_s, region) != ERR_OK) {
        return CYCLE_CANNOT_START;
    }
    resolved->source_region = arena_strndup(cy->arena, region, strlen(region));
    resolved->source_regions = &resolved->source_region;
    resolved->nsource_regions = 1;
    if (resolved->dest_region && strcmp(resolved->dest_region, resolved->source_region) == 0) {
        LOG(
          LOG_ERROR,
          "cycle.bad_region",
          LF_S("error", "DEST_REGION: must differ from the source region"),
          LF_S("source_region", region));
        return CYCLE_CANNOT_START;
    }
    return CYCLE_OK;
}

static void s_log_start(const struct cycle *cy) {
    LOG(
      LOG_INFO,
      "cycle.start",
      LF_S("run_id", cy->report->run_id),
      LF_S("version", SMARTVAULT_VERSION),
      LF_S("region", cy->cfg->source_region),
      LF_S("dest_region", cy->cfg->dest_region),
      LF_B("dry_run", cy->dry_run),
      LF_B("ebs", cy->cfg->ebs_backup),
      LF_B("s3", cy->cfg->s3_enabled));
}

/* True when another live run holds the lease (logged): this run does nothing. */
static bool s_lease_busy(struct cycle *cy) {
    if (lease_acquire(cy) != LEASE_BUSY) {
        return false;
    }
    LOG(
      LOG_WARN,
      "cycle.skipped",
      LF_S("reason", "another run for this account and region holds the lease"),
      LF_S("table", cy->cfg->dynamodb_table),
      LF_S("region", cy->cfg->source_region),
      LF_I("lease_ttl_s", LEASE_TTL_S),
      LF_S("detail", "nothing was done; the next scheduled run continues"));
    return true;
}

/* A job that ended early for another reason than a stop (its failures are in the report). */
static void s_log_incomplete(const char *event, enum err e) {
    if (e != ERR_OK && !stop_requested()) {
        LOG(LOG_ERROR, event, LF_S("error", err_name(e)), LF_S("detail", err_last()->msg));
    }
}

/*
 * The jobs in order: EBS (one per target in a multi-account, multi-region or sharded run), S3, the restore drill.
 * CYCLE_CANNOT_START when a job's first call showed the cycle could not start; CYCLE_OK otherwise (what each job
 * did is in the report).
 */
static enum cycle_outcome s_jobs(struct cycle *cy, const struct aws_stack_options *so) {
    const struct cfg *c = cy->cfg;
    if (c->ebs_backup) {
        /* Several accounts, regions or shards: one EBS cycle per target (backup/targets.h). */
        enum err e = targets_enabled(c) ? targets_run(cy, so) : ebs_run(cy);
        if (e != ERR_OK && cy->could_not_start) {
            return CYCLE_CANNOT_START;
        }
        s_log_incomplete("ebs.incomplete", e);
    }
    heartbeat(cy);
    /* The S3 job runs whatever the EBS job did (one job failing never stops the other), unless a stop came; in a
     * sharded run only shard 0 runs it. */
    if (c->s3_enabled && c->shard_index != 0) {
        LOG(LOG_INFO, "s3.other_shard", LF_U("shard_index", c->shard_index), LF_S("detail", "shard 0 runs it"));
    }
    if (c->s3_enabled && c->shard_index == 0 && !stop_requested()) {
        enum err e = s3copy_run(cy);
        if (e != ERR_OK && cy->could_not_start) {
            return CYCLE_CANNOT_START;
        }
        s_log_incomplete("s3.incomplete", e);
    }
    /* The restore drill (RESTORE_DRILL) after the backup, so it can drill what this cycle made (a multi-target run
     * drills inside each target). */
    if (c->ebs_backup && !targets_enabled(c) && !stop_requested()) {
        drill_run(cy);
    }
    return CYCLE_OK;
}

/* After the jobs: the ending, the reports, and the outcome of a cycle that ran. */
static enum cycle_outcome s_report(struct cycle *cy, int64_t start_mono) {
    struct report *report = cy->report;
    /* The jobs have returned: the reports below are the ending's own requests, even if a stop comes now. */
    s_begin_ending(report);
    /* Report (audit, metrics, SNS) with the duration so far; a failure to report is recorded as a failure. */
    report->wall_ms = time_mono_ms() - start_mono;
    if (stop_requested()) {
        LOG(
          LOG_WARN,
          "cycle.stopped",
          LF_S("reason", stop_reason_name(stop_reason())),
          LF_U("deferred", report_counts(report).deferred),
          LF_I("run_timeout_s", cy->cfg->run_timeout_s));
    }
    if (publish_run(cy) != ERR_OK) {
        LOG(LOG_WARN, "report.incomplete", LF_S("detail", "see report.*_failed; the jobs' results stand"));
    }
    /*
     * Any recorded failure (including one that stopped the EBS job early) makes the cycle partial, and so does a
     * stop: what it left undone is reported as deferred, and exit 1 tells the scheduler the run did not finish.
     */
    enum cycle_outcome outcome = CYCLE_OK;
    if (report_has_failures(report) || report_counts(report).deferred > 0 || stop_requested()) {
        outcome = CYCLE_PARTIAL;
    }
    if (report->interrupted && stop_reason() == STOP_SIGNAL) {
        outcome = CYCLE_INTERRUPTED; /* main.c exits 4: the scheduler stopped the run, whatever else happened */
    }
    return outcome;
}

enum cycle_outcome cycle_run(const struct cfg *cfg, struct report *report, struct arena *arena) {
    int64_t start_mono = time_mono_ms();
    int64_t wall_now_ms = time_wall_ms();
    struct arena scratch;
    arena_init(&scratch, 0);
    struct cycle cy = {
        .cfg = cfg,
        .arena = arena,
        .scratch = &scratch,
        .report = report,
        .now_s = (cfg->now_set ? cfg->now_ms : wall_now_ms) / 1000,
        .dry_run = cfg->dry_run,
        .page_size = cfg->ec2_page_size ? cfg->ec2_page_size : CYCLE_DEFAULT_PAGE_SIZE,
    };
    report_init(report, arena, cfg->now_set ? cfg->now_ms : wall_now_ms);
    report->dry_run = cfg->dry_run;

    struct aws_stack_options so;
    job_stack_options(cfg, &so);
    so.run_deadline_ms = start_mono + cfg->run_timeout_s * 1000;
    struct aws_stack st;
    struct cfg resolved = *cfg; /* with the region IMDS said, when it had to */
    enum cycle_outcome outcome = CYCLE_CANNOT_START;
    if (aws_stack_open(&so, &st) != ERR_OK) {
        LOG(LOG_ERROR, "cycle.cannot_start", LF_S("error", err_last()->msg));
        memset(&st, 0, sizeof(st));
        goto done;
    }
    cy.aws = st.client;
    outcome = s_resolve(&cy, st.http, &resolved);
    if (outcome != CYCLE_OK) {
        goto done;
    }
    cy.cfg = &resolved;
    s_log_start(&cy);
    if (s_lease_busy(&cy)) {
        outcome = CYCLE_SKIPPED;
        goto done;
    }
    audit_stream_start(&cy);
    outcome = s_jobs(&cy, &so);
    if (outcome == CYCLE_OK) {
        outcome = s_report(&cy, start_mono);
    }
done:
    stop_begin_ending(); /* the lease's release is the ending's own request, also after a stop */
    lease_release(&cy);
    audit_stream_free(&cy);
    report->end_ms = time_wall_ms();
    report->wall_ms = time_mono_ms() - start_mono;
    s_log_done(&cy, &st, outcome, report->wall_ms);
    aws_stack_close(&st);
    job_fleet_free(&cy.fleet);
    arena_free(&scratch);
    return outcome;
}

/*
 * `smartvault report`: the same stack and region resolution as a cycle, then only the EBS listings and the page.
 * Nothing is created, copied, deleted or published; the one log line is report.page (or the failure).
 */
enum cycle_outcome
cycle_report_page(const struct cfg *cfg, struct arena *arena, const char *out_path, const char *json_path) {
    struct arena scratch;
    arena_init(&scratch, 0);
    struct report report;
    report_init(&report, arena, cfg->now_set ? cfg->now_ms : time_wall_ms());
    struct cycle cy = {
        .cfg = cfg,
        .arena = arena,
        .scratch = &scratch,
        .report = &report,
        .now_s = (cfg->now_set ? cfg->now_ms : time_wall_ms()) / 1000,
        .dry_run = true,
        .page_size = cfg->ec2_page_size ? cfg->ec2_page_size : CYCLE_DEFAULT_PAGE_SIZE,
    };
    struct aws_stack_options so;
    job_stack_options(cfg, &so);
    struct aws_stack st;
    enum cycle_outcome outcome = CYCLE_CANNOT_START;
    struct cfg resolved = *cfg;
    char region[REGION_MAX + 1];
    if (aws_stack_open(&so, &st) != ERR_OK) {
        LOG(LOG_ERROR, "report.cannot_start", LF_S("error", err_last()->msg));
        goto out;
    }
    cy.aws = st.client;
    if (resolved.source_region == NULL) {
        if (s_resolve_region(cfg, st.http, cy.now_s, region) != ERR_OK) {
            goto close;
        }
        resolved.source_region = region;
    }
    cy.cfg = &resolved;
    enum err e = targets_enabled(&resolved) ? targets_survey(&cy, &so) : ebs_survey(&cy);
    if (e != ERR_OK && cy.could_not_start) {
        goto close;
    }
    e = webreport_write_files(&cy, out_path, json_path);
    outcome = e != ERR_OK || report_has_failures(&report) ? CYCLE_PARTIAL : CYCLE_OK;
close:
    aws_stack_close(&st);
out:
    job_fleet_free(&cy.fleet);
    report_free(&report);
    arena_free(&scratch);
    return outcome;
}
