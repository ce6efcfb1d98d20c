/* The four WebAuthn JSON endpoints (docs/PORTAL.md "Passkeys"): HTTP only. The ceremonies are
 * session/passkey.h's; what a verified assertion earns goes through the session layer's one
 * session step (zt_signin_open_session, via zt_portal_session_upgrade for a second factor).
 *
 * Every request: POST, auth.passkeys on, Content-Type application/json, and an Origin (when
 * sent) equal to this portal origin; cross-site fetches are refused by Sec-Fetch-Site too. A
 * cross-site HTML form cannot send application/json without a CORS preflight, which we never
 * answer, so these checks are the CSRF defence. The challenge is bound to the browser by a
 * short-lived HttpOnly SameSite=Strict cookie. Every refusal and every success is an audit
 * record shaped like the other portal sign-in records; errors are {"error","message"} in the
 * request's language.
 *
 * Passwordless sign-in and risk: the source throttle applies (a failing source is refused with
 * 429 like the password form); the sign-in is assessed by the same risk engine. A medium or
 * high sign-in risk is not refused and asks for nothing more: a user-verified passkey is
 * already a phishing-resistant second factor, the very remediation a risky password sign-in is
 * asked for, so the detections are recorded and remediated at once (as after MFA). User risk
 * (leaked credentials, cloned passkey, admin-confirmed) still reaches every request through the
 * policies' user_risk conditions. A disabled user is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/metrics.h"
#include "http/handler.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "core/log.h"
#include "portal/portal.h"
#include "response/incident.h"
#include "risk/risk.h"
#include "session/account.h"
#include "session/passkey.h"
#include "session/signin.h"
#include "store/store.h"

#define WA_COOKIE_HTTPS "__Host-ztgate_webauthn"
#define WA_COOKIE_HTTP "ztgate_webauthn"
#define WA_BODY_MAX (64 * 1024)

/* ---- answers ---- */

static const struct {
    const char *code;
    zt_msg msg;
} wa_messages[] = {
    {"invalid_challenge", WA_INVALID_CHALLENGE},
    {"challenge_expired", WA_CHALLENGE_EXPIRED},
    {"malformed", WA_MALFORMED},
    {"verification_failed", WA_VERIFICATION_FAILED},
    {"user_verification_required", WA_USER_VERIFICATION_REQUIRED},
    {"unsupported", WA_UNSUPPORTED},
    {"unknown_credential", WA_UNKNOWN_CREDENTIAL},
    {"user_mismatch", WA_USER_MISMATCH},
    {"cloned_credential", WA_CLONED_CREDENTIAL},
    {"credential_exists", WA_CREDENTIAL_EXISTS},
    {"too_many_credentials", WA_TOO_MANY_CREDENTIALS},
    {"not_signed_in", WA_NOT_SIGNED_IN},
    {"second_factor_required", WA_SECOND_FACTOR_REQUIRED},
    {"account_disabled", WA_ACCOUNT_DISABLED},
    {"account_expired", WA_ACCOUNT_EXPIRED},
    {"too_many_attempts", WA_TOO_MANY_ATTEMPTS},
    {"forbidden_origin", WA_FORBIDDEN_ORIGIN},
    {"unsupported_media_type", WA_UNSUPPORTED_MEDIA_TYPE},
    {"method_not_allowed", WA_METHOD_NOT_ALLOWED},
    {"passkeys_disabled", WA_PASSKEYS_DISABLED},
    {"not_found", WA_NOT_FOUND},
    {"wrong_host", WA_WRONG_HOST},
    {"unavailable", WA_UNAVAILABLE},
    {"passkey_required", WA_PASSKEY_REQUIRED},
    {"temporary_access_pass_required", WA_TEMPORARY_ACCESS_PASS_REQUIRED},
    {"key_not_allowed", WA_KEY_NOT_ALLOWED},
    {"attestation_required", WA_ATTESTATION_REQUIRED},
};

static const char *wa_message(zt_lang lang, const char *code)
{
    for (size_t i = 0; i < sizeof(wa_messages) / sizeof(wa_messages[0]); i++)
        if (strcmp(wa_messages[i].code, code) == 0)
            return zt_msg_text(lang, wa_messages[i].msg);
    return code;
}

