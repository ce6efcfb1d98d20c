#include "agent/client.h"

#include "agent/agent.h"
#include "lib/str.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static void tls_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

static int tcp_connect(const char *host, unsigned port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    char ports[8];
    snprintf(ports, sizeof ports, "%u", port);
    int rc = getaddrinfo(host, ports, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, last = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        /* SO_SNDTIMEO also bounds connect() on Linux. */
        struct timeval tv = {.tv_sec = ZTA_IO_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s port %u: %s", host, port, strerror(last));
    return fd;
}

static SSL_CTX *make_ctx(const zta_tls *tls, char *err, size_t errlen)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_client_method());
    if (sctx == NULL) {
        tls_err(err, errlen, "TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION);
    SSL_CTX_set_options(sctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (tls->ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(sctx, tls->ca_file, NULL) != 1) {
            tls_err(err, errlen, "cannot load the server CA file");
            goto fail;
        }
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);
    } else if (tls->pin_sha256 != NULL || tls->insecure) {
        /* Checked after the handshake against the pinned fingerprint (or recorded for TOFU). */
        SSL_CTX_set_verify(sctx, SSL_VERIFY_NONE, NULL);
    } else {
        snprintf(err, errlen, "no way to verify the server (no CA file, no pinned fingerprint)");
        goto fail;
    }
    if (tls->cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(sctx, tls->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(sctx, tls->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(sctx) != 1) {
            tls_err(err, errlen, "cannot load the device certificate/key");
            goto fail;
        }
    }
    return sctx;
fail:
    SSL_CTX_free(sctx);
    return NULL;
}

static bool is_ip_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static int check_peer(SSL *ssl, const zta_tls *tls, char fp_hex[65], char *err, size_t errlen)
{
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer == NULL) {
        snprintf(err, errlen, "the server presented no certificate");
        return -1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = X509_digest(peer, EVP_sha256(), md, &mdlen);
    X509_free(peer);
    if (ok != 1 || mdlen != 32) {
        snprintf(err, errlen, "cannot hash the server certificate");
        return -1;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(fp_hex + 2 * i, 3, "%02x", md[i]);
    if (tls->ca_file != NULL) {
        long vr = SSL_get_verify_result(ssl);
        if (vr != X509_V_OK) {
            snprintf(err, errlen, "server certificate verification failed: %s",
                     X509_verify_cert_error_string(vr));
            return -1;
        }
    } else if (tls->pin_sha256 != NULL && CRYPTO_memcmp(fp_hex, tls->pin_sha256, 64) != 0) {
        snprintf(err, errlen,
                 "server certificate SHA-256 %s does not match the pinned %s: refusing "
                 "(interception, or the gateway's certificate changed: re-enrol with --ca-file)",
                 fp_hex, tls->pin_sha256);
        return -1;
    }
    return 0;
}

static int ssl_write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        size_t w = 0;
        if (SSL_write_ex(ssl, p, n, &w) != 1)
            return -1;
        p += w;
        n -= w;
    }
    return 0;
}

/* Finds "\r\n\r\n"; returns the head length including it, or 0. */
static size_t head_len(const char *p, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* Decodes a chunked body in place; -1 when malformed or incomplete. */
static int dechunk(zt_buf *body)
{
    size_t in = 0, out = 0;
    for (;;) {
        const char *nl = memchr(body->data + in, '\n', body->len - in);
        if (nl == NULL)
            return -1;
        size_t size = 0, digits = 0;
        for (const char *c = body->data + in; c < nl && *c != ';' && *c != '\r'; c++) {
            int d = (*c >= '0' && *c <= '9')   ? *c - '0'
                    : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
                    : (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10
                                               : -1;
            if (d < 0 || ++digits > 8)
                return -1;
            size = size * 16 + (size_t)d;
        }
        if (digits == 0)
            return -1;
        in = (size_t)(nl - body->data) + 1;
        if (size == 0)
            break;
        if (body->len - in < size + 2)
            return -1;
        memmove(body->data + out, body->data + in, size);
        out += size;
        in += size + 2;
    }
    body->len = out;
    return 0;
}

static int parse_response(zt_buf *raw, int *status, zt_buf *resp, char *err, size_t errlen)
{
    size_t hl = head_len(raw->data, raw->len);
    if (hl == 0) {
        snprintf(err, errlen, "the server's answer has no complete HTTP head");
        return -1;
    }
    unsigned code;
    char sp;
    if (raw->len < 12 ||
        (memcmp(raw->data, "HTTP/1.1 ", 9) != 0 && memcmp(raw->data, "HTTP/1.0 ", 9) != 0)) {
        snprintf(err, errlen, "the server's answer is not HTTP/1.x");
        return -1;
    }
    if (sscanf(raw->data + 9, "%3u%c", &code, &sp) != 2 || code < 100 || code > 599 ||
        (sp != ' ' && sp != '\r')) {
        snprintf(err, errlen, "the server's answer has a malformed status line");
        return -1;
    }
    long long clen = -1;
    bool chunked = false;
    const char *p = memchr(raw->data, '\n', hl) + 1;
    while (p < raw->data + hl - 2) {
        const char *nl = memchr(p, '\n', (size_t)(raw->data + hl - p));
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        const char *v;
        size_t vn;
        if ((v = zta_header_value(p, n, "Content-Length", &vn)) != NULL) {
            unsigned long long x;
            if (clen >= 0 || !zt_parse_u64(v, vn, ZTA_BODY_MAX, &x)) {
                snprintf(err, errlen, "the server's answer has a bad or too large Content-Length");
                return -1;
            }
            clen = (long long)x;
        } else if ((v = zta_header_value(p, n, "Transfer-Encoding", &vn)) != NULL) {
            if (vn != 7 || strncasecmp(v, "chunked", 7) != 0) {
                snprintf(err, errlen, "the server's answer has an unsupported Transfer-Encoding");
                return -1;
            }
            chunked = true;
        }
        p = nl + 1;
    }
    if (chunked && clen >= 0) {
        snprintf(err, errlen, "the server's answer has both Content-Length and chunked");
        return -1;
    }
    size_t blen = raw->len - hl;
    if (clen >= 0 && blen < (size_t)clen) {
        snprintf(err, errlen, "the server's answer was cut short (%zu of %lld body bytes)", blen,
                 clen);
        return -1;
    }
    if (clen >= 0)
        blen = (size_t)clen;
    zt_buf_reset(resp);
    if (zt_buf_append(resp, raw->data + hl, blen) != 0) {
        snprintf(err, errlen, "the server's answer body is larger than %d bytes", ZTA_BODY_MAX);
        return -1;
    }
    if (chunked && dechunk(resp) != 0) {
        snprintf(err, errlen, "the server's chunked answer is malformed or cut short");
        return -1;
    }
    *status = (int)code;
    return 0;
}

static int do_exchange(SSL *ssl, const char *req, size_t reqlen, const char *body, size_t body_len,
                       zt_buf *raw, char *err, size_t errlen)
{
    if (ssl_write_all(ssl, req, reqlen) != 0 ||
        (body_len > 0 && ssl_write_all(ssl, body, body_len) != 0)) {
        tls_err(err, errlen, "cannot send the request");
        return -1;
    }
    char chunk[8192];
    for (;;) {
        size_t r = 0;
        if (SSL_read_ex(ssl, chunk, sizeof chunk, &r) != 1) {
            int e = SSL_get_error(ssl, 0);
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
                break;
            if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                snprintf(err, errlen, "the server did not answer within %d s", ZTA_IO_TIMEOUT_S);
                return -1;
            }
            if (raw->len > 0 && e == SSL_ERROR_SYSCALL)
                break;
            tls_err(err, errlen, "cannot read the server's answer");
            return -1;
        }
        if (zt_buf_append(raw, chunk, r) != 0) {
            snprintf(err, errlen, "the server's answer is larger than %d bytes",
                     ZTA_HEAD_MAX + ZTA_BODY_MAX);
            return -1;
        }
    }
    return 0;
}

void zta_conn_close(zta_conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->sctx);
    c->ssl = NULL;
    c->sctx = NULL;
    c->fd = -1;
}

int zta_tls_connect(const char *server, const zta_tls *tls, zta_conn *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (zta_url_parse(server, c->host, sizeof c->host, &c->port) != 0) {
        snprintf(err, errlen, "server URL must be https://HOST[:PORT], not %s", server);
        return -1;
    }
    c->sctx = make_ctx(tls, err, errlen);
    if (c->sctx == NULL)
        goto fail;
    c->fd = tcp_connect(c->host, c->port, err, errlen);
    if (c->fd < 0)
        goto fail;
    c->ssl = SSL_new(c->sctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        tls_err(err, errlen, "TLS session");
        goto fail;
    }
    bool ip = is_ip_literal(c->host);
    if (!ip)
        SSL_set_tlsext_host_name(c->ssl, c->host);
    if (tls->ca_file != NULL) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->host)
                : X509_VERIFY_PARAM_set1_host(vp, c->host, 0)) != 1) {
            tls_err(err, errlen, "cannot set the expected server name");
            goto fail;
        }
    }
    if (SSL_connect(c->ssl) != 1) {
        long vr = SSL_get_verify_result(c->ssl);
        if (tls->ca_file != NULL && vr != X509_V_OK) {
            snprintf(err, errlen,
                     "TLS handshake with %s failed: server certificate not trusted (%s)", server,
                     X509_verify_cert_error_string(vr));
            ERR_clear_error();
        } else {
            char what[ZTA_URL_MAX + 40];
            snprintf(what, sizeof what, "TLS handshake with %s failed", server);
            tls_err(err, errlen, what);
        }
        goto fail;
    }
    if (check_peer(c->ssl, tls, c->peer_sha256, err, errlen) != 0)
        goto fail;
    return 0;
