/* Upstream connections: connect (with timeout), a per-loop keep-alive pool, the response
 * parser, and one retry on a fresh connection when a pooled one turns out to be closed before
 * it answered a bodiless request (the race every keep-alive proxy has to handle). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "lib/net.h"
#include "proxy/proxy_int.h"

static int up_on_message_begin(llhttp_t *p);
static int up_on_header_field(llhttp_t *p, const char *at, size_t n);
static int up_on_header_value(llhttp_t *p, const char *at, size_t n);
static int up_on_headers_complete(llhttp_t *p);
static int up_on_body(llhttp_t *p, const char *at, size_t n);
static int up_on_message_complete(llhttp_t *p);

static llhttp_settings_t response_settings = {
    .on_message_begin = up_on_message_begin,
    .on_header_field = up_on_header_field,
    .on_header_value = up_on_header_value,
    .on_headers_complete = up_on_headers_complete,
    .on_body = up_on_body,
    .on_message_complete = up_on_message_complete,
};

/* Upstream response heads get a generous fixed limit: the upstream is configured, not trusted
 * blindly, and a runaway header block must become a 502, not a memory spike. */
#define UP_MAX_HEAD_BYTES (64 * 1024)
#define UP_MAX_HEADERS 200

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static void idle_unlink(zt_upconn *up)
{
    zt_worker *w = up->w;
    if (up->prev != NULL)
        up->prev->next = up->next;
    else if (w->idle_up == up)
        w->idle_up = up->next;
    if (up->next != NULL)
        up->next->prev = up->prev;
    up->prev = up->next = NULL;
    w->n_idle_up--;
}

static void on_up_handle_closed(uv_handle_t *h)
{
    zt_upconn *up = h->data;
    if (--up->handles_open > 0)
        return;
    zt_worker *w = up->w;
    zt_buf_dispose(&up->out);
    zt_http_head_dispose(&up->head);
    zt_tls_conn_dispose(&up->tls);
    free(up);
    w->n_up--;
    zt_worker_maybe_done(w);
}

/* A TLS connection that ends in good order says so (close_notify, best effort: nothing waits
 * for it); OpenSSL would otherwise take its sessions for ones of a broken connection. */
static void up_tls_goodbye(zt_upconn *up)
{
    if (up->tls_ctx == NULL || !up->tls.handshake_done || up->wq_bytes > 0)
        return;
    zt_tls_shutdown(&up->tls);
    zt_buf *tmp = &up->w->tls_out;
    zt_buf_reset(tmp);
    if (zt_tls_take_output(&up->tls, tmp) == 0 && tmp->len > 0) {
        uv_buf_t b = uv_buf_init(tmp->data, (unsigned)tmp->len);
        (void)uv_try_write((uv_stream_t *)&up->tcp, &b, 1);
    }
    zt_buf_reset(tmp);
}

static void up_close(zt_upconn *up)
{
    if (up->state == US_CLOSING)
        return;
    if (up->state == US_IDLE || up->state == US_ACTIVE)
        up_tls_goodbye(up);
    if (up->state == US_IDLE)
        idle_unlink(up);
    up->state = US_CLOSING;
    up->client = NULL;
    uv_close((uv_handle_t *)&up->timer, on_up_handle_closed);
    uv_close((uv_handle_t *)&up->tcp, on_up_handle_closed);
}

void zt_upstream_abort(zt_upconn *up)
{
    if (up != NULL)
        up_close(up);
}

/* The upstream failed this request: tell the client side (which answers 502/504 or closes). */
static void up_fail(zt_upconn *up, int status, const char *detail)
{
    zt_conn *c = up->client;
    if (up->raw && c != NULL && c->state == CS_STREAM) {
        zt_stream_upstream_end(up, false); /* spliced: no page to answer with any more */
        return;
    }
    up_close(up);
    if (c != NULL)
        zt_conn_upstream_failed(c, status, detail);
}

/* ---- writes ------------------------------------------------------------------------------ */

typedef struct up_write_req {
    uv_write_t req;
    zt_upconn *up;
    size_t len;
    char data[];
} up_write_req;

