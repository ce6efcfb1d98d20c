#include "proxy/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- client side: TLS to https:// upstreams ------------------------------------------------ */

/* What every connection of one client context needs: the names (SNI, the certificate check)
 * and the sessions to resume. Lives in the context's ex_data, so it goes with the last
 * connection that holds the context, never before (a reload swaps contexts under live
 * connections). */
typedef struct client_data {
    pthread_mutex_t mu; /* the sessions: every worker's connections share the context */
    SSL_SESSION *sess[2];
    char sni[256];    /* "" = no SNI (an IP literal, RFC 6066 §3) */
    char verify[256]; /* the name or IP the certificate must carry */
    bool verify_ip;
} client_data;

static int client_data_index = -1;
static pthread_once_t client_data_once = PTHREAD_ONCE_INIT;

static void client_data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                             void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    client_data *d = ptr;
    if (d == NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        SSL_SESSION_free(d->sess[i]);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static void client_data_init_index(void)
{
    client_data_index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, client_data_free);
}

static client_data *client_data_of(SSL_CTX *ctx)
{
    return client_data_index < 0 ? NULL : SSL_CTX_get_ex_data(ctx, client_data_index);
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A new session (a TLS 1.3 ticket or a 1.2 session id) from the upstream: keep the newest two.
 * Returning 1 keeps OpenSSL's reference for us. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    client_data *d = client_data_of(SSL_get_SSL_CTX(ssl));
    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->mu);
    SSL_SESSION_free(d->sess[1]);
    d->sess[1] = d->sess[0];
    d->sess[0] = sess;
    pthread_mutex_unlock(&d->mu);
    return 1;
}

/* The session for a new connection, or NULL. A TLS 1.3 ticket is used once (RFC 8446 C.4:
 * reuse lets a passive observer link connections), so it leaves the store; a 1.2 session stays. */
static SSL_SESSION *take_session(client_data *d)
{
    SSL_SESSION *s = NULL;
    pthread_mutex_lock(&d->mu);
    while (s == NULL && d->sess[0] != NULL) {
        SSL_SESSION *first = d->sess[0];
        if (SSL_SESSION_is_resumable(first) &&
            SSL_SESSION_get_protocol_version(first) < TLS1_3_VERSION) {
            SSL_SESSION_up_ref(first);
            s = first; /* a 1.2 session stays for the next connection too */
            break;
        }
        d->sess[0] = d->sess[1]; /* ours now */
        d->sess[1] = NULL;
        if (SSL_SESSION_is_resumable(first))
            s = first;
        else
            SSL_SESSION_free(first); /* its connection ended badly */
    }
    pthread_mutex_unlock(&d->mu);
    return s;
}

static bool client_names(client_data *d, const zt_upstream_tls_cfg *cfg, const char *url_host)
{
    const char *sni = cfg->server_name ? cfg->server_name : url_host;
    const char *verify = cfg->verify_name ? cfg->verify_name : sni;
    if (strlen(sni) >= sizeof(d->sni) || strlen(verify) >= sizeof(d->verify))
        return false;
    if (!is_ip_literal(sni))
        memcpy(d->sni, sni, strlen(sni) + 1);
    memcpy(d->verify, verify, strlen(verify) + 1);
    d->verify_ip = is_ip_literal(verify);
    return true;
}

static bool client_files(SSL_CTX *ctx, const zt_upstream_tls_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1
                             : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ssl_error_text(err, errlen, cfg->ca_file ? cfg->ca_file : "the system CA store");
        return false;
    }
    if (cfg->client_cert == NULL)
        return true;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->client_cert) != 1) {
        ssl_error_text(err, errlen, cfg->client_cert);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->client_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error_text(err, errlen, cfg->client_key);
        return false;
    }
    return true;
}

SSL_CTX *zt_tls_client_ctx(const zt_upstream_tls_cfg *cfg, const char *url_host, char *err,
                           size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    pthread_once(&client_data_once, client_data_init_index);
    client_data *d = calloc(1, sizeof(*d));
    SSL_CTX *ctx = d != NULL ? SSL_CTX_new(TLS_client_method()) : NULL;
    if (ctx == NULL || client_data_index < 0 || !configure_ctx(ctx) ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0 ||
        (cfg->tls_min == ZT_TLS_MIN_13 && !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))) {
        ssl_error_text(err, errlen, "tls client context");
        SSL_CTX_free(ctx);
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    SSL_CTX_set_ex_data(ctx, client_data_index, d); /* freed with ctx from here */
    if (!client_names(d, cfg, url_host)) {
        snprintf(err, errlen, "server name too long");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (!client_files(ctx, cfg, err, errlen)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return ctx;
}

int zt_tls_conn_init_client(zt_tls_conn *t, SSL_CTX *ctx)
{
    client_data *d = client_data_of(ctx);
    if (d == NULL || zt_tls_conn_init(t, ctx) < 0)
        return -1;
    SSL_set_connect_state(t->ssl);
    bool ok = d->sni[0] == '\0' || SSL_set_tlsext_host_name(t->ssl, d->sni) == 1;
    if (d->verify_ip) {
        ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), d->verify) == 1;
    } else {
        SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = ok && SSL_set1_host(t->ssl, d->verify) == 1;
    }
    SSL_SESSION *sess = ok ? take_session(d) : NULL;
    if (sess != NULL) {
        SSL_set_session(t->ssl, sess); /* a failed resumption is a full handshake */
        SSL_SESSION_free(sess);
    }
    if (!ok) {
        ERR_clear_error();
        zt_tls_conn_dispose(t);
        return -1;
    }
    return 0;
}

/* Why a client handshake failed, for the 502 page, the log and the audit record: the
 * certificate check's verdict when it was that, else OpenSSL's reason. */
static void client_failure(zt_tls_conn *t, char *why, size_t n)
{
    long v = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_last_error();
    if (v != X509_V_OK) {
        snprintf(why, n, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e != 0) {
        const char *r = ERR_reason_error_string(e);
        snprintf(why, n, "%s", r ? r : "handshake failed");
    } else {
        snprintf(why, n, "the upstream closed the TLS handshake");
    }
    ERR_clear_error();
}

int zt_tls_client_handshake(zt_tls_conn *t, char *why, size_t n)
{
    if (t->handshake_done)
        return 1;
    int r = SSL_do_handshake(t->ssl);
    if (r != 1) {
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        client_failure(t, why, n);
        return -1;
    }
    const unsigned char *proto = NULL;
    unsigned plen = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &plen);
    if (plen != 0 && (plen != 8 || memcmp(proto, "http/1.1", 8) != 0)) {
        snprintf(why, n, "the upstream chose a protocol other than http/1.1 (ALPN)");
        return -1;
    }
    t->handshake_done = true;
    return 1;
}

bool zt_tls_resumed(const zt_tls_conn *t)
{
    return t->ssl != NULL && SSL_session_reused(t->ssl) == 1;
}

bool zt_tls_has_pending(const zt_tls_conn *t)
{
    return t->ssl != NULL && SSL_has_pending(t->ssl) == 1;
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
