/* The sign-in portal under /.ztgate/: internal API shared by its files. The pure parts (form
 * parser, redirect validator, CSRF tokens, HTML rendering) take no request and are unit-tested
 * and fuzzed; the flows (login, MFA, enrolment, password change, logout) drive a zt_local_req.
 * Nothing here ever logs or echoes a password, a code, a session id or a CSRF token. */
#ifndef ZT_PORTAL_PORTAL_H
#define ZT_PORTAL_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audit/event.h"
#include "core/config.h"
#include "core/i18n.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "risk/risk.h"
#include "session/account.h"
#include "session/session.h"
#include "session/throttle.h"

typedef struct zt_local_req zt_local_req;

/* ---- paths (a public contract) ---- */
#define ZT_PORTAL_PREFIX "/.ztgate/"
#define ZT_PORTAL_HOME "/.ztgate/"
#define ZT_PORTAL_LOGIN "/.ztgate/login"
#define ZT_PORTAL_MFA "/.ztgate/mfa"
#define ZT_PORTAL_TOTP "/.ztgate/totp"
#define ZT_PORTAL_PASSWORD "/.ztgate/password"
#define ZT_PORTAL_LOGOUT "/.ztgate/logout"
#define ZT_PORTAL_SIGNED_OUT "/.ztgate/signed-out"
#define ZT_PORTAL_CALLBACK "/.ztgate/callback"
#define ZT_PORTAL_JWKS "/.ztgate/jwks.json"
#define ZT_PORTAL_PASSKEY "/.ztgate/passkey"       /* passkey prompt (?rd=): step-up, sign-in */
#define ZT_PORTAL_PASSKEY_JS "/.ztgate/passkey.js" /* the one script (passkey_ui.c) */
/* WebAuthn JSON endpoints (webauthn.c; docs/PORTAL.md "Passkeys"), all POST. */
#define ZT_PORTAL_WA_PREFIX "/.ztgate/webauthn/"
#define ZT_PORTAL_WA_REGISTER_OPTIONS "/.ztgate/webauthn/register/options"
#define ZT_PORTAL_WA_REGISTER_VERIFY "/.ztgate/webauthn/register/verify"
#define ZT_PORTAL_WA_LOGIN_OPTIONS "/.ztgate/webauthn/login/options"
#define ZT_PORTAL_WA_LOGIN_VERIFY "/.ztgate/webauthn/login/verify"
#define ZT_PORTAL_SECURITY "/.ztgate/security"
/* Upstream OpenID providers' sign-in (src/federation, which the portal never includes): the
 * sign-in page's buttons and home-realm discovery send the browser here. */
#define ZT_PORTAL_UPSTREAM_START "/.ztgate/upstream/start"

/* ---- form.c: application/x-www-form-urlencoded bodies and query strings ---- */

#define ZT_FORM_MAX_FIELDS 16  /* fields zt_form_parse accepts (the portal's forms) */
#define ZT_FORM_FIELDS_CAP 32  /* fields a zt_form holds: zt_form_parse_max may allow this many */
#define ZT_FORM_NAME_MAX 64    /* bytes of a decoded field name */
#define ZT_FORM_VALUE_MAX 4096 /* bytes of a decoded field value */
#define ZT_FORM_PASSWORD_MAX 1024 /* password fields (ZT_PASSWORD_MAX_BYTES) */

typedef enum zt_form_err {
    ZT_FORM_OK = 0,
    ZT_FORM_E_SYNTAX = -1,   /* bad % escape, empty name, NUL */
    ZT_FORM_E_TOO_LONG = -2, /* a name or value over its limit */
    ZT_FORM_E_TOO_MANY = -3, /* more than ZT_FORM_MAX_FIELDS (or the max given) */
    ZT_FORM_E_DUP = -4,      /* the same name twice */
    ZT_FORM_E_NOMEM = -5,
} zt_form_err;

