/*
 * call.h - the AWS request layer: every service call goes through here.
 *
 * A caller (svc/, backup/) fills a struct aws_request — which service, region and operation, and the
 * protocol-specific input — and runs one or many of them. For each attempt this layer resolves the endpoint
 * (aws/endpoint), gets fresh credentials (aws/creds), signs with the attempt's own time (aws/sigv4), and hands
 * the request to the batch executor (net/batch), which applies the retry policy (net/retry) with bounded
 * concurrency on one thread. Error responses become a typed struct aws_error (aws/error).
 *
 * Protocols (by service): EC2, SNS, CloudWatch and STS use Query (form-encoded POST, XML response); S3 uses
 * REST-XML (method + path + query + headers); DynamoDB uses JSON 1.0 (POST with X-Amz-Target).
 *
 * Results per request: `result` is ERR_OK for a success; ERR_AUTH when AWS rejected the credentials or the
 * signature, or denied the action; ERR_AWS for any other AWS error (error.code says which); ERR_HTTP for an error
 * status without an error document; ERR_NET/ERR_TIMEOUT/ERR_TLS for transport failures; ERR_CREDS/ERR_CONFIG
 * when no credentials could be had. The response body is kept in `body` until aws_request_free.
 *
 * Clock skew (AWS_CLIENT_SPEC_NOTES.md §7): on a clock-skew error code whose reply carries a server time
 * (the Date header, or S3's ServerTime) at least 5 minutes away from our corrected clock, the client's offset
 * is set to server - local and the attempt is retried once with the corrected time; later requests sign with it.
 * A successful response's Date header that far away sets the offset too (the JS SDK v3 does the same), so the
 * cycle can make its time decisions (retention, due-ness, the DR window) on AWS's clock (aws_client_now_s).
 *
 * Every request carries amz-sdk-invocation-id (one UUID per request, the same on each attempt) and
 * amz-sdk-request: attempt=N; max=M, both signed, as the SDKs do.
 */
#ifndef SV_AWS_CALL_H
#define SV_AWS_CALL_H

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/error.h"
#include "aws/pacing.h"
#include "aws/query.h"
#include "base/arena.h"
#include "base/buf.h"
#include "codec/json.h"
#include "codec/xml.h"
#include "net/batch.h"
#include "net/http.h"
#include "net/retry.h"

#include <stdint.h>

/* Distinct operation names counted per client (SmartVault uses about 20). */
#define AWS_MAX_OPS 48
#define AWS_OP_NAME_MAX 47
/* Caller-supplied headers on one request (S3 copy headers, metadata, SSE...). */
#define AWS_MAX_EXTRA_HEADERS 24

struct aws_client_options {
    const struct endpoint_env *env; /* NULL = the process environment */
    struct http_client *http;       /* required; not owned */
    struct creds_chain *creds;      /* required; not owned */
    struct retry_policy *retry;     /* required; not owned: the policy when `pacing` is NULL */
    struct pacing *pacing;          /* not owned; NULL = `retry` for everything, no per-API limiters */
    int64_t run_deadline_ms;        /* absolute monotonic ms (time_mono_ms); 0 = none: net/batch stops there */
    int64_t item_deadline_ms;       /* per request, from its first attempt; 0 = none (net/batch) */
    size_t max_in_flight;           /* 0 = BATCH_DEFAULT_IN_FLIGHT */
    int64_t (*wall_ms)(void);       /* the signing clock; NULL = time_wall_ms. Tests pin it. */
};

struct aws_op_stat {
    char name[AWS_OP_NAME_MAX + 1];
    uint64_t calls;    /* requests made (not attempts) */
    uint64_t attempts; /* attempts sent */
    uint64_t failures; /* requests that ended in an error */
};

struct aws_client;

struct aws_header {
    const char *name;
    const char *value;
};

struct aws_request_state; /* per-request internals, alive only while the request is in flight */

