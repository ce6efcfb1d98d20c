/* Tunnels: `CONNECT host:port` on a TLS listener, sent by `ztagent tunnel` with its device
 * certificate and a bearer token, to an app of kind tcp.
 *
 *   TLS listener? ─▶ (host, port) is a kind tcp app? ─▶ token valid, of this device?
 *     ─▶ Conditional Access (the same decision a request gets) ─▶ Open record queued
 *     ─▶ audit gate ─▶ connect to the app's target ─▶ 200 Connection established ─▶ splice
 *
 * ztgate is not an open proxy: the authority only selects an app; the address comes from the
 * config file and nothing the client names is ever resolved or connected to. Every refusal is
 * an audited Network Activity Refuse record; answers are JSON for the agent (407 with
 * Proxy-Authenticate for sign-in and step-up, 403 for a block). Bytes the agent sent after its
 * head (an SSH banner) wait in `pending` and go to the target once it is connected. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/event.h"
#include "lib/net.h"
#include "lib/str.h"
#include "proxy/proxy_int.h"
#include "risk/feeds.h"

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 407:
        return "Proxy Authentication Required";
    default:
        return "Service Unavailable";
    }
}

/* What the agent shows its user, in the language its request asked for. */
static zt_msg message_of(const char *error, const char *reason)
{
    if (strcmp(error, "sign_in") == 0)
        return TUN_SIGN_IN;
    if (strcmp(error, "step_up") == 0)
        return TUN_STEP_UP;
    if (strcmp(error, "unavailable") == 0)
        return TUN_UNAVAILABLE;
    return reason != NULL && strstr(reason, "not an open proxy") ? TUN_NOT_APP : TUN_BLOCKED;
}

/* The answer: a JSON body, the connection ends after it. */
static void respond_json(zt_conn *c, int status, const char *detail, const char *error,
                         const char *reason, const char *policy, const char *control)
{
    zt_request *r = &c->req;
    const zt_header *al = zt_http_head_find(&c->head, "Accept-Language");
    zt_lang lang = al ? zt_lang_from_accept(al->value.p, al->value.n) : ZT_LANG_EN;
    const char *msg = zt_msg_text(lang, message_of(error, reason));
    zt_buf body;
    zt_buf_init(&body, 8192); /* a limit: reasons and names are bounded well below */
    int rc = zt_buf_printf(&body, "{\"error\":\"%s\",\"message\":", error);
    rc = rc ? rc : zt_json_str(&body, msg, strlen(msg));
    rc = rc ? rc : zt_buf_printf(&body, ",\"lang\":\"%s\"", zt_lang_tag(lang));
    if (rc == 0 && control != NULL)
        rc = zt_buf_printf(&body, ",\"control\":\"%s\"", control);
    if (rc == 0 && reason != NULL) {
        rc = zt_buf_append_str(&body, ",\"reason\":");
        rc = rc ? rc : zt_json_str(&body, reason, strlen(reason));
    }
    if (rc == 0 && policy != NULL) {
        rc = zt_buf_append_str(&body, ",\"policy\":");
        rc = rc ? rc : zt_json_str(&body, policy, strlen(policy));
    }
    rc = rc ? rc : zt_buf_printf(&body, ",\"request_id\":\"%s\"}\n", r->id);
    rc = rc ? rc
            : zt_buf_printf(&c->out,
                            "HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                            "Connection: close\r\n\r\n",
                            status, status_text(status),
                            status == 407 ? "Proxy-Authenticate: Bearer realm=\"ztgate\"\r\n" : "",
                            body.len);
    rc = rc ? rc : zt_buf_append(&c->out, body.data, body.len);
    zt_buf_dispose(&body);
    if (rc != 0) {
        zt_conn_close(c);
        return;
    }
    r->status = status;
    zt_conn_answered(c, false, detail);
}

/* The Network Activity record of the decision: Open (the stream may start once it is written)
 * or Refuse. false: it could not be queued (fail closed unless fail_open). */
