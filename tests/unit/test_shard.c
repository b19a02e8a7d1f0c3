/*
 * test_shard.c - the multi-account and multi-region variables (valid values, every bad value → one line naming
 * the variable), the target list (accounts x regions, excludes, DR region per source) and rendezvous sharding:
 * every target in exactly one shard, adding an account moves no other target, one more shard moves about
 * 1/(N+1) of them, shards are balanced, and the split is pinned (every task and release must agree on it).
 * Also the STS and Organizations builders and parsers, and the Organizations endpoint per partition.
 */
#include "harness.h"

#include "aws/creds_provider.h"
#include "aws/endpoint.h"
#include "backup/shard.h"
#include "base/arena.h"
#include "base/buf.h"
#include "cfg/cfg.h"
#include "cfg/cfg_targets.h"
#include "codec/json.h"
#include "codec/xml.h"
#include "svc/organizations.h"
#include "svc/sts.h"

#include <stdio.h>
#include <string.h>

#define S_ENV_MAX 8
/* shard_of for four fixed keys among 3 shards; see shard_split_is_pinned. */
#define SHARD_PINNED "2002"

struct s_run {
    struct arena a;
    struct cfg c;
    struct cfg_error err;
    enum err e;
};

static void s_parse(struct s_run *r, const char *const *env) {
    arena_init(&r->a, 0);
    struct cfg_input in = { .envp = env };
    r->e = cfg_parse(&r->c, &r->a, &in, &r->err);
}

TEST(targets_cfg_valid_values) {
    const char *env[] = { "SOURCE_REGIONS=us-east-1, eu-west-1",
                          "DEST_REGION_MAP=us-east-1=us-west-2",
                          "DEST_REGION=eu-central-1",
                          "ACCOUNTS=111111111111,222222222222",
                          "ACCOUNTS_EXCLUDE=222222222222",
                          "ACCOUNT_ROLE_NAME=SmartVault-Member",
                          "ACCOUNT_ROLE_EXTERNAL_ID=o-abc123:vault",
                          NULL };
    struct s_run r;
    s_parse(&r, env);
    REQUIRE_OK(r.e);
    CHECK_INT(r.c.nsource_regions, 2);
    CHECK_STR(r.c.source_regions[1], "eu-west-1");
    CHECK_STR(r.c.source_region, "us-east-1");
    CHECK_STR(cfg_dest_region_for(&r.c, "us-east-1"), "us-west-2");
    CHECK_STR(cfg_dest_region_for(&r.c, "eu-west-1"), "eu-central-1");
    CHECK_INT(r.c.naccounts, 2);
    CHECK_INT(r.c.naccounts_exclude, 1);
    CHECK_STR(r.c.account_role_name, "SmartVault-Member");
    CHECK_STR(r.c.account_role_external_id, "o-abc123:vault");
    CHECK_INT(r.c.shard_count, 1);
    CHECK_INT(r.c.shard_index, 0);
    arena_free(&r.a);

    const char *org[] = { "SOURCE_REGION=us-east-1", "ACCOUNTS=Organization", "ACCOUNT_ROLE_NAME=R", NULL };
    s_parse(&r, org);
    REQUIRE_OK(r.e);
    CHECK(r.c.accounts_organization);
    CHECK_INT(r.c.nsource_regions, 1);
    arena_free(&r.a);

    /* The platform indexes fill SHARD_INDEX; SHARD_INDEX itself wins over them; the Batch size fills the count. */
    const char *k8s[] = { "SOURCE_REGION=us-east-1", "JOB_COMPLETION_INDEX=2", "SHARD_COUNT=3", NULL };
    s_parse(&r, k8s);
    REQUIRE_OK(r.e);
    CHECK_INT(r.c.shard_index, 2);
    arena_free(&r.a);
    const char *batch[] = {
        "SOURCE_REGION=us-east-1", "AWS_BATCH_JOB_ARRAY_INDEX=4", "AWS_BATCH_JOB_ARRAY_SIZE=5", "SHARD_INDEX=1", NULL
    };
    s_parse(&r, batch);
    REQUIRE_OK(r.e);
    CHECK_INT(r.c.shard_index, 1);
    CHECK_INT(r.c.shard_count, 5);
    arena_free(&r.a);
}

