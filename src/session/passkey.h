/* Passkeys and security keys: the WebAuthn ceremonies as a service of the session layer, the
 * one place that issues and consumes challenges, builds the options a browser passes to
 * navigator.credentials, and verifies what comes back (identity/webauthn.h does the bytes; the
 * store keeps credentials and challenges). Front-ends (the portal's JSON endpoints) only parse
 * and answer HTTP around these calls; what a verified assertion earns (a session, a second
 * factor) is the caller's next step through session/signin.h.
 *
 * Challenges: 32 CSPRNG bytes, kept in the store under the browser's binding (SHA-256 of a
 * random HttpOnly SameSite=Strict cookie the options call sets) and the purpose, with the user
 * and session that asked, for ZT_PASSKEY_TIMEOUT_S. A verify takes its challenge (read and
 * delete in one statement): a replay, a challenge from another browser, an expired one or none
 * fail the same way, and the ceremony must start again. Any event loop, any gateway on the
 * same state directory can take it. */
#ifndef ZT_SESSION_PASSKEY_H
#define ZT_SESSION_PASSKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "store/store.h"

#define ZT_PASSKEY_TIMEOUT_S 300         /* options.timeout and the challenge's life */
#define ZT_PASSKEY_BINDING_COOKIE_LEN 43 /* base64url of 32 random bytes */
#define ZT_PASSKEY_ID_B64_MAX 1368       /* base64url of ZT_STORE_WA_CRED_ID_MAX bytes */
#define ZT_PASSKEY_NAME_DEFAULT "Passkey"

/* Every outcome a front-end must tell apart; zt_passkey_status_code/http give the contract's
 * error code and HTTP status. */
typedef enum zt_passkey_status {
    ZT_PASSKEY_OK = 0,
    ZT_PASSKEY_NO_CHALLENGE,  /* none for this browser: never asked, replayed, other browser */
    ZT_PASSKEY_EXPIRED,       /* the challenge timed out */
    ZT_PASSKEY_BAD_INPUT,     /* malformed JSON, base64url, CBOR, clientDataJSON, name */
    ZT_PASSKEY_MISMATCH,      /* challenge, origin, RP ID, type do not match this ceremony */
    ZT_PASSKEY_BAD_SIGNATURE, /* assertion or attestation signature */
    ZT_PASSKEY_FLAGS,         /* user presence / verification missing */
    ZT_PASSKEY_UNSUPPORTED,   /* algorithm or attestation format */
    ZT_PASSKEY_UNKNOWN_CRED,  /* no such credential (or not this user's) */
    ZT_PASSKEY_USER_MISMATCH, /* userHandle is not the credential owner's */
    ZT_PASSKEY_CLONED,        /* sign counter went backwards: refused, detection raised */
    ZT_PASSKEY_RACE,          /* the counter moved under this assertion (a parallel use) */
    ZT_PASSKEY_EXISTS,        /* registration: credential id registered already */
    ZT_PASSKEY_FULL,          /* registration: the user's cap */
    ZT_PASSKEY_WRONG_SESSION, /* the challenge was asked by another session or user */
    ZT_PASSKEY_NOT_ALLOWED,   /* its AAGUID is not in auth.passkey_aaguids */
    ZT_PASSKEY_ATTESTATION,   /* auth.passkey_attestation: required, and none trusted */
    ZT_PASSKEY_ERROR,         /* store failure or out of memory: fail closed */
} zt_passkey_status;

const char *zt_passkey_status_code(zt_passkey_status s); /* "invalid_challenge", ... */
int zt_passkey_status_http(zt_passkey_status s);         /* 400, 401, 409, 503 */

/* Which keys this gateway accepts (Entra's "Passkey (FIDO2)" method settings). */
typedef struct zt_passkey_rules {
    /* auth.passkey_aaguids: the only AAGUIDs a key may have, at registration and at every
     * sign-in (a key registered before the list narrowed is refused); none = any key. */
    const zt_cfg_word *aaguids;
    size_t n_aaguids;
    /* auth.passkey_attestation: required: the PEM bundle of trust anchors a registration's
     * attestation chain must verify to (read at each registration); NULL = not required. */
    const char *attestation_roots;
} zt_passkey_rules;

/* The relying party this gateway is for one request. */
typedef struct zt_passkey_rp {
    const char *rp_id;             /* the portal host (no port) */
    const char *origin;            /* "https://host[:port]": the only origin accepted */
    const char *name;              /* rp.name shown by authenticators */
    const zt_passkey_rules *rules; /* NULL: any key, no attestation needed */
} zt_passkey_rp;

