/* Streams: a client connection spliced to its upstream once the request turned into a
 * WebSocket (after the upstream's 101) or a tunnel (CONNECT, after the target connected).
 *
 *   client ─▶ zt_stream_client_input ─▶ upstream socket     (backpressure: ZT_WQ_HIGH/LOW)
 *   client ◀─ zt_stream_upstream_input ◀─ upstream socket
 *
 * Bytes are copied as they are (the websocket kind watches frame boundaries through its ops,
 * never changing a byte); an EOF on one side is passed on as a half-close and the stream ends
 * when both sides ended. The decision that let the stream open is not a one-time thing: one
 * timer per loop (250 ms, running only while a stream is open) re-evaluates streams whose
 * inputs moved — the revocation counter, the device epoch, the feeds snapshot, the config
 * generation, a session or sign-in-frequency deadline, a 60 s heartbeat — with the same
 * Conditional Access decision a request gets, and closes them (policy close 1008) when it no
 * longer allows. Every stream has an OCSF Network Activity Open and Close record. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "audit/event.h"
#include "core/metrics.h"
#include "device/device.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "proxy/proxy_int.h"
#include "proxy/ws.h"
#include "risk/feeds.h"
#include "session/session.h"

#define EVAL_TICK_MS 250
#define EVAL_HEARTBEAT_MS (60 * 1000)
#define EVAL_BUDGET 2000         /* re-evaluations per tick; the rest wait for the next */
#define EVAL_STORE_GRACE_MS 3000 /* the session store may fail this long before we close */
#define STREAM_HEADERS_MAX 8     /* kept request headers (device binding, platform) */
#define STREAM_HEADER_BYTES 8192 /* their bytes; beyond that they are not kept */

struct zt_stream {
    zt_stream_kind kind;
    const zt_stream_ops *ops;
    zt_conn *c;
    zt_stream *prev, *next; /* the worker's list */
    zt_runtime *rt;         /* own reference; moved to the loop's current one at re-evaluation */
    uint64_t seen_gen;
    char app[128];
    zt_app_kind app_kind;
    char req_id[40];
    char sid_hash[ZT_SESSION_HASH_LEN + 1]; /* "" = anonymous (public app) */
    char session_host[256];
    char user_id[33];
    char email[255];
    char device_id[ZT_DEVICE_ID_LEN + 1]; /* the device the decision saw ("" none) */
    char dst[300];                        /* the upstream or target, for the records */
    char *up_url;                         /* the app's upstream URL as written (reload check) */
    char *ws_origin, *ws_host;            /* the handshake's Origin and Host values (NULL: none) */
    struct sockaddr_storage client_addr;
    char client_ip[ZT_IP_STRLEN];
    bool https;
    zt_client_type client;
    zt_header hdrs[STREAM_HEADERS_MAX]; /* spans into hdr_mem */
    unsigned n_hdrs;
    char *hdr_mem;
    int64_t deadline; /* Unix seconds: re-evaluate then (0: at the next tick) */
    uint64_t next_beat_ms, last_io_ms, idle_ms, error_since_ms;
    uint64_t opened_us, opened_wall_us;
    uint64_t bytes_up, bytes_down;
    bool dirty, moved, client_eof, up_eof, closing, client_paused, client_shut;
    const char *close_reason;
    char reason_buf[192];
    _Alignas(16) unsigned char kind_state[ZT_STREAM_KIND_STATE];
};

void *zt_stream_kind_state(zt_stream *s)
{
    return s != NULL ? s->kind_state : NULL;
}

zt_conn *zt_stream_conn(zt_stream *s)
{
    return s->c;
}

static const char *kind_name(zt_stream_kind k)
{
    return k == ZT_STREAM_WS ? "websocket" : "tunnel";
}

static uint64_t loop_ms(const zt_worker *w)
{
    return uv_now((uv_loop_t *)&w->loop);
}

static void set_reason(zt_stream *s, const char *reason)
{
    if (s->close_reason != NULL)
        return; /* the first cause is the one recorded */
    snprintf(s->reason_buf, sizeof(s->reason_buf), "%s", reason ? reason : "closed");
    s->close_reason = s->reason_buf;
}

/* ---- the verdict ------------------------------------------------------------------------ */

