/*
 * creds_imds.c - credentials of the EC2 instance role, the last link of the chain.
 *
 * Three steps over the IMDS client (imds.c, notes §3): list the role under
 * /latest/meta-data/iam/security-credentials/, GET that role's document, parse it (creds_parse_json). The link
 * is not tried when the container variables are set ("ECS and IMDS are exclusive", aws-c-auth
 * `credentials_provider_default_chain.c`) or when AWS_EC2_METADATA_DISABLED=true.
 *
 * What it does not do: botocore's "static stability" trick of extending already expired credentials, or the
 * extended-role endpoint (security-credentials-extended); an instance without a role is an ordinary failure.
 */
#include "aws/creds_provider.h"

#include "aws/imds.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>

#define CREDS_IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
/* IAM role names are at most 64 characters of [\w+=,.@-]. */
#define CREDS_IMDS_MAX_ROLE 64

struct creds_imds {
    struct creds_provider base;
    struct imds_client *client; /* created on the first fetch, so a chain that never gets here reads nothing */
};

static bool s_configured(struct creds_provider *p, struct creds_why *why) {
    const struct endpoint_env *env = p->ctx->env;
    if (
      endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL ||
      endpoint_env_get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL) {
        creds_why_set(why, "not tried (container credentials are configured)");
        return false;
    }
    if (imds_disabled(env)) {
        creds_why_set(why, "disabled (AWS_EC2_METADATA_DISABLED)");
        return false;
    }
    return true;
}

/* The reason recorded by imds.c, for the summary line. */
static enum err s_from_last(struct creds_why *why, enum err e) {
    creds_why_set(why, "%s", err_last()->msg);
    return e;
}

static bool s_role_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
           c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

/* The first line of the listing; it goes into a URL path, so only IAM name characters are accepted. */
static enum err s_role_name(struct span listing, char out[CREDS_IMDS_MAX_ROLE + 1], struct creds_why *why) {
    struct span first, rest;
    span_split(listing, '\n', &first, &rest);
    first = span_trim(first);
    if (first.n == 0) {
        CREDS_FAIL(why, ERR_NOT_FOUND, "no IAM role is attached to the instance");
    }
    for (size_t i = 0; i < first.n; i++) {
        if (!s_role_char(first.p[i])) {
            CREDS_FAIL(why, ERR_PARSE, "the role listing is not an IAM role name");
        }
    }
    if (span_copy_cstr(first, out, CREDS_IMDS_MAX_ROLE + 1) != ERR_OK) {
        CREDS_FAIL(why, ERR_PARSE, "role name longer than %d characters", CREDS_IMDS_MAX_ROLE);
    }
    return ERR_OK;
}

static enum err s_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    struct creds_imds *self = (struct creds_imds *) p;
    if (self->client == NULL) {
        enum err e = imds_client_new(p->ctx->env, p->ctx->http, &self->client);
        if (e != ERR_OK) {
            return s_from_last(why, e);
        }
    }
    struct http_response resp;
    http_response_init(&resp);
    char role[CREDS_IMDS_MAX_ROLE + 1];
    enum err e = imds_get(self->client, now_s, CREDS_IMDS_ROLE_PATH, &resp);
    if (e == ERR_NOT_FOUND) {
        e = creds_why_fail(why, e, __FILE__, __LINE__, "no IAM role is attached to the instance");
    } else if (e != ERR_OK) {
        e = s_from_last(why, e);
    } else {
        e = s_role_name(buf_span(&resp.body), role, why);
    }
    if (e == ERR_OK) {
        char path[sizeof(CREDS_IMDS_ROLE_PATH) + CREDS_IMDS_MAX_ROLE];
        snprintf(path, sizeof(path), "%s%s", CREDS_IMDS_ROLE_PATH, role);
        e = imds_get(self->client, now_s, path, &resp);
        if (e != ERR_OK) {
            e = s_from_last(why, e);
        } else {
            e = creds_parse_json(buf_span(&resp.body), p->ctx->scratch, out, why);
        }
        buf_wipe_free(&resp.body);
    }
    http_response_free(&resp);
    return e;
}

static void s_destroy(struct creds_provider *p) {
    struct creds_imds *self = (struct creds_imds *) p;
    imds_client_free(self->client);
    free(self);
}

static const struct creds_provider_vtable s_vtable = { s_configured, s_fetch, s_destroy };

struct creds_provider *creds_imds_new(const struct creds_provider_ctx *ctx) {
    struct creds_imds *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        FATAL("out of memory");
    }
    self->base = (struct creds_provider){ "imds", "imds", &s_vtable, ctx };
    return &self->base;
}
