/* Client connections, the transport half: accept, TLS, input, the parser, backpressure,
 * timers, output (held until the request's audit record is written), the access log and the
 * connection's state machine. What a request is allowed to do is decided in pipeline.c.
 *
 *   bytes ─▶ pending ─▶ llhttp ─▶ head complete (parser paused, state dispatch)
 *         ─▶ zt_pipeline_dispatch (decide; forward via upstream.c, or answer)
 *         ─▶ body streamed upstream ─▶ response streamed back ─▶ access log ─▶ next request
 *
 * All input goes through `pending` and is parsed only while the connection may accept it, so
 * pipelined requests wait for the previous response and a slow side slows the other one down
 * (backpressure) instead of filling memory. Parser callbacks never resume the parser; the
 * loop in zt_conn_process does, after llhttp_execute returns. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "core/metrics.h"
#include "device/device.h"
#include "device/platform.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "http/pages.h"
#include "proxy/proxy_int.h"

static int on_message_begin(llhttp_t *p);
static int on_url(llhttp_t *p, const char *at, size_t n);
static int on_header_field(llhttp_t *p, const char *at, size_t n);
static int on_header_value(llhttp_t *p, const char *at, size_t n);
static int on_headers_complete(llhttp_t *p);
static int on_body(llhttp_t *p, const char *at, size_t n);
static int on_message_complete(llhttp_t *p);

static llhttp_settings_t request_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static const char *const state_names[] = {
#define ZT_CS_NAME(id, name) [id] = name,
    ZT_CONN_STATES(ZT_CS_NAME)
#undef ZT_CS_NAME
};

/* The moves a client connection may make; anything else is a bug in this file or in
 * pipeline.c. Every state may close; staying in a state is no move. A page answered while the
 * request is still in flight continues with the rest of its body or waits for its output. */
#define BIT(s) (1u << (s))
#define ANSWERED (BIT(CS_BODY) | BIT(CS_WAIT_RESPONSE))
static const unsigned allowed_next[] = {
    [CS_TLS_HANDSHAKE] = BIT(CS_IDLE),
    [CS_IDLE] = BIT(CS_HEAD) | ANSWERED,
    [CS_HEAD] = BIT(CS_DISPATCH) | ANSWERED,
    [CS_DISPATCH] = BIT(CS_AUDIT_WAIT) | BIT(CS_CONNECTING) | ANSWERED,
    [CS_AUDIT_WAIT] = BIT(CS_CONNECTING) | ANSWERED,
    [CS_CONNECTING] = BIT(CS_STREAM) | ANSWERED, /* a tunnel's target connected */
    [CS_BODY] = BIT(CS_LOCAL_RUN) | ANSWERED,
    [CS_WAIT_RESPONSE] = BIT(CS_IDLE) | BIT(CS_STREAM) | ANSWERED, /* after a validated 101 */
    [CS_LOCAL_RUN] = BIT(CS_LOCAL_WAIT) | BIT(CS_WAIT_RESPONSE),
    [CS_LOCAL_WAIT] = BIT(CS_WAIT_RESPONSE),
    [CS_STREAM] = 0, /* a stream only ever closes */
    [CS_CLOSING] = 0,
};
#undef ANSWERED
#undef BIT

bool zt_conn_transition_allowed(zt_conn_state from, zt_conn_state to)
{
    return from == to || (to == CS_CLOSING && from != CS_CLOSING) ||
           (allowed_next[from] & (1u << to)) != 0;
}

void zt_conn_set_state(zt_conn *c, zt_conn_state s)
{
    if (c->state == s)
        return;
    if (!zt_conn_transition_allowed(c->state, s)) {
        zt_error("conn %" PRIu64 ": illegal state transition %s -> %s", c->id,
                 state_names[c->state], state_names[s]);
        assert(!"illegal connection state transition");
    }
    if (zt_log_enabled(ZT_LOG_DEBUG))
        zt_debug("conn %" PRIu64 ": %s -> %s", c->id, state_names[c->state], state_names[s]);
    c->state = s;
}

const zt_config *zt_conn_cfg(const zt_conn *c)
{
    return c->req_active ? c->req.rt->cfg : c->w->rt->cfg;
}

/* ---- timers ------------------------------------------------------------------------------ */

static void on_conn_timeout(uv_timer_t *t);

static void conn_arm_timer(zt_conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, on_conn_timeout, ms, 0);
}

void zt_conn_arm_ms(zt_conn *c, uint64_t ms)
{
    conn_arm_timer(c, ms);
}

void zt_conn_arm_for_state(zt_conn *c)
{
    const zt_timeouts_cfg *to = &zt_conn_cfg(c)->timeouts;
    switch (c->state) {
    case CS_TLS_HANDSHAKE:
        /* A socket that never sends a byte is the cheapest way to hold a connection: it gets
         * first_byte, not the longer header_read. */
        conn_arm_timer(c, c->got_bytes ? to->header_read_ms : to->first_byte_ms);
        break;
    case CS_HEAD:
        conn_arm_timer(c, to->header_read_ms);
        break;
    case CS_IDLE:
        /* keepalive is for clients that were served; a new one must start its first request
         * within first_byte. */
        conn_arm_timer(c, c->n_requests > 0 ? to->keepalive_ms : to->first_byte_ms);
        break;
    case CS_BODY:
        conn_arm_timer(c, to->body_read_ms);
        break;
    case CS_AUDIT_WAIT:
        /* Part of reaching the upstream: a log that does not write the record in time means
         * 503, not a client waiting forever. */
        conn_arm_timer(c, to->upstream_connect_ms);
        break;
    default:
        uv_timer_stop(&c->timer); /* the upstream's timers govern these states */
        break;
    }
}

/* ---- output ------------------------------------------------------------------------------ */

typedef struct write_req {
    uv_write_t req;
    zt_conn *c;
    size_t len;
    char data[];
} write_req;

