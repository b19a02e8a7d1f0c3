/*
 * http.c - the libcurl boundary (the only file that includes <curl/curl.h>).
 *
 * One CURLM per client holds the connection pool, so every request of a cycle to the same host reuses one
 * TLS connection (keep-alive). Requests are driven by the multi interface on the caller's thread; libcurl's
 * threaded resolver is its only other thread and never calls back into our code.
 *
 * What this module does not do: signing, retries, AWS error parsing. Those are in aws/ and net/retry.
 */
#include "net/http.h"

#include "version.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Embedded at build time from the build machine's ca-certificates (build/gen/ca_bundle.c). */
extern const unsigned char smartvault_ca_bundle[];
extern const unsigned long smartvault_ca_bundle_len;

struct http_client {
    CURLM *multi;
    CURLSH *share;
    struct http_client_options opt;
    struct http_stats stats;
    char user_agent[64];
};

/* Per-transfer state handed to the write callbacks. */
struct http_xfer {
    struct http_response *resp;
    bool over_limit;
    bool https;
};

static bool s_global_ready;

enum err http_client_new(const struct http_client_options *opt, struct http_client **out) {
    if (!s_global_ready) {
        ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, ERR_NET, "curl_global_init failed");
        s_global_ready = true;
    }
    struct http_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        FATAL("out of memory");
    }
    c->opt = *opt;
    if (c->opt.connect_timeout_ms <= 0) {
        c->opt.connect_timeout_ms = 5000;
    }
    if (c->opt.timeout_ms <= 0) {
        c->opt.timeout_ms = 60000;
    }
    if (c->opt.max_host_connections <= 0) {
        c->opt.max_host_connections = 16;
    }
    snprintf(
      c->user_agent, sizeof(c->user_agent), "%s", opt->user_agent ? opt->user_agent : "smartvault/" SMARTVAULT_VERSION);
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (c->multi == NULL || c->share == NULL) {
        FATAL("out of memory");
    }
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->opt.max_host_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->opt.max_host_connections * 4);
    *out = c;
    return ERR_OK;
}

void http_client_free(struct http_client *c) {
    if (c == NULL) {
        return;
    }
    curl_multi_cleanup(c->multi);
    curl_share_cleanup(c->share);
    free(c);
}

const struct http_stats *http_client_stats(const struct http_client *c) {
    return &c->stats;
}

void http_response_init(struct http_response *r) {
    memset(r, 0, sizeof(*r));
    buf_init(&r->headers, HTTP_MAX_RESPONSE_HEADERS);
    buf_init(&r->body, HTTP_MAX_RESPONSE_BODY);
}

void http_response_free(struct http_response *r) {
    buf_free(&r->headers);
    buf_free(&r->body);
}

struct span http_response_header(const struct http_response *r, const char *name) {
    struct span rest = buf_span(&r->headers);
    struct span want = span_from_cstr(name);
    while (rest.n > 0) {
        struct span line, key, value;
        span_split(rest, '\n', &line, &rest);
        if (span_split(line, ':', &key, &value) && span_eq_nocase(span_trim(key), want)) {
            return span_trim(value);
        }
    }
    return SPAN_NULL;
}

