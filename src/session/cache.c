/* The per-loop session cache: a fixed-capacity hash table (chained through indices into one
 * entry array) with LRU eviction, keyed by the id hash. A hit validates expiry and host from
 * memory; the store is read on a miss and written at most every ZT_SESSION_TOUCH_EVERY_S to
 * move the idle expiry. When the shared revocation counter moves, every entry is dropped before
 * answering. Sessions still owing a second factor are never answered from memory, so finishing
 * MFA on one loop is seen on all of them. One loop thread per cache: no locks. */
#define ZT_SESSION_INTERNAL
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "session/session.h"
#include "store/store.h"

#define NIL (-1)

typedef struct c_assert {
    char app[ZT_SESSION_APP_MAX + 1]; /* "" = free slot */
    char *jwt;                        /* owned */
    size_t len;
    int64_t refresh_at;
} c_assert;

typedef struct c_entry {
    zt_session_info info;
    char *blob;          /* group names (NUL-separated), then the csv; owned */
    const char **groups; /* points into blob; owned */
    int64_t stored_idle; /* idle expiry as the store has it */
    int32_t chain;       /* next in bucket, or next free */
    int32_t prev, next;  /* LRU list, most recent at head */
    bool used;
    c_assert asserts[ZT_SESSION_ASSERT_SLOTS];
} c_entry;

struct zt_session_cache {
    zt_sessions *s;
    c_entry *e;
    size_t cap;
    int32_t *buckets;
    size_t nbuckets; /* power of two */
    int32_t head, tail, free_list;
    uint64_t seen;        /* revocation counter when the entries were last known good */
    zt_session_info last; /* a record found but not cached (expired, revoked) */
};

static const char *const no_groups[1] = {NULL};

static size_t bucket_of(const zt_session_cache *c, const char *hash)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = hash[i];
        v = v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    return (size_t)(v & (c->nbuckets - 1));
}

static void entry_clear(c_entry *e)
{
    free(e->blob);
    free(e->groups);
    for (int i = 0; i < ZT_SESSION_ASSERT_SLOTS; i++)
        free(e->asserts[i].jwt);
    memset(e, 0, sizeof(*e));
}

static void lru_unlink(zt_session_cache *c, int32_t i)
{
    c_entry *e = &c->e[i];
    if (e->prev != NIL)
        c->e[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next != NIL)
        c->e[e->next].prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NIL;
}

static void lru_push(zt_session_cache *c, int32_t i)
{
    c_entry *e = &c->e[i];
    e->prev = NIL;
    e->next = c->head;
    if (c->head != NIL)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail == NIL)
        c->tail = i;
}

static int32_t find(const zt_session_cache *c, const char *hash)
{
    for (int32_t i = c->buckets[bucket_of(c, hash)]; i != NIL; i = c->e[i].chain)
        if (strcmp(c->e[i].info.id_hash, hash) == 0)
            return i;
    return NIL;
}

static void remove_entry(zt_session_cache *c, int32_t i)
{
    int32_t *pp = &c->buckets[bucket_of(c, c->e[i].info.id_hash)];
    while (*pp != i)
        pp = &c->e[*pp].chain;
    *pp = c->e[i].chain;
    lru_unlink(c, i);
    entry_clear(&c->e[i]);
    c->e[i].chain = c->free_list;
    c->e[i].prev = c->e[i].next = NIL;
    c->free_list = i;
}

static void drop_all(zt_session_cache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        entry_clear(&c->e[i]);
        c->e[i].chain = i + 1 < c->cap ? (int32_t)(i + 1) : NIL;
        c->e[i].prev = c->e[i].next = NIL;
    }
    for (size_t b = 0; b < c->nbuckets; b++)
        c->buckets[b] = NIL;
    c->head = c->tail = NIL;
    c->free_list = 0;
}

/* A free entry, evicting the least recently used one when full. */
static int32_t alloc_entry(zt_session_cache *c)
{
    if (c->free_list == NIL)
        remove_entry(c, c->tail);
    int32_t i = c->free_list;
    c->free_list = c->e[i].chain;
    c->e[i].chain = NIL;
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
    while (c->nbuckets < capacity * 2)
        c->nbuckets <<= 1;
    c->e = calloc(capacity, sizeof(*c->e));
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->e == NULL || c->buckets == NULL) {
        zt_session_cache_free(c);
        return NULL;
    }
    drop_all(c);
    c->seen = zt_sessions_revocation(s);
    return c;
}

