/* The shared pieces of the token-checked JSON APIs (see api.h). */
#include "http/api.h"

#include <errno.h>

#include "core/log.h"
#include "lib/str.h"

const zt_span *zt_api_authorization(const zt_local_req *r)
{
    const zt_span *found = NULL;
    for (size_t i = 0; i < r->n_headers; i++) {
        if (zt_span_ieq_cstr(r->headers[i].name, "Authorization")) {
            if (found != NULL)
                return NULL;
            found = &r->headers[i].value;
        }
    }
    return found;
}

void zt_api_event_actor(zt_event *ev, const char *name, size_t prefix_len)
{
    if (name == NULL) {
        zt_event_str(ev, "actor.user.name", "unauthenticated");
        zt_event_str(ev, "actor.user.type", "Unknown");
        return;
    }
    zt_event_str(ev, "actor.user.name", name);
    zt_event_str(ev, "actor.user.uid", name);
    zt_event_str(ev, "actor.user.type", "Admin");
    zt_event_str(ev, "actor.user.credential_uid", name + prefix_len);
}

void zt_api_event_request(zt_event *ev, const zt_local_req *r, const char *operation)
{
    zt_event_str(ev, "api.operation", operation);
    zt_event_str(ev, "src_endpoint.ip", r->ip);
    zt_event_uint(ev, "src_endpoint.port", r->port);
    zt_event_str(ev, "http_request.http_method", r->method_name);
    zt_event_strn(ev, "http_request.url.path", r->path, r->path_len);
}

bool zt_api_event_queue(zt_local_req *r, zt_event *ev, zt_buf *b, const char *api)
{
    zt_event_metadata(ev, r->request_id, NULL);
    bool queued;
    if (zt_event_end(ev) < 0) {
        zt_error("request %s: %s audit event could not be built", r->request_id, api);
        queued = r->svc != NULL && r->svc->audit_fail_open;
    } else {
        queued = zt_local_audit(r, b->data, b->len);
    }
    zt_buf_dispose(b);
    return queued;
}

int zt_api_audit_sink(void *req, const char *json, size_t len)
{
    return zt_local_audit(req, json, len) ? 0 : -EIO;
}

int zt_api_answer_head(zt_local_req *r, int status, const char *content_type)
{
    r->status = status;
    r->content_type = content_type;
    r->no_security_headers = true;
    return zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n"
                                               "X-Content-Type-Options: nosniff\r\n");
}
