/* The decision pipeline of the Policy Enforcement Point: what happens to a request once its
 * head is complete, stage by stage (docs/ARCHITECTURE.md, "One request, stage by stage"):
 *
 *   target ─▶ local handler? ─▶ route ─▶ authenticate ─▶ policy inputs ─▶ policy ─▶ authorize
 *          ─▶ audit record queued ─▶ audit gate ─▶ forward (upstream.c)
 *
 * plus the pages a decision answers with (sign-in challenge, step-up, block) and the
 * no_download check on the response head. It never reads or writes a socket: the transport
 * (conn.c) calls zt_pipeline_dispatch when a head is complete and gets the request back as a
 * state change or an answer (zt_conn_answered). Forward-auth is verify.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "audit/event.h"
#include "core/metrics.h"
#include "device/device.h"
#include "http/pages.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "proxy/proxy_int.h"
#include "risk/feeds.h"
#include "session/session.h"

/* parse: split the target and normalise the path once; route and forward use the result. */
static bool stage_target(zt_conn *c)
{
    zt_request *r = &c->req;
    char *path = zt_arena_alloc(&r->arena, c->head.url.n + 2);
    const char *why = NULL;
    if (path == NULL || zt_http_target_parse(&c->head, path, &r->target, &why) < 0) {
        zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                             why ? why : "invalid request target");
        return false;
    }
    return true;
}

const char *zt_pipeline_restrict_text(unsigned flags)
{
    if ((flags & ZT_RESTRICT_READ_ONLY) && (flags & ZT_RESTRICT_NO_DOWNLOAD))
        return "read_only,no_download";
    if (flags & ZT_RESTRICT_READ_ONLY)
        return "read_only";
    if (flags & ZT_RESTRICT_NO_DOWNLOAD)
        return "no_download";
    return "";
}

bool zt_pipeline_fail_open(const zt_conn *c)
{
    const zt_app_cfg *app = c->req.app;
    return c->w->server->audit_fail_open && !(app != NULL && app->kind == ZT_APP_CONSOLE);
}

/* One audit event per decision. false when it could not be queued: the caller refuses the
 * request (fail closed) unless audit.on_audit_failure is fail_open. */
bool zt_pipeline_audit_decision(zt_conn *c, bool allowed, const char *reason)
{
    zt_server *srv = c->w->server;
    if (srv->audit == NULL)
        return true;
    zt_request *r = &c->req;
    zt_event ev;
    const char *method = llhttp_method_name((llhttp_method_t)c->head.method);
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_HTTP_ACTIVITY,
                   zt_event_http_activity(llhttp_method_name((llhttp_method_t)c->head.method)),
                   allowed ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, allowed ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", allowed ? "request allowed" : "request refused");
    zt_event_str(&ev, "src_endpoint.ip", r->client_ip[0] ? r->client_ip : c->ip);
    if (r->country[0] == '\0') {
        zt_ip_info info;
        zt_feeds_lookup(atomic_load(&c->w->server->svc->feeds),
                        (const struct sockaddr *)&r->client_addr, &info);
        memcpy(r->country, info.country, sizeof(r->country));
    }
    if (r->country[0] != '\0')
        zt_event_str(&ev, "src_endpoint.location.country", r->country);
    zt_event_uint(&ev, "src_endpoint.port",
                  (uint64_t)zt_sockaddr_port((const struct sockaddr *)&c->peer));
    zt_event_str(&ev, "http_request.http_method", method);
    zt_event_strn(&ev, "http_request.url.hostname", c->head.host.p, c->head.host.n);
    if (r->target.path != NULL)
        zt_event_strn(&ev, "http_request.url.path", r->target.path, r->target.path_len);
    zt_event_str(&ev, "http_request.url.scheme", r->https ? "https" : "http");
    zt_event_str(&ev, "app.name", r->app ? r->app->name : NULL);
    if (r->user_id != NULL) {
        zt_event_str(&ev, "actor.user.uid", r->user_id);
        zt_event_str(&ev, "actor.user.email_addr", r->email);
    } else if (r->pending_user_id != NULL) {
        zt_event_str(&ev, "actor.user.uid", r->pending_user_id);
        zt_event_str(&ev, "actor.user.email_addr", r->pending_email);
        zt_event_str(&ev, "actor.session.state", "second factor pending");
    }
    if (r->device_id != NULL)
        zt_event_str(&ev, "device.uid", r->device_id);
    if (r->platform != NULL) {
        zt_event_str(&ev, "device.os.type", r->platform);
        zt_event_str(&ev, "device.os.type_source", r->platform_source);
    }
    zt_event_str(&ev, "decision", r->decision ? r->decision : allowed ? "allow" : "block");
    zt_event_str(&ev, "reasons", reason);
    if (r->policy_names != NULL)
        zt_event_str(&ev, "policies", r->policy_names);
    if (r->report_only != NULL)
        zt_event_str(&ev, "report_only.decision", r->report_only);
    if (r->restrict_flags != 0)
        zt_event_str(&ev, "session.restrict", zt_pipeline_restrict_text(r->restrict_flags));
    zt_event_metadata(&ev, r->id, NULL);
    if (zt_event_end(&ev) < 0) {
        zt_error("request %s: audit event could not be built", r->id);
        return zt_pipeline_fail_open(c);
    }
    uint64_t ticket = zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len);
    if (ticket > 0) {
        c->hold_seq = ticket;
        c->w->audit_owed = true; /* written by this loop at the end of its iteration */
        return true;
    }
    c->hold_seq = 0; /* nothing to wait for: refused below, or fail_open */
    zt_error("request %s: audit log cannot accept events (%s)%s", r->id,
             zt_audit_failure(srv->audit) ? zt_audit_failure(srv->audit) : "queue full",
             zt_pipeline_fail_open(c) ? "; forwarding anyway (fail_open)" : "; refusing");
    return zt_pipeline_fail_open(c);
}

