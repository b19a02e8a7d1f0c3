/*
 * endpoint.c - the service table and endpoint resolution (AWS_CLIENT_SPEC_NOTES.md §6).
 *
 * What it does: picks the base URL for a service from AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL or the
 * partition's default host, decides S3 virtual-hosted versus path style, and fills in the Host header and
 * signing scope. What it does not do: DNS, FIPS or dual-stack endpoints (SmartVault does not offer them),
 * S3 access points or Outposts, profile `services` sections (there are no profile files), or any network I/O.
 */
#include "aws/endpoint.h"

#include "codec/uri.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * serviceId and endpointPrefix as in botocore `data/<service>/<version>/service-2.json`; the env id is the
 * serviceId upper-cased with spaces and hyphens turned into '_' (notes §6: "CloudWatch → _CLOUDWATCH").
 */
static const struct endpoint_service_info s_services[ENDPOINT__COUNT] = {
    [ENDPOINT_EC2] = { ENDPOINT_EC2, "EC2", "ec2", "ec2" },
    [ENDPOINT_S3] = { ENDPOINT_S3, "S3", "s3", "s3" },
    [ENDPOINT_SNS] = { ENDPOINT_SNS, "SNS", "sns", "sns" },
    [ENDPOINT_CLOUDWATCH] = { ENDPOINT_CLOUDWATCH, "CLOUDWATCH", "monitoring", "monitoring" },
    [ENDPOINT_DYNAMODB] = { ENDPOINT_DYNAMODB, "DYNAMODB", "dynamodb", "dynamodb" },
    [ENDPOINT_STS] = { ENDPOINT_STS, "STS", "sts", "sts" },
    [ENDPOINT_KMS] = { ENDPOINT_KMS, "KMS", "kms", "kms" },
    [ENDPOINT_ORGANIZATIONS] = { ENDPOINT_ORGANIZATIONS, "ORGANIZATIONS", "organizations", "organizations" },
};

/* The environment variable names, kept as literals so `source` can point at them. */
static const char *const s_service_env_vars[ENDPOINT__COUNT] = {
    [ENDPOINT_EC2] = "AWS_ENDPOINT_URL_EC2",           [ENDPOINT_S3] = "AWS_ENDPOINT_URL_S3",
    [ENDPOINT_SNS] = "AWS_ENDPOINT_URL_SNS",           [ENDPOINT_CLOUDWATCH] = "AWS_ENDPOINT_URL_CLOUDWATCH",
    [ENDPOINT_DYNAMODB] = "AWS_ENDPOINT_URL_DYNAMODB", [ENDPOINT_STS] = "AWS_ENDPOINT_URL_STS",
    [ENDPOINT_KMS] = "AWS_ENDPOINT_URL_KMS",           [ENDPOINT_ORGANIZATIONS] = "AWS_ENDPOINT_URL_ORGANIZATIONS",
};

/* What botocore uses when STS has no region: the global endpoint, signed for us-east-1. */
#define ENDPOINT_STS_GLOBAL_HOST "sts.amazonaws.com"
#define ENDPOINT_STS_GLOBAL_REGION "us-east-1"

/*
 * AWS Organizations has one endpoint per partition (botocore endpoints.json, "organizations": aws-global →
 * organizations.us-east-1.amazonaws.com, aws-cn-global → organizations.cn-northwest-1..., aws-us-gov-global →
 * organizations.us-gov-west-1...), signed for that region whatever the caller's home region is.
 */
static const char *s_organizations_region(const char *home) {
    switch (region_partition(span_from_cstr(home))->id) {
        case REGION_PARTITION_AWS:
            return "us-east-1";
        case REGION_PARTITION_AWS_CN:
            return "cn-northwest-1";
        case REGION_PARTITION_AWS_US_GOV:
            return "us-gov-west-1";
        default:
            return home;
    }
}

static const char *s_none(void *ctx, const char *name) {
    (void) ctx;
    (void) name;
    return NULL;
}

const struct endpoint_env endpoint_env_none = { s_none, NULL };

