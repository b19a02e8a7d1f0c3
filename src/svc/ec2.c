/*
 * ec2.c - EC2 Query requests and XML responses for discovery, snapshots, copies and deletions.
 *
 * What it does not do: decide anything. Which instances are due, what to copy or delete is backup/'s job; how
 * requests are signed, sent and retried is aws/'s.
 */
#include "svc/ec2.h"

#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
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

/* ---- compact listings ---- */

static uint64_t s_version; /* the last version given to a listing (single-threaded: the cycle's thread) */

size_t ec2_snaps_drop_unnamed(struct ec2_snaps *l) {
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].id != 0) {
            l->items[k++] = l->items[i];
        }
    }
    size_t dropped = l->n - k;
    l->n = k;
    if (dropped > 0) {
        ec2_snaps_touch(l);
    }
    return dropped;
}

void ec2_snaps_touch(struct ec2_snaps *l) {
    l->version = ++s_version;
}

static uint32_t s_hash(struct span s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < s.n; i++) {
        h = (h ^ (unsigned char) s.p[i]) * 16777619u;
    }
    return h;
}

struct span ec2_pool_get(const struct ec2_pool *p, uint32_t h) {
    if (h == 0 || h == UINT32_MAX) {
        return SPAN_NULL;
    }
    const unsigned char *at = p->chunks[h >> 16] + (h & 0xffffu);
    size_t n = (size_t) at[0] | (size_t) at[1] << 8;
    return (struct span){ (const char *) at + 2, n };
}

void ec2_pool_free(struct ec2_pool *p) {
    for (size_t i = 0; i < p->nchunks; i++) {
        free(p->chunks[i]);
    }
    free(p->chunks);
    free(p->slots);
    memset(p, 0, sizeof(*p));
}

size_t ec2_pool_bytes(const struct ec2_pool *p) {
    return p->nchunks * EC2_POOL_CHUNK + p->nslots * sizeof(uint32_t);
}

static bool s_pool_rehash(struct ec2_pool *p) {
    size_t n = p->nslots ? p->nslots * 2 : 1024;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL) {
        return false;
    }
    for (size_t i = 0; i < p->nslots; i++) {
        if (p->slots[i] != 0) {
            size_t k = s_hash(ec2_pool_get(p, p->slots[i])) & (n - 1);
            while (slots[k] != 0) {
                k = (k + 1) & (n - 1);
            }
            slots[k] = p->slots[i];
        }
    }
    free(p->slots);
    p->slots = slots;
    p->nslots = n;
    return true;
}

/* Room for `need` bytes in the last chunk: a new chunk when it is full. 0 when out of memory or handles. */
static unsigned char *s_pool_room(struct ec2_pool *p, size_t need) {
    if (p->nchunks == 0 || p->used + need > EC2_POOL_CHUNK) {
        if (p->nchunks == 0xffffu) {
            return NULL; /* 65,535 chunks of 64 KiB: 4 GiB of strings */
        }
        if (p->nchunks == p->capchunks) {
            size_t cap = p->capchunks ? p->capchunks * 2 : 16;
            unsigned char **v = realloc(p->chunks, cap * sizeof(*v));
            if (v == NULL) {
                return NULL;
            }
            p->chunks = v;
            p->capchunks = cap;
        }
        unsigned char *c = malloc(EC2_POOL_CHUNK);
        if (c == NULL) {
            return NULL;
        }
        p->chunks[p->nchunks++] = c;
        p->used = p->nchunks == 1 ? 2 : 0; /* offset 0 of chunk 0 would be handle 0 (the empty string) */
    }
    return p->chunks[p->nchunks - 1] + p->used;
}

/* The slot of s in the open addressing: its handle's, or the empty one where it would go (p->nslots > 0). */
static size_t s_pool_slot(const struct ec2_pool *p, struct span s) {
    size_t k = s_hash(s) & (p->nslots - 1);
    while (p->slots[k] != 0 && !span_eq(ec2_pool_get(p, p->slots[k]), s)) {
        k = (k + 1) & (p->nslots - 1);
    }
    return k;
}

uint32_t ec2_pool_find(const struct ec2_pool *p, struct span s) {
    if (s.n == 0 || p->nslots == 0) {
        return 0;
    }
    s.n = s.n > EC2_POOL_MAX_STRING ? EC2_POOL_MAX_STRING : s.n; /* as ec2_pool_intern stored it */
    return p->slots[s_pool_slot(p, s)];
}

uint32_t ec2_pool_intern(struct ec2_pool *p, struct span s) {
    if (s.n == 0) {
        return 0;
    }
    s.n = s.n > EC2_POOL_MAX_STRING ? EC2_POOL_MAX_STRING : s.n;
    if ((p->nused + 1) * 4 > p->nslots * 3 && !s_pool_rehash(p)) {
        return UINT32_MAX;
    }
    size_t k = s_pool_slot(p, s);
    if (p->slots[k] != 0) {
        return p->slots[k];
    }
    unsigned char *at = s_pool_room(p, s.n + 2);
    if (at == NULL) {
        return UINT32_MAX;
    }
    at[0] = (unsigned char) (s.n & 0xffu);
    at[1] = (unsigned char) (s.n >> 8);
    memcpy(at + 2, s.p, s.n);
    uint32_t h = (uint32_t) ((p->nchunks - 1) << 16 | p->used);
    p->used += s.n + 2;
    p->slots[k] = h;
    p->nused++;
    return h;
}

