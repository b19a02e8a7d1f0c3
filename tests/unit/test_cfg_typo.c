/*
 * test_cfg_typo.c - unknown variables that look like ours: typos and the SMARTVAULT_ prefix are refused (with the
 * closest known name), while what ECS, Kubernetes (including the service links of a Service named like us), the
 * AWS SDKs and shells set is never refused. Every name of cfg.c's table is checked against itself and against
 * one-letter typos, so a variable added by anyone is covered without touching this file.
 */
#include "harness.h"

#include "base/arena.h"
#include "cfg/cfg.h"
#include "cfg/cfg_typo.h"

#include <stdio.h>
#include <string.h>

/* Runs cfg_parse with `env` plus a valid minimal configuration; returns the error line ("" when it passed). */
static const char *s_parse_with(const char *extra, char *line, size_t cap) {
    const char *env[] = { "SOURCE_REGION=us-east-1", "DEST_REGION=us-west-2", extra, NULL };
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    struct cfg_error err;
    struct cfg_input in = { .envp = env };
    enum err e = cfg_parse(&c, &a, &in, &err);
    snprintf(line, cap, "%s", e == ERR_OK ? "" : err.line);
    arena_free(&a);
    return line;
}

TEST(cfg_typo_distance) {
    CHECK_INT(cfg_typo_distance(SPAN_LIT("RETENTON_DAYS"), SPAN_LIT("RETENTION_DAYS"), 2), 1);
    CHECK_INT(cfg_typo_distance(SPAN_LIT("RETNETION_DAYS"), SPAN_LIT("RETENTION_DAYS"), 2), 1); /* swap */
    CHECK_INT(cfg_typo_distance(SPAN_LIT("retention_days"), SPAN_LIT("RETENTION_DAYS"), 2), 0);
    CHECK_INT(cfg_typo_distance(SPAN_LIT("PATH"), SPAN_LIT("RETENTION_DAYS"), 2), 3);
    CHECK_INT(cfg_typo_distance(SPAN_LIT(""), SPAN_LIT("AB"), 5), 2);
}

TEST(cfg_typo_refuses_the_issue_example_in_parse) {
    char line[CFG_ERROR_MAX];
    CHECK_STR(
      s_parse_with("RETENTON_DAYS=30", line, sizeof(line)),
      "RETENTON_DAYS: not a SmartVault variable; did you mean RETENTION_DAYS?");
    CHECK_STR(
      s_parse_with("retention_days=30", line, sizeof(line)),
      "retention_days: not a SmartVault variable; did you mean RETENTION_DAYS?");
    CHECK_STR(
      s_parse_with("DEST_REGOIN=eu-west-1", line, sizeof(line)),
      "DEST_REGOIN: not a SmartVault variable; did you mean DEST_REGION?");
    CHECK_STR(
      s_parse_with("SMARTVAULT_RETENTION=3", line, sizeof(line)),
      "SMARTVAULT_RETENTION: not a SmartVault variable (smartvault --help lists them)");
    CHECK_STR(
      s_parse_with("SMARTVAULT_NWO=2025-01-01T00:00:00Z", line, sizeof(line)),
      "SMARTVAULT_NWO: not a SmartVault variable; did you mean SMARTVAULT_NOW?");
    /* The value never appears in the line (it may be a secret). */
    CHECK(strstr(s_parse_with("AWS_SECRET_ACCES_KEY=hunter2", line, sizeof(line)), "hunter2") == NULL);
    CHECK(strstr(line, "did you mean AWS_SECRET_ACCESS_KEY?") != NULL);
    CHECK_STR(s_parse_with("RETENTION_DAYS=30", line, sizeof(line)), "");
}

/* Every known name passes, and a one-letter slip of every known name is refused with that name suggested
 * (or another known name at least as close). */
TEST(cfg_typo_covers_every_name_of_the_table) {
    for (size_t v = 0; v < CFG_VAR__COUNT; v++) {
        const char *name = cfg_var_info((enum cfg_var) v)->name;
        const char *suggest = "x";
        CHECK(!cfg_typo_suspect(span_from_cstr(name), &suggest));
        char typo[CFG_TYPO_NAME_MAX + 1];
        snprintf(typo, sizeof(typo), "%s", name);
        size_t n = strlen(typo);
        typo[n / 2] = typo[n / 2] == 'Q' ? 'X' : 'Q';
        if (strncmp(typo, "AWS_ENDPOINT_URL_", 17) == 0) {
            continue; /* per-service SDK endpoints are foreign by rule */
        }
        if (!CHECK(cfg_typo_suspect(span_from_cstr(typo), &suggest) && suggest != NULL)) {
            fprintf(stderr, "  typo %s of %s not refused\n", typo, name);
        }
    }
}

