/* The portal's entry point and the request glue every flow shares: dispatch by path, sessions,
 * CSRF, rd handling, the final redirect (with the one-time code to another app host), audit
 * events and the small pages (account, callback, JWKS). Fails closed: a store or audit failure
 * answers 503, never a page that pretends to have signed someone in. */
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "identity/keys.h"
#include "identity/secretbox.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "access/access.h"
#include "http/api.h"
#include "http/pages.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/handler.h"
#include "response/incident.h"
#include "risk/risk.h"
#include "store/store.h"
#include "store/store_webauthn.h"

int64_t zt_portal_now(void)
{
    return zt_wall_us() / 1000000;
}

const zt_span *zt_portal_cookies(const zt_local_req *r)
{
    return zt_local_header_get(r, "Cookie");
}

void zt_portal_user_agent(const zt_local_req *r, char *out, size_t cap)
{
    const zt_span *ua = zt_local_header_get(r, "User-Agent");
    size_t n = 0;
    if (ua != NULL)
        for (; n < ua->n && n + 1 < cap && n < ZT_STORE_UA_MAX; n++)
            out[n] = (ua->p[n] >= 0x20 && ua->p[n] < 0x7f) ? ua->p[n] : '?';
    out[n] = '\0';
}

void zt_portal_session(zt_local_req *r, zt_portal_sess *out)
{
    memset(out, 0, sizeof(*out));
    const zt_session_info *info = NULL;
    zt_session_status st = zt_session_lookup(r->sessions, zt_portal_cookies(r), r->https, r->host,
                                             zt_portal_now(), &info);
    if (st != ZT_SESSION_VALID || info == NULL)
        return;
    out->valid = true;
    memcpy(out->id_hash, info->id_hash, sizeof(out->id_hash));
    memcpy(out->user_id, info->user_id, sizeof(out->user_id));
    memcpy(out->email, info->email, sizeof(out->email));
    out->auth_time = info->auth_time;
    out->mfa_time = info->mfa_time;
    memcpy(out->mfa_method, info->mfa_method, sizeof(out->mfa_method));
    out->mfa_pending = info->mfa_pending;
    out->user_risk = info->user_risk;
    out->sign_in_risk = info->sign_in_risk;
    out->amr = info->amr;
    out->has_passkey_aaguid = info->has_passkey_aaguid;
    memcpy(out->passkey_aaguid, info->passkey_aaguid, sizeof(out->passkey_aaguid));
}

bool zt_portal_sess_is_tap(const zt_portal_sess *s)
{
    return s->valid && s->mfa_pending && s->mfa_time == 0 &&
           strcmp(s->mfa_method, ZT_SESSION_PURPOSE_TAP) == 0;
}

/* amr says a passkey was used at some point; the factor recorded last (mfa_method "hwk"/"swk",
 * set by a passkey sign-in or step-up) and its time (mfa_time) say it was just now. */
bool zt_portal_sess_passkey_fresh(const zt_portal_sess *s, int64_t now)
{
    bool passkey_last = strcmp(s->mfa_method, "hwk") == 0 || strcmp(s->mfa_method, "swk") == 0;
    return s->valid && zt_amr_phishing_resistant(s->amr) && passkey_last && s->mfa_time > 0 &&
           now - s->mfa_time <= ZT_PORTAL_PASSKEY_FRESH_S;
}

bool zt_portal_is_post(const zt_local_req *r)
{
    return r->method == HTTP_POST;
}

bool zt_portal_method_ok(zt_local_req *r, bool post_ok)
{
    if (r->method == HTTP_GET || r->method == HTTP_HEAD || (post_ok && r->method == HTTP_POST))
        return true;
    zt_buf_printf(&r->resp_headers, "Allow: %s\r\n", post_ok ? "GET, HEAD, POST" : "GET, HEAD");
    zt_portal_fail(r, 405, PM_TITLE_METHOD, PM_BODY_METHOD, "method not allowed");
    return false;
}

/* ---- pages ---- */

/* A refusal to a client that asked for JSON: the gateway's JSON refusal shape. */
static bool portal_json_refusal(zt_local_req *r, int status, zt_msg title, zt_msg body)
{
    if (status < 400 || !zt_page_asks_json(zt_local_header_get(r, "Accept"),
                                           zt_local_header_get(r, "Sec-Fetch-Mode")))
        return false;
    zt_page pg = {.status = status,
                  .title = title,
                  .body = body,
                  .detail = r->log_detail,
                  .request_id = r->request_id,
                  .lang = r->lang};
    zt_buf_reset(&r->resp_body);
    if (zt_page_render_json(&r->resp_body, &pg) != 0)
        return false;
    r->status = status;
    r->content_type = "application/json";
    zt_local_respond(r);
    return true;
}

