/*
 * fuzz_aws_error.c - libFuzzer target for aws/error (and, through it, the XML and JSON readers).
 *
 * The input is a tiny HTTP-like response so seeds can be written by hand:
 *
 *   404                              <- status line (decimal)
 *   x-amzn-RequestId: abc            <- any of the three headers aws_error_parse reads
 *   x-amz-request-id: def
 *   x-amzn-ErrorType: Foo
 *                                    <- empty line
 *   <Error>...</Error>               <- body
 *
 * Input without that framing is taken whole as the body of a 400. Checked: the return value is one of the four
 * classes and agrees with the struct, every field is terminated and within its maximum, and the scratch arena is
 * left as it was.
 */
// fuzz-sources: src/aws/error.c src/codec/xml.c src/codec/json.c src/base/*.c
#include "aws/error.h"
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_assert(int cond) {
    if (!cond) {
        abort();
    }
}

static struct aws_error_response s_frame(struct span in) {
    struct aws_error_response r = { .http_status = 400, .body = in };
    struct span line, rest;
    if (!span_split(in, '\n', &line, &rest)) {
        return r;
    }
    int64_t status = 0;
    if (span_to_i64(span_trim(line), -1000, 1000, &status) != ERR_OK) {
        return r;
    }
    r.http_status = (int) status;
    while (span_split(rest, '\n', &line, &rest)) {
        line = span_trim(line);
        if (line.n == 0) {
            break;
        }
        struct span name, value;
        if (!span_split(line, ':', &name, &value)) {
            continue;
        }
        value = span_trim(value);
        if (span_eq_nocase(name, SPAN_LIT("x-amzn-RequestId"))) {
            r.amzn_request_id = value;
        } else if (span_eq_nocase(name, SPAN_LIT("x-amz-request-id"))) {
            r.amz_request_id = value;
        } else if (span_eq_nocase(name, SPAN_LIT("x-amzn-ErrorType"))) {
            r.amzn_error_type = value;
        }
    }
    r.body = rest;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct aws_error_response resp = s_frame((struct span){ (const char *) data, size });
    struct arena a;
    arena_init(&a, 0);
    size_t before = a.used_total;
    struct aws_error e;
    enum err got = aws_error_parse(&a, &resp, &e);
    s_assert(a.used_total == before);
    s_assert(got == ERR_OK || got == ERR_AUTH || got == ERR_AWS || got == ERR_HTTP);
    s_assert(memchr(e.code, '\0', sizeof(e.code)) != NULL);
    s_assert(memchr(e.message, '\0', sizeof(e.message)) != NULL);
    s_assert(memchr(e.request_id, '\0', sizeof(e.request_id)) != NULL);
    s_assert((got == ERR_OK) == (e.code[0] == '\0'));
    s_assert(e.http_status == resp.http_status);
    s_assert(got != ERR_AUTH || aws_error_is_auth(aws_error_code(&e)));
    s_assert(got != ERR_HTTP || e.code_from_status);
    s_assert(got != ERR_OK || (resp.http_status >= 200 && resp.http_status < 300));
    arena_free(&a);
    return 0;
}