typedef struct zt_form_field {
    const char *name; /* decoded, NUL-terminated */
    const char *value;
    size_t value_len; /* decoded bytes (no NUL inside: %00 is refused) */
} zt_form_field;

typedef struct zt_form {
    zt_form_field f[ZT_FORM_FIELDS_CAP];
    size_t n;
    char *mem; /* decoded names and values; wiped and freed by zt_form_dispose */
    size_t mem_len;
} zt_form;

/* Parse s (len bytes). '+' is a space; "%XX" needs two hex digits; empty pairs ("a=1&&b=2")
 * are skipped. On error the form is empty (and still safe to dispose). */
zt_form_err zt_form_parse(zt_form *form, const char *s, size_t len);
/* The same with up to max fields (at most ZT_FORM_FIELDS_CAP): for a protocol endpoint whose
 * clients may send more parameters than a portal form has (OIDC authorize). */
zt_form_err zt_form_parse_max(zt_form *form, const char *s, size_t len, size_t max);
/* Wipes every decoded byte (passwords live here) and frees. Accepts a zeroed form. */
void zt_form_dispose(zt_form *form);
/* The value of `name` or NULL; *len (nullable) gets its length. */
const char *zt_form_get(const zt_form *form, const char *name, size_t *len);
/* True when ct is application/x-www-form-urlencoded, optionally with parameters. */
bool zt_form_content_type_ok(zt_span ct);
/* Percent-encode everything but RFC 3986 unreserved characters (and '/' when keep_slash). */
int zt_url_encode(zt_buf *out, const char *s, size_t n, bool keep_slash);

/* ---- redirect.c: the rd (return-to) parameter ---- */

#define ZT_RD_MAX 2048

/* A scheme and port the gateway serves every app host on (a listener, or the port the browser
 * reached this gateway on). */
typedef struct zt_rd_port {
    bool https;
    unsigned port;
} zt_rd_port;

typedef struct zt_rd_policy {
    const char *const *hosts; /* configured app hosts (lowercase, no port) */
    size_t n_hosts;
    const char *portal_host; /* NULL when none */
    bool relative_only;      /* callback: only "/path" is accepted */
    const zt_rd_port *ports; /* absolute rd: its scheme and port must be one of these */
    size_t n_ports;          /* 0: no absolute rd at all */
    bool https_only;         /* the request came over HTTPS: never downgrade to http:// */
} zt_rd_policy;

typedef struct zt_rd {
    bool absolute;
    bool https;                     /* absolute only */
    unsigned port;                  /* absolute only: explicit, else 443 / 80 */
    char host[256];                 /* absolute only: lowercase, no port */
    char authority[262];            /* absolute only: host[:port] as given, lowercased */
    char path_query[ZT_RD_MAX + 1]; /* "/..." path, query and fragment ("/" when none) */
    char url[ZT_RD_MAX + 1];        /* the accepted value, verbatim */
} zt_rd;

/* True when rd is a safe place to send a browser after sign-in (see redirect.c for the rules);
 * false for anything else, and the caller uses ZT_PORTAL_HOME. */
bool zt_rd_check(const char *rd, size_t len, const zt_rd_policy *pol, zt_rd *out);

/* ---- csrf.c: tokens bound to a browser cookie and a form path ---- */

#define ZT_CSRF_COOKIE_HTTPS "__Host-ztgate_csrf"
#define ZT_CSRF_COOKIE_HTTP "ztgate_csrf"
#define ZT_CSRF_COOKIE_LEN 43 /* base64url of nonce(16) | MAC(16) */
#define ZT_CSRF_TOKEN_LEN 43  /* base64url of HMAC-SHA-256 */
#define ZT_CSRF_KEY_LEN 32

