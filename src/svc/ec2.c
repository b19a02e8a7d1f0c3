/*
 * ec2.c - EC2 Query requests and XML responses for discovery, snapshots, copies and deletions.
 *
 * What it does not do: decide anything. Which instances are due, what to copy or delete is backup/'s job; how
 * requests are signed, sent and retried is aws/'s.
 */
#include "svc/ec2.h"

#include "base/time.h"

#include <stdio.h>
#include <string.h>

struct span ec2_tag_value(const struct ec2_tag *tags, size_t ntags, const char *key, bool *found) {
    for (size_t i = 0; i < ntags; i++) {
        if (span_eq_cstr(tags[i].key, key)) {
            if (found) {
                *found = true;
            }
            return tags[i].value;
        }
    }
    if (found) {
        *found = false;
    }
    return SPAN_NULL;
}

void ec2_add_tag_specification(
  struct query_params *q,
  const char *resource_type,
  const struct ec2_tag *tags,
  size_t ntags) {
    query_add_cstr(q, "TagSpecification.1.ResourceType", resource_type);
    for (size_t i = 0; i < ntags; i++) {
        query_addf(q, tags[i].key, "TagSpecification.1.Tag.%zu.Key", i + 1);
        query_addf(q, tags[i].value, "TagSpecification.1.Tag.%zu.Value", i + 1);
    }
}

static void s_add_tags(struct query_params *q, const struct ec2_tag *tags, size_t ntags) {
    ec2_add_tag_specification(q, "snapshot", tags, ntags);
}

static enum err s_parse_tags(struct arena *out, const struct xml_node *node, struct ec2_tag **tags, size_t *ntags) {
    const struct xml_node *set = xml_child(node, "tagSet");
    size_t n = xml_count(set, "item");
    ENSURE(n <= EC2_MAX_TAGS * 4, ERR_LIMIT, "too many tags on one resource");
    *tags = n ? ARENA_NEW_ARRAY(out, struct ec2_tag, n) : NULL;
    *ntags = 0;
    for (const struct xml_node *it = xml_first(set, "item"); it; it = xml_next(it, "item")) {
        (*tags)[*ntags].key = arena_span_dup(out, xml_child_text(it, "key"));
        (*tags)[*ntags].value = arena_span_dup(out, xml_child_text(it, "value"));
        (*ntags)++;
    }
    return ERR_OK;
}

enum err ec2_tags_parse(struct arena *out, const struct xml_node *node, struct ec2_tag **tags, size_t *ntags) {
    return s_parse_tags(out, node, tags, ntags);
}

void ec2_describe_instances_request(
  struct query_params *q,
  const char *const *tag_keys,
  size_t ntag_keys,
  const char *const *states,
  size_t nstates,
  uint32_t max_results,
  struct span next_token) {
    int f = 0;
    if (ntag_keys) {
        f++;
        query_addf(q, SPAN_LIT("tag-key"), "Filter.%d.Name", f);
        for (size_t i = 0; i < ntag_keys; i++) {
            query_addf(q, span_from_cstr(tag_keys[i]), "Filter.%d.Value.%zu", f, i + 1);
        }
    }
    if (nstates) {
        f++;
        query_addf(q, SPAN_LIT("instance-state-name"), "Filter.%d.Name", f);
        for (size_t i = 0; i < nstates; i++) {
            query_addf(q, span_from_cstr(states[i]), "Filter.%d.Value.%zu", f, i + 1);
        }
    }
    if (max_results) {
        query_add_u64(q, "MaxResults", max_results);
    }
    if (next_token.n) {
        query_add(q, "NextToken", next_token);
    }
}

enum err ec2_describe_instances_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_instance_list *list,
  struct span *next_token) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "DescribeInstancesResponse"),
      ERR_PARSE,
      "not a DescribeInstances "
      "response");
    for (const struct xml_node *r = xml_path(root, "reservationSet/item"); r; r = xml_next(r, "item")) {
        for (const struct xml_node *i = xml_path(r, "instancesSet/item"); i; i = xml_next(i, "item")) {
            list->items = arena_grow_array(out, list->items, list->n, &list->cap, sizeof(*list->items));
            struct ec2_instance *inst = &list->items[list->n];
            memset(inst, 0, sizeof(*inst));
            inst->id = arena_span_dup(out, xml_child_text(i, "instanceId"));
            ENSURE(inst->id.n > 0, ERR_PARSE, "instance without instanceId");
            inst->state = arena_span_dup(out, xml_path_text(i, "instanceState/name"));
            inst->availability_zone = arena_span_dup(out, xml_path_text(i, "placement/availabilityZone"));
            inst->root_device = arena_span_dup(out, xml_child_text(i, "rootDeviceName"));
            TRY(s_parse_tags(out, i, &inst->tags, &inst->ntags));
            const struct xml_node *bdm = xml_child(i, "blockDeviceMapping");
            size_t nv = xml_count(bdm, "item");
            inst->volumes = nv ? ARENA_NEW_ARRAY(out, struct ec2_volume_ref, nv) : NULL;
            for (const struct xml_node *m = xml_first(bdm, "item"); m; m = xml_next(m, "item")) {
                struct span vol = xml_path_text(m, "ebs/volumeId");
                if (vol.n == 0) {
                    continue; /* not an EBS mapping */
                }
                inst->volumes[inst->nvolumes].device = arena_span_dup(out, xml_child_text(m, "deviceName"));
                inst->volumes[inst->nvolumes].volume_id = arena_span_dup(out, vol);
                inst->nvolumes++;
            }
            list->n++;
        }
    }
    *next_token = arena_span_dup(out, xml_child_text(root, "nextToken"));
    return ERR_OK;
}