/* An AAGUID written 8-4-4-4-12 in hex digits of either case into its 16 bytes. */
bool zt_passkey_aaguid_parse(const char *s, unsigned char out[16]);

/* A fresh binding cookie value (43 chars + NUL) and the binding it names (SHA-256 hex). */
void zt_passkey_binding_new(char cookie[ZT_PASSKEY_BINDING_COOKIE_LEN + 1],
                            char binding[ZT_STORE_WA_BINDING_LEN + 1]);
/* The binding a cookie value names; false when it is not a well-formed value. */
bool zt_passkey_binding_of(const char *cookie, size_t len,
                           char binding[ZT_STORE_WA_BINDING_LEN + 1]);

/* Who asks (options) or who must answer (verify). */
typedef struct zt_passkey_who {
    const char *binding;      /* required */
    const char *user_id;      /* NULL or "": nobody signed in (passwordless sign-in) */
    const char *session_hash; /* NULL or "": no session */
    const char *email;        /* registration: user.name */
    const char *display_name; /* registration: user.displayName ("" = the email) */
} zt_passkey_who;

/* PublicKeyCredentialCreationOptionsJSON for who (user_id required); the challenge is kept.
 * attachment: NULL, "platform" or "cross-platform". *out is a new reference. */
zt_passkey_status zt_passkey_register_options(zt_store *st, const zt_passkey_rp *rp,
                                              const zt_passkey_who *who, const char *attachment,
                                              int64_t now, json_t **out);

typedef struct zt_passkey_registered {
    unsigned char id[ZT_STORE_WA_CRED_ID_MAX]; /* the stored credential's id */
    size_t id_len;
    char id_b64[ZT_PASSKEY_ID_B64_MAX + 1];
    char name[ZT_STORE_WA_NAME_MAX + 1];
    char fmt[ZT_STORE_WA_FMT_MAX + 1];
    char attestation[ZT_STORE_WA_ATT_TYPE_MAX + 1]; /* what was verified: "basic (trusted root)" */
    char aaguid_hex[33];
    bool be;
    const char *why; /* static English detail of a refusal, for the audit record */
} zt_passkey_registered;

/* Verify a RegistrationResponseJSON (plus "name") for who and store the credential. */
zt_passkey_status zt_passkey_register_verify(zt_store *st, const zt_passkey_rp *rp,
                                             const zt_passkey_who *who, const json_t *body,
                                             int64_t now, zt_passkey_registered *out);

/* PublicKeyCredentialRequestOptionsJSON. Without a user: passwordless (empty
 * allowCredentials, userVerification required); with one: that user's credentials and
 * "preferred" (the password was the first factor). rd is kept with the challenge. */
zt_passkey_status zt_passkey_login_options(zt_store *st, const zt_passkey_rp *rp,
                                           const zt_passkey_who *who, const char *rd, int64_t now,
                                           json_t **out);

typedef struct zt_passkey_login {
    char user_id[ZT_STORE_ID_LEN + 1]; /* the credential's owner (set once it is known) */
    char session_hash[ZT_STORE_SESSION_HASH_MAX + 1]; /* the session that asked; "" none */
    char rd[ZT_STORE_WA_RD_MAX + 1];
    char id_b64[ZT_PASSKEY_ID_B64_MAX + 1]; /* the credential, for the audit record */
    char name[ZT_STORE_WA_NAME_MAX + 1];
    bool passwordless; /* the challenge was asked without a user */
    bool uv, be;
    unsigned amr;             /* ZT_AMR_* this assertion proves (session.h) */
    unsigned char aaguid[16]; /* the credential's, as registered (authentication strengths) */
    int64_t detection_id;     /* ZT_PASSKEY_CLONED: the cloned_credential detection */
    const char *why;
} zt_passkey_login;

/* Verify an AuthenticationResponseJSON against the browser's challenge: the credential by id,
 * its owner against the challenge's user (second factor) and the userHandle (required when
 * passwordless), the assertion, then the counter compare-and-set. A counter that did not grow
 * raises a cloned_credential detection (zt_risk_cloned_credential) and refuses. */
zt_passkey_status zt_passkey_login_verify(zt_store *st, const zt_passkey_rp *rp,
                                          const char *binding, const json_t *body, int64_t now,
                                          zt_passkey_login *out);

#endif
