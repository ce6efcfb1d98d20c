#include "identity/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "lib/file.h"
#include "lib/secure.h"
#include "lib/time.h"

#define ACTIVE_FILE "active.pem"
#define PREVIOUS_FILE "previous.pem"
/* A fully written new key waiting to become active; survives a crash between the renames. */
#define NEXT_FILE "next.pem"
#define LOCK_FILE "lock"
#define B64_32 43 /* base64url of 32 bytes, no padding */

typedef struct zt_key {
    EVP_PKEY *pkey;
    char kid[ZT_KEYS_KID_LEN + 1];
    char x[B64_32 + 1];
    char y[B64_32 + 1];
} zt_key;

struct zt_keyset {
    atomic_uint refs;
    uint64_t generation;
    EVP_MD *sha256; /* fetched once: per-call implicit fetches take a global lock */
    zt_key key[2];  /* [0] active, [1] previous when nkeys == 2 */
    size_t nkeys;
    char *jwks;
    size_t jwks_len;
};

struct zt_keys {
    char *dir;
    _Atomic(zt_keyset *) cur;
    /* Acquires between loading cur and taking a reference; a swap waits for it to drain before
     * dropping its reference to the old snapshot, so no reader can touch a freed one. */
    atomic_uint readers;
    uint64_t generation;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static void b64url(char *out, size_t outcap, const unsigned char *in, size_t n)
{
    sodium_bin2base64(out, outcap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* --- snapshots ---------------------------------------------------------------------------- */

static void keyset_free(zt_keyset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        EVP_PKEY_free(s->key[i].pkey);
    EVP_MD_free(s->sha256);
    free(s->jwks);
    free(s);
}

/* Public coordinates and RFC 7638 thumbprint: SHA-256 over the required members in
 * lexicographic order with no whitespace. */
static int key_describe(zt_key *k)
{
    char group[32];
    if (!EVP_PKEY_is_a(k->pkey, "EC") ||
        !EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, "prime256v1") != 0)
        return -EINVAL;
    BIGNUM *bx = NULL, *by = NULL;
    unsigned char x[32], y[32];
    int ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
             EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
             BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;
    BN_free(bx);
    BN_free(by);
    if (!ok)
        return -EINVAL;
    b64url(k->x, sizeof(k->x), x, 32);
    b64url(k->y, sizeof(k->y), y, 32);
    char jwk[160];
    int n = snprintf(jwk, sizeof(jwk),
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->x, k->y);
    unsigned char h[32];
    if (n < 0 || (size_t)n >= sizeof(jwk) ||
        !EVP_Digest(jwk, (size_t)n, h, NULL, EVP_sha256(), NULL))
        return -EINVAL;
    b64url(k->kid, sizeof(k->kid), h, sizeof(h));
    return 0;
}

static int build_jwks(zt_keyset *s)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    int rc = zt_buf_append_str(&b, "{\"keys\":[");
    for (size_t i = 0; i < s->nkeys && rc == 0; i++)
        rc = zt_buf_printf(&b,
                           "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
                           "\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"ES256\"}",
                           i ? "," : "", s->key[i].x, s->key[i].y, s->key[i].kid);
    if (rc == 0)
        rc = zt_buf_append_str(&b, "]}");
    if (rc == 0)
        rc = zt_buf_cstr(&b);
    if (rc < 0) {
        zt_buf_dispose(&b);
        return rc;
    }
    s->jwks = b.data;
    s->jwks_len = b.len;
    return 0;
}

/* Takes ownership of both keys (prev may be NULL). */
static int keyset_new(EVP_PKEY *active, EVP_PKEY *prev, zt_keyset **out)
{
    zt_keyset *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        EVP_PKEY_free(active);
        EVP_PKEY_free(prev);
        return -ENOMEM;
    }
    atomic_init(&s->refs, 1);
    s->key[0].pkey = active;
    s->key[1].pkey = prev;
    s->nkeys = prev ? 2 : 1;
    int rc = key_describe(&s->key[0]);
    if (rc == 0 && prev != NULL) {
        rc = key_describe(&s->key[1]);
        /* A copied file must not publish the same key twice. */
        if (rc == 0 && strcmp(s->key[0].kid, s->key[1].kid) == 0)
            s->nkeys = 1;
    }
    if (rc == 0) {
        s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        rc = s->sha256 ? build_jwks(s) : -EIO;
    }
    if (rc < 0) {
        keyset_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

const zt_keyset *zt_keys_acquire(const zt_keys *ck)
{
    /* The object is heap-allocated and never const; only the reader counters change here. */
    zt_keys *k = (zt_keys *)ck;
    atomic_fetch_add(&k->readers, 1);
    zt_keyset *s = atomic_load(&k->cur);
    atomic_fetch_add(&s->refs, 1);
    atomic_fetch_sub(&k->readers, 1);
    return s;
}

void zt_keyset_release(const zt_keyset *cs)
{
    zt_keyset *s = (zt_keyset *)cs;
    if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
        keyset_free(s);
}

static void keys_swap(zt_keys *k, zt_keyset *s)
{
    s->generation = ++k->generation;
    zt_keyset *old = atomic_exchange(&k->cur, s);
    /* Any reader that loaded old is between its load and its reference increment only while
     * readers > 0; once drained, every later reader sees s. The window is three atomics. */
    while (atomic_load(&k->readers) != 0)
        sched_yield();
    zt_keyset_release(old);
}

const char *zt_keyset_jwks(const zt_keyset *s, size_t *len)
{
    if (len != NULL)
        *len = s->jwks_len;
    return s->jwks;
}

const char *zt_keyset_kid(const zt_keyset *s)
{
    return s->key[0].kid;
}

uint64_t zt_keyset_generation(const zt_keyset *s)
{
    return s->generation;
}

int zt_keyset_sign_es256(const zt_keyset *s, const void *msg, size_t n, unsigned char sig[64])
{
    unsigned char h[32], der[80];
    size_t derlen = sizeof(der);
    if (!EVP_Digest(msg, n, h, NULL, s->sha256, NULL))
        return -EIO;
    /* One EVP_PKEY_CTX per call over the shared key: see the thread note in keys.h. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->key[0].pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_sign(ctx, der, &derlen, h, sizeof(h)) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return -EIO;
    /* DER ECDSA-Sig-Value to JOSE: R and S are minimal big-endian integers (31 bytes or fewer
     * about 1 time in 128 each), so each is left-padded to exactly 32 bytes. */
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    ok = es != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : -EIO;
}

int zt_keys_jwks(const zt_keys *k, zt_buf *out)
{
    const zt_keyset *s = zt_keys_acquire(k);
    int rc = zt_buf_append(out, s->jwks, s->jwks_len);
    zt_keyset_release(s);
    return rc;
}

/* --- files -------------------------------------------------------------------------------- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* encrypted keys are not supported; never prompt on a terminal */
}

/* -ENOENT when absent; -EPERM for unsafe ownership or mode; -EBADMSG when not a P-256 key. */
static int read_key(int dfd, const char *name, EVP_PKEY **out)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? -EPERM : -errno;
    struct stat st;
    char pem[ZT_KEYS_MAX_PEM];
    size_t n = 0;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
        rc = -EPERM;
    else if (st.st_size <= 0 || st.st_size >= (off_t)sizeof(pem))
        rc = -EBADMSG;
    while (rc == 0 && n < (size_t)st.st_size) {
        ssize_t r = read(fd, pem + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = r < 0 ? -errno : -EBADMSG;
        else
            n += (size_t)r;
    }
    close(fd);
    EVP_PKEY *pkey = NULL;
    if (rc == 0) {
        BIO *bio = BIO_new_mem_buf(pem, (int)n);
        pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
        BIO_free(bio);
        zt_key probe = {.pkey = pkey};
        if (pkey == NULL || key_describe(&probe) != 0) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
            rc = -EBADMSG;
        }
    }
    zt_wipe(pem, sizeof(pem));
    *out = pkey;
    return rc;
}

