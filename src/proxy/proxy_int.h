/* Private to src/proxy: the structures shared by server.c (loops, reload, drain), conn.c (client
 * side) and upstream.c (upstream side and pool). */
#ifndef ZT_PROXY_INT_H
#define ZT_PROXY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "audit/audit.h"
#include "core/metrics.h"
#include "core/config.h"
#include "core/log.h"
#include "proxy/http.h"
#include "http/handler.h"
#include "http/pages.h"
#include "proxy/request.h"
#include "proxy/route.h"
#include "proxy/share.h"
#include "proxy/tls.h"
#include "policy/policy.h"

/* Output is held below these before reading from the other side stops (backpressure). */
#define ZT_WQ_HIGH (1024 * 1024)
#define ZT_WQ_LOW (256 * 1024)
/* Unparsed client input held while the parser waits for the upstream. */
#define ZT_PENDING_HIGH (256 * 1024)
#define ZT_READ_BUF (64 * 1024)
#define ZT_IDLE_UPSTREAMS_PER_WORKER 256

typedef struct zt_worker zt_worker;
typedef struct zt_conn zt_conn;
typedef struct zt_upconn zt_upconn;
typedef struct zt_conn_slab zt_conn_slab;
typedef struct zt_stream zt_stream;

/* One config generation: everything derived from a zt_config. Shared read-only by all loops;
 * freed when the last request using it ends. */
struct zt_runtime {
    atomic_int refs;
    uint64_t generation;
    zt_config *cfg;
    zt_routes *routes;
    SSL_CTX **tls;    /* per listener, then the admin listener; NULL for plain HTTP */
    SSL_CTX **up_tls; /* per app: client context of an https:// upstream, else NULL */
    /* CSP form-action for portal pages: with a portal host, a form POST there ends in a
     * redirect to an app host's /.ztgate/callback, which browsers check against form-action. */
    char *portal_form_action;
    zt_policy_set *policies;             /* compiled Conditional Access policies */
    zt_metric_counter **policy_counters; /* ztgate_policy_matches_total, by policy index */
};

zt_runtime *zt_runtime_acquire(zt_runtime *rt);
void zt_runtime_release(zt_runtime *rt);

typedef struct zt_listener {
    uv_tcp_t tcp;
    zt_worker *w;
    unsigned index; /* into cfg->listeners */
} zt_listener;

typedef struct zt_server zt_server;

struct zt_worker {
    unsigned id;
    zt_server *server;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;
    uv_timer_t flush_timer;
    uv_timer_t drain_timer;
    zt_listener *listeners;
    size_t n_listeners;
    size_t n_listeners_open;
    zt_runtime *rt;                /* current generation (owned reference) */
    _Atomic(zt_runtime *) next_rt; /* handed over by the main thread on reload */
    atomic_bool stop_requested;
    bool stopping;
    zt_access_buf access;
    zt_conn *conns; /* all client connections (doubly linked) */
    size_t n_conns;
    zt_upconn *idle_up; /* idle pooled upstream connections, most recent first */
    size_t n_idle_up;
    size_t n_up; /* all upstream connections, idle or busy */
    uint64_t next_conn_id;
    uint64_t next_req_id;
    char readbuf[ZT_READ_BUF];
    zt_buf scratch; /* access log line */
    zt_buf event;   /* audit event being built */
    zt_buf tls_out; /* ciphertext on its way to a socket; reused so a flush does not malloc */
    uv_async_t audit_wake; /* the audit writer wrote records: release held responses */
    bool audit_watched;
    /* Records this loop queued with zt_audit_submit_batched: it writes them itself after the
     * I/O of an iteration (check) or before it would sleep (prepare). */
    uv_prepare_t audit_prepare;
    uv_check_t audit_check;
    bool audit_owed;
    zt_conn *audit_waiters;     /* connections holding output until their record is written */
    zt_session_cache *sessions; /* this loop's session cache */
    uint64_t share_warned_us;   /* last "connection refused" warning (one a second) */
    unsigned share_refused;     /* refusals since that warning */
    zt_conn_slab *conn_slabs;   /* where this loop's zt_conn structs live (connpool.c) */
    void *conn_free;            /* free structs in them */
    /* Live streams (WebSocket, tunnel) and their continuous evaluation (stream.c): one timer
     * per loop, running only while a stream is open. */
    zt_stream *streams;
    size_t n_streams;
    uv_timer_t eval_timer;
    uint64_t stream_rev_seen;       /* revocation counter at the last tick */
    uint64_t stream_dev_seen;       /* zt_devices_epoch at the last tick */
    const void *stream_feeds_seen;  /* feeds snapshot at the last tick */
    uint64_t stream_error_since_ms; /* the session store has failed since (0: it has not) */
};

