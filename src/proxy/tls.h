/* TLS with OpenSSL 3 over libuv: server contexts (TLS 1.2+, ECDHE + AEAD only, P-256 first) and
 * per-connection memory-BIO plumbing, so the event loop owns all socket I/O. */
#ifndef ZT_PROXY_TLS_H
#define ZT_PROXY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "core/config.h"
#include "lib/buf.h"

/* Load cert+key (creating a self-signed pair first when cfg->self_signed and both are missing).
 * NULL with a message in err on failure. */
SSL_CTX *zt_tls_server_ctx(const zt_tls_cfg *cfg, char *err, size_t errlen);
/* ECDSA P-256 key (0600) and a one-year certificate for localhost, *.localhost, 127.0.0.1, ::1. */
int zt_tls_make_self_signed(const char *cert_file, const char *key_file, char *err, size_t errlen);

typedef struct zt_tls_conn {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer */
    BIO *wbio; /* ciphertext to the peer */
    bool handshake_done;
} zt_tls_conn;

int zt_tls_conn_init(zt_tls_conn *t, SSL_CTX *ctx);
void zt_tls_conn_dispose(zt_tls_conn *t);
/* Ciphertext received from the socket. 0 or -1. */
int zt_tls_feed(zt_tls_conn *t, const char *data, size_t n);
/* 1 done, 0 needs more input, -1 failed (reason logged at debug). */
int zt_tls_handshake(zt_tls_conn *t);
/* Plaintext out: >0 bytes, 0 nothing buffered, -1 closed or failed. */
int zt_tls_read(zt_tls_conn *t, char *buf, size_t cap);
/* Encrypt plaintext into the write BIO. 0 or -1. */
int zt_tls_write(zt_tls_conn *t, const char *data, size_t n);
/* Move queued ciphertext into out. 0 or negative errno. */
int zt_tls_take_output(zt_tls_conn *t, zt_buf *out);
size_t zt_tls_output_pending(const zt_tls_conn *t);
/* Half-close: queue our close_notify (then take the output). 0 or -1. */
int zt_tls_shutdown(zt_tls_conn *t);
/* The peer sent close_notify (an orderly end, not a truncation). */
bool zt_tls_peer_closed(const zt_tls_conn *t);

/* Client side (https:// upstreams). A context per app and config generation: TLS 1.2+ (1.3 with
 * tls_min), the peer's chain checked against ca_file or the system store and its name against
 * verify_name (server_name, the URL host), ALPN http/1.1, an optional client certificate, and
 * the upstream's sessions kept for resumption. NULL with a message in err on failure. */
SSL_CTX *zt_tls_client_ctx(const zt_upstream_tls_cfg *cfg, const char *url_host, char *err,
                           size_t errlen);
/* A connection of such a context: SNI, the name check, a session to resume. 0 or -1. */
int zt_tls_conn_init_client(zt_tls_conn *t, SSL_CTX *ctx);
/* Like zt_tls_handshake; on -1 why says what failed ("certificate verify failed: certificate
 * has expired", "wrong version number", ...). */
int zt_tls_client_handshake(zt_tls_conn *t, char *why, size_t n);
/* The handshake resumed an earlier session. */
bool zt_tls_resumed(const zt_tls_conn *t);
/* Bytes inside the SSL object not yet read as plaintext (processed or not). */
bool zt_tls_has_pending(const zt_tls_conn *t);

#endif
