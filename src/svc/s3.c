/*
 * s3.c - S3 REST-XML requests and responses for the S3 backup job: listings (objects and incomplete multipart
 * uploads), HeadObject, CopyObject and the multipart copy (create, part copies, complete, abort).
 *
 * Every builder writes its strings (query strings, header values, bodies) into the arena the caller passes,
 * because a request may be prepared again for each retry long after the builder returned. Every parser checks
 * the element it expects at the root, bounds what it keeps (named maximums in s3.h) and copies it into the
 * caller's arena.
 *
 * What it does not do: decide which objects to copy or how to split them (backup/s3copy), or sign, send and
 * retry requests (aws/call).
 */
#include "svc/s3.h"

#include "base/time.h"
#include "codec/uri.h"

#include <stdio.h>
#include <string.h>

/* The query string or copy-source value of one request: keys are 1024 bytes, each may triple when encoded. */
#define S3_QUERY_MAX ((size_t) 16 * 1024)

/* Storage classes as static strings, so 10,000 listed objects do not carry 10,000 copies of "STANDARD". */
static const char *const s_classes[] = { "STANDARD", "STANDARD_IA", "ONEZONE_IA",     "INTELLIGENT_TIERING",
                                         "GLACIER",  "GLACIER_IR",  "DEEP_ARCHIVE",   "REDUCED_REDUNDANCY",
                                         "OUTPOSTS", "SNOW",        "EXPRESS_ONEZONE" };

/* Content headers that describe an object and that CopyObject's COPY directive keeps (HeadObject → multipart). */
static const char *const s_content_headers[] = { "Content-Type",     "Cache-Control",    "Content-Disposition",
                                                 "Content-Encoding", "Content-Language", "Expires" };

#define S3_META_PREFIX "x-amz-meta-"

