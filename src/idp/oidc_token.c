/* The token endpoint (authorization_code and refresh_token grants), userinfo, revocation
 * (RFC 7009) and introspection (RFC 7662). Access and refresh tokens are opaque 256-bit random
 * strings kept hashed in the store: revocation and introspection are exact, and a session that
 * ends takes its tokens with it on the next use (docs/OIDC.md says why not JWTs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/log.h"
#include "idp/oidc.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/account.h"
#include "session/session.h"

#define GROUPS_MAX 64

/* ---- user claims ---- */

typedef struct groups_acc {
    json_t *arr;
    size_t n;
} groups_acc;

static int add_group(void *ctx, const char *name)
{
    groups_acc *g = ctx;
    if (g->n++ < GROUPS_MAX)
        json_array_append_new(g->arr, json_string(name));
    return 0;
}

/* email, name and groups by scope. -ENOENT: the user is gone or disabled. */
static int user_claims(zt_local_req *r, const zt_store_oidc_grant *g, json_t *o)
{
    zt_user u;
    int rc = zt_store_user_get_by_id(r->svc->store, g->user_id, &u);
    if (rc != 0 || u.disabled || zt_account_expired(&u, zt_wall_us() / 1000000)) {
        zt_user_dispose(&u);
        return -ENOENT;
    }
    if (zt_oidc_scope_has(g->scope, "email")) {
        json_object_set_new(o, "email", json_string(u.email));
        json_object_set_new(o, "email_verified", json_true());
    }
    if (zt_oidc_scope_has(g->scope, "profile")) {
        json_object_set_new(o, "name", json_string(u.name[0] ? u.name : u.email));
        json_object_set_new(o, "preferred_username", json_string(u.email));
    }
    if (zt_oidc_scope_has(g->scope, "groups")) {
        groups_acc acc = {.arr = json_array()};
        rc = zt_store_user_groups(r->svc->store, g->user_id, add_group, &acc);
        json_object_set_new(o, "groups", acc.arr);
    }
    zt_user_dispose(&u);
    return rc == 0 ? 0 : -EIO;
}

/* ---- the ID token ---- */

/* OIDC Core 3.1.3.6: base64url of the left half of SHA-256 of the access token. */
static void at_hash(const char *token, char out[32])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2base64(out, 32, h, 16, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int id_token(zt_idp *idp, zt_local_req *r, const zt_app_cfg *app,
                    const zt_store_oidc_grant *g, const char *access, bool with_nonce, zt_buf *out)
{
    int64_t now = zt_portal_now();
    char amr[ZT_OIDC_AMR_JSON_MAX], ah[32];
    zt_oidc_amr_json(g->amr, amr);
    at_hash(access, ah);
    json_t *o = json_pack(
        "{ss,ss,ss,sI,sI,sI,ss,ss,ss,ss,so}", "iss", zt_oidc_issuer(r), "sub", g->user_id, "aud",
        g->client_id, "exp", (json_int_t)(now + (int64_t)(r->cfg->idp.id_token_ttl_ms / 1000)),
        "iat", (json_int_t)now, "auth_time", (json_int_t)g->auth_time, "acr", g->acr, "sid", g->sid,
        "azp", g->client_id, "at_hash", ah, "amr", json_loads(amr, 0, NULL));
    if (o == NULL)
        return -ENOMEM;
    if (with_nonce && g->nonce[0] != '\0')
        json_object_set_new(o, "nonce", json_string(g->nonce));
    int rc = user_claims(r, g, o);
    char *text = rc == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (rc == 0 && text == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = zt_oidc_sign(idp, app->oidc.id_token_alg, "JWT", text, strlen(text), out);
    free(text);
    return rc;
}

/* ---- token responses ---- */

static bool audit_token(zt_local_req *r, const zt_store_oidc_grant *g, const char *event, bool ok,
                        const char *reason)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "oidc %s for app %s%s", event, g->app[0] ? g->app : "?",
             ok ? "" : " refused");
    zt_oidc_event e = {.event = event,
                       .success = ok,
                       .app = g->app[0] ? g->app : NULL,
                       .client_id = g->client_id[0] ? g->client_id : NULL,
                       .user_id = g->user_id[0] ? g->user_id : NULL,
                       .message = msg,
                       .reason = reason};
    return zt_oidc_audit(r, &e);
}