/* The per-gateway key (derived from the secret-box key under a fixed label). */
typedef struct zt_secretbox zt_secretbox;
void zt_csrf_key(const zt_secretbox *box, unsigned char key[ZT_CSRF_KEY_LEN]);
/* A fresh cookie value: a random nonce and its MAC under key over `bind` ("" on HTTPS, where
 * __Host- stops planting; the client IP on plain HTTP, where a planter could otherwise plant a
 * value it obtained itself). */
void zt_csrf_cookie_new(const unsigned char key[ZT_CSRF_KEY_LEN], const char *bind,
                        char out[ZT_CSRF_COOKIE_LEN + 1]);
/* True when v is a cookie this gateway issued for `bind` (constant-time MAC check). */
bool zt_csrf_cookie_valid(const unsigned char key[ZT_CSRF_KEY_LEN], const char *bind, const char *v,
                          size_t n);
/* token = base64url(HMAC-SHA-256(key, cookie || 0x00 || path)). */
void zt_csrf_token(const unsigned char key[ZT_CSRF_KEY_LEN], const char *cookie, size_t cookie_len,
                   const char *path, char out[ZT_CSRF_TOKEN_LEN + 1]);
/* Constant-time check of a submitted token; the cookie must be one issued for `bind`. */
__attribute__((warn_unused_result)) bool zt_csrf_check(const unsigned char key[ZT_CSRF_KEY_LEN],
                                                       const char *bind, const char *cookie,
                                                       size_t cookie_len, const char *path,
                                                       const char *token, size_t token_len);
/* "Set-Cookie: NAME=V; Path=/; HttpOnly; SameSite=Strict[; Secure]\r\n" */
int zt_csrf_cookie_header(zt_buf *headers, const char *value, bool https);

/* ---- render.c: HTML ---- */

/* Start a page: doctype, <html lang>, head (viewport, inline CSS), <main>, <h1>title</h1>. */
int zt_html_begin(zt_buf *b, zt_lang lang, zt_msg title);
/* Close the page with the footer and, when request_id is set, the reference to quote. */
int zt_html_end(zt_buf *b, zt_lang lang, const char *request_id);
/* Escaped catalogue text; inside a tag: zt_html_p wraps it in <p class=cls>. */
int zt_html_msg(zt_buf *b, zt_lang lang, zt_msg id);
int zt_html_p(zt_buf *b, zt_lang lang, zt_msg id, const char *cls);
int zt_html_text(zt_buf *b, const char *s); /* escaped user-controlled text */
/* <form method=post action=ACTION> with the CSRF token and (when rd != NULL) the hidden rd. */
int zt_html_form_begin(zt_buf *b, const char *action, const char *csrf_token, const char *rd);
int zt_html_form_end(zt_buf *b, zt_lang lang, zt_msg button);
int zt_html_hidden(zt_buf *b, const char *name, const char *value);
/* <label>LABEL<input name type autocomplete [extra attributes]></label> */
int zt_html_input(zt_buf *b, zt_lang lang, zt_msg label, const char *name, const char *type,
                  const char *autocomplete, const char *extra);
/* <p><a href="HREF">TEXT</a></p>; href is escaped. */
int zt_html_link(zt_buf *b, zt_lang lang, const char *href, zt_msg text);
/* A notice box (error or success). */
int zt_html_notice(zt_buf *b, zt_lang lang, zt_msg id, bool error);

/* The sign-in form page (also the one failure page for every sign-in failure). */
typedef struct zt_login_view {
    zt_lang lang;
    const char *csrf_token;
    const char *rd;         /* "" when none */
    zt_msg error;           /* MSG_NONE or a notice */
    const char *request_id; /* NULL: no reference line (keeps failure bodies identical) */
    const char *username;   /* the e-mail typed, kept in the form (escaped); nullable */
    uint64_t wait_s;        /* > 0: the throttle's "wait N seconds" notice */
    bool passkey;           /* offer "Sign in with a passkey" (auth.passkeys) */
    /* oidc_providers: one "Sign in with ..." button each; when any has home-realm domains the
     * password is optional in the form (an e-mail of such a domain goes to its provider). */
    const struct zt_oidc_provider_cfg *upstreams;
    size_t n_upstreams;
} zt_login_view;
int zt_render_login(zt_buf *b, const zt_login_view *v);
/* The throttle's notice: "wait N seconds, then try again" in a notice box. */
int zt_html_wait_notice(zt_buf *b, zt_lang lang, uint64_t wait_s);
/* A whole page for a throttled form other than sign-in (MFA, password change, enrolment). */
int zt_render_wait(zt_buf *b, zt_lang lang, uint64_t wait_s);