static void on_up_written(uv_write_t *wr, int status)
{
    up_write_req *r = (up_write_req *)wr;
    zt_upconn *up = r->up;
    up->wq_bytes -= r->len;
    free(r);
    if (up->state == US_CLOSING)
        return;
    if (status < 0) {
        up_fail(up, 502, "writing to the upstream failed");
        return;
    }
    if (up->raw && up->client != NULL && up->client->state == CS_STREAM) {
        if (up->wq_bytes < ZT_WQ_LOW)
            zt_stream_upstream_drained(up);
        return;
    }
    /* The client side paused parsing the body while we were behind; let it go on. */
    if (up->client != NULL && up->wq_bytes < ZT_WQ_LOW)
        zt_conn_process(up->client);
}

void zt_upstream_send(zt_upconn *up, const char *data, size_t n)
{
    if (zt_buf_append(&up->out, data, n) < 0)
        up_fail(up, 502, "out of memory towards the upstream");
}

/* Bytes as they go on the wire (ciphertext on a TLS connection). */
static void up_write_raw(zt_upconn *up, const char *data, size_t n)
{
    if (up->wq_bytes == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&up->tcp, &b, 1);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
        } else if (w < 0 && w != UV_EAGAIN) {
            up_fail(up, 502, "writing to the upstream failed");
            return;
        }
    }
    if (n > 0) {
        up_write_req *r = malloc(sizeof(*r) + n);
        if (r == NULL) {
            up_fail(up, 502, "out of memory towards the upstream");
            return;
        }
        memcpy(r->data, data, n);
        r->up = up;
        r->len = n;
        uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
        if (uv_write(&r->req, (uv_stream_t *)&up->tcp, &b, 1, on_up_written) < 0) {
            free(r);
            up_fail(up, 502, "writing to the upstream failed");
            return;
        }
        up->wq_bytes += n;
    }
}

/* Handshake messages, records, alerts: whatever OpenSSL queued for the upstream. */
static void up_send_tls_output(zt_upconn *up)
{
    if (up->state == US_CLOSING || zt_tls_output_pending(&up->tls) == 0)
        return;
    zt_buf *tmp = &up->w->tls_out;
    zt_buf_reset(tmp);
    if (zt_tls_take_output(&up->tls, tmp) == 0)
        up_write_raw(up, tmp->data, tmp->len);
    zt_buf_reset(tmp);
}

void zt_upstream_flush(zt_upconn *up)
{
    if (up->state != US_ACTIVE || up->out.len == 0)
        return;
    if (up->shut_write) {
        /* Our side already ended (FIN, and close_notify over TLS): a late close frame or byte
         * has nowhere to go; it is not the upstream failing. */
        zt_buf_reset(&up->out);
        return;
    }
    if (up->tls_ctx == NULL) {
        up_write_raw(up, up->out.data, up->out.len);
        zt_buf_reset(&up->out);
        return;
    }
    int rc = zt_tls_write(&up->tls, up->out.data, up->out.len);
    zt_buf_reset(&up->out);
    if (rc < 0) {
        up_fail(up, 502, "encrypting for the upstream failed");
        return;
    }
    up_send_tls_output(up);
}

/* ---- timers ------------------------------------------------------------------------------ */

static void on_up_timeout(uv_timer_t *t)
{
    zt_upconn *up = t->data;
    switch (up->state) {
    case US_CONNECTING:
        up_fail(up, 504, "connecting to the upstream timed out");
        break;
    case US_HANDSHAKE:
        up_fail(up, 504, "the TLS handshake with the upstream timed out");
        break;
    case US_ACTIVE:
        up_fail(up, 504, "the upstream did not answer in time");
        break;
    case US_IDLE:
        up_close(up);
        break;
    default:
        break;
    }
}

void zt_upstream_start_response_timer(zt_upconn *up)
{
    if (up != NULL && up->client != NULL && up->client->req_active)
        uv_timer_start(&up->timer, on_up_timeout,
                       up->client->req.rt->cfg->timeouts.upstream_response_ms, 0);
}

