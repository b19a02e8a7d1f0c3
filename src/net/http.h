/*
 * http.h - HTTP(S) over libcurl: one client per cycle, one connection pool, TLS verification always on.
 *
 * This is the only module that includes <curl/curl.h>. Callers describe a request with plain C strings and
 * spans and get the status, the response headers and the body in bounded buffers.
 *
 * TLS trust: the Mozilla CA bundle embedded at build time (build/gen/ca_bundle.c) is handed to libcurl as a
 * blob, so HTTPS works in a scratch image with no files. When `ca_file` is set (AWS_CA_BUNDLE, SSL_CERT_FILE)
 * that file replaces the embedded bundle. Verification of peer and host name cannot be turned off.
 *
 * Proxies come from the environment as libcurl reads them (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, lower-case too).
 */
#ifndef SV_NET_HTTP_H
#define SV_NET_HTTP_H

#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"

#include <stdint.h>

/* Headers and bodies above these are refused (ERR_LIMIT), never truncated silently. */
#define HTTP_MAX_RESPONSE_HEADERS ((size_t) 64 * 1024)
#define HTTP_MAX_RESPONSE_BODY ((size_t) 64 * 1024 * 1024)
#define HTTP_MAX_REQUEST_HEADERS 64

struct http_header {
    const char *name;
    const char *value;
};

struct http_request {
    const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *url;    /* absolute and already percent-encoded */
    const struct http_header *headers;
    size_t nheaders;
    struct span body;
    int64_t timeout_ms; /* whole-transfer deadline; 0 = the client's default */
};

struct http_response {
    long status;         /* 0 when no response arrived */
    struct buf headers;  /* raw header lines of the final response, "Name: value\r\n" */
    struct buf body;     /* bounded by HTTP_MAX_RESPONSE_BODY */
    char error[256];     /* transport error text when the request failed below HTTP */
    int64_t duration_ms; /* time from start to end of the transfer */
};

struct http_client_options {
    int64_t connect_timeout_ms; /* 0 = 5000 */
    int64_t timeout_ms;         /* 0 = 60000 */
    const char *ca_file;        /* NULL = embedded bundle */
    long max_host_connections;  /* 0 = 16 */
    const char *user_agent;     /* NULL = "smartvault/<version>" */
};

struct http_stats {
    uint64_t requests;
    uint64_t connections;    /* new connections opened (TCP) */
    uint64_t tls_handshakes; /* new TLS sessions */
    uint64_t bytes_sent;
    uint64_t bytes_received;
};

struct http_client;

enum err http_client_new(const struct http_client_options *opt, struct http_client **out) SV_MUST_CHECK;
void http_client_free(struct http_client *c);
const struct http_stats *http_client_stats(const struct http_client *c);

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
/* The value of the first header with this name (case-insensitive), trimmed; empty span if absent. */
struct span http_response_header(const struct http_response *r, const char *name);

/*
 * Performs one request to completion over the client's pool. Returns ERR_OK when any HTTP response arrived
 * (whatever its status); ERR_TLS for handshake/verification failures, ERR_TIMEOUT when the deadline passed,
 * ERR_NET for other transport failures, ERR_LIMIT when the response exceeded a maximum.
 */
enum err http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp) SV_MUST_CHECK;

/* "libcurl/8.14.1 BearSSL" — for --version. */
const char *http_library_version(void);

#endif
