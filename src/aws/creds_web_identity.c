/*
 * creds_web_identity.c - credentials from STS AssumeRoleWithWebIdentity (EKS IRSA, and any OIDC token file).
 *
 * What it does (AWS_CLIENT_SPEC_NOTES.md §4): when AWS_WEB_IDENTITY_TOKEN_FILE is set, reads the token file
 * (again on every fetch: "kubelet rotates the token ... so re-read the file on each refresh"), and POSTs
 * `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=…&RoleSessionName=…&WebIdentityToken=…` to the
 * STS endpoint of the configured region (endpoint.c: AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL apply). The
 * operation is unsigned ("authtype: none"), so no credentials are needed to get credentials. The session name
 * is AWS_ROLE_SESSION_NAME, else "smartvault-<unix seconds>" (botocore uses "botocore-session-<seconds>").
 * IDPCommunicationError and InvalidIdentityToken are retried (botocore `retries/special.py`; aws-c-auth also
 * retries the second), as is what net/retry retries (throttling, 429, 500/502/503/504, connection errors and
 * timeouts): 3 attempts in all, 0.5 s then 1 s apart (retry_bounded_again).
 *
 * What it does not do: profile-based web identity (no profile files), DurationSeconds (STS's default hour is
 * what the SDKs use), or role chaining.
 */
#include "aws/creds_provider.h"

#include "aws/error.h"
#include "base/buf.h"
#include "base/time.h"
#include "codec/uri.h"
#include "codec/xml.h"
#include "net/http.h"
#include "net/retry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDS_STS_TIMEOUT_MS 10000
#define CREDS_STS_ATTEMPTS 3
/* Sleep before retry n is n times this: 0.5 s, then 1 s. */
#define CREDS_STS_RETRY_SLEEP_MS 500
/* IAM: role ARNs are at most 2048 characters; session names 2..64 of [\w+=,.@-]. */
#define CREDS_MAX_ROLE_ARN 2048
#define CREDS_MIN_SESSION_NAME 2
#define CREDS_MAX_SESSION_NAME 64
/* The form body: the token percent-encoded (at most 3x) plus the other fields. */
#define CREDS_STS_MAX_BODY ((size_t) 3 * SECRET_MAX + 3 * CREDS_MAX_ROLE_ARN + 1024)

struct creds_web_identity {
    struct creds_provider base;
    struct secret token; /* the token file's content during a fetch; wiped after */
};

static bool s_configured(struct creds_provider *p, struct creds_why *why) {
    if (endpoint_env_get(p->ctx->env, "AWS_WEB_IDENTITY_TOKEN_FILE") != NULL) {
        return true;
    }
    creds_why_set(why, "not configured");
    return false;
}

static bool s_session_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
           c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

static enum err s_session_name(
  const struct endpoint_env *env,
  int64_t now_s,
  char out[CREDS_MAX_SESSION_NAME + 1],
  struct creds_why *why) {
    const char *name = endpoint_env_get(env, "AWS_ROLE_SESSION_NAME");
    if (name == NULL) {
        snprintf(out, CREDS_MAX_SESSION_NAME + 1, "smartvault-%" PRId64, now_s);
        return ERR_OK;
    }
    size_t n = strlen(name);
    bool ok = n >= CREDS_MIN_SESSION_NAME && n <= CREDS_MAX_SESSION_NAME;
    for (size_t i = 0; ok && i < n; i++) {
        ok = s_session_name_char(name[i]);
    }
    if (!ok) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_ROLE_SESSION_NAME must be 2..64 characters of letters, digits and +=,.@_-");
    }
    memcpy(out, name, n + 1);
    return ERR_OK;
}

/* The codes STS models as retryable for this operation (botocore retries/special.py); the rest is net/retry's. */
static enum retry_modeled s_modeled(const struct aws_error *ae) {
    bool sts_retries = strcmp(ae->code, "IDPCommunicationError") == 0 || strcmp(ae->code, "InvalidIdentityToken") == 0;
    return sts_retries ? RETRY_MODELED_TRANSIENT : RETRY_MODELED_NO;
}

/* The form body of notes §4; it holds the token, so the caller wipes it. */
static enum err s_body(struct buf *b, const char *role, const char *session, const struct secret *token) {
    uri_form_add(b, SPAN_LIT("Action"), SPAN_LIT("AssumeRoleWithWebIdentity"));
    uri_form_add(b, SPAN_LIT("Version"), SPAN_LIT("2011-06-15"));
    uri_form_add(b, SPAN_LIT("RoleArn"), span_from_cstr(role));
    uri_form_add(b, SPAN_LIT("RoleSessionName"), span_from_cstr(session));
    uri_form_add(b, SPAN_LIT("WebIdentityToken"), secret_span(token));
    return buf_status(b);
}

