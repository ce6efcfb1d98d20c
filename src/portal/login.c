/* Sign-in with email and password: the HTTP, form and page side of the sign-in state machine
 * (session/signin.h), which decides each step: throttle → credential → risk → second factor →
 * session. Every failure (unknown user, wrong password, disabled, no
 * password, account limited) costs one argon2id verify and ends in the same page, so neither
 * the body nor the timing says which accounts exist. Brute force goes through the throttle:
 * refused per source IP, delayed and then limited per account, never for the owner's known
 * device. An admitted attempt holds a throttle ticket from admission to its verdict, so the
 * limits hold when the password is checked, not only when the attempt came in. Short delays
 * are held silently; a longer one is answered at once with the sign-in form, the e-mail kept
 * and the seconds to wait (429).
 *
 * A Temporary Access Pass is typed in the password field (as in Entra): text with a pass's
 * shape is redeemed for an account that may sign in, and a redeemed pass opens a pending session
 * limited to enrolling a passkey or TOTP (ZT_SESSION_PURPOSE_TAP). It is throttled, assessed for
 * risk (risky: refused) and fails with the same page as a password. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/metrics.h"
#include "directory/directory.h"
#include "identity/password.h"
#include "lib/net.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "http/handler.h"
#include "response/incident.h"
#include "risk/risk.h"
#include "session/account.h"
#include "session/signin.h"
#include "session/throttle.h"
#include "store/store.h"

typedef struct login_job {
    zt_portal_flow f; /* first: the shared skeleton (portal.h) */
    const char *username;
    const char *password;
    size_t password_len;
    zt_user user;
    zt_signin flow;      /* where this attempt is in the sign-in state machine */
    bool tap_shaped;     /* the password field holds a Temporary Access Pass's shape */
    int64_t tap_expires; /* the redeemed pass's expiry: its session ends then too */
    zt_directory *dir;   /* an LDAP directory checks the password (bind), not a local hash */
} login_job;

static int64_t now_ms(void)
{
    return zt_wall_us() / 1000;
}

/* The sign-in page, with or without the (one, shared) failure notice or the wait notice; the
 * e-mail typed (username, nullable) stays in the form. */
static void login_page_as(zt_local_req *r, int status, const char *rd, const char *username,
                          zt_msg error, uint64_t wait_s)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    if (zt_portal_csrf_token(r, ZT_PORTAL_LOGIN, token) != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    zt_login_view v = {.lang = r->lang,
                       .csrf_token = token,
                       .rd = rd,
                       .error = error,
                       .username = username,
                       .wait_s = wait_s,
                       .passkey = r->cfg->auth.passkeys,
                       .upstreams = r->cfg->oidc_providers,
                       .n_upstreams = r->cfg->n_oidc_providers};
    zt_buf_reset(&r->resp_body);
    r->status = status;
    int rc = zt_render_login(&r->resp_body, &v);
    zt_wipe(token, sizeof(token));
    if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    r->page_script = v.passkey; /* "Sign in with a passkey" */
    zt_local_respond(r);
}

static void login_page(zt_local_req *r, const char *rd, zt_msg error)
{
    login_page_as(r, 200, rd, NULL, error, 0);
}

static void login_get(zt_local_req *r)
{
    zt_form q;
    char rd[ZT_RD_MAX + 1] = "";
    bool prompt_login = false;
    if (zt_form_parse(&q, r->query, r->query_len) == ZT_FORM_OK) {
        zt_portal_rd(r, &q, rd);
        size_t n = 0;
        const char *prompt = zt_form_get(&q, "prompt", &n);
        /* The proxy asks for a fresh password (policy sign_in_frequency): no single sign-on. */
        prompt_login = prompt != NULL && n == 5 && memcmp(prompt, "login", 5) == 0;
    }
    zt_form_dispose(&q);
    zt_portal_sess s;
    zt_portal_session(r, &s);
    if (s.valid && !s.mfa_pending && !prompt_login) {
        zt_portal_finish(r, s.id_hash, rd); /* already signed in: single sign-on */
        return;
    }
    if (!zt_sessions_store_reachable(r->svc->sessions)) {
        zt_portal_database_down(r); /* no form that could only fail */
        return;
    }
    login_page(r, rd, MSG_NONE);
}

