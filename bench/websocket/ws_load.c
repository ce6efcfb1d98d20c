/* WebSocket load generator for bench/websocket/run.sh: one libuv loop, C connections, each
 * upgraded with a real RFC 6455 handshake, then sending masked binary frames of SIZE bytes and
 * waiting for the echo (ws_echo.c answers each with the same payload, unmasked).
 *
 *   ws_load -p PORT [-a ADDR] [-H HOST] [-P PATH] [-O ORIGIN] [-X "Name: value"]
 *           [-c CONNS] [-d SECONDS] [-w WARMUP] [-s SIZE] [-D DEPTH] [-i HOLD_SECONDS]
 *
 * -D 1 (default) is ping-pong: one message in flight per connection, so messages/s measures the
 * round trip through the proxy; -D 16 keeps 16 in flight (pipelined: throughput).
 * -i: idle mode — open CONNS WebSockets, print `WSLOAD idle open=N errors=N` once they are all
 * upgraded (or failed), then hold them HOLD_SECONDS without sending (the script reads the
 * proxy's RSS meanwhile) and exit. A WebSocket the proxy ends meanwhile (a close frame, any
 * byte, EOF) is counted with the wall-clock time it ended; once all ended it exits early, printing
 *   WSLOAD closed open=N closed=N first=EPOCH p50=EPOCH p99=EPOCH last=EPOCH
 * (seconds since the epoch, so a script can subtract the time it revoked the session).
 * Load mode prints one line:
 *   WSLOAD conns=N size=S depth=D msgs=N secs=S rate=R p50=US p99=US errors=N
 * msgs counts echoes completed in the measured window (after the warm-up); RTT is per message,
 * from handing its frame to the socket to its last echoed byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define MAX_DEPTH 256
#define OPENING_MAX 256 /* connections in connect/handshake at once (listen backlogs) */

static struct {
    const char *addr, *host, *path, *origin, *extra;
    int port, conns, depth, hold_s;
    double secs, warm;
    size_t size;
} opt = {"127.0.0.1", "bench.test", "/ws", NULL, NULL, 0, 16, 1, -1, 5, 1, 64};

typedef struct ws_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    bool upgraded, closing;
    char head[4096];
    size_t head_len;
    size_t reply_off; /* offset inside the echo being received */
    uint64_t sent_at[MAX_DEPTH];
    unsigned ring_head, in_flight;
} ws_conn;

static uv_loop_t *loop;
static char *frames; /* DEPTH identical masked frames back to back */
static size_t frame_len, reply_len, reply_hl;
static char request[2048];
static size_t request_len;
static uint64_t t_start, t_measure, t_end;
static uint64_t msgs, errors;
static int opened, opening, upgraded_n, next_conn;
static ws_conn *conns;
static uint32_t *rtts;
static size_t n_rtts, cap_rtts;
static uv_timer_t stop_timer;
static double *closed_at; /* idle mode: wall-clock time each WebSocket was ended by the proxy */
static int closed_n;

static void open_more(void);

static void on_stop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Idle mode: once every connection is upgraded or failed, say so and hold them. */
static void idle_check(void)
{
    if (opt.hold_s < 0 || upgraded_n + (int)errors != opt.conns)
        return;
    printf("WSLOAD idle open=%d errors=%llu\n", upgraded_n, (unsigned long long)errors);
    fflush(stdout);
    uv_timer_start(&stop_timer, on_stop, (uint64_t)opt.hold_s * 1000, 0);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void conn_fail(ws_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    errors++;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    if (!c->upgraded)
        idle_check();
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0 && status != UV_ECANCELED)
        conn_fail(req->handle->data);
    free(req);
}

static void send_frames(ws_conn *c, unsigned k)
{
    uv_write_t *req = malloc(sizeof *req);
    if (!req) {
        conn_fail(c);
        return;
    }
    uint64_t now = uv_hrtime();
    for (unsigned i = 0; i < k; i++) {
        c->sent_at[(c->ring_head + c->in_flight) % MAX_DEPTH] = now;
        c->in_flight++;
    }
    uv_buf_t b = uv_buf_init(frames, (unsigned)(frame_len * k));
    if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(req);
        conn_fail(c);
    }
}

static void record(uint64_t sent, uint64_t now)
{
    if (now < t_measure || now > t_end)
        return;
    msgs++;
    if (n_rtts == cap_rtts) {
        size_t cap = cap_rtts ? cap_rtts * 2 : 1 << 16;
        uint32_t *p = realloc(rtts, cap * sizeof *p);
        if (!p)
            return;
        rtts = p;
        cap_rtts = cap;
    }
    rtts[n_rtts++] = (uint32_t)((now - sent) / 1000);
}

