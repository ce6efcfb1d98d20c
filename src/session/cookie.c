/* Cookie header parsing (RFC 6265 section 4.2 as browsers send it) and Set-Cookie writing.
 * Parsing is linear in the header and never allocates; writing refuses any name or value that
 * could split the header or smuggle another attribute. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "session/session.h"

const char *zt_session_cookie_name(bool https)
{
    return https ? ZT_COOKIE_SESSION_HTTPS : ZT_COOKIE_SESSION_HTTP;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static zt_span trim_ows(const char *p, size_t n)
{
    while (n > 0 && is_ows(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_ows(p[n - 1]))
        n--;
    return (zt_span){p, n};
}

bool zt_cookie_find(const zt_span *cookie_header, const char *name, zt_span *value)
{
    if (cookie_header == NULL || cookie_header->p == NULL || name == NULL || name[0] == '\0')
        return false;
    size_t name_len = strlen(name);
    const char *p = cookie_header->p, *end = p + cookie_header->n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pair_end = semi != NULL ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq != NULL) {
            zt_span k = trim_ows(p, (size_t)(eq - p));
            if (k.n == name_len && memcmp(k.p, name, name_len) == 0) {
                zt_span v = trim_ows(eq + 1, (size_t)(pair_end - eq - 1));
                if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"') {
                    v.p++;
                    v.n -= 2;
                }
                if (value != NULL)
                    *value = v;
                return true; /* the first one wins: browsers send the most specific first */
            }
        }
        if (semi == NULL)
            break;
        p = semi + 1;
    }
    return false;
}

/* RFC 6265 cookie-name is an RFC 7230 token. */
static bool name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c) != NULL)
            return false;
    }
    return true;
}

/* RFC 6265 cookie-octet: no controls, space, DQUOTE, comma, semicolon, backslash, non-ASCII. */
static bool value_ok(const char *s)
{
    if (s == NULL)
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    }
    return true;
}

int zt_cookie_set(zt_buf *headers, const char *name, const char *value, bool https,
                  int64_t max_age_s)
{
    if (headers == NULL || !name_ok(name) || !value_ok(value))
        return -EINVAL;
    /* Browsers drop prefixed cookies that are not Secure: fail here, not silently there. */
    if (!https && (strncmp(name, "__Host-", 7) == 0 || strncmp(name, "__Secure-", 9) == 0))
        return -EINVAL;
    size_t mark = headers->len;
    int rc = zt_buf_printf(headers, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Lax%s", name,
                           value, https ? "; Secure" : "");
    if (rc == 0 && max_age_s >= 0)
        rc = zt_buf_printf(headers, "; Max-Age=%" PRId64, max_age_s);
    if (rc == 0)
        rc = zt_buf_append(headers, "\r\n", 2);
    if (rc != 0)
        headers->len = mark; /* never leave half a header line */
    return rc;
}
