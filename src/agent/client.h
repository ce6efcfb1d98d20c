/* A small blocking HTTPS/1.1 client for the agent's calls to the gateway: one request per
 * connection, bodies capped at the protocol's 64 KiB. It never falls back to an unverified
 * connection: either a CA file, a pinned certificate fingerprint, or the explicit first-use
 * mode of enrolment. */
#ifndef ZT_AGENT_CLIENT_H
#define ZT_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "lib/buf.h"

#define ZTA_BODY_MAX (64 * 1024)
#define ZTA_HEAD_MAX (16 * 1024)
#define ZTA_IO_TIMEOUT_S 15

typedef struct zta_tls {
    const char *ca_file;    /* verify the chain and the host name against this CA */
    const char *pin_sha256; /* or: the leaf certificate's SHA-256 must equal this (hex) */
    bool insecure;          /* or: no verification at all (enrolment first use only) */
    const char *cert_file;  /* client certificate and key (NULL: none) */
    const char *key_file;
} zta_tls;

/* A verified TLS connection to the gateway (blocking socket, 15 s send/receive timeouts). */
typedef struct zta_conn {
    int fd;
    SSL_CTX *sctx;
    SSL *ssl;
    char host[256];
    unsigned port;
    char peer_sha256[65]; /* the server certificate's SHA-256, lowercase hex */
} zta_conn;

/* Connects to server (https://HOST[:PORT]) and completes the handshake, verified as tls says.
 * 0, or -1 with a message in err (nothing left open). */
int zta_tls_connect(const char *server, const zta_tls *tls, zta_conn *c, char *err, size_t errlen);
/* Sends close_notify (best effort) and frees everything; safe on a closed one. */
void zta_conn_close(zta_conn *c);

/* One request. On success (any HTTP status) returns 0 with *status, the body in resp (capped),
 * and the server certificate's SHA-256 hex in peer_sha256. -1 with a message in err otherwise. */
int zta_https(const char *server, const zta_tls *tls, const char *method, const char *path,
              const char *body, size_t body_len, int *status, zt_buf *resp, char peer_sha256[65],
              char *err, size_t errlen);

#endif
