/* The process-wide services every front-end and the proxy share: store, sessions, keys, risk,
 * devices, incident response. The composition root (src/gateway) opens them at start and
 * hands this struct to the proxy and to every local handler; nothing here is HTTP. Only
 * opaque pointers: a module that uses a service includes that service's own header. */
#ifndef ZT_HTTP_SERVICES_H
#define ZT_HTTP_SERVICES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct zt_store zt_store;
typedef struct zt_password_pool zt_password_pool;
typedef struct zt_breach zt_breach;
typedef struct zt_secretbox zt_secretbox;
typedef struct zt_keys zt_keys;
typedef struct zt_audit zt_audit;
typedef struct zt_sessions zt_sessions;
typedef struct zt_session_cache zt_session_cache;
typedef struct zt_throttle zt_throttle;
struct zt_config;

/* Sign-out's question to upstream sign-in (src/federation, which the portal does not include):
 * the provider's end-session URL (RP-initiated logout, with id_token_hint and
 * post_logout_redirect_uri = return_url) for the session being ended, written to out as a
 * NUL-terminated string. 0 with the URL, -ENOENT when the session was not opened through a
 * provider that wants it (then nothing), -E2BIG when out is too small. user_id finds the
 * sign-in when a second factor has since replaced the session (a new id). */
typedef int zt_upstream_logout_fn(void *ctx, const struct zt_config *cfg, const char *session_hash,
                                  const char *user_id, const char *return_url, char *out,
                                  size_t cap);

/* Process-wide services built at start from the configuration (gateway/services.c) and shared by
 * every loop. Each is thread-safe or documented otherwise in its own header.
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
    /* LDAP / Active Directory sign-in and sync (src/directory); NULL or empty: none configured.
     * Fixed for the life of the process (a change to ldap_directories needs a restart). */
    struct zt_directories *directories;
    /* Current feeds snapshot (GeoIP, anonymous/malicious IPs, leaked pairs); NULL when none is
     * configured. Replaced on reload; a replaced snapshot lives until the next replacement, so
     * a reader may use what it loaded for the length of one request. */
    struct zt_feeds *_Atomic feeds;
    char admin_token_hash[65]; /* SHA-256 hex of the admin bearer token; "" = no bootstrap */
    char scim_token_hash[65];  /* SHA-256 hex of the SCIM bearer token; "" = SCIM off */
    zt_upstream_logout_fn *upstream_logout; /* NULL: no upstream sign-in */
    void *upstream_logout_ctx;
} zt_services;

#endif
