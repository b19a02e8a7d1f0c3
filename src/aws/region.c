/*
 * region.c - region name checks and the partition table.
 *
 * The table is the subset of the AWS partitions (botocore `data/partitions.json`) SmartVault can run in. A
 * partition is recognised from the region's prefix, the way partitions.json's `regionRegex` does it
 * ("^cn\-\w+\-\d+$", "^us\-gov\-\w+\-\d+$", "^us\-iso\-\w+\-\d+$", "^us\-isob\-\w+\-\d+$"), so a region launched
 * after this release still lands in the right partition. This file does no I/O; instance-metadata region
 * discovery is in imds.c.
 */
#include "aws/region.h"

static const struct region_partition s_partitions[REGION_PARTITION__COUNT] = {
    [REGION_PARTITION_AWS] = { REGION_PARTITION_AWS, "aws", "amazonaws.com" },
    [REGION_PARTITION_AWS_CN] = { REGION_PARTITION_AWS_CN, "aws-cn", "amazonaws.com.cn" },
    [REGION_PARTITION_AWS_US_GOV] = { REGION_PARTITION_AWS_US_GOV, "aws-us-gov", "amazonaws.com" },
    [REGION_PARTITION_AWS_ISO] = { REGION_PARTITION_AWS_ISO, "aws-iso", "c2s.ic.gov" },
    [REGION_PARTITION_AWS_ISO_B] = { REGION_PARTITION_AWS_ISO_B, "aws-iso-b", "sc2s.sgov.gov" },
};

/* Checked in order; "us-isob-" needs no special care because "us-iso-" does not match it. */
static const struct {
    const char *prefix;
    enum region_partition_id id;
} s_prefixes[] = {
    { "cn-", REGION_PARTITION_AWS_CN },
    { "us-gov-", REGION_PARTITION_AWS_US_GOV },
    { "us-iso-", REGION_PARTITION_AWS_ISO },
    { "us-isob-", REGION_PARTITION_AWS_ISO_B },
};

bool region_is_valid(struct span region) {
    if (region.n == 0 || region.n > REGION_MAX) {
        return false;
    }
    if (!(region.p[0] >= 'a' && region.p[0] <= 'z') || region.p[region.n - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < region.n; i++) {
        char c = region.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || (c == '-' && region.p[i - 1] == '-')) {
            return false;
        }
    }
    return true;
}

const struct region_partition *region_partition(struct span region) {
    for (size_t i = 0; i < sizeof(s_prefixes) / sizeof(s_prefixes[0]); i++) {
        if (span_starts_with(region, span_from_cstr(s_prefixes[i].prefix))) {
            return &s_partitions[s_prefixes[i].id];
        }
    }
    return &s_partitions[REGION_PARTITION_AWS];
}
