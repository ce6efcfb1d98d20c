/* The `gateway:` section (listeners, workers, trusted proxies, limits, timeouts) and the `apps:`
 * list (routing: host, path prefix, upstream, path matching) of the config file, read by the
 * engine in core/config.c through these tables, with the checks across apps (unique names and
 * routes) once the whole file was read. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "core/config_schema.h"
#include "lib/net.h"
#include "proxy/proxy.h"
#include "proxy/ws.h"

#define WS_ORIGINS_MAX 64

/* Bit order of ZT_PATH_MATCH_* in config.h. */
static const char *const path_match[] = {"exact", "case_insensitive", "strip_params", "trim_dots",
                                         NULL};

static const zt_config_key listener_keys[] = {
    {"address", ZT_K_ADDR, ZT_CFG_REQUIRED, ZT_FIELD(zt_listener_cfg, address),
     .aux = offsetof(zt_listener_cfg, addr)},
    {"tls", ZT_K_SECTION, ZT_CFG_PRESENT, .off = offsetof(zt_listener_cfg, tls_cfg),
     .aux = offsetof(zt_listener_cfg, tls), .sub = &zt_config_tls_section},
};
static void check_listener(zt_config_ctx *c, const zt_config_walk *w)
{
    (void)c;
    zt_listener_cfg *l = (zt_listener_cfg *)(void *)w->target;
    zt_config_mark(w, &l->line, &l->col);
}
ZT_CONFIG_SECTION(listener_section, listener_keys, check_listener);

static const zt_config_key limits_keys[] = {
    {"max_header_bytes", ZT_K_SIZE, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_header_bytes),
     .min = 1ull << 10, .max = 1ull << 20, .def = "32KiB"},
    {"max_headers", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_headers), .min = 1,
     .max = 1024, .def = "100"},
    {"max_connections", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_connections),
     .min = 1, .max = 1000000, .def = "10000"},
    {"max_connections_per_address", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_limits_cfg, max_connections_per_address), .min = 0, .max = 1000000, .def = "0"},
    {"max_body_bytes", ZT_K_SIZE, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_body_bytes), .min = 0,
     .max = UINT64_MAX, .def = "0"},
};
ZT_CONFIG_SECTION(limits_section, limits_keys, NULL);

#define ZT_TIMEOUT(key, field, lo, hi, d)                                                          \
    {                                                                                              \
        key, ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_timeouts_cfg, field), .min = lo, .max = hi, \
                                                                             .def = d              \
    }
static const zt_config_key timeouts_keys[] = {
    ZT_TIMEOUT("first_byte", first_byte_ms, 100, 24 * ZT_MS_H, "5s"),
    ZT_TIMEOUT("header_read", header_read_ms, 100, 24 * ZT_MS_H, "10s"),
    ZT_TIMEOUT("keepalive", keepalive_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("body_read", body_read_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("upstream_connect", upstream_connect_ms, 100, 24 * ZT_MS_H, "5s"),
    ZT_TIMEOUT("upstream_response", upstream_response_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("drain", drain_ms, 0, ZT_MS_H, "30s"),
    /* Streams (WebSocket, tunnel): no per-read timer, checked by the stream evaluation tick. */
    ZT_TIMEOUT("stream_idle", stream_idle_ms, 1000, 7 * 24 * ZT_MS_H, "15m"),
    ZT_TIMEOUT("stream_close", stream_close_ms, 100, 60 * 1000, "1s"),
};
ZT_CONFIG_SECTION(timeouts_section, timeouts_keys, NULL);

static const zt_config_key gateway_keys[] = {
    {"listen", ZT_K_LIST, ZT_CFG_REQUIRED, .off = offsetof(zt_config, listeners),
     .aux = offsetof(zt_config, n_listeners), .min = 1, .max = 64, .sub = &listener_section,
     .item_size = sizeof(zt_listener_cfg)},
    {"workers", ZT_K_UINT, 0, ZT_FIELD(zt_config, workers), .min = 0, .max = 64, .def = "0"},
    {"trusted_proxies", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_config, trusted_proxies),
     .aux = offsetof(zt_config, n_trusted_proxies), .min = 0, .max = 1024},
    {"limits", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, limits),
     .sub = &limits_section},
    {"timeouts", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, timeouts),
     .sub = &timeouts_section},
};
ZT_CONFIG_SECTION(gateway_section, gateway_keys, NULL);