/* ---- reads ------------------------------------------------------------------------------- */

static void up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    zt_upconn *up = h->data;
    *buf = uv_buf_init(up->w->readbuf, sizeof(up->w->readbuf));
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void up_read_start(zt_upconn *up)
{
    if (!up->reading && up->state != US_CLOSING &&
        uv_read_start((uv_stream_t *)&up->tcp, up_alloc, on_up_read) == 0)
        up->reading = true;
}

void zt_upstream_pause(zt_upconn *up)
{
    if (up->reading) {
        uv_read_stop((uv_stream_t *)&up->tcp);
        up->reading = false;
    }
}

void zt_upstream_resume(zt_upconn *up)
{
    up_read_start(up);
}

static void up_send_head(zt_upconn *up);
static void up_connect(zt_conn *c, const struct sockaddr_storage *addr, SSL_CTX *tls_ctx);
static void up_tls_failed(zt_upconn *up, const char *why);

/* A pooled connection closed before answering: resend once on a new connection when nothing
 * of the request body has gone out (otherwise it cannot be replayed). */
static bool up_try_retry(zt_upconn *up)
{
    zt_conn *c = up->client;
    if (c == NULL || !up->reused || up->got_bytes || c->req.retried || c->req.bytes_in > 0 ||
        c->head.body != ZT_BODY_NONE)
        return false;
    c->req.retried = true;
    struct sockaddr_storage addr = up->addr;
    SSL_CTX *tls_ctx = up->tls_ctx;
    up->client = NULL;
    c->up = NULL;
    up_close(up);
    up_connect(c, &addr, tls_ctx);
    return true;
}

static void up_on_eof(zt_upconn *up, ssize_t err)
{
    if (up->state == US_HANDSHAKE) {
        up_tls_failed(up, "the upstream closed the connection during the TLS handshake");
        return;
    }
    if (up->raw && up->client != NULL && up->client->state == CS_STREAM) {
        zt_upstream_pause(up);
        zt_stream_upstream_end(up, err == UV_EOF);
        return;
    }
    if (up->state == US_IDLE) {
        up_close(up);
        return;
    }
    if (up->client == NULL) {
        up_close(up);
        return;
    }
    if (err == UV_EOF && up->resp_head_ok && up->head.body == ZT_BODY_UNTIL_EOF) {
        llhttp_finish(&up->parser); /* close-delimited body ends here */
        if (up->resp_complete && up->client != NULL) {
            zt_conn *c = up->client;
            zt_conn_response_done(c);
            return;
        }
    }
    if (up_try_retry(up))
        return;
    up_fail(up, 502,
            up->got_bytes ? "the upstream closed the connection mid-response"
                          : "the upstream closed the connection without answering");
}

static void up_tls_input(zt_upconn *up, const char *data, size_t n);

/* Response bytes (plaintext) from the upstream. */
static void up_input(zt_upconn *up, const char *data, size_t nread)
{
    if (up->state != US_ACTIVE || up->client == NULL) {
        up_close(up); /* bytes nobody asked for: this connection cannot be trusted any more */
        return;
    }
    zt_conn *c = up->client;
    up->got_bytes = true;
    if (up->raw) {
        if (c->state == CS_STREAM)
            zt_stream_upstream_input(up, data, nread);
        else
            up_close(up); /* a tunnel's target spoke before the 200: nothing to tell it to */
        return;
    }
    zt_upstream_start_response_timer(up);
    zt_http_head_on_input(&up->head, data, nread);
    llhttp_errno_t err = llhttp_execute(&up->parser, data, nread);
    if (up->state == US_CLOSING || up->client == NULL)
        return;
    if (err == HPE_PAUSED_UPGRADE && up->head.done && up->head.status == 101) {
        const char *rest = llhttp_get_error_pos(&up->parser);
        zt_ws_switched(c, up, rest, (size_t)(data + nread - rest));
        return;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
        const char *why = up->head.error ? up->head.error : llhttp_get_error_reason(&up->parser);
        zt_warn("request %s: invalid response from upstream %s: %s", c->req.id,
                c->req.app ? c->req.app->upstream.host_header : "?", why ? why : "parse error");
        up_fail(up, 502, "the upstream sent an invalid response");
        return;
    }
    if (err == HPE_PAUSED) {
        const char *end = llhttp_get_error_pos(&up->parser);
        if (end != data + nread || (up->tls_ctx != NULL && zt_tls_has_pending(&up->tls)))
            up->served = UINT32_MAX / 2; /* extra bytes after the response: do not reuse */
    }
    if (up->resp_complete) {
        zt_conn_response_done(c);
        return;
    }
    zt_conn_flush(c);
    if (c->state != CS_CLOSING && c->wq_bytes + c->out.len > ZT_WQ_HIGH)
        zt_upstream_pause(up); /* the client is slower: stop reading until it drains */
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    zt_upconn *up = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* Over TLS, an EOF without close_notify is a truncation, not an orderly end. */
        if (nread == UV_EOF && up->tls_ctx != NULL && up->tls.handshake_done &&
            !zt_tls_peer_closed(&up->tls))
            nread = UV_ECONNRESET;
        up_on_eof(up, nread);
        return;
    }
    if (up->tls_ctx != NULL)
        up_tls_input(up, buf->base, (size_t)nread);
    else
        up_input(up, buf->base, (size_t)nread);
}

