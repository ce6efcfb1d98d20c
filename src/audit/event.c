#include "audit/event.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "lib/str.h"
#include "lib/time.h"

#ifndef ZT_VERSION
#define ZT_VERSION "0.0.0"
#endif

#define OCSF_SCHEMA_VERSION "1.8.0"

/* Key names come from code, not peers, so a fast non-keyed hash is enough: eight bytes per
 * step (a record has some thirty keys, each hashed for the duplicate check). */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    h = mix(h, (uint64_t)n);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(h, w);
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, s, n);
    return mix(h, tail);
}

static uint64_t name_hash(const char *s, size_t n)
{
    return hash_bytes(0xcbf29ce484222325ULL, s, n);
}

static uint64_t key_hash(uint32_t container, const char *s, size_t n)
{
    return hash_bytes(0x100000001b3ULL ^ container, s, n);
}

static int fail(zt_event *ev, int err)
{
    if (ev->err == 0)
        ev->err = err;
    return ev->err;
}

static int put(zt_event *ev, const char *s, size_t n)
{
    if (ev->err == 0) {
        int rc = zt_buf_append(ev->buf, s, n);
        if (rc < 0)
            fail(ev, rc);
    }
    return ev->err;
}

static int put_u64(zt_event *ev, uint64_t v)
{
    if (ev->err == 0) {
        int rc = zt_buf_append_u64(ev->buf, v);
        if (rc < 0)
            fail(ev, rc);
    }
    return ev->err;
}

static int put_i64(zt_event *ev, int64_t v)
{
    if (v >= 0)
        return put_u64(ev, (uint64_t)v);
    put(ev, "-", 1);
    return put_u64(ev, (uint64_t)0 - (uint64_t)v);
}

static int put_json_str(zt_event *ev, const char *s, size_t n)
{
    if (ev->err == 0) {
        int rc = zt_json_str(ev->buf, s, n);
        if (rc < 0)
            fail(ev, rc);
    }
    return ev->err;
}

static zt_event_frame *top(zt_event *ev)
{
    return &ev->frame[ev->depth - 1];
}

