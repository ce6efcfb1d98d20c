/* The store's WebAuthn records (SQLite, then PostgreSQL when ZT_TEST_PG_DSN is set):
 * credentials added, read, listed oldest first, renamed and deleted by their owner only; a
 * credential id unique across users; the sign counter's compare-and-set; the per-user cap;
 * every bad argument refused with nothing written; user handles made once and found again; a
 * deleted user's records going with them; a challenge taken once even by two gateways racing;
 * and a schema 5 database upgraded in place (SQLite only). Each test owns a temp dir, or a
 * PostgreSQL schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/webauthn.h"
#include "pg_fixture.h"
#include "store/store.h"

/* The store keeps its own copies of the verification core's limits. */
_Static_assert(ZT_STORE_WA_CRED_ID_MAX == ZT_WEBAUTHN_CRED_ID_MAX, "credential id limit");
_Static_assert(ZT_STORE_WA_COSE_MAX == ZT_WEBAUTHN_COSE_MAX, "COSE key limit");
_Static_assert(ZT_STORE_WA_HANDLE_LEN <= ZT_WEBAUTHN_USER_HANDLE_MAX, "user handle limit");

typedef struct fixture {
    char root[64];
    char state[128];
    char db[160];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema, else "" */
    zt_store *st;
    zt_user alice, bob;
} fixture;

static zt_store *open_at(const char *state_dir, char *err, size_t errlen)
{
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = state_dir};
    return zt_store_open(&cfg, err, errlen);
}

static void add_user(zt_store *st, const char *email, zt_user *out)
{
    int rc = zt_store_user_add(st, email, "Test User", "", NULL, 0, out);
    if (rc != 0)
        fail_msg("user_add %s: %d %s", email, rc, zt_store_errmsg());
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-pkstore-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    snprintf(f->db, sizeof(f->db), "%s/ztgate.db", f->state);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    add_user(f->st, "alice@example.com", &f->alice);
    add_user(f->st, "bob@example.com", &f->bob);
    *state = f;
    return 0;
}

/* The same backend-independent tests again against PostgreSQL (ZT_TEST_PG_DSN): a schema of
 * the test's own instead of a temp dir. */
