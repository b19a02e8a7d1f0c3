/*
 * test_s3.c - S3 request builders and response parsers: URL-encoded listing keys, copy-source encoding, the
 * documented response shapes, and every named maximum of svc/s3.h met exactly and passed.
 */
#include "harness.h"

#include "svc/s3.h"

#include <stdio.h>
#include <string.h>

/* ---- URL decoding of listing values ------------------------------------------------------------------- */

struct decode_case {
    const char *name;
    const char *in;
    enum err want_err;
    const char *want;
};

TEST(s3_url_decode_table) {
    static const struct decode_case cases[] = {
        { "plain", "documents/a.txt", ERR_OK, "documents/a.txt" },
        { "plus is a space", "with+space", ERR_OK, "with space" },
        { "encoded plus", "plus%2Bsign", ERR_OK, "plus+sign" },
        { "encoded percent", "pct%2541", ERR_OK, "pct%41" },
        { "question mark", "q%3Fmark", ERR_OK, "q?mark" },
        { "utf-8", "%C3%BCn%C3%AF", ERR_OK, "\xc3\xbcn\xc3\xaf" },
        { "lower-case hex", "%c3%bc", ERR_OK, "\xc3\xbc" },
        { "space as %20", "a%20b", ERR_OK, "a b" },
        { "empty", "", ERR_OK, "" },
        { "truncated escape", "bad%2", ERR_PARSE, NULL },
        { "lone percent", "%", ERR_PARSE, NULL },
        { "non-hex escape", "%zz", ERR_PARSE, NULL },
        { "escape cut at end", "ab%", ERR_PARSE, NULL },
        { 0 },
    };
    struct arena a;
    arena_init(&a, 0);
    for (const struct decode_case *c = cases; c->name; c++) {
        struct span out = SPAN_NULL;
        enum err e = s3_url_decode(&a, span_from_cstr(c->in), S3_KEY_MAX, &out);
        if (!CHECK_INT(e, c->want_err)) {
            harness_note("case %s", c->name);
            continue;
        }
        if (c->want && !CHECK_SPAN(out, c->want)) {
            harness_note("case %s", c->name);
        }
    }
    arena_free(&a);
}

TEST(s3_url_decode_limit) {
    struct arena a;
    arena_init(&a, 0);
    struct span out;
    /* "%41" x 3 decodes to 3 bytes: fits a maximum of 3, not of 2. */
    CHECK_OK(s3_url_decode(&a, SPAN_LIT("%41%41%41"), 3, &out));
    CHECK_SPAN(out, "AAA");
    CHECK_INT(s3_url_decode(&a, SPAN_LIT("%41%41%41"), 2, &out), ERR_LIMIT);
    arena_free(&a);
}

/* ---- x-amz-copy-source ------------------------------------------------------------------------------ */

TEST(s3_copy_source_table) {
    static const struct {
        const char *key;
        const char *want;
    } cases[] = {
        { "documents/a.txt", "/src-bkt/documents/a.txt" },
        { "documents/with space.txt", "/src-bkt/documents/with%20space.txt" },
        { "documents/plus+sign.txt", "/src-bkt/documents/plus%2Bsign.txt" },
        { "documents/pct%41.txt", "/src-bkt/documents/pct%2541.txt" },
        { "documents/q?mark.txt", "/src-bkt/documents/q%3Fmark.txt" },
        { "documents/hash#x", "/src-bkt/documents/hash%23x" },
        { "documents/\xc3\xbcn\xc3\xaf.txt", "/src-bkt/documents/%C3%BCn%C3%AF.txt" },
        { "a//b/", "/src-bkt/a//b/" },
        { "k=v&x;y,z", "/src-bkt/k%3Dv%26x%3By%2Cz" },
        { "-._~", "/src-bkt/-._~" },
        { 0 },
    };
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; cases[i].key; i++) {
        const char *got = s3_copy_source(&a, "src-bkt", span_from_cstr(cases[i].key));
        REQUIRE(got != NULL);
        CHECK_STR(got, cases[i].want);
    }
    arena_free(&a);
}

