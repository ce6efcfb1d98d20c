/* Risk state held by ztgate itself: the detection state machine's one transition function,
 * and per-source failure telemetry for password spray and failure reputation (Entra's
 * "malicious IP: high failure rates of invalid credentials"). The telemetry table is bounded
 * (sources_max entries, ZT_RISK_TRACK_MAX accounts and ZT_RISK_TRACK_PW password tags each),
 * keyed by address (IPv6 by /64: one host owns a whole /64), and never stores an address, an
 * account name or a password: addresses and accounts as keyed BLAKE2b hashes, passwords only
 * as the caller's keyed tag.
 *
 * Shared (zt_risk_sources_share, PostgreSQL): each failure is recorded in the database and the
 * rules run there over every gateway's failures (store_counter.h), with the same hashes (the
 * key is one all gateways derive from the same secret). The table then holds flags only, the
 * ones this gateway raised or renewed and the ones zt_risk_sources_sync copies from the
 * database, so the per-request question stays a mutex and a lookup. When the database fails,
 * the failure is counted here as without sharing, so this gateway alone still sees it. */
#define ZT_RISK_INTERNAL
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "risk/risk.h"
#include "store/store.h"

#define SRC_KEY_LEN ZT_STORE_COUNTER_KEY_LEN

/* ---- state machine ---- */

bool zt_risk_transition_ok(zt_risk_state from, zt_risk_state to)
{
    switch (from) {
    case ZT_STORE_RISK_AT_RISK:
        return to == ZT_STORE_RISK_REMEDIATED || to == ZT_STORE_RISK_DISMISSED ||
               to == ZT_STORE_RISK_CONFIRMED_COMPROMISED;
    case ZT_STORE_RISK_CONFIRMED_COMPROMISED:
        /* A reset password ends a confirmed compromise; an admin may also retract it. */
        return to == ZT_STORE_RISK_REMEDIATED || to == ZT_STORE_RISK_DISMISSED;
    case ZT_STORE_RISK_REMEDIATED:
    case ZT_STORE_RISK_DISMISSED:
    case ZT_STORE_RISK_N_STATES:
        break;
    }
    return false;
}

unsigned zt_risk_transition_from(zt_risk_state to)
{
    unsigned mask = 0;
    for (int s = 0; s < ZT_STORE_RISK_N_STATES; s++)
        if (zt_risk_transition_ok((zt_risk_state)s, to))
            mask |= 1u << s;
    return mask;
}

/* ---- per-source failure telemetry ---- */

typedef struct src_acct {
    uint64_t h; /* keyed hash of the lowercased account */
    int64_t at; /* last failure against it */
} src_acct;

typedef struct src_pw {
    unsigned char tag[ZT_RISK_TAG_LEN];
    int64_t at;
} src_pw;

typedef struct src_entry {
    uint8_t key[SRC_KEY_LEN]; /* keyed hash of the address (IPv4 mapped, IPv6 cut to /64) */
    bool used;
    uint32_t next; /* bucket chain: index + 1, 0 = end */
    int64_t last_seen;
    int64_t reputation_until, spray_until;
    uint8_t n_acct, n_pw;
    src_acct acct[ZT_RISK_TRACK_MAX];
    src_pw pw[ZT_RISK_TRACK_PW];
} src_entry;

struct zt_risk_sources {
    pthread_mutex_t mu;
    /* Latest time any source stays flagged: every proxied request asks about its address, and
     * while nothing is flagged it gets its answer without taking the mutex. */
    _Atomic int64_t flagged_until;
    _Atomic uint64_t shared_errors; /* failures the database could not record */
    zt_risk_cfg cfg;
    zt_store *shared; /* NULL: counted here only */
    unsigned char hkey[crypto_generichash_KEYBYTES];
    size_t cap, n;
    uint32_t *buckets; /* nbuckets, power of two; index + 1, 0 = empty */
    size_t nbuckets;
    src_entry *e;
};