static int s_hex(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes into dst (room for in.n bytes); returns the decoded length, or -1 for a malformed escape. */
static long s_decode_into(char *dst, struct span in) {
    size_t o = 0;
    for (size_t i = 0; i < in.n; i++) {
        char c = in.p[i];
        if (c == '+') {
            dst[o++] = ' ';
        } else if (c == '%') {
            if (i + 2 >= in.n) {
                return -1;
            }
            int hi = s_hex(in.p[i + 1]), lo = s_hex(in.p[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            dst[o++] = (char) (hi * 16 + lo);
            i += 2;
        } else {
            dst[o++] = c;
        }
    }
    return (long) o;
}

enum err s3_url_decode(struct arena *a, struct span in, size_t max, struct span *out) {
    char *dst = arena_alloc(a, in.n + 1);
    long n = s_decode_into(dst, in);
    ENSURE(n >= 0, ERR_PARSE, "malformed %%-escape in a URL-encoded listing value");
    ENSURE((size_t) n <= max, ERR_LIMIT, "decoded listing value is %ld bytes, above %zu", n, max);
    *out = (struct span){ dst, (size_t) n };
    return ERR_OK;
}

const char *s3_copy_source(struct arena *a, const char *bucket, struct span key) {
    struct buf b;
    buf_init(&b, S3_QUERY_MAX);
    buf_append_char(&b, '/');
    buf_append_cstr(&b, bucket);
    buf_append_char(&b, '/');
    uri_encode_path(&b, key);
    /* Never a cut value: a truncated source would name another object. */
    const char *s = buf_status(&b) == ERR_OK ? arena_strndup(a, buf_cstr(&b), b.len) : NULL;
    buf_free(&b);
    return s;
}

void s3_request_init(
  struct aws_request *r,
  const char *operation,
  const char *method,
  const char *region,
  const char *bucket,
  struct span key) {
    memset(r, 0, sizeof(*r));
    r->service = ENDPOINT_S3;
    r->operation = operation;
    r->method = method;
    r->region = region;
    r->bucket = bucket;
    r->key = key;
}

enum err s3_request_header(struct aws_request *r, const char *name, const char *value) {
    ENSURE(
      r->nheaders < AWS_MAX_EXTRA_HEADERS, ERR_LIMIT, "%s: more than %d headers", r->operation, AWS_MAX_EXTRA_HEADERS);
    r->headers[r->nheaders++] = (struct aws_header){ name, value };
    return ERR_OK;
}

/* The query string built in `b`, copied into the arena as the request's query. */
static void s_set_query(struct aws_request *r, struct arena *a, struct buf *b) {
    r->query = arena_span_dup(a, buf_span(b));
    buf_free(b);
}

static struct span s_strip_quotes(struct span s) {
    s = span_trim(s);
    if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"') {
        return span_sub(s, 1, s.n - 2);
    }
    return s;
}

static const char *s_class(struct arena *out, struct span s) {
    if (s.n == 0) {
        return s_classes[0];
    }
    for (size_t i = 0; i < sizeof(s_classes) / sizeof(s_classes[0]); i++) {
        if (span_eq_cstr(s, s_classes[i])) {
            return s_classes[i];
        }
    }
    return arena_span_cstr(out, s);
}

static bool s_truncated(const struct xml_node *root) {
    return span_eq_nocase(span_trim(xml_child_text(root, "IsTruncated")), SPAN_LIT("true"));
}

/* A listing value (key or marker): decoded when the answer says it is URL-encoded. */
static enum err s_listing_value(struct arena *out, struct span raw, bool encoded, size_t max, struct span *v) {
    if (encoded) {
        return s3_url_decode(out, raw, max, v);
    }
    ENSURE(raw.n <= max, ERR_LIMIT, "listing value of %zu bytes, above %zu", raw.n, max);
    *v = arena_span_dup(out, raw);
    return ERR_OK;
}

void s3_list_objects_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span prefix,
  struct span token,
  uint32_t max_keys) {
    struct s3_list_query lq = { .prefix = prefix, .token = token, .max_keys = max_keys };
    s3_list_objects_request_q(r, a, region, bucket, &lq);
}

void s3_list_objects_request_q(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  const struct s3_list_query *lq) {
    s3_request_init(r, "ListObjectsV2", "GET", region, bucket, SPAN_NULL);
    struct buf q;
    buf_init(&q, S3_QUERY_MAX);
    char n[24];
    snprintf(n, sizeof(n), "%u", lq->max_keys ? lq->max_keys : S3_LIST_MAX_KEYS);
    uri_form_add(&q, SPAN_LIT("list-type"), SPAN_LIT("2"));
    uri_form_add(&q, SPAN_LIT("encoding-type"), SPAN_LIT("url"));
    uri_form_add(&q, SPAN_LIT("max-keys"), span_from_cstr(n));
    if (lq->prefix.n) {
        uri_form_add(&q, SPAN_LIT("prefix"), lq->prefix);
    }
    if (lq->delimiter.n) {
        uri_form_add(&q, SPAN_LIT("delimiter"), lq->delimiter);
    }
    if (lq->start_after.n) {
        uri_form_add(&q, SPAN_LIT("start-after"), lq->start_after);
    }
    if (lq->token.n) {
        uri_form_add(&q, SPAN_LIT("continuation-token"), lq->token);
    }
    s_set_query(r, a, &q);
}

enum err s3_list_objects_parse(
  struct arena *out,
  const struct xml_node *root,
  struct s3_object_list *list,
  struct span *next_token) {
    return s3_list_objects_parse_q(out, root, list, NULL, next_token);
}

/* CommonPrefixes/Prefix of a delimited page, decoded, sorted as S3 sends them (checked: the merge relies on it). */
static enum err
s_common_prefixes(struct arena *out, const struct xml_node *root, bool encoded, struct s3_prefix_list *pl) {
    for (const struct xml_node *c = xml_first(root, "CommonPrefixes"); c; c = xml_next(c, "CommonPrefixes")) {
        struct span p;
        TRY(s_listing_value(out, xml_child_text(c, "Prefix"), encoded, S3_KEY_MAX, &p));
        ENSURE(p.n > 0, ERR_PARSE, "listed common prefix is empty");
        ENSURE(
          pl->n == 0 || span_cmp(pl->items[pl->n - 1], p) < 0, ERR_PARSE, "common prefixes out of order in a listing");
        pl->items = arena_grow_array(out, pl->items, pl->n, &pl->cap, sizeof(*pl->items));
        pl->items[pl->n++] = p;
    }
    return ERR_OK;
}

enum err s3_list_objects_parse_q(
  struct arena *out,
  const struct xml_node *root,
  struct s3_object_list *list,
  struct s3_prefix_list *prefixes,
  struct span *next_token) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "ListBucketResult"), ERR_PARSE, "not a ListObjectsV2 response");
    bool encoded = span_eq_nocase(span_trim(xml_child_text(root, "EncodingType")), SPAN_LIT("url"));
    size_t count = 0;
    for (const struct xml_node *c = xml_first(root, "Contents"); c; c = xml_next(c, "Contents")) {
        ENSURE(++count <= S3_LIST_MAX_KEYS, ERR_LIMIT, "more than %d objects in one listing page", S3_LIST_MAX_KEYS);
        struct span raw = xml_child_text(c, "Key");
        ENSURE(raw.n > 0, ERR_PARSE, "listed object without a key");
        struct span etag = s_strip_quotes(xml_child_text(c, "ETag"));
        ENSURE(etag.n <= S3_ETAG_MAX, ERR_LIMIT, "ETag of %zu bytes, above %d", etag.n, S3_ETAG_MAX);
        uint64_t size = 0;
        ENSURE(xml_child_u64(c, "Size", S3_OBJECT_MAX, &size) == ERR_OK, ERR_PARSE, "listed object with a bad Size");
        int64_t lm = 0;
        ENSURE(
          time_parse_rfc3339_ms(span_trim(xml_child_text(c, "LastModified")), &lm) == ERR_OK,
          ERR_PARSE,
          "listed object with a bad LastModified");
        /* One allocation for key and ETag: the key decodes to at most its encoded length. */
        char *mem = arena_alloc(out, raw.n + etag.n + 1);
        size_t klen = raw.n;
        if (encoded) {
            long n = s_decode_into(mem, raw);
            ENSURE(n >= 0, ERR_PARSE, "malformed %%-escape in a listed key");
            klen = (size_t) n;
        } else {
            memcpy(mem, raw.p, raw.n);
        }
        ENSURE(klen > 0 && klen <= S3_KEY_MAX, ERR_LIMIT, "listed key of %zu bytes, above %d", klen, S3_KEY_MAX);
        memcpy(mem + klen, etag.p, etag.n);
        list->items = arena_grow_array(out, list->items, list->n, &list->cap, sizeof(*list->items));
        list->items[list->n++] = (struct s3_object){
            .key = { mem, klen },
            .etag = { mem + klen, etag.n },
            .storage_class = span_from_cstr(s_class(out, span_trim(xml_child_text(c, "StorageClass")))),
            .size = size,
            .last_modified_ms = lm,
        };
    }
    if (prefixes != NULL) {
        TRY(s_common_prefixes(out, root, encoded, prefixes));
        ENSURE(
          count + prefixes->n <= S3_LIST_MAX_KEYS,
          ERR_LIMIT,
          "more than %d keys and common prefixes in one listing page",
          S3_LIST_MAX_KEYS);
    }
    *next_token = SPAN_NULL;
    if (s_truncated(root)) {
        struct span token = span_trim(xml_child_text(root, "NextContinuationToken"));
        ENSURE(token.n > 0, ERR_PARSE, "truncated listing without a NextContinuationToken");
        ENSURE(token.n <= S3_TOKEN_MAX, ERR_LIMIT, "continuation token of %zu bytes", token.n);
        *next_token = arena_span_dup(out, token);
    }
    return ERR_OK;
}

