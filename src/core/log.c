#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/time.h"

#define ACCESS_FLUSH_BYTES (32 * 1024)

static _Atomic int error_fd = STDERR_FILENO;
static _Atomic int access_fd = -1;
static _Atomic int min_level = ZT_LOG_INFO;

static const char *level_name(zt_log_level l)
{
    switch (l) {
    case ZT_LOG_DEBUG:
        return "debug";
    case ZT_LOG_INFO:
        return "info";
    case ZT_LOG_WARN:
        return "warn";
    case ZT_LOG_ERROR:
        return "error";
    }
    return "?";
}

static int open_dest(const char *path, int std_fd, char *err, size_t errlen)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return std_fd;
    if (strcmp(path, "off") == 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open log: %s", path, strerror(e));
        return -2 - e;
    }
    return fd;
}

static void replace_fd(_Atomic int *slot, int fd)
{
    int old = atomic_exchange(slot, fd);
    if (old > STDERR_FILENO && old != fd)
        close(old);
}

int zt_log_open(const zt_log_cfg *cfg, char *err, size_t errlen)
{
    int efd = open_dest(cfg->error_path, STDERR_FILENO, err, errlen);
    if (efd < -1)
        return -(-2 - efd);
    int afd = open_dest(cfg->access_path, STDOUT_FILENO, err, errlen);
    if (afd < -1) {
        if (efd > STDERR_FILENO)
            close(efd);
        return -(-2 - afd);
    }
    replace_fd(&error_fd, efd < 0 ? STDERR_FILENO : efd);
    replace_fd(&access_fd, afd);
    atomic_store(&min_level, (int)cfg->level);
    return 0;
}

void zt_log_close(void)
{
    replace_fd(&access_fd, -1);
    replace_fd(&error_fd, STDERR_FILENO);
}

bool zt_log_enabled(zt_log_level level)
{
    return (int)level >= atomic_load(&min_level);
}

void zt_log(zt_log_level level, const char *fmt, ...)
{
    if (!zt_log_enabled(level))
        return;
    char line[2048];
    char ts[40];
    zt_rfc3339(zt_wall_us(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s [%s] ", ts, level_name(level));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* One record per line: a peer-controlled string must not start a forged line. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r' || (unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[len++] = '\n';
    (void)zt_write_all(atomic_load(&error_fd), line, len); /* nowhere left to report to */
}

bool zt_access_enabled(void)
{
    return atomic_load(&access_fd) >= 0;
}

void zt_access_buf_init(zt_access_buf *a)
{
    zt_buf_init(&a->buf, 4 * ACCESS_FLUSH_BYTES);
}

void zt_access_buf_dispose(zt_access_buf *a)
{
    zt_access_flush(a);
    zt_buf_dispose(&a->buf);
}

void zt_access_append(zt_access_buf *a, const char *line, size_t n)
{
    if (zt_buf_append(&a->buf, line, n) < 0) {
        zt_access_flush(a);
        if (zt_buf_append(&a->buf, line, n) < 0)
            return;
    }
    if (a->buf.len >= ACCESS_FLUSH_BYTES)
        zt_access_flush(a);
}

void zt_access_flush(zt_access_buf *a)
{
    int fd = atomic_load(&access_fd);
    if (a->buf.len > 0 && fd >= 0)
        (void)zt_write_all(fd, a->buf.data, a->buf.len);
    zt_buf_reset(&a->buf);
}
