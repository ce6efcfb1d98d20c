/* The facts of one access decision (access.h): the policy input every decision point builds
 * the same way, from a neutral request. Moved here from the proxy's pipeline so the identity
 * provider decides at sign-in exactly as the proxy decides per request. */
#include "access/access.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "device/platform.h"
#include "lib/time.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "session/session.h"

/* ---- the request ---------------------------------------------------------------------- */

static bool name_is(zt_span name, const char *s, size_t n)
{
    return name.n == n && strncasecmp(name.p, s, n) == 0;
}

static void keep_header(zt_span *slot, unsigned *seen, zt_span value)
{
    *slot = value;
    if (*seen < 2) /* only "once" or "more than once" matters; no wrap-around */
        (*seen)++;
}

void zt_access_request_header(zt_access_request *rq, zt_span name, zt_span value)
{
    /* Names differ in length: one compare per header at most. */
    switch (name.n) {
    case 6:
        if (name_is(name, "Cookie", 6) && rq->n_cookies < ZT_ACCESS_COOKIES_MAX)
            rq->cookies[rq->n_cookies++] = value;
        return;
    case 10:
        if (name_is(name, "User-Agent", 10))
            keep_header(&rq->user_agent, &rq->n_user_agent, value);
        return;
    case 16:
        if (name_is(name, "Sec-CH-UA-Mobile", 16))
            keep_header(&rq->ch_mobile, &rq->n_ch_mobile, value);
        return;
    case 18:
        if (name_is(name, "Sec-CH-UA-Platform", 18))
            keep_header(&rq->ch_platform, &rq->n_ch_platform, value);
        return;
    default:
        return;
    }
}

zt_client_type zt_access_client_type(int method, const zt_span *sec_fetch_mode,
                                     const zt_span *accept)
{
    if (method != HTTP_GET && method != HTTP_HEAD)
        return ZT_CLIENT_API;
    if (sec_fetch_mode != NULL && name_is(*sec_fetch_mode, "navigate", 8))
        return ZT_CLIENT_BROWSER;
    if (accept == NULL)
        return ZT_CLIENT_API;
    for (size_t i = 0; i + 9 <= accept->n; i++)
        if (strncasecmp(accept->p + i, "text/html", 9) == 0)
            return ZT_CLIENT_BROWSER;
    return ZT_CLIENT_API;
}

void zt_access_request_from_local(const zt_local_req *r, zt_access_request *rq)
{
    *rq = (zt_access_request){
        .app = r->app,
        .client_addr = (const struct sockaddr *)&r->client_addr,
        .cert_device_id = r->device_id,
        .https = r->https,
        .client = zt_access_client_type(r->method, zt_local_header_get(r, "Sec-Fetch-Mode"),
                                        zt_local_header_get(r, "Accept")),
        .now = (int64_t)(zt_wall_us() / 1000000),
    };
    for (size_t i = 0; i < r->n_headers; i++)
        zt_access_request_header(rq, r->headers[i].name, r->headers[i].value);
}

/* ---- the policy input ------------------------------------------------------------------ */

/* What the feeds and the risk engine say about the address, and the risk the session carries
 * (sign-in risk from its sign-in, user risk from the user's open detections). A session's
 * sign-in risk is raised, never lowered, by what the address looks like now. */
static void fill_risk(zt_services *svc, const zt_access_request *rq, zt_policy_input *in,
                      zt_access_facts *facts)
{
    zt_ip_info info;
    zt_feeds_lookup(svc != NULL ? atomic_load(&svc->feeds) : NULL, rq->client_addr, &info);
    memcpy(in->country, info.country, sizeof(in->country));
    memcpy(facts->country, info.country, sizeof(facts->country));
    in->anonymous_ip = info.anonymous;
    in->user_risk = rq->user_risk;
    /* The password_change control is met by the secure password change that remediates the
     * user's risk (Entra's "require password change"): owed while any user risk is open. */
    in->password_change_required = rq->user_risk != ZT_RISK_NONE;
    zt_risk now_ip =
        zt_risk_ip_level(svc != NULL ? svc->risk : NULL, &info, rq->client_addr, in->now);
    in->sign_in_risk = rq->sign_in_risk > now_ip ? rq->sign_in_risk : now_ip;
}

/* The device a browser was tied to at enrolment (docs/DEVICES.md): a valid binding cookie for
 * the session's user in any Cookie header. */
static bool bound_device(const zt_secretbox *sb, const zt_access_request *rq,
                         char id[ZT_DEVICE_ID_LEN + 1])
{
    for (unsigned i = 0; sb != NULL && i < rq->n_cookies; i++)
        if (zt_device_binding_check(sb, &rq->cookies[i], rq->user_id, rq->https, rq->now, id))
            return true;
    return false;
}

/* The verified client certificate's device; without one, a browser's binding cookie. Either
 * way the device must be known (not revoked) and the session user's; a binding also ends with
 * the device certificate. Its state lands in facts->device, read only once device_id is set. */
