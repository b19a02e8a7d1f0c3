/*
 * test_creds.c - the credentials chain and what its providers decide without a network: the refresh rule
 * with an injected clock, the JSON credentials document, the container URL rule, configuration errors of each
 * provider, and the chain's order, fall-through and refresh over fake providers.
 */
#include "harness.h"

#include "aws/creds.h"
#include "aws/creds_provider.h"
#include "aws/imds.h"
#include "base/time.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- fake environment (same shape as test_endpoint.c) ---- */

struct fake_env {
    const char *vars[10];
};

static const char *s_fake_get(void *ctx, const char *name) {
    const struct fake_env *fe = ctx;
    size_t n = strlen(name);
    for (size_t i = 0; i < 10 && fe->vars[i] != NULL; i++) {
        if (strncmp(fe->vars[i], name, n) == 0 && fe->vars[i][n] == '=') {
            return fe->vars[i] + n + 1;
        }
    }
    return NULL;
}

static void s_no_sleep(int64_t ms) {
    (void) ms;
}

/* A provider context over a fake environment and no HTTP client: only paths that fail before I/O may run. */
struct test_ctx {
    struct fake_env fe;
    struct endpoint_env env;
    struct arena scratch;
    struct creds_provider_ctx ctx;
};

static void s_ctx_init(struct test_ctx *t) {
    t->env = (struct endpoint_env){ s_fake_get, &t->fe };
    arena_init(&t->scratch, 0);
    t->ctx = (struct creds_provider_ctx){ &t->env, NULL, "us-east-1", s_no_sleep, &t->scratch };
}

/* 2025-06-01T00:00:00Z */
#define T0 ((int64_t) 1748736000)

/* ---- refresh rule ---- */

TEST(creds_refresh_due_table) {
    static const struct {
        const char *name;
        int64_t expires_in_s;    /* relative to T0; INT64_MAX means CREDS_NO_EXPIRY */
        int64_t retry_after_rel; /* relative to T0; INT64_MIN means 0 (none) */
        enum creds_refresh want;
    } cases[] = {
        { "no expiry", INT64_MAX, INT64_MIN, CREDS_REFRESH_NONE },
        { "one hour left", 3600, INT64_MIN, CREDS_REFRESH_NONE },
        { "15 min + 1 s left", 15 * 60 + 1, INT64_MIN, CREDS_REFRESH_NONE },
        { "exactly 15 min left", 15 * 60, INT64_MIN, CREDS_REFRESH_ADVISORY },
        { "12 min left", 12 * 60, INT64_MIN, CREDS_REFRESH_ADVISORY },
        { "10 min + 1 s left", 10 * 60 + 1, INT64_MIN, CREDS_REFRESH_ADVISORY },
        { "exactly 10 min left", 10 * 60, INT64_MIN, CREDS_REFRESH_MANDATORY },
        { "1 min left", 60, INT64_MIN, CREDS_REFRESH_MANDATORY },
        { "expired now", 0, INT64_MIN, CREDS_REFRESH_MANDATORY },
        { "expired long ago", -86400, INT64_MIN, CREDS_REFRESH_MANDATORY },
        { "advisory, retry pending", 12 * 60, 10, CREDS_REFRESH_NONE },
        { "advisory, retry due now", 12 * 60, 0, CREDS_REFRESH_ADVISORY },
        { "advisory, retry in the past", 12 * 60, -5, CREDS_REFRESH_ADVISORY },
        { "mandatory ignores retry", 5 * 60, 30, CREDS_REFRESH_MANDATORY },
        { "expired ignores retry", -1, 30, CREDS_REFRESH_MANDATORY },
        { "fresh with retry pending", 3600, 30, CREDS_REFRESH_NONE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t exp = cases[i].expires_in_s == INT64_MAX ? CREDS_NO_EXPIRY : T0 + cases[i].expires_in_s;
        int64_t retry = cases[i].retry_after_rel == INT64_MIN ? 0 : T0 + cases[i].retry_after_rel;
        if (!CHECK_INT(creds_refresh_due(exp, T0, retry), cases[i].want)) {
            harness_note("case '%s'", cases[i].name);
        }
    }
}

TEST(creds_redact_key_id_table) {
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "AKIAIOSFODNN7EXAMPLE", "****MPLE" },
        { "ASIAXYZ", "****AXYZ" },
        { "ABCD", "****" },
        { "A", "****" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[CREDS_REDACTED_KEY_ID_LEN + 1];
        creds_redact_key_id(cases[i].in, out);
        CHECK_STR(out, cases[i].want);
    }
}

