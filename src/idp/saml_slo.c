/* Single logout at /.ztgate/saml/slo (HTTP-Redirect and HTTP-POST): an SP's LogoutRequest ends
 * the browser's ztgate session the way the portal's sign-out does (the session and the ones
 * made from it by code exchange deleted, the cookie cleared, an audit record). When the session
 * had signed in to other SPs, the browser then goes through each of them (front channel: a
 * signed LogoutRequest by Redirect, their LogoutResponse back here with our RelayState, the
 * logout's state kept meanwhile) before the initiator gets its signed LogoutResponse: Success,
 * or Success/PartialLogout when an SP could not be told or did not confirm. A LogoutResponse
 * that is not part of one of ours shows the signed-out page. */
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
    /* First: this logout's SPs are told through the browser, so the gateway's back-channel
     * logout (which takes the rows of ended sessions) must not find the row. */
    zt_saml_parts_drop(r->svc->store, s->id_hash);
    int rc = zt_session_destroy(r->svc->sessions, s->id_hash);
    zt_session_cache_forget(r->sessions, s->id_hash);
    if (rc != 0 && rc != -ENOENT)
        zt_warn("saml: logout: the session could not be deleted (%d) [%s]", rc, r->request_id);
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

/* Under the lock, once the request is accepted: the first other SP's LogoutRequest (then
 * *chain and slo->url is where the browser goes), else the LogoutResponse. 0 or 400. */
static int answer_or_chain(zt_saml_logout_msg *slo, bool *chain)
{
    char id[ZT_SAML_KEEP_ID_LEN + 1];
    zt_saml_keep_new_id(id);
    int rc = slo->others ? zt_saml_logout_next(slo, id) : 0;
    if (rc == 1 &&
        zt_saml_keep_logout(slo->dump, slo->partial, slo->relay, zt_portal_now(), id) == 0) {
        *chain = true;
        return 0;
    }
    if (rc != 0) /* the others could not be reached */
        slo->partial = true;
    return zt_saml_logout_respond(slo) != 0 || slo->url == NULL ? 400 : 0;
}

/* Under the lock, once parsed and its signature checked: the request must be fresh, meant for
 * us and name this browser's SAML session (saml_logout.c). 0 (accepted, or not this session:
 * then slo->unknown and the LogoutResponse says UnknownPrincipal), or 400. */
static int check_request(zt_local_req *r, const char *msg, bool post, zt_saml_logout_msg *slo,
                         bool *chain)
{
    zt_buf url;
    zt_buf_init(&url, 256);
    int status = 400;
    if (zt_buf_printf(&url, "%s%s", r->cfg->idp.issuer, ZT_SAML_SLO) == 0) {
        const char *why = zt_saml_logout_check(
            slo, url.data, zt_saml_signed(msg, post, slo->signature_status), zt_portal_now());
        if (why != NULL)
            zt_warn("saml: LogoutRequest from '%.200s' not applied: %s [%s]", slo->sp, why,
                    r->request_id);
        if (why == NULL)
            status = answer_or_chain(slo, chain);
        else if (slo->unknown)
            status = zt_saml_logout_respond(slo) != 0 || slo->url == NULL ? 400 : 0;
    }
    zt_buf_dispose(&url);
    return status;
}

/* Under the lock: read, check, and answer or go on to the next SP. 0, or the status of the
 * refusal to send. */