/* Send obj (stolen) as the JSON answer with status. */
static void wa_json(zt_local_req *r, int status, json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    zt_buf_reset(&r->resp_body);
    if (text == NULL || zt_buf_append_str(&r->resp_body, text) != 0) {
        free(text);
        zt_buf_reset(&r->resp_body);
        zt_buf_append_str(&r->resp_body, "{\"error\":\"unavailable\"}");
        status = 503;
    } else {
        free(text);
    }
    r->status = status;
    r->content_type = "application/json";
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
    zt_local_respond(r);
}

static void wa_error(zt_local_req *r, int status, const char *code, const char *log_detail)
{
    r->log_detail = log_detail;
    wa_json(r, status,
            json_pack("{s:s, s:s}", "error", code, "message", wa_message(r->lang, code)));
}

/* An audited refusal: the record first (fail closed: 503 when it cannot be written). */
typedef struct wa_who {
    const char *email, *user_id;
} wa_who;

static void wa_refuse(zt_local_req *r, const wa_who *who, const char *what, int status,
                      const char *code, const char *reason)
{
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = who != NULL ? who->email : NULL,
                          .user_id = who != NULL ? who->user_id : NULL,
                          .factor = "passkey",
                          .message = what,
                          .reason = reason != NULL ? reason : code};
    if (!zt_portal_audit(r, &ev))
        wa_error(r, 503, "unavailable", "audit log unavailable");
    else
        wa_error(r, status, code, what);
}

/* ---- the gate every endpoint passes ---- */

/* This portal's origin as a browser writes it: scheme, host and the Host header's port, the
 * scheme's default port left out (browsers omit it in Origin and clientDataJSON). */
static int portal_origin(zt_local_req *r, zt_buf *out)
{
    int rc = zt_portal_origin(r, r->host, out);
    rc = rc ? rc : zt_buf_cstr(out);
    const char *dflt = r->https ? ":443" : ":80";
    size_t dn = strlen(dflt);
    if (rc == 0 && out->len > dn && strcmp(out->data + out->len - dn, dflt) == 0) {
        out->len -= dn;
        out->data[out->len] = '\0';
    }
    return rc;
}

static bool same_origin(zt_local_req *r)
{
    const zt_span *site = zt_local_header_get(r, "Sec-Fetch-Site");
    if (site != NULL && !zt_span_ieq_cstr(zt_span_trim(*site), "same-origin") &&
        !zt_span_ieq_cstr(zt_span_trim(*site), "none"))
        return false;
    const zt_span *o = zt_local_header_get(r, "Origin");
    if (o == NULL)
        return true;
    zt_buf mine;
    zt_buf_init(&mine, 0);
    bool ok = portal_origin(r, &mine) == 0 &&
              zt_span_ieq(zt_span_trim(*o), (zt_span){mine.data, mine.len});
    zt_buf_dispose(&mine);
    return ok;
}

/* The checks every endpoint shares; the parsed body (an object) or NULL when it answered. */
static json_t *wa_gate(zt_local_req *r)
{
    if (!r->cfg->auth.passkeys) {
        wa_error(r, 404, "passkeys_disabled", "passkeys are off");
        return NULL;
    }
    if (!zt_portal_is_post(r)) {
        zt_buf_append_str(&r->resp_headers, "Allow: POST\r\n");
        wa_error(r, 405, "method_not_allowed", "method not allowed");
        return NULL;
    }
    const char *portal = r->cfg->auth.portal_host;
    if (portal != NULL && strcmp(portal, r->host) != 0) {
        wa_refuse(r, NULL, "passkey request refused", 403, "wrong_host", "not the portal host");
        return NULL;
    }
    if (!same_origin(r)) {
        wa_refuse(r, NULL, "passkey request refused", 403, "forbidden_origin",
                  "cross-origin request");
        return NULL;
    }
    if (!zt_local_is_json(r)) {
        wa_refuse(r, NULL, "passkey request refused", 403, "unsupported_media_type",
                  "not application/json");
        return NULL;
    }
    json_error_t jerr;
    json_t *body =
        r->body_len <= WA_BODY_MAX
            ? json_loadb(r->body != NULL ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr)
            : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        wa_refuse(r, NULL, "passkey request refused", 400, "malformed",
                  "body is not a JSON object");
        return NULL;
    }
    return body;
}

/* The port the Host header names must be the one this connection arrived on (or none: the
 * scheme's default, as behind a port mapping). RP ID scoping ignores ports, so a page served
 * on another port of the portal's host name can obtain assertions for this RP ID; trusting
 * "Host: portal:OTHER" would then accept that page's origin as ours. */
