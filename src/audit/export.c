/* SIEM sinks. Each sink is a plain thread with blocking sockets (every wait bounded by
 * ZT_EXPORT_IO_TIMEOUT_MS) fed by a fixed ring of shared, reference-counted records. Only the
 * sink thread pops, so the records at the head stay put while it sends them: a failed send keeps
 * them for the next connection instead of losing them. */
#include "audit/export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit/format.h"
#include "core/log.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"

#define BATCH_RECORDS 64
#define BATCH_BYTES (256u << 10) /* stop adding records to one write past this */
#define MESSAGE_MAX (160u << 10) /* one formatted message: a 64 KiB record plus CEF escaping */
#define STOP_GRACE_US 500000     /* after the flush deadline, before forcing sockets */

typedef struct rec {
    atomic_uint refs;
    uint32_t len;
    char data[];
} rec;

typedef struct sink {
    /* Fixed at creation. */
    char *name, *address, *ca_file, *server_name;
    struct sockaddr_storage addr;
    zt_export_type type;
    zt_export_transport transport;
    bool insecure;
    size_t limit, byte_limit;
    zt_fmt_origin origin;
    SSL_CTX *ctx;

    pthread_mutex_t mu; /* guards the ring, stopping/exited and fd (for the stopper) */
    pthread_cond_t wake, done;
    rec **ring;
    size_t head, n, bytes;
    bool stopping, exited;
    uint64_t deadline_us;
    int fd;
    pthread_t thread;
    bool started;

    /* Sink thread only. */
    SSL *ssl;
    unsigned attempts;
    unsigned backoff_ms;
    uint64_t next_try_us;
    bool failing; /* the last attempt failed: log only state changes */
    zt_buf msg, frame;

    _Atomic uint64_t sent, dropped, truncated, reconnects, connect_failed, bytes_out;
    _Atomic bool connected;
} sink;

struct zt_exporter {
    size_t n;
    sink *sinks;
};

/* ---- records ---- */

static void rec_unref(rec *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
        free(r);
}

static bool sink_push(sink *s, rec *r)
{
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    if (!s->stopping && s->n < s->limit && s->bytes + r->len <= s->byte_limit) {
        atomic_fetch_add(&r->refs, 1);
        s->ring[(s->head + s->n) % s->limit] = r;
        s->n++;
        s->bytes += r->len;
        pthread_cond_signal(&s->wake);
        ok = true;
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        atomic_fetch_add(&s->dropped, 1);
    return ok;
}

void zt_export_submit(zt_exporter *x, const char *line, size_t len)
{
    if (x == NULL || len == 0 || len > UINT32_MAX)
        return;
    rec *r = malloc(sizeof(*r) + len);
    if (r == NULL) {
        for (size_t i = 0; i < x->n; i++)
            atomic_fetch_add(&x->sinks[i].dropped, 1);
        return;
    }
    atomic_init(&r->refs, 1); /* ours, released below */
    r->len = (uint32_t)len;
    memcpy(r->data, line, len);
    for (size_t i = 0; i < x->n; i++)
        sink_push(&x->sinks[i], r);
    rec_unref(r);
}

void zt_export_submit_lines(zt_exporter *x, const char *data, size_t len)
{
    while (x != NULL && len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        zt_export_submit(x, data, n);
        n += nl != NULL;
        data += n;
        len -= n;
    }
}

/* Records i..i+k from the head; stable because only the sink thread pops. */
static size_t peek(sink *s, rec **out, size_t max)
{
    pthread_mutex_lock(&s->mu);
    size_t k = s->n < max ? s->n : max;
    for (size_t i = 0; i < k; i++)
        out[i] = s->ring[(s->head + i) % s->limit];
    pthread_mutex_unlock(&s->mu);
    return k;
}

static void pop(sink *s, size_t k)
{
    rec *gone[BATCH_RECORDS];
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < k; i++) {
        gone[i] = s->ring[s->head];
        s->ring[s->head] = NULL;
        s->head = (s->head + 1) % s->limit;
        s->n--;
        s->bytes -= gone[i]->len;
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < k; i++)
        rec_unref(gone[i]);
}

/* ---- formatting ---- */

