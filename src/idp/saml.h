/* Private to src/idp: the SAML 2.0 identity provider's pieces (saml_*.c), over Lasso.
 *
 * Threading: Lasso (GObject, libxml2, xmlsec) objects are not thread-safe, and xmlsec keeps
 * process-wide state, so every Lasso call in ztgate runs under ONE process-wide lock
 * (saml_server.c), with one LassoServer shared by all workers. A SAML sign-in is rare next to
 * proxied requests (one per user per SP per session) and its Lasso work is a few milliseconds
 * of signing, so one lock costs nothing measurable and keeps the rules simple; a LassoServer per
 * worker would still share xmlsec's global state.
 *
 * Reload: the LassoServer is rebuilt whenever what it was built from changes (entity id, key
 * and certificate files, each saml app's name, settings and metadata file identity: path,
 * size, mtime, inode), so a reload that changes the SPs is seen by the next request, and the
 * server never points into a config generation (it holds copies of every buffer). */
#ifndef ZT_IDP_SAML_H
#define ZT_IDP_SAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "core/config.h"
#include "lib/buf.h"

#define ZT_SAML_PATH "/.ztgate/saml"
#define ZT_SAML_METADATA "/.ztgate/saml/metadata"
#define ZT_SAML_SSO "/.ztgate/saml/sso"
#define ZT_SAML_SLO "/.ztgate/saml/slo"
#define ZT_SAML_INIT "/.ztgate/saml/init"
#define ZT_SAML_POST_JS "/.ztgate/saml/post.js"

/* Limits on what a peer sends. */
#define ZT_SAML_MSG_MAX (48 * 1024) /* a SAMLRequest parameter, encoded */
#define ZT_SAML_RELAY_MAX 512       /* RelayState (the profile says 80; SPs send more) */
#define ZT_SAML_PERSISTENT_LEN 43   /* base64url of HMAC-SHA-256 */
#define ZT_SAML_SKEW_S 60           /* clock skew allowed: an assertion's NotBefore is now-this */
#define ZT_SAML_ASSERTION_TTL_S 300
#define ZT_SAML_MSG_WINDOW_S                                                                       \
    300 /* a request's IssueInstant must be this close to now */ /* an assertion's NotOnOrAfter is \
                                                                    now+this */
#define ZT_SAML_RESUME_TTL_S 600 /* a kept HTTP-POST AuthnRequest waits this long */

/* NameID and AuthnContext URIs. */
#define ZT_SAML_FMT_EMAIL "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define ZT_SAML_FMT_PERSISTENT "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define ZT_SAML_AC_PASSWORD "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#define ZT_SAML_AC_MFA "http://schemas.microsoft.com/claims/multipleauthn"

/* ---- saml_keys.c ---- */

/* Make sure the IdP's RSA-2048 key (mode 0600) and self-signed certificate (10 years,
 * CN = cn) exist: when both files are missing they are created; when both exist they are read
 * and checked (an RSA key that matches the certificate). 0, or -1 with err filled. */
int zt_saml_keys_ensure(const char *cert_path, const char *key_path, const char *cn, char *err,
                        size_t cap);

/* ---- saml_meta.c (pure) ---- */

typedef struct zt_saml_meta_in {
    const char *entity_id;
    const char *base_url; /* "https://portal[:port]": endpoints are base_url + /.ztgate/saml/... */
    const char *cert_pem; /* the signing certificate (PEM) */
    bool want_signed;     /* WantAuthnRequestsSigned */
} zt_saml_meta_in;

/* The IdP's metadata (md:EntityDescriptor) into out. 0 or negative errno. */
int zt_saml_metadata(zt_buf *out, const zt_saml_meta_in *in);
/* The base64 body of the first certificate in a PEM text into out (no line breaks). */
int zt_saml_pem_body(zt_buf *out, const char *pem);

/* ---- saml_nameid.c (pure) ---- */

/* The persistent NameID of user_id at one SP: base64url(HMAC-SHA-256(key, user_id NUL
 * sp_entity_id)), opaque, stable, different per SP, never the user id. */
void zt_saml_persistent_id(const unsigned char key[32], const char *user_id,
                           const char *sp_entity_id, char out[ZT_SAML_PERSISTENT_LEN + 1]);
/* AuthnContextClassRef for a session's ZT_AMR_* methods: multipleauthn with MFA (what Entra
 * reads), else PasswordProtectedTransport. */
const char *zt_saml_authn_class(unsigned amr);
/* True when s (n bytes) is a RelayState we pass on: at most ZT_SAML_RELAY_MAX printable
 * ASCII bytes. */
bool zt_saml_relay_ok(const char *s, size_t n);

/* ---- saml_server.c: the one LassoServer, under the lock ---- */

struct _LassoServer;
/* Take the lock and return the server for cfg (built or rebuilt as needed). NULL: it could not
 * be built (logged) and the lock is NOT held. */
struct _LassoServer *zt_saml_server_lock(const zt_config *cfg);
void zt_saml_server_unlock(void);
/* Take the lock and return the server as it is (no rebuild: for a thread with no config), or
 * NULL (lock not held) when there is none. */
struct _LassoServer *zt_saml_server_lock_current(void);
/* At stop: the server and its copies are freed. */
void zt_saml_server_free(void);
/* Under the lock: the app (kind saml) whose SP metadata has entity_id, or NULL. */
const zt_app_cfg *zt_saml_app_of(const zt_config *cfg, const char *entity_id);
/* Under the lock: the SP entity id of the saml app named app_name, or NULL. */
const char *zt_saml_entity_of(const char *app_name);
/* Whether an SP's metadata says AuthnRequestsSigned="true" (under the lock). */
bool zt_saml_sp_wants_signed(const char *entity_id);
/* The IdP metadata document of cfg (under no lock: built from files); for_lasso: the server's
 * own copy, without WantAuthnRequestsSigned (ztgate checks signatures per SP). 0 or -1. */
