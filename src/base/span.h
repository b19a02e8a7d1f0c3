/*
 * span.h - read-only string views: a pointer and a length, never NUL-terminated by contract.
 *
 * Spans point into memory someone else owns (an arena, a response buffer, a literal). They are converted to C
 * strings only at libc/libcurl boundaries (span_dup_cstr into an arena, or a bounded copy).
 */
#ifndef SV_BASE_SPAN_H
#define SV_BASE_SPAN_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
    const char *p;
    size_t n;
};

#define SPAN_LIT(s) ((struct span){ (s), sizeof(s) - 1 })
#define SPAN_NULL ((struct span){ NULL, 0 })
/* printf("%.*s", SPAN_FMT(s)) */
#define SPAN_FMT(s) (int) (s).n, (s).p

struct span span_from_cstr(const char *s);
bool span_eq(struct span a, struct span b);
bool span_eq_cstr(struct span a, const char *b);
/* ASCII case-insensitive equality. */
bool span_eq_nocase(struct span a, struct span b);
bool span_starts_with(struct span s, struct span prefix);
bool span_ends_with(struct span s, struct span suffix);
/* Lexicographic byte comparison: <0, 0, >0. */
int span_cmp(struct span a, struct span b);
/* Strips ASCII spaces and tabs (and CR/LF) at both ends. */
struct span span_trim(struct span s);
/* Returns the index of the first c in s, or -1. */
long span_index(struct span s, char c);
/* Splits s at the first `sep`: *head = before, *tail = after. Returns false (head = s, tail empty) if absent. */
bool span_split(struct span s, char sep, struct span *head, struct span *tail);
struct span span_sub(struct span s, size_t off, size_t len);

/*
 * Parses a whole span as an unsigned decimal integer (digits only, no sign, no spaces, at most `max`).
 * ERR_PARSE if empty, non-digit or overflow; ERR_LIMIT if greater than max.
 */
enum err span_to_u64(struct span s, uint64_t max, uint64_t *out) SV_MUST_CHECK;
/* Same for an optional leading '-' and the range [min, max]. */
enum err span_to_i64(struct span s, int64_t min, int64_t max, int64_t *out) SV_MUST_CHECK;

/* Copies s into out (capacity cap, including NUL). ERR_LIMIT if it does not fit; out is always terminated. */
enum err span_copy_cstr(struct span s, char *out, size_t cap) SV_MUST_CHECK;

#endif