/* Bit order of zt_tls_min in config.h. */
static const char *const tls_mins[] = {"1.2", "1.3", NULL};

/* A name for SNI or for the certificate check: letters, digits, '-' and '.', or (for the check
 * only) an IP address; no wildcard, no trailing dot, no port. */
static bool tls_name_ok(const char *s, bool ip_ok)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
        return ip_ok;
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || (ch == '.' && s[i + 1] != '.');
        if (!ok)
            return false;
    }
    return true;
}

/* Files are read when the generation is built (server.c); here they must at least exist, so a
 * typo is reported at its line. */
static void check_upstream_tls(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_upstream_tls_cfg *t = (zt_upstream_tls_cfg *)(void *)w->target;
    zt_config_mark(w, &t->line, &t->col);
    zt_config_check_file(c, w, "ca_file", t->ca_file, "");
    zt_config_check_file(c, w, "client_cert", t->client_cert, "");
    zt_config_check_file(c, w, "client_key", t->client_key, "");
    struct stat st;
    if (t->client_key != NULL && stat(t->client_key, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & 007) != 0)
        zt_config_err(c, zt_config_seen(w, "client_key"),
                      "'%s.client_key' file '%s' is readable by others (mode %03o): chmod 600 "
                      "(or 640 for a group) it",
                      w->path, t->client_key, (unsigned)(st.st_mode & 0777));
    if ((t->client_cert == NULL) != (t->client_key == NULL))
        zt_config_err_at(c, t->line, t->col,
                         "'%s' needs both client_cert and client_key, or neither", w->path);
    if (t->server_name != NULL && !tls_name_ok(t->server_name, false))
        zt_config_err(c, zt_config_seen(w, "server_name"),
                      "'%s.server_name' must be a DNS name (SNI carries no IP address or port)",
                      w->path);
    if (t->verify_name != NULL && !tls_name_ok(t->verify_name, true))
        zt_config_err(c, zt_config_seen(w, "verify_name"),
                      "'%s.verify_name' must be a DNS name or an IP address", w->path);
}

static const zt_config_key upstream_tls_keys[] = {
    {"ca_file", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, ca_file)},
    {"server_name", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, server_name)},
    {"verify_name", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, verify_name)},
    {"client_cert", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, client_cert)},
    {"client_key", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, client_key)},
    {"tls_min", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_upstream_tls_cfg, tls_min), .def = "1.2",
     .names = tls_mins},
};
ZT_CONFIG_SECTION(upstream_tls_section, upstream_tls_keys, check_upstream_tls);

/* Bit order of zt_app_kind in config.h. */
static const char *const app_kinds[] = {"http", "oidc", "saml", "tcp", "console", NULL};

/* Keys that only a proxied (kind http) app may have: an identity-provider app is reached by its
 * relying party, never routed. */
static const char *const routing_keys[] = {
    "host",          "path_prefix",         "upstream",   "upstream_tls",
    "preserve_host", "allow_encoded_slash", "path_match", NULL};

/* A tcp app is reached by (host, port) through a tunnel: it has a host and a target, and none
 * of the HTTP routing keys; the tcp keys belong to it alone. */
static void check_tcp_keys(zt_config_ctx *c, const zt_config_walk *w, zt_app_cfg *app)
{
    const char *name = app->name ? app->name : "?";
    static const char *const tcp_only[] = {"target", "port", NULL};
    if (app->kind != ZT_APP_TCP) {
        for (size_t i = 0; tcp_only[i] != NULL; i++) {
            yaml_node_t *n = zt_config_seen(w, tcp_only[i]);
            if (n != NULL)
                zt_config_err(c, n, "app '%s': '%s' needs 'kind: tcp'", name, tcp_only[i]);
        }
        return;
    }
    if (zt_config_seen(w, "host") == NULL)
        zt_config_err_at(c, app->line, app->col,
                         "app '%s' is of kind tcp: missing required key 'host' (the name clients "
                         "give to ztagent tunnel)",
                         name);
    if (zt_config_seen(w, "target") == NULL)
        zt_config_err_at(c, app->line, app->col,
                         "app '%s' is of kind tcp: missing required key 'target' (HOST:PORT)",
                         name);
    else if (app->port == 0)
        app->port = zt_sockaddr_port((const struct sockaddr *)&app->target.addr);
}

/* The console is answered by ztgate itself on a host of its own: a host is required, no
 * upstream, and it is never public (an anonymous visitor has no grant to show anything for). */
