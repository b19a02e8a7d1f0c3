/*
 * cfg_check.c - shape checks for configuration values (regions, buckets, ARNs, URLs, durations, sizes).
 *
 * Each check is a small scanner over a span, written out by hand instead of with regex.h: the rules are short,
 * the binary is static, and a hand scanner is easy to fuzz. These functions only say whether a value has the
 * right shape; they do not ask AWS whether the bucket, key or topic exists (that would be a network call, and
 * configuration errors must be found before any).
 */
#include "cfg/cfg_check.h"

#include "aws/region.h"

static bool s_is_lower(char c) {
    return c >= 'a' && c <= 'z';
}

static bool s_is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool s_is_alnum(char c) {
    return s_is_lower(c) || s_is_digit(c) || (c >= 'A' && c <= 'Z');
}

static bool s_is_hex(char c) {
    return s_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool s_all(struct span s, bool (*pred)(char)) {
    for (size_t i = 0; i < s.n; i++) {
        if (!pred(s.p[i])) {
            return false;
        }
    }
    return true;
}

static bool s_has_control(struct span s) {
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char) s.p[i];
        if (c < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

static bool s_starts_nocase(struct span s, const char *prefix) {
    struct span p = span_from_cstr(prefix);
    return s.n >= p.n && span_eq_nocase(span_sub(s, 0, p.n), p);
}

/* ---- regions ---------------------------------------------------------------------------------------------- */

#define S_REGION_PARTS_MAX 4

/* Splits at '-' into at most S_REGION_PARTS_MAX parts; returns 0 if there are more. */
static size_t s_region_parts(struct span s, struct span parts[S_REGION_PARTS_MAX]) {
    size_t n = 0;
    struct span rest = s;
    for (;;) {
        struct span head, tail;
        bool more = span_split(rest, '-', &head, &tail);
        if (n == S_REGION_PARTS_MAX) {
            return 0;
        }
        parts[n++] = head;
        if (!more) {
            return n;
        }
        rest = tail;
    }
}

static bool s_is_word(struct span s) {
    return s.n > 0 && s_all(s, s_is_lower);
}

/* "gov", "iso", "iso" + one letter. */
static bool s_is_region_qualifier(struct span s) {
    if (span_eq_cstr(s, "gov") || span_eq_cstr(s, "iso")) {
        return true;
    }
    return s.n == 4 && span_starts_with(s, SPAN_LIT("iso")) && s_is_lower(s.p[3]);
}

/* The first and last parts: two letters (or "eusc") and a number of 1-3 digits. */
static bool s_region_ends_ok(const struct span *parts, size_t n) {
    struct span number = parts[n - 1];
    if (number.n == 0 || number.n > 3 || !s_all(number, s_is_digit)) {
        return false;
    }
    return span_eq_cstr(parts[0], "eusc") || (parts[0].n == 2 && s_all(parts[0], s_is_lower));
}

enum err cfg_check_region(struct span s, const char **why) {
    *why = "must be a region name such as us-east-1, eu-central-2 or us-gov-west-1 (lower case)";
    if (s.n == 0 || s.n > CFG_REGION_MAX) {
        return ERR_CONFIG;
    }
    struct span parts[S_REGION_PARTS_MAX];
    size_t n = s_region_parts(s, parts);
    if (n < 3 || !s_region_ends_ok(parts, n)) {
        return ERR_CONFIG;
    }
    if (n == 3) {
        return s_is_word(parts[1]) ? ERR_OK : ERR_CONFIG;
    }
    bool eusc = span_eq_cstr(parts[0], "eusc");
    /* n == 4: us-gov-west-1, us-isob-east-1; or the European Sovereign Cloud's eusc-de-east-1. */
    bool qualifier = eusc ? (parts[1].n == 2 && s_all(parts[1], s_is_lower)) : s_is_region_qualifier(parts[1]);
    return qualifier && s_is_word(parts[2]) ? ERR_OK : ERR_CONFIG;
}

/* The one partition table is aws/region.c's. */
const char *cfg_check_partition_of(struct span region) {
    return region_partition(region)->name;
}

/* ---- buckets ---------------------------------------------------------------------------------------------- */

static bool s_is_bucket_char(char c) {
    return s_is_lower(c) || s_is_digit(c) || c == '.' || c == '-';
}

/* Four dot-separated groups of digits, like 192.168.5.4. */
static bool s_looks_like_ipv4(struct span s) {
    size_t groups = 0;
    struct span rest = s;
    for (;;) {
        struct span head, tail;
        bool more = span_split(rest, '.', &head, &tail);
        if (head.n == 0 || !s_all(head, s_is_digit)) {
            return false;
        }
        groups++;
        if (!more) {
            break;
        }
        rest = tail;
    }
    return groups == 4;
}

/* The prefixes and suffixes S3 reserves for its own names; *why says which kind. */
static bool s_bucket_reserved(struct span s, const char **why) {
    static const char *const bad_prefixes[] = { "xn--", "sthree-", "amzn-s3-demo-" };
    static const char *const bad_suffixes[] = { "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3" };
    for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++) {
        if (span_starts_with(s, span_from_cstr(bad_prefixes[i]))) {
            *why = "must be an S3 bucket name: the prefixes xn--, sthree- and amzn-s3-demo- are reserved";
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(bad_suffixes) / sizeof(bad_suffixes[0]); i++) {
        if (span_ends_with(s, span_from_cstr(bad_suffixes[i]))) {
            *why = "must be an S3 bucket name: the suffixes -s3alias, --ol-s3, .mrap, --x-s3 and --table-s3 are "
                   "reserved";
            return true;
        }
    }
    return false;
}

enum err cfg_check_bucket(struct span s, const char **why) {
    *why = "must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending "
           "with a letter or digit";
    if (s.n < 3 || s.n > 63 || !s_all(s, s_is_bucket_char)) {
        return ERR_CONFIG;
    }
    if (!(s_is_lower(s.p[0]) || s_is_digit(s.p[0])) || !(s_is_lower(s.p[s.n - 1]) || s_is_digit(s.p[s.n - 1]))) {
        return ERR_CONFIG;
    }
    for (size_t i = 0; i + 1 < s.n; i++) {
        if (s.p[i] == '.' && s.p[i + 1] == '.') {
            *why = "must be an S3 bucket name: no two adjacent dots";
            return ERR_CONFIG;
        }
    }
    if (s_looks_like_ipv4(s)) {
        *why = "must be an S3 bucket name, not an IP address";
        return ERR_CONFIG;
    }
    if (s_bucket_reserved(s, why)) {
        return ERR_CONFIG;
    }
    return ERR_OK;
}

/* ---- ARNs ------------------------------------------------------------------------------------------------- */

static bool s_is_partition_char(char c) {
    return s_is_lower(c) || c == '-';
}

static bool s_partition_valid(struct span p) {
    if (span_eq_cstr(p, "aws")) {
        return true;
    }
    return p.n > 4 && p.n <= 32 && span_starts_with(p, SPAN_LIT("aws-")) && s_all(p, s_is_partition_char) &&
           p.p[p.n - 1] != '-';
}

/* `shape` is the message for an ARN that does not have the expected overall shape. */
static enum err
s_arn(struct span s, const char *service, const char *shape, struct cfg_check_arn *out, const char **why) {
    struct span f[6];
    struct span rest = s;
    for (size_t i = 0; i < 5; i++) {
        if (!span_split(rest, ':', &f[i], &rest)) {
            *why = shape;
            return ERR_CONFIG;
        }
    }
    f[5] = rest;
    if (!span_eq_cstr(f[0], "arn") || !s_partition_valid(f[1]) || !span_eq_cstr(f[2], service)) {
        *why = shape;
        return ERR_CONFIG;
    }
    const char *ignored = NULL;
    if (cfg_check_region(f[3], &ignored) != ERR_OK) {
        *why = "must be an ARN whose region is a region name such as us-east-1";
        return ERR_CONFIG;
    }
    if (!span_eq_cstr(f[1], cfg_check_partition_of(f[3]))) {
        *why = "must be an ARN whose region belongs to its partition (aws-cn for cn-*, aws-us-gov for us-gov-*, ...)";
        return ERR_CONFIG;
    }
    if (f[4].n != 12 || !s_all(f[4], s_is_digit)) {
        *why = "must be an ARN with a 12-digit account id";
        return ERR_CONFIG;
    }
    if (f[5].n == 0 || s_has_control(f[5])) {
        *why = shape;
        return ERR_CONFIG;
    }
    *out = (struct cfg_check_arn){ f[1], f[2], f[3], f[4], f[5] };
    return ERR_OK;
}

enum err cfg_check_arn(struct span s, const char *service, struct cfg_check_arn *out, const char **why) {
    return s_arn(
      s, service, "must be an ARN arn:<partition>:<service>:<region>:<12-digit account>:<resource>", out, why);
}

/* ---- KMS, SNS, DynamoDB ----------------------------------------------------------------------------------- */

/* 8-4-4-4-12 hex digits. */
static bool s_is_uuid(struct span s) {
    static const size_t dashes[] = { 8, 13, 18, 23 };
    if (s.n != 36) {
        return false;
    }
    size_t d = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (d < 4 && i == dashes[d]) {
            if (s.p[i] != '-') {
                return false;
            }
            d++;
        } else if (!s_is_hex(s.p[i])) {
            return false;
        }
    }
    return true;
}

static bool s_is_kms_key_id(struct span s) {
    if (s_is_uuid(s)) {
        return true;
    }
    /* Multi-Region keys: "mrk-" and 32 hex digits. */
    return s.n == 36 && span_starts_with(s, SPAN_LIT("mrk-")) && s_all(span_sub(s, 4, 32), s_is_hex);
}

static bool s_is_alias_char(char c) {
    return s_is_alnum(c) || c == '/' || c == '_' || c == '-';
}

/* "alias/<name>", name 1-250 of [A-Za-z0-9/_-] (KMS CreateAlias: AliasName is at most 256 with the prefix). */
static bool s_is_kms_alias(struct span s) {
    if (!span_starts_with(s, SPAN_LIT("alias/"))) {
        return false;
    }
    struct span name = span_sub(s, 6, s.n);
    return name.n > 0 && name.n <= 250 && s_all(name, s_is_alias_char);
}

enum err cfg_check_kms_key(struct span s, struct span *region, const char **why) {
    static const char shape[] = "must be a KMS key id (UUID or mrk-...), alias/<name>, or a key or alias ARN "
                                "arn:<partition>:kms:<region>:<12-digit account>:key/<id>|alias/<name>";
    *region = (struct span){ s.p, 0 };
    if (s_is_kms_key_id(s) || s_is_kms_alias(s)) {
        return ERR_OK;
    }
    struct cfg_check_arn arn;
    if (!span_starts_with(s, SPAN_LIT("arn:"))) {
        *why = shape;
        return ERR_CONFIG;
    }
    if (s_arn(s, "kms", shape, &arn, why) != ERR_OK) {
        return ERR_CONFIG;
    }
    bool key =
      span_starts_with(arn.resource, SPAN_LIT("key/")) && s_is_kms_key_id(span_sub(arn.resource, 4, arn.resource.n));
    if (!key && !s_is_kms_alias(arn.resource)) {
        *why = shape;
        return ERR_CONFIG;
    }
    *region = arn.region;
    return ERR_OK;
}

static bool s_is_topic_char(char c) {
    return s_is_alnum(c) || c == '_' || c == '-';
}

enum err cfg_check_sns_topic(struct span s, struct span *region, const char **why) {
    static const char shape[] = "must be an SNS topic ARN arn:<partition>:sns:<region>:<12-digit account>:<topic>";
    struct cfg_check_arn arn;
    if (s_arn(s, "sns", shape, &arn, why) != ERR_OK) {
        return ERR_CONFIG;
    }
    struct span name = arn.resource;
    if (span_ends_with(name, SPAN_LIT(".fifo"))) {
        name.n -= 5;
    }
    if (name.n == 0 || arn.resource.n > 256 || !s_all(name, s_is_topic_char)) {
        *why = "must be an SNS topic ARN whose topic name is 1-256 letters, digits, '_' or '-' (optionally .fifo)";
        return ERR_CONFIG;
    }
    *region = arn.region;
    return ERR_OK;
}

static bool s_is_table_char(char c) {
    return s_is_alnum(c) || c == '_' || c == '.' || c == '-';
}

static bool s_is_table_name(struct span s) {
    return s.n >= 3 && s.n <= 255 && s_all(s, s_is_table_char);
}

enum err cfg_check_dynamodb_table(struct span s, struct span *region, const char **why) {
    *region = (struct span){ s.p, 0 };
    if (!span_starts_with(s, SPAN_LIT("arn:"))) {
        if (s_is_table_name(s)) {
            return ERR_OK;
        }
        *why = "must be a DynamoDB table name (3-255 letters, digits, '_', '.', '-') or a table ARN";
        return ERR_CONFIG;
    }
    static const char shape[] = "must be a DynamoDB table ARN "
                                "arn:<partition>:dynamodb:<region>:<12-digit account>:table/<name>";
    struct cfg_check_arn arn;
    if (s_arn(s, "dynamodb", shape, &arn, why) != ERR_OK) {
        return ERR_CONFIG;
    }
    if (
      !span_starts_with(arn.resource, SPAN_LIT("table/")) ||
      !s_is_table_name(span_sub(arn.resource, 6, arn.resource.n))) {
        *why = shape;
        return ERR_CONFIG;
    }
    *region = arn.region;
    return ERR_OK;
}

enum err cfg_check_namespace(struct span s, const char **why) {
    if (s.n == 0 || s.n > CFG_NAMESPACE_MAX) {
        *why = "must be 1-255 characters";
        return ERR_CONFIG;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < 0x20 || s.p[i] > 0x7e) {
            *why = "must be printable ASCII";
            return ERR_CONFIG;
        }
    }
    if (s.p[0] == ':') {
        *why = "must not start with ':'";
        return ERR_CONFIG;
    }
    if (s_starts_nocase(s, "AWS/")) {
        *why = "must not start with AWS/ (reserved for AWS services)";
        return ERR_CONFIG;
    }
    return ERR_OK;
}