static const struct {
    const char *env[S_ENV_MAX];
    const char *var;
} s_bad[] = {
    { { "SOURCE_REGIONS=us-east-1,,eu-west-1" }, "SOURCE_REGIONS" },
    { { "SOURCE_REGIONS=us-east-1," }, "SOURCE_REGIONS" },
    { { "SOURCE_REGIONS=US-EAST-1" }, "SOURCE_REGIONS" },
    { { "SOURCE_REGIONS=us-east-1,us-east-1" }, "SOURCE_REGIONS" },
    { { "SOURCE_REGIONS=a1,a2,a3,a4,a5,a6,a7,a8,a9,b1,b2,b3,b4,b5,b6,b7,b8,b9,c1,c2,c3,c4,c5,c6,c7,c8,c9,d1,d2,"
        "d3,d4,d5,d6" },
      "SOURCE_REGIONS" },
    { { "SOURCE_REGIONS=us-east-1,eu-west-1", "DEST_REGION=eu-west-1" }, "DEST_REGION" },
    { { "SOURCE_REGIONS=us-east-1,cn-north-1", "DEST_REGION=us-west-2" }, "DEST_REGION" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1=us-east-1" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1=Mars" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1=cn-north-1" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1=us-west-2,us-east-1=us-west-1" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=eu-west-1=eu-central-1" }, "DEST_REGION_MAP" },
    { { "DEST_REGION_MAP=eu-west-1=eu-central-1" }, "DEST_REGION_MAP" },
    { { "SOURCE_REGIONS=us-east-1,eu-west-1",
        "KMS_KEY_ID=arn:aws:kms:us-west-2:111111111111:key/0f0e0d0c-0b0a-0908-0706-050403020100",
        "DEST_REGION=us-west-2",
        "DEST_REGION_MAP=eu-west-1=eu-central-1" },
      "KMS_KEY_ID" },
    { { "ACCOUNTS=12345678901", "ACCOUNT_ROLE_NAME=R" }, "ACCOUNTS" },
    { { "ACCOUNTS=1234567890123", "ACCOUNT_ROLE_NAME=R" }, "ACCOUNTS" },
    { { "ACCOUNTS=12345678901a", "ACCOUNT_ROLE_NAME=R" }, "ACCOUNTS" },
    { { "ACCOUNTS=111111111111,111111111111", "ACCOUNT_ROLE_NAME=R" }, "ACCOUNTS" },
    { { "ACCOUNTS=organisation", "ACCOUNT_ROLE_NAME=R" }, "ACCOUNTS" },
    { { "ACCOUNTS=111111111111" }, "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS=organization" }, "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS_EXCLUDE=111111111111" }, "ACCOUNTS_EXCLUDE" },
    { { "ACCOUNTS=organization", "ACCOUNT_ROLE_NAME=R", "ACCOUNTS_EXCLUDE=x" }, "ACCOUNTS_EXCLUDE" },
    { { "ACCOUNTS=111111111111", "ACCOUNT_ROLE_NAME=R", "ACCOUNTS_EXCLUDE=111111111111" }, "ACCOUNTS_EXCLUDE" },
    { { "ACCOUNT_ROLE_NAME=R" }, "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS=111111111111", "ACCOUNT_ROLE_NAME=arn:aws:iam::111111111111:role/R" }, "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS=111111111111",
        "ACCOUNT_ROLE_NAME=R123456789012345678901234567890123456789012345678901234567890123456" },
      "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS=111111111111", "ACCOUNT_ROLE_NAME=role name" }, "ACCOUNT_ROLE_NAME" },
    { { "ACCOUNTS=111111111111", "ACCOUNT_ROLE_NAME=R", "ACCOUNT_ROLE_EXTERNAL_ID=x" }, "ACCOUNT_ROLE_EXTERNAL_ID" },
    { { "ACCOUNTS=111111111111", "ACCOUNT_ROLE_NAME=R", "ACCOUNT_ROLE_EXTERNAL_ID=a b" }, "ACCOUNT_ROLE_EXTERNAL_ID" },
    { { "ACCOUNT_ROLE_EXTERNAL_ID=abc" }, "ACCOUNT_ROLE_EXTERNAL_ID" },
    { { "SHARD_COUNT=0" }, "SHARD_COUNT" },
    { { "SHARD_COUNT=10001" }, "SHARD_COUNT" },
    { { "SHARD_COUNT=three" }, "SHARD_COUNT" },
    { { "SHARD_COUNT=3" }, "SHARD_INDEX" },
    { { "SHARD_INDEX=0" }, "SHARD_COUNT" },
    { { "JOB_COMPLETION_INDEX=1" }, "SHARD_COUNT" },
    { { "AWS_BATCH_JOB_ARRAY_INDEX=1" }, "SHARD_COUNT" },
    { { "SHARD_COUNT=3", "SHARD_INDEX=3" }, "SHARD_INDEX" },
    { { "SHARD_COUNT=3", "SHARD_INDEX=-1" }, "SHARD_INDEX" },
    { { "SHARD_COUNT=3", "JOB_COMPLETION_INDEX=x" }, "JOB_COMPLETION_INDEX" },
    { { "AWS_BATCH_JOB_ARRAY_SIZE=2", "AWS_BATCH_JOB_ARRAY_INDEX=2" }, "AWS_BATCH_JOB_ARRAY_INDEX" },
    { { "AWS_BATCH_JOB_ARRAY_SIZE=0", "AWS_BATCH_JOB_ARRAY_INDEX=0" }, "AWS_BATCH_JOB_ARRAY_SIZE" },
};