fail:
    zta_conn_close(c);
    return -1;
}

int zta_https(const char *server, const zta_tls *tls, const char *method, const char *path,
              const char *body, size_t body_len, int *status, zt_buf *resp, char peer_sha256[65],
              char *err, size_t errlen)
{
    int rc = -1;
    zta_conn c;
    zt_buf raw, req;
    zt_buf_init(&raw, ZTA_HEAD_MAX + ZTA_BODY_MAX + 64);
    zt_buf_init(&req, 0);

    if (body_len > ZTA_BODY_MAX) {
        snprintf(err, errlen, "request body larger than %d bytes", ZTA_BODY_MAX);
        c.fd = -1;
        c.ssl = NULL;
        c.sctx = NULL;
        goto out;
    }
    if (zta_tls_connect(server, tls, &c, err, errlen) != 0)
        goto out;
    const char *host = c.host;
    if (zt_buf_printf(&req,
                      "%s %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUser-Agent: ztagent/%s\r\n"
                      "Accept: application/json\r\nConnection: close\r\n",
                      method, path, strchr(host, ':') ? "[" : "", host,
                      strchr(host, ':') ? "]" : "", c.port, ZT_VERSION) != 0 ||
        (body != NULL && zt_buf_printf(&req,
                                       "Content-Type: application/json\r\n"
                                       "Content-Length: %zu\r\n",
                                       body_len) != 0) ||
        zt_buf_append_str(&req, "\r\n") != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (do_exchange(c.ssl, req.data, req.len, body, body != NULL ? body_len : 0, &raw, err,
                    errlen) != 0)
        goto out;
    if (parse_response(&raw, status, resp, err, errlen) != 0)
        goto out;
    if (peer_sha256 != NULL)
        memcpy(peer_sha256, c.peer_sha256, sizeof c.peer_sha256);
    rc = 0;
out:
    zta_conn_close(&c);
    zt_buf_dispose(&raw);
    zt_buf_dispose(&req);
    return rc;
}

/* ---- the agent's calls ---- */

static bool dir_file(const zta_ctx *ctx, const char *name, char *out, size_t outlen)
{
    if (name[0] == '/') {
        int w = snprintf(out, outlen, "%s", name);
        return w > 0 && (size_t)w < outlen;
    }
    return zta_path(ctx, name, out, outlen);
}

/* Prints a non-expected answer once, with the server's own words when it sent them. */
static void report_status(int status, const zt_buf *body)
{
    json_error_t jerr;
    json_t *j = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES, &jerr);
    const char *code = j ? json_string_value(json_object_get(j, "error")) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (code != NULL || msg != NULL)
        fprintf(stderr, "ztagent: server answered %d: %.64s%s%.300s\n", status,
                code ? code : "error", msg ? ": " : "", msg ? msg : "");
    else
        fprintf(stderr, "ztagent: server answered %d (body is not a JSON error object)\n", status);
    json_decref(j);
}

