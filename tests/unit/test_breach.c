/* Breached-password corpus: lookups over small generated corpora in temp files, line endings,
 * edges, and validation of malformed and unsorted files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/breach.h"
#include "lib/buf.h"

static char tmpdir[64];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/zt-breach-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* SHA-1 through OpenSSL's EVP directly, independent of zt_breach_sha1. */
static void sha1_hex(const char *s, char out[41])
{
    unsigned char md[20];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL), 1);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}

static void sha1_raw(const char *s, unsigned char md[20])
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL), 1);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "HASH:COUNT" lines for words (count = index + 1) joined with eol. */
static void build_corpus(zt_buf *out, const char *const *words, size_t n, const char *eol,
                         bool final_eol)
{
    char **lines = calloc(n, sizeof(*lines));
    assert_non_null(lines);
    for (size_t i = 0; i < n; i++) {
        char hex[41];
        sha1_hex(words[i], hex);
        lines[i] = malloc(64);
        assert_non_null(lines[i]);
        snprintf(lines[i], 64, "%s:%zu", hex, i + 1);
    }
    qsort(lines, n, sizeof(*lines), cmp_line);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(zt_buf_append_str(out, lines[i]), 0);
        if (i + 1 < n || final_eol)
            assert_int_equal(zt_buf_append_str(out, eol), 0);
        free(lines[i]);
    }
    free(lines);
}