static void on_conn_written(uv_write_t *wr, int status)
{
    write_req *r = (write_req *)wr;
    zt_conn *c = r->c;
    c->wq_bytes -= r->len;
    free(r);
    if (status < 0 || c->state == CS_CLOSING)
        return;
    zt_conn_write_drained(c);
}

static void conn_send_raw(zt_conn *c, const char *data, size_t n)
{
    if (n == 0 || c->state == CS_CLOSING)
        return;
    if (c->wq_bytes == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
        } else if (w < 0 && w != UV_EAGAIN) {
            zt_conn_close(c);
            return;
        }
        if (n == 0)
            return;
    }
    write_req *r = malloc(sizeof(*r) + n);
    if (r == NULL) {
        zt_conn_close(c);
        return;
    }
    memcpy(r->data, data, n);
    r->c = c;
    r->len = n;
    uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
    if (uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_conn_written) < 0) {
        free(r);
        zt_conn_close(c);
        return;
    }
    c->wq_bytes += n;
}

static void conn_send_tls_output(zt_conn *c)
{
    if (zt_tls_output_pending(&c->tls) == 0)
        return;
    zt_buf *tmp = &c->w->tls_out;
    zt_buf_reset(tmp);
    if (zt_tls_take_output(&c->tls, tmp) == 0)
        conn_send_raw(c, tmp->data, tmp->len);
    zt_buf_reset(tmp);
}

/* Where the audit record of the current decision is (no audit log, or none submitted: as
 * good as written). */
zt_audit_state zt_conn_audit_state(const zt_conn *c)
{
    zt_audit *audit = c->w->server->audit;
    if (audit == NULL || c->hold_seq == 0)
        return ZT_AUDIT_WRITTEN;
    return zt_audit_ticket_state(audit, c->hold_seq);
}

void zt_conn_audit_wait(zt_conn *c)
{
    if (c->audit_waiting)
        return;
    c->audit_waiting = true;
    c->audit_next = c->w->audit_waiters;
    c->w->audit_waiters = c;
}

/* The record of what is in c->out will never be written: that answer must not go out (fail
 * closed). The client gets a plain 503 instead and the connection ends; nothing of the held
 * answer has left, since output is held from its first byte. */
static void conn_audit_lost(zt_conn *c)
{
    static const char body[] = "503 Service Unavailable: the audit log cannot record this "
                               "request. Try again later.\n"
                               "監査ログに記録できないため、この要求には応答できません。"
                               "しばらくしてから再試行してください。\n";
    static const char json[] = "{\"error\":\"unavailable\",\"message\":\"the audit log cannot "
                               "record this request\"}\n";
    bool as_json = c->admin;
    zt_error("conn %" PRIu64 " from %s: the audit log failed before the record of this answer "
             "was written (%s); answering 503 instead",
             c->id, c->ip, zt_audit_failure(c->w->server->audit));
    c->hold_seq = 0;
    zt_buf_reset(&c->out);
    if (c->up != NULL) {
        zt_upconn *up = c->up;
        c->up = NULL;
        zt_upstream_abort(up);
    }
    zt_conn_read_stop(c);
    c->close_after_flush = true;
    c->last_request = true;
    if (c->req_active)
        c->req.resp_done = true;
    if (zt_buf_printf(&c->out,
                      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: %s\r\n"
                      "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
                      "%s",
                      as_json ? "application/json" : "text/plain; charset=utf-8",
                      as_json ? sizeof(json) - 1 : sizeof(body) - 1, as_json ? json : body) < 0)
        zt_conn_close(c);
}

/* No response byte leaves before the audit record of its decision is written (an acknowledged
 * request is never missing from the log, even after kill -9). */
bool zt_conn_held_for_audit(zt_conn *c)
{
    switch (zt_conn_audit_state(c)) {
    case ZT_AUDIT_WRITTEN:
        return false;
    case ZT_AUDIT_PENDING:
        zt_conn_audit_wait(c);
        return true;
    case ZT_AUDIT_LOST:
        break;
    }
    if (zt_pipeline_fail_open(c)) {
        c->hold_seq = 0; /* fail_open: the answer goes out unaudited */
        return false;
    }
    conn_audit_lost(c);
    return false; /* c->out now holds the 503 */
}

void zt_conn_audit_written(zt_worker *w)
{
    zt_conn **link = &w->audit_waiters;
    while (*link != NULL) {
        zt_conn *c = *link;
        zt_audit_state st = c->state == CS_CLOSING ? ZT_AUDIT_LOST : zt_conn_audit_state(c);
        if (st == ZT_AUDIT_PENDING) {
            link = &c->audit_next;
            continue;
        }
        *link = c->audit_next;
        c->audit_waiting = false;
        c->audit_next = NULL;
        if (c->state == CS_CLOSING)
            continue;
        if (c->state == CS_AUDIT_WAIT) {
            zt_pipeline_audit_gate_done(c, st);
            continue;
        }
        zt_conn_flush(c);
        if (c->state != CS_CLOSING)
            zt_conn_write_drained(c);
    }
}

void zt_conn_flush(zt_conn *c)
{
    if (c->state == CS_CLOSING)
        return;
    if (c->out.len > 0 && zt_conn_held_for_audit(c))
        return;
    if (c->state == CS_CLOSING)
        return; /* the 503 for a lost record could not even be built */
    if (c->out.len > 0) {
        if (c->tls_on) {
            if (zt_tls_write(&c->tls, c->out.data, c->out.len) < 0) {
                zt_conn_close(c);
                return;
            }
        } else {
            conn_send_raw(c, c->out.data, c->out.len);
        }
        zt_buf_reset(&c->out);
    }
    if (c->state == CS_CLOSING)
        return;
    if (c->tls_on)
        conn_send_tls_output(c);
    if (c->state != CS_CLOSING && c->close_after_flush && c->wq_bytes == 0 &&
        (!c->req_active || c->req.resp_done || c->req.local_response))
        zt_conn_close(c);
}

