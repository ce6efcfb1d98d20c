#include "proxy/path.h"

#include <string.h>

#include "lib/str.h"

static const char HEX_UPPER[] = "0123456789ABCDEF";

static bool is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Visible ASCII minus the delimiters that end a path ('?', '#'); '%' is handled by the caller. */
static bool raw_path_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7F && c != '#' && c != '?';
}

/* One %XX escape at in[0..2]: decoded when unreserved, else re-emitted with uppercase hex.
 * Returns the bytes written to out, or 0 with *why. */
static size_t decode_escape(const char *in, size_t left, char *out, const char **why)
{
    int hi = left >= 3 ? zt_hexval(in[1]) : -1;
    int lo = left >= 3 ? zt_hexval(in[2]) : -1;
    if (hi < 0 || lo < 0) {
        *why = "invalid percent escape in the path";
        return 0;
    }
    unsigned char c = (unsigned char)(hi * 16 + lo);
    if (c == 0) {
        *why = "%00 in the path";
        return 0;
    }
    /* No path needs an encoded control byte; an upstream that decodes one could split a
     * header or a log line with it. */
    if (c < 0x20 || c == 0x7F) {
        *why = "encoded control character in the path";
        return 0;
    }
    if (is_unreserved(c)) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '%';
    out[1] = HEX_UPPER[hi];
    out[2] = HEX_UPPER[lo];
    return 3;
}

/* Pass 1: validate bytes and canonicalise escapes. Never grows: an escape stays 3 bytes or
 * becomes 1. */
static int decode_path(const char *in, size_t n, char *out, size_t *m, const char **why)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            size_t k = decode_escape(in + i, n - i, out + w, why);
            if (k == 0)
                return -1;
            w += k;
            i += 2;
            continue;
        }
        if (!raw_path_byte_ok(c)) {
            *why = "invalid character in the path";
            return -1;
        }
        out[w++] = (char)c;
    }
    *m = w;
    return 0;
}

static bool is_dot(const char *s, size_t n)
{
    return n == 1 && s[0] == '.';
}

static bool is_dotdot(const char *s, size_t n)
{
    return n == 2 && s[0] == '.' && s[1] == '.';
}

/* Length of an encoded or raw slash/backslash at s, 0 if none. Pass 1 made escapes uppercase. */
static size_t slash_like_at(const char *s, size_t n)
{
    if (n >= 1 && s[0] == '\\')
        return 1;
    if (n >= 3 && s[0] == '%' && ((s[1] == '2' && s[2] == 'F') || (s[1] == '5' && s[2] == 'C')))
        return 3;
    return 0;
}

/* Only dots and (encoded) spaces, at least one dot: "...", ".%20", "..%20%20". Windows
 * servers cut trailing dots and spaces, which can leave "." or "..". */
static bool only_dots_and_spaces(const char *s, size_t n)
{
    bool dot = false;
    for (size_t i = 0; i < n;) {
        if (s[i] == '.') {
            dot = true;
            i++;
        } else if (n - i >= 3 && memcmp(s + i, "%20", 3) == 0) {
            i += 3;
        } else {
            return false;
        }
    }
    return dot;
}

/* A piece of a segment between slash-like separators, cut at its first ';' (Java containers
 * drop ";params"), must not be a dot segment, nor become one once trailing dots and spaces are
 * cut: the upstream may see one where we saw a name. */
static bool piece_hides_dots(const char *s, size_t n)
{
    const char *semi = memchr(s, ';', n);
    size_t base = semi != NULL ? (size_t)(semi - s) : n;
    return only_dots_and_spaces(s, base);
}

/* A segment that is not itself "." or "..": refuse "..%2F", "%5C..", "..;x", ".;" and the like. */
static bool segment_hides_dots(const char *s, size_t n)
{
    size_t start = 0;
    size_t i = 0;
    while (i <= n) {
        size_t sep = i < n ? slash_like_at(s + i, n - i) : 0;
        if (i == n || sep > 0) {
            if (piece_hides_dots(s + start, i - start))
                return true;
            i += sep > 0 ? sep : 1;
            start = i;
        } else {
            i++;
        }
    }
    return false;
}

/* Pass 2, in place: resolve dot segments (RFC 3986 §5.2.4) and merge slashes. The output is
 * built as "/seg" pieces and never overtakes the input, so one buffer serves both. */
