/* Audit query engine: the field scanner against real record shapes and bad input, the filters
 * of a search (newest first, limit, cursor, scoped admins), and the rollup's statistics over a
 * log written by the real writer, followed as it grows and across rotation. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "audit/query.h"
#include "lib/time.h"

/* A real decision record as pipeline.c writes it (chain fields shortened). */
static const char decision_line[] =
    "{\"seq\":19,\"prev\":\"ab\",\"class_uid\":4002,\"category_uid\":4,\"activity_id\":3,"
    "\"type_uid\":400203,\"time\":\"2026-12-06T22:37:09.519503Z\",\"severity_id\":2,"
    "\"status\":\"Failure\",\"status_id\":2,\"message\":\"request refused\","
    "\"src_endpoint\":{\"ip\":\"127.0.0.20\",\"location\":{\"country\":\"BR\"},\"port\":59877},"
    "\"http_request\":{\"http_method\":\"GET\",\"url\":{\"hostname\":\"app.test\",\"path\":\"/\"}},"
    "\"app\":{\"name\":\"mail\"},\"actor\":{\"user\":{\"uid\":\"114c\",\"email_addr\":"
    "\"Mika@Example.test\"},\"session\":{\"state\":\"second factor pending\"}},"
    "\"decision\":\"block\",\"reasons\":\"blocked by policy p1\",\"policies\":\"p1,ro "
    "(report-only)\","
    "\"report_only\":{\"decision\":\"block\"},\"metadata\":{\"uid\":\"c4802d66-1-2\",\"product\":"
    "{\"name\":\"ztgate\"}},\"hash\":\"cd\"}";

static void test_scan_fields(void **state)
{
    (void)state;
    zt_aq_fields x;
    char buf[128];
    assert_true(zt_aq_scan_line(decision_line, strlen(decision_line), &x));
    assert_int_equal(zt_aq_span_int(&x.f[ZT_AQF_SEQ], 0), 19);
    assert_int_equal(zt_aq_span_int(&x.f[ZT_AQF_CLASS], 0), 4002);
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_DECISION], buf, sizeof(buf)), "block");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_RO_DECISION], buf, sizeof(buf)), "block");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_APP], buf, sizeof(buf)), "mail");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_ACTOR_UID], buf, sizeof(buf)), "114c");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_IP], buf, sizeof(buf)), "127.0.0.20");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_REQUEST_ID], buf, sizeof(buf)), "c4802d66-1-2");
    assert_null(x.f[ZT_AQF_USER_UID].p);
    assert_null(x.f[ZT_AQF_TYPE].p);

    /* finding_info.types: the first string of the array; escapes decoded on demand */
    const char det[] = "{\"class_uid\":2004,\"finding_info\":{\"types\":[\"impossible_travel\","
                       "\"x\"],\"title\":\"t\"},\"message\":\"a\\\"b\\u00e9\\ud83d\\ude00\"}";
    assert_true(zt_aq_scan_line(det, strlen(det), &x));
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_FINDING_TYPE], buf, sizeof(buf)),
                        "impossible_travel");
    assert_true(x.f[ZT_AQF_MESSAGE].escaped);
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_MESSAGE], buf, sizeof(buf)),
                        "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(zt_aq_span_str(&x.f[ZT_AQF_POLICIES], buf, sizeof(buf)), "");

    static const char *const bad[] = {"",
                                      "{",
                                      "[1]",
                                      "{\"a\":}",
                                      "{\"a\":1,}",
                                      "{\"a\" 1}",
                                      "{\"a\":tru}",
                                      "{\"a\":\"x}",
                                      "{\"a\":\"\\q\"}",
                                      "{\"a\":01x}",
                                      "{\"a\":1} x",
                                      "{\"a\":-}",
                                      "{\"a\":1.}",
                                      "{\"a\":\"\\u12\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_aq_scan_line(bad[i], strlen(bad[i]), &x));
    /* too deep */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    char obj[220];
    snprintf(obj, sizeof(obj), "{\"a\":%.200s}", deep);
    assert_false(zt_aq_scan_line(obj, strlen(obj), &x));
}

