/* Temporary Access Passes (Entra's TAP), schema 8 onwards: a time-limited pass an admin issues
 * so a user can sign in once (or a few times, or until it expires) for one purpose, to register
 * a passkey or enrol TOTP. Included by store/store.h; the error codes and threading rules there
 * apply.
 *
 * One pass per user at most: issuing one replaces the user's previous pass, as Entra does.
 * Deleting a user deletes their pass. A revoked pass stays (so a sign-in with it is refused and
 * recorded as "revoked" rather than as a wrong password) until the next one replaces it.
 *
 * The pass itself is never stored. It is ZT_STORE_TAP_TEXT_LEN characters from the CSPRNG
 * (ZT_STORE_TAP_BITS bits), and the row keeps SHA-256("ztgate-tap-v1" NUL user_id NUL pass):
 * a fast hash is enough because the pass is not a human choice but 100 random bits, which no
 * dictionary covers and no brute force of the hash can walk within the pass's lifetime (at
 * most 30 days); a slow hash (argon2id) protects low-entropy secrets only and would make every
 * TAP sign-in cost a password check. The user id in the hash binds the row to its user: a row
 * copied to another user matches nothing. Redeeming compares hashes in constant time. */
#ifndef ZT_STORE_STORE_TAP_H
#define ZT_STORE_STORE_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

/* The pass as shown: 4 groups of 5 from a 32-letter alphabet without 0/O/1/I, joined by '-':
 * "K7QPM-3XH9R-WD2TB-N8CFA". 20 letters of 5 bits = 100 bits. What the user types is
 * normalised (ASCII case and the dashes and spaces ignored) before hashing. */
#define ZT_STORE_TAP_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#define ZT_STORE_TAP_LETTERS 20
#define ZT_STORE_TAP_BITS 100
#define ZT_STORE_TAP_TEXT_LEN 23  /* with the three dashes */
#define ZT_STORE_TAP_TYPED_MAX 64 /* longer input is not a pass (it may be a password) */
#define ZT_STORE_TAP_HASH_LEN 32  /* SHA-256 */
#define ZT_STORE_TAP_ACTOR_MAX 127
/* Lifetime bounds (Entra: 10 minutes to 30 days; default 1 hour). */
#define ZT_STORE_TAP_LIFETIME_MIN_S 600
#define ZT_STORE_TAP_LIFETIME_MAX_S (30 * 24 * 3600)
#define ZT_STORE_TAP_LIFETIME_DEFAULT_S 3600
/* Uses: 1..ZT_STORE_TAP_USES_MAX, or ZT_STORE_TAP_UNLIMITED = any number until it expires. */
#define ZT_STORE_TAP_USES_MAX 1000
#define ZT_STORE_TAP_UNLIMITED 0

/* A pass's record; the hash stays inside the store. */
typedef struct zt_store_tap {
    char user_id[ZT_STORE_ID_LEN + 1];
    char created_by[ZT_STORE_TAP_ACTOR_MAX + 1]; /* the actor that issued it */
    int64_t created_at;
    int64_t expires_at;
    int uses;             /* as issued: 1..ZT_STORE_TAP_USES_MAX, or ZT_STORE_TAP_UNLIMITED */
    int uses_left;        /* ignored (0) for an unlimited pass */
    int64_t last_used_at; /* 0 = never */
    int64_t revoked_at;   /* 0 = not revoked */
} zt_store_tap;

/* ---- the pass text (pure, no store) ---- */

/* A new pass from the CSPRNG, NUL-terminated, in the shown form. */
void zt_store_tap_generate(char out[ZT_STORE_TAP_TEXT_LEN + 1]);
/* Whether typed text has the shape of a pass (after normalising): the sign-in form tries it as
 * a pass only then, so ordinary passwords never reach the pass table. */
bool zt_store_tap_shaped(const char *typed, size_t len);
/* The stored hash of typed text for user_id. -EINVAL when it is not pass-shaped. */
int zt_store_tap_hash(const char *user_id, const char *typed, size_t len,
                      unsigned char out[ZT_STORE_TAP_HASH_LEN]);

/* What a pass record is at `now`: "revoked", "expired", "used_up" or "active", in that order
 * (the order redeem checks them in, after the hash). */
const char *zt_store_tap_status(const zt_store_tap *t, int64_t now);

/* ---- records ---- */

/* Store a new pass for t->user_id (replacing any previous one). t->uses_left is set from
 * t->uses; last_used_at and revoked_at start at 0. -ENOENT: no such user; -EINVAL: lifetime
 * (expires_at - created_at) or uses out of bounds. */
int zt_store_tap_put(zt_store *st, const zt_store_tap *t,
                     const unsigned char hash[ZT_STORE_TAP_HASH_LEN]);
/* The user's pass record (whatever its state). -ENOENT: none. */
int zt_store_tap_get(zt_store *st, const char *user_id, zt_store_tap *out);
/* Revoke the user's pass. -ENOENT: none, -EALREADY: revoked already. */
int zt_store_tap_revoke(zt_store *st, const char *user_id, int64_t now);
/* Redeem a typed pass, in one write transaction: the hash is compared in constant time, then
 * the pass must be unrevoked, unexpired (now < expires_at) and have a use left, which is taken.
 * 0 with the record after the use in *out (nullable). Refusals, in the order checked:
 * -ENOENT no pass, -EACCES wrong pass, -ECANCELED revoked, -ETIMEDOUT expired, -EDQUOT no use
 * left. Nothing is written on a refusal. */
int zt_store_tap_redeem(zt_store *st, const char *user_id,
                        const unsigned char hash[ZT_STORE_TAP_HASH_LEN], int64_t now,
                        zt_store_tap *out);

#endif
