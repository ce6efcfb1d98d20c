/* The store's Temporary Access Passes (SQLite, and PostgreSQL when ZT_TEST_PG_DSN is set): the pass
 * text (alphabet, shape, normalisation, the hash bound to its user), issue and replace, redeem with
 * its refusals in order (no pass, wrong, revoked, expired, used up), one use taken per redeem even
 * under racing threads, multi-use passes, revoke, bad arguments refused with nothing written,
 * and a deleted user's pass going with them. Each test owns a temp dir (or a PostgreSQL schema).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "store/store.h"

#define T0 1800000000 /* a fixed "now" */

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema */
    zt_store *st;
    zt_user alice, bob;
} fixture;

static void add_user(zt_store *st, const char *email, zt_user *out)
{
    if (zt_store_user_add(st, email, "Test User", "", NULL, 0, out) != 0)
        fail_msg("user_add %s: %s", email, zt_store_errmsg());
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-tapstore-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    add_user(f->st, "alice@example.com", &f->alice);
    add_user(f->st, "bob@example.com", &f->bob);
    *state = f;
    return 0;
}

/* The same tests against PostgreSQL (ZT_TEST_PG_DSN): a schema of the test's own. */
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
    zt_user_dispose(&f->alice);
    zt_user_dispose(&f->bob);
    zt_test_pg_drop(f->schema);
    free(f);
    return 0;
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

/* Issue a pass for user: its text into text, lifetime life_s from T0, `uses` uses. */
static void issue(fixture *f, const zt_user *u, int64_t life_s, int uses,
                  char text[ZT_STORE_TAP_TEXT_LEN + 1])
{
    zt_store_tap t = {.created_at = T0, .expires_at = T0 + life_s, .uses = uses};
    snprintf(t.user_id, sizeof(t.user_id), "%s", u->id);
    snprintf(t.created_by, sizeof(t.created_by), "root");
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    zt_store_tap_generate(text);
    assert_int_equal(zt_store_tap_hash(u->id, text, strlen(text), h), 0);
    if (zt_store_tap_put(f->st, &t, h) != 0)
        fail_msg("tap_put: %s", zt_store_errmsg());
}

static int redeem(fixture *f, const zt_user *u, const char *typed, int64_t now, zt_store_tap *out)
{
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    assert_int_equal(zt_store_tap_hash(u->id, typed, strlen(typed), h), 0);
    return zt_store_tap_redeem(f->st, u->id, h, now, out);
}

static void test_text(void **state)
{
    (void)state;
    char a[ZT_STORE_TAP_TEXT_LEN + 1], b[ZT_STORE_TAP_TEXT_LEN + 1];
    zt_store_tap_generate(a);
    zt_store_tap_generate(b);
    assert_int_equal(strlen(a), ZT_STORE_TAP_TEXT_LEN);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < ZT_STORE_TAP_TEXT_LEN; i++) {
        if (i % 6 == 5)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr(ZT_STORE_TAP_ALPHABET, a[i]));
    }
    assert_true(zt_store_tap_shaped(a, strlen(a)));
    assert_true(zt_store_tap_shaped("abcde fghjk-mnpqr stuvw", 23));
    assert_false(zt_store_tap_shaped("ABCDE-FGHJK-MNPQR-STUV", 22));       /* 19 letters */
    assert_false(zt_store_tap_shaped("ABCDE-FGHJK-MNPQR-STUVWX", 24));     /* 21 letters */
    assert_false(zt_store_tap_shaped("ABCDE-FGHJK-MNPQR-STUV0", 23));      /* 0 is not used */
    assert_false(zt_store_tap_shaped("correct horse battery staple", 28)); /* a password */
    assert_false(zt_store_tap_shaped(NULL, 0));
    const char nul[] = "ABCDE-FGHJK-MNPQR-STUV\0W";
    assert_false(zt_store_tap_shaped(nul, sizeof(nul) - 1));

    /* Case, dashes and spaces do not matter; the user does. */
    unsigned char h1[ZT_STORE_TAP_HASH_LEN], h2[ZT_STORE_TAP_HASH_LEN], h3[ZT_STORE_TAP_HASH_LEN];
    const char *id1 = "0123456789abcdef0123456789abcdef", *id2 = "fedcba9876543210fedcba9876543210";
    assert_int_equal(zt_store_tap_hash(id1, "ABCDE-FGHJK-MNPQR-STUVW", 23, h1), 0);
    assert_int_equal(zt_store_tap_hash(id1, "abcdefghjkmnpqrstuvw", 20, h2), 0);
    assert_memory_equal(h1, h2, sizeof(h1));
    assert_int_equal(zt_store_tap_hash(id2, "ABCDE-FGHJK-MNPQR-STUVW", 23, h3), 0);
    assert_memory_not_equal(h1, h3, sizeof(h1));
    assert_int_equal(zt_store_tap_hash(id1, "hunter2", 7, h3), -EINVAL);
}