static void check_console_keys(zt_config_ctx *c, const zt_config_walk *w, zt_app_cfg *app)
{
    const char *name = app->name ? app->name : "?";
    if (app->kind != ZT_APP_CONSOLE) {
        yaml_node_t *n = zt_config_seen(w, "session_max_age");
        if (n != NULL)
            zt_config_err(c, n, "app '%s': 'session_max_age' needs 'kind: console'", name);
        return;
    }
    app->websocket = false; /* no script, so nothing to open one */
    if (zt_config_seen(w, "host") == NULL)
        zt_config_err_at(c, app->line, app->col,
                         "app '%s' is of kind console: missing required key 'host' (the console "
                         "answers on a host of its own, e.g. console.example.org)",
                         name);
    if (app->sensitivity == ZT_SENS_PUBLIC)
        zt_config_err(c, zt_config_seen(w, "sensitivity"),
                      "app '%s' is of kind console: it cannot be public (sign-in is required)",
                      name);
}

/* Each kind has the block it needs and none of the others'. */
static void check_app_kind(zt_config_ctx *c, const zt_config_walk *w, zt_app_cfg *app)
{
    const char *name = app->name ? app->name : "?";
    bool http = app->kind == ZT_APP_HTTP;
    bool tcp = app->kind == ZT_APP_TCP;
    bool console = app->kind == ZT_APP_CONSOLE;
    if (http && zt_config_seen(w, "upstream") == NULL)
        zt_config_err_at(c, app->line, app->col, "app '%s': missing required key 'upstream'", name);
    for (size_t i = 0; !http && routing_keys[i] != NULL; i++) {
        yaml_node_t *n = zt_config_seen(w, routing_keys[i]);
        if (n != NULL && !((tcp || console) && strcmp(routing_keys[i], "host") == 0))
            zt_config_err(c, n, "app '%s' is of kind %s: '%s' is only for proxied (kind http) apps",
                          name, app_kinds[app->kind], routing_keys[i]);
    }
    check_tcp_keys(c, w, app);
    check_console_keys(c, w, app);
    if (app->kind == ZT_APP_OIDC && !app->has_oidc)
        zt_config_err_at(c, app->line, app->col, "app '%s' is of kind oidc: missing 'oidc:' block",
                         name);
    if (app->kind == ZT_APP_SAML && !app->has_saml)
        zt_config_err_at(c, app->line, app->col, "app '%s' is of kind saml: missing 'saml:' block",
                         name);
    if (app->kind != ZT_APP_OIDC && app->has_oidc)
        zt_config_err(c, zt_config_seen(w, "oidc"), "app '%s': 'oidc:' needs 'kind: oidc'", name);
    if (app->kind != ZT_APP_SAML && app->has_saml)
        zt_config_err(c, zt_config_seen(w, "saml"), "app '%s': 'saml:' needs 'kind: saml'", name);
}

/* Only proxied apps carry WebSockets. Each origin is compared with a browser's Origin header
 * after the same normalisation: written any other way (a path, a wildcard, no scheme) it could
 * never match, so it is refused. */
static void check_websocket(zt_config_ctx *c, const zt_config_walk *w, zt_app_cfg *app)
{
    static const char *const keys[] = {"websocket", "websocket_origins"};
    for (size_t i = 0; app->kind != ZT_APP_HTTP && i < 2; i++) {
        yaml_node_t *n = zt_config_seen(w, keys[i]);
        if (n != NULL)
            zt_config_err(c, n, "app '%s': '%s' is only for proxied (kind http) apps",
                          app->name ? app->name : "?", keys[i]);
    }
    for (size_t i = 0; i < app->n_websocket_origins; i++) {
        zt_cfg_word *o = &app->websocket_origins[i];
        char norm[300];
        if (o->s == NULL)
            continue;
        if (!zt_ws_origin_normalise(o->s, strlen(o->s), norm, sizeof(norm))) {
            zt_config_err_at(c, o->line, o->col,
                             "app '%s': websocket_origins entry '%s' is not an origin "
                             "(http:// or https:// HOST[:PORT], nothing after)",
                             app->name ? app->name : "?", o->s);
            continue;
        }
        size_t n = strlen(norm);
        if (n <= strlen(o->s))
            memcpy(o->s, norm, n + 1); /* stored normalised; never longer than as written */
    }
}

