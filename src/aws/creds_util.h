/*
 * creds_util.h - what the credentials chain and its providers share, below both: the credentials struct every
 * signer reads, the refresh rule, the one-line reasons a provider gives, and the parsers and checks several
 * providers use (the JSON credentials document of the container and IMDS providers, token files, validation).
 * Nothing here talks to the network or reads the environment.
 */
#ifndef SV_AWS_CREDS_UTIL_H
#define SV_AWS_CREDS_UTIL_H

#include "base/arena.h"
#include "base/err.h"
#include "base/secret.h"
#include "base/span.h"

#include <stdbool.h>
#include <stdint.h>

struct http_response;

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

/* A provider's reason for not answering; short, one line, never a secret. */
#define CREDS_MAX_WHY 240
struct creds_why {
    char text[CREDS_MAX_WHY];
};

/* Everything a provider may use, owned by the chain and valid for the chain's lifetime. */

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

#endif
