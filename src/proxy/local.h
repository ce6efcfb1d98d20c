/* Requests ztgate answers itself instead of forwarding: the portal under /.ztgate/ on any host
 * and the admin API on the admin listener. The connection code reads the whole (small) body,
 * fills a zt_local_req and calls the handler on the worker's loop thread; the handler fills the
 * output fields and calls zt_local_respond, at once or later from the same loop (after a
 * password hash on the thread pool, for example).
 *
 * Lifetime: the request owns copies of everything in it (head, body, strings) and is freed by
 * zt_local_respond. If the client goes away first, the request stays valid and
 * zt_local_cancelled() turns true; the handler still calls zt_local_respond, which then only
 * frees. Handlers never see the connection. */
#ifndef ZT_PROXY_LOCAL_H
#define ZT_PROXY_LOCAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "core/config.h"
#include "core/i18n.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/str.h"

/* Bodies larger than this are refused with 413 before the handler runs. */
#define ZT_LOCAL_MAX_BODY (64 * 1024)

typedef struct zt_store zt_store;
typedef struct zt_password_pool zt_password_pool;
typedef struct zt_breach zt_breach;
typedef struct zt_secretbox zt_secretbox;
typedef struct zt_keys zt_keys;
typedef struct zt_audit zt_audit;
typedef struct zt_sessions zt_sessions;
typedef struct zt_session_cache zt_session_cache;
typedef struct zt_throttle zt_throttle;

/* Process-wide services built at start from the configuration (server.c) and shared by every
 * loop. Each is thread-safe or documented otherwise in its own header.
 *
 * Lifetime rule: these live for the whole process, across any number of reloads, while each
 * zt_config generation is freed when its last request ends (docs/ARCHITECTURE.md, "Config
 * generations and reload"). So nothing here, and nothing any service keeps inside, may point
 * into a zt_config: a string or array taken from the config is copied (strdup, fixed buffer)
 * when the service is opened. Code that needs the config of the moment uses the request's
 * generation (zt_local_req.cfg), which the request holds a reference to. */
typedef struct zt_services {
    char *state_dir; /* owned copy; fixed for the life of the process (reload refuses a change) */
    zt_store *store;
    zt_password_pool *passwords; /* argon2id on the libuv pool, bounded */
    zt_breach *breach;           /* NULL: no breached-password corpus configured */
    zt_secretbox *secrets;       /* TOTP secrets at rest; derives cookie MAC keys */
    zt_keys *keys;               /* X-ZT-Assertion signing keys, JWKS */
    zt_audit *audit;             /* NULL: audit off */
    bool audit_fail_open;
    zt_sessions *sessions;
    zt_throttle *throttle;
    struct zt_risk_engine *risk;  /* detections and risk state */
    struct zt_devices *devices;   /* device CA, enrolment, posture, alerts */
    struct zt_response *response; /* incidents and playbooks (Core 6) */
    /* Current feeds snapshot (GeoIP, anonymous/malicious IPs, leaked pairs); NULL when none is
     * configured. Replaced on reload; a replaced snapshot lives until the next replacement, so
     * a reader may use what it loaded for the length of one request. */
    struct zt_feeds *_Atomic feeds;
    char admin_token_hash[65]; /* SHA-256 hex of the admin bearer token; "" = admin API off */
} zt_services;

typedef enum zt_local_kind {
    ZT_LOCAL_PORTAL = 0, /* /.ztgate/... on a gateway listener */
    ZT_LOCAL_ADMIN,      /* anything on the admin listener */
    ZT_LOCAL_DEVICE,     /* /.ztgate/device/... (agent protocol, enrolment page) */
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
    uint16_t port;
    bool https;
    char device_id[33];     /* verified device client certificate on this connection, or "" */
    char server_sha256[65]; /* device paths on TLS: SHA-256 (hex) of the certificate this
                             * connection was served with, for the enrolment command; or "" */
    zt_lang lang;           /* from Accept-Language */
    const char *request_id; /* for logs, events and pages */

    /* ---- output (filled by the handler before zt_local_respond) ---- */
    int status;               /* default 200 */
    const char *content_type; /* default "text/html; charset=utf-8" */
    zt_buf resp_headers;      /* extra lines, each "Name: value\r\n" (Location, Set-Cookie, ...) */
    zt_buf resp_body;
    bool no_security_headers; /* JSON/JWKS: skip the HTML page security headers */
    const char *log_detail;   /* short reason for the access log (static string) */

    /* Optional: called once, on the loop thread, when the client goes away while the handler
     * waits (a held answer, say), so it can stop its timer and finish now; it must still end
     * with zt_local_respond, which then only frees. Cleared before the call. */
    void (*on_cancel)(struct zt_local_req *r, void *arg);
    void *on_cancel_arg;

    /* ---- private to src/proxy ---- */
    void *conn_;
    bool responded_;
    uint64_t hold_seq_;
    void *rt_;
    zt_arena arena_; /* copies of the input */
    zt_buf body_;
} zt_local_req;

/* Case-insensitive header lookup; the first match, or NULL. */
const zt_span *zt_local_header_get(const zt_local_req *r, const char *name);
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

/* Handlers (src/portal, src/admin). */
void zt_portal_handle(zt_local_req *r);
void zt_admin_handle(zt_local_req *r);

#endif