void zt_pipeline_respond_audit_unavailable(zt_conn *c)
{
    zt_conn_respond_page_ex(c, (zt_page){.status = 503,
                                         .title = MSG_UNAVAILABLE_TITLE,
                                         .body = MSG_AUDIT_UNAVAILABLE_BODY,
                                         .error = "audit_unavailable",
                                         .detail = "the audit log cannot record this request"});
}

/* route: default deny — a request that matches no configured app is refused. */
static bool stage_route(zt_conn *c)
{
    zt_request *r = &c->req;
    zt_route_result found =
        zt_route_resolve(r->rt->routes, c->head.host, r->target.path, r->target.path_len, &r->app);
    if (found == ZT_ROUTE_AMBIGUOUS) {
        static const char why[] = "ambiguous path: an upstream could read it as another app's "
                                  "(case, ';' parameters or trailing dots; see path_match)";
        if (!zt_pipeline_audit_decision(c, false, why))
            zt_pipeline_respond_audit_unavailable(c);
        else
            zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY, why);
        return false;
    }
    if (r->app == NULL) {
        if (!zt_pipeline_audit_decision(c, false, "no configured app matches this host and path"))
            zt_pipeline_respond_audit_unavailable(c);
        else
            zt_conn_respond_page(c, 404, MSG_NOT_FOUND_TITLE, MSG_NOT_FOUND_BODY, NULL);
        return false;
    }
    return true;
}

/* authorize: what the gateway can decide before anyone is identified — the app's own rules
 * on what may reach it. Identity, device and policy decisions join this stage. */
static bool stage_authorize(zt_conn *c)
{
    zt_request *r = &c->req;
    if (r->target.encoded_slash && !r->app->allow_encoded_slash) {
        zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                             "encoded slash or backslash in the path");
        return false;
    }
    uint64_t max_body = r->rt->cfg->limits.max_body_bytes;
    if (max_body != 0 && c->head.body == ZT_BODY_LENGTH && c->head.content_length > max_body) {
        zt_conn_respond_page(c, 413, MSG_TOO_LARGE_TITLE, MSG_TOO_LARGE_BODY,
                             "request body too large");
        return false;
    }
    /* The request goes on only once its decision is queued in the audit log. */
    const char *why = r->user_id == NULL        ? "public app: no sign-in required"
                      : r->policy_names != NULL ? "signed in; every applicable policy satisfied"
                                                : "signed in; no policy applies";
    if (!zt_pipeline_audit_decision(c, true, why)) {
        zt_pipeline_respond_audit_unavailable(c);
        return false;
    }
    return true;
}

static void stage_local(zt_conn *c, const zt_handler *h);

/* forward: take an upstream connection; the head goes out once it is connected. The console
 * has no upstream: ztgate answers it, with the identity this pipeline verified. */
