/* Pending `ztagent tunnel` sign-ins in the store (store_agent.h), on SQLite (ztgate-idp.db) and
 * again on PostgreSQL when ZT_TEST_PG_DSN is set: lookup by either code's hash, one row per
 * device, the poll bookkeeping, a decision only for a pending, unexpired row of the same
 * device, a decision handed out once, the cap on pending rows with expired ones dropped, an
 * idp file of version 1 brought up to version 2, and bad input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pg_fixture.h"
#include "store/store.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* "" = SQLite */
    zt_store *st;
} fixture;

static bool use_pg;
static const int64_t NOW = 1900000000;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-agent-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = use_pg ? zt_test_pg_open(f->schema, err, sizeof(err))
                   : zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    *state = f;
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
    if (f->schema[0] != '\0')
        zt_test_pg_drop(f->schema);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A pending sign-in whose hashes and device id are made of one repeated hex digit each. */
static zt_store_agent_signin pending(char dev_hash, char user_hash, char device, int64_t now)
{
    zt_store_agent_signin a = {.state = ZT_STORE_AGENT_PENDING,
                               .expires = now + 300,
                               .interval_s = 5,
                               .last_poll_ms = now * 1000};
    memset(a.device_hash, dev_hash, ZT_STORE_AGENT_HASH_LEN);
    memset(a.user_hash, user_hash, ZT_STORE_AGENT_HASH_LEN);
    memset(a.device_id, device, ZT_STORE_AGENT_DEVICE_ID_LEN);
    snprintf(a.app, sizeof(a.app), "ssh.example.org:22");
    snprintf(a.ip, sizeof(a.ip), "192.0.2.7");
    return a;
}

static zt_store_agent_signin approval(void)
{
    zt_store_agent_signin d = {.state = ZT_STORE_AGENT_APPROVED,
                               .auth_time = NOW - 60,
                               .mfa_time = NOW - 30,
                               .expires_cap = NOW + 3600,
                               .amr = 5};
    memset(d.user_id, '9', ZT_STORE_ID_LEN);
    snprintf(d.email, sizeof(d.email), "rin@example.org");
    snprintf(d.mfa_method, sizeof(d.mfa_method), "passkey");
    snprintf(d.aaguid, sizeof(d.aaguid), "0123456789abcdef0123456789abcdef");
    return d;
}

static void test_flow(void **state)
{
    fixture *f = *state;
    zt_store_agent_signin a = pending('a', 'b', 'c', NOW), got;
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), 0);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), 0);
    assert_string_equal(got.user_hash, a.user_hash);
    assert_string_equal(got.app, "ssh.example.org:22");
    assert_string_equal(got.ip, "192.0.2.7");
    assert_int_equal(got.state, ZT_STORE_AGENT_PENDING);
    assert_int_equal(got.interval_s, 5);
    assert_int_equal(zt_store_agent_signin_get(f->st, false, a.user_hash, &got), 0);
    assert_string_equal(got.device_hash, a.device_hash);
    assert_int_equal(zt_store_agent_signin_get(f->st, false, a.device_hash, &got), -ENOENT);

    /* a poll remembered */
    assert_int_equal(zt_store_agent_signin_polled(f->st, a.device_hash, NOW * 1000 + 1500, 10), 0);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), 0);
    assert_int_equal(got.last_poll_ms, NOW * 1000 + 1500);
    assert_int_equal(got.interval_s, 10);

    /* a decision: not for another device, not after expiry, not from the wrong state */
    zt_store_agent_signin d = approval();
    char other[ZT_STORE_AGENT_DEVICE_ID_LEN + 1];
    memset(other, 'd', ZT_STORE_AGENT_DEVICE_ID_LEN);
    other[ZT_STORE_AGENT_DEVICE_ID_LEN] = '\0';
    assert_int_equal(
        zt_store_agent_signin_decide(f->st, a.user_hash, other, NOW, ZT_STORE_AGENT_PENDING, &d),
        -ENOENT);
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, a.expires,
                                                  ZT_STORE_AGENT_PENDING, &d),
                     -ENOENT);
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, NOW,
                                                  ZT_STORE_AGENT_APPROVED, &d),
                     -ENOENT);
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, NOW,
                                                  ZT_STORE_AGENT_PENDING, &d),
                     0);
    /* decided once */
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, NOW,
                                                  ZT_STORE_AGENT_PENDING, &d),
                     -ENOENT);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), 0);
    assert_int_equal(got.state, ZT_STORE_AGENT_APPROVED);
    assert_string_equal(got.user_id, d.user_id);
    assert_string_equal(got.email, "rin@example.org");
    assert_string_equal(got.mfa_method, "passkey");
    assert_string_equal(got.aaguid, d.aaguid);
    assert_int_equal(got.auth_time, d.auth_time);
    assert_int_equal(got.mfa_time, d.mfa_time);
    assert_int_equal(got.expires_cap, d.expires_cap);
    assert_int_equal(got.amr, 5);

    /* handed out once: the wrong state takes nothing, the right one once */
    assert_int_equal(zt_store_agent_signin_take(f->st, a.device_hash, ZT_STORE_AGENT_DENIED),
                     -ENOENT);
    assert_int_equal(zt_store_agent_signin_take(f->st, a.device_hash, ZT_STORE_AGENT_APPROVED), 0);
    assert_int_equal(zt_store_agent_signin_take(f->st, a.device_hash, ZT_STORE_AGENT_APPROVED),
                     -ENOENT);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), -ENOENT);
    assert_int_equal(zt_store_agent_signin_polled(f->st, a.device_hash, NOW * 1000, 5), -ENOENT);
}

