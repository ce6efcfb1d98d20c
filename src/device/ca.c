/* The internal device CA: an ECDSA P-256 key and a self-signed certificate under
 * STATE_DIR/device-ca, created once; it signs device certificates for checked CSRs and tells
 * OpenSSL how to verify client certificates against it. It never writes the key anywhere else
 * and never accepts a key file that others could have read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "device/device_int.h"
#include "lib/file.h"
#include "lib/str.h"

#define CA_SUBJECT "ztgate device CA"

/* ---- files ---- */

/* Open a file we are about to trust: no symlink, a regular file, and for the key nobody but
 * the owner may read it. Returns an fd or -1 with err. */
static int open_checked(const char *path, bool secret, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        zt_errf(err, errlen, "%s: %s%s", path, strerror(errno),
                errno == ELOOP ? " (a symlink is refused)" : "");
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        zt_errf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (secret && (sb.st_mode & 077) != 0) {
        zt_errf(err, errlen,
                "%s: the CA key is readable by group or others (mode %03o); run chmod 600 %s "
                "and consider the key exposed",
                path, (unsigned)(sb.st_mode & 0777), path);
        close(fd);
        return -1;
    }
    return fd;
}

static int check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (lstat(dir, &sb) < 0 && errno == ENOENT) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            zt_errf(err, errlen, "creating %s: %s", dir, strerror(errno));
            return -1;
        }
        if (lstat(dir, &sb) < 0) {
            zt_errf(err, errlen, "%s: %s", dir, strerror(errno));
            return -1;
        }
    }
    if (S_ISLNK(sb.st_mode)) {
        zt_errf(err, errlen, "%s is a symlink; the device CA directory must be a real directory",
                dir);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        zt_errf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if ((sb.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
        zt_errf(err, errlen, "making %s private: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Write text to dir/name via a 0600 temporary file, fsync, rename. */
static int write_file(const char *dir, const char *name, const char *text, size_t n, char *err,
                      size_t errlen)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        zt_errf(err, errlen, "creating %s: %s", tmp, strerror(errno));
        return -1;
    }
    int wrc = zt_write_all(fd, text, n);
    if (wrc < 0)
        errno = -wrc;
    bool ok = wrc == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        zt_errf(err, errlen, "writing %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- certificate building blocks ---- */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* 128 random bits as a positive serial. */
static int set_random_serial(X509 *x)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    raw[0] |= 0x01; /* never zero-length: keeps the hex form 31-32 digits */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int rc = -1;
    if (bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
        rc = 0;
    BN_free(bn);
    return rc;
}

static int set_validity(X509 *x, int64_t from, int64_t until)
{
    return ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) != NULL &&
                   ASN1_TIME_set(X509_getm_notAfter(x), (time_t)until) != NULL
               ? 0
               : -1;
}

static char *to_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

bool zt_cert_serial_hex(const X509 *x, char out[ZT_SERIAL_HEX_MAX + 1])
{
    out[0] = '\0';
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    bool ok = hex != NULL && hex[0] != '-' && strlen(hex) <= ZT_SERIAL_HEX_MAX;
    if (ok) {
        const char *p = hex;
        while (p[0] == '0' && p[1] != '\0')
            p++;
        size_t i = 0;
        for (; p[i] != '\0'; i++)
            out[i] = zt_ascii_lower(p[i]);
        out[i] = '\0';
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return ok;
}

static bool is_p256(EVP_PKEY *pk)
{
    char group[64];
    size_t n = 0;
    if (pk == NULL || !EVP_PKEY_is_a(pk, "EC"))
        return false;
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n) !=
        1)
        return false;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* ---- create / load ---- */

static X509 *make_ca_cert(EVP_PKEY *key, int64_t now)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    bool ok = x != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
              set_random_serial(x) == 0 &&
              set_validity(x, now - ZT_CERT_BACKDATE_S, now + ZT_CA_LIFETIME_S) == 0 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)CA_SUBJECT, -1, -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
              X509_set_pubkey(x, key) == 1 &&
              add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
              add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
              add_ext(x, x, NID_subject_key_identifier, "hash") == 0 &&
              X509_sign(x, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int ca_create(const char *dir, int64_t now, zt_ca *ca, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key != NULL ? make_ca_cert(key, now) : NULL;
    char *pem = cert != NULL ? to_pem(cert) : NULL;
    BIO *kb = BIO_new(BIO_s_mem());
    char *kdata = NULL;
    long kn = 0;
    int rc = -1;
    if (pem == NULL || kb == NULL ||
        PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        (kn = BIO_get_mem_data(kb, &kdata)) <= 0) {
        zt_errf(err, errlen, "creating the device CA in %s failed", dir);
        goto out;
    }
    /* The certificate first: a crash between the two leaves no key without its certificate
     * (which would be refused as half-created, never silently replaced). */
    if (write_file(dir, ZT_CA_CERT_FILE, pem, strlen(pem), err, errlen) != 0 ||
        write_file(dir, ZT_CA_KEY_FILE, kdata, (size_t)kn, err, errlen) != 0)
        goto out;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    ca->key = key;
    ca->cert = cert;
    ca->pem = pem;
    key = NULL;
    cert = NULL;
    pem = NULL;
    rc = 0;
out:
    BIO_free_all(kb); /* the mem BIO clears nothing itself; the key text is short-lived */
    EVP_PKEY_free(key);
    X509_free(cert);
    free(pem);
    return rc;
}

static int ca_load(const char *dir, zt_ca *ca, char *err, size_t errlen)
{
    char kpath[4096], cpath[4096];
    snprintf(kpath, sizeof(kpath), "%s/%s", dir, ZT_CA_KEY_FILE);
    snprintf(cpath, sizeof(cpath), "%s/%s", dir, ZT_CA_CERT_FILE);
    int kfd = open_checked(kpath, true, err, errlen);
    if (kfd < 0)
        return -1;
    int cfd = open_checked(cpath, false, err, errlen);
    if (cfd < 0) {
        close(kfd);
        return -1;
    }
    FILE *kf = fdopen(kfd, "r");
    FILE *cf = fdopen(cfd, "r");
    EVP_PKEY *key = kf != NULL ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    X509 *cert = cf != NULL ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    if (kf != NULL)
        fclose(kf);
    else
        close(kfd);
    if (cf != NULL)
        fclose(cf);
    else
        close(cfd);
    int rc = -1;
    if (key == NULL || cert == NULL)
        zt_errf(err, errlen, "%s: cannot read %s", dir, key == NULL ? kpath : cpath);
    else if (!is_p256(key))
        zt_errf(err, errlen, "%s: the CA key is not an EC P-256 key", kpath);
    else if (X509_check_private_key(cert, key) != 1)
        zt_errf(err, errlen, "%s does not match %s", kpath, cpath);
    else if (X509_check_ca(cert) == 0)
        zt_errf(err, errlen, "%s is not a CA certificate", cpath);
    else if ((ca->pem = to_pem(cert)) == NULL)
        zt_errf(err, errlen, "out of memory");
    else
        rc = 0;
    if (rc != 0) {
        EVP_PKEY_free(key);
        X509_free(cert);
        return -1;
    }
    ca->key = key;
    ca->cert = cert;
    return 0;
}

int zt_ca_open(const char *dir, int64_t now, zt_ca *ca, char *err, size_t errlen)
{
    memset(ca, 0, sizeof(*ca));
    if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4000) {
        zt_errf(err, errlen, "device CA directory is not set");
        return -1;
    }
    if (check_dir(dir, err, errlen) != 0)
        return -1;
    char kpath[4096], cpath[4096];
    snprintf(kpath, sizeof(kpath), "%s/%s", dir, ZT_CA_KEY_FILE);
    snprintf(cpath, sizeof(cpath), "%s/%s", dir, ZT_CA_CERT_FILE);
    bool have_key = exists(kpath), have_cert = exists(cpath);
    if (!have_key && !have_cert)
        return ca_create(dir, now, ca, err, errlen);
    if (!have_key || !have_cert) {
        zt_errf(err, errlen,
                "%s holds %s without %s (a half-created CA?); restore the missing file, or "
                "remove both to make a new CA (every enrolled device must then enrol again)",
                dir, have_key ? ZT_CA_KEY_FILE : ZT_CA_CERT_FILE,
                have_key ? ZT_CA_CERT_FILE : ZT_CA_KEY_FILE);
        return -1;
    }
    return ca_load(dir, ca, err, errlen);
}

void zt_ca_dispose(zt_ca *ca)
{
    if (ca == NULL)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca->pem);
    memset(ca, 0, sizeof(*ca));
}

/* ---- CSRs and device certificates ---- */

int zt_csr_parse(const char *pem, size_t len, X509_REQ **out, const char **why)
{
    *out = NULL;
    if (len > ZT_CSR_MAX_BYTES) {
        *why = "csr: larger than 8 KiB";
        return -1;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509_REQ *req = b != NULL ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (req == NULL) {
        *why = "csr: not a PEM certificate request";
        return -1;
    }
    EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
    if (!is_p256(pk)) {
        *why = "csr: the key must be EC P-256";
        X509_REQ_free(req);
        return -1;
    }
    if (X509_REQ_verify(req, pk) != 1) {
        ERR_clear_error();
        *why = "csr: the signature does not verify";
        X509_REQ_free(req);
        return -1;
    }
    *out = req;
    return 0;
}

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int zt_ca_sign(const zt_ca *ca, X509_REQ *req, const char *device_id, int64_t now,
               int64_t lifetime_s, zt_issued *out)
{
    memset(out, 0, sizeof(*out));
    char san[128];
    snprintf(san, sizeof(san), "URI:%s%s", ZT_DEVICE_URI_PREFIX, device_id);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
    /* Only the CSR's key is used: subject and extensions are ours, whatever the CSR asked. */
    bool ok = x != NULL && name != NULL && pk != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
              set_random_serial(x) == 0 &&
              set_validity(x, now - ZT_CERT_BACKDATE_S, now + lifetime_s) == 0 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)device_id,
                                         -1, -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 &&
              X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
              X509_set_pubkey(x, pk) == 1 &&
              add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
              add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") == 0 &&
              add_ext(x, ca->cert, NID_ext_key_usage, "clientAuth") == 0 &&
              add_ext(x, ca->cert, NID_subject_alt_name, san) == 0 &&
              add_ext(x, ca->cert, NID_subject_key_identifier, "hash") == 0 &&
              add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") == 0 &&
              X509_sign(x, ca->key, EVP_sha256()) > 0 && zt_cert_serial_hex(x, out->serial);
    unsigned char md[32];
    unsigned int mdlen = 0;
    ok = ok && X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32;
    if (ok) {
        hex_lower(md, 32, out->sha256);
        out->not_after = now + lifetime_s;
        out->pem = to_pem(x);
        ok = out->pem != NULL;
    }
    X509_NAME_free(name);
    X509_free(x);
    ERR_clear_error();
    if (!ok) {
        zt_issued_dispose(out);
        return -1;
    }
    return 0;
}

void zt_issued_dispose(zt_issued *is)
{
    if (is == NULL)
        return;
    free(is->pem);
    memset(is, 0, sizeof(*is));
}

/* ---- TLS ---- */

static int ex_index = -1;
static int refused_index = -1; /* per SSL: the id of a revoked device that tried (malloc'd) */
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void refused_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void ex_init(void)
{
    ex_index = SSL_CTX_get_ex_new_index(0, (void *)"ztgate devices", NULL, NULL, NULL);
    refused_index =
        SSL_get_ex_new_index(0, (void *)"ztgate revoked device", NULL, NULL, refused_free);
}

static bool id_from_cert(X509 *x, char out[ZT_DEVICE_ID_LEN + 1]);

/* Remembers which revoked device the handshake refused, for the audit record the connection
 * writes when it drops (a stolen laptop's attempts must leave a trace). */
static void note_revoked(SSL *ssl, X509 *leaf)
{
    char id[ZT_DEVICE_ID_LEN + 1];
    if (ssl == NULL || leaf == NULL || refused_index < 0 || !id_from_cert(leaf, id) ||
        SSL_get_ex_data(ssl, refused_index) != NULL)
        return;
    char *copy = strdup(id);
    if (copy != NULL && SSL_set_ex_data(ssl, refused_index, copy) != 1)
        free(copy);
}

bool zt_device_tls_refused(SSL *ssl, char device_id[ZT_DEVICE_ID_LEN + 1])
{
    const char *id = ssl != NULL && refused_index >= 0 ? SSL_get_ex_data(ssl, refused_index) : NULL;
    if (id == NULL)
        return false;
    snprintf(device_id, ZT_DEVICE_ID_LEN + 1, "%s", id);
    return true;
}

static zt_devices *devices_of(SSL *ssl)
{
    SSL_CTX *ctx = ssl != NULL ? SSL_get_SSL_CTX(ssl) : NULL;
    return ctx != NULL && ex_index >= 0 ? SSL_CTX_get_ex_data(ctx, ex_index) : NULL;
}

/* OpenSSL has checked chain, signature, validity and purpose (preverify_ok); we add the
 * revoked set for the leaf. Fail closed when the leaf serial cannot be read. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
    if (!preverify_ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
        return preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    zt_devices *d = devices_of(ssl);
    char serial[ZT_SERIAL_HEX_MAX + 1];
    X509 *leaf = X509_STORE_CTX_get_current_cert(sctx);
    if (d == NULL || leaf == NULL || !zt_cert_serial_hex(leaf, serial) ||
        zt_devices_serial_revoked(d, serial)) {
        note_revoked(ssl, leaf);
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REVOKED);
        return 0;
    }
    return 1;
}

int zt_device_tls_configure(zt_devices *d, SSL_CTX *ctx, char *err, size_t errlen)
{
    pthread_once(&ex_once, ex_init);
    if (d == NULL || ctx == NULL || ex_index < 0) {
        zt_errf(err, errlen, "device TLS: not initialised");
        return -1;
    }
    X509_STORE *store = X509_STORE_new();
    X509_VERIFY_PARAM *param = X509_VERIFY_PARAM_new();
    if (param != NULL)
        X509_VERIFY_PARAM_set_depth(param, 1); /* leaf signed by the CA itself, nothing between */
    /* A separate verify store: the device CA is trusted for client certificates only, and the
     * server's own chain keeps being built from the default store. */
    bool ok = store != NULL && param != NULL && X509_STORE_add_cert(store, d->ca.cert) == 1 &&
              X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT) == 1 &&
              X509_STORE_set1_param(store, param) == 1 &&
              SSL_CTX_set1_verify_cert_store(ctx, store) == 1 &&
              SSL_CTX_add_client_CA(ctx, d->ca.cert) == 1 &&
              SSL_CTX_set_ex_data(ctx, ex_index, d) == 1 &&
              SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ztgate-device", 13) == 1;
    X509_VERIFY_PARAM_free(param);
    X509_STORE_free(store);
    if (!ok) {
        ERR_clear_error();
        zt_errf(err, errlen, "device TLS: cannot install the device CA");
        return -1;
    }
    /* Optional: no certificate is fine (browsers), a bad one fails the handshake. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    return 0;
}

static bool id_ok(const char *s, size_t n)
{
    if (n != ZT_DEVICE_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The device id from the SAN URI we issued, else from the CN. */
