/*
 * call.c - one code path for every AWS call: endpoint, credentials, signing per attempt, the batch executor,
 * error documents, clock-skew correction, and counting calls by operation.
 *
 * What it does not do: build service-specific parameters or parse successful responses (svc/), decide retries
 * (net/retry, through net/batch), or choose what to do about a failure (the caller).
 *
 * Memory: a request's signing state (struct aws_request_state: endpoint, encoded body, signed headers) is
 * allocated when its first attempt is prepared and freed when it completes, so only the requests in flight
 * hold one, however many are queued.
 */
#include "aws/call.h"

#include "aws/sigv4.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/time.h"
#include "codec/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The clock-skew rule of the JS SDK (notes §7): correct only when the corrected clock is off by >= 5 minutes. */
#define AWS_SKEW_THRESHOLD_MS ((int64_t) 300 * 1000)
/* Signed headers of one attempt: Host, Content-Type, X-Amz-Target, two amz-sdk-*, and the caller's. */
#define AWS_MAX_SIGNED_HEADERS (AWS_MAX_EXTRA_HEADERS + 6)
#define AWS_MAX_SEND_HEADERS (AWS_MAX_SIGNED_HEADERS + SIGV4_MAX_OUT_HEADERS)

struct aws_client {
    struct aws_client_options opt;
    int64_t skew_offset_ms;
    struct aws_op_stat ops[AWS_MAX_OPS];
    size_t nops;
    struct arena scratch; /* error documents are parsed here and rewound at once */
    bool creds_failure_logged;
    struct batch *running; /* the batch of the aws_run in progress (aws_run_add joins it), or NULL */
    void (*on_progress)(void *ctx);
    void *progress_ctx;
    bool in_progress_hook;
    struct batch_stats last_run; /* batch_stats of the last aws_run */
};

struct aws_request_state {
    struct endpoint ep;
    struct buf body;  /* encoded Query body (the request's own body is used for REST/JSON) */
    struct buf path;  /* path as sent: prefix + encoded key */
    struct buf url;   /* base + path + query */
    struct buf store; /* NUL-terminated copies of header names and values for libcurl */
    char invocation_id[RAND_UUID_LEN + 1];
    char sdk_request[64];
    struct sigv4_output sig;
    struct http_header send[AWS_MAX_SEND_HEADERS];
    struct aws_error error;
    bool has_error;
    bool skew_corrected;
};

static int64_t s_wall_ms(const struct aws_client *c) {
    return c->opt.wall_ms ? c->opt.wall_ms() : time_wall_ms();
}

int64_t aws_client_now_s(const struct aws_client *c) {
    int64_t ms = s_wall_ms(c) + c->skew_offset_ms;
    return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}

int64_t aws_client_skew_offset_ms(const struct aws_client *c) {
    return c->skew_offset_ms;
}

const char *aws_query_api_version(enum endpoint_service s) {
    switch (s) {
        case ENDPOINT_EC2:
            return "2016-11-15";
        case ENDPOINT_SNS:
            return "2010-03-31";
        case ENDPOINT_CLOUDWATCH:
            return "2010-08-01";
        case ENDPOINT_STS:
            return "2011-06-15";
        default:
            return NULL;
    }
}

enum err aws_client_new(const struct aws_client_options *opt, struct aws_client **out) {
    ENSURE(opt->http != NULL && opt->creds != NULL && opt->retry != NULL, ERR_INVALID, "aws_client_new: missing part");
    struct aws_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        FATAL("out of memory");
    }
    c->opt = *opt;
    if (c->opt.env == NULL) {
        c->opt.env = &endpoint_env_none;
    }
    arena_init(&c->scratch, 0);
    *out = c;
    return ERR_OK;
}

void aws_client_free(struct aws_client *c) {
    if (c == NULL) {
        return;
    }
    arena_free(&c->scratch);
    free(c);
}

const struct aws_op_stat *aws_client_ops(const struct aws_client *c, size_t *n) {
    *n = c->nops;
    return c->ops;
}

static struct aws_op_stat *s_op(struct aws_client *c, const char *name) {
    for (size_t i = 0; i < c->nops; i++) {
        if (strcmp(c->ops[i].name, name) == 0) {
            return &c->ops[i];
        }
    }
    if (c->nops == AWS_MAX_OPS) {
        return &c->ops[AWS_MAX_OPS - 1]; /* counted with the last; more distinct operations is a bug */
    }
    struct aws_op_stat *o = &c->ops[c->nops++];
    snprintf(o->name, sizeof(o->name), "%s", name);
    return o;
}

