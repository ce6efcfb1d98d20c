/* Brute-force limits driven by a fake clock: growing delays, the account limit that refuses
 * unknown devices but not the owner's known one, the per-source sliding minute, resets, and the
 * bound on remembered entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "lib/secure.h"
#include "session/throttle.h"

#define NOW 1767225600000LL

static zt_throttle_cfg cfg_default(void)
{
    return (zt_throttle_cfg){.account_failure_limit = 10,
                             .source_failures_per_minute = 1000,
                             .free_failures = 3,
                             .base_delay_ms = 500,
                             .max_delay_ms = 4000,
                             .max_entries = 1000};
}

static void fail_n(zt_throttle *t, const char *acct, const char *ip, bool known, int n, int64_t now)
{
    for (int i = 0; i < n; i++)
        zt_throttle_record(t, acct, ip, known, false, now);
}

static void test_delays_grow(void **state)
{
    zt_throttle_cfg c = cfg_default();
    zt_throttle *t = zt_throttle_new(&c);
    const uint64_t want[] = {0, 0, 0, 0, 500, 1000, 2000, 4000, 4000};
    for (int n = 0; n < 9; n++) {
        zt_throttle_verdict v = zt_throttle_check(t, "ann", "192.0.2.1", false, NOW);
        assert_int_equal(v.result, ZT_THROTTLE_GO);
        if (v.delay_ms != want[n])
            fail_msg("after %d failures: delay %llu, want %llu", n, (unsigned long long)v.delay_ms,
                     (unsigned long long)want[n]);
        zt_throttle_record(t, "ann", "192.0.2.1", false, false, NOW);
    }
    /* The wait counts from the last failure. */
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW + 1500).delay_ms, 2500);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW + 9000).delay_ms, 0);
    /* Same account whatever the case; other accounts untouched. */
    assert_int_equal(zt_throttle_check(t, "ANN", "192.0.2.1", false, NOW).delay_ms, 4000);
    assert_int_equal(zt_throttle_check(t, "bob", "192.0.2.1", false, NOW).delay_ms, 0);
    /* A success resets the side. */
    zt_throttle_record(t, "ann", "192.0.2.1", false, true, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW).delay_ms, 0);
    zt_throttle_free(t);
}

static void test_account_limit_spares_known_device(void **state)
{
    zt_throttle_cfg c = cfg_default();
    zt_throttle *t = zt_throttle_new(&c);
    fail_n(t, "ann", "198.51.100.1", false, 9, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "198.51.100.1", false, NOW).result,
                     ZT_THROTTLE_GO);
    zt_throttle_record(t, "ann", "198.51.100.1", false, false, NOW);
    /* The attacker's side refuses; the owner's known device is neither refused nor slowed. */
    assert_int_equal(zt_throttle_check(t, "ann", "203.0.113.9", false, NOW).result,
                     ZT_THROTTLE_ACCOUNT);
    zt_throttle_verdict v = zt_throttle_check(t, "ann", "203.0.113.9", true, NOW);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    assert_int_equal(v.delay_ms, 0);
    /* The owner's own mistakes count on the owner's side only, by the same rules. */
    fail_n(t, "ann", "203.0.113.9", true, 4, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "203.0.113.9", true, NOW).delay_ms, 500);
    fail_n(t, "ann", "203.0.113.9", true, 6, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "203.0.113.9", true, NOW).result,
                     ZT_THROTTLE_ACCOUNT);
    zt_throttle_record(t, "ann", "203.0.113.9", true, true, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "203.0.113.9", true, NOW).result, ZT_THROTTLE_GO);
    /* ... and that success does not open the unknown side. */
    assert_int_equal(zt_throttle_check(t, "ann", "198.51.100.1", false, NOW).result,
                     ZT_THROTTLE_ACCOUNT);
    /* Fifteen quiet minutes do. */
    assert_int_equal(
        zt_throttle_check(t, "ann", "198.51.100.1", false, NOW + ZT_THROTTLE_ACCOUNT_RESET_MS - 1)
            .result,
        ZT_THROTTLE_ACCOUNT);
    v = zt_throttle_check(t, "ann", "198.51.100.1", false, NOW + ZT_THROTTLE_ACCOUNT_RESET_MS);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    assert_int_equal(v.delay_ms, 0);
    /* After the reset, counting starts again from one. */
    zt_throttle_record(t, "ann", "198.51.100.1", false, false, NOW + ZT_THROTTLE_ACCOUNT_RESET_MS);
    assert_int_equal(
        zt_throttle_check(t, "ann", "198.51.100.1", false, NOW + ZT_THROTTLE_ACCOUNT_RESET_MS)
            .result,
        ZT_THROTTLE_GO);
    zt_throttle_free(t);
}

