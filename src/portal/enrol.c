/* TOTP enrolment: a new secret is shown (QR code, otpauth URI, base32 key) and kept, until the
 * user proves they stored it, only in a hidden form field sealed with the secret box under a
 * context bound to this session, with an expiry inside. It is never in a URL or a log. The
 * confirmed secret is stored sealed per user, ten recovery codes are shown once, and the
 * session becomes a full one with a new id.
 *
 * A Temporary Access Pass session (zt_portal_sess_is_tap) may enrol, also replacing a TOTP the
 * user has (the lost phone): the admin who issued the pass vouched for the person. It does
 * not become a full session: it ends, and the user signs in again with the new method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity/secretbox.h"
#include "identity/totp.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "http/handler.h"
#include "session/throttle.h"
#include "store/store.h"

#define ENROL_TTL_S 900 /* the set-up page is valid this long */
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define ENROL_MSG_LEN (8 + ZT_TOTP_SECRET_LEN)
#define ENROL_SEALED_LEN (ENROL_MSG_LEN + ZT_SECRETBOX_OVERHEAD)
#define ENROL_FIELD_MAX 128

static void enrol_context(const zt_portal_sess *s, char out[96])
{
    snprintf(out, 96, "totp-enrol:%s", s->id_hash);
}

static int seal_pending(zt_local_req *r, const zt_portal_sess *s,
                        const unsigned char secret[ZT_TOTP_SECRET_LEN], int64_t expires,
                        char out[ENROL_FIELD_MAX])
{
    unsigned char msg[ENROL_MSG_LEN], sealed[ENROL_SEALED_LEN];
    char ctxname[96];
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        msg[i] = (unsigned char)((uint64_t)expires >> (56 - 8 * i));
    memcpy(msg + 8, secret, ZT_TOTP_SECRET_LEN);
    enrol_context(s, ctxname);
    int rc =
        zt_secretbox_seal(r->svc->secrets, ctxname, msg, sizeof(msg), sealed, sizeof(sealed), &n);
    if (rc == 0)
        sodium_bin2base64(out, ENROL_FIELD_MAX, sealed, n, B64URL);
    zt_wipe(msg, sizeof(msg));
    return rc;
}

/* 0 with the secret, -ETIMEDOUT when expired, -EBADMSG when not ours. */
static int open_pending(zt_local_req *r, const zt_portal_sess *s, const char *field, size_t len,
                        unsigned char secret[ZT_TOTP_SECRET_LEN])
{
    unsigned char sealed[ENROL_SEALED_LEN], msg[ENROL_MSG_LEN];
    size_t n = 0, m = 0;
    char ctxname[96];
    if (sodium_base642bin(sealed, sizeof(sealed), field, len, NULL, &n, NULL, B64URL) != 0 ||
        n != sizeof(sealed))
        return -EBADMSG;
    enrol_context(s, ctxname);
    if (zt_secretbox_open(r->svc->secrets, ctxname, sealed, n, msg, sizeof(msg), &m) != 0 ||
        m != sizeof(msg))
        return -EBADMSG;
    uint64_t exp = 0;
    for (int i = 0; i < 8; i++)
        exp = exp << 8 | msg[i];
    memcpy(secret, msg + 8, ZT_TOTP_SECRET_LEN);
    zt_wipe(msg, sizeof(msg));
    return (int64_t)exp > zt_portal_now() ? 0 : -ETIMEDOUT;
}

