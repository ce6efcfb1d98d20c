/* src/lib and small core helpers: capped buffers, arena, JSON escaping, CIDR and addresses,
 * Accept-Language, routing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "audit/event.h"
#include "core/i18n.h"
#include "core/levels.h"
#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "proxy/route.h"
#include "proxy/share.h"

static void test_buf_append_u64(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 64);
    assert_int_equal(zt_buf_append_u64(&b, 0), 0);
    assert_int_equal(zt_buf_append_char(&b, ' '), 0);
    assert_int_equal(zt_buf_append_u64(&b, 1024), 0);
    assert_int_equal(zt_buf_append_char(&b, ' '), 0);
    assert_int_equal(zt_buf_append_u64(&b, UINT64_MAX), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "0 1024 18446744073709551615");
    zt_buf_dispose(&b);
    zt_buf_init(&b, 3); /* over the limit: an error, nothing half written */
    assert_int_equal(zt_buf_append_u64(&b, 12345), -E2BIG);
    assert_int_equal(b.len, 0);
    zt_buf_dispose(&b);
}

static void test_buf_limit(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 8);
    assert_int_equal(zt_buf_append_str(&b, "12345678"), 0);
    assert_int_equal(zt_buf_append_char(&b, '9'), -E2BIG);
    assert_int_equal(b.len, 8); /* unchanged after a refused append */
    zt_buf_consume(&b, 3);
    assert_memory_equal(b.data, "45678", 5);
    assert_int_equal(zt_buf_printf(&b, "%d", 123), 0);
    assert_int_equal(zt_buf_printf(&b, "%d", 1), -E2BIG);
    zt_buf_dispose(&b);
    zt_buf_dispose(NULL);
}

static void test_arena(void **state)
{
    zt_arena a;
    zt_arena_init(&a, 64, 256);
    char *p = zt_arena_strdup(&a, "hello");
    assert_string_equal(p, "hello");
    assert_true(((uintptr_t)p & 15) == 0);
    void *big = zt_arena_alloc(&a, 200); /* larger than a block: own block */
    assert_non_null(big);
    assert_null(zt_arena_alloc(&a, 100)); /* past the limit */
    zt_arena_reset(&a);
    assert_non_null(zt_arena_alloc(&a, 100));
    zt_arena_dispose(&a);
}

static void test_json_escape(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    const char in[] = "a\"b\\c\r\nd\x1b[31m\x7f\xff\xc3\xa9\xe6\x97\xa5";
    assert_int_equal(zt_json_str(&b, in, sizeof(in) - 1), 0);
    zt_buf_cstr(&b);
    assert_string_equal(
        b.data, "\"a\\\"b\\\\c\\u000d\\u000ad\\u001b[31m\\u007f\\ufffd\xc3\xa9\xe6\x97\xa5\"");
    zt_buf_reset(&b);
    const char nul[] = {'x', '\0', 'y'};
    assert_int_equal(zt_json_escape(&b, nul, 3), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "x\\u0000y", 8);
    /* Overlong encoding and surrogates are not valid UTF-8. */
    zt_buf_reset(&b);
    assert_int_equal(zt_json_escape(&b, "\xc0\xaf\xed\xa0\x80", 5), 0);
    zt_buf_cstr(&b);
    assert_null(strchr(b.data, '\xc0'));
    zt_buf_dispose(&b);
}

static void test_parse_u64(void **state)
{
    unsigned long long v;
    assert_true(zt_parse_u64("18446744073709551615", 20, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    assert_false(zt_parse_u64("18446744073709551616", 20, UINT64_MAX, &v));
    assert_false(zt_parse_u64("", 0, 10, &v));
    assert_false(zt_parse_u64("1a", 2, 100, &v));
    assert_false(zt_parse_u64("11", 2, 10, &v));
    assert_true(zt_parse_u64("10", 2, 10, &v));
}

static struct sockaddr_storage ip(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(s, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, s, &in6->sin6_addr);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, s, &in->sin_addr);
    }
    return ss;
}

