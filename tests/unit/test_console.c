/* The console's frame (src/console): escaping, the session-bound CSRF token and the Origin
 * check, strict form parsing, the page table and the SVG charts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <llhttp.h>

#include "console/console_int.h"
#include "http/handler.h"

typedef struct fake {
    zt_local_req r;
    zt_console_ctx cx;
    zt_local_header hs[4];
} fake;

static void fake_init(fake *f)
{
    memset(f, 0, sizeof(*f));
    zt_buf_init(&f->r.resp_body, 1u << 20);
    zt_buf_init(&f->r.resp_headers, 1u << 16);
    f->r.host_port = "console.test:8080";
    f->r.path = "/users/ab";
    f->r.path_len = strlen(f->r.path);
    f->r.request_id = "rid";
    f->r.method = HTTP_POST;
    zt_console_ctx_init(&f->cx, &f->r);
}

static void fake_dispose(fake *f)
{
    zt_console_ctx_dispose(&f->cx);
    zt_buf_dispose(&f->r.resp_body);
    zt_buf_dispose(&f->r.resp_headers);
}

static const char *body(fake *f)
{
    assert_int_equal(zt_buf_cstr(&f->r.resp_body), 0);
    return f->r.resp_body.data;
}

static void test_escaping(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    assert_string_equal(zt_console_esc(&f.cx, "<a href=\"x\">&'</a>"),
                        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    zt_console_text(&f.cx, "<script>alert(1)</script>");
    assert_null(strstr(body(&f), "<script>"));
    assert_string_equal(zt_console_url_enc(&f.cx, "a b@c/d?e"), "a%20b%40c%2Fd%3Fe");
    fake_dispose(&f);
}

static void test_csrf_bound_to_session(void **state)
{
    (void)state;
    unsigned char key[32] = {1}, other[32] = {2};
    char a[ZT_CONSOLE_CSRF_LEN + 1], b[ZT_CONSOLE_CSRF_LEN + 1], c[ZT_CONSOLE_CSRF_LEN + 1];
    zt_console_csrf_token(key, "session-one", a);
    zt_console_csrf_token(key, "session-two", b);
    zt_console_csrf_token(other, "session-one", c);
    assert_int_equal(strlen(a), ZT_CONSOLE_CSRF_LEN);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    zt_console_csrf_token(key, "session-one", b);
    assert_string_equal(a, b); /* stable for the session: no storage needed */
}

static void set_header(fake *f, size_t i, const char *name, const char *value)
{
    f->hs[i] = (zt_local_header){{name, strlen(name)}, {value, strlen(value)}};
    f->r.headers = f->hs;
    f->r.n_headers = i + 1;
}

static void test_origin_check(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    assert_false(zt_console_origin_ok(&f.r)); /* neither Origin nor Referer */
    set_header(&f, 0, "Origin", "http://console.test:8080");
    assert_true(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Origin", "http://CONSOLE.test:8080");
    assert_true(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Origin", "https://console.test:8080"); /* another scheme */
    assert_false(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Origin", "http://console.test:8080.evil.test");
    assert_false(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Origin", "null");
    assert_false(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Referer", "http://console.test:8080/users?q=1");
    assert_true(zt_console_origin_ok(&f.r));
    set_header(&f, 0, "Referer", "http://console.test:80801/users");
    assert_false(zt_console_origin_ok(&f.r));
    fake_dispose(&f);
}

static void test_form_parsing_strict(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    static const char ok[] = "email=a%40b.test&name=J+Doe&empty=&flag";
    assert_true(zt_console_parse_pairs(&f.cx, ok, strlen(ok)));
    assert_string_equal(zt_console_param(&f.cx, "email"), "a@b.test");
    assert_string_equal(zt_console_param(&f.cx, "name"), "J Doe");
    assert_string_equal(zt_console_param(&f.cx, "empty"), "");
    assert_string_equal(zt_console_param(&f.cx, "flag"), "");
    assert_null(zt_console_param(&f.cx, "missing"));
    static const char *const bad[] = {"a=%zz", "a=%4", "a=%00", "a=1&a=2", "%=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f.cx.n_params = 0;
        assert_false(zt_console_parse_pairs(&f.cx, bad[i], strlen(bad[i])));
    }
    fake_dispose(&f);
}

static void test_page_table(void **state)
{
    (void)state;
    const zt_console_page *home = zt_console_page_find("/", 1);
    assert_non_null(home);
    assert_string_equal(home->path, "/");
    assert_null(zt_console_page_find("/nope", 5));
    for (size_t i = 0; zt_console_pages[i] != NULL; i++) {
        const zt_console_page *p = zt_console_pages[i];
        assert_ptr_equal(zt_console_page_find(p->path, strlen(p->path)), p);
        assert_non_null(p->handle);
        if (p->prefix) {
            char sub[128];
            snprintf(sub, sizeof(sub), "%s/x", p->path);
            assert_ptr_equal(zt_console_page_find(sub, strlen(sub)), p);
            snprintf(sub, sizeof(sub), "%sx", p->path); /* not at a segment boundary */
            assert_ptr_not_equal(zt_console_page_find(sub, strlen(sub)), p);
        }
    }
}

static void test_charts_svg(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    zt_console_bar bars[] = {{"allow", 90}, {"block", 10}, {"none", 0}};
    zt_console_bar_chart(&f.cx, CON_CH_DECISIONS, bars, 3, "ok");
    const char *b = body(&f);
    assert_non_null(strstr(b, "<svg class=\"bars\""));
    assert_non_null(strstr(b, "role=\"img\""));
    assert_non_null(strstr(b, "width=\"320\"")); /* the largest bar is full length */
    assert_non_null(strstr(b, "width=\"35\""));  /* 10/90 of it */
    assert_non_null(strstr(b, "<th scope=\"row\">block</th><td>10</td>"));
    assert_null(strstr(b, "style="));
    zt_buf_reset(&f.r.resp_body);
    uint64_t ok[] = {1, 4, 2}, bad[] = {0, 1, 0};
    const char *x[] = {"a", NULL, "c"};
    zt_console_series s[] = {{CON_S_SIGNIN_OK, ok, "s0"}, {CON_S_SIGNIN_FAIL, bad, "s1"}};
    zt_console_line_chart(&f.cx, CON_CH_SIGNINS, x, 3, s, 2);
    b = body(&f);
    assert_non_null(strstr(b, "<polyline class=\"line s0\" points=\"30,120 300,30 570,90\"/>"));
    assert_non_null(strstr(b, "Sign-ins: 7"));
    assert_null(strstr(b, "style="));
    fake_dispose(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),     cmocka_unit_test(test_csrf_bound_to_session),
        cmocka_unit_test(test_origin_check), cmocka_unit_test(test_form_parsing_strict),
        cmocka_unit_test(test_page_table),   cmocka_unit_test(test_charts_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
