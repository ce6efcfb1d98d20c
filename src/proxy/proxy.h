/* The Policy Enforcement Point's engine: listeners, one libuv event loop per core, client and
 * upstream connections, reload and drain. `ztgate serve` is zt_proxy_serve(). */
#ifndef ZT_PROXY_PROXY_H
#define ZT_PROXY_PROXY_H

#include <stddef.h>

/* Runs until SIGTERM/SIGINT; returns the process exit status. Refuses to start on a bad config
 * (errors printed as FILE:LINE:COL: message). */
int zt_proxy_serve(const char *config_path);

struct zt_config;

/* What serve would check before it listens, without side effects: the state files and
 * directories exist as the right kind or can be created, the TLS pairs, policies, risk,
 * device and playbook settings build, the secrets key, breached-password corpus and feed files
 * read. `ztgate check-config` runs it after loading, so that its OK means serve starts (bar
 * things only a start can see: ports in use, a full disk). 0, or -1 with the reason in err. */
int zt_proxy_preflight(const struct zt_config *cfg, char *err, size_t errlen);

/* Opens everything serve opens before its loops start (TLS contexts, audit log, store, keys,
 * sessions, devices, feeds, admin token), then closes it all; nothing listens. For tests and
 * fuzzing in a scratch state_dir: it creates files there as a first start does. Consumes cfg.
 * 0, or -1 (the reason is logged). */
int zt_proxy_start_trial(struct zt_config *cfg);

/* The `gateway:` and `apps:` key tables (proxy_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_gateway_config_module;
extern const struct zt_config_module zt_apps_config_module;

#endif
