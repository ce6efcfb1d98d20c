/* SAML Web Browser SSO at /.ztgate/saml/sso (SP-initiated, HTTP-Redirect and HTTP-POST
 * bindings) and /.ztgate/saml/init?app=NAME (IdP-initiated):
 *
 *   read the request (bounded) → Lasso parses it and checks its signature → the SP must be a
 *   configured app (else a refusal page: nothing is sent to an unvalidated URL) → the user's
 *   portal session (none: sign in first; IsPassive: NoPassive) → ForceAuthn: a sign-in newer
 *   than the request → Conditional Access for the app (allow / step-up / block) → the signed
 *   Response, auto-posted to the ACS URL the SP's metadata lists.
 *
 * Whenever the browser must go elsewhere first, the request is kept server-side
 * (saml_keep.c) and resumed by GET /.ztgate/saml/sso?resume=ID: that is how the POST binding
 * survives the detour. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/handler.h"
#include "identity/secretbox.h"
#include "idp/saml.h"
#include "idp/saml_keep.h"
#include "idp/saml_login.h"
#include "lib/secure.h"
#include "portal/portal.h"
#include "store/store.h"

#define SAML_GROUPS_MAX 64

typedef struct sso_ctx {
    zt_local_req *r;
    const char *msg; /* the request for Lasso; NULL: IdP-initiated */
    bool post;
    char relay[ZT_SAML_RELAY_MAX + 1];
    const zt_app_cfg *app;
    zt_saml_req_info info;
    char resume[ZT_SAML_KEEP_ID_LEN + 1]; /* "" until kept */
    int64_t kept_at;                      /* 0 until kept */
    bool deny;                            /* the block page's "back to the app" link */
} sso_ctx;

/* ---- where the browser comes back to ---- */

/* The URL that resumes this request (kept first when it is not yet). 0 or -1. */
static int self_url(sso_ctx *c, zt_buf *out)
{
    if (c->msg == NULL) /* IdP-initiated: the init URL carries everything */
        return zt_buf_printf(out, "%s?%s", ZT_SAML_INIT, c->r->query) ? -1 : 0;
    if (c->resume[0] == '\0') {
        c->kept_at = zt_portal_now();
        if (zt_saml_keep_put(c->msg, c->post, c->relay, c->kept_at, c->resume) < 0)
            return -1;
    }
    return zt_buf_printf(out, "%s?resume=%s", ZT_SAML_SSO, c->resume) ? -1 : 0;
}

/* 303 to a portal page (path may carry a query) with rd = this request's resume URL. */
static void bounce(sso_ctx *c, const char *path)
{
    zt_buf self, loc;
    zt_buf_init(&self, ZT_RD_MAX);
    zt_buf_init(&loc, 0);
    int rc = self_url(c, &self);
    rc = rc ? rc : zt_buf_cstr(&self);
    rc = rc ? rc : zt_buf_printf(&loc, "%s%srd=", path, strchr(path, '?') ? "&" : "?");
    rc = rc ? rc : zt_url_encode(&loc, self.data, self.len, false);
    rc = rc ? rc : zt_buf_cstr(&loc);
    if (rc != 0)
        zt_portal_unavailable(c->r, "saml: cannot keep the request");
    else
        zt_portal_redirect(c->r, loc.data);
    zt_buf_dispose(&self);
    zt_buf_dispose(&loc);
}

/* ---- the subject of the assertion ---- */

typedef struct groups_acc {
    char names[SAML_GROUPS_MAX][ZT_STORE_GROUP_MAX + 1];
    const char *ptrs[SAML_GROUPS_MAX];
    size_t n;
} groups_acc;

static int group_cb(void *ctx, const char *name)
{
    groups_acc *g = ctx;
    if (g->n >= SAML_GROUPS_MAX)
        return 0;
    size_t len = strnlen(name, ZT_STORE_GROUP_MAX);
    memcpy(g->names[g->n], name, len);
    g->names[g->n][len] = '\0';
    g->ptrs[g->n] = g->names[g->n];
    g->n++;
    return 0;
}

