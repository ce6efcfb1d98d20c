#include "lib/secure.h"

#include <sodium.h>

bool zt_secure_init(void)
{
    return sodium_init() >= 0;
}

bool zt_ct_eq(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void zt_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void zt_random(void *out, size_t n)
{
    randombytes_buf(out, n);
}

void zt_random_hex(char *out, size_t n)
{
    unsigned char raw[64];
    while (n > 0) {
        size_t chunk = n > sizeof(raw) ? sizeof(raw) : n;
        randombytes_buf(raw, chunk);
        sodium_bin2hex(out, chunk * 2 + 1, raw, chunk);
        out += chunk * 2;
        n -= chunk;
    }
    sodium_memzero(raw, sizeof(raw));
}
