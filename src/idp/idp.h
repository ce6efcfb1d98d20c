/* ztgate as identity provider: the OpenID Connect provider (oidc_*.c) and the SAML 2.0 identity
 * provider (saml_*.c) on the portal host, for apps of kind oidc and saml (docs/OIDC.md,
 * docs/SAML.md). Their relying parties sign in here, under the same Conditional Access, risk
 * and device checks as the proxied apps. */
#ifndef ZT_IDP_IDP_H
#define ZT_IDP_IDP_H

#include "core/config_schema.h"

/* The `idp:` section of the config file and the checks across the oidc and saml apps. */
extern const zt_config_module zt_idp_config_module;

#endif