/* Writes name atomically (temp file, fsync, rename) with mode 0600 and mtime = now. */
static int write_key(int dfd, const char *name, EVP_PKEY *pkey, int64_t now_us)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".tmp.%s", name);
    BIO *bio = BIO_new(BIO_s_secmem());
    char *pem = NULL;
    long n = 0;
    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &pem)) <= 0) {
        BIO_free(bio);
        return -EIO;
    }
    unlinkat(dfd, tmp, 0);
    int rc = 0;
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = -errno;
    if (rc == 0 && fchmod(fd, 0600) != 0) /* umask must not matter either way */
        rc = -errno;
    if (rc == 0)
        rc = zt_write_all(fd, pem, (size_t)n);
    if (rc == 0) {
        struct timespec ts[2] = {
            {.tv_sec = now_us / 1000000, .tv_nsec = (now_us % 1000000) * 1000}};
        ts[1] = ts[0];
        if (futimens(fd, ts) != 0 || fsync(fd) != 0)
            rc = -errno;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0)
        rc = -errno;
    if (rc < 0)
        unlinkat(dfd, tmp, 0);
    OPENSSL_cleanse(pem, (size_t)n);
    BIO_free(bio);
    return rc;
}

static int open_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0)
        chmod(dir, 0700); /* exactly, whatever the umask */
    else if (errno != EEXIST)
        return fail(err, errlen, -errno, "%s: cannot create key directory: %s", dir,
                    strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 && (errno == ELOOP || errno == ENOTDIR))
        return fail(err, errlen, -EPERM, "%s: key directory must be a directory, not a symlink",
                    dir);
    if (dfd < 0)
        return fail(err, errlen, -errno, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(dfd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(dfd);
        return fail(err, errlen, -EPERM,
                    "%s: key directory must be owned by this user and mode 0700", dir);
    }
    return dfd;
}

