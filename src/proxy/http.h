/* The HTTP/1.1 message model between llhttp and the proxy: collects a request or response head
 * from llhttp callbacks under hard limits, enforces request hygiene (smuggling, header
 * injection, Host), and writes the heads we send on (hop-by-hop and X-ZT-* headers removed,
 * X-Forwarded-* set, our own framing). It never forwards anything it did not validate. */
#ifndef ZT_PROXY_HTTP_H
#define ZT_PROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "http/status.h"
#include "lib/buf.h"
#include "lib/str.h"

#define ZT_HTTP_HEADERS_HARD_MAX 1024

typedef enum zt_body_kind {
    ZT_BODY_NONE = 0, /* no body */
    ZT_BODY_LENGTH,   /* Content-Length framed */
    ZT_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
    ZT_BODY_UNTIL_EOF /* responses only: read until the upstream closes */
} zt_body_kind;

typedef struct zt_header {
    zt_span name;
    zt_span value;
} zt_header;

/* A request or response head as it arrives. Spans point into `raw`, valid until reset. */
typedef struct zt_http_head {
    zt_buf raw; /* copied url/status/field/value bytes; limit = max head bytes */
    unsigned max_headers;
    zt_header *headers; /* n_headers entries, capacity max_headers */
    unsigned n_headers;
    /* collection state (private): offsets into raw while fragments arrive, since raw may move */
    size_t url_off, url_len;
    int last_cb;          /* 0 none, 1 url, 2 field, 3 value */
    unsigned cap_headers; /* allocated entries of headers and offsets (<= max_headers) */
    size_t *offsets;      /* 4 per header: name_off, name_len, value_off, value_len */
    bool done;            /* complete ran: later field/value callbacks are trailers */
    bool spans_ready;     /* url/headers spans built from the offsets */
    /* the buffer llhttp is executing (zt_http_head_on_input): fragment continuity checks */
    const char *in_p, *in_end;
    const char *frag_end; /* just after the last fragment; NULL when none may continue */
    const char *scan_pos; /* obs-fold scanner position in the current input, NULL = idle */
    bool scan_prev_lf, scan_done;
    char host_store[256]; /* h->host points here */

    /* filled by zt_http_head_complete */
    bool is_request;
    int method; /* llhttp_method_t for requests */
    int status; /* responses */
    uint8_t http_major, http_minor;
    zt_span url;        /* request-target as received */
    zt_span host;       /* Host header (requests), lowercased copy, without port and without
                         * one trailing dot; an IPv6 literal keeps its brackets ("[::1]").
                         * Empty for an HTTP/1.0 request without Host. */
    unsigned host_port; /* port in the Host header, 0 when absent */
    zt_body_kind body;
    uint64_t content_length;
    bool keep_alive;      /* per llhttp_should_keep_alive (false for UNTIL_EOF responses) */
    bool expect_continue; /* Expect: 100-continue */
    const char *error;    /* why the head was refused (for the 400 page and the log) */
    int error_status;     /* 400, 413 (body), 414 (uri), 417 (expect), 431 (headers),
                           * 505 (version), 500 (internal); always 502 for responses */
} zt_http_head;

void zt_http_head_init(zt_http_head *h, size_t max_bytes, unsigned max_headers);
void zt_http_head_dispose(zt_http_head *h);
void zt_http_head_reset(zt_http_head *h);

/* REQUIRED: call with the exact buffer right before every llhttp_execute() on it (the
 * registration survives zt_http_head_reset). Once a head has begun, each buffer is scanned for
 * obs-fold, which llhttp 8.1 accepts silently in strict and loose mode alike, and the callbacks
 * check that fragments of one token are contiguous. A callback whose bytes are not inside the
 * registered buffer fails closed (500); an obs-fold found here makes the next callback or
 * zt_http_head_complete return -1. */
void zt_http_head_on_input(zt_http_head *h, const char *data, size_t n);

/* llhttp callback adapters. Return 0, or -1 with h->error / h->error_status set (the caller
 * returns HPE_USER from its llhttp callback). Fragments of one token may arrive in pieces.
 * After zt_http_head_complete, field/value callbacks are chunked-body trailers: ignored
 * (dropped, never forwarded). */
int zt_http_head_on_url(zt_http_head *h, const char *at, size_t n);
int zt_http_head_on_field(zt_http_head *h, const char *at, size_t n);
int zt_http_head_on_value(zt_http_head *h, const char *at, size_t n);
/* Called from on_headers_complete: finishes the header list, reads method/status/version and
 * keep-alive from the parser, validates framing and hygiene. 0 or -1 with h->error.
 * Responses: body is NONE for 1xx, 204 and 304, CHUNKED, LENGTH, else UNTIL_EOF; a response
 * to HEAD is the caller's to know. Whenever the caller treats a response as bodiless (h->body
 * NONE, or HEAD) its on_headers_complete must return 1, or llhttp reads a body announced by
 * Content-Length/Transfer-Encoding (e.g. "204" with "Content-Length: 5"). */
int zt_http_head_complete(zt_http_head *h, const llhttp_t *parser);