/* The access token, the refresh token when the exchange makes one (refresh_hash not NULL) and
 * the ID token (kept hashed so logout can tell an id_token_hint we issued, expired or not),
 * stored in one transaction once the ID token is signed. */
static int store_tokens(zt_local_req *r, const zt_store_oidc_grant *g,
                        const unsigned char access_hash[ZT_STORE_OIDC_HASH_LEN], int64_t access_exp,
                        const unsigned char *refresh_hash, const char *idt)
{
    int64_t now = zt_portal_now();
    int64_t until = now + (int64_t)(r->cfg->idp.id_token_ttl_ms / 1000);
    until = (until > g->expires_at ? until : g->expires_at) + 86400;
    zt_store_oidc_new_token t[3] = {{.kind = ZT_STORE_OIDC_ACCESS, .expires_at = access_exp},
                                    {.kind = ZT_STORE_OIDC_ID_TOKEN, .expires_at = until},
                                    {.kind = ZT_STORE_OIDC_REFRESH, .expires_at = g->expires_at}};
    memcpy(t[0].hash, access_hash, ZT_STORE_OIDC_HASH_LEN);
    zt_oidc_hash(idt, strlen(idt), t[1].hash);
    if (refresh_hash != NULL)
        memcpy(t[2].hash, refresh_hash, ZT_STORE_OIDC_HASH_LEN);
    return zt_store_oidc_tokens_add(r->svc->store, g->id, now, t, refresh_hash != NULL ? 3 : 2);
}

/* Access token, the refresh token (refresh, or "" when none; refresh_hash not NULL when it is
 * new here and still to be stored), ID token: the answer. */
static void answer_tokens(zt_idp *idp, zt_local_req *r, const zt_app_cfg *app,
                          const zt_store_oidc_grant *g, const char *refresh,
                          const unsigned char *refresh_hash, bool with_nonce, const char *event)
{
    char access[ZT_OIDC_TOKEN_CHARS + 1];
    unsigned char access_hash[ZT_STORE_OIDC_HASH_LEN];
    int64_t ttl = (int64_t)(r->cfg->idp.access_token_ttl_ms / 1000);
    int64_t exp = zt_portal_now() + ttl;
    zt_buf idt;
    zt_buf_init(&idt, 0);
    zt_oidc_new_token(access, access_hash);
    int rc = id_token(idp, r, app, g, access, with_nonce, &idt);
    rc = rc ? rc : zt_buf_cstr(&idt);
    rc = rc ? rc : store_tokens(r, g, access_hash, exp, refresh_hash, idt.data);
    if (rc == -ENOENT) {
        zt_store_oidc_grant_revoke(r->svc->store, g->id, zt_portal_now());
        zt_oidc_json_error(r, 400, "invalid_grant", "the user is disabled or deleted");
    } else if (rc != 0) {
        zt_error("request %s: oidc: issuing tokens: %d", r->request_id, rc);
        zt_oidc_json_error(r, 500, "server_error", "tokens could not be issued");
    } else if (!audit_token(r, g, event, true, NULL)) {
        zt_oidc_json_error(r, 503, "temporarily_unavailable", "audit log unavailable");
    } else {
        json_t *o =
            json_pack("{ss,ss,sI,ss,ss}", "access_token", access, "token_type", "Bearer",
                      "expires_in", (json_int_t)ttl, "id_token", idt.data, "scope", g->scope);
        if (o != NULL && refresh[0] != '\0')
            json_object_set_new(o, "refresh_token", json_string(refresh));
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        r->log_detail = event;
        zt_oidc_json(r, text ? 200 : 500, text ? text : "{\"error\":\"server_error\"}");
        if (text != NULL)
            zt_wipe(text, strlen(text));
        free(text);
        json_decref(o);
    }
    zt_wipe(access, sizeof(access));
    zt_buf_dispose(&idt);
}

