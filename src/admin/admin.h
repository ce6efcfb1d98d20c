/* Admin API: JSON over HTTP(S) on the admin listener under /api/v1/, bearer-token auth, one
 * audit event per call. Every request on the admin listener comes to zt_admin_handle through
 * the handler table (http/handler.h, registered by src/gateway); this header is the module's
 * internal API: the token file, the router and the body validators are pure and unit-tested on
 * their own.
 *
 * It must never log, echo or store a token or a password: only SHA-256 of the token is kept,
 * and passwords go straight to the hashing pool. */
#ifndef ZT_ADMIN_ADMIN_H
#define ZT_ADMIN_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/event.h"
#include "http/handler.h"
#include "session/account.h"
#include "session/admins.h"
#include "store/store.h"

/* The admin listener's handler (http/handler.h): route, authenticate, answer. */
void zt_admin_handle(zt_local_req *r);

/* ---- token (token.c) ---- */

#define ZT_ADMIN_TOKEN_BYTES 32     /* random bytes in a new token */
#define ZT_ADMIN_TOKEN_MIN_CHARS 32 /* shortest token accepted from an existing file */
#define ZT_ADMIN_TOKEN_MAX_CHARS 512
#define ZT_ADMIN_HASH_HEX 64

/* Load the admin bearer token from path, creating it when missing (0600, O_EXCL; the directory
 * must exist) with 32 random bytes as base64url and a newline. An existing file must be a
 * regular file that neither group nor others can read, and hold at least 32 characters (one
 * trailing newline is ignored). hash_hex_out receives SHA-256(token) in lowercase hex. 0, or a
 * negative errno with a message in err that never contains the token. */
int zt_admin_token_init(const char *path, char hash_hex_out[ZT_ADMIN_HASH_HEX + 1], char *err,
                        size_t errlen);

/* SHA-256 hex of token (for tests and the CLI). */
void zt_admin_token_hash(const char *token, size_t n, char hash_hex_out[ZT_ADMIN_HASH_HEX + 1]);

/* True when SHA-256(given) equals hash_hex, compared in constant time. An empty or malformed
 * hash_hex (admin API off) never matches. */
__attribute__((warn_unused_result)) bool zt_admin_token_ok(const char *hash_hex, const char *given,
                                                           size_t n);

/* The token of an "Authorization: Bearer TOKEN" value (scheme case-insensitive, one or more
 * spaces); false when the value is anything else. */
bool zt_admin_bearer(const char *value, size_t n, const char **tok, size_t *tok_n);

/* ---- routing (admin.c) ---- */

#define ZT_ADMIN_SEG_MAX 254 /* decoded path segment (an email is the longest thing named) */

typedef enum zt_admin_ep {
    ZT_ADMIN_EP_NONE = 0,
    ZT_ADMIN_EP_HEALTH,         /* GET  /api/v1/health */
    ZT_ADMIN_EP_USERS,          /* GET, POST /api/v1/users */
    ZT_ADMIN_EP_USER,           /* GET, DELETE /api/v1/users/{u} */
    ZT_ADMIN_EP_USER_DISABLE,   /* POST /api/v1/users/{u}/disable */
    ZT_ADMIN_EP_USER_ENABLE,    /* POST .../enable */
    ZT_ADMIN_EP_USER_RESET_MFA, /* POST .../reset-mfa */
    ZT_ADMIN_EP_USER_REVOKE,    /* POST .../revoke-sessions */
    ZT_ADMIN_EP_USER_PASSWORD,  /* POST .../password */
    ZT_ADMIN_EP_USER_SESSIONS,  /* GET  .../sessions */
    ZT_ADMIN_EP_GROUPS,         /* GET, POST /api/v1/groups */
    ZT_ADMIN_EP_GROUP,          /* GET, DELETE /api/v1/groups/{g} */
    ZT_ADMIN_EP_GROUP_MEMBERS,  /* POST /api/v1/groups/{g}/members */
    ZT_ADMIN_EP_GROUP_MEMBER,   /* DELETE /api/v1/groups/{g}/members/{u} */
    ZT_ADMIN_EP_RISK,           /* GET  /api/v1/risk?user=U&state=S */
    ZT_ADMIN_EP_RISK_ONE,       /* GET  /api/v1/risk/{id} */
    ZT_ADMIN_EP_RISK_DISMISS,   /* POST /api/v1/risk/{id}/dismiss */
    ZT_ADMIN_EP_USER_CONFIRM,   /* POST /api/v1/users/{u}/confirm-compromised */
    ZT_ADMIN_EP_USER_DISMISS,   /* POST /api/v1/users/{u}/dismiss-risk */
    ZT_ADMIN_EP_USER_TAP,       /* POST, DELETE /api/v1/users/{u}/tap */
    ZT_ADMIN_EP_DEVICES,        /* GET  /api/v1/devices?user=U */
    ZT_ADMIN_EP_DEVICE,         /* GET, DELETE /api/v1/devices/{id} */
    ZT_ADMIN_EP_DEVICE_REVOKE,  /* POST /api/v1/devices/{id}/revoke */
    ZT_ADMIN_EP_ENROLL_CODES,   /* POST /api/v1/devices/enroll-codes */
    ZT_ADMIN_EP_USER_PROFILE,   /* POST /api/v1/users/{u}/profile (name, expiry, sponsor) */
    ZT_ADMIN_EP_ADMINS,         /* GET, POST /api/v1/admins */
    ZT_ADMIN_EP_ADMIN,          /* DELETE /api/v1/admins/{u}?role=R&scope=G */
    ZT_ADMIN_EP_ADMINS_FIRST,   /* POST /api/v1/admins/first (the bootstrap token only) */
    ZT_ADMIN_EP_TOKENS,         /* GET, POST /api/v1/tokens */
    ZT_ADMIN_EP_TOKEN,          /* DELETE /api/v1/tokens/{id} */
} zt_admin_ep;

