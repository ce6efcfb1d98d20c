/* Sessions on a real temporary SQLite store: ids and hashes, cookie parsing and writing,
 * lookup (miss, hit without the store, revocation counter, idle and absolute expiry, revoked
 * users, host binding, pending MFA), logout with children, the one-time code exchange, the
 * known-device cookie, the assertion cache, and the revocation file across threads and
 * processes. Times are passed in, never read, so nothing here depends on timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity/secretbox.h"
#include "lib/secure.h"
#include "session/session.h"
#include "session/signin.h"
#include "store/store.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */
#define IDLE 100
#define ABS 1000
#define HOST "app.example.com"
#define ORIGIN "https://app.example.com:443" /* what codes for HOST are bound to */
#define PORTAL "login.example.com"

typedef struct fx {
    char root[64];
    char state[128];
    zt_store *st;
    zt_secretbox *box;
    zt_sessions *s;
    zt_session_cache *c;
    zt_user u;
} fx;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char key[160], err[256] = "";
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-session-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    snprintf(key, sizeof(key), "%s/secrets.key", f->root);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&sc, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("store: %s", err);
    f->box = zt_secretbox_load_key(key, true, err, sizeof(err));
    if (f->box == NULL)
        fail_msg("key: %s", err);
    zt_sessions_cfg cfg = {.store = f->st,
                           .state_dir = f->state,
                           .secrets = f->box,
                           .idle_s = IDLE,
                           .absolute_s = ABS};
    f->s = zt_sessions_new(&cfg, err, sizeof(err));
    if (f->s == NULL)
        fail_msg("sessions: %s", err);
    f->c = zt_session_cache_new(f->s, 16);
    assert_non_null(f->c);
    assert_int_equal(zt_store_group_add(f->st, "dev"), 0);
    assert_int_equal(zt_store_group_add(f->st, "admins"), 0);
    const char *groups[] = {"dev", "admins"};
    assert_int_equal(zt_store_user_add(f->st, "ann@example.com", "Ann", NULL, groups, 2, &f->u), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    zt_session_cache_free(f->c);
    zt_sessions_free(f->s);
    zt_secretbox_free(f->box);
    zt_store_close(f->st);
    zt_user_dispose(&f->u);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void sql(fx *f, const char *q)
{
    char db[192];
    sqlite3 *h = NULL;
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_exec(h, q, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", q, sqlite3_errmsg(h));
    sqlite3_close(h);
}

static void make(fx *f, const char *host, bool pending, int64_t now, char cookie[44], char hash[65])
{
    zt_session_new in = {.user_id = f->u.id,
                         .host = host,
                         .auth_time = now,
                         .mfa_time = pending ? 0 : now,
                         .mfa_method = pending ? "" : "totp",
                         .mfa_pending = pending,
                         .ip = "192.0.2.7",
                         .user_agent = "Mozilla/5.0"};
    int rc = zt_session_create(f->s, &in, now, cookie, hash);
    if (rc != 0)
        fail_msg("create: %d %s", rc, zt_store_errmsg());
}

/* Cookie header carrying the session cookie among others. */
static zt_span header(char *buf, size_t cap, bool https, const char *cookie)
{
    int n = snprintf(buf, cap, "theme=dark; %s=%s; other=1", zt_session_cookie_name(https), cookie);
    return (zt_span){buf, (size_t)n};
}

static zt_session_status look(fx *f, const char *cookie, const char *host, int64_t now,
                              const zt_session_info **out)
{
    char buf[256];
    zt_span h = header(buf, sizeof(buf), true, cookie);
    return zt_session_lookup(f->c, &h, true, host, now, out);
}

/* ---- ids ---- */

static void test_id_format(void **state)
{
    fx *f = *state;
    char c1[44], c2[44], h1[65], h2[65], again[65];
    make(f, HOST, false, T0, c1, h1);
    make(f, HOST, false, T0, c2, h2);
    assert_int_equal(strlen(c1), ZT_SESSION_COOKIE_LEN);
    assert_int_equal(strspn(c1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     ZT_SESSION_COOKIE_LEN);
    assert_string_not_equal(c1, c2);
    assert_string_not_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
    assert_int_equal(strspn(h1, "0123456789abcdef"), 64);
    assert_int_equal(zt_session_hash_cookie(c1, strlen(c1), again), 0);
    assert_string_equal(again, h1);
    /* The store holds the hash, never the cookie. */
    zt_store_session r;
    assert_int_equal(zt_store_session_get(f->st, h1, &r), 0);
    assert_null(strstr(r.id_hash, c1));
    assert_string_equal(r.host, HOST);
    /* Many ids: all distinct (a broken RNG or encoding would collide quickly). */
    char seen[64][44];
    for (int i = 0; i < 64; i++) {
        char h[65];
        make(f, HOST, false, T0, seen[i], h);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

static void test_hash_rejects(void **state)
{
    char h[65];
    const char *good = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(zt_session_hash_cookie(good, 43, h), 0);
    assert_int_equal(zt_session_hash_cookie(good, 42, h), -EINVAL);
    assert_int_equal(zt_session_hash_cookie("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 44, h),
                     -EINVAL);
    assert_int_equal(zt_session_hash_cookie(NULL, 43, h), -EINVAL);
    assert_int_equal(zt_session_hash_cookie("", 0, h), -EINVAL);
    char bad[44];
    const char *wrong = "+/=. \t\"%\x01\x80";
    for (const char *w = wrong; *w != '\0'; w++)
        for (int pos = 0; pos < 43; pos += 21) {
            memcpy(bad, good, 44);
            bad[pos] = *w;
            assert_int_equal(zt_session_hash_cookie(bad, 43, h), -EINVAL);
        }
    memcpy(bad, good, 44);
    bad[42] = 'B'; /* non-zero padding bits: not a canonical encoding of 32 bytes */
    assert_int_equal(zt_session_hash_cookie(bad, 43, h), -EINVAL);
    bad[42] = 'E';
    assert_int_equal(zt_session_hash_cookie(bad, 43, h), 0);
    memcpy(bad, good, 44);
    bad[10] = '\0'; /* embedded NUL within the length */
    assert_int_equal(zt_session_hash_cookie(bad, 43, h), -EINVAL);
}

/* ---- cookies ---- */

static void expect_cookie(const char *hdr, const char *name, const char *want)
{
    zt_span h = {hdr, strlen(hdr)}, v = {NULL, 0};
    bool found = zt_cookie_find(&h, name, &v);
    if (want == NULL) {
        if (found)
            fail_msg("'%s' in '%s': found '%.*s', want none", name, hdr, (int)v.n, v.p);
        return;
    }
    if (!found || v.n != strlen(want) || memcmp(v.p, want, v.n) != 0)
        fail_msg("'%s' in '%s': got %s'%.*s', want '%s'", name, hdr, found ? "" : "(none) ",
                 (int)v.n, v.p ? v.p : "", want);
}

static void test_cookie_find(void **state)
{
    expect_cookie("a=1; b=2", "b", "2");
    expect_cookie("a=1;b=2", "b", "2");
    expect_cookie("  a = 1 ;   b =  2  ", "b", "2");
    expect_cookie("a=1;\tb=\t2", "b", "2");
    expect_cookie("b=\"quoted\"; a=1", "b", "quoted");
    expect_cookie("b=\"\"", "b", "");
    expect_cookie("b=\"", "b", "\"");
    expect_cookie("b=first; b=second", "b", "first");
    expect_cookie("B=upper; b=lower", "b", "lower");
    expect_cookie("ab=1; b=2", "b", "2");
    expect_cookie("b2=1", "b", NULL);
    expect_cookie("a=1", "b", NULL);
    expect_cookie("", "b", NULL);
    expect_cookie(";;;", "b", NULL);
    expect_cookie("b", "b", NULL);
    expect_cookie("b; b=3", "b", "3");
    expect_cookie("b=", "b", "");
    expect_cookie("b=x=y", "b", "x=y");
    expect_cookie("a=1;", "a", "1");
    expect_cookie("=v; b=1", "b", "1");
    expect_cookie("__Host-ztgate_session=abc", ZT_COOKIE_SESSION_HTTP, NULL);
    zt_span none = {NULL, 0}, v;
    assert_false(zt_cookie_find(&none, "b", &v));
    assert_false(zt_cookie_find(NULL, "b", &v));
    /* Very long header: found at the end, and a missing name is a clean false. */
    size_t n = 64 * 1024;
    char *big = malloc(n + 32);
    assert_non_null(big);
    for (size_t i = 0; i < n; i += 8)
        memcpy(big + i, "x=12345;", 8);
    strcpy(big + n, " wanted=yes");
    expect_cookie(big, "wanted", "yes");
    expect_cookie(big, "absent", NULL);
    /* Not NUL-terminated: the span bounds the parse. */
    zt_span cut = {"a=1; b=22", 8};
    assert_true(zt_cookie_find(&cut, "b", &v));
    assert_int_equal(v.n, 1);
    free(big);
}

static void test_cookie_set(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 4096);
    assert_int_equal(zt_cookie_set(&b, "ztgate_session", "abc", false, -1), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data,
                        "Set-Cookie: ztgate_session=abc; Path=/; HttpOnly; SameSite=Lax\r\n");
    zt_buf_reset(&b);
    assert_int_equal(zt_cookie_set(&b, ZT_COOKIE_SESSION_HTTPS, "abc", true, 3600), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "Set-Cookie: __Host-ztgate_session=abc; Path=/; HttpOnly; "
                                "SameSite=Lax; Secure; Max-Age=3600\r\n");
    zt_buf_reset(&b);
    assert_int_equal(zt_cookie_set(&b, ZT_COOKIE_SESSION_HTTPS, "", true, 0), 0); /* delete */
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "Set-Cookie: __Host-ztgate_session=; Path=/; HttpOnly; "
                                "SameSite=Lax; Secure; Max-Age=0\r\n");
    zt_buf_reset(&b);
    const char *bad_values[] = {"a;b",  "a,b",  "a b",  "a\rb",     "a\nb", "a\x01",
                                "a\"b", "a\\b", "\x7f", "\xc3\xa9", NULL};
    for (int i = 0; bad_values[i] != NULL; i++)
        assert_int_equal(zt_cookie_set(&b, "n", bad_values[i], true, -1), -EINVAL);
    const char *bad_names[] = {"", "a;b", "a,b", "a b", "a\r", "a\n", "a=b", "a\x01", NULL};
    for (int i = 0; bad_names[i] != NULL; i++)
        assert_int_equal(zt_cookie_set(&b, bad_names[i], "v", true, -1), -EINVAL);
    assert_int_equal(zt_cookie_set(&b, NULL, "v", true, -1), -EINVAL);
    assert_int_equal(zt_cookie_set(&b, "n", NULL, true, -1), -EINVAL);
    /* A __Host- cookie over HTTP would be dropped by the browser: refused here. */
    assert_int_equal(zt_cookie_set(&b, ZT_COOKIE_SESSION_HTTPS, "v", false, -1), -EINVAL);
    assert_int_equal(b.len, 0);
    /* A full buffer leaves no half line. */
    zt_buf small;
    zt_buf_init(&small, 20);
    assert_int_not_equal(zt_cookie_set(&small, "n", "v", true, 10), 0);
    assert_int_equal(small.len, 0);
    zt_buf_dispose(&small);
    assert_string_equal(zt_session_cookie_name(true), "__Host-ztgate_session");
    assert_string_equal(zt_session_cookie_name(false), "ztgate_session");
    zt_buf_dispose(&b);
}

/* ---- lookup ---- */

static void test_lookup_hit_and_revocation(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info = NULL;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_VALID);
    assert_non_null(info);
    assert_string_equal(info->id_hash, hash);
    assert_string_equal(info->user_id, f->u.id);
    assert_string_equal(info->email, "ann@example.com");
    assert_string_equal(info->name, "Ann");
    assert_string_equal(info->host, HOST);
    assert_int_equal(info->n_groups, 2);
    assert_string_equal(info->groups[0], "admins");
    assert_string_equal(info->groups[1], "dev");
    assert_string_equal(info->groups_csv, "admins,dev");
    assert_string_equal(info->mfa_method, "totp");
    assert_int_equal(info->mfa_time, T0);
    assert_false(info->mfa_pending);
    assert_int_equal(info->absolute_expires_at, T0 + ABS);

    /* Gone from the store, still served from memory: the hit path does not read the store. */
    assert_int_equal(zt_store_session_delete(f->st, hash), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    /* Another process bumps the counter: the cache drops everything and asks the store. */
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + 3, &info), ZT_SESSION_UNKNOWN);
    assert_null(info);

    /* No cookie, the wrong cookie name for the scheme, garbage. */
    zt_span h = {"theme=dark", 10};
    assert_int_equal(zt_session_lookup(f->c, &h, true, HOST, T0, &info), ZT_SESSION_NONE);
    assert_int_equal(zt_session_lookup(f->c, NULL, true, HOST, T0, &info), ZT_SESSION_NONE);
    char buf[256];
    make(f, HOST, false, T0, cookie, hash);
    h = header(buf, sizeof(buf), false, cookie); /* plain-HTTP name on an HTTPS request */
    assert_int_equal(zt_session_lookup(f->c, &h, true, HOST, T0, &info), ZT_SESSION_NONE);
    assert_int_equal(zt_session_lookup(f->c, &h, false, HOST, T0, &info), ZT_SESSION_VALID);
    assert_int_equal(look(f, "short", HOST, T0, &info), ZT_SESSION_NONE);
    assert_int_equal(look(f, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", HOST, T0, &info),
                     ZT_SESSION_UNKNOWN);
}

static void test_idle_expiry_and_touch(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    zt_store_session r;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 50, &info), ZT_SESSION_VALID);
    assert_int_equal(info->idle_expires_at, T0 + 150); /* extended in memory */
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_int_equal(r.idle_expires_at, T0 + IDLE); /* moved < 60 s: not written yet */
    assert_int_equal(look(f, cookie, HOST, T0 + 149, &info), ZT_SESSION_VALID);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_int_equal(r.idle_expires_at, T0 + 249); /* written back */
    /* Idle for the whole idle period: expired, and deleted from the store. */
    assert_int_equal(look(f, cookie, HOST, T0 + 249, &info), ZT_SESSION_EXPIRED);
    assert_non_null(info);
    assert_string_equal(info->id_hash, hash);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), -ENOENT);
    assert_int_equal(look(f, cookie, HOST, T0 + 250, &info), ZT_SESSION_UNKNOWN);

    /* Expired found on a miss (another loop, a restart): EXPIRED too, and deleted. */
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + IDLE, &info), ZT_SESSION_EXPIRED);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), -ENOENT);
}

