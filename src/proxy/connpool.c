/* Client connection structs come from slabs owned by their worker. Ten thousand idle
 * keep-alive clients then sit packed together, instead of each ~2 KiB struct being wedged
 * between the short-lived request buffers malloc handed out around it (which pins whole pages
 * after those buffers are freed: ~8 KiB of RSS per idle connection measured before this). A
 * closed connection's struct goes on a free list and is the next accept's. One loop thread per
 * pool: no locks. The slabs are freed with the worker. */
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_int.h"

#define CONNS_PER_SLAB 32

struct zt_conn_slab {
    zt_conn_slab *next;
    zt_conn conns[CONNS_PER_SLAB];
};

/* A free struct threads the list through its first bytes. */
typedef union free_conn {
    union free_conn *next;
    zt_conn conn;
} free_conn;

static int add_slab(zt_worker *w)
{
    zt_conn_slab *s = malloc(sizeof(*s));
    if (s == NULL)
        return -1;
    s->next = w->conn_slabs;
    w->conn_slabs = s;
    for (size_t i = 0; i < CONNS_PER_SLAB; i++) {
        free_conn *f = (free_conn *)(void *)&s->conns[i];
        f->next = w->conn_free;
        w->conn_free = f;
    }
    return 0;
}

zt_conn *zt_conn_pool_get(zt_worker *w)
{
    if (w->conn_free == NULL && add_slab(w) < 0)
        return NULL;
    free_conn *f = w->conn_free;
    w->conn_free = f->next;
    memset(&f->conn, 0, sizeof(f->conn));
    return &f->conn;
}

void zt_conn_pool_put(zt_worker *w, zt_conn *c)
{
    free_conn *f = (free_conn *)(void *)c;
    f->next = w->conn_free;
    w->conn_free = f;
}

void zt_conn_pool_dispose(zt_worker *w)
{
    while (w->conn_slabs != NULL) {
        zt_conn_slab *next = w->conn_slabs->next;
        free(w->conn_slabs);
        w->conn_slabs = next;
    }
    w->conn_free = NULL;
}