/* Where a request goes. status: 0 matched; 404 no such resource; 405 wrong method (allow
 * lists the right ones); 400 a path segment that does not decode (why says how). */
typedef struct zt_admin_route {
    zt_admin_ep ep;
    int status;
    const char *allow;                /* "GET, POST" (static) */
    const char *why;                  /* static, for 400 */
    char user[ZT_ADMIN_SEG_MAX + 1];  /* decoded {u}; "" when the route has none */
    char group[ZT_ADMIN_SEG_MAX + 1]; /* decoded {g} */
    char id[ZT_ADMIN_SEG_MAX + 1];    /* decoded {id} (detection, device); checked by the handler */
} zt_admin_route;

/* method: llhttp's HTTP_GET, HTTP_POST, HTTP_DELETE, ...; path: the normalised path. */
void zt_admin_route_match(int method, const char *path, size_t n, zt_admin_route *out);

/* Percent-decode one path segment into out (cap bytes, NUL-terminated). Refuses invalid
 * escapes, decoded NUL or control bytes, an encoded '/' and anything longer than cap - 1.
 * 0 or -EINVAL / -E2BIG. */
int zt_admin_seg_decode(const char *s, size_t n, char *out, size_t cap);

/* ---- request bodies (admin.c) ---- */

typedef enum zt_admin_ftype {
    ZT_ADMIN_F_STRING = 0,
    ZT_ADMIN_F_STRINGS, /* array of strings */
    ZT_ADMIN_F_INT,     /* a JSON integer 0..max */
} zt_admin_ftype;

/* One member a body may hold. max: bytes for a string (each element for an array); max_items
 * for arrays. */
typedef struct zt_admin_field {
    const char *name;
    zt_admin_ftype type;
    bool required;
    size_t max;
    size_t max_items;
} zt_admin_field;

/* A refusal: HTTP status, a stable code for clients, and a message that names the field. */
typedef struct zt_admin_error {
    int status;
    const char *code; /* "invalid_json", "unknown_field", "missing_field", "invalid_field" */
    char message[256];
} zt_admin_error;

/* Parse body as one JSON object (duplicate keys refused) whose members all appear in fields
 * with the right type and size, required ones present. Strings must be non-empty. An empty
 * body counts as {}. 0 with *out (new reference), or 400 with err filled. */
int zt_admin_body_parse(const char *body, size_t len, const zt_admin_field *fields, size_t n,
                        json_t **out, zt_admin_error *err);

/* ---- one call in flight (shared by admin.c, users.c, groups.c) ---- */

/* What the audit event says about the call; handlers fill it as they learn. */
typedef struct zt_admin_call {
    zt_local_req *r;
    zt_admin_route route;
    json_t *body; /* parsed request body or NULL */
    zt_event_class cls;
    unsigned activity;
    const char *action; /* "user.disable" (static) */
    char user_id[ZT_STORE_ID_LEN + 1];
    char user_email[ZT_STORE_EMAIL_MAX + 1];
    char group[ZT_ADMIN_SEG_MAX + 1]; /* as given until resolved */
    char device_id[33];               /* the device the call is about ("" = none) */
    char change[256];     /* what changed, for the event ("disabled; sessions revoked") */
    bool authed;          /* a credential was verified: the event names it as the actor */
    bool bootstrap;       /* ... and it was the bootstrap token (only POST /admins/first) */
    zt_admin_grant grant; /* the person's effective grant: roles ∩ the token's scopes */
    char token_id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1];
    int64_t token_expires_at; /* the calling token's: a token it makes expires no later */
    zt_perms need;            /* what this endpoint requires (zt_admin_need) */
    bool scoped; /* need is not held everywhere: targets and lists are bounded by scope_ids */
    char (*scope_ids)[ZT_STORE_ID_LEN + 1]; /* sorted ids of the users in scope */
    size_t n_scope_ids;
    char actor[ZT_ADMINS_ACTOR_MAX];            /* "admin:EMAIL" or "bootstrap-token:FP" */
    char cred[ZT_STORE_ADMIN_TOKEN_ID_LEN + 8]; /* "token:ID" */
} zt_admin_call;

