/* Minimal HTTPS load generator for bench/device/run.sh: one blocking TLS connection per thread,
 * optionally presenting a client certificate (wrk cannot), either kept alive across requests or
 * made new for every request (a full handshake each time: the client never offers a session).
 *
 *   tlsload -p PORT [-a ADDR] [-s HOST] [-P PATH] [-c CONNS] [-d SECONDS] [-w WARMUP]
 *           [-n] [-t 1.2|1.3] [-C CERT -K KEY] [-H "Name: value"]... [-e BODY_BYTES]
 *
 * -n: new connection per request ("Connection: close"), so req/s = handshakes/s.
 * Prints one line:
 *   TLSLOAD reqs=N ok=N bad=N errors=N secs=S rps=R handshakes=N p50=US p99=US proto=P cipher=C
 * reqs counts responses completed during the measured window (after the warm-up); ok those with
 * status 200 (and the expected body length with -e); errors connect/handshake/read failures.
 * Latency: per request (including the handshake with -n), log-linear histogram, ~3 % buckets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TL_MAX_HEADERS 8
#define TL_MAX_THREADS 512
#define TL_HBUCKETS 2048u /* 32 sub-buckets per power of two (ns) */
#define TL_RBUF 65536

static struct {
    const char *addr, *host, *path, *cert, *key;
    int port, conns, tls; /* tls: 0 any, 12, 13 */
    double secs, warmup;
    bool fresh;
    long expect;
    const char *headers[TL_MAX_HEADERS];
    int n_headers;
} opt = {.addr = "127.0.0.1",
         .host = "bench.test",
         .path = "/",
         .conns = 16,
         .secs = 5,
         .warmup = 1,
         .expect = -1};

static SSL_CTX *ctx;
static char request[4096];
static size_t request_len;
static struct sockaddr_in target;
static atomic_int phase; /* 0 warm-up, 1 measured, 2 stop */

typedef struct tl_thread {
    pthread_t tid;
    uint64_t reqs, ok, bad, errors, handshakes;
    uint64_t hist[TL_HBUCKETS];
    char proto[16], cipher[64];
} tl_thread;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v)
{
    if (v < 32)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned b = (msb - 4u) * 32u + (unsigned)((v >> (msb - 5u)) & 31u);
    return b < TL_HBUCKETS ? b : TL_HBUCKETS - 1;
}

static double bucket_value(unsigned b)
{
    if (b < 32)
        return b;
    unsigned msb = b / 32u + 4u;
    uint64_t lo = ((uint64_t)32u + (b % 32u)) << (msb - 5u);
    return (double)lo + (double)((uint64_t)1 << (msb - 5u)) / 2.0;
}

typedef struct tl_conn {
    int fd;
    SSL *ssl;
} tl_conn;

static void conn_close(tl_conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl); /* send close_notify; do not wait for the peer's */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->ssl = NULL;
}

static bool conn_open(tl_conn *c, tl_thread *t)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&target, sizeof(target)) != 0)
        return false;
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        SSL_set_tlsext_host_name(c->ssl, opt.host) != 1 || SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return false;
    }
    if (t->proto[0] == '\0') {
        snprintf(t->proto, sizeof(t->proto), "%s", SSL_get_version(c->ssl));
        snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_get_cipher_name(c->ssl));
    }
    return true;
}

/* One request and its response. 1 = a response (status in *status), 0 = connection error. The
 * connection must be closed after a response carrying "Connection: close" (*close_it). */
static int exchange(tl_conn *c, int *status, long *body_len, bool *close_it)
{
    static _Thread_local char buf[TL_RBUF];
    if (SSL_write(c->ssl, request, (int)request_len) != (int)request_len)
        return 0;
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have == sizeof(buf) - 1)
            return 0; /* headers too large */
        int n = SSL_read(c->ssl, buf + have, (int)(sizeof(buf) - 1 - have));
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end - buf) + 4;
    if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        return 0;
    long clen = -1;
    *close_it = false;
    for (char *line = strstr(buf, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            clen = strtol(h + 15, NULL, 10);
        else if (strncasecmp(h, "Connection:", 11) == 0 && strncasecmp(h + 11, " close", 6) == 0)
            *close_it = true;
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
            return 0; /* chunked is not handled: the benchmark serves a static file */
    }
    if (clen < 0)
        return 0;
    long got = (long)(have - head);
    while (got < clen) {
        int n = SSL_read(c->ssl, buf,
                         (int)(clen - got < (long)sizeof(buf) ? clen - got : (long)sizeof(buf)));
        if (n <= 0)
            return 0;
        got += n;
    }
    *body_len = clen;
    return 1;
}