/* ---- Identity Protection: the session layer's risk step (session/signin.h) ---- */

static zt_signin_env signin_env(const zt_local_req *r)
{
    return (zt_signin_env){.risk = r->svc->risk,
                           .feeds = atomic_load(&r->svc->feeds),
                           .secrets = r->svc->secrets,
                           .vpn_egress = r->cfg->risk.vpn_egress,
                           .n_vpn_egress = r->cfg->risk.n_vpn_egress};
}

/* Source-level flags newly raised by failed sign-ins: one finding each. */
static bool audit_source_flags(zt_local_req *r, unsigned flags)
{
    char ev[160];
    snprintf(ev, sizeof(ev), "{\"source_ip\":\"%s\"}", r->ip);
    if ((flags & ZT_RISK_SRC_SPRAY) != 0) {
        zt_portal_finding f = {.activity = ZT_ACT_FINDING_CREATE,
                               .title = "risk.source_flagged",
                               .type = zt_risk_type_name(ZT_DET_PASSWORD_SPRAY),
                               .entra = zt_risk_type_entra(ZT_DET_PASSWORD_SPRAY),
                               .level = ZT_RISK_MEDIUM,
                               .evidence = ev,
                               .message = "password spray from this source"};
        zt_metric_detection(zt_risk_type_name(ZT_DET_PASSWORD_SPRAY));
        if (!zt_portal_audit_finding(r, &f))
            return false;
    }
    if ((flags & ZT_RISK_SRC_REPUTATION) != 0) {
        zt_portal_finding f = {.activity = ZT_ACT_FINDING_CREATE,
                               .title = "risk.source_flagged",
                               .type = zt_risk_type_name(ZT_DET_MALICIOUS_IP),
                               .entra = zt_risk_type_entra(ZT_DET_MALICIOUS_IP),
                               .level = ZT_RISK_MEDIUM,
                               .evidence = ev,
                               .message = "source flagged malicious by " ZT_RISK_REPUTATION_SOURCE};
        zt_metric_detection(zt_risk_type_name(ZT_DET_MALICIOUS_IP));
        if (!zt_portal_audit_finding(r, &f))
            return false;
    }
    return true;
}

/* A pass was redeemed, or found and refused: the attempt is recorded as a pass sign-in. */
static bool tap_tried(const login_job *j)
{
    return j->flow.tap != ZT_SIGNIN_TAP_NONE && j->flow.tap != ZT_SIGNIN_TAP_ABSENT;
}

static void login_failed(login_job *j)
{
    zt_local_req *r = j->f.r;
    zt_signin_env env = signin_env(r);
    unsigned flags = zt_signin_note_failure(&env, j->f.account, zt_portal_client_sa(r), j->password,
                                            j->password_len, zt_portal_now());
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = j->username,
                          .user_id = j->flow.exists ? j->user.id : NULL,
                          .factor = tap_tried(j) ? "tap" : "password",
                          .message = "sign-in failed",
                          .reason = zt_signin_failure_reason(&j->flow)};
    r->log_detail = "sign-in failed";
    zt_metric_sign_in(j->flow.limited ? ZT_M_SIGN_IN_THROTTLED : ZT_M_SIGN_IN_FAILURE);
    if (!zt_portal_audit(r, &ev) || !audit_source_flags(r, flags))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        login_page_as(r, 200, j->f.rd, j->username, PM_ERR_SIGN_IN, 0);
}

/* The assessment of a correct password (no write yet). 0 or a negative errno: fail closed. */
static int assess(login_job *j, zt_risk_sign_in *in, zt_ip_info *info, const char *ua,
                  zt_risk_assessment *a)
{
    zt_signin_env env = signin_env(j->f.r);
    return zt_signin_assess(&env, &j->user, j->password, j->password_len,
                            zt_portal_client_sa(j->f.r), ua, j->f.r->device_id, zt_portal_now(), in,
                            info, a);
}