static void test_source_window(void **state)
{
    zt_throttle_cfg c = cfg_default();
    c.source_failures_per_minute = 5;
    zt_throttle *t = zt_throttle_new(&c);
    /* Five failures at seconds 0..4, each against a different account. */
    for (int i = 0; i < 5; i++) {
        char acct[16];
        snprintf(acct, sizeof(acct), "user%d", i);
        assert_int_equal(zt_throttle_check(t, acct, "192.0.2.50", false, NOW + i * 1000).result,
                         ZT_THROTTLE_GO);
        zt_throttle_record(t, acct, "192.0.2.50", false, false, NOW + i * 1000);
    }
    zt_throttle_verdict v = zt_throttle_check(t, "fresh", "192.0.2.50", false, NOW + 4000);
    assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
    /* The window counts 61 whole seconds, so that per-second buckets never let more than the
     * limit through in any real 60 s: second 0 slides out at second 61. */
    assert_int_equal(v.retry_after_s, 57);
    v = zt_throttle_check(t, "fresh", "192.0.2.50", true, NOW + 30000);
    assert_int_equal(v.result, ZT_THROTTLE_SOURCE); /* a known device does not help a source */
    assert_int_equal(v.retry_after_s, 31);
    /* Another IP is free. */
    assert_int_equal(zt_throttle_check(t, "fresh", "192.0.2.51", false, NOW + 4000).result,
                     ZT_THROTTLE_GO);
    /* Slides: at second 60 still five in the window, at 61 the first one left. */
    assert_int_equal(zt_throttle_check(t, "fresh", "192.0.2.50", false, NOW + 60999).result,
                     ZT_THROTTLE_SOURCE);
    v = zt_throttle_check(t, "fresh", "192.0.2.50", false, NOW + 61000);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    /* One more failure fills it again, until second 62 slides. */
    zt_throttle_record(t, "fresh", "192.0.2.50", false, false, NOW + 61000);
    v = zt_throttle_check(t, "fresh", "192.0.2.50", false, NOW + 61500);
    assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
    assert_int_equal(v.retry_after_s, 1);
    /* Long silence empties the window entirely. */
    assert_int_equal(zt_throttle_check(t, "fresh", "192.0.2.50", false, NOW + 3600000).result,
                     ZT_THROTTLE_GO);
    /* Successes do not count against a source. */
    for (int i = 0; i < 20; i++)
        zt_throttle_record(t, "ok", "192.0.2.60", false, true, NOW);
    assert_int_equal(zt_throttle_check(t, "ok", "192.0.2.60", false, NOW).result, ZT_THROTTLE_GO);
    zt_throttle_free(t);
}

static void test_eviction_bound(void **state)
{
    zt_throttle_cfg c = cfg_default();
    c.max_entries = 50;
    zt_throttle *t = zt_throttle_new(&c);
    char acct[32];
    for (int i = 0; i < 500; i++) {
        snprintf(acct, sizeof(acct), "user%d@example.com", i);
        fail_n(t, acct, NULL, false, 5, NOW);
        assert_true(zt_throttle_entries(t) <= 50);
    }
    assert_int_equal(zt_throttle_entries(t), 50);
    /* The newest are remembered, the oldest forgotten. */
    assert_int_equal(zt_throttle_check(t, "user499@example.com", NULL, false, NOW).delay_ms, 1000);
    assert_int_equal(zt_throttle_check(t, "user0@example.com", NULL, false, NOW).delay_ms, 0);
    /* Sources count toward the same bound. */
    for (int i = 0; i < 100; i++) {
        snprintf(acct, sizeof(acct), "10.0.0.%d", i);
        zt_throttle_record(t, "x", acct, false, false, NOW);
    }
    assert_true(zt_throttle_entries(t) <= 50);
    /* A smaller maximum on reload evicts down to it. */
    c.max_entries = 10;
    zt_throttle_configure(t, &c);
    assert_true(zt_throttle_entries(t) <= 10);
    zt_throttle_free(t);
}