/* ---- response parser callbacks ----------------------------------------------------------- */

static zt_upconn *up_of(llhttp_t *p)
{
    return p->data;
}

static int up_on_message_begin(llhttp_t *p)
{
    zt_http_head_reset(&up_of(p)->head);
    return 0;
}

static int up_on_header_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&up_of(p)->head, at, n) < 0 ? HPE_USER : 0;
}

static int up_on_header_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&up_of(p)->head, at, n) < 0 ? HPE_USER : 0;
}

static int up_on_headers_complete(llhttp_t *p)
{
    zt_upconn *up = up_of(p);
    if (up->client == NULL || zt_http_head_complete(&up->head, p) < 0)
        return -1;
    int status = up->head.status;
    if (status == 101) {
        /* Only the answer to our WebSocket upgrade, checked against its key (ws.c); on_up_read
         * then hands the connection over once llhttp stops after the head. */
        up->head.error = zt_ws_switch_check(up->client, &up->head);
        return up->head.error != NULL ? -1 : 0;
    }
    if (status >= 100 && status < 200)
        return 1; /* interim response (100, 103): bodiless, not forwarded */
    if (up->client->req.websocket)
        up->served = UINT32_MAX / 2; /* asked to switch and did not: never carries another
                                      * request (an app or proxy that tunnels anyway would) */
    up->resp_head_ok = true;
    zt_conn_response_head(up->client, up);
    /* Bodiless per status or because we asked with HEAD: llhttp must not read a body that
     * Content-Length announces. */
    return up->client->req.head_method || up->head.body == ZT_BODY_NONE ? 1 : 0;
}

static int up_on_body(llhttp_t *p, const char *at, size_t n)
{
    zt_upconn *up = up_of(p);
    if (up->client != NULL && up->resp_head_ok)
        zt_conn_response_body(up->client, at, n);
    return 0;
}

static int up_on_message_complete(llhttp_t *p)
{
    zt_upconn *up = up_of(p);
    if (!up->resp_head_ok)
        return 0; /* end of an interim response; the final one follows */
    up->resp_complete = true;
    return HPE_PAUSED;
}

/* ---- attach, connect, release ------------------------------------------------------------ */

static void up_reset_for_request(zt_upconn *up, zt_conn *c)
{
    up->client = c;
    c->up = up;
    up->got_bytes = false;
    up->resp_head_ok = false;
    up->resp_complete = false;
    zt_http_head_reset(&up->head);
    llhttp_init(&up->parser, HTTP_RESPONSE, &response_settings);
    up->parser.data = up;
}

static void up_send_head(zt_upconn *up)
{
    zt_conn *c = up->client;
    if (zt_conn_build_upstream_head(c, &up->out) < 0) {
        up_fail(up, 502, "the request head could not be built");
        return;
    }
    zt_upstream_flush(up);
    if (up->state == US_ACTIVE && up->client != NULL)
        zt_conn_upstream_ready(c);
}

