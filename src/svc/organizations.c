/*
 * organizations.c - AWS Organizations ListAccounts, all pages, ACTIVE accounts only; see organizations.h.
 *
 * It does not apply ACCOUNTS_EXCLUDE (backup/shard.c does) and does not describe OUs or policies.
 */
#include "svc/organizations.h"

#include "base/log.h"

#include <string.h>

void organizations_list_accounts_body(struct span next_token, struct buf *out) {
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_object_begin(&w);
    json_write_key(&w, "MaxResults");
    json_write_u64(&w, ORGANIZATIONS_PAGE_SIZE);
    if (next_token.n > 0) {
        json_write_key(&w, "NextToken");
        json_write_string(&w, next_token);
    }
    json_write_object_end(&w);
}

static bool s_is_account_id(struct span s) {
    if (s.n != ORGANIZATIONS_ACCOUNT_ID_LEN) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
    }
    return true;
}

enum err organizations_list_accounts_parse(
  const struct json_value *root,
  struct arena *a,
  const char **ids,
  size_t max,
  size_t *n,
  size_t *skipped,
  struct span *next_token) {
    const struct json_value *accounts = json_get(root, "Accounts");
    ENSURE(json_is(accounts, JSON_ARRAY), ERR_PARSE, "ListAccounts: no Accounts array");
    for (const struct json_value *it = json_first(accounts); it != NULL; it = it->next) {
        struct span id = json_get_string(it, "Id");
        ENSURE(s_is_account_id(id), ERR_PARSE, "ListAccounts: an account without a 12-digit Id");
        struct span state = json_get_string(it, "State");
        if (state.n == 0) {
            state = json_get_string(it, "Status");
        }
        if (!span_eq_cstr(state, "ACTIVE")) {
            (*skipped)++;
            LOG(LOG_INFO, "targets.account_not_active", LF_SP("account_id", id), LF_SP("state", state));
            continue;
        }
        ENSURE(*n < max, ERR_LIMIT, "ListAccounts: more than %zu ACTIVE accounts", max);
        ids[(*n)++] = arena_span_cstr(a, id);
    }
    struct span tok = json_get_string(root, "NextToken");
    *next_token = tok.n ? (struct span){ arena_span_cstr(a, tok), tok.n } : (struct span){ "", 0 };
    return ERR_OK;
}

enum err organizations_list_active_accounts(
  struct aws_client *c,
  const char *region,
  struct arena *a,
  struct arena *scratch,
  size_t max,
  const char ***ids,
  size_t *n) {
    *ids = ARENA_NEW_ARRAY(a, const char *, max);
    *n = 0;
    size_t skipped = 0, pages = 0;
    struct span next = { "", 0 };
    enum err e = ERR_OK;
    do {
        ENSURE(pages < ORGANIZATIONS_MAX_PAGES, ERR_LIMIT, "ListAccounts: more than %d pages", ORGANIZATIONS_MAX_PAGES);
        struct arena_mark mark = arena_mark(scratch);
        struct buf body;
        buf_init(&body, BUF_MAX_REQUEST);
        organizations_list_accounts_body(next, &body);
        struct aws_request r = {
            .service = ENDPOINT_ORGANIZATIONS,
            .region = region,
            .operation = "ListAccounts",
            .target = ORGANIZATIONS_TARGET_LIST_ACCOUNTS,
            .body = buf_span(&body),
        };
        e = aws_run_one(c, &r);
        const struct json_value *root = NULL;
        if (e != ERR_OK) {
            e = err_raise(e, __FILE__, __LINE__, "ListAccounts: %s %s", r.error.code, r.error.message);
        } else if ((e = aws_response_json(&r, scratch, &root)) == ERR_OK) {
            /* The token is copied into `a` before the scratch tree is rewound. */
            e = organizations_list_accounts_parse(root, a, *ids, max, n, &skipped, &next);
        }
        aws_request_free(&r);
        buf_free(&body);
        arena_rewind(scratch, mark);
        pages++;
    } while (e == ERR_OK && next.n > 0);
    if (e == ERR_OK) {
        LOG(
          LOG_INFO,
          "targets.organization_listed",
          LF_U("active", *n),
          LF_U("not_active", skipped),
          LF_U("pages", pages));
    }
    return e;
}
