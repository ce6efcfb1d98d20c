/* Reference evaluator: reads zt_config directly and tests every policy in order with plain
 * string compares, as the semantics in policy.h say. Written apart from eval.c on purpose; the
 * two meeting on random inputs is the property test. */
#include "policy/reference.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"
#include "policy/policy_int.h"

struct zt_policy_ref {
    const zt_config *cfg;
    zt_tz *tz; /* one per policy (loaded only for policies with a time condition) */
};

zt_policy_ref *zt_policy_ref_new(const zt_config *cfg, char *err, size_t errlen)
{
    zt_policy_ref *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->tz = calloc(cfg->n_policies + 1, sizeof(zt_tz))) == NULL) {
        free(r);
        zt_errf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const zt_cond_cfg *cd = &cfg->policies[i].conditions;
        if (cd->has_time && zt_tz_load(&r->tz[i], cd->time.timezone, err, errlen) != 0) {
            zt_policy_ref_free(r);
            return NULL;
        }
    }
    return r;
}

void zt_policy_ref_free(zt_policy_ref *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->cfg->n_policies; i++)
        zt_tz_dispose(&r->tz[i]);
    free(r->tz);
    free(r);
}

/* ---------------------------------------------------------------------------------------------
 * Assignments */

static bool zt_ref_user(const zt_policy_input *in, const char *w)
{
    if (strcmp(w, "all") == 0)
        return true;
    if (strncmp(w, "group:", 6) == 0) {
        for (size_t i = 0; i < in->n_groups; i++)
            if (in->groups[i] != NULL && zt_policy_ieq(in->groups[i], w + 6))
                return true;
        return false;
    }
    return in->email != NULL && zt_policy_ieq(in->email, w);
}

static bool zt_ref_app(const zt_policy_input *in, const char *w)
{
    if (strcmp(w, "all") == 0)
        return true;
    if (strncmp(w, "sensitivity:", 12) == 0)
        return in->sensitivity >= 0 && in->sensitivity <= ZT_SENS_RESTRICTED &&
               strcmp(w + 12, zt_sensitivity_name((zt_sensitivity)in->sensitivity)) == 0;
    return in->app != NULL && strcmp(in->app, w) == 0;
}

static bool zt_ref_in_location(const zt_location_cfg *loc, const zt_policy_input *in)
{
    for (size_t i = 0; in->ip != NULL && i < loc->n_cidrs; i++)
        if (zt_cidr_contains(&loc->cidrs[i], in->ip))
            return true;
    for (size_t i = 0; i < loc->n_countries; i++)
        if (strcmp(loc->countries[i].s, in->country) == 0)
            return true;
    return false;
}

static bool zt_ref_location(const zt_config *cfg, const zt_policy_input *in, const char *w)
{
    if (strcmp(w, "all") == 0)
        return true;
    bool trusted = strcmp(w, "trusted") == 0;
    for (size_t i = 0; i < cfg->n_locations; i++) {
        const zt_location_cfg *loc = &cfg->locations[i];
        if ((trusted ? loc->trusted : strcmp(loc->name, w) == 0) && zt_ref_in_location(loc, in))
            return true;
    }
    return false;
}

typedef bool (*zt_ref_match_fn)(const zt_config *cfg, const zt_policy_input *in, const char *w);

static bool zt_ref_user_fn(const zt_config *cfg, const zt_policy_input *in, const char *w)
{
    return zt_ref_user(in, w);
}

static bool zt_ref_app_fn(const zt_config *cfg, const zt_policy_input *in, const char *w)
{
    return zt_ref_app(in, w);
}

static bool zt_ref_any(const zt_config *cfg, const zt_policy_input *in, const zt_cfg_word *v,
                       size_t n, zt_ref_match_fn fn)
{
    for (size_t i = 0; i < n; i++)
        if (fn(cfg, in, v[i].s))
            return true;
    return false;
}

bool zt_policy_cfg_targets_app(const zt_policy_cfg *p, const zt_app_cfg *app)
{
    zt_policy_input in = {.app = app->name, .sensitivity = (int)app->sensitivity};
    return zt_ref_any(NULL, &in, p->apps.include, p->apps.n_include, zt_ref_app_fn) &&
           !zt_ref_any(NULL, &in, p->apps.exclude, p->apps.n_exclude, zt_ref_app_fn);
}

