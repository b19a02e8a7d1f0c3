/*
 * sigv4.c - AWS Signature Version 4 signing and presigning (the `debug sign` command that drives it from outside
 * is src/debug/sign.c).
 *
 * sigv4_sign() is one straight pipeline - check inputs, hash the payload, canonical headers, canonical query,
 * canonical request, string to sign, signing key, signature, output - over a scratch struct that the one
 * cleanup block in sigv4_sign() wipes and frees, whichever step failed. SHA-256 and HMAC come from BearSSL.
 *
 * This module does not choose credentials, regions or endpoints (aws/creds, aws/region do), does not send
 * anything, and never reads the clock: the caller passes the time of each attempt. It implements SigV4 only:
 * no SigV4a, no chunked (streaming) payload signing, no legacy Date-header signing.
 *
 * Where AWS's text leaves a choice, botocore's behaviour is followed, because our output is compared to it byte
 * for byte: path normalisation (codec/uri.c), the headers never signed, the order of the presigned parameters.
 */
#include "aws/sigv4.h"

#include "codec/uri.h"

#include <bearssl.h>

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------------------------------------- */
/* Hashing */

static void s_hex(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void sigv4_sha256_hex(struct span data, char out[SIGV4_HEX_LEN + 1]) {
    br_sha256_context ctx;
    uint8_t digest[br_sha256_SIZE];
    br_sha256_init(&ctx);
    br_sha256_update(&ctx, data.p, data.n);
    br_sha256_out(&ctx, digest);
    s_hex(digest, sizeof(digest), out);
}

/* out = HMAC-SHA256(key, msg). Wipes BearSSL's key-derived state before returning. */
static void s_hmac(const void *key, size_t key_len, struct span msg, uint8_t out[br_sha256_SIZE]) {
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, key, key_len);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, msg.p, msg.n);
    br_hmac_out(&hc, out);
    explicit_bzero(&kc, sizeof(kc));
    explicit_bzero(&hc, sizeof(hc));
}

enum err sigv4_signing_key(
  struct span secret_access_key,
  struct span date_yyyymmdd,
  struct span region,
  struct span service,
  uint8_t key[32]) {
    ENSURE(
      secret_access_key.n <= SIGV4_MAX_SECRET_BYTES,
      ERR_LIMIT,
      "secret access key longer than %zu bytes",
      SIGV4_MAX_SECRET_BYTES);
    uint8_t k_secret[4 + SIGV4_MAX_SECRET_BYTES];
    uint8_t k_date[br_sha256_SIZE], k_region[br_sha256_SIZE], k_service[br_sha256_SIZE];
    memcpy(k_secret, "AWS4", 4);
    if (secret_access_key.n > 0) {
        memcpy(k_secret + 4, secret_access_key.p, secret_access_key.n);
    }
    s_hmac(k_secret, 4 + secret_access_key.n, date_yyyymmdd, k_date);
    s_hmac(k_date, sizeof(k_date), region, k_region);
    s_hmac(k_region, sizeof(k_region), service, k_service);
    s_hmac(k_service, sizeof(k_service), SPAN_LIT("aws4_request"), key);
    explicit_bzero(k_secret, sizeof(k_secret));
    explicit_bzero(k_date, sizeof(k_date));
    explicit_bzero(k_region, sizeof(k_region));
    explicit_bzero(k_service, sizeof(k_service));
    return ERR_OK;
}

/* ----------------------------------------------------------------------------------------------------------- */
/* Output */

void sigv4_output_init(struct sigv4_output *out) {
    memset(out, 0, sizeof(*out));
    buf_init(&out->query, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&out->canonical_request, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&out->string_to_sign, BUF_MAX_SMALL);
    buf_init(&out->authorization, BUF_MAX_SMALL);
}

void sigv4_output_free(struct sigv4_output *out) {
    /* The query and the canonical request may hold the session token. */
    buf_wipe_free(&out->query);
    buf_wipe_free(&out->canonical_request);
    buf_free(&out->string_to_sign);
    buf_free(&out->authorization);
    explicit_bzero(out, sizeof(*out));
}

/* ----------------------------------------------------------------------------------------------------------- */
/* Scratch state of one signing, wiped and freed in one place */

