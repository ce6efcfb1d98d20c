/* Logging: a human error log with levels, and JSON-lines access logs buffered per event loop.
 * Thread-safe; whole lines are written with one write(2). Never log a secret: callers pass
 * only what may be read by an operator. */
#ifndef ZT_CORE_LOG_H
#define ZT_CORE_LOG_H

#include <stdbool.h>

#include "core/config.h"
#include "lib/buf.h"

/* Open (or reopen, on reload) the error and access destinations. 0 or -errno, with a message
 * in err. Before the first call, errors go to stderr at level info. */
int zt_log_open(const zt_log_cfg *cfg, char *err, size_t errlen);
void zt_log_close(void);
bool zt_log_enabled(zt_log_level level);
void zt_log(zt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define zt_debug(...) zt_log(ZT_LOG_DEBUG, __VA_ARGS__)
#define zt_info(...) zt_log(ZT_LOG_INFO, __VA_ARGS__)
#define zt_warn(...) zt_log(ZT_LOG_WARN, __VA_ARGS__)
#define zt_error(...) zt_log(ZT_LOG_ERROR, __VA_ARGS__)

/* Access log: each event loop owns one zt_access_buf; lines accumulate and are written when
 * the buffer passes 32 KiB or on zt_access_flush (the loop calls it on a short timer). */
typedef struct zt_access_buf {
    zt_buf buf;
} zt_access_buf;

bool zt_access_enabled(void);
void zt_access_buf_init(zt_access_buf *a);
void zt_access_buf_dispose(zt_access_buf *a);
/* Takes one complete JSON line (with '\n'). */
void zt_access_append(zt_access_buf *a, const char *line, size_t n);
void zt_access_flush(zt_access_buf *a);

#endif