/* ---------------------------------------------------------------------------------------------
 * Conditions */

static bool zt_ref_bit(unsigned mask, unsigned v)
{
    return mask == 0 || (v < 32 && (mask & (1u << v)));
}

static bool zt_ref_device(const zt_cond_cfg *cd, const zt_policy_input *in)
{
    if (!cd->has_device)
        return true;
    bool enrolled = in->device_known ? in->device_enrolled : false;
    bool compliant = in->device_known ? in->device_compliant : false;
    zt_risk risk = in->device_known ? in->device_risk : ZT_RISK_NONE;
    if (cd->device.has_enrolled && cd->device.enrolled != enrolled)
        return false;
    if (cd->device.has_compliant && cd->device.compliant != compliant)
        return false;
    return zt_ref_bit(cd->device.risk_mask, risk);
}

/* gmtime_r of the shifted instant: a second way to the local day and minute. */
static bool zt_ref_time(const zt_time_cond_cfg *t, const zt_tz *tz, int64_t now)
{
    struct tm tm;
    time_t local = (time_t)(now + zt_tz_offset(tz, now));
    if (gmtime_r(&local, &tm) == NULL)
        return false;
    unsigned minute = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
    unsigned day = (unsigned)(tm.tm_wday + 6) % 7; /* tm: 0 = Sunday; ours: 0 = Monday */
    if (t->has_from) {
        bool overnight = t->to_min < t->from_min;
        bool inside = overnight ? (minute >= t->from_min || minute < t->to_min)
                                : (minute >= t->from_min && minute < t->to_min);
        if (!inside)
            return false;
        if (overnight && minute < t->to_min)
            day = (day + 6) % 7; /* still the previous evening's window */
    }
    return zt_ref_bit(t->days_mask, day);
}

static zt_policy_miss zt_ref_test(const zt_policy_ref *r, size_t i, const zt_policy_input *in)
{
    const zt_config *cfg = r->cfg;
    const zt_policy_cfg *p = &cfg->policies[i];
    const zt_cond_cfg *cd = &p->conditions;
    if (p->state == ZT_POLICY_OFF)
        return ZT_MISS_STATE_OFF;
    if (!zt_ref_any(cfg, in, p->users.include, p->users.n_include, zt_ref_user_fn))
        return ZT_MISS_USER_NOT_INCLUDED;
    if (zt_ref_any(cfg, in, p->users.exclude, p->users.n_exclude, zt_ref_user_fn))
        return ZT_MISS_USER_EXCLUDED;
    if (!zt_ref_any(cfg, in, p->apps.include, p->apps.n_include, zt_ref_app_fn))
        return ZT_MISS_APP_NOT_INCLUDED;
    if (zt_ref_any(cfg, in, p->apps.exclude, p->apps.n_exclude, zt_ref_app_fn))
        return ZT_MISS_APP_EXCLUDED;
    if (!zt_ref_bit(cd->user_risk_mask, in->user_risk))
        return ZT_MISS_USER_RISK;
    if (!zt_ref_bit(cd->sign_in_risk_mask, in->sign_in_risk))
        return ZT_MISS_SIGN_IN_RISK;
    if (!zt_ref_device(cd, in))
        return ZT_MISS_DEVICE;
    if (cd->has_device && !zt_ref_bit(cd->device.platform_mask, in->platform))
        return ZT_MISS_PLATFORM;
    if (cd->has_locations &&
        (!zt_ref_any(cfg, in, cd->locations.include, cd->locations.n_include, zt_ref_location) ||
         zt_ref_any(cfg, in, cd->locations.exclude, cd->locations.n_exclude, zt_ref_location)))
        return ZT_MISS_LOCATION;
    if (cd->has_anonymous_ip && cd->anonymous_ip != in->anonymous_ip)
        return ZT_MISS_ANONYMOUS_IP;
    if (!zt_ref_bit(cd->client_mask, in->client))
        return ZT_MISS_CLIENT;
    if (cd->has_time && !zt_ref_time(&cd->time, &r->tz[i], in->now))
        return ZT_MISS_TIME;
    return ZT_MISS_NONE;
}

/* ---------------------------------------------------------------------------------------------
 * Decision */

