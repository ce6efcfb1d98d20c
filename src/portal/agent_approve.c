/* /.ztgate/agent/approve: where a signed-in user approves the sign-in `ztagent tunnel` asked for
 * (device/agent_signin.c does the work; docs/TUNNELS.md). Three steps, each a CSRF-checked form:
 * type the code the agent printed; see what asked (the device, its platform, the app, where the
 * agent is and where this browser is, a warning when they differ) and Approve or Deny. The code
 * never travels in a URL. Before the Approve button is offered, and again when it is pressed,
 * the app's Conditional Access runs for this session exactly as for a request: a block is shown
 * and nothing can be approved; a step-up sends the user to the second factor first. */
#include <errno.h>
#include <string.h>

#include <llhttp.h>

#include "access/access.h"
#include "device/device.h"
#include "http/handler.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "policy/policy.h"
#include "portal/portal.h"

#define AGENT_APPROVE "/.ztgate/agent/approve"

/* The app a tunnel names ("host:port"): a kind tcp app of this configuration, else NULL. */
static const zt_app_cfg *tcp_app(const zt_config *cfg, const char *app)
{
    const char *colon = strrchr(app, ':');
    if (cfg == NULL || colon == NULL)
        return NULL;
    unsigned long long port = 0;
    if (!zt_parse_u64(colon + 1, strlen(colon + 1), 65535, &port))
        return NULL;
    size_t hl = (size_t)(colon - app);
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (a->kind == ZT_APP_TCP && a->host != NULL && strlen(a->host) == hl &&
            memcmp(a->host, app, hl) == 0 && a->port == port)
            return a;
    }
    return NULL;
}

/* A challenge the portal can meet here is a second factor or a fresh sign-in; any other unmet
 * control (a compliant device, a password change) is for the user to fix first: shown as a
 * refusal naming the policy. */
typedef enum verdict { V_ALLOW, V_NO_APP, V_BLOCK, V_STEP_UP, V_REAUTH } verdict;

typedef struct decision {
    verdict v;
    char policy[128];
    char browser_country[3], agent_country[3];
} decision;

/* Conditional Access for the app and this session, from this browser (the gateway decides again
 * from the agent's address at every CONNECT); also the countries of both addresses. */
static void decide(zt_local_req *r, const zt_portal_sess *s, const zt_agent_pending *p,
                   decision *out)
{
    memset(out, 0, sizeof(*out));
    const zt_app_cfg *app = tcp_app(r->cfg, p->app);
    zt_access_request rq;
    zt_portal_access_request(r, s, app, &rq);
    /* The device is the one that will open the tunnels, not this browser: its posture and risk
     * decide (device policies then mean what they say for the tunnel). */
    rq.cert_device_id = p->device_id;
    zt_policy_input in;
    zt_access_facts facts;
    zt_access_input(r->svc, &rq, &in, &facts);
    memcpy(out->browser_country, facts.country, sizeof(out->browser_country));
    zt_policy_result res;
    const char *name = zt_access_decide(r->policies, &in, &res);
    snprintf(out->policy, sizeof(out->policy), "%s", name ? name : "");
    if (app == NULL)
        out->v = V_NO_APP;
    else if (res.outcome == ZT_OUTCOME_BLOCK || res.restrict_flags != 0)
        out->v = V_BLOCK;
    else if (res.outcome == ZT_OUTCOME_CHALLENGE && res.reauth_required)
        out->v = V_REAUTH;
    else if (res.outcome == ZT_OUTCOME_CHALLENGE && res.next_control == ZT_CTL_MFA)
        out->v = V_STEP_UP;
    else if (res.outcome == ZT_OUTCOME_CHALLENGE)
        out->v = V_BLOCK;
    /* Where the agent is: the same facts for its address. */
    rq.client_addr = (const struct sockaddr *)&p->addr;
    rq.cert_device_id = NULL;
    zt_access_input(r->svc, &rq, &in, &facts);
    memcpy(out->agent_country, facts.country, sizeof(out->agent_country));
}

