/* Brute-force limits: per-account consecutive-failure counters (one for known devices, one for
 * everyone else) and per-source sliding windows of per-second failure counts, each with a count
 * of reservations (attempts admitted and not yet settled) that admission adds to the failures.
 * Keys are a keyed 128-bit hash of "a:" + lowercased account or "s:" + IP, so what people typed
 * into the user field is never kept. One table, chained through indices, LRU-evicted at
 * max_entries, skipping entries that hold reservations. Deterministic: every time comes from
 * the caller.
 *
 * Shared mode keeps the same rules (evaluate) but reads the state from the database at each
 * admission (store_counter.h) into a scratch entry instead of the table, and writes verdicts
 * there; the table stays empty. The mutex is never held across a database call. */
#include "session/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store.h"

#define NIL (-1)
#define KEY_LEN 16
#define ACCOUNT_MAX 320 /* bytes of an account name hashed; longer ones are cut (still hashed) */
/* The source window counts one second more than a minute, so that per-second buckets never
 * let more than the limit through in any 60 s. */
#define SLOTS (ZT_THROTTLE_WINDOW_S + 1)
#define EVICT_SCAN 256 /* LRU entries looked at for one without reservations */

enum { KIND_ACCOUNT = 'a', KIND_SOURCE = 's' };

typedef struct th_side {
    uint32_t fails;   /* consecutive */
    uint32_t pending; /* admitted, not yet settled */
    int64_t last_fail_ms;
} th_side;

typedef struct th_entry {
    unsigned char key[KEY_LEN];
    int32_t chain, prev, next;
    bool used;
    char kind; /* KIND_ACCOUNT or KIND_SOURCE */
    union {
        th_side side[2]; /* account: [0] unknown devices, [1] known devices */
        struct {
            int64_t sec; /* second of the newest bucket */
            bool started;
            uint32_t pending;  /* admitted, not yet settled */
            uint16_t n[SLOTS]; /* failures in second s at n[s % SLOTS] */
        } src;
    } u;
} th_entry;

struct zt_throttle {
    pthread_mutex_t mu;
    zt_throttle_cfg cfg;
    zt_store *shared; /* NULL: counted in memory */
    unsigned char hash_key[crypto_generichash_KEYBYTES];
    th_entry *e;
    size_t cap, count;
    int32_t *buckets;
    size_t nbuckets;
    int32_t head, tail, free_list;
};

static void apply_defaults(zt_throttle_cfg *c)
{
    if (c->account_failure_limit == 0)
        c->account_failure_limit = 100;
    if (c->source_failures_per_minute == 0)
        c->source_failures_per_minute = 30;
    if (c->free_failures == 0) /* docs/SESSIONS.md: 3 (was left at 0 before) */
        c->free_failures = 3;
    if (c->base_delay_ms == 0)
        c->base_delay_ms = 500;
    if (c->max_delay_ms == 0)
        c->max_delay_ms = 30000;
    if (c->max_entries < 2)
        c->max_entries = 100000;
    if (c->source_failures_per_minute > UINT16_MAX)
        c->source_failures_per_minute = UINT16_MAX;
    if (c->max_hold_ms == 0)
        c->max_hold_ms = 2000;
}

/* ---- table ---- */

static size_t bucket_of(const zt_throttle *t, const unsigned char *key)
{
    uint64_t v;
    memcpy(&v, key, sizeof(v));
    return (size_t)(v & (t->nbuckets - 1));
}