TEST(targets_cfg_bad_values_name_the_variable) {
    size_t cases = sizeof(s_bad) / sizeof(s_bad[0]);
    for (size_t i = 0; i < cases; i++) {
        const char *env[S_ENV_MAX + 2] = { "SOURCE_REGION=us-east-1" };
        /* Cases that set the source themselves put it first; the default one is then shadowed (first wins). */
        memcpy(env + 1, s_bad[i].env, sizeof(s_bad[i].env));
        if (
          strncmp(s_bad[i].env[0], "SOURCE_REGION", 13) == 0 ||
          strncmp(s_bad[i].env[0], "DEST_REGION_MAP=eu", 18) == 0) {
            memmove(env, env + 1, sizeof(s_bad[i].env));
        }
        struct s_run r;
        s_parse(&r, env);
        size_t n = strlen(s_bad[i].var);
        bool named = strncmp(r.err.line, s_bad[i].var, n) == 0 && r.err.line[n] == ':';
        if (!CHECK_INT(r.e, ERR_CONFIG) || !CHECK(named) || !CHECK(strchr(r.err.line, '\n') == NULL)) {
            harness_note("case %zu (%s): want %s, got: %s\n", i, s_bad[i].env[0], s_bad[i].var, r.err.line);
        }
        arena_free(&r.a);
    }
    harness_note("%zu bad-value cases\n", cases);
}

TEST(targets_cfg_messages) {
    const char *env[] = { "SOURCE_REGION=us-east-1", "DEST_REGION_MAP=us-east-1=us-east-1", NULL };
    struct s_run r;
    s_parse(&r, env);
    CHECK_STR(
      r.err.line, "DEST_REGION_MAP: maps us-east-1 to itself: a copy in the same region is no disaster recovery");
    arena_free(&r.a);
    const char *acc[] = { "ACCOUNTS=111111111111,12", "ACCOUNT_ROLE_NAME=R", NULL };
    s_parse(&r, acc);
    CHECK_STR(r.err.line, "ACCOUNTS: \"12\" is not a 12-digit AWS account id");
    arena_free(&r.a);
}

/* ---- the target list and shards ----------------------------------------------------------------------------- */

static const char *s_regions[] = { "us-east-1", "eu-west-1", "ap-southeast-2" };

static struct cfg s_cfg(uint32_t shards) {
    struct cfg c;
    memset(&c, 0, sizeof(c));
    c.source_regions = s_regions;
    c.nsource_regions = 3;
    c.dest_region = "us-west-2";
    c.shard_count = shards;
    return c;
}

/* n account ids "1000000000NN". */
static const char **s_accounts(struct arena *a, size_t n) {
    const char **ids = ARENA_NEW_ARRAY(a, const char *, n);
    for (size_t i = 0; i < n; i++) {
        ids[i] = arena_printf(a, "%012zu", (size_t) 100000000000u + i);
    }
    return ids;
}

