/*
 * http.c - the libcurl boundary (the only file that includes <curl/curl.h>).
 *
 * One CURLM per client holds the connection pool, so every request of a cycle to the same host reuses one
 * TLS connection (keep-alive). Requests are driven by the multi interface on the caller's thread; libcurl's
 * threaded resolver is its only other thread and never calls back into our code.
 *
 * Each submitted request is a `struct http_xfer` (easy handle, header list, response, user pointer) on the
 * client's `active` list. s_drive() runs curl_multi_perform and moves finished transfers, already accounted
 * and classified and with their easy handle released to the pool, onto the `done` queue; http_poll() and
 * http_perform() take them from there. So a connection goes back to the pool the moment its transfer ends,
 * whoever is waiting.
 *
 * What this module does not do: signing, retries, AWS error parsing. Those are in aws/ and net/retry.
 */
#include "net/http.h"

#include "base/stop.h"
#include "base/time.h"
#include "version.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * TLS policy (AWS requires TLS 1.2 or later on every endpoint): TLS 1.2 minimum (BearSSL has no 1.3), and only
 * forward-secret AEAD suites — ECDHE key exchange with AES-GCM or ChaCha20-Poly1305. BearSSL's full profile would
 * also accept TLS 1.0, static RSA key exchange, CBC and 3DES. Every AWS endpoint offers these suites.
 */
#define S_TLS_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define S_TLS_POLICY "SmartVault accepts only TLS 1.2+ with ECDHE and AES-GCM or ChaCha20-Poly1305, as AWS offers"

/* Embedded at build time from the build machine's ca-certificates (build/gen/ca_bundle.c). */
extern const unsigned char smartvault_ca_bundle[];
extern const unsigned long smartvault_ca_bundle_len;

/* One transfer, from http_submit() until it is handed back. */
struct http_xfer {
    CURL *easy;            /* NULL once finished */
    struct curl_slist *hl; /* request headers, freed when finished */
    struct http_response *resp;
    void *user;
    bool over_limit; /* a write callback refused data over a named maximum */
    bool cancelled;  /* aborted by a stop (base/stop) */
    bool https;
    bool done;
    enum err result;
    char what[48];                 /* "METHOD host" for the error message */
    struct http_xfer *prev, *next; /* on the client's active list, or (next only) its done queue */
};

