/*
 * restore_plan.h - the pure planners behind `restore`, `list` and the restore drill (backup/restore_plan.c):
 * which snapshot set to restore, which volumes to drill this cycle. They take plain structs and `now`; the
 * commands and the drill do the calls (backup/ec2io.c) and log.
 */
#ifndef SV_BACKUP_RESTORE_PLAN_H
#define SV_BACKUP_RESTORE_PLAN_H

#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One SmartVault snapshot (or DR copy) as the planners see it. */
struct restore_snap {
    struct span snapshot_id;
    struct span volume_id; /* the source volume (a copy's VolumeId tag) */
    struct span set_id;    /* the run that made it: SmartVault:RunId (copies: SmartVault:SourceRunId) */
    struct span device;    /* SmartVault:Device, may be empty */
    struct span instance_id;
    bool completed;
    int64_t start_time_s;
};

/* The chosen crash-consistent set: indexes into the snapshots, one per volume. */
struct restore_set {
    struct span set_id;
    size_t *members;
    size_t nmembers;
    size_t newer_incomplete; /* sets newer than this one (started <= at) that were skipped: some not completed */
};

/*
 * The newest set (by its newest StartTime, ties by set id) whose snapshots, restricted to `volumes` when
 * nvolumes > 0, are all completed and all started at or before `at_s`; with `volumes`, the set must hold each
 * of them. `members` is allocated in `a`. ERR_NOT_FOUND when no set qualifies.
 */
enum err restore_pick_set(
  struct arena *a,
  const struct restore_snap *snaps,
  size_t n,
  int64_t at_s,
  const struct span *volumes,
  size_t nvolumes,
  struct restore_set *out) SV_MUST_CHECK;

/*
 * The drill rotation: which `n` of the `nvol` volume ids (distinct) to drill in the cycle numbered `cycle_no`.
 * Volumes are ordered by a stable hash of their id and cut into ceil(nvol/n) windows of n; cycle k drills window
 * k mod ceil(nvol/n), so any ceil(nvol/n) consecutive cycle numbers drill every volume. Writes up to n indexes
 * into `out` and returns how many. The order is computed in `a`.
 */
size_t restore_drill_pick(
  struct arena *a,
  const struct span *volume_ids,
  size_t nvol,
  uint32_t n,
  uint64_t cycle_no,
  size_t *out);
/* The cycle number of the drill rotation: whole schedule periods since the epoch, rounded to the nearest. */
uint64_t restore_drill_cycle_no(int64_t now_s, int64_t period_s);

#endif
