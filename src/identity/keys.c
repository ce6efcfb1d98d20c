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
#include <openssl/rsa.h>
#include <sodium.h>

#include "lib/file.h"
#include "lib/secure.h"
#include "lib/time.h"

#define LOCK_FILE "lock"
/* Thumbprints are also taken of clients' public keys (jws.c), which may be larger than ours. */
#define DESCRIBE_RSA_MAX_BITS 8192
/* base64url of an RSA modulus of DESCRIBE_RSA_MAX_BITS, plus NUL. */
#define B64_N_MAX (DESCRIBE_RSA_MAX_BITS / 8 * 4 / 3 + 4)

/* One algorithm's files. The "next" file is a fully written new key waiting to become active;
 * it survives a crash between the renames of a rotation. */
typedef struct family {
    zt_jws_alg alg;
    const char *active;
    const char *previous;
    const char *next;
    const char *what; /* for error messages */
} family;

static const family families[] = {
    {ZT_JWS_ES256, "active.pem", "previous.pem", "next.pem", "ECDSA P-256"},
    {ZT_JWS_RS256, "rsa-active.pem", "rsa-previous.pem", "rsa-next.pem", "RSA (2048 to 4096 bits)"},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static size_t nfamilies(unsigned flags)
{
    return (flags & ZT_KEYS_WITH_RSA) ? 2 : 1;
}

/* The public half of one key as JWK members, kept for the JWKS document. */
typedef struct zt_key {
    EVP_PKEY *pkey; /* NULL: no key in this slot */
    zt_jws_alg alg;
    char kid[ZT_KEYS_KID_LEN + 1];
    char members[B64_N_MAX + 64]; /* "kty":...,"crv"/"n":...; no braces */
} zt_key;

struct zt_keyset {
    atomic_uint refs;
    uint64_t generation;
    EVP_MD *sha256; /* fetched once: per-call implicit fetches take a global lock */
    /* key[2f] is family f's active key, key[2f + 1] its previous one (pkey NULL if none). */
    zt_key key[2 * NFAMILIES];
    char *jwks;
    size_t jwks_len;
};

struct zt_keys {
    char *dir;
    unsigned flags;
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

const char *zt_jws_alg_name(zt_jws_alg alg)
{
    switch (alg) {
    case ZT_JWS_ES256:
        return "ES256";
    case ZT_JWS_RS256:
        return "RS256";
    case ZT_JWS_PS256:
        return "PS256";
    }
    return "unknown";
}

bool zt_jws_alg_parse(const char *name, size_t n, zt_jws_alg *out)
{
    static const zt_jws_alg all[] = {ZT_JWS_ES256, ZT_JWS_RS256, ZT_JWS_PS256};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (n == 5 && memcmp(name, zt_jws_alg_name(all[i]), 5) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

/* --- public key description --------------------------------------------------------------- */

static bool is_p256(const EVP_PKEY *pkey)
{
    char group[32];
    return EVP_PKEY_is_a(pkey, "EC") &&
           EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          NULL) &&
           strcmp(group, "prime256v1") == 0;
}

static bool is_rsa_we_accept(const EVP_PKEY *pkey)
{
    int bits = EVP_PKEY_get_bits(pkey);
    return EVP_PKEY_is_a(pkey, "RSA") && bits >= ZT_KEYS_RSA_BITS && bits <= ZT_KEYS_RSA_MAX_BITS;
}

/* Big-endian bytes of a BIGNUM parameter into a base64url string: pad > 0 left-pads to that
 * width (EC coordinates), pad == 0 writes the minimal form (RSA n and e, RFC 7518 6.3.1). */
static bool bn_b64(const EVP_PKEY *pkey, const char *param, int pad, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    unsigned char raw[DESCRIBE_RSA_MAX_BITS / 8];
    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return false;
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    bool ok = n > 0 && (size_t)n <= sizeof(raw) && BN_bn2binpad(bn, raw, n) == n &&
              sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) <= cap;
    BN_free(bn);
    if (ok)
        b64url(out, cap, raw, (size_t)n);
    return ok;
}

/* JWK members for the JWKS and the RFC 7638 thumbprint: SHA-256 over the required members in
 * lexicographic order with no whitespace. */
static int describe_public(const EVP_PKEY *pkey, char *members, size_t cap,
                           char kid[ZT_KEYS_KID_LEN + 1])
{
    char a[B64_N_MAX], b[B64_N_MAX], canon[B64_N_MAX + 96];
    int m, c;
    if (is_p256(pkey)) {
        if (!bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, a, sizeof(a)) ||
            !bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, b, sizeof(b)))
            return -EINVAL;
        m = snprintf(members, cap, "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"", a,
                     b);
        c = snprintf(canon, sizeof(canon),
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", a, b);
    } else if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) <= DESCRIBE_RSA_MAX_BITS) {
        if (!bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0, a, sizeof(a)) ||
            !bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0, b, sizeof(b)))
            return -EINVAL;
        m = snprintf(members, cap, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", a, b);
        c = snprintf(canon, sizeof(canon), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", b, a);
    } else {
        return -EINVAL;
    }
    unsigned char h[32];
    if (m < 0 || (size_t)m >= cap || c < 0 || (size_t)c >= sizeof(canon) ||
        !EVP_Digest(canon, (size_t)c, h, NULL, EVP_sha256(), NULL))
        return -EINVAL;
    b64url(kid, ZT_KEYS_KID_LEN + 1, h, sizeof(h));
    return 0;
}

