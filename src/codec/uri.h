/*
 * uri.h - RFC 3986 percent-encoding the way AWS uses it, URL splitting, query strings and form bodies.
 *
 * AWS's one encoding rule (SigV4, "create-signed-request", and the Query protocol's form bodies):
 *
 *   "URI-encode each byte. UriEncode() must enforce the following rules: URI-encode every byte except the
 *    unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9', '-', '.', '_', and '~'. The space character is a
 *    reserved character and must be encoded as "%20" (and not as "+"). Each URI-encoded byte is formed by a
 *    '%' and the two-digit hexadecimal value of the byte. Letters in the hexadecimal value must be uppercase."
 *
 * Inputs are byte strings (spans; UTF-8 is encoded byte by byte). Outputs go to a bounded `struct buf`: the
 * encoders return nothing and leave any overflow in the buffer's sticky error, so a builder checks buf_status()
 * once at the end; functions that can also meet malformed input return `enum err` (ERR_PARSE for the input,
 * otherwise the buffer's status).
 *
 * Decoding is strict: '%' must be followed by two hex digits (either case), and '+' is a literal plus, never a
 * space (AWS never sends '+' for a space, and treating it as one would change what was signed). Nothing here
 * allocates except through the caller's buffers; nothing keeps a pointer to its input after returning, except
 * the spans of uri_split and uri_query_split, which point into the input.
 */
#ifndef SV_CODEC_URI_H
#define SV_CODEC_URI_H

#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>

/* The longest URL uri_split accepts. Endpoint URLs and presigned URLs are far below it. */
#define URI_MAX_URL_BYTES ((size_t) 16 * 1024)
/* The longest raw query string the query functions accept. */
#define URI_MAX_QUERY_BYTES ((size_t) 64 * 1024)
/* The most parameters in one query string. EC2 Query GETs carry a dozen; presigned URLs five more. */
#define URI_MAX_QUERY_PARAMS ((size_t) 256)

/* True for A-Z a-z 0-9 - . _ ~ (RFC 3986 §2.3). */
bool uri_is_unreserved(unsigned char c);

/* Appends `in` with every byte except the unreserved ones written as %XX (uppercase hex). */
void uri_encode(struct buf *out, struct span in);
/* Same, but '/' is kept: for a path whose segments are encoded one by one. */
void uri_encode_path(struct buf *out, struct span in);

/*
 * Appends the percent-decoding of `in`. ERR_PARSE if a '%' is not followed by two hex digits (nothing is
 * guaranteed about what was appended then); otherwise buf_status(out).
 */
enum err uri_decode(struct buf *out, struct span in) SV_MUST_CHECK;

/*
 * Appends `in` decoded and encoded again with uri_encode: the canonical form of a query name or value that may or
 * may not already be encoded ("%e1%88%b4", "%E1%88%B4" and the raw bytes all give "%E1%88%B4"). ERR_PARSE for a
 * malformed escape; otherwise buf_status(out). Not for paths: a path's "%2F" must stay "%2F".
 */
enum err uri_reencode(struct buf *out, struct span in) SV_MUST_CHECK;

/*
 * Appends `path` with dot segments removed (RFC 3986 §5.2.4) and empty segments dropped, which is what AWS
 * services other than S3 expect before signing: "//a/./b/../c//" gives "/a/c/". The rule is botocore's
 * (utils.remove_dot_segments), so that our signatures equal the SDK's: a trailing '/' is kept only when at least
 * one segment remains ("/a/.." gives "/", "/a/b/.." gives "/a"), a leading '/' is kept when there was one, ".."
 * above the root is dropped, and an empty path gives "/". Works on the encoded path: "%2E%2E" is a segment name,
 * not a dot segment, exactly as a server sees it.
 */
void uri_path_normalize(struct buf *out, struct span path);

/*
 * The parts of an absolute URL "scheme://host[:port][/path][?query][#fragment]". Spans point into the URL.
 * host keeps the brackets of an IPv6 literal ("[::1]"); port is the digits, empty when absent; path is empty
 * when absent (an HTTP request then sends "/"); query excludes the '?'; the fragment is dropped.
 */
struct uri_parts {
    struct span scheme;
    struct span host;
    struct span port;
    struct span path;
    struct span query;
};

/*
 * Splits an absolute URL. ERR_PARSE for a missing "scheme://", an empty host, an unbalanced IPv6 bracket, a port
 * that is not 1-65535, or a byte that may not appear in a URL on the wire (controls, space, non-ASCII: encode
 * them first). ERR_INVALID for user information ("user:pass@host"): credentials never travel in URLs here.
 * ERR_LIMIT above URI_MAX_URL_BYTES.
 */
enum err uri_split(struct span url, struct uri_parts *out) SV_MUST_CHECK;

/*
 * Appends the value of the Host header for `u`: the host in lowercase, then ":port" unless the port is absent or
 * the scheme's default (80 for http, 443 for https) - what SDKs sign and what curl sends.
 */
void uri_append_host_header(struct buf *out, const struct uri_parts *u);

/* One query parameter as it appears in the raw query string: still percent-encoded. */
struct uri_param {
    struct span key;
    struct span value; /* empty for "key" and for "key=" alike */
};

/*
 * Splits a raw query string ("a=1&b&c=") at '&' and each piece at its first '='. Empty pieces ("a=1&&b", a
 * trailing '&') are skipped. Spans point into `query`. ERR_LIMIT if there are more than `max` parameters.
 */
enum err uri_query_split(struct span query, struct uri_param *params, size_t max, size_t *count) SV_MUST_CHECK;

/*
 * Appends the SigV4 canonical query string of a raw query string:
 *
 *   "URI-encode each parameter name and value. Sort the parameters in the canonical query string
 *    alphabetically by key name. [...] If the query string contains duplicate keys, sort the parameters by
 *    value. [...] Build the canonical query string by starting with the first parameter name in the sorted list,
 *    then [...] '='  and its value [...] If a parameter has no value, use an empty string."
 *
 * Each name and value is first decoded, then encoded (uri_reencode), so a query already encoded for the wire
 * gives the same result as the raw one. Sorting is bytewise on the encoded name, then the encoded value.
 * ERR_PARSE for a malformed escape, ERR_LIMIT beyond URI_MAX_QUERY_BYTES or URI_MAX_QUERY_PARAMS; otherwise
 * buf_status(out).
 */
enum err uri_canonical_query(struct buf *out, struct span query) SV_MUST_CHECK;

/*
 * Appends the parameters of a raw query string in their original order, each name and value re-encoded and
 * always written as "name=value" (what goes on the wire in front of a presigned URL's X-Amz-* parameters).
 * Same errors as uri_canonical_query.
 */
enum err uri_query_reencode(struct buf *out, struct span query) SV_MUST_CHECK;

/*
 * Appends one parameter to an application/x-www-form-urlencoded body (or a query string) as AWS's Query
 * protocol writes it: '&' first unless `out` is empty, then uri_encode(key) '=' uri_encode(value). Unlike HTML
 * forms, a space is "%20", never '+', and '*' is encoded.
 */
void uri_form_add(struct buf *out, struct span key, struct span value);

#endif