void ec2_snaps_init(struct ec2_snaps *l, const char *const *keys, size_t nkeys, size_t max, const char *max_name) {
    memset(l, 0, sizeof(*l));
    l->keys = keys;
    l->nkeys = nkeys < EC2_SNAPS_MAX_KEYS ? nkeys : EC2_SNAPS_MAX_KEYS;
    l->max = max;
    l->max_name = max_name;
}

void ec2_snaps_free(struct ec2_snaps *l) {
    free(l->items);
    ec2_pool_free(&l->pool);
    ec2_snaps_init(l, l->keys, l->nkeys, l->max, l->max_name);
    ec2_snaps_touch(l);
}

void ec2_snaps_replace(struct ec2_snaps *to, struct ec2_snaps *from) {
    free(to->items);
    ec2_pool_free(&to->pool);
    *to = *from;
    ec2_snaps_touch(to);
    memset(&from->pool, 0, sizeof(from->pool));
    from->items = NULL;
    from->n = from->cap = 0;
}

size_t ec2_snaps_bytes(const struct ec2_snaps *l) {
    return l->cap * sizeof(*l->items) + ec2_pool_bytes(&l->pool);
}

struct span ec2_snaps_tag(const struct ec2_snaps *l, const struct ec2_snaprec *s, const char *key) {
    for (size_t k = 0; k < l->nkeys; k++) {
        if (l->keys[k] == key || strcmp(l->keys[k], key) == 0) {
            return ec2_pool_get(&l->pool, s->tags[k]);
        }
    }
    return SPAN_NULL;
}

static enum err s_snaps_room(struct ec2_snaps *l) {
    ENSURE(
      l->n < l->max,
      ERR_LIMIT,
      "more than %zu snapshots listed in one region (%s): raise the container's memory and this maximum, or split "
      "the fleet across runs",
      l->max,
      l->max_name ? l->max_name : "maximum");
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap + l->cap / 2 : 1024;
        cap = cap > l->max ? l->max : cap;
        struct ec2_snaprec *v = realloc(l->items, cap * sizeof(*v));
        ENSURE(v != NULL, ERR_NOMEM, "snapshot listing: out of memory at %zu records", l->n);
        l->items = v;
        l->cap = cap;
    }
    return ERR_OK;
}

static uint32_t s_intern(struct ec2_snaps *l, struct span s, bool *ok) {
    uint32_t h = ec2_pool_intern(&l->pool, s);
    *ok = *ok && h != UINT32_MAX;
    return h;
}

enum err ec2_snaps_push(
  struct ec2_snaps *l,
  struct span id,
  struct span volume_id,
  struct span state,
  int64_t start_time_s,
  const struct ec2_tag *tags,
  size_t ntags) {
    TRY(s_snaps_room(l));
    struct ec2_snaprec *r = &l->items[l->n];
    memset(r, 0, sizeof(*r));
    bool ok = true;
    r->start_time_s = start_time_s;
    r->id = s_intern(l, id, &ok);
    r->volume_id = s_intern(l, volume_id, &ok);
    r->state = s_intern(l, state, &ok);
    for (size_t k = 0; k < l->nkeys; k++) {
        bool found = false;
        struct span v = ec2_tag_value(tags, ntags, l->keys[k], &found);
        r->tags[k] = found ? s_intern(l, v, &ok) : 0;
    }
    ENSURE(ok, ERR_NOMEM, "snapshot listing: out of memory for strings at %zu records", l->n);
    l->n++;
    ec2_snaps_touch(l);
    return ERR_OK;
}

/* One listed item: only the kept tags are looked at (no copies of the tag set). */
static enum err s_snaps_item(struct ec2_snaps *l, const struct xml_node *it) {
    struct ec2_tag kept[EC2_SNAPS_MAX_KEYS];
    size_t nkept = 0;
    const struct xml_node *set = xml_child(it, "tagSet");
    for (const struct xml_node *t = xml_first(set, "item"); t && nkept < l->nkeys; t = xml_next(t, "item")) {
        struct span key = xml_child_text(t, "key");
        for (size_t k = 0; k < l->nkeys; k++) {
            if (span_eq_cstr(key, l->keys[k])) {
                kept[nkept++] = (struct ec2_tag){ key, xml_child_text(t, "value") };
                break;
            }
        }
    }
    struct span id = xml_child_text(it, "snapshotId");
    ENSURE(id.n > 0, ERR_PARSE, "snapshot without snapshotId");
    struct span start = span_trim(xml_child_text(it, "startTime"));
    int64_t start_s = 0;
    if (time_parse_rfc3339(start, &start_s) != ERR_OK) {
        FAIL(ERR_PARSE, "snapshot %.*s: bad startTime '%.*s'", SPAN_FMT(id), SPAN_FMT(start));
    }
    return ec2_snaps_push(l, id, xml_child_text(it, "volumeId"), xml_child_text(it, "status"), start_s, kept, nkept);
}

enum err ec2_snaps_parse_page(
  struct ec2_snaps *l,
  const struct xml_node *root,
  struct arena *tok_arena,
  struct span *next_token) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "DescribeSnapshotsResponse"),
      ERR_PARSE,
      "not a DescribeSnapshots response");
    for (const struct xml_node *it = xml_path(root, "snapshotSet/item"); it; it = xml_next(it, "item")) {
        TRY(s_snaps_item(l, it));
    }
    *next_token = arena_span_dup(tok_arena, xml_child_text(root, "nextToken"));
    if (next_token->n == 0 && l->cap > l->n && l->n > 0) { /* the last page: give back the growth margin */
        struct ec2_snaprec *v = realloc(l->items, l->n * sizeof(*v));
        if (v != NULL) {
            l->items = v;
            l->cap = l->n;
        }
    }
    return ERR_OK;
}
