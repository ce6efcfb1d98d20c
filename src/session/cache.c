/* The per-loop session cache: a hash table (chained through indices) over entries with LRU
 * eviction, keyed by the id hash. A hit validates expiry and host from memory; the store is read
 * on a miss and written at most every ZT_SESSION_TOUCH_EVERY_S to move the idle expiry. When the
 * shared revocation counter moves, every entry is dropped before answering. Sessions still owing
 * a second factor are never answered from memory, so finishing MFA on one loop is seen on all of
 * them. One loop thread per cache: no locks.
 *
 * Memory follows use, not capacity: entries live in blocks of BLOCK_ENTRIES allocated as the
 * cache fills (an idle gateway holds none), an entry keeps its strings in one exact-size block,
 * and the zt_session_info a lookup returns is built in one slot per cache (`cur`) instead of
 * being stored, fixed-size, in every entry. Cached assertions (the largest part of a busy
 * entry) share a byte budget per cache; past it the least recently used ones are dropped and
 * simply signed again when next needed. */
#define ZT_SESSION_INTERNAL
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "session/session.h"
#include "store/store.h"

#define NIL (-1)
#define BLOCK_SHIFT 8
#define BLOCK_ENTRIES (1 << BLOCK_SHIFT)
#define ASSERT_BUDGET (4u << 20) /* bytes of cached assertions per cache */

typedef struct c_assert {
    char *mem; /* key, NUL, token, NUL; owned. NULL = free slot */
    uint32_t key_len, len;
    int64_t refresh_at;
} c_assert;

typedef struct c_entry {
    char id_hash[ZT_SESSION_HASH_LEN + 1];
    char user_id[ZT_STORE_ID_LEN + 1];
    bool used;
    bool mfa_pending;
    int8_t user_risk, sign_in_risk;
    uint8_t amr; /* ZT_AMR_* */
    bool has_aaguid;
    unsigned char aaguid[16]; /* the passkey's (zt_session_info.passkey_aaguid) */
    int32_t chain;            /* next in bucket, or next free */
    int32_t prev, next;       /* LRU list, most recent at head */
    int32_t a_prev, a_next;   /* list of entries holding assertions, most recent at head */
    uint32_t n_groups;
    int64_t auth_time, mfa_time, idle_expires_at, absolute_expires_at;
    int64_t stored_idle;     /* idle expiry as the store has it */
    int64_t user_expires_at; /* the account's expiry when loaded (0 never): then read again */
    /* One block: the group name pointers (NULL-ended), then email, name, host, mfa_method,
     * device_id, the group names and the groups csv, each NUL-ended. Owned. */
    char *strings;
    c_assert *asserts; /* ZT_SESSION_ASSERT_SLOTS, allocated with the first assertion */
    size_t assert_bytes;
} c_entry;

struct zt_session_cache {
    zt_sessions *s;
    c_entry **blocks; /* cap / BLOCK_ENTRIES (rounded up) pointers, each NULL until needed */
    size_t cap;
    int32_t n_made;   /* entries handed out at least once since the last drop_all */
    int32_t *buckets; /* entry index + 1; 0 = empty (so a fresh zeroed array is empty) */
    size_t nbuckets;  /* power of two */
    int32_t head, tail, free_list;
    int32_t a_head, a_tail;
    size_t assert_bytes;
    uint64_t seen;        /* revocation counter when the entries were last known good */
    zt_session_info cur;  /* the entry answered last, as callers see it */
    int32_t cur_idx;      /* its entry, NIL when cur is not an entry's */
    zt_session_info last; /* a record found but not cached (expired, revoked) */
};

static const char *const no_groups[1] = {NULL};

static c_entry *at(const zt_session_cache *c, int32_t i)
{
    return &c->blocks[i >> BLOCK_SHIFT][i & (BLOCK_ENTRIES - 1)];
}

static size_t bucket_of(const zt_session_cache *c, const char *hash)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = hash[i];
        v = v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    return (size_t)(v & (c->nbuckets - 1));
}

