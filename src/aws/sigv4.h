/*
 * sigv4.h - AWS Signature Version 4: Authorization-header signing and query-string presigning.
 *
 * The rules are AWS's "Create a signed AWS API request" (IAM User Guide, reference_sigv-create-signed-request)
 * as botocore implements them; our output is checked byte for byte against AWS's SigV4 test suite and against
 * botocore's signers (tests/integration/test_sigv4_*.py). The request layer calls sigv4_sign() once per attempt,
 * with the time of that attempt:
 *
 *   struct sigv4_header hdrs[] = { { SPAN_LIT("Host"), host }, { SPAN_LIT("Content-Type"), form_type } };
 *   struct sigv4_request req = { .method = SPAN_LIT("POST"), .path = SPAN_LIT("/"), .headers = hdrs,
 *                                .header_count = 2, .payload = body };
 *   struct sigv4_options opt = { .region = region, .service = SPAN_LIT("ec2"), .time_unix_s = now_s };
 *   struct sigv4_output out;
 *   sigv4_output_init(&out);
 *   enum err e = sigv4_sign(&req, &creds, &opt, &out);
 *   ... add out.headers[0 .. out.header_count) to the request ...
 *   sigv4_output_free(&out);
 *
 * What is signed:
 *   - the method (uppercase letters only);
 *   - the canonical URI. `path` is the path as sent on the wire, already percent-encoded by the caller. For S3 it
 *     is signed as it is (S3 object keys are encoded once, and "a//b/../c" is a valid key). For every other
 *     service it is normalised (uri_path_normalize: dot segments removed, empty segments dropped) and then
 *     percent-encoded once more, segment by segment - so a path segment is encoded twice in all, as AWS
 *     requires ("Each path segment must be URI-encoded twice", except for S3);
 *   - the canonical query string of `query` (codec/uri.h uri_canonical_query);
 *   - every header of `headers`, names lowercased, values trimmed with inner whitespace runs (line folds
 *     included) collapsed to one space, repeated names combined with ',' in the order given, sorted by name.
 *     A Host header is required. Headers the signer owns are dropped from the input and written by the signer:
 *     Authorization, X-Amz-Date, X-Amz-Security-Token when a session token is given, and X-Amz-Content-SHA256
 *     when S3 headers are signed. Like botocore, Expect, User-Agent and X-Amzn-Trace-Id are never signed
 *     (proxies rewrite them);
 *   - the payload hash: `payload_hash` when given (64 lowercase hex digits, or "UNSIGNED-PAYLOAD"), else the
 *     SHA-256 of `payload` - except for S3 presigns, which always use "UNSIGNED-PAYLOAD".
 *
 * Header signing (presign_expires_s == 0) yields the headers to add, in this order: X-Amz-Date, then
 * X-Amz-Security-Token (when there is a session token), then X-Amz-Content-SHA256 (S3 only), then Authorization.
 *
 * Presigning (presign_expires_s > 0) yields `query`, the whole query string to send: the parameters of the
 * request's query re-encoded in their order, then X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Security-Token (when there is one), all of them signed (part of the canonical query
 * string), then X-Amz-Signature, which is not. No header is added. This is also how EC2 CopySnapshot's
 * PresignedUrl is made: a GET of the Query action to the SOURCE region's endpoint, signed for the source region
 * (botocore handlers.inject_presigned_url_ec2).
 *
 * Secrets: the secret key is read only to derive the signing key; every derived key and HMAC state is wiped
 * (explicit_bzero) before sigv4_sign returns, and nothing here logs. The session token is a credential too: it
 * appears in the canonical request, the presigned query and the X-Amz-Security-Token header (a span into the
 * caller's credentials), and sigv4_output_free wipes the buffers that held it.
 *
 * Time is injected (time_unix_s); nothing here reads a clock.
 */
#ifndef SV_AWS_SIGV4_H
#define SV_AWS_SIGV4_H

#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "base/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Most headers one request may ask to sign. SmartVault's requests carry fewer than ten. */
#define SIGV4_MAX_HEADERS ((size_t) 64)
/* Longest header name. */
#define SIGV4_MAX_HEADER_NAME_BYTES ((size_t) 256)
/* Longest secret access key (AWS's are 40 bytes). */
#define SIGV4_MAX_SECRET_BYTES ((size_t) 256)
/* Largest canonical request; also bounds the presigned query string and the Authorization header. */
#define SIGV4_MAX_CANONICAL_BYTES ((size_t) 256 * 1024)
/* AWS accepts presigned URLs valid for at most seven days. */
#define SIGV4_MAX_EXPIRES_S ((uint32_t) 604800)
/* Hex of a SHA-256 digest, without the terminator. */
#define SIGV4_HEX_LEN 64

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
    struct span name;
    struct span value;
};

