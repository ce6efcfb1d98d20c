/* libFuzzer target for the request side: bytes go through llhttp and the zt_http_head
 * callbacks in pieces cut where the input says, then target parsing and the upstream head.
 * Every head we write must parse again cleanly under the same rules, carry exactly our framing,
 * our Host, our X-Forwarded-For and our X-ZT-* (never the client's), and a path that
 * normalisation leaves as it is. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http.h"
#include "proxy/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct fz {
    llhttp_t p;
    zt_http_head h;
    bool trusted;
    unsigned heads;
} fz;

static const zt_header EXTRA[] = {{ZT_SPAN_LIT("X-ZT-User"), ZT_SPAN_LIT("fuzz")}};

static fz *of(llhttp_t *p)
{
    return p->data;
}

static int on_begin(llhttp_t *p)
{
    zt_http_head_reset(&of(p)->h);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_url(&of(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&of(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&of(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int on_complete_plain(llhttp_t *p)
{
    of(p)->heads++;
    return zt_http_head_complete(&of(p)->h, p) < 0 ? -1 : 0;
}

static bool dash_prefix(zt_span name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (name.n < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name.p[i] == '_' ? '-' : zt_ascii_lower(name.p[i]);
        if (c != prefix[i])
            return false;
    }
    return true;
}

static unsigned count_named(const zt_http_head *h, const char *name)
{
    unsigned k = 0;
    for (unsigned i = 0; i < h->n_headers; i++)
        k += zt_span_ieq_cstr(h->headers[i].name, name);
    return k;
}

/* The written head, parsed again from scratch, must say what we meant. */
static void check_written(const zt_buf *out, const zt_http_head *req, const zt_forward_ctx *ctx)
{
    static const llhttp_settings_t s = {
        .on_message_begin = on_begin,
        .on_url = on_url,
        .on_header_field = on_field,
        .on_header_value = on_value,
        .on_headers_complete = on_complete_plain,
    };
    fz f;
    memset(&f, 0, sizeof(f));
    zt_http_head_init(&f.h, 2 * (req->raw.limit + 1024), ZT_HTTP_HEADERS_HARD_MAX);
    llhttp_init(&f.p, HTTP_REQUEST, &s);
    f.p.data = &f;
    zt_http_head_on_input(&f.h, out->data, out->len);
    llhttp_errno_t err = llhttp_execute(&f.p, out->data, out->len);
    /* A WebSocket handshake is written with our Connection/Upgrade: llhttp stops after it. */
    CHECK((err == HPE_OK || (ctx->websocket && err == HPE_PAUSED_UPGRADE)) && f.heads == 1 &&
          f.h.error == NULL);
    const zt_http_head *w = &f.h;
    CHECK(w->method == req->method && w->http_minor == 1 && w->body == ctx->body);
    CHECK(w->body != ZT_BODY_LENGTH || w->content_length == ctx->content_length);
    CHECK(count_named(w, "Host") == 1 && count_named(w, "X-Forwarded-For") == 1);
    const zt_header *xff = zt_http_head_find(w, "X-Forwarded-For");
    size_t ipn = strlen(ctx->client_ip);
    CHECK(xff->value.n >= ipn &&
          memcmp(xff->value.p + xff->value.n - ipn, ctx->client_ip, ipn) == 0);
    CHECK(ctx->peer_is_trusted || xff->value.n == ipn);
    unsigned zt = 0;
    for (unsigned i = 0; i < w->n_headers; i++) {
        if (!dash_prefix(w->headers[i].name, "x-zt-"))
            continue;
        zt++;
        CHECK(zt_span_eq(w->headers[i].value, ZT_SPAN_LIT("fuzz")));
    }
    CHECK(zt == 1);
    CHECK(count_named(w, "Connection") == (ctx->websocket ? 1u : 0u) &&
          count_named(w, "Upgrade") == (ctx->websocket ? 1u : 0u) &&
          count_named(w, "Expect") == 0 && count_named(w, "HTTP2-Settings") == 0);
    /* The app gets the handshake we checked, or none. */
    CHECK(zt_ws_check_request(w).kind == (ctx->websocket ? ZT_WS_UPGRADE : ZT_WS_NONE));
    /* The path we sent is already normal: parsing it again changes nothing. */
    char *path = malloc(w->url.n + 1);
    zt_http_target t;
    const char *why = NULL;
    CHECK(path != NULL && zt_http_target_parse(w, path, &t, &why) == 0);
    CHECK(strcmp(path, ctx->path) == 0 && t.has_query == ctx->has_query);
    CHECK(zt_span_eq(t.query, ctx->query));
    free(path);
    zt_http_head_dispose(&f.h);
}