/* ---- endpoint URLs ---------------------------------------------------------------------------------------- */

static bool s_is_host_char(char c) {
    return s_is_alnum(c) || c == '.' || c == '-' || c == '_';
}

static bool s_is_ipv6_char(char c) {
    return s_is_hex(c) || c == ':' || c == '.';
}

static bool s_is_path_char(char c) {
    return c > 0x20 && c < 0x7f && c != '?' && c != '#';
}

/* "[v6]" or "[v6]:port"; *port is the port text (empty when none). */
static bool s_ipv6_authority(struct span authority, struct span *port) {
    long close = span_index(authority, ']');
    if (close < 2) {
        return false;
    }
    struct span v6 = span_sub(authority, 1, (size_t) close - 1);
    if (!s_all(v6, s_is_ipv6_char) || span_index(v6, ':') < 0) {
        return false;
    }
    struct span after = span_sub(authority, (size_t) close + 1, authority.n);
    if (after.n == 0) {
        return true;
    }
    *port = span_sub(after, 1, after.n);
    return after.p[0] == ':' && port->n > 0;
}

/* "host" or "host:port": a DNS name or IPv4 address. */
static bool s_host_authority(struct span authority, struct span *port) {
    struct span host, p;
    if (span_split(authority, ':', &host, &p)) {
        if (p.n == 0) {
            return false;
        }
        *port = p;
    }
    return host.n > 0 && host.n <= 253 && s_all(host, s_is_host_char) && host.p[0] != '.' && host.p[0] != '-';
}

