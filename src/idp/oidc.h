/* Private to src/idp: the OpenID Connect provider's parts. The pure pieces (authorize parameter
 * checks, PKCE, redirect URI matching, client authentication headers, amr values) take no
 * request and are unit-tested and fuzzed; the endpoints drive a zt_local_req. Nothing here
 * logs or echoes a code, a token, a client secret or a session id. */
#ifndef ZT_IDP_OIDC_H
#define ZT_IDP_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "core/config.h"
#include "http/handler.h"
#include "lib/buf.h"
#include "portal/portal.h"
#include "store/store.h"

/* ---- paths (a public contract: docs/OIDC.md) ---- */
#define ZT_OIDC_PREFIX "/.ztgate/oidc"
#define ZT_OIDC_AUTHORIZE "/.ztgate/oidc/authorize"
#define ZT_OIDC_TOKEN "/.ztgate/oidc/token"
#define ZT_OIDC_USERINFO "/.ztgate/oidc/userinfo"
#define ZT_OIDC_JWKS "/.ztgate/oidc/jwks"
#define ZT_OIDC_REVOKE "/.ztgate/oidc/revoke"
#define ZT_OIDC_INTROSPECT "/.ztgate/oidc/introspect"
#define ZT_OIDC_LOGOUT "/.ztgate/oidc/logout"
#define ZT_OIDC_DISCOVERY "/.well-known/openid-configuration"

/* Authentication context classes ztgate publishes (acr_values_supported). */
#define ZT_OIDC_ACR_PWD "urn:ztgate:acr:pwd"
#define ZT_OIDC_ACR_MFA "urn:ztgate:acr:mfa"
#define ZT_OIDC_ACR_PHR "urn:ztgate:acr:phishing-resistant"

#define ZT_OIDC_CODE_TTL_S 60
#define ZT_OIDC_TOKEN_CHARS 43 /* base64url of 32 CSPRNG bytes: codes and tokens */
#define ZT_OIDC_SECRET_MAX 256 /* a client secret, as configured and as sent */
#define ZT_OIDC_AMR_JSON_MAX 64
#define ZT_OIDC_AUTHZ_MAX_PARAMS 32 /* parameters of one authorize request (portal forms: 16) */
/* Internal parameter of our own re-authentication round trip: the sign-in must be newer. Its
 * value "T.MAC" is bound to the request and the user, and good for ZT_OIDC_REAUTH_TTL_S. */
#define ZT_OIDC_REAUTH_PARAM "zt_reauth"
#define ZT_OIDC_REAUTH_TTL_S 600
#define ZT_OIDC_REAUTH_KEY_LEN 32
#define ZT_OIDC_REAUTH_MAX 64 /* "T." + 43 base64url characters + NUL, with room */

/* ---- oidc_params.c: pure ---- */

/* Where an authorize request stands after the checks, and what the RP gets. */
typedef enum zt_oidc_authz_err {
    ZT_OIDC_AUTHZ_OK = 0,
    /* Not redirectable: an error page (the redirect URI is not known to be the client's). */
    ZT_OIDC_AUTHZ_BAD_FORM,         /* unparseable, duplicated or over-long parameters */
    ZT_OIDC_AUTHZ_NO_CLIENT,        /* client_id missing or unknown */
    ZT_OIDC_AUTHZ_BAD_REDIRECT_URI, /* missing or not exactly one of the client's */
    /* Redirectable to the validated redirect URI with error= (and state, iss). */
    ZT_OIDC_AUTHZ_UNSUPPORTED_RESPONSE_TYPE,
    ZT_OIDC_AUTHZ_INVALID_SCOPE,
    ZT_OIDC_AUTHZ_INVALID_REQUEST,
    ZT_OIDC_AUTHZ_REQUEST_NOT_SUPPORTED,
    ZT_OIDC_AUTHZ_REQUEST_URI_NOT_SUPPORTED,
} zt_oidc_authz_err;

enum { ZT_OIDC_PROMPT_NONE = 1u, ZT_OIDC_PROMPT_LOGIN = 2u };
enum { ZT_OIDC_WANT_MFA = 1u, ZT_OIDC_WANT_PHR = 2u };

