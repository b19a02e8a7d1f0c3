/*
 * test_xml.c - codec/xml: AWS-shaped documents, decoding, every limit at and past its maximum, malformed input,
 * truncation at every byte, and random mutations.
 */
#include "harness.h"

#include "base/arena.h"
#include "base/buf.h"
#include "codec/xml.h"

#include <stdio.h>
#include <stdlib.h>

/* Trimmed from the shape of EC2's DescribeInstances response (API Reference, "Examples"). */
static const char s_describe_instances[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
  "  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>\n"
  "  <reservationSet>\n"
  "    <item>\n"
  "      <reservationId>r-1234567890abcdef0</reservationId>\n"
  "      <instancesSet>\n"
  "        <item>\n"
  "          <instanceId>i-1234567890abcdef0</instanceId>\n"
  "          <instanceState><code>16</code><name>running</name></instanceState>\n"
  "          <blockDeviceMapping>\n"
  "            <item><deviceName>/dev/xvda</deviceName>\n"
  "              <ebs><volumeId>vol-1234567890abcdef0</volumeId><status>attached</status></ebs></item>\n"
  "            <item><deviceName>/dev/sdf</deviceName>\n"
  "              <ebs><volumeId>vol-0fedcba0987654321</volumeId><status>attached</status></ebs></item>\n"
  "          </blockDeviceMapping>\n"
  "          <tagSet>\n"
  "            <item><key>Name</key><value>db &amp; cache</value></item>\n"
  "            <item><key>Backup</key><value>daily</value></item>\n"
  "          </tagSet>\n"
  "        </item>\n"
  "        <item><instanceId>i-0000000000000000b</instanceId><tagSet/></item>\n"
  "      </instancesSet>\n"
  "    </item>\n"
  "    <item><reservationId>r-2</reservationId><instancesSet>\n"
  "      <item><instanceId>i-0000000000000000c</instanceId></item></instancesSet></item>\n"
  "  </reservationSet>\n"
  "  <nextToken>eyJ2IjoiMiJ9</nextToken>\n"
  "</DescribeInstancesResponse>\n";

/* The shape of S3's ListObjectsV2 response. */
static const char s_list_objects_v2[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
  "<Name>vault-dr</Name><Prefix>backups/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
  "<IsTruncated>true</IsTruncated>"
  "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
  "<Contents><Key>backups/a b&lt;1&gt;.json</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>"
  "<ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag><Size>434234</Size>"
  "<StorageClass>STANDARD</StorageClass></Contents>"
  "<Contents><Key>backups/caf\xc3\xa9 &#x1F600;.bin</Key><LastModified>2024-01-03T00:00:00.000Z</LastModified>"
  "<ETag>\"e92bd1d4-2\"</ETag><Size>18446744073709551615</Size><StorageClass>GLACIER_IR</StorageClass></Contents>"
  "</ListBucketResult>";

/* The shape of EC2's DescribeSnapshots response. */
static const char s_describe_snapshots[] =
  "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
  "<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>"
  "<snapshotSet><item><snapshotId>snap-1234567890abcdef0</snapshotId><volumeId>vol-1</volumeId>"
  "<status>pending</status><startTime>2024-05-01T10:00:00.000Z</startTime><progress>80%</progress>"
  "<volumeSize>30</volumeSize><description><![CDATA[smartvault <daily> & more]]></description>"
  "<tagSet><item><key>smartvault:managed</key><value>true</value></item></tagSet></item></snapshotSet>"
  "</DescribeSnapshotsResponse>";

static enum err s_parse(struct arena *a, const char *doc, const struct xml_node **root) {
    return xml_parse(a, span_from_cstr(doc), NULL, root);
}

TEST(xml_describe_instances_walk) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(&a, s_describe_instances, &root));
    CHECK_SPAN(root->name, "DescribeInstancesResponse");
    CHECK(root->attrs == NULL); /* xmlns is not kept */
    CHECK_SPAN(xml_child_text(root, "nextToken"), "eyJ2IjoiMiJ9");
    CHECK_SPAN(xml_text(root), ""); /* indentation between children is dropped */
    char got[1024] = "";
    size_t len = 0;
    for (const struct xml_node *r = xml_path(root, "reservationSet/item"); r; r = xml_next(r, "item")) {
        for (const struct xml_node *i = xml_path(r, "instancesSet/item"); i; i = xml_next(i, "item")) {
            len += (size_t) snprintf(got + len, sizeof(got) - len, "%.*s[", SPAN_FMT(xml_child_text(i, "instanceId")));
            for (const struct xml_node *m = xml_path(i, "blockDeviceMapping/item"); m; m = xml_next(m, "item")) {
                len +=
                  (size_t) snprintf(got + len, sizeof(got) - len, "%.*s,", SPAN_FMT(xml_path_text(m, "ebs/volumeId")));
            }
            for (const struct xml_node *t = xml_path(i, "tagSet/item"); t; t = xml_next(t, "item")) {
                len += (size_t) snprintf(
                  got + len,
                  sizeof(got) - len,
                  "%.*s=%.*s;",
                  SPAN_FMT(xml_child_text(t, "key")),
                  SPAN_FMT(xml_child_text(t, "value")));
            }
            len += (size_t) snprintf(got + len, sizeof(got) - len, "]");
        }
    }
    CHECK_STR(
      got,
      "i-1234567890abcdef0[vol-1234567890abcdef0,vol-0fedcba0987654321,Name=db & cache;Backup=daily;]"
      "i-0000000000000000b[]i-0000000000000000c[]");
    CHECK_SPAN(xml_path_text(root, "reservationSet/item/instancesSet/item/instanceState/name"), "running");
    CHECK_INT(xml_count(xml_child(root, "reservationSet"), "item"), 2);
    CHECK_INT(xml_count(root, NULL), 3);
    const struct xml_node *vol = xml_path(root, "reservationSet/item/instancesSet/item/blockDeviceMapping/item/ebs");
    REQUIRE(vol != NULL);
    CHECK_SPAN(vol->parent->name, "item");
    CHECK_SPAN(vol->parent->parent->name, "blockDeviceMapping");
    arena_free(&a);
}