/* First header with this name (case-insensitive), or NULL. */
const zt_header *zt_http_head_find(const zt_http_head *h, const char *name);

/* The Host header's rules for any authority (a reg-name or a bracketed IPv6 literal, optional
 * port 1..65535, no userinfo or anything else): the lowercased host without port and one
 * trailing dot into out[cap], its length into *out_n, the port (0 when absent) into *port. */
bool zt_http_parse_authority(zt_span a, char *out, size_t cap, size_t *out_n, unsigned *port);

/* Path normalisation results (see path.h) travel with the request. */
typedef struct zt_http_target {
    char *path; /* normalised path, NUL-terminated, owned by the caller's buffer */
    size_t path_len;
    zt_span query; /* without '?'; n == 0 and has_query false when absent */
    bool has_query;
    bool encoded_slash; /* %2F or %5C present (kept encoded); routing decides if allowed */
} zt_http_target;

/* Split h->url (origin-form, or absolute-form http(s)://authority whose authority must equal
 * Host, port included) into a path normalised by zt_path_normalize and a query checked by
 * zt_path_query_valid. '*' (asterisk-form), authority-form and any '#' are refused.
 * out_path must have room for h->url.n + 1 bytes. 0, or -1 with *why set. */
int zt_http_target_parse(const zt_http_head *h, char *out_path, zt_http_target *t,
                         const char **why);

/* What the proxy adds when it writes the request head for the upstream. */
typedef struct zt_forward_ctx {
    const char *client_ip;   /* socket peer address */
    bool peer_is_trusted;    /* peer is a configured trusted proxy: keep its X-Forwarded-* */
    const char *proto;       /* "http" or "https": scheme the client used with us */
    const char *host_header; /* Host to send upstream */
    const char *orig_host;   /* Host the client sent (for X-Forwarded-Host) */
    const char *path;        /* base_path + normalised path */
    zt_span query;
    bool has_query;
    const zt_header *extra; /* identity headers added by later stages (X-ZT-*) */
    unsigned n_extra;
    zt_body_kind body; /* framing used upstream: NONE, LENGTH or CHUNKED */
    uint64_t content_length;
    bool websocket; /* a validated WebSocket handshake (proxy/ws.h): the upgrade is asked again
                     * with our own "Connection: Upgrade" and "Upgrade: websocket" */
} zt_forward_ctx;

/* Request line + filtered headers + ctx headers + framing + blank line, appended to out.
 * Drops HTTP2-Settings (h2c never reaches an upstream), hop-by-hop headers (Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
 * Proxy-Authenticate), every header named in Connection, every client X-ZT-*, Host, Content-Length,
 * Expect, Forwarded, X-Original-URL, X-Rewrite-URL and X-Forwarded-For/-Proto/-Host (re-set from
 * ctx; a trusted peer's values are kept, its X-Forwarded-For extended); from an untrusted peer also
 * every other X-Forwarded-* and every other header that names the original client (X-Real-IP,
 * X-Client-IP, True-Client-IP, CF-Connecting-IP, X-Original-Forwarded-For, X-Cluster-Client-IP,
 * Fastly-Client-IP, X-Original-Host, ...: CLIENT_ORIGIN_HEADERS in http.c). Names match with '_'
 * taken as '-' (X_ZT_User is X-ZT-User to a CGI/WSGI upstream). -EINVAL when req is not a validated
 * request head or a ctx string or extra header carries bytes that could split the head; out is
 * unchanged on any error. */
int zt_http_write_upstream_head(zt_buf *out, const zt_http_head *req, const zt_forward_ctx *ctx);

/* Response head for the client from an upstream response: status line (HTTP/1.1, our reason
 * phrase), filtered headers (hop-by-hop, Connection-named, Content-Length, Transfer-Encoding
 * removed), framing chosen by the caller (NONE on a status that may carry a body writes
 * "Content-Length: 0"; 1xx/204/304 get no framing), "Connection: close" when !keep_alive or
 * UNTIL_EOF. For head_request the upstream's own Content-Length is repeated, nothing else. */
typedef struct zt_response_ctx {
    zt_body_kind body;       /* framing towards the client */
    uint64_t content_length; /* for ZT_BODY_LENGTH */
    bool keep_alive;
    bool head_request; /* response to HEAD: keep Content-Length as sent, no body */
    bool websocket;    /* the upstream's validated 101 to a WebSocket handshake: our own
                        * "Upgrade: websocket" and "Connection: Upgrade", no Connection: close */
} zt_response_ctx;

int zt_http_write_client_head(zt_buf *out, const zt_http_head *resp, const zt_response_ctx *ctx);

/* Chunked framing helpers for re-encoding bodies. */
int zt_http_write_chunk_header(zt_buf *out, size_t n); /* "<hex>\r\n" */
int zt_http_write_chunk_end(zt_buf *out);              /* "0\r\n\r\n" */
/* One whole chunk: "<hex>\r\n" data "\r\n". n == 0 writes nothing (it would end the body). */
int zt_http_write_chunk(zt_buf *out, const void *data, size_t n);

#endif