/* The account page for a signed-in user (email etc. are user-controlled: escaped). */
typedef struct zt_account_view {
    zt_lang lang;
    const char *email;
    const char *name;
    bool mfa_done; /* this session passed a second factor */
    bool totp_enrolled;
    bool passkeys_on;            /* auth.passkeys: the passkey section is shown */
    const char *const *passkeys; /* names the user gave their passkeys (escaped) */
    size_t n_passkeys;
} zt_account_view;
int zt_render_account(zt_buf *b, const zt_account_view *v);

/* ---- render_security.c: the self-service security page ---- */

#define ZT_SEC_ROWS_MAX 32       /* rows shown per section (passkeys: the store's cap) */
#define ZT_SEC_ACTIVITY_MAX 10   /* recent sign-ins shown */
#define ZT_SEC_REF_LEN 32        /* a session's reference on the page: hex, not the store key */
#define ZT_SEC_CRED_B64_MAX 1368 /* base64url of a 1023-byte credential id */

typedef struct zt_sec_passkey {
    char id[ZT_SEC_CRED_B64_MAX + 1]; /* base64url credential id (public) */
    char name[65];
    zt_msg type; /* SM_TYPE_SYNCED, SM_TYPE_DEVICE or SM_TYPE_KEY */
    int64_t created_at, last_used_at;
} zt_sec_passkey;

typedef struct zt_sec_session {
    char ref[ZT_SEC_REF_LEN + 1];
    char device[129]; /* browser and system from the User-Agent (printable ASCII) */
    char place[3];    /* GeoIP country, "" unknown */
    char ip[46];
    int64_t signed_in_at, last_seen_at;
    bool this_browser;
} zt_sec_session;

typedef struct zt_sec_device {
    char name[129], platform[33];
    bool compliant, revoked;
    int64_t posture_at; /* 0: no report yet */
} zt_sec_device;

/* One sign-in attempt from the audit log (security_activity.c). */
typedef struct zt_sec_signin {
    uint64_t seq; /* the audit record: what "this wasn't me" reports */
    int64_t at;   /* Unix seconds */
    char ip[46];
    char place[3];
    char factor[17]; /* "password", "totp", "recovery", ... ("" unknown) */
    bool success;
} zt_sec_signin;

typedef struct zt_security_view {
    zt_lang lang;
    const char *csrf_token;
    zt_msg done; /* MSG_NONE or the one-line result of the last action */
    const zt_sec_passkey *passkeys;
    size_t n_passkeys;
    bool totp_enrolled;
    size_t recovery_left;
    const zt_sec_session *sessions;
    size_t n_sessions;
    const zt_sec_device *devices;
    size_t n_devices;
    const zt_sec_signin *activity;
    size_t n_activity;
    bool activity_off; /* no audit log to read */
    bool passkeys_on;  /* auth.passkeys: offer "Add a passkey" (passkey.js) */
} zt_security_view;
int zt_render_security(zt_buf *b, const zt_security_view *v);

/* ---- security_activity.c: the user's recent sign-ins from the audit log ---- */

/* The newest Authentication (logon) records of user_id in the last `window` bytes of the audit
 * file at path, newest first, at most cap. 0, or a negative errno (the file cannot be read). */
int zt_sec_activity_read(const char *path, const char *user_id, size_t window, zt_sec_signin *out,
                         size_t cap, size_t *n_out);
