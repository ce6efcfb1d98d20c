/* Audit core: event builder escaping and misuse, the hash-chained writer (threads, restart,
 * torn tail, rotation, checkpoints, failure) and the verifier against eight kinds of tampering. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "audit/chain.h"
#include "audit/event.h"

/* ---- fixture: one temp dir per test ---- */

typedef struct fx {
    char dir[128];
    char path[256];
    char key[256];
    char pub[300];
    zt_audit_cfg cfg;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/zt-audit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/log/audit.log", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/keys/signing.key", f->dir);
    snprintf(f->pub, sizeof(f->pub), "%s.pub", f->key);
    f->cfg = (zt_audit_cfg){.path = f->path,
                            .signing_key_file = f->key,
                            .checkpoint_every = 10,
                            .checkpoint_interval_ms = 0,
                            .fsync_interval_ms = 2,
                            .rotate_bytes = 0,
                            .queue_limit = 100000};
    *state = f;
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int teardown(void **state)
{
    fx *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static size_t build_event(zt_buf *b, const char *user, unsigned i)
{
    char uid[32];
    snprintf(uid, sizeof(uid), "%s:%u", user, i);
    zt_buf_reset(b);
    zt_event ev;
    zt_event_begin(&ev, b, ZT_EV_AUTHENTICATION, ZT_ACT_AUTH_LOGON, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", "sign-in");
    zt_event_str(&ev, "user.name", user);
    zt_event_str(&ev, "user.uid", uid);
    zt_event_str(&ev, "src_endpoint.ip", "203.0.113.7");
    zt_event_metadata(&ev, uid, NULL);
    assert_int_equal(zt_event_end(&ev), 0);
    return b->len;
}

static uint64_t submit_n(zt_audit *a, const char *user, unsigned n)
{
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    uint64_t last = 0;
    for (unsigned i = 0; i < n; i++) {
        build_event(&b, user, i);
        last = zt_audit_submit(a, b.data, b.len);
        assert_true(last > 0);
    }
    zt_buf_dispose(&b);
    return last;
}

/* Write n events and close: a sealed log. */
static void make_log(fx *f, unsigned n)
{
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uint64_t last = submit_n(a, "alice", n);
    assert_true(zt_audit_wait(a, last, true, 10000));
    assert_int_equal(zt_audit_close(a), 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* A log as an editable array of lines (without newlines). */
typedef struct lines {
    char **v;
    size_t n;
} lines;

static lines read_lines(const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    lines l = {calloc(len + 1, sizeof(char *)), 0};
    for (char *p = data, *nl; (nl = memchr(p, '\n', (size_t)(data + len - p))) != NULL; p = nl + 1)
        l.v[l.n++] = strndup(p, (size_t)(nl - p));
    free(data);
    return l;
}

static void write_lines(const char *path, const lines *l)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < l->n; i++)
        fprintf(fp, "%s\n", l->v[i]);
    fclose(fp);
}

static void free_lines(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void set_line(lines *l, size_t i, char *s)
{
    free(l->v[i]);
    l->v[i] = s;
}

/* Line index of the record with this seq (seq 1 is line 0 in a single-file log). */
static size_t idx_of(const lines *l, uint64_t seq)
{
    for (size_t i = 0; i < l->n; i++)
        if (zt_audit_line_seq(l->v[i], strlen(l->v[i])) == seq)
            return i;
    fail_msg("seq %llu not found", (unsigned long long)seq);
    return 0;
}

static uint64_t next_cp_after(const lines *l, uint64_t seq)
{
    for (size_t i = idx_of(l, seq); i < l->n; i++) {
        zt_audit_line p;
        assert_true(zt_audit_line_parse(l->v[i], strlen(l->v[i]), &p));
        if (p.checkpoint && p.seq > seq)
            return p.seq;
    }
    return 0;
}

/* What an attacker without the key can do: recompute prev/hash (and a checkpoint's head) from
 * line `from` on, starting at the hash of the line before. */
static void rechain(lines *l, size_t from)
{
    char head[ZT_AUDIT_HEX + 1];
    zt_audit_line p;
    if (from == 0) {
        memcpy(head, ZT_AUDIT_GENESIS, sizeof(head));
    } else {
        assert_true(zt_audit_line_parse(l->v[from - 1], strlen(l->v[from - 1]), &p));
        memcpy(head, p.hash, ZT_AUDIT_HEX);
        head[ZT_AUDIT_HEX] = '\0';
    }
    for (size_t i = from; i < l->n; i++) {
        char *s = l->v[i];
        assert_true(zt_audit_line_parse(s, strlen(s), &p));
        memcpy((char *)p.prev, head, ZT_AUDIT_HEX);
        char *h = strstr(s, "\"head\":\"");
        if (p.checkpoint && h != NULL)
            memcpy(h + 8, head, ZT_AUDIT_HEX);
        zt_audit_line_hash(head, s, p.hashed_len, head);
        memcpy((char *)p.hash, head, ZT_AUDIT_HEX);
    }
}

static int verify(fx *f, const char *const *files, size_t n, unsigned flags, zt_audit_report *r)
{
    unsigned char pk[32];
    char err[256];
    assert_int_equal(zt_audit_load_pubkey(f->pub, pk, err, sizeof(err)), 0);
    int rc = zt_audit_verify_files(files, n, pk, flags, r);
    if (rc != 0)
        print_message("verify: %s\n", r->detail);
    return rc;
}

static int verify1(fx *f, zt_audit_report *r)
{
    const char *files[] = {f->path};
    return verify(f, files, 1, 0, r);
}

/* ---- event builder ---- */

static void test_event_fields(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_HTTP_ACTIVITY, 3, ZT_SEV_LOW);
    zt_event_status(&ev, ZT_STATUS_FAILURE);
    zt_event_str(&ev, "user.name", "bob");
    zt_event_str(&ev, "user.email", NULL); /* skipped */
    zt_event_str(&ev, "device.uid", "d-1");
    zt_event_str(&ev, "src_endpoint.ip", "198.51.100.4");
    zt_event_uint(&ev, "src_endpoint.port", 55000);
    zt_event_str(&ev, "src_endpoint.location.country", "DE");
    zt_event_str(&ev, "http_request.http_method", "GET");
    zt_event_str(&ev, "http_request.url.hostname", "wiki.example.com");
    zt_event_str(&ev, "http_request.url.path", "/admin");
    zt_event_int(&ev, "http_response.code", 403);
    zt_event_arr_begin(&ev, "policies");
    zt_event_obj_begin(&ev, NULL);
    zt_event_str(&ev, "uid", "p-deny-admin");
    zt_event_str(&ev, "name", "deny admin");
    zt_event_close(&ev);
    zt_event_close(&ev);
    zt_event_arr_begin(&ev, "reasons");
    zt_event_str(&ev, NULL, "device not compliant");
    zt_event_str(&ev, NULL, "risk high");
    zt_event_close(&ev);
    zt_event_str(&ev, "incident_uid", "inc-7");
    zt_event_metadata(&ev, "req-1", "corr-1");
    assert_int_equal(zt_event_end(&ev), 0);

    json_error_t je;
    json_t *o = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 4002);
    assert_int_equal(json_integer_value(json_object_get(o, "category_uid")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "type_uid")), 400203);
    assert_int_equal(json_integer_value(json_object_get(o, "status_id")), 2);
    const char *t = json_string_value(json_object_get(o, "time"));
    assert_int_equal(strlen(t), 27);
    assert_int_equal(t[26], 'Z');
    json_t *user = json_object_get(o, "user");
    assert_null(json_object_get(user, "email"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(o, "src_endpoint"), "location"), "country")),
        "DE");
    assert_int_equal(json_array_size(json_object_get(o, "policies")), 1);
    assert_int_equal(json_array_size(json_object_get(o, "reasons")), 2);
    json_t *md = json_object_get(o, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "uid")), "req-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "product"), "name")),
                        "ztgate");
    json_decref(o);
    zt_buf_dispose(&b);
}

