/* Logout: RP-initiated logout (the end_session endpoint) and back-channel logout. The endpoint
 * ends the ztgate session through the session layer's own path (zt_session_destroy, which bumps
 * the revocation counter); it does not notify anyone itself. Whatever ends a session — this
 * endpoint, the portal's sign-out, an admin or playbook revocation, a disabled user, a risk
 * raised, expiry — the gateway's timer calls zt_idp_sessions_check, which ends the grants of
 * sessions no longer live and queues one logout token per client with a backchannel_logout_uri.
 * One place, every cause. The tokens are signed and POSTed by a few sender threads (each attempt
 * bounded as a whole, no redirects, a few retries; one relying party at a time per sender, so a
 * slow one holds back only its own tokens), never from a loop. A token that cannot be queued is
 * logged and audited. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit/event.h"
#include "core/log.h"
#include "idp/idp.h"
#include "idp/oidc.h"
#include "lib/secure.h"
#include "response/webhook.h"
#include "session/session.h"

#define BCL_QUEUE_MAX 1024
#define BCL_WORKERS 4 /* senders; one relying party occupies at most one of them */
#define BCL_TIMEOUT_MS 5000
#define BCL_ATTEMPTS 3
#define BCL_TOKEN_TTL_S 120
#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

/* ---- the senders ---- */

typedef struct bcl_item {
    struct bcl_item *next;
    char *url;
    char *claims;      /* the logout token's claims, signed by the sender (not on a loop) */
    unsigned alg;      /* the client's id_token_alg */
    const zt_idp *idp; /* its keys; outlives the senders (zt_idp_free stops them first) */
    char *body;        /* logout_token=..., made by the sender */
} bcl_item;

struct zt_idp_bcl {
    pthread_t threads[BCL_WORKERS];
    size_t n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bcl_item *head, *tail;
    size_t queued;
    const char *busy[BCL_WORKERS]; /* the URL each sender is delivering to, NULL = idle */
    bool stop;
};

typedef struct bcl_worker {
    struct zt_idp_bcl *b;
    size_t slot;
} bcl_worker;

static void item_free(bcl_item *it)
{
    if (it == NULL)
        return;
    free(it->url);
    free(it->claims);
    if (it->body != NULL)
        zt_wipe(it->body, strlen(it->body));
    free(it->body);
    free(it);
}

/* Wait ms on the senders' condition; false when stopping. Called with mu held. */
static bool pause_ms(struct zt_idp_bcl *b, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    while (!b->stop && pthread_cond_timedwait(&b->cv, &b->mu, &ts) != ETIMEDOUT)
        ;
    return !b->stop;
}

/* A few attempts, 1 s then 2 s apart (none after the last); any 2xx is success. Each attempt
 * is bounded as a whole (zt_http_post_once), so a receiver that never answers, or answers a
 * byte at a time, costs at most BCL_ATTEMPTS * 2 * BCL_TIMEOUT_MS plus the pauses. */
static void deliver(struct zt_idp_bcl *b, const bcl_item *it)
{
    for (unsigned n = 0; n < BCL_ATTEMPTS; n++) {
        int code = zt_http_post_once(it->url, "application/x-www-form-urlencoded", it->body,
                                     strlen(it->body), BCL_TIMEOUT_MS, NULL);
        if (code >= 200 && code <= 299) {
            zt_info("oidc back-channel logout delivered to %s (%d)", it->url, code);
            return;
        }
        zt_warn("oidc back-channel logout to %s failed (%s %d), attempt %u of %u", it->url,
                code < 0 ? "error" : "status", code, n + 1, BCL_ATTEMPTS);
        if (n + 1 == BCL_ATTEMPTS)
            return;
        pthread_mutex_lock(&b->mu);
        bool go_on = pause_ms(b, 1000u << n);
        pthread_mutex_unlock(&b->mu);
        if (!go_on)
            return;
    }
}

