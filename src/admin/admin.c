/* Admin API front: authenticate the bearer token, route method + path to an endpoint, parse the
 * JSON body strictly, and finish every call the same way: one audit event first, then a JSON
 * answer (503 when the audit log refuses). Never logs or echoes a token or a password. */
#include <errno.h>
#include <llhttp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/api.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/session.h"

#define API_PREFIX "/api/v1/"
#define METRICS_PATH "/metrics"
#define MAX_SEGS 4
#define FIELD_NAME_SHOWN 64   /* bytes of an unknown field's name quoted back */
#define ADMIN_TOKEN_FP_HEX 16 /* hex digits of the token's SHA-256 that name it in events */
#define BOOTSTRAP_ONLY                                                                             \
    "the bootstrap token only creates the first administrator (POST /api/v1/admins/first); "       \
    "call with a personal token (docs/ADMINS.md)"

/* ---- routing ---- */

int zt_admin_seg_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            if (n - i < 3) /* fewer than two hex digits left */
                return -EINVAL;
            int hi = zt_hexval(s[i + 1]);
            int lo = zt_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            ch = (unsigned char)(hi * 16 + lo);
            if (ch == '/' || ch == '\\')
                return -EINVAL;
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f)
            return -EINVAL;
        if (o + 1 >= cap)
            return -E2BIG;
        out[o++] = (char)ch;
    }
    if (o == 0)
        return -EINVAL;
    out[o] = '\0';
    return 0;
}

enum { M_GET = 1u << 0, M_POST = 1u << 1, M_DELETE = 1u << 2 };

static const char *allow_text(unsigned mask)
{
    switch (mask) {
    case M_GET:
        return "GET";
    case M_POST:
        return "POST";
    case M_DELETE:
        return "DELETE";
    case M_GET | M_POST:
        return "GET, POST";
    case M_GET | M_DELETE:
        return "GET, DELETE";
    case M_POST | M_DELETE:
        return "POST, DELETE";
    default:
        return "GET, POST, DELETE";
    }
}

static bool seg_is(zt_span s, const char *lit)
{
    return zt_span_eq(s, (zt_span){lit, strlen(lit)});
}

/* Sub-resources of one user: POST actions and the sessions listing. */
static const struct {
    const char *name;
    zt_admin_ep ep;
    unsigned methods;
} user_subs[] = {
    {"disable", ZT_ADMIN_EP_USER_DISABLE, M_POST},
    {"enable", ZT_ADMIN_EP_USER_ENABLE, M_POST},
    {"reset-mfa", ZT_ADMIN_EP_USER_RESET_MFA, M_POST},
    {"revoke-sessions", ZT_ADMIN_EP_USER_REVOKE, M_POST},
    {"password", ZT_ADMIN_EP_USER_PASSWORD, M_POST},
    {"sessions", ZT_ADMIN_EP_USER_SESSIONS, M_GET},
    {"confirm-compromised", ZT_ADMIN_EP_USER_CONFIRM, M_POST},
    {"dismiss-risk", ZT_ADMIN_EP_USER_DISMISS, M_POST},
    {"tap", ZT_ADMIN_EP_USER_TAP, M_POST | M_DELETE},
    {"profile", ZT_ADMIN_EP_USER_PROFILE, M_POST},
};

/* Which endpoint the segments name and the methods it takes; NONE when nothing. */
static zt_admin_ep match_segs(const zt_span *seg, size_t n, unsigned *methods, int *user_at,
                              int *group_at, int *id_at)
{
    *user_at = *group_at = *id_at = -1;
    if (n == 1 && seg_is(seg[0], "health")) {
        *methods = M_GET;
        return ZT_ADMIN_EP_HEALTH;
    }
    if (n >= 1 && seg_is(seg[0], "risk")) {
        *methods = n == 3 ? M_POST : M_GET;
        *id_at = n >= 2 ? 1 : -1;
        return n == 1                                ? ZT_ADMIN_EP_RISK
               : n == 2                              ? ZT_ADMIN_EP_RISK_ONE
               : n == 3 && seg_is(seg[2], "dismiss") ? ZT_ADMIN_EP_RISK_DISMISS
                                                     : ZT_ADMIN_EP_NONE;
    }
    if (n >= 1 && seg_is(seg[0], "devices")) {
        *methods = n == 1 ? M_GET : n == 3 ? M_POST : M_GET | M_DELETE;
        if (n == 2 && seg_is(seg[1], "enroll-codes")) {
            *methods = M_POST;
            return ZT_ADMIN_EP_ENROLL_CODES;
        }
        *id_at = n >= 2 ? 1 : -1;
        return n == 1                               ? ZT_ADMIN_EP_DEVICES
               : n == 2                             ? ZT_ADMIN_EP_DEVICE
               : n == 3 && seg_is(seg[2], "revoke") ? ZT_ADMIN_EP_DEVICE_REVOKE
                                                    : ZT_ADMIN_EP_NONE;
    }
    if (n >= 1 && n <= 2 && seg_is(seg[0], "admins")) {
        *methods = n == 1 ? M_GET | M_POST : seg_is(seg[1], "first") ? M_POST : M_DELETE;
        *user_at = n == 2 && !seg_is(seg[1], "first") ? 1 : -1;
        return n == 1         ? ZT_ADMIN_EP_ADMINS
               : *user_at < 0 ? ZT_ADMIN_EP_ADMINS_FIRST
                              : ZT_ADMIN_EP_ADMIN;
    }
    if (n >= 1 && n <= 2 && seg_is(seg[0], "tokens")) {
        *methods = n == 1 ? M_GET | M_POST : M_DELETE;
        *id_at = n == 2 ? 1 : -1;
        return n == 1 ? ZT_ADMIN_EP_TOKENS : ZT_ADMIN_EP_TOKEN;
    }
    if (n >= 1 && seg_is(seg[0], "users")) {
        if (n == 1) {
            *methods = M_GET | M_POST;
            return ZT_ADMIN_EP_USERS;
        }
        *user_at = 1;
        if (n == 2) {
            *methods = M_GET | M_DELETE;
            return ZT_ADMIN_EP_USER;
        }
        for (size_t i = 0; n == 3 && i < sizeof(user_subs) / sizeof(user_subs[0]); i++) {
            if (seg_is(seg[2], user_subs[i].name)) {
                *methods = user_subs[i].methods;
                return user_subs[i].ep;
            }
        }
        return ZT_ADMIN_EP_NONE;
    }
    if (n >= 1 && seg_is(seg[0], "groups")) {
        if (n == 1) {
            *methods = M_GET | M_POST;
            return ZT_ADMIN_EP_GROUPS;
        }
        *group_at = 1;
        if (n == 2) {
            *methods = M_GET | M_DELETE;
            return ZT_ADMIN_EP_GROUP;
        }
        if (!seg_is(seg[2], "members"))
            return ZT_ADMIN_EP_NONE;
        if (n == 3) {
            *methods = M_POST;
            return ZT_ADMIN_EP_GROUP_MEMBERS;
        }
        if (n == 4) {
            *user_at = 3;
            *methods = M_DELETE;
            return ZT_ADMIN_EP_GROUP_MEMBER;
        }
    }
    return ZT_ADMIN_EP_NONE;
}

