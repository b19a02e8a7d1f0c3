/*
 * imds.c - the instance metadata client: session token, IMDSv1 fallback, one retry on 401.
 *
 * What it does: turns "GET this metadata path" into the one to three HTTP requests IMDSv2 needs, following
 * botocore's `IMDSFetcher` (notes §3). What it does not do: retries beyond the single 401 retry (botocore's
 * default is 1 attempt, and a task that is not on EC2 should learn so within a second), or any parsing of what it
 * fetched except the region.
 *
 * IMDSv1 fallback, as botocore's IMDSFetcher: a token request answered 400 is an error; any other failure
 * (403/404/405 from an IMDS without v2, 5xx, timeout, connection error) leaves no token and the GET goes without
 * one - unless AWS_EC2_METADATA_V1_DISABLED=true (botocore's ec2_metadata_v1_disabled), which turns that into an
 * error naming the variable ("Unable to retrieve token for use in IMDSv2 call and IMDSv1 has been disabled").
 */
#include "aws/imds.h"

#include "base/secret.h"
#include "net/http.h"
#include "net/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imds_client {
    struct http_client *http;
    char base_url[ENDPOINT_MAX_URL + 1];
    struct secret token;     /* .set when a token is cached */
    bool v1_disabled;        /* AWS_EC2_METADATA_V1_DISABLED=true: never a request without a token */
    char token_failure[96];  /* why the last token request gave no token */
    int64_t token_expires_s; /* the cached token is used while now < this */
};

bool imds_disabled(const struct endpoint_env *env) {
    return endpoint_env_is_true(env, "AWS_EC2_METADATA_DISABLED");
}

static enum err s_select_endpoint(const struct endpoint_env *env, char *out, size_t cap) {
    const char *mode = endpoint_env_get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *base = IMDS_ENDPOINT_IPV4;
    if (mode != NULL && span_eq_nocase(span_from_cstr(mode), SPAN_LIT("ipv6"))) {
        base = IMDS_ENDPOINT_IPV6;
    } else if (mode != NULL && !span_eq_nocase(span_from_cstr(mode), SPAN_LIT("ipv4"))) {
        FAIL(ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be ipv4 or ipv6");
    }
    /* botocore: an explicit endpoint wins over the mode. */
    const char *url = endpoint_env_get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (url == NULL) {
        snprintf(out, cap, "%s", base);
        return ERR_OK;
    }
    struct endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ENSURE(
      endpoint_parse_url(span_from_cstr(url), &ep) == ERR_OK,
      ERR_CONFIG,
      "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL");
    char port[8] = "";
    if (ep.port != 0) {
        snprintf(port, sizeof(port), ":%u", (unsigned) ep.port);
    }
    int n = snprintf(out, cap, "%s://%s%s%s", ep.https ? "https" : "http", ep.host, port, ep.path_prefix);
    ENSURE(n >= 0 && (size_t) n < cap, ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    return ERR_OK;
}

enum err imds_client_new(const struct endpoint_env *env, struct http_client *http, struct imds_client **out) {
    struct imds_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        FATAL("out of memory");
    }
    c->http = http;
    c->v1_disabled = endpoint_env_is_true(env, "AWS_EC2_METADATA_V1_DISABLED");
    enum err e = s_select_endpoint(env, c->base_url, sizeof(c->base_url));
    if (e != ERR_OK) {
        free(c);
        return e;
    }
    *out = c;
    return ERR_OK;
}

void imds_client_free(struct imds_client *c) {
    if (c == NULL) {
        return;
    }
    secret_wipe(&c->token);
    free(c);
}

const char *imds_client_endpoint(const struct imds_client *c) {
    return c->base_url;
}

static enum err s_request(
  struct imds_client *c,
  const char *method,
  const char *path,
  const struct http_header *headers,
  size_t nheaders,
  struct http_response *resp) {
    char url[ENDPOINT_MAX_URL + 256];
    int n = snprintf(url, sizeof(url), "%s%s", c->base_url, path);
    ENSURE(n >= 0 && (size_t) n < sizeof(url), ERR_LIMIT, "metadata URL too long");
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .nheaders = nheaders,
        .timeout_ms = IMDS_TIMEOUT_MS,
    };
    enum err e = http_perform(c->http, &req, resp);
    if (e == ERR_OK && resp->body.len > IMDS_MAX_RESPONSE) {
        FAIL(ERR_LIMIT, "%s %s: answer over %zu bytes", method, path, IMDS_MAX_RESPONSE);
    }
    if (e == ERR_TIMEOUT) {
        FAIL(e, "%s %s: timed out after %d ms", method, path, IMDS_TIMEOUT_MS);
    }
    if (e != ERR_OK) {
        FAIL(e, "%s %s: %s", method, path, resp->error[0] ? resp->error : err_name(e));
    }
    return ERR_OK;
}