void aws_request_free(struct aws_request *r) {
    buf_free(&r->body_out);
    buf_free(&r->headers_out);
}

static void s_state_free(struct aws_request_state *st) {
    if (st == NULL) {
        return;
    }
    buf_free(&st->body);
    buf_free(&st->path);
    buf_free(&st->url);
    buf_wipe_free(&st->store);
    sigv4_output_free(&st->sig);
    free(st);
}

static bool s_is_query(enum endpoint_service s) {
    return aws_query_api_version(s) != NULL;
}

/*
 * One key=value of a Query POST body, encoded as botocore does (urllib's urlencode: quote_plus, so a space is
 * '+'). AWS hashes the body bytes as sent, so '%20' would verify too; but emulators (moto) re-encode the parsed
 * form before hashing, and being byte-identical to botocore keeps every verifier happy. Query strings (presigned
 * URLs) keep '%20': there '+' would be read as a literal plus.
 */
static void s_form_body_add(struct buf *out, struct span key, struct span value) {
    if (out->len > 0) {
        buf_append_char(out, '&');
    }
    uri_encode(out, key);
    buf_append_char(out, '=');
    struct span rest = value, piece;
    bool more = true;
    while (more) {
        more = span_split(rest, ' ', &piece, &rest);
        uri_encode(out, piece);
        if (more) {
            buf_append_char(out, '+');
        }
    }
}

/* First attempt: resolve the endpoint and encode what does not change between attempts. */
static enum err s_state_new(struct aws_client *c, struct aws_request *r, struct aws_request_state **out) {
    struct aws_request_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        FATAL("out of memory");
    }
    buf_init(&st->body, BUF_MAX_REQUEST);
    buf_init(&st->path, URI_MAX_URL_BYTES);
    buf_init(&st->url, URI_MAX_URL_BYTES + URI_MAX_QUERY_BYTES);
    buf_init(&st->store, BUF_MAX_REQUEST);
    sigv4_output_init(&st->sig);
    rand_uuid4(st->invocation_id);
    *out = st;
    enum err e = endpoint_resolve(c->opt.env, r->service, r->region, r->bucket, &st->ep);
    if (e != ERR_OK) {
        return e;
    }
    if (s_is_query(r->service)) {
        s_form_body_add(&st->body, SPAN_LIT("Action"), span_from_cstr(r->operation));
        s_form_body_add(&st->body, SPAN_LIT("Version"), span_from_cstr(aws_query_api_version(r->service)));
        for (size_t i = 0; r->params && i < r->params->n; i++) {
            s_form_body_add(&st->body, r->params->items[i].name, r->params->items[i].value);
        }
        ENSURE(buf_status(&st->body) == ERR_OK, ERR_LIMIT, "%s: request body too large", r->operation);
    }
    buf_append_cstr(&st->path, st->ep.path_prefix);
    if (r->service == ENDPOINT_S3 && r->key.n > 0) {
        buf_append_char(&st->path, '/');
        uri_encode_path(&st->path, r->key);
    }
    if (st->path.len == 0) {
        buf_append_char(&st->path, '/');
    }
    buf_append_cstr(&st->url, st->ep.base_url);
    buf_append_span(&st->url, span_sub(buf_span(&st->path), strlen(st->ep.path_prefix), st->path.len));
    if (r->query.n) {
        buf_append_char(&st->url, '?');
        buf_append_span(&st->url, r->query);
    }
    ENSURE(
      buf_status(&st->path) == ERR_OK && buf_status(&st->url) == ERR_OK, ERR_LIMIT, "%s: URL too long", r->operation);
    return ERR_OK;
}

/* Appends a NUL-terminated copy to the store; returns its offset. */
static size_t s_store(struct buf *store, struct span s) {
    size_t off = store->len;
    buf_append_span(store, s);
    buf_append_char(store, '\0');
    return off;
}

