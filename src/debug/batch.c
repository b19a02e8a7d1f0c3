/*
 * batch.c - `smartvault debug batch`: N unsigned requests through the batch executor (net/batch) with the retry
 * policy of AWS_RETRY_MODE/AWS_MAX_ATTEMPTS, and a JSON summary on stdout. The network-fault and TLS-reuse tests
 * drive the executor through it. Error documents are read by aws/error, as in every AWS call; nothing is signed.
 */
#include "debug/debug.h"

#include "aws/error.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "base/time.h"
#include "net/batch.h"
#include "net/http.h"
#include "net/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * "{i}" in the URL or the body is replaced by the request's index. The AWS error code of a failed attempt is read
 * by aws_error_parse, as aws/call.c does for every AWS call, and feeds the retry decision the same way: a code
 * derived from the status alone is left for the policy to judge from the status.
 */
#define S_DEBUG_BATCH_MAX_COUNT 10000
#define S_DEBUG_BATCH_MAX_HEADERS 16

struct s_debug_batch_cfg {
    const char *method;
    struct arena *scratch; /* aws_error_parse's parse trees, rewound after each response */
    struct http_header headers[S_DEBUG_BATCH_MAX_HEADERS];
    size_t nheaders;
};

struct s_debug_batch_job {
    const struct s_debug_batch_cfg *cfg;
    struct buf url;
    struct buf body;
    enum err final;
    struct batch_item_result res;
    struct aws_error error; /* the last error document: in->aws_code points into it */
};

static void s_debug_subst(const char *tmpl, size_t index, struct buf *out) {
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (strncmp(p, "{i}", 3) == 0) {
            buf_appendf(out, "%zu", index);
            p += 2;
        } else {
            buf_append_char(out, *p);
        }
    }
}

static enum err s_debug_batch_prepare(void *user, uint32_t attempt, struct http_request *out) {
    (void) attempt;
    struct s_debug_batch_job *j = user;
    out->method = j->cfg->method;
    out->url = buf_cstr(&j->url);
    out->headers = j->cfg->headers;
    out->nheaders = j->cfg->nheaders;
    out->body = buf_span(&j->body);
    return ERR_OK;
}

static void
s_debug_batch_classify(void *user, enum err transport, const struct http_response *resp, struct retry_input *in) {
    struct s_debug_batch_job *j = user;
    if (transport != ERR_OK || resp->status < 300) {
        return;
    }
    struct aws_error_response er = {
        .http_status = (int) resp->status,
        .body = buf_span(&resp->body),
        .amzn_request_id = http_response_header(resp, "x-amzn-RequestId"),
        .amz_request_id = http_response_header(resp, "x-amz-request-id"),
        .amzn_error_type = http_response_header(resp, "x-amzn-ErrorType"),
    };
    struct arena_mark m = arena_mark(j->cfg->scratch);
    enum err e = aws_error_parse(j->cfg->scratch, &er, &j->error);
    arena_rewind(j->cfg->scratch, m);
    if (e != ERR_OK && !j->error.code_from_status) {
        in->aws_code = aws_error_code(&j->error);
    }
}

static void
s_debug_batch_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *res) {
    (void) resp;
    struct s_debug_batch_job *j = user;
    j->final = final;
    j->res = *res;
}

static const struct batch_ops s_debug_batch_ops = { s_debug_batch_prepare,
                                                    s_debug_batch_classify,
                                                    s_debug_batch_complete };

static bool s_debug_number(const char *flag, const char *v, uint64_t max, uint64_t *out) {
    if (span_to_u64(span_from_cstr(v), max, out) != ERR_OK) {
        fprintf(stderr, "smartvault: %s must be a whole number up to %llu\n", flag, (unsigned long long) max);
        return false;
    }
    return true;
}

