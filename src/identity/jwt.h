/* Signed identity assertions for upstream apps: a JWT (JWS compact, ES256) sent per allowed
 * request in X-ZT-Assertion and verifiable with the JWKS served at /.ztgate/jwks.json.
 * The verifier is for our tests and admin tooling; it must never accept anything but ES256
 * signed by a key of the given JWKS, and never take a key from the token itself.
 * See docs/ASSERTION.md for the contract apps rely on. */
#ifndef ZT_IDENTITY_JWT_H
#define ZT_IDENTITY_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/keys.h"
#include "lib/buf.h"

#define ZT_JWT_MAX_TTL_S ZT_KEYS_MAX_ASSERTION_TTL_S
/* A cached assertion is reused until this long before it expires (see zt_jwt_reusable). */
#define ZT_JWT_REFRESH_BEFORE_S 60
/* Whole token, so "X-ZT-Assertion: " plus the token fits an 8 KiB header line (nginx default). */
#define ZT_JWT_MAX_TOKEN 8000
#define ZT_JWT_MAX_GROUPS 256
#define ZT_JWT_MAX_JWKS 65536
#define ZT_JWT_MAX_JWKS_KEYS 16
#define ZT_JWT_MAX_KID 128
/* 128 random bits, base64url without padding. */
#define ZT_JWT_JTI_LEN 22

/* The claim set. Signing reads it (strings are borrowed); verification fills it with strings
 * owned by the assertion until zt_jwt_assertion_dispose. */
typedef struct zt_assertion {
    const char *iss;   /* issuer: the gateway's external URL */
    const char *aud;   /* app name (verify output: the expected audience that matched) */
    const char *sub;   /* user id */
    const char *email; /* NULL = omitted */
    const char *const *groups;
    size_t ngroups;
    const char *device; /* NULL = omitted */
    const char *trust;  /* NULL = omitted */
    /* Sign side: RFC 8176 methods, comma-joined ("pwd,otp,mfa"), written as the JSON array
     * "amr"; NULL or "" = omitted. Verify side: left NULL. */
    const char *amr;
    int64_t iat;     /* seconds since the epoch */
    int64_t exp;     /* iat < exp <= iat + ZT_JWT_MAX_TTL_S */
    int64_t nbf;     /* 0 = omitted */
    const char *jti; /* sign: NULL = 128 fresh random bits; give one to log it */
    void *owned_;    /* verify output storage; NULL on the sign side */
} zt_assertion;

/* Appends the signed token to out (nothing on failure). Header {"alg":"ES256","typ":"JWT","kid"}
 * with the active key. 0, -EINVAL (missing iss/aud/sub, bad times, too many groups), -E2BIG
 * (over ZT_JWT_MAX_TOKEN), -ENOMEM or -EIO. Thread-safe; ~20 µs, so callers cache per
 * (session, app) and reuse while zt_jwt_reusable(exp, now). */
int zt_jwt_sign_assertion(const zt_keys *keys, const zt_assertion *claims, zt_buf *out);
/* Signs payload JSON as given, unchecked. For tests, fuzzing and tooling only. */
int zt_jwt_sign_payload(const zt_keys *keys, const char *json, size_t n, zt_buf *out);
/* The random jti format: out gets ZT_JWT_JTI_LEN chars plus NUL. */
void zt_jwt_new_jti(char out[ZT_JWT_JTI_LEN + 1]);

static inline bool zt_jwt_reusable(int64_t exp, int64_t now)
{
    return now < exp - ZT_JWT_REFRESH_BEFORE_S;
}

typedef enum zt_jwt_status {
    ZT_JWT_OK = 0,
    ZT_JWT_MALFORMED,     /* size, segment count, base64url, JSON, trailing bytes */
    ZT_JWT_BAD_ALG,       /* anything but ES256: none, HS256, RS256, ... */
    ZT_JWT_BAD_HEADER,    /* crit, typ other than JWT */
    ZT_JWT_UNKNOWN_KID,   /* missing kid or not in the JWKS */
    ZT_JWT_BAD_SIGNATURE, /* wrong length or does not verify with the kid's key */
    ZT_JWT_BAD_CLAIMS,    /* missing or mistyped claim, lifetime over ZT_JWT_MAX_TTL_S */
    ZT_JWT_WRONG_ISS,
    ZT_JWT_WRONG_AUD,
    ZT_JWT_EXPIRED,
    ZT_JWT_NOT_YET_VALID,
    ZT_JWT_BAD_JWKS,
    ZT_JWT_NOMEM,
} zt_jwt_status;

const char *zt_jwt_status_name(zt_jwt_status st);

/* Public keys parsed from a JWKS document. Entries that are not EC P-256 signing keys are
 * skipped; a malformed P-256 entry, a private member ("d") or a duplicate kid is an error. */
typedef struct zt_jwt_jwks zt_jwt_jwks;

zt_jwt_status zt_jwt_jwks_parse(const char *json, size_t n, zt_jwt_jwks **out, const char **why);
void zt_jwt_jwks_free(zt_jwt_jwks *jwks);

typedef struct zt_jwt_expect {
    const char *iss; /* NULL = not checked */
    const char *aud; /* required */
    int64_t now;     /* seconds since the epoch */
    int64_t leeway_s;
} zt_jwt_expect;

/* Verifies token[0..len) and, when out is non-NULL and the result is ZT_JWT_OK, fills out (free
 * with zt_jwt_assertion_dispose). why gets a static reason for any status. High-S signatures are
 * accepted: JOSE does not require low-S, and malleability does not matter for a signed token
 * (nothing keys on the signature bytes; use jti for replay tracking). */
__attribute__((warn_unused_result)) zt_jwt_status
zt_jwt_verify(const zt_jwt_jwks *jwks, const char *token, size_t len, const zt_jwt_expect *want,
              zt_assertion *out, const char **why);
/* Accepts NULL and zeroed assertions. */
void zt_jwt_assertion_dispose(zt_assertion *a);

#endif