/* Credentials as views: the caller keeps them in base/secret.h holders. session_token is empty when absent. */
struct sigv4_credentials {
    struct span access_key_id;
    struct span secret_access_key;
    struct span session_token;
};

struct sigv4_request {
    struct span method;
    struct span path;  /* as sent on the wire, percent-encoded; empty means "/" */
    struct span query; /* the raw query string without '?', possibly empty */
    const struct sigv4_header *headers;
    size_t header_count;
    struct span payload;
    struct span payload_hash; /* optional precomputed hash; when set, payload is not read */
};

struct sigv4_options {
    struct span region;         /* the signing region, e.g. "us-east-1" */
    struct span service;        /* the signing name, e.g. "ec2", "monitoring", "s3" */
    int64_t time_unix_s;        /* the signing time */
    bool s3;                    /* S3 rules: path signed as given, X-Amz-Content-SHA256, presign UNSIGNED-PAYLOAD */
    uint32_t presign_expires_s; /* 0: Authorization header; 1..SIGV4_MAX_EXPIRES_S: presigned query string */
};

/* Headers sigv4_sign may add: X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256, Authorization. */
#define SIGV4_MAX_OUT_HEADERS 4

/*
 * What sigv4_sign produces. Header values point into this struct (or, for the token, into the caller's
 * credentials), so they are valid until sigv4_output_free (and while the credentials are).
 */
struct sigv4_output {
    struct sigv4_header headers[SIGV4_MAX_OUT_HEADERS]; /* header signing: add these, in order */
    size_t header_count;
    struct buf query; /* presigning: the query string to send (empty when header signing) */

    /* For debugging and tests. */
    struct buf canonical_request;
    struct buf string_to_sign;
    char signature[SIGV4_HEX_LEN + 1];

    /* Storage behind the header values. */
    char amz_date[TIME_AMZ_LEN + 1];
    char payload_hash[SIGV4_HEX_LEN + 1];
    struct buf authorization;
};

void sigv4_output_init(struct sigv4_output *out);
/* Frees and wipes everything in `out`; it may be initialised again and reused for the next attempt. */
void sigv4_output_free(struct sigv4_output *out);

/*
 * Signs `req` (header signing or presigning, see above). ERR_INVALID for a missing or malformed input (no Host
 * header, empty region, service or key, a method that is not uppercase letters, a bad payload_hash, an expiry
 * out of range); ERR_PARSE for a malformed escape in the query; ERR_LIMIT when a named maximum above is
 * exceeded. On error `out` holds nothing useful but must still be freed.
 */
enum err sigv4_sign(
  const struct sigv4_request *req,
  const struct sigv4_credentials *creds,
  const struct sigv4_options *opt,
  struct sigv4_output *out) SV_MUST_CHECK;

/*
 * The SigV4 signing key: HMAC chain kDate = HMAC("AWS4" + secret, yyyymmdd), kRegion, kService,
 * kSigning = HMAC(kService, "aws4_request"). Exposed for known-answer tests. The caller wipes `key`.
 */
enum err sigv4_signing_key(
  struct span secret_access_key,
  struct span date_yyyymmdd,
  struct span region,
  struct span service,
  uint8_t key[32]) SV_MUST_CHECK;

/* Lowercase hex of SHA-256(data) - the payload hash of S3 requests and of the canonical request. */
void sigv4_sha256_hex(struct span data, char out[SIGV4_HEX_LEN + 1]);

/*
 * Developer support: a request in the test suite's ".req" format, parsed leniently. The request line is
 * "METHOD target HTTP/x.y" where the target may contain spaces ("GET /example space/ HTTP/1.1") and raw UTF-8;
 * it is split at the first '?' into path and query. Header lines are "Name:value"; a line starting with a space
 * or tab continues the previous header (its value span then runs over the line break, which canonicalisation
 * folds into one space). The headers end at an empty line or at the end of the text; what follows the empty line
 * is the body. Lines end in "\n" or "\r\n". Spans point into `raw`.
 */
struct sigv4_raw_request {
    struct span method;
    struct span path;
    struct span query;
    struct span body;
    struct sigv4_header headers[SIGV4_MAX_HEADERS];
    size_t header_count;
};

/* True for a payload hash sigv4_sign accepts: 64 lowercase hex digits or SIGV4_UNSIGNED_PAYLOAD. */
bool sigv4_is_payload_hash(struct span s);

/* ERR_PARSE for a missing request line or a header line without ':'; ERR_LIMIT beyond SIGV4_MAX_HEADERS. */
enum err sigv4_raw_request_parse(struct span raw, struct sigv4_raw_request *out) SV_MUST_CHECK;

#endif
