/* CIDR set as sorted disjoint ranges. CIDR blocks are either nested or disjoint, so sorting by
 * (start, size descending) and sweeping with a stack of open blocks yields ranges that each
 * carry the value of their innermost block: a lookup is one binary search, no trie walking.
 * IPv4 lives in 32-bit arrays apart from IPv6 so the common case stays small in cache. */
#include "risk/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

__extension__ typedef unsigned __int128 u128;

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

typedef struct block {
    u128 lo, hi;
    uint32_t seq; /* insertion order: ties go to the block added first */
    uint16_t value;
} block;

typedef struct seg {
    u128 lo, hi;
    uint16_t value;
} seg;

struct zt_cidrset {
    bool frozen;
    size_t count;
    /* building */
    block *pending[2]; /* [0] IPv4, [1] IPv6 */
    size_t npending[2], cappending[2];
    /* frozen: struct of arrays, lo[] is what the binary search touches */
    uint32_t *v4_lo, *v4_hi;
    uint16_t *v4_val;
    size_t n_v4;
    u128 *v6_lo, *v6_hi;
    uint16_t *v6_val;
    size_t n_v6;
};

zt_cidrset *zt_cidrset_new(void)
{
    return calloc(1, sizeof(zt_cidrset));
}

void zt_cidrset_free(zt_cidrset *s)
{
    if (s == NULL)
        return;
    free(s->pending[0]);
    free(s->pending[1]);
    free(s->v4_lo);
    free(s->v4_hi);
    free(s->v4_val);
    free(s->v6_lo);
    free(s->v6_hi);
    free(s->v6_val);
    free(s);
}

