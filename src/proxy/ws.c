/* WebSocket handshake rules and frame boundary tracking (RFC 6455 §4, §5.2). The gateway stays
 * a byte tunnel: payload is never unmasked or copied here, only headers are read. */
#include "proxy/ws.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/log.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "proxy/proxy_int.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes, with its "==" */

/* ---- the handshake ------------------------------------------------------------------------ */

/* Calls fn for each comma-separated, trimmed, non-empty element of every `name` header. */
typedef bool (*ws_elem_fn)(zt_span elem, void *arg);

static bool each_elem(const zt_http_head *h, const char *name, ws_elem_fn fn, void *arg)
{
    for (unsigned i = 0; i < h->n_headers; i++) {
        if (!zt_span_ieq_cstr(h->headers[i].name, name))
            continue;
        zt_span v = h->headers[i].value;
        while (v.n > 0) {
            const char *comma = memchr(v.p, ',', v.n);
            size_t n = comma != NULL ? (size_t)(comma - v.p) : v.n;
            zt_span e = zt_span_trim((zt_span){v.p, n});
            if (e.n > 0 && !fn(e, arg))
                return false;
            v.p += comma != NULL ? n + 1 : n;
            v.n -= comma != NULL ? n + 1 : n;
        }
    }
    return true;
}

typedef struct upgrade_scan {
    unsigned websocket, others;
} upgrade_scan;

static bool count_upgrade(zt_span e, void *arg)
{
    upgrade_scan *s = arg;
    if (zt_span_ieq_cstr(e, "websocket"))
        s->websocket++;
    else
        s->others++;
    return true;
}

static bool not_upgrade(zt_span e, void *arg)
{
    (void)arg;
    return !zt_span_ieq_cstr(e, "upgrade"); /* false stops: found */
}

static bool lists_upgrade(const zt_http_head *h)
{
    return !each_elem(h, "Connection", not_upgrade, NULL);
}

static bool not_ws_field(zt_span e, void *arg)
{
    (void)arg;
    return !zt_span_istarts(e, "sec-websocket-"); /* false stops: found */
}

/* Connection may name only hop-by-hop fields: a Sec-WebSocket-* named there would be dropped on
 * the way (RFC 9110 §7.6.1) and the app would get a different handshake from the one checked. */
static bool names_ws_field(const zt_http_head *h)
{
    return !each_elem(h, "Connection", not_ws_field, NULL);
}

/* "Sec_WebSocket_Key" is another header to us but the same variable to a CGI, WSGI or PHP app
 * (both become HTTP_SEC_WEBSOCKET_KEY): the app could read a key or version we never checked. */
static bool has_underscore_ws_field(const zt_http_head *h)
{
    for (unsigned i = 0; i < h->n_headers; i++) {
        zt_span n = h->headers[i].name;
        if (n.n < 14 || memchr(n.p, '_', n.n) == NULL)
            continue;
        char folded[14];
        for (size_t k = 0; k < sizeof(folded); k++)
            folded[k] = n.p[k] == '_' ? '-' : n.p[k];
        if (zt_span_istarts((zt_span){folded, sizeof(folded)}, "sec-websocket-"))
            return true;
    }
    return false;
}

static unsigned count_headers(const zt_http_head *h, const char *name, const zt_header **first)
{
    unsigned n = 0;
    *first = NULL;
    for (unsigned i = 0; i < h->n_headers; i++)
        if (zt_span_ieq_cstr(h->headers[i].name, name) && n++ == 0)
            *first = &h->headers[i];
    return n;
}