void zt_portal_page(zt_local_req *r, int status, zt_msg title, zt_msg body, const char *href,
                    zt_msg link)
{
    if (portal_json_refusal(r, status, title, body))
        return;
    r->status = status;
    zt_buf_reset(&r->resp_body);
    int rc = zt_html_begin(&r->resp_body, r->lang, title);
    if (rc == 0 && body != MSG_NONE)
        rc = zt_html_p(&r->resp_body, r->lang, body, NULL);
    if (rc == 0 && href != NULL)
        rc = zt_html_link(&r->resp_body, r->lang, href, link);
    rc = rc ? rc : zt_html_end(&r->resp_body, r->lang, status >= 400 ? r->request_id : NULL);
    if (rc != 0) {
        zt_local_respond_page(r, 500, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY, NULL);
        return;
    }
    zt_local_respond(r);
}

void zt_portal_fail(zt_local_req *r, int status, zt_msg title, zt_msg body, const char *log_detail)
{
    r->log_detail = log_detail;
    zt_portal_page(r, status, title, body, NULL, MSG_NONE);
}

void zt_portal_unavailable(zt_local_req *r, const char *log_detail)
{
    /* A clustered gateway that knows its database is unreachable says so (docs/CLUSTER.md). */
    if (!zt_sessions_store_reachable(r->svc->sessions))
        zt_portal_database_down(r);
    else
        zt_portal_fail(r, 503, PM_TITLE_UNAVAILABLE, PM_BODY_UNAVAILABLE, log_detail);
}

void zt_portal_database_down(zt_local_req *r)
{
    zt_portal_fail(r, 503, PM_TITLE_DATABASE_DOWN, PM_BODY_DATABASE_DOWN, "database unreachable");
}

void zt_portal_redirect(zt_local_req *r, const char *location)
{
    r->status = 303;
    zt_buf_reset(&r->resp_body);
    zt_buf_printf(&r->resp_headers, "Location: %s\r\n", location);
    zt_local_respond(r);
}

void zt_portal_redirect_with_rd(zt_local_req *r, const char *path, const char *rd)
{
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = zt_buf_append_str(&loc, path);
    if (rc == 0 && rd != NULL && rd[0] != '\0') {
        rc = zt_buf_append_str(&loc, "?rd=");
        rc = rc ? rc : zt_url_encode(&loc, rd, strlen(rd), false);
    }
    rc = rc ? rc : zt_buf_cstr(&loc);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_buf_dispose(&loc);
}

/* ---- CSRF ---- */

/* What a CSRF cookie is bound to: nothing more over HTTPS (__Host- cannot be planted), the
 * client IP over plain HTTP (a planted cookie comes from the planter's own visit). */
static const char *csrf_bind(const zt_local_req *r)
{
    return r->https ? "" : r->ip;
}

/* The browser's CSRF cookie, when it is one this gateway issued for this binding. */
static bool csrf_cookie(const zt_local_req *r, zt_span *v)
{
    unsigned char key[ZT_CSRF_KEY_LEN];
    if (!zt_cookie_find(zt_portal_cookies(r), r->https ? ZT_CSRF_COOKIE_HTTPS : ZT_CSRF_COOKIE_HTTP,
                        v))
        return false;
    zt_csrf_key(r->svc->secrets, key);
    bool ok = zt_csrf_cookie_valid(key, csrf_bind(r), v->p, v->n);
    zt_wipe(key, sizeof(key));
    return ok;
}

int zt_portal_csrf_token(zt_local_req *r, const char *path, char token[ZT_CSRF_TOKEN_LEN + 1])
{
    char fresh[ZT_CSRF_COOKIE_LEN + 1];
    zt_span v;
    if (!csrf_cookie(r, &v)) {
        unsigned char key[ZT_CSRF_KEY_LEN];
        zt_csrf_key(r->svc->secrets, key);
        zt_csrf_cookie_new(key, csrf_bind(r), fresh);
        zt_wipe(key, sizeof(key));
        int rc = zt_csrf_cookie_header(&r->resp_headers, fresh, r->https);
        if (rc != 0)
            return rc;
        v = (zt_span){fresh, ZT_CSRF_COOKIE_LEN};
    }
    unsigned char key[ZT_CSRF_KEY_LEN];
    zt_csrf_key(r->svc->secrets, key);
    zt_csrf_token(key, v.p, v.n, path, token);
    zt_wipe(key, sizeof(key));
    zt_wipe(fresh, sizeof(fresh));
    return 0;
}