enum err cfg_check_endpoint_url(struct span s, const char **why) {
    *why = "must be http(s)://host[:port][/path]";
    struct span rest;
    if (s_starts_nocase(s, "https://")) {
        rest = span_sub(s, 8, s.n);
    } else if (s_starts_nocase(s, "http://")) {
        rest = span_sub(s, 7, s.n);
    } else {
        return ERR_CONFIG;
    }
    long slash = span_index(rest, '/');
    struct span authority = slash < 0 ? rest : span_sub(rest, 0, (size_t) slash);
    struct span path = slash < 0 ? (struct span){ rest.p + rest.n, 0 } : span_sub(rest, (size_t) slash, rest.n);
    if (span_index(authority, '@') >= 0) {
        *why = "must not contain user:password@ (credentials never go in an endpoint URL)";
        return ERR_CONFIG;
    }
    struct span port = { authority.p + authority.n, 0 };
    bool ok = authority.n > 0 && authority.p[0] == '[' ? s_ipv6_authority(authority, &port)
                                                       : s_host_authority(authority, &port);
    if (!ok) {
        return ERR_CONFIG;
    }
    if (port.n > 0) {
        uint64_t v = 0;
        if (span_to_u64(port, 65535, &v) != ERR_OK || v == 0) {
            *why = "must be http(s)://host[:port][/path] with a port between 1 and 65535";
            return ERR_CONFIG;
        }
    }
    if (!s_all(path, s_is_path_char)) {
        *why = "must be http(s)://host[:port][/path] without spaces, query or fragment";
        return ERR_CONFIG;
    }
    return ERR_OK;
}