static void stage_forward(zt_conn *c)
{
    zt_request *r = &c->req;
    if (r->app->kind == ZT_APP_CONSOLE) {
        stage_local(c, zt_handlers_kind(c->w->server->handlers, ZT_LOCAL_CONSOLE));
        return;
    }
    if (c->head.method == HTTP_CONNECT) { /* a tunnel: to the app's target, no head */
        zt_tunnel_forward(c);
        return;
    }
    r->up_body = c->head.body;
    zt_conn_set_state(c, CS_CONNECTING);
    zt_upstream_attach(c, &r->app->upstream.addr);
}

/* The record could not be written (or not in time): nothing went to the upstream, so the
 * client can still be told plainly (fail closed), or, with fail_open, the request goes on.
 * Never the console: fail_open keeps apps reachable, not the admin plane, which like the admin
 * API changes nothing it cannot record. */
void zt_pipeline_audit_gate_refuse(zt_conn *c, const char *detail)
{
    c->hold_seq = 0;
    if (zt_pipeline_fail_open(c)) {
        zt_warn("request %s: %s; forwarding anyway (fail_open)", c->req.id, detail);
        stage_forward(c);
        return;
    }
    zt_conn_respond_page(c, 503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY, detail);
}

/* No byte leaves for the upstream before the decision's record is in the log: a request
 * forwarded and then found unaudited could not be called back. */
void zt_pipeline_audit_gate(zt_conn *c)
{
    switch (zt_conn_audit_state(c)) {
    case ZT_AUDIT_WRITTEN:
        stage_forward(c);
        return;
    case ZT_AUDIT_PENDING:
        zt_conn_set_state(c, CS_AUDIT_WAIT);
        zt_conn_arm_for_state(c);
        zt_conn_audit_wait(c);
        return;
    case ZT_AUDIT_LOST:
        zt_pipeline_audit_gate_refuse(
            c, "the audit log failed before this request's record was written");
        return;
    }
}

/* The loop was woken with the record written or lost. */
void zt_pipeline_audit_gate_done(zt_conn *c, zt_audit_state st)
{
    uv_timer_stop(&c->timer);
    if (st == ZT_AUDIT_WRITTEN)
        stage_forward(c);
    else
        zt_pipeline_audit_gate_refuse(
            c, "the audit log failed before this request's record was written");
    if (c->state != CS_CLOSING)
        zt_conn_process(c);
}

/* local: a request ztgate answers itself. Its (small) body is read whole first; the handler
 * runs once the message is complete (CS_LOCAL_RUN in conn_process_once). */
static void stage_local(zt_conn *c, const zt_handler *h)
{
    zt_request *r = &c->req;
    if (h == NULL) { /* nothing registered for it (a table without an admin handler) */
        zt_conn_respond_page(c, 404, MSG_NOT_FOUND_TITLE, MSG_NOT_FOUND_BODY, "no handler");
        return;
    }
    if (c->head.body == ZT_BODY_LENGTH && c->head.content_length > ZT_LOCAL_MAX_BODY) {
        zt_conn_respond_page(c, 413, MSG_TOO_LARGE_TITLE, MSG_TOO_LARGE_BODY,
                             "request body too large for a gateway page");
        return;
    }
    const zt_header *al = zt_http_head_find(&c->head, "Accept-Language");
    r->lang = al ? zt_lang_from_accept(al->value.p, al->value.n) : ZT_LANG_EN;
    c->local = zt_local_new(c, h);
    if (c->local == NULL) {
        zt_conn_respond_page(c, 503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY, "out of memory");
        return;
    }
    if (c->head.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        zt_conn_out(c, cont, sizeof(cont) - 1);
        r->continue_sent = true;
    }
    zt_conn_read_body(c);
    zt_conn_arm_for_state(c);
}

void zt_conn_local_done(zt_conn *c, zt_local_req *lr)
{
    zt_request *r = &c->req;
    bool keep = c->head.keep_alive && !c->draining && !c->last_request;
    if (!keep)
        c->last_request = true; /* request_finish closes after the response */
    if (lr->hold_seq_ > c->hold_seq)
        c->hold_seq = lr->hold_seq_;
    if (zt_local_write_response(lr, &c->out, keep) < 0) {
        zt_conn_close(c);
        return;
    }
    r->status = lr->status;
    r->bytes_out = lr->resp_body.len;
    /* keep: the end of the connection is already settled through last_request. */
    zt_conn_answered(c, true, lr->log_detail);
    zt_conn_set_state(c, CS_WAIT_RESPONSE);
    zt_conn_process(c);
}

