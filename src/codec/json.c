/*
 * json.c - RFC 8259 JSON: a bounded reader that builds a read-only tree in an arena, and a compact writer.
 *
 * The reader is one pass with an explicit stack of open containers (never recursion), so neither depth nor size
 * can exhaust the C stack; every count it keeps has a named maximum (json.h). It is strict on purpose: what it
 * reads comes from AWS endpoints, the container credentials agent and IMDS, all of which send plain RFC 8259,
 * so anything else is a sign of a truncated or foreign body and is better refused than guessed at.
 *
 * The writer is for requests (DynamoDB JSON 1.0), EMF log lines and test fixtures. It tracks just enough state
 * (one flag pair per open container) to place commas and colons and to catch misuse; the first problem is
 * sticky, so a builder makes one check at the end.
 *
 * What it does not do: comments, trailing commas, single quotes, NaN/Infinity, big-number arithmetic (numbers
 * keep their lexeme; conversions are range-checked), pretty printing, or a streaming interface.
 */
#include "codec/json.h"

#include "base/utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct json_limits json_limits_default = {
    .max_doc_bytes = JSON_MAX_DOC_BYTES,
    .max_depth = JSON_MAX_DEPTH_DEFAULT,
    .max_nodes = JSON_MAX_NODES_DEFAULT,
};

static const struct span s_empty = { "", 0 };

#define JSON_FAIL_AT(ps, code, what) FAIL((code), "json: %s at byte %zu", (what), (ps)->pos)

/* One open array or object. */
struct s_frame {
    struct json_value *v;
    struct json_value *last;
};

struct s_parser {
    struct arena *arena;
    const char *p;
    size_t n;
    size_t pos;
    struct json_limits lim;
    size_t nodes;
    struct s_frame *stack;
    size_t depth;
    struct span key; /* the member name read for the value about to be parsed */
    struct json_value *root;
};

/* ---- reader ----------------------------------------------------------------------------------------------- */

/* RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void s_skip_ws(struct s_parser *ps) {
    while (ps->pos < ps->n) {
        char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        ps->pos++;
    }
}

static bool s_at(const struct s_parser *ps, char c) {
    return ps->pos < ps->n && ps->p[ps->pos] == c;
}

/* Reads 4 hex digits at p[i..]; -1 if they are not there. */
static long s_hex4(const struct s_parser *ps, size_t i) {
    if (i > ps->n || ps->n - i < 4) {
        return -1;
    }
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        char c = ps->p[i + k];
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/*
 * Reads the string at pos (at its opening quote) and decodes it into the arena. The decoded form is never longer
 * than the raw one (every escape is at least as long as what it stands for), so one allocation of the raw length
 * is enough.
 */
/* complexity: one branch per escape of RFC 8259 §7 (and surrogate pairs); the table of escapes reads as one */
static enum err s_read_string(struct s_parser *ps, struct span *out) {
    size_t start = ++ps->pos;
    size_t end = start;
    while (end < ps->n && ps->p[end] != '"') {
        end += ps->p[end] == '\\' ? 2 : 1;
    }
    if (end >= ps->n) {
        JSON_FAIL_AT(ps, ERR_PARSE, "unterminated string");
    }
    char *dst = arena_alloc(ps->arena, end - start + 1);
    size_t len = 0;
    while (ps->pos < end) {
        unsigned char c = (unsigned char) ps->p[ps->pos];
        if (c < 0x20) {
            /* §7: "All Unicode characters may be placed within the quotation marks, except for the characters
             * that MUST be escaped: quotation mark, reverse solidus, and the control characters (U+0000 through
             * U+001F)." */
            JSON_FAIL_AT(ps, ERR_PARSE, "unescaped control character in string");
        }
        if (c >= 0x80) {
            size_t ulen = utf8_decode((const unsigned char *) ps->p + ps->pos, end - ps->pos, NULL);
            if (ulen == 0) {
                JSON_FAIL_AT(ps, ERR_PARSE, "invalid UTF-8 in string");
            }
            memcpy(dst + len, ps->p + ps->pos, ulen);
            len += ulen;
            ps->pos += ulen;
            continue;
        }
        if (c != '\\') {
            dst[len++] = (char) c;
            ps->pos++;
            continue;
        }
        char e = ps->p[ps->pos + 1];
        static const char from[] = "\"\\/bfnrt";
        static const char to[] = "\"\\/\b\f\n\r\t";
        const char *hit = e != '\0' ? strchr(from, e) : NULL;
        if (hit) {
            dst[len++] = to[hit - from];
            ps->pos += 2;
            continue;
        }
        if (e != 'u') {
            JSON_FAIL_AT(ps, ERR_PARSE, "unknown escape in string");
        }
        long hi = s_hex4(ps, ps->pos + 2);
        if (hi < 0 || ps->pos + 6 > end) {
            JSON_FAIL_AT(ps, ERR_PARSE, "bad \\u escape");
        }
        uint32_t cp = (uint32_t) hi;
        size_t used = 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            JSON_FAIL_AT(ps, ERR_PARSE, "lone low surrogate in \\u escape");
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            /* §7: a character outside the BMP is "a 12-character sequence, encoding the UTF-16 surrogate pair". */
            long lo = -1;
            if (ps->pos + 12 <= end && ps->p[ps->pos + 6] == '\\' && ps->p[ps->pos + 7] == 'u') {
                lo = s_hex4(ps, ps->pos + 8);
            }
            if (lo < 0xdc00 || lo > 0xdfff) {
                JSON_FAIL_AT(ps, ERR_PARSE, "lone high surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t) lo - 0xdc00);
            used = 12;
        }
        len += utf8_encode(cp, dst + len);
        ps->pos += used;
    }
    ps->pos = end + 1;
    *out = (struct span){ dst, len };
    return ERR_OK;
}

static bool s_digit(const struct s_parser *ps) {
    return ps->pos < ps->n && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9';
}

/* §6: number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static enum err s_read_number(struct s_parser *ps, struct span *out) {
    size_t start = ps->pos;
    if (s_at(ps, '-')) {
        ps->pos++;
    }
    if (s_at(ps, '0')) {
        ps->pos++;
    } else if (s_digit(ps)) {
        while (s_digit(ps)) {
            ps->pos++;
        }
    } else {
        JSON_FAIL_AT(ps, ERR_PARSE, "expected a digit");
    }
    if (s_at(ps, '.')) {
        ps->pos++;
        if (!s_digit(ps)) {
            JSON_FAIL_AT(ps, ERR_PARSE, "expected a digit after '.'");
        }
        while (s_digit(ps)) {
            ps->pos++;
        }
    }
    if (s_at(ps, 'e') || s_at(ps, 'E')) {
        ps->pos++;
        if (s_at(ps, '+') || s_at(ps, '-')) {
            ps->pos++;
        }
        if (!s_digit(ps)) {
            JSON_FAIL_AT(ps, ERR_PARSE, "expected a digit in the exponent");
        }
        while (s_digit(ps)) {
            ps->pos++;
        }
    }
    if (ps->pos - start > JSON_MAX_NUMBER_BYTES) {
        JSON_FAIL_AT(ps, ERR_LIMIT, "number longer than JSON_MAX_NUMBER_BYTES");
    }
    *out = arena_span_dup(ps->arena, (struct span){ ps->p + start, ps->pos - start });
    return ERR_OK;
}

static enum err s_read_literal(struct s_parser *ps, const char *lit) {
    size_t len = strlen(lit);
    if (ps->n - ps->pos < len || memcmp(ps->p + ps->pos, lit, len) != 0) {
        JSON_FAIL_AT(ps, ERR_PARSE, "unexpected character");
    }
    ps->pos += len;
    return ERR_OK;
}

/* A new value, linked under the innermost open container (with the pending key if that is an object). */
static enum err s_new_value(struct s_parser *ps, enum json_type type, struct json_value **out) {
    if (ps->nodes >= ps->lim.max_nodes) {
        JSON_FAIL_AT(ps, ERR_LIMIT, "more values than the limit");
    }
    ps->nodes++;
    struct json_value *v = ARENA_NEW(ps->arena, struct json_value);
    v->type = type;
    v->str = s_empty;
    v->key = s_empty;
    if (ps->depth > 0) {
        struct s_frame *f = &ps->stack[ps->depth - 1];
        if (f->v->type == JSON_OBJECT) {
            v->key = ps->key;
        }
        if (f->last) {
            f->last->next = v;
        } else {
            f->v->first = v;
        }
        f->last = v;
        f->v->count++;
    } else {
        ps->root = v;
    }
    *out = v;
    return ERR_OK;
}

/* An object member's name and the ':' after it; pos is at the name's opening quote (after whitespace). */
static enum err s_read_key(struct s_parser *ps) {
    if (!s_at(ps, '"')) {
        JSON_FAIL_AT(ps, ERR_PARSE, "expected a member name");
    }
    TRY(s_read_string(ps, &ps->key));
    s_skip_ws(ps);
    if (!s_at(ps, ':')) {
        JSON_FAIL_AT(ps, ERR_PARSE, "expected ':' after a member name");
    }
    ps->pos++;
    return ERR_OK;
}

/*
 * Reads one value at pos. A scalar is complete on return (*opened false); for '[' or '{' the container is pushed
 * and *opened says so, unless it was empty ("[]", "{}"), which is also complete.
 */
static enum err s_read_value(struct s_parser *ps, bool *opened) {
    *opened = false;
    s_skip_ws(ps);
    if (ps->pos >= ps->n) {
        JSON_FAIL_AT(ps, ERR_PARSE, "expected a value");
    }
    struct json_value *v = NULL;
    char c = ps->p[ps->pos];
    switch (c) {
        case '{':
        case '[': {
            if (ps->depth >= ps->lim.max_depth) {
                JSON_FAIL_AT(ps, ERR_LIMIT, "nested deeper than the limit");
            }
            TRY(s_new_value(ps, c == '{' ? JSON_OBJECT : JSON_ARRAY, &v));
            ps->pos++;
            s_skip_ws(ps);
            if (s_at(ps, c == '{' ? '}' : ']')) {
                ps->pos++;
                return ERR_OK;
            }
            ps->stack[ps->depth++] = (struct s_frame){ v, NULL };
            *opened = true;
            if (c == '{') {
                TRY(s_read_key(ps));
            }
            return ERR_OK;
        }
        case '"':
            TRY(s_new_value(ps, JSON_STRING, &v));
            return s_read_string(ps, &v->str);
        case 't':
        case 'f':
            TRY(s_new_value(ps, JSON_BOOL, &v));
            v->boolean = c == 't';
            return s_read_literal(ps, c == 't' ? "true" : "false");
        case 'n':
            TRY(s_new_value(ps, JSON_NULL, &v));
            return s_read_literal(ps, "null");
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                TRY(s_new_value(ps, JSON_NUMBER, &v));
                return s_read_number(ps, &v->str);
            }
            JSON_FAIL_AT(ps, ERR_PARSE, "unexpected character");
    }
}

/*
 * After a complete value: close every container that ends here, and stop at a ',' (the next value is due, with
 * its key read for objects) or when the top-level value is complete (*done).
 */
static enum err s_after_value(struct s_parser *ps, bool *done) {
    *done = false;
    for (;;) {
        if (ps->depth == 0) {
            *done = true;
            return ERR_OK;
        }
        s_skip_ws(ps);
        if (ps->pos >= ps->n) {
            JSON_FAIL_AT(ps, ERR_PARSE, "document ends inside an array or object");
        }
        bool in_object = ps->stack[ps->depth - 1].v->type == JSON_OBJECT;
        char c = ps->p[ps->pos];
        if (c == ',') {
            ps->pos++;
            if (in_object) {
                s_skip_ws(ps);
                TRY(s_read_key(ps));
            }
            return ERR_OK;
        }
        if (c != (in_object ? '}' : ']')) {
            JSON_FAIL_AT(ps, ERR_PARSE, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        ps->pos++;
        ps->depth--;
    }
}

static enum err s_parse(struct s_parser *ps, const struct json_value **root) {
    if (ps->n >= 3 && memcmp(ps->p, "\xef\xbb\xbf", 3) == 0) {
        ps->pos = 3;
    }
    bool done = false;
    while (!done) {
        bool opened = false;
        TRY(s_read_value(ps, &opened));
        if (!opened) {
            TRY(s_after_value(ps, &done));
        }
    }
    s_skip_ws(ps);
    if (ps->pos != ps->n) {
        JSON_FAIL_AT(ps, ERR_PARSE, "text after the top-level value");
    }
    *root = ps->root;
    return ERR_OK;
}

static size_t s_limit(size_t want, size_t dflt, size_t ceiling) {
    if (want == 0) {
        return dflt;
    }
    return want < ceiling ? want : ceiling;
}

enum err
json_parse(struct arena *arena, struct span doc, const struct json_limits *limits, const struct json_value **root) {
    const struct json_limits *want = limits ? limits : &json_limits_default;
    struct s_parser ps = {
        .arena = arena,
        .p = doc.p ? doc.p : "",
        .n = doc.p ? doc.n : 0, /* a NULL span is empty, whatever its length says */
        .lim = {
            .max_doc_bytes = s_limit(want->max_doc_bytes, JSON_MAX_DOC_BYTES, JSON_MAX_DOC_BYTES),
            .max_depth = s_limit(want->max_depth, JSON_MAX_DEPTH_DEFAULT, JSON_MAX_DEPTH_CEILING),
            .max_nodes = s_limit(want->max_nodes, JSON_MAX_NODES_DEFAULT, SIZE_MAX),
        },
        .key = s_empty,
    };
    ENSURE(doc.n <= ps.lim.max_doc_bytes, ERR_LIMIT, "json: document of %zu bytes is over the limit", doc.n);
    ps.stack = ARENA_NEW_ARRAY(arena, struct s_frame, ps.lim.max_depth);
    return s_parse(&ps, root);
}

/* ---- lookups ---------------------------------------------------------------------------------------------- */

const struct json_value *json_get_span(const struct json_value *obj, struct span key) {
    if (obj == NULL || obj->type != JSON_OBJECT) {
        return NULL;
    }
    for (const struct json_value *m = obj->first; m; m = m->next) {
        if (span_eq(m->key, key)) {
            return m;
        }
    }
    return NULL;
}

const struct json_value *json_get(const struct json_value *obj, const char *key) {
    return key ? json_get_span(obj, span_from_cstr(key)) : NULL;
}

const struct json_value *json_first(const struct json_value *container) {
    if (container == NULL || (container->type != JSON_ARRAY && container->type != JSON_OBJECT)) {
        return NULL;
    }
    return container->first;
}

const struct json_value *json_at(const struct json_value *container, size_t i) {
    const struct json_value *v = json_first(container);
    while (v && i > 0) {
        v = v->next;
        i--;
    }
    return v;
}

struct span json_string(const struct json_value *v) {
    return v && v->type == JSON_STRING ? v->str : s_empty;
}

struct span json_get_string(const struct json_value *obj, const char *key) {
    return json_string(json_get(obj, key));
}

bool json_is(const struct json_value *v, enum json_type type) {
    return v != NULL && v->type == type;
}

/* ---- numbers ---------------------------------------------------------------------------------------------- */

/* The magnitude of an integer lexeme (the reader has checked the grammar), saturating past UINT64_MAX. */
static enum err s_integer(const struct json_value *v, bool *neg, uint64_t *mag, bool *overflow) {
    ENSURE(v != NULL && v->type == JSON_NUMBER, ERR_INVALID, "json: not a number");
    struct span s = v->str;
    ENSURE(
      span_index(s, '.') < 0 && span_index(s, 'e') < 0 && span_index(s, 'E') < 0,
      ERR_PARSE,
      "json: %.*s is not an integer",
      SPAN_FMT(s));
    *neg = s.n > 0 && s.p[0] == '-';
    *mag = 0;
    *overflow = false;
    for (size_t i = *neg ? 1 : 0; i < s.n; i++) {
        uint64_t d = (uint64_t) (s.p[i] - '0');
        ENSURE(d <= 9, ERR_PARSE, "json: %.*s is not an integer", SPAN_FMT(s));
        if (*mag > (UINT64_MAX - d) / 10) {
            *overflow = true;
            continue;
        }
        *mag = *mag * 10 + d;
    }
    return ERR_OK;
}

enum err json_as_i64(const struct json_value *v, int64_t *out) {
    bool neg, overflow;
    uint64_t mag;
    TRY(s_integer(v, &neg, &mag, &overflow));
    uint64_t max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    ENSURE(!overflow && mag <= max, ERR_LIMIT, "json: %.*s is outside int64", SPAN_FMT(v->str));
    if (neg) {
        *out = mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag;
    } else {
        *out = (int64_t) mag;
    }
    return ERR_OK;
}

enum err json_as_u64(const struct json_value *v, uint64_t *out) {
    bool neg, overflow;
    uint64_t mag;
    TRY(s_integer(v, &neg, &mag, &overflow));
    ENSURE(!overflow && (!neg || mag == 0), ERR_LIMIT, "json: %.*s is outside uint64", SPAN_FMT(v->str));
    *out = mag;
    return ERR_OK;
}

enum err json_as_double(const struct json_value *v, double *out) {
    ENSURE(v != NULL && v->type == JSON_NUMBER, ERR_INVALID, "json: not a number");
    /* The reader bounds lexemes to JSON_MAX_NUMBER_BYTES; strtod needs a terminated copy. SmartVault never calls
     * setlocale, so strtod reads '.' as the decimal point. */
    char tmp[JSON_MAX_NUMBER_BYTES + 1];
    TRY(span_copy_cstr(v->str, tmp, sizeof(tmp)));
    errno = 0;
    char *end = NULL;
    double d = strtod(tmp, &end);
    ENSURE(end == tmp + v->str.n, ERR_PARSE, "json: %s is not a number", tmp);
    ENSURE(!isinf(d), ERR_LIMIT, "json: %s overflows a double", tmp);
    *out = d;
    return ERR_OK;
}

bool json_equal(const struct json_value *a, const struct json_value *b) {
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->type != b->type) {
        return false;
    }
    switch (a->type) {
        case JSON_NULL:
            return true;
        case JSON_BOOL:
            return a->boolean == b->boolean;
        case JSON_NUMBER:
        case JSON_STRING:
            return span_eq(a->str, b->str);
        case JSON_ARRAY:
        case JSON_OBJECT:
            break;
    }
    if (a->count != b->count) {
        return false;
    }
    const struct json_value *x = a->first;
    const struct json_value *y = b->first;
    for (; x && y; x = x->next, y = y->next) {
        if (!span_eq(x->key, y->key) || !json_equal(x, y)) {
            return false;
        }
    }
    return x == NULL && y == NULL;
}

/* ---- writer ----------------------------------------------------------------------------------------------- */

void json_writer_init(struct json_writer *w, struct buf *out) {
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static void s_misuse(struct json_writer *w, const char *what) {
    if (w->err == ERR_OK) {
        w->err = err_raise(ERR_INVALID, __FILE__, __LINE__, "json writer: %s", what);
    }
}

/* Checks that an item (a key, or a value) may come next, and writes the comma before it if one is due. */
static bool s_begin_item(struct json_writer *w, bool is_key) {
    if (w->err != ERR_OK) {
        return false;
    }
    if (w->depth == 0) {
        if (is_key) {
            s_misuse(w, "key outside an object");
        } else if (w->done) {
            s_misuse(w, "a second top-level value");
        }
        return w->err == ERR_OK;
    }
    if (w->in_object[w->depth] && is_key != w->key_due) {
        s_misuse(w, is_key ? "key where a value is due" : "value where a key is due");
        return false;
    }
    if (!w->in_object[w->depth] && is_key) {
        s_misuse(w, "key inside an array");
        return false;
    }
    if (is_key || !w->in_object[w->depth]) {
        if (w->has_items[w->depth]) {
            buf_append_char(w->out, ',');
        }
        w->has_items[w->depth] = true;
    }
    return true;
}

/* After a complete value: the next item of an object is a key; a finished top-level value ends the writer. */
static void s_end_value(struct json_writer *w) {
    if (w->depth == 0) {
        w->done = true;
    } else {
        w->key_due = w->in_object[w->depth];
    }
}

static void s_open(struct json_writer *w, bool object) {
    if (!s_begin_item(w, false)) {
        return;
    }
    if (w->depth == JSON_WRITER_MAX_DEPTH) {
        w->err = err_raise(ERR_LIMIT, __FILE__, __LINE__, "json writer: nested deeper than JSON_WRITER_MAX_DEPTH");
        return;
    }
    buf_append_char(w->out, object ? '{' : '[');
    w->depth++;
    w->in_object[w->depth] = object;
    w->has_items[w->depth] = false;
    w->key_due = object;
}

static void s_close(struct json_writer *w, bool object) {
    if (w->err != ERR_OK) {
        return;
    }
    if (w->depth == 0 || w->in_object[w->depth] != object) {
        s_misuse(w, object ? "object end without a matching begin" : "array end without a matching begin");
        return;
    }
    if (object && !w->key_due) {
        s_misuse(w, "object ends after a key with no value");
        return;
    }
    buf_append_char(w->out, object ? '}' : ']');
    w->depth--;
    s_end_value(w);
}

void json_write_object_begin(struct json_writer *w) {
    s_open(w, true);
}

void json_write_object_end(struct json_writer *w) {
    s_close(w, true);
}

void json_write_array_begin(struct json_writer *w) {
    s_open(w, false);
}

void json_write_array_end(struct json_writer *w) {
    s_close(w, false);
}

void json_write_key_span(struct json_writer *w, struct span key) {
    if (!s_begin_item(w, true)) {
        return;
    }
    buf_append_json_string(w->out, key);
    buf_append_char(w->out, ':');
    w->key_due = false;
}

void json_write_key(struct json_writer *w, const char *key) {
    json_write_key_span(w, span_from_cstr(key ? key : ""));
}

void json_write_string(struct json_writer *w, struct span s) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_append_json_string(w->out, s);
    s_end_value(w);
}

void json_write_cstr(struct json_writer *w, const char *s) {
    json_write_string(w, span_from_cstr(s ? s : ""));
}

void json_write_i64(struct json_writer *w, int64_t v) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_appendf(w->out, "%" PRId64, v);
    s_end_value(w);
}

void json_write_u64(struct json_writer *w, uint64_t v) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_appendf(w->out, "%" PRIu64, v);
    s_end_value(w);
}

