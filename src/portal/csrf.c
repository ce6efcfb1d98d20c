/* CSRF tokens for the portal's forms: a per-browser cookie (HttpOnly, SameSite=Strict, __Host-
 * on HTTPS) and, in each form, HMAC(key, cookie || path). An attacker site can neither read the
 * cookie nor compute the token, and a token for one form does not work on another.
 * The cookie itself is a nonce MACed by the gateway: a value the gateway did not issue is
 * ignored (a fresh one is issued), so a cookie planter cannot choose one. On plain HTTP, where
 * a planter could still plant a cookie the gateway issued to the planter, the MAC also covers
 * the client IP: planted in a victim's browser elsewhere, it is refused (login CSRF).
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

#define NONCE_LEN 16
#define MAC_LEN 16 /* HMAC-SHA-256 cut to 128 bits */

static void cookie_mac(const unsigned char key[ZT_CSRF_KEY_LEN], const unsigned char *nonce,
                       const char *bind, unsigned char out[MAC_LEN])
{
    static const char label[] = "ztgate csrf cookie v2"; /* not a token: another input shape */
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, ZT_CSRF_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof(label));
    crypto_auth_hmacsha256_update(&st, nonce, NONCE_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)(bind ? bind : ""),
                                  bind ? strlen(bind) : 0);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, mac, MAC_LEN);
    zt_wipe(&st, sizeof(st));
    zt_wipe(mac, sizeof(mac));
}

void zt_csrf_cookie_new(const unsigned char key[ZT_CSRF_KEY_LEN], const char *bind,
                        char out[ZT_CSRF_COOKIE_LEN + 1])
{
    unsigned char raw[NONCE_LEN + MAC_LEN];
    zt_random(raw, NONCE_LEN);
    cookie_mac(key, raw, bind, raw + NONCE_LEN);
    sodium_bin2base64(out, ZT_CSRF_COOKIE_LEN + 1, raw, sizeof(raw), B64URL);
    zt_wipe(raw, sizeof(raw));
}

/* 43 base64url characters, as every cookie we issue. */
static bool cookie_shape_ok(const char *v, size_t n)
{
    if (v == NULL || n != ZT_CSRF_COOKIE_LEN)
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

bool zt_csrf_cookie_valid(const unsigned char key[ZT_CSRF_KEY_LEN], const char *bind, const char *v,
                          size_t n)
{
    unsigned char raw[NONCE_LEN + MAC_LEN], want[MAC_LEN];
    size_t got = 0;
    if (!cookie_shape_ok(v, n) ||
        sodium_base642bin(raw, sizeof(raw), v, n, NULL, &got, NULL, B64URL) != 0 ||
        got != sizeof(raw))
        return false;
    cookie_mac(key, raw, bind, want);
    bool ok = zt_ct_eq(want, raw + NONCE_LEN, MAC_LEN);
    zt_wipe(want, sizeof(want));
    return ok;
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

bool zt_csrf_check(const unsigned char key[ZT_CSRF_KEY_LEN], const char *bind, const char *cookie,
                   size_t cookie_len, const char *path, const char *token, size_t token_len)
{
    if (cookie == NULL || token == NULL || token_len != ZT_CSRF_TOKEN_LEN ||
        !zt_csrf_cookie_valid(key, bind, cookie, cookie_len))
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
