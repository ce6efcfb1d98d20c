/* Per-request memory arena: many small allocations, one release when the request ends
 * (the h2o mem-pool habit). Never frees single objects; zt_arena_reset keeps the first block
 * so a keep-alive connection reuses it without touching malloc. */
#ifndef ZT_LIB_ARENA_H
#define ZT_LIB_ARENA_H

#include <stddef.h>

typedef struct zt_arena_block zt_arena_block;

typedef struct zt_arena {
    zt_arena_block *head;
    size_t block_size;
    size_t total; /* bytes handed out since the last reset */
    size_t limit; /* 0 = unlimited; past it zt_arena_alloc returns NULL */
} zt_arena;

void zt_arena_init(zt_arena *a, size_t block_size, size_t limit);
void zt_arena_dispose(zt_arena *a);
void zt_arena_reset(zt_arena *a);
/* 16-byte aligned; NULL on exhaustion or when the limit is reached. */
void *zt_arena_alloc(zt_arena *a, size_t n);
char *zt_arena_strndup(zt_arena *a, const char *s, size_t n);
char *zt_arena_strdup(zt_arena *a, const char *s);

#endif
