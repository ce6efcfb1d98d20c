/* The neutral request/response API of ztgate's own handlers (portal, admin API, device
 * endpoints and the front-ends to come), and the table they register in. The composition root
 * (src/gateway) builds the table and hands it to the server (src/proxy) at start; the server
 * reads the whole (small) body, fills a zt_local_req and calls the matching handler on the
 * worker's loop thread; the handler fills the output fields and calls zt_local_respond, at once
 * or later from the same loop (after a password hash on the thread pool, for example). The
 * model is h2o's handler registration and h2o_req_t: handlers never see the connection, the
 * parser or the server's types, only this header.
 *
 * Lifetime: the request owns copies of everything in it (head, body, strings) and is freed by
 * zt_local_respond. If the client goes away first, the request stays valid and
 * zt_local_cancelled() turns true; the handler still calls zt_local_respond, which then only
 * frees. Handlers never see the connection. */
#ifndef ZT_HTTP_HANDLER_H
#define ZT_HTTP_HANDLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <string.h>

#include <uv.h>

#include "core/config.h"
#include "core/i18n.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "http/services.h"

/* Bodies larger than this are refused with 413 before the handler runs. */
#define ZT_LOCAL_MAX_BODY (64 * 1024)

typedef enum zt_local_kind {
    ZT_LOCAL_PORTAL = 0, /* /.ztgate/... on a gateway listener */
    ZT_LOCAL_ADMIN,      /* anything on the admin listener */
    ZT_LOCAL_DEVICE,     /* /.ztgate/device/... (agent protocol, enrolment page) */
    ZT_LOCAL_CONSOLE,    /* an app of kind console, after the whole pipeline allowed it */
} zt_local_kind;

typedef struct zt_local_header {
    zt_span name, value;
} zt_local_header;

typedef struct zt_local_req {
    /* ---- input (read-only for handlers) ---- */
    zt_local_kind kind;
    uv_loop_t *loop; /* the worker loop this request runs on */
    unsigned worker_id;
    const zt_config *cfg; /* the configuration generation of this request */
    /* That generation's compiled Conditional Access policies (policy/policy.h; NULL = none):
     * a front-end deciding access (src/access) evaluates these, as the proxy does. */
    const struct zt_policy_set *policies;
    zt_services *svc;
    zt_session_cache *sessions; /* this worker's session cache */
    const zt_app_cfg *app;      /* app whose host (and prefix) match; NULL if none */
    int method;                 /* llhttp method: HTTP_GET, HTTP_POST, ... */
    const char *method_name;    /* "GET" */
    const char *host;           /* lowercase, no port; "" if none */
    const char *host_port;      /* Host header as sent (for absolute URLs) */
    const char *path;           /* normalised path, NUL-terminated */
    size_t path_len;
    const char *query; /* without '?', NUL-terminated; "" when none */
    size_t query_len;
    const zt_local_header *headers; /* as received, in order; names as sent */
    size_t n_headers;
    const char *body; /* the request body (NUL-terminated for convenience) */
    size_t body_len;
    const char *ip; /* client address (X-Forwarded-For applied from trusted proxies) */
    struct sockaddr_storage client_addr; /* the same, for policy location checks */
    uint16_t port;                       /* the client's port */
    uint16_t local_port;                 /* the port this connection arrived on (0: unknown) */
    bool https;
    char device_id[33];     /* verified device client certificate on this connection, or "" */
    char server_sha256[65]; /* device paths on TLS: SHA-256 (hex) of the certificate this
                             * connection was served with, for the enrolment command; or "" */
    zt_lang lang;           /* from Accept-Language */
    const char *request_id; /* for logs, events and pages */

    /* ZT_LOCAL_CONSOLE only: who is signed in, from the session the pipeline verified for
     * this very request (never from anything the client sends); NULL / 0 otherwise. */
    const char *user_id;
    const char *email;
    const char *session_hash; /* the session id's hash (never the id itself) */
    int64_t auth_time;        /* the session's last sign-in (password or federation), Unix s */
    int64_t mfa_time;         /* its last second factor, Unix s; 0 = none */
    unsigned amr;             /* ZT_AMR_* methods of the session */

    /* ---- output (filled by the handler before zt_local_respond) ---- */
    int status;               /* default 200 */
    const char *content_type; /* default "text/html; charset=utf-8" */
    zt_buf resp_headers;      /* extra lines, each "Name: value\r\n" (Location, Set-Cookie, ...) */
    zt_buf resp_body;
    bool no_security_headers; /* JSON/JWKS: skip the HTML page security headers */
    bool page_script;         /* the page loads /.ztgate/passkey.js: CSP allows 'self' script */
    const char *log_detail;   /* short reason for the access log (static string) */

    /* Optional: called once, on the loop thread, when the client goes away while the handler
     * waits (a held answer, say), so it can stop its timer and finish now; it must still end
     * with zt_local_respond, which then only frees. Cleared before the call. */
    void (*on_cancel)(struct zt_local_req *r, void *arg);
    void *on_cancel_arg;

    /* ---- private to the server that made the request (src/proxy) ---- */
    /* Sends the answer when the client is still there, then frees r (zt_local_respond). */
    void (*finish_)(struct zt_local_req *r);
    const struct zt_handler *handler_; /* the table entry that answers it */
    void *conn_;
    bool responded_;
    uint64_t hold_seq_;
    void *rt_;
    zt_arena arena_; /* copies of the input */
    zt_buf body_;
} zt_local_req;

