/*
 * coverage.h - how well the fleet is protected after a cycle, as opposed to how much the cycle did: the number of
 * backed-up volumes whose newest SmartVault snapshot (pending or completed) is older than the recovery point
 * objective, and the age of the oldest such newest snapshot. A kill + re-run creates nothing (nothing is due)
 * and is fully covered; a fleet whose snapshots keep failing is not, whatever the counts say. Pure: no clock, no
 * I/O, no allocation but the caller's arena.
 *
 * Inputs: the volumes the job backs up (those of the tagged instances it discovered), and every snapshot known to
 * count for them: the source-region listing (its state and StartTime) and the snapshots this run created (whose
 * listing may be older than them, e.g. after a stop), given as backups of a volume at a time. A volume listed twice
 * counts once. A snapshot counts when its state is pending or completed (an `error` snapshot protects nothing).
 *
 * Age = now - StartTime, never negative (a snapshot dated in the future is as recent as now). A volume is outside
 * the RPO when it has no counting snapshot, or its newest one's age is greater than rpo_s (exactly rpo_s is
 * inside). oldest_age_s is the largest newest-snapshot age over volumes that have one (0 when none has).
 */
#ifndef SV_BACKUP_COVERAGE_H
#define SV_BACKUP_COVERAGE_H

#include "base/arena.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coverage_backup {
    struct span volume_id;
    int64_t start_time_s;
    bool counts; /* pending or completed */
};

struct coverage {
    bool known;               /* computed in this run (the EBS job got as far as discovery and listing) */
    int64_t rpo_s;            /* the objective it was measured against */
    uint64_t volumes;         /* distinct volumes backed up */
    uint64_t outside_rpo;     /* VolumesOutsideRpo: including those never backed up */
    uint64_t never_backed_up; /* no counting snapshot at all */
    int64_t oldest_age_s;     /* OldestBackupAgeSeconds */
};

/*
 * Adds one part's coverage (one target of a multi-account, multi-region run) to a total: volumes, volumes outside
 * the RPO and never backed up add up, the oldest age is the larger. A total not yet known becomes the part.
 */
void coverage_add(struct coverage *total, const struct coverage *part);

/* Fills *out; `scratch` holds a sorted copy of the backups for the call's duration (the caller rewinds it). */
void coverage_compute(
  struct arena *scratch,
  const struct span *volumes,
  size_t nvolumes,
  const struct coverage_backup *backups,
  size_t nbackups,
  int64_t now_s,
  int64_t rpo_s,
  struct coverage *out);

#endif
