#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int zt_mkdir_p(const char *dir, mode_t mode, char *failed, size_t cap)
{
    char tmp[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
            int rc = -errno;
            if (failed != NULL && cap > 0)
                snprintf(failed, cap, "%s", tmp);
            return rc;
        }
        tmp[i] = saved;
    }
    return 0;
}

int zt_mkdir_parent(const char *file, mode_t mode)
{
    char dir[PATH_MAX];
    size_t n = strlen(file);
    if (n >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, file, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0; /* in the working directory or the root: nothing to create */
    *slash = '\0';
    return zt_mkdir_p(dir, mode, NULL, 0);
}

int zt_read_fd(int fd, zt_buf *b)
{
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        int rc = zt_buf_append(b, chunk, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

int zt_read_file(const char *path, zt_buf *b)
{
    /* O_NONBLOCK: a FIFO named as a config file must not hang the reader. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    int rc = zt_read_fd(fd, b);
    close(fd);
    return rc;
}

int zt_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int zt_read_upto(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}