TEST(shard_target_list_is_accounts_times_regions_minus_excludes) {
    struct arena a;
    arena_init(&a, 0);
    struct cfg c = s_cfg(1);
    static const struct cfg_region_map map[] = { { "eu-west-1", "eu-central-1" } };
    c.dest_region_map = map;
    c.ndest_region_map = 1;
    const char *accounts[] = { "111111111111", "222222222222", "333333333333" };
    const char *exclude[] = { "222222222222" };
    struct target *t = NULL;
    size_t n = shard_targets(&c, accounts, 3, exclude, 1, &a, &t);
    REQUIRE(n == 6);
    CHECK_STR(t[0].account_id, "111111111111");
    CHECK_STR(t[0].region, "us-east-1");
    CHECK_STR(t[0].dest_region, "us-west-2");
    CHECK_STR(t[1].dest_region, "eu-central-1");
    CHECK_STR(t[3].account_id, "333333333333");
    /* No accounts: the own account, id unknown (""). */
    n = shard_targets(&c, NULL, 0, NULL, 0, &a, &t);
    CHECK_INT(n, 3);
    CHECK_STR(t[2].account_id, "");
    arena_free(&a);
}

TEST(shard_every_target_in_exactly_one_shard) {
    struct arena a;
    arena_init(&a, 0);
    static const uint32_t counts[] = { 1, 2, 3, 7, 64 };
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        struct cfg c = s_cfg(counts[k]);
        const char **ids = s_accounts(&a, 200);
        struct target *all = NULL;
        size_t total = shard_targets(&c, ids, 200, NULL, 0, &a, &all);
        REQUIRE(total == 600);
        size_t covered = 0;
        uint32_t *hits = ARENA_NEW_ARRAY(&a, uint32_t, total);
        memset(hits, 0, total * sizeof(*hits));
        for (uint32_t s = 0; s < counts[k]; s++) {
            struct target *t = NULL;
            size_t n = shard_targets(&c, ids, 200, NULL, 0, &a, &t);
            n = shard_select(t, n, s);
            covered += n;
            for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < total; j++) {
                    if (strcmp(all[j].account_id, t[i].account_id) == 0 && all[j].region == t[i].region) {
                        hits[j]++;
                    }
                }
            }
        }
        CHECK_INT(covered, total);
        for (size_t j = 0; j < total; j++) {
            if (!CHECK_INT(hits[j], 1)) {
                break;
            }
        }
    }
    arena_free(&a);
}

TEST(shard_adding_an_account_moves_no_other_target) {
    struct arena a;
    arena_init(&a, 0);
    struct cfg c = s_cfg(8);
    const char **ids = s_accounts(&a, 101);
    struct target *before = NULL, *after = NULL;
    size_t n = shard_targets(&c, ids, 100, NULL, 0, &a, &before);
    size_t m = shard_targets(&c, ids, 101, NULL, 0, &a, &after);
    REQUIRE(m == n + 3);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        moved += before[i].shard != after[i].shard;
    }
    CHECK_INT(moved, 0);
    arena_free(&a);
}

TEST(shard_one_more_shard_moves_about_one_in_n_plus_one) {
    struct arena a;
    arena_init(&a, 0);
    const char **ids = s_accounts(&a, 1000);
    struct cfg c4 = s_cfg(4), c5 = s_cfg(5);
    struct target *t4 = NULL, *t5 = NULL;
    size_t n = shard_targets(&c4, ids, 1000, NULL, 0, &a, &t4);
    (void) shard_targets(&c5, ids, 1000, NULL, 0, &a, &t5);
    size_t moved = 0, wrong = 0;
    size_t per[5] = { 0 };
    for (size_t i = 0; i < n; i++) {
        moved += t4[i].shard != t5[i].shard;
        /* A target that moves goes to the new shard, never between old ones. */
        wrong += t4[i].shard != t5[i].shard && t5[i].shard != 4;
        per[t5[i].shard]++;
    }
    harness_note("4 -> 5 shards: %zu of %zu targets moved (ideal %zu)\n", moved, n, n / 5);
    CHECK(moved > n / 5 - n / 25 && moved < n / 5 + n / 25);
    CHECK_INT(wrong, 0);
    for (size_t s = 0; s < 5; s++) {
        /* Balance: 600 per shard expected, binomial sd about 22. */
        CHECK(per[s] > 500 && per[s] < 700);
    }
    arena_free(&a);
}

