/*
 * arena.h - region allocator: one arena per cycle, scratch scopes for parsing responses.
 *
 * Allocation never returns NULL: out of memory (or exceeding the arena's maximum) is fatal and logged, because a
 * backup cycle that cannot allocate a few kilobytes cannot do anything safely. A scope (arena_mark /
 * arena_rewind) frees everything allocated after the mark at once; that is how response bodies are parsed
 * without growing the cycle's memory.
 * Secrets never live in an arena (see base/secret.h).
 */
#ifndef SV_BASE_ARENA_H
#define SV_BASE_ARENA_H

#include "base/span.h"

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t used_total;        /* bytes handed out, for peak accounting */
    size_t peak_total;
    size_t max_total;          /* fatal beyond this */
    struct arena_chunk *spare; /* chunks kept by arena_clear, used again before any new one is allocated */
};

struct arena_mark {
    struct arena_chunk *chunk;
    size_t chunk_used;
    size_t used_total;
};

#define ARENA_MAX_DEFAULT ((size_t) 512 * 1024 * 1024)

void arena_init(struct arena *a, size_t max_total);
void arena_free(struct arena *a);
/*
 * Empties the arena but keeps its chunks for its next allocations: an arena filled and emptied again and again
 * (one listing page after another) reuses the same memory instead of returning it to malloc and asking again.
 */
void arena_clear(struct arena *a);

/* Zeroed, aligned to 16. */
void *arena_alloc(struct arena *a, size_t n);
/* n elements of size sz, with overflow check. */
void *arena_alloc_array(struct arena *a, size_t count, size_t sz);
/* A NUL-terminated copy. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_span_cstr(struct arena *a, struct span s);
struct span arena_span_dup(struct arena *a, struct span s);
/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) SV_PRINTF(2, 3);

/*
 * Grows an arena array to hold at least n + 1 elements of size sz: returns `old` when there is room, else a
 * copy with doubled capacity (*cap updated). The old copy stays in the arena until it is freed or rewound.
 */
void *arena_grow_array(struct arena *a, void *old, size_t n, size_t *cap, size_t sz);

struct arena_mark arena_mark(const struct arena *a);
void arena_rewind(struct arena *a, struct arena_mark m);

#define ARENA_NEW(a, type) ((type *) arena_alloc((a), sizeof(type)))
#define ARENA_NEW_ARRAY(a, type, count) ((type *) arena_alloc_array((a), (count), sizeof(type)))

#endif
