/* Configuration: one YAML file read through a declarative key table into the typed, immutable
 * structs below. A loaded zt_config never changes; reload builds a new one and swaps it.
 * Every error is reported as "FILE:LINE:COL: message"; a config with any error is refused whole. */
#ifndef ZT_CORE_CONFIG_H
#define ZT_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/net.h"

typedef enum zt_sensitivity {
    ZT_SENS_PUBLIC = 0,
    ZT_SENS_INTERNAL,
    ZT_SENS_CONFIDENTIAL,
    ZT_SENS_RESTRICTED,
} zt_sensitivity;

typedef enum zt_log_level {
    ZT_LOG_DEBUG = 0,
    ZT_LOG_INFO,
    ZT_LOG_WARN,
    ZT_LOG_ERROR,
} zt_log_level;

typedef struct zt_tls_cfg {
    char *cert_file;  /* PEM certificate chain */
    char *key_file;   /* PEM private key (ECDSA P-256 preferred) */
    bool self_signed; /* create a self-signed P-256 cert+key at these paths when both are missing */
} zt_tls_cfg;

typedef struct zt_listener_cfg {
    char *address; /* as written: "127.0.0.1:8443" */
    struct sockaddr_storage addr;
    bool tls; /* a tls: block was given */
    zt_tls_cfg tls_cfg;
    unsigned line, col; /* where the address was written, for checks across listeners */
} zt_listener_cfg;

/* TLS towards an https:// upstream (`upstream_tls:`); every member optional. */
typedef enum zt_tls_min { ZT_TLS_MIN_12 = 0, ZT_TLS_MIN_13 } zt_tls_min;
typedef struct zt_upstream_tls_cfg {
    char *ca_file;      /* PEM CA bundle; NULL: the system store */
    char *server_name;  /* SNI; NULL: the URL host (none for an IP literal) */
    char *verify_name;  /* name or IP the certificate must carry; NULL: server_name, URL host */
    char *client_cert;  /* PEM chain presented to the upstream (mTLS); with client_key */
    char *client_key;   /* PEM private key of client_cert */
    unsigned tls_min;   /* zt_tls_min; default 1.2 */
    unsigned line, col; /* where `upstream_tls:` was written */
} zt_upstream_tls_cfg;

typedef struct zt_upstream_cfg {
    bool tls;                     /* https:// (default port 443) */
    char *host;                   /* the URL's host without brackets or port ("ehr.internal") */
    zt_upstream_tls_cfg tls_cfg;  /* `upstream_tls:` (only with https://) */
    bool has_tls_cfg;             /* `upstream_tls:` was written */
    char *url;                    /* as written: "http://127.0.0.1:8081/base" */
    char *host_header;            /* "127.0.0.1:8081": Host sent upstream unless preserve_host */
    char *base_path;              /* "" or "/base" (no trailing slash), prepended to the path */
    struct sockaddr_storage addr; /* resolved once at load */
} zt_upstream_cfg;

/* path_match words (bit i = word i of the list in config.c). None: strict, i.e. a path that the
 * upstream could read as another app's is refused. */
#define ZT_PATH_MATCH_EXACT 0x1u            /* read byte for byte */
#define ZT_PATH_MATCH_CASE_INSENSITIVE 0x2u /* letters compared without case */
#define ZT_PATH_MATCH_STRIP_PARAMS 0x4u     /* ";params" cut from each segment */
#define ZT_PATH_MATCH_TRIM_DOTS 0x8u        /* trailing dots and spaces cut from each segment */

/* A string from a list, with where it was written: references are checked after the whole file
 * was read and reported at the entry. */
typedef struct zt_cfg_word {
    char *s;
    unsigned line, col;
} zt_cfg_word;

/* What an app is: proxied HTTP (the default), or a relying party that signs in at ztgate as its
 * identity provider (src/idp): an OpenID Connect client or a SAML service provider. Either way
 * policies name it like any app. */