/* The same over lines in memory (cut: the first line may be partial and is skipped); returns
 * how many were found. Pure: fuzzed by fuzz/fuzz_security_activity.c. */
size_t zt_sec_activity_parse(const char *buf, size_t len, bool cut, const char *user_id,
                             zt_sec_signin *out, size_t cap);

/* ---- passkey_ui.c: the browser side of passkeys ---- */

/* What a passkey block does: data-passkey="login" | "second-factor" | "register". */
typedef enum zt_passkey_mode {
    ZT_PASSKEY_LOGIN = 0,     /* passwordless: no user name, any discoverable credential */
    ZT_PASSKEY_SECOND_FACTOR, /* the session's user's credentials: MFA or step-up */
    ZT_PASSKEY_REGISTER,      /* add one (with a name field) */
} zt_passkey_mode;
/* The block passkey.js drives: its button (hidden until the script finds WebAuthn), the
 * alert and status lines, the en/ja texts in data- attributes, and the <script src> that
 * loads it. rd: where the ceremony leads (nullable); next: where to go after a registration
 * (nullable: reload). A page carrying it must set r->page_script (its CSP). */
int zt_html_passkey(zt_buf *b, zt_lang lang, zt_passkey_mode mode, const char *rd,
                    const char *next);
/* "or", between a form and the passkey block. */
int zt_html_passkey_or(zt_buf *b, zt_lang lang);
/* Routes /.ztgate/passkey.js and /.ztgate/passkey; false for any other path. */
bool zt_portal_passkey_route(zt_local_req *r);
/* How many passkeys / security keys the user has registered. 0 or negative errno. */
int zt_portal_passkey_count(zt_local_req *r, const char *user_id, uint64_t *n);

/* ---- portal.c: request glue shared by the flows ---- */

/* What the portal needs of a session (copied out of the cache entry). */
typedef struct zt_portal_sess {
    bool valid;
    char id_hash[ZT_SESSION_HASH_LEN + 1];
    char user_id[33];
    char email[255];
    int64_t auth_time, mfa_time;
    char mfa_method[17];
    bool mfa_pending;
    int user_risk, sign_in_risk; /* zt_risk levels from the session record */
    unsigned amr;                /* ZT_AMR_* methods (session.h) */
    bool has_passkey_aaguid;     /* the passkey it was proven with (session.h) */
    unsigned char passkey_aaguid[16];
} zt_portal_sess;

/* The Conditional Access request for a decision the portal or the identity provider takes at
 * sign-in (an SSO, an agent's approval): the session side from s, the request side from r, the
 * app given (not whatever app the portal host matched), a browser client. The caller adds the
 * groups and anything its flow changes. */
typedef struct zt_access_request zt_access_request;
void zt_portal_access_request(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                              zt_access_request *rq);

/* A session opened with a Temporary Access Pass: pending, limited to enrolling a sign-in method
 * (a passkey or TOTP); the MFA page and every other page refuse it. */
bool zt_portal_sess_is_tap(const zt_portal_sess *s);
#define ZT_PORTAL_PASSKEY_FRESH_S 300 /* a passkey proved this recently counts as fresh */
/* Whether this session proved a passkey in the last ZT_PORTAL_PASSKEY_FRESH_S seconds: the
 * rule for changing the user's passkeys (adding one when they have one, removing the last).
 * A password and a relayed TOTP code never pass it, so a phishing kit cannot swap in its own
 * passkey. */
bool zt_portal_sess_passkey_fresh(const zt_portal_sess *s, int64_t now);
/* A pass's session has done its one job (a method was enrolled): end it and clear the cookie;
 * the new method signs in from now on (enrol.c; passkey registration does the same). */
void zt_portal_tap_session_end(zt_local_req *r, const zt_portal_sess *s);

