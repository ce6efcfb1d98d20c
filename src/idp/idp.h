/* ztgate as identity provider: the OpenID Connect provider (oidc_*.c) and the SAML 2.0 identity
 * provider (saml_*.c) on the portal host, for apps of kind oidc and saml (docs/OIDC.md,
 * docs/SAML.md). Their relying parties sign in here, under the same Conditional Access, risk
 * and device checks as the proxied apps. */
#ifndef ZT_IDP_IDP_H
#define ZT_IDP_IDP_H

#include <stdint.h>

#include "core/config.h"
#include "core/config_schema.h"

/* The `idp:` section of the config file and the checks across the oidc and saml apps. */
extern const zt_config_module zt_idp_config_module;

typedef struct zt_idp zt_idp;
typedef struct zt_store zt_store;
typedef struct zt_local_req zt_local_req;

/* The OpenID Connect provider, when cfg has an app of kind oidc (else *out stays NULL and the
 * gateway registers none of its handlers: adding the first one needs a restart). Opens
 * idp.keys_dir (created) and starts the back-channel logout sender. 0 or a negative errno
 * with err set. */
int zt_idp_open(const zt_config *cfg, zt_idp **out, char *err, size_t errlen);
/* Accepts NULL. No request may still run. */
void zt_idp_free(zt_idp *idp);

/* Handlers (http/handler.h, ctx = the zt_idp): every path under /.ztgate/oidc, and
 * /.well-known/openid-configuration (registered portal_host_only). */
void zt_idp_handle(void *ctx, zt_local_req *r);
void zt_idp_discovery_handle(void *ctx, zt_local_req *r);

/* Main-thread timer work. Grants whose ztgate session ended for any reason (logout, revoke,
 * disabled user, expiry) are ended: their refresh tokens die and each client with a
 * backchannel_logout_uri gets a logout token (sent off the loop). audit: the record sink
 * (nullable). Returns how many grants ended. */
typedef int (*zt_idp_audit_fn)(void *ctx, const char *json, size_t len);
uint64_t zt_idp_sessions_check(zt_idp *idp, const zt_config *cfg, zt_store *st, int64_t now,
                               zt_idp_audit_fn audit, void *audit_ctx);
/* Deletes expired codes, tokens, jtis and old grants. */
void zt_idp_sweep(zt_idp *idp, zt_store *st, int64_t now);

/* ---- SAML 2.0 identity provider (saml_*.c, docs/SAML.md) ---- */
/* At start, when an app of kind saml exists: Lasso initialised, the signing key and certificate
 * created when both are missing, the first LassoServer built. 0, or -1 (logged: do not start). */
int zt_idp_saml_start(const zt_config *cfg);
void zt_idp_saml_stop(void);
/* The handler of /.ztgate/saml (http/handler.h): metadata, sso, init, slo, post.js. */
void zt_idp_saml_handle(void *ctx, zt_local_req *r);
/* Main-thread timer work, next to zt_idp_sessions_check: the SAML sessions whose ztgate session
 * ended in any way (sign-out, revocation, disabled user, risk playbook, expiry) are taken from
 * the store and every SP of each with a SOAP SingleLogoutService is sent a LogoutRequest (off
 * the loop: the sender threads; one audit record per SP). Returns how many sessions ended. */
uint64_t zt_idp_saml_sessions_check(const zt_config *cfg, zt_store *st, int64_t now,
                                    zt_idp_audit_fn audit, void *audit_ctx);

#endif