void zt_conn_out(zt_conn *c, const char *data, size_t n)
{
    if (zt_buf_append(&c->out, data, n) < 0)
        zt_conn_close(c);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void audit_waiters_unlink(zt_conn *c)
{
    for (zt_conn **link = &c->w->audit_waiters; *link != NULL; link = &(*link)->audit_next) {
        if (*link == c) {
            *link = c->audit_next;
            break;
        }
    }
    c->audit_waiting = false;
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    zt_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    zt_worker *w = c->w;
    if (c->audit_waiting)
        audit_waiters_unlink(c);
    if (c->share_counted)
        zt_conn_share_release(w->server->share, (const struct sockaddr *)&c->peer);
    zt_buf_dispose(&c->pending);
    zt_buf_dispose(&c->out);
    zt_http_head_dispose(&c->head);
    zt_arena_dispose(&c->req.arena);
    if (c->tls_on)
        zt_tls_conn_dispose(&c->tls);
    zt_conn_pool_put(w, c);
    zt_metric_conn_close();
    zt_worker_conn_closed(w);
}

void zt_conn_request_end(zt_conn *c)
{
    if (!c->req_active)
        return;
    zt_runtime_release(c->req.rt);
    zt_arena arena = c->req.arena;
    zt_arena_reset(&arena);
    memset(&c->req, 0, sizeof(c->req));
    c->req.arena = arena;
    c->req_active = false;
}

void zt_conn_close(zt_conn *c)
{
    if (c->state == CS_CLOSING)
        return;
    bool handler_running = c->state == CS_LOCAL_WAIT;
    zt_conn_set_state(c, CS_CLOSING);
    if (c->stream != NULL)
        zt_stream_end(c); /* its Close record counts what was moved until now */
    if (c->up != NULL) {
        zt_upconn *up = c->up;
        c->up = NULL;
        zt_upstream_abort(up);
    }
    zt_local_detach(c, handler_running);
    zt_conn_request_end(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    zt_conn *c = h->data;
    *buf = uv_buf_init(c->w->readbuf, sizeof(c->w->readbuf));
}

static void conn_read_start(zt_conn *c)
{
    if (!c->reading && c->state != CS_CLOSING) {
        if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, on_conn_read) == 0)
            c->reading = true;
    }
}

void zt_conn_read_start(zt_conn *c)
{
    conn_read_start(c);
}

void zt_conn_read_stop(zt_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

bool zt_conn_peer_trusted(const zt_conn *c, const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_trusted_proxies; i++)
        if (zt_cidr_contains(&cfg->trusted_proxies[i], (const struct sockaddr *)&c->peer))
            return true;
    return false;
}

/* Refused connections are logged at most once a second per loop: a flood must not become a
 * flood of log lines. True when this refusal gets its line (*since: refusals it stands for). */
static bool conn_refusal_logged(zt_worker *w, unsigned *since)
{
    w->share_refused++;
    uint64_t now = zt_mono_us();
    if (w->share_warned_us != 0 && now - w->share_warned_us < 1000000)
        return false;
    *since = w->share_refused;
    w->share_warned_us = now;
    w->share_refused = 0;
    return true;
}

/* One address may hold only its share of the connections (a trusted proxy speaks for many
 * clients and is exempt). */
static bool conn_take_share(zt_conn *c, const zt_config *cfg)
{
    zt_worker *w = c->w;
    if (zt_conn_peer_trusted(c, cfg))
        return true;
    unsigned limit =
        zt_conn_share_limit(cfg->limits.max_connections, cfg->limits.max_connections_per_address);
    if (zt_conn_share_take(w->server->share, (const struct sockaddr *)&c->peer, limit)) {
        c->share_counted = true;
        return true;
    }
    unsigned n;
    if (conn_refusal_logged(w, &n))
        zt_warn("connection from %s refused: this address holds its share of %u connections "
                "(limits.max_connections_per_address); %u refused in this loop since the last "
                "warning",
                c->ip, limit, n);
    return false;
}

void zt_conn_accept(zt_listener *l)
{
    zt_worker *w = l->w;
    zt_server *srv = w->server;
    zt_conn *c = zt_conn_pool_get(w);
    if (c == NULL)
        return;
    c->w = w;
    c->listener = l->index;
    c->admin = l->index == w->rt->cfg->n_listeners;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->id = ++w->next_conn_id;
    zt_buf_init(&c->pending, 0);
    zt_buf_init(&c->out, 0);
    const zt_config *cfg = w->rt->cfg;
    zt_http_head_init(&c->head, cfg->limits.max_header_bytes, cfg->limits.max_headers);
    zt_arena_init(&c->req.arena, 4096, 0);
    llhttp_init(&c->parser, HTTP_REQUEST, &request_settings);
    c->parser.data = c;
    c->state = CS_IDLE; /* the initial state (or tls-handshake, below): no transition yet */
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    atomic_fetch_add(&srv->n_conns, 1);
    zt_metric_conn_open();

    if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&c->tcp) != 0) {
        zt_conn_close(c);
        return;
    }
    int len = sizeof(c->peer);
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len);
    zt_sockaddr_ip((const struct sockaddr *)&c->peer, c->ip);
    unsigned n;
    if (atomic_load(&srv->n_conns) > cfg->limits.max_connections) {
        if (conn_refusal_logged(w, &n))
            zt_warn("connection from %s refused: max_connections (%u) reached; %u refused in "
                    "this loop since the last warning",
                    c->ip, cfg->limits.max_connections, n);
        zt_conn_close(c);
        return;
    }
    if (!conn_take_share(c, cfg)) {
        zt_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    SSL_CTX *ctx = w->rt->tls[l->index];
    if (ctx != NULL) {
        if (zt_tls_conn_init(&c->tls, ctx) < 0) {
            zt_conn_close(c);
            return;
        }
        c->tls_on = true;
        c->state = CS_TLS_HANDSHAKE; /* still the initial state */
    }
    zt_conn_arm_for_state(c);
    conn_read_start(c);
}