void s3_list_uploads_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span prefix,
  struct span key_marker,
  struct span upload_id_marker) {
    s3_request_init(r, "ListMultipartUploads", "GET", region, bucket, SPAN_NULL);
    struct buf q;
    buf_init(&q, S3_QUERY_MAX);
    uri_form_add(&q, SPAN_LIT("uploads"), SPAN_LIT(""));
    uri_form_add(&q, SPAN_LIT("encoding-type"), SPAN_LIT("url"));
    if (prefix.n) {
        uri_form_add(&q, SPAN_LIT("prefix"), prefix);
    }
    if (key_marker.n) {
        uri_form_add(&q, SPAN_LIT("key-marker"), key_marker);
    }
    if (upload_id_marker.n) {
        uri_form_add(&q, SPAN_LIT("upload-id-marker"), upload_id_marker);
    }
    s_set_query(r, a, &q);
}

enum err s3_list_uploads_parse(
  struct arena *out,
  const struct xml_node *root,
  struct s3_upload_list *list,
  struct span *next_key_marker,
  struct span *next_upload_id_marker) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "ListMultipartUploadsResult"),
      ERR_PARSE,
      "not a ListMultipartUploads response");
    bool encoded = span_eq_nocase(span_trim(xml_child_text(root, "EncodingType")), SPAN_LIT("url"));
    size_t count = 0;
    for (const struct xml_node *u = xml_first(root, "Upload"); u; u = xml_next(u, "Upload")) {
        ENSURE(++count <= S3_LIST_MAX_KEYS, ERR_LIMIT, "more than %d uploads in one listing page", S3_LIST_MAX_KEYS);
        struct s3_upload up = { 0 };
        TRY(s_listing_value(out, xml_child_text(u, "Key"), encoded, S3_KEY_MAX, &up.key));
        ENSURE(up.key.n > 0, ERR_PARSE, "listed upload without a key");
        struct span id = span_trim(xml_child_text(u, "UploadId"));
        ENSURE(id.n > 0 && id.n <= S3_UPLOAD_ID_MAX, ERR_PARSE, "listed upload with a bad UploadId");
        up.upload_id = arena_span_dup(out, id);
        ENSURE(
          time_parse_rfc3339(span_trim(xml_child_text(u, "Initiated")), &up.initiated_s) == ERR_OK,
          ERR_PARSE,
          "listed upload with a bad Initiated date");
        list->items = arena_grow_array(out, list->items, list->n, &list->cap, sizeof(*list->items));
        list->items[list->n++] = up;
    }
    *next_key_marker = SPAN_NULL;
    *next_upload_id_marker = SPAN_NULL;
    if (s_truncated(root)) {
        struct span km = span_trim(xml_child_text(root, "NextKeyMarker"));
        struct span um = span_trim(xml_child_text(root, "NextUploadIdMarker"));
        ENSURE(km.n > 0, ERR_PARSE, "truncated upload listing without a NextKeyMarker");
        TRY(s_listing_value(out, km, encoded, S3_KEY_MAX, next_key_marker));
        ENSURE(um.n <= S3_UPLOAD_ID_MAX, ERR_LIMIT, "upload id marker of %zu bytes", um.n);
        *next_upload_id_marker = arena_span_dup(out, um);
    }
    return ERR_OK;
}