/* ---- TLS to https:// upstreams ----------------------------------------------------------- */

/* The refusal is audited like a decision: who asked for which app, and why the upstream could
 * not be trusted (the 502 is held until the record is written). */
static void up_audit_tls_failure(zt_conn *c, const zt_upconn *up, const char *why)
{
    zt_server *srv = c->w->server;
    zt_request *r = &c->req;
    if (srv->audit == NULL || !c->req_active)
        return;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_HTTP_ACTIVITY,
                   zt_event_http_activity(llhttp_method_name((llhttp_method_t)c->head.method)),
                   ZT_SEV_MEDIUM);
    zt_event_status(&ev, ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", "upstream TLS failed");
    zt_event_str(&ev, "src_endpoint.ip", r->client_ip[0] ? r->client_ip : c->ip);
    zt_event_strn(&ev, "http_request.url.hostname", c->head.host.p, c->head.host.n);
    if (r->target.path != NULL)
        zt_event_strn(&ev, "http_request.url.path", r->target.path, r->target.path_len);
    zt_event_str(&ev, "app.name", r->app ? r->app->name : NULL);
    if (r->user_id != NULL)
        zt_event_str(&ev, "actor.user.uid", r->user_id);
    if (r->app != NULL)
        zt_event_str(&ev, "dst_endpoint.hostname", r->app->upstream.host);
    char ip[ZT_IP_STRLEN];
    zt_sockaddr_ip((const struct sockaddr *)&up->addr, ip);
    zt_event_str(&ev, "dst_endpoint.ip", ip);
    zt_event_uint(&ev, "dst_endpoint.port",
                  (uint64_t)zt_sockaddr_port((const struct sockaddr *)&up->addr));
    zt_event_str(&ev, "upstream.tls.error", why);
    zt_event_metadata(&ev, r->id, NULL);
    if (zt_event_end(&ev) < 0)
        return;
    uint64_t ticket = zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len);
    if (ticket > 0) {
        c->hold_seq = ticket;
        c->w->audit_owed = true;
    }
}

/* Never a retry in the clear: the request fails with the reason on the 502 page. */
static void up_tls_failed(zt_upconn *up, const char *why)
{
    zt_conn *c = up->client;
    char detail[320];
    snprintf(detail, sizeof(detail), "TLS with the upstream failed: %s", why);
    if (c == NULL || !c->req_active) {
        up_fail(up, 502, "TLS with the upstream failed");
        return;
    }
    zt_warn("request %s: %s (%s)", c->req.id, detail,
            c->req.app ? c->req.app->upstream.host_header : "?");
    up_audit_tls_failure(c, up, why);
    const char *kept = zt_arena_strdup(&c->req.arena, detail);
    up_fail(up, 502, kept ? kept : "TLS with the upstream failed");
}

/* One step of the handshake; done: the request head goes out. */
static void up_tls_step(zt_upconn *up)
{
    char why[256] = "";
    int hs = zt_tls_client_handshake(&up->tls, why, sizeof(why));
    up_send_tls_output(up); /* the next flight, or the alert that ends it */
    if (up->state != US_HANDSHAKE)
        return;
    if (hs < 0) {
        zt_metric_upstream_tls(ZT_M_UPSTREAM_TLS_FAILED);
        up_tls_failed(up, why);
        return;
    }
    if (hs == 0)
        return;
    zt_metric_upstream_tls(zt_tls_resumed(&up->tls) ? ZT_M_UPSTREAM_TLS_RESUMED
                                                    : ZT_M_UPSTREAM_TLS_FULL);
    up->state = US_ACTIVE;
    uv_timer_stop(&up->timer);
    if (up->client == NULL) {
        up_close(up);
        return;
    }
    zt_debug("upstream %s: TLS %s%s", up->client->req.app ? up->client->req.app->name : "?",
             SSL_get_version(up->tls.ssl), zt_tls_resumed(&up->tls) ? " (resumed)" : "");
    up_send_head(up);
}

