/*
 * creds_util.c - the helpers the credentials chain and its providers share (creds_util.h): the credentials
 * struct's copy/wipe/redaction, the refresh rule, one-line reasons, the JSON credentials document, token files.
 * No network and no environment access.
 */
#include "aws/creds_util.h"

#include "base/buf.h"
#include "base/time.h"
#include "codec/json.h"
#include "codec/xml.h"
#include "net/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest credentials document accepted (IMDS and ECS send about 1.5 KiB). */
#define CREDS_MAX_DOCUMENT ((size_t) 64 * 1024)
/* A credentials document is one flat object of about ten members. */
#define CREDS_JSON_MAX_DEPTH 4
#define CREDS_JSON_MAX_NODES 256
/* How much of an error code from a remote document is quoted in a reason. */
#define CREDS_MAX_QUOTED 64

/* ---- the credentials struct ---- */

void creds_wipe(struct creds *c) {
    explicit_bzero(c, sizeof(*c));
}

void creds_copy(struct creds *dst, const struct creds *src) {
    memcpy(dst, src, sizeof(*dst));
}

void creds_redact_key_id(const char *access_key_id, char out[CREDS_REDACTED_KEY_ID_LEN + 1]) {
    size_t n = strlen(access_key_id);
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    /* A key id of four characters or fewer is shown as stars only: the suffix would be the whole id. */
    const char *tail = n > 4 ? access_key_id + n - 4 : "";
    snprintf(out, CREDS_REDACTED_KEY_ID_LEN + 1, "****%s", tail);
}

enum creds_refresh creds_refresh_due(int64_t expiration_s, int64_t now_s, int64_t retry_after_s) {
    if (expiration_s == CREDS_NO_EXPIRY) {
        return CREDS_REFRESH_NONE;
    }
    if (now_s < expiration_s - CREDS_ADVISORY_REFRESH_S) {
        return CREDS_REFRESH_NONE;
    }
    if (now_s < expiration_s - CREDS_MANDATORY_REFRESH_S) {
        return now_s < retry_after_s ? CREDS_REFRESH_NONE : CREDS_REFRESH_ADVISORY;
    }
    return CREDS_REFRESH_MANDATORY;
}

/* ---- helpers shared by the providers ---- */

/* Copies at most CREDS_MAX_QUOTED printable characters, so a remote string cannot break the log line. */
static void s_quote(struct span s, char out[CREDS_MAX_QUOTED + 1]) {
    size_t n = s.n < CREDS_MAX_QUOTED ? s.n : CREDS_MAX_QUOTED;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s.p[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    out[n] = '\0';
}

void creds_why_set(struct creds_why *why, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->text, sizeof(why->text), fmt, ap);
    va_end(ap);
}

enum err creds_why_fail(struct creds_why *why, enum err e, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->text, sizeof(why->text), fmt, ap);
    va_end(ap);
    return err_raise(e, file, line, "%s", why->text);
}

enum err creds_why_http(struct creds_why *why, enum err e, const struct http_response *resp, const char *what) {
    if (e == ERR_TIMEOUT) {
        CREDS_FAIL(why, e, "%s: timed out", what);
    }
    if (e != ERR_OK) {
        CREDS_FAIL(why, e, "%s: %s", what, resp->error[0] ? resp->error : err_name(e));
    }
    enum err code = ERR_HTTP;
    if (resp->status == 401 || resp->status == 403) {
        code = ERR_AUTH;
    } else if (resp->status == 404) {
        code = ERR_NOT_FOUND;
    }
    CREDS_FAIL(why, code, "%s: HTTP %ld", what, resp->status);
}

void creds_scrub(struct span s) {
    if (s.n > 0) {
        /* The parser's copy lives in arena memory this module owns; const is only the reader's view of it. */
        explicit_bzero((void *) (uintptr_t) s.p, s.n);
    }
}

static bool s_has_crlf(struct span s) {
    return span_index(s, '\r') >= 0 || span_index(s, '\n') >= 0;
}

