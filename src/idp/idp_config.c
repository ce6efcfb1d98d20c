/* The `idp:` section of the config file and the `oidc:` / `saml:` blocks of apps, read by the
 * engine in core/config.c through these tables, with the checks across apps (unique client
 * ids, a portal host to serve them on) and the defaults derived from other sections (issuer,
 * SAML entity id) once the whole file was read. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/config_schema.h"
#include "idp/idp.h"
#include "lib/net.h"
#include "store/store_oidc.h"

/* Orders of zt_oidc_client_auth, zt_id_token_alg and zt_saml_name_id in core/config.h. */
static const char *const client_auths[] = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt", "none", NULL};
static const char *const id_token_algs[] = {"RS256", "ES256", NULL};
static const char *const name_id_formats[] = {"email", "persistent", NULL};

#define ZT_IDP_URIS_MAX 32

/* A loopback host: the only place a plain-http redirect URI may point (RFC 8252 native apps,
 * and the tests). */
/* An absolute http(s) URL with a host, no fragment, nothing a browser would read differently
 * (controls, spaces, backslashes): lib/net's rule. Returns why not, or NULL. */
static const char *uri_problem(const char *s, bool allow_query)
{
    return zt_url_problem(s, 0, allow_query);
}

static void check_uris(zt_config_ctx *c, const zt_cfg_word *w, size_t n, bool allow_query)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = w[i].s != NULL ? uri_problem(w[i].s, allow_query) : NULL;
        if (why == NULL && w[i].s != NULL && strlen(w[i].s) > ZT_STORE_OIDC_URI_MAX)
            why = "is longer than 2047 bytes";
        if (why != NULL)
            zt_config_word_err(c, &w[i], "%s", why);
        for (size_t j = 0; j < i && why == NULL; j++)
            if (w[j].s != NULL && w[i].s != NULL && strcmp(w[i].s, w[j].s) == 0) {
                zt_config_word_err(c, &w[i], "is listed twice");
                break;
            }
    }
}

/* A client secret is a password: readable by ztgate's user only. */
static void check_secret_file(zt_config_ctx *c, const zt_config_walk *w, const char *file)
{
    struct stat st;
    zt_config_check_file(c, w, "client_secret_file", file, "");
    if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
        zt_config_err(c, zt_config_seen(w, "client_secret_file"),
                      "'client_secret_file' file '%s' is readable by group or others (mode %03o): "
                      "chmod 600 it",
                      file, (unsigned)(st.st_mode & 0777));
}

static void check_client_auth(zt_config_ctx *c, const zt_config_walk *w,
                              const zt_oidc_client_cfg *o)
{
    const yaml_node_t *at = zt_config_seen(w, "client_auth");
    bool secret =
        o->client_auth == ZT_OIDC_AUTH_SECRET_BASIC || o->client_auth == ZT_OIDC_AUTH_SECRET_POST;
    if (secret && o->client_secret_file == NULL)
        zt_config_err_at(c, o->line, o->col, "'client_auth: %s' needs 'client_secret_file'",
                         client_auths[o->client_auth]);
    else if (secret)
        check_secret_file(c, w, o->client_secret_file);
    else if (o->client_secret_file != NULL)
        zt_config_err(c, zt_config_seen(w, "client_secret_file"),
                      "'client_secret_file' is only for client_secret_basic and "
                      "client_secret_post");
    if (o->client_auth == ZT_OIDC_AUTH_PRIVATE_KEY_JWT && o->jwks_file == NULL)
        zt_config_err(c, at, "'client_auth: private_key_jwt' needs 'jwks_file'");
    else if (o->client_auth == ZT_OIDC_AUTH_PRIVATE_KEY_JWT)
        zt_config_check_file(c, w, "jwks_file", o->jwks_file, "");
    else if (o->jwks_file != NULL)
        zt_config_err(c, zt_config_seen(w, "jwks_file"),
                      "'jwks_file' is only for 'client_auth: private_key_jwt'");
}

static void check_oidc_app(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_oidc_client_cfg *o = (zt_oidc_client_cfg *)(void *)w->target;
    zt_config_mark(w, &o->line, &o->col);
    if (o->client_id != NULL && strlen(o->client_id) > ZT_STORE_OIDC_CLIENT_MAX)
        zt_config_err(c, zt_config_seen(w, "client_id"), "'client_id' is longer than 255 bytes");
    check_client_auth(c, w, o);
    check_uris(c, o->redirect_uris, o->n_redirect_uris, true);
    check_uris(c, o->post_logout_redirect_uris, o->n_post_logout_redirect_uris, true);
    const char *why =
        o->backchannel_logout_uri ? uri_problem(o->backchannel_logout_uri, true) : NULL;
    if (why != NULL)
        zt_config_err(c, zt_config_seen(w, "backchannel_logout_uri"), "'backchannel_logout_uri' %s",
                      why);
}

