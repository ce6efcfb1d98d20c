/* A browser tied to an enrolled device (docs/DEVICES.md, "Browsers on an enrolled device").
 *
 * Three values, each HMAC-SHA256 under its own key derived from the secrets key:
 *
 * - device id from an enrolment code: hex(first 16 bytes of HMAC(K_id, "ztgate device id v1" |
 *   normalised code)). The device a code enrols is known the moment the code is made, so the
 *   browser that asked for the code can find it later without the store linking the two.
 * - pending cookie (set with the code, lives as long as the code plus an hour):
 *   base64url(version | user id(16) | expected device id(16) | expires_at(8, BE) | mac(32)).
 * - binding cookie (set once the device exists): base64url(version | device id(16) |
 *   user id(16) | issued_at(8, BE) | mac(32)), Max-Age the certificate's remaining lifetime.
 *
 * Every check rebuilds the whole value it would have issued and compares it in constant time,
 * so a forged MAC, another user's cookie and a modified id all fail the same way. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "device/device_int.h"
#include "identity/secretbox.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "session/session.h"

#define BIND_VERSION 1
#define BIND_SIGNED (1 + 16 + 16 + 8)
#define BIND_RAW (BIND_SIGNED + crypto_auth_hmacsha256_BYTES)
#define BIND_CHARS 98
#define ID_LABEL "ztgate device id v1"

_Static_assert(BIND_CHARS + 1 ==
                   sodium_base64_ENCODED_LEN(BIND_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "binding cookie length");

static bool unhex16(const char *hex, unsigned char out[16])
{
    return hex != NULL && zt_hex_decode(hex, strlen(hex), out, 16, true);
}

static void tohex16(const unsigned char in[16], char out[ZT_DEVICE_ID_LEN + 1])
{
    sodium_bin2hex(out, ZT_DEVICE_ID_LEN + 1, in, 16);
}

/* raw[0..BIND_SIGNED) filled: append the MAC under the key for `purpose`. */
static void seal(const zt_secretbox *sb, const char *purpose, unsigned char raw[BIND_RAW])
{
    unsigned char key[ZT_SECRETBOX_KEY_LEN];
    zt_secretbox_derive(sb, purpose, key);
    crypto_auth_hmacsha256(raw + BIND_SIGNED, raw, BIND_SIGNED, key);
    zt_wipe(key, sizeof(key));
}

/* Build version | a | b | t | mac for the hex ids a and b. */
static bool build(const zt_secretbox *sb, const char *purpose, const char *a, const char *b,
                  int64_t t, unsigned char raw[BIND_RAW])
{
    raw[0] = BIND_VERSION;
    if (sb == NULL || !unhex16(a, raw + 1) || !unhex16(b, raw + 17))
        return false;
    zt_put_be64(raw + 33, t);
    seal(sb, purpose, raw);
    return true;
}

static int set_cookie(zt_buf *headers, const char *name, const unsigned char raw[BIND_RAW],
                      bool https, int64_t max_age_s)
{
    char value[BIND_CHARS + 1];
    sodium_bin2base64(value, sizeof(value), raw, BIND_RAW,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return zt_cookie_set(headers, name, value, https, max_age_s);
}

/* The first cookie `name` in the header, decoded; false when absent or not BIND_RAW bytes. */
static bool read_cookie(const zt_span *cookie_header, const char *name, unsigned char raw[BIND_RAW])
{
    zt_span v;
    size_t got = 0;
    const char *end = NULL;
    if (!zt_cookie_find(cookie_header, name, &v) || v.n != BIND_CHARS)
        return false;
    if (sodium_base642bin(raw, BIND_RAW, v.p, v.n, NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    return got == BIND_RAW && end == v.p + v.n;
}

void zt_device_id_from_code(const zt_secretbox *sb, const char code[ZT_ENROLL_CODE_CHARS + 1],
                            char out[ZT_DEVICE_ID_LEN + 1])
{
    unsigned char key[ZT_SECRETBOX_KEY_LEN], mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    zt_secretbox_derive(sb, "device-id", key);
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ID_LABEL, sizeof(ID_LABEL));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)code, ZT_ENROLL_CODE_CHARS);
    crypto_auth_hmacsha256_final(&st, mac);
    tohex16(mac, out);
    zt_wipe(key, sizeof(key));
    zt_wipe(&st, sizeof(st));
}