typedef struct subject_buf {
    zt_user user;
    groups_acc groups;
    char persistent[ZT_SAML_PERSISTENT_LEN + 1];
    zt_saml_subject subj;
} subject_buf;

/* The absolute expiry of the browser's ztgate session (looked up again: the portal's view of
 * the session does not carry it); now + the default absolute lifetime if it is gone. */
static int64_t session_expiry(zt_local_req *r)
{
    const zt_session_info *info = NULL;
    int64_t now = zt_portal_now();
    zt_session_status st =
        zt_session_lookup(r->sessions, zt_portal_cookies(r), r->https, r->host, now, &info);
    if (st == ZT_SESSION_VALID && info != NULL && info->absolute_expires_at > now)
        return info->absolute_expires_at;
    return now + ZT_SAML_ASSERTION_TTL_S;
}

static int subject_of(sso_ctx *c, const zt_portal_sess *s, const char *sp, subject_buf *sb)
{
    zt_local_req *r = c->r;
    const zt_saml_sp_cfg *cfg = &c->app->saml;
    if (zt_store_user_get_by_id(r->svc->store, s->user_id, &sb->user) != 0 ||
        zt_store_user_groups(r->svc->store, s->user_id, group_cb, &sb->groups) != 0)
        return -1;
    zt_wipe(sb->user.password_hash, sizeof(sb->user.password_hash)); /* not needed here */
    bool persistent = cfg->name_id_format == ZT_SAML_NAMEID_PERSISTENT;
    if (persistent) {
        unsigned char key[32];
        zt_secretbox_derive(r->svc->secrets, "ztgate saml persistent nameid v1", key);
        zt_saml_persistent_id(key, s->user_id, sp, sb->persistent);
        zt_wipe(key, sizeof(key));
    }
    sb->subj = (zt_saml_subject){
        .name_id = persistent ? sb->persistent : sb->user.email,
        .name_id_format = persistent ? ZT_SAML_FMT_PERSISTENT : ZT_SAML_FMT_EMAIL,
        .email = sb->user.email,
        .display_name = sb->user.name,
        .groups = sb->groups.ptrs,
        .n_groups = sb->groups.n,
        .amr = s->amr,
        .auth_time = s->auth_time,
        .now = zt_portal_now(),
        .session_expires = session_expiry(r),
        .attrs = &cfg->attributes,
    };
    return 0;
}

/* ---- the answer ---- */

static bool audit_answer(sso_ctx *c, const zt_portal_sess *s, const zt_saml_out *out)
{
    bool ok = out->status == ZT_SAML_ST_SUCCESS;
    zt_saml_audit_ev ev = {
        .activity = ZT_ACT_AUTH_LOGON,
        .success = ok,
        .message = ok ? "saml.assertion" : "saml.response.error",
        .reason = out->status == ZT_SAML_ST_DENIED       ? "RequestDenied"
                  : out->status == ZT_SAML_ST_NO_PASSIVE ? "NoPassive"
                  : ok                                   ? NULL
                                                         : "InvalidNameIDPolicy",
        .sess = s,
        .app = c->app->name,
        .sp = out->sp,
        .name_id = ok ? out->name_id : NULL,
        .assertion = ok ? out->assertion_id : NULL,
    };
    return zt_saml_audit(c->r, &ev);
}

static int build(sso_ctx *c, const zt_portal_sess *s, zt_saml_status st, zt_saml_out *out)
{
    subject_buf *sb = calloc(1, sizeof(*sb));
    char *dump = st == ZT_SAML_ST_SUCCESS ? zt_saml_parts_get(c->r->svc->store, s->id_hash) : NULL;
    const zt_config *cfg = c->r->cfg;
    struct _LassoServer *server = zt_saml_server_lock(cfg);
    const char *sp = c->msg ? c->info.sp : zt_saml_entity_of(c->app->name);
    int rc = sb == NULL || server == NULL || sp == NULL ? -1 : 0;
    if (rc == 0 && st == ZT_SAML_ST_SUCCESS)
        rc = subject_of(c, s, sp, sb);
    zt_saml_answer_in in = {.msg = c->msg,
                            .sp = sp,
                            .relay = c->relay,
                            .status = st,
                            .subject = &sb->subj,
                            .session_dump = dump};
    rc = rc ? rc : zt_saml_authn_answer(server, &in, out);
    if (server != NULL)
        zt_saml_server_unlock();
    free(dump);
    if (sb != NULL)
        zt_user_dispose(&sb->user);
    free(sb);
    return rc;
}

