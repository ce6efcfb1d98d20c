#include "proxy/share.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_BUCKETS 4096u /* power of two */
#define SHARE_MIN_AUTO 64u

typedef struct share_entry {
    struct share_entry *next;
    uint8_t key[16];
    unsigned count;
} share_entry;

struct zt_conn_share {
    pthread_mutex_t mu;
    /* Keyed hash: an attacker choosing source addresses cannot pile them into one bucket. */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    share_entry *buckets[SHARE_BUCKETS];
};

zt_conn_share *zt_conn_share_new(void)
{
    zt_conn_share *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    randombytes_buf(s->hash_key, sizeof(s->hash_key));
    return s;
}

void zt_conn_share_free(zt_conn_share *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < SHARE_BUCKETS; i++) {
        for (share_entry *e = s->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* IPv4 as ::ffff:a.b.c.d (so a mapped peer is the same address), IPv6 cut to its /64. */
static bool share_key(const struct sockaddr *sa, uint8_t key[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        memcpy(key, mapped, sizeof(mapped));
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, mapped, sizeof(mapped)) == 0)
        memcpy(key, a, 16);
    else
        memcpy(key, a, 8);
    return true;
}

static share_entry **share_find(zt_conn_share *s, const uint8_t key[16])
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, 16, s->hash_key);
    uint32_t b;
    memcpy(&b, h, sizeof(b));
    share_entry **link = &s->buckets[b & (SHARE_BUCKETS - 1)];
    while (*link != NULL && memcmp((*link)->key, key, 16) != 0)
        link = &(*link)->next;
    return link;
}

bool zt_conn_share_take(zt_conn_share *s, const struct sockaddr *addr, unsigned limit)
{
    uint8_t key[16];
    if (!share_key(addr, key))
        return true; /* not an IP peer: nothing to share out */
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    share_entry **link = share_find(s, key);
    if (*link == NULL && limit > 0) {
        share_entry *e = calloc(1, sizeof(*e));
        if (e != NULL) {
            memcpy(e->key, key, 16);
            *link = e;
        }
    }
    if (*link != NULL && (*link)->count < limit) {
        (*link)->count++;
        ok = true;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void zt_conn_share_release(zt_conn_share *s, const struct sockaddr *addr)
{
    uint8_t key[16];
    if (!share_key(addr, key))
        return;
    pthread_mutex_lock(&s->mu);
    share_entry **link = share_find(s, key);
    share_entry *e = *link;
    if (e != NULL && --e->count == 0) {
        *link = e->next;
        free(e);
    }
    pthread_mutex_unlock(&s->mu);
}

unsigned zt_conn_share_count(zt_conn_share *s, const struct sockaddr *addr)
{
    uint8_t key[16];
    if (!share_key(addr, key))
        return 0;
    pthread_mutex_lock(&s->mu);
    share_entry *e = *share_find(s, key);
    unsigned n = e != NULL ? e->count : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

unsigned zt_conn_share_limit(unsigned max_connections, unsigned configured)
{
    if (configured != 0)
        return configured;
    unsigned share = max_connections / 4;
    unsigned floor = max_connections < SHARE_MIN_AUTO ? max_connections : SHARE_MIN_AUTO;
    return share > floor ? share : floor;
}
