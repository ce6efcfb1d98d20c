/* HTTP/1.1 message glue between llhttp and the proxy. llhttp (8.1, built in its loose mode)
 * finds the tokens and the framing; this file keeps them under limits, refuses what llhttp lets
 * through (obs-fold, "Name :", non-exact Transfer-Encoding, bad Host, other versions), checks
 * that our framing verdict equals llhttp's, and writes the heads we send on. */
#include "proxy/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/path.h"

enum { CB_NONE = 0, CB_URL, CB_FIELD, CB_VALUE };

/* Largest Content-Length we take: fits an off_t and every signed 64-bit consumer. */
#define ZT_HTTP_MAX_CONTENT_LENGTH INT64_MAX

#define ZT_HOST_NAME_MAX 253

/* ---- lifecycle ---------------------------------------------------------------------------- */

void zt_http_head_init(zt_http_head *h, size_t max_bytes, unsigned max_headers)
{
    memset(h, 0, sizeof(*h));
    /* A zero limit means "unlimited" to zt_buf; a peer-filled buffer never gets that. */
    zt_buf_init(&h->raw, max_bytes > 0 ? max_bytes : 1);
    h->max_headers =
        max_headers < ZT_HTTP_HEADERS_HARD_MAX ? max_headers : ZT_HTTP_HEADERS_HARD_MAX;
    zt_http_head_reset(h);
}

void zt_http_head_dispose(zt_http_head *h)
{
    if (h == NULL)
        return;
    zt_buf_dispose(&h->raw);
    free(h->headers);
    free(h->offsets);
    h->headers = NULL;
    h->offsets = NULL;
    h->cap_headers = 0;
    h->n_headers = 0;
}

void zt_http_head_reset(zt_http_head *h)
{
    zt_buf_reset(&h->raw);
    h->n_headers = 0;
    h->url_off = h->url_len = 0;
    h->last_cb = CB_NONE;
    h->done = false;
    h->spans_ready = false;
    h->frag_end = NULL;
    h->scan_pos = NULL;
    h->scan_prev_lf = false;
    h->scan_done = false;
    h->host_store[0] = '\0';
    h->is_request = false;
    h->method = 0;
    h->status = 0;
    h->http_major = h->http_minor = 0;
    h->url = (zt_span){"", 0};
    h->host = (zt_span){h->host_store, 0};
    h->host_port = 0;
    h->body = ZT_BODY_NONE;
    h->content_length = 0;
    h->keep_alive = false;
    h->expect_continue = false;
    h->error = NULL;
    h->error_status = 0;
}

/* ---- collecting fragments ----------------------------------------------------------------- */

static void build_spans(zt_http_head *h)
{
    const char *base = h->raw.data != NULL ? h->raw.data : "";
    h->url = (zt_span){base + h->url_off, h->url_len};
    for (unsigned i = 0; i < h->n_headers; i++) {
        const size_t *o = h->offsets + 4 * (size_t)i;
        h->headers[i].name = (zt_span){base + o[0], o[1]};
        /* llhttp drops leading OWS but keeps trailing OWS ("chunked "); neither is part of
         * the field value (RFC 9110 §5.5). */
        h->headers[i].value = zt_span_trim((zt_span){base + o[2], o[3]});
    }
    h->spans_ready = true;
}

/* A refused response is the upstream's fault: the client gets 502 whatever the reason. */
static int fail(zt_http_head *h, int status, const char *why)
{
    if (h->error == NULL) {
        h->error = why;
        h->error_status = h->is_request ? status : 502;
    }
    /* Spans stay usable for the error page and the log. */
    if (!h->spans_ready)
        build_spans(h);
    return -1;
}

/* obs-fold: a header line that starts with SP or HTAB continues the previous one. llhttp hands
 * the continuation over as more value bytes (or, after an empty value, as the value itself),
 * indistinguishable from a fragment, so the head's bytes are scanned as they pass, up to the
 * empty line that ends it. RFC 9112 §5.2 allows a 400; a gateway cannot take the risk that an
 * upstream unfolds differently. */
static int scan_fold(zt_http_head *h)
{
    if (h->scan_pos == NULL)
        return 0;
    const char *p = h->scan_pos;
    bool lf = h->scan_prev_lf;
    while (p < h->in_end && !h->scan_done) {
        if (lf && (*p == ' ' || *p == '\t'))
            return fail(h, 400, "obs-fold (a header line continued on the next line)");
        if (lf && (*p == '\r' || *p == '\n'))
            h->scan_done = true;
        lf = *p == '\n';
        p++;
    }
    h->scan_pos = p;
    h->scan_prev_lf = lf;
    return 0;
}

void zt_http_head_on_input(zt_http_head *h, const char *data, size_t n)
{
    /* llhttp only cuts a token at the end of its input, so a token may go on only if the last
     * fragment reached the end of the previous buffer, and then only at the new one's start. */
    if (h->frag_end != NULL)
        h->frag_end = h->frag_end == h->in_end ? data : NULL;
    h->in_p = data;
    h->in_end = data + n;
    /* Once a head has begun, every buffer is scanned whole before llhttp sees it: a buffer
     * may carry the LF and the SP of a fold without causing any callback. */
    if (h->scan_pos != NULL && h->error == NULL) {
        h->scan_pos = data;
        scan_fold(h);
    }
}

