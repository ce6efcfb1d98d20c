/* Private to src/audit: the byte-exact record layout shared by the writer and the verifier, so
 * both sides hash exactly the same bytes. Not an API for other modules. */
#ifndef ZT_AUDIT_CHAIN_H
#define ZT_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define ZT_AUDIT_HEX 64 /* hex chars of a SHA-256 */
/* Every record ends with `,"hash":"<64 hex>"}` before its newline. */
#define ZT_AUDIT_SUFFIX_LEN (9 + ZT_AUDIT_HEX + 2)
#define ZT_AUDIT_SIG_HEX 128
#define ZT_AUDIT_KEY_ID_HEX 16
/* prev of seq 1. */
#define ZT_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct zt_audit_line {
    uint64_t seq;
    const char *prev;  /* ZT_AUDIT_HEX chars inside the line */
    const char *hash;  /* ZT_AUDIT_HEX chars inside the line */
    size_t hashed_len; /* the hash covers line[0 .. hashed_len) followed by "}" */
    bool checkpoint;   /* `"type":"checkpoint"` directly follows prev */
} zt_audit_line;

/* Check the fixed frame `{"seq":N,"prev":"<hex>"[,...],"hash":"<hex>"}` of one line (no
 * newline); false when it does not match exactly. */
bool zt_audit_line_parse(const char *line, size_t len, zt_audit_line *out);
/* Only the seq of a line, for cheap look-ahead; 0 when the frame does not start right. */
uint64_t zt_audit_line_seq(const char *line, size_t len);
/* hex(SHA-256(prev_hex || "\n" || line[0..hashed_len) || "}")) into out (65 bytes). */
/* false (and out not hex) when the digest could not be computed. */
bool zt_audit_line_hash(const char *prev_hex, const char *line, size_t hashed_len, char *out);
/* The exact bytes a checkpoint signature covers. */
int zt_audit_cp_message(zt_buf *out, uint64_t seq, uint64_t count, const char *head_hex,
                        const char *time, size_t time_len);
/* First ZT_AUDIT_KEY_ID_HEX hex chars of the public key, NUL-terminated. */
void zt_audit_key_id(const unsigned char pk[32], char out[ZT_AUDIT_KEY_ID_HEX + 1]);
bool zt_audit_is_hex(const char *s, size_t n);

#endif