TEST(s3_copy_source_never_cut) {
    struct arena a;
    arena_init(&a, 0);
    /* The longest key S3 allows, every byte encoded (3 bytes each), fits. */
    char key[S3_KEY_MAX];
    memset(key, ' ', sizeof(key));
    const char *got = s3_copy_source(&a, "b", (struct span){ key, sizeof(key) });
    REQUIRE(got != NULL);
    CHECK_INT(strlen(got), 3 + 3 * S3_KEY_MAX);
    /* Far beyond it, the value is refused rather than cut (a cut value would name another object). */
    static char huge[6000];
    memset(huge, ' ', sizeof(huge));
    CHECK(s3_copy_source(&a, "b", (struct span){ huge, sizeof(huge) }) == NULL);
    arena_free(&a);
}

/* ---- ListObjectsV2 ---------------------------------------------------------------------------------- */

static const char s_list_xml[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
  "  <Name>src-bkt</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>\n"
  "  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>\n"
  "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
  "  <Contents><Key>documents/with+space%2Bplus.txt</Key><LastModified>2026-11-20T12:00:01.000Z</LastModified>"
  "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size>"
  "<StorageClass>STANDARD_IA</StorageClass></Contents>\n"
  "  <Contents><Key>documents/%C3%BC%3F.bin</Key><LastModified>2026-11-20T12:00:02.500Z</LastModified>"
  "<ETag>\"d41d8cd98f00b204e9800998ecf8427e-12\"</ETag><Size>0</Size></Contents>\n"
  "  <Contents><Key>other/x</Key><LastModified>2026-11-20T12:00:03Z</LastModified>"
  "<ETag>abc</ETag><Size>5497558138880</Size><StorageClass>NEW_CLASS</StorageClass></Contents>\n"
  "</ListBucketResult>\n";

static enum err s_parse_list(struct arena *a, const char *xml, struct s3_object_list *list, struct span *next) {
    const struct xml_node *root = NULL;
    enum err e = xml_parse(a, span_from_cstr(xml), NULL, &root);
    return e != ERR_OK ? e : s3_list_objects_parse(a, root, list, next);
}

TEST(s3_list_objects_parse_page) {
    struct arena a;
    arena_init(&a, 0);
    struct s3_object_list list = { 0 };
    struct span next;
    REQUIRE_OK(s_parse_list(&a, s_list_xml, &list, &next));
    REQUIRE(list.n == 3);
    CHECK_SPAN(list.items[0].key, "documents/with space+plus.txt");
    CHECK_SPAN(list.items[0].etag, "9b2cf535f27731c974343645a3985328");
    CHECK_SPAN(list.items[0].storage_class, "STANDARD_IA");
    CHECK(list.items[0].size == 1234);
    CHECK(list.items[0].last_modified_ms == 1795176001000LL);
    CHECK_SPAN(list.items[1].key, "documents/\xc3\xbc?.bin");
    CHECK_SPAN(list.items[1].etag, "d41d8cd98f00b204e9800998ecf8427e-12");
    CHECK_SPAN(list.items[1].storage_class, "STANDARD"); /* absent: the default */
    CHECK(list.items[1].last_modified_ms == 1795176002500LL);
    CHECK(list.items[2].size == S3_OBJECT_MAX); /* 5 TiB: the largest object accepted */
    CHECK_SPAN(list.items[2].storage_class, "NEW_CLASS");
    CHECK_SPAN(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    /* A second page appends. */
    REQUIRE_OK(s_parse_list(
      &a,
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>z+z</Key>"
      "<LastModified>2026-11-20T12:00:00Z</LastModified><Size>1</Size></Contents></ListBucketResult>",
      &list,
      &next));
    REQUIRE(list.n == 4);
    /* Without <EncodingType>url</EncodingType> the key is taken as it is: '+' stays a plus. */
    CHECK_SPAN(list.items[3].key, "z+z");
    CHECK_INT(next.n, 0);
    arena_free(&a);
}

TEST(s3_list_objects_parse_errors) {
    static const struct {
        const char *name;
        const char *xml;
        enum err want;
    } cases[] = {
        { "wrong root", "<ListMultipartUploadsResult/>", ERR_PARSE },
        { "truncated without token",
          "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
          ERR_PARSE },
        { "no key",
          "<ListBucketResult><Contents><Size>1</Size><LastModified>2026-11-20T12:00:00Z</LastModified></Contents>"
          "</ListBucketResult>",
          ERR_PARSE },
        { "bad size",
          "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size><LastModified>2026-11-20T12:00:00Z</LastModified>"
          "</Contents></ListBucketResult>",
          ERR_PARSE },
        { "size above 5 TiB",
          "<ListBucketResult><Contents><Key>a</Key><Size>5497558138881</Size>"
          "<LastModified>2026-11-20T12:00:00Z</LastModified></Contents></ListBucketResult>",
          ERR_PARSE },
        { "bad date",
          "<ListBucketResult><Contents><Key>a</Key><Size>1</Size><LastModified>yesterday</LastModified></Contents>"
          "</ListBucketResult>",
          ERR_PARSE },
        { "bad escape in key",
          "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%4</Key><Size>1</Size>"
          "<LastModified>2026-11-20T12:00:00Z</LastModified></Contents></ListBucketResult>",
          ERR_PARSE },
        { 0 },
    };
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; cases[i].name; i++) {
        struct s3_object_list list = { 0 };
        struct span next;
        if (!CHECK_INT(s_parse_list(&a, cases[i].xml, &list, &next), cases[i].want)) {
            harness_note("case %s", cases[i].name);
        }
    }
    arena_free(&a);
}

/* A listing document with one object whose key is `key_len` bytes ('k' x n), written as %6B when `encoded`. */
static char *s_one_key_doc(struct arena *a, size_t key_len, bool encoded, size_t etag_len) {
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_appendf(&b, "<ListBucketResult>%s<Contents><Key>", encoded ? "<EncodingType>url</EncodingType>" : "");
    for (size_t i = 0; i < key_len; i++) {
        buf_append_cstr(&b, encoded ? "%6B" : "k");
    }
    buf_append_cstr(&b, "</Key><ETag>");
    for (size_t i = 0; i < etag_len; i++) {
        buf_append_char(&b, 'e');
    }
    buf_append_cstr(
      &b,
      "</ETag><Size>1</Size><LastModified>2026-11-20T12:00:00Z</LastModified></Contents>"
      "</ListBucketResult>");
    char *s = arena_strndup(a, buf_cstr(&b), b.len);
    buf_free(&b);
    return s;
}

TEST(s3_list_objects_limits) {
    struct arena a;
    arena_init(&a, 0);
    struct s3_object_list list = { 0 };
    struct span next;
    /* Key length: exactly S3_KEY_MAX decoded bytes pass, one more does not (encoded or not). */
    CHECK_OK(s_parse_list(&a, s_one_key_doc(&a, S3_KEY_MAX, true, 32), &list, &next));
    CHECK_INT(list.items[list.n - 1].key.n, S3_KEY_MAX);
    CHECK_INT(s_parse_list(&a, s_one_key_doc(&a, S3_KEY_MAX + 1, true, 32), &list, &next), ERR_LIMIT);
    CHECK_INT(s_parse_list(&a, s_one_key_doc(&a, S3_KEY_MAX + 1, false, 32), &list, &next), ERR_LIMIT);
    /* ETag length. */
    CHECK_OK(s_parse_list(&a, s_one_key_doc(&a, 3, false, S3_ETAG_MAX), &list, &next));
    CHECK_INT(s_parse_list(&a, s_one_key_doc(&a, 3, false, S3_ETAG_MAX + 1), &list, &next), ERR_LIMIT);
    /* Objects per page: S3_LIST_MAX_KEYS pass, one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        buf_init(&b, 1 << 22);
        buf_append_cstr(&b, "<ListBucketResult>");
        for (int i = 0; i < S3_LIST_MAX_KEYS + extra; i++) {
            buf_appendf(
              &b,
              "<Contents><Key>k%d</Key><Size>1</Size><LastModified>2026-11-20T12:00:00Z</LastModified>"
              "</Contents>",
              i);
        }
        buf_append_cstr(&b, "</ListBucketResult>");
        struct s3_object_list l2 = { 0 };
        CHECK_INT(s_parse_list(&a, buf_cstr(&b), &l2, &next), extra ? ERR_LIMIT : ERR_OK);
        buf_free(&b);
    }
    /* Continuation token length. */
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        buf_init(&b, 1 << 20);
        buf_append_cstr(&b, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>");
        for (int i = 0; i < S3_TOKEN_MAX + extra; i++) {
            buf_append_char(&b, 't');
        }
        buf_append_cstr(&b, "</NextContinuationToken></ListBucketResult>");
        CHECK_INT(s_parse_list(&a, buf_cstr(&b), &list, &next), extra ? ERR_LIMIT : ERR_OK);
        buf_free(&b);
    }
    arena_free(&a);
}

TEST(s3_list_objects_request_query) {
    struct arena a;
    arena_init(&a, 0);
    struct aws_request r;
    s3_list_objects_request(&r, &a, "eu-west-1", "dst-bkt", SPAN_LIT("backup/documents/"), SPAN_NULL, 0);
    CHECK_STR(r.operation, "ListObjectsV2");
    CHECK_STR(r.method, "GET");
    CHECK_STR(r.bucket, "dst-bkt");
    CHECK_STR(r.region, "eu-west-1");
    CHECK_INT(r.key.n, 0);
    CHECK_SPAN(r.query, "list-type=2&encoding-type=url&max-keys=1000&prefix=backup%2Fdocuments%2F");
    s3_list_objects_request(&r, &a, "eu-west-1", "dst-bkt", SPAN_NULL, SPAN_LIT("a+b/c="), 5);
    CHECK_SPAN(r.query, "list-type=2&encoding-type=url&max-keys=5&continuation-token=a%2Bb%2Fc%3D");
    CHECK(!r.error_in_200);
    arena_free(&a);
}

/* ---- ListMultipartUploads ------------------------------------------------------------------------- */

TEST(s3_list_uploads_parse_and_request) {
    static const char xml[] =
      "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
      "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
      "<NextKeyMarker>documents/x+y</NextKeyMarker><NextUploadIdMarker>up-2</NextUploadIdMarker>"
      "<Upload><Key>documents/x+y</Key><UploadId>up-1</UploadId><Initiated>2026-11-19T10:00:00.000Z</Initiated>"
      "</Upload><Upload><Key>documents/%C3%BC</Key><UploadId>up-2</UploadId>"
      "<Initiated>2026-11-20T10:00:00Z</Initiated></Upload></ListMultipartUploadsResult>";
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(xml), NULL, &root));
    struct s3_upload_list list = { 0 };
    struct span km, um;
    REQUIRE_OK(s3_list_uploads_parse(&a, root, &list, &km, &um));
    REQUIRE(list.n == 2);
    CHECK_SPAN(list.items[0].key, "documents/x y");
    CHECK_SPAN(list.items[0].upload_id, "up-1");
    CHECK(list.items[0].initiated_s == 1795082400);
    CHECK_SPAN(list.items[1].key, "documents/\xc3\xbc");
    CHECK_SPAN(km, "documents/x y");
    CHECK_SPAN(um, "up-2");

    static const char *const bad[] = {
        "<ListBucketResult/>",
        "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
        "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId><Initiated>x</Initiated></Upload>"
        "</ListMultipartUploadsResult>",
        "<ListMultipartUploadsResult><Upload><Key>k</Key><Initiated>2026-11-20T10:00:00Z</Initiated></Upload>"
        "</ListMultipartUploadsResult>",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        REQUIRE_OK(xml_parse(&a, span_from_cstr(bad[i]), NULL, &root));
        struct s3_upload_list l2 = { 0 };
        if (!CHECK(s3_list_uploads_parse(&a, root, &l2, &km, &um) == ERR_PARSE)) {
            harness_note("bad document %zu", i);
        }
    }

    struct aws_request r;
    s3_list_uploads_request(
      &r, &a, "us-east-1", "b", SPAN_LIT("documents/"), SPAN_LIT("documents/x y"), SPAN_LIT("up-2"));
    CHECK_STR(r.operation, "ListMultipartUploads");
    CHECK_SPAN(
      r.query, "uploads=&encoding-type=url&prefix=documents%2F&key-marker=documents%2Fx%20y&upload-id-marker=up-2");
    arena_free(&a);
}

