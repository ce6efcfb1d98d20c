/* libFuzzer target for the response side: upstream bytes go through llhttp and the zt_http_head
 * callbacks in pieces, then the client head is written. An accepted response has one framing
 * verdict that llhttp shares; the head we write parses again with our framing and none of the
 * hop-by-hop or framing headers the upstream sent. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct fz {
    llhttp_t p;
    zt_http_head h;
    bool head_request;
    unsigned heads;
} fz;

static fz *of(llhttp_t *p)
{
    return p->data;
}

static int on_begin(llhttp_t *p)
{
    zt_http_head_reset(&of(p)->h);
    return 0;
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_field(&of(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    return zt_http_head_on_value(&of(p)->h, at, n) < 0 ? HPE_USER : 0;
}

static bool bodiless(const fz *f)
{
    return f->h.body == ZT_BODY_NONE || f->head_request;
}

static int on_complete_plain(llhttp_t *p)
{
    fz *f = of(p);
    f->heads++;
    if (zt_http_head_complete(&f->h, p) < 0)
        return -1;
    return bodiless(f) ? 1 : 0;
}

static unsigned count_named(const zt_http_head *h, const char *name)
{
    unsigned k = 0;
    for (unsigned i = 0; i < h->n_headers; i++)
        k += zt_span_ieq_cstr(h->headers[i].name, name);
    return k;
}

static void check_written(const zt_buf *out, const zt_http_head *up, const zt_response_ctx *ctx,
                          bool head_request)
{
    static const llhttp_settings_t s = {
        .on_message_begin = on_begin,
        .on_header_field = on_field,
        .on_header_value = on_value,
        .on_headers_complete = on_complete_plain,
    };
    fz f;
    memset(&f, 0, sizeof(f));
    f.head_request = head_request;
    zt_http_head_init(&f.h, 2 * (up->raw.limit + 1024), ZT_HTTP_HEADERS_HARD_MAX);
    llhttp_init(&f.p, HTTP_RESPONSE, &s);
    f.p.data = &f;
    zt_http_head_on_input(&f.h, out->data, out->len);
    llhttp_errno_t err = llhttp_execute(&f.p, out->data, out->len);
    CHECK(err == HPE_OK && f.heads == 1 && f.h.error == NULL);
    const zt_http_head *w = &f.h;
    CHECK(w->status == up->status && w->http_minor == 1);
    CHECK(count_named(w, "Transfer-Encoding") <= 1 && count_named(w, "Content-Length") <= 1);
    CHECK(count_named(w, "Keep-Alive") == 0 && count_named(w, "Upgrade") == 0 &&
          count_named(w, "Trailer") == 0 && count_named(w, "Proxy-Authenticate") == 0);
    /* "Connection: close" written whenever the client must not reuse the connection. */
    CHECK((ctx->keep_alive && ctx->body != ZT_BODY_UNTIL_EOF) || !w->keep_alive);
    if (!head_request && w->body != ZT_BODY_NONE) {
        CHECK(w->body == ctx->body || (ctx->body == ZT_BODY_NONE && w->body == ZT_BODY_LENGTH));
        CHECK(w->body != ZT_BODY_LENGTH || w->content_length == ctx->content_length);
    }
    zt_http_head_dispose(&f.h);
}

static int on_complete_write(llhttp_t *p)
{
    fz *f = of(p);
    f->heads++;
    if (zt_http_head_complete(&f->h, p) < 0) {
        CHECK(f->h.error != NULL && f->h.error_status == 502);
        return -1;
    }
    const zt_http_head *h = &f->h;
    CHECK(!h->is_request && h->status >= 100 && h->status <= 999);
    CHECK(h->body != ZT_BODY_UNTIL_EOF || !h->keep_alive);
    /* Our verdict must be llhttp's, or the body llhttp cuts is not the one we frame. */
    CHECK(h->body != ZT_BODY_CHUNKED || (p->flags & F_CHUNKED));
    CHECK(h->body != ZT_BODY_LENGTH ||
          ((p->flags & F_CONTENT_LENGTH) && p->content_length == h->content_length));
    CHECK(h->body != ZT_BODY_UNTIL_EOF || llhttp_message_needs_eof(p));
    zt_response_ctx ctx = {
        .body = h->body == ZT_BODY_UNTIL_EOF ? ZT_BODY_CHUNKED : h->body,
        .content_length = h->content_length,
        .keep_alive = h->keep_alive,
        .head_request = f->head_request,
    };
    zt_buf out;
    zt_buf_init(&out, 0);
    CHECK(zt_http_write_client_head(&out, h, &ctx) == 0);
    check_written(&out, h, &ctx, f->head_request);
    zt_buf_dispose(&out);
    return bodiless(f) ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const llhttp_settings_t s = {
        .on_message_begin = on_begin,
        .on_header_field = on_field,
        .on_header_value = on_value,
        .on_headers_complete = on_complete_write,
    };
    if (size < 1)
        return 0;
    /* First byte: bit 0 the request was HEAD, the rest the piece size (0: all at once). */
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    size_t piece = mode >> 1;
    fz f;
    memset(&f, 0, sizeof(f));
    f.head_request = mode & 1;
    zt_http_head_init(&f.h, 4096, 32);
    llhttp_init(&f.p, HTTP_RESPONSE, &s);
    f.p.data = &f;
    for (size_t off = 0; off < n || n == 0;) {
        size_t k = piece == 0 || piece > n - off ? n - off : piece;
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