static const zt_config_key oidc_app_keys[] = {
    {"client_id", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_client_cfg, client_id)},
    {"client_auth", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_client_cfg, client_auth),
     .def = "client_secret_basic", .names = client_auths},
    {"client_secret_file", ZT_K_STR, ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_client_cfg, client_secret_file)},
    {"jwks_file", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_client_cfg, jwks_file)},
    {"redirect_uris", ZT_K_STRS, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     .off = offsetof(zt_oidc_client_cfg, redirect_uris),
     .aux = offsetof(zt_oidc_client_cfg, n_redirect_uris), .min = 1, .max = ZT_IDP_URIS_MAX},
    {"post_logout_redirect_uris", ZT_K_STRS, ZT_CFG_RELOAD,
     .off = offsetof(zt_oidc_client_cfg, post_logout_redirect_uris),
     .aux = offsetof(zt_oidc_client_cfg, n_post_logout_redirect_uris), .min = 0,
     .max = ZT_IDP_URIS_MAX},
    {"backchannel_logout_uri", ZT_K_STR, ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_client_cfg, backchannel_logout_uri)},
    {"id_token_alg", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_client_cfg, id_token_alg),
     .def = "RS256", .names = id_token_algs},
    {"require_pkce", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_client_cfg, require_pkce),
     .def = "false"},
};
_Static_assert(sizeof(oidc_app_keys) / sizeof(oidc_app_keys[0]) <= ZT_CONFIG_MAX_KEYS, "too long");
const zt_config_section zt_idp_oidc_app_section = {
    oidc_app_keys, sizeof(oidc_app_keys) / sizeof(oidc_app_keys[0]), check_oidc_app};

static const zt_config_key saml_attr_keys[] = {
    {"email", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_saml_attrs_cfg, email), .def = "email"},
    {"display_name", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_saml_attrs_cfg, display_name),
     .def = "displayName"},
    {"groups", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_saml_attrs_cfg, groups), .def = "groups"},
};
ZT_CONFIG_SECTION(saml_attr_section, saml_attr_keys, NULL);

static void check_saml_app(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_saml_sp_cfg *s = (zt_saml_sp_cfg *)(void *)w->target;
    zt_config_mark(w, &s->line, &s->col);
    zt_config_check_file(c, w, "metadata_file", s->metadata_file, "");
}

static const zt_config_key saml_app_keys[] = {
    {"metadata_file", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     ZT_FIELD(zt_saml_sp_cfg, metadata_file)},
    {"name_id_format", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_saml_sp_cfg, name_id_format),
     .def = "email", .names = name_id_formats},
    {"require_signed_requests", ZT_K_BOOL, ZT_CFG_RELOAD,
     ZT_FIELD(zt_saml_sp_cfg, require_signed_requests), .def = "false"},
    {"attributes", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_saml_sp_cfg, attributes),
     .sub = &saml_attr_section},
};
_Static_assert(sizeof(saml_app_keys) / sizeof(saml_app_keys[0]) <= ZT_CONFIG_MAX_KEYS, "too long");
const zt_config_section zt_idp_saml_app_section = {
    saml_app_keys, sizeof(saml_app_keys) / sizeof(saml_app_keys[0]), check_saml_app};

static void check_idp(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_idp_cfg *idp = (const zt_idp_cfg *)(void *)w->target;
    const char *why = idp->issuer ? uri_problem(idp->issuer, false) : NULL;
    size_t n = idp->issuer ? strlen(idp->issuer) : 0;
    if (why == NULL && n > 0 && idp->issuer[n - 1] == '/')
        why = "must not end with '/'";
    if (why == NULL && n > 0 && strpbrk(strstr(idp->issuer, "://") + 3, "/?") != NULL)
        why = "must be SCHEME://HOST[:PORT] without a path: the endpoints are at fixed paths";
    if (why != NULL)
        zt_config_err(c, zt_config_seen(w, "issuer"), "'idp.issuer' %s", why);
}

static const zt_config_key idp_keys[] = {
    {"issuer", ZT_K_STR, 0, ZT_FIELD(zt_idp_cfg, issuer)},
    {"keys_dir", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_idp_cfg, keys_dir), .def = "idp-keys"},
    {"access_token_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_idp_cfg, access_token_ttl_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "10m"},
    {"id_token_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_idp_cfg, id_token_ttl_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "10m"},
    {"refresh_token_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_idp_cfg, refresh_token_ttl_ms),
     .min = 0, .max = 90 * 24 * ZT_MS_H, .def = "8h"},
    {"saml_entity_id", ZT_K_STR, 0, ZT_FIELD(zt_idp_cfg, saml_entity_id)},
    {"saml_cert", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_idp_cfg, saml_cert),
     .def = "idp-saml.crt"},
    {"saml_key", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_idp_cfg, saml_key),
     .def = "idp-saml.key"},
};
ZT_CONFIG_SECTION(idp_section, idp_keys, check_idp);