TEST(xml_list_objects_v2_fields) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(&a, s_list_objects_v2, &root));
    bool truncated = false;
    CHECK_OK(xml_child_bool(root, "IsTruncated", &truncated));
    CHECK(truncated);
    CHECK_SPAN(xml_child_text(root, "NextContinuationToken"), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    const struct xml_node *c = xml_first(root, "Contents");
    REQUIRE(c != NULL);
    CHECK_SPAN(xml_child_text(c, "Key"), "backups/a b<1>.json");
    CHECK_SPAN(xml_child_text(c, "ETag"), "\"70ee1738b6b21e2c8a43f3a5ab0eee71\"");
    uint64_t size = 0;
    CHECK_OK(xml_child_u64(c, "Size", UINT64_MAX, &size));
    CHECK(size == 434234);
    c = xml_next(c, "Contents");
    REQUIRE(c != NULL);
    CHECK_SPAN(xml_child_text(c, "Key"), "backups/caf\xc3\xa9 \xf0\x9f\x98\x80.bin");
    CHECK_OK(xml_child_u64(c, "Size", UINT64_MAX, &size));
    CHECK(size == UINT64_MAX);
    CHECK_INT(xml_child_u64(c, "Size", 1000, &size), ERR_LIMIT);
    CHECK(xml_next(c, "Contents") == NULL);
    CHECK_INT(xml_count(root, "Contents"), 2);
    arena_free(&a);
}

TEST(xml_describe_snapshots_cdata_and_tags) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(&a, s_describe_snapshots, &root));
    const struct xml_node *s = xml_path(root, "snapshotSet/item");
    CHECK_SPAN(xml_child_text(s, "description"), "smartvault <daily> & more");
    CHECK_SPAN(xml_child_text(s, "progress"), "80%");
    CHECK_SPAN(xml_path_text(s, "tagSet/item/key"), "smartvault:managed");
    uint64_t gib = 0;
    CHECK_OK(xml_child_u64(s, "volumeSize", 65536, &gib));
    CHECK_INT(gib, 30);
    arena_free(&a);
}

TEST(xml_copy_object_200_with_error_body) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(
      &a,
      "\n\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
      "<Message>We encountered an internal error. Please try again.</Message>"
      "<RequestId>656c76696e6727732072657175657374</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/"
      "C1NPcfTWAtRPfTaOFg==</HostId></Error>",
      &root));
    CHECK_SPAN(root->name, "Error");
    CHECK_SPAN(xml_child_text(root, "Code"), "InternalError");
    arena_free(&a);
}