/* Strict standard base64 of exactly 16 bytes: one spelling per key. */
static bool key_ok(zt_span key)
{
    unsigned char raw[18];
    size_t n = 0;
    if (key.n != WS_KEY_LEN)
        return false;
    if (sodium_base642bin(raw, sizeof(raw), key.p, key.n, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return n == 16;
}

static zt_ws_check invalid(int status, const char *why)
{
    return (zt_ws_check){.kind = ZT_WS_INVALID, .status = status, .why = why};
}

static zt_ws_check check_fields(const zt_http_head *h)
{
    const zt_header *key = NULL, *version = NULL;
    if (count_headers(h, "Sec-WebSocket-Version", &version) != 1 ||
        !zt_span_eq(version->value, ZT_SPAN_LIT("13")))
        return invalid(426, "WebSocket version other than 13");
    if (count_headers(h, "Sec-WebSocket-Key", &key) != 1 || !key_ok(key->value))
        return invalid(400, "Sec-WebSocket-Key is not base64 of 16 bytes");
    return (zt_ws_check){.kind = ZT_WS_UPGRADE};
}

zt_ws_check zt_ws_check_request(const zt_http_head *h)
{
    upgrade_scan s = {0, 0};
    each_elem(h, "Upgrade", count_upgrade, &s);
    if (s.websocket == 0 || h->http_minor == 0)
        return (zt_ws_check){.kind = ZT_WS_NONE};
    if (s.websocket != 1 || s.others != 0)
        return invalid(400, "Upgrade names websocket together with another protocol");
    if (h->method != HTTP_GET)
        return invalid(400, "WebSocket handshake with a method other than GET");
    if (!lists_upgrade(h))
        return invalid(400, "WebSocket handshake without Connection: upgrade");
    if (names_ws_field(h))
        return invalid(400, "Connection names a Sec-WebSocket header");
    if (has_underscore_ws_field(h))
        return invalid(400, "Sec-WebSocket header spelt with an underscore");
    if (h->body != ZT_BODY_NONE && !(h->body == ZT_BODY_LENGTH && h->content_length == 0))
        return invalid(400, "WebSocket handshake with a body");
    return check_fields(h);
}

/* "scheme://authority" with scheme http or https and nothing after the authority. */
static bool parse_origin(zt_span o, bool *https, char *host, size_t cap, size_t *hn, unsigned *port)
{
    size_t skip;
    if (zt_span_istarts(o, "https://"))
        skip = 8;
    else if (zt_span_istarts(o, "http://"))
        skip = 7;
    else
        return false;
    *https = skip == 8;
    zt_span a = {o.p + skip, o.n - skip};
    if (!zt_http_parse_authority(a, host, cap, hn, port))
        return false;
    if (*port == 0)
        *port = *https ? 443 : 80;
    return true;
}

bool zt_ws_origin_normalise(const char *s, size_t n, char *out, size_t cap)
{
    char host[256];
    size_t hn = 0;
    unsigned port = 0;
    bool https = false;
    zt_span o = {s, n};
    if (!parse_origin(o, &https, host, sizeof(host), &hn, &port))
        return false;
    int w = (port == (https ? 443u : 80u))
                ? snprintf(out, cap, "%s://%s", https ? "https" : "http", host)
                : snprintf(out, cap, "%s://%s:%u", https ? "https" : "http", host, port);
    return w > 0 && (size_t)w < cap;
}

static bool origin_eq(zt_span origin, const char *normal)
{
    char mine[300];
    return zt_ws_origin_normalise(origin.p, origin.n, mine, sizeof(mine)) &&
           strcmp(mine, normal) == 0;
}

static bool own_origin(zt_span host, const char *own_scheme, char *out, size_t cap)
{
    if (own_scheme == NULL)
        return false;
    char raw[300];
    int w = snprintf(raw, sizeof(raw), "%s://%.*s", own_scheme, (int)host.n, host.p);
    return w > 0 && (size_t)w < sizeof(raw) && zt_ws_origin_normalise(raw, (size_t)w, out, cap);
}

bool zt_ws_origin_admits(const zt_span *origin, const zt_span *host, const char *own_scheme,
                         const zt_cfg_word *origins, size_t n_origins)
{
    if (origin == NULL)
        return true; /* not a browser: no ambient cookies to hijack */
    if (n_origins == 0) {
        char own[300];
        return host != NULL && own_origin(*host, own_scheme, own, sizeof(own)) &&
               origin_eq(*origin, own);
    }
    for (size_t i = 0; i < n_origins; i++)
        if (origins[i].s != NULL && origin_eq(*origin, origins[i].s))
            return true;
    return false;
}

bool zt_ws_origin_allowed(const zt_http_head *h, const char *own_scheme, const zt_cfg_word *origins,
                          size_t n_origins)
{
    const zt_header *o = NULL;
    unsigned n = count_headers(h, "Origin", &o);
    if (n > 1)
        return false;
    const zt_header *host = zt_http_head_find(h, "Host");
    return zt_ws_origin_admits(n == 1 ? &o->value : NULL, host ? &host->value : NULL, own_scheme,
                               origins, n_origins);
}

int zt_ws_accept(zt_span key, char out[ZT_WS_ACCEPT_LEN + 1])
{
    unsigned char in[WS_KEY_LEN + sizeof(WS_GUID)];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_n = 0;
    if (key.n != WS_KEY_LEN)
        return -1;
    memcpy(in, key.p, key.n);
    memcpy(in + key.n, WS_GUID, sizeof(WS_GUID) - 1);
    if (EVP_Digest(in, key.n + sizeof(WS_GUID) - 1, md, &md_n, EVP_sha1(), NULL) != 1 || md_n != 20)
        return -1;
    sodium_bin2base64(out, ZT_WS_ACCEPT_LEN + 1, md, md_n, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

static bool names_websocket(const zt_http_head *h)
{
    upgrade_scan s = {0, 0};
    each_elem(h, "Upgrade", count_upgrade, &s);
    return s.websocket == 1 && s.others == 0;
}

bool zt_ws_check_response(const zt_http_head *req, const zt_http_head *resp, const char **why)
{
    const zt_header *key = NULL, *accept = NULL;
    char want[ZT_WS_ACCEPT_LEN + 1];
    *why = NULL;
    if (resp->status != 101)
        *why = "the upstream did not switch protocols";
    else if (!names_websocket(resp))
        *why = "the upstream's 101 does not name websocket in Upgrade";
    else if (!lists_upgrade(resp))
        *why = "the upstream's 101 lacks Connection: upgrade";
    else if (count_headers(req, "Sec-WebSocket-Key", &key) != 1 || zt_ws_accept(key->value, want))
        *why = "internal: the request has no usable Sec-WebSocket-Key";
    else if (count_headers(resp, "Sec-WebSocket-Accept", &accept) != 1 ||
             accept->value.n != ZT_WS_ACCEPT_LEN ||
             !zt_ct_eq(accept->value.p, want, ZT_WS_ACCEPT_LEN))
        *why = "the upstream's Sec-WebSocket-Accept does not match the key";
    return *why == NULL;
}

/* ---- frames ------------------------------------------------------------------------------- */

void zt_ws_track_init(zt_ws_track *t, bool from_client)
{
    memset(t, 0, sizeof(*t));
    if (from_client)
        t->flags = ZT_WS_T_FROM_CLIENT;
}

bool zt_ws_track_at_boundary(const zt_ws_track *t)
{
    return t->have == 0 && t->left == 0 && !(t->flags & ZT_WS_T_FAILED);
}

bool zt_ws_track_failed(const zt_ws_track *t)
{
    return (t->flags & ZT_WS_T_FAILED) != 0;
}

/* Header bytes the frame needs, known once its second byte is in. */
static size_t header_len(const uint8_t *hdr)
{
    size_t n = 2;
    uint8_t len7 = hdr[1] & 0x7F;
    if (len7 == 126)
        n += 2;
    else if (len7 == 127)
        n += 8;
    return n + ((hdr[1] & 0x80) ? 4 : 0);
}

static uint64_t payload_len(const uint8_t *hdr)
{
    uint8_t len7 = hdr[1] & 0x7F;
    if (len7 < 126)
        return len7;
    if (len7 == 126)
        return (uint64_t)hdr[2] << 8 | hdr[3];
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | hdr[2 + i];
    return v;
}

/* The rules a byte tunnel can check from the header alone (RFC 6455 §5.2, §5.4, §5.5). RSV bits
 * are left to the endpoints: permessage-deflate sets RSV1. */
static const char *header_error(zt_ws_track *t)
{
    const uint8_t *h = t->hdr;
    bool fin = (h[0] & 0x80) != 0, masked = (h[1] & 0x80) != 0;
    uint8_t op = h[0] & 0x0F;
    bool client = (t->flags & ZT_WS_T_FROM_CLIENT) != 0;
    if ((op >= 3 && op <= 7) || op >= 11)
        return "reserved WebSocket opcode";
    if ((h[1] & 0x7F) == 127 && (h[2] & 0x80))
        return "WebSocket frame length with its top bit set";
    if (masked != client)
        return client ? "unmasked WebSocket frame from the client"
                      : "masked WebSocket frame from the upstream";
    if (op >= 8) {
        if (!fin || payload_len(h) > 125)
            return "fragmented or oversized WebSocket control frame";
        if (op == 8)
            t->flags |= ZT_WS_T_CLOSE_SEEN;
        return NULL;
    }
    bool open = (t->flags & ZT_WS_T_IN_MESSAGE) != 0;
    if (op == 0 && !open)
        return "WebSocket continuation frame without a message";
    if (op != 0 && open)
        return "new WebSocket message inside a fragmented one";
    if (fin)
        t->flags &= (uint8_t)~ZT_WS_T_IN_MESSAGE;
    else
        t->flags |= ZT_WS_T_IN_MESSAGE;
    return NULL;
}

/* Collects header bytes; returns how many of p were taken. */
static size_t take_header(zt_ws_track *t, const uint8_t *p, size_t n, const char **why)
{
    size_t used = 0;
    while (used < n) {
        size_t need = t->have < 2 ? 2 : header_len(t->hdr);
        if (t->have >= need)
            break;
        t->hdr[t->have++] = p[used++];
    }
    size_t need = t->have < 2 ? 2 : header_len(t->hdr);
    if (t->have < need)
        return used;
    *why = header_error(t);
    if (*why != NULL) {
        t->flags |= ZT_WS_T_FAILED;
        return used;
    }
    t->left = payload_len(t->hdr);
    t->have = 0;
    return used;
}

size_t zt_ws_track_feed(zt_ws_track *t, const uint8_t *p, size_t n, bool stop_at_boundary,
                        const char **why)
{
    size_t pos = 0;
    *why = NULL;
    while (pos < n && !(t->flags & ZT_WS_T_FAILED)) {
        if (t->left == 0) {
            size_t start = pos;
            pos += take_header(t, p + pos, n - pos, why);
            if (t->flags & ZT_WS_T_FAILED)
                return start; /* the bad header does not pass */
        } else {
            size_t k = n - pos < t->left ? n - pos : (size_t)t->left;
            t->left -= k;
            pos += k;
        }
        if (stop_at_boundary && zt_ws_track_at_boundary(t))
            break;
    }
    return pos;
}

void zt_ws_track_fill(const zt_ws_track *t, uint64_t from, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    if (t->have != 0 || t->left == 0 || !(t->hdr[1] & 0x80))
        return; /* between frames, mid-header, or unmasked: zeros are zeros */
    const uint8_t *key = t->hdr + header_len(t->hdr) - 4;
    uint64_t at = payload_len(t->hdr) - t->left + from; /* payload offset of out[0] */
    for (size_t i = 0; i < n; i++)
        out[i] = key[(at + i) & 3];
}

size_t zt_ws_close_frame(uint8_t *out, bool masked, uint16_t code, const char *reason)
{
    uint8_t payload[125];
    size_t n = 2;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)(code & 0xFF);
    for (const char *r = reason ? reason : ""; *r != '\0' && n < 125; r++)
        payload[n++] = (*r >= 0x20 && *r < 0x7F) ? (uint8_t)*r : '?';
    size_t o = 0;
    out[o++] = 0x88; /* FIN + close */
    out[o++] = (uint8_t)((masked ? 0x80 : 0) | n);
    uint8_t mask[4] = {0, 0, 0, 0};
    if (masked) {
        zt_random(mask, sizeof(mask));
        memcpy(out + o, mask, 4);
        o += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[o++] = payload[i] ^ mask[i & 3];
    return o;
}

/* ---- the pipeline stage ------------------------------------------------------------------- */

/* 426 must say which version we speak (RFC 6455 §4.4): the page's head gets the header. */
static void respond_version(zt_conn *c, const char *why)
{
    size_t start = c->out.len;
    zt_conn_respond_page_ex(c, (zt_page){.status = 426,
                                         .title = WS_TITLE,
                                         .body = WS_BODY_VERSION,
                                         .detail = why,
                                         .error = "websocket_version"});
    if (c->state == CS_CLOSING || c->out.len <= start)
        return;
    const char *line_end = memmem(c->out.data + start, c->out.len - start, "\r\n", 2);
    if (line_end == NULL)
        return;
    size_t at = (size_t)(line_end - c->out.data) + 2;
    static const char hdr[] = "Sec-WebSocket-Version: 13\r\n";
    if (zt_buf_reserve(&c->out, sizeof(hdr) - 1) < 0) {
        zt_conn_close(c);
        return;
    }
    memmove(c->out.data + at + sizeof(hdr) - 1, c->out.data + at, c->out.len - at);
    memcpy(c->out.data + at, hdr, sizeof(hdr) - 1);
    c->out.len += sizeof(hdr) - 1;
}

static bool refuse(zt_conn *c, const char *reason, zt_msg body, const char *error)
{
    c->req.decision = "block";
    if (!zt_pipeline_audit_decision(c, false, reason))
        zt_pipeline_respond_audit_unavailable(c);
    else
        zt_conn_respond_page_ex(c, (zt_page){.status = 403,
                                             .title = WS_TITLE,
                                             .body = body,
                                             .detail = reason,
                                             .error = error,
                                             .policy = c->req.policy});
    return false;
}

bool zt_ws_stage(zt_conn *c)
{
    zt_request *r = &c->req;
    zt_ws_check v = zt_ws_check_request(&c->head);
    if (v.kind == ZT_WS_NONE)
        return true;
    if (v.kind == ZT_WS_INVALID) {
        zt_info("request %s from %s: WebSocket handshake refused (%d): %s", r->id, c->ip, v.status,
                v.why);
        /* Refused after sign-in and policy: the trail names who tried what, like a 403. */
        r->decision = "block";
        if (!zt_pipeline_audit_decision(c, false, v.why)) {
            zt_pipeline_respond_audit_unavailable(c);
            return false;
        }
        if (v.status == 426)
            respond_version(c, v.why);
        else
            zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY, v.why);
        return false;
    }
    const zt_app_cfg *app = r->app;
    if (!app->websocket)
        return refuse(c, "WebSocket is turned off for this app", WS_BODY_DISABLED,
                      "websocket_disabled");
    /* A live byte stream cannot be held to read_only or no_download. */
    if (r->restrict_flags != 0)
        return refuse(c, "restricted session: WebSocket refused", WS_BODY_RESTRICTED,
                      "websocket_restricted");
    if (!zt_ws_origin_allowed(&c->head, r->https ? "https" : "http", app->websocket_origins,
                              app->n_websocket_origins))
        return refuse(c, "WebSocket from a foreign Origin (cross-site WebSocket hijacking)",
                      WS_BODY_ORIGIN, "websocket_origin");
    r->websocket = true;
    return true;
}

/* ---- the spliced WebSocket (stream.c's ops) ------------------------------------------------ */

/* Largest rest of a frame we complete with zero bytes so that a close frame can follow it; a
 * longer one ends without a close frame (the stream_close timer still ends the connection). */
#define WS_PAD_MAX (64 * 1024)

typedef struct ws_state {
    zt_ws_track up;   /* client to upstream */
    zt_ws_track down; /* upstream to client */
    bool ready;
} ws_state;
_Static_assert(sizeof(ws_state) <= ZT_STREAM_KIND_STATE, "ws_state fits the stream's storage");

static ws_state *state_of(zt_stream *s)
{
    ws_state *st = zt_stream_kind_state(s);
    if (!st->ready) { /* zeroed by stream.c; leftovers may be fed before anything else runs */
        zt_ws_track_init(&st->up, true);
        zt_ws_track_init(&st->down, false);
        st->ready = true;
    }
    return st;
}

static void track(zt_stream *s, zt_ws_track *t, const char *p, size_t n)
{
    if (zt_ws_track_failed(t))
        return;
    const char *why = NULL;
    zt_ws_track_feed(t, (const uint8_t *)p, n, false, &why);
    if (why != NULL) {
        zt_conn *c = zt_stream_conn(s);
        zt_info("stream of conn %" PRIu64 ": %s", c->id, why);
        zt_stream_close(c, why, ZT_WS_PROTOCOL_ERROR);
    }
}

static void ws_on_client_bytes(zt_stream *s, const char *p, size_t n)
{
    track(s, &state_of(s)->up, p, n);
}

static void ws_on_upstream_bytes(zt_stream *s, const char *p, size_t n)
{
    track(s, &state_of(s)->down, p, n);
}

/* The frame in the middle of which a direction stopped, completed with zeros (payload only: a
 * half-written header cannot be finished honestly), so a close frame may follow. Returns the
 * padding length, or -1 when no close frame can be written in this direction. */
static long pad_needed(const zt_ws_track *t)
{
    if (zt_ws_track_failed(t) || (t->flags & ZT_WS_T_CLOSE_SEEN) || t->have != 0 ||
        t->left > WS_PAD_MAX)
        return -1;
    return (long)t->left;
}

static void close_to_client(zt_conn *c, ws_state *st, uint16_t code, const char *reason)
{
    static const char zeros[4096];
    long pad = pad_needed(&st->down);
    if (pad < 0)
        return;
    for (long left = pad; left > 0; left -= (long)sizeof(zeros))
        zt_conn_out(c, zeros, left < (long)sizeof(zeros) ? (size_t)left : sizeof(zeros));
    uint8_t frame[ZT_WS_CLOSE_MAX];
    size_t n = zt_ws_close_frame(frame, false, code, reason);
    zt_conn_out(c, (const char *)frame, n);
    st->down.left = 0;
    st->down.flags |= ZT_WS_T_CLOSE_SEEN;
}

static void close_to_upstream(zt_conn *c, ws_state *st, uint16_t code, const char *reason)
{
    uint8_t fill[4096];
    long pad = pad_needed(&st->up);
    if (pad < 0 || c->up == NULL)
        return;
    /* The client's frames are masked: what completes one must unmask to zeros, or a text
     * frame turns invalid UTF-8 and the app fails with 1007 before it reads our close. */
    for (long done = 0; done < pad; done += (long)sizeof(fill)) {
        size_t k = pad - done < (long)sizeof(fill) ? (size_t)(pad - done) : sizeof(fill);
        zt_ws_track_fill(&st->up, (uint64_t)done, fill, k);
        zt_upstream_send(c->up, (const char *)fill, k);
    }
    uint8_t frame[ZT_WS_CLOSE_MAX];
    size_t n = zt_ws_close_frame(frame, true, code, reason);
    zt_upstream_send(c->up, (const char *)frame, n);
    st->up.left = 0;
    st->up.flags |= ZT_WS_T_CLOSE_SEEN;
    /* Last: a failed write ends the stream (and frees st) from inside the flush. */
    zt_upstream_flush(c->up);
}

/* Both ends learn why: the browser's CloseEvent carries code and reason (1008 policy
 * violation, 1001 going away), the app gets the same as if the client had closed. */
static void ws_write_close(zt_conn *c, uint16_t code, const char *reason)
{
    if (c->stream == NULL)
        return;
    close_to_upstream(c, state_of(c->stream), code, reason);
    if (c->stream == NULL || c->state != CS_STREAM)
        return; /* the write to the app failed and ended the stream */
    close_to_client(c, state_of(c->stream), code, reason);
}

static const zt_stream_ops ws_ops = {
    .on_client_bytes = ws_on_client_bytes,
    .on_upstream_bytes = ws_on_upstream_bytes,
    .write_close = ws_write_close,
};

/* ---- the upstream's 101 ------------------------------------------------------------------- */

const char *zt_ws_switch_check(zt_conn *c, const zt_http_head *resp)
{
    const char *why = NULL;
    if (c == NULL || !c->req_active || !c->req.websocket)
        return "switching protocols was not requested";
    if (!zt_ws_check_response(&c->head, resp, &why))
        return why;
    return NULL;
}

void zt_ws_switched(zt_conn *c, zt_upconn *up, const char *rest, size_t n)
{
    zt_request *r = &c->req;
    zt_response_ctx ctx = {.body = ZT_BODY_NONE, .websocket = true};
    if (zt_http_write_client_head(&c->out, &up->head, &ctx) < 0) {
        zt_conn_close(c);
        return;
    }
    r->status = 101;
    r->resp_head_sent = true;
    /* The 101 waits in c->out for the stream's Open record like any answer (fail closed). */
    /* Switched during the drain: zt_stream_begin closes it at once (1001), as it does every
     * stream begun then. */
    zt_stream_begin(c, up, ZT_STREAM_WS, &ws_ops, rest, n);
}
