/* CSRF tokens for the portal's forms: a random per-browser cookie (HttpOnly, SameSite=Strict,
 * __Host- on HTTPS) and, in each form, HMAC(key, cookie || path). An attacker site can neither
 * read the cookie nor compute the token, and a token for one form does not work on another.
 * Tokens are compared in constant time and never logged. */
#include <string.h>

#include <sodium.h>

#include "identity/secretbox.h"
#include "lib/secure.h"
#include "portal/portal.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

void zt_csrf_key(const zt_secretbox *box, unsigned char key[ZT_CSRF_KEY_LEN])
{
    zt_secretbox_derive(box, "ztgate portal csrf v1", key);
}

void zt_csrf_cookie_new(char out[ZT_CSRF_COOKIE_LEN + 1])
{
    unsigned char raw[32];
    zt_random(raw, sizeof(raw));
    sodium_bin2base64(out, ZT_CSRF_COOKIE_LEN + 1, raw, sizeof(raw), B64URL);
    zt_wipe(raw, sizeof(raw));
}

bool zt_csrf_cookie_ok(const char *v, size_t n)
{
    if (n != ZT_CSRF_COOKIE_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

void zt_csrf_token(const unsigned char key[ZT_CSRF_KEY_LEN], const char *cookie, size_t cookie_len,
                   const char *path, char out[ZT_CSRF_TOKEN_LEN + 1])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, ZT_CSRF_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)cookie, cookie_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"", 1); /* separator */
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)path, strlen(path));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, ZT_CSRF_TOKEN_LEN + 1, mac, sizeof(mac), B64URL);
    zt_wipe(&st, sizeof(st));
    zt_wipe(mac, sizeof(mac));
}

bool zt_csrf_check(const unsigned char key[ZT_CSRF_KEY_LEN], const char *cookie, size_t cookie_len,
                   const char *path, const char *token, size_t token_len)
{
    if (cookie == NULL || token == NULL || !zt_csrf_cookie_ok(cookie, cookie_len) ||
        token_len != ZT_CSRF_TOKEN_LEN)
        return false;
    char want[ZT_CSRF_TOKEN_LEN + 1];
    zt_csrf_token(key, cookie, cookie_len, path, want);
    bool ok = zt_ct_eq(want, token, ZT_CSRF_TOKEN_LEN);
    zt_wipe(want, sizeof(want));
    return ok;
}

int zt_csrf_cookie_header(zt_buf *headers, const char *value, bool https)
{
    return zt_buf_printf(headers, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s\r\n",
                         https ? ZT_CSRF_COOKIE_HTTPS : ZT_CSRF_COOKIE_HTTP, value,
                         https ? "; Secure" : "");
}
