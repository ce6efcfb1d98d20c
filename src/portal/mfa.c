/* The second factor: a TOTP code (each time step accepted once, atomically in the store) or a
 * single-use recovery code. Attempts go through the same throttle as passwords, keyed by the
 * account, so six digits cannot be brute-forced. Success replaces the session with a new id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/metrics.h"
#include "identity/secretbox.h"
#include "identity/totp.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "http/handler.h"
#include "response/incident.h"
#include "risk/risk.h"
#include "session/signin.h"
#include "session/throttle.h"
#include "store/store.h"

void zt_portal_recovery_key(const zt_local_req *r, unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN])
{
    zt_secretbox_derive(r->svc->secrets, "ztgate recovery-code v1", key);
}

void zt_portal_totp_context(const char *user_id, char out[64])
{
    snprintf(out, 64, "totp:%s", user_id);
}

int zt_portal_session_upgrade(zt_local_req *r, const zt_portal_sess *old, int64_t auth_time,
                              int64_t mfa_time, const char *mfa_method,
                              const unsigned char *passkey_aaguid,
                              char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    char ua[ZT_STORE_UA_MAX + 1], cookie[ZT_SESSION_COOKIE_LEN + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    int64_t now = zt_portal_now();
    /* Another method keeps the passkey the session was proven with (its amr keeps it too). */
    if (passkey_aaguid == NULL && old->has_passkey_aaguid)
        passkey_aaguid = old->passkey_aaguid;
    /* The second factor done: the session layer's session step, as after the password. */
    zt_signin_session q = {.session = {.user_id = old->user_id,
                                       .host = r->host,
                                       .auth_time = auth_time,
                                       .mfa_time = mfa_time,
                                       .mfa_method = mfa_method,
                                       .amr = zt_amr_add(old->amr, zt_amr_of_method(mfa_method)),
                                       .passkey_aaguid = passkey_aaguid,
                                       .ip = r->ip,
                                       .user_agent = ua},
                           .replaces_hash = old->valid ? old->id_hash : NULL,
                           .cache = r->sessions};
    int rc = zt_signin_open_session(r->svc->sessions, NULL, &q, now, cookie, hash_out);
    if (rc == 0) {
        rc =
            zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), cookie, r->https, -1);
        zt_known_device_set(r->svc->sessions, &r->resp_headers, old->user_id, r->https, now);
    }
    zt_wipe(cookie, sizeof(cookie));
    return rc;
}

bool zt_portal_require_session(zt_local_req *r, zt_portal_sess *s, const char *rd)
{
    zt_portal_session(r, s);
    if (s->valid)
        return true;
    zt_portal_redirect_with_rd(r, ZT_PORTAL_LOGIN, rd);
    return false;
}

/* ---- the page ---- */

/* The code form (when the user has an authenticator app) and, for a user with passkeys or
 * security keys, the passkey block: either one is the second factor. */
static void mfa_page_with(zt_local_req *r, const char *rd, zt_msg error, bool code_form,
                          bool passkey)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_portal_csrf_token(r, ZT_PORTAL_MFA, token);
    rc = rc ? rc : zt_html_begin(b, r->lang, PM_TITLE_MFA);
    if (rc == 0 && error != MSG_NONE)
        rc = zt_html_notice(b, r->lang, error, true);
    if (rc == 0 && code_form) {
        rc = zt_html_p(b, r->lang, PM_INTRO_MFA, NULL);
        rc = rc ? rc : zt_html_form_begin(b, ZT_PORTAL_MFA, token, rd);
        rc = rc ? rc
                : zt_html_input(b, r->lang, PM_LABEL_CODE, "code", "text", "one-time-code",
                                "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"16\" "
                                "autofocus");
        rc = rc ? rc : zt_html_form_end(b, r->lang, PM_BUTTON_VERIFY);
    }
    if (rc == 0 && passkey) {
        rc = code_form ? zt_html_passkey_or(b, r->lang) : 0;
        rc = rc ? rc : zt_html_passkey(b, r->lang, ZT_PASSKEY_SECOND_FACTOR, rd, NULL);
    }
    rc = rc ? rc : zt_html_link(b, r->lang, ZT_PORTAL_LOGOUT, PM_BUTTON_SIGN_OUT);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_wipe(token, sizeof(token));
    if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    r->page_script = passkey;
    zt_local_respond(r);
}

/* After a refused code: the same page again (the user has an authenticator app). */
static void mfa_page(zt_local_req *r, const zt_portal_sess *s, const char *rd, zt_msg error)
{
    uint64_t n = 0;
    if (zt_portal_passkey_count(r, s->user_id, &n) != 0)
        zt_portal_unavailable(r, "store error");
    else
        mfa_page_with(r, rd, error, true, n > 0);
}

/* ---- checking a code ---- */

typedef enum code_result { CODE_OK, CODE_WRONG, CODE_REPLAY, CODE_ERROR } code_result;

static bool looks_like_totp(const char *code)
{
    size_t digits = 0;
    for (const char *p = code; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p != ' ')
            return false;
    }
    return digits == ZT_TOTP_DIGITS;
}