/* Outage grace (clustered gateways, docs/CLUSTER.md): cached sessions are served while the
 * database is unreachable, without writing the idle expiry back, until serve_until; from then
 * on refused (fail closed), also on a cache miss; contact back: served again. */
static void test_outage_grace(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    zt_store_session r;
    make(f, HOST, false, T0, cookie, hash);
    assert_true(zt_sessions_store_reachable(f->s));
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_VALID);
    zt_sessions_set_contact(f->s, T0 + 100, false);
    assert_false(zt_sessions_store_reachable(f->s));
    /* Gone from the store: a hit does not notice, and the touch is not even tried. */
    assert_int_equal(look(f, cookie, HOST, T0 + 90, &info), ZT_SESSION_VALID);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_int_equal(r.idle_expires_at, T0 + IDLE); /* not written while unreachable */
    assert_int_equal(look(f, cookie, HOST, T0 + 99, &info), ZT_SESSION_VALID);
    assert_int_equal(look(f, cookie, HOST, T0 + 100, &info), ZT_SESSION_ERROR);
    assert_null(info);
    assert_int_equal(look(f, cookie, HOST, T0 + 101, &info), ZT_SESSION_ERROR);
    /* Contact again: the kept entry is served, and its idle expiry written back. */
    zt_sessions_set_contact(f->s, T0 + 1000, true);
    assert_int_equal(look(f, cookie, HOST, T0 + 120, &info), ZT_SESSION_VALID);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_int_equal(r.idle_expires_at, T0 + 120 + IDLE);
}