static int setup_pg(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char err[256] = "";
    f->st = zt_test_pg_open(f->schema, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    add_user(f->st, "alice@example.com", &f->alice);
    add_user(f->st, "bob@example.com", &f->bob);
    *state = f;
    return 0;
}

static int teardown_pg(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_test_pg_drop(f->schema);
    zt_user_dispose(&f->alice);
    zt_user_dispose(&f->bob);
    free(f);
    return 0;
}

/* Another store on the fixture's database: a second gateway (or the same one reopened). */
static zt_store *open_again(const fixture *f)
{
    char err[256] = "";
    zt_store *st = f->schema[0] != '\0' ? zt_test_pg_reopen(f->schema, err, sizeof(err))
                                        : open_at(f->state, err, sizeof(err));
    if (st == NULL)
        fail_msg("open again: %s", err);
    return st;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_user_dispose(&f->alice);
    zt_user_dispose(&f->bob);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int64_t sqlite_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* A count from the fixture's database, whichever backend it is. */
static int64_t db_int(const fixture *f, const char *sql)
{
    return f->schema[0] != '\0' ? zt_test_pg_int(f->schema, sql) : sqlite_int(f->db, sql);
}

static void sqlite_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* A well-formed credential whose id is `len` bytes of `tag`. */
static zt_store_webauthn_cred make_cred(const char *user_id, unsigned char tag, size_t len,
                                        int64_t at)
{
    zt_store_webauthn_cred c;
    memset(&c, 0, sizeof(c));
    memset(c.id, tag, len);
    c.id_len = len;
    snprintf(c.user_id, sizeof(c.user_id), "%s", user_id);
    snprintf(c.name, sizeof(c.name), "Key %c", 'A' + tag % 26);
    memset(c.cose_key, 0xa5, 77);
    c.cose_key_len = 77;
    c.alg = ZT_WEBAUTHN_ES256;
    c.sign_count = 5;
    c.uv = true;
    c.be = true;
    c.bs = true;
    memset(c.aaguid, 0x11, sizeof(c.aaguid));
    snprintf(c.fmt, sizeof(c.fmt), "packed");
    snprintf(c.attestation_type, sizeof(c.attestation_type), "self");
    snprintf(c.transports, sizeof(c.transports), "internal,hybrid");
    c.created_at = at;
    return c;
}

static void add_ok(zt_store *st, const zt_store_webauthn_cred *c)
{
    int rc = zt_store_webauthn_add(st, c);
    if (rc != 0)
        fail_msg("webauthn_add: %d %s", rc, zt_store_errmsg());
}

static uint64_t count_of(zt_store *st, const char *user_id)
{
    uint64_t n = 99;
    assert_int_equal(zt_store_webauthn_count(st, user_id, &n), 0);
    return n;
}

typedef struct seen {
    int n;
    unsigned char first_tag[8];
} seen;

static int list_cb(void *ctx, const zt_store_webauthn_cred *c)
{
    seen *s = ctx;
    if (s->n < 8)
        s->first_tag[s->n] = c->id[0];
    s->n++;
    return 0;
}

/* ---- records ---- */

static void test_add_get_list_rename_delete(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'b', 16, 2000);
    zt_store_webauthn_cred b = make_cred(f->alice.id, 'a', ZT_STORE_WA_CRED_ID_MAX, 1000);
    b.alg = ZT_WEBAUTHN_RS256;
    b.bs = false;
    b.transports[0] = '\0';
    b.cose_key_len = ZT_STORE_WA_COSE_MAX;
    add_ok(f->st, &a);
    add_ok(f->st, &b);

    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_memory_equal(got.id, a.id, a.id_len);
    assert_int_equal(got.id_len, 16);
    assert_string_equal(got.user_id, f->alice.id);
    assert_string_equal(got.name, a.name);
    assert_int_equal(got.cose_key_len, 77);
    assert_memory_equal(got.cose_key, a.cose_key, 77);
    assert_int_equal(got.alg, ZT_WEBAUTHN_ES256);
    assert_int_equal(got.sign_count, 5);
    assert_true(got.uv && got.be && got.bs);
    assert_memory_equal(got.aaguid, a.aaguid, 16);
    assert_string_equal(got.fmt, "packed");
    assert_string_equal(got.attestation_type, "self");
    assert_string_equal(got.transports, "internal,hybrid");
    assert_int_equal(got.created_at, 2000);
    assert_int_equal(got.last_used_at, 0);

    assert_int_equal(zt_store_webauthn_get(f->st, b.id, b.id_len, &got), 0);
    assert_int_equal(got.id_len, ZT_STORE_WA_CRED_ID_MAX);
    assert_int_equal(got.cose_key_len, ZT_STORE_WA_COSE_MAX);
    assert_int_equal(got.alg, ZT_WEBAUTHN_RS256);
    assert_false(got.bs);
    assert_string_equal(got.transports, "");

    seen s = {0};
    assert_int_equal(zt_store_webauthn_list(f->st, f->alice.id, list_cb, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.first_tag[0], 'a'); /* oldest first */
    assert_int_equal(s.first_tag[1], 'b');
    assert_int_equal(count_of(f->st, f->alice.id), 2);
    assert_int_equal(count_of(f->st, f->bob.id), 0);

    assert_int_equal(
        zt_store_webauthn_rename(f->st, f->alice.id, a.id, a.id_len, "ノートPC の指紋"), 0);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_string_equal(got.name, "ノートPC の指紋");

    assert_int_equal(zt_store_webauthn_delete(f->st, f->alice.id, a.id, a.id_len), 0);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), -ENOENT);
    assert_int_equal(zt_store_webauthn_delete(f->st, f->alice.id, a.id, a.id_len), -ENOENT);
    assert_int_equal(count_of(f->st, f->alice.id), 1);
}

/* §7.1 step 22: the id is refused for anyone once it is stored; and a user acts on their own
 * credentials only. */
