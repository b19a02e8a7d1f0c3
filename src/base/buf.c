/*
 * buf.c - bounded growable buffer. Growth doubles up to `max`; the sticky error means builders check once.
 */
#include "base/buf.h"

#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct buf_allocator s_default_allocator = { malloc, free };
static const struct buf_allocator *s_alloc = &s_default_allocator;

void buf_set_allocator(const struct buf_allocator *a) {
    s_alloc = a != NULL ? a : &s_default_allocator;
}

void buf_init(struct buf *b, size_t max) {
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void buf_free(struct buf *b) {
    s_alloc->release(b->data);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void buf_wipe_free(struct buf *b) {
    if (b->data) {
        explicit_bzero(b->data, b->cap);
    }
    buf_free(b);
}

void buf_reset(struct buf *b) {
    b->len = 0;
    b->err = ERR_OK;
    if (b->data) {
        b->data[0] = '\0';
    }
}

static int s_reserve(struct buf *b, size_t extra) {
    if (b->err != ERR_OK) {
        return -1;
    }
    if (extra > b->max - b->len || b->len + extra < b->len) {
        b->err = ERR_LIMIT;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    /* Not realloc: it would free the old block with its content (a token, a signature) still in it. */
    char *p = s_alloc->alloc(cap);
    if (p == NULL) {
        b->err = ERR_NOMEM;
        return -1;
    }
    if (b->data != NULL) {
        memcpy(p, b->data, b->len + 1);
        explicit_bzero(b->data, b->cap);
        s_alloc->release(b->data);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void buf_append(struct buf *b, const void *p, size_t n) {
    if (s_reserve(b, n) != 0) {
        return;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_append_span(struct buf *b, struct span s) {
    buf_append(b, s.p, s.n);
}

void buf_append_cstr(struct buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c) {
    buf_append(b, &c, 1);
}

void buf_vappendf(struct buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        if (b->err == ERR_OK) {
            b->err = ERR_INVALID;
        }
        return;
    }
    if (s_reserve(b, (size_t) n) != 0) {
        return;
    }
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
}

void buf_appendf(struct buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

void buf_truncate(struct buf *b, size_t n) {
    if (n < b->len) {
        b->len = n;
        b->data[n] = '\0';
    }
}

enum err buf_status(const struct buf *b) {
    return b->err;
}

const char *buf_cstr(const struct buf *b) {
    return b->data ? b->data : "";
}

struct span buf_span(const struct buf *b) {
    return (struct span){ b->data ? b->data : "", b->len };
}

void buf_append_json_string(struct buf *b, struct span s) {
    static const char hex[] = "0123456789abcdef";
    buf_append_char(b, '"');
    const unsigned char *p = (const unsigned char *) s.p;
    size_t i = 0;
    while (i < s.n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char) c };
            buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
                case '\n':
                    buf_append(b, "\\n", 2);
                    break;
                case '\r':
                    buf_append(b, "\\r", 2);
                    break;
                case '\t':
                    buf_append(b, "\\t", 2);
                    break;
                default: {
                    char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                    buf_append(b, esc, 6);
                }
            }
            i++;
        } else if (c < 0x80) {
            buf_append_char(b, (char) c);
            i++;
        } else {
            size_t len = utf8_decode(p + i, s.n - i, NULL);
            if (len == 0) {
                buf_append(b, "\xef\xbf\xbd", 3);
                i++;
            } else {
                buf_append(b, p + i, len);
                i += len;
            }
        }
    }
    buf_append_char(b, '"');
}

enum err buf_append_stream(struct buf *b, FILE *f) {
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_append(b, chunk, n);
        TRY(buf_status(b));
    }
    ENSURE(!ferror(f), ERR_IO, "read error");
    return buf_status(b);
}