/* The client's credentials now; on failure, once per client, what the chain tried (one line without secrets). */
static enum err s_creds(struct aws_client *c, int64_t now_s, const struct creds **cr) {
    enum err ce = creds_get(c->opt.creds, now_s, cr);
    if (ce != ERR_OK && !c->creds_failure_logged) {
        c->creds_failure_logged = true;
        LOG(
          LOG_ERROR,
          "aws.no_credentials",
          LF_S("error", err_name(ce)),
          LF_S("reason", creds_chain_failure(c->opt.creds)));
    }
    return ce;
}

/* The headers to sign: Host, the protocol's content type (and target), the SDK headers, the request's own. */
static size_t s_sign_headers(
  const struct aws_request *r,
  const struct aws_request_state *st,
  bool query,
  bool json,
  struct sigv4_header hs[AWS_MAX_SIGNED_HEADERS]) {
    size_t nh = 0;
    hs[nh++] = (struct sigv4_header){ SPAN_LIT("Host"), span_from_cstr(st->ep.host_header) };
    if (query) {
        hs[nh++] = (struct sigv4_header){ SPAN_LIT("Content-Type"),
                                          SPAN_LIT("application/x-www-form-urlencoded; charset=utf-8") };
    } else if (json) {
        /* DynamoDB speaks JSON 1.0, Organizations JSON 1.1 (botocore metadata.jsonVersion). */
        struct span ct = r->service == ENDPOINT_ORGANIZATIONS ? SPAN_LIT("application/x-amz-json-1.1")
                                                              : SPAN_LIT("application/x-amz-json-1.0");
        hs[nh++] = (struct sigv4_header){ SPAN_LIT("Content-Type"), ct };
        hs[nh++] = (struct sigv4_header){ SPAN_LIT("X-Amz-Target"), span_from_cstr(r->target) };
    }
    hs[nh++] = (struct sigv4_header){ SPAN_LIT("amz-sdk-invocation-id"), span_from_cstr(st->invocation_id) };
    hs[nh++] = (struct sigv4_header){ SPAN_LIT("amz-sdk-request"), span_from_cstr(st->sdk_request) };
    for (size_t i = 0; i < r->nheaders; i++) {
        hs[nh++] = (struct sigv4_header){ span_from_cstr(r->headers[i].name), span_from_cstr(r->headers[i].value) };
    }
    return nh;
}

/* libcurl wants C strings: every header (but Host) and the signature's copied into the store, pointed at. */
static enum err s_send_headers(
  const struct aws_request *r,
  struct aws_request_state *st,
  const struct sigv4_header *hs,
  size_t nh,
  size_t *ns_out) {
    buf_wipe_free(&st->store);
    buf_init(&st->store, BUF_MAX_REQUEST);
    size_t offs[AWS_MAX_SEND_HEADERS][2];
    size_t ns = 0;
    for (size_t i = 0; i < nh; i++) {
        if (span_eq_nocase(hs[i].name, SPAN_LIT("Host"))) {
            continue; /* libcurl writes Host from the URL; it is the same host_header */
        }
        offs[ns][0] = s_store(&st->store, hs[i].name);
        offs[ns][1] = s_store(&st->store, hs[i].value);
        ns++;
    }
    for (size_t i = 0; i < st->sig.header_count; i++) {
        offs[ns][0] = s_store(&st->store, st->sig.headers[i].name);
        offs[ns][1] = s_store(&st->store, st->sig.headers[i].value);
        ns++;
    }
    ENSURE(buf_status(&st->store) == ERR_OK, ERR_LIMIT, "%s: request headers too large", r->operation);
    for (size_t i = 0; i < ns; i++) {
        st->send[i] = (struct http_header){ st->store.data + offs[i][0], st->store.data + offs[i][1] };
    }
    *ns_out = ns;
    return ERR_OK;
}

static enum err s_prepare(void *user, uint32_t attempt, struct http_request *out) {
    struct aws_request *r = user;
    struct aws_client *c = r->client;
    if (r->state == NULL) {
        enum err e = s_state_new(c, r, &r->state);
        TRY(e);
    }
    struct aws_request_state *st = r->state;
    int64_t now_s = aws_client_now_s(c);
    const struct creds *cr = NULL;
    TRY(s_creds(c, now_s, &cr));