/* ---- drawing ---- */

static int code_form(zt_local_req *r, zt_buf *b)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    int rc = zt_portal_csrf_token(r, AGENT_APPROVE, token);
    rc = rc ? rc : zt_html_form_begin(b, AGENT_APPROVE, token, NULL);
    rc = rc ? rc
            : zt_html_input(b, r->lang, AG_CODE_LABEL, "code", "text", "off",
                            "required autofocus autocapitalize=\"characters\" maxlength=\"32\"");
    return rc ? rc : zt_html_form_end(b, r->lang, AG_CONTINUE);
}

static void send_page(zt_local_req *r, int status, int rc)
{
    rc = rc ? rc : zt_html_end(&r->resp_body, r->lang, status >= 400 ? r->request_id : NULL);
    if (rc != 0) {
        zt_portal_unavailable(r, "agent approval page");
        return;
    }
    r->status = status;
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
    zt_local_respond(r);
}

/* The code form, with a notice above it (MSG_NONE: none). */
static void ask_code(zt_local_req *r, int status, zt_msg notice)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    int rc = zt_html_begin(b, r->lang, AG_TITLE);
    if (notice != MSG_NONE)
        rc = rc ? rc : zt_html_notice(b, r->lang, notice, true);
    rc = rc ? rc : zt_html_p(b, r->lang, AG_INTRO, NULL);
    rc = rc ? rc : code_form(r, b);
    send_page(r, status, rc);
}

static int fact_row(zt_buf *b, zt_lang lang, zt_msg label, const char *id, const char *v1,
                    const char *v2)
{
    int rc = zt_buf_append_str(b, "<tr><th>");
    rc = rc ? rc : zt_html_msg(b, lang, label);
    rc = rc ? rc : zt_buf_printf(b, "</th><td id=\"%s\">", id);
    rc = rc ? rc : zt_html_text(b, v1);
    if (v2 != NULL && v2[0] != '\0') {
        rc = rc ? rc : zt_buf_append_str(b, " (");
        rc = rc ? rc : zt_html_text(b, v2);
        rc = rc ? rc : zt_buf_append_str(b, ")");
    }
    return rc ? rc : zt_buf_append_str(b, "</td></tr>");
}

static int decision_form(zt_local_req *r, zt_buf *b, const char *code, const char *action,
                         zt_msg button, const char *id)
{
    char token[ZT_CSRF_TOKEN_LEN + 1];
    int rc = zt_portal_csrf_token(r, AGENT_APPROVE, token);
    rc = rc ? rc : zt_html_form_begin(b, AGENT_APPROVE, token, NULL);
    rc = rc ? rc : zt_html_hidden(b, "code", code);
    rc = rc ? rc : zt_html_hidden(b, "action", action);
    rc = rc ? rc : zt_buf_printf(b, "<button type=\"submit\" id=\"%s\">", id);
    rc = rc ? rc : zt_html_msg(b, r->lang, button);
    return rc ? rc : zt_buf_append_str(b, "</button></form>");
}

/* What asked, and Approve / Deny. */
static void confirm_page(zt_local_req *r, const zt_agent_pending *p, const decision *d)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    int rc = zt_html_begin(b, r->lang, AG_TITLE);
    rc = rc ? rc : zt_html_p(b, r->lang, AG_CONFIRM_INTRO, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<table class=\"facts\">");
    rc = rc ? rc : fact_row(b, r->lang, AG_APP, "agent-app", p->app, NULL);
    rc = rc ? rc : fact_row(b, r->lang, AG_DEVICE, "agent-device", p->device_name, p->platform);
    rc = rc ? rc : fact_row(b, r->lang, AG_AGENT_AT, "agent-ip", p->ip, d->agent_country);
    rc = rc ? rc : fact_row(b, r->lang, AG_BROWSER_AT, "browser-ip", r->ip, d->browser_country);
    rc = rc ? rc : zt_buf_append_str(b, "</table>");
    bool far = strcmp(p->ip, r->ip) != 0 &&
               (strcmp(d->agent_country, d->browser_country) != 0 || d->agent_country[0] == 0);
    if (far)
        rc = rc ? rc : zt_html_notice(b, r->lang, AG_FAR_WARNING, true);
    rc = rc ? rc : zt_html_p(b, r->lang, AG_ONLY_YOURS, NULL);
    rc = rc ? rc : decision_form(r, b, p->code, "approve", AG_APPROVE, "agent-approve");
    rc = rc ? rc : decision_form(r, b, p->code, "deny", AG_DENY, "agent-deny");
    send_page(r, 200, rc);
}

