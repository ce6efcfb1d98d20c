/* The facts of one access decision: what Conditional Access (src/policy) is asked about a user
 * reaching an app, gathered once here for every front that decides — the proxy per request,
 * forward-auth, and the identity provider at an OIDC authorize or SAML SSO — so they all decide
 * alike, and alike with what `ztgate whatif` explains (docs/POLICY.md).
 *
 * A caller fills a zt_access_request: the session side (who signed in, when, how, with what
 * risk) from its session, the request side (app, address, device certificate, cookies, the
 * User-Agent and client hints, scheme, client type, time) from its request — the proxy from its
 * connection, a handler with zt_access_request_from_local. zt_access_input turns it into a
 * zt_policy_input (address country and anonymity from the feeds, sign-in risk raised by what the
 * address looks like now, the device and its posture, the platform) plus the zt_access_facts a
 * page, an audit record or an assertion needs. zt_access_decide evaluates a compiled policy set
 * and names the policy that decided.
 *
 * No allocation: the request holds spans into the caller's header storage, the facts are
 * fixed-size buffers, both usually on the caller's stack. Every pointer in the policy input
 * points into the request, the facts or the caller's strings: it lives as long as they do. */
#ifndef ZT_ACCESS_ACCESS_H
#define ZT_ACCESS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "device/device.h"
#include "http/handler.h"
#include "http/pages.h"
#include "http/services.h"
#include "lib/str.h"
#include "policy/policy.h"

/* Cookie headers read for a device binding; more are ignored (a browser sends one). */
#define ZT_ACCESS_COOKIES_MAX 16

typedef struct zt_access_request {
    /* ---- session side: strings owned by the caller (NULL user_id: nobody signed in) ---- */
    const char *user_id;
    const char *email;
    const char *const *groups;
    size_t n_groups;
    int64_t auth_time;                   /* primary authentication, Unix seconds (0 = none) */
    int64_t mfa_time;                    /* second factor, Unix seconds (0 = none) */
    unsigned amr;                        /* ZT_AMR_* methods (session/session.h) */
    const unsigned char *passkey_aaguid; /* 16 bytes, the session's passkey; NULL = none */
    zt_risk user_risk;                   /* the user's open detections */
    zt_risk sign_in_risk;                /* the session's sign-in */

    /* ---- request side ---- */
    const zt_app_cfg *app;                  /* the app asked for (NULL: none) */
    const struct sockaddr *client_addr;     /* NULL = unknown (matches no location) */
    const char *cert_device_id;             /* verified device client certificate; NULL/"" none */
    zt_span cookies[ZT_ACCESS_COOKIES_MAX]; /* Cookie header values (device binding) */
    unsigned n_cookies;
    /* The platform headers and how often each was sent: only one sent exactly once is read
     * (a repeated one is ambiguous — which copy would the app read?). */
    zt_span user_agent, ch_platform, ch_mobile;
    unsigned n_user_agent, n_ch_platform, n_ch_mobile;
    bool https;            /* the client used TLS (binding cookies are Secure then) */
    zt_client_type client; /* browser or API client (zt_access_client_type) */
    int64_t now;           /* Unix seconds */
} zt_access_request;

/* What the decision saw besides the policy input, for pages, audit records and assertions. */
typedef struct zt_access_facts {
    char country[3]; /* the address's ISO 3166-1 country (feeds), "" unknown */
    /* The user's enrolled device (certificate, else binding cookie), "" = none; then `device`
     * holds its state (failed rules and alerts in words and as catalogue texts, findings). */
    char device_id[ZT_DEVICE_ID_LEN + 1];
    zt_device_state device;
    const char *platform;        /* zt_platform_name of what the policies saw (static) */
    const char *platform_source; /* "posture", "client_hint", "user_agent", "none" (static) */
} zt_access_facts;

/* Take one request header into rq: Cookie, User-Agent, Sec-CH-UA-Platform and
 * Sec-CH-UA-Mobile are kept (as spans: the caller's header storage must outlive rq), the rest
 * ignored. Call for every header, in order. */
void zt_access_request_header(zt_access_request *rq, zt_span name, zt_span value);

/* Browser or API client: a GET or HEAD that navigates (Sec-Fetch-Mode: navigate) or accepts
 * text/html is a browser's; method is llhttp's (HTTP_GET, ...); NULL spans = not sent. */
zt_client_type zt_access_client_type(int method, const zt_span *sec_fetch_mode,
                                     const zt_span *accept);

/* The request side from a handler's request: app (r->app; an identity provider sets its client
 * app afterwards), address, certificate device, headers, scheme, client type, now. The session
 * side is zeroed for the caller to fill. rq points into r: it lives as long as r. */
void zt_access_request_from_local(const zt_local_req *r, zt_access_request *rq);

/* The policy input and facts of rq. svc gives the feeds snapshot, the risk engine, the device
 * registry and the binding-cookie key (each may be NULL: no country, no device). */
void zt_access_input(zt_services *svc, const zt_access_request *rq, zt_policy_input *in,
                     zt_access_facts *facts);

/* Evaluate the compiled policy set and return the name of the policy that decided (the one
 * whatif names: zt_policy_cause), else the first applicable one, else NULL. */
const char *zt_access_decide(const zt_policy_set *set, const zt_policy_input *in,
                             zt_policy_result *res);

/* The applicable policies for an audit record, "a,b (report-only),c" (",..." when there were
 * more than a result holds; "" when none), written into out when it fits in cap with its NUL
 * (else out gets ""). Returns the length of the whole text: measure with out NULL, cap 0. */
size_t zt_access_policy_names(const zt_policy_set *set, const zt_policy_result *res, char *out,
                              size_t cap);

/* The device's part of a refusal page; pointers into facts (no device: all empty). */
zt_page_device zt_access_page_device(const zt_access_facts *facts);

#endif