TEST(shard_split_is_pinned) {
    /* Changing the hash would re-shard every deployment mid-schedule: these values must never change. */
    CHECK_INT(shard_of("111111111111", "us-east-1", 3), shard_of("111111111111", "us-east-1", 3));
    char got[64];
    snprintf(
      got,
      sizeof(got),
      "%u%u%u%u",
      shard_of("111111111111", "us-east-1", 3),
      shard_of("222222222222", "us-east-1", 3),
      shard_of("333333333333", "eu-west-1", 3),
      shard_of("", "us-east-1", 3));
    harness_note("pinned split: %s\n", got);
    CHECK_STR(got, SHARD_PINNED);
    CHECK_INT(shard_of("111111111111", "us-east-1", 1), 0);
}

TEST(shard_print_lists_this_shards_targets) {
    struct arena a;
    arena_init(&a, 0);
    struct cfg c = s_cfg(1);
    const char *accounts[] = { "111111111111" };
    c.accounts = accounts;
    c.naccounts = 1;
    struct buf out;
    buf_init(&out, 4096);
    shard_print(&c, &a, &out);
    CHECK_STR(
      buf_cstr(&out),
      "TARGETS=3 of 3  (source: shard 0 of 1)\n"
      "TARGET=111111111111:us-east-1 -> us-west-2  (source: shard 0 of 1)\n"
      "TARGET=111111111111:eu-west-1 -> us-west-2  (source: shard 0 of 1)\n"
      "TARGET=111111111111:ap-southeast-2 -> us-west-2  (source: shard 0 of 1)\n");
    buf_free(&out);
    arena_free(&a);
}

/* ---- STS and Organizations request builders and parsers ----------------------------------------------------- */

static const char *s_no_env(void *ctx, const char *name) {
    (void) ctx;
    (void) name;
    return NULL;
}

TEST(organizations_endpoint_is_one_per_partition) {
    struct endpoint_env env = { s_no_env, NULL };
    static const struct {
        const char *home, *host, *signing;
    } cases[] = {
        { "eu-west-1", "organizations.us-east-1.amazonaws.com", "us-east-1" },
        { "us-east-1", "organizations.us-east-1.amazonaws.com", "us-east-1" },
        { "cn-north-1", "organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
        { "us-gov-east-1", "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct endpoint ep;
        REQUIRE_OK(endpoint_resolve(&env, ENDPOINT_ORGANIZATIONS, cases[i].home, NULL, &ep));
        CHECK_STR(ep.host, cases[i].host);
        CHECK_STR(ep.signing_region, cases[i].signing);
    }
}

TEST(sts_role_arn_follows_the_partition_and_session_names_the_run) {
    char arn[STS_ROLE_ARN_MAX + 1];
    REQUIRE(sts_role_arn("eu-west-1", "111111111111", "SmartVaultMember", arn, sizeof(arn)));
    CHECK_STR(arn, "arn:aws:iam::111111111111:role/SmartVaultMember");
    REQUIRE(sts_role_arn("cn-north-1", "111111111111", "R", arn, sizeof(arn)));
    CHECK_STR(arn, "arn:aws-cn:iam::111111111111:role/R");
    REQUIRE(sts_role_arn("us-gov-west-1", "111111111111", "R", arn, sizeof(arn)));
    CHECK_STR(arn, "arn:aws-us-gov:iam::111111111111:role/R");
    CHECK(!sts_role_arn("us-east-1", "111111111111", "R", arn, 20));
    char session[STS_SESSION_NAME_MAX + 1];
    sts_session_name("81e21fde-4a8c-4798-a7aa-6f291c338532", session);
    CHECK_STR(session, "smartvault-81e21fde-4a8c-4798-a7aa-6f291c338532");
    CHECK(strlen(session) <= STS_SESSION_NAME_MAX);

    struct arena a;
    arena_init(&a, 0);
    struct query_params q;
    query_init(&q, &a);
    sts_assume_role_request(&q, arn, session, "ext-1", STS_ASSUME_ROLE_DURATION_S);
    CHECK_SPAN(query_get(&q, "ExternalId"), "ext-1");
    CHECK_SPAN(query_get(&q, "DurationSeconds"), "3600");
    query_init(&q, &a);
    sts_assume_role_request(&q, arn, session, NULL, 900);
    CHECK_INT(query_get(&q, "ExternalId").n, 0);

    static const char identity[] = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::"
                                   "123456789012:user/x</Arn><Account>123456789012</Account>"
                                   "</GetCallerIdentityResult></GetCallerIdentityResponse>";
    const struct xml_node *root = NULL;
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(identity), NULL, &root));
    char account[STS_ACCOUNT_ID_LEN + 1];
    REQUIRE_OK(sts_caller_account_parse(root, account));
    CHECK_STR(account, "123456789012");
    static const char bad[] = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>12345</Account>"
                              "</GetCallerIdentityResult></GetCallerIdentityResponse>";
    REQUIRE_OK(xml_parse(&a, SPAN_LIT(bad), NULL, &root));
    CHECK_INT(sts_caller_account_parse(root, account), ERR_PARSE);
    arena_free(&a);
}