static bool s_known(const char *name) {
    for (size_t v = 0; v < CFG_VAR__COUNT; v++) {
        if (strcmp(cfg_var_info((enum cfg_var) v)->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* What schedulers, the AWS SDKs and shells set: none of it may be refused. */
TEST(cfg_typo_no_false_alarms) {
    static const char *const names[] = {
        /* shells and containers */
        "PATH",
        "HOME",
        "HOSTNAME",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "TERM",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LC_ALL",
        "TZ",
        "_",
        "MAIL",
        "container",
        "LS_COLORS",
        "TMPDIR",
        "EDITOR",
        "PAGER",
        "DISPLAY",
        "SSH_AUTH_SOCK",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "ALL_PROXY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        /* ECS / Fargate */
        "ECS_CONTAINER_METADATA_URI",
        "ECS_CONTAINER_METADATA_URI_V4",
        "ECS_AGENT_URI",
        "AWS_EXECUTION_ENV",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        /* EKS: IRSA and Pod Identity */
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        /* AWS SDK / CLI */
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_PAGER",
        "AWS_DEFAULT_OUTPUT",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SES",
        "AWS_ENDPOINT_URL_ECS",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_METADATA_SERVICE_TIMEOUT",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
        "AWS_CA_BUNDLE",
        "AWS_LAMBDA_FUNCTION_NAME",
        /* Kubernetes: the API service, and the service links of a Service named smartvault (or like a variable) */
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "KUBERNETES_SERVICE_PORT_HTTPS",
        "KUBERNETES_PORT",
        "KUBERNETES_PORT_443_TCP",
        "KUBERNETES_PORT_443_TCP_PROTO",
        "KUBERNETES_PORT_443_TCP_PORT",
        "KUBERNETES_PORT_443_TCP_ADDR",
        "SMARTVAULT_SERVICE_HOST",
        "SMARTVAULT_SERVICE_PORT",
        "SMARTVAULT_SERVICE_PORT_HTTPS",
        "SMARTVAULT_SERVICE_PORT_METRICS",
        "SMARTVAULT_PORT",
        "SMARTVAULT_PORT_443_TCP",
        "SMARTVAULT_PORT_443_TCP_PROTO",
        "SMARTVAULT_PORT_443_TCP_PORT",
        "SMARTVAULT_PORT_443_TCP_ADDR",
        "SMARTVAULT_PORT_9090_UDP_ADDR",
        "SMARTVAULT_PORT_5000_SCTP",
        "DYNAMODB_SERVICE_HOST",
        "METRICS_PORT",
        "MIN_KEEP_SERVICE_HOST",
        "DRY_RUN_PORT_80_TCP",
        /* common CI and runtime names */
        "CI",
        "GITHUB_ACTIONS",
        "HOST",
        "PORT",
        "DEBUG",
        "NODE_ENV",
        "JAVA_HOME",
        "PYTHONPATH",
        "LD_LIBRARY_PATH",
        "DB_HOST",
        "LOGLEVEL_DEFAULT",
        "POD_NAME",
        "POD_NAMESPACE",
        "NODE_NAME",
    };
    char line[CFG_ERROR_MAX], entry[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *suggest;
        if (!CHECK(!cfg_typo_suspect(span_from_cstr(names[i]), &suggest))) {
            fprintf(stderr, "  false alarm: %s (suggests %s)\n", names[i], suggest ? suggest : "-");
        }
        if (s_known(names[i])) {
            continue; /* a known variable: "1" would be a bad value, which is another test's business */
        }
        snprintf(entry, sizeof(entry), "%s=1", names[i]);
        if (!CHECK_STR(s_parse_with(entry, line, sizeof(line)), "")) {
            fprintf(stderr, "  refused by cfg_parse: %s\n", names[i]);
        }
    }
}
