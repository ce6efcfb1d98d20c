/* Portal pure parts: form parser, rd validator (open redirects), CSRF tokens, HTML escaping of
 * user-controlled values, and the en/ja catalogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/secure.h"
#include "portal/portal.h"

/* ---- form ---- */

static void test_form_basic(void **state)
{
    (void)state;
    zt_form f;
    const char *in = "username=a%40b.test&password=p+w%21&csrf_token=x&&rd=%2Fapp%3Fq%3D1";
    assert_int_equal(zt_form_parse(&f, in, strlen(in)), ZT_FORM_OK);
    size_t n = 0;
    assert_string_equal(zt_form_get(&f, "username", NULL), "a@b.test");
    assert_string_equal(zt_form_get(&f, "password", &n), "p w!");
    assert_int_equal(n, 4);
    assert_string_equal(zt_form_get(&f, "rd", NULL), "/app?q=1");
    assert_null(zt_form_get(&f, "missing", NULL));
    zt_form_dispose(&f);

    assert_int_equal(zt_form_parse(&f, "", 0), ZT_FORM_OK);
    assert_int_equal(f.n, 0);
    zt_form_dispose(&f);
    assert_int_equal(zt_form_parse(&f, "flag", 4), ZT_FORM_OK);
    assert_string_equal(zt_form_get(&f, "flag", NULL), "");
    zt_form_dispose(&f);
}

static void test_form_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        zt_form_err want;
    } cases[] = {
        {"a=%", ZT_FORM_E_SYNTAX},        {"a=%4", ZT_FORM_E_SYNTAX}, {"a=%zz", ZT_FORM_E_SYNTAX},
        {"a=%00", ZT_FORM_E_SYNTAX},      {"=x", ZT_FORM_E_SYNTAX},   {"a=1&a=2", ZT_FORM_E_DUP},
        {"a=1&b=2&%61=3", ZT_FORM_E_DUP}, {"%=1", ZT_FORM_E_SYNTAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_form f;
        assert_int_equal(zt_form_parse(&f, cases[i].in, strlen(cases[i].in)), cases[i].want);
        assert_int_equal(f.n, 0);
        zt_form_dispose(&f);
    }
    /* limits: a value of exactly 4096 bytes passes, 4097 is refused (never truncated) */
    char big[5000];
    memcpy(big, "v=", 2);
    memset(big + 2, 'x', 4096);
    zt_form f;
    assert_int_equal(zt_form_parse(&f, big, 2 + 4096), ZT_FORM_OK);
    size_t n = 0;
    assert_non_null(zt_form_get(&f, "v", &n));
    assert_int_equal(n, 4096);
    zt_form_dispose(&f);
    big[2 + 4096] = 'x';
    assert_int_equal(zt_form_parse(&f, big, 2 + 4097), ZT_FORM_E_TOO_LONG);
    zt_form_dispose(&f);
    /* encoded bytes count decoded */
    char enc[3 * 4096 + 3];
    memcpy(enc, "v=", 2);
    for (size_t i = 0; i < 4096; i++)
        memcpy(enc + 2 + 3 * i, "%41", 3);
    assert_int_equal(zt_form_parse(&f, enc, 2 + 3 * 4096), ZT_FORM_OK);
    zt_form_dispose(&f);
    /* too many fields */
    char many[256] = "";
    for (int i = 0; i < ZT_FORM_MAX_FIELDS + 1; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "f%d=1&", i);
    assert_int_equal(zt_form_parse(&f, many, strlen(many)), ZT_FORM_E_TOO_MANY);
    zt_form_dispose(&f);
}

static void test_form_content_type(void **state)
{
    (void)state;
    assert_true(zt_form_content_type_ok(ZT_SPAN_LIT("application/x-www-form-urlencoded")));
    assert_true(
        zt_form_content_type_ok(ZT_SPAN_LIT("Application/X-WWW-Form-Urlencoded; charset=UTF-8")));
    assert_false(zt_form_content_type_ok(ZT_SPAN_LIT("multipart/form-data; boundary=x")));
    assert_false(zt_form_content_type_ok(ZT_SPAN_LIT("application/json")));
    assert_false(zt_form_content_type_ok(ZT_SPAN_LIT("application/x-www-form-urlencodedx")));
    assert_false(zt_form_content_type_ok(ZT_SPAN_LIT("")));
}

/* ---- rd ---- */

