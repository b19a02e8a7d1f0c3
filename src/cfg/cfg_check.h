/*
 * cfg_check.h - the shape of configuration values: region names, bucket names, ARNs, endpoint URLs, durations,
 * sizes, booleans. Pure functions over spans, no allocation, no I/O; cfg.c composes them into one message line.
 *
 * Each checker returns ERR_OK or ERR_CONFIG. On ERR_CONFIG, *why (when the function has one) points to a static
 * phrase that completes "<VARIABLE>: ..." ("must be a region name such as us-east-1 ..."). The value itself is
 * not part of the phrase; the caller quotes it.
 */
#ifndef SV_CFG_CFG_CHECK_H
#define SV_CFG_CFG_CHECK_H

#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

/* Shape limits of the values checked here (cfg.h sizes its fields with them). */
#define CFG_PREFIX_MAX 1024   /* an S3 key prefix (S3 keys are at most 1024 bytes) */
#define CFG_REGION_MAX 32     /* "us-isob-east-1" is 14; leave room */
#define CFG_TAG_KEY_MAX 128   /* EC2 tag key limit */
#define CFG_TAG_VALUE_MAX 256 /* EC2 tag value limit */
#define CFG_NAMESPACE_MAX 255 /* CloudWatch namespace limit */

/*
 * A region name: two lower-case letters (or "eusc"), an optional "-gov" / "-iso" / "-iso<letter>", a lower-case
 * word and a number of at most three digits: us-east-1, ap-southeast-2, us-gov-west-1, us-isob-east-1,
 * cn-north-1, eu-central-2, eusc-de-east-1. Not 'US-EAST-1', 'us-east', 'useast1'.
 */
enum err cfg_check_region(struct span s, const char **why) SV_MUST_CHECK;

/* The partition of a region that passed cfg_check_region: "aws", "aws-cn", "aws-us-gov", "aws-iso",
 * "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc". */
const char *cfg_check_partition_of(struct span region);

/*
 * An S3 general purpose bucket name (S3 User Guide, "General purpose bucket naming rules"): 3-63 characters of
 * lower-case letters, digits, dots and hyphens; begins and ends with a letter or digit; no two adjacent dots;
 * not formatted as an IP address; none of the reserved prefixes (xn--, sthree-, amzn-s3-demo-) or suffixes
 * (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3). Legacy us-east-1 names with capitals or underscores are
 * rejected: they cannot be addressed virtual-hosted style.
 */
enum err cfg_check_bucket(struct span s, const char **why) SV_MUST_CHECK;

/* The parts of an ARN "arn:<partition>:<service>:<region>:<account>:<resource>". */
struct cfg_check_arn {
    struct span partition, service, region, account, resource;
};

/*
 * Splits and checks the common part of an ARN for `service`: a partition "aws" or "aws-<words>", the service,
 * a valid region in that partition, a 12-digit account. The resource is returned unchecked (may contain ':').
 */
enum err cfg_check_arn(struct span s, const char *service, struct cfg_check_arn *out, const char **why) SV_MUST_CHECK;

/*
 * A KMS key reference as EC2 CopySnapshot and S3 accept it: a key id (UUID, or "mrk-" and 32 hex digits for a
 * multi-Region key), "alias/<name>", or a key or alias ARN arn:<partition>:kms:<region>:<account>:key/<id> |
 * alias/<name>. *region is the ARN's region, or empty for an id or alias.
 */
enum err cfg_check_kms_key(struct span s, struct span *region, const char **why) SV_MUST_CHECK;

/* arn:<partition>:sns:<region>:<12 digits>:<topic>; topic 1-256 of [A-Za-z0-9_-], FIFO topics end ".fifo". */
enum err cfg_check_sns_topic(struct span s, struct span *region, const char **why) SV_MUST_CHECK;

/* A DynamoDB table name (3-255 of [A-Za-z0-9_.-]) or arn:<partition>:dynamodb:<region>:<account>:table/<name>.
 * *region is the ARN's region, or empty for a plain name. */
enum err cfg_check_dynamodb_table(struct span s, struct span *region, const char **why) SV_MUST_CHECK;

/* A CloudWatch namespace: 1-255 printable ASCII characters, not starting with ':' and not with "AWS/" (reserved
 * for AWS services). */
enum err cfg_check_namespace(struct span s, const char **why) SV_MUST_CHECK;

/*
 * An endpoint URL: http:// or https://, a host name, IPv4 address or [IPv6] address, an optional port 1-65535,
 * an optional path; no user:password@, query or fragment.
 */
enum err cfg_check_endpoint_url(struct span s, const char **why) SV_MUST_CHECK;

/* BACKUP_TAG "Key=Value": split at the first '='; key 1-128 bytes not starting with "aws:", value 1-256 bytes,
 * no control characters. */
enum err cfg_check_tag(struct span s, struct span *key, struct span *value, const char **why) SV_MUST_CHECK;

/* An S3 key prefix for a route: at most CFG_PREFIX_MAX bytes, no control characters, no ',' (the separator).
 * Empty is allowed (a catch-all route). */
enum err cfg_check_key_prefix(struct span s, const char **why) SV_MUST_CHECK;

/* true/false, 1/0, yes/no, any case. */
enum err cfg_check_bool(struct span s, bool *out) SV_MUST_CHECK;

/*
 * A Go-style duration ("90s", "30m", "1h", "2h30m"; also "d" for days) or plain whole seconds ("1800"), at most
 * max_s. No fractions, no sign. ERR_CONFIG if malformed or over max_s.
 */
enum err cfg_check_duration(struct span s, int64_t max_s, int64_t *out_s) SV_MUST_CHECK;

/*
 * A size in bytes: whole digits with an optional binary suffix B, KiB, MiB, GiB, TiB (any case), within
 * [min, max]. Decimal suffixes (KB, MB, GB) are refused with a hint rather than guessed. *why is set on error.
 */
enum err cfg_check_size(struct span s, uint64_t min, uint64_t max, uint64_t *out, const char **why) SV_MUST_CHECK;

#endif