typedef enum zt_app_kind {
    ZT_APP_HTTP = 0,
    ZT_APP_OIDC,
    ZT_APP_SAML,
    ZT_APP_TCP,     /* a TCP service reached through `ztagent tunnel` (CONNECT on a TLS listener) */
    ZT_APP_CONSOLE, /* the web console (src/console), answered by ztgate behind the pipeline */
} zt_app_kind;

/* How an OIDC client authenticates at the token, revocation and introspection endpoints. */
typedef enum zt_oidc_client_auth {
    ZT_OIDC_AUTH_SECRET_BASIC = 0,
    ZT_OIDC_AUTH_SECRET_POST,
    ZT_OIDC_AUTH_PRIVATE_KEY_JWT,
    ZT_OIDC_AUTH_NONE, /* public client: PKCE with S256 is required */
} zt_oidc_client_auth;

typedef enum zt_id_token_alg {
    ZT_ID_TOKEN_RS256 = 0, /* what most relying parties expect by default */
    ZT_ID_TOKEN_ES256,
} zt_id_token_alg;

/* An app of kind oidc (`oidc:`). */
typedef struct zt_oidc_client_cfg {
    char *client_id;            /* unique over the oidc apps */
    unsigned client_auth;       /* zt_oidc_client_auth; default client_secret_basic */
    char *client_secret_file;   /* basic, post: the secret on its first line; mode 0600 or less */
    char *jwks_file;            /* private_key_jwt: the client's public keys (JWKS) */
    zt_cfg_word *redirect_uris; /* absolute, no fragment; compared byte for byte */
    size_t n_redirect_uris;
    zt_cfg_word *post_logout_redirect_uris;
    size_t n_post_logout_redirect_uris;
    char *backchannel_logout_uri; /* NULL: the client gets no back-channel logout */
    unsigned id_token_alg;        /* zt_id_token_alg; default RS256 */
    bool require_pkce;            /* confidential clients too (public ones always) */
    unsigned line, col;           /* where `oidc:` was written */
} zt_oidc_client_cfg;

typedef enum zt_saml_name_id {
    ZT_SAML_NAMEID_EMAIL = 0,  /* urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress */
    ZT_SAML_NAMEID_PERSISTENT, /* opaque, stable per user and service provider */
} zt_saml_name_id;

/* The SAML attribute names ztgate sends; NULL = that attribute is not sent. */
typedef struct zt_saml_attrs_cfg {
    char *email;
    char *display_name;
    char *groups;
} zt_saml_attrs_cfg;

/* An app of kind saml (`saml:`). */
typedef struct zt_saml_sp_cfg {
    char *metadata_file;          /* the SP's metadata (entityID, ACS, SLO, keys) */
    unsigned name_id_format;      /* zt_saml_name_id; default email */
    bool require_signed_requests; /* refuse unsigned AuthnRequests and LogoutRequests */
    zt_saml_attrs_cfg attributes;
    unsigned line, col; /* where `saml:` was written */
} zt_saml_sp_cfg;

typedef struct zt_app_cfg {
    char *name;        /* unique */
    zt_app_kind kind;  /* default http; oidc and saml apps have no host, prefix or upstream */
    char *host;        /* lowercase host without port; NULL matches any host */
    char *path_prefix; /* "/" by default; normalised; matches whole segments */
    zt_upstream_cfg upstream;
    zt_sensitivity sensitivity; /* default internal */
    bool preserve_host;         /* forward the client's Host instead of the upstream's */
    bool allow_encoded_slash;   /* accept %2F and %5C in paths (kept encoded) */
    unsigned path_match;        /* how its upstream reads paths: ZT_PATH_MATCH_* bits, 0 = strict */
    bool has_oidc, has_saml;    /* the `oidc:` / `saml:` block was written */
    zt_oidc_client_cfg oidc;    /* kind oidc */
    zt_saml_sp_cfg saml;        /* kind saml */
    zt_upstream_cfg target;     /* kind tcp: HOST:PORT, resolved at load, never from a request */
    unsigned port;              /* kind tcp: the port clients name; default the target's */
    uint64_t idle_timeout_ms;   /* streams (WebSocket, tunnel) of this app; 0 = stream_idle */
    uint64_t session_max_age_ms; /* kind console: a sign-in older than this is asked again */
    unsigned line, col;          /* where the app was declared */

    /* WebSockets (proxy/ws.h): allowed at all (default true), and the normalised origins one
     * may come from (none: the request's own origin only). */
    bool websocket;
    zt_cfg_word *websocket_origins;
    size_t n_websocket_origins;
} zt_app_cfg;