/* The session's SSOs so far, for single logout; a failure costs only that (logged). */
static void keep_session(sso_ctx *c, const zt_portal_sess *s, const char *dump)
{
    if (dump == NULL || zt_saml_parts_put(c->r->svc->store, s->id_hash, dump, zt_portal_now()) == 0)
        return;
    zt_warn("saml: the session's sign-ins could not be stored; single logout will not know them "
            "[%s]",
            c->r->request_id);
}

static void answer(sso_ctx *c, const zt_portal_sess *s, zt_saml_status st)
{
    zt_saml_out out;
    memset(&out, 0, sizeof(out));
    int rc = build(c, s, st, &out);
    if (rc != 0) {
        zt_warn("saml: app '%s': no response built: %s", c->app->name,
                rc == -1 ? "internal error" : zt_saml_strerror(rc));
        zt_saml_refuse(c->r, 400, SAML_BODY_BAD_REQUEST, "saml: response not built");
        return;
    }
    if (out.status == ZT_SAML_ST_SUCCESS)
        keep_session(c, s, out.session_dump);
    if (!audit_answer(c, s, &out)) {
        zt_saml_out_dispose(&out);
        zt_portal_unavailable(c->r, "audit log unavailable");
        return;
    }
    if (c->resume[0] != '\0') /* answered: the resume id is single use */
        zt_saml_keep_drop(c->resume);
    zt_info("saml: app '%s' (%s): %s response posted to %s [%s]", c->app->name, out.sp,
            out.status == ZT_SAML_ST_SUCCESS ? "success" : "error", out.url, c->r->request_id);
    zt_saml_post_page(c->r, out.url, "SAMLResponse", out.body, c->relay);
    zt_saml_out_dispose(&out);
}

/* ---- Conditional Access ---- */

static const char *verdict_name(const zt_saml_decision *d)
{
    static const char *const names[] = {"allow", "mfa", "sign_in", "unmet", "block"};
    return d->verdict == ZT_SAML_UNMET ? zt_control_name((zt_control)d->control)
                                       : names[d->verdict];
}

static bool audit_decision(sso_ctx *c, const zt_portal_sess *s, const zt_saml_decision *d)
{
    const char *decision = d->verdict == ZT_SAML_ALLOW   ? "allow"
                           : d->verdict == ZT_SAML_BLOCK ? "block"
                                                         : "challenge";
    char msg[32];
    snprintf(msg, sizeof(msg), "saml.sso.%s", decision);
    zt_saml_audit_ev ev = {.activity = ZT_ACT_AUTH_LOGON,
                           .success = d->verdict == ZT_SAML_ALLOW,
                           .message = msg,
                           .reason = d->verdict == ZT_SAML_ALLOW ? NULL : verdict_name(d),
                           .sess = s,
                           .app = c->app->name,
                           .sp = c->msg ? c->info.sp : NULL,
                           .decision = decision,
                           .policy = d->policy[0] ? d->policy : NULL,
                           .policies = d->policies[0] ? d->policies : NULL,
                           .report_only = d->report_only};
    return zt_saml_audit(c->r, &ev);
}

