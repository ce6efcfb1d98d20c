#include "lib/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char zt_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

bool zt_span_eq(zt_span a, zt_span b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool zt_span_ieq(zt_span a, zt_span b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (zt_ascii_lower(a.p[i]) != zt_ascii_lower(b.p[i]))
            return false;
    return true;
}

bool zt_span_ieq_cstr(zt_span a, const char *s)
{
    return zt_span_ieq(a, (zt_span){s, strlen(s)});
}

bool zt_span_istarts(zt_span a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.n >= n && zt_span_ieq((zt_span){a.p, n}, (zt_span){prefix, n});
}

zt_span zt_span_trim(zt_span s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* Length of a valid UTF-8 sequence starting at s (1..4), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int zt_json_escape(zt_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        /* Copy the longest run of plain printable ASCII in one go. */
        while (run < n && u[run] >= 0x20 && u[run] < 0x7F && u[run] != '"' && u[run] != '\\')
            run++;
        if (run > i) {
            int rc = zt_buf_append(out, s + i, run - i);
            if (rc < 0)
                return rc;
            i = run;
            continue;
        }
        unsigned char c = u[i];
        int rc;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = zt_buf_append(out, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = zt_buf_append(out, esc, 6);
            i++;
        } else {
            size_t len = utf8_seq_len(u + i, n - i);
            if (len == 0) {
                rc = zt_buf_append(out, "\\ufffd", 6);
                i++;
            } else {
                rc = zt_buf_append(out, s + i, len);
                i += len;
            }
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int zt_html_escape(zt_buf *out, const char *s)
{
    int rc = 0;
    for (; rc == 0 && s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            rc = zt_buf_append_str(out, "&amp;");
            break;
        case '<':
            rc = zt_buf_append_str(out, "&lt;");
            break;
        case '>':
            rc = zt_buf_append_str(out, "&gt;");
            break;
        case '"':
            rc = zt_buf_append_str(out, "&quot;");
            break;
        case '\'':
            rc = zt_buf_append_str(out, "&#39;");
            break;
        default:
            rc = zt_buf_append_char(out, *s);
        }
    }
    return rc;
}

int zt_json_str(zt_buf *out, const char *s, size_t n)
{
    int rc = zt_buf_append_char(out, '"');
    if (rc == 0 && s != NULL)
        rc = zt_json_escape(out, s, n);
    if (rc == 0)
        rc = zt_buf_append_char(out, '"');
    return rc;
}

bool zt_parse_u64(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
    if (n == 0)
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

void zt_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int zt_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool zt_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t n, bool lower_only)
{
    if (hex == NULL || hexlen != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = hex[2 * i], b = hex[2 * i + 1];
        int hi = zt_hexval(a), lo = zt_hexval(b);
        if (hi < 0 || lo < 0 || (lower_only && ((a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F'))))
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

long zt_urlform_decode(const char *s, size_t n, char *out, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return ZT_URLFORM_BAD;
            int hi = zt_hexval(s[i + 1]), lo = zt_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return ZT_URLFORM_BAD;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return ZT_URLFORM_BAD;
        if (o >= max)
            return ZT_URLFORM_LONG;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

void zt_put_be64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)u;
}

int64_t zt_get_be64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

bool zt_uuid_parse(const char *s, unsigned char out[16])
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t n = 0;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        if (g > 0 && *s++ != '-')
            return false;
        for (size_t i = 0; i < groups[g]; i++, s++, n++) {
            int d = zt_hexval(*s);
            if (d < 0)
                return false;
            if (n % 2 == 0)
                out[n / 2] = (unsigned char)(d << 4);
            else
                out[n / 2] |= (unsigned char)d;
        }
    }
    return *s == '\0';
}