/* A risky sign-in for which no second factor can be asked: refused, detections kept. */
static void risk_refused(login_job *j, zt_risk_sign_in *in, zt_risk_assessment *a)
{
    zt_local_req *r = j->f.r;
    in->session_hash = NULL;
    int rc = zt_risk_record(r->svc->risk, in, a);
    if (rc != 0) {
        zt_portal_unavailable(r, "store error");
        return;
    }
    if (a->reload_sessions)
        zt_revocation_bump(r->svc->state_dir);
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = j->user.email,
                          .user_id = j->user.id,
                          .factor = tap_tried(j) ? "tap" : "password",
                          .message = tap_tried(j)
                                         ? "risky sign-in with a temporary access pass "
                                           "refused"
                                         : "risky sign-in refused: no second factor to ask",
                          .reason = "sign-in risk"};
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    r->log_detail = "risky sign-in refused";
    if (!zt_portal_audit(r, &ev) || !zt_portal_audit_detections(r, &j->user, a))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        zt_portal_fail(r, 403, PM_TITLE_RISK_BLOCKED, PM_BODY_RISK_BLOCKED,
                       "risky sign-in refused");
}

static void login_succeeded(login_job *j)
{
    zt_local_req *r = j->f.r;
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, j->user.id, &t);
    zt_store_totp_dispose(&t);
    uint64_t passkeys = 0;
    int prc = zt_portal_passkey_count(r, j->user.id, &passkeys); /* 0 when passkeys are off */
    if ((rc != 0 && rc != -ENOENT) || prc != 0) {
        zt_portal_unavailable(r, "store error");
        return;
    }
    /* A second factor to ask: TOTP or a passkey (the MFA page offers both). */
    bool has_factor = rc == 0 || passkeys > 0;
    int64_t now = zt_portal_now();

    /* Identity Protection: whether a second factor is owed is the state machine's decision. */
    zt_risk_engine *eng = r->svc->risk;
    zt_risk_sign_in risk_in;
    zt_ip_info info;
    zt_risk_assessment *a = calloc(1, sizeof(*a));
    char ua[ZT_STORE_UA_MAX + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    if (a == NULL) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    if (eng != NULL && assess(j, &risk_in, &info, ua, a) != 0) {
        free(a);
        zt_portal_unavailable(r, "risk assessment failed");
        return;
    }
    bool risky = eng != NULL && a->level >= ZT_RISK_MEDIUM;
    bool tap = j->flow.tap == ZT_SIGNIN_TAP_OK;
    zt_signin_state next = tap ? zt_signin_on_tap_risk(risky)
                               : zt_signin_on_risk(risky, has_factor, r->cfg->auth.mfa_optional);
    if (!zt_signin_go(&j->flow, next)) {
        free(a);
        zt_portal_unavailable(r, "sign-in state machine");
        return;
    }
    if (next == ZT_SIGNIN_BLOCKED) {
        risk_refused(j, &risk_in, a);
        free(a);
        return;
    }
    bool pending = next == ZT_SIGNIN_SECOND_FACTOR;

    /* The session step is the session layer's, shared by every way of signing in. */
    zt_portal_sess old;
    zt_portal_session(r, &old);
    char cookie[ZT_SESSION_COOKIE_LEN + 1], hash[ZT_SESSION_HASH_LEN + 1];
    zt_signin_session q = {.session = {.user_id = j->user.id,
                                       .host = r->host,
                                       .auth_time = now,
                                       .mfa_pending = pending,
                                       .amr = tap ? 0 : ZT_AMR_PWD,
                                       .mfa_method = tap ? ZT_SESSION_PURPOSE_TAP : NULL,
                                       .ip = r->ip,
                                       .user_agent = ua},
                           .replaces_hash = old.valid ? old.id_hash : NULL,
                           .cache = r->sessions,
                           .risk_in = eng != NULL ? &risk_in : NULL,
                           .assessment = eng != NULL ? a : NULL,
                           .state_dir = r->svc->state_dir,
                           .expires_cap = tap ? j->tap_expires : 0};
    if (zt_signin_open_session(r->svc->sessions, eng, &q, now, cookie, hash) != 0) {
        free(a);
        zt_portal_unavailable(r, "could not open the session (or record the sign-in's risk)");
        return;
    }
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = true,
                          .email = j->user.email,
                          .user_id = j->user.id,
                          .factor = tap ? "tap" : "password",
                          .message = tap     ? "temporary access pass accepted; session limited to "
                                               "registering a sign-in method"
                                     : risky ? "password accepted; risky sign-in: second factor "
                                               "demanded"
                                     : pending ? "password accepted; second factor pending"
                                               : "signed in"};
    bool audited = zt_portal_audit(r, &ev) && zt_portal_audit_detections(r, &j->user, a);
    free(a);
    if (!audited) {
        zt_session_destroy(r->svc->sessions, hash);
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    zt_metric_sign_in(ZT_M_SIGN_IN_SUCCESS);
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), cookie, r->https, -1);
    zt_known_device_set(r->svc->sessions, &r->resp_headers, j->user.id, r->https, now);
    zt_wipe(cookie, sizeof(cookie));
    r->log_detail = tap       ? "temporary access pass ok, enrolment only"
                    : pending ? "password ok, MFA pending"
                              : "signed in";
    if (!pending)
        zt_portal_finish(r, hash, j->f.rd);
    else
        zt_portal_redirect_with_rd(r, has_factor && !tap ? ZT_PORTAL_MFA : ZT_PORTAL_TOTP, j->f.rd);
}

