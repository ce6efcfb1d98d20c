/* Password change for a signed-in user: the current password is verified (throttled like a
 * sign-in, so a stolen session cannot guess it), the new one is checked against the length
 * policy and the breach corpus, hashed off the loop and stored by the account service
 * (session/account.h, the user as the actor), which bumps the user's epoch, deletes every
 * session and records the change; this browser then gets a fresh one. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "identity/password.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "http/handler.h"
#include "response/incident.h"
#include "risk/risk.h"
#include "session/throttle.h"
#include "store/store.h"

typedef struct pw_job {
    zt_portal_flow f; /* first: the shared skeleton (portal.h) */
    zt_portal_sess s;
    zt_user user;
} pw_job;

static void password_page(zt_local_req *r, zt_msg error)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_portal_csrf_token(r, ZT_PORTAL_PASSWORD, token);
    rc = rc ? rc : zt_html_begin(b, r->lang, PM_TITLE_PASSWORD);
    if (rc == 0 && error != MSG_NONE)
        rc = zt_html_notice(b, r->lang, error, true);
    rc = rc ? rc : zt_buf_append_str(b, "<p>");
    rc = rc ? rc : zt_html_msg(b, r->lang, PM_PASSWORD_HINT);
    rc = rc ? rc : zt_buf_printf(b, " %u</p>", r->cfg->auth.password_min_chars);
    rc = rc ? rc : zt_html_form_begin(b, ZT_PORTAL_PASSWORD, token, NULL);
    rc = rc ? rc
            : zt_html_input(b, r->lang, PM_LABEL_CURRENT, "current_password", "password",
                            "current-password", NULL);
    rc = rc ? rc
            : zt_html_input(b, r->lang, PM_LABEL_NEW, "new_password", "password", "new-password",
                            NULL);
    rc = rc ? rc
            : zt_html_input(b, r->lang, PM_LABEL_CONFIRM, "confirm_password", "password",
                            "new-password", NULL);
    rc = rc ? rc : zt_html_form_end(b, r->lang, PM_BUTTON_CHANGE);
    rc = rc ? rc : zt_html_link(b, r->lang, ZT_PORTAL_HOME, PM_TITLE_ACCOUNT);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_wipe(token, sizeof(token));
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}

/* A secure password change (the one that remediates user risk) needs a second factor this
 * recent when the user has one. */
#define PW_MFA_FRESH_S 600

/* Only a full session may change the password; a pending one finishes its second factor, and
 * a user with TOTP proves it again when the session's second factor is older than
 * PW_MFA_FRESH_S (a stolen session or password alone cannot change it). */
static bool full_session(zt_local_req *r, zt_portal_sess *s)
{
    if (!zt_portal_require_session(r, s, ZT_PORTAL_PASSWORD))
        return false;
    if (s->mfa_pending) {
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, ZT_PORTAL_PASSWORD);
        return false;
    }
    if (s->mfa_time != 0 && s->mfa_time >= zt_portal_now() - PW_MFA_FRESH_S)
        return true;
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, s->user_id, &t);
    zt_store_totp_dispose(&t);
    if (rc == -ENOENT)
        return true;
    if (rc != 0)
        zt_portal_unavailable(r, "store error");
    else
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, ZT_PORTAL_PASSWORD);
    return false;
}

static bool audit_change(zt_local_req *r, const pw_job *j, bool ok, const char *reason)
{
    zt_portal_event ev = {.cls = ZT_EV_ACCOUNT_CHANGE,
                          .activity = 3, /* OCSF: Password Change */
                          .success = ok,
                          .email = j->s.email,
                          .user_id = j->s.user_id,
                          .factor = "password",
                          .message = ok ? "password changed" : "password change refused",
                          .reason = reason};
    return zt_portal_audit(r, &ev);
}