const char *endpoint_env_get(const struct endpoint_env *env, const char *name) {
    const char *v = env->get(env->ctx, name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

bool endpoint_env_is_true(const struct endpoint_env *env, const char *name) {
    const char *v = endpoint_env_get(env, name);
    return v != NULL && span_eq_nocase(span_from_cstr(v), SPAN_LIT("true"));
}

const struct endpoint_service_info *endpoint_service_info(enum endpoint_service service) {
    if ((int) service < 0 || service >= ENDPOINT__COUNT) {
        return NULL;
    }
    return &s_services[service];
}

bool endpoint_service_parse(struct span name, enum endpoint_service *out) {
    for (size_t i = 0; i < ENDPOINT__COUNT; i++) {
        if (
          span_eq_nocase(name, span_from_cstr(s_services[i].env_id)) ||
          span_eq_nocase(name, span_from_cstr(s_services[i].prefix))) {
            *out = s_services[i].service;
            return true;
        }
    }
    return false;
}

/* snprintf into a fixed array; ERR_LIMIT instead of a silent cut. */
SV_PRINTF(4, 5)
static enum err s_fmt(char *out, size_t cap, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    ENSURE(n >= 0 && (size_t) n < cap, ERR_LIMIT, "%s longer than %zu bytes", what, cap - 1);
    return ERR_OK;
}

static bool s_is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

static bool s_is_ipv6_char(char c) {
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* Host names, IPv4 literals and bracketed IPv6 literals only: no percent-encoding, no zone ids. */
static bool s_host_is_valid(struct span host) {
    bool v6 = host.n >= 2 && host.p[0] == '[' && host.p[host.n - 1] == ']';
    for (size_t i = v6 ? 1 : 0; i < (v6 ? host.n - 1 : host.n); i++) {
        if (!(v6 ? s_is_ipv6_char(host.p[i]) : s_is_host_char(host.p[i]))) {
            return false;
        }
    }
    return true;
}

enum err endpoint_parse_url(struct span url, struct endpoint *out) {
    struct uri_parts u;
    enum err e = uri_split(url, &u);
    ENSURE(e != ERR_LIMIT, ERR_LIMIT, "URL longer than %zu bytes", URI_MAX_URL_BYTES);
    ENSURE(e == ERR_OK, ERR_CONFIG, "malformed URL (%s)", e == ERR_INVALID ? "user information" : "syntax");
    ENSURE(span_index(url, '?') < 0 && span_index(url, '#') < 0, ERR_CONFIG, "URL must not carry a query or fragment");
    out->https = span_eq_nocase(u.scheme, SPAN_LIT("https"));
    ENSURE(out->https || span_eq_nocase(u.scheme, SPAN_LIT("http")), ERR_CONFIG, "URL scheme must be http or https");
    ENSURE(s_host_is_valid(u.host), ERR_CONFIG, "bad character in URL host");
    ENSURE(u.host.n <= ENDPOINT_MAX_HOST, ERR_LIMIT, "host longer than %d bytes", ENDPOINT_MAX_HOST);
    /* DNS names are case-insensitive; lower case keeps the URL, the Host header and the signature in step. */
    for (size_t i = 0; i < u.host.n; i++) {
        char c = u.host.p[i];
        out->host[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
    }
    out->host[u.host.n] = '\0';
    out->port = 0;
    uint64_t port = 0;
    /* uri_split has checked the range. A default port is left out, as curl sends Host and SigV4 signs it. */
    if (u.port.n > 0 && span_to_u64(u.port, 65535, &port) == ERR_OK && port != (out->https ? 443u : 80u)) {
        out->port = (uint16_t) port;
    }
    struct span path = u.path;
    while (path.n > 0 && path.p[path.n - 1] == '/') {
        path.n--;
    }
    ENSURE(path.n <= ENDPOINT_MAX_PATH, ERR_LIMIT, "URL path longer than %d bytes", ENDPOINT_MAX_PATH);
    TRY(span_copy_cstr(path, out->path_prefix, sizeof(out->path_prefix)));
    return ERR_OK;
}

/* The override URL for a service, with the name of the variable it came from; NULL when none applies. */
static const char *s_configured_url(const struct endpoint_env *env, enum endpoint_service service, const char **src) {
    /* notes §6: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables the env and config ones." */
    if (endpoint_env_is_true(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
        return NULL;
    }
    const char *v = endpoint_env_get(env, s_service_env_vars[service]);
    if (v != NULL) {
        *src = s_service_env_vars[service];
        return v;
    }
    v = endpoint_env_get(env, "AWS_ENDPOINT_URL");
    if (v != NULL) {
        *src = "AWS_ENDPOINT_URL";
    }
    return v;
}

/* Bucket names S3 accepts today (and legacy us-east-1 ones with upper case and '_'). */
static bool s_bucket_is_valid(struct span b) {
    if (b.n < 3 || b.n > ENDPOINT_MAX_BUCKET) {
        return false;
    }
    for (size_t i = 0; i < b.n; i++) {
        char c = b.p[i];
        if (!(s_is_host_char(c))) {
            return false;
        }
    }
    return true;
}

/* botocore `is_valid_virtual_host_bucket_name`: ^[a-z0-9][a-z0-9\-]*[a-z0-9]$, 3..63 characters. */
static bool s_bucket_is_dns_label(struct span b) {
    for (size_t i = 0; i < b.n; i++) {
        char c = b.p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < b.n)) {
            return false;
        }
    }
    return true;
}

enum err endpoint_resolve(
  const struct endpoint_env *env,
  enum endpoint_service service,
  const char *region,
  const char *bucket,
  struct endpoint *out) {
    memset(out, 0, sizeof(*out));
    const struct endpoint_service_info *info = endpoint_service_info(service);
    ENSURE(info != NULL, ERR_INVALID, "unknown service %d", (int) service);
    out->service = service;
    out->signing_name = info->signing_name;

    if (service == ENDPOINT_ORGANIZATIONS && region != NULL) {
        region = s_organizations_region(region);
    }
    struct span reg = span_from_cstr(region);
    bool sts_global = service == ENDPOINT_STS && reg.n == 0;
    if (sts_global) {
        reg = SPAN_LIT(ENDPOINT_STS_GLOBAL_REGION);
    }
    ENSURE(region_is_valid(reg), ERR_INVALID, "invalid region name '%.*s'", SPAN_FMT(reg));
    TRY(span_copy_cstr(reg, out->signing_region, sizeof(out->signing_region)));

    struct span bkt = span_from_cstr(bucket);
    ENSURE(bucket == NULL || service == ENDPOINT_S3, ERR_INVALID, "a bucket only applies to S3");
    ENSURE(bucket == NULL || s_bucket_is_valid(bkt), ERR_INVALID, "invalid bucket name '%.*s'", SPAN_FMT(bkt));

    const char *src = "default";
    const char *url = s_configured_url(env, service, &src);
    out->source = src;
    if (url != NULL) {
        enum err e = endpoint_parse_url(span_from_cstr(url), out);
        if (e != ERR_OK) {
            char why[sizeof(err_last()->msg)];
            snprintf(why, sizeof(why), "%s", err_last()->msg);
            FAIL(e, "%s: %s", src, why);
        }
        out->s3_path_style = bucket != NULL;
    } else {
        out->https = true;
        const char *suffix = region_partition(reg)->dns_suffix;
        if (sts_global) {
            TRY(s_fmt(out->host, sizeof(out->host), "host", "%s", ENDPOINT_STS_GLOBAL_HOST));
        } else if (bucket != NULL && s_bucket_is_dns_label(bkt)) {
            TRY(s_fmt(out->host, sizeof(out->host), "host", "%s.%s.%s.%s", bucket, info->prefix, region, suffix));
        } else {
            TRY(s_fmt(out->host, sizeof(out->host), "host", "%s.%s.%s", info->prefix, region, suffix));
            out->s3_path_style = bucket != NULL;
        }
    }
    if (out->s3_path_style) {
        size_t used = strlen(out->path_prefix);
        TRY(s_fmt(out->path_prefix + used, sizeof(out->path_prefix) - used, "path", "/%s", bucket));
    }
    if (out->port != 0) {
        TRY(s_fmt(out->host_header, sizeof(out->host_header), "host header", "%s:%u", out->host, (unsigned) out->port));
    } else {
        TRY(s_fmt(out->host_header, sizeof(out->host_header), "host header", "%s", out->host));
    }
    TRY(s_fmt(
      out->base_url,
      sizeof(out->base_url),
      "URL",
      "%s://%s%s",
      out->https ? "https" : "http",
      out->host_header,
      out->path_prefix));
    return ERR_OK;
}