void zt_conn_drain(zt_conn *c)
{
    c->draining = true;
    if (c->state == CS_IDLE && c->pending.len == 0 && !c->req_active)
        zt_conn_close(c);
}

/* ---- pages and the access log ------------------------------------------------------------ */

void zt_conn_access_log(zt_conn *c)
{
    zt_metric_request(c->req.status);
    if (!zt_access_enabled())
        return;
    zt_request *r = &c->req;
    zt_buf *b = &c->w->scratch;
    char ts[40];
    zt_rfc3339(zt_wall_us(), ts, sizeof(ts));
    zt_buf_reset(b);
    /* A head refused before it was complete has no method yet. */
    const char *method = c->head.done ? llhttp_method_name((llhttp_method_t)c->head.method) : "-";
    int rc = zt_buf_printf(b,
                           "{\"time\":\"%s\",\"conn_id\":%" PRIu64 ",\"request_id\":\"%s\","
                           "\"client_ip\":\"%s\",\"method\":",
                           ts, c->id, r->id, c->ip);
    rc = rc ? rc : zt_json_str(b, method, strlen(method));
    rc = rc ? rc : zt_buf_append_str(b, ",\"host\":");
    rc = rc ? rc : zt_json_str(b, c->head.host.p, c->head.host.n);
    rc = rc ? rc : zt_buf_append_str(b, ",\"path\":");
    if (rc == 0 && r->target.path != NULL)
        rc = zt_json_str(b, r->target.path, r->target.path_len);
    else if (rc == 0)
        rc = zt_json_str(b, c->head.url.p, c->head.url.n);
    rc = rc ? rc
            : zt_buf_printf(b,
                            ",\"status\":%d,\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
                            ",\"upstream\":",
                            r->status, r->bytes_in, r->bytes_out);
    const char *dest = r->app == NULL               ? NULL
                       : r->app->kind == ZT_APP_TCP ? r->app->target.host_header
                                                    : r->app->upstream.host_header;
    if (rc == 0 && dest != NULL && !r->local_response)
        rc = zt_json_str(b, dest, strlen(dest));
    else if (rc == 0)
        rc = zt_buf_append_str(b, "null");
    rc = rc ? rc : zt_buf_append_str(b, ",\"app\":");
    if (rc == 0 && r->app != NULL)
        rc = zt_json_str(b, r->app->name, strlen(r->app->name));
    else if (rc == 0)
        rc = zt_buf_append_str(b, "null");
    if (rc == 0 && r->email != NULL) {
        rc = zt_buf_append_str(b, ",\"user\":");
        rc = rc ? rc : zt_json_str(b, r->email, strlen(r->email));
    }
    if (rc == 0 && r->decision != NULL)
        rc = zt_buf_printf(b, ",\"decision\":\"%s\"", r->decision);
    if (rc == 0 && r->detail != NULL) {
        rc = zt_buf_append_str(b, ",\"error\":");
        rc = rc ? rc : zt_json_str(b, r->detail, strlen(r->detail));
    }
    rc = rc ? rc : zt_buf_printf(b, ",\"duration_us\":%" PRIu64 "}\n", zt_mono_us() - r->start_us);
    if (rc == 0)
        zt_access_append(&c->w->access, b->data, b->len);
}

void zt_conn_request_begin(zt_conn *c)
{
    if (c->req_active)
        return;
    zt_request *r = &c->req;
    zt_worker *w = c->w;
    r->rt = zt_runtime_acquire(w->rt);
    r->start_us = zt_mono_us();
    r->https = c->tls_on;
    snprintf(r->id, sizeof(r->id), "%s-%u-%" PRIx64, w->server->boot_id, w->id, ++w->next_req_id);
    c->req_active = true;
    c->n_requests++;
}

/* After a page: read on to the end of a bodiless request (so the next pipelined one parses),
 * or stop reading when the connection closes after the page. */
static void continue_after_answer(zt_conn *c)
{
    if (c->close_after_flush) {
        zt_conn_read_stop(c);
        return;
    }
    if (c->req.req_done) {
        zt_conn_set_state(c, CS_WAIT_RESPONSE);
        return;
    }
    zt_conn_read_body(c);
}

void zt_conn_read_body(zt_conn *c)
{
    zt_conn_set_state(c, CS_BODY);
    c->parser_paused = false;
    c->need_parse = true;
    llhttp_resume(&c->parser);
}

/* Answer with a ztgate page and end the request. A request whose body we have not read cannot
 * keep the connection: the unread bytes would be taken for the next request. */

void zt_conn_respond_page(zt_conn *c, int status, zt_msg title, zt_msg body, const char *detail)
{
    zt_conn_respond_page_ex(
        c, (zt_page){.status = status, .title = title, .body = body, .detail = detail});
}

/* pg carries status, title, body, detail and the optional block-page fields; the rest is
 * filled here. */
void zt_conn_respond_page_ex(zt_conn *c, zt_page pg)
{
    zt_conn_request_begin(c);
    zt_request *r = &c->req;
    int status = pg.status;
    const char *detail = pg.detail;
    bool body_pending = !r->req_done && c->head.body != ZT_BODY_NONE;
    bool keep = c->head.keep_alive && !body_pending && !c->draining && status < 500 &&
                status != 400 && status != 408 && status != 431 && status != 414;
    const zt_header *al = zt_http_head_find(&c->head, "Accept-Language");
    pg.request_id = r->id;
    pg.lang = al ? zt_lang_from_accept(al->value.p, al->value.n) : ZT_LANG_EN;
    pg.keep_alive = keep;
    pg.head_only = c->head.method == HTTP_HEAD;
    pg.https = r->https || c->tls_on;
    /* The admin listener speaks JSON only, errors included; elsewhere API clients get it. */
    const zt_header *accept = zt_http_head_find(&c->head, "Accept");
    const zt_header *mode = zt_http_head_find(&c->head, "Sec-Fetch-Mode");
    pg.json =
        c->admin || zt_page_wants_json(accept ? &accept->value : NULL, mode ? &mode->value : NULL);
    if (zt_page_render(&c->out, &pg) < 0) {
        zt_conn_close(c);
        return;
    }
    r->status = status;
    if (status >= 500)
        zt_warn("request %s from %s: %d %s", r->id, c->ip, status, detail ? detail : "");
    zt_conn_answered(c, keep, detail);
}