struct zt_server {
    const char *config_path;
    zt_worker *workers;
    unsigned n_workers;
    atomic_uint n_conns;  /* over all workers, for max_connections */
    zt_conn_share *share; /* connections per client address, over all workers */
    char boot_id[9];
    zt_runtime *rt;              /* main thread's current generation */
    zt_services *svc;            /* the gateway's shared services (http/services.h) */
    const zt_handlers *handlers; /* ztgate's own handlers, registered by the gateway */
    zt_audit *audit;             /* svc->audit: NULL when audit.path is "off" */
    bool audit_fail_open;
    uint64_t generation;
    bool stopping;
};

/* Client connection states; the X-macro keeps names for traces in the debug log. */
#define ZT_CONN_STATES(X)                                                                          \
    X(CS_TLS_HANDSHAKE, "tls-handshake")                                                           \
    X(CS_IDLE, "idle")                                                                             \
    X(CS_HEAD, "head")                                                                             \
    X(CS_DISPATCH, "dispatch")                                                                     \
    X(CS_AUDIT_WAIT, "audit-wait")                                                                 \
    X(CS_CONNECTING, "connecting")                                                                 \
    X(CS_BODY, "body")                                                                             \
    X(CS_WAIT_RESPONSE, "wait-response")                                                           \
    X(CS_LOCAL_RUN, "local-run")                                                                   \
    X(CS_LOCAL_WAIT, "local-wait")                                                                 \
    X(CS_STREAM, "stream")                                                                         \
    X(CS_CLOSING, "closing")

typedef enum zt_conn_state {
#define ZT_CS_ENUM(id, name) id,
    ZT_CONN_STATES(ZT_CS_ENUM)
#undef ZT_CS_ENUM
} zt_conn_state;

struct zt_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    zt_worker *w;
    zt_conn *prev, *next;
    uint64_t id;
    unsigned listener;
    int handles_open;
    bool tls_on;
    bool share_counted; /* holds one of its address's share of connections */
    bool peer_trusted;  /* the peer is in trusted_proxies (this request's config) */
    bool got_bytes;     /* the client sent anything at all (first_byte timeout until then) */
    unsigned n_requests;
    zt_tls_conn tls;
    struct sockaddr_storage peer;
    char ip[ZT_IP_STRLEN];
    llhttp_t parser;
    zt_http_head head;
    zt_conn_state state;
    bool parser_paused;
    bool need_parse;   /* resumed: run the parser even with no new bytes (message end) */
    bool last_request; /* the connection ends after this response (upgrade asked, ...) */
    bool in_parser;    /* inside llhttp_execute: callbacks must not resume or re-enter */
    bool in_process;   /* inside zt_conn_process: nested calls only ask for another pass */
    bool process_again;
    bool reading;
    bool close_after_flush;
    bool draining;
    zt_buf pending; /* received, not yet parsed */
    zt_buf out;     /* gathered output, flushed once per pass */
    size_t wq_bytes;
    zt_request req;
    bool req_active;
    zt_upconn *up;
    uint64_t hold_seq;  /* audit ticket: forwarding and output wait until it is written */
    bool audit_waiting; /* on the worker's audit_waiters list */
    zt_conn *audit_next;
    bool admin;          /* accepted on the admin listener: every request is an API call */
    char device_id[33];  /* verified device client certificate (TLS), or "" */
    zt_local_req *local; /* request answered by ztgate itself; in state local-wait its handler
                          * owns it (and frees it) */
    zt_stream *stream;   /* state stream: the spliced WebSocket or tunnel (stream.c) */
};

/* connpool.c: zt_conn structs from per-worker slabs (zeroed on get). Loop thread only. */
zt_conn *zt_conn_pool_get(zt_worker *w);
void zt_conn_pool_put(zt_worker *w, zt_conn *c);
void zt_conn_pool_dispose(zt_worker *w);