TEST(xml_decoding_table) {
    static const struct {
        const char *doc;
        const char *text; /* the root's text */
    } cases[] = {
        { "<a>&lt;&gt;&amp;&quot;&apos;</a>", "<>&\"'" },
        { "<a>&#65;&#x42;&#x0063;&#0000100;</a>", "ABcd" },
        { "<a>&#xE9;&#x20AC;&#x1F600;</a>", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
        { "<a>&#x10FFFF;</a>", "\xf4\x8f\xbf\xbf" },
        { "<a>&#9;&#10;&#13;</a>", "\t\n\r" },
        { "<a><![CDATA[<b>&amp;]]]]></a>", "<b>&amp;]]" },
        { "<a>x<![CDATA[]]>y</a>", "xy" },
        { "<a>one\r\ntwo\rthree\n</a>", "one\ntwo\nthree\n" },
        { "<a><![CDATA[c\r\nd]]></a>", "c\nd" },
        { "<a>  spaced  </a>", "  spaced  " },
        { "<a>t<!-- c -->u<?pi x?>v</a>", "tuv" },
        { "<a>before<b/>after</a>", "beforeafter" },
        { "<a> <b/> </a>", "" },
        { "<a></a>", "" },
        { "<a/>", "" },
        { "<a>]]</a>", "]]" },
        { "<a>caf\xc3\xa9</a>", "caf\xc3\xa9" },
        { "\xef\xbb\xbf<a>bom</a>", "bom" },
        { "<!-- lead --><?pi?>\n<a>m</a><!-- trail -->\n<?pi?> ", "m" },
        { "<a >x</a >", "x" },
        { " \n <?xml version=\"1.0\"?><a>lead</a>", "lead" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct xml_node *root = NULL;
        enum err e = s_parse(&a, cases[i].doc, &root);
        if (!CHECK_OK(e)) {
            harness_note("case %zu: %s", i, cases[i].doc);
        } else if (!CHECK_SPAN(root->text, cases[i].text)) {
            harness_note("case %zu: %s", i, cases[i].doc);
        }
        arena_free(&a);
    }
}

TEST(xml_malformed_table) {
    static const struct {
        const char *doc;
        enum err want;
    } cases[] = {
        { "", ERR_PARSE },
        { "   ", ERR_PARSE },
        { "text", ERR_PARSE },
        { "<a>", ERR_PARSE },
        { "<a>text", ERR_PARSE },
        { "<a></b>", ERR_PARSE },
        { "<a><b></a></b>", ERR_PARSE },
        { "<a></a><b></b>", ERR_PARSE },
        { "<a></a>junk", ERR_PARSE },
        { "<a></a></a>", ERR_PARSE },
        { "</a>", ERR_PARSE },
        { "<a>&unknown;</a>", ERR_PARSE },
        { "<a>&amp</a>", ERR_PARSE },
        { "<a>& </a>", ERR_PARSE },
        { "<a>&#;</a>", ERR_PARSE },
        { "<a>&#x;</a>", ERR_PARSE },
        { "<a>&#xZZ;</a>", ERR_PARSE },
        { "<a>&#0;</a>", ERR_PARSE },
        { "<a>&#x1;</a>", ERR_PARSE },
        { "<a>&#xD800;</a>", ERR_PARSE },
        { "<a>&#xFFFE;</a>", ERR_PARSE },
        { "<a>&#x110000;</a>", ERR_PARSE },
        { "<a>&#99999999999999999999;</a>", ERR_PARSE },
        { "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", ERR_PARSE },
        { "<a><!DOCTYPE b></a>", ERR_PARSE },
        { "<a><!ENTITY x \"y\"></a>", ERR_PARSE },
        { "<a><!-- open</a>", ERR_PARSE },
        { "<a><![CDATA[open</a>", ERR_PARSE },
        { "<a><?pi open</a>", ERR_PARSE },
        { "<![CDATA[x]]><a/>", ERR_PARSE },
        { "<a/><?xml version=\"1.0\"?>", ERR_PARSE },
        { "<!-- c --><?xml version=\"1.0\"?><a/>", ERR_PARSE },
        { "<a b=\"1\" b=\"2\"/>", ERR_PARSE },
        { "<a b=1/>", ERR_PARSE },
        { "<a b/>", ERR_PARSE },
        { "<a b=\"x<y\"/>", ERR_PARSE },
        { "<a b=\"open/>", ERR_PARSE },
        { "<a b=\"1\"c=\"2\"/>", ERR_PARSE },
        { "<a/ >", ERR_PARSE },
        { "< a/>", ERR_PARSE },
        { "<1a/>", ERR_PARSE },
        { "<a:/>", ERR_PARSE },
        { "<:a/>", ERR_PARSE },
        { "<a:b:c/>", ERR_PARSE },
        { "<p:a></q:a>", ERR_PARSE },
        { "<a>\x01</a>", ERR_PARSE },
        { "<a>bad\xff</a>", ERR_PARSE },
        { "<a>\xc0\x80</a>", ERR_PARSE },
        { "<a>\xed\xa0\x80</a>", ERR_PARSE },
        { "<a>\xe2\x82</a>", ERR_PARSE },
        { "<a><b></a", ERR_PARSE },
        { "<a></a", ERR_PARSE },
        { "<a", ERR_PARSE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct arena a;
        arena_init(&a, 0);
        const struct xml_node *root = NULL;
        if (!CHECK_INT(s_parse(&a, cases[i].doc, &root), cases[i].want)) {
            harness_note("case %zu: %s", i, cases[i].doc);
        }
        CHECK(root == NULL);
        arena_free(&a);
    }
    /* An embedded NUL is a control character, not the end of the document. */
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    CHECK_INT(xml_parse(&a, (struct span){ "<a>\0</a>", 8 }, NULL, &root), ERR_PARSE);
    arena_free(&a);
}

TEST(xml_namespaces_and_attributes) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(
      &a,
      "<s3:Result xmlns:s3=\"urn:x\" xmlns=\"urn:y\" id='7' s3:kind=\"a&amp;b&#x9;c\td\"><s3:Item n=\"1\"/>"
      "<Item n=\"2\" empty=\"\"></Item></s3:Result>",
      &root));
    CHECK_SPAN(root->name, "Result");
    CHECK_SPAN(xml_attr(root, "id"), "7");
    CHECK_SPAN(xml_attr(root, "kind"), "a&b\tc d"); /* a literal tab becomes a space; &#x9; stays a tab */
    CHECK(!xml_has_attr(root, "xmlns"));
    CHECK(!xml_has_attr(root, "s3"));
    CHECK_INT(xml_count(root, "Item"), 2);
    const struct xml_node *second = xml_next(xml_first(root, "Item"), "Item");
    CHECK_SPAN(xml_attr(second, "n"), "2");
    CHECK(xml_has_attr(second, "empty"));
    CHECK_SPAN(xml_attr(second, "empty"), "");
    CHECK(!xml_has_attr(second, "missing"));
    arena_free(&a);
}

TEST(xml_lookup_helpers_accept_null_and_misses) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    REQUIRE_OK(s_parse(&a, "<r><a><b>1</b></a><a><b>2</b><c>false</c><n> 42 </n><x>4x</x></a></r>", &root));
    CHECK(xml_child(NULL, "a") == NULL);
    CHECK(xml_next(NULL, "a") == NULL);
    CHECK(xml_path(NULL, "a") == NULL);
    CHECK_SPAN(xml_text(NULL), "");
    CHECK_SPAN(xml_child_text(NULL, "a"), "");
    CHECK_SPAN(xml_path_text(root, "a/missing"), "");
    CHECK(xml_path(root, "") == NULL);
    CHECK(xml_path(root, "a//b") == NULL);
    CHECK(xml_path(root, "a/") == NULL);
    CHECK(xml_path(root, "/a") == NULL);
    CHECK_SPAN(xml_path_text(root, "a/b"), "1"); /* the first match at each step, no backtracking */
    CHECK(xml_path(root, "a/c") == NULL);
    const struct xml_node *second = xml_next(xml_first(root, "a"), "a");
    bool flag = true;
    CHECK_OK(xml_child_bool(second, "c", &flag));
    CHECK(!flag);
    CHECK_INT(xml_child_bool(second, "b", &flag), ERR_PARSE);
    CHECK_INT(xml_child_bool(second, "zz", &flag), ERR_NOT_FOUND);
    uint64_t v = 0;
    CHECK_OK(xml_child_u64(second, "n", 100, &v));
    CHECK_INT(v, 42);
    CHECK_INT(xml_child_u64(second, "x", 100, &v), ERR_PARSE);
    CHECK_INT(xml_child_u64(second, "c", 100, &v), ERR_PARSE);
    CHECK_INT(xml_child_u64(second, "zz", 100, &v), ERR_NOT_FOUND);
    CHECK_INT(xml_count(NULL, "a"), 0);
    arena_free(&a);
}