struct aws_request {
    /* --- input --- */
    enum endpoint_service service;
    const char *region;
    const char *operation; /* "DescribeInstances", "CopyObject", "BatchWriteItem" ... */
    /* Query protocol: the parameters besides Action and Version. */
    const struct query_params *params;
    /* REST-XML (S3): method, bucket (NULL for none), key (raw, unencoded), query (already encoded, no '?'). */
    const char *method;
    const char *bucket;
    struct span key;
    struct span query;
    /* REST-XML and JSON: the body; JSON: the X-Amz-Target header ("DynamoDB_20120810.BatchWriteItem"). */
    struct span body;
    const char *target;
    /* Extra headers to send and sign (S3: x-amz-copy-source, x-amz-metadata-directive, Content-Type...). */
    struct aws_header headers[AWS_MAX_EXTRA_HEADERS];
    size_t nheaders;
    /* S3 operations that can answer 200 with an <Error> document (CopyObject, UploadPartCopy, Complete...). */
    bool error_in_200;
    int64_t timeout_ms; /* per attempt; 0 = aws_attempt_timeout_ms(operation) */
    void *user;
    /* Optional: called once when the request is over, e.g. to parse and free the body at once; the run does not
     * touch the request after it, so on_done may free the request itself. */
    void (*on_done)(struct aws_request *r);

    /* --- output --- */
    enum err result;
    long status;
    struct aws_error error; /* valid when result is ERR_AWS or ERR_AUTH */
    struct buf body_out;    /* the last response's body */
    struct buf headers_out; /* the last response's raw headers */
    uint32_t attempts;
    uint32_t throttles; /* attempts answered with a throttling error (SlowDown, Throttling, ...) */
    int64_t wall_ms;
    enum retry_class last_class; /* the retry policy's class of the last attempt */
    enum retry_stop stop;        /* why the retries stopped */
    enum err transport;          /* the last attempt's transport result */

    struct aws_client *client;       /* internal: set by aws_run */
    struct aws_request_state *state; /* internal: alive while the request is in flight */
};

enum err aws_client_new(const struct aws_client_options *opt, struct aws_client **out) SV_MUST_CHECK;
void aws_client_free(struct aws_client *c);

/*
 * Runs every request to completion, max_in_flight at a time. Results are per request; returns ERR_OK. With a
 * pacing registry, each request takes the retry policy of its (service, region) and the limiter of its (account,
 * service, region, operation). A request the run's stop left unsent (or whose throttled attempt was not retried)
 * ends with ERR_CANCELLED: nothing of it was executed.
 */
enum err aws_run(struct aws_client *c, struct aws_request **reqs, size_t n) SV_MUST_CHECK;
/*
 * aws_run over the requests of several clients (multi-account runs: one client per account and region), as ONE
 * batch: reqs[i] is signed with clients[i]'s credentials and paced by its registry; every client must use the
 * same http client (ERR_INVALID otherwise); concurrency and the run deadline are clients[0]'s.
 */
enum err aws_run_each(struct aws_client *const *clients, struct aws_request **reqs, size_t n) SV_MUST_CHECK;
/* A producer called while a batch runs (net/batch.h batch_set_tick): every every_ms, and when the batch runs dry. */
struct aws_tick {
    void (*fn)(void *ctx);
    void *ctx;
    int64_t every_ms;
};
/*
 * aws_run_each run by `owner` (its concurrency and run deadline; clients[i] sign and pace reqs[i], or owner when
 * clients is NULL) with a tick that may add requests to the run with aws_run_join; runs (the tick at least once)
 * even when n is 0. The run ends when nothing is left and the tick adds nothing.
 */
enum err aws_run_ticking(
  struct aws_client *owner,
  struct aws_client *const *clients,
  struct aws_request **reqs,
  size_t n,
  const struct aws_tick *tick) SV_MUST_CHECK;
/*
 * Adds r, signed and paced by its client c, to the run `owner` is running (from a tick or an on_done), queued
 * behind the requests already there - a request whose limiter waits for a token is passed over, so it never holds
 * a slot other buckets could use. ERR_INVALID when owner runs nothing or c uses another http client.
 */