static int32_t bucket_first(const zt_session_cache *c, size_t b)
{
    return c->buckets[b] - 1;
}

static void bucket_set(zt_session_cache *c, size_t b, int32_t i)
{
    c->buckets[b] = i + 1;
}

/* ---- assertions ---- */

static void asserts_unlink(zt_session_cache *c, int32_t i)
{
    c_entry *e = at(c, i);
    if (e->a_prev != NIL)
        at(c, e->a_prev)->a_next = e->a_next;
    else if (c->a_head == i)
        c->a_head = e->a_next;
    if (e->a_next != NIL)
        at(c, e->a_next)->a_prev = e->a_prev;
    else if (c->a_tail == i)
        c->a_tail = e->a_prev;
    e->a_prev = e->a_next = NIL;
}

static void asserts_push(zt_session_cache *c, int32_t i)
{
    c_entry *e = at(c, i);
    e->a_prev = NIL;
    e->a_next = c->a_head;
    if (c->a_head != NIL)
        at(c, c->a_head)->a_prev = i;
    c->a_head = i;
    if (c->a_tail == NIL)
        c->a_tail = i;
}

static void asserts_free(zt_session_cache *c, int32_t i)
{
    c_entry *e = at(c, i);
    if (e->asserts == NULL)
        return;
    asserts_unlink(c, i);
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS; k++)
        free(e->asserts[k].mem);
    free(e->asserts);
    e->asserts = NULL;
    c->assert_bytes -= e->assert_bytes;
    e->assert_bytes = 0;
}

/* ---- entries ---- */

static void entry_clear(zt_session_cache *c, int32_t i)
{
    asserts_free(c, i);
    c_entry *e = at(c, i);
    free(e->strings);
    memset(e, 0, sizeof(*e));
    e->a_prev = e->a_next = NIL;
}

static void lru_unlink(zt_session_cache *c, int32_t i)
{
    c_entry *e = at(c, i);
    if (e->prev != NIL)
        at(c, e->prev)->next = e->next;
    else
        c->head = e->next;
    if (e->next != NIL)
        at(c, e->next)->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NIL;
}

static void lru_push(zt_session_cache *c, int32_t i)
{
    c_entry *e = at(c, i);
    e->prev = NIL;
    e->next = c->head;
    if (c->head != NIL)
        at(c, c->head)->prev = i;
    c->head = i;
    if (c->tail == NIL)
        c->tail = i;
}

static int32_t find(const zt_session_cache *c, const char *hash)
{
    for (int32_t i = bucket_first(c, bucket_of(c, hash)); i != NIL; i = at(c, i)->chain)
        if (strcmp(at(c, i)->id_hash, hash) == 0)
            return i;
    return NIL;
}

static void remove_entry(zt_session_cache *c, int32_t i)
{
    size_t b = bucket_of(c, at(c, i)->id_hash);
    if (bucket_first(c, b) == i) {
        bucket_set(c, b, at(c, i)->chain);
    } else {
        int32_t p = bucket_first(c, b);
        while (at(c, p)->chain != i)
            p = at(c, p)->chain;
        at(c, p)->chain = at(c, i)->chain;
    }
    lru_unlink(c, i);
    entry_clear(c, i);
    if (c->cur_idx == i)
        c->cur_idx = NIL;
    c_entry *e = at(c, i);
    e->chain = c->free_list;
    e->prev = e->next = NIL;
    c->free_list = i;
}

static size_t block_count(const zt_session_cache *c)
{
    return (c->cap + BLOCK_ENTRIES - 1) / BLOCK_ENTRIES;
}

/* Every entry forgotten and its memory given back; blocks are allocated again as needed. */
static void drop_all(zt_session_cache *c)
{
    for (int32_t i = 0; i < c->n_made; i++)
        entry_clear(c, i);
    for (size_t k = 0; k < block_count(c); k++) {
        free(c->blocks[k]);
        c->blocks[k] = NULL;
    }
    /* A fresh zeroed array is all empty buckets without touching its pages. */
    int32_t *fresh = calloc(c->nbuckets, sizeof(*fresh));
    if (fresh != NULL) {
        free(c->buckets);
        c->buckets = fresh;
    } else {
        memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
    }
    c->n_made = 0;
    c->head = c->tail = c->free_list = NIL;
    c->a_head = c->a_tail = NIL;
    c->assert_bytes = 0;
    c->cur_idx = NIL;
}