static void test_unique_and_owner_scoped(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'x', 32, 1000);
    add_ok(f->st, &a);
    zt_store_webauthn_cred dup = make_cred(f->bob.id, 'x', 32, 1001);
    assert_int_equal(zt_store_webauthn_add(f->st, &dup), -EEXIST);
    assert_non_null(strstr(zt_store_errmsg(), "registered already"));
    dup = make_cred(f->alice.id, 'x', 32, 1001);
    assert_int_equal(zt_store_webauthn_add(f->st, &dup), -EEXIST);
    assert_int_equal(count_of(f->st, f->bob.id), 0);

    assert_int_equal(zt_store_webauthn_rename(f->st, f->bob.id, a.id, a.id_len, "mine now"),
                     -ENOENT);
    assert_int_equal(zt_store_webauthn_delete(f->st, f->bob.id, a.id, a.id_len), -ENOENT);
    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_string_equal(got.name, a.name);
    assert_string_equal(got.user_id, f->alice.id);

    zt_store_webauthn_cred ghost = make_cred("0123456789abcdef0123456789abcdef", 'g', 8, 1000);
    assert_int_equal(zt_store_webauthn_add(f->st, &ghost), -ENOENT);
}

static void test_counter_compare_and_set(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'c', 20, 1000);
    a.uv = false;
    a.bs = false;
    add_ok(f->st, &a);
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, a.id_len, 5, 6, true, true, 3000), 0);
    /* A second assertion verified against 5 lost the race. */
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, a.id_len, 5, 7, false, false, 3001),
                     -EAGAIN);
    assert_non_null(strstr(zt_store_errmsg(), "counter"));
    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_int_equal(got.sign_count, 6);
    assert_true(got.uv);
    assert_true(got.bs);
    assert_int_equal(got.last_used_at, 3000);
    /* Counters only move forward here. */
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, a.id_len, 6, 6, true, true, 3002),
                     -EINVAL);
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, a.id_len, 6, 2, true, true, 3002),
                     -EINVAL);
    assert_int_equal(
        zt_store_webauthn_used(f->st, a.id, a.id_len, 6, UINT32_MAX, false, true, 3003), 0);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_int_equal(got.sign_count, UINT32_MAX);
    assert_false(got.uv);

    /* No counter (always 0): each use is fine; bs stays off without be. */
    zt_store_webauthn_cred z = make_cred(f->alice.id, 'z', 20, 1000);
    z.sign_count = 0;
    z.be = false;
    z.bs = false;
    add_ok(f->st, &z);
    assert_int_equal(zt_store_webauthn_used(f->st, z.id, z.id_len, 0, 0, true, true, 4000), 0);
    assert_int_equal(zt_store_webauthn_used(f->st, z.id, z.id_len, 0, 0, true, false, 4001), 0);
    assert_int_equal(zt_store_webauthn_get(f->st, z.id, z.id_len, &got), 0);
    assert_false(got.bs);
    assert_int_equal(got.last_used_at, 4001);

    unsigned char unknown[4] = {1, 2, 3, 4};
    assert_int_equal(zt_store_webauthn_used(f->st, unknown, 4, 0, 0, true, false, 4000), -ENOENT);
}

/* Threads each read the counter and move it by one: every success is one step of the final
 * counter, so no two of them moved it from the same value. */
typedef struct racer {
    zt_store *st;
    const zt_store_webauthn_cred *c;
    int ok, lost, other;
} racer;

static void *race_main(void *p)
{
    racer *r = p;
    for (int i = 0; i < 40; i++) {
        zt_store_webauthn_cred now;
        if (zt_store_webauthn_get(r->st, r->c->id, r->c->id_len, &now) != 0) {
            r->other++;
            continue;
        }
        int rc = zt_store_webauthn_used(r->st, r->c->id, r->c->id_len, now.sign_count,
                                        now.sign_count + 1, true, true, 5000 + i);
        if (rc == 0)
            r->ok++;
        else if (rc == -EAGAIN)
            r->lost++;
        else
            r->other++;
    }
    return NULL;
}

static void test_counter_race(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 't', 16, 1000);
    a.sign_count = 0;
    add_ok(f->st, &a);
    racer r[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (racer){.st = f->st, .c = &a};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].other, 0);
        ok += r[i].ok;
    }
    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_int_equal(got.sign_count, (uint32_t)ok);
    assert_true(ok > 0);
}

static void test_cap(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < ZT_STORE_WA_PER_USER_MAX; i++) {
        zt_store_webauthn_cred c = make_cred(f->alice.id, (unsigned char)i, 10, 1000 + i);
        add_ok(f->st, &c);
    }
    zt_store_webauthn_cred more = make_cred(f->alice.id, 200, 10, 5000);
    assert_int_equal(zt_store_webauthn_add(f->st, &more), -ENOSPC);
    assert_non_null(strstr(zt_store_errmsg(), "32"));
    assert_int_equal(count_of(f->st, f->alice.id), ZT_STORE_WA_PER_USER_MAX);
    more.id[0] = 201;
    snprintf(more.user_id, sizeof(more.user_id), "%s", f->bob.id);
    add_ok(f->st, &more); /* the cap is per user */
}

