/* WebSockets (RFC 6455) as a byte tunnel: which upgrade requests may pass, the upstream's 101
 * checked against the key we forwarded, and frame boundaries tracked per direction so that a
 * close frame can be put between two frames. It never unmasks, reframes or buffers payload:
 * extensions (permessage-deflate) and subprotocols stay the endpoints' business. */
#ifndef ZT_PROXY_WS_H
#define ZT_PROXY_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "proxy/http.h"

/* ---- the handshake ---- */

typedef enum zt_ws_kind {
    ZT_WS_NONE = 0, /* no WebSocket upgrade asked: a plain request (any other Upgrade is ignored) */
    ZT_WS_UPGRADE,  /* a valid RFC 6455 opening handshake */
    ZT_WS_INVALID,  /* asks for websocket but breaks the rules: refused with status/why */
} zt_ws_kind;

typedef struct zt_ws_check {
    zt_ws_kind kind;
    int status;      /* ZT_WS_INVALID: 400, or 426 (version; answer with Sec-WebSocket-Version) */
    const char *why; /* ZT_WS_INVALID: for the log and the page's detail */
} zt_ws_check;

/* The opening handshake of a request head (validated by zt_http_head_complete): a websocket
 * token in Upgrade makes it a WebSocket request, which must then be GET, HTTP/1.1, Upgrade
 * exactly "websocket" (no list: an h2c or other token beside it is refused), Connection listing
 * "upgrade", one Sec-WebSocket-Key of 16 base64 bytes, Sec-WebSocket-Version 13, no body. An
 * HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8). */
zt_ws_check zt_ws_check_request(const zt_http_head *h);

/* Cross-site WebSocket hijacking: browsers send cookies with a WebSocket from any site, so the
 * Origin must be one of origins[] (normalised "scheme://host[:port]"), or, with none
 * configured, the request's own origin (own_scheme "http"/"https" + the Host as sent). No
 * Origin header (a non-browser client) passes; "null" and anything unparsable do not. */
bool zt_ws_origin_allowed(const zt_http_head *h, const char *own_scheme, const zt_cfg_word *origins,
                          size_t n_origins);
/* The same rule on the values kept from a handshake (a live stream re-checked after a reload):
 * origin NULL when it had no Origin header, host the Host value as sent (NULL: none). */
bool zt_ws_origin_admits(const zt_span *origin, const zt_span *host, const char *own_scheme,
                         const zt_cfg_word *origins, size_t n_origins);

/* An origin written in the config: "http(s)://host[:port]", nothing else. Writes its normal
 * form ("https://app.example" without the default port, lowercase) to out[cap]. */
bool zt_ws_origin_normalise(const char *s, size_t n, char *out, size_t cap);

/* base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")): 28 characters + NUL. */
#define ZT_WS_ACCEPT_LEN 28
int zt_ws_accept(zt_span key, char out[ZT_WS_ACCEPT_LEN + 1]);

/* The upstream's 101 to our upgrade request: Upgrade websocket, Connection listing upgrade,
 * Sec-WebSocket-Accept matching the request's key. false with *why set otherwise. */
bool zt_ws_check_response(const zt_http_head *req, const zt_http_head *resp, const char **why);

/* ---- frames ---- */

/* Frame boundaries of one direction, fed the bytes as they pass (split anywhere). 24 bytes. */
typedef struct zt_ws_track {
    uint64_t left;   /* payload bytes of the current frame still to pass */
    uint8_t hdr[14]; /* the frame header being collected */
    uint8_t have;    /* bytes of it so far */
    uint8_t flags;   /* ZT_WS_T_* */
} zt_ws_track;

enum {
    ZT_WS_T_FROM_CLIENT = 1u << 0, /* client to server: frames must be masked */
    ZT_WS_T_IN_MESSAGE = 1u << 1,  /* a fragmented message is open: continuations expected */
    ZT_WS_T_FAILED = 1u << 2,      /* a protocol error: nothing more is tracked */
    ZT_WS_T_CLOSE_SEEN = 1u << 3,  /* a close frame passed in this direction */
};

void zt_ws_track_init(zt_ws_track *t, bool from_client);
/* Passes up to n bytes, stopping right after the first frame that ends in them when
 * stop_at_boundary. Returns the bytes passed; on a protocol error (reserved opcode, control
 * frame longer than 125 bytes or fragmented, 64-bit length with its top bit set, a mask bit
 * wrong for the direction, a continuation without a message or a new message inside one)
 * the FAILED flag is set, *why says why and the bytes up to the bad header are passed. */
size_t zt_ws_track_feed(zt_ws_track *t, const uint8_t *p, size_t n, bool stop_at_boundary,
                        const char **why);
/* The next n bytes of the current frame's payload, written so that they read as zero bytes
 * once unmasked (the mask key's bytes for a masked frame, zeros otherwise): a frame cut by a
 * close is completed with NULs, which is valid UTF-8 in a text frame. */
void zt_ws_track_fill(const zt_ws_track *t, uint64_t from, uint8_t *out, size_t n);
/* Between two frames: a frame of ours may be sent now without corrupting the stream. */
bool zt_ws_track_at_boundary(const zt_ws_track *t);
bool zt_ws_track_failed(const zt_ws_track *t);

/* Close codes ztgate sends. */
#define ZT_WS_GOING_AWAY 1001
#define ZT_WS_PROTOCOL_ERROR 1002
#define ZT_WS_POLICY 1008
/* A close frame: masked (towards the upstream, with a random mask) or not (towards the
 * client), code then reason (at most 123 bytes, non-printable bytes written as '?').
 * out needs ZT_WS_CLOSE_MAX bytes; returns the frame's length. */
#define ZT_WS_CLOSE_MAX (2 + 4 + 125)
size_t zt_ws_close_frame(uint8_t *out, bool masked, uint16_t code, const char *reason);

#endif