struct s_header {
    struct span name; /* as given; lowercased when written */
    struct span value;
    size_t order; /* position in the input, so that values of a repeated name keep their order */
};

struct s_scratch {
    struct s_header headers[SIGV4_MAX_HEADERS + SIGV4_MAX_OUT_HEADERS];
    size_t header_count;
    struct buf scope;             /* yyyymmdd/region/service/aws4_request */
    struct buf signed_headers;    /* host;x-amz-date */
    struct buf canonical_headers; /* name:value\n ... (may hold the token) */
    struct buf auth_params;       /* presign: X-Amz-Algorithm=...&... (may hold the token) */
    struct buf signed_query;      /* presign: request query + auth params (may hold the token) */
    struct buf canonical_query;   /* (may hold the token) */
    struct buf path;              /* normalised path */
    uint8_t key[br_sha256_SIZE];
    uint8_t mac[br_sha256_SIZE];
};

static void s_scratch_init(struct s_scratch *s) {
    memset(s, 0, sizeof(*s));
    buf_init(&s->scope, BUF_MAX_SMALL);
    buf_init(&s->signed_headers, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&s->canonical_headers, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&s->auth_params, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&s->signed_query, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&s->canonical_query, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&s->path, SIGV4_MAX_CANONICAL_BYTES);
}

static void s_scratch_free(struct s_scratch *s) {
    buf_free(&s->scope);
    buf_free(&s->signed_headers);
    buf_wipe_free(&s->canonical_headers);
    buf_wipe_free(&s->auth_params);
    buf_wipe_free(&s->signed_query);
    buf_wipe_free(&s->canonical_query);
    buf_free(&s->path);
    explicit_bzero(s, sizeof(*s));
}

/* ----------------------------------------------------------------------------------------------------------- */
/* Small predicates */

static char s_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static bool s_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Scope parts and access key ids: letters, digits, '-', '_', '.' - nothing that could break the scope syntax. */
static bool s_is_scope_token(struct span s) {
    if (s.n == 0 || s.n > 128) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/*
 * An RFC 9110 token: visible ASCII except separators. This also keeps ';' (the SignedHeaders separator), ':' and
 * whitespace out of a name, which would otherwise make two different header sets sign alike.
 */
static bool s_is_header_name(struct span s) {
    if (s.n == 0 || s.n > SIGV4_MAX_HEADER_NAME_BYTES) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char) s.p[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL) {
            return false;
        }
    }
    return true;
}

static bool s_is_lower_hex64(struct span s) {
    if (s.n != SIGV4_HEX_LEN) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool sigv4_is_payload_hash(struct span s) {
    return s_is_lower_hex64(s) || span_eq_cstr(s, SIGV4_UNSIGNED_PAYLOAD);
}

static bool s_is_method(struct span s) {
    if (s.n == 0 || s.n > 16) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < 'A' || s.p[i] > 'Z') {
            return false;
        }
    }
    return true;
}

static int s_name_cmp(struct span a, struct span b) {
    size_t n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char) s_lower(a.p[i]);
        unsigned char y = (unsigned char) s_lower(b.p[i]);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return a.n < b.n ? -1 : (a.n > b.n ? 1 : 0);
}

