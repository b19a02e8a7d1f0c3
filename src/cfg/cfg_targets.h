/*
 * cfg_targets.h - the shape of the multi-account, multi-region variables: pure functions over one value each,
 * composed by cfg.c into the one error line (cfg.h). Lists are comma-separated, entries trimmed; empty entries,
 * duplicates and lists longer than their named maximum (cfg.h) are refused.
 *
 * Each returns ERR_OK or ERR_CONFIG (without raising: cfg.c raises with the whole line). On ERR_CONFIG, *why
 * completes "<VARIABLE>: ..."; it may live in `a`. Outputs live in `a`.
 */
#ifndef SV_CFG_CFG_TARGETS_H
#define SV_CFG_CFG_TARGETS_H

#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"
#include "cfg/cfg_vars.h"

#include <stdbool.h>
#include <stddef.h>

/* One DEST_REGION_MAP entry: snapshots of `source` are copied to `dest`. */
struct cfg_region_map {
    const char *source;
    const char *dest;
};

/* SOURCE_REGIONS: "us-east-1,eu-west-1": valid region names, at most CFG_SOURCE_REGIONS_MAX, unique. */
enum err cfg_targets_regions(struct span v, struct arena *a, const char *const **out, size_t *n, const char **why)
  SV_MUST_CHECK;

/*
 * DEST_REGION_MAP: "us-east-1=us-west-2,eu-west-1=eu-central-1": each side a valid region, the two sides
 * different and in the same partition, each source at most once.
 */
enum err cfg_targets_region_map(
  struct span v,
  struct arena *a,
  const struct cfg_region_map **out,
  size_t *n,
  const char **why) SV_MUST_CHECK;

/* ACCOUNTS (when not "organization") and ACCOUNTS_EXCLUDE: 12-digit account ids, unique. */
enum err cfg_targets_accounts(struct span v, struct arena *a, const char *const **out, size_t *n, const char **why)
  SV_MUST_CHECK;

/* Exactly 12 ASCII digits. */
bool cfg_targets_is_account_id(struct span s);

/* ACCOUNT_ROLE_NAME: an IAM role name, 1-64 of [A-Za-z0-9+=,.@_-]. *why is static. */
enum err cfg_targets_role_name(struct span s, const char **why) SV_MUST_CHECK;

/* ACCOUNT_ROLE_EXTERNAL_ID: 2-1224 of [A-Za-z0-9+=,.@:/_-] (STS AssumeRole). *why is static. */
enum err cfg_targets_external_id(struct span s, const char **why) SV_MUST_CHECK;

#endif
