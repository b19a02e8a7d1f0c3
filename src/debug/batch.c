/*
 * batch.c - `smartvault debug batch [--count N] [--concurrency C] [--timeout-ms T] [--deadline-ms D]
 * [--low-speed-ms L] SERVICE OPERATION [args]`: N copies of the `debug call` request (aws_debug_request) run
 * together through the path every call of a cycle takes - the AWS stack a cycle opens (job_stack_options: the
 * credentials chain, pacing with one retry policy per service and region, one HTTP pool), signing, aws/call,
 * net/batch and net/retry - and a JSON summary on stdout: per request the result, last status, retry class, stop
 * reason, AWS code and attempts; for the run the executor's counters, the retry policy's quota and timeouts, and
 * the pool's connections and TLS handshakes. The network-fault and TLS-reuse tests drive it.
 *
 * It builds no request and reads no error document itself: aws/stack and aws/call do. Each request carries the
 * header `x-smartvault-debug-request: <index>` (signed like any caller header) so a fault can pick one request.
 */
#include "debug/debug.h"

#include "aws/stack.h"
#include "backup/job.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"
#include "base/time.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEBUG_BATCH_MAX_COUNT 10000
#define S_DEBUG_BATCH_MAX_MS 3600000

struct s_debug_batch_args {
    uint64_t count;
    uint64_t concurrency;
    uint64_t timeout_ms;
    uint64_t deadline_ms;
    uint64_t low_speed_ms;
};

static const char s_usage[] = "smartvault: usage: smartvault debug batch [--count N] [--concurrency C] "
                              "[--timeout-ms T] [--deadline-ms D] [--low-speed-ms L] SERVICE OPERATION [args...]\n";

/* One `--flag value` pair; false (after one line on stderr) for an unknown flag or a bad value. */
static bool s_debug_flag(struct s_debug_batch_args *a, const char *f, const char *v) {
    static const struct {
        const char *flag;
        size_t offset;
        uint64_t max;
    } numbers[] = {
        { "--count", offsetof(struct s_debug_batch_args, count), S_DEBUG_BATCH_MAX_COUNT },
        { "--concurrency", offsetof(struct s_debug_batch_args, concurrency), BATCH_MAX_IN_FLIGHT },
        { "--timeout-ms", offsetof(struct s_debug_batch_args, timeout_ms), S_DEBUG_BATCH_MAX_MS },
        { "--deadline-ms", offsetof(struct s_debug_batch_args, deadline_ms), S_DEBUG_BATCH_MAX_MS },
        { "--low-speed-ms", offsetof(struct s_debug_batch_args, low_speed_ms), S_DEBUG_BATCH_MAX_MS },
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(f, numbers[i].flag) != 0) {
            continue;
        }
        uint64_t *out = (uint64_t *) (void *) ((char *) a + numbers[i].offset);
        if (span_to_u64(span_from_cstr(v), numbers[i].max, out) != ERR_OK) {
            fprintf(
              stderr, "smartvault: %s must be a whole number up to %llu\n", f, (unsigned long long) numbers[i].max);
            return false;
        }
        return true;
    }
    fprintf(stderr, "smartvault: debug batch: unknown option '%s'\n", f);
    return false;
}

/* The leading `--flag value` pairs; the index of SERVICE, or -1 for a usage error. */
static int s_debug_args(struct s_debug_batch_args *a, int argc, char **argv) {
    int i = 0;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (i + 1 >= argc || !s_debug_flag(a, argv[i], argv[i + 1])) {
            return -1;
        }
        i += 2;
    }
    return argc - i >= 2 && a->count > 0 && a->concurrency > 0 ? i : -1;
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

/* One request's line; `code` is the AWS error code of a failed request ("" when the status alone said it). */
static void s_debug_request_line(struct buf *out, size_t i, const struct aws_request *r) {
    bool coded = r->result != ERR_OK && !r->error.code_from_status;
    buf_appendf(
      out,
      "%s{\"i\":%zu,\"final\":\"%s\",\"status\":%ld,\"transport\":\"%s\",\"class\":\"%s\",\"stop\":\"%s\","
      "\"code\":",
      i ? "," : "",
      i,
      err_name(r->result),
      r->status,
      err_name(r->transport),
      retry_class_name(r->last_class),
      retry_stop_name(r->stop));
    buf_append_json_string(out, span_from_cstr(coded ? r->error.code : ""));
    buf_appendf(
      out,
      ",\"attempts\":%u,\"retries\":%u,\"wall_ms\":%lld}",
      r->attempts,
      r->attempts ? r->attempts - 1 : 0,
      (long long) r->wall_ms);
}