/* Count echoed bytes; every complete echo frees one slot and sends the next message. */
static void on_data(ws_conn *c, const unsigned char *p, size_t n)
{
    unsigned done = 0;
    uint64_t now = uv_hrtime();
    while (n > 0) {
        if (c->reply_off == 0 && p[0] != 0x82) { /* FIN + binary, as sent */
            conn_fail(c);
            return;
        }
        size_t take = reply_len - c->reply_off;
        if (take > n)
            take = n;
        c->reply_off += take;
        p += take;
        n -= take;
        if (c->reply_off == reply_len) {
            c->reply_off = 0;
            if (c->in_flight == 0) {
                conn_fail(c);
                return;
            }
            record(c->sent_at[c->ring_head], now);
            c->ring_head = (c->ring_head + 1) % MAX_DEPTH;
            c->in_flight--;
            done++;
        }
    }
    if (done && opt.hold_s < 0)
        send_frames(c, done);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char slab[1 << 16];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_upgraded(ws_conn *c)
{
    c->upgraded = true;
    upgraded_n++;
    opening--;
    open_more();
    if (opt.hold_s < 0)
        send_frames(c, (unsigned)opt.depth);
    else
        idle_check();
}

/* Idle mode: the proxy ended an upgraded WebSocket (close frame, data or EOF). */
static void idle_ended(ws_conn *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    closed_at[closed_n++] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    if (closed_n == upgraded_n && upgraded_n + (int)errors == opt.conns)
        uv_stop(loop);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    ws_conn *c = s->data;
    if (c->upgraded && opt.hold_s >= 0 && n != 0) {
        if (!c->closing)
            idle_ended(c);
        return;
    }
    if (n < 0) {
        if (!c->upgraded)
            opening--, open_more();
        conn_fail(c);
        return;
    }
    const char *p = buf->base;
    size_t len = (size_t)n;
    if (!c->upgraded) {
        size_t room = sizeof c->head - c->head_len;
        size_t take = len < room ? len : room;
        memcpy(c->head + c->head_len, p, take);
        c->head_len += take;
        char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
        if (!end) {
            if (c->head_len == sizeof c->head)
                opening--, open_more(), conn_fail(c);
            return;
        }
        if (strncmp(c->head, "HTTP/1.1 101", 12) != 0) {
            if (errors < 3)
                fprintf(stderr, "ws_load: no upgrade: %.*s\n",
                        (int)(strchr(c->head, '\r') - c->head), c->head);
            opening--, open_more(), conn_fail(c);
            return;
        }
        size_t head_bytes = (size_t)(end + 4 - c->head) - (c->head_len - take);
        on_upgraded(c);
        p += head_bytes;
        len -= head_bytes;
        if (len && opt.hold_s >= 0) {
            idle_ended(c);
            return;
        }
    }
    if (len)
        on_data(c, (const unsigned char *)p, len);
}

static void on_connected(uv_connect_t *req, int status)
{
    ws_conn *c = req->handle->data;
    if (status < 0) {
        opening--;
        conn_fail(c);
        open_more();
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init(request, (unsigned)request_len);
    if (!w || uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        opening--;
        conn_fail(c);
        open_more();
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void open_more(void)
{
    struct sockaddr_in sa;
    uv_ip4_addr(opt.addr, opt.port, &sa);
    while (next_conn < opt.conns && opening < OPENING_MAX) {
        ws_conn *c = &conns[next_conn++];
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        opening++;
        opened++;
        if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, on_connected) != 0) {
            opening--;
            conn_fail(c);
        }
    }
}

static void build_messages(void)
{
    reply_hl = opt.size < 126 ? 2 : opt.size < 65536 ? 4 : 10;
    reply_len = reply_hl + opt.size;
    frame_len = reply_len + 4; /* + mask key */
    frames = malloc(frame_len * (size_t)opt.depth);
    char *f = frames;
    f[0] = (char)0x82;
    if (reply_hl == 2)
        f[1] = (char)(0x80 | opt.size);
    else if (reply_hl == 4) {
        f[1] = (char)(0x80 | 126);
        f[2] = (char)(opt.size >> 8);
        f[3] = (char)opt.size;
    } else {
        f[1] = (char)(0x80 | 127);
        for (int i = 0; i < 8; i++)
            f[2 + i] = (char)((uint64_t)opt.size >> (56 - 8 * i));
    }
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(f + reply_hl, mask, 4);
    for (size_t i = 0; i < opt.size; i++)
        f[reply_hl + 4 + i] = (char)(('a' + i % 26) ^ mask[i & 3]);
    for (int d = 1; d < opt.depth; d++)
        memcpy(frames + frame_len * (size_t)d, frames, frame_len);
    char origin[300];
    snprintf(origin, sizeof origin, "http://%s", opt.host);
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Origin: %s\r\n%s%s\r\n",
                     opt.path, opt.host, opt.origin ? opt.origin : origin,
                     opt.extra ? opt.extra : "", opt.extra ? "\r\n" : "");
    request_len = (size_t)n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: ws_load -p PORT [-a ADDR] [-H HOST] [-P PATH] [-O ORIGIN] [-X HEADER]\n"
                    "               [-c CONNS] [-d SECONDS] [-w WARMUP] [-s SIZE] [-D DEPTH] "
                    "[-i HOLD_SECONDS]\n");
    exit(2);
}

