/* The SAML IdP's front door: /.ztgate/saml/... on the portal host, start and stop. */
#include <string.h>

#include <lasso/lasso.h>

#include "core/log.h"
#include "http/handler.h"
#include "idp/idp.h"
#include "idp/saml.h"
#include "portal/portal.h"

static bool has_saml_apps(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML)
            return true;
    return false;
}

/* Lasso is initialised at start whether or not an app is of kind saml: a reload may add the
 * first one (the server and, when missing, the key are then made at first use). */
int zt_idp_saml_start(const zt_config *cfg)
{
    static bool lasso_ready;
    if (!lasso_ready && lasso_init() != 0) {
        zt_error("saml: Lasso could not be initialised");
        return -1;
    }
    lasso_ready = true;
    if (!has_saml_apps(cfg))
        return 0;
    char err[512] = "";
    if (zt_saml_keys_ensure(cfg->idp.saml_cert, cfg->idp.saml_key, cfg->auth.portal_host, err,
                            sizeof(err)) < 0) {
        zt_error("not starting: saml: %s", err);
        return -1;
    }
    if (zt_saml_server_lock(cfg) == NULL)
        return -1;
    zt_saml_server_unlock();
    zt_info("saml: metadata at %s%s", cfg->idp.issuer, ZT_SAML_METADATA);
    return 0;
}

void zt_idp_saml_stop(void)
{
    zt_saml_bcl_stop();
    zt_saml_server_free();
}

void zt_saml_metadata_get(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    /* the server first: after a reload it may create the key and certificate shown here */
    bool ready = zt_saml_server_lock(r->cfg) != NULL;
    if (ready)
        zt_saml_server_unlock();
    zt_buf_reset(&r->resp_body);
    if (!ready || zt_saml_metadata_of(r->cfg, &r->resp_body, false) != 0) {
        zt_portal_unavailable(r, "saml: metadata unavailable");
        return;
    }
    r->content_type = "application/samlmetadata+xml";
    r->no_security_headers = true;
    zt_local_respond(r);
}

static bool on_path(const zt_local_req *r, const char *path)
{
    return strcmp(r->path, path) == 0;
}

void zt_idp_saml_handle(void *ctx, zt_local_req *r)
{
    (void)ctx;
    bool portal =
        r->cfg->auth.portal_host != NULL && strcmp(r->host, r->cfg->auth.portal_host) == 0;
    if (!portal || !has_saml_apps(r->cfg)) {
        zt_portal_fail(r, 404, PM_TITLE_NOT_FOUND, PM_BODY_NOT_FOUND, "saml: not here");
        return;
    }
    if (on_path(r, ZT_SAML_METADATA))
        zt_saml_metadata_get(r);
    else if (on_path(r, ZT_SAML_SSO))
        zt_saml_sso(r);
    else if (on_path(r, ZT_SAML_INIT))
        zt_saml_init(r);
    else if (on_path(r, ZT_SAML_SLO))
        zt_saml_slo(r);
    else if (on_path(r, ZT_SAML_POST_JS))
        zt_saml_post_js(r);
    else
        zt_portal_fail(r, 404, PM_TITLE_NOT_FOUND, PM_BODY_NOT_FOUND, "saml: no such endpoint");
}