static int s_header_cmp(const void *a, const void *b) {
    const struct s_header *x = a;
    const struct s_header *y = b;
    int c = s_name_cmp(x->name, y->name);
    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

static void s_append_lower(struct buf *b, struct span s) {
    for (size_t i = 0; i < s.n; i++) {
        buf_append_char(b, s_lower(s.p[i]));
    }
}

/*
 * "Trimall": "remove excess white space before and after values, and convert sequential spaces to a single
 * space" - where white space includes the line breaks of a folded (multi-line) header value.
 */
static void s_append_trimall(struct buf *b, struct span v) {
    bool pending_space = false;
    bool any = false;
    for (size_t i = 0; i < v.n; i++) {
        if (s_is_space(v.p[i])) {
            pending_space = any;
            continue;
        }
        if (pending_space) {
            buf_append_char(b, ' ');
            pending_space = false;
        }
        buf_append_char(b, v.p[i]);
        any = true;
    }
}

/* ----------------------------------------------------------------------------------------------------------- */
/* The pipeline */

static enum err s_check_inputs(
  const struct sigv4_request *req,
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt) {
    ENSURE(s_is_method(req->method), ERR_INVALID, "sigv4: the method must be uppercase letters");
    ENSURE(s_is_scope_token(opt->region), ERR_INVALID, "sigv4: bad or empty region");
    ENSURE(s_is_scope_token(opt->service), ERR_INVALID, "sigv4: bad or empty service name");
    ENSURE(s_is_scope_token(creds->access_key_id), ERR_INVALID, "sigv4: bad or empty access key id");
    ENSURE(creds->secret_access_key.n > 0, ERR_INVALID, "sigv4: empty secret access key");
    ENSURE(
      opt->presign_expires_s <= SIGV4_MAX_EXPIRES_S,
      ERR_INVALID,
      "sigv4: presigned URLs expire after at most %u seconds",
      (unsigned) SIGV4_MAX_EXPIRES_S);
    ENSURE(opt->time_unix_s >= 0 && opt->time_unix_s < INT64_C(253402300800), ERR_INVALID, "sigv4: time out of range");
    ENSURE(
      req->header_count <= SIGV4_MAX_HEADERS, ERR_LIMIT, "sigv4: more than %zu headers to sign", SIGV4_MAX_HEADERS);
    ENSURE(req->header_count == 0 || req->headers != NULL, ERR_INVALID, "sigv4: header count without headers");
    if (req->payload_hash.n > 0) {
        ENSURE(
          sigv4_is_payload_hash(req->payload_hash),
          ERR_INVALID,
          "sigv4: payload hash must be 64 lowercase hex digits or " SIGV4_UNSIGNED_PAYLOAD);
    }
    return ERR_OK;
}

static void s_payload_hash(const struct sigv4_request *req, const struct sigv4_options *opt, struct sigv4_output *out) {
    /* S3 presigns: "you don't know anything about the payload. Instead, you use a constant string". */
    if (opt->s3 && opt->presign_expires_s > 0) {
        memcpy(out->payload_hash, SIGV4_UNSIGNED_PAYLOAD, sizeof(SIGV4_UNSIGNED_PAYLOAD));
    } else if (req->payload_hash.n > 0) {
        memcpy(out->payload_hash, req->payload_hash.p, req->payload_hash.n);
        out->payload_hash[req->payload_hash.n] = '\0';
    } else {
        sigv4_sha256_hex(req->payload, out->payload_hash);
    }
}

/* Is this input header one the signer writes itself, or one that is never signed? */
static bool s_is_dropped(struct span name, const struct sigv4_credentials *creds, const struct sigv4_options *opt) {
    static const char *const never_signed[] = {
        "authorization", "x-amz-date", "expect", "user-agent", "x-amzn-trace-id"
    };
    for (size_t i = 0; i < sizeof(never_signed) / sizeof(never_signed[0]); i++) {
        if (span_eq_nocase(name, span_from_cstr(never_signed[i]))) {
            return true;
        }
    }
    if (creds->session_token.n > 0 && span_eq_nocase(name, SPAN_LIT("x-amz-security-token"))) {
        return true;
    }
    return opt->s3 && opt->presign_expires_s == 0 && span_eq_nocase(name, SPAN_LIT("x-amz-content-sha256"));
}

static void s_add_header(struct s_scratch *s, struct span name, struct span value) {
    struct s_header *h = &s->headers[s->header_count];
    h->name = name;
    h->value = value;
    h->order = s->header_count++;
}

static enum err s_collect_headers(
  const struct sigv4_request *req,
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  const struct sigv4_output *out,
  struct s_scratch *s) {
    bool have_host = false;
    for (size_t i = 0; i < req->header_count; i++) {
        const struct sigv4_header *h = &req->headers[i];
        ENSURE(s_is_header_name(h->name), ERR_INVALID, "sigv4: header %zu has a malformed name", i);
        if (s_is_dropped(h->name, creds, opt)) {
            continue;
        }
        have_host = have_host || span_eq_nocase(h->name, SPAN_LIT("host"));
        s_add_header(s, h->name, h->value);
    }
    ENSURE(have_host, ERR_INVALID, "sigv4: no Host header to sign");
    if (opt->presign_expires_s == 0) {
        s_add_header(s, SPAN_LIT("x-amz-date"), span_from_cstr(out->amz_date));
        if (creds->session_token.n > 0) {
            s_add_header(s, SPAN_LIT("x-amz-security-token"), creds->session_token);
        }
        if (opt->s3) {
            s_add_header(s, SPAN_LIT("x-amz-content-sha256"), span_from_cstr(out->payload_hash));
        }
    }
    qsort(s->headers, s->header_count, sizeof(s->headers[0]), s_header_cmp);
    return ERR_OK;
}

/*
 * "CanonicalHeaders: Lowercase(<HeaderName>)+':'+Trim(<value>)+'\n'" sorted by name, values of a repeated name
 * joined with ','; "SignedHeaders: the lowercase names, sorted, separated by ';'".
 */
static enum err s_canonical_headers(struct s_scratch *s) {
    for (size_t i = 0; i < s->header_count; i++) {
        const struct s_header *h = &s->headers[i];
        bool first = i == 0 || s_name_cmp(h->name, s->headers[i - 1].name) != 0;
        bool last = i + 1 == s->header_count || s_name_cmp(h->name, s->headers[i + 1].name) != 0;
        if (first) {
            if (s->signed_headers.len > 0) {
                buf_append_char(&s->signed_headers, ';');
            }
            s_append_lower(&s->signed_headers, h->name);
            s_append_lower(&s->canonical_headers, h->name);
            buf_append_char(&s->canonical_headers, ':');
        } else {
            buf_append_char(&s->canonical_headers, ',');
        }
        s_append_trimall(&s->canonical_headers, h->value);
        if (last) {
            buf_append_char(&s->canonical_headers, '\n');
        }
    }
    TRY(buf_status(&s->signed_headers));
    return buf_status(&s->canonical_headers);
}

/* Presigning: the X-Amz-* parameters that are signed, in botocore's order. */
static enum err s_presign_params(
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  const struct sigv4_output *out,
  struct s_scratch *s) {
    struct buf credential;
    char expires[16];
    buf_init(&credential, BUF_MAX_SMALL);
    buf_append_span(&credential, creds->access_key_id);
    buf_append_char(&credential, '/');
    buf_append_span(&credential, buf_span(&s->scope));
    int n = snprintf(expires, sizeof(expires), "%u", (unsigned) opt->presign_expires_s);
    struct buf *p = &s->auth_params;
    uri_form_add(p, SPAN_LIT("X-Amz-Algorithm"), SPAN_LIT(SIGV4_ALGORITHM));
    uri_form_add(p, SPAN_LIT("X-Amz-Credential"), buf_span(&credential));
    uri_form_add(p, SPAN_LIT("X-Amz-Date"), span_from_cstr(out->amz_date));
    uri_form_add(p, SPAN_LIT("X-Amz-Expires"), (struct span){ expires, (size_t) n });
    uri_form_add(p, SPAN_LIT("X-Amz-SignedHeaders"), buf_span(&s->signed_headers));
    if (creds->session_token.n > 0) {
        uri_form_add(p, SPAN_LIT("X-Amz-Security-Token"), creds->session_token);
    }
    enum err e = buf_status(&credential);
    buf_free(&credential);
    TRY(e);
    return buf_status(p);
}

static enum err
s_canonical_query(const struct sigv4_request *req, const struct sigv4_options *opt, struct s_scratch *s) {
    if (opt->presign_expires_s == 0) {
        return uri_canonical_query(&s->canonical_query, req->query);
    }
    buf_append_span(&s->signed_query, req->query);
    if (req->query.n > 0) {
        buf_append_char(&s->signed_query, '&');
    }
    buf_append_span(&s->signed_query, buf_span(&s->auth_params));
    TRY(buf_status(&s->signed_query));
    return uri_canonical_query(&s->canonical_query, buf_span(&s->signed_query));
}

/*
 * CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
 * HashedPayload, where CanonicalHeaders already ends in \n.
 */
static enum err s_canonical_request(
  const struct sigv4_request *req,
  const struct sigv4_options *opt,
  struct s_scratch *s,
  struct sigv4_output *out) {
    struct buf *c = &out->canonical_request;
    buf_append_span(c, req->method);
    buf_append_char(c, '\n');
    if (req->path.n == 0) {
        buf_append_char(c, '/');
    } else if (opt->s3) {
        /* "Do not normalize URI paths for requests to Amazon S3", and S3 keys are encoded only once. */
        buf_append_span(c, req->path);
    } else {
        uri_path_normalize(&s->path, req->path);
        TRY(buf_status(&s->path));
        uri_encode_path(c, buf_span(&s->path));
    }
    buf_append_char(c, '\n');
    buf_append_span(c, buf_span(&s->canonical_query));
    buf_append_char(c, '\n');
    buf_append_span(c, buf_span(&s->canonical_headers));
    buf_append_char(c, '\n');
    buf_append_span(c, buf_span(&s->signed_headers));
    buf_append_char(c, '\n');
    buf_append_cstr(c, out->payload_hash);
    return buf_status(c);
}

/* StringToSign = Algorithm \n RequestDateTime \n CredentialScope \n HexEncode(Hash(CanonicalRequest)) */
static enum err s_string_to_sign(struct s_scratch *s, struct sigv4_output *out) {
    char hash[SIGV4_HEX_LEN + 1];
    sigv4_sha256_hex(buf_span(&out->canonical_request), hash);
    struct buf *t = &out->string_to_sign;
    buf_append_cstr(t, SIGV4_ALGORITHM "\n");
    buf_append_cstr(t, out->amz_date);
    buf_append_char(t, '\n');
    buf_append_span(t, buf_span(&s->scope));
    buf_append_char(t, '\n');
    buf_append_cstr(t, hash);
    return buf_status(t);
}

static enum err s_finish_headers(
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  struct s_scratch *s,
  struct sigv4_output *out) {
    struct buf *a = &out->authorization;
    buf_append_cstr(a, SIGV4_ALGORITHM " Credential=");
    buf_append_span(a, creds->access_key_id);
    buf_append_char(a, '/');
    buf_append_span(a, buf_span(&s->scope));
    buf_append_cstr(a, ", SignedHeaders=");
    buf_append_span(a, buf_span(&s->signed_headers));
    buf_append_cstr(a, ", Signature=");
    buf_append_cstr(a, out->signature);
    TRY(buf_status(a));
    size_t n = 0;
    out->headers[n++] = (struct sigv4_header){ SPAN_LIT("X-Amz-Date"), span_from_cstr(out->amz_date) };
    if (creds->session_token.n > 0) {
        out->headers[n++] = (struct sigv4_header){ SPAN_LIT("X-Amz-Security-Token"), creds->session_token };
    }
    if (opt->s3) {
        out->headers[n++] =
          (struct sigv4_header){ SPAN_LIT("X-Amz-Content-SHA256"), span_from_cstr(out->payload_hash) };
    }
    out->headers[n++] = (struct sigv4_header){ SPAN_LIT("Authorization"), buf_span(a) };
    out->header_count = n;
    return ERR_OK;
}

/* The query to send: the request's own parameters (re-encoded, in order), the signed X-Amz-*, the signature. */
static enum err s_finish_query(const struct sigv4_request *req, struct s_scratch *s, struct sigv4_output *out) {
    TRY(uri_query_reencode(&out->query, req->query));
    if (out->query.len > 0) {
        buf_append_char(&out->query, '&');
    }
    buf_append_span(&out->query, buf_span(&s->auth_params));
    buf_append_cstr(&out->query, "&X-Amz-Signature=");
    buf_append_cstr(&out->query, out->signature);
    return buf_status(&out->query);
}

static enum err s_sign(
  const struct sigv4_request *req,
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  struct sigv4_output *out,
  struct s_scratch *s) {
    TRY(s_check_inputs(req, creds, opt));

    time_format_amz(opt->time_unix_s, out->amz_date);
    struct span date = { out->amz_date, 8 };
    buf_append_span(&s->scope, date);
    buf_append_char(&s->scope, '/');
    buf_append_span(&s->scope, opt->region);
    buf_append_char(&s->scope, '/');
    buf_append_span(&s->scope, opt->service);
    buf_append_cstr(&s->scope, "/aws4_request");
    TRY(buf_status(&s->scope));

    s_payload_hash(req, opt, out);
    TRY(s_collect_headers(req, creds, opt, out, s));
    TRY(s_canonical_headers(s));
    if (opt->presign_expires_s > 0) {
        TRY(s_presign_params(creds, opt, out, s));
    }
    TRY(s_canonical_query(req, opt, s));
    TRY(s_canonical_request(req, opt, s, out));
    TRY(s_string_to_sign(s, out));

    TRY(sigv4_signing_key(creds->secret_access_key, date, opt->region, opt->service, s->key));
    s_hmac(s->key, sizeof(s->key), buf_span(&out->string_to_sign), s->mac);
    s_hex(s->mac, sizeof(s->mac), out->signature);

    if (opt->presign_expires_s > 0) {
        return s_finish_query(req, s, out);
    }
    return s_finish_headers(creds, opt, s, out);
}

enum err sigv4_sign(
  const struct sigv4_request *req,
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  struct sigv4_output *out) {
    struct s_scratch s;
    s_scratch_init(&s);
    enum err e = s_sign(req, creds, opt, out, &s);
    /* The one cleanup block: derived keys, HMAC output and every buffer that held the token are wiped. */
    s_scratch_free(&s);
    if (e != ERR_OK) {
        out->header_count = 0;
    }
    return e;
}

/* ----------------------------------------------------------------------------------------------------------- */
/* The test suite's .req format */

/* The next line of `*rest` (without its "\n" or "\r\n"); false at the end of the text. */
static bool s_next_line(struct span *rest, struct span *line) {
    if (rest->n == 0) {
        return false;
    }
    long nl = span_index(*rest, '\n');
    size_t end = nl < 0 ? rest->n : (size_t) nl;
    *line = span_sub(*rest, 0, end);
    if (line->n > 0 && line->p[line->n - 1] == '\r') {
        line->n--;
    }
    *rest = nl < 0 ? span_sub(*rest, rest->n, 0) : span_sub(*rest, end + 1, rest->n - end - 1);
    return true;
}

enum err sigv4_raw_request_parse(struct span raw, struct sigv4_raw_request *out) {
    memset(out, 0, sizeof(*out));
    struct span rest = raw;
    struct span line;
    ENSURE(s_next_line(&rest, &line), ERR_PARSE, "request: empty");
    /* "METHOD target HTTP/1.1": the target runs from the first space to the last one, spaces included. */
    long first = span_index(line, ' ');
    size_t last = line.n;
    while (last > 0 && line.p[last - 1] != ' ') {
        last--;
    }
    ENSURE(first > 0 && last > (size_t) first + 1, ERR_PARSE, "request: line is not 'METHOD target HTTP/x.y'");
    out->method = span_sub(line, 0, (size_t) first);
    struct span target = span_sub(line, (size_t) first + 1, last - 1 - ((size_t) first + 1));
    if (!span_split(target, '?', &out->path, &out->query)) {
        out->path = target;
        out->query = span_sub(target, target.n, 0);
    }

    struct sigv4_header *prev = NULL;
    while (s_next_line(&rest, &line)) {
        if (line.n == 0) {
            out->body = rest;
            return ERR_OK;
        }
        if (line.p[0] == ' ' || line.p[0] == '\t') {
            ENSURE(prev != NULL, ERR_PARSE, "request: continuation line before any header");
            /* Extend the previous value over the fold; canonicalisation turns the break into one space. */
            prev->value.n = (size_t) (line.p + line.n - prev->value.p);
            continue;
        }
        struct span name, value;
        ENSURE(span_split(line, ':', &name, &value), ERR_PARSE, "request: header line without ':'");
        ENSURE(out->header_count < SIGV4_MAX_HEADERS, ERR_LIMIT, "request: more than %zu headers", SIGV4_MAX_HEADERS);
        prev = &out->headers[out->header_count++];
        prev->name = span_trim(name);
        prev->value = value;
    }
    out->body = span_sub(raw, raw.n, 0);
    return ERR_OK;
}
