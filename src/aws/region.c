/*
 * region.c - region name checks and the partition table.
 *
 * The table is SmartVault's one list of AWS partitions (botocore `data/partitions.json`). A partition is
 * recognised from the region's name, the way partitions.json's `regionRegex` does it ("^cn\-\w+\-\d+$",
 * "^us\-gov\-\w+\-\d+$", "^us\-iso\-\w+\-\d+$", "^us\-isob\-\w+\-\d+$", "^eu\-isoe\-\w+\-\d+$",
 * "^us\-isof\-\w+\-\d+$", "^eusc\-(de)\-\w+\-\d+$"), so a region launched after this release still lands in
 * the right partition. This file does no I/O; instance-metadata region
 * discovery is in imds.c.
 */
#include "aws/region.h"

static const struct region_partition s_partitions[REGION_PARTITION__COUNT] = {
    [REGION_PARTITION_AWS] = { REGION_PARTITION_AWS, "aws", "amazonaws.com" },
    [REGION_PARTITION_AWS_CN] = { REGION_PARTITION_AWS_CN, "aws-cn", "amazonaws.com.cn" },
    [REGION_PARTITION_AWS_US_GOV] = { REGION_PARTITION_AWS_US_GOV, "aws-us-gov", "amazonaws.com" },
    [REGION_PARTITION_AWS_ISO] = { REGION_PARTITION_AWS_ISO, "aws-iso", "c2s.ic.gov" },
    [REGION_PARTITION_AWS_ISO_B] = { REGION_PARTITION_AWS_ISO_B, "aws-iso-b", "sc2s.sgov.gov" },
    [REGION_PARTITION_AWS_ISO_E] = { REGION_PARTITION_AWS_ISO_E, "aws-iso-e", "cloud.adc-e.uk" },
    [REGION_PARTITION_AWS_ISO_F] = { REGION_PARTITION_AWS_ISO_F, "aws-iso-f", "csp.hci.ic.gov" },
    [REGION_PARTITION_AWS_EUSC] = { REGION_PARTITION_AWS_EUSC, "aws-eusc", "amazonaws.eu" },
};

/* Which part of the name decides ("cn" is the first part; "gov", "iso", ... the second of four). */
static const struct {
    bool first;
    const char *part;
    enum region_partition_id id;
} s_parts[] = {
    { true, "cn", REGION_PARTITION_AWS_CN },       { true, "eusc", REGION_PARTITION_AWS_EUSC },
    { false, "gov", REGION_PARTITION_AWS_US_GOV }, { false, "iso", REGION_PARTITION_AWS_ISO },
    { false, "isob", REGION_PARTITION_AWS_ISO_B }, { false, "isoe", REGION_PARTITION_AWS_ISO_E },
    { false, "isof", REGION_PARTITION_AWS_ISO_F },
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
    struct span parts[4], rest = region;
    size_t n = 0;
    while (n < 4 && rest.n > 0) {
        span_split(rest, '-', &parts[n], &rest); /* the last part: all of it, rest empty */
        n++;
    }
    n = rest.n > 0 ? 5 : n; /* more than four parts: no qualifier */
    for (size_t i = 0; i < sizeof(s_parts) / sizeof(s_parts[0]); i++) {
        bool first = s_parts[i].first && n >= 1 && span_eq_cstr(parts[0], s_parts[i].part);
        bool second = !s_parts[i].first && n == 4 && span_eq_cstr(parts[1], s_parts[i].part);
        if (first || second) {
            return &s_partitions[s_parts[i].id];
        }
    }
    return &s_partitions[REGION_PARTITION_AWS];
}