static u128 load_bytes(const uint8_t *p, int len)
{
    u128 v = 0;
    for (int i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

/* All ones in the low `bits` bits (bits <= 128). */
static u128 low_mask(int bits)
{
    if (bits <= 0)
        return 0;
    if (bits >= 128)
        return ~(u128)0;
    return ((u128)1 << bits) - 1;
}

int zt_cidrset_add(zt_cidrset *s, const zt_cidr *c, uint16_t value)
{
    if (s == NULL || s->frozen)
        return -EINVAL;
    zt_cidr v4;
    /* Lookups send ::ffff:a.b.c.d to the IPv4 ranges, so such blocks are stored there. */
    if (c->family == AF_INET6 && c->prefix >= 96 && c->prefix <= 128 &&
        memcmp(c->addr, v4mapped_prefix, 12) == 0) {
        memset(&v4, 0, sizeof(v4));
        v4.family = AF_INET;
        memcpy(v4.addr, c->addr + 12, 4);
        v4.prefix = (uint8_t)(c->prefix - 96);
        c = &v4;
    }
    int fam = c->family == AF_INET ? 0 : c->family == AF_INET6 ? 1 : -1;
    int bits = fam == 0 ? 32 : 128;
    if (fam < 0 || c->prefix > bits)
        return -EINVAL;
    if (s->count >= ZT_CIDRSET_MAX_BLOCKS)
        return -E2BIG;
    if (s->npending[fam] == s->cappending[fam]) {
        size_t cap = s->cappending[fam] ? s->cappending[fam] * 2 : 64;
        block *nb = realloc(s->pending[fam], cap * sizeof(*nb));
        if (nb == NULL)
            return -ENOMEM;
        s->pending[fam] = nb;
        s->cappending[fam] = cap;
    }
    u128 host = low_mask(bits - c->prefix);
    u128 lo = load_bytes(c->addr, bits / 8) & ~host;
    s->pending[fam][s->npending[fam]++] =
        (block){.lo = lo, .hi = lo | host, .seq = (uint32_t)s->count, .value = value};
    s->count++;
    return 0;
}

static int cmp_block(const void *pa, const void *pb)
{
    const block *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi > b->hi ? -1 : 1; /* the enclosing block first */
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct segs {
    seg *v;
    size_t n, cap;
} segs;

static int emit(segs *out, u128 lo, u128 hi, uint16_t value)
{
    if (out->n > 0) {
        seg *last = &out->v[out->n - 1];
        if (last->value == value && last->hi + 1 == lo) {
            last->hi = hi;
            return 0;
        }
    }
    if (out->n == out->cap && zt_array_grow(&out->v, &out->cap, sizeof(*out->v), 64) < 0)
        return -ENOMEM;
    out->v[out->n++] = (seg){lo, hi, value};
    return 0;
}

/* Close the innermost open block: emit what is left of it after `*cursor`. */
static int close_top(segs *out, const block **stack, size_t *depth, u128 *cursor, bool *done)
{
    const block *top = stack[--*depth];
    int rc = 0;
    if (!*done && *cursor <= top->hi)
        rc = emit(out, *cursor, top->hi, top->value);
    if (top->hi == ~(u128)0)
        *done = true; /* cursor would wrap; nothing lies beyond */
    else if (!*done && *cursor <= top->hi)
        *cursor = top->hi + 1;
    return rc;
}

/* Sorted blocks (duplicates removed) → disjoint ranges, innermost block's value. The stack
 * never holds more than 129 blocks: each is strictly inside the one below it. */
static int flatten(const block *b, size_t n, segs *out)
{
    const block *stack[130];
    size_t depth = 0;
    u128 cursor = 0;
    bool done = false;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && b[i].lo == b[i - 1].lo && b[i].hi == b[i - 1].hi)
            continue;
        while (depth > 0 && stack[depth - 1]->hi < b[i].lo)
            if (close_top(out, stack, &depth, &cursor, &done) < 0)
                return -ENOMEM;
        if (depth > 0 && cursor < b[i].lo &&
            emit(out, cursor, b[i].lo - 1, stack[depth - 1]->value) < 0)
            return -ENOMEM;
        stack[depth++] = &b[i];
        cursor = b[i].lo;
        done = false;
    }
    while (depth > 0)
        if (close_top(out, stack, &depth, &cursor, &done) < 0)
            return -ENOMEM;
    return 0;
}

static int freeze_family(zt_cidrset *s, int fam)
{
    segs out = {0};
    int rc = 0;
    if (s->npending[fam] > 1)
        qsort(s->pending[fam], s->npending[fam], sizeof(block), cmp_block);
    if (flatten(s->pending[fam], s->npending[fam], &out) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    size_t n = out.n ? out.n : 1; /* never malloc(0) */
    uint16_t *val = malloc(n * sizeof(*val));
    if (val == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if (fam == 0) {
        s->v4_lo = malloc(n * sizeof(uint32_t));
        s->v4_hi = malloc(n * sizeof(uint32_t));
        s->v4_val = val;
        if (s->v4_lo == NULL || s->v4_hi == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < out.n; i++) {
            s->v4_lo[i] = (uint32_t)out.v[i].lo;
            s->v4_hi[i] = (uint32_t)out.v[i].hi;
            val[i] = out.v[i].value;
        }
        s->n_v4 = out.n;
    } else {
        s->v6_lo = malloc(n * sizeof(u128));
        s->v6_hi = malloc(n * sizeof(u128));
        s->v6_val = val;
        if (s->v6_lo == NULL || s->v6_hi == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < out.n; i++) {
            s->v6_lo[i] = out.v[i].lo;
            s->v6_hi[i] = out.v[i].hi;
            val[i] = out.v[i].value;
        }
        s->n_v6 = out.n;
    }
out:
    free(out.v);
    return rc;
}

int zt_cidrset_freeze(zt_cidrset *s)
{
    if (s == NULL || s->frozen)
        return -EINVAL;
    for (int fam = 0; fam < 2; fam++) {
        int rc = freeze_family(s, fam);
        if (rc < 0)
            return rc;
        free(s->pending[fam]);
        s->pending[fam] = NULL;
        s->npending[fam] = s->cappending[fam] = 0;
    }
    s->frozen = true;
    return 0;
}

size_t zt_cidrset_count(const zt_cidrset *s)
{
    return s != NULL ? s->count : 0;
}

/* Index of the last range starting at or below x, or n when none does. */
#define LAST_AT_OR_BELOW(lo, n, x, idx)                                                            \
    do {                                                                                           \
        size_t l_ = 0, r_ = (n);                                                                   \
        while (l_ < r_) {                                                                          \
            size_t m_ = l_ + (r_ - l_) / 2;                                                        \
            if ((lo)[m_] <= (x))                                                                   \
                l_ = m_ + 1;                                                                       \
            else                                                                                   \
                r_ = m_;                                                                           \
        }                                                                                          \
        (idx) = l_ == 0 ? (n) : l_ - 1;                                                            \
    } while (0)

bool zt_cidrset_lookup_addr(const zt_cidrset *s, int family, const uint8_t *addr, uint16_t *value)
{
    if (s == NULL || !s->frozen)
        return false;
    if (family == AF_INET6 && memcmp(addr, v4mapped_prefix, 12) == 0) {
        family = AF_INET;
        addr += 12;
    }
    size_t i;
    if (family == AF_INET) {
        uint32_t x = (uint32_t)load_bytes(addr, 4);
        LAST_AT_OR_BELOW(s->v4_lo, s->n_v4, x, i);
        if (i == s->n_v4 || x > s->v4_hi[i])
            return false;
        if (value != NULL)
            *value = s->v4_val[i];
        return true;
    }
    if (family != AF_INET6)
        return false;
    u128 x = load_bytes(addr, 16);
    LAST_AT_OR_BELOW(s->v6_lo, s->n_v6, x, i);
    if (i == s->n_v6 || x > s->v6_hi[i])
        return false;
    if (value != NULL)
        *value = s->v6_val[i];
    return true;
}

bool zt_cidrset_lookup(const zt_cidrset *s, const struct sockaddr *sa, uint16_t *value)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return zt_cidrset_lookup_addr(s, AF_INET, (const uint8_t *)&in->sin_addr, value);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return zt_cidrset_lookup_addr(s, AF_INET6, in6->sin6_addr.s6_addr, value);
    }
    return false;
}