static void *worker(void *arg)
{
    tl_thread *t = arg;
    tl_conn c = {.fd = -1};
    while (atomic_load_explicit(&phase, memory_order_relaxed) < 2) {
        uint64_t t0 = now_ns();
        bool fresh_hs = false;
        if (c.ssl == NULL) {
            if (!conn_open(&c, t)) {
                conn_close(&c);
                if (atomic_load(&phase) == 1)
                    t->errors++;
                usleep(1000);
                continue;
            }
            fresh_hs = true;
        }
        int status = 0;
        long body = 0;
        bool close_it = false;
        int rc = exchange(&c, &status, &body, &close_it);
        uint64_t t1 = now_ns();
        bool measured = atomic_load_explicit(&phase, memory_order_relaxed) == 1;
        if (rc == 0) {
            conn_close(&c);
            if (measured)
                t->errors++;
            continue;
        }
        if (measured) {
            t->reqs++;
            t->handshakes += fresh_hs;
            if (status == 200 && (opt.expect < 0 || body == opt.expect))
                t->ok++;
            else
                t->bad++;
            t->hist[bucket_of(t1 - t0)]++;
        }
        if (opt.fresh || close_it)
            conn_close(&c);
    }
    conn_close(&c);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: tlsload -p PORT [-a ADDR] [-s HOST] [-P PATH] [-c CONNS] [-d SECS] "
                    "[-w WARMUP] [-n] [-t 1.2|1.3] [-C CERT -K KEY] [-H HEADER]... [-e BYTES]\n");
    exit(2);
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "a:p:s:P:c:d:w:nt:C:K:H:e:")) != -1) {
        switch (ch) {
        case 'a':
            opt.addr = optarg;
            break;
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 's':
            opt.host = optarg;
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'c':
            opt.conns = atoi(optarg);
            break;
        case 'd':
            opt.secs = atof(optarg);
            break;
        case 'w':
            opt.warmup = atof(optarg);
            break;
        case 'n':
            opt.fresh = true;
            break;
        case 't':
            opt.tls = strcmp(optarg, "1.2") == 0 ? 12 : strcmp(optarg, "1.3") == 0 ? 13 : -1;
            break;
        case 'C':
            opt.cert = optarg;
            break;
        case 'K':
            opt.key = optarg;
            break;
        case 'H':
            if (opt.n_headers == TL_MAX_HEADERS)
                usage();
            opt.headers[opt.n_headers++] = optarg;
            break;
        case 'e':
            opt.expect = atol(optarg);
            break;
        default:
            usage();
        }
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.conns < 1 || opt.conns > TL_MAX_THREADS ||
        opt.secs <= 0 || opt.warmup < 0 || opt.tls < 0 || (opt.cert == NULL) != (opt.key == NULL))
        usage();
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.addr, &target.sin_addr) != 1)
        usage();

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return 1;
    int ver = opt.tls == 12 ? TLS1_2_VERSION : opt.tls == 13 ? TLS1_3_VERSION : 0;
    SSL_CTX_set_min_proto_version(ctx, ver ? ver : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, ver);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the server's cost is what is measured */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* never resume */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (opt.cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1 ||
                             SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    int n = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s\r\n%s", opt.path,
                     opt.host, opt.fresh ? "Connection: close\r\n" : "");
    for (int i = 0; i < opt.n_headers && n > 0 && (size_t)n < sizeof(request); i++)
        n += snprintf(request + n, sizeof(request) - (size_t)n, "%s\r\n", opt.headers[i]);
    if (n <= 0 || (size_t)n + 3 > sizeof(request)) {
        fprintf(stderr, "tlsload: request too large\n");
        return 2;
    }
    n += snprintf(request + n, sizeof(request) - (size_t)n, "\r\n");
    request_len = (size_t)n;

    tl_thread *th = calloc((size_t)opt.conns, sizeof(*th));
    if (th == NULL)
        return 1;
    for (int i = 0; i < opt.conns; i++)
        if (pthread_create(&th[i].tid, NULL, worker, &th[i]) != 0) {
            fprintf(stderr, "tlsload: cannot start thread %d\n", i);
            return 1;
        }
    sleep_s(opt.warmup);
    uint64_t start = now_ns();
    atomic_store(&phase, 1);
    sleep_s(opt.secs);
    atomic_store(&phase, 2);
    double secs = (double)(now_ns() - start) / 1e9;
    for (int i = 0; i < opt.conns; i++)
        pthread_join(th[i].tid, NULL);

    tl_thread sum = {0};
    for (int i = 0; i < opt.conns; i++) {
        sum.reqs += th[i].reqs;
        sum.ok += th[i].ok;
        sum.bad += th[i].bad;
        sum.errors += th[i].errors;
        sum.handshakes += th[i].handshakes;
        for (unsigned b = 0; b < TL_HBUCKETS; b++)
            sum.hist[b] += th[i].hist[b];
        if (sum.proto[0] == '\0' && th[i].proto[0] != '\0') {
            memcpy(sum.proto, th[i].proto, sizeof(sum.proto));
            memcpy(sum.cipher, th[i].cipher, sizeof(sum.cipher));
        }
    }
    double pct[2] = {0, 0};
    const double want[2] = {0.50, 0.99};
    for (int k = 0; k < 2; k++) {
        uint64_t seen = 0, need = (uint64_t)((double)sum.reqs * want[k]);
        for (unsigned b = 0; b < TL_HBUCKETS; b++) {
            seen += sum.hist[b];
            if (seen > need || (seen == sum.reqs && seen > 0)) {
                pct[k] = bucket_value(b) / 1000.0;
                break;
            }
        }
    }
    printf("TLSLOAD reqs=%llu ok=%llu bad=%llu errors=%llu secs=%.3f rps=%.1f handshakes=%llu "
           "p50=%.0f p99=%.0f proto=%s cipher=%s\n",
           (unsigned long long)sum.reqs, (unsigned long long)sum.ok, (unsigned long long)sum.bad,
           (unsigned long long)sum.errors, secs, (double)sum.ok / secs,
           (unsigned long long)sum.handshakes, pct[0], pct[1], sum.proto[0] ? sum.proto : "-",
           sum.cipher[0] ? sum.cipher : "-");
    free(th);
    SSL_CTX_free(ctx);
    return 0;
}
