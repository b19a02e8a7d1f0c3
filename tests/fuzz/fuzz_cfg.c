/*
 * fuzz_cfg.c - libFuzzer target for cfg: random environment text and flags through cfg_parse.
 *
 * The input is split at '\n' into entries: an entry starting with '-' is a command-line argument, any other is an
 * environment entry ("NAME=value"). Errors are fine; what must hold:
 *   - on error, the message is one non-empty line shorter than CFG_ERROR_MAX;
 *   - on success, every value is inside its documented range, the cross-variable rules hold (DEST_REGION differs
 *     from the source region, S3_SSE_KMS_KEY_ID exactly with aws:kms, an S3 job has a source and a route), the
 *     printed configuration is one "NAME=value  (source: ...)" line per setting, parsing again gives the same
 *     output (no hidden state), and cfg_s3_route agrees with a brute-force longest-prefix search.
 */
// fuzz-sources: src/cfg/*.c src/aws/region.c src/base/*.c
#include "base/arena.h"
#include "base/buf.h"
#include "cfg/cfg.h"
#include "cfg/cfg_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_ENTRIES_MAX 256

static void s_assert(int cond) {
    if (!cond) {
        abort();
    }
}

static void s_check_route(const struct cfg *c, struct span key) {
    const struct cfg_route *got = cfg_s3_route(c, key);
    const struct cfg_route *want = NULL;
    for (size_t i = 0; i < c->s3_nroutes; i++) {
        struct span p = span_from_cstr(c->s3_routes[i].prefix);
        if (span_starts_with(key, p) && (want == NULL || p.n > strlen(want->prefix))) {
            want = &c->s3_routes[i];
        }
    }
    s_assert(got == want);
}

static void s_check_ok(const struct cfg *c) {
    s_assert(c->retention_days >= 1 && c->retention_days <= CFG_DAYS_MAX);
    s_assert(c->dest_retention_days >= 1 && c->dest_retention_days <= CFG_DAYS_MAX);
    s_assert(c->min_keep <= CFG_KEEP_MAX);
    s_assert(c->keep_daily <= CFG_KEEP_MAX && c->keep_weekly <= CFG_KEEP_MAX && c->keep_monthly <= CFG_KEEP_MAX);
    s_assert(c->min_interval_s >= 0 && c->min_interval_s <= CFG_MIN_INTERVAL_MAX_S);
    s_assert(c->wait_for_completion_s >= 0 && c->wait_for_completion_s <= CFG_WAIT_MAX_S);
    s_assert(c->max_concurrency >= 1 && c->max_concurrency <= CFG_CONCURRENCY_MAX);
    s_assert(c->copy_limit >= 1 && c->copy_limit <= CFG_COPY_LIMIT_MAX);
    s_assert(c->audit_ttl_days >= 1 && c->audit_ttl_days <= CFG_DAYS_MAX);
    s_assert(c->aws_max_attempts >= 1 && c->aws_max_attempts <= CFG_MAX_ATTEMPTS_MAX);
    s_assert(c->s3_multipart_threshold_bytes >= CFG_S3_PART_MIN && c->s3_multipart_threshold_bytes <= CFG_S3_COPY_MAX);
    s_assert(c->s3_part_size_bytes >= CFG_S3_PART_MIN && c->s3_part_size_bytes <= CFG_S3_COPY_MAX);
    s_assert(c->backup_tag.nkeys >= 1 && c->backup_tag.nkeys <= CFG_TAG_KEYS_MAX && c->backup_tag.value != NULL);
    s_assert(c->metric_namespace != NULL && c->s3_storage_class != NULL && c->s3_dest_prefix != NULL);
    s_assert((c->s3_sse == CFG_S3_SSE_KMS) == (c->s3_sse_kms_key_id != NULL));
    s_assert(c->s3_enabled == (c->s3_nroutes > 0));
    s_assert(!c->s3_enabled || c->s3_source_bucket != NULL);
    s_assert(c->ebs_backup || c->s3_enabled);
    s_assert(c->s3_nroutes <= CFG_ROUTES_MAX);
    if (c->source_region != NULL && c->dest_region != NULL) {
        s_assert(strcmp(c->source_region, c->dest_region) != 0);
    }
    const char *why = NULL;
    if (c->source_region != NULL) {
        s_assert(cfg_check_region(span_from_cstr(c->source_region), &why) == ERR_OK);
    }
    for (size_t i = 0; i < c->s3_nroutes; i++) {
        s_assert(cfg_check_bucket(span_from_cstr(c->s3_routes[i].bucket), &why) == ERR_OK);
        s_assert(strcmp(c->s3_routes[i].bucket, c->s3_source_bucket) != 0);
        for (size_t j = 0; j < i; j++) {
            s_assert(strcmp(c->s3_routes[i].prefix, c->s3_routes[j].prefix) != 0);
        }
    }
}