TEST(sts_assume_role_answer_is_parsed_and_its_secrets_kept_out_of_the_arena) {
    static const char answer[] =
      "<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/R/s"
      "</Arn></AssumedRoleUser><Credentials><AccessKeyId>ASIAEXAMPLE12345</AccessKeyId><SecretAccessKey>"
      "sekrit/Key+1</SecretAccessKey><SessionToken>tok3n</SessionToken><Expiration>2026-12-06T19:00:00Z"
      "</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
    struct arena a;
    arena_init(&a, 0);
    struct creds c;
    memset(&c, 0, sizeof(c));
    struct creds_why why = { { 0 } };
    REQUIRE_OK(creds_parse_sts_xml(SPAN_LIT(answer), "AssumeRoleResult", &a, &c, &why));
    CHECK_STR(c.access_key_id, "ASIAEXAMPLE12345");
    CHECK_STR(c.account_id, "111111111111");
    CHECK_SPAN(secret_span(&c.secret_access_key), "sekrit/Key+1");
    CHECK_INT(c.expiration_s, 1796583600);
    /* The web identity result name does not match an AssumeRole answer. */
    CHECK_INT(creds_parse_sts_xml(SPAN_LIT(answer), "AssumeRoleWithWebIdentityResult", &a, &c, &why), ERR_PARSE);
    creds_wipe(&c);
    arena_free(&a);
}

TEST(organizations_list_accounts_keeps_active_accounts_and_the_token) {
    struct arena a;
    arena_init(&a, 0);
    struct buf body;
    buf_init(&body, 1024);
    organizations_list_accounts_body(SPAN_LIT(""), &body);
    CHECK_STR(buf_cstr(&body), "{\"MaxResults\":20}");
    buf_reset(&body);
    organizations_list_accounts_body(SPAN_LIT("tok\"en"), &body);
    CHECK_STR(buf_cstr(&body), "{\"MaxResults\":20,\"NextToken\":\"tok\\\"en\"}");
    buf_free(&body);

    static const char page[] = "{\"Accounts\":[{\"Id\":\"111111111111\",\"Status\":\"ACTIVE\"},"
                               "{\"Id\":\"222222222222\",\"Status\":\"SUSPENDED\"},"
                               "{\"Id\":\"333333333333\",\"Status\":\"ACTIVE\",\"State\":\"PENDING_CLOSURE\"},"
                               "{\"Id\":\"444444444444\",\"State\":\"ACTIVE\"}],\"NextToken\":\"next-1\"}";
    const struct json_value *root = NULL;
    REQUIRE_OK(json_parse(&a, SPAN_LIT(page), NULL, &root));
    const char *ids[4];
    size_t n = 0, skipped = 0;
    struct span next;
    REQUIRE_OK(organizations_list_accounts_parse(root, &a, ids, 4, &n, &skipped, &next));
    REQUIRE(n == 2);
    CHECK_STR(ids[0], "111111111111");
    CHECK_STR(ids[1], "444444444444");
    CHECK_INT(skipped, 2);
    CHECK_SPAN(next, "next-1");
    /* Past the maximum, and malformed answers. */
    n = 0;
    CHECK_INT(organizations_list_accounts_parse(root, &a, ids, 1, &n, &skipped, &next), ERR_LIMIT);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{\"Accounts\":[{\"Id\":\"12\"}]}"), NULL, &root));
    n = 0;
    CHECK_INT(organizations_list_accounts_parse(root, &a, ids, 4, &n, &skipped, &next), ERR_PARSE);
    REQUIRE_OK(json_parse(&a, SPAN_LIT("{}"), NULL, &root));
    CHECK_INT(organizations_list_accounts_parse(root, &a, ids, 4, &n, &skipped, &next), ERR_PARSE);
    arena_free(&a);
}