/* ztgate as identity provider (`idp:`, src/idp): used when an app of kind oidc or saml exists. */
typedef struct zt_idp_cfg {
    /* OIDC issuer; default https://PORTAL_HOST[:PORT] from auth.portal_host and the first TLS
     * listener (http:// and the first listener when there is none) */
    char *issuer;
    char *keys_dir;                /* ID token keys, ES256 and RS256; default STATE_DIR/idp-keys */
    uint64_t access_token_ttl_ms;  /* default 10 min */
    uint64_t id_token_ttl_ms;      /* default 10 min */
    uint64_t refresh_token_ttl_ms; /* lifetime of a refresh token family; 0 = none; 8 h */
    char *saml_entity_id;          /* default ISSUER/.ztgate/saml/metadata */
    char *saml_cert;               /* RSA signing certificate; default STATE_DIR/idp-saml.crt */
    char *saml_key;                /* its key; default STATE_DIR/idp-saml.key (both created) */
} zt_idp_cfg;

/* An upstream OpenID provider users sign in with (`oidc_providers:`, src/federation). */
typedef enum zt_oidc_jit {
    ZT_OIDC_JIT_CREATE = 0, /* create unknown users, update known ones at each sign-in */
    ZT_OIDC_JIT_UPDATE,     /* only users that exist (matched by e-mail) sign in; updated */
    ZT_OIDC_JIT_OFF,        /* only existing users, nothing changed */
} zt_oidc_jit;

typedef struct zt_oidc_provider_cfg {
    char *name;     /* [a-z0-9-]: paths and the users' source "oidc:NAME" */
    char *label;    /* button text, English ("Sign in with Microsoft") */
    char *label_ja; /* Japanese; default: label */
    char *issuer;   /* exactly the iss of its tokens; discovery at ISSUER/.well-known/... */
    char *client_id;
    char *client_secret_file; /* client_secret_basic; mode 0600 */
    char *private_key_dir;    /* private_key_jwt: ztgate's key directory (RS256), created */
    char *ca_file;            /* NULL: the system store */
    zt_cfg_word *scopes;      /* default openid email profile */
    size_t n_scopes;
    zt_cfg_word *domains; /* home-realm discovery: e-mail domains sent to this provider */
    size_t n_domains;
    char *email_claim;      /* default "email" */
    char *name_claim;       /* default "name" */
    char *groups_claim;     /* default "groups" */
    zt_cfg_word *group_map; /* "CLAIM-VALUE=ztgate-group"; values not listed are ignored */
    size_t n_group_map;
    char *hosted_domain; /* Google Workspace: the `hd` claim must equal it */
    unsigned jit;        /* zt_oidc_jit */
    bool trust_upstream_mfa;
    bool end_session; /* sign-out also signs out at the provider (RP-initiated logout) */
    unsigned line, col;
} zt_oidc_provider_cfg;

typedef struct zt_limits_cfg {
    size_t max_header_bytes;  /* request line + header block; default 32 KiB */
    unsigned max_headers;     /* default 100 */
    unsigned max_connections; /* client connections over all workers; default 10000 */
    /* connections one address may hold (IPv6: one /64); 0 = automatic (a quarter of
     * max_connections, at least 64); trusted proxies are exempt */
    unsigned max_connections_per_address;
    uint64_t max_body_bytes; /* request body; 0 = unlimited (streamed); default 0 */
} zt_limits_cfg;

