/* Routing: which configured app serves (host, normalised path). An exact host beats an app
 * without a host; among those the longest whole-segment path prefix wins. No match means
 * default deny. Built once per config generation, read-only afterwards (shared by loops). */
#ifndef ZT_PROXY_ROUTE_H
#define ZT_PROXY_ROUTE_H

#include <stddef.h>

#include "core/config.h"
#include "lib/str.h"

typedef struct zt_routes zt_routes;

zt_routes *zt_routes_build(const zt_config *cfg);
void zt_routes_free(zt_routes *r);
/* host: lowercase, without port (may be empty). path: normalised, starts with '/'. */
const zt_app_cfg *zt_route_find(const zt_routes *r, zt_span host, const char *path,
                                size_t path_len);
typedef enum zt_route_result {
    ZT_ROUTE_FOUND,     /* *app is the app */
    ZT_ROUTE_NONE,      /* no app: default deny (404) */
    ZT_ROUTE_AMBIGUOUS, /* an upstream could read the path as another app's: refuse (400) */
} zt_route_result;

/* zt_route_find, safe against upstreams that read paths loosely: an app gets the request only
 * when its upstream, reading the path the way the app's path_match says (any way at all when
 * it says nothing: the default, strict), would see a path that routes to that same app. So
 * "/ADMIN/x", "/admin;jsessionid=1/x" or "/admin./x" never reach a public app's upstream as if
 * they were outside "/admin". */
zt_route_result zt_route_resolve(const zt_routes *r, zt_span host, const char *path,
                                 size_t path_len, const zt_app_cfg **app);

/* The kind tcp app a tunnel names by (host, port): host lowercase without port, compared
 * exactly (no app without a host, no wildcard). NULL: not an app, and never anything else. */
const zt_app_cfg *zt_route_find_tcp(const zt_routes *r, zt_span host, unsigned port);

/* Whole-segment prefix test: "/app" matches "/app" and "/app/x", not "/apple". */
int zt_route_prefix_match(const char *prefix, const char *path, size_t path_len);

#endif