/* One record as an RFC 5424 message in s->msg; 0 or negative errno. */
static int format_one(sink *s, const rec *r)
{
    zt_fmt_rec fr;
    zt_fmt_rec_parse(&fr, r->data, r->len);
    zt_buf_reset(&s->msg);
    int rc = zt_fmt_syslog(&s->msg, &s->origin, &fr, s->type == ZT_EXPORT_CEF);
    zt_fmt_rec_dispose(&fr);
    return rc;
}

/* ---- sockets ---- */

static void set_fd(sink *s, int fd)
{
    pthread_mutex_lock(&s->mu);
    s->fd = fd;
    pthread_mutex_unlock(&s->mu);
}

static void disconnect(sink *s)
{
    int fd = s->fd;
    if (s->ssl != NULL) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    set_fd(s, -1);
    if (fd >= 0)
        close(fd);
    atomic_store(&s->connected, false);
}

/* Milliseconds an I/O wait may take now: the usual timeout, or what is left of the flush. */
static int io_budget_ms(sink *s)
{
    int ms = ZT_EXPORT_IO_TIMEOUT_MS;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        uint64_t now = zt_mono_us();
        uint64_t left = s->deadline_us > now ? (s->deadline_us - now) / 1000 : 0;
        ms = left < (uint64_t)ms ? (int)left : ms;
    }
    pthread_mutex_unlock(&s->mu);
    return ms > 0 ? ms : 1;
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Non-blocking connect bounded by the I/O budget, then back to blocking with timeouts. */
static int tcp_connect(sink *s, char *why, size_t whylen)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        zt_errf(why, whylen, "socket: %s", strerror(errno));
        return -errno;
    }
    set_fd(s, fd);
    int rc = connect(fd, (const struct sockaddr *)&s->addr, addr_len(&s->addr));
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        rc = poll(&p, 1, io_budget_ms(s));
        if (rc == 0)
            errno = ETIMEDOUT;
        else if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err != 0)
            errno = err;
        rc = rc > 0 && err == 0 ? 0 : -1;
    }
    if (rc < 0) {
        zt_errf(why, whylen, "connect: %s", strerror(errno));
        return -errno;
    }
    int on = 1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    set_timeouts(fd, io_budget_ms(s));
    return 0;
}

static bool is_ip(const char *s)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

/* Names to verify: server_name (also sent as SNI when it is a DNS name) or the address's IP. */
static int tls_expect(sink *s, SSL *ssl)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    char ip[ZT_IP_STRLEN];
    if (s->server_name == NULL) {
        zt_sockaddr_ip((const struct sockaddr *)&s->addr, ip);
        return X509_VERIFY_PARAM_set1_ip_asc(vp, ip) == 1 ? 0 : -EINVAL;
    }
    if (is_ip(s->server_name))
        return X509_VERIFY_PARAM_set1_ip_asc(vp, s->server_name) == 1 ? 0 : -EINVAL;
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, s->server_name) != 1 ||
        SSL_set1_host(ssl, s->server_name) != 1)
        return -EINVAL;
    return 0;
}

static int tls_handshake(sink *s, char *why, size_t whylen)
{
    ERR_clear_error();
    s->ssl = SSL_new(s->ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1 || tls_expect(s, s->ssl) < 0) {
        zt_errf(why, whylen, "TLS setup failed");
        return -ENOMEM;
    }
    if (SSL_connect(s->ssl) == 1)
        return 0;
    long vr = SSL_get_verify_result(s->ssl);
    unsigned long e = ERR_peek_last_error();
    if (vr != X509_V_OK)
        zt_errf(why, whylen, "TLS certificate verification failed: %s",
                X509_verify_cert_error_string(vr));
    else if (e != 0)
        zt_errf(why, whylen, "TLS handshake: %s", ERR_reason_error_string(e));
    else
        zt_errf(why, whylen, "TLS handshake: %s", errno ? strerror(errno) : "connection closed");
    ERR_clear_error();
    return -EPROTO;
}

static void schedule_retry(sink *s)
{
    uint64_t now = zt_mono_us();
    s->next_try_us = now + (uint64_t)s->backoff_ms * 1000;
    s->backoff_ms = s->backoff_ms >= ZT_EXPORT_BACKOFF_MAX_MS / 2 ? ZT_EXPORT_BACKOFF_MAX_MS
                                                                  : s->backoff_ms * 2;
}