int debug_batch(int argc, char **argv) {
    static const char usage[] = "smartvault: usage: smartvault debug batch --url URL [--count N] [--concurrency C] "
                                "[--method M] [--body B] [--header 'Name: value']... [--timeout-ms T] "
                                "[--deadline-ms D] [--low-speed-ms L]\n";
    struct arena scratch;
    arena_init(&scratch, 0);
    struct s_debug_batch_cfg cfg = { .method = "GET", .scratch = &scratch };
    const char *url = NULL, *body = "";
    uint64_t count = 1, concurrency = 1, timeout_ms = 0, deadline_ms = 0, low_speed_ms = 0;
    static char header_lines[S_DEBUG_BATCH_MAX_HEADERS][512];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
        i++;
        bool ok = true;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--count") == 0) {
            ok = s_debug_number(a, v, S_DEBUG_BATCH_MAX_COUNT, &count);
        } else if (strcmp(a, "--concurrency") == 0) {
            ok = s_debug_number(a, v, BATCH_MAX_IN_FLIGHT, &concurrency);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &timeout_ms);
        } else if (strcmp(a, "--deadline-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &deadline_ms);
        } else if (strcmp(a, "--low-speed-ms") == 0) {
            ok = s_debug_number(a, v, 3600000, &low_speed_ms);
        } else if (strcmp(a, "--method") == 0) {
            cfg.method = v;
        } else if (strcmp(a, "--body") == 0) {
            body = v;
        } else if (strcmp(a, "--header") == 0 && cfg.nheaders < S_DEBUG_BATCH_MAX_HEADERS) {
            char *line = header_lines[cfg.nheaders];
            snprintf(line, sizeof(header_lines[0]), "%s", v);
            char *colon = strchr(line, ':');
            ok = colon != NULL;
            if (ok) {
                *colon = '\0';
                cfg.headers[cfg.nheaders++] = (struct http_header){ line, colon + 1 + strspn(colon + 1, " ") };
            }
        } else {
            ok = false;
        }
        if (!ok) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (url == NULL || count == 0 || concurrency == 0) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    struct retry_config rc = { .mode = RETRY_MODE_STANDARD };
    const char *mode = getenv("AWS_RETRY_MODE"), *attempts = getenv("AWS_MAX_ATTEMPTS");
    if (
      (mode != NULL && *mode != '\0' && retry_mode_parse(span_from_cstr(mode), &rc.mode) != ERR_OK) ||
      (attempts != NULL && *attempts != '\0' &&
       retry_max_attempts_parse(span_from_cstr(attempts), &rc.max_attempts) != ERR_OK)) {
        fprintf(stderr, "smartvault: %s\n", err_last()->msg);
        return EXIT_USAGE;
    }
    struct http_client_options hopt = {
        .ca_file = debug_ca_file(),
        .max_host_connections = (long) concurrency,
        .low_speed_time_ms = (int64_t) low_speed_ms,
    };
    struct http_client *client = NULL;
    if (http_client_new(&hopt, &client) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct retry_policy policy;
    retry_policy_init(&policy, &rc, time_mono_ms());
    struct batch_options bopt = {
        .max_in_flight = (size_t) concurrency,
        .policy = &policy,
        .attempt_timeout_ms = (int64_t) timeout_ms,
        .item_deadline_ms = (int64_t) deadline_ms,
    };
    struct batch *b = NULL;
    struct s_debug_batch_job *jobs = calloc((size_t) count, sizeof(*jobs));
    struct buf out;
    buf_init(&out, BUF_MAX_RESPONSE);
    int code = EXIT_CANNOT_START;
    if (jobs == NULL || batch_new(client, &bopt, &b) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the batch: %s\n", err_last()->msg);
        goto done;
    }
    for (size_t i = 0; i < (size_t) count; i++) {
        jobs[i].cfg = &cfg;
        buf_init(&jobs[i].url, BUF_MAX_SMALL);
        buf_init(&jobs[i].body, BUF_MAX_REQUEST);
        s_debug_subst(url, i, &jobs[i].url);
        s_debug_subst(body, i, &jobs[i].body);
        if (buf_status(&jobs[i].url) != ERR_OK || buf_status(&jobs[i].body) != ERR_OK) {
            fprintf(stderr, "smartvault: request %zu: URL or body too long\n", i);
            code = EXIT_USAGE;
            goto done;
        }
        if (batch_add(b, &s_debug_batch_ops, &jobs[i], NULL) != ERR_OK) {
            fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
            goto done;
        }
    }
    if (batch_run(b) != ERR_OK) {
        fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
        goto done;
    }
    const struct batch_stats *bs = batch_stats(b);
    const struct http_stats *hs = http_client_stats(client);
    buf_appendf(
      &out,
      "{\"count\":%zu,\"concurrency\":%zu,\"mode\":\"%s\",\"max_attempts\":%u,\"succeeded\":%llu,\"attempts\":%llu,"
      "\"retries\":%llu,\"throttles\":%llu,\"timeouts\":%llu,\"limiter_waits\":%llu,\"quota_exhausted\":%llu,"
      "\"quota_left\":%u,\"peak_in_flight\":%zu,\"wall_ms\":%lld,\"requests_sent\":%llu,\"connections\":%llu,"
      "\"tls_handshakes\":%llu,\"requests\":[",
      (size_t) count,
      (size_t) concurrency,
      retry_mode_name(policy.cfg.mode),
      policy.cfg.max_attempts,
      (unsigned long long) bs->succeeded,
      (unsigned long long) bs->attempts,
      (unsigned long long) bs->retries,
      (unsigned long long) bs->throttles,
      (unsigned long long) policy.counters.timeouts,
      (unsigned long long) bs->limiter_waits,
      (unsigned long long) policy.counters.quota_exhausted,
      policy.quota,
      bs->peak_in_flight,
      (long long) bs->wall_ms,
      (unsigned long long) hs->requests,
      (unsigned long long) hs->connections,
      (unsigned long long) hs->tls_handshakes);
    for (size_t i = 0; i < (size_t) count; i++) {
        const struct s_debug_batch_job *j = &jobs[i];
        buf_appendf(
          &out,
          "%s{\"i\":%zu,\"final\":\"%s\",\"status\":%ld,\"transport\":\"%s\",\"class\":\"%s\",\"stop\":\"%s\","
          "\"code\":",
          i ? "," : "",
          i,
          err_name(j->final),
          j->res.status,
          err_name(j->res.transport),
          retry_class_name(j->res.last_class),
          retry_stop_name(j->res.stop));
        buf_append_json_string(&out, span_from_cstr(j->res.aws_code));
        buf_appendf(
          &out,
          ",\"attempts\":%u,\"retries\":%u,\"wall_ms\":%lld}",
          j->res.attempts,
          j->res.retries,
          (long long) j->res.wall_ms);
    }
    buf_append_cstr(&out, "]}\n");
    fwrite(buf_cstr(&out), 1, out.len, stdout);
    code = bs->succeeded == count ? EXIT_OK : EXIT_PARTIAL;
done:
    buf_free(&out);
    for (size_t i = 0; jobs != NULL && i < (size_t) count; i++) {
        buf_free(&jobs[i].url);
        buf_free(&jobs[i].body);
    }
    free(jobs);
    batch_free(b);
    http_client_free(client);
    arena_free(&scratch);
    return code;
}