/* ---- JSON credentials documents (notes §2, §3) ---- */

TEST(creds_parse_json_table) {
    static const struct {
        const char *name, *doc;
        int err;
        const char *key, *secret, *token, *expiration, *account;
    } cases[] = {
        { "imds document",
          "{\"Code\":\"Success\",\"LastUpdated\":\"2025-06-01T00:00:00Z\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":"
          "\"ASIAIMDS\",\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\",\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          ERR_OK,
          "ASIAIMDS",
          "s3cr3t",
          "tok",
          "2025-06-01T06:00:00Z",
          "" },
        { "ecs document with account",
          "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"x\",\"Token\":\"t\",\"Expiration\":"
          "\"2016-02-25T06:03:31Z\",\"AccountId\":\"123456789012\",\"RoleArn\":\"arn:aws:iam::1:role/r\"}",
          ERR_OK,
          "ASIAECS",
          "x",
          "t",
          "2016-02-25T06:03:31Z",
          "123456789012" },
        { "fractional seconds and offset",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":"
          "\"2025-06-01T08:00:00.123+02:00\"}",
          ERR_OK,
          "K",
          "S",
          "T",
          "2025-06-01T06:00:00Z",
          "" },
        { "no token is allowed",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          ERR_OK,
          "K",
          "S",
          "",
          "2025-06-01T06:00:00Z",
          "" },
        { "odd account id ignored",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Expiration\":\"2025-06-01T06:00:00Z\",\"AccountId\":"
          "\"12\"}",
          ERR_OK,
          "K",
          "S",
          "",
          "2025-06-01T06:00:00Z",
          "" },
        { "imds failure code",
          "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"denied\"}",
          ERR_CREDS,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "container error document",
          "{\"code\":\"AccessDenied\",\"message\":\"no\"}",
          ERR_CREDS,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "missing secret",
          "{\"AccessKeyId\":\"K\",\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          ERR_PARSE,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "missing key id",
          "{\"SecretAccessKey\":\"S\",\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          ERR_PARSE,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "missing expiration",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}",
          ERR_PARSE,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "bad expiration",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Expiration\":\"tomorrow\"}",
          ERR_PARSE,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "token not a string",
          "{\"AccessKeyId\":\"K\",\"SecretAccessKey\":\"S\",\"Token\":7,\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          ERR_PARSE,
          NULL,
          NULL,
          NULL,
          NULL,
          NULL },
        { "not an object", "[1,2]", ERR_PARSE, NULL, NULL, NULL, NULL, NULL },
        { "not json", "<html>502</html>", ERR_PARSE, NULL, NULL, NULL, NULL, NULL },
        { "empty body", "", ERR_PARSE, NULL, NULL, NULL, NULL, NULL },
        { "truncated", "{\"AccessKeyId\":\"K\",", ERR_PARSE, NULL, NULL, NULL, NULL, NULL },
    };
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct creds *c = calloc(1, sizeof(*c));
        struct creds_why why = { { 0 } };
        enum err e = creds_parse_json(span_from_cstr(cases[i].doc), &a, c, &why);
        bool ok = CHECK_INT(e, cases[i].err);
        if (e == ERR_OK && cases[i].err == ERR_OK) {
            char iso[TIME_ISO8601_LEN + 1];
            time_format_iso8601(c->expiration_s, iso);
            ok &= CHECK_STR(c->access_key_id, cases[i].key);
            ok &= CHECK_STR(c->secret_access_key.value, cases[i].secret);
            ok &= CHECK_STR(c->session_token.set ? c->session_token.value : "", cases[i].token);
            ok &= CHECK_STR(iso, cases[i].expiration);
            ok &= CHECK_STR(c->account_id, cases[i].account);
        } else {
            ok &= CHECK(why.text[0] != '\0');
        }
        if (!ok) {
            harness_note("case '%s': %s", cases[i].name, why.text);
        }
        creds_wipe(c);
        free(c);
    }
    /* Everything the parser allocated was given back. */
    CHECK_INT(a.used_total, 0);
    arena_free(&a);
}

