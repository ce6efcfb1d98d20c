/* The security page's reader of sign-in records (src/portal/security_activity.c) over arbitrary
 * bytes: an audit file's tail holds text users typed (e-mails, user agents, JSON-escaped by the
 * writer), and a damaged or foreign file must not crash the page. The first byte chooses whether
 * the first line counts as cut by the read window. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portal/portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char user[] = "0123456789abcdef0123456789abcdef";
    zt_sec_signin out[ZT_SEC_ACTIVITY_MAX];
    size_t n = zt_sec_activity_parse((const char *)data + 1, size - 1, (data[0] & 1) != 0, user,
                                     out, ZT_SEC_ACTIVITY_MAX);
    for (size_t i = 0; i < n; i++)
        if (out[i].seq == 0 || strlen(out[i].ip) >= sizeof(out[i].ip))
            __builtin_trap();
    return 0;
}