static bool plain_key(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Write `"key":` into the innermost container, refusing a key it already holds. */
static int put_key(zt_event *ev, const char *k, size_t n)
{
    zt_event_frame *f = top(ev);
    if (f->array || n == 0)
        return fail(ev, -EINVAL);
    uint64_t h = key_hash(f->id, k, n);
    uint64_t *word = &ev->key_bloom[(h >> 6) & 3], bit = UINT64_C(1) << (h & 63);
    if (*word & bit)
        for (unsigned i = 0; i < ev->nkeys; i++)
            if (ev->keys[i] == h)
                return fail(ev, -EEXIST);
    if (ev->nkeys == ZT_EVENT_MAX_KEYS)
        return fail(ev, -E2BIG);
    *word |= bit;
    ev->keys[ev->nkeys++] = h;
    if (f->members++ > 0)
        put(ev, ",", 1);
    if (!plain_key(k, n)) {
        put_json_str(ev, k, n);
        return put(ev, ":", 1);
    }
    /* Keys come from code: nearly all are [a-z0-9_], which JSON needs no escaping for. */
    int rc = ev->err == 0 ? zt_buf_reserve(ev->buf, n + 3) : 0;
    if (rc < 0)
        return fail(ev, rc);
    if (ev->err == 0) {
        char *p = ev->buf->data + ev->buf->len;
        p[0] = '"';
        memcpy(p + 1, k, n);
        p[n + 1] = '"';
        p[n + 2] = ':';
        ev->buf->len += n + 3;
    }
    return ev->err;
}

/* Comma before an array element. */
static int put_element(zt_event *ev)
{
    if (top(ev)->members++ > 0)
        return put(ev, ",", 1);
    return ev->err;
}

static int push(zt_event *ev, bool array, bool implicit, uint64_t hash)
{
    if (ev->depth == ZT_EVENT_MAX_DEPTH)
        return fail(ev, -E2BIG);
    ev->frame[ev->depth++] = (zt_event_frame){
        .name_hash = hash, .id = ev->next_id++, .members = 0, .array = array, .implicit = implicit};
    return put(ev, array ? "[" : "{", 1);
}

static int pop(zt_event *ev)
{
    bool array = top(ev)->array;
    ev->depth--;
    return put(ev, array ? "]" : "}", 1);
}

static unsigned explicit_base(const zt_event *ev)
{
    unsigned i = ev->depth - 1;
    while (ev->frame[i].implicit)
        i--;
    return i;
}

static void close_implicit(zt_event *ev, unsigned keep_depth)
{
    while (ev->depth > keep_depth)
        pop(ev);
}

static bool reserved_top_key(const char *k, size_t n)
{
    static const char *const names[] = {"seq", "prev", "hash", "type", "metadata"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
            return true;
    return false;
}

/* Position the builder for a value at `path`: leave implicit objects that are not on the path,
 * open the missing ones, and write the leaf key. NULL path = next array element. */
static int seek(zt_event *ev, const char *path)
{
    if (ev->err != 0)
        return ev->err;
    if (ev->depth == 0) /* used after zt_event_end */
        return fail(ev, -EINVAL);
    unsigned base = explicit_base(ev);
    if (path == NULL) {
        if (!ev->frame[base].array)
            return fail(ev, -EINVAL);
        return put_element(ev);
    }
    size_t len = strnlen(path, ZT_EVENT_MAX_PATH + 1);
    if (len == 0 || len > ZT_EVENT_MAX_PATH || ev->frame[base].array)
        return fail(ev, -EINVAL);
    const char *seg = path;
    const char *end = path + len;
    unsigned d = base + 1; /* next implicit frame to match */
    bool matching = true;
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(end - seg));
        size_t n = dot ? (size_t)(dot - seg) : (size_t)(end - seg);
        if (n == 0)
            return fail(ev, -EINVAL);
        if (seg == path && base == 0 && reserved_top_key(seg, n))
            return fail(ev, -EINVAL);
        if (dot == NULL) {
            if (matching)
                close_implicit(ev, d);
            return put_key(ev, seg, n);
        }
        uint64_t h = name_hash(seg, n);
        if (matching && d < ev->depth && ev->frame[d].name_hash == h) {
            d++;
        } else {
            if (matching)
                close_implicit(ev, d);
            matching = false;
            put_key(ev, seg, n);
            push(ev, false, true, h);
        }
        if (ev->err != 0)
            return ev->err;
        seg = dot + 1;
    }
}

void zt_event_begin(zt_event *ev, zt_buf *buf, zt_event_class cls, unsigned activity,
                    zt_event_severity sev)
{
    memset(ev, 0, sizeof(*ev));
    ev->buf = buf;
    ev->start = buf->len;
    push(ev, false, false, 0);
    unsigned c = (unsigned)cls;
    zt_event_uint(ev, "class_uid", c);
    zt_event_uint(ev, "category_uid", c / 1000);
    zt_event_uint(ev, "activity_id", activity);
    zt_event_uint(ev, "type_uid", (uint64_t)c * 100 + activity);
    char ts[40];
    size_t n = zt_rfc3339(zt_wall_us(), ts, sizeof(ts));
    zt_event_strn(ev, "time", ts, n);
    zt_event_uint(ev, "severity_id", (unsigned)sev);
}

int zt_event_strn(zt_event *ev, const char *path, const char *s, size_t n)
{
    if (s == NULL)
        return ev->err;
    if (seek(ev, path) == 0)
        put_json_str(ev, s, n);
    return ev->err;
}

int zt_event_str(zt_event *ev, const char *path, const char *s)
{
    return zt_event_strn(ev, path, s, s ? strlen(s) : 0);
}

