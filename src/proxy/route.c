#include "proxy/route.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/path.h"

_Static_assert(ZT_PATH_MATCH_CASE_INSENSITIVE == ZT_PATH_READ_FOLD_CASE &&
                   ZT_PATH_MATCH_STRIP_PARAMS == ZT_PATH_READ_STRIP_PARAMS &&
                   ZT_PATH_MATCH_TRIM_DOTS == ZT_PATH_READ_TRIM_DOTS,
               "path_match words and path readings share their bits");

struct zt_routes {
    const zt_app_cfg **apps; /* sorted: exact host first, then longer prefix first */
    size_t n;
    const zt_app_cfg **tcp; /* kind tcp apps, in file order ((host, port) is unique) */
    size_t n_tcp;
};

static int route_order(const void *a, const void *b)
{
    const zt_app_cfg *x = *(const zt_app_cfg *const *)a;
    const zt_app_cfg *y = *(const zt_app_cfg *const *)b;
    if ((x->host == NULL) != (y->host == NULL))
        return x->host == NULL ? 1 : -1;
    size_t lx = strlen(x->path_prefix), ly = strlen(y->path_prefix);
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return strcmp(x->name, y->name);
}

zt_routes *zt_routes_build(const zt_config *cfg)
{
    zt_routes *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->apps = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof(*r->apps));
    r->tcp = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof(*r->tcp));
    if (r->apps == NULL || r->tcp == NULL) {
        zt_routes_free(r);
        return NULL;
    }
    /* Identity-provider apps (kind oidc, saml) are reached by their relying parties, never
     * routed; tcp apps only by a tunnel naming their (host, port) (zt_route_find_tcp). */
    for (size_t i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].kind == ZT_APP_HTTP || cfg->apps[i].kind == ZT_APP_CONSOLE)
            r->apps[r->n++] = &cfg->apps[i];
        else if (cfg->apps[i].kind == ZT_APP_TCP)
            r->tcp[r->n_tcp++] = &cfg->apps[i];
    }
    qsort(r->apps, r->n, sizeof(*r->apps), route_order);
    return r;
}

void zt_routes_free(zt_routes *r)
{
    if (r == NULL)
        return;
    free(r->apps);
    free(r->tcp);
    free(r);
}

const zt_app_cfg *zt_route_find_tcp(const zt_routes *r, zt_span host, unsigned port)
{
    for (size_t i = 0; i < r->n_tcp; i++) {
        const zt_app_cfg *app = r->tcp[i];
        if (app->port == port && app->host != NULL &&
            zt_span_eq(host, (zt_span){app->host, strlen(app->host)}))
            return app;
    }
    return NULL;
}

int zt_route_prefix_match(const char *prefix, const char *path, size_t path_len)
{
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/')
        return 1;
    if (path_len < n || memcmp(prefix, path, n) != 0)
        return 0;
    return path_len == n || path[n] == '/';
}

const zt_app_cfg *zt_route_find(const zt_routes *r, zt_span host, const char *path, size_t path_len)
{
    for (size_t i = 0; i < r->n; i++) {
        const zt_app_cfg *app = r->apps[i];
        if (app->host != NULL && !zt_span_eq(host, (zt_span){app->host, strlen(app->host)}))
            continue;
        if (zt_route_prefix_match(app->path_prefix, path, path_len))
            return app;
    }
    return NULL;
}

/* zt_route_find with letters compared without case (the path was lowercased already). */
static const zt_app_cfg *find_folded(const zt_routes *r, zt_span host, const char *path,
                                     size_t path_len)
{
    for (size_t i = 0; i < r->n; i++) {
        const zt_app_cfg *app = r->apps[i];
        if (app->host != NULL && !zt_span_eq(host, (zt_span){app->host, strlen(app->host)}))
            continue;
        size_t n = strlen(app->path_prefix);
        if (n == 1 && app->path_prefix[0] == '/')
            return app;
        if (path_len >= n && strncasecmp(app->path_prefix, path, n) == 0 &&
            (path_len == n || path[n] == '/'))
            return app;
    }
    return NULL;
}

#define N_READINGS 8 /* every combination of the three ZT_PATH_READ_* bits; index = bits >> 1 */

/* The readings an app's upstream may apply: the one it declared, or all when strict. */
static bool app_reads(const zt_app_cfg *app, unsigned reading)
{
    if (app->path_match == 0)
        return true;
    if (app->path_match & ZT_PATH_MATCH_EXACT)
        return reading == 0;
    return reading == ((app->path_match & ZT_PATH_READ_ALL) >> 1);
}

static bool consistent(const zt_app_cfg *app, const zt_app_cfg *const by[N_READINGS])
{
    for (unsigned t = 0; t < N_READINGS; t++)
        if (app_reads(app, t) && by[t] != app)
            return false;
    return true;
}

zt_route_result zt_route_resolve(const zt_routes *r, zt_span host, const char *path,
                                 size_t path_len, const zt_app_cfg **app)
{
    const zt_app_cfg *by[N_READINGS];
    by[0] = zt_route_find(r, host, path, path_len);
    *app = by[0];
    unsigned differs = zt_path_ambiguity(path, path_len) >> 1;
    if (differs == 0)
        return by[0] != NULL ? ZT_ROUTE_FOUND : ZT_ROUTE_NONE;
    char small[512];
    char *view = path_len < sizeof(small) ? small : malloc(path_len + 1);
    if (view == NULL) {
        *app = NULL;
        return ZT_ROUTE_AMBIGUOUS; /* cannot tell: refuse rather than guess */
    }
    /* Readings that touch nothing in this path route like the reading without them. */
    for (unsigned t = 1; t < N_READINGS; t++) {
        if ((t & differs) != t) {
            by[t] = by[t & differs];
            continue;
        }
        size_t n = zt_path_reading(path, path_len, t << 1, view);
        by[t] = (t << 1) & ZT_PATH_READ_FOLD_CASE ? find_folded(r, host, view, n)
                                                  : zt_route_find(r, host, view, n);
    }
    if (view != small)
        free(view);
    for (unsigned t = 0; t < N_READINGS; t++) {
        if (by[t] != NULL && consistent(by[t], by)) {
            *app = by[t];
            return ZT_ROUTE_FOUND;
        }
    }
    *app = NULL;
    return by[0] == NULL ? ZT_ROUTE_NONE : ZT_ROUTE_AMBIGUOUS;
}