/* Whether the browser says this form comes from a page of this very origin. Pages send
 * Referrer-Policy: same-origin, so browsers name their origin in a same-origin form post.
 * - Sec-Fetch-Site (sent on HTTPS only) is the browser's own verdict: "same-origin", or "none"
 *   for a post the person started (a reload), passes; "same-site" and "cross-site" never do.
 * - Origin, when sent, must be this scheme, host and port. "null" (an opaque origin, or a page
 *   under a stricter referrer policy, e.g. an extension's) passes only together with
 *   Sec-Fetch-Site: same-origin: a sandboxed iframe or a data: URL is marked cross-site, and
 *   over plain HTTP nothing tells them apart from our page, so there "null" is refused.
 * - No header at all (an old browser, a script): the CSRF token decides. */
static bool origin_ok(const zt_local_req *r)
{
    const zt_span *site = zt_local_header_get(r, "Sec-Fetch-Site");
    bool same_origin = site != NULL && zt_span_ieq_cstr(zt_span_trim(*site), "same-origin");
    if (site != NULL && !same_origin && !zt_span_ieq_cstr(zt_span_trim(*site), "none"))
        return false;
    const zt_span *o = zt_local_header_get(r, "Origin");
    if (o == NULL)
        return true;
    zt_span v = zt_span_trim(*o);
    if (zt_span_eq(v, ZT_SPAN_LIT("null")))
        return same_origin;
    const char *scheme = r->https ? "https://" : "http://";
    size_t sl = strlen(scheme), hl = strlen(r->host_port);
    return v.n == sl + hl && zt_span_istarts(v, scheme) &&
           zt_span_ieq((zt_span){v.p + sl, hl}, (zt_span){r->host_port, hl});
}

bool zt_portal_csrf_ok(zt_local_req *r, const zt_form *form)
{
    zt_span cookie;
    size_t tlen = 0;
    const char *token = zt_form_get(form, "csrf_token", &tlen);
    const char *why = NULL;
    if (!origin_ok(r)) {
        why = "cross-origin form post";
    } else if (!csrf_cookie(r, &cookie)) {
        why = "missing CSRF cookie";
    } else if (token == NULL) {
        why = "missing CSRF token";
    } else {
        unsigned char key[ZT_CSRF_KEY_LEN];
        zt_csrf_key(r->svc->secrets, key);
        bool ok = zt_csrf_check(key, csrf_bind(r), cookie.p, cookie.n, r->path, token, tlen);
        zt_wipe(key, sizeof(key));
        if (!ok)
            why = "bad CSRF token";
    }
    if (why == NULL)
        return true;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = zt_form_get(form, "username", NULL),
                          .message = "portal form refused",
                          .reason = "bad CSRF"};
    if (!zt_portal_audit(r, &ev)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return false;
    }
    zt_portal_fail(r, 403, PM_TITLE_FORBIDDEN, PM_BODY_CSRF, why);
    return false;
}

/* ---- forms and rd ---- */

bool zt_portal_read_form(zt_local_req *r, zt_form *form)
{
    memset(form, 0, sizeof(*form));
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    if (ct == NULL || !zt_form_content_type_ok(*ct)) {
        zt_portal_fail(r, 415, PM_TITLE_UNSUPPORTED, PM_BODY_UNSUPPORTED, "form content type");
        return false;
    }
    zt_form_err fe = zt_form_parse(form, r->body, r->body_len);
    if (fe == ZT_FORM_E_NOMEM) {
        zt_portal_unavailable(r, "out of memory");
        return false;
    }
    if (fe != ZT_FORM_OK) {
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "malformed form");
        return false;
    }
    return true;
}

/* The port of this request's Host header, else the scheme's default. */
static unsigned request_port(const zt_local_req *r)
{
    const char *colon = strrchr(r->host_port, ':');
    unsigned long long port = 0;
    if (colon == NULL || strchr(colon, ']') != NULL ||
        !zt_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) || port == 0)
        return r->https ? 443 : 80;
    return (unsigned)port;
}

static unsigned listener_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

/* The schemes and ports an app host is served on: every listener, and the port this browser
 * reached the gateway on (a port forward may put the gateway on another port than it listens). */
static size_t served_ports(const zt_local_req *r, zt_rd_port *ports)
{
    size_t n = 0;
    ports[n++] = (zt_rd_port){r->https, request_port(r)};
    for (size_t i = 0; i < r->cfg->n_listeners; i++) {
        unsigned port = listener_port(&r->cfg->listeners[i].addr);
        if (port != 0)
            ports[n++] = (zt_rd_port){r->cfg->listeners[i].tls, port};
    }
    return n;
}

