/*
 * imds.h - a small client for the EC2 instance metadata service (IMDSv2 with botocore's IMDSv1 fallback).
 *
 * Used by the IMDS credentials provider (creds_imds.c) and for region discovery (imds_get_region) when no
 * region is configured. The rules are AWS_CLIENT_SPEC_NOTES.md §3:
 *   - a session token from `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds: 21600`, cached
 *     for IMDS_TOKEN_CACHE_S and sent as `x-aws-ec2-metadata-token` on every GET;
 *   - "token PUT answered 403/404/405 (or read timeout) → botocore continues without a token (IMDSv1)"; botocore
 *     also goes on without a token after other non-400 answers and connection errors, and so do we; a 400 is an
 *     error;
 *   - "a 401 invalidates the cached token": the GET is retried once with a fresh token;
 *   - 1 s timeout, 1 attempt; endpoint http://169.254.169.254, or http://[fd00:ec2::254] with
 *     AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv6, or AWS_EC2_METADATA_SERVICE_ENDPOINT.
 * Errors carry their reason in err_last() (e.g. "GET /latest/meta-data/placement/region: HTTP 404").
 */
#ifndef SV_AWS_IMDS_H
#define SV_AWS_IMDS_H

#include "aws/endpoint.h"
#include "aws/region.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

struct http_client;
struct http_response;

#define IMDS_ENDPOINT_IPV4 "http://169.254.169.254"
#define IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL_S 21600
/* aws-c-auth caches the token 5 s less than its TTL, so it is never used at the instant it expires. */
#define IMDS_TOKEN_CACHE_S 21595
#define IMDS_TIMEOUT_MS 1000
/* Metadata answers are small; a larger one is refused. */
#define IMDS_MAX_RESPONSE ((size_t) 64 * 1024)

struct imds_client;

/* True when AWS_EC2_METADATA_DISABLED is "true" (any case), botocore's reading. */
bool imds_disabled(const struct endpoint_env *env);

/*
 * Reads the endpoint settings from env. ERR_CONFIG (naming the variable) for an ENDPOINT_MODE other than
 * ipv4/ipv6 or a malformed ENDPOINT URL. `http` is not owned.
 */
enum err imds_client_new(const struct endpoint_env *env, struct http_client *http, struct imds_client **out)
  SV_MUST_CHECK;

/* Wipes the cached token and frees. NULL is fine. */
void imds_client_free(struct imds_client *c);

/* The base URL in use ("http://169.254.169.254"), for messages. */
const char *imds_client_endpoint(const struct imds_client *c);

/*
 * GETs `path` ("/latest/meta-data/...") with the token rules above. On ERR_OK resp->status is 200 and
 * resp->body holds the answer (at most IMDS_MAX_RESPONSE). ERR_NOT_FOUND for 404, ERR_AUTH for 401/403 after
 * the retry, ERR_HTTP for other statuses, the transport error otherwise. `resp` must be initialised
 * (http_response_init); the caller frees it, and wipes the body first when it holds a secret.
 */
enum err imds_get(struct imds_client *c, int64_t now_s, const char *path, struct http_response *resp) SV_MUST_CHECK;

/*
 * The instance's region from GET /latest/meta-data/placement/region. ERR_PARSE when the answer is not a valid
 * region name.
 */
enum err imds_get_region(struct imds_client *c, int64_t now_s, char out[REGION_MAX + 1]) SV_MUST_CHECK;

/*
 * Region discovery for when no region is configured: a client for `env`'s IMDS settings, imds_get_region, and
 * the client freed again. ERR_CONFIG when AWS_EC2_METADATA_DISABLED=true or the IMDS settings are bad; the
 * errors of imds_get_region otherwise (not on EC2: ERR_NET or ERR_TIMEOUT within IMDS_TIMEOUT_MS).
 */
enum err imds_discover_region(
  const struct endpoint_env *env,
  struct http_client *http,
  int64_t now_s,
  char out[REGION_MAX + 1]) SV_MUST_CHECK;

#endif
