/* Conditional Access at SAML SSO: the one place the IdP asks for a decision. src/access builds
 * the policy input from the session and this request and evaluates the generation's compiled
 * policy set, exactly as the proxy does for a request to the app, so what `ztgate whatif`
 * explains for the app is what the SSO endpoint enforces. Report-only policies are recorded
 * (in the audit record), never enforced. */
#include <string.h>

#include "http/handler.h"
#include "idp/saml.h"
#include "portal/portal.h"

static void copy_out(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void request_of(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                       const char *const *groups, size_t n_groups, zt_access_request *rq)
{
    zt_portal_access_request(r, s, app, rq); /* the SP, not whatever app the host matched */
    rq->groups = groups;
    rq->n_groups = n_groups;
}

static void verdict_of(const zt_policy_result *res, const zt_policy_input *in, zt_saml_decision *d)
{
    if (res->outcome == ZT_OUTCOME_ALLOW) {
        d->verdict = ZT_SAML_ALLOW;
    } else if (res->outcome == ZT_OUTCOME_BLOCK) {
        d->verdict = ZT_SAML_BLOCK;
        d->device_decided = d->facts.device.failed[0] != '\0' && in->device_risk >= ZT_RISK_HIGH;
    } else if (res->reauth_required) {
        d->verdict = ZT_SAML_SIGN_IN;
    } else if (res->next_control == ZT_CTL_MFA) {
        d->verdict = ZT_SAML_MFA;
    } else {
        d->verdict = ZT_SAML_UNMET;
        d->control = (int)res->next_control;
    }
}

void zt_saml_decide(zt_local_req *r, const zt_portal_sess *s, const zt_app_cfg *app,
                    const char *const *groups, size_t n_groups, zt_saml_decision *d)
{
    memset(d, 0, sizeof(*d));
    if (r->policies == NULL) { /* no policies configured: a signed-in user reaches the app */
        d->verdict = ZT_SAML_ALLOW;
        return;
    }
    zt_access_request rq;
    zt_policy_input in;
    zt_policy_result res;
    request_of(r, s, app, groups, n_groups, &rq);
    zt_access_input(r->svc, &rq, &in, &d->facts);
    copy_out(d->policy, sizeof(d->policy), zt_access_decide(r->policies, &in, &res));
    zt_access_policy_names(r->policies, &res, d->policies, sizeof(d->policies));
    if (res.report_only_outcome != ZT_OUTCOME_ALLOW)
        d->report_only = zt_outcome_name(res.report_only_outcome);
    verdict_of(&res, &in, d);
}
