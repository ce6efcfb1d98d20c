/* The authorization endpoint (GET and POST): the client and its redirect URI are checked before
 * anything else (a failure there is a page, never a redirect), then the request, then the
 * user's portal session (none → sign in, then back here), re-authentication (prompt=login,
 * max_age), the acr asked (step-up), and Conditional Access for the client's app exactly as a
 * proxied request: allow → a code; challenge → the portal's step-up, then back; block → the
 * block page, whose link takes the user back to the client with error=access_denied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "core/log.h"
#include "identity/secretbox.h"
#include "http/pages.h"
#include "idp/oidc.h"
#include "lib/secure.h"
#include "policy/policy.h"
#include "session/session.h"

/* Conditional Access for the client's app, through src/access like a proxied request: the
 * session side from the portal session, the request side from this request. The one place the
 * decision is taken at sign-in. -1: the store failed (fail closed). */
static int decide(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                  zt_oidc_decision *d)
{
    zt_access_request rq;
    zt_portal_access_request(r, s, app, &rq); /* a sign-in is a browser's, whatever it Accepts */
    return zt_oidc_decide(r, &rq, d);
}

/* ---- where the browser goes ---- */

/* This authorize request again, as a relative GET URL (a POSTed one too): the sign-in and
 * step-up pages send the browser back here. A marker (non-NULL) says the sign-in must be newer
 * than the time it carries; any marker sent with the request is dropped. */
static int self_url(const zt_form *f, const char *marker, zt_buf *out)
{
    int rc = zt_buf_append_str(out, ZT_OIDC_AUTHORIZE "?");
    bool first = true;
    for (size_t i = 0; rc == 0 && i < f->n; i++) {
        if (strcmp(f->f[i].name, ZT_OIDC_REAUTH_PARAM) == 0)
            continue;
        rc = first ? 0 : zt_buf_append_char(out, '&');
        rc = rc ? rc : zt_url_encode(out, f->f[i].name, strlen(f->f[i].name), false);
        rc = rc ? rc : zt_buf_append_char(out, '=');
        rc = rc ? rc : zt_url_encode(out, f->f[i].value, f->f[i].value_len, false);
        first = false;
    }
    if (rc == 0 && marker != NULL)
        rc = zt_buf_printf(out, "&" ZT_OIDC_REAUTH_PARAM "=%s", marker);
    return rc ? rc : zt_buf_cstr(out);
}

/* 303 to a portal page (path ends with "rd=") that comes back to this request. */
static void go_portal(zt_local_req *r, const char *path, const zt_form *f, const char *marker)
{
    zt_buf self, loc;
    zt_buf_init(&self, ZT_RD_MAX);
    zt_buf_init(&loc, 0);
    int rc = self_url(f, marker, &self);
    rc = rc ? rc : zt_buf_append_str(&loc, path);
    rc = rc ? rc : zt_url_encode(&loc, self.data, self.len, false);
    rc = rc ? rc : zt_buf_cstr(&loc);
    if (rc == -E2BIG)
        zt_local_respond_page(r, 414, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                              "oidc authorize request too long to come back to");
    else if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_buf_dispose(&self);
    zt_buf_dispose(&loc);
}

/* redirect_uri with params appended (it may have a query of its own). */
static int client_url(const zt_oidc_authz *az, const char *issuer, const char *k1, const char *v1,
                      const char *k2, const char *v2, zt_buf *out)
{
    int rc = zt_buf_append_str(out, az->redirect_uri);
    rc = rc ? rc : zt_buf_append_char(out, strchr(az->redirect_uri, '?') ? '&' : '?');
    const char *k[] = {k1, k2, "state", "iss"};
    const char *v[] = {v1, v2, az->state, issuer};
    bool first = true;
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        if (k[i] == NULL || v[i] == NULL)
            continue;
        rc = first ? 0 : zt_buf_append_char(out, '&');
        rc = rc ? rc : zt_buf_append_str(out, k[i]);
        rc = rc ? rc : zt_buf_append_char(out, '=');
        rc = rc ? rc : zt_url_encode(out, v[i], strlen(v[i]), false);
        first = false;
    }
    return rc ? rc : zt_buf_cstr(out);
}

