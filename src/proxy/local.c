/* Requests answered by ztgate itself: the bridge between a client connection and the handlers
 * registered in the table the gateway handed over (http/handler.h). The request copies what the
 * handler may read, so a handler that finishes after the client left (a password hash takes ~100
 * ms) never touches freed memory. */
#include "http/handler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/secure.h"
#include "http/pages.h"
#include "proxy/proxy_int.h"

/* The fingerprint an agent pins (`ztagent enroll --server-sha256`): the leaf certificate this
 * very connection got, so the command on the page matches what the agent will see. */
static void served_cert_sha256(SSL *ssl, char out[65])
{
    X509 *cert = ssl != NULL ? SSL_get_certificate(ssl) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    out[0] = '\0';
    if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32)
        return;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *local_copy(zt_local_req *r, const char *p, size_t n)
{
    char *s = zt_arena_strndup(&r->arena_, p ? p : "", p ? n : 0);
    return s;
}

static void local_free(zt_local_req *r)
{
    /* Request bodies carry passwords: wipe before giving the memory back. */
    if (r->body_.data != NULL)
        zt_wipe(r->body_.data, r->body_.cap);
    zt_buf_dispose(&r->body_);
    zt_buf_dispose(&r->resp_headers);
    zt_buf_dispose(&r->resp_body);
    zt_arena_dispose(&r->arena_);
    zt_runtime_release(r->rt_);
    free(r);
}

static void local_finish(zt_local_req *r);

static bool local_copy_headers(zt_local_req *r, const zt_http_head *head)
{
    zt_local_header *hs = zt_arena_alloc(&r->arena_, (head->n_headers + 1) * sizeof(*hs));
    if (hs == NULL)
        return false;
    for (unsigned i = 0; i < head->n_headers; i++) {
        const zt_header *h = &head->headers[i];
        char *name = local_copy(r, h->name.p, h->name.n);
        char *value = local_copy(r, h->value.p, h->value.n);
        if (name == NULL || value == NULL)
            return false;
        hs[i] = (zt_local_header){{name, h->name.n}, {value, h->value.n}};
    }
    r->headers = hs;
    r->n_headers = head->n_headers;
    return true;
}

/* The console's caller, from the session the pipeline checked for this request (authn.c
 * filled q from the session store, never from a header). No user: nothing is copied and the
 * console refuses. */
static bool local_copy_identity(zt_local_req *r, const zt_request *q)
{
    if (q->user_id == NULL)
        return true;
    r->user_id = local_copy(r, q->user_id, strlen(q->user_id));
    r->email = local_copy(r, q->email ? q->email : "", q->email ? strlen(q->email) : 0);
    r->session_hash =
        local_copy(r, q->sid_hash ? q->sid_hash : "", q->sid_hash ? strlen(q->sid_hash) : 0);
    r->auth_time = q->auth_time;
    r->mfa_time = q->mfa_time;
    r->amr = q->amr;
    return r->user_id != NULL && r->email != NULL && r->session_hash != NULL;
}

