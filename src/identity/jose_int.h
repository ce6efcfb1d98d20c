/* What the two JWS readers of this folder share (jwt.c: the assertions' verifier, jws.c: client
 * assertions): the strict split of the compact serialization and the decoding of one segment.
 * Private to src/identity. */
#ifndef ZT_IDENTITY_JOSE_INT_H
#define ZT_IDENTITY_JOSE_INT_H

#include <stddef.h>

#include <jansson.h>

/* A header segment longer than this (base64url) is refused before it is decoded. */
#define ZT_JOSE_MAX_HEADER_B64 1024

/* Splits t (len bytes) into three segments at dot[0] and dot[1]: only base64url bytes and exactly
 * two dots (no whitespace, padding or trailing garbage), a header of at most
 * ZT_JOSE_MAX_HEADER_B64. NULL, or a static reason why not. */
const char *zt_jose_split(const char *t, size_t len, size_t dot[2]);
/* Decodes one segment and parses it as a JSON object (duplicate members refused); NULL when
 * either fails. */
json_t *zt_jose_segment_json(const char *s, size_t n);

#endif