static int connect_sink(sink *s)
{
    char why[256] = "";
    if (s->attempts++ > 0)
        atomic_fetch_add(&s->reconnects, 1);
    int rc = tcp_connect(s, why, sizeof(why));
    if (rc == 0 && s->transport == ZT_EXPORT_TLS)
        rc = tls_handshake(s, why, sizeof(why));
    if (rc < 0) {
        disconnect(s);
        atomic_fetch_add(&s->connect_failed, 1);
        if (!s->failing)
            zt_warn("audit export %s: cannot reach %s (%s); retrying with backoff up to %us",
                    s->name, s->address, why, ZT_EXPORT_BACKOFF_MAX_MS / 1000);
        s->failing = true;
        schedule_retry(s);
        return rc;
    }
    zt_info("audit export %s: connected to %s%s", s->name, s->address,
            s->transport == ZT_EXPORT_TLS ? " (TLS)" : "");
    /* The backoff resets only once a write succeeds: a collector that accepts and at once
     * closes must not make us reconnect in a tight loop. */
    s->failing = false;
    atomic_store(&s->connected, true);
    return 0;
}

static void lost(sink *s, const char *why)
{
    zt_warn("audit export %s: connection to %s lost (%s); reconnecting", s->name, s->address, why);
    disconnect(s);
    schedule_retry(s);
}

/* Collectors never talk back, so readable means closed (or, for TLS, a session ticket to
 * consume). Checked before each write: a dead peer is found before records go into the void. */
static bool peer_gone(sink *s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        return true;
    char buf[1024];
    if (s->ssl == NULL) {
        ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
        return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    int fl = fcntl(s->fd, F_GETFL);
    fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
    ERR_clear_error();
    int r = SSL_read(s->ssl, buf, sizeof(buf));
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, r);
    fcntl(s->fd, F_SETFL, fl);
    ERR_clear_error();
    return e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
}

static int write_all(sink *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (s->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r <= 0) {
                ERR_clear_error();
                return -EIO;
            }
            w = r;
        } else {
            w = send(s->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Frame and write up to BATCH_RECORDS records with one write; pop them once written. */
static void send_stream(sink *s)
{
    rec *batch[BATCH_RECORDS];
    if (s->fd < 0 && connect_sink(s) < 0)
        return;
    if (peer_gone(s)) {
        lost(s, "closed by the collector");
        return;
    }
    size_t k = peek(s, batch, BATCH_RECORDS), used = 0;
    zt_buf_reset(&s->frame);
    for (; used < k && s->frame.len < BATCH_BYTES; used++) {
        if (format_one(s, batch[used]) < 0 || zt_fmt_frame(&s->frame, s->msg.data, s->msg.len) < 0)
            break;
    }
    if (used == 0) { /* cannot format even one (out of memory): drop it rather than spin */
        pop(s, 1);
        atomic_fetch_add(&s->dropped, 1);
        return;
    }
    int rc = write_all(s, s->frame.data, s->frame.len);
    if (rc < 0) {
        lost(s, rc == -EIO ? "TLS write failed" : strerror(-rc));
        return;
    }
    pop(s, used);
    s->backoff_ms = ZT_EXPORT_BACKOFF_MIN_MS;
    atomic_fetch_add(&s->sent, used);
    atomic_fetch_add(&s->bytes_out, s->frame.len);
}

/* One datagram per record, cut at ZT_EXPORT_UDP_MAX on a character boundary. */
static void send_udp(sink *s)
{
    rec *r;
    if (s->fd < 0) {
        int fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)&s->addr, addr_len(&s->addr)) < 0) {
            if (fd >= 0)
                close(fd);
            zt_warn("audit export %s: UDP socket for %s: %s", s->name, s->address, strerror(errno));
            s->next_try_us = zt_mono_us() + ZT_EXPORT_BACKOFF_MAX_MS * 1000ull;
            return;
        }
        set_timeouts(fd, ZT_EXPORT_IO_TIMEOUT_MS);
        set_fd(s, fd);
        atomic_store(&s->connected, true);
    }
    if (peek(s, &r, 1) == 0)
        return;
    bool ok = format_one(s, r) == 0;
    size_t len = ok ? zt_fmt_utf8_cut(s->msg.data, s->msg.len, ZT_EXPORT_UDP_MAX) : 0;
    if (ok && len < s->msg.len)
        atomic_fetch_add(&s->truncated, 1);
    /* A refused datagram reports the ICMP error of an earlier one: try this one once more. */
    for (int i = 0; ok && i < 2; i++) {
        ok = send(s->fd, s->msg.data, len, MSG_NOSIGNAL) == (ssize_t)len;
        if (ok || errno != ECONNREFUSED)
            break;
    }
    pop(s, 1);
    if (ok) {
        atomic_fetch_add(&s->sent, 1);
        atomic_fetch_add(&s->bytes_out, len);
    } else {
        atomic_fetch_add(&s->dropped, 1);
    }
}

