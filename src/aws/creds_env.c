/*
 * creds_env.c - credentials from environment variables, the first link of the chain.
 *
 * Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, the optional AWS_SESSION_TOKEN (or the legacy
 * AWS_SECURITY_TOKEN that botocore also accepts), AWS_CREDENTIAL_EXPIRATION and AWS_ACCOUNT_ID (notes §1,
 * botocore `EnvProvider`). The link counts as configured when AWS_ACCESS_KEY_ID is set; a key id without its
 * secret is a configuration error (botocore raises PartialCredentialsError rather than moving on). No profile
 * files, no AWS_PROFILE: SmartVault is configured by its environment only.
 */
#include "aws/creds_provider.h"

#include "base/time.h"

#include <stdlib.h>

static bool s_configured(struct creds_provider *p, struct creds_why *why) {
    if (endpoint_env_get(p->ctx->env, "AWS_ACCESS_KEY_ID") != NULL) {
        return true;
    }
    creds_why_set(why, "not set");
    return false;
}

static enum err s_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    (void) now_s;
    const struct endpoint_env *env = p->ctx->env;
    const char *key = endpoint_env_get(env, "AWS_ACCESS_KEY_ID");
    const char *secret = endpoint_env_get(env, "AWS_SECRET_ACCESS_KEY");
    if (secret == NULL) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    if (span_copy_cstr(span_from_cstr(key), out->access_key_id, sizeof(out->access_key_id)) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_ACCESS_KEY_ID is longer than %d characters", CREDS_MAX_ACCESS_KEY_ID);
    }
    if (secret_set(&out->secret_access_key, span_from_cstr(secret)) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_SECRET_ACCESS_KEY is longer than %d bytes", SECRET_MAX);
    }
    const char *token = endpoint_env_get(env, "AWS_SESSION_TOKEN");
    if (token == NULL) {
        token = endpoint_env_get(env, "AWS_SECURITY_TOKEN");
    }
    if (token != NULL && secret_set(&out->session_token, span_from_cstr(token)) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_SESSION_TOKEN is longer than %d bytes", SECRET_MAX);
    }
    out->expiration_s = CREDS_NO_EXPIRY;
    const char *exp = endpoint_env_get(env, "AWS_CREDENTIAL_EXPIRATION");
    if (exp != NULL && time_parse_rfc3339(span_from_cstr(exp), &out->expiration_s) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time");
    }
    const char *account = endpoint_env_get(env, "AWS_ACCOUNT_ID");
    if (
      account != NULL && span_copy_cstr(span_from_cstr(account), out->account_id, sizeof(out->account_id)) != ERR_OK) {
        CREDS_FAIL(why, ERR_CONFIG, "AWS_ACCOUNT_ID is longer than %d characters", CREDS_MAX_ACCOUNT_ID);
    }
    return ERR_OK;
}

static void s_destroy(struct creds_provider *p) {
    free(p);
}

static const struct creds_provider_vtable s_vtable = { s_configured, s_fetch, s_destroy };

struct creds_provider *creds_env_new(const struct creds_provider_ctx *ctx) {
    struct creds_provider *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        FATAL("out of memory");
    }
    *p = (struct creds_provider){ "env", "env", &s_vtable, ctx };
    return p;
}