/* Every line is "NAME=value  (source: ...)". */
static void s_check_print(const struct buf *b) {
    s_assert(buf_status(b) == ERR_OK);
    struct span rest = buf_span(b), line;
    size_t lines = 0;
    while (rest.n > 0) {
        s_assert(span_split(rest, '\n', &line, &rest));
        s_assert(span_index(line, '=') > 0);
        s_assert(span_ends_with(line, SPAN_LIT(")")));
        lines++;
    }
    s_assert(lines > 0 && lines < CFG_VAR__COUNT);
}

static enum err s_parse(const char *const *envp, int argc, const char *const *argv, struct buf *out) {
    struct arena a;
    arena_init(&a, 0);
    struct cfg c;
    struct cfg_error err;
    struct cfg_input in = { .envp = envp, .argc = argc, .argv = argv };
    enum err e = cfg_parse(&c, &a, &in, &err);
    if (e != ERR_OK) {
        size_t n = strnlen(err.line, sizeof(err.line));
        s_assert(e == ERR_CONFIG);
        s_assert(n > 0 && n < sizeof(err.line));
        s_assert(memchr(err.line, '\n', n) == NULL);
    } else {
        s_check_ok(&c);
        cfg_print(&c, out);
        s_check_print(out);
        for (size_t i = 0; envp[i] != NULL; i++) {
            s_check_route(&c, span_from_cstr(envp[i]));
            long eq = span_index(span_from_cstr(envp[i]), '=');
            if (eq >= 0) {
                s_check_route(&c, span_from_cstr(envp[i] + eq + 1));
            }
        }
    }
    arena_free(&a);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    s_assert(text != NULL);
    if (size > 0) {
        memcpy(text, data, size);
    }
    text[size] = '\0';
    const char *envp[S_ENTRIES_MAX + 1];
    const char *argv[S_ENTRIES_MAX + 1];
    size_t nenv = 0, nargv = 0;
    char *p = text;
    while (p < text + size && nenv < S_ENTRIES_MAX && nargv < S_ENTRIES_MAX) {
        char *nl = memchr(p, '\n', (size_t) (text + size - p));
        if (nl != NULL) {
            *nl = '\0';
        }
        if (p[0] == '-') {
            argv[nargv++] = p;
        } else if (p[0] != '\0') {
            envp[nenv++] = p;
        }
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    envp[nenv] = NULL;
    argv[nargv] = NULL;

    struct buf first, second;
    buf_init(&first, BUF_MAX_REQUEST);
    buf_init(&second, BUF_MAX_REQUEST);
    enum err e1 = s_parse(envp, (int) nargv, argv, &first);
    enum err e2 = s_parse(envp, (int) nargv, argv, &second);
    s_assert(e1 == e2);
    s_assert(first.len == second.len && memcmp(buf_cstr(&first), buf_cstr(&second), first.len) == 0);
    buf_free(&first);
    buf_free(&second);

    /* The value checkers on their own, over every entry. */
    for (size_t i = 0; i < nenv; i++) {
        struct span v = span_from_cstr(envp[i]), region;
        const char *why = NULL;
        int64_t secs = 0;
        uint64_t bytes = 0;
        if (cfg_check_region(v, &why) == ERR_OK) {
            s_assert(cfg_region_partition(v) != NULL);
        }
        if (cfg_check_duration(v, CFG_MIN_INTERVAL_MAX_S, &secs) == ERR_OK) {
            s_assert(secs >= 0 && secs <= CFG_MIN_INTERVAL_MAX_S);
        }
        if (cfg_check_size(v, 1, UINT64_MAX, &bytes, &why) == ERR_OK) {
            s_assert(bytes >= 1);
        }
        /* No invariant beyond "no crash, a reason on failure"; counted because the results must be looked at. */
        int failed = 0;
        failed += cfg_check_kms_key(v, &region, &why) != ERR_OK;
        failed += cfg_check_sns_topic(v, &region, &why) != ERR_OK;
        failed += cfg_check_dynamodb_table(v, &region, &why) != ERR_OK;
        failed += cfg_check_endpoint_url(v, &why) != ERR_OK;
        failed += cfg_check_bucket(v, &why) != ERR_OK;
        failed += cfg_check_namespace(v, &why) != ERR_OK;
        s_assert(failed >= 0 && (failed == 0 || why != NULL));
    }
    free(text);
    return 0;
}