/* Case-insensitive header lookup; the first match, or NULL. */
const zt_span *zt_local_header_get(const zt_local_req *r, const char *name);
/* True when the body is declared JSON: Content-Type application/json, parameters (;charset=...)
 * and case aside. */
static inline bool zt_local_is_json(const zt_local_req *r)
{
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    if (ct == NULL)
        return false;
    zt_span v = zt_span_trim(*ct);
    const char *semi = memchr(v.p, ';', v.n);
    if (semi != NULL)
        v = zt_span_trim((zt_span){v.p, (size_t)(semi - v.p)});
    return zt_span_ieq_cstr(v, "application/json");
}
/* True once the client connection is gone: skip work, but still call zt_local_respond. */
bool zt_local_cancelled(const zt_local_req *r);

/* Queue an audit event (one JSON object) for this request; the response is held until the
 * record is written. false: the log cannot take it and the caller must fail closed (the
 * handler answers 503) unless audit.on_audit_failure is fail_open (then true). */
bool zt_local_audit(zt_local_req *r, const char *json, size_t len);

/* Send the response and free the request. Call exactly once, on the request's loop thread. */
void zt_local_respond(zt_local_req *r);

/* Convenience: a ztgate page (i18n title/body, reference id) as the whole response. */
void zt_local_respond_page(zt_local_req *r, int status, zt_msg title, zt_msg body,
                           const char *detail);

/* ---- the handler table ---- */

typedef void zt_handler_fn(void *ctx, zt_local_req *r);

/* One registration: which requests a handler answers. On the admin listener every request goes
 * to the ZT_LOCAL_ADMIN entry; an app of kind console, once its request is allowed and
 * recorded, goes to the ZT_LOCAL_CONSOLE entry (zt_handlers_kind; prefix unused); on a gateway
 * listener a path goes to the first entry whose prefix it starts with at a segment boundary
 * ("/.ztgate" matches "/.ztgate" and
 * "/.ztgate/login", not "/.ztgatex"), so a more specific prefix is listed first. */
typedef struct zt_handler {
    zt_local_kind kind;
    const char *prefix; /* gateway listeners; unused for ZT_LOCAL_ADMIN */
    zt_handler_fn *handle;
    void *ctx;
    /* Only on the portal host (auth.portal_host): on any other host the path goes on to the
     * proxied app (/.well-known/openid-configuration is the identity provider's only there). */
    bool portal_host_only;
} zt_handler;

typedef struct zt_handlers {
    const zt_handler *entries;
    size_t n;
} zt_handlers;

/* The entry answering this request, or NULL (the request goes on to the proxy path).
 * on_portal_host: the request's host is auth.portal_host (entries marked portal_host_only
 * answer only then). */
const zt_handler *zt_handlers_match(const zt_handlers *t, bool admin_listener, bool on_portal_host,
                                    const char *path, size_t path_len);
/* The first entry of that kind, or NULL. */
const zt_handler *zt_handlers_kind(const zt_handlers *t, zt_local_kind kind);

#endif