zt_risk_sources *zt_risk_sources_new(const zt_risk_cfg *cfg)
{
    zt_risk_sources *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = *cfg;
    s->cap = cfg->sources_max;
    for (s->nbuckets = 16; s->nbuckets < s->cap; s->nbuckets <<= 1)
        ;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    s->e = calloc(s->cap, sizeof(*s->e));
    if (s->buckets == NULL || s->e == NULL) {
        free(s->buckets);
        free(s->e);
        free(s);
        return NULL;
    }
    crypto_generichash_keygen(s->hkey);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void zt_risk_sources_free(zt_risk_sources *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->buckets);
    free(s->e);
    free(s);
}

static bool src_addr(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(key, mapped, 12) != 0)
        memset(key + 8, 0, 8);
    return true;
}

/* The table's (and the database's) key of a source: "s" + its address, hashed with hkey. */
static bool src_key(const zt_risk_sources *s, const struct sockaddr *sa, uint8_t key[SRC_KEY_LEN])
{
    uint8_t buf[17] = {'s'};
    if (!src_addr(sa, buf + 1))
        return false;
    crypto_generichash(key, SRC_KEY_LEN, buf, sizeof(buf), s->hkey, sizeof(s->hkey));
    return true;
}

static size_t src_bucket(const zt_risk_sources *s, const uint8_t key[SRC_KEY_LEN])
{
    uint64_t h; /* the key is already a keyed hash */
    memcpy(&h, key, sizeof(h));
    return (size_t)(h & (s->nbuckets - 1));
}

static src_entry *src_find(zt_risk_sources *s, const uint8_t key[SRC_KEY_LEN])
{
    for (uint32_t i = s->buckets[src_bucket(s, key)]; i != 0; i = s->e[i - 1].next)
        if (memcmp(s->e[i - 1].key, key, SRC_KEY_LEN) == 0)
            return &s->e[i - 1];
    return NULL;
}

static void src_unlink(zt_risk_sources *s, size_t idx)
{
    uint32_t *p = &s->buckets[src_bucket(s, s->e[idx].key)];
    while (*p != 0 && *p != idx + 1)
        p = &s->e[*p - 1].next;
    if (*p != 0)
        *p = s->e[idx].next;
    memset(&s->e[idx], 0, sizeof(s->e[idx]));
    s->n--;
}

/* Full: evict the least recently seen source, unflagged ones first, so rotating addresses
 * cannot wash a flagged one out before its own flags expire. */
static size_t src_victim(const zt_risk_sources *s, int64_t now)
{
    size_t best = 0;
    bool best_flag = true;
    for (size_t i = 0; i < s->cap; i++) {
        const src_entry *e = &s->e[i];
        bool flag = e->reputation_until > now || e->spray_until > now;
        if ((best_flag && !flag) || (flag == best_flag && e->last_seen < s->e[best].last_seen))
            best = i, best_flag = flag;
    }
    return best;
}

static src_entry *src_get(zt_risk_sources *s, const uint8_t key[SRC_KEY_LEN], int64_t now)
{
    src_entry *e = src_find(s, key);
    if (e != NULL)
        return e;
    size_t idx = 0;
    if (s->n == s->cap) {
        idx = src_victim(s, now);
        src_unlink(s, idx);
    } else {
        while (s->e[idx].used)
            idx++;
    }
    e = &s->e[idx];
    memcpy(e->key, key, SRC_KEY_LEN);
    e->used = true;
    size_t b = src_bucket(s, key);
    e->next = s->buckets[b];
    s->buckets[b] = (uint32_t)idx + 1;
    s->n++;
    return e;
}

/* "a" + the lowercased account, hashed with hkey (the database keeps all of it, the table the
 * first 8 bytes). */
static void acct_key(const zt_risk_sources *s, const char *account, uint8_t key[SRC_KEY_LEN])
{
    unsigned char low[ZT_STORE_EMAIL_MAX + 2] = {'a'};
    size_t n = 1;
    for (; account != NULL && account[n - 1] != '\0' && n < sizeof(low); n++)
        low[n] = (unsigned char)tolower((unsigned char)account[n - 1]);
    crypto_generichash(key, SRC_KEY_LEN, low, n, s->hkey, sizeof(s->hkey));
}