/* The set-up page for `secret` (a new one, or the same again after a wrong code). */
static void enrol_page(zt_local_req *r, const zt_portal_sess *s,
                       const unsigned char secret[ZT_TOTP_SECRET_LEN], const char *sealed,
                       const char *rd, zt_msg error)
{
    char token[ZT_CSRF_TOKEN_LEN + 1], b32[ZT_TOTP_BASE32_LEN(ZT_TOTP_SECRET_LEN) + 1];
    zt_buf uri;
    zt_buf_init(&uri, 4096);
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    const char *issuer = r->cfg->auth.issuer != NULL ? r->cfg->auth.issuer : "ztgate";
    int rc = zt_portal_csrf_token(r, ZT_PORTAL_TOTP, token);
    rc = rc ? rc : zt_totp_uri(&uri, issuer, s->email, secret, ZT_TOTP_SECRET_LEN);
    rc = rc ? rc : zt_buf_cstr(&uri);
    rc = rc ? rc : zt_totp_base32(secret, ZT_TOTP_SECRET_LEN, b32, sizeof(b32));
    rc = rc ? rc : zt_html_begin(b, r->lang, PM_TITLE_ENROL);
    if (rc == 0 && zt_portal_sess_is_tap(s))
        rc = zt_html_notice(b, r->lang, PM_TAP_NOTICE, false);
    /* A pass may add a passkey instead (the phishing-resistant choice). */
    if (rc == 0 && zt_portal_sess_is_tap(s) && r->cfg->auth.passkeys)
        rc = zt_html_link(b, r->lang, ZT_PORTAL_PASSKEY, PK_TITLE_ADD);
    if (rc == 0 && error != MSG_NONE)
        rc = zt_html_notice(b, r->lang, error, true);
    rc = rc ? rc : zt_html_p(b, r->lang, PM_INTRO_ENROL, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<div class=\"qr\">");
    rc = rc ? rc : zt_totp_qr_svg(b, uri.data);
    rc = rc ? rc : zt_buf_append_str(b, "</div>");
    rc = rc ? rc : zt_html_link(b, r->lang, uri.data, PM_ENROL_LINK);
    rc = rc ? rc : zt_html_p(b, r->lang, PM_ENROL_MANUAL, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<p class=\"mono\"><strong>");
    for (size_t i = 0; rc == 0 && b32[i] != '\0'; i++) {
        if (i > 0 && i % 4 == 0)
            rc = zt_buf_append_char(b, ' ');
        rc = rc ? rc : zt_buf_append_char(b, b32[i]);
    }
    rc = rc ? rc : zt_buf_append_str(b, "</strong></p>");
    rc = rc ? rc : zt_html_form_begin(b, ZT_PORTAL_TOTP, token, rd);
    rc = rc ? rc : zt_html_hidden(b, "enrol", sealed);
    rc = rc ? rc
            : zt_html_input(b, r->lang, PM_LABEL_CODE, "code", "text", "one-time-code",
                            "inputmode=\"numeric\" maxlength=\"16\"");
    rc = rc ? rc : zt_html_form_end(b, r->lang, PM_BUTTON_VERIFY);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_wipe(token, sizeof(token));
    zt_wipe(b32, sizeof(b32));
    zt_wipe(uri.data, uri.cap);
    zt_buf_dispose(&uri);
    if (rc != 0)
        zt_portal_unavailable(r, "could not render the set-up page");
    else
        zt_local_respond(r);
}

/* Enrolment is open to a pending session of a user without a second factor (no TOTP, no
 * passkey), and to a full session (a user replacing their authenticator must have passed a
 * second factor on it). A passkey counts: else a password alone could enrol its own TOTP on an
 * account a passkey protects. */
static bool may_enrol(zt_local_req *r, const zt_portal_sess *s, const char *rd)
{
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, s->user_id, &t);
    zt_store_totp_dispose(&t);
    uint64_t passkeys = 0;
    int prc = zt_portal_passkey_count(r, s->user_id, &passkeys); /* 0 when passkeys are off */
    if ((rc != 0 && rc != -ENOENT) || prc != 0) {
        zt_portal_unavailable(r, "store error");
        return false;
    }
    if ((rc == 0 || passkeys > 0) && !zt_portal_sess_is_tap(s) &&
        (s->mfa_pending || s->mfa_time == 0)) {
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, rd);
        return false;
    }
    return true;
}

static void enrol_get(zt_local_req *r)
{
    zt_form q;
    char rd[ZT_RD_MAX + 1] = "";
    if (zt_form_parse(&q, r->query, r->query_len) == ZT_FORM_OK)
        zt_portal_rd(r, &q, rd);
    zt_form_dispose(&q);
    zt_portal_sess s;
    if (!zt_portal_require_session(r, &s, rd) || !may_enrol(r, &s, rd))
        return;
    unsigned char secret[ZT_TOTP_SECRET_LEN];
    char sealed[ENROL_FIELD_MAX];
    zt_totp_secret_new(secret);
    if (seal_pending(r, &s, secret, zt_portal_now() + ENROL_TTL_S, sealed) != 0)
        zt_portal_unavailable(r, "could not seal the new secret");
    else
        enrol_page(r, &s, secret, sealed, rd, MSG_NONE);
    zt_wipe(secret, sizeof(secret));
    zt_wipe(sealed, sizeof(sealed));
}