zt_stream_verdict zt_stream_verdict_of(const zt_stream_facts *f, char *buf, size_t cap)
{
    zt_stream_verdict v = {.keep = true, .reason = NULL, .ws_code = 1008};
    const char *policy = f->policy ? f->policy : "?";
    switch ((zt_session_status)f->session_status) {
    case ZT_SESSION_VALID:
    case ZT_SESSION_ERROR: /* the caller retries, then fails closed */
        break;
    case ZT_SESSION_REVOKED:
        return (zt_stream_verdict){false, "session revoked or user disabled", 1008};
    case ZT_SESSION_EXPIRED:
        return (zt_stream_verdict){false, "session expired", 1008};
    default:
        return (zt_stream_verdict){false, "session ended (signed out or revoked)", 1008};
    }
    if (!f->app_ok)
        return (zt_stream_verdict){
            false, f->app_change ? f->app_change : "app removed by config reload", 1008};
    if (f->outcome == ZT_OUTCOME_BLOCK) {
        snprintf(buf, cap, "blocked by policy %s", policy);
        v.keep = false;
    } else if (f->outcome == ZT_OUTCOME_CHALLENGE && f->reauth_required) {
        /* every_time is checked when a stream opens only (a live SSH session would end after
         * a minute otherwise); a finite frequency ends the stream when it runs out, also when
         * an every_time policy applies beside it. */
        if (!f->frequency_every_time || f->finite_frequency_out) {
            snprintf(buf, cap, "sign-in frequency of policy %s", policy);
            v.keep = false;
        }
    } else if (f->outcome == ZT_OUTCOME_CHALLENGE) {
        snprintf(buf, cap, "policy %s requires %s", policy, f->control ? f->control : "?");
        v.keep = false;
    } else if (f->restrict_flags != 0) {
        /* A stream carries arbitrary bytes: read_only and no_download cannot be enforced. */
        snprintf(buf, cap, "policy %s restricts the session", policy);
        v.keep = false;
    }
    if (!v.keep)
        v.reason = buf;
    return v;
}

/* ---- audit records ---------------------------------------------------------------------- */

static void event_common(zt_stream *s, zt_event *ev)
{
    zt_event_str(ev, "src_endpoint.ip", s->client_ip);
    zt_event_uint(ev, "src_endpoint.port",
                  (uint64_t)zt_sockaddr_port((const struct sockaddr *)&s->c->peer));
    zt_event_str(ev, "dst_endpoint.name", s->dst);
    zt_event_str(ev, "connection_info.protocol_name", kind_name(s->kind));
    zt_event_str(ev, "app.name", s->app);
    if (s->user_id[0] != '\0') {
        zt_event_str(ev, "actor.user.uid", s->user_id);
        zt_event_str(ev, "actor.user.email_addr", s->email);
    }
    if (s->device_id[0] != '\0')
        zt_event_str(ev, "device.uid", s->device_id);
}

/* The Open record: false when it could not be queued and the stream must not open. */
static bool audit_open(zt_stream *s)
{
    zt_conn *c = s->c;
    zt_server *srv = c->w->server;
    if (srv->audit == NULL)
        return true;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_NETWORK_ACTIVITY, ZT_ACT_NET_OPEN, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", "stream opened");
    event_common(s, &ev);
    zt_event_metadata(&ev, s->req_id, NULL);
    if (zt_event_end(&ev) < 0)
        return srv->audit_fail_open;
    uint64_t ticket = zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len);
    if (ticket == 0)
        return srv->audit_fail_open;
    c->hold_seq = ticket; /* the 101 waits for it (zt_conn_flush) */
    c->w->audit_owed = true;
    return true;
}

static void audit_close(zt_stream *s)
{
    zt_conn *c = s->c;
    zt_server *srv = c->w->server;
    if (srv->audit == NULL)
        return;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_NETWORK_ACTIVITY, ZT_ACT_NET_CLOSE, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", "stream closed");
    event_common(s, &ev);
    zt_event_str(&ev, "reasons", s->close_reason ? s->close_reason : "closed");
    zt_event_uint(&ev, "traffic.bytes_in", s->bytes_up);
    zt_event_uint(&ev, "traffic.bytes_out", s->bytes_down);
    zt_event_uint(&ev, "duration", (zt_mono_us() - s->opened_us) / 1000);
    zt_event_uint(&ev, "start_time", s->opened_wall_us / 1000);
    zt_event_metadata(&ev, s->req_id, NULL);
    if (zt_event_end(&ev) < 0 ||
        zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len) == 0) {
        zt_error("stream %s: the audit log could not take its Close record (%s)", s->req_id,
                 s->close_reason ? s->close_reason : "closed");
        return;
    }
    c->w->audit_owed = true;
}

