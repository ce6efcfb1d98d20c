/* The agent's directory and its agent.conf; small file helpers shared by the subcommands.
 * Files holding secrets are created with their final mode before any byte is written. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void zta_log(const char *fmt, ...)
{
    char ts[21];
    zta_rfc3339(time(NULL), ts);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s ztagent: ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int zta_ctx_init(zta_ctx *ctx, const char *dir_opt)
{
    memset(ctx, 0, sizeof *ctx);
    const char *dir = dir_opt;
    if (dir == NULL || dir[0] == '\0')
        dir = getenv("ZTAGENT_DIR");
    if (dir == NULL || dir[0] == '\0')
        dir = ZTA_DEFAULT_DIR;
    size_t n = strlen(dir);
    if (n >= sizeof ctx->dir - 64) {
        fprintf(stderr, "ztagent: agent directory path too long\n");
        return -1;
    }
    memcpy(ctx->dir, dir, n + 1);
    while (n > 1 && ctx->dir[n - 1] == '/')
        ctx->dir[--n] = '\0';
    return 0;
}

bool zta_path(const zta_ctx *ctx, const char *name, char *out, size_t outlen)
{
    int w = snprintf(out, outlen, "%s/%s", ctx->dir, name);
    return w > 0 && (size_t)w < outlen;
}

char *zta_read_file(const char *path, size_t limit, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *data = malloc(limit + 1);
    size_t len = 0;
    if (data == NULL)
        goto fail;
    for (;;) {
        ssize_t r = read(fd, data + len, limit + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > limit) {
            errno = EFBIG;
            goto fail;
        }
    }
    close(fd);
    data[len] = '\0';
    if (len_out)
        *len_out = len;
    return data;
fail : {
    int e = errno;
    free(data);
    close(fd);
    errno = e;
    return NULL;
}
}

int zta_write_file(const char *path, const void *data, size_t n, unsigned mode)
{
    char tmp[ZTA_PATH_MAX + 8];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return -ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (fchmod(fd, (mode_t)mode) != 0)
        rc = -errno;
    const char *p = data;
    size_t left = n;
    while (rc == 0 && left > 0) {
        ssize_t r = write(fd, p, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        p += r;
        left -= (size_t)r;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int zta_ctx_load(zta_ctx *ctx)
{
    char path[ZTA_PATH_MAX];
    char err[160];
    size_t len;
    if (!zta_path(ctx, "agent.conf", path, sizeof path))
        return -1;
    char *text = zta_read_file(path, ZTA_CONF_MAX, &len);
    if (text == NULL) {
        if (errno == ENOENT)
            return 1; /* not enrolled yet */
        fprintf(stderr, "ztagent: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = zta_conf_parse(text, len, &ctx->conf, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ztagent: %s: %s\n", path, err);
        return -1;
    }
    char cert[ZTA_PATH_MAX], key[ZTA_PATH_MAX];
    ctx->enrolled = ctx->conf.server[0] != '\0' && zta_path(ctx, "device.pem", cert, sizeof cert) &&
                    zta_path(ctx, "device.key", key, sizeof key) && access(cert, R_OK) == 0 &&
                    access(key, R_OK) == 0;
    return 0;
}

int zta_ctx_require_enrolled(zta_ctx *ctx)
{
    int rc = zta_ctx_load(ctx);
    if (rc < 0)
        return -1;
    if (!ctx->enrolled) {
        fprintf(stderr,
                "ztagent: this device is not enrolled (no agent.conf/device.pem in %s); run "
                "`ztagent enroll --server URL --code CODE` first\n",
                ctx->dir);
        return -1;
    }
    if (ctx->conf.server_ca[0] == '\0' && ctx->conf.server_sha256[0] == '\0') {
        fprintf(stderr, "ztagent: agent.conf names neither server_ca nor server_sha256: "
                        "refusing to talk to an unverified server\n");
        return -1;
    }
    return 0;
}

int zta_conf_save(const zta_ctx *ctx)
{
    char text[ZTA_CONF_MAX];
    char path[ZTA_PATH_MAX];
    int n = zta_conf_format(&ctx->conf, text, sizeof text);
    if (n < 0 || !zta_path(ctx, "agent.conf", path, sizeof path))
        return -1;
    int rc = zta_write_file(path, text, (size_t)n, 0644);
    if (rc != 0)
        fprintf(stderr, "ztagent: cannot write %s: %s\n", path, strerror(-rc));
    return rc;
}