static void refused_page(zt_local_req *r, int status, zt_msg body, const char *policy,
                         const char *detail)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->log_detail = detail;
    int rc = zt_html_begin(b, r->lang, AG_TITLE);
    rc = rc ? rc : zt_html_p(b, r->lang, body, "notice error");
    if (policy != NULL && policy[0] != '\0') {
        rc = rc ? rc : zt_buf_append_str(b, "<p id=\"agent-policy\">");
        rc = rc ? rc : zt_html_msg(b, r->lang, AG_POLICY);
        rc = rc ? rc : zt_html_text(b, policy);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
    }
    send_page(r, status, rc);
}

/* ---- the steps ---- */

static bool page_session(zt_local_req *r, zt_portal_sess *s)
{
    if (!zt_portal_require_session(r, s, AGENT_APPROVE))
        return false;
    if (s->mfa_pending || zt_portal_sess_is_tap(s)) {
        zt_portal_redirect_with_rd(r, ZT_PORTAL_MFA, AGENT_APPROVE);
        return false;
    }
    return true;
}

/* A refusal of the decision; false when the sign-in may go on. */
static bool refuse_by_policy(zt_local_req *r, const zt_agent_pending *p, const decision *d,
                             const zt_portal_sess *s)
{
    if (d->v == V_ALLOW)
        return false;
    if (d->v == V_STEP_UP) {
        /* The code stays pending: after the second factor the user types it again. */
        zt_buf *b = &r->resp_body;
        zt_buf_reset(b);
        r->log_detail = "agent sign-in needs step-up";
        int rc = zt_html_begin(b, r->lang, AG_TITLE);
        rc = rc ? rc : zt_html_p(b, r->lang, AG_STEP_UP, NULL);
        rc =
            rc ? rc : zt_html_link(b, r->lang, ZT_PORTAL_MFA "?rd=" AGENT_APPROVE, AG_STEP_UP_LINK);
        send_page(r, 200, rc);
        return true;
    }
    zt_agent_approval deny = {.approve = false};
    snprintf(deny.user_id, sizeof(deny.user_id), "%s", s->user_id);
    snprintf(deny.email, sizeof(deny.email), "%s", s->email);
    (void)zt_agent_signin_decide(r->svc->devices, r, p, &deny, zt_portal_now());
    if (d->v == V_NO_APP)
        refused_page(r, 403, AG_NO_APP, NULL, "agent sign-in for no tcp app");
    else
        refused_page(r, 403, AG_BLOCKED, d->policy, "agent sign-in blocked by policy");
    return true;
}

/* When the approving session ends for good (its absolute expiry): the token is capped there. */
static bool approving_session_end(zt_local_req *r, const zt_portal_sess *s, int64_t *out)
{
    const zt_session_info *info = NULL;
    zt_session_status st =
        zt_session_lookup_hash(r->sessions, s->id_hash, r->host, zt_portal_now(), false, &info);
    if (st != ZT_SESSION_VALID || info == NULL || info->absolute_expires_at <= 0)
        return false;
    *out = info->absolute_expires_at;
    return true;
}

