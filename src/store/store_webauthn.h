/* Store records of WebAuthn (passkey and security-key) credentials, schema 6 onwards: the
 * credentials each user registered, and each user's WebAuthn user handle (user.id in the
 * options, the userHandle a passkey returns at passwordless sign-in). Included by
 * store/store.h; the error codes and threading rules there apply, plus -ENOSPC (a user's
 * credential cap) and -EAGAIN (a sign counter moved under the caller).
 *
 * A credential id is unique across all users (WebAuthn §7.1 step 22: a registration that
 * presents an id already stored, for anyone, is refused). Deleting a user deletes their
 * credentials and handle. The store holds public keys only: nothing here is a secret, but a
 * credential row decides who may sign in, so every field is checked before it is written. */
#ifndef ZT_STORE_STORE_WEBAUTHN_H
#define ZT_STORE_STORE_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

/* The same limits as identity/webauthn.h (the store sits below identity and does not include
 * it; tests/unit/test_store_webauthn.c asserts they agree). */
#define ZT_STORE_WA_CRED_ID_MAX 1023 /* credential id bytes, §7.1 step 21 */
#define ZT_STORE_WA_COSE_MAX 1024    /* COSE_Key bytes */
#define ZT_STORE_WA_HANDLE_LEN 32    /* user handle: 32 CSPRNG bytes */
#define ZT_STORE_WA_AAGUID_LEN 16
#define ZT_STORE_WA_NAME_MAX 64       /* the user's label, UTF-8, no control characters */
#define ZT_STORE_WA_FMT_MAX 15        /* attestation format, [a-z0-9-]: "none", "packed" */
#define ZT_STORE_WA_ATT_TYPE_MAX 31   /* "none", "self", "basic (unverified chain)" */
#define ZT_STORE_WA_TRANSPORTS_MAX 63 /* comma list of the words below, each at most once */
#define ZT_STORE_WA_PER_USER_MAX 32   /* credentials per user */

/* Transports a credential may list (WebAuthn AuthenticatorTransport, plus "cable", the older
 * name of "hybrid"). */
#define ZT_STORE_WA_TRANSPORT_WORDS "usb", "nfc", "ble", "internal", "hybrid", "smart-card", "cable"

typedef struct zt_store_webauthn_cred {
    unsigned char id[ZT_STORE_WA_CRED_ID_MAX];
    size_t id_len;
    char user_id[ZT_STORE_ID_LEN + 1];
    char name[ZT_STORE_WA_NAME_MAX + 1];
    unsigned char cose_key[ZT_STORE_WA_COSE_MAX];
    size_t cose_key_len;
    int alg;             /* COSE: -7 ES256, -8 EdDSA, -257 RS256 */
    uint32_t sign_count; /* last counter accepted (0: the authenticator keeps none) */
    bool uv, be, bs;     /* user verified, backup eligible, backed up (bs needs be) */
    unsigned char aaguid[ZT_STORE_WA_AAGUID_LEN];
    char fmt[ZT_STORE_WA_FMT_MAX + 1];
    char attestation_type[ZT_STORE_WA_ATT_TYPE_MAX + 1];
    char transports[ZT_STORE_WA_TRANSPORTS_MAX + 1]; /* "" = not reported */
    int64_t created_at;
    int64_t last_used_at; /* 0 = never; ignored by add */
    int64_t cloned_at;    /* schema 7: when its counter went backwards (0 = never); ignored
                             by add. A marked credential signs nobody in again. */
} zt_store_webauthn_cred;

typedef int (*zt_store_webauthn_cb)(void *ctx, const zt_store_webauthn_cred *c);

/* The user's WebAuthn user handle into out. With `create`, one is made (32 CSPRNG bytes) and
 * kept the first time; it never changes afterwards. -ENOENT: no such user, or none yet and not
 * `create`. */
int zt_store_webauthn_handle(zt_store *st, const char *user_id, bool create,
                             unsigned char out[ZT_STORE_WA_HANDLE_LEN]);
/* The user a handle belongs to (passwordless sign-in). A handle that is not 32 bytes is -EINVAL
 * (no handle we made); an unknown one -ENOENT. Callers refuse both the same way. */
int zt_store_webauthn_user_by_handle(zt_store *st, const unsigned char *handle, size_t len,
                                     char user_id_out[ZT_STORE_ID_LEN + 1]);