static int resolve_segments(char *p, size_t m, size_t *out_n, const char **why)
{
    if (m == 0 || p[0] != '/') {
        *why = "the path must start with '/'";
        return -1;
    }
    size_t w = 0;
    size_t r = 1;
    bool trailing_slash = false;
    for (;;) {
        size_t start = r;
        while (r < m && p[r] != '/')
            r++;
        size_t len = r - start;
        bool last = r >= m;
        if (len == 0 || is_dot(p + start, len)) {
            trailing_slash = last;
        } else if (is_dotdot(p + start, len)) {
            if (w == 0) {
                *why = "the path climbs above the root";
                return -1;
            }
            while (p[--w] != '/')
                ;
            trailing_slash = last;
        } else {
            if (segment_hides_dots(p + start, len)) {
                *why = "dot segment behind an encoded slash or ';'";
                return -1;
            }
            p[w++] = '/';
            memmove(p + w, p + start, len);
            w += len;
            trailing_slash = false;
        }
        if (last)
            break;
        r++;
    }
    if (trailing_slash || w == 0)
        p[w++] = '/';
    p[w] = '\0';
    *out_n = w;
    return 0;
}

int zt_path_normalize(const char *in, size_t n, char *out, size_t *out_n, unsigned *flags,
                      const char **why)
{
    size_t m = 0;
    *flags = 0;
    *out_n = 0;
    out[0] = '\0';
    if (decode_path(in, n, out, &m, why) < 0)
        goto fail;
    if (resolve_segments(out, m, out_n, why) < 0)
        goto fail;
    /* Flags describe what goes on, so a slash inside a segment that ".." removed is no
     * concern, and normalising the result again gives the same flags. */
    for (size_t i = 0; i < *out_n; i++)
        if (slash_like_at(out + i, *out_n - i) > 0)
            *flags |= ZT_PATH_ENCODED_SLASH;
    return 0;
fail:
    out[0] = '\0';
    *out_n = 0;
    return -1;
}

bool zt_path_query_valid(const char *q, size_t n, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c <= 0x20 || c >= 0x7F || c == '#') {
            *why = "invalid character in the query";
            return false;
        }
    }
    return true;
}

/* Segment [s, s+n) ends in '.' or %20 (what Windows servers cut). */
static bool ends_trimmable(const char *s, size_t n)
{
    return (n >= 1 && s[n - 1] == '.') || (n >= 3 && memcmp(s + n - 3, "%20", 3) == 0);
}

unsigned zt_path_ambiguity(const char *path, size_t n)
{
    unsigned how = 0;
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || path[i] == '/') {
            if (i > seg && ends_trimmable(path + seg, i - seg))
                how |= ZT_PATH_READ_TRIM_DOTS;
            seg = i + 1;
            continue;
        }
        if (path[i] >= 'A' && path[i] <= 'Z')
            how |= ZT_PATH_READ_FOLD_CASE;
        else if (path[i] == ';')
            how |= ZT_PATH_READ_STRIP_PARAMS;
    }
    return how;
}

/* One segment as read `how`: its new length (it stays in place, only shortened). */
static size_t read_segment(char *seg, size_t n, unsigned how)
{
    if (how & ZT_PATH_READ_STRIP_PARAMS) {
        const char *semi = memchr(seg, ';', n);
        if (semi != NULL)
            n = (size_t)(semi - seg);
    }
    while ((how & ZT_PATH_READ_TRIM_DOTS) && n > 0 && ends_trimmable(seg, n))
        n -= seg[n - 1] == '.' ? 1 : 3;
    if (how & ZT_PATH_READ_FOLD_CASE)
        for (size_t i = 0; i < n; i++)
            if (seg[i] >= 'A' && seg[i] <= 'Z')
                seg[i] = (char)(seg[i] - 'A' + 'a');
    return n;
}

size_t zt_path_reading(const char *path, size_t n, unsigned how, char *out)
{
    size_t w = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && path[i] == '/')
            i++;
        size_t start = i;
        while (i < n && path[i] != '/')
            i++;
        if (i == start)
            break;
        out[w] = '/';
        memcpy(out + w + 1, path + start, i - start);
        size_t len = read_segment(out + w + 1, i - start, how);
        if (len > 0)
            w += 1 + len;
    }
    if (w == 0 || (n > 0 && path[n - 1] == '/'))
        out[w++] = '/';
    out[w] = '\0';
    return w;
}