void zt_conn_answered(zt_conn *c, bool keep, const char *detail)
{
    zt_request *r = &c->req;
    r->detail = detail;
    r->local_response = true;
    r->resp_head_sent = true;
    r->resp_done = true;
    if (!keep)
        c->close_after_flush = true;
    if (!c->in_parser)
        continue_after_answer(c);
}

int zt_conn_build_upstream_head(zt_conn *c, zt_buf *out)
{
    zt_request *r = &c->req;
    const zt_app_cfg *app = r->app;
    const zt_config *cfg = r->rt->cfg;
    char host[512];
    size_t hn = c->head.host.n < sizeof(host) - 1 ? c->head.host.n : sizeof(host) - 1;
    memcpy(host, c->head.host.p, hn);
    host[hn] = '\0';
    const zt_header *orig_host = zt_http_head_find(&c->head, "Host");
    char orig[512];
    size_t on =
        orig_host ? (orig_host->value.n < sizeof(orig) - 1 ? orig_host->value.n : sizeof(orig) - 1)
                  : 0;
    if (on > 0)
        memcpy(orig, orig_host->value.p, on);
    orig[on] = '\0';

    size_t base_n = strlen(app->upstream.base_path);
    char *path = zt_arena_alloc(&r->arena, base_n + r->target.path_len + 1);
    if (path == NULL)
        return -ENOMEM;
    memcpy(path, app->upstream.base_path, base_n);
    memcpy(path + base_n, r->target.path, r->target.path_len + 1);

    zt_header extra[8] = {
        {ZT_SPAN_LIT("X-ZT-Request-Id"), {r->id, strlen(r->id)}},
    };
    unsigned n_extra = 1;
    /* Identity for the app: only what authentication set, never anything the client sent
     * (client X-ZT-* headers are dropped by zt_http_write_upstream_head). */
    if (r->user_id != NULL) {
        extra[n_extra++] = (zt_header){ZT_SPAN_LIT("X-ZT-User"), {r->user_id, strlen(r->user_id)}};
        extra[n_extra++] = (zt_header){ZT_SPAN_LIT("X-ZT-Email"), {r->email, strlen(r->email)}};
        extra[n_extra++] =
            (zt_header){ZT_SPAN_LIT("X-ZT-Groups"), {r->groups_csv, strlen(r->groups_csv)}};
        if (r->assertion != NULL)
            extra[n_extra++] =
                (zt_header){ZT_SPAN_LIT("X-ZT-Assertion"), {r->assertion, strlen(r->assertion)}};
        if (r->trust != NULL)
            extra[n_extra++] = (zt_header){ZT_SPAN_LIT("X-ZT-Trust"), {r->trust, strlen(r->trust)}};
        if (r->device_id != NULL)
            extra[n_extra++] =
                (zt_header){ZT_SPAN_LIT("X-ZT-Device"), {r->device_id, strlen(r->device_id)}};
        /* The app may enforce the restriction more finely; ztgate enforces it regardless. */
        if (r->restrict_flags != 0) {
            const char *rs = zt_pipeline_restrict_text(r->restrict_flags);
            extra[n_extra++] = (zt_header){ZT_SPAN_LIT("X-ZT-Restrict"), {rs, strlen(rs)}};
        }
    }
    zt_forward_ctx ctx = {
        .client_ip = c->ip,
        .peer_is_trusted = zt_conn_peer_trusted(c, cfg),
        .proto = c->tls_on ? "https" : "http",
        .host_header = app->preserve_host && on > 0 ? orig : app->upstream.host_header,
        .orig_host = on > 0 ? orig : host,
        .path = path,
        .query = r->target.query,
        .has_query = r->target.has_query,
        .extra = extra,
        .n_extra = n_extra,
        .body = r->up_body,
        .content_length = c->head.content_length,
        .websocket = r->websocket,
    };
    return zt_http_write_upstream_head(out, &c->head, &ctx);
}

void zt_conn_upstream_ready(zt_conn *c)
{
    zt_request *r = &c->req;
    if (c->head.expect_continue && !r->continue_sent) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        zt_conn_out(c, cont, sizeof(cont) - 1);
        r->continue_sent = true;
    }
    zt_conn_set_state(c, r->req_done ? CS_WAIT_RESPONSE : CS_BODY);
    zt_upstream_start_response_timer(c->up);
    if (!r->req_done) {
        c->parser_paused = false;
        c->need_parse = true;
        llhttp_resume(&c->parser);
    }
    zt_conn_arm_for_state(c);
    zt_conn_process(c);
}

void zt_conn_upstream_failed(zt_conn *c, int status, const char *detail)
{
    zt_request *r = &c->req;
    c->up = NULL;
    if (c->head.method == HTTP_CONNECT && c->state == CS_CONNECTING)
        zt_tunnel_failed(c, detail);
    if (c->in_parser) {
        /* Failed while streaming the body from inside the parser: nothing can be answered
         * in order any more. */
        r->detail = detail;
        zt_conn_close(c);
        return;
    }
    if (r->resp_head_sent) {
        /* Part of the response is out: the only honest signal left is closing. */
        zt_warn("request %s: upstream failed mid-response: %s", r->id, detail);
        r->detail = detail;
        zt_conn_access_log(c);
        zt_conn_close(c);
        return;
    }
    if (status == 504)
        zt_conn_respond_page(c, 504, MSG_TIMEOUT_TITLE, MSG_TIMEOUT_BODY, detail);
    else
        zt_conn_respond_page(c, 502, MSG_BAD_GATEWAY_TITLE, MSG_BAD_GATEWAY_BODY, detail);
    zt_conn_process(c);
}

