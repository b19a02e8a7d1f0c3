/*
 * s3.h - the S3 calls of the S3 backup job, as request builders and response parsers over plain structs.
 *
 * S3 speaks REST-XML: a method, a path (/<bucket>/<key>, or the bucket in the host name), a query string,
 * headers and an XML body (aws/call.h). Builders here fill a struct aws_request: the key is given raw (the
 * request layer encodes the path), query strings are built already encoded, and every string a request points
 * to is allocated in the arena the caller passes, which must outlive the request. Parsers read a successful
 * response and copy what they keep into the caller's arena, so the response and its tree can be rewound at once.
 *
 * Operations (Amazon S3 API Reference):
 *   ListObjectsV2           GET /<bucket>?list-type=2&encoding-type=url&max-keys=1000[&prefix][&delimiter]
 *                             [&start-after][&continuation-token]
 *                           → ListBucketResult: Contents/{Key, LastModified, ETag, Size, StorageClass},
 *                             CommonPrefixes/Prefix, IsTruncated, NextContinuationToken, EncodingType.
 *   ListMultipartUploads    GET /<bucket>?uploads&encoding-type=url[&prefix][&key-marker&upload-id-marker]
 *                           → ListMultipartUploadsResult: Upload/{Key, UploadId, Initiated}, IsTruncated,
 *                             NextKeyMarker, NextUploadIdMarker.
 *   HeadObject              HEAD /<bucket>/<key> → Content-Length, ETag, Content-Type, Cache-Control,
 *                             Content-Disposition, Content-Encoding, Content-Language, Expires, x-amz-meta-*,
 *                             x-amz-tagging-count.
 *   GetObjectTagging        GET /<bucket>/<key>?tagging → Tagging/TagSet/Tag/{Key, Value}.
 *   CopyObject              PUT /<bucket>/<key> with x-amz-copy-source, x-amz-metadata-directive: COPY,
 *                             x-amz-storage-class, x-amz-server-side-encryption[-aws-kms-key-id].
 *   CreateMultipartUpload   POST /<bucket>/<key>?uploads with the source's content headers, metadata and tags
 *                             (x-amz-tagging; an UploadPartCopy carries none of them)
 *                             → InitiateMultipartUploadResult/UploadId.
 *   UploadPartCopy          PUT /<bucket>/<key>?partNumber=N&uploadId=ID with x-amz-copy-source,
 *                             x-amz-copy-source-range: bytes=FIRST-LAST, x-amz-copy-source-if-match
 *                             → CopyPartResult/ETag.
 *   CompleteMultipartUpload POST /<bucket>/<key>?uploadId=ID, body CompleteMultipartUpload/Part/{PartNumber, ETag}.
 *   AbortMultipartUpload    DELETE /<bucket>/<key>?uploadId=ID.
 * CopyObject, UploadPartCopy and CompleteMultipartUpload "can return 200 with an error document" (CopyObject:
 * "If the error occurs during the copy operation, the error response is embedded in the 200 OK response"):
 * their builders set error_in_200 so the request layer retries that as a 500.
 *
 * Keys in listings: encoding-type=url is always requested, because XML 1.0 cannot carry every byte a key may
 * hold ("Object key names may contain any Unicode character; however, the XML 1.0 parser can't parse certain
 * characters"). S3 then URL-encodes Key (and the markers) in the answer, writing a space as '+'
 * (application/x-www-form-urlencoded, as botocore's decoder assumes); a literal '+' arrives as %2B. Keys are
 * decoded only when the answer says <EncodingType>url</EncodingType>.
 *
 * What it does not do: decide what to copy (backup/s3copy), sign, send or retry (aws/call).
 */
#ifndef SV_SVC_S3_H
#define SV_SVC_S3_H

#include "aws/call.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "codec/xml.h"

#include <stdbool.h>
#include <stdint.h>

