/* `ztagent tunnel HOST[:PORT] (--stdio | --listen 127.0.0.1:PORT)`: a TCP connection to a
 * `kind: tcp` app through the gateway (protocol: docs/TUNNELS.md). Each local connection (or
 * stdin/stdout, for ssh's ProxyCommand) gets its own TLS connection to agent.conf's server with
 * the device certificate, sends `CONNECT host:port` with the cached token, signs in first when
 * the gateway asks (407), then copies bytes both ways until both directions have ended:
 * non-blocking sockets, non-blocking OpenSSL and poll(), 64 KiB per direction, the end of one
 * direction passed on as a half-close (close_notify towards the gateway, shutdown(SHUT_WR) or
 * closing stdout towards the local side). No byte is read from a side whose buffer is full, so
 * a slow reader slows the writer instead of growing memory. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lib/buf.h"
#include "lib/str.h"

#define TUN_BUF (64 * 1024)
#define TUN_HEAD_MAX (16 * 1024)

typedef struct tun_args {
    zta_ctx ctx;
    char host[256];
    unsigned port;
    char app[300]; /* host:port as the gateway knows the app */
} tun_args;

/* ---- CONNECT ---- */

typedef enum connect_result { CR_OPEN, CR_SIGN_IN, CR_REFUSED, CR_ERROR } connect_result;

/* Reads the answer head byte by byte up to its blank line, so not one tunnel byte after it is
 * taken from the TLS stream. */
static int read_head(SSL *ssl, char *head, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n + 1 < cap) {
        size_t r = 0;
        if (SSL_read_ex(ssl, head + n, 1, &r) != 1)
            return -1;
        n++;
        if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0) {
            head[n] = '\0';
            *len = n;
            return 0;
        }
    }
    return -1;
}

/* Tells the user why the gateway refused, in its own words when it gave them. */
static void report_refusal(int status, const char *body, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, n, 0, &jerr);
    const char *error = json_string_value(json_object_get(j, "error"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    const char *message = json_string_value(json_object_get(j, "message"));
    const char *policy = json_string_value(json_object_get(j, "policy"));
    const char *why = reason != NULL && reason[0] != '\0' ? reason : message;
    fprintf(stderr, "ztagent: the gateway refused the tunnel (%d%s%.64s)%s%.300s%s%.128s\n", status,
            error ? " " : "", error ? error : "", why ? ": " : "", why ? why : "",
            policy && policy[0] ? ", policy " : "", policy && policy[0] ? policy : "");
    json_decref(j);
}

static connect_result send_connect(SSL *ssl, const tun_args *a, const char *token)
{
    zt_buf req;
    zt_buf_init(&req, 0);
    int rc = zt_buf_printf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ztagent/%s\r\n",
                           a->app, a->app, ZT_VERSION);
    if (rc == 0 && token != NULL)
        rc = zt_buf_printf(&req, "Proxy-Authorization: Bearer %s\r\n", token);
    rc = rc ? rc : zt_buf_append_str(&req, "\r\n");
    size_t w = 0;
    bool sent = rc == 0 && SSL_write_ex(ssl, req.data, req.len, &w) == 1 && w == req.len;
    if (req.data != NULL)
        memset(req.data, 0, req.len);
    zt_buf_dispose(&req);
    if (!sent) {
        fprintf(stderr, "ztagent: cannot send CONNECT to the gateway\n");
        return CR_ERROR;
    }
    char head[TUN_HEAD_MAX];
    size_t hl = 0;
    unsigned status = 0;
    size_t want = 0, got = 0;
    if (read_head(ssl, head, sizeof head, &hl) != 0 ||
        zta_connect_answer_parse(head, hl, &status, &want) != 0) {
        fprintf(stderr, "ztagent: the gateway's answer to CONNECT is not HTTP/1.1\n");
        return CR_ERROR;
    }
    if (status == 200)
        return CR_OPEN;
    char body[4096];
    if (want > sizeof body - 1)
        want = sizeof body - 1;
    while (got < want) {
        size_t r = 0;
        if (SSL_read_ex(ssl, body + got, want - got, &r) != 1)
            break;
        got += r;
    }
    body[got] = '\0';
    if (status == 407)
        return CR_SIGN_IN;
    report_refusal((int)status, body, got);
    return status == 403 ? CR_REFUSED : CR_ERROR;
}

