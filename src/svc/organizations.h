/*
 * organizations.h - AWS Organizations ListAccounts: every account of the organization, for ACCOUNTS=organization.
 *
 * Organizations speaks JSON 1.1 (X-Amz-Target: AWSOrganizationsV20161128.ListAccounts) at one endpoint per
 * partition (aws/endpoint.c). ListAccounts (API Reference): "This operation can be called only from the
 * organization's management account or by a member account that is a delegated administrator"; it pages with
 * NextToken ("you should check NextToken after every operation ... even when there are no more results",
 * MaxResults 1-20). Each account has Id and Status (ACTIVE | SUSPENDED | PENDING_CLOSURE); newer answers add
 * State (PENDING_ACTIVATION | ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED) and AWS deprecates Status for it, so
 * State is read when present, else Status. Only ACTIVE accounts are kept.
 */
#ifndef SV_SVC_ORGANIZATIONS_H
#define SV_SVC_ORGANIZATIONS_H

#include "aws/call.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "codec/json.h"

#include <stdbool.h>
#include <stddef.h>

#define ORGANIZATIONS_TARGET_LIST_ACCOUNTS "AWSOrganizationsV20161128.ListAccounts"
/* ListAccounts MaxResults: 1-20. */
#define ORGANIZATIONS_PAGE_SIZE 20
/* Pages followed at most: 2,048 accounts (CFG_ACCOUNTS_MAX) fit in 103 pages; the quota's default is 10 000. */
#define ORGANIZATIONS_MAX_PAGES 1000
#define ORGANIZATIONS_ACCOUNT_ID_LEN 12

/* The request body: {"MaxResults":20} plus "NextToken" when paging (next_token empty for the first page). */
void organizations_list_accounts_body(struct span next_token, struct buf *out);

/*
 * One page: appends the ids of ACTIVE accounts (copied into `a`) to ids[*n..max) and sets *next_token (in `a`,
 * empty on the last page); *skipped counts the accounts that were not ACTIVE. ERR_PARSE for a malformed answer,
 * ERR_LIMIT when more than `max` ACTIVE accounts.
 */
enum err organizations_list_accounts_parse(
  const struct json_value *root,
  struct arena *a,
  const char **ids,
  size_t max,
  size_t *n,
  size_t *skipped,
  struct span *next_token) SV_MUST_CHECK;

/*
 * Every ACTIVE account, all pages, in the order listed, through `c` in `region`'s partition. *ids in `a`.
 */
enum err organizations_list_active_accounts(
  struct aws_client *c,
  const char *region,
  struct arena *a,
  struct arena *scratch,
  size_t max,
  const char ***ids,
  size_t *n) SV_MUST_CHECK;

#endif
