/* Pwned Passwords corpus: mmap, validate (whole file or a sample), binary search by byte offset
 * realigned to line starts. Every access goes through bounds [lo, hi) within the mapping. */
#include "lib/str.h"
#include "identity/breach.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX_LEN 40
#define COUNT_DIGITS_MAX 19 /* 10^19 - 1 fits in uint64_t */

struct zt_breach {
    const char *data;
    size_t len;
    bool mapped;
    zt_breach_info info;
};

/* ---- line grammar ---- */

static bool is_uhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Parse the line starting at off. On success returns NULL and sets *next to the start of the
 * following line (or len); otherwise returns the reason. */
static const char *parse_line(const char *d, size_t len, size_t off, size_t *next)
{
    size_t avail = len - off;
    const char *p = d + off;
    if (avail == 0 || p[0] == '\n' || (p[0] == '\r' && avail > 1 && p[1] == '\n'))
        return "empty line";
    for (size_t i = 0; i < HEX_LEN; i++)
        if (i >= avail || !is_uhex(p[i]))
            return "expected 40 uppercase hexadecimal digits";
    if (avail == HEX_LEN || p[HEX_LEN] != ':')
        return "expected ':' after the hash";
    size_t i = HEX_LEN + 1;
    size_t digits = 0;
    while (i < avail && p[i] >= '0' && p[i] <= '9') {
        if (++digits > COUNT_DIGITS_MAX)
            return "count too large";
        i++;
    }
    if (digits == 0)
        return "expected a decimal count after ':'";
    if (i == avail) {
        *next = len;
        return NULL;
    }
    if (p[i] == '\r' && i + 1 < avail && p[i + 1] == '\n')
        i++;
    if (p[i] != '\n')
        return "unexpected character after the count";
    *next = off + i + 1;
    return NULL;
}

/* Every line, in order. Returns false with the first problem in err. */
static bool validate_full(zt_breach *b, const char *name, char *err, size_t errlen)
{
    size_t off = 0;
    uint64_t line = 0;
    const char *prev = NULL;
    while (off < b->len) {
        size_t next = 0;
        line++;
        const char *why = parse_line(b->data, b->len, off, &next);
        if (why == NULL && prev != NULL && memcmp(prev, b->data + off, HEX_LEN) >= 0)
            why = "not sorted: hash not greater than the previous line's";
        if (why != NULL) {
            zt_errf(err, errlen, "%s:%llu: %s", name, (unsigned long long)line, why);
            return false;
        }
        prev = b->data + off;
        off = next;
    }
    b->info.lines = line;
    return true;
}

/* Start of the first line beginning at or after pos, or len; SIZE_MAX when no line break is
 * found within ZT_BREACH_MAX_LINE bytes. */
static size_t line_start_from(const char *d, size_t len, size_t pos)
{
    if (pos == 0)
        return 0;
    size_t room = len - (pos - 1);
    if (room > ZT_BREACH_MAX_LINE)
        room = ZT_BREACH_MAX_LINE;
    const char *nl = memchr(d + pos - 1, '\n', room);
    if (nl == NULL)
        return (pos - 1 + room == len) ? len : SIZE_MAX;
    return (size_t)(nl - d) + 1;
}

/* Start of the last line, or SIZE_MAX when it is longer than ZT_BREACH_MAX_LINE. */
static size_t last_line_start(const char *d, size_t len)
{
    size_t end = len;
    if (end > 0 && d[end - 1] == '\n')
        end--;
    if (end > 0 && d[end - 1] == '\r')
        end--;
    size_t from = end > ZT_BREACH_MAX_LINE ? end - ZT_BREACH_MAX_LINE : 0;
    const char *nl = end > from ? memrchr(d + from, '\n', end - from) : NULL;
    if (nl != NULL)
        return (size_t)(nl - d) + 1;
    return from == 0 ? 0 : SIZE_MAX;
}

/* Check the line at pos and its order against the previous sample. */
static bool sample_one(zt_breach *b, size_t pos, size_t *prev, const char *name, char *err,
                       size_t errlen)
{
    if (pos >= b->len || pos == *prev)
        return true;
    size_t next = 0;
    const char *why = parse_line(b->data, b->len, pos, &next);
    if (why == NULL && *prev != SIZE_MAX && memcmp(b->data + *prev, b->data + pos, HEX_LEN) >= 0)
        why = "not sorted: hash not greater than an earlier line's";
    if (why != NULL) {
        zt_errf(err, errlen, "%s: byte %zu: %s (sampled check)", name, pos, why);
        return false;
    }
    *prev = pos;
    return true;
}

/* Evenly spaced lines plus the last one, each well-formed and each greater than the one before.
 * Line numbers are unknown here, so problems are reported by byte offset. */
static bool validate_sample(zt_breach *b, const char *name, char *err, size_t errlen)
{
    size_t step = b->len / ZT_BREACH_SAMPLES > 0 ? b->len / ZT_BREACH_SAMPLES : 1;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < ZT_BREACH_SAMPLES && step * i < b->len; i++) {
        size_t pos = line_start_from(b->data, b->len, step * i);
        if (pos == SIZE_MAX) {
            zt_errf(err, errlen, "%s: byte %zu: line too long", name, step * i);
            return false;
        }
        if (!sample_one(b, pos, &prev, name, err, errlen))
            return false;
    }
    size_t last = last_line_start(b->data, b->len);
    if (last == SIZE_MAX) {
        zt_errf(err, errlen, "%s: last line too long", name);
        return false;
    }
    return sample_one(b, last, &prev, name, err, errlen);
}

