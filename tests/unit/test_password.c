/* Passwords: parameter floor, policy table (code points, NFKC, UTF-8, breached corpus, spaces),
 * argon2id hash/verify/needs-rehash, and the bounded async pool driven by a real uv loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "identity/breach.h"
#include "identity/password.h"
#include "lib/buf.h"
#include "lib/secure.h"

/* OWASP's minimum row: cheap enough for tests, accepted by the floor. */
#define FAST ((zt_password_params){2, 19u << 20})

static zt_buf corpus_text;
static zt_breach *corpus;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A small Pwned Passwords corpus in memory. */
static int setup(void **state)
{
    if (!zt_secure_init())
        return -1;
    static const char *const breached[] = {"password12345", "correct horse battery staple",
                                           "aaaaaaaaaaaa", "パスワード12345678"};
    enum { N = sizeof(breached) / sizeof(breached[0]) };
    char *lines[N];
    for (size_t i = 0; i < N; i++) {
        unsigned char md[20];
        zt_breach_sha1(breached[i], strlen(breached[i]), md);
        lines[i] = malloc(64);
        if (lines[i] == NULL)
            return -1;
        for (int j = 0; j < 20; j++)
            snprintf(lines[i] + 2 * j, 3, "%02X", md[j]);
        snprintf(lines[i] + 40, 24, ":%zu", 100 * (i + 1));
    }
    qsort(lines, N, sizeof(lines[0]), cmp_str);
    zt_buf_init(&corpus_text, 0);
    for (size_t i = 0; i < N; i++) {
        if (zt_buf_printf(&corpus_text, "%s\r\n", lines[i]) != 0)
            return -1;
        free(lines[i]);
    }
    char err[256];
    corpus = zt_breach_open_mem(corpus_text.data, corpus_text.len, "test", 0, err, sizeof(err));
    return corpus != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    zt_breach_close(corpus);
    zt_buf_dispose(&corpus_text);
    return 0;
}