/* The error goes back to the client (its redirect URI was validated). */
static void client_error(zt_local_req *r, const zt_oidc_authz *az, const char *code,
                         const char *desc)
{
    zt_buf loc;
    zt_buf_init(&loc, 0);
    zt_info("request %s: oidc authorize for client %s: %s (%s)", r->request_id, az->client_id, code,
            desc ? desc : "");
    r->log_detail = code;
    if (client_url(az, zt_oidc_issuer(r), "error", code, "error_description", desc, &loc) != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_buf_dispose(&loc);
}

/* Errors before the redirect URI is known to be the client's: a page, never a redirect. */
static void refuse_page(zt_local_req *r, zt_oidc_authz_err e, const zt_oidc_authz *az)
{
    zt_msg body = e == ZT_OIDC_AUTHZ_NO_CLIENT          ? OI_UNKNOWN_CLIENT
                  : e == ZT_OIDC_AUTHZ_BAD_REDIRECT_URI ? OI_BAD_REDIRECT_URI
                                                        : OI_BAD_REQUEST;
    zt_info("request %s: oidc authorize refused: %s", r->request_id, az->error_description);
    /* Recorded: a foreign redirect URI is how an open-redirect or code-theft attempt looks. */
    zt_oidc_event ev = {.event = "authorize",
                        .app = az->app ? az->app->name : NULL,
                        .client_id = az->app ? az->app->oidc.client_id : NULL,
                        .message = "oidc authorize request refused",
                        .reason = az->error_description};
    if (!zt_oidc_audit(r, &ev)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    zt_local_respond_page(r, 400, OI_ERROR_TITLE, body, az->error_description);
}

/* ---- the steps ---- */

static void audit_decision(zt_local_req *r, const zt_oidc_authz *az, const zt_portal_sess *s,
                           const char *decision, const zt_oidc_decision *d, bool *ok)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "oidc authorize: %s for app %s", decision, az->app->name);
    zt_oidc_event e = {.event = "authorize",
                       .success = strcmp(decision, "allow") == 0,
                       .app = az->app->name,
                       .client_id = az->client_id,
                       .user_id = s->user_id,
                       .email = s->email,
                       .decision = decision,
                       .policy = d->policy,
                       .policies = d->policies[0] ? d->policies : NULL,
                       .report_only = d->report_only,
                       .message = msg};
    *ok = zt_oidc_audit(r, &e);
}

/* The marker's key, derived from the gateway's secret box like the portal's cookie keys. */
static void marker_key(zt_local_req *r, unsigned char key[ZT_OIDC_REAUTH_KEY_LEN])
{
    zt_secretbox_derive(r->svc->secrets, "ztgate oidc reauth v1", key);
}

static void new_marker(zt_local_req *r, const zt_oidc_authz *az, const char *user_id,
                       char out[ZT_OIDC_REAUTH_MAX])
{
    unsigned char key[ZT_OIDC_REAUTH_KEY_LEN];
    marker_key(r, key);
    zt_oidc_reauth_marker(key, zt_portal_now(), user_id, az, out);
    zt_wipe(key, sizeof(key));
}

static int64_t checked_marker(zt_local_req *r, const zt_oidc_authz *az, const char *user_id,
                              int64_t now)
{
    unsigned char key[ZT_OIDC_REAUTH_KEY_LEN];
    marker_key(r, key);
    int64_t t = zt_oidc_reauth_check(key, user_id, az, now);
    zt_wipe(key, sizeof(key));
    return t;
}

static int64_t last_auth(const zt_portal_sess *s)
{
    return s->mfa_time > s->auth_time ? s->mfa_time : s->auth_time;
}

static int store_grant_and_code(zt_local_req *r, const zt_oidc_authz *az, const zt_portal_sess *s,
                                char code[ZT_OIDC_TOKEN_CHARS + 1])
{
    int64_t now = zt_portal_now();
    const zt_idp_cfg *c = &r->cfg->idp;
    zt_store_oidc_grant g = {.amr = s->amr, .auth_time = last_auth(s), .created_at = now};
    uint64_t life_ms = c->refresh_token_ttl_ms > c->access_token_ttl_ms ? c->refresh_token_ttl_ms
                                                                        : c->access_token_ttl_ms;
    g.expires_at = now + (int64_t)(life_ms / 1000);
    zt_random_hex(g.id, ZT_STORE_OIDC_ID_LEN / 2);
    snprintf(g.client_id, sizeof(g.client_id), "%s", az->client_id);
    snprintf(g.app, sizeof(g.app), "%s", az->app->name);
    snprintf(g.user_id, sizeof(g.user_id), "%s", s->user_id);
    snprintf(g.session_hash, sizeof(g.session_hash), "%s", s->id_hash);
    zt_oidc_sid(s->id_hash, g.sid);
    snprintf(g.scope, sizeof(g.scope), "%s", az->scope);
    snprintf(g.nonce, sizeof(g.nonce), "%s", az->nonce ? az->nonce : "");
    snprintf(g.acr, sizeof(g.acr), "%s", zt_oidc_acr_for(s->amr));
    zt_store_oidc_code sc = {.expires_at = now + ZT_OIDC_CODE_TTL_S};
    snprintf(sc.grant_id, sizeof(sc.grant_id), "%s", g.id);
    snprintf(sc.redirect_uri, sizeof(sc.redirect_uri), "%s", az->redirect_uri);
    snprintf(sc.code_challenge, sizeof(sc.code_challenge), "%s",
             az->code_challenge ? az->code_challenge : "");
    unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
    zt_oidc_new_token(code, hash);
    int rc = zt_store_oidc_grant_code_add(r->svc->store, &g, hash, &sc);
    if (rc != 0)
        zt_error("request %s: oidc: storing a code: %s", r->request_id, zt_store_errmsg());
    return rc;
}