/* Store the confirmed secret and fresh recovery codes; codes receives them for display. */
static int enrol_store(zt_local_req *r, const zt_portal_sess *s,
                       const unsigned char secret[ZT_TOTP_SECRET_LEN], int64_t step,
                       char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1])
{
    unsigned char sealed[ZT_TOTP_SECRET_LEN + ZT_SECRETBOX_OVERHEAD], key[ZT_TOTP_RECOVERY_KEY_LEN];
    char ctxname[64];
    size_t n = 0;
    zt_portal_totp_context(s->user_id, ctxname);
    int rc = zt_secretbox_seal(r->svc->secrets, ctxname, secret, ZT_TOTP_SECRET_LEN, sealed,
                               sizeof(sealed), &n);
    rc = rc ? rc : zt_store_totp_set(r->svc->store, s->user_id, sealed, n);
    /* The code just used to confirm must not work again at the next sign-in. */
    if (rc == 0) {
        rc = zt_store_totp_use_step(r->svc->store, s->user_id, step);
        rc = rc == -EALREADY ? 0 : rc;
    }
    if (rc != 0)
        return rc;
    zt_totp_recovery stored;
    char hex[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_HASH_LEN * 2 + 1];
    const char *hashes[ZT_TOTP_RECOVERY_COUNT];
    zt_portal_recovery_key(r, key);
    zt_totp_recovery_new(key, s->user_id, codes, &stored);
    zt_wipe(key, sizeof(key));
    for (size_t i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++) {
        sodium_bin2hex(hex[i], sizeof(hex[i]), stored.hash[i], ZT_TOTP_RECOVERY_HASH_LEN);
        hashes[i] = hex[i];
    }
    rc = zt_store_recovery_set(r->svc->store, s->user_id, hashes, ZT_TOTP_RECOVERY_COUNT);
    zt_wipe(&stored, sizeof(stored));
    return rc;
}

/* After a Temporary Access Pass enrolment (tap) the notice says the session ended and the
 * link leads to the sign-in page. */
static void recovery_page(zt_local_req *r, const char codes[][ZT_TOTP_RECOVERY_LEN + 1],
                          const char *rd, bool tap)
{
    zt_buf *b = &r->resp_body;
    zt_buf cont;
    zt_buf_init(&cont, 0);
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_buf_append_str(&cont, rd[0] != '\0' ? ZT_PORTAL_LOGIN "?rd="
                                      : tap         ? ZT_PORTAL_LOGIN
                                                    : ZT_PORTAL_HOME);
    rc = rc ? rc : zt_url_encode(&cont, rd, strlen(rd), false);
    rc = rc ? rc : zt_buf_cstr(&cont);
    rc = rc ? rc : zt_html_begin(b, r->lang, PM_TITLE_RECOVERY);
    if (rc == 0 && tap)
        rc = zt_html_notice(b, r->lang, PM_TAP_DONE, false);
    rc = rc ? rc : zt_html_p(b, r->lang, PM_INTRO_RECOVERY, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<ul class=\"codes\">");
    for (size_t i = 0; rc == 0 && i < ZT_TOTP_RECOVERY_COUNT; i++)
        rc = zt_buf_printf(b, "<li>%s</li>", codes[i]);
    rc = rc ? rc : zt_buf_append_str(b, "</ul>");
    rc = rc ? rc : zt_html_link(b, r->lang, cont.data, PM_CONTINUE);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_buf_dispose(&cont);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}

typedef struct enrol_job {
    zt_portal_flow f; /* first: the shared skeleton (portal.h) */
    zt_portal_sess s;
} enrol_job;

void zt_portal_tap_session_end(zt_local_req *r, const zt_portal_sess *s)
{
    zt_session_destroy(r->svc->sessions, s->id_hash);
    zt_session_cache_forget(r->sessions, s->id_hash);
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), "", r->https, 0);
}