/* ---- tags, prefixes --------------------------------------------------------------------------------------- */

enum err cfg_check_tag(struct span s, struct span *key, struct span *value, const char **why) {
    if (!span_split(s, '=', key, value)) {
        *why = "must be Key=Value, such as Backup=true";
        return ERR_CONFIG;
    }
    *key = span_trim(*key);
    *value = span_trim(*value);
    if (key->n == 0 || value->n == 0) {
        *why = "must be Key=Value with a non-empty key and value";
        return ERR_CONFIG;
    }
    if (key->n > CFG_TAG_KEY_MAX || value->n > CFG_TAG_VALUE_MAX) {
        *why = "must be Key=Value with a key of at most 128 and a value of at most 256 bytes";
        return ERR_CONFIG;
    }
    if (s_has_control(*key) || s_has_control(*value)) {
        *why = "must not contain control characters";
        return ERR_CONFIG;
    }
    if (s_starts_nocase(*key, "aws:")) {
        *why = "must not use a key starting with aws: (reserved for AWS)";
        return ERR_CONFIG;
    }
    return ERR_OK;
}

enum err cfg_check_key_prefix(struct span s, const char **why) {
    if (s.n > CFG_PREFIX_MAX) {
        *why = "must be a key prefix of at most 1024 bytes";
        return ERR_CONFIG;
    }
    if (s_has_control(s)) {
        *why = "must be a key prefix without control characters";
        return ERR_CONFIG;
    }
    return ERR_OK;
}