static void up_tls_start(zt_upconn *up)
{
    if (up->client == NULL) {
        up_close(up);
        return;
    }
    if (zt_tls_conn_init_client(&up->tls, up->tls_ctx) < 0) {
        up_fail(up, 502, "TLS to the upstream could not be set up");
        return;
    }
    up->state = US_HANDSHAKE; /* the upstream_connect timer keeps running */
    up_read_start(up);
    up_tls_step(up);
}

/* Ciphertext from the upstream: the handshake, then response bytes. Everything this read
 * decrypts is handled now (as a plain read is), so no plaintext waits inside OpenSSL for a
 * socket read that backpressure has stopped. */
static void up_tls_input(zt_upconn *up, const char *data, size_t n)
{
    if (zt_tls_feed(&up->tls, data, n) < 0) {
        up_fail(up, 502, "out of memory towards the upstream");
        return;
    }
    if (up->state == US_HANDSHAKE)
        up_tls_step(up);
    char *buf = up->w->readbuf; /* the ciphertext is in the BIO now */
    while (up->state == US_ACTIVE || up->state == US_IDLE) {
        zt_conn *c = up->client;
        int r = zt_tls_read(&up->tls, buf, ZT_READ_BUF);
        if (r == 0)
            break;
        if (r < 0) {
            /* close_notify is an orderly end; a broken record is not */
            up_on_eof(up, zt_tls_peer_closed(&up->tls) ? UV_EOF : UV_EPROTO);
            return;
        }
        up_input(up, buf, (size_t)r);
        if (up->client != c || up->client == NULL)
            break; /* the response ended; what follows is another request's or unwanted */
    }
    up_send_tls_output(up); /* post-handshake messages */
}

/* The client context of the request's app when its upstream is https://, else NULL; *bad when
 * an https:// app has none (cannot happen: the generation is refused without it). */
static SSL_CTX *up_tls_ctx_for(const zt_conn *c, bool *bad)
{
    *bad = false;
    const zt_app_cfg *app = c->req_active ? c->req.app : NULL;
    if (app == NULL || !app->upstream.tls)
        return NULL;
    const zt_runtime *rt = c->req.rt;
    size_t i = (size_t)(app - rt->cfg->apps);
    SSL_CTX *ctx = i < rt->cfg->n_apps && rt->up_tls != NULL ? rt->up_tls[i] : NULL;
    *bad = ctx == NULL;
    return ctx;
}

static void on_up_connected(uv_connect_t *req, int status)
{
    zt_upconn *up = req->data;
    if (up->state == US_CLOSING)
        return;
    if (status < 0) {
        zt_conn *c = up->client;
        char detail[128];
        snprintf(detail, sizeof(detail), "cannot connect to the upstream: %s", uv_strerror(status));
        if (c != NULL)
            zt_warn("request %s: %s (%s)", c->req.id, detail,
                    c->req.app ? c->req.app->upstream.host_header : "?");
        up_fail(up, 502, "cannot connect to the upstream");
        return;
    }
    uv_tcp_nodelay(&up->tcp, 1);
    if (up->tls_ctx != NULL) {
        up_tls_start(up);
        return;
    }
    up->state = US_ACTIVE;
    uv_timer_stop(&up->timer);
    if (up->client == NULL) {
        up_close(up);
        return;
    }
    if (up->tunnel) {
        /* Nothing to send: the tunnel's 200 goes out, then bytes flow (reading starts with
         * the stream, so none arrives before the 200 is queued). */
        zt_tunnel_connected(up->client);
        return;
    }
    up_read_start(up);
    up_send_head(up);
}

