/*
 * test_sigv4.c - aws/sigv4: known answers (signing key, suite's get-vanilla, S3 and EC2 presigns), canonical
 * headers and URIs as tables, S3 vs other services, session tokens, every limit, and the .req parser.
 *
 * The whole AWS suite is replayed through the binary by tests/integration/test_sigv4_suite.py, and compared to
 * botocore by test_sigv4_diff.py; the cases here pin each rule on its own so a failure names it.
 */
#include "harness.h"

#include "aws/sigv4.h"

#include <stdio.h>
#include <stdlib.h>

#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME 1440938160 /* 20150830T123600Z */
/* SPAN_LIT for static initialisers (a compound literal is not a constant expression in ISO C). */
#define SP(lit)                                                                                                        \
    { (lit), sizeof(lit) - 1 }

#define SUITE_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

static const struct sigv4_credentials s_suite_creds = {
    .access_key_id = SP(SUITE_AKID),
    .secret_access_key = SP(SUITE_SECRET),
};

static const struct sigv4_header s_host[] = { { SP("Host"), SP("example.amazonaws.com") } };

static struct sigv4_options s_suite_options(void) {
    return (struct sigv4_options){ .region = SPAN_LIT("us-east-1"),
                                   .service = SPAN_LIT("service"),
                                   .time_unix_s = SUITE_TIME };
}

/* The n-th line of the canonical request (0 = method). */
static struct span s_line(const struct buf *b, int n) {
    struct span rest = buf_span(b), line = rest;
    for (int i = 0; i <= n; i++) {
        struct span tail;
        if (!span_split(rest, '\n', &line, &tail) && i < n) {
            return SPAN_NULL;
        }
        rest = tail;
    }
    return line;
}

/* Signs GET `path`?`query` with the suite's credentials and the given headers; returns the error. */
static enum err s_sign(
  struct span path,
  struct span query,
  const struct sigv4_header *headers,
  size_t n,
  bool s3,
  struct sigv4_output *out) {
    struct sigv4_request req = {
        .method = SPAN_LIT("GET"), .path = path, .query = query, .headers = headers, .header_count = n
    };
    struct sigv4_options opt = s_suite_options();
    opt.s3 = s3;
    return sigv4_sign(&req, &s_suite_creds, &opt, out);
}