static const char *const app_hosts[] = {"app.test", "wiki.example.org"};
/* The gateway serves HTTPS on 443 and plain HTTP on 8080 (its listeners). */
static const zt_rd_port served[] = {{true, 443}, {false, 8080}};
static const zt_rd_policy pol = {app_hosts, 2, "portal.test", false, served, 2, false};

static const char *const bad_rd[] = {
    "//evil.test",
    "//evil.test/",
    "///evil.test",
    "////evil.test",
    "/\\evil.test",
    "\\/evil.test",
    "\\\\evil.test",
    "\\evil.test",
    "/\\/evil.test",
    "https:evil.test",
    "https:/evil.test",
    "https:\\\\evil.test",
    "http:evil.test",
    "http:/evil.test",
    "http://evil.test",
    "https://evil.test",
    "https://evil.test/",
    "HTTPS://EVIL.TEST",
    "HtTpS://evil.test/app",
    "//evil.test%2f",
    "%2f%2fevil.test",
    "%2F%2Fevil.test",
    "/%2fevil.test",
    "/%2Fevil.test",
    "/%5cevil.test",
    "/%5Cevil.test",
    "%5c%5cevil.test",
    "http://app.test@evil.test",
    "https://app.test@evil.test/",
    "https://user:pw@app.test/",
    "https://@app.test/",
    "http://evil.test#@app.test",
    "http://evil.test?@app.test",
    "http://evil.test\\@app.test",
    "http://evil.test\\.app.test",
    "http://app.test.evil.test",
    "http://app.test.evil.test/",
    "https://app.test.",
    "https://app.test../",
    "https://.app.test/",
    "http://evilapp.test",
    "http://xapp.test/",
    "https://app.tes",
    "https://app.testx/",
    "https://app-test/",
    "https://app.test:0/",
    "https://app.test:65536/",
    "https://app.test:99999999999/",
    "https://app.test:80x/",
    "https://app.test:/",
    "https://app.test%2eevil.test/",
    "https://app%2etest/",
    "https://[::1]/",
    "https://127.0.0.1/",
    "https://2130706433/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "javascript://app.test/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://app.test/",
    "ws://app.test/",
    "wss://app.test/",
    "httpx://app.test/",
    "http//app.test/",
    "https//app.test/",
    "mailto:a@app.test",
    " https://app.test/",
    "https://app.test/\t",
    "/\t/evil.test",
    "/\n/evil.test",
    "/\r\nLocation: https://evil.test",
    "/%0d%0aSet-Cookie:x=1",
    "/%0aevil",
    "/%0devil",
    "/%00evil",
    "/%09/evil.test",
    "/%7fevil",
    "/a b",
    "\t//evil.test",
    "\n//evil.test",
    "/\x7f/evil.test",
    "https://app.test\x01/",
    "https://ａpp.test/",
    "https://app。test/",
    "https://app．test/",
    "https://app.test\xe3\x80\x82"
    "evil/",
    "https://xn--pp-wka.test/",
    "https://аpp.test/",
    "https://evil.test／@app.test",
    "/\xef\xbc\x8f/evil.test",
    "\xef\xbc\x8f\xef\xbc\x8f"
    "evil.test",
    "https://app.test%40evil.test/",
    "https://evil.test%23@app.test/",
    "https:///evil.test",
    "https:///app.test",
    "https://",
    "http://",
    "https:",
    "https://:443/",
    "?next=//evil.test",
    "#//evil.test",
    "evil.test",
    "app.test/",
    "./evil",
    "../evil",
    ".//evil.test",
    "%",
    "/%",
    "/%zz",
    "/%4",
    "https://portal.test.evil/",
    "https://portal.test@evil/",
    "/%5c%5cevil.test",
    "/%2F/evil.test",
    /* an app host on a scheme or port the gateway does not serve: the sign-in code would go
     * to whoever listens there (issue 10, finding 9) */
    "http://app.test:6666/x",
    "https://app.test:6666/x",
    "http://app.test/x",
    "http://app.test:80/x",
    "https://app.test:8080/x",
    "http://app.test:443/x",
    "https://app.test:444/",
    "https://portal.test:8443/",
    "http://wiki.example.org:6666/",
    "https://app.test:+443/",
};