typedef struct zt_timeouts_cfg {
    uint64_t first_byte_ms;        /* a new connection must start its request within; 5 s */
    uint64_t header_read_ms;       /* whole request head must arrive within; default 10 s */
    uint64_t keepalive_ms;         /* idle between requests; default 60 s */
    uint64_t body_read_ms;         /* idle while reading a request body; default 60 s */
    uint64_t upstream_connect_ms;  /* default 5 s */
    uint64_t upstream_response_ms; /* idle while waiting for / reading the response; default 60 s */
    uint64_t drain_ms;             /* SIGTERM: in-flight requests may finish within; default 30 s */
    uint64_t stream_idle_ms;       /* a WebSocket or tunnel moving no byte closes after; 15 min */
    uint64_t stream_close_ms;      /* a stream's polite close is forced (reset) after; 1 s */
} zt_timeouts_cfg;

typedef struct zt_log_cfg {
    char *access_path;  /* "-" = stdout, "off" = disabled; default "-" */
    char *error_path;   /* "-" = stderr; default "-" */
    zt_log_level level; /* default info */
} zt_log_cfg;

typedef struct zt_admin_cfg {
    char *address; /* NULL = admin listener disabled */
    struct sockaddr_storage addr;
    bool tls;
    zt_tls_cfg tls_cfg;
    char *token_file;     /* default STATE_DIR/admin.token: the bootstrap token */
    bool bootstrap_token; /* default true; false: token_file is neither read nor made */
    unsigned line, col;   /* where listen was written */
} zt_admin_cfg;

/* The `store:` section (src/store, docs/STORE.md; several gateways: docs/CLUSTER.md). */
typedef struct zt_store_settings {
    unsigned backend;         /* zt_store_backend: 0 sqlite (default), 1 postgresql */
    char *dsn;                /* libpq connection string or URI, without a password */
    char *dsn_file;           /* or a 0600 file holding it (a password may be in there) */
    uint64_t timeout_ms;      /* statement and lock timeout; default 5 s */
    char *node_name;          /* this gateway's name among several; default the host name */
    uint64_t outage_grace_ms; /* cached sessions work this long without the database; 60 s */
    uint64_t resync_ms;       /* change-feed resync period; default 5 s */
    unsigned line, col;       /* where the section was written */
} zt_store_settings;

/* The `scim:` section (src/scim): SCIM 2.0 provisioning on the admin listener. */
typedef struct zt_scim_cfg {
    char *token_file; /* NULL = SCIM off; else a bearer token file (0600, made when missing) */
} zt_scim_cfg;

typedef enum zt_export_type {
    ZT_EXPORT_SYSLOG = 0, /* RFC 5424 with the JSON record as MSG */
    ZT_EXPORT_CEF,        /* RFC 5424 with a CEF line as MSG */
} zt_export_type;

typedef enum zt_export_transport {
    ZT_EXPORT_UDP = 0,
    ZT_EXPORT_TCP, /* octet-counting framing (RFC 6587 3.4.1) */
    ZT_EXPORT_TLS, /* RFC 5425 */
} zt_export_transport;

/* One SIEM sink (`audit.export[]`). */
typedef struct zt_export_cfg {
    char *name; /* unique */
    zt_export_type type;
    zt_export_transport transport; /* default tcp */
    char *address;                 /* "127.0.0.1:6514" */
    struct sockaddr_storage addr;
    char *ca_file;             /* tls: CA bundle; required unless insecure_skip_verify */
    char *server_name;         /* tls: SNI and name to verify; NULL = verify the address's IP */
    bool insecure_skip_verify; /* tls without verification (logged loudly at start) */
    uint32_t queue_limit;      /* records buffered; default 10000 */
    unsigned facility;         /* 0..23; default 10 (authpriv) */
    char *app_name;            /* RFC 5424 APP-NAME; default "ztgate" */
    unsigned line, col;        /* where the sink was declared */
} zt_export_cfg;