/* ---- HeadObject ------------------------------------------------------------------------------------ */

static void s_fake_response(struct aws_request *r, const char *headers) {
    memset(r, 0, sizeof(*r));
    buf_init(&r->headers_out, HTTP_MAX_RESPONSE_HEADERS);
    buf_init(&r->body_out, HTTP_MAX_RESPONSE_BODY);
    buf_append_cstr(&r->headers_out, headers);
}

static const char *s_head_value(const struct s3_head *h, const char *name) {
    for (size_t i = 0; i < h->nheaders; i++) {
        if (strcmp(h->headers[i].name, name) == 0) {
            return h->headers[i].value;
        }
    }
    return NULL;
}

TEST(s3_head_object_parse_headers) {
    struct arena a;
    arena_init(&a, 0);
    struct aws_request r;
    s_fake_response(
      &r,
      "HTTP/1.1 200 OK\r\n"
      "x-amz-id-2: abc\r\n"
      "x-amz-request-id: 123\r\n"
      "Date: Fri, 20 Nov 2026 12:00:00 GMT\r\n"
      "Last-Modified: Fri, 20 Nov 2026 11:00:00 GMT\r\n"
      "ETag: \"d41d8cd98f00b204e9800998ecf8427e-3\"\r\n"
      "x-amz-server-side-encryption: AES256\r\n"
      "x-amz-meta-owner: alice\r\n"
      "X-Amz-Meta-Project:  vault \r\n"
      "x-amz-meta-: empty name is not metadata\r\n"
      "x-amz-tagging-count: 2\r\n"
      "Content-Type: application/x-big\r\n"
      "Cache-Control: no-cache\r\n"
      "Content-Length: 12582929\r\n"
      "\r\n");
    struct s3_head h;
    REQUIRE_OK(s3_head_object_parse(&a, &r, &h));
    CHECK(h.size == 12582929);
    CHECK_SPAN(h.etag, "d41d8cd98f00b204e9800998ecf8427e-3");
    CHECK(h.tag_count == 2);
    CHECK_INT(h.nheaders, 4);
    CHECK_STR(s_head_value(&h, "Content-Type"), "application/x-big");
    CHECK_STR(s_head_value(&h, "Cache-Control"), "no-cache");
    CHECK_STR(s_head_value(&h, "x-amz-meta-owner"), "alice");
    CHECK_STR(s_head_value(&h, "X-Amz-Meta-Project"), "vault");
    CHECK(s_head_value(&h, "x-amz-server-side-encryption") == NULL);
    aws_request_free(&r);

    s_fake_response(&r, "HTTP/1.1 200 OK\r\nETag: \"x\"\r\n\r\n");
    CHECK_INT(s3_head_object_parse(&a, &r, &h), ERR_PARSE);
    aws_request_free(&r);
    arena_free(&a);
}