static void test_rd_bad(void **state)
{
    (void)state;
    size_t n = sizeof(bad_rd) / sizeof(bad_rd[0]);
    assert_true(n >= 100);
    for (size_t i = 0; i < n; i++) {
        zt_rd out;
        bool ok = zt_rd_check(bad_rd[i], strlen(bad_rd[i]), &pol, &out);
        if (ok)
            fail_msg("rd accepted: %s", bad_rd[i]);
        assert_string_equal(out.url, "");
    }
    /* an empty or overlong value */
    zt_rd out;
    assert_false(zt_rd_check("", 0, &pol, &out));
    char longpath[ZT_RD_MAX + 10];
    longpath[0] = '/';
    memset(longpath + 1, 'a', sizeof(longpath) - 1);
    assert_false(zt_rd_check(longpath, sizeof(longpath), &pol, &out));
}

static void test_rd_good(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool absolute;
        const char *host, *path;
    } good[] = {
        {"/", false, "", "/"},
        {"/app", false, "", "/app"},
        {"/app/x?y=1&z=%2F#frag", false, "", "/app/x?y=1&z=%2F#frag"},
        {"/a/%2F%2Fb", false, "", "/a/%2F%2Fb"},
        {"/%E3%81%82", false, "", "/%E3%81%82"},
        {"https://app.test", true, "app.test", "/"},
        {"https://app.test/", true, "app.test", "/"},
        {"http://app.test:8080/x?q=1", true, "app.test", "/x?q=1"},
        {"HTTPS://APP.TEST/Case", true, "app.test", "/Case"},
        {"https://wiki.example.org/page", true, "wiki.example.org", "/page"},
        {"https://portal.test/.ztgate/", true, "portal.test", "/.ztgate/"},
        {"https://app.test?x=1", true, "app.test", "/?x=1"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        zt_rd out;
        if (!zt_rd_check(good[i].in, strlen(good[i].in), &pol, &out))
            fail_msg("rd refused: %s", good[i].in);
        assert_int_equal(out.absolute, good[i].absolute);
        assert_string_equal(out.host, good[i].host);
        assert_string_equal(out.path_query, good[i].path);
        assert_string_equal(out.url, good[i].in);
    }
    zt_rd out;
    assert_true(zt_rd_check("http://app.test:8080/x", 22, &pol, &out));
    assert_string_equal(out.authority, "app.test:8080");
    assert_false(out.https);
    /* relative only (the callback) */
    zt_rd_policy rel = {.relative_only = true};
    assert_true(zt_rd_check("/x", 2, &rel, &out));
    assert_false(zt_rd_check("https://app.test/", 17, &rel, &out));
    /* An HTTPS request never sends the browser (and a code) to plain http, even to a port the
     * gateway serves over HTTP. */
    zt_rd_policy tls_only = pol;
    tls_only.https_only = true;
    assert_true(zt_rd_check("https://app.test/", 17, &tls_only, &out));
    assert_int_equal(out.port, 443);
    assert_false(zt_rd_check("http://app.test:8080/x", 22, &tls_only, &out));
    /* No served origin listed: no absolute rd at all. */
    zt_rd_policy none = {app_hosts, 2, "portal.test", false, NULL, 0, false};
    assert_false(zt_rd_check("https://app.test/", 17, &none, &out));
    assert_true(zt_rd_check("/x", 2, &none, &out));
    /* without a portal host only listed hosts count, and only on served origins */
    zt_rd_policy own = {app_hosts, 1, NULL, false, served, 2, false};
    assert_true(zt_rd_check("https://app.test/", 17, &own, &out));
    assert_false(zt_rd_check("http://app.test:6666/x", 22, &own, &out));
    assert_false(zt_rd_check("https://portal.test/", 20, &own, &out));
    assert_false(zt_rd_check("https://wiki.example.org/", 25, &own, &out));
}

/* ---- CSRF ---- */

