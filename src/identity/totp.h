/* TOTP (RFC 6238 over liboath: HMAC-SHA-1, 6 digits, 30 s) with single use of each code,
 * enrolment (secret, otpauth URI, QR code as inline SVG) and single-use recovery codes stored
 * as keyed hashes. Never logs a secret, a code, a URI or an SVG (they all carry the secret).
 * Every function takes "now" from the caller, so tests drive the clock. */
#ifndef ZT_IDENTITY_TOTP_H
#define ZT_IDENTITY_TOTP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define ZT_TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226 §4's recommendation */
#define ZT_TOTP_DIGITS 6
#define ZT_TOTP_PERIOD 30
#define ZT_TOTP_WINDOW 1    /* steps accepted either side of now */
#define ZT_TOTP_CODE_MAX 16 /* longest input accepted as a code, spaces included */
#define ZT_TOTP_BASE32_LEN(n) (((n)*8 + 4) / 5) /* without padding, NUL not counted */

/* Fresh random secret. */
void zt_totp_secret_new(unsigned char secret[ZT_TOTP_SECRET_LEN]);

/* The code for time now (seconds since the epoch) into out (digits + 1 bytes). digits 6..8,
 * period >= 1. 0 or -EINVAL. */
__attribute__((warn_unused_result)) int zt_totp_generate(const unsigned char *secret, size_t len,
                                                         int64_t now, unsigned digits,
                                                         unsigned period, char *out);

/* Results of zt_totp_verify. */
#define ZT_TOTP_OK 0
#define ZT_TOTP_WRONG (-EACCES) /* no step in the window has this code (or malformed code) */
#define ZT_TOTP_REPLAY                                                                             \
    (-EALREADY) /* right code, but its step <= last_used_step: log and notify                      \
                 */

/* Check a 6-digit code (spaces ignored) against steps now-1, now, now+1 in constant time, and
 * refuse any step <= last_used_step (0 when none yet), so each code is accepted once. On
 * ZT_TOTP_OK *matched_step is the step to store as the new last_used_step. The caller
 * rate-limits attempts per account. */
__attribute__((warn_unused_result)) int zt_totp_verify(const unsigned char *secret, size_t len,
                                                       const char *code, int64_t now,
                                                       int64_t last_used_step,
                                                       int64_t *matched_step);

/* RFC 4648 base32, upper case, no padding, NUL-terminated. 0 or -ENOSPC. */
__attribute__((warn_unused_result)) int zt_totp_base32(const unsigned char *in, size_t len,
                                                       char *out, size_t outcap);

/* otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30 with
 * issuer and account percent-encoded (everything but RFC 3986 unreserved). Appends to out. */
__attribute__((warn_unused_result)) int zt_totp_uri(zt_buf *out, const char *issuer,
                                                    const char *account,
                                                    const unsigned char *secret, size_t len);

/* text as a QR code (ECC level M) in a self-contained <svg> with one <path>, a 4-module quiet
 * zone, scalable (viewBox) with a default size of 4 px per module. Appends to out. 0, -EINVAL
 * (too long for a QR code) or -ENOMEM. */
__attribute__((warn_unused_result)) int zt_totp_qr_svg(zt_buf *out, const char *text);

/* ---- recovery codes ----
 * Ten codes "xxxx-xxxx-xxxx" over Crockford's base32 alphabet (no I, L, O, U; typed in any case,
 * with O/I/L read as 0/1/1): 60 random bits each. Stored as BLAKE2b-256 keyed with a server key
 * (derived from the secret-box key, so it is not in the database) over the user id and the code:
 * one fast hash per attempt, compared in constant time against every slot. A slow hash would
 * add nothing the key does not already give (60 random bits are out of reach online, and
 * offline without the key) and would cost one argon2id per slot per attempt. */
#define ZT_TOTP_RECOVERY_COUNT 10
#define ZT_TOTP_RECOVERY_LEN 14 /* "xxxx-xxxx-xxxx", NUL not counted */
#define ZT_TOTP_RECOVERY_HASH_LEN 32
#define ZT_TOTP_RECOVERY_KEY_LEN 32

typedef struct zt_totp_recovery {
    /* all zero = used (or never issued) */
    unsigned char hash[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_HASH_LEN];
} zt_totp_recovery;

/* New codes for user (shown once, then wiped by the caller) and their stored form. */
void zt_totp_recovery_new(const unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], const char *user,
                          char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1],
                          zt_totp_recovery *stored);

/* True when code matches an unused slot; that slot is zeroed (used) and its index put in *slot.
 * The caller persists stored before answering. Constant time over the slots. */
__attribute__((warn_unused_result)) bool
zt_totp_recovery_use(const unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], const char *user,
                     const char *code, zt_totp_recovery *stored, unsigned *slot);

/* Unused codes left. */
unsigned zt_totp_recovery_left(const zt_totp_recovery *stored);

#endif
