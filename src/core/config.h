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
} zt_listener_cfg;

typedef struct zt_upstream_cfg {
    char *url;                    /* as written: "http://127.0.0.1:8081/base" */
    char *host_header;            /* "127.0.0.1:8081": Host sent upstream unless preserve_host */
    char *base_path;              /* "" or "/base" (no trailing slash), prepended to the path */
    struct sockaddr_storage addr; /* resolved once at load */
} zt_upstream_cfg;

typedef struct zt_app_cfg {
    char *name;        /* unique */
    char *host;        /* lowercase host without port; NULL matches any host */
    char *path_prefix; /* "/" by default; normalised; matches whole segments */
    zt_upstream_cfg upstream;
    zt_sensitivity sensitivity; /* default internal */
    bool preserve_host;         /* forward the client's Host instead of the upstream's */
    bool allow_encoded_slash;   /* accept %2F and %5C in paths (kept encoded) */
    unsigned line, col;         /* where the app was declared */
} zt_app_cfg;

typedef struct zt_limits_cfg {
    size_t max_header_bytes;  /* request line + header block; default 32 KiB */
    unsigned max_headers;     /* default 100 */
    unsigned max_connections; /* client connections over all workers; default 10000 */
    uint64_t max_body_bytes;  /* request body; 0 = unlimited (streamed); default 0 */
} zt_limits_cfg;

typedef struct zt_timeouts_cfg {
    uint64_t header_read_ms;       /* whole request head must arrive within; default 10 s */
    uint64_t keepalive_ms;         /* idle between requests; default 60 s */
    uint64_t body_read_ms;         /* idle while reading a request body; default 60 s */
    uint64_t upstream_connect_ms;  /* default 5 s */
    uint64_t upstream_response_ms; /* idle while waiting for / reading the response; default 60 s */
    uint64_t drain_ms;             /* SIGTERM: in-flight requests may finish within; default 30 s */
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
    char *token_file; /* default STATE_DIR/admin.token */
} zt_admin_cfg;

typedef struct zt_audit_cfg {
    char *path;                      /* default STATE_DIR/audit/audit.log; "off" disables */
    char *signing_key_file;          /* Ed25519 key, created 0600 on first start; default
                                        STATE_DIR/audit/signing.key */
    uint32_t checkpoint_every;       /* records between signed checkpoints; default 1000 */
    uint64_t checkpoint_interval_ms; /* or this long; default 10 s */
    uint64_t fsync_interval_ms;      /* group fsync window; default 5 ms */
    uint64_t rotate_bytes;           /* rotate when a file reaches; default 64 MiB */
    uint32_t queue_limit;            /* records waiting for the writer; default 65536 */
    bool fail_open;                  /* on_audit_failure: fail_open (default fail_closed) */
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
    bool mfa_optional;            /* mfa: optional (default required: enrol at first sign-in) */
    char *secrets_key;            /* key file for TOTP secrets at rest and cookie MACs */
    char *keys_dir;               /* assertion signing keys (ES256) */
    unsigned account_failure_limit;      /* consecutive failures before an account refuses unknown
                                            devices; default 100 (NIST SP 800-63B 5.2.2) */
    unsigned source_failures_per_minute; /* per client IP; default 30 */
} zt_auth_cfg;

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
    zt_audit_cfg audit;
    zt_auth_cfg auth;
    zt_app_cfg *apps;
    size_t n_apps;
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
