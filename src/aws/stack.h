/*
 * stack.h - everything one needs to call AWS, built in one place: the HTTP client (one connection pool per
 * cycle), the retry policies and rate limiters (aws/pacing: one quota per service and region, one limiter per
 * account, region and EC2 API), the credentials chain and the request layer.
 *
 * The cycle and the developer commands open one stack and close it at the end; closing wipes the secrets.
 */
#ifndef SV_AWS_STACK_H
#define SV_AWS_STACK_H

#include "aws/call.h"
#include "aws/creds.h"
#include "aws/creds_provider.h"
#include "aws/endpoint.h"
#include "aws/pacing.h"
#include "net/http.h"
#include "net/retry.h"

struct aws_stack_options {
    const struct endpoint_env *env; /* what the AWS layer reads (cfg's `env`); NULL = nothing set */
    const char *region;             /* the home region (STS for web identity); may be NULL */
    const char *ca_file;            /* NULL = the embedded CA bundle */
    enum retry_mode retry_mode;
    uint32_t max_attempts; /* 0 = default */
    size_t max_in_flight;  /* 0 = default */
    /*
     * Multi-account runs (backup/targets.c): the account this stack works in ("" or NULL = the credentials' own),
     * for per-(account, region, API) pacing and for logs; and the credentials source to use instead of the
     * default chain (an AssumeRole provider). The stack takes ownership of `provider` even when opening fails.
     */
    const char *account_id;
    struct creds_provider *provider;
    /* An HTTP client to use instead of opening one (borrowed, not freed): the targets of a run share one pool. */
    struct http_client *http;
    /*
     * Absolute monotonic ms (time_mono_ms) at which the run stops starting work (RUN_TIMEOUT); 0 = none. With a
     * deadline, throttling replies are retried until it (net/retry.h); without, AWS_MAX_ATTEMPTS ends them too.
     */
    int64_t run_deadline_ms;
    /* Developer commands only (debug batch); 0 = the http client's and net/batch's defaults. */
    int64_t low_speed_time_ms; /* no byte for this long ends an attempt (http_client_options) */
    int64_t item_deadline_ms;  /* a request's retries stop this long after its first attempt */
};

struct aws_stack {
    struct http_client *http;
    struct retry_policy retry; /* the credentials chain's own calls and anything run without pacing */
    struct pacing pacing;      /* every request of `client` */
    struct creds_chain *creds;
    struct aws_client *client;
    char account_id[CREDS_MAX_ACCOUNT_ID + 1]; /* aws_stack_options.account_id, or "" */
    bool http_borrowed;                        /* aws_stack_options.http: closing leaves it open */
};

enum err aws_stack_open(const struct aws_stack_options *opt, struct aws_stack *out) SV_MUST_CHECK;
void aws_stack_close(struct aws_stack *s);

/*
 * `smartvault debug call SERVICE OPERATION [args]` — one signed call through the whole stack, for tests:
 *   Query services (ec2, sns, cloudwatch, sts):  key=value ...           (the Query parameters)
 *   s3:        METHOD /bucket[/key] [query=STRING] [body=TEXT|@FILE] [header=Name:Value ...]
 *   dynamodb:  OPERATION '{json}'
 * Prints `status=<code>` then the body, or `error=<class> code=<aws code> status=<n> request_id=<id>` and the
 * message on failure. Returns the request's result (main.c chooses the exit code). `so` is the stack as a cycle
 * opens it (its region, CA bundle, retries and environment come from the configuration).
 */
enum err aws_debug_call(const struct aws_stack_options *so, int argc, char **argv) SV_MUST_CHECK;

/*
 * The request of `debug call SERVICE OPERATION [args]` (argv[0] = SERVICE), built into `r` for `region`: its
 * strings live in `arena`, Query parameters in `q` (query_init'ed on `arena`), an S3 body=@FILE in `body`. Also
 * used by `debug batch`, which runs N copies of it.
 */
enum err aws_debug_request(
  struct arena *arena,
  struct query_params *q,
  struct buf *body,
  const char *region,
  int argc,
  char **argv,
  struct aws_request *r) SV_MUST_CHECK;

#endif