void s3_head_object_request(struct aws_request *r, const char *region, const char *bucket, struct span key) {
    s3_request_init(r, "HeadObject", "HEAD", region, bucket, key);
}

static enum err s_head_keep(struct arena *out, struct s3_head *h, struct span name, struct span value) {
    ENSURE(
      h->nheaders < S3_HEAD_MAX_HEADERS,
      ERR_LIMIT,
      "more than %d content headers and metadata entries to carry",
      S3_HEAD_MAX_HEADERS);
    ENSURE(value.n <= S3_HEADER_VALUE_MAX, ERR_LIMIT, "header %.*s is %zu bytes", SPAN_FMT(name), value.n);
    h->headers[h->nheaders++] = (struct s3_header){ arena_span_cstr(out, name), arena_span_cstr(out, value) };
    return ERR_OK;
}

enum err s3_head_object_parse(struct arena *out, const struct aws_request *r, struct s3_head *h) {
    memset(h, 0, sizeof(*h));
    struct span len = aws_response_header(r, "Content-Length");
    ENSURE(span_to_u64(len, S3_OBJECT_MAX, &h->size) == ERR_OK, ERR_PARSE, "HeadObject without a valid Content-Length");
    h->etag = arena_span_dup(out, s_strip_quotes(aws_response_header(r, "ETag")));
    struct span tags = aws_response_header(r, "x-amz-tagging-count");
    if (tags.n && span_to_u64(tags, UINT32_MAX, &h->tag_count) != ERR_OK) {
        h->tag_count = 0;
    }
    for (size_t i = 0; i < sizeof(s_content_headers) / sizeof(s_content_headers[0]); i++) {
        struct span v = aws_response_header(r, s_content_headers[i]);
        if (v.n) {
            TRY(s_head_keep(out, h, span_from_cstr(s_content_headers[i]), v));
        }
    }
    size_t meta_bytes = 0;
    struct span rest = buf_span(&r->headers_out);
    while (rest.n > 0) {
        struct span line, name, value;
        span_split(rest, '\n', &line, &rest);
        if (!span_split(line, ':', &name, &value)) {
            continue;
        }
        name = span_trim(name);
        value = span_trim(value);
        if (
          name.n > sizeof(S3_META_PREFIX) - 1 &&
          span_eq_nocase(span_sub(name, 0, sizeof(S3_META_PREFIX) - 1), SPAN_LIT(S3_META_PREFIX))) {
            /* "the size of user-defined metadata is measured by taking the sum of the number of bytes in the
             * UTF-8 encoding of each key and value" (prefix excluded). */
            meta_bytes += name.n - (sizeof(S3_META_PREFIX) - 1) + value.n;
            ENSURE(
              meta_bytes <= S3_META_MAX_BYTES, ERR_LIMIT, "more than %d bytes of user metadata", S3_META_MAX_BYTES);
            TRY(s_head_keep(out, h, name, value));
        }
    }
    return ERR_OK;
}