static void check_app(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_app_cfg *app = (zt_app_cfg *)(void *)w->target;
    app->line = (unsigned)w->map->start_mark.line + 1;
    app->col = (unsigned)w->map->start_mark.column + 1;
    if ((app->path_match & ZT_PATH_MATCH_EXACT) && app->path_match != ZT_PATH_MATCH_EXACT)
        zt_config_err_at(c, app->line, app->col,
                         "app '%s': path_match 'exact' cannot be combined with other words",
                         app->name ? app->name : "?");
    check_app_kind(c, w, app);
    if (app->upstream.has_tls_cfg && app->upstream.url != NULL && !app->upstream.tls)
        zt_config_err(c, zt_config_seen(w, "upstream_tls"),
                      "app '%s': 'upstream_tls' needs an https:// upstream",
                      app->name ? app->name : "?");
    check_websocket(c, w, app);
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Index of an earlier app with the same name as app j, or SIZE_MAX. */
static size_t same_name(const zt_config *cfg, size_t j)
{
    for (size_t i = 0; i < j; i++)
        if (cfg->apps[i].name != NULL && str_eq(cfg->apps[i].name, cfg->apps[j].name))
            return i;
    return SIZE_MAX;
}

/* Index of an earlier tcp app with the same (host, port) as tcp app j, or SIZE_MAX. */
static size_t same_tcp_route(const zt_config *cfg, size_t j)
{
    const zt_app_cfg *b = &cfg->apps[j];
    for (size_t i = 0; i < j; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (a->kind == ZT_APP_TCP && a->name != NULL && str_eq(a->host, b->host) &&
            a->port == b->port)
            return i;
    }
    return SIZE_MAX;
}

/* Index of an earlier app that app j would shadow (same host and path_prefix), or SIZE_MAX. */
static size_t same_route(const zt_config *cfg, size_t j)
{
    const zt_app_cfg *b = &cfg->apps[j];
    if (b->kind == ZT_APP_TCP)
        return same_tcp_route(cfg, j);
    if (b->kind != ZT_APP_HTTP && b->kind != ZT_APP_CONSOLE)
        return SIZE_MAX; /* never routed */
    for (size_t i = 0; i < j; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if ((a->kind == ZT_APP_HTTP || a->kind == ZT_APP_CONSOLE) && a->name != NULL &&
            a->path_prefix != NULL && str_eq(a->host, b->host) &&
            str_eq(a->path_prefix, b->path_prefix))
            return i;
    }
    return SIZE_MAX;
}

/* Index of another routed app on console app j's host, or SIZE_MAX. The console's origin must
 * serve nothing else: a page from an upstream there (a longer path_prefix is routed first)
 * could read the console's pages with the admin's cookie, take the CSRF token and drive it. */
static size_t console_host_shared(const zt_config *cfg, size_t j)
{
    const zt_app_cfg *b = &cfg->apps[j];
    if (b->kind != ZT_APP_CONSOLE || b->host == NULL)
        return SIZE_MAX;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (i != j && (a->kind == ZT_APP_HTTP || a->kind == ZT_APP_CONSOLE) && a->host != NULL &&
            strcasecmp(a->host, b->host) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* Names identify apps in policies and logs; host+prefix identify them on the wire. Either
 * clash would make a request's app ambiguous. */
static void check_apps(zt_config_ctx *c)
{
    const zt_config *cfg = zt_config_target(c);
    for (size_t j = 0; j < cfg->n_apps; j++) {
        const zt_app_cfg *b = &cfg->apps[j];
        size_t i;
        if (b->name == NULL || b->path_prefix == NULL)
            continue; /* not a mapping, or already reported */
        if ((i = console_host_shared(cfg, j)) != SIZE_MAX && cfg->apps[i].name != NULL) {
            zt_config_err_at(c, b->line, b->col,
                             "app '%s' is of kind console: its host %s is also app '%s' "
                             "(line %u); the console needs a host of its own (another app's "
                             "pages on the console's origin could read and drive it)",
                             b->name, b->host, cfg->apps[i].name, cfg->apps[i].line);
            continue;
        }
        if ((i = same_name(cfg, j)) != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col, "duplicate app name '%s' (first at line %u)",
                             b->name, cfg->apps[i].line);
        else if ((i = same_route(cfg, j)) != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col,
                             "app '%s' has the same host and %s as app '%s' (line %u)", b->name,
                             b->kind == ZT_APP_TCP ? "port" : "path_prefix", cfg->apps[i].name,
                             cfg->apps[i].line);
    }
}

static const zt_config_key app_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, name)},
    {"host", ZT_K_HOST, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, host)},
    {"path_prefix", ZT_K_PREFIX, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, path_prefix), .def = "/"},
    {"kind", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, kind), .def = "http",
     .names = app_kinds},
    /* Required for kind http (check_app_kind): the other kinds have no upstream. */
    {"upstream", ZT_K_URL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, upstream)},
    {"upstream_tls", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     .off = offsetof(zt_app_cfg, upstream.tls_cfg),
     .aux = offsetof(zt_app_cfg, upstream.has_tls_cfg), .sub = &upstream_tls_section},
    {"sensitivity", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, sensitivity), .def = "internal",
     .names = zt_config_sensitivities},
    {"preserve_host", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, preserve_host),
     .def = "false"},
    {"allow_encoded_slash", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, allow_encoded_slash),
     .def = "false"},
    {"path_match", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, path_match), .min = 1, .max = 3,
     .names = path_match},
    {"websocket", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, websocket), .def = "true"},
    {"websocket_origins", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_app_cfg, websocket_origins),
     .aux = offsetof(zt_app_cfg, n_websocket_origins), .min = 0, .max = WS_ORIGINS_MAX},
    {"oidc", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_app_cfg, oidc),
     .aux = offsetof(zt_app_cfg, has_oidc), .sub = &zt_idp_oidc_app_section},
    {"saml", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_app_cfg, saml),
     .aux = offsetof(zt_app_cfg, has_saml), .sub = &zt_idp_saml_app_section},
    /* kind tcp (check_tcp_keys): where the tunnel goes, and the port clients name. */
    {"target", ZT_K_TARGET, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, target)},
    {"port", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, port), .min = 1, .max = 65535},
    /* kind console (check_console_keys): how old a sign-in the console still accepts. */
    {"session_max_age", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, session_max_age_ms),
     .min = 60 * 1000, .max = 24 * ZT_MS_H, .def = "1h"},
    {"idle_timeout", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, idle_timeout_ms),
     .min = 1000, .max = 7 * 24 * ZT_MS_H},
};
ZT_CONFIG_SECTION(app_section, app_keys, check_app);