TEST(creds_parse_json_limits) {
    /* A key id at the maximum is taken; one character more is refused. */
    char doc[CREDS_MAX_ACCESS_KEY_ID + 200];
    char key[CREDS_MAX_ACCESS_KEY_ID + 2];
    memset(key, 'K', sizeof(key));
    struct arena a;
    arena_init(&a, 0);
    struct creds *c = calloc(1, sizeof(*c));
    struct creds_why why;
    for (int extra = 0; extra <= 1; extra++) {
        key[CREDS_MAX_ACCESS_KEY_ID + extra] = '\0';
        snprintf(
          doc,
          sizeof(doc),
          "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"S\",\"Expiration\":\"2025-06-01T06:00:00Z\"}",
          key);
        CHECK_INT(creds_parse_json(span_from_cstr(doc), &a, c, &why), extra ? ERR_PARSE : ERR_OK);
        key[CREDS_MAX_ACCESS_KEY_ID + extra] = 'K';
    }
    /* Nesting and size beyond what a credentials document needs are refused (CREDS_JSON_MAX_DEPTH is 4). */
    CHECK_INT(creds_parse_json(SPAN_LIT("{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}"), &a, c, &why), ERR_PARSE);
    CHECK(strstr(why.text, "limit") != NULL);
    size_t huge = (size_t) 64 * 1024 + 64;
    char *hugedoc = malloc(huge);
    memset(hugedoc, ' ', huge);
    memcpy(hugedoc, "{\"AccessKeyId\":\"K\"}", 19);
    CHECK_INT(creds_parse_json((struct span){ hugedoc, huge }, &a, c, &why), ERR_PARSE);
    free(hugedoc);
    /* A secret over SECRET_MAX is refused, not cut. */
    size_t big = SECRET_MAX + 200;
    char *bigdoc = malloc(big);
    int n =
      snprintf(bigdoc, big, "{\"AccessKeyId\":\"K\",\"Expiration\":\"2025-06-01T06:00:00Z\",\"SecretAccessKey\":\"");
    memset(bigdoc + n, 's', SECRET_MAX + 1);
    snprintf(bigdoc + n + SECRET_MAX + 1, big - (size_t) n - SECRET_MAX - 1, "\"}");
    CHECK_INT(creds_parse_json(span_from_cstr(bigdoc), &a, c, &why), ERR_LIMIT);
    free(bigdoc);
    creds_wipe(c);
    free(c);
    arena_free(&a);
}

TEST(creds_validate_table) {
    struct creds *c = calloc(1, sizeof(*c));
    struct creds_why why;
    snprintf(c->access_key_id, sizeof(c->access_key_id), "AKIDEXAMPLE");
    REQUIRE_OK(secret_set(&c->secret_access_key, SPAN_LIT("s")));
    c->expiration_s = CREDS_NO_EXPIRY;
    CHECK_OK(creds_validate(c, T0, &why));
    c->expiration_s = T0 + 1;
    CHECK_OK(creds_validate(c, T0, &why));
    c->expiration_s = T0;
    CHECK_INT(creds_validate(c, T0, &why), ERR_CREDS);
    CHECK(strstr(why.text, "expired") != NULL);
    c->expiration_s = CREDS_NO_EXPIRY;
    REQUIRE_OK(secret_set(&c->session_token, SPAN_LIT("a\r\nX-Evil: 1")));
    CHECK_INT(creds_validate(c, T0, &why), ERR_PARSE);
    secret_wipe(&c->session_token);
    snprintf(c->access_key_id, sizeof(c->access_key_id), "AKID EXAMPLE");
    CHECK_INT(creds_validate(c, T0, &why), ERR_PARSE);
    c->access_key_id[0] = '\0';
    CHECK_INT(creds_validate(c, T0, &why), ERR_PARSE);
    snprintf(c->access_key_id, sizeof(c->access_key_id), "AKIDEXAMPLE");
    secret_wipe(&c->secret_access_key);
    CHECK_INT(creds_validate(c, T0, &why), ERR_PARSE);
    creds_wipe(c);
    free(c);
}

/* ---- container URL rule (notes §2) ---- */

