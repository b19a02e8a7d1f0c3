/*
 * sts.c - STS AssumeRole (as a credentials provider) and GetCallerIdentity; see sts.h.
 *
 * It does not cache anything itself: the credentials chain it is plugged into keeps the answer and asks again
 * inside the refresh windows of aws/creds.h. It does not decide which accounts to assume (backup/targets.c).
 */
#include "svc/sts.h"

#include "aws/region.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The provider's parse scratch: an AssumeRole answer is about 2 KiB. */
#define STS_SCRATCH_MAX ((size_t) 1024 * 1024)

bool sts_role_arn(const char *region, const char *account_id, const char *role_name, char *out, size_t cap) {
    const char *partition = region_partition(span_from_cstr(region))->name;
    int n = snprintf(out, cap, "arn:%s:iam::%s:role/%s", partition, account_id, role_name);
    return n > 0 && (size_t) n < cap;
}

void sts_session_name(const char *run_id, char out[STS_SESSION_NAME_MAX + 1]) {
    snprintf(out, STS_SESSION_NAME_MAX + 1, "smartvault-%s", run_id);
}

void sts_assume_role_request(
  struct query_params *q,
  const char *role_arn,
  const char *session_name,
  const char *external_id,
  uint32_t duration_s) {
    query_add_cstr(q, "RoleArn", role_arn);
    query_add_cstr(q, "RoleSessionName", session_name);
    if (external_id != NULL) {
        query_add_cstr(q, "ExternalId", external_id);
    }
    query_add_u64(q, "DurationSeconds", duration_s);
}

enum err sts_caller_account_parse(const struct xml_node *root, char out[STS_ACCOUNT_ID_LEN + 1]) {
    struct span account = xml_path_text(root, "GetCallerIdentityResult/Account");
    ENSURE(account.n == STS_ACCOUNT_ID_LEN, ERR_PARSE, "GetCallerIdentity: no 12-digit Account");
    for (size_t i = 0; i < account.n; i++) {
        ENSURE(account.p[i] >= '0' && account.p[i] <= '9', ERR_PARSE, "GetCallerIdentity: Account is not digits");
    }
    memcpy(out, account.p, account.n);
    out[account.n] = '\0';
    return ERR_OK;
}

enum err sts_get_caller_account(
  struct aws_client *c,
  const char *region,
  struct arena *scratch,
  char out[STS_ACCOUNT_ID_LEN + 1]) {
    struct arena_mark mark = arena_mark(scratch);
    struct query_params q;
    query_init(&q, scratch);
    struct aws_request r = {
        .service = ENDPOINT_STS, .region = region, .operation = "GetCallerIdentity", .params = &q
    };
    enum err e = aws_run_one(c, &r);
    const struct xml_node *root = NULL;
    if (e != ERR_OK) {
        e = err_raise(e, __FILE__, __LINE__, "GetCallerIdentity: %s %s", r.error.code, r.error.message);
    } else if ((e = aws_response_xml(&r, scratch, &root)) == ERR_OK) {
        e = sts_caller_account_parse(root, out);
    }
    aws_request_free(&r);
    arena_rewind(scratch, mark);
    return e;
}

/* ---- the AssumeRole credentials provider ---- */

struct sts_assume_role {
    struct creds_provider base;
    struct aws_client *hub;
    char region[REGION_MAX + 1];
    char role_arn[STS_ROLE_ARN_MAX + 1];
    char session_name[STS_SESSION_NAME_MAX + 1];
    char *external_id; /* NULL when none */
    struct arena scratch;
};

static bool s_configured(struct creds_provider *p, struct creds_why *why) {
    (void) p;
    (void) why;
    return true;
}

static enum err s_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    (void) now_s;
    struct sts_assume_role *self = (struct sts_assume_role *) p;
    struct arena_mark mark = arena_mark(&self->scratch);
    struct query_params q;
    query_init(&q, &self->scratch);
    sts_assume_role_request(&q, self->role_arn, self->session_name, self->external_id, STS_ASSUME_ROLE_DURATION_S);
    struct aws_request r = { .service = ENDPOINT_STS, .region = self->region, .operation = "AssumeRole", .params = &q };
    enum err e = aws_run_one(self->hub, &r);
    if (e != ERR_OK) {
        e = creds_why_fail(
          why,
          e,
          __FILE__,
          __LINE__,
          "AssumeRole %s: %s: %s",
          self->role_arn,
          r.error.code[0] ? r.error.code : err_name(e),
          r.error.message);
    } else {
        e = creds_parse_sts_xml(buf_span(&r.body_out), "AssumeRoleResult", &self->scratch, out, why);
    }
    /* The answer held the secret key and the session token. */
    buf_wipe_free(&r.body_out);
    aws_request_free(&r);
    arena_rewind(&self->scratch, mark);
    return e;
}

static void s_destroy(struct creds_provider *p) {
    struct sts_assume_role *self = (struct sts_assume_role *) p;
    arena_free(&self->scratch);
    free(self->external_id);
    free(self);
}

static const struct creds_provider_vtable s_vtable = { s_configured, s_fetch, s_destroy };

struct creds_provider *sts_assume_role_provider_new(
  struct aws_client *hub,
  const char *region,
  const char *role_arn,
  const char *session_name,
  const char *external_id) {
    struct sts_assume_role *self = calloc(1, sizeof(*self));
    if (self == NULL || (external_id != NULL && (self->external_id = strdup(external_id)) == NULL)) {
        FATAL("out of memory");
    }
    self->base = (struct creds_provider){ "assume_role", "assume role", &s_vtable, NULL };
    self->hub = hub;
    snprintf(self->region, sizeof(self->region), "%s", region);
    snprintf(self->role_arn, sizeof(self->role_arn), "%s", role_arn);
    snprintf(self->session_name, sizeof(self->session_name), "%s", session_name);
    arena_init(&self->scratch, STS_SCRATCH_MAX);
    return &self->base;
}
