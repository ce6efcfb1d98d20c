/* WebSocket echo upstream for bench/websocket/run.sh: one libuv loop (one core), RFC 6455
 * handshake, every data frame sent back unmasked with the same opcode and payload; a close frame
 * is answered with a close frame and the connection ends. Nothing else (no extensions, no
 * fragment reassembly: each fragment is echoed as it came, which keeps the framing valid).
 *
 *   ws_echo PORT
 *
 * A request without Sec-WebSocket-Key gets `200 ok` (a health probe) and is closed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <uv.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HEAD_MAX 8192

typedef struct echo_conn {
    uv_tcp_t tcp;
    bool upgraded, closing;
    char *in; /* bytes not yet consumed: the head, then partial frames */
    size_t in_len, in_cap;
} echo_conn;

typedef struct {
    uv_write_t req;
    char *buf;
    echo_conn *close_after; /* the probe's answer: close once written */
} echo_write;

static uv_loop_t *loop;

static void on_closed(uv_handle_t *h)
{
    echo_conn *c = h->data;
    free(c->in);
    free(c);
}

static void conn_close(echo_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    echo_write *w = (echo_write *)req;
    if (w->close_after)
        conn_close(w->close_after);
    free(w->buf);
    free(w);
    (void)status;
}

/* Takes ownership of buf. */
static void send_bytes(echo_conn *c, char *buf, size_t n, bool then_close)
{
    echo_write *w = calloc(1, sizeof *w);
    if (!w) {
        free(buf);
        conn_close(c);
        return;
    }
    w->buf = buf;
    w->close_after = then_close ? c : NULL;
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(buf);
        free(w);
        conn_close(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    echo_conn *c = h->data;
    size_t want = c->in_len + 65536;
    (void)hint;
    if (want > c->in_cap) {
        char *p = realloc(c->in, want);
        if (!p) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->in = p;
        c->in_cap = want;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* The value of header `name` in the head [p, end), trimmed, or NULL. */
static const char *header_value(const char *p, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return NULL;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && isspace((unsigned char)ve[-1]))
                ve--;
            *len = (size_t)(ve - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* 0: head incomplete; 1: upgraded; -1: answered a probe (closes once written) or failed. */
static int handshake(echo_conn *c)
{
    const char *end = NULL;
    for (size_t i = 3; i < c->in_len; i++)
        if (memcmp(c->in + i - 3, "\r\n\r\n", 4) == 0) {
            end = c->in + i + 1;
            break;
        }
    if (!end) {
        if (c->in_len < HEAD_MAX)
            return 0;
        conn_close(c);
        return -1;
    }
    size_t klen = 0;
    const char *key = header_value(c->in, end, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 64) {
        static const char ok[] =
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
        char *b = malloc(sizeof ok);
        if (b) {
            memcpy(b, ok, sizeof ok - 1);
            send_bytes(c, b, sizeof ok - 1, true);
        } else
            conn_close(c);
        return -1;
    }
    char cat[128];
    memcpy(cat, key, klen);
    memcpy(cat + klen, WS_GUID, sizeof WS_GUID - 1);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, klen + sizeof WS_GUID - 1, digest);
    char accept[64];
    EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);
    char *resp = malloc(256);
    if (!resp) {
        conn_close(c);
        return -1;
    }
    int n = snprintf(resp, 256,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    send_bytes(c, resp, (size_t)n, false);
    size_t used = (size_t)(end - c->in);
    memmove(c->in, end, c->in_len - used);
    c->in_len -= used;
    c->upgraded = true;
    return 1;
}

/* Echo every complete frame in c->in; keep a partial one. False: close the connection. */
static bool echo_frames(echo_conn *c)
{
    size_t pos = 0, out_len = 0;
    char *out = malloc(c->in_len + 16);
    if (!out)
        return false;
    bool keep = true;
    while (c->in_len - pos >= 2) {
        const unsigned char *f = (const unsigned char *)c->in + pos;
        size_t avail = c->in_len - pos, hl = 2;
        uint64_t plen = f[1] & 0x7f;
        bool masked = f[1] & 0x80;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = ((uint64_t)f[2] << 8) | f[3];
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | f[2 + i];
            hl = 10;
        }
        size_t mk = masked ? 4 : 0;
        if (plen > (64u << 20))
            return free(out), conn_close(c), false;
        if (avail < hl + mk + plen)
            break;
        unsigned op = f[0] & 0x0f;
        /* server frames are never masked: header without the mask bit, unmasked payload */
        size_t need = out_len + hl + plen;
        if (need > c->in_len + 16) {
            char *p = realloc(out, need);
            if (!p)
                return free(out), conn_close(c), false;
            out = p;
        }
        memcpy(out + out_len, f, hl);
        out[out_len + 1] = (char)(f[1] & 0x7f);
        const unsigned char *m = f + hl, *src = f + hl + mk;
        unsigned char *dst = (unsigned char *)out + out_len + hl;
        for (uint64_t i = 0; i < plen; i++)
            dst[i] = masked ? src[i] ^ m[i & 3] : src[i];
        out_len += hl + plen;
        pos += hl + mk + plen;
        if (op == 0x8) {
            keep = false;
            break;
        }
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (out_len)
        send_bytes(c, out, out_len, !keep);
    else
        free(out);
    return keep;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    echo_conn *c = s->data;
    (void)buf;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    if (!c->upgraded && handshake(c) <= 0)
        return;
    /* false after a close frame (answered, closed once written) or a bad frame (closed) */
    (void)echo_frames(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    echo_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ws_echo PORT\n");
        return 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end || port <= 0 || port > 65535) {
        fprintf(stderr, "ws_echo: bad port %s\n", argv[1]);
        return 2;
    }
    loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", (int)port, &addr);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 4096, on_connection) != 0) {
        fprintf(stderr, "ws_echo: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
