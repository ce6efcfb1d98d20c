/* Policy compiler: turns the parsed `locations:` and `policies:` into the read-only index that
 * zt_policy_eval walks without allocating: bitsets over policy indices per app, sensitivity,
 * user and group name (hashed) and condition value, bit masks for conditions, a CIDR trie and a
 * country table. The config
 * already refused bad references, so the only failures here are memory and time zone files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "policy/policy_int.h"

typedef struct zt_pc {
    zt_policy_set *s;
    const zt_config *cfg;
    char *err;
    size_t errlen;
    bool failed;
} zt_pc;

static void *zt_pc_alloc(zt_pc *pc, size_t n)
{
    void *p = zt_arena_alloc(&pc->s->arena, n == 0 ? 1 : n);
    if (p == NULL) {
        if (!pc->failed)
            zt_errf(pc->err, pc->errlen, "%s: policies: out of memory", pc->cfg->path);
        pc->failed = true;
        return NULL;
    }
    memset(p, 0, n == 0 ? 1 : n);
    return p;
}

/* The set copies what it keeps, so it may outlive the config it was built from. */
static const char *zt_pc_strdup(zt_pc *pc, const char *str)
{
    char *p = zt_arena_strdup(&pc->s->arena, str);
    if (p == NULL && !pc->failed) {
        zt_errf(pc->err, pc->errlen, "%s: policies: out of memory", pc->cfg->path);
        pc->failed = true;
    }
    return p;
}

static void zt_locset_add(zt_locset *ls, unsigned id)
{
    ls->w[id / 64] |= 1ull << (id % 64);
}

static void zt_locset_or(zt_locset *a, const zt_locset *b)
{
    for (size_t i = 0; i < ZT_LOC_WORDS; i++)
        a->w[i] |= b->w[i];
}

/* ---------------------------------------------------------------------------------------------
 * Apps by name */

static int zt_pc_apps(zt_pc *pc)
{
    zt_policy_set *s = pc->s;
    size_t slots = 16;
    while (slots < pc->cfg->n_apps * 2)
        slots *= 2;
    s->apps = zt_pc_alloc(pc, slots * sizeof(*s->apps));
    if (pc->failed)
        return -1;
    s->n_app_slots = slots;
    for (size_t i = 0; i < pc->cfg->n_apps; i++) {
        const char *name = zt_pc_strdup(pc, pc->cfg->apps[i].name);
        if (name == NULL)
            return -1;
        uint64_t h = zt_policy_hash(name);
        size_t j = (size_t)h & (slots - 1);
        while (s->apps[j].name != NULL)
            j = (j + 1) & (slots - 1);
        s->apps[j] = (zt_app_slot){h, name, (uint32_t)i};
    }
    return 0;
}