/* ---- the worker's list and timer -------------------------------------------------------- */

static void on_eval_tick(uv_timer_t *t);

void zt_stream_worker_init(zt_worker *w)
{
    uv_timer_init(&w->loop, &w->eval_timer);
    w->eval_timer.data = w;
    uv_unref((uv_handle_t *)&w->eval_timer);
}

void zt_stream_worker_close(zt_worker *w)
{
    if (!uv_is_closing((uv_handle_t *)&w->eval_timer))
        uv_close((uv_handle_t *)&w->eval_timer, NULL);
}

static void stream_link(zt_worker *w, zt_stream *s)
{
    s->next = w->streams;
    if (w->streams != NULL)
        w->streams->prev = s;
    w->streams = s;
    if (w->n_streams++ == 0) {
        zt_services *svc = w->server->svc;
        w->stream_rev_seen = zt_sessions_revocation(svc->sessions);
        w->stream_dev_seen = zt_devices_epoch(svc->devices);
        w->stream_feeds_seen = atomic_load(&svc->feeds);
        uv_timer_start(&w->eval_timer, on_eval_tick, EVAL_TICK_MS, EVAL_TICK_MS);
    }
}

static void stream_unlink(zt_worker *w, zt_stream *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        w->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    if (--w->n_streams == 0)
        uv_timer_stop(&w->eval_timer);
}

/* ---- opening ---------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The request headers a re-evaluation needs (device binding cookie, platform hints). */
static void keep_headers(zt_stream *s, const zt_http_head *h)
{
    static const char *const wanted[] = {"Cookie", "User-Agent", "Sec-CH-UA-Platform",
                                         "Sec-CH-UA-Mobile", NULL};
    size_t total = 0;
    for (unsigned i = 0; i < h->n_headers; i++)
        for (size_t k = 0; wanted[k] != NULL; k++)
            if (zt_span_ieq_cstr(h->headers[i].name, wanted[k]))
                total += h->headers[i].name.n + h->headers[i].value.n;
    if (total == 0 || total > STREAM_HEADER_BYTES || (s->hdr_mem = malloc(total)) == NULL)
        return;
    char *p = s->hdr_mem;
    for (unsigned i = 0; i < h->n_headers && s->n_hdrs < STREAM_HEADERS_MAX; i++) {
        const zt_header *x = &h->headers[i];
        for (size_t k = 0; wanted[k] != NULL; k++) {
            if (!zt_span_ieq_cstr(x->name, wanted[k]))
                continue;
            memcpy(p, x->name.p, x->name.n);
            memcpy(p + x->name.n, x->value.p, x->value.n);
            s->hdrs[s->n_hdrs++] = (zt_header){{p, x->name.n}, {p + x->name.n, x->value.n}};
            p += x->name.n + x->value.n;
            break;
        }
    }
}

static char *span_dup(zt_span v)
{
    char *p = malloc(v.n + 1);
    if (p != NULL) {
        memcpy(p, v.p, v.n);
        p[v.n] = '\0';
    }
    return p;
}

/* What a reload is checked against: the upstream, and for a WebSocket the Origin (with the
 * Host it was compared to). false: out of memory, the stream must not open unchecked. */
static bool keep_reload_facts(zt_stream *s, const zt_conn *c)
{
    const zt_app_cfg *app = c->req.app;
    if (app->kind != ZT_APP_TCP) {
        s->up_url = strdup(app->upstream.url ? app->upstream.url : "");
        if (s->up_url == NULL)
            return false;
    }
    const zt_header *o = zt_http_head_find(&c->head, "Origin");
    const zt_header *h = zt_http_head_find(&c->head, "Host");
    if (s->kind == ZT_STREAM_WS && o != NULL && (s->ws_origin = span_dup(o->value)) == NULL)
        return false;
    if (s->kind == ZT_STREAM_WS && h != NULL && (s->ws_host = span_dup(h->value)) == NULL)
        return false;
    return true;
}

