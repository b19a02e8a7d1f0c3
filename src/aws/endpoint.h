/*
 * endpoint.h - where a request for an AWS service goes (base URL, Host header) and how it is signed (signing
 * name and region).
 *
 * Resolution follows AWS_CLIENT_SPEC_NOTES.md §6 (SDKs and Tools Reference Guide, "Service-specific
 * endpoints"): AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL > the default https://<prefix>.<region>.<suffix>,
 * and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true turns both variables off. SmartVault has no profile files, so
 * the two profile levels of the SDK order do not exist here. An override changes the URL only, never the
 * signing scope ("CloudWatch still signs as `monitoring`").
 *
 * The environment is read through a `struct endpoint_env` callback (in production the validated configuration,
 * cfg_env_get) so tests never touch the process environment; the credential providers use the same callback.
 */
#ifndef SV_AWS_ENDPOINT_H
#define SV_AWS_ENDPOINT_H

#include "aws/region.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

/* Named maximums of a resolved endpoint. An override longer than these is refused (ERR_LIMIT), not cut. */
#define ENDPOINT_MAX_HOST 255        /* DNS name (253) or a bracketed IPv6 literal */
#define ENDPOINT_MAX_HOST_HEADER 262 /* host + ":65535" */
#define ENDPOINT_MAX_PATH 1024       /* path prefix of an override URL, plus "/<bucket>" */
#define ENDPOINT_MAX_URL 1300        /* "https://" + host header + path */
#define ENDPOINT_MAX_BUCKET 63       /* S3 bucket names are 3..63 characters */

/*
 * A getenv-like lookup. `get` returns NULL when the variable is unset; the returned string must stay valid
 * while the caller uses it (getenv's contract). Everything in aws/ reads the environment through this.
 */
struct endpoint_env {
    const char *(*get)(void *ctx, const char *name);
    void *ctx;
};

/*
 * An environment with nothing set. The process environment is read by the configuration only (cfg/cfg.h: a
 * parsed `struct cfg` carries the `struct endpoint_env` every caller hands down), so flags reach this layer too.
 */
extern const struct endpoint_env endpoint_env_none;

/* The value of `name`, or NULL when it is unset or empty (an empty variable counts as unset everywhere). */
const char *endpoint_env_get(const struct endpoint_env *env, const char *name);

/* True when `name` is set to "true" in any letter case (botocore's reading of boolean variables). */
bool endpoint_env_is_true(const struct endpoint_env *env, const char *name);

enum endpoint_service {
    ENDPOINT_EC2 = 0,
    ENDPOINT_S3,
    ENDPOINT_SNS,
    ENDPOINT_CLOUDWATCH,
    ENDPOINT_DYNAMODB,
    ENDPOINT_STS,
    ENDPOINT_KMS,
    ENDPOINT_ORGANIZATIONS, /* JSON 1.1; one endpoint per partition (endpoint_resolve) */
    ENDPOINT__COUNT
};

struct endpoint_service_info {
    enum endpoint_service service;
    const char *env_id;       /* serviceId upper-cased, spaces → '_': AWS_ENDPOINT_URL_<env_id> */
    const char *prefix;       /* endpointPrefix: the first DNS label of the default host */
    const char *signing_name; /* SigV4 service name; equals prefix for every service here */
};

/* Static table entry for a service; never NULL for a valid enum value. */
const struct endpoint_service_info *endpoint_service_info(enum endpoint_service service);

/* Finds a service by its env id or endpoint prefix, any letter case ("s3", "CLOUDWATCH", "monitoring"). */
bool endpoint_service_parse(struct span name, enum endpoint_service *out);

struct endpoint {
    enum endpoint_service service;
    bool https;
    char host[ENDPOINT_MAX_HOST + 1]; /* as in the URL: IPv6 literals keep their brackets */
    uint16_t port;                    /* 0 when the URL names no port or the scheme's default */
    /*
     * What goes between the authority and the operation's own path, without a trailing slash: "" for a
     * default endpoint, "/prefix" for an override with a path, and for path-style S3 "/<bucket>" appended.
     * The request layer signs and sends <path_prefix>/<operation path>.
     */
    char path_prefix[ENDPOINT_MAX_PATH + 1];
    char host_header[ENDPOINT_MAX_HOST_HEADER + 1]; /* host[:port], the value of Host and of the signed header */
    char base_url[ENDPOINT_MAX_URL + 1];            /* scheme://host_header path_prefix */
    char signing_region[REGION_MAX + 1];
    const char *signing_name; /* static */
    bool s3_path_style;       /* S3 with a bucket: the bucket is in path_prefix, not in the host */
    const char *source;       /* static: "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" or "default" */
};

/*
 * Resolves the endpoint of `service` in `region`.
 *
 * region: a valid region name (region_is_valid). It is the signing region even when an override URL is used.
 * For STS only, NULL or "" selects the global endpoint https://sts.amazonaws.com signed for us-east-1 (what
 * botocore does when no region is configured).
 *
 * bucket (S3 only, else must be NULL): NULL for service-level calls. An ordinary bucket name (a DNS label:
 * 3..63 of [a-z0-9-]) gets the virtual-hosted https://<bucket>.s3.<region>.<suffix>; a name with dots (TLS
 * wildcard certificates do not cover them), upper case or underscores (legacy us-east-1 names), or any
 * bucket when an override URL is set (emulators such as moto need it), gets path style
 * https://s3.<region>.<suffix>/<bucket>.
 *
 * Errors: ERR_INVALID for a bad region, service or bucket name; ERR_CONFIG for a malformed override URL (the
 * message names the variable); ERR_LIMIT when a part exceeds the maximums above.
 */
enum err endpoint_resolve(
  const struct endpoint_env *env,
  enum endpoint_service service,
  const char *region,
  const char *bucket,
  struct endpoint *out) SV_MUST_CHECK;

/*
 * Parses an endpoint URL "http[s]://host[:port][/path]" into out->https, host, port, path_prefix (trailing
 * slashes dropped). Refused (ERR_CONFIG): other schemes, empty host, user info, a query or fragment, spaces
 * or control characters, a port outside 1..65535, an unterminated IPv6 bracket. Exposed for the container
 * credentials provider and for tests; the other fields of out are left untouched.
 */
enum err endpoint_parse_url(struct span url, struct endpoint *out) SV_MUST_CHECK;

#endif
