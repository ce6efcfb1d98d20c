/* Small pure helpers of the SAML IdP: the persistent NameID, the AuthnContext class, the
 * RelayState rule. Unit-tested in tests/unit/test_saml.c. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "idp/saml.h"
#include "idp/saml_login.h"
#include "session/session.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 bytes → 43 base64url characters, no padding. */
static void b64url_32(const unsigned char in[32], char out[ZT_SAML_PERSISTENT_LEN + 1])
{
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        v |= i + 1 < 32 ? (unsigned)in[i + 1] << 8 : 0;
        v |= i + 2 < 32 ? in[i + 2] : 0;
        size_t chars = i + 2 < 32 ? 4 : i + 1 < 32 ? 3 : 2;
        for (size_t k = 0; k < chars; k++)
            out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
}

void zt_saml_persistent_id(const unsigned char key[32], const char *user_id,
                           const char *sp_entity_id, char out[ZT_SAML_PERSISTENT_LEN + 1])
{
    unsigned char mac[32];
    unsigned mac_len = 0;
    size_t n1 = strlen(user_id) + 1, n2 = strlen(sp_entity_id);
    unsigned char msg[1600];
    if (n1 + n2 > sizeof(msg))
        n2 = sizeof(msg) - n1; /* entity ids are at most 1024 bytes (metadata) */
    memcpy(msg, user_id, n1);  /* with its NUL: "ab"+"c" and "a"+"bc" differ */
    memcpy(msg + n1, sp_entity_id, n2);
    HMAC(EVP_sha256(), key, 32, msg, n1 + n2, mac, &mac_len);
    b64url_32(mac, out);
}

const char *zt_saml_authn_class(unsigned amr)
{
    return (amr & ZT_AMR_MFA) != 0 ? ZT_SAML_AC_MFA : ZT_SAML_AC_PASSWORD;
}

bool zt_saml_relay_ok(const char *s, size_t n)
{
    if (n > ZT_SAML_RELAY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

void zt_saml_iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int zt_saml_parse_time(const char *s, int64_t *out)
{
    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return -1;
    struct tm tm = {.tm_year = digits(s, 4) - 1900,
                    .tm_mon = digits(s + 5, 2) - 1,
                    .tm_mday = digits(s + 8, 2),
                    .tm_hour = digits(s + 11, 2),
                    .tm_min = digits(s + 14, 2),
                    .tm_sec = digits(s + 17, 2)};
    const char *p = s + 19;
    if (*p == '.') /* fractional seconds: ignored */
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (strcmp(p, "Z") != 0 || tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
        tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}
