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

#include <stddef.h>
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

static const char s_usage[] = "smartvault: usage: smartvault debug batch --url URL [--count N] [--concurrency C] "
                              "[--method M] [--body B] [--header 'Name: value']... [--timeout-ms T] "
                              "[--deadline-ms D] [--low-speed-ms L]\n";

struct s_debug_batch_args {
    const char *url;
    const char *body;
    uint64_t count;
    uint64_t concurrency;
    uint64_t timeout_ms;
    uint64_t deadline_ms;
    uint64_t low_speed_ms;
    char header_lines[S_DEBUG_BATCH_MAX_HEADERS][512];
};

/* `--header 'Name: value'`: split in place into the request's header list. */
static bool s_debug_header(struct s_debug_batch_args *a, struct s_debug_batch_cfg *cfg, const char *v) {
    if (cfg->nheaders >= S_DEBUG_BATCH_MAX_HEADERS) {
        return false;
    }
    char *line = a->header_lines[cfg->nheaders];
    snprintf(line, sizeof(a->header_lines[0]), "%s", v);
    char *colon = strchr(line, ':');
    if (colon == NULL) {
        return false;
    }
    *colon = '\0';
    cfg->headers[cfg->nheaders++] = (struct http_header){ line, colon + 1 + strspn(colon + 1, " ") };
    return true;
}

/* One `--flag value` pair; false for an unknown flag or a bad value (the caller prints the usage). */
static bool s_debug_flag(struct s_debug_batch_args *a, struct s_debug_batch_cfg *cfg, const char *f, const char *v) {
    static const struct {
        const char *flag;
        size_t offset;
        uint64_t max;
    } numbers[] = {
        { "--count", offsetof(struct s_debug_batch_args, count), S_DEBUG_BATCH_MAX_COUNT },
        { "--concurrency", offsetof(struct s_debug_batch_args, concurrency), BATCH_MAX_IN_FLIGHT },
        { "--timeout-ms", offsetof(struct s_debug_batch_args, timeout_ms), 3600000 },
        { "--deadline-ms", offsetof(struct s_debug_batch_args, deadline_ms), 3600000 },
        { "--low-speed-ms", offsetof(struct s_debug_batch_args, low_speed_ms), 3600000 },
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(f, numbers[i].flag) == 0) {
            return s_debug_number(f, v, numbers[i].max, (uint64_t *) (void *) ((char *) a + numbers[i].offset));
        }
    }
    if (strcmp(f, "--url") == 0) {
        a->url = v;
    } else if (strcmp(f, "--method") == 0) {
        cfg->method = v;
    } else if (strcmp(f, "--body") == 0) {
        a->body = v;
    } else if (strcmp(f, "--header") == 0) {
        return s_debug_header(a, cfg, v);
    } else {
        return false;
    }
    return true;
}

static bool s_debug_args(struct s_debug_batch_args *a, struct s_debug_batch_cfg *cfg, int argc, char **argv) {
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!s_debug_flag(a, cfg, argv[i], argv[i + 1])) {
            return false;
        }
    }
    return argc % 2 == 0 && a->url != NULL && a->count > 0 && a->concurrency > 0;
}

/* AWS_RETRY_MODE and AWS_MAX_ATTEMPTS from the validated configuration, as the cycle reads them. */
static bool s_debug_retry_config(struct retry_config *rc) {
    const struct cfg *c = debug_cfg();
    *rc = (struct retry_config){ .mode = RETRY_MODE_STANDARD };
    if (retry_mode_parse(span_from_cstr(c->src[CFG_VAR_AWS_RETRY_MODE].value), &rc->mode) != ERR_OK) {
        return false;
    }
    /* 0 = the retry mode's default, as when the variable is unset. */
    rc->max_attempts = c->src[CFG_VAR_AWS_MAX_ATTEMPTS].origin == CFG_ORIGIN_DEFAULT ? 0 : c->aws_max_attempts;
    return true;
}

static void s_debug_summary(
  struct buf *out,
  const struct s_debug_batch_args *a,
  const struct retry_policy *policy,
  const struct batch_stats *bs,
  const struct http_stats *hs) {
    buf_appendf(
      out,
      "{\"count\":%zu,\"concurrency\":%zu,\"mode\":\"%s\",\"max_attempts\":%u,\"succeeded\":%llu,\"attempts\":%llu,"
      "\"retries\":%llu,\"throttles\":%llu,\"timeouts\":%llu,\"limiter_waits\":%llu,\"quota_exhausted\":%llu,"
      "\"quota_left\":%u,\"peak_in_flight\":%zu,\"wall_ms\":%lld,\"requests_sent\":%llu,\"connections\":%llu,"
      "\"tls_handshakes\":%llu,\"requests\":[",
      (size_t) a->count,
      (size_t) a->concurrency,
      retry_mode_name(policy->cfg.mode),
      policy->cfg.max_attempts,
      (unsigned long long) bs->succeeded,
      (unsigned long long) bs->attempts,
      (unsigned long long) bs->retries,
      (unsigned long long) bs->throttles,
      (unsigned long long) policy->counters.timeouts,
      (unsigned long long) bs->limiter_waits,
      (unsigned long long) policy->counters.quota_exhausted,
      policy->quota,
      bs->peak_in_flight,
      (long long) bs->wall_ms,
      (unsigned long long) hs->requests,
      (unsigned long long) hs->connections,
      (unsigned long long) hs->tls_handshakes);
}

