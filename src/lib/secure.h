/* Secrets: constant-time comparison, wiping, CSPRNG tokens. Thin wrappers over libsodium so the
 * rest of the tree has one place to look for how secrets are handled. */
#ifndef ZT_LIB_SECURE_H
#define ZT_LIB_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Call once before threads start; false if libsodium cannot initialise (fatal). */
bool zt_secure_init(void);
/* Constant time in n; true when equal. Callers must use the result. */
__attribute__((warn_unused_result)) bool zt_ct_eq(const void *a, const void *b, size_t n);
void zt_wipe(void *p, size_t n);
void zt_random(void *out, size_t n);
/* n random bytes as lowercase hex into out (2n+1 bytes). */
void zt_random_hex(char *out, size_t n);

#endif
