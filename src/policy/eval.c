/* Policy evaluation over the compiled set: no allocation, no lock. zt_policy_eval intersects
 * bitsets over policy indices (a few passes over n/64 words, one hash per input name) and then
 * visits only the policies that apply, plus those whose location or time condition is left to
 * test; zt_policy_explain runs the plain per-policy test on every policy. The unit tests hold
 * both to the reference evaluator. */
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
static bool zt_ex_window(bool has_window, unsigned from, unsigned to, unsigned days, unsigned wday,
                         unsigned minute)
{
    if (has_window) {
        if (from < to) {
            if (minute < from || minute >= to)
                return false;
        } else if (minute < to) {
            wday = (wday + 6) % 7;
        } else if (minute < from) {
            return false;
        }
    }
    return days == 0 || (days & (1u << wday));
}

static bool zt_ex_time(const zt_cpol *p, const zt_ex *x)
{
    unsigned wday, minute;
    if (!p->has_time)
        return true;
    zt_policy_local(p->tz, x->in->now, &wday, &minute);
    return zt_ex_window(p->has_window, p->from_min, p->to_min, p->days, wday, minute);
}

/* The first failing test in the fixed order (zt_policy_explain; eval reaches the same verdict
 * through the index). */
static zt_policy_miss zt_ex_test(const zt_cpol *p, const zt_ex *x)
{
    if (p->state == ZT_POLICY_OFF)
        return ZT_MISS_STATE_OFF;
    if (!p->users_all_in && !zt_ex_user_in(x, &p->email_in, &p->group_in))
        return ZT_MISS_USER_NOT_INCLUDED;
    if (p->users_all_out || zt_ex_user_in(x, &p->email_out, &p->group_out))
        return ZT_MISS_USER_EXCLUDED;
    if (!zt_ex_app_in(p, x))
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

/* ---------------------------------------------------------------------------------------------
 * Candidates as bitsets: for a request, one pass per name and per app over the index words,
 * then one pass that intersects assignments with the condition rows. What is left applies,
 * except that policies with a location or time condition still test those one by one. */

static void zt_bits_or(zt_vec *dst, const uint64_t *src, size_t n)
{
    const zt_vec *v = (const zt_vec *)(const void *)src;
    for (size_t i = 0; i < n; i++)
        dst[i] |= v[i];
}

static void zt_bits_or_p(zt_vec *dst, const zt_pbits *b, size_t n)
{
    uint64_t *w = (uint64_t *)(void *)dst;
    if (b->w != NULL)
        zt_bits_or(dst, b->w, n);
    else
        for (uint32_t k = 0; k < b->n; k++)
            w[b->idx[k] / 64] |= 1ull << (b->idx[k] % 64);
}

/* Policies including the name go to in, those excluding it to out. */
static void zt_bits_name(const zt_name_index *ix, const char *name, zt_vec *in, zt_vec *out,
                         size_t n)
{
    if (name == NULL || ix->n_ent == 0)
        return;
    const zt_name_ent *e = zt_policy_name_find(ix, zt_policy_hash(name), name);
    if (e != NULL) {
        zt_bits_or_p(in, &e->in, n);
        zt_bits_or_p(out, &e->out, n);
    }
}

/* The condition row for value v (0..max), max + 1 for anything else. */
static const zt_vec *zt_ex_row(const zt_policy_set *s, int base, unsigned v, unsigned max)
{
    return (const zt_vec *)(const void *)s->cond[base + (int)(v <= max ? v : max + 1)];
}

/* dst = all | OR of per[id] over the location ids in loc. */
static void zt_bits_locs(zt_vec *dst, const uint64_t *all, const zt_pbits *per, size_t n_locs,
                         const zt_locset *loc, size_t n)
{
    memcpy(dst, all, n * sizeof(zt_vec));
    for (size_t k = 0; k < ZT_LOC_WORDS; k++)
        for (uint64_t bits = loc->w[k]; bits != 0; bits &= bits - 1) {
            size_t id = k * 64 + (size_t)__builtin_ctzll(bits);
            if (id < n_locs)
                zt_bits_or_p(dst, &per[id], n);
        }
}

/* inc = the policies that apply to the request, save for their time conditions (timed). */
static void zt_ex_candidates(const zt_policy_set *s, const zt_policy_input *in, int64_t app,
                             zt_vec *inc)
{
    zt_vec usr[ZT_PVECS_MAX], exc[ZT_PVECS_MAX], lin[ZT_PVECS_MAX], lout[ZT_PVECS_MAX];
    size_t n = s->n_vecs;
    int sens = in->sensitivity >= ZT_SENS_PUBLIC && in->sensitivity <= ZT_SENS_RESTRICTED
                   ? in->sensitivity
                   : ZT_SENS_RESTRICTED + 1;
    memcpy(inc, s->inc_base[sens], n * sizeof(zt_vec));
    memcpy(exc, s->exc_base[sens], n * sizeof(zt_vec));
    memcpy(usr, s->user_all_in, n * sizeof(zt_vec));
    if (app >= 0) {
        zt_bits_or_p(inc, &s->app_in[app], n);
        zt_bits_or_p(exc, &s->app_out[app], n);
    }
    zt_bits_name(&s->emails, in->email, usr, exc, n);
    for (size_t i = 0; i < in->n_groups && s->groups.n_ent > 0; i++)
        zt_bits_name(&s->groups, in->groups[i], usr, exc, n);
    bool known = in->device_known;
    const zt_vec *ur = zt_ex_row(s, ZT_C_USER_RISK, (unsigned)in->user_risk, 3),
                 *sr = zt_ex_row(s, ZT_C_SIGN_IN_RISK, (unsigned)in->sign_in_risk, 3),
                 *en = zt_ex_row(s, ZT_C_ENROLLED, known && in->device_enrolled, 1),
                 *co = zt_ex_row(s, ZT_C_COMPLIANT, known && in->device_compliant, 1),
                 *dr = zt_ex_row(s, ZT_C_DEVICE_RISK,
                                 known ? (unsigned)in->device_risk : ZT_RISK_NONE, 3),
                 *pl = zt_ex_row(s, ZT_C_PLATFORM, (unsigned)in->platform, 6),
                 *an = zt_ex_row(s, ZT_C_ANONYMOUS, in->anonymous_ip, 1),
                 *cl = zt_ex_row(s, ZT_C_CLIENT, (unsigned)in->client, 1);
    if (!s->need_loc) {
        for (size_t w = 0; w < n; w++)
            inc[w] &=
                usr[w] & ~exc[w] & ur[w] & sr[w] & en[w] & co[w] & dr[w] & pl[w] & an[w] & cl[w];
        return;
    }
    zt_locset loc;
    zt_ex_locations(s, in, &loc);
    zt_bits_locs(lin, s->loc_all_in, s->loc_in, s->n_locs, &loc, n);
    zt_bits_locs(lout, s->loc_all_out, s->loc_out, s->n_locs, &loc, n);
    const zt_vec *lf = (const zt_vec *)(const void *)s->loc_free;
    for (size_t w = 0; w < n; w++)
        inc[w] &= usr[w] & ~exc[w] & ur[w] & sr[w] & en[w] & co[w] & dr[w] & pl[w] & an[w] & cl[w] &
                  (lf[w] | (lin[w] & ~lout[w]));
}

/* Local day and minute per time zone, computed once per request for the first few zones seen
 * (direct-mapped by zone index). */
#define ZT_TZ_CACHE 16

typedef struct zt_tz_cache {
    int32_t tz[ZT_TZ_CACHE];
    uint16_t minute[ZT_TZ_CACHE];
    uint8_t wday[ZT_TZ_CACHE];
} zt_tz_cache;

static bool zt_ex_ptime(const zt_policy_set *s, const zt_ptime *t, int64_t now, zt_tz_cache *c)
{
    unsigned slot = t->tz % ZT_TZ_CACHE, wday, minute;
    if (c->tz[slot] == (int32_t)t->tz) {
        wday = c->wday[slot];
        minute = c->minute[slot];
    } else {
        zt_policy_local(&s->tz[t->tz], now, &wday, &minute);
        c->tz[slot] = (int32_t)t->tz;
        c->wday[slot] = (uint8_t)wday;
        c->minute[slot] = (uint16_t)minute;
    }
    return zt_ex_window(t->has_window, t->from_min, t->to_min, t->days, wday, minute);
}

/* What the applicable policies of one kind (enforced, report-only) add up to. */
typedef struct zt_sum {
    uint32_t block, freq_s; /* UINT32_MAX = none */
    unsigned required, unmet, restrict_flags;
} zt_sum;

static void zt_sum_to_acc(const zt_sum *s, zt_acc *a)
{
    a->block = s->block == UINT32_MAX ? -1 : (int)s->block;
    a->required = s->required;
    a->unmet = s->unmet;
    a->restrict_flags = s->restrict_flags;
    a->freq_s = s->freq_s == UINT32_MAX ? -1 : (int64_t)s->freq_s;
}

void zt_policy_eval(const zt_policy_set *set, const zt_policy_input *in, zt_policy_result *out)
{
    zt_vec incv[ZT_PVECS_MAX];
    const uint64_t *inc = (const uint64_t *)(const void *)incv;
    zt_acc en, ro;
    zt_tz_cache tzc;
    zt_result_init(out);
    if (set == NULL || set->n == 0)
        return;
    zt_ex_candidates(set, in, zt_ex_app(set, in->app), incv);
    memset(tzc.tz, 0xff, sizeof(tzc.tz));
    uint32_t en_block = UINT32_MAX, ro_block = UINT32_MAX, en_freq = UINT32_MAX,
             ro_freq = UINT32_MAX;
    unsigned en_ctl = 0, ro_ctl = 0, en_unmet = 0, ro_unmet = 0, en_restrict = 0, ro_restrict = 0;
    unsigned sat = zt_policy_satisfied(in), shift = 4 * sat;
    /* In index order, so matched and block_policy come out as a walk over every policy would
     * give them; every applicable policy counts toward the outcome, reported or not. The sums
     * take no branch that depends on the policy. */
    for (size_t w = 0; w < set->n_words; w++) {
        uint64_t bits = inc[w];
        for (uint64_t t = bits & set->timed[w]; t != 0; t &= t - 1) {
            unsigned b = (unsigned)__builtin_ctzll(t);
            if (!zt_ex_ptime(set, &set->ptime[w * 64 + b], in->now, &tzc))
                bits &= ~(1ull << b);
        }
        for (; bits != 0; bits &= bits - 1) {
            uint32_t i = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
            const zt_effect *e = &set->eff[i];
            uint32_t rm = 0u - (uint32_t)e->report_only; /* all ones for report-only */
            uint32_t blk = e->block ? i : UINT32_MAX;
            /* The rare policy with an authentication strength takes the one branch. */
            unsigned sh = e->strength ? 4 * zt_policy_sat_for(&set->pol[i], in, sat) : shift;
            unsigned ctl = (unsigned)(e->unmet & 15), unmet = (unsigned)(e->unmet >> sh) & 15;
            en_block = (blk | rm) < en_block ? blk | rm : en_block;
            ro_block = (blk | ~rm) < ro_block ? blk | ~rm : ro_block;
            en_freq = (e->freq_s | rm) < en_freq ? e->freq_s | rm : en_freq;
            ro_freq = (e->freq_s | ~rm) < ro_freq ? e->freq_s | ~rm : ro_freq;
            en_ctl |= ctl & ~rm;
            ro_ctl |= ctl & rm;
            en_unmet |= unmet & ~rm;
            ro_unmet |= unmet & rm;
            en_restrict |= e->restrict_flags & ~rm;
            ro_restrict |= e->restrict_flags & rm;
            if (out->n_matched < ZT_POLICY_MATCH_MAX)
                out->matched[out->n_matched++] = (int)i;
            else
                out->matched_truncated = true;
        }
    }
    zt_sum_to_acc(&(zt_sum){en_block, en_freq, en_ctl, en_unmet, en_restrict}, &en);
    zt_sum_to_acc(&(zt_sum){ro_block, ro_freq, ro_ctl, ro_unmet, ro_restrict}, &ro);
    zt_acc_finish(&en, &ro, in, out);
}

void zt_policy_explain(const zt_policy_set *set, const zt_policy_input *in, zt_policy_miss *misses)
{
    zt_ex x;
    if (set == NULL)
        return;
    zt_ex_init(set, in, &x);
    for (size_t i = 0; i < set->n; i++)
        misses[i] = zt_ex_test(&set->pol[i], &x);
}