static bool id_from_cert(X509 *x, char out[ZT_DEVICE_ID_LEN + 1])
{
    const size_t plen = strlen(ZT_DEVICE_URI_PREFIX);
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; gens != NULL && !found && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_URI)
            continue;
        const char *u = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (n > plen && memcmp(u, ZT_DEVICE_URI_PREFIX, plen) == 0 && id_ok(u + plen, n - plen)) {
            memcpy(out, u + plen, ZT_DEVICE_ID_LEN);
            out[ZT_DEVICE_ID_LEN] = '\0';
            found = true;
        }
    }
    GENERAL_NAMES_free(gens);
    if (found)
        return true;
    char cn[ZT_DEVICE_ID_LEN + 2];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    if (n < 0 || !id_ok(cn, (size_t)n))
        return false;
    memcpy(out, cn, ZT_DEVICE_ID_LEN + 1);
    return true;
}

bool zt_device_tls_peer(SSL *ssl, char device_id[ZT_DEVICE_ID_LEN + 1])
{
    device_id[0] = '\0';
    if (ssl == NULL)
        return false;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return false;
    /* A resumed session skips the verify callback: check the revoked set again here. */
    zt_devices *d = devices_of(ssl);
    char serial[ZT_SERIAL_HEX_MAX + 1];
    if (d == NULL || !zt_cert_serial_hex(peer, serial) || zt_devices_serial_revoked(d, serial))
        return false;
    return id_from_cert(peer, device_id);
}