/* The handler of /.ztgate/... on every gateway listener (http/handler.h). */
void zt_portal_handle(zt_local_req *r);
/* The handler of /.ztgate/device/enroll (ctx: the zt_devices): the enrolment page for browsers
 * (device_page.c); the agent's JSON calls go on to the device handler. */
void zt_portal_device_enrol(void *devices, zt_local_req *r);
/* The handler of /.ztgate/agent/approve (ctx: the zt_devices): where a signed-in user approves
 * the sign-in `ztagent tunnel` asked for (agent_approve.c). */
void zt_portal_agent_approve(void *devices, zt_local_req *r);

int64_t zt_portal_now(void);
/* The session of this request, if any (valid, on this host). */
void zt_portal_session(zt_local_req *r, zt_portal_sess *out);
const zt_span *zt_portal_cookies(const zt_local_req *r);
/* User-Agent copied and cut to the store's limit (out: 513 bytes). */
void zt_portal_user_agent(const zt_local_req *r, char *out, size_t cap);
/* Allow only GET (and HEAD), plus POST when post_ok; else a 405 with Allow has been sent. */
bool zt_portal_method_ok(zt_local_req *r, bool post_ok);
bool zt_portal_is_post(const zt_local_req *r);

/* A simple page: title, text, an optional link. Sets status and body, then responds. */
void zt_portal_page(zt_local_req *r, int status, zt_msg title, zt_msg body, const char *href,
                    zt_msg link);
void zt_portal_fail(zt_local_req *r, int status, zt_msg title, zt_msg body, const char *log_detail);
void zt_portal_unavailable(zt_local_req *r, const char *log_detail);
/* 503 with the "sign-in unavailable: the database cannot be reached" page (a clustered gateway
 * cut from its database; docs/CLUSTER.md). zt_portal_unavailable answers with it too while the
 * sessions know the database is unreachable. */
void zt_portal_database_down(zt_local_req *r);
void zt_portal_redirect(zt_local_req *r, const char *location);
void zt_portal_redirect_with_rd(zt_local_req *r, const char *path, const char *rd);

/* CSRF for this request: `token` for the form posted to `path` (sets the cookie when the
 * browser has none). 0 or negative errno. */
int zt_portal_csrf_token(zt_local_req *r, const char *path, char token[ZT_CSRF_TOKEN_LEN + 1]);
/* POST check: Origin (when sent) is this host, cookie and csrf_token field match. On false a
 * 403 page has been sent (and audited). */
bool zt_portal_csrf_ok(zt_local_req *r, const zt_form *form);

/* Parse the POST body as a form; false: a 415/400 page has been sent. */
bool zt_portal_read_form(zt_local_req *r, zt_form *form);
/* rd from a form or query; "" when missing or unsafe (use ZT_PORTAL_HOME). out holds the
 * verbatim accepted value. */
void zt_portal_rd(zt_local_req *r, const zt_form *form, char out[ZT_RD_MAX + 1]);

/* Send the browser with full session `id_hash` on to rd (303): same host directly, another
 * configured app host through a one-time code (portal host only). */
void zt_portal_finish(zt_local_req *r, const char *id_hash, const char *rd);
/* Where zt_portal_finish would send the browser (appended to loc, NUL-terminated), for the
 * JSON endpoints that answer {"redirect": ...} instead of a 303. 0 or a negative errno. */
int zt_portal_next_url(zt_local_req *r, const char *id_hash, const char *rd, zt_buf *loc);

/* Hold the answer for ms on the request's loop, then run fn(ctx) (at once when ms is 0).
 * 0, or a negative errno (fn not called). */
int zt_portal_hold(zt_local_req *r, uint64_t ms, void (*fn)(void *ctx), void *ctx);

/* When a central portal host is configured and this is not it: 303 to the same path and query
 * there. True when it answered. */
bool zt_portal_go_central(zt_local_req *r);
/* Append "SCHEME://HOST[:PORT]" with this request's scheme and Host-header port. */
int zt_portal_origin(const zt_local_req *r, const char *host, zt_buf *out);

