/* The admin bearer token: a file only its owner can read, created on first start. The process
 * keeps only SHA-256 of it, so a memory dump or a log line never yields the token itself. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "lib/secure.h"
#include "lib/str.h"

void zt_admin_token_hash(const char *token, size_t n, char hash_hex_out[ZT_ADMIN_HASH_HEX + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, n);
    sodium_bin2hex(hash_hex_out, ZT_ADMIN_HASH_HEX + 1, h, sizeof(h));
    zt_wipe(h, sizeof(h));
}

bool zt_admin_token_ok(const char *hash_hex, const char *given, size_t n)
{
    if (hash_hex == NULL || strlen(hash_hex) != ZT_ADMIN_HASH_HEX || given == NULL || n == 0 ||
        n > ZT_ADMIN_TOKEN_MAX_CHARS)
        return false;
    char h[ZT_ADMIN_HASH_HEX + 1];
    zt_admin_token_hash(given, n, h);
    bool ok = zt_ct_eq(h, hash_hex, ZT_ADMIN_HASH_HEX);
    zt_wipe(h, sizeof(h));
    return ok;
}

bool zt_admin_bearer(const char *value, size_t n, const char **tok, size_t *tok_n)
{
    zt_span v = zt_span_trim((zt_span){value, n});
    if (v.n < 7 || !zt_span_istarts(v, "bearer") || (v.p[6] != ' ' && v.p[6] != '\t'))
        return false;
    zt_span t = zt_span_trim((zt_span){v.p + 7, v.n - 7});
    if (t.n == 0)
        return false;
    /* token68 characters only: anything else (a space, a second credential) is not ours. */
    for (size_t i = 0; i < t.n; i++) {
        unsigned char ch = (unsigned char)t.p[i];
        if (ch <= 0x20 || ch >= 0x7f)
            return false;
    }
    *tok = t.p;
    *tok_n = t.n;
    return true;
}

static int create_token(const char *path, char *tok, size_t cap, size_t *n, char *err,
                        size_t errlen)
{
    unsigned char raw[ZT_ADMIN_TOKEN_BYTES];
    zt_random(raw, sizeof(raw));
    sodium_bin2base64(tok, cap, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    zt_wipe(raw, sizeof(raw));
    *n = strlen(tok);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        zt_errf(err, errlen, "admin token %s: cannot create: %s", path, strerror(e));
        return -e;
    }
    tok[*n] = '\n';
    ssize_t w = write(fd, tok, *n + 1);
    tok[*n] = '\0';
    int rc = 0;
    if (w != (ssize_t)(*n + 1) || fsync(fd) != 0) {
        rc = w < 0 ? -errno : -EIO;
        zt_errf(err, errlen, "admin token %s: cannot write: %s", path, strerror(-rc));
        unlink(path);
    }
    close(fd);
    return rc;
}

static int read_token(const char *path, char *tok, size_t cap, size_t *n, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            zt_errf(err, errlen, "admin token %s: is a symbolic link; refusing it", path);
        else
            zt_errf(err, errlen, "admin token %s: cannot open: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        zt_errf(err, errlen, "admin token %s: %s", path, strerror(-rc));
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        zt_errf(err, errlen, "admin token %s: not a regular file", path);
    } else if ((st.st_mode & 0077) != 0) {
        rc = -EPERM;
        zt_errf(err, errlen,
                "admin token %s: mode %03o lets group or others read it; run chmod 600 on it", path,
                (unsigned)(st.st_mode & 0777));
    }
    size_t len = 0;
    while (rc == 0) {
        ssize_t got = read(fd, tok + len, cap - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            zt_errf(err, errlen, "admin token %s: cannot read: %s", path, strerror(-rc));
        } else if (got == 0) {
            break;
        } else if ((len += (size_t)got) == cap - 1) {
            rc = -E2BIG;
            zt_errf(err, errlen, "admin token %s: longer than %d characters", path,
                    ZT_ADMIN_TOKEN_MAX_CHARS);
        }
    }
    close(fd);
    tok[len] = '\0';
    if (len > 0 && tok[len - 1] == '\n')
        tok[--len] = '\0';
    if (len > 0 && tok[len - 1] == '\r')
        tok[--len] = '\0';
    if (rc == 0 && len < ZT_ADMIN_TOKEN_MIN_CHARS) {
        rc = -EINVAL;
        zt_errf(err, errlen, "admin token %s: shorter than %d characters", path,
                ZT_ADMIN_TOKEN_MIN_CHARS);
    }
    for (size_t i = 0; rc == 0 && i < len; i++) {
        unsigned char ch = (unsigned char)tok[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            rc = -EINVAL;
            zt_errf(err, errlen,
                    "admin token %s: holds spaces, control or non-ASCII characters (one line "
                    "of printable ASCII expected)",
                    path);
        }
    }
    *n = len;
    return rc;
}

int zt_admin_token_init(const char *path, char hash_hex_out[ZT_ADMIN_HASH_HEX + 1], char *err,
                        size_t errlen)
{
    char tok[ZT_ADMIN_TOKEN_MAX_CHARS + 3];
    size_t n = 0;
    hash_hex_out[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        zt_errf(err, errlen, "admin token: no file name");
        return -EINVAL;
    }
    struct stat st;
    int rc;
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        rc = create_token(path, tok, sizeof(tok), &n, err, errlen);
        /* Another process may have won the race: use its file. */
        if (rc == -EEXIST)
            rc = read_token(path, tok, sizeof(tok), &n, err, errlen);
    } else {
        rc = read_token(path, tok, sizeof(tok), &n, err, errlen);
    }
    if (rc == 0)
        zt_admin_token_hash(tok, n, hash_hex_out);
    zt_wipe(tok, sizeof(tok));
    return rc;
}