static int64_t zt_pc_app_index(const zt_policy_set *s, const char *name)
{
    uint64_t h = zt_policy_hash(name);
    for (size_t j = (size_t)h & (s->n_app_slots - 1); s->apps[j].name != NULL;
         j = (j + 1) & (s->n_app_slots - 1))
        if (s->apps[j].hash == h && strcmp(s->apps[j].name, name) == 0)
            return s->apps[j].app;
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Locations: trie and country table */

static int64_t zt_pc_node(zt_pc *pc)
{
    zt_policy_set *s = pc->s;
    if (s->n_nodes == s->cap_nodes &&
        zt_array_grow(&s->nodes, &s->cap_nodes, sizeof(*s->nodes), 256) < 0)
        return -1;
    s->nodes[s->n_nodes] = (zt_trie_node){{0, 0}, -1};
    return (int64_t)s->n_nodes++;
}

static int zt_pc_insert(zt_pc *pc, const zt_cidr *c, unsigned loc)
{
    zt_policy_set *s = pc->s;
    uint32_t at = c->family == AF_INET ? s->root4 : s->root6;
    for (unsigned bit = 0; bit < c->prefix; bit++) {
        unsigned b = (c->addr[bit / 8] >> (7 - bit % 8)) & 1;
        if (s->nodes[at].child[b] == 0) {
            int64_t n = zt_pc_node(pc);
            if (n < 0)
                return -1;
            s->nodes[at].child[b] = (uint32_t)n;
        }
        at = s->nodes[at].child[b];
    }
    if (s->nodes[at].set < 0) {
        if (s->n_sets == s->cap_sets &&
            zt_array_grow(&s->sets, &s->cap_sets, sizeof(*s->sets), 64) < 0)
            return -1;
        memset(&s->sets[s->n_sets], 0, sizeof(zt_locset));
        s->nodes[at].set = (int32_t)s->n_sets++;
    }
    zt_locset_add(&s->sets[s->nodes[at].set], loc);
    return 0;
}

static int zt_pc_locations(zt_pc *pc, zt_locset *trusted)
{
    zt_policy_set *s = pc->s;
    const zt_config *cfg = pc->cfg;
    int64_t r4 = zt_pc_node(pc), r6 = zt_pc_node(pc);
    if (r4 < 0 || r6 < 0)
        goto oom;
    s->root4 = (uint32_t)r4;
    s->root6 = (uint32_t)r6;
    for (unsigned i = 0; i < cfg->n_locations && i < ZT_LOC_MAX; i++) {
        const zt_location_cfg *loc = &cfg->locations[i];
        if (loc->trusted)
            zt_locset_add(trusted, i);
        for (size_t j = 0; j < loc->n_cidrs; j++)
            if (zt_pc_insert(pc, &loc->cidrs[j], i) < 0)
                goto oom;
        for (size_t j = 0; j < loc->n_countries; j++) {
            const char *cc = loc->countries[j].s;
            if (s->country == NULL &&
                (s->country = zt_pc_alloc(pc, ZT_COUNTRIES * sizeof(zt_locset))) == NULL)
                return -1;
            zt_locset_add(&s->country[(cc[0] - 'A') * 26 + (cc[1] - 'A')], i);
        }
    }
    return 0;
oom:
    zt_errf(pc->err, pc->errlen, "%s: locations: out of memory", cfg->path);
    pc->failed = true;
    return -1;
}

static int zt_pc_location_id(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_locations && i < ZT_LOC_MAX; i++)
        if (strcmp(cfg->locations[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* "all", "trusted" or names → flag and set. */
static void zt_pc_locs(zt_pc *pc, const zt_cfg_word *v, size_t n, const zt_locset *trusted,
                       bool *all, zt_locset *set)
{
    for (size_t i = 0; i < n; i++) {
        int id;
        if (strcmp(v[i].s, "all") == 0)
            *all = true;
        else if (strcmp(v[i].s, "trusted") == 0)
            zt_locset_or(set, trusted);
        else if ((id = zt_pc_location_id(pc->cfg, v[i].s)) >= 0)
            zt_locset_add(set, (unsigned)id);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Time zones: loaded once per distinct name */

static const zt_tz *zt_pc_tz(zt_pc *pc, const zt_cfg_word *names, const zt_time_cond_cfg *t)
{
    zt_policy_set *s = pc->s;
    char why[256];
    for (size_t i = 0; i < s->n_tz; i++)
        if (strcmp(names[i].s, t->timezone) == 0)
            return &s->tz[i];
    if (zt_tz_load(&s->tz[s->n_tz], t->timezone, why, sizeof(why)) != 0) {
        zt_errf(pc->err, pc->errlen, "%s:%u:%u: %s", pc->cfg->path, t->line, t->col, why);
        pc->failed = true;
        return NULL;
    }
    return &s->tz[s->n_tz++];
}

/* ---------------------------------------------------------------------------------------------
 * Assignments */

typedef struct zt_pc_name {
    uint64_t hash;
    const char *name;
} zt_pc_name;

static int zt_pc_name_cmp(const void *a, const void *b)
{
    uint64_t x = ((const zt_pc_name *)a)->hash, y = ((const zt_pc_name *)b)->hash;
    return x < y ? -1 : x > y;
}

/* The entries of v that are emails (group false) or "group:NAME" (group true). */
static int zt_pc_names(zt_pc *pc, const zt_cfg_word *v, size_t n, bool group, zt_nameset *out)
{
    zt_pc_name *tmp = n ? calloc(n, sizeof(*tmp)) : NULL;
    size_t k = 0;
    if (n && tmp == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        bool is_group = strncmp(v[i].s, "group:", 6) == 0;
        if (strcmp(v[i].s, "all") == 0 || is_group != group)
            continue;
        const char *name = group ? v[i].s + 6 : v[i].s;
        tmp[k++] = (zt_pc_name){zt_policy_hash(name), name};
    }
    if (k > 0)
        qsort(tmp, k, sizeof(*tmp), zt_pc_name_cmp);
    uint64_t *hash = zt_pc_alloc(pc, k * sizeof(*hash));
    const char **name = zt_pc_alloc(pc, k * sizeof(*name));
    if (hash == NULL || name == NULL) {
        free(tmp);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        hash[i] = tmp[i].hash;
        if ((name[i] = zt_pc_strdup(pc, tmp[i].name)) == NULL) {
            free(tmp);
            return -1;
        }
    }
    *out = (zt_nameset){hash, name, k};
    free(tmp);
    return 0;
oom:
    zt_errf(pc->err, pc->errlen, "%s: policies: out of memory", pc->cfg->path);
    pc->failed = true;
    return -1;
}

static bool zt_pc_has_all(const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].s, "all") == 0)
            return true;
    return false;
}

static int zt_pc_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* App names → sorted unique indices; "sensitivity:LEVEL" → bits. */
static int zt_pc_app_refs(zt_pc *pc, const zt_cfg_word *v, size_t n, const uint32_t **out,
                          size_t *n_out, unsigned *sens)
{
    uint32_t *idx = zt_pc_alloc(pc, n * sizeof(*idx));
    size_t k = 0;
    if (idx == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t a;
        if (strncmp(v[i].s, "sensitivity:", 12) == 0) {
            for (int l = ZT_SENS_PUBLIC; l <= ZT_SENS_RESTRICTED; l++)
                if (strcmp(v[i].s + 12, zt_sensitivity_name((zt_sensitivity)l)) == 0)
                    *sens |= 1u << l;
        } else if ((a = zt_pc_app_index(pc->s, v[i].s)) >= 0) {
            idx[k++] = (uint32_t)a;
        }
    }
    qsort(idx, k, sizeof(*idx), zt_pc_u32_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || idx[u - 1] != idx[i])
            idx[u++] = idx[i];
    *out = idx;
    *n_out = u;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * One policy */

static int8_t zt_pc_tri(bool has, bool v)
{
    return has ? (int8_t)v : -1;
}

/* The authentication strength's AAGUIDs as bytes (check-config made sure each parses). */
static int zt_pc_strength(zt_pc *pc, const zt_grant_cfg *g, zt_cpol *p)
{
    p->n_aaguids = 0;
    if (!g->has_strength || g->strength.n_aaguids == 0)
        return 0;
    unsigned char(*ids)[16] = zt_pc_alloc(pc, g->strength.n_aaguids * 16);
    if (ids == NULL)
        return -1;
    for (size_t i = 0; i < g->strength.n_aaguids; i++)
        if (g->strength.aaguids[i].s != NULL &&
            zt_uuid_parse(g->strength.aaguids[i].s, ids[p->n_aaguids]))
            p->n_aaguids++;
    p->aaguids = (const unsigned char(*)[16])ids;
    /* Nothing valid listed must not read as "no strength": fail closed with an impossible one. */
    if (p->n_aaguids == 0) {
        memset(ids[0], 0xff, 16);
        p->n_aaguids = 1;
    }
    return 0;
}

static int zt_pc_policy(zt_pc *pc, const zt_policy_cfg *pcfg, const zt_locset *trusted,
                        const zt_cfg_word *tz_names, zt_cpol *p)
{
    const zt_cond_cfg *cd = &pcfg->conditions;
    if ((p->name = zt_pc_strdup(pc, pcfg->name)) == NULL)
        return -1;
    p->state = pcfg->state;
    p->users_all_in = zt_pc_has_all(pcfg->users.include, pcfg->users.n_include);
    p->users_all_out = zt_pc_has_all(pcfg->users.exclude, pcfg->users.n_exclude);
    if (zt_pc_names(pc, pcfg->users.include, pcfg->users.n_include, false, &p->email_in) < 0 ||
        zt_pc_names(pc, pcfg->users.include, pcfg->users.n_include, true, &p->group_in) < 0 ||
        zt_pc_names(pc, pcfg->users.exclude, pcfg->users.n_exclude, false, &p->email_out) < 0 ||
        zt_pc_names(pc, pcfg->users.exclude, pcfg->users.n_exclude, true, &p->group_out) < 0)
        return -1;
    p->apps_all_in = zt_pc_has_all(pcfg->apps.include, pcfg->apps.n_include);
    p->apps_all_out = zt_pc_has_all(pcfg->apps.exclude, pcfg->apps.n_exclude);
    if (zt_pc_app_refs(pc, pcfg->apps.include, pcfg->apps.n_include, &p->app_in, &p->n_app_in,
                       &p->sens_in) < 0 ||
        zt_pc_app_refs(pc, pcfg->apps.exclude, pcfg->apps.n_exclude, &p->app_out, &p->n_app_out,
                       &p->sens_out) < 0)
        return -1;
    p->user_risk = cd->user_risk_mask;
    p->sign_in_risk = cd->sign_in_risk_mask;
    p->enrolled = zt_pc_tri(cd->has_device && cd->device.has_enrolled, cd->device.enrolled);
    p->compliant = zt_pc_tri(cd->has_device && cd->device.has_compliant, cd->device.compliant);
    p->device_risk = cd->has_device ? cd->device.risk_mask : 0;
    p->platforms = cd->has_device ? cd->device.platform_mask : 0;
    p->has_loc = cd->has_locations;
    if (p->has_loc) {
        zt_pc_locs(pc, cd->locations.include, cd->locations.n_include, trusted, &p->loc_all_in,
                   &p->loc_in);
        zt_pc_locs(pc, cd->locations.exclude, cd->locations.n_exclude, trusted, &p->loc_all_out,
                   &p->loc_out);
        pc->s->need_loc = true;
    }
    p->anonymous_ip = zt_pc_tri(cd->has_anonymous_ip, cd->anonymous_ip);
    p->clients = cd->client_mask;
    p->has_time = cd->has_time;
    if (p->has_time) {
        p->days = cd->time.days_mask;
        p->has_window = cd->time.has_from && cd->time.has_to;
        p->from_min = (uint16_t)cd->time.from_min;
        p->to_min = (uint16_t)cd->time.to_min;
        if ((p->tz = zt_pc_tz(pc, tz_names, &cd->time)) == NULL)
            return -1;
    }
    p->block = pcfg->grant.block;
    p->op_or = pcfg->grant.operator_or;
    p->controls = pcfg->grant.controls;
    if (zt_pc_strength(pc, &pcfg->grant, p) < 0)
        return -1;
    p->freq_s = pcfg->session.has_sign_in_frequency ? pcfg->session.sign_in_frequency_s : -1;
    p->restrict_flags = pcfg->session.restrict_flags;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The index: bitsets over policy indices. Dense sets are filled directly; sparse ones (per app,
 * per name) are counted on a first walk over the policies and filled on a second, in policy
 * order, so their lists come out sorted. */

static void zt_bits_set(uint64_t *w, uint32_t i)
{
    w[i / 64] |= 1ull << (i % 64);
}

static uint64_t *zt_pc_bits(zt_pc *pc)
{
    return zt_pc_alloc(pc, pc->s->n_vecs * sizeof(zt_vec));
}

/* Walk one (filling false): count. Walk two: add i. */
static void zt_pc_post(zt_pbits *b, uint32_t i, bool filling)
{
    if (!filling)
        b->n++;
    else if (b->w != NULL)
        zt_bits_set(b->w, i);
    else if (b->n == 0 || b->idx[b->n - 1] != i) /* a name listed twice in one policy */
        b->idx[b->n++] = i;
}

/* Between the walks: dense or sparse, by the count. */
static int zt_pc_shape(zt_pc *pc, zt_pbits *b)
{
    if (b->n > 0 && b->n >= pc->s->n_words) { /* at least one per 64 policies */
        if ((b->w = zt_pc_bits(pc)) == NULL)
            return -1;
    } else if ((b->idx = zt_pc_alloc(pc, b->n * sizeof(uint32_t))) == NULL) {
        return -1;
    }
    b->n = 0;
    return 0;
}

static int zt_pc_oom(zt_pc *pc)
{
    if (!pc->failed)
        zt_errf(pc->err, pc->errlen, "%s: policies: out of memory", pc->cfg->path);
    pc->failed = true;
    return -1;
}

/* Build-time name table (malloc, sized for every name word); entries move to the arena after. */
static zt_name_ent *zt_pc_name_get(zt_name_index *ix, uint64_t h, const char *name)
{
    size_t mask = ix->n_slots - 1, j = (size_t)h & mask;
    for (; ix->slot[j] != 0; j = (j + 1) & mask) {
        zt_name_ent *e = &ix->ent[ix->slot[j] - 1];
        if (e->hash == h && zt_policy_ieq(e->name, name))
            return e;
    }
    zt_name_ent *e = &ix->ent[ix->n_ent++];
    e->hash = h;
    e->name = name;
    ix->slot[j] = (uint32_t)ix->n_ent;
    return e;
}

static int zt_pc_name_init(zt_name_index *ix, size_t words)
{
    size_t slots = 16;
    while (slots < words * 2)
        slots *= 2;
    ix->slot = calloc(slots, sizeof(*ix->slot));
    ix->ent = calloc(words + 1, sizeof(*ix->ent));
    ix->n_slots = slots;
    ix->n_ent = 0;
    return ix->slot != NULL && ix->ent != NULL ? 0 : -1;
}

static void zt_pc_name_dispose(zt_name_index *ix)
{
    free(ix->slot);
    free(ix->ent);
}

/* The final table in the arena: entries packed, slots at most half full. */
static int zt_pc_name_final(zt_pc *pc, const zt_name_index *tmp, zt_name_index *out)
{
    size_t slots = 16;
    while (slots < tmp->n_ent * 2)
        slots *= 2;
    out->slot = zt_pc_alloc(pc, slots * sizeof(*out->slot));
    out->ent = zt_pc_alloc(pc, tmp->n_ent * sizeof(*out->ent));
    if (out->slot == NULL || out->ent == NULL)
        return -1;
    out->n_slots = slots;
    out->n_ent = tmp->n_ent;
    for (size_t k = 0; k < tmp->n_ent; k++) {
        out->ent[k] = tmp->ent[k];
        size_t j = (size_t)tmp->ent[k].hash & (slots - 1);
        while (out->slot[j] != 0)
            j = (j + 1) & (slots - 1);
        out->slot[j] = (uint32_t)(k + 1);
    }
    return 0;
}

static void zt_pc_post_names(zt_name_index *ix, const zt_nameset *ns, bool out, uint32_t i,
                             bool filling)
{
    for (size_t k = 0; k < ns->n; k++) {
        zt_name_ent *e = zt_pc_name_get(ix, ns->hash[k], ns->name[k]);
        zt_pc_post(out ? &e->out : &e->in, i, filling);
    }
}

static void zt_pc_walk(zt_pc *pc, zt_name_index *emails, zt_name_index *groups, bool filling)
{
    zt_policy_set *s = pc->s;
    for (uint32_t i = 0; i < s->n; i++) {
        const zt_cpol *p = &s->pol[i];
        if (p->state == ZT_POLICY_OFF)
            continue;
        for (size_t j = 0; j < p->n_app_in; j++)
            zt_pc_post(&s->app_in[p->app_in[j]], i, filling);
        for (size_t j = 0; j < p->n_app_out; j++)
            zt_pc_post(&s->app_out[p->app_out[j]], i, filling);
        zt_pc_post_names(emails, &p->email_in, false, i, filling);
        zt_pc_post_names(emails, &p->email_out, true, i, filling);
        zt_pc_post_names(groups, &p->group_in, false, i, filling);
        zt_pc_post_names(groups, &p->group_out, true, i, filling);
        for (size_t l = 0; p->has_loc && l < s->n_locs; l++) {
            if (p->loc_in.w[l / 64] & (1ull << (l % 64)))
                zt_pc_post(&s->loc_in[l], i, filling);
            if (p->loc_out.w[l / 64] & (1ull << (l % 64)))
                zt_pc_post(&s->loc_out[l], i, filling);
        }
    }
}

static bool zt_pc_mask_has(unsigned mask, unsigned v, unsigned max)
{
    return mask == 0 || (v <= max && (mask & (1u << v)));
}

static bool zt_pc_tri_has(int8_t tri, unsigned v)
{
    return tri < 0 || (unsigned)tri == v;
}

/* The condition rows a policy passes (see ZT_C_*). */
static void zt_pc_conditions(zt_policy_set *s, const zt_cpol *p, uint32_t i)
{
    for (unsigned v = 0; v <= 4; v++) {
        if (zt_pc_mask_has(p->user_risk, v, 3))
            zt_bits_set(s->cond[ZT_C_USER_RISK + v], i);
        if (zt_pc_mask_has(p->sign_in_risk, v, 3))
            zt_bits_set(s->cond[ZT_C_SIGN_IN_RISK + v], i);
        if (zt_pc_mask_has(p->device_risk, v, 3))
            zt_bits_set(s->cond[ZT_C_DEVICE_RISK + v], i);
    }
    for (unsigned v = 0; v <= 1; v++) {
        if (zt_pc_tri_has(p->enrolled, v))
            zt_bits_set(s->cond[ZT_C_ENROLLED + v], i);
        if (zt_pc_tri_has(p->compliant, v))
            zt_bits_set(s->cond[ZT_C_COMPLIANT + v], i);
        if (zt_pc_tri_has(p->anonymous_ip, v))
            zt_bits_set(s->cond[ZT_C_ANONYMOUS + v], i);
    }
    for (unsigned v = 0; v <= 7; v++)
        if (zt_pc_mask_has(p->platforms, v, 6))
            zt_bits_set(s->cond[ZT_C_PLATFORM + v], i);
    for (unsigned v = 0; v <= 2; v++)
        if (zt_pc_mask_has(p->clients, v, 1))
            zt_bits_set(s->cond[ZT_C_CLIENT + v], i);
    if (!p->has_loc)
        zt_bits_set(s->loc_free, i);
    else if (p->loc_all_in)
        zt_bits_set(s->loc_all_in, i);
    if (p->has_loc && p->loc_all_out)
        zt_bits_set(s->loc_all_out, i);
    if (p->has_time) {
        zt_bits_set(s->timed, i);
        s->ptime[i] = (zt_ptime){p->from_min, p->to_min, (uint16_t)(p->tz - s->tz),
                                 (uint8_t)p->days, p->has_window};
    }
}

/* The controls a policy leaves unmet for each set of satisfied controls (see zt_effect). */
static uint64_t zt_pc_unmet(const zt_cpol *p)
{
    uint64_t t = 0;
    for (unsigned sat = 0; sat < 16; sat++) {
        unsigned m = p->op_or ? ((p->controls & sat) == 0 ? p->controls : 0) : p->controls & ~sat;
        t |= (uint64_t)(m & 15) << (4 * sat);
    }
    return t;
}

static void zt_pc_dense(zt_policy_set *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const zt_cpol *p = &s->pol[i];
        if (p->state == ZT_POLICY_OFF)
            continue;
        for (int v = ZT_SENS_PUBLIC; v <= ZT_SENS_RESTRICTED + 1; v++) {
            if (p->apps_all_in || (v <= ZT_SENS_RESTRICTED && (p->sens_in & (1u << v))))
                zt_bits_set(s->inc_base[v], i);
            if (p->apps_all_out || p->users_all_out ||
                (v <= ZT_SENS_RESTRICTED && (p->sens_out & (1u << v))))
                zt_bits_set(s->exc_base[v], i);
        }
        if (p->users_all_in)
            zt_bits_set(s->user_all_in, i);
        zt_pc_conditions(s, p, i);
        s->eff[i] =
            (zt_effect){zt_pc_unmet(p),
                        p->freq_s < 0 || p->freq_s >= UINT32_MAX ? UINT32_MAX : (uint32_t)p->freq_s,
                        (uint8_t)p->restrict_flags,
                        p->state == ZT_POLICY_REPORT_ONLY,
                        p->block,
                        p->n_aaguids > 0};
    }
}

static int zt_pc_index_alloc(zt_pc *pc)
{
    zt_policy_set *s = pc->s;
    size_t n_apps = pc->cfg->n_apps;
    for (int v = ZT_SENS_PUBLIC; v <= ZT_SENS_RESTRICTED + 1; v++) {
        s->inc_base[v] = zt_pc_bits(pc);
        s->exc_base[v] = zt_pc_bits(pc);
    }
    s->user_all_in = zt_pc_bits(pc);
    s->loc_free = zt_pc_bits(pc);
    s->loc_all_in = zt_pc_bits(pc);
    s->loc_all_out = zt_pc_bits(pc);
    s->timed = zt_pc_bits(pc);
    s->n_locs = pc->cfg->n_locations < ZT_LOC_MAX ? pc->cfg->n_locations : ZT_LOC_MAX;
    s->loc_in = zt_pc_alloc(pc, s->n_locs * sizeof(*s->loc_in));
    s->loc_out = zt_pc_alloc(pc, s->n_locs * sizeof(*s->loc_out));
    s->eff = zt_pc_alloc(pc, s->n * sizeof(*s->eff));
    s->ptime = zt_pc_alloc(pc, s->n * sizeof(*s->ptime));
    for (int c = 0; c < ZT_C_COUNT; c++)
        s->cond[c] = zt_pc_bits(pc);
    s->app_in = zt_pc_alloc(pc, n_apps * sizeof(*s->app_in));
    s->app_out = zt_pc_alloc(pc, n_apps * sizeof(*s->app_out));
    return pc->failed ? -1 : 0;
}

static int zt_pc_index(zt_pc *pc)
{
    zt_policy_set *s = pc->s;
    zt_name_index emails = {0}, groups = {0};
    size_t n_emails = 0, n_groups = 0, n_apps = pc->cfg->n_apps;
    int rc = -1;
    s->n_words = (s->n + 63) / 64;
    s->n_vecs = (s->n_words + ZT_VEC_WORDS - 1) / ZT_VEC_WORDS;
    if (zt_pc_index_alloc(pc) < 0)
        return -1;
    zt_pc_dense(s);
    for (size_t i = 0; i < s->n; i++) {
        const zt_cpol *p = &s->pol[i];
        n_emails += p->email_in.n + p->email_out.n;
        n_groups += p->group_in.n + p->group_out.n;
    }
    if (zt_pc_name_init(&emails, n_emails) < 0 || zt_pc_name_init(&groups, n_groups) < 0) {
        zt_pc_oom(pc);
        goto out;
    }
    zt_pc_walk(pc, &emails, &groups, false);
    for (size_t a = 0; a < n_apps; a++)
        if (zt_pc_shape(pc, &s->app_in[a]) < 0 || zt_pc_shape(pc, &s->app_out[a]) < 0)
            goto out;
    for (size_t l = 0; l < s->n_locs; l++)
        if (zt_pc_shape(pc, &s->loc_in[l]) < 0 || zt_pc_shape(pc, &s->loc_out[l]) < 0)
            goto out;
    for (size_t k = 0; k < emails.n_ent; k++)
        if (zt_pc_shape(pc, &emails.ent[k].in) < 0 || zt_pc_shape(pc, &emails.ent[k].out) < 0)
            goto out;
    for (size_t k = 0; k < groups.n_ent; k++)
        if (zt_pc_shape(pc, &groups.ent[k].in) < 0 || zt_pc_shape(pc, &groups.ent[k].out) < 0)
            goto out;
    zt_pc_walk(pc, &emails, &groups, true);
    if (zt_pc_name_final(pc, &emails, &s->emails) < 0 ||
        zt_pc_name_final(pc, &groups, &s->groups) < 0)
        goto out;
    rc = 0;
out:
    zt_pc_name_dispose(&emails);
    zt_pc_name_dispose(&groups);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Public */

zt_policy_set *zt_policy_compile(const struct zt_config *cfg, char *err, size_t errlen)
{
    zt_locset trusted = {{0}};
    zt_cfg_word *tz_names = NULL;
    zt_policy_set *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        zt_errf(err, errlen, "%s: policies: out of memory", cfg->path);
        return NULL;
    }
    zt_arena_init(&s->arena, 64 << 10, 0);
    zt_pc pc = {s, cfg, err, errlen, false};
    if (cfg->n_policies >
        ZT_POLICY_MAX) { /* the config refuses more; eval's bitsets are sized for it */
        zt_errf(err, errlen, "%s: policies: more than %d", cfg->path, ZT_POLICY_MAX);
        goto fail;
    }
    s->n = cfg->n_policies;
    s->pol = zt_pc_alloc(&pc, s->n * sizeof(*s->pol));
    s->tz = calloc(s->n + 1, sizeof(*s->tz));
    /* tz_names[i] names s->tz[i]; a word array so lookups compare the configured text */
    tz_names = calloc(s->n + 1, sizeof(*tz_names));
    if (s->pol == NULL || s->tz == NULL || tz_names == NULL) {
        zt_errf(err, errlen, "%s: policies: out of memory", cfg->path);
        goto fail;
    }
    if (zt_pc_apps(&pc) < 0 || zt_pc_locations(&pc, &trusted) < 0)
        goto fail;
    for (size_t i = 0; i < s->n; i++) {
        const zt_policy_cfg *pcfg = &cfg->policies[i];
        size_t before = s->n_tz;
        if (zt_pc_policy(&pc, pcfg, &trusted, tz_names, &s->pol[i]) < 0)
            goto fail;
        if (s->n_tz > before)
            tz_names[before].s = pcfg->conditions.time.timezone;
    }
    if (zt_pc_index(&pc) < 0)
        goto fail;
    free(tz_names);
    return s;
fail:
    free(tz_names);
    zt_policy_set_free(s);
    return NULL;
}

void zt_policy_set_free(zt_policy_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n_tz; i++)
        zt_tz_dispose(&set->tz[i]);
    free(set->tz);
    free(set->nodes);
    free(set->sets);
    zt_arena_dispose(&set->arena);
    free(set);
}

size_t zt_policy_count(const zt_policy_set *set)
{
    return set != NULL ? set->n : 0;
}

const char *zt_policy_name(const zt_policy_set *set, int index)
{
    if (set == NULL || index < 0 || (size_t)index >= set->n)
        return NULL;
    return set->pol[index].name;
}

bool zt_policy_report_only(const zt_policy_set *set, int index)
{
    if (set == NULL || index < 0 || (size_t)index >= set->n)
        return false;
    return set->pol[index].state == ZT_POLICY_REPORT_ONLY;
}

/* The controls policy p leaves unmet given what the request satisfies: OR is met by any one. */
static unsigned zt_policy_unmet_of(const zt_cpol *p, unsigned sat)
{
    if (p->op_or)
        return (p->controls & sat) != 0 ? 0 : p->controls;
    return p->controls & ~sat;
}

int zt_policy_cause(const zt_policy_set *set, const zt_policy_input *in,
                    const zt_policy_result *res)
{
    if (set == NULL || res->outcome == ZT_OUTCOME_ALLOW)
        return -1;
    if (res->outcome == ZT_OUTCOME_BLOCK)
        return res->block_policy;
    unsigned sat = zt_policy_satisfied(in);
    for (size_t i = 0; i < res->n_matched; i++) {
        const zt_cpol *p = &set->pol[res->matched[i]];
        if (p->state != ZT_POLICY_ON)
            continue;
        if (res->reauth_required ? p->freq_s == res->sign_in_frequency_s
                                 : (zt_policy_unmet_of(p, zt_policy_sat_for(p, in, sat)) &
                                    (unsigned)res->next_control))
            return res->matched[i];
    }
    return -1;
}

bool zt_policy_is_block(const zt_policy_set *set, int index)
{
    if (set == NULL || index < 0 || (size_t)index >= set->n)
        return false;
    return set->pol[index].block;
}