static size_t s_on_header(char *data, size_t size, size_t n, void *user) {
    struct http_xfer *x = user;
    size_t len = size * n;
    /* A new status line starts a new response (after 100 Continue or a proxy CONNECT): keep only the last. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        buf_reset(&x->resp->headers);
    }
    buf_append(&x->resp->headers, data, len);
    if (buf_status(&x->resp->headers) != ERR_OK) {
        x->over_limit = true;
        return 0;
    }
    return len;
}

static size_t s_on_body(char *data, size_t size, size_t n, void *user) {
    struct http_xfer *x = user;
    size_t len = size * n;
    buf_append(&x->resp->body, data, len);
    if (buf_status(&x->resp->body) != ERR_OK) {
        x->over_limit = true;
        return 0;
    }
    return len;
}

static bool s_has_header(const struct http_request *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++) {
        if (span_eq_nocase(span_from_cstr(req->headers[i].name), span_from_cstr(name))) {
            return true;
        }
    }
    return false;
}

/* Builds the easy handle for one request. The caller owns *list and frees it after the transfer. */
static enum err s_setup(
  struct http_client *c,
  const struct http_request *req,
  struct http_xfer *x,
  CURL **out,
  struct curl_slist **list) {
    ENSURE(req->nheaders <= HTTP_MAX_REQUEST_HEADERS, ERR_LIMIT, "too many request headers");
    CURL *e = curl_easy_init();
    if (e == NULL) {
        FATAL("out of memory");
    }
    struct curl_slist *hl = NULL;
    char line[16384];
    for (size_t i = 0; i < req->nheaders; i++) {
        int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
        if (n < 0 || (size_t) n >= sizeof(line)) {
            curl_slist_free_all(hl);
            curl_easy_cleanup(e);
            FAIL(ERR_LIMIT, "request header too long");
        }
        hl = curl_slist_append(hl, line);
    }
    /* libcurl would add these on its own; they are either unwanted or would not be covered by a signature. */
    hl = curl_slist_append(hl, "Expect:");
    if (!s_has_header(req, "Content-Type")) {
        hl = curl_slist_append(hl, "Content-Type:");
    }
    if (!s_has_header(req, "Accept")) {
        hl = curl_slist_append(hl, "Accept:");
    }
    if (hl == NULL) {
        FATAL("out of memory");
    }
    x->https = strncmp(req->url, "https://", 8) == 0;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) c->opt.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (req->timeout_ms > 0 ? req->timeout_ms : c->opt.timeout_ms));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->opt.ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->opt.ca_file);
    } else {
        struct curl_blob blob = { (void *) smartvault_ca_bundle, (size_t) smartvault_ca_bundle_len, CURL_BLOB_NOCOPY };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->resp->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    const char *m = req->method ? req->method : "GET";
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "GET") != 0 || req->body.n > 0) {
        if (strcmp(m, "POST") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        }
        if (strcmp(m, "GET") != 0 && strcmp(m, "DELETE") != 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body.n);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body.n ? req->body.p : "");
        }
    }
    *out = e;
    *list = hl;
    return ERR_OK;
}

static enum err s_classify(CURLcode rc, const struct http_xfer *x) {
    switch (rc) {
        case CURLE_OK:
            return ERR_OK;
        case CURLE_OPERATION_TIMEDOUT:
            return ERR_TIMEOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
            return ERR_TLS;
        case CURLE_WRITE_ERROR:
            return x->over_limit ? ERR_LIMIT : ERR_NET;
        default:
            return ERR_NET;
    }
}

static void s_account(struct http_client *c, CURL *e, const struct http_xfer *x) {
    long connects = 0;
    curl_off_t up = 0, down = 0, total_us = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->resp->status);
    c->stats.requests++;
    c->stats.connections += (uint64_t) connects;
    if (x->https) {
        c->stats.tls_handshakes += (uint64_t) connects;
    }
    c->stats.bytes_sent += (uint64_t) up;
    c->stats.bytes_received += (uint64_t) down;
    x->resp->duration_ms = (int64_t) (total_us / 1000);
}

enum err http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp) {
    struct http_xfer x = { resp, false, false };
    resp->status = 0;
    resp->error[0] = '\0';
    buf_reset(&resp->headers);
    buf_reset(&resp->body);
    CURL *e = NULL;
    struct curl_slist *hl = NULL;
    TRY(s_setup(c, req, &x, &e, &hl));
    curl_multi_add_handle(c->multi, e);
    CURLcode rc = CURLE_OK;
    bool done = false;
    while (!done) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        int queued = 0;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(c->multi, &queued)) != NULL) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) {
                rc = msg->data.result;
                done = true;
            }
        }
        if (!done) {
            curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
        }
    }
    s_account(c, e, &x);
    curl_multi_remove_handle(c->multi, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(hl);
    enum err err = s_classify(rc, &x);
    if (err != ERR_OK) {
        if (resp->error[0] == '\0') {
            snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
        }
        resp->status = 0;
        FAIL(err, "%s %s: %s", req->method ? req->method : "GET", "request", resp->error);
    }
    return ERR_OK;
}

const char *http_library_version(void) {
    return curl_version();
}
