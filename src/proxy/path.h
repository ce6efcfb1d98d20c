/* Request path normalisation: the one place where a request path becomes the canonical string
 * that routing, policy and the upstream all see. It must never let two spellings of one
 * resource reach different decisions, and it never decodes anything that changes the path
 * structure (encoded slashes stay encoded and are flagged). */
#ifndef ZT_PROXY_PATH_H
#define ZT_PROXY_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* The normalised path holds %2F or %5C (sent in any case) or a raw '\': kept, routing decides. */
#define ZT_PATH_ENCODED_SLASH 0x1u

/* Normalise an origin-form path (the part before '?', must start with '/') in one pass:
 *   - %XX of an unreserved character (ALPHA DIGIT - . _ ~) is decoded, every other escape is
 *     kept with uppercase hex; an invalid escape, %00 or any encoded control byte is refused;
 *   - raw bytes must be visible ASCII other than '#' and '?' (no space, controls, DEL, >= 0x80);
 *   - "." and ".." segments (also spelled %2e) are resolved, a ".." above the root is refused,
 *     and so is a dot segment hidden behind an encoded slash, a ';' parameter or trailing dots
 *     and spaces ("..%2F", "..;x", "...", "..%20"): a segment of only dots and spaces, which
 *     an upstream might resolve where we did not;
 *   - repeated slashes are merged; a trailing slash is kept.
 * The result is idempotent: normalising it again yields the same bytes and flags.
 * out needs room for n + 1 bytes (the result is never longer than the input) and is
 * NUL-terminated. Returns 0 (out_n, flags set) or -1 with *why. */
int zt_path_normalize(const char *in, size_t n, char *out, size_t *out_n, unsigned *flags,
                      const char **why);

/* Ways an upstream may read a path other than byte for byte (the bits of ZT_PATH_MATCH_* in
 * core/config.h): letters without case (Express, ASP.NET, IIS), ";params" cut from each
 * segment (Tomcat, Jetty), trailing dots and spaces cut from each segment (IIS/Windows). */
#define ZT_PATH_READ_FOLD_CASE 0x2u
#define ZT_PATH_READ_STRIP_PARAMS 0x4u
#define ZT_PATH_READ_TRIM_DOTS 0x8u
#define ZT_PATH_READ_ALL                                                                           \
    (ZT_PATH_READ_FOLD_CASE | ZT_PATH_READ_STRIP_PARAMS | ZT_PATH_READ_TRIM_DOTS)

/* Which of those readings could see this normalised path differently: FOLD_CASE when it has
 * an uppercase letter, STRIP_PARAMS when it has a ';', TRIM_DOTS when a segment ends in '.' or
 * %20. 0: every upstream reads it alike. */
unsigned zt_path_ambiguity(const char *path, size_t n);

/* The normalised path as an upstream reading it `how` (ZT_PATH_READ_* bits) sees it: letters
 * lowercased, ";params" and trailing dots/%20 cut from each segment, segments left empty
 * dropped, a trailing slash kept. out needs n + 1 bytes; returns the length (NUL-terminated). */
size_t zt_path_reading(const char *path, size_t n, unsigned how, char *out);

/* A query is passed on as received but must be visible ASCII without '#': no space, control
 * bytes, DEL or bytes >= 0x80. false with *why otherwise. */
bool zt_path_query_valid(const char *q, size_t n, const char **why);

#endif