/* A free entry: a released one, else a new one (its block allocated on first use), else the
 * least recently used one, evicted. NIL when memory runs out. */
static int32_t alloc_entry(zt_session_cache *c)
{
    if (c->free_list == NIL && (size_t)c->n_made < c->cap) {
        int32_t i = c->n_made;
        c_entry **block = &c->blocks[i >> BLOCK_SHIFT];
        if (*block == NULL && (*block = calloc(BLOCK_ENTRIES, sizeof(**block))) == NULL)
            return NIL;
        c->n_made++;
        c_entry *e = at(c, i);
        e->prev = e->next = e->a_prev = e->a_next = NIL;
        e->chain = NIL;
        return i;
    }
    if (c->free_list == NIL)
        remove_entry(c, c->tail);
    int32_t i = c->free_list;
    c->free_list = at(c, i)->chain;
    at(c, i)->chain = NIL;
    return i;
}

zt_session_cache *zt_session_cache_new(zt_sessions *s, size_t capacity)
{
    if (s == NULL)
        return NULL;
    if (capacity == 0)
        capacity = ZT_SESSION_CACHE_DEFAULT;
    if (capacity > ZT_SESSION_CACHE_MAX)
        capacity = ZT_SESSION_CACHE_MAX;
    zt_session_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->s = s;
    c->cap = capacity;
    c->nbuckets = 1;
    while (c->nbuckets < capacity)
        c->nbuckets <<= 1;
    c->blocks = calloc(block_count(c), sizeof(*c->blocks));
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->blocks == NULL || c->buckets == NULL) {
        zt_session_cache_free(c);
        return NULL;
    }
    c->head = c->tail = c->free_list = NIL;
    c->a_head = c->a_tail = NIL;
    c->cur_idx = NIL;
    c->seen = zt_sessions_revocation(s);
    return c;
}

void zt_session_cache_free(zt_session_cache *c)
{
    if (c == NULL)
        return;
    if (c->blocks != NULL)
        drop_all(c);
    free(c->blocks);
    free(c->buckets);
    free(c);
}

void zt_session_cache_forget(zt_session_cache *c, const char *id_hash)
{
    if (c == NULL || id_hash == NULL || strlen(id_hash) != ZT_SESSION_HASH_LEN)
        return;
    int32_t i = find(c, id_hash);
    if (i != NIL)
        remove_entry(c, i);
}

/* ---- filling from the store ---- */

typedef struct group_list {
    char names[ZT_SESSION_MAX_GROUPS][ZT_STORE_GROUP_MAX + 1];
    size_t n;
    size_t bytes;
} group_list;

static int group_cb(void *ctx, const char *name)
{
    group_list *g = ctx;
    if (g->n == ZT_SESSION_MAX_GROUPS)
        return -E2BIG; /* dropping a group could drop a deny: fail closed instead */
    size_t len = strlen(name);
    memcpy(g->names[g->n++], name, len + 1);
    g->bytes += len + 1;
    return 0;
}

static size_t str_size(const char *s)
{
    return strlen(s) + 1;
}

static char *put_str(char **p, const char *s)
{
    size_t n = str_size(s);
    char *at = memcpy(*p, s, n);
    *p += n;
    return at;
}

