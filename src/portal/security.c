/* /.ztgate/security: the signed-in user's own security page (issue 12, item 4). GET draws it
 * (render_security.c); every change is one small POST form with the page's CSRF token and an
 * `action`, answered with a 303 back to the page and a one-line result (?done=...), except new
 * recovery codes, which are shown once on the answer itself. Every item is looked up among the
 * signed-in user's own (another user's passkey or session is "no such item", the same as an
 * unknown one), every action and every refusal is audited with the user as the actor, and bad
 * input changes nothing. Changes go through the layers the other front-ends use: sessions end
 * through the session service (its revocation counter reaches every worker and process), the
 * authenticator app is removed by the account service, "this wasn't me" is
 * zt_response_report_suspicious. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>

#include "audit/event.h"
#include "http/handler.h"
#include "identity/totp.h"
#include "lib/secure.h"
#include "portal/portal.h"
#include "response/confirm.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "store/store.h"

#define ACTIVITY_WINDOW (4u << 20) /* bytes of the audit file's tail searched for sign-ins */

/* ---- the session and the record ---- */

/* A full session (MFA done or not owed); otherwise the answer has been sent. */
static bool page_session(zt_local_req *r, zt_portal_sess *s)
{
    if (!zt_portal_require_session(r, s, ZT_PORTAL_SECURITY))
        return false;
    if (s->mfa_pending) {
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, ZT_PORTAL_SECURITY);
        return false;
    }
    return true;
}

