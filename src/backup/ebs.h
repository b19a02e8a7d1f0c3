/*
 * ebs.h - the EBS job (backup/ebs.c): discovery, snapshots, cross-region copies, retention in both regions.
 */
#ifndef SV_BACKUP_EBS_H
#define SV_BACKUP_EBS_H

#include "backup/job.h"

/* The whole job for one target (account, region, shard); every action is recorded in cy->report. */
enum err ebs_run(struct cycle *cy) SV_MUST_CHECK;
/*
 * The EBS job's listings only (discovery, source and DR snapshots) into cy->fleet, for `smartvault report`:
 * nothing is created, copied or deleted. A failed listing is recorded in the report as the job would.
 */
enum err ebs_survey(struct cycle *cy) SV_MUST_CHECK;

#endif