/* "<a><a>...</a></a>" nested `depth` deep. */
static void s_nested(struct buf *b, size_t depth) {
    for (size_t i = 0; i < depth; i++) {
        buf_append_cstr(b, "<a>");
    }
    buf_append_cstr(b, "x");
    for (size_t i = 0; i < depth; i++) {
        buf_append_cstr(b, "</a>");
    }
}

TEST(xml_limit_depth) {
    static const struct {
        size_t depth;
        size_t limit; /* 0 = default */
        enum err want;
    } cases[] = {
        { XML_MAX_DEPTH_DEFAULT, 0, ERR_OK },
        { XML_MAX_DEPTH_DEFAULT + 1, 0, ERR_LIMIT },
        { 3, 3, ERR_OK },
        { 4, 3, ERR_LIMIT },
        { XML_MAX_DEPTH_CEILING, XML_MAX_DEPTH_CEILING * 10, ERR_OK },
        { XML_MAX_DEPTH_CEILING + 1, XML_MAX_DEPTH_CEILING * 10, ERR_LIMIT },
        { 100000, 0, ERR_LIMIT },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_RESPONSE);
        s_nested(&b, cases[i].depth);
        REQUIRE_OK(buf_status(&b));
        struct arena a;
        arena_init(&a, 0);
        struct xml_limits lim = { .max_depth = cases[i].limit };
        const struct xml_node *root = NULL;
        if (!CHECK_INT(xml_parse(&a, buf_span(&b), &lim, &root), cases[i].want)) {
            harness_note("case %zu", i);
        }
        arena_free(&a);
        buf_free(&b);
    }
}

