/* Sign-out: a confirmation form (a GET must not end a session: link prefetchers and image tags
 * would), then the session and every session made from it by code exchange are deleted and the
 * cookie cleared. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"
#include "portal/portal.h"
#include "http/handler.h"

static void logout_page(zt_local_req *r)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_portal_csrf_token(r, ZT_PORTAL_LOGOUT, token);
    rc = rc ? rc : zt_html_begin(b, r->lang, PM_TITLE_LOGOUT);
    rc = rc ? rc : zt_html_p(b, r->lang, PM_INTRO_LOGOUT, NULL);
    rc = rc ? rc : zt_html_form_begin(b, ZT_PORTAL_LOGOUT, token, NULL);
    rc = rc ? rc : zt_html_form_end(b, r->lang, PM_BUTTON_SIGN_OUT);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_wipe(token, sizeof(token));
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}

#define UPSTREAM_LOGOUT_URL_MAX 16384

/* Signed in through an upstream provider that wants RP-initiated logout: its end-session URL
 * (malloc'd), or NULL. Back to our signed-out page afterwards. */
static char *upstream_logout_url(zt_local_req *r, const char *id_hash, const char *user_id)
{
    if (r->svc->upstream_logout == NULL)
        return NULL;
    zt_buf back;
    zt_buf_init(&back, 4096);
    char *url = malloc(UPSTREAM_LOGOUT_URL_MAX);
    int rc = url != NULL ? zt_portal_origin(r, r->host, &back) : -ENOMEM;
    rc = rc ? rc : zt_buf_append_str(&back, ZT_PORTAL_SIGNED_OUT);
    rc = rc ? rc : zt_buf_cstr(&back);
    rc = rc ? rc
            : r->svc->upstream_logout(r->svc->upstream_logout_ctx, r->cfg, id_hash, user_id,
                                      back.data, url, UPSTREAM_LOGOUT_URL_MAX);
    zt_buf_dispose(&back);
    if (rc != 0) {
        free(url);
        return NULL;
    }
    return url;
}

/* A page, not a redirect: the sign-out form's CSP (form-action 'self') covers the redirects
 * after its POST, and the provider is another origin. */
static void upstream_logout_page(zt_local_req *r, const char *url)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_html_begin(b, r->lang, PM_TITLE_SIGNED_OUT);
    rc = rc ? rc : zt_buf_append_str(b, "<meta http-equiv=\"refresh\" content=\"0;url=");
    rc = rc ? rc : zt_html_text(b, url);
    rc = rc ? rc : zt_buf_append_str(b, "\">");
    rc = rc ? rc : zt_html_p(b, r->lang, FED_BODY_UPSTREAM_LOGOUT, NULL);
    rc = rc ? rc : zt_html_link(b, r->lang, url, FED_LINK_CONTINUE);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}

static void logout_post(zt_local_req *r)
{
    zt_form form;
    if (!zt_portal_read_form(r, &form))
        return;
    bool csrf = zt_portal_csrf_ok(r, &form);
    zt_form_dispose(&form);
    if (!csrf)
        return;
    zt_portal_sess s;
    zt_portal_session(r, &s);
    char *upstream = s.valid ? upstream_logout_url(r, s.id_hash, s.user_id) : NULL;
    if (s.valid) {
        zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                              .activity = ZT_ACT_AUTH_LOGOFF,
                              .success = true,
                              .email = s.email,
                              .user_id = s.user_id,
                              .message = "signed out"};
        int rc = zt_session_destroy(r->svc->sessions, s.id_hash);
        zt_session_cache_forget(r->sessions, s.id_hash);
        if (rc != 0 && rc != -ENOENT) {
            free(upstream);
            zt_portal_unavailable(r, "could not delete the session");
            return;
        }
        if (!zt_portal_audit(r, &ev)) {
            free(upstream);
            zt_portal_unavailable(r, "audit log unavailable");
            return;
        }
    }
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), "", r->https, 0);
    r->log_detail = upstream != NULL ? "signed out; upstream logout" : "signed out";
    if (upstream != NULL)
        upstream_logout_page(r, upstream);
    else
        zt_portal_redirect(r, ZT_PORTAL_SIGNED_OUT);
    free(upstream);
}

void zt_portal_logout(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r))
        logout_post(r);
    else
        logout_page(r);
}

void zt_portal_signed_out(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_html_begin(b, r->lang, PM_TITLE_SIGNED_OUT);
    rc = rc ? rc : zt_html_p(b, r->lang, PM_BODY_SIGNED_OUT, NULL);
    const char *portal = r->cfg->auth.portal_host;
    if (rc == 0 && portal != NULL && strcmp(portal, r->host) != 0) {
        /* Signing out of one app host leaves the portal session; offer to end it too. */
        zt_buf href;
        zt_buf_init(&href, 0);
        rc = zt_portal_origin(r, portal, &href);
        rc = rc ? rc : zt_buf_append_str(&href, ZT_PORTAL_LOGOUT);
        rc = rc ? rc : zt_buf_cstr(&href);
        rc = rc ? rc : zt_html_link(b, r->lang, href.data, PM_SIGN_OUT_EVERYWHERE);
        zt_buf_dispose(&href);
    }
    rc = rc ? rc : zt_html_link(b, r->lang, ZT_PORTAL_LOGIN, PM_SIGN_IN_AGAIN);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}
