/*
 * json.h - a bounded JSON reader (RFC 8259) into an arena tree, and a JSON writer over struct buf.
 *
 * Reading, e.g. a container credentials document:
 *
 *   const struct json_value *doc;
 *   TRY(json_parse(arena, body, NULL, &doc));
 *   struct span key_id = json_get_string(doc, "AccessKeyId");   // empty if missing or not a string
 *   for (const struct json_value *it = json_first(json_get(doc, "Items")); it; it = it->next) { ... }
 *
 * The reader accepts exactly RFC 8259 JSON-text: any value at the top level, whitespace only from the four
 * characters the grammar allows, strings that are valid UTF-8 with no unescaped control characters, \uXXXX
 * escapes decoded to UTF-8 (a surrogate pair to one character; a lone surrogate is rejected), numbers in the
 * grammar's form only (no leading zeros, '+', NaN, Infinity, hex). An optional UTF-8 byte order mark is skipped
 * (§8.1 allows it to be ignored). Duplicate object keys are kept in order and json_get() returns the first; §4
 * leaves their meaning to the implementation, and AWS never sends them.
 * Errors: ERR_PARSE for anything malformed, ERR_LIMIT for a document, depth, node count or number lexeme
 * over the limits below. err_last() says what and at which byte offset.
 *
 * Ownership: strings, keys and number lexemes are copied into the arena; the tree does not refer to `doc`.
 *
 * Writing, e.g. a DynamoDB PutItem body:
 *
 *   struct buf b; buf_init(&b, BUF_MAX_REQUEST);
 *   struct json_writer w; json_writer_init(&w, &b);
 *   json_write_object_begin(&w);
 *   json_write_key(&w, "TableName"); json_write_string(&w, table);
 *   json_write_key(&w, "Item"); json_write_object_begin(&w);
 *   json_write_key(&w, "pk"); json_write_object_begin(&w);
 *   json_write_key(&w, "S"); json_write_string(&w, id);
 *   json_write_object_end(&w);
 *   json_write_object_end(&w);
 *   json_write_object_end(&w);
 *   TRY(json_writer_finish(&w));   // the one check: misuse, depth, or the buffer's own sticky error
 *
 * The writer puts the commas and colons itself and writes compact JSON (no whitespace). Misuse (a value where
 * a key is due, a key outside an object, an unbalanced end, a second top-level value, a non-finite double)
 * makes it sticky-fail with ERR_INVALID; later calls do nothing.
 */
#ifndef SV_CODEC_JSON_H
#define SV_CODEC_JSON_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/span.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest document the reader accepts. DynamoDB responses are at most 16 MiB; credential documents a few KiB. */
#define JSON_MAX_DOC_BYTES ((size_t) 16 * 1024 * 1024)
/* Default nesting limit for arrays and objects (a top-level array is depth 1). */
#define JSON_MAX_DEPTH_DEFAULT ((size_t) 64)
/* Hard ceiling for any caller-chosen depth limit. */
#define JSON_MAX_DEPTH_CEILING ((size_t) 1024)
/* Default limit on values (every scalar, array and object counts one). A value costs about 80 bytes of arena. */
#define JSON_MAX_NODES_DEFAULT ((size_t) 1024 * 1024)
/*
 * Longest number lexeme. Numbers AWS sends fit in 40 characters; the bound keeps json_as_double's copy on the
 * stack and stops "0.000...001" games.
 */
#define JSON_MAX_NUMBER_BYTES ((size_t) 128)
/* Nesting limit of the writer. */
#define JSON_WRITER_MAX_DEPTH ((size_t) 64)

/* A zero field means its default; values above a ceiling are clamped to it. */
struct json_limits {
    size_t max_doc_bytes; /* at most JSON_MAX_DOC_BYTES */
    size_t max_depth;     /* at most JSON_MAX_DEPTH_CEILING */
    size_t max_nodes;
};

/* JSON_MAX_DOC_BYTES, JSON_MAX_DEPTH_DEFAULT, JSON_MAX_NODES_DEFAULT. */
extern const struct json_limits json_limits_default;

enum json_type { JSON_NULL = 0, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
    enum json_type type;
    bool boolean;    /* JSON_BOOL */
    struct span str; /* JSON_STRING: decoded UTF-8 (may contain NUL from \u0000); JSON_NUMBER: the lexeme */
    struct span key; /* when this value is an object member: its decoded name; otherwise empty */
    size_t count;    /* JSON_ARRAY / JSON_OBJECT: number of elements / members */
    const struct json_value *first; /* JSON_ARRAY / JSON_OBJECT: first element / member, in document order */
    const struct json_value *next;  /* the next element / member of the parent */
};

