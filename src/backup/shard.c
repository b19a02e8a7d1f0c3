/*
 * shard.c - the target list (accounts x source regions) and rendezvous hashing of it into shards; see shard.h.
 *
 * It does not list accounts (backup/targets.c asks AWS Organizations) and does not run anything.
 */
#include "backup/shard.h"

#include <string.h>

/* FNV-1a 64-bit: offset basis and prime. */
#define SHARD_FNV_OFFSET 0xcbf29ce484222325ull
#define SHARD_FNV_PRIME 0x100000001b3ull
/* The golden-ratio increment of SplitMix64, which also spreads consecutive shard numbers apart. */
#define SHARD_GOLDEN 0x9e3779b97f4a7c15ull
/* "123456789012:ap-southeast-2" fits easily. */
#define SHARD_KEY_MAX (CFG_ACCOUNT_ID_LEN + 1 + CFG_REGION_MAX + 1)

static uint64_t s_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t shard_weight(const char *key, size_t key_len, uint32_t shard) {
    uint64_t h = SHARD_FNV_OFFSET;
    for (size_t i = 0; i < key_len; i++) {
        h = (h ^ (unsigned char) key[i]) * SHARD_FNV_PRIME;
    }
    return s_mix(h + SHARD_GOLDEN * ((uint64_t) shard + 1));
}

uint32_t shard_of(const char *account_id, const char *region, uint32_t count) {
    char key[SHARD_KEY_MAX + 1];
    size_t an = strnlen(account_id, CFG_ACCOUNT_ID_LEN);
    size_t rn = strnlen(region, CFG_REGION_MAX);
    memcpy(key, account_id, an);
    key[an] = ':';
    memcpy(key + an + 1, region, rn);
    size_t n = an + 1 + rn;
    uint32_t best = 0;
    uint64_t best_w = 0;
    for (uint32_t s = 0; s < count; s++) {
        uint64_t w = shard_weight(key, n, s);
        /* Ties (a 2^-64 event) go to the lower shard, so the answer never depends on iteration details. */
        if (s == 0 || w > best_w) {
            best = s;
            best_w = w;
        }
    }
    return best;
}

static bool s_listed(const char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

size_t shard_targets(
  const struct cfg *c,
  const char *const *accounts,
  size_t naccounts,
  const char *const *exclude,
  size_t nexclude,
  struct arena *a,
  struct target **out) {
    static const char *const own[] = { "" };
    if (naccounts == 0) {
        accounts = own;
        naccounts = 1;
    }
    size_t cap = naccounts * c->nsource_regions;
    struct target *t = ARENA_NEW_ARRAY(a, struct target, cap ? cap : 1);
    size_t n = 0;
    for (size_t i = 0; i < naccounts; i++) {
        if (s_listed(exclude, nexclude, accounts[i])) {
            continue;
        }
        for (size_t r = 0; r < c->nsource_regions; r++) {
            struct target *x = &t[n++];
            memset(x, 0, sizeof(*x));
            size_t an = strnlen(accounts[i], CFG_ACCOUNT_ID_LEN);
            memcpy(x->account_id, accounts[i], an);
            x->region = c->source_regions[r];
            x->dest_region = cfg_dest_region_for(c, x->region);
            x->shard = shard_of(x->account_id, x->region, c->shard_count ? c->shard_count : 1);
        }
    }
    *out = t;
    return n;
}

size_t shard_select(struct target *t, size_t n, uint32_t index) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].shard == index) {
            t[kept++] = t[i];
        }
    }
    return kept;
}

void shard_print(const struct cfg *c, struct arena *a, struct buf *out) {
    if (c->accounts_organization) {
        buf_appendf(
          out,
          "TARGETS=every ACTIVE account AWS Organizations lists x %zu region(s)  (source: listed at run time; shard "
          "%u of %u)\n",
          c->nsource_regions,
          c->shard_index,
          c->shard_count);
        return;
    }
    if (c->nsource_regions == 0) {
        buf_append_cstr(
          out, "TARGETS=the credentials' own account  (source: region from the instance metadata service)\n");
        return;
    }
    struct target *t = NULL;
    size_t total = shard_targets(c, c->accounts, c->naccounts, c->accounts_exclude, c->naccounts_exclude, a, &t);
    size_t n = shard_select(t, total, c->shard_index);
    buf_appendf(out, "TARGETS=%zu of %zu  (source: shard %u of %u)\n", n, total, c->shard_index, c->shard_count);
    for (size_t i = 0; i < n; i++) {
        buf_appendf(
          out,
          "TARGET=%s:%s -> %s  (source: shard %u of %u)\n",
          t[i].account_id[0] ? t[i].account_id : "(own)",
          t[i].region,
          t[i].dest_region ? t[i].dest_region : "none",
          c->shard_index,
          c->shard_count);
    }
}