/* Audit. false: fail closed (the caller answers 503). */
typedef struct zt_portal_event {
    zt_event_class cls;
    unsigned activity;
    bool success;
    const char *email;   /* as typed or stored; nullable */
    const char *user_id; /* nullable */
    const char *factor;  /* "password", "totp", "recovery"; nullable */
    const char *message;
    const char *reason; /* nullable: wrong password, unknown user, ... */
} zt_portal_event;
bool zt_portal_audit(zt_local_req *r, const zt_portal_event *e);

/* Identity Protection: one OCSF Detection Finding (2004) per detection made or risk state
 * changed, with the user and the request's source address. false: fail closed. */
typedef struct zt_portal_finding {
    unsigned activity;    /* ZT_ACT_FINDING_CREATE, _UPDATE or _CLOSE */
    const char *title;    /* "risk.detected", "risk.remediated", ... */
    const char *type;     /* detection type ("impossible_travel"); nullable */
    const char *entra;    /* Entra riskEventType alias; nullable */
    int level;            /* zt_risk: 0 none .. 3 high */
    const char *evidence; /* JSON object text; nullable */
    int64_t id;           /* detection id; 0 = none */
    const char *email;    /* nullable */
    const char *user_id;  /* nullable */
    const char *detail;   /* Graph riskDetail of a state change; nullable */
    uint64_t n;           /* detections changed (state changes) */
    const char *message;
} zt_portal_finding;
bool zt_portal_audit_finding(zt_local_req *r, const zt_portal_finding *f);
/* One finding per detection of a recorded sign-in of u (password or passkey), each counted and
 * handed to the incident module. false: the audit log failed. */
bool zt_portal_audit_detections(zt_local_req *r, const zt_user *u, const zt_risk_assessment *a);
/* The client's address for the risk engine: NULL unless IPv4 or IPv6. */
const struct sockaddr *zt_portal_client_sa(const zt_local_req *r);
/* Audit a state change the risk engine returned (nothing when it changed nothing) and bump the
 * revocation counter when it asks to. false: the audit log refused it. */
struct zt_risk_event;
/* Hand a detection, remediation or admin action to the incident/playbook module (Core 6).
 * Failures are logged: the sign-in itself has already been decided and audited. */
void zt_portal_signal(zt_local_req *r, int kind, const char *type, int severity,
                      const char *user_id, const char *email, const char *summary,
                      const char *evidence, bool resolves);
bool zt_portal_risk_event(zt_local_req *r, const struct zt_risk_event *ev, const char *email);

/* The account service (session/account.h) acting for the signed-in user: the shared store and
 * revocation counter, the gateway's audit log as the record sink, the user (email) as the
 * actor of type "User". *who borrows email and r. */
zt_account_env zt_portal_account_env(zt_local_req *r);
void zt_portal_actor(zt_local_req *r, const char *email, zt_actor *who);

/* ---- one throttled flow (flow.c): sign-in, MFA, enrolment and password change ---- */

/* The part every throttled form flow shares; it is the first member of the flow's job, so a
 * job pointer is a flow pointer. The job is wiped whole when freed (it holds passwords). */
typedef struct zt_portal_flow {
    zt_local_req *r;
    zt_form form; /* may hold passwords or codes: wiped by zt_form_dispose */
    char account[256];
    char rd[ZT_RD_MAX + 1];
    bool known;   /* the account owner's known device (exempt from the account limit) */
    bool limited; /* the throttle limits this account for unknown devices */
    zt_throttle_verdict verdict;
    zt_throttle *throttle; /* the ticket's: released by zt_portal_flow_free when not settled */
    zt_throttle_ticket ticket;
    size_t size; /* of the whole job */
} zt_portal_flow;

/* Start a POST flow: a zeroed job of `size` bytes (zt_portal_flow first), its form read and
 * its CSRF token checked, rd taken from the form. NULL when it answered (out of memory, bad
 * form, CSRF). */
