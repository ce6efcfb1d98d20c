/* Per-request state: one struct that every pipeline stage reads and extends
 * (parse → route → authorize → forward → log). Later stages add identity, device, risk, the
 * policy decision and the audit event here. Memory a request needs comes from its arena and
 * dies with it. */
#ifndef ZT_PROXY_REQUEST_H
#define ZT_PROXY_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/i18n.h"
#include "lib/arena.h"
#include "proxy/http.h"

typedef struct zt_runtime zt_runtime;

typedef struct zt_request {
    char id[40];       /* request id: logs, pages and X-ZT-Request-Id */
    uint64_t start_us; /* monotonic */
    zt_runtime *rt;    /* config generation this request runs on (holds a reference) */
    zt_arena arena;
    zt_lang lang; /* for pages */
    bool https;   /* client used TLS (to us, or to a trusted proxy that says so) */
    /* The client: the TCP peer, or what a trusted proxy reports in X-Forwarded-For. */
    char client_ip[46];
    struct sockaddr_storage client_addr;
    bool head_method;

    /* stage: parse */
    zt_http_target target; /* normalised path and query */
    /* stage: route */
    const zt_app_cfg *app;
    /* stage: authenticate (strings in the arena; NULL when anonymous) */
    const char *user_id;
    const char *email;
    const char *groups_csv;
    const char *assertion; /* X-ZT-Assertion, signed once the decision is allow */
    const void *session;   /* the session cache's entry: valid until the loop's next lookup */
    const char *sid_hash;  /* the session's id hash and cookie host (a stream re-checks it) */
    const char *session_host;
    int64_t session_expires_at; /* zt_session_info.expires_at */
    const char *trust;          /* device trust the decision used (static; NULL before policy) */
    const char *const *groups;
    size_t n_groups;
    int64_t auth_time, mfa_time; /* from the session */
    unsigned amr;                /* ZT_AMR_* methods, from the session */
    bool has_passkey_aaguid;     /* the session's passkey, from the session */
    unsigned char passkey_aaguid[16];
    int user_risk, sign_in_risk;                 /* zt_risk levels from the session */
    const char *pending_user_id, *pending_email; /* session waiting for MFA (audit only) */
    const char *device_id;     /* the user's enrolled device on this connection, or NULL */
    char country[3];           /* the client address's country (feeds), "" unknown */
    const char *device_failed; /* its failed compliance rules / alerts in plain words */
    const zt_msg *device_why;  /* the same as catalogue texts for the page (n_device_why) */
    unsigned n_device_why;
    const char *device_facts; /* names in them (signature, file) or NULL */
    /* The device platform the policies saw (zt_platform_name, static) and where it came from
     * ("posture", "client_hint", "user_agent", "none"); NULL before the policy stage. */
    const char *platform, *platform_source;
    /* stage: policy */
    unsigned restrict_flags;    /* zt_restrict bits to enforce on this request */
    const char *policy;         /* the deciding policy's name (block, challenge), or NULL */
    const char *policy_names;   /* matched policies, comma-separated (audit) */
    const char *decision;       /* "allow", "challenge", "block" for the audit (static) */
    const char *report_only;    /* what report-only policies would have decided, or NULL */
    bool suppress_body;         /* a no_download refusal replaced the upstream's response */
    const char *session_status; /* why there is no user: "none", "expired", ... (for the log) */
    /* stage: forward */
    zt_body_kind up_body;     /* framing towards the upstream */
    zt_body_kind client_body; /* framing towards the client */
    bool continue_sent;       /* 100 Continue written */
    bool retried;             /* resent once on a fresh upstream connection */
    bool websocket;           /* a checked WebSocket handshake (proxy/ws.h), asked upstream */

    /* progress */
    bool req_done;       /* request message fully read */
    bool resp_head_sent; /* response head written to the client */
    bool resp_done;      /* response fully written */
    bool local_response; /* answered by ztgate itself (page) */
    int status;
    uint64_t bytes_in;  /* request body bytes */
    uint64_t bytes_out; /* response body bytes */
    const char *detail; /* why it failed, for the log and the page (static strings) */
} zt_request;

#endif
