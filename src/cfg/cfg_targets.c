/*
 * cfg_targets.c - the shape rules of the multi-account, multi-region and shard variables (SOURCE_REGIONS,
 * DEST_REGION_MAP, ACCOUNTS, ACCOUNTS_EXCLUDE, ACCOUNT_ROLE_NAME, ACCOUNT_ROLE_EXTERNAL_ID), as pure functions
 * over one value, like cfg_check.c.
 *
 * What it does: split comma lists, check every entry, refuse duplicates and lists past their named maximum, and
 * write a reason for the one error line (in the arena when it quotes the entry). What it does not do: read
 * variables, relate them to each other (cfg.c does), or list accounts from AWS Organizations (backup/targets.c).
 */
#include "cfg/cfg_targets.h"

#include "cfg/cfg_check.h"

#include <string.h>

/* Splits at commas; entries are trimmed. Empty entries ("a,,b", "a,") are refused: they are always a typo. */
static enum err s_split(struct span v, struct arena *a, size_t max, struct span **out, size_t *n, const char **why) {
    size_t count = 1;
    for (size_t i = 0; i < v.n; i++) {
        count += v.p[i] == ',';
    }
    if (count > max) {
        *why = arena_printf(a, "lists %zu entries, at most %zu are allowed", count, max);
        return ERR_CONFIG;
    }
    struct span *parts = ARENA_NEW_ARRAY(a, struct span, count);
    struct span rest = v, head;
    for (size_t i = 0; i < count; i++) {
        span_split(rest, ',', &head, &rest);
        parts[i] = span_trim(head);
        if (parts[i].n == 0) {
            *why = "has an empty entry (two commas in a row, or a comma at an end)";
            return ERR_CONFIG;
        }
    }
    *out = parts;
    *n = count;
    return ERR_OK;
}

static bool s_seen(const struct span *parts, size_t i) {
    for (size_t j = 0; j < i; j++) {
        if (span_eq(parts[j], parts[i])) {
            return true;
        }
    }
    return false;
}

/* The entry quoted for an error line, cut so the line stays short. */
static const char *s_quote(struct arena *a, struct span s) {
    return arena_printf(a, "%.*s", (int) (s.n > 64 ? 64 : s.n), s.p);
}

enum err cfg_targets_regions(struct span v, struct arena *a, const char *const **out, size_t *n, const char **why) {
    struct span *parts;
    TRY(s_split(v, a, CFG_SOURCE_REGIONS_MAX, &parts, n, why));
    const char **list = ARENA_NEW_ARRAY(a, const char *, *n);
    for (size_t i = 0; i < *n; i++) {
        const char *rwhy = NULL;
        if (cfg_check_region(parts[i], &rwhy) != ERR_OK) {
            *why = arena_printf(a, "\"%s\" %s", s_quote(a, parts[i]), rwhy);
            return ERR_CONFIG;
        }
        if (s_seen(parts, i)) {
            *why = arena_printf(a, "lists %s twice", s_quote(a, parts[i]));
            return ERR_CONFIG;
        }
        list[i] = arena_span_cstr(a, parts[i]);
    }
    *out = list;
    return ERR_OK;
}

/* One "src=dst" entry. */
static enum err s_map_entry(struct span e, struct arena *a, struct cfg_region_map *out, const char **why) {
    struct span src, dst;
    const char *rwhy = NULL;
    if (!span_split(e, '=', &src, &dst)) {
        *why = arena_printf(a, "entry \"%s\" must be source=destination, such as us-east-1=us-west-2", s_quote(a, e));
        return ERR_CONFIG;
    }
    src = span_trim(src);
    dst = span_trim(dst);
    if (cfg_check_region(src, &rwhy) != ERR_OK || cfg_check_region(dst, &rwhy) != ERR_OK) {
        *why = arena_printf(a, "entry \"%s\": %s", s_quote(a, e), rwhy);
        return ERR_CONFIG;
    }
    if (span_eq(src, dst)) {
        *why = arena_printf(a, "maps %s to itself: a copy in the same region is no disaster recovery", s_quote(a, src));
        return ERR_CONFIG;
    }
    const char *sp = cfg_check_partition_of(src);
    const char *dp = cfg_check_partition_of(dst);
    if (strcmp(sp, dp) != 0) {
        *why = arena_printf(
          a,
          "entry \"%s\": %s is in partition %s and %s in %s; snapshots cannot be copied between partitions",
          s_quote(a, e),
          s_quote(a, src),
          sp,
          s_quote(a, dst),
          dp);
        return ERR_CONFIG;
    }
    out->source = arena_span_cstr(a, src);
    out->dest = arena_span_cstr(a, dst);
    return ERR_OK;
}

enum err
cfg_targets_region_map(struct span v, struct arena *a, const struct cfg_region_map **out, size_t *n, const char **why) {
    struct span *parts;
    TRY(s_split(v, a, CFG_SOURCE_REGIONS_MAX, &parts, n, why));
    struct cfg_region_map *map = ARENA_NEW_ARRAY(a, struct cfg_region_map, *n);
    for (size_t i = 0; i < *n; i++) {
        TRY(s_map_entry(parts[i], a, &map[i], why));
        for (size_t j = 0; j < i; j++) {
            if (strcmp(map[j].source, map[i].source) == 0) {
                *why = arena_printf(a, "maps %s twice", map[i].source);
                return ERR_CONFIG;
            }
        }
    }
    *out = map;
    return ERR_OK;
}

bool cfg_targets_is_account_id(struct span s) {
    if (s.n != CFG_ACCOUNT_ID_LEN) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
    }
    return true;
}

enum err cfg_targets_accounts(struct span v, struct arena *a, const char *const **out, size_t *n, const char **why) {
    struct span *parts;
    TRY(s_split(v, a, CFG_ACCOUNTS_MAX, &parts, n, why));
    const char **list = ARENA_NEW_ARRAY(a, const char *, *n);
    for (size_t i = 0; i < *n; i++) {
        if (!cfg_targets_is_account_id(parts[i])) {
            *why = arena_printf(a, "\"%s\" is not a 12-digit AWS account id", s_quote(a, parts[i]));
            return ERR_CONFIG;
        }
        if (s_seen(parts, i)) {
            *why = arena_printf(a, "lists %s twice", s_quote(a, parts[i]));
            return ERR_CONFIG;
        }
        list[i] = arena_span_cstr(a, parts[i]);
    }
    *out = list;
    return ERR_OK;
}

/* IAM: role names are 1-64 of [A-Za-z0-9+=,.@_-]. */
static bool s_is_role_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("+=,.@_-", c);
}

enum err cfg_targets_role_name(struct span s, const char **why) {
    *why = "must be an IAM role name: 1-64 letters, digits and +=,.@_- (the name only, not an ARN)";
    if (s.n == 0 || s.n > CFG_ROLE_NAME_MAX) {
        return ERR_CONFIG;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '\0' || !s_is_role_char(s.p[i])) {
            return ERR_CONFIG;
        }
    }
    return ERR_OK;
}

/* STS AssumeRole ExternalId: "[\w+=,.@:\/-]*", 2-1224 characters. */
enum err cfg_targets_external_id(struct span s, const char **why) {
    *why = "must be 2-1224 letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId)";
    if (s.n < CFG_EXTERNAL_ID_MIN || s.n > CFG_EXTERNAL_ID_MAX) {
        return ERR_CONFIG;
    }
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '\0' || !(s_is_role_char(c) || c == ':' || c == '/')) {
            return ERR_CONFIG;
        }
    }
    return ERR_OK;
}
