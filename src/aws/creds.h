/*
 * creds.h - the provider chain that fills and refreshes the credentials every signer reads (struct creds, in
 * creds_util.h, which this header includes).
 *
 * How a request layer uses it:
 *
 *   struct creds_chain_options o = { .env = &cfg->env, .http = http, .region = region };
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

#include "aws/creds_util.h"
#include "aws/endpoint.h"
#include "base/err.h"
#include "base/secret.h"

#include <stdbool.h>
#include <stdint.h>

struct http_client;

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
