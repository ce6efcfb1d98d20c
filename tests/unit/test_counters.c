/* Counters shared through PostgreSQL (store_counter.h): two throttles and two risk engines on
 * one schema stand for two gateways on one database. The limits must hold across both (one
 * account side sees at most account_failure_limit checked guesses, one source at most
 * source_failures_per_minute failures a minute), also when both admit at once from two
 * threads; a crashed gateway's reservations stop counting after ZT_THROTTLE_HOLD_TTL_MS; a
 * database error at admission refuses; a spray spread over both engines is one spray. Without
 * ZT_TEST_PG_DSN the PostgreSQL cases are skipped; SQLite must refuse to share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_fixture.h"
#include "risk/risk.h"
#include "session/throttle.h"
#include "store/store.h"

#define NOW_MS 1767225600000LL
#define NOW_S (NOW_MS / 1000)

static const unsigned char shared_key[32] = "ztgate unit test shared key 01";

typedef struct gateways {
    char schema[ZT_TEST_PG_SCHEMA_MAX];
    zt_store *st[2];
    zt_throttle *t[2];
} gateways;

static zt_throttle_cfg cfg_limits(unsigned account_limit, unsigned source_limit)
{
    /* No delays: the tests count guesses, not waits. */
    return (zt_throttle_cfg){.account_failure_limit = account_limit,
                             .source_failures_per_minute = source_limit,
                             .free_failures = 100000,
                             .max_entries = 1000};
}

static zt_store *open_second(const char *schema)
{
    char err[256] = "";
    zt_store *st = zt_test_pg_reopen(schema, err, sizeof(err));
    if (st == NULL)
        fail_msg("reopen: %s", err);
    return st;
}

/* Two gateways: two store handles on one fresh schema, a throttle on each. */
static bool gateways_open(gateways *g, const zt_throttle_cfg *c)
{
    memset(g, 0, sizeof(*g));
    if (!zt_test_pg_enabled())
        return false;
    char err[256] = "";
    g->st[0] = zt_test_pg_open(g->schema, err, sizeof(err));
    if (g->st[0] == NULL)
        fail_msg("open: %s", err);
    g->st[1] = open_second(g->schema);
    for (int i = 0; i < 2; i++) {
        g->t[i] = zt_throttle_new(c);
        assert_non_null(g->t[i]);
        assert_int_equal(zt_throttle_set_shared(g->t[i], g->st[i], shared_key), 0);
    }
    return true;
}

static void gateways_close(gateways *g)
{
    for (int i = 0; i < 2; i++) {
        zt_throttle_free(g->t[i]);
        zt_store_close(g->st[i]);
    }
    zt_test_pg_drop(g->schema);
}

/* One attempt that fails its password check: admit, then settle as a failure when admitted. */
static zt_throttle_result fail_once(zt_throttle *t, const char *acct, const char *ip, bool known,
                                    int64_t now)
{
    zt_throttle_ticket k;
    zt_throttle_verdict v = zt_throttle_admit(t, acct, ip, known, now, &k);
    zt_throttle_settle(t, &k, false, now);
    return v.result;
}

static void test_account_limit_across_gateways(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(10, 1000);
    if (!gateways_open(&g, &c))
        skip();
    int go[2] = {0, 0};
    for (int i = 0; i < 10; i++) {
        zt_throttle_result r =
            fail_once(g.t[i % 2], "ann@example.com", "192.0.2.1", false, NOW_MS + i);
        if (r != ZT_THROTTLE_GO)
            fail_msg("guess %d on gateway %d: result %d, want GO", i + 1, i % 2, r);
        go[i % 2]++;
    }
    /* Ten guesses in all, five on each: the account refuses on both (one gateway alone has
     * seen only five, under its limit). */
    assert_int_equal(go[0] + go[1], 10);
    for (int n = 0; n < 2; n++) {
        zt_throttle_verdict v =
            zt_throttle_check(g.t[n], "ANN@example.com", "192.0.2.9", false, NOW_MS + 20);
        assert_int_equal(v.result, ZT_THROTTLE_ACCOUNT);
        assert_int_equal(fail_once(g.t[n], "ann@example.com", "192.0.2.1", false, NOW_MS + 21),
                         ZT_THROTTLE_ACCOUNT);
    }
    /* The owner's known device is a side of its own; a success there resets only that side. */
    zt_throttle_ticket k;
    assert_int_equal(
        zt_throttle_admit(g.t[1], "ann@example.com", "198.51.100.7", true, NOW_MS + 30, &k).result,
        ZT_THROTTLE_GO);
    zt_throttle_settle(g.t[1], &k, true, NOW_MS + 30);
    assert_int_equal(
        zt_throttle_check(g.t[0], "ann@example.com", "192.0.2.1", false, NOW_MS + 31).result,
        ZT_THROTTLE_ACCOUNT);
    /* A quiet spell forgives, on every gateway. */
    int64_t later = NOW_MS + 31 + ZT_THROTTLE_ACCOUNT_RESET_MS;
    assert_int_equal(zt_throttle_check(g.t[0], "ann@example.com", "192.0.2.1", false, later).result,
                     ZT_THROTTLE_GO);
    gateways_close(&g);
}

