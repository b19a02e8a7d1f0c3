/*
 * arena.c - chunked bump allocator with rewindable marks.
 *
 * Chunks are malloc'd (64 KiB or the request size if larger) and kept in a list, newest first. Rewinding frees
 * whole chunks newer than the mark and resets the mark's chunk to its recorded fill.
 */
#include "base/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN ((size_t) 64 * 1024)
#define ARENA_ALIGN ((size_t) 16)

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t max_total) {
    memset(a, 0, sizeof(*a));
    a->max_total = max_total ? max_total : ARENA_MAX_DEFAULT;
}

static void s_free_chunks(struct arena_chunk *c) {
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void arena_free(struct arena *a) {
    s_free_chunks(a->head);
    s_free_chunks(a->spare);
    size_t max = a->max_total;
    memset(a, 0, sizeof(*a));
    a->max_total = max;
}

void *arena_alloc(struct arena *a, size_t n) {
    size_t need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (need < n) {
        FATAL("arena allocation size overflow");
    }
    if (need > a->max_total - a->used_total) {
        FATAL("arena maximum exceeded");
    }
    struct arena_chunk *c = a->head;
    if ((c == NULL || c->cap - c->used < need) && a->spare && a->spare->cap >= need) {
        c = a->spare;
        a->spare = c->next;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            FATAL("out of memory");
        }
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used_total += need;
    if (a->used_total > a->peak_total) {
        a->peak_total = a->used_total;
    }
    memset(p, 0, n);
    return p;
}

void *arena_alloc_array(struct arena *a, size_t count, size_t sz) {
    if (sz != 0 && count > SIZE_MAX / sz) {
        FATAL("arena array size overflow");
    }
    return arena_alloc(a, count * sz);
}

void *arena_grow_array(struct arena *a, void *old, size_t n, size_t *cap, size_t sz) {
    if (n < *cap) {
        return old;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = arena_alloc_array(a, ncap, sz);
    if (n) {
        memcpy(p, old, n * sz);
    }
    *cap = ncap;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    if (n) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

char *arena_span_cstr(struct arena *a, struct span s) {
    return arena_strndup(a, s.p, s.n);
}

struct span arena_span_dup(struct arena *a, struct span s) {
    return (struct span){ arena_strndup(a, s.p, s.n), s.n };
}

char *arena_printf(struct arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        FATAL("arena_printf format error");
    }
    char *p = arena_alloc(a, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_clear(struct arena *a) {
    while (a->head) {
        struct arena_chunk *c = a->head;
        a->head = c->next;
        c->used = 0;
        c->next = a->spare;
        a->spare = c;
    }
    a->used_total = 0;
}

struct arena_mark arena_mark(const struct arena *a) {
    struct arena_mark m = { a->head, a->head ? a->head->used : 0, a->used_total };
    return m;
}

void arena_rewind(struct arena *a, struct arena_mark m) {
    while (a->head && a->head != m.chunk) {
        struct arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    if (a->head) {
        a->head->used = m.chunk_used;
    }
    a->used_total = m.used_total;
}