static void test_defaults_and_odd_input(void **state)
{
    zt_throttle *t = zt_throttle_new(NULL); /* defaults: 100 / 30 / 3 / 500 / 30000 */
    fail_n(t, "ann", "192.0.2.1", false, 29, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW).result, ZT_THROTTLE_GO);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW).delay_ms, 30000);
    zt_throttle_record(t, "ann", "192.0.2.1", false, false, NOW);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW).result,
                     ZT_THROTTLE_SOURCE);
    /* NULL account or IP: only the other limit applies; no crash. */
    zt_throttle_record(t, NULL, NULL, false, false, NOW);
    assert_int_equal(zt_throttle_check(t, NULL, NULL, false, NOW).result, ZT_THROTTLE_GO);
    /* Huge failure counts and delays do not overflow. */
    zt_throttle_cfg c = {.free_failures = 0,
                         .base_delay_ms = UINT64_MAX / 2,
                         .max_delay_ms = UINT64_MAX - 1,
                         .account_failure_limit = 1000,
                         .source_failures_per_minute = 1000};
    zt_throttle_configure(t, &c);
    fail_n(t, "big", NULL, false, 200, NOW);
    assert_int_equal(zt_throttle_check(t, "big", NULL, false, NOW).delay_ms, UINT64_MAX - 1);
    zt_throttle_free(t);
    zt_throttle_free(NULL);
}

/* ---- limits at the verdict (issue 10 finding 9): reservations from admission to settle ---- */

static zt_throttle_cfg cfg_no_delay(void)
{
    zt_throttle_cfg c = cfg_default();
    c.free_failures = 1000000; /* no delays: only the limits */
    return c;
}

/* Fifty attempts admitted at once from fifty addresses before any verdict: only as many as the
 * limit may go on to a password check. */
static void test_account_limit_counts_attempts_in_flight(void **state)
{
    zt_throttle_cfg c = cfg_no_delay();
    zt_throttle *t = zt_throttle_new(&c);
    zt_throttle_ticket k[50];
    int go = 0;
    for (int i = 0; i < 50; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "198.51.100.%d", i);
        zt_throttle_verdict v = zt_throttle_admit(t, "ann", ip, false, NOW, &k[i]);
        if (v.result == ZT_THROTTLE_GO)
            go++;
        else
            assert_int_equal(v.result, ZT_THROTTLE_WAIT);
    }
    assert_int_equal(go, 10);
    for (int i = 0; i < 50; i++)
        zt_throttle_settle(t, &k[i], false, NOW); /* no-op for the refused ones */
    /* Now the account is locked: even the right password is never checked. */
    zt_throttle_ticket owner;
    assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.7", false, NOW, &owner).result,
                     ZT_THROTTLE_ACCOUNT);
    zt_throttle_settle(t, &owner, false, NOW);
    /* The known device is a separate side. */
    assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.7", true, NOW, &owner).result,
                     ZT_THROTTLE_GO);
    zt_throttle_settle(t, &owner, true, NOW);
    zt_throttle_free(t);
}

static void test_source_limit_counts_attempts_in_flight(void **state)
{
    zt_throttle_cfg c = cfg_no_delay();
    c.source_failures_per_minute = 5;
    zt_throttle *t = zt_throttle_new(&c);
    zt_throttle_ticket k[20];
    int go = 0;
    for (int i = 0; i < 20; i++) {
        char acct[32];
        snprintf(acct, sizeof(acct), "user%d", i);
        zt_throttle_verdict v = zt_throttle_admit(t, acct, "192.0.2.50", false, NOW, &k[i]);
        go += v.result == ZT_THROTTLE_GO;
        if (v.result != ZT_THROTTLE_GO) {
            assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
            assert_true(v.retry_after_s >= 1);
        }
    }
    assert_int_equal(go, 5);
    for (int i = 0; i < 20; i++)
        zt_throttle_settle(t, &k[i], false, NOW + 10000);
    zt_throttle_ticket x;
    zt_throttle_verdict v = zt_throttle_admit(t, "fresh", "192.0.2.50", false, NOW + 10000, &x);
    assert_int_equal(v.result, ZT_THROTTLE_SOURCE);
    assert_int_equal(v.retry_after_s, 61); /* second 10 slides out at second 71 */
    zt_throttle_free(t);
}

/* An attempt dropped before its check gives its room back and counts as nothing. */
static void test_release_counts_nothing(void **state)
{
    zt_throttle_cfg c = cfg_no_delay();
    c.account_failure_limit = 5;
    zt_throttle *t = zt_throttle_new(&c);
    zt_throttle_ticket k[5], x;
    for (int i = 0; i < 5; i++)
        assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &k[i]).result,
                         ZT_THROTTLE_GO);
    assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &x).result,
                     ZT_THROTTLE_WAIT);
    zt_throttle_release(t, &k[0]);
    zt_throttle_release(t, &k[0]);            /* twice is harmless */
    zt_throttle_settle(t, &k[0], false, NOW); /* settle after release records nothing */
    assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &k[0]).result,
                     ZT_THROTTLE_GO);
    for (int i = 0; i < 5; i++)
        zt_throttle_release(t, &k[i]);
    assert_int_equal(zt_throttle_check(t, "ann", "192.0.2.1", false, NOW).result, ZT_THROTTLE_GO);
    /* A success settles and resets. */
    assert_int_equal(zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &x).result,
                     ZT_THROTTLE_GO);
    zt_throttle_settle(t, &x, true, NOW);
    zt_throttle_free(t);
}

