/* Single logout at /.ztgate/saml/slo (HTTP-Redirect and HTTP-POST): an SP's LogoutRequest ends
 * the browser's ztgate session the way the portal's sign-out does (the session and the ones
 * made from it by code exchange deleted, the cookie cleared, an audit record), and the SP gets
 * a signed LogoutResponse: Success, or Success/PartialLogout when the session had signed in to
 * other SPs that were not told (their SLO is not chained yet; their ztgate-side session is
 * gone all the same). A LogoutResponse arriving here (to an IdP-initiated logout) just shows
 * the signed-out page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/handler.h"
#include "idp/saml.h"
#include "idp/saml_keep.h"
#include "idp/saml_login.h"
#include "portal/portal.h"
#include "session/session.h"

static void end_session(zt_local_req *r, const zt_portal_sess *s)
{
    int rc = zt_session_destroy(r->svc->sessions, s->id_hash);
    zt_session_cache_forget(r->sessions, s->id_hash);
    if (rc != 0 && rc != -ENOENT)
        zt_warn("saml: logout: the session could not be deleted (%d) [%s]", rc, r->request_id);
    zt_saml_parts_drop(r->svc->store, s->id_hash);
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), "", r->https, 0);
}

static bool audit_logout(zt_local_req *r, const zt_portal_sess *s, const zt_saml_logout_msg *slo,
                         const char *app)
{
    zt_saml_audit_ev ev = {.activity = ZT_ACT_AUTH_LOGOFF,
                           .success = true,
                           .message = "saml.logout",
                           .reason = slo->partial ? "PartialLogout" : NULL,
                           .sess = s,
                           .app = app,
                           .sp = slo->sp};
    return zt_saml_audit(r, &ev);
}

/* Send the LogoutResponse: POST binding as a form, Redirect as a 303. */
static void send_response(zt_local_req *r, const zt_saml_logout_msg *slo)
{
    if (slo->body != NULL)
        zt_saml_post_page(r, slo->url, "SAMLResponse", slo->body, NULL);
    else
        zt_portal_redirect(r, slo->url);
}

/* Under the lock: read, check and answer. 0, or the status of the refusal to send. */
static int process(zt_local_req *r, const char *msg, bool post, const char *dump,
                   zt_saml_logout_msg *slo, const zt_app_cfg **app)
{
    struct _LassoServer *server = zt_saml_server_lock(r->cfg);
    if (server == NULL)
        return 503;
    zt_saml_logout_read(server, msg, dump, slo);
    *app = slo->sp[0] ? zt_saml_app_of(r->cfg, slo->sp) : NULL;
    int status = 0;
    if (*app == NULL || slo->rc != 0)
        status = 400;
    else if (zt_saml_signed(msg, post, slo->signature_status)
                 ? slo->signature_status != 0
                 : (*app)->saml.require_signed_requests)
        status = 400; /* a signature must verify; none is allowed unless the app requires it */
    else if (zt_saml_logout_respond(slo) != 0 || slo->url == NULL)
        status = 400;
    zt_saml_server_unlock();
    if (status != 0)
        zt_warn("saml: LogoutRequest refused (issuer '%.200s'): %s", slo->sp,
                slo->rc                 ? zt_saml_strerror(slo->rc)
                : *app == NULL          ? "unknown service provider"
                : slo->signature_status ? zt_saml_strerror(slo->signature_status)
                                        : "no response built");
    return status;
}

static void logout_request(zt_local_req *r, const char *msg, bool post)
{
    zt_portal_sess s;
    zt_portal_session(r, &s);
    char *dump = s.valid ? zt_saml_parts_get(r->svc->store, s.id_hash) : NULL;
    zt_saml_logout_msg slo;
    const zt_app_cfg *app = NULL;
    int status = process(r, msg, post, dump, &slo, &app);
    free(dump);
    if (status == 503)
        zt_portal_unavailable(r, "saml: identity provider unavailable");
    else if (status != 0)
        zt_saml_refuse(r, status, SAML_BODY_BAD_REQUEST, "saml: bad LogoutRequest");
    else if (s.valid && !audit_logout(r, &s, &slo, app->name))
        zt_portal_unavailable(r, "audit log unavailable");
    else {
        if (s.valid)
            end_session(r, &s);
        r->log_detail = "saml: logged out";
        send_response(r, &slo);
    }
    zt_saml_slo_dispose(&slo);
}

void zt_saml_slo(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, true))
        return;
    bool post = zt_portal_is_post(r);
    const char *src = post ? r->body : r->query;
    size_t n = post ? r->body_len : r->query_len;
    zt_buf msg, resp;
    zt_buf_init(&msg, ZT_SAML_MSG_MAX + 1);
    zt_buf_init(&resp, ZT_SAML_MSG_MAX + 1);
    int rq = n > ZT_SAML_MSG_MAX ? -1 : zt_saml_param(src, n, "SAMLRequest", &msg);
    int rs = rq == 0 ? zt_saml_param(src, n, "SAMLResponse", &resp) : 0;
    if (rq == 1)
        logout_request(r, post ? msg.data : r->query, post);
    else if (rs == 1)
        zt_portal_page(r, 200, SAML_TITLE_SIGNED_OUT, SAML_BODY_SIGNED_OUT, NULL, MSG_NONE);
    else
        zt_saml_refuse(r, n > ZT_SAML_MSG_MAX ? 413 : 400, SAML_BODY_BAD_REQUEST,
                       "saml: malformed logout message");
    zt_buf_dispose(&msg);
    zt_buf_dispose(&resp);
}