typedef struct zt_ref_sum {
    bool any_block;
    int first_block;
    unsigned required, unmet, restrict_flags;
    int64_t freq;
} zt_ref_sum;

static zt_outcome zt_ref_outcome(const zt_ref_sum *s, const zt_policy_input *in)
{
    if (s->any_block)
        return ZT_OUTCOME_BLOCK;
    if (s->unmet != 0 || zt_policy_reauth(in, s->freq))
        return ZT_OUTCOME_CHALLENGE;
    return ZT_OUTCOME_ALLOW;
}

/* Straight from the config words: no strength, or the session's passkey is listed. */
static bool zt_ref_strength_met(const zt_grant_cfg *g, const zt_policy_input *in)
{
    if (!g->has_strength)
        return true;
    unsigned char id[16];
    for (size_t i = 0; in->passkey_aaguid != NULL && i < g->strength.n_aaguids; i++)
        if (g->strength.aaguids[i].s != NULL && zt_uuid_parse(g->strength.aaguids[i].s, id) &&
            memcmp(id, in->passkey_aaguid, 16) == 0)
            return true;
    return false;
}

void zt_policy_ref_eval(const zt_policy_ref *r, const zt_policy_input *in, zt_policy_result *out,
                        zt_policy_miss *misses)
{
    zt_ref_sum sum[2]; /* [0] enforced, [1] report-only */
    static const zt_control order[] = {ZT_CTL_MFA, ZT_CTL_PHISHING_RESISTANT_MFA,
                                       ZT_CTL_COMPLIANT_DEVICE, ZT_CTL_PASSWORD_CHANGE};
    memset(out, 0, sizeof(*out));
    memset(sum, 0, sizeof(sum));
    sum[0].freq = sum[1].freq = -1;
    sum[0].first_block = sum[1].first_block = -1;
    bool have[4] = {in->mfa_time > 0, in->mfa_phishing_resistant,
                    in->device_known && in->device_compliant, !in->password_change_required};
    for (size_t i = 0; i < r->cfg->n_policies; i++) {
        zt_policy_miss miss = zt_ref_test(r, i, in);
        if (misses != NULL)
            misses[i] = miss;
        if (miss != ZT_MISS_NONE)
            continue;
        const zt_policy_cfg *p = &r->cfg->policies[i];
        if (out->n_matched < ZT_POLICY_MATCH_MAX)
            out->matched[out->n_matched++] = (int)i;
        else
            out->matched_truncated = true;
        zt_ref_sum *s = &sum[p->state == ZT_POLICY_REPORT_ONLY];
        if (p->grant.block && !s->any_block) {
            s->any_block = true;
            s->first_block = (int)i;
        }
        have[1] = in->mfa_phishing_resistant && zt_ref_strength_met(&p->grant, in);
        bool any_met = false;
        for (int c = 0; c < 4; c++)
            any_met |= (p->grant.controls & order[c]) && have[c];
        for (int c = 0; c < 4; c++) {
            if (!(p->grant.controls & order[c]))
                continue;
            s->required |= order[c];
            if (p->grant.operator_or ? !any_met : !have[c])
                s->unmet |= order[c];
        }
        if (p->session.has_sign_in_frequency &&
            (s->freq < 0 || p->session.sign_in_frequency_s < s->freq))
            s->freq = p->session.sign_in_frequency_s;
        s->restrict_flags |= p->session.restrict_flags;
    }
    out->outcome = zt_ref_outcome(&sum[0], in);
    out->required = sum[0].required;
    out->unmet = sum[0].unmet;
    out->restrict_flags = sum[0].restrict_flags;
    out->sign_in_frequency_s = sum[0].freq;
    out->block_policy = sum[0].first_block;
    out->reauth_required =
        out->outcome == ZT_OUTCOME_CHALLENGE && zt_policy_reauth(in, sum[0].freq);
    if (out->outcome == ZT_OUTCOME_CHALLENGE && !out->reauth_required)
        for (int c = 0; c < 4 && out->next_control == 0; c++)
            if (sum[0].unmet & order[c])
                out->next_control = order[c];
    out->report_only_outcome = zt_ref_outcome(&sum[1], in);
    out->report_only_unmet = sum[1].unmet;
}