typedef struct zt_audit_cfg {
    char *path;                      /* default STATE_DIR/audit/audit.log; "off" disables */
    char *signing_key_file;          /* Ed25519 key, created 0600 on first start; default
                                        STATE_DIR/audit/signing.key */
    uint32_t checkpoint_every;       /* records between signed checkpoints; default 1000 */
    uint64_t checkpoint_interval_ms; /* or this long; default 10 s */
    uint64_t fsync_interval_ms;      /* group fsync window; default 5 ms */
    uint64_t rotate_bytes;           /* rotate when a file reaches; default 64 MiB */
    uint64_t rotate_interval_ms;     /* or when a file is this old; 0 = size only (default) */
    uint32_t queue_limit;            /* records waiting for the writer; default 65536 */
    bool fail_open;                  /* on_audit_failure: fail_open (default fail_closed) */
    zt_export_cfg *exports;          /* SIEM sinks (`export:`) */
    size_t n_exports;
} zt_audit_cfg;

/* Identity: passwords, MFA, sessions, assertions, brute-force limits (`auth:`). */
typedef struct zt_auth_cfg {
    char *portal_host;            /* central sign-in host; NULL = every app host signs in itself */
    char *issuer;                 /* `iss` of X-ZT-Assertion; default "ztgate" */
    uint64_t session_idle_ms;     /* default 30 min */
    uint64_t session_absolute_ms; /* default 12 h */
    uint64_t assertion_ttl_ms;    /* default 5 min (also the maximum) */
    unsigned password_min_chars;  /* default 12 */
    unsigned password_max_chars;  /* default 128 */
    char *breach_corpus;          /* Pwned Passwords format file; NULL = none */
    unsigned argon2_passes;       /* argon2id t; default 3 */
    uint64_t argon2_memory;       /* argon2id m in bytes; default 64 MiB */
    unsigned hash_queue;          /* password hashes queued or running, process-wide; 64 */
    unsigned hash_threads;        /* hashing threads (each holds argon2_memory); 1 */
    unsigned hash_nice;           /* their nice value below the event loops; 10 */
    unsigned hash_duty;           /* percent of a core each may hash; 50 */
    bool mfa_optional;            /* mfa: optional (default required: enrol at first sign-in) */
    bool passkeys;                /* WebAuthn passkeys and security keys; default true */
    /* passkey_registration: signed_in (default: a signed-in session may add a user's first
     * passkey) or tap (the first one only with a Temporary Access Pass session, so a phished
     * password and a relayed code can never bootstrap one). Later ones always need a passkey
     * just proved, or a pass. */
    bool passkey_registration_tap;
    /* Entra's Passkey (FIDO2) key restrictions: the AAGUIDs allowed (none = any key; checked at
     * registration and sign-in), and attestation (required: an x5c chain that verifies to a
     * certificate of the PEM bundle passkey_attestation_roots). */
    struct zt_cfg_word *passkey_aaguids;
    size_t n_passkey_aaguids;
    bool passkey_attestation_required;
    char *passkey_attestation_roots;
    char *secrets_key;                   /* key file for TOTP secrets at rest and cookie MACs */
    char *keys_dir;                      /* assertion signing keys (ES256) */
    unsigned account_failure_limit;      /* consecutive failures before an account refuses unknown
                                            devices; default 100 (NIST SP 800-63B 5.2.2) */
    unsigned source_failures_per_minute; /* per client IP; default 30 */
} zt_auth_cfg;

/* Conditional Access (`locations:`, `policies:`), as written; src/policy compiles it. Bit masks
 * use the enum orders of core/levels.h (bit 1 << zt_risk) and policy/policy.h (1 << zt_platform,
 * 1 << zt_client_type; grant controls and restrictions are already bits there). A zero mask means
 * "not set". */

#define ZT_CONFIG_ZONEINFO "/usr/share/zoneinfo" /* IANA time zones (TZif files) */