static void make_key(const zt_throttle *t, char kind, const char *s, unsigned char key[KEY_LEN])
{
    unsigned char buf[ACCOUNT_MAX + 1];
    size_t n = strnlen(s, ACCOUNT_MAX);
    buf[0] = (unsigned char)kind;
    for (size_t i = 0; i < n; i++)
        buf[i + 1] = (unsigned char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    crypto_generichash(key, KEY_LEN, buf, n + 1, t->hash_key, sizeof(t->hash_key));
}

static void lru_unlink(zt_throttle *t, int32_t i)
{
    th_entry *e = &t->e[i];
    if (e->prev != NIL)
        t->e[e->prev].next = e->next;
    else
        t->head = e->next;
    if (e->next != NIL)
        t->e[e->next].prev = e->prev;
    else
        t->tail = e->prev;
    e->prev = e->next = NIL;
}

static void lru_push(zt_throttle *t, int32_t i)
{
    th_entry *e = &t->e[i];
    e->prev = NIL;
    e->next = t->head;
    if (t->head != NIL)
        t->e[t->head].prev = i;
    t->head = i;
    if (t->tail == NIL)
        t->tail = i;
}

static int32_t find(const zt_throttle *t, const unsigned char *key)
{
    for (int32_t i = t->buckets[bucket_of(t, key)]; i != NIL; i = t->e[i].chain)
        if (memcmp(t->e[i].key, key, KEY_LEN) == 0)
            return i;
    return NIL;
}

static void remove_entry(zt_throttle *t, int32_t i)
{
    int32_t *pp = &t->buckets[bucket_of(t, t->e[i].key)];
    while (*pp != i)
        pp = &t->e[*pp].chain;
    *pp = t->e[i].chain;
    lru_unlink(t, i);
    memset(&t->e[i], 0, sizeof(t->e[i]));
    t->e[i].prev = t->e[i].next = NIL;
    t->e[i].chain = t->free_list;
    t->free_list = i;
    t->count--;
}

static bool reserved(const th_entry *e)
{
    if (e->kind == KIND_SOURCE)
        return e->u.src.pending > 0;
    return e->u.side[0].pending > 0 || e->u.side[1].pending > 0;
}

/* Forget the least recently used entry that holds no reservation: forgetting one that does
 * would lose attempts in flight. False when none is found near the tail. */
static bool evict_one(zt_throttle *t)
{
    int32_t i = t->tail;
    for (int n = 0; i != NIL && n < EVICT_SCAN; n++, i = t->e[i].prev)
        if (!reserved(&t->e[i])) {
            remove_entry(t, i);
            return true;
        }
    return false;
}

/* A new zeroed entry for key: a free slot, a fresh one while the array may grow, else the
 * least recently used one without reservations. NIL when memory runs out or every entry near
 * the tail is reserved. */
static int32_t insert(zt_throttle *t, const unsigned char *key, char kind)
{
    while (t->count >= t->cfg.max_entries)
        if (!evict_one(t))
            return NIL;
    if (t->free_list == NIL) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > t->cfg.max_entries)
            cap = t->cfg.max_entries;
        if (cap <= t->cap) { /* max_entries reached: evict */
            if (!evict_one(t))
                return NIL;
        } else {
            th_entry *e = realloc(t->e, cap * sizeof(*e));
            if (e == NULL)
                return NIL;
            t->e = e;
            for (size_t i = t->cap; i < cap; i++) {
                memset(&e[i], 0, sizeof(e[i]));
                e[i].prev = e[i].next = NIL;
                e[i].chain = i + 1 < cap ? (int32_t)(i + 1) : t->free_list;
            }
            t->free_list = (int32_t)t->cap;
            t->cap = cap;
        }
    }
    int32_t i = t->free_list;
    th_entry *e = &t->e[i];
    t->free_list = e->chain;
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, KEY_LEN);
    e->used = true;
    e->kind = kind;
    size_t b = bucket_of(t, key);
    e->chain = t->buckets[b];
    t->buckets[b] = i;
    lru_push(t, i);
    t->count++;
    return i;
}

static int32_t get_key(zt_throttle *t, const unsigned char *key, char kind, bool create)
{
    int32_t i = find(t, key);
    if (i != NIL) {
        lru_unlink(t, i);
        lru_push(t, i);
    } else if (create) {
        i = insert(t, key, kind);
    }
    return i;
}

