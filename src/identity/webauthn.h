/* WebAuthn relying-party verification core (W3C WebAuthn Level 2/3, §7.1 registration and §7.2
 * authentication). Pure functions over the bytes a browser sends: no I/O, no store, no HTTP.
 *
 * Verified: clientDataJSON (type, challenge, origin, crossOrigin/topOrigin), authenticator data
 * (rpIdHash, flags UP/UV/BE/BS/AT/ED, sign counter, attested credential data, strict layout),
 * COSE public keys ES256 (-7), EdDSA/Ed25519 (-8) and RS256 (-257), assertion signatures and the
 * sign-counter clone rule, and the attestation formats `none`, `packed` (self and x5c),
 * `fido-u2f`, `tpm` (TPMS_ATTEST certInfo: magic, type, extraData, attested name; TPMT_PUBLIC
 * pubArea equal to the credential key, RSA or P-256; sig by the AIK certificate x5c[0], whose
 * profile is checked: v3, empty subject, SAN with TPM manufacturer/model/version, EKU
 * 2.23.133.8.3, not a CA, AAGUID extension) and `apple` (x5c[0] extension
 * 1.2.840.113635.100.8.2 nonce = SHA-256(authData || clientDataHash), its key equals the
 * credential's).
 * Attestation trust: for every x5c format each certificate after the first must have issued the
 * one before it (the chain as given). Without trust anchors nothing more is checked (no root,
 * no validity dates): such a statement reports "basic (unverified chain)". With trust anchors
 * (expect.attestation_roots, auth.passkey_attestation: required) the chain must verify to one
 * of them with its dates at expect.now, and reports "basic (trusted root)". `android-key`,
 * `android-safetynet` and `compound` are refused with "attestation format X not supported yet";
 * extension outputs are parsed for layout only, never interpreted.
 *
 * Every refusal returns a zt_webauthn_result and sets *why to a static English string for the
 * audit record (never the secret challenge). Ownership: outputs are copied into the caller's
 * structs, except zt_webauthn_auth_data, whose pointers point into the caller's input. */
#ifndef ZT_IDENTITY_WEBAUTHN_H
#define ZT_IDENTITY_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Limits on what a peer controls. */
#define ZT_WEBAUTHN_CLIENT_DATA_MAX 8192 /* clientDataJSON bytes */
#define ZT_WEBAUTHN_AUTH_DATA_MAX 8192   /* authenticatorData bytes */
#define ZT_WEBAUTHN_ATT_OBJ_MAX 32768    /* attestationObject bytes (certificates included) */
#define ZT_WEBAUTHN_SIG_MAX 1024         /* assertion signature bytes */
#define ZT_WEBAUTHN_CRED_ID_MAX 1023     /* §7.1 step 21 */
#define ZT_WEBAUTHN_COSE_MAX 1024        /* COSE key bytes (RSA up to 4096 bits) */
#define ZT_WEBAUTHN_CHALLENGE_MAX 256    /* decoded challenge bytes (we issue 32; some RPs more) */
#define ZT_WEBAUTHN_ORIGIN_MAX 256
#define ZT_WEBAUTHN_TYPE_MAX 32
#define ZT_WEBAUTHN_USER_HANDLE_MAX 64 /* user.id, §5.4.3 */

/* Authenticator data flags (§6.1). */
#define ZT_WEBAUTHN_UP 0x01
#define ZT_WEBAUTHN_UV 0x04
#define ZT_WEBAUTHN_BE 0x08
#define ZT_WEBAUTHN_BS 0x10
#define ZT_WEBAUTHN_AT 0x40
#define ZT_WEBAUTHN_ED 0x80

/* COSE algorithm identifiers we verify. */
#define ZT_WEBAUTHN_ES256 (-7)
#define ZT_WEBAUTHN_EDDSA (-8)
#define ZT_WEBAUTHN_RS256 (-257)

typedef enum zt_webauthn_result {
    ZT_WEBAUTHN_OK = 0,
    ZT_WEBAUTHN_BAD_INPUT,     /* malformed JSON, CBOR, authData, base64url, key; over a limit */
    ZT_WEBAUTHN_MISMATCH,      /* type, challenge, origin, crossOrigin, rpIdHash, user handle */
    ZT_WEBAUTHN_BAD_SIGNATURE, /* assertion or attestation signature, attestation certificate or
                                  chain, attested key/nonce/extraData not this credential's */
    ZT_WEBAUTHN_FLAGS,         /* UP, UV, BE/BS */
    ZT_WEBAUTHN_CLONED,        /* sign counter did not grow: refuse and raise a detection */
    ZT_WEBAUTHN_UNSUPPORTED,   /* algorithm or attestation format not (yet) accepted */
    ZT_WEBAUTHN_UNTRUSTED,     /* attestation required: none/self, or no chain to a trusted root */
} zt_webauthn_result;

/* What the relying party expects of a ceremony. */
typedef struct zt_webauthn_expect {
    const char *rp_id;              /* e.g. "portal.example.com" */
    const char *const *origins;     /* exact matches, e.g. "https://portal.example.com" */
    size_t n_origins;               /* at least one */
    const unsigned char *challenge; /* the raw bytes sent in the options */
    size_t challenge_len;           /* 1..ZT_WEBAUTHN_CHALLENGE_MAX */
    bool require_uv;                /* userVerification "required" */
    const int *algs;                /* registration: allowed COSE algs; NULL: the three above */
    size_t n_algs;
    /* Registration: non-NULL = attestation required. The statement must carry an x5c chain
     * that X509_verify_cert accepts up to one of these certificates (each one a trust anchor,
     * intermediates included, as the FIDO metadata service lists them; purpose any; dates
     * checked at `now`); none and self attestation are ZT_WEBAUTHN_UNTRUSTED. */
    X509_STORE *attestation_roots;
    int64_t now; /* Unix seconds, for the certificate dates */
} zt_webauthn_expect;