static bool in_input(const zt_http_head *h, const char *at, size_t n)
{
    if (h->in_p == NULL || at == NULL)
        return false;
    uintptr_t a = (uintptr_t)at, b = (uintptr_t)h->in_p, e = (uintptr_t)h->in_end;
    return a >= b && a <= e && n <= e - a;
}

static int grow_headers(zt_http_head *h)
{
    unsigned cap = h->cap_headers > 0 ? h->cap_headers * 2 : 16;
    if (cap > h->max_headers)
        cap = h->max_headers;
    zt_header *hs = realloc(h->headers, cap * sizeof(*hs));
    if (hs == NULL)
        return -1;
    h->headers = hs;
    size_t *off = realloc(h->offsets, (size_t)cap * 4 * sizeof(*off));
    if (off == NULL)
        return -1;
    h->offsets = off;
    h->cap_headers = cap;
    return 0;
}

static size_t *cur_offsets(zt_http_head *h)
{
    return h->offsets + 4 * (size_t)(h->n_headers - 1);
}

static int begin_token(zt_http_head *h, int kind)
{
    if (kind == CB_URL) {
        if (h->last_cb != CB_NONE)
            return fail(h, 400, "request target after header fields");
        h->url_off = h->raw.len;
        h->url_len = 0;
        return 0;
    }
    if (kind == CB_VALUE) {
        if (h->last_cb != CB_FIELD)
            return fail(h, 400, "header value without a name");
        size_t *o = cur_offsets(h);
        o[2] = h->raw.len;
        o[3] = 0;
        return 0;
    }
    if (h->n_headers >= h->max_headers)
        return fail(h, 431, "too many header fields");
    if (h->n_headers == h->cap_headers && grow_headers(h) < 0)
        return fail(h, 500, "out of memory");
    h->n_headers++;
    size_t *o = cur_offsets(h);
    o[0] = o[2] = h->raw.len;
    o[1] = o[3] = 0;
    return 0;
}

static int append_bytes(zt_http_head *h, int kind, const char *at, size_t n)
{
    int rc = zt_buf_append(&h->raw, at, n);
    if (rc == -E2BIG)
        return kind == CB_URL ? fail(h, 414, "request target too long")
                              : fail(h, 431, "request header fields too large");
    if (rc < 0)
        return fail(h, 500, "out of memory");
    if (kind == CB_URL)
        h->url_len += n;
    else if (kind == CB_FIELD)
        cur_offsets(h)[1] += n;
    else
        cur_offsets(h)[3] += n;
    return 0;
}

static int collect(zt_http_head *h, int kind, const char *at, size_t n)
{
    if (h->done)
        return 0; /* trailers after a chunked body: never forwarded, never stored */
    if (h->error != NULL)
        return -1;
    /* A request head always starts with its target; complete() confirms from the parser. */
    if (kind == CB_URL && h->last_cb == CB_NONE)
        h->is_request = true;
    if (!in_input(h, at, n))
        return fail(h, 500, "internal: zt_http_head_on_input() was not given this buffer");
    if (h->scan_pos == NULL && !h->scan_done) {
        h->scan_pos = at;
        h->scan_prev_lf = false;
    }
    if (scan_fold(h) < 0)
        return -1;
    if (kind == h->last_cb) {
        /* A second fragment of the same token must follow the first byte for byte; anything
         * else means llhttp skipped over bytes between them (a fold, a lost empty value). */
        if (at != h->frag_end)
            return fail(h, 400,
                        kind == CB_VALUE ? "obs-fold (a header line continued on the next line)"
                                         : "request head token split unexpectedly");
    } else if (begin_token(h, kind) < 0) {
        return -1;
    }
    if (append_bytes(h, kind, at, n) < 0)
        return -1;
    h->frag_end = at + n;
    h->last_cb = kind;
    return 0;
}

int zt_http_head_on_url(zt_http_head *h, const char *at, size_t n)
{
    return collect(h, CB_URL, at, n);
}

int zt_http_head_on_field(zt_http_head *h, const char *at, size_t n)
{
    return collect(h, CB_FIELD, at, n);
}

int zt_http_head_on_value(zt_http_head *h, const char *at, size_t n)
{
    return collect(h, CB_VALUE, at, n);
}

/* ---- validating a complete head ----------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool token_ok(zt_span s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!is_tchar((unsigned char)s.p[i]))
            return false;
    return true;
}

/* field-value bytes: HTAB, visible ASCII, SP, obs-text. Never NUL, CR, LF, other controls, DEL. */
static bool value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return false;
    }
    return true;
}