/* Exclusive lock shared with other processes (daemon, admin CLI); released by close. */
static int lock_dir(int dfd, const char *dir, char *err, size_t errlen)
{
    int fd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(err, errlen, -errno, "%s/%s: %s", dir, LOCK_FILE, strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return fail(err, errlen, -e, "%s/%s: lock: %s", dir, LOCK_FILE, strerror(e));
        }
    }
    return fd;
}

static int key_error(char *err, size_t errlen, int rc, const char *dir, const char *name)
{
    if (rc == -EPERM)
        return fail(err, errlen, rc,
                    "%s/%s: key file must be a regular file owned by this user, mode 0600", dir,
                    name);
    if (rc == -EBADMSG)
        return fail(err, errlen, rc, "%s/%s: not an unencrypted ECDSA P-256 private key", dir,
                    name);
    return fail(err, errlen, rc, "%s/%s: %s", dir, name, strerror(-rc));
}

/* With the lock held: finish an interrupted rotation, create the first key if none, and build
 * a snapshot of what is on disk. */
static int load_locked(int dfd, const char *dir, zt_keyset **out, char *err, size_t errlen)
{
    EVP_PKEY *active = NULL, *prev = NULL;
    int rc = read_key(dfd, ACTIVE_FILE, &active);
    if (rc == -ENOENT) {
        if (renameat(dfd, NEXT_FILE, dfd, ACTIVE_FILE) == 0) {
            fsync(dfd);
            rc = read_key(dfd, ACTIVE_FILE, &active);
        } else {
            active = EVP_EC_gen("P-256");
            rc = active ? write_key(dfd, ACTIVE_FILE, active, zt_wall_us()) : -EIO;
            if (rc == 0 && fsync(dfd) != 0)
                rc = -errno;
        }
    } else if (rc == 0) {
        unlinkat(dfd, NEXT_FILE, 0); /* a rotation that died before its first rename */
    }
    if (rc < 0) {
        EVP_PKEY_free(active);
        return key_error(err, errlen, rc, dir, ACTIVE_FILE);
    }
    rc = read_key(dfd, PREVIOUS_FILE, &prev);
    if (rc < 0 && rc != -ENOENT) {
        EVP_PKEY_free(active);
        return key_error(err, errlen, rc, dir, PREVIOUS_FILE);
    }
    rc = keyset_new(active, prev, out);
    if (rc < 0)
        return fail(err, errlen, rc, "%s: cannot build key set: %s", dir, strerror(-rc));
    return 0;
}

static int load(zt_keys *k, zt_keyset **out, char *err, size_t errlen)
{
    int dfd = open_dir(k->dir, err, errlen);
    if (dfd < 0)
        return dfd;
    int lfd = lock_dir(dfd, k->dir, err, errlen);
    int rc = lfd;
    if (lfd >= 0) {
        rc = load_locked(dfd, k->dir, out, err, errlen);
        close(lfd);
    }
    close(dfd);
    return rc;
}