void ec2_describe_snapshots_request(
  struct query_params *q,
  const char *tag_key,
  const char *tag_value,
  uint32_t max_results,
  struct span next_token) {
    query_add_cstr(q, "Owner.1", "self");
    char name[160];
    snprintf(name, sizeof(name), "tag:%s", tag_key);
    query_add_cstr(q, "Filter.1.Name", name);
    query_add_cstr(q, "Filter.1.Value.1", tag_value);
    if (max_results) {
        query_add_u64(q, "MaxResults", max_results);
    }
    if (next_token.n) {
        query_add(q, "NextToken", next_token);
    }
}

/* One snapshot item; `state_field` is "status" in DescribeSnapshots and "state" in CreateSnapshots. */
static enum err s_parse_snapshot(struct arena *out, const struct xml_node *it, struct ec2_snapshot *s) {
    memset(s, 0, sizeof(*s));
    s->id = arena_span_dup(out, xml_child_text(it, "snapshotId"));
    ENSURE(s->id.n > 0, ERR_PARSE, "snapshot without snapshotId");
    s->volume_id = arena_span_dup(out, xml_child_text(it, "volumeId"));
    struct span state = xml_child_text(it, "status");
    if (state.n == 0) {
        state = xml_child_text(it, "state");
    }
    s->state = arena_span_dup(out, state);
    s->description = arena_span_dup(out, xml_child_text(it, "description"));
    s->kms_key_id = arena_span_dup(out, xml_child_text(it, "kmsKeyId"));
    s->encrypted = span_eq_cstr(xml_child_text(it, "encrypted"), "true");
    int64_t size = 0;
    if (span_to_i64(span_trim(xml_child_text(it, "volumeSize")), 0, UINT32_MAX, &size) == ERR_OK) {
        s->volume_size_gib = (uint32_t) size;
    }
    struct span start = span_trim(xml_child_text(it, "startTime"));
    if (time_parse_rfc3339(start, &s->start_time_s) != ERR_OK) {
        FAIL(ERR_PARSE, "snapshot %.*s: bad startTime '%.*s'", SPAN_FMT(s->id), SPAN_FMT(start));
    }
    return s_parse_tags(out, it, &s->tags, &s->ntags);
}

static enum err s_parse_snapshot_set(struct arena *out, const struct xml_node *root, struct ec2_snapshot_list *list) {
    for (const struct xml_node *it = xml_path(root, "snapshotSet/item"); it; it = xml_next(it, "item")) {
        list->items = arena_grow_array(out, list->items, list->n, &list->cap, sizeof(*list->items));
        TRY(s_parse_snapshot(out, it, &list->items[list->n]));
        list->n++;
    }
    return ERR_OK;
}

enum err ec2_describe_snapshots_parse(
  struct arena *out,
  const struct xml_node *root,
  struct ec2_snapshot_list *list,
  struct span *next_token) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "DescribeSnapshotsResponse"),
      ERR_PARSE,
      "not a DescribeSnapshots "
      "response");
    TRY(s_parse_snapshot_set(out, root, list));
    *next_token = arena_span_dup(out, xml_child_text(root, "nextToken"));
    return ERR_OK;
}

void ec2_create_snapshots_request(
  struct query_params *q,
  struct span instance_id,
  struct span description,
  const struct ec2_tag *tags,
  size_t ntags) {
    query_add(q, "InstanceSpecification.InstanceId", instance_id);
    query_add_cstr(q, "InstanceSpecification.ExcludeBootVolume", "false");
    if (description.n) {
        query_add(q, "Description", description);
    }
    s_add_tags(q, tags, ntags);
}

enum err ec2_create_snapshots_parse(struct arena *out, const struct xml_node *root, struct ec2_snapshot_list *list) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "CreateSnapshotsResponse"),
      ERR_PARSE,
      "not a CreateSnapshots "
      "response");
    return s_parse_snapshot_set(out, root, list);
}

void ec2_copy_snapshot_request(struct query_params *q, const struct ec2_copy_request *r, bool with_presigned_url) {
    query_add(q, "SourceRegion", r->source_region);
    query_add(q, "SourceSnapshotId", r->source_snapshot_id);
    /* EC2 wants the destination on the wire too when a presigned URL is used (botocore handlers.py). */
    query_add(q, "DestinationRegion", r->destination_region);
    if (r->description.n) {
        query_add(q, "Description", r->description);
    }
    if (r->kms_key_id.n) {
        query_add_cstr(q, "Encrypted", "true");
        query_add(q, "KmsKeyId", r->kms_key_id);
    }
    s_add_tags(q, r->tags, r->ntags);
    if (with_presigned_url) {
        query_add(q, "PresignedUrl", r->presigned_url);
    }
}

enum err ec2_copy_snapshot_parse(struct arena *out, const struct xml_node *root, struct span *snapshot_id) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "CopySnapshotResponse"), ERR_PARSE, "not a CopySnapshot response");
    *snapshot_id = arena_span_dup(out, xml_child_text(root, "snapshotId"));
    ENSURE(snapshot_id->n > 0, ERR_PARSE, "CopySnapshot response without snapshotId");
    return ERR_OK;
}

void ec2_delete_snapshot_request(struct query_params *q, struct span snapshot_id) {
    query_add(q, "SnapshotId", snapshot_id);
}
