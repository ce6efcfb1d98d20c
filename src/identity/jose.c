/* The compact JWS serialization as both readers of this folder take it (jose_int.h). */
#include <stdbool.h>
#include <stdlib.h>

#include "identity/jose_int.h"
#include "lib/b64.h"

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

const char *zt_jose_split(const char *t, size_t len, size_t dot[2])
{
    size_t ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (ndots == 2)
                return "more than 3 segments";
            dot[ndots++] = i;
        } else if (!b64url_char(t[i])) {
            return "byte outside base64url (whitespace, padding, trailing garbage)";
        }
    }
    if (ndots != 2)
        return "not 3 segments";
    if (dot[0] > ZT_JOSE_MAX_HEADER_B64)
        return "header too long";
    return NULL;
}

json_t *zt_jose_segment_json(const char *s, size_t n)
{
    size_t cap = n / 4 * 3 + 3, got = 0;
    unsigned char *buf = malloc(cap);
    json_t *v = NULL;
    if (buf != NULL && n > 0 && zt_b64url_decode(s, n, buf, cap, &got))
        v = json_loadb((const char *)buf, got, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}