/* A live stream re-checks its session by hash: the same validation, an idle expiry extended
 * only when asked (touch), expires_at the first of the expiries; agent tokens are sessions on
 * ZT_SESSION_HOST_AGENT and no browser host accepts them. */
static void test_lookup_hash(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(zt_session_lookup_hash(f->c, hash, HOST, T0 + 50, false, &info),
                     ZT_SESSION_VALID);
    assert_int_equal(info->idle_expires_at, T0 + IDLE); /* not touched */
    assert_int_equal(info->expires_at, T0 + IDLE);
    assert_int_equal(zt_session_lookup_hash(f->c, hash, HOST, T0 + 50, true, &info),
                     ZT_SESSION_VALID);
    assert_int_equal(info->idle_expires_at, T0 + 50 + IDLE);
    assert_int_equal(info->expires_at, T0 + 50 + IDLE);
    assert_int_equal(zt_session_lookup_hash(f->c, hash, "other.example", T0 + 51, false, &info),
                     ZT_SESSION_WRONG_HOST);
    assert_int_equal(zt_session_lookup_hash(f->c, "abc", HOST, T0 + 51, false, &info),
                     ZT_SESSION_NONE);
    assert_int_equal(zt_session_lookup_hash(f->c, NULL, HOST, T0 + 51, false, &info),
                     ZT_SESSION_NONE);
    /* An agent token: its host is the marker, which a cookie lookup on a browser host refuses. */
    make(f, ZT_SESSION_HOST_AGENT, false, T0, cookie, hash);
    assert_int_equal(zt_session_lookup_hash(f->c, hash, ZT_SESSION_HOST_AGENT, T0 + 1, true, &info),
                     ZT_SESSION_VALID);
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_WRONG_HOST);
}

static void test_absolute_expiry(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    make(f, HOST, false, T0, cookie, hash);
    int64_t t;
    for (t = T0 + 90; t < T0 + ABS; t += 90)
        assert_int_equal(look(f, cookie, HOST, t, &info), ZT_SESSION_VALID);
    assert_true(info->idle_expires_at <= T0 + ABS); /* idle never passes absolute */
    assert_int_equal(look(f, cookie, HOST, T0 + ABS, &info), ZT_SESSION_EXPIRED);
    /* New expiry settings apply to new sessions. */
    zt_sessions_set_expiry(f->s, 10, 20);
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 5, &info), ZT_SESSION_VALID);
    assert_int_equal(info->absolute_expires_at, T0 + 20);
    assert_int_equal(look(f, cookie, HOST, T0 + 20, &info), ZT_SESSION_EXPIRED);
}