int zt_event_int(zt_event *ev, const char *path, int64_t v)
{
    if (seek(ev, path) == 0)
        put_i64(ev, v);
    return ev->err;
}

int zt_event_uint(zt_event *ev, const char *path, uint64_t v)
{
    if (seek(ev, path) == 0)
        put_u64(ev, v);
    return ev->err;
}

int zt_event_bool(zt_event *ev, const char *path, bool v)
{
    if (seek(ev, path) == 0)
        put(ev, v ? "true" : "false", v ? 4 : 5);
    return ev->err;
}

int zt_event_status(zt_event *ev, zt_event_status_id st)
{
    const char *name = st == ZT_STATUS_SUCCESS   ? "Success"
                       : st == ZT_STATUS_FAILURE ? "Failure"
                       : st == ZT_STATUS_OTHER   ? "Other"
                                                 : "Unknown";
    zt_event_str(ev, "status", name);
    return zt_event_uint(ev, "status_id", (unsigned)st);
}

static int put_metadata(zt_event *ev, const char *request_uid, const char *correlation_uid)
{
    if (ev->err != 0)
        return ev->err;
    if (ev->depth == 0 || ev->has_metadata || explicit_base(ev) != 0)
        return fail(ev, -EINVAL);
    close_implicit(ev, 1);
    ev->has_metadata = true;
    put_key(ev, "metadata", 8);
    push(ev, false, false, 0);
    zt_event_str(ev, "uid", request_uid);
    zt_event_str(ev, "correlation_uid", correlation_uid);
    zt_event_str(ev, "product.name", "ztgate");
    zt_event_str(ev, "product.version", ZT_VERSION);
    zt_event_str(ev, "version", OCSF_SCHEMA_VERSION);
    if (ev->err == 0)
        pop(ev);
    return ev->err;
}

int zt_event_metadata(zt_event *ev, const char *request_uid, const char *correlation_uid)
{
    return put_metadata(ev, request_uid, correlation_uid);
}

int zt_event_obj_begin(zt_event *ev, const char *path)
{
    if (seek(ev, path) == 0)
        push(ev, false, false, 0);
    return ev->err;
}

int zt_event_arr_begin(zt_event *ev, const char *path)
{
    if (seek(ev, path) == 0)
        push(ev, true, false, 0);
    return ev->err;
}

int zt_event_close(zt_event *ev)
{
    if (ev->err != 0)
        return ev->err;
    unsigned base = ev->depth > 0 ? explicit_base(ev) : 0;
    if (base == 0)
        return fail(ev, -EINVAL);
    close_implicit(ev, base + 1);
    return pop(ev);
}

int zt_event_end(zt_event *ev)
{
    if (ev->err == 0 && ev->depth > 0) {
        close_implicit(ev, 1);
        if (!ev->has_metadata)
            put_metadata(ev, NULL, NULL);
        if (ev->err == 0)
            pop(ev);
    }
    if (ev->err != 0) {
        ev->buf->len = ev->start;
        return ev->err;
    }
    return 0;
}

int zt_event_session_ref(const unsigned char *key, size_t keylen, const char *sid, size_t n,
                         char out[ZT_EVENT_SESSION_REF_HEX + 1])
{
    if (key == NULL || keylen < 16 || (sid == NULL && n > 0))
        return -EINVAL;
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)sid, n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, ZT_EVENT_SESSION_REF_HEX + 1, mac, ZT_EVENT_SESSION_REF_HEX / 2);
    sodium_memzero(&st, sizeof(st));
    return 0;
}

unsigned zt_event_http_activity(const char *method)
{
    /* Index + 1 is the activity_id; the order is OCSF's. */
    static const char *const methods[] = {"CONNECT", "DELETE", "GET",   "HEAD", "OPTIONS",
                                          "POST",    "PUT",    "TRACE", "PATCH"};
    for (size_t i = 0; method != NULL && i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(method, methods[i]) == 0)
            return (unsigned)i + 1;
    return 99;
}
