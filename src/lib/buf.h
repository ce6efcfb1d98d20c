/* Capped growable byte buffer. Every buffer a peer can fill has a named limit; growing past it
 * is an error (-E2BIG), never an unbounded allocation. Owns its memory; zt_buf_dispose frees it. */
#ifndef ZT_LIB_BUF_H
#define ZT_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit (only for buffers filled by ourselves) */
} zt_buf;

void zt_buf_init(zt_buf *b, size_t limit);
void zt_buf_dispose(zt_buf *b);
void zt_buf_reset(zt_buf *b);
/* 0, -ENOMEM or -E2BIG (limit reached; buffer unchanged). */
int zt_buf_reserve(zt_buf *b, size_t extra);
int zt_buf_append(zt_buf *b, const void *p, size_t n);
int zt_buf_append_str(zt_buf *b, const char *s);
int zt_buf_append_char(zt_buf *b, char c);
/* v in decimal (no printf: heads and records on every request carry numbers). */
int zt_buf_append_u64(zt_buf *b, uint64_t v);
int zt_buf_printf(zt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int zt_buf_vprintf(zt_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes (consumed input). */
void zt_buf_consume(zt_buf *b, size_t n);
/* NUL-terminate without counting the NUL in len; 0 or negative errno. */
int zt_buf_cstr(zt_buf *b);

/* Room for one more item in a growable heap array: *(T **)arrp holds *cap items of elem_size
 * bytes; doubles *cap (first_cap the first time) keeping the contents. 0, or -ENOMEM with the
 * array and *cap unchanged. Call it when the count reached *cap. */
int zt_array_grow(void *arrp, size_t *cap, size_t elem_size, size_t first_cap);

#endif