/* ---- scalars ---------------------------------------------------------------------------------------------- */

enum err cfg_check_bool(struct span s, bool *out) {
    static const struct {
        const char *word;
        bool value;
    } words[] = {
        { "true", true }, { "1", true }, { "yes", true }, { "false", false }, { "0", false }, { "no", false },
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (span_eq_nocase(s, span_from_cstr(words[i].word))) {
            *out = words[i].value;
            return ERR_OK;
        }
    }
    return ERR_CONFIG;
}

enum err cfg_check_duration(struct span s, int64_t max_s, int64_t *out_s) {
    if (s.n == 0) {
        return ERR_CONFIG;
    }
    uint64_t total = 0;
    if (s_all(s, s_is_digit)) {
        if (span_to_u64(s, (uint64_t) max_s, &total) != ERR_OK) {
            return ERR_CONFIG;
        }
        *out_s = (int64_t) total;
        return ERR_OK;
    }
    size_t i = 0;
    while (i < s.n) {
        size_t start = i;
        while (i < s.n && s_is_digit(s.p[i])) {
            i++;
        }
        if (i == start || i == s.n) {
            return ERR_CONFIG;
        }
        uint64_t n = 0;
        if (span_to_u64(span_sub(s, start, i - start), (uint64_t) max_s, &n) != ERR_OK) {
            return ERR_CONFIG;
        }
        uint64_t unit;
        switch (s.p[i]) {
            case 'd':
                unit = 86400;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'm':
                unit = 60;
                break;
            case 's':
                unit = 1;
                break;
            default:
                return ERR_CONFIG;
        }
        i++;
        /* n <= max_s and unit <= 86400, so the product fits; the sum is checked against max_s each step. */
        total += n * unit;
        if (total > (uint64_t) max_s) {
            return ERR_CONFIG;
        }
    }
    *out_s = (int64_t) total;
    return ERR_OK;
}

enum err cfg_check_size(struct span s, uint64_t min, uint64_t max, uint64_t *out, const char **why) {
    static const struct {
        const char *suffix;
        uint64_t mult;
    } suffixes[] = {
        { "", 1 },
        { "b", 1 },
        { "kib", 1024 },
        { "mib", 1024 * 1024 },
        { "gib", (uint64_t) 1024 * 1024 * 1024 },
        { "tib", (uint64_t) 1024 * 1024 * 1024 * 1024 },
    };
    *why = "must be a size in bytes, or with a suffix KiB, MiB or GiB (such as 64MiB)";
    size_t i = 0;
    while (i < s.n && s_is_digit(s.p[i])) {
        i++;
    }
    struct span digits = span_sub(s, 0, i);
    struct span suffix = span_sub(s, i, s.n);
    uint64_t mult = 0;
    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        if (span_eq_nocase(suffix, span_from_cstr(suffixes[k].suffix))) {
            mult = suffixes[k].mult;
        }
    }
    if (mult == 0) {
        if (
          span_eq_nocase(suffix, SPAN_LIT("kb")) || span_eq_nocase(suffix, SPAN_LIT("mb")) ||
          span_eq_nocase(suffix, SPAN_LIT("gb")) || span_eq_nocase(suffix, SPAN_LIT("tb"))) {
            *why = "must use a binary suffix (KiB, MiB, GiB), not KB/MB/GB, so the size is not ambiguous";
        }
        return ERR_CONFIG;
    }
    uint64_t n = 0;
    if (span_to_u64(digits, UINT64_MAX / mult, &n) != ERR_OK) {
        return ERR_CONFIG;
    }
    uint64_t v = n * mult;
    if (v < min || v > max) {
        *why = NULL; /* the caller states the range */
        return ERR_CONFIG;
    }
    *out = v;
    return ERR_OK;
}
