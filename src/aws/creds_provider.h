/*
 * creds_provider.h - the interface between the chain (creds.c) and the credential providers, one file each:
 * creds_env.c, creds_web_identity.c, creds_container.c, creds_imds.c. Request code never includes this; it
 * uses creds.h.
 *
 * A provider answers two questions. `configured`: are its variables set at all? (No → the chain skips it
 * without a word, and `why` says "not set" / "not configured" for the one-line summary.) `fetch`: get
 * credentials now. Fetch returns ERR_OK with *out filled, ERR_CONFIG for a configuration the user must fix
 * (the chain stops), or any other error for a configured source that failed (the chain logs one warning and
 * goes on). On failure `why` holds a short reason without secrets ("connection refused", "HTTP 500",
 * "AWS_ROLE_ARN is not set").
 *
 * The parsers and checks the providers share live below them, in creds_util.h.
 */
#ifndef SV_AWS_CREDS_PROVIDER_H
#define SV_AWS_CREDS_PROVIDER_H

#include "aws/creds_util.h"
#include "aws/endpoint.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

struct creds_chain;
struct http_client;
struct http_response;

struct creds_provider_ctx {
    const struct endpoint_env *env;
    struct http_client *http;
    const char *region;           /* NULL or "" = none */
    void (*sleep_ms)(int64_t ms); /* never NULL */
    struct arena *scratch;        /* for parsing; providers rewind what they use */
};

struct creds_provider;

struct creds_provider_vtable {
    bool (*configured)(struct creds_provider *p, struct creds_why *why);
    enum err (*fetch)(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why);
    void (*destroy)(struct creds_provider *p);
};

struct creds_provider {
    const char *name;  /* for logs and struct creds.provider: "env", "web_identity", "container", "imds" */
    const char *label; /* for the one-line summary: "env", "web identity", "container", "imds" */
    const struct creds_provider_vtable *vt;
    const struct creds_provider_ctx *ctx;
};

/* Constructors: each allocates on the heap (fatal when out of memory) and never fails otherwise. */
struct creds_provider *creds_env_new(const struct creds_provider_ctx *ctx);
struct creds_provider *creds_web_identity_new(const struct creds_provider_ctx *ctx);
struct creds_provider *creds_container_new(const struct creds_provider_ctx *ctx);
struct creds_provider *creds_imds_new(const struct creds_provider_ctx *ctx);

/*
 * A chain over the given providers, tried in order (tests use it with fake providers). Takes ownership of the
 * providers and of nothing else; `ctx` must outlive the chain.
 */
enum err creds_chain_new_from(struct creds_provider *const *providers, size_t count, struct creds_chain **out)
  SV_MUST_CHECK;

/*
 * The container provider's URL rule (notes §2): https to any host; plain http only to loopback (127.0.0.0/8,
 * ::1, "localhost"), the ECS agent 169.254.170.2, or the EKS Pod Identity agent 169.254.170.23 /
 * fd00:ec2::23. Host names other than "localhost" are refused rather than resolved. Parses `url` into
 * out (endpoint_parse_url) and returns ERR_CONFIG with `why` when the URL is malformed or not allowed.
 */
enum err creds_container_check_url(struct span url, struct endpoint *out, struct creds_why *why) SV_MUST_CHECK;

#endif
