/* Policy evaluation over the compiled set: no allocation, no lock, work bounded by the number of
 * candidate policies for the app (plus one trie walk and one hash per input name). The same
 * per-policy test feeds zt_policy_explain, so the two can never disagree about a policy. */
#include <netinet/in.h>
#include <string.h>

#include "policy/policy_int.h"

/* What one request looks like to the tests, computed once per evaluation. */
typedef struct zt_ex {
    const zt_policy_input *in;
    uint64_t email_hash;
    uint64_t group_hash[ZT_GROUP_HASHES];
    int64_t app; /* index in the config, -1 = unknown */
    unsigned sens_bit;
    zt_locset loc;
    unsigned risk_bit, sign_in_bit, device_risk_bit, platform_bit, client_bit;
    bool enrolled, compliant;
} zt_ex;

/* ---------------------------------------------------------------------------------------------
 * Request attributes */

static int64_t zt_ex_app(const zt_policy_set *s, const char *name)
{
    if (name == NULL || s->n_app_slots == 0)
        return -1;
    uint64_t h = zt_policy_hash(name);
    for (size_t j = (size_t)h & (s->n_app_slots - 1); s->apps[j].name != NULL;
         j = (j + 1) & (s->n_app_slots - 1))
        if (s->apps[j].hash == h && strcmp(s->apps[j].name, name) == 0)
            return s->apps[j].app;
    return -1;
}

static void zt_ex_trie(const zt_policy_set *s, uint32_t at, const uint8_t *addr, unsigned bits,
                       zt_locset *out)
{
    for (unsigned bit = 0;; bit++) {
        const zt_trie_node *n = &s->nodes[at];
        if (n->set >= 0)
            for (size_t i = 0; i < ZT_LOC_WORDS; i++)
                out->w[i] |= s->sets[n->set].w[i];
        if (bit == bits)
            return;
        at = n->child[(addr[bit / 8] >> (7 - bit % 8)) & 1];
        if (at == 0)
            return;
    }
}

static void zt_ex_locations(const zt_policy_set *s, const zt_policy_input *in, zt_locset *out)
{
    memset(out, 0, sizeof(*out));
    if (in->ip != NULL && s->nodes != NULL) {
        if (in->ip->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)in->ip;
            zt_ex_trie(s, s->root4, (const uint8_t *)&a->sin_addr, 32, out);
        } else if (in->ip->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)in->ip;
            const uint8_t *b = a->sin6_addr.s6_addr;
            if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
                zt_ex_trie(s, s->root4, b + 12, 32, out);
            else
                zt_ex_trie(s, s->root6, b, 128, out);
        }
    }
    const char *cc = in->country;
    if (s->country != NULL && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' &&
        cc[2] == '\0')
        for (size_t i = 0; i < ZT_LOC_WORDS; i++)
            out->w[i] |= s->country[(cc[0] - 'A') * 26 + (cc[1] - 'A')].w[i];
}

static unsigned zt_ex_bit(unsigned v, unsigned max)
{
    return v <= max ? 1u << v : 0;
}