typedef enum zt_up_state {
    US_CONNECTING,
    US_HANDSHAKE, /* TLS to an https:// upstream, under the upstream_connect timer */
    US_IDLE,
    US_ACTIVE,
    US_CLOSING,
} zt_up_state;

struct zt_upconn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_timer_t timer;
    zt_worker *w;
    zt_upconn *prev, *next; /* idle list */
    int handles_open;
    zt_up_state state;
    struct sockaddr_storage addr;
    zt_conn *client;
    llhttp_t parser;
    zt_http_head head;
    bool reading;
    bool reused;       /* came from the pool for this request */
    bool got_bytes;    /* any response byte for the current request */
    bool resp_head_ok; /* final (non-1xx) response head accepted */
    bool resp_complete;
    zt_buf out;
    size_t wq_bytes;
    unsigned served;
    bool raw;        /* spliced (zt_upstream_raw): reads go to the stream, never pooled */
    bool tunnel;     /* connected for a tunnel: no request head is sent (zt_upstream_open) */
    bool shut_write; /* zt_upstream_shutdown_write asked */
    uv_shutdown_t shutdown_req;
    SSL_CTX *tls_ctx; /* https:// upstream: its app's context (the pool key with addr), or NULL */
    zt_tls_conn tls;
};

/* ---- the client connection: transport (conn.c) ---- */

/* The one way a connection changes state: checks the move against the table of allowed
 * transitions in conn.c and traces it at debug level (curl's mstate()). An illegal move is
 * logged as an error, and aborts a build with assertions on, so the tests catch it. */
void zt_conn_set_state(zt_conn *c, zt_conn_state s);
/* The table's verdict (unit tests). */
bool zt_conn_transition_allowed(zt_conn_state from, zt_conn_state to);
/* The config of the request in flight, else the worker's current one. */
const zt_config *zt_conn_cfg(const zt_conn *c);
/* The timer the current state runs under (header_read, keepalive, body_read, ...). */
void zt_conn_arm_for_state(zt_conn *c);
/* The connection's timer in ms from now, whatever the state (its expiry is the state's). */
void zt_conn_arm_ms(zt_conn *c, uint64_t ms);
/* Queue bytes for the client (gathered, flushed once per pass). */
void zt_conn_out(zt_conn *c, const char *data, size_t n);
void zt_conn_read_start(zt_conn *c);
void zt_conn_read_stop(zt_conn *c);
bool zt_conn_peer_trusted(const zt_conn *c, const zt_config *cfg);
/* Go on reading the request's body (state body; the parser resumes at the next pass). */
void zt_conn_read_body(zt_conn *c);
/* Start the request record (id, generation reference, arena) if none is active. */
void zt_conn_request_begin(zt_conn *c);
/* End it: its generation reference released, its arena reset. */
void zt_conn_request_end(zt_conn *c);
void zt_conn_access_log(zt_conn *c);
/* Fail-closed audit: the connection's output waits until its ticket (hold_seq) is written. */
zt_audit_state zt_conn_audit_state(const zt_conn *c);
void zt_conn_audit_wait(zt_conn *c);
bool zt_conn_held_for_audit(zt_conn *c);
/* A ztgate page as the whole answer (then zt_conn_answered). */
void zt_conn_respond_page(zt_conn *c, int status, zt_msg title, zt_msg body, const char *detail);
void zt_conn_respond_page_ex(zt_conn *c, zt_page pg);
/* The one path that finishes a request ztgate answered itself (a page, a challenge, a
 * forward-auth answer, a local handler's response), once the answer is in c->out: marks the
 * request answered for the access log, records detail, ends the connection after the answer
 * unless keep, and moves on (to the rest of the body, or to waiting for the output). */
void zt_conn_answered(zt_conn *c, bool keep, const char *detail);

/* ---- the decision pipeline (pipeline.c) and forward-auth (verify.c) ---- */

/* The head is complete (state dispatch): decide, then forward, answer or hand to a handler. */
void zt_pipeline_dispatch(zt_conn *c);
/* The decision's record is queued: forward once it is written (state audit-wait until then). */
void zt_pipeline_audit_gate(zt_conn *c);
/* The audit writer settled the request's record (state audit-wait): forward or refuse. */
void zt_pipeline_audit_gate_done(zt_conn *c, zt_audit_state st);
/* audit.on_audit_failure: fail_open, for this request: never for the console (the admin plane,
 * like the admin API, does nothing it cannot record). */