TEST(creds_container_url_rule_table) {
    static const struct {
        const char *url;
        bool allowed;
    } cases[] = {
        { "https://example.com/creds", true },
        { "https://10.0.0.5:8443/v1/credentials", true },
        { "http://127.0.0.1/creds", true },
        { "http://127.0.0.1:8080/creds", true },
        { "http://127.1.2.3/creds", true },
        { "http://127.255.255.254:1/", true },
        { "http://localhost:9999/creds", true },
        { "http://LOCALHOST/creds", true },
        { "http://[::1]:8080/creds", true },
        { "http://[0:0:0:0:0:0:0:1]/creds", true },
        { "http://169.254.170.2/v2/credentials/abc", true },
        { "http://169.254.170.23/v1/credentials", true },
        { "http://[fd00:ec2::23]/v1/credentials", true },
        { "http://[FD00:EC2:0::23]:80/v1/credentials", true },
        { "http://169.254.170.3/creds", false },
        { "http://169.254.169.254/latest", false },
        { "http://128.0.0.1/creds", false },
        { "http://10.0.0.5/creds", false },
        { "http://example.com/creds", false },
        { "http://localhost.example.com/creds", false },
        { "http://127.0.0.1.nip.io/creds", false },
        { "http://[::2]/creds", false },
        { "http://[fd00:ec2::254]/creds", false },
        { "http://[::ffff:127.0.0.1]/creds", false },
        { "http://0x7f.0.0.1/creds", false },
        { "http://2130706433/creds", false },
        { "ftp://127.0.0.1/creds", false },
        { "127.0.0.1/creds", false },
        { "http://user:pw@127.0.0.1/creds", false },
        { "http://127.0.0.1/creds?x=1", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct endpoint ep;
        struct creds_why why = { { 0 } };
        enum err e = creds_container_check_url(span_from_cstr(cases[i].url), &ep, &why);
        if (!CHECK_INT(e, cases[i].allowed ? ERR_OK : ERR_CONFIG)) {
            harness_note("url '%s': %s", cases[i].url, why.text);
        }
        if (!cases[i].allowed) {
            CHECK(why.text[0] != '\0');
        }
    }
}

/* ---- providers: configuration decided before any I/O ---- */

static enum err s_provider_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    return p->vt->fetch(p, now_s, out, why);
}