/* One TLS connection with the tunnel open; signs in (once) when the gateway asks. */
static connect_result open_tunnel(tun_args *a, zta_conn *c)
{
    static pthread_mutex_t signin_mu = PTHREAD_MUTEX_INITIALIZER;
    zta_tls tls;
    zta_tls_files files;
    char err[512];
    if (zta_ctx_tls(&a->ctx, &tls, &files) != 0)
        return CR_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        char token[ZTA_TOKEN_LEN + 1] = "";
        bool have = zta_token_load(&a->ctx, token);
        if (zta_tls_connect(a->ctx.conf.server, &tls, c, err, sizeof err) != 0) {
            fprintf(stderr, "ztagent: %s\n", err);
            return CR_ERROR;
        }
        connect_result r = send_connect(c->ssl, a, have ? token : NULL);
        if (r != CR_SIGN_IN || attempt == 1) {
            memset(token, 0, sizeof token);
            if (r == CR_SIGN_IN)
                break;
            return r;
        }
        zta_conn_close(c);
        /* One sign-in at a time: parallel connections of --listen wait for the first. */
        pthread_mutex_lock(&signin_mu);
        char now_token[ZTA_TOKEN_LEN + 1];
        bool changed = zta_token_load(&a->ctx, now_token) && (!have || strcmp(now_token, token));
        memset(now_token, 0, sizeof now_token);
        memset(token, 0, sizeof token);
        int s = ZTA_EXIT_OK;
        if (!changed) {
            zta_token_forget(&a->ctx);
            s = zta_signin(&a->ctx, a->app);
        }
        pthread_mutex_unlock(&signin_mu);
        if (s != ZTA_EXIT_OK)
            return s == ZTA_EXIT_FAIL ? CR_REFUSED : CR_ERROR;
    }
    zta_conn_close(c);
    fprintf(stderr, "ztagent: the gateway still asks for a sign-in\n");
    return CR_REFUSED;
}

/* ---- the splice ---- */

typedef struct dir_buf {
    char data[TUN_BUF];
    size_t off, len;
} dir_buf;

typedef struct tun_splice {
    SSL *ssl;
    int net_fd, in_fd, out_fd;
    bool out_is_socket;
    dir_buf up, down; /* local -> gateway, gateway -> local */
    bool local_eof, net_eof, net_shut, out_shut;
    bool want_net_read, want_net_write, want_in, want_out;
    const char *fatal;
} tun_splice;

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void note_ssl_want(tun_splice *s, int err)
{
    if (err == SSL_ERROR_WANT_READ)
        s->want_net_read = true;
    else if (err == SSL_ERROR_WANT_WRITE)
        s->want_net_write = true;
}

/* gateway -> local. true when something moved. */
static bool step_down(tun_splice *s)
{
    bool moved = false;
    if (!s->net_eof && s->down.len == 0) {
        size_t r = 0;
        if (SSL_read_ex(s->ssl, s->down.data, TUN_BUF, &r) == 1) {
            s->down.off = 0;
            s->down.len = r;
            moved = true;
        } else {
            int e = SSL_get_error(s->ssl, 0);
            if (e == SSL_ERROR_ZERO_RETURN) {
                s->net_eof = true;
                moved = true;
            } else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                note_ssl_want(s, e);
            } else {
                s->fatal = "the gateway closed the tunnel";
            }
        }
    }
    if (s->down.len > 0) {
        ssize_t w = write(s->out_fd, s->down.data + s->down.off, s->down.len);
        if (w > 0) {
            s->down.off += (size_t)w;
            s->down.len -= (size_t)w;
            moved = true;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->want_out = true;
        } else if (w < 0 && errno != EINTR) {
            s->fatal = "the local side went away";
        }
    }
    if (s->net_eof && s->down.len == 0 && !s->out_shut) {
        if (s->out_is_socket)
            (void)shutdown(s->out_fd, SHUT_WR);
        else
            (void)close(s->out_fd);
        s->out_shut = true;
        moved = true;
    }
    return moved;
}

/* local -> gateway. true when something moved. */
static bool step_up(tun_splice *s)
{
    bool moved = false;
    if (!s->local_eof && s->up.len == 0) {
        ssize_t r = read(s->in_fd, s->up.data, TUN_BUF);
        if (r > 0) {
            s->up.off = 0;
            s->up.len = (size_t)r;
            moved = true;
        } else if (r == 0) {
            s->local_eof = true;
            moved = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->want_in = true;
        } else if (errno != EINTR) {
            s->local_eof = true; /* a reset local socket ends that direction */
            moved = true;
        }
    }
    if (s->up.len > 0) {
        size_t w = 0;
        if (SSL_write_ex(s->ssl, s->up.data + s->up.off, s->up.len, &w) == 1) {
            s->up.off += w;
            s->up.len -= w;
            moved = true;
        } else {
            int e = SSL_get_error(s->ssl, 0);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                note_ssl_want(s, e);
            else
                s->fatal = "the gateway closed the tunnel";
        }
    }
    if (s->local_eof && s->up.len == 0 && !s->net_shut) {
        int r = SSL_shutdown(s->ssl); /* close_notify: our half-close */
        if (r >= 0) {
            s->net_shut = true;
            moved = true;
        } else {
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                note_ssl_want(s, e);
            else
                s->net_shut = true;
        }
    }
    return moved;
}

static void wait_io(tun_splice *s)
{
    struct pollfd p[3];
    nfds_t n = 0;
    short net = (short)((s->want_net_read ? POLLIN : 0) | (s->want_net_write ? POLLOUT : 0));
    if (net != 0)
        p[n++] = (struct pollfd){.fd = s->net_fd, .events = net};
    if (s->want_in)
        p[n++] = (struct pollfd){.fd = s->in_fd, .events = POLLIN};
    if (s->want_out)
        p[n++] = (struct pollfd){.fd = s->out_fd, .events = POLLOUT};
    (void)poll(p, n, n > 0 ? -1 : 100);
}

