/*
 * fuzz_json.c - libFuzzer target for codec/json: the reader, and the writer through a round trip.
 *
 * Whatever parses must re-serialise through the writer without error, parse again, compare equal to the first
 * tree (json_equal), and serialise to the same bytes a second time. Strings in the tree must be valid UTF-8, and
 * number conversions must never misbehave. A second parse with tight limits reaches the limit paths with small
 * inputs.
 */
// fuzz-sources: src/codec/json.c src/base/*.c
#include "base/arena.h"
#include "base/buf.h"
#include "codec/json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_assert(int cond) {
    if (!cond) {
        abort();
    }
}

static void s_check_utf8(struct span s) {
    const unsigned char *p = (const unsigned char *) s.p;
    size_t i = 0;
    while (i < s.n) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        s_assert(len != 0 && i + len <= s.n);
        for (size_t k = 1; k < len; k++) {
            s_assert((p[i + k] & 0xc0) == 0x80);
        }
        i += len;
    }
}

/* Walks the tree without recursion, checking strings, counts and conversions. */
static void s_check_tree(const struct json_value *root) {
    const struct json_value *stack[JSON_MAX_DEPTH_DEFAULT + 2];
    size_t depth = 0;
    const struct json_value *v = root;
    for (;;) {
        s_check_utf8(v->key);
        if (v->type == JSON_STRING) {
            s_check_utf8(v->str);
        }
        if (v->type == JSON_NUMBER) {
            int64_t i;
            uint64_t u;
            double d;
            s_assert(v->str.n > 0 && v->str.n <= JSON_MAX_NUMBER_BYTES);
            (void) (json_as_i64(v, &i) == ERR_OK);
            (void) (json_as_u64(v, &u) == ERR_OK);
            if (json_as_double(v, &d) == ERR_OK) {
                s_assert(isfinite(d));
            }
        }
        if ((v->type == JSON_ARRAY || v->type == JSON_OBJECT) && v->first) {
            size_t count = 0;
            for (const struct json_value *c = v->first; c; c = c->next) {
                count++;
            }
            s_assert(count == v->count);
            if (v->type == JSON_OBJECT) {
                s_assert(json_get_span(v, v->first->key) == v->first);
            }
            s_assert(depth < JSON_MAX_DEPTH_DEFAULT + 1);
            stack[depth++] = v;
            v = v->first;
            continue;
        }
        while (v->next == NULL) {
            if (depth == 0) {
                return;
            }
            v = stack[--depth];
        }
        v = v->next;
    }
}

static void s_render(const struct json_value *v, struct buf *out) {
    struct json_writer w;
    json_writer_init(&w, out);
    json_write_value(&w, v);
    s_assert(json_writer_finish(&w) == ERR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct span doc = { (const char *) data, size };
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *one = NULL;
    enum err e = json_parse(&a, doc, NULL, &one);
    s_assert(e == ERR_OK || e == ERR_PARSE || e == ERR_LIMIT);
    s_assert((e == ERR_OK) == (one != NULL));
    if (one) {
        s_check_tree(one);
        struct buf first, second;
        buf_init(&first, BUF_MAX_RESPONSE);
        buf_init(&second, BUF_MAX_RESPONSE);
        s_render(one, &first);
        const struct json_value *two = NULL;
        s_assert(json_parse(&a, buf_span(&first), NULL, &two) == ERR_OK);
        s_assert(json_equal(one, two));
        s_render(two, &second);
        s_assert(span_eq(buf_span(&first), buf_span(&second)));
        buf_free(&first);
        buf_free(&second);
    }
    static const struct json_limits tight = { .max_doc_bytes = 4096, .max_depth = 3, .max_nodes = 16 };
    const struct json_value *small = NULL;
    e = json_parse(&a, doc, &tight, &small);
    s_assert(e == ERR_OK || e == ERR_PARSE || e == ERR_LIMIT);
    arena_free(&a);
    return 0;
}
