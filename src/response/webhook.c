/* Webhook notifier (webhook.h): one thread, one bounded FIFO, one blocking HTTP/1.1 POST per
 * attempt with a timeout on connect and on every read and write. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/secure.h"
#include "lib/time.h"
#include "response/webhook.h"

#define WH_HOST_MAX 255
#define WH_PATH_MAX 2048
#define WH_ANSWER_MAX 4096 /* bytes of the answer read: the status line is all we need */
#define WH_HEAD_MAX (WH_PATH_MAX + WH_HOST_MAX + 512)

typedef struct wh_item {
    struct wh_item *next;
    size_t len;
    char body[]; /* NUL-terminated */
} wh_item;

struct zt_webhook {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* work queued, stop asked (monotonic clock: backoff waits) */
    pthread_cond_t idle; /* queue empty and nothing in flight */
    wh_item *head, *tail;
    size_t queued, limit;
    bool busy, stop;
    zt_webhook_stats st;
    /* Fixed after new: */
    bool https;
    char host[WH_HOST_MAX + 1]; /* without brackets */
    char port[8];
    char host_header[WH_HOST_MAX + 16];
    char path[WH_PATH_MAX + 1];
    uint64_t timeout_ms, backoff_ms;
    unsigned retries;
    SSL_CTX *ssl;
    unsigned char key[ZT_WEBHOOK_KEY_MAX];
    size_t keylen;
};