static enum err s_call(
  struct creds_provider *p,
  const struct endpoint *ep,
  struct span body,
  struct creds *out,
  struct creds_why *why) {
    char url[ENDPOINT_MAX_URL + 2];
    snprintf(url, sizeof(url), "%s/", ep->base_url);
    static const struct http_header headers[] = {
        { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
    };
    struct http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .nheaders = 1,
        .body = body,
        .timeout_ms = CREDS_STS_TIMEOUT_MS,
    };
    struct http_response resp;
    http_response_init(&resp);
    struct aws_error ae;
    enum err e = ERR_OK;
    const struct retry_bounded retry = { .max_attempts = CREDS_STS_ATTEMPTS,
                                         .delay_ms = CREDS_STS_RETRY_SLEEP_MS,
                                         .linear = true,
                                         .sleep_ms = p->ctx->sleep_ms };
    for (uint32_t attempt = 1;; attempt++) {
        memset(&ae, 0, sizeof(ae));
        e = http_perform(p->ctx->http, &req, &resp);
        if (e == ERR_OK && resp.status != 200) {
            struct aws_error_response er = {
                .http_status = (int) resp.status,
                .body = buf_span(&resp.body),
                .amzn_request_id = http_response_header(&resp, "x-amzn-RequestId"),
            };
            /* Only the code is wanted; the error class aws_error_parse returns is decided below. */
            enum err ignored = aws_error_parse(p->ctx->scratch, &er, &ae);
            (void) ignored;
        }
        struct retry_input in = {
            .attempt = attempt,
            .transport = e,
            .status = resp.status,
            .aws_code = span_from_cstr(ae.code),
            .modeled = s_modeled(&ae),
        };
        if (!retry_bounded_again(&retry, &in)) {
            break;
        }
    }
    if (e != ERR_OK) {
        e = creds_why_http(why, e, &resp, ep->host_header);
    } else if (resp.status != 200) {
        e = creds_why_fail(
          why,
          aws_error_is_auth(aws_error_code(&ae)) ? ERR_AUTH : ERR_AWS,
          __FILE__,
          __LINE__,
          "%s: HTTP %ld %s",
          ep->host_header,
          resp.status,
          ae.code);
    } else {
        e = creds_parse_sts_xml(buf_span(&resp.body), "AssumeRoleWithWebIdentityResult", p->ctx->scratch, out, why);
    }
    buf_wipe_free(&resp.body);
    http_response_free(&resp);
    return e;
}

static enum err s_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    struct creds_web_identity *self = (struct creds_web_identity *) p;
    const struct endpoint_env *env = p->ctx->env;
    const char *file = endpoint_env_get(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = endpoint_env_get(env, "AWS_ROLE_ARN");
    /* botocore: a token file without a role ARN is InvalidConfigError, not a reason to try the next link. */
    if (role == NULL) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
    }
    if (strncmp(role, "arn:", 4) != 0 || strlen(role) > CREDS_MAX_ROLE_ARN) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_ROLE_ARN is not a role ARN");
    }
    char session[CREDS_MAX_SESSION_NAME + 1];
    TRY(s_session_name(env, now_s, session, why));
    struct endpoint ep;
    if (endpoint_resolve(env, ENDPOINT_STS, p->ctx->region, NULL, &ep) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "STS endpoint: %s", err_last()->msg);
    }
    TRY(creds_read_token_file(file, true, &self->token, why));
    struct buf body;
    buf_init(&body, CREDS_STS_MAX_BODY);
    enum err e = s_body(&body, role, session, &self->token);
    secret_wipe(&self->token);
    if (e != ERR_OK) {
        e = creds_why_fail(why, e, __FILE__, __LINE__, "STS request body over %zu bytes", CREDS_STS_MAX_BODY);
    } else {
        e = s_call(p, &ep, buf_span(&body), out, why);
    }
    buf_wipe_free(&body);
    return e;
}

static void s_destroy(struct creds_provider *p) {
    struct creds_web_identity *self = (struct creds_web_identity *) p;
    secret_wipe(&self->token);
    free(self);
}

static const struct creds_provider_vtable s_vtable = { s_configured, s_fetch, s_destroy };

struct creds_provider *creds_web_identity_new(const struct creds_provider_ctx *ctx) {
    struct creds_web_identity *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        FATAL("out of memory");
    }
    self->base = (struct creds_provider){ "web_identity", "web identity", &s_vtable, ctx };
    return &self->base;
}
