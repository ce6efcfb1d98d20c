/* Metrics registry and Prometheus text rendering: every family present with HELP/TYPE, exact
 * counts per label, label escaping, the dynamic-family cap, the fsync histogram, and exact
 * totals when many threads increment at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "policy/policy.h"

_Static_assert(ZT_M_DECISION_ALLOW == (int)ZT_OUTCOME_ALLOW, "decision values follow zt_outcome");
_Static_assert(ZT_M_DECISION_CHALLENGE == (int)ZT_OUTCOME_CHALLENGE, "same");
_Static_assert(ZT_M_DECISION_BLOCK == (int)ZT_OUTCOME_BLOCK, "same");

static char *render(const zt_metrics_extra *x)
{
    zt_buf b;
    zt_buf_init(&b, 16u << 20);
    assert_int_equal(zt_metrics_render(&b, x), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    return b.data; /* owned by the caller */
}

/* The value of one series ("name{l=\"v\"}" or "name"), or -1 when absent. */
static long long value_of(const char *doc, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = doc; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static bool has_line(const char *doc, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = doc; p != NULL && *p != '\0';) {
        if (strncmp(p, line, n) == 0 && p[n] == '\n')
            return true;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return false;
}

/* Every line is a comment or "series value"; each sample's family had its TYPE line before. */
static void check_format(const char *doc)
{
    char typed[64][96];
    size_t n_typed = 0;
    const char *p = doc;
    assert_true(doc[strlen(doc) - 1] == '\n');
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[1024];
        size_t len = (size_t)(nl - p);
        assert_true(len > 0 && len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(n_typed < 64);
            sscanf(line + 7, "%95s", typed[n_typed++]);
        } else if (line[0] != '#') {
            size_t nl_name = strcspn(line, "{ ");
            bool found = false;
            for (size_t i = 0; i < n_typed && !found; i++) {
                size_t tl = strlen(typed[i]);
                found =
                    strncmp(line, typed[i], tl) == 0 &&
                    (nl_name == tl || strcmp(line + tl, "_bucket") == 0 ||
                     strncmp(line + tl, "_bucket{", 8) == 0 ||
                     strncmp(line + tl, "_sum ", 5) == 0 || strncmp(line + tl, "_count ", 7) == 0);
            }
            assert_true(found);
            const char *sp = strrchr(line, ' ');
            assert_non_null(sp);
            assert_true(sp[1] != '\0');
        }
        p = nl + 1;
    }
}

static int setup(void **state)
{
    zt_metrics_reset();
    return 0;
}

static void test_empty_render(void **state)
{
    char *doc = render(NULL);
    check_format(doc);
    assert_true(has_line(doc, "# TYPE ztgate_requests_total counter"));
    assert_true(has_line(doc, "# HELP ztgate_build_info Build information; always 1."));
    assert_true(has_line(doc, "ztgate_build_info{version=\"" ZT_VERSION "\"} 1"));
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"2xx\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"report_only_block\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_sign_ins_total{result=\"mfa_failure\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_devices{compliance=\"unknown\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_connections"), 0);
    assert_true(has_line(doc, "# TYPE ztgate_policy_matches_total counter"));
    assert_true(has_line(doc, "# TYPE ztgate_detections_total counter"));
    assert_true(has_line(doc, "# TYPE ztgate_audit_fsync_seconds histogram"));
    /* Without extra values the store and audit families are left out. */
    assert_int_equal(value_of(doc, "ztgate_active_sessions"), -1);
    assert_int_equal(value_of(doc, "ztgate_audit_records_total"), -1);
    free(doc);
}