static code_result check_totp(zt_local_req *r, const char *user_id, const char *code)
{
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, user_id, &t);
    if (rc != 0) {
        zt_store_totp_dispose(&t);
        return rc == -ENOENT ? CODE_WRONG : CODE_ERROR;
    }
    char ctxname[64];
    zt_portal_totp_context(user_id, ctxname);
    unsigned char secret[64];
    size_t slen = 0;
    code_result out = CODE_ERROR;
    if (zt_secretbox_open(r->svc->secrets, ctxname, t.secret_enc, t.secret_enc_len, secret,
                          sizeof(secret), &slen) == 0) {
        int64_t step = 0;
        rc = zt_totp_verify(secret, slen, code, zt_portal_now(), t.last_used_step, &step);
        if (rc == ZT_TOTP_OK) {
            rc = zt_store_totp_use_step(r->svc->store, user_id, step);
            out = rc == 0 ? CODE_OK : rc == -EALREADY ? CODE_REPLAY : CODE_ERROR;
        } else {
            out = rc == ZT_TOTP_REPLAY ? CODE_REPLAY : CODE_WRONG;
        }
    }
    zt_wipe(secret, sizeof(secret));
    zt_store_totp_dispose(&t);
    return out;
}

typedef struct recovery_list {
    int64_t id[ZT_TOTP_RECOVERY_COUNT];
    zt_totp_recovery stored;
    size_t n;
} recovery_list;

static int collect_recovery(void *ctx, const zt_store_recovery *rec)
{
    recovery_list *l = ctx;
    if (l->n >= ZT_TOTP_RECOVERY_COUNT)
        return 0;
    size_t i = l->n++;
    l->id[i] = rec->id;
    size_t bin = 0;
    if (rec->used_at != 0 ||
        sodium_hex2bin(l->stored.hash[i], ZT_TOTP_RECOVERY_HASH_LEN, rec->code_hash,
                       strlen(rec->code_hash), NULL, &bin, NULL) != 0 ||
        bin != ZT_TOTP_RECOVERY_HASH_LEN)
        memset(l->stored.hash[i], 0, ZT_TOTP_RECOVERY_HASH_LEN);
    return 0;
}

static code_result check_recovery(zt_local_req *r, const char *user_id, const char *code)
{
    recovery_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return CODE_ERROR;
    code_result out = CODE_WRONG;
    int rc = zt_store_recovery_list(r->svc->store, user_id, collect_recovery, l);
    if (rc != 0) {
        out = CODE_ERROR;
    } else {
        unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN];
        unsigned slot = 0;
        zt_portal_recovery_key(r, key);
        bool ok = zt_totp_recovery_use(key, user_id, code, &l->stored, &slot);
        zt_wipe(key, sizeof(key));
        if (ok && slot < l->n) {
            rc = zt_store_recovery_use(r->svc->store, user_id, l->id[slot]);
            out = rc == 0 ? CODE_OK : (rc == -EALREADY || rc == -ENOENT) ? CODE_REPLAY : CODE_ERROR;
        }
    }
    zt_wipe(l, sizeof(*l));
    free(l);
    return out;
}

/* ---- POST ---- */

typedef struct mfa_job {
    zt_portal_flow f; /* first: the shared skeleton (portal.h) */
    zt_portal_sess s;
    zt_signin flow; /* second-factor → session or failed (session/signin.h) */
} mfa_job;

static bool audit_code(zt_local_req *r, const zt_portal_sess *s, bool ok, const char *factor,
                       const char *reason)
{
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = ok,
                          .email = s->email,
                          .user_id = s->user_id,
                          .factor = factor,
                          .message = ok ? "second factor accepted" : "second factor refused",
                          .reason = reason};
    if (!zt_portal_audit(r, &ev))
        return false;
    if (ok && strcmp(factor, "recovery") == 0) {
        zt_portal_event ac = {.cls = ZT_EV_ACCOUNT_CHANGE,
                              .activity = 99,
                              .success = true,
                              .email = s->email,
                              .user_id = s->user_id,
                              .message = "recovery code used"};
        return zt_portal_audit(r, &ac);
    }
    return true;
}

