#include "lib/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zt_buf_init(zt_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void zt_buf_dispose(zt_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void zt_buf_reset(zt_buf *b)
{
    b->len = 0;
}

int zt_buf_reserve(zt_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return -E2BIG;
    size_t need = b->len + extra;
    if (b->limit != 0 && need > b->limit)
        return -E2BIG;
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    if (b->limit != 0 && cap > b->limit + 1)
        cap = b->limit + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int zt_buf_append(zt_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = zt_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int zt_buf_append_str(zt_buf *b, const char *s)
{
    return zt_buf_append(b, s, strlen(s));
}

int zt_buf_append_char(zt_buf *b, char c)
{
    return zt_buf_append(b, &c, 1);
}

int zt_buf_append_u64(zt_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return zt_buf_append(b, tmp + i, sizeof(tmp) - i);
}

int zt_buf_vprintf(zt_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    int rc = zt_buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int zt_buf_printf(zt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = zt_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void zt_buf_consume(zt_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int zt_buf_cstr(zt_buf *b)
{
    int rc = zt_buf_reserve(b, 0);
    if (rc < 0)
        return rc;
    if (b->data == NULL) {
        rc = zt_buf_reserve(b, 1);
        if (rc < 0)
            return rc;
    }
    b->data[b->len] = '\0';
    return 0;
}

int zt_array_grow(void *arrp, size_t *cap, size_t elem_size, size_t first_cap)
{
    void *old;
    memcpy(&old, arrp, sizeof(old)); /* arrp is a T **, whatever T is */
    size_t n = *cap ? *cap * 2 : first_cap;
    if (n <= *cap || elem_size == 0 || n > SIZE_MAX / elem_size)
        return -ENOMEM;
    void *p = realloc(old, n * elem_size);
    if (p == NULL)
        return -ENOMEM;
    memcpy(arrp, &p, sizeof(p));
    *cap = n;
    return 0;
}
