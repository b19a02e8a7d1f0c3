/*
 * webreport_publish.h - the coverage page's I/O (backup/webreport_publish.c): put to S3 with a presigned link,
 * the run index item, or local files. The page itself is built and rendered by backup/webreport.h.
 */
#ifndef SV_BACKUP_WEBREPORT_PUBLISH_H
#define SV_BACKUP_WEBREPORT_PUBLISH_H

#include "backup/job.h"

/* The coverage page in S3, for the SNS summary: strings in the cycle arena, NULL when there is none. */
struct webreport_page_link {
    const char *location; /* "s3://bucket/<prefix>index.html" */
    const char *url;      /* presigned GET URL */
    int64_t expires_at;   /* Unix seconds when the URL stops working */
};
/*
 * The coverage page and report.json: built from cy->fleet and the report, put to REPORT_BUCKET under
 * REPORT_PREFIX, and a presigned link made for the SNS summary. A failure is recorded like any reporting failure
 * (one REPORT_FAILED item of job reporting, report.page_failed); dry run: rendered and logged, not written.
 */
enum err webreport_publish(struct cycle *cy, struct webreport_page_link *link) SV_MUST_CHECK;
/*
 * With DYNAMODB_TABLE and REPORT_BUCKET: one run item (pk "smartvault#runs", sk "<start>#<run id>", outcome, duration,
 * counts, expires_at) so the page's "last runs" is one Query. A failure is a warning (report.run_index_failed).
 */
enum err webreport_record_run(struct cycle *cy) SV_MUST_CHECK;
/*
 * Multi-target runs: a target's listings (target->fleet) moved onto the hub's list for the page's groups; the
 * hub's job_fleet_free frees them.
 */
void webreport_keep_target_fleet(struct cycle *hub, struct cycle *target, const char *account_id);
/* The page (and report.json when json_path is set) from cy->fleet and cy->report, written to local files. */
enum err webreport_write_files(struct cycle *cy, const char *html_path, const char *json_path) SV_MUST_CHECK;

#endif