static bool audit_decision(zt_conn *c, bool allowed, const char *reason)
{
    zt_server *srv = c->w->server;
    if (srv->audit == NULL)
        return true;
    zt_request *r = &c->req;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_NETWORK_ACTIVITY,
                   allowed ? ZT_ACT_NET_OPEN : ZT_ACT_NET_REFUSE,
                   allowed ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, allowed ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", allowed ? "stream opened" : "tunnel refused");
    zt_event_str(&ev, "src_endpoint.ip", r->client_ip[0] ? r->client_ip : c->ip);
    zt_event_uint(&ev, "src_endpoint.port",
                  (uint64_t)zt_sockaddr_port((const struct sockaddr *)&c->peer));
    /* What was asked (never resolved), and where an allowed tunnel goes. */
    zt_event_strn(&ev, "dst_endpoint.hostname", c->head.url.p, c->head.url.n);
    if (allowed && r->app != NULL)
        zt_event_str(&ev, "dst_endpoint.name", r->app->target.host_header);
    zt_event_str(&ev, "connection_info.protocol_name", "tunnel");
    zt_event_str(&ev, "app.name", r->app ? r->app->name : NULL);
    if (r->user_id != NULL) {
        zt_event_str(&ev, "actor.user.uid", r->user_id);
        zt_event_str(&ev, "actor.user.email_addr", r->email);
    }
    if (r->device_id != NULL)
        zt_event_str(&ev, "device.uid", r->device_id);
    else if (c->device_id[0] != '\0')
        zt_event_str(&ev, "device.uid", c->device_id);
    zt_event_str(&ev, "decision", r->decision ? r->decision : allowed ? "allow" : "block");
    zt_event_str(&ev, "reasons", reason);
    if (r->policy_names != NULL)
        zt_event_str(&ev, "policies", r->policy_names);
    zt_event_metadata(&ev, r->id, NULL);
    if (zt_event_end(&ev) < 0)
        return srv->audit_fail_open;
    uint64_t ticket = zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len);
    if (ticket == 0) {
        zt_error("request %s: audit log cannot accept events; %s the tunnel", r->id,
                 srv->audit_fail_open ? "opening" : "refusing");
        return srv->audit_fail_open;
    }
    c->hold_seq = ticket;
    c->w->audit_owed = true;
    return true;
}

static void respond_unavailable(zt_conn *c, const char *detail)
{
    respond_json(c, 503, detail, "unavailable", detail, NULL, NULL);
}

/* Refused: audited, then answered (or 503 when even the record cannot be written). */
static void refuse(zt_conn *c, int status, const char *reason, const char *error,
                   const char *policy, const char *control)
{
    zt_info("request %s from %s: tunnel to %.*s refused: %s", c->req.id, c->ip, (int)c->head.url.n,
            c->head.url.p, reason);
    if (!audit_decision(c, false, reason)) {
        respond_unavailable(c, "the audit log cannot record this tunnel");
        return;
    }
    /* The access log reads the detail after this returns: the request's arena keeps it. */
    const char *kept = zt_arena_strdup(&c->req.arena, reason);
    respond_json(c, status, kept ? kept : "tunnel refused", error, status == 403 ? reason : NULL,
                 policy, control);
}

static bool tunnel_authenticate(zt_conn *c)
{
    zt_request *r = &c->req;
    switch (zt_authn_check_token(c)) {
    case ZT_AUTHN_OK:
    case ZT_AUTHN_ANONYMOUS_OK:
        return true;
    case ZT_AUTHN_ERROR:
        if (!audit_decision(c, false, "session store unavailable"))
            respond_unavailable(c, "the audit log cannot record this tunnel");
        else
            respond_unavailable(c, "the session store is unavailable");
        return false;
    case ZT_AUTHN_SIGN_IN:
        break;
    }
    char reason[128];
    snprintf(reason, sizeof(reason), "sign-in required: %s", r->session_status);
    refuse(c, 407, reason, "sign_in", NULL, NULL);
    return false;
}

/* Conditional Access, as for a request; a stream carries arbitrary bytes, so a session the
 * policies restrict (read_only, no_download) gets no tunnel at all. */
static bool tunnel_policy(zt_conn *c)
{
    zt_request *r = &c->req;
    zt_policy_input in;
    zt_policy_result res;
    zt_pipeline_decide(c, &in, &res);
    const char *p = r->policy ? r->policy : "?";
    char reason[256];
    if (res.outcome == ZT_OUTCOME_ALLOW && res.restrict_flags == 0) {
        r->decision = "allow";
        return true;
    }
    if (res.outcome == ZT_OUTCOME_ALLOW) {
        r->decision = "block";
        snprintf(reason, sizeof(reason), "policy %s restricts the session (%s): no tunnel", p,
                 zt_pipeline_restrict_text(res.restrict_flags));
        refuse(c, 403, reason, "blocked", r->policy, NULL);
        return false;
    }
    if (res.outcome == ZT_OUTCOME_BLOCK) {
        r->decision = "block";
        if (r->device_failed != NULL && in.device_risk >= ZT_RISK_HIGH)
            snprintf(reason, sizeof(reason), "blocked by policy %s: %s", p, r->device_failed);
        else
            snprintf(reason, sizeof(reason), "blocked by policy %s", p);
        refuse(c, 403, reason, "blocked", r->policy, NULL);
        return false;
    }
    r->decision = "challenge";
    const char *control = res.reauth_required ? "sign_in" : zt_control_name(res.next_control);
    snprintf(reason, sizeof(reason), "policy %s requires %s", p, control);
    if (res.reauth_required)
        refuse(c, 407, reason, "sign_in", r->policy, NULL);
    else if (res.next_control == ZT_CTL_MFA)
        refuse(c, 407, reason, "step_up", r->policy, "mfa");
    else if (r->device_failed != NULL) {
        char why[512];
        snprintf(why, sizeof(why), "%.255s: %.200s", reason, r->device_failed);
        refuse(c, 403, why, "blocked", r->policy, control);
    } else {
        refuse(c, 403, reason, "blocked", r->policy, control);
    }
    return false;
}

