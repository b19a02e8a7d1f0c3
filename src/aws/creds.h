/*
 * creds.h - AWS credentials: the struct every signer reads, and the provider chain that fills and refreshes it.
 *
 * How a request layer uses it:
 *
 *   struct creds_chain_options o = { .env = &endpoint_env_process, .http = http, .region = region };
 *   struct creds_chain *chain;
 *   TRY(creds_chain_new(&o, &chain));              // reads nothing yet, contacts nothing
 *   ...
 *   const struct creds *c;
 *   TRY(creds_get(chain, now_s, &c));              // before signing each request (cheap when fresh)
 *   sign with c->access_key_id, secret_span(&c->secret_access_key), secret_span(&c->session_token) ...
 *   ...
 *   creds_chain_free(chain);                       // wipes every secret
 *
 * The chain (AWS_CLIENT_SPEC_NOTES.md §1, the C runtime's order) is: env → web identity → container → IMDS;
 * container and IMDS are exclusive (when the container variables are set IMDS is not tried). The first link
 * that yields credentials answers and is logged (`creds.resolved`, provider name and expiration). A link that
 * is not configured is skipped silently; one that is configured but fails logs one `creds.provider_failed`
 * warning and the chain goes on; one that is configured wrongly (e.g. a token file without a role ARN, a
 * container URL with a host that is not allowed) stops the chain with ERR_CONFIG, as botocore's
 * InvalidConfigError does: falling through to another identity would hide the mistake.
 *
 * Secrets live in `struct secret` holders inside a heap-allocated chain, never in an arena and never in a
 * log: the logs carry the provider name, the expiration and at most the last four characters of the key id.
 * Time is passed in; nothing here reads a clock.
 */
#ifndef SV_AWS_CREDS_H
#define SV_AWS_CREDS_H

#include "aws/endpoint.h"
#include "base/err.h"
#include "base/secret.h"

#include <stdbool.h>
#include <stdint.h>

struct http_client;

/* Access key ids are 16..128 characters (IAM AccessKey.AccessKeyId). */
#define CREDS_MAX_ACCESS_KEY_ID 128
/* Account ids are 12 digits. */
#define CREDS_MAX_ACCOUNT_ID 12
/* "****" + the last four characters. */
#define CREDS_REDACTED_KEY_ID_LEN 8
/* The one-line reason the chain found nothing ("env not set; web identity not configured; ..."). */
#define CREDS_MAX_FAILURE 1024

/* Marks credentials that never expire (long-term keys from the environment). */
#define CREDS_NO_EXPIRY INT64_MAX

/*
 * Refresh windows, botocore `credentials.py` `_DEFAULT_ADVISORY_REFRESH_TIMEOUT` = 15 * 60 and
 * `_DEFAULT_MANDATORY_REFRESH_TIMEOUT` = 10 * 60 (notes §1): "refreshes 15 min before expiry (advisory) and
 * forces it at 10 min (mandatory)". An advisory refresh that fails keeps the current credentials; a
 * mandatory one that fails is an error.
 */
#define CREDS_ADVISORY_REFRESH_S (15 * 60)
#define CREDS_MANDATORY_REFRESH_S (10 * 60)
/*
 * Ours, not botocore's: after a refresh attempt that left the credentials inside the advisory window (the
 * source failed, or handed back credentials that still expire soon, which IMDS does for up to 5 min before it
 * rotates), the next attempt waits this long instead of hitting the source before every request. It never
 * delays a refresh of credentials that are expired or inside the mandatory window.
 */
#define CREDS_REFRESH_RETRY_S 30

struct creds {
    char access_key_id[CREDS_MAX_ACCESS_KEY_ID + 1];
    struct secret secret_access_key;
    struct secret session_token;               /* .set is false for long-term keys */
    int64_t expiration_s;                      /* Unix seconds; CREDS_NO_EXPIRY when they do not expire */
    char account_id[CREDS_MAX_ACCOUNT_ID + 1]; /* "" when the source did not say */
    const char *provider;                      /* static: "env", "web_identity", "container", "imds" */
};

/* Overwrites everything, secrets included. */
void creds_wipe(struct creds *c);

/* Copies src into dst (both outside any arena). */
void creds_copy(struct creds *dst, const struct creds *src);

/* "****WXYZ": the only form in which a key id is ever shown. "" for an empty key id. */
void creds_redact_key_id(const char *access_key_id, char out[CREDS_REDACTED_KEY_ID_LEN + 1]);

enum creds_refresh {
    CREDS_REFRESH_NONE = 0,  /* use the credentials as they are */
    CREDS_REFRESH_ADVISORY,  /* try to refresh; on failure keep using them */
    CREDS_REFRESH_MANDATORY, /* refresh; on failure there are no usable credentials */
};

/*
 * The refresh decision for credentials expiring at expiration_s, seen at now_s, when the last attempt asked to
 * be left alone until retry_after_s (0 when none). Pure; the table in tests/unit/test_creds.c is its spec:
 *   no expiry, or more than CREDS_ADVISORY_REFRESH_S left          → NONE
 *   more than CREDS_MANDATORY_REFRESH_S left, now < retry_after_s  → NONE
 *   more than CREDS_MANDATORY_REFRESH_S left                       → ADVISORY
 *   otherwise (including expired)                                  → MANDATORY
 */
enum creds_refresh creds_refresh_due(int64_t expiration_s, int64_t now_s, int64_t retry_after_s);

struct creds_chain_options {
    const struct endpoint_env *env; /* NULL = the process environment */
    struct http_client *http;       /* required: web identity, container and IMDS use it; not owned */
    /*
     * Region of the STS endpoint for web identity (regional https://sts.<region>.<suffix>, or an
     * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL override). NULL or "" = the global endpoint. Copied.
     */
    const char *region;
    /* Sleeps between retries of a provider; NULL = nanosleep. Tests pass a function that returns at once. */
    void (*sleep_ms)(int64_t ms);
};

struct creds_chain;

/*
 * Builds the default chain. Reads no variable and contacts nothing: that happens on the first creds_get.
 * ERR_INVALID for a missing http client.
 */
enum err creds_chain_new(const struct creds_chain_options *opt, struct creds_chain **out) SV_MUST_CHECK;

/* Wipes every secret and frees the chain. NULL is fine. */
void creds_chain_free(struct creds_chain *chain);

/*
 * Credentials usable at now_s. The first call walks the chain; later calls return the same credentials until
 * creds_refresh_due says otherwise, then refresh from the provider that answered (as SDKs do: a refresh never
 * switches to another link). *out points into the chain and stays valid until the next creds_get or
 * creds_chain_free.
 *
 * Errors: ERR_CREDS when no link yielded credentials or a mandatory refresh failed (creds_chain_failure says
 * why, in one line); ERR_CONFIG when a link is configured wrongly (the line names the variable).
 */
enum err creds_get(struct creds_chain *chain, int64_t now_s, const struct creds **out) SV_MUST_CHECK;

/* Why the last creds_get failed, one line without secrets; "" after a success. */
const char *creds_chain_failure(const struct creds_chain *chain);

/* How many times a provider has been asked for credentials and answered (first fetch and refreshes). */
uint64_t creds_chain_fetch_count(const struct creds_chain *chain);

#endif