TEST(s3_head_object_limits) {
    struct arena a;
    arena_init(&a, 0);
    struct aws_request r;
    struct s3_head h;
    /* S3_HEAD_MAX_HEADERS metadata entries pass (Content-Type not sent), one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        buf_init(&b, 65536);
        buf_append_cstr(&b, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n");
        for (int i = 0; i < S3_HEAD_MAX_HEADERS + extra; i++) {
            buf_appendf(&b, "x-amz-meta-k%d: v\r\n", i);
        }
        s_fake_response(&r, buf_cstr(&b));
        CHECK_INT(s3_head_object_parse(&a, &r, &h), extra ? ERR_LIMIT : ERR_OK);
        aws_request_free(&r);
        buf_free(&b);
    }
    /* 2 KB of metadata (names without the prefix, plus values) pass, one byte more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        buf_init(&b, 65536);
        buf_append_cstr(&b, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nx-amz-meta-a: ");
        for (int i = 0; i < S3_META_MAX_BYTES - 1 + extra; i++) {
            buf_append_char(&b, 'v');
        }
        buf_append_cstr(&b, "\r\n");
        s_fake_response(&r, buf_cstr(&b));
        CHECK_INT(s3_head_object_parse(&a, &r, &h), extra ? ERR_LIMIT : ERR_OK);
        aws_request_free(&r);
        buf_free(&b);
    }
    arena_free(&a);
}

/* ---- copies ---------------------------------------------------------------------------------------- */

static const char *s_header(const struct aws_request *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

TEST(s3_copy_object_request_headers) {
    struct aws_request r;
    struct s3_dest aes = { "STANDARD_IA", "AES256", NULL };
    REQUIRE_OK(
      s3_copy_object_request(&r, "us-east-1", "docs-bkt", SPAN_LIT("documents/a b"), "/src/documents/a%20b", &aes));
    CHECK_STR(r.operation, "CopyObject");
    CHECK_STR(r.method, "PUT");
    CHECK_SPAN(r.key, "documents/a b"); /* raw: the request layer encodes the path */
    CHECK(r.error_in_200);
    CHECK_STR(s_header(&r, "x-amz-copy-source"), "/src/documents/a%20b");
    CHECK_STR(s_header(&r, "x-amz-metadata-directive"), "COPY");
    CHECK_STR(s_header(&r, "x-amz-storage-class"), "STANDARD_IA");
    CHECK_STR(s_header(&r, "x-amz-server-side-encryption"), "AES256");
    CHECK(s_header(&r, "x-amz-server-side-encryption-aws-kms-key-id") == NULL);
    CHECK_INT(r.nheaders, 4);

    struct s3_dest kms = { NULL, "aws:kms", "alias/backup" };
    REQUIRE_OK(s3_copy_object_request(&r, "us-east-1", "docs-bkt", SPAN_LIT("k"), "/src/k", &kms));
    CHECK(s_header(&r, "x-amz-storage-class") == NULL);
    CHECK_STR(s_header(&r, "x-amz-server-side-encryption"), "aws:kms");
    CHECK_STR(s_header(&r, "x-amz-server-side-encryption-aws-kms-key-id"), "alias/backup");
}

TEST(s3_request_header_limit) {
    struct aws_request r;
    s3_request_init(&r, "CopyObject", "PUT", "us-east-1", "b", SPAN_LIT("k"));
    for (int i = 0; i < AWS_MAX_EXTRA_HEADERS; i++) {
        CHECK_OK(s3_request_header(&r, "x-amz-meta-a", "v"));
    }
    CHECK_INT(s3_request_header(&r, "x-amz-meta-a", "v"), ERR_LIMIT);
    CHECK_INT(r.nheaders, AWS_MAX_EXTRA_HEADERS);
}

TEST(s3_multipart_requests) {
    struct arena a;
    arena_init(&a, 0);
    struct s3_head h = { .size = 1, .nheaders = 2 };
    h.headers[0] = (struct s3_header){ "Content-Type", "image/jpeg" };
    h.headers[1] = (struct s3_header){ "x-amz-meta-owner", "alice" };
    struct s3_dest d = { "GLACIER_IR", "aws:kms", "arn:aws:kms:us-east-1:111122223333:key/k" };
    struct aws_request r;
    REQUIRE_OK(s3_create_multipart_request(&r, "us-east-1", "b", SPAN_LIT("photos/x.jpg"), &h, &d));
    CHECK_STR(r.operation, "CreateMultipartUpload");
    CHECK_STR(r.method, "POST");
    CHECK_SPAN(r.query, "uploads=");
    CHECK_STR(s_header(&r, "Content-Type"), "image/jpeg");
    CHECK_STR(s_header(&r, "x-amz-meta-owner"), "alice");
    CHECK_STR(s_header(&r, "x-amz-storage-class"), "GLACIER_IR");
    CHECK_STR(s_header(&r, "x-amz-server-side-encryption-aws-kms-key-id"), "arn:aws:kms:us-east-1:111122223333:key/k");
    CHECK(!r.error_in_200);

    REQUIRE_OK(s3_upload_part_copy_request(
      &r,
      &a,
      "us-east-1",
      "b",
      SPAN_LIT("photos/x.jpg"),
      SPAN_LIT("abc+def/=="),
      3,
      "/src/photos/x.jpg",
      10485760,
      15728639,
      SPAN_LIT("9b2cf535f27731c974343645a3985328")));
    CHECK_STR(r.operation, "UploadPartCopy");
    CHECK_STR(r.method, "PUT");
    CHECK(r.error_in_200);
    CHECK_SPAN(r.query, "partNumber=3&uploadId=abc%2Bdef%2F%3D%3D");
    CHECK_STR(s_header(&r, "x-amz-copy-source"), "/src/photos/x.jpg");
    CHECK_STR(s_header(&r, "x-amz-copy-source-range"), "bytes=10485760-15728639");
    CHECK_STR(s_header(&r, "x-amz-copy-source-if-match"), "\"9b2cf535f27731c974343645a3985328\"");
    REQUIRE_OK(s3_upload_part_copy_request(
      &r, &a, "us-east-1", "b", SPAN_LIT("k"), SPAN_LIT("u"), S3_MAX_PARTS, "/s/k", 0, 0, SPAN_NULL));
    CHECK(s_header(&r, "x-amz-copy-source-if-match") == NULL);
    CHECK_INT(
      s3_upload_part_copy_request(&r, &a, "r", "b", SPAN_LIT("k"), SPAN_LIT("u"), 0, "/s/k", 0, 1, SPAN_NULL),
      ERR_INVALID);
    CHECK_INT(
      s3_upload_part_copy_request(
        &r, &a, "r", "b", SPAN_LIT("k"), SPAN_LIT("u"), S3_MAX_PARTS + 1, "/s/k", 0, 1, SPAN_NULL),
      ERR_INVALID);
    CHECK_INT(
      s3_upload_part_copy_request(&r, &a, "r", "b", SPAN_LIT("k"), SPAN_LIT("u"), 1, "/s/k", 5, 4, SPAN_NULL),
      ERR_INVALID);

    s3_complete_multipart_request(&r, &a, "us-east-1", "b", SPAN_LIT("k"), SPAN_LIT("u 1"), SPAN_LIT("<x/>"));
    CHECK_STR(r.operation, "CompleteMultipartUpload");
    CHECK_STR(r.method, "POST");
    CHECK(r.error_in_200);
    CHECK_SPAN(r.query, "uploadId=u%201");
    CHECK_SPAN(r.body, "<x/>");
    s3_abort_multipart_request(&r, &a, "us-east-1", "b", SPAN_LIT("k"), SPAN_LIT("u1"));
    CHECK_STR(r.operation, "AbortMultipartUpload");
    CHECK_STR(r.method, "DELETE");
    CHECK_SPAN(r.query, "uploadId=u1");
    arena_free(&a);
}

TEST(s3_complete_multipart_body_shape) {
    struct arena a;
    arena_init(&a, 0);
    struct span body;
    struct span etags[2] = { SPAN_LIT("\"e1\""), SPAN_LIT("\"e&2\"") };
    REQUIRE_OK(s3_complete_multipart_body(&a, etags, 2, &body));
    CHECK_SPAN(
      body,
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>\"e&amp;2\"</ETag></Part></CompleteMultipartUpload>");
    CHECK_INT(s3_complete_multipart_body(&a, etags, 0, &body), ERR_INVALID);
    struct span missing[2] = { SPAN_LIT("\"e1\""), SPAN_NULL };
    CHECK_INT(s3_complete_multipart_body(&a, missing, 2, &body), ERR_INVALID);
    /* The largest upload: 10,000 parts with real ETags fit; 10,001 parts are refused. */
    struct span *many = ARENA_NEW_ARRAY(&a, struct span, S3_MAX_PARTS + 1);
    for (int i = 0; i <= S3_MAX_PARTS; i++) {
        many[i] = SPAN_LIT("\"9b2cf535f27731c974343645a3985328\"");
    }
    CHECK_OK(s3_complete_multipart_body(&a, many, S3_MAX_PARTS, &body));
    CHECK(body.n < S3_COMPLETE_BODY_MAX);
    CHECK_INT(s3_complete_multipart_body(&a, many, S3_MAX_PARTS + 1, &body), ERR_INVALID);
    arena_free(&a);
}

TEST(s3_multipart_response_parsers) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    struct span v;
    REQUIRE_OK(xml_parse(
      &a,
      SPAN_LIT("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
               "</InitiateMultipartUploadResult>"),
      NULL,
      &root));
    REQUIRE_OK(s3_create_multipart_parse(&a, root, &v));
    CHECK_SPAN(v, "VXBsb2FkIElE");
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<InitiateMultipartUploadResult/>"), NULL, &root));
    CHECK_INT(s3_create_multipart_parse(&a, root, &v), ERR_PARSE);
    REQUIRE_OK(xml_parse(
      &a,
      SPAN_LIT("<CopyPartResult><LastModified>2026-11-20T12:00:00Z</LastModified><ETag>\"p1\"</ETag></CopyPartResult>"),
      NULL,
      &root));
    REQUIRE_OK(s3_upload_part_copy_parse(&a, root, &v));
    CHECK_SPAN(v, "\"p1\""); /* kept with its quotes: CompleteMultipartUpload wants it back as it was */
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<Error><Code>InternalError</Code></Error>"), NULL, &root));
    CHECK_INT(s3_upload_part_copy_parse(&a, root, &v), ERR_PARSE);
    REQUIRE_OK(xml_parse(
      &a,
      SPAN_LIT("<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>"),
      NULL,
      &root));
    REQUIRE_OK(s3_complete_multipart_parse(&a, root, &v));
    CHECK_SPAN(v, "x-3");
    arena_free(&a);
}

TEST(s3_object_tagging) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root;
    const char *tagging = "unset";
    REQUIRE_OK(xml_parse(
      &a,
      SPAN_LIT("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
               "<Tag><Key>team a</Key><Value>x+y=z&amp;w</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag>"
               "</TagSet></Tagging>"),
      NULL,
      &root));
    REQUIRE_OK(s3_get_object_tagging_parse(&a, root, &tagging));
    CHECK_STR(tagging, "team%20a=x%2By%3Dz%26w&empty=");
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<Tagging><TagSet/></Tagging>"), NULL, &root));
    REQUIRE_OK(s3_get_object_tagging_parse(&a, root, &tagging));
    CHECK(tagging == NULL);
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"), NULL, &root));
    CHECK_INT(s3_get_object_tagging_parse(&a, root, &tagging), ERR_PARSE);
    REQUIRE_OK(xml_parse(&a, SPAN_LIT("<TagSet/>"), NULL, &root));
    CHECK_INT(s3_get_object_tagging_parse(&a, root, &tagging), ERR_PARSE);
    /* S3_MAX_TAGS tags pass, one more does not; a key of S3_TAG_KEY_MAX bytes passes, one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        buf_init(&b, 65536);
        buf_append_cstr(&b, "<Tagging><TagSet>");
        for (int i = 0; i < S3_MAX_TAGS + extra; i++) {
            buf_appendf(&b, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
        }
        buf_append_cstr(&b, "</TagSet></Tagging>");
        REQUIRE_OK(xml_parse(&a, buf_span(&b), NULL, &root));
        CHECK_INT(s3_get_object_tagging_parse(&a, root, &tagging), extra ? ERR_LIMIT : ERR_OK);
        buf_reset(&b);
        buf_append_cstr(&b, "<Tagging><TagSet><Tag><Key>");
        for (int i = 0; i < S3_TAG_KEY_MAX + extra; i++) {
            buf_append_char(&b, 'k');
        }
        buf_append_cstr(&b, "</Key><Value>v</Value></Tag></TagSet></Tagging>");
        REQUIRE_OK(xml_parse(&a, buf_span(&b), NULL, &root));
        CHECK_INT(s3_get_object_tagging_parse(&a, root, &tagging), extra ? ERR_LIMIT : ERR_OK);
        buf_free(&b);
    }

    struct aws_request r;
    s3_get_object_tagging_request(&r, "us-east-1", "src", SPAN_LIT("photos/x.jpg"));
    CHECK_STR(r.operation, "GetObjectTagging");
    CHECK_STR(r.method, "GET");
    CHECK_SPAN(r.query, "tagging=");
    struct s3_head h = { .size = 1, .tagging = "a=b" };
    struct s3_dest d = { "STANDARD", "AES256", NULL };
    REQUIRE_OK(s3_create_multipart_request(&r, "us-east-1", "b", SPAN_LIT("k"), &h, &d));
    CHECK_STR(s_header(&r, "x-amz-tagging"), "a=b");
    arena_free(&a);
}

TEST(aws_attempt_timeouts_are_sized_by_operation) {
    CHECK_INT(aws_attempt_timeout_ms("CopyObject"), AWS_COPY_ATTEMPT_TIMEOUT_MS);
    CHECK_INT(aws_attempt_timeout_ms("UploadPartCopy"), AWS_COPY_ATTEMPT_TIMEOUT_MS);
    CHECK_INT(aws_attempt_timeout_ms("CompleteMultipartUpload"), AWS_COMPLETE_ATTEMPT_TIMEOUT_MS);
    CHECK(AWS_COPY_ATTEMPT_TIMEOUT_MS >= 10 * 60 * 1000);  /* minutes, not the 60 s of ordinary calls */
    CHECK_INT(aws_attempt_timeout_ms("ListObjectsV2"), 0); /* 0 = the http client's short default */
    CHECK_INT(aws_attempt_timeout_ms("DescribeSnapshots"), 0);
    CHECK_INT(aws_attempt_timeout_ms(NULL), 0);
}