#define S3_MIB ((uint64_t) 1024 * 1024)
#define S3_GIB (S3_MIB * 1024)
/* Object and part limits ("Amazon S3 multipart upload limits"). */
#define S3_KEY_MAX 1024                   /* bytes of UTF-8 in an object key */
#define S3_MAX_PARTS 10000                /* parts of one multipart upload, numbered 1..10000 */
#define S3_PART_MIN (5 * S3_MIB)          /* every part but the last */
#define S3_PART_MAX (5 * S3_GIB)          /* UploadPartCopy: "each part must be at least 5 MB ... up to 5 GB" */
#define S3_COPY_OBJECT_MAX (5 * S3_GIB)   /* CopyObject: "You can copy objects up to 5 GB in a single ... " */
#define S3_OBJECT_MAX (5 * S3_GIB * 1024) /* 5 TiB */
#define S3_LIST_MAX_KEYS 1000             /* ListObjectsV2 max-keys / ListMultipartUploads max-uploads */
#define S3_ETAG_MAX 128                   /* "<32 hex>-<parts>" and KMS ETags are far below this */
#define S3_TOKEN_MAX 4096                 /* a continuation token or marker as received (before encoding) */
#define S3_UPLOAD_ID_MAX 1024             /* AWS upload ids are about 100 characters */
#define S3_HEADER_VALUE_MAX 8192          /* one content header or metadata value kept from HeadObject */
#define S3_META_MAX_BYTES 2048            /* "the user-defined metadata is limited to 2 KB in size" */
#define S3_HEAD_MAX_HEADERS 16            /* content headers + metadata entries carried to multipart */
#define S3_COMPLETE_BODY_MAX ((size_t) 1024 * 1024) /* 10,000 parts at about 90 bytes each */
#define S3_MAX_TAGS 10                              /* "You can associate up to 10 tags with an object" */
#define S3_TAG_KEY_MAX 128                          /* "A tag key can be up to 128 Unicode characters" (bytes here) */
#define S3_TAG_VALUE_MAX 256                        /* "A tag value can be up to 256 Unicode characters" */

/* One object of a listing. Spans point into the arena given to the parser. */
struct s3_object {
    struct span key;           /* decoded */
    struct span etag;          /* without the surrounding quotes */
    struct span storage_class; /* "STANDARD" when the listing omits it */
    uint64_t size;
    int64_t last_modified_ms;
};

struct s3_object_list {
    struct s3_object *items;
    size_t n;
    size_t cap;
};

/* One incomplete multipart upload. */
struct s3_upload {
    struct span key; /* decoded */
    struct span upload_id;
    int64_t initiated_s;
};

struct s3_upload_list {
    struct s3_upload *items;
    size_t n;
    size_t cap;
};

/* One header carried from HeadObject to CreateMultipartUpload; NUL-terminated strings in the parser's arena. */
struct s3_header {
    const char *name;
    const char *value;
};

/* What HeadObject said about a source object. */
struct s3_head {
    uint64_t size;
    struct span etag; /* without quotes */
    struct s3_header headers[S3_HEAD_MAX_HEADERS];
    size_t nheaders;
    uint64_t tag_count;  /* x-amz-tagging-count: when > 0, GetObjectTagging fetches them for the multipart copy */
    const char *tagging; /* the tags as an x-amz-tagging value (s3_get_object_tagging_parse), or NULL */
};

/* Where and how copies are written: applied to CopyObject and CreateMultipartUpload alike. */
struct s3_dest {
    const char *storage_class;  /* "STANDARD", "STANDARD_IA", ... ; NULL: not sent (the bucket's default) */
    const char *sse;            /* "AES256" or "aws:kms"; NULL: not sent (the bucket's default encryption) */
    const char *sse_kms_key_id; /* with "aws:kms" only; NULL: the AWS managed key */
};

/*
 * Percent-decodes a URL-encoded listing value (`Key`, markers) the way S3 encodes them: %XX is a byte and '+'
 * is a space. The result is written into `out`'s arena. ERR_PARSE for a malformed escape, ERR_LIMIT if the
 * result is longer than `max`.
 */
enum err s3_url_decode(struct arena *a, struct span in, size_t max, struct span *out) SV_MUST_CHECK;

