/* Secrets at rest (TOTP secrets and the like): XSalsa20-Poly1305 (libsodium crypto_secretbox)
 * under a 32-byte key read from a 0600 key file. The key lives only in guarded sodium_malloc
 * memory, read-only after load, wiped on free; it never appears in a log or the database. */
#ifndef ZT_IDENTITY_SECRETBOX_H
#define ZT_IDENTITY_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct zt_secretbox zt_secretbox;

#define ZT_SECRETBOX_KEY_LEN 32
/* Stored form: version byte, 24-byte random nonce, ciphertext, 16-byte tag. */
#define ZT_SECRETBOX_VERSION 1
#define ZT_SECRETBOX_OVERHEAD (1 + 24 + 16)

/* Load the key file: exactly 32 raw bytes, a regular file owned by us, not accessible by group or
 * other (refused otherwise, with the mode in err). When it is missing and create_if_missing, a
 * new random key is written 0600 (temp file, fsync, link, fsync of the folder): losing it loses
 * every secret encrypted under it. NULL with a message in err on failure. */
zt_secretbox *zt_secretbox_load_key(const char *path, bool create_if_missing, char *err,
                                    size_t errlen);
void zt_secretbox_free(zt_secretbox *box);

/* Encrypt msg under a key derived for context (e.g. "totp:user:42"): a sealed value opened
 * under another context fails, so values cannot be swapped between rows. out needs
 * len + ZT_SECRETBOX_OVERHEAD bytes. 0, -ENOSPC or -EINVAL. */
__attribute__((warn_unused_result)) int zt_secretbox_seal(const zt_secretbox *box,
                                                          const char *context, const void *msg,
                                                          size_t len, unsigned char *out,
                                                          size_t outcap, size_t *outlen);

/* Decrypt and authenticate. 0; -EBADMSG when tampered, truncated, another key or context;
 * -ENOSPC when out is too small. out is wiped on failure. */
__attribute__((warn_unused_result)) int zt_secretbox_open(const zt_secretbox *box,
                                                          const char *context,
                                                          const unsigned char *in, size_t len,
                                                          void *out, size_t outcap, size_t *outlen);

/* A 32-byte key for another purpose (e.g. "ztgate recovery-code v1"), independent of the seal
 * keys: BLAKE2b keyed with the master key over a label. */
void zt_secretbox_derive(const zt_secretbox *box, const char *purpose,
                         unsigned char out[ZT_SECRETBOX_KEY_LEN]);

#endif
