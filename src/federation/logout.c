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
#include "session/session.h"

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

typedef struct ended {
    zt_sessions *sessions;
    size_t n;
} ended;

static void end_one(void *ctx, const char *hash)
{
    ended *e = ctx;
    if (zt_session_destroy(e->sessions, hash) == 0)
        e->n++;
}

static void bcl_done(uv_work_t *w, int status)
{
    bcl_job *j = w->data;
    zt_local_req *r = j->r;
    if (status != 0 || j->reason != NULL) {
        zt_warn("oidc provider %s: back-channel logout refused: %s", j->p->name,
                j->reason ? j->reason : "cancelled");
        answer_error(r, 400, "back-channel logout refused");
    } else {
        ended e = {.sessions = r->svc->sessions};
        fed_note_take_matching(j->fed, j->p->name, j->claims->sub, j->claims->sid, end_one, &e);
        char msg[160];
        snprintf(msg, sizeof(msg), "back-channel logout from provider %s: %zu session(s) ended",
                 j->p->name, e.n);
        zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                              .activity = ZT_ACT_AUTH_LOGOFF,
                              .success = true,
                              .message = msg,
                              .reason = "oidc.logout.backchannel"};
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