/* Sign-in needed: a redirect for browsers, 401 JSON for API clients. */
static void respond_challenge(zt_conn *c)
{
    zt_request *r = &c->req;
    bool keep = c->head.keep_alive && (r->req_done || c->head.body == ZT_BODY_NONE) && !c->draining;
    if (zt_authn_write_challenge(c, &c->out, keep) < 0) {
        zt_conn_close(c);
        return;
    }
    zt_conn_answered(c, keep, r->session_status);
}

/* authenticate: who is asking. Public apps need nobody; every other app needs a valid,
 * fully authenticated session (its absence is a decision too, and audited). */
static bool stage_authenticate(zt_conn *c)
{
    switch (zt_authn_check(c)) {
    case ZT_AUTHN_ANONYMOUS_OK:
    case ZT_AUTHN_OK:
        return true;
    case ZT_AUTHN_ERROR:
        if (!zt_pipeline_audit_decision(c, false, "session store unavailable"))
            zt_pipeline_respond_audit_unavailable(c);
        else
            zt_conn_respond_page(c, 503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY,
                                 "the session store is unavailable");
        return false;
    case ZT_AUTHN_SIGN_IN:
        break;
    }
    if (!zt_pipeline_audit_decision(c, false, "sign-in required: no valid session"))
        zt_pipeline_respond_audit_unavailable(c);
    else
        respond_challenge(c);
    return false;
}