/* ---- grant types ---- */

/* PKCE both ways (RFC 9700 2.1.1): a verifier iff a challenge was sent, and it must match. */
static bool pkce_ok(const zt_store_oidc_code *c, const zt_form *f, const char **why)
{
    size_t n = 0;
    const char *v = zt_form_get(f, "code_verifier", &n);
    if (c->code_challenge[0] == '\0') {
        *why = "code_verifier sent but the authorization request had no code_challenge";
        return v == NULL;
    }
    *why = v == NULL ? "code_verifier missing" : "code_verifier does not match";
    return v != NULL && zt_oidc_pkce_verify(c->code_challenge, v, n);
}

/* Why a taken code gives no tokens (NULL: it does). A code bound to another client, redirect
 * URI or PKCE verifier is spent and its grant revoked: whoever holds it is not its client. */
static const char *code_refusal(zt_local_req *r, const zt_app_cfg *app, const zt_form *f, int rc,
                                const zt_store_oidc_code *c, const zt_store_oidc_grant *g)
{
    size_t un = 0;
    const char *uri = zt_form_get(f, "redirect_uri", &un), *why = NULL;
    if (rc == -EALREADY) {
        why = "code used twice: the tokens issued from it are revoked";
        audit_token(r, g, "code_replay", false, why);
        return why;
    }
    if (rc != 0)
        return "unknown, expired or revoked code";
    if (strcmp(g->client_id, app->oidc.client_id) != 0)
        why = "the code was issued to another client";
    else if (uri == NULL || strlen(c->redirect_uri) != un || memcmp(c->redirect_uri, uri, un))
        why = "redirect_uri differs from the authorization request's";
    else if (!pkce_ok(c, f, &why))
        ; /* why set */
    else
        return NULL;
    zt_store_oidc_grant_revoke(r->svc->store, g->id, zt_portal_now());
    /* Recorded: a code presented by the wrong party is how code theft or injection looks. */
    audit_token(r, g, "code", false, why);
    return why;
}

static void code_grant(zt_idp *idp, zt_local_req *r, const zt_app_cfg *app, const zt_form *f)
{
    size_t n = 0;
    const char *code = zt_form_get(f, "code", &n);
    zt_store_oidc_code c;
    zt_store_oidc_grant g;
    unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
    if (code == NULL || n != ZT_OIDC_TOKEN_CHARS) {
        zt_oidc_json_error(r, 400, "invalid_grant", "unknown or expired code");
        return;
    }
    zt_oidc_hash(code, n, hash);
    int rc = zt_store_oidc_code_take(r->svc->store, hash, zt_portal_now(), &c, &g);
    if (rc != 0 && rc != -ENOENT && rc != -EALREADY && rc != -ECANCELED) {
        zt_oidc_json_error(r, 503, "temporarily_unavailable", "store error");
        return;
    }
    const char *why = code_refusal(r, app, f, rc, &c, &g);
    if (why != NULL) {
        zt_oidc_json_error(r, 400, "invalid_grant", why);
        return;
    }
    char refresh[ZT_OIDC_TOKEN_CHARS + 1] = "";
    unsigned char refresh_hash[ZT_STORE_OIDC_HASH_LEN];
    bool with_refresh = r->cfg->idp.refresh_token_ttl_ms > 0;
    if (with_refresh)
        zt_oidc_new_token(refresh, refresh_hash);
    answer_tokens(idp, r, app, &g, refresh, with_refresh ? refresh_hash : NULL, true, "token");
    zt_wipe(refresh, sizeof(refresh));
}

/* A scope asked at refresh must not exceed the original (each word one of its words). */
static bool scope_within(const char *asked, const char *granted)
{
    char w[128];
    for (const char *p = asked; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < sizeof(w)) {
            memcpy(w, p, n);
            w[n] = '\0';
            if (!zt_oidc_scope_has(granted, w))
                return false;
        } else if (n > 0) {
            return false;
        }
        p += n;
        p += strspn(p, " ");
    }
    return true;
}