/* Store a verified registration for c->user_id. -EEXIST: the credential id is registered
 * already (to this or another user); -ENOENT: no such user; -ENOSPC: the user has
 * ZT_STORE_WA_PER_USER_MAX credentials. */
int zt_store_webauthn_add(zt_store *st, const zt_store_webauthn_cred *c);
/* By credential id, whoever owns it (out->user_id says who). -ENOENT: unknown. */
int zt_store_webauthn_get(zt_store *st, const unsigned char *cred_id, size_t len,
                          zt_store_webauthn_cred *out);
/* The user's credentials, oldest first (an unknown user has none). */
int zt_store_webauthn_list(zt_store *st, const char *user_id, zt_store_webauthn_cb cb, void *ctx);
/* After a verified assertion: store new_count and the uv/bs flags and set last_used_at = now,
 * only if the stored counter still is `verified_count` (the counter the assertion was checked
 * against): of two assertions racing on one credential one gets -EAGAIN and must refuse the
 * sign-in. new_count must be above verified_count, or both 0 (no counter), else -EINVAL.
 * -ENOENT: unknown credential. */
int zt_store_webauthn_used(zt_store *st, const unsigned char *cred_id, size_t len,
                           uint32_t verified_count, uint32_t new_count, bool uv, bool bs,
                           int64_t now);
/* Rename / delete one of user_id's credentials. Another user's credential is -ENOENT, the same
 * as an unknown one. */
int zt_store_webauthn_rename(zt_store *st, const char *user_id, const unsigned char *cred_id,
                             size_t len, const char *name);
int zt_store_webauthn_delete(zt_store *st, const char *user_id, const unsigned char *cred_id,
                             size_t len);
/* How many usable credentials the user has: those marked cloned are refused for ever, so they
 * count as no factor (0 for an unknown user). The cap of ZT_STORE_WA_PER_USER_MAX counts them. */
int zt_store_webauthn_count(zt_store *st, const char *user_id, uint64_t *n_out);

/* A sign counter went backwards (the key may have been copied): mark the credential so it is
 * refused from now on, whatever counter it shows (zt_store_webauthn_used refuses it with
 * -EAGAIN). Marking twice keeps the first time; an unknown id changes nothing. */
int zt_store_webauthn_mark_cloned(zt_store *st, const unsigned char *cred_id, size_t len,
                                  int64_t now);

/* ---- ceremony challenges (schema 7) ----
 * The challenge of one registration or sign-in ceremony, kept until its verify call takes it.
 * In the store, so every event loop and every gateway on the same state sees it; taking it
 * deletes it, so it is used at most once. `binding` names the browser that asked (SHA-256 hex
 * of its ceremony cookie): a verify from another browser finds nothing. */
#define ZT_STORE_WA_CHALLENGE_LEN 32
#define ZT_STORE_WA_BINDING_LEN 64 /* lowercase hex */
#define ZT_STORE_WA_RD_MAX 2048    /* where to go after the sign-in (portal rd) */

typedef struct zt_store_webauthn_challenge {
    char binding[ZT_STORE_WA_BINDING_LEN + 1];
    char purpose[9]; /* "register" or "login" */
    unsigned char challenge[ZT_STORE_WA_CHALLENGE_LEN];
    char user_id[ZT_STORE_ID_LEN + 1];                /* "" = nobody yet (passwordless sign-in) */
    char session_hash[ZT_STORE_SESSION_HASH_MAX + 1]; /* "" = no session asked */
    char rd[ZT_STORE_WA_RD_MAX + 1];
    bool uv_required;
    int64_t expires_at;
} zt_store_webauthn_challenge;

/* Keep c (replacing this binding's challenge of the same purpose) and drop every challenge
 * that expired by `now`. */
int zt_store_webauthn_challenge_put(zt_store *st, const zt_store_webauthn_challenge *c,
                                    int64_t now);
/* Take (read and delete, in one statement) the binding's challenge of this purpose. -ENOENT:
 * none (never issued, taken already, or for another browser); -ETIMEDOUT: it had expired (it
 * is gone now as well). */
int zt_store_webauthn_challenge_take(zt_store *st, const char *binding, const char *purpose,
                                     int64_t now, zt_store_webauthn_challenge *out);

#endif
