/*
 * creds_container.c - credentials from a container credentials endpoint: the ECS agent, or the EKS Pod
 * Identity agent (which is the same protocol with a full URI and a token file).
 *
 * What it does (AWS_CLIENT_SPEC_NOTES.md §2): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI wins and is appended to
 * http://169.254.170.2; otherwise AWS_CONTAINER_CREDENTIALS_FULL_URI is used if its host is allowed (https: any
 * host; http: loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23). The Authorization header comes from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, re-read on every fetch because kubelet rotates it, else from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, and is refused if it contains CR or LF (botocore `_validate_auth_token`).
 * GET with `Accept: application/json`, 2 s timeout, 3 attempts 1 s apart (botocore `ContainerMetadataFetcher`);
 * what is retried is net/retry's decision (retry_bounded_again: connection errors, timeouts, 429, 500/502/503/504).
 *
 * What it does not do: resolve host names to check their addresses (the Rust SDK does; we accept only literal
 * addresses and "localhost", which is stricter), or retry answers that cannot change on a retry: a 4xx other
 * than 429 fails at once, where botocore would ask three times.
 */
#include "aws/creds_provider.h"

#include "net/http.h"
#include "net/retry.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDS_CONTAINER_ECS_HOST "http://169.254.170.2"
#define CREDS_CONTAINER_TIMEOUT_MS 2000
#define CREDS_CONTAINER_ATTEMPTS 3
#define CREDS_CONTAINER_RETRY_SLEEP_MS 1000
/* Longest credentials URL accepted (the relative URI of ECS is about 60 bytes). */
#define CREDS_CONTAINER_MAX_URL 2048

static bool s_configured(struct creds_provider *p, struct creds_why *why) {
    const struct endpoint_env *env = p->ctx->env;
    if (
      endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL ||
      endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL) {
        return true;
    }
    creds_why_set(why, "not configured");
    return false;
}

/* aws-c-auth `credentials_provider_ecs.c` allowed-address check and botocore `_ALLOWED_HOSTS`. */
static bool s_http_host_allowed(const char *host) {
    if (span_eq_nocase(span_from_cstr(host), SPAN_LIT("localhost"))) {
        return true;
    }
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        char literal[INET6_ADDRSTRLEN + 1];
        unsigned char a6[16], eks6[16];
        if (n - 2 >= sizeof(literal)) {
            return false;
        }
        memcpy(literal, host + 1, n - 2);
        literal[n - 2] = '\0';
        if (inet_pton(AF_INET6, literal, a6) != 1 || inet_pton(AF_INET6, "fd00:ec2::23", eks6) != 1) {
            return false;
        }
        static const unsigned char loop6[16] = { [15] = 1 };
        return memcmp(a6, loop6, 16) == 0 || memcmp(a6, eks6, 16) == 0;
    }
    unsigned char a4[4];
    if (inet_pton(AF_INET, host, a4) != 1) {
        return false; /* a host name other than localhost: refused, never resolved */
    }
    static const unsigned char ecs4[4] = { 169, 254, 170, 2 }, eks4[4] = { 169, 254, 170, 23 };
    return a4[0] == 127 || memcmp(a4, ecs4, 4) == 0 || memcmp(a4, eks4, 4) == 0;
}

enum err creds_container_check_url(struct span url, struct endpoint *out, struct creds_why *why) {
    memset(out, 0, sizeof(*out));
    if (endpoint_parse_url(url, out) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "credentials URL is malformed: %s", err_last()->msg);
    }
    if (!out->https && !s_http_host_allowed(out->host)) {
        CREDS_FAIL(
          why,
          ERR_CONFIG,
          "AWS_CONTAINER_CREDENTIALS_FULL_URI host %s is not allowed over http (use https, a loopback address, "
          "169.254.170.2, 169.254.170.23 or fd00:ec2::23)",
          out->host);
    }
    return ERR_OK;
}