static void test_params(void **state)
{
    const char *why = NULL;
    zt_password_params p = ZT_PASSWORD_PARAMS_DEFAULT;
    assert_true(zt_password_params_ok(&p, &why));
    assert_null(why);
    static const struct {
        unsigned long long t;
        size_t m_mib;
        bool ok;
    } rows[] = {
        {2, 19, true},  {1, 46, true},  {3, 12, true},    {4, 9, true},
        {5, 7, true},   {1, 19, false}, {1, 34, false},   {2, 17, false},
        {10, 6, false}, {0, 64, false}, {3, 2048, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        p = (zt_password_params){rows[i].t, rows[i].m_mib << 20};
        assert_int_equal(zt_password_params_ok(&p, &why), rows[i].ok);
        if (!rows[i].ok)
            assert_non_null(why);
    }
}

static void test_policy_table(void **state)
{
    static char long129[130], long128[129];
    memset(long128, 'x', 128);
    memset(long129, 'y', 129);
    static const struct {
        const char *pw;
        int len; /* -1 = strlen */
        int verdict;
    } rows[] = {
        {"correct horse", -1, ZT_PASSWORD_OK},
        {"short", -1, ZT_PASSWORD_TOO_SHORT},
        {"elevenchars", -1, ZT_PASSWORD_TOO_SHORT},
        {"twelve chars", -1, ZT_PASSWORD_OK},
        /* 11 code points, 33 bytes: short; 12 code points: fine */
        {"日本語のパスワードです", -1, ZT_PASSWORD_TOO_SHORT},
        {"日本語のパスワードですよ", -1, ZT_PASSWORD_OK},
        {long128, 128, ZT_PASSWORD_OK},
        {long129, 129, ZT_PASSWORD_TOO_LONG},
        /* no composition rules: only the corpus refuses repetitive passwords */
        {"bbbbbbbbbbbb", -1, ZT_PASSWORD_OK},
        {"aaaaaaaaaaaa", -1, ZT_PASSWORD_BREACHED},
        {"password12345", -1, ZT_PASSWORD_BREACHED},
        /* NFKC: full-width letters and digits are the breached ASCII password */
        {"ｐａｓｓｗｏｒｄ１２３４５", -1, ZT_PASSWORD_BREACHED},
        /* full-width digits and half-width katakana: breached once normalised */
        {"パスワード１２３４５６７８", -1, ZT_PASSWORD_BREACHED},
        {"ﾊﾟｽﾜｰﾄﾞ12345678", -1, ZT_PASSWORD_BREACHED},
        /* spaces allowed; runs of spaces count once for the minimum (ASVS 2.1.1) */
        {"correct horse battery staple", -1, ZT_PASSWORD_BREACHED},
        {"correct horse battery stapler", -1, ZT_PASSWORD_OK},
        {"abc      def", -1, ZT_PASSWORD_TOO_SHORT},
        {"abc  def  ghij", -1, ZT_PASSWORD_OK},
        {"            ", -1, ZT_PASSWORD_TOO_SHORT},
        {"ab\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80"
         "cd",
         -1, ZT_PASSWORD_TOO_SHORT}, /* ideographic spaces become one run of spaces */
        /* combining sequences count as one code point once composed */
        {"cafe\xcc\x81 cafe\xcc\x81 ca", -1, ZT_PASSWORD_OK},
        {"cafe\xcc\x81"
         "cafe\xcc\x81"
         "c",
         -1, ZT_PASSWORD_TOO_SHORT},
        /* invalid UTF-8: stray byte, overlong, surrogate, truncated */
        {"valid prefix \xff\xfe", -1, ZT_PASSWORD_INVALID_UTF8},
        {"overlong \xc0\xaf slash!", -1, ZT_PASSWORD_INVALID_UTF8},
        {"surrogate \xed\xa0\x80 here", -1, ZT_PASSWORD_INVALID_UTF8},
        {"truncated at the end \xe6\x97", -1, ZT_PASSWORD_INVALID_UTF8},
        {"nul inside\0 the password", 24, ZT_PASSWORD_CONTROL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *why = NULL;
        size_t len = rows[i].len < 0 ? strlen(rows[i].pw) : (size_t)rows[i].len;
        int v = zt_password_check(rows[i].pw, len, NULL, corpus, &why);
        if (v != rows[i].verdict)
            print_error("row %zu: got %d (%s), want %d\n", i, v, why, rows[i].verdict);
        assert_int_equal(v, rows[i].verdict);
        assert_non_null(why);
    }
    /* 1 MB: refused unread, no crash. */
    char *mb = malloc(1 << 20);
    assert_non_null(mb);
    memset(mb, 'z', 1 << 20);
    const char *why = NULL;
    assert_int_equal(zt_password_check(mb, 1 << 20, NULL, corpus, &why), ZT_PASSWORD_TOO_LONG);
    free(mb);
    /* No corpus: nothing is breached. Custom policy. */
    assert_int_equal(zt_password_check("password12345", 13, NULL, NULL, &why), ZT_PASSWORD_OK);
    zt_password_policy pol = {.min_chars = 4, .max_chars = 6};
    assert_int_equal(zt_password_check("abcd", 4, &pol, NULL, &why), ZT_PASSWORD_OK);
    assert_int_equal(zt_password_check("abcdefg", 7, &pol, NULL, &why), ZT_PASSWORD_TOO_LONG);
    assert_string_equal(why, "the password is too long");
}

static void test_hash_verify(void **state)
{
    zt_password_params fast = FAST;
    char h1[ZT_PASSWORD_ENCODED_MAX], h2[ZT_PASSWORD_ENCODED_MAX];
    const char *pw = "ｐａｓｓ phrase 2024";
    assert_int_equal(zt_password_hash(pw, strlen(pw), &fast, h1), 0);
    assert_true(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    /* NFKC: the ASCII form verifies, and vice versa. */
    assert_true(zt_password_verify(h1, "pass phrase 2024", 16));
    assert_true(zt_password_verify(h1, pw, strlen(pw)));
    assert_false(zt_password_verify(h1, "pass phrase 2025", 16));
    assert_false(zt_password_verify(h1, "pass phrase 202", 15));
    assert_false(zt_password_verify(h1, "", 0));
    assert_false(zt_password_verify(h1, "pass phrase 2024\xff", 17));
    /* Unique salts. */
    assert_int_equal(zt_password_hash("pass phrase 2024", 16, &fast, h2), 0);
    assert_string_not_equal(h1, h2);
    assert_true(zt_password_verify(h2, pw, strlen(pw)));
    /* No truncation (ASVS 2.1.3): 100 characters differing at the 90th. */
    char a[101], b[101];
    memset(a, 'q', 100);
    memcpy(b, a, 100);
    b[89] = 'r';
    a[100] = b[100] = '\0';
    assert_int_equal(zt_password_hash(a, 100, &fast, h2), 0);
    assert_true(zt_password_verify(h2, a, 100));
    assert_false(zt_password_verify(h2, b, 100));
    /* Rehash when parameters differ; garbage always needs it. */
    assert_false(zt_password_needs_rehash(h1, &fast));
    assert_true(zt_password_needs_rehash(h1, NULL));
    zt_password_params more = {3, 19u << 20};
    assert_true(zt_password_needs_rehash(h1, &more));
    assert_true(zt_password_needs_rehash("", NULL));
    assert_true(zt_password_needs_rehash("$2y$10$abcdefghijklmnopqrstuu", NULL));
    /* Refused inputs. */
    zt_password_params weak = {1, 8u << 20};
    assert_int_equal(zt_password_hash("whatever12345", 13, &weak, h2), -EINVAL);
    assert_int_equal(zt_password_hash("bad \xff utf8", 10, &fast, h2), -EINVAL);
    assert_false(zt_password_verify(NULL, "x", 1));
    assert_false(zt_password_verify("", "x", 1));
    /* Strings from elsewhere: argon2i, and one asking for 4 GiB, are refused without hashing. */
    assert_false(zt_password_verify("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x", 1));
    assert_false(zt_password_verify(
        "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "x", 1));
    /* A truncated stored string fails closed. */
    h1[40] = '\0';
    assert_false(zt_password_verify(h1, pw, strlen(pw)));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Not a timed assertion: reports what one default hash costs on this machine. */
static void test_default_cost(void **state)
{
    char h[ZT_PASSWORD_ENCODED_MAX];
    double t0 = now_ms();
    assert_int_equal(zt_password_hash("measure me please", 17, NULL, h), 0);
    double t1 = now_ms();
    assert_true(zt_password_verify(h, "measure me please", 17));
    double t2 = now_ms();
    assert_true(strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31) == 0);
    print_message("      argon2id t=3 m=64MiB: hash %.1f ms, verify %.1f ms\n", t1 - t0, t2 - t1);
}

/* ---- async pool ---- */

typedef struct tally {
    int calls;
    int results[16];
    char encoded[ZT_PASSWORD_ENCODED_MAX];
} tally;

static void on_verify(void *ctx, int result)
{
    tally *t = ctx;
    t->results[t->calls++] = result;
}

static void on_hash(void *ctx, int result, const char *encoded)
{
    tally *t = ctx;
    t->results[t->calls++] = result;
    if (result == 0)
        snprintf(t->encoded, sizeof(t->encoded), "%s", encoded);
}

static void test_pool(void **state)
{
    const char *why = NULL;
    zt_password_pool_cfg cfg = {.params = FAST, .max_in_flight = 3};
    zt_password_pool *pool = zt_password_pool_new(&cfg, &why);
    assert_non_null(pool);
    zt_password_pool_cfg weak = {.params = {1, 8u << 20}};
    assert_null(zt_password_pool_new(&weak, &why));
    assert_non_null(why);

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char h[ZT_PASSWORD_ENCODED_MAX];
    zt_password_params fast = FAST;
    assert_int_equal(zt_password_hash("open sesame 42", 14, &fast, h), 0);

    tally t = {0};
    char pw[] = "open sesame 42";
    assert_int_equal(zt_password_verify_async(pool, &loop, h, pw, 14, on_verify, &t), 0);
    /* The caller's buffer may change at once: the job has its own copy. */
    memset(pw, 'X', 14);
    assert_int_equal(zt_password_verify_async(pool, &loop, h, "open sesame 43", 14, on_verify, &t),
                     0);
    assert_int_equal(
        zt_password_verify_async(pool, &loop, NULL, "unknown user pw", 15, on_verify, &t), 0);
    assert_int_equal(zt_password_pool_in_flight(pool), 3);
    /* Full: refused immediately, no callback. */
    assert_int_equal(zt_password_verify_async(pool, &loop, h, "open sesame 42", 14, on_verify, &t),
                     -EBUSY);
    tally th = {0};
    assert_int_equal(zt_password_hash_async(pool, &loop, "new password 99", 15, on_hash, &th),
                     -EBUSY);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.calls, 3);
    /* The thread pool may finish jobs in any order: count the outcomes. */
    int match = 0, mismatch = 0;
    for (int i = 0; i < 3; i++) {
        match += t.results[i] == ZT_PASSWORD_MATCH;
        mismatch += t.results[i] == ZT_PASSWORD_MISMATCH;
    }
    assert_int_equal(match, 1);
    assert_int_equal(mismatch, 2);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);

    /* Room again: hash, then verify what it produced. */
    assert_int_equal(zt_password_hash_async(pool, &loop, "new password 99", 15, on_hash, &th), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(th.calls, 1);
    assert_int_equal(th.results[0], 0);
    assert_true(zt_password_verify(th.encoded, "new password 99", 15));
    assert_false(zt_password_needs_rehash(th.encoded, &fast));
    /* A hash of invalid UTF-8 fails in the worker and says so. */
    assert_int_equal(zt_password_hash_async(pool, &loop, "bad \xff", 5, on_hash, &th), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(th.calls, 2);
    assert_int_equal(th.results[1], -EINVAL);

    /* Too long: refused before queueing. */
    static char big[ZT_PASSWORD_MAX_BYTES + 1];
    memset(big, 'b', sizeof(big));
    assert_int_equal(zt_password_verify_async(pool, &loop, h, big, sizeof(big), on_verify, &t),
                     -E2BIG);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);

    /* Unknown users: the synchronous dummy costs a verify and never matches. */
    zt_password_dummy_verify(pool, "anything at all", 15);

    assert_int_equal(uv_loop_close(&loop), 0);
    zt_password_pool_free(pool);
    zt_password_pool_free(NULL);
}

/* Many submissions over several loop turns: every accepted job calls back exactly once. */
static void test_pool_storm(void **state)
{
    zt_password_pool_cfg cfg = {.params = FAST, .max_in_flight = 4};
    zt_password_pool *pool = zt_password_pool_new(&cfg, NULL);
    assert_non_null(pool);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tally t = {0};
    int accepted = 0, busy = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5; i++) {
            int rc =
                zt_password_verify_async(pool, &loop, NULL, "storm password", 14, on_verify, &t);
            assert_true(rc == 0 || rc == -EBUSY);
            accepted += rc == 0;
            busy += rc == -EBUSY;
        }
        assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    }
    assert_int_equal(accepted, 12);
    assert_int_equal(busy, 3);
    assert_int_equal(t.calls, 12);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    zt_password_pool_free(pool);
}

/* Limits the pool refuses at start: too many threads, hashing memory (threads x memlimit) above
 * 1 GiB, a priority outside nice 0..19. */
static void test_pool_limits(void **state)
{
    const char *why = NULL;
    zt_password_pool_cfg many = {.params = FAST, .threads = ZT_PASSWORD_THREADS_MAX + 1};
    assert_null(zt_password_pool_new(&many, &why));
    assert_non_null(why);
    zt_password_pool_cfg heavy = {.params = {2, 512u << 20}, .threads = 3};
    assert_null(zt_password_pool_new(&heavy, &why));
    zt_password_pool_cfg rude = {.params = FAST, .nice = 20};
    assert_null(zt_password_pool_new(&rude, &why));
    zt_password_pool_cfg negative = {.params = FAST, .nice = -1};
    assert_null(zt_password_pool_new(&negative, &why));
    zt_password_pool_cfg greedy = {.params = FAST, .duty = 101};
    assert_null(zt_password_pool_new(&greedy, &why));
}

/* The lowest duty cycle: every job still completes with the right answer, and freeing the pool
 * while a thread rests between hashes ends the rest (free returns; the rest is not slept out). */
static void test_pool_duty(void **state)
{
    zt_password_pool_cfg cfg = {.params = FAST, .max_in_flight = 8, .duty = 10};
    zt_password_pool *pool = zt_password_pool_new(&cfg, NULL);
    assert_non_null(pool);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tally t = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            zt_password_verify_async(pool, &loop, NULL, "duty password", 13, on_verify, &t), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.calls, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t.results[i], ZT_PASSWORD_MISMATCH); /* unknown user: always no */
    assert_int_equal(zt_password_pool_in_flight(pool), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    zt_password_pool_free(pool);
}

/* The nice value and scheduling policy (fields 19 and 41 of /proc/self/task/TID/stat) of every
 * thread of this process, counted when they match. */
static int threads_with(long nice, long policy)
{
    int found = 0;
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], line[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(line, 1, sizeof(line) - 1, f);
        fclose(f);
        line[n] = '\0';
        char *p = strrchr(line, ')'); /* the command name may hold spaces */
        assert_non_null(p);
        long field[64] = {0};
        char *tok = p + 2; /* field 3, the state (a letter: reads as 0) */
        for (int i = 3; i < 64 && tok != NULL; i++) {
            field[i] = strtol(tok, NULL, 10);
            tok = strchr(tok, ' ');
            if (tok != NULL)
                tok++;
        }
        found += field[19] == nice && field[41] == policy;
    }
    closedir(d);
    return found;
}

/* The pool's own threads run below the loops (SCHED_BATCH at the configured nice) and nothing
 * else of the process is changed. */
static void test_pool_priority(void **state)
{
    int before = threads_with(7, SCHED_BATCH);
    zt_password_pool_cfg cfg = {.params = FAST, .threads = 3, .nice = 7};
    zt_password_pool *pool = zt_password_pool_new(&cfg, NULL);
    assert_non_null(pool);
    /* The pool is back only once its threads run at their priority. */
    assert_int_equal(threads_with(7, SCHED_BATCH) - before, 3);
    assert_int_equal(getpriority(PRIO_PROCESS, 0), 0); /* this (the loop's) thread: unchanged */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tally t = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(zt_password_verify_async(pool, &loop, NULL, "x", 1, on_verify, &t), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.calls, 3);
    assert_int_equal(uv_loop_close(&loop), 0);
    zt_password_pool_free(pool);
    assert_int_equal(threads_with(7, SCHED_BATCH), before); /* joined */
}

/* Shutdown: queued jobs are cancelled (done still runs, on the loop, with -ECANCELED), the one
 * running finishes, later submissions are refused, and free joins the threads. One thread and
 * sixteen jobs: the thread cannot have run them all before shutdown. */
static void test_pool_shutdown(void **state)
{
    zt_password_pool_cfg cfg = {.params = FAST, .max_in_flight = 16, .threads = 1};
    zt_password_pool *pool = zt_password_pool_new(&cfg, NULL);
    assert_non_null(pool);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tally t = {0};
    for (int i = 0; i < 16; i++)
        assert_int_equal(zt_password_verify_async(pool, &loop, NULL, "queued", 6, on_verify, &t),
                         0);
    assert_int_equal(zt_password_verify_async(pool, &loop, NULL, "full", 4, on_verify, &t), -EBUSY);
    zt_password_pool_shutdown(pool);
    zt_password_pool_shutdown(pool); /* idempotent */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.calls, 16);
    int cancelled = 0, ran = 0;
    for (int i = 0; i < 16; i++) {
        cancelled += t.results[i] == -ECANCELED;
        ran += t.results[i] == ZT_PASSWORD_MISMATCH;
    }
    assert_int_equal(cancelled + ran, 16);
    assert_true(cancelled >= 1);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);
    /* Room again, but the pool is shut: refused, no callback, the slot given back. */
    assert_int_equal(zt_password_verify_async(pool, &loop, NULL, "late", 4, on_verify, &t),
                     -ECANCELED);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.calls, 16);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    zt_password_pool_free(pool);
}

