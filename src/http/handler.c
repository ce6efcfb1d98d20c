/* The handler side of the local request API: what a handler calls (header lookup, audit,
 * respond) and the table lookup the server uses to pick a handler. The server's part (making a
 * request from a connection, writing the answer) lives in the server (proxy/local.c) and is
 * reached only through zt_local_req.finish_. */
#include "http/handler.h"

#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/log.h"
#include "http/pages.h"

const zt_span *zt_local_header_get(const zt_local_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name.n == n && strncasecmp(r->headers[i].name.p, name, n) == 0)
            return &r->headers[i].value;
    return NULL;
}

bool zt_local_cancelled(const zt_local_req *r)
{
    return r->conn_ == NULL;
}

bool zt_local_audit(zt_local_req *r, const char *json, size_t len)
{
    zt_audit *audit = r->svc->audit;
    if (audit == NULL)
        return true;
    uint64_t seq = zt_audit_submit(audit, json, len);
    if (seq > 0) {
        if (seq > r->hold_seq_)
            r->hold_seq_ = seq;
        return true;
    }
    zt_error("request %s: audit log cannot accept events (%s)%s", r->request_id,
             zt_audit_failure(audit) ? zt_audit_failure(audit) : "queue full",
             r->svc->audit_fail_open ? "; answering anyway (fail_open)" : "; refusing");
    return r->svc->audit_fail_open;
}

void zt_local_respond(zt_local_req *r)
{
    if (r->responded_) {
        zt_error("request %s: handler answered twice (ignored)", r->request_id);
        return;
    }
    r->responded_ = true;
    r->finish_(r);
}

void zt_local_respond_page(zt_local_req *r, int status, zt_msg title, zt_msg body,
                           const char *detail)
{
    zt_page pg = {
        .status = status,
        .title = title,
        .body = body,
        .detail = detail,
        .request_id = r->request_id,
        .lang = r->lang,
        .https = r->https,
    };
    zt_buf_reset(&r->resp_body);
    r->status = status;
    r->content_type = NULL;
    r->no_security_headers = false;
    r->page_script = false; /* an error page replaces the passkey page: no script */
    if (zt_page_render_body(&r->resp_body, &pg) < 0)
        zt_buf_reset(&r->resp_body);
    if (r->log_detail == NULL)
        r->log_detail = detail;
    zt_local_respond(r);
}

/* prefix matches path at a segment boundary (or prefix ends with '/'). */
static bool prefix_matches(const char *prefix, const char *path, size_t path_len)
{
    size_t n = strlen(prefix);
    if (path_len < n || memcmp(path, prefix, n) != 0)
        return false;
    return path_len == n || prefix[n - 1] == '/' || path[n] == '/';
}

const zt_handler *zt_handlers_match(const zt_handlers *t, bool admin_listener, bool on_portal_host,
                                    const char *path, size_t path_len)
{
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        const zt_handler *h = &t->entries[i];
        if ((h->kind == ZT_LOCAL_ADMIN) != admin_listener || h->kind == ZT_LOCAL_CONSOLE ||
            (h->portal_host_only && !on_portal_host))
            continue;
        if (admin_listener || (h->prefix != NULL && h->prefix[0] != '\0' &&
                               prefix_matches(h->prefix, path, path_len)))
            return h;
    }
    return NULL;
}

const zt_handler *zt_handlers_kind(const zt_handlers *t, zt_local_kind kind)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (t->entries[i].kind == kind)
            return &t->entries[i];
    return NULL;
}
