/*
 * uri.c - percent-encoding, URL splitting, canonical query strings and form bodies, as AWS uses them.
 *
 * This module does the byte-level work the SigV4 signer and the Query-protocol request builder share: one
 * encoder (unreserved bytes kept, everything else %XX in uppercase), a strict decoder, botocore's path
 * normalisation, and the canonical query string. It does not know about SigV4 itself (see aws/sigv4.c), about
 * hosts beyond splitting them out of a URL (no DNS, no IDNA: AWS endpoints are ASCII), or about HTML form
 * conventions ('+' for space) that AWS does not use.
 */
#include "codec/uri.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char s_hex_upper[] = "0123456789ABCDEF";

bool uri_is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static int s_hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static void s_encode_byte(struct buf *out, unsigned char c, bool keep_slash) {
    if (uri_is_unreserved(c) || (keep_slash && c == '/')) {
        buf_append_char(out, (char) c);
        return;
    }
    char esc[3] = { '%', s_hex_upper[c >> 4], s_hex_upper[c & 0x0f] };
    buf_append(out, esc, sizeof(esc));
}

static void s_encode(struct buf *out, struct span in, bool keep_slash) {
    /* Runs of unreserved bytes are copied at once; most AWS values are plain identifiers. */
    size_t run = 0;
    for (size_t i = 0; i < in.n; i++) {
        unsigned char c = (unsigned char) in.p[i];
        if (uri_is_unreserved(c) || (keep_slash && c == '/')) {
            continue;
        }
        buf_append(out, in.p + run, i - run);
        s_encode_byte(out, c, keep_slash);
        run = i + 1;
    }
    buf_append(out, in.p + run, in.n - run);
}

void uri_encode(struct buf *out, struct span in) {
    s_encode(out, in, false);
}

void uri_encode_path(struct buf *out, struct span in) {
    s_encode(out, in, true);
}

/* Reads the escape at in.p[i] ('%' already seen). Returns the byte, or -1 if it is malformed. */
static int s_escape_at(struct span in, size_t i) {
    if (in.n - i < 3) {
        return -1;
    }
    int hi = s_hex_value((unsigned char) in.p[i + 1]);
    int lo = s_hex_value((unsigned char) in.p[i + 2]);
    if (hi < 0 || lo < 0) {
        return -1;
    }
    return hi << 4 | lo;
}

enum err uri_decode(struct buf *out, struct span in) {
    for (size_t i = 0; i < in.n; i++) {
        if (in.p[i] != '%') {
            buf_append_char(out, in.p[i]);
            continue;
        }
        int c = s_escape_at(in, i);
        ENSURE(c >= 0, ERR_PARSE, "malformed percent-escape at offset %zu", i);
        buf_append_char(out, (char) c);
        i += 2;
    }
    return buf_status(out);
}

enum err uri_reencode(struct buf *out, struct span in) {
    for (size_t i = 0; i < in.n; i++) {
        unsigned char c = (unsigned char) in.p[i];
        if (c == '%') {
            int d = s_escape_at(in, i);
            ENSURE(d >= 0, ERR_PARSE, "malformed percent-escape at offset %zu", i);
            c = (unsigned char) d;
            i += 2;
        }
        s_encode_byte(out, c, false);
    }
    return buf_status(out);
}

/* complexity: RFC 3986 §5.2.4 remove_dot_segments, one branch per rule of the RFC, in its order */
void uri_path_normalize(struct buf *out, struct span path) {
    if (path.n == 0) {
        buf_append_char(out, '/');
        return;
    }
    /*
     * Segments are written straight to `out`; ".." pops by truncating back to the previous '/'. `base` is where
     * this path starts in `out`, so ".." never pops what the caller had appended before.
     */
    size_t base = out->len;
    size_t segments = 0;
    bool leading = path.p[0] == '/';
    size_t i = 0;
    while (i <= path.n) {
        size_t j = i;
        while (j < path.n && path.p[j] != '/') {
            j++;
        }
        struct span seg = { path.p + i, j - i };
        if (seg.n == 0 || span_eq_cstr(seg, ".")) {
            /* dropped */
        } else if (span_eq_cstr(seg, "..")) {
            if (segments > 0) {
                size_t k = out->len;
                while (k > base && out->data[k - 1] != '/') {
                    k--;
                }
                /* Also drop the separator in front of the popped segment. */
                buf_truncate(out, k > base ? k - 1 : base);
                segments--;
            }
        } else {
            if (segments > 0 || leading) {
                buf_append_char(out, '/');
            }
            buf_append_span(out, seg);
            segments++;
        }
        i = j + 1;
    }
    if (buf_status(out) != ERR_OK) {
        return;
    }
    if (segments == 0) {
        /* Everything popped: only the leading slash survives (botocore: first + '' + ''). */
        buf_truncate(out, base);
        if (leading) {
            buf_append_char(out, '/');
        }
        return;
    }
    if (path.p[path.n - 1] == '/') {
        buf_append_char(out, '/');
    }
}

