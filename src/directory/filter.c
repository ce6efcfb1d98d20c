/* RFC 4515 §3 escaping of assertion values: the one place a typed e-mail or a DN becomes part
 * of a search filter, so "*)(uid=*" matches nothing instead of everything. */
#include <errno.h>
#include <stdint.h>

#include "directory/directory.h"

bool zt_dir_uac_disabled(const char *text)
{
    /* AD sends a signed 32-bit integer in decimal (flags above bit 30 make it negative). */
    const char *p = text;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > 0x80000000ull)
            return false;
    }
    if (*p != '\0' || (!neg && v > 0x7fffffffull))
        return false;
    uint32_t bits = neg ? (uint32_t)(0x100000000ull - v) : (uint32_t)v;
    return (bits & 0x2u) != 0;
}

int zt_ldap_filter_escape(const char *in, size_t len, char *out, size_t cap)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    if (cap == 0)
        return -ENOSPC;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool special = c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0';
        size_t need = special ? 3 : 1;
        if (o + need >= cap) {
            out[0] = '\0';
            return -ENOSPC;
        }
        if (special) {
            out[o++] = '\\';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return 0;
}
