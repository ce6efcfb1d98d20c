/* Small string helpers with explicit lengths: spans, ASCII case folding, JSON and HTML escaping.
 * Nothing here allocates except through a caller-given zt_buf. */
#ifndef ZT_LIB_STR_H
#define ZT_LIB_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

typedef struct zt_span {
    const char *p;
    size_t n;
} zt_span;

#define ZT_SPAN_LIT(s) ((zt_span){(s), sizeof(s) - 1})

bool zt_span_eq(zt_span a, zt_span b);
/* ASCII case-insensitive equality (HTTP field names, hosts, tokens). */
bool zt_span_ieq(zt_span a, zt_span b);
bool zt_span_ieq_cstr(zt_span a, const char *s);
bool zt_span_istarts(zt_span a, const char *prefix);
zt_span zt_span_trim(zt_span s);
char zt_ascii_lower(char c);
/* Append s as a JSON string body (no quotes): escapes ", \, control bytes, DEL and bytes that
 * are not valid UTF-8 (as \ufffd), so CR/LF/ESC/NUL from peers can never split a log record. */
int zt_json_escape(zt_buf *out, const char *s, size_t n);
/* Append s HTML-escaped (& < > " ' as entities), safe in text and in quoted attributes; a NULL s
 * appends nothing. The one escaper of every page (http, portal, console, assess report). */
int zt_html_escape(zt_buf *out, const char *s);
/* A UUID written 8-4-4-4-12 hex digits (either case), as 16 bytes: the AAGUIDs of
 * auth.passkey_aaguids and of policies' authentication strengths. False when malformed. */
bool zt_uuid_parse(const char *s, unsigned char out[16]);
/* Append "s" with quotes. */
int zt_json_str(zt_buf *out, const char *s, size_t n);
/* Parse an unsigned decimal; false on empty, non-digit or overflow past max. */
bool zt_parse_u64(const char *s, size_t n, unsigned long long max, unsigned long long *out);

/* Value of one hex digit (either case), or -1. */
int zt_hexval(char c);
/* Exactly 2n hex digits at hex[0..hexlen) into n bytes; false on a wrong length or a non-digit.
 * lower_only refuses upper-case digits (for ids we write ourselves in lower case, so one id has
 * one spelling). */
bool zt_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t n, bool lower_only);
/* Decode one application/x-www-form-urlencoded component s[0..n) ('+' is a space, %XX a byte)
 * into out, which has room for max bytes and the NUL. Strict, so two parsers never read two
 * values from one field: returns the decoded length, ZT_URLFORM_BAD on a bad or cut escape or a
 * NUL byte (raw or %00), ZT_URLFORM_LONG when the result would pass max (whichever comes
 * first). */
enum { ZT_URLFORM_BAD = -1, ZT_URLFORM_LONG = -2 };
long zt_urlform_decode(const char *s, size_t n, char *out, size_t max);
/* Big-endian 64-bit integers in 8 bytes (signed tokens and cookies carry times this way). */
void zt_put_be64(unsigned char *p, int64_t v);
int64_t zt_get_be64(const unsigned char *p);

/* Format a message into a caller's error buffer (err may be NULL or errlen 0: nothing). */
void zt_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
