/* Path normalisation: a table of spellings, then properties over generated paths (idempotence,
 * no dot segments or double slashes ever come out, output never longer than input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/path.h"

typedef struct path_case {
    const char *in;
    const char *out; /* NULL: refused */
    unsigned flags;
} path_case;

#define ENC ZT_PATH_ENCODED_SLASH

static const path_case CASES[] = {
    /* plain and slashes */
    {"/", "/", 0},
    {"/a/b", "/a/b", 0},
    {"/a/b/", "/a/b/", 0},
    {"//a//b//", "/a/b/", 0},
    {"///", "/", 0},
    {"/A/B", "/A/B", 0},
    {"/~user/", "/~user/", 0},
    {"/a/b;c=d/e", "/a/b;c=d/e", 0},
    {"/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,=", 0},
    /* dot segments */
    {"/a/./b", "/a/b", 0},
    {"/a/../b", "/b", 0},
    {"/a/b/..", "/a/", 0},
    {"/a/b/.", "/a/b/", 0},
    {"/a/..", "/", 0},
    {"/./", "/", 0},
    {"/.", "/", 0},
    {"/a//../b", "/b", 0},
    {"/a/b/../../c/", "/c/", 0},
    /* only dots and spaces: Windows servers cut trailing ones, leaving "." or ".." */
    {"/a/.../b", NULL, 0},
    {"/a/..%20/b", NULL, 0},
    {"/a/.%20%20", NULL, 0},
    {"/a/..%2e./b", NULL, 0},
    {"/a/..%20;x/b", NULL, 0},
    {"/a/%20/b", "/a/%20/b", 0},
    {"/a/..b/c.", "/a/..b/c.", 0},
    {"/..", NULL, 0},
    {"/../a", NULL, 0},
    {"//..", NULL, 0},
    {"/a/../..", NULL, 0},
    {"/a/../../b", NULL, 0},
    {"/a/b/../../../", NULL, 0},
    /* encoded dots */
    {"/%2e", "/", 0},
    {"/a/%2e%2e/b", "/b", 0},
    {"/a/%2E%2E/b", "/b", 0},
    {"/a/.%2E/b", "/b", 0},
    {"/a/%2e./b", "/b", 0},
    {"/a/%2E/b", "/a/b", 0},
    {"/%2e%2E/a", NULL, 0},
    {"/%2e%2e", NULL, 0},
    /* unreserved escapes are decoded, others kept with uppercase hex */
    {"/%41%42%7e%2d%5f%2E", "/AB~-_.", 0},
    {"/%7E", "/~", 0},
    {"/%3a%40", "/%3A%40", 0},
    {"/%e3%81%82", "/%E3%81%82", 0},
    {"/%25", "/%25", 0},
    {"/%2525", "/%2525", 0},
    {"/%20", "/%20", 0},
    {"/%3f%23", "/%3F%23", 0},
    /* encoded slashes and backslashes are flagged and kept */
    {"/a%2fb", "/a%2Fb", ENC},
    {"/a%2Fb", "/a%2Fb", ENC},
    {"/a%5cb", "/a%5Cb", ENC},
    {"/a%5Cb", "/a%5Cb", ENC},
    {"/a\\b", "/a\\b", ENC},
    {"/%2F%2F", "/%2F%2F", ENC},
    {"/%2F/x", "/%2F/x", ENC},
    /* dot segments hidden behind encoded slashes or ';' parameters */
    {"/a/..%2Fb", NULL, 0},
    {"/a/..%2fb", NULL, 0},
    {"/a/%2F../b", NULL, 0},
    {"/a/..%5Cb", NULL, 0},
    {"/a/..\\b", NULL, 0},
    {"/a\\..\\b", NULL, 0},
    {"/a/b%2F..%2Fc", NULL, 0},
    {"/a/%2e%2e%2fb", NULL, 0},
    {"/public/..;/admin", NULL, 0},
    {"/a/.;x/b", NULL, 0},
    {"/a/..;", NULL, 0},
    {"/a;x/b", "/a;x/b", 0},
    {"/a/...;/b", NULL, 0},
    /* NUL and control bytes, raw or encoded */
    {"/%00", NULL, 0},
    {"/a%00b", NULL, 0},
    {"/a/%00/../b", NULL, 0},
    {"/%0a", NULL, 0},
    {"/%0D%0A", NULL, 0},
    {"/%7f", NULL, 0},
    {"/%1F", NULL, 0},
    {"/a b", NULL, 0},
    {"/a\tb", NULL, 0},
    {"/a\x7f", NULL, 0},
    {"/a\x01", NULL, 0},
    /* invalid escapes */
    {"/%zz", NULL, 0},
    {"/%4", NULL, 0},
    {"/%", NULL, 0},
    {"/a%2", NULL, 0},
    {"/%g0", NULL, 0},
    {"/%%41", NULL, 0},
    /* delimiters and raw non-ASCII */
    {"/a#b", NULL, 0},
    {"/a?b", NULL, 0},
    {"/\xe3\x81\x82", NULL, 0},
    {"/\xff", NULL, 0},
    /* not an absolute path */
    {"", NULL, 0},
    {"a/b", NULL, 0},
    {"%2Fa", NULL, 0},
    {"%2e/a", NULL, 0},
};

