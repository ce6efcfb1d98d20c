/* WebSocket handshake rules (table of request heads), Origin checks, the Sec-WebSocket-Accept
 * computation (RFC 6455's own example), the 101 check, and the frame tracker fed every frame
 * sequence whole, split at every byte and byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/ws.h"

/* ---- parsing a head the way the proxy does ------------------------------------------------ */

typedef struct parsed {
    llhttp_t p;
    zt_http_head h;
    int rc;
} parsed;

static int cb_begin(llhttp_t *p)
{
    zt_http_head_reset(&((parsed *)p->data)->h);
    return 0;
}
static int cb_url(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_url(&((parsed *)p->data)->h, at, n) < 0 ? HPE_USER : 0;
}
static int cb_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&((parsed *)p->data)->h, at, n) < 0 ? HPE_USER : 0;
}
static int cb_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&((parsed *)p->data)->h, at, n) < 0 ? HPE_USER : 0;
}
static int cb_complete(llhttp_t *p)
{
    parsed *x = p->data;
    x->rc = zt_http_head_complete(&x->h, p);
    return HPE_PAUSED;
}

static void parse(parsed *x, llhttp_type_t type, const char *raw)
{
    static llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = cb_begin;
    s.on_url = cb_url;
    s.on_header_field = cb_field;
    s.on_header_value = cb_value;
    s.on_headers_complete = cb_complete;
    zt_http_head_init(&x->h, 8192, 64);
    x->rc = -2;
    llhttp_init(&x->p, type, &s);
    x->p.data = x;
    zt_http_head_on_input(&x->h, raw, strlen(raw));
    llhttp_execute(&x->p, raw, strlen(raw));
    assert_int_equal(x->rc, 0);
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_HEAD                                                                                    \
    "Host: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                           \
    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"

typedef struct req_case {
    const char *raw;
    zt_ws_kind kind;
    int status;
} req_case;

static const req_case REQS[] = {
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "\r\n", ZT_WS_UPGRADE, 0},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_UPGRADE, 0},
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "Content-Length: 0\r\n\r\n", ZT_WS_UPGRADE, 0},
    /* not a WebSocket request: served as plain HTTP */
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ZT_WS_NONE, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
     "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
     ZT_WS_NONE, 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n", ZT_WS_NONE, 0},
    {"GET /ws HTTP/1.0\r\n" WS_HEAD "\r\n", ZT_WS_NONE, 0},
    /* asks for websocket but breaks a rule */
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"POST /ws HTTP/1.1\r\n" WS_HEAD "Content-Length: 2\r\n\r\nhi", ZT_WS_INVALID, 400},
    {"POST /ws HTTP/1.1\r\n" WS_HEAD "\r\n", ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade, Sec-WebSocket-Key\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    /* a second key/version a CGI-style app would read as the same variable */
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "Sec_WebSocket_Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "sec-websocket_version: 8\r\n\r\n", ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "Sec_WebSocket_Protocol: chat\r\n\r\n", ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "X_Sec_WebSocket_Key: x\r\n\r\n", ZT_WS_UPGRADE, 0},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\n" WS_HEAD "Content-Length: 3\r\n\r\nabc", ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
     ZT_WS_INVALID, 426},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\n\r\n",
     ZT_WS_INVALID, 426},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 426},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400}, /* non-zero trailing bits: a second spelling of a key */
    {"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Key: " KEY
     "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     ZT_WS_INVALID, 400},
};

static void test_request_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(REQS) / sizeof(REQS[0]); i++) {
        parsed x;
        parse(&x, HTTP_REQUEST, REQS[i].raw);
        zt_ws_check v = zt_ws_check_request(&x.h);
        if (v.kind != REQS[i].kind || v.status != REQS[i].status)
            fail_msg("case %zu: kind %d status %d (%s), want %d %d", i, v.kind, v.status,
                     v.why ? v.why : "-", REQS[i].kind, REQS[i].status);
        if (v.kind == ZT_WS_INVALID)
            assert_non_null(v.why);
        zt_http_head_dispose(&x.h);
    }
}

/* ---- Origin --------------------------------------------------------------------------------- */