typedef struct loop_thread {
    zt_password_pool *pool;
    tally t;
    int accepted;
} loop_thread;

static void loop_thread_main(void *arg)
{
    loop_thread *lt = arg;
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return;
    for (int i = 0; i < 8; i++)
        lt->accepted +=
            zt_password_verify_async(lt->pool, &loop, NULL, "pw", 2, on_verify, &lt->t) == 0;
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* One pool shared by loops on two threads, two hashing threads: every job answers on the loop
 * that queued it, and the bound is process-wide (16 slots for 2 x 8 jobs). */
static void test_pool_two_loops(void **state)
{
    zt_password_pool_cfg cfg = {.params = FAST, .max_in_flight = 16, .threads = 2};
    zt_password_pool *pool = zt_password_pool_new(&cfg, NULL);
    assert_non_null(pool);
    loop_thread a = {.pool = pool}, b = {.pool = pool};
    uv_thread_t ta, tb;
    assert_int_equal(uv_thread_create(&ta, loop_thread_main, &a), 0);
    assert_int_equal(uv_thread_create(&tb, loop_thread_main, &b), 0);
    assert_int_equal(uv_thread_join(&ta), 0);
    assert_int_equal(uv_thread_join(&tb), 0);
    assert_int_equal(a.accepted + b.accepted, 16);
    assert_int_equal(a.t.calls, a.accepted);
    assert_int_equal(b.t.calls, b.accepted);
    for (int i = 0; i < a.t.calls; i++)
        assert_int_equal(a.t.results[i], ZT_PASSWORD_MISMATCH);
    assert_int_equal(zt_password_pool_in_flight(pool), 0);
    zt_password_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),         cmocka_unit_test(test_policy_table),
        cmocka_unit_test(test_hash_verify),    cmocka_unit_test(test_default_cost),
        cmocka_unit_test(test_pool),           cmocka_unit_test(test_pool_storm),
        cmocka_unit_test(test_pool_limits),    cmocka_unit_test(test_pool_duty),
        cmocka_unit_test(test_pool_priority),  cmocka_unit_test(test_pool_shutdown),
        cmocka_unit_test(test_pool_two_loops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