/* One Account Change record (OCSF 3001) per action or refusal, the user as the actor. */
static bool sec_audit(zt_local_req *r, const zt_portal_sess *s, unsigned activity, const char *op,
                      bool ok, const char *change)
{
    zt_buf b;
    zt_buf_init(&b, 8 * 1024);
    zt_event ev;
    char msg[96];
    snprintf(msg, sizeof(msg), "security page: %s%s", op, ok ? "" : " refused");
    zt_event_begin(&ev, &b, ZT_EV_ACCOUNT_CHANGE, activity, ok ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", msg);
    zt_event_str(&ev, "status_detail", ok ? NULL : change);
    zt_event_str(&ev, "actor.user.name", s->email);
    zt_event_str(&ev, "actor.user.type", "User");
    zt_event_str(&ev, "user.uid", s->user_id);
    zt_event_str(&ev, "user.email_addr", s->email);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    zt_event_str(&ev, "http_request.url.path", r->path);
    zt_event_str(&ev, "unmapped.operation", op);
    zt_event_str(&ev, "unmapped.change", ok ? change : NULL);
    zt_event_metadata(&ev, r->request_id, NULL);
    bool done = zt_event_end(&ev) == 0 ? zt_local_audit(r, b.data, b.len) : r->svc->audit_fail_open;
    zt_buf_dispose(&b);
    return done;
}

enum { ACT_MFA_ENABLE = 10, ACT_MFA_DISABLE = 11, ACT_OTHER = 99 };

/* A refusal: audited, then the 4xx page (a 503 when the record cannot be written). */
static void refuse(zt_local_req *r, const zt_portal_sess *s, const char *op, int status,
                   zt_msg body, const char *why)
{
    if (!sec_audit(r, s, ACT_OTHER, op, false, why)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    r->log_detail = why;
    zt_portal_page(r, status, status == 400 ? PM_TITLE_BAD_REQUEST : PM_TITLE_FORBIDDEN, body,
                   ZT_PORTAL_SECURITY, SM_BACK);
}

/* Done: audited, then 303 back to the page with the result named. */
static void done(zt_local_req *r, const zt_portal_sess *s, unsigned activity, const char *op,
                 const char *change, const char *result)
{
    if (!sec_audit(r, s, activity, op, true, change)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    char loc[96];
    snprintf(loc, sizeof(loc), ZT_PORTAL_SECURITY "?done=%s", result);
    r->log_detail = change;
    zt_portal_redirect(r, loc);
}

/* ---- references on the page ---- */

/* A session's reference: a hash of its store key, so the page never shows the key itself. */
static void session_ref(const char *id_hash, char out[ZT_SEC_REF_LEN + 1])
{
    unsigned char h[ZT_SEC_REF_LEN / 2];
    crypto_generichash(h, sizeof(h), (const unsigned char *)id_hash, strlen(id_hash),
                       (const unsigned char *)"ztgate session ref", 18);
    sodium_bin2hex(out, ZT_SEC_REF_LEN + 1, h, sizeof(h));
}

/* A credential id from the form (base64url, no padding); false for anything else. */
static bool cred_id(const char *s, size_t n, unsigned char *out, size_t *len)
{
    if (s == NULL || n == 0 || n > ZT_SEC_CRED_B64_MAX)
        return false;
    const char *end = NULL;
    return sodium_base642bin(out, ZT_STORE_WA_CRED_ID_MAX, s, n, NULL, len, &end,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
           end == s + n && *len > 0;
}

/* A textual address (no port) as a socket address; false when it is not one. */
static bool ip_sockaddr(const char *ip, struct sockaddr_storage *sa)
{
    memset(sa, 0, sizeof(*sa));
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

static void place_of(const zt_feeds *feeds, const char *ip, char out[3])
{
    out[0] = '\0';
    struct sockaddr_storage sa;
    if (feeds == NULL || ip == NULL || !ip_sockaddr(ip, &sa))
        return;
    zt_ip_info info;
    zt_feeds_lookup(feeds, (const struct sockaddr *)&sa, &info);
    memcpy(out, info.country, sizeof(info.country));
}

/* "Chrome · Windows" from a User-Agent; the first 128 printable bytes when unrecognised. */
static void ua_summary(const char *ua, char *out, size_t cap)
{
    static const char *const browsers[][2] = {
        {"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}};
    static const char *const systems[][2] = {
        {"Windows", "Windows"}, {"iPhone", "iOS"},    {"iPad", "iPadOS"}, {"Mac OS X", "macOS"},
        {"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}};
    const char *b = NULL, *os = NULL;
    for (size_t i = 0; b == NULL && i < sizeof(browsers) / sizeof(browsers[0]); i++)
        if (strstr(ua, browsers[i][0]) != NULL)
            b = browsers[i][1];
    for (size_t i = 0; os == NULL && i < sizeof(systems) / sizeof(systems[0]); i++)
        if (strstr(ua, systems[i][0]) != NULL)
            os = systems[i][1];
    if (b != NULL && os != NULL)
        snprintf(out, cap, "%s \xc2\xb7 %s", b, os);
    else
        snprintf(out, cap, "%.128s", ua);
}

/* ---- reading what the page shows ---- */

typedef struct passkey_list {
    zt_sec_passkey *rows;
    size_t n;
} passkey_list;

static int passkey_cb(void *ctx, const zt_store_webauthn_cred *c)
{
    passkey_list *l = ctx;
    if (l->n >= ZT_SEC_ROWS_MAX)
        return 0;
    zt_sec_passkey *p = &l->rows[l->n++];
    sodium_bin2base64(p->id, sizeof(p->id), c->id, c->id_len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(p->name, sizeof(p->name), "%s", c->name);
    p->type = c->be                                       ? SM_TYPE_SYNCED
              : strstr(c->transports, "internal") != NULL ? SM_TYPE_DEVICE
                                                          : SM_TYPE_KEY;
    p->created_at = c->created_at;
    p->last_used_at = c->last_used_at;
    return 0;
}

typedef struct session_list {
    zt_store_session *rows;
    size_t n;
    int64_t now;
} session_list;

/* Live sign-ins only: unexpired, not revoked, and not children made for app hosts by code
 * exchange (they are the same browser and end with their parent). */
static int session_cb(void *ctx, const zt_store_session *s)
{
    session_list *l = ctx;
    bool live = s->idle_expires_at > l->now && s->absolute_expires_at > l->now &&
                s->user_epoch == s->user_epoch_now && !s->user_disabled;
    if (live && s->parent_hash[0] == '\0' && l->n < ZT_SEC_ROWS_MAX)
        l->rows[l->n++] = *s;
    return 0;
}

static int sessions_of(zt_local_req *r, const char *user_id, session_list *l)
{
    l->n = 0;
    l->now = zt_portal_now();
    l->rows = calloc(ZT_SEC_ROWS_MAX, sizeof(*l->rows));
    if (l->rows == NULL)
        return -ENOMEM;
    return zt_store_session_list_by_user(r->svc->store, user_id, session_cb, l);
}

typedef struct device_list {
    zt_sec_device *rows;
    size_t n;
} device_list;

static int device_cb(void *ctx, const zt_store_device *d)
{
    device_list *l = ctx;
    if (l->n >= ZT_SEC_ROWS_MAX)
        return 0;
    zt_sec_device *o = &l->rows[l->n++];
    snprintf(o->name, sizeof(o->name), "%s", d->name);
    snprintf(o->platform, sizeof(o->platform), "%s", d->platform);
    o->compliant = d->compliant;
    o->revoked = d->revoked_at != 0;
    o->posture_at = d->posture_at;
    return 0;
}

static int count_unused(void *ctx, const zt_store_recovery *c)
{
    if (c->used_at == 0)
        ++*(size_t *)ctx;
    return 0;
}

static bool has_totp(zt_local_req *r, const char *user_id, int *rc)
{
    zt_store_totp t;
    *rc = zt_store_totp_get(r->svc->store, user_id, &t);
    zt_store_totp_dispose(&t);
    bool yes = *rc == 0;
    if (*rc == -ENOENT)
        *rc = 0;
    return yes;
}

/* The page's data: everything on the heap, freed by page_free. */
typedef struct page_data {
    zt_security_view v;
    passkey_list pk;
    session_list ss;
    zt_sec_session *sess_rows;
    device_list dv;
    zt_sec_signin *act;
} page_data;

static void page_free(page_data *d)
{
    free(d->pk.rows);
    free(d->ss.rows);
    free(d->sess_rows);
    free(d->dv.rows);
    free(d->act);
}

static void fill_sessions(zt_local_req *r, const zt_portal_sess *s, page_data *d,
                          const zt_feeds *feeds)
{
    int64_t idle = (int64_t)(r->cfg->auth.session_idle_ms / 1000);
    for (size_t i = 0; i < d->ss.n; i++) {
        const zt_store_session *st = &d->ss.rows[i];
        zt_sec_session *o = &d->sess_rows[i];
        session_ref(st->id_hash, o->ref);
        ua_summary(st->user_agent, o->device, sizeof(o->device));
        snprintf(o->ip, sizeof(o->ip), "%s", st->ip);
        place_of(feeds, st->ip, o->place);
        o->signed_in_at = st->created_at;
        /* The idle expiry moves with use (at most every ZT_SESSION_TOUCH_EVERY_S). */
        int64_t seen = idle > 0 ? st->idle_expires_at - idle : 0;
        o->last_seen_at = seen > st->created_at ? seen : st->created_at;
        o->this_browser = strcmp(st->id_hash, s->id_hash) == 0;
    }
    d->v.sessions = d->sess_rows;
    d->v.n_sessions = d->ss.n;
}

static void fill_activity(zt_local_req *r, const zt_portal_sess *s, page_data *d,
                          const zt_feeds *feeds)
{
    const char *path = r->svc->audit != NULL ? r->cfg->audit.path : NULL;
    d->v.activity_off = path == NULL;
    if (path == NULL || zt_sec_activity_read(path, s->user_id, ACTIVITY_WINDOW, d->act,
                                             ZT_SEC_ACTIVITY_MAX, &d->v.n_activity) != 0) {
        d->v.n_activity = 0;
        return;
    }
    for (size_t i = 0; i < d->v.n_activity; i++)
        place_of(feeds, d->act[i].ip, d->act[i].place);
    d->v.activity = d->act;
}

static int page_load(zt_local_req *r, const zt_portal_sess *s, page_data *d)
{
    memset(d, 0, sizeof(*d));
    d->pk.rows = calloc(ZT_SEC_ROWS_MAX, sizeof(*d->pk.rows));
    d->sess_rows = calloc(ZT_SEC_ROWS_MAX, sizeof(*d->sess_rows));
    d->dv.rows = calloc(ZT_SEC_ROWS_MAX, sizeof(*d->dv.rows));
    d->act = calloc(ZT_SEC_ACTIVITY_MAX, sizeof(*d->act));
    if (d->pk.rows == NULL || d->sess_rows == NULL || d->dv.rows == NULL || d->act == NULL)
        return -ENOMEM;
    zt_store *st = r->svc->store;
    int rc = zt_store_webauthn_list(st, s->user_id, passkey_cb, &d->pk);
    d->v.totp_enrolled = rc == 0 && has_totp(r, s->user_id, &rc);
    if (rc == 0 && d->v.totp_enrolled)
        rc = zt_store_recovery_list(st, s->user_id, count_unused, &d->v.recovery_left);
    rc = rc ? rc : sessions_of(r, s->user_id, &d->ss);
    rc = rc ? rc : zt_store_device_list(st, s->user_id, device_cb, &d->dv);
    if (rc != 0)
        return rc;
    const zt_feeds *feeds = atomic_load(&r->svc->feeds);
    fill_sessions(r, s, d, feeds);
    fill_activity(r, s, d, feeds);
    d->v.passkeys = d->pk.rows;
    d->v.n_passkeys = d->pk.n;
    d->v.devices = d->dv.rows;
    d->v.n_devices = d->dv.n;
    return 0;
}

/* ?done=NAME: the result line of the action just done (a fixed list: nothing is echoed). */
static zt_msg done_message(const zt_local_req *r)
{
    static const struct {
        const char *name;
        zt_msg msg;
    } results[] = {{"renamed", SM_DONE_RENAMED}, {"removed", SM_DONE_REMOVED},
                   {"totp", SM_DONE_TOTP},       {"session", SM_DONE_SESSION},
                   {"others", SM_DONE_OTHERS},   {"reported", SM_DONE_REPORTED}};
    zt_form q;
    zt_msg m = MSG_NONE;
    if (zt_form_parse(&q, r->query, r->query_len) == ZT_FORM_OK) {
        const char *v = zt_form_get(&q, "done", NULL);
        for (size_t i = 0; v != NULL && i < sizeof(results) / sizeof(results[0]); i++)
            if (strcmp(v, results[i].name) == 0)
                m = results[i].msg;
    }
    zt_form_dispose(&q);
    return m;
}

static void security_get(zt_local_req *r)
{
    zt_portal_sess s;
    if (!page_session(r, &s))
        return;
    char token[ZT_CSRF_TOKEN_LEN + 1];
    page_data *d = malloc(sizeof(*d));
    int rc = d != NULL ? page_load(r, &s, d) : -ENOMEM;
    rc = rc ? rc : zt_portal_csrf_token(r, ZT_PORTAL_SECURITY, token);
    if (rc == 0) {
        d->v.lang = r->lang;
        d->v.csrf_token = token;
        d->v.done = done_message(r);
        d->v.passkeys_on = r->cfg->auth.passkeys;
        zt_buf_reset(&r->resp_body);
        r->status = 200;
        rc = zt_render_security(&r->resp_body, &d->v);
    }
    if (d != NULL)
        page_free(d);
    free(d);
    zt_wipe(token, sizeof(token));
    if (rc != 0) {
        zt_portal_unavailable(r, "security page: store error");
        return;
    }
    r->page_script = r->cfg->auth.passkeys; /* "Add a passkey" needs the script */
    zt_local_respond(r);
}

/* ---- actions ---- */

static void passkey_rename(zt_local_req *r, const zt_portal_sess *s, const zt_form *f)
{
    static const char op[] = "passkey_rename";
    size_t idn = 0, nn = 0, len = 0;
    const char *id = zt_form_get(f, "id", &idn), *name = zt_form_get(f, "name", &nn);
    unsigned char cid[ZT_STORE_WA_CRED_ID_MAX];
    if (!cred_id(id, idn, cid, &len)) {
        refuse(r, s, op, 400, SM_BAD_FORM, "malformed credential id");
        return;
    }
    if (name == NULL || nn == 0 || nn > ZT_STORE_WA_NAME_MAX) {
        refuse(r, s, op, 400, SM_BAD_NAME, "passkey name length");
        return;
    }
    int rc = zt_store_webauthn_rename(r->svc->store, s->user_id, cid, len, name);
    if (rc == -ENOENT)
        refuse(r, s, op, 404, SM_NOT_YOURS, "no such passkey of this user");
    else if (rc == -EINVAL)
        refuse(r, s, op, 400, SM_BAD_NAME, "passkey name refused");
    else if (rc != 0)
        zt_portal_unavailable(r, "store error");
    else
        done(r, s, ACT_OTHER, op, "passkey renamed", "renamed");
}

static int end_session(zt_local_req *r, const char *id_hash)
{
    int rc = zt_session_destroy(r->svc->sessions, id_hash);
    zt_session_cache_forget(r->sessions, id_hash);
    return rc == -ENOENT ? 0 : rc;
}

/* Every session of the user but this one (a removed passkey may have opened some of them: a
 * session made with an attacker's passkey must not outlive its removal). */
static int end_other_sessions(zt_local_req *r, const zt_portal_sess *s, uint64_t *ended)
{
    session_list l;
    int rc = sessions_of(r, s->user_id, &l);
    *ended = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (strcmp(l.rows[i].id_hash, s->id_hash) == 0)
            continue;
        rc = end_session(r, l.rows[i].id_hash);
        *ended += rc == 0;
    }
    free(l.rows);
    return rc;
}

/* Count-then-delete must not interleave between workers: two removals racing on a user's two
 * last passkeys would otherwise both see "not the last" and leave none. Workers are threads of
 * one process; the hold is two short store calls. */
static pthread_mutex_t remove_mu = PTHREAD_MUTEX_INITIALIZER;

/* 0 removed, -EPERM refused as the last one, -ENOENT not the user's, else a store error. */
static int remove_owned(zt_local_req *r, const zt_portal_sess *s, const unsigned char *cid,
                        size_t len)
{
    zt_store_webauthn_cred *c = malloc(sizeof(*c));
    uint64_t n = 0;
    int rc = c != NULL ? zt_store_webauthn_get(r->svc->store, cid, len, c) : -ENOMEM;
    if (rc == 0 && strcmp(c->user_id, s->user_id) != 0)
        rc = -ENOENT; /* another user's: the same answer as an unknown id */
    bool cloned = rc == 0 && c->cloned_at != 0; /* refused for ever: no factor to keep */
    free(c);
    pthread_mutex_lock(&remove_mu);
    rc = rc ? rc : zt_store_webauthn_count(r->svc->store, s->user_id, &n);
    /* The last usable phishing-resistant method: only right after proving it. */
    if (rc == 0 && !cloned && n <= 1 && !zt_portal_sess_passkey_fresh(s, zt_portal_now()))
        rc = -EPERM;
    rc = rc ? rc : zt_store_webauthn_delete(r->svc->store, s->user_id, cid, len);
    pthread_mutex_unlock(&remove_mu);
    return rc;
}

static void passkey_removed(zt_local_req *r, const zt_portal_sess *s, const char *op)
{
    uint64_t ended = 0;
    if (end_other_sessions(r, s, &ended) != 0) {
        zt_portal_unavailable(r, "passkey removed; could not end the other sessions");
        return;
    }
    char change[80];
    snprintf(change, sizeof(change), "passkey removed; %llu other sessions signed out",
             (unsigned long long)ended);
    done(r, s, ACT_MFA_DISABLE, op, change, "removed");
}

static void passkey_remove(zt_local_req *r, const zt_portal_sess *s, const zt_form *f)
{
    static const char op[] = "passkey_remove";
    size_t idn = 0, len = 0;
    const char *id = zt_form_get(f, "id", &idn);
    unsigned char cid[ZT_STORE_WA_CRED_ID_MAX];
    if (!cred_id(id, idn, cid, &len)) {
        refuse(r, s, op, 400, SM_BAD_FORM, "malformed credential id");
        return;
    }
    int rc = remove_owned(r, s, cid, len);
    if (rc == -ENOENT)
        refuse(r, s, op, 404, SM_NOT_YOURS, "no such passkey of this user");
    else if (rc == -EPERM)
        refuse(r, s, op, 403, SM_NEED_PASSKEY, "last passkey: no fresh passkey assertion");
    else if (rc != 0)
        zt_portal_unavailable(r, "store error");
    else
        passkey_removed(r, s, op);
}

/* Through the account service (one record shape with the CLI and admin API): TOTP and
 * recovery codes go, the user's sessions end; this browser gets a new session at once. */
static void totp_remove(zt_local_req *r, const zt_portal_sess *s)
{
    int rc = 0;
    if (!has_totp(r, s->user_id, &rc)) {
        if (rc != 0)
            zt_portal_unavailable(r, "store error");
        else
            refuse(r, s, "totp_remove", 409, SM_NO_TOTP, "no authenticator app");
        return;
    }
    zt_account_env env = zt_portal_account_env(r);
    zt_actor who;
    zt_portal_actor(r, s->email, &who);
    zt_account_result res;
    char hash[ZT_SESSION_HASH_LEN + 1];
    if (zt_account_reset_mfa(&env, &who, s->user_id, &res) != 0) {
        zt_portal_unavailable(r, "could not remove the authenticator app");
        return;
    }
    if (res.audit_rc != 0) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    zt_session_cache_forget(r->sessions, s->id_hash);
    zt_portal_sess old = *s;
    old.valid = false; /* ended with the others */
    if (zt_portal_session_upgrade(r, &old, s->auth_time, s->mfa_time, s->mfa_method, NULL, hash) !=
        0) {
        zt_portal_unavailable(r, "could not create the session");
        return;
    }
    r->log_detail = "authenticator app removed";
    zt_portal_redirect(r, ZT_PORTAL_SECURITY "?done=totp");
}

static int new_recovery_codes(zt_local_req *r, const char *user_id,
                              char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1])
{
    unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN];
    zt_totp_recovery stored;
    char hex[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_HASH_LEN * 2 + 1];
    const char *hashes[ZT_TOTP_RECOVERY_COUNT];
    zt_portal_recovery_key(r, key);
    zt_totp_recovery_new(key, user_id, codes, &stored);
    zt_wipe(key, sizeof(key));
    for (size_t i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++) {
        sodium_bin2hex(hex[i], sizeof(hex[i]), stored.hash[i], ZT_TOTP_RECOVERY_HASH_LEN);
        hashes[i] = hex[i];
    }
    int rc = zt_store_recovery_set(r->svc->store, user_id, hashes, ZT_TOTP_RECOVERY_COUNT);
    zt_wipe(&stored, sizeof(stored));
    zt_wipe(hex, sizeof(hex));
    return rc;
}

/* New codes replace the old ones and are shown once, on this answer (never in a redirect). */
static void recovery_regenerate(zt_local_req *r, const zt_portal_sess *s)
{
    static const char op[] = "recovery_regenerate";
    int rc = 0;
    if (!has_totp(r, s->user_id, &rc)) {
        if (rc != 0)
            zt_portal_unavailable(r, "store error");
        else
            refuse(r, s, op, 409, SM_NO_TOTP, "no authenticator app");
        return;
    }
    char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1];
    if (new_recovery_codes(r, s->user_id, codes) != 0) {
        zt_portal_unavailable(r, "could not store the recovery codes");
    } else if (!sec_audit(r, s, ACT_MFA_ENABLE, op, true, "recovery codes replaced")) {
        zt_portal_unavailable(r, "audit log unavailable");
    } else {
        zt_buf *b = &r->resp_body;
        zt_buf_reset(b);
        r->status = 200;
        rc = zt_html_begin(b, r->lang, PM_TITLE_RECOVERY);
        rc = rc ? rc : zt_html_p(b, r->lang, PM_INTRO_RECOVERY, NULL);
        rc = rc ? rc : zt_buf_append_str(b, "<ul class=\"codes\">");
        for (size_t i = 0; rc == 0 && i < ZT_TOTP_RECOVERY_COUNT; i++)
            rc = zt_buf_printf(b, "<li>%s</li>", codes[i]);
        rc = rc ? rc : zt_buf_append_str(b, "</ul>");
        rc = rc ? rc : zt_html_link(b, r->lang, ZT_PORTAL_SECURITY, SM_BACK);
        rc = rc ? rc : zt_html_end(b, r->lang, NULL);
        r->log_detail = "recovery codes replaced";
        if (rc != 0)
            zt_portal_unavailable(r, "out of memory");
        else
            zt_local_respond(r);
    }
    zt_wipe(codes, sizeof(codes));
}

/* End one session (and the app-host sessions made from it) through the session service. */

static void session_sign_out(zt_local_req *r, const zt_portal_sess *s, const zt_form *f)
{
    static const char op[] = "session_sign_out";
    size_t n = 0;
    const char *ref = zt_form_get(f, "id", &n);
    if (ref == NULL || n != ZT_SEC_REF_LEN) {
        refuse(r, s, op, 400, SM_BAD_FORM, "malformed session reference");
        return;
    }
    session_list l;
    int rc = sessions_of(r, s->user_id, &l);
    const char *hash = NULL;
    char mine[ZT_SEC_REF_LEN + 1];
    for (size_t i = 0; rc == 0 && hash == NULL && i < l.n; i++) {
        session_ref(l.rows[i].id_hash, mine);
        if (sodium_memcmp(mine, ref, ZT_SEC_REF_LEN) == 0)
            hash = l.rows[i].id_hash;
    }
    if (rc != 0)
        zt_portal_unavailable(r, "store error");
    else if (hash == NULL)
        refuse(r, s, op, 404, SM_NOT_YOURS, "no such session of this user");
    else if (strcmp(hash, s->id_hash) == 0)
        refuse(r, s, op, 400, SM_THIS_SESSION, "this browser's own session");
    else if (end_session(r, hash) != 0)
        zt_portal_unavailable(r, "could not end the session");
    else
        done(r, s, ZT_ACT_AUTH_LOGOFF, op, "one session signed out", "session");
    free(l.rows);
}

static void sessions_sign_out_others(zt_local_req *r, const zt_portal_sess *s)
{
    uint64_t ended = 0;
    int rc = end_other_sessions(r, s, &ended);
    if (rc != 0) {
        zt_portal_unavailable(r, "could not end the sessions");
        return;
    }
    char change[64];
    snprintf(change, sizeof(change), "%llu other sessions signed out", (unsigned long long)ended);
    done(r, s, ZT_ACT_AUTH_LOGOFF, "sessions_sign_out_others", change, "others");
}

/* "This wasn't me" on one of the listed sign-ins: it must be one of this user's. */
static void report(zt_local_req *r, const zt_portal_sess *s, const zt_form *f)
{
    static const char op[] = "report_suspicious";
    size_t n = 0, found = 0;
    const char *ref = zt_form_get(f, "id", &n);
    unsigned long long seq = 0;
    if (ref == NULL || n == 0 || n > 20 || !zt_parse_u64(ref, n, UINT64_MAX, &seq) || seq == 0) {
        refuse(r, s, op, 400, SM_BAD_FORM, "malformed activity reference");
        return;
    }
    const char *path = r->svc->audit != NULL ? r->cfg->audit.path : NULL;
    zt_sec_signin *act = calloc(ZT_SEC_ACTIVITY_MAX, sizeof(*act));
    const zt_sec_signin *hit = NULL;
    if (act != NULL && path != NULL &&
        zt_sec_activity_read(path, s->user_id, ACTIVITY_WINDOW, act, ZT_SEC_ACTIVITY_MAX, &found) ==
            0)
        for (size_t i = 0; hit == NULL && i < found; i++)
            if (act[i].seq == seq)
                hit = &act[i];
    char seq_text[24];
    snprintf(seq_text, sizeof(seq_text), "%llu", seq);
    zt_report_req q = {.user_id = s->user_id,
                       .email = s->email,
                       .actor = "portal",
                       .ref = seq_text,
                       .ip = hit != NULL ? hit->ip : NULL,
                       .request_id = r->request_id,
                       .now = zt_portal_now()};
    zt_report_result res;
    int rc = -ENOTSUP;
    if (hit == NULL)
        refuse(r, s, op, 404, SM_NOT_YOURS, "no such sign-in of this user");
    else if (r->svc->response == NULL ||
             (rc = zt_response_report_suspicious(r->svc->response, &q, &res)) != 0)
        zt_portal_unavailable(r, rc == -ENOTSUP ? "no risk engine" : "could not record the report");
    else if (!zt_portal_risk_event(r, &res.risk, s->email))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        done(r, s, ACT_OTHER, op, "user reported a sign-in as not theirs; user risk high",
             "reported");
    free(act);
}

static void security_post(zt_local_req *r)
{
    zt_form f;
    if (!zt_portal_read_form(r, &f))
        return;
    zt_portal_sess s;
    if (!zt_portal_csrf_ok(r, &f) || !page_session(r, &s)) {
        zt_form_dispose(&f);
        return;
    }
    const char *a = zt_form_get(&f, "action", NULL);
    a = a != NULL ? a : "";
    if (strcmp(a, "passkey_rename") == 0)
        passkey_rename(r, &s, &f);
    else if (strcmp(a, "passkey_remove") == 0)
        passkey_remove(r, &s, &f);
    else if (strcmp(a, "totp_remove") == 0)
        totp_remove(r, &s);
    else if (strcmp(a, "recovery_regenerate") == 0)
        recovery_regenerate(r, &s);
    else if (strcmp(a, "session_sign_out") == 0)
        session_sign_out(r, &s, &f);
    else if (strcmp(a, "sessions_sign_out_others") == 0)
        sessions_sign_out_others(r, &s);
    else if (strcmp(a, "report") == 0)
        report(r, &s, &f);
    else
        refuse(r, &s, "unknown", 400, SM_BAD_FORM, "unknown action");
    zt_form_dispose(&f);
}

void zt_portal_security(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r))
        security_post(r);
    else if (!zt_portal_go_central(r)) /* the page lives on the portal host, when there is one */
        security_get(r);
}