/* The first app of kind oidc or saml, or NULL. */
static const zt_app_cfg *first_idp_app(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_OIDC || cfg->apps[i].kind == ZT_APP_SAML)
            return &cfg->apps[i];
    return NULL;
}

static void check_client_ids(zt_config_ctx *c, const zt_config *cfg)
{
    for (size_t j = 0; j < cfg->n_apps; j++) {
        const zt_oidc_client_cfg *b = &cfg->apps[j].oidc;
        if (cfg->apps[j].kind != ZT_APP_OIDC || b->client_id == NULL)
            continue;
        for (size_t i = 0; i < j; i++) {
            const zt_oidc_client_cfg *a = &cfg->apps[i].oidc;
            if (cfg->apps[i].kind == ZT_APP_OIDC && a->client_id != NULL &&
                strcmp(a->client_id, b->client_id) == 0) {
                zt_config_err_at(c, b->line, b->col,
                                 "client_id '%s' is already the client_id of app '%s' (line %u)",
                                 b->client_id, cfg->apps[i].name, cfg->apps[i].line);
                break;
            }
        }
    }
}

/* https://PORTAL_HOST[:PORT] from the first TLS listener, else http:// and the first listener. */
static void default_issuer(zt_config_ctx *c, zt_config *cfg)
{
    const zt_listener_cfg *l = NULL;
    for (size_t i = 0; i < cfg->n_listeners && l == NULL; i++)
        if (cfg->listeners[i].tls)
            l = &cfg->listeners[i];
    bool https = l != NULL;
    if (l == NULL && cfg->n_listeners > 0)
        l = &cfg->listeners[0];
    unsigned port = 0;
    if (l != NULL && l->addr.ss_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)(const void *)&l->addr)->sin_port);
    else if (l != NULL && l->addr.ss_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)(const void *)&l->addr)->sin6_port);
    bool default_port = port == 0 || port == (https ? 443u : 80u);
    if (default_port)
        cfg->idp.issuer =
            zt_config_printf(c, "%s://%s", https ? "https" : "http", cfg->auth.portal_host);
    else
        cfg->idp.issuer = zt_config_printf(c, "%s://%s:%u", https ? "https" : "http",
                                           cfg->auth.portal_host, port);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return path != NULL && (stat(path, &st) == 0 || errno != ENOENT);
}

/* The issuer's host (before any port) is the portal host, compared without case. */
static bool issuer_on_portal_host(const char *issuer, const char *portal_host)
{
    const char *sep = strstr(issuer, "://");
    const char *host = sep != NULL ? sep + 3 : issuer;
    size_t hn = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/?");
    return strlen(portal_host) == hn && strncasecmp(host, portal_host, hn) == 0;
}

/* The identity provider serves on the portal host: without one there is no issuer. */
static void check_idp_all(zt_config_ctx *c)
{
    zt_config *cfg = zt_config_target(c);
    const zt_app_cfg *app = first_idp_app(cfg);
    check_client_ids(c, cfg);
    if (app == NULL)
        return;
    if (cfg->auth.portal_host == NULL) {
        zt_config_err_at(c, app->line, app->col,
                         "app '%s' is of kind %s: ztgate signs its users in on the portal host, "
                         "so 'auth.portal_host' must be set",
                         app->name ? app->name : "?", app->kind == ZT_APP_OIDC ? "oidc" : "saml");
        return;
    }
    if (cfg->idp.issuer == NULL)
        default_issuer(c, cfg);
    else if (!issuer_on_portal_host(cfg->idp.issuer, cfg->auth.portal_host))
        zt_config_err_at(c, 0, 0,
                         "'idp.issuer' (%s) must name the portal host '%s': every endpoint is "
                         "served there",
                         cfg->idp.issuer, cfg->auth.portal_host);
    if (cfg->idp.saml_entity_id == NULL && cfg->idp.issuer != NULL)
        cfg->idp.saml_entity_id = zt_config_printf(c, "%s/.ztgate/saml/metadata", cfg->idp.issuer);
    if (file_exists(cfg->idp.saml_cert) != file_exists(cfg->idp.saml_key))
        zt_config_err_at(c, 0, 0,
                         "'idp.saml_cert' (%s) and 'idp.saml_key' (%s): one exists and the other "
                         "does not; give both, or neither and ztgate creates them",
                         cfg->idp.saml_cert, cfg->idp.saml_key);
}

const zt_config_module zt_idp_config_module = {"idp", &idp_section, check_idp_all};