/* An authorize request, checked. Strings point into the form it was parsed from. */
typedef struct zt_oidc_authz {
    const zt_app_cfg *app; /* the client's app (kind oidc) */
    const char *client_id, *redirect_uri, *scope, *state, *nonce;
    const char *code_challenge;    /* S256 only; NULL = none sent */
    unsigned prompt;               /* ZT_OIDC_PROMPT_* bits */
    int64_t max_age;               /* -1 = not sent */
    unsigned acr_wanted;           /* ZT_OIDC_WANT_* from acr_values (the strongest asked) */
    const char *reauth_marker;     /* ZT_OIDC_REAUTH_PARAM as sent, unchecked; NULL = none */
    const char *error_description; /* static, for the RP (and the log) */
} zt_oidc_authz;

/* Parse an authorize request (a query string or a form body) and check it against the apps of
 * cfg. form is filled (dispose it) and az points into it. Pure: fuzzed. */
zt_oidc_authz_err zt_oidc_authz_parse(const zt_config *cfg, const char *params, size_t len,
                                      zt_form *form, zt_oidc_authz *az);
/* The OAuth error code of a redirectable error ("invalid_request", ...). */
const char *zt_oidc_authz_err_code(zt_oidc_authz_err e);

/* The oidc app with this client_id, or NULL. */
const zt_app_cfg *zt_oidc_client(const zt_config *cfg, const char *client_id, size_t n);
/* uri[0..n) is byte for byte one of the client's registered redirect URIs. */
bool zt_oidc_redirect_uri_ok(const zt_oidc_client_cfg *c, const char *uri, size_t n);
/* ... one of its post_logout_redirect_uris. */
bool zt_oidc_post_logout_uri_ok(const zt_oidc_client_cfg *c, const char *uri, size_t n);
/* A PKCE S256 challenge as sent: 43 base64url characters. */
bool zt_oidc_pkce_challenge_ok(const char *s, size_t n);
/* verifier (43..128 unreserved characters) hashes to challenge (constant-time compare). */
bool zt_oidc_pkce_verify(const char *challenge, const char *verifier, size_t n);
/* scope (space-separated) holds the word w. */
bool zt_oidc_scope_has(const char *scope, const char *w);

/* An Authorization: Basic header: client_id and secret, each form-urlencoded before base64
 * (RFC 6749 2.3.1), decoded into id (cap ZT_STORE_OIDC_CLIENT_MAX+1) and secret (cap
 * ZT_OIDC_SECRET_MAX+1). false when it is not well-formed Basic. */
bool zt_oidc_basic_parse(const char *value, size_t n, char *id, size_t id_cap, char *secret,
                         size_t secret_cap);
/* The id token's amr JSON array for ZT_AMR_* bits: ["pwd","otp","mfa"]. */
void zt_oidc_amr_json(unsigned amr, char out[ZT_OIDC_AMR_JSON_MAX]);
/* The acr a session meets: phishing-resistant (a passkey with MFA), mfa, else pwd. */
const char *zt_oidc_acr_for(unsigned amr);
/* The session's acr satisfies what acr_values asked (ZT_OIDC_WANT_* bits). */
bool zt_oidc_acr_meets(unsigned amr, unsigned wanted);

/* The re-authentication marker for this request and user, asked at time t: "T.MAC" with
 * MAC = HMAC-SHA-256(key, T|user_id|client_id|redirect_uri|state|nonce). A hand-made or
 * replayed-elsewhere marker cannot skip prompt=login, max_age or the acr step-up. */
void zt_oidc_reauth_marker(const unsigned char key[ZT_OIDC_REAUTH_KEY_LEN], int64_t t,
                           const char *user_id, const zt_oidc_authz *az,
                           char out[ZT_OIDC_REAUTH_MAX]);
/* T of az's marker when it is this gateway's for this request and user and at most
 * ZT_OIDC_REAUTH_TTL_S old; 0 otherwise (no marker, forged, other request, expired). */
int64_t zt_oidc_reauth_check(const unsigned char key[ZT_OIDC_REAUTH_KEY_LEN], const char *user_id,
                             const zt_oidc_authz *az, int64_t now);

/* ---- oidc.c: the provider ---- */

typedef struct zt_idp zt_idp;
struct zt_keys;
struct zt_idp_bcl;
struct zt_oidc_secrets;

struct zt_idp {
    struct zt_keys *keys;            /* ID token and logout token keys (idp.keys_dir) */
    struct zt_idp_bcl *bcl;          /* back-channel logout sender */
    struct zt_oidc_secrets *secrets; /* hashes of client secret files (oidc_client.c), lazy */
};

