/*
 * buf.h - a growable byte buffer that must be given a maximum (after curl's dynbuf).
 *
 * Appends never fail loudly: the first failure (over `max`, or out of memory) makes the error sticky, later
 * appends are ignored, and the builder checks buf_status() once at the end. The content is always kept
 * NUL-terminated (the terminator is not counted in len), so buf_cstr() is free.
 *
 * Growing never leaves a copy behind: the content moves to a new block and the old one is zeroed before it is
 * freed (realloc would free it as it is). Buffers hold signatures, session tokens and credential documents, and
 * one buffer growing to 4 KiB would otherwise leave six stale copies in freed memory. buf_wipe_free() zeroes the
 * last block too; buf_free() does not (most buffers hold nothing secret).
 */
#ifndef SV_BASE_BUF_H
#define SV_BASE_BUF_H

#include "base/err.h"
#include "base/span.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct buf {
    char *data;   /* heap, NUL-terminated when non-NULL */
    size_t len;   /* bytes used, excluding the terminator */
    size_t cap;   /* bytes allocated */
    size_t max;   /* len may never exceed this */
    enum err err; /* sticky: first failure */
};

/* Common maximums, named so every buffer has a reason for its limit. */
#define BUF_MAX_SMALL ((size_t) 4 * 1024)
#define BUF_MAX_REQUEST ((size_t) 1024 * 1024)
#define BUF_MAX_RESPONSE ((size_t) 64 * 1024 * 1024)

/* The allocator buffers use; NULL = malloc/free. Tests install one that inspects what freed blocks contain. */
struct buf_allocator {
    void *(*alloc)(size_t n);
    void (*release)(void *p);
};
void buf_set_allocator(const struct buf_allocator *a);

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer and clears the sticky error, keeping the allocation. */
void buf_reset(struct buf *b);

void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_span(struct buf *b, struct span s);
void buf_append_cstr(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_appendf(struct buf *b, const char *fmt, ...) SV_PRINTF(2, 3);
void buf_vappendf(struct buf *b, const char *fmt, va_list ap) SV_PRINTF(2, 0);
/* Shrinks len to n (n <= len). */
void buf_truncate(struct buf *b, size_t n);

enum err buf_status(const struct buf *b) SV_MUST_CHECK;
/* Always a valid C string ("" when empty). */
const char *buf_cstr(const struct buf *b);
struct span buf_span(const struct buf *b);
/* Overwrites the content with zeros (for buffers that held secrets), then frees. */
void buf_wipe_free(struct buf *b);

/*
 * Appends s as a JSON string literal, quotes included (RFC 8259 §7): '"', '\\' and control characters escaped,
 * bytes >= 0x80 copied as they are (the input is expected to be UTF-8; invalid sequences are replaced with
 * U+FFFD so the output is always valid JSON). Lives here, not in codec/, because the logger needs it.
 */
void buf_append_json_string(struct buf *b, struct span s);

/*
 * Appends everything readable from f until end of file. ERR_IO on a read error, else the buffer's status
 * (ERR_LIMIT past its maximum). The caller opens and closes f.
 */
enum err buf_append_stream(struct buf *b, FILE *f) SV_MUST_CHECK;
#endif