int zta_ctx_tls(const zta_ctx *ctx, zta_tls *tls, zta_tls_files *files)
{
    memset(tls, 0, sizeof(*tls));
    if (ctx->conf.server_ca[0] != '\0') {
        if (!dir_file(ctx, ctx->conf.server_ca, files->ca, sizeof files->ca))
            return -1;
        tls->ca_file = files->ca;
    } else {
        tls->pin_sha256 = ctx->conf.server_sha256;
    }
    if (!zta_path(ctx, "device.pem", files->cert, sizeof files->cert) ||
        !zta_path(ctx, "device.key", files->key, sizeof files->key))
        return -1;
    tls->cert_file = files->cert;
    tls->key_file = files->key;
    return 0;
}

int zta_call(const zta_ctx *ctx, const char *method, const char *path, json_t *body,
             int expect_status, json_t **answer)
{
    char err[512];
    zta_tls tls;
    zta_tls_files files;
    if (zta_ctx_tls(ctx, &tls, &files) != 0)
        return -1;

    char *text = NULL;
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
            return -1;
    }
    zt_buf resp;
    zt_buf_init(&resp, ZTA_BODY_MAX);
    int status = 0;
    int rc = zta_https(ctx->conf.server, &tls, method, path, text, text ? strlen(text) : 0, &status,
                       &resp, NULL, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ztagent: %s %s: %s\n", method, path, err);
        goto out;
    }
    if (status != expect_status) {
        report_status(status, &resp);
        rc = status;
        goto out;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        fprintf(stderr,
                "ztagent: %s %s: server answered %d with a body that is not a JSON object\n",
                method, path, status);
        json_decref(j);
        rc = -1;
        goto out;
    }
    *answer = j;
