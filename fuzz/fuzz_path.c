/* libFuzzer target for path normalisation: any bytes are refused with a reason or come out
 * canonical, and the canonical form is a fixed point (same bytes, same flags). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static int is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static void check_canonical(const char *out, size_t n)
{
    CHECK(n >= 1 && out[0] == '/' && strlen(out) == n);
    CHECK(strstr(out, "//") == NULL && strstr(out, "/../") == NULL && strstr(out, "/./") == NULL);
    CHECK(strstr(out, "%00") == NULL);
    CHECK(!(n >= 2 && strcmp(out + n - 2, "/.") == 0));
    CHECK(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        CHECK(c > 0x20 && c < 0x7F && c != '?' && c != '#');
        if (c == '%')
            CHECK(i + 2 < n && is_upper_hex(out[i + 1]) && is_upper_hex(out[i + 2]));
    }
}

/* The readings of a canonical path (what a loose upstream sees): never longer, still a
 * canonical-looking path, the identity reading gives the path back, and a reading that the
 * path's ambiguity says cannot matter changes nothing. */
static void check_readings(const char *path, size_t n)
{
    char *view = malloc(n + 1);
    char *base = malloc(n + 1);
    CHECK(view != NULL && base != NULL);
    unsigned amb = zt_path_ambiguity(path, n);
    CHECK((amb & ~(unsigned)ZT_PATH_READ_ALL) == 0);
    size_t bn = zt_path_reading(path, n, 0, base);
    CHECK(bn == n && memcmp(base, path, n) == 0);
    for (unsigned how = 0; how <= ZT_PATH_READ_ALL; how += 2) {
        size_t vn = zt_path_reading(path, n, how, view);
        CHECK(vn >= 1 && vn <= n && view[0] == '/' && strlen(view) == vn);
        CHECK(strstr(view, "//") == NULL);
        if ((how & amb) == 0)
            CHECK(vn == n && memcmp(view, path, n) == 0);
    }
    free(view);
    free(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char *out = malloc(size + 1);
    char *again = malloc(size + 1);
    size_t n = 0, n2 = 0;
    unsigned flags = 0, flags2 = 0;
    const char *why = NULL;
    CHECK(out != NULL && again != NULL);
    if (zt_path_normalize(in, size, out, &n, &flags, &why) == 0) {
        CHECK(n <= size);
        check_canonical(out, n);
        CHECK(zt_path_normalize(out, n, again, &n2, &flags2, &why) == 0);
        CHECK(n2 == n && memcmp(out, again, n) == 0 && flags2 == flags);
        check_readings(out, n);
        CHECK(((flags & ZT_PATH_ENCODED_SLASH) != 0) ==
              (strstr(out, "%2F") != NULL || strstr(out, "%5C") != NULL ||
               memchr(out, '\\', n) != NULL));
    } else {
        CHECK(why != NULL && n == 0);
    }
    why = NULL;
    if (!zt_path_query_valid(in, size, &why))
        CHECK(why != NULL);
    free(out);
    free(again);
    return 0;
}