/* "scheme://host:port", the port always written: what a sign-in code is bound to. */
static int origin_text(bool https, const char *host, unsigned port, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s://%s:%u", https ? "https" : "http", host, port);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static size_t rd_policy(const zt_local_req *r, const char **hosts, size_t cap, zt_rd_port *ports,
                        zt_rd_policy *pol)
{
    size_t n = 0;
    const char *portal = r->cfg->auth.portal_host;
    if (portal == NULL) {
        hosts[n++] = r->host; /* every host signs in for itself */
    } else {
        for (size_t i = 0; i < r->cfg->n_apps && n < cap; i++)
            if (r->cfg->apps[i].host != NULL)
                hosts[n++] = r->cfg->apps[i].host;
    }
    *pol = (zt_rd_policy){.hosts = hosts,
                          .n_hosts = n,
                          .portal_host = portal,
                          .ports = ports,
                          .n_ports = served_ports(r, ports),
                          .https_only = r->https};
    return n;
}

static bool rd_target(const zt_local_req *r, const char *rd, size_t n, zt_rd *out)
{
    size_t cap = r->cfg->n_apps + 1;
    const char **hosts = calloc(cap, sizeof(*hosts));
    zt_rd_port *ports = calloc(r->cfg->n_listeners + 1, sizeof(*ports));
    bool ok = false;
    if (hosts != NULL && ports != NULL) {
        zt_rd_policy pol;
        rd_policy(r, hosts, cap, ports, &pol);
        ok = zt_rd_check(rd, n, &pol, out);
    }
    free(ports);
    free(hosts);
    return ok;
}

void zt_portal_rd(zt_local_req *r, const zt_form *form, char out[ZT_RD_MAX + 1])
{
    out[0] = '\0';
    size_t n = 0;
    const char *rd = zt_form_get(form, "rd", &n);
    zt_rd *t = malloc(sizeof(*t));
    if (rd != NULL && t != NULL && rd_target(r, rd, n, t))
        memcpy(out, t->url, strlen(t->url) + 1);
    free(t);
}

/* ---- the final redirect ---- */

static int callback_url(zt_local_req *r, const char *id_hash, const zt_rd *t, zt_buf *loc)
{
    char code[256], origin[300];
    /* The code is bound to the origin it is sent to: redeemed anywhere else it fails. */
    int rc = origin_text(t->https, t->host, t->port, origin, sizeof(origin));
    rc = rc ? rc
            : zt_session_code_issue(r->svc->sessions, id_hash, origin, zt_portal_now(), code,
                                    sizeof(code));
    if (rc != 0)
        return rc;
    rc = zt_buf_printf(loc, "%s://%s" ZT_PORTAL_CALLBACK "?code=", t->https ? "https" : "http",
                       t->authority);
    rc = rc ? rc : zt_url_encode(loc, code, strlen(code), false);
    rc = rc ? rc : zt_buf_append_str(loc, "&rd=");
    rc = rc ? rc : zt_url_encode(loc, t->path_query, strlen(t->path_query), true);
    zt_wipe(code, sizeof(code));
    return rc;
}

void zt_portal_finish(zt_local_req *r, const char *id_hash, const char *rd)
{
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = zt_portal_next_url(r, id_hash, rd, &loc);
    if (rc != 0)
        zt_portal_unavailable(r, "could not build the redirect");
    else
        zt_portal_redirect(r, loc.data);
    zt_wipe(loc.data, loc.cap);
    zt_buf_dispose(&loc);
}

int zt_portal_next_url(zt_local_req *r, const char *id_hash, const char *rd, zt_buf *loc)
{
    zt_rd *t = malloc(sizeof(*t));
    int rc = 0;
    if (t == NULL) {
        rc = -ENOMEM;
    } else if (rd == NULL || rd[0] == '\0' || !rd_target(r, rd, strlen(rd), t)) {
        rc = zt_buf_append_str(loc, ZT_PORTAL_HOME);
    } else if (!t->absolute) {
        rc = zt_buf_append_str(loc, t->path_query);
    } else if (strcmp(t->host, r->host) == 0) {
        rc = zt_buf_append_str(loc, t->url);
    } else if (r->cfg->auth.portal_host != NULL && strcmp(r->host, r->cfg->auth.portal_host) == 0) {
        rc = callback_url(r, id_hash, t, loc);
    } else {
        rc = zt_buf_append_str(loc, ZT_PORTAL_HOME);
    }
    rc = rc ? rc : zt_buf_cstr(loc);
    free(t);
    return rc;
}

int zt_portal_origin(const zt_local_req *r, const char *host, zt_buf *out)
{
    /* Same scheme and port as this request's Host header. */
    const char *hp = r->host_port;
    const char *colon = strrchr(hp, ':');
    const char *port = (colon != NULL && strchr(colon, ']') == NULL) ? colon : "";
    for (size_t i = 1; port[0] != '\0' && port[i] != '\0'; i++)
        if (port[i] < '0' || port[i] > '9')
            port = "";
    return zt_buf_printf(out, "%s://%s%s", r->https ? "https" : "http", host, port);
}