static bool host_port_is_ours(const zt_local_req *r)
{
    const char *hp = r->host_port != NULL ? r->host_port : "";
    const char *colon = strrchr(hp, ':');
    if (colon == NULL || strchr(colon, ']') != NULL)
        return true; /* no explicit port */
    unsigned long port = 0;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return false;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    return r->local_port != 0 && port == r->local_port;
}

/* rules: the caller's, filled from this request's config (auth.passkey_aaguids, ...). */
static void wa_rp(zt_local_req *r, zt_buf *origin, zt_passkey_rp *rp, zt_passkey_rules *rules)
{
    const zt_auth_cfg *auth = &r->cfg->auth;
    *rules = (zt_passkey_rules){.aaguids = auth->passkey_aaguids,
                                .n_aaguids = auth->n_passkey_aaguids,
                                .attestation_roots = auth->passkey_attestation_required
                                                         ? auth->passkey_attestation_roots
                                                         : NULL};
    zt_buf_init(origin, 0);
    /* No origin (out of memory, or a Host port that is not ours): "" matches no client data,
     * so every verify fails closed. */
    bool ok = host_port_is_ours(r) && portal_origin(r, origin) == 0;
    *rp = (zt_passkey_rp){.rp_id = r->host,
                          .origin = ok ? origin->data : "",
                          .name = r->cfg->auth.issuer != NULL ? r->cfg->auth.issuer : "ztgate",
                          .rules = rules};
}

/* This browser's binding: from its cookie, or (options only) a new cookie set now. */
static bool wa_binding(zt_local_req *r, bool make, char binding[ZT_STORE_WA_BINDING_LEN + 1])
{
    zt_span v;
    const char *name = r->https ? WA_COOKIE_HTTPS : WA_COOKIE_HTTP;
    if (zt_cookie_find(zt_portal_cookies(r), name, &v) && zt_passkey_binding_of(v.p, v.n, binding))
        return true;
    if (!make)
        return false;
    char cookie[ZT_PASSKEY_BINDING_COOKIE_LEN + 1];
    zt_passkey_binding_new(cookie, binding);
    zt_buf_printf(&r->resp_headers,
                  "Set-Cookie: %s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s\r\n", name,
                  cookie, ZT_PASSKEY_TIMEOUT_S, r->https ? "; Secure" : "");
    zt_wipe(cookie, sizeof(cookie));
    return true;
}

/* ---- registration ---- */

static bool has_second_factor(zt_local_req *r, const char *user_id, bool *error)
{
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, user_id, &t);
    zt_store_totp_dispose(&t);
    uint64_t n = 0;
    int rc2 = zt_store_webauthn_count(r->svc->store, user_id, &n);
    *error = (rc != 0 && rc != -ENOENT) || rc2 != 0;
    return rc == 0 || n > 0;
}

/* A signed-in session, or an MFA-pending one of a user with no second factor yet (first
 * enrolment, as on the TOTP page): never a pending session of a user who has one, or the
 * password alone would add a passkey. false: answered. */
/* A full session adds a passkey freely only while the user has none (the step-up to a first
 * passkey the issue asks for). Once they have one, only a session that just proved one may add
 * another: otherwise a relay phishing kit holding the password and a TOTP code would register
 * its own passkey and pass phishing_resistant_mfa with it. */
static bool wa_register_signed_in(zt_local_req *r, const zt_portal_sess *s)
{
    uint64_t n = 0;
    if (zt_store_webauthn_count(r->svc->store, s->user_id, &n) != 0) {
        wa_error(r, 503, "unavailable", "store error");
        return false;
    }
    if (n > 0 && zt_portal_sess_passkey_fresh(s, zt_portal_now()))
        return true;
    if (n == 0 && !r->cfg->auth.passkey_registration_tap)
        return true;
    wa_who who = {s->email, s->user_id};
    if (n == 0)
        wa_refuse(r, &who, "passkey registration refused", 403, "temporary_access_pass_required",
                  "auth.passkey_registration: tap, and this is no pass session");
    else
        wa_refuse(r, &who, "passkey registration refused", 403, "passkey_required",
                  "the user has a passkey and this session has not just proved one");
    return false;
}