static void test_issue_and_redeem_once(void **state)
{
    fixture *f = *state;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    zt_store_tap t;
    assert_int_equal(zt_store_tap_get(f->st, f->alice.id, &t), -ENOENT);
    issue(f, &f->alice, 3600, 1, pass);
    assert_int_equal(zt_store_tap_get(f->st, f->alice.id, &t), 0);
    assert_string_equal(t.created_by, "root");
    assert_int_equal(t.expires_at, T0 + 3600);
    assert_int_equal(t.uses, 1);
    assert_int_equal(t.uses_left, 1);
    assert_int_equal(t.last_used_at, 0);

    assert_string_equal(zt_store_tap_status(&t, T0), "active");
    assert_int_equal(redeem(f, &f->alice, pass, T0 + 10, &t), 0);
    assert_string_equal(zt_store_tap_status(&t, T0 + 10), "used_up");
    assert_string_equal(zt_store_tap_status(&t, T0 + 3600), "expired");
    t.revoked_at = T0 + 11;
    assert_string_equal(zt_store_tap_status(&t, T0 + 3600), "revoked");
    t.revoked_at = 0;
    assert_int_equal(t.uses_left, 0);
    assert_int_equal(t.last_used_at, T0 + 10);
    /* Used up: the second try is refused, and says why. */
    assert_int_equal(redeem(f, &f->alice, pass, T0 + 11, NULL), -EDQUOT);
    assert_int_equal(zt_store_tap_get(f->st, f->alice.id, &t), 0);
    assert_int_equal(t.uses_left, 0);
    assert_int_equal(t.last_used_at, T0 + 10);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1], other[ZT_STORE_TAP_TEXT_LEN + 1];
    /* No pass at all; then a pass of another user. */
    zt_store_tap_generate(other);
    assert_int_equal(redeem(f, &f->alice, other, T0 + 1, NULL), -ENOENT);
    issue(f, &f->bob, 3600, 1, other);
    assert_int_equal(redeem(f, &f->alice, other, T0 + 1, NULL), -ENOENT);
    issue(f, &f->alice, 3600, 1, pass);
    assert_int_equal(redeem(f, &f->alice, other, T0 + 1, NULL), -EACCES);
    /* Expired: at expires_at exactly, and after; the wrong pass is still "wrong" then. */
    assert_int_equal(redeem(f, &f->alice, pass, T0 + 3600, NULL), -ETIMEDOUT);
    assert_int_equal(redeem(f, &f->alice, other, T0 + 3600, NULL), -EACCES);
    /* The compare covers every byte: a hash off in its first or its last byte is wrong. */
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    assert_int_equal(zt_store_tap_hash(f->alice.id, pass, strlen(pass), h), 0);
    h[0] ^= 1;
    assert_int_equal(zt_store_tap_redeem(f->st, f->alice.id, h, T0 + 1, NULL), -EACCES);
    h[0] ^= 1;
    h[ZT_STORE_TAP_HASH_LEN - 1] ^= 0x80;
    assert_int_equal(zt_store_tap_redeem(f->st, f->alice.id, h, T0 + 1, NULL), -EACCES);
    /* Nothing was taken by the refusals. */
    zt_store_tap t;
    assert_int_equal(zt_store_tap_get(f->st, f->alice.id, &t), 0);
    assert_int_equal(t.uses_left, 1);
    /* Revoked: refused as revoked, and revoking twice says so. */
    assert_int_equal(zt_store_tap_revoke(f->st, f->alice.id, T0 + 5), 0);
    assert_int_equal(zt_store_tap_revoke(f->st, f->alice.id, T0 + 6), -EALREADY);
    assert_int_equal(redeem(f, &f->alice, pass, T0 + 7, NULL), -ECANCELED);
    assert_int_equal(zt_store_tap_revoke(f->st, f->bob.id, T0 + 5), 0);
    /* Bob's own pass still works for bob until revoked: shown by the revoke above succeeding
     * once; a never-issued user has nothing to revoke. */
    zt_user carol;
    add_user(f->st, "carol@example.com", &carol);
    assert_int_equal(zt_store_tap_revoke(f->st, carol.id, T0), -ENOENT);
    zt_user_dispose(&carol);
}

