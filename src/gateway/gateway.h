/* The composition root: `ztgate serve` starts here. It loads the configuration, opens the
 * shared services (gateway/services.c), registers ztgate's own handlers (portal, admin API,
 * device endpoints) in the table it hands to the proxy, starts the proxy's loops and owns the
 * main thread: signals (SIGHUP reload, SIGTERM/SIGINT drain) and the service timers. It is the
 * one folder allowed to include every other (docs/ARCHITECTURE.md). */
#ifndef ZT_GATEWAY_GATEWAY_H
#define ZT_GATEWAY_GATEWAY_H

#include <stddef.h>

struct zt_config;

/* Runs until SIGTERM/SIGINT; returns the process exit status. Refuses to start on a bad config
 * (errors printed as FILE:LINE:COL: message). */
int zt_gateway_serve(const char *config_path);

/* What serve would check before it listens, without side effects: the state files and
 * directories exist as the right kind or can be created, the TLS pairs, policies, risk,
 * device and playbook settings build, the secrets key, breached-password corpus and feed files
 * read. `ztgate check-config` runs it after loading, so that its OK means serve starts (bar
 * things only a start can see: ports in use, a full disk). 0, or -1 with the reason in err. */
int zt_gateway_preflight(const struct zt_config *cfg, char *err, size_t errlen);

/* Opens everything serve opens before its loops start (TLS contexts, audit log, store, keys,
 * sessions, devices, feeds, admin token), then closes it all; nothing listens. For tests and
 * fuzzing in a scratch state_dir: it creates files there as a first start does. Consumes cfg.
 * 0, or -1 (the reason is logged). */
int zt_gateway_start_trial(struct zt_config *cfg);

#endif