static void test_disabled_and_epoch(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65], q[256];
    const zt_session_info *info;
    zt_store_session r;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_VALID);
    /* A row that outlived the user's disabling (a race): refused on reload, and deleted. */
    snprintf(q, sizeof(q), "UPDATE users SET disabled = 1 WHERE id = '%s'", f->u.id);
    sql(f, q);
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + 2, &info), ZT_SESSION_REVOKED);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), -ENOENT);
    snprintf(q, sizeof(q), "UPDATE users SET disabled = 0 WHERE id = '%s'", f->u.id);
    sql(f, q);

    /* Password change: the store bumps the epoch and deletes the rows; the cache keeps
     * answering until the counter moves, then the session is gone. */
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_VALID);
    assert_int_equal(zt_store_user_set_password(
                         f->st, f->u.id, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", NULL),
                     0);
    assert_int_equal(look(f, cookie, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_not_equal(look(f, cookie, HOST, T0 + 3, &info), ZT_SESSION_VALID);
    /* A session created under the old epoch (raced with the change): REVOKED. */
    make(f, HOST, false, T0, cookie, hash);
    snprintf(q, sizeof(q),
             "UPDATE users SET revocation_epoch = revocation_epoch + 1 WHERE id = '%s'", f->u.id);
    sql(f, q);
    assert_int_equal(look(f, cookie, HOST, T0 + 4, &info), ZT_SESSION_REVOKED);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), -ENOENT);

    /* Group change: no store revocation, but the bump makes the cache reload the groups. */
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 5, &info), ZT_SESSION_VALID);
    assert_string_equal(info->groups_csv, "admins,dev");
    assert_int_equal(zt_store_group_member_remove(f->st, "admins", f->u.id), 0);
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + 6, &info), ZT_SESSION_VALID);
    assert_string_equal(info->groups_csv, "dev");
    /* A disabled user cannot get a new session at all. */
    assert_int_equal(zt_store_user_set_disabled(f->st, f->u.id, true, NULL), 0);
    zt_session_new in = {.user_id = f->u.id, .host = HOST, .auth_time = T0};
    assert_int_equal(zt_session_create(f->s, &in, T0, cookie, hash), -EACCES);
}

static void test_wrong_host(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, "other.example.com", T0 + 1, &info), ZT_SESSION_WRONG_HOST);
    assert_non_null(info);
    assert_string_equal(info->host, HOST);
    assert_int_equal(look(f, cookie, NULL, T0 + 1, &info), ZT_SESSION_WRONG_HOST);
    assert_int_equal(look(f, cookie, "app.example.com.evil", T0 + 1, &info), ZT_SESSION_WRONG_HOST);
    assert_int_equal(look(f, cookie, "APP.Example.COM", T0 + 1, &info), ZT_SESSION_VALID);
    /* On a miss as well as a hit. */
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, "other.example.com", T0 + 2, &info), ZT_SESSION_WRONG_HOST);
    /* Host is stored lowercase whatever the caller passed. */
    make(f, "Mixed.Example.COM", false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, "mixed.example.com", T0 + 1, &info), ZT_SESSION_VALID);
    assert_string_equal(info->host, "mixed.example.com");
}

static void test_pending_mfa(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    make(f, PORTAL, true, T0, cookie, hash);
    assert_int_equal(look(f, cookie, PORTAL, T0 + 1, &info), ZT_SESSION_VALID);
    assert_true(info->mfa_pending);
    assert_int_equal(info->mfa_time, 0);
    /* Completing MFA is seen on the next request with no bump: pending entries are reread. */
    assert_int_equal(zt_session_mfa_done(f->s, hash, T0 + 2, "totp"), 0);
    assert_int_equal(look(f, cookie, PORTAL, T0 + 3, &info), ZT_SESSION_VALID);
    assert_false(info->mfa_pending);
    assert_int_equal(info->mfa_time, T0 + 2);
    assert_string_equal(info->mfa_method, "totp");
}

/* The session step every sign-in ends with (session/signin.h): the browser's old session on
 * this host is gone, the new one is what the step earned (here MFA-pending, then after the
 * second factor a full one replacing it). */
static void test_signin_open_session(void **state)
{
    fx *f = *state;
    char old_cookie[44], old_hash[65], cookie[44], hash[65], cookie2[44], hash2[65];
    const zt_session_info *info;
    make(f, PORTAL, false, T0, old_cookie, old_hash);
    assert_int_equal(look(f, old_cookie, PORTAL, T0 + 1, &info), ZT_SESSION_VALID);
    zt_signin_session q = {.session = {.user_id = f->u.id,
                                       .host = PORTAL,
                                       .auth_time = T0 + 2,
                                       .mfa_pending = true,
                                       .ip = "192.0.2.7",
                                       .user_agent = "Mozilla/5.0"},
                           .replaces_hash = old_hash,
                           .cache = f->c};
    assert_int_equal(zt_signin_open_session(f->s, NULL, &q, T0 + 2, cookie, hash), 0);
    assert_int_not_equal(look(f, old_cookie, PORTAL, T0 + 3, &info), ZT_SESSION_VALID);
    assert_int_equal(look(f, cookie, PORTAL, T0 + 3, &info), ZT_SESSION_VALID);
    assert_true(info->mfa_pending);
    zt_signin_session done = {.session = {.user_id = f->u.id,
                                          .host = PORTAL,
                                          .auth_time = T0 + 2,
                                          .mfa_time = T0 + 4,
                                          .mfa_method = "totp",
                                          .ip = "192.0.2.7"},
                              .replaces_hash = hash,
                              .cache = f->c};
    assert_int_equal(zt_signin_open_session(f->s, NULL, &done, T0 + 4, cookie2, hash2), 0);
    assert_int_not_equal(look(f, cookie, PORTAL, T0 + 5, &info), ZT_SESSION_VALID);
    assert_int_equal(look(f, cookie2, PORTAL, T0 + 5, &info), ZT_SESSION_VALID);
    assert_false(info->mfa_pending);
    assert_string_equal(info->mfa_method, "totp");
    /* No user: nothing is created, and the error comes back. */
    zt_signin_session nobody = {.session = {.user_id = "no-such-user", .host = PORTAL}};
    assert_int_not_equal(zt_signin_open_session(f->s, NULL, &nobody, T0 + 6, cookie, hash), 0);
}