void zt_webhook_sign(const unsigned char *key, size_t keylen, const char *body, size_t len,
                     char out[ZT_WEBHOOK_SIG_LEN + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state s;
    crypto_auth_hmacsha256_init(&s, key, keylen);
    crypto_auth_hmacsha256_update(&s, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&s, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
    sodium_memzero(&s, sizeof(s));
}

/* ---- URL ---- */

static int parse_url(zt_webhook *w, const char *url, char *err, size_t errlen)
{
    const char *p = NULL;
    if (strncmp(url, "https://", 8) == 0) {
        w->https = true;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        snprintf(err, errlen, "webhook url must start with http:// or https://");
        return -EINVAL;
    }
    size_t auth = strcspn(p, "/");
    const char *path = p + auth;
    const char *hend = NULL, *port = NULL;
    if (*p == '[') { /* [IPv6]:port */
        hend = memchr(p, ']', auth);
        if (hend == NULL)
            goto bad;
        port = hend + 1 < p + auth && hend[1] == ':' ? hend + 2 : NULL;
        p++;
    } else {
        hend = memchr(p, ':', auth);
        port = hend != NULL ? hend + 1 : NULL;
        if (hend == NULL)
            hend = p + auth;
    }
    size_t hn = (size_t)(hend - p), pn = port != NULL ? (size_t)(p + auth - port) : 0;
    if (*p == '\0' || hn == 0 || hn > WH_HOST_MAX || (port != NULL && (pn == 0 || pn > 5)) ||
        strlen(path) > WH_PATH_MAX)
        goto bad;
    memcpy(w->host, p, hn);
    w->host[hn] = '\0';
    if (port != NULL) {
        memcpy(w->port, port, pn);
        w->port[pn] = '\0';
        long v = strtol(w->port, NULL, 10);
        if (strspn(w->port, "0123456789") != pn || v < 1 || v > 65535)
            goto bad;
    } else {
        snprintf(w->port, sizeof(w->port), "%s", w->https ? "443" : "80");
    }
    snprintf(w->path, sizeof(w->path), "%s", *path != '\0' ? path : "/");
    bool v6 = strchr(w->host, ':') != NULL;
    snprintf(w->host_header, sizeof(w->host_header), "%s%s%s%s%s", v6 ? "[" : "", w->host,
             v6 ? "]" : "", port != NULL ? ":" : "", port != NULL ? w->port : "");
    for (const char *c = w->host_header; *c != '\0'; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            goto bad;
    for (const char *c = w->path; *c != '\0'; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            goto bad;
    return 0;
bad:
    snprintf(err, errlen, "webhook url is not http[s]://HOST[:PORT]/PATH");
    return -EINVAL;
}

/* ---- one attempt ---- */

static void set_timeouts(int fd, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Non-blocking connect bounded by the timeout, then blocking I/O with per-call timeouts. */
static int connect_to(const zt_webhook *w)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    if (getaddrinfo(w->host, w->port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            rc = poll(&pfd, 1, (int)w->timeout_ms) == 1 &&
                         getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0
                     ? 0
                     : -1;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (fd >= 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

typedef struct wh_conn {
    int fd;
    SSL *ssl;
    uint64_t deadline_us; /* zt_mono_us() by which the answer must be read */
} wh_conn;

static bool conn_write(wh_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = c->ssl != NULL ? SSL_write(c->ssl, p, (int)(n > 65536 ? 65536 : n))
                                   : send(c->fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            if (c->ssl == NULL && k < 0 && errno == EINTR)
                continue;
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static ssize_t conn_read(wh_conn *c, char *p, size_t n)
{
    for (;;) {
        ssize_t k = c->ssl != NULL ? SSL_read(c->ssl, p, (int)n) : recv(c->fd, p, n, 0);
        if (k < 0 && c->ssl == NULL && errno == EINTR)
            continue;
        return k;
    }
}

static bool tls_start(const zt_webhook *w, wh_conn *c)
{
    c->ssl = SSL_new(w->ssl);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return false;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, w->host, ip) == 1 || inet_pton(AF_INET6, w->host, ip) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, w->host) != 1)
            return false;
    } else if (SSL_set_tlsext_host_name(c->ssl, w->host) != 1 ||
               SSL_set1_host(c->ssl, w->host) != 1) {
        return false;
    }
    return SSL_connect(c->ssl) == 1 && SSL_get_verify_result(c->ssl) == X509_V_OK;
}

/* The HTTP status of the answer, or 0 when there was none. The whole answer is bounded by the
 * deadline, not only each read: a receiver dripping a byte every few seconds must not hold the
 * sender for hours. */
static int read_status(wh_conn *c)
{
    char buf[WH_ANSWER_MAX + 1];
    size_t n = 0;
    while (n < WH_ANSWER_MAX && memchr(buf, '\n', n) == NULL) {
        uint64_t now = zt_mono_us();
        if (now >= c->deadline_us)
            break;
        set_timeouts(c->fd, (c->deadline_us - now + 999) / 1000);
        ssize_t k = conn_read(c, buf + n, WH_ANSWER_MAX - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    int code = 0;
    if (strncmp(buf, "HTTP/1.", 7) != 0 || n < 12 || buf[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return 0;
        code = code * 10 + (buf[i] - '0');
    }
    return code;
}

/* ---- a whole answer (zt_http_post_read) ---- */

static bool ieq_prefix(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(end - p) < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = p[i], b = name[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* The value of header `name` (lowercase, with its colon) in [p, end), or NULL. */
static const char *header_value(const char *p, const char *end, const char *name)
{
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if (ieq_prefix(p, eol, name)) {
            p += strlen(name);
            while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
            return p;
        }
        p = eol + 1;
    }
    return NULL;
}

static int dechunk(const char *p, const char *end, zt_buf *body)
{
    for (;;) {
        size_t size = 0;
        int digits = 0;
        for (; p < end && digits < 8; p++, digits++) {
            int v = *p >= '0' && *p <= '9'   ? *p - '0'
                    : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                    : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                             : -1;
            if (v < 0)
                break;
            size = size * 16 + (size_t)v;
        }
        const char *eol = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (digits == 0 || eol == NULL || (*p != ';' && *p != '\r' && *p != '\n'))
            return -EPROTO; /* not hex, over 8 digits, or junk after the size */
        p = eol + 1;
        if (size == 0)
            return 0;
        if ((size_t)(end - p) < size + 2 || p[size] != '\r' || p[size + 1] != '\n')
            return -EPROTO;
        int rc = zt_buf_append(body, p, size);
        if (rc != 0)
            return rc;
        p += size + 2;
    }
}

int zt_http_answer_parse(const char *raw, size_t n, zt_buf *body)
{
    if (n < 12 || strncmp(raw, "HTTP/1.", 7) != 0 || raw[8] != ' ')
        return -EPROTO;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (raw[i] < '0' || raw[i] > '9')
            return -EPROTO;
        code = code * 10 + (raw[i] - '0');
    }
    const char *end = raw + n, *hdr = memchr(raw, '\n', n);
    const char *sep = NULL, *b = NULL; /* the blank line ending the headers; the body */
    for (const char *p = hdr; p != NULL && sep == NULL;
         p = p + 1 < end ? memchr(p + 1, '\n', (size_t)(end - p - 1)) : NULL) {
        if (p + 1 < end && p[1] == '\n')
            sep = p, b = p + 2;
        else if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
            sep = p, b = p + 3;
    }
    if (sep == NULL)
        return -EPROTO;
    const char *te = header_value(hdr + 1, sep, "transfer-encoding:");
    const char *cl = header_value(hdr + 1, sep, "content-length:");
    int rc = 0;
    if (te != NULL && ieq_prefix(te, sep, "chunked"))
        rc = dechunk(b, end, body);
    else if (cl != NULL) {
        size_t len = 0;
        int digits = 0;
        for (; cl < sep && *cl >= '0' && *cl <= '9' && digits < 9; cl++, digits++)
            len = len * 10 + (size_t)(*cl - '0');
        rc = digits == 0 || (size_t)(end - b) < len ? -EPROTO : zt_buf_append(body, b, len);
    } else
        rc = zt_buf_append(body, b, (size_t)(end - b));
    rc = rc ? rc : zt_buf_cstr(body);
    return rc != 0 ? rc : code;
}

#define WH_READ_ALL_MAX (256 * 1024)

/* Everything until the peer closes (we said Connection: close), at most WH_READ_ALL_MAX bytes,
 * by the exchange's deadline like read_status (a peer dripping bytes cannot hold the sender). */
static int read_all(wh_conn *c, zt_buf *answer)
{
    zt_buf raw;
    zt_buf_init(&raw, WH_READ_ALL_MAX);
    char chunk[8192];
    int rc = 0;
    for (uint64_t now = zt_mono_us(); rc == 0 && now < c->deadline_us; now = zt_mono_us()) {
        set_timeouts(c->fd, (c->deadline_us - now + 999) / 1000);
        ssize_t k = conn_read(c, chunk, sizeof(chunk));
        if (k <= 0)
            break;
        rc = zt_buf_append(&raw, chunk, (size_t)k);
    }
    int code = rc != 0 ? rc : zt_http_answer_parse(raw.data, raw.len, answer);
    zt_buf_dispose(&raw);
    return code < 0 ? 0 : code;
}

/* One POST with head (request line and headers, ending with the blank line) and body; the
 * HTTP status of the answer, 0 when there was none. Redirects are never followed. answer
 * (nullable): the answer's body. */
static int post_raw(const zt_webhook *w, const char *head, size_t hl, const char *body, size_t len,
                    zt_buf *answer)
{
    /* The whole exchange: the connect's timeout, then one more for the rest. */
    uint64_t start = zt_mono_us();
    wh_conn c = {.fd = connect_to(w), .deadline_us = start + 2 * w->timeout_ms * 1000};
    int code = 0;
    if (c.fd >= 0) {
        set_timeouts(c.fd, w->timeout_ms);
        bool ok = (!w->https || tls_start(w, &c)) && conn_write(&c, head, hl) &&
                  conn_write(&c, body, len);
        code = !ok ? 0 : answer != NULL ? read_all(&c, answer) : read_status(&c);
    }
    if (c.ssl != NULL) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    if (c.fd >= 0)
        close(c.fd);
    ERR_clear_error();
    return code;
}

/* One POST; true on a 2xx answer. */
static bool attempt(const zt_webhook *w, const wh_item *it, const char *delivery, unsigned n)
{
    char sig[ZT_WEBHOOK_SIG_LEN + 1], head[WH_HEAD_MAX];
    zt_webhook_sign(w->key, w->keylen, it->body, it->len, sig);
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ztgate/" ZT_VERSION "\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "X-ZT-Signature: %s\r\nX-ZT-Delivery: %s\r\nX-ZT-Attempt: %u\r\n"
                      "Connection: close\r\n\r\n",
                      w->path, w->host_header, it->len, sig, delivery, n);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        return false;
    int code = post_raw(w, head, (size_t)hl, it->body, it->len, NULL);
    return code >= 200 && code <= 299;
}

/* ---- thread ---- */

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Deliver one document with retries (a stop ends the backoff wait). Called unlocked. */
static void deliver(zt_webhook *w, const wh_item *it)
{
    char delivery[33];
    zt_random_hex(delivery, (sizeof(delivery) - 1) / 2);
    uint64_t delay = w->backoff_ms;
    for (unsigned n = 1;; n++) {
        bool ok = attempt(w, it, delivery, n);
        pthread_mutex_lock(&w->mu);
        w->st.attempts++;
        if (ok || n > w->retries || w->stop) {
            if (ok)
                w->st.delivered++;
            else
                w->st.failed++;
            pthread_mutex_unlock(&w->mu);
            return;
        }
        struct timespec ts;
        deadline_in(&ts, delay);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
            ;
        bool stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop) {
            pthread_mutex_lock(&w->mu);
            w->st.dropped++;
            pthread_mutex_unlock(&w->mu);
            return;
        }
        delay = delay * 2 > ZT_WEBHOOK_BACKOFF_MAX_MS ? ZT_WEBHOOK_BACKOFF_MAX_MS : delay * 2;
    }
}

static void *run(void *arg)
{
    zt_webhook *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        wh_item *it = w->head;
        w->head = it->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->queued--;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);
        deliver(w, it);
        free(it);
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        if (w->head == NULL)
            pthread_cond_broadcast(&w->idle);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- API ---- */

static int make_ssl(zt_webhook *w, const char *ca, char *err, size_t errlen)
{
    w->ssl = SSL_CTX_new(TLS_client_method());
    if (w->ssl == NULL || SSL_CTX_set_min_proto_version(w->ssl, TLS1_2_VERSION) != 1) {
        snprintf(err, errlen, "webhook: cannot make a TLS context");
        return -ENOMEM;
    }
    SSL_CTX_set_verify(w->ssl, SSL_VERIFY_PEER, NULL);
    int ok = ca != NULL ? SSL_CTX_load_verify_locations(w->ssl, ca, NULL)
                        : SSL_CTX_set_default_verify_paths(w->ssl);
    if (ok != 1) {
        snprintf(err, errlen, "webhook: cannot load CA certificates%s%s", ca ? " from " : "",
                 ca ? ca : "");
        return -EINVAL;
    }
    return 0;
}

zt_webhook *zt_webhook_new(const zt_webhook_cfg *cfg, const unsigned char *key, size_t keylen,
                           char *err, size_t errlen)
{
    if (cfg == NULL || cfg->url == NULL || key == NULL || keylen < ZT_WEBHOOK_KEY_MIN ||
        keylen > ZT_WEBHOOK_KEY_MAX) {
        snprintf(err, errlen, "webhook: url and a %d..%d byte key are required", ZT_WEBHOOK_KEY_MIN,
                 ZT_WEBHOOK_KEY_MAX);
        return NULL;
    }
    zt_webhook *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        snprintf(err, errlen, "webhook: out of memory");
        return NULL;
    }
    memcpy(w->key, key, keylen);
    w->keylen = keylen;
    w->limit = cfg->queue_limit > 0 ? cfg->queue_limit : 1000;
    w->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    w->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 1000;
    w->retries = cfg->retries;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_cond_init(&w->idle, NULL);
    pthread_condattr_destroy(&ca);
    int rc = parse_url(w, cfg->url, err, errlen);
    if (rc == 0 && w->https)
        rc = make_ssl(w, cfg->ca_file, err, errlen);
    if (rc == 0 && pthread_create(&w->thread, NULL, run, w) != 0) {
        snprintf(err, errlen, "webhook: cannot start its thread");
        rc = -EAGAIN;
    }
    if (rc != 0) {
        SSL_CTX_free(w->ssl);
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->idle);
        pthread_mutex_destroy(&w->mu);
        zt_wipe(w->key, sizeof(w->key));
        free(w);
        return NULL;
    }
    return w;
}

void zt_webhook_free(zt_webhook *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->head != NULL) {
        wh_item *next = w->head->next;
        free(w->head);
        w->head = next;
    }
    SSL_CTX_free(w->ssl);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->mu);
    zt_wipe(w->key, sizeof(w->key));
    free(w);
}

bool zt_webhook_post(zt_webhook *w, const char *json, size_t len)
{
    if (w == NULL || json == NULL)
        return false;
    wh_item *it = len <= ZT_WEBHOOK_BODY_MAX ? malloc(sizeof(*it) + len + 1) : NULL;
    pthread_mutex_lock(&w->mu);
    bool ok = it != NULL && w->queued < w->limit && !w->stop;
    if (ok) {
        memcpy(it->body, json, len);
        it->body[len] = '\0';
        it->len = len;
        it->next = NULL;
        if (w->tail != NULL)
            w->tail->next = it;
        else
            w->head = it;
        w->tail = it;
        w->queued++;
        w->st.queued++;
        pthread_cond_broadcast(&w->cv);
    } else {
        w->st.dropped++;
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok)
        free(it);
    return ok;
}

void zt_webhook_stats_get(zt_webhook *w, zt_webhook_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}

bool zt_webhook_drain(zt_webhook *w, uint64_t timeout_ms)
{
    if (w == NULL)
        return true;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while ((w->head != NULL || w->busy) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->idle, &w->mu, &ts);
    bool idle = w->head == NULL && !w->busy;
    pthread_mutex_unlock(&w->mu);
    return idle;
}

int zt_http_post_read(const char *url, const char *content_type, const char *extra_header,
                      const char *body, size_t len, uint64_t timeout_ms, const char *ca,
                      zt_buf *answer)
{
    char err[128], head[WH_HEAD_MAX];
    zt_webhook *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    int rc = parse_url(w, url, err, sizeof(err));
    if (rc == 0 && w->https)
        rc = make_ssl(w, ca, err, sizeof(err));
    int hl = rc == 0 ? snprintf(head, sizeof(head),
                                "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ztgate/" ZT_VERSION
                                "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s"
                                "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                                w->path, w->host_header, content_type, len,
                                extra_header ? extra_header : "", extra_header ? "\r\n" : "")
                     : -1;
    if (rc == 0 && (hl < 0 || (size_t)hl >= sizeof(head)))
        rc = -E2BIG;
    if (rc == 0)
        rc = post_raw(w, head, (size_t)hl, body, len, answer);
    if (w->ssl != NULL)
        SSL_CTX_free(w->ssl);
    free(w);
    return rc;
}

int zt_http_get_read(const char *url, uint64_t timeout_ms, const char *ca, zt_buf *answer)
{
    char err[128], head[WH_HEAD_MAX];
    zt_webhook *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    int rc = parse_url(w, url, err, sizeof(err));
    if (rc == 0 && w->https)
        rc = make_ssl(w, ca, err, sizeof(err));
    int hl = rc == 0 ? snprintf(head, sizeof(head),
                                "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ztgate/" ZT_VERSION
                                "\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
                                w->path, w->host_header)
                     : -1;
    if (rc == 0 && (hl < 0 || (size_t)hl >= sizeof(head)))
        rc = -E2BIG;
    if (rc == 0)
        rc = post_raw(w, head, (size_t)hl, "", 0, answer);
    if (w->ssl != NULL)
        SSL_CTX_free(w->ssl);
    free(w);
    return rc;
}

int zt_http_post_once(const char *url, const char *content_type, const char *body, size_t len,
                      uint64_t timeout_ms, const char *ca)
{
    return zt_http_post_read(url, content_type, NULL, body, len, timeout_ms, ca, NULL);
}