static bool origin_ok(const char *origin_lines, const char *scheme, const char *const *list)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET /ws HTTP/1.1\r\nHost: app.example:8443\r\n%s\r\n",
             origin_lines);
    parsed x;
    parse(&x, HTTP_REQUEST, raw);
    zt_cfg_word words[4];
    size_t n = 0;
    for (; list != NULL && list[n] != NULL; n++)
        words[n].s = (char *)list[n];
    bool ok = zt_ws_origin_allowed(&x.h, scheme, words, n);
    zt_http_head_dispose(&x.h);
    return ok;
}

static bool own_origin_ok(const char *host, const char *origin, const char *scheme)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n\r\n", host, origin);
    parsed x;
    parse(&x, HTTP_REQUEST, raw);
    bool ok = zt_ws_origin_allowed(&x.h, scheme, NULL, 0);
    zt_http_head_dispose(&x.h);
    return ok;
}

/* The request's own origin against what browsers send: case, default ports either side, a
 * trailing dot, IDN (browsers send the A-label), lists and empty values. */
static void test_origin_edges(void **state)
{
    (void)state;
    assert_true(own_origin_ok("App.Example.", "https://app.example", "https"));
    assert_true(own_origin_ok("app.example", "https://app.example:443", "https"));
    assert_true(own_origin_ok("app.example:443", "https://app.example", "https"));
    assert_true(own_origin_ok("app.example:80", "http://app.example", "http"));
    assert_false(own_origin_ok("app.example", "http://app.example:443", "https"));
    assert_false(own_origin_ok("app.example", "https://app.example:80", "http"));
    assert_false(own_origin_ok("app.example", "http://app.example", "https"));
    assert_false(own_origin_ok("app.example:8443", "https://app.example", "https"));
    assert_true(own_origin_ok("xn--bcher-kva.example", "https://xn--bcher-kva.example", "https"));
    assert_false(own_origin_ok("xn--bcher-kva.example",
                               "https://b\xc3\xbc"
                               "cher.example",
                               "https"));
    assert_false(
        own_origin_ok("app.example", "https://app.example, https://evil.example", "https"));
    assert_false(
        own_origin_ok("app.example", "https://evil.example, https://app.example", "https"));
    assert_false(own_origin_ok("app.example", "https://app.example%2eevil.example", "https"));
    assert_false(own_origin_ok("app.example", "https://app.example\\@evil.example", "https"));
    assert_false(own_origin_ok("app.example", "//app.example", "https"));
    assert_false(own_origin_ok("app.example", "https:app.example", "https"));
    assert_false(own_origin_ok("[::1]", "https://[::1%25eth0]", "https"));
    assert_true(own_origin_ok("[::1]:8443", "https://[::1]:8443", "https"));
}

static void test_origin(void **state)
{
    (void)state;
    /* default: the request's own origin only */
    assert_true(origin_ok("", "https", NULL));
    assert_true(origin_ok("Origin: https://app.example:8443\r\n", "https", NULL));
    assert_true(origin_ok("Origin: HTTPS://App.Example:8443\r\n", "https", NULL));
    assert_false(origin_ok("Origin: http://app.example:8443\r\n", "https", NULL));
    assert_false(origin_ok("Origin: https://app.example\r\n", "https", NULL));
    assert_false(origin_ok("Origin: https://evil.example:8443\r\n", "https", NULL));
    assert_false(origin_ok("Origin: https://app.example.evil.example:8443\r\n", "https", NULL));
    assert_false(origin_ok("Origin: null\r\n", "https", NULL));
    assert_false(origin_ok("Origin: https://app.example:8443/\r\n", "https", NULL));
    assert_false(origin_ok("Origin: https://u@app.example:8443\r\n", "https", NULL));
    assert_false(origin_ok(
        "Origin: https://app.example:8443\r\nOrigin: https://app.example:8443\r\n", "https", NULL));
    /* a configured list replaces the default */
    static const char *const list[] = {"https://portal.example", "http://localhost:3000", NULL};
    assert_true(origin_ok("Origin: https://portal.example\r\n", "https", list));
    assert_true(origin_ok("Origin: https://portal.example:443\r\n", "https", list));
    assert_true(origin_ok("Origin: http://localhost:3000\r\n", "https", list));
    assert_false(origin_ok("Origin: https://app.example:8443\r\n", "https", list));
    assert_false(origin_ok("Origin: http://portal.example\r\n", "https", list));
}

