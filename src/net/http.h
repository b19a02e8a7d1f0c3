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
 *
 * Two ways to run requests, over the same pool and on the caller's thread (DESIGN.md §6):
 *   - http_perform(): one request, blocking until it completes.
 *   - http_submit() + http_poll(): many transfers in flight at once; http_poll() drives them all and hands back
 *     those that completed. net/batch builds bounded concurrency, retries and backoff on top of this.
 * Both may be mixed: completions of submitted transfers that arrive while http_perform() waits are kept for
 * the next http_poll().
 *
 * Nothing hangs: every transfer has a whole-transfer deadline (the request's timeout_ms or the client's
 * default), a connect deadline, and a low-speed guard that fails a transfer whose data has stalled (fewer than
 * low_speed_limit_bps bytes per second over low_speed_time_ms), all reported as ERR_TIMEOUT.
 *
 * One thing happens below this interface: when a kept-alive connection turns out to have been closed by the
 * server before any byte of the answer arrived, libcurl sends the request again once on a new connection (it
 * cannot tell that from an idle-timeout close). Such a resend is not an attempt of net/retry; a fault-injecting
 * proxy may therefore count one request more than the attempts reported.
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
    int64_t low_speed_time_ms;  /* 0 = 30000; rounded up to whole seconds (libcurl's unit) */
    long low_speed_limit_bps;   /* 0 = 1: "no byte at all for low_speed_time_ms" */
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
/* Abandons transfers still in flight (their responses keep what had arrived), then frees the client. */
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

/* A finished transfer, as returned by http_poll(). */
struct http_completion {
    void *user;                 /* as given to http_submit() */
    struct http_response *resp; /* as given to http_submit(), now complete */
    enum err result;            /* what http_perform() would have returned for it */
};

/*
 * Starts a transfer without waiting. The client copies the method, URL and headers before returning; the body
 * (req->body) is NOT copied and must stay valid and unchanged until the transfer is returned by http_poll().
 * resp is reset here and written while the transfer runs: the caller must not touch it before then.
 * ERR_LIMIT (too many or too long headers) if the request cannot be started; it is then not in flight.
 */
enum err http_submit(struct http_client *c, const struct http_request *req, struct http_response *resp, void *user)
  SV_MUST_CHECK;

/*
 * Drives every transfer in flight. Returns as soon as at least one transfer has completed (then up to `max`
 * completions are written to out), when timeout_ms has passed (0 = just do what can be done now; < 0 = no
 * limit but the transfers' own deadlines), or at once when nothing is in flight. Returns the number written.
 */
size_t http_poll(struct http_client *c, int64_t timeout_ms, struct http_completion *out, size_t max);

/* Transfers submitted and not yet returned by http_poll(). */
size_t http_in_flight(const struct http_client *c);

/* "libcurl/8.14.1 BearSSL" — for --version. */
const char *http_library_version(void);

#endif