static void test_csrf(void **state)
{
    (void)state;
    unsigned char key[ZT_CSRF_KEY_LEN], key2[ZT_CSRF_KEY_LEN];
    memset(key, 7, sizeof(key));
    memset(key2, 8, sizeof(key2));
    char cookie[ZT_CSRF_COOKIE_LEN + 1], other[ZT_CSRF_COOKIE_LEN + 1];
    char tok[ZT_CSRF_TOKEN_LEN + 1];
    const char *ip = "192.0.2.10";
    zt_csrf_cookie_new(key, ip, cookie);
    zt_csrf_cookie_new(key, ip, other);
    assert_int_equal(strlen(cookie), ZT_CSRF_COOKIE_LEN);
    assert_true(zt_csrf_cookie_valid(key, ip, cookie, strlen(cookie)));
    assert_string_not_equal(cookie, other);
    zt_csrf_token(key, cookie, strlen(cookie), "/.ztgate/login", tok);
    assert_int_equal(strlen(tok), ZT_CSRF_TOKEN_LEN);
    assert_true(zt_csrf_check(key, ip, cookie, strlen(cookie), "/.ztgate/login", tok, strlen(tok)));
    /* another form, browser or key, a truncated or altered token: refused */
    assert_false(
        zt_csrf_check(key, ip, cookie, strlen(cookie), "/.ztgate/logout", tok, strlen(tok)));
    assert_false(zt_csrf_check(key, ip, other, strlen(other), "/.ztgate/login", tok, strlen(tok)));
    assert_false(
        zt_csrf_check(key2, ip, cookie, strlen(cookie), "/.ztgate/login", tok, strlen(tok)));
    assert_false(zt_csrf_check(key, ip, cookie, strlen(cookie), "/.ztgate/login", tok, 42));
    assert_false(zt_csrf_check(key, ip, cookie, strlen(cookie), "/.ztgate/login", "", 0));
    assert_false(zt_csrf_check(key, ip, NULL, 0, "/.ztgate/login", tok, strlen(tok)));
    char t2[ZT_CSRF_TOKEN_LEN + 1];
    memcpy(t2, tok, sizeof(t2));
    t2[5] = t2[5] == 'A' ? 'B' : 'A';
    assert_false(zt_csrf_check(key, ip, cookie, strlen(cookie), "/.ztgate/login", t2, strlen(t2)));
    assert_false(zt_csrf_cookie_valid(key, ip, "short", 5));
    char bad[ZT_CSRF_COOKIE_LEN + 1];
    memcpy(bad, cookie, sizeof(bad));
    bad[3] = ';';
    assert_false(zt_csrf_cookie_valid(key, ip, bad, ZT_CSRF_COOKIE_LEN));

    /* Login CSRF by a cookie planter (issue 10, finding 9): a value the gateway never issued,
     * with its correctly computed token, is refused; so is the planter's own genuine cookie
     * planted in a browser at another address (plain HTTP binds the client IP). */
    const char planted[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(strlen(planted), ZT_CSRF_COOKIE_LEN);
    char ptok[ZT_CSRF_TOKEN_LEN + 1];
    zt_csrf_token(key, planted, strlen(planted), "/.ztgate/login", ptok);
    assert_false(zt_csrf_cookie_valid(key, ip, planted, strlen(planted)));
    assert_false(
        zt_csrf_check(key, ip, planted, strlen(planted), "/.ztgate/login", ptok, strlen(ptok)));
    assert_false(zt_csrf_check(key, "198.51.100.7", cookie, strlen(cookie), "/.ztgate/login", tok,
                               strlen(tok)));
    assert_false(
        zt_csrf_check(key, "", cookie, strlen(cookie), "/.ztgate/login", tok, strlen(tok)));
    /* A cookie from another gateway key is not ours either. */
    zt_csrf_cookie_new(key2, ip, other);
    assert_false(zt_csrf_cookie_valid(key, ip, other, strlen(other)));
    /* Over HTTPS (bind "") the cookie is unbound from the address. */
    zt_csrf_cookie_new(key, "", other);
    assert_true(zt_csrf_cookie_valid(key, "", other, strlen(other)));
    assert_false(zt_csrf_cookie_valid(key, ip, other, strlen(other)));

    zt_buf h;
    zt_buf_init(&h, 0);
    assert_int_equal(zt_csrf_cookie_header(&h, cookie, true), 0);
    assert_int_equal(zt_buf_cstr(&h), 0);
    assert_non_null(strstr(h.data, "Set-Cookie: __Host-ztgate_csrf="));
    assert_non_null(strstr(h.data, "HttpOnly; SameSite=Strict; Secure\r\n"));
    zt_buf_dispose(&h);
}

/* ---- rendering ---- */

static void test_render_escapes(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_account_view v = {.lang = ZT_LANG_EN,
                         .email = "<script>alert(1)</script>\"'@x.test",
                         .name = "<img src=x onerror=alert(1)>",
                         .totp_enrolled = true};
    assert_int_equal(zt_render_account(&b, &v), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_null(strstr(b.data, "<script>"));
    assert_null(strstr(b.data, "<img"));
    assert_non_null(strstr(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;@x.test"));
    assert_non_null(strstr(b.data, "<html lang=\"en\">"));
    assert_non_null(strstr(b.data, "name=\"viewport\""));
    zt_buf_dispose(&b);

    zt_buf_init(&b, 0);
    zt_login_view lv = {.lang = ZT_LANG_JA,
                        .csrf_token = "tok\"en",
                        .rd = "/x\"><script>",
                        .error = PM_ERR_SIGN_IN};
    assert_int_equal(zt_render_login(&b, &lv), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_null(strstr(b.data, "<script>"));
    assert_non_null(strstr(b.data, "<html lang=\"ja\">"));
    assert_non_null(strstr(b.data, "name=\"username\""));
    assert_non_null(strstr(b.data, "name=\"password\""));
    assert_non_null(strstr(b.data, "name=\"csrf_token\" value=\"tok&quot;en\""));
    assert_non_null(strstr(b.data, zt_msg_text(ZT_LANG_JA, PM_ERR_SIGN_IN)));
    zt_buf_dispose(&b);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The passkey blocks: one script tag per page, never inline script, the mode and the way
 * back in data- attributes (escaped), the script's texts from the catalogue in the page's
 * language, the button hidden until the script finds WebAuthn, names escaped. */
static void test_render_passkey(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_login_view lv = {
        .lang = ZT_LANG_JA, .csrf_token = "t", .rd = "/a?b=1&c=\"><x", .passkey = true};
    assert_int_equal(zt_render_login(&b, &lv), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_int_equal(count(b.data, "<script"), 1);
    assert_non_null(strstr(b.data, "<script src=\"/.ztgate/passkey.js\" defer></script>"));
    assert_non_null(
        strstr(b.data, "data-passkey=\"login\" data-rd=\"/a?b=1&amp;c=&quot;&gt;&lt;x\""));
    assert_null(strstr(b.data, "<x"));
    assert_non_null(strstr(b.data, zt_msg_text(ZT_LANG_JA, PK_ERR_CANCELLED)));
    assert_non_null(strstr(b.data, "<button type=\"button\" hidden>"));
    assert_non_null(strstr(b.data, "role=\"alert\" hidden"));
    zt_buf_dispose(&b);

    const char *names[] = {"Laptop", "<b>key</b>"};
    zt_account_view v = {.lang = ZT_LANG_EN,
                         .email = "a@x.test",
                         .passkeys_on = true,
                         .passkeys = names,
                         .n_passkeys = 2};
    zt_buf_init(&b, 0);
    assert_int_equal(zt_render_account(&b, &v), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_non_null(strstr(b.data, "<li>Laptop</li><li>&lt;b&gt;key&lt;/b&gt;</li>"));
    assert_non_null(strstr(b.data, "data-passkey=\"register\" data-next=\"/.ztgate/\""));
    assert_non_null(strstr(b.data, "data-passkey-name"));
    assert_int_equal(count(b.data, "<script"), 1);
    zt_buf_dispose(&b);
}

static void test_messages_complete(void **state)
{
    (void)state;
    for (int id = MSG_NONE + 1; id < ZT_MSG_COUNT; id++) {
        const char *en = zt_msg_text(ZT_LANG_EN, (zt_msg)id);
        const char *ja = zt_msg_text(ZT_LANG_JA, (zt_msg)id);
        assert_non_null(en);
        assert_non_null(ja);
        if (en[0] == '\0' || ja[0] == '\0')
            fail_msg("message %d has an empty translation", id);
        /* Japanese text carries at least one non-ASCII byte */
        bool non_ascii = false;
        for (const char *p = ja; *p; p++)
            non_ascii |= (unsigned char)*p >= 0x80;
        if (!non_ascii)
            fail_msg("message %d: Japanese text looks untranslated: %s", id, ja);
    }
    assert_string_equal(zt_msg_text(ZT_LANG_EN, MSG_NONE), "");
}

static void test_url_encode(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_url_encode(&b, "/a b?c=d&e/", 11, true), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "/a%20b%3Fc%3Dd%26e/");
    zt_buf_reset(&b);
    assert_int_equal(zt_url_encode(&b, "/x", 2, false), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "%2Fx");
    zt_buf_dispose(&b);
}

int main(void)
{
    zt_secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_basic),        cmocka_unit_test(test_form_errors),
        cmocka_unit_test(test_form_content_type), cmocka_unit_test(test_rd_bad),
        cmocka_unit_test(test_rd_good),           cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_render_escapes),    cmocka_unit_test(test_messages_complete),
        cmocka_unit_test(test_url_encode),        cmocka_unit_test(test_render_passkey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
