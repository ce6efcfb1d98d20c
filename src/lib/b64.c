#include "lib/b64.h"

#include <sodium.h>

bool zt_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t got = 0;
    const char *end = NULL;
    *outlen = 0;
    if (in == NULL || (len > 0 && out == NULL))
        return false;
    if (len == 0)
        return true;
    /* libsodium refuses padding, bytes outside the alphabet (no ignore set), non-zero trailing
     * bits and a dangling sixth bit group; end tells whether it stopped early. */
    if (sodium_base642bin(out, cap, in, len, NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != in + len)
        return false;
    *outlen = got;
    return true;
}