static int process(zt_local_req *r, const char *msg, bool post, const char *dump,
                   zt_saml_logout_msg *slo, const zt_app_cfg **app, bool *chain)
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
        status = 400; /* a signature must verify; an unsigned LogoutRequest never gets here:
                       * Lasso 2.8 refuses it on both bindings whatever the app requires */
    else
        status = check_request(r, msg, post, slo, chain);
    zt_saml_server_unlock();
    if (status != 0 && (slo->rc != 0 || *app == NULL || slo->signature_status != 0))
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
    bool chain = false;
    int status = process(r, msg, post, dump, &slo, &app, &chain);
    free(dump);
    if (status == 503)
        zt_portal_unavailable(r, "saml: identity provider unavailable");
    else if (status != 0)
        zt_saml_refuse(r, status, SAML_BODY_BAD_REQUEST, "saml: bad LogoutRequest");
    else if (slo.unknown) { /* not this browser's session: it stays */
        r->log_detail = "saml: LogoutRequest for another session: UnknownPrincipal";
        send_response(r, &slo);
    } else if (s.valid && !audit_logout(r, &s, &slo, app->name))
        zt_portal_unavailable(r, "audit log unavailable");
    else {
        if (s.valid)
            end_session(r, &s);
        r->log_detail = chain ? "saml: logged out, telling the other SPs" : "saml: logged out";
        if (chain)
            zt_portal_redirect(r, slo.url);
        else
            send_response(r, &slo);
    }
    zt_saml_slo_dispose(&slo);
}

/* Under the lock: an SP's answer to our LogoutRequest; the next SP, or the initiator's
 * LogoutResponse. 0, or -1 when this is no logout of ours (then the signed-out page). */
static int resume(zt_local_req *r, const char *msg, const zt_saml_kept *k,
                  char id[ZT_SAML_KEEP_ID_LEN + 1], zt_saml_logout_msg *slo, bool *chain)
{
    struct _LassoServer *server = zt_saml_server_lock(r->cfg);
    if (server == NULL)
        return -1;
    int rc = zt_saml_logout_resume(server, k->msg, msg, slo);
    if (slo->logout != NULL) {
        if (rc != 0)
            zt_warn("saml: %s did not confirm the logout: %s [%s]", slo->sp[0] ? slo->sp : "an SP",
                    zt_saml_strerror(rc), r->request_id);
        slo->partial = k->partial || rc != 0;
        memcpy(slo->relay, k->relay, sizeof(slo->relay));
        int next = zt_saml_logout_next(slo, id);
        *chain = next == 1 &&
                 zt_saml_keep_logout(slo->dump, slo->partial, slo->relay, zt_portal_now(), id) == 0;
        if (next != 0 && !*chain)
            slo->partial = true;
        rc = *chain ? 0 : zt_saml_logout_respond(slo) != 0 || slo->url == NULL ? -1 : 0;
    } else {
        rc = -1;
    }
    zt_saml_server_unlock();
    return rc;
}

/* The RelayState of an SP's LogoutResponse: the id of our logout under way, or "". */
static void relay_id(const char *src, size_t n, char id[ZT_SAML_KEEP_ID_LEN + 1])
{
    zt_buf b;
    zt_buf_init(&b, ZT_SAML_KEEP_ID_LEN + 1);
    id[0] = '\0';
    if (zt_saml_param(src, n, "RelayState", &b) == 1 && b.len == ZT_SAML_KEEP_ID_LEN)
        memcpy(id, b.data, ZT_SAML_KEEP_ID_LEN + 1);
    zt_buf_dispose(&b);
}

static void logout_response(zt_local_req *r, const char *src, size_t n, const char *msg)
{
    char id[ZT_SAML_KEEP_ID_LEN + 1];
    zt_saml_kept k = {0};
    zt_saml_logout_msg slo = {0};
    bool chain = false;
    relay_id(src, n, id);
    bool ours = id[0] != '\0' && zt_saml_keep_get(id, zt_portal_now(), &k) == 0 && k.logout &&
                resume(r, msg, &k, id, &slo, &chain) == 0;
    if (!ours)
        zt_portal_page(r, 200, SAML_TITLE_SIGNED_OUT, SAML_BODY_SIGNED_OUT, NULL, MSG_NONE);
    else if (chain)
        zt_portal_redirect(r, slo.url);
    else
        send_response(r, &slo);
    zt_saml_slo_dispose(&slo);
    zt_saml_kept_dispose(&k);
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
        logout_response(r, src, n, post ? resp.data : r->query);
    else
        zt_saml_refuse(r, n > ZT_SAML_MSG_MAX ? 413 : 400, SAML_BODY_BAD_REQUEST,
                       "saml: malformed logout message");
    zt_buf_dispose(&msg);
    zt_buf_dispose(&resp);
}