static void stream_free(zt_stream *s)
{
    free(s->hdr_mem);
    free(s->up_url);
    free(s->ws_origin);
    free(s->ws_host);
    free(s);
}

static void copy_request(zt_stream *s, zt_conn *c)
{
    const zt_request *r = &c->req;
    const zt_app_cfg *app = r->app;
    copy_str(s->app, sizeof(s->app), app->name);
    s->app_kind = app->kind;
    copy_str(s->dst, sizeof(s->dst),
             app->kind == ZT_APP_TCP ? app->target.host_header : app->upstream.host_header);
    copy_str(s->req_id, sizeof(s->req_id), r->id);
    copy_str(s->sid_hash, sizeof(s->sid_hash), r->user_id ? r->sid_hash : NULL);
    copy_str(s->session_host, sizeof(s->session_host), r->session_host);
    copy_str(s->user_id, sizeof(s->user_id), r->user_id);
    copy_str(s->email, sizeof(s->email), r->email);
    copy_str(s->device_id, sizeof(s->device_id), r->device_id);
    s->client_addr = r->client_addr;
    copy_str(s->client_ip, sizeof(s->client_ip), r->client_ip[0] ? r->client_ip : c->ip);
    s->https = r->https;
    s->client = zt_authn_wants_html(c) ? ZT_CLIENT_BROWSER : ZT_CLIENT_API;
    keep_headers(s, &c->head);
    s->idle_ms =
        app->idle_timeout_ms != 0 ? app->idle_timeout_ms : r->rt->cfg->timeouts.stream_idle_ms;
}

int zt_stream_begin(zt_conn *c, zt_upconn *up, zt_stream_kind kind, const zt_stream_ops *ops,
                    const char *first_to_client, size_t n1)
{
    zt_worker *w = c->w;
    zt_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        zt_conn_close(c);
        return -1;
    }
    s->kind = kind;
    s->ops = ops;
    s->c = c;
    copy_request(s, c);
    if (!keep_reload_facts(s, c)) {
        stream_free(s);
        zt_conn_close(c);
        return -1;
    }
    s->rt = zt_runtime_acquire(c->req.rt);
    s->seen_gen = s->rt->generation;
    s->opened_us = zt_mono_us();
    s->opened_wall_us = zt_wall_us();
    s->last_io_ms = loop_ms(w);
    s->next_beat_ms = s->last_io_ms + EVAL_HEARTBEAT_MS;
    s->dirty = true; /* the first tick sets the deadlines from a fresh decision */
    c->stream = s;
    /* A tunnel's Open record was written at its decision, before the target was reached. */
    if (kind == ZT_STREAM_WS && !audit_open(s)) {
        zt_error("request %s: the audit log cannot record this stream; refusing it", s->req_id);
        c->stream = NULL;
        zt_runtime_release(s->rt);
        stream_free(s);
        zt_conn_close(c);
        return -1;
    }
    c->req.detail = kind == ZT_STREAM_WS ? "upgraded" : "tunnel";
    zt_conn_access_log(c);
    zt_conn_request_end(c);
    zt_conn_set_state(c, CS_STREAM);
    uv_timer_stop(&c->timer);
    c->close_after_flush = false;
    c->last_request = true;
    stream_link(w, s);
    zt_metric_stream_open((unsigned)kind);
    zt_upstream_raw(up);
    if (w->stopping) {
        /* Begun during the drain (the streams open at SIGTERM were closed then): it ends the
         * same way now, before a byte flows, instead of holding the drain to its end. */
        zt_stream_close(c, "gateway shutting down", 1001);
        return c->state == CS_STREAM ? 0 : -1;
    }
    if (n1 > 0)
        zt_stream_upstream_input(up, first_to_client, n1);
    if (c->state == CS_STREAM && c->pending.len > 0) {
        zt_stream_client_input(c, c->pending.data, c->pending.len);
        if (c->state == CS_STREAM)
            zt_buf_reset(&c->pending);
    }
    if (c->state != CS_STREAM)
        return -1;
    zt_buf_dispose(&c->pending);
    if (c->tls_on && zt_tls_peer_closed(&c->tls)) {
        zt_stream_client_end(c, true); /* the client had ended its side before the 200 */
        return c->state == CS_STREAM ? 0 : -1;
    }
    zt_conn_flush(c);
    if (c->state == CS_STREAM && !s->client_paused)
        zt_conn_read_start(c);
    return c->state == CS_STREAM ? 0 : -1;
}

