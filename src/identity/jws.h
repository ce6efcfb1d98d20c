/* JWS for the identity provider (OpenID Connect): compact tokens we sign with the key directory
 * (ID tokens, logout tokens, JWT access tokens) in ES256 or RS256, and the verifier of client
 * assertions for private_key_jwt (RFC 7523 2.2 and 3, OIDC Core 9). The verifier takes keys
 * only from the client's registered JWKS, never from the token (jwk, jku, x5u, x5c are ignored),
 * and lets the token choose nothing but a key of the right type: the alg must be RS256, PS256
 * or ES256 and fit the key (no "none", no HMAC, no RSA alg on an EC key). Nothing here logs. */
#ifndef ZT_IDENTITY_JWS_H
#define ZT_IDENTITY_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/keys.h"
#include "lib/buf.h"

/* Largest token zt_jws_sign_json makes (an ID token with many groups stays far below). */
#define ZT_JWS_MAX_SIGNED 65536
/* A client assertion is a few hundred bytes (RSA-4096: about 1 KiB); anything larger is refused
 * before it is decoded. */
#define ZT_JWS_MAX_ASSERTION 8192
/* Client JWKS document and keys. */
#define ZT_JWS_MAX_JWKS 65536
#define ZT_JWS_MAX_JWKS_KEYS 16
#define ZT_JWS_MAX_KID 128
/* RSA moduli accepted in a client JWKS (RFC 7518 3.3: at least 2048 bits). */
#define ZT_JWS_RSA_MIN_BITS 2048
#define ZT_JWS_RSA_MAX_BITS 8192
#define ZT_JWS_MAX_JTI 255
/* Default cap on exp - iat (and exp - now) of a client assertion; openid-client uses 60 s. */
#define ZT_JWS_ASSERTION_MAX_LIFETIME_S 300
/* OIDC at_hash of a SHA-256 alg: 16 bytes, base64url. */
#define ZT_JWS_AT_HASH_LEN 22

/* Appends the compact JWS of payload[0..n) to out (nothing on failure): protected header
 * {"alg":ALG,"typ":TYP,"kid":KID} with the active key of alg (ES256 or RS256). typ is a media
 * type like "JWT" or "logout+jwt" ([A-Za-z0-9.+-], at most 64 chars). The payload is signed as
 * given: the caller builds the claims JSON. 0, -EINVAL (bad typ), -ENOENT (no key for alg: RS256
 * needs ZT_KEYS_WITH_RSA), -E2BIG (over ZT_JWS_MAX_SIGNED), -ENOMEM or -EIO. Thread-safe. kid_out,
 * when non-NULL, gets the kid used. */
int zt_jws_sign_json(const zt_keys *keys, zt_jws_alg alg, const char *typ, const char *payload,
                     size_t n, zt_buf *out, char kid_out[ZT_KEYS_KID_LEN + 1]);

/* OIDC Core 3.1.3.6 at_hash: the left half of SHA-256 (every alg here uses SHA-256) of the
 * access token's ASCII, base64url. 0 or -EIO. */
int zt_jws_at_hash(zt_jws_alg alg, const char *access_token, size_t n,
                   char out[ZT_JWS_AT_HASH_LEN + 1]);

typedef enum zt_jws_status {
    ZT_JWS_OK = 0,
    ZT_JWS_MALFORMED,     /* size, segment count, base64url, JSON, trailing bytes */
    ZT_JWS_BAD_ALG,       /* none, HS*, anything but RS256/PS256/ES256, alg not fitting the key */
    ZT_JWS_BAD_HEADER,    /* crit, unexpected typ */
    ZT_JWS_UNKNOWN_KID,   /* kid not in the JWKS, or no key of the alg's type */
    ZT_JWS_BAD_SIGNATURE, /* wrong length or does not verify */
    ZT_JWS_BAD_CLAIMS,    /* missing or mistyped claim (exp, jti), lifetime over the cap */
    ZT_JWS_WRONG_ISS,     /* iss or sub is not the client_id */
    ZT_JWS_WRONG_AUD,     /* aud not accepted (an array must hold accepted values only) */
    ZT_JWS_EXPIRED,
    ZT_JWS_NOT_YET_VALID, /* nbf or iat in the future */
    ZT_JWS_BAD_JWKS,
    ZT_JWS_NOMEM,
} zt_jws_status;