/* The URL to ask, checked; `shown` is scheme://host[:port] for messages (the path may identify the task). */
static enum err s_url(
  const struct endpoint_env *env,
  char url[CREDS_CONTAINER_MAX_URL + 1],
  char shown[ENDPOINT_MAX_URL + 1],
  struct creds_why *why) {
    const char *rel = endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (rel != NULL && rel[0] != '/') {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with '/'");
    }
    int n = rel != NULL ? snprintf(url, CREDS_CONTAINER_MAX_URL + 1, "%s%s", CREDS_CONTAINER_ECS_HOST, rel)
                        : snprintf(url, CREDS_CONTAINER_MAX_URL + 1, "%s", full);
    if (n < 0 || n > CREDS_CONTAINER_MAX_URL) {
        CREDS_FAIL(why, ERR_CONFIG, "container credentials URL longer than %d bytes", CREDS_CONTAINER_MAX_URL);
    }
    struct endpoint ep;
    TRY(creds_container_check_url(span_from_cstr(url), &ep, why));
    char port[8] = "";
    if (ep.port != 0) {
        snprintf(port, sizeof(port), ":%u", (unsigned) ep.port);
    }
    snprintf(shown, ENDPOINT_MAX_URL + 1, "%s://%s%s", ep.https ? "https" : "http", ep.host, port);
    return ERR_OK;
}

/* The Authorization value, if any: the token file wins over the variable (notes §2). */
static enum err s_auth(const struct endpoint_env *env, struct secret *out, struct creds_why *why) {
    const char *file = endpoint_env_get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = endpoint_env_get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (file != NULL) {
        TRY(creds_read_token_file(file, false, out, why));
    } else if (value != NULL && secret_set(out, span_from_cstr(value)) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_CONTAINER_AUTHORIZATION_TOKEN is longer than %d bytes", SECRET_MAX);
    }
    struct span v = secret_span(out);
    if (span_index(v, '\r') >= 0 || span_index(v, '\n') >= 0) {
        secret_wipe(out);
        CREDS_FAIL(why, ERR_CONFIG, "the container authorization token contains CR or LF");
    }
    return ERR_OK;
}

static enum err s_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    (void) now_s;
    char url[CREDS_CONTAINER_MAX_URL + 1];
    char shown[ENDPOINT_MAX_URL + 1];
    TRY(s_url(p->ctx->env, url, shown, why));
    struct secret *auth = calloc(1, sizeof(*auth)); /* 8 KiB: not on the stack */
    if (auth == NULL) {
        FATAL("out of memory");
    }
    enum err e = s_auth(p->ctx->env, auth, why);
    if (e != ERR_OK) {
        free(auth);
        return e;
    }
    struct http_header headers[2] = { { "Accept", "application/json" }, { "Authorization", auth->value } };
    struct http_request req = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .nheaders = auth->set ? 2 : 1,
        .timeout_ms = CREDS_CONTAINER_TIMEOUT_MS,
    };
    struct http_response resp;
    http_response_init(&resp);
    const struct retry_bounded retry = { .max_attempts = CREDS_CONTAINER_ATTEMPTS,
                                         .delay_ms = CREDS_CONTAINER_RETRY_SLEEP_MS,
                                         .sleep_ms = p->ctx->sleep_ms };
    for (uint32_t attempt = 1;; attempt++) {
        e = http_perform(p->ctx->http, &req, &resp);
        struct retry_input in = { .attempt = attempt, .transport = e, .status = resp.status };
        if (!retry_bounded_again(&retry, &in)) {
            break;
        }
    }
    secret_wipe(auth);
    free(auth);
    if (e != ERR_OK || resp.status != 200) {
        e = creds_why_http(why, e, &resp, shown);
    } else {
        e = creds_parse_json(buf_span(&resp.body), p->ctx->scratch, out, why);
    }
    buf_wipe_free(&resp.body);
    http_response_free(&resp);
    return e;
}

static void s_destroy(struct creds_provider *p) {
    free(p);
}

static const struct creds_provider_vtable s_vtable = { s_configured, s_fetch, s_destroy };

struct creds_provider *creds_container_new(const struct creds_provider_ctx *ctx) {
    struct creds_provider *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        FATAL("out of memory");
    }
    *p = (struct creds_provider){ "container", "container", &s_vtable, ctx };
    return p;
}