static void approve_or_deny(zt_local_req *r, const zt_portal_sess *s, const zt_agent_pending *p,
                            bool approve)
{
    zt_agent_approval by = {.approve = approve,
                            .auth_time = s->auth_time,
                            .mfa_time = s->mfa_time,
                            .amr = s->amr,
                            .has_aaguid = s->has_passkey_aaguid};
    snprintf(by.user_id, sizeof(by.user_id), "%s", s->user_id);
    snprintf(by.email, sizeof(by.email), "%s", s->email);
    snprintf(by.mfa_method, sizeof(by.mfa_method), "%s", s->mfa_method);
    memcpy(by.aaguid, s->passkey_aaguid, sizeof(by.aaguid));
    if (approve && !approving_session_end(r, s, &by.expires_cap)) {
        zt_portal_unavailable(r, "agent sign-in: session store unavailable");
        return;
    }
    int rc = zt_agent_signin_decide(r->svc->devices, r, p, &by, zt_portal_now());
    if (rc == -ENOENT) {
        ask_code(r, 400, AG_BAD_CODE);
        return;
    }
    if (rc != 0) {
        zt_portal_unavailable(r, rc == -EPIPE ? "agent sign-in: audit log unavailable"
                                              : "agent sign-in: store unavailable");
        return;
    }
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->log_detail = approve ? "agent sign-in approved" : "agent sign-in denied";
    int hr = zt_html_begin(b, r->lang, AG_TITLE);
    hr = hr ? hr : zt_buf_printf(b, "<p id=\"%s\">", approve ? "agent-approved" : "agent-denied");
    hr = hr ? hr : zt_html_msg(b, r->lang, approve ? AG_APPROVED : AG_DENIED);
    hr = hr ? hr : zt_buf_append_str(b, "</p>");
    send_page(r, 200, hr);
}

static void post(zt_local_req *r)
{
    zt_form form = {0};
    zt_portal_sess s;
    if (!zt_portal_read_form(r, &form))
        return;
    if (!zt_portal_csrf_ok(r, &form) || !page_session(r, &s)) {
        zt_form_dispose(&form);
        return;
    }
    size_t n = 0;
    const char *code = zt_form_get(&form, "code", &n);
    const char *action = zt_form_get(&form, "action", NULL);
    zt_agent_pending p;
    zt_agent_lookup lk = zt_agent_signin_lookup(r->svc->devices, r, s.user_id, s.email,
                                                code ? code : "", zt_portal_now(), &p);
    bool approve = action != NULL && strcmp(action, "approve") == 0;
    bool deny = action != NULL && strcmp(action, "deny") == 0;
    zt_form_dispose(&form);
    if (lk == ZT_AGENT_LOOKUP_THROTTLED) {
        ask_code(r, 429, AG_THROTTLED);
    } else if (lk == ZT_AGENT_LOOKUP_BAD_CODE) {
        ask_code(r, 400, AG_BAD_CODE);
    } else if (lk == ZT_AGENT_LOOKUP_NOT_OWNER) {
        refused_page(r, 403, AG_NOT_OWNER, NULL, "agent sign-in for another user's device");
    } else if (lk != ZT_AGENT_LOOKUP_OK) {
        zt_portal_unavailable(r, "agent sign-in: store or audit log unavailable");
    } else if (deny) {
        approve_or_deny(r, &s, &p, false);
    } else {
        decision d;
        decide(r, &s, &p, &d);
        if (refuse_by_policy(r, &p, &d, &s))
            ;
        else if (approve)
            approve_or_deny(r, &s, &p, true);
        else
            confirm_page(r, &p, &d);
    }
    zt_wipe(&p, sizeof(p));
}

void zt_portal_agent_approve(void *devices, zt_local_req *r)
{
    if (devices == NULL || strcmp(r->path, AGENT_APPROVE) != 0) {
        zt_portal_fail(r, 404, PM_TITLE_NOT_FOUND, PM_BODY_NOT_FOUND, "no such page");
        return;
    }
    if (!zt_portal_method_ok(r, true))
        return;
    if (zt_portal_is_post(r)) {
        post(r);
        return;
    }
    zt_portal_sess s;
    if (page_session(r, &s))
        ask_code(r, 200, MSG_NONE);
}
