/* Administrators' outside input on arbitrary bytes (session/admins.h): a presented bearer
 * token's shape, a permission list (--scopes, the API's scopes), a lifetime (--expires). Must
 * never crash, read out of bounds or hit UB; anything accepted must be what the rules say.
 * The first byte picks the target: 0 token shape, 1 permission list, 2 lifetime. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/admins.h"

static void check_token(const char *s, size_t n)
{
    if (!zt_admins_token_shaped(s, n))
        return;
    if (n != ZT_ADMINS_TOKEN_LEN || memcmp(s, ZT_ADMINS_TOKEN_PREFIX, 4) != 0)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

static void check_perms(const char *s)
{
    zt_perms p = 0;
    char bad[64];
    if (zt_admins_perms_parse(s, &p, bad, sizeof(bad)) == 0) {
        if (p == 0 || (p & ~ZT_PERM_ALL) != 0)
            abort();
        char text[512];
        zt_admins_perms_format(p, text, sizeof(text));
        zt_perms again = 0;
        if (zt_admins_perms_parse(text, &again, NULL, 0) != 0 || again != p)
            abort(); /* what is printed reads back the same */
    } else if (p != 0 || strlen(bad) >= sizeof(bad)) {
        abort();
    }
}

static void check_lifetime(const char *s)
{
    int64_t v = -1;
    if (zt_admins_lifetime_parse(s, &v) == 0 &&
        (v < ZT_ADMINS_TOKEN_LIFETIME_MIN_S || v > ZT_ADMINS_TOKEN_LIFETIME_MAX_S))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        check_token(s, size - 1); /* with the bytes as given, NULs included */
        break;
    case 1:
        check_perms(s);
        break;
    default:
        check_lifetime(s);
        break;
    }
    free(s);
    return 0;
}