/*
 * Parses doc into a tree in `arena`; *root is set only on success. `limits` NULL means json_limits_default.
 * On error the arena may hold a partial tree; rewind to a mark taken before the call to reclaim it.
 */
enum err json_parse(
  struct arena *arena,
  struct span doc,
  const struct json_limits *limits,
  const struct json_value **root) SV_MUST_CHECK;

/* Lookups: each accepts NULL and then returns NULL / an empty span / 0, so chains need no checks in between. */

/* The first member of obj called key (NULL if obj is not an object or has no such member). */
const struct json_value *json_get(const struct json_value *obj, const char *key);
const struct json_value *json_get_span(const struct json_value *obj, struct span key);
/* The first element / member of an array or object; iterate with ->next. */
const struct json_value *json_first(const struct json_value *container);
/* The i-th element / member (linear time), or NULL. */
const struct json_value *json_at(const struct json_value *container, size_t i);
/* v->str if v is a string, else an empty span. */
struct span json_string(const struct json_value *v);
/* json_string(json_get(obj, key)). */
struct span json_get_string(const struct json_value *obj, const char *key);
bool json_is(const struct json_value *v, enum json_type type);

/*
 * Numbers. json_as_i64/u64 accept only integer lexemes ("12", "-3"; not "1.0" or "1e3"): ERR_INVALID if v is not
 * a number, ERR_PARSE if it has a fraction or exponent, ERR_LIMIT if outside the type. json_as_double: ERR_INVALID
 * if not a number, ERR_LIMIT if the value overflows a double (underflow gives 0 or a subnormal, which is fine).
 * *out is written only on success.
 */
enum err json_as_i64(const struct json_value *v, int64_t *out) SV_MUST_CHECK;
enum err json_as_u64(const struct json_value *v, uint64_t *out) SV_MUST_CHECK;
enum err json_as_double(const struct json_value *v, double *out) SV_MUST_CHECK;

/* Structural equality: same types, same strings, keys and number lexemes, same order. For tests and fuzzing. */
bool json_equal(const struct json_value *a, const struct json_value *b);

/* ---- writer ---- */

struct json_writer {
    struct buf *out;
    enum err err; /* sticky misuse / depth error; the buffer keeps its own */
    size_t depth;
    bool done;                                 /* a complete top-level value has been written */
    bool key_due;                              /* inside an object, and the next call must be a key */
    bool in_object[JSON_WRITER_MAX_DEPTH + 1]; /* per open container */
    bool has_items[JSON_WRITER_MAX_DEPTH + 1]; /* per open container: a comma is due before the next item */
};

/* Starts writing one JSON value at the end of out (whatever out already holds is kept). */
void json_writer_init(struct json_writer *w, struct buf *out);

void json_write_object_begin(struct json_writer *w);
void json_write_object_end(struct json_writer *w);
void json_write_array_begin(struct json_writer *w);
void json_write_array_end(struct json_writer *w);
/* An object member's name. */
void json_write_key(struct json_writer *w, const char *key);
void json_write_key_span(struct json_writer *w, struct span key);
/* A string (escaped by buf_append_json_string; invalid UTF-8 is replaced, never written through). */
void json_write_string(struct json_writer *w, struct span s);
void json_write_cstr(struct json_writer *w, const char *s);
void json_write_i64(struct json_writer *w, int64_t v);
void json_write_u64(struct json_writer *w, uint64_t v);
/* The shortest decimal form that reads back as the same double. NaN and infinities are misuse (ERR_INVALID). */
void json_write_double(struct json_writer *w, double v);
void json_write_bool(struct json_writer *w, bool v);
void json_write_null(struct json_writer *w);
/* A value the caller guarantees is one complete, valid JSON value (e.g. a number lexeme, or a built object). */
void json_write_raw(struct json_writer *w, struct span json);
/* A parsed tree, written back (numbers keep their lexemes). */
void json_write_value(struct json_writer *w, const struct json_value *v);

/*
 * The one check at the end: the writer's sticky error, else the buffer's (ERR_LIMIT / ERR_NOMEM), else
 * ERR_INVALID if containers are still open or nothing was written.
 */
enum err json_writer_finish(const struct json_writer *w) SV_MUST_CHECK;

#endif