out:
    zt_buf_dispose(&resp);
    return rc;
}

static const char *const risk_levels[] = {"none", "low", "medium", "high"};

bool zta_valid_risk(const char *s)
{
    for (size_t i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, risk_levels[i]) == 0)
            return true;
    return false;
}

int zta_send_alert(const zta_ctx *ctx, const char *event, const char *path, const char *sha256,
                   const char *signature)
{
    char ts[21];
    zta_rfc3339(time(NULL), ts);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", event, "path", path, "sha256",
                             sha256, "signature", signature, "detected_at", ts);
    if (body == NULL) {
        fprintf(stderr, "ztagent: cannot build the %s alert (path not UTF-8?)\n", event);
        return -1;
    }
    json_t *ans = NULL;
    int rc = zta_call(ctx, "POST", "/.ztgate/device/alert", body, 200, &ans);
    json_decref(body);
    if (rc != 0)
        return -1;
    json_t *risk = json_object_get(ans, "risk");
    json_t *active = json_object_get(ans, "active_alerts");
    if (!zta_valid_risk(json_string_value(risk)) || !json_is_integer(active) ||
        json_integer_value(active) < 0) {
        fprintf(stderr, "ztagent: the server's answer to the %s alert is malformed\n", event);
        json_decref(ans);
        return -1;
    }
    zta_log("alert %s sent for %s (device risk now %s, %lld active alert(s))", event, path,
            json_string_value(risk), (long long)json_integer_value(active));
    json_decref(ans);
    return 0;
}