/* ---- bytes ------------------------------------------------------------------------------ */

void zt_stream_client_input(zt_conn *c, const char *data, size_t n)
{
    zt_stream *s = c->stream;
    if (s == NULL || s->closing || s->client_eof || n == 0)
        return;
    if (s->ops != NULL && s->ops->on_client_bytes != NULL)
        s->ops->on_client_bytes(s, data, n);
    if (c->stream != s || s->closing)
        return; /* the bytes broke the protocol: the stream is closing without them */
    s->bytes_up += n;
    s->moved = true;
    s->last_io_ms = loop_ms(c->w);
    zt_upconn *up = c->up;
    if (up == NULL)
        return;
    zt_upstream_send(up, data, n);
    if (c->up != NULL)
        zt_upstream_flush(c->up);
    if (c->state == CS_STREAM && c->up != NULL && c->up->wq_bytes > ZT_WQ_HIGH) {
        zt_conn_read_stop(c); /* the upstream is slower: stop reading until it drains */
        s->client_paused = true;
    }
}

void zt_stream_upstream_input(zt_upconn *up, const char *data, size_t n)
{
    zt_conn *c = up->client;
    zt_stream *s = c != NULL ? c->stream : NULL;
    if (s == NULL || s->closing || s->up_eof || n == 0)
        return;
    if (s->ops != NULL && s->ops->on_upstream_bytes != NULL)
        s->ops->on_upstream_bytes(s, data, n);
    if (c->stream != s || s->closing)
        return; /* the bytes broke the protocol: the stream is closing without them */
    s->bytes_down += n;
    s->moved = true;
    s->last_io_ms = loop_ms(c->w);
    zt_conn_out(c, data, n);
    zt_conn_flush(c);
    if (c->state == CS_STREAM && c->wq_bytes + c->out.len > ZT_WQ_HIGH)
        zt_upstream_pause(up); /* the client is slower: stop reading until it drains */
}

void zt_stream_client_drained(zt_conn *c)
{
    zt_stream *s = c->stream;
    if (c->close_after_flush && c->wq_bytes == 0 && c->out.len == 0) {
        zt_conn_close(c);
        return;
    }
    if (s != NULL && !s->closing && !s->up_eof && c->up != NULL && c->wq_bytes < ZT_WQ_LOW)
        zt_upstream_resume(c->up);
}

void zt_stream_upstream_drained(zt_upconn *up)
{
    zt_conn *c = up->client;
    zt_stream *s = c != NULL ? c->stream : NULL;
    if (s == NULL || !s->client_paused || s->closing || s->client_eof)
        return;
    s->client_paused = false;
    zt_conn_read_start(c);
}

/* ---- ends ------------------------------------------------------------------------------- */

/* Both directions ended: close once what is queued for the client is written. */
static void finish_when_written(zt_conn *c)
{
    if (c->tls_on)
        zt_tls_shutdown(&c->tls); /* an orderly end: close_notify after the last byte */
    c->close_after_flush = true;
    zt_conn_flush(c);
    if (c->state == CS_STREAM && c->wq_bytes == 0 && c->out.len == 0)
        zt_conn_close(c);
}

void zt_stream_client_end(zt_conn *c, bool eof)
{
    zt_stream *s = c->stream;
    zt_conn_read_stop(c);
    if (s == NULL || s->client_eof)
        return;
    if (!eof || s->closing) {
        set_reason(s, eof ? NULL : "client connection lost");
        zt_conn_close(c);
        return;
    }
    s->client_eof = true;
    set_reason(s, "client closed");
    if (s->up_eof || c->up == NULL) {
        finish_when_written(c);
        return;
    }
    zt_upstream_shutdown_write(c->up); /* after what is queued for it */
}

/* The request is its own allocation: the stream may be freed (zt_conn_close) before libuv
 * calls back, with UV_ECANCELED, when the handle closes. */