typedef struct zt_location_cfg {
    char *name; /* unique; not "all" or "trusted" */
    zt_cidr *cidrs;
    size_t n_cidrs;
    zt_cfg_word *countries; /* ISO 3166-1 alpha-2, uppercase */
    size_t n_countries;
    bool trusted;
    unsigned line, col;
} zt_location_cfg;

/* include/exclude lists: users ("all", email, "group:NAME"), apps ("all", app name,
 * "sensitivity:LEVEL"), locations ("all", "trusted", location name). */
typedef struct zt_assign_cfg {
    zt_cfg_word *include;
    size_t n_include;
    zt_cfg_word *exclude;
    size_t n_exclude;
} zt_assign_cfg;

typedef enum zt_policy_state {
    ZT_POLICY_OFF = 0,
    ZT_POLICY_ON,
    ZT_POLICY_REPORT_ONLY,
} zt_policy_state;

typedef struct zt_device_cond_cfg {
    bool has_enrolled, enrolled;
    bool has_compliant, compliant;
    unsigned risk_mask;     /* 1 << zt_risk */
    unsigned platform_mask; /* 1 << zt_platform */
} zt_device_cond_cfg;

typedef struct zt_time_cond_cfg {
    unsigned days_mask; /* bit 0 = Monday .. bit 6 = Sunday; 0 = every day */
    bool has_from, has_to;
    unsigned from_min, to_min; /* minutes after local midnight */
    char *timezone;            /* "UTC", "+09:00" or an IANA name; default "UTC" */
    unsigned line, col;        /* of timezone when written, else of the mapping */
} zt_time_cond_cfg;

typedef struct zt_cond_cfg {
    unsigned user_risk_mask, sign_in_risk_mask;
    bool has_device;
    zt_device_cond_cfg device;
    bool has_locations;
    zt_assign_cfg locations;
    bool has_anonymous_ip, anonymous_ip;
    unsigned client_mask; /* 1 << zt_client_type */
    bool has_time;
    zt_time_cond_cfg time;
} zt_cond_cfg;

/* grant.authentication_strength: only passkeys of these AAGUIDs meet it (Entra's custom
 * authentication strengths). It implies phishing_resistant_mfa. */
typedef struct zt_strength_cfg {
    struct zt_cfg_word *aaguids;
    size_t n_aaguids;
} zt_strength_cfg;

typedef struct zt_grant_cfg {
    bool block;
    unsigned controls; /* zt_control bits */
    bool operator_or;  /* operator: OR (default AND) */
    bool has_strength;
    zt_strength_cfg strength;
    /* Where `controls` was written (else the grant mapping), for zt_config_check_grants. */
    unsigned line, col;
} zt_grant_cfg;

typedef struct zt_session_ctl_cfg {
    bool has_sign_in_frequency;
    int64_t sign_in_frequency_s; /* 0 = every_time */
    unsigned restrict_flags;     /* zt_restrict bits */
} zt_session_ctl_cfg;

typedef struct zt_policy_cfg {
    char *name; /* unique, 1..64 characters */
    zt_policy_state state;
    zt_assign_cfg users, apps;
    zt_cond_cfg conditions;
    zt_grant_cfg grant;
    zt_session_ctl_cfg session;
    unsigned line, col;
} zt_policy_cfg;

/* A feed file with a source name shown in detections (`risk.malicious_ips[]`). */
typedef struct zt_feed_file_cfg {
    char *path;
    char *source;
    unsigned line, col;
} zt_feed_file_cfg;