/* Copies until both directions ended. 0, or -1 when the tunnel broke (message printed). */
static int run_splice(SSL *ssl, int net_fd, int in_fd, int out_fd, bool out_is_socket)
{
    tun_splice *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -1;
    *s = (tun_splice){.ssl = ssl,
                      .net_fd = net_fd,
                      .in_fd = in_fd,
                      .out_fd = out_fd,
                      .out_is_socket = out_is_socket};
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    set_nonblock(net_fd);
    set_nonblock(in_fd);
    set_nonblock(out_fd);
    while (s->fatal == NULL && !(s->out_shut && s->net_shut)) {
        s->want_net_read = s->want_net_write = s->want_in = s->want_out = false;
        bool moved = step_down(s);
        moved = step_up(s) || moved;
        if (!moved && s->fatal == NULL)
            wait_io(s);
    }
    int rc = 0;
    if (s->fatal != NULL) {
        fprintf(stderr, "ztagent: %s\n", s->fatal);
        rc = -1;
    }
    free(s);
    return rc;
}

/* ---- the two modes ---- */

static int tunnel_stdio(tun_args *a)
{
    zta_conn c;
    connect_result r = open_tunnel(a, &c);
    if (r != CR_OPEN)
        return r == CR_REFUSED ? ZTA_EXIT_FAIL : ZTA_EXIT_ERR;
    int rc = run_splice(c.ssl, c.fd, STDIN_FILENO, STDOUT_FILENO, false);
    zta_conn_close(&c);
    return rc == 0 ? ZTA_EXIT_OK : ZTA_EXIT_FAIL;
}

typedef struct conn_job {
    tun_args *a;
    int fd;
} conn_job;

static void *serve_one(void *arg)
{
    conn_job *j = arg;
    zta_conn c;
    if (open_tunnel(j->a, &c) == CR_OPEN) {
        (void)run_splice(c.ssl, c.fd, j->fd, j->fd, true);
        zta_conn_close(&c);
    }
    close(j->fd);
    free(j);
    return NULL;
}

static int tunnel_listen(tun_args *a, const char *spec)
{
    struct sockaddr_storage ss;
    unsigned len = 0;
    int r = zta_listen_parse(spec, &ss, &len);
    if (r != 0) {
        fprintf(stderr,
                r == -2 ? "ztagent: --listen %s: only a loopback address (127.0.0.1, [::1]); a "
                          "tunnel is its user's alone\n"
                        : "ztagent: --listen %s: expected 127.0.0.1:PORT or [::1]:PORT\n",
                spec);
        return ZTA_EXIT_ERR;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "ztagent: cannot listen on %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return ZTA_EXIT_ERR;
    }
    fprintf(stderr, "ztagent: listening on %s for %s\n", spec, a->app);
    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            fprintf(stderr, "ztagent: accept: %s\n", strerror(errno));
            close(fd);
            return ZTA_EXIT_ERR;
        }
        conn_job *j = malloc(sizeof(*j));
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (j == NULL) {
            close(cfd);
        } else {
            *j = (conn_job){a, cfd};
            if (pthread_create(&t, &attr, serve_one, j) != 0) {
                close(cfd);
                free(j);
            }
        }
        pthread_attr_destroy(&attr);
    }
}

int zta_cmd_tunnel(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"stdio", no_argument, NULL, 's'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *listen_spec = NULL;
    bool stdio_mode = false;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'l')
            listen_spec = optarg;
        else if (c == 's')
            stdio_mode = true;
        else
            return ZTA_EXIT_ERR;
    }
    if (optind != argc - 1 || stdio_mode == (listen_spec != NULL)) {
        fprintf(stderr, "usage: ztagent tunnel HOST[:PORT] (--stdio | --listen 127.0.0.1:PORT) "
                        "[--dir DIR]\n");
        return ZTA_EXIT_ERR;
    }
    static tun_args a; /* lives as long as the listening threads */
    if (!zta_parse_app(argv[optind], a.host, sizeof a.host, &a.port)) {
        fprintf(stderr, "ztagent: '%s' is not HOST[:PORT]\n", argv[optind]);
        return ZTA_EXIT_ERR;
    }
    snprintf(a.app, sizeof a.app, "%s:%u", a.host, a.port);
    if (listen_spec != NULL) {
        struct sockaddr_storage ss;
        unsigned len;
        if (zta_listen_parse(listen_spec, &ss, &len) == -2) {
            fprintf(stderr,
                    "ztagent: --listen %s: only a loopback address (127.0.0.1, [::1]); "
                    "a tunnel is its user's alone\n",
                    listen_spec);
            return ZTA_EXIT_ERR;
        }
    }
    if (zta_ctx_init(&a.ctx, dir) != 0 || zta_ctx_require_enrolled(&a.ctx) != 0)
        return ZTA_EXIT_ERR;
    signal(SIGPIPE, SIG_IGN); /* a closed local side is an error return, not a kill */
    return listen_spec != NULL ? tunnel_listen(&a, listen_spec) : tunnel_stdio(&a);
}