static void on_client_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* the connection closes on its own path */
    free(req);
}

void zt_stream_upstream_end(zt_upconn *up, bool eof)
{
    zt_conn *c = up->client;
    zt_stream *s = c != NULL ? c->stream : NULL;
    if (s == NULL || s->up_eof)
        return;
    if (!eof || s->closing) {
        set_reason(s, eof ? NULL : "upstream connection lost");
        zt_conn_close(c);
        return;
    }
    s->up_eof = true;
    set_reason(s, "upstream closed");
    if (s->client_eof) {
        finish_when_written(c);
        return;
    }
    /* Half-close towards the client: close_notify for TLS, then FIN after the queued bytes.
     * The client may go on sending. */
    if (c->tls_on)
        zt_tls_shutdown(&c->tls);
    zt_conn_flush(c);
    if (c->state == CS_STREAM && !s->client_shut) {
        s->client_shut = true;
        uv_shutdown_t *req = malloc(sizeof(*req));
        if (req != NULL && uv_shutdown(req, (uv_stream_t *)&c->tcp, on_client_shutdown) < 0)
            free(req);
    }
}

void zt_stream_close(zt_conn *c, const char *reason, uint16_t ws_code)
{
    zt_stream *s = c->stream;
    if (s == NULL || s->closing)
        return;
    s->closing = true;
    set_reason(s, reason);
    zt_info("stream %s (%s, app %s, user %s): closing: %s", s->req_id, kind_name(s->kind), s->app,
            s->email[0] ? s->email : "-", s->close_reason);
    zt_conn_read_stop(c);
    if (c->up != NULL)
        zt_upstream_pause(c->up);
    if (s->ops == NULL || s->ops->write_close == NULL) {
        /* Nothing polite to say in a byte stream: what was not yet written is dropped (no app
         * byte flows after the decision), TLS gets its close_notify. */
        zt_buf_reset(&c->out);
        if (c->tls_on)
            zt_tls_shutdown(&c->tls);
        zt_conn_flush(c);
        zt_conn_close(c);
        return;
    }
    s->ops->write_close(c, ws_code, s->close_reason);
    if (c->state != CS_STREAM)
        return;
    zt_conn_arm_ms(c, s->rt->cfg->timeouts.stream_close_ms);
    finish_when_written(c);
}

void zt_stream_timeout(zt_conn *c)
{
    zt_stream *s = c->stream;
    if (s != NULL)
        zt_warn("stream %s: the close did not drain within stream_close; closing it", s->req_id);
    zt_conn_close(c);
}

void zt_stream_end(zt_conn *c)
{
    zt_stream *s = c->stream;
    if (s == NULL)
        return;
    c->stream = NULL;
    set_reason(s, NULL);
    audit_close(s);
    zt_metric_stream_close((unsigned)s->kind, s->bytes_up, s->bytes_down);
    stream_unlink(c->w, s);
    zt_runtime_release(s->rt);
    stream_free(s);
}

void zt_stream_close_all(zt_worker *w, const char *reason, uint16_t ws_code)
{
    for (zt_stream *s = w->streams, *next; s != NULL; s = next) {
        next = s->next;
        zt_stream_close(s->c, reason, ws_code);
    }
}

/* ---- continuous evaluation -------------------------------------------------------------- */

static const zt_app_cfg *find_app(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].name != NULL && strcmp(cfg->apps[i].name, name) == 0)
            return &cfg->apps[i];
    return NULL;
}

static void access_request(const zt_stream *s, const zt_session_info *info, const zt_app_cfg *app,
                           int64_t now, zt_access_request *rq)
{
    *rq = (zt_access_request){
        .app = app,
        .client_addr = (const struct sockaddr *)&s->client_addr,
        .cert_device_id = s->c->device_id,
        .https = s->https,
        .client = s->client,
        .now = now,
    };
    if (info != NULL) {
        rq->user_id = info->user_id;
        rq->email = info->email;
        rq->groups = info->groups;
        rq->n_groups = info->n_groups;
        rq->auth_time = info->auth_time;
        rq->mfa_time = info->mfa_time;
        rq->amr = info->amr;
        rq->passkey_aaguid = info->has_passkey_aaguid ? info->passkey_aaguid : NULL;
        rq->user_risk = (zt_risk)info->user_risk;
        rq->sign_in_risk = (zt_risk)info->sign_in_risk;
    }
    for (unsigned i = 0; i < s->n_hdrs; i++)
        zt_access_request_header(rq, s->hdrs[i].name, s->hdrs[i].value);
}