static char *form_body(const char *token, size_t n)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    int rc = zt_buf_append_str(&b, "logout_token=");
    rc = rc ? rc : zt_url_encode(&b, token, n, false);
    rc = rc ? rc : zt_buf_cstr(&b);
    if (rc != 0) {
        zt_buf_dispose(&b);
        return NULL;
    }
    return b.data; /* the buffer's memory, now the caller's */
}

/* Sign the item's logout token and make its form body: RSA signing costs milliseconds, so it
 * is done here, off the event loops. 0 or -errno. */
static int sign_body(bcl_item *it)
{
    zt_buf tok;
    zt_buf_init(&tok, 0);
    int rc = zt_oidc_sign(it->idp, it->alg, "logout+jwt", it->claims, strlen(it->claims), &tok);
    rc = rc ? rc : zt_buf_cstr(&tok);
    if (rc == 0) {
        it->body = form_body(tok.data, tok.len);
        rc = it->body != NULL ? 0 : -ENOMEM;
    }
    zt_buf_dispose(&tok);
    return rc;
}

static bool url_busy(const struct zt_idp_bcl *b, const char *url)
{
    for (size_t i = 0; i < BCL_WORKERS; i++)
        if (b->busy[i] != NULL && strcmp(b->busy[i], url) == 0)
            return true;
    return false;
}

/* The oldest item whose relying party no other sender is busy with, unlinked; NULL when none.
 * Fairness: one slow relying party holds one sender, the others keep delivering. mu held. */
static bcl_item *take(struct zt_idp_bcl *b)
{
    for (bcl_item *it = b->head, *prev = NULL; it != NULL; prev = it, it = it->next) {
        if (url_busy(b, it->url))
            continue;
        if (prev != NULL)
            prev->next = it->next;
        else
            b->head = it->next;
        if (b->tail == it)
            b->tail = prev;
        it->next = NULL;
        b->queued--;
        return it;
    }
    return NULL;
}

static void *bcl_run(void *arg)
{
    bcl_worker *w = arg;
    struct zt_idp_bcl *b = w->b;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        bcl_item *it = take(b);
        if (it == NULL) {
            pthread_cond_wait(&b->cv, &b->mu);
            continue;
        }
        b->busy[w->slot] = it->url;
        pthread_mutex_unlock(&b->mu);
        if (sign_body(it) == 0)
            deliver(b, it);
        else
            zt_error("oidc: a logout token for %s could not be signed", it->url);
        pthread_mutex_lock(&b->mu);
        b->busy[w->slot] = NULL;
        pthread_cond_broadcast(&b->cv); /* that relying party's next token may go now */
        pthread_mutex_unlock(&b->mu);
        item_free(it);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    free(w);
    return NULL;
}

static void bcl_stop(struct zt_idp_bcl *b)
{
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < b->n_threads; i++)
        pthread_join(b->threads[i], NULL);
}

struct zt_idp_bcl *zt_oidc_bcl_new(char *err, size_t errlen)
{
    struct zt_idp_bcl *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    for (size_t i = 0; i < BCL_WORKERS; i++) {
        bcl_worker *w = malloc(sizeof(*w));
        if (w != NULL)
            *w = (bcl_worker){b, i};
        if (w == NULL || pthread_create(&b->threads[i], NULL, bcl_run, w) != 0) {
            free(w);
            snprintf(err, errlen, "cannot start the back-channel logout threads");
            zt_oidc_bcl_free(b);
            return NULL;
        }
        b->n_threads++;
    }
    return b;
}