/* The block or explanatory page, with the link that answers the SP RequestDenied. */
static void refused(sso_ctx *c, const zt_saml_decision *d)
{
    zt_buf back;
    zt_buf_init(&back, ZT_RD_MAX);
    int rc = self_url(c, &back);
    rc = rc ? rc : zt_buf_cstr(&back);
    size_t self_len = back.len;
    rc = rc ? rc : zt_buf_append_str(&back, "&deny=1");
    rc = rc ? rc : zt_buf_cstr(&back);
    if (rc != 0) {
        zt_portal_unavailable(c->r, "saml: cannot keep the request");
    } else if (d->verdict == ZT_SAML_BLOCK) {
        zt_saml_block_page(c->r, d, back.data);
    } else {
        back.data[self_len] = '\0'; /* the passkey page comes back to the request itself */
        zt_saml_unmet_page(c->r, d, back.data);
    }
    zt_buf_dispose(&back);
}

static void decide(sso_ctx *c, const zt_portal_sess *s)
{
    zt_saml_decision d;
    groups_acc *g = calloc(1, sizeof(*g));
    if (g == NULL || zt_store_user_groups(c->r->svc->store, s->user_id, group_cb, g) != 0) {
        free(g);
        zt_portal_unavailable(c->r, "saml: the user's groups could not be read");
        return;
    }
    zt_saml_decide(c->r, s, c->app, g->ptrs, g->n, &d);
    free(g);
    if (!audit_decision(c, s, &d)) {
        zt_portal_unavailable(c->r, "audit log unavailable");
        return;
    }
    switch (d.verdict) {
    case ZT_SAML_ALLOW:
        answer(c, s, ZT_SAML_ST_SUCCESS);
        return;
    case ZT_SAML_MFA:
        bounce(c, ZT_PORTAL_MFA);
        return;
    case ZT_SAML_SIGN_IN:
        bounce(c, ZT_PORTAL_LOGIN "?prompt=login");
        return;
    case ZT_SAML_UNMET:
    case ZT_SAML_BLOCK:
        refused(c, &d);
        return;
    }
}

/* The request is read and its SP known: the session decides the rest. */
static void run_for_session(sso_ctx *c)
{
    zt_portal_sess s;
    zt_portal_session(c->r, &s);
    bool signed_in = s.valid && !s.mfa_pending && !zt_portal_sess_is_tap(&s);
    if (c->deny)
        answer(c, &s, ZT_SAML_ST_DENIED);
    else if (!signed_in && c->info.is_passive)
        answer(c, &s, ZT_SAML_ST_NO_PASSIVE);
    else if (!signed_in)
        bounce(c, ZT_PORTAL_LOGIN);
    else if (c->info.force_authn && (c->kept_at == 0 || s.auth_time < c->kept_at))
        bounce(c, ZT_PORTAL_LOGIN "?prompt=login");
    else
        decide(c, &s);
}

/* ---- reading the request ---- */

static bool signed_request(const sso_ctx *c)
{
    return zt_saml_signed(c->msg, c->post, c->info.signature_status);
}

/* A signature must verify when present, and be present when the SP must sign. */
static bool signature_refused(const sso_ctx *c, bool must_sign)
{
    bool has = signed_request(c);
    if ((has && c->info.signature_status == 0) || (!has && !must_sign))
        return false;
    zt_warn("saml: app '%s': AuthnRequest signature: %s", c->app->name,
            has ? zt_saml_strerror(c->info.signature_status) : "unsigned, and signing is required");
    return true;
}

/* Under the lock, for a request that just arrived (not one resumed after the sign-in) and
 * whose signature, if any, verified: not SHA-1, IssueInstant within ZT_SAML_MSG_WINDOW_S of
 * now, Destination our SSO URL (required when signed), and a signed one never seen before.
 * NULL, or why not. */