static unsigned method_bit(int method)
{
    switch (method) {
    case HTTP_GET:
        return M_GET;
    case HTTP_POST:
        return M_POST;
    case HTTP_DELETE:
        return M_DELETE;
    default:
        return 0;
    }
}

void zt_admin_route_match(int method, const char *path, size_t n, zt_admin_route *out)
{
    memset(out, 0, sizeof(*out));
    out->status = 404;
    size_t plen = sizeof(API_PREFIX) - 1;
    if (path == NULL || n <= plen || memcmp(path, API_PREFIX, plen) != 0)
        return;
    zt_span seg[MAX_SEGS];
    size_t nseg = 0;
    const char *p = path + plen, *end = path + n;
    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *stop = slash ? slash : end;
        if (stop == p || nseg == MAX_SEGS)
            return; /* empty segment (trailing slash) or too deep */
        seg[nseg++] = (zt_span){p, (size_t)(stop - p)};
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    unsigned methods = 0;
    int user_at, group_at, id_at;
    zt_admin_ep ep = match_segs(seg, nseg, &methods, &user_at, &group_at, &id_at);
    if (ep == ZT_ADMIN_EP_NONE)
        return;
    out->ep = ep;
    out->allow = allow_text(methods);
    if ((user_at >= 0 &&
         zt_admin_seg_decode(seg[user_at].p, seg[user_at].n, out->user, sizeof(out->user)) != 0) ||
        (group_at >= 0 && zt_admin_seg_decode(seg[group_at].p, seg[group_at].n, out->group,
                                              sizeof(out->group)) != 0) ||
        (id_at >= 0 &&
         zt_admin_seg_decode(seg[id_at].p, seg[id_at].n, out->id, sizeof(out->id)) != 0)) {
        out->status = 400;
        out->why = "a path segment has an invalid escape, a control character, an encoded "
                   "slash, or is too long";
        return;
    }
    out->status = (method_bit(method) & methods) ? 0 : 405;
}

/* ---- bodies ---- */

static int body_err(zt_admin_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int body_err(zt_admin_error *err, const char *code, const char *fmt, ...)
{
    err->status = 400;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return 400;
}

static const zt_admin_field *find_field(const zt_admin_field *fields, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, key) == 0)
            return &fields[i];
    return NULL;
}

static int check_string(const json_t *v, const zt_admin_field *f, const char *where,
                        zt_admin_error *err)
{
    if (!json_is_string(v))
        return body_err(err, "invalid_field", "%s must be a string", where);
    size_t len = json_string_length(v);
    if (len == 0)
        return body_err(err, "invalid_field", "%s must not be empty", where);
    if (f->max > 0 && len > f->max)
        return body_err(err, "invalid_field", "%s is longer than %zu bytes", where, f->max);
    return 0;
}

static int check_value(const json_t *v, const zt_admin_field *f, zt_admin_error *err)
{
    if (f->type == ZT_ADMIN_F_STRING)
        return check_string(v, f, f->name, err);
    if (f->type == ZT_ADMIN_F_INT) {
        json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
        if (i < 0 || (uint64_t)i > f->max)
            return body_err(err, "invalid_field", "%s must be an integer from 0 to %zu", f->name,
                            f->max);
        return 0;
    }
    if (!json_is_array(v))
        return body_err(err, "invalid_field", "%s must be an array of strings", f->name);
    if (f->max_items > 0 && json_array_size(v) > f->max_items)
        return body_err(err, "invalid_field", "%s has more than %zu entries", f->name,
                        f->max_items);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        char where[96];
        snprintf(where, sizeof(where), "%s[%zu]", f->name, i);
        if (check_string(e, f, where, err) != 0)
            return 400;
    }
    return 0;
}