static void test_event_escaping(void **state)
{
    static const char hostile[] = "a\r\nb\"}\\ \x1b[31m\xff\xfe\xc3\x28 \xe2\x80\xa8 end";
    const char nul[] = {'x', '\0', 'y'};
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_strn(&ev, "user.name", hostile, sizeof(hostile) - 1);
    zt_event_strn(&ev, "user.uid", nul, sizeof(nul));
    zt_event_str(&ev, "message", "line1\nline2\r{\"seq\":1}");
    assert_int_equal(zt_event_end(&ev), 0);
    assert_null(memchr(b.data, '\n', b.len));
    assert_null(memchr(b.data, '\r', b.len));
    assert_null(memchr(b.data, '\0', b.len));
    assert_null(memchr(b.data, 0x1b, b.len));

    json_t *o = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    assert_non_null(o);
    json_t *user = json_object_get(o, "user");
    const char *name = json_string_value(json_object_get(user, "name"));
    assert_non_null(strstr(name, "a\r\nb\"}\\"));
    assert_non_null(strstr(name, "\xef\xbf\xbd")); /* invalid UTF-8 became U+FFFD */
    assert_int_equal(json_string_length(json_object_get(user, "uid")), 3);
    json_decref(o);
    zt_buf_dispose(&b);
}

static void test_event_misuse(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_buf_append_str(&b, "keep");
    zt_event ev;

    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_str(&ev, "user.name", "a");
    zt_event_str(&ev, "user.name", "b");
    assert_int_equal(zt_event_end(&ev), -EEXIST);
    assert_int_equal(b.len, 4);

    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_str(&ev, "user.name", "a");
    zt_event_str(&ev, "device.uid", "d");
    zt_event_str(&ev, "user.uid", "u"); /* reopening a closed object */
    assert_int_equal(zt_event_end(&ev), -EEXIST);

    static const char *const reserved[] = {"seq", "prev", "hash", "type", "metadata.uid"};
    for (size_t i = 0; i < 5; i++) {
        zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
        zt_event_str(&ev, reserved[i], "x");
        assert_int_equal(zt_event_end(&ev), -EINVAL);
    }
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    assert_int_equal(zt_event_close(&ev), -EINVAL);
    assert_int_equal(zt_event_end(&ev), -EINVAL);

    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_arr_begin(&ev, "reasons");
    zt_event_str(&ev, "k", "v");
    assert_int_equal(zt_event_end(&ev), -EINVAL);

    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_str(&ev, "a..b", "v");
    assert_int_equal(zt_event_end(&ev), -EINVAL);
    assert_int_equal(b.len, 4);

    /* Same key name in different objects is fine; a nested "seq" is not reserved. */
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    zt_event_str(&ev, "user.uid", "u");
    zt_event_str(&ev, "device.uid", "d");
    zt_event_uint(&ev, "unmapped.seq", 3);
    assert_int_equal(zt_event_end(&ev), 0);
    size_t done = b.len;
    assert_int_equal(zt_event_str(&ev, "late", "x"), -EINVAL); /* after end: refused */
    assert_int_equal(zt_event_close(&ev), -EINVAL);
    assert_int_equal(b.len, done);
    zt_buf_dispose(&b);

    /* Buffer limit: the event is rolled back, never cut. */
    zt_buf small;
    zt_buf_init(&small, 200);
    zt_event_begin(&ev, &small, ZT_EV_AUTHENTICATION, 1, ZT_SEV_INFO);
    char big[300];
    memset(big, 'x', sizeof(big));
    zt_event_strn(&ev, "message", big, sizeof(big));
    assert_int_equal(zt_event_end(&ev), -E2BIG);
    assert_int_equal(small.len, 0);
    zt_buf_dispose(&small);
}

