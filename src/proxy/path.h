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
 *     and so is a dot segment hidden behind an encoded slash or a ';' parameter ("..%2F",
 *     "..;x"), which an upstream might resolve where we did not;
 *   - repeated slashes are merged; a trailing slash is kept.
 * The result is idempotent: normalising it again yields the same bytes and flags.
 * out needs room for n + 1 bytes (the result is never longer than the input) and is
 * NUL-terminated. Returns 0 (out_n, flags set) or -1 with *why. */
int zt_path_normalize(const char *in, size_t n, char *out, size_t *out_n, unsigned *flags,
                      const char **why);

/* A query is passed on as received but must be visible ASCII without '#': no space, control
 * bytes, DEL or bytes >= 0x80. false with *why otherwise. */
bool zt_path_query_valid(const char *q, size_t n, const char **why);

#endif
