/*
 * stack.c - opening and closing the AWS client stack, and the `debug call` developer command built on it.
 */
#include "aws/stack.h"

#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default chain, or a chain of the one provider the caller brought (an assumed role). */
static enum err s_creds(const struct aws_stack_options *opt, struct aws_stack *out) {
    if (opt->provider != NULL) {
        struct creds_provider *one[] = { opt->provider };
        return creds_chain_new_from(one, 1, &out->creds);
    }
    struct creds_chain_options co = { .env = opt->env, .http = out->http, .region = opt->region };
    return creds_chain_new(&co, &out->creds);
}

enum err aws_stack_open(const struct aws_stack_options *opt, struct aws_stack *out) {
    memset(out, 0, sizeof(*out));
    snprintf(out->account_id, sizeof(out->account_id), "%s", opt->account_id ? opt->account_id : "");
    struct http_client_options ho = { .ca_file = opt->ca_file,
                                      .max_host_connections = (long) (opt->max_in_flight ? opt->max_in_flight : 16),
                                      .low_speed_time_ms = opt->low_speed_time_ms };
    out->http_borrowed = opt->http != NULL;
    out->http = opt->http;
    enum err e = out->http_borrowed ? ERR_OK : http_client_new(&ho, &out->http);
    if (e != ERR_OK) {
        if (opt->provider != NULL) {
            opt->provider->vt->destroy(opt->provider);
        }
        return e;
    }
    struct retry_config rc = { .mode = opt->retry_mode,
                               .max_attempts = opt->max_attempts,
                               .throttle_until_deadline = opt->run_deadline_ms > 0 };
    retry_policy_init(&out->retry, &rc, time_mono_ms());
    pacing_init(&out->pacing, &rc);
    e = s_creds(opt, out);
    if (e == ERR_OK) {
        struct aws_client_options ao = {
            .env = opt->env,
            .http = out->http,
            .creds = out->creds,
            .retry = &out->retry,
            .pacing = &out->pacing,
            .run_deadline_ms = opt->run_deadline_ms,
            .item_deadline_ms = opt->item_deadline_ms,
            .max_in_flight = opt->max_in_flight,
        };
        e = aws_client_new(&ao, &out->client);
    }
    if (e != ERR_OK) {
        aws_stack_close(out);
    }
    return e;
}

void aws_stack_close(struct aws_stack *s) {
    aws_client_free(s->client);
    creds_chain_free(s->creds);
    if (!s->http_borrowed) {
        http_client_free(s->http);
    }
    memset(s, 0, sizeof(*s));
}

/* ---- debug call ---- */

static enum err s_read_file(const char *path, struct buf *out) {
    FILE *f = fopen(path, "rb");
    ENSURE(f != NULL, ERR_IO, "cannot open %s", path);
    enum err e = buf_append_stream(out, f);
    fclose(f);
    return e;
}

static void s_print_result(const struct aws_request *r) {
    if (r->result == ERR_OK) {
        printf("status=%ld\n", r->status);
        fwrite(buf_cstr(&r->body_out), 1, r->body_out.len, stdout);
        if (r->body_out.len && r->body_out.data[r->body_out.len - 1] != '\n') {
            putchar('\n');
        }
        return;
    }
    printf(
      "error=%s code=%s status=%ld request_id=%s attempts=%u\n",
      err_name(r->result),
      r->error.code[0] ? r->error.code : "-",
      r->status,
      r->error.request_id[0] ? r->error.request_id : "-",
      r->attempts);
    if (r->error.message[0]) {
        printf("message=%s\n", r->error.message);
    }
    /* The raw error document, for the developer reading it (error bodies carry no credentials). */
    if (r->body_out.len) {
        fprintf(stderr, "%.*s\n", (int) (r->body_out.len > 2000 ? 2000 : r->body_out.len), buf_cstr(&r->body_out));
    }
}

/* Query services: key=value arguments become the request's parameters. */
static enum err s_query_args(struct arena *arena, struct query_params *q, int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        struct span k, v;
        if (!span_split(span_from_cstr(argv[i]), '=', &k, &v)) {
            FAIL(ERR_INVALID, "debug call: expected key=value, got '%s'", argv[i]);
        }
        query_add(q, arena_span_cstr(arena, k), v);
    }
    return ERR_OK;
}