static void test_session_ref(void **state)
{
    unsigned char k1[32] = {1}, k2[32] = {2};
    char r1[ZT_EVENT_SESSION_REF_HEX + 1], r2[ZT_EVENT_SESSION_REF_HEX + 1],
        r3[ZT_EVENT_SESSION_REF_HEX + 1];
    const char *sid = "s3cr3t-session-cookie";
    assert_int_equal(zt_event_session_ref(k1, 32, sid, strlen(sid), r1), 0);
    assert_int_equal(zt_event_session_ref(k1, 32, sid, strlen(sid), r2), 0);
    assert_int_equal(zt_event_session_ref(k2, 32, sid, strlen(sid), r3), 0);
    assert_int_equal(strlen(r1), ZT_EVENT_SESSION_REF_HEX);
    assert_string_equal(r1, r2);
    assert_string_not_equal(r1, r3);
    assert_true(zt_audit_is_hex(r1, ZT_EVENT_SESSION_REF_HEX));
    assert_int_equal(zt_event_session_ref(k1, 8, sid, strlen(sid), r1), -EINVAL);
}

/* ---- writer ---- */

typedef struct worker {
    zt_audit *a;
    const char *user;
    unsigned n;
    uint64_t *seqs;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    for (unsigned i = 0; i < w->n; i++) {
        build_event(&b, w->user, i);
        w->seqs[i] = zt_audit_submit(w->a, b.data, b.len);
    }
    zt_buf_dispose(&b);
    return NULL;
}

static atomic_int wakeups;

static void on_written(void *arg)
{
    atomic_fetch_add(&wakeups, 1);
}

/* The record with this seq carries user.uid "<user>:<i>". */
static void expect_uid(const lines *l, uint64_t seq, const char *user, unsigned i)
{
    char want[64];
    snprintf(want, sizeof(want), "\"uid\":\"%s:%u\"", user, i);
    assert_non_null(strstr(l->v[idx_of(l, seq)], want));
}

static void test_two_threads(void **state)
{
    fx *f = *state;
    enum { N = 2000 };
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(zt_audit_watch(a, on_written, NULL), 0);
    uint64_t s1[N], s2[N];
    worker w1 = {a, "t1", N, s1}, w2 = {a, "t2", N, s2};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, work, &w1);
    pthread_create(&t2, NULL, work, &w2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    uint64_t max = 0;
    for (unsigned i = 0; i < N; i++) {
        assert_true(s1[i] > 0 && s2[i] > 0);
        if (i > 0)
            assert_true(s1[i] > s1[i - 1] && s2[i] > s2[i - 1]);
        max = s1[i] > max ? s1[i] : max;
        max = s2[i] > max ? s2[i] : max;
    }
    assert_true(zt_audit_wait(a, max, false, 10000));
    assert_true(zt_audit_wait(a, max, true, 10000));
    assert_true(zt_audit_durable_seq(a) >= max);
    assert_true(atomic_load(&wakeups) > 0);
    zt_audit_metrics m;
    zt_audit_metrics_get(a, &m);
    assert_true(m.appended >= 2 * N);
    assert_true(m.fsyncs >= 1);
    assert_int_equal(m.drops, 0);
    assert_int_equal(zt_audit_close(a), 0);

    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    assert_int_equal(r.first_seq, 1);
    assert_int_equal(r.last_checkpoint_seq, r.last_seq); /* closed with a checkpoint */
    assert_true(r.checkpoints >= 2 * N / 10);
    lines l = read_lines(f->path);
    for (unsigned i = 0; i < N; i += 97) {
        expect_uid(&l, s1[i], "t1", i);
        expect_uid(&l, s2[i], "t2", i);
    }
    free_lines(&l);
}