int zt_saml_metadata_of(const zt_config *cfg, zt_buf *out, bool for_lasso);

/* ---- saml_bcl.c: back-channel (SOAP) logout ---- */

/* At stop: the sender threads end; what is still queued is dropped. */
void zt_saml_bcl_stop(void);
#define ZT_SAML_BCL_NOT_HTTPS 1 /* not a Lasso error: the SP's SOAP endpoint is not https */
/* Under the lock: the signed SOAP LogoutRequest to sp for the session session_dump (Lasso's):
 * *url (the SP's SOAP SingleLogoutService), *body (the envelope) and *logout_dump (the state
 * to check the answer with), each free(). 0, a Lasso error (no SOAP endpoint:
 * LASSO_PROFILE_ERROR_UNSUPPORTED_PROFILE) or ZT_SAML_BCL_NOT_HTTPS. */
int zt_saml_bcl_request(struct _LassoServer *server, const char *session_dump, const char *sp,
                        char **url, char **body, char **logout_dump);
/* Under the lock: 0 when answer (outside input) is the SP's successful, matching SOAP
 * LogoutResponse to the request kept as logout_dump, else Lasso's error. */
int zt_saml_bcl_answer(struct _LassoServer *server, const char *logout_dump, const char *answer);

/* ---- saml_param.c (pure): one field of a urlencoded query or form ---- */

/* The decoded value of the field `name` in s (n bytes, application/x-www-form-urlencoded:
 * '+' is a space, %XX two hex digits) into out (NUL-terminated; its limit caps the size).
 * 1 found, 0 absent, -1 malformed, twice, or over out's limit. */
int zt_saml_param(const char *s, size_t n, const char *name, zt_buf *out);

/* ---- request side (saml_http.c, saml_sso.c, saml_slo.c, saml_page.c, saml_audit.c,
 * saml_access.c) ---- */

typedef struct zt_local_req zt_local_req;
typedef struct zt_portal_sess zt_portal_sess;

void zt_saml_metadata_get(zt_local_req *r);
void zt_saml_sso(zt_local_req *r);
void zt_saml_init(zt_local_req *r);
void zt_saml_slo(zt_local_req *r);

/* A refusal page (400/404) with a log line; never an answer to the SP. */
void zt_saml_refuse(zt_local_req *r, int status, int body_msg, const char *log_detail);
/* The auto-POST page carrying SAMLResponse (and RelayState) to acs. Responds. */
void zt_saml_post_page(zt_local_req *r, const char *acs, const char *field, const char *b64,
                       const char *relay);
struct zt_saml_decision;
/* The proxy's block page (policy, reference, the device's findings when they decided) with a
 * "back to the application" link (back: a URL on the portal host that answers the SP with
 * RequestDenied). Responds. */
void zt_saml_block_page(zt_local_req *r, const struct zt_saml_decision *d, const char *back);
/* GET /.ztgate/saml/post.js: the one script (submits the form). */
void zt_saml_post_js(zt_local_req *r);

/* What Conditional Access says about this session reaching app (src/access), mapped to what
 * the IdP does, as the proxy maps it for a proxied request. */
typedef enum zt_saml_verdict {
    ZT_SAML_ALLOW = 0,
    ZT_SAML_MFA,     /* a second factor first: the portal's MFA page, then back */
    ZT_SAML_SIGN_IN, /* sign in again (sign-in frequency), then back */
    ZT_SAML_UNMET,   /* a control the MFA prompt cannot meet: the proxy's explanatory page */
    ZT_SAML_BLOCK,   /* the block page; "back to the app" answers RequestDenied */
} zt_saml_verdict;

typedef struct zt_saml_decision {
    zt_saml_verdict verdict;
    int control;             /* ZT_SAML_UNMET: the zt_control */
    bool device_decided;     /* ZT_SAML_BLOCK: the device's risk decided (show its findings) */
    char policy[128];        /* the deciding policy, "" when none */
    char policies[512];      /* the applicable ones, for the audit record */
    const char *report_only; /* what report-only policies would have done ("block"...), or NULL */
    zt_access_facts facts;   /* device, country: for the pages */
} zt_saml_decision;

/* groups: the user's groups (the policies' group conditions). */
void zt_saml_decide(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                    const char *const *groups, size_t n_groups, zt_saml_decision *d);
/* The explanatory page of an unmet control, as the proxy shows it. Responds. */
void zt_saml_unmet_page(zt_local_req *r, const zt_saml_decision *d, const char *back);

/* Audit (OCSF Authentication, 3002). false: the log refused it (fail closed: answer 503). */
typedef struct zt_saml_audit_ev {
    unsigned activity; /* ZT_ACT_AUTH_LOGON / _LOGOFF */
    bool success;
    const char *message; /* "saml.sso.allow", "saml.assertion", "saml.logout", ... */
    const char *reason;  /* nullable */
    const zt_portal_sess *sess;
    const char *app;         /* nullable */
    const char *sp;          /* SP entity id, nullable */
    const char *decision;    /* SSO decisions: allow, challenge, block */
    const char *policy;      /* deciding policy, nullable */
    const char *policies;    /* applicable policies, nullable */
    const char *report_only; /* report-only outcome, nullable */
    const char *name_id;     /* nullable */
    const char *assertion;   /* assertion ID, nullable */
} zt_saml_audit_ev;
bool zt_saml_audit(zt_local_req *r, const zt_saml_audit_ev *e);

#endif