static void test_cidr(void **state)
{
    zt_cidr c;
    assert_true(zt_cidr_parse("10.0.0.0/8", &c));
    struct sockaddr_storage a = ip("10.200.1.2"), b = ip("11.0.0.1"), m = ip("::ffff:10.1.1.1");
    assert_true(zt_cidr_contains(&c, (struct sockaddr *)&a));
    assert_false(zt_cidr_contains(&c, (struct sockaddr *)&b));
    assert_true(zt_cidr_contains(&c, (struct sockaddr *)&m));
    assert_true(zt_cidr_parse("2001:db8::/32", &c));
    struct sockaddr_storage v6 = ip("2001:db8:1::5");
    assert_true(zt_cidr_contains(&c, (struct sockaddr *)&v6));
    assert_false(zt_cidr_contains(&c, (struct sockaddr *)&a));
    assert_true(zt_cidr_parse("192.168.1.7", &c));
    assert_int_equal(c.prefix, 32);
    assert_true(zt_cidr_parse("127.0.0.0/25", &c));
    const char *bad[] = {"10.1.2.3/8", "10.0.0.0/33", "10.0.0.0/",   "10.0.0/8",   "x/8",
                         "",           "::/129",      "10.0.0.0/-1", "10.0.0.0/8x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_cidr_parse(bad[i], &c));
}

static void test_addr(void **state)
{
    struct sockaddr_storage ss;
    char buf[ZT_IP_STRLEN];
    assert_true(zt_addr_parse("127.0.0.1:8080", &ss));
    zt_sockaddr_ip((struct sockaddr *)&ss, buf);
    assert_string_equal(buf, "127.0.0.1");
    assert_int_equal(zt_sockaddr_port((struct sockaddr *)&ss), 8080);
    assert_true(zt_addr_parse("[::1]:8443", &ss));
    zt_sockaddr_ip((struct sockaddr *)&ss, buf);
    assert_string_equal(buf, "::1");
    assert_true(zt_addr_parse("*:80", &ss));
    const char *bad[] = {
        "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "[::1]8443", "host:80", "1.2.3.4:8x", ":"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_addr_parse(bad[i], &ss));
}

static void test_accept_language(void **state)
{
    struct {
        const char *v;
        zt_lang want;
    } cases[] = {
        {"ja", ZT_LANG_JA},
        {"ja-JP,ja;q=0.9,en;q=0.8", ZT_LANG_JA},
        {"en-US,en;q=0.9,ja;q=0.8", ZT_LANG_EN},
        {"fr, ja;q=0.5", ZT_LANG_JA},
        {"fr", ZT_LANG_EN},
        {"", ZT_LANG_EN},
        {"en;q=0.1, ja;q=0.2", ZT_LANG_JA},
        {"ja;q=bogus, en", ZT_LANG_EN},
        {"JA-jp", ZT_LANG_JA},
        {"*;q=0.5, ja;q=0.4", ZT_LANG_EN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(zt_lang_from_accept(cases[i].v, strlen(cases[i].v)), cases[i].want);
    assert_string_not_equal(zt_msg_text(ZT_LANG_JA, MSG_NOT_FOUND_TITLE),
                            zt_msg_text(ZT_LANG_EN, MSG_NOT_FOUND_TITLE));
}

static void test_rfc3339(void **state)
{
    char buf[40];
    assert_int_equal(zt_rfc3339(1700000000123456LL, buf, sizeof(buf)), 27);
    assert_string_equal(buf, "2023-11-14T22:13:20.123456Z");
    /* before 1970, a fraction of 0, and a buffer too small (cut like snprintf) */
    zt_rfc3339(-1LL, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    zt_rfc3339(951782400000000LL, buf, sizeof(buf));
    assert_string_equal(buf, "2000-02-29T00:00:00.000000Z");
    assert_int_equal(zt_rfc3339(1700000000123456LL, buf, 11), 10);
    assert_string_equal(buf, "2023-11-14");
}

static void test_routes(void **state)
{
    zt_app_cfg apps[4] = {
        {.name = "any-root", .host = NULL, .path_prefix = "/"},
        {.name = "app-root", .host = "app.localhost", .path_prefix = "/"},
        {.name = "app-admin", .host = "app.localhost", .path_prefix = "/admin"},
        {.name = "any-api", .host = NULL, .path_prefix = "/api"},
    };
    zt_config cfg = {.apps = apps, .n_apps = 4};
    zt_routes *r = zt_routes_build(&cfg);
    assert_non_null(r);
    struct {
        const char *host, *path, *want;
    } cases[] = {
        {"app.localhost", "/", "app-root"},
        {"app.localhost", "/admin", "app-admin"},
        {"app.localhost", "/admin/x", "app-admin"},
        {"app.localhost", "/administrator", "app-root"},
        {"app.localhost", "/api/x", "app-root"}, /* exact host beats a host-less app */
        {"other", "/api/x", "any-api"},
        {"other", "/apix", "any-root"},
        {"", "/", "any-root"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_span host = {cases[i].host, strlen(cases[i].host)};
        const zt_app_cfg *a = zt_route_find(r, host, cases[i].path, strlen(cases[i].path));
        assert_non_null(a);
        assert_string_equal(a->name, cases[i].want);
    }
    zt_routes_free(r);
    zt_app_cfg only[1] = {{.name = "x", .host = "x.example", .path_prefix = "/"}};
    zt_config cfg2 = {.apps = only, .n_apps = 1};
    r = zt_routes_build(&cfg2);
    assert_null(zt_route_find(r, ZT_SPAN_LIT("y.example"), "/", 1)); /* default deny */
    zt_routes_free(r);
}

/* Per-address connection shares: counted per IPv4 address (mapped or not) and per IPv6 /64,
 * refused past the limit, forgotten at zero. */
static void test_conn_share(void **state)
{
    (void)state;
    zt_conn_share *s = zt_conn_share_new();
    assert_non_null(s);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.7", &mapped.sin6_addr);
    struct sockaddr_in6 v6a = {.sin6_family = AF_INET6}, v6b = v6a, v6c = v6a;
    inet_pton(AF_INET6, "2001:db8:1:2::1", &v6a.sin6_addr);
    inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &v6b.sin6_addr); /* same /64 */
    inet_pton(AF_INET6, "2001:db8:1:3::1", &v6c.sin6_addr);      /* another /64 */
    const struct sockaddr *A = (const struct sockaddr *)&a, *M = (const struct sockaddr *)&mapped;
    assert_true(zt_conn_share_take(s, A, 2));
    assert_true(zt_conn_share_take(s, M, 2)); /* the same address, IPv4-mapped */
    assert_false(zt_conn_share_take(s, A, 2));
    assert_int_equal(zt_conn_share_count(s, A), 2);
    zt_conn_share_release(s, M);
    assert_true(zt_conn_share_take(s, A, 2));
    assert_true(zt_conn_share_take(s, (const struct sockaddr *)&v6a, 1));
    assert_false(zt_conn_share_take(s, (const struct sockaddr *)&v6b, 1));
    assert_true(zt_conn_share_take(s, (const struct sockaddr *)&v6c, 1));
    zt_conn_share_release(s, A);
    zt_conn_share_release(s, A);
    assert_int_equal(zt_conn_share_count(s, A), 0);
    zt_conn_share_free(s); /* entries still held are freed too */
    assert_int_equal(zt_conn_share_limit(10000, 0), 2500);
    assert_int_equal(zt_conn_share_limit(200, 0), 64);
    assert_int_equal(zt_conn_share_limit(4, 0), 4);
    assert_int_equal(zt_conn_share_limit(10000, 7), 7);
}

/* An app gets a request only when its upstream, reading the path as the app declares (any
 * way when it declares nothing), routes it to that app too (issue 10: route confusion). */
static void test_route_resolve_ambiguous(void **state)
{
    (void)state;
    zt_app_cfg apps[] = {
        {.name = "public", .host = "int.test", .path_prefix = "/"},
        {.name = "admin", .host = "int.test", .path_prefix = "/admin"},
        {.name = "ci-root",
         .host = "ci.test",
         .path_prefix = "/",
         .path_match = ZT_PATH_MATCH_CASE_INSENSITIVE},
        {.name = "ci-admin",
         .host = "ci.test",
         .path_prefix = "/admin",
         .path_match = ZT_PATH_MATCH_CASE_INSENSITIVE},
        {.name = "ci-api", .host = "ci.test", .path_prefix = "/api"}, /* strict */
        {.name = "ex-root",
         .host = "ex.test",
         .path_prefix = "/",
         .path_match = ZT_PATH_MATCH_EXACT},
        {.name = "ex-admin", .host = "ex.test", .path_prefix = "/admin"},
    };
    zt_config cfg = {.apps = apps, .n_apps = sizeof(apps) / sizeof(apps[0])};
    zt_routes *r = zt_routes_build(&cfg);
    assert_non_null(r);
    struct {
        const char *host, *path;
        zt_route_result want;
        const char *app;
    } cases[] = {
        {"int.test", "/x", ZT_ROUTE_FOUND, "public"},
        {"int.test", "/Shop;s=1/X.", ZT_ROUTE_FOUND, "public"}, /* no other app's prefix */
        {"int.test", "/admin/x", ZT_ROUTE_FOUND, "admin"},
        {"int.test", "/ADMIN/x", ZT_ROUTE_AMBIGUOUS, NULL},
        {"int.test", "/admin;jsessionid=1/x", ZT_ROUTE_AMBIGUOUS, NULL},
        {"int.test", "/admin./x", ZT_ROUTE_AMBIGUOUS, NULL},
        {"int.test", "/admin%20/x", ZT_ROUTE_AMBIGUOUS, NULL},
        /* a case-insensitive upstream reads /ADMIN as /admin: the admin app answers */
        {"ci.test", "/ADMIN/x", ZT_ROUTE_FOUND, "ci-admin"},
        {"ci.test", "/admin;x/y", ZT_ROUTE_FOUND, "ci-root"},
        /* ...but an app that declares nothing must agree under every reading */
        {"ci.test", "/API/x", ZT_ROUTE_AMBIGUOUS, NULL},
        /* an upstream that reads byte for byte: /ADMIN is not /admin */
        {"ex.test", "/ADMIN/x", ZT_ROUTE_FOUND, "ex-root"},
        {"ex.test", "/admin./x", ZT_ROUTE_FOUND, "ex-root"},
        {"none.test", "/ADMIN", ZT_ROUTE_NONE, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_span host = {cases[i].host, strlen(cases[i].host)};
        const zt_app_cfg *a = NULL;
        zt_route_result got = zt_route_resolve(r, host, cases[i].path, strlen(cases[i].path), &a);
        if (got != cases[i].want || (cases[i].app == NULL) != (a == NULL) ||
            (a != NULL && strcmp(a->name, cases[i].app) != 0))
            fail_msg("case %zu %s%s: got %d %s", i, cases[i].host, cases[i].path, (int)got,
                     a ? a->name : "-");
    }
    zt_routes_free(r);
}

static void test_hex(void **state)
{
    (void)state;
    assert_int_equal(zt_hexval('0'), 0);
    assert_int_equal(zt_hexval('a'), 10);
    assert_int_equal(zt_hexval('F'), 15);
    assert_int_equal(zt_hexval('g'), -1);
    assert_int_equal(zt_hexval('%'), -1);
    unsigned char out[3];
    assert_true(zt_hex_decode("00aB7f", 6, out, 3, false));
    assert_memory_equal(out, "\x00\xab\x7f", 3);
    assert_false(zt_hex_decode("00aB7f", 6, out, 3, true)); /* upper case refused */
    assert_true(zt_hex_decode("00ab7f", 6, out, 3, true));
    assert_false(zt_hex_decode("00ab7", 5, out, 3, false)); /* wrong length */
    assert_false(zt_hex_decode("00ab7fff", 8, out, 3, false));
    assert_false(zt_hex_decode("0xab7f", 6, out, 3, false)); /* not a digit */
    assert_false(zt_hex_decode(NULL, 0, out, 0, false));
}

static void test_b64url(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t n = 99;
    assert_true(zt_b64url_decode("-_8", 3, out, sizeof(out), &n)); /* fb ff */
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    assert_true(zt_b64url_decode("", 0, out, sizeof(out), &n));
    assert_int_equal(n, 0);
    assert_false(zt_b64url_decode("-_8=", 4, out, sizeof(out), &n)); /* padding */
    assert_false(zt_b64url_decode("+/8", 3, out, sizeof(out), &n));  /* standard alphabet */
    assert_false(zt_b64url_decode("-_9", 3, out, sizeof(out), &n));  /* trailing bits set */
    assert_false(zt_b64url_decode("-_8 ", 4, out, sizeof(out), &n)); /* whitespace */
    assert_false(zt_b64url_decode("A", 1, out, sizeof(out), &n));    /* dangling 6 bits */
    assert_false(zt_b64url_decode("AAAAAAAAAAAA", 12, out, sizeof(out), &n)); /* 9 > cap 8 */
}

static void test_be64(void **state)
{
    (void)state;
    unsigned char b[8];
    zt_put_be64(b, 0x0102030405060708LL);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(zt_get_be64(b), 0x0102030405060708LL);
    zt_put_be64(b, -2);
    assert_int_equal(zt_get_be64(b), -2);
}

static void test_parse_rfc3339(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        unsigned flags;
        bool ok;
        int64_t us;
    } cases[] = {
        {"2026-11-23T10:00:00Z", 0, true, INT64_C(1795428000000000)},
        {"2026-11-23T11:30:00+01:30", 0, true, INT64_C(1795428000000000)},
        {"2026-11-23T05:00:00-05:00", 0, true, INT64_C(1795428000000000)},
        {"2026-11-23T10:00:00.5Z", 0, true, INT64_C(1795428000500000)},
        {"2026-11-23T10:00:00.123456789Z", 0, true, INT64_C(1795428000123456)},
        {"2026-11-23t10:00:00z", 0, true, INT64_C(1795428000000000)},
        {"2026-11-23t10:00:00z", ZT_RFC3339_UPPER, false, 0},
        {"2024-02-29T12:00:00Z", 0, true, INT64_C(1709208000000000)},
        {"2026-12-31T23:59:60Z", 0, true, INT64_C(1798761600000000)}, /* leap second */
        {"1969-12-31T23:59:59Z", 0, true, INT64_C(-1000000)},
        {"9999-12-31T23:59:59Z", 0, true, INT64_C(253402300799000000)},
        {"2026-02-29T00:00:00Z", 0, false, 0}, /* not a leap year */
        {"2026-04-31T00:00:00Z", 0, false, 0},
        {"2026-11-23T10:00:00", 0, false, 0},       /* no zone */
        {"2026-11-23T10:00:00+0100", 0, false, 0},  /* offset without colon */
        {"2026-11-23T10:00:00+01:60", 0, false, 0}, /* offset minutes */
        {"2026-11-23T10:00:00.Z", 0, false, 0},     /* empty fraction */
        {"2026-11-23T10:00:00.1234567891Z", 0, false, 0},
        {"2026-11-23T24:00:00Z", 0, false, 0},
        {"2026-11-23T10:00:00Zjunk", 0, false, 0},
        {"2026-13-01T00:00:00Z", 0, false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 0;
        bool ok = zt_parse_rfc3339(cases[i].s, strlen(cases[i].s), cases[i].flags, &us);
        if (ok != cases[i].ok || (ok && us != cases[i].us))
            fail_msg("%s: ok %d us %lld", cases[i].s, ok, (long long)us);
    }
    /* only the first n bytes are read */
    int64_t us;
    assert_true(zt_parse_rfc3339("2026-11-23T10:00:00Zxyz", 20, 0, &us));
    assert_int_equal(zt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(zt_days_from_civil(2000, 3, 1), 11017);
}

static void test_file_helpers(void **state)
{
    (void)state;
    char root[] = "/tmp/zt_test_lib_XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[256], file[300];
    snprintf(dir, sizeof(dir), "%s/a/b/c", root);
    assert_int_equal(zt_mkdir_p(dir, 0700, NULL, 0), 0);
    assert_int_equal(zt_mkdir_p(dir, 0700, NULL, 0), 0); /* existing: fine */
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(file, sizeof(file), "%s/x/y/key.pem", root);
    assert_int_equal(zt_mkdir_parent(file, 0700), 0);
    snprintf(dir, sizeof(dir), "%s/x/y", root);
    assert_int_equal(stat(dir, &st), 0);
    /* a file in the way: the error names the prefix that could not be made */
    snprintf(file, sizeof(file), "%s/f", root);
    int fd = open(file, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello world", 11), 11);
    close(fd);
    char failed[300] = "";
    snprintf(dir, sizeof(dir), "%s/f/sub", root);
    assert_int_equal(zt_mkdir_p(dir, 0700, failed, sizeof(failed)), -ENOTDIR);
    assert_string_equal(failed, dir);
    assert_int_equal(zt_mkdir_p("", 0700, NULL, 0), -EINVAL);
    /* whole-file reads, capped by the buffer */
    zt_buf b;
    zt_buf_init(&b, 64);
    assert_int_equal(zt_read_file(file, &b), 0);
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.data, "hello world", 11);
    zt_buf_dispose(&b);
    zt_buf_init(&b, 4);
    assert_int_equal(zt_read_file(file, &b), -E2BIG);
    zt_buf_dispose(&b);
    assert_int_equal(zt_read_file("/nonexistent/zt", &b), -ENOENT);
    char small[5];
    size_t n = 0;
    fd = open(file, O_RDONLY);
    assert_int_equal(zt_read_upto(fd, small, sizeof(small), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(small, "hello", 5);
    close(fd);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_risk_name(void **state)
{
    (void)state;
    assert_string_equal(zt_risk_name(ZT_RISK_NONE), "none");
    assert_string_equal(zt_risk_name(ZT_RISK_LOW), "low");
    assert_string_equal(zt_risk_name(ZT_RISK_MEDIUM), "medium");
    assert_string_equal(zt_risk_name(ZT_RISK_HIGH), "high");
    assert_string_equal(zt_risk_name((zt_risk)4), "unknown");
    assert_string_equal(zt_risk_name((zt_risk)-1), "unknown");
    zt_risk r = ZT_RISK_NONE;
    assert_true(zt_risk_parse("medium", &r));
    assert_int_equal(r, ZT_RISK_MEDIUM);
    assert_true(zt_risk_parse("none", &r));
    assert_int_equal(r, ZT_RISK_NONE);
    assert_false(zt_risk_parse("High", &r)); /* one spelling */
    assert_false(zt_risk_parse("unknown", &r));
    assert_false(zt_risk_parse(NULL, &r));
    assert_null(zt_risk_names[ZT_RISK_LEVELS]);
}

/* One OCSF mapping for the proxy and the admin API (they used to disagree on CONNECT, TRACE and
 * PATCH). */
static void test_http_activity(void **state)
{
    (void)state;
    static const struct {
        const char *method;
        unsigned id;
    } cases[] = {{"CONNECT", 1}, {"DELETE", 2}, {"GET", 3},   {"HEAD", 4},    {"OPTIONS", 5},
                 {"POST", 6},    {"PUT", 7},    {"TRACE", 8}, {"PATCH", 9},   {"PROPFIND", 99},
                 {"get", 99},    {"", 99},      {NULL, 99},   {"PATCHES", 99}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (zt_event_http_activity(cases[i].method) != cases[i].id)
            fail_msg("%s: %u", cases[i].method ? cases[i].method : "(null)",
                     zt_event_http_activity(cases[i].method));
}

/* One CIDR parser for the config, the CLI and the feeds: the reason names what is wrong. */
/* The URL rule configs share: https anywhere, http only on loopback literals. */
static void test_url_problem(void **state)
{
    (void)state;
    assert_null(zt_url_problem("https://login.example.com/tenant/v2.0", 0, false));
    assert_null(zt_url_problem("http://127.0.0.1:8080/cb", 0, false));
    assert_null(zt_url_problem("http://[::1]/cb", 0, false));
    assert_null(zt_url_problem("https://a.test/?x=1", 0, true));
    assert_non_null(zt_url_problem("https://a.test/?x=1", 0, false));
    assert_non_null(zt_url_problem("http://127.evil.example/", 0, false));
    assert_non_null(zt_url_problem("http://a.test/", 0, false));
    assert_non_null(zt_url_problem("https://a.test/#f", 0, true));
    assert_non_null(zt_url_problem("https://user@a.test/", 0, true));
    assert_non_null(zt_url_problem("https:///path", 0, true));
    assert_non_null(zt_url_problem("https://a.test/\\x", 0, true));
    assert_non_null(zt_url_problem("ftp://a.test/", 0, true));
    assert_non_null(zt_url_problem("https://a.test/long", 10, true));
}

static void test_cidr_parse_n(void **state)
{
    (void)state;
    zt_cidr c;
    assert_null(zt_cidr_parse_n("10.0.0.0/8 trailing", 10, &c)); /* only n bytes are read */
    assert_int_equal(c.prefix, 8);
    assert_null(zt_cidr_parse_n("2001:db8::/32", 13, &c));
    assert_int_equal(c.family, AF_INET6);
    assert_string_equal(zt_cidr_parse_n("", 0, &c), "empty address");
    assert_string_equal(zt_cidr_parse_n("10.1.2.3/8", 10, &c), "host bits set after the prefix");
    assert_string_equal(zt_cidr_parse_n("10.0.0.0/33", 11, &c), "prefix length out of range");
    assert_string_equal(zt_cidr_parse_n("10.0.0.0/0008", 13, &c), "bad prefix length");
    assert_string_equal(zt_cidr_parse_n("10.0.0.0/", 9, &c), "bad prefix length");
    assert_string_equal(zt_cidr_parse_n("10.0.0\0.0", 8, &c), "NUL byte in address");
    assert_string_equal(zt_cidr_parse_n("example.org", 11, &c), "not an IP address or CIDR block");
    assert_false(zt_cidr_parse("10.1.2.3/8", &c));
}

static void test_array_grow(void **state)
{
    (void)state;
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        if (n == cap)
            assert_int_equal(zt_array_grow(&v, &cap, sizeof(*v), 16), 0);
        v[n++] = i;
    }
    assert_int_equal(cap, 1024); /* 16, 32, ... doubling */
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);  /* contents kept across moves */
    size_t huge = SIZE_MAX / 8 + 1; /* doubling would overflow the byte count */
    assert_int_equal(zt_array_grow(&v, &huge, sizeof(*v), 16), -ENOMEM);
    assert_int_equal(huge, SIZE_MAX / 8 + 1); /* unchanged on failure */
    free(v);
}

static void test_write_all(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    static const char msg[] = "0123456789abcdef";
    assert_int_equal(zt_write_all(fds[1], msg, 16), 0);
    char got[16];
    size_t n = 0;
    close(fds[1]);
    assert_int_equal(zt_read_upto(fds[0], got, sizeof(got), &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(got, msg, 16);
    close(fds[0]);
    assert_int_equal(zt_write_all(-1, msg, 1), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_buf_append_u64),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_url_problem),
        cmocka_unit_test(test_route_resolve_ambiguous),
        cmocka_unit_test(test_conn_share),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_accept_language),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_be64),
        cmocka_unit_test(test_parse_rfc3339),
        cmocka_unit_test(test_file_helpers),
        cmocka_unit_test(test_risk_name),
        cmocka_unit_test(test_http_activity),
        cmocka_unit_test(test_cidr_parse_n),
        cmocka_unit_test(test_array_grow),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_b64url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