/* Parameters raised since the hash was made (argon2_passes, argon2_memory): store a new hash
 * of the same password in the background. Not a password change, so nothing is revoked; the
 * sign-in answer does not wait for it. */
typedef struct rehash_job {
    zt_store *store;
    char user_id[ZT_STORE_ID_LEN + 1];
    char old_hash[ZT_STORE_HASH_MAX + 1];
} rehash_job;

static void rehash_done(void *ctx, int result, const char *encoded)
{
    rehash_job *k = ctx;
    if (result == 0 && encoded != NULL) {
        int rc = zt_store_user_rehash_password(k->store, k->user_id, k->old_hash, encoded);
        if (rc == 0)
            zt_info("user %s: password hash upgraded to the configured parameters", k->user_id);
        else if (rc != -ENOENT)
            zt_warn("user %s: password hash upgrade failed: %s", k->user_id, zt_store_errmsg());
    }
    zt_wipe(k, sizeof(*k));
    free(k);
}

static void maybe_rehash(login_job *j)
{
    zt_local_req *r = j->f.r;
    zt_password_params want = {r->cfg->auth.argon2_passes, (size_t)r->cfg->auth.argon2_memory};
    if (!zt_password_needs_rehash(j->user.password_hash, &want))
        return;
    /* Upgrade only: a hash made with more memory or passes than configured stays. */
    unsigned long m_kib = 0, t = 0;
    const char *params = strstr(j->user.password_hash, "$m=");
    if (params != NULL && sscanf(params, "$m=%lu,t=%lu", &m_kib, &t) == 2 &&
        m_kib * 1024 >= want.memlimit && t >= want.opslimit)
        return;
    rehash_job *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return;
    k->store = r->svc->store;
    snprintf(k->user_id, sizeof(k->user_id), "%s", j->user.id);
    snprintf(k->old_hash, sizeof(k->old_hash), "%s", j->user.password_hash);
    if (zt_password_hash_async(r->svc->passwords, r->loop, j->password, j->password_len,
                               rehash_done, k) != 0) {
        zt_wipe(k, sizeof(*k));
        free(k); /* queue full: the next sign-in tries again */
    }
}

static void verify_done(void *ctx, int result)
{
    login_job *j = ctx;
    zt_local_req *r = j->f.r;
    zt_signin_state next = zt_signin_on_credential(&j->flow, result);
    if (next == ZT_SIGNIN_ERROR) {
        zt_signin_go(&j->flow, next);
        zt_portal_unavailable(r, "password check failed");
        zt_portal_flow_free(j);
        return;
    }
    bool ok = next == ZT_SIGNIN_RISK;
    /* The verdict: the ticket's reservation becomes this failure or success. */
    zt_throttle_settle(j->f.throttle, &j->f.ticket, ok, now_ms());
    if (ok && j->flow.tap != ZT_SIGNIN_TAP_OK && j->dir == NULL)
        maybe_rehash(j); /* never of a pass, nor of a directory's password: not ours to keep */
    if (zt_local_cancelled(r))
        next = ZT_SIGNIN_ERROR; /* nobody to answer: the verdict above still counts */
    bool moved = zt_signin_go(&j->flow, next);
    if (zt_local_cancelled(r))
        zt_local_respond(r);
    else if (!moved)
        zt_portal_unavailable(r, "sign-in state machine");
    else if (ok)
        login_succeeded(j);
    else
        login_failed(j);
    zt_portal_flow_free(j);
}