enum err aws_run_join(struct aws_client *owner, struct aws_client *c, struct aws_request *r) SV_MUST_CHECK;
/*
 * Adds r to the aws_run in progress on this client (from an on_done or progress callback), with the same pacing:
 * it runs in that batch, opening before the requests still queued (batch_add_next: it does not wait behind a long
 * phase), and its on_done is called before aws_run returns. ERR_INVALID when no run is in
 * progress (then the caller runs it itself). r must stay valid until its on_done.
 */
enum err aws_run_add(struct aws_client *c, struct aws_request *r) SV_MUST_CHECK;
/*
 * A function called after every request of this client has completed (after its on_done), not re-entrantly: the
 * place for work that must keep pace with a long phase (streaming the audit items). It may call aws_run_add.
 */
void aws_client_on_progress(struct aws_client *c, void (*fn)(void *ctx), void *ctx);
/* One request; returns its result. */
enum err aws_run_one(struct aws_client *c, struct aws_request *r) SV_MUST_CHECK;
/* Frees the response buffers of a finished request (it may then be reused). */
void aws_request_free(struct aws_request *r);

/* Parses the response body as XML / JSON into `arena`. */
enum err aws_response_xml(const struct aws_request *r, struct arena *arena, const struct xml_node **root) SV_MUST_CHECK;
enum err aws_response_json(const struct aws_request *r, struct arena *arena, const struct json_value **root)
  SV_MUST_CHECK;
/* A response header (case-insensitive), trimmed; empty if absent. */
struct span aws_response_header(const struct aws_request *r, const char *name);

/*
 * A presigned Query-protocol GET URL (used for EC2 CopySnapshot's PresignedUrl: the CopySnapshot action with its
 * parameters, presigned for the source region, botocore handlers.inject_presigned_url_ec2). Written to `out`.
 */
enum err aws_presign_query_url(
  struct aws_client *c,
  enum endpoint_service service,
  const char *region,
  const char *operation,
  const struct query_params *params,
  uint32_t expires_s,
  struct buf *out) SV_MUST_CHECK;

/*
 * A presigned S3 GET URL of bucket/key (a link people can open without AWS credentials), written to `out`. It is
 * valid for max_expires_s (1..SIGV4_MAX_EXPIRES_S, seven days), or less: a presigned URL stops working when the
 * credentials that signed it expire (temporary credentials of a task role or IRSA last hours), so the lifetime is
 * cut to what the credentials have left; *expires_s says what it is. ERR_LIMIT when less than a minute is left.
 */
enum err aws_presign_s3_get_url(
  struct aws_client *c,
  const char *region,
  const char *bucket,
  struct span key,
  uint32_t max_expires_s,
  struct buf *out,
  uint32_t *expires_s) SV_MUST_CHECK;

/* The corrected clock (wall + skew offset), in seconds. */
int64_t aws_client_now_s(const struct aws_client *c);
int64_t aws_client_skew_offset_ms(const struct aws_client *c);
const struct aws_op_stat *aws_client_ops(const struct aws_client *c, size_t *n);
/* The executor's counters of the client's last aws_run (attempts, retries, peak in flight...). */
const struct batch_stats *aws_client_last_run(const struct aws_client *c);
/* The account id of the credentials, if the provider said (else ""). */
const char *aws_client_account_id(struct aws_client *c);

/* The API version of a Query-protocol service ("2016-11-15" for EC2); NULL for others. */
const char *aws_query_api_version(enum endpoint_service s);

/*
 * The per-attempt timeout of an operation: server-side copies get minutes - S3 may take several minutes to
 * answer a CopyObject or UploadPartCopy of up to 5 GiB ("a copy can take a long time ... Amazon S3 sends
 * whitespace characters to keep the connection alive", CopyObject API reference) and to assemble a
 * CompleteMultipartUpload - while every other call keeps the http client's short default (0 here).
 */
#define AWS_COPY_ATTEMPT_TIMEOUT_MS ((int64_t) 15 * 60 * 1000)
#define AWS_COMPLETE_ATTEMPT_TIMEOUT_MS ((int64_t) 5 * 60 * 1000)
int64_t aws_attempt_timeout_ms(const char *operation);

#endif