/* What a new handshake or CONNECT to the reloaded app would be refused for, before any
 * decision about the user: NULL when the app still takes this stream. */
static const char *app_change(const zt_stream *s, const zt_app_cfg *app)
{
    if (app == NULL || app->kind != s->app_kind)
        return "app removed by config reload";
    if (app->kind == ZT_APP_TCP) {
        /* A tunnel is bound to its target: a reload that points the app elsewhere ends it. */
        const char *dst = app->target.host_header ? app->target.host_header : "";
        return strcmp(dst, s->dst) == 0 ? NULL : "tunnel target changed by config reload";
    }
    if (s->up_url == NULL || strcmp(app->upstream.url ? app->upstream.url : "", s->up_url) != 0)
        return "upstream changed by config reload";
    /* An anonymous stream was let in because the app was public (no decision about a user). */
    if (s->sid_hash[0] == '\0' && app->sensitivity != ZT_SENS_PUBLIC)
        return "sign-in required: app no longer public (config reload)";
    if (s->kind != ZT_STREAM_WS)
        return NULL;
    if (!app->websocket)
        return "WebSocket turned off by config reload";
    zt_span origin = {s->ws_origin, s->ws_origin ? strlen(s->ws_origin) : 0};
    zt_span host = {s->ws_host, s->ws_host ? strlen(s->ws_host) : 0};
    if (!zt_ws_origin_admits(s->ws_origin ? &origin : NULL, s->ws_host ? &host : NULL,
                             s->https ? "https" : "http", app->websocket_origins,
                             app->n_websocket_origins))
        return "Origin no longer allowed by config reload (websocket_origins)";
    return NULL;
}

/* every_time is checked when a stream opens only, but it hides the finite frequencies of the
 * other applicable policies (the shortest one wins): the shortest finite one among the
 * enforced policies that applied, and its policy; -1 when there is none. Only the listed
 * policies are seen (res->matched holds the first ZT_POLICY_MATCH_MAX applicable ones). */
static int64_t finite_frequency(const zt_runtime *rt, const zt_policy_result *res,
                                const char **policy)
{
    if (res->sign_in_frequency_s != 0)
        return res->sign_in_frequency_s; /* > 0 finite, -1 none: the policy is the cause */
    int64_t best = -1;
    const zt_config *cfg = rt->cfg;
    for (size_t i = 0; i < res->n_matched; i++) {
        if (zt_policy_report_only(rt->policies, res->matched[i]))
            continue;
        const char *name = zt_policy_name(rt->policies, res->matched[i]);
        for (size_t k = 0; name != NULL && k < cfg->n_policies; k++) {
            const zt_session_ctl_cfg *sc = &cfg->policies[k].session;
            if (cfg->policies[k].name == NULL || strcmp(cfg->policies[k].name, name) != 0)
                continue;
            if (sc->has_sign_in_frequency && sc->sign_in_frequency_s > 0 &&
                (best < 0 || sc->sign_in_frequency_s < best)) {
                best = sc->sign_in_frequency_s;
                *policy = cfg->policies[k].name;
            }
            break;
        }
    }
    return best;
}

/* Next deadline: session expiry, a finite sign-in frequency running out, and the heartbeat. */
static int64_t next_deadline(const zt_session_info *info, int64_t freq_s, int64_t now)
{
    int64_t d = now + EVAL_HEARTBEAT_MS / 1000;
    if (info != NULL && info->expires_at > 0 && info->expires_at < d)
        d = info->expires_at;
    if (info != NULL && freq_s > 0) {
        int64_t f = info->auth_time + freq_s + 1;
        if (f < d)
            d = f;
    }
    return d;
}