TEST(xml_limit_nodes_doc_name_attrs) {
    struct arena a;
    arena_init(&a, 0);
    const struct xml_node *root = NULL;
    /* 1 root + 3 children + 1 attribute = 5 nodes. */
    const char *doc = "<r k=\"v\"><c/><c/><c/></r>";
    struct xml_limits lim = { .max_nodes = 5 };
    CHECK_OK(xml_parse(&a, span_from_cstr(doc), &lim, &root));
    lim.max_nodes = 4;
    CHECK_INT(xml_parse(&a, span_from_cstr(doc), &lim, &root), ERR_LIMIT);
    /* xmlns declarations are not nodes. */
    lim.max_nodes = 1;
    CHECK_OK(xml_parse(&a, SPAN_LIT("<r xmlns=\"u\" xmlns:p=\"v\"/>"), &lim, &root));

    struct xml_limits small = { .max_doc_bytes = 8 };
    CHECK_OK(xml_parse(&a, SPAN_LIT("<a>12</a>"), &small, &root) == ERR_LIMIT ? ERR_OK : ERR_INVALID);
    CHECK_OK(xml_parse(&a, SPAN_LIT("<a>1</a>"), &small, &root));
    CHECK_INT(xml_parse(&a, (struct span){ "<a/>", XML_MAX_DOC_BYTES + 1 }, NULL, &root), ERR_LIMIT);

    char name[XML_MAX_NAME_BYTES + 2];
    memset(name, 'n', sizeof(name));
    for (size_t len = XML_MAX_NAME_BYTES; len <= XML_MAX_NAME_BYTES + 1; len++) {
        struct buf b;
        buf_init(&b, 4096);
        buf_appendf(&b, "<%.*s a%.*s=\"1\"></%.*s>", (int) len, name, (int) len - 1, name, (int) len, name);
        CHECK_INT(xml_parse(&a, buf_span(&b), NULL, &root), len == XML_MAX_NAME_BYTES ? ERR_OK : ERR_LIMIT);
        buf_free(&b);
    }

    for (size_t n = XML_MAX_ATTRS; n <= XML_MAX_ATTRS + 1; n++) {
        struct buf b;
        buf_init(&b, 4096);
        buf_append_cstr(&b, "<a");
        for (size_t i = 0; i < n; i++) {
            buf_appendf(&b, " k%zu=\"%zu\"", i, i);
        }
        buf_append_cstr(&b, "/>");
        CHECK_INT(xml_parse(&a, buf_span(&b), NULL, &root), n == XML_MAX_ATTRS ? ERR_OK : ERR_LIMIT);
        buf_free(&b);
    }
    arena_free(&a);
}