static void zt_ex_init(const zt_policy_set *s, const zt_policy_input *in, zt_ex *x)
{
    x->in = in;
    x->email_hash = in->email != NULL ? zt_policy_hash(in->email) : 0;
    for (size_t i = 0; i < in->n_groups && i < ZT_GROUP_HASHES; i++)
        x->group_hash[i] = in->groups[i] != NULL ? zt_policy_hash(in->groups[i]) : 0;
    x->app = zt_ex_app(s, in->app);
    x->sens_bit = in->sensitivity >= 0 ? zt_ex_bit((unsigned)in->sensitivity, 3) : 0;
    if (s->need_loc)
        zt_ex_locations(s, in, &x->loc);
    else
        memset(&x->loc, 0, sizeof(x->loc));
    x->risk_bit = zt_ex_bit(in->user_risk, 3);
    x->sign_in_bit = zt_ex_bit(in->sign_in_risk, 3);
    /* An unknown device is neither enrolled nor compliant and carries no risk signal. */
    x->enrolled = in->device_known && in->device_enrolled;
    x->compliant = in->device_known && in->device_compliant;
    x->device_risk_bit = zt_ex_bit(in->device_known ? in->device_risk : ZT_RISK_NONE, 3);
    x->platform_bit = zt_ex_bit(in->platform, 6);
    x->client_bit = zt_ex_bit(in->client, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Per-policy tests */

static bool zt_ns_has(const zt_nameset *ns, uint64_t h, const char *name)
{
    size_t lo = 0, hi = ns->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ns->hash[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ns->n && ns->hash[lo] == h; lo++)
        if (zt_policy_ieq(ns->name[lo], name))
            return true;
    return false;
}

static bool zt_ex_user_in(const zt_ex *x, const zt_nameset *emails, const zt_nameset *groups)
{
    const zt_policy_input *in = x->in;
    if (emails->n > 0 && in->email != NULL && zt_ns_has(emails, x->email_hash, in->email))
        return true;
    if (groups->n == 0)
        return false;
    for (size_t i = 0; i < in->n_groups; i++) {
        if (in->groups[i] == NULL)
            continue;
        uint64_t h = i < ZT_GROUP_HASHES ? x->group_hash[i] : zt_policy_hash(in->groups[i]);
        if (zt_ns_has(groups, h, in->groups[i]))
            return true;
    }
    return false;
}

static bool zt_ex_u32_has(const uint32_t *v, size_t n, int64_t key)
{
    size_t lo = 0, hi = n;
    if (key < 0)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == key;
}

static bool zt_ex_app_in(const zt_cpol *p, const zt_ex *x)
{
    return p->apps_all_in || (p->sens_in & x->sens_bit) ||
           zt_ex_u32_has(p->app_in, p->n_app_in, x->app);
}

static bool zt_ex_app_out(const zt_cpol *p, const zt_ex *x)
{
    return p->apps_all_out || (p->sens_out & x->sens_bit) ||
           zt_ex_u32_has(p->app_out, p->n_app_out, x->app);
}

static bool zt_ex_meets(const zt_locset *a, const zt_locset *b)
{
    uint64_t any = 0;
    for (size_t i = 0; i < ZT_LOC_WORDS; i++)
        any |= a->w[i] & b->w[i];
    return any != 0;
}

static bool zt_ex_device(const zt_cpol *p, const zt_ex *x)
{
    if (p->enrolled >= 0 && (bool)p->enrolled != x->enrolled)
        return false;
    if (p->compliant >= 0 && (bool)p->compliant != x->compliant)
        return false;
    return p->device_risk == 0 || (p->device_risk & x->device_risk_bit);
}

static bool zt_ex_location(const zt_cpol *p, const zt_ex *x)
{
    if (!p->has_loc)
        return true;
    bool in = p->loc_all_in || zt_ex_meets(&p->loc_in, &x->loc);
    return in && !(p->loc_all_out || zt_ex_meets(&p->loc_out, &x->loc));
}

/* Across midnight (to < from), the small hours belong to the day the window opened. */
static bool zt_ex_time(const zt_cpol *p, const zt_ex *x)
{
    unsigned wday, minute;
    if (!p->has_time)
        return true;
    zt_policy_local(p->tz, x->in->now, &wday, &minute);
    if (p->has_window) {
        if (p->from_min < p->to_min) {
            if (minute < p->from_min || minute >= p->to_min)
                return false;
        } else if (minute < p->to_min) {
            wday = (wday + 6) % 7;
        } else if (minute < p->from_min) {
            return false;
        }
    }
    return p->days == 0 || (p->days & (1u << wday));
}

/* The first failing test in the fixed order; app_in_known skips the app include test (the
 * candidate lists already decided it). */
static zt_policy_miss zt_ex_test(const zt_cpol *p, const zt_ex *x, bool app_in_known)
{
    if (p->state == ZT_POLICY_OFF)
        return ZT_MISS_STATE_OFF;
    if (!p->users_all_in && !zt_ex_user_in(x, &p->email_in, &p->group_in))
        return ZT_MISS_USER_NOT_INCLUDED;
    if (p->users_all_out || zt_ex_user_in(x, &p->email_out, &p->group_out))
        return ZT_MISS_USER_EXCLUDED;
    if (!app_in_known && !zt_ex_app_in(p, x))
        return ZT_MISS_APP_NOT_INCLUDED;
    if (zt_ex_app_out(p, x))
        return ZT_MISS_APP_EXCLUDED;
    if (p->user_risk != 0 && !(p->user_risk & x->risk_bit))
        return ZT_MISS_USER_RISK;
    if (p->sign_in_risk != 0 && !(p->sign_in_risk & x->sign_in_bit))
        return ZT_MISS_SIGN_IN_RISK;
    if (!zt_ex_device(p, x))
        return ZT_MISS_DEVICE;
    if (p->platforms != 0 && !(p->platforms & x->platform_bit))
        return ZT_MISS_PLATFORM;
    if (!zt_ex_location(p, x))
        return ZT_MISS_LOCATION;
    if (p->anonymous_ip >= 0 && (bool)p->anonymous_ip != x->in->anonymous_ip)
        return ZT_MISS_ANONYMOUS_IP;
    if (p->clients != 0 && !(p->clients & x->client_bit))
        return ZT_MISS_CLIENT;
    if (!zt_ex_time(p, x))
        return ZT_MISS_TIME;
    return ZT_MISS_NONE;
}

/* ---------------------------------------------------------------------------------------------
 * Combining applicable policies (Entra CA: block wins, controls are the union, session
 * controls take the most restrictive value) */

typedef struct zt_acc {
    int block;
    unsigned required, unmet, restrict_flags;
    int64_t freq_s;
} zt_acc;

static void zt_acc_add(zt_acc *a, const zt_cpol *p, int idx, unsigned sat)
{
    if (p->block && a->block < 0)
        a->block = idx;
    a->required |= p->controls;
    if (p->op_or) {
        if ((p->controls & sat) == 0)
            a->unmet |= p->controls;
    } else {
        a->unmet |= p->controls & ~sat;
    }
    if (p->freq_s >= 0 && (a->freq_s < 0 || p->freq_s < a->freq_s))
        a->freq_s = p->freq_s;
    a->restrict_flags |= p->restrict_flags;
}

static zt_outcome zt_acc_outcome(const zt_acc *a, bool reauth)
{
    if (a->block >= 0)
        return ZT_OUTCOME_BLOCK;
    return reauth || a->unmet != 0 ? ZT_OUTCOME_CHALLENGE : ZT_OUTCOME_ALLOW;
}

static void zt_acc_finish(const zt_acc *en, const zt_acc *ro, const zt_policy_input *in,
                          zt_policy_result *out)
{
    bool reauth = zt_policy_reauth(in, en->freq_s);
    out->outcome = zt_acc_outcome(en, reauth);
    out->required = en->required;
    out->unmet = en->unmet;
    out->restrict_flags = en->restrict_flags;
    out->sign_in_frequency_s = en->freq_s;
    out->block_policy = en->block;
    out->reauth_required = out->outcome == ZT_OUTCOME_CHALLENGE && reauth;
    out->next_control = out->outcome == ZT_OUTCOME_CHALLENGE && !reauth ? zt_policy_first(en->unmet)
                                                                        : (zt_control)0;
    out->report_only_outcome = zt_acc_outcome(ro, zt_policy_reauth(in, ro->freq_s));
    out->report_only_unmet = ro->unmet;
}

static void zt_result_init(zt_policy_result *out)
{
    memset(out, 0, sizeof(*out));
    out->outcome = ZT_OUTCOME_ALLOW;
    out->sign_in_frequency_s = -1;
    out->block_policy = -1;
    out->report_only_outcome = ZT_OUTCOME_ALLOW;
}

/* Next candidate from three sorted lists (merged, duplicates dropped); -1 at the end. */
typedef struct zt_merge {
    const uint32_t *v[3];
    size_t n[3], at[3];
} zt_merge;

static int64_t zt_merge_next(zt_merge *m)
{
    int64_t best = -1;
    for (int i = 0; i < 3; i++)
        if (m->at[i] < m->n[i] && (best < 0 || m->v[i][m->at[i]] < best))
            best = m->v[i][m->at[i]];
    for (int i = 0; i < 3 && best >= 0; i++)
        if (m->at[i] < m->n[i] && m->v[i][m->at[i]] == best)
            m->at[i]++;
    return best;
}

void zt_policy_eval(const zt_policy_set *set, const zt_policy_input *in, zt_policy_result *out)
{
    zt_ex x;
    zt_acc en = {-1, 0, 0, 0, -1}, ro = {-1, 0, 0, 0, -1};
    zt_merge m = {{NULL, NULL, NULL}, {0, 0, 0}, {0, 0, 0}};
    zt_result_init(out);
    if (set == NULL || set->n == 0)
        return;
    zt_ex_init(set, in, &x);
    m.v[0] = set->all;
    m.n[0] = set->n_all;
    if (x.app >= 0) {
        m.v[1] = set->by_app[x.app];
        m.n[1] = set->n_by_app[x.app];
    }
    if (in->sensitivity >= ZT_SENS_PUBLIC && in->sensitivity <= ZT_SENS_RESTRICTED) {
        m.v[2] = set->by_sens[in->sensitivity];
        m.n[2] = set->n_by_sens[in->sensitivity];
    }
    unsigned sat = zt_policy_satisfied(in);
    for (int64_t i; (i = zt_merge_next(&m)) >= 0;) {
        const zt_cpol *p = &set->pol[i];
        if (zt_ex_test(p, &x, true) != ZT_MISS_NONE)
            continue;
        if (out->n_matched < ZT_POLICY_MATCH_MAX)
            out->matched[out->n_matched++] = (int)i;
        else
            out->matched_truncated = true;
        zt_acc_add(p->state == ZT_POLICY_REPORT_ONLY ? &ro : &en, p, (int)i, sat);
    }
    zt_acc_finish(&en, &ro, in, out);
}

void zt_policy_explain(const zt_policy_set *set, const zt_policy_input *in, zt_policy_miss *misses)
{
    zt_ex x;
    if (set == NULL)
        return;
    zt_ex_init(set, in, &x);
    for (size_t i = 0; i < set->n; i++)
        misses[i] = zt_ex_test(&set->pol[i], &x, false);
}