static void up_connect(zt_conn *c, const struct sockaddr_storage *addr, SSL_CTX *tls_ctx)
{
    zt_worker *w = c->w;
    zt_upconn *up = calloc(1, sizeof(*up));
    if (up == NULL) {
        zt_conn_upstream_failed(c, 502, "out of memory");
        return;
    }
    up->w = w;
    up->addr = *addr;
    up->tls_ctx = tls_ctx;
    up->state = US_CONNECTING;
    zt_buf_init(&up->out, 0);
    zt_http_head_init(&up->head, UP_MAX_HEAD_BYTES, UP_MAX_HEADERS);
    uv_tcp_init(&w->loop, &up->tcp);
    uv_timer_init(&w->loop, &up->timer);
    up->tcp.data = up->timer.data = up->connect_req.data = up;
    up->handles_open = 2;
    w->n_up++;
    up_reset_for_request(up, c);
    int rc =
        uv_tcp_connect(&up->connect_req, &up->tcp, (const struct sockaddr *)addr, on_up_connected);
    if (rc < 0) {
        up_fail(up, 502, "cannot connect to the upstream");
        return;
    }
    uv_timer_start(&up->timer, on_up_timeout, c->req.rt->cfg->timeouts.upstream_connect_ms, 0);
}

void zt_upstream_open(zt_conn *c, const struct sockaddr_storage *addr)
{
    up_connect(c, addr, NULL); /* a tunnel's target: plain TCP, the bytes are the client's */
    zt_upconn *up = c->up;
    if (up != NULL && up->state == US_CONNECTING) {
        up->tunnel = true;
        up->raw = true;
    }
}

void zt_upstream_raw(zt_upconn *up)
{
    up->raw = true;
    uv_timer_stop(&up->timer);
    up_read_start(up);
}

static void on_up_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* a failed half-close shows up as an error on the next read or write */
}

void zt_upstream_shutdown_write(zt_upconn *up)
{
    if (up->shut_write || up->state != US_ACTIVE)
        return;
    zt_upstream_flush(up); /* what was queued still goes, then the end */
    up->shut_write = true;
    if (up->tls_ctx != NULL && up->state == US_ACTIVE && zt_tls_shutdown(&up->tls) == 0)
        up_send_tls_output(up); /* TLS half-close: close_notify before the FIN */
    if (up->state == US_ACTIVE)
        uv_shutdown(&up->shutdown_req, (uv_stream_t *)&up->tcp, on_up_shutdown);
}

void zt_upstream_attach(zt_conn *c, const struct sockaddr_storage *addr)
{
    zt_worker *w = c->w;
    bool bad;
    SSL_CTX *tls_ctx = up_tls_ctx_for(c, &bad);
    if (bad) {
        zt_conn_upstream_failed(c, 502, "no TLS context for the upstream");
        return;
    }
    /* Same address and same TLS context (one per app and generation: SNI, CA and client
     * certificate included), so a connection is never lent to an app that would have
     * verified or identified itself differently. */
    for (zt_upconn *up = w->idle_up; up != NULL; up = up->next) {
        if (!same_addr(&up->addr, addr) || up->tls_ctx != tls_ctx)
            continue;
        idle_unlink(up);
        up->state = US_ACTIVE;
        up->reused = true;
        uv_timer_stop(&up->timer);
        up_reset_for_request(up, c);
        up_read_start(up);
        up_send_head(up);
        return;
    }
    up_connect(c, addr, tls_ctx);
}

void zt_upstream_release(zt_upconn *up, bool reusable)
{
    if (up == NULL)
        return;
    zt_worker *w = up->w;
    up->client = NULL;
    up->served++;
    uv_timer_stop(&up->timer);
    if (!reusable || up->raw || up->state != US_ACTIVE || up->wq_bytes > 0 || up->out.len > 0 ||
        w->stopping || up->served > 10000 || w->n_idle_up >= ZT_IDLE_UPSTREAMS_PER_WORKER) {
        up_close(up);
        return;
    }
    up->state = US_IDLE;
    up->reused = false;
    up->prev = NULL;
    up->next = w->idle_up;
    if (w->idle_up != NULL)
        w->idle_up->prev = up;
    w->idle_up = up;
    w->n_idle_up++;
    up_read_start(up); /* notice when the upstream closes it */
    uv_timer_start(&up->timer, on_up_timeout, w->rt->cfg->timeouts.keepalive_ms, 0);
}

void zt_upstream_close_idle(zt_worker *w)
{
    while (w->idle_up != NULL)
        up_close(w->idle_up);
}
