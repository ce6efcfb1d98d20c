/* libFuzzer target for the portal's form/query parser and the rd validator: any bytes either
 * parse within the limits or are refused, and an accepted rd never names a foreign host nor
 * starts a scheme-relative URL. Also the Temporary Access Pass reading of a password field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal/portal.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static const char *const hosts[] = {"app.test", "wiki.example.org"};
static const zt_rd_port ports[] = {{true, 443}, {false, 8080}};

static void check_rd(const char *s, size_t n)
{
    zt_rd_policy pol = {hosts, 2, "portal.test", false, ports, 2, false};
    zt_rd out;
    if (!zt_rd_check(s, n, &pol, &out))
        return;
    CHECK(strlen(out.url) == n && memcmp(out.url, s, n) == 0);
    CHECK(strchr(out.url, '\\') == NULL);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
    CHECK(out.path_query[0] == '/');
    CHECK(!out.absolute || (out.https && out.port == 443) || (!out.https && out.port == 8080));
    if (!out.absolute) {
        CHECK(s[0] == '/' && (n == 1 || (s[1] != '/' && s[1] != '\\')));
    } else {
        CHECK(strcmp(out.host, "app.test") == 0 || strcmp(out.host, "wiki.example.org") == 0 ||
              strcmp(out.host, "portal.test") == 0);
        CHECK(strchr(out.authority, '@') == NULL);
    }
}

/* The CSRF cookie a browser sends: only a value the gateway issued can pass, and never a
 * crash or an out-of-bounds read on any other. */
static void check_csrf_cookie(const char *s, size_t n)
{
    static const unsigned char key[ZT_CSRF_KEY_LEN] = {1, 2, 3};
    if (zt_csrf_cookie_valid(key, "192.0.2.1", s, n))
        CHECK(n == ZT_CSRF_COOKIE_LEN);
}

/* A password field's text read as a Temporary Access Pass: pass-shaped exactly when it hashes,
 * and the hash ignores ASCII case (the pass is typed in any case). */
static void check_tap(const char *s, size_t n)
{
    static const char uid[] = "0123456789abcdef0123456789abcdef";
    unsigned char h1[ZT_STORE_TAP_HASH_LEN], h2[ZT_STORE_TAP_HASH_LEN];
    bool shaped = zt_store_tap_shaped(s, n);
    CHECK(shaped == (zt_store_tap_hash(uid, s, n, h1) == 0));
    if (!shaped || n > ZT_STORE_TAP_TYPED_MAX)
        return;
    char upper[ZT_STORE_TAP_TYPED_MAX];
    for (size_t i = 0; i < n; i++)
        upper[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
    CHECK(zt_store_tap_hash(uid, upper, n, h2) == 0 && memcmp(h1, h2, sizeof(h1)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    zt_form f;
    zt_form_err rc = zt_form_parse(&f, in, size);
    if (rc == ZT_FORM_OK) {
        CHECK(f.n <= ZT_FORM_MAX_FIELDS);
        for (size_t i = 0; i < f.n; i++) {
            CHECK(f.f[i].name[0] != '\0' && strlen(f.f[i].name) <= ZT_FORM_NAME_MAX);
            CHECK(f.f[i].value_len <= ZT_FORM_VALUE_MAX);
            CHECK(strlen(f.f[i].value) == f.f[i].value_len);
            for (size_t k = 0; k < i; k++)
                CHECK(strcmp(f.f[i].name, f.f[k].name) != 0);
        }
        size_t n = 0;
        const char *rd = zt_form_get(&f, "rd", &n);
        if (rd != NULL)
            check_rd(rd, n);
    } else {
        CHECK(f.n == 0);
    }
    zt_form_dispose(&f);
    check_rd(in, size);
    check_csrf_cookie(in, size);
    check_tap(in, size);
    return 0;
}