/*
 * The x-amz-copy-source value "/<bucket>/<key>", the key encoded segment by segment (every byte but the
 * unreserved ones and '/' as %XX: spaces, '+', '%', '?', '#' and non-ASCII bytes included), NUL-terminated in `a`.
 * "The value must be URL-encoded" (CopyObject, x-amz-copy-source). NULL if it would be longer than 16 KiB (a
 * key far above S3_KEY_MAX): never a cut value, which would name another object.
 */
const char *s3_copy_source(struct arena *a, const char *bucket, struct span key);

/*
 * Starts an S3 request: clears *r and sets service, operation, method, region, bucket and key (raw). Query,
 * body and headers are added by the caller or the builders below.
 */
void s3_request_init(
  struct aws_request *r,
  const char *operation,
  const char *method,
  const char *region,
  const char *bucket,
  struct span key);
/* Appends one header (name and value must outlive the request). ERR_LIMIT when AWS_MAX_EXTRA_HEADERS are used. */
enum err s3_request_header(struct aws_request *r, const char *name, const char *value) SV_MUST_CHECK;

/*
 * ListObjectsV2: the request for one page of `bucket` under `prefix` (empty: the whole bucket), continuing at
 * `token` (empty: the first page). Strings go to `a`.
 */
void s3_list_objects_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span prefix,
  struct span token,
  uint32_t max_keys);
/* What one ListObjectsV2 page asks for; empty spans are not sent. */
struct s3_list_query {
    struct span prefix;
    struct span delimiter;   /* "/": keys with it after the prefix are rolled up into CommonPrefixes */
    struct span start_after; /* list keys after this one (first page only) */
    struct span token;       /* continuation token of the previous page */
    uint32_t max_keys;       /* 0 = S3_LIST_MAX_KEYS */
};
/* ListObjectsV2 with every listing parameter S3 takes. */
void s3_list_objects_request_q(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  const struct s3_list_query *q);

/* The CommonPrefixes of a delimited page (decoded, in the order S3 sends them: ascending). */
struct s3_prefix_list {
    struct span *items;
    size_t n;
    size_t cap;
};

/*
 * Appends the page's objects to *list (strings in `out`) and sets *next_token (in `out`; empty on the last page).
 * ERR_PARSE for a document that is not a ListBucketResult, an object without a key or with a bad size or date,
 * or a truncated page without a continuation token (it could never end); ERR_LIMIT for a key above S3_KEY_MAX,
 * an ETag above S3_ETAG_MAX, a token above S3_TOKEN_MAX or more than S3_LIST_MAX_KEYS objects in one page.
 */
enum err s3_list_objects_parse(
  struct arena *out,
  const struct xml_node *root,
  struct s3_object_list *list,
  struct span *next_token) SV_MUST_CHECK;
/*
 * The same, also appending the page's CommonPrefixes to *prefixes (NULL: ignored). ERR_PARSE when they are not in
 * ascending order; ERR_LIMIT when objects and prefixes together exceed S3_LIST_MAX_KEYS.
 */
enum err s3_list_objects_parse_q(
  struct arena *out,
  const struct xml_node *root,
  struct s3_object_list *list,
  struct s3_prefix_list *prefixes,
  struct span *next_token) SV_MUST_CHECK;

/* ListMultipartUploads: one page under `prefix`, continuing at the two markers (both empty: the first page). */
void s3_list_uploads_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span prefix,
  struct span key_marker,
  struct span upload_id_marker);
/* Appends the page's uploads; the markers are empty on the last page. Errors as s3_list_objects_parse. */
enum err s3_list_uploads_parse(
  struct arena *out,
  const struct xml_node *root,
  struct s3_upload_list *list,
  struct span *next_key_marker,
  struct span *next_upload_id_marker) SV_MUST_CHECK;

void s3_head_object_request(struct aws_request *r, const char *region, const char *bucket, struct span key);
/*
 * Reads a successful HeadObject's headers: size, ETag, the content headers (Content-Type, Cache-Control,
 * Content-Disposition, Content-Encoding, Content-Language, Expires) and every x-amz-meta-* header, names and
 * values copied into `out`. ERR_PARSE without a valid Content-Length; ERR_LIMIT beyond S3_HEAD_MAX_HEADERS
 * headers, S3_HEADER_VALUE_MAX for one value or S3_META_MAX_BYTES of metadata in all (a multipart copy could not
 * carry them: the caller must fail that object rather than copy it without its metadata).
 */