/* The entry's strings, group names and csv in one exact-size block. */
static int set_strings(c_entry *e, const zt_store_session *r, const zt_user *u, const group_list *g)
{
    size_t ptrs = (g->n + 1) * sizeof(const char *);
    size_t bytes = ptrs + str_size(u->email) + str_size(u->name) + str_size(r->host) +
                   str_size(r->mfa_method) + str_size(r->device_id) + g->bytes * 2 + 1;
    e->strings = malloc(bytes);
    if (e->strings == NULL)
        return -ENOMEM;
    const char **groups = (const char **)(void *)e->strings;
    char *p = e->strings + ptrs;
    put_str(&p, u->email);
    put_str(&p, u->name);
    put_str(&p, r->host);
    put_str(&p, r->mfa_method);
    put_str(&p, r->device_id);
    for (size_t i = 0; i < g->n; i++)
        groups[i] = put_str(&p, g->names[i]);
    groups[g->n] = NULL;
    for (size_t i = 0; i < g->n; i++) {
        if (i > 0)
            *p++ = ',';
        size_t len = strlen(g->names[i]);
        memcpy(p, g->names[i], len);
        p += len;
    }
    *p = '\0';
    e->n_groups = (uint32_t)g->n;
    return 0;
}

/* Copies at most dst_size - 1 bytes; the stored strings always fit the info's arrays. */
static const char *get_str(char *dst, size_t dst_size, const char *src)
{
    size_t n = strlen(src);
    if (n >= dst_size)
        n = dst_size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return src + strlen(src) + 1;
}

/* The first of the idle, absolute and account expiries (account 0 = none). */
static int64_t earliest_expiry(int64_t idle, int64_t absolute, int64_t account)
{
    int64_t t = idle < absolute ? idle : absolute;
    return account > 0 && account < t ? account : t;
}

/* The entry as callers see it, in the cache's `cur` slot. */
static const zt_session_info *materialize(zt_session_cache *c, int32_t i)
{
    const c_entry *e = at(c, i);
    zt_session_info *info = &c->cur;
    memcpy(info->id_hash, e->id_hash, sizeof(info->id_hash));
    memcpy(info->user_id, e->user_id, sizeof(info->user_id));
    const char *p = e->strings + (e->n_groups + 1) * sizeof(const char *);
    p = get_str(info->email, sizeof(info->email), p);
    p = get_str(info->name, sizeof(info->name), p);
    p = get_str(info->host, sizeof(info->host), p);
    p = get_str(info->mfa_method, sizeof(info->mfa_method), p);
    p = get_str(info->device_id, sizeof(info->device_id), p);
    info->groups = (const char *const *)(const void *)e->strings;
    info->n_groups = e->n_groups;
    info->groups_csv =
        e->n_groups > 0 ? info->groups[e->n_groups - 1] + strlen(info->groups[e->n_groups - 1]) + 1
                        : p;
    info->auth_time = e->auth_time;
    info->mfa_time = e->mfa_time;
    info->mfa_pending = e->mfa_pending;
    info->idle_expires_at = e->idle_expires_at;
    info->absolute_expires_at = e->absolute_expires_at;
    info->expires_at =
        earliest_expiry(e->idle_expires_at, e->absolute_expires_at, e->user_expires_at);
    info->user_risk = e->user_risk;
    info->sign_in_risk = e->sign_in_risk;
    info->amr = e->amr;
    info->has_passkey_aaguid = e->has_aaguid;
    memcpy(info->passkey_aaguid, e->aaguid, 16);
    c->cur_idx = i;
    return info;
}

static void info_from_record(zt_session_info *info, const zt_store_session *r)
{
    memset(info, 0, sizeof(*info));
    memcpy(info->id_hash, r->id_hash, ZT_SESSION_HASH_LEN);
    memcpy(info->user_id, r->user_id, sizeof(info->user_id));
    memcpy(info->host, r->host, sizeof(r->host));
    memcpy(info->mfa_method, r->mfa_method, sizeof(info->mfa_method));
    memcpy(info->device_id, r->device_id, sizeof(info->device_id));
    info->auth_time = r->auth_time;
    info->mfa_time = r->mfa_time;
    info->mfa_pending = r->mfa_pending;
    info->user_risk = r->user_risk;
    info->sign_in_risk = r->sign_in_risk;
    info->amr = zt_amr_parse(r->amr, r->mfa_time);
    info->has_passkey_aaguid = zt_session_aaguid_parse_hex(r->passkey_aaguid, info->passkey_aaguid);
    info->idle_expires_at = r->idle_expires_at;
    info->absolute_expires_at = r->absolute_expires_at;
    info->expires_at =
        earliest_expiry(r->idle_expires_at, r->absolute_expires_at, r->user_expires_at);
    info->groups = no_groups;
    info->groups_csv = "";
}

