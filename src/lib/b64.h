/* base64url (RFC 4648 §5) without padding, strict: one spelling per value. Kept apart from
 * str.h because it needs libsodium, which the agent (it compiles str.c) does not link. */
#ifndef ZT_LIB_B64_H
#define ZT_LIB_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Strict base64url without padding (RFC 4648 §5): every byte of in[0..len) in the alphabet, no
 * '=', no whitespace, zero trailing bits (one spelling per value); at most cap bytes decoded.
 * Encoding is sodium_bin2base64(..., sodium_base64_VARIANT_URLSAFE_NO_PADDING). */
bool zt_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);

#endif