/* ---- response from the upstream ---------------------------------------------------------- */

void zt_conn_response_head(zt_conn *c, zt_upconn *up)
{
    zt_request *r = &c->req;
    const zt_http_head *h = &up->head;
    if (zt_pipeline_refuse_download(c, h))
        return;
    bool client_11 = c->head.http_major == 1 && c->head.http_minor == 1;
    zt_body_kind kind = h->body;
    if (r->head_method) {
        kind = ZT_BODY_NONE;
    } else if (kind == ZT_BODY_CHUNKED || kind == ZT_BODY_UNTIL_EOF) {
        /* Re-frame: chunked for HTTP/1.1 clients, close-delimited for HTTP/1.0. */
        kind = client_11 ? ZT_BODY_CHUNKED : ZT_BODY_UNTIL_EOF;
    }
    r->client_body = kind;
    bool keep = c->head.keep_alive && !c->draining && !c->last_request && kind != ZT_BODY_UNTIL_EOF;
    if (!keep)
        c->close_after_flush = true;
    zt_response_ctx ctx = {
        .body = r->head_method && h->body == ZT_BODY_LENGTH ? ZT_BODY_LENGTH : kind,
        .content_length = h->content_length,
        .keep_alive = keep,
        .head_request = r->head_method,
    };
    r->status = h->status;
    r->resp_head_sent = true;
    if (zt_http_write_client_head(&c->out, h, &ctx) < 0)
        zt_conn_close(c);
}

void zt_conn_response_body(zt_conn *c, const char *at, size_t n)
{
    zt_request *r = &c->req;
    if (r->suppress_body)
        return;
    r->bytes_out += n;
    if (r->client_body == ZT_BODY_CHUNKED && zt_http_write_chunk_header(&c->out, n) < 0) {
        zt_conn_close(c);
        return;
    }
    zt_conn_out(c, at, n);
    if (r->client_body == ZT_BODY_CHUNKED)
        zt_conn_out(c, "\r\n", 2);
}

static void request_finish(zt_conn *c);

void zt_conn_response_done(zt_conn *c)
{
    zt_request *r = &c->req;
    if (r->client_body == ZT_BODY_CHUNKED && zt_http_write_chunk_end(&c->out) < 0) {
        zt_conn_close(c);
        return;
    }
    r->resp_done = true;
    zt_upconn *up = c->up;
    c->up = NULL;
    /* The upstream connection is reusable only when it finished both messages cleanly. */
    zt_upstream_release(up, r->req_done && llhttp_should_keep_alive(&up->parser));
    if (!r->req_done) {
        /* Answered before the body ended (e.g. an early 413): the rest of the body cannot be
         * told apart from a next request, so this connection ends with the response. */
        c->close_after_flush = true;
        zt_conn_read_stop(c);
    }
    zt_conn_flush(c);
    if (c->state != CS_CLOSING && r->req_done) {
        request_finish(c);
        zt_conn_process(c); /* pipelined requests already received */
    }
}

void zt_conn_write_drained(zt_conn *c)
{
    if (c->state == CS_STREAM) {
        zt_stream_client_drained(c);
        return;
    }
    if (c->close_after_flush && c->wq_bytes == 0 && (!c->req_active || c->req.resp_done)) {
        zt_conn_close(c);
        return;
    }
    if (c->up != NULL && c->wq_bytes < ZT_WQ_LOW)
        zt_upstream_resume(c->up);
}

/* ---- request completion and the next request -------------------------------------------- */

/* A keep-alive connection waiting for its next request holds no buffers, only its struct:
 * ten thousand idle clients then cost ~2 KiB each. What a busy connection frees here comes
 * straight back from malloc's caches on its next request. */
static void conn_shed_buffers(zt_conn *c)
{
    zt_arena_dispose(&c->req.arena);
    if (c->out.len == 0)
        zt_buf_dispose(&c->out);
    if (c->pending.len > 0)
        return; /* a pipelined request is waiting: keep its head's buffers too */
    zt_buf_dispose(&c->pending);
    zt_http_head_dispose(&c->head);
}

static void request_finish(zt_conn *c)
{
    zt_conn_access_log(c);
    bool keep = !c->close_after_flush && !c->draining && !c->last_request && c->state != CS_CLOSING;
    zt_http_head_reset(&c->head);
    zt_conn_request_end(c);
    if (!keep) {
        c->close_after_flush = true;
        zt_conn_flush(c);
        return;
    }
    zt_conn_set_state(c, CS_IDLE);
    conn_shed_buffers(c);
    llhttp_resume(&c->parser);
    c->parser_paused = false;
    zt_conn_arm_for_state(c);
}

/* ---- parsing ----------------------------------------------------------------------------- */

static zt_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int on_message_begin(llhttp_t *p)
{
    zt_conn *c = conn_of(p);
    zt_http_head_reset(&c->head);
    zt_conn_request_begin(c);
    if (c->state == CS_IDLE) {
        zt_conn_set_state(c, CS_HEAD);
        zt_conn_arm_for_state(c);
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_url(&conn_of(p)->head, at, n) < 0 ? HPE_USER : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&conn_of(p)->head, at, n) < 0 ? HPE_USER : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&conn_of(p)->head, at, n) < 0 ? HPE_USER : 0;
}

