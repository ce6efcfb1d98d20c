/* Forward-auth (/.ztgate/verify): nginx auth_request and Traefik forwardAuth ask whether the
 * request they describe may pass. The same session check and Conditional Access decision as
 * the proxied path (pipeline.c), answered with 200/401/403 and identity headers (authn.c),
 * and audited like any other decision. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "core/metrics.h"
#include "device/device.h"
#include "device/platform.h"
#include "http/pages.h"
#include "lib/net.h"
#include "lib/str.h"
#include "lib/time.h"
#include "proxy/proxy_int.h"
#include "risk/feeds.h"
#include "risk/risk.h"

/* The same Conditional Access decision for a forward-auth question. X-Forwarded-Method says
 * whether a read-only session may go on. */
static void verify_policy(zt_conn *c, zt_verify_result *v)
{
    zt_request *r = &c->req;
    zt_policy_input in;
    zt_policy_result res;
    zt_pipeline_decide(c, &in, &res);
    if (res.outcome == ZT_OUTCOME_ALLOW) {
        r->restrict_flags = res.restrict_flags;
        const zt_header *fm = zt_http_head_find(&c->head, "X-Forwarded-Method");
        bool unsafe = fm != NULL && !zt_span_ieq_cstr(fm->value, "GET") &&
                      !zt_span_ieq_cstr(fm->value, "HEAD") &&
                      !zt_span_ieq_cstr(fm->value, "OPTIONS");
        if ((r->restrict_flags & ZT_RESTRICT_READ_ONLY) && unsafe) {
            v->status = 403;
            v->decision = "block";
            r->decision = "block";
            r->detail = "read-only session: unsafe method refused";
        } else if (zt_authn_sign_assertion(c, &in) != 0) {
            v->status = 503;
            v->decision = "error";
            r->decision = "block";
            r->detail = "the identity assertion could not be signed";
        }
        return;
    }
    if (res.outcome == ZT_OUTCOME_BLOCK ||
        (!res.reauth_required && res.next_control != ZT_CTL_MFA)) {
        v->status = 403;
        v->decision = "block";
        r->decision = "block";
        r->detail =
            res.outcome == ZT_OUTCOME_BLOCK ? "blocked by policy" : "access requirement not met";
        return;
    }
    v->status = 401;
    v->decision = "step_up";
    r->decision = "challenge";
    v->page = res.reauth_required ? "/.ztgate/login?prompt=login&rd=" : "/.ztgate/mfa?rd=";
    r->detail = res.reauth_required ? "sign in again" : "second factor required";
}

/* forward-auth: nginx auth_request / Traefik forwardAuth ask whether the request they describe
 * may pass. Answered here, not by the portal: it is the same decision as the proxy path. */
void zt_verify_stage(zt_conn *c)
{
    zt_request *r = &c->req;
    if (c->head.body != ZT_BODY_NONE ||
        (c->head.method != HTTP_GET && c->head.method != HTTP_HEAD)) {
        zt_conn_respond_page(c, 400, MSG_BAD_REQUEST_TITLE, MSG_BAD_REQUEST_BODY,
                             "forward-auth takes GET without a body");
        return;
    }
    zt_verify_result v = zt_authn_verify(c);
    if (v.status == 200 && r->user_id != NULL)
        verify_policy(c, &v);
    char reason[300];
    snprintf(reason, sizeof(reason), "forward-auth: %s%s%s", v.decision, r->detail ? ": " : "",
             r->detail ? r->detail : "");
    if (!zt_pipeline_audit_decision(c, v.status == 200, reason)) {
        zt_pipeline_respond_audit_unavailable(c);
        return;
    }
    bool keep = c->head.keep_alive && !c->draining;
    if (zt_authn_verify_write(c, &v, &c->out, keep) < 0) {
        zt_conn_close(c);
        return;
    }
    zt_conn_answered(c, keep, r->detail);
}

bool zt_verify_path(const zt_request *r)
{
    static const char p[] = "/.ztgate/verify";
    return r->target.path_len == sizeof(p) - 1 && memcmp(r->target.path, p, sizeof(p) - 1) == 0;
}