/*
 * Gets a session token, or leaves the cache empty so the caller goes on with IMDSv1. botocore
 * `_fetch_metadata_token`: 200 → token; 400 → BadIMDSRequestError; anything else, a read timeout or a
 * connection error → None (no token).
 */
static enum err s_fetch_token(struct imds_client *c, int64_t now_s) {
    secret_wipe(&c->token);
    static const struct http_header headers[] = {
        { "x-aws-ec2-metadata-token-ttl-seconds", "21600" },
    };
    struct http_response resp;
    http_response_init(&resp);
    enum err e = s_request(c, "PUT", "/latest/api/token", headers, 1, &resp);
    if (e == ERR_OK && resp.status == 400) {
        http_response_free(&resp);
        FAIL(ERR_HTTP, "PUT /latest/api/token: HTTP 400 (bad token request)");
    }
    if (e == ERR_OK && resp.status == 200) {
        struct span tok = span_trim(buf_span(&resp.body));
        bool ok = tok.n > 0 && span_index(tok, '\r') < 0 && span_index(tok, '\n') < 0;
        ok = ok && secret_set(&c->token, tok) == ERR_OK;
        buf_wipe_free(&resp.body);
        http_response_free(&resp);
        ENSURE(ok, ERR_PARSE, "PUT /latest/api/token: the answer is not a token");
        c->token_expires_s = now_s + IMDS_TOKEN_CACHE_S;
        return ERR_OK;
    }
    if (e == ERR_OK) {
        snprintf(c->token_failure, sizeof(c->token_failure), "HTTP %ld", resp.status);
    } else {
        snprintf(c->token_failure, sizeof(c->token_failure), "%s", err_name(e));
    }
    http_response_free(&resp);
    ENSURE(
      !c->v1_disabled,
      ERR_CREDS,
      "PUT /latest/api/token: no IMDSv2 token (%s), and AWS_EC2_METADATA_V1_DISABLED=true forbids IMDSv1",
      c->token_failure);
    return ERR_OK;
}

enum err imds_get(struct imds_client *c, int64_t now_s, const char *path, struct http_response *resp) {
    /* Only a 401 is retried, once: a host that is not on EC2 must learn so within one timeout. */
    static const struct retry_bounded retry = { .max_attempts = 2, .modeled_only = true };
    for (uint32_t attempt = 1;; attempt++) {
        if (!c->token.set || now_s >= c->token_expires_s) {
            TRY(s_fetch_token(c, now_s));
        }
        struct http_header h = { "x-aws-ec2-metadata-token", c->token.value };
        TRY(s_request(c, "GET", path, &h, c->token.set ? 1 : 0, resp));
        struct retry_input in = {
            .attempt = attempt,
            .status = resp->status,
            .modeled = resp->status == 401 ? RETRY_MODELED_TRANSIENT : RETRY_MODELED_NO,
        };
        if (!retry_bounded_again(&retry, &in)) {
            break;
        }
        /* aws-c-auth: "a 401 invalidates the cached token (a v1 request is retried once with v2)". */
        secret_wipe(&c->token);
    }
    switch (resp->status) {
        case 200:
            return ERR_OK;
        case 404:
            FAIL(ERR_NOT_FOUND, "GET %s: HTTP 404", path);
        case 401:
        case 403:
            FAIL(ERR_AUTH, "GET %s: HTTP %ld", path, resp->status);
        default:
            FAIL(ERR_HTTP, "GET %s: HTTP %ld", path, resp->status);
    }
}

enum err imds_get_region(struct imds_client *c, int64_t now_s, char out[REGION_MAX + 1]) {
    struct http_response resp;
    http_response_init(&resp);
    enum err e = imds_get(c, now_s, "/latest/meta-data/placement/region", &resp);
    if (e == ERR_OK) {
        struct span r = span_trim(buf_span(&resp.body));
        e = region_is_valid(r) ? span_copy_cstr(r, out, REGION_MAX + 1) : ERR_PARSE;
        if (e != ERR_OK) {
            err_raise(e, __FILE__, __LINE__, "placement/region: the answer is not a region name");
        }
    }
    http_response_free(&resp);
    return e;
}

enum err imds_discover_region(
  const struct endpoint_env *env,
  struct http_client *http,
  int64_t now_s,
  char out[REGION_MAX + 1]) {
    ENSURE(!imds_disabled(env), ERR_CONFIG, "no region set, and AWS_EC2_METADATA_DISABLED forbids asking IMDS");
    struct imds_client *c = NULL;
    TRY(imds_client_new(env, http, &c));
    enum err e = imds_get_region(c, now_s, out);
    imds_client_free(c);
    return e;
}