static bool wa_register_session(zt_local_req *r, zt_portal_sess *s)
{
    zt_portal_session(r, s);
    if (!s->valid) {
        wa_refuse(r, NULL, "passkey registration refused", 401, "not_signed_in", "no session");
        return false;
    }
    /* A Temporary Access Pass session exists to register a method: even a user who has one
     * (the lost-phone case), as the TOTP enrolment page accepts it. */
    if (zt_portal_sess_is_tap(s))
        return true;
    if (!s->mfa_pending)
        return wa_register_signed_in(r, s);
    bool error = false;
    bool has = has_second_factor(r, s->user_id, &error);
    if (error) {
        wa_error(r, 503, "unavailable", "store error");
        return false;
    }
    wa_who who = {s->email, s->user_id};
    if (has) {
        wa_refuse(r, &who, "passkey registration refused", 403, "second_factor_required",
                  "second factor pending");
        return false;
    }
    if (r->cfg->auth.passkey_registration_tap) {
        wa_refuse(r, &who, "passkey registration refused", 403, "temporary_access_pass_required",
                  "auth.passkey_registration: tap, and this is no pass session");
        return false;
    }
    return true;
}

static void register_options(zt_local_req *r)
{
    json_t *body = wa_gate(r);
    zt_portal_sess s;
    if (body == NULL || !wa_register_session(r, &s)) {
        json_decref(body);
        return;
    }
    const json_t *att = json_object_get(body, "authenticatorAttachment");
    const char *attachment = json_string_value(att);
    wa_who who = {s.email, s.user_id};
    if ((att != NULL && attachment == NULL) ||
        (attachment != NULL && strcmp(attachment, "platform") != 0 &&
         strcmp(attachment, "cross-platform") != 0)) {
        json_decref(body);
        wa_refuse(r, &who, "passkey registration refused", 400, "malformed",
                  "bad authenticatorAttachment");
        return;
    }
    char binding[ZT_STORE_WA_BINDING_LEN + 1];
    wa_binding(r, true, binding);
    zt_buf origin;
    zt_passkey_rp rp;
    zt_passkey_rules rules;
    wa_rp(r, &origin, &rp, &rules);
    zt_passkey_who pw = {
        .binding = binding, .user_id = s.user_id, .session_hash = s.id_hash, .email = s.email};
    json_t *out = NULL;
    zt_passkey_status st =
        zt_passkey_register_options(r->svc->store, &rp, &pw, attachment, zt_portal_now(), &out);
    json_decref(body);
    zt_buf_dispose(&origin);
    if (st != ZT_PASSKEY_OK) {
        wa_refuse(r, &who, "passkey registration refused", zt_passkey_status_http(st),
                  zt_passkey_status_code(st), "could not start the registration");
        return;
    }
    zt_portal_event ev = {.cls = ZT_EV_ACCOUNT_CHANGE,
                          .activity = 99, /* OCSF: Other */
                          .success = true,
                          .email = s.email,
                          .user_id = s.user_id,
                          .factor = "passkey",
                          .message = "passkey registration started"};
    if (!zt_portal_audit(r, &ev)) {
        json_decref(out);
        wa_error(r, 503, "unavailable", "audit log unavailable");
        return;
    }
    r->log_detail = "passkey registration options";
    wa_json(r, 200, out);
}