/* s3 METHOD /bucket[/key] [query=..] [body=..|@file] [header=Name:Value]. */
static enum err s_s3_args(struct arena *arena, struct aws_request *r, struct buf *body, int argc, char **argv) {
    r->method = argv[1];
    r->operation = arena_printf(arena, "S3.%s", argv[1]);
    struct span path = argc > 2 ? span_from_cstr(argv[2]) : SPAN_LIT("/");
    if (span_starts_with(path, SPAN_LIT("/"))) {
        path = span_sub(path, 1, path.n);
    }
    struct span bucket, key;
    span_split(path, '/', &bucket, &key);
    r->bucket = bucket.n ? arena_span_cstr(arena, bucket) : NULL;
    r->key = key;
    for (int i = 3; i < argc; i++) {
        struct span a = span_from_cstr(argv[i]), k, v;
        span_split(a, '=', &k, &v);
        if (span_eq_cstr(k, "query")) {
            r->query = v;
        } else if (span_eq_cstr(k, "body") && span_starts_with(v, SPAN_LIT("@"))) {
            TRY(s_read_file(arena_span_cstr(arena, span_sub(v, 1, v.n)), body));
            r->body = buf_span(body);
        } else if (span_eq_cstr(k, "body")) {
            r->body = v;
        } else if (span_eq_cstr(k, "header") && r->nheaders < AWS_MAX_EXTRA_HEADERS) {
            struct span hn, hv;
            span_split(v, ':', &hn, &hv);
            r->headers[r->nheaders].name = arena_span_cstr(arena, span_trim(hn));
            r->headers[r->nheaders].value = arena_span_cstr(arena, span_trim(hv));
            r->nheaders++;
        } else {
            FAIL(ERR_INVALID, "debug call: unknown s3 argument '%s'", argv[i]);
        }
    }
    return ERR_OK;
}

enum err aws_debug_request(
  struct arena *arena,
  struct query_params *q,
  struct buf *body,
  const char *region,
  int argc,
  char **argv,
  struct aws_request *r) {
    ENSURE(argc >= 2, ERR_INVALID, "usage: smartvault debug call SERVICE OPERATION [args...]");
    enum endpoint_service svc;
    ENSURE(
      endpoint_service_parse(span_from_cstr(argv[0]), &svc), ERR_INVALID, "debug call: unknown service '%s'", argv[0]);
    ENSURE(region != NULL && *region != '\0', ERR_CONFIG, "AWS_REGION: not set");
    *r = (struct aws_request){ .service = svc, .region = region, .operation = argv[1] };
    if (aws_query_api_version(svc) != NULL) {
        r->params = q;
        return s_query_args(arena, q, argc, argv);
    }
    if (svc == ENDPOINT_DYNAMODB) {
        r->target = arena_printf(arena, "DynamoDB_20120810.%s", argv[1]);
        r->body = span_from_cstr(argc > 2 ? argv[2] : "{}");
    } else if (svc == ENDPOINT_S3) {
        return s_s3_args(arena, r, body, argc, argv);
    }
    return ERR_OK;
}

enum err aws_debug_call(const struct aws_stack_options *so, int argc, char **argv) {
    struct arena arena;
    arena_init(&arena, 0);
    struct query_params q;
    query_init(&q, &arena);
    struct buf body;
    buf_init(&body, BUF_MAX_REQUEST);
    struct aws_request r;
    struct aws_stack st;
    enum err e = aws_debug_request(&arena, &q, &body, so->region, argc, argv, &r);
    if (e == ERR_OK && (e = aws_stack_open(so, &st)) == ERR_OK) {
        e = aws_run_one(st.client, &r);
        if (e != ERR_CREDS && e != ERR_CONFIG) {
            s_print_result(&r);
        } else {
            fprintf(stderr, "smartvault: %s\n", creds_chain_failure(st.creds));
        }
        aws_request_free(&r);
        aws_stack_close(&st);
    }
    buf_free(&body);
    arena_free(&arena);
    return e;
}
