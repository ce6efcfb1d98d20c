/* Signing keys for identity assertions and the identity provider's tokens: private keys in PEM
 * files under one directory (0700, files 0600), per algorithm an active key that signs and the
 * previous key kept in the published JWKS so tokens it signed stay verifiable. Private keys never
 * leave keys.c: callers get signatures, key ids and the JWKS, never key material. Nothing here
 * logs.
 *
 * On disk: DIR/active.pem, DIR/previous.pem (optional): ECDSA P-256 (ES256), always;
 * DIR/rsa-active.pem, DIR/rsa-previous.pem (optional): RSA (RS256), only when opened with
 * ZT_KEYS_WITH_RSA (the identity provider's directory; the assertion directory stays P-256 only
 * and rsa-* files in it are never read or written). DIR/lock (flock) serialises the daemon and
 * the admin CLI. The mtime of an active file is the time of its last rotation.
 *
 * Threads: any number of threads may sign through the same zt_keys concurrently. The key set
 * lives in an immutable, reference-counted snapshot (zt_keyset) published through an atomic
 * pointer; rotation and reload build a new snapshot and swap it in, and the old one dies with
 * its last reader. Each signature uses its own EVP_PKEY_CTX over the shared, never-modified
 * EVP_PKEY, which OpenSSL 3 documents as safe (openssl-threads(7): "two threads can calculate a
 * signature using two different EVP_PKEY_CTX objects"). Rotate, reload and free must not run
 * concurrently with each other (one admin thread); free only after all signers stopped. */
#ifndef ZT_IDENTITY_KEYS_H
#define ZT_IDENTITY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/buf.h"

/* RFC 7638 JWK SHA-256 thumbprint, base64url without padding. */
#define ZT_KEYS_KID_LEN 43
/* Assertions live at most this long (see jwt.h); a demoted key must outlive them. */
#define ZT_KEYS_MAX_ASSERTION_TTL_S 300
/* A normal rotation is refused until the previous one is this old, so the key it would drop has
 * been published for at least twice the longest assertion lifetime. */
#define ZT_KEYS_MIN_ROTATE_INTERVAL_S 600
/* Cap on a key file we read (a P-256 PKCS#8 PEM is about 240 bytes, RSA-4096 about 3300). */
#define ZT_KEYS_MAX_PEM 8192
/* RSA keys we create, and the sizes we accept in rsa-*.pem (an operator may bring their own). */
#define ZT_KEYS_RSA_BITS 2048
#define ZT_KEYS_RSA_MAX_BITS 4096
/* Largest signature zt_keyset_sign writes: RSA-4096. */
#define ZT_KEYS_MAX_SIG 512

/* JWS algorithms (RFC 7518). ES256 and RS256 sign with keys of this module; PS256 is only
 * accepted from clients (jws.h). */
typedef enum zt_jws_alg {
    ZT_JWS_ES256 = 0,
    ZT_JWS_RS256,
    ZT_JWS_PS256,
} zt_jws_alg;

/* "ES256", "RS256", "PS256"; "unknown" otherwise. */
const char *zt_jws_alg_name(zt_jws_alg alg);
/* Exact, case-sensitive match of name[0..n); false for anything else (none, HS256, ...). */
bool zt_jws_alg_parse(const char *name, size_t n, zt_jws_alg *out);

typedef struct zt_keys zt_keys;
typedef struct zt_keyset zt_keyset;

/* Opens DIR, creating it (0700) and a first active key (0600) when missing. Refuses a directory
 * or key file that is group/world accessible, a symlink, not ours, or not a P-256 key.
 * 0 or negative errno (-EPERM for permissions, -EBADMSG for an unreadable key); err gets text.
 * Same as zt_keys_open_with(dir, 0, ...). */
int zt_keys_open(const char *dir, zt_keys **out, char *err, size_t errlen);

enum {
    /* Also hold RSA keys (rsa-active.pem, rsa-previous.pem; RSA-2048 created when missing) and
     * publish them as RS256. For the identity provider's keys_dir. */
    ZT_KEYS_WITH_RSA = 1u << 0,
};
/* zt_keys_open with ZT_KEYS_WITH_* flags; rotation and reload keep to the same families. */
int zt_keys_open_with(const char *dir, unsigned flags, zt_keys **out, char *err, size_t errlen);
/* Accepts NULL. No signer may still be running. */
void zt_keys_free(zt_keys *k);

