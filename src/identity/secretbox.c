/* Key file handling and crypto_secretbox_easy with a per-message random nonce. Sub-keys come from
 * BLAKE2b keyed with the master key, with a domain label so seal contexts and derived purposes
 * can never produce the same key. */
#include "lib/str.h"
#include "identity/secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/secure.h"

struct zt_secretbox {
    unsigned char *key; /* sodium_malloc: guard pages, mlocked, read-only after load */
};

static int fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir))
            return -ENAMETOOLONG;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* New random key at path, never replacing an existing file (link fails with EEXIST when another
 * process won the race; the caller then loads that one). */
static int create_key(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        zt_errf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        zt_errf(err, errlen, "%s: cannot create key file: %s", path, strerror(e));
        return -e;
    }
    unsigned char key[ZT_SECRETBOX_KEY_LEN];
    zt_random(key, sizeof(key));
    int rc = fchmod(fd, 0600) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = zt_write_all(fd, key, sizeof(key));
    zt_wipe(key, sizeof(key));
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && link(tmp, path) != 0)
        rc = -errno;
    unlink(tmp);
    if (rc == 0)
        rc = fsync_dir_of(path);
    if (rc != 0 && rc != -EEXIST)
        zt_errf(err, errlen, "%s: cannot create key file: %s", path, strerror(-rc));
    return rc == -EEXIST ? 0 : rc;
}

static int read_key(int fd, const char *path, unsigned char *key, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        zt_errf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        zt_errf(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    if (st.st_uid != geteuid()) {
        zt_errf(err, errlen, "%s: owned by uid %u, not by this process (uid %u)", path,
                (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    if (st.st_mode & 077) {
        zt_errf(err, errlen, "%s: mode %04o lets group or others read the key; chmod 600 it", path,
                (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    if (st.st_size != ZT_SECRETBOX_KEY_LEN) {
        zt_errf(err, errlen, "%s: a key file holds exactly %d random bytes, this one %lld", path,
                ZT_SECRETBOX_KEY_LEN, (long long)st.st_size);
        return -EINVAL;
    }
    size_t got = 0;
    while (got < ZT_SECRETBOX_KEY_LEN) {
        ssize_t r = read(fd, key + got, ZT_SECRETBOX_KEY_LEN - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            zt_errf(err, errlen, "%s: short read", path);
            return -EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

zt_secretbox *zt_secretbox_load_key(const char *path, bool create_if_missing, char *err,
                                    size_t errlen)
{
    zt_errf(err, errlen, "%s", "");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create_if_missing) {
        if (create_key(path, err, errlen) != 0)
            return NULL;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        zt_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    zt_secretbox *box = calloc(1, sizeof(*box));
    unsigned char *key = sodium_malloc(ZT_SECRETBOX_KEY_LEN);
    if (box == NULL || key == NULL) {
        zt_errf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (read_key(fd, path, key, err, errlen) != 0)
        goto fail;
    close(fd);
    sodium_mprotect_readonly(key);
    box->key = key;
    return box;
fail:
    close(fd);
    sodium_free(key); /* wipes; NULL is fine */
    free(box);
    return NULL;
}

void zt_secretbox_free(zt_secretbox *box)
{
    if (box == NULL)
        return;
    sodium_free(box->key); /* makes it writable, wipes, unmaps */
    free(box);
}

static void subkey(const zt_secretbox *box, const char *domain, const char *label,
                   unsigned char out[ZT_SECRETBOX_KEY_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, box->key, ZT_SECRETBOX_KEY_LEN, ZT_SECRETBOX_KEY_LEN);
    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, (const unsigned char *)label, strlen(label));
    crypto_generichash_final(&st, out, ZT_SECRETBOX_KEY_LEN);
    zt_wipe(&st, sizeof(st));
}

void zt_secretbox_derive(const zt_secretbox *box, const char *purpose,
                         unsigned char out[ZT_SECRETBOX_KEY_LEN])
{
    subkey(box, "ztgate derive", purpose, out);
}

int zt_secretbox_seal(const zt_secretbox *box, const char *context, const void *msg, size_t len,
                      unsigned char *out, size_t outcap, size_t *outlen)
{
    if (box == NULL || context == NULL || len > SIZE_MAX - ZT_SECRETBOX_OVERHEAD)
        return -EINVAL;
    if (outcap < len + ZT_SECRETBOX_OVERHEAD)
        return -ENOSPC;
    unsigned char k[ZT_SECRETBOX_KEY_LEN];
    subkey(box, "ztgate seal", context, k);
    out[0] = ZT_SECRETBOX_VERSION;
    unsigned char *nonce = out + 1;
    randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
    int rc = crypto_secretbox_easy(out + 1 + crypto_secretbox_NONCEBYTES, msg, len, nonce, k);
    zt_wipe(k, sizeof(k));
    if (rc != 0)
        return -EINVAL;
    *outlen = len + ZT_SECRETBOX_OVERHEAD;
    return 0;
}

int zt_secretbox_open(const zt_secretbox *box, const char *context, const unsigned char *in,
                      size_t len, void *out, size_t outcap, size_t *outlen)
{
    if (box == NULL || context == NULL || len < ZT_SECRETBOX_OVERHEAD)
        return -EBADMSG;
    size_t mlen = len - ZT_SECRETBOX_OVERHEAD;
    if (outcap < mlen)
        return -ENOSPC;
    if (in[0] != ZT_SECRETBOX_VERSION) {
        zt_wipe(out, mlen);
        return -EBADMSG;
    }
    unsigned char k[ZT_SECRETBOX_KEY_LEN];
    subkey(box, "ztgate seal", context, k);
    const unsigned char *nonce = in + 1;
    int rc = crypto_secretbox_open_easy(out, in + 1 + crypto_secretbox_NONCEBYTES,
                                        len - 1 - crypto_secretbox_NONCEBYTES, nonce, k);
    zt_wipe(k, sizeof(k));
    if (rc != 0) {
        zt_wipe(out, mlen);
        return -EBADMSG;
    }
    *outlen = mlen;
    return 0;
}