void *zt_portal_flow_start(zt_local_req *r, size_t size);
/* Release the ticket when no verdict was given, dispose of the form, wipe and free. */
void zt_portal_flow_free(void *job);

typedef struct zt_portal_flow_ops {
    void (*verify)(void *job); /* runs after the throttle's delay, on the request's loop */
    /* The throttle refused (source limit, or a wait too long to hold): answer. NULL: the
     * shared 429 page (zt_portal_too_many). */
    void (*refused)(void *job, uint64_t retry_after_s);
    /* Nullable: the verdict is in f->verdict and f->limited, before the hold. */
    void (*admitted)(void *job);
} zt_portal_flow_ops;

/* Throttle admission for `email` (the account key) and user_id (nullable: unknown account, no
 * known device), then hold for the delay and run ops->verify. When the attempt is refused or
 * cannot be held, it answers and frees the job. */
void zt_portal_flow_admit(void *job, const char *email, const char *user_id,
                          const zt_portal_flow_ops *ops);

/* An attempt the throttle refused before any check: audited (Authentication, "throttled"),
 * Retry-After set to *wait_s (the throttle's, or 60 s). false: the audit log refused the record
 * and a 503 has been sent. The caller then answers 429 with its page. */
bool zt_portal_refusal(zt_local_req *r, const char *email, uint64_t retry_after_s,
                       uint64_t *wait_s);
/* 429 with Retry-After (audited) and a page saying how many seconds to wait: the throttle
 * refused the attempt (source limit, or a delay too long to hold). */
void zt_portal_too_many(zt_local_req *r, const char *email, uint64_t retry_after_s);

/* Throttle key: the user name lowercased (ASCII), at most 254 bytes. */
void zt_portal_account_key(const char *name, char out[256]);

/* ---- mfa.c: shared by MFA, enrolment and password change ---- */

/* Key for recovery-code hashes (derived from the secret-box key, never stored). */
void zt_portal_recovery_key(const zt_local_req *r, unsigned char key[32]);
/* Secret-box context of a user's TOTP secret: "totp:" + user id. */
void zt_portal_totp_context(const char *user_id, char out[64]);
/* Replace `old` (destroyed when valid) by a new full session for old->user_id with a new id
 * (no fixation); sets the session and known-device cookies. The new session's amr is old's
 * plus what mfa_method proves ("totp", "recovery": otp; "hwk", "swk": a passkey), with mfa
 * when that makes two kinds of factor. passkey_aaguid: the AAGUID of the passkey just used
 * (16 bytes), or NULL to keep the old session's. 0 or negative errno. */
int zt_portal_session_upgrade(zt_local_req *r, const zt_portal_sess *old, int64_t auth_time,
                              int64_t mfa_time, const char *mfa_method,
                              const unsigned char *passkey_aaguid,
                              char hash_out[ZT_SESSION_HASH_LEN + 1]);
/* The session of this request, or (false) a 303 to the sign-in page with rd has been sent. */
bool zt_portal_require_session(zt_local_req *r, zt_portal_sess *s, const char *rd);

/* ---- login.c: home-realm discovery ---- */

/* The provider whose home-realm domains hold the e-mail's domain (ASCII case ignored), or NULL. */
const struct zt_oidc_provider_cfg *zt_portal_home_realm(const zt_config *cfg, const char *email);

/* ---- the flows ---- */
void zt_portal_login(zt_local_req *r);
void zt_portal_mfa(zt_local_req *r);
void zt_portal_enrol(zt_local_req *r);
void zt_portal_password(zt_local_req *r);
void zt_portal_logout(zt_local_req *r);
void zt_portal_signed_out(zt_local_req *r);
void zt_portal_webauthn(zt_local_req *r); /* every path under ZT_PORTAL_WA_PREFIX */
void zt_portal_security(zt_local_req *r);

#endif
