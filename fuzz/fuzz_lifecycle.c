/* The lifecycle words an admin types (CLI `--expires`/`--sponsor`, admin API `expires_at`/
 * `sponsor`) on arbitrary input: must never crash or hit UB; an accepted expiry written back
 * as text must parse to the same second, and a date is valid through its day (expires at the
 * next midnight UTC). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char s[513];
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t t = 0;
    if (zt_lifecycle_parse_expiry(s, &t)) {
        if (t < 0)
            abort();
        char text[32];
        zt_lifecycle_expiry_text(t, text);
        int64_t back = -1;
        if (!zt_lifecycle_parse_expiry(text, &back) || back != t)
            abort();
        if (strlen(s) == 10 && t % 86400 != 0)
            abort();
    }
    (void)zt_lifecycle_sponsor_ok(s);
    return 0;
}
