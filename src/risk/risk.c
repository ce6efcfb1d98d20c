/* The risk engine: gathers the facts for a sign-in (feeds verdicts from the caller, the
 * source's failure telemetry, the user's learned history from the store), runs the pure
 * detections, persists them, and applies remediation and admin decisions through the state
 * machine in state.c. Sign-ins with any detection are not learned until remediated, so an
 * attacker's sign-in never makes its own properties familiar. */
#define ZT_RISK_INTERNAL
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/net.h"
#include "risk/risk.h"

struct zt_risk_engine {
    zt_risk_cfg cfg;
    zt_store *store;
    zt_risk_sources *sources;
};

void zt_risk_cfg_defaults(zt_risk_cfg *cfg)
{
    *cfg = (zt_risk_cfg){
        .spray_accounts = 10,
        .spray_passwords = 2,
        .spray_window_s = 600,
        .reputation_accounts = 10,
        .reputation_window_s = 600,
        .reputation_ttl_s = 86400,
        .sources_max = ZT_RISK_SOURCES_DEFAULT,
        .travel_kmh = 900,
        .travel_min_km = 100,
        .travel_accuracy_km = 200,
        .learning_s = 14 * 86400,
        .learning_sign_ins = 10,
        .unfamiliar_medium = 3,
    };
}

int zt_risk_cfg_check(const zt_risk_cfg *c, char *err, size_t errlen)
{
    const char *why = NULL;
    if (c->spray_accounts < 1 || c->spray_accounts > ZT_RISK_TRACK_MAX ||
        c->reputation_accounts < 1 || c->reputation_accounts > ZT_RISK_TRACK_MAX)
        why = "account thresholds must be 1..64";
    else if (c->spray_passwords < 1 || c->spray_passwords >= ZT_RISK_TRACK_PW)
        why = "spray password threshold must be 1..7";
    else if (c->spray_window_s <= 0 || c->reputation_window_s <= 0 || c->reputation_ttl_s <= 0 ||
             c->learning_s <= 0)
        why = "windows, TTLs and the learning period must be positive";
    else if (c->sources_max < 1 || c->sources_max > ZT_RISK_SOURCES_MAX)
        why = "sources_max must be 1..1048576";
    else if (!(c->travel_kmh > 0) || !(c->travel_min_km >= 0) || !(c->travel_accuracy_km >= 0))
        why = "travel speed must be positive, distances not negative";
    else if (c->learning_sign_ins < 1 || c->unfamiliar_medium < 1)
        why = "learning sign-ins and unfamiliar_medium must be at least 1";
    if (why == NULL)
        return 0;
    snprintf(err, errlen, "risk: %s", why);
    return -EINVAL;
}

zt_risk_engine *zt_risk_new(const zt_risk_cfg *cfg, zt_store *store, char *err, size_t errlen)
{
    zt_risk_cfg defaults;
    if (cfg == NULL) {
        zt_risk_cfg_defaults(&defaults);
        cfg = &defaults;
    }
    if (zt_risk_cfg_check(cfg, err, errlen) != 0)
        return NULL;
    zt_risk_engine *eng = calloc(1, sizeof(*eng));
    if (eng == NULL || (eng->sources = zt_risk_sources_new(cfg)) == NULL) {
        free(eng);
        snprintf(err, errlen, "risk: out of memory");
        return NULL;
    }
    eng->cfg = *cfg;
    eng->store = store;
    return eng;
}

void zt_risk_free(zt_risk_engine *eng)
{
    if (eng == NULL)
        return;
    zt_risk_sources_free(eng->sources);
    free(eng);
}

unsigned zt_risk_on_failure(zt_risk_engine *eng, const char *account, const struct sockaddr *ip,
                            const unsigned char *pw_tag, int64_t now)
{
    return eng != NULL ? zt_risk_sources_failure(eng->sources, account, ip, pw_tag, now) : 0;
}

int zt_risk_set_shared(zt_risk_engine *eng, const unsigned char key[ZT_RISK_SHARED_KEY_LEN])
{
    if (eng == NULL)
        return -EINVAL;
    return zt_risk_sources_share(eng->sources, eng->store, key);
}

int zt_risk_sync(zt_risk_engine *eng, int64_t now)
{
    return eng != NULL ? zt_risk_sources_sync(eng->sources, now) : 0;
}

uint64_t zt_risk_shared_errors(zt_risk_engine *eng)
{
    return eng != NULL ? zt_risk_sources_shared_errors(eng->sources) : 0;
}

