/*
 * cycle.h - one backup cycle (DESIGN.md §2): resolve, discover, snapshot, copy, retain, S3, report.
 *
 * A cycle is a reconciliation: it looks at what exists and moves it toward the policy, so a failed or repeated
 * run is safe to run again. Each job records what it did in the report (backup/report.h); main.c turns the
 * report into the exit code. One instance or object failing never stops the others. What the jobs share is
 * backup/job.h; each job has its own header (ebs.h, s3copy.h, drill.h, publish.h, targets.h) and cycle.c is the
 * only file that calls them in order.
 */
#ifndef SV_BACKUP_CYCLE_H
#define SV_BACKUP_CYCLE_H

#include "backup/report.h"
#include "base/arena.h"
#include "cfg/cfg.h"

enum cycle_outcome {
    CYCLE_OK = 0,       /* everything succeeded */
    CYCLE_PARTIAL,      /* the cycle ran, some actions failed (see the report) */
    CYCLE_CANNOT_START, /* no region, no credentials, endpoint unreachable: nothing was done */
    CYCLE_INTERRUPTED,  /* a stop (SIGTERM/SIGINT, RUN_TIMEOUT) ended the jobs early; what was done is reported */
    CYCLE_SKIPPED,      /* another live run holds the lease: nothing was done (exit 0) */
};

const char *cycle_outcome_name(enum cycle_outcome o);

/*
 * Runs one cycle with a validated configuration. The report is filled (and must be freed by the caller with
 * report_free); `arena` is the cycle arena and must outlive the report. Logs `cycle.start` and `cycle.done`.
 */
enum cycle_outcome cycle_run(const struct cfg *cfg, struct report *report, struct arena *arena);

/*
 * `smartvault report --out FILE`: the coverage page from the live account (listings only, no cycle), written to
 * `out_path`; `json_path` (or NULL) gets report.json. CYCLE_PARTIAL when a listing failed (the page says so).
 */
enum cycle_outcome
cycle_report_page(const struct cfg *cfg, struct arena *arena, const char *out_path, const char *json_path);

#endif