/* "ok", "malformed", "bad_alg", ... (stable, for audit records and tests). */
const char *zt_jws_status_name(zt_jws_status st);

/* A client's public keys (its registered JWKS): RSA (RS256/PS256) and EC P-256 (ES256). kid is
 * optional; an entry with use other than "sig", key_ops without "verify", an alg we do not
 * accept, or another kty or curve is skipped. A private member (d, p, q, dp, dq, qi, oth, k), a
 * malformed RSA/P-256 entry, an RSA modulus outside [2048, 8192] bits, a duplicate kid or no
 * usable key at all is an error. */
typedef struct zt_jws_jwks zt_jws_jwks;

zt_jws_status zt_jws_client_jwks_parse(const char *json, size_t n, zt_jws_jwks **out,
                                       const char **why);
void zt_jws_jwks_free(zt_jws_jwks *jwks);
/* Number of usable keys (for check-config messages). */
size_t zt_jws_jwks_count(const zt_jws_jwks *jwks);

typedef struct zt_jws_client_expect {
    const char *client_id;        /* iss and sub must equal it */
    const char *const *audiences; /* accepted aud values: the issuer, the token endpoint URL */
    size_t naudiences;
    int64_t now; /* seconds since the epoch */
    int64_t leeway_s;
    int64_t max_lifetime_s; /* 0 = ZT_JWS_ASSERTION_MAX_LIFETIME_S */
} zt_jws_client_expect;

/* What the caller needs after a valid assertion: store jti until exp (plus leeway) and refuse
 * it when seen again (replay). */
typedef struct zt_jws_client_assertion {
    char jti[ZT_JWS_MAX_JTI + 1];
    int64_t exp;
    int64_t iat; /* 0 when absent */
    zt_jws_alg alg;
    char kid[ZT_JWS_MAX_KID + 1]; /* of the key that verified: its kid, or its RFC 7638
                                     thumbprint when the JWKS entry has none */
} zt_jws_client_assertion;

/* Verifies a client assertion token[0..len): signature by a key of jwks, alg fitting the key,
 * iss == sub == client_id, aud accepted, exp required and in the future, iat and nbf not in the
 * future, exp - iat and exp - now within the lifetime cap, jti required. out is filled only on
 * ZT_JWS_OK (may be NULL); why gets a static reason for every status. Checking jti against
 * earlier ones is the caller's job. */
__attribute__((warn_unused_result)) zt_jws_status
zt_jws_verify_client_assertion(const zt_jws_jwks *jwks, const char *token, size_t len,
                               const zt_jws_client_expect *expect, zt_jws_client_assertion *out,
                               const char **why);

/* ---- tokens an upstream OpenID provider signed (src/federation) ---- */

/* An upstream ID token with many group claims (Entra sends up to 200) stays below this. */
#define ZT_JWS_MAX_TOKEN 32768

typedef enum zt_jws_token_kind {
    ZT_JWS_ID_TOKEN = 0, /* typ absent or "JWT" */
    ZT_JWS_LOGOUT_TOKEN, /* typ absent, "JWT" or "logout+jwt" (OIDC Back-Channel Logout 2.4) */
} zt_jws_token_kind;

/* Checks only the signature and the header of token[0..len): alg RS256, PS256 or ES256 (never
 * none or HMAC), fitting a key of jwks (the provider's JWKS, parsed with
 * zt_jws_client_jwks_parse), no crit, the typ the kind allows. On ZT_JWS_OK *payload_out gets
 * the decoded payload (malloc'd, NUL-terminated, free() it) for the caller's claim checks;
 * nothing else is read from an unverified token. why gets a static reason for every status. */
__attribute__((warn_unused_result)) zt_jws_status
zt_jws_verify_signed(const zt_jws_jwks *jwks, const char *token, size_t len, zt_jws_token_kind kind,
                     char **payload_out, size_t *n_out, const char **why);

#endif