static bool s_url_byte_ok(unsigned char c) {
    return c > 0x20 && c < 0x7f;
}

static bool s_scheme_char(unsigned char c, bool first) {
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (first) {
        return alpha;
    }
    return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* complexity: RFC 3986 §3 components (scheme, authority, port, path, query) checked in the order they appear */
enum err uri_split(struct span url, struct uri_parts *out) {
    memset(out, 0, sizeof(*out));
    ENSURE(url.n <= URI_MAX_URL_BYTES, ERR_LIMIT, "URL longer than %zu bytes", URI_MAX_URL_BYTES);
    for (size_t i = 0; i < url.n; i++) {
        ENSURE(
          s_url_byte_ok((unsigned char) url.p[i]),
          ERR_PARSE,
          "URL byte 0x%02x at offset %zu must be encoded",
          (unsigned) (unsigned char) url.p[i],
          i);
    }
    size_t i = 0;
    while (i < url.n && s_scheme_char((unsigned char) url.p[i], i == 0)) {
        i++;
    }
    ENSURE(i > 0 && url.n - i >= 3 && memcmp(url.p + i, "://", 3) == 0, ERR_PARSE, "URL has no scheme://");
    out->scheme = (struct span){ url.p, i };
    i += 3;

    size_t auth_start = i;
    while (i < url.n && url.p[i] != '/' && url.p[i] != '?' && url.p[i] != '#') {
        i++;
    }
    struct span authority = { url.p + auth_start, i - auth_start };
    ENSURE(span_index(authority, '@') < 0, ERR_INVALID, "URL carries user information");
    struct span hostport = authority;
    size_t host_end;
    if (hostport.n > 0 && hostport.p[0] == '[') {
        long close = span_index(hostport, ']');
        ENSURE(close > 1, ERR_PARSE, "URL has an unbalanced IPv6 bracket");
        host_end = (size_t) close + 1;
        ENSURE(host_end == hostport.n || hostport.p[host_end] == ':', ERR_PARSE, "URL has junk after ']'");
    } else {
        long colon = span_index(hostport, ':');
        host_end = colon < 0 ? hostport.n : (size_t) colon;
        ENSURE(span_index(span_sub(hostport, 0, host_end), ']') < 0, ERR_PARSE, "URL has an unbalanced ']'");
    }
    out->host = span_sub(hostport, 0, host_end);
    ENSURE(out->host.n > 0, ERR_PARSE, "URL has an empty host");
    if (host_end < hostport.n) {
        out->port = span_sub(hostport, host_end + 1, hostport.n - host_end - 1);
        uint64_t port = 0;
        ENSURE(span_to_u64(out->port, 65535, &port) == ERR_OK && port > 0, ERR_PARSE, "URL port is not 1-65535");
    }

    size_t path_start = i;
    while (i < url.n && url.p[i] != '?' && url.p[i] != '#') {
        i++;
    }
    out->path = (struct span){ url.p + path_start, i - path_start };
    if (i < url.n && url.p[i] == '?') {
        size_t q = ++i;
        while (i < url.n && url.p[i] != '#') {
            i++;
        }
        out->query = (struct span){ url.p + q, i - q };
    }
    return ERR_OK;
}

void uri_append_host_header(struct buf *out, const struct uri_parts *u) {
    for (size_t i = 0; i < u->host.n; i++) {
        char c = u->host.p[i];
        buf_append_char(out, (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c);
    }
    if (u->port.n == 0) {
        return;
    }
    bool is_default = (span_eq_nocase(u->scheme, SPAN_LIT("http")) && span_eq_cstr(u->port, "80")) ||
                      (span_eq_nocase(u->scheme, SPAN_LIT("https")) && span_eq_cstr(u->port, "443"));
    if (!is_default) {
        buf_append_char(out, ':');
        buf_append_span(out, u->port);
    }
}

enum err uri_query_split(struct span query, struct uri_param *params, size_t max, size_t *count) {
    *count = 0;
    struct span rest = query;
    while (rest.n > 0) {
        struct span piece, tail;
        span_split(rest, '&', &piece, &tail);
        rest = tail;
        if (piece.n == 0) {
            continue;
        }
        ENSURE(*count < max, ERR_LIMIT, "query string has more than %zu parameters", max);
        struct uri_param *p = &params[(*count)++];
        span_split(piece, '=', &p->key, &p->value);
    }
    return ERR_OK;
}

/* An encoded parameter inside a scratch buffer: offsets, because the buffer may move while it grows. */
struct s_encoded_param {
    size_t key_off, key_len, value_off, value_len;
};

struct s_sorted_param {
    struct span key;
    struct span value;
};

static int s_param_cmp(const void *a, const void *b) {
    const struct s_sorted_param *x = a;
    const struct s_sorted_param *y = b;
    int c = span_cmp(x->key, y->key);
    return c != 0 ? c : span_cmp(x->value, y->value);
}

/*
 * Splits and re-encodes every parameter of `query` into `scratch`, and fills `sorted` with spans into it.
 * The spans are taken only once the scratch buffer is complete, so they stay valid until it is freed.
 */
static enum err s_encode_params(struct span query, struct buf *scratch, struct s_sorted_param *sorted, size_t *n) {
    ENSURE(query.n <= URI_MAX_QUERY_BYTES, ERR_LIMIT, "query string longer than %zu bytes", URI_MAX_QUERY_BYTES);
    struct uri_param raw[URI_MAX_QUERY_PARAMS];
    struct s_encoded_param enc[URI_MAX_QUERY_PARAMS];
    TRY(uri_query_split(query, raw, URI_MAX_QUERY_PARAMS, n));
    for (size_t i = 0; i < *n; i++) {
        enc[i].key_off = scratch->len;
        TRY(uri_reencode(scratch, raw[i].key));
        enc[i].key_len = scratch->len - enc[i].key_off;
        enc[i].value_off = scratch->len;
        TRY(uri_reencode(scratch, raw[i].value));
        enc[i].value_len = scratch->len - enc[i].value_off;
    }
    const char *base = buf_cstr(scratch); /* never NULL, even when every name and value is empty */
    for (size_t i = 0; i < *n; i++) {
        sorted[i].key = (struct span){ base + enc[i].key_off, enc[i].key_len };
        sorted[i].value = (struct span){ base + enc[i].value_off, enc[i].value_len };
    }
    return ERR_OK;
}

static void s_join_params(struct buf *out, const struct s_sorted_param *params, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            buf_append_char(out, '&');
        }
        buf_append_span(out, params[i].key);
        buf_append_char(out, '=');
        buf_append_span(out, params[i].value);
    }
}

static enum err s_query_transform(struct buf *out, struct span query, bool sort) {
    struct s_sorted_param params[URI_MAX_QUERY_PARAMS];
    size_t n = 0;
    struct buf scratch;
    /* Re-encoding at most triples a byte. */
    buf_init(&scratch, 3 * URI_MAX_QUERY_BYTES);
    enum err e = s_encode_params(query, &scratch, params, &n);
    if (e == ERR_OK) {
        if (sort && n > 1) {
            qsort(params, n, sizeof(params[0]), s_param_cmp);
        }
        s_join_params(out, params, n);
        e = buf_status(out);
    }
    buf_free(&scratch);
    return e;
}

enum err uri_canonical_query(struct buf *out, struct span query) {
    return s_query_transform(out, query, true);
}

enum err uri_query_reencode(struct buf *out, struct span query) {
    return s_query_transform(out, query, false);
}

void uri_form_add(struct buf *out, struct span key, struct span value) {
    if (out->len > 0) {
        buf_append_char(out, '&');
    }
    uri_encode(out, key);
    buf_append_char(out, '=');
    uri_encode(out, value);
}