/* ---- pending enrolment ---- */

int zt_device_pending_set(const zt_secretbox *sb, zt_buf *headers, const char *user_id,
                          const char *device_id, bool https, int64_t now, int64_t expires_at)
{
    unsigned char raw[BIND_RAW];
    if (headers == NULL || expires_at <= now ||
        !build(sb, "device-enrolment", user_id, device_id, expires_at, raw))
        return -EINVAL;
    return set_cookie(headers, https ? ZT_DEVENROL_COOKIE_HTTPS : ZT_DEVENROL_COOKIE_HTTP, raw,
                      https, expires_at - now);
}

bool zt_device_pending_check(const zt_secretbox *sb, const zt_span *cookie_header,
                             const char *user_id, bool https, int64_t now,
                             char device_id_out[ZT_DEVICE_ID_LEN + 1])
{
    unsigned char got[BIND_RAW], want[BIND_RAW];
    device_id_out[0] = '\0';
    if (!read_cookie(cookie_header, https ? ZT_DEVENROL_COOKIE_HTTPS : ZT_DEVENROL_COOKIE_HTTP,
                     got))
        return false;
    char id[ZT_DEVICE_ID_LEN + 1];
    tohex16(got + 17, id);
    if (!build(sb, "device-enrolment", user_id, id, zt_get_be64(got + 33), want) ||
        !zt_ct_eq(got, want, sizeof(got)) || zt_get_be64(got + 33) <= now)
        return false;
    memcpy(device_id_out, id, sizeof(id));
    return true;
}

int zt_device_pending_clear(zt_buf *headers, bool https)
{
    return zt_cookie_set(headers, https ? ZT_DEVENROL_COOKIE_HTTPS : ZT_DEVENROL_COOKIE_HTTP, "",
                         https, 0);
}

/* ---- the binding ---- */

int zt_device_binding_set(const zt_secretbox *sb, zt_buf *headers, const char *device_id,
                          const char *user_id, bool https, int64_t now, int64_t max_age_s)
{
    unsigned char raw[BIND_RAW];
    if (headers == NULL || now <= 0 || max_age_s <= 0 ||
        !build(sb, "device-binding", device_id, user_id, now, raw))
        return -EINVAL;
    return set_cookie(headers, https ? ZT_DEVBIND_COOKIE_HTTPS : ZT_DEVBIND_COOKIE_HTTP, raw, https,
                      max_age_s);
}

bool zt_device_binding_check(const zt_secretbox *sb, const zt_span *cookie_header,
                             const char *user_id, bool https, int64_t now,
                             char device_id_out[ZT_DEVICE_ID_LEN + 1])
{
    unsigned char got[BIND_RAW], want[BIND_RAW];
    device_id_out[0] = '\0';
    if (!read_cookie(cookie_header, https ? ZT_DEVBIND_COOKIE_HTTPS : ZT_DEVBIND_COOKIE_HTTP, got))
        return false;
    char id[ZT_DEVICE_ID_LEN + 1];
    tohex16(got + 1, id);
    int64_t issued = zt_get_be64(got + 33);
    if (!build(sb, "device-binding", id, user_id, issued, want) ||
        !zt_ct_eq(got, want, sizeof(got)) || issued <= 0 || issued > now + ZT_DEVBIND_FUTURE_SKEW_S)
        return false;
    memcpy(device_id_out, id, sizeof(id));
    return true;
}