/* Identity Protection (`risk:`): feed files and detection thresholds. */
typedef struct zt_risk_settings {
    char *geoip_city; /* mmdb (City layout); NULL = no locations */
    char *geoip_asn;  /* mmdb (ASN layout); NULL */
    zt_feed_file_cfg *anonymous_ips;
    size_t n_anonymous_ips;
    zt_feed_file_cfg *malicious_ips;
    size_t n_malicious_ips;
    char *leaked_credentials; /* "email:SHA1HEX" lines; NULL */
    zt_cidr *vpn_egress;      /* ignored for impossible travel */
    size_t n_vpn_egress;
    uint64_t feed_check_ms;         /* how often feed files are checked for changes; default 60s */
    unsigned impossible_travel_kmh; /* 900 */
    unsigned spray_accounts;        /* 10 */
    unsigned spray_passwords;       /* 2 */
    uint64_t spray_window_ms;       /* 10m */
    unsigned reputation_accounts;   /* 10 */
    uint64_t reputation_window_ms;  /* 10m */
    uint64_t reputation_ttl_ms;     /* 24h */
    uint64_t learning_period_ms;    /* 336h (14 days) */
    unsigned learning_sign_ins;     /* 10 */
} zt_risk_settings;

/* Device trust (`devices:`): the internal CA, enrolment, posture and compliance rules. */
typedef struct zt_devices_settings {
    char *ca_dir;                     /* default STATE_DIR/device-ca */
    uint64_t certificate_lifetime_ms; /* default 8760h */
    uint64_t enroll_code_ttl_ms;      /* default 15m */
    uint64_t posture_max_age_ms;      /* default 24h */
    uint64_t silent_after_ms;         /* no report this long: device_silent; default 1h */
    zt_cfg_word *min_os_versions;     /* "debian:12", "ubuntu:22.04" */
    size_t n_min_os_versions;
    uint64_t max_signature_age_ms; /* 0 = rule off */
    uint64_t max_update_age_ms;    /* 0 = rule off */
    bool require_disk_encryption;
    bool require_firewall;
    bool require_antivirus;
} zt_devices_settings;

/* Incident response (`incidents:`, `playbooks:`); src/response runs them. Severities use the
 * order of zt_risk in core/levels.h (1 low, 2 medium, 3 high). */
typedef struct zt_webhook_cfg {
    char *url;            /* http://HOST[:PORT]/PATH or https://... */
    uint64_t timeout_ms;  /* per attempt (connect, send, answer); default 5s */
    unsigned retries;     /* attempts after the first; default 5 */
    uint64_t backoff_ms;  /* first retry delay, doubled each time (at most 60s); default 1s */
    uint32_t queue_limit; /* notifications waiting; more are dropped and counted; default 1000 */
    char *secret_file;    /* HMAC key for X-ZT-Signature; NULL = derived from auth.secrets_key */
    char *ca_file;        /* https: CA bundle; NULL = the system's */
} zt_webhook_cfg;

typedef struct zt_incidents_cfg {
    uint64_t correlation_window_ms; /* join an open incident whose last event is this recent; 1h */
    unsigned min_severity;          /* detections at least this severe open incidents; 2 medium */
    zt_webhook_cfg notify;          /* the webhook of the `notify` action */
    bool has_notify;
} zt_incidents_cfg;

typedef struct zt_playbook_on_cfg {
    zt_cfg_word *types; /* signal types ("malware", "impossible_travel"); none = any */
    size_t n_types;
    unsigned min_severity;  /* zt_risk; 0 = any */
    unsigned severity_mask; /* 1 << zt_risk; 0 = any */
} zt_playbook_on_cfg;

typedef struct zt_playbook_cfg {
    char *name; /* unique */
    zt_playbook_on_cfg on;
    zt_cfg_word *actions; /* run in this order */
    size_t n_actions;
    bool undo_on_remediation;
    unsigned line, col;
} zt_playbook_cfg;

/* `ldap_directories:` (src/directory, docs/LDAP.md): where directory users sign in (a bind of
 * their own password over LDAPS or StartTLS) and where users and groups are synced from. */