enum {
    /* Rotate even if the last rotation was less than ZT_KEYS_MIN_ROTATE_INTERVAL_S ago: the
     * previous key is dropped early and assertions it signed stop verifying. */
    ZT_KEYS_ROTATE_FORCE = 1u << 0,
    /* Compromise: discard the active key too instead of demoting it (implies FORCE). Every
     * outstanding assertion stops verifying once apps refresh the JWKS. */
    ZT_KEYS_ROTATE_REVOKE = 1u << 1,
};
/* New active key of every family (P-256, and RSA when opened with it); the old active one becomes
 * previous and the old previous is deleted. -EBUSY when refused by the interval rule, other
 * negative errno on I/O or crypto failure (the key set in memory and on disk is then unchanged or
 * recoverable by the next open). */
int zt_keys_rotate(zt_keys *k, unsigned flags, char *err, size_t errlen);
/* Re-reads DIR (after `ztgate keys rotate` in another process) and swaps the snapshot in. */
int zt_keys_reload(zt_keys *k, char *err, size_t errlen);

/* The current snapshot, kept alive until zt_keyset_release. Lock-free; never NULL. */
const zt_keyset *zt_keys_acquire(const zt_keys *k);
void zt_keyset_release(const zt_keyset *s);

/* Prebuilt JWKS document ({"keys":[EC active, EC previous, RSA active, RSA previous]}, each
 * with kty, kid, use "sig" and alg), NUL-terminated, owned by the snapshot. */
const char *zt_keyset_jwks(const zt_keyset *s, size_t *len);
/* kid of the active P-256 key (ZT_KEYS_KID_LEN chars, NUL-terminated). */
const char *zt_keyset_kid(const zt_keyset *s);
/* kid of the active key that signs alg (ES256 or RS256); NULL when the set has none. */
const char *zt_keyset_kid_for(const zt_keyset *s, zt_jws_alg alg);
/* Increases with every snapshot swap: lets callers drop cached assertions after a revocation. */
uint64_t zt_keyset_generation(const zt_keyset *s);
/* ES256 over msg with the active key: SHA-256, ECDSA, JOSE R||S (each left-padded to 32 bytes).
 * 0 or -EIO. Safe to call from many threads at once. */
__attribute__((warn_unused_result)) int zt_keyset_sign_es256(const zt_keyset *s, const void *msg,
                                                             size_t n, unsigned char sig[64]);

/* JWS signature over msg with the active key of alg: ES256 gives JOSE R||S (64 bytes), RS256
 * RSASSA-PKCS1-v1_5 with SHA-256 (the modulus size). *sig_len: capacity of sig in, bytes
 * written out (ZT_KEYS_MAX_SIG always suffices). 0, -ENOENT (no key for alg: PS256, or RS256
 * without ZT_KEYS_WITH_RSA), -ENOSPC or -EIO. Safe to call from many threads at once. */
__attribute__((warn_unused_result)) int zt_keyset_sign(const zt_keyset *s, zt_jws_alg alg,
                                                       const void *msg, size_t n,
                                                       unsigned char *sig, size_t *sig_len);

/* RFC 7638 SHA-256 thumbprint of an EC P-256 or RSA (up to 8192 bits) public key, base64url
 * (the kid this module gives its keys). 0 or -EINVAL for any other key. */
int zt_keys_thumbprint(const EVP_PKEY *pkey, char kid[ZT_KEYS_KID_LEN + 1]);

/* Convenience: appends the current JWKS document to out (for serving /.ztgate/jwks.json). */
int zt_keys_jwks(const zt_keys *k, zt_buf *out);

/* A P-256 public key from its affine coordinates (32 bytes each, big-endian); NULL when the
 * point is not on the curve. One builder for the JWKS parser and WebAuthn's COSE keys. */
EVP_PKEY *zt_keys_p256_public(const unsigned char x[32], const unsigned char y[32]);

#endif