void zt_tunnel_dispatch(zt_conn *c)
{
    zt_request *r = &c->req;
    /* The device certificate and the token need TLS: a plain listener never tunnels. */
    if (!c->tls_on) {
        zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                             "CONNECT is accepted on a TLS listener only");
        return;
    }
    r->app = zt_route_find_tcp(r->rt->routes, c->head.host, c->head.host_port);
    if (r->app == NULL) {
        refuse(c, 403, "ztgate is not an open proxy: no tcp app has this host and port", "blocked",
               NULL, NULL);
        return;
    }
    if (!tunnel_authenticate(c) || !tunnel_policy(c))
        return;
    if (!audit_decision(c, true,
                        r->policy_names != NULL ? "signed in; every applicable policy satisfied"
                                                : "signed in; no policy applies")) {
        respond_unavailable(c, "the audit log cannot record this tunnel");
        return;
    }
    zt_pipeline_audit_gate(c);
}

void zt_tunnel_forward(zt_conn *c)
{
    zt_request *r = &c->req;
    r->up_body = ZT_BODY_NONE;
    zt_conn_set_state(c, CS_CONNECTING);
    zt_upstream_open(c, &r->app->target.addr);
}

void zt_tunnel_failed(zt_conn *c, const char *detail)
{
    /* The Open record is written: this one says the tunnel never carried a byte. */
    zt_server *srv = c->w->server;
    zt_request *r = &c->req;
    if (srv->audit == NULL)
        return;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_NETWORK_ACTIVITY, ZT_ACT_NET_FAIL, ZT_SEV_LOW);
    zt_event_status(&ev, ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", "tunnel failed");
    zt_event_str(&ev, "src_endpoint.ip", r->client_ip[0] ? r->client_ip : c->ip);
    zt_event_str(&ev, "dst_endpoint.name", r->app ? r->app->target.host_header : NULL);
    zt_event_str(&ev, "connection_info.protocol_name", "tunnel");
    zt_event_str(&ev, "app.name", r->app ? r->app->name : NULL);
    if (r->user_id != NULL)
        zt_event_str(&ev, "actor.user.uid", r->user_id);
    zt_event_str(&ev, "reasons", detail);
    zt_event_metadata(&ev, r->id, NULL);
    if (zt_event_end(&ev) == 0 &&
        zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len) > 0)
        c->w->audit_owed = true;
}

void zt_tunnel_connected(zt_conn *c)
{
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    zt_request *r = &c->req;
    r->status = 200;
    r->resp_head_sent = true;
    zt_conn_out(c, ok, sizeof(ok) - 1);
    zt_stream_begin(c, c->up, ZT_STREAM_TUNNEL, NULL, NULL, 0);
}

void zt_conn_audit_revoked_device(zt_conn *c, const char *device_id)
{
    /* The handshake refused a revoked device's certificate: no request, no tunnel, but the
     * attempt is the event an administrator who revoked a lost laptop needs to see. */
    zt_server *srv = c->w->server;
    zt_warn("conn %" PRIu64 " from %s: TLS handshake with the revoked device %s refused", c->id,
            c->ip, device_id);
    if (srv->audit == NULL)
        return;
    zt_event ev;
    zt_buf_reset(&c->w->event);
    zt_event_begin(&ev, &c->w->event, ZT_EV_NETWORK_ACTIVITY, ZT_ACT_NET_REFUSE, ZT_SEV_MEDIUM);
    zt_event_status(&ev, ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", "revoked device certificate refused");
    zt_event_str(&ev, "src_endpoint.ip", c->ip);
    zt_event_uint(&ev, "src_endpoint.port",
                  (uint64_t)zt_sockaddr_port((const struct sockaddr *)&c->peer));
    zt_event_str(&ev, "connection_info.protocol_name", "tls");
    zt_event_str(&ev, "device.uid", device_id);
    zt_event_str(&ev, "decision", "block");
    zt_event_str(&ev, "reasons", "the device was revoked");
    zt_event_metadata(&ev, NULL, NULL);
    if (zt_event_end(&ev) == 0 &&
        zt_audit_submit_batched(srv->audit, c->w->event.data, c->w->event.len) > 0)
        c->w->audit_owed = true;
}