static void refuse(pw_job *j, const char *reason, zt_msg msg)
{
    zt_local_req *r = j->f.r;
    r->log_detail = "password change refused";
    if (!audit_change(r, j, false, reason))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        password_page(r, msg);
    zt_portal_flow_free(j);
}

static void hash_done(void *ctx, int result, const char *encoded)
{
    pw_job *j = ctx;
    zt_local_req *r = j->f.r;
    char hash[ZT_SESSION_HASH_LEN + 1];
    int64_t now = zt_portal_now();
    zt_account_env env = zt_portal_account_env(r);
    zt_actor who;
    zt_portal_actor(r, j->s.email, &who);
    zt_account_result res;
    if (result != 0 || encoded == NULL) {
        zt_portal_unavailable(r, "could not hash the new password");
    } else if (zt_account_set_password(&env, &who, j->s.user_id, encoded, &res) != 0) {
        zt_portal_unavailable(r, "could not store the new password");
    } else if (res.audit_rc != 0) {
        zt_portal_unavailable(r, "audit log unavailable");
    } else {
        /* A secure password change remediates every open detection of the user (Entra:
         * userPerformedSecuredPasswordChange); the bump below also reloads their risk. */
        zt_risk_event rev;
        memset(&rev, 0, sizeof(rev));
        int rrc = r->svc->risk != NULL
                      ? zt_risk_remediate_user(r->svc->risk, j->s.user_id, now, &rev)
                      : 0;
        if (rrc != 0)
            zt_error("request %s: password changed, but the user's risk could not be "
                     "remediated: %s",
                     r->request_id, zt_store_errmsg());
        rev.reload_sessions = false; /* bumped just below */
        /* Every other session died with the change (the service bumped the counter); bump again
         * so caches that reloaded in between also see the remediated risk. */
        zt_revocation_bump(r->svc->state_dir);
        zt_session_cache_forget(r->sessions, j->s.id_hash);
        zt_portal_sess old = j->s;
        old.valid = false; /* already deleted with the others */
        if (!audit_change(r, j, true, NULL) ||
            (rrc == 0 && !zt_portal_risk_event(r, &rev, j->s.email)))
            zt_portal_unavailable(r, "audit log unavailable");
        else if (zt_portal_session_upgrade(r, &old, now, j->s.mfa_time, j->s.mfa_method, NULL,
                                           hash) != 0)
            zt_portal_unavailable(r, "could not create the session");
        else {
            zt_portal_signal(r, ZT_SIGNAL_REMEDIATION, "password_change", 0, j->s.user_id,
                             j->s.email,
                             "secure password change: the user's risk is remediated and every "
                             "other session revoked",
                             NULL, true);
            zt_portal_page(r, 200, PM_TITLE_PASSWORD_CHANGED, PM_BODY_PASSWORD_CHANGED,
                           ZT_PORTAL_HOME, PM_CONTINUE);
        }
    }
    zt_portal_flow_free(j);
}

static void verify_done(void *ctx, int result)
{
    pw_job *j = ctx;
    zt_local_req *r = j->f.r;
    if (result != ZT_PASSWORD_MATCH && result != ZT_PASSWORD_MISMATCH) {
        zt_portal_unavailable(r, "password check failed");
        zt_portal_flow_free(j);
        return;
    }
    bool ok = result == ZT_PASSWORD_MATCH && !j->f.limited && j->user.password_hash[0] != '\0';
    zt_throttle_settle(j->f.throttle, &j->f.ticket, ok, zt_wall_us() / 1000);
    if (!ok) {
        refuse(j, j->f.limited ? "throttled" : "wrong password", PM_ERR_CURRENT);
        return;
    }
    size_t n = 0;
    const char *pw = zt_form_get(&j->f.form, "new_password", &n);
    zt_password_policy pol = {r->cfg->auth.password_min_chars, r->cfg->auth.password_max_chars};
    const char *why = NULL;
    int v = zt_password_check(pw, n, &pol, r->svc->breach, &why);
    if (v != ZT_PASSWORD_OK) {
        zt_msg msg = v == ZT_PASSWORD_TOO_SHORT  ? PM_ERR_TOO_SHORT
                     : v == ZT_PASSWORD_TOO_LONG ? PM_ERR_TOO_LONG
                     : v == ZT_PASSWORD_BREACHED ? PM_ERR_BREACHED
                                                 : PM_ERR_INVALID_PW;
        refuse(j, v == ZT_PASSWORD_BREACHED ? "breached password" : "password policy", msg);
        return;
    }
    int rc = zt_password_hash_async(r->svc->passwords, r->loop, pw, n, hash_done, j);
    if (rc != 0) {
        zt_portal_unavailable(r, rc == -EBUSY ? "password hashing queue full" : "hash failed");
        zt_portal_flow_free(j);
    }
}