static int on_headers_complete(llhttp_t *p)
{
    zt_conn *c = conn_of(p);
    if (zt_http_head_complete(&c->head, p) < 0)
        return -1;
    /* We never switch protocols (Upgrade is hop-by-hop and not forwarded); llhttp stops
     * parsing after such a request, so the connection ends with its response. */
    if (p->upgrade)
        c->last_request = true;
    zt_conn_set_state(c, CS_DISPATCH);
    c->parser_paused = true;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    zt_conn *c = conn_of(p);
    zt_request *r = &c->req;
    r->bytes_in += n;
    uint64_t max_body = r->rt->cfg->limits.max_body_bytes;
    if (max_body != 0 && r->bytes_in > max_body) {
        c->head.error = "request body too large";
        c->head.error_status = 413;
        return HPE_USER;
    }
    if (c->local != NULL) {
        if (zt_local_body_append(c->local, at, n) < 0) {
            c->head.error = "request body too large for a gateway page";
            c->head.error_status = 413;
            return HPE_USER;
        }
        return 0;
    }
    if (c->up == NULL)
        return 0;
    if (r->up_body == ZT_BODY_CHUNKED) {
        char hdr[24];
        int hn = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        zt_upstream_send(c->up, hdr, (size_t)hn);
        zt_upstream_send(c->up, at, n);
        zt_upstream_send(c->up, "\r\n", 2);
    } else {
        zt_upstream_send(c->up, at, n);
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    zt_conn *c = conn_of(p);
    zt_request *r = &c->req;
    r->req_done = true;
    if (c->up != NULL && r->up_body == ZT_BODY_CHUNKED)
        zt_upstream_send(c->up, "0\r\n\r\n", 5);
    if (c->local != NULL && c->state != CS_LOCAL_WAIT)
        zt_conn_set_state(c, CS_LOCAL_RUN);
    else if (c->state == CS_BODY)
        zt_conn_set_state(c, CS_WAIT_RESPONSE);
    c->parser_paused = true;
    return HPE_PAUSED;
}

/* A malformed request: 400 (or the status the head collector chose) and close. */
static void conn_protocol_error(zt_conn *c, llhttp_errno_t err)
{
    const char *reason = c->head.error;
    int status = c->head.error_status ? c->head.error_status : 400;
    if (reason == NULL)
        reason = llhttp_get_error_reason(&c->parser);
    if (reason == NULL)
        reason = llhttp_errno_name(err);
    zt_info("conn %" PRIu64 " from %s: bad request (%d): %s", c->id, c->ip, status, reason);
    c->close_after_flush = true;
    zt_conn_read_stop(c);
    if (c->req_active && c->req.resp_head_sent) {
        zt_conn_close(c);
        return;
    }
    if (c->up != NULL) {
        zt_upconn *up = c->up;
        c->up = NULL;
        zt_upstream_abort(up);
    }
    if (c->local != NULL && c->state != CS_LOCAL_WAIT)
        zt_local_detach(c, false);
    zt_msg title = MSG_BAD_REQUEST_TITLE, body = MSG_BAD_REQUEST_BODY;
    if (status == 413 || status == 431 || status == 414) {
        title = MSG_TOO_LARGE_TITLE;
        body = MSG_TOO_LARGE_BODY;
    }
    zt_conn_respond_page(c, status, title, body, reason);
    zt_conn_access_log(c);
    zt_conn_flush(c);
}

/* Parse what is pending as far as the connection's state allows. */
static bool conn_parse_pending(zt_conn *c)
{
    const char *data = c->pending.data;
    c->in_parser = true;
    zt_http_head_on_input(&c->head, data, c->pending.len);
    llhttp_errno_t err = llhttp_execute(&c->parser, data, c->pending.len);
    c->in_parser = false;
    if (c->state == CS_CLOSING)
        return false;
    size_t used = c->pending.len;
    c->need_parse = false;
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
        if (err == HPE_PAUSED_UPGRADE)
            c->parser_paused = true; /* nothing after an upgrade request is parsed */
    } else if (err != HPE_OK) {
        conn_protocol_error(c, err);
        return false;
    }
    zt_buf_consume(&c->pending, used);
    return true;
}

static void conn_process_once(zt_conn *c);

void zt_conn_process(zt_conn *c)
{
    if (c->state == CS_STREAM) {
        zt_conn_flush(c); /* nothing to parse: the bytes belong to the stream */
        return;
    }
    if (c->in_process) {
        c->process_again = true;
        return;
    }
    c->in_process = true;
    do {
        c->process_again = false;
        conn_process_once(c);
    } while (c->process_again && c->state != CS_CLOSING);
    c->in_process = false;
}

static void conn_process_once(zt_conn *c)
{
    while (c->state != CS_CLOSING) {
        if (c->state == CS_DISPATCH) {
            zt_pipeline_dispatch(c);
            zt_conn_flush(c);
            if (c->state == CS_CLOSING)
                return;
            /* Still dispatching: the request was answered with a page and the connection
             * closes once the page is written (a request body was left unread). The write
             * may not have finished yet (a slow or busy peer): leave the loop for it instead
             * of dispatching the same request again. */
            if (c->state == CS_DISPATCH)
                break;
            continue;
        }
        if (c->state == CS_WAIT_RESPONSE && c->req_active && c->req.resp_done) {
            request_finish(c);
            continue;
        }
        if (c->state == CS_LOCAL_RUN) {
            /* The handler may answer at once (zt_conn_local_done) or later from this loop. */
            zt_conn_set_state(c, CS_LOCAL_WAIT); /* the handler owns c->local now */
            zt_local_run(c->local);
            zt_conn_flush(c);
            if (c->state == CS_CLOSING)
                return;
            continue;
        }
        if (c->parser_paused || (c->pending.len == 0 && !c->need_parse))
            break;
        if (c->state == CS_BODY && c->up != NULL && c->up->wq_bytes > ZT_WQ_HIGH)
            break; /* the upstream is slower than the client: wait for it to drain */
        if (!conn_parse_pending(c))
            return;
        if (c->state == CS_BODY)
            zt_conn_arm_for_state(c);
        if (c->up != NULL)
            zt_upstream_flush(c->up);
    }
    if (c->state == CS_CLOSING)
        return;
    zt_conn_flush(c);
    if (c->state == CS_CLOSING)
        return;
    bool want_input = c->pending.len < ZT_PENDING_HIGH && !c->close_after_flush &&
                      !(c->state == CS_BODY && c->up != NULL && c->up->wq_bytes > ZT_WQ_HIGH);
    if (want_input)
        conn_read_start(c);
    else if (!c->close_after_flush || c->wq_bytes == 0)
        zt_conn_read_stop(c);
}