/* The last address in a header like X-Forwarded-For: "a, b, c" → c. */
static bool last_forwarded_addr(const zt_header *h, struct sockaddr_storage *out)
{
    size_t end = h->value.n, start;
    while (end > 0 && (h->value.p[end - 1] == ' ' || h->value.p[end - 1] == '\t'))
        end--;
    start = end;
    while (start > 0 && h->value.p[start - 1] != ',')
        start--;
    while (start < end && (h->value.p[start] == ' ' || h->value.p[start] == '\t'))
        start++;
    char ip[ZT_IP_STRLEN];
    if (end - start == 0 || end - start >= sizeof(ip))
        return false;
    memcpy(ip, h->value.p + start, end - start);
    ip[end - start] = '\0';
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
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

/* Who the client is and whether it used HTTPS: the socket, unless the peer is a configured
 * trusted proxy, whose X-Forwarded-For (last hop) and X-Forwarded-Proto are believed. */
static void resolve_client(zt_conn *c)
{
    zt_request *r = &c->req;
    r->https = c->tls_on;
    memcpy(&r->client_addr, &c->peer, sizeof(r->client_addr));
    snprintf(r->client_ip, sizeof(r->client_ip), "%s", c->ip);
    c->peer_trusted = zt_conn_peer_trusted(c, r->rt->cfg);
    if (!c->peer_trusted)
        return;
    const zt_header *proto = NULL, *xff = NULL;
    for (unsigned i = 0; i < c->head.n_headers; i++) {
        const zt_header *h = &c->head.headers[i];
        if (zt_span_ieq_cstr(h->name, "X-Forwarded-Proto"))
            proto = h;
        else if (zt_span_ieq_cstr(h->name, "X-Forwarded-For"))
            xff = h; /* the last one: nearest to us */
    }
    if (proto != NULL && zt_span_ieq_cstr(proto->value, "https"))
        r->https = true;
    struct sockaddr_storage addr;
    if (xff != NULL && last_forwarded_addr(xff, &addr)) {
        r->client_addr = addr;
        zt_sockaddr_ip((const struct sockaddr *)&addr, r->client_ip);
    }
}

/* Names of the applicable policies, "a,b (report-only),c" for the audit record, straight into
 * the request's arena: measured first, then written. */
static void policy_names(zt_conn *c, const zt_policy_set *set, const zt_policy_result *res)
{
    zt_request *r = &c->req;
    size_t len = zt_access_policy_names(set, res, NULL, 0);
    if (len == 0 || len > 64 * 1024)
        return;
    char *p = zt_arena_alloc(&r->arena, len + 1);
    if (p == NULL)
        return;
    zt_access_policy_names(set, res, p, len + 1);
    r->policy_names = p;
}

static void count_decision(const zt_runtime *rt, const zt_policy_result *res)
{
    zt_metric_decision((int)res->outcome);
    zt_metric_report_only((int)res->report_only_outcome);
    for (size_t i = 0; i < res->n_matched; i++)
        zt_metric_policy_count(rt->policy_counters[res->matched[i]]);
}

static bool method_is_safe(int method)
{
    return method == HTTP_GET || method == HTTP_HEAD || method == HTTP_OPTIONS;
}

/* The neutral request src/access decides on: the session side from the session check, the
 * request side from the connection. Headers are taken as spans into the head, not copied. */
static void access_request(zt_conn *c, zt_access_request *rq)
{
    zt_request *r = &c->req;
    *rq = (zt_access_request){
        .user_id = r->user_id,
        .email = r->email,
        .groups = r->groups,
        .n_groups = r->n_groups,
        .auth_time = r->auth_time,
        .mfa_time = r->mfa_time,
        .amr = r->amr,
        .passkey_aaguid = r->has_passkey_aaguid ? r->passkey_aaguid : NULL,
        .user_risk = (zt_risk)r->user_risk,
        .sign_in_risk = (zt_risk)r->sign_in_risk,
        .app = r->app,
        .client_addr = (const struct sockaddr *)&r->client_addr,
        .cert_device_id = c->device_id,
        .https = r->https,
        .client = zt_authn_wants_html(c) ? ZT_CLIENT_BROWSER : ZT_CLIENT_API,
        .now = (int64_t)(zt_wall_us() / 1000000),
    };
    for (unsigned i = 0; i < c->head.n_headers; i++)
        zt_access_request_header(rq, c->head.headers[i].name, c->head.headers[i].value);
}

/* What the decision saw, kept on the request for the audit record and the pages: the facts
 * live on the stack of zt_pipeline_decide, so the device's strings go to the request's arena
 * (only when there is a device). */
static void keep_facts(zt_conn *c, const zt_access_facts *f)
{
    zt_request *r = &c->req;
    memcpy(r->country, f->country, sizeof(r->country));
    r->platform = f->platform;
    r->platform_source = f->platform_source;
    if (f->device_id[0] == '\0')
        return;
    const zt_device_state *st = &f->device;
    r->device_id = zt_arena_strdup(&r->arena, f->device_id);
    r->device_failed = st->failed[0] ? zt_arena_strdup(&r->arena, st->failed) : NULL;
    zt_msg *why = st->n_why > 0 ? zt_arena_alloc(&r->arena, st->n_why * sizeof(zt_msg)) : NULL;
    if (why != NULL) {
        memcpy(why, st->why, st->n_why * sizeof(zt_msg));
        r->device_why = why;
        r->n_device_why = st->n_why;
    }
    r->device_facts = st->facts[0] ? zt_arena_strdup(&r->arena, st->facts) : NULL;
}

/* What the request's device contributes to a refusal page. */
static zt_page_device page_device(const zt_request *r)
{
    return (zt_page_device){.failed = r->device_failed,
                            .why = r->device_why,
                            .n_why = r->n_device_why,
                            .facts = r->device_facts};
}

/* A control the user cannot satisfy from the MFA prompt: explain what to do instead. */
static void respond_unmet(zt_conn *c, zt_control ctl)
{
    zt_page_device dev = page_device(&c->req);
    zt_page pg = zt_page_unmet((int)ctl, c->req.policy, &dev);
    zt_buf href;
    zt_buf_init(&href, 0);
    /* The passkey page comes back to the page asked for once the passkey is used. */
    if (ctl == ZT_CTL_PHISHING_RESISTANT_MFA &&
        zt_authn_page_url(c, "/.ztgate/passkey?rd=", &href) == 0 && zt_buf_cstr(&href) == 0)
        pg.remedy_href = href.data;
    /* Already phishing-resistant, so the policy's authentication strength wants another key
     * model: say so, or the user would try the same key again. */
    if (ctl == ZT_CTL_PHISHING_RESISTANT_MFA && zt_amr_phishing_resistant(c->req.amr)) {
        pg.body = MSG_PASSKEY_MODEL_BODY;
        pg.remedy = MSG_DO_PASSKEY_MODEL;
        pg.detail = "this app accepts only certain passkey or security key models "
                    "(authentication strength)";
    }
    zt_conn_respond_page_ex(c, pg);
    zt_buf_dispose(&href);
}

static void respond_step_up(zt_conn *c, bool reauth, const char *control)
{
    zt_request *r = &c->req;
    bool keep = c->head.keep_alive && (r->req_done || c->head.body == ZT_BODY_NONE) && !c->draining;
    if (zt_authn_write_step_up(c, &c->out, keep, reauth, control) < 0) {
        zt_conn_close(c);
        return;
    }
    zt_conn_answered(
        c, keep, reauth ? "sign-in frequency: sign in again" : "step-up: second factor required");
}

static bool policy_refuse(zt_conn *c, const char *reason, zt_page pg)
{
    if (!zt_pipeline_audit_decision(c, false, reason))
        zt_pipeline_respond_audit_unavailable(c);
    else
        zt_conn_respond_page_ex(c, pg);
    return false;
}

/* An allowed request carries a signed assertion of who is asking and with what device trust;
 * one that cannot be signed is refused (fail closed), like a session store failure. */
static bool assert_identity(zt_conn *c, const zt_policy_input *in)
{
    if (zt_authn_sign_assertion(c, in) == 0)
        return true;
    c->req.decision = "block";
    if (!zt_pipeline_audit_decision(c, false, "identity assertion could not be signed"))
        zt_pipeline_respond_audit_unavailable(c);
    else
        zt_conn_respond_page(c, 503, MSG_UNAVAILABLE_TITLE, MSG_UNAVAILABLE_BODY,
                             "the identity assertion could not be signed");
    return false;
}

void zt_pipeline_decide(zt_conn *c, zt_policy_input *in, zt_policy_result *res)
{
    zt_request *r = &c->req;
    const zt_policy_set *set = r->rt->policies;
    zt_access_request rq;
    zt_access_facts facts;
    access_request(c, &rq);
    zt_access_input(c->w->server->svc, &rq, in, &facts);
    keep_facts(c, &facts);
    r->policy = zt_access_decide(set, in, res);
    count_decision(r->rt, res);
    policy_names(c, set, res);
    if (res->report_only_outcome != ZT_OUTCOME_ALLOW)
        r->report_only = zt_outcome_name(res->report_only_outcome);
}

/* policy: Conditional Access on every request of a signed-in user (not only at sign-in).
 * Anonymous visitors of a public app have no user to assign policies to. */
static bool stage_policy(zt_conn *c)
{
    zt_request *r = &c->req;
    if (r->user_id == NULL)
        return true;
    zt_policy_input in;
    zt_policy_result res;
    zt_pipeline_decide(c, &in, &res);
    char reason[256];
    if (res.outcome == ZT_OUTCOME_ALLOW) {
        r->restrict_flags = res.restrict_flags;
        if (!(r->restrict_flags & ZT_RESTRICT_READ_ONLY) || method_is_safe(c->head.method))
            return assert_identity(c, &in);
        r->decision = "block";
        return policy_refuse(c, "restrict read_only: unsafe method refused",
                             zt_page_read_only(r->policy));
    }
    if (res.outcome == ZT_OUTCOME_BLOCK) {
        r->decision = "block";
        snprintf(reason, sizeof(reason), "blocked by policy %s", r->policy ? r->policy : "?");
        /* The device's findings when its risk is what decided. */
        zt_page_device dev = page_device(r);
        bool device_decided = r->device_failed && in.device_risk >= ZT_RISK_HIGH;
        return policy_refuse(c, reason, zt_page_block(r->policy, device_decided ? &dev : NULL));
    }
    r->decision = "challenge";
    const char *control = res.reauth_required ? "sign_in" : zt_control_name(res.next_control);
    snprintf(reason, sizeof(reason), "policy %s requires %s", r->policy ? r->policy : "?", control);
    if (!zt_pipeline_audit_decision(c, false, reason)) {
        zt_pipeline_respond_audit_unavailable(c);
        return false;
    }
    if (res.reauth_required || res.next_control == ZT_CTL_MFA)
        respond_step_up(c, res.reauth_required, control);
    else
        respond_unmet(c, res.next_control);
    return false;
}

/* console: an administrator's sign-in must be recent (the app's session_max_age), whatever
 * the policies allow: an older one is sent to sign in again, as sign_in_frequency does. A
 * console request without a user (impossible: the console is never public) is refused. */
static bool stage_console_fresh(zt_conn *c)
{
    zt_request *r = &c->req;
    if (r->app->kind != ZT_APP_CONSOLE)
        return true;
    if (r->user_id == NULL) {
        r->decision = "block";
        return policy_refuse(c, "console: no signed-in user",
                             (zt_page){.status = 403,
                                       .title = CON_NOT_ADMIN_TITLE,
                                       .body = CON_NOT_ADMIN_BODY,
                                       .detail = "the console needs a signed-in user"});
    }
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    int64_t max_age = (int64_t)(r->app->session_max_age_ms / 1000);
    if (max_age <= 0 || now - r->auth_time <= max_age)
        return true;
    r->decision = "challenge";
    if (!zt_pipeline_audit_decision(c, false, "console session_max_age: sign in again")) {
        zt_pipeline_respond_audit_unavailable(c);
        return false;
    }
    respond_step_up(c, true, "sign_in");
    return false;
}

void zt_pipeline_dispatch(zt_conn *c)
{
    zt_request *r = &c->req;
    resolve_client(c);
    /* A tunnel to a kind tcp app, or nothing; never on the admin listener (its target check
     * refuses the authority-form with 400). */
    if (c->head.method == HTTP_CONNECT && !c->admin) {
        zt_tunnel_dispatch(c);
        return;
    }
    r->head_method = c->head.method == HTTP_HEAD;
    if (c->head.expect_continue && c->head.body == ZT_BODY_NONE)
        c->head.expect_continue = false;
    if (!stage_target(c))
        return;
    const zt_handlers *handlers = c->w->server->handlers;
    if (c->admin) {
        stage_local(c,
                    zt_handlers_match(handlers, true, false, r->target.path, r->target.path_len));
        return;
    }
    if (zt_verify_path(r)) {
        zt_verify_stage(c);
        return;
    }
    const char *portal = r->rt->cfg->auth.portal_host;
    bool on_portal = portal != NULL && zt_span_ieq_cstr(c->head.host, portal);
    const zt_handler *h =
        zt_handlers_match(handlers, false, on_portal, r->target.path, r->target.path_len);
    if (h != NULL) {
        r->app = zt_route_find(r->rt->routes, c->head.host, r->target.path, r->target.path_len);
        stage_local(c, h);
        return;
    }
    if (!stage_route(c) || !stage_authenticate(c) || !stage_policy(c) || !stage_console_fresh(c) ||
        !zt_ws_stage(c) || !stage_authorize(c))
        return;
    zt_pipeline_audit_gate(c);
}

/* ---- the response head: no_download ---------------------------------------------------- */

/* Content types a no_download session may not receive, beside any attachment. */
static const char *const download_types[] = {
    "application/octet-stream",
    "application/zip",
    "application/x-zip-compressed",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/x-tar",
    "application/gzip",
    "application/x-gzip",
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
    "text/csv",
    NULL,
};

static bool response_is_download(const zt_http_head *h)
{
    const zt_header *cd = zt_http_head_find(h, "Content-Disposition");
    if (cd != NULL) {
        zt_span v = cd->value;
        while (v.n > 0 && (*v.p == ' ' || *v.p == '\t')) {
            v.p++;
            v.n--;
        }
        if (zt_span_istarts(v, "attachment"))
            return true;
    }
    const zt_header *ct = zt_http_head_find(h, "Content-Type");
    if (ct == NULL)
        return false;
    for (size_t i = 0; download_types[i] != NULL; i++)
        if (zt_span_istarts(ct->value, download_types[i]))
            return true;
    return false;
}

/* no_download: the upstream's answer is a file. Its body is read and dropped (so the pooled
 * connection stays usable) and the client gets a 403 page instead. */
bool zt_pipeline_refuse_download(zt_conn *c, const zt_http_head *h)
{
    zt_request *r = &c->req;
    if (!(r->restrict_flags & ZT_RESTRICT_NO_DOWNLOAD) || !response_is_download(h))
        return false;
    r->suppress_body = true;
    r->client_body = ZT_BODY_NONE;
    zt_warn("request %s: download refused (no_download session, policy %s)", r->id,
            r->policy ? r->policy : "?");
    zt_conn_respond_page_ex(c, zt_page_no_download(r->policy));
    /* zt_conn_respond_page_ex marked the request done; the upstream's body is still to be drained.
     */
    r->resp_done = false;
    return true;
}