/* ---- bad input: -EINVAL with a message, nothing written ---- */

typedef void (*mutate_fn)(zt_store_webauthn_cred *c);

static void m_id_empty(zt_store_webauthn_cred *c)
{
    c->id_len = 0;
}
static void m_id_long(zt_store_webauthn_cred *c)
{
    c->id_len = ZT_STORE_WA_CRED_ID_MAX + 1;
}
static void m_user_short(zt_store_webauthn_cred *c)
{
    c->user_id[5] = '\0';
}
static void m_user_upper(zt_store_webauthn_cred *c)
{
    c->user_id[0] = 'A';
}
static void m_name_empty(zt_store_webauthn_cred *c)
{
    c->name[0] = '\0';
}
static void m_name_ctrl(zt_store_webauthn_cred *c)
{
    c->name[1] = '\n';
}
static void m_name_del(zt_store_webauthn_cred *c)
{
    c->name[1] = 0x7f;
}
static void m_name_long(zt_store_webauthn_cred *c)
{
    memset(c->name, 'n', sizeof(c->name));
}
static void m_cose_empty(zt_store_webauthn_cred *c)
{
    c->cose_key_len = 0;
}
static void m_cose_long(zt_store_webauthn_cred *c)
{
    c->cose_key_len = ZT_STORE_WA_COSE_MAX + 1;
}
static void m_alg(zt_store_webauthn_cred *c)
{
    c->alg = -35;
}
static void m_bs_no_be(zt_store_webauthn_cred *c)
{
    c->be = false;
}
static void m_fmt_empty(zt_store_webauthn_cred *c)
{
    c->fmt[0] = '\0';
}
static void m_fmt_chars(zt_store_webauthn_cred *c)
{
    snprintf(c->fmt, sizeof(c->fmt), "Packed");
}
static void m_att_empty(zt_store_webauthn_cred *c)
{
    c->attestation_type[0] = '\0';
}
static void m_att_ctrl(zt_store_webauthn_cred *c)
{
    c->attestation_type[0] = '\t';
}
static void m_tr_word(zt_store_webauthn_cred *c)
{
    snprintf(c->transports, sizeof(c->transports), "usb,wifi");
}
static void m_tr_trailing(zt_store_webauthn_cred *c)
{
    snprintf(c->transports, sizeof(c->transports), "usb,");
}
static void m_tr_space(zt_store_webauthn_cred *c)
{
    snprintf(c->transports, sizeof(c->transports), "usb, nfc");
}
static void m_tr_twice(zt_store_webauthn_cred *c)
{
    snprintf(c->transports, sizeof(c->transports), "nfc,usb,nfc");
}
static void m_created(zt_store_webauthn_cred *c)
{
    c->created_at = 0;
}

