/*
 * ec2_volume.h - the EC2 calls of restores and restore drills: volumes (create, describe, delete, attach),
 * availability zones, tags on existing resources, and instances by id.
 *
 * Same shape as svc/ec2.h: builders fill a query_params list, parsers copy what they keep from a successful
 * response's XML tree into the caller's arena.
 *
 * Response shapes (EC2 API Reference, 2016-11-15): CreateVolume → CreateVolumeResponse with volumeId, status,
 * availabilityZone, size, snapshotId, volumeType, iops, throughput, encrypted, createTime; DescribeVolumes →
 * volumeSet/item with the same fields plus tagSet, nextToken; AttachVolume → status; DescribeAvailabilityZones →
 * availabilityZoneInfo/item/{zoneName, zoneState}; CreateTags, DeleteVolume → return.
 */
#ifndef SV_SVC_EC2_VOLUME_H
#define SV_SVC_EC2_VOLUME_H

#include "svc/ec2.h"

/* CreateTags takes many resource ids per call; we send at most this many (one call per 1,000). */
#define EC2_CREATE_TAGS_MAX_RESOURCES 1000
/* DescribeVolumes MaxResults upper bound (API reference). */
#define EC2_DESCRIBE_VOLUMES_MAX_RESULTS 500
/* Values of one DescribeVolumes / DescribeInstances filter (EC2 accepts up to 200). */
#define EC2_FILTER_MAX_VALUES 200

struct ec2_volume {
    struct span id;
    struct span state; /* creating | available | in-use | deleting | deleted | error */
    struct span availability_zone;
    struct span snapshot_id;
    struct span volume_type; /* gp2 | gp3 | io1 | io2 | st1 | sc1 | standard */
    uint32_t size_gib;
    uint32_t iops;       /* 0 when not reported */
    uint32_t throughput; /* MiB/s, gp3 only; 0 when not reported */
    bool encrypted;
    struct span kms_key_id;
    int64_t create_time_s;
    struct ec2_tag *tags;
    size_t ntags;
};

struct ec2_volume_list {
    struct ec2_volume *items;
    size_t n;
    size_t cap;
};

/* What CreateVolume is asked for; empty/zero fields are not sent (EC2 then uses the snapshot's values). */
struct ec2_volume_spec {
    struct span snapshot_id;
    struct span availability_zone;
    struct span volume_type;
    uint32_t size_gib;
    uint32_t iops;
    uint32_t throughput;
    bool encrypted; /* sends Encrypted=true (a volume from an encrypted snapshot is always encrypted) */
    const struct ec2_tag *tags;
    size_t ntags;
};

void ec2_create_volume_request(struct query_params *q, const struct ec2_volume_spec *spec);
enum err ec2_create_volume_parse(struct arena *out, const struct xml_node *root, struct ec2_volume *v) SV_MUST_CHECK;

/* DescribeVolumes page with one filter (`filter` NULL: none), e.g. "volume-id" or "tag:SmartVault:Drill". */
void ec2_describe_volumes_request(
  struct query_params *q,
  const char *filter,
  const struct span *values,
  size_t nvalues,
  uint32_t max_results,
  struct span next_token);
enum err ec2_describe_volumes_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_volume_list *list,
  struct span *next_token) SV_MUST_CHECK;

void ec2_delete_volume_request(struct query_params *q, struct span volume_id);

void ec2_attach_volume_request(
  struct query_params *q,
  struct span volume_id,
  struct span instance_id,
  struct span device);
/* The attachment state of an AttachVolume response ("attaching"). */
enum err ec2_attach_volume_parse(struct arena *out, const struct xml_node *root, struct span *state) SV_MUST_CHECK;

/* DescribeAvailabilityZones of the region, state available only. */
void ec2_describe_availability_zones_request(struct query_params *q);
/* The smallest available zone name (names sort by letter: us-east-1a first), or ERR_NOT_FOUND when none. */
enum err ec2_first_available_zone_parse(struct arena *out, const struct xml_node *root, struct span *zone)
  SV_MUST_CHECK;

/* CreateTags: the same tags on every resource in `ids` (at most EC2_CREATE_TAGS_MAX_RESOURCES). */
void ec2_create_tags_request(
  struct query_params *q,
  const struct span *ids,
  size_t nids,
  const struct ec2_tag *tags,
  size_t ntags);

/* DescribeInstances of these ids, as a filter: an id that no longer exists is simply absent, not an error. */
void ec2_describe_instances_by_id_request(struct query_params *q, const struct span *ids, size_t nids);

#endif