static void s_debug_request_line(struct buf *out, size_t i, const struct s_debug_batch_job *j) {
    buf_appendf(
      out,
      "%s{\"i\":%zu,\"final\":\"%s\",\"status\":%ld,\"transport\":\"%s\",\"class\":\"%s\",\"stop\":\"%s\","
      "\"code\":",
      i ? "," : "",
      i,
      err_name(j->final),
      j->res.status,
      err_name(j->res.transport),
      retry_class_name(j->res.last_class),
      retry_stop_name(j->res.stop));
    buf_append_json_string(out, span_from_cstr(j->res.aws_code));
    buf_appendf(
      out,
      ",\"attempts\":%u,\"retries\":%u,\"wall_ms\":%lld}",
      j->res.attempts,
      j->res.retries,
      (long long) j->res.wall_ms);
}

/* Adds every request to the batch; EXIT_OK, or the exit code after one line on stderr. */
static int s_debug_add_all(
  struct batch *b,
  const struct s_debug_batch_args *a,
  const struct s_debug_batch_cfg *cfg,
  struct s_debug_batch_job *jobs) {
    for (size_t i = 0; i < (size_t) a->count; i++) {
        jobs[i].cfg = cfg;
        buf_init(&jobs[i].url, BUF_MAX_SMALL);
        buf_init(&jobs[i].body, BUF_MAX_REQUEST);
        s_debug_subst(a->url, i, &jobs[i].url);
        s_debug_subst(a->body, i, &jobs[i].body);
        if (buf_status(&jobs[i].url) != ERR_OK || buf_status(&jobs[i].body) != ERR_OK) {
            fprintf(stderr, "smartvault: request %zu: URL or body too long\n", i);
            return EXIT_USAGE;
        }
        if (batch_add(b, &s_debug_batch_ops, &jobs[i], NULL) != ERR_OK) {
            fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
            return EXIT_CANNOT_START;
        }
    }
    return EXIT_OK;
}

/* Runs the requests and prints the summary; the exit code. */
static int s_debug_run(
  struct http_client *client,
  const struct s_debug_batch_args *a,
  const struct s_debug_batch_cfg *cfg,
  const struct retry_config *rc) {
    struct retry_policy policy;
    retry_policy_init(&policy, rc, time_mono_ms());
    struct batch_options bopt = {
        .max_in_flight = (size_t) a->concurrency,
        .policy = &policy,
        .attempt_timeout_ms = (int64_t) a->timeout_ms,
        .item_deadline_ms = (int64_t) a->deadline_ms,
    };
    struct batch *b = NULL;
    struct s_debug_batch_job *jobs = calloc((size_t) a->count, sizeof(*jobs));
    int code = EXIT_CANNOT_START;
    if (jobs == NULL || batch_new(client, &bopt, &b) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the batch: %s\n", err_last()->msg);
    } else if ((code = s_debug_add_all(b, a, cfg, jobs)) == EXIT_OK && batch_run(b) != ERR_OK) {
        fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
        code = EXIT_CANNOT_START;
    } else if (code == EXIT_OK) {
        struct buf out;
        buf_init(&out, BUF_MAX_RESPONSE);
        s_debug_summary(&out, a, &policy, batch_stats(b), http_client_stats(client));
        for (size_t i = 0; i < (size_t) a->count; i++) {
            s_debug_request_line(&out, i, &jobs[i]);
        }
        buf_append_cstr(&out, "]}\n");
        fwrite(buf_cstr(&out), 1, out.len, stdout);
        buf_free(&out);
        code = batch_stats(b)->succeeded == a->count ? EXIT_OK : EXIT_PARTIAL;
    }
    for (size_t i = 0; jobs != NULL && i < (size_t) a->count; i++) {
        buf_free(&jobs[i].url);
        buf_free(&jobs[i].body);
    }
    free(jobs);
    batch_free(b);
    return code;
}

int debug_batch(int argc, char **argv) {
    static struct s_debug_batch_args args; /* static: 8 KiB of header lines stay off the stack */
    struct s_debug_batch_cfg cfg = { .method = "GET" };
    args = (struct s_debug_batch_args){ .body = "", .count = 1, .concurrency = 1 };
    if (!s_debug_args(&args, &cfg, argc, argv)) {
        fputs(s_usage, stderr);
        return EXIT_USAGE;
    }
    struct retry_config rc;
    if (!s_debug_retry_config(&rc)) {
        fprintf(stderr, "smartvault: %s\n", err_last()->msg);
        return EXIT_USAGE;
    }
    struct http_client_options hopt = {
        .ca_file = debug_ca_file(),
        .max_host_connections = (long) args.concurrency,
        .low_speed_time_ms = (int64_t) args.low_speed_ms,
    };
    struct http_client *client = NULL;
    if (http_client_new(&hopt, &client) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot start the HTTP client: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    struct arena scratch;
    arena_init(&scratch, 0);
    cfg.scratch = &scratch;
    int code = s_debug_run(client, &args, &cfg, &rc);
    http_client_free(client);
    arena_free(&scratch);
    return code;
}