void s3_get_object_tagging_request(struct aws_request *r, const char *region, const char *bucket, struct span key) {
    s3_request_init(r, "GetObjectTagging", "GET", region, bucket, key);
    r->query = SPAN_LIT("tagging=");
}

enum err s3_get_object_tagging_parse(struct arena *out, const struct xml_node *root, const char **tagging) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "Tagging"), ERR_PARSE, "not a GetObjectTagging response");
    *tagging = NULL;
    struct buf b;
    buf_init(&b, S3_MAX_TAGS * 3 * (S3_TAG_KEY_MAX + S3_TAG_VALUE_MAX + 2));
    size_t n = 0;
    enum err e = ERR_OK;
    for (const struct xml_node *t = xml_path(root, "TagSet/Tag"); t && e == ERR_OK; t = xml_next(t, "Tag")) {
        struct span k = xml_child_text(t, "Key"), v = xml_child_text(t, "Value");
        if (++n > S3_MAX_TAGS) {
            e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "more than %d tags", S3_MAX_TAGS);
        } else if (k.n == 0) {
            e = err_raise(ERR_PARSE, __FILE__, __LINE__, "tag without a key");
        } else if (k.n > S3_TAG_KEY_MAX || v.n > S3_TAG_VALUE_MAX) {
            e = err_raise(ERR_LIMIT, __FILE__, __LINE__, "tag key or value too long");
        } else {
            uri_form_add(&b, k, v.n ? v : SPAN_LIT("")); /* never a NULL pointer into the encoder */
        }
    }
    if (e == ERR_OK && n > 0) {
        e = buf_status(&b);
        *tagging = e == ERR_OK ? arena_strndup(out, buf_cstr(&b), b.len) : NULL;
    }
    buf_free(&b);
    return e;
}

