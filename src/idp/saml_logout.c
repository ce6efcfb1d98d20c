/* The Lasso side of SAML single logout at the IdP: read and verify an SP's LogoutRequest
 * against the session's SSOs (the Lasso session dump kept per ztgate session) and build the
 * LogoutResponse. Runs with the server lock held, like saml_login.c. */
#include <string.h>

#include <lasso/lasso.h>
#include <openssl/evp.h>
#include <lasso/xml/saml-2.0/samlp2_logout_request.h>
#include <lasso/xml/saml-2.0/samlp2_request_abstract.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>

#include "core/log.h"
#include "idp/saml_login.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* The LogoutResponse's status: TOP / SECOND. Success / PartialLogout: some other SP of the
 * session was not told, and the initiator must know; Requester / UnknownPrincipal: the request
 * does not name this browser's session. */
static void set_status(LassoProfile *prof, const char *top, const char *second)
{
    if (!LASSO_IS_SAMLP2_STATUS_RESPONSE(prof->response))
        return;
    LassoSamlp2StatusResponse *resp = LASSO_SAMLP2_STATUS_RESPONSE(prof->response);
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    st->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    st->StatusCode->Value = g_strdup(top);
    st->StatusCode->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    st->StatusCode->StatusCode->Value = g_strdup(second);
    if (resp->Status != NULL)
        g_object_unref(resp->Status);
    resp->Status = st;
}

/* What the freshness and replay checks read of the request. */
static void read_request_fields(LassoProfile *prof, zt_saml_logout_msg *out)
{
    if (!LASSO_IS_SAMLP2_LOGOUT_REQUEST(prof->request))
        return;
    LassoSamlp2LogoutRequest *req = LASSO_SAMLP2_LOGOUT_REQUEST(prof->request);
    LassoSamlp2RequestAbstract *ra = LASSO_SAMLP2_REQUEST_ABSTRACT(req);
    copy_str(out->request_id, sizeof(out->request_id), ra->ID);
    copy_str(out->destination, sizeof(out->destination), ra->Destination);
    copy_str(out->issue_instant, sizeof(out->issue_instant), ra->IssueInstant);
    copy_str(out->not_on_or_after, sizeof(out->not_on_or_after), req->NotOnOrAfter);
}