    bool query = s_is_query(r->service);
    bool json = r->service == ENDPOINT_DYNAMODB || r->service == ENDPOINT_ORGANIZATIONS;
    struct span body = query ? buf_span(&st->body) : r->body;
    snprintf(
      st->sdk_request,
      sizeof(st->sdk_request),
      "attempt=%u; max=%u",
      attempt,
      c->opt.retry->cfg.max_attempts ? c->opt.retry->cfg.max_attempts : RETRY_DEFAULT_MAX_ATTEMPTS);
    struct sigv4_header hs[AWS_MAX_SIGNED_HEADERS];
    size_t nh = s_sign_headers(r, st, query, json, hs);

    sigv4_output_free(&st->sig);
    sigv4_output_init(&st->sig);
    struct sigv4_credentials sc = { span_from_cstr(cr->access_key_id),
                                    secret_span(&cr->secret_access_key),
                                    secret_span(&cr->session_token) };
    const char *method = query || json ? "POST" : (r->method ? r->method : "GET");
    struct sigv4_request sr = {
        .method = span_from_cstr(method),
        .path = buf_span(&st->path),
        .query = r->query,
        .headers = hs,
        .header_count = nh,
        .payload = body,
    };
    struct sigv4_options so = {
        .region = span_from_cstr(st->ep.signing_region),
        .service = span_from_cstr(st->ep.signing_name),
        .time_unix_s = now_s,
        .s3 = r->service == ENDPOINT_S3,
    };
    TRY(sigv4_sign(&sr, &sc, &so, &st->sig));
    size_t ns = 0;
    TRY(s_send_headers(r, st, hs, nh, &ns));
    *out = (struct http_request){
        .method = method,
        .url = buf_cstr(&st->url),
        .headers = st->send,
        .nheaders = ns,
        .body = body,
        .timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : aws_attempt_timeout_ms(r->operation),
    };
    return ERR_OK;
}

int64_t aws_attempt_timeout_ms(const char *operation) {
    if (operation == NULL) {
        return 0;
    }
    if (strcmp(operation, "CopyObject") == 0 || strcmp(operation, "UploadPartCopy") == 0) {
        return AWS_COPY_ATTEMPT_TIMEOUT_MS;
    }
    return strcmp(operation, "CompleteMultipartUpload") == 0 ? AWS_COMPLETE_ATTEMPT_TIMEOUT_MS : 0;
}

/* S3 answers some operations with 200 and an <Error> document (CopyObject, UploadPartCopy, Complete...). */
static bool s_error_in_200(const struct aws_request *r, const struct http_response *resp) {
    if (!r->error_in_200 || resp->status != 200) {
        return false;
    }
    struct span b = span_trim(buf_span(&resp->body));
    /* Skip an XML declaration if any, then look at the root element's name. */
    if (span_starts_with(b, SPAN_LIT("<?xml"))) {
        long end = span_index(b, '>');
        b = end < 0 ? SPAN_NULL : span_trim(span_sub(b, (size_t) end + 1, b.n));
    }
    return span_starts_with(b, SPAN_LIT("<Error>")) || span_starts_with(b, SPAN_LIT("<Error "));
}

/* A success whose Date is >= 5 minutes from our corrected clock: learn the offset (signing and decisions use it). */
static void s_learn_skew(struct aws_client *c, const struct aws_request *r, const struct http_response *resp) {
    int64_t server_s = 0;
    if (time_parse_http_date(http_response_header(resp, "Date"), &server_s) != ERR_OK) {
        return;
    }
    int64_t diff_ms = server_s * 1000 - (s_wall_ms(c) + c->skew_offset_ms);
    if (diff_ms < AWS_SKEW_THRESHOLD_MS && diff_ms > -AWS_SKEW_THRESHOLD_MS) {
        return;
    }
    c->skew_offset_ms = server_s * 1000 - s_wall_ms(c);
    LOG(LOG_WARN, "aws.clock_skew_learned", LF_S("operation", r->operation), LF_I("offset_ms", c->skew_offset_ms));
}

