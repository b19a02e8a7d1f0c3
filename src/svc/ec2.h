/*
 * ec2.h - the EC2 calls SmartVault makes, as request builders and response parsers over plain structs.
 *
 * EC2 speaks the Query protocol with an XML response (API version 2016-11-15). Builders fill a query_params list
 * (aws/call adds Action/Version, encodes and signs it); parsers read the XML tree of a successful response and
 * copy what they keep into the caller's arena, so the response and its tree can be rewound right after.
 *
 * Response shapes (EC2 API Reference): DescribeInstances → reservationSet/item/instancesSet/item with
 * instanceState/name, blockDeviceMapping/item/{deviceName, ebs/volumeId}, tagSet/item/{key,value}, nextToken;
 * DescribeSnapshots → snapshotSet/item with status, startTime, volumeId, tagSet, nextToken; CreateSnapshots →
 * snapshotSet/item with *state* (not status); CopySnapshot → snapshotId; DeleteSnapshot → return.
 */
#ifndef SV_SVC_EC2_H
#define SV_SVC_EC2_H

#include "aws/query.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"
#include "codec/xml.h"

#include <stdbool.h>
#include <stdint.h>

#define EC2_API_VERSION "2016-11-15"
/* EC2 allows up to 50 tags per resource. */
#define EC2_MAX_TAGS 50
/* DescribeInstances/DescribeSnapshots MaxResults bounds (API reference). */
#define EC2_DESCRIBE_INSTANCES_MAX_RESULTS 1000
#define EC2_DESCRIBE_SNAPSHOTS_MAX_RESULTS 1000

struct ec2_tag {
    struct span key;
    struct span value;
};

struct ec2_volume_ref {
    struct span device;    /* "/dev/xvda" */
    struct span volume_id; /* "vol-..." */
};

struct ec2_instance {
    struct span id;
    struct span state; /* "running", "stopped", ... */
    struct ec2_tag *tags;
    size_t ntags;
    struct ec2_volume_ref *volumes; /* EBS volumes only, in mapping order */
    size_t nvolumes;
    struct span availability_zone; /* placement/availabilityZone */
    struct span root_device;       /* rootDeviceName */
};

struct ec2_snapshot {
    struct span id;
    struct span volume_id; /* the attribute; for copies a placeholder (see DESIGN.md §3) */
    struct span state;     /* pending | completed | error | recoverable | recovering */
    struct span description;
    struct span kms_key_id;
    int64_t start_time_s;
    uint32_t volume_size_gib; /* volumeSize */
    bool encrypted;
    struct ec2_tag *tags;
    size_t ntags;
};

struct ec2_instance_list {
    struct ec2_instance *items;
    size_t n;
    size_t cap;
};

struct ec2_snapshot_list {
    struct ec2_snapshot *items;
    size_t n;
    size_t cap;
};

/* The value of the first tag with this key (exact), or an empty span with *found false. */
struct span ec2_tag_value(const struct ec2_tag *tags, size_t ntags, const char *key, bool *found);

/* TagSpecification.1 (ResourceType and tags) of a create call: "snapshot", "volume". */
void ec2_add_tag_specification(
  struct query_params *q,
  const char *resource_type,
  const struct ec2_tag *tags,
  size_t ntags);
/* The tagSet of a response item, copied into `out`. */
enum err ec2_tags_parse(struct arena *out, const struct xml_node *node, struct ec2_tag **tags, size_t *ntags)
  SV_MUST_CHECK;

/*
 * DescribeInstances page: instances carrying any of `tag_keys` (filter tag-key; the value is checked by the
 * caller, case-insensitively) in the given states (filter instance-state-name).
 */
void ec2_describe_instances_request(
  struct query_params *q,
  const char *const *tag_keys,
  size_t ntag_keys,
  const char *const *states,
  size_t nstates,
  uint32_t max_results,
  struct span next_token);
/* Appends the page's instances to *list (in `out`); *next_token is empty on the last page. */
enum err ec2_describe_instances_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_instance_list *list,
  struct span *next_token) SV_MUST_CHECK;

/* DescribeSnapshots page: owner self, filter tag:<tag_key>=<tag_value>. */
void ec2_describe_snapshots_request(
  struct query_params *q,
  const char *tag_key,
  const char *tag_value,
  uint32_t max_results,
  struct span next_token);
enum err ec2_describe_snapshots_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_snapshot_list *list,
  struct span *next_token) SV_MUST_CHECK;

/* CreateSnapshots for every EBS volume of one instance (boot volume included), tags on all of them. */
void ec2_create_snapshots_request(
  struct query_params *q,
  struct span instance_id,
  struct span description,
  const struct ec2_tag *tags,
  size_t ntags);
enum err ec2_create_snapshots_parse(struct arena *out, const struct xml_node *root, struct ec2_snapshot_list *list)
  SV_MUST_CHECK;

struct ec2_copy_request {
    struct span source_region;
    struct span source_snapshot_id;
    struct span destination_region;
    struct span description;
    struct span kms_key_id; /* empty: no Encrypted/KmsKeyId parameters */
    struct span presigned_url;
    const struct ec2_tag *tags;
    size_t ntags;
};

/*
 * CopySnapshot parameters, without PresignedUrl when `with_presigned_url` is false: the presigned URL is itself
 * a presigned GET of these same parameters against the source region (botocore's inject_presigned_url_ec2), so
 * the caller builds the list once without it, presigns, then builds it again with it.
 */
void ec2_copy_snapshot_request(struct query_params *q, const struct ec2_copy_request *r, bool with_presigned_url);
enum err ec2_copy_snapshot_parse(struct arena *out, const struct xml_node *root, struct span *snapshot_id)
  SV_MUST_CHECK;

void ec2_delete_snapshot_request(struct query_params *q, struct span snapshot_id);

#endif