static int check_fields(zt_http_head *h)
{
    for (unsigned i = 0; i < h->n_headers; i++) {
        const zt_header *f = &h->headers[i];
        /* Loose llhttp passes "Name :" as the name "Name " (and ": x" as an empty one), which
         * it then does not recognise as Content-Length/Transfer-Encoding. */
        if (!token_ok(f->name))
            return fail(h, 400, "invalid header field name");
        if (!value_ok(f->value.p, f->value.n))
            return fail(h, 400, "invalid character in a header field value");
    }
    return 0;
}

static int check_version(zt_http_head *h)
{
    if (h->http_major == 1 && (h->http_minor == 0 || h->http_minor == 1))
        return 0;
    return fail(h, 505, "HTTP version not supported");
}

typedef struct framing {
    unsigned n_cl, n_te;
    uint64_t cl;
} framing;

/* RFC 9112 §6.1-6.3 with no leniency: one Content-Length of digits, or one Transfer-Encoding
 * that is exactly "chunked", never both, no Transfer-Encoding in HTTP/1.0. */
static int read_framing(zt_http_head *h, framing *f)
{
    memset(f, 0, sizeof(*f));
    for (unsigned i = 0; i < h->n_headers; i++) {
        const zt_header *x = &h->headers[i];
        if (zt_span_ieq_cstr(x->name, "Content-Length")) {
            unsigned long long v = 0;
            if (++f->n_cl > 1)
                return fail(h, 400, "duplicate Content-Length");
            if (!zt_parse_u64(x->value.p, x->value.n, ZT_HTTP_MAX_CONTENT_LENGTH, &v))
                return fail(h, 400, "invalid Content-Length");
            f->cl = v;
        } else if (zt_span_ieq_cstr(x->name, "Transfer-Encoding")) {
            if (++f->n_te > 1)
                return fail(h, 400, "several Transfer-Encoding headers");
            if (!zt_span_ieq_cstr(x->value, "chunked"))
                return fail(h, 400, "Transfer-Encoding other than chunked");
        }
    }
    if (f->n_cl > 0 && f->n_te > 0)
        return fail(h, 400, "Content-Length together with Transfer-Encoding");
    if (f->n_te > 0 && h->http_minor == 0)
        return fail(h, 400, "Transfer-Encoding in an HTTP/1.0 message");
    return 0;
}

/* Our verdict must be llhttp's: it is llhttp that will cut the body out of the stream. */
static bool framing_agrees(const zt_http_head *h, const llhttp_t *p)
{
    bool te = (p->flags & F_TRANSFER_ENCODING) != 0;
    bool ch = (p->flags & F_CHUNKED) != 0;
    bool cl = (p->flags & F_CONTENT_LENGTH) != 0;
    switch (h->body) {
    case ZT_BODY_CHUNKED:
        return te && ch && !cl;
    case ZT_BODY_LENGTH:
        return cl && !te && !ch && p->content_length == h->content_length;
    default:
        return !te && !ch && !cl;
    }
}

static bool reg_name_ok(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--; /* one trailing dot: the same name in absolute DNS form */
    if (n == 0 || n > ZT_HOST_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || (c == '.' && i + 1 < n && s[i + 1] == '.'))
            return false; /* empty labels */
    }
    return true;
}

static bool ipv6_literal_ok(const char *s, size_t n)
{
    char tmp[64];
    unsigned char addr[16];
    if (n < 2 || n >= sizeof(tmp))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.';
        if (!ok)
            return false; /* no zone id, no IPvFuture */
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, addr) == 1;
}

static bool port_ok(const char *s, size_t n, unsigned *port)
{
    unsigned long long v = 0;
    if (n == 0 || n > 5 || !zt_parse_u64(s, n, 65535, &v) || v == 0)
        return false;
    *port = (unsigned)v;
    return true;
}

/* Host and absolute-form authority: a reg-name of letters, digits, '-', '_', '.' or a bracketed
 * IPv6 literal, then an optional port 1..65535. No userinfo, percent-encoding, path, empty
 * label or empty port: anything else is a name two components might read differently.
 * Writes the lowercased host (brackets kept, port and one trailing dot dropped) to out. */
static bool parse_authority(zt_span a, char *out, size_t cap, size_t *out_n, unsigned *port)
{
    size_t hn = 0;
    bool v6 = a.n > 0 && a.p[0] == '[';
    if (v6) {
        const char *close = memchr(a.p, ']', a.n);
        if (close == NULL)
            return false;
        hn = (size_t)(close - a.p) + 1;
        if (!ipv6_literal_ok(a.p + 1, hn - 2))
            return false;
    } else {
        while (hn < a.n && a.p[hn] != ':')
            hn++;
        if (!reg_name_ok(a.p, hn))
            return false;
    }
    *port = 0;
    if (hn < a.n && (a.p[hn] != ':' || !port_ok(a.p + hn + 1, a.n - hn - 1, port)))
        return false;
    size_t n = !v6 && a.p[hn - 1] == '.' ? hn - 1 : hn;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = zt_ascii_lower(a.p[i]);
    out[n] = '\0';
    *out_n = n;
    return true;
}

bool zt_http_parse_authority(zt_span a, char *out, size_t cap, size_t *out_n, unsigned *port)
{
    return parse_authority(a, out, cap, out_n, port);
}