/* A user of an LDAP directory (docs/LDAP.md): the directory holds the password. */
static bool directory_user(const zt_user *u)
{
    return strncmp(u->source, "ldap:", 5) == 0;
}

static void verify_start(void *ctx)
{
    pw_job *j = ctx;
    zt_local_req *r = j->f.r;
    size_t n = 0;
    const char *cur = zt_form_get(&j->f.form, "current_password", &n);
    bool usable = !j->f.limited && j->user.password_hash[0] != '\0';
    int rc = zt_password_verify_async(
        r->svc->passwords, r->loop, usable ? j->user.password_hash : NULL, cur, n, verify_done, j);
    if (rc != 0) {
        zt_portal_unavailable(r, rc == -EBUSY ? "password hashing queue full" : "verify failed");
        zt_portal_flow_free(j);
    }
}

static void password_post(zt_local_req *r)
{
    static const zt_portal_flow_ops ops = {.verify = verify_start};
    pw_job *j = zt_portal_flow_start(r, sizeof(*j));
    if (j == NULL)
        return;
    size_t a = 0, b = 0, c = 0;
    const char *cur = zt_form_get(&j->f.form, "current_password", &a);
    const char *nw = zt_form_get(&j->f.form, "new_password", &b);
    const char *cf = zt_form_get(&j->f.form, "confirm_password", &c);
    if (cur == NULL || nw == NULL || cf == NULL || a > ZT_FORM_PASSWORD_MAX ||
        b > ZT_FORM_PASSWORD_MAX || c > ZT_FORM_PASSWORD_MAX) {
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "password form fields");
        zt_portal_flow_free(j);
        return;
    }
    if (!full_session(r, &j->s)) {
        zt_portal_flow_free(j);
        return;
    }
    if (b != c || !zt_ct_eq(nw, cf, b)) {
        password_page(r, PM_ERR_MISMATCH);
        zt_portal_flow_free(j);
        return;
    }
    int rc = zt_store_user_get_by_id(r->svc->store, j->s.user_id, &j->user);
    if (rc != 0) {
        zt_portal_unavailable(r, "store error");
        zt_portal_flow_free(j);
        return;
    }
    if (directory_user(&j->user)) { /* sign-in checks the directory's password, never ours */
        refuse(j, "directory account", PM_ERR_DIRECTORY_PASSWORD);
        return;
    }
    zt_portal_flow_admit(j, j->s.email, j->s.user_id, &ops);
}

void zt_portal_password(zt_local_req *r)
{
    if (zt_portal_go_central(r))
        return;
    if (!zt_portal_method_ok(r, true))
        return;
    zt_portal_sess s;
    if (zt_portal_is_post(r))
        password_post(r);
    else if (full_session(r, &s)) {
        zt_user u = {0};
        bool dir = zt_store_user_get_by_id(r->svc->store, s.user_id, &u) == 0 && directory_user(&u);
        zt_user_dispose(&u);
        password_page(r, dir ? PM_ERR_DIRECTORY_PASSWORD : MSG_NONE);
    }
}