bool zt_portal_go_central(zt_local_req *r)
{
    const char *portal = r->cfg->auth.portal_host;
    if (portal == NULL || strcmp(portal, r->host) == 0)
        return false;
    zt_buf loc;
    zt_buf_init(&loc, 0);
    int rc = zt_portal_origin(r, portal, &loc);
    rc = rc ? rc : zt_buf_append_str(&loc, r->path);
    /* The query is forwarded only when it is plain printable ASCII. */
    bool q_ok = r->query_len > 0;
    for (size_t i = 0; i < r->query_len && q_ok; i++)
        q_ok = r->query[i] > 0x20 && r->query[i] < 0x7f;
    if (rc == 0 && q_ok)
        rc = zt_buf_printf(&loc, "?%s", r->query);
    rc = rc ? rc : zt_buf_cstr(&loc);
    if (rc != 0)
        zt_portal_unavailable(r, "out of memory");
    else
        zt_portal_redirect(r, loc.data);
    zt_buf_dispose(&loc);
    return true;
}

/* ---- holding an answer (brute-force delays) ---- */

typedef struct hold {
    uv_timer_t timer;
    zt_local_req *r;
    void (*fn)(void *ctx);
    void *ctx;
} hold;

static void hold_closed(uv_handle_t *h)
{
    free(h->data);
}

static void hold_fire(uv_timer_t *t)
{
    hold *h = t->data;
    void (*fn)(void *) = h->fn;
    void *ctx = h->ctx;
    h->r->on_cancel = NULL;
    uv_close((uv_handle_t *)&h->timer, hold_closed);
    fn(ctx);
}

/* The client left (or the gateway is stopping) during the delay: finish now, so a stopping
 * loop does not wait out the delay. fn sees the request cancelled and only cleans up. */
static void hold_cancel(zt_local_req *r, void *arg)
{
    hold *h = arg;
    (void)r;
    uv_timer_stop(&h->timer);
    hold_fire(&h->timer);
}

int zt_portal_hold(zt_local_req *r, uint64_t ms, void (*fn)(void *ctx), void *ctx)
{
    if (ms == 0) {
        fn(ctx);
        return 0;
    }
    hold *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    h->fn = fn;
    h->ctx = ctx;
    int rc = uv_timer_init(r->loop, &h->timer);
    if (rc != 0) {
        free(h);
        return rc;
    }
    h->timer.data = h;
    h->r = r;
    rc = uv_timer_start(&h->timer, hold_fire, ms, 0);
    if (rc != 0) {
        uv_close((uv_handle_t *)&h->timer, hold_closed);
        return rc;
    }
    r->on_cancel = hold_cancel;
    r->on_cancel_arg = h;
    return 0;
}

/* ---- audit ---- */