/* ---- sink thread ---- */

static void wait_mono(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_us)
{
    if (until_us == UINT64_MAX) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(until_us / 1000000),
                          .tv_nsec = (long)(until_us % 1000000) * 1000};
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Until records wait and (streams) a connection may be tried. False: stop now. */
static bool wait_ready(sink *s)
{
    bool go = false;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        uint64_t now = zt_mono_us();
        if (s->stopping && (s->n == 0 || now >= s->deadline_us))
            break;
        uint64_t due = UINT64_MAX;
        if (s->n > 0) {
            due = s->fd < 0 ? s->next_try_us : now;
            if (due <= now) {
                go = true;
                break;
            }
            if (s->stopping && due >= s->deadline_us)
                break; /* the next attempt would come after the flush deadline */
        }
        if (s->stopping && s->deadline_us < due)
            due = s->deadline_us;
        wait_mono(&s->wake, &s->mu, due);
    }
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void *sink_main(void *arg)
{
    sink *s = arg;
    /* TLS writes use write(2): a closed peer must give EPIPE here, not kill the process. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    while (wait_ready(s)) {
        if (s->transport == ZT_EXPORT_UDP)
            send_udp(s);
        else
            send_stream(s);
    }
    if (s->ssl != NULL) /* close_notify, so the collector sees a clean end, not a truncation */
        SSL_shutdown(s->ssl);
    disconnect(s);
    pthread_mutex_lock(&s->mu);
    size_t left = s->n;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->dropped, left); /* still queued at the flush deadline */
    while (left > 0) {
        size_t k = left < BATCH_RECORDS ? left : BATCH_RECORDS;
        pop(s, k);
        left -= k;
    }
    pthread_mutex_lock(&s->mu);
    s->exited = true;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifecycle ---- */

static SSL_CTX *tls_ctx(const zt_export_cfg *c, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        zt_errf(err, errlen, "audit export %s: TLS context: out of memory", c->name);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (c->insecure_skip_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        zt_warn("audit export %s: insecure_skip_verify is set: the collector at %s is NOT "
                "authenticated and anyone on the path can read or drop audit records",
                c->name, c->address);
        return ctx;
    }
    if (c->ca_file == NULL || SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
        unsigned long e = ERR_get_error();
        zt_errf(err, errlen, "audit export %s: cannot load CA bundle %s: %s", c->name,
                c->ca_file ? c->ca_file : "(none)", e ? ERR_reason_error_string(e) : "missing");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;
    *oom |= s != NULL && d == NULL;
    return d;
}

static int sink_init(sink *s, const zt_export_cfg *c, const char *host, char *err, size_t errlen)
{
    bool oom = false;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->done, &ca);
    pthread_condattr_destroy(&ca);
    s->fd = -1;
    s->name = dup_or_null(c->name ? c->name : "export", &oom);
    s->address = dup_or_null(c->address ? c->address : "?", &oom);
    s->ca_file = dup_or_null(c->ca_file, &oom);
    s->server_name = dup_or_null(c->server_name, &oom);
    s->addr = c->addr;
    s->type = c->type;
    s->transport = c->transport;
    s->insecure = c->insecure_skip_verify;
    s->limit = c->queue_limit ? c->queue_limit : 10000;
    s->byte_limit = s->limit * ZT_EXPORT_QUEUE_BYTES_PER_RECORD;
    if (s->byte_limit < ZT_EXPORT_QUEUE_BYTES_MIN)
        s->byte_limit = ZT_EXPORT_QUEUE_BYTES_MIN;
    s->backoff_ms = ZT_EXPORT_BACKOFF_MIN_MS;
    zt_buf_init(&s->msg, MESSAGE_MAX);
    zt_buf_init(&s->frame, 0);
    zt_fmt_origin_init(&s->origin, host, c->app_name ? c->app_name : "ztgate", (long)getpid(),
                       c->facility);
    s->ring = calloc(s->limit, sizeof(*s->ring));
    if (oom || s->ring == NULL) {
        zt_errf(err, errlen, "audit export: out of memory");
        return -ENOMEM;
    }
    if (s->transport == ZT_EXPORT_TLS && (s->ctx = tls_ctx(c, err, errlen)) == NULL)
        return -EINVAL;
    int rc = -pthread_create(&s->thread, NULL, sink_main, s);
    s->started = rc == 0;
    if (rc < 0)
        zt_errf(err, errlen, "audit export %s: start thread: %s", s->name, strerror(-rc));
    return rc;
}