static void test_table(void **state)
{
    (void)state;
    char out[256];
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        const path_case *c = &CASES[i];
        size_t n = 0;
        unsigned flags = 99;
        const char *why = NULL;
        int rc = zt_path_normalize(c->in, strlen(c->in), out, &n, &flags, &why);
        if (c->out == NULL) {
            if (rc != -1)
                fail_msg("case %zu \"%s\": accepted as \"%s\"", i, c->in, out);
            assert_non_null(why);
            assert_int_equal(n, 0);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu \"%s\": refused: %s", i, c->in, why);
        if (strcmp(out, c->out) != 0 || n != strlen(c->out))
            fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i, c->in, out, c->out);
        if (flags != c->flags)
            fail_msg("case %zu \"%s\": flags %u, want %u", i, c->in, flags, c->flags);
    }
}

static void test_nul_inside_input(void **state)
{
    (void)state;
    static const char in[] = "/a\0b";
    char out[8];
    size_t n;
    unsigned flags;
    const char *why = NULL;
    assert_int_equal(zt_path_normalize(in, sizeof(in) - 1, out, &n, &flags, &why), -1);
}

static void test_query(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        bool ok;
    } cases[] = {
        {"", true},        {"a=1&b=2", true},     {"a=%00", true},  {"x=/../", true},
        {"a=%zz", true},   {"a b", false},        {"a=1#f", false}, {"a=\r\n", false},
        {"a=\x7f", false}, {"a=\xc3\xa9", false}, {"a=\t", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        bool ok = zt_path_query_valid(cases[i].q, strlen(cases[i].q), &why);
        if (ok != cases[i].ok)
            fail_msg("query case %zu \"%s\": %d", i, cases[i].q, ok);
        if (!ok)
            assert_non_null(why);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Pieces chosen to hit every rule: dots, encoded dots and slashes, escapes of every class,
 * ';', backslashes, invalid escapes and a few plain names. */
static const char *const PIECES[] = {
    "/",  "/", "//", ".",  "..",  "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "\\",
    "a",  "b", "ab", "~",  "%41", "%7e", "%7E", "%25", "%20", "%e3", "%00", "%zz",
    "%4", "%", ";",  ";x", "-",   "_",   "%3a", "%3A", ".a",  "a.",  "%2",  "?",
};

static void gen_path(char *buf, size_t cap, size_t *n)
{
    size_t len = 0;
    size_t pieces = 1 + rng() % 12;
    if (rng() % 16 != 0)
        buf[len++] = '/';
    for (size_t i = 0; i < pieces; i++) {
        const char *p = PIECES[rng() % (sizeof(PIECES) / sizeof(PIECES[0]))];
        size_t pn = strlen(p);
        if (len + pn >= cap)
            break;
        memcpy(buf + len, p, pn);
        len += pn;
    }
    *n = len;
}

static bool canonical_escapes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%')
            continue;
        if (i + 2 >= n)
            return false;
        for (size_t k = 1; k <= 2; k++) {
            char c = s[i + k];
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
                return false;
        }
    }
    return true;
}