enum err creds_validate(const struct creds *c, int64_t now_s, struct creds_why *why) {
    size_t n = strlen(c->access_key_id);
    if (n == 0) {
        CREDS_FAIL(why, ERR_PARSE, "empty access key id");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) c->access_key_id[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            CREDS_FAIL(why, ERR_PARSE, "access key id has a character outside printable ASCII");
        }
    }
    if (secret_span(&c->secret_access_key).n == 0) {
        CREDS_FAIL(why, ERR_PARSE, "empty secret access key");
    }
    if (s_has_crlf(secret_span(&c->session_token))) {
        CREDS_FAIL(why, ERR_PARSE, "session token contains CR or LF");
    }
    if (c->expiration_s != CREDS_NO_EXPIRY && c->expiration_s <= now_s) {
        char iso[TIME_ISO8601_LEN + 1];
        time_format_iso8601(c->expiration_s, iso);
        CREDS_FAIL(why, ERR_CREDS, "credentials expired at %s", iso);
    }
    return ERR_OK;
}

/* A required string member copied into a fixed array. */
static enum err
s_json_field(const struct json_value *doc, const char *key, char *out, size_t cap, struct creds_why *why) {
    struct span v = json_get_string(doc, key);
    if (v.n == 0) {
        CREDS_FAIL(why, ERR_PARSE, "credentials document has no %s", key);
    }
    if (span_copy_cstr(v, out, cap) != ERR_OK) {
        CREDS_FAIL(why, ERR_PARSE, "%s longer than %zu bytes", key, cap - 1);
    }
    return ERR_OK;
}

static enum err s_parse_doc(const struct json_value *doc, struct creds *out, struct creds_why *why) {
    char quoted[CREDS_MAX_QUOTED + 1];
    if (!json_is(doc, JSON_OBJECT)) {
        CREDS_FAIL(why, ERR_PARSE, "credentials document is not a JSON object");
    }
    /* IMDS: "a 200 body with Code+Message but no keys means no credentials" (notes §3). */
    struct span code = json_get_string(doc, "Code");
    if (json_get(doc, "Code") != NULL && !span_eq_cstr(code, "Success")) {
        s_quote(code, quoted);
        CREDS_FAIL(why, ERR_CREDS, "credentials document says Code=%s", quoted);
    }
    /* Container: "errors may come as {"code": ..., "message": ...}" (notes §2). */
    if (json_get(doc, "code") != NULL && json_get(doc, "AccessKeyId") == NULL) {
        s_quote(json_get_string(doc, "code"), quoted);
        CREDS_FAIL(why, ERR_CREDS, "credentials endpoint answered code=%s", quoted);
    }
    TRY(s_json_field(doc, "AccessKeyId", out->access_key_id, sizeof(out->access_key_id), why));
    struct span secret = json_get_string(doc, "SecretAccessKey");
    if (secret.n == 0) {
        CREDS_FAIL(why, ERR_PARSE, "credentials document has no SecretAccessKey");
    }
    if (secret_set(&out->secret_access_key, secret) != ERR_OK) {
        CREDS_FAIL(why, ERR_LIMIT, "SecretAccessKey longer than %d bytes", SECRET_MAX);
    }
    const struct json_value *token = json_get(doc, "Token");
    if (token != NULL) {
        if (!json_is(token, JSON_STRING) || secret_set(&out->session_token, json_string(token)) != ERR_OK) {
            CREDS_FAIL(why, ERR_PARSE, "Token is not a string of at most %d bytes", SECRET_MAX);
        }
    }
    struct span exp = json_get_string(doc, "Expiration");
    if (exp.n == 0) {
        CREDS_FAIL(why, ERR_PARSE, "credentials document has no Expiration");
    }
    if (time_parse_rfc3339(exp, &out->expiration_s) != ERR_OK) {
        s_quote(exp, quoted);
        CREDS_FAIL(why, ERR_PARSE, "Expiration '%s' is not an RFC 3339 time", quoted);
    }
    struct span account = json_get_string(doc, "AccountId");
    uint64_t ignored = 0;
    if (account.n == CREDS_MAX_ACCOUNT_ID && span_to_u64(account, UINT64_MAX, &ignored) == ERR_OK) {
        TRY(span_copy_cstr(account, out->account_id, sizeof(out->account_id)));
    }
    return ERR_OK;
}

enum err creds_parse_json(struct span body, struct arena *scratch, struct creds *out, struct creds_why *why) {
    struct arena_mark mark = arena_mark(scratch);
    const struct json_limits limits = {
        .max_doc_bytes = CREDS_MAX_DOCUMENT,
        .max_depth = CREDS_JSON_MAX_DEPTH,
        .max_nodes = CREDS_JSON_MAX_NODES,
    };
    const struct json_value *doc = NULL;
    enum err e = json_parse(scratch, body, &limits, &doc);
    if (e != ERR_OK) {
        arena_rewind(scratch, mark);
        CREDS_FAIL(why, ERR_PARSE, "credentials document is not valid JSON (%s)", err_name(e));
    }
    e = s_parse_doc(doc, out, why);
    creds_scrub(json_get_string(doc, "SecretAccessKey"));
    creds_scrub(json_get_string(doc, "Token"));
    arena_rewind(scratch, mark);
    return e;
}

