/*
 * targets.h - a multi-account, multi-region run: this shard's targets (backup/shard.h), and one full EBS cycle
 * per target, each in its own (account, region) AWS stack.
 *
 * The interface with the EBS job is one call for all targets, ebs_run_many (backup/ebs_many.h), with per target
 * a cycle whose cfg is a copy of the run's configuration with source_region the target's region and dest_region
 * its DR region (cfg_dest_region_for), everything else unchanged; whose aws is the target's client, from
 * aws_stack_open with aws_stack_options.account_id = the target's account (so per-(account, region, API) pacing
 * built inside the stack keys on it), .provider = an AssumeRole provider (NULL for the hub's own account, which
 * uses the default chain directly) and .http = the one HTTP client the targets share; and whose report is the
 * run's one report, with report->target set (through ebs_many.enter) whenever a target's phase or request
 * completion runs, so that every item recorded carries the target and its account. The EBS job knows nothing of
 * accounts; this file knows nothing of snapshots.
 *
 * Isolation: a target that cannot start (AssumeRole refused, region not enabled, EC2 unreachable) is recorded as
 * one REPORT_FAILED item and the next target runs; a target without tagged instances is reported as
 * "no_instances" and is not a failure. The targets' EBS work runs overlapped in one batch executor, so the process
 * never has more than MAX_CONCURRENCY requests in flight. A stop request (base/stop.h) opens no further target.
 */
#ifndef SV_BACKUP_TARGETS_H
#define SV_BACKUP_TARGETS_H

#include "aws/stack.h"
#include "backup/job.h"
#include "base/buf.h"
#include "cfg/cfg.h"

#include <stdbool.h>

/* A multi-target run: ACCOUNTS is set, or SOURCE_REGIONS names more than one region, or SHARD_COUNT > 1. */
bool targets_enabled(const struct cfg *c);

/*
 * Runs the EBS job for every target of this shard. `base` holds the stack options of the hub (CA, retries,
 * concurrency); `hub` is the cycle with the hub's client (Organizations, STS, reporting). Returns ERR_OK when
 * every target ran (some may still have recorded failures); an error when the run could not start (the hub's
 * account or the organization's accounts could not be listed: hub->could_not_start is then set).
 */
enum err targets_run(struct cycle *hub, const struct aws_stack_options *base) SV_MUST_CHECK;
/*
 * `smartvault report` in a multi-target configuration: every target of this shard is listed in its own account and
 * regions (its stack opened as a run opens it) and kept for the page's groups; nothing is created, copied or
 * deleted. A target that cannot be opened or listed is logged and left out; an error only when the run could not
 * start (as targets_run).
 */
enum err targets_survey(struct cycle *hub, const struct aws_stack_options *base) SV_MUST_CHECK;

/* What the targets' own stacks did (their API calls, retries, bytes), for cycle.done's totals. */
struct targets_totals {
    struct aws_op_stat ops[AWS_MAX_OPS];
    size_t nops;
    struct retry_counters retry;
    struct http_stats http;
};

/*
 * Adds the targets' totals (report->target_totals; nothing in a single-target run) to the hub's figures: ops by
 * name (at most `max`), retry counters and HTTP statistics.
 */
void targets_add_totals(
  const struct report *r,
  struct aws_op_stat *ops,
  size_t *nops,
  size_t max,
  struct retry_counters *rc,
  struct http_stats *hs);

/* Appends the `targets` array of cycle.done: [{"account_id", "region", "dest_region", "outcome", counts...}]. */
void targets_json(const struct report *r, struct buf *out);

#endif