static const char *write_file(const char *name, const void *data, size_t n)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static const char *const words[] = {
    "password", "123456",   "qwerty",        "letmein",      "dragon",
    "monkey",   "football", "iloveyou",      "admin",        "welcome",
    "sunshine", "princess", "password12345", "Password123!", "trustno1",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void check_all_words(const zt_breach *b)
{
    for (size_t i = 0; i < NWORDS; i++) {
        unsigned char md[20];
        sha1_raw(words[i], md);
        assert_true(zt_breach_contains(b, md));
        assert_int_equal(zt_breach_count(b, md), i + 1);
        assert_true(zt_breach_contains_password(b, words[i], strlen(words[i])));
    }
    static const char *const absent[] = {"correct horse battery staple", "", "passwor", "password ",
                                         "Password"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_false(zt_breach_contains_password(b, absent[i], strlen(absent[i])));
        unsigned char md[20];
        sha1_raw(absent[i], md);
        assert_int_equal(zt_breach_count(b, md), 0);
    }
    /* Below the first and above the last line. */
    unsigned char lo[20] = {0}, hi[20];
    memset(hi, 0xff, sizeof(hi));
    assert_false(zt_breach_contains(b, lo));
    assert_false(zt_breach_contains(b, hi));
}

static void lookup_with(const char *eol, bool final_eol)
{
    zt_buf c;
    zt_buf_init(&c, 0);
    build_corpus(&c, words, NWORDS, eol, final_eol);
    const char *path = write_file("corpus.txt", c.data, c.len);
    char err[256];
    zt_breach *b = zt_breach_open(path, 0, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(err, "");
    zt_breach_info info;
    zt_breach_get_info(b, &info);
    assert_true(info.valid);
    assert_true(info.fully_checked);
    assert_int_equal(info.lines, NWORDS);
    assert_int_equal(info.bytes, c.len);
    check_all_words(b);
    zt_breach_close(b);

    /* The same corpus validated on the sample only, and from memory. */
    b = zt_breach_open_mem(c.data, c.len, "mem", ZT_BREACH_SAMPLED, err, sizeof(err));
    assert_non_null(b);
    zt_breach_get_info(b, &info);
    assert_false(info.fully_checked);
    assert_true(info.valid);
    check_all_words(b);
    zt_breach_close(b);
    zt_buf_dispose(&c);
}

static void test_lookup_lf(void **state)
{
    lookup_with("\n", true);
}

static void test_lookup_crlf(void **state)
{
    lookup_with("\r\n", true);
}

static void test_lookup_no_final_newline(void **state)
{
    lookup_with("\n", false);
    lookup_with("\r\n", false);
}

static void test_single_line(void **state)
{
    const char *one[] = {"password"};
    zt_buf c;
    zt_buf_init(&c, 0);
    build_corpus(&c, one, 1, "\n", true);
    char err[256];
    zt_breach *b = zt_breach_open_mem(c.data, c.len, "one", 0, err, sizeof(err));
    assert_non_null(b);
    assert_true(zt_breach_contains_password(b, "password", 8));
    assert_false(zt_breach_contains_password(b, "123456", 6));
    zt_breach_close(b);
    zt_buf_dispose(&c);
}

static void test_empty(void **state)
{
    char err[256];
    const char *path = write_file("empty.txt", "", 0);
    zt_breach *b = zt_breach_open(path, 0, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(err, "");
    assert_false(zt_breach_contains_password(b, "password", 8));
    zt_breach_info info;
    zt_breach_get_info(b, &info);
    assert_int_equal(info.lines, 0);
    zt_breach_close(b);
    /* NULL corpus: nothing is breached. */
    assert_false(zt_breach_contains_password(NULL, "password", 8));
    zt_breach_close(NULL);
}

static void test_open_errors(void **state)
{
    char err[256], want[256];
    char path[128];
    snprintf(path, sizeof(path), "%s/missing.txt", tmpdir);
    assert_null(zt_breach_open(path, 0, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_null(zt_breach_open(tmpdir, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
}

/* A valid corpus with line 3 (1-based) replaced by bad; the error must name that line. */
static void expect_bad_line(const char *bad, const char *reason)
{
    zt_buf c, d;
    zt_buf_init(&c, 0);
    zt_buf_init(&d, 0);
    build_corpus(&c, words, 5, "\n", true);
    assert_int_equal(zt_buf_cstr(&c), 0);
    const char *p = c.data;
    for (int line = 1; line <= 5; line++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (line == 3)
            assert_int_equal(zt_buf_append_str(&d, bad), 0);
        else
            assert_int_equal(zt_buf_append(&d, p, (size_t)(nl + 1 - p)), 0);
        p = nl + 1;
    }
    char err[256], want[512];
    const char *path = write_file("bad.txt", d.data, d.len);
    assert_null(zt_breach_open(path, 0, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:3: %s", path, reason);
    assert_string_equal(err, want);

    /* Lenient: opens, says the same, and lookups stay in bounds. */
    zt_breach *b = zt_breach_open(path, ZT_BREACH_LENIENT, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(err, want);
    zt_breach_info info;
    zt_breach_get_info(b, &info);
    assert_false(info.valid);
    for (size_t i = 0; i < NWORDS; i++) {
        bool hit = zt_breach_contains_password(b, words[i], strlen(words[i]));
        (void)hit; /* may miss: only must not crash */
    }
    zt_breach_close(b);
    zt_buf_dispose(&c);
    zt_buf_dispose(&d);
}

static void test_malformed(void **state)
{
    expect_bad_line("\n", "empty line");
    expect_bad_line("\r\n", "empty line");
    expect_bad_line("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8:3\n",
                    "expected 40 uppercase hexadecimal digits");
    expect_bad_line("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8A:3\n", "expected ':' after the hash");
    expect_bad_line("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n", "expected ':' after the hash");
    expect_bad_line("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:\n",
                    "expected a decimal count after ':'");
    expect_bad_line("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:12x\n",
                    "unexpected character after the count");
    expect_bad_line("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:12\r\r\n",
                    "unexpected character after the count");
    expect_bad_line("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:12345678901234567890\n",
                    "count too large");
    expect_bad_line("hello world\n", "expected 40 uppercase hexadecimal digits");
}

static void test_unsorted(void **state)
{
    /* Line 3 all zeros: lower than line 2. */
    expect_bad_line("0000000000000000000000000000000000000000:1\n",
                    "not sorted: hash not greater than the previous line's");

    /* Duplicate line. */
    char l[64], err[256], want[300];
    sha1_hex("password", l);
    zt_buf c;
    zt_buf_init(&c, 0);
    assert_int_equal(zt_buf_printf(&c, "%s:1\n%s:2\n", l, l), 0);
    const char *path = write_file("dup.txt", c.data, c.len);
    assert_null(zt_breach_open(path, 0, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:2: not sorted: hash not greater than the previous line's",
             path);
    assert_string_equal(err, want);
    zt_buf_dispose(&c);
}

static void test_unsorted_sampled(void **state)
{
    /* 2000 lines in descending order: the sample must see it and name a byte offset. */
    zt_buf c;
    zt_buf_init(&c, 0);
    for (int i = 2000; i > 0; i--)
        assert_int_equal(zt_buf_printf(&c, "%040X:%d\n", (unsigned)i, i), 0);
    char err[256];
    assert_null(zt_breach_open_mem(c.data, c.len, "desc", ZT_BREACH_SAMPLED, err, sizeof(err)));
    assert_string_equal(err, "desc: byte 46: not sorted: hash not greater than an earlier line's "
                             "(sampled check)");
    /* A long last line is still parsed, not skipped. */
    zt_buf_reset(&c);
    assert_int_equal(zt_buf_printf(&c, "%040X:1\n", 1u), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(zt_buf_append_char(&c, '9'), 0);
    assert_null(zt_breach_open_mem(c.data, c.len, "long", ZT_BREACH_SAMPLED, err, sizeof(err)));
    assert_string_equal(err, "long: byte 43: expected ':' after the hash (sampled check)");
    zt_buf_dispose(&c);
}

static void test_garbage_lenient(void **state)
{
    /* Lookups over arbitrary bytes stay in bounds (ASan checks the reads). */
    static const char *const blobs[] = {
        "\n\n\n\n",
        "ZZZZ",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:",
        "0000000000000000000000000000000000000000:9\r",
        "\r\n0000000000000000000000000000000000000000:9\r\nA",
    };
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        size_t n = strlen(blobs[i]);
        char *copy = malloc(n); /* exact size, no NUL: overreads are caught */
        assert_non_null(copy);
        memcpy(copy, blobs[i], n);
        char err[256];
        zt_breach *b = zt_breach_open_mem(copy, n, "blob", ZT_BREACH_LENIENT, err, sizeof(err));
        assert_non_null(b);
        unsigned char md[20];
        memset(md, 0xff, sizeof(md));
        assert_int_equal(zt_breach_count(b, md), i == 3 ? 1 : 0);
        memset(md, 0, sizeof(md));
        assert_int_equal(zt_breach_count(b, md), i >= 4 ? 9 : 0);
        zt_breach_close(b);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_lf),
        cmocka_unit_test(test_lookup_crlf),
        cmocka_unit_test(test_lookup_no_final_newline),
        cmocka_unit_test(test_single_line),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unsorted),
        cmocka_unit_test(test_unsorted_sampled),
        cmocka_unit_test(test_garbage_lenient),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