TEST(xml_many_nodes_default_limit_is_not_hit_by_a_big_listing) {
    /* 20000 <Contents> like a large ListObjectsV2 page series, parsed in a scope and rewound. */
    struct buf b;
    buf_init(&b, BUF_MAX_RESPONSE);
    buf_append_cstr(&b, "<ListBucketResult>");
    for (int i = 0; i < 20000; i++) {
        buf_appendf(&b, "<Contents><Key>k/%d</Key><Size>%d</Size></Contents>", i, i);
    }
    buf_append_cstr(&b, "</ListBucketResult>");
    REQUIRE_OK(buf_status(&b));
    struct arena a;
    arena_init(&a, 0);
    struct arena_mark m = arena_mark(&a);
    const struct xml_node *root = NULL;
    REQUIRE_OK(xml_parse(&a, buf_span(&b), NULL, &root));
    buf_free(&b); /* the tree does not refer to the document */
    uint64_t sum = 0;
    for (const struct xml_node *c = xml_first(root, "Contents"); c; c = xml_next(c, "Contents")) {
        uint64_t v = 0;
        CHECK_OK(xml_child_u64(c, "Size", UINT64_MAX, &v));
        sum += v;
    }
    CHECK(sum == 19999ull * 20000ull / 2);
    arena_rewind(&a, m);
    CHECK_INT(a.used_total, 0);
    arena_free(&a);
}

TEST(xml_truncated_at_every_byte_fails) {
    const char *docs[] = { s_describe_instances, s_list_objects_v2, s_describe_snapshots };
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        size_t n = strlen(docs[d]);
        /* The last byte(s) may be trailing whitespace, which a complete document may omit. */
        size_t complete = n;
        while (complete > 0 && docs[d][complete - 1] == '\n') {
            complete--;
        }
        for (size_t cut = 0; cut < complete; cut++) {
            /* A heap copy of exactly `cut` bytes, so ASan sees any read past the end. */
            char *copy = malloc(cut ? cut : 1);
            REQUIRE(copy != NULL);
            memcpy(copy, docs[d], cut);
            struct arena a;
            arena_init(&a, 0);
            const struct xml_node *root = NULL;
            enum err e = xml_parse(&a, (struct span){ copy, cut }, NULL, &root);
            if (!CHECK(e == ERR_PARSE)) {
                harness_note("doc %zu cut at %zu gave %d", d, cut, (int) e);
            }
            arena_free(&a);
            free(copy);
        }
    }
}

TEST(xml_random_mutations_never_crash) {
    uint64_t st = harness_seed();
    size_t n = strlen(s_describe_instances);
    int ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char *copy = malloc(n);
        REQUIRE(copy != NULL);
        memcpy(copy, s_describe_instances, n);
        int flips = (int) harness_rng_range(&st, 1, 4);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t) harness_rng_range(&st, 0, (int64_t) n - 1);
            static const char alphabet[] = "<>/&;#x![]-?\"'= a\r\n\x80\xff";
            copy[at] = alphabet[harness_rng_range(&st, 0, (int64_t) sizeof(alphabet) - 2)];
        }
        struct arena a;
        arena_init(&a, 0);
        const struct xml_node *root = NULL;
        enum err e = xml_parse(&a, (struct span){ copy, n }, NULL, &root);
        CHECK(e == ERR_OK || e == ERR_PARSE || e == ERR_LIMIT);
        if (e == ERR_OK) {
            ok++;
            CHECK(root != NULL && root->name.n > 0);
        }
        arena_free(&a);
        free(copy);
    }
    CHECK(ok > 0);
}
