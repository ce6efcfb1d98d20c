/* libFuzzer target for what src/directory reads from a directory or a sign-in form: filter
 * escaping (the typed e-mail and DNs, RFC 4515), AD userAccountControl text and group entries
 * (DN, cn, description) turned into ztgate group names. Input: three NUL-separated fields. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static void check_escape(const char *s, size_t n)
{
    size_t cap = 3 * n + 1;
    char *out = malloc(cap);
    if (out == NULL)
        return;
    CHECK(zt_ldap_filter_escape(s, n, out, cap) == 0);
    /* Nothing that means something in a filter is left unescaped. */
    for (size_t i = 0; out[i] != '\0'; i++) {
        CHECK(out[i] != '*' && out[i] != '(' && out[i] != ')');
        if (out[i] == '\\')
            CHECK(out[i + 1] != '\0' && out[i + 2] != '\0');
    }
    if (n > 0)
        CHECK(zt_ldap_filter_escape(s, n, out, n) == -ENOSPC && out[0] == '\0');
    free(out);
}

static void check_group(const char *dn, const char *cn, const char *desc)
{
    zt_dir_group g;
    zt_dir_group_fill(&g, dn, cn, desc);
    size_t n = strlen(g.name);
    CHECK(n > 0 && n <= ZT_STORE_GROUP_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = g.name[i];
        CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '.' || c == '_' || c == '-')));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    check_escape((const char *)data, size);
    char *s = malloc(size + 3);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = s[size + 1] = s[size + 2] = '\0';
    const char *dn = s;
    const char *cn = dn + strlen(dn) + 1;
    if (cn > s + size)
        cn = s + size + 1;
    const char *desc = cn + strlen(cn) + 1;
    if (desc > s + size + 1)
        desc = s + size + 2;
    (void)zt_dir_uac_disabled(dn);
    check_group(dn, cn[0] != '\0' ? cn : NULL, desc[0] != '\0' ? desc : NULL);
    free(s);
    return 0;
}