void json_write_double(struct json_writer *w, double v) {
    if (!isfinite(v)) {
        s_misuse(w, "NaN or infinity has no JSON form");
        return;
    }
    if (!s_begin_item(w, false)) {
        return;
    }
    /* The shortest of %.15g..%.17g that reads back exactly: 17 significant digits always do (IEEE 754 binary64),
     * fewer usually do and read better ("0.1", not "0.10000000000000001"). %g never writes "inf" for a finite
     * value, and its "1e+20" and "1e-05" forms are valid JSON numbers. */
    char tmp[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v) {
            break;
        }
    }
    buf_append_cstr(w->out, tmp);
    s_end_value(w);
}

void json_write_bool(struct json_writer *w, bool v) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_append_cstr(w->out, v ? "true" : "false");
    s_end_value(w);
}

void json_write_null(struct json_writer *w) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_append_cstr(w->out, "null");
    s_end_value(w);
}

void json_write_raw(struct json_writer *w, struct span json) {
    if (!s_begin_item(w, false)) {
        return;
    }
    buf_append_span(w->out, json);
    s_end_value(w);
}

void json_write_value(struct json_writer *w, const struct json_value *v) {
    if (w->err != ERR_OK) {
        return;
    }
    if (v == NULL) {
        s_misuse(w, "NULL value");
        return;
    }
    switch (v->type) {
        case JSON_NULL:
            json_write_null(w);
            return;
        case JSON_BOOL:
            json_write_bool(w, v->boolean);
            return;
        case JSON_NUMBER:
            json_write_raw(w, v->str);
            return;
        case JSON_STRING:
            json_write_string(w, v->str);
            return;
        case JSON_ARRAY:
        case JSON_OBJECT:
            break;
    }
    bool object = v->type == JSON_OBJECT;
    s_open(w, object);
    for (const struct json_value *c = v->first; c && w->err == ERR_OK; c = c->next) {
        if (object) {
            json_write_key_span(w, c->key);
        }
        json_write_value(w, c);
    }
    s_close(w, object);
}

enum err json_writer_finish(const struct json_writer *w) {
    TRY(w->err);
    TRY(buf_status(w->out));
    ENSURE(w->depth == 0, ERR_INVALID, "json writer: %zu containers still open", w->depth);
    ENSURE(w->done, ERR_INVALID, "json writer: nothing written");
    return ERR_OK;
}
