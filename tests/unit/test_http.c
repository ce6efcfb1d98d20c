/* HTTP message glue, driven by raw bytes through a real llhttp parser wired to the zt_http_head
 * callbacks the way the proxy wires them. Every table case is also fed split at every byte
 * and byte by byte: the verdict must not depend on how the bytes arrive. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/http.h"

/* ---- harness ------------------------------------------------------------------------------ */

#define MAX_MSGS 8
#define DEF_MAX_BYTES 8192
#define DEF_MAX_HEADERS 32

typedef struct msg {
    int rc; /* zt_http_head_complete */
    int status;
    const char *why;
    zt_body_kind body;
    uint64_t cl;
    bool keep_alive, expect;
    int method, code;
    unsigned major, minor;
    char host[300];
    unsigned port;
    char url[1024];
    int target_rc;
    const char *target_why;
    char path[1024];
    char query[512];
    bool has_query, encoded_slash;
    unsigned n_headers;       /* at headers complete */
    unsigned n_headers_final; /* at message complete (trailers must not add any) */
    int out_rc;
    char out[4096]; /* upstream head (requests) or client head (responses) */
} msg;

typedef struct result {
    unsigned n; /* heads seen by complete (accepted or not) */
    msg m[MAX_MSGS];
    llhttp_errno_t err;
    bool rejected; /* llhttp error or one of our -1 */
    int status;    /* what the proxy would answer */
    const char *why;
} result;

typedef struct fwd_template {
    const char *client_ip;
    bool trusted;
    const char *proto;
    const char *host_header;
    const zt_header *extra;
    unsigned n_extra;
    bool websocket;
} fwd_template;

typedef struct harness {
    llhttp_t p;
    zt_http_head h;
    result *r;
    const fwd_template *fwd;
    bool head_request; /* responses: answer to HEAD */
} harness;

static const zt_header DEFAULT_EXTRA[] = {{ZT_SPAN_LIT("X-ZT-User"), ZT_SPAN_LIT("alice")}};
static const fwd_template DEFAULT_FWD = {"192.0.2.1",   false, "https", "app.internal:8080",
                                         DEFAULT_EXTRA, 1,     false};

static harness *H(llhttp_t *p)
{
    return p->data;
}

