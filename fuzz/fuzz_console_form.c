/* libFuzzer target for the console's form/query parser and its Origin check (src/console):
 * any bytes either parse into at most 64 fields or are refused whole, and the Origin check
 * never crashes on any header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long n = zt_console_form_fields((const char *)data, size);
    CHECK(n >= -1 && n <= 64);
    if (memchr(data, '\0', size) != NULL)
        CHECK(n == -1); /* a NUL, raw or %00, is never let into a field */
    zt_local_req r;
    memset(&r, 0, sizeof(r));
    r.host_port = "console.test";
    zt_local_header h[2] = {{{"Origin", 6}, {(const char *)data, size}},
                            {{"Referer", 7}, {(const char *)data, size}}};
    r.headers = h;
    r.n_headers = 1;
    bool a = zt_console_origin_ok(&r);
    CHECK(!a || (size >= 19 && memcmp(data, "http://console.test", 19) == 0));
    r.headers = &h[1];
    bool b = zt_console_origin_ok(&r);
    CHECK(!b || (size >= 19 && memcmp(data, "http://console.test", 19) == 0));
    return 0;
}