/* Wipe and free the client secret cache (NULL is fine). */
void zt_oidc_secrets_free(struct zt_oidc_secrets *s);

/* issuer of this request's config generation. */
const char *zt_oidc_issuer(const zt_local_req *r);
/* Sign a JSON claims set as a compact JWS for alg (a zt_id_token_alg) with typ. 0 or -errno. */
int zt_oidc_sign(const zt_idp *idp, unsigned alg, const char *typ, const char *json, size_t n,
                 zt_buf *out);
/* A fresh code or token (ZT_OIDC_TOKEN_CHARS + NUL) and its SHA-256. */
void zt_oidc_new_token(char out[ZT_OIDC_TOKEN_CHARS + 1],
                       unsigned char hash[ZT_STORE_OIDC_HASH_LEN]);
void zt_oidc_hash(const char *s, size_t n, unsigned char hash[ZT_STORE_OIDC_HASH_LEN]);
/* The sid of a ztgate session for relying parties: a hash of its id hash, never the id. */
void zt_oidc_sid(const char *session_hash, char out[ZT_STORE_OIDC_SID_MAX + 1]);
/* JSON answer (sets no-store, content type), then respond. */
void zt_oidc_json(zt_local_req *r, int status, const char *json);
/* {"error":code,"error_description":desc} (desc nullable). */
void zt_oidc_json_error(zt_local_req *r, int status, const char *code, const char *desc);
/* An OCSF Authentication record of an OIDC event. false: fail closed (503). */
typedef struct zt_oidc_event {
    const char *event; /* "authorize", "code", "token", "refresh", "revoke", "logout", ... */
    bool success;
    const char *app, *client_id, *user_id, *email;
    const char *decision;    /* allow | challenge | block (authorize), NULL otherwise */
    const char *policy;      /* the deciding policy, nullable */
    const char *policies;    /* applicable ones, "a,b (report-only)", nullable */
    const char *report_only; /* what report-only policies would have done, nullable */
    const char *message, *reason;
} zt_oidc_event;
bool zt_oidc_audit(zt_local_req *r, const zt_oidc_event *e);

/* ---- oidc_access.c: Conditional Access for a client's app ---- */

struct zt_access_request;

/* The outcome of Conditional Access for one user at one client. */
typedef struct zt_oidc_decision {
    zt_outcome outcome;
    const char *policy;      /* the deciding policy, NULL when none */
    bool reauth;             /* sign-in frequency: sign in again */
    zt_control control;      /* challenge: the control to satisfy */
    const char *report_only; /* what report-only policies would have done, NULL = allow */
    char policies[512];      /* applicable policies, "a,b (report-only)" */
    zt_access_facts facts;   /* what the pages say about the device */
} zt_oidc_decision;

/* Decide rq (session side and app filled by the caller; the user's groups are read here, as
 * the proxy reads them on a cache miss) with the request's policy set. -1: the store failed. */
int zt_oidc_decide(zt_local_req *r, struct zt_access_request *rq, zt_oidc_decision *d);

/* ---- the endpoints ---- */
void zt_oidc_discovery(zt_idp *idp, zt_local_req *r);
void zt_oidc_jwks(zt_idp *idp, zt_local_req *r);
void zt_oidc_authorize(zt_idp *idp, zt_local_req *r);
void zt_oidc_token(zt_idp *idp, zt_local_req *r);
void zt_oidc_userinfo(zt_idp *idp, zt_local_req *r);
void zt_oidc_revoke(zt_idp *idp, zt_local_req *r);
void zt_oidc_introspect(zt_idp *idp, zt_local_req *r);
void zt_oidc_logout(zt_idp *idp, zt_local_req *r);

/* ---- oidc_client.c: client authentication (token, revoke, introspect) ---- */

/* Authenticate the calling client from the request (form already parsed). On success the
 * client's app; on failure NULL with the answer sent (400/401 invalid_client). */
const zt_app_cfg *zt_oidc_authenticate_client(zt_idp *idp, zt_local_req *r, const zt_form *form);

/* ---- oidc_logout.c: back-channel logout ---- */

struct zt_idp_bcl *zt_oidc_bcl_new(char *err, size_t errlen);
void zt_oidc_bcl_free(struct zt_idp_bcl *b);

#endif