enum err s3_head_object_parse(struct arena *out, const struct aws_request *r, struct s3_head *h) SV_MUST_CHECK;

void s3_get_object_tagging_request(struct aws_request *r, const char *region, const char *bucket, struct span key);
/*
 * The object's tags as an x-amz-tagging header value ("k1=v1&k2=v2", each name and value URL-encoded), written
 * into `out`; NULL when there are none. ERR_PARSE for a document that is not a Tagging or a tag without a key;
 * ERR_LIMIT beyond S3_MAX_TAGS tags or S3_TAG_KEY_MAX / S3_TAG_VALUE_MAX bytes.
 */
enum err s3_get_object_tagging_parse(struct arena *out, const struct xml_node *root, const char **tagging)
  SV_MUST_CHECK;

/*
 * CopyObject from `copy_source` (s3_copy_source) to bucket/key, keeping the source's content headers and user
 * metadata (x-amz-metadata-directive: COPY) and tags (S3's default x-amz-tagging-directive), with the
 * destination's storage class and encryption. Sets error_in_200.
 */
enum err s3_copy_object_request(
  struct aws_request *r,
  const char *region,
  const char *bucket,
  struct span key,
  const char *copy_source,
  const struct s3_dest *d) SV_MUST_CHECK;

/*
 * CreateMultipartUpload for bucket/key with the source's headers from HeadObject (content headers and metadata),
 * its tags (src->tagging, when set) and the destination's storage class and encryption. ERR_LIMIT if they do not
 * fit one request.
 */
enum err s3_create_multipart_request(
  struct aws_request *r,
  const char *region,
  const char *bucket,
  struct span key,
  const struct s3_head *src,
  const struct s3_dest *d) SV_MUST_CHECK;
/* The UploadId (copied into `out`). ERR_PARSE when absent, ERR_LIMIT above S3_UPLOAD_ID_MAX. */
enum err s3_create_multipart_parse(struct arena *out, const struct xml_node *root, struct span *upload_id)
  SV_MUST_CHECK;

/*
 * UploadPartCopy of bytes [first, last] (inclusive, as the Range header) of `copy_source` as part `part_number`
 * (1..S3_MAX_PARTS) of the upload. `if_match` (an ETag without quotes; empty: not sent) makes S3 refuse the part
 * with 412 PreconditionFailed if the source changed since it was read, so parts of two versions are never
 * assembled into one object. Strings go to `a`. Sets error_in_200.
 */
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
  struct span if_match) SV_MUST_CHECK;
/* The part's ETag (CopyPartResult/ETag, quotes kept as S3 wants them back), copied into `out`. */
enum err s3_upload_part_copy_parse(struct arena *out, const struct xml_node *root, struct span *etag) SV_MUST_CHECK;

/*
 * The CompleteMultipartUpload body for parts 1..n with these ETags (as UploadPartCopy returned them), in `a`.
 * ERR_INVALID for 0 parts, more than S3_MAX_PARTS or an empty ETag; ERR_LIMIT above S3_COMPLETE_BODY_MAX.
 */
enum err s3_complete_multipart_body(struct arena *a, const struct span *etags, size_t n, struct span *body)
  SV_MUST_CHECK;
/* CompleteMultipartUpload with that body. Sets error_in_200. */
void s3_complete_multipart_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span key,
  struct span upload_id,
  struct span body);
/* The completed object's ETag (CompleteMultipartUploadResult/ETag, without quotes), copied into `out`. */
enum err s3_complete_multipart_parse(struct arena *out, const struct xml_node *root, struct span *etag) SV_MUST_CHECK;

void s3_abort_multipart_request(
  struct aws_request *r,
  struct arena *a,
  const char *region,
  const char *bucket,
  struct span key,
  struct span upload_id);

#endif