/* ---- Conditional Access at refresh ---- */

/* The address the session signed in from (the refresh request's own address is the client's
 * server, which says nothing about the user). false when the record has none. */
static bool session_addr(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
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

/* The grant's user at its app, decided again from the ztgate session's record: who, how and
 * when they signed in, user and sign-in risk, the address, device and browser of that sign-in.
 * -ECANCELED: the session is gone; -EIO: the store failed. */
static int refresh_decide(zt_local_req *r, const zt_app_cfg *app, const zt_store_oidc_grant *g,
                          zt_oidc_decision *d)
{
    zt_store_session rec;
    zt_user u;
    struct sockaddr_storage ss;
    int rc = zt_store_session_get(r->svc->store, g->session_hash, &rec);
    if (rc != 0)
        return rc == -ENOENT ? -ECANCELED : -EIO;
    rc = zt_store_user_get_by_id(r->svc->store, g->user_id, &u);
    if (rc != 0 || u.disabled || zt_account_expired(&u, zt_wall_us() / 1000000)) {
        zt_user_dispose(&u);
        return rc == 0 || rc == -ENOENT ? -ECANCELED : -EIO;
    }
    zt_access_request rq;
    zt_access_request_from_local(r, &rq);
    rq.client_addr = session_addr(rec.ip, &ss) ? (const struct sockaddr *)&ss : NULL;
    rq.cert_device_id = rec.device_id;
    rq.n_cookies = 0;
    rq.user_agent = (zt_span){rec.user_agent, strlen(rec.user_agent)};
    rq.n_user_agent = rec.user_agent[0] ? 1 : 0;
    rq.n_ch_platform = rq.n_ch_mobile = 0;
    rq.user_id = g->user_id;
    rq.email = u.email;
    rq.auth_time = rec.auth_time;
    rq.mfa_time = rec.mfa_time;
    rq.amr = zt_amr_parse(rec.amr, rec.mfa_time);
    rq.user_risk = (zt_risk)rec.user_risk;
    rq.sign_in_risk = (zt_risk)rec.sign_in_risk;
    rq.app = app;
    rq.client = ZT_CLIENT_BROWSER; /* the same outcome classes as at sign-in */
    rc = zt_oidc_decide(r, &rq, d) == 0 ? 0 : -EIO;
    zt_user_dispose(&u);
    return rc;
}

static bool audit_refresh_decision(zt_local_req *r, const zt_store_oidc_grant *g,
                                   const zt_oidc_decision *d, const char *decision)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "oidc refresh: %s for app %s", decision, g->app);
    zt_oidc_event e = {.event = "refresh",
                       .success = false,
                       .app = g->app,
                       .client_id = g->client_id,
                       .user_id = g->user_id,
                       .decision = decision,
                       .policy = d->policy,
                       .policies = d->policies[0] ? d->policies : NULL,
                       .report_only = d->report_only,
                       .message = msg,
                       .reason = "Conditional Access no longer allows this grant"};
    return zt_oidc_audit(r, &e);
}

/* Why Conditional Access refuses the refresh (NULL: allowed). A block ends the grant; a
 * challenge (a second factor, signing in again) needs the browser: the client must send the
 * user through authorize. *status is set for a refusal. */
static const char *refresh_access(zt_local_req *r, const zt_app_cfg *app,
                                  const zt_store_oidc_grant *g, int *status)
{
    zt_oidc_decision *d = malloc(sizeof(*d));
    int rc = d != NULL ? refresh_decide(r, app, g, d) : -EIO;
    const char *why = NULL;
    *status = 400;
    if (rc == -ECANCELED) {
        why = "the session of this refresh token has ended";
    } else if (rc != 0) {
        why = "policy inputs unavailable", *status = 503;
    } else if (d->outcome != ZT_OUTCOME_ALLOW) {
        bool block = d->outcome == ZT_OUTCOME_BLOCK;
        if (block)
            zt_store_oidc_grant_revoke(r->svc->store, g->id, zt_portal_now());
        why = block ? "blocked by a Conditional Access policy"
                    : "a Conditional Access policy asks the user to sign in again";
        if (!audit_refresh_decision(r, g, d, block ? "block" : "challenge"))
            why = "audit log unavailable", *status = 503;
    }
    free(d);
    return why;
}