static enum err s_dest_headers(struct aws_request *r, const struct s3_dest *d) {
    if (d->storage_class) {
        TRY(s3_request_header(r, "x-amz-storage-class", d->storage_class));
    }
    if (d->sse) {
        TRY(s3_request_header(r, "x-amz-server-side-encryption", d->sse));
        if (d->sse_kms_key_id && strcmp(d->sse, "aws:kms") == 0) {
            TRY(s3_request_header(r, "x-amz-server-side-encryption-aws-kms-key-id", d->sse_kms_key_id));
        }
    }
    return ERR_OK;
}

enum err s3_copy_object_request(
  struct aws_request *r,
  const char *region,
  const char *bucket,
  struct span key,
  const char *copy_source,
  const struct s3_dest *d) {
    s3_request_init(r, "CopyObject", "PUT", region, bucket, key);
    r->error_in_200 = true;
    TRY(s3_request_header(r, "x-amz-copy-source", copy_source));
    TRY(s3_request_header(r, "x-amz-metadata-directive", "COPY"));
    return s_dest_headers(r, d);
}

enum err s3_create_multipart_request(
  struct aws_request *r,
  const char *region,
  const char *bucket,
  struct span key,
  const struct s3_head *src,
  const struct s3_dest *d) {
    s3_request_init(r, "CreateMultipartUpload", "POST", region, bucket, key);
    r->query = SPAN_LIT("uploads=");
    for (size_t i = 0; i < src->nheaders; i++) {
        TRY(s3_request_header(r, src->headers[i].name, src->headers[i].value));
    }
    if (src->tagging) {
        TRY(s3_request_header(r, "x-amz-tagging", src->tagging));
    }
    return s_dest_headers(r, d);
}

enum err s3_create_multipart_parse(struct arena *out, const struct xml_node *root, struct span *upload_id) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "InitiateMultipartUploadResult"),
      ERR_PARSE,
      "not a CreateMultipartUpload response");
    struct span id = span_trim(xml_child_text(root, "UploadId"));
    ENSURE(id.n > 0, ERR_PARSE, "CreateMultipartUpload response without an UploadId");
    ENSURE(id.n <= S3_UPLOAD_ID_MAX, ERR_LIMIT, "UploadId of %zu bytes", id.n);
    *upload_id = arena_span_dup(out, id);
    return ERR_OK;
}

/* "partNumber=N&uploadId=ID" (part 0: only uploadId). */
static struct span s_upload_query(struct arena *a, struct span upload_id, uint32_t part_number) {
    struct buf q;
    buf_init(&q, S3_QUERY_MAX);
    if (part_number) {
        char n[16];
        snprintf(n, sizeof(n), "%u", part_number);
        uri_form_add(&q, SPAN_LIT("partNumber"), span_from_cstr(n));
    }
    uri_form_add(&q, SPAN_LIT("uploadId"), upload_id);
    struct span s = arena_span_dup(a, buf_span(&q));
    buf_free(&q);
    return s;
}