static void s_classify(void *user, enum err transport, const struct http_response *resp, struct retry_input *in) {
    struct aws_request *r = user;
    struct aws_request_state *st = r->state;
    struct aws_client *c = r->client;
    st->has_error = false;
    if (transport != ERR_OK) {
        return;
    }
    bool in_200 = s_error_in_200(r, resp);
    if (resp->status < 300 && !in_200) {
        s_learn_skew(c, r, resp);
        return;
    }
    struct aws_error_response er = {
        .http_status = in_200 ? 500 : (int) resp->status,
        .body = buf_span(&resp->body),
        .amzn_request_id = http_response_header(resp, "x-amzn-RequestId"),
        .amz_request_id = http_response_header(resp, "x-amz-request-id"),
        .amzn_error_type = http_response_header(resp, "x-amzn-ErrorType"),
    };
    struct arena_mark m = arena_mark(&c->scratch);
    /* ERR_AUTH / ERR_AWS: a document with a code; ERR_HTTP: a code derived from the status; ERR_OK: not an error. */
    enum err e = aws_error_parse(&c->scratch, &er, &st->error);
    arena_rewind(&c->scratch, m);
    if (e == ERR_OK) {
        return;
    }
    st->has_error = true;
    if (st->error.code_from_status) {
        return; /* no AWS code: the retry policy decides from the status alone */
    }
    if (in_200) {
        in->status = 500; /* "200 with an error body" is a server-side failure: retried like a 500 */
    }
    in->aws_code = aws_error_code(&st->error);
    r->throttles += retry_is_throttling_code(in->aws_code);
    if (retry_is_clock_skew_code(in->aws_code) && !st->skew_corrected) {
        int64_t server_s = 0;
        bool have = st->error.has_server_time;
        if (have) {
            server_s = st->error.server_time_s;
        } else {
            have = time_parse_http_date(http_response_header(resp, "Date"), &server_s) == ERR_OK;
        }
        int64_t ours_ms = s_wall_ms(c) + c->skew_offset_ms;
        int64_t diff_ms = server_s * 1000 - ours_ms;
        if (have && (diff_ms >= AWS_SKEW_THRESHOLD_MS || diff_ms <= -AWS_SKEW_THRESHOLD_MS)) {
            c->skew_offset_ms = server_s * 1000 - s_wall_ms(c);
            st->skew_corrected = true;
            in->skew_corrected = true;
            LOG(
              LOG_WARN,
              "aws.clock_skew_corrected",
              LF_S("operation", r->operation),
              LF_I("offset_ms", c->skew_offset_ms),
              LF_S("aws_code", st->error.code));
        }
    }
}

/*
 * The operation's counts. A request the stop left unsent is not a call: an operation all of whose requests were
 * cancelled is not listed at all (cycle.done's api_calls names only operations that were called).
 */
static void
s_count(struct aws_client *c, const struct aws_request *r, const struct batch_item_result *res, const char *code) {
    if (res->attempts == 0 && r->result == ERR_CANCELLED) {
        return;
    }
    struct aws_op_stat *op = s_op(c, r->operation);
    op->calls += res->attempts > 0;
    op->attempts += res->attempts;
    if (r->result != ERR_OK && r->result != ERR_CANCELLED) {
        op->failures++;
        LOG(
          LOG_DEBUG,
          "aws.call_failed",
          LF_S("operation", r->operation),
          LF_S("region", r->region),
          LF_S("error", err_name(r->result)),
          LF_S("aws_code", code),
          LF_I("status", r->status),
          LF_U("attempts", res->attempts),
          LF_S("stop", retry_stop_name(res->stop)));
    }
}

/* Keep the body and headers: swap the buffers out of the executor's response, which it frees next. */
static void s_keep_response(struct aws_request *r, struct http_response *resp) {
    buf_free(&r->body_out);
    buf_free(&r->headers_out);
    r->body_out = resp->body;
    r->headers_out = resp->headers;
    buf_init(&resp->body, HTTP_MAX_RESPONSE_BODY);
    buf_init(&resp->headers, HTTP_MAX_RESPONSE_HEADERS);
}

/* The request's error (AWS's, or the transport's with its host) and its final result (auth errors told apart). */
static enum err s_final_error(
  struct aws_request *r,
  const struct aws_request_state *st,
  enum err final,
  const struct http_response *resp) {
    bool has_error = st != NULL && st->has_error;
    if (has_error) {
        r->error = st->error;
    } else if (final != ERR_OK && resp->status == 0 && st != NULL) {
        /* A transport failure: which host, and libcurl's reason ("Could not resolve host: ...", "... timed out
         * after 5000 milliseconds", the TLS error), so that the log line says what to fix. */
        snprintf(
          r->error.message,
          sizeof(r->error.message),
          "%.200s: %.300s", /* both bounded: the line fits the message */
          st->ep.host_header,
          resp->error[0] ? resp->error : err_name(final));
    }
    if (final == ERR_AWS && has_error && aws_error_is_auth(aws_error_code(&st->error))) {
        return ERR_AUTH;
    }
    if (final == ERR_HTTP && (resp->status == 401 || resp->status == 403)) {
        return ERR_AUTH;
    }
    return final;
}