TEST(sigv4_sha256_known_answers) {
    char hex[SIGV4_HEX_LEN + 1];
    sigv4_sha256_hex(SPAN_LIT(""), hex);
    CHECK_STR(hex, SIGV4_EMPTY_SHA256);
    sigv4_sha256_hex(SPAN_LIT("abc"), hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* IAM User Guide, "Examples of how to derive a signing key for Signature Version 4". */
TEST(sigv4_signing_key_known_answer) {
    uint8_t key[32];
    REQUIRE_OK(
      sigv4_signing_key(SPAN_LIT(SUITE_SECRET), SPAN_LIT("20120215"), SPAN_LIT("us-east-1"), SPAN_LIT("iam"), key));
    char hex[65];
    for (size_t i = 0; i < sizeof(key); i++) {
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    CHECK_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");

    static char long_secret[SIGV4_MAX_SECRET_BYTES + 1];
    memset(long_secret, 'k', sizeof(long_secret));
    CHECK_OK(sigv4_signing_key(
      (struct span){ long_secret, SIGV4_MAX_SECRET_BYTES },
      SPAN_LIT("20120215"),
      SPAN_LIT("us-east-1"),
      SPAN_LIT("iam"),
      key));
    CHECK_INT(
      sigv4_signing_key(
        (struct span){ long_secret, sizeof(long_secret) },
        SPAN_LIT("20120215"),
        SPAN_LIT("us-east-1"),
        SPAN_LIT("iam"),
        key),
      ERR_LIMIT);
}

/* The suite's get-vanilla, every stage. */
TEST(sigv4_get_vanilla_every_stage) {
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(s_sign(SPAN_LIT("/"), SPAN_NULL, s_host, 1, false, &out));
    CHECK_STR(
      buf_cstr(&out.canonical_request),
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SIGV4_EMPTY_SHA256);
    CHECK_STR(
      buf_cstr(&out.string_to_sign),
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    CHECK_STR(out.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    REQUIRE(out.header_count == 2);
    CHECK_SPAN(out.headers[0].name, "X-Amz-Date");
    CHECK_SPAN(out.headers[0].value, "20150830T123600Z");
    CHECK_SPAN(out.headers[1].name, "Authorization");
    CHECK_SPAN(
      out.headers[1].value,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    CHECK_INT(out.query.len, 0);
    sigv4_output_free(&out);
}

#define H_HOST "host:example.amazonaws.com\n"
#define H_DATE "x-amz-date:20150830T123600Z\n"

TEST(sigv4_canonical_headers_table) {
    static const struct {
        const char *what;
        struct sigv4_header h[4]; /* Host comes first, then these */
        size_t n;
        const char *want_headers; /* the canonical header block */
        const char *want_signed;
    } cases[] = {
        { "trim and collapse",
          { { SP("My-Header1"), SP("  value1  ") }, { SP("My-Header2"), SP("\"a   b   c\"") } },
          2,
          H_HOST "my-header1:value1\nmy-header2:\"a b c\"\n" H_DATE,
          "host;my-header1;my-header2;x-amz-date" },
        { "multi-line value (folded)",
          { { SP("My-Header1"), SP("value1\n  value2\r\n     value3") } },
          1,
          H_HOST "my-header1:value1 value2 value3\n" H_DATE,
          "host;my-header1;x-amz-date" },
        { "repeated names keep their order",
          { { SP("My-Header1"), SP("value4") },
            { SP("my-header1"), SP("value1") },
            { SP("MY-HEADER1"), SP(" value3 ") },
            { SP("My-Header1"), SP("value2") } },
          4,
          H_HOST "my-header1:value4,value1,value3,value2\n" H_DATE,
          "host;my-header1;x-amz-date" },
        { "values keep their case, names are sorted lowercase",
          { { SP("Zeta"), SP("VALUE1") }, { SP("alpha"), SP("b") }, { SP("X-B"), SP("") } },
          3,
          "alpha:b\n" H_HOST H_DATE "x-b:\nzeta:VALUE1\n",
          "alpha;host;x-amz-date;x-b;zeta" },
        { "tabs and empty values",
          { { SP("A"), SP("\t x \t y \t") }, { SP("B"), SP("   ") } },
          2,
          "a:x y\nb:\n" H_HOST H_DATE,
          "a;b;host;x-amz-date" },
        { "never signed: User-Agent, Expect, X-Amzn-Trace-Id; X-Amz-Date replaced",
          { { SP("User-Agent"), SP("curl") },
            { SP("expect"), SP("100-continue") },
            { SP("X-Amzn-Trace-Id"), SP("Root=1") },
            { SP("X-Amz-Date"), SP("19990101T000000Z") } },
          4,
          H_HOST H_DATE,
          "host;x-amz-date" },
        { "a stale Authorization is not signed",
          { { SP("Authorization"), SP("AWS4-HMAC-SHA256 old") } },
          1,
          H_HOST H_DATE,
          "host;x-amz-date" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sigv4_header h[5];
        h[0] = s_host[0];
        memcpy(h + 1, cases[i].h, cases[i].n * sizeof(h[0]));
        struct sigv4_output out;
        sigv4_output_init(&out);
        struct buf want;
        buf_init(&want, BUF_MAX_SMALL);
        buf_appendf(&want, "GET\n/\n\n%s\n%s\n%s", cases[i].want_headers, cases[i].want_signed, SIGV4_EMPTY_SHA256);
        if (
          !CHECK_OK(s_sign(SPAN_LIT("/"), SPAN_NULL, h, cases[i].n + 1, false, &out)) ||
          !CHECK_STR(buf_cstr(&out.canonical_request), buf_cstr(&want))) {
            harness_note("case: %s", cases[i].what);
        }
        buf_free(&want);
        sigv4_output_free(&out);
    }
}

TEST(sigv4_canonical_uri_s3_and_others) {
    static const struct {
        const char *path;
        const char *want_other; /* normalised, encoded again */
        const char *want_s3;    /* as given */
    } cases[] = {
        { "/", "/", "/" },
        { "", "/", "/" },
        { "/example/..", "/", "/example/.." },
        { "//example//", "/example/", "//example//" },
        { "/./example", "/example", "/./example" },
        { "/mybucket/keyname/.bar", "/mybucket/keyname/.bar", "/mybucket/keyname/.bar" },
        { "/my%20key", "/my%2520key", "/my%20key" },
        { "/a%2Fb/c", "/a%252Fb/c", "/a%2Fb/c" },
        { "/\xe1\x88\xb4", "/%E1%88%B4", "/\xe1\x88\xb4" },
        { "/example space/", "/example%20space/", "/example space/" },
        { "/example/$delete", "/example/%24delete", "/example/$delete" },
        { "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int s3 = 0; s3 <= 1; s3++) {
            struct sigv4_output out;
            sigv4_output_init(&out);
            if (CHECK_OK(s_sign(span_from_cstr(cases[i].path), SPAN_NULL, s_host, 1, s3, &out))) {
                if (!CHECK_SPAN(s_line(&out.canonical_request, 1), s3 ? cases[i].want_s3 : cases[i].want_other)) {
                    harness_note("path '%s', s3=%d", cases[i].path, s3);
                }
            }
            sigv4_output_free(&out);
        }
    }
}

TEST(sigv4_canonical_query_in_request) {
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(s_sign(
      SPAN_LIT("/"), SPAN_LIT("Param-3=Value3&Param=Value2&%E1%88%B4=Value1&empty&b=%e1"), s_host, 1, false, &out));
    CHECK_SPAN(s_line(&out.canonical_request, 2), "%E1%88%B4=Value1&Param=Value2&Param-3=Value3&b=%E1&empty=");
    sigv4_output_free(&out);
}

/* S3 adds and signs X-Amz-Content-SHA256; other services sign the payload hash only in the canonical request. */
TEST(sigv4_s3_content_sha256) {
    struct sigv4_header h[] = { { SPAN_LIT("Host"), SPAN_LIT("bucket.s3.amazonaws.com") },
                                { SPAN_LIT("x-amz-content-sha256"), SPAN_LIT("stale") } };
    struct sigv4_request req = {
        .method = SPAN_LIT("PUT"), .path = SPAN_LIT("/key"), .headers = h, .header_count = 2, .payload = SPAN_LIT("abc")
    };
    struct sigv4_options opt = {
        .region = SPAN_LIT("us-east-1"), .service = SPAN_LIT("s3"), .time_unix_s = SUITE_TIME, .s3 = true
    };
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    REQUIRE(out.header_count == 3);
    CHECK_SPAN(out.headers[1].name, "X-Amz-Content-SHA256");
    CHECK_SPAN(out.headers[1].value, abc);
    CHECK(strstr(buf_cstr(&out.canonical_request), "\nx-amz-content-sha256:ba7816bf") != NULL);
    CHECK(strstr(buf_cstr(&out.canonical_request), "stale") == NULL);
    CHECK_SPAN(s_line(&out.canonical_request, 7), "host;x-amz-content-sha256;x-amz-date");
    sigv4_output_free(&out);

    /* A precomputed hash (UNSIGNED-PAYLOAD) is used as given and the payload is not read. */
    req.payload_hash = SPAN_LIT(SIGV4_UNSIGNED_PAYLOAD);
    req.payload = (struct span){ NULL, 12345 };
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    CHECK_SPAN(out.headers[1].value, SIGV4_UNSIGNED_PAYLOAD);
    CHECK_SPAN(s_line(&out.canonical_request, 8), SIGV4_UNSIGNED_PAYLOAD);
    sigv4_output_free(&out);

    /* The same request to another service: no header, the hash only ends the canonical request. */
    opt.s3 = false;
    opt.service = SPAN_LIT("service");
    req.payload_hash = SPAN_NULL;
    req.payload = SPAN_LIT("abc");
    req.header_count = 1;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    CHECK_INT(out.header_count, 2);
    CHECK_SPAN(s_line(&out.canonical_request, 7), abc);
    sigv4_output_free(&out);
}

/* The suite's get-vanilla-with-session-token: the token header is added, signed, and replaces a stale one. */
TEST(sigv4_session_token_header) {
    struct sigv4_header h[] = { s_host[0], { SPAN_LIT("X-Amz-Security-Token"), SPAN_LIT("stale") } };
    struct sigv4_request req = { .method = SPAN_LIT("GET"), .path = SPAN_LIT("/"), .headers = h, .header_count = 2 };
    struct sigv4_credentials creds = s_suite_creds;
    creds.session_token = SPAN_LIT(SUITE_TOKEN);
    struct sigv4_options opt = s_suite_options();
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &creds, &opt, &out));
    CHECK_SPAN(s_line(&out.canonical_request, 5), "x-amz-security-token:" SUITE_TOKEN);
    CHECK(strstr(buf_cstr(&out.canonical_request), "stale") == NULL);
    REQUIRE(out.header_count == 3);
    CHECK_SPAN(out.headers[1].name, "X-Amz-Security-Token");
    CHECK_SPAN(out.headers[1].value, SUITE_TOKEN);
    CHECK_SPAN(
      out.headers[2].value,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date;x-amz-security-token, "
      "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    sigv4_output_free(&out);
}

/* Amazon S3 API Reference, "Authenticating Requests: Using Query Parameters", the worked example. */
TEST(sigv4_presign_s3_documentation_example) {
    struct sigv4_header h[] = { { SPAN_LIT("Host"), SPAN_LIT("examplebucket.s3.amazonaws.com") } };
    struct sigv4_request req = { .method = SPAN_LIT("GET"),
                                 .path = SPAN_LIT("/test.txt"),
                                 .headers = h,
                                 .header_count = 1,
                                 .payload = SPAN_LIT("ignored") };
    struct sigv4_credentials creds = { .access_key_id = SPAN_LIT("AKIAIOSFODNN7EXAMPLE"),
                                       .secret_access_key = SPAN_LIT("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") };
    struct sigv4_options opt = { .region = SPAN_LIT("us-east-1"),
                                 .service = SPAN_LIT("s3"),
                                 .time_unix_s = 1369353600, /* 20130524T000000Z */
                                 .s3 = true,
                                 .presign_expires_s = 86400 };
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &creds, &opt, &out));
    CHECK_STR(
      buf_cstr(&out.canonical_request),
      "GET\n/test.txt\n"
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
      "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
      "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    CHECK_SPAN(s_line(&out.string_to_sign, 3), "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    CHECK_STR(out.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK_STR(
      buf_cstr(&out.query),
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
      "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK_INT(out.header_count, 0);
    sigv4_output_free(&out);
}

/*
 * EC2 CopySnapshot's PresignedUrl: a GET of the action to the SOURCE region, signed for it, payload hash of the
 * empty body (PRESIGN_EXAMPLES.md C1/C2, derived with botocore's SigV4QueryAuth).
 */
TEST(sigv4_presign_ec2_copy_snapshot) {
    struct sigv4_header h[] = { { SPAN_LIT("Host"), SPAN_LIT("ec2.us-west-2.amazonaws.com") } };
    struct sigv4_request req = {
        .method = SPAN_LIT("GET"),
        .path = SPAN_LIT("/"),
        .query = SPAN_LIT("Action=CopySnapshot&DestinationRegion=us-east-1&SourceRegion=us-west-2"
                          "&SourceSnapshotId=snap-1234567890abcdef0&Version=2016-11-15"),
        .headers = h,
        .header_count = 1,
    };
    struct sigv4_options opt = { .region = SPAN_LIT("us-west-2"),
                                 .service = SPAN_LIT("ec2"),
                                 .time_unix_s = SUITE_TIME,
                                 .presign_expires_s = 3600 };
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    CHECK_SPAN(
      s_line(&out.canonical_request, 2),
      "Action=CopySnapshot&DestinationRegion=us-east-1&SourceRegion=us-west-2&SourceSnapshotId=snap-"
      "1234567890abcdef0&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%"
      "2F20150830%2Fus-west-2%2Fec2%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-"
      "SignedHeaders=host");
    CHECK_SPAN(s_line(&out.canonical_request, 6), SIGV4_EMPTY_SHA256);
    CHECK_SPAN(s_line(&out.string_to_sign, 3), "f18227ab4a37e6ebfa51a25a1ea1097b5ca4aa5a7452f3b3e1682b4f0dba739e");
    CHECK_STR(out.signature, "e351c06309630fbda47dd2669fc7d7593e77a4fd550edbf2404b9f312f84f3ad");
    sigv4_output_free(&out);

    struct sigv4_credentials creds = s_suite_creds;
    creds.session_token = SPAN_LIT(SUITE_TOKEN);
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &creds, &opt, &out));
    CHECK_SPAN(s_line(&out.string_to_sign, 3), "c6bf0d56d2c9207255807c924608df9bc4f381ca89b307395fd13ea01966a6d6");
    CHECK_STR(out.signature, "3c2da795cc0b4cac4bdf3cfb908d8f4b64040e77f071742c8ff4a2c15004362a");
    CHECK(
      strstr(buf_cstr(&out.query), "&X-Amz-SignedHeaders=host&X-Amz-Security-Token=" SUITE_TOKEN "&X-Amz-Signature=") !=
      NULL);
    CHECK(span_starts_with(buf_span(&out.query), SPAN_LIT("Action=CopySnapshot&DestinationRegion=us-east-1&")));
    sigv4_output_free(&out);
}

TEST(sigv4_presign_reencodes_the_query_in_order) {
    struct sigv4_request req = { .method = SPAN_LIT("GET"),
                                 .path = SPAN_LIT("/"),
                                 .query = SPAN_LIT("b=%e1%88%b4&a=x y&flag"),
                                 .headers = s_host,
                                 .header_count = 1 };
    struct sigv4_options opt = s_suite_options();
    opt.presign_expires_s = 60;
    struct sigv4_output out;
    sigv4_output_init(&out);
    REQUIRE_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    CHECK(span_starts_with(buf_span(&out.query), SPAN_LIT("b=%E1%88%B4&a=x%20y&flag=&X-Amz-Algorithm=")));
    /* Signed sorted: uppercase 'X' sorts before lowercase names. */
    struct span cq = s_line(&out.canonical_request, 2);
    CHECK(span_starts_with(cq, SPAN_LIT("X-Amz-Algorithm=AWS4-HMAC-SHA256&")));
    CHECK(span_ends_with(cq, SPAN_LIT("&X-Amz-SignedHeaders=host&a=x%20y&b=%E1%88%B4&flag=")));
    sigv4_output_free(&out);
}

TEST(sigv4_rejects_bad_input) {
    const struct sigv4_header too_many_name = { SPAN_LIT("X-Many"), SPAN_LIT("v") };
    struct sigv4_header many[SIGV4_MAX_HEADERS + 1];
    many[0] = s_host[0];
    for (size_t i = 1; i < SIGV4_MAX_HEADERS + 1; i++) {
        many[i] = too_many_name;
    }
    struct sigv4_header no_host[] = { { SPAN_LIT("X-A"), SPAN_LIT("b") } };
    struct sigv4_header bad_name[] = { s_host[0], { SPAN_LIT("Bad Name"), SPAN_LIT("b") } };
    struct sigv4_header semicolon[] = { s_host[0], { SPAN_LIT("a;b"), SPAN_LIT("b") } };
    struct sigv4_output out;

    sigv4_output_init(&out);
    CHECK_OK(s_sign(SPAN_LIT("/"), SPAN_NULL, many, SIGV4_MAX_HEADERS, false, &out));
    sigv4_output_free(&out);
    sigv4_output_init(&out);
    CHECK_INT(s_sign(SPAN_LIT("/"), SPAN_NULL, many, SIGV4_MAX_HEADERS + 1, false, &out), ERR_LIMIT);
    sigv4_output_free(&out);
    sigv4_output_init(&out);
    CHECK_INT(s_sign(SPAN_LIT("/"), SPAN_NULL, no_host, 1, false, &out), ERR_INVALID);
    CHECK_INT(out.header_count, 0);
    sigv4_output_free(&out);
    sigv4_output_init(&out);
    CHECK_INT(s_sign(SPAN_LIT("/"), SPAN_NULL, bad_name, 2, false, &out), ERR_INVALID);
    sigv4_output_free(&out);
    sigv4_output_init(&out);
    CHECK_INT(s_sign(SPAN_LIT("/"), SPAN_NULL, semicolon, 2, false, &out), ERR_INVALID);
    sigv4_output_free(&out);
    sigv4_output_init(&out);
    CHECK_INT(s_sign(SPAN_LIT("/"), SPAN_LIT("a=%zz"), s_host, 1, false, &out), ERR_PARSE);
    sigv4_output_free(&out);

    struct sigv4_request req = {
        .method = SPAN_LIT("get"), .path = SPAN_LIT("/"), .headers = s_host, .header_count = 1
    };
    struct sigv4_options opt = s_suite_options();
    sigv4_output_init(&out);
    CHECK_INT(sigv4_sign(&req, &s_suite_creds, &opt, &out), ERR_INVALID); /* lowercase method */
    sigv4_output_free(&out);
    req.method = SPAN_LIT("GET");
    req.payload_hash = SPAN_LIT("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
    sigv4_output_init(&out);
    CHECK_INT(sigv4_sign(&req, &s_suite_creds, &opt, &out), ERR_INVALID); /* uppercase hex */
    sigv4_output_free(&out);
    req.payload_hash = SPAN_NULL;

    opt.presign_expires_s = SIGV4_MAX_EXPIRES_S;
    sigv4_output_init(&out);
    CHECK_OK(sigv4_sign(&req, &s_suite_creds, &opt, &out));
    sigv4_output_free(&out);
    opt.presign_expires_s = SIGV4_MAX_EXPIRES_S + 1;
    sigv4_output_init(&out);
    CHECK_INT(sigv4_sign(&req, &s_suite_creds, &opt, &out), ERR_INVALID);
    sigv4_output_free(&out);
    opt.presign_expires_s = 0;

    static const struct {
        const char *region, *service, *akid, *secret;
    } scopes[] = {
        { "", "service", SUITE_AKID, SUITE_SECRET },        { "us-east-1", "", SUITE_AKID, SUITE_SECRET },
        { "us/east", "service", SUITE_AKID, SUITE_SECRET }, { "us-east-1", "ser vice", SUITE_AKID, SUITE_SECRET },
        { "us-east-1", "service", "", SUITE_SECRET },       { "us-east-1", "service", "AKID/X", SUITE_SECRET },
        { "us-east-1", "service", SUITE_AKID, "" },
    };
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        struct sigv4_options o = s_suite_options();
        o.region = span_from_cstr(scopes[i].region);
        o.service = span_from_cstr(scopes[i].service);
        struct sigv4_credentials c = { span_from_cstr(scopes[i].akid), span_from_cstr(scopes[i].secret), SPAN_NULL };
        sigv4_output_init(&out);
        CHECK_INT(sigv4_sign(&req, &c, &o, &out), ERR_INVALID);
        sigv4_output_free(&out);
    }
}

TEST(sigv4_outputs_never_hold_the_secret) {
    struct sigv4_credentials creds = s_suite_creds;
    creds.session_token = SPAN_LIT("tok");
    for (uint32_t presign = 0; presign <= 60; presign += 60) {
        struct sigv4_request req = {
            .method = SPAN_LIT("GET"), .path = SPAN_LIT("/"), .headers = s_host, .header_count = 1
        };
        struct sigv4_options opt = s_suite_options();
        opt.presign_expires_s = presign;
        struct sigv4_output out;
        sigv4_output_init(&out);
        REQUIRE_OK(sigv4_sign(&req, &creds, &opt, &out));
        CHECK(strstr(buf_cstr(&out.canonical_request), "EXAMPLEKEY") == NULL);
        CHECK(strstr(buf_cstr(&out.string_to_sign), "EXAMPLEKEY") == NULL);
        CHECK(strstr(buf_cstr(&out.authorization), "EXAMPLEKEY") == NULL);
        CHECK(strstr(buf_cstr(&out.query), "EXAMPLEKEY") == NULL);
        sigv4_output_free(&out);
        CHECK(out.canonical_request.data == NULL && out.query.data == NULL && out.signature[0] == '\0');
    }
}

TEST(sigv4_raw_request_parse_suite_format) {
    struct sigv4_raw_request *r = malloc(sizeof(*r));
    REQUIRE(r != NULL);
    CHECK_OK(sigv4_raw_request_parse(
      SPAN_LIT("GET /example space/?a=b&c HTTP/1.1\r\nHost:example.amazonaws.com\r\nMy-Header1:value1\r\n  value2\r\n"
               "\tvalue3\r\nX-Amz-Date:20150830T123600Z\r\n\r\nbody\nline"),
      r));
    CHECK_SPAN(r->method, "GET");
    CHECK_SPAN(r->path, "/example space/");
    CHECK_SPAN(r->query, "a=b&c");
    REQUIRE(r->header_count == 3);
    CHECK_SPAN(r->headers[0].name, "Host");
    CHECK_SPAN(r->headers[0].value, "example.amazonaws.com");
    CHECK_SPAN(r->headers[1].name, "My-Header1");
    CHECK_SPAN(r->headers[1].value, "value1\r\n  value2\r\n\tvalue3");
    CHECK_SPAN(r->body, "body\nline");

    CHECK_OK(sigv4_raw_request_parse(SPAN_LIT("POST / HTTP/1.1\nHost:h"), r));
    CHECK_SPAN(r->path, "/");
    CHECK_SPAN(r->query, "");
    CHECK_SPAN(r->body, "");
    CHECK_INT(r->header_count, 1);

    CHECK_INT(sigv4_raw_request_parse(SPAN_LIT(""), r), ERR_PARSE);
    CHECK_INT(sigv4_raw_request_parse(SPAN_LIT("GET\nHost:h"), r), ERR_PARSE);
    CHECK_INT(sigv4_raw_request_parse(SPAN_LIT("GET / HTTP/1.1\n continued"), r), ERR_PARSE);
    CHECK_INT(sigv4_raw_request_parse(SPAN_LIT("GET / HTTP/1.1\nno colon"), r), ERR_PARSE);

    struct buf many;
    buf_init(&many, BUF_MAX_REQUEST);
    buf_append_cstr(&many, "GET / HTTP/1.1\n");
    for (size_t i = 0; i < SIGV4_MAX_HEADERS; i++) {
        buf_appendf(&many, "H%zu:v\n", i);
    }
    CHECK_OK(sigv4_raw_request_parse(buf_span(&many), r));
    buf_append_cstr(&many, "One:more\n");
    CHECK_INT(sigv4_raw_request_parse(buf_span(&many), r), ERR_LIMIT);
    buf_free(&many);
    free(r);
}