void zt_oidc_bcl_free(struct zt_idp_bcl *b)
{
    if (b == NULL)
        return;
    bcl_stop(b);
    for (bcl_item *it = b->head, *next; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* Takes url and claims (heap) in any case. */
static bool bcl_queue(struct zt_idp_bcl *b, const zt_idp *idp, unsigned alg, char *url,
                      char *claims)
{
    bcl_item *it = calloc(1, sizeof(*it));
    if (it == NULL || url == NULL || claims == NULL) {
        free(url);
        free(claims);
        free(it);
        return false;
    }
    it->url = url;
    it->claims = claims;
    it->alg = alg;
    it->idp = idp;
    pthread_mutex_lock(&b->mu);
    bool ok = b->queued < BCL_QUEUE_MAX;
    if (ok) {
        if (b->tail != NULL)
            b->tail->next = it;
        else
            b->head = it;
        b->tail = it;
        b->queued++;
        pthread_cond_broadcast(&b->cv); /* senders pausing wait on it too */
    }
    pthread_mutex_unlock(&b->mu);
    if (!ok) {
        zt_warn("oidc back-channel logout to %s dropped: %d tokens already waiting", it->url,
                BCL_QUEUE_MAX);
        item_free(it);
    }
    return ok;
}

/* ---- logout tokens ---- */

/* The claims of a logout token for g (signed later, by a sender). NULL: out of memory. */
static char *logout_claims(const zt_config *cfg, const zt_store_oidc_grant *g, int64_t now)
{
    char jti[33];
    zt_random_hex(jti, 16);
    /* No nonce: a logout token must never pass for an ID token. */
    json_t *o =
        json_pack("{ss,ss,sI,sI,ss,s{s{}},ss,ss}", "iss", cfg->idp.issuer, "aud", g->client_id,
                  "iat", (json_int_t)now, "exp", (json_int_t)(now + BCL_TOKEN_TTL_S), "jti", jti,
                  "events", BCL_EVENT, "sub", g->user_id, "sid", g->sid);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

typedef struct check_ctx {
    zt_idp *idp;
    const zt_config *cfg;
    int64_t now;
    zt_idp_audit_fn audit;
    void *audit_ctx;
} check_ctx;

/* What became of a client's logout token when its grant ended. */
typedef enum bcl_fate { BCL_NONE, BCL_QUEUED, BCL_DROPPED } bcl_fate;

static void audit_ended(check_ctx *c, const zt_store_oidc_grant *g, bcl_fate fate)
{
    if (c->audit == NULL)
        return;
    zt_buf b;
    zt_buf_init(&b, 8192);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, ZT_ACT_AUTH_LOGOFF,
                   fate == BCL_DROPPED ? ZT_SEV_MEDIUM : ZT_SEV_INFO);
    zt_event_status(&ev, fate == BCL_DROPPED ? ZT_STATUS_FAILURE : ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message",
                 fate == BCL_QUEUED ? "oidc session ended: back-channel logout queued"
                 : fate == BCL_DROPPED
                     ? "oidc session ended: refresh tokens revoked; back-channel logout dropped "
                       "(the queue is full or the token could not be made)"
                     : "oidc session ended: refresh tokens revoked");
    zt_event_str(&ev, "user.uid", g->user_id);
    zt_event_str(&ev, "app.name", g->app);
    zt_event_str(&ev, "auth_protocol", "OpenID Connect");
    zt_event_str(&ev, "unmapped.oidc.event", "backchannel_logout");
    zt_event_str(&ev, "unmapped.oidc.client_id", g->client_id);
    zt_event_metadata(&ev, NULL, NULL);
    if (zt_event_end(&ev) == 0)
        c->audit(c->audit_ctx, b.data, b.len);
    zt_buf_dispose(&b);
}

static int on_ended(void *ctx, const zt_store_oidc_grant *g)
{
    check_ctx *c = ctx;
    const zt_app_cfg *app = zt_oidc_client(c->cfg, g->client_id, strlen(g->client_id));
    bool sent = false, wanted = app != NULL && app->oidc.backchannel_logout_uri != NULL;
    if (wanted)
        sent =
            bcl_queue(c->idp->bcl, c->idp, app->oidc.id_token_alg,
                      strdup(app->oidc.backchannel_logout_uri), logout_claims(c->cfg, g, c->now));
    audit_ended(c, g, !wanted ? BCL_NONE : sent ? BCL_QUEUED : BCL_DROPPED);
    return 0;
}

uint64_t zt_idp_sessions_check(zt_idp *idp, const zt_config *cfg, zt_store *st, int64_t now,
                               zt_idp_audit_fn audit, void *audit_ctx)
{
    if (idp == NULL || cfg == NULL)
        return 0;
    check_ctx c = {idp, cfg, now, audit, audit_ctx};
    uint64_t n = 0;
    if (zt_store_oidc_end_orphans(st, now, on_ended, &c, &n) != 0)
        zt_warn("oidc: ending the grants of ended sessions failed: %s", zt_store_errmsg());
    return n;
}

void zt_idp_sweep(zt_idp *idp, zt_store *st, int64_t now)
{
    uint64_t n = 0;
    if (idp != NULL && zt_store_oidc_sweep(st, now, &n) != 0)
        zt_warn("oidc: sweeping expired records failed: %s", zt_store_errmsg());
}

/* ---- RP-initiated logout ---- */

typedef struct logout_req {
    const zt_app_cfg *app;   /* the client, from the hint or client_id */
    const char *post_logout; /* validated against the client's list, or NULL */
    const char *state;
    bool hint_ok;              /* id_token_hint is an ID token we issued */
    zt_store_oidc_grant grant; /* its grant when hint_ok */
} logout_req;

/* Where to go after: the client's registered post-logout URI with state, or our page. The
 * session cookie is cleared only when this browser's session was the one ended. */
static void finish(zt_local_req *r, const logout_req *q, bool ended_mine)
{
    if (ended_mine)
        zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), "", r->https, 0);
    if (q->post_logout == NULL) {
        zt_portal_page(r, 200, OI_LOGOUT_TITLE, OI_SIGNED_OUT, NULL, MSG_NONE);
        return;
    }
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = zt_buf_append_str(&loc, q->post_logout);
    if (rc == 0 && q->state != NULL) {
        rc = zt_buf_append_str(&loc, strchr(q->post_logout, '?') ? "&state=" : "?state=");
        rc = rc ? rc : zt_url_encode(&loc, q->state, strlen(q->state), false);
    }
    rc = rc ? rc : zt_buf_cstr(&loc);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_buf_dispose(&loc);
}

