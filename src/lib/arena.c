#include "lib/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct zt_arena_block {
    zt_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void zt_arena_init(zt_arena *a, size_t block_size, size_t limit)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
    a->total = 0;
    a->limit = limit;
}

static void free_chain(zt_arena_block *b)
{
    while (b != NULL) {
        zt_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void zt_arena_dispose(zt_arena *a)
{
    if (a == NULL)
        return;
    free_chain(a->head);
    a->head = NULL;
    a->total = 0;
}

void zt_arena_reset(zt_arena *a)
{
    if (a->head == NULL)
        return;
    /* Keep the oldest block (the last in the chain): it is the common-case size. */
    zt_arena_block *b = a->head, *keep = NULL;
    while (b->next != NULL)
        b = b->next;
    keep = b;
    b = a->head;
    while (b != keep) {
        zt_arena_block *next = b->next;
        free(b);
        b = next;
    }
    keep->used = 0;
    a->head = keep;
    a->total = 0;
}

void *zt_arena_alloc(zt_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (a->limit != 0 && (need > a->limit || a->total > a->limit - need))
        return NULL;
    zt_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    return p;
}

char *zt_arena_strndup(zt_arena *a, const char *s, size_t n)
{
    char *p = zt_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *zt_arena_strdup(zt_arena *a, const char *s)
{
    return zt_arena_strndup(a, s, strlen(s));
}
