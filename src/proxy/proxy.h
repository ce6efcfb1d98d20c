/* The Policy Enforcement Point's engine: listeners, one libuv event loop per core, client and
 * upstream connections, config generations, drain. It serves; it does not open services or
 * know which handlers exist: the composition root (src/gateway) opens the shared services,
 * builds the handler table and drives this API from the main thread. */
#ifndef ZT_PROXY_PROXY_H
#define ZT_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/handler.h"

typedef struct zt_server zt_proxy;
typedef struct zt_runtime zt_runtime;

/* The first config generation (routes, compiled policies, TLS contexts). Consumes cfg, even
 * when it fails; NULL: the reason is logged. config_path must outlive the proxy. */
zt_proxy *zt_proxy_new(zt_config *cfg, const char *config_path);
/* The configuration of the current generation (main thread). */
const zt_config *zt_proxy_config(const zt_proxy *p);
/* Hands over the shared services and the handler table (both outlive the proxy) and puts the
 * device CA on every TLS listener. -1: logged, the proxy cannot serve. */
int zt_proxy_attach(zt_proxy *p, zt_services *svc, const zt_handlers *handlers);
/* Starts the worker loops; they listen at once. 0 or -errno. */
int zt_proxy_start(zt_proxy *p);
/* The number of worker loops started. */
unsigned zt_proxy_workers(const zt_proxy *p);

/* Reload, in two steps so the caller can reconfigure its services in between: prepare builds
 * the next generation from cfg (consumed) and refuses what needs a restart (listen addresses);
 * NULL: refused and logged, the current generation keeps serving. commit hands the prepared
 * generation to every loop. */
zt_runtime *zt_proxy_reload_prepare(zt_proxy *p, zt_config *cfg);
const zt_config *zt_runtime_config(const zt_runtime *rt);
void zt_proxy_reload_commit(zt_proxy *p, zt_runtime *rt);

/* Stops accepting and lets the loops drain (up to timeouts.drain); then join waits for them. */
void zt_proxy_stop(zt_proxy *p);
void zt_proxy_join(zt_proxy *p);
/* Frees what new made; after join (or when start failed). NULL is fine. */
void zt_proxy_free(zt_proxy *p);

/* The `gateway:` and `apps:` key tables (proxy_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_gateway_config_module;
extern const struct zt_config_module zt_apps_config_module;

#endif
