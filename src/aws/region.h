/*
 * region.h - what a region name tells us: whether it is well formed, and which partition (DNS suffix, ARN
 * partition name) it belongs to.
 *
 * Which region to use (SOURCE_REGION, AWS_REGION, AWS_DEFAULT_REGION) is decided by the configuration module.
 * When none is set and the task runs on EC2, the region comes from instance metadata: that lookup lives in
 * aws/imds.h (imds_get_region) because it shares the IMDSv2 token and fallback rules with the credentials
 * provider; this header stays free of any I/O so it can be used and tested anywhere.
 */
#ifndef SV_AWS_REGION_H
#define SV_AWS_REGION_H

#include "base/span.h"

#include <stdbool.h>

/* Longest region name accepted ("us-isob-east-1" is 14; the longest today is under 20). */
#define REGION_MAX 32

enum region_partition_id {
    REGION_PARTITION_AWS = 0,
    REGION_PARTITION_AWS_CN,
    REGION_PARTITION_AWS_US_GOV,
    REGION_PARTITION_AWS_ISO,
    REGION_PARTITION_AWS_ISO_B,
    REGION_PARTITION_AWS_ISO_E,
    REGION_PARTITION_AWS_ISO_F,
    REGION_PARTITION_AWS_EUSC,
    REGION_PARTITION__COUNT
};

struct region_partition {
    enum region_partition_id id;
    const char *name;       /* "aws", "aws-cn", ... : the second field of an ARN */
    const char *dns_suffix; /* "amazonaws.com", "amazonaws.com.cn", ... */
};

/*
 * True if `region` looks like a region name: 1..REGION_MAX characters of lower-case letters, digits and single
 * hyphens, starting with a letter and not ending with a hyphen ("us-east-1", "cn-north-1", "local" for
 * emulators). It does not check that the region exists: new regions must work without a new release.
 */
bool region_is_valid(struct span region);

/*
 * The partition a region belongs to, from its name: first part "cn" → aws-cn, "eusc" → aws-eusc; in a
 * four-part name the second part "gov" → aws-us-gov, "iso" → aws-iso, "isob" → aws-iso-b, "isoe" → aws-iso-e,
 * "isof" → aws-iso-f; anything else → aws. Never NULL; the returned struct is static. This is SmartVault's one
 * partition table: the configuration's checks (cfg_check.c) use it too.
 */
const struct region_partition *region_partition(struct span region);

#endif