static void fill_device(zt_services *svc, const zt_access_request *rq, zt_policy_input *in,
                        zt_access_facts *facts)
{
    struct zt_devices *d = svc != NULL ? svc->devices : NULL;
    if (d == NULL || rq->user_id == NULL)
        return;
    char bound[ZT_DEVICE_ID_LEN + 1];
    const char *id = rq->cert_device_id;
    bool by_cookie = id == NULL || id[0] == '\0';
    if (by_cookie && !bound_device(svc->secrets, rq, bound))
        return;
    if (by_cookie)
        id = bound;
    zt_device_state *st = &facts->device;
    if (zt_devices_state(d, id, in->now, st) != 0 || !st->known ||
        strcmp(st->user_id, rq->user_id) != 0 || (by_cookie && st->cert_not_after <= in->now))
        return;
    in->device_known = true;
    in->device_enrolled = true;
    in->device_compliant = st->compliant;
    in->device_risk = (zt_risk)st->risk;
    size_t n = strnlen(id, ZT_DEVICE_ID_LEN);
    memcpy(facts->device_id, id, n);
    facts->device_id[n] = '\0';
}

/* conditions.device.platforms: the enrolled device's posture, else Sec-CH-UA-Platform, else the
 * User-Agent (device/platform.h; docs/POLICY.md "Device platform"). */
static void fill_platform(const zt_access_request *rq, zt_policy_input *in, zt_access_facts *facts)
{
    zt_platform_request pr = {.posture_os_id = facts->device_id[0] ? facts->device.os_id : ""};
    if (rq->n_user_agent == 1) {
        pr.user_agent = rq->user_agent.p;
        pr.user_agent_len = rq->user_agent.n;
    }
    if (rq->n_ch_platform == 1) {
        pr.ch_platform = rq->ch_platform.p;
        pr.ch_platform_len = rq->ch_platform.n;
    }
    if (rq->n_ch_mobile == 1) {
        pr.ch_mobile = rq->ch_mobile.p;
        pr.ch_mobile_len = rq->ch_mobile.n;
    }
    zt_platform_result res;
    zt_platform_detect(&pr, &res);
    in->platform = res.platform;
    facts->platform = zt_platform_name(res.platform);
    facts->platform_source = zt_platform_source_name(res.source);
}

/* Every attribute `ztgate whatif` takes is filled here, so enforcement and its explanation see
 * the same inputs (tests/integ/test_differential.py holds them to it). The facts' large device
 * state is not cleared: it is read only once device_id names a device. */
void zt_access_input(zt_services *svc, const zt_access_request *rq, zt_policy_input *in,
                     zt_access_facts *facts)
{
    facts->country[0] = '\0';
    facts->device_id[0] = '\0';
    facts->platform = NULL;
    facts->platform_source = NULL;
    *in = (zt_policy_input){
        .user_id = rq->user_id,
        .email = rq->email,
        .groups = rq->groups,
        .n_groups = rq->n_groups,
        /* No app is a caller's mistake: no app-specific policy can apply, nothing crashes. */
        .app = rq->app != NULL ? rq->app->name : NULL,
        .sensitivity = rq->app != NULL ? (int)rq->app->sensitivity : -1,
        .ip = rq->client_addr,
        .client = rq->client,
        .now = rq->now,
        .auth_time = rq->auth_time,
        .mfa_time = rq->mfa_time,
        /* A passkey or security key proved as MFA (amr hwk or swk, and mfa). */
        .mfa_phishing_resistant = zt_amr_phishing_resistant(rq->amr),
        /* Which passkey, for authentication strengths (grant.authentication_strength). */
        .passkey_aaguid = rq->passkey_aaguid,
    };
    fill_risk(svc, rq, in, facts);
    fill_device(svc, rq, in, facts);
    fill_platform(rq, in, facts);
}

/* ---- the decision ---------------------------------------------------------------------- */

const char *zt_access_decide(const zt_policy_set *set, const zt_policy_input *in,
                             zt_policy_result *res)
{
    zt_policy_eval(set, in, res);
    int cause = zt_policy_cause(set, in, res); /* the policy whatif names too */
    return cause >= 0           ? zt_policy_name(set, cause)
           : res->n_matched > 0 ? zt_policy_name(set, res->matched[0])
                                : NULL;
}

/* Appends s at *at when it fits in cap; *at counts on regardless (the length to report). */
static void names_put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
    if (out != NULL && *at + n < cap)
        memcpy(out + *at, s, n);
    *at += n;
}

size_t zt_access_policy_names(const zt_policy_set *set, const zt_policy_result *res, char *out,
                              size_t cap)
{
    static const char ro[] = " (report-only)", more[] = ",...";
    size_t at = 0;
    for (size_t i = 0; i < res->n_matched; i++) {
        const char *name = zt_policy_name(set, res->matched[i]);
        if (i > 0)
            names_put(out, cap, &at, ",", 1);
        names_put(out, cap, &at, name, strlen(name));
        if (zt_policy_report_only(set, res->matched[i]))
            names_put(out, cap, &at, ro, sizeof(ro) - 1);
    }
    if (res->matched_truncated && res->n_matched > 0)
        names_put(out, cap, &at, more, sizeof(more) - 1);
    if (out != NULL && cap > 0)
        out[at < cap ? at : 0] = '\0';
    return at;
}

zt_page_device zt_access_page_device(const zt_access_facts *facts)
{
    if (facts->device_id[0] == '\0')
        return (zt_page_device){0};
    const zt_device_state *st = &facts->device;
    return (zt_page_device){.failed = st->failed[0] ? st->failed : NULL,
                            .why = st->n_why > 0 ? st->why : NULL,
                            .n_why = st->n_why,
                            .facts = st->facts[0] ? st->facts : NULL};
}