bool zt_pipeline_fail_open(const zt_conn *c);
void zt_pipeline_audit_gate_refuse(zt_conn *c, const char *detail);
/* no_download: true when the response head was refused (a 403 page replaced it). */
bool zt_pipeline_refuse_download(zt_conn *c, const zt_http_head *h);
/* Queue the decision's audit record; false: fail closed (answer with
 * zt_pipeline_respond_audit_unavailable). */
bool zt_pipeline_audit_decision(zt_conn *c, bool allowed, const char *reason);
void zt_pipeline_respond_audit_unavailable(zt_conn *c);
const char *zt_pipeline_restrict_text(unsigned flags);
/* The Conditional Access decision for this request, the same for the proxied path and
 * forward-auth: every attribute whatif takes filled from the request, evaluated, counted, and
 * the request's policy names, report-only outcome and deciding policy set. */
void zt_pipeline_decide(zt_conn *c, zt_policy_input *in, zt_policy_result *res);
bool zt_verify_path(const zt_request *r);
void zt_verify_stage(zt_conn *c);

/* conn.c: the transport's API to the server, upstream.c and local.c */
void zt_conn_accept(zt_listener *l);
void zt_conn_close(zt_conn *c);
void zt_conn_drain(zt_conn *c);
void zt_conn_flush(zt_conn *c);
void zt_conn_process(zt_conn *c);
/* Called by upstream.c */
void zt_conn_upstream_ready(zt_conn *c);
void zt_conn_upstream_failed(zt_conn *c, int status, const char *detail);
void zt_conn_response_head(zt_conn *c, zt_upconn *up);
void zt_conn_response_body(zt_conn *c, const char *at, size_t n);
void zt_conn_response_done(zt_conn *c);
void zt_conn_write_drained(zt_conn *c);
int zt_conn_build_upstream_head(zt_conn *c, zt_buf *out);

void zt_conn_audit_written(zt_worker *w);
/* pipeline.c: the local handler answered; write r's response (local.c builds it into c->out). */
void zt_conn_local_done(zt_conn *c, zt_local_req *r);

/* local.c */
zt_local_req *zt_local_new(zt_conn *c, const zt_handler *h);
int zt_local_body_append(zt_local_req *r, const char *at, size_t n);
void zt_local_run(zt_local_req *r);
int zt_local_write_response(const zt_local_req *r, zt_buf *out, bool keep_alive);
/* The connection is going away: a request its handler is running (state local-wait, passed
 * as running) is cancelled, one not yet handed over is freed. */
void zt_local_detach(zt_conn *c, bool running);

/* authn.c: the session check on the proxy path. */
typedef enum zt_authn_result {
    ZT_AUTHN_ANONYMOUS_OK = 0, /* public app: no identity needed */
    ZT_AUTHN_OK,               /* signed in: identity fields of the request are set */
    ZT_AUTHN_SIGN_IN,          /* no valid session: redirect or 401 */
    ZT_AUTHN_ERROR,            /* the store failed: 503 (fail closed) */
} zt_authn_result;
zt_authn_result zt_authn_check(zt_conn *c);
zt_authn_result zt_authn_check_host(zt_conn *c, const char *host);
/* A tunnel's Proxy-Authorization bearer token (an agent session of this connection's device). */
zt_authn_result zt_authn_check_token(zt_conn *c);
/* After an allow: the signed X-ZT-Assertion for the request's app, with the device trust the
 * decision's inputs give (also r->trust for X-ZT-Trust). 0, or negative (logged): refuse. */
int zt_authn_sign_assertion(zt_conn *c, const zt_policy_input *in);
/* A browser navigating (HTML wanted), as opposed to a script or API client. */
bool zt_authn_wants_html(const zt_conn *c);
/* A portal page's URL for this request: page (ending in "rd=") + the request's URL encoded,
 * on the portal host when there is one. */
int zt_authn_page_url(zt_conn *c, const char *page, zt_buf *out);
/* Policy challenge: where to send the browser (sign in again, or the MFA prompt). */
int zt_authn_write_step_up(zt_conn *c, zt_buf *out, bool keep_alive, bool reauth,
                           const char *control);
