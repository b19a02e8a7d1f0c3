/*
 * query.c - building Query-protocol parameter lists. Encoding is done by aws/call with codec/uri's form
 * encoder, so this file only collects pairs.
 */
#include "aws/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void query_init(struct query_params *q, struct arena *arena) {
    memset(q, 0, sizeof(*q));
    q->arena = arena;
}

void query_add(struct query_params *q, const char *name, struct span value) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        if (cap > QUERY_MAX_PARAMS) {
            FATAL("too many query parameters");
        }
        struct query_param *items = ARENA_NEW_ARRAY(q->arena, struct query_param, cap);
        if (q->n) {
            memcpy(items, q->items, q->n * sizeof(*items));
        }
        q->items = items;
        q->cap = cap;
    }
    q->items[q->n].name = arena_span_dup(q->arena, span_from_cstr(name));
    q->items[q->n].value = arena_span_dup(q->arena, value);
    q->n++;
}

void query_add_cstr(struct query_params *q, const char *name, const char *value) {
    query_add(q, name, span_from_cstr(value));
}

void query_add_u64(struct query_params *q, const char *name, uint64_t value) {
    char v[24];
    snprintf(v, sizeof(v), "%llu", (unsigned long long) value);
    query_add(q, name, span_from_cstr(v));
}

void query_addf(struct query_params *q, struct span value, const char *name_fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, name_fmt);
    int n = vsnprintf(name, sizeof(name), name_fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof(name)) {
        FATAL("query parameter name too long");
    }
    query_add(q, name, value);
}

struct span query_get(const struct query_params *q, const char *name) {
    for (size_t i = 0; i < q->n; i++) {
        if (span_eq_cstr(q->items[i].name, name)) {
            return q->items[i].value;
        }
    }
    return SPAN_NULL;
}