zt_risk zt_risk_ip_level(zt_risk_engine *eng, const zt_ip_info *info, const struct sockaddr *ip,
                         int64_t now)
{
    if (info != NULL && (info->anonymous || info->malicious))
        return ZT_RISK_MEDIUM;
    if (eng != NULL && zt_risk_sources_flags(eng->sources, ip, now) != 0)
        return ZT_RISK_MEDIUM;
    return ZT_RISK_NONE;
}

/* ---- sign-in ---- */

static int check_sign_in(const zt_risk_engine *eng, const zt_risk_sign_in *in)
{
    if (eng == NULL || eng->store == NULL || in == NULL || in->user_id == NULL || in->now <= 0)
        return -EINVAL;
    return 0;
}

/* The sign-in as history sees it. A location counts only when accurate enough and not a VPN's
 * egress, so travel is always measured between two places the user really was. */
static void build_signin(const zt_risk_engine *eng, const zt_risk_sign_in *in, zt_store_signin *si)
{
    memset(si, 0, sizeof(*si));
    snprintf(si->user_id, sizeof(si->user_id), "%s", in->user_id);
    si->at = in->now;
    if (in->ip != NULL && (in->ip->sa_family == AF_INET || in->ip->sa_family == AF_INET6))
        zt_sockaddr_ip(in->ip, si->ip);
    zt_risk_ip_prefix(in->ip, si->props[ZT_STORE_PROP_IP_PREFIX], ZT_STORE_RISK_PROP_MAX + 1);
    const zt_ip_info *info = in->info;
    if (info != NULL && info->asn != 0)
        snprintf(si->props[ZT_STORE_PROP_ASN], ZT_STORE_RISK_PROP_MAX + 1, "%u", info->asn);
    if (info != NULL && info->country[0] != '\0')
        snprintf(si->props[ZT_STORE_PROP_COUNTRY], ZT_STORE_RISK_PROP_MAX + 1, "%.2s",
                 info->country);
    if (in->device_id != NULL && in->device_id[0] != '\0')
        snprintf(si->props[ZT_STORE_PROP_DEVICE], ZT_STORE_RISK_PROP_MAX + 1, "%s", in->device_id);
    if (in->user_agent != NULL && in->user_agent[0] != '\0')
        zt_risk_ua_family(in->user_agent, si->props[ZT_STORE_PROP_UA], ZT_STORE_RISK_PROP_MAX + 1);
    if (info != NULL && info->has_location && !in->vpn_egress &&
        info->accuracy_km <= eng->cfg.travel_accuracy_km) {
        si->has_location = true;
        si->lat = info->latitude;
        si->lon = info->longitude;
        si->accuracy_km = info->accuracy_km;
    }
}

int zt_risk_assess(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *out)
{
    memset(out, 0, sizeof(*out));
    int rc = check_sign_in(eng, in);
    if (rc != 0)
        return rc;
    zt_store_signin si;
    zt_store_signin_profile prof;
    build_signin(eng, in, &si);
    if ((rc = zt_store_signin_profile_get(eng->store, &si, &prof)) != 0)
        return rc;
    unsigned flags = zt_risk_sources_flags(eng->sources, in->ip, in->now);
    zt_risk_facts f = {
        .now = in->now,
        .ip = in->info,
        .leaked = in->leaked,
        .vpn_egress = in->vpn_egress,
        .spray_source = (flags & ZT_RISK_SRC_SPRAY) != 0,
        .reputation_source = (flags & ZT_RISK_SRC_REPUTATION) != 0,
        .history = &prof,
    };
    for (int i = 0; i < ZT_STORE_N_PROPS; i++)
        f.known_props[i] = si.props[i][0] != '\0';
    zt_risk_detect(&eng->cfg, &f, out);
    return 0;
}