#define ZT_CONFIG_LDAP_MAX 16
typedef enum zt_ldap_kind { ZT_LDAP_OPENLDAP = 0, ZT_LDAP_AD } zt_ldap_kind;
typedef struct zt_ldap_cfg {
    char *name;               /* users are made with source "ldap:NAME" */
    unsigned kind;            /* zt_ldap_kind */
    char *url;                /* ldaps://host[:port] or ldap://host[:port] (StartTLS) */
    char *ca_file;            /* PEM; NULL = the system's trust store */
    char *bind_dn;            /* the service account that searches */
    char *bind_password_file; /* its password (first line), mode 0600 */
    char *base_dn;            /* users under it */
    char *user_filter;        /* NULL = per kind (inetOrgPerson / AD person) */
    char *login_attribute;    /* what the e-mail typed at sign-in is matched against */
    char *id_attribute;       /* stable id: NULL = entryUUID / objectGUID */
    char *mail_attribute;     /* default "mail" */
    char *name_attribute;     /* default "displayName" */
    char *group_base_dn;      /* NULL = base_dn */
    char *group_filter;       /* NULL = per kind (groupOfNames / group) */
    char *disabled_attribute; /* with disabled_value: an account so marked is disabled */
    char *disabled_value;     /* (AD: userAccountControl bit 2 as well) */
    zt_cfg_word *domains;     /* e-mail domains signing in here (none: any unknown e-mail) */
    size_t n_domains;
    uint64_t timeout_ms;       /* connect and each operation; default 5 s */
    uint64_t sync_interval_ms; /* 0 = no scheduled sync; default 15 min */
    bool jit;                  /* create users at their first sign-in (default true) */
    unsigned line, col;
} zt_ldap_cfg;

typedef struct zt_config {
    char *path;      /* file it was read from */
    char *state_dir; /* default "./data" */
    zt_listener_cfg *listeners;
    size_t n_listeners;
    unsigned workers; /* event loops; 0 in the file = one per core (resolved at load) */
    zt_cidr *trusted_proxies;
    size_t n_trusted_proxies;
    zt_limits_cfg limits;
    zt_timeouts_cfg timeouts;
    zt_log_cfg log;
    zt_admin_cfg admin;
    zt_store_settings store;
    zt_scim_cfg scim;
    zt_audit_cfg audit;
    zt_auth_cfg auth;
    zt_devices_settings devices;
    zt_risk_settings risk;
    zt_idp_cfg idp;
    zt_app_cfg *apps;
    size_t n_apps;
    zt_location_cfg *locations;
    size_t n_locations;
    zt_policy_cfg *policies;
    size_t n_policies;
    zt_incidents_cfg incidents;
    zt_playbook_cfg *playbooks;
    size_t n_playbooks;
    zt_oidc_provider_cfg *oidc_providers;
    size_t n_oidc_providers;
    zt_ldap_cfg *ldap_directories;
    size_t n_ldap_directories;
} zt_config;

/* Collected "FILE:LINE:COL: message\n" lines. */
typedef struct zt_diags {
    zt_buf text;
    unsigned errors;
} zt_diags;

void zt_diags_init(zt_diags *d);
void zt_diags_dispose(zt_diags *d);
void zt_diag_add(zt_diags *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parse and validate; NULL (with every error in diags) when anything is wrong. Checks that
 * referenced files exist unless they may be created (tls self_signed, state files). */
zt_config *zt_config_load(const char *path, zt_diags *diags);
/* Same, from memory (fuzzing, tests); file names in messages use `name`. */
zt_config *zt_config_load_mem(const char *name, const char *data, size_t len, zt_diags *diags);
void zt_config_free(zt_config *cfg);

const char *zt_sensitivity_name(zt_sensitivity s);

/* Upstream host names are resolved once at load with getaddrinfo. Tests and fuzzers install an
 * offline resolver here (process-wide; set it before loading). fn returns 0 or an EAI_* code;
 * NULL restores getaddrinfo. IP literals never reach it. */
typedef int (*zt_config_resolver_fn)(const char *host, uint16_t port, struct sockaddr_storage *out);
void zt_config_set_resolver(zt_config_resolver_fn fn);

#endif