/* One row per device; a new start replaces the old one, whose codes stop working. */
static void test_one_per_device(void **state)
{
    fixture *f = *state;
    zt_store_agent_signin a = pending('a', 'b', 'c', NOW), b = pending('1', '2', 'c', NOW), got;
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), 0);
    assert_int_equal(zt_store_agent_signin_put(f->st, &b, NOW), 0);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), -ENOENT);
    assert_int_equal(zt_store_agent_signin_get(f->st, false, a.user_hash, &got), -ENOENT);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, b.device_hash, &got), 0);
    /* a taken user code of another device is refused, nothing lost */
    zt_store_agent_signin c = pending('3', '2', 'e', NOW);
    assert_int_equal(zt_store_agent_signin_put(f->st, &c, NOW), -EEXIST);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, b.device_hash, &got), 0);
    /* a denial, taken by "any state" */
    zt_store_agent_signin deny = {.state = ZT_STORE_AGENT_DENIED};
    assert_int_equal(zt_store_agent_signin_decide(f->st, b.user_hash, b.device_id, NOW,
                                                  ZT_STORE_AGENT_PENDING, &deny),
                     0);
    assert_int_equal(zt_store_agent_signin_take(f->st, b.device_hash, -1), 0);
}

/* At most ZT_STORE_AGENT_PENDING_MAX unexpired rows; expired ones make room. */
static void test_cap(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < ZT_STORE_AGENT_PENDING_MAX; i++) {
        zt_store_agent_signin a = pending('0', '0', '0', NOW);
        snprintf(a.device_hash, sizeof(a.device_hash), "%064x", i);
        snprintf(a.user_hash, sizeof(a.user_hash), "%064x", i + 1000000);
        snprintf(a.device_id, sizeof(a.device_id), "%032x", i);
        a.expires = NOW + (i < 10 ? 1 : 300); /* ten of them end a second later */
        if (zt_store_agent_signin_put(f->st, &a, NOW) != 0)
            fail_msg("put %d: %s", i, zt_store_errmsg());
    }
    zt_store_agent_signin one = pending('f', 'e', 'f', NOW);
    assert_int_equal(zt_store_agent_signin_put(f->st, &one, NOW), -ENOSPC);
    /* the same device's own restart still fits: its old row goes first */
    zt_store_agent_signin again = pending('a', 'b', '0', NOW);
    snprintf(again.device_id, sizeof(again.device_id), "%032x", 500);
    assert_int_equal(zt_store_agent_signin_put(f->st, &again, NOW), 0);
    /* a second later ten have expired */
    assert_int_equal(zt_store_agent_signin_put(f->st, &one, NOW + 1), 0);
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    zt_store_agent_signin a = pending('a', 'b', 'c', NOW), got;
    a.device_hash[3] = 'G';
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), -EINVAL);
    a = pending('a', 'b', 'c', NOW);
    a.app[0] = '\0';
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), -EINVAL);
    a = pending('a', 'b', 'c', NOW);
    a.expires = NOW;
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), -EINVAL);
    a = pending('a', 'b', 'c', NOW);
    a.state = ZT_STORE_AGENT_APPROVED;
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), -EINVAL);
    a = pending('a', 'b', 'c', NOW);
    a.ip[0] = '\n';
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), -EINVAL);
    assert_int_equal(zt_store_agent_signin_get(f->st, true, "short", &got), -EINVAL);
    assert_int_equal(zt_store_agent_signin_take(f->st, a.device_hash, 7), -EINVAL);
    a = pending('a', 'b', 'c', NOW);
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), 0);
    zt_store_agent_signin d = approval();
    d.aaguid[0] = 'Z';
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, NOW,
                                                  ZT_STORE_AGENT_PENDING, &d),
                     -EINVAL);
    d = approval();
    d.state = ZT_STORE_AGENT_PENDING;
    assert_int_equal(zt_store_agent_signin_decide(f->st, a.user_hash, a.device_id, NOW,
                                                  ZT_STORE_AGENT_PENDING, &d),
                     -EINVAL);
    /* nothing was changed by the refusals */
    assert_int_equal(zt_store_agent_signin_get(f->st, true, a.device_hash, &got), 0);
    assert_int_equal(got.state, ZT_STORE_AGENT_PENDING);
}

/* An idp file of version 1 (before agent sign-ins) gains the table at open. */
static void test_idp_v1_upgraded(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    f->st = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s/ztgate-idp.db", f->state);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP TABLE agent_signins; PRAGMA user_version = 1;", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    char err[256] = "";
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    zt_store_agent_signin a = pending('a', 'b', 'c', NOW);
    assert_int_equal(zt_store_agent_signin_put(f->st, &a, NOW), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_per_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idp_v1_upgraded, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    use_pg = true;
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_per_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