TEST(creds_env_provider_table) {
    static const struct {
        const char *name;
        struct fake_env fe;
        bool configured;
        int err;
        const char *key, *token, *expiration;
    } cases[] = {
        { "unset", { { NULL } }, false, ERR_OK, NULL, NULL, NULL },
        { "keys", { { "AWS_ACCESS_KEY_ID=AKID1", "AWS_SECRET_ACCESS_KEY=S" } }, true, ERR_OK, "AKID1", "", "none" },
        { "session token",
          { { "AWS_ACCESS_KEY_ID=ASIA1", "AWS_SECRET_ACCESS_KEY=S", "AWS_SESSION_TOKEN=T1" } },
          true,
          ERR_OK,
          "ASIA1",
          "T1",
          "none" },
        { "legacy security token",
          { { "AWS_ACCESS_KEY_ID=ASIA1", "AWS_SECRET_ACCESS_KEY=S", "AWS_SECURITY_TOKEN=T2" } },
          true,
          ERR_OK,
          "ASIA1",
          "T2",
          "none" },
        { "session token wins over legacy",
          { { "AWS_ACCESS_KEY_ID=A", "AWS_SECRET_ACCESS_KEY=S", "AWS_SECURITY_TOKEN=T2", "AWS_SESSION_TOKEN=T1" } },
          true,
          ERR_OK,
          "A",
          "T1",
          "none" },
        { "expiration",
          { { "AWS_ACCESS_KEY_ID=A", "AWS_SECRET_ACCESS_KEY=S", "AWS_CREDENTIAL_EXPIRATION=2025-06-01T06:00:00Z" } },
          true,
          ERR_OK,
          "A",
          "",
          "2025-06-01T06:00:00Z" },
        { "bad expiration",
          { { "AWS_ACCESS_KEY_ID=A", "AWS_SECRET_ACCESS_KEY=S", "AWS_CREDENTIAL_EXPIRATION=soon" } },
          true,
          ERR_CONFIG,
          NULL,
          NULL,
          NULL },
        { "key without secret", { { "AWS_ACCESS_KEY_ID=A" } }, true, ERR_CONFIG, NULL, NULL, NULL },
        { "empty key is unset",
          { { "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=S" } },
          false,
          ERR_OK,
          NULL,
          NULL,
          NULL },
        { "secret alone is unset", { { "AWS_SECRET_ACCESS_KEY=S" } }, false, ERR_OK, NULL, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_ctx t = { .fe = cases[i].fe };
        s_ctx_init(&t);
        struct creds_provider *p = creds_env_new(&t.ctx);
        struct creds_why why = { { 0 } };
        bool ok = CHECK(p->vt->configured(p, &why) == cases[i].configured);
        if (cases[i].configured) {
            struct creds *c = calloc(1, sizeof(*c));
            enum err e = s_provider_fetch(p, T0, c, &why);
            ok &= CHECK_INT(e, cases[i].err);
            if (e == ERR_OK && cases[i].err == ERR_OK) {
                char iso[TIME_ISO8601_LEN + 1] = "none";
                if (c->expiration_s != CREDS_NO_EXPIRY) {
                    time_format_iso8601(c->expiration_s, iso);
                }
                ok &= CHECK_STR(c->access_key_id, cases[i].key);
                ok &= CHECK_STR(c->session_token.set ? c->session_token.value : "", cases[i].token);
                ok &= CHECK_STR(iso, cases[i].expiration);
            }
            creds_wipe(c);
            free(c);
        } else {
            ok &= CHECK_STR(why.text, "not set");
        }
        if (!ok) {
            harness_note("case '%s': %s", cases[i].name, why.text);
        }
        p->vt->destroy(p);
        arena_free(&t.scratch);
    }
}

/* Configuration errors of the networked providers are found before any request (the ctx has no HTTP client). */
TEST(creds_provider_config_errors_table) {
    static const struct {
        const char *name;
        struct creds_provider *(*make)(const struct creds_provider_ctx *);
        struct fake_env fe;
        bool configured;
        const char *why_contains;
    } cases[] = {
        { "web identity unset",
          creds_web_identity_new,
          { { "AWS_ROLE_ARN=arn:aws:iam::1:role/r" } },
          false,
          "not configured" },
        { "web identity without role",
          creds_web_identity_new,
          { { "AWS_WEB_IDENTITY_TOKEN_FILE=/t" } },
          true,
          "AWS_ROLE_ARN" },
        { "web identity bad role",
          creds_web_identity_new,
          { { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=role-name" } },
          true,
          "AWS_ROLE_ARN" },
        { "web identity bad session name",
          creds_web_identity_new,
          { { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=arn:aws:iam::1:role/r", "AWS_ROLE_SESSION_NAME=a b" } },
          true,
          "AWS_ROLE_SESSION_NAME" },
        { "web identity session name too short",
          creds_web_identity_new,
          { { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=arn:aws:iam::1:role/r", "AWS_ROLE_SESSION_NAME=a" } },
          true,
          "AWS_ROLE_SESSION_NAME" },
        { "web identity bad sts override",
          creds_web_identity_new,
          { { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=arn:aws:iam::1:role/r", "AWS_ENDPOINT_URL_STS=sts" } },
          true,
          "AWS_ENDPOINT_URL_STS" },
        { "container unset", creds_container_new, { { NULL } }, false, "not configured" },
        { "container disallowed http host",
          creds_container_new,
          { { "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://evil.example.com/creds" } },
          true,
          "not allowed" },
        { "container relative uri without slash",
          creds_container_new,
          { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=v2/creds" } },
          true,
          "RELATIVE_URI" },
        { "container token with newline",
          creds_container_new,
          { { "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:1/c", "AWS_CONTAINER_AUTHORIZATION_TOKEN=a\nb" } },
          true,
          "CR or LF" },
        { "imds skipped for container",
          creds_imds_new,
          { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/x" } },
          false,
          "container" },
        { "imds disabled", creds_imds_new, { { "AWS_EC2_METADATA_DISABLED=TRUE" } }, false, "disabled" },
        { "imds bad mode",
          creds_imds_new,
          { { "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv5" } },
          true,
          "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_ctx t = { .fe = cases[i].fe };
        s_ctx_init(&t);
        struct creds_provider *p = cases[i].make(&t.ctx);
        struct creds_why why = { { 0 } };
        bool ok = CHECK(p->vt->configured(p, &why) == cases[i].configured);
        if (cases[i].configured) {
            struct creds *c = calloc(1, sizeof(*c));
            ok &= CHECK_INT(s_provider_fetch(p, T0, c, &why), ERR_CONFIG);
            free(c);
        }
        ok &= CHECK(strstr(why.text, cases[i].why_contains) != NULL);
        if (!ok) {
            harness_note("case '%s': why '%s'", cases[i].name, why.text);
        }
        p->vt->destroy(p);
        arena_free(&t.scratch);
    }
}

TEST(creds_imds_endpoint_selection) {
    static const struct {
        struct fake_env fe;
        int err;
        const char *want;
    } cases[] = {
        { { { NULL } }, ERR_OK, "http://169.254.169.254" },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv4" } }, ERR_OK, "http://169.254.169.254" },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv6" } }, ERR_OK, "http://[fd00:ec2::254]" },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8111/" } }, ERR_OK, "http://127.0.0.1:8111" },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8111",
              "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv6" } },
          ERR_OK,
          "http://127.0.0.1:8111" },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=dual" } }, ERR_CONFIG, NULL },
        { { { "AWS_EC2_METADATA_SERVICE_ENDPOINT=169.254.169.254" } }, ERR_CONFIG, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake_env fe = cases[i].fe;
        struct endpoint_env env = { s_fake_get, &fe };
        struct imds_client *c = NULL;
        enum err e = imds_client_new(&env, NULL, &c);
        CHECK_INT(e, cases[i].err);
        if (e == ERR_OK) {
            CHECK_STR(imds_client_endpoint(c), cases[i].want);
        }
        imds_client_free(c);
    }
    struct fake_env fe = { { "AWS_EC2_METADATA_DISABLED=false" } };
    struct endpoint_env env = { s_fake_get, &fe };
    CHECK(!imds_disabled(&env));
    fe.vars[0] = "AWS_EC2_METADATA_DISABLED=true";
    CHECK(imds_disabled(&env));
}

TEST(creds_read_token_file_cases) {
    char path[] = "/tmp/sv_test_token_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "  jwt.token.value\n", 18) == 18);
    close(fd);
    struct secret *s = calloc(1, sizeof(*s));
    struct creds_why why;
    CHECK_OK(creds_read_token_file(path, true, s, &why));
    CHECK_STR(s->value, "jwt.token.value");
    CHECK_OK(creds_read_token_file(path, false, s, &why));
    CHECK_STR(s->value, "  jwt.token.value\n");
    /* Exactly SECRET_MAX bytes fit; one more is refused rather than cut. */
    char *big = malloc(SECRET_MAX + 1);
    memset(big, 'j', SECRET_MAX + 1);
    fd = open(path, O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, big, SECRET_MAX) == SECRET_MAX);
    CHECK_OK(creds_read_token_file(path, false, s, &why));
    CHECK_INT(s->len, SECRET_MAX);
    REQUIRE(write(fd, big, 1) == 1);
    close(fd);
    CHECK_INT(creds_read_token_file(path, false, s, &why), ERR_LIMIT);
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    CHECK_INT(creds_read_token_file(path, true, s, &why), ERR_IO);
    unlink(path);
    CHECK_INT(creds_read_token_file(path, true, s, &why), ERR_IO);
    CHECK(strstr(why.text, path) != NULL);
    free(big);
    secret_wipe(s);
    free(s);
}

/* ---- the chain over fake providers ---- */

struct fake_provider {
    struct creds_provider base;
    bool configured;
    enum err result;    /* what fetch returns */
    int64_t lifetime_s; /* expiration = now + lifetime (INT64_MAX: no expiry) */
    const char *key;    /* access key id handed out */
    int fetches;
};

static bool s_fake_configured(struct creds_provider *p, struct creds_why *why) {
    struct fake_provider *f = (struct fake_provider *) p;
    if (!f->configured) {
        creds_why_set(why, "not set");
    }
    return f->configured;
}

static enum err s_fake_fetch(struct creds_provider *p, int64_t now_s, struct creds *out, struct creds_why *why) {
    struct fake_provider *f = (struct fake_provider *) p;
    f->fetches++;
    if (f->result != ERR_OK) {
        CREDS_FAIL(why, f->result, "fake failure %d", f->fetches);
    }
    snprintf(out->access_key_id, sizeof(out->access_key_id), "%s", f->key);
    TRY(secret_set(&out->secret_access_key, SPAN_LIT("fake-secret")));
    TRY(secret_set(&out->session_token, SPAN_LIT("fake-token")));
    out->expiration_s = f->lifetime_s == INT64_MAX ? CREDS_NO_EXPIRY : now_s + f->lifetime_s;
    return ERR_OK;
}

static void s_fake_destroy(struct creds_provider *p) {
    (void) p; /* the fakes live on the test's stack */
}

static const struct creds_provider_vtable s_fake_vt = { s_fake_configured, s_fake_fetch, s_fake_destroy };

static void s_fake(struct fake_provider *f, const char *label, bool configured, enum err result, int64_t life) {
    memset(f, 0, sizeof(*f));
    f->base = (struct creds_provider){ label, label, &s_fake_vt, NULL };
    f->configured = configured;
    f->result = result;
    f->lifetime_s = life;
    f->key = label;
}

TEST(creds_chain_order_and_fall_through) {
    static const struct {
        const char *name;
        bool configured[3];
        enum err result[3];
        int err;
        const char *provider;
        const char *failure;
    } cases[] = {
        { "first answers", { true, true, true }, { ERR_OK, ERR_OK, ERR_OK }, ERR_OK, "a", "" },
        { "unconfigured skipped", { false, true, true }, { ERR_OK, ERR_OK, ERR_OK }, ERR_OK, "b", "" },
        { "failing falls through", { true, true, true }, { ERR_NET, ERR_OK, ERR_OK }, ERR_OK, "b", "" },
        { "last answers", { false, true, true }, { ERR_OK, ERR_TIMEOUT, ERR_OK }, ERR_OK, "c", "" },
        { "nothing configured",
          { false, false, false },
          { ERR_OK, ERR_OK, ERR_OK },
          ERR_CREDS,
          NULL,
          "a not set; b not set; c not set" },
        { "all fail",
          { false, true, true },
          { ERR_OK, ERR_HTTP, ERR_NET },
          ERR_CREDS,
          NULL,
          "a not set; b: fake failure 1; c: fake failure 1" },
        { "config error stops the chain",
          { true, true, true },
          { ERR_CONFIG, ERR_OK, ERR_OK },
          ERR_CONFIG,
          NULL,
          "a: fake failure 1" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake_provider f[3];
        const char *labels[3] = { "a", "b", "c" };
        struct creds_provider *ps[3];
        for (int k = 0; k < 3; k++) {
            s_fake(&f[k], labels[k], cases[i].configured[k], cases[i].result[k], 3600);
            ps[k] = &f[k].base;
        }
        struct creds_chain *chain = NULL;
        REQUIRE_OK(creds_chain_new_from(ps, 3, &chain));
        const struct creds *c = NULL;
        enum err e = creds_get(chain, T0, &c);
        bool ok = CHECK_INT(e, cases[i].err);
        if (e == ERR_OK) {
            ok &= CHECK_STR(c->provider, cases[i].provider);
            ok &= CHECK_STR(c->access_key_id, cases[i].provider);
        }
        ok &= CHECK_STR(creds_chain_failure(chain), cases[i].failure);
        /* The config error: nothing after the failing link was asked. */
        if (cases[i].err == ERR_CONFIG) {
            ok &= CHECK_INT(f[1].fetches + f[2].fetches, 0);
        }
        if (!ok) {
            harness_note("case '%s'", cases[i].name);
        }
        creds_chain_free(chain);
    }
}

TEST(creds_chain_caches_until_refresh_window) {
    struct fake_provider f;
    s_fake(&f, "imds", true, ERR_OK, 3600);
    struct creds_provider *ps[] = { &f.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 1, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    int64_t first_exp = c->expiration_s;
    REQUIRE_OK(creds_get(chain, T0 + 60, &c));
    REQUIRE_OK(creds_get(chain, T0 + 3600 - 15 * 60 - 1, &c));
    CHECK_INT(f.fetches, 1);
    CHECK_INT(creds_chain_fetch_count(chain), 1);
    /* Inside the advisory window: refreshed from the same provider. */
    REQUIRE_OK(creds_get(chain, T0 + 3600 - 15 * 60, &c));
    CHECK_INT(f.fetches, 2);
    CHECK(c->expiration_s > first_exp);
    CHECK_INT(creds_chain_fetch_count(chain), 2);
    creds_chain_free(chain);
}

TEST(creds_chain_advisory_failure_keeps_old) {
    struct fake_provider f;
    s_fake(&f, "container", true, ERR_OK, 3600);
    struct creds_provider *ps[] = { &f.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 1, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    f.result = ERR_NET;
    int64_t t = T0 + 3600 - 12 * 60; /* advisory window */
    REQUIRE_OK(creds_get(chain, t, &c));
    CHECK_INT(c->expiration_s, T0 + 3600);
    CHECK_INT(f.fetches, 2);
    /* Not asked again before CREDS_REFRESH_RETRY_S... */
    REQUIRE_OK(creds_get(chain, t + CREDS_REFRESH_RETRY_S - 1, &c));
    CHECK_INT(f.fetches, 2);
    /* ...then asked again, and a success replaces the old credentials. */
    f.result = ERR_OK;
    REQUIRE_OK(creds_get(chain, t + CREDS_REFRESH_RETRY_S, &c));
    CHECK_INT(f.fetches, 3);
    CHECK_INT(c->expiration_s, t + CREDS_REFRESH_RETRY_S + 3600);
    creds_chain_free(chain);
}

TEST(creds_chain_mandatory_failure_is_an_error) {
    struct fake_provider f;
    s_fake(&f, "web_identity", true, ERR_OK, 3600);
    struct creds_provider *ps[] = { &f.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 1, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    f.result = ERR_AWS;
    CHECK_INT(creds_get(chain, T0 + 3600 - 10 * 60, &c), ERR_CREDS);
    CHECK(strstr(creds_chain_failure(chain), "refresh failed") != NULL);
    /* A mandatory refresh is tried on every call, with no pause. */
    CHECK_INT(creds_get(chain, T0 + 3600 - 10 * 60 + 1, &c), ERR_CREDS);
    CHECK_INT(f.fetches, 3);
    f.result = ERR_OK;
    REQUIRE_OK(creds_get(chain, T0 + 3600 - 10 * 60 + 2, &c));
    CHECK_STR(creds_chain_failure(chain), "");
    creds_chain_free(chain);
}

TEST(creds_chain_short_lived_answers_are_not_refetched_every_call) {
    /* IMDS hands out the same credentials for up to 5 minutes before rotating: 12 min left after a fetch. */
    struct fake_provider f;
    s_fake(&f, "imds", true, ERR_OK, 12 * 60);
    struct creds_provider *ps[] = { &f.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 1, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    REQUIRE_OK(creds_get(chain, T0 + 1, &c));
    REQUIRE_OK(creds_get(chain, T0 + CREDS_REFRESH_RETRY_S - 1, &c));
    CHECK_INT(f.fetches, 1);
    REQUIRE_OK(creds_get(chain, T0 + CREDS_REFRESH_RETRY_S, &c));
    CHECK_INT(f.fetches, 2);
    creds_chain_free(chain);
}

TEST(creds_chain_static_keys_never_refresh) {
    struct fake_provider f;
    s_fake(&f, "env", true, ERR_OK, INT64_MAX);
    struct creds_provider *ps[] = { &f.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 1, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    REQUIRE_OK(creds_get(chain, T0 + 10 * 365 * 86400, &c));
    CHECK_INT(f.fetches, 1);
    CHECK(c->expiration_s == CREDS_NO_EXPIRY);
    creds_chain_free(chain);
}

TEST(creds_chain_rejects_expired_answers) {
    struct fake_provider a, b;
    s_fake(&a, "a", true, ERR_OK, 0); /* expires the second it is handed out */
    s_fake(&b, "b", true, ERR_OK, 3600);
    struct creds_provider *ps[] = { &a.base, &b.base };
    struct creds_chain *chain = NULL;
    REQUIRE_OK(creds_chain_new_from(ps, 2, &chain));
    const struct creds *c = NULL;
    REQUIRE_OK(creds_get(chain, T0, &c));
    CHECK_STR(c->provider, "b");
    creds_chain_free(chain);
}

TEST(creds_chain_limits) {
    struct creds_chain *chain = NULL;
    CHECK_INT(creds_chain_new_from(NULL, 0, &chain), ERR_INVALID);
    struct fake_provider f[9];
    struct creds_provider *ps[9];
    for (int i = 0; i < 9; i++) {
        s_fake(&f[i], "x", true, ERR_OK, 3600);
        ps[i] = &f[i].base;
    }
    CHECK_INT(creds_chain_new_from(ps, 9, &chain), ERR_INVALID);
    REQUIRE_OK(creds_chain_new_from(ps, 8, &chain));
    creds_chain_free(chain);
    struct creds_chain_options o = { 0 };
    CHECK_INT(creds_chain_new(&o, &chain), ERR_INVALID);
}
