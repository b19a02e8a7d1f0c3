/*
 * ec2_volume.c - EC2 Query requests and XML responses for restores and restore drills: CreateVolume,
 * DescribeVolumes, DeleteVolume, AttachVolume, DescribeAvailabilityZones, CreateTags, DescribeInstances by id.
 *
 * What it does not do: decide anything (which snapshot set, which zone, when to give up waiting is backup/'s
 * job), or sign, send and retry (aws/).
 */
#include "svc/ec2_volume.h"

#include "base/time.h"

#include <string.h>

static void s_add_u32(struct query_params *q, const char *name, uint32_t v) {
    if (v > 0) {
        query_add_u64(q, name, v);
    }
}

void ec2_create_volume_request(struct query_params *q, const struct ec2_volume_spec *spec) {
    query_add(q, "SnapshotId", spec->snapshot_id);
    query_add(q, "AvailabilityZone", spec->availability_zone);
    if (spec->volume_type.n) {
        query_add(q, "VolumeType", spec->volume_type);
    }
    s_add_u32(q, "Size", spec->size_gib);
    s_add_u32(q, "Iops", spec->iops);
    s_add_u32(q, "Throughput", spec->throughput);
    if (spec->encrypted) {
        query_add_cstr(q, "Encrypted", "true");
    }
    if (spec->ntags) {
        ec2_add_tag_specification(q, "volume", spec->tags, spec->ntags);
    }
}

static uint32_t s_u32(const struct xml_node *it, const char *name) {
    int64_t v = 0;
    if (span_to_i64(span_trim(xml_child_text(it, name)), 0, UINT32_MAX, &v) != ERR_OK) {
        return 0;
    }
    return (uint32_t) v;
}

/* One volume: CreateVolumeResponse itself or a volumeSet item (same field names). */
static enum err s_parse_volume(struct arena *out, const struct xml_node *it, struct ec2_volume *v) {
    memset(v, 0, sizeof(*v));
    v->id = arena_span_dup(out, xml_child_text(it, "volumeId"));
    ENSURE(v->id.n > 0, ERR_PARSE, "volume without volumeId");
    v->state = arena_span_dup(out, xml_child_text(it, "status"));
    v->availability_zone = arena_span_dup(out, xml_child_text(it, "availabilityZone"));
    v->snapshot_id = arena_span_dup(out, xml_child_text(it, "snapshotId"));
    v->volume_type = arena_span_dup(out, xml_child_text(it, "volumeType"));
    v->kms_key_id = arena_span_dup(out, xml_child_text(it, "kmsKeyId"));
    v->size_gib = s_u32(it, "size");
    v->iops = s_u32(it, "iops");
    v->throughput = s_u32(it, "throughput");
    v->encrypted = span_eq_cstr(xml_child_text(it, "encrypted"), "true");
    struct span created = span_trim(xml_child_text(it, "createTime"));
    if (created.n && time_parse_rfc3339(created, &v->create_time_s) != ERR_OK) {
        FAIL(ERR_PARSE, "volume %.*s: bad createTime '%.*s'", SPAN_FMT(v->id), SPAN_FMT(created));
    }
    return ec2_tags_parse(out, it, &v->tags, &v->ntags);
}

enum err ec2_create_volume_parse(struct arena *out, const struct xml_node *root, struct ec2_volume *v) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "CreateVolumeResponse"), ERR_PARSE, "not a CreateVolume response");
    return s_parse_volume(out, root, v);
}

void ec2_describe_volumes_request(
  struct query_params *q,
  const char *filter,
  const struct span *values,
  size_t nvalues,
  uint32_t max_results,
  struct span next_token) {
    if (filter != NULL) {
        query_add_cstr(q, "Filter.1.Name", filter);
        for (size_t i = 0; i < nvalues; i++) {
            query_addf(q, values[i], "Filter.1.Value.%zu", i + 1);
        }
    }
    if (max_results) {
        query_add_u64(q, "MaxResults", max_results);
    }
    if (next_token.n) {
        query_add(q, "NextToken", next_token);
    }
}

enum err ec2_describe_volumes_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_volume_list *list,
  struct span *next_token) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "DescribeVolumesResponse"), ERR_PARSE, "not a DescribeVolumes response");
    for (const struct xml_node *it = xml_path(root, "volumeSet/item"); it; it = xml_next(it, "item")) {
        list->items = arena_grow_array(out, list->items, list->n, &list->cap, sizeof(*list->items));
        TRY(s_parse_volume(out, it, &list->items[list->n]));
        list->n++;
    }
    *next_token = arena_span_dup(out, xml_child_text(root, "nextToken"));
    return ERR_OK;
}

void ec2_delete_volume_request(struct query_params *q, struct span volume_id) {
    query_add(q, "VolumeId", volume_id);
}

void ec2_attach_volume_request(
  struct query_params *q,
  struct span volume_id,
  struct span instance_id,
  struct span device) {
    query_add(q, "VolumeId", volume_id);
    query_add(q, "InstanceId", instance_id);
    query_add(q, "Device", device);
}

enum err ec2_attach_volume_parse(struct arena *out, const struct xml_node *root, struct span *state) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "AttachVolumeResponse"), ERR_PARSE, "not an AttachVolume response");
    *state = arena_span_dup(out, xml_child_text(root, "status"));
    return ERR_OK;
}

void ec2_describe_availability_zones_request(struct query_params *q) {
    query_add_cstr(q, "Filter.1.Name", "state");
    query_add_cstr(q, "Filter.1.Value.1", "available");
}

enum err ec2_first_available_zone_parse(struct arena *out, const struct xml_node *root, struct span *zone) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "DescribeAvailabilityZonesResponse"),
      ERR_PARSE,
      "not a DescribeAvailabilityZones response");
    struct span best = SPAN_NULL;
    for (const struct xml_node *it = xml_path(root, "availabilityZoneInfo/item"); it; it = xml_next(it, "item")) {
        struct span name = xml_child_text(it, "zoneName");
        struct span state = xml_child_text(it, "zoneState");
        if (name.n == 0 || (state.n && !span_eq_cstr(state, "available"))) {
            continue;
        }
        if (best.n == 0 || span_cmp(name, best) < 0) {
            best = name;
        }
    }
    if (best.n == 0) {
        FAIL(ERR_NOT_FOUND, "no available availability zone");
    }
    *zone = arena_span_dup(out, best);
    return ERR_OK;
}

void ec2_create_tags_request(
  struct query_params *q,
  const struct span *ids,
  size_t nids,
  const struct ec2_tag *tags,
  size_t ntags) {
    for (size_t i = 0; i < nids; i++) {
        query_addf(q, ids[i], "ResourceId.%zu", i + 1);
    }
    for (size_t i = 0; i < ntags; i++) {
        query_addf(q, tags[i].key, "Tag.%zu.Key", i + 1);
        query_addf(q, tags[i].value, "Tag.%zu.Value", i + 1);
    }
}

void ec2_describe_instances_by_id_request(struct query_params *q, const struct span *ids, size_t nids) {
    query_add_cstr(q, "Filter.1.Name", "instance-id");
    for (size_t i = 0; i < nids; i++) {
        query_addf(q, ids[i], "Filter.1.Value.%zu", i + 1);
    }
}
