/* RFC 4515 §3 escaping of assertion values: the one place a typed e-mail or a DN becomes part
 * of a search filter, so "*)(uid=*" matches nothing instead of everything. */
#include <errno.h>

#include "directory/directory.h"

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