static void s_complete(void *user, enum err final, struct http_response *resp, const struct batch_item_result *res) {
    struct aws_request *r = user;
    struct aws_request_state *st = r->state; /* NULL when the first prepare failed before allocating it */
    struct aws_client *c = r->client;
    r->status = resp->status;
    r->attempts = res->attempts;
    r->wall_ms = res->wall_ms;
    r->last_class = res->last_class;
    r->stop = res->stop;
    r->transport = res->transport;
    s_keep_response(r, resp);
    r->result = s_final_error(r, st, final, resp);
    s_count(c, r, res, st != NULL && st->has_error ? st->error.code : "");
    s_state_free(st);
    r->state = NULL;
    if (r->on_done) {
        r->on_done(r);
    }
    if (c->on_progress != NULL && !c->in_progress_hook) {
        c->in_progress_hook = true;
        c->on_progress(c->progress_ctx);
        c->in_progress_hook = false;
    }
}

void aws_client_on_progress(struct aws_client *c, void (*fn)(void *ctx), void *ctx) {
    c->on_progress = fn;
    c->progress_ctx = ctx;
}

static const struct batch_ops s_ops = { s_prepare, s_classify, s_complete };

/* Resets the outputs; the signing state is made by the first prepare. */
static void s_arm(struct aws_client *c, struct aws_request *r) {
    r->result = ERR_CANCELLED;
    r->status = 0;
    r->attempts = 0;
    r->throttles = 0;
    r->last_class = RETRY_CLASS_SUCCESS;
    r->stop = RETRY_STOP_NONE;
    r->transport = ERR_OK;
    memset(&r->error, 0, sizeof(r->error));
    buf_init(&r->body_out, HTTP_MAX_RESPONSE_BODY);
    buf_init(&r->headers_out, HTTP_MAX_RESPONSE_HEADERS);
    r->client = c;
    r->state = NULL;
}

/*
 * Arms r and adds it to b with its client's (service, region) policy and (account, ..., operation) limiter;
 * `where`: queued last, next (before every queued request), or in front of the requests queued last.
 */
enum s_where { S_QUEUED, S_NEXT, S_FRONT }; /* batch_add_paced, batch_add_next, batch_add_front */

static enum err s_add(struct aws_client *c, struct batch *b, struct aws_request *r, int64_t now, enum s_where where) {
    s_arm(c, r);
    struct retry_policy *policy = c->opt.retry;
    struct ratelimit *limiter = NULL;
    if (c->opt.pacing != NULL) {
        const char *account = aws_client_account_id(c);
        policy = pacing_policy(c->opt.pacing, r->service, r->region, now);
        limiter = pacing_limiter(c->opt.pacing, account, r->service, r->region, r->operation, now);
    }
    if (where == S_NEXT) {
        return batch_add_next(b, &s_ops, r, policy, limiter);
    }
    return (where == S_FRONT ? batch_add_front : batch_add_paced)(b, &s_ops, r, policy, limiter);
}

/*
 * The batch of aws_run and aws_run_each: reqs[i] runs on clients[i] (its credentials, endpoint environment, retry
 * policy and pacing), or on `c` when clients is NULL. Concurrency and the run's deadline are c's; requests added
 * during the run (aws_run_add) join it through c.
 */
