/* Logout with an upstream provider. Back-channel (OIDC Back-Channel Logout 1.0): the provider
 * POSTs a signed logout token naming a sub or sid; the sessions opened through it for that
 * subject or provider session end at once (zt_session_destroy bumps the revocation counter, so
 * every loop and process forgets them). RP-initiated logout at sign-out is
 * zt_federation_logout_url. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "audit/event.h"
#include "core/log.h"
#include "federation/fed_int.h"
#include "http/handler.h"
#include "lib/secure.h"
#include "portal/portal.h"
#include "identity/keys.h"
#include "lib/buf.h"
#include "session/account.h"
#include "session/session.h"
#include "store/store_source.h"

typedef struct bcl_job {
    uv_work_t work;
    zt_local_req *r;
    zt_federation *fed;
    const zt_oidc_provider_cfg *p;
    char *token;
    const char *reason; /* NULL: verified */
    zt_fed_claims *claims;
} bcl_job;

static void bcl_work(uv_work_t *w)
{
    bcl_job *j = w->data;
    zt_fed_metadata m;
    char err[256];
    int64_t now = zt_portal_now();
    if (fed_metadata(j->fed, j->p, now, &m, err, sizeof(err)) != 0) {
        j->reason = "provider unavailable";
        return;
    }
    char *payload = NULL;
    size_t n = 0;
    const char *why = "";
    if (fed_verify(j->fed, j->p, &m, j->token, strlen(j->token), ZT_JWS_LOGOUT_TOKEN, now, &payload,
                   &n, &why) != ZT_JWS_OK) {
        j->reason = why;
        return;
    }
    zt_fed_expect x = {
        .issuer = j->p->issuer, .client_id = j->p->client_id, .now = now, .leeway_s = 120};
    j->claims = malloc(sizeof(*j->claims));
    if (j->claims == NULL)
        j->reason = "out of memory";
    else if (zt_fed_logout_claims(payload, n, &x, j->claims, &why) != ZT_FED_OK)
        j->reason = why;
    free(payload);
}

static void answer_error(zt_local_req *r, int status, const char *detail)
{
    r->status = status;
    r->content_type = "application/json";
    r->no_security_headers = true;
    r->log_detail = detail;
    zt_buf_reset(&r->resp_body);
    zt_buf_append_str(&r->resp_body, "{\"error\":\"invalid_request\"}");
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
    zt_local_respond(r);
}

/* The users a logout token names: by sid, the users who signed in with that provider session;
 * by sub, the provider's user. Each has every session ended through the account service (a
 * second factor may have replaced the session the provider's sign-in opened, so ending "that"
 * session would not do). */
typedef struct ended {
    zt_local_req *r;
    char source[ZT_FED_NAME_MAX + 8];
    size_t users;
    int rc;
} ended;

static void end_user(void *ctx, const char *user_id)
{
    ended *e = ctx;
    zt_account_env env = zt_portal_account_env(e->r);
    zt_actor who = {.name = e->source, .type = "System", .request_id = e->r->request_id};
    zt_account_result res;
    int rc = zt_account_revoke_sessions(&env, &who, user_id, &res);
    if (rc == 0)
        e->users++;
    else if (rc != -ENOENT)
        e->rc = rc;
}

static void end_sessions(bcl_job *j, ended *e)
{
    snprintf(e->source, sizeof(e->source), "oidc:%s", j->p->name);
    const char *source = e->source;
    if (j->claims->sid[0] != '\0')
        fed_note_take_sid(j->fed, j->p->name, j->claims->sid, end_user, e);
    if (j->claims->sub[0] != '\0') {
        zt_user u;
        int rc = zt_store_user_get_by_external(e->r->svc->store, source, j->claims->sub, &u);
        if (rc == 0)
            end_user(e, u.id);
        else if (rc != -ENOENT)
            e->rc = rc;
    }
}

static void bcl_done(uv_work_t *w, int status)
{
    bcl_job *j = w->data;
    zt_local_req *r = j->r;
    ended e = {.r = r};
    if (status == 0 && j->reason == NULL &&
        fed_jti_replayed(j->fed, j->p->name, j->claims->jti, zt_portal_now()))
        j->reason = "logout token replayed (jti seen before)";
    if (status != 0 || j->reason != NULL) {
        zt_warn("oidc provider %s: back-channel logout refused: %s", j->p->name,
                j->reason ? j->reason : "cancelled");
        answer_error(r, 400, "back-channel logout refused");
    } else if (end_sessions(j, &e), e.rc != 0) {
        answer_error(r, 503, "back-channel logout: store error");
    } else {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "back-channel logout from provider %s: sessions of %zu user(s) ended", j->p->name,
                 e.users);
        zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                              .activity = ZT_ACT_AUTH_LOGOFF,
                              .success = true,
                              .message = msg,
                              .reason = "oidc.upstream.backchannel_logout"};
        if (!zt_portal_audit(r, &ev)) {
            answer_error(r, 503, "audit log unavailable");
        } else {
            r->status = 200;
            r->content_type = "text/plain";
            r->no_security_headers = true;
            r->log_detail = "back-channel logout";
            zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
            zt_local_respond(r);
        }
    }
    free(j->token);
    free(j->claims);
    free(j);
}