/* Forward-auth (GET /.ztgate/verify): the decision for the request described by
 * X-Forwarded-Host/-Uri/-Proto; 2xx only for an explicit allow. */
typedef struct zt_verify_result {
    int status;           /* 200 allow, 401 sign in, 403 blocked, 400 bad input, 503 failure */
    const char *decision; /* "allow", "sign_in", "block", "error" */
    zt_span host_header;  /* X-Forwarded-Host validated: "host[:port]" (for the login URL) */
    zt_span uri;          /* X-Forwarded-Uri */
    unsigned port;
    const char *page; /* portal page for the 401's X-ZT-Login-URL ("/.ztgate/login?rd=") */
} zt_verify_result;
zt_verify_result zt_authn_verify(zt_conn *c);
int zt_authn_verify_write(zt_conn *c, const zt_verify_result *v, zt_buf *out, bool keep_alive);
/* 302 to the sign-in page (browsers) or 401 JSON (API clients), into c->out. */
int zt_authn_write_challenge(zt_conn *c, zt_buf *out, bool keep_alive);

/* upstream.c */
/* Attach an upstream connection for c's current request (pooled or new). Calls
 * zt_conn_upstream_ready or zt_conn_upstream_failed, possibly before returning. */
void zt_upstream_attach(zt_conn *c, const struct sockaddr_storage *addr);
/* Request fully sent and response complete: back to the pool or closed. */
void zt_upstream_release(zt_upconn *up, bool reusable);
void zt_upstream_abort(zt_upconn *up);
void zt_upstream_send(zt_upconn *up, const char *data, size_t n);
void zt_upstream_flush(zt_upconn *up);
void zt_upstream_pause(zt_upconn *up);
void zt_upstream_resume(zt_upconn *up);
void zt_upstream_start_response_timer(zt_upconn *up);
void zt_upstream_close_idle(zt_worker *w);

/* Tunnel: connect to addr for c with no request head; calls zt_conn_upstream_ready (state
 * connecting) or zt_conn_upstream_failed. The connection is raw from the start. */
void zt_upstream_open(zt_conn *c, const struct sockaddr_storage *addr);
/* Splice mode: the response parser and its timer stop, every byte read goes to
 * zt_stream_upstream_input, EOF to zt_stream_upstream_eof; never returns to the pool. */
void zt_upstream_raw(zt_upconn *up);
/* Half-close towards the upstream once queued output is written (the client sent EOF). */
void zt_upstream_shutdown_write(zt_upconn *up);

/* ---- streams: spliced WebSocket and tunnel connections (stream.c) ---- */

typedef enum { ZT_STREAM_WS, ZT_STREAM_TUNNEL } zt_stream_kind;
typedef struct zt_stream_ops { /* per kind; NULL members = plain byte copy */
    /* bytes from the client about to go upstream / from upstream about to go to the client:
     * the websocket kind tracks frame boundaries here (never changes the bytes) */
    void (*on_client_bytes)(zt_stream *s, const char *p, size_t n);
    void (*on_upstream_bytes)(zt_stream *s, const char *p, size_t n);
    /* close the stream politely: WS writes a close frame (1008 policy, 1001 going away) at the
     * next frame boundary of each direction; NULL = just shut down */
    void (*write_close)(zt_conn *c, uint16_t code, const char *reason);
} zt_stream_ops;

/* Enter state stream (from wait-response after a validated 101, from connecting for a tunnel):
 * copies what re-evaluation needs from c->req (the request then ends), writes the access-log
 * line, queues the OCSF 4001 Open record (WebSocket; a tunnel's was written at its decision)
 * and holds c->out for it, starts the loop's evaluation timer, and forwards the leftovers both
 * ways: first_to_client (read after the upstream's 101 head) and c->pending (the client's bytes
 * after its head). 0, or -1 with the connection closed. */
int zt_stream_begin(zt_conn *c, zt_upconn *up, zt_stream_kind kind, const zt_stream_ops *ops,
                    const char *first_to_client, size_t n1);
void zt_stream_client_input(zt_conn *c, const char *data, size_t n);
/* The client's end: eof true for an orderly EOF / TLS close_notify (half-close), false for a
 * lost connection (reset, truncated TLS). */