static enum err s_run(
  struct aws_client *c,
  struct aws_client *const *clients,
  struct aws_request **reqs,
  size_t n,
  const struct aws_tick *tick) {
    if (n == 0 && tick == NULL) {
        return ERR_OK;
    }
    struct batch_options bo = { .max_in_flight = c->opt.max_in_flight,
                                .policy = c->opt.retry,
                                .run_deadline_ms = c->opt.run_deadline_ms,
                                .item_deadline_ms = c->opt.item_deadline_ms };
    struct batch *b = NULL;
    TRY(batch_new(c->opt.http, &bo, &b));
    int64_t now = time_mono_ms();
    for (size_t i = 0; i < n; i++) {
        struct aws_client *rc = clients != NULL ? clients[i] : c;
        enum err e = rc->opt.http == c->opt.http ? ERR_OK : ERR_INVALID; /* one batch drives one connection pool */
        if (e == ERR_OK) {
            e = s_add(rc, b, reqs[i], now, S_QUEUED);
        }
        if (e != ERR_OK) {
            batch_free(b);
            return e;
        }
    }
    if (tick != NULL) {
        batch_set_tick(b, tick->fn, tick->ctx, tick->every_ms);
    }
    struct batch *outer = c->running;
    c->running = b;
    enum err e = batch_run(b);
    c->last_run = *batch_stats(b);
    c->running = outer;
    batch_free(b);
    /*
     * A request the batch never ran (only when batch_run failed) keeps ERR_CANCELLED. After a run every request has
     * completed and may already be freed by its on_done: it is not touched again.
     */
    for (size_t i = 0; e != ERR_OK && i < n; i++) {
        if (reqs[i]->state != NULL) {
            s_state_free(reqs[i]->state);
            reqs[i]->state = NULL;
        }
    }
    return e;
}

enum err aws_run(struct aws_client *c, struct aws_request **reqs, size_t n) {
    return s_run(c, NULL, reqs, n, NULL);
}

enum err aws_run_each(struct aws_client *const *clients, struct aws_request **reqs, size_t n) {
    return n ? s_run(clients[0], clients, reqs, n, NULL) : ERR_OK;
}

enum err aws_run_ticking(
  struct aws_client *owner,
  struct aws_client *const *clients,
  struct aws_request **reqs,
  size_t n,
  const struct aws_tick *tick) {
    return s_run(owner, clients, reqs, n, tick);
}

enum err aws_run_add(struct aws_client *c, struct aws_request *r) {
    if (c->running == NULL) {
        return ERR_INVALID;
    }
    return s_add(c, c->running, r, time_mono_ms(), S_NEXT);
}

enum err aws_run_join(struct aws_client *owner, struct aws_client *c, struct aws_request *r) {
    ENSURE(owner->running != NULL && c->opt.http == owner->opt.http, ERR_INVALID, "aws_run_join: no run to join");
    return s_add(c, owner->running, r, time_mono_ms(), S_FRONT);
}

const struct batch_stats *aws_client_last_run(const struct aws_client *c) {
    return &c->last_run;
}

enum err aws_run_one(struct aws_client *c, struct aws_request *r) {
    struct aws_request *one[1] = { r };
    TRY(aws_run(c, one, 1));
    return r->result;
}

enum err aws_response_xml(const struct aws_request *r, struct arena *arena, const struct xml_node **root) {
    return xml_parse(arena, buf_span(&r->body_out), NULL, root);
}

enum err aws_response_json(const struct aws_request *r, struct arena *arena, const struct json_value **root) {
    return json_parse(arena, buf_span(&r->body_out), NULL, root);
}

struct span aws_response_header(const struct aws_request *r, const char *name) {
    struct http_response tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.headers = r->headers_out;
    return http_response_header(&tmp, name);
}

const char *aws_client_account_id(struct aws_client *c) {
    const struct creds *cr = NULL;
    if (creds_get(c->opt.creds, aws_client_now_s(c), &cr) != ERR_OK) {
        return "";
    }
    return cr->account_id;
}