/* Delays longer than max_hold_ms are not held: the attempt is refused with the seconds left. */
static void test_long_delay_is_a_wait(void **state)
{
    zt_throttle_cfg c = cfg_default(); /* delays 500, 1000, 2000, 4000 (max) */
    zt_throttle *t = zt_throttle_new(&c);
    fail_n(t, "ann", "192.0.2.1", false, 6, NOW); /* next delay 2000: still held */
    zt_throttle_ticket k;
    zt_throttle_verdict v = zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &k);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    assert_int_equal(v.delay_ms, 2000);
    /* A second attempt while that one is in flight counts it: 4000 ms, refused. */
    zt_throttle_ticket k2;
    v = zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW, &k2);
    assert_int_equal(v.result, ZT_THROTTLE_WAIT);
    assert_int_equal(v.retry_after_s, 4);
    zt_throttle_settle(t, &k, false, NOW + 2000);
    v = zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW + 3000, &k2);
    assert_int_equal(v.result, ZT_THROTTLE_WAIT);
    assert_int_equal(v.retry_after_s, 3); /* 4000 ms from the failure at +2000 */
    v = zt_throttle_admit(t, "ann", "192.0.2.1", false, NOW + 4500, &k2);
    assert_int_equal(v.result, ZT_THROTTLE_GO);
    assert_int_equal(v.delay_ms, 1500);
    zt_throttle_release(t, &k2);
    zt_throttle_free(t);
}

/* Entries holding reservations are not evicted, however many others come in. */
static void test_reservations_survive_eviction(void **state)
{
    zt_throttle_cfg c = cfg_no_delay();
    c.account_failure_limit = 4;
    c.max_entries = 4;
    zt_throttle *t = zt_throttle_new(&c);
    zt_throttle_ticket k[3], x;
    for (int i = 0; i < 3; i++)
        assert_int_equal(zt_throttle_admit(t, "target", NULL, false, NOW, &k[i]).result,
                         ZT_THROTTLE_GO);
    char acct[32];
    for (int i = 0; i < 100; i++) {
        snprintf(acct, sizeof(acct), "flood%d", i);
        zt_throttle_record(t, acct, NULL, false, false, NOW);
        assert_true(zt_throttle_entries(t) <= 4);
    }
    assert_int_equal(zt_throttle_admit(t, "target", NULL, false, NOW, &x).result, ZT_THROTTLE_GO);
    assert_int_equal(zt_throttle_admit(t, "target", NULL, false, NOW, &k[0]).result,
                     ZT_THROTTLE_WAIT);
    zt_throttle_free(t);
}

/* Many threads (as many loops would) guessing one account: never more checks than the limit. */
typedef struct race_arg {
    zt_throttle *t;
    int id;
    int go;
} race_arg;

static void *race(void *p)
{
    race_arg *a = p;
    char ip[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", a->id, i / 250, i % 250);
        zt_throttle_ticket k;
        zt_throttle_verdict v = zt_throttle_admit(a->t, "victim", ip, false, NOW, &k);
        if (v.result == ZT_THROTTLE_GO) {
            a->go++;
            zt_throttle_settle(a->t, &k, false, NOW);
        } else {
            zt_throttle_settle(a->t, &k, false, NOW); /* ACCOUNT keeps the lock */
        }
    }
    return NULL;
}

static void test_threads_never_exceed_the_limit(void **state)
{
    zt_throttle_cfg c = cfg_no_delay();
    c.account_failure_limit = 25;
    c.max_entries = 100000;
    zt_throttle *t = zt_throttle_new(&c);
    pthread_t th[8];
    race_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (race_arg){.t = t, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, race, &a[i]), 0);
    }
    int go = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        go += a[i].go;
    }
    assert_int_equal(go, 25);
    zt_throttle_free(t);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_grow),
        cmocka_unit_test(test_account_limit_spares_known_device),
        cmocka_unit_test(test_source_window),
        cmocka_unit_test(test_eviction_bound),
        cmocka_unit_test(test_defaults_and_odd_input),
        cmocka_unit_test(test_account_limit_counts_attempts_in_flight),
        cmocka_unit_test(test_source_limit_counts_attempts_in_flight),
        cmocka_unit_test(test_release_counts_nothing),
        cmocka_unit_test(test_long_delay_is_a_wait),
        cmocka_unit_test(test_reservations_survive_eviction),
        cmocka_unit_test(test_threads_never_exceed_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