/* A field name safe to quote back: printable ASCII, cut short. */
static void shown_name(const char *key, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; key[i] != '\0' && o + 1 < cap && i < FIELD_NAME_SHOWN; i++) {
        unsigned char ch = (unsigned char)key[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[o] = '\0';
}

int zt_admin_body_parse(const char *body, size_t len, const zt_admin_field *fields, size_t n,
                        json_t **out, zt_admin_error *err)
{
    *out = NULL;
    memset(err, 0, sizeof(*err));
    json_t *root;
    if (len == 0) {
        root = json_object();
        if (root == NULL)
            return body_err(err, "invalid_json", "out of memory");
    } else {
        json_error_t jerr;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
            return body_err(err, "invalid_json", "body is not valid JSON: %s (line %d, column %d)",
                            jerr.text, jerr.line, jerr.column);
        if (!json_is_object(root)) {
            json_decref(root);
            return body_err(err, "invalid_json", "body must be a JSON object");
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        const zt_admin_field *f = find_field(fields, n, key);
        if (f == NULL) {
            char shown[FIELD_NAME_SHOWN + 1];
            shown_name(key, shown, sizeof(shown));
            json_decref(root);
            return body_err(err, "unknown_field", "unknown field '%s'", shown);
        }
        if (check_value(v, f, err) != 0) {
            json_decref(root);
            return 400;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (fields[i].required && json_object_get(root, fields[i].name) == NULL) {
            json_decref(root);
            return body_err(err, "missing_field", "field '%s' is required", fields[i].name);
        }
    }
    *out = root;
    return 0;
}

/* ---- answering ---- */

json_t *zt_admin_json_time(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* Who made the call: the person whose personal token authenticated it ("admin:EMAIL", the
 * token named by its public id), or the bootstrap token, named by a fingerprint (the first 16
 * hex digits of its SHA-256, which reveal nothing usable about the token). The client address
 * is in src_endpoint. A call without a valid credential has no known actor. */
static const char *actor_name(zt_admin_call *c)
{
    if (!c->authed)
        return NULL;
    if (c->bootstrap) {
        const char *hash = c->r->svc->admin_token_hash;
        snprintf(c->actor, sizeof(c->actor), "bootstrap-token:%.*s", ADMIN_TOKEN_FP_HEX, hash);
        snprintf(c->cred, sizeof(c->cred), "%.*s", ADMIN_TOKEN_FP_HEX, hash);
    } else {
        snprintf(c->actor, sizeof(c->actor), "admin:%s", c->grant.email);
        snprintf(c->cred, sizeof(c->cred), "token:%s", c->token_id);
    }
    return c->actor;
}

zt_account_env zt_admin_account_env(zt_admin_call *c)
{
    return (zt_account_env){.store = c->r->svc->store,
                            .state_dir = c->r->svc->state_dir,
                            .audit = {.write = zt_api_audit_sink, .ctx = c->r}};
}

void zt_admin_actor(zt_admin_call *c, zt_actor *who)
{
    const char *name = actor_name(c);
    *who = (zt_actor){.name = name != NULL ? name : "unauthenticated",
                      .type = name == NULL   ? "Unknown"
                              : c->bootstrap ? "System"
                                             : "Admin",
                      .credential_uid = name != NULL ? c->cred : NULL,
                      .request_id = c->r->request_id};
}

/* The change is saved, but gateways were not told: the same words as the CLI's. */
static bool gateways_not_told(zt_admin_call *c, int rc)
{
    zt_error("request %s: admin API %s: cannot bump the revocation counter: %s", c->r->request_id,
             c->action ? c->action : "?", strerror(-rc));
    zt_admin_fail(c, 500, "gateways_not_told",
                  "the change is saved, but running gateways were not told: cannot update "
                  "%s/%s (%s); they keep using cached sessions until restarted. Fix the file's "
                  "ownership or permissions, then restart the gateways",
                  c->r->svc->state_dir, ZT_REVOCATION_FILE, strerror(-rc));
    return false;
}

bool zt_admin_account_done(zt_admin_call *c, const zt_account_result *res)
{
    if (res->audit_rc != 0)
        zt_error("request %s: admin API %s: the change is saved but its record could not be "
                 "queued: %s",
                 c->r->request_id, c->action ? c->action : "?", strerror(-res->audit_rc));
    return res->revocation_rc == 0 || gateways_not_told(c, res->revocation_rc);
}

/* One event for the call; false when the audit log cannot take it. */
static bool audit_call(zt_admin_call *c, int status, const char *err_code)
{
    zt_local_req *r = c->r;
    bool ok = status < 400;
    zt_event_severity sev = ok ? ZT_SEV_INFO : status == 401 ? ZT_SEV_MEDIUM : ZT_SEV_LOW;
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    zt_event ev;
    char msg[160];
    snprintf(msg, sizeof(msg), "admin API %s %s", c->action ? c->action : "request",
             ok ? "succeeded" : "failed");
    zt_event_begin(&ev, &b, c->cls, c->activity, sev);
    zt_event_status(&ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "status_detail", err_code);
    zt_event_str(&ev, "message", msg);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_event_str(&ev, "actor.user.name", who.name);
    zt_event_str(&ev, "actor.user.type", who.type);
    if (c->authed && !c->bootstrap)
        zt_event_str(&ev, "actor.user.uid", c->grant.user_id);
    zt_event_str(&ev, "actor.user.credential_uid", who.credential_uid);
    zt_api_event_request(&ev, r, c->action);
    zt_event_str(&ev, "http_request.url.scheme", r->https ? "https" : "http");
    zt_event_int(&ev, "http_response.code", status);
    if (c->user_id[0] != '\0' || c->user_email[0] != '\0') {
        zt_event_str(&ev, "user.uid", c->user_id[0] ? c->user_id : NULL);
        zt_event_str(&ev, "user.email_addr", c->user_email[0] ? c->user_email : NULL);
    }
    if (c->group[0] != '\0')
        zt_event_str(&ev, "group.name", c->group);
    if (c->device_id[0] != '\0')
        zt_event_str(&ev, "device.uid", c->device_id);
    if (c->change[0] != '\0')
        zt_event_str(&ev, "unmapped.change", c->change);
    return zt_api_event_queue(r, &ev, &b, "admin");
}

static void call_free(zt_admin_call *c)
{
    json_decref(c->body);
    free(c->scope_ids);
    free(c);
}

static void respond_raw(zt_local_req *r, int status, const char *json, size_t n)
{
    if (zt_api_answer_head(r, status, "application/json") != 0)
        r->status = 500;
    if (json != NULL && zt_buf_append(&r->resp_body, json, n) != 0) {
        /* Too big for the response buffer: say so instead of sending half a document. */
        static const char too_big[] =
            "{\"error\":\"internal\",\"message\":\"response too large\"}\n";
        zt_buf_reset(&r->resp_body);
        r->status = 500;
        (void)zt_buf_append(&r->resp_body, too_big, sizeof(too_big) - 1);
    }
    zt_local_respond(r);
}

static char *error_doc(const char *code, const char *message, size_t *n)
{
    json_t *j = json_pack("{s:s, s:s}", "error", code, "message", message);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *n = s ? strlen(s) : 0;
    return s;
}

static void finish(zt_admin_call *c, int status, json_t *body, const char *err_code)
{
    zt_local_req *r = c->r;
    char *doc = NULL;
    size_t n = 0;
    if (body != NULL) {
        doc = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (doc == NULL) {
            status = 500;
            err_code = "internal";
            doc = error_doc("internal", "out of memory building the response", &n);
        } else {
            n = strlen(doc);
        }
    }
    if (!audit_call(c, status, err_code)) {
        free(doc);
        zt_error("request %s: admin API call %s refused: the audit log cannot record it",
                 r->request_id, c->action ? c->action : "?");
        doc = error_doc("audit_unavailable",
                        "the audit log cannot record this call; nothing "
                        "is reported as done",
                        &n);
        status = 503;
    }
    r->log_detail = status < 400 ? "admin API" : "admin API refused";
    if (status == 401)
        (void)zt_buf_append_str(&r->resp_headers,
                                "WWW-Authenticate: Bearer realm=\"ztgate-admin\"\r\n");
    else if (status == 405 && c->route.allow != NULL)
        (void)zt_buf_printf(&r->resp_headers, "Allow: %s\r\n", c->route.allow);
    if (doc != NULL && n > 0 && doc[n - 1] != '\n') {
        char *grown = realloc(doc, n + 2);
        if (grown != NULL) {
            doc = grown;
            doc[n++] = '\n';
            doc[n] = '\0';
        }
    }
    call_free(c);
    respond_raw(r, status, doc, n);
    if (doc != NULL)
        zt_wipe(doc, n); /* an answer may carry a secret shown once (a temporary access pass) */
    free(doc);
}

void zt_admin_finish(zt_admin_call *c, int status, json_t *body)
{
    finish(c, status, body, NULL);
}

void zt_admin_fail(zt_admin_call *c, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    finish(c, status, json_pack("{s:s, s:s}", "error", code, "message", msg), code);
}

void zt_admin_store_fail(zt_admin_call *c, int rc, const char *what, const char *who)
{
    switch (rc) {
    case -ENOENT:
        if (who != NULL)
            zt_admin_fail(c, 404, "not_found", "%s %s not found", what, who);
        else
            zt_admin_fail(c, 404, "not_found", "%s not found", what);
        return;
    case -EEXIST:
        if (who != NULL)
            zt_admin_fail(c, 409, "conflict", "%s %s already exists", what, who);
        else
            zt_admin_fail(c, 409, "conflict", "%s already exists", what);
        return;
    case -EINVAL:
        zt_admin_fail(c, 400, "invalid_field", "%s", zt_store_errmsg());
        return;
    case -EBUSY:
        zt_admin_fail(c, 503, "busy", "the store is busy; try again");
        return;
    default:
        zt_error("request %s: admin API %s: store error: %s", c->r->request_id,
                 c->action ? c->action : "?", zt_store_errmsg());
        zt_admin_fail(c, 500, "internal", "store error");
        return;
    }
}

bool zt_admin_revoked(zt_admin_call *c)
{
    int rc = zt_revocation_bump(c->r->svc->state_dir);
    return rc == 0 || gateways_not_told(c, rc);
}

int zt_admin_find_user(zt_store *st, const char *who, zt_user *out)
{
    if (strchr(who, '@') != NULL)
        return zt_store_user_get_by_email(st, who, out);
    size_t n = strlen(who);
    if (n != ZT_STORE_ID_LEN || strspn(who, "0123456789abcdef") != n) {
        memset(out, 0, sizeof(*out));
        return -ENOENT;
    }
    return zt_store_user_get_by_id(st, who, out);
}

/* ---- the handler ---- */

/* ---- who is calling, and what they may do ---- */

typedef enum auth_result {
    AUTH_PERSON = 0, /* a personal token: c->grant, c->token_id */
    AUTH_BOOTSTRAP,  /* the bootstrap token */
    AUTH_NONE,       /* answered 401/403 already */
} auth_result;

static const char *token_refusal(int rc)
{
    switch (rc) {
    case -ECANCELED:
        return "the token has been revoked";
    case -ETIMEDOUT:
        return "the token has expired";
    case -EPERM:
        return "the token's owner holds no admin role any more (or the account is disabled)";
    default:
        return "a valid admin token is required: Authorization: Bearer TOKEN";
    }
}

/* Exactly one Authorization header with a personal token or the bootstrap token. A store
 * failure while checking refuses (503), never lets the call through. */
static auth_result authenticate(zt_admin_call *c)
{
    zt_local_req *r = c->r;
    const zt_span *found = zt_api_authorization(r);
    const char *tok = NULL;
    size_t n = 0;
    if (found == NULL || !zt_admin_bearer(found->p, found->n, &tok, &n)) {
        zt_admin_fail(c, 401, "unauthorized", "%s", token_refusal(-EACCES));
        return AUTH_NONE;
    }
    if (n >= sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1 &&
        memcmp(tok, ZT_ADMINS_TOKEN_PREFIX, sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1) == 0) {
        zt_admins_auth a;
        int rc = zt_admins_token_verify(r->svc->store, tok, n, zt_wall_us() / 1000000, &a);
        if (rc == -EACCES || rc == -EINVAL || rc == -ECANCELED || rc == -ETIMEDOUT ||
            rc == -EPERM) {
            zt_admin_fail(c, 401, "unauthorized", "%s", token_refusal(rc));
            return AUTH_NONE;
        }
        if (rc != 0) {
            zt_error("request %s: admin API: cannot check a token: %s", r->request_id,
                     zt_store_errmsg());
            zt_admin_fail(c, 503, "busy", "the store cannot check the token now; try again");
            return AUTH_NONE;
        }
        c->authed = true;
        c->grant = a.grant;
        snprintf(c->token_id, sizeof(c->token_id), "%s", a.token.id);
        c->token_expires_at = a.token.expires_at;
        return AUTH_PERSON;
    }
    if (zt_admin_token_ok(r->svc->admin_token_hash, tok, n)) {
        c->authed = true;
        c->bootstrap = true;
        return AUTH_BOOTSTRAP;
    }
    zt_admin_fail(c, 401, "unauthorized", "%s", token_refusal(-EACCES));
    return AUTH_NONE;
}

void zt_admin_need(zt_admin_ep ep, int method, zt_perms *perm, bool *unscoped)
{
    bool get = method == HTTP_GET || method == HTTP_HEAD;
    *unscoped = false;
    switch (ep) {
    case ZT_ADMIN_EP_USERS:
    case ZT_ADMIN_EP_USER:
        *perm = get ? ZT_PERM_USERS_READ : ZT_PERM_USERS_WRITE;
        return;
    case ZT_ADMIN_EP_USER_DISABLE:
    case ZT_ADMIN_EP_USER_ENABLE:
    case ZT_ADMIN_EP_USER_PROFILE:
    case ZT_ADMIN_EP_GROUP_MEMBERS:
    case ZT_ADMIN_EP_GROUP_MEMBER:
        *perm = ZT_PERM_USERS_WRITE;
        return;
    case ZT_ADMIN_EP_USER_RESET_MFA:
    case ZT_ADMIN_EP_USER_PASSWORD:
    case ZT_ADMIN_EP_USER_TAP:
        *perm = ZT_PERM_CREDENTIALS;
        return;
    case ZT_ADMIN_EP_USER_REVOKE:
        *perm = ZT_PERM_SESSIONS_REVOKE;
        return;
    case ZT_ADMIN_EP_USER_SESSIONS:
        *perm = ZT_PERM_USERS_READ;
        return;
    case ZT_ADMIN_EP_GROUPS:
    case ZT_ADMIN_EP_GROUP:
        *perm = get ? ZT_PERM_USERS_READ : ZT_PERM_USERS_WRITE;
        *unscoped = !get; /* a group made or deleted changes every scope */
        return;
    case ZT_ADMIN_EP_RISK:
    case ZT_ADMIN_EP_RISK_ONE:
        *perm = ZT_PERM_RISK_READ;
        return;
    case ZT_ADMIN_EP_RISK_DISMISS:
    case ZT_ADMIN_EP_USER_CONFIRM:
    case ZT_ADMIN_EP_USER_DISMISS:
        *perm = ZT_PERM_RISK_WRITE;
        return;
    case ZT_ADMIN_EP_DEVICES:
    case ZT_ADMIN_EP_DEVICE:
        *perm = get ? ZT_PERM_DEVICES_READ : ZT_PERM_DEVICES_WRITE;
        return;
    case ZT_ADMIN_EP_DEVICE_REVOKE:
    case ZT_ADMIN_EP_ENROLL_CODES:
        *perm = ZT_PERM_DEVICES_WRITE;
        return;
    case ZT_ADMIN_EP_ADMINS:
    case ZT_ADMIN_EP_ADMIN:
        /* who holds power is audit evidence: auditors read it; only unscoped admins change it */
        *perm = get ? ZT_PERM_AUDIT_READ : ZT_PERM_ADMINS;
        *unscoped = !get;
        return;
    default: /* health, tokens (each checks its own), first (the bootstrap) */
        *perm = 0;
        return;
    }
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

typedef struct scope_build {
    zt_admin_call *c;
    size_t cap;
} scope_build;

static int scope_member(void *ctx, const zt_user *u)
{
    scope_build *b = ctx;
    zt_admin_call *c = b->c;
    if (c->n_scope_ids == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        void *v = realloc(c->scope_ids, cap * sizeof(*c->scope_ids));
        if (v == NULL)
            return -ENOMEM;
        c->scope_ids = v;
        b->cap = cap;
    }
    snprintf(c->scope_ids[c->n_scope_ids++], sizeof(c->scope_ids[0]), "%s", u->id);
    return 0;
}

/* The users a scoped call may name: the members of its scope groups, read once before any
 * handler runs (a store list callback may not call the store, so lists filter against this). */
static int scope_prepare(zt_admin_call *c)
{
    scope_build b = {.c = c};
    for (size_t i = 0; i < c->grant.n_scopes; i++) {
        int rc = zt_store_group_members(c->r->svc->store, c->grant.scopes[i], scope_member, &b);
        if (rc != 0 && rc != -ENOENT) /* a deleted scope group reaches nobody */
            return rc;
    }
    if (c->n_scope_ids > 1)
        qsort(c->scope_ids, c->n_scope_ids, sizeof(*c->scope_ids), id_cmp);
    return 0;
}

bool zt_admin_user_visible(const zt_admin_call *c, const char *user_id)
{
    if (!c->scoped)
        return true;
    return user_id != NULL && c->n_scope_ids > 0 &&
           bsearch(user_id, c->scope_ids, c->n_scope_ids, sizeof(*c->scope_ids), id_cmp) != NULL;
}

int zt_admin_find_user_in_scope(zt_admin_call *c, const char *who, zt_user *out)
{
    int rc = zt_admin_find_user(c->r->svc->store, who, out);
    if (rc == 0 && !zt_admin_user_visible(c, out->id)) {
        zt_user_dispose(out);
        memset(out, 0, sizeof(*out));
        return -ENOENT;
    }
    return rc;
}

/* A change that could take over or shut out a person who holds an admin role needs the admins
 * permission unscoped (zt_admins_may_change_person): else a help desk could issue a TAP to a
 * global admin and sign in as them. The user is named in the path, or in the body of a
 * membership add (groups.c asks zt_admin_may_change_person itself). */
bool zt_admin_may_change_person(zt_admin_call *c, const char *who)
{
    if ((c->need & ZT_ADMINS_PERMS_OVER_ADMINS) == 0 || who == NULL || who[0] == '\0')
        return true;
    zt_user u;
    int rc = zt_admin_find_user(c->r->svc->store, who, &u);
    if (rc == 0)
        rc = zt_admins_may_change_person(c->r->svc->store, &c->grant, c->need, u.id);
    zt_user_dispose(&u);
    if (rc == 1 || rc == -ENOENT || rc == -EINVAL)
        return true; /* a missing user is the handler's 404 */
    if (rc < 0)
        zt_admin_store_fail(c, rc, "user", who);
    else
        zt_admin_fail(c, 403, "admin_target",
                      "%s holds an administrator role: changing their account or credentials "
                      "needs the admins permission without a group scope",
                      who);
    return false;
}

static bool allowed_scope(zt_admin_call *c);

/* The endpoint's permission and scope, then the target person's own roles. */
static bool allowed(zt_admin_call *c)
{
    return allowed_scope(c) &&
           (c->route.ep == ZT_ADMIN_EP_ADMIN || zt_admin_may_change_person(c, c->route.user));
}

/* The endpoint's permission, then its scope: a user or group named in the path that lies
 * outside the caller's scope is answered exactly like one that does not exist. */
static bool allowed_scope(zt_admin_call *c)
{
    bool unscoped = false;
    zt_admin_need(c->route.ep, c->r->method, &c->need, &unscoped);
    if (c->need == 0)
        return true;
    if (!zt_admins_may(&c->grant, c->need) ||
        (unscoped && (c->grant.perms_everywhere & c->need) != c->need)) {
        char need[64];
        zt_admins_perms_format(c->need, need, sizeof(need));
        zt_admin_fail(c, 403, "forbidden", "this call needs the %s permission%s", need,
                      unscoped ? " without a group scope" : "");
        return false;
    }
    c->scoped = (c->grant.perms_everywhere & c->need) != c->need;
    if (!c->scoped)
        return true;
    int rc = scope_prepare(c);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "scope", NULL);
        return false;
    }
    if (c->route.group[0] != '\0' && !zt_admins_group_in_scope(&c->grant, c->route.group)) {
        zt_admin_fail(c, 404, "not_found", "group %s not found", c->route.group);
        return false;
    }
    if (c->route.user[0] != '\0') {
        zt_user u;
        rc = zt_admin_find_user_in_scope(c, c->route.user, &u);
        zt_user_dispose(&u);
        if (rc != 0) {
            zt_admin_store_fail(c, rc, "user", c->route.user);
            return false;
        }
    }
    return true;
}

static const char *read_action(zt_admin_ep ep)
{
    switch (ep) {
    case ZT_ADMIN_EP_HEALTH:
        return "health";
    case ZT_ADMIN_EP_USERS:
        return "user.list";
    case ZT_ADMIN_EP_USER:
        return "user.get";
    case ZT_ADMIN_EP_USER_SESSIONS:
        return "user.sessions";
    case ZT_ADMIN_EP_GROUPS:
        return "group.list";
    case ZT_ADMIN_EP_GROUP:
        return "group.get";
    case ZT_ADMIN_EP_RISK:
        return "risk.list";
    case ZT_ADMIN_EP_RISK_ONE:
        return "risk.get";
    case ZT_ADMIN_EP_DEVICES:
        return "device.list";
    case ZT_ADMIN_EP_DEVICE:
        return "device.get";
    case ZT_ADMIN_EP_ADMINS:
        return "admin.list";
    case ZT_ADMIN_EP_TOKENS:
        return "admin_token.list";
    default:
        return "request";
    }
}

/* ---- GET /metrics ---- */

/* Enrolled (not revoked) devices by their compliance at their last report. */
static int count_device(void *ctx, const zt_store_device *d)
{
    uint64_t *n = ctx;
    if (d->revoked_at != 0)
        return 0;
    n[d->posture_at == 0 ? ZT_M_DEVICE_UNKNOWN
      : d->compliant     ? ZT_M_DEVICE_COMPLIANT
                         : ZT_M_DEVICE_NONCOMPLIANT]++;
    return 0;
}

static void metrics_extra(zt_local_req *r, zt_metrics_extra *x)
{
    memset(x, 0, sizeof(*x));
    uint64_t n = 0;
    if (r->svc->store != NULL &&
        zt_store_session_count(r->svc->store, zt_wall_us() / 1000000, &n) == 0) {
        x->have_sessions = true;
        x->active_sessions = n;
    } else if (r->svc->store != NULL) {
        /* Leave the gauge out rather than report a wrong 0; the scrape still succeeds. */
        zt_warn("request %s: metrics: cannot count sessions: %s", r->request_id, zt_store_errmsg());
    }
    uint64_t devices[ZT_M_DEVICE_N] = {0};
    if (r->svc->store != NULL &&
        zt_store_device_list(r->svc->store, NULL, count_device, devices) == 0) {
        for (int c = 0; c < ZT_M_DEVICE_N; c++)
            zt_metric_devices_set((zt_metric_compliance)c, devices[c]);
    }
    if (r->svc->audit != NULL) {
        zt_audit_metrics am;
        zt_audit_metrics_get(r->svc->audit, &am);
        x->have_audit = true;
        x->audit_queue_depth = am.queue_depth;
        x->audit_records = am.appended;
        x->audit_checkpoints = am.checkpoints;
        x->audit_drops = am.drops;
        x->audit_bytes = am.bytes;
        x->audit_rotations = am.rotations;
        x->audit_fsync_max_us = am.fsync_us_max;
        x->audit_failed = am.failed;
    }
}

/* Successful scrapes are not audited: they change nothing, hold no personal data and would
 * add a record every scrape interval. Refusals go through the audited path like the API's. */
static void metrics_handle(zt_admin_call *c)
{
    zt_local_req *r = c->r;
    c->action = "metrics";
    c->route.allow = "GET, HEAD";
    c->action = "metrics.auth";
    auth_result who = authenticate(c);
    if (who == AUTH_NONE)
        return;
    /* Gateway-wide figures (sessions, devices by compliance): not for a scoped auditor, who
     * may learn nothing about the groups outside their scope. */
    if (who == AUTH_BOOTSTRAP || !zt_admins_may(&c->grant, ZT_PERM_AUDIT_READ) ||
        !(c->grant.perms_everywhere & ZT_PERM_AUDIT_READ)) {
        zt_admin_fail(c, 403, who == AUTH_BOOTSTRAP ? "bootstrap_only" : "forbidden", "%s",
                      who == AUTH_BOOTSTRAP ? BOOTSTRAP_ONLY
                                            : "metrics need audit:read without a group scope");
        return;
    }
    c->action = "metrics";
    if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
        zt_admin_fail(c, 405, "method_not_allowed", "%s is not allowed here; use GET",
                      r->method_name);
        return;
    }
    if (r->query_len > 0 || r->body_len > 0) {
        zt_admin_fail(c, 400, r->body_len > 0 ? "unexpected_body" : "invalid_query",
                      "/metrics takes no query parameters and no body");
        return;
    }
    call_free(c);
    zt_metrics_extra x;
    metrics_extra(r, &x);
    r->log_detail = "metrics";
    int rc = zt_api_answer_head(r, 200, "text/plain; version=0.0.4; charset=utf-8");
    if (rc == 0)
        rc = zt_metrics_render(&r->resp_body, &x);
    if (rc != 0) {
        zt_error("request %s: metrics: cannot render: %s", r->request_id, strerror(-rc));
        zt_buf_reset(&r->resp_body);
        r->status = 500;
        (void)zt_buf_append_str(&r->resp_body, "# metrics could not be rendered\n");
    }
    zt_local_respond(r);
}

void zt_admin_handle(zt_local_req *r)
{
    zt_admin_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}\n";
        /* Nothing can be audited without memory; refuse, and say nothing was done. */
        respond_raw(r, 503, oom, sizeof(oom) - 1);
        return;
    }
    c->r = r;
    c->cls = ZT_EV_HTTP_ACTIVITY;
    c->activity = zt_event_http_activity(llhttp_method_name((llhttp_method_t)r->method));
    if (r->path_len == sizeof(METRICS_PATH) - 1 &&
        memcmp(r->path, METRICS_PATH, r->path_len) == 0) {
        metrics_handle(c);
        return;
    }
    zt_admin_route_match(r->method, r->path, r->path_len, &c->route);
    bool under_api = r->path_len >= sizeof(API_PREFIX) - 2 &&
                     memcmp(r->path, API_PREFIX, sizeof(API_PREFIX) - 2) == 0;
    if (!under_api) {
        c->action = "request";
        zt_admin_fail(c, 404, "not_found", "no such endpoint; the admin API is under /api/v1/");
        return;
    }
    c->action = "auth";
    auth_result who = authenticate(c);
    if (who == AUTH_NONE)
        return;
    c->action = read_action(c->route.ep);
    bool first = c->route.ep == ZT_ADMIN_EP_ADMINS_FIRST && c->route.status == 0;
    if (who == AUTH_BOOTSTRAP && !first) {
        zt_admin_fail(c, 403, "bootstrap_only", "%s", BOOTSTRAP_ONLY);
        return;
    }
    if (who == AUTH_PERSON && first) {
        zt_admin_fail(c, 403, "bootstrap_required",
                      "only the bootstrap token creates the first administrator; use "
                      "POST /api/v1/admins to add others");
        return;
    }
    if (c->route.status == 404) {
        zt_admin_fail(c, 404, "not_found", "no such endpoint");
        return;
    }
    if (c->route.status == 400) {
        zt_admin_fail(c, 400, "invalid_path", "%s", c->route.why);
        return;
    }
    if (c->route.status == 405) {
        zt_admin_fail(c, 405, "method_not_allowed", "%s is not allowed here; use %s",
                      r->method_name, c->route.allow);
        return;
    }
    if (r->query_len > 0 && c->route.ep != ZT_ADMIN_EP_RISK && c->route.ep != ZT_ADMIN_EP_DEVICES &&
        c->route.ep != ZT_ADMIN_EP_ADMIN && c->route.ep != ZT_ADMIN_EP_TOKENS) {
        zt_admin_fail(c, 400, "invalid_query", "this API takes no query parameters");
        return;
    }
    if (r->method != HTTP_POST && r->body_len > 0) {
        zt_admin_fail(c, 400, "unexpected_body", "%s takes no request body", r->method_name);
        return;
    }
    if (r->method == HTTP_POST && r->body_len > 0 && !zt_local_is_json(r)) {
        zt_admin_fail(c, 415, "unsupported_media_type",
                      "request bodies must be sent as Content-Type: application/json");
        return;
    }
    if (!allowed(c))
        return;
    switch (c->route.ep) {
    case ZT_ADMIN_EP_ADMINS:
    case ZT_ADMIN_EP_ADMIN:
    case ZT_ADMIN_EP_ADMINS_FIRST:
    case ZT_ADMIN_EP_TOKENS:
    case ZT_ADMIN_EP_TOKEN:
        zt_admin_admins(c);
        return;
    case ZT_ADMIN_EP_HEALTH:
        zt_admin_finish(c, 200, json_pack("{s:s}", "status", "ok"));
        return;
    case ZT_ADMIN_EP_GROUPS:
    case ZT_ADMIN_EP_GROUP:
    case ZT_ADMIN_EP_GROUP_MEMBERS:
    case ZT_ADMIN_EP_GROUP_MEMBER:
        zt_admin_groups(c);
        return;
    case ZT_ADMIN_EP_RISK:
    case ZT_ADMIN_EP_RISK_ONE:
    case ZT_ADMIN_EP_RISK_DISMISS:
    case ZT_ADMIN_EP_USER_CONFIRM:
    case ZT_ADMIN_EP_USER_DISMISS:
        zt_admin_risk(c);
        return;
    case ZT_ADMIN_EP_DEVICES:
    case ZT_ADMIN_EP_DEVICE:
    case ZT_ADMIN_EP_DEVICE_REVOKE:
    case ZT_ADMIN_EP_ENROLL_CODES:
        zt_admin_devices(c);
        return;
    default:
        zt_admin_users(c);
        return;
    }
}