static void test_bad_cred_refused(void **state)
{
    fixture *f = *state;
    static const mutate_fn bad[] = {
        m_id_empty,  m_id_long,   m_user_short, m_user_upper, m_name_empty, m_name_ctrl,
        m_name_del,  m_name_long, m_cose_empty, m_cose_long,  m_alg,        m_bs_no_be,
        m_fmt_empty, m_fmt_chars, m_att_empty,  m_att_ctrl,   m_tr_word,    m_tr_trailing,
        m_tr_space,  m_tr_twice,  m_created,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zt_store_webauthn_cred c = make_cred(f->alice.id, 'q', 16, 1000);
        bad[i](&c);
        int rc = zt_store_webauthn_add(f->st, &c);
        if (rc != -EINVAL)
            fail_msg("mutation %zu: got %d (%s)", i, rc, zt_store_errmsg());
        assert_true(zt_store_errmsg()[0] != '\0');
    }
    assert_int_equal(zt_store_webauthn_add(f->st, NULL), -EINVAL);
    assert_int_equal(count_of(f->st, f->alice.id), 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_credentials"), 0);

    /* Every transport word is accepted, once each. */
    zt_store_webauthn_cred all = make_cred(f->alice.id, 'w', 16, 1000);
    snprintf(all.transports, sizeof(all.transports),
             "usb,nfc,ble,internal,hybrid,smart-card,cable");
    add_ok(f->st, &all);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'k', 16, 1000);
    add_ok(f->st, &a);
    zt_store_webauthn_cred got;
    unsigned char h[ZT_STORE_WA_HANDLE_LEN];
    char uid[ZT_STORE_ID_LEN + 1];
    uint64_t n;
    seen s = {0};
    char long_name[80];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';

    assert_int_equal(zt_store_webauthn_get(f->st, NULL, 4, &got), -EINVAL);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, 0, &got), -EINVAL);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, ZT_STORE_WA_CRED_ID_MAX + 1, &got),
                     -EINVAL);
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, NULL), -EINVAL);
    assert_int_equal(zt_store_webauthn_list(f->st, "nope", list_cb, &s), -EINVAL);
    assert_int_equal(zt_store_webauthn_list(f->st, f->alice.id, NULL, &s), -EINVAL);
    assert_int_equal(zt_store_webauthn_count(f->st, NULL, &n), -EINVAL);
    assert_int_equal(zt_store_webauthn_count(f->st, f->alice.id, NULL), -EINVAL);
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, 0, 5, 6, true, true, 2000), -EINVAL);
    assert_int_equal(zt_store_webauthn_used(f->st, a.id, a.id_len, 5, 6, true, true, 0), -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, f->alice.id, a.id, a.id_len, ""), -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, f->alice.id, a.id, a.id_len, NULL), -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, f->alice.id, a.id, a.id_len, long_name),
                     -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, f->alice.id, a.id, a.id_len, "a\rb"), -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, "x", a.id, a.id_len, "ok"), -EINVAL);
    assert_int_equal(zt_store_webauthn_rename(f->st, f->alice.id, NULL, 3, "ok"), -EINVAL);
    assert_int_equal(zt_store_webauthn_delete(f->st, NULL, a.id, a.id_len), -EINVAL);
    assert_int_equal(zt_store_webauthn_delete(f->st, f->alice.id, a.id, 0), -EINVAL);
    assert_int_equal(zt_store_webauthn_handle(f->st, "short", true, h), -EINVAL);
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, true, NULL), -EINVAL);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, h, 31, uid), -EINVAL);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, NULL, 32, uid), -EINVAL);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, h, 32, NULL), -EINVAL);
    assert_int_equal(zt_store_webauthn_count(NULL, f->alice.id, &n), -EINVAL);

    /* Nothing changed, and no handle was made. */
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), 0);
    assert_string_equal(got.name, a.name);
    assert_int_equal(got.sign_count, 5);
    assert_int_equal(got.last_used_at, 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_user_handles"), 0);
}

static int reenter_cb(void *ctx, const zt_store_webauthn_cred *c)
{
    zt_store *st = ctx;
    uint64_t n;
    return zt_store_webauthn_count(st, c->user_id, &n);
}

static void test_callback_reentry(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'r', 16, 1000);
    add_ok(f->st, &a);
    assert_int_equal(zt_store_webauthn_list(f->st, f->alice.id, reenter_cb, f->st), -EDEADLK);
}

/* ---- user handles ---- */

static void test_user_handles(void **state)
{
    fixture *f = *state;
    unsigned char h1[ZT_STORE_WA_HANDLE_LEN], h2[ZT_STORE_WA_HANDLE_LEN];
    unsigned char hb[ZT_STORE_WA_HANDLE_LEN], zero[ZT_STORE_WA_HANDLE_LEN] = {0};
    char uid[ZT_STORE_ID_LEN + 1];
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, false, h1), -ENOENT);
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, true, h1), 0);
    assert_memory_not_equal(h1, zero, sizeof(h1));
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, true, h2), 0);
    assert_memory_equal(h1, h2, sizeof(h1)); /* made once, stable */
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, false, h2), 0);
    assert_memory_equal(h1, h2, sizeof(h1));
    assert_int_equal(zt_store_webauthn_handle(f->st, f->bob.id, true, hb), 0);
    assert_memory_not_equal(h1, hb, sizeof(h1));

    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, h1, sizeof(h1), uid), 0);
    assert_string_equal(uid, f->alice.id);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, hb, sizeof(hb), uid), 0);
    assert_string_equal(uid, f->bob.id);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, zero, sizeof(zero), uid), -ENOENT);

    /* Survives reopening. */
    zt_store_close(f->st);
    f->st = open_again(f);
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, false, h2), 0);
    assert_memory_equal(h1, h2, sizeof(h1));

    assert_int_equal(zt_store_webauthn_handle(f->st, "0123456789abcdef0123456789abcdef", true, h2),
                     -ENOENT);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_user_handles"), 2);
}

