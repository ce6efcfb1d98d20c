/* Signed values handed to browsers: the one-time code that carries a sign-in from the portal
 * host to an app host, and the known-device cookie. Both are HMAC-SHA256 under keys derived
 * from the secrets key for this purpose only, compared in constant time; neither is logged.
 *
 * Code (89 bytes, 119 base64url chars):
 *   version(1) | nonce(16) | parent id hash(32) | expires_at(8, big-endian) | mac(32)
 *   mac = HMAC(code key, version | nonce | parent | expires_at | lowercase target origin)
 * The origin ("https://app.example:443": scheme, host and port) is bound by the MAC rather than
 * carried, which keeps codes short and makes a code for another host, scheme or port fail
 * exactly like a forged one: a code sniffed on plain HTTP or caught by a listener on another
 * port of the app host cannot be redeemed on the real app origin.
 *
 * Known device (57 bytes, 76 chars): version(1) | user id(16) | issued_at(8) | mac(32). */
#define ZT_SESSION_INTERNAL
#include <errno.h>
#include <string.h>

#include "lib/secure.h"
#include "lib/str.h"
#include "session/session.h"
#include "store/store.h"

#define CODE_VERSION 2                      /* 1: bound to the host only */
#define ORIGIN_MAX (ZT_STORE_HOST_MAX + 16) /* "https://" host ":65535" */
#define CODE_NONCE 16
#define CODE_PARENT 32
#define CODE_SIGNED (1 + CODE_NONCE + CODE_PARENT + 8)
#define CODE_RAW (CODE_SIGNED + crypto_auth_hmacsha256_BYTES)
#define CODE_CHARS 119

#define DEV_VERSION 1
#define DEV_SIGNED (1 + 16 + 8)
#define DEV_RAW (DEV_SIGNED + crypto_auth_hmacsha256_BYTES)
#define DEV_CHARS 76
#define DEV_FUTURE_SKEW_S 300 /* a cookie issued "later" than now by more is refused */

_Static_assert(CODE_CHARS + 1 ==
                   sodium_base64_ENCODED_LEN(CODE_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "code length");
_Static_assert(CODE_CHARS <= ZT_SESSION_CODE_MAX, "code must fit the documented buffer");
_Static_assert(DEV_CHARS + 1 ==
                   sodium_base64_ENCODED_LEN(DEV_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "device cookie length");

/* Exactly 2n lowercase hex chars into n bytes. */
static bool hex_exact(const char *hex, unsigned char *out, size_t n)
{
    return hex != NULL && zt_hex_decode(hex, strlen(hex), out, n, true);
}

/* Lowercased copy of an origin for MAC input; false when empty or too long. */
static bool origin_norm(const char *host, char out[ORIGIN_MAX + 1], size_t *len)
{
    size_t n = host != NULL ? strlen(host) : 0;
    if (n == 0 || n > ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
    out[n] = '\0';
    *len = n;
    return true;
}

static void code_mac(const zt_sessions *s, const unsigned char *signed_part, const char *host,
                     size_t host_len, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, ZT_SESSION_CODE_KEY(s), crypto_auth_hmacsha256_KEYBYTES);
    crypto_auth_hmacsha256_update(&st, signed_part, CODE_SIGNED);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)host, host_len);
    crypto_auth_hmacsha256_final(&st, mac);
    zt_wipe(&st, sizeof(st));
}

int zt_session_code_issue(zt_sessions *s, const char *id_hash, const char *target_origin,
                          int64_t now, char *out, size_t outcap)
{
    unsigned char raw[CODE_RAW];
    char host[ORIGIN_MAX + 1];
    size_t host_len = 0;
    if (s == NULL || out == NULL || outcap < CODE_CHARS + 1 || now <= 0 ||
        !origin_norm(target_origin, host, &host_len) ||
        !hex_exact(id_hash, raw + 1 + CODE_NONCE, 32))
        return -EINVAL;
    raw[0] = CODE_VERSION;
    zt_random(raw + 1, CODE_NONCE);
    zt_put_be64(raw + 1 + CODE_NONCE + CODE_PARENT, now + ZT_SESSION_CODE_TTL_S);
    code_mac(s, raw, host, host_len, raw + CODE_SIGNED);
    zt_session_b64(raw, sizeof(raw), out, outcap);
    return 0;
}

/* Remember a redeemed nonce until its code expires. False when it was seen before, or when
 * the set is full of unexpired nonces: refusing is safe, forgetting one would allow a replay. */
static bool nonce_claim(zt_sessions *s, const unsigned char *nonce, int64_t expires_at, int64_t now)
{
    zt_used_code *slot = NULL;
    bool ok = true;
    pthread_mutex_lock(&s->used_mu);
    for (size_t i = 0; i < ZT_SESSION_CODE_USED_MAX && ok; i++) {
        zt_used_code *u = &s->used[i];
        if (u->expires_at <= now) {
            if (slot == NULL)
                slot = u;
        } else if (memcmp(u->nonce, nonce, CODE_NONCE) == 0) {
            ok = false;
        }
    }
    if (ok && slot != NULL) {
        memcpy(slot->nonce, nonce, CODE_NONCE);
        slot->expires_at = expires_at;
    }
    pthread_mutex_unlock(&s->used_mu);
    return ok && slot != NULL;
}

