/* ztgate as identity provider: the OpenID Connect provider (oidc_*.c) and the SAML 2.0 identity
 * provider (saml_*.c) on the portal host, for apps of kind oidc and saml (docs/OIDC.md,
 * docs/SAML.md). Their relying parties sign in here, under the same Conditional Access, risk
 * and device checks as the proxied apps. */
#ifndef ZT_IDP_IDP_H
#define ZT_IDP_IDP_H

#include "core/config.h"
#include "core/config_schema.h"

/* The `idp:` section of the config file and the checks across the oidc and saml apps. */
extern const zt_config_module zt_idp_config_module;

/* ---- SAML 2.0 identity provider (saml_*.c, docs/SAML.md) ---- */
typedef struct zt_local_req zt_local_req;
/* At start, when an app of kind saml exists: Lasso initialised, the signing key and certificate
 * created when both are missing, the first LassoServer built. 0, or -1 (logged: do not start). */
int zt_idp_saml_start(const zt_config *cfg);
void zt_idp_saml_stop(void);
/* The handler of /.ztgate/saml (http/handler.h): metadata, sso, init, slo, post.js. */
void zt_idp_saml_handle(void *ctx, zt_local_req *r);

#endif