static void register_verify(zt_local_req *r)
{
    json_t *body = wa_gate(r);
    zt_portal_sess s;
    if (body == NULL || !wa_register_session(r, &s)) {
        json_decref(body);
        return;
    }
    wa_who who = {s.email, s.user_id};
    char binding[ZT_STORE_WA_BINDING_LEN + 1];
    if (!wa_binding(r, false, binding)) {
        json_decref(body);
        wa_refuse(r, &who, "passkey registration refused", 400, "invalid_challenge",
                  "no challenge cookie");
        return;
    }
    zt_buf origin;
    zt_passkey_rp rp;
    zt_passkey_rules rules;
    wa_rp(r, &origin, &rp, &rules);
    zt_passkey_who pw = {.binding = binding, .user_id = s.user_id, .session_hash = s.id_hash};
    zt_passkey_registered *reg = calloc(1, sizeof(*reg));
    zt_passkey_status st = reg == NULL ? ZT_PASSKEY_ERROR
                                       : zt_passkey_register_verify(r->svc->store, &rp, &pw, body,
                                                                    zt_portal_now(), reg);
    json_decref(body);
    zt_buf_dispose(&origin);
    if (st != ZT_PASSKEY_OK) {
        wa_refuse(r, &who, "passkey registration refused", zt_passkey_status_http(st),
                  zt_passkey_status_code(st), reg != NULL ? reg->why : NULL);
        free(reg);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "passkey registered (format %s, attestation %s, AAGUID %s%s)",
             reg->fmt, reg->attestation, reg->aaguid_hex, reg->be ? ", synced" : "");
    zt_portal_event ev = {.cls = ZT_EV_ACCOUNT_CHANGE,
                          .activity = 10, /* OCSF: MFA Factor Enable */
                          .success = true,
                          .email = s.email,
                          .user_id = s.user_id,
                          .factor = "passkey",
                          .message = msg};
    json_t *out = json_pack("{s:b, s:s, s:s}", "verified", 1, "id", reg->id_b64, "name", reg->name);
    if (!zt_portal_audit(r, &ev)) {
        /* Fail closed: no credential that the audit log does not know of. */
        zt_store_webauthn_delete(r->svc->store, s.user_id, reg->id, reg->id_len);
        free(reg);
        json_decref(out);
        wa_error(r, 503, "unavailable", "audit log unavailable");
        return;
    }
    free(reg);
    r->log_detail = "passkey registered";
    if (zt_portal_sess_is_tap(&s)) {
        /* The pass was for this one purpose: its session ends, and the user signs in with the
         * new passkey (as after enrolling TOTP with a pass). */
        zt_portal_tap_session_end(r, &s);
        r->log_detail = "passkey registered with a temporary access pass; session ended";
        json_object_set_new(out, "redirect", json_string(ZT_PORTAL_LOGIN));
    }
    wa_json(r, 200, out);
}

/* ---- sign-in ---- */

static void login_options(zt_local_req *r)
{
    json_t *body = wa_gate(r);
    if (body == NULL)
        return;
    const json_t *rdv = json_object_get(body, "rd");
    if (rdv != NULL && (!json_is_string(rdv) || json_string_length(rdv) > ZT_STORE_WA_RD_MAX)) {
        json_decref(body);
        wa_refuse(r, NULL, "passkey sign-in refused", 400, "malformed", "bad rd");
        return;
    }
    /* With a session (MFA-pending: second factor; signed in: step-up), only that user's
     * credentials; without, passwordless. The rd is checked again when it is used. */
    zt_portal_sess s;
    zt_portal_session(r, &s);
    /* A pass session is no second factor to complete: a passkey here is a full sign-in. */
    if (zt_portal_sess_is_tap(&s))
        s.valid = false;
    char binding[ZT_STORE_WA_BINDING_LEN + 1];
    wa_binding(r, true, binding);
    zt_buf origin;
    zt_passkey_rp rp;
    zt_passkey_rules rules;
    wa_rp(r, &origin, &rp, &rules);
    zt_passkey_who pw = {.binding = binding,
                         .user_id = s.valid ? s.user_id : NULL,
                         .session_hash = s.valid ? s.id_hash : NULL};
    json_t *out = NULL;
    const char *rd = json_string_value(rdv);
    zt_passkey_status st =
        zt_passkey_login_options(r->svc->store, &rp, &pw, rd, zt_portal_now(), &out);
    json_decref(body);
    zt_buf_dispose(&origin);
    wa_who who = {s.valid ? s.email : NULL, s.valid ? s.user_id : NULL};
    if (st != ZT_PASSKEY_OK) {
        wa_refuse(r, &who, "passkey sign-in refused", zt_passkey_status_http(st),
                  zt_passkey_status_code(st), "could not start the sign-in");
        return;
    }
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = 99, /* OCSF: Other */
                          .success = true,
                          .email = who.email,
                          .user_id = who.user_id,
                          .factor = "passkey",
                          .message = s.valid ? "passkey prompt for a signed-in user"
                                             : "passwordless passkey prompt"};
    if (!zt_portal_audit(r, &ev)) {
        json_decref(out);
        wa_error(r, 503, "unavailable", "audit log unavailable");
        return;
    }
    r->log_detail = "passkey sign-in options";
    wa_json(r, 200, out);
}

/* {"verified":true,"redirect":...} for the session id_hash and rd. */
static void login_answer(zt_local_req *r, const char *id_hash, const char *rd)
{
    zt_buf loc;
    zt_buf_init(&loc, 0);
    if (zt_portal_next_url(r, id_hash, rd, &loc) != 0) {
        zt_buf_dispose(&loc);
        wa_error(r, 503, "unavailable", "could not build the redirect");
        return;
    }
    json_t *out = json_pack("{s:b, s:s}", "verified", 1, "redirect", loc.data);
    zt_wipe(loc.data, loc.cap);
    zt_buf_dispose(&loc);
    wa_json(r, 200, out);
}