static void forget_in_store(zt_session_cache *c, const char *hash)
{
    /* Best effort: a failure leaves a dead row that expiry cleanup removes later. */
    (void)zt_store_session_delete(c->s->store, hash);
}

static zt_session_status load(zt_session_cache *c, const char *hash, int64_t now, int32_t *idx,
                              const zt_session_info **out)
{
    zt_store_session r;
    int rc = zt_store_session_get(c->s->store, hash, &r);
    if (rc != 0)
        return rc == -ENOENT ? ZT_SESSION_UNKNOWN : ZT_SESSION_ERROR;
    zt_session_status st = ZT_SESSION_VALID;
    /* An expired account is a disabled one, at the caller's clock (the store's check uses its
     * own, so a caller with a test clock offset is not answered by the real one). */
    bool expired = r.user_expires_at > 0 && now >= r.user_expires_at;
    if (r.user_disabled || expired || r.user_epoch != r.user_epoch_now)
        st = ZT_SESSION_REVOKED;
    else if (now >= r.idle_expires_at || now >= r.absolute_expires_at)
        st = ZT_SESSION_EXPIRED;
    if (st != ZT_SESSION_VALID) {
        info_from_record(&c->last, &r);
        *out = &c->last;
        forget_in_store(c, hash);
        return st;
    }
    zt_user u;
    rc = zt_store_user_get_by_id(c->s->store, r.user_id, &u);
    if (rc != 0)
        return rc == -ENOENT ? ZT_SESSION_UNKNOWN : ZT_SESSION_ERROR;
    group_list *g = calloc(1, sizeof(*g));
    rc = g == NULL ? -ENOMEM : zt_store_user_groups(c->s->store, r.user_id, group_cb, g);
    if (rc != 0) {
        free(g);
        zt_user_dispose(&u);
        return rc == -ENOENT ? ZT_SESSION_UNKNOWN : ZT_SESSION_ERROR;
    }
    int32_t i = alloc_entry(c);
    if (i == NIL) {
        free(g);
        zt_user_dispose(&u);
        return ZT_SESSION_ERROR;
    }
    c_entry *e = at(c, i);
    memcpy(e->id_hash, r.id_hash, ZT_SESSION_HASH_LEN);
    e->id_hash[ZT_SESSION_HASH_LEN] = '\0';
    memcpy(e->user_id, r.user_id, sizeof(e->user_id));
    e->auth_time = r.auth_time;
    e->mfa_time = r.mfa_time;
    e->mfa_pending = r.mfa_pending;
    e->user_risk = (int8_t)r.user_risk;
    e->sign_in_risk = (int8_t)r.sign_in_risk;
    e->amr = (uint8_t)zt_amr_parse(r.amr, r.mfa_time);
    e->has_aaguid = zt_session_aaguid_parse_hex(r.passkey_aaguid, e->aaguid);
    e->idle_expires_at = r.idle_expires_at;
    e->absolute_expires_at = r.absolute_expires_at;
    e->stored_idle = r.idle_expires_at;
    e->user_expires_at = r.user_expires_at;
    e->used = true;
    rc = set_strings(e, &r, &u, g);
    zt_user_dispose(&u);
    free(g);
    size_t b = bucket_of(c, e->id_hash);
    e->chain = bucket_first(c, b);
    bucket_set(c, b, i);
    lru_push(c, i);
    if (rc != 0) {
        remove_entry(c, i);
        return ZT_SESSION_ERROR;
    }
    *idx = i;
    return ZT_SESSION_VALID;
}

/* ---- answering ---- */

static bool host_ok(const char *want, const char *host)
{
    /* host "" is a row from before schema 2: no host to match, so never accepted. */
    return host != NULL && want[0] != '\0' && strcasecmp(want, host) == 0;
}