static int32_t get(zt_throttle *t, char kind, const char *s, bool create)
{
    unsigned char key[KEY_LEN];
    if (s == NULL)
        return NIL;
    make_key(t, kind, s, key);
    return get_key(t, key, kind, create);
}

/* ---- lifecycle ---- */

zt_throttle *zt_throttle_new(const zt_throttle_cfg *cfg)
{
    zt_throttle *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (cfg != NULL)
        t->cfg = *cfg;
    apply_defaults(&t->cfg);
    /* Sized once for the configured maximum; a later larger maximum only lengthens chains. */
    t->nbuckets = 1;
    while (t->nbuckets < t->cfg.max_entries && t->nbuckets < (1u << 24))
        t->nbuckets <<= 1;
    t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    for (size_t b = 0; b < t->nbuckets; b++)
        t->buckets[b] = NIL;
    t->head = t->tail = t->free_list = NIL;
    randombytes_buf(t->hash_key, sizeof(t->hash_key));
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void zt_throttle_free(zt_throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    sodium_memzero(t->hash_key, sizeof(t->hash_key));
    free(t->e);
    free(t->buckets);
    free(t);
}

void zt_throttle_configure(zt_throttle *t, const zt_throttle_cfg *cfg)
{
    if (t == NULL || cfg == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->cfg = *cfg;
    apply_defaults(&t->cfg);
    while (t->count > t->cfg.max_entries && evict_one(t))
        ;
    pthread_mutex_unlock(&t->mu);
}

unsigned zt_throttle_entries(zt_throttle *t)
{
    pthread_mutex_lock(&t->mu);
    unsigned n = (unsigned)t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* ---- rules ---- */

static int64_t sec_of(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static size_t slot_of(int64_t sec)
{
    return (size_t)(((sec % SLOTS) + SLOTS) % SLOTS);
}

/* Move the window so its newest bucket is `sec`, zeroing the seconds that slid in. */
static void src_slide(th_entry *e, int64_t sec)
{
    if (sec <= e->u.src.sec)
        return;
    int64_t gap = sec - e->u.src.sec;
    if (gap >= SLOTS)
        memset(e->u.src.n, 0, sizeof(e->u.src.n));
    else
        for (int64_t s = e->u.src.sec + 1; s <= sec; s++)
            e->u.src.n[slot_of(s)] = 0;
    e->u.src.sec = sec;
}

/* Seconds until failures in the window plus reservations drop below the limit, or 0 when they
 * already are. Reservations alone at the limit: a second (their verdicts are due). */
static uint64_t src_retry_after(th_entry *e, int64_t now_s, unsigned limit)
{
    src_slide(e, now_s);
    if (e->u.src.pending >= limit)
        return 1;
    unsigned room = limit - e->u.src.pending;
    unsigned total = 0;
    for (int k = 0; k < SLOTS; k++)
        total += e->u.src.n[k];
    if (total < room)
        return 0;
    /* Walk from the oldest second: once enough have slid out we are under the limit. */
    for (int64_t s = now_s - SLOTS + 1; s <= now_s; s++) {
        total -= e->u.src.n[slot_of(s)];
        if (total < room)
            return (uint64_t)(s + SLOTS - now_s);
    }
    return SLOTS;
}

/* The side's failures still in force: a quiet spell of ACCOUNT_RESET_MS forgives them. */
static uint32_t side_fails(const th_side *sd, int64_t now_ms)
{
    return now_ms - sd->last_fail_ms >= ZT_THROTTLE_ACCOUNT_RESET_MS ? 0 : sd->fails;
}

static uint64_t delay_for(const zt_throttle_cfg *c, uint32_t fails)
{
    if (fails <= c->free_failures)
        return 0;
    uint32_t shift = fails - c->free_failures - 1;
    if (shift >= 63 || c->base_delay_ms > (c->max_delay_ms >> shift))
        return c->max_delay_ms;
    uint64_t d = c->base_delay_ms << shift;
    return d < c->max_delay_ms ? d : c->max_delay_ms;
}

/* The rules, on entries already looked up (NULL: nothing remembered). Reservations count as
 * failures: admitted guesses can only end in failures or a success that resets. */
static zt_throttle_verdict evaluate(const zt_throttle_cfg *cfg, th_entry *ae, th_entry *se,
                                    bool known, int64_t now_ms)
{
    zt_throttle_verdict v = {.result = ZT_THROTTLE_GO};
    if (se != NULL) {
        v.retry_after_s = src_retry_after(se, sec_of(now_ms), cfg->source_failures_per_minute);
        if (v.retry_after_s > 0) {
            v.result = ZT_THROTTLE_SOURCE;
            return v;
        }
    }
    if (ae == NULL)
        return v;
    const th_side *sd = &ae->u.side[known ? 1 : 0];
    uint32_t fails = side_fails(sd, now_ms);
    if (fails >= cfg->account_failure_limit) {
        v.result = ZT_THROTTLE_ACCOUNT;
    } else if (fails + (uint64_t)sd->pending >= cfg->account_failure_limit) {
        v.result = ZT_THROTTLE_WAIT; /* the guesses in flight fill the limit */
        v.retry_after_s = 1;
    } else {
        /* The wait counts from the last failure, so a patient client is not held twice; each
         * attempt in flight counts as one more failure, so a burst is spread out. */
        uint64_t d = delay_for(cfg, fails + sd->pending);
        uint64_t since =
            now_ms > sd->last_fail_ms ? (uint64_t)now_ms - (uint64_t)sd->last_fail_ms : 0;
        v.delay_ms = d > since ? d - since : 0;
    }
    return v;
}

static th_entry *at(zt_throttle *t, int32_t i)
{
    return i != NIL ? &t->e[i] : NULL;
}

/* Admission's cut: a delay longer than max_hold_ms is a refusal with a wait. */
static void cut_long_delay(const zt_throttle_cfg *cfg, zt_throttle_verdict *v)
{
    if (v->result == ZT_THROTTLE_GO && v->delay_ms > cfg->max_hold_ms) {
        v->result = ZT_THROTTLE_WAIT;
        v->retry_after_s = (v->delay_ms + 999) / 1000;
        v->delay_ms = 0;
    }
}

/* ---- shared mode: the state comes from the database ---- */

static uint32_t clamp32(int64_t v)
{
    return v <= 0 ? 0 : v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Scratch entries holding what an admission read from the database. */
static void seen_to_entries(const zt_store_throttle_seen *sn, bool known, int64_t now_ms,
                            th_entry *ae, th_entry *se)
{
    memset(ae, 0, sizeof(*ae));
    memset(se, 0, sizeof(*se));
    ae->kind = KIND_ACCOUNT;
    th_side *sd = &ae->u.side[known ? 1 : 0];
    sd->fails = clamp32(sn->fails);
    sd->pending = clamp32(sn->account_pending);
    sd->last_fail_ms = sn->last_fail_ms;
    se->kind = KIND_SOURCE;
    se->u.src.started = true;
    se->u.src.sec = sec_of(now_ms);
    se->u.src.pending = clamp32(sn->source_pending);
    for (size_t i = 0; i < sn->n_secs; i++) {
        if (sn->sec[i] <= se->u.src.sec - SLOTS)
            continue;
        uint16_t *n = &se->u.src.n[slot_of(sn->sec[i])];
        int64_t sum = (int64_t)*n + sn->count[i];
        *n = sum >= UINT16_MAX ? UINT16_MAX : (uint16_t)sum;
    }
}

static void shared_warn(const char *what)
{
    zt_warn("throttle: %s in the database failed: %s", what, zt_store_errmsg());
}

/* The database's state of the ticket's keys (hold: take reservations too). False on error. */
static bool shared_read(zt_store *st, zt_throttle_ticket *k, int64_t now_ms, bool hold,
                        zt_store_throttle_seen *sn)
{
    int rc = zt_store_throttle_admit(st, k->has_account ? k->account_key : NULL,
                                     k->known_device ? 1 : 0, k->has_source ? k->source_key : NULL,
                                     now_ms, hold ? now_ms + ZT_THROTTLE_HOLD_TTL_MS : 0, sn);
    if (rc != 0) {
        shared_warn(hold ? "admitting an attempt" : "reading the limits");
        return false;
    }
    return true;
}

/* Admission through the database: read and reserve in one call, evaluate here, then give
 * back what the verdict does not keep (GO keeps both, ACCOUNT the source's only). */
static zt_throttle_verdict shared_admit(zt_store *st, const zt_throttle_cfg *cfg,
                                        zt_throttle_ticket *k, int64_t now_ms)
{
    zt_store_throttle_seen sn;
    if (!shared_read(st, k, now_ms, true, &sn)) /* fail closed */
        return (zt_throttle_verdict){.result = ZT_THROTTLE_SOURCE, .retry_after_s = 1};
    th_entry ae, se;
    seen_to_entries(&sn, k->known_device, now_ms, &ae, &se);
    zt_throttle_verdict v = evaluate(cfg, k->has_account ? &ae : NULL, k->has_source ? &se : NULL,
                                     k->known_device, now_ms);
    cut_long_delay(cfg, &v);
    bool keep_source = v.result == ZT_THROTTLE_GO || v.result == ZT_THROTTLE_ACCOUNT;
    bool keep_account = v.result == ZT_THROTTLE_GO;
    int64_t drop1 = keep_account ? 0 : sn.account_hold, drop2 = keep_source ? 0 : sn.source_hold;
    if ((drop1 != 0 || drop2 != 0) && zt_store_throttle_unhold(st, drop1, drop2) != 0)
        shared_warn("dropping a reservation"); /* it expires by ZT_THROTTLE_HOLD_TTL_MS */
    k->shared = true;
    k->account_hold = keep_account ? sn.account_hold : 0;
    k->source_hold = keep_source ? sn.source_hold : 0;
    k->account_held = k->account_hold != 0;
    k->source_held = k->source_hold != 0;
    k->counts = keep_source;
    return v;
}

static zt_store *shared_of(zt_throttle *t, zt_throttle_cfg *cfg)
{
    pthread_mutex_lock(&t->mu);
    zt_store *st = t->shared;
    *cfg = t->cfg;
    pthread_mutex_unlock(&t->mu);
    return st;
}

int zt_throttle_set_shared(zt_throttle *t, zt_store *store,
                           const unsigned char key[ZT_THROTTLE_SHARED_KEY_LEN])
{
    _Static_assert(ZT_THROTTLE_SHARED_KEY_LEN == crypto_generichash_KEYBYTES, "hash key size");
    _Static_assert(KEY_LEN == ZT_STORE_COUNTER_KEY_LEN, "key size");
    if (t == NULL || store == NULL || key == NULL)
        return -EINVAL;
    if (!zt_store_counter_shared(store))
        return -ENOTSUP;
    pthread_mutex_lock(&t->mu);
    t->shared = store;
    memcpy(t->hash_key, key, sizeof(t->hash_key));
    pthread_mutex_unlock(&t->mu);
    return 0;
}

static void ticket_keys(zt_throttle *t, zt_throttle_ticket *k, const char *account, const char *ip)
{
    if ((k->has_account = account != NULL))
        make_key(t, KIND_ACCOUNT, account, k->account_key);
    if ((k->has_source = ip != NULL))
        make_key(t, KIND_SOURCE, ip, k->source_key);
}

zt_throttle_verdict zt_throttle_check(zt_throttle *t, const char *account, const char *ip,
                                      bool known_device, int64_t now_ms)
{
    zt_throttle_cfg cfg;
    zt_store *st = shared_of(t, &cfg);
    if (st != NULL) {
        zt_throttle_ticket k = {.known_device = known_device};
        zt_store_throttle_seen sn;
        ticket_keys(t, &k, account, ip);
        if (!shared_read(st, &k, now_ms, false, &sn))
            return (zt_throttle_verdict){.result = ZT_THROTTLE_SOURCE, .retry_after_s = 1};
        th_entry ae, se;
        seen_to_entries(&sn, known_device, now_ms, &ae, &se);
        return evaluate(&cfg, k.has_account ? &ae : NULL, k.has_source ? &se : NULL, known_device,
                        now_ms);
    }
    pthread_mutex_lock(&t->mu);
    int32_t si = get(t, KIND_SOURCE, ip, false);
    int32_t ai = get(t, KIND_ACCOUNT, account, false);
    zt_throttle_verdict v = evaluate(&t->cfg, at(t, ai), at(t, si), known_device, now_ms);
    pthread_mutex_unlock(&t->mu);
    return v;
}

/* Take the reservations of an admitted attempt. False when an entry cannot be made. */
static bool reserve(zt_throttle *t, zt_throttle_ticket *k, bool account)
{
    int32_t si = k->has_source ? get_key(t, k->source_key, KIND_SOURCE, true) : NIL;
    if (k->has_source && si == NIL)
        return false;
    if (si != NIL) {
        t->e[si].u.src.pending++; /* pinned now: the account insert cannot evict it */
        k->source_held = true;
    }
    int32_t ai = account && k->has_account ? get_key(t, k->account_key, KIND_ACCOUNT, true) : NIL;
    if (account && k->has_account && ai == NIL)
        return false;
    if (ai != NIL) {
        t->e[ai].u.side[k->known_device ? 1 : 0].pending++;
        k->account_held = true;
    }
    return true;
}

static void unreserve(zt_throttle *t, zt_throttle_ticket *k)
{
    int32_t si = k->source_held ? find(t, k->source_key) : NIL;
    if (si != NIL && t->e[si].u.src.pending > 0)
        t->e[si].u.src.pending--;
    int32_t ai = k->account_held ? find(t, k->account_key) : NIL;
    th_side *sd = ai != NIL ? &t->e[ai].u.side[k->known_device ? 1 : 0] : NULL;
    if (sd != NULL && sd->pending > 0)
        sd->pending--;
    k->source_held = k->account_held = false;
}

zt_throttle_verdict zt_throttle_admit(zt_throttle *t, const char *account, const char *ip,
                                      bool known_device, int64_t now_ms, zt_throttle_ticket *ticket)
{
    zt_throttle_ticket *k = ticket;
    memset(k, 0, sizeof(*k));
    k->known_device = known_device;
    zt_throttle_cfg cfg;
    zt_store *st = shared_of(t, &cfg);
    if (st != NULL) {
        ticket_keys(t, k, account, ip);
        return shared_admit(st, &cfg, k, now_ms);
    }
    pthread_mutex_lock(&t->mu);
    ticket_keys(t, k, account, ip);
    int32_t si = k->has_source ? get_key(t, k->source_key, KIND_SOURCE, false) : NIL;
    int32_t ai = k->has_account ? get_key(t, k->account_key, KIND_ACCOUNT, false) : NIL;
    zt_throttle_verdict v = evaluate(&t->cfg, at(t, ai), at(t, si), known_device, now_ms);
    cut_long_delay(&t->cfg, &v);
    /* A locked attempt is settled as a failure too, so it takes a source reservation. */
    bool takes = v.result == ZT_THROTTLE_GO || v.result == ZT_THROTTLE_ACCOUNT;
    if (takes && !reserve(t, k, v.result == ZT_THROTTLE_GO)) {
        unreserve(t, k);
        v = (zt_throttle_verdict){.result = ZT_THROTTLE_SOURCE, .retry_after_s = 1};
        takes = false;
    }
    k->counts = takes;
    pthread_mutex_unlock(&t->mu);
    return v;
}

/* A verdict into the tables (the caller holds the lock). */
static void record_locked(zt_throttle *t, const unsigned char *akey, const unsigned char *skey,
                          bool known_device, bool success, int64_t now_ms)
{
    int32_t ai = akey != NULL ? get_key(t, akey, KIND_ACCOUNT, !success) : NIL;
    if (ai != NIL) {
        th_side *sd = &t->e[ai].u.side[known_device ? 1 : 0];
        if (success) {
            sd->fails = 0;
        } else {
            uint32_t fails = side_fails(sd, now_ms);
            sd->fails = fails < UINT32_MAX ? fails + 1 : fails;
            sd->last_fail_ms = now_ms;
        }
    }
    int32_t si = success || skey == NULL ? NIL : get_key(t, skey, KIND_SOURCE, true);
    if (si != NIL) {
        th_entry *e = &t->e[si];
        int64_t sec = sec_of(now_ms);
        if (!e->u.src.started) { /* new entry: its window starts now */
            e->u.src.sec = sec;
            e->u.src.started = true;
        }
        src_slide(e, sec);
        if (sec > e->u.src.sec - SLOTS) {
            uint16_t *n = &e->u.src.n[slot_of(sec)];
            if (*n < UINT16_MAX)
                (*n)++;
        }
    }
}

void zt_throttle_settle(zt_throttle *t, zt_throttle_ticket *ticket, bool success, int64_t now_ms)
{
    zt_throttle_ticket *k = ticket;
    if (t == NULL || k == NULL || !k->counts)
        return;
    if (k->shared) {
        zt_throttle_cfg cfg;
        zt_store *st = shared_of(t, &cfg);
        if (zt_store_throttle_settle(st, k->has_account ? k->account_key : NULL,
                                     k->known_device ? 1 : 0, k->has_source ? k->source_key : NULL,
                                     success, now_ms, ZT_THROTTLE_ACCOUNT_RESET_MS, k->account_hold,
                                     k->source_hold) != 0)
            shared_warn("recording a verdict");
        k->account_hold = k->source_hold = 0;
        k->account_held = k->source_held = k->counts = false;
        return;
    }
    pthread_mutex_lock(&t->mu);
    unreserve(t, k);
    record_locked(t, k->has_account ? k->account_key : NULL, k->has_source ? k->source_key : NULL,
                  k->known_device, success, now_ms);
    k->counts = false;
    pthread_mutex_unlock(&t->mu);
}

void zt_throttle_release(zt_throttle *t, zt_throttle_ticket *ticket)
{
    if (t == NULL || ticket == NULL)
        return;
    if (ticket->shared) {
        zt_throttle_cfg cfg;
        zt_store *st = shared_of(t, &cfg);
        if ((ticket->account_hold != 0 || ticket->source_hold != 0) &&
            zt_store_throttle_unhold(st, ticket->account_hold, ticket->source_hold) != 0)
            shared_warn("dropping a reservation");
        ticket->account_hold = ticket->source_hold = 0;
        ticket->account_held = ticket->source_held = ticket->counts = false;
        return;
    }
    pthread_mutex_lock(&t->mu);
    unreserve(t, ticket);
    ticket->counts = false;
    pthread_mutex_unlock(&t->mu);
}

void zt_throttle_record(zt_throttle *t, const char *account, const char *ip, bool known_device,
                        bool success, int64_t now_ms)
{
    unsigned char akey[KEY_LEN], skey[KEY_LEN];
    zt_throttle_cfg cfg;
    zt_store *st = shared_of(t, &cfg);
    if (st != NULL) {
        zt_throttle_ticket k = {.known_device = known_device, .shared = true, .counts = true};
        ticket_keys(t, &k, account, ip);
        zt_throttle_settle(t, &k, success, now_ms);
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (account != NULL)
        make_key(t, KIND_ACCOUNT, account, akey);
    if (ip != NULL)
        make_key(t, KIND_SOURCE, ip, skey);
    record_locked(t, account != NULL ? akey : NULL, ip != NULL ? skey : NULL, known_device, success,
                  now_ms);
    pthread_mutex_unlock(&t->mu);
}