typedef struct zt_webauthn_client_data {
    char type[ZT_WEBAUTHN_TYPE_MAX + 1];
    unsigned char challenge[ZT_WEBAUTHN_CHALLENGE_MAX];
    size_t challenge_len;
    char origin[ZT_WEBAUTHN_ORIGIN_MAX + 1];
    bool cross_origin;   /* crossOrigin present and true */
    bool has_top_origin; /* topOrigin present */
} zt_webauthn_client_data;

/* Parsed authenticator data. Pointers point into the input and live as long as it does. */
typedef struct zt_webauthn_auth_data {
    const unsigned char *rp_id_hash; /* 32 bytes */
    uint8_t flags;
    uint32_t sign_count;
    /* Only when flags has AT: */
    const unsigned char *aaguid; /* 16 bytes */
    const unsigned char *cred_id;
    size_t cred_id_len;
    const unsigned char *cose_key; /* the COSE_Key CBOR item, exactly */
    size_t cose_key_len;
    /* Only when flags has ED: the extensions CBOR map, exactly. */
    const unsigned char *ext;
    size_t ext_len;
} zt_webauthn_auth_data;

/* A credential to store after a successful registration. */
typedef struct zt_webauthn_credential {
    unsigned char id[ZT_WEBAUTHN_CRED_ID_MAX];
    size_t id_len;
    unsigned char cose_key[ZT_WEBAUTHN_COSE_MAX]; /* store form of the public key */
    size_t cose_key_len;
    int alg;
    uint32_t sign_count;
    bool uv, be, bs;
    unsigned char aaguid[16];
    char fmt[16];                 /* "none", "packed", "fido-u2f", "tpm", "apple" */
    const char *attestation_type; /* static: "none", "self", "basic (unverified chain)",
                                     "basic (trusted root)" */
} zt_webauthn_credential;

/* The stored credential record an assertion is checked against. */
typedef struct zt_webauthn_stored {
    const unsigned char *cose_key;
    size_t cose_key_len;
    uint32_t sign_count;
    bool be;
    const unsigned char *user_handle; /* user.id of the owning account */
    size_t user_handle_len;
} zt_webauthn_stored;

typedef struct zt_webauthn_assertion_result {
    uint32_t sign_count; /* the new counter to store (after OK only) */
    bool uv, be, bs;
} zt_webauthn_assertion_result;

/* clientDataJSON: a UTF-8 JSON object (a leading BOM is skipped, duplicate keys refused) with
 * string `type`, `challenge` (strict base64url without padding, decoded into out->challenge),
 * `origin`, optional boolean `crossOrigin` and string `topOrigin`. Unknown keys are ignored.
 * Only parses; the caller (or the verify functions) compares. */
zt_webauthn_result zt_webauthn_parse_client_data(const unsigned char *json, size_t len,
                                                 zt_webauthn_client_data *out, const char **why);

/* Authenticator data per §6.1: 37 fixed bytes, attested credential data when AT (credential id
 * at most 1023 bytes, a COSE key CBOR item), the extensions CBOR map exactly when ED, nothing
 * after. BS without BE is refused (ZT_WEBAUTHN_FLAGS); all else that is wrong is BAD_INPUT. */
zt_webauthn_result zt_webauthn_parse_auth_data(const unsigned char *p, size_t n,
                                               zt_webauthn_auth_data *out, const char **why);

/* A COSE_Key (exactly n bytes of one CBOR map) to an OpenSSL public key: ES256 (kty 2, crv 1,
 * 32-byte x and y, point checked on the curve), EdDSA (kty 1, crv 6, 32-byte x), RS256 (kty 3,
 * n of 2048..4096 bits, e). *alg receives the COSE alg. The caller frees *out. */
zt_webauthn_result zt_webauthn_cose_key(const unsigned char *p, size_t n, int *alg, EVP_PKEY **out,
                                        const char **why);

/* Registration (§7.1 steps 4-21, in order); out is filled only on OK. */
zt_webauthn_result zt_webauthn_verify_registration(const zt_webauthn_expect *exp,
                                                   const unsigned char *client_data_json,
                                                   size_t cdlen,
                                                   const unsigned char *attestation_object,
                                                   size_t aolen, zt_webauthn_credential *out,
                                                   const char **why);

/* The trust anchors for zt_webauthn_expect.attestation_roots: every certificate of a PEM
 * bundle (at least one). NULL with *why set when the file cannot be read or holds none. */
X509_STORE *zt_webauthn_roots_load(const char *path, const char **why);

/* Authentication (§7.2 steps 3-13, in order). user_handle may be NULL (not sent); when given it
 * must equal cred->user_handle. ZT_WEBAUTHN_CLONED means everything verified but the counter:
 * the caller refuses the sign-in and raises a detection. out is filled only on OK. */
zt_webauthn_result
zt_webauthn_verify_assertion(const zt_webauthn_expect *exp, const zt_webauthn_stored *cred,
                             const unsigned char *client_data_json, size_t cdlen,
                             const unsigned char *auth_data, size_t adlen, const unsigned char *sig,
                             size_t siglen, const unsigned char *user_handle, size_t uhlen,
                             zt_webauthn_assertion_result *out, const char **why);

#endif