/* ---- socket input ------------------------------------------------------------------------ */

static void conn_input_tls(zt_conn *c, const char *data, size_t n)
{
    if (zt_tls_feed(&c->tls, data, n) < 0) {
        zt_conn_close(c);
        return;
    }
    if (!c->tls.handshake_done) {
        int hs = zt_tls_handshake(&c->tls);
        conn_send_tls_output(c);
        if (hs < 0) {
            char refused[ZT_DEVICE_ID_LEN + 1];
            if (zt_device_tls_refused(c->tls.ssl, refused))
                zt_conn_audit_revoked_device(c, refused);
            zt_debug("conn %" PRIu64 " from %s: TLS handshake failed", c->id, c->ip);
            zt_conn_close(c);
            return;
        }
        if (hs == 0)
            return;
        /* A verified device certificate names the device for every request on this
         * connection; an invalid one already failed the handshake. */
        if (c->w->server->svc->devices != NULL)
            zt_device_tls_peer(c->tls.ssl, c->device_id);
        zt_conn_set_state(c, CS_IDLE);
        zt_conn_arm_for_state(c);
    }
    char *buf = c->w->readbuf; /* the ciphertext is already in the BIO */
    for (;;) {
        int r = zt_tls_read(&c->tls, buf, ZT_READ_BUF);
        if (r == 0)
            break;
        if (c->state == CS_STREAM) {
            /* Every plaintext byte decrypted goes on now: none waits inside the TLS object
             * for a socket read that backpressure may have stopped. */
            if (r > 0)
                zt_stream_client_input(c, buf, (size_t)r);
            else
                zt_stream_client_end(c, zt_tls_peer_closed(&c->tls));
            if (r < 0 || c->state != CS_STREAM)
                return;
            continue;
        }
        if (r < 0) {
            /* A tunnel's client may end its side before the 200 (all it had to send is in
             * pending): the stream passes that half-close on once it starts. */
            if (c->req_active && c->head.done && c->head.method == HTTP_CONNECT &&
                zt_tls_peer_closed(&c->tls)) {
                zt_conn_read_stop(c);
                return;
            }
            if (c->req_active && !c->req.resp_done && c->up != NULL)
                c->close_after_flush = true; /* let the response finish */
            else
                zt_conn_close(c);
            return;
        }
        if (zt_buf_append(&c->pending, buf, (size_t)r) < 0) {
            zt_conn_close(c);
            return;
        }
    }
    conn_send_tls_output(c); /* post-handshake messages, alerts */
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    zt_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        zt_conn_read_stop(c);
        if (c->state == CS_STREAM) {
            /* A TLS client ends with close_notify (seen by the read above); a bare EOF
             * without it is a truncation. */
            zt_stream_client_end(c, nread == UV_EOF && (!c->tls_on || zt_tls_peer_closed(&c->tls)));
            return;
        }
        /* EOF before anything (or between requests) is a normal goodbye. Mid-request the
         * client gave up: the upstream side is aborted too. */
        if (c->req_active && !c->req.resp_done && c->req.req_done && c->up != NULL &&
            nread == UV_EOF) {
            c->close_after_flush = true; /* half-closed after a full request: still answer */
            return;
        }
        zt_conn_close(c);
        return;
    }
    if (!c->got_bytes) {
        c->got_bytes = true;
        if (c->state == CS_TLS_HANDSHAKE)
            zt_conn_arm_for_state(c); /* first_byte is met: the handshake gets header_read */
    }
    if (c->tls_on) {
        conn_input_tls(c, buf->base, (size_t)nread);
        if (c->state == CS_CLOSING || c->state == CS_TLS_HANDSHAKE || c->state == CS_STREAM)
            return;
    } else if (c->state == CS_STREAM) {
        zt_stream_client_input(c, buf->base, (size_t)nread);
        return;
    } else if (zt_buf_append(&c->pending, buf->base, (size_t)nread) < 0) {
        zt_conn_close(c);
        return;
    }
    if (c->state == CS_IDLE && c->pending.len > 0) {
        /* The header timer runs from the first byte of a request: a slowloris client cannot
         * keep a connection by trickling bytes. */
        zt_conn_set_state(c, CS_HEAD);
        zt_conn_arm_for_state(c);
    }
    zt_conn_process(c);
}

static void on_conn_timeout(uv_timer_t *t)
{
    zt_conn *c = t->data;
    switch (c->state) {
    case CS_IDLE:
    case CS_TLS_HANDSHAKE:
        zt_conn_close(c);
        break;
    case CS_AUDIT_WAIT:
        if (c->audit_waiting)
            audit_waiters_unlink(c);
        zt_pipeline_audit_gate_refuse(c,
                                      "the audit log did not write this request's record in time");
        if (c->state != CS_CLOSING)
            zt_conn_process(c);
        break;
    case CS_STREAM:
        zt_stream_timeout(c);
        break;
    case CS_HEAD:
    case CS_BODY:
        zt_info("conn %" PRIu64 " from %s: %s timed out", c->id, c->ip,
                c->state == CS_HEAD ? "request head" : "request body");
        if (c->req_active && c->req.resp_head_sent) {
            zt_conn_close(c);
            return;
        }
        zt_conn_read_stop(c);
        if (c->up != NULL) {
            zt_upconn *up = c->up;
            c->up = NULL;
            zt_upstream_abort(up);
        }
        c->close_after_flush = true;
        zt_conn_respond_page(c, 408, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                             c->state == CS_HEAD ? "request head not received in time"
                                                 : "request body not received in time");
        zt_conn_access_log(c);
        zt_conn_flush(c);
        break;
    default:
        break;
    }
}