int zt_risk_record(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *a)
{
    int rc = check_sign_in(eng, in);
    if (rc != 0 || a == NULL || a->n > ZT_RISK_DETECTIONS_MAX)
        return rc != 0 ? rc : -EINVAL;
    zt_store_signin si;
    build_signin(eng, in, &si);
    zt_store_detection *dets = a->n > 0 ? calloc(a->n, sizeof(*dets)) : NULL;
    if (a->n > 0 && dets == NULL)
        return -ENOMEM;
    bool hash = in->session_hash != NULL && in->session_hash[0] != '\0';
    for (size_t i = 0; i < a->n; i++) {
        zt_store_detection *d = &dets[i];
        snprintf(d->user_id, sizeof(d->user_id), "%s", in->user_id);
        snprintf(d->type, sizeof(d->type), "%s", zt_risk_type_name(a->det[i].type));
        d->user_activity = zt_risk_type_is_user(a->det[i].type);
        d->level = (int)a->det[i].level;
        d->state = ZT_STORE_RISK_AT_RISK;
        snprintf(d->evidence, sizeof(d->evidence), "%s", a->det[i].evidence);
        snprintf(d->ip, sizeof(d->ip), "%s", si.ip);
        if (hash)
            snprintf(d->session_hash, sizeof(d->session_hash), "%s", in->session_hash);
        d->created_at = in->now;
    }
    bool learn = a->n == 0;
    rc = zt_store_signin_record(eng->store, &si, learn, !learn && hash ? in->session_hash : NULL,
                                dets, a->n);
    if (rc == 0) {
        for (size_t i = 0; i < a->n; i++)
            a->det[i].id = dets[i].id;
        a->learned = learn;
        a->parked = !learn && hash;
        a->reload_sessions = a->n > 0;
    }
    free(dets);
    return rc;
}

int zt_risk_on_sign_in(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *out)
{
    int rc = zt_risk_assess(eng, in, out);
    return rc != 0 ? rc : zt_risk_record(eng, in, out);
}

int zt_risk_user_level(zt_risk_engine *eng, const char *user_id, int64_t now, zt_risk *out)
{
    int level = 0;
    if (eng == NULL || out == NULL)
        return -EINVAL;
    int rc = zt_store_user_risk(eng->store, user_id, now, &level);
    *out = rc == 0 && level >= 0 && level <= ZT_RISK_HIGH ? (zt_risk)level : ZT_RISK_NONE;
    return rc;
}

/* ---- state changes ---- */

const char *zt_risk_event_name(zt_risk_event_kind k)
{
    static const char *const names[] = {"risk.detected", "risk.remediated", "risk.dismissed",
                                        "risk.confirmed_compromised"};
    return (unsigned)k < 4 ? names[k] : "risk.unknown";
}

static void event_fill(zt_risk_event *ev, zt_risk_event_kind kind, const char *user_id, int64_t id,
                       uint64_t n, const char *detail)
{
    if (ev == NULL)
        return;
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    snprintf(ev->user_id, sizeof(ev->user_id), "%s", user_id != NULL ? user_id : "");
    ev->detection_id = id;
    ev->n = n;
    snprintf(ev->detail, sizeof(ev->detail), "%s", detail);
    ev->reload_sessions = n > 0;
}

/* Move the matching detections to `to` along the state machine. */
static int transition(zt_risk_engine *eng, zt_store_risk_update *u, zt_risk_state to,
                      const char *detail, int64_t now, uint64_t *n)
{
    if (eng == NULL || now <= 0)
        return -EINVAL;
    u->to = to;
    u->from_mask = zt_risk_transition_from(to);
    u->detail = detail;
    u->now = now;
    return zt_store_detection_update(eng->store, u, n);
}

int zt_risk_remediate_sign_in(zt_risk_engine *eng, const char *session_hash, int64_t now,
                              zt_risk_event *ev)
{
    static const char detail[] = "userPassedMFADrivenByRiskBasedPolicy";
    zt_store_risk_update u = {.session_hash = session_hash, .sign_in_only = true};
    uint64_t n = 0;
    int rc = transition(eng, &u, ZT_STORE_RISK_REMEDIATED, detail, now, &n);
    if (rc == 0)
        rc = zt_store_signin_learn_pending(eng->store, session_hash, now, NULL);
    if (rc == 0)
        event_fill(ev, ZT_RISK_EV_REMEDIATED, NULL, 0, n, detail);
    return rc;
}

int zt_risk_remediate_user(zt_risk_engine *eng, const char *user_id, int64_t now, zt_risk_event *ev)
{
    static const char detail[] = "userPerformedSecuredPasswordChange";
    zt_store_risk_update u = {.user_id = user_id};
    uint64_t n = 0;
    int rc = transition(eng, &u, ZT_STORE_RISK_REMEDIATED, detail, now, &n);
    if (rc == 0)
        event_fill(ev, ZT_RISK_EV_REMEDIATED, user_id, 0, n, detail);
    return rc;
}