/* The cloned credential: refused, a finding for the detection, caches told (user risk rose),
 * the incident module told. */
static void login_cloned(zt_local_req *r, const zt_passkey_login *l, const zt_user *u)
{
    wa_who who = {u->email, l->user_id};
    zt_portal_finding f = {.activity = ZT_ACT_FINDING_CREATE,
                           .title = zt_risk_event_name(ZT_RISK_EV_DETECTED),
                           .type = zt_risk_type_name(ZT_DET_CLONED_CREDENTIAL),
                           .entra = zt_risk_type_entra(ZT_DET_CLONED_CREDENTIAL),
                           .level = ZT_RISK_HIGH,
                           .id = l->detection_id,
                           .email = u->email,
                           .user_id = l->user_id,
                           .message = "passkey sign counter went backwards: possibly cloned"};
    /* A copied key may have opened sessions already: end them all (an account change of its
     * own, by the gateway, which tells every gateway). */
    zt_account_env env = zt_portal_account_env(r);
    zt_actor gateway = {
        .name = "passkey-clone-detection", .type = "System", .request_id = r->request_id};
    zt_account_result res;
    if (zt_account_revoke_sessions(&env, &gateway, l->user_id, &res) != 0)
        zt_error("request %s: could not end the sessions of a cloned passkey's user",
                 r->request_id);
    zt_revocation_bump(r->svc->state_dir);
    zt_metric_detection(zt_risk_type_name(ZT_DET_CLONED_CREDENTIAL));
    zt_portal_signal(r, ZT_SIGNAL_DETECTION, f.type, ZT_RISK_HIGH, l->user_id, u->email, f.message,
                     NULL, false);
    if (!zt_portal_audit_finding(r, &f))
        wa_error(r, 503, "unavailable", "audit log unavailable");
    else
        wa_refuse(r, &who, "passkey sign-in refused", 401, "cloned_credential", l->why);
}

static const char *passkey_method(const zt_passkey_login *l)
{
    return l->be ? "swk" : "hwk";
}

/* A passkey remediated the sign-in's risk: the incident module hears it, as after MFA. */
static void signal_remediation(zt_local_req *r, const zt_user *u, const zt_risk_event *rev,
                               int64_t now)
{
    if (rev->n == 0)
        return;
    zt_risk level = ZT_RISK_HIGH;
    if (r->svc->risk != NULL)
        (void)zt_risk_user_level(r->svc->risk, u->id, now, &level);
    zt_portal_signal(r, ZT_SIGNAL_REMEDIATION, "mfa", 0, u->id, u->email,
                     "passkey passed: the sign-in's risk is remediated", NULL,
                     level == ZT_RISK_NONE);
}