static void test_source_limit_across_gateways(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(1000, 6);
    if (!gateways_open(&g, &c))
        skip();
    char acct[32];
    for (int i = 0; i < 6; i++) {
        snprintf(acct, sizeof(acct), "user%d@example.com", i);
        assert_int_equal(fail_once(g.t[i % 2], acct, "203.0.113.5", false, NOW_MS + i * 1000),
                         ZT_THROTTLE_GO);
    }
    for (int n = 0; n < 2; n++) {
        zt_throttle_verdict v =
            zt_throttle_check(g.t[n], "other@example.com", "203.0.113.5", false, NOW_MS + 6000);
        assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
        /* The first failure (second 0) leaves the window at second 61. */
        assert_int_equal(v.retry_after_s, 55);
    }
    assert_int_equal(
        zt_throttle_check(g.t[1], "x@example.com", "203.0.113.6", false, NOW_MS + 6000).result,
        ZT_THROTTLE_GO);
    assert_int_equal(
        zt_throttle_check(g.t[0], "x@example.com", "203.0.113.5", false, NOW_MS + 61000).result,
        ZT_THROTTLE_GO);
    gateways_close(&g);
}

static pthread_barrier_t start_line;

typedef struct racer {
    zt_throttle *t;
    int go, refused_wait, calls;
    bool locked;
} racer;

/* Guess until the account is locked; admitted guesses all fail. */
static void *race(void *arg)
{
    racer *r = arg;
    /* This thread's connection first, then both gateways start together. */
    zt_throttle_check(r->t, "warm@example.com", NULL, false, NOW_MS);
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < 2000 && !r->locked; i++) {
        zt_throttle_ticket k;
        zt_throttle_verdict v =
            zt_throttle_admit(r->t, "race@example.com", "192.0.2.77", false, NOW_MS, &k);
        r->calls++;
        if (v.result == ZT_THROTTLE_GO)
            r->go++;
        else if (v.result == ZT_THROTTLE_WAIT)
            r->refused_wait++;
        else if (v.result == ZT_THROTTLE_ACCOUNT)
            r->locked = true;
        zt_throttle_settle(r->t, &k, false, NOW_MS);
    }
    return NULL;
}

#define RACERS 8 /* threads, half on each gateway, each with its own connection */

static void test_concurrent_admissions_never_exceed(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(25, 100000);
    if (!gateways_open(&g, &c))
        skip();
    racer r[RACERS];
    pthread_t th[RACERS];
    pthread_barrier_init(&start_line, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer){.t = g.t[i % 2]};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int go[2] = {0, 0}, waits = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        assert_true(r[i].locked);
        go[i % 2] += r[i].go;
        waits += r[i].refused_wait;
    }
    pthread_barrier_destroy(&start_line);
    print_message("%d threads on two gateways: %d + %d guesses checked, %d refused while in "
                  "flight\n",
                  RACERS, go[0], go[1], waits);
    assert_int_equal(go[0] + go[1], 25);
    gateways_close(&g);
}