struct http_client {
    CURLM *multi;
    CURLSH *share;
    struct http_client_options opt;
    struct http_stats stats;
    char user_agent[64];
    struct http_xfer *active;                /* doubly linked, in flight */
    struct http_xfer *done_head, *done_tail; /* finished, not handed back yet (FIFO) */
    size_t in_flight;                        /* active + done */
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
    if (c->opt.low_speed_time_ms <= 0) {
        c->opt.low_speed_time_ms = 30000;
    }
    if (c->opt.low_speed_limit_bps <= 0) {
        c->opt.low_speed_limit_bps = 1;
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

/*
 * Request headers carry Authorization (a signature) and X-Amz-Security-Token: their copies are zeroed before
 * they are freed. (libcurl's own request buffer, built from this list when the request is sent, is freed by
 * libcurl as it is; that copy is beyond this module.)
 */
static void s_slist_wipe_free(struct curl_slist *hl) {
    for (struct curl_slist *n = hl; n != NULL; n = n->next) {
        if (n->data != NULL) {
            explicit_bzero(n->data, strlen(n->data));
        }
    }
    curl_slist_free_all(hl);
}

static void s_xfer_release(struct http_client *c, struct http_xfer *x) {
    if (x->easy != NULL) {
        curl_multi_remove_handle(c->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    s_slist_wipe_free(x->hl);
    x->hl = NULL;
}

void http_client_free(struct http_client *c) {
    if (c == NULL) {
        return;
    }
    while (c->active != NULL) {
        struct http_xfer *x = c->active;
        c->active = x->next;
        s_xfer_release(c, x);
        free(x);
    }
    while (c->done_head != NULL) {
        struct http_xfer *x = c->done_head;
        c->done_head = x->next;
        free(x);
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

/*
 * libcurl calls this at least once a second for every transfer, also while it waits for the server: a stop
 * (SIGTERM, RUN_TIMEOUT) cancels requests still in flight once base/stop's bound has passed (ERR_CANCELLED).
 */
static int s_on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    struct http_xfer *x = user;
    (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
    if (stop_requested() && stop_cancels_in_flight(time_mono_ms())) {
        x->cancelled = true;
        return 1;
    }
    return 0;
}

static bool s_has_header(const struct http_request *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++) {
        if (span_eq_nocase(span_from_cstr(req->headers[i].name), span_from_cstr(name))) {
            return true;
        }
    }
    return false;
}

/* The request's header lines for libcurl, plus the blanks that stop libcurl adding its own. *out owned by the caller.
 */
static enum err s_header_list(const struct http_request *req, struct curl_slist **out) {
    ENSURE(req->nheaders <= HTTP_MAX_REQUEST_HEADERS, ERR_LIMIT, "too many request headers");
    struct curl_slist *hl = NULL;
    char line[16384];
    for (size_t i = 0; i < req->nheaders; i++) {
        int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
        if (n < 0 || (size_t) n >= sizeof(line)) {
            explicit_bzero(line, sizeof(line));
            s_slist_wipe_free(hl);
            FAIL(ERR_LIMIT, "request header too long");
        }
        hl = curl_slist_append(hl, line);
    }
    explicit_bzero(line, sizeof(line));
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
    *out = hl;
    return ERR_OK;
}

/* TLS: verification always on, TLS 1.2 or later, our cipher list, CA_BUNDLE or the bundle built into the binary. */
static void s_setup_tls(struct http_client *c, CURL *e) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_SSL_CIPHER_LIST, S_TLS_CIPHERS);
    if (c->opt.ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->opt.ca_file);
    } else {
        struct curl_blob blob = { (void *) smartvault_ca_bundle, (size_t) smartvault_ca_bundle_len, CURL_BLOB_NOCOPY };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
}

/* The method and body: HEAD without a body, POST/PUT/... with exactly req->body, GET and DELETE without one. */
static void s_setup_method(const struct http_request *req, CURL *e) {
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
}

/* Builds the easy handle for one request. The caller owns *list and frees it after the transfer. */
static enum err s_setup(
  struct http_client *c,
  const struct http_request *req,
  struct http_xfer *x,
  CURL **out,
  struct curl_slist **list) {
    struct curl_slist *hl = NULL;
    TRY(s_header_list(req, &hl));
    CURL *e = curl_easy_init();
    if (e == NULL) {
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
    long low_speed_s = (long) ((c->opt.low_speed_time_ms + 999) / 1000);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, c->opt.low_speed_limit_bps);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, low_speed_s);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    s_setup_tls(c, e);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->resp->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    s_setup_method(req, e);
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
        case CURLE_ABORTED_BY_CALLBACK:
            return x->cancelled ? ERR_CANCELLED : ERR_NET;
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

/* "GET example.com" (bounded), for error messages: the query string may be long and is never needed. */
static void s_describe(const struct http_request *req, char *out, size_t cap) {
    struct span url = span_from_cstr(req->url);
    struct span scheme, rest = url;
    if (span_split(url, ':', &scheme, &rest) && span_starts_with(rest, SPAN_LIT("//"))) {
        rest = span_sub(rest, 2, rest.n - 2);
    }
    long slash = span_index(rest, '/');
    if (slash >= 0) {
        rest.n = (size_t) slash;
    }
    snprintf(out, cap, "%s %.*s", req->method ? req->method : "GET", SPAN_FMT(rest));
}

enum err http_submit(struct http_client *c, const struct http_request *req, struct http_response *resp, void *user) {
    resp->status = 0;
    resp->error[0] = '\0';
    resp->duration_ms = 0;
    buf_reset(&resp->headers);
    buf_reset(&resp->body);
    struct http_xfer *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        FATAL("out of memory");
    }
    x->resp = resp;
    x->user = user;
    s_describe(req, x->what, sizeof(x->what));
    enum err e = s_setup(c, req, x, &x->easy, &x->hl);
    if (e != ERR_OK) {
        free(x);
        return e;
    }
    CURLMcode mc = curl_multi_add_handle(c->multi, x->easy);
    if (mc != CURLM_OK) {
        s_xfer_release(c, x);
        free(x);
        FAIL(ERR_NET, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }
    x->next = c->active;
    if (c->active != NULL) {
        c->active->prev = x;
    }
    c->active = x;
    c->in_flight++;
    return ERR_OK;
}

/* Moves a finished transfer from the active list to the done queue, releasing its handle to the pool. */
static void s_finish(struct http_client *c, struct http_xfer *x, CURLcode rc) {
    s_account(c, x->easy, x);
    s_xfer_release(c, x);
    x->result = s_classify(rc, x);
    if (x->result != ERR_OK) {
        if (x->resp->error[0] == '\0') {
            snprintf(x->resp->error, sizeof(x->resp->error), "%s", curl_easy_strerror(rc));
        }
        if (rc == CURLE_SSL_CONNECT_ERROR) {
            /* A refused handshake (old version, static RSA, CBC...) would otherwise read "connection error 0x..". */
            size_t n = strlen(x->resp->error);
            snprintf(x->resp->error + n, sizeof(x->resp->error) - n, " (TLS handshake refused: %s)", S_TLS_POLICY);
        }
        x->resp->status = 0;
    }
    x->done = true;
    if (x->prev != NULL) {
        x->prev->next = x->next;
    } else {
        c->active = x->next;
    }
    if (x->next != NULL) {
        x->next->prev = x->prev;
    }
    x->prev = NULL;
    x->next = NULL;
    if (c->done_tail != NULL) {
        c->done_tail->next = x;
    } else {
        c->done_head = x;
    }
    c->done_tail = x;
}

/* One round: let libcurl move every transfer along, then collect those that finished. */
static void s_drive(struct http_client *c) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(c->multi, &running);
    if (mc == CURLM_OUT_OF_MEMORY) {
        FATAL("out of memory");
    }
    if (mc != CURLM_OK) {
        /* The multi handle itself is broken: fail everything in flight rather than spin. */
        while (c->active != NULL) {
            snprintf(c->active->resp->error, sizeof(c->active->resp->error), "%s", curl_multi_strerror(mc));
            s_finish(c, c->active, CURLE_FAILED_INIT);
        }
        return;
    }
    int queued = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->multi, &queued)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        struct http_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
        CURLcode rc = msg->data.result;
        if (x != NULL && !x->done) {
            s_finish(c, x, rc);
        }
    }
}