static void test_filter_match(void **state)
{
    (void)state;
    size_t n = strlen(decision_line);
    zt_aq_filter f;
    zt_aq_filter_init(&f);
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.user = "mika@example.TEST"; /* ASCII case ignored for e-mail */
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.user = "114C"; /* ids exactly */
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    zt_aq_filter_init(&f);
    f.policy = "ro";
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.policy = "r";
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    zt_aq_filter_init(&f);
    f.decision = "report_only_block";
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.decision = "allow";
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    zt_aq_filter_init(&f);
    assert_true(zt_cidr_parse("127.0.0.0/8", &f.ip));
    f.have_ip = true;
    f.class_uid = 4002;
    f.app = "mail";
    f.ref = "c4802d66-1-2";
    f.text = "SECOND FACTOR";
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.class_uid = 3002;
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    zt_aq_filter_init(&f);
    assert_true(zt_parse_rfc3339("2026-12-06T22:37:09.519503Z", 27, 0, &f.since_us));
    f.until_us = f.since_us;
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.since_us++;
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    /* scoped: only records naming an allowed user */
    zt_aq_filter_init(&f);
    const char *in[] = {"someone", "MIKA@example.test"};
    const char *out[] = {"someone"};
    f.allowed_users = in;
    f.n_allowed = 2;
    assert_true(zt_aq_match(&f, decision_line, n, NULL));
    f.allowed_users = out;
    f.n_allowed = 1;
    assert_false(zt_aq_match(&f, decision_line, n, NULL));
    /* checkpoints never match */
    zt_aq_filter_init(&f);
    const char cp[] = "{\"seq\":2,\"prev\":\"a\",\"type\":\"checkpoint\",\"hash\":\"b\"}";
    assert_false(zt_aq_match(&f, cp, strlen(cp), NULL));
    assert_true(zt_aq_decision_valid("report_only_challenge"));
    assert_false(zt_aq_decision_valid("maybe"));
}

/* ---- a log written by the real writer ---- */

typedef struct fx {
    char dir[128];
    char path[256];
    char key[256];
    zt_audit_cfg cfg;
    zt_buf b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/zt-auditq-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/signing.key", f->dir);
    f->cfg = (zt_audit_cfg){.path = f->path,
                            .signing_key_file = f->key,
                            .checkpoint_every = 50,
                            .fsync_interval_ms = 2,
                            .queue_limit = 100000};
    zt_buf_init(&f->b, 65536);
    *state = f;
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fx *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    zt_buf_dispose(&f->b);
    zt_time_set_offset_us(0);
    free(f);
    return 0;
}

static void submit(zt_audit *a, zt_event *ev, fx *f)
{
    assert_int_equal(zt_event_end(ev), 0);
    uint64_t t = zt_audit_submit(a, f->b.data, f->b.len);
    assert_true(t > 0);
    assert_true(zt_audit_wait(a, t, false, 5000));
}

