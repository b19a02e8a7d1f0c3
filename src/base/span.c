/*
 * span.c - string view helpers. Nothing here allocates.
 */
#include "base/span.h"

#include <string.h>

struct span span_from_cstr(const char *s) {
    if (s == NULL) {
        return SPAN_NULL;
    }
    return (struct span){ s, strlen(s) };
}

bool span_eq(struct span a, struct span b) {
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool span_eq_cstr(struct span a, const char *b) {
    return span_eq(a, span_from_cstr(b));
}

static char s_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

bool span_eq_nocase(struct span a, struct span b) {
    if (a.n != b.n) {
        return false;
    }
    for (size_t i = 0; i < a.n; i++) {
        if (s_lower(a.p[i]) != s_lower(b.p[i])) {
            return false;
        }
    }
    return true;
}

bool span_starts_with(struct span s, struct span prefix) {
    return s.n >= prefix.n && (prefix.n == 0 || memcmp(s.p, prefix.p, prefix.n) == 0);
}

bool span_ends_with(struct span s, struct span suffix) {
    return s.n >= suffix.n && (suffix.n == 0 || memcmp(s.p + s.n - suffix.n, suffix.p, suffix.n) == 0);
}

int span_cmp(struct span a, struct span b) {
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0) {
        return c;
    }
    return (a.n > b.n) - (a.n < b.n);
}

static bool s_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct span span_trim(struct span s) {
    while (s.n > 0 && s_is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && s_is_space(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

long span_index(struct span s, char c) {
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == c) {
            return (long) i;
        }
    }
    return -1;
}

bool span_split(struct span s, char sep, struct span *head, struct span *tail) {
    long i = span_index(s, sep);
    if (i < 0) {
        *head = s;
        *tail = (struct span){ s.p + s.n, 0 };
        return false;
    }
    *head = (struct span){ s.p, (size_t) i };
    *tail = (struct span){ s.p + i + 1, s.n - (size_t) i - 1 };
    return true;
}

struct span span_sub(struct span s, size_t off, size_t len) {
    if (off > s.n) {
        off = s.n;
    }
    if (len > s.n - off) {
        len = s.n - off;
    }
    return (struct span){ s.p + off, len };
}

enum err span_to_u64(struct span s, uint64_t max, uint64_t *out) {
    ENSURE(s.n > 0, ERR_PARSE, "empty number");
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        ENSURE(c >= '0' && c <= '9', ERR_PARSE, "not a number");
        uint64_t d = (uint64_t) (c - '0');
        ENSURE(v <= (UINT64_MAX - d) / 10, ERR_PARSE, "number overflows");
        v = v * 10 + d;
    }
    ENSURE(v <= max, ERR_LIMIT, "number too large");
    *out = v;
    return ERR_OK;
}

enum err span_to_i64(struct span s, int64_t min, int64_t max, int64_t *out) {
    bool neg = s.n > 0 && s.p[0] == '-';
    uint64_t mag = 0;
    TRY(span_to_u64(neg ? span_sub(s, 1, s.n) : s, (uint64_t) INT64_MAX + (neg ? 1u : 0u), &mag));
    int64_t v = neg ? (mag == (uint64_t) INT64_MAX + 1u ? INT64_MIN : -(int64_t) mag) : (int64_t) mag;
    ENSURE(v >= min && v <= max, ERR_LIMIT, "number out of range");
    *out = v;
    return ERR_OK;
}

enum err span_copy_cstr(struct span s, char *out, size_t cap) {
    if (cap == 0) {
        FAIL(ERR_LIMIT, "no room");
    }
    if (s.n >= cap) {
        out[0] = '\0';
        FAIL(ERR_LIMIT, "string longer than %zu bytes", cap - 1);
    }
    if (s.n) {
        memcpy(out, s.p, s.n);
    }
    out[s.n] = '\0';
    return ERR_OK;
}