static void test_replace(void **state)
{
    fixture *f = *state;
    char first[ZT_STORE_TAP_TEXT_LEN + 1], second[ZT_STORE_TAP_TEXT_LEN + 1];
    issue(f, &f->alice, 3600, 1, first);
    assert_int_equal(zt_store_tap_revoke(f->st, f->alice.id, T0 + 1), 0);
    issue(f, &f->alice, 7200, 2, second);
    /* The old pass is gone (wrong now); the new one starts unrevoked with its own uses. */
    assert_int_equal(redeem(f, &f->alice, first, T0 + 2, NULL), -EACCES);
    zt_store_tap t;
    assert_int_equal(redeem(f, &f->alice, second, T0 + 2, &t), 0);
    assert_int_equal(t.uses_left, 1);
    assert_int_equal(t.revoked_at, 0);
    assert_int_equal(redeem(f, &f->alice, second, T0 + 3, &t), 0);
    assert_int_equal(t.uses_left, 0);
    assert_int_equal(redeem(f, &f->alice, second, T0 + 4, NULL), -EDQUOT);
}

static void test_unlimited(void **state)
{
    fixture *f = *state;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    issue(f, &f->alice, ZT_STORE_TAP_LIFETIME_MIN_S, ZT_STORE_TAP_UNLIMITED, pass);
    for (int i = 0; i < 5; i++)
        assert_int_equal(redeem(f, &f->alice, pass, T0 + 1 + i, NULL), 0);
    assert_int_equal(redeem(f, &f->alice, pass, T0 + ZT_STORE_TAP_LIFETIME_MIN_S, NULL),
                     -ETIMEDOUT);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    unsigned char h[ZT_STORE_TAP_HASH_LEN] = {0};
    zt_store_tap t = {.created_at = T0, .expires_at = T0 + 3600, .uses = 1};
    snprintf(t.user_id, sizeof(t.user_id), "%s", f->alice.id);
    /* No issuer; lifetimes just outside the bounds; uses out of range; unknown user. */
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -EINVAL);
    snprintf(t.created_by, sizeof(t.created_by), "root");
    t.expires_at = T0 + ZT_STORE_TAP_LIFETIME_MIN_S - 1;
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -EINVAL);
    t.expires_at = T0 + ZT_STORE_TAP_LIFETIME_MAX_S + 1;
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -EINVAL);
    t.expires_at = T0 + ZT_STORE_TAP_LIFETIME_MAX_S;
    t.uses = ZT_STORE_TAP_USES_MAX + 1;
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -EINVAL);
    t.uses = -1;
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -EINVAL);
    t.uses = 1;
    assert_int_equal(zt_store_tap_put(f->st, &t, NULL), -EINVAL);
    snprintf(t.user_id, sizeof(t.user_id), "%s", "0123456789abcdef0123456789abcdef");
    assert_int_equal(zt_store_tap_put(f->st, &t, h), -ENOENT);
    assert_int_equal(zt_store_tap_redeem(f->st, "nope", h, T0, NULL), -EINVAL);
    assert_int_equal(zt_store_tap_redeem(f->st, f->alice.id, NULL, T0, NULL), -EINVAL);
    assert_int_equal(zt_store_tap_get(f->st, f->alice.id, &t), -ENOENT);
    assert_int_equal(zt_store_tap_redeem(NULL, f->alice.id, h, T0, NULL), -EINVAL);
}

static void test_user_delete_cascades(void **state)
{
    fixture *f = *state;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    issue(f, &f->bob, 3600, 1, pass);
    assert_int_equal(zt_store_user_delete(f->st, f->bob.id), 0);
    zt_store_tap t;
    assert_int_equal(zt_store_tap_get(f->st, f->bob.id, &t), -ENOENT);
}

/* Threads racing on one 3-use pass: exactly 3 redeems succeed, the rest see "used up". */
typedef struct race {
    fixture *f;
    const char *pass;
    int ok, used_up, other;
    pthread_mutex_t mu;
} race;

static void *race_thread(void *arg)
{
    race *r = arg;
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    if (zt_store_tap_hash(r->f->alice.id, r->pass, strlen(r->pass), h) != 0)
        return NULL;
    for (int i = 0; i < 4; i++) {
        int rc = zt_store_tap_redeem(r->f->st, r->f->alice.id, h, T0 + 1, NULL);
        pthread_mutex_lock(&r->mu);
        if (rc == 0)
            r->ok++;
        else if (rc == -EDQUOT)
            r->used_up++;
        else
            r->other++;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

static void test_redeem_race(void **state)
{
    fixture *f = *state;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    issue(f, &f->alice, 3600, 3, pass);
    race r = {.f = f, .pass = pass, .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r.other, 0);
    assert_int_equal(r.ok, 3);
    assert_int_equal(r.used_up, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test_setup_teardown(test_issue_and_redeem_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlimited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_race, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_issue_and_redeem_once),
        PG_TEST(test_refusals),
        PG_TEST(test_replace),
        PG_TEST(test_unlimited),
        PG_TEST(test_bad_arguments),
        PG_TEST(test_user_delete_cascades),
        PG_TEST(test_redeem_race),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
