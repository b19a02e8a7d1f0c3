/*
 * test_uri.c - codec/uri: encoding tables (reserved, unicode), strict decoding, path normalisation, URL splitting,
 * canonical query strings, form bodies, every limit, and encode/decode round trips.
 */
#include "harness.h"

#include "codec/uri.h"

#include <stdio.h>
#include <stdlib.h>

/* Runs an appending function into a fresh buffer and compares the result. */
static bool s_check_buf(struct buf *b, const char *want, const char *what, const char *file, int line) {
    bool ok = harness_check_int(buf_status(b), ERR_OK, what, file, line);
    ok = harness_check_mem(b->data ? b->data : "", b->len, want, strlen(want), what, file, line) && ok;
    return ok;
}

TEST(uri_encode_table) {
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        const char *want;
        const char *want_path;
    } cases[] = {
        { "", 0, "", "" },
        { "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          0,
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" },
        { " ", 0, "%20", "%20" },
        { "/", 0, "%2F", "/" },
        { "a/b c", 0, "a%2Fb%20c", "a/b%20c" },
        /* RFC 3986 gen-delims and sub-delims: all reserved, all encoded. */
        { ":/?#[]@", 0, "%3A%2F%3F%23%5B%5D%40", "%3A/%3F%23%5B%5D%40" },
        { "!$&'()*+,;=", 0, "%21%24%26%27%28%29%2A%2B%2C%3B%3D", "%21%24%26%27%28%29%2A%2B%2C%3B%3D" },
        { "%", 0, "%25", "%25" },
        { "%2F", 0, "%252F", "%252F" },
        /* U+1234 (the suite's get-utf8) and U+00E9, encoded byte by byte, uppercase hex. */
        { "\xe1\x88\xb4", 0, "%E1%88%B4", "%E1%88%B4" },
        { "caf\xc3\xa9", 0, "caf%C3%A9", "caf%C3%A9" },
        { "\x00\x7f\xff", 3, "%00%7F%FF", "%00%7F%FF" },
        { "$delete", 0, "%24delete", "%24delete" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct span in = { cases[i].in, cases[i].len ? cases[i].len : strlen(cases[i].in) };
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        uri_encode(&b, in);
        s_check_buf(&b, cases[i].want, cases[i].in, __FILE__, __LINE__);
        buf_reset(&b);
        uri_encode_path(&b, in);
        s_check_buf(&b, cases[i].want_path, cases[i].in, __FILE__, __LINE__);
        buf_free(&b);
    }
}

TEST(uri_decode_table) {
    static const struct {
        const char *in;
        int err;
        const char *want;
    } cases[] = {
        { "", ERR_OK, "" },
        { "abc", ERR_OK, "abc" },
        { "%20", ERR_OK, " " },
        { "a+b", ERR_OK, "a+b" }, /* '+' is a literal plus */
        { "%e1%88%B4", ERR_OK, "\xe1\x88\xb4" },
        { "%2F%2f", ERR_OK, "//" },
        { "\xe1\x88\xb4", ERR_OK, "\xe1\x88\xb4" }, /* raw bytes pass through */
        { "%", ERR_PARSE, NULL },
        { "%4", ERR_PARSE, NULL },
        { "abc%", ERR_PARSE, NULL },
        { "%G0", ERR_PARSE, NULL },
        { "%0G", ERR_PARSE, NULL },
        { "%%41", ERR_PARSE, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        enum err e = uri_decode(&b, span_from_cstr(cases[i].in));
        CHECK_INT(e, cases[i].err);
        if (cases[i].want != NULL) {
            s_check_buf(&b, cases[i].want, cases[i].in, __FILE__, __LINE__);
        }
        buf_free(&b);
    }
}

TEST(uri_reencode_canonicalises) {
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        { "%e1%88%b4", "%E1%88%B4" }, { "\xe1\x88\xb4", "%E1%88%B4" }, { "%E1%88%B4", "%E1%88%B4" }, { "a b", "a%20b" },
        { "%41%7e", "A~" }, /* needlessly escaped unreserved bytes come back plain */
        { "a+b", "a%2Bb" },           { "a%2Fb/c", "a%2Fb%2Fc" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        CHECK_OK(uri_reencode(&b, span_from_cstr(cases[i].in)));
        s_check_buf(&b, cases[i].want, cases[i].in, __FILE__, __LINE__);
        buf_free(&b);
    }
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    CHECK_INT(uri_reencode(&b, SPAN_LIT("x%zz")), ERR_PARSE);
    buf_free(&b);
}

TEST(uri_path_normalize_table) {
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        /* The suite's normalize-path cases. */
        { "/example/..", "/" },
        { "/example1/example2/../..", "/" },
        { "/./", "/" },
        { "/./example", "/example" },
        { "//", "/" },
        { "//example//", "/example/" },
        { "/example space/", "/example space/" },
        { "/example/$delete", "/example/$delete" },
        /* botocore's remove_dot_segments, which AWS's other SDKs match. */
        { "", "/" },
        { "/", "/" },
        { "/a/b/..", "/a" },
        { "/a/b/../", "/a/" },
        { "/a/.", "/a" },
        { "/a/./b/../c//", "/a/c/" },
        { "/../a", "/a" },
        { "/../../", "/" },
        { "/a/...", "/a/..." },
        { "/a/..b/.c", "/a/..b/.c" },
        { "/%2E%2E/a", "/%2E%2E/a" },
        { "a/b", "a/b" },
        { "a/../..", "" },
        { "/a//b///c", "/a/b/c" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        uri_path_normalize(&b, span_from_cstr(cases[i].in));
        s_check_buf(&b, cases[i].want, cases[i].in, __FILE__, __LINE__);
        buf_free(&b);
    }
}

TEST(uri_path_normalize_keeps_what_came_before) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    buf_append_cstr(&b, "GET\n");
    uri_path_normalize(&b, SPAN_LIT("/a/../../.."));
    s_check_buf(&b, "GET\n/", "prefix kept", __FILE__, __LINE__);
    buf_free(&b);
}

TEST(uri_split_table) {
    static const struct {
        const char *url;
        const char *scheme, *host, *port, *path, *query;
    } good[] = {
        { "https://ec2.us-east-1.amazonaws.com", "https", "ec2.us-east-1.amazonaws.com", "", "", "" },
        { "https://ec2.us-east-1.amazonaws.com/", "https", "ec2.us-east-1.amazonaws.com", "", "/", "" },
        { "http://127.0.0.1:5000/p/a%20b?x=1&y#frag", "http", "127.0.0.1", "5000", "/p/a%20b", "x=1&y" },
        { "https://[::1]:8443/a", "https", "[::1]", "8443", "/a", "" },
        { "https://[fd00:ec2::254]", "https", "[fd00:ec2::254]", "", "", "" },
        { "https://h?q", "https", "h", "", "", "q" },
        { "https://h#f?notquery", "https", "h", "", "", "" },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct uri_parts u;
        if (!CHECK_OK(uri_split(span_from_cstr(good[i].url), &u))) {
            harness_note("url: %s", good[i].url);
            continue;
        }
        CHECK_SPAN(u.scheme, good[i].scheme);
        CHECK_SPAN(u.host, good[i].host);
        CHECK_SPAN(u.port, good[i].port);
        CHECK_SPAN(u.path, good[i].path);
        CHECK_SPAN(u.query, good[i].query);
    }
    static const struct {
        const char *url;
        int err;
    } bad[] = {
        { "ec2.amazonaws.com", ERR_PARSE },
        { "://h", ERR_PARSE },
        { "1http://h", ERR_PARSE },
        { "https://", ERR_PARSE },
        { "https:///path", ERR_PARSE },
        { "https://:443/", ERR_PARSE },
        { "https://user:pw@h/", ERR_INVALID },
        { "https://h:0/", ERR_PARSE },
        { "https://h:65536/", ERR_PARSE },
        { "https://h:/", ERR_PARSE },
        { "https://h:8a/", ERR_PARSE },
        { "https://[::1/", ERR_PARSE },
        { "https://[::1]x/", ERR_PARSE },
        { "https://h]/", ERR_PARSE },
        { "https://h/a b", ERR_PARSE },
        { "https://h/\xe1\x88\xb4", ERR_PARSE },
        { "https://h/\t", ERR_PARSE },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct uri_parts u;
        if (!CHECK_INT(uri_split(span_from_cstr(bad[i].url), &u), bad[i].err)) {
            harness_note("url: %s", bad[i].url);
        }
    }
}

TEST(uri_split_limit) {
    static char url[URI_MAX_URL_BYTES + 2];
    memcpy(url, "https://h/", 10);
    memset(url + 10, 'a', sizeof(url) - 10);
    struct uri_parts u;
    CHECK_OK(uri_split((struct span){ url, URI_MAX_URL_BYTES }, &u));
    CHECK_INT(uri_split((struct span){ url, URI_MAX_URL_BYTES + 1 }, &u), ERR_LIMIT);
}

TEST(uri_host_header_table) {
    static const struct {
        const char *url;
        const char *want;
    } cases[] = {
        { "https://EC2.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com" },
        { "HTTPS://example.com:443/", "example.com" },
        { "http://example.com:80/", "example.com" },
        { "https://example.com:80/", "example.com:80" },
        { "http://127.0.0.1:5000", "127.0.0.1:5000" },
        { "https://prod-instance.us-east-1.rds.amazonaws.com:3306/", "prod-instance.us-east-1.rds.amazonaws.com:3306" },
        { "http://[::1]:8080/", "[::1]:8080" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct uri_parts u;
        REQUIRE_OK(uri_split(span_from_cstr(cases[i].url), &u));
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        uri_append_host_header(&b, &u);
        s_check_buf(&b, cases[i].want, cases[i].url, __FILE__, __LINE__);
        buf_free(&b);
    }
}

TEST(uri_query_split_pieces) {
    struct uri_param p[4];
    size_t n = 0;
    CHECK_OK(uri_query_split(SPAN_LIT("a=1&&b&c=&=v&"), p, 4, &n));
    REQUIRE(n == 4);
    CHECK_SPAN(p[0].key, "a");
    CHECK_SPAN(p[0].value, "1");
    CHECK_SPAN(p[1].key, "b");
    CHECK_SPAN(p[1].value, "");
    CHECK_SPAN(p[2].key, "c");
    CHECK_SPAN(p[2].value, "");
    CHECK_SPAN(p[3].key, "");
    CHECK_SPAN(p[3].value, "v");
    CHECK_OK(uri_query_split(SPAN_LIT("k=a=b"), p, 4, &n));
    CHECK_SPAN(p[0].value, "a=b");
    CHECK_INT(uri_query_split(SPAN_LIT("a&b&c&d&e"), p, 4, &n), ERR_LIMIT);
    CHECK_OK(uri_query_split(SPAN_LIT(""), p, 4, &n));
    CHECK_INT(n, 0);
}

TEST(uri_canonical_query_table) {
    static const struct {
        const char *in;
        int err;
        const char *want;
    } cases[] = {
        { "", ERR_OK, "" },
        /* The suite's query cases. */
        { "Param1=value1", ERR_OK, "Param1=value1" },
        { "Param2=value2&Param1=value1", ERR_OK, "Param1=value1&Param2=value2" },
        { "Param1=value2&Param1=Value1", ERR_OK, "Param1=Value1&Param1=value2" },
        { "Param1=value2&Param1=value1", ERR_OK, "Param1=value1&Param1=value2" },
        { "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", ERR_OK, "%E1%88%B4=Value1&Param=Value2&Param-3=Value3" },
        { "\xe1\x88\xb4=bar", ERR_OK, "%E1%88%B4=bar" },
        { "-._~09AZaz=-._~09AZaz", ERR_OK, "-._~09AZaz=-._~09AZaz" },
        /* Empty values are kept as "key="; empty pieces are dropped. */
        { "b&a=", ERR_OK, "a=&b=" },
        { "a=1&&b=2&", ERR_OK, "a=1&b=2" },
        { "=x&a=1", ERR_OK, "=x&a=1" },
        { "=", ERR_OK, "=" }, /* found by fuzz_uri: nothing to copy at all */
        { "&=&", ERR_OK, "=" },
        /* Sorted by the encoded name (bytewise), then the encoded value. */
        { "a-b=1&a=2", ERR_OK, "a=2&a-b=1" },
        { "a=1&~=1&_=1&A=1&0=1&.=1&-=1", ERR_OK, "-=1&.=1&0=1&A=1&_=1&a=1&~=1" },
        { "k=b&k=a&k=", ERR_OK, "k=&k=a&k=b" },
        { "k=%2b&k=%2B&k=+", ERR_OK, "k=%2B&k=%2B&k=%2B" },
        { "k=~&k=a b&k=%7E", ERR_OK, "k=a%20b&k=~&k=~" },
        { "x=%ZZ", ERR_PARSE, NULL },
        { "x%=1", ERR_PARSE, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, BUF_MAX_SMALL);
        enum err e = uri_canonical_query(&b, span_from_cstr(cases[i].in));
        if (CHECK_INT(e, cases[i].err) && cases[i].want != NULL) {
            s_check_buf(&b, cases[i].want, cases[i].in, __FILE__, __LINE__);
        }
        buf_free(&b);
    }
}

TEST(uri_query_reencode_keeps_order) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    CHECK_OK(uri_query_reencode(&b, SPAN_LIT("b=2&a=%e1%88%b4&flag&c=x y")));
    s_check_buf(&b, "b=2&a=%E1%88%B4&flag=&c=x%20y", "reencode", __FILE__, __LINE__);
    buf_free(&b);
}

TEST(uri_query_limits) {
    /* URI_MAX_QUERY_PARAMS parameters pass, one more does not. */
    struct buf q;
    buf_init(&q, URI_MAX_QUERY_BYTES);
    for (size_t i = 0; i < URI_MAX_QUERY_PARAMS; i++) {
        buf_appendf(&q, "%sk%zu=v", i ? "&" : "", i);
    }
    REQUIRE_OK(buf_status(&q));
    struct buf out;
    buf_init(&out, BUF_MAX_REQUEST);
    CHECK_OK(uri_canonical_query(&out, buf_span(&q)));
    buf_append_cstr(&q, "&one=more");
    buf_reset(&out);
    CHECK_INT(uri_canonical_query(&out, buf_span(&q)), ERR_LIMIT);

    /* URI_MAX_QUERY_BYTES bytes pass, one more does not. */
    buf_reset(&q);
    buf_append_cstr(&q, "k=");
    while (q.len < URI_MAX_QUERY_BYTES) {
        buf_append_char(&q, 'v');
    }
    REQUIRE_OK(buf_status(&q));
    buf_reset(&out);
    CHECK_OK(uri_canonical_query(&out, buf_span(&q)));
    struct span over = buf_span(&q);
    char *big = malloc(over.n + 1);
    REQUIRE(big != NULL);
    memcpy(big, over.p, over.n);
    big[over.n] = 'v';
    buf_reset(&out);
    CHECK_INT(uri_canonical_query(&out, (struct span){ big, over.n + 1 }), ERR_LIMIT);
    free(big);

    /* An output buffer that is too small reports ERR_LIMIT, not a truncated string. */
    struct buf tiny;
    buf_init(&tiny, 4);
    CHECK_INT(uri_canonical_query(&tiny, SPAN_LIT("abc=def")), ERR_LIMIT);
    buf_free(&tiny);
    buf_init(&tiny, 4);
    uri_encode(&tiny, SPAN_LIT("  "));
    CHECK_INT(buf_status(&tiny), ERR_LIMIT);
    buf_free(&tiny);
    buf_free(&out);
    buf_free(&q);
}

TEST(uri_form_body) {
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    uri_form_add(&b, SPAN_LIT("Action"), SPAN_LIT("CopySnapshot"));
    uri_form_add(&b, SPAN_LIT("Description"), SPAN_LIT("a b*c+~"));
    uri_form_add(&b, SPAN_LIT("TagSpecification.1.Tag.1.Key"), SPAN_LIT("CreatedBy"));
    uri_form_add(&b, SPAN_LIT("PresignedUrl"), SPAN_LIT("https://ec2.us-west-2.amazonaws.com/?a=b%2Fc"));
    uri_form_add(&b, SPAN_LIT("Empty"), SPAN_LIT(""));
    s_check_buf(
      &b,
      "Action=CopySnapshot&Description=a%20b%2Ac%2B~&TagSpecification.1.Tag.1.Key=CreatedBy"
      "&PresignedUrl=https%3A%2F%2Fec2.us-west-2.amazonaws.com%2F%3Fa%3Db%252Fc&Empty=",
      "form",
      __FILE__,
      __LINE__);
    buf_free(&b);
}

/* Property: decode(encode(x)) == x; encode(x) is made of unreserved bytes and %XX only; re-encoding is stable. */
TEST(uri_roundtrip_property) {
    uint64_t rng = harness_seed();
    unsigned char in[64];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t) harness_rng_range(&rng, 0, sizeof(in));
        for (size_t i = 0; i < n; i++) {
            in[i] = (unsigned char) harness_rng_range(&rng, 0, 255);
        }
        struct span s = { (const char *) in, n };
        struct buf enc, dec, again;
        buf_init(&enc, BUF_MAX_SMALL);
        buf_init(&dec, BUF_MAX_SMALL);
        buf_init(&again, BUF_MAX_SMALL);
        uri_encode(&enc, s);
        bool ok = buf_status(&enc) == ERR_OK;
        for (size_t i = 0; ok && i < enc.len; i++) {
            unsigned char c = (unsigned char) enc.data[i];
            if (c == '%') {
                ok = i + 2 < enc.len && strchr("0123456789ABCDEF", enc.data[i + 1]) &&
                     strchr("0123456789ABCDEF", enc.data[i + 2]);
                i += 2;
            } else {
                ok = uri_is_unreserved(c);
            }
        }
        ok = ok && uri_decode(&dec, buf_span(&enc)) == ERR_OK && span_eq(buf_span(&dec), s);
        ok = ok && uri_reencode(&again, buf_span(&enc)) == ERR_OK && span_eq(buf_span(&again), buf_span(&enc));
        buf_reset(&again);
        /* Raw input re-encodes like encoding, unless it holds a '%' (which re-encoding reads as an escape). */
        if (memchr(in, '%', n) == NULL) {
            ok = ok && uri_reencode(&again, s) == ERR_OK && span_eq(buf_span(&again), buf_span(&enc));
        }
        buf_reset(&dec);
        uri_encode_path(&dec, s);
        buf_reset(&again);
        ok = ok && uri_decode(&again, buf_span(&dec)) == ERR_OK && span_eq(buf_span(&again), s);
        if (!CHECK(ok)) {
            harness_note("seed %llu, iteration %d", (unsigned long long) harness_seed(), iter);
            iter = 1 << 30;
        }
        buf_free(&enc);
        buf_free(&dec);
        buf_free(&again);
    }
}