static int check_host(zt_http_head *h)
{
    const zt_header *host = NULL;
    for (unsigned i = 0; i < h->n_headers; i++) {
        if (!zt_span_ieq_cstr(h->headers[i].name, "Host"))
            continue;
        if (host != NULL)
            return fail(h, 400, "several Host headers");
        host = &h->headers[i];
    }
    if (host == NULL)
        return h->http_minor == 1 ? fail(h, 400, "missing Host header") : 0;
    size_t n = 0;
    if (!parse_authority(host->value, h->host_store, sizeof(h->host_store), &n, &h->host_port))
        return fail(h, 400, "invalid Host header");
    h->host = (zt_span){h->host_store, n};
    return 0;
}

static int check_expect(zt_http_head *h)
{
    for (unsigned i = 0; i < h->n_headers; i++) {
        const zt_header *x = &h->headers[i];
        if (!zt_span_ieq_cstr(x->name, "Expect"))
            continue;
        if (!zt_span_ieq_cstr(x->value, "100-continue"))
            return fail(h, 417, "unsupported Expect");
        /* An HTTP/1.0 client does not know 100 Continue (RFC 9110 §10.1.1): ignore it. */
        h->expect_continue = h->http_minor == 1;
    }
    return 0;
}

/* CONNECT (RFC 9110 §9.3.6) opens a tunnel to a kind tcp app (proxy/tunnel.c): the target is
 * authority-form "host:port", equal to Host port included, and the request has no body and no
 * Expect. Everything after its head is tunnel data, never another request. */
static int check_connect(zt_http_head *h, const framing *f)
{
    if (h->http_major != 1 || h->http_minor != 1)
        return fail(h, 400, "CONNECT needs HTTP/1.1");
    if (f->n_te > 0 || f->n_cl > 0)
        return fail(h, 400, "CONNECT with a body");
    if (zt_http_head_find(h, "Expect") != NULL)
        return fail(h, 400, "CONNECT with Expect");
    if (check_host(h) < 0)
        return -1;
    char host[256];
    size_t n = 0;
    unsigned port = 0;
    if (!parse_authority(h->url, host, sizeof(host), &n, &port) || port == 0)
        return fail(h, 400, "CONNECT target must be host:port");
    if (n != h->host.n || memcmp(host, h->host.p, n) != 0 || port != h->host_port)
        return fail(h, 400, "CONNECT target differs from Host");
    return 0;
}

static int check_request(zt_http_head *h, const llhttp_t *parser)
{
    framing f;
    if (read_framing(h, &f) < 0)
        return -1;
    if (h->method == HTTP_CONNECT)
        return check_connect(h, &f);
    if (f.n_te > 0) {
        h->body = ZT_BODY_CHUNKED;
    } else if (f.n_cl > 0) {
        h->body = ZT_BODY_LENGTH;
        h->content_length = f.cl;
    }
    if (!framing_agrees(h, parser))
        return fail(h, 400, "message framing disagrees with the parser");
    if (check_host(h) < 0 || check_expect(h) < 0)
        return -1;
    return 0;
}