/* Deleting a user deletes their credentials and handle (foreign keys, ON DELETE CASCADE). */
static void test_user_delete_cascades(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'd', 16, 1000);
    zt_store_webauthn_cred b = make_cred(f->bob.id, 'e', 16, 1000);
    add_ok(f->st, &a);
    add_ok(f->st, &b);
    unsigned char h[ZT_STORE_WA_HANDLE_LEN];
    char uid[ZT_STORE_ID_LEN + 1];
    assert_int_equal(zt_store_webauthn_handle(f->st, f->alice.id, true, h), 0);
    assert_int_equal(zt_store_user_delete(f->st, f->alice.id), 0);
    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, a.id_len, &got), -ENOENT);
    assert_int_equal(zt_store_webauthn_user_by_handle(f->st, h, sizeof(h), uid), -ENOENT);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_credentials"), 1);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_user_handles"), 0);
    assert_int_equal(zt_store_webauthn_get(f->st, b.id, b.id_len, &got), 0);
    /* The freed id may be registered again. */
    a = make_cred(f->bob.id, 'd', 16, 2000);
    add_ok(f->st, &a);
}

/* ---- schema 6 ---- */

/* A schema 5 database (a fresh file with migration 6 undone) gains the tables at open and
 * keeps its users. */
static void test_migrate_v5_to_v6(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    f->st = NULL;
    sqlite_exec(
        f->db,
        "DROP INDEX admin_tokens_parent; ALTER TABLE admin_tokens DROP COLUMN parent_id;"
        "DROP INDEX users_external; DROP INDEX users_source; DROP INDEX users_expires;"
        "DROP INDEX groups_external; ALTER TABLE users DROP COLUMN source;"
        "ALTER TABLE users DROP COLUMN external_id; ALTER TABLE users DROP COLUMN expires_at;"
        "ALTER TABLE users DROP COLUMN sponsor; ALTER TABLE users DROP COLUMN last_sign_in_at;"
        "ALTER TABLE users DROP COLUMN attrs; ALTER TABLE memberships DROP COLUMN source;"
        "ALTER TABLE groups DROP COLUMN source; ALTER TABLE groups DROP COLUMN external_id;"
        "ALTER TABLE groups DROP COLUMN display_name;"
        "ALTER TABLE sessions DROP COLUMN passkey_aaguid;"
        "ALTER TABLE sessions DROP COLUMN amr; DROP TABLE webauthn_challenges;"
        "DROP TABLE webauthn_credentials; DROP TABLE webauthn_user_handles;"
        "PRAGMA user_version = 5;");
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                                       "'webauthn%'"),
                     0);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    assert_true(ZT_STORE_SCHEMA_VERSION >=
                6); /* later steps (7: challenges, 8: passes) run as well */
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                       "('webauthn_credentials', 'webauthn_user_handles')"),
                     2);
    zt_store_webauthn_cred a = make_cred(f->alice.id, 'm', 16, 1000);
    add_ok(f->st, &a);
    unsigned char h[ZT_STORE_WA_HANDLE_LEN];
    assert_int_equal(zt_store_webauthn_handle(f->st, f->bob.id, true, h), 0);
}

/* ---- ceremony challenges (schema 7) ---- */

static zt_store_webauthn_challenge make_challenge(char bind_hex, const char *purpose,
                                                  int64_t expires_at)
{
    zt_store_webauthn_challenge c = {.expires_at = expires_at, .uv_required = true};
    memset(c.binding, bind_hex, ZT_STORE_WA_BINDING_LEN);
    snprintf(c.purpose, sizeof(c.purpose), "%s", purpose);
    memset(c.challenge, bind_hex, sizeof(c.challenge));
    snprintf(c.rd, sizeof(c.rd), "/app?x=1");
    return c;
}

/* Taken once: the second take (a replay) finds nothing; another binding (another browser) or
 * purpose finds nothing; an expired one is refused and gone; a new one replaces the old. */
