/*
 * cycle.h - one backup cycle (DESIGN.md §2): resolve, discover, snapshot, copy, retain, S3, report.
 *
 * A cycle is a reconciliation: it looks at what exists and moves it toward the policy, so a failed or repeated
 * run is safe to run again. Each job records what it did in the report (backup/report.h); main.c turns the
 * report into the exit code. One instance or object failing never stops the others.
 */
#ifndef SV_BACKUP_CYCLE_H
#define SV_BACKUP_CYCLE_H

#include "aws/stack.h"
#include "backup/report.h"
#include "base/arena.h"
#include "cfg/cfg.h"
#include "svc/ec2.h"

#include <stdbool.h>
#include <stdint.h>

/* What the EBS job listed, kept for the coverage report (backup/webreport); filled as each listing completes. */
struct cycle_fleet {
    bool discovered; /* instances: the backed-up instances (tag matched) */
    const struct ec2_instance *const *instances;
    size_t ninstances;
    bool src_listed;      /* src: SmartVault snapshots in the source region (after the re-list that follows creates) */
    struct ec2_snaps src; /* compact records (svc/ec2.h), owned here: freed by cycle_fleet_free */
    bool dst_listed;      /* dst: SmartVault snapshots in the DR region */
    struct ec2_snaps dst;
};

/* Frees the listings a cycle kept. */
void cycle_fleet_free(struct cycle_fleet *f);

struct cycle {
    const struct cfg *cfg;
    struct aws_client *aws;
    struct arena *arena;   /* lives for the cycle: lists, report strings */
    struct arena *scratch; /* response trees; rewound after each response */
    struct report *report;
    int64_t now_s;            /* SMARTVAULT_NOW, or the wall clock at start: the one "now" of every plan */
    bool skew_logged;         /* cycle.clock_skew was logged (once) */
    bool lease_held;          /* this run holds the overlap lease (backup/lease.h) */
    int64_t lease_renewed_ms; /* monotonic time of the last lease write */
    bool dry_run;             /* plan and log, mutate nothing */
    uint32_t page_size;       /* MaxResults of EC2 listings (EC2_PAGE_SIZE; tests lower it to prove pagination) */
    /*
     * Set when the cycle could not start at all (no credentials, endpoint unreachable before anything was
     * done): main.c exits 3 instead of 1.
     */
    bool could_not_start;
    struct cycle_fleet fleet; /* the EBS listings, for the coverage report */
};

enum cycle_outcome {
    CYCLE_OK = 0,       /* everything succeeded */
    CYCLE_PARTIAL,      /* the cycle ran, some actions failed (see the report) */
    CYCLE_CANNOT_START, /* no region, no credentials, endpoint unreachable: nothing was done */
    CYCLE_INTERRUPTED,  /* a stop (SIGTERM/SIGINT, RUN_TIMEOUT) ended the jobs early; what was done is reported */
    CYCLE_SKIPPED,      /* another live run holds the lease: nothing was done (exit 0) */
};

const char *cycle_outcome_name(enum cycle_outcome o);

/* The AWS stack options of a configuration (region, CA bundle, retry mode, attempts, concurrency). */
void cycle_stack_options(const struct cfg *cfg, struct aws_stack_options *so);

/*
 * True for the errors that mean the cycle could not start when a job's very first call fails with them: no
 * credentials, a configuration error found by the AWS layer, or the endpoint unreachable (exit 3).
 */
bool cycle_err_cannot_start(enum err e);

/*
 * Runs one cycle with a validated configuration. The report is filled (and must be freed by the caller with
 * report_free); `arena` is the cycle arena and must outlive the report. Logs `cycle.start` and `cycle.done`.
 */
enum cycle_outcome cycle_run(const struct cfg *cfg, struct report *report, struct arena *arena);

/*
 * The "now" of a decision that creates or deletes (due-ness, the DR window, retention). SMARTVAULT_NOW when set
 * (what-if planning is the operator's explicit choice). Otherwise AWS's clock when the skew learned from AWS's
 * responses (aws/call.h) is 5 minutes or more: a host whose clock is days fast must not delete days early. The
 * first time the corrected clock is used, one `cycle.clock_skew` warning says by how much; cy->now_s follows.
 */