int zt_keys_thumbprint(const EVP_PKEY *pkey, char kid[ZT_KEYS_KID_LEN + 1])
{
    char members[B64_N_MAX + 64];
    if (pkey == NULL)
        return -EINVAL;
    return describe_public(pkey, members, sizeof(members), kid);
}

/* The key must be of its slot's family: P-256 for ES256, RSA for RS256. */
static int key_describe(zt_key *k)
{
    bool fits = k->alg == ZT_JWS_ES256 ? is_p256(k->pkey) : is_rsa_we_accept(k->pkey);
    if (!fits)
        return -EINVAL;
    return describe_public(k->pkey, k->members, sizeof(k->members), k->kid);
}

/* --- snapshots ---------------------------------------------------------------------------- */

static void keyset_free(zt_keyset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < 2 * NFAMILIES; i++)
        EVP_PKEY_free(s->key[i].pkey);
    EVP_MD_free(s->sha256);
    free(s->jwks);
    free(s);
}

static int build_jwks(zt_keyset *s)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    int rc = zt_buf_append_str(&b, "{\"keys\":[");
    bool first = true;
    for (size_t i = 0; i < 2 * NFAMILIES && rc == 0; i++) {
        const zt_key *k = &s->key[i];
        if (k->pkey == NULL)
            continue;
        rc = zt_buf_printf(&b, "%s{%s,\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"%s\"}",
                           first ? "" : ",", k->members, k->kid, zt_jws_alg_name(k->alg));
        first = false;
    }
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