/* One stream: the same decision a request would get now; false when it was closed. */
static bool reevaluate(zt_worker *w, zt_stream *s, int64_t now)
{
    zt_services *svc = w->server->svc;
    zt_metric_stream_evaluation();
    zt_stream_facts f = {
        .session_status = ZT_SESSION_VALID, .outcome = ZT_OUTCOME_ALLOW, .now = now};
    const zt_session_info *info = NULL;
    if (s->sid_hash[0] != '\0') {
        f.session_status =
            zt_session_lookup_hash(w->sessions, s->sid_hash, s->session_host, now, s->moved, &info);
        if (f.session_status == ZT_SESSION_ERROR) {
            uint64_t t = loop_ms(w);
            if (s->error_since_ms == 0)
                s->error_since_ms = t;
            if (t - s->error_since_ms < EVAL_STORE_GRACE_MS)
                return true; /* dirty stays set: tried again at the next tick */
            zt_stream_close(s->c, "session store unavailable", 1011);
            return false;
        }
        s->error_since_ms = 0;
    }
    const zt_app_cfg *app = find_app(w->rt->cfg, s->app);
    f.app_change = app_change(s, app);
    f.app_ok = f.app_change == NULL;
    zt_policy_result res = {.sign_in_frequency_s = -1};
    int64_t freq_s = -1;
    /* Anonymous (a public app): no user to decide about, as in the pipeline's policy stage. */
    if (f.session_status == ZT_SESSION_VALID && f.app_ok && info != NULL) {
        zt_access_request rq;
        zt_policy_input in;
        zt_access_facts facts;
        access_request(s, info, app, now, &rq);
        zt_access_input(svc, &rq, &in, &facts);
        f.policy = zt_access_decide(w->rt->policies, &in, &res);
        f.outcome = (int)res.outcome;
        f.restrict_flags = res.restrict_flags;
        f.reauth_required = res.reauth_required;
        f.frequency_every_time = res.sign_in_frequency_s == 0;
        f.control = zt_control_name(res.next_control);
        const char *fin_policy = f.policy;
        freq_s = finite_frequency(w->rt, &res, &fin_policy);
        if (f.frequency_every_time && freq_s > 0 &&
            (info->auth_time <= 0 || now - info->auth_time > freq_s)) {
            f.finite_frequency_out = true;
            f.policy = fin_policy;
        }
    }
    char buf[160];
    zt_stream_verdict v = zt_stream_verdict_of(&f, buf, sizeof(buf));
    if (!v.keep) {
        zt_stream_close(s->c, v.reason, v.ws_code);
        return false;
    }
    s->dirty = false;
    s->moved = false;
    s->deadline = next_deadline(info, freq_s, now);
    s->next_beat_ms = loop_ms(w) + EVAL_HEARTBEAT_MS;
    if (s->rt != w->rt) { /* a week-long stream must not pin an old generation */
        zt_runtime_release(s->rt);
        s->rt = zt_runtime_acquire(w->rt);
    }
    s->seen_gen = s->rt->generation;
    return true;
}

/* What moved since the last tick makes every stream dirty (one load each). */
static void mark_moved(zt_worker *w)
{
    zt_services *svc = w->server->svc;
    uint64_t rev = zt_sessions_revocation(svc->sessions);
    uint64_t dev = zt_devices_epoch(svc->devices);
    const void *feeds = atomic_load(&svc->feeds);
    if (rev == w->stream_rev_seen && dev == w->stream_dev_seen && feeds == w->stream_feeds_seen)
        return;
    w->stream_rev_seen = rev;
    w->stream_dev_seen = dev;
    w->stream_feeds_seen = feeds;
    for (zt_stream *s = w->streams; s != NULL; s = s->next)
        s->dirty = true;
}

static void on_eval_tick(uv_timer_t *t)
{
    zt_worker *w = t->data;
    mark_moved(w);
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    uint64_t now_ms = loop_ms(w);
    unsigned budget = EVAL_BUDGET;
    for (zt_stream *s = w->streams, *next; s != NULL; s = next) {
        next = s->next;
        if (s->closing)
            continue;
        if (now_ms - s->last_io_ms > s->idle_ms) {
            zt_stream_close(s->c, "idle", 1001);
            continue;
        }
        if (s->seen_gen != w->rt->generation || now >= s->deadline || now_ms >= s->next_beat_ms)
            s->dirty = true;
        if (s->dirty && budget > 0) {
            budget--;
            reevaluate(w, s, now);
        }
    }
}