static void test_crashed_gateway_reservations_expire(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(3, 1000);
    if (!gateways_open(&g, &c))
        skip();
    /* Gateway 0 admits three guesses and dies before any verdict. */
    zt_throttle_ticket lost[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            zt_throttle_admit(g.t[0], "cat@example.com", "192.0.2.3", false, NOW_MS, &lost[i])
                .result,
            ZT_THROTTLE_GO);
    zt_throttle_ticket k;
    zt_throttle_verdict v =
        zt_throttle_admit(g.t[1], "cat@example.com", "192.0.2.4", false, NOW_MS + 1000, &k);
    assert_int_equal(v.result, ZT_THROTTLE_WAIT);
    zt_throttle_release(g.t[1], &k);
    v = zt_throttle_admit(g.t[1], "cat@example.com", "192.0.2.4", false,
                          NOW_MS + ZT_THROTTLE_HOLD_TTL_MS - 1, &k);
    assert_int_equal(v.result, ZT_THROTTLE_WAIT);
    zt_throttle_release(g.t[1], &k);
    v = zt_throttle_admit(g.t[1], "cat@example.com", "192.0.2.4", false,
                          NOW_MS + ZT_THROTTLE_HOLD_TTL_MS, &k);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    zt_throttle_settle(g.t[1], &k, false, NOW_MS + ZT_THROTTLE_HOLD_TTL_MS);
    /* A verdict after the bound still counts: it was a checked guess. */
    zt_throttle_settle(g.t[0], &lost[0], false, NOW_MS + ZT_THROTTLE_HOLD_TTL_MS + 1);
    zt_throttle_settle(g.t[0], &lost[1], false, NOW_MS + ZT_THROTTLE_HOLD_TTL_MS + 1);
    assert_int_equal(zt_throttle_check(g.t[1], "cat@example.com", "192.0.2.4", false,
                                       NOW_MS + ZT_THROTTLE_HOLD_TTL_MS + 2)
                         .result,
                     ZT_THROTTLE_ACCOUNT);
    zt_throttle_release(g.t[0], &lost[2]);
    /* The sweep deletes what no longer counts. */
    uint64_t n = 0;
    assert_int_equal(zt_store_counter_sweep(g.st[0], NOW_MS + 3600 * 1000LL,
                                            ZT_THROTTLE_ACCOUNT_RESET_MS, 600, &n),
                     0);
    assert_true(n > 0);
    assert_int_equal(zt_store_counter_sweep(g.st[1], NOW_MS + 3600 * 1000LL,
                                            ZT_THROTTLE_ACCOUNT_RESET_MS, 600, &n),
                     0);
    assert_int_equal(n, 0);
    gateways_close(&g);
}

static void test_database_error_refuses(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(10, 1000);
    if (!gateways_open(&g, &c))
        skip();
    assert_int_equal(zt_test_pg_exec(g.schema, "DROP TABLE throttle_holds CASCADE"), 0);
    zt_throttle_ticket k;
    zt_throttle_verdict v =
        zt_throttle_admit(g.t[0], "dan@example.com", "192.0.2.8", false, NOW_MS, &k);
    assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
    assert_int_equal(v.retry_after_s, 1);
    assert_false(k.counts);
    zt_throttle_settle(g.t[0], &k, false, NOW_MS); /* nothing to settle: no crash */
    gateways_close(&g);
}

static struct sockaddr_storage ip4(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, s, &in->sin_addr), 1);
    return ss;
}

