/* Arbitrary bytes as a Pwned Passwords corpus (outside input): validation in both modes and
 * lookups of hashes taken from the input itself must never crash or read out of bounds.
 * Small inputs also go through a memfd so the mmap path is exercised. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "identity/breach.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 0;
}

/* The 40 bytes at p read as hex, leniently (non-hex digits as 0), when that much is there. */
static void hash_at(const uint8_t *data, size_t size, size_t off, unsigned char out[20])
{
    memset(out, 0, 20);
    for (size_t i = 0; i < 20 && off + 2 * i + 1 < size; i++)
        out[i] = (unsigned char)(hexval(data[off + 2 * i]) << 4 | hexval(data[off + 2 * i + 1]));
}

static void lookups(const zt_breach *b, const uint8_t *data, size_t size)
{
    unsigned char h[20];
    uint64_t sink = 0;
    memset(h, 0, sizeof(h));
    sink += zt_breach_count(b, h);
    memset(h, 0xff, sizeof(h));
    sink += zt_breach_count(b, h);
    hash_at(data, size, 0, h);
    sink += zt_breach_count(b, h);
    /* Just after a line break near the middle and near the end. */
    for (size_t frac = 2; size > 0 && frac <= 8; frac *= 4) {
        size_t off = size - size / frac;
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        hash_at(data, size, nl != NULL ? (size_t)(nl - data) + 1 : off, h);
        sink += zt_breach_count(b, h);
        sink += zt_breach_contains(b, h);
    }
    zt_breach_sha1(data, size, h);
    sink += zt_breach_contains(b, h);
    sink += zt_breach_contains_password(b, data, size < 64 ? size : 64);
    zt_breach_info info;
    zt_breach_get_info(b, &info);
    sink += info.lines;
    __asm__ volatile("" : : "r"(sink));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    static const unsigned flags[] = {ZT_BREACH_LENIENT, ZT_BREACH_LENIENT | ZT_BREACH_SAMPLED};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        zt_breach *b = zt_breach_open_mem(data, size, "fuzz", flags[i], err, sizeof(err));
        if (b != NULL) {
            lookups(b, data, size);
            zt_breach_close(b);
        }
    }
    /* Strict mode: either a clean corpus or NULL with a message. */
    zt_breach *strict = zt_breach_open_mem(data, size, "fuzz", 0, err, sizeof(err));
    if (strict == NULL && err[0] == '\0')
        __builtin_trap();
    if (strict != NULL)
        lookups(strict, data, size);
    zt_breach_close(strict);

    if (size < 4096) {
        int fd = memfd_create("fuzz_breach", MFD_CLOEXEC);
        if (fd < 0)
            return 0;
        if (write(fd, data, size) == (ssize_t)size) {
            char path[64];
            snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
            zt_breach *b = zt_breach_open(path, ZT_BREACH_LENIENT, err, sizeof(err));
            if (b != NULL) {
                lookups(b, data, size);
                zt_breach_close(b);
            }
        }
        close(fd);
    }
    return 0;
}