static void mfa_verify(void *ctx)
{
    mfa_job *j = ctx;
    zt_local_req *r = j->f.r;
    const char *code = zt_form_get(&j->f.form, "code", NULL);
    bool totp = looks_like_totp(code);
    const char *factor = totp ? "totp" : "recovery";
    code_result res = CODE_WRONG;
    if (!j->f.limited)
        res = totp ? check_totp(r, j->s.user_id, code) : check_recovery(r, j->s.user_id, code);
    zt_signin_resume_second_factor(&j->flow, r->request_id);
    if (!zt_signin_go(&j->flow, zt_signin_on_second_factor(res == CODE_OK, res == CODE_ERROR)) ||
        j->flow.state == ZT_SIGNIN_ERROR) {
        zt_portal_unavailable(r, "store error");
        zt_portal_flow_free(j);
        return;
    }
    zt_throttle_settle(j->f.throttle, &j->f.ticket, res == CODE_OK, zt_wall_us() / 1000);
    if (j->flow.state == ZT_SIGNIN_FAILED) {
        const char *reason = j->f.limited ? "throttled"
                             : res == CODE_REPLAY
                                 ? (totp ? "replayed TOTP" : "recovery code reused")
                                 : "wrong code";
        r->log_detail = "second factor refused";
        zt_metric_sign_in(j->f.limited ? ZT_M_SIGN_IN_THROTTLED : ZT_M_SIGN_IN_MFA_FAILURE);
        if (!audit_code(r, &j->s, false, factor, reason))
            zt_portal_unavailable(r, "audit log unavailable");
        else
            mfa_page(r, &j->s, j->f.rd, PM_ERR_CODE);
        zt_portal_flow_free(j);
        return;
    }
    char hash[ZT_SESSION_HASH_LEN + 1];
    int64_t now = zt_portal_now();
    /* Identity Protection: MFA on this sign-in remediates its sign-in risk and lets its
     * properties become familiar. */
    zt_risk_event rev;
    memset(&rev, 0, sizeof(rev));
    int rrc =
        r->svc->risk != NULL ? zt_risk_remediate_sign_in(r->svc->risk, j->s.id_hash, now, &rev) : 0;
    if (rrc == 0 && rev.user_id[0] == '\0')
        snprintf(rev.user_id, sizeof(rev.user_id), "%s", j->s.user_id);
    if (rrc != 0) {
        zt_portal_unavailable(r, "could not update the sign-in's risk");
    } else if (!audit_code(r, &j->s, true, factor, NULL) ||
               !zt_portal_risk_event(r, &rev, j->s.email)) {
        zt_portal_unavailable(r, "audit log unavailable");
    } else if (zt_portal_session_upgrade(r, &j->s, j->s.auth_time, now, factor, NULL, hash) != 0) {
        zt_portal_unavailable(r, "could not create the session");
    } else {
        r->log_detail = "second factor accepted";
        zt_metric_sign_in(ZT_M_SIGN_IN_MFA_SUCCESS);
        if (rev.n > 0) {
            zt_risk level = ZT_RISK_HIGH;
            if (r->svc->risk != NULL)
                (void)zt_risk_user_level(r->svc->risk, j->s.user_id, now, &level);
            zt_portal_signal(r, ZT_SIGNAL_REMEDIATION, "mfa", 0, j->s.user_id, j->s.email,
                             "second factor passed: the sign-in's risk is remediated", NULL,
                             level == ZT_RISK_NONE);
        }
        zt_portal_finish(r, hash, j->f.rd);
    }
    zt_portal_flow_free(j);
}

/* A Temporary Access Pass session never completes a second factor (the pass would then be as
 * good as a password): it is sent to enrolment instead. True when it was. */
static bool tap_enrols_only(zt_local_req *r, const zt_portal_sess *s, const char *rd)
{
    if (!zt_portal_sess_is_tap(s))
        return false;
    r->log_detail = "temporary access pass session: enrolment only";
    zt_portal_redirect_with_rd(r, ZT_PORTAL_TOTP, rd);
    return true;
}

static void mfa_post(zt_local_req *r)
{
    static const zt_portal_flow_ops ops = {.verify = mfa_verify};
    mfa_job *j = zt_portal_flow_start(r, sizeof(*j));
    if (j == NULL)
        return;
    size_t code_len = 0;
    const char *code = zt_form_get(&j->f.form, "code", &code_len);
    if (code == NULL || code_len > ZT_TOTP_CODE_MAX) {
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "MFA form fields");
        zt_portal_flow_free(j);
        return;
    }
    if (!zt_portal_require_session(r, &j->s, j->f.rd) || tap_enrols_only(r, &j->s, j->f.rd)) {
        zt_portal_flow_free(j);
        return;
    }
    zt_portal_flow_admit(j, j->s.email, j->s.user_id, &ops);
}

static void mfa_get(zt_local_req *r)
{
    zt_form q;
    char rd[ZT_RD_MAX + 1] = "";
    if (zt_form_parse(&q, r->query, r->query_len) == ZT_FORM_OK)
        zt_portal_rd(r, &q, rd);
    zt_form_dispose(&q);
    zt_portal_sess s;
    if (!zt_portal_require_session(r, &s, rd) || tap_enrols_only(r, &s, rd))
        return;
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, s.user_id, &t);
    zt_store_totp_dispose(&t);
    uint64_t passkeys = 0;
    int prc = zt_portal_passkey_count(r, s.user_id, &passkeys);
    if (rc == -ENOENT && prc == 0 && passkeys == 0)
        zt_portal_redirect_with_rd(r, ZT_PORTAL_TOTP, rd);
    else if ((rc != 0 && rc != -ENOENT) || prc != 0)
        zt_portal_unavailable(r, "store error");
    else
        mfa_page_with(r, rd, MSG_NONE, rc == 0, passkeys > 0);
}

void zt_portal_mfa(zt_local_req *r)
{
    if (zt_portal_go_central(r))
        return;
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r))
        mfa_post(r);
    else
        mfa_get(r);
}