int zt_risk_dismiss(zt_risk_engine *eng, int64_t id, int64_t now, zt_risk_event *ev)
{
    zt_store_detection d;
    if (eng == NULL)
        return -EINVAL;
    int rc = zt_store_detection_get(eng->store, id, &d);
    if (rc != 0)
        return rc;
    const char *detail =
        d.user_activity ? "adminDismissedDetection" : "adminDismissedRiskForSignIn";
    zt_store_risk_update u = {.id = id};
    uint64_t n = 0;
    rc = transition(eng, &u, ZT_STORE_RISK_DISMISSED, detail, now, &n);
    if (rc == 0)
        event_fill(ev, ZT_RISK_EV_DISMISSED, d.user_id, id, n, detail);
    return rc;
}

int zt_risk_dismiss_user(zt_risk_engine *eng, const char *user_id, int64_t now, zt_risk_event *ev)
{
    static const char detail[] = "adminDismissedAllRiskForUser";
    zt_store_risk_update u = {.user_id = user_id};
    uint64_t n = 0;
    int rc = transition(eng, &u, ZT_STORE_RISK_DISMISSED, detail, now, &n);
    if (rc == 0)
        event_fill(ev, ZT_RISK_EV_DISMISSED, user_id, 0, n, detail);
    return rc;
}

/* A high user-risk detection that no sign-in raised: an admin's confirmation, a cloned passkey,
 * a user's "this wasn't me". detail may be NULL; *id is the new detection's. */
static int add_user_detection(zt_store *st, const char *user_id, zt_risk_type type,
                              zt_store_risk_state state, const char *detail, const char *evidence,
                              int64_t now, int64_t *id)
{
    zt_store_detection d;
    memset(&d, 0, sizeof(d));
    snprintf(d.user_id, sizeof(d.user_id), "%s", user_id);
    snprintf(d.type, sizeof(d.type), "%s", zt_risk_type_name(type));
    d.user_activity = true;
    d.level = ZT_RISK_HIGH;
    d.state = state;
    snprintf(d.detail, sizeof(d.detail), "%s", detail != NULL ? detail : "");
    snprintf(d.evidence, sizeof(d.evidence), "%s", evidence);
    d.created_at = now;
    int rc = zt_store_detection_add(st, &d);
    *id = d.id;
    return rc;
}

int zt_risk_confirm_compromised(zt_risk_engine *eng, const char *user_id, const char *evidence,
                                int64_t now, zt_risk_event *ev)
{
    static const char detail[] = "adminConfirmedUserCompromised";
    zt_store_risk_update u = {.user_id = user_id};
    uint64_t n = 0;
    /* Confirm what is open first; the new detection is then the one that says who did it. */
    int rc = transition(eng, &u, ZT_STORE_RISK_CONFIRMED_COMPROMISED, detail, now, &n);
    if (rc != 0)
        return rc;
    int64_t id = 0;
    rc = add_user_detection(
        eng->store, user_id, ZT_DET_ADMIN_CONFIRMED_COMPROMISED,
        ZT_STORE_RISK_CONFIRMED_COMPROMISED, detail,
        evidence != NULL && evidence[0] != '\0' ? evidence : "{\"by\":\"admin\"}", now, &id);
    if (rc == 0)
        event_fill(ev, ZT_RISK_EV_CONFIRMED_COMPROMISED, user_id, id, n + 1, detail);
    return rc;
}

/* An open (at_risk) detection with its event; the event's detail stays empty. */
static int add_open_detection(zt_store *st, const char *user_id, zt_risk_type type,
                              const char *evidence, int64_t now, zt_risk_event *ev)
{
    int64_t id = 0;
    int rc = add_user_detection(st, user_id, type, ZT_STORE_RISK_AT_RISK, NULL, evidence, now, &id);
    if (rc == 0) {
        event_fill(ev, ZT_RISK_EV_DETECTED, user_id, id, 1, "");
        if (ev != NULL)
            ev->detail[0] = '\0';
    }
    return rc;
}

int zt_risk_cloned_credential(zt_store *st, const char *user_id, const char *evidence, int64_t now,
                              zt_risk_event *ev)
{
    return add_open_detection(st, user_id, ZT_DET_CLONED_CREDENTIAL,
                              evidence != NULL ? evidence : "{}", now, ev);
}

int zt_risk_report_suspicious(zt_risk_engine *eng, const char *user_id, const char *evidence,
                              int64_t now, zt_risk_event *ev)
{
    if (eng == NULL || user_id == NULL || user_id[0] == '\0')
        return -EINVAL;
    return add_open_detection(
        eng->store, user_id, ZT_DET_USER_REPORTED_SUSPICIOUS,
        evidence != NULL && evidence[0] != '\0' ? evidence : "{\"by\":\"user\"}", now, ev);
}