bool zt_portal_audit(zt_local_req *r, const zt_portal_event *e)
{
    zt_buf b;
    zt_buf_init(&b, 16 * 1024);
    zt_event ev;
    zt_event_begin(&ev, &b, e->cls, e->activity, e->success ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, e->success ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", e->message);
    zt_event_str(&ev, "status_detail", e->reason);
    zt_event_str(&ev, "user.email_addr", e->email);
    zt_event_str(&ev, "user.uid", e->user_id);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    zt_event_str(&ev, "dst_endpoint.hostname", r->host);
    zt_event_str(&ev, "http_request.url.path", r->path);
    if (e->factor != NULL) {
        /* A Temporary Access Pass is one factor, like a password. */
        zt_event_bool(&ev, "is_mfa",
                      strcmp(e->factor, "password") != 0 && strcmp(e->factor, "tap") != 0);
        zt_event_arr_begin(&ev, "auth_factors");
        zt_event_obj_begin(&ev, NULL);
        zt_event_str(&ev, "factor_type", e->factor);
        zt_event_close(&ev);
        zt_event_close(&ev);
    }
    zt_event_metadata(&ev, r->request_id, NULL);
    bool ok;
    if (zt_event_end(&ev) != 0)
        ok = r->svc->audit_fail_open;
    else
        ok = zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}

zt_account_env zt_portal_account_env(zt_local_req *r)
{
    return (zt_account_env){.store = r->svc->store,
                            .state_dir = r->svc->state_dir,
                            .audit = {.write = zt_api_audit_sink, .ctx = r}};
}

void zt_portal_actor(zt_local_req *r, const char *email, zt_actor *who)
{
    *who = (zt_actor){.name = email, .type = "User", .request_id = r->request_id};
}

static const char *risk_level_text(int level)
{
    static const char *const names[] = {"Info", "Low", "Medium", "High"};
    return level >= 0 && level <= 3 ? names[level] : "Other";
}

bool zt_portal_audit_finding(zt_local_req *r, const zt_portal_finding *f)
{
    static const zt_event_severity sev[] = {ZT_SEV_INFO, ZT_SEV_LOW, ZT_SEV_MEDIUM, ZT_SEV_HIGH};
    int level = f->level >= 0 && f->level <= 3 ? f->level : 0;
    zt_buf b;
    zt_buf_init(&b, 16 * 1024);
    zt_event ev;
    char uid[32] = "";
    if (f->id > 0)
        snprintf(uid, sizeof(uid), "%lld", (long long)f->id);
    zt_event_begin(&ev, &b, ZT_EV_DETECTION_FINDING, f->activity,
                   f->activity == ZT_ACT_FINDING_CREATE ? sev[level] : ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", f->message);
    zt_event_str(&ev, "finding_info.title", f->title);
    zt_event_str(&ev, "finding_info.uid", uid[0] ? uid : NULL);
    if (f->type != NULL) {
        zt_event_arr_begin(&ev, "finding_info.types");
        zt_event_str(&ev, NULL, f->type);
        if (f->entra != NULL)
            zt_event_str(&ev, NULL, f->entra);
        zt_event_close(&ev);
    }
    zt_event_str(&ev, "finding_info.desc", f->evidence);
    zt_event_int(&ev, "risk_level_id", level);
    zt_event_str(&ev, "risk_level", risk_level_text(level));
    zt_event_str(&ev, "user.email_addr", f->email);
    zt_event_str(&ev, "user.uid", f->user_id);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    zt_event_str(&ev, "dst_endpoint.hostname", r->host);
    zt_event_str(&ev, "http_request.url.path", r->path);
    zt_event_str(&ev, "unmapped.risk_detail", f->detail);
    if (f->n > 0)
        zt_event_uint(&ev, "unmapped.detections_changed", f->n);
    zt_event_metadata(&ev, r->request_id, NULL);
    bool ok;
    if (zt_event_end(&ev) != 0)
        ok = r->svc->audit_fail_open;
    else
        ok = zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}

bool zt_portal_audit_detections(zt_local_req *r, const zt_user *u, const zt_risk_assessment *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const zt_risk_detection *d = &a->det[i];
        zt_portal_finding f = {.activity = ZT_ACT_FINDING_CREATE,
                               .title = zt_risk_event_name(ZT_RISK_EV_DETECTED),
                               .type = zt_risk_type_name(d->type),
                               .entra = zt_risk_type_entra(d->type),
                               .level = (int)d->level,
                               .evidence = d->evidence,
                               .id = d->id,
                               .email = u->email,
                               .user_id = u->id,
                               .message = zt_risk_type_is_user(d->type)
                                              ? "user risk detected at sign-in"
                                              : "sign-in risk detected"};
        if (!zt_portal_audit_finding(r, &f))
            return false;
        zt_metric_detection(f.type);
        zt_portal_signal(r, ZT_SIGNAL_DETECTION, f.type, (int)d->level, u->id, u->email, f.message,
                         d->evidence, false);
    }
    return true;
}

const struct sockaddr *zt_portal_client_sa(const zt_local_req *r)
{
    const struct sockaddr *sa = (const struct sockaddr *)&r->client_addr;
    return sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ? sa : NULL;
}

void zt_portal_signal(zt_local_req *r, int kind, const char *type, int severity,
                      const char *user_id, const char *email, const char *summary,
                      const char *evidence, bool resolves)
{
    if (r->svc->response == NULL || user_id == NULL)
        return;
    zt_signal s = {.kind = (zt_signal_kind)kind,
                   .type = type,
                   .severity = (zt_risk)severity,
                   .user_id = user_id,
                   .email = email,
                   .device_id = r->device_id[0] ? r->device_id : NULL,
                   .summary = summary,
                   .evidence = evidence,
                   .request_id = r->request_id,
                   .resolves = resolves,
                   .now = zt_portal_now()};
    zt_response_result res;
    int rc = zt_response_signal(r->svc->response, &s, &res);
    if (rc != 0)
        zt_error("request %s: incident response for %s failed: %s", r->request_id, type,
                 strerror(-rc));
}

bool zt_portal_risk_event(zt_local_req *r, const zt_risk_event *ev, const char *email)
{
    if (ev->reload_sessions) {
        int rc = zt_revocation_bump(r->svc->state_dir);
        if (rc != 0)
            zt_error("request %s: cannot bump the revocation counter: %s", r->request_id,
                     strerror(-rc));
    }
    if (ev->n == 0 && ev->detection_id == 0)
        return true;
    zt_portal_finding f = {.activity = ev->kind == ZT_RISK_EV_DETECTED ? ZT_ACT_FINDING_CREATE
                                       : ev->kind == ZT_RISK_EV_CONFIRMED_COMPROMISED
                                           ? ZT_ACT_FINDING_UPDATE
                                           : ZT_ACT_FINDING_CLOSE,
                           .title = zt_risk_event_name(ev->kind),
                           .id = ev->detection_id,
                           .email = email,
                           .user_id = ev->user_id[0] ? ev->user_id : NULL,
                           .detail = ev->detail[0] ? ev->detail : NULL,
                           .n = ev->n,
                           .message = zt_risk_event_name(ev->kind)};
    return zt_portal_audit_finding(r, &f);
}

void zt_portal_account_key(const char *name, char out[256])
{
    size_t i = 0;
    for (; name != NULL && name[i] != '\0' && i < 254; i++)
        out[i] = zt_ascii_lower(name[i]);
    out[i] = '\0';
}

/* ---- small pages ---- */

/* High user risk (compromised credentials, or confirmed by an admin): the account page leads
 * with the fix, a secure password change, right under the title. */
static int risk_notice(zt_local_req *r)
{
    zt_buf *b = &r->resp_body;
    const char *h1 = zt_buf_cstr(b) == 0 ? strstr(b->data, "</h1>") : NULL;
    if (h1 == NULL)
        return -ENOMEM;
    size_t at = (size_t)(h1 - b->data) + 5;
    zt_buf out;
    zt_buf_init(&out, b->len + 512);
    int rc = zt_buf_append(&out, b->data, at);
    rc = rc ? rc : zt_html_notice(&out, r->lang, PM_RISK_ACCOUNT, true);
    rc = rc ? rc : zt_html_link(&out, r->lang, ZT_PORTAL_PASSWORD, PM_TITLE_PASSWORD);
    rc = rc ? rc : zt_buf_append(&out, b->data + at, b->len - at);
    if (rc == 0) {
        zt_buf_reset(b);
        rc = zt_buf_append(b, out.data, out.len);
    }
    zt_buf_dispose(&out);
    return rc;
}

typedef struct passkey_names {
    char name[ZT_STORE_WA_PER_USER_MAX][ZT_STORE_WA_NAME_MAX + 1];
    size_t n;
} passkey_names;

static int collect_passkey(void *ctx, const zt_store_webauthn_cred *c)
{
    passkey_names *pk = ctx;
    if (pk->n < ZT_STORE_WA_PER_USER_MAX)
        snprintf(pk->name[pk->n++], sizeof(pk->name[0]), "%s", c->name);
    return 0;
}

static void account_page(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_portal_sess s;
    zt_portal_session(r, &s);
    if (!s.valid) {
        zt_portal_page(r, 200, PM_TITLE_ACCOUNT, PM_NOT_SIGNED_IN, ZT_PORTAL_LOGIN,
                       PM_BUTTON_SIGN_IN);
        return;
    }
    if (s.mfa_pending) {
        zt_portal_redirect(r, ZT_PORTAL_MFA);
        return;
    }
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, s.user_id, &t);
    zt_store_totp_dispose(&t);
    if (rc != 0 && rc != -ENOENT) {
        zt_portal_unavailable(r, "store error");
        return;
    }
    passkey_names pk = {.n = 0};
    if (zt_store_webauthn_list(r->svc->store, s.user_id, collect_passkey, &pk) != 0) {
        zt_portal_unavailable(r, "store error");
        return;
    }
    const char *names[ZT_STORE_WA_PER_USER_MAX];
    for (size_t i = 0; i < pk.n; i++)
        names[i] = pk.name[i];
    zt_account_view v = {.lang = r->lang,
                         .email = s.email,
                         .totp_enrolled = rc == 0,
                         .passkeys_on = r->cfg->auth.passkeys,
                         .passkeys = names,
                         .n_passkeys = pk.n};
    zt_buf_reset(&r->resp_body);
    if (zt_render_account(&r->resp_body, &v) != 0 ||
        (s.user_risk >= ZT_RISK_HIGH && risk_notice(r) != 0)) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    r->page_script = v.passkeys_on; /* "Add a passkey" */
    zt_local_respond(r);
}