static void note_acct(src_entry *e, uint64_t h, int64_t now)
{
    size_t oldest = 0;
    for (size_t i = 0; i < e->n_acct; i++) {
        if (e->acct[i].h == h) {
            e->acct[i].at = now;
            return;
        }
        if (e->acct[i].at < e->acct[oldest].at)
            oldest = i;
    }
    size_t i = e->n_acct < ZT_RISK_TRACK_MAX ? e->n_acct++ : oldest;
    e->acct[i] = (src_acct){h, now};
}

static void note_pw(src_entry *e, const unsigned char *tag, int64_t now)
{
    size_t oldest = 0;
    for (size_t i = 0; i < e->n_pw; i++) {
        if (memcmp(e->pw[i].tag, tag, ZT_RISK_TAG_LEN) == 0) {
            e->pw[i].at = now;
            return;
        }
        if (e->pw[i].at < e->pw[oldest].at)
            oldest = i;
    }
    size_t i = e->n_pw < ZT_RISK_TRACK_PW ? e->n_pw++ : oldest;
    memcpy(e->pw[i].tag, tag, ZT_RISK_TAG_LEN);
    e->pw[i].at = now;
}

/* Distinct accounts failed against within the window ending now. */
static unsigned accts_within(const src_entry *e, int64_t window, int64_t now)
{
    unsigned n = 0;
    for (size_t i = 0; i < e->n_acct; i++)
        n += e->acct[i].at > now - window;
    return n;
}

static unsigned pws_within(const src_entry *e, int64_t window, int64_t now)
{
    unsigned n = 0;
    for (size_t i = 0; i < e->n_pw; i++)
        n += e->pw[i].at > now - window;
    return n;
}

static void raise_flagged_until(zt_risk_sources *s, int64_t until)
{
    int64_t cur = atomic_load(&s->flagged_until);
    while (cur < until && !atomic_compare_exchange_weak(&s->flagged_until, &cur, until))
        ;
}

/* The rules on this table's telemetry (the database's ztgate_risk_failure does the same over
 * every gateway's). */
static unsigned local_failure(zt_risk_sources *s, const uint8_t key[SRC_KEY_LEN], uint64_t h,
                              const unsigned char *pw_tag, int64_t now)
{
    const zt_risk_cfg *c = &s->cfg;
    unsigned raised = 0;
    pthread_mutex_lock(&s->mu);
    src_entry *e = src_get(s, key, now);
    e->last_seen = now;
    note_acct(e, h, now);
    if (pw_tag != NULL)
        note_pw(e, pw_tag, now);
    if (accts_within(e, c->reputation_window_s, now) >= c->reputation_accounts) {
        if (e->reputation_until <= now)
            raised |= ZT_RISK_SRC_REPUTATION;
        e->reputation_until = now + c->reputation_ttl_s;
        raise_flagged_until(s, e->reputation_until);
    }
    unsigned pws = pws_within(e, c->spray_window_s, now);
    if (pws > 0 && pws <= c->spray_passwords &&
        accts_within(e, c->spray_window_s, now) >= c->spray_accounts) {
        if (e->spray_until <= now)
            raised |= ZT_RISK_SRC_SPRAY;
        e->spray_until = now + c->reputation_ttl_s;
        raise_flagged_until(s, e->spray_until);
    }
    pthread_mutex_unlock(&s->mu);
    return raised;
}

/* Flags from the database into the table (never lowered: the database's only grow too). */
static void copy_flags(zt_risk_sources *s, const zt_store_source_flags *f, int64_t now)
{
    pthread_mutex_lock(&s->mu);
    src_entry *e = src_find(s, f->source);
    if (e == NULL && (f->reputation_until > now || f->spray_until > now))
        e = src_get(s, f->source, now);
    if (e != NULL) {
        if (f->reputation_until > e->reputation_until)
            e->reputation_until = f->reputation_until;
        if (f->spray_until > e->spray_until)
            e->spray_until = f->spray_until;
        raise_flagged_until(s, e->reputation_until);
        raise_flagged_until(s, e->spray_until);
    }
    pthread_mutex_unlock(&s->mu);
}