void zt_stream_client_end(zt_conn *c, bool eof);
void zt_stream_upstream_input(zt_upconn *up, const char *data, size_t n);
void zt_stream_upstream_end(zt_upconn *up, bool eof);
/* Both sides drained below ZT_WQ_LOW: reading from the other side resumes. */
void zt_stream_client_drained(zt_conn *c);
void zt_stream_upstream_drained(zt_upconn *up);
/* Close politely with the reason for the audit Close record (static string); forced by
 * gateway.timeouts.stream_close if the close cannot drain. */
void zt_stream_close(zt_conn *c, const char *reason, uint16_t ws_code);
/* From zt_conn_close: the Close record, unlink, free. */
void zt_stream_end(zt_conn *c);
/* The conn timer fired in state stream (the close did not drain in time). */
void zt_stream_timeout(zt_conn *c);
/* ws.c's per-stream tracker storage (opaque, ZT_STREAM_KIND_STATE bytes, zeroed when the
 * stream begins, 16-byte aligned); NULL for no stream. */
#define ZT_STREAM_KIND_STATE 64
void *zt_stream_kind_state(zt_stream *s);
/* The client connection a stream belongs to (for a kind's byte callbacks). */
zt_conn *zt_stream_conn(zt_stream *s);
/* Drain: every stream of the loop closes now (reason "gateway shutting down", WS 1001). */
void zt_stream_close_all(zt_worker *w, const char *reason, uint16_t ws_code);
void zt_stream_worker_init(zt_worker *w);
void zt_stream_worker_close(zt_worker *w);

/* The verdict of a re-evaluation (pure: tests/unit/test_stream.c). */
typedef struct zt_stream_verdict {
    bool keep;
    const char *reason; /* when !keep: for the Close record (static or from buf) */
    uint16_t ws_code;
} zt_stream_verdict;
typedef struct zt_stream_facts {
    int session_status;     /* zt_session_status */
    bool app_ok;            /* the app still takes this stream (see app_change) */
    const char *app_change; /* when !app_ok: what the reload changed ("app removed ...") */
    int outcome;            /* zt_policy_outcome of the decision (ALLOW when not decided) */
    unsigned restrict_flags;
    bool reauth_required;
    const char *policy;  /* the deciding policy's name or NULL */
    const char *control; /* the control a challenge asks for */
    int64_t now;
    bool frequency_every_time; /* the shortest sign-in frequency is every_time (open only) */
    bool finite_frequency_out; /* ... and a finite one of another applicable policy ran out */
} zt_stream_facts;
zt_stream_verdict zt_stream_verdict_of(const zt_stream_facts *f, char *buf, size_t cap);

/* tunnel.c: a CONNECT head (state dispatch). */
void zt_tunnel_dispatch(zt_conn *c);
/* The audit gate passed: connect to the app's target (state connecting). */
void zt_tunnel_forward(zt_conn *c);
/* Its target could not be reached (a Fail record: the Open one is already written). */
void zt_tunnel_failed(zt_conn *c, const char *detail);
/* The tunnel's target connected (state connecting): the 200, then the splice. */
void zt_tunnel_connected(zt_conn *c);
/* A Network Activity Refuse record (and a warning) for a TLS handshake that presented the
 * certificate of a revoked device. */
void zt_conn_audit_revoked_device(zt_conn *c, const char *device_id);

/* ---- WebSockets (ws.c; the pure rules are in ws.h) ---- */

/* The WebSocket stage of the pipeline (after policy). A request that is no WebSocket
 * handshake passes untouched; a broken one gets 400 (426 for the version), a refused one 403
 * (audited): websocket off for the app, a restricted session, a foreign Origin. true: go on
 * (r->websocket set for a handshake). */
bool zt_ws_stage(zt_conn *c);
/* upstream.c, at a 101 head: NULL when the connection may switch (we asked for a WebSocket and
 * the 101 answers our key), else why not (the client then gets 502). */
const char *zt_ws_switch_check(zt_conn *c, const zt_http_head *resp);
/* upstream.c, the checked 101 parsed: our 101 to the client, then the splice (stream.c) with
 * the frame tracking ops; rest/n are the bytes read after the 101 head. */
void zt_ws_switched(zt_conn *c, zt_upconn *up, const char *rest, size_t n);

/* server.c */
/* A client connection's handles are closed (counts it out), or any connection ended. */
void zt_worker_conn_closed(zt_worker *w);
void zt_worker_maybe_done(zt_worker *w);

#endif