static zt_breach *finish_open(zt_breach *b, const char *name, unsigned flags, char *err,
                              size_t errlen)
{
    zt_errf(err, errlen, "%s", "");
    b->info.bytes = b->len;
    b->info.fully_checked = b->len <= ZT_BREACH_FULL_CHECK_MAX && !(flags & ZT_BREACH_SAMPLED);
    b->info.valid = b->info.fully_checked ? validate_full(b, name, err, errlen)
                                          : validate_sample(b, name, err, errlen);
    if (!b->info.valid && !(flags & ZT_BREACH_LENIENT)) {
        zt_breach_close(b);
        return NULL;
    }
    return b;
}

zt_breach *zt_breach_open_mem(const void *data, size_t len, const char *name, unsigned flags,
                              char *err, size_t errlen)
{
    zt_breach *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        zt_errf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    b->data = len > 0 ? data : NULL;
    b->len = b->data != NULL ? len : 0;
    return finish_open(b, name, flags, err, errlen);
}

zt_breach *zt_breach_open(const char *path, unsigned flags, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        zt_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    zt_breach *b = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        zt_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        zt_errf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > SIZE_MAX / 2) {
        zt_errf(err, errlen, "%s: file too large to map", path);
        goto out;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        zt_errf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    b->len = (size_t)st.st_size;
    if (b->len > 0) {
        void *m = mmap(NULL, b->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            zt_errf(err, errlen, "%s: mmap: %s", path, strerror(errno));
            free(b);
            b = NULL;
            goto out;
        }
        b->data = m;
        b->mapped = true;
    }
    close(fd);
    fd = -1;
    /* Validation reads sequentially; lookups afterwards jump around. */
    if (b->mapped && b->len <= ZT_BREACH_FULL_CHECK_MAX)
        (void)madvise((void *)b->data, b->len, MADV_SEQUENTIAL);
    b = finish_open(b, path, flags, err, errlen);
    if (b != NULL && b->mapped)
        (void)madvise((void *)b->data, b->len, MADV_RANDOM);
out:
    if (fd >= 0)
        close(fd);
    return b;
}

void zt_breach_close(zt_breach *b)
{
    if (b == NULL)
        return;
    if (b->mapped)
        munmap((void *)b->data, b->len);
    free(b);
}

void zt_breach_get_info(const zt_breach *b, zt_breach_info *out)
{
    if (b == NULL) {
        *out = (zt_breach_info){.fully_checked = true, .valid = true};
        return;
    }
    *out = b->info;
}

/* ---- lookup ---- */

/* Compare the key with the line [s, e) (terminator excluded). 0 only for a real match. */
static int cmp_line(const char key[HEX_LEN], const char *d, size_t s, size_t e)
{
    size_t n = e - s;
    int c = memcmp(key, d + s, n < HEX_LEN ? n : HEX_LEN);
    if (c != 0)
        return c;
    if (n < HEX_LEN)
        return 1; /* the line is a prefix of the key */
    return (n > HEX_LEN && d[s + HEX_LEN] == ':') ? 0 : -1;
}

/* Offset of the matching line, or SIZE_MAX. Invariant: lo is 0 or just after a '\n', hi is len
 * or just after a '\n'; each step strictly shrinks [lo, hi). */
static size_t find(const zt_breach *b, const unsigned char sha1[20])
{
    static const char hexd[] = "0123456789ABCDEF";
    char key[HEX_LEN];
    for (size_t i = 0; i < ZT_BREACH_SHA1_LEN; i++) {
        key[2 * i] = hexd[sha1[i] >> 4];
        key[2 * i + 1] = hexd[sha1[i] & 15];
    }
    if (b == NULL || b->len == 0)
        return SIZE_MAX;
    const char *d = b->data;
    size_t lo = 0, hi = b->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *nl = mid > lo ? memrchr(d + lo, '\n', mid - lo) : NULL;
        size_t s = nl != NULL ? (size_t)(nl - d) + 1 : lo;
        const char *end = memchr(d + s, '\n', hi - s);
        size_t e = end != NULL ? (size_t)(end - d) : hi;
        size_t next = end != NULL ? e + 1 : hi;
        if (e > s && d[e - 1] == '\r')
            e--;
        int c = cmp_line(key, d, s, e);
        if (c == 0)
            return s;
        if (c < 0)
            hi = s;
        else
            lo = next;
    }
    return SIZE_MAX;
}

bool zt_breach_contains(const zt_breach *b, const unsigned char sha1[20])
{
    return find(b, sha1) != SIZE_MAX;
}

uint64_t zt_breach_count(const zt_breach *b, const unsigned char sha1[20])
{
    size_t s = find(b, sha1);
    if (s == SIZE_MAX)
        return 0;
    uint64_t v = 0;
    size_t i = s + HEX_LEN + 1, digits = 0;
    while (i < b->len && digits < COUNT_DIGITS_MAX && b->data[i] >= '0' && b->data[i] <= '9') {
        v = v * 10 + (uint64_t)(b->data[i] - '0');
        i++;
        digits++;
    }
    return v > 0 ? v : 1;
}

void zt_breach_sha1(const void *data, size_t len, unsigned char out[20])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) != 1 || n != ZT_BREACH_SHA1_LEN)
        abort(); /* only on a broken libcrypto: failing open here would skip the breach check */
}

bool zt_breach_contains_password(const zt_breach *b, const void *pw, size_t len)
{
    unsigned char h[ZT_BREACH_SHA1_LEN];
    zt_breach_sha1(pw, len, h);
    bool hit = zt_breach_contains(b, h);
    OPENSSL_cleanse(h, sizeof(h));
    return hit;
}