/* The portal-host session a code names must still be good for a child. */
static bool parent_ok(const zt_store_session *p, int64_t now)
{
    return !p->user_disabled && p->user_epoch == p->user_epoch_now && !p->mfa_pending &&
           now < p->idle_expires_at && now < p->absolute_expires_at;
}

int zt_session_code_redeem(zt_sessions *s, const char *code, size_t len, const char *origin,
                           const char *host, const char *ip, const char *user_agent, int64_t now,
                           char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                           char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    unsigned char raw[CODE_RAW], mac[crypto_auth_hmacsha256_BYTES];
    char o[ORIGIN_MAX + 1], h[ZT_STORE_HOST_MAX + 1];
    size_t origin_len = 0, host_len = 0;
    if (s == NULL || code == NULL || cookie_out == NULL || len != CODE_CHARS ||
        !origin_norm(origin, o, &origin_len) || host == NULL || (host_len = strlen(host)) == 0 ||
        host_len > ZT_STORE_HOST_MAX || !zt_session_unb64(code, len, raw, sizeof(raw)) ||
        raw[0] != CODE_VERSION)
        return -EACCES;
    for (size_t i = 0; i <= host_len; i++)
        h[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
    code_mac(s, raw, o, origin_len, mac);
    if (crypto_verify_32(mac, raw + CODE_SIGNED) != 0)
        return -EACCES;
    int64_t expires_at = zt_get_be64(raw + 1 + CODE_NONCE + CODE_PARENT);
    if (now >= expires_at || !nonce_claim(s, raw + 1, expires_at, now))
        return -EACCES;
    char parent[ZT_SESSION_HASH_LEN + 1];
    sodium_bin2hex(parent, sizeof(parent), raw + 1 + CODE_NONCE, CODE_PARENT);
    zt_store_session p;
    if (zt_store_session_get(s->store, parent, &p) != 0 || !parent_ok(&p, now))
        return -EACCES;
    unsigned char aaguid[16];
    bool has_aaguid = zt_session_aaguid_parse_hex(p.passkey_aaguid, aaguid);
    zt_session_new child = {
        .user_id = p.user_id,
        .host = h,
        .auth_time = p.auth_time,
        .mfa_time = p.mfa_time,
        .mfa_method = p.mfa_method,
        .mfa_pending = false,
        .ip = ip,
        .user_agent = user_agent,
        .parent_hash = parent,
        .device_id = p.device_id,
        .amr = zt_amr_parse(p.amr, p.mfa_time), /* the sign-in it came from */
        .passkey_aaguid = has_aaguid ? aaguid : NULL,
    };
    /* The child may not outlive the sign-in it came from. */
    if (zt_session_create_capped(s, &child, now, p.absolute_expires_at, cookie_out, hash_out) != 0)
        return -EACCES;
    return 0;
}

/* ---- known device ---- */

static void device_mac(const zt_sessions *s, unsigned char raw[DEV_RAW])
{
    crypto_auth_hmacsha256(raw + DEV_SIGNED, raw, DEV_SIGNED, ZT_SESSION_DEVICE_KEY(s));
}

int zt_known_device_set(zt_sessions *s, zt_buf *headers, const char *user_id, bool https,
                        int64_t now)
{
    unsigned char raw[DEV_RAW];
    char value[DEV_CHARS + 1];
    if (s == NULL || headers == NULL || now <= 0 || !hex_exact(user_id, raw + 1, 16))
        return -EINVAL;
    raw[0] = DEV_VERSION;
    zt_put_be64(raw + 17, now);
    device_mac(s, raw);
    zt_session_b64(raw, sizeof(raw), value, sizeof(value));
    return zt_cookie_set(headers, https ? ZT_COOKIE_DEVICE_HTTPS : ZT_COOKIE_DEVICE_HTTP, value,
                         https, ZT_KNOWN_DEVICE_TTL_S);
}

bool zt_known_device_check(zt_sessions *s, const zt_span *cookie_header, const char *user_id,
                           bool https, int64_t now)
{
    unsigned char got[DEV_RAW], want[DEV_RAW];
    zt_span v;
    if (s == NULL ||
        !zt_cookie_find(cookie_header, https ? ZT_COOKIE_DEVICE_HTTPS : ZT_COOKIE_DEVICE_HTTP,
                        &v) ||
        !zt_session_unb64(v.p, v.n, got, sizeof(got)) || !hex_exact(user_id, want + 1, 16))
        return false;
    /* Rebuild what we would have issued to this user at the cookie's time and compare all of
     * it at once: a forged MAC and another user's cookie fail the same way, in the same time. */
    want[0] = DEV_VERSION;
    memcpy(want + 17, got + 17, 8);
    device_mac(s, want);
    bool match = zt_ct_eq(got, want, sizeof(got));
    int64_t issued = zt_get_be64(got + 17);
    return match && issued > 0 && issued <= now + DEV_FUTURE_SKEW_S &&
           now - issued < ZT_KNOWN_DEVICE_TTL_S;
}
