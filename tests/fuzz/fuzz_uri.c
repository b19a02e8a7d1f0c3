/*
 * fuzz_uri.c - libFuzzer target for codec/uri.
 *
 * fuzz-sources: src/codec/uri.c src/base/buf.c src/base/span.c src/base/err.c src/base/utf8.c
 *
 * Feeds the input to every function of uri.h and checks the properties the header promises:
 *   - decode(encode(x)) == x, for both encoders, and encoded output is only unreserved bytes and %XX (uppercase);
 *   - when x decodes, re-encoding x equals encoding its decoding, and re-encoding is idempotent;
 *   - the canonical query string is idempotent, and equals the canonical query of the re-encoded query;
 *   - path normalisation leaves no empty, "." or ".." segment, and is idempotent on a non-empty result;
 *   - a URL that splits has its parts inside the input, in order, with a non-empty host;
 *   - a form parameter decodes back to its key and value.
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include "codec/uri.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_assert(int cond) {
    if (!cond) {
        abort();
    }
}

static void s_check_encoded(struct span s, int keep_slash) {
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char) s.p[i];
        if (c == '%') {
            s_assert(i + 2 < s.n);
            s_assert(strchr("0123456789ABCDEF", s.p[i + 1]) != NULL && s.p[i + 1] != '\0');
            s_assert(strchr("0123456789ABCDEF", s.p[i + 2]) != NULL && s.p[i + 2] != '\0');
            i += 2;
        } else {
            s_assert(uri_is_unreserved(c) || (keep_slash && c == '/'));
        }
    }
}

static void s_roundtrip(struct span in) {
    struct buf enc, dec, again;
    buf_init(&enc, 4 * in.n + 16);
    buf_init(&dec, 4 * in.n + 16);
    buf_init(&again, 4 * in.n + 16);
    for (int keep_slash = 0; keep_slash <= 1; keep_slash++) {
        buf_reset(&enc);
        buf_reset(&dec);
        if (keep_slash) {
            uri_encode_path(&enc, in);
        } else {
            uri_encode(&enc, in);
        }
        s_assert(buf_status(&enc) == ERR_OK);
        s_check_encoded(buf_span(&enc), keep_slash);
        s_assert(uri_decode(&dec, buf_span(&enc)) == ERR_OK);
        s_assert(span_eq(buf_span(&dec), in));
    }

    /* When the input decodes, re-encoding it is encoding its decoding; and re-encoding is idempotent. */
    buf_reset(&dec);
    if (uri_decode(&dec, in) == ERR_OK) {
        buf_reset(&enc);
        uri_encode(&enc, buf_span(&dec));
        buf_reset(&again);
        s_assert(uri_reencode(&again, in) == ERR_OK);
        s_assert(span_eq(buf_span(&again), buf_span(&enc)));
        buf_reset(&dec);
        s_assert(uri_reencode(&dec, buf_span(&again)) == ERR_OK);
        s_assert(span_eq(buf_span(&dec), buf_span(&again)));
    } else {
        buf_reset(&again);
        s_assert(uri_reencode(&again, in) == ERR_PARSE);
    }
    buf_free(&enc);
    buf_free(&dec);
    buf_free(&again);
}

static void s_query(struct span in) {
    struct buf canon, twice, reenc, canon2;
    buf_init(&canon, BUF_MAX_REQUEST);
    buf_init(&twice, BUF_MAX_REQUEST);
    buf_init(&reenc, BUF_MAX_REQUEST);
    buf_init(&canon2, BUF_MAX_REQUEST);
    enum err e = uri_canonical_query(&canon, in);
    enum err r = uri_query_reencode(&reenc, in);
    s_assert(e == r);
    if (e == ERR_OK) {
        s_assert(uri_canonical_query(&twice, buf_span(&canon)) == ERR_OK);
        s_assert(span_eq(buf_span(&twice), buf_span(&canon)));
        s_assert(uri_canonical_query(&canon2, buf_span(&reenc)) == ERR_OK);
        s_assert(span_eq(buf_span(&canon2), buf_span(&canon)));
    }
    buf_free(&canon);
    buf_free(&twice);
    buf_free(&reenc);
    buf_free(&canon2);
}

static void s_path(struct span in) {
    struct buf n1, n2;
    buf_init(&n1, in.n + 16);
    buf_init(&n2, in.n + 16);
    uri_path_normalize(&n1, in);
    s_assert(buf_status(&n1) == ERR_OK);
    struct span out = buf_span(&n1);
    /* No empty segment inside, no "." or ".." segment anywhere. */
    size_t start = 0;
    for (size_t i = 0; i <= out.n; i++) {
        if (i < out.n && out.p[i] != '/') {
            continue;
        }
        struct span seg = { out.p + start, i - start };
        s_assert(!span_eq_cstr(seg, ".") && !span_eq_cstr(seg, ".."));
        s_assert(seg.n > 0 || start == 0 || i == out.n);
        start = i + 1;
    }
    if (out.n > 0) {
        uri_path_normalize(&n2, out);
        s_assert(span_eq(buf_span(&n2), out));
    }
    buf_free(&n1);
    buf_free(&n2);
}

static int s_inside(struct span part, struct span whole) {
    return part.n == 0 || (part.p >= whole.p && part.p + part.n <= whole.p + whole.n);
}

static void s_split(struct span in) {
    struct uri_parts u;
    if (uri_split(in, &u) != ERR_OK) {
        return;
    }
    s_assert(u.host.n > 0 && u.scheme.n > 0);
    s_assert(s_inside(u.scheme, in) && s_inside(u.host, in) && s_inside(u.port, in));
    s_assert(s_inside(u.path, in) && s_inside(u.query, in));
    s_assert(u.host.p > u.scheme.p);
    s_assert(u.path.n == 0 || u.path.p[0] == '/');
    struct buf host;
    buf_init(&host, in.n + 16);
    uri_append_host_header(&host, &u);
    s_assert(buf_status(&host) == ERR_OK && host.len >= u.host.n);
    buf_free(&host);
}

static void s_form(struct span in) {
    struct span key = span_sub(in, 0, in.n / 2);
    struct span value = span_sub(in, in.n / 2, in.n - in.n / 2);
    struct buf body, dec;
    buf_init(&body, 4 * in.n + 16);
    buf_init(&dec, 4 * in.n + 16);
    uri_form_add(&body, key, value);
    s_assert(buf_status(&body) == ERR_OK);
    struct uri_param p[1];
    size_t n = 0;
    s_assert(uri_query_split(buf_span(&body), p, 1, &n) == ERR_OK && n == 1);
    s_assert(uri_decode(&dec, p[0].key) == ERR_OK && span_eq(buf_span(&dec), key));
    buf_reset(&dec);
    s_assert(uri_decode(&dec, p[0].value) == ERR_OK && span_eq(buf_span(&dec), value));
    buf_free(&body);
    buf_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct span in = { (const char *) data, size };
    s_roundtrip(in);
    s_query(in);
    s_path(in);
    s_split(in);
    s_form(in);
    return 0;
}