static void test_counts(void **state)
{
    int statuses[] = {200, 204, 301, 404, 403, 401, 503, 101, 99, 600, -1};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        zt_metric_request(statuses[i]);
    zt_metric_decision(0);
    zt_metric_decision(2);
    zt_metric_decision(2);
    zt_metric_decision(7); /* ignored */
    zt_metric_report_only(0);
    zt_metric_report_only(1);
    zt_metric_report_only(2);
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    zt_metric_sign_in(ZT_M_SIGN_IN_MFA_SUCCESS);
    zt_metric_devices_set(ZT_M_DEVICE_COMPLIANT, 12);
    zt_metric_conn_open();
    zt_metric_conn_open();
    zt_metric_conn_close();
    zt_metric_upstream_tls(ZT_M_UPSTREAM_TLS_RESUMED);
    zt_metric_upstream_tls(ZT_M_UPSTREAM_TLS_RESUMED);
    zt_metric_upstream_tls(ZT_M_UPSTREAM_TLS_FAILED);
    zt_metric_upstream_tls(ZT_M_UPSTREAM_TLS_N); /* out of range: not counted */
    char *doc = render(NULL);
    check_format(doc);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"1xx\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"2xx\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"3xx\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"4xx\"}"), 3);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"5xx\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"allow\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"challenge\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"block\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"report_only_challenge\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_decisions_total{outcome=\"report_only_block\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_sign_ins_total{result=\"failure\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_sign_ins_total{result=\"mfa_success\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_sign_ins_total{result=\"success\"}"), 0);
    assert_int_equal(zt_metrics_sign_ins(ZT_M_SIGN_IN_FAILURE), 2);
    assert_int_equal(value_of(doc, "ztgate_devices{compliance=\"compliant\"}"), 12);
    assert_int_equal(value_of(doc, "ztgate_connections"), 1);
    assert_int_equal(value_of(doc, "ztgate_upstream_tls_handshakes_total{result=\"full\"}"), 0);
    assert_int_equal(value_of(doc, "ztgate_upstream_tls_handshakes_total{result=\"resumed\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_upstream_tls_handshakes_total{result=\"failed\"}"), 1);
    free(doc);
}

static void test_escaping(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    const char in[] = "a\\b\"c\nd";
    assert_int_equal(zt_metrics_escape_label(&b, in, sizeof(in) - 1), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
    zt_buf_dispose(&b);

    zt_metric_policy_count(zt_metric_policy_counter("Block \"legacy\"\nC:\\x"));
    zt_metric_policy_count(zt_metric_policy_counter("Block \"legacy\"\nC:\\x"));
    char *doc = render(NULL);
    check_format(doc);
    assert_int_equal(
        value_of(doc, "ztgate_policy_matches_total{policy=\"Block \\\"legacy\\\"\\nC:\\\\x\"}"), 2);
    free(doc);
}

static void test_dynamic_family(void **state)
{
    zt_metric_policy_count(zt_metric_policy_counter("zeta"));
    zt_metric_policy_count(zt_metric_policy_counter("alpha"));
    zt_metric_policy_count(zt_metric_policy_counter("alpha"));
    zt_metric_detection("impossible_travel");
    zt_metric_policy_count(zt_metric_policy_counter(""));
    zt_metric_policy_count(zt_metric_policy_counter(NULL));
    char longname[ZT_METRICS_LABEL_MAX + 2];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    zt_metric_policy_count(zt_metric_policy_counter(longname));
    char *doc = render(NULL);
    check_format(doc);
    assert_int_equal(value_of(doc, "ztgate_policy_matches_total{policy=\"alpha\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_policy_matches_total{policy=\"zeta\"}"), 1);
    assert_int_equal(value_of(doc, "ztgate_detections_total{type=\"impossible_travel\"}"), 1);
    assert_true(strstr(doc, "policy=\"alpha\"") < strstr(doc, "policy=\"zeta\"")); /* sorted */
    assert_int_equal(value_of(doc, "ztgate_metrics_labels_dropped_total{family=\""
                                   "ztgate_policy_matches_total\"}"),
                     3);
    free(doc);

    /* The cap: names beyond ZT_METRICS_LABELS_MAX are counted as dropped, not stored. */
    zt_metrics_reset();
    char name[96];
    for (int i = 0; i < ZT_METRICS_LABELS_MAX + 5; i++) {
        snprintf(name, sizeof(name), "p%05d", i);
        zt_metric_policy_count(zt_metric_policy_counter(name));
    }
    zt_metric_policy_count(
        zt_metric_policy_counter("p00000")); /* known names still count when full */
    doc = render(NULL);
    assert_int_equal(value_of(doc, "ztgate_policy_matches_total{policy=\"p00000\"}"), 2);
    snprintf(name, sizeof(name), "ztgate_policy_matches_total{policy=\"p%05d\"}",
             ZT_METRICS_LABELS_MAX);
    assert_int_equal(value_of(doc, name), -1);
    assert_int_equal(value_of(doc, "ztgate_metrics_labels_dropped_total{family=\""
                                   "ztgate_policy_matches_total\"}"),
                     5);
    free(doc);
}

static void test_histogram_and_extra(void **state)
{
    zt_metric_audit_fsync_us(50);
    zt_metric_audit_fsync_us(100); /* le is inclusive */
    zt_metric_audit_fsync_us(101);
    zt_metric_audit_fsync_us(3000000); /* past the last bound: +Inf only */
    zt_metrics_extra x = {.have_sessions = true,
                          .active_sessions = 7,
                          .have_audit = true,
                          .audit_queue_depth = 3,
                          .audit_records = 42,
                          .audit_drops = 1,
                          .audit_fsync_max_us = 1500,
                          .audit_failed = true};
    char *doc = render(&x);
    check_format(doc);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_bucket{le=\"0.0001\"}"), 2);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_bucket{le=\"0.00025\"}"), 3);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_bucket{le=\"2.5\"}"), 3);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_bucket{le=\"+Inf\"}"), 4);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_count"), 4);
    assert_true(has_line(doc, "ztgate_audit_fsync_seconds_sum 3.000251"));
    assert_true(has_line(doc, "ztgate_audit_fsync_max_seconds 0.001500"));
    assert_int_equal(value_of(doc, "ztgate_active_sessions"), 7);
    assert_int_equal(value_of(doc, "ztgate_audit_queue_depth"), 3);
    assert_int_equal(value_of(doc, "ztgate_audit_records_total"), 42);
    assert_int_equal(value_of(doc, "ztgate_audit_drops_total"), 1);
    assert_int_equal(value_of(doc, "ztgate_audit_failed"), 1);
    free(doc);
}