/* A pass-shaped text for an account that may sign in is redeemed here, after the throttle
 * admitted the attempt (so passes are throttled like passwords) and before the password check.
 * A user without a pass (ABSENT) goes on as a password sign-in. False: the store failed. */
static bool redeem_tap(login_job *j)
{
    if (!j->tap_shaped || !zt_signin_tap_usable(&j->flow))
        return true;
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    if (zt_store_tap_hash(j->user.id, j->password, j->password_len, h) != 0)
        return true;
    zt_store_tap t;
    int rc = zt_store_tap_redeem(j->f.r->svc->store, j->user.id, h, zt_portal_now(), &t);
    zt_wipe(h, sizeof(h));
    j->tap_expires = rc == 0 ? t.expires_at : 0;
    int tap = zt_signin_tap_from_store(rc);
    if (tap < 0)
        return false;
    j->flow.tap = (zt_signin_tap)tap;
    return true;
}

/* ---- directory users: the password is checked by a bind (src/directory, docs/LDAP.md) ---- */

/* The directory that checks this sign-in: the one an account of source "ldap:NAME" comes from,
 * or, for an e-mail ztgate does not know, the directory its domain signs in at. NULL: local. */
static zt_directory *login_directory(zt_local_req *r, bool exists, const zt_user *u,
                                     const char *email)
{
    zt_directories *ds = r->svc->directories;
    if (zt_directories_count(ds) == 0)
        return NULL;
    if (exists)
        return strncmp(u->source, "ldap:", 5) == 0 ? zt_directories_find(ds, u->source + 5) : NULL;
    return zt_directories_for_email(ds, email);
}

/* The directory cannot be reached: fail closed with its own page (503). Sessions already open
 * are not touched; the throttle's reservation is dropped, not counted as a failure. */
static void directory_down(login_job *j)
{
    zt_local_req *r = j->f.r;
    zt_signin_go(&j->flow, ZT_SIGNIN_ERROR);
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = j->username,
                          .user_id = j->user.id[0] != '\0' ? j->user.id : NULL,
                          .factor = "password",
                          .message = "sign-in failed: directory unreachable",
                          .reason = "directory unreachable"};
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    if (!zt_portal_audit(r, &ev))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        zt_portal_fail(r, 503, PM_TITLE_DIRECTORY_DOWN, PM_BODY_DIRECTORY_DOWN,
                       "directory unreachable");
}

/* The directory's word on the user, made true in ztgate (created at the first sign-in when the
 * directory's jit is on; groups and disabled state in step). false: answered (503). */
static bool directory_apply(login_job *j, const zt_dir_user *u, int *verdict)
{
    zt_local_req *r = j->f.r;
    zt_account_env env = zt_portal_account_env(r);
    zt_user_dispose(&j->user);
    int rc = zt_directory_apply_user(&env, j->dir, u, zt_directory_jit(j->dir), &j->user, NULL);
    if (rc == -ENOENT || rc == -EEXIST || rc == -EINVAL) {
        /* Not brought in (jit off), or the e-mail is another source's account: no sign-in. */
        memset(&j->user, 0, sizeof(j->user));
        j->flow.exists = false;
        *verdict = ZT_PASSWORD_MISMATCH;
        return true;
    }
    if (rc != 0) {
        zt_portal_unavailable(r, "store error (directory user)");
        return false;
    }
    j->flow.exists = true;
    j->flow.no_password = false;
    j->flow.disabled = j->user.disabled;
    return true;
}