static bool status_has_no_body(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

static int check_response(zt_http_head *h, const llhttp_t *parser)
{
    framing f;
    if (h->status < 100 || h->status > 999)
        return fail(h, 502, "invalid status code");
    if (read_framing(h, &f) < 0)
        return -1;
    if (status_has_no_body(h->status))
        return 0; /* whatever the headers announce; the caller tells llhttp to skip it */
    if (f.n_te > 0) {
        h->body = ZT_BODY_CHUNKED;
    } else if (f.n_cl > 0) {
        h->body = ZT_BODY_LENGTH;
        h->content_length = f.cl;
    } else {
        h->body = ZT_BODY_UNTIL_EOF;
        h->keep_alive = false;
    }
    if (!framing_agrees(h, parser))
        return fail(h, 502, "message framing disagrees with the parser");
    return 0;
}

int zt_http_head_complete(zt_http_head *h, const llhttp_t *parser)
{
    if (h->error != NULL)
        return -1;
    h->done = true;
    build_spans(h);
    h->is_request = parser->type == HTTP_REQUEST;
    h->http_major = parser->http_major;
    h->http_minor = parser->http_minor;
    if (h->is_request)
        h->method = parser->method;
    else
        h->status = parser->status_code;
    h->keep_alive = llhttp_should_keep_alive(parser) != 0;
    if (h->last_cb == CB_FIELD)
        return fail(h, 400, "header field without a value");
    if (check_version(h) < 0 || check_fields(h) < 0)
        return -1;
    return h->is_request ? check_request(h, parser) : check_response(h, parser);
}

const zt_header *zt_http_head_find(const zt_http_head *h, const char *name)
{
    if (!h->spans_ready)
        return NULL;
    for (unsigned i = 0; i < h->n_headers; i++)
        if (zt_span_ieq_cstr(h->headers[i].name, name))
            return &h->headers[i];
    return NULL;
}

/* ---- request target ------------------------------------------------------------------------ */

/* "http://authority/rest": authority must name the Host we validated, port included. */
static int absolute_form(const zt_http_head *h, zt_span u, zt_span *rest, const char **why)
{
    size_t skip;
    if (zt_span_istarts(u, "http://"))
        skip = 7;
    else if (zt_span_istarts(u, "https://"))
        skip = 8;
    else {
        *why = "request target must be origin-form or absolute-form";
        return -1;
    }
    zt_span auth = {u.p + skip, 0};
    while (skip + auth.n < u.n && strchr("/?#", auth.p[auth.n]) == NULL)
        auth.n++;
    char host[sizeof(h->host_store)];
    size_t hn = 0;
    unsigned port = 0;
    if (h->host.n == 0 || !parse_authority(auth, host, sizeof(host), &hn, &port) ||
        !zt_span_eq((zt_span){host, hn}, h->host) || port != h->host_port) {
        *why = "absolute-form authority differs from Host";
        return -1;
    }
    *rest = (zt_span){auth.p + auth.n, u.n - skip - auth.n};
    return 0;
}

int zt_http_target_parse(const zt_http_head *h, char *out_path, zt_http_target *t, const char **why)
{
    static const char root[] = "/";
    zt_span u = h->url;
    zt_span rest = u;
    memset(t, 0, sizeof(*t));
    t->path = out_path;
    out_path[0] = '\0';
    if (u.n == 0 || memchr(u.p, '#', u.n) != NULL) {
        *why = u.n == 0 ? "empty request target" : "fragment in the request target";
        return -1;
    }
    if (u.p[0] != '/' && absolute_form(h, u, &rest, why) < 0)
        return -1;
    const char *q = memchr(rest.p, '?', rest.n);
    zt_span path = {rest.p, q != NULL ? (size_t)(q - rest.p) : rest.n};
    if (q != NULL) {
        t->has_query = true;
        t->query = (zt_span){q + 1, rest.n - path.n - 1};
        if (!zt_path_query_valid(t->query.p, t->query.n, why))
            return -1;
    }
    if (path.n == 0 && u.p[0] != '/')
        path = (zt_span){root, 1}; /* "http://host?x" asks for "/" */
    unsigned flags = 0;
    if (zt_path_normalize(path.p, path.n, out_path, &t->path_len, &flags, why) < 0)
        return -1;
    t->encoded_slash = (flags & ZT_PATH_ENCODED_SLASH) != 0;
    return 0;
}

/* ---- writing heads ------------------------------------------------------------------------- */

/* Name lists are spans, lengths known at compile time: every header of every request and
 * response is checked against them, and a length that differs settles most comparisons. */
#define L(s) ZT_SPAN_LIT(s)
#define END ((zt_span){NULL, 0})
static const zt_span HOP_BY_HOP[] = {
    L("Connection"),
    L("Keep-Alive"),
    L("Proxy-Connection"),
    L("TE"),
    L("Trailer"),
    L("Transfer-Encoding"),
    L("Upgrade"),
    L("Proxy-Authorization"),
    L("Proxy-Authenticate"),
    END,
};

/* Names compare ASCII case-insensitively with '_' equal to '-': CGI, WSGI and PHP upstreams
 * turn both into the same variable (HTTP_X_ZT_USER), see oauth2-proxy CVE-2025-64484. */
static char fold_name_char(char c)
{
    return c == '_' ? '-' : zt_ascii_lower(c);
}

static bool name_eq(zt_span name, zt_span lit)
{
    if (name.n != lit.n)
        return false;
    for (size_t i = 0; i < lit.n; i++)
        if (fold_name_char(name.p[i]) != fold_name_char(lit.p[i]))
            return false;
    return true;
}

static bool name_starts(zt_span name, zt_span prefix)
{
    return name.n >= prefix.n && name_eq((zt_span){name.p, prefix.n}, prefix);
}

static bool name_in(zt_span name, const zt_span *list)
{
    for (; list->p != NULL; list++)
        if (name_eq(name, *list))
            return true;
    return false;
}

static bool list_has_token(zt_span list, zt_span name)
{
    while (list.n > 0) {
        const char *comma = memchr(list.p, ',', list.n);
        size_t n = comma != NULL ? (size_t)(comma - list.p) : list.n;
        if (zt_span_ieq(zt_span_trim((zt_span){list.p, n}), name))
            return true;
        list.p += comma != NULL ? n + 1 : n;
        list.n -= comma != NULL ? n + 1 : n;
    }
    return false;
}

/* RFC 9110 §7.6.1: a sender lists extra hop-by-hop headers in Connection. */
static bool named_in_connection(const zt_http_head *h, zt_span name)
{
    for (unsigned i = 0; i < h->n_headers; i++)
        if (h->headers[i].name.n == sizeof("Connection") - 1 &&
            zt_span_ieq_cstr(h->headers[i].name, "Connection") &&
            list_has_token(h->headers[i].value, name))
            return true;
    return false;
}

static bool is_hop_header(const zt_http_head *h, zt_span name)
{
    return name_in(name, HOP_BY_HOP) || named_in_connection(h, name);
}

/* Headers a client may never send through, trusted peer or not: the ones we set or frame
 * ourselves and the ones some upstreams take as a path override. */
static const zt_span REQ_ALWAYS_DROP[] = {
    L("Host"),           L("Content-Length"), L("Expect"),         L("Forwarded"),
    L("X-Original-URL"), L("X-Rewrite-URL"),  L("HTTP2-Settings"), END,
};

/* Headers that name the original client (address, scheme, host) in one proxy's or CDN's
 * dialect. Frameworks believe them (Express "trust proxy", Rails, Django, Spring, Laravel's
 * TrustProxies, IIS/ARR...), so only a trusted proxy in front of us may send them on; from
 * anyone else they would let a client choose its own address. */
static const zt_span CLIENT_ORIGIN_HEADERS[] = {
    L("X-Real-IP"),
    L("X-Client-IP"),
    L("True-Client-IP"),
    L("CF-Connecting-IP"),
    L("CF-Connecting-IPv6"),
    L("X-Original-Forwarded-For"),
    L("X-Cluster-Client-IP"),
    L("Fastly-Client-IP"),
    L("Client-IP"),
    L("X-Forwarded"),
    L("Forwarded-For"),
    L("X-Originating-IP"),
    L("X-Remote-IP"),
    L("X-Remote-Addr"),
    L("X-ProxyUser-IP"),
    L("WL-Proxy-Client-IP"),
    L("Proxy-Client-IP"),
    L("X-Azure-ClientIP"),
    L("X-Azure-SocketIP"),
    L("X-Envoy-External-Address"),
    L("X-Appengine-User-IP"),
    L("X-Original-Host"),
    L("X-Host"),
    END,
};

/* What a trusted proxy in front of us may tell the upstream about the original client. */
static bool is_forwarding_header(zt_span name)
{
    return name_starts(name, L("X-Forwarded-")) || name_in(name, CLIENT_ORIGIN_HEADERS);
}

static bool drop_request_header(const zt_http_head *h, zt_span name, bool trusted)
{
    if (is_hop_header(h, name) || name_in(name, REQ_ALWAYS_DROP) || name_starts(name, L("X-ZT-")))
        return true;
    if (name_eq(name, L("X-Forwarded-For")) || name_eq(name, L("X-Forwarded-Proto")) ||
        name_eq(name, L("X-Forwarded-Host")))
        return true; /* written again below, from ctx or the trusted peer's value */
    return !trusted && is_forwarding_header(name);
}

static int put(zt_buf *out, const char *s, size_t n)
{
    return zt_buf_append(out, s, n);
}

static int put_field(zt_buf *out, zt_span name, zt_span value)
{
    int rc = put(out, name.p, name.n);
    rc = rc ? rc : put(out, ": ", 2);
    rc = rc ? rc : put(out, value.p, value.n);
    return rc ? rc : put(out, "\r\n", 2);
}

static zt_span cspan(const char *s)
{
    return (zt_span){s, strlen(s)};
}

/* No byte of ours may end a line or a request-target early. */
static bool visible_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

static bool extra_ok(const zt_header *x)
{
    static const zt_span reserved[] = {L("Host"), L("Content-Length"), L("Transfer-Encoding"),
                                       L("Connection"), END};
    return token_ok(x->name) && !name_in(x->name, reserved) && value_ok(x->value.p, x->value.n);
}

static bool forward_ctx_ok(const zt_http_head *req, const zt_forward_ctx *c)
{
    const char *why = NULL;
    if (!req->is_request || !req->done || req->error != NULL)
        return false;
    if (c->client_ip == NULL || c->client_ip[0] == '\0' ||
        !visible_ok(c->client_ip, strlen(c->client_ip)))
        return false;
    if (c->proto == NULL || !token_ok(cspan(c->proto)))
        return false;
    if (c->host_header == NULL || c->host_header[0] == '\0' ||
        !visible_ok(c->host_header, strlen(c->host_header)))
        return false;
    if (c->orig_host != NULL && !visible_ok(c->orig_host, strlen(c->orig_host)))
        return false;
    if (c->path == NULL || c->path[0] != '/' || !visible_ok(c->path, strlen(c->path)) ||
        strpbrk(c->path, "?#") != NULL)
        return false;
    if (c->has_query && !zt_path_query_valid(c->query.p, c->query.n, &why))
        return false;
    if (c->body != ZT_BODY_NONE && c->body != ZT_BODY_LENGTH && c->body != ZT_BODY_CHUNKED)
        return false;
    for (unsigned i = 0; i < c->n_extra; i++)
        if (!extra_ok(&c->extra[i]))
            return false;
    return true;
}

static int write_request_line(zt_buf *out, const zt_http_head *req, const zt_forward_ctx *c)
{
    const char *method = llhttp_method_name((llhttp_method_t)req->method);
    int rc = zt_buf_append_str(out, method);
    rc = rc ? rc : put(out, " ", 1);
    rc = rc ? rc : zt_buf_append_str(out, c->path);
    if (rc == 0 && c->has_query) {
        rc = put(out, "?", 1);
        rc = rc ? rc : put(out, c->query.p, c->query.n);
    }
    rc = rc ? rc : put(out, " HTTP/1.1\r\n", 11);
    return rc ? rc : put_field(out, ZT_SPAN_LIT("Host"), cspan(c->host_header));
}

/* ztgate's own cookies (session, CSRF, known device; with or without the __Host- prefix) are
 * credentials for the gateway: an app, or anyone reading its logs, could replay them against
 * every other app on the host. They never go upstream; the app's own cookies do. */
static bool is_gateway_cookie(zt_span name)
{
    static const char *const ours[] = {"ztgate_session", "ztgate_csrf", "ztgate_device",
                                       "ztgate_devbind", "ztgate_devenrol"};
    if (name.n >= 7 && memcmp(name.p, "__Host-", 7) == 0) {
        name.p += 7;
        name.n -= 7;
    }
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (name.n == strlen(ours[i]) && memcmp(name.p, ours[i], name.n) == 0)
            return true;
    return false;
}

/* The Cookie header without ztgate's cookies; nothing at all when only ours were in it.
 * Written straight into out (no copy per request) and taken back when no pair was kept. */
static int put_cookie_field(zt_buf *out, zt_span name, zt_span value)
{
    size_t start = out->len;
    int rc = put(out, name.p, name.n);
    rc = rc ? rc : put(out, ": ", 2);
    size_t first = out->len;
    size_t i = 0;
    while (i < value.n && rc == 0) {
        size_t from = i;
        while (i < value.n && value.p[i] != ';')
            i++;
        zt_span pair = {value.p + from, i - from};
        i++; /* past ';' */
        while (pair.n > 0 && (pair.p[0] == ' ' || pair.p[0] == '\t')) {
            pair.p++;
            pair.n--;
        }
        while (pair.n > 0 && (pair.p[pair.n - 1] == ' ' || pair.p[pair.n - 1] == '\t'))
            pair.n--;
        if (pair.n == 0)
            continue;
        const char *eq = memchr(pair.p, '=', pair.n);
        zt_span cname = {pair.p, eq ? (size_t)(eq - pair.p) : pair.n};
        while (cname.n > 0 && cname.p[cname.n - 1] == ' ')
            cname.n--;
        if (is_gateway_cookie(cname))
            continue;
        if (out->len > first)
            rc = put(out, "; ", 2);
        rc = rc ? rc : put(out, pair.p, pair.n);
    }
    if (rc == 0 && out->len > first)
        return put(out, "\r\n", 2);
    out->len = start; /* only ours, or an error: no Cookie line */
    return rc;
}

static int write_client_fields(zt_buf *out, const zt_http_head *req, bool trusted)
{
    for (unsigned i = 0; i < req->n_headers; i++) {
        const zt_header *x = &req->headers[i];
        if (drop_request_header(req, x->name, trusted))
            continue;
        int rc = name_eq(x->name, L("Cookie")) ? put_cookie_field(out, x->name, x->value)
                                               : put_field(out, x->name, x->value);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A trusted peer's own value for name (exact spelling, not named in Connection), or NULL. */
static const zt_header *trusted_value(const zt_http_head *req, const char *name)
{
    for (unsigned i = 0; i < req->n_headers; i++) {
        const zt_header *x = &req->headers[i];
        if (zt_span_ieq_cstr(x->name, name) && !named_in_connection(req, x->name))
            return x;
    }
    return NULL;
}

/* X-Forwarded-For: the trusted peer's chain (all its headers, in order) + ", " + client_ip. */
static int write_xff(zt_buf *out, const zt_http_head *req, const zt_forward_ctx *c)
{
    int rc = put(out, "X-Forwarded-For: ", 17);
    for (unsigned i = 0; rc == 0 && c->peer_is_trusted && i < req->n_headers; i++) {
        const zt_header *x = &req->headers[i];
        if (!zt_span_ieq_cstr(x->name, "X-Forwarded-For") || x->value.n == 0 ||
            named_in_connection(req, x->name))
            continue;
        rc = put(out, x->value.p, x->value.n);
        rc = rc ? rc : put(out, ", ", 2);
    }
    rc = rc ? rc : zt_buf_append_str(out, c->client_ip);
    return rc ? rc : put(out, "\r\n", 2);
}

static int write_forwarded(zt_buf *out, const zt_http_head *req, const zt_forward_ctx *c)
{
    const zt_header *proto = c->peer_is_trusted ? trusted_value(req, "X-Forwarded-Proto") : NULL;
    const zt_header *host = c->peer_is_trusted ? trusted_value(req, "X-Forwarded-Host") : NULL;
    int rc = write_xff(out, req, c);
    if (rc == 0)
        rc = put_field(out, ZT_SPAN_LIT("X-Forwarded-Proto"),
                       proto != NULL ? proto->value : cspan(c->proto));
    if (rc == 0 && host != NULL)
        rc = put_field(out, ZT_SPAN_LIT("X-Forwarded-Host"), host->value);
    else if (rc == 0 && c->orig_host != NULL && c->orig_host[0] != '\0')
        rc = put_field(out, ZT_SPAN_LIT("X-Forwarded-Host"), cspan(c->orig_host));
    return rc;
}

static int content_length_field(zt_buf *out, uint64_t n)
{
    int rc = zt_buf_append_str(out, "Content-Length: ");
    rc = rc ? rc : zt_buf_append_u64(out, n);
    return rc ? rc : put(out, "\r\n", 2);
}

static int write_request_framing(zt_buf *out, const zt_forward_ctx *c)
{
    /* Upgrade and Connection are hop-by-hop: never the client's, ours for a checked handshake. */
    if (c->websocket && zt_buf_append_str(out, "Connection: Upgrade\r\nUpgrade: websocket\r\n") < 0)
        return -ENOMEM;
    if (c->body == ZT_BODY_LENGTH)
        return content_length_field(out, c->content_length);
    if (c->body == ZT_BODY_CHUNKED)
        return zt_buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    return 0;
}

int zt_http_write_upstream_head(zt_buf *out, const zt_http_head *req, const zt_forward_ctx *ctx)
{
    size_t start = out->len;
    if (!forward_ctx_ok(req, ctx))
        return -EINVAL;
    int rc = write_request_line(out, req, ctx);
    rc = rc ? rc : write_client_fields(out, req, ctx->peer_is_trusted);
    rc = rc ? rc : write_forwarded(out, req, ctx);
    for (unsigned i = 0; rc == 0 && i < ctx->n_extra; i++)
        rc = put_field(out, ctx->extra[i].name, ctx->extra[i].value);
    rc = rc ? rc : write_request_framing(out, ctx);
    rc = rc ? rc : put(out, "\r\n", 2);
    if (rc < 0)
        out->len = start;
    return rc;
}

static int write_response_framing(zt_buf *out, const zt_http_head *resp, const zt_response_ctx *c)
{
    if (status_has_no_body(resp->status))
        return 0; /* RFC 9110 §8.6: no Content-Length in 1xx/204; 304 needs none */
    if (c->head_request) {
        const zt_header *cl = zt_http_head_find(resp, "Content-Length");
        return cl != NULL ? put_field(out, cl->name, cl->value) : 0;
    }
    switch (c->body) {
    case ZT_BODY_LENGTH:
        return content_length_field(out, c->content_length);
    case ZT_BODY_CHUNKED:
        return zt_buf_append_str(out, "Transfer-Encoding: chunked\r\n");
    case ZT_BODY_NONE:
        return zt_buf_append_str(out, "Content-Length: 0\r\n");
    default:
        return 0; /* UNTIL_EOF: the close ends the body */
    }
}

int zt_http_write_client_head(zt_buf *out, const zt_http_head *resp, const zt_response_ctx *ctx)
{
    size_t start = out->len;
    if (resp->is_request || !resp->done || resp->error != NULL || resp->status < 100 ||
        resp->status > 999)
        return -EINVAL;
    int rc = zt_buf_append_str(out, "HTTP/1.1 ");
    rc = rc ? rc : zt_buf_append_u64(out, (uint64_t)resp->status);
    rc = rc ? rc : zt_buf_append_char(out, ' ');
    rc = rc ? rc : zt_buf_append_str(out, zt_http_status_text(resp->status));
    rc = rc ? rc : put(out, "\r\n", 2);
    for (unsigned i = 0; rc == 0 && i < resp->n_headers; i++) {
        const zt_header *x = &resp->headers[i];
        if (is_hop_header(resp, x->name) || name_eq(x->name, L("Content-Length")))
            continue;
        rc = put_field(out, x->name, x->value);
    }
    rc = rc ? rc : write_response_framing(out, resp, ctx);
    if (rc == 0 && ctx->websocket && resp->status == 101)
        rc = zt_buf_append_str(out, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    else if (rc == 0 && (!ctx->keep_alive || ctx->body == ZT_BODY_UNTIL_EOF))
        rc = zt_buf_append_str(out, "Connection: close\r\n");
    rc = rc ? rc : put(out, "\r\n", 2);
    if (rc < 0)
        out->len = start;
    return rc;
}

/* ---- chunked framing ----------------------------------------------------------------------- */

int zt_http_write_chunk_header(zt_buf *out, size_t n)
{
    if (n == 0)
        return -EINVAL; /* "0\r\n" is the last-chunk marker, not an empty chunk */
    return zt_buf_printf(out, "%zx\r\n", n);
}

int zt_http_write_chunk_end(zt_buf *out)
{
    return zt_buf_append_str(out, "0\r\n\r\n");
}

int zt_http_write_chunk(zt_buf *out, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    size_t start = out->len;
    int rc = zt_http_write_chunk_header(out, n);
    rc = rc ? rc : zt_buf_append(out, data, n);
    rc = rc ? rc : put(out, "\r\n", 2);
    if (rc < 0)
        out->len = start;
    return rc;
}

#undef L
#undef END