static void decision(zt_audit *a, fx *f, const char *email, const char *outcome, const char *ref,
                     const char *policies, const char *ro)
{
    zt_event ev;
    zt_buf_reset(&f->b);
    zt_event_begin(&ev, &f->b, ZT_EV_HTTP_ACTIVITY, 3, ZT_SEV_INFO);
    zt_event_status(&ev, strcmp(outcome, "allow") == 0 ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", "request");
    zt_event_str(&ev, "src_endpoint.ip", "10.1.2.3");
    zt_event_str(&ev, "app.name", "mail");
    zt_event_str(&ev, "actor.user.uid", "uid-of-" /* never an e-mail */);
    zt_event_str(&ev, "actor.user.email_addr", email);
    zt_event_str(&ev, "decision", outcome);
    zt_event_str(&ev, "policies", policies);
    zt_event_str(&ev, "report_only.decision", ro);
    zt_event_metadata(&ev, ref, NULL);
    submit(a, &ev, f);
}

static void auth(zt_audit *a, fx *f, const char *uid, bool mfa, bool ok)
{
    zt_event ev;
    zt_buf_reset(&f->b);
    zt_event_begin(&ev, &f->b, ZT_EV_AUTHENTICATION, ZT_ACT_AUTH_LOGON, ZT_SEV_INFO);
    zt_event_status(&ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", mfa ? "second factor" : "password");
    zt_event_str(&ev, "user.uid", uid);
    zt_event_bool(&ev, "is_mfa", mfa);
    submit(a, &ev, f);
}

static void detection(zt_audit *a, fx *f, const char *type, bool incident_action)
{
    zt_event ev;
    zt_buf_reset(&f->b);
    zt_event_begin(&ev, &f->b, ZT_EV_DETECTION_FINDING,
                   incident_action ? ZT_ACT_FINDING_UPDATE : ZT_ACT_FINDING_CREATE, ZT_SEV_MEDIUM);
    if (incident_action) {
        zt_event_str(&ev, "incident.event", "action");
        zt_event_str(&ev, "incident.playbook", "pb");
    } else {
        zt_event_arr_begin(&ev, "finding_info.types");
        zt_event_str(&ev, NULL, type);
        zt_event_close(&ev);
    }
    submit(a, &ev, f);
}

static void admin_disable(zt_audit *a, fx *f)
{
    zt_event ev;
    zt_buf_reset(&f->b);
    zt_event_begin(&ev, &f->b, ZT_EV_ACCOUNT_CHANGE, 5, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "actor.user.name", "admin:boss@example.test");
    zt_event_str(&ev, "actor.user.type", "Admin");
    zt_event_str(&ev, "unmapped.operation", "user.disable");
    submit(a, &ev, f);
}

static const int64_t T0 = 1795996800LL * 1000000; /* 2026-11-29T00:00:00Z */

static void at(int64_t us)
{
    zt_time_set_offset_us(0);
    zt_time_set_offset_us(us - zt_wall_us());
}

/* Ten decisions, alternating users, one block with a reference; then sign-ins, MFA,
 * detections and responses an hour later. */
static void write_log(fx *f)
{
    char err[256];
    at(T0);
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    for (int i = 0; i < 10; i++) {
        at(T0 + i * 60000000LL);
        char ref[32];
        snprintf(ref, sizeof(ref), "ref-%d", i);
        decision(a, f, i % 2 ? "bob@example.test" : "Alice@example.test",
                 i == 7 ? "block" : "allow", ref, i < 5 ? "p1,ro (report-only)" : "p2",
                 i < 3 ? "block" : NULL);
    }
    at(T0 + 3600000000LL);
    auth(a, f, "u1", false, true);
    auth(a, f, "u1", false, false);
    auth(a, f, "u1", true, true);
    auth(a, f, "u1", true, true);
    auth(a, f, "u2", true, false);
    detection(a, f, "impossible_travel", false);
    detection(a, f, "impossible_travel", false);
    detection(a, f, "malware", false);
    detection(a, f, NULL, true);
    admin_disable(a, f);
    assert_int_equal(zt_audit_close(a), 0);
    zt_time_set_offset_us(0);
}

typedef struct bad_lines {
    int n;
} bad_lines;

static void on_bad(void *arg, const char *file, uint64_t lineno)
{
    (void)file;
    (void)lineno;
    ((bad_lines *)arg)->n++;
}

static void test_search_log(void **state)
{
    fx *f = *state;
    write_log(f);
    const char *files[] = {f->path};
    zt_aq_search_opts o = {.limit = 3};
    zt_aq_filter_init(&o.filter);
    o.filter.class_uid = 4002;
    zt_aq_result r;
    assert_int_equal(zt_aq_search(files, 1, &o, &r), 0);
    assert_int_equal(r.n, 3);
    assert_true(r.more);
    assert_non_null(strstr(r.hits[0].line, "ref-9")); /* newest first */
    assert_non_null(strstr(r.hits[2].line, "ref-7"));
    assert_true(r.hits[0].seq > r.hits[1].seq);
    assert_true(r.scanned >= 3);
    uint64_t cursor = r.next_cursor;
    zt_aq_result_dispose(&r);
    o.cursor = cursor;
    o.limit = 100;
    assert_int_equal(zt_aq_search(files, 1, &o, &r), 0);
    assert_int_equal(r.n, 7);
    assert_false(r.more);
    assert_non_null(strstr(r.hits[0].line, "ref-6"));
    zt_aq_result_dispose(&r);

    /* chain order, a user by e-mail in another case, a reference */
    o = (zt_aq_search_opts){.oldest_first = true};
    zt_aq_filter_init(&o.filter);
    o.filter.user = "alice@EXAMPLE.test";
    assert_int_equal(zt_aq_search(files, 1, &o, &r), 0);
    assert_int_equal(r.n, 5);
    assert_non_null(strstr(r.hits[0].line, "ref-0"));
    zt_aq_result_dispose(&r);
    zt_aq_filter_init(&o.filter);
    o.filter.ref = "ref-7";
    assert_int_equal(zt_aq_search(files, 1, &o, &r), 0);
    assert_int_equal(r.n, 1);
    assert_non_null(strstr(r.hits[0].line, "\"block\""));
    zt_aq_result_dispose(&r);

    /* a scoped admin sees only records naming bob */
    const char *scope[] = {"bob@example.test"};
    zt_aq_filter_init(&o.filter);
    o.filter.allowed_users = scope;
    o.filter.n_allowed = 1;
    assert_int_equal(zt_aq_search(files, 1, &o, &r), 0);
    assert_int_equal(r.n, 5);
    zt_aq_result_dispose(&r);

    /* malformed lines are counted and reported; a missing file is an error, others still read */
    char copy[300];
    snprintf(copy, sizeof(copy), "%s/copy.log", f->dir);
    FILE *out = fopen(copy, "w");
    fputs("not json\n[1,2]\n{\"seq\":1,\"decision\":\"block\"\n", out);
    fclose(out);
    bad_lines bad = {0};
    const char *two[] = {"/nonexistent/audit.log", copy};
    zt_aq_filter_init(&o.filter);
    o.filter.decision = "block";
    o.malformed = on_bad;
    o.malformed_arg = &bad;
    assert_int_equal(zt_aq_search(two, 2, &o, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.malformed, 3);
    assert_int_equal(bad.n, 3);
    zt_aq_result_dispose(&r);
}

static void test_rollup_stats(void **state)
{
    fx *f = *state;
    write_log(f);
    zt_aq_rollup *r = zt_aq_rollup_new(f->path, NULL);
    assert_non_null(r);
    assert_int_equal(zt_aq_rollup_update(r), 0);
    zt_aq_stats st;
    zt_aq_stats_req req = {
        .since_us = T0, .until_us = T0 + 2 * 3600000000LL, .bucket_s = 3600, .mfa_top = 1};
    assert_int_equal(zt_aq_rollup_stats(r, &req, &st), 0);
    assert_int_equal(st.n_buckets, 2);
    assert_int_equal(st.buckets[0].c[ZT_AQC_ALLOW], 9);
    assert_int_equal(st.buckets[0].c[ZT_AQC_BLOCK], 1);
    assert_int_equal(st.buckets[0].c[ZT_AQC_RO_WOULD_BLOCK], 3);
    assert_int_equal(st.buckets[1].c[ZT_AQC_SIGNIN_OK], 1);
    assert_int_equal(st.buckets[1].c[ZT_AQC_SIGNIN_FAIL], 1);
    assert_int_equal(st.buckets[1].c[ZT_AQC_MFA_OK], 2);
    assert_int_equal(st.buckets[1].c[ZT_AQC_MFA_FAIL], 1);
    assert_int_equal(st.total[ZT_AQC_DETECTIONS], 3);
    assert_int_equal(st.total[ZT_AQC_RESP_AUTO], 1);
    assert_int_equal(st.total[ZT_AQC_RESP_MANUAL], 1);
    assert_int_equal(st.mfa_prompts, 3);
    assert_int_equal(st.mfa_user_days, 2);
    assert_int_equal(st.mfa_max_per_user_day, 2);
    assert_int_equal(st.mfa_users, 2); /* exact, though mfa_top lists only one user-day */
    bool saw_travel = false, saw_ro = false, saw_p2 = false, saw_u1 = false;
    size_t user_days = 0;
    for (size_t i = 0; i < st.n_named; i++) {
        const zt_aq_named *n = &st.named[i];
        if (n->kind == ZT_AQK_DETECTION_TYPE && strcmp(n->name, "impossible_travel") == 0)
            saw_travel = n->count == 2;
        if (n->kind == ZT_AQK_RO_BLOCK_POLICY && strcmp(n->name, "ro") == 0)
            saw_ro = n->count == 3;
        if (n->kind == ZT_AQK_POLICY_DECISION && strcmp(n->name, "p2") == 0 &&
            n->sub == ZT_AQC_ALLOW)
            saw_p2 = n->count == 4;
        if (n->kind == ZT_AQK_USER_MFA_DAY) {
            user_days++;
            saw_u1 = strcmp(n->name, "u1") == 0 && n->count == 2 && n->sub == T0 / 86400000000LL;
        }
    }
    assert_true(saw_travel && saw_ro && saw_p2 && saw_u1);
    assert_int_equal(user_days, 1); /* only the busiest one was asked for */
    uint64_t before = st.total[ZT_AQC_RECORDS], held;
    size_t bytes;
    zt_aq_rollup_size(r, &held, &bytes);
    assert_int_equal(held, before);
    assert_true(bytes > 60 * 60 && bytes < 4u << 20); /* an hour of minutes, a few names */
    zt_aq_stats_dispose(&st);

    /* the log grows, then rotates: the rollup follows without counting anything twice */
    char err[256];
    f->cfg.rotate_bytes = 4096;
    at(T0 + 3600000000LL);
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    for (int i = 0; i < 3; i++)
        decision(a, f, "carol@example.test", "challenge", "ref-c", NULL, NULL);
    assert_int_equal(zt_aq_rollup_update(r), 0);
    for (int i = 0; i < 40; i++) /* past rotate_bytes */
        decision(a, f, "carol@example.test", "challenge", "ref-c", NULL, NULL);
    assert_int_equal(zt_audit_close(a), 0);
    zt_time_set_offset_us(0);
    assert_int_equal(zt_aq_rollup_update(r), 0);
    assert_int_equal(zt_aq_rollup_update(r), 0);
    assert_int_equal(zt_aq_rollup_stats(r, &req, &st), 0);
    assert_int_equal(st.total[ZT_AQC_CHALLENGE], 43);
    uint64_t after = st.total[ZT_AQC_RECORDS];
    zt_aq_stats_dispose(&st);

    /* the same answer from a fresh scan of every file */
    char **files = NULL;
    long n = zt_aq_log_files(f->path, &files);
    assert_true(n >= 2); /* rotated at least once */
    assert_int_equal(zt_aq_stats_files((const char *const *)files, (size_t)n, NULL, &req, &st), 0);
    assert_int_equal(st.total[ZT_AQC_CHALLENGE], 43);
    assert_int_equal(st.total[ZT_AQC_RECORDS], after);
    assert_true(after > before + 43 - 1);
    zt_aq_stats_dispose(&st);
    /* scoped: only carol's */
    const char *carol[] = {"carol@example.test"};
    zt_aq_filter scope;
    zt_aq_filter_init(&scope);
    scope.allowed_users = carol;
    scope.n_allowed = 1;
    assert_int_equal(zt_aq_stats_files((const char *const *)files, (size_t)n, &scope, &req, &st),
                     0);
    assert_int_equal(st.total[ZT_AQC_RECORDS], 43);
    zt_aq_stats_dispose(&st);
    zt_aq_files_free(files, (size_t)n);

    req.bucket_s = 61;
    assert_int_equal(zt_aq_rollup_stats(r, &req, &st), -EINVAL);
    zt_aq_rollup_free(r);
}

/* ---- async: the callback runs on the loop ---- */

typedef struct async_box {
    int rc;
    size_t hits;
    uint64_t blocks;
    int calls;
} async_box;

static void on_search(void *arg, int rc, zt_aq_result *res)
{
    async_box *b = arg;
    b->rc = rc;
    b->hits = res->n;
    b->calls++;
}

static void on_stats(void *arg, int rc, zt_aq_stats *st)
{
    async_box *b = arg;
    b->rc = rc;
    b->blocks = st->total[ZT_AQC_BLOCK];
    b->calls++;
}

static void test_async(void **state)
{
    fx *f = *state;
    write_log(f);
    uv_loop_t loop;
    uv_loop_init(&loop);
    async_box b1 = {0}, b2 = {0}, b3 = {0};
    zt_aq_search_opts o = {.limit = 2};
    zt_aq_filter_init(&o.filter);
    assert_int_equal(zt_aq_search_async(&loop, f->path, &o, on_search, &b1), 0);
    zt_aq_rollup *r = zt_aq_rollup_new(f->path, NULL);
    zt_aq_stats_req req = {.since_us = T0, .until_us = T0 + 86400000000LL, .bucket_s = 86400};
    assert_int_equal(zt_aq_stats_async(&loop, r, NULL, NULL, &req, on_stats, &b2), 0);
    assert_int_equal(zt_aq_stats_async(&loop, NULL, f->path, NULL, &req, on_stats, &b3), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(b1.calls, 1);
    assert_int_equal(b1.rc, 0);
    assert_int_equal(b1.hits, 2);
    assert_int_equal(b2.calls, 1);
    assert_int_equal(b2.rc, 0);
    assert_int_equal(b2.blocks, 1);
    assert_int_equal(b3.blocks, 1);
    zt_aq_rollup_free(r);
    uv_loop_close(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_fields),
        cmocka_unit_test(test_filter_match),
        cmocka_unit_test_setup_teardown(test_search_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
