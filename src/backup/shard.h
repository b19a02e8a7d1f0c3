/*
 * shard.h - the target list of a run and which shard runs which target. Pure functions: no I/O, no clock.
 *
 * A target is one (account, source region) with its DR region (cfg_dest_region_for). The list is every listed
 * account (minus ACCOUNTS_EXCLUDE) times every source region, accounts in the order given (Organizations: the
 * order it lists them), regions in SOURCE_REGIONS order.
 *
 * Sharding is rendezvous (highest-random-weight) hashing of the key "account:region": the target goes to the
 * shard s in [0, count) with the highest weight(key, s). So every target lands in exactly one shard whatever the
 * list looks like; adding or removing an account or a region moves only that account's or region's targets (no
 * other target changes shard); going from N to N+1 shards moves about 1/(N+1) of the targets, all of them to
 * the new shard. Cost: count weights per target (10,000 shards x 65,536 targets is the worst case, about 6e8
 * cheap 64-bit mixes; real fleets are orders of magnitude smaller). The weights are SplitMix64 over FNV-1a,
 * fixed here, so every task of a run (and every release) agrees on the split.
 *
 * When ACCOUNTS is unset the one account is the credentials' own, possibly unknown before the first call: its
 * key is ":region" (empty account), the same in `smartvault config` and in the run.
 */
#ifndef SV_BACKUP_SHARD_H
#define SV_BACKUP_SHARD_H

#include "base/arena.h"
#include "base/buf.h"
#include "cfg/cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct target {
    char account_id[CFG_ACCOUNT_ID_LEN + 1]; /* "" = the credentials' own account, id not known yet */
    const char *region;                      /* the source region */
    const char *dest_region;                 /* NULL: no cross-region copies */
    uint32_t shard;                          /* the shard that runs it */
};

/* The weight of `key` for shard `shard` (exposed for the tests). */
uint64_t shard_weight(const char *key, size_t key_len, uint32_t shard);

/* The shard of account:region among `count` (>= 1) shards. */
uint32_t shard_of(const char *account_id, const char *region, uint32_t count);

/*
 * Every target of the run: accounts (NULL/0 = the one own account, id "") minus `exclude`, times c's source
 * regions, each with its DR region and shard (c->shard_count). Written to arena memory; returns the count.
 */
size_t shard_targets(
  const struct cfg *c,
  const char *const *accounts,
  size_t naccounts,
  const char *const *exclude,
  size_t nexclude,
  struct arena *a,
  struct target **out);

/* Keeps, in order and in place, the targets of shard `index`; returns how many. */
size_t shard_select(struct target *t, size_t n, uint32_t index);

/*
 * `smartvault config`: appends the lines that describe this shard's targets, in config's own line format,
 *   TARGETS=<n> of <total>  (source: shard <i> of <count>)
 *   TARGET=<account or (own)>:<region> -> <dest or none>  (source: shard <i> of <count>)
 * With ACCOUNTS=organization the accounts are known only at run time: one line says so.
 */
void shard_print(const struct cfg *c, struct arena *a, struct buf *out);

#endif