static void test_restart_continues(void **state)
{
    fx *f = *state;
    make_log(f, 25);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    uint64_t first_end = r.last_seq;
    make_log(f, 25);
    assert_int_equal(verify1(f, &r), 0);
    assert_true(r.last_seq > first_end + 25);
    lines l = read_lines(f->path);
    char want[64];
    snprintf(want, sizeof(want), "\"resumed_after_seq\":%llu", (unsigned long long)first_end);
    assert_non_null(strstr(l.v[idx_of(&l, first_end + 1)], want));
    assert_non_null(strstr(l.v[idx_of(&l, first_end + 1)], "\"unclean_shutdown\":false"));
    free_lines(&l);

    /* Key files: 0600 key in a 0700 dir, and a .pub. */
    struct stat st;
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char kdir[256];
    snprintf(kdir, sizeof(kdir), "%s/keys", f->dir);
    assert_int_equal(stat(kdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(f->pub, &st), 0);
}

static void test_torn_tail(void **state)
{
    fx *f = *state;
    make_log(f, 5);
    size_t len;
    char *data = slurp(f->path, &len);
    /* A crash in the middle of a write: a record without its newline. */
    const char torn[] = "{\"seq\":9999,\"prev\":\"00";
    char *cat = malloc(len + sizeof(torn));
    memcpy(cat, data, len);
    memcpy(cat + len, torn, sizeof(torn) - 1);
    spit(f->path, cat, len + sizeof(torn) - 1);
    zt_audit_report r;
    const char *files[] = {f->path};
    assert_int_equal(verify(f, files, 1, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_TRUNCATED);
    assert_non_null(strstr(r.detail, "truncated after seq"));

    make_log(f, 5);
    assert_int_equal(verify1(f, &r), 0);
    lines l = read_lines(f->path);
    char want[64];
    snprintf(want, sizeof(want), "\"truncated_bytes\":%zu", sizeof(torn) - 1);
    size_t start = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strstr(l.v[i], want) != NULL)
            start = i;
    assert_true(start > 0);
    free_lines(&l);
    free(data);
    free(cat);
}

/* Rotated files in chain order, the live file last. */
static size_t log_files(fx *f, char names[][300], size_t max)
{
    unsigned long long seqs[64];
    size_t n = 0;
    for (unsigned long long s = 1; s < 100000 && n < max - 1 && n < 64; s++) {
        char p[300];
        snprintf(p, sizeof(p), "%s.%llu", f->path, s);
        if (access(p, F_OK) == 0)
            seqs[n++] = s;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(names[i], 300, "%s.%llu", f->path, seqs[i]);
    snprintf(names[n], 300, "%s", f->path);
    return n + 1;
}

static void test_rotation(void **state)
{
    fx *f = *state;
    f->cfg.rotate_bytes = 8192;
    make_log(f, 150);
    make_log(f, 30); /* restart continues into the newest file */
    char names[32][300];
    const char *files[32];
    size_t n = log_files(f, names, 32);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++)
        files[i] = names[i];
    zt_audit_report r;
    assert_int_equal(verify(f, files, n, ZT_AUDIT_VERIFY_SEALED, &r), 0);
    assert_int_equal(r.first_seq, 1);
    assert_true(r.records >= 180);

    /* Files in the wrong order. */
    const char *swapped[32];
    memcpy(swapped, files, n * sizeof(files[0]));
    swapped[0] = files[1];
    swapped[1] = files[0];
    assert_int_equal(verify(f, swapped, n, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_FILE_ORDER);
    assert_int_equal(r.file_index, 1);

    /* A rotated file missing from the middle. */
    const char *gap[32];
    memcpy(gap, files, n * sizeof(files[0]));
    memmove(gap + 1, gap + 2, (n - 2) * sizeof(files[0]));
    assert_int_equal(verify(f, gap, n - 1, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_FILE_ORDER);

    /* Only the later files (older ones archived away): still verifiable from there, unless
     * the whole log is required. */
    assert_int_equal(verify(f, files + 1, n - 1, 0, &r), 0);
    assert_true(r.first_seq > 1);
    assert_int_equal(verify(f, files + 1, n - 1, ZT_AUDIT_VERIFY_FROM_GENESIS, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_DELETED);
    assert_int_equal(r.seq, 1);
}

static void test_file_from_other_log(void **state)
{
    fx *f = *state;
    f->cfg.rotate_bytes = 8192;
    make_log(f, 120);
    char names[32][300];
    const char *files[32];
    size_t n = log_files(f, names, 32);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++)
        files[i] = names[i];

    /* A second log with its own key, same seq layout. */
    fx other = *f;
    snprintf(other.path, sizeof(other.path), "%s/other/audit.log", f->dir);
    snprintf(other.key, sizeof(other.key), "%s/other/signing.key", f->dir);
    other.cfg.path = other.path;
    other.cfg.signing_key_file = other.key;
    make_log(&other, 120);
    char onames[32][300];
    assert_true(log_files(&other, onames, 32) >= 3);
    size_t len;
    char *data = slurp(onames[1], &len);
    spit(files[1], data, len);
    free(data);
    zt_audit_report r;
    assert_int_equal(verify(f, files, n, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_FILE_ORDER);
    assert_int_equal(r.file_index, 1);
}

static void test_checkpoints(void **state)
{
    fx *f = *state;
    f->cfg.checkpoint_every = 0;
    f->cfg.checkpoint_interval_ms = 30;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uint64_t s = submit_n(a, "carol", 3);
    assert_true(zt_audit_wait(a, s, false, 5000));
    usleep(150 * 1000);
    zt_audit_metrics m;
    zt_audit_metrics_get(a, &m);
    assert_true(m.checkpoints >= 2); /* the opening one and one by time */
    assert_int_equal(zt_audit_checkpoint(a), 0);
    assert_int_equal(zt_audit_close(a), 0);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    assert_true(r.checkpoints >= 4);
    assert_true(r.signatures_checked);

    /* With another public key every checkpoint is foreign. */
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    const char *files[] = {f->path};
    assert_int_equal(zt_audit_verify_files(files, 1, pk, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_FOREIGN_KEY);
    assert_int_equal(r.seq, 2);

    /* Without a key: chain only, reported as such. */
    assert_int_equal(zt_audit_verify_files(files, 1, NULL, 0, &r), 0);
    assert_false(r.signatures_checked);
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    zt_audit_report_print(&r, mf);
    fclose(mf);
    assert_non_null(strstr(out, "OK: "));
    assert_non_null(strstr(out, "NOT checked"));
    free(out);
}

/* ---- tampering: each kind found at the right seq ---- */

static int tampered(fx *f, lines *l, unsigned flags, zt_audit_report *r)
{
    write_lines(f->path, l);
    const char *files[] = {f->path};
    return verify(f, files, 1, flags, r);
}

static void test_tamper_flip(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    char *s = l.v[idx_of(&l, 33)];
    char *at = strstr(s, "alice");
    at[0] = 'A';
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_MODIFIED);
    assert_int_equal(r.seq, 33);
    assert_non_null(strstr(r.detail, "seq 33: modified (hash mismatch)"));
    free_lines(&l);
}

static void test_tamper_delete(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    size_t i = idx_of(&l, 20);
    free(l.v[i]);
    memmove(l.v + i, l.v + i + 1, (l.n - i - 1) * sizeof(char *));
    l.n--;
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_DELETED);
    assert_int_equal(r.seq, 20);
    assert_int_equal(r.from, 20);
    assert_int_equal(r.to, 20);
    free_lines(&l);
}

static void test_tamper_reorder(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    size_t i = idx_of(&l, 40);
    char *t = l.v[i];
    l.v[i] = l.v[i + 1];
    l.v[i + 1] = t;
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_REORDERED);
    assert_int_equal(r.seq, 40);
    free_lines(&l);
}

static void test_tamper_truncate(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    size_t len;
    char *data = slurp(f->path, &len);
    lines l = read_lines(f->path);
    size_t off = 0;
    for (size_t i = 0; i < idx_of(&l, 30); i++)
        off += strlen(l.v[i]) + 1;
    /* Mid-record cut. */
    spit(f->path, data, off + 17);
    zt_audit_report r;
    const char *files[] = {f->path};
    assert_int_equal(verify(f, files, 1, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_TRUNCATED);
    assert_non_null(strstr(r.detail, "truncated after seq 29"));
    /* Cut at a record boundary: the chain alone cannot tell; a sealed log must end with a
     * checkpoint, and every closed or rotated file does. */
    spit(f->path, data, off);
    assert_int_equal(verify(f, files, 1, 0, &r), 0);
    assert_int_equal(verify(f, files, 1, ZT_AUDIT_VERIFY_SEALED, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_TRUNCATED);
    assert_non_null(strstr(r.detail, "truncated after seq 29"));
    free(data);
    free_lines(&l);
}

static void test_tamper_insert(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    size_t i = idx_of(&l, 25);
    zt_audit_line p;
    assert_true(zt_audit_line_parse(l.v[i], strlen(l.v[i]), &p));
    /* A well-formed forged record: right seq, right prev, correct hash. */
    char prev[ZT_AUDIT_HEX + 1], h[ZT_AUDIT_HEX + 1];
    memcpy(prev, p.hash, ZT_AUDIT_HEX);
    prev[ZT_AUDIT_HEX] = '\0';
    char body[256];
    int n =
        snprintf(body, sizeof(body), "{\"seq\":26,\"prev\":\"%s\",\"message\":\"forged\"", prev);
    zt_audit_line_hash(prev, body, (size_t)n, h);
    char *forged;
    assert_true(asprintf(&forged, "%s,\"hash\":\"%s\"}", body, h) > 0);
    l.v[l.n] = NULL;
    memmove(l.v + i + 2, l.v + i + 1, (l.n - i - 1) * sizeof(char *));
    l.v[i + 1] = forged;
    l.n++;
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_INSERTED);
    assert_int_equal(r.seq, 26);
    free_lines(&l);
}

/* The attacker rewrites a checkpoint, signs it with their own key and re-chains the rest. */
static void test_tamper_foreign_checkpoint(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    uint64_t c = next_cp_after(&l, 30);
    assert_true(c > 30);
    size_t i = idx_of(&l, c);
    zt_audit_line p;
    assert_true(zt_audit_line_parse(l.v[i], strlen(l.v[i]), &p));
    char prev[ZT_AUDIT_HEX + 1];
    memcpy(prev, p.prev, ZT_AUDIT_HEX);
    prev[ZT_AUDIT_HEX] = '\0';
    unsigned char pk[32], sk[64], sig[64];
    crypto_sign_keypair(pk, sk);
    char kid[ZT_AUDIT_KEY_ID_HEX + 1], sighex[129], h[ZT_AUDIT_HEX + 1];
    zt_audit_key_id(pk, kid);
    const char *ts = "2026-01-01T00:00:00.000000Z";
    zt_buf msg;
    zt_buf_init(&msg, 0);
    zt_audit_cp_message(&msg, c, c - 1, prev, ts, strlen(ts));
    crypto_sign_detached(sig, NULL, (unsigned char *)msg.data, msg.len, sk);
    zt_buf_dispose(&msg);
    sodium_bin2hex(sighex, sizeof(sighex), sig, 64);
    char body[600];
    int n =
        snprintf(body, sizeof(body),
                 "{\"seq\":%llu,\"prev\":\"%s\",\"type\":\"checkpoint\",\"time\":\"%s\","
                 "\"head\":\"%s\",\"count\":%llu,\"key_id\":\"%s\",\"sig\":\"%s\"",
                 (unsigned long long)c, prev, ts, prev, (unsigned long long)(c - 1), kid, sighex);
    zt_audit_line_hash(prev, body, (size_t)n, h);
    char *line;
    assert_true(asprintf(&line, "%s,\"hash\":\"%s\"}", body, h) > 0);
    set_line(&l, i, line);
    rechain(&l, i + 1);
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_FOREIGN_KEY);
    assert_int_equal(r.seq, c);
    assert_non_null(strstr(r.detail, "checkpoint signed by another key"));
    free_lines(&l);
}

/* Modify a record and recompute every hash after it: only a checkpoint signature catches it. */
static void test_tamper_rechain(void **state)
{
    fx *f = *state;
    make_log(f, 60);
    lines l = read_lines(f->path);
    size_t i = idx_of(&l, 34);
    char *at = strstr(l.v[i], "alice");
    memcpy(at, "mallo", 5);
    rechain(&l, i);
    uint64_t c = next_cp_after(&l, 34);
    zt_audit_report r;
    assert_int_equal(tampered(f, &l, 0, &r), -EBADMSG);
    assert_int_equal(r.problem, ZT_AUDIT_BAD_SIGNATURE);
    assert_int_equal(r.seq, c);
    assert_true(r.from <= 34 && r.to >= 34);
    free_lines(&l);

    /* Records after the last checkpoint have only the chain: the documented limit. */
    unlink(f->path);
    make_log(f, 5);
    l = read_lines(f->path);
    l.n -= 2; /* drop "audit stopped" and the final checkpoint */
    free(l.v[l.n]);
    free(l.v[l.n + 1]);
    at = strstr(l.v[l.n - 1], "alice");
    assert_non_null(at);
    at[0] = 'X';
    rechain(&l, l.n - 1);
    assert_int_equal(tampered(f, &l, 0, &r), 0);
    assert_true(r.last_checkpoint_seq < r.last_seq);
    assert_int_equal(tampered(f, &l, ZT_AUDIT_VERIFY_SEALED, &r), -EBADMSG);
    free_lines(&l);
}

static void test_verify_garbage(void **state)
{
    unsigned char pk[32] = {0};
    zt_audit_report r;
    static const char *const inputs[] = {
        "",
        "\n",
        "{\"seq\":1,\"prev\":\"",
        "{\"seq\":0,\"prev\":\"x\"}\n",
        "{\"seq\":99999999999999999999999,\"prev\":\"00\"}\n",
        "{\"seq\":1,\"prev\":\"" ZT_AUDIT_GENESIS "\",\"hash\":\"" ZT_AUDIT_GENESIS "\"}\n",
        "{\"seq\":1,\"prev\":\"" ZT_AUDIT_GENESIS
        "\",\"type\":\"checkpoint\",\"hash\":\"" ZT_AUDIT_GENESIS "\"}\n",
    };
    assert_int_equal(zt_audit_verify_buf("", 0, pk, 0, &r), 0);
    for (size_t i = 1; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        assert_int_equal(zt_audit_verify_buf(inputs[i], strlen(inputs[i]), pk, 0, &r), -EBADMSG);
        assert_int_not_equal(r.problem, ZT_AUDIT_OK);
    }
}

/* ---- failure ---- */

static void test_fail_dev_full(void **state)
{
    fx *f = *state;
    f->cfg.path = "/dev/full";
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    assert_false(zt_audit_wait(a, 1, false, 5000)); /* the "started" record cannot be written */
    assert_true(zt_audit_failed(a));
    assert_non_null(strstr(zt_audit_failure(a), "No space left on device"));
    zt_buf b;
    zt_buf_init(&b, 0);
    build_event(&b, "dave", 1);
    assert_int_equal(zt_audit_submit(a, b.data, b.len), 0);
    zt_buf_dispose(&b);
    zt_audit_metrics m;
    zt_audit_metrics_get(a, &m);
    assert_true(m.failed);
    assert_true(m.drops >= 1);
    assert_int_equal(zt_audit_close(a), -EIO);
}

static void test_fail_short_write(void **state)
{
    fx *f = *state;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uint64_t s = submit_n(a, "erin", 5);
    assert_true(zt_audit_wait(a, s, true, 5000));
    /* The next batch is cut after 100 bytes, then the disk is "full". */
    zt_audit_test_fail_after(a, 100);
    uint64_t s2 = submit_n(a, "erin", 1);
    assert_false(zt_audit_wait(a, s2, false, 5000));
    assert_true(zt_audit_failed(a));
    assert_non_null(strstr(zt_audit_failure(a), "write"));
    assert_true(zt_audit_durable_seq(a) < s2);
    zt_buf b;
    zt_buf_init(&b, 0);
    build_event(&b, "erin", 9);
    assert_int_equal(zt_audit_submit(a, b.data, b.len), 0);
    zt_buf_dispose(&b);
    assert_int_equal(zt_audit_close(a), -EIO);

    /* No half record was left behind, and the next start continues the chain. */
    size_t len;
    char *data = slurp(f->path, &len);
    assert_int_equal(data[len - 1], '\n');
    free(data);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    assert_int_equal(r.last_seq, s);
    make_log(f, 3);
    assert_int_equal(verify1(f, &r), 0);
    assert_true(r.last_seq > s);
}

/* A write failure loses the records not yet written (their tickets say LOST, the chain is cut
 * back), the log refuses events meanwhile, and once the file takes writes again the writer
 * resumes by itself: a "resumed" record, a checkpoint, and the chain verifies gap-free. */
static void test_resume_after_write_failure(void **state)
{
    fx *f = *state;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uint64_t s = submit_n(a, "gina", 3);
    assert_true(zt_audit_wait(a, s, true, 5000));
    assert_int_equal(zt_audit_ticket_state(a, s), ZT_AUDIT_WRITTEN);
    zt_audit_test_fail_after(a, 100);
    uint64_t lost = submit_n(a, "gina", 1);
    assert_false(zt_audit_wait(a, lost, false, 5000));
    assert_int_equal(zt_audit_ticket_state(a, lost), ZT_AUDIT_LOST);
    assert_int_equal(zt_audit_ticket_state(a, s), ZT_AUDIT_WRITTEN);
    assert_true(zt_audit_failed(a));
    zt_buf b;
    zt_buf_init(&b, 0);
    build_event(&b, "gina", 7);
    assert_int_equal(zt_audit_submit(a, b.data, b.len), 0); /* fail closed meanwhile */
    /* Space is back: within a few retries the log is healthy again. */
    zt_audit_test_fail_after(a, UINT64_MAX);
    for (int i = 0; i < 100 && zt_audit_failed(a); i++)
        usleep(50 * 1000);
    assert_false(zt_audit_failed(a));
    uint64_t again = zt_audit_submit(a, b.data, b.len);
    zt_buf_dispose(&b);
    assert_true(again > 0);
    assert_true(zt_audit_wait(a, again, true, 5000));
    assert_int_equal(zt_audit_ticket_state(a, again), ZT_AUDIT_WRITTEN);
    /* The lost record's seq went to a newer record; its ticket still reads LOST. */
    assert_int_equal(zt_audit_ticket_state(a, lost), ZT_AUDIT_LOST);
    assert_int_equal(zt_audit_close(a), 0);
    size_t len;
    char *data = slurp(f->path, &len);
    assert_non_null(strstr(data, "audit log resumed after a failure"));
    free(data);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
}

static void test_submit_rejects(void **state)
{
    fx *f = *state;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    static const char *const bad[] = {"",
                                      "{",
                                      "[]",
                                      "{\"a\":1}\n",
                                      "{\"a\":\"\r\"}",
                                      "{\"type\":\"checkpoint\"}",
                                      "{ \"seq\":1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(zt_audit_submit(a, bad[i], strlen(bad[i])), 0);
    char *big = malloc(ZT_AUDIT_MAX_EVENT + 10);
    memset(big, ' ', ZT_AUDIT_MAX_EVENT + 10);
    big[0] = '{';
    big[ZT_AUDIT_MAX_EVENT + 9] = '}';
    assert_int_equal(zt_audit_submit(a, big, ZT_AUDIT_MAX_EVENT + 10), 0);
    free(big);
    assert_true(zt_audit_submit(a, "{}", 2) > 0);
    /* A second writer on the same log is refused. */
    zt_audit *b = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_null(b);
    assert_non_null(strstr(err, "in use"));
    assert_int_equal(zt_audit_close(a), 0);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);

    /* A key readable by others is refused. */
    chmod(f->key, 0644);
    assert_null(zt_audit_open(&f->cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "0600"));
}

static void test_tail_search(void **state)
{
    fx *f = *state;
    make_log(f, 12);
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    assert_int_equal(zt_audit_tail(f->path, 2, mf), 0);
    fclose(mf);
    assert_non_null(strstr(out, "checkpoint"));
    size_t nl = 0;
    for (size_t i = 0; i < outlen; i++)
        nl += out[i] == '\n';
    assert_int_equal(nl, 2);
    free(out);

    mf = open_memstream(&out, &outlen);
    const char *files[] = {f->path};
    assert_int_equal(zt_audit_search(files, 1, "user.uid", "alice:7", mf), 1);
    assert_int_equal(zt_audit_search(files, 1, "class_uid", "3002", mf), 12);
    fclose(mf);
    free(out);
}

/* An event loop is woken through its uv_async_t when its record is written. */
typedef struct held {
    zt_audit *a;
    uint64_t seq;
    bool released;
} held;

static void on_async(uv_async_t *h)
{
    held *r = h->data;
    if (zt_audit_durable_seq(r->a) >= r->seq) {
        r->released = true;
        uv_stop(h->loop);
    }
}

static void test_watch_uv(void **state)
{
    fx *f = *state;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_async_t async;
    held r = {a, 0, false};
    uv_async_init(&loop, &async, on_async);
    async.data = &r;
    assert_int_equal(zt_audit_watch_async(a, &async), 0);
    r.seq = submit_n(a, "frank", 1);
    uv_run(&loop, UV_RUN_DEFAULT); /* until on_async sees the record written */
    assert_true(r.released);
    assert_int_equal(zt_audit_unwatch_async(a, &async), 0);
    assert_int_equal(zt_audit_unwatch_async(a, &async), -ENOENT);
    uv_close((uv_handle_t *)&async, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(zt_audit_close(a), 0);
}

static atomic_int notified_self, notified_other;

static void on_written_self(void *arg)
{
    atomic_fetch_add(&notified_self, 1);
}

static void on_written_other(void *arg)
{
    atomic_fetch_add(&notified_other, 1);
}

/* An event loop queues its records without waking the writer thread and writes them itself:
 * on return they are written, the other watchers were told, the caller was not. */
static void test_write_now(void **state)
{
    fx *f = *state;
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    assert_true(zt_audit_wait(a, submit_n(a, "before", 1), true, 10000));
    int self = 1, other = 2;
    assert_int_equal(zt_audit_watch(a, on_written_self, &self), 0);
    assert_int_equal(zt_audit_watch(a, on_written_other, &other), 0);
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    uint64_t last = 0;
    for (unsigned i = 0; i < 50; i++) {
        build_event(&b, "batched", i);
        last = zt_audit_submit_batched(a, b.data, b.len);
        assert_true(last > 0);
    }
    zt_buf_dispose(&b);
    int before_self = atomic_load(&notified_self);
    if (zt_audit_write_now(a, &self)) {
        assert_int_equal(zt_audit_ticket_state(a, last), ZT_AUDIT_WRITTEN);
        assert_true(atomic_load(&notified_other) > 0);
        assert_int_equal(atomic_load(&notified_self), before_self);
    }
    /* Taken by someone else (the writer thread, syncing): it writes them. */
    assert_true(zt_audit_wait(a, last, false, 10000));
    assert_int_equal(zt_audit_close(a), 0);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    lines l = read_lines(f->path);
    for (unsigned i = 0; i < 50; i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"uid\":\"batched:%u\"", i);
        bool found = false;
        for (size_t k = 0; k < l.n && !found; k++)
            found = strstr(l.v[k], want) != NULL;
        assert_true(found);
    }
    free_lines(&l);
}

/* An event loop's pattern from two threads at once, beside the writer thread's own fsyncs:
 * queue a few records, write them now, check they are written; the chain stays whole. */
static void *loop_like(void *arg)
{
    worker *w = arg;
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    for (unsigned i = 0; i < w->n; i++) {
        build_event(&b, w->user, i);
        w->seqs[i] = zt_audit_submit_batched(w->a, b.data, b.len);
        if (i % 3 == 2 && zt_audit_write_now(w->a, w))
            for (unsigned k = i - 2; k <= i; k++)
                if (zt_audit_ticket_state(w->a, w->seqs[k]) != ZT_AUDIT_WRITTEN)
                    w->seqs[k] = 0; /* flagged: written_now returned with it pending */
    }
    zt_audit_write_now(w->a, w);
    zt_buf_dispose(&b);
    return NULL;
}

static void test_write_now_two_loops(void **state)
{
    fx *f = *state;
    enum { N = 900 };
    char err[256];
    zt_audit *a = zt_audit_open(&f->cfg, err, sizeof(err));
    assert_non_null(a);
    uint64_t s1[N], s2[N];
    worker w1 = {a, "l1", N, s1}, w2 = {a, "l2", N, s2};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, loop_like, &w1);
    pthread_create(&t2, NULL, loop_like, &w2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    for (unsigned i = 0; i < N; i++) {
        assert_true(s1[i] > 0 && s2[i] > 0);
        assert_true(zt_audit_wait(a, s1[i], false, 10000));
        assert_true(zt_audit_wait(a, s2[i], false, 10000));
    }
    assert_int_equal(zt_audit_close(a), 0);
    zt_audit_report r;
    assert_int_equal(verify1(f, &r), 0);
    lines l = read_lines(f->path);
    for (unsigned i = 0; i < N; i += 89) {
        expect_uid(&l, s1[i], "l1", i);
        expect_uid(&l, s2[i], "l2", i);
    }
    free_lines(&l);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_fields),
        cmocka_unit_test(test_event_escaping),
        cmocka_unit_test(test_event_misuse),
        cmocka_unit_test(test_session_ref),
        cmocka_unit_test(test_verify_garbage),
        T(test_two_threads),
        T(test_write_now),
        T(test_write_now_two_loops),
        T(test_restart_continues),
        T(test_torn_tail),
        T(test_rotation),
        T(test_file_from_other_log),
        T(test_checkpoints),
        T(test_tamper_flip),
        T(test_tamper_delete),
        T(test_tamper_reorder),
        T(test_tamper_truncate),
        T(test_tamper_insert),
        T(test_tamper_foreign_checkpoint),
        T(test_tamper_rechain),
        T(test_fail_dev_full),
        T(test_fail_short_write),
        T(test_resume_after_write_failure),
        T(test_submit_rejects),
        T(test_tail_search),
        T(test_watch_uv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
