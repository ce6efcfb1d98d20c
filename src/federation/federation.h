/* Upstream OpenID Connect sign-in ("Sign in with Microsoft / Google / your IdP"): ztgate as a
 * relying party of the providers in `oidc_providers:`. The flow is the authorization code flow
 * with PKCE (S256), state and nonce; the ID token is checked with the provider's JWKS
 * (identity/jws.h: RS256, PS256, ES256 only, never none or HMAC) and its claims here. A user
 * it proves goes through the same steps as a password sign-in: risk assessment, ztgate's own
 * second factor unless the provider's MFA is trusted, zt_signin_open_session, and afterwards the
 * proxy's device check and Conditional Access. Users are matched by (source "oidc:NAME",
 * iss + sub), then by e-mail, and created or updated just in time per the provider's `jit`.
 *
 * Paths (a public contract, on the portal host when one is configured):
 *   GET  /.ztgate/upstream/start?provider=NAME[&rd=URL][&login_hint=EMAIL]
 *   GET  /.ztgate/upstream/callback?code=...&state=...       (the redirect URI to register)
 *   POST /.ztgate/upstream/backchannel/NAME  logout_token=... (OIDC Back-Channel Logout 1.0)
 *   GET  /.ztgate/upstream/jwks/NAME     the public keys of private_key_jwt (its jwks_uri)
 * docs/SIGNIN-OIDC.md is the administrator's guide. */
#ifndef ZT_FEDERATION_FEDERATION_H
#define ZT_FEDERATION_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/config_schema.h"

#define ZT_FED_PREFIX "/.ztgate/upstream"
#define ZT_FED_START "/.ztgate/upstream/start"
#define ZT_FED_CALLBACK "/.ztgate/upstream/callback"
#define ZT_FED_BACKCHANNEL "/.ztgate/upstream/backchannel/"
#define ZT_FED_JWKS "/.ztgate/upstream/jwks/"

#define ZT_FED_NAME_MAX 32
#define ZT_FED_GROUP_MAX 64   /* a ztgate group name a claim value maps to */
#define ZT_FED_URL_MAX 2047   /* an endpoint from the discovery document */
#define ZT_FED_SUB_MAX 255    /* OIDC Core: sub is at most 255 ASCII characters */
#define ZT_FED_CLAIM_MAX 255  /* email, name, sid, hd and each group value */
#define ZT_FED_GROUPS_MAX 256 /* group values read from one token */

extern const zt_config_module zt_oidc_providers_config_module;

/* Why an absolute URL (issuer, endpoint) is not one ztgate will call: https://, or http:// on a
 * loopback host (tests); no fragment, user info, spaces or controls. NULL when fine. */
const char *zt_fed_url_problem(const char *url);

/* ---- claims.c: pure readers of what a provider sends (fuzzed) ---- */

typedef enum zt_fed_status {
    ZT_FED_OK = 0,
    ZT_FED_MALFORMED,     /* not a JSON object, a member of the wrong type, too long */
    ZT_FED_WRONG_ISS,     /* iss is not the configured issuer */
    ZT_FED_WRONG_AUD,     /* aud does not hold our client_id, or azp is another client */
    ZT_FED_EXPIRED,       /* exp passed */
    ZT_FED_NOT_YET_VALID, /* iat or nbf in the future */
    ZT_FED_BAD_NONCE,     /* nonce missing or not the one sent with this sign-in */
    ZT_FED_BAD_CLAIMS,    /* sub, email missing or unusable; email_verified false; logout events */
    ZT_FED_WRONG_HD,      /* hosted_domain configured and hd differs */
} zt_fed_status;

/* "ok", "malformed", "wrong_iss", ... (stable: audit records and tests). */
const char *zt_fed_status_name(zt_fed_status st);

/* The endpoints of a discovery document (OIDC Discovery 1.0 section 3). */
typedef struct zt_fed_metadata {
    char issuer[ZT_FED_URL_MAX + 1];
    char authorization_endpoint[ZT_FED_URL_MAX + 1];
    char token_endpoint[ZT_FED_URL_MAX + 1];
    char jwks_uri[ZT_FED_URL_MAX + 1];
    char end_session_endpoint[ZT_FED_URL_MAX + 1]; /* "" when the provider has none */
} zt_fed_metadata;

/* Reads json[0..n): issuer must equal want_issuer exactly (OIDC Discovery 4.3), the three
 * required endpoints must pass zt_fed_url_problem. */
zt_fed_status zt_fed_discovery_parse(const char *json, size_t n, const char *want_issuer,
                                     zt_fed_metadata *out, const char **why);

/* What an ID token must say, and which claims hold what. */
typedef struct zt_fed_expect {
    const char *issuer;
    const char *client_id;
    const char *nonce; /* the one sent with the authorization request; NULL: logout token */
    int64_t now;
    int64_t leeway_s;
    const char *email_claim, *name_claim, *groups_claim; /* NULL: "email", "name", "groups" */
    const char *hosted_domain;                           /* NULL: hd not checked */
} zt_fed_expect;

#define ZT_FED_AMR_PWD 0x01u
#define ZT_FED_AMR_MFA 0x02u /* "mfa" */
#define ZT_FED_AMR_OTP 0x04u /* "otp" */
#define ZT_FED_AMR_HWK 0x08u /* "hwk", "fido" */

typedef struct zt_fed_claims {
    char sub[ZT_FED_SUB_MAX + 1];
    char email[ZT_FED_CLAIM_MAX + 1]; /* lowercased */
    char name[ZT_FED_CLAIM_MAX + 1];  /* "" when absent */
    char sid[ZT_FED_CLAIM_MAX + 1];   /* "" when absent */
    char jti[ZT_FED_CLAIM_MAX + 1];   /* logout tokens */
    unsigned amr;                     /* ZT_FED_AMR_* bits */
    bool groups_overage; /* Entra: too many groups, sent by reference (_claim_names) instead */
    size_t n_groups;
    char groups[ZT_FED_GROUPS_MAX][ZT_FED_CLAIM_MAX + 1];
    int64_t exp, iat;
} zt_fed_claims;

/* Checks the claims of a verified ID token payload[0..n) (OIDC Core 3.1.3.7): iss, aud (our
 * client_id; azp when present or when aud names several), exp, iat, nbf, nonce (constant-time),
 * sub, the e-mail claim (email_verified false refused), hd. Fills out (heap-sized: allocate it). */
zt_fed_status zt_fed_id_claims(const char *payload, size_t n, const zt_fed_expect *x,
                               zt_fed_claims *out, const char **why);
/* A verified logout token (Back-Channel Logout 1.0 2.4/2.6): iss, aud, iat, jti, the
 * back-channel logout event, sub or sid, and no nonce. Fills sub, sid, jti. */
zt_fed_status zt_fed_logout_claims(const char *payload, size_t n, const zt_fed_expect *x,
                                   zt_fed_claims *out, const char **why);

/* ---- upstream.c, signin.c: the process-wide runtime and the HTTP side ---- */

typedef struct zt_federation zt_federation;

zt_federation *zt_federation_new(void);
void zt_federation_free(zt_federation *fed);

/* The handler of every path under ZT_FED_PREFIX (http/handler.h; ctx: the zt_federation). */
struct zt_local_req;
void zt_federation_handle(void *ctx, struct zt_local_req *r);

/* zt_upstream_logout_fn (http/services.h) for sign-out: ctx is the zt_federation. */
int zt_federation_logout_url(void *ctx, const zt_config *cfg, const char *session_hash,
                             const char *user_id, const char *return_url, char *out, size_t cap);

#endif
