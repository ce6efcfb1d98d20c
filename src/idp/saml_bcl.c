/* SAML back-channel single logout (SAML bindings §3.2, SOAP): when a ztgate session ends in any
 * way but an SP's own LogoutRequest (the portal's sign-out, an admin's or a playbook's
 * revocation, the user disabled, expiry), each SP the session signed in to and whose metadata
 * lists a SOAP SingleLogoutService gets a signed LogoutRequest (RSA-SHA256) by a direct TLS
 * POST, and its SOAP LogoutResponse is checked by Lasso. One audit record per SP.
 *
 * Where: the gateway's timer calls zt_idp_saml_sessions_check (main thread), next to the OIDC
 * provider's zt_idp_sessions_check; it takes the ended sessions' rows from the store
 * (store_saml.h) and builds the requests under the Lasso lock. Sending happens on sender
 * threads of their own (SENDERS of them, so an SP that hangs holds one, not the others), each
 * attempt bounded in time, a few attempts for an SP that did not answer. The answer is read
 * back with Lasso under the lock from the logout's dump (the server may have been rebuilt by a
 * reload meanwhile). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lasso/lasso.h>

#include "audit/event.h"
#include "core/log.h"
#include "idp/idp.h"
#include "idp/saml.h"
#include "idp/saml_login.h"
#include "response/webhook.h"
#include "store/store.h"
#include "store/store_saml.h"

#define BCL_SENDERS 4
#define BCL_QUEUE_MAX 1024
#define BCL_TIMEOUT_MS 5000
#define BCL_ATTEMPTS 3
#define BCL_SPS_MAX 32 /* SPs of one session told */
#define BCL_SOAP_ACTION "SOAPAction: \"http://www.oasis-open.org/committees/security\""