static long num(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "p:a:H:P:O:X:c:d:w:s:D:i:")) != -1) {
        switch (ch) {
        case 'p':
            opt.port = (int)num(optarg, 1, 65535);
            break;
        case 'a':
            opt.addr = optarg;
            break;
        case 'H':
            opt.host = optarg;
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'O':
            opt.origin = optarg;
            break;
        case 'X':
            opt.extra = optarg;
            break;
        case 'c':
            opt.conns = (int)num(optarg, 1, 200000);
            break;
        case 'd':
            opt.secs = (double)num(optarg, 1, 3600);
            break;
        case 'w':
            opt.warm = (double)num(optarg, 0, 3600);
            break;
        case 's':
            opt.size = (size_t)num(optarg, 1, 16 << 20);
            break;
        case 'D':
            opt.depth = (int)num(optarg, 1, MAX_DEPTH);
            break;
        case 'i':
            opt.hold_s = (int)num(optarg, 0, 3600);
            break;
        default:
            usage();
        }
    }
    if (!opt.port || strlen(opt.host) > 255 || strlen(opt.path) > 1024 ||
        (opt.extra && strlen(opt.extra) > 512) || (opt.origin && strlen(opt.origin) > 255))
        usage();
    loop = uv_default_loop();
    conns = calloc((size_t)opt.conns, sizeof *conns);
    closed_at = calloc((size_t)opt.conns, sizeof *closed_at);
    if (!conns || !closed_at)
        return 1;
    build_messages();
    uv_timer_init(loop, &stop_timer);
    t_start = uv_hrtime();
    t_measure = t_start + (uint64_t)(opt.warm * 1e9);
    t_end = t_measure + (uint64_t)(opt.secs * 1e9);
    open_more();
    /* load mode: warm-up + window; idle mode: at most 120 s to open them all */
    uint64_t limit_ms = opt.hold_s < 0 ? (uint64_t)((opt.warm + opt.secs) * 1000) : 120000;
    uv_timer_start(&stop_timer, on_stop, limit_ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    if (opt.hold_s >= 0) {
        if (upgraded_n + (int)errors != opt.conns)
            printf("WSLOAD idle open=%d errors=%llu (timed out)\n", upgraded_n,
                   (unsigned long long)errors);
        if (closed_n > 0) {
            qsort(closed_at, (size_t)closed_n, sizeof *closed_at, cmp_double);
            printf("WSLOAD closed open=%d closed=%d first=%.6f p50=%.6f p99=%.6f last=%.6f\n",
                   upgraded_n, closed_n, closed_at[0], closed_at[closed_n / 2],
                   closed_at[(size_t)closed_n * 99 / 100], closed_at[closed_n - 1]);
        }
        return 0;
    }
    qsort(rtts, n_rtts, sizeof *rtts, cmp_u32);
    uint32_t p50 = n_rtts ? rtts[n_rtts / 2] : 0, p99 = n_rtts ? rtts[n_rtts * 99 / 100] : 0;
    printf(
        "WSLOAD conns=%d size=%zu depth=%d msgs=%llu secs=%.0f rate=%.0f p50=%u p99=%u errors=%llu "
        "upgraded=%d\n",
        opt.conns, opt.size, opt.depth, (unsigned long long)msgs, opt.secs, (double)msgs / opt.secs,
        p50, p99, (unsigned long long)errors, upgraded_n);
    return 0;
}