static void forward(fz *f)
{
    const zt_http_head *h = &f->h;
    char *path = malloc(h->url.n + 1);
    zt_http_target t;
    const char *why = NULL;
    CHECK(path != NULL);
    zt_ws_check ws = zt_ws_check_request(h);
    CHECK(ws.kind != ZT_WS_INVALID || (ws.why != NULL && (ws.status == 400 || ws.status == 426)));
    (void)zt_ws_origin_allowed(h, f->trusted ? "https" : "http", NULL, 0);
    if (zt_http_target_parse(h, path, &t, &why) == 0) {
        CHECK(t.path_len <= h->url.n && t.path[0] == '/' && strlen(t.path) == t.path_len);
        zt_forward_ctx ctx = {
            .client_ip = "192.0.2.7",
            .peer_is_trusted = f->trusted,
            .proto = "https",
            .host_header = "upstream.internal",
            .orig_host = "orig.example",
            .path = t.path,
            .query = t.query,
            .has_query = t.has_query,
            .extra = EXTRA,
            .n_extra = 1,
            .body = h->body,
            .content_length = h->content_length,
            .websocket = ws.kind == ZT_WS_UPGRADE,
        };
        zt_buf out;
        zt_buf_init(&out, 0);
        CHECK(zt_http_write_upstream_head(&out, h, &ctx) == 0);
        check_written(&out, h, &ctx);
        zt_buf_dispose(&out);
    } else {
        CHECK(why != NULL);
    }
    free(path);
}

static int on_complete_forward(llhttp_t *p)
{
    fz *f = of(p);
    f->heads++;
    if (zt_http_head_complete(&f->h, p) < 0) {
        CHECK(f->h.error != NULL && f->h.error_status >= 400);
        return -1;
    }
    const zt_http_head *h = &f->h;
    CHECK(h->is_request && h->http_major == 1 && h->body != ZT_BODY_UNTIL_EOF);
    CHECK(h->host.n < sizeof(h->host_store));
    forward(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const llhttp_settings_t s = {
        .on_message_begin = on_begin,
        .on_url = on_url,
        .on_header_field = on_field,
        .on_header_value = on_value,
        .on_headers_complete = on_complete_forward,
    };
    if (size < 1)
        return 0;
    /* First byte: bit 0 trusted peer, the rest the piece size (0: everything at once). */
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    size_t piece = mode >> 1;
    fz f;
    memset(&f, 0, sizeof(f));
    f.trusted = mode & 1;
    zt_http_head_init(&f.h, 4096, 32);
    llhttp_init(&f.p, HTTP_REQUEST, &s);
    f.p.data = &f;
    for (size_t off = 0; off < n || n == 0;) {
        size_t k = piece == 0 || piece > n - off ? n - off : piece;
        /* Each piece in its own block: a read past what llhttp was given is caught. */
        char *buf = malloc(k + 1);
        CHECK(buf != NULL);
        memcpy(buf, in + off, k);
        zt_http_head_on_input(&f.h, buf, k);
        llhttp_errno_t err = llhttp_execute(&f.p, buf, k);
        free(buf);
        off += k;
        if (err != HPE_OK || n == 0)
            break;
    }
    zt_http_head_dispose(&f.h);
    return 0;
}