void zt_session_cache_free(zt_session_cache *c)
{
    if (c == NULL)
        return;
    if (c->e != NULL)
        for (size_t i = 0; i < c->cap; i++)
            entry_clear(&c->e[i]);
    free(c->e);
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

/* Groups and their csv in one owned block. */
static int set_groups(c_entry *e, const group_list *g)
{
    e->blob = malloc(g->bytes * 2 + 1);
    e->groups = malloc((g->n + 1) * sizeof(*e->groups));
    if (e->blob == NULL || e->groups == NULL)
        return -ENOMEM;
    char *p = e->blob;
    for (size_t i = 0; i < g->n; i++) {
        size_t len = strlen(g->names[i]);
        memcpy(p, g->names[i], len + 1);
        e->groups[i] = p;
        p += len + 1;
    }
    e->groups[g->n] = NULL;
    char *csv = p;
    for (size_t i = 0; i < g->n; i++) {
        if (i > 0)
            *p++ = ',';
        size_t len = strlen(g->names[i]);
        memcpy(p, g->names[i], len);
        p += len;
    }
    *p = '\0';
    e->info.groups = e->groups;
    e->info.n_groups = g->n;
    e->info.groups_csv = csv;
    return 0;
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
    info->idle_expires_at = r->idle_expires_at;
    info->absolute_expires_at = r->absolute_expires_at;
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
    if (r.user_disabled || r.user_epoch != r.user_epoch_now)
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
    c_entry *e = &c->e[i];
    info_from_record(&e->info, &r);
    memcpy(e->info.email, u.email, sizeof(e->info.email));
    memcpy(e->info.name, u.name, sizeof(e->info.name));
    zt_user_dispose(&u);
    e->stored_idle = r.idle_expires_at;
    e->used = true;
    rc = set_groups(e, g);
    free(g);
    size_t b = bucket_of(c, e->info.id_hash);
    e->chain = c->buckets[b];
    c->buckets[b] = i;
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
                               const zt_session_info **out)
{
    c_entry *e = &c->e[i];
    lru_unlink(c, i);
    lru_push(c, i);
    if (now >= e->info.idle_expires_at || now >= e->info.absolute_expires_at) {
        c->last = e->info;
        c->last.groups = no_groups;
        c->last.n_groups = 0;
        c->last.groups_csv = "";
        forget_in_store(c, e->info.id_hash);
        remove_entry(c, i);
        *out = &c->last;
        return ZT_SESSION_EXPIRED;
    }
    *out = &e->info;
    if (!host_ok(e->info.host, host))
        return ZT_SESSION_WRONG_HOST;
    int64_t idle = now + atomic_load(&c->s->idle_s);
    if (idle > e->info.absolute_expires_at)
        idle = e->info.absolute_expires_at;
    if (idle > e->info.idle_expires_at)
        e->info.idle_expires_at = idle;
    if (e->info.idle_expires_at - e->stored_idle >= ZT_SESSION_TOUCH_EVERY_S) {
        int rc = zt_store_session_touch(c->s->store, e->info.id_hash, e->info.idle_expires_at);
        if (rc != 0) {
            *out = NULL;
            if (rc != -ENOENT)
                return ZT_SESSION_ERROR; /* kept: the next request tries the write again */
            remove_entry(c, i);
            return ZT_SESSION_UNKNOWN;
        }
        e->stored_idle = e->info.idle_expires_at;
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
    uint64_t rev = zt_sessions_revocation(c->s);
    if (rev != c->seen) {
        drop_all(c);
        c->seen = rev;
    }
    int32_t i = find(c, hash);
    if (i != NIL && c->e[i].info.mfa_pending) {
        remove_entry(c, i);
        i = NIL;
    }
    if (i == NIL) {
        zt_session_status st = load(c, hash, now, &i, out);
        if (st != ZT_SESSION_VALID)
            return st;
    }
    return serve(c, i, host, now, out);
}

/* ---- assertion cache ---- */

static c_entry *entry_of(zt_session_cache *c, const zt_session_info *info)
{
    if (c == NULL || info == NULL)
        return NULL;
    uintptr_t base = (uintptr_t)c->e, p = (uintptr_t)info - offsetof(c_entry, info);
    if (p < base || p >= base + c->cap * sizeof(c_entry) || (p - base) % sizeof(c_entry) != 0)
        return NULL; /* not a cached entry (e.g. an expired record): nothing to remember */
    c_entry *e = &c->e[(p - base) / sizeof(c_entry)];
    return e->used ? e : NULL;
}

const char *zt_session_assertion_get(zt_session_cache *c, const zt_session_info *info,
                                     const char *app, int64_t now, size_t *len)
{
    c_entry *e = entry_of(c, info);
    if (e == NULL || app == NULL)
        return NULL;
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS; k++) {
        c_assert *a = &e->asserts[k];
        if (a->jwt != NULL && strcmp(a->app, app) == 0) {
            if (now >= a->refresh_at)
                return NULL;
            if (len != NULL)
                *len = a->len;
            return a->jwt;
        }
    }
    return NULL;
}

void zt_session_assertion_put(zt_session_cache *c, const zt_session_info *info, const char *app,
                              const char *jwt, size_t len, int64_t refresh_at)
{
    c_entry *e = entry_of(c, info);
    if (e == NULL || app == NULL || jwt == NULL || strlen(app) > ZT_SESSION_APP_MAX ||
        len > ZT_SESSION_ASSERT_MAX)
        return;
    /* Same app, else a free slot, else the one due soonest. */
    c_assert *slot = NULL;
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS && slot == NULL; k++)
        if (e->asserts[k].jwt != NULL && strcmp(e->asserts[k].app, app) == 0)
            slot = &e->asserts[k];
    for (int k = 0; k < ZT_SESSION_ASSERT_SLOTS && slot == NULL; k++)
        if (e->asserts[k].jwt == NULL)
            slot = &e->asserts[k];
    for (int k = 0; slot == NULL && k < ZT_SESSION_ASSERT_SLOTS; k++) {
        c_assert *a = &e->asserts[k];
        bool soonest = true;
        for (int j = 0; j < ZT_SESSION_ASSERT_SLOTS; j++)
            soonest = soonest && a->refresh_at <= e->asserts[j].refresh_at;
        if (soonest)
            slot = a;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, jwt, len);
    copy[len] = '\0';
    free(slot->jwt);
    slot->jwt = copy;
    slot->len = len;
    slot->refresh_at = refresh_at;
    memcpy(slot->app, app, strlen(app) + 1);
}
