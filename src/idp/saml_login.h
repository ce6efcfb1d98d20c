/* Private to src/idp: SAML Web Browser SSO over Lasso (saml_login.c) and single logout
 * (saml_logout.c). Every function takes the LassoServer returned by zt_saml_server_lock and
 * runs with that lock held; results are plain copies (g_free'd by the _dispose functions). */
#ifndef ZT_IDP_SAML_LOGIN_H
#define ZT_IDP_SAML_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idp/saml.h"

struct _LassoServer;

#define ZT_SAML_E_ACS (-90001) /* our own: the ACS URL is not one the SP's metadata lists */

/* What an AuthnRequest asks, once read and its signature checked. */
typedef struct zt_saml_req_info {
    int rc;               /* 0, or Lasso's error (lasso_strerror) */
    int signature_status; /* 0: signed and verified; else why not (Lasso error) */
    char sp[1025];        /* its Issuer, the SP's entity id ("" when unread) */
    char request_id[128];
    char name_id_format[256];
    char issue_instant[40];
    char destination[1025];
    bool force_authn, is_passive;
} zt_saml_req_info;

/* Read msg (the Redirect binding's raw query, or the POST binding's base64 SAMLRequest) and
 * verify its signature when it has one. Returns info->rc. */
int zt_saml_authn_parse(struct _LassoServer *server, const char *msg, zt_saml_req_info *info);

typedef enum zt_saml_status {
    ZT_SAML_ST_SUCCESS = 0,
    ZT_SAML_ST_DENIED,            /* Responder / RequestDenied: Conditional Access blocked */
    ZT_SAML_ST_NO_PASSIVE,        /* Responder / NoPassive: IsPassive and nobody signed in */
    ZT_SAML_ST_BAD_NAMEID_POLICY, /* Requester / InvalidNameIDPolicy */
} zt_saml_status;

/* Who signs in, as the assertion says it. */
typedef struct zt_saml_subject {
    const char *name_id;        /* email, or the persistent id */
    const char *name_id_format; /* ZT_SAML_FMT_EMAIL or _PERSISTENT */
    const char *email;
    const char *display_name;
    const char *const *groups;
    size_t n_groups;
    unsigned amr;            /* ZT_AMR_*: the AuthnContextClassRef */
    int64_t auth_time;       /* AuthnInstant, Unix seconds */
    int64_t now;             /* the assertion's validity window starts around it */
    int64_t session_expires; /* SessionNotOnOrAfter: the ztgate session's absolute expiry */
    const zt_saml_attrs_cfg *attrs;
} zt_saml_subject;

typedef struct zt_saml_answer_in {
    const char *msg;       /* the request as for zt_saml_authn_parse; NULL: IdP-initiated */
    const char *sp;        /* IdP-initiated: the SP's entity id */
    const char *relay;     /* RelayState to send back ("" / NULL: none) */
    zt_saml_status status; /* success, or the error status to answer with */
    const zt_saml_subject *subject; /* success only */
    const char *session_dump;       /* the ztgate session's earlier SSOs (Lasso dump), or NULL */
} zt_saml_answer_in;

typedef struct zt_saml_out {
    char *url;          /* the ACS URL (checked against the SP's metadata) */
    char *body;         /* base64 SAMLResponse for the HTTP-POST binding */
    char *session_dump; /* the session with this SSO added (success), or NULL */
    char sp[1025];
    char name_id[256];
    char assertion_id[128];
    zt_saml_status status; /* what was answered */
} zt_saml_out;

/* Build the signed Response for in. 0, or an error (zt_saml_strerror): nothing is sent then. */
int zt_saml_authn_answer(struct _LassoServer *server, const zt_saml_answer_in *in,
                         zt_saml_out *out);
void zt_saml_out_dispose(zt_saml_out *out);
const char *zt_saml_strerror(int rc);
/* Around a Lasso call that reads an incoming message: its allocations are not leak-checked in
 * sanitizer builds (Lasso leaks inside; see saml_login.c). */