int64_t cycle_decision_now_s(struct cycle *cy);

/* A phase boundary or a turn of a waiting loop: renews the run lease when it is due (backup/lease.h). */
void cycle_heartbeat(struct cycle *cy);

/* The EBS job: discovery, snapshots, cross-region copies, retention in both regions. */
enum err ebs_run(struct cycle *cy) SV_MUST_CHECK;

/*
 * The reporting step (backup/publish.c), after the jobs: DynamoDB audit items, CloudWatch metrics (METRICS_MODE),
 * the SNS summary — each derived from the report. A failure is recorded as a REPORT_FAILED item of job
 * REPORT_JOB_REPORTING and logged (report.<channel>_failed); it never changes what the jobs recorded. Dry run:
 * renders and logs what would be sent, sends nothing. Returns the first failure; ERR_OK when all configured
 * channels were published.
 */
enum err report_publish(struct cycle *cy) SV_MUST_CHECK;
/*
 * The EBS job's listings only (discovery, source and DR snapshots) into cy->fleet, for `smartvault report`:
 * nothing is created, copied or deleted. A failed listing is recorded in the report as the job would.
 */
enum err ebs_survey(struct cycle *cy) SV_MUST_CHECK;
/*
 * `smartvault report --out FILE`: the coverage page from the live account (listings only, no cycle), written to
 * `out_path`; `json_path` (or NULL) gets report.json. CYCLE_PARTIAL when a listing failed (the page says so).
 */
enum cycle_outcome
cycle_report_page(const struct cfg *cfg, struct arena *arena, const char *out_path, const char *json_path);
/* The coverage page in S3, for the SNS summary: strings in the cycle arena, NULL when there is none. */
struct cycle_page_link {
    const char *location; /* "s3://bucket/<prefix>index.html" */
    const char *url;      /* presigned GET URL */
    int64_t expires_at;   /* Unix seconds when the URL stops working */
};
/*
 * The coverage page and report.json (backup/webreport_publish.c): built from cy->fleet and the report, put to
 * REPORT_BUCKET under REPORT_PREFIX, and a presigned link made for the SNS summary. A failure is recorded like
 * any reporting failure (one REPORT_FAILED item of job reporting, report.page_failed); dry run: rendered and
 * logged, not written.
 */
enum err webreport_publish(struct cycle *cy, struct cycle_page_link *link) SV_MUST_CHECK;
/*
 * With DYNAMODB_TABLE and REPORT_BUCKET: one run item (pk "smartvault#runs", sk "<start>#<run id>", outcome, duration,
 * counts, expires_at) so the page's "last runs" is one Query. A failure is a warning (report.run_index_failed).
 */
enum err webreport_record_run(struct cycle *cy) SV_MUST_CHECK;
/* The page (and report.json when json_path is set) from cy->fleet and cy->report, written to local files. */
enum err webreport_write_files(struct cycle *cy, const char *html_path, const char *json_path) SV_MUST_CHECK;
/* The S3 job (backup/s3copy.c): incremental server-side copy of the source bucket into the routed buckets. */
enum err s3_run(struct cycle *cy) SV_MUST_CHECK;

/* Tag names SmartVault writes and reads (DESIGN.md §3, §4). */
#define TAG_CREATED_BY "CreatedBy"
#define TAG_CREATED_BY_VALUE "SmartVault"
#define TAG_INSTANCE_ID "InstanceId"
#define TAG_CREATED_ON "CreatedOn"
#define TAG_NAME "Name"
#define TAG_RUN_ID "SmartVault:RunId"
#define TAG_HOLD "SmartVault:Hold"
#define TAG_SOURCE_SNAPSHOT_ID "SourceSnapshotId"
#define TAG_SOURCE_REGION "SourceRegion"
#define TAG_VOLUME_ID "VolumeId"
#define TAG_RETENTION "retention"

#endif