/* What an endpoint needs: *perm (0 = any admin), and whether it must be held everywhere
 * (creating groups, changing admins). Pure, for the router's table test. */
void zt_admin_need(zt_admin_ep ep, int method, zt_perms *perm, bool *unscoped);

/* Scope of the call (admin.c): whether a user may be named by this call. Out of scope looks
 * like not found to the caller (404, nothing about existence revealed). */
bool zt_admin_user_visible(const zt_admin_call *c, const char *user_id);
/* zt_admin_find_user bounded by the call's scope: -ENOENT for a user outside it. */
int zt_admin_find_user_in_scope(zt_admin_call *c, const char *who, zt_user *out);
/* False (answered 403 admin_target, or a store error) when c->need could take over or shut out
 * `who` (email or id), who holds an admin role, and the caller lacks the admins permission
 * unscoped (session/admins.h zt_admins_may_change_person). True otherwise, or when who names
 * nobody (the handler answers 404). */
bool zt_admin_may_change_person(zt_admin_call *c, const char *who);

/* OCSF Account Change (3001) activity ids. */
enum {
    ZT_ADMIN_ACT_CREATE = 1,
    ZT_ADMIN_ACT_ENABLE = 2,
    ZT_ADMIN_ACT_PASSWORD_RESET = 4,
    ZT_ADMIN_ACT_DISABLE = 5,
    ZT_ADMIN_ACT_DELETE = 6,
    ZT_ADMIN_ACT_MFA_DISABLE = 11,
    ZT_ADMIN_ACT_OTHER = 99,
};

/* Finish the call: audit it, then answer with status and body (stolen; NULL = no body), and
 * free the call. When the audit log refuses the event the answer is 503 instead. */
void zt_admin_finish(zt_admin_call *c, int status, json_t *body);
/* Finish with {"error": code, "message": ...}. */
void zt_admin_fail(zt_admin_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Finish with the store error rc about `what` ("user", "group"). */
void zt_admin_store_fail(zt_admin_call *c, int rc, const char *what, const char *who);
/* Bump the revocation counter after a change that affects sessions or authorization. When it
 * cannot be bumped the change is saved but running gateways keep their cached sessions: the
 * call finishes with 500 "gateways_not_told" saying so (as the CLI's exit status does) and false
 * is returned; the caller stops there. */
bool zt_admin_revoked(zt_admin_call *c);

/* The account service (session/account.h) for this call: the shared store and revocation
 * counter, the gateway's audit log as the record sink (the answer waits for the record, like
 * the call's own), and the token that authenticated the call as the actor. *who borrows from c. */
zt_account_env zt_admin_account_env(zt_admin_call *c);
void zt_admin_actor(zt_admin_call *c, zt_actor *who);
/* After a saved change: logs a record that could not be queued; gateways not told finishes the
 * call as zt_admin_revoked does and returns false. */
bool zt_admin_account_done(zt_admin_call *c, const zt_account_result *res);

/* "2026-01-02T03:04:05Z" or null for 0. New reference. */
json_t *zt_admin_json_time(int64_t t);

/* Handlers; each finishes the call exactly once (at once or later). */
void zt_admin_users(zt_admin_call *c);
void zt_admin_groups(zt_admin_call *c);
/* Identity Protection (risk.c): detections, dismissal, confirm compromised, dismiss a user's
 * risk. Changes are audited as the call and bump the revocation counter. */
void zt_admin_risk(zt_admin_call *c);
/* Devices (devices.c): list, show, revoke, delete, enrolment codes. Changes are audited as the
 * call and bump the revocation counter (a revoked certificate fails its next handshake). */
void zt_admin_devices(zt_admin_call *c);

/* Named administrators and personal tokens (admins.c): /api/v1/admins, /api/v1/tokens. */
void zt_admin_admins(zt_admin_call *c);

/* Resolve {u}: an email when it holds '@', else a user id. */
int zt_admin_find_user(zt_store *st, const char *who, zt_user *out);

/* The `admin:` section's key table (admin_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_admin_config_module;

#endif