static void enrol_done(zt_local_req *r, enrol_job *j, const unsigned char *secret, int64_t step)
{
    bool tap = zt_portal_sess_is_tap(&j->s);
    char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1];
    char hash[ZT_SESSION_HASH_LEN + 1];
    int64_t now = zt_portal_now();
    zt_portal_event ac = {.cls = ZT_EV_ACCOUNT_CHANGE,
                          .activity = 10, /* OCSF: MFA Factor Enable */
                          .success = true,
                          .email = j->s.email,
                          .user_id = j->s.user_id,
                          .factor = "totp",
                          .message =
                              tap ? "TOTP enrolled with a temporary access pass" : "TOTP enrolled"};
    if (enrol_store(r, &j->s, secret, step, codes) != 0) {
        zt_portal_unavailable(r, "could not store the TOTP credential");
    } else if (!zt_portal_audit(r, &ac)) {
        zt_portal_unavailable(r, "audit log unavailable");
    } else if (tap) {
        zt_portal_tap_session_end(r, &j->s);
        r->log_detail = "TOTP enrolled with a temporary access pass; session ended";
        recovery_page(r, (const char(*)[ZT_TOTP_RECOVERY_LEN + 1]) codes, j->f.rd, true);
    } else if (zt_portal_session_upgrade(r, &j->s, j->s.auth_time, now, "totp", NULL, hash) != 0) {
        zt_portal_unavailable(r, "could not create the session");
    } else {
        r->log_detail = "TOTP enrolled";
        recovery_page(r, (const char(*)[ZT_TOTP_RECOVERY_LEN + 1]) codes, j->f.rd, false);
    }
    zt_wipe(codes, sizeof(codes));
}

static void enrol_verify(void *ctx)
{
    enrol_job *j = ctx;
    zt_local_req *r = j->f.r;
    size_t flen = 0;
    const char *field = zt_form_get(&j->f.form, "enrol", &flen);
    const char *code = zt_form_get(&j->f.form, "code", NULL);
    unsigned char secret[ZT_TOTP_SECRET_LEN];
    int rc = open_pending(r, &j->s, field, flen, secret);
    if (rc != 0) {
        r->log_detail = "enrolment expired or tampered";
        zt_portal_page(r, 400, PM_TITLE_ENROL, PM_ERR_ENROL_EXPIRED, ZT_PORTAL_TOTP, PM_CONTINUE);
        zt_portal_flow_free(j);
        return;
    }
    int64_t step = 0;
    bool ok = !j->f.limited && zt_totp_verify(secret, ZT_TOTP_SECRET_LEN, code, zt_portal_now(), 0,
                                              &step) == ZT_TOTP_OK;
    zt_throttle_settle(j->f.throttle, &j->f.ticket, ok, zt_wall_us() / 1000);
    if (ok) {
        enrol_done(r, j, secret, step);
    } else {
        zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                              .activity = ZT_ACT_AUTH_LOGON,
                              .success = false,
                              .email = j->s.email,
                              .user_id = j->s.user_id,
                              .factor = "totp",
                              .message = "TOTP enrolment code refused",
                              .reason = j->f.limited ? "throttled" : "wrong code"};
        if (!zt_portal_audit(r, &ev))
            zt_portal_unavailable(r, "audit log unavailable");
        else
            enrol_page(r, &j->s, secret, field, j->f.rd, PM_ERR_CODE);
    }
    zt_wipe(secret, sizeof(secret));
    zt_portal_flow_free(j);
}

static void enrol_post(zt_local_req *r)
{
    static const zt_portal_flow_ops ops = {.verify = enrol_verify};
    enrol_job *j = zt_portal_flow_start(r, sizeof(*j));
    if (j == NULL)
        return;
    size_t code_len = 0, enrol_len = 0;
    const char *code = zt_form_get(&j->f.form, "code", &code_len);
    const char *field = zt_form_get(&j->f.form, "enrol", &enrol_len);
    if (code == NULL || field == NULL || code_len > ZT_TOTP_CODE_MAX ||
        enrol_len >= ENROL_FIELD_MAX) {
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "enrolment form fields");
        zt_portal_flow_free(j);
        return;
    }
    if (!zt_portal_require_session(r, &j->s, j->f.rd) || !may_enrol(r, &j->s, j->f.rd)) {
        zt_portal_flow_free(j);
        return;
    }
    zt_portal_flow_admit(j, j->s.email, j->s.user_id, &ops);
}

void zt_portal_enrol(zt_local_req *r)
{
    if (zt_portal_go_central(r))
        return;
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r))
        enrol_post(r);
    else
        enrol_get(r);
}