void zt_saml_lasso_leaks_begin(void);
void zt_saml_lasso_leaks_end(void);
/* "YYYY-MM-DDTHH:MM:SSZ" */
void zt_saml_iso_time(int64_t t, char out[32]);
/* Parse "YYYY-MM-DDTHH:MM:SS[.fff]Z" (xs:dateTime in UTC, as SAML requires): 0, or -1. */
int zt_saml_parse_time(const char *s, int64_t *out);

/* Whether a message carries a signature (then its status must be 0): the Redirect binding's
 * Signature parameter in the query msg, the POST binding's enveloped ds:Signature. */
bool zt_saml_signed(const char *msg, bool post, int signature_status);
/* Whether a message is signed with SHA-1 (Redirect: SigAlg; POST: SignatureMethod or
 * DigestMethod): refused, SHA-1 signatures can be forged by collision. */
bool zt_saml_weak_signature(const char *msg, bool post);
/* Remember (issuer, id) until `until`: 0 new, 1 seen before (a replay), -1 no room (the table
 * is full of live entries) or no hash. Call with the server lock held. */
int zt_saml_seen_id(const char *issuer, const char *id, int64_t until, int64_t now);

/* ---- single logout (saml_logout.c) ---- */

struct _LassoLogout;
typedef struct zt_saml_logout_msg {
    int rc;               /* reading the LogoutRequest: 0 or Lasso's error */
    int validate_rc;      /* matching it to the session's SSOs (0: found and removed) */
    int signature_status; /* as for AuthnRequests */
    char sp[1025];
    char request_id[128];
    char destination[1025];
    char issue_instant[40], not_on_or_after[40];
    bool unknown;     /* not this browser's SAML session: answer Requester / UnknownPrincipal */
    bool others;      /* the session signed in to other SPs too */
    bool partial;     /* some of them could not be told: PartialLogout */
    char *url, *body; /* the LogoutResponse: Redirect URL, or POST body with url; or the next
                       * SP's LogoutRequest URL (zt_saml_logout_next) */
    char *dump;       /* the logout's state to resume with, after zt_saml_logout_next */
    char next_sp[1025];
    char relay[ZT_SAML_RELAY_MAX + 1]; /* the initiator's RelayState, sent back to it */
    unsigned hops;
    struct _LassoLogout *logout;
} zt_saml_logout_msg;

/* Read and check an SP's LogoutRequest (msg as for AuthnRequests) against the session dump
 * (NULL: no SSO known for this browser). Returns s->rc; dispose s in every case. */
int zt_saml_logout_read(struct _LassoServer *server, const char *msg, const char *session_dump,
                        zt_saml_logout_msg *s);
/* Whether the LogoutRequest read into s may end this browser's session at now: NULL, or why
 * not. Its IssueInstant within ZT_SAML_SKEW_S * 5 of now, NotOnOrAfter (if any) not passed,
 * Destination (required when is_signed) our slo_url; its ID never seen before (a bounded
 * replay cache of the IDs that got this far, each kept until the request could no longer pass
 * the time checks; full of live IDs: refused); last, it must name this browser's SAML session
 * (NameID and SessionIndex: else s->unknown, the answer is UnknownPrincipal and the session
 * stays). */
const char *zt_saml_logout_check(zt_saml_logout_msg *s, const char *slo_url, bool is_signed,
                                 int64_t now);
/* The next other SP of the session: its signed LogoutRequest (Redirect binding) in s->url with
 * RelayState relay, and the state to resume with in s->dump: 1. 0: none left (those that
 * could not be told make s->partial); -1: the state could not be kept. */
int zt_saml_logout_next(zt_saml_logout_msg *s, const char *relay);
/* An SP's LogoutResponse (msg as for requests) to the logout kept as dump: s->logout restored,
 * s->rc its result (not 0: that SP did not confirm). Dispose s in every case. */
int zt_saml_logout_resume(struct _LassoServer *server, const char *dump, const char *msg,
                          zt_saml_logout_msg *s);
/* Build the LogoutResponse to the initiator (url, body). 0 or Lasso's error. */
int zt_saml_logout_respond(zt_saml_logout_msg *s);
void zt_saml_slo_dispose(zt_saml_logout_msg *s);

#endif
