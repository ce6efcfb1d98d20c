#include "proxy/route.h"

#include <stdlib.h>
#include <string.h>

struct zt_routes {
    const zt_app_cfg **apps; /* sorted: exact host first, then longer prefix first */
    size_t n;
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
    if (r->apps == NULL) {
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_apps; i++)
        r->apps[i] = &cfg->apps[i];
    r->n = cfg->n_apps;
    qsort(r->apps, r->n, sizeof(*r->apps), route_order);
    return r;
}

void zt_routes_free(zt_routes *r)
{
    if (r == NULL)
        return;
    free(r->apps);
    free(r);
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