static zt_session_status serve(zt_session_cache *c, int32_t i, const char *host, int64_t now,
                               bool touch, const zt_session_info **out)
{
    c_entry *e = at(c, i);
    lru_unlink(c, i);
    lru_push(c, i);
    const zt_session_info *info = materialize(c, i);
    if (now >= e->idle_expires_at || now >= e->absolute_expires_at) {
        c->last = *info;
        c->last.groups = no_groups;
        c->last.n_groups = 0;
        c->last.groups_csv = "";
        forget_in_store(c, e->id_hash);
        remove_entry(c, i);
        *out = &c->last;
        return ZT_SESSION_EXPIRED;
    }
    *out = info;
    if (!host_ok(info->host, host))
        return ZT_SESSION_WRONG_HOST;
    if (!touch)
        return ZT_SESSION_VALID;
    int64_t idle = now + atomic_load(&c->s->idle_s);
    if (idle > e->absolute_expires_at)
        idle = e->absolute_expires_at;
    if (idle > e->idle_expires_at) {
        e->idle_expires_at = c->cur.idle_expires_at = idle;
        c->cur.expires_at =
            earliest_expiry(e->idle_expires_at, e->absolute_expires_at, e->user_expires_at);
    }
    /* Without the database (outage grace) the write would fail: served, written back later. */
    if (e->idle_expires_at - e->stored_idle >= ZT_SESSION_TOUCH_EVERY_S &&
        zt_sessions_store_reachable(c->s)) {
        int rc = zt_store_session_touch(c->s->store, e->id_hash, e->idle_expires_at);
        if (rc != 0) {
            *out = NULL;
            if (rc != -ENOENT)
                return ZT_SESSION_ERROR; /* kept: the next request tries the write again */
            remove_entry(c, i);
            return ZT_SESSION_UNKNOWN;
        }
        e->stored_idle = e->idle_expires_at;
    }
    return ZT_SESSION_VALID;
}

zt_session_status zt_session_lookup(zt_session_cache *c, const zt_span *cookie_header, bool https,
                                    const char *host, int64_t now, const zt_session_info **out)
{
    const zt_session_info *dummy;
    if (out == NULL)
        out = &dummy;
    *out = NULL;
    if (c == NULL)
        return ZT_SESSION_ERROR;
    zt_span v;
    char hash[ZT_SESSION_HASH_LEN + 1];
    if (!zt_cookie_find(cookie_header, zt_session_cookie_name(https), &v) ||
        zt_session_hash_cookie(v.p, v.n, hash) != 0)
        return ZT_SESSION_NONE;
    return zt_session_lookup_hash(c, hash, host, now, true, out);
}

zt_session_status zt_session_lookup_hash(zt_session_cache *c, const char *id_hash, const char *host,
                                         int64_t now, bool touch, const zt_session_info **out)
{
    const zt_session_info *dummy;
    if (out == NULL)
        out = &dummy;
    *out = NULL;
    if (c == NULL)
        return ZT_SESSION_ERROR;
    if (id_hash == NULL || strlen(id_hash) != ZT_SESSION_HASH_LEN)
        return ZT_SESSION_NONE;
    uint64_t rev = zt_sessions_revocation(c->s);
    if (rev != c->seen) {
        drop_all(c);
        c->seen = rev;
    }
    /* A clustered gateway out of touch with its database for longer than the outage grace
     * cannot know what was revoked elsewhere: fail closed (docs/CLUSTER.md). */
    if (now >= atomic_load_explicit(&c->s->serve_until, memory_order_relaxed))
        return ZT_SESSION_ERROR;
    int32_t i = find(c, id_hash);
    /* Owed MFA, or the account's expiry came: the store decides again (an admin may have moved
     * the expiry since; nobody tells the caches when it moves later). */
    if (i != NIL && (at(c, i)->mfa_pending ||
                     (at(c, i)->user_expires_at > 0 && now >= at(c, i)->user_expires_at))) {
        remove_entry(c, i);
        i = NIL;
    }
    if (i == NIL) {
        zt_session_status st = load(c, id_hash, now, &i, out);
        if (st != ZT_SESSION_VALID)
            return st;
    }
    return serve(c, i, host, now, touch, out);
}