static const char *request_stale(sso_ctx *c)
{
    bool is_signed = signed_request(c);
    if (zt_saml_weak_signature(c->msg, c->post))
        return "signed with SHA-1 (use RSA-SHA256)";
    int64_t now = zt_portal_now(), issued = 0;
    if (zt_saml_parse_time(c->info.issue_instant, &issued) != 0)
        return "IssueInstant missing or malformed";
    if (issued > now + ZT_SAML_MSG_WINDOW_S || issued < now - ZT_SAML_MSG_WINDOW_S)
        return "IssueInstant too far from now (stale or replayed)";
    zt_buf url;
    zt_buf_init(&url, 256);
    bool dest_ok =
        zt_buf_printf(&url, "%s%s", c->r->cfg->idp.issuer, ZT_SAML_SSO) == 0 &&
        (c->info.destination[0] != '\0' ? strcmp(c->info.destination, url.data) == 0 : !is_signed);
    zt_buf_dispose(&url);
    if (!dest_ok)
        return "Destination is not this IdP's SingleSignOnService";
    int seen = is_signed ? zt_saml_seen_id(c->info.sp, c->info.request_id,
                                           issued + ZT_SAML_MSG_WINDOW_S, now)
                         : 0;
    return seen == 1   ? "replayed (its ID was seen before)"
           : seen != 0 ? "too many recent signed requests to tell a replay"
                       : NULL;
}

/* Lasso reads it; the SP must be an app of ours, and signed when it has to be. */
static void run_request(sso_ctx *c)
{
    struct _LassoServer *server = zt_saml_server_lock(c->r->cfg);
    if (server == NULL) {
        zt_portal_unavailable(c->r, "saml: identity provider unavailable");
        return;
    }
    zt_saml_authn_parse(server, c->msg, &c->info);
    c->app = c->info.sp[0] ? zt_saml_app_of(c->r->cfg, c->info.sp) : NULL;
    bool must_sign = c->app != NULL &&
                     (c->app->saml.require_signed_requests || zt_saml_sp_wants_signed(c->info.sp));
    const char *stale = c->app != NULL && c->info.rc == 0 &&
                                (!signed_request(c) || c->info.signature_status == 0) &&
                                c->kept_at == 0
                            ? request_stale(c)
                            : NULL;
    zt_saml_server_unlock();
    if (c->app == NULL) {
        zt_warn("saml: AuthnRequest from an unknown service provider (issuer '%.200s'): %s",
                c->info.sp, c->info.rc ? zt_saml_strerror(c->info.rc) : "not configured");
        zt_saml_refuse(c->r, 400, SAML_BODY_UNKNOWN_SP, "saml: unknown service provider");
    } else if (signature_refused(c, must_sign)) {
        zt_saml_refuse(c->r, 400, signed_request(c) ? SAML_BODY_BAD_REQUEST : SAML_BODY_UNSIGNED,
                       "saml: AuthnRequest signature");
    } else if (stale != NULL) {
        zt_warn("saml: app '%s': AuthnRequest refused: %s", c->app->name, stale);
        zt_saml_refuse(c->r, 400, SAML_BODY_BAD_REQUEST, "saml: stale or replayed AuthnRequest");
    } else if (c->info.rc != 0) {
        zt_warn("saml: app '%s': AuthnRequest refused: %s", c->app->name,
                zt_saml_strerror(c->info.rc));
        zt_saml_refuse(c->r, 400, SAML_BODY_BAD_REQUEST, "saml: bad AuthnRequest");
    } else {
        run_for_session(c);
    }
}

static bool read_relay(sso_ctx *c, const char *s, size_t n)
{
    zt_buf relay;
    zt_buf_init(&relay, ZT_SAML_RELAY_MAX + 1);
    int rc = zt_saml_param(s, n, "RelayState", &relay);
    bool ok = rc >= 0 && zt_saml_relay_ok(relay.data ? relay.data : "", relay.len);
    if (ok && rc == 1)
        memcpy(c->relay, relay.data, relay.len + 1);
    zt_buf_dispose(&relay);
    return ok;
}