unsigned zt_risk_sources_failure(zt_risk_sources *s, const char *account, const struct sockaddr *ip,
                                 const unsigned char *pw_tag, int64_t now)
{
    uint8_t key[SRC_KEY_LEN], akey[SRC_KEY_LEN];
    if (s == NULL || !src_key(s, ip, key))
        return 0;
    acct_key(s, account, akey);
    if (s->shared != NULL) {
        const zt_risk_cfg *c = &s->cfg;
        zt_store_spray_rule rule = {.spray_window_s = c->spray_window_s,
                                    .spray_accounts = c->spray_accounts,
                                    .spray_passwords = c->spray_passwords,
                                    .reputation_window_s = c->reputation_window_s,
                                    .reputation_accounts = c->reputation_accounts,
                                    .ttl_s = c->reputation_ttl_s};
        zt_store_source_flags f;
        if (zt_store_risk_failure(s->shared, key, akey, pw_tag, now, &rule, &f) == 0) {
            copy_flags(s, &f, now);
            return f.raised & (ZT_RISK_SRC_SPRAY | ZT_RISK_SRC_REPUTATION);
        }
        atomic_fetch_add(&s->shared_errors, 1);
    }
    uint64_t h;
    memcpy(&h, akey, sizeof(h));
    return local_failure(s, key, h, pw_tag, now);
}

int zt_risk_sources_share(zt_risk_sources *s, zt_store *store,
                          const unsigned char key[ZT_RISK_SHARED_KEY_LEN])
{
    _Static_assert(ZT_RISK_SHARED_KEY_LEN == crypto_generichash_KEYBYTES, "hash key size");
    _Static_assert((int)ZT_STORE_FLAG_SPRAY == (int)ZT_RISK_SRC_SPRAY &&
                       (int)ZT_STORE_FLAG_REPUTATION == (int)ZT_RISK_SRC_REPUTATION,
                   "the database's flag bits are the engine's");
    if (s == NULL || store == NULL || key == NULL)
        return -EINVAL;
    if (!zt_store_counter_shared(store))
        return -ENOTSUP;
    pthread_mutex_lock(&s->mu);
    /* Entries keyed with the old key would never match again: start empty. */
    memset(s->buckets, 0, s->nbuckets * sizeof(*s->buckets));
    memset(s->e, 0, s->cap * sizeof(*s->e));
    s->n = 0;
    memcpy(s->hkey, key, sizeof(s->hkey));
    s->shared = store;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

typedef struct sync_ctx {
    zt_risk_sources *s;
    int64_t now;
} sync_ctx;

static int sync_one(void *ctx, const zt_store_source_flags *f)
{
    sync_ctx *x = ctx;
    copy_flags(x->s, f, x->now);
    return 0;
}

int zt_risk_sources_sync(zt_risk_sources *s, int64_t now)
{
    if (s == NULL || s->shared == NULL)
        return 0;
    sync_ctx x = {s, now};
    return zt_store_risk_flags(s->shared, now, sync_one, &x);
}

uint64_t zt_risk_sources_shared_errors(zt_risk_sources *s)
{
    return s != NULL ? atomic_load(&s->shared_errors) : 0;
}

unsigned zt_risk_sources_flags(zt_risk_sources *s, const struct sockaddr *ip, int64_t now)
{
    uint8_t key[SRC_KEY_LEN];
    if (s == NULL || atomic_load_explicit(&s->flagged_until, memory_order_acquire) <= now ||
        !src_key(s, ip, key))
        return 0;
    unsigned flags = 0;
    pthread_mutex_lock(&s->mu);
    const src_entry *e = src_find(s, key);
    if (e != NULL && e->reputation_until > now)
        flags |= ZT_RISK_SRC_REPUTATION;
    if (e != NULL && e->spray_until > now)
        flags |= ZT_RISK_SRC_SPRAY;
    pthread_mutex_unlock(&s->mu);
    return flags;
}