static void test_spray_over_two_gateways_is_one(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(10, 1000);
    if (!gateways_open(&g, &c))
        skip();
    zt_risk_cfg rc;
    zt_risk_cfg_defaults(&rc);   /* 10 accounts, at most 2 passwords, 600 s */
    rc.reputation_accounts = 64; /* only the spray rule here */
    char err[256] = "";
    zt_risk_engine *eng[2];
    for (int i = 0; i < 2; i++) {
        eng[i] = zt_risk_new(&rc, g.st[i], err, sizeof(err));
        assert_non_null(eng[i]);
        assert_int_equal(zt_risk_set_shared(eng[i], shared_key), 0);
    }
    struct sockaddr_storage src = ip4("198.51.100.23"), other = ip4("198.51.100.24");
    unsigned char tag[ZT_RISK_TAG_LEN];
    memset(tag, 0x5a, sizeof(tag));
    unsigned raised[2] = {0, 0};
    int raised_calls = 0;
    char acct[40];
    for (int i = 0; i < 10; i++) {
        snprintf(acct, sizeof(acct), "victim%d@example.com", i);
        unsigned r = zt_risk_on_failure(eng[i % 2], acct, (struct sockaddr *)&src, tag, NOW_S + i);
        raised[i % 2] |= r;
        raised_calls += r != 0;
        if (i < 9 && r != 0)
            fail_msg("flagged after %d accounts", i + 1);
    }
    /* Five accounts on each gateway, ten in all: one spray, raised once, by the tenth. */
    assert_int_equal(raised_calls, 1);
    assert_int_equal(raised[1], ZT_RISK_SRC_SPRAY);
    assert_int_equal(raised[0], 0);
    assert_int_equal(zt_risk_ip_level(eng[1], NULL, (struct sockaddr *)&src, NOW_S + 10),
                     ZT_RISK_MEDIUM);
    /* Gateway 0 learns of it at its next copy from the database. */
    assert_int_equal(zt_risk_ip_level(eng[0], NULL, (struct sockaddr *)&src, NOW_S + 10),
                     ZT_RISK_NONE);
    assert_int_equal(zt_risk_sync(eng[0], NOW_S + 10), 0);
    assert_int_equal(zt_risk_ip_level(eng[0], NULL, (struct sockaddr *)&src, NOW_S + 10),
                     ZT_RISK_MEDIUM);
    assert_int_equal(zt_risk_ip_level(eng[0], NULL, (struct sockaddr *)&other, NOW_S + 10),
                     ZT_RISK_NONE);
    /* Renewed, not raised again, by a further failure on either gateway. */
    assert_int_equal(zt_risk_on_failure(eng[0], "victim11@example.com", (struct sockaddr *)&src,
                                        tag, NOW_S + 11),
                     0);
    /* The flag lasts reputation_ttl_s. */
    assert_int_equal(
        zt_risk_ip_level(eng[0], NULL, (struct sockaddr *)&src, NOW_S + 11 + rc.reputation_ttl_s),
        ZT_RISK_NONE);
    assert_int_equal(zt_risk_shared_errors(eng[0]) + zt_risk_shared_errors(eng[1]), 0);
    /* A database gone wrong: the failure is still counted, in memory. */
    assert_int_equal(zt_test_pg_exec(g.schema, "DROP TABLE risk_source_accounts CASCADE"), 0);
    zt_risk_on_failure(eng[0], "victim12@example.com", (struct sockaddr *)&other, tag, NOW_S + 12);
    assert_int_equal(zt_risk_shared_errors(eng[0]), 1);
    for (int i = 0; i < 2; i++)
        zt_risk_free(eng[i]);
    gateways_close(&g);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void test_sqlite_keeps_counting_in_memory(void **state)
{
    (void)state;
    char root[] = "/tmp/zt-counters-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[64], err[256] = "";
    snprintf(dir, sizeof(dir), "%s/state", root);
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    zt_store *st = zt_store_open(&cfg, err, sizeof(err));
    if (st == NULL)
        fail_msg("open: %s", err);
    assert_false(zt_store_counter_shared(st));
    zt_throttle *t = zt_throttle_new(NULL);
    assert_int_equal(zt_throttle_set_shared(t, st, shared_key), -ENOTSUP);
    zt_risk_engine *eng = zt_risk_new(NULL, st, err, sizeof(err));
    assert_int_equal(zt_risk_set_shared(eng, shared_key), -ENOTSUP);
    assert_int_equal(zt_risk_sync(eng, NOW_S), 0);
    zt_store_throttle_seen sn;
    assert_int_equal(zt_store_throttle_admit(st, NULL, 0, NULL, NOW_MS, 0, &sn), -ENOTSUP);
    char got[ZT_STORE_SHARED_VALUE_MAX + 1];
    assert_int_equal(zt_store_shared_claim(st, "secrets-check", "aaaa", got, sizeof(got)),
                     -ENOTSUP);
    /* Still limits, in memory. */
    assert_int_equal(fail_once(t, "eve@example.com", "192.0.2.1", false, NOW_MS), ZT_THROTTLE_GO);
    assert_int_equal(zt_throttle_entries(t), 2);
    zt_risk_free(eng);
    zt_throttle_free(t);
    zt_store_close(st);
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The first gateway's value wins; every gateway reads it back; bad names and values refused. */
static void test_shared_claim_first_wins(void **state)
{
    (void)state;
    gateways g;
    zt_throttle_cfg c = cfg_limits(10, 1000);
    if (!gateways_open(&g, &c))
        skip();
    char got[ZT_STORE_SHARED_VALUE_MAX + 1];
    assert_int_equal(zt_store_shared_claim(g.st[0], "secrets-check", "aaaa", got, sizeof(got)), 0);
    assert_string_equal(got, "aaaa");
    assert_int_equal(zt_store_shared_claim(g.st[1], "secrets-check", "bbbb", got, sizeof(got)), 0);
    assert_string_equal(got, "aaaa");
    assert_int_equal(zt_store_shared_claim(g.st[1], "other", "bbbb", got, sizeof(got)), 0);
    assert_string_equal(got, "bbbb");
    assert_int_equal(zt_store_shared_claim(g.st[0], "Bad Name", "x", got, sizeof(got)), -EINVAL);
    assert_int_equal(zt_store_shared_claim(g.st[0], "ok", "has space", got, sizeof(got)), -EINVAL);
    assert_int_equal(zt_store_shared_claim(g.st[0], "ok", "x", got, 8), -EINVAL);
    gateways_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_limit_across_gateways),
        cmocka_unit_test(test_source_limit_across_gateways),
        cmocka_unit_test(test_concurrent_admissions_never_exceed),
        cmocka_unit_test(test_crashed_gateway_reservations_expire),
        cmocka_unit_test(test_database_error_refuses),
        cmocka_unit_test(test_spray_over_two_gateways_is_one),
        cmocka_unit_test(test_sqlite_keeps_counting_in_memory),
        cmocka_unit_test(test_shared_claim_first_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