static void directory_done(void *ctx, zt_dir_auth a, const zt_dir_user *u)
{
    login_job *j = ctx;
    zt_local_req *r = j->f.r;
    if (zt_local_cancelled(r) && a == ZT_DIR_AUTH_UNREACHABLE) {
        zt_local_respond(r);
        zt_portal_flow_free(j);
        return;
    }
    if (a == ZT_DIR_AUTH_UNREACHABLE) {
        directory_down(j);
        zt_portal_flow_free(j);
        return;
    }
    int verdict = ZT_PASSWORD_MISMATCH;
    if (a == ZT_DIR_AUTH_OK || a == ZT_DIR_AUTH_DISABLED) {
        if (!directory_apply(j, u, &verdict)) {
            zt_portal_flow_free(j);
            return;
        }
        if (a == ZT_DIR_AUTH_OK && j->flow.exists)
            verdict = ZT_PASSWORD_MATCH;
    }
    verify_done(j, verdict); /* the same verdict path as a local password; frees j */
}

/* Bind only for an account that may sign in: a ztgate-disabled, expired or throttle-limited
 * one fails on the dummy hash like any local account (no bind, so no directory lockout
 * either). */
static bool directory_start(login_job *j)
{
    zt_local_req *r = j->f.r;
    if (j->dir == NULL || j->flow.tap == ZT_SIGNIN_TAP_OK || j->flow.limited || j->flow.disabled ||
        j->flow.expired)
        return false;
    int rc = zt_directory_authenticate_async(j->dir, r->loop, j->username, j->password,
                                             j->password_len, directory_done, j);
    if (rc == -EBUSY) {
        directory_down(j); /* too many binds already wait for this directory: fail closed */
        zt_portal_flow_free(j);
    } else if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
        zt_portal_flow_free(j);
    }
    return true;
}

static void verify_start(void *ctx)
{
    login_job *j = ctx;
    zt_local_req *r = j->f.r;
    if (zt_local_cancelled(r)) { /* no password checked: job_free drops the reservation */
        zt_local_respond(r);
        zt_portal_flow_free(j);
        return;
    }
    if (!redeem_tap(j)) {
        zt_portal_unavailable(r, "store error");
        zt_portal_flow_free(j);
        return;
    }
    if (directory_start(j))
        return;
    bool usable = zt_signin_usable(&j->flow) && j->flow.tap != ZT_SIGNIN_TAP_OK;
    /* Unusable accounts, and a redeemed pass, are checked against the pool's dummy hash: the
     * same cost whatever the outcome. */
    int rc =
        zt_password_verify_async(r->svc->passwords, r->loop, usable ? j->user.password_hash : NULL,
                                 j->password, j->password_len, verify_done, j);
    if (rc == 0)
        return;
    if (rc == -E2BIG)
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "password too long");
    else
        zt_portal_unavailable(r, rc == -EBUSY ? "password hashing queue full" : "out of memory");
    zt_portal_flow_free(j);
}

/* The sign-in form again, at once, with the e-mail and how long to wait. */
static void login_too_many(login_job *j, uint64_t retry_after_s)
{
    uint64_t wait_s = 0;
    if (zt_portal_refusal(j->f.r, j->username, retry_after_s, &wait_s))
        login_page_as(j->f.r, 429, j->f.rd, j->username, MSG_NONE, wait_s);
}

/* The throttle's verdict is the state machine's first step, taken before the hold. */
static void login_admitted(void *job)
{
    login_job *j = job;
    zt_signin_go(&j->flow, zt_signin_on_throttle(&j->flow, j->f.verdict.result));
}

static void login_refused(void *job, uint64_t retry_after_s)
{
    login_too_many(job, retry_after_s);
}

const zt_oidc_provider_cfg *zt_portal_home_realm(const zt_config *cfg, const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    for (size_t i = 0; at != NULL && i < cfg->n_oidc_providers; i++)
        for (size_t d = 0; d < cfg->oidc_providers[i].n_domains; d++)
            if (strcasecmp(at + 1, cfg->oidc_providers[i].domains[d].s) == 0)
                return &cfg->oidc_providers[i];
    return NULL;
}

/* The page that sends a browser on to its home realm: a redirect would not do, as the sign-in
 * page's CSP (form-action 'self') covers the redirects after its form's POST, and the provider is
 * another origin. A GET to our own start path (meta refresh, or the link) is a new navigation. */