zt_exporter *zt_export_new(const zt_export_cfg *cfg, size_t n, char *err, size_t errlen)
{
    zt_errf(err, errlen, "%s", "");
    if (n == 0 || cfg == NULL)
        return NULL;
    if (n > ZT_EXPORT_MAX_SINKS) {
        zt_errf(err, errlen, "audit export: at most %d sinks", ZT_EXPORT_MAX_SINKS);
        return NULL;
    }
    zt_exporter *x = calloc(1, sizeof(*x));
    sink *sinks = calloc(n, sizeof(*sinks));
    if (x == NULL || sinks == NULL) {
        free(x);
        free(sinks);
        zt_errf(err, errlen, "audit export: out of memory");
        return NULL;
    }
    x->sinks = sinks;
    char host[ZT_FMT_HOSTNAME_MAX + 1] = "";
    if (gethostname(host, sizeof(host)) < 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    for (size_t i = 0; i < n; i++) {
        x->n = i + 1;
        if (sink_init(&x->sinks[i], &cfg[i], host, err, errlen) < 0) {
            zt_export_free(x);
            return NULL;
        }
    }
    return x;
}

size_t zt_export_count(const zt_exporter *x)
{
    return x ? x->n : 0;
}

void zt_export_stats(const zt_exporter *x, size_t i, zt_export_sink_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (x == NULL || i >= x->n)
        return;
    sink *s = &x->sinks[i];
    pthread_mutex_lock(&s->mu);
    out->queued = s->n;
    pthread_mutex_unlock(&s->mu);
    out->name = s->name;
    out->sent = atomic_load(&s->sent);
    out->dropped = atomic_load(&s->dropped);
    out->truncated = atomic_load(&s->truncated);
    out->reconnects = atomic_load(&s->reconnects);
    out->connect_failed = atomic_load(&s->connect_failed);
    out->bytes = atomic_load(&s->bytes_out);
    out->connected = atomic_load(&s->connected);
}

/* Wait for the thread to finish its flush; past the deadline, shut its socket down so a send
 * blocked on a stalled collector returns at once. */
static void sink_join(sink *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->mu);
    uint64_t until = s->deadline_us + STOP_GRACE_US;
    while (!s->exited && zt_mono_us() < until)
        wait_mono(&s->done, &s->mu, until);
    if (!s->exited && s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
}

static void sink_dispose(sink *s)
{
    for (size_t i = 0; s->ring != NULL && i < s->n; i++)
        rec_unref(s->ring[(s->head + i) % s->limit]);
    free(s->ring);
    SSL_CTX_free(s->ctx);
    zt_buf_dispose(&s->msg);
    zt_buf_dispose(&s->frame);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    free(s->name);
    free(s->address);
    free(s->ca_file);
    free(s->server_name);
}

void zt_export_free(zt_exporter *x)
{
    if (x == NULL)
        return;
    uint64_t deadline = zt_mono_us() + ZT_EXPORT_STOP_MS * 1000ull;
    for (size_t i = 0; i < x->n; i++) {
        sink *s = &x->sinks[i];
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        s->deadline_us = deadline;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
    }
    for (size_t i = 0; i < x->n; i++) {
        zt_export_sink_stats st;
        sink_join(&x->sinks[i]);
        zt_export_stats(x, i, &st);
        if (x->sinks[i].started)
            zt_info("audit export %s: stopped; sent %llu, dropped %llu, truncated %llu, "
                    "reconnects %llu, failed connects %llu",
                    st.name, (unsigned long long)st.sent, (unsigned long long)st.dropped,
                    (unsigned long long)st.truncated, (unsigned long long)st.reconnects,
                    (unsigned long long)st.connect_failed);
        sink_dispose(&x->sinks[i]);
    }
    free(x->sinks);
    free(x);
}