static void test_origin_normalise(void **state)
{
    (void)state;
    char out[300];
    assert_true(zt_ws_origin_normalise("https://A.Example:443", 21, out, sizeof(out)));
    assert_string_equal(out, "https://a.example");
    assert_true(zt_ws_origin_normalise("http://a.example:8080", 21, out, sizeof(out)));
    assert_string_equal(out, "http://a.example:8080");
    assert_true(zt_ws_origin_normalise("http://[::1]:80", 15, out, sizeof(out)));
    assert_string_equal(out, "http://[::1]");
    static const char *const bad[] = {
        "a.example",       "ftp://a.example",     "https://", "https://a.example/", "https://a:0",
        "https://a:99999", "https://a.example#x", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_ws_origin_normalise(bad[i], strlen(bad[i]), out, sizeof(out)));
}

/* ---- Sec-WebSocket-Accept and the 101 -------------------------------------------------------- */

static void test_accept_rfc_example(void **state)
{
    (void)state;
    char out[ZT_WS_ACCEPT_LEN + 1];
    assert_int_equal(zt_ws_accept(ZT_SPAN_LIT(KEY), out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 §1.3 */
    assert_int_not_equal(zt_ws_accept(ZT_SPAN_LIT("short"), out), 0);
}

static bool response_ok(const char *raw)
{
    parsed req, resp;
    parse(&req, HTTP_REQUEST, "GET /ws HTTP/1.1\r\n" WS_HEAD "\r\n");
    parse(&resp, HTTP_RESPONSE, raw);
    const char *why = NULL;
    bool ok = zt_ws_check_response(&req.h, &resp.h, &why);
    assert_true(ok == (why == NULL));
    zt_http_head_dispose(&req.h);
    zt_http_head_dispose(&resp.h);
    return ok;
}

static void test_response(void **state)
{
    (void)state;
    assert_true(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
    assert_false(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                             "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n"));
    assert_false(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\n\r\n"));
    assert_false(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                             "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
    assert_false(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
    assert_false(response_ok("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                             "Content-Length: 0\r\n\r\n"));
}

/* ---- frames ------------------------------------------------------------------------------- */

typedef struct frame_case {
    const char *name;
    bool from_client;
    const uint8_t *bytes;
    size_t n;
    size_t frames;  /* frame ends seen when valid */
    bool bad;       /* a protocol error somewhere */
    size_t bad_pos; /* bytes passed before it */
} frame_case;

/* masked "Hi" text, unmasked 2-byte binary, a ping, a 126-byte binary (16-bit length), a close */
static const uint8_t CLIENT_OK[] = {
    0x81, 0x82, 1, 2, 3, 4, 'H' ^ 1, 'i' ^ 2, /* text, masked */
    0x89, 0x80, 9, 9, 9, 9,                   /* ping, empty */
    0x01, 0x81, 0, 0, 0, 0, 'a',              /* text, not FIN */
    0x80, 0x81, 0, 0, 0, 0, 'b',              /* continuation, FIN */
    0x88, 0x82, 0, 0, 0, 0, 0x03,    0xE8,    /* close 1000 */
};
static const uint8_t SERVER_OK[] = {
    0x82, 0x02, 0xAA, 0xBB, /* binary */
    0x82, 0x00,             /* empty binary */
    0x8A, 0x00,             /* pong */
};
static const uint8_t RESERVED_OP[] = {0x81, 0x80, 0, 0, 0, 0, 0x83, 0x80, 0, 0, 0, 0};
static const uint8_t BIG_CONTROL[] = {0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0};
static const uint8_t FRAG_CONTROL[] = {0x09, 0x80, 0, 0, 0, 0};
static const uint8_t TOP_BIT[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t UNMASKED[] = {0x81, 0x01, 'x'};
static const uint8_t LONE_CONT[] = {0x80, 0x80, 0, 0, 0, 0};
static const uint8_t NEW_IN_FRAG[] = {0x01, 0x80, 0, 0, 0, 0, 0x81, 0x80, 0, 0, 0, 0};
static const uint8_t MASKED_DOWN[] = {0x82, 0x80, 0, 0, 0, 0};

static const frame_case FRAMES[] = {
    {"client ok", true, CLIENT_OK, sizeof(CLIENT_OK), 5, false, 0},
    {"server ok", false, SERVER_OK, sizeof(SERVER_OK), 3, false, 0},
    {"reserved opcode", true, RESERVED_OP, sizeof(RESERVED_OP), 0, true, 6},
    {"control over 125", true, BIG_CONTROL, sizeof(BIG_CONTROL), 0, true, 0},
    {"fragmented control", true, FRAG_CONTROL, sizeof(FRAG_CONTROL), 0, true, 0},
    {"length top bit", false, TOP_BIT, sizeof(TOP_BIT), 0, true, 0},
    {"unmasked from client", true, UNMASKED, sizeof(UNMASKED), 0, true, 0},
    {"continuation alone", true, LONE_CONT, sizeof(LONE_CONT), 0, true, 0},
    {"message inside message", true, NEW_IN_FRAG, sizeof(NEW_IN_FRAG), 0, true, 6},
    {"masked from upstream", false, MASKED_DOWN, sizeof(MASKED_DOWN), 0, true, 0},
};

/* Feeds c in pieces of at most `step` bytes (0: cut once at `cut`), stopping at each boundary
 * to count frames; returns the bytes passed. */
static size_t run_frames(const frame_case *c, size_t step, size_t cut, size_t *frames, bool *bad)
{
    zt_ws_track t;
    zt_ws_track_init(&t, c->from_client);
    size_t pos = 0;
    *frames = 0;
    *bad = false;
    while (pos < c->n) {
        size_t end = step != 0 ? pos + step : (pos < cut ? cut : c->n);
        if (end > c->n)
            end = c->n;
        while (pos < end) {
            const char *why = NULL;
            size_t k = zt_ws_track_feed(&t, c->bytes + pos, end - pos, true, &why);
            pos += k;
            if (zt_ws_track_failed(&t)) {
                assert_non_null(why);
                *bad = true;
                return pos;
            }
            assert_null(why);
            if (zt_ws_track_at_boundary(&t))
                (*frames)++;
            else
                assert_int_equal(pos, end); /* stopped early only at a boundary */
        }
    }
    return pos;
}

static void test_frames_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(FRAMES) / sizeof(FRAMES[0]); i++) {
        const frame_case *c = &FRAMES[i];
        for (size_t cut = 0; cut <= c->n; cut++) {
            for (size_t step = 0; step <= 1; step++) {
                size_t frames = 0;
                bool bad = false;
                size_t passed = run_frames(c, step, cut, &frames, &bad);
                if (bad != c->bad)
                    fail_msg("%s (cut %zu step %zu): bad %d", c->name, cut, step, bad);
                if (!c->bad && frames != c->frames)
                    fail_msg("%s: %zu frames, want %zu", c->name, frames, c->frames);
                if (c->bad && step == 0 && cut == 0 && passed != c->bad_pos)
                    fail_msg("%s: %zu bytes passed, bad header at %zu", c->name, passed,
                             c->bad_pos);
            }
        }
    }
}

static void test_frames_long_lengths(void **state)
{
    (void)state;
    /* 64-bit length of 70000 split: header alone, then the payload in odd pieces */
    uint8_t hdr[10] = {0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70};
    zt_ws_track t;
    zt_ws_track_init(&t, false);
    const char *why = NULL;
    assert_int_equal(zt_ws_track_feed(&t, hdr, 3, false, &why), 3);
    assert_false(zt_ws_track_at_boundary(&t));
    assert_int_equal(zt_ws_track_feed(&t, hdr + 3, 7, false, &why), 7);
    assert_false(zt_ws_track_at_boundary(&t));
    static uint8_t payload[70001];
    assert_int_equal(zt_ws_track_feed(&t, payload, 69999, false, &why), 69999);
    assert_false(zt_ws_track_at_boundary(&t));
    /* the last payload byte and the start of a next frame: stop at the boundary */
    payload[1] = 0x82;
    assert_int_equal(zt_ws_track_feed(&t, payload, 2, true, &why), 1);
    assert_true(zt_ws_track_at_boundary(&t));
}

static void test_close_frame(void **state)
{
    (void)state;
    uint8_t out[ZT_WS_CLOSE_MAX];
    size_t n = zt_ws_close_frame(out, false, ZT_WS_POLICY, "session revoked");
    assert_int_equal(n, 2 + 2 + 15);
    assert_int_equal(out[0], 0x88);
    assert_int_equal(out[1], 17);
    assert_int_equal(out[2] << 8 | out[3], 1008);
    assert_memory_equal(out + 4, "session revoked", 15);
    /* the frame is valid for the tracker of its direction */
    zt_ws_track t;
    zt_ws_track_init(&t, false);
    const char *why = NULL;
    assert_int_equal(zt_ws_track_feed(&t, out, n, false, &why), n);
    assert_true(zt_ws_track_at_boundary(&t));

    char longr[300];
    memset(longr, 'x', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    longr[3] = '\n';
    n = zt_ws_close_frame(out, true, ZT_WS_GOING_AWAY, longr);
    assert_int_equal(n, 2 + 4 + 125);
    assert_int_equal(out[1], 0x80 | 125);
    uint8_t code_hi = out[6] ^ out[2], code_lo = out[7] ^ out[3];
    assert_int_equal(code_hi << 8 | code_lo, 1001);
    assert_int_equal(out[6 + 5] ^ out[2 + (5 & 3)], '?'); /* the newline, made printable */
    zt_ws_track_init(&t, true);
    assert_int_equal(zt_ws_track_feed(&t, out, n, false, &why), n);
    assert_true(zt_ws_track_at_boundary(&t));
    assert_true(t.flags & ZT_WS_T_CLOSE_SEEN);
}

/* A masked frame cut by a close is completed with bytes that unmask to zero (valid UTF-8 in a
 * text frame), whatever the offset into the payload and the split of the fill. */
static void test_fill_unmasks_to_zero(void **state)
{
    (void)state;
    const uint8_t key[4] = {0xFF, 0xFE, 0xFD, 0xFC};
    uint8_t hdr[8] = {0x81, 0x80 | 126, 0x01, 0x00, 0xFF, 0xFE, 0xFD, 0xFC}; /* text, 256 bytes */
    for (size_t sent = 0; sent < 256; sent += 37) {
        zt_ws_track t;
        zt_ws_track_init(&t, true);
        const char *why = NULL;
        static uint8_t payload[256];
        assert_int_equal(zt_ws_track_feed(&t, hdr, sizeof(hdr), false, &why), sizeof(hdr));
        assert_int_equal(zt_ws_track_feed(&t, payload, sent, false, &why), sent);
        size_t rest = 256 - sent, first = rest / 3;
        uint8_t fill[256];
        zt_ws_track_fill(&t, 0, fill, first);
        zt_ws_track_fill(&t, first, fill + first, rest - first);
        for (size_t i = 0; i < rest; i++)
            if ((fill[i] ^ key[(sent + i) & 3]) != 0)
                fail_msg("sent %zu: fill byte %zu unmasks to %#x", sent, i,
                         fill[i] ^ key[(sent + i) & 3]);
    }
    /* unmasked (upstream to client): plain zeros */
    zt_ws_track t;
    zt_ws_track_init(&t, false);
    const uint8_t down[3] = {0x81, 0x05, 'a'};
    const char *why = NULL;
    assert_int_equal(zt_ws_track_feed(&t, down, 3, false, &why), 3);
    uint8_t fill[4] = {1, 1, 1, 1};
    zt_ws_track_fill(&t, 0, fill, 4);
    assert_memory_equal(fill, "\0\0\0\0", 4);
}

static void test_track_size(void **state)
{
    (void)state;
    /* two trackers and a pending close fit the stream's 64 bytes of kind state */
    assert_true(2 * sizeof(zt_ws_track) + 16 <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table),      cmocka_unit_test(test_origin),
        cmocka_unit_test(test_origin_edges),       cmocka_unit_test(test_origin_normalise),
        cmocka_unit_test(test_accept_rfc_example), cmocka_unit_test(test_response),
        cmocka_unit_test(test_frames_every_split), cmocka_unit_test(test_frames_long_lengths),
        cmocka_unit_test(test_close_frame),        cmocka_unit_test(test_fill_unmasks_to_zero),
        cmocka_unit_test(test_track_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
