/* The SAML IdP's signing key and certificate: created once (RSA-2048, self-signed for ten
 * years: SPs trust it by pinning it from our metadata, not through a CA), then only read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "idp/saml.h"
#include "lib/file.h"

#define SAML_CERT_DAYS (10 * 365)

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Write a PEM via fn into a new file of mode `mode` (never over an existing file): into
 * PATH.tmp first, then linked to PATH, so a failure (disk full, ...) never leaves a partial
 * file that the next start would take for a key or certificate. */
static int write_pem(const char *path, mode_t mode, int (*fn)(FILE *, void *), void *obj)
{
    char tmp[4096];
    if (zt_mkdir_parent(path, 0700) < 0 ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -1;
    (void)unlink(tmp); /* left by a crash */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    int ok = fn(f, obj);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    int saved = errno;
    if (ok && link(tmp, path) != 0) { /* link, not rename: an existing file is never replaced */
        saved = errno;
        ok = 0;
    }
    unlink(tmp);
    errno = saved;
    return ok ? 0 : -1;
}

static int write_key(FILE *f, void *k)
{
    return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, void *x)
{
    return PEM_write_X509(f, x);
}

/* A self-signed certificate for key, subject CN = cn, valid from now for ten years. */
static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(x);
    if (bn == NULL || X509_set_version(x, 2) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)SAML_CERT_DAYS * 86400) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
        X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

static int create_pair(const char *cert_path, const char *key_path, const char *cn, char *err,
                       size_t cap)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *x = key != NULL ? self_signed(key, cn) : NULL;
    int rc = -1;
    if (x == NULL)
        snprintf(err, cap, "cannot create the SAML signing key and certificate");
    else if (write_pem(key_path, 0600, write_key, key) < 0)
        snprintf(err, cap, "%s: cannot create: %s", key_path, strerror(errno));
    else if (write_pem(cert_path, 0644, write_cert, x) < 0) {
        snprintf(err, cap, "%s: cannot create: %s", cert_path, strerror(errno));
        unlink(key_path); /* never leave one without the other */
    } else
        rc = 0;
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* Both files exist: an RSA key, readable by its owner only, that matches the certificate. */
static int check_pair(const char *cert_path, const char *key_path, char *err, size_t cap)
{
    struct stat st;
    if (stat(key_path, &st) == 0 && (st.st_mode & 077) != 0) {
        snprintf(err, cap,
                 "%s: the SAML signing key is readable by group or others (mode %03o); "
                 "make it 0600 or stricter (chmod 600)",
                 key_path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    FILE *kf = fopen(key_path, "re"), *cf = fopen(cert_path, "re");
    EVP_PKEY *key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    X509 *x = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    int rc = -1;
    if (key == NULL)
        snprintf(err, cap, "%s: not a readable PEM private key", key_path);
    else if (x == NULL)
        snprintf(err, cap, "%s: not a readable PEM certificate", cert_path);
    else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        snprintf(err, cap, "%s: the SAML signing key must be RSA", key_path);
    else if (X509_check_private_key(x, key) != 1)
        snprintf(err, cap, "%s does not match the key in %s", cert_path, key_path);
    else
        rc = 0;
    X509_free(x);
    EVP_PKEY_free(key);
    if (kf != NULL)
        fclose(kf);
    if (cf != NULL)
        fclose(cf);
    return rc;
}

int zt_saml_keys_ensure(const char *cert_path, const char *key_path, const char *cn, char *err,
                        size_t cap)
{
    bool have_cert = exists(cert_path), have_key = exists(key_path);
    if (!have_cert && !have_key)
        return create_pair(cert_path, key_path, cn, err, cap);
    if (have_cert != have_key) {
        snprintf(err, cap, "%s and %s: one exists and the other does not", cert_path, key_path);
        return -1;
    }
    return check_pair(cert_path, key_path, err, cap);
}