static void test_user_agent_and_input(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65], ua[700];
    zt_store_session r;
    size_t n = 0;
    while (n + 3 < 600) {
        memcpy(ua + n, "\xe2\x82\xac", 3); /* U+20AC, 3 bytes */
        n += 3;
    }
    ua[n] = '\0';
    zt_session_new in = {.user_id = f->u.id, .host = HOST, .auth_time = T0, .user_agent = ua};
    assert_int_equal(zt_session_create(f->s, &in, T0, cookie, hash), 0);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_int_equal(strlen(r.user_agent), 510); /* 170 whole characters, never half of one */
    in.user_agent = "bad\x01\xff\xc3 end";
    assert_int_equal(zt_session_create(f->s, &in, T0, cookie, hash), 0);
    assert_int_equal(zt_store_session_get(f->st, hash, &r), 0);
    assert_string_equal(r.user_agent, "bad??? end");
    zt_session_new bad = in;
    bad.host = "";
    assert_int_equal(zt_session_create(f->s, &bad, T0, cookie, hash), -EINVAL);
    bad = in;
    bad.user_id = NULL;
    assert_int_equal(zt_session_create(f->s, &bad, T0, cookie, hash), -EINVAL);
    bad = in;
    bad.user_id = "ffffffffffffffffffffffffffffffff";
    assert_int_equal(zt_session_create(f->s, &bad, T0, cookie, hash), -ENOENT);
}

/* ---- code exchange and logout ---- */

static void test_code_exchange(void **state)
{
    fx *f = *state;
    char pc[44], ph[65], cc[44], ch[65], code[256];
    const zt_session_info *info;
    make(f, PORTAL, false, T0, pc, ph);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0 + 10, code, sizeof(code)), 0);
    assert_true(strlen(code) < ZT_SESSION_CODE_MAX);
    assert_int_equal(
        strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        strlen(code));
    /* Wrong host fails and does not use the code up. */
    assert_int_equal(zt_session_code_redeem(f->s, code, strlen(code),
                                            "https://evil.example.com:443", "evil.example.com", "",
                                            "ua", T0 + 11, cc, ch),
                     -EACCES);
    /* The same host on another scheme or port (a listener anyone may run there, or plain
     * HTTP where the code can be sniffed) fails too, and does not use the code up. */
    static const char *const other_origins[] = {
        "http://app.example.com:443", "https://app.example.com:6666", "http://app.example.com:80",
        "https://app.example.com",    "https://app.example.com:4430", "app.example.com"};
    for (size_t i = 0; i < sizeof(other_origins) / sizeof(other_origins[0]); i++)
        if (zt_session_code_redeem(f->s, code, strlen(code), other_origins[i], HOST, "", "ua",
                                   T0 + 11, cc, ch) != -EACCES)
            fail_msg("a code for %s was redeemed on %s", ORIGIN, other_origins[i]);
    /* Every byte flipped: refused, and none of those attempts uses the code up. */
    unsigned char raw[128], bad_raw[128];
    size_t raw_len = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), code, strlen(code), NULL, &raw_len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    for (size_t i = 0; i < raw_len; i++) {
        char bad[256];
        memcpy(bad_raw, raw, raw_len);
        bad_raw[i] ^= 0x01;
        sodium_bin2base64(bad, sizeof(bad), bad_raw, raw_len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (zt_session_code_redeem(f->s, bad, strlen(bad), ORIGIN, HOST, "", "ua", T0 + 11, cc,
                                   ch) != -EACCES)
            fail_msg("byte %zu flipped was accepted", i);
    }
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code) - 1, ORIGIN, HOST, "", "", T0 + 11, cc, ch),
        -EACCES);
    /* The good path. */
    assert_int_equal(zt_session_code_redeem(f->s, code, strlen(code), "HTTPS://App.Example.Com:443",
                                            "App.Example.Com", "192.0.2.9", "ua", T0 + 11, cc, ch),
                     0);
    assert_int_equal(look(f, cc, HOST, T0 + 12, &info), ZT_SESSION_VALID);
    assert_string_equal(info->user_id, f->u.id);
    assert_int_equal(info->auth_time, T0);
    assert_int_equal(info->mfa_time, T0);
    assert_string_equal(info->mfa_method, "totp");
    assert_true(info->absolute_expires_at <= T0 + ABS); /* capped by the parent */
    zt_store_session r;
    assert_int_equal(zt_store_session_get(f->st, ch, &r), 0);
    assert_string_equal(r.parent_hash, ph);
    assert_string_equal(r.ip, "192.0.2.9");
    /* The child cookie is not good on the portal, nor the parent's on the app. */
    assert_int_equal(look(f, cc, PORTAL, T0 + 12, &info), ZT_SESSION_WRONG_HOST);
    assert_int_equal(look(f, pc, HOST, T0 + 12, &info), ZT_SESSION_WRONG_HOST);
    /* Replayed. */
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "ua", T0 + 12, cc, ch),
        -EACCES);
    /* Expired. */
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0 + 20, code, sizeof(code)), 0);
    assert_int_equal(zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "ua",
                                            T0 + 20 + ZT_SESSION_CODE_TTL_S, cc, ch),
                     -EACCES);
    assert_int_equal(zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "ua",
                                            T0 + 19 + ZT_SESSION_CODE_TTL_S, cc, ch),
                     0);
    /* Garbage never crashes and is refused. */
    assert_int_equal(zt_session_code_redeem(f->s, "", 0, ORIGIN, HOST, "", "", T0, cc, ch),
                     -EACCES);
    assert_int_equal(zt_session_code_issue(f->s, "nothex", HOST, T0, code, sizeof(code)), -EINVAL);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0, code, 16), -EINVAL);
}

/* The passkey's AAGUID: stored as hex, read back on a cache miss and a hit, copied to a
 * code-exchange child; a session without one (and an older row, '') has none. */
