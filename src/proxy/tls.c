#include "proxy/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "lib/file.h"

static void ssl_error_text(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s: %s", what, buf);
    ERR_clear_error();
}

static int add_san(X509 *crt)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, crt, crt, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
                                              "DNS:localhost,DNS:*.localhost,IP:127.0.0.1,IP:::1");
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(crt, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static X509 *build_cert(EVP_PKEY *key)
{
    X509 *crt = X509_new();
    if (crt == NULL)
        return NULL;
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7F;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(crt);
    bool ok = bn != NULL && X509_set_version(crt, 2) &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) != NULL &&
              X509_gmtime_adj(X509_getm_notBefore(crt), -300) &&
              X509_gmtime_adj(X509_getm_notAfter(crt), 365L * 24 * 3600) &&
              X509_set_pubkey(crt, key) &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                         (const unsigned char *)"ztgate self-signed", -1, -1, 0) &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"localhost", -1, -1, 0) &&
              X509_set_issuer_name(crt, name) && add_san(crt) == 0 &&
              X509_sign(crt, key, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(crt);
        return NULL;
    }
    return crt;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, crt);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = 0;
    fclose(f);
    return ok ? 0 : -EIO;
}

int zt_tls_make_self_signed(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    int rc = zt_mkdir_parent(cert_file, 0700);
    if (rc == 0)
        rc = zt_mkdir_parent(key_file, 0700);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot create directory: %s", cert_file, strerror(-rc));
        return rc;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = key ? build_cert(key) : NULL;
    if (crt == NULL) {
        ssl_error_text(err, errlen, "self-signed certificate");
        EVP_PKEY_free(key);
        return -EINVAL;
    }
    rc = write_pem(key_file, 0600, key, NULL);
    if (rc == 0)
        rc = write_pem(cert_file, 0644, NULL, crt);
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot write: %s", rc == -EIO ? cert_file : key_file,
                 strerror(-rc));
    X509_free(crt);
    EVP_PKEY_free(key);
    return rc;
}

static bool file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static bool configure_ctx(SSL_CTX *ctx)
{
    /* TLS 1.2+ with forward secrecy and AEAD only; P-256 first because it is the fastest
     * handshake curve with the certificate type we generate. */
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
           SSL_CTX_set_cipher_list(ctx,
                                   "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                   "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                   "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") &&
           SSL_CTX_set1_groups_list(ctx, "P-256:X25519:P-384") &&
           (SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                         SSL_OP_NO_COMPRESSION),
            1) &&
           /* An idle connection gives its record buffers (~34 KiB) back, as nginx does. */
           (SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS), 1);
}

SSL_CTX *zt_tls_server_ctx(const zt_tls_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->self_signed && !file_exists(cfg->cert_file) && !file_exists(cfg->key_file)) {
        if (zt_tls_make_self_signed(cfg->cert_file, cfg->key_file, err, errlen) < 0)
            return NULL;
        zt_info("tls: created a self-signed certificate %s (key %s)", cfg->cert_file,
                cfg->key_file);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || !configure_ctx(ctx)) {
        ssl_error_text(err, errlen, "tls context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        ssl_error_text(err, errlen, cfg->cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error_text(err, errlen, cfg->key_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    return ctx;
}

int zt_tls_conn_init(zt_tls_conn *t, SSL_CTX *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        memset(t, 0, sizeof(*t));
        return -1;
    }
    /* An empty read BIO means "try again later", not EOF. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return 0;
}

void zt_tls_conn_dispose(zt_tls_conn *t)
{
    if (t->ssl != NULL)
        SSL_free(t->ssl); /* frees both BIOs */
    memset(t, 0, sizeof(*t));
}

int zt_tls_feed(zt_tls_conn *t, const char *data, size_t n)
{
    while (n > 0) {
        int w = BIO_write(t->rbio, data, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

int zt_tls_handshake(zt_tls_conn *t)
{
    if (t->handshake_done)
        return 1;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->handshake_done = true;
        return 1;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (zt_log_enabled(ZT_LOG_DEBUG)) {
        char buf[256];
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
        zt_debug("tls: handshake failed: %s", buf);
    }
    ERR_clear_error();
    return -1;
}

int zt_tls_read(zt_tls_conn *t, char *buf, size_t cap)
{
    int r = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    ERR_clear_error();
    return -1;
}

int zt_tls_write(zt_tls_conn *t, const char *data, size_t n)
{
    while (n > 0) {
        int w = SSL_write(t->ssl, data, n > 1 << 30 ? 1 << 30 : (int)n);
        if (w <= 0) {
            ERR_clear_error();
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t zt_tls_output_pending(const zt_tls_conn *t)
{
    return t->wbio ? BIO_ctrl_pending(t->wbio) : 0;
}

int zt_tls_take_output(zt_tls_conn *t, zt_buf *out)
{
    size_t pending = BIO_ctrl_pending(t->wbio);
    if (pending == 0)
        return 0;
    int rc = zt_buf_reserve(out, pending);
    if (rc < 0)
        return rc;
    int r = BIO_read(t->wbio, out->data + out->len, (int)pending);
    if (r > 0)
        out->len += (size_t)r;
    return 0;
}

int zt_tls_shutdown(zt_tls_conn *t)
{
    if (t->ssl == NULL || (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        return 0;
    int r = SSL_shutdown(t->ssl); /* queues close_notify in the write BIO */
    ERR_clear_error();
    return r < 0 ? -1 : 0;
}

bool zt_tls_peer_closed(const zt_tls_conn *t)
{
    return t->ssl != NULL && (SSL_get_shutdown(t->ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}