/* Passwordless: a full sign-in through the session step, the risk assessed and recorded. */
static void login_passwordless(zt_local_req *r, const zt_passkey_login *l, const zt_user *u)
{
    int64_t now = zt_portal_now();
    char ua[ZT_STORE_UA_MAX + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    zt_risk_engine *eng = r->svc->risk;
    zt_risk_sign_in risk_in;
    zt_ip_info info;
    zt_risk_assessment *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        wa_error(r, 503, "unavailable", "out of memory");
        return;
    }
    zt_signin_env env = {.risk = eng,
                         .feeds = atomic_load(&r->svc->feeds),
                         .secrets = r->svc->secrets,
                         .vpn_egress = r->cfg->risk.vpn_egress,
                         .n_vpn_egress = r->cfg->risk.n_vpn_egress};
    /* No password: the leaked-credentials check has nothing to look at. */
    if (eng != NULL && zt_signin_assess(&env, u, "", 0, zt_portal_client_sa(r), ua, r->device_id,
                                        now, &risk_in, &info, a) != 0) {
        free(a);
        wa_error(r, 503, "unavailable", "risk assessment failed");
        return;
    }
    zt_portal_sess old;
    zt_portal_session(r, &old);
    char cookie[ZT_SESSION_COOKIE_LEN + 1], hash[ZT_SESSION_HASH_LEN + 1];
    zt_signin_session q = {.session = {.user_id = u->id,
                                       .host = r->host,
                                       .auth_time = now,
                                       .mfa_time = now,
                                       .mfa_method = passkey_method(l),
                                       .amr = zt_amr_add(0, l->amr),
                                       .passkey_aaguid = l->aaguid,
                                       .ip = r->ip,
                                       .user_agent = ua},
                           .replaces_hash = old.valid ? old.id_hash : NULL,
                           .cache = r->sessions,
                           .risk_in = eng != NULL ? &risk_in : NULL,
                           .assessment = eng != NULL ? a : NULL,
                           .state_dir = r->svc->state_dir};
    if (zt_signin_open_session(r->svc->sessions, eng, &q, now, cookie, hash) != 0) {
        free(a);
        wa_error(r, 503, "unavailable", "could not open the session");
        return;
    }
    /* A risky sign-in has passed a phishing-resistant second factor: remediated at once. */
    zt_risk_event rev;
    memset(&rev, 0, sizeof(rev));
    bool risky = eng != NULL && a->level >= ZT_RISK_MEDIUM;
    int rrc = risky ? zt_risk_remediate_sign_in(eng, hash, now, &rev) : 0;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = true,
                          .email = u->email,
                          .user_id = u->id,
                          .factor = "passkey",
                          .message = risky ? "signed in with a passkey (passwordless); sign-in "
                                             "risk remediated by the passkey"
                                           : "signed in with a passkey (passwordless)"};
    bool audited = rrc == 0 && zt_portal_audit(r, &ev) && zt_portal_audit_detections(r, u, a) &&
                   zt_portal_risk_event(r, &rev, u->email);
    free(a);
    if (!audited) {
        zt_session_destroy(r->svc->sessions, hash);
        zt_wipe(cookie, sizeof(cookie));
        wa_error(r, 503, "unavailable", "audit log or risk store unavailable");
        return;
    }
    zt_metric_sign_in(ZT_M_SIGN_IN_SUCCESS);
    signal_remediation(r, u, &rev, now);
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), cookie, r->https, -1);
    zt_known_device_set(r->svc->sessions, &r->resp_headers, u->id, r->https, now);
    zt_wipe(cookie, sizeof(cookie));
    r->log_detail = "signed in with a passkey";
    login_answer(r, hash, l->rd);
}

/* With a session: the second factor (MFA-pending) or a step-up (signed in), recorded on a new
 * session id like a TOTP code on the MFA page. */
static void login_second_factor(zt_local_req *r, const zt_passkey_login *l, const zt_user *u)
{
    zt_portal_sess s;
    zt_portal_session(r, &s);
    wa_who who = {u->email, u->id};
    if (!s.valid || strcmp(s.id_hash, l->session_hash) != 0 || strcmp(s.user_id, u->id) != 0) {
        wa_refuse(r, &who, "passkey sign-in refused", 400, "invalid_challenge",
                  "the session that asked is gone");
        return;
    }
    int64_t now = zt_portal_now();
    zt_risk_event rev;
    memset(&rev, 0, sizeof(rev));
    int rrc =
        r->svc->risk != NULL ? zt_risk_remediate_sign_in(r->svc->risk, s.id_hash, now, &rev) : 0;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = true,
                          .email = u->email,
                          .user_id = u->id,
                          .factor = "passkey",
                          .message = s.mfa_pending ? "second factor accepted (passkey)"
                                                   : "step-up accepted (passkey)"};
    char hash[ZT_SESSION_HASH_LEN + 1];
    if (rrc != 0) {
        wa_error(r, 503, "unavailable", "could not update the sign-in's risk");
    } else if (!zt_portal_audit(r, &ev) || !zt_portal_risk_event(r, &rev, u->email)) {
        wa_error(r, 503, "unavailable", "audit log unavailable");
    } else if (zt_portal_session_upgrade(r, &s, s.auth_time, now, passkey_method(l), l->aaguid,
                                         hash) != 0) {
        wa_error(r, 503, "unavailable", "could not create the session");
    } else {
        zt_metric_sign_in(ZT_M_SIGN_IN_MFA_SUCCESS);
        signal_remediation(r, u, &rev, now);
        r->log_detail = "passkey second factor accepted";
        login_answer(r, hash, l->rd);
    }
}

/* The source throttle shared with the password form: a source with too many recent failures
 * is refused before any check. */
static bool login_throttled(zt_local_req *r)
{
    zt_throttle_verdict v =
        zt_throttle_check(r->svc->throttle, NULL, r->ip, false, zt_wall_us() / 1000);
    if (v.result != ZT_THROTTLE_SOURCE && v.result != ZT_THROTTLE_WAIT)
        return false;
    zt_buf_printf(&r->resp_headers, "Retry-After: %llu\r\n",
                  (unsigned long long)(v.retry_after_s > 0 ? v.retry_after_s : 60));
    wa_refuse(r, NULL, "passkey sign-in refused", 429, "too_many_attempts", "throttled");
    return true;
}