void zt_fed_backchannel(zt_federation *fed, zt_local_req *r)
{
    const char *name = r->path + strlen(ZT_FED_BACKCHANNEL);
    const zt_oidc_provider_cfg *p = NULL;
    for (size_t i = 0; i < r->cfg->n_oidc_providers && p == NULL; i++)
        if (strcmp(r->cfg->oidc_providers[i].name, name) == 0)
            p = &r->cfg->oidc_providers[i];
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    zt_form f;
    memset(&f, 0, sizeof(f));
    size_t n = 0;
    const char *token = NULL;
    if (r->method_name == NULL || strcmp(r->method_name, "POST") != 0 || p == NULL || ct == NULL ||
        !zt_form_content_type_ok(*ct) || zt_form_parse(&f, r->body, r->body_len) != ZT_FORM_OK ||
        (token = zt_form_get(&f, "logout_token", &n)) == NULL || n == 0 || n > ZT_JWS_MAX_TOKEN) {
        zt_form_dispose(&f);
        answer_error(r, 400, "back-channel logout: not a logout token POST");
        return;
    }
    bcl_job *j = calloc(1, sizeof(*j));
    if (j != NULL && (j->token = strndup(token, n)) != NULL) {
        j->r = r;
        j->fed = fed;
        j->p = p;
        j->work.data = j;
    }
    zt_form_dispose(&f);
    if (j == NULL || j->token == NULL ||
        uv_queue_work(r->loop, &j->work, bcl_work, bcl_done) != 0) {
        if (j != NULL)
            free(j->token);
        free(j);
        answer_error(r, 503, "could not queue the back-channel logout");
    }
}

/* ---- RP-initiated logout (OIDC RP-Initiated Logout 1.0) at sign-out ---- */

static int end_session_url(const zt_oidc_provider_cfg *p, const zt_fed_metadata *m,
                           const fed_note *n, const char *return_url, zt_buf *u)
{
    const char *e = m->end_session_endpoint;
    int rc = zt_buf_printf(u, "%s%cclient_id=", e, strchr(e, '?') ? '&' : '?');
    rc = rc ? rc : zt_url_encode(u, p->client_id, strlen(p->client_id), false);
    if (rc == 0 && n->id_token != NULL) {
        rc = zt_buf_append_str(u, "&id_token_hint=");
        rc = rc ? rc : zt_url_encode(u, n->id_token, strlen(n->id_token), false);
    }
    rc = rc ? rc : zt_buf_append_str(u, "&post_logout_redirect_uri=");
    rc = rc ? rc : zt_url_encode(u, return_url, strlen(return_url), false);
    return rc ? rc : zt_buf_cstr(u);
}

int zt_federation_logout_url(void *ctx, const zt_config *cfg, const char *session_hash,
                             const char *user_id, const char *return_url, char *out, size_t cap)
{
    zt_federation *f = ctx;
    fed_note n;
    if (!fed_note_take(f, session_hash, user_id, &n))
        return -ENOENT;
    const zt_oidc_provider_cfg *p = NULL;
    for (size_t i = 0; i < cfg->n_oidc_providers && p == NULL; i++)
        if (strcmp(cfg->oidc_providers[i].name, n.provider) == 0)
            p = &cfg->oidc_providers[i];
    zt_fed_metadata m;
    /* Only what discovery already told: sign-out never waits on the provider. */
    int rc = p != NULL && p->end_session && fed_metadata_cached(f, p, &m) &&
                     m.end_session_endpoint[0] != '\0'
                 ? 0
                 : -ENOENT;
    zt_buf u;
    zt_buf_init(&u, cap > 0 ? cap - 1 : 1);
    rc = rc ? rc : end_session_url(p, &m, &n, return_url, &u);
    if (rc == 0)
        memcpy(out, u.data, u.len + 1);
    zt_buf_dispose(&u);
    free(n.id_token);
    return rc;
}

/* ---- the public keys of private_key_jwt ---- */

void zt_fed_jwks(zt_federation *fed, zt_local_req *r)
{
    const char *name = r->path + strlen(ZT_FED_JWKS);
    const zt_oidc_provider_cfg *p = NULL;
    for (size_t i = 0; i < r->cfg->n_oidc_providers && p == NULL; i++)
        if (strcmp(r->cfg->oidc_providers[i].name, name) == 0)
            p = &r->cfg->oidc_providers[i];
    char err[300];
    zt_keys *keys =
        p != NULL && p->private_key_dir != NULL ? fed_client_keys(fed, p, err, sizeof(err)) : NULL;
    r->no_security_headers = true;
    r->content_type = "application/json";
    zt_buf_reset(&r->resp_body);
    if (keys == NULL || zt_keys_jwks(keys, &r->resp_body) != 0) {
        r->status = 404;
        r->log_detail = "no private_key_jwt keys for that provider";
        zt_buf_reset(&r->resp_body);
        zt_buf_append_str(&r->resp_body, "{\"error\":\"not_found\"}");
    } else {
        r->status = 200;
        zt_buf_append_str(&r->resp_headers, "Cache-Control: max-age=300\r\n");
    }
    zt_local_respond(r);
}