enum err s3_upload_part_copy_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span key,
  struct span upload_id,
  uint32_t part_number,
  const char *copy_source,
  uint64_t first,
  uint64_t last,
  struct span if_match) {
    ENSURE(part_number >= 1 && part_number <= S3_MAX_PARTS, ERR_INVALID, "part number %u", part_number);
    ENSURE(first <= last, ERR_INVALID, "empty part range");
    s3_request_init(r, "UploadPartCopy", "PUT", region, bucket, key);
    r->error_in_200 = true;
    r->query = s_upload_query(a, upload_id, part_number);
    TRY(s3_request_header(r, "x-amz-copy-source", copy_source));
    TRY(s3_request_header(
      r,
      "x-amz-copy-source-range",
      arena_printf(a, "bytes=%llu-%llu", (unsigned long long) first, (unsigned long long) last)));
    if (if_match.n) {
        TRY(s3_request_header(r, "x-amz-copy-source-if-match", arena_printf(a, "\"%.*s\"", SPAN_FMT(if_match))));
    }
    return ERR_OK;
}

enum err s3_upload_part_copy_parse(struct arena *out, const struct xml_node *root, struct span *etag) {
    ENSURE(root != NULL && span_eq_cstr(root->name, "CopyPartResult"), ERR_PARSE, "not an UploadPartCopy response");
    struct span e = span_trim(xml_child_text(root, "ETag"));
    ENSURE(e.n > 0, ERR_PARSE, "UploadPartCopy response without an ETag");
    ENSURE(e.n <= S3_ETAG_MAX, ERR_LIMIT, "part ETag of %zu bytes", e.n);
    *etag = arena_span_dup(out, e);
    return ERR_OK;
}

/* XML text: only '&' and '<' (and '>' for symmetry) need escaping; ETags never hold them, but a server could. */
static void s_xml_text(struct buf *b, struct span s) {
    for (size_t i = 0; i < s.n; i++) {
        switch (s.p[i]) {
            case '&':
                buf_append_cstr(b, "&amp;");
                break;
            case '<':
                buf_append_cstr(b, "&lt;");
                break;
            case '>':
                buf_append_cstr(b, "&gt;");
                break;
            default:
                buf_append_char(b, s.p[i]);
        }
    }
}

enum err s3_complete_multipart_body(struct arena *a, const struct span *etags, size_t n, struct span *body) {
    ENSURE(n >= 1 && n <= S3_MAX_PARTS, ERR_INVALID, "a multipart upload has 1..%d parts, not %zu", S3_MAX_PARTS, n);
    struct buf b;
    buf_init(&b, S3_COMPLETE_BODY_MAX);
    buf_append_cstr(&b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < n; i++) {
        if (etags[i].n == 0) {
            buf_free(&b);
            FAIL(ERR_INVALID, "part %zu has no ETag", i + 1);
        }
        buf_appendf(&b, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        s_xml_text(&b, etags[i]);
        buf_append_cstr(&b, "</ETag></Part>");
    }
    buf_append_cstr(&b, "</CompleteMultipartUpload>");
    enum err e = buf_status(&b);
    if (e == ERR_OK) {
        *body = arena_span_dup(a, buf_span(&b));
    }
    buf_free(&b);
    ENSURE(e == ERR_OK, ERR_LIMIT, "CompleteMultipartUpload body above %zu bytes", S3_COMPLETE_BODY_MAX);
    return ERR_OK;
}

void s3_complete_multipart_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span key,
  struct span upload_id,
  struct span body) {
    s3_request_init(r, "CompleteMultipartUpload", "POST", region, bucket, key);
    r->error_in_200 = true;
    r->query = s_upload_query(a, upload_id, 0);
    r->body = body;
}

enum err s3_complete_multipart_parse(struct arena *out, const struct xml_node *root, struct span *etag) {
    ENSURE(
      root != NULL && span_eq_cstr(root->name, "CompleteMultipartUploadResult"),
      ERR_PARSE,
      "not a CompleteMultipartUpload response");
    *etag = arena_span_dup(out, s_strip_quotes(xml_child_text(root, "ETag")));
    return ERR_OK;
}

void s3_abort_multipart_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span key,
  struct span upload_id) {
    s3_request_init(r, "AbortMultipartUpload", "DELETE", region, bucket, key);
    r->query = s_upload_query(a, upload_id, 0);
}
