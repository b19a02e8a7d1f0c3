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

/* ---- compact listings: DescribeSnapshots at fleet scale --------------------------------------------------------- */

/*
 * A listing of 100,000 snapshots per region must fit a 64 MiB container beside everything else, so the EBS job keeps
 * only what its planners, copies and coverage page read, in fixed 56-byte records: every string (snapshot, volume and
 * instance ids, tag values) is interned once in the listing's string pool and named by a 32-bit handle, and of the
 * tags only the values of the listing's kept keys (at most EC2_SNAPS_MAX_KEYS) are stored. Pages are parsed straight
 * into records, so a page's body and XML tree can be released before the next one is fetched.
 */
#define EC2_SNAPS_MAX_KEYS 9
#define EC2_POOL_CHUNK ((size_t) 65536) /* strings live in chunks that never move: a span stays valid */
#define EC2_POOL_MAX_STRING 1024u       /* longer values (none of the kept tags) are cut */

/* Interned strings. Handle 0 is the empty string; a handle is (chunk << 16 | offset) of a 2-byte length prefix. */
struct ec2_pool {
    unsigned char **chunks;
    size_t nchunks, capchunks;
    size_t used;     /* bytes used in the last chunk */
    uint32_t *slots; /* open addressing over handles, 0 = free */
    size_t nslots, nused;
};

struct ec2_snaprec {
    int64_t start_time_s;
    uint32_t id, volume_id, state;     /* pool handles; volume_id is the attribute (a copy's is a placeholder) */
    uint32_t tags[EC2_SNAPS_MAX_KEYS]; /* values of the listing's keys[k]; 0 = absent or empty */
};

struct ec2_snaps {
    struct ec2_snaprec *items;
    size_t n, cap;
    size_t max;              /* ERR_LIMIT past this many records */
    const char *max_name;    /* the named maximum, for the one error line */
    uint64_t version;        /* process-unique, new with every change: caches built from the listing compare it */
    const char *const *keys; /* the tag keys kept, nkeys <= EC2_SNAPS_MAX_KEYS (static strings) */
    size_t nkeys;
    struct ec2_pool pool;
};

/* An empty pool; ec2_pool_intern returns 0 for an empty span and UINT32_MAX when out of memory or handles. */
void ec2_pool_free(struct ec2_pool *p);
uint32_t ec2_pool_intern(struct ec2_pool *p, struct span s);
/* The handle of s when it is interned, else 0 (never adds it). */
uint32_t ec2_pool_find(const struct ec2_pool *p, struct span s);
struct span ec2_pool_get(const struct ec2_pool *p, uint32_t h);
size_t ec2_pool_bytes(const struct ec2_pool *p); /* chunk and slot memory held */

void ec2_snaps_init(struct ec2_snaps *l, const char *const *keys, size_t nkeys, size_t max, const char *max_name);
void ec2_snaps_free(struct ec2_snaps *l);
/* Moves `from` into *to (freeing what *to held); `from` is left empty. */
void ec2_snaps_replace(struct ec2_snaps *to, struct ec2_snaps *from);
size_t ec2_snaps_bytes(const struct ec2_snaps *l);
/* Removes the records without an id (cleared in place), keeping the others' order; returns how many. */
size_t ec2_snaps_drop_unnamed(struct ec2_snaps *l);
/* A record was changed in place (a state): gives the listing a new version. */
void ec2_snaps_touch(struct ec2_snaps *l);
static inline struct span ec2_snaps_str(const struct ec2_snaps *l, uint32_t h) {
    return ec2_pool_get(&l->pool, h);
}
/* The value of kept tag `key` (one of l->keys, compared by content), or empty. */
struct span ec2_snaps_tag(const struct ec2_snaps *l, const struct ec2_snaprec *s, const char *key);
/* Appends one record (strings interned). ERR_LIMIT past l->max (message names the maximum), ERR_NOMEM. */
enum err ec2_snaps_push(
  struct ec2_snaps *l,
  struct span id,
  struct span volume_id,
  struct span state,
  int64_t start_time_s,
  const struct ec2_tag *tags,
  size_t ntags) SV_MUST_CHECK;
/*
 * A DescribeSnapshots page straight into records; *next_token (copied into tok_arena) is empty on the last page.
 * ERR_LIMIT when the listing would pass l->max.
 */
enum err ec2_snaps_parse_page(
  struct ec2_snaps *l,
  const struct xml_node *root,
  struct arena *tok_arena,
  struct span *next_token) SV_MUST_CHECK;

#endif