static void test_render_limit(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 256);
    assert_int_not_equal(zt_metrics_render(&b, NULL), 0);
    zt_buf_dispose(&b);
}

#define THREADS 8
#define PER_THREAD 100000
#define NAMES 50

static void *hammer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[16];
    for (int i = 0; i < PER_THREAD; i++) {
        zt_metric_request(i % 2 ? 200 : 404);
        zt_metric_sign_in(ZT_M_SIGN_IN_SUCCESS);
        zt_metric_conn_open();
        /* Every thread races to insert the same names first. */
        snprintf(name, sizeof(name), "pol%02d", (i + id) % NAMES);
        zt_metric_policy_count(zt_metric_policy_counter(name));
        zt_metric_conn_close();
        zt_metric_audit_fsync_us((uint64_t)(i % 1000));
    }
    return NULL;
}

static void test_concurrent_totals(void **state)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *doc = render(NULL);
    check_format(doc);
    long long total = (long long)THREADS * PER_THREAD;
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"2xx\"}"), total / 2);
    assert_int_equal(value_of(doc, "ztgate_requests_total{status_class=\"4xx\"}"), total / 2);
    assert_int_equal(value_of(doc, "ztgate_sign_ins_total{result=\"success\"}"), total);
    assert_int_equal(value_of(doc, "ztgate_connections"), 0);
    assert_int_equal(value_of(doc, "ztgate_audit_fsync_seconds_count"), total);
    long long sum = 0;
    char series[96];
    for (int i = 0; i < NAMES; i++) {
        snprintf(series, sizeof(series), "ztgate_policy_matches_total{policy=\"pol%02d\"}", i);
        long long v = value_of(doc, series);
        assert_int_equal(v, total / NAMES);
        sum += v;
    }
    assert_int_equal(sum, total);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty_render, setup),
        cmocka_unit_test_setup(test_counts, setup),
        cmocka_unit_test_setup(test_escaping, setup),
        cmocka_unit_test_setup(test_dynamic_family, setup),
        cmocka_unit_test_setup(test_histogram_and_extra, setup),
        cmocka_unit_test_setup(test_render_limit, setup),
        cmocka_unit_test_setup(test_concurrent_totals, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