/* Takes ownership of every key in pkeys (laid out like zt_keyset.key; NULL = absent). */
static int keyset_new(EVP_PKEY *pkeys[2 * NFAMILIES], zt_keyset **out)
{
    zt_keyset *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        for (size_t i = 0; i < 2 * NFAMILIES; i++)
            EVP_PKEY_free(pkeys[i]);
        return -ENOMEM;
    }
    atomic_init(&s->refs, 1);
    int rc = 0;
    for (size_t i = 0; i < 2 * NFAMILIES; i++) {
        s->key[i].pkey = pkeys[i];
        s->key[i].alg = families[i / 2].alg;
        if (pkeys[i] != NULL && rc == 0)
            rc = key_describe(&s->key[i]);
    }
    /* A copied file must not publish the same key twice. */
    for (size_t f = 0; f < NFAMILIES && rc == 0; f++) {
        zt_key *act = &s->key[2 * f], *prev = &s->key[2 * f + 1];
        if (prev->pkey != NULL && strcmp(act->kid, prev->kid) == 0) {
            EVP_PKEY_free(prev->pkey);
            prev->pkey = NULL;
        }
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

static const zt_key *active_for(const zt_keyset *s, zt_jws_alg alg)
{
    for (size_t f = 0; f < NFAMILIES; f++)
        if (families[f].alg == alg && s->key[2 * f].pkey != NULL)
            return &s->key[2 * f];
    return NULL;
}

const char *zt_keyset_kid_for(const zt_keyset *s, zt_jws_alg alg)
{
    const zt_key *k = active_for(s, alg);
    return k ? k->kid : NULL;
}

uint64_t zt_keyset_generation(const zt_keyset *s)
{
    return s->generation;
}

static int sign_es256(const zt_keyset *s, const zt_key *k, const void *msg, size_t n,
                      unsigned char sig[64])
{
    unsigned char h[32], der[80];
    size_t derlen = sizeof(der);
    if (!EVP_Digest(msg, n, h, NULL, s->sha256, NULL))
        return -EIO;
    /* One EVP_PKEY_CTX per call over the shared key: see the thread note in keys.h. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
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

/* RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3); the padding is named, not left to a default. */
static int sign_rs256(const zt_keyset *s, const zt_key *k, const void *msg, size_t n,
                      unsigned char *sig, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL; /* owned by md */
    int ok = md != NULL && EVP_DigestSignInit(md, &pctx, s->sha256, NULL, k->pkey) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_DigestSign(md, sig, sig_len, msg, n) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -EIO;
}

int zt_keyset_sign(const zt_keyset *s, zt_jws_alg alg, const void *msg, size_t n,
                   unsigned char *sig, size_t *sig_len)
{
    const zt_key *k = active_for(s, alg);
    if (k == NULL)
        return -ENOENT;
    size_t need = alg == ZT_JWS_ES256 ? 64 : (size_t)EVP_PKEY_get_size(k->pkey);
    if (*sig_len < need)
        return -ENOSPC;
    if (alg == ZT_JWS_ES256) {
        *sig_len = 64;
        return sign_es256(s, k, msg, n, sig);
    }
    return sign_rs256(s, k, msg, n, sig, sig_len);
}

int zt_keyset_sign_es256(const zt_keyset *s, const void *msg, size_t n, unsigned char sig[64])
{
    return sign_es256(s, &s->key[0], msg, n, sig);
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

/* -ENOENT when absent; -EPERM for unsafe ownership or mode; -EBADMSG when not a key of alg's
 * family. */
static int read_key(int dfd, const char *name, zt_jws_alg alg, EVP_PKEY **out)
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
        zt_key probe = {.pkey = pkey, .alg = alg};
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

static int key_error(char *err, size_t errlen, int rc, const char *dir, const family *fam,
                     const char *name)
{
    if (rc == -EPERM)
        return fail(err, errlen, rc,
                    "%s/%s: key file must be a regular file owned by this user, mode 0600", dir,
                    name);
    if (rc == -EBADMSG)
        return fail(err, errlen, rc, "%s/%s: not an unencrypted %s private key", dir, name,
                    fam->what);
    return fail(err, errlen, rc, "%s/%s: %s", dir, name, strerror(-rc));
}

static EVP_PKEY *generate(zt_jws_alg alg)
{
    if (alg == ZT_JWS_ES256)
        return EVP_EC_gen("P-256");
    return EVP_RSA_gen(ZT_KEYS_RSA_BITS);
}

/* With the lock held, one family: finish an interrupted rotation, create the first key if none,
 * and read the active and previous keys (pkeys[0], pkeys[1]; the latter may stay NULL). */
static int load_family(int dfd, const char *dir, const family *fam, EVP_PKEY *pkeys[2], char *err,
                       size_t errlen)
{
    EVP_PKEY *active = NULL, *prev = NULL;
    int rc = read_key(dfd, fam->active, fam->alg, &active);
    if (rc == -ENOENT) {
        if (renameat(dfd, fam->next, dfd, fam->active) == 0) {
            fsync(dfd);
            rc = read_key(dfd, fam->active, fam->alg, &active);
        } else {
            active = generate(fam->alg);
            rc = active ? write_key(dfd, fam->active, active, zt_wall_us()) : -EIO;
            if (rc == 0 && fsync(dfd) != 0)
                rc = -errno;
        }
    } else if (rc == 0) {
        unlinkat(dfd, fam->next, 0); /* a rotation that died before its first rename */
    }
    if (rc < 0) {
        EVP_PKEY_free(active);
        return key_error(err, errlen, rc, dir, fam, fam->active);
    }
    rc = read_key(dfd, fam->previous, fam->alg, &prev);
    if (rc < 0 && rc != -ENOENT) {
        EVP_PKEY_free(active);
        return key_error(err, errlen, rc, dir, fam, fam->previous);
    }
    pkeys[0] = active;
    pkeys[1] = prev;
    return 0;
}

/* With the lock held: every family the flags ask for, then a snapshot of what is on disk. */
static int load_locked(int dfd, const char *dir, unsigned flags, zt_keyset **out, char *err,
                       size_t errlen)
{
    EVP_PKEY *pkeys[2 * NFAMILIES] = {NULL};
    int rc = 0;
    for (size_t f = 0; f < nfamilies(flags) && rc == 0; f++)
        rc = load_family(dfd, dir, &families[f], &pkeys[2 * f], err, errlen);
    if (rc < 0) {
        for (size_t i = 0; i < 2 * NFAMILIES; i++)
            EVP_PKEY_free(pkeys[i]);
        return rc;
    }
    rc = keyset_new(pkeys, out);
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
        rc = load_locked(dfd, k->dir, k->flags, out, err, errlen);
        close(lfd);
    }
    close(dfd);
    return rc;
}

int zt_keys_open(const char *dir, zt_keys **out, char *err, size_t errlen)
{
    return zt_keys_open_with(dir, 0, out, err, errlen);
}

int zt_keys_open_with(const char *dir, unsigned flags, zt_keys **out, char *err, size_t errlen)
{
    *out = NULL;
    zt_keys *k = calloc(1, sizeof(*k));
    if (k == NULL || (k->dir = strdup(dir)) == NULL) {
        free(k);
        return fail(err, errlen, -ENOMEM, "out of memory");
    }
    atomic_init(&k->readers, 0);
    k->flags = flags & ZT_KEYS_WITH_RSA;
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

/* Refused when a family's previous key is still needed: its active key is younger than the
 * interval, so the previous one has not been published long enough. */
static int check_interval(int dfd, const char *dir, const family *fam, int64_t now_s, char *err,
                          size_t errlen)
{
    struct stat st;
    if (fstatat(dfd, fam->previous, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        fstatat(dfd, fam->active, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    int64_t since = now_s - (int64_t)st.st_mtim.tv_sec;
    if (since < ZT_KEYS_MIN_ROTATE_INTERVAL_S)
        return fail(err, errlen, -EBUSY,
                    "%s: last rotation %llds ago; the previous key must stay published for "
                    "%ds so tokens it signed still verify (force to override)",
                    dir, (long long)since, ZT_KEYS_MIN_ROTATE_INTERVAL_S);
    return 0;
}

/* The renames that make family fam's next key active. */
static int promote_next(int dfd, const family *fam, unsigned flags)
{
    if (flags & ZT_KEYS_ROTATE_REVOKE) {
        /* Replace the compromised key first, then drop the previous one. */
        if (renameat(dfd, fam->next, dfd, fam->active) != 0 ||
            (unlinkat(dfd, fam->previous, 0) != 0 && errno != ENOENT))
            return -errno;
        return 0;
    }
    if ((renameat(dfd, fam->active, dfd, fam->previous) != 0 && errno != ENOENT) ||
        renameat(dfd, fam->next, dfd, fam->active) != 0)
        return -errno;
    return 0;
}

/* With the lock held. Order matters for crash safety: every new key is complete on disk as its
 * family's next file before anything is renamed, and load_family finishes a half-done rotation
 * (or discards a next file whose family was not renamed yet: that family then keeps its keys,
 * and the next rotation replaces them). */
static int rotate_locked(int dfd, const char *dir, unsigned keyflags, unsigned flags, char *err,
                         size_t errlen)
{
    if (flags & ZT_KEYS_ROTATE_REVOKE)
        flags |= ZT_KEYS_ROTATE_FORCE;
    int64_t now = zt_wall_us();
    size_t nf = nfamilies(keyflags);
    int rc = 0;
    for (size_t f = 0; f < nf && rc == 0 && !(flags & ZT_KEYS_ROTATE_FORCE); f++)
        rc = check_interval(dfd, dir, &families[f], now / 1000000, err, errlen);
    if (rc < 0)
        return rc;
    const char *failed = NULL;
    for (size_t f = 0; f < nf && rc == 0; f++) {
        EVP_PKEY *fresh = generate(families[f].alg);
        rc = fresh ? write_key(dfd, families[f].next, fresh, now) : -EIO;
        EVP_PKEY_free(fresh);
        failed = families[f].next;
    }
    if (rc == 0 && fsync(dfd) != 0)
        rc = -errno;
    if (rc < 0) {
        for (size_t f = 0; f < nf; f++)
            unlinkat(dfd, families[f].next, 0);
        return fail(err, errlen, rc, "%s/%s: cannot write new key: %s", dir, failed, strerror(-rc));
    }
    for (size_t f = 0; f < nf && rc == 0; f++)
        rc = promote_next(dfd, &families[f], flags);
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
        rc = rotate_locked(dfd, k->dir, k->flags, flags, err, errlen);
        /* Disk is the truth. After a failure the old snapshot stays in memory; the next open or
         * reload finishes or discards the half-done rotation. */
        if (rc == 0)
            rc = load_locked(dfd, k->dir, k->flags, &s, err, errlen);
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