static void test_passkey_aaguid(void **state)
{
    fx *f = *state;
    static const unsigned char id[16] = {0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39,
                                         0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8};
    char pc[44], ph[65], cc[44], ch[65], code[256];
    const zt_session_info *info;
    zt_session_new in = {.user_id = f->u.id,
                         .host = PORTAL,
                         .auth_time = T0,
                         .mfa_time = T0,
                         .mfa_method = "hwk",
                         .amr = ZT_AMR_HWK | ZT_AMR_MFA,
                         .passkey_aaguid = id};
    assert_int_equal(zt_session_create(f->s, &in, T0, pc, ph), 0);
    zt_store_session r;
    assert_int_equal(zt_store_session_get(f->st, ph, &r), 0);
    assert_string_equal(r.passkey_aaguid, "cb69481e8ff7403993ec0a2729a154a8");
    for (int pass = 0; pass < 2; pass++) { /* a miss, then a hit */
        assert_int_equal(look(f, pc, PORTAL, T0 + 1, &info), ZT_SESSION_VALID);
        assert_true(info->has_passkey_aaguid);
        assert_memory_equal(info->passkey_aaguid, id, 16);
    }
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0 + 2, code, sizeof(code)), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "ua", T0 + 3, cc, ch),
        0);
    assert_int_equal(look(f, cc, HOST, T0 + 4, &info), ZT_SESSION_VALID);
    assert_true(info->has_passkey_aaguid);
    assert_memory_equal(info->passkey_aaguid, id, 16);
    make(f, PORTAL, false, T0, pc, ph);
    assert_int_equal(look(f, pc, PORTAL, T0 + 1, &info), ZT_SESSION_VALID);
    assert_false(info->has_passkey_aaguid);
    /* The store refuses anything but 32 lowercase hex digits. */
    assert_int_equal(zt_store_session_get(f->st, ph, &r), 0);
    assert_string_equal(r.passkey_aaguid, "");
    snprintf(r.id_hash, sizeof(r.id_hash), "%064d", 7);
    snprintf(r.passkey_aaguid, sizeof(r.passkey_aaguid), "CB69481E8FF7403993EC0A2729A154A8");
    assert_int_equal(zt_store_session_create(f->st, &r), -EINVAL);
    unsigned char back[16];
    char hex[33];
    zt_session_aaguid_hex(id, hex);
    assert_true(zt_session_aaguid_parse_hex(hex, back));
    assert_memory_equal(back, id, 16);
    assert_false(zt_session_aaguid_parse_hex("", back));
    assert_false(zt_session_aaguid_parse_hex("cb69481e8ff7403993ec0a2729a154a", back));
}

static void test_code_parent_state(void **state)
{
    fx *f = *state;
    char pc[44], ph[65], cc[44], ch[65], code[256];
    /* Parent still owes MFA: refused. */
    make(f, PORTAL, true, T0, pc, ph);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0, code, sizeof(code)), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "", T0 + 1, cc, ch),
        -EACCES);
    /* Parent logged out before the code is used: refused. */
    make(f, PORTAL, false, T0, pc, ph);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0, code, sizeof(code)), 0);
    assert_int_equal(zt_session_destroy(f->s, ph), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "", T0 + 1, cc, ch),
        -EACCES);
    /* Parent idle-expired: refused. */
    make(f, PORTAL, false, T0, pc, ph);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0 + IDLE - 5, code, sizeof(code)), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "", T0 + IDLE, cc, ch),
        -EACCES);
    /* User's epoch moved (password change raced): refused. */
    make(f, PORTAL, false, T0, pc, ph);
    char q[200];
    snprintf(q, sizeof(q),
             "UPDATE users SET revocation_epoch = revocation_epoch + 1 WHERE id = '%s'", f->u.id);
    sql(f, q);
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0, code, sizeof(code)), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "", T0 + 1, cc, ch),
        -EACCES);
}

static void test_destroy_children(void **state)
{
    fx *f = *state;
    char pc[44], ph[65], c1[44], h1[65], c2[44], h2[65], oc[44], oh[65], code[256];
    const zt_session_info *info;
    zt_store_session r;
    make(f, PORTAL, false, T0, pc, ph);
    make(f, PORTAL, false, T0, oc, oh); /* an unrelated session of the same user */
    assert_int_equal(zt_session_code_issue(f->s, ph, ORIGIN, T0, code, sizeof(code)), 0);
    assert_int_equal(
        zt_session_code_redeem(f->s, code, strlen(code), ORIGIN, HOST, "", "", T0, c1, h1), 0);
    assert_int_equal(
        zt_session_code_issue(f->s, ph, "https://wiki.example.com:443", T0, code, sizeof(code)), 0);
    assert_int_equal(zt_session_code_redeem(f->s, code, strlen(code),
                                            "https://wiki.example.com:443", "wiki.example.com", "",
                                            "", T0, c2, h2),
                     0);
    assert_int_equal(look(f, c1, HOST, T0 + 1, &info), ZT_SESSION_VALID); /* cached */
    assert_int_equal(zt_session_destroy(f->s, ph), 0);
    assert_int_equal(zt_store_session_get(f->st, ph, &r), -ENOENT);
    assert_int_equal(zt_store_session_get(f->st, h1, &r), -ENOENT);
    assert_int_equal(zt_store_session_get(f->st, h2, &r), -ENOENT);
    assert_int_equal(zt_store_session_get(f->st, oh, &r), 0);
    /* Destroy bumps the counter, so even this loop's cached child is gone at once. */
    assert_int_equal(look(f, c1, HOST, T0 + 2, &info), ZT_SESSION_UNKNOWN);
    assert_int_equal(zt_session_destroy(f->s, ph), 0); /* again: already gone is fine */
}

/* ---- known device ---- */

static void device_header(const zt_buf *set, char *out, size_t cap)
{
    const char *p = strstr(set->data, "Set-Cookie: ");
    assert_non_null(p);
    p += strlen("Set-Cookie: ");
    const char *end = strchr(p, ';');
    snprintf(out, cap, "a=1; %.*s", (int)(end - p), p);
}

static void test_known_device(void **state)
{
    fx *f = *state;
    zt_buf set;
    char hdr[256];
    zt_buf_init(&set, 1024);
    assert_int_equal(zt_known_device_set(f->s, &set, f->u.id, true, T0), 0);
    assert_int_equal(zt_buf_cstr(&set), 0);
    assert_non_null(strstr(set.data, "Set-Cookie: __Host-ztgate_device="));
    assert_non_null(strstr(set.data, "; Secure; Max-Age=15552000\r\n"));
    device_header(&set, hdr, sizeof(hdr));
    zt_span h = {hdr, strlen(hdr)};
    assert_true(zt_known_device_check(f->s, &h, f->u.id, true, T0 + 1));
    assert_true(zt_known_device_check(f->s, &h, f->u.id, true, T0 + ZT_KNOWN_DEVICE_TTL_S - 1));
    assert_false(zt_known_device_check(f->s, &h, f->u.id, true, T0 + ZT_KNOWN_DEVICE_TTL_S));
    assert_false(zt_known_device_check(f->s, &h, "0123456789abcdef0123456789abcdef", true, T0));
    assert_false(zt_known_device_check(f->s, &h, f->u.id, false, T0)); /* other cookie name */
    assert_false(zt_known_device_check(f->s, NULL, f->u.id, true, T0));
    /* Forged: any one character changed. */
    char *v = strchr(hdr, '=');
    v = strchr(v + 1, '=') + 1;
    size_t vlen = strlen(v);
    for (size_t i = 0; i < vlen; i++) {
        char saved = v[i];
        v[i] = saved == 'A' ? 'B' : 'A';
        if (zt_known_device_check(f->s, &h, f->u.id, true, T0 + 1))
            fail_msg("forged char %zu accepted", i);
        v[i] = saved;
    }
    assert_true(zt_known_device_check(f->s, &h, f->u.id, true, T0 + 1));
    /* Issued far in the future (clock games): refused. */
    zt_buf_reset(&set);
    assert_int_equal(zt_known_device_set(f->s, &set, f->u.id, false, T0 + 3600), 0);
    assert_int_equal(zt_buf_cstr(&set), 0);
    assert_non_null(strstr(set.data, "Set-Cookie: ztgate_device="));
    assert_null(strstr(set.data, "Secure"));
    device_header(&set, hdr, sizeof(hdr));
    h = (zt_span){hdr, strlen(hdr)};
    assert_false(zt_known_device_check(f->s, &h, f->u.id, false, T0));
    assert_true(zt_known_device_check(f->s, &h, f->u.id, false, T0 + 3600));
    assert_int_equal(zt_known_device_set(f->s, &set, "not-an-id", true, T0), -EINVAL);
    zt_buf_dispose(&set);
}