typedef struct bcl_item {
    struct bcl_item *next;
    char *url, *body, *dump; /* SOAP endpoint, SOAP envelope, Lasso's logout state */
    char sp[512], app[128], user_id[128];
    unsigned attempts;
    uint64_t not_before_ms; /* a retry waits until then */
} bcl_item;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[BCL_SENDERS];
    size_t n_threads;
    bcl_item *head, *tail;
    size_t queued;
    bool stop;
    zt_idp_audit_fn audit;
    void *audit_ctx;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void item_free(bcl_item *it)
{
    if (it == NULL)
        return;
    free(it->url);
    free(it->body);
    free(it->dump);
    free(it);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* ---- audit ---- */

static void audit_sp(const bcl_item *it, bool ok, const char *reason)
{
    pthread_mutex_lock(&q.mu);
    zt_idp_audit_fn fn = q.audit;
    void *ctx = q.audit_ctx;
    pthread_mutex_unlock(&q.mu);
    if (ok)
        zt_info("saml: back-channel logout: %s confirmed", it->sp);
    else
        zt_warn("saml: back-channel logout: %s not logged out: %s", it->sp, reason);
    if (fn == NULL)
        return;
    zt_buf b;
    zt_buf_init(&b, 8192);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, ZT_ACT_AUTH_LOGOFF,
                   ok ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", "saml.logout.backchannel");
    zt_event_str(&ev, "status_detail", reason);
    zt_event_str(&ev, "auth_protocol", "SAML");
    zt_event_str(&ev, "user.uid", it->user_id[0] ? it->user_id : NULL);
    zt_event_str(&ev, "app.name", it->app[0] ? it->app : NULL);
    zt_event_str(&ev, "service.name", it->app[0] ? it->app : NULL);
    zt_event_str(&ev, "service.uid", it->sp);
    zt_event_metadata(&ev, NULL, NULL);
    if (zt_event_end(&ev) == 0 && fn(ctx, b.data, b.len) != 0)
        zt_error("saml: back-channel logout of %s could not be audited", it->sp);
    zt_buf_dispose(&b);
}

/* ---- the senders ---- */

int zt_saml_bcl_answer(LassoServer *server, const char *logout_dump, const char *answer)
{
    LassoLogout *logout = lasso_logout_new_from_dump(server, logout_dump);
    int rc = LASSO_PROFILE_ERROR_MISSING_REQUEST;
    if (logout != NULL) {
        /* A signature, when there is one, must verify; TLS already names the SP. */
        lasso_profile_set_signature_verify_hint(LASSO_PROFILE(logout),
                                                LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
        zt_saml_lasso_leaks_begin();
        rc = lasso_logout_process_response_msg(logout, (char *)answer);
        zt_saml_lasso_leaks_end();
        lasso_logout_destroy(logout);
    }
    return rc;
}

/* Lasso's verdict on the SP's SOAP answer: 0, or the error. */
static int read_answer(const bcl_item *it, const char *answer)
{
    LassoServer *server = zt_saml_server_lock_current();
    if (server == NULL)
        return LASSO_PROFILE_ERROR_MISSING_SERVER;
    int rc = zt_saml_bcl_answer(server, it->dump, answer);
    zt_saml_server_unlock();
    return rc;
}

/* One attempt. true: done (told, or an answer that says no: not worth a retry). */
static bool attempt(bcl_item *it)
{
    zt_buf answer;
    zt_buf_init(&answer, 256 * 1024);
    it->attempts++;
    int code = zt_http_post_read(it->url, "text/xml; charset=utf-8", BCL_SOAP_ACTION, it->body,
                                 strlen(it->body), BCL_TIMEOUT_MS, NULL, &answer);
    bool done = true;
    if (code == 200 && answer.len > 0) {
        int rc = read_answer(it, answer.data);
        audit_sp(it, rc == 0, rc == 0 ? NULL : zt_saml_strerror(rc));
    } else if (it->attempts < BCL_ATTEMPTS && (code <= 0 || code >= 500)) {
        zt_warn("saml: back-channel logout to %s: %s %d, attempt %u of %u", it->url,
                code <= 0 ? "no answer" : "status", code, it->attempts, BCL_ATTEMPTS);
        done = false;
    } else {
        audit_sp(it, false, code <= 0 ? "the SP did not answer" : "the SP answered an HTTP error");
    }
    zt_buf_dispose(&answer);
    return done;
}

/* Append (lock held). */
static void enqueue_locked(bcl_item *it)
{
    it->next = NULL;
    if (q.tail != NULL)
        q.tail->next = it;
    else
        q.head = it;
    q.tail = it;
    q.queued++;
    pthread_cond_broadcast(&q.cv);
}

/* The first item due, unlinked (lock held); NULL with *wait_ms when only later ones wait. */
static bcl_item *take_due_locked(uint64_t now, uint64_t *wait_ms)
{
    *wait_ms = 0;
    for (bcl_item **pp = &q.head, *prev = NULL; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        bcl_item *it = *pp;
        if (it->not_before_ms > now) {
            uint64_t w = it->not_before_ms - now;
            *wait_ms = *wait_ms == 0 || w < *wait_ms ? w : *wait_ms;
            continue;
        }
        *pp = it->next;
        if (q.tail == it)
            q.tail = prev;
        q.queued--;
        return it;
    }
    return NULL;
}

static void *sender(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&q.mu);
    while (!q.stop) {
        uint64_t wait_ms = 0;
        bcl_item *it = take_due_locked(now_ms(), &wait_ms);
        if (it == NULL) {
            if (wait_ms == 0) {
                pthread_cond_wait(&q.cv, &q.mu);
            } else {
                struct timespec ts;
                uint64_t until = now_ms() + wait_ms;
                ts.tv_sec = (time_t)(until / 1000);
                ts.tv_nsec = (long)(until % 1000) * 1000000;
                pthread_cond_timedwait(&q.cv, &q.mu, &ts);
            }
            continue;
        }
        pthread_mutex_unlock(&q.mu);
        bool done = attempt(it);
        pthread_mutex_lock(&q.mu);
        if (done || q.stop) {
            item_free(it);
        } else {
            it->not_before_ms = now_ms() + 1000u * (1u << (it->attempts - 1)); /* 1 s, 2 s */
            enqueue_locked(it);
        }
    }
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

/* Started at the first back-channel logout (a reload may add the first SAML app). */
static bool senders_started(void)
{
    pthread_mutex_lock(&q.mu);
    bool stopped = q.stop;
    for (; !stopped && q.n_threads < BCL_SENDERS; q.n_threads++)
        if (pthread_create(&q.threads[q.n_threads], NULL, sender, NULL) != 0)
            break;
    bool ok = q.n_threads > 0;
    pthread_mutex_unlock(&q.mu);
    if (!ok)
        zt_error("saml: cannot start the back-channel logout threads");
    return ok;
}

void zt_saml_bcl_stop(void)
{
    pthread_mutex_lock(&q.mu);
    q.stop = true;
    pthread_cond_broadcast(&q.cv);
    size_t n = q.n_threads;
    pthread_mutex_unlock(&q.mu);
    for (size_t i = 0; i < n; i++)
        pthread_join(q.threads[i], NULL);
    pthread_mutex_lock(&q.mu);
    for (bcl_item *it = q.head, *next; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    q.head = q.tail = NULL;
    q.queued = 0;
    q.n_threads = 0;
    q.audit = NULL;
    pthread_mutex_unlock(&q.mu);
}

static void queue_item(bcl_item *it)
{
    pthread_mutex_lock(&q.mu);
    bool ok = !q.stop && q.queued < BCL_QUEUE_MAX;
    if (ok)
        enqueue_locked(it);
    pthread_mutex_unlock(&q.mu);
    if (!ok) {
        audit_sp(it, false, "back-channel logout queue full");
        item_free(it);
    }
}

/* ---- building the LogoutRequests (main thread, under the lock) ---- */

typedef struct ended_ctx {
    const zt_config *cfg;
    bcl_item *out; /* built under the lock, queued after */
    size_t n_sps;
} ended_ctx;

/* The session's SPs, in the order Lasso keeps them. */
static size_t session_sps(LassoServer *server, const char *dump, char **ids, size_t cap)
{
    LassoLogout *logout = lasso_logout_new(server);
    size_t n = 0;
    if (logout == NULL)
        return 0;
    lasso_profile_set_session_from_dump(LASSO_PROFILE(logout), dump);
    char *id;
    while (n < cap && (id = lasso_logout_get_next_providerID(logout)) != NULL)
        ids[n++] = id;
    lasso_logout_destroy(logout);
    return n;
}

int zt_saml_bcl_request(LassoServer *server, const char *session_dump, const char *sp, char **url,
                        char **body, char **logout_dump)
{
    *url = *body = *logout_dump = NULL;
    LassoLogout *logout = lasso_logout_new(server);
    if (logout == NULL)
        return LASSO_PROFILE_ERROR_MISSING_SERVER;
    LassoProfile *prof = LASSO_PROFILE(logout);
    int rc = lasso_profile_set_session_from_dump(prof, session_dump);
    rc = rc ? rc : lasso_logout_init_request(logout, (char *)sp, LASSO_HTTP_METHOD_SOAP);
    if (rc == 0) {
        lasso_profile_set_signature_hint(prof, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
        rc = lasso_logout_build_request_msg(logout);
    }
    if (rc == 0 && (prof->msg_url == NULL || prof->msg_body == NULL))
        rc = LASSO_PROFILE_ERROR_BUILDING_MESSAGE_FAILED;
    if (rc == 0 && strncmp(prof->msg_url, "https://", 8) != 0)
        rc = ZT_SAML_BCL_NOT_HTTPS; /* the request must reach the SP it names, and only it */
    if (rc == 0) {
        char *d = lasso_logout_dump(logout);
        *url = strdup(prof->msg_url);
        *body = strdup(prof->msg_body);
        *logout_dump = d != NULL ? strdup(d) : NULL;
        g_free(d);
        if (*url == NULL || *body == NULL || *logout_dump == NULL)
            rc = LASSO_PROFILE_ERROR_BUILDING_MESSAGE_FAILED;
    }
    lasso_logout_destroy(logout);
    if (rc != 0) {
        free(*url);
        free(*body);
        free(*logout_dump);
        *url = *body = *logout_dump = NULL;
    }
    return rc;
}

static void on_ended(void *arg, const zt_store_saml_ended *e)
{
    ended_ctx *c = arg;
    LassoServer *server = zt_saml_server_lock(c->cfg);
    if (server == NULL) {
        zt_warn("saml: the SPs of an ended session cannot be told: no identity provider");
        return;
    }
    char *ids[BCL_SPS_MAX];
    size_t n = session_sps(server, e->dump, ids, BCL_SPS_MAX);
    for (size_t i = 0; i < n; i++) {
        bcl_item *it = calloc(1, sizeof(*it));
        if (it == NULL)
            break;
        copy_str(it->sp, sizeof(it->sp), ids[i]);
        copy_str(it->user_id, sizeof(it->user_id), e->user_id);
        const zt_app_cfg *app = zt_saml_app_of(c->cfg, ids[i]);
        copy_str(it->app, sizeof(it->app), app != NULL ? app->name : NULL);
        int rc = zt_saml_bcl_request(server, e->dump, ids[i], &it->url, &it->body, &it->dump);
        if (rc != 0) { /* kept apart: audited once the lock is released */
            it->body = strdup(rc == LASSO_PROFILE_ERROR_UNSUPPORTED_PROFILE
                                  ? "the SP's metadata has no SOAP SingleLogoutService"
                              : rc == ZT_SAML_BCL_NOT_HTTPS
                                  ? "the SP's SOAP SingleLogoutService is not https"
                                  : zt_saml_strerror(rc));
        }
        it->next = c->out;
        c->out = it;
        c->n_sps++;
    }
    for (size_t i = 0; i < n; i++)
        g_free(ids[i]);
    zt_saml_server_unlock();
}

static bool has_saml_apps(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML)
            return true;
    return false;
}

uint64_t zt_idp_saml_sessions_check(const zt_config *cfg, zt_store *st, int64_t now,
                                    zt_idp_audit_fn audit, void *audit_ctx)
{
    if (cfg == NULL || !has_saml_apps(cfg) || !senders_started())
        return 0;
    pthread_mutex_lock(&q.mu);
    q.audit = audit;
    q.audit_ctx = audit_ctx;
    pthread_mutex_unlock(&q.mu);
    ended_ctx c = {.cfg = cfg};
    uint64_t n = 0;
    if (zt_store_saml_take_ended(st, now, on_ended, &c, &n) != 0)
        zt_warn("saml: taking the ended sessions failed: %s", zt_store_errmsg());
    while (c.out != NULL) {
        bcl_item *it = c.out;
        c.out = it->next;
        if (it->url == NULL) { /* this SP cannot be told by back channel */
            audit_sp(it, false, it->body ? it->body : "out of memory");
            item_free(it);
        } else {
            queue_item(it);
        }
    }
    if (c.n_sps > 0)
        zt_info("saml: %" PRIu64 " ended session(s): %zu SP(s) to tell", n, c.n_sps);
    return n;
}