static void jwks(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_buf_reset(&r->resp_body);
    if (r->svc->keys == NULL || zt_keys_jwks(r->svc->keys, &r->resp_body) != 0) {
        zt_portal_unavailable(r, "JWKS unavailable");
        return;
    }
    r->content_type = "application/json";
    r->no_security_headers = true;
    zt_buf_append_str(&r->resp_headers, "Cache-Control: max-age=300\r\n"
                                        "X-Content-Type-Options: nosniff\r\n");
    zt_local_respond(r);
}

/* An app host receives the one-time code from the portal host and makes its own session. */
static void callback(zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_form q;
    if (zt_form_parse(&q, r->query, r->query_len) != ZT_FORM_OK) {
        zt_form_dispose(&q);
        zt_portal_fail(r, 400, PM_TITLE_BAD_REQUEST, PM_BODY_BAD_FORM, "malformed query");
        return;
    }
    size_t code_n = 0, rd_n = 0;
    const char *code = zt_form_get(&q, "code", &code_n);
    const char *rd = zt_form_get(&q, "rd", &rd_n);
    zt_rd_policy pol = {.relative_only = true};
    zt_rd *t = calloc(1, sizeof(*t));
    char ua[ZT_STORE_UA_MAX + 1], cookie[ZT_SESSION_COOKIE_LEN + 1], hash[ZT_SESSION_HASH_LEN + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    int rc = -EACCES;
    char origin[300];
    if (t != NULL && code != NULL &&
        origin_text(r->https, r->host, request_port(r), origin, sizeof(origin)) == 0)
        rc = zt_session_code_redeem(r->svc->sessions, code, code_n, origin, r->host, r->ip, ua,
                                    zt_portal_now(), cookie, hash);
    const char *target = ZT_PORTAL_HOME;
    if (rc == 0 && rd != NULL && zt_rd_check(rd, rd_n, &pol, t))
        target = t->path_query;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = rc == 0,
                          .factor = "sso",
                          .message = "single sign-on to an app host",
                          .reason = rc == 0 ? NULL : "bad or expired code"};
    if (!zt_portal_audit(r, &ev)) {
        if (rc == 0)
            zt_session_destroy(r->svc->sessions, hash);
        zt_portal_unavailable(r, "audit log unavailable");
    } else if (rc != 0) {
        r->log_detail = "bad sign-in code";
        zt_portal_page(r, 400, PM_TITLE_LINK_EXPIRED, PM_BODY_LINK_EXPIRED, ZT_PORTAL_LOGIN,
                       PM_SIGN_IN_AGAIN);
    } else {
        zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), cookie, r->https, -1);
        zt_portal_redirect(r, target);
    }
    zt_wipe(cookie, sizeof(cookie));
    free(t);
    zt_form_dispose(&q);
}