/* N copies of `one`, each with its index header and attempt timeout (0 = the operation's); false when the
 * caller's headers leave no room for the index. */
static bool s_debug_copies(
  struct arena *arena,
  const struct aws_request *one,
  int64_t timeout_ms,
  size_t n,
  struct aws_request **reqs) {
    if (one->nheaders >= AWS_MAX_EXTRA_HEADERS) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        *reqs[i] = *one;
        reqs[i]->timeout_ms = timeout_ms;
        reqs[i]->headers[reqs[i]->nheaders++] =
          (struct aws_header){ "x-smartvault-debug-request", arena_printf(arena, "%zu", i) };
    }
    return true;
}

/* Runs the requests over an open stack and prints the summary; the exit code. */
static int s_debug_run(struct aws_stack *st, const struct s_debug_batch_args *a, struct aws_request **reqs) {
    size_t n = (size_t) a->count;
    if (aws_run(st->client, reqs, n) != ERR_OK) {
        fprintf(stderr, "smartvault: batch: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    const struct batch_stats *bs = aws_client_last_run(st->client);
    const struct retry_policy *policy = pacing_policy(&st->pacing, reqs[0]->service, reqs[0]->region, time_mono_ms());
    struct buf out;
    buf_init(&out, BUF_MAX_RESPONSE);
    s_debug_summary(&out, a, policy, bs, http_client_stats(st->http));
    for (size_t i = 0; i < n; i++) {
        s_debug_request_line(&out, i, reqs[i]);
    }
    buf_append_cstr(&out, "]}\n");
    fwrite(buf_cstr(&out), 1, out.len, stdout);
    buf_free(&out);
    return bs->succeeded == n ? EXIT_OK : EXIT_PARTIAL;
}

/* Opens the stack as a cycle does, with the command's concurrency and test-facing timeouts; the exit code. */
static int s_debug_open_and_run(const struct s_debug_batch_args *a, struct aws_request **reqs) {
    struct aws_stack_options so;
    job_stack_options(debug_cfg(), &so);
    so.max_in_flight = (size_t) a->concurrency;
    so.low_speed_time_ms = (int64_t) a->low_speed_ms;
    so.item_deadline_ms = (int64_t) a->deadline_ms;
    struct aws_stack st;
    if (aws_stack_open(&so, &st) != ERR_OK) {
        fprintf(stderr, "smartvault: cannot open the AWS stack: %s\n", err_last()->msg);
        return EXIT_CANNOT_START;
    }
    int code = s_debug_run(&st, a, reqs);
    for (size_t i = 0; i < (size_t) a->count; i++) {
        aws_request_free(reqs[i]);
    }
    aws_stack_close(&st);
    return code;
}

/* Builds the request from the arguments and its N copies; the exit code. */
static int s_debug_batch(const struct s_debug_batch_args *a, int argc, char **argv) {
    struct arena arena;
    arena_init(&arena, 0);
    struct query_params q;
    query_init(&q, &arena);
    struct buf body;
    buf_init(&body, BUF_MAX_REQUEST);
    struct aws_request one;
    size_t n = (size_t) a->count;
    struct aws_request *all = calloc(n, sizeof(*all));
    struct aws_request **reqs = calloc(n, sizeof(*reqs));
    int code = EXIT_USAGE;
    for (size_t i = 0; all != NULL && reqs != NULL && i < n; i++) {
        reqs[i] = &all[i];
    }
    if (all == NULL || reqs == NULL) {
        fputs("smartvault: debug batch: out of memory\n", stderr);
        code = EXIT_CANNOT_START;
    } else if (aws_debug_request(&arena, &q, &body, debug_cfg()->source_region, argc, argv, &one) != ERR_OK) {
        fprintf(stderr, "smartvault: %s\n", err_last()->msg);
    } else if (!s_debug_copies(&arena, &one, (int64_t) a->timeout_ms, n, reqs)) {
        fputs("smartvault: debug batch: too many headers\n", stderr);
    } else {
        code = s_debug_open_and_run(a, reqs);
    }
    free(reqs);
    free(all);
    buf_free(&body);
    arena_free(&arena);
    return code;
}

int debug_batch(int argc, char **argv) {
    struct s_debug_batch_args args = { .count = 1, .concurrency = 1 };
    int first = s_debug_args(&args, argc, argv);
    if (first < 0) {
        fputs(s_usage, stderr);
        return EXIT_USAGE;
    }
    return s_debug_batch(&args, argc - first, argv + first);
}