static int destroy(zt_local_req *r, const char *hash)
{
    int rc = zt_session_destroy(r->svc->sessions, hash);
    zt_session_cache_forget(r->sessions, hash);
    return rc == -ENOENT ? 0 : rc;
}

/* End this browser's session (s, when it has one): the only one a logout request ends. A
 * hint naming another session (another browser's, another user's) ends nothing. */
static void end_sessions(zt_local_req *r, const logout_req *q, const zt_portal_sess *s)
{
    int rc = s->valid ? destroy(r, s->id_hash) : 0;
    if (rc != 0) {
        zt_portal_unavailable(r, "could not delete the session");
        return;
    }
    zt_oidc_event e = {.event = "logout",
                       .success = true,
                       .app = q->app ? q->app->name : NULL,
                       .client_id = q->app ? q->app->oidc.client_id : NULL,
                       .user_id = s->valid ? s->user_id : NULL,
                       .email = s->valid ? s->email : NULL,
                       .message = s->valid ? "oidc RP-initiated logout"
                                           : "oidc RP-initiated logout: no session here"};
    if (!zt_oidc_audit(r, &e)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    r->log_detail = "oidc logout";
    finish(r, q, s->valid);
}

/* Unless the hint names this browser's own session the user confirms (a CSRF-protected
 * form): a link alone, or someone else's ID token, must not sign anyone out. */
static void confirm_page(zt_local_req *r, const logout_req *q)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 200;
    int rc = zt_portal_csrf_token(r, ZT_OIDC_LOGOUT, token);
    rc = rc ? rc : zt_html_begin(b, r->lang, OI_LOGOUT_TITLE);
    rc = rc ? rc : zt_html_p(b, r->lang, OI_LOGOUT_CONFIRM, NULL);
    rc = rc ? rc : zt_html_form_begin(b, ZT_OIDC_LOGOUT, token, NULL);
    rc = rc ? rc : zt_html_hidden(b, "zt_confirm", "1");
    if (rc == 0 && q->app != NULL)
        rc = zt_html_hidden(b, "client_id", q->app->oidc.client_id);
    if (rc == 0 && q->post_logout != NULL)
        rc = zt_html_hidden(b, "post_logout_redirect_uri", q->post_logout);
    if (rc == 0 && q->state != NULL)
        rc = zt_html_hidden(b, "state", q->state);
    rc = rc ? rc : zt_html_form_end(b, r->lang, OI_LOGOUT_BUTTON);
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    zt_wipe(token, sizeof(token));
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_local_respond(r);
}