/* ---- the refresh grant ---- */

/* Why this live refresh token's grant gives no tokens to this client with this scope (NULL: it
 * does). Checked before rotation, so a refusal leaves the token usable for a corrected retry. */
static const char *refresh_refusal(zt_local_req *r, const zt_app_cfg *app,
                                   const zt_store_oidc_grant *g, const char *scope, int *status,
                                   const char **code)
{
    *status = 400;
    *code = "invalid_grant";
    if (strcmp(g->client_id, app->oidc.client_id) != 0) {
        zt_store_oidc_grant_revoke(r->svc->store, g->id, zt_portal_now());
        return "the refresh token was issued to another client";
    }
    if (scope != NULL && !scope_within(scope, g->scope)) {
        *code = "invalid_scope";
        return "scope exceeds the original grant";
    }
    const char *why = refresh_access(r, app, g, status);
    if (why != NULL && *status == 503)
        *code = "temporarily_unavailable";
    return why;
}

/* A refresh is activity of the grant's ztgate session: its idle expiry moves as a portal visit
 * would move it (the store clamps it to the absolute expiry), so a relying party in use keeps
 * its tokens for refresh_token_ttl, not only for the portal's idle timeout. This loop's cached
 * copy is dropped so it reads the new expiry. */
static void refresh_touches_session(zt_local_req *r, const zt_store_oidc_grant *g, int64_t now)
{
    int64_t idle = now + (int64_t)(r->cfg->auth.session_idle_ms / 1000);
    if (zt_store_session_touch(r->svc->store, g->session_hash, idle) != 0)
        zt_warn("request %s: oidc refresh: the session's idle expiry could not be moved",
                r->request_id);
    zt_session_cache_forget(r->sessions, g->session_hash);
}

/* Rotate the refresh token (the store refuses a reused one, revoking its family, and one whose
 * ztgate session ended) and answer with the new tokens. */
static void rotate_and_answer(zt_idp *idp, zt_local_req *r, const zt_app_cfg *app,
                              const unsigned char oh[ZT_STORE_OIDC_HASH_LEN], const char *scope)
{
    unsigned char nh[ZT_STORE_OIDC_HASH_LEN];
    char fresh[ZT_OIDC_TOKEN_CHARS + 1];
    zt_store_oidc_grant g;
    zt_oidc_new_token(fresh, nh);
    int64_t now = zt_portal_now();
    int64_t life = (int64_t)(r->cfg->idp.refresh_token_ttl_ms / 1000);
    int rc =
        zt_store_oidc_refresh_rotate(r->svc->store, oh, nh, now, now + (life > 0 ? life : 1), &g);
    const char *why = rc == -EALREADY    ? "refresh token reused: the whole family is revoked"
                      : rc == -ECANCELED ? "the session of this refresh token has ended"
                      : rc == -ENOENT    ? "unknown, expired or revoked refresh token"
                      : rc != 0          ? "store error"
                                         : NULL;
    if (rc == -EALREADY || rc == -ECANCELED)
        audit_token(r, &g, "refresh", false, why);
    if (rc == 0 && strcmp(g.client_id, app->oidc.client_id) != 0)
        why = "the refresh token was issued to another client", rc = -EPERM;
    if (rc == 0 && scope != NULL) /* a narrower scope asked: these tokens carry only it */
        snprintf(g.scope, sizeof(g.scope), "%s", scope);
    if (rc == 0) {
        refresh_touches_session(r, &g, now);
        answer_tokens(idp, r, app, &g, fresh, NULL, false, "refresh");
    } else {
        zt_oidc_json_error(r, rc == -EIO ? 500 : 400, "invalid_grant", why);
    }
    zt_wipe(fresh, sizeof(fresh));
}