int zt_keys_open(const char *dir, zt_keys **out, char *err, size_t errlen)
{
    *out = NULL;
    zt_keys *k = calloc(1, sizeof(*k));
    if (k == NULL || (k->dir = strdup(dir)) == NULL) {
        free(k);
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    atomic_init(&k->readers, 0);
    zt_keyset *s = NULL;
    int rc = load(k, &s, err, errlen);
    if (rc < 0) {
        free(k->dir);
        free(k);
        return rc;
    }
    s->generation = ++k->generation;
    atomic_init(&k->cur, s);
    *out = k;
    return 0;
}

void zt_keys_free(zt_keys *k)
{
    if (k == NULL)
        return;
    zt_keyset_release(atomic_load(&k->cur));
    free(k->dir);
    free(k);
}

int zt_keys_reload(zt_keys *k, char *err, size_t errlen)
{
    zt_keyset *s = NULL;
    int rc = load(k, &s, err, errlen);
    if (rc == 0)
        keys_swap(k, s);
    return rc;
}

/* With the lock held. Order matters for crash safety: the new key is complete on disk as
 * next.pem before anything is renamed, and load_locked finishes a half-done rotation. */
static int rotate_locked(int dfd, const char *dir, unsigned flags, char *err, size_t errlen)
{
    if (flags & ZT_KEYS_ROTATE_REVOKE)
        flags |= ZT_KEYS_ROTATE_FORCE;
    int64_t now = zt_wall_us();
    struct stat st;
    if (!(flags & ZT_KEYS_ROTATE_FORCE) &&
        fstatat(dfd, PREVIOUS_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        fstatat(dfd, ACTIVE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        int64_t since = now / 1000000 - (int64_t)st.st_mtim.tv_sec;
        if (since < ZT_KEYS_MIN_ROTATE_INTERVAL_S)
            return fail(err, errlen, -EBUSY,
                        "%s: last rotation %llds ago; the previous key must stay published for "
                        "%ds so assertions it signed still verify (force to override)",
                        dir, (long long)since, ZT_KEYS_MIN_ROTATE_INTERVAL_S);
    }
    EVP_PKEY *fresh = EVP_EC_gen("P-256");
    int rc = fresh ? write_key(dfd, NEXT_FILE, fresh, now) : -EIO;
    EVP_PKEY_free(fresh);
    if (rc == 0 && fsync(dfd) != 0)
        rc = -errno;
    if (rc < 0)
        return fail(err, errlen, rc, "%s/%s: cannot write new key: %s", dir, NEXT_FILE,
                    strerror(-rc));
    if (flags & ZT_KEYS_ROTATE_REVOKE) {
        /* Replace the compromised key first, then drop the previous one. */
        if (renameat(dfd, NEXT_FILE, dfd, ACTIVE_FILE) != 0 ||
            (unlinkat(dfd, PREVIOUS_FILE, 0) != 0 && errno != ENOENT))
            rc = -errno;
    } else {
        if ((renameat(dfd, ACTIVE_FILE, dfd, PREVIOUS_FILE) != 0 && errno != ENOENT) ||
            renameat(dfd, NEXT_FILE, dfd, ACTIVE_FILE) != 0)
            rc = -errno;
    }
    if (rc == 0 && fsync(dfd) != 0)
        rc = -errno;
    if (rc < 0)
        return fail(err, errlen, rc, "%s: rotation: %s", dir, strerror(-rc));
    return 0;
}

int zt_keys_rotate(zt_keys *k, unsigned flags, char *err, size_t errlen)
{
    int dfd = open_dir(k->dir, err, errlen);
    if (dfd < 0)
        return dfd;
    int lfd = lock_dir(dfd, k->dir, err, errlen);
    int rc = lfd;
    zt_keyset *s = NULL;
    if (lfd >= 0) {
        rc = rotate_locked(dfd, k->dir, flags, err, errlen);
        /* Disk is the truth. After a failure the old snapshot stays in memory; the next open or
         * reload finishes or discards the half-done rotation. */
        if (rc == 0)
            rc = load_locked(dfd, k->dir, &s, err, errlen);
        close(lfd);
    }
    close(dfd);
    if (rc == 0)
        keys_swap(k, s);
    return rc;
}

EVP_PKEY *zt_keys_p256_public(const unsigned char x[32], const unsigned char y[32])
{
    unsigned char pub[65];
    char group[] = "prime256v1";
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    /* Reject points off the curve (invalid-curve attacks) explicitly. */
    EVP_PKEY_CTX *chk = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (pkey != NULL && (chk == NULL || EVP_PKEY_public_check(chk) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(chk);
    return pkey;
}
