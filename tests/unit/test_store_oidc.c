/* The store's OpenID Connect records (SQLite, then PostgreSQL when ZT_TEST_PG_DSN is set): a
 * code is taken once, and a second take revokes its grant; tokens live while their grant and
 * its ztgate session live; a refresh token rotates once, and reuse revokes the family;
 * revocation by client; the jti replay cache; grants of ended sessions handed out once; the
 * sweep; and code, refresh token and jti single use when two gateways race for them. Each test
 * owns a temp dir, or a PostgreSQL schema. */
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
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema, else "" */
    zt_store *st;
    zt_user alice;
    zt_store_session sess;
    zt_store_oidc_grant g;
} fixture;

static void hash_of(char c, unsigned char h[ZT_STORE_OIDC_HASH_LEN])
{
    memset(h, c, ZT_STORE_OIDC_HASH_LEN);
}

/* The user, session and grant every test starts from, whichever backend. */
static void seed(fixture *f)
{
    assert_int_equal(zt_store_user_add(f->st, "alice@example.com", "A", "", NULL, 0, &f->alice), 0);
    zt_store_session *s = &f->sess;
    memset(s->id_hash, 'a', 64);
    snprintf(s->user_id, sizeof(s->user_id), "%s", f->alice.id);
    s->created_at = s->auth_time = T0 - 10;
    s->idle_expires_at = T0 + 3600;
    s->absolute_expires_at = T0 + 7200;
    assert_int_equal(zt_store_session_create(f->st, s), 0);
    zt_store_oidc_grant *g = &f->g;
    memset(g->id, 'b', 32);
    snprintf(g->client_id, sizeof(g->client_id), "grafana");
    snprintf(g->app, sizeof(g->app), "grafana");
    snprintf(g->user_id, sizeof(g->user_id), "%s", f->alice.id);
    memcpy(g->session_hash, s->id_hash, 64);
    snprintf(g->sid, sizeof(g->sid), "sid1");
    snprintf(g->scope, sizeof(g->scope), "openid email");
    snprintf(g->nonce, sizeof(g->nonce), "n-0S6_WzA2Mj");
    g->auth_time = T0 - 10;
    g->created_at = T0;
    g->expires_at = T0 + 8 * 3600;
    assert_int_equal(zt_store_oidc_grant_add(f->st, g), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-oidcstore-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    seed(f);
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
    seed(f);
    *state = f;
    return 0;
}

static int teardown_pg(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_test_pg_drop(f->schema);
    zt_user_dispose(&f->alice);
    free(f);
    return 0;
}

/* A second gateway: another store on the fixture's database. */
static zt_store *open_again(const fixture *f)
{
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    zt_store *st = f->schema[0] != '\0' ? zt_test_pg_reopen(f->schema, err, sizeof(err))
                                        : zt_store_open(&cfg, err, sizeof(err));
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
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void add_code(fixture *f, char c, int64_t exp)
{
    unsigned char h[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code code = {.expires_at = exp};
    memcpy(code.grant_id, f->g.id, 33);
    snprintf(code.redirect_uri, sizeof(code.redirect_uri), "https://rp.example/cb");
    hash_of(c, h);
    assert_int_equal(zt_store_oidc_code_add(f->st, h, &code), 0);
}

static void test_code_once_and_replay_revokes(void **state)
{
    fixture *f = *state;
    unsigned char code[ZT_STORE_OIDC_HASH_LEN], at[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code c;
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat, exp;
    add_code(f, 'c', T0 + 60);
    hash_of('c', code);
    assert_int_equal(zt_store_oidc_code_take(f->st, code, T0, &c, &g), 0);
    assert_string_equal(c.redirect_uri, "https://rp.example/cb");
    assert_string_equal(g.nonce, "n-0S6_WzA2Mj");
    hash_of('t', at);
    assert_int_equal(zt_store_oidc_token_add(f->st, at, g.id, ZT_STORE_OIDC_ACCESS, T0, T0 + 600),
                     0);
    assert_int_equal(zt_store_oidc_token_get(f->st, at, T0 + 1, &kind, &iat, &exp, &g), 0);
    assert_int_equal(kind, ZT_STORE_OIDC_ACCESS);
    /* The same code again: refused, and the token issued from it dies. */
    assert_int_equal(zt_store_oidc_code_take(f->st, code, T0 + 2, &c, &g), -EALREADY);
    assert_int_equal(zt_store_oidc_token_get(f->st, at, T0 + 3, &kind, &iat, &exp, &g), -ENOENT);
    assert_int_equal(zt_store_oidc_grant_get(f->st, f->g.id, &g), 0);
    assert_true(g.revoked_at != 0 && g.replayed);
}

/* Grant and code in one transaction: both usable, or neither stored when one fails. */
static void test_grant_and_code_together(void **state)
{
    fixture *f = *state;
    zt_store_oidc_grant g2 = f->g, got;
    memset(g2.id, 'd', 32);
    unsigned char h[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code code = {.expires_at = T0 + 60}, c;
    memcpy(code.grant_id, g2.id, 33);
    snprintf(code.redirect_uri, sizeof(code.redirect_uri), "https://rp.example/cb");
    hash_of('g', h);
    assert_int_equal(zt_store_oidc_grant_code_add(f->st, &g2, h, &code), 0);
    assert_int_equal(zt_store_oidc_code_take(f->st, h, T0, &c, &got), 0);
    assert_string_equal(got.id, g2.id);
    /* The same code hash again with a new grant: the code insert fails, the grant is rolled
     * back with it. */
    memset(g2.id, 'e', 32);
    memcpy(code.grant_id, g2.id, 33);
    assert_true(zt_store_oidc_grant_code_add(f->st, &g2, h, &code) < 0);
    assert_int_equal(zt_store_oidc_grant_get(f->st, g2.id, &got), -ENOENT);
    /* A code of another grant is refused before any write. */
    memset(code.grant_id, 'b', 32);
    assert_int_equal(zt_store_oidc_grant_code_add(f->st, &g2, h, &code), -EINVAL);
}

/* The tokens of one answer go in together: a failing one leaves none of them. */
static void test_tokens_together(void **state)
{
    fixture *f = *state;
    zt_store_oidc_new_token t[3] = {{.kind = ZT_STORE_OIDC_ACCESS, .expires_at = T0 + 600},
                                    {.kind = ZT_STORE_OIDC_ID_TOKEN, .expires_at = T0 + 600},
                                    {.kind = ZT_STORE_OIDC_REFRESH, .expires_at = T0 + 3600}};
    hash_of('1', t[0].hash);
    hash_of('2', t[1].hash);
    hash_of('1', t[2].hash); /* the same hash twice: the batch fails */
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat, exp;
    assert_true(zt_store_oidc_tokens_add(f->st, f->g.id, T0, t, 3) < 0);
    assert_int_equal(zt_store_oidc_token_get(f->st, t[0].hash, T0, &kind, &iat, &exp, &g), -ENOENT);
    hash_of('3', t[2].hash);
    assert_int_equal(zt_store_oidc_tokens_add(f->st, f->g.id, T0, t, 3), 0);
    assert_int_equal(zt_store_oidc_token_get(f->st, t[2].hash, T0, &kind, &iat, &exp, &g), 0);
    assert_int_equal(kind, ZT_STORE_OIDC_REFRESH);
    assert_int_equal(zt_store_oidc_token_get(f->st, t[0].hash, T0, &kind, &iat, &exp, &g), 0);
    assert_int_equal(kind, ZT_STORE_OIDC_ACCESS);
    t[0].expires_at = T0; /* already expired */
    assert_int_equal(zt_store_oidc_tokens_add(f->st, f->g.id, T0, t, 1), -EINVAL);
    assert_int_equal(zt_store_oidc_tokens_add(f->st, f->g.id, T0, t, 0), -EINVAL);
}

static void test_code_expired_or_unknown(void **state)
{
    fixture *f = *state;
    unsigned char h[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code c;
    zt_store_oidc_grant g;
    add_code(f, 'e', T0 + 60);
    hash_of('e', h);
    assert_int_equal(zt_store_oidc_code_take(f->st, h, T0 + 60, &c, &g), -ENOENT);
    hash_of('x', h);
    assert_int_equal(zt_store_oidc_code_take(f->st, h, T0, &c, &g), -ENOENT);
}

static void test_code_of_ended_session(void **state)
{
    fixture *f = *state;
    unsigned char h[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code c;
    zt_store_oidc_grant g;
    add_code(f, 'z', T0 + 60);
    assert_int_equal(zt_store_session_delete(f->st, f->sess.id_hash), 0);
    hash_of('z', h);
    assert_int_equal(zt_store_oidc_code_take(f->st, h, T0, &c, &g), -ECANCELED);
}

static void test_refresh_rotation_and_reuse(void **state)
{
    fixture *f = *state;
    unsigned char r1[ZT_STORE_OIDC_HASH_LEN], r2[ZT_STORE_OIDC_HASH_LEN],
        r3[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    hash_of('1', r1);
    hash_of('2', r2);
    hash_of('3', r3);
    assert_int_equal(
        zt_store_oidc_token_add(f->st, r1, f->g.id, ZT_STORE_OIDC_REFRESH, T0, T0 + 3600), 0);
    assert_int_equal(zt_store_oidc_refresh_rotate(f->st, r1, r2, T0 + 5, T0 + 3600, &g), 0);
    /* r1 again: reuse of a rotated token revokes the whole family, r2 included. */
    assert_int_equal(zt_store_oidc_refresh_rotate(f->st, r1, r3, T0 + 6, T0 + 3600, &g), -EALREADY);
    assert_int_equal(zt_store_oidc_refresh_rotate(f->st, r2, r3, T0 + 7, T0 + 3600, &g), -ENOENT);
}

static void test_refresh_refused_when_session_ends(void **state)
{
    fixture *f = *state;
    unsigned char r1[ZT_STORE_OIDC_HASH_LEN], r2[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    hash_of('1', r1);
    hash_of('2', r2);
    assert_int_equal(
        zt_store_oidc_token_add(f->st, r1, f->g.id, ZT_STORE_OIDC_REFRESH, T0, T0 + 3600), 0);
    assert_int_equal(zt_store_session_delete(f->st, f->sess.id_hash), 0);
    assert_int_equal(zt_store_oidc_refresh_rotate(f->st, r1, r2, T0 + 5, T0 + 3600, &g),
                     -ECANCELED);
    assert_int_equal(zt_store_oidc_grant_get(f->st, f->g.id, &g), 0);
    assert_true(g.revoked_at != 0);
}

static void test_revoke_by_client(void **state)
{
    fixture *f = *state;
    unsigned char at[ZT_STORE_OIDC_HASH_LEN], rt[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat, exp;
    hash_of('a', at);
    hash_of('r', rt);
    assert_int_equal(zt_store_oidc_token_add(f->st, at, f->g.id, ZT_STORE_OIDC_ACCESS, T0, T0 + 60),
                     0);
    assert_int_equal(
        zt_store_oidc_token_add(f->st, rt, f->g.id, ZT_STORE_OIDC_REFRESH, T0, T0 + 3600), 0);
    /* Another client's revocation changes nothing. */
    assert_int_equal(zt_store_oidc_token_revoke(f->st, rt, "gitlab", T0), 0);
    assert_int_equal(zt_store_oidc_token_get(f->st, at, T0, &kind, &iat, &exp, &g), 0);
    /* The owner's revocation of the refresh token ends the grant, its access token too. */
    assert_int_equal(zt_store_oidc_token_revoke(f->st, rt, "grafana", T0), 0);
    assert_int_equal(zt_store_oidc_token_get(f->st, at, T0, &kind, &iat, &exp, &g), -ENOENT);
}

static void test_jti_replay(void **state)
{
    fixture *f = *state;
    assert_int_equal(zt_store_oidc_jti_use(f->st, "grafana", "j1", T0 + 60, T0), 0);
    assert_int_equal(zt_store_oidc_jti_use(f->st, "grafana", "j1", T0 + 60, T0 + 1), -EALREADY);
    assert_int_equal(zt_store_oidc_jti_use(f->st, "gitlab", "j1", T0 + 60, T0 + 1), 0);
    assert_int_equal(zt_store_oidc_jti_use(f->st, "grafana", "j1", T0 + 200, T0 + 61), 0);
    assert_int_equal(zt_store_oidc_jti_use(f->st, "grafana", "", T0 + 60, T0), -EINVAL);
}

static int count_cb(void *ctx, const zt_store_oidc_grant *g)
{
    (*(int *)ctx)++;
    assert_string_equal(g->client_id, "grafana");
    return 0;
}

static void test_end_orphans_once(void **state)
{
    fixture *f = *state;
    int seen = 0;
    uint64_t n = 0;
    assert_int_equal(zt_store_oidc_end_orphans(f->st, T0, count_cb, &seen, &n), 0);
    assert_int_equal(seen, 0); /* the session lives */
    assert_int_equal(zt_store_session_delete(f->st, f->sess.id_hash), 0);
    assert_int_equal(zt_store_oidc_end_orphans(f->st, T0, count_cb, &seen, &n), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(zt_store_oidc_end_orphans(f->st, T0, count_cb, &seen, &n), 0);
    assert_int_equal(seen, 1); /* handed out once */
}

static void test_disabled_user_ends_grant(void **state)
{
    fixture *f = *state;
    int seen = 0;
    int64_t epoch = 0;
    assert_int_equal(zt_store_user_set_disabled(f->st, f->alice.id, true, &epoch), 0);
    assert_int_equal(zt_store_oidc_end_orphans(f->st, T0, count_cb, &seen, NULL), 0);
    assert_int_equal(seen, 1);
}

/* A deleted user's grant is not deleted with them: it ends (back-channel logout) like any. */
static void test_deleted_user_ends_grant(void **state)
{
    fixture *f = *state;
    int seen = 0;
    zt_store_oidc_grant g;
    assert_int_equal(zt_store_user_delete(f->st, f->alice.id), 0);
    assert_int_equal(zt_store_oidc_grant_get(f->st, f->g.id, &g), 0);
    assert_int_equal(zt_store_oidc_end_orphans(f->st, T0, count_cb, &seen, NULL), 0);
    assert_int_equal(seen, 1);
}

static void test_sweep_and_bad_args(void **state)
{
    fixture *f = *state;
    uint64_t n = 0;
    add_code(f, 's', T0 + 60);
    assert_int_equal(zt_store_oidc_sweep(f->st, T0 + 8 * 3600 + 86401, &n), 0);
    assert_true(n >= 2); /* the code and the grant */
    zt_store_oidc_grant bad = f->g;
    bad.id[0] = 'Z';
    assert_int_equal(zt_store_oidc_grant_add(f->st, &bad), -EINVAL);
    bad = f->g;
    bad.expires_at = bad.created_at;
    assert_int_equal(zt_store_oidc_grant_add(f->st, &bad), -EINVAL);
}

/* ---- two gateways racing ---- */

typedef enum race_kind { RACE_CODE, RACE_REFRESH, RACE_JTI } race_kind;

typedef struct racer {
    zt_store *st;
    race_kind kind;
    int round, index;
    pthread_barrier_t *go;
    int rc;
} racer;

static void *race_main(void *p)
{
    racer *r = p;
    unsigned char h[ZT_STORE_OIDC_HASH_LEN], next[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_code c;
    zt_store_oidc_grant g;
    char jti[16];
    hash_of((char)('A' + r->round), h);
    hash_of((char)('a' + r->index), next);
    next[0] = (unsigned char)r->round;
    snprintf(jti, sizeof(jti), "j%d", r->round);
    pthread_barrier_wait(r->go);
    if (r->kind == RACE_CODE)
        r->rc = zt_store_oidc_code_take(r->st, h, T0, &c, &g);
    else if (r->kind == RACE_REFRESH)
        r->rc = zt_store_oidc_refresh_rotate(r->st, h, next, T0 + 1, T0 + 3600, &g);
    else
        r->rc = zt_store_oidc_jti_use(r->st, "grafana", jti, T0 + 60, T0);
    return NULL;
}

/* A fresh grant per kind and round (a lost race revokes the round's grant), with its code or
 * refresh token hashed from the round. */
static void race_prepare(fixture *f, race_kind kind, int round)
{
    zt_store_oidc_grant g = f->g;
    g.id[31] = (char)('c' + round % 4);
    g.id[30] = (char)('c' + round / 4);
    g.id[29] = (char)('c' + kind);
    unsigned char h[ZT_STORE_OIDC_HASH_LEN];
    hash_of((char)('A' + round), h);
    if (kind == RACE_CODE) {
        zt_store_oidc_code code = {.expires_at = T0 + 60};
        memcpy(code.grant_id, g.id, sizeof(code.grant_id));
        snprintf(code.redirect_uri, sizeof(code.redirect_uri), "https://rp.example/cb");
        assert_int_equal(zt_store_oidc_grant_code_add(f->st, &g, h, &code), 0);
    } else if (kind == RACE_REFRESH) {
        assert_int_equal(zt_store_oidc_grant_add(f->st, &g), 0);
        assert_int_equal(
            zt_store_oidc_token_add(f->st, h, g.id, ZT_STORE_OIDC_REFRESH, T0, T0 + 3600), 0);
    }
}

/* Four takers (two per gateway) at once, many rounds: exactly one wins each round; the others
 * are told it was used (a replay), never handed it too. */
static void race_rounds(fixture *f, zt_store *other, race_kind kind)
{
    for (int round = 0; round < 12; round++) {
        race_prepare(f, kind, round);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 4);
        racer r[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            r[i] = (racer){
                .st = i % 2 ? other : f->st, .kind = kind, .round = round, .index = i, .go = &go};
            assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
        }
        int won = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            if (r[i].rc == 0)
                won++;
            else if (r[i].rc != -EALREADY)
                fail_msg("kind %d round %d racer %d: %d", kind, round, i, r[i].rc);
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(won, 1);
    }
}

static void test_two_gateways_race(void **state)
{
    fixture *f = *state;
    zt_store *other = open_again(f);
    race_rounds(f, other, RACE_CODE);
    race_rounds(f, other, RACE_REFRESH);
    race_rounds(f, other, RACE_JTI);
    zt_store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_code_once_and_replay_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grant_and_code_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_expired_or_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_of_ended_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_rotation_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_refused_when_session_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_by_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jti_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_orphans_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_user_ends_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_user_ends_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_gateways_race, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_code_once_and_replay_revokes),
        PG_TEST(test_grant_and_code_together),
        PG_TEST(test_tokens_together),
        PG_TEST(test_code_expired_or_unknown),
        PG_TEST(test_code_of_ended_session),
        PG_TEST(test_refresh_rotation_and_reuse),
        PG_TEST(test_refresh_refused_when_session_ends),
        PG_TEST(test_revoke_by_client),
        PG_TEST(test_jti_replay),
        PG_TEST(test_end_orphans_once),
        PG_TEST(test_disabled_user_ends_grant),
        PG_TEST(test_deleted_user_ends_grant),
        PG_TEST(test_sweep_and_bad_args),
        PG_TEST(test_two_gateways_race),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