static void test_challenges(void **state)
{
    fixture *f = *state;
    zt_store_webauthn_challenge c = make_challenge('a', "login", 2000), got;
    snprintf(c.user_id, sizeof(c.user_id), "%s", f->alice.id);
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c, 1000), 0);
    char other[ZT_STORE_WA_BINDING_LEN + 1];
    memset(other, 'b', ZT_STORE_WA_BINDING_LEN);
    other[ZT_STORE_WA_BINDING_LEN] = '\0';
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, other, "login", 1001, &got), -ENOENT);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "register", 1001, &got),
                     -ENOENT);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "login", 1001, &got), 0);
    assert_memory_equal(got.challenge, c.challenge, sizeof(c.challenge));
    assert_string_equal(got.user_id, f->alice.id);
    assert_string_equal(got.rd, "/app?x=1");
    assert_true(got.uv_required);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "login", 1001, &got),
                     -ENOENT);

    /* Replaced: only the newest challenge of a binding counts. */
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c, 1000), 0);
    zt_store_webauthn_challenge c2 = make_challenge('a', "login", 2000);
    c2.challenge[0] = 0x42;
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c2, 1000), 0);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "login", 1001, &got), 0);
    assert_int_equal(got.challenge[0], 0x42);

    /* Expired: refused, and gone. */
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c, 1000), 0);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "login", 2000, &got),
                     -ETIMEDOUT);
    assert_int_equal(zt_store_webauthn_challenge_take(f->st, c.binding, "login", 1001, &got),
                     -ENOENT);

    /* Expired ones are dropped when a new one is kept. */
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c, 1000), 0);
    zt_store_webauthn_challenge c3 = make_challenge('c', "register", 9000);
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c3, 5000), 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_challenges"), 1);

    /* Bad arguments write nothing. */
    zt_store_webauthn_challenge bad = make_challenge('a', "login", 2000);
    bad.binding[3] = 'X';
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &bad, 1000), -EINVAL);
    bad = make_challenge('a', "other", 2000);
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &bad, 1000), -EINVAL);
    bad = make_challenge('a', "login", 1000);
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &bad, 1000), -EINVAL);
    bad = make_challenge('a', "login", 2000);
    bad.rd[1] = '\n';
    assert_int_equal(zt_store_webauthn_challenge_put(f->st, &bad, 1000), -EINVAL);
    assert_int_equal(db_int(f, "SELECT count(*) FROM webauthn_challenges"), 1);
}

/* Two gateways (two stores on one database), two threads each, take one challenge at once:
 * exactly one gets it, every other finds none. Many rounds, so the takes do overlap. */
typedef struct taker {
    zt_store *st;
    const char *binding;
    pthread_barrier_t *go;
    int rc;
} taker;

static void *take_main(void *p)
{
    taker *t = p;
    zt_store_webauthn_challenge got;
    pthread_barrier_wait(t->go);
    t->rc = zt_store_webauthn_challenge_take(t->st, t->binding, "login", 1001, &got);
    return NULL;
}

static void test_challenge_race_two_gateways(void **state)
{
    fixture *f = *state;
    zt_store *other = open_again(f);
    zt_store_webauthn_challenge c = make_challenge('d', "login", 2000);
    for (int round = 0; round < 30; round++) {
        assert_int_equal(zt_store_webauthn_challenge_put(f->st, &c, 1000), 0);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 4);
        taker t[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            t[i] = (taker){.st = i % 2 ? other : f->st, .binding = c.binding, .go = &go};
            assert_int_equal(pthread_create(&th[i], NULL, take_main, &t[i]), 0);
        }
        int won = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            if (t[i].rc == 0)
                won++;
            else if (t[i].rc != -ENOENT)
                fail_msg("round %d taker %d: %d %s", round, i, t[i].rc, zt_store_errmsg());
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(won, 1);
    }
    zt_store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_list_rename_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_and_owner_scoped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_compare_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cred_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_reentry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v5_to_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_race_two_gateways, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_add_get_list_rename_delete),
        PG_TEST(test_unique_and_owner_scoped),
        PG_TEST(test_counter_compare_and_set),
        PG_TEST(test_counter_race),
        PG_TEST(test_cap),
        PG_TEST(test_bad_cred_refused),
        PG_TEST(test_bad_arguments),
        PG_TEST(test_callback_reentry),
        PG_TEST(test_user_handles),
        PG_TEST(test_user_delete_cascades),
        PG_TEST(test_challenges),
        PG_TEST(test_challenge_race_two_gateways),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