int zt_saml_logout_read(LassoServer *server, const char *msg, const char *session_dump,
                        zt_saml_logout_msg *out)
{
    memset(out, 0, sizeof(*out));
    LassoLogout *logout = lasso_logout_new(server);
    if (logout == NULL)
        return -1;
    LassoProfile *prof = LASSO_PROFILE(logout);
    if (session_dump != NULL)
        lasso_profile_set_session_from_dump(prof, session_dump);
    lasso_profile_set_signature_verify_hint(prof, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
    zt_saml_lasso_leaks_begin();
    int rc = lasso_logout_process_request_msg(logout, (char *)msg);
    zt_saml_lasso_leaks_end();
    out->rc = rc;
    out->signature_status = prof->signature_status;
    copy_str(out->sp, sizeof(out->sp), prof->remote_providerID);
    copy_str(out->relay, sizeof(out->relay), prof->msg_relayState);
    read_request_fields(prof, out);
    if (rc == 0) {
        out->validate_rc = lasso_logout_validate_request(logout);
        char *next = lasso_logout_get_next_providerID(logout);
        out->others = next != NULL;
        g_free(next);
        lasso_logout_reset_providerID_index(logout); /* zt_saml_logout_next walks them again */
    }
    out->logout = logout;
    return rc;
}

int zt_saml_logout_respond(zt_saml_logout_msg *s)
{
    LassoLogout *logout = s->logout;
    LassoProfile *prof = LASSO_PROFILE(logout);
    if (s->unknown)
        set_status(prof, LASSO_SAML2_STATUS_CODE_REQUESTER,
                   LASSO_SAML2_STATUS_CODE_UNKNOWN_PRINCIPAL);
    else if (s->partial)
        set_status(prof, LASSO_SAML2_STATUS_CODE_SUCCESS, LASSO_SAML2_STATUS_CODE_PARTIAL_LOGOUT);
    lasso_profile_set_signature_hint(prof, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
    g_free(prof->msg_relayState); /* the initiator's, not the one of our hops */
    prof->msg_relayState = s->relay[0] ? g_strdup(s->relay) : NULL;
    int rc = lasso_logout_build_response_msg(logout);
    if (rc != 0)
        return rc;
    g_free(s->url);
    s->url = g_strdup(prof->msg_url);
    s->body = g_strdup(prof->msg_body);
    return 0;
}

/* ---- freshness and replay ---- */

#define SLO_WINDOW_S ZT_SAML_MSG_WINDOW_S
#define SEEN_MAX 2048 /* accepted request IDs remembered (AuthnRequests and LogoutRequests) */

/* SHA-256 of (issuer, ID) of the requests accepted recently, each until its IssueInstant +
 * the window (after that the time check refuses it anyway). Guarded by the server lock, like
 * every function here. */
static struct {
    unsigned char key[32];
    int64_t until;
} seen[SEEN_MAX];

int zt_saml_seen_id(const char *issuer, const char *id, int64_t until, int64_t now)
{
    unsigned char key[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, issuer, strlen(issuer) + 1) == 1 &&
             EVP_DigestUpdate(md, id, strlen(id)) == 1 && EVP_DigestFinal_ex(md, key, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    int free_slot = -1;
    for (int i = 0; i < SEEN_MAX; i++) {
        bool live = seen[i].until > now;
        if (live && memcmp(seen[i].key, key, sizeof(key)) == 0)
            return 1;
        if (!live && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return -1;
    memcpy(seen[free_slot].key, key, sizeof(key));
    seen[free_slot].until = until;
    return 0;
}

static const char *check_times(const zt_saml_logout_msg *s, int64_t now, int64_t *issued)
{
    if (zt_saml_parse_time(s->issue_instant, issued) != 0)
        return "IssueInstant missing or malformed";
    if (*issued > now + SLO_WINDOW_S || *issued < now - SLO_WINDOW_S)
        return "IssueInstant too far from now (stale or replayed)";
    int64_t end = 0;
    if (s->not_on_or_after[0] != '\0' &&
        (zt_saml_parse_time(s->not_on_or_after, &end) != 0 || end <= now))
        return "NotOnOrAfter passed or malformed";
    return NULL;
}

const char *zt_saml_logout_check(zt_saml_logout_msg *s, const char *slo_url, bool is_signed,
                                 int64_t now)
{
    int64_t issued = 0;
    const char *why = check_times(s, now, &issued);
    if (why != NULL)
        return why;
    if (s->destination[0] != '\0' ? strcmp(s->destination, slo_url) != 0 : is_signed)
        return "Destination is not this IdP's SingleLogoutService";
    if (s->request_id[0] == '\0')
        return "no ID";
    int seen_rc = zt_saml_seen_id(s->sp, s->request_id, issued + SLO_WINDOW_S, now);
    if (seen_rc != 0)
        return seen_rc == 1 ? "replayed (its ID was seen before)"
                            : "too many recent logouts to tell a replay";
    if (s->validate_rc != 0) {
        s->unknown = true;
        return "it does not name this browser's SAML session (NameID / SessionIndex)";
    }
    return NULL;
}

#define SAML_SLO_HOPS_MAX 16 /* SPs told in one logout: a session signs in to a few */

int zt_saml_logout_next(zt_saml_logout_msg *s, const char *relay)
{
    LassoLogout *logout = s->logout;
    LassoProfile *prof = LASSO_PROFILE(logout);
    while (s->hops < SAML_SLO_HOPS_MAX) {
        char *next = lasso_logout_get_next_providerID(logout);
        if (next == NULL)
            return 0;
        s->hops++;
        int rc = lasso_logout_init_request(logout, next, LASSO_HTTP_METHOD_REDIRECT);
        copy_str(s->next_sp, sizeof(s->next_sp), next);
        g_free(next);
        if (rc != 0) { /* no Redirect SLO endpoint: Lasso drops that SP; it stays signed in */
            zt_warn("saml: logout: %s cannot be told: %s", s->next_sp, lasso_strerror(rc));
            s->partial = true;
            continue;
        }
        g_free(prof->msg_relayState);
        prof->msg_relayState = g_strdup(relay);
        lasso_profile_set_signature_hint(prof, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
        rc = lasso_logout_build_request_msg(logout);
        if (rc != 0 || prof->msg_url == NULL) {
            zt_warn("saml: logout: no LogoutRequest for %s: %s", s->next_sp, lasso_strerror(rc));
            s->partial = true;
            continue;
        }
        g_free(s->url);
        s->url = g_strdup(prof->msg_url);
        g_free(s->dump);
        s->dump = lasso_logout_dump(logout);
        return s->dump != NULL ? 1 : -1;
    }
    s->partial = true; /* more SPs than one logout tells */
    return 0;
}

int zt_saml_logout_resume(LassoServer *server, const char *dump, const char *msg,
                          zt_saml_logout_msg *out)
{
    memset(out, 0, sizeof(*out));
    out->logout = lasso_logout_new_from_dump(server, dump);
    if (out->logout == NULL)
        return out->rc = -1;
    LassoProfile *prof = LASSO_PROFILE(out->logout);
    lasso_profile_set_signature_verify_hint(prof, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
    zt_saml_lasso_leaks_begin();
    out->rc = lasso_logout_process_response_msg(out->logout, (char *)msg);
    zt_saml_lasso_leaks_end();
    copy_str(out->sp, sizeof(out->sp), prof->remote_providerID);
    return out->rc;
}

void zt_saml_slo_dispose(zt_saml_logout_msg *s)
{
    if (s->logout != NULL)
        lasso_logout_destroy(s->logout);
    g_free(s->url);
    g_free(s->body);
    g_free(s->dump);
    memset(s, 0, sizeof(*s));
}

bool zt_saml_weak_signature(const char *msg, bool post)
{
    if (!post) { /* the Redirect binding's SigAlg parameter */
        zt_buf alg;
        zt_buf_init(&alg, 256);
        int rc = zt_saml_param(msg, strlen(msg), "SigAlg", &alg);
        bool weak = rc != 1 || strstr(alg.data, "sha1") != NULL;
        zt_buf_dispose(&alg);
        return rc != 0 && weak; /* none: not signed; malformed: refused */
    }
    gsize n = 0;
    guchar *xml = g_base64_decode(msg, &n);
    char *text = g_strndup((const char *)xml, n);
    /* SignatureMethod rsa-sha1 or DigestMethod sha1 anywhere in the message: refused (a
     * false alarm only refuses, never accepts) */
    bool weak = strstr(text, "xmldsig#rsa-sha1") != NULL || strstr(text, "xmldsig#sha1") != NULL;
    g_free(text);
    g_free(xml);
    return weak;
}

bool zt_saml_signed(const char *msg, bool post, int status)
{
    if (post) /* an enveloped ds:Signature: Lasso says "not found" when there is none */
        return status != LASSO_DS_ERROR_SIGNATURE_NOT_FOUND;
    zt_buf sig;
    zt_buf_init(&sig, 4096);
    int rc = zt_saml_param(msg, strlen(msg), "Signature", &sig);
    zt_buf_dispose(&sig);
    return rc != 0; /* the Redirect binding's Signature parameter (or a malformed one) */
}