static void login_settle(zt_local_req *r, const zt_user *u, bool ok)
{
    char account[256];
    zt_portal_account_key(u != NULL ? u->email : NULL, account);
    zt_throttle_record(r->svc->throttle, u != NULL ? account : NULL, r->ip, false, ok,
                       zt_wall_us() / 1000);
}

static void login_verified(zt_local_req *r, const zt_passkey_login *l)
{
    zt_user u;
    int rc = zt_store_user_get_by_id(r->svc->store, l->user_id, &u);
    if (rc != 0) {
        login_settle(r, NULL, false);
        if (rc == -ENOENT)
            wa_refuse(r, NULL, "passkey sign-in refused", 401, "unknown_credential", "owner gone");
        else
            wa_error(r, 503, "unavailable", "store error");
        return;
    }
    wa_who who = {u.email, u.id};
    if (u.disabled) {
        login_settle(r, &u, false);
        wa_refuse(r, &who, "passkey sign-in refused", 403, "account_disabled", "disabled");
    } else if (zt_account_expired(&u, zt_portal_now())) {
        /* Said only to the passkey's holder, as "disabled" is: no more than that tells. */
        login_settle(r, &u, false);
        wa_refuse(r, &who, "passkey sign-in refused", 403, "account_expired", "account expired");
    } else if (l->passwordless) {
        login_settle(r, &u, true);
        login_passwordless(r, l, &u);
    } else {
        login_settle(r, &u, true);
        login_second_factor(r, l, &u);
    }
    zt_user_dispose(&u);
}

static void login_verify(zt_local_req *r)
{
    json_t *body = wa_gate(r);
    if (body == NULL)
        return;
    if (login_throttled(r)) {
        json_decref(body);
        return;
    }
    char binding[ZT_STORE_WA_BINDING_LEN + 1];
    if (!wa_binding(r, false, binding)) {
        json_decref(body);
        login_settle(r, NULL, false);
        wa_refuse(r, NULL, "passkey sign-in refused", 400, "invalid_challenge",
                  "no challenge cookie");
        return;
    }
    zt_buf origin;
    zt_passkey_rp rp;
    zt_passkey_rules rules;
    wa_rp(r, &origin, &rp, &rules);
    zt_passkey_login *l = calloc(1, sizeof(*l));
    zt_passkey_status st =
        l == NULL ? ZT_PASSKEY_ERROR
                  : zt_passkey_login_verify(r->svc->store, &rp, binding, body, zt_portal_now(), l);
    json_decref(body);
    zt_buf_dispose(&origin);
    if (st == ZT_PASSKEY_OK) {
        login_verified(r, l);
    } else if (st == ZT_PASSKEY_ERROR) {
        wa_error(r, 503, "unavailable", "passkey store error");
    } else {
        zt_user u;
        bool known =
            l->user_id[0] != '\0' && zt_store_user_get_by_id(r->svc->store, l->user_id, &u) == 0;
        wa_who who = {known ? u.email : NULL, l->user_id[0] ? l->user_id : NULL};
        login_settle(r, known ? &u : NULL, false);
        zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
        if (st == ZT_PASSKEY_CLONED && known && l->detection_id > 0)
            login_cloned(r, l, &u); /* just now: the detection is new */
        else
            wa_refuse(r, &who, "passkey sign-in refused", zt_passkey_status_http(st),
                      zt_passkey_status_code(st), l->why);
        if (known)
            zt_user_dispose(&u);
    }
    free(l);
}

/* ---- routing ---- */

void zt_portal_webauthn(zt_local_req *r)
{
    if (strcmp(r->path, ZT_PORTAL_WA_REGISTER_OPTIONS) == 0)
        register_options(r);
    else if (strcmp(r->path, ZT_PORTAL_WA_REGISTER_VERIFY) == 0)
        register_verify(r);
    else if (strcmp(r->path, ZT_PORTAL_WA_LOGIN_OPTIONS) == 0)
        login_options(r);
    else if (strcmp(r->path, ZT_PORTAL_WA_LOGIN_VERIFY) == 0)
        login_verify(r);
    else
        wa_error(r, 404, "not_found", "no such passkey endpoint");
}