/* ---- cache bounds and assertions ---- */

static void test_cache_eviction(void **state)
{
    fx *f = *state;
    zt_session_cache *small = zt_session_cache_new(f->s, 2);
    char c[3][44], h[3][65], buf[256];
    const zt_session_info *info;
    for (int i = 0; i < 3; i++) {
        make(f, HOST, false, T0, c[i], h[i]);
        zt_span hd = header(buf, sizeof(buf), true, c[i]);
        assert_int_equal(zt_session_lookup(small, &hd, true, HOST, T0 + 1, &info),
                         ZT_SESSION_VALID);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(zt_store_session_delete(f->st, h[i]), 0);
    /* Capacity 2: the two most recent are still in memory, the first was evicted. */
    zt_span hd = header(buf, sizeof(buf), true, c[2]);
    assert_int_equal(zt_session_lookup(small, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    hd = header(buf, sizeof(buf), true, c[1]);
    assert_int_equal(zt_session_lookup(small, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    hd = header(buf, sizeof(buf), true, c[0]);
    assert_int_equal(zt_session_lookup(small, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_UNKNOWN);
    /* forget drops one entry. */
    zt_session_cache_forget(small, h[1]);
    hd = header(buf, sizeof(buf), true, c[1]);
    assert_int_equal(zt_session_lookup(small, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_UNKNOWN);
    zt_session_cache_free(small);
}

static void test_assertion_cache(void **state)
{
    fx *f = *state;
    char cookie[44], hash[65];
    const zt_session_info *info;
    size_t len = 0;
    make(f, HOST, false, T0, cookie, hash);
    assert_int_equal(look(f, cookie, HOST, T0 + 1, &info), ZT_SESSION_VALID);
    assert_null(zt_session_assertion_get(f->c, info, "wiki", T0 + 1, &len));
    zt_session_assertion_put(f->c, info, "wiki", "jwt-wiki", 8, T0 + 100);
    const char *j = zt_session_assertion_get(f->c, info, "wiki", T0 + 2, &len);
    assert_non_null(j);
    assert_int_equal(len, 8);
    assert_memory_equal(j, "jwt-wiki", 8);
    assert_null(zt_session_assertion_get(f->c, info, "wiki", T0 + 100, &len)); /* refresh due */
    assert_null(zt_session_assertion_get(f->c, info, "git", T0 + 2, &len));
    /* More apps than slots: the one due soonest goes, the rest stay. */
    const char *apps[] = {"a1", "a2", "a3", "a4", "a5"};
    for (int i = 0; i < 5; i++)
        zt_session_assertion_put(f->c, info, apps[i], apps[i], 2, T0 + 200 + i);
    assert_null(zt_session_assertion_get(f->c, info, "wiki", T0 + 2, &len));
    for (int i = 1; i < 5; i++)
        assert_non_null(zt_session_assertion_get(f->c, info, apps[i], T0 + 2, &len));
    /* Survives a hit, dies with the entry on revocation. */
    assert_int_equal(look(f, cookie, HOST, T0 + 3, &info), ZT_SESSION_VALID);
    assert_non_null(zt_session_assertion_get(f->c, info, "a5", T0 + 3, &len));
    assert_int_equal(zt_revocation_bump(f->state), 0);
    assert_int_equal(look(f, cookie, HOST, T0 + 4, &info), ZT_SESSION_VALID);
    assert_null(zt_session_assertion_get(f->c, info, "a5", T0 + 4, &len));
    /* Not an entry of this cache: ignored. */
    zt_session_info stray;
    memset(&stray, 0, sizeof(stray));
    zt_session_assertion_put(f->c, &stray, "x", "y", 1, T0 + 9);
    assert_null(zt_session_assertion_get(f->c, &stray, "x", T0, &len));
}

/* Entries past the first block, and the byte budget of cached assertions: the sessions that
 * used theirs least recently lose them (and sign again), the entries themselves stay. */
static void test_cache_blocks_and_assertion_budget(void **state)
{
    fx *f = *state;
    enum { CAP = 280, N = 300 };
    zt_session_cache *c = zt_session_cache_new(f->s, CAP);
    static char cookies[N][44];
    char hash[65], buf[256];
    static char jwt[ZT_SESSION_ASSERT_MAX];
    memset(jwt, 'j', sizeof(jwt));
    const char *apps[] = {"a1", "a2", "a3", "a4"};
    const zt_session_info *info;
    size_t len;
    for (int i = 0; i < N; i++) {
        make(f, HOST, false, T0, cookies[i], hash);
        zt_span hd = header(buf, sizeof(buf), true, cookies[i]);
        assert_int_equal(zt_session_lookup(c, &hd, true, HOST, T0 + 1, &info), ZT_SESSION_VALID);
        assert_string_equal(info->email, "ann@example.com");
        assert_string_equal(info->groups_csv, "admins,dev");
        for (int k = 0; k < 4; k++)
            zt_session_assertion_put(c, info, apps[k], jwt, sizeof(jwt), T0 + 100);
        assert_non_null(zt_session_assertion_get(c, info, "a4", T0 + 2, &len));
        assert_int_equal(len, sizeof(jwt));
    }
    /* 280 entries with 4 x 8 KiB each would be 9 MiB: over the budget, so the oldest
     * sessions kept their entry but lost their tokens; the newest kept both. */
    zt_span hd = header(buf, sizeof(buf), true, cookies[N - 1]);
    assert_int_equal(zt_session_lookup(c, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    assert_non_null(zt_session_assertion_get(c, info, "a1", T0 + 2, &len));
    hd = header(buf, sizeof(buf), true, cookies[N - CAP]);
    assert_int_equal(zt_session_lookup(c, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_VALID);
    assert_null(zt_session_assertion_get(c, info, "a1", T0 + 2, &len));
    assert_string_equal(info->name, "Ann");
    /* Beyond capacity the least recently used entries went: with its row deleted, the first
     * session is unknown (a cached one would still be served from memory). */
    assert_int_equal(zt_session_hash_cookie(cookies[0], strlen(cookies[0]), hash), 0);
    assert_int_equal(zt_store_session_delete(f->st, hash), 0);
    hd = header(buf, sizeof(buf), true, cookies[0]);
    assert_int_equal(zt_session_lookup(c, &hd, true, HOST, T0 + 2, &info), ZT_SESSION_UNKNOWN);
    zt_session_cache_free(c);
}

/* ---- revocation file ---- */

typedef struct bump_arg {
    const char *dir;
    int fails;
} bump_arg;

static void *bump_thread(void *p)
{
    bump_arg *a = p;
    for (int i = 0; i < 200; i++)
        a->fails += zt_revocation_bump(a->dir) != 0;
    return NULL;
}

static void test_revocation_file(void **state)
{
    fx *f = *state;
    char path[192];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/revocation", f->state);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 8);
    uint64_t before = zt_sessions_revocation(f->s);

    /* Threads and another process bump at once: every bump counts. */
    pthread_t th[4];
    bump_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (bump_arg){f->state, 0};
        assert_int_equal(pthread_create(&th[i], NULL, bump_thread, &args[i]), 0);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bump_arg a = {f->state, 0};
        bump_thread(&a);
        _exit(a.fails == 0 ? 0 : 1);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].fails, 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(zt_sessions_revocation(f->s) - before, 5 * 200);

    /* A file damaged while nobody maps it is repaired to 8 bytes and 0600. */
    char dir2[192], path2[224];
    snprintf(dir2, sizeof(dir2), "%s/other", f->root);
    snprintf(path2, sizeof(path2), "%s/revocation", dir2);
    assert_int_equal(mkdir(dir2, 0700), 0);
    int fd = open(path2, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    assert_int_equal(zt_revocation_bump(dir2), 0);
    assert_int_equal(stat(path2, &sb), 0);
    assert_int_equal(sb.st_size, 8);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(zt_revocation_bump(""), -EINVAL);
    assert_int_equal(zt_revocation_bump(NULL), -EINVAL);
    char missing[224];
    snprintf(missing, sizeof(missing), "%s/no/such/dir", f->root);
    assert_int_equal(zt_revocation_bump(missing), -ENOENT);
    assert_string_equal(zt_session_status_name(ZT_SESSION_WRONG_HOST), "wrong_host");
}

/* amr (RFC 8176): each way of signing in maps to its methods; mfa needs two kinds of factor or
 * a user-verified passkey; only a passkey proven as MFA is phishing-resistant; text round-trips
 * and a record older than amr is read from its MFA fields. */
static void test_amr_mapping(void **state)
{
    (void)state;
    char t[ZT_AMR_TEXT_MAX + 1];
    unsigned pwd = ZT_AMR_PWD;
    unsigned totp = zt_amr_add(pwd, zt_amr_of_method("totp"));
    assert_int_equal(totp, ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA);
    zt_amr_text(totp, t);
    assert_string_equal(t, "pwd,otp,mfa");
    assert_int_equal(zt_amr_add(pwd, zt_amr_of_method("recovery")), totp);
    assert_false(zt_amr_phishing_resistant(totp));
    /* Passwordless: a user-verified device-bound passkey alone. */
    unsigned hwk = zt_amr_add(0, zt_amr_of_passkey(false, true));
    zt_amr_text(hwk, t);
    assert_string_equal(t, "hwk,mfa");
    assert_true(zt_amr_phishing_resistant(hwk));
    /* A synced passkey is swk. */
    zt_amr_text(zt_amr_add(0, zt_amr_of_passkey(true, true)), t);
    assert_string_equal(t, "swk,mfa");
    /* Without user verification a passkey alone is one factor, ... */
    unsigned no_uv = zt_amr_add(0, zt_amr_of_passkey(false, false));
    assert_int_equal(no_uv, ZT_AMR_HWK);
    assert_false(zt_amr_phishing_resistant(no_uv));
    /* ... but as the second factor after a password it is MFA. */
    unsigned second = zt_amr_add(pwd, zt_amr_of_passkey(true, false));
    zt_amr_text(second, t);
    assert_string_equal(t, "pwd,swk,mfa");
    assert_true(zt_amr_phishing_resistant(second));
    assert_int_equal(zt_amr_add(pwd, zt_amr_of_method("hwk")),
                     ZT_AMR_PWD | ZT_AMR_HWK | ZT_AMR_MFA);
    assert_int_equal(zt_amr_of_method("sms"), 0);
    assert_int_equal(zt_amr_of_method(NULL), 0);
    /* Text round trip; unknown words ignored; "" read from the old fields. */
    assert_int_equal(zt_amr_parse("pwd,swk,mfa", 0), second);
    assert_int_equal(zt_amr_parse("pwd,bogus,,otp", 0), ZT_AMR_PWD | ZT_AMR_OTP);
    assert_int_equal(zt_amr_parse("", 0), ZT_AMR_PWD);
    assert_int_equal(zt_amr_parse("", 5), ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA);
    zt_amr_text(0, t);
    assert_string_equal(t, "");
    zt_amr_text(0x1f, t);
    assert_string_equal(t, "pwd,otp,hwk,swk,mfa");
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_id_format, setup, teardown),
        cmocka_unit_test(test_hash_rejects),
        cmocka_unit_test(test_amr_mapping),
        cmocka_unit_test(test_cookie_find),
        cmocka_unit_test(test_cookie_set),
        cmocka_unit_test_setup_teardown(test_lookup_hit_and_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_expiry_and_touch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_and_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_mfa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_open_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_agent_and_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_parent_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passkey_aaguid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_children, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertion_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_blocks_and_assertion_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
