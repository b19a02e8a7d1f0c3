/*
 * sts.h - the STS calls of a multi-account run: AssumeRole into a member account (as a credentials provider, so
 * the chain refreshes it before it expires) and GetCallerIdentity (whose account the hub credentials belong to).
 *
 * STS speaks the Query protocol with an XML response (API version 2011-06-15). AssumeRole (STS API Reference):
 * RoleArn, RoleSessionName ("[\w+=,.@-]*", 2-64 characters), ExternalId ("[\w+=,.@:\/-]*", 2-1224 characters),
 * DurationSeconds (900 up to the role's maximum, but "role chaining limits your session to a maximum of one
 * hour": the hub's own credentials are usually a role's, so SmartVault asks for the hour). The answer is
 * AssumeRoleResponse/AssumeRoleResult/{Credentials, AssumedRoleUser/Arn}.
 *
 * The web identity provider (aws/creds_web_identity.c) handles the unsigned AssumeRoleWithWebIdentity; this one
 * signs with the hub's credentials through the hub's client, so its calls share the hub's retry quota and count
 * in its per-operation statistics.
 */
#ifndef SV_SVC_STS_H
#define SV_SVC_STS_H

#include "aws/call.h"
#include "aws/creds_provider.h"
#include "aws/query.h"
#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define STS_API_VERSION "2011-06-15"
#define STS_SESSION_NAME_MAX 64
#define STS_ROLE_ARN_MAX 2048
/* One hour: the most a chained role session may last. */
#define STS_ASSUME_ROLE_DURATION_S 3600
#define STS_ACCOUNT_ID_LEN 12

/* arn:<partition of region>:iam::<account>:role/<name>. Returns false when it does not fit `cap`. */
bool sts_role_arn(const char *region, const char *account_id, const char *role_name, char *out, size_t cap);

/* "smartvault-<run id>", cut to STS_SESSION_NAME_MAX: CloudTrail in the member account shows which run it was. */
void sts_session_name(const char *run_id, char out[STS_SESSION_NAME_MAX + 1]);

/* AssumeRole's parameters; external_id NULL leaves it out. */
void sts_assume_role_request(
  struct query_params *q,
  const char *role_arn,
  const char *session_name,
  const char *external_id,
  uint32_t duration_s);

/* GetCallerIdentityResponse/GetCallerIdentityResult/Account (12 digits). ERR_PARSE otherwise. */
enum err sts_caller_account_parse(const struct xml_node *root, char out[STS_ACCOUNT_ID_LEN + 1]) SV_MUST_CHECK;

/* One GetCallerIdentity call through `c` (no permission needed). */
enum err sts_get_caller_account(
  struct aws_client *c,
  const char *region,
  struct arena *scratch,
  char out[STS_ACCOUNT_ID_LEN + 1]) SV_MUST_CHECK;

/*
 * A credentials provider that assumes `role_arn` through `hub` (not owned; must outlive the provider) with STS in
 * `region`. Strings are copied. Fetch errors: ERR_AUTH when STS refuses (AccessDenied: the trust policy or the
 * external id), the call's error otherwise; `why` says "AssumeRole <arn>: <code>: <message>".
 */
struct creds_provider *sts_assume_role_provider_new(
  struct aws_client *hub,
  const char *region,
  const char *role_arn,
  const char *session_name,
  const char *external_id);

#endif
