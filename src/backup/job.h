/*
 * job.h - what every job of one backup cycle shares: the cycle's state (configuration, AWS client, arenas,
 * report, the one "now"), the EBS listings kept for the coverage page, and the few rules every job applies the
 * same way (which first failure means "could not start", the "now" of a decision, the AWS stack options).
 *
 * The jobs (ebs.h, s3copy.h, drill.h, publish.h, ...) take a `struct cycle *` and include this header; cycle.c
 * fills the state and calls them. Nothing here calls a job, so no job depends on cycle.c.
 */
#ifndef SV_BACKUP_JOB_H
#define SV_BACKUP_JOB_H

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
    struct ec2_snaps src; /* compact records (svc/ec2.h), owned here: freed by job_fleet_free */
    bool dst_listed;      /* dst: SmartVault snapshots in the DR region */
    struct ec2_snaps dst;
    /*
     * Multi-target runs: each target's listings (webreport_keep_target_fleet moves them here, the target's own
     * fleet is left empty), in run order, from the hub's; job_fleet_free frees them with the hub's.
     */
    const char *account, *region, *dest_region;
    struct cycle_fleet *next;
};

/* The state of one cycle, shared by its jobs (and by the `list`/`restore` commands' sessions, backup/ec2io.h). */
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
    bool lease_renewing;      /* a renewal is on the wire (lease_renew_in_run) */
    bool dry_run;             /* plan and log, mutate nothing */
    uint32_t page_size;       /* MaxResults of EC2 listings (EC2_PAGE_SIZE; tests lower it to prove pagination) */
    /*
     * Set when the cycle could not start at all (no credentials, endpoint unreachable before anything was
     * done): main.c exits 3 instead of 1.
     */
    bool could_not_start;
    struct cycle_fleet fleet; /* the EBS listings, for the coverage report */
    /* The audit items written during the run (backup/audit_stream.h); NULL without a table or in a dry run. */
    struct audit_stream *audit_stream;
};

/* Frees the listings a cycle kept: its own and those of every target on its `next` list. */
void job_fleet_free(struct cycle_fleet *f);

/* The AWS stack options of a configuration (region, CA bundle, retry mode, attempts, concurrency). */
void job_stack_options(const struct cfg *cfg, struct aws_stack_options *so);

/*
 * True for the errors that mean the cycle could not start when a job's very first call fails with them: no
 * credentials, a configuration error found by the AWS layer, or the endpoint unreachable (exit 3).
 */
bool job_err_cannot_start(enum err e);

/*
 * The "now" of a decision that creates or deletes (due-ness, the DR window, retention). SMARTVAULT_NOW when set
 * (what-if planning is the operator's explicit choice). Otherwise AWS's clock when the skew learned from AWS's
 * responses (aws/call.h) is 5 minutes or more: a host whose clock is days fast must not delete days early. The
 * first time the corrected clock is used, one `cycle.clock_skew` warning says by how much; cy->now_s follows.
 */
int64_t job_decision_now_s(struct cycle *cy);

#endif
