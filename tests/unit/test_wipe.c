/*
 * test_wipe.c - no stale copy of a secret is left in freed memory by base/buf's growth or by net/http's request
 * header copies. An allocator that scans every block it frees for a planted secret stands in for malloc/free:
 * installed in base/buf with buf_set_allocator(), and in libcurl with curl_global_init_mem() from a constructor
 * (libcurl takes its allocator once, before its first use, so this runs before main and every test).
 *
 * What is not covered: libcurl's own request buffer, built from the header list when a request is sent; the http
 * test uses a refused loopback port, so the transfer ends before that buffer exists.
 */
#include "harness.h"

#include "base/buf.h"
#include "net/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char s_secret[] = "PLANTED-secret-7f3a9c1e5b2d4086";

static struct {
    bool armed;
    size_t blocks_scanned;
    size_t blocks_with_secret;
} s_scan;

static void s_scan_block(const void *p, size_t n) {
    if (!s_scan.armed || p == NULL) {
        return;
    }
    s_scan.blocks_scanned++;
    size_t k = sizeof(s_secret) - 1;
    const char *c = p;
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(c + i, s_secret, k) == 0) {
            s_scan.blocks_with_secret++;
            return;
        }
    }
}

static void s_arm(void) {
    memset(&s_scan, 0, sizeof(s_scan));
    s_scan.armed = true;
}

/* ---- the scanning allocator (malloc_usable_size gives a freed block's size) ---- */

static void *s_alloc(size_t n) {
    return malloc(n);
}

static void s_release(void *p) {
    if (p != NULL) {
        s_scan_block(p, malloc_usable_size(p));
    }
    free(p);
}

static void *s_realloc(void *p, size_t n) {
    if (p == NULL) {
        return malloc(n);
    }
    void *q = malloc(n ? n : 1);
    if (q == NULL) {
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    memcpy(q, p, old < n ? old : n);
    s_release(p);
    return q;
}

static char *s_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static void *s_calloc(size_t a, size_t b) {
    return calloc(a, b);
}

__attribute__((constructor)) static void s_install_curl_allocator(void) {
    curl_global_init_mem(CURL_GLOBAL_DEFAULT, s_alloc, s_release, s_realloc, s_strdup, s_calloc);
}

static const struct buf_allocator s_buf_allocator = { s_alloc, s_release };

/* ---- tests ---- */

TEST(wipe_scanner_finds_a_planted_secret) {
    s_arm();
    char *p = s_strdup(s_secret);
    s_release(p);
    s_scan.armed = false;
    CHECK_INT(s_scan.blocks_with_secret, 1); /* the scanner itself works: an unwiped block is seen */
}

TEST(wipe_buf_growth_leaves_no_copy_of_a_token) {
    buf_set_allocator(&s_buf_allocator);
    s_arm();
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    buf_append_cstr(&b, "X-Amz-Security-Token: ");
    buf_append_cstr(&b, s_secret);
    while (b.len < 4000) {
        buf_append_cstr(&b, ";padding"); /* grows 64 -> 128 -> ... -> 4 KiB: six moves */
    }
    REQUIRE_OK(buf_status(&b));
    size_t grown = s_scan.blocks_scanned;
    buf_wipe_free(&b);
    s_scan.armed = false;
    buf_set_allocator(NULL);
    CHECK(grown >= 6);
    CHECK_INT(s_scan.blocks_with_secret, 0);
}

TEST(wipe_buf_free_without_wipe_is_seen_by_the_scanner) {
    buf_set_allocator(&s_buf_allocator);
    s_arm();
    struct buf b;
    buf_init(&b, BUF_MAX_SMALL);
    buf_append_cstr(&b, s_secret);
    buf_free(&b); /* buf_free does not wipe: the control that the scanner sees buf's blocks */
    s_scan.armed = false;
    buf_set_allocator(NULL);
    CHECK_INT(s_scan.blocks_with_secret, 1);
}

/* A loopback port nobody listens on: the transfer fails at connect. */
static bool s_refused_url(char *url, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    bool ok =
      fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *) &a, &len) == 0;
    if (ok) {
        snprintf(url, cap, "http://127.0.0.1:%u/", (unsigned) ntohs(a.sin_port));
    }
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

TEST(wipe_http_header_copies_leave_no_signature_or_token) {
    char url[64];
    REQUIRE(s_refused_url(url, sizeof(url)));
    struct http_client_options opt = { 0 };
    struct http_client *c = NULL;
    REQUIRE_OK(http_client_new(&opt, &c));
    char auth[160], token[160];
    snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature=%s", s_secret);
    snprintf(token, sizeof(token), "%s", s_secret);
    struct http_header hs[] = { { "Authorization", auth }, { "X-Amz-Security-Token", token } };
    struct http_request req = { .method = "GET", .url = url, .headers = hs, .nheaders = 2 };
    struct http_response resp;
    http_response_init(&resp);
    s_arm();
    REQUIRE_OK(http_submit(c, &req, &resp, NULL));
    struct http_completion done[1];
    size_t n = 0;
    for (int i = 0; i < 100 && n == 0; i++) {
        n = http_poll(c, 100, done, 1);
    }
    http_client_free(c);
    s_scan.armed = false;
    http_response_free(&resp);
    CHECK_INT(n, 1);
    CHECK(s_scan.blocks_scanned > 0); /* libcurl freed through the scanner */
    CHECK_INT(s_scan.blocks_with_secret, 0);
}