static void copy_span(char *dst, size_t cap, zt_span s)
{
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n > 0)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static int cb_begin(llhttp_t *p)
{
    zt_http_head_reset(&H(p)->h);
    return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_url(&H(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int cb_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&H(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int cb_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&H(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static void write_upstream(harness *hs, msg *m)
{
    const zt_http_head *h = &hs->h;
    const fwd_template *f = hs->fwd != NULL ? hs->fwd : &DEFAULT_FWD;
    const zt_header *host = zt_http_head_find(h, "Host");
    char orig[300];
    copy_span(orig, sizeof(orig), host != NULL ? host->value : (zt_span){"", 0});
    char *path = malloc(h->url.n + 1);
    zt_http_target t;
    assert_non_null(path);
    m->target_rc = zt_http_target_parse(h, path, &t, &m->target_why);
    if (m->target_rc == 0) {
        copy_span(m->path, sizeof(m->path), (zt_span){t.path, t.path_len});
        copy_span(m->query, sizeof(m->query), t.query);
        m->has_query = t.has_query;
        m->encoded_slash = t.encoded_slash;
        zt_forward_ctx ctx = {
            .client_ip = f->client_ip,
            .peer_is_trusted = f->trusted,
            .proto = f->proto,
            .host_header = f->host_header,
            .orig_host = orig,
            .path = t.path,
            .query = t.query,
            .has_query = t.has_query,
            .extra = f->extra,
            .n_extra = f->n_extra,
            .body = h->body,
            .content_length = h->content_length,
            .websocket = f->websocket,
        };
        zt_buf out;
        zt_buf_init(&out, 0);
        m->out_rc = zt_http_write_upstream_head(&out, h, &ctx);
        copy_span(m->out, sizeof(m->out), (zt_span){out.data, out.len});
        zt_buf_dispose(&out);
    }
    free(path);
}

static void write_client(harness *hs, msg *m)
{
    const zt_http_head *h = &hs->h;
    zt_response_ctx ctx = {
        .body = h->body == ZT_BODY_UNTIL_EOF ? ZT_BODY_CHUNKED : h->body,
        .content_length = h->content_length,
        .keep_alive = h->keep_alive,
        .head_request = hs->head_request,
    };
    zt_buf out;
    zt_buf_init(&out, 0);
    m->out_rc = zt_http_write_client_head(&out, h, &ctx);
    copy_span(m->out, sizeof(m->out), (zt_span){out.data, out.len});
    zt_buf_dispose(&out);
}

static int cb_headers_complete(llhttp_t *p)
{
    harness *hs = H(p);
    zt_http_head *h = &hs->h;
    result *r = hs->r;
    assert_true(r->n < MAX_MSGS);
    msg *m = &r->m[r->n++];
    memset(m, 0, sizeof(*m));
    m->rc = zt_http_head_complete(h, p);
    m->status = h->error_status;
    m->why = h->error;
    m->body = h->body;
    m->cl = h->content_length;
    m->keep_alive = h->keep_alive;
    m->expect = h->expect_continue;
    m->method = h->method;
    m->code = h->status;
    m->major = h->http_major;
    m->minor = h->http_minor;
    m->port = h->host_port;
    m->n_headers = m->n_headers_final = h->n_headers;
    copy_span(m->host, sizeof(m->host), h->host);
    copy_span(m->url, sizeof(m->url), h->url);
    if (m->rc < 0)
        return -1;
    if (h->is_request) {
        write_upstream(hs, m);
        return 0;
    }
    write_client(hs, m);
    /* As the proxy must: a bodiless response tells llhttp so. */
    return h->body == ZT_BODY_NONE || hs->head_request ? 1 : 0;
}

static int cb_message_complete(llhttp_t *p)
{
    harness *hs = H(p);
    if (hs->r->n > 0)
        hs->r->m[hs->r->n - 1].n_headers_final = hs->h.n_headers;
    return 0;
}

static const llhttp_settings_t SETTINGS = {
    .on_message_begin = cb_begin,
    .on_url = cb_url,
    .on_header_field = cb_field,
    .on_header_value = cb_value,
    .on_headers_complete = cb_headers_complete,
    .on_message_complete = cb_message_complete,
};

typedef struct run_opts {
    llhttp_type_t type;
    size_t max_bytes;
    unsigned max_headers;
    const fwd_template *fwd;
    bool head_request;
} run_opts;

/* Feed raw[0..n) cut at the given offsets; each piece lives in its own exact-size heap block so
 * ASan sees any read outside what llhttp was given. */
static void run_split(const run_opts *o, const char *raw, size_t n, const size_t *cuts,
                      size_t ncuts, result *r)
{
    harness hs;
    memset(r, 0, sizeof(*r));
    memset(&hs, 0, sizeof(hs));
    hs.r = r;
    hs.fwd = o->fwd;
    hs.head_request = o->head_request;
    zt_http_head_init(&hs.h, o->max_bytes ? o->max_bytes : DEF_MAX_BYTES,
                      o->max_headers ? o->max_headers : DEF_MAX_HEADERS);
    llhttp_init(&hs.p, o->type, &SETTINGS);
    hs.p.data = &hs;
    size_t from = 0;
    for (size_t i = 0; i <= ncuts && r->err == HPE_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        char *piece = malloc(to - from + 1);
        assert_non_null(piece);
        memcpy(piece, raw + from, to - from);
        zt_http_head_on_input(&hs.h, piece, to - from);
        r->err = llhttp_execute(&hs.p, piece, to - from);
        free(piece);
        from = to;
    }
    r->rejected = r->err != HPE_OK && r->err != HPE_PAUSED_UPGRADE;
    if (r->rejected) {
        r->why = hs.h.error != NULL ? hs.h.error : llhttp_get_error_reason(&hs.p);
        r->status = hs.h.error != NULL ? hs.h.error_status : o->type == HTTP_RESPONSE ? 502 : 400;
    }
    zt_http_head_dispose(&hs.h);
}

static void run_whole(const run_opts *o, const char *raw, size_t n, result *r)
{
    run_split(o, raw, n, NULL, 0, r);
}

/* Parse with a harness the caller keeps, to look at the head afterwards (caller disposes). */
static void harness_parse(harness *hs, result *r, llhttp_type_t type, const char *raw, size_t n,
                          bool head_request)
{
    memset(hs, 0, sizeof(*hs));
    memset(r, 0, sizeof(*r));
    hs->r = r;
    hs->head_request = head_request;
    zt_http_head_init(&hs->h, DEF_MAX_BYTES, DEF_MAX_HEADERS);
    llhttp_init(&hs->p, type, &SETTINGS);
    hs->p.data = hs;
    zt_http_head_on_input(&hs->h, raw, n);
    r->err = llhttp_execute(&hs->p, raw, n);
}

static void assert_same_msg(const msg *a, const msg *b, const char *what, size_t at)
{
    if (a->rc != b->rc || a->body != b->body || a->cl != b->cl || a->keep_alive != b->keep_alive ||
        a->expect != b->expect || strcmp(a->host, b->host) != 0 || strcmp(a->url, b->url) != 0 ||
        a->target_rc != b->target_rc || strcmp(a->path, b->path) != 0 ||
        strcmp(a->out, b->out) != 0 || a->n_headers_final != b->n_headers_final)
        fail_msg("%s: split at %zu changes the message (url \"%s\" vs \"%s\", out:\n%s\nvs\n%s)",
                 what, at, a->url, b->url, a->out, b->out);
}

static void assert_same_result(const result *a, const result *b, const char *what, size_t at)
{
    if (a->rejected != b->rejected || a->status != b->status)
        fail_msg("%s: split at %zu: rejected %d/%d status %d/%d (%s / %s)", what, at, a->rejected,
                 b->rejected, a->status, b->status, a->why ? a->why : "-", b->why ? b->why : "-");
    if (a->rejected)
        return; /* which check fires first may depend on the cut; the verdict may not */
    if (a->n != b->n)
        fail_msg("%s: split at %zu: %u messages vs %u", what, at, a->n, b->n);
    for (unsigned i = 0; i < a->n; i++)
        assert_same_msg(&a->m[i], &b->m[i], what, at);
}

/* Whole, every single cut, byte by byte: all the same verdict. */
static void run_all_splits(const run_opts *o, const char *raw, size_t n, const char *what,
                           result *whole)
{
    result r;
    run_whole(o, raw, n, whole);
    for (size_t k = 1; k < n; k++) {
        run_split(o, raw, n, &k, 1, &r);
        assert_same_result(whole, &r, what, k);
    }
    size_t *cuts = malloc(n * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t k = 1; k < n; k++)
        cuts[k - 1] = k;
    run_split(o, raw, n, cuts, n > 0 ? n - 1 : 0, &r);
    free(cuts);
    assert_same_result(whole, &r, what, (size_t)-1);
}

/* ---- request table ------------------------------------------------------------------------ */

typedef struct req_case {
    const char *name;
    const char *raw;
    int status; /* 0: accepted; else the refusal the proxy answers with */
    zt_body_kind body;
    uint64_t cl;
    const char *host; /* accepted: expected h->host (NULL: don't check) */
    size_t len;       /* raw bytes when they hold a NUL, else 0 (strlen) */
} req_case;

#define ACCEPT(n, r, b, c, h)                                                                      \
    {                                                                                              \
        .name = n, .raw = r, .body = b, .cl = c, .host = h                                         \
    }
#define REFUSE(n, r, st)                                                                           \
    {                                                                                              \
        .name = n, .raw = r, .status = st                                                          \
    }
#define RQ(extra) "POST / HTTP/1.1\r\nHost: a\r\n" extra "\r\n"
#define GQ(extra) "GET / HTTP/1.1\r\nHost: a\r\n" extra "\r\n"

static const req_case REQ_CASES[] = {
    ACCEPT("plain GET", GQ(""), ZT_BODY_NONE, 0, "a"),
    ACCEPT("CL", RQ("Content-Length: 3\r\n") "abc", ZT_BODY_LENGTH, 3, "a"),
    ACCEPT("CL 0", RQ("Content-Length: 0\r\n"), ZT_BODY_LENGTH, 0, "a"),
    ACCEPT("CL OWS", RQ("Content-Length: \t3 \r\n") "abc", ZT_BODY_LENGTH, 3, "a"),
    /* llhttp refuses HTAB after the digits (SP it takes); a refusal either way is fine */
    REFUSE("CL trailing HTAB", RQ("Content-Length: 3\t\r\n") "abc", 400),
    ACCEPT("CL leading zeros", RQ("Content-Length: 003\r\n") "abc", ZT_BODY_LENGTH, 3, "a"),
    ACCEPT("CL int64 max", RQ("Content-Length: 9223372036854775807\r\n"), ZT_BODY_LENGTH,
           9223372036854775807ull, "a"),
    ACCEPT("chunked", RQ("Transfer-Encoding: chunked\r\n") "3\r\nabc\r\n0\r\n\r\n", ZT_BODY_CHUNKED,
           0, "a"),
    ACCEPT("chunked upper", RQ("Transfer-Encoding: CHUNKED\r\n") "0\r\n\r\n", ZT_BODY_CHUNKED, 0,
           "a"),
    /* llhttp treats "chunked " as chunked; trailing OWS is not part of a field value, so we
     * agree and frame it as chunked. */
    ACCEPT("chunked trailing SP", RQ("Transfer-Encoding: chunked \r\n") "0\r\n\r\n",
           ZT_BODY_CHUNKED, 0, "a"),
    /* llhttp reads "chunked<HTAB>" as some other coding, we read chunked: the framing
     * cross-check turns the disagreement into a 400 */
    REFUSE("chunked trailing HTAB", RQ("Transfer-Encoding: chunked\t\r\n") "0\r\n\r\n", 400),
    ACCEPT("chunked leading HTAB", RQ("Transfer-Encoding:\tchunked\r\n") "0\r\n\r\n",
           ZT_BODY_CHUNKED, 0, "a"),
    ACCEPT("trailers dropped", RQ("Transfer-Encoding: chunked\r\n") "0\r\nX-ZT-User: evil\r\n\r\n",
           ZT_BODY_CHUNKED, 0, "a"),
    /* an underscore name is no framing header to llhttp nor to us; it is dropped upstream */
    ACCEPT("Transfer_Encoding", RQ("Transfer_Encoding: chunked\r\n"), ZT_BODY_NONE, 0, "a"),
    /* smuggling: CL.TE, TE.CL, CL.CL */
    REFUSE("CL.TE", RQ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE.CL", RQ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") "0\r\n\r\n", 400),
    REFUSE("CL.CL equal", RQ("Content-Length: 3\r\nContent-Length: 3\r\n") "abc", 400),
    REFUSE("CL.CL differ", RQ("Content-Length: 3\r\nContent-Length: 4\r\n") "abcd", 400),
    REFUSE("CL list", RQ("Content-Length: 3, 3\r\n") "abc", 400),
    REFUSE("CL plus", RQ("Content-Length: +3\r\n") "abc", 400),
    REFUSE("CL minus", RQ("Content-Length: -3\r\n"), 400),
    REFUSE("CL inner space", RQ("Content-Length: 1 2\r\n"), 400),
    REFUSE("CL hex", RQ("Content-Length: 0x3\r\n") "abc", 400),
    REFUSE("CL empty", RQ("Content-Length:\r\n"), 400),
    REFUSE("CL overflow u64", RQ("Content-Length: 18446744073709551616\r\n"), 400),
    REFUSE("CL above int64", RQ("Content-Length: 9223372036854775808\r\n"), 400),
    REFUSE("CL space before colon", RQ("Content-Length : 3\r\n") "abc", 400),
    /* TE.TE obfuscations */
    REFUSE("TE chunked chunked", RQ("Transfer-Encoding: chunked, chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE gzip chunked", RQ("Transfer-Encoding: gzip, chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE chunked gzip", RQ("Transfer-Encoding: chunked, gzip\r\n") "0\r\n\r\n", 400),
    REFUSE("TE xchunked", RQ("Transfer-Encoding: xchunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE chunked;x", RQ("Transfer-Encoding: chunked;x\r\n") "0\r\n\r\n", 400),
    REFUSE("TE identity", RQ("Transfer-Encoding: identity\r\n"), 400),
    REFUSE("TE empty", RQ("Transfer-Encoding:\r\n"), 400),
    REFUSE("TE twice",
           RQ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE space before colon", RQ("Transfer-Encoding : chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE tab before colon", RQ("Transfer-Encoding\t: chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE leading space (fold)", RQ(" Transfer-Encoding: chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE VT in value",
           RQ("Transfer-Encoding: \x0b"
              "chunked\r\n") "0\r\n\r\n",
           400),
    REFUSE("TE folded", RQ("Transfer-Encoding: gzip,\r\n chunked\r\n") "0\r\n\r\n", 400),
    REFUSE("TE in HTTP/1.0",
           "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    /* obs-fold anywhere */
    REFUSE("fold", GQ("X: a\r\n b\r\n"), 400),
    REFUSE("fold tab", GQ("X: a\r\n\tb\r\n"), 400),
    REFUSE("fold after empty value", GQ("X:\r\n b\r\n"), 400),
    REFUSE("fold after empty value + OWS", GQ("X: \r\n b\r\n"), 400),
    REFUSE("fold whitespace only", GQ("X: a\r\n \r\n"), 400),
    REFUSE("fold of Host", "GET / HTTP/1.1\r\nHost: a\r\n .evil\r\n\r\n", 400),
    REFUSE("space before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    /* bytes inside values and names */
    {.name = "NUL in value",
     .raw = GQ("X: a\0b\r\n"),
     .status = 400,
     .len = sizeof(GQ("X: a\0b\r\n")) - 1},
    REFUSE("SOH in value", GQ("X: a\x01z\r\n"), 400),
    REFUSE("DEL in value", GQ("X: a\x7f\r\n"), 400),
    REFUSE("CR in value", GQ("X: a\rb\r\n"), 400),
    REFUSE("LF in value", GQ("X: a\nb: c\r\n"), 400),
    ACCEPT("HTAB in value", GQ("X: a\tb\r\n"), ZT_BODY_NONE, 0, "a"),
    ACCEPT("obs-text in value", GQ("X: caf\xc3\xa9\r\n"), ZT_BODY_NONE, 0, "a"),
    ACCEPT("empty value", GQ("X:\r\n"), ZT_BODY_NONE, 0, "a"),
    REFUSE("space before colon", GQ("X : a\r\n"), 400),
    REFUSE("empty name", GQ(": a\r\n"), 400),
    REFUSE("bad name char", GQ("X(y): a\r\n"), 400),
    REFUSE("name with slash", GQ("X/y: a\r\n"), 400),
    REFUSE("VT in name", GQ("X\x0by: a\r\n"), 400),
    REFUSE("bare LF line", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
    /* Host */
    REFUSE("no Host 1.1", "GET / HTTP/1.1\r\n\r\n", 400),
    ACCEPT("no Host 1.0", "GET / HTTP/1.0\r\n\r\n", ZT_BODY_NONE, 0, ""),
    REFUSE("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    REFUSE("two Hosts case", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400),
    REFUSE("Host empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400),
    REFUSE("Host userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
    REFUSE("Host path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    REFUSE("Host space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    REFUSE("Host pct", "GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n", 400),
    REFUSE("Host empty label", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400),
    REFUSE("Host leading dot", "GET / HTTP/1.1\r\nHost: .a\r\n\r\n", 400),
    REFUSE("Host two trailing dots", "GET / HTTP/1.1\r\nHost: a..\r\n\r\n", 400),
    REFUSE("Host port 0", "GET / HTTP/1.1\r\nHost: a:0\r\n\r\n", 400),
    REFUSE("Host port big", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400),
    REFUSE("Host port empty", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 400),
    REFUSE("Host port junk", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
    REFUSE("Host two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400),
    REFUSE("Host v6 open", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
    REFUSE("Host v6 zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400),
    REFUSE("Host v6 junk", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400),
    ACCEPT("Host lowercased", "GET / HTTP/1.1\r\nHost: App.Example.COM\r\n\r\n", ZT_BODY_NONE, 0,
           "app.example.com"),
    ACCEPT("Host port dropped", "GET / HTTP/1.1\r\nHost: a.b:8443\r\n\r\n", ZT_BODY_NONE, 0, "a.b"),
    ACCEPT("Host trailing dot", "GET / HTTP/1.1\r\nHost: a.b.:80\r\n\r\n", ZT_BODY_NONE, 0, "a.b"),
    ACCEPT("Host v6", "GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", ZT_BODY_NONE, 0, "[::1]"),
    ACCEPT("Host v6 upper", "GET / HTTP/1.1\r\nHost: [2001:DB8::1]\r\n\r\n", ZT_BODY_NONE, 0,
           "[2001:db8::1]"),
    ACCEPT("Host v4", "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", ZT_BODY_NONE, 0, "127.0.0.1"),
    ACCEPT("Host OWS", "GET / HTTP/1.1\r\nHost: a \r\n\r\n", ZT_BODY_NONE, 0, "a"),
    /* versions and methods */
    ACCEPT("HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", ZT_BODY_NONE, 0, "a"),
    REFUSE("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    REFUSE("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    REFUSE("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400),
    /* llhttp stops on the HTTP/2 preface itself (HPE_PAUSED_H2_UPGRADE): a 400 */
    REFUSE("PRI preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    /* CONNECT: authority-form equal to Host (port included), no body, no Expect (tunnel.c) */
    ACCEPT("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", ZT_BODY_NONE, 0, "a"),
    ACCEPT("CONNECT case", "CONNECT SSH.a:22 HTTP/1.1\r\nHost: ssh.A:22\r\n\r\n", ZT_BODY_NONE, 0,
           "ssh.a"),
    REFUSE("CONNECT host differs", "CONNECT b:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    REFUSE("CONNECT port differs", "CONNECT a:22 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    REFUSE("CONNECT Host without port", "CONNECT a:22 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    REFUSE("CONNECT no port", "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    REFUSE("CONNECT no Host", "CONNECT a:443 HTTP/1.1\r\n\r\n", 400),
    REFUSE("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    REFUSE("CONNECT absolute-form", "CONNECT http://a:443/ HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    REFUSE("CONNECT userinfo", "CONNECT u@a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
    REFUSE("CONNECT body",
           "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\nhello", 400),
    REFUSE("CONNECT chunked",
           "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    REFUSE("CONNECT Expect",
           "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nExpect: 100-continue\r\n\r\n", 400),
    REFUSE("CONNECT HTTP/1.0", "CONNECT a:443 HTTP/1.0\r\nHost: a:443\r\n\r\n", 400),
    /* Expect */
    ACCEPT("Expect 100", RQ("Expect: 100-continue\r\nContent-Length: 1\r\n") "x", ZT_BODY_LENGTH, 1,
           "a"),
    REFUSE("Expect other", RQ("Expect: 200-ok\r\nContent-Length: 1\r\n") "x", 417),
    REFUSE("Expect empty", RQ("Expect:\r\n"), 417),
};

static const req_case *find_req_case(const char *name)
{
    for (size_t i = 0; i < sizeof(REQ_CASES) / sizeof(REQ_CASES[0]); i++)
        if (strcmp(REQ_CASES[i].name, name) == 0)
            return &REQ_CASES[i];
    return NULL;
}

static size_t case_len(const req_case *c)
{
    return c->len != 0 ? c->len : strlen(c->raw);
}

static void test_request_table(void **state)
{
    (void)state;
    run_opts o = {.type = HTTP_REQUEST};
    for (size_t i = 0; i < sizeof(REQ_CASES) / sizeof(REQ_CASES[0]); i++) {
        const req_case *c = &REQ_CASES[i];
        result r;
        run_all_splits(&o, c->raw, case_len(c), c->name, &r);
        if (c->status != 0) {
            if (!r.rejected || r.status != c->status)
                fail_msg("%s: want %d, got rejected=%d status=%d (%s)", c->name, c->status,
                         r.rejected, r.status, r.why ? r.why : "-");
            continue;
        }
        if (r.rejected || r.n < 1 || r.m[0].rc != 0)
            fail_msg("%s: refused: %s", c->name, r.why ? r.why : "-");
        if (r.m[0].body != c->body || r.m[0].cl != c->cl)
            fail_msg("%s: body %d cl %llu", c->name, r.m[0].body, (unsigned long long)r.m[0].cl);
        if (c->host != NULL && strcmp(r.m[0].host, c->host) != 0)
            fail_msg("%s: host \"%s\"", c->name, r.m[0].host);
        if (r.m[0].n_headers_final != r.m[0].n_headers)
            fail_msg("%s: trailers reached the head", c->name);
    }
}

static void test_host_port_and_expect(void **state)
{
    (void)state;
    run_opts o = {.type = HTTP_REQUEST};
    result r;
    const req_case *c = find_req_case("Host v6");
    run_whole(&o, c->raw, strlen(c->raw), &r);
    assert_int_equal(r.m[0].port, 8443);
    c = find_req_case("Expect 100");
    run_whole(&o, c->raw, strlen(c->raw), &r);
    assert_true(r.m[0].expect);
    static const char e10[] = "POST / HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\n"
                              "Content-Length: 1\r\n\r\nx";
    run_whole(&o, e10, sizeof(e10) - 1, &r);
    assert_false(r.rejected);
    assert_false(r.m[0].expect);
}

/* ---- smuggler-style mutations of Transfer-Encoding ---------------------------------------- */

static bool line_is(const char *line, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        char a = line[i], b = name[i];
        if (a == '_')
            a = '-';
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (a != b)
            return false;
    }
    return line[n] == ':';
}

/* The head we send upstream carries at most one framing header, and it is ours. */
static void assert_one_framing(const msg *m, const char *what)
{
    unsigned te = 0, cl = 0;
    for (const char *l = m->out; l != NULL && *l != '\0'; l = strstr(l, "\r\n")) {
        if (l != m->out)
            l += 2;
        te += line_is(l, "transfer-encoding");
        cl += line_is(l, "content-length");
    }
    if (te + cl > 1 || (m->body == ZT_BODY_CHUNKED) != (te == 1) ||
        (m->body == ZT_BODY_LENGTH) != (cl == 1))
        fail_msg("%s: upstream framing te=%u cl=%u body=%d:\n%s", what, te, cl, m->body, m->out);
}

static void test_te_mutations(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0x01, 0x04, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
                                          0x0d, 0x1f, 0x20, 0x7f, 0xa0, 0xff};
    static const char *const shapes[] = {
        "%cTransfer-Encoding: chunked",         "Transfer-Encoding%c: chunked",
        "Transfer-Encoding:%cchunked",          "Transfer-Encoding: chunked%c",
        "Transfer-Enc%coding: chunked",         "Transfer-Encoding: chu%cnked",
        "X: X%c\r\nTransfer-Encoding: chunked", "Transfer-Encoding: %cchunked",
    };
    run_opts o = {.type = HTTP_REQUEST};
    unsigned accepted = 0;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        for (size_t b = 0; b < sizeof(bytes); b++) {
            char line[128], raw[256];
            char *pct = strstr(shapes[s], "%c");
            size_t pre = (size_t)(pct - shapes[s]);
            memcpy(line, shapes[s], pre);
            line[pre] = (char)bytes[b];
            size_t ln = pre + 1 + strlen(pct + 2);
            memcpy(line + pre + 1, pct + 2, strlen(pct + 2) + 1);
            int n = snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\nHost: a\r\n");
            memcpy(raw + n, line, ln);
            n += (int)ln;
            static const char tail[] = "\r\nContent-Length: 5\r\n\r\n0\r\n\r\n";
            memcpy(raw + n, tail, sizeof(tail) - 1);
            n += (int)sizeof(tail) - 1;
            char what[64];
            snprintf(what, sizeof(what), "shape %zu byte 0x%02x", s, bytes[b]);
            result r;
            run_all_splits(&o, raw, (size_t)n, what, &r);
            /* Content-Length next to anything that may be Transfer-Encoding: never forwarded
             * as chunked and length at once; either refused or one framing. */
            for (unsigned i = 0; !r.rejected && i < r.n; i++) {
                accepted++;
                assert_one_framing(&r.m[i], what);
                if (r.m[i].body == ZT_BODY_CHUNKED)
                    fail_msg("%s: chunked next to Content-Length accepted", what);
            }
        }
    }
    print_message("TE mutations accepted (as non-framing headers): %u\n", accepted);
    /* Each mutation sits next to a Content-Length: none is forwarded with two framings. */
    assert_int_equal(accepted, 0);
}

/* ---- fragmentation and pipelining ---------------------------------------------------------- */

static void test_pipelined(void **state)
{
    (void)state;
    static const char raw[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                              "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                              "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "1\r\nx\r\n0\r\nT: v\r\n\r\n"
                              "GET /4 HTTP/1.1\r\nHost: b\r\n\r\n";
    run_opts o = {.type = HTTP_REQUEST};
    result r;
    run_all_splits(&o, raw, sizeof(raw) - 1, "pipelined", &r);
    assert_false(r.rejected);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.m[0].path, "/1");
    assert_string_equal(r.m[1].path, "/2");
    assert_int_equal(r.m[1].body, ZT_BODY_LENGTH);
    assert_string_equal(r.m[2].path, "/3");
    assert_int_equal(r.m[2].body, ZT_BODY_CHUNKED);
    assert_int_equal(r.m[2].n_headers_final, r.m[2].n_headers);
    assert_string_equal(r.m[3].path, "/4");
    assert_string_equal(r.m[3].host, "b");
}

/* A smuggled sentinel behind a refused head is never parsed as a request. */
static void test_smuggled_sentinel(void **state)
{
    (void)state;
    static const char *const raws[] = {
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 34\r\n\r\n"
        "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Content-Length: 34\r\n\r\n"
        "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    run_opts o = {.type = HTTP_REQUEST};
    for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
        result r;
        run_all_splits(&o, raws[i], strlen(raws[i]), "sentinel", &r);
        assert_true(r.rejected);
        for (unsigned k = 0; k < r.n; k++)
            assert_true(strstr(r.m[k].url, "admin") == NULL);
    }
}

/* ---- limits -------------------------------------------------------------------------------- */

static void build_request(char *buf, size_t cap, size_t url_len, unsigned n_headers,
                          size_t value_len)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "GET /");
    for (size_t i = 1; i < url_len; i++)
        buf[n++] = 'u';
    n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: a\r\n");
    for (unsigned i = 0; i < n_headers; i++) {
        n += (size_t)snprintf(buf + n, cap - n, "X-%u: ", i);
        for (size_t k = 0; k < value_len; k++)
            buf[n++] = 'v';
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    n += (size_t)snprintf(buf + n, cap - n, "\r\n");
    buf[n] = '\0';
}

static void expect_limit(size_t max_bytes, unsigned max_headers, size_t url_len, unsigned n_headers,
                         size_t value_len, int status)
{
    static char raw[32768];
    build_request(raw, sizeof(raw), url_len, n_headers, value_len);
    run_opts o = {.type = HTTP_REQUEST, .max_bytes = max_bytes, .max_headers = max_headers};
    result r;
    run_all_splits(&o, raw, strlen(raw), "limit", &r);
    if (status == 0) {
        if (r.rejected)
            fail_msg("limit: url %zu headers %u x %zu refused: %s", url_len, n_headers, value_len,
                     r.why);
        return;
    }
    if (!r.rejected || r.status != status)
        fail_msg("limit: url %zu headers %u x %zu: want %d got %d", url_len, n_headers, value_len,
                 status, r.status);
}

static void test_limits(void **state)
{
    (void)state;
    /* bytes counted: url + names + values. "Host"+"a" = 5, "X-0"+"vvvv" = 7 per header */
    expect_limit(256, 8, 200, 0, 0, 0);
    expect_limit(256, 8, 251, 0, 0, 0);   /* 251 + 5 = 256: exactly the limit */
    expect_limit(256, 8, 252, 0, 0, 431); /* the Host header tips it */
    expect_limit(256, 8, 257, 0, 0, 414); /* the URL alone */
    expect_limit(256, 8, 10, 7, 4, 0);    /* 8 headers with Host */
    expect_limit(256, 8, 10, 8, 4, 431);  /* 9 headers */
    expect_limit(256, 64, 10, 40, 4, 431);
    expect_limit(4096, 4, 10, 2, 2000, 0);
    expect_limit(4096, 4, 10, 3, 2000, 431);
    /* the hard cap holds whatever the caller asks for */
    zt_http_head h;
    zt_http_head_init(&h, 1024, 100000);
    assert_int_equal(h.max_headers, ZT_HTTP_HEADERS_HARD_MAX);
    zt_http_head_dispose(&h);
    zt_http_head_dispose(NULL);
}

static void test_on_input_required(void **state)
{
    (void)state;
    zt_http_head h;
    char buf[] = "/x";
    zt_http_head_init(&h, 1024, 8);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), -1);
    assert_int_equal(h.error_status, 500);
    zt_http_head_reset(&h);
    zt_http_head_on_input(&h, buf, 1);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), -1); /* beyond the registered bytes */
    zt_http_head_reset(&h);
    zt_http_head_on_input(&h, buf, 2);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), 0);
    zt_http_head_dispose(&h);
}

/* ---- checks llhttp already backs: driven directly, as a later llhttp might not ---------- */

static void fake_parser(llhttp_t *p, uint16_t flags, uint64_t cl)
{
    memset(p, 0, sizeof(*p));
    p->type = HTTP_REQUEST;
    p->method = HTTP_POST;
    p->http_major = 1;
    p->http_minor = 1;
    p->flags = flags;
    p->content_length = cl;
}

/* One buffer "url name value name value ...": the adapters get pointers into it. */
static int direct_head(zt_http_head *h, const char *buf, const size_t *lens, size_t n,
                       const llhttp_t *p)
{
    size_t off = 0;
    zt_http_head_on_input(h, buf, strlen(buf));
    for (size_t i = 0; i < n; i++) {
        int rc = i == 0         ? zt_http_head_on_url(h, buf + off, lens[i])
                 : (i % 2 == 1) ? zt_http_head_on_field(h, buf + off, lens[i])
                                : zt_http_head_on_value(h, buf + off, lens[i]);
        if (rc < 0)
            return rc;
        off += lens[i];
    }
    return zt_http_head_complete(h, p);
}

static void test_direct_checks(void **state)
{
    (void)state;
    static const size_t hv[] = {2, 4, 1, 14, 1};
    static const struct {
        const char *buf;
        uint16_t flags;
        uint64_t cl;
        int rc;
        int status;
    } cases[] = {
        {"/xHostaContent-Length5", F_CONTENT_LENGTH, 5, 0, 0},
        /* our verdict and llhttp's must be one */
        {"/xHostaContent-Length5", 0, 0, -1, 400},
        {"/xHostaContent-Length5", F_CONTENT_LENGTH, 4, -1, 400},
        {"/xHostaContent-Length5", F_CONTENT_LENGTH | F_CHUNKED, 5, -1, 400},
        /* bytes llhttp refuses before we see them */
        {"/xHostaContent-Length\x01", F_CONTENT_LENGTH, 5, -1, 400},
        {"/xHostaContent-Length\r", F_CONTENT_LENGTH, 5, -1, 400},
        {"/xHostaContent-Length\x7f", F_CONTENT_LENGTH, 5, -1, 400},
        {"/xHosta\x7f"
         "ontent-Length5",
         0, 0, -1, 400},
        {"/xHosta"
         "Content Length5",
         0, 0, -1, 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_http_head h;
        llhttp_t p;
        zt_http_head_init(&h, 1024, 8);
        fake_parser(&p, cases[i].flags, cases[i].cl);
        int rc = direct_head(&h, cases[i].buf, hv, 5, &p);
        if (rc != cases[i].rc || h.error_status != cases[i].status)
            fail_msg("direct case %zu: rc %d status %d (%s)", i, rc, h.error_status,
                     h.error ? h.error : "-");
        zt_http_head_dispose(&h);
    }
}

/* Two fragments of one token with bytes between them: llhttp skipped something. */
static void test_fragment_contiguity(void **state)
{
    (void)state;
    static const char buf[] = "/xAB: v w";
    zt_http_head h;
    zt_http_head_init(&h, 1024, 8);
    zt_http_head_on_input(&h, buf, sizeof(buf) - 1);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), 0);
    assert_int_equal(zt_http_head_on_field(&h, buf + 2, 1), 0);
    assert_int_equal(zt_http_head_on_field(&h, buf + 3, 1), 0); /* "AB": contiguous */
    assert_int_equal(zt_http_head_on_value(&h, buf + 6, 1), 0);
    assert_int_equal(zt_http_head_on_value(&h, buf + 8, 1), -1); /* "v" ... "w" */
    assert_int_equal(h.error_status, 400);
    zt_http_head_reset(&h);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), 0);
    assert_int_equal(zt_http_head_on_field(&h, buf + 2, 1), 0);
    assert_int_equal(zt_http_head_on_field(&h, buf + 4, 1), -1); /* "A" ... "B" */
    zt_http_head_reset(&h);
    /* across buffers: only a fragment that reached the end may go on, at the next start */
    zt_http_head_on_input(&h, buf, 3);
    assert_int_equal(zt_http_head_on_url(&h, buf, 2), 0);
    assert_int_equal(zt_http_head_on_field(&h, buf + 2, 1), 0);
    zt_http_head_on_input(&h, buf + 3, sizeof(buf) - 4);
    assert_int_equal(zt_http_head_on_field(&h, buf + 3, 1), 0);
    zt_http_head_on_input(&h, buf + 5, 1); /* the field ended before the old buffer's end */
    assert_int_equal(zt_http_head_on_value(&h, buf + 5, 1), 0);
    zt_http_head_on_input(&h, buf + 6, 3);
    assert_int_equal(zt_http_head_on_value(&h, buf + 6, 1), 0); /* " " then "v": contiguous */
    zt_http_head_reset(&h);
    zt_http_head_on_input(&h, buf, 2);
    assert_int_equal(zt_http_head_on_url(&h, buf, 1), 0);
    zt_http_head_on_input(&h, buf + 1, 2);
    assert_int_equal(zt_http_head_on_url(&h, buf + 1, 1), -1); /* "/" did not reach the end */
    zt_http_head_dispose(&h);
}

/* ---- request target ------------------------------------------------------------------------- */

typedef struct target_case {
    const char *url;
    const char *host;
    const char *path; /* NULL: refused */
    const char *query;
    bool encoded_slash;
} target_case;

static const target_case TARGETS[] = {
    {"/", "a", "/", NULL, false},
    {"/a/../b?x=1", "a", "/b", "x=1", false},
    {"/?", "a", "/", "", false},
    {"/a?b?c", "a", "/a", "b?c", false},
    {"/a?x=/../y", "a", "/a", "x=/../y", false},
    {"//a//b", "a", "/a/b", NULL, false},
    {"/a%2Fb", "a", "/a%2Fb", NULL, true},
    {"/a%5cb", "a", "/a%5Cb", NULL, true},
    {"/%2e%2e/x", "a", NULL, NULL, false},
    {"/a/..%2f..%2fadmin", "a", NULL, NULL, false},
    {"/a#f", "a", NULL, NULL, false},
    {"/a?b#c", "a", NULL, NULL, false},
    {"/a?b\x7f", "a", NULL, NULL, false},
    {"/a?\xc3\xa9", "a", NULL, NULL, false},
    {"*", "a", NULL, NULL, false},
    {"http://a/b", "a", "/b", NULL, false},
    {"HTTP://A/b/../c?q", "a", "/c", "q", false},
    {"https://a", "a", "/", NULL, false},
    {"http://a?q", "a", "/", "q", false},
    {"http://a:8080/x", "a:8080", "/x", NULL, false},
    {"http://a/x", "a:8080", NULL, NULL, false},
    {"http://a:8080/x", "a", NULL, NULL, false},
    {"http://b/x", "a", NULL, NULL, false},
    {"http://u@a/x", "a", NULL, NULL, false},
    {"http://a.evil/x", "a", NULL, NULL, false},
    {"http:/a/x", "a", NULL, NULL, false},
    {"ftp://a/x", "a", NULL, NULL, false},
    {"http://[::1]/x", "[::1]", "/x", NULL, false},
};

static void test_targets(void **state)
{
    (void)state;
    run_opts o = {.type = HTTP_REQUEST};
    for (size_t i = 0; i < sizeof(TARGETS) / sizeof(TARGETS[0]); i++) {
        const target_case *c = &TARGETS[i];
        char raw[512];
        int n = snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", c->url, c->host);
        result r;
        run_all_splits(&o, raw, (size_t)n, c->url, &r);
        bool ok = !r.rejected && r.n == 1 && r.m[0].target_rc == 0;
        if (c->path == NULL) {
            if (ok)
                fail_msg("target %zu \"%s\": accepted as \"%s\"", i, c->url, r.m[0].path);
            continue;
        }
        if (!ok)
            fail_msg("target %zu \"%s\": refused: %s", i, c->url,
                     r.n ? (r.m[0].target_why ? r.m[0].target_why : r.m[0].why) : r.why);
        assert_string_equal(r.m[0].path, c->path);
        assert_int_equal(r.m[0].has_query, c->query != NULL);
        assert_string_equal(r.m[0].query, c->query ? c->query : "");
        assert_int_equal(r.m[0].encoded_slash, c->encoded_slash);
    }
}

static void test_target_no_host_10(void **state)
{
    (void)state;
    static const char raw[] = "GET http://a/x HTTP/1.0\r\n\r\n";
    run_opts o = {.type = HTTP_REQUEST};
    result r;
    run_whole(&o, raw, sizeof(raw) - 1, &r);
    assert_false(r.rejected);
    assert_int_equal(r.m[0].target_rc, -1);
    assert_int_equal(r.m[0].out[0], '\0');
}

/* ---- upstream head: exact bytes, header injection ----------------------------------------- */

static void upstream_of(const char *raw, const fwd_template *f, msg *out)
{
    run_opts o = {.type = HTTP_REQUEST, .fwd = f};
    result r;
    run_all_splits(&o, raw, strlen(raw), "upstream", &r);
    if (r.rejected || r.n != 1 || r.m[0].out_rc != 0)
        fail_msg("upstream: %s", r.rejected ? r.why : "no head written");
    *out = r.m[0];
}

static const char INJECT[] = "POST /a/./b?q=1 HTTP/1.1\r\n"
                             "Host: App.Example:8443\r\n"
                             "User-Agent: t\r\n"
                             "X-ZT-User: mallory\r\n"
                             "x-zt-groups: admins\r\n"
                             "X_ZT_User: mallory\r\n"
                             "X-Zt-Assertion: forged\r\n"
                             "X-Forwarded-For: 6.6.6.6\r\n"
                             "X-Forwarded-For: 7.7.7.7\r\n"
                             "X-Forwarded-Proto: http\r\n"
                             "X-Forwarded-Host: evil.example\r\n"
                             "X_Forwarded_For: 8.8.8.8\r\n"
                             "X-Forwarded-Port: 1\r\n"
                             "X-Real-IP: 6.6.6.6\r\n"
                             "Forwarded: for=6.6.6.6\r\n"
                             "X-Original-URL: /admin\r\n"
                             "Connection: keep-alive, X-Drop-Me, X-ZT-User\r\n"
                             "X-Drop-Me: 1\r\n"
                             "Keep-Alive: timeout=5\r\n"
                             "Proxy-Connection: keep-alive\r\n"
                             "TE: trailers\r\n"
                             "Trailer: X\r\n"
                             "Upgrade: h2c\r\n"
                             "Proxy-Authorization: Basic eA==\r\n"
                             "Proxy-Authenticate: Basic\r\n"
                             "Expect: 100-continue\r\n"
                             "Accept: */*\r\n"
                             "Content-Length: 3\r\n"
                             "\r\n"
                             "abc";

static void test_upstream_untrusted(void **state)
{
    (void)state;
    msg m;
    upstream_of(INJECT, &DEFAULT_FWD, &m);
    assert_string_equal(m.out, "POST /a/b?q=1 HTTP/1.1\r\n"
                               "Host: app.internal:8080\r\n"
                               "User-Agent: t\r\n"
                               "Accept: */*\r\n"
                               "X-Forwarded-For: 192.0.2.1\r\n"
                               "X-Forwarded-Proto: https\r\n"
                               "X-Forwarded-Host: App.Example:8443\r\n"
                               "X-ZT-User: alice\r\n"
                               "Content-Length: 3\r\n"
                               "\r\n");
}

/* A WebSocket handshake goes upstream with our own Connection/Upgrade, never the client's
 * spelling or anything it named in Connection; Sec-WebSocket-* pass end to end. An h2c
 * attempt loses Upgrade and HTTP2-Settings even when Connection does not name them. */
static const char WS_REQ[] = "GET /chat HTTP/1.1\r\n"
                             "Host: app.example\r\n"
                             "Upgrade: WebSocket\r\n"
                             "Connection: keep-alive, Upgrade, X-Drop-Me\r\n"
                             "X-Drop-Me: 1\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Protocol: chat\r\n"
                             "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
                             "\r\n";

static void test_upstream_websocket(void **state)
{
    (void)state;
    fwd_template f = DEFAULT_FWD;
    f.n_extra = 0;
    f.websocket = true;
    msg m;
    upstream_of(WS_REQ, &f, &m);
    assert_string_equal(m.out, "GET /chat HTTP/1.1\r\n"
                               "Host: app.internal:8080\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Protocol: chat\r\n"
                               "X-Forwarded-For: 192.0.2.1\r\n"
                               "X-Forwarded-Proto: https\r\n"
                               "X-Forwarded-Host: app.example\r\n"
                               "Connection: Upgrade\r\n"
                               "Upgrade: websocket\r\n"
                               "\r\n");
    /* the same bytes without a checked handshake: a plain GET */
    f.websocket = false;
    upstream_of(WS_REQ, &f, &m);
    assert_null(strstr(m.out, "Upgrade"));
    assert_null(strstr(m.out, "HTTP2-Settings"));
    upstream_of("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
                &f, &m);
    assert_null(strstr(m.out, "Upgrade"));
    assert_null(strstr(m.out, "HTTP2-Settings"));
}

static void test_upstream_trusted(void **state)
{
    (void)state;
    fwd_template f = DEFAULT_FWD;
    f.trusted = true;
    msg m;
    upstream_of(INJECT, &f, &m);
    assert_string_equal(m.out, "POST /a/b?q=1 HTTP/1.1\r\n"
                               "Host: app.internal:8080\r\n"
                               "User-Agent: t\r\n"
                               "X-Forwarded-Port: 1\r\n"
                               "X-Real-IP: 6.6.6.6\r\n"
                               "Accept: */*\r\n"
                               "X-Forwarded-For: 6.6.6.6, 7.7.7.7, 192.0.2.1\r\n"
                               "X-Forwarded-Proto: http\r\n"
                               "X-Forwarded-Host: evil.example\r\n"
                               "X-ZT-User: alice\r\n"
                               "Content-Length: 3\r\n"
                               "\r\n");
}

/* Traefik CVE-2024-45410: naming our headers in Connection must not remove what we set. */
static void test_upstream_connection_names_ours(void **state)
{
    (void)state;
    static const char raw[] = "GET /x HTTP/1.1\r\nHost: a\r\n"
                              "Connection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, "
                              "X-ZT-User, Host, Content-Length, Transfer-Encoding\r\n"
                              "X-Forwarded-For: 6.6.6.6\r\n\r\n";
    fwd_template f = DEFAULT_FWD;
    msg m;
    upstream_of(raw, &f, &m);
    assert_string_equal(m.out, "GET /x HTTP/1.1\r\n"
                               "Host: app.internal:8080\r\n"
                               "X-Forwarded-For: 192.0.2.1\r\n"
                               "X-Forwarded-Proto: https\r\n"
                               "X-Forwarded-Host: a\r\n"
                               "X-ZT-User: alice\r\n"
                               "\r\n");
    /* From a trusted peer, a header it names in Connection is hop-by-hop: not its chain. */
    f.trusted = true;
    upstream_of(raw, &f, &m);
    assert_non_null(strstr(m.out, "X-Forwarded-For: 192.0.2.1\r\n"));
}

static void test_upstream_chunked_and_http10(void **state)
{
    (void)state;
    static const char chunked[] = "PUT /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n0\r\n\r\n";
    static const char v10[] = "GET /old HTTP/1.0\r\nConnection: close\r\n\r\n";
    fwd_template f = DEFAULT_FWD;
    f.n_extra = 0;
    msg m;
    upstream_of(chunked, &f, &m);
    assert_string_equal(m.out, "PUT /u HTTP/1.1\r\nHost: app.internal:8080\r\n"
                               "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\n"
                               "X-Forwarded-Host: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    upstream_of(v10, &f, &m);
    assert_string_equal(m.out, "GET /old HTTP/1.1\r\nHost: app.internal:8080\r\n"
                               "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\n\r\n");
}

/* Every identity header in '-', '_' and case variants: the upstream sees none of them. */
static void test_upstream_identity_variants(void **state)
{
    (void)state;
    static const char *const names[] = {
        "X-ZT-User",      "x-zt-user",     "X_ZT_User",  "X-ZT_Email",
        "x_zt_groups",    "X-ZT-Device",   "X-ZT-Trust", "X-ZT-Restrict",
        "X-ZT-Assertion", "X-Zt-Anything", "X_zt_",
    };
    fwd_template f = DEFAULT_FWD;
    f.n_extra = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char raw[256];
        snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\n%s: forged\r\n\r\n", names[i]);
        msg m;
        upstream_of(raw, &f, &m);
        if (strstr(m.out, "forged") != NULL)
            fail_msg("%s reached the upstream:\n%s", names[i], m.out);
    }
}

static void test_upstream_refuses_bad_ctx(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    harness hs;
    result r;
    harness_parse(&hs, &r, HTTP_REQUEST, raw, sizeof(raw) - 1, false);
    assert_int_equal(r.err, HPE_OK);
    const zt_http_head *h = &hs.h;
    zt_header bad_extra[] = {{ZT_SPAN_LIT("X-ZT-User"), ZT_SPAN_LIT("eve\r\nX-ZT-Groups: admins")}};
    zt_header bad_name[] = {{ZT_SPAN_LIT("X ZT"), ZT_SPAN_LIT("v")}};
    zt_header framing_extra[] = {{ZT_SPAN_LIT("Content-Length"), ZT_SPAN_LIT("0")}};
    zt_forward_ctx ok = {.client_ip = "192.0.2.1",
                         .proto = "http",
                         .host_header = "up",
                         .orig_host = "a",
                         .path = "/"};
    zt_forward_ctx c;
    zt_buf out;
    zt_buf_init(&out, 0);
    zt_buf_append_str(&out, "keep");
    assert_int_equal(zt_http_write_upstream_head(&out, h, &ok), 0);
    out.len = 4;
    c = ok, c.extra = bad_extra, c.n_extra = 1;
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.extra = bad_name, c.n_extra = 1;
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.extra = framing_extra, c.n_extra = 1;
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.path = "/a b";
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.path = "/a\r\nX: y";
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.path = "a";
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.has_query = true, c.query = ZT_SPAN_LIT("a\nb");
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.host_header = "up\r\nX: y";
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.client_ip = NULL;
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    c = ok, c.body = ZT_BODY_UNTIL_EOF;
    assert_int_equal(zt_http_write_upstream_head(&out, h, &c), -EINVAL);
    /* a limited buffer that fills up: out unchanged */
    zt_buf small;
    zt_buf_init(&small, 32);
    zt_buf_append_str(&small, "xy");
    assert_int_equal(zt_http_write_upstream_head(&small, h, &ok), -E2BIG);
    assert_int_equal(small.len, 2);
    zt_buf_dispose(&small);
    assert_int_equal(out.len, 4);
    zt_buf_dispose(&out);
    zt_http_head_dispose(&hs.h);
}

/* ---- responses ------------------------------------------------------------------------------ */

typedef struct resp_case {
    const char *name;
    const char *raw;
    int status; /* 0 accepted, else 502 */
    zt_body_kind body;
    uint64_t cl;
    bool keep_alive;
} resp_case;

#define RACCEPT(n, r, b, c, k)                                                                     \
    {                                                                                              \
        .name = n, .raw = r, .body = b, .cl = c, .keep_alive = k                                   \
    }
#define RREFUSE(n, r, st)                                                                          \
    {                                                                                              \
        .name = n, .raw = r, .status = st                                                          \
    }

static const resp_case RESP_CASES[] = {
    RACCEPT("CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", ZT_BODY_LENGTH, 5, true),
    RACCEPT("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ZT_BODY_CHUNKED, 0, true),
    RACCEPT("until EOF", "HTTP/1.1 200 OK\r\nX: y\r\n\r\nsome", ZT_BODY_UNTIL_EOF, 0, false),
    RACCEPT("1.0 until EOF", "HTTP/1.0 200 OK\r\n\r\nsome", ZT_BODY_UNTIL_EOF, 0, false),
    RACCEPT("204 with CL", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ZT_BODY_NONE, 0,
            true),
    RACCEPT("304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", ZT_BODY_NONE, 0,
            true),
    RACCEPT("103", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", ZT_BODY_NONE, 0, true),
    RREFUSE("CL.CL", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 502),
    RREFUSE("CL list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", 502),
    RREFUSE("CL bad", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 502),
    RREFUSE("CL.TE", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            502),
    RREFUSE("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", 502),
    RREFUSE("TE gzip, chunked",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 502),
    RREFUSE("TE twice",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
            "\r\n\r\n0\r\n\r\n",
            502),
    RREFUSE("TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 502),
    RREFUSE("fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 502),
    RREFUSE("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 502),
    RREFUSE("HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502),
    RREFUSE("NUL", "HTTP/1.1 200 OK\r\nX: \x01\r\nContent-Length: 0\r\n\r\n", 502),
};

static void test_response_table(void **state)
{
    (void)state;
    run_opts o = {.type = HTTP_RESPONSE};
    for (size_t i = 0; i < sizeof(RESP_CASES) / sizeof(RESP_CASES[0]); i++) {
        const resp_case *c = &RESP_CASES[i];
        result r;
        run_all_splits(&o, c->raw, strlen(c->raw), c->name, &r);
        if (c->status != 0) {
            if (!r.rejected || r.status != 502)
                fail_msg("%s: want 502, got rejected=%d status=%d", c->name, r.rejected, r.status);
            continue;
        }
        if (r.rejected || r.n < 1 || r.m[0].rc != 0)
            fail_msg("%s: refused: %s", c->name, r.why ? r.why : "-");
        if (r.m[0].body != c->body || r.m[0].cl != c->cl || r.m[0].keep_alive != c->keep_alive)
            fail_msg("%s: body %d cl %llu keep %d", c->name, r.m[0].body,
                     (unsigned long long)r.m[0].cl, r.m[0].keep_alive);
    }
}

/* A 204 announcing a body must not make llhttp eat the next response. */
static void test_response_bodiless_then_next(void **state)
{
    (void)state;
    static const char raw[] = "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    run_opts o = {.type = HTTP_RESPONSE};
    result r;
    run_all_splits(&o, raw, sizeof(raw) - 1, "bodiless", &r);
    assert_false(r.rejected);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.m[0].code, 100);
    assert_int_equal(r.m[1].code, 204);
    assert_int_equal(r.m[1].body, ZT_BODY_NONE);
    assert_int_equal(r.m[2].code, 200);
    assert_int_equal(r.m[2].body, ZT_BODY_LENGTH);
}

static void client_head_of(const char *raw, bool head_request, const zt_response_ctx *ctx,
                           char *out, size_t cap)
{
    harness hs;
    result r;
    harness_parse(&hs, &r, HTTP_RESPONSE, raw, strlen(raw), head_request);
    assert_false(r.err != HPE_OK && r.err != HPE_PAUSED_UPGRADE);
    assert_int_equal(r.n, 1);
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_http_write_client_head(&b, &hs.h, ctx), 0);
    copy_span(out, cap, (zt_span){b.data, b.len});
    zt_buf_dispose(&b);
    zt_http_head_dispose(&hs.h);
}

static const char RESP_HOP[] = "HTTP/1.1 200 Whatever\r\n"
                               "Content-Type: text/plain\r\n"
                               "Connection: keep-alive, X-Internal\r\n"
                               "X-Internal: secret\r\n"
                               "Keep-Alive: timeout=5\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "Upgrade: h2\r\n"
                               "Proxy-Authenticate: Basic\r\n"
                               "Trailer: X\r\n"
                               "Set-Cookie: a=b\r\n"
                               "\r\n"
                               "0\r\n\r\n";

static void test_client_head_websocket(void **state)
{
    (void)state;
    char out[1024];
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: WebSocket\r\n"
                               "Connection: upgrade, X-Internal\r\n"
                               "X-Internal: secret\r\n"
                               "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                               "\r\n";
    zt_response_ctx ctx = {.body = ZT_BODY_NONE, .keep_alive = false, .websocket = true};
    client_head_of(resp, false, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "\r\n");
    /* a non-101 answer to a handshake is an ordinary response that ends the connection */
    ctx = (zt_response_ctx){.body = ZT_BODY_LENGTH, .content_length = 0, .websocket = true};
    client_head_of("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n", false, &ctx, out,
                   sizeof(out));
    assert_string_equal(out, "HTTP/1.1 426 Upgrade Required\r\n"
                             "Content-Length: 0\r\n"
                             "Connection: close\r\n"
                             "\r\n");
}

static void test_client_head_bytes(void **state)
{
    (void)state;
    char out[1024];
    zt_response_ctx ctx = {.body = ZT_BODY_CHUNKED, .keep_alive = true};
    client_head_of(RESP_HOP, false, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/plain\r\n"
                             "Set-Cookie: a=b\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "\r\n");
    ctx = (zt_response_ctx){.body = ZT_BODY_LENGTH, .content_length = 12, .keep_alive = false};
    client_head_of(RESP_HOP, false, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/plain\r\n"
                             "Set-Cookie: a=b\r\n"
                             "Content-Length: 12\r\n"
                             "Connection: close\r\n"
                             "\r\n");
    ctx = (zt_response_ctx){.body = ZT_BODY_UNTIL_EOF, .keep_alive = true};
    client_head_of("HTTP/1.0 404 Nope\r\n\r\nbody", false, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    ctx = (zt_response_ctx){.body = ZT_BODY_NONE, .keep_alive = true};
    client_head_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    client_head_of("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false, &ctx, out,
                   sizeof(out));
    assert_string_equal(out, "HTTP/1.1 204 No Content\r\n\r\n");
    client_head_of("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", false, &ctx, out,
                   sizeof(out));
    assert_string_equal(out, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
    /* HEAD: the upstream's Content-Length goes on verbatim, no body framing of ours */
    ctx = (zt_response_ctx){
        .body = ZT_BODY_LENGTH, .content_length = 99, .keep_alive = true, .head_request = true};
    client_head_of("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true, &ctx, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    client_head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, &ctx, out,
                   sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\n\r\n");
}

static void test_client_head_refuses_unvalidated(void **state)
{
    (void)state;
    zt_http_head h;
    zt_response_ctx ctx = {.body = ZT_BODY_NONE};
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_http_head_init(&h, 1024, 8);
    assert_int_equal(zt_http_write_client_head(&b, &h, &ctx), -EINVAL);
    assert_int_equal(b.len, 0);
    zt_http_head_dispose(&h);
    zt_buf_dispose(&b);
}

/* ---- small helpers -------------------------------------------------------------------------- */

static void test_chunks_and_status(void **state)
{
    (void)state;
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_http_write_chunk_header(&b, 255), 0);
    assert_int_equal(zt_http_write_chunk_header(&b, 0), -EINVAL);
    assert_int_equal(zt_http_write_chunk(&b, "abc", 3), 0);
    assert_int_equal(zt_http_write_chunk(&b, "", 0), 0);
    assert_int_equal(zt_http_write_chunk_end(&b), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "ff\r\n3\r\nabc\r\n0\r\n\r\n");
    zt_buf_dispose(&b);
    assert_string_equal(zt_http_status_text(200), "OK");
    assert_string_equal(zt_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(zt_http_status_text(502), "Bad Gateway");
    assert_string_equal(zt_http_status_text(599), "Unknown");
}

static void test_find(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\nAccept-Language: ja\r\n\r\n";
    harness hs;
    result r;
    zt_http_head_init(&hs.h, 1024, 8);
    assert_null(zt_http_head_find(&hs.h, "Host"));
    zt_http_head_dispose(&hs.h);
    harness_parse(&hs, &r, HTTP_REQUEST, raw, sizeof(raw) - 1, false);
    assert_int_equal(r.err, HPE_OK);
    const zt_header *al = zt_http_head_find(&hs.h, "accept-language");
    assert_non_null(al);
    assert_int_equal(al->value.n, 2);
    assert_memory_equal(al->value.p, "ja", 2);
    assert_null(zt_http_head_find(&hs.h, "Cookie"));
    zt_http_head_dispose(&hs.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table),
        cmocka_unit_test(test_host_port_and_expect),
        cmocka_unit_test(test_te_mutations),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_smuggled_sentinel),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_on_input_required),
        cmocka_unit_test(test_direct_checks),
        cmocka_unit_test(test_fragment_contiguity),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_target_no_host_10),
        cmocka_unit_test(test_upstream_untrusted),
        cmocka_unit_test(test_upstream_websocket),
        cmocka_unit_test(test_upstream_trusted),
        cmocka_unit_test(test_upstream_connection_names_ours),
        cmocka_unit_test(test_upstream_chunked_and_http10),
        cmocka_unit_test(test_upstream_identity_variants),
        cmocka_unit_test(test_upstream_refuses_bad_ctx),
        cmocka_unit_test(test_response_table),
        cmocka_unit_test(test_response_bodiless_then_next),
        cmocka_unit_test(test_client_head_bytes),
        cmocka_unit_test(test_client_head_websocket),
        cmocka_unit_test(test_client_head_refuses_unvalidated),
        cmocka_unit_test(test_chunks_and_status),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