static void check_invariants(const char *in, size_t n, const char *out, size_t on)
{
    if (on == 0 || on > n || out[0] != '/' || strlen(out) != on)
        fail_msg("\"%.*s\" -> \"%s\": bad shape", (int)n, in, out);
    if (strstr(out, "//") || strstr(out, "/../") || strstr(out, "/./") || strstr(out, "%00"))
        fail_msg("\"%.*s\" -> \"%s\": forbidden sequence", (int)n, in, out);
    if ((on >= 2 && strcmp(out + on - 2, "/.") == 0) ||
        (on >= 3 && strcmp(out + on - 3, "/..") == 0))
        fail_msg("\"%.*s\" -> \"%s\": trailing dot segment", (int)n, in, out);
    if (!canonical_escapes(out, on))
        fail_msg("\"%.*s\" -> \"%s\": escape not canonical", (int)n, in, out);
}

static void test_idempotent_property(void **state)
{
    (void)state;
    char in[128], out[129], again[129];
    unsigned accepted = 0;
    for (unsigned iter = 0; iter < 300000; iter++) {
        size_t n, on, an;
        unsigned flags, flags2;
        const char *why = NULL;
        gen_path(in, sizeof(in), &n);
        if (zt_path_normalize(in, n, out, &on, &flags, &why) < 0)
            continue;
        accepted++;
        check_invariants(in, n, out, on);
        if (zt_path_normalize(out, on, again, &an, &flags2, &why) < 0)
            fail_msg("\"%.*s\" -> \"%s\" refused the second time: %s", (int)n, in, out, why);
        if (an != on || memcmp(out, again, on) != 0 || flags != flags2)
            fail_msg("\"%.*s\" -> \"%s\" -> \"%s\": not idempotent", (int)n, in, out, again);
    }
    /* The generator must reach both outcomes often, or the property proves little. */
    assert_true(accepted > 30000);
    assert_true(accepted < 270000);
}

static void test_ambiguity_and_readings(void **state)
{
    (void)state;
    assert_int_equal(zt_path_ambiguity("/a/b/", 5), 0);
    assert_int_equal(zt_path_ambiguity("/Admin/x", 8), ZT_PATH_READ_FOLD_CASE);
    assert_int_equal(zt_path_ambiguity("/admin;j=1/x", 12), ZT_PATH_READ_STRIP_PARAMS);
    assert_int_equal(zt_path_ambiguity("/admin./x", 9), ZT_PATH_READ_TRIM_DOTS);
    assert_int_equal(zt_path_ambiguity("/admin%20/x", 11), ZT_PATH_READ_TRIM_DOTS);
    assert_int_equal(zt_path_ambiguity("/a.b/c.d", 8), 0);
    static const struct {
        const char *in;
        unsigned how;
        const char *out;
    } cases[] = {
        {"/ADMIN/X", ZT_PATH_READ_FOLD_CASE, "/admin/x"},
        {"/ADMIN/X", ZT_PATH_READ_TRIM_DOTS, "/ADMIN/X"},
        {"/admin;jsessionid=1/x;y", ZT_PATH_READ_STRIP_PARAMS, "/admin/x"},
        {"/;x/admin", ZT_PATH_READ_STRIP_PARAMS, "/admin"},
        {"/admin./x%20.", ZT_PATH_READ_TRIM_DOTS, "/admin/x"},
        {"/admin%20%20/", ZT_PATH_READ_TRIM_DOTS, "/admin/"},
        {"/Admin.;v=1/", ZT_PATH_READ_ALL, "/admin/"},
        {"/", ZT_PATH_READ_ALL, "/"},
        {"/;x", ZT_PATH_READ_STRIP_PARAMS, "/"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = zt_path_reading(cases[i].in, strlen(cases[i].in), cases[i].how, out);
        if (strcmp(out, cases[i].out) != 0 || n != strlen(cases[i].out))
            fail_msg("reading %zu of \"%s\": got \"%s\", want \"%s\"", i, cases[i].in, out,
                     cases[i].out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_nul_inside_input),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_idempotent_property),
        cmocka_unit_test(test_ambiguity_and_readings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