static bool path_is(const zt_local_req *r, const char *p)
{
    return strcmp(r->path, p) == 0;
}

void zt_portal_handle(zt_local_req *r)
{
    if (zt_portal_passkey_route(r))
        return;
    if (path_is(r, ZT_PORTAL_HOME) || path_is(r, "/.ztgate"))
        account_page(r);
    else if (path_is(r, ZT_PORTAL_LOGIN))
        zt_portal_login(r);
    else if (path_is(r, ZT_PORTAL_MFA))
        zt_portal_mfa(r);
    else if (path_is(r, ZT_PORTAL_TOTP))
        zt_portal_enrol(r);
    else if (path_is(r, ZT_PORTAL_PASSWORD))
        zt_portal_password(r);
    else if (path_is(r, ZT_PORTAL_LOGOUT))
        zt_portal_logout(r);
    else if (path_is(r, ZT_PORTAL_SIGNED_OUT))
        zt_portal_signed_out(r);
    else if (path_is(r, ZT_PORTAL_CALLBACK))
        callback(r);
    else if (path_is(r, ZT_PORTAL_JWKS))
        jwks(r);
    else if (strncmp(r->path, ZT_PORTAL_WA_PREFIX, strlen(ZT_PORTAL_WA_PREFIX)) == 0)
        zt_portal_webauthn(r);
    else if (path_is(r, ZT_PORTAL_SECURITY))
        zt_portal_security(r);
    else
        zt_portal_fail(r, 404, PM_TITLE_NOT_FOUND, PM_BODY_NOT_FOUND, "no such portal page");
}

void zt_portal_access_request(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                              zt_access_request *rq)
{
    zt_access_request_from_local(r, rq);
    rq->user_id = s->user_id;
    rq->email = s->email;
    rq->auth_time = s->auth_time;
    rq->mfa_time = s->mfa_time;
    rq->amr = s->amr;
    rq->passkey_aaguid = s->has_passkey_aaguid ? s->passkey_aaguid : NULL;
    rq->user_risk = (zt_risk)s->user_risk;
    rq->sign_in_risk = (zt_risk)s->sign_in_risk;
    rq->app = app;
    rq->client = ZT_CLIENT_BROWSER; /* a sign-in, an SSO, an approval: a browser's navigation */
}