zt_local_req *zt_local_new(zt_conn *c, const zt_handler *h)
{
    zt_local_kind kind = h->kind;
    zt_request *q = &c->req;
    zt_server *srv = c->w->server;
    zt_local_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    zt_arena_init(&r->arena_, 4096, 0);
    zt_buf_init(&r->body_, ZT_LOCAL_MAX_BODY + 1);
    zt_buf_init(&r->resp_headers, 64 * 1024);
    zt_buf_init(&r->resp_body, 4u << 20);
    r->rt_ = zt_runtime_acquire(q->rt);
    r->conn_ = c;
    r->finish_ = local_finish;
    r->handler_ = h;
    r->kind = kind;
    r->loop = &c->w->loop;
    r->worker_id = c->w->id;
    r->cfg = q->rt->cfg;
    r->policies = q->rt->policies;
    r->svc = srv->svc;
    r->sessions = c->w->sessions;
    r->app = q->app;
    r->method = c->head.method;
    r->method_name = llhttp_method_name((llhttp_method_t)c->head.method);
    r->https = q->https;
    snprintf(r->device_id, sizeof(r->device_id), "%s", c->device_id);
    if (kind == ZT_LOCAL_DEVICE && c->tls_on)
        served_cert_sha256(c->tls.ssl, r->server_sha256);
    r->lang = q->lang;
    r->port = zt_sockaddr_port((const struct sockaddr *)&c->peer);
    struct sockaddr_storage self;
    int self_len = (int)sizeof(self);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&self, &self_len) == 0)
        r->local_port = zt_sockaddr_port((const struct sockaddr *)&self);
    memcpy(&r->client_addr, &q->client_addr, sizeof(r->client_addr));
    r->status = 200;
    const zt_header *host = zt_http_head_find(&c->head, "Host");
    r->host = local_copy(r, c->head.host.p, c->head.host.n);
    r->host_port = local_copy(r, host ? host->value.p : NULL, host ? host->value.n : 0);
    r->path = local_copy(r, q->target.path, q->target.path_len);
    r->path_len = q->target.path_len;
    r->query = local_copy(r, q->target.query.p, q->target.query.n);
    r->query_len = q->target.query.n;
    r->ip = local_copy(r, q->client_ip, strlen(q->client_ip));
    r->request_id = local_copy(r, q->id, strlen(q->id));
    if (r->host == NULL || r->host_port == NULL || r->path == NULL || r->query == NULL ||
        r->ip == NULL || r->request_id == NULL || !local_copy_headers(r, &c->head) ||
        (kind == ZT_LOCAL_CONSOLE && !local_copy_identity(r, q))) {
        local_free(r);
        return NULL;
    }
    return r;
}

int zt_local_body_append(zt_local_req *r, const char *at, size_t n)
{
    if (r->body_.len + n > ZT_LOCAL_MAX_BODY)
        return -E2BIG;
    return zt_buf_append(&r->body_, at, n);
}

void zt_local_run(zt_local_req *r)
{
    if (zt_buf_cstr(&r->body_) < 0) {
        zt_local_respond_page(r, 500, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY, "out of memory");
        return;
    }
    r->body = r->body_.data ? r->body_.data : "";
    r->body_len = r->body_.len;
    r->handler_->handle(r->handler_->ctx, r);
}

void zt_local_detach(zt_conn *c, bool running)
{
    zt_local_req *r = c->local;
    if (r == NULL)
        return;
    c->local = NULL;
    if (!running) {
        local_free(r);
        return;
    }
    r->conn_ = NULL; /* the handler still owns it and frees it in zt_local_respond */
    void (*cancel)(zt_local_req *, void *) = r->on_cancel;
    r->on_cancel = NULL;
    if (cancel != NULL)
        cancel(r, r->on_cancel_arg); /* may respond, i.e. free r */
}

/* Status line, framing and headers, then the body (none for HEAD). */
int zt_local_write_response(const zt_local_req *r, zt_buf *out, bool keep_alive)
{
    const char *ctype = r->content_type ? r->content_type : "text/html; charset=utf-8";
    int rc = zt_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
                           r->status, zt_http_status_text(r->status), ctype, r->resp_body.len);
    const zt_runtime *rt = r->rt_;
    if (rc == 0 && !r->no_security_headers)
        rc = zt_page_security_headers_csp(
            out, r->https, rt->portal_form_action ? rt->portal_form_action : "'self'",
            r->page_script);
    if (rc == 0 && !r->no_security_headers)
        rc = zt_buf_printf(out, "Content-Language: %s\r\nVary: Accept-Language, Cookie\r\n",
                           zt_lang_tag(r->lang));
    rc = rc ? rc : zt_buf_printf(out, "X-Request-Id: %s\r\n", r->request_id);
    if (rc == 0 && r->resp_headers.len > 0)
        rc = zt_buf_append(out, r->resp_headers.data, r->resp_headers.len);
    rc = rc ? rc : zt_buf_append_str(out, keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc == 0 && r->method != HTTP_HEAD && r->resp_body.len > 0)
        rc = zt_buf_append(out, r->resp_body.data, r->resp_body.len);
    return rc;
}

/* zt_local_respond's server half: the answer goes out if the client is still there, then the
 * request is freed. */
static void local_finish(zt_local_req *r)
{
    zt_conn *c = r->conn_;
    if (c != NULL) {
        c->local = NULL;
        zt_conn_local_done(c, r);
    }
    local_free(r);
}