static int home_realm_page(zt_local_req *r, const char *loc)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    int rc = zt_html_begin(b, r->lang, FED_TITLE_CONTINUE);
    rc = rc ? rc : zt_buf_append_str(b, "<meta http-equiv=\"refresh\" content=\"0;url=");
    rc = rc ? rc : zt_html_text(b, loc);
    rc = rc ? rc : zt_buf_append_str(b, "\">");
    rc = rc ? rc : zt_html_p(b, r->lang, FED_BODY_CONTINUE, NULL);
    rc = rc ? rc : zt_html_link(b, r->lang, loc, FED_LINK_CONTINUE);
    return rc ? rc : zt_html_end(b, r->lang, NULL);
}

/* Home-realm discovery: an e-mail of a domain an upstream provider is home to signs in there
 * (the password field, if filled, is never read). The CSRF token was checked already. */
static bool to_home_realm(zt_local_req *r, const char *email, const char *rd)
{
    const zt_oidc_provider_cfg *p = zt_portal_home_realm(r->cfg, email);
    if (p == NULL)
        return false;
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = zt_buf_printf(&loc, "%s?provider=%s&login_hint=", ZT_PORTAL_UPSTREAM_START, p->name);
    rc = rc ? rc : zt_url_encode(&loc, email, strlen(email), false);
    if (rc == 0 && rd[0] != '\0') {
        rc = zt_buf_append_str(&loc, "&rd=");
        rc = rc ? rc : zt_url_encode(&loc, rd, strlen(rd), false);
    }
    rc = rc ? rc : zt_buf_cstr(&loc);
    rc = rc ? rc : home_realm_page(r, loc.data);
    if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
    } else {
        r->status = 200;
        r->log_detail = "home realm: to the upstream provider";
        zt_local_respond(r);
    }
    zt_buf_dispose(&loc);
    return true;
}

/* The database cannot be reached (a clustered gateway, docs/CLUSTER.md): fail closed at once
 * with its own page (503), recorded like any refused sign-in. */
static void database_down(login_job *j)
{
    zt_local_req *r = j->f.r;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = j->username,
                          .factor = "password",
                          .message = "sign-in failed: database unreachable",
                          .reason = "database unreachable"};
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    if (!zt_portal_audit(r, &ev))
        zt_portal_fail(r, 503, PM_TITLE_UNAVAILABLE, PM_BODY_UNAVAILABLE, "audit log unavailable");
    else
        zt_portal_database_down(r);
}

static void login_post(zt_local_req *r)
{
    static const zt_portal_flow_ops ops = {
        .verify = verify_start, .refused = login_refused, .admitted = login_admitted};
    login_job *j = zt_portal_flow_start(r, sizeof(*j));
    if (j == NULL)
        return;
    zt_signin_init(&j->flow, r->request_id);
    j->username = zt_form_get(&j->f.form, "username", NULL);
    j->password = zt_form_get(&j->f.form, "password", &j->password_len);
    if (j->username != NULL && to_home_realm(r, j->username, j->f.rd)) {
        zt_portal_flow_free(j);
        return;
    }
    if (j->username == NULL || j->password == NULL || j->password_len > ZT_FORM_PASSWORD_MAX) {
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "sign-in form fields");
        zt_portal_flow_free(j);
        return;
    }
    int rc = !zt_sessions_store_reachable(r->svc->sessions)
                 ? -EIO
                 : zt_store_user_get_by_email(r->svc->store, j->username, &j->user);
    if (rc == -EIO && r->cfg->store.backend == ZT_STORE_POSTGRES) {
        database_down(j);
        zt_portal_flow_free(j);
        return;
    }
    if (rc != 0 && rc != -ENOENT && rc != -EINVAL) {
        zt_portal_unavailable(r, "store error");
        zt_portal_flow_free(j);
        return;
    }
    j->flow.exists = rc == 0;
    j->flow.disabled = j->flow.exists && j->user.disabled;
    j->flow.expired = j->flow.exists && zt_account_expired(&j->user, zt_portal_now());
    j->flow.no_password = j->flow.exists && j->user.password_hash[0] == '\0';
    j->dir = login_directory(r, j->flow.exists, &j->user, j->username);
    j->tap_shaped = zt_store_tap_shaped(j->password, j->password_len);
    zt_portal_flow_admit(j, j->username, j->flow.exists ? j->user.id : NULL, &ops);
}

void zt_portal_login(zt_local_req *r)
{
    if (zt_portal_go_central(r))
        return;
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r))
        login_post(r);
    else
        login_get(r);
}
