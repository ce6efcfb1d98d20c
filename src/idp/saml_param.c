/* One field of an application/x-www-form-urlencoded text, decoded. The SAML bindings carry
 * messages larger than the portal's form limit (ZT_FORM_VALUE_MAX), so the IdP reads its few
 * fields itself, bounded by the caller's buffer. Pure: unit-tested and fuzzed. */
#include <string.h>

#include "idp/saml.h"
#include "lib/str.h"

/* Decode v (n bytes) onto out; -1 on a bad escape, %00 or out's limit. */
static int decode(const char *v, size_t n, zt_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\0')
            return -1;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = zt_hexval(v[i + 1]), lo = zt_hexval(v[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (zt_buf_append_char(out, c) != 0)
            return -1;
    }
    return 0;
}

int zt_saml_param(const char *s, size_t n, const char *name, zt_buf *out)
{
    size_t name_len = strlen(name);
    int found = 0;
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        const char *eq = memchr(s + i, '=', end - i);
        size_t key_end = eq ? (size_t)(eq - s) : end;
        if (key_end - i == name_len && memcmp(s + i, name, name_len) == 0) {
            if (found)
                return -1; /* twice: which one would the signature cover? */
            found = 1;
            size_t v = eq ? key_end + 1 : end;
            if (decode(s + v, end - v, out) != 0 || zt_buf_cstr(out) != 0)
                return -1;
        }
        i = end + 1;
    }
    return found;
}
