/* Breached-password corpus in Pwned Passwords format: sorted lines "SHA1HEX:COUNT" (40 uppercase
 * hex digits, LF or CRLF endings), mapped read-only and binary-searched in place. The file is
 * outside input: every read is bounds-checked, so a damaged file can make a lookup miss, never
 * crash or read past the mapping. Replace the file by rename(2), never rewrite it in place: a
 * file truncated under a live mapping raises SIGBUS. */
#ifndef ZT_IDENTITY_BREACH_H
#define ZT_IDENTITY_BREACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_breach zt_breach;

#define ZT_BREACH_SHA1_LEN 20
/* Files up to this size are validated line by line on open; larger ones (the full Pwned
 * Passwords file is tens of GB) on ZT_BREACH_SAMPLES evenly spaced lines plus the first and last.
 */
#define ZT_BREACH_FULL_CHECK_MAX ((size_t)256 << 20)
#define ZT_BREACH_SAMPLES 65536
#define ZT_BREACH_MAX_LINE 128 /* a valid line is at most 40 + 1 + 19 + 2 bytes */

/* Open flags. */
#define ZT_BREACH_LENIENT 1u /* open even when validation finds a problem; err still says what */
#define ZT_BREACH_SAMPLED 2u /* validate on the sample whatever the size (faster start, tests) */

/* Map and validate path. On a malformed or unsorted file: NULL with "FILE:LINE: reason" in err
 * (or "FILE: byte N: reason" when only sampled), unless ZT_BREACH_LENIENT, which returns the
 * corpus anyway with the same message in err (lookups may then miss). err is "" when all is well.
 * An empty file is a valid, empty corpus. */
zt_breach *zt_breach_open(const char *path, unsigned flags, char *err, size_t errlen);
/* The same over caller memory, which must outlive the corpus (tests, fuzzing). name is used in
 * messages only. */
zt_breach *zt_breach_open_mem(const void *data, size_t len, const char *name, unsigned flags,
                              char *err, size_t errlen);
void zt_breach_close(zt_breach *b);

/* NULL b = empty corpus. */
__attribute__((warn_unused_result)) bool zt_breach_contains(const zt_breach *b,
                                                            const unsigned char sha1[20]);
/* The line's count; 0 when absent (1 for a present line whose count is unreadable). */
uint64_t zt_breach_count(const zt_breach *b, const unsigned char sha1[20]);
/* SHA-1 of the bytes as given (Pwned Passwords hashes the UTF-8 the user typed). */
__attribute__((warn_unused_result)) bool zt_breach_contains_password(const zt_breach *b,
                                                                     const void *pw, size_t len);
void zt_breach_sha1(const void *data, size_t len, unsigned char out[20]);

typedef struct zt_breach_info {
    size_t bytes;
    uint64_t lines;     /* counted only when fully checked, else 0 */
    bool fully_checked; /* every line validated (else a sample) */
    bool valid;         /* no problem found */
} zt_breach_info;

void zt_breach_get_info(const zt_breach *b, zt_breach_info *out);

#endif
