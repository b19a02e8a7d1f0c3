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
 * Also here: the parsers and checks shared by providers, exposed so tests reach them directly.
 */
#ifndef SV_AWS_CREDS_PROVIDER_H
#define SV_AWS_CREDS_PROVIDER_H

#include "aws/creds.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

struct http_response;

/* A provider's reason for not answering; short, one line, never a secret. */
#define CREDS_MAX_WHY 240
struct creds_why {
    char text[CREDS_MAX_WHY];
};

/* Everything a provider may use, owned by the chain and valid for the chain's lifetime. */
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

/* Writes the reason into why, truncated to fit (for "not set" and other non-errors). */
void creds_why_set(struct creds_why *why, const char *fmt, ...) SV_PRINTF(2, 3);

/* Writes the reason into why (truncated to fit), records the error site, and returns e. */
enum err creds_why_fail(struct creds_why *why, enum err e, const char *file, int line, const char *fmt, ...)
  SV_PRINTF(5, 6);
#define CREDS_FAIL(why, code, ...) return creds_why_fail((why), (code), __FILE__, __LINE__, __VA_ARGS__)

/* The reason for a transport failure or an unexpected status, from an http_perform result. */
enum err creds_why_http(struct creds_why *why, enum err e, const struct http_response *resp, const char *what);

/*
 * Checks a fetched set before the chain accepts it: a key id of printable ASCII without spaces, a non-empty
 * secret, no CR/LF in the session token (it becomes a header), and an expiration after now_s. ERR_PARSE /
 * ERR_CREDS with `why` on failure.
 */
enum err creds_validate(const struct creds *c, int64_t now_s, struct creds_why *why) SV_MUST_CHECK;

/*
 * Parses a container or IMDS credentials document (notes §2, §3): AccessKeyId, SecretAccessKey, Token,
 * Expiration (RFC 3339, required: these credentials always expire), optional AccountId. A document with a
 * `Code` other than "Success" (IMDS) or with `code`/`message` (container errors) is refused with the code in
 * `why`. The parse tree is built in `scratch` and the secret strings in it are overwritten before the arena is
 * rewound. ERR_PARSE for anything malformed or missing.
 */
enum err creds_parse_json(struct span body, struct arena *scratch, struct creds *out, struct creds_why *why)
  SV_MUST_CHECK;

/*
 * Parses an STS answer that carries credentials (<result_name>/Credentials/{AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration}; the account from <result_name>/AssumedRoleUser/Arn): AssumeRoleWithWebIdentity
 * and AssumeRole. Secrets copied into `scratch` by the parser are overwritten before it is rewound. ERR_PARSE
 * with `why` for anything missing or malformed.
 */
enum err creds_parse_sts_xml(
  struct span body,
  const char *result_name,
  struct arena *scratch,
  struct creds *out,
  struct creds_why *why) SV_MUST_CHECK;

/* Overwrites the bytes a span points at (a secret copied into arena memory by a parser). */
void creds_scrub(struct span s);

/*
 * Reads a small token file (web identity JWT, EKS Pod Identity token) into a secret holder; callers re-read it
 * on every fetch because kubelet rotates these files. `trim` drops surrounding whitespace (a trailing newline);
 * without it the content is taken byte for byte. ERR_IO when it cannot be read or is empty, ERR_LIMIT above
 * SECRET_MAX.
 */
enum err creds_read_token_file(const char *path, bool trim, struct secret *out, struct creds_why *why) SV_MUST_CHECK;

/*
 * The container provider's URL rule (notes §2): https to any host; plain http only to loopback (127.0.0.0/8,
 * ::1, "localhost"), the ECS agent 169.254.170.2, or the EKS Pod Identity agent 169.254.170.23 /
 * fd00:ec2::23. Host names other than "localhost" are refused rather than resolved. Parses `url` into
 * out (endpoint_parse_url) and returns ERR_CONFIG with `why` when the URL is malformed or not allowed.
 */
enum err creds_container_check_url(struct span url, struct endpoint *out, struct creds_why *why) SV_MUST_CHECK;

#endif
