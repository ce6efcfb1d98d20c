/* TOTP codes via liboath, compared here in constant time; enrolment encodings; recovery codes. */
#include "identity/totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <string.h>

#include "lib/secure.h"

#define QUIET_ZONE 4 /* modules of white around the symbol (ISO/IEC 18004) */
#define SVG_PX 4     /* default rendered size per module */
#define RECOVERY_CHARS 12
#define RECOVERY_INPUT_MAX 64

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void oath_setup(void)
{
    oath_init_rc = oath_init();
}

static bool oath_ready(void)
{
    pthread_once(&oath_once, oath_setup);
    return oath_init_rc == OATH_OK;
}

void zt_totp_secret_new(unsigned char secret[ZT_TOTP_SECRET_LEN])
{
    zt_random(secret, ZT_TOTP_SECRET_LEN);
}

int zt_totp_generate(const unsigned char *secret, size_t len, int64_t now, unsigned digits,
                     unsigned period, char *out)
{
    if (digits < 6 || digits > 8 || period == 0 || now < 0 || len == 0 || !oath_ready())
        return -EINVAL;
    int rc = oath_totp_generate2((const char *)secret, len, (time_t)now, period,
                                 OATH_TOTP_DEFAULT_START_TIME, digits, 0, out);
    return rc == OATH_OK ? 0 : -EINVAL;
}

/* The code as exactly ZT_TOTP_DIGITS ASCII digits, spaces dropped; false if it is not one. */
static bool parse_code(const char *code, char out[ZT_TOTP_DIGITS])
{
    size_t n = 0;
    for (size_t i = 0; code[i] != '\0'; i++) {
        if (i >= ZT_TOTP_CODE_MAX)
            return false;
        if (code[i] == ' ')
            continue;
        if (code[i] < '0' || code[i] > '9' || n == ZT_TOTP_DIGITS)
            return false;
        out[n++] = code[i];
    }
    return n == ZT_TOTP_DIGITS;
}

int zt_totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now,
                   int64_t last_used_step, int64_t *matched_step)
{
    char want[ZT_TOTP_DIGITS];
    if (code == NULL || now < 0 || now > INT64_MAX / 2 || !parse_code(code, want))
        return ZT_TOTP_WRONG;
    int64_t cur = now / ZT_TOTP_PERIOD;
    int64_t found = -1;
    bool replay = false;
    /* Every step in the window is computed and compared, match or not. */
    for (int64_t step = cur - ZT_TOTP_WINDOW; step <= cur + ZT_TOTP_WINDOW; step++) {
        char got[ZT_TOTP_DIGITS + 1];
        if (step < 0 || zt_totp_generate(secret, len, step * ZT_TOTP_PERIOD, ZT_TOTP_DIGITS,
                                         ZT_TOTP_PERIOD, got) != 0)
            continue;
        bool eq = zt_ct_eq(got, want, ZT_TOTP_DIGITS);
        zt_wipe(got, sizeof(got));
        if (eq && step > last_used_step && found < 0)
            found = step;
        else if (eq && step <= last_used_step)
            replay = true;
    }
    zt_wipe(want, sizeof(want));
    if (found >= 0) {
        *matched_step = found;
        return ZT_TOTP_OK;
    }
    return replay ? ZT_TOTP_REPLAY : ZT_TOTP_WRONG;
}

int zt_totp_base32(const unsigned char *in, size_t len, char *out, size_t outcap)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    if (outcap < ZT_TOTP_BASE32_LEN(len) + 1)
        return -ENOSPC;
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alpha[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alpha[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return 0;
}

/* Everything but RFC 3986 unreserved characters as %XX. */
static int pct_encode(zt_buf *out, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = zt_buf_append_char(out, (char)*p);
        } else {
            char e[3] = {'%', hexd[*p >> 4], hexd[*p & 15]};
            rc = zt_buf_append(out, e, sizeof(e));
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int zt_totp_uri(zt_buf *out, const char *issuer, const char *account, const unsigned char *secret,
                size_t len)
{
    char b32[ZT_TOTP_BASE32_LEN(64) + 1];
    if (len == 0 || len > 64 || zt_totp_base32(secret, len, b32, sizeof(b32)) != 0)
        return -EINVAL;
    int rc = zt_buf_append_str(out, "otpauth://totp/");
    if (rc == 0)
        rc = pct_encode(out, issuer);
    if (rc == 0)
        rc = zt_buf_append_char(out, ':');
    if (rc == 0)
        rc = pct_encode(out, account);
    if (rc == 0)
        rc = zt_buf_printf(out, "?secret=%s&issuer=", b32);
    if (rc == 0)
        rc = pct_encode(out, issuer);
    if (rc == 0)
        rc = zt_buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d", ZT_TOTP_DIGITS,
                           ZT_TOTP_PERIOD);
    zt_wipe(b32, sizeof(b32));
    return rc;
}

int zt_totp_qr_svg(zt_buf *out, const char *text)
{
    errno = 0;
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    int w = qr->width;
    int size = w + 2 * QUIET_ZONE;
    int rc =
        zt_buf_printf(out,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                      "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
                      "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                      size, size, size * SVG_PX, size * SVG_PX, size, size);
    /* One rectangle per horizontal run of dark modules: M x y, h run, v 1, h -run, close. */
    for (int y = 0; y < w && rc == 0; y++) {
        for (int x = 0; x < w && rc == 0;) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1))
                run++;
            rc = zt_buf_printf(out, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
            x += run;
        }
    }
    if (rc == 0)
        rc = zt_buf_append_str(out, "\"/></svg>");
    zt_wipe(qr->data, (size_t)w * (size_t)w); /* the modules encode the secret */
    QRcode_free(qr);
    return rc;
}