enum err aws_presign_query_url(
  struct aws_client *c,
  enum endpoint_service service,
  const char *region,
  const char *operation,
  const struct query_params *params,
  uint32_t expires_s,
  struct buf *out) {
    const char *version = aws_query_api_version(service);
    ENSURE(version != NULL, ERR_INVALID, "presign: %s is not a Query service", operation);
    struct endpoint ep;
    TRY(endpoint_resolve(c->opt.env, service, region, NULL, &ep));
    int64_t now_s = aws_client_now_s(c);
    const struct creds *cr = NULL;
    TRY(creds_get(c->opt.creds, now_s, &cr));
    struct buf q;
    buf_init(&q, URI_MAX_QUERY_BYTES);
    uri_form_add(&q, SPAN_LIT("Action"), span_from_cstr(operation));
    uri_form_add(&q, SPAN_LIT("Version"), span_from_cstr(version));
    for (size_t i = 0; params && i < params->n; i++) {
        uri_form_add(&q, params->items[i].name, params->items[i].value);
    }
    if (buf_status(&q) != ERR_OK) {
        buf_free(&q);
        FAIL(ERR_LIMIT, "presign: query too long");
    }
    struct sigv4_header hs[1] = { { SPAN_LIT("Host"), span_from_cstr(ep.host_header) } };
    struct buf path;
    buf_init(&path, URI_MAX_URL_BYTES);
    buf_append_cstr(&path, ep.path_prefix);
    buf_append_char(&path, '/');
    struct sigv4_request sr = {
        .method = SPAN_LIT("GET"), .path = buf_span(&path), .query = buf_span(&q), .headers = hs, .header_count = 1
    };
    struct sigv4_credentials sc = { span_from_cstr(cr->access_key_id),
                                    secret_span(&cr->secret_access_key),
                                    secret_span(&cr->session_token) };
    struct sigv4_options so = {
        .region = span_from_cstr(ep.signing_region),
        .service = span_from_cstr(ep.signing_name),
        .time_unix_s = now_s,
        .presign_expires_s = expires_s,
    };
    struct sigv4_output sig;
    sigv4_output_init(&sig);
    enum err e = sigv4_sign(&sr, &sc, &so, &sig);
    if (e == ERR_OK) {
        buf_append_cstr(out, ep.base_url);
        buf_append_char(out, '/');
        buf_append_char(out, '?');
        buf_append_span(out, buf_span(&sig.query));
        e = buf_status(out);
    }
    sigv4_output_free(&sig);
    buf_free(&path);
    buf_free(&q);
    return e;
}

/* A presigned link shorter than this is not worth sending to a person. */
#define AWS_PRESIGN_MIN_S 60

enum err aws_presign_s3_get_url(
  struct aws_client *c,
  const char *region,
  const char *bucket,
  struct span key,
  uint32_t max_expires_s,
  struct buf *out,
  uint32_t *expires_s) {
    ENSURE(max_expires_s >= 1 && max_expires_s <= SIGV4_MAX_EXPIRES_S, ERR_INVALID, "presign: bad lifetime");
    struct endpoint ep;
    TRY(endpoint_resolve(c->opt.env, ENDPOINT_S3, region, bucket, &ep));
    int64_t now_s = aws_client_now_s(c);
    const struct creds *cr = NULL;
    TRY(creds_get(c->opt.creds, now_s, &cr));
    int64_t left = cr->expiration_s == CREDS_NO_EXPIRY ? (int64_t) max_expires_s : cr->expiration_s - now_s;
    ENSURE(left >= AWS_PRESIGN_MIN_S, ERR_LIMIT, "presign: the credentials expire in %lld s", (long long) left);
    *expires_s = left < (int64_t) max_expires_s ? (uint32_t) left : max_expires_s;
    struct buf path;
    buf_init(&path, URI_MAX_URL_BYTES);
    buf_append_cstr(&path, ep.path_prefix);
    buf_append_char(&path, '/');
    uri_encode_path(&path, key);
    struct sigv4_header hs[1] = { { SPAN_LIT("Host"), span_from_cstr(ep.host_header) } };
    struct sigv4_request sr = { .method = SPAN_LIT("GET"), .path = buf_span(&path), .headers = hs, .header_count = 1 };
    struct sigv4_credentials sc = { span_from_cstr(cr->access_key_id),
                                    secret_span(&cr->secret_access_key),
                                    secret_span(&cr->session_token) };
    struct sigv4_options so = {
        .region = span_from_cstr(ep.signing_region),
        .service = span_from_cstr(ep.signing_name),
        .time_unix_s = now_s,
        .s3 = true,
        .presign_expires_s = *expires_s,
    };
    struct sigv4_output sig;
    sigv4_output_init(&sig);
    enum err e = buf_status(&path);
    if (e == ERR_OK) {
        e = sigv4_sign(&sr, &sc, &so, &sig);
    }
    if (e == ERR_OK) {
        buf_append_cstr(out, ep.base_url);
        buf_append_span(out, span_sub(buf_span(&path), strlen(ep.path_prefix), path.len - strlen(ep.path_prefix)));
        buf_append_char(out, '?');
        buf_append_span(out, buf_span(&sig.query));
        e = buf_status(out);
    }
    sigv4_output_free(&sig);
    buf_free(&path);
    return e;
}