/* The request's client and post-logout URI; false (a 400 page sent) when they do not fit. */
static bool read_logout(zt_local_req *r, const zt_form *f, logout_req *q)
{
    size_t hn = 0, cn = 0, pn = 0;
    const char *hint = zt_form_get(f, "id_token_hint", &hn);
    const char *cid = zt_form_get(f, "client_id", &cn);
    const char *plr = zt_form_get(f, "post_logout_redirect_uri", &pn);
    q->state = zt_form_get(f, "state", NULL);
    if (hint != NULL) {
        unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
        zt_oidc_hash(hint, hn, hash);
        q->hint_ok = zt_store_oidc_id_token_find(r->svc->store, hash, &q->grant) == 0;
    }
    const zt_app_cfg *by_hint =
        q->hint_ok ? zt_oidc_client(r->cfg, q->grant.client_id, strlen(q->grant.client_id)) : NULL;
    const zt_app_cfg *by_id = cid != NULL ? zt_oidc_client(r->cfg, cid, cn) : NULL;
    const char *why = NULL;
    if ((cid != NULL && by_id == NULL) || (by_hint != NULL && by_id != NULL && by_hint != by_id))
        why = "client_id unknown or not the id_token_hint's client";
    q->app = by_hint != NULL ? by_hint : by_id;
    if (why == NULL && plr != NULL &&
        (q->app == NULL || !zt_oidc_post_logout_uri_ok(&q->app->oidc, plr, pn)))
        why = "post_logout_redirect_uri is not registered for this client";
    if (why != NULL) {
        zt_info("request %s: oidc logout refused: %s", r->request_id, why);
        zt_local_respond_page(r, 400, OI_ERROR_TITLE, OI_BAD_REDIRECT_URI, why);
        return false;
    }
    q->post_logout = plr;
    return true;
}

void zt_oidc_logout(zt_idp *idp, zt_local_req *r)
{
    (void)idp;
    if (!zt_portal_method_ok(r, true))
        return;
    zt_form f;
    memset(&f, 0, sizeof(f));
    bool post = zt_portal_is_post(r);
    if (post ? !zt_portal_read_form(r, &f)
             : zt_form_parse(&f, r->query, r->query_len) != ZT_FORM_OK) {
        if (!post)
            zt_local_respond_page(r, 400, OI_ERROR_TITLE, OI_BAD_REQUEST, "malformed logout");
        zt_form_dispose(&f);
        return;
    }
    logout_req q = {0};
    bool confirmed = post && zt_form_get(&f, "zt_confirm", NULL) != NULL;
    if (confirmed && !zt_portal_csrf_ok(r, &f))
        ; /* answered: 403 */
    else if (read_logout(r, &f, &q)) {
        zt_portal_sess s;
        zt_portal_session(r, &s);
        bool own_hint = q.hint_ok && s.valid && strcmp(s.id_hash, q.grant.session_hash) == 0;
        if (own_hint || confirmed)
            end_sessions(r, &q, &s);
        else
            confirm_page(r, &q);
    }
    zt_form_dispose(&f);
}
