/*
 * query.h - parameter lists for the AWS Query protocol (EC2, SNS, CloudWatch, STS).
 *
 * A Query request is a flat list of name=value pairs ("Action", "Version", "TagSpecification.1.Tag.2.Key", ...)
 * sent as an application/x-www-form-urlencoded body. svc/ modules build the list; aws/call encodes and signs
 * it. Names and values are copied into the caller's arena.
 */
#ifndef SV_AWS_QUERY_H
#define SV_AWS_QUERY_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/span.h"

#include <stdint.h>

/* No AWS Query request we make comes near this; more is a bug (e.g. an unbounded tag list). */
#define QUERY_MAX_PARAMS 4096

struct query_param {
    struct span name;
    struct span value;
};

struct query_params {
    struct arena *arena;
    struct query_param *items;
    size_t n;
    size_t cap;
};

void query_init(struct query_params *q, struct arena *arena);
void query_add(struct query_params *q, const char *name, struct span value);
void query_add_cstr(struct query_params *q, const char *name, const char *value);
void query_add_u64(struct query_params *q, const char *name, uint64_t value);
/* The name is a printf format: query_addf(q, SPAN_LIT("x"), "Filter.%d.Value.%d", 1, 2). */
void query_addf(struct query_params *q, struct span value, const char *name_fmt, ...) SV_PRINTF(3, 4);
/* The value of the first parameter with this name, or an empty span. */
struct span query_get(const struct query_params *q, const char *name);

#endif
