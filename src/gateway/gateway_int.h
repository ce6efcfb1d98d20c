/* Private to src/gateway: the daemon's main-thread state, shared by its files. */
#ifndef ZT_GATEWAY_INT_H
#define ZT_GATEWAY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "audit/audit.h"
#include "core/config.h"
#include "http/handler.h"
#include "proxy/proxy.h"

typedef struct zt_gateway {
    const char *config_path;
    zt_proxy *proxy;
    zt_services svc;    /* store, sessions, keys, ... shared with the proxy and every handler */
    struct zt_idp *idp; /* the OpenID Connect provider; NULL without apps of kind oidc */
    struct zt_federation *fed; /* upstream OpenID providers' sign-in (src/federation) */
    zt_handler handler_entries[13];
    zt_handlers handlers;
    zt_audit *audit; /* NULL when audit.path is "off" */
    bool audit_fail_open;
    bool audit_was_failed; /* for the error-log line when that changes */
    uv_loop_t *main_loop;
    uv_signal_t sig_hup, sig_term, sig_int;
    uv_timer_t sweep;           /* deletes expired sessions from the store now and then */
    uv_timer_t feeds_timer;     /* checks the risk feed files for changes */
    uv_timer_t revoked_timer;   /* reloads revoked device serials when the counter moves */
    uv_timer_t device_sweep;    /* silent agents and stale posture: device signals (src/device) */
    uv_timer_t lifecycle_sweep; /* ends expired accounts' sessions (src/lifecycle) */
    uint64_t revoked_seen;
    unsigned spool_ticks;
    struct zt_feeds *feeds_old; /* the snapshot replaced last (freed at the next replacement) */
    struct zt_dir_syncer *ldap_sync; /* scheduled directory sync thread; NULL: none */
    struct zt_cluster *cluster; /* change feed, leases, outage grace (PostgreSQL); NULL alone */
    bool stopping;
} zt_gateway;

/* services.c: the shared services and the main-thread timers that keep them current. */
int zt_gw_services_open(zt_gateway *gw, const zt_config *cfg);
void zt_gw_services_close(zt_gateway *gw);
/* Settings that may change on reload (throttle, session expiry, feeds). */
void zt_gw_services_reconfigure(zt_gateway *gw, const zt_config *cfg);
void zt_gw_audit_spool_drain(zt_gateway *gw);
void zt_gw_timers_start(zt_gateway *gw, const zt_config *cfg);
void zt_gw_timers_close(zt_gateway *gw);
/* The services' views of the config (also what preflight checks). */
struct zt_risk_cfg;
struct zt_feeds_cfg;
struct zt_feed_file;
void zt_gw_risk_cfg_from(const zt_config *cfg, struct zt_risk_cfg *rc);
bool zt_gw_feeds_configured(const zt_config *cfg);
/* files: room for every anonymous and malicious list of cfg. */
void zt_gw_feeds_cfg_from(const zt_config *cfg, struct zt_feeds_cfg *fc,
                          struct zt_feed_file *files);

/* preflight.c */
int zt_gw_state_dir_create(const char *dir);

/* gateway.c */
zt_config *zt_gw_load_config(const char *path);
void zt_gw_handlers_build(zt_gateway *gw);

#endif