/* GET ?resume=ID[&deny=1]: a kept request. */
static bool read_resume(sso_ctx *c, zt_buf *id, zt_saml_kept *kept)
{
    zt_local_req *r = c->r;
    zt_buf deny;
    zt_buf_init(&deny, 8);
    int drc = zt_saml_param(r->query, r->query_len, "deny", &deny);
    c->deny = drc == 1 && strcmp(deny.data, "1") == 0;
    zt_buf_dispose(&deny);
    if (zt_saml_keep_get(id->data, zt_portal_now(), kept) < 0 || kept->logout) {
        zt_saml_refuse(r, 400, SAML_BODY_EXPIRED, "saml: unknown or expired resume id");
        return false;
    }
    c->msg = kept->msg;
    c->post = kept->post;
    c->kept_at = kept->created;
    memcpy(c->relay, kept->relay, sizeof(c->relay));
    memcpy(c->resume, id->data, ZT_SAML_KEEP_ID_LEN + 1);
    return true;
}

/* The message of either binding, bounded. false: refused (answered). */
static bool read_message(sso_ctx *c, zt_buf *msg, zt_saml_kept *kept)
{
    zt_local_req *r = c->r;
    bool post = zt_portal_is_post(r);
    const char *src = post ? r->body : r->query;
    size_t n = post ? r->body_len : r->query_len;
    if (post && !zt_form_content_type_ok(*zt_local_header_get(r, "Content-Type"))) {
        zt_saml_refuse(r, 415, SAML_BODY_BAD_REQUEST, "saml: not a form");
        return false;
    }
    zt_buf id;
    zt_buf_init(&id, ZT_SAML_KEEP_ID_LEN + 1);
    int rid = post ? 0 : zt_saml_param(src, n, "resume", &id);
    bool ok = rid == 1 ? read_resume(c, &id, kept) : false;
    zt_buf_dispose(&id);
    if (rid == 1)
        return ok;
    int rc = n > ZT_SAML_MSG_MAX ? -1 : zt_saml_param(src, n, "SAMLRequest", msg);
    if (rc != 1 || rid < 0 || !read_relay(c, src, n)) {
        zt_saml_refuse(r, n > ZT_SAML_MSG_MAX ? 413 : 400, SAML_BODY_BAD_REQUEST,
                       rc == 0 ? "saml: no SAMLRequest" : "saml: malformed request");
        return false;
    }
    c->post = post;
    c->msg = post ? msg->data : r->query; /* Redirect: Lasso checks the raw query's signature */
    return true;
}

void zt_saml_sso(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r) && zt_local_header_get(r, "Content-Type") == NULL) {
        zt_saml_refuse(r, 415, SAML_BODY_BAD_REQUEST, "saml: not a form");
        return;
    }
    sso_ctx c = {.r = r};
    zt_buf msg;
    zt_buf_init(&msg, ZT_SAML_MSG_MAX + 1);
    zt_saml_kept kept = {0};
    if (read_message(&c, &msg, &kept))
        run_request(&c);
    zt_saml_kept_dispose(&kept);
    zt_buf_dispose(&msg);
}

/* ---- IdP-initiated ---- */

static const zt_app_cfg *saml_app_named(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML && strcmp(cfg->apps[i].name, name) == 0)
            return &cfg->apps[i];
    return NULL;
}

void zt_saml_init(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    sso_ctx c = {.r = r};
    zt_buf name, deny;
    zt_buf_init(&name, 256);
    zt_buf_init(&deny, 8);
    int rc = zt_saml_param(r->query, r->query_len, "app", &name);
    int drc = zt_saml_param(r->query, r->query_len, "deny", &deny);
    c.app = rc == 1 ? saml_app_named(r->cfg, name.data) : NULL;
    c.deny = drc == 1 && strcmp(deny.data, "1") == 0;
    if (rc != 1 || r->query_len > ZT_RD_MAX - 64 || drc < 0 ||
        !read_relay(&c, r->query, r->query_len))
        zt_saml_refuse(r, 400, SAML_BODY_BAD_REQUEST, "saml: malformed init request");
    else if (c.app == NULL)
        zt_saml_refuse(r, 404, SAML_BODY_UNKNOWN_APP, "saml: no such app");
    else
        run_for_session(&c);
    zt_buf_dispose(&name);
    zt_buf_dispose(&deny);
}