static void issue_code(zt_local_req *r, const zt_oidc_authz *az, const zt_portal_sess *s,
                       const zt_oidc_decision *d)
{
    char code[ZT_OIDC_TOKEN_CHARS + 1];
    bool ok = false;
    if (store_grant_and_code(r, az, s, code) != 0) {
        client_error(r, az, "server_error", "the code could not be stored");
        return;
    }
    audit_decision(r, az, s, "allow", d, &ok);
    if (!ok) {
        zt_wipe(code, sizeof(code));
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = client_url(az, zt_oidc_issuer(r), "code", code, NULL, NULL, &loc);
    zt_wipe(code, sizeof(code));
    r->log_detail = "oidc code issued";
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_wipe(loc.data, loc.len);
    zt_buf_dispose(&loc);
}

/* Block: the block page, with a link back to the client carrying error=access_denied. */
static void blocked(zt_local_req *r, const zt_oidc_authz *az, const zt_portal_sess *s,
                    const zt_oidc_decision *d)
{
    bool ok = false;
    audit_decision(r, az, s, "block", d, &ok);
    if (!ok) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    if (az->prompt & ZT_OIDC_PROMPT_NONE) { /* no page may be shown: straight back */
        client_error(r, az, "access_denied", "blocked by a Conditional Access policy");
        return;
    }
    zt_buf back;
    zt_buf_init(&back, 0);
    int rc = client_url(az, zt_oidc_issuer(r), "error", "access_denied", "error_description",
                        "blocked by a Conditional Access policy", &back);
    zt_page_device dev = zt_access_page_device(&d->facts);
    zt_page pg = zt_page_block(d->policy, dev.failed != NULL ? &dev : NULL);
    pg.request_id = r->request_id;
    pg.lang = r->lang;
    pg.https = r->https;
    pg.remedy = OI_BACK_TO_APP_TEXT;
    pg.remedy_href = rc == 0 ? back.data : NULL;
    pg.remedy_label = OI_BACK_TO_APP;
    zt_buf_reset(&r->resp_body);
    r->status = pg.status;
    r->log_detail = "oidc authorize blocked by policy";
    if (zt_page_render_body(&r->resp_body, &pg) != 0)
        zt_buf_reset(&r->resp_body);
    zt_local_respond(r);
    zt_buf_dispose(&back);
}

/* A control the user cannot meet from the MFA prompt (a phishing-resistant method, a compliant
 * device, a password change): the same explanatory page the proxy shows; for a passkey its
 * link leads to the passkey prompt, which comes back here. */
static void unmet_page(zt_local_req *r, const zt_oidc_decision *d, const zt_form *f)
{
    zt_page_device dev = zt_access_page_device(&d->facts);
    zt_page pg = zt_page_unmet((int)d->control, d->policy, &dev);
    zt_buf self, href;
    zt_buf_init(&self, ZT_RD_MAX);
    zt_buf_init(&href, 0);
    if (d->control == ZT_CTL_PHISHING_RESISTANT_MFA && self_url(f, NULL, &self) == 0 &&
        zt_buf_append_str(&href, ZT_PORTAL_PASSKEY "?rd=") == 0 &&
        zt_url_encode(&href, self.data, self.len, false) == 0 && zt_buf_cstr(&href) == 0)
        pg.remedy_href = href.data;
    pg.request_id = r->request_id;
    pg.lang = r->lang;
    pg.https = r->https;
    zt_buf_reset(&r->resp_body);
    r->status = pg.status;
    r->log_detail = "oidc authorize: a control the MFA prompt cannot meet";
    if (zt_page_render_body(&r->resp_body, &pg) != 0)
        zt_buf_reset(&r->resp_body);
    zt_local_respond(r);
    zt_buf_dispose(&self);
    zt_buf_dispose(&href);
}

/* A challenge the portal can meet (second factor, sign in again), else the page saying why. */
static void challenged(zt_local_req *r, const zt_oidc_authz *az, const zt_portal_sess *s,
                       const zt_form *f, const zt_oidc_decision *d)
{
    bool ok = false;
    audit_decision(r, az, s, "challenge", d, &ok);
    if (!ok) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    if (az->prompt & ZT_OIDC_PROMPT_NONE) {
        client_error(r, az, "interaction_required", "a policy asks for more authentication");
        return;
    }
    char marker[ZT_OIDC_REAUTH_MAX];
    new_marker(r, az, s->user_id, marker);
    if (d->reauth)
        go_portal(r, ZT_PORTAL_LOGIN "?prompt=login&rd=", f, marker);
    else if (d->control == ZT_CTL_MFA)
        go_portal(r, ZT_PORTAL_MFA "?rd=", f, NULL);
    else
        unmet_page(r, d, f);
}

/* The session must be recent enough (prompt=login, max_age) unless it was renewed for this
 * very request: reauth_after is the time of our checked marker, 0 when none. */
static bool needs_reauth(const zt_oidc_authz *az, const zt_portal_sess *s, int64_t reauth_after,
                         int64_t now)
{
    if (reauth_after > 0 && last_auth(s) >= reauth_after)
        return false;
    if (az->prompt & ZT_OIDC_PROMPT_LOGIN)
        return true;
    /* max_age=0 is prompt=login (Core 3.1.2.1): a sign-in of this very second is not fresh. */
    return az->max_age == 0 || (az->max_age > 0 && now - last_auth(s) > az->max_age);
}

static void with_session(zt_local_req *r, const zt_oidc_authz *az, const zt_form *f)
{
    zt_portal_sess s;
    zt_portal_session(r, &s);
    int64_t now = zt_portal_now();
    bool none = (az->prompt & ZT_OIDC_PROMPT_NONE) != 0;
    if (!s.valid || s.mfa_pending || zt_portal_sess_is_tap(&s)) {
        if (none)
            client_error(r, az, "login_required", "no signed-in session");
        else
            go_portal(r, ZT_PORTAL_LOGIN "?rd=", f, NULL);
        return;
    }
    int64_t reauth_after = checked_marker(r, az, s.user_id, now);
    char marker[ZT_OIDC_REAUTH_MAX];
    new_marker(r, az, s.user_id, marker);
    if (needs_reauth(az, &s, reauth_after, now)) {
        if (none)
            client_error(r, az, "login_required", "the sign-in is older than asked");
        else
            go_portal(r, ZT_PORTAL_LOGIN "?prompt=login&rd=", f, marker);
        return;
    }
    /* acr_values is voluntary: one step-up is offered; if it does not reach the acr, the code
     * carries the acr reached and the client decides (RFC 9470). */
    if (!zt_oidc_acr_meets(s.amr, az->acr_wanted) && reauth_after == 0 && !none) {
        go_portal(r,
                  (az->acr_wanted & ZT_OIDC_WANT_PHR) ? ZT_PORTAL_PASSKEY "?rd="
                                                      : ZT_PORTAL_MFA "?rd=",
                  f, marker);
        return;
    }
    zt_oidc_decision *d = malloc(sizeof(*d));
    if (d == NULL || decide(r, &s, az->app, d) != 0)
        zt_portal_unavailable(r, "policy inputs unavailable");
    else if (d->outcome == ZT_OUTCOME_BLOCK)
        blocked(r, az, &s, d);
    else if (d->outcome == ZT_OUTCOME_CHALLENGE)
        challenged(r, az, &s, f, d);
    else
        issue_code(r, az, &s, d);
    free(d);
}

void zt_oidc_authorize(zt_idp *idp, zt_local_req *r)
{
    (void)idp;
    if (!zt_portal_method_ok(r, true))
        return;
    const char *params = r->query;
    size_t len = r->query_len;
    if (zt_portal_is_post(r)) {
        const zt_span *ct = zt_local_header_get(r, "Content-Type");
        if (ct == NULL || !zt_form_content_type_ok(*ct)) {
            zt_local_respond_page(r, 415, OI_ERROR_TITLE, OI_BAD_REQUEST,
                                  "oidc authorize POST is not a form");
            return;
        }
        params = r->body, len = r->body_len;
    }
    zt_form f;
    zt_oidc_authz az;
    zt_oidc_authz_err e = zt_oidc_authz_parse(r->cfg, params, len, &f, &az);
    if (e == ZT_OIDC_AUTHZ_BAD_FORM || e == ZT_OIDC_AUTHZ_NO_CLIENT ||
        e == ZT_OIDC_AUTHZ_BAD_REDIRECT_URI)
        refuse_page(r, e, &az);
    else if (e != ZT_OIDC_AUTHZ_OK)
        client_error(r, &az, zt_oidc_authz_err_code(e), az.error_description);
    else
        with_session(r, &az, &f);
    zt_form_dispose(&f);
}