/* ---- assertion cache ---- */

/* The entry behind the info of the last lookup; NULL for anything else (an expired record, an
 * entry since dropped): nothing to remember then. */
static int32_t entry_of(const zt_session_cache *c, const zt_session_info *info)
{
    if (c == NULL || info == NULL || info != &c->cur || c->cur_idx == NIL)
        return NIL;
    const c_entry *e = at(c, c->cur_idx);
    return e->used && strcmp(e->id_hash, info->id_hash) == 0 ? c->cur_idx : NIL;
}

static const char *assert_key(const c_assert *a)
{
    return a->mem;
}

static const char *assert_token(const c_assert *a)
{
    return a->mem + a->key_len + 1;
}

const char *zt_session_assertion_get(zt_session_cache *c, const zt_session_info *info,
                                     const char *app, int64_t now, size_t *len)
{
    int32_t i = entry_of(c, info);
    if (i == NIL || app == NULL || at(c, i)->asserts == NULL)
        return NULL;
    c_entry *e = at(c, i);
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS; k++) {
        c_assert *a = &e->asserts[k];
        if (a->mem != NULL && strcmp(assert_key(a), app) == 0) {
            if (now >= a->refresh_at)
                return NULL;
            if (len != NULL)
                *len = a->len;
            if (c->a_head != i) {
                asserts_unlink(c, i);
                asserts_push(c, i);
            }
            return assert_token(a);
        }
    }
    return NULL;
}

/* Same app, else a free slot, else the one due soonest. */
static c_assert *assert_slot(c_entry *e, const char *app)
{
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS; k++)
        if (e->asserts[k].mem != NULL && strcmp(assert_key(&e->asserts[k]), app) == 0)
            return &e->asserts[k];
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS; k++)
        if (e->asserts[k].mem == NULL)
            return &e->asserts[k];
    c_assert *soonest = &e->asserts[0];
    for (int k = 1; k < ZT_SESSION_ASSERT_SLOTS; k++)
        if (e->asserts[k].refresh_at < soonest->refresh_at)
            soonest = &e->asserts[k];
    return soonest;
}

/* Past the budget, the assertions of the sessions that used theirs least recently go. */
static void asserts_trim(zt_session_cache *c, int32_t keep)
{
    while (c->assert_bytes > ASSERT_BUDGET && c->a_tail != NIL && c->a_tail != keep)
        asserts_free(c, c->a_tail);
}

void zt_session_assertion_put(zt_session_cache *c, const zt_session_info *info, const char *app,
                              const char *jwt, size_t len, int64_t refresh_at)
{
    int32_t i = entry_of(c, info);
    if (i == NIL || app == NULL || jwt == NULL || strlen(app) > ZT_SESSION_APP_MAX ||
        len > ZT_SESSION_ASSERT_MAX)
        return;
    c_entry *e = at(c, i);
    if (e->asserts == NULL) {
        e->asserts = calloc(ZT_SESSION_ASSERT_SLOTS, sizeof(*e->asserts));
        if (e->asserts == NULL)
            return;
    } else {
        asserts_unlink(c, i);
    }
    asserts_push(c, i);
    size_t key_len = strlen(app);
    char *mem = malloc(key_len + 1 + len + 1);
    if (mem == NULL)
        return;
    memcpy(mem, app, key_len + 1);
    memcpy(mem + key_len + 1, jwt, len);
    mem[key_len + 1 + len] = '\0';
    c_assert *slot = assert_slot(e, app);
    if (slot->mem != NULL) {
        size_t old = slot->key_len + slot->len + 2;
        e->assert_bytes -= old;
        c->assert_bytes -= old;
        free(slot->mem);
    }
    slot->mem = mem;
    slot->key_len = (uint32_t)key_len;
    slot->len = (uint32_t)len;
    slot->refresh_at = refresh_at;
    e->assert_bytes += key_len + len + 2;
    c->assert_bytes += key_len + len + 2;
    asserts_trim(c, i);
}