/* Waits for activity on the pool's sockets or libcurl's next timer, at most wait_ms. */
static void s_wait(struct http_client *c, int64_t wait_ms) {
    if (wait_ms <= 0) {
        return;
    }
    int max = wait_ms > 1000 ? 1000 : (int) wait_ms;
    curl_multi_poll(c->multi, NULL, 0, max, NULL);
}

static void s_unlink_done(struct http_client *c, struct http_xfer *x) {
    struct http_xfer *prev = NULL;
    for (struct http_xfer *it = c->done_head; it != NULL; prev = it, it = it->next) {
        if (it == x) {
            if (prev != NULL) {
                prev->next = it->next;
            } else {
                c->done_head = it->next;
            }
            if (c->done_tail == it) {
                c->done_tail = prev;
            }
            break;
        }
    }
    c->in_flight--;
}

size_t http_poll(struct http_client *c, int64_t timeout_ms, struct http_completion *out, size_t max) {
    int64_t deadline = timeout_ms >= 0 ? time_mono_ms() + timeout_ms : INT64_MAX;
    for (;;) {
        if (c->active != NULL) {
            s_drive(c);
        }
        if (c->done_head != NULL || c->active == NULL) {
            break;
        }
        int64_t now = time_mono_ms();
        if (now >= deadline) {
            break;
        }
        s_wait(c, deadline - now);
    }
    size_t n = 0;
    while (n < max && c->done_head != NULL) {
        struct http_xfer *x = c->done_head;
        s_unlink_done(c, x);
        out[n].user = x->user;
        out[n].resp = x->resp;
        out[n].result = x->result;
        n++;
        free(x);
    }
    return n;
}

size_t http_in_flight(const struct http_client *c) {
    return c->in_flight;
}

enum err http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp) {
    TRY(http_submit(c, req, resp, NULL));
    struct http_xfer *x = c->active; /* http_submit puts the new transfer at the head */
    while (!x->done) {
        s_drive(c);
        if (!x->done) {
            s_wait(c, 1000);
        }
    }
    s_unlink_done(c, x);
    enum err err = x->result;
    char what[sizeof(x->what)];
    memcpy(what, x->what, sizeof(what));
    free(x);
    if (err != ERR_OK) {
        FAIL(err, "%s: %s", what, resp->error);
    }
    return ERR_OK;
}

const char *http_library_version(void) {
    return curl_version();
}
