/*
 * publish.h - the reporting step (backup/publish.c), after the jobs: DynamoDB audit items, CloudWatch metrics
 * (METRICS_MODE), the coverage page, the SNS summary - each derived from the report.
 */
#ifndef SV_BACKUP_PUBLISH_H
#define SV_BACKUP_PUBLISH_H

#include "backup/job.h"

/*
 * A failure is recorded as a REPORT_FAILED item of job REPORT_JOB_REPORTING and logged (report.<channel>_failed);
 * it never changes what the jobs recorded. Dry run: renders and logs what would be sent, sends nothing. Returns
 * the first failure; ERR_OK when all configured channels were published.
 */
enum err publish_run(struct cycle *cy) SV_MUST_CHECK;

#endif