static void refresh_grant(zt_idp *idp, zt_local_req *r, const zt_app_cfg *app, const zt_form *f)
{
    size_t n = 0;
    const char *old = zt_form_get(f, "refresh_token", &n), *scope = zt_form_get(f, "scope", NULL);
    unsigned char oh[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat = 0, exp = 0;
    if (old == NULL || n != ZT_OIDC_TOKEN_CHARS) {
        zt_oidc_json_error(r, 400, "invalid_grant", "unknown refresh token");
        return;
    }
    zt_oidc_hash(old, n, oh);
    /* A live token is checked first; any other goes to the rotation, which says why not. */
    int rc = zt_store_oidc_token_get(r->svc->store, oh, zt_portal_now(), &kind, &iat, &exp, &g);
    if (rc == 0 && kind != ZT_STORE_OIDC_REFRESH) {
        zt_oidc_json_error(r, 400, "invalid_grant", "unknown refresh token");
        return;
    }
    int status = 0;
    const char *code = NULL;
    const char *why = rc == 0 ? refresh_refusal(r, app, &g, scope, &status, &code) : NULL;
    if (why != NULL)
        zt_oidc_json_error(r, status, code, why);
    else
        rotate_and_answer(idp, r, app, oh, scope);
}

/* POST with a form body; false when answered. */
static bool read_post_form(zt_local_req *r, zt_form *f)
{
    memset(f, 0, sizeof(*f));
    if (r->method_name == NULL || strcmp(r->method_name, "POST") != 0) {
        zt_buf_append_str(&r->resp_headers, "Allow: POST\r\n");
        zt_oidc_json_error(r, 405, "invalid_request", "use POST");
        return false;
    }
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    if (ct == NULL || !zt_form_content_type_ok(*ct)) {
        zt_oidc_json_error(r, 400, "invalid_request",
                           "the body must be application/x-www-form-urlencoded");
        return false;
    }
    if (zt_form_parse(f, r->body, r->body_len) != ZT_FORM_OK) {
        zt_form_dispose(f);
        zt_oidc_json_error(r, 400, "invalid_request",
                           "malformed form (bad escape, repeated or too long parameter)");
        return false;
    }
    return true;
}

void zt_oidc_token(zt_idp *idp, zt_local_req *r)
{
    zt_form f;
    if (!read_post_form(r, &f))
        return;
    const char *type = zt_form_get(&f, "grant_type", NULL);
    const zt_app_cfg *app = zt_oidc_authenticate_client(idp, r, &f);
    if (app == NULL)
        ;
    else if (type != NULL && strcmp(type, "authorization_code") == 0)
        code_grant(idp, r, app, &f);
    else if (type != NULL && strcmp(type, "refresh_token") == 0)
        refresh_grant(idp, r, app, &f);
    else
        zt_oidc_json_error(r, 400, type ? "unsupported_grant_type" : "invalid_request",
                           "grant_type must be authorization_code or refresh_token");
    zt_form_dispose(&f);
}

/* ---- userinfo ---- */

static void bearer_refused(zt_local_req *r, const char *why)
{
    zt_buf_append_str(&r->resp_headers, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
    zt_oidc_json_error(r, 401, "invalid_token", why);
}

/* The access token from "Authorization: Bearer". */
static bool bearer(zt_local_req *r, unsigned char hash[ZT_STORE_OIDC_HASH_LEN])
{
    const zt_span *a = zt_local_header_get(r, "Authorization");
    if (a == NULL)
        return false;
    zt_span v = zt_span_trim(*a);
    if (v.n != 7 + ZT_OIDC_TOKEN_CHARS || strncasecmp(v.p, "Bearer ", 7) != 0)
        return false;
    zt_oidc_hash(v.p + 7, ZT_OIDC_TOKEN_CHARS, hash);
    return true;
}

void zt_oidc_userinfo(zt_idp *idp, zt_local_req *r)
{
    (void)idp;
    if (!zt_portal_method_ok(r, true))
        return;
    unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat = 0, exp = 0;
    if (!bearer(r, hash)) {
        zt_buf_append_str(&r->resp_headers, "WWW-Authenticate: Bearer realm=\"ztgate\"\r\n");
        zt_oidc_json_error(r, 401, "invalid_request", "a Bearer access token is required");
        return;
    }
    int rc = zt_store_oidc_token_get(r->svc->store, hash, zt_portal_now(), &kind, &iat, &exp, &g);
    if (rc != 0 || kind != ZT_STORE_OIDC_ACCESS) {
        bearer_refused(r, "unknown, expired or revoked access token");
        return;
    }
    json_t *o = json_pack("{ss}", "sub", g.user_id);
    rc = o ? user_claims(r, &g, o) : -ENOMEM;
    char *text = rc == 0 ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (rc == -ENOENT)
        bearer_refused(r, "the user is disabled or deleted");
    else if (text == NULL)
        zt_oidc_json_error(r, 500, "server_error", NULL);
    else
        zt_oidc_json(r, 200, text);
    free(text);
}

/* ---- revocation and introspection ---- */

void zt_oidc_revoke(zt_idp *idp, zt_local_req *r)
{
    zt_form f;
    if (!read_post_form(r, &f))
        return;
    const zt_app_cfg *app = zt_oidc_authenticate_client(idp, r, &f);
    size_t n = 0;
    const char *token = app ? zt_form_get(&f, "token", &n) : NULL;
    if (app == NULL) {
        zt_form_dispose(&f);
        return;
    }
    if (token == NULL) {
        zt_oidc_json_error(r, 400, "invalid_request", "token is required");
    } else {
        unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
        zt_oidc_hash(token, n, hash);
        int rc =
            zt_store_oidc_token_revoke(r->svc->store, hash, app->oidc.client_id, zt_portal_now());
        zt_store_oidc_grant g = {0};
        snprintf(g.app, sizeof(g.app), "%s", app->name);
        snprintf(g.client_id, sizeof(g.client_id), "%s", app->oidc.client_id);
        if (rc != 0)
            zt_oidc_json_error(r, 503, "temporarily_unavailable", "store error");
        else if (!audit_token(r, &g, "revoke", true, NULL))
            zt_oidc_json_error(r, 503, "temporarily_unavailable", "audit log unavailable");
        else
            zt_oidc_json(r, 200, "{}");
    }
    zt_form_dispose(&f);
}

static char *introspection(zt_local_req *r, const zt_app_cfg *app, const char *token, size_t n)
{
    unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_grant g;
    zt_store_oidc_kind kind;
    int64_t iat = 0, exp = 0;
    zt_oidc_hash(token, n, hash);
    int rc = zt_store_oidc_token_get(r->svc->store, hash, zt_portal_now(), &kind, &iat, &exp, &g);
    /* Not this caller's token: inactive, and nothing more (RFC 7662 2.2). */
    if (rc != 0 || strcmp(g.client_id, app->oidc.client_id) != 0)
        return strdup("{\"active\":false}");
    json_t *o = json_pack(
        "{sb,ss,ss,ss,sI,sI,ss,ss,ss,ss,sI}", "active", 1, "scope", g.scope, "client_id",
        g.client_id, "token_type", kind == ZT_STORE_OIDC_ACCESS ? "Bearer" : "refresh_token", "exp",
        (json_int_t)exp, "iat", (json_int_t)iat, "sub", g.user_id, "aud", g.client_id, "iss",
        zt_oidc_issuer(r), "acr", g.acr, "auth_time", (json_int_t)g.auth_time);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

void zt_oidc_introspect(zt_idp *idp, zt_local_req *r)
{
    zt_form f;
    if (!read_post_form(r, &f))
        return;
    const zt_app_cfg *app = zt_oidc_authenticate_client(idp, r, &f);
    size_t n = 0;
    const char *token = app ? zt_form_get(&f, "token", &n) : NULL;
    if (app != NULL && token == NULL) {
        zt_oidc_json_error(r, 400, "invalid_request", "token is required");
    } else if (app != NULL) {
        char *text = introspection(r, app, token, n);
        zt_oidc_json(r, text ? 200 : 500, text ? text : "{\"error\":\"server_error\"}");
        free(text);
    }
    zt_form_dispose(&f);
}