/* ---- recovery codes ---- */

/* Canonical 12 characters from typed input: separators dropped, case folded, O/I/L read as
 * 0/1/1. False when it cannot be a code. */
static bool recovery_canon(const char *code, char out[RECOVERY_CHARS])
{
    size_t n = 0;
    for (size_t i = 0; code[i] != '\0'; i++) {
        if (i >= RECOVERY_INPUT_MAX)
            return false;
        char c = code[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == 'o')
            c = '0';
        else if (c == 'i' || c == 'l')
            c = '1';
        if (c == '\0' || strchr(crockford, c) == NULL || n == RECOVERY_CHARS)
            return false;
        out[n++] = c;
    }
    return n == RECOVERY_CHARS;
}

static void recovery_hash(const unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], const char *user,
                          const char canon[RECOVERY_CHARS],
                          unsigned char out[ZT_TOTP_RECOVERY_HASH_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, ZT_TOTP_RECOVERY_KEY_LEN, ZT_TOTP_RECOVERY_HASH_LEN);
    /* user, NUL, code: the NUL keeps ("ab","c...") and ("a","bc...") apart */
    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
    crypto_generichash_update(&st, (const unsigned char *)canon, RECOVERY_CHARS);
    crypto_generichash_final(&st, out, ZT_TOTP_RECOVERY_HASH_LEN);
    zt_wipe(&st, sizeof(st));
}

void zt_totp_recovery_new(const unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], const char *user,
                          char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1],
                          zt_totp_recovery *stored)
{
    for (size_t k = 0; k < ZT_TOTP_RECOVERY_COUNT; k++) {
        unsigned char r[RECOVERY_CHARS];
        char canon[RECOVERY_CHARS];
        zt_random(r, sizeof(r));
        for (size_t i = 0; i < RECOVERY_CHARS; i++)
            canon[i] = crockford[r[i] & 31]; /* 256 is a multiple of 32: no bias */
        char *c = codes[k];
        memcpy(c, canon, 4);
        c[4] = '-';
        memcpy(c + 5, canon + 4, 4);
        c[9] = '-';
        memcpy(c + 10, canon + 8, 4);
        c[ZT_TOTP_RECOVERY_LEN] = '\0';
        recovery_hash(key, user, canon, stored->hash[k]);
        zt_wipe(r, sizeof(r));
        zt_wipe(canon, sizeof(canon));
    }
}

bool zt_totp_recovery_use(const unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], const char *user,
                          const char *code, zt_totp_recovery *stored, unsigned *slot)
{
    char canon[RECOVERY_CHARS];
    if (code == NULL || !recovery_canon(code, canon))
        return false;
    unsigned char h[ZT_TOTP_RECOVERY_HASH_LEN];
    recovery_hash(key, user, canon, h);
    zt_wipe(canon, sizeof(canon));
    /* Every slot is compared; which one matched is selected without a branch. */
    unsigned found = 0, idx = 0;
    for (unsigned i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++) {
        unsigned live = (unsigned)!sodium_is_zero(stored->hash[i], ZT_TOTP_RECOVERY_HASH_LEN);
        unsigned eq = (unsigned)zt_ct_eq(h, stored->hash[i], ZT_TOTP_RECOVERY_HASH_LEN);
        unsigned take = eq & live & (found ^ 1u);
        idx |= i & (0u - take);
        found |= take;
    }
    zt_wipe(h, sizeof(h));
    if (!found)
        return false;
    zt_wipe(stored->hash[idx], ZT_TOTP_RECOVERY_HASH_LEN);
    if (slot != NULL)
        *slot = idx;
    return true;
}

unsigned zt_totp_recovery_left(const zt_totp_recovery *stored)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++)
        n += !sodium_is_zero(stored->hash[i], ZT_TOTP_RECOVERY_HASH_LEN);
    return n;
}