enum err creds_read_token_file(const char *path, bool trim, struct secret *out, struct creds_why *why) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        CREDS_FAIL(why, ERR_IO, "cannot open token file %s: %s", path, strerror(errno));
    }
    /* One byte more than a secret may hold, so an oversized file is detected rather than cut. */
    char tmp[SECRET_MAX + 1];
    size_t len = 0;
    enum err e = ERR_OK;
    while (len < sizeof(tmp)) {
        ssize_t r = read(fd, tmp + len, sizeof(tmp) - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            e = creds_why_fail(why, ERR_IO, __FILE__, __LINE__, "cannot read token file %s", path);
            break;
        }
        if (r == 0) {
            break;
        }
        len += (size_t) r;
    }
    close(fd);
    if (e == ERR_OK && len > SECRET_MAX) {
        e = creds_why_fail(why, ERR_LIMIT, __FILE__, __LINE__, "token file %s is over %d bytes", path, SECRET_MAX);
    }
    struct span content = { tmp, len };
    if (trim) {
        content = span_trim(content);
    }
    if (e == ERR_OK && content.n == 0) {
        e = creds_why_fail(why, ERR_IO, __FILE__, __LINE__, "token file %s is empty", path);
    }
    if (e == ERR_OK) {
        e = secret_set(out, content);
    }
    explicit_bzero(tmp, sizeof(tmp));
    return e;
}

/* The account id is the fifth field of the assumed-role ARN: arn:aws:sts::123456789012:assumed-role/... */
static void s_account_from_arn(struct span arn, char out[CREDS_MAX_ACCOUNT_ID + 1]) {
    struct span field = arn;
    for (int i = 0; i < 4; i++) {
        struct span head;
        if (!span_split(field, ':', &head, &field)) {
            return;
        }
    }
    struct span account, rest;
    if (span_split(field, ':', &account, &rest) && account.n == CREDS_MAX_ACCOUNT_ID) {
        memcpy(out, account.p, account.n);
        out[account.n] = '\0';
    }
}

/*
 * notes §4: "AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/ ... SessionToken";
 * AssumeRole answers the same shape under AssumeRoleResult.
 */
enum err creds_parse_sts_xml(
  struct span body,
  const char *result_name,
  struct arena *scratch,
  struct creds *out,
  struct creds_why *why) {
    struct arena_mark mark = arena_mark(scratch);
    const struct xml_node *root = NULL;
    if (xml_parse(scratch, body, NULL, &root) != ERR_OK) {
        arena_rewind(scratch, mark);
        CREDS_FAIL(why, ERR_PARSE, "STS answer is not XML");
    }
    const struct xml_node *result = xml_child(root, result_name);
    const struct xml_node *c = xml_child(result, "Credentials");
    struct span key = xml_child_text(c, "AccessKeyId");
    struct span secret = xml_child_text(c, "SecretAccessKey");
    struct span token = xml_child_text(c, "SessionToken");
    struct span exp = xml_child_text(c, "Expiration");
    enum err e = ERR_OK;
    if (c == NULL || key.n == 0 || secret.n == 0 || token.n == 0 || exp.n == 0) {
        e = creds_why_fail(why, ERR_PARSE, __FILE__, __LINE__, "STS answer lacks Credentials fields");
    } else if (
      span_copy_cstr(key, out->access_key_id, sizeof(out->access_key_id)) != ERR_OK ||
      secret_set(&out->secret_access_key, secret) != ERR_OK || secret_set(&out->session_token, token) != ERR_OK) {
        e = creds_why_fail(why, ERR_PARSE, __FILE__, __LINE__, "STS credentials exceed their maximum lengths");
    } else if (time_parse_rfc3339(exp, &out->expiration_s) != ERR_OK) {
        e = creds_why_fail(why, ERR_PARSE, __FILE__, __LINE__, "STS Expiration is not an RFC 3339 time");
    } else {
        s_account_from_arn(xml_path_text(result, "AssumedRoleUser/Arn"), out->account_id);
    }
    creds_scrub(secret);
    creds_scrub(token);
    arena_rewind(scratch, mark);
    return e;
}