/* Whether a listener on a would take connections meant for b: the same port and family, and
 * the same address or either one a wildcard (0.0.0.0 or ::; IPv6 listeners are v6-only). */
static bool addresses_overlap(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port &&
               (x->sin_addr.s_addr == y->sin_addr.s_addr || x->sin_addr.s_addr == INADDR_ANY ||
                y->sin_addr.s_addr == INADDR_ANY);
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           (IN6_ARE_ADDR_EQUAL(&x->sin6_addr, &y->sin6_addr) ||
            IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
}

/* Every loop binds its listeners with SO_REUSEPORT, which the kernel also grants to a second
 * socket of ours on the same port: two listeners (or a listener and the admin API) sharing an
 * address would silently split the connections between them, so the file is refused. */
static void check_listeners(zt_config_ctx *c)
{
    const zt_config *cfg = zt_config_target(c);
    for (size_t j = 0; j < cfg->n_listeners; j++) {
        const zt_listener_cfg *b = &cfg->listeners[j];
        if (b->address == NULL)
            continue; /* already reported */
        for (size_t i = 0; i < j; i++)
            if (cfg->listeners[i].address != NULL &&
                addresses_overlap(&cfg->listeners[i].addr, &b->addr)) {
                zt_config_err_at(c, b->line, b->col,
                                 "listener %s overlaps listener %s (line %u): one address, "
                                 "one listener",
                                 b->address, cfg->listeners[i].address, cfg->listeners[i].line);
                break;
            }
        if (cfg->admin.address != NULL && addresses_overlap(&cfg->admin.addr, &b->addr))
            zt_config_err_at(c, cfg->admin.line, cfg->admin.col,
                             "admin.listen %s overlaps gateway listener %s (line %u): the admin "
                             "API needs an address of its own",
                             cfg->admin.address, b->address, b->line);
    }
}

/* The gateway's keys live directly in zt_config, so this section's target is the config. */
const zt_config_module zt_gateway_config_module = {"gateway", &gateway_section, check_listeners};
const zt_config_module zt_apps_config_module = {"apps", &app_section, check_apps};
