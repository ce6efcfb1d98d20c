/* Deterministic generator for the policy benchmark: see gen.h. Every random choice comes from
 * one splitmix64 stream per purpose (world, requests, policies of one size), so the files are the
 * same on every run and machine. */
#include "gen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Randomness */

typedef struct pb_rng {
    uint64_t s;
} pb_rng;

static uint64_t pb_next(pb_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned pb_below(pb_rng *r, unsigned n)
{
    return (unsigned)(pb_next(r) % n);
}

static bool pb_chance(pb_rng *r, unsigned percent)
{
    return pb_below(r, 100) < percent;
}

/* Index i with probability w[i] / sum(w). */
static unsigned pb_weighted(pb_rng *r, const unsigned *w, unsigned n)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += w[i];
    unsigned x = pb_below(r, sum);
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ---------------------------------------------------------------------------------------------
 * The fixed universe */

typedef struct pb_loc {
    const char *name;
    const char *cidrs[3];
    const char *countries[5];
    bool trusted;
} pb_loc;

static const pb_loc pb_locs[] = {
    {"office", {"10.0.0.0/8", "2001:db8::/32"}, {NULL}, true},
    {"lab", {"10.9.0.0/16"}, {NULL}, false},
    {"branch", {"192.168.1.0/24", "192.168.2.0/24"}, {NULL}, true},
    {"vpn", {"172.16.0.0/12"}, {NULL}, true},
    {"japan", {NULL}, {"JP"}, false},
    {"eu", {NULL}, {"DE", "FR", "NL", "ES"}, false},
    {"sanctioned", {"198.51.100.0/24"}, {"KP", "IR"}, false},
    {"cloud", {"203.0.113.0/24", "100.64.0.0/10"}, {NULL}, false},
};
#define PB_LOCS (sizeof(pb_locs) / sizeof(pb_locs[0]))

static const char *const pb_countries[] = {"US", "JP", "DE", "FR", "GB", "BR",
                                           "IN", "KP", "NL", "CN", "IR", "ES"};
static const char *const pb_risk[] = {"none", "low", "medium", "high"};
static const char *const pb_sens[] = {"public", "internal", "confidential", "restricted"};
static const char *const pb_platform[] = {
    [ZT_PLATFORM_UNKNOWN] = "unknown",   [ZT_PLATFORM_WINDOWS] = "windows",
    [ZT_PLATFORM_MACOS] = "macos",       [ZT_PLATFORM_LINUX] = "linux",
    [ZT_PLATFORM_IOS] = "ios",           [ZT_PLATFORM_ANDROID] = "android",
    [ZT_PLATFORM_CHROMEOS] = "chromeos",
};
static const char *const pb_client[] = {[ZT_CLIENT_BROWSER] = "browser", [ZT_CLIENT_API] = "api"};
static const char *const pb_days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const pb_controls[] = {"mfa", "phishing_resistant_mfa", "compliant_device",
                                          "password_change"};

#define PB_MONDAY 1705276800 /* 2024-01-15T00:00:00Z */

static void pb_pick_ip(pb_rng *r, pb_req *q)
{
    unsigned a = pb_below(r, 256), b = pb_below(r, 256), c = pb_below(r, 254) + 1;
    static const unsigned w[] = {22, 6, 10, 10, 3, 5, 4, 30, 5, 5};
    switch (pb_weighted(r, w, sizeof(w) / sizeof(w[0]))) {
    case 0: /* office */
        snprintf(q->ip, sizeof(q->ip), "10.%u.%u.%u", a, b, c);
        break;
    case 1: /* lab (inside office) */
        snprintf(q->ip, sizeof(q->ip), "10.9.%u.%u", b, c);
        break;
    case 2: /* branch */
        snprintf(q->ip, sizeof(q->ip), "192.168.%u.%u", 1 + a % 3, c);
        break;
    case 3: /* vpn */
        snprintf(q->ip, sizeof(q->ip), "172.%u.%u.%u", 16 + a % 20, b, c);
        break;
    case 4: /* sanctioned */
        snprintf(q->ip, sizeof(q->ip), "198.51.100.%u", c);
        break;
    case 5: /* cloud */
        snprintf(q->ip, sizeof(q->ip), "100.%u.%u.%u", 64 + a % 70, b, c);
        break;
    case 6:
        snprintf(q->ip, sizeof(q->ip), "203.0.113.%u", c);
        break;
    case 7: /* somewhere on the Internet */
        snprintf(q->ip, sizeof(q->ip), "%u.%u.%u.%u", 1 + a % 90, b, c, 1 + a % 254);
        break;
    case 8: /* office IPv6 */
        snprintf(q->ip, sizeof(q->ip), "2001:db8:%x::%x", a * 256 + b, c);
        break;
    default: /* other IPv6 */
        snprintf(q->ip, sizeof(q->ip), "2a00:1450:%x::%x", a, c);
        break;
    }
    memset(&q->addr, 0, sizeof(q->addr));
    if (strchr(q->ip, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&q->addr;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, q->ip, &s6->sin6_addr) != 1)
            abort();
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&q->addr;
        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, q->ip, &s4->sin_addr) != 1)
            abort();
    }
}

static zt_risk pb_pick_risk(pb_rng *r)
{
    static const unsigned w[] = {70, 15, 10, 5};
    return (zt_risk)pb_weighted(r, w, 4);
}

void pb_world_init(pb_world *w, size_t n_reqs, uint64_t seed)
{
    pb_rng r = {seed};
    memset(w, 0, sizeof(*w));
    for (int g = 0; g < PB_GROUPS; g++)
        snprintf(w->group_names[g], sizeof(w->group_names[g]), "g%02d", g);
    for (int u = 0; u < PB_USERS; u++) {
        pb_user *user = &w->users[u];
        snprintf(user->email, sizeof(user->email), "u%04d@example.com", u);
        user->n_groups = 1 + (int)pb_below(&r, PB_USER_GROUPS_MAX);
        for (int k = 0; k < user->n_groups; k++) {
            int g;
            bool dup;
            do {
                g = k == 0 ? u % PB_GROUPS : (int)pb_below(&r, PB_GROUPS);
                dup = false;
                for (int j = 0; j < k; j++)
                    dup = dup || user->groups[j] == g;
            } while (dup);
            user->groups[k] = g;
            user->group_names[k] = w->group_names[g];
        }
    }
    static const unsigned sens_w[] = {15, 45, 25, 15};
    for (int a = 0; a < PB_APPS; a++) {
        snprintf(w->apps[a].name, sizeof(w->apps[a].name), "app%02d", a);
        w->apps[a].sens = (int)pb_weighted(&r, sens_w, 4);
    }

    w->n_reqs = n_reqs;
    w->reqs = calloc(n_reqs, sizeof(*w->reqs));
    if (w->reqs == NULL)
        abort();
    for (size_t i = 0; i < n_reqs; i++) {
        pb_req *q = &w->reqs[i];
        zt_policy_input *in = &q->in;
        q->user = (int)pb_below(&r, PB_USERS);
        q->app = (int)pb_below(&r, PB_APPS);
        pb_pick_ip(&r, q);
        const pb_user *user = &w->users[q->user];
        in->user_id = user->email;
        in->email = user->email;
        in->groups = user->group_names;
        in->n_groups = (size_t)user->n_groups;
        in->app = w->apps[q->app].name;
        in->sensitivity = w->apps[q->app].sens;
        in->ip = (const struct sockaddr *)&q->addr;
        memcpy(in->country, pb_countries[pb_below(&r, sizeof(pb_countries) / sizeof(char *))], 3);
        in->anonymous_ip = pb_chance(&r, 5);
        in->user_risk = pb_pick_risk(&r);
        in->sign_in_risk = pb_pick_risk(&r);
        in->device_known = pb_chance(&r, 70);
        in->device_enrolled = in->device_known && pb_chance(&r, 80);
        in->device_compliant = in->device_enrolled && pb_chance(&r, 75);
        in->device_risk = in->device_known ? pb_pick_risk(&r) : ZT_RISK_NONE;
        in->platform = (zt_platform)pb_below(&r, 7);
        in->client = pb_chance(&r, 70) ? ZT_CLIENT_BROWSER : ZT_CLIENT_API;
        in->now = PB_MONDAY + (int64_t)pb_below(&r, 7 * 86400);
        /* 10% signed in within the last minute (fresh for every_time), the rest within 2 days. */
        in->auth_time = in->now - (pb_chance(&r, 10) ? (int64_t)pb_below(&r, 60)
                                                     : (int64_t)pb_below(&r, 2 * 86400));
        in->mfa_time = pb_chance(&r, 60) ? in->auth_time : 0;
        in->mfa_phishing_resistant = in->mfa_time > 0 && pb_chance(&r, 30);
        in->password_change_required = pb_chance(&r, 3);
    }
}

void pb_world_free(pb_world *w)
{
    free(w->reqs);
    w->reqs = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * One policy, in a neutral form emitted both as YAML and as Cedar */

enum { PB_LOC_ALL = 1, PB_LOC_TRUSTED, PB_LOC_NAMES }; /* include / exclude modes; 0 = none */

typedef struct pb_pol {
    int state; /* 0 on, 1 report_only, 2 off */
    bool users_all;
    int n_uin, n_uex;
    int uin[5], uex[2]; /* >= 0: group; < 0: user -(u + 1) */
    int apps_mode;      /* 0 all, 1 sensitivity, 2 names */
    unsigned sens_mask;
    int n_ain, n_aex;
    int ain[3], aex[1];
    unsigned user_risk, sign_in_risk, device_risk, platforms, clients; /* 0 = unset */
    int enrolled, compliant, anon;                                     /* -1 = unset */
    int loc_in, loc_out;
    unsigned loc_in_mask, loc_out_mask;
    bool has_time;
    unsigned days;    /* bit 0 = Monday; 0 = every day */
    int from_m, to_m; /* -1 = no window */
    bool block, op_or;
    unsigned controls;
    int freq_s; /* -1 none, 0 every_time */
    unsigned restrict_flags;
} pb_pol;

static unsigned pb_mask(pb_rng *r, unsigned bits)
{
    unsigned m;
    do
        m = (unsigned)pb_below(r, 1u << bits);
    while (m == 0 || m == (1u << bits) - 1);
    return m;
}

static void pb_gen_policy(pb_rng *r, pb_pol *p)
{
    memset(p, 0, sizeof(*p));
    p->enrolled = p->compliant = p->anon = -1;
    p->from_m = p->to_m = -1;
    p->freq_s = -1;
    static const unsigned state_w[] = {93, 5, 2};
    p->state = (int)pb_weighted(r, state_w, 3);

    /* users */
    static const unsigned users_w[] = {15, 60, 25};
    switch (pb_weighted(r, users_w, 3)) {
    case 0:
        p->users_all = true;
        break;
    case 1:
        p->n_uin = 1 + (int)pb_below(r, 3);
        for (int i = 0; i < p->n_uin; i++)
            p->uin[i] = (int)pb_below(r, PB_GROUPS);
        break;
    default:
        p->n_uin = 1 + (int)pb_below(r, 5);
        for (int i = 0; i < p->n_uin; i++)
            p->uin[i] = -(int)pb_below(r, PB_USERS) - 1;
        break;
    }
    if (pb_chance(r, 30)) {
        p->n_uex = 1 + (int)pb_below(r, 2);
        for (int i = 0; i < p->n_uex; i++)
            p->uex[i] =
                pb_chance(r, 60) ? (int)pb_below(r, PB_GROUPS) : -(int)pb_below(r, PB_USERS) - 1;
    }
    /* dedupe: the config refuses a word listed twice */
    for (int i = 1; i < p->n_uin; i++)
        for (int j = 0; j < i; j++)
            if (p->uin[i] == p->uin[j])
                p->uin[i--] = p->uin[--p->n_uin];
    if (p->n_uex == 2 && p->uex[0] == p->uex[1])
        p->n_uex = 1;

    /* apps */
    static const unsigned apps_w[] = {10, 20, 70};
    p->apps_mode = (int)pb_weighted(r, apps_w, 3);
    if (p->apps_mode == 1)
        p->sens_mask = pb_chance(r, 70) ? 1u << pb_below(r, 4) : pb_mask(r, 4);
    if (p->apps_mode == 2) {
        p->n_ain = 1 + (int)pb_below(r, 3);
        for (int i = 0; i < p->n_ain; i++)
            p->ain[i] = (int)pb_below(r, PB_APPS);
        for (int i = 1; i < p->n_ain; i++)
            for (int j = 0; j < i; j++)
                if (p->ain[i] == p->ain[j])
                    p->ain[i--] = p->ain[--p->n_ain];
    } else if (pb_chance(r, 10)) {
        p->n_aex = 1;
        p->aex[0] = (int)pb_below(r, PB_APPS);
    }

    /* conditions */
    if (pb_chance(r, 15))
        p->user_risk = pb_mask(r, 4);
    if (pb_chance(r, 15))
        p->sign_in_risk = pb_mask(r, 4);
    if (pb_chance(r, 20)) {
        switch (pb_below(r, 3)) {
        case 0:
            p->compliant = (int)pb_below(r, 2);
            break;
        case 1:
            p->enrolled = (int)pb_below(r, 2);
            break;
        default:
            p->device_risk = pb_mask(r, 4);
            break;
        }
    }
    if (pb_chance(r, 10))
        p->platforms = pb_mask(r, 7);
    if (pb_chance(r, 30)) {
        static const unsigned in_w[] = {40, 15, 45};
        p->loc_in = PB_LOC_ALL + (int)pb_weighted(r, in_w, 3);
        if (p->loc_in == PB_LOC_NAMES)
            p->loc_in_mask =
                (1u << pb_below(r, PB_LOCS)) | (pb_chance(r, 30) ? 1u << pb_below(r, PB_LOCS) : 0);
        if (p->loc_in == PB_LOC_ALL || pb_chance(r, 20)) {
            p->loc_out = pb_chance(r, 60) ? PB_LOC_TRUSTED : PB_LOC_NAMES;
            if (p->loc_out == PB_LOC_NAMES)
                p->loc_out_mask = 1u << pb_below(r, PB_LOCS);
        }
    }
    if (pb_chance(r, 5))
        p->anon = pb_chance(r, 80) ? 1 : 0;
    if (pb_chance(r, 10))
        p->clients = 1u << pb_below(r, 2);
    if (pb_chance(r, 10)) {
        p->has_time = true;
        if (pb_chance(r, 60))
            p->days = pb_mask(r, 7);
        if (p->days == 0 || pb_chance(r, 60)) {
            p->from_m = (int)pb_below(r, 24) * 60 + (pb_chance(r, 25) ? 30 : 0);
            do
                p->to_m = (int)pb_below(r, 24) * 60;
            while (p->to_m == p->from_m);
        }
    }

    /* grant */
    if (pb_chance(r, 20)) {
        p->block = true;
        bool narrow = p->user_risk || p->sign_in_risk || p->device_risk || p->enrolled >= 0 ||
                      p->compliant >= 0 || p->loc_in || p->anon >= 0 || p->has_time;
        if (!narrow)
            p->sign_in_risk = 1u << ZT_RISK_HIGH;
    } else {
        static const unsigned ctl_w[] = {50, 15, 25, 10};
        p->controls = 1u << pb_weighted(r, ctl_w, 4);
        if (pb_chance(r, 30))
            p->controls |= 1u << pb_weighted(r, ctl_w, 4);
        p->op_or = (p->controls & (p->controls - 1)) != 0 && pb_chance(r, 30);
        if (pb_chance(r, 10))
            p->freq_s = pb_chance(r, 20) ? 0 : (int)(3600u << pb_below(r, 6));
        if (pb_chance(r, 10))
            p->restrict_flags = 1u + pb_below(r, 3);
    }
}

/* ---------------------------------------------------------------------------------------------
 * YAML */

static void pb_y_list(FILE *f, const char *const *words, unsigned mask)
{
    const char *sep = "";
    fputc('[', f);
    for (unsigned i = 0; mask >> i; i++)
        if (mask & (1u << i)) {
            fprintf(f, "%s%s", sep, words[i]);
            sep = ", ";
        }
    fputc(']', f);
}

static void pb_y_who(FILE *f, const pb_world *w, const int *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (v[i] >= 0)
            fprintf(f, "%sgroup:%s", i ? ", " : "", w->group_names[v[i]]);
        else
            fprintf(f, "%s%s", i ? ", " : "", w->users[-v[i] - 1].email);
    }
    fputc(']', f);
}

static void pb_y_loc(FILE *f, int mode, unsigned mask)
{
    if (mode == PB_LOC_ALL) {
        fputs("[all]", f);
    } else if (mode == PB_LOC_TRUSTED) {
        fputs("[trusted]", f);
    } else {
        const char *names[PB_LOCS];
        for (size_t i = 0; i < PB_LOCS; i++)
            names[i] = pb_locs[i].name;
        pb_y_list(f, names, mask);
    }
}

static void pb_yaml_policy(FILE *f, const pb_world *w, size_t idx, const pb_pol *p)
{
    static const char *const states[] = {"on", "report_only", "off"};
    fprintf(f, "  - {name: p%zu, state: %s, users: {include: ", idx, states[p->state]);
    if (p->users_all)
        fputs("[all]", f);
    else
        pb_y_who(f, w, p->uin, p->n_uin);
    if (p->n_uex > 0) {
        fputs(", exclude: ", f);
        pb_y_who(f, w, p->uex, p->n_uex);
    }
    fputs("}, apps: {include: ", f);
    if (p->apps_mode == 0) {
        fputs("[all]", f);
    } else if (p->apps_mode == 1) {
        const char *sens[4];
        for (int i = 0; i < 4; i++)
            sens[i] = NULL;
        char buf[4][32];
        for (int i = 0; i < 4; i++) {
            snprintf(buf[i], sizeof(buf[i]), "sensitivity:%s", pb_sens[i]);
            sens[i] = buf[i];
        }
        pb_y_list(f, sens, p->sens_mask);
    } else {
        fputc('[', f);
        for (int i = 0; i < p->n_ain; i++)
            fprintf(f, "%s%s", i ? ", " : "", w->apps[p->ain[i]].name);
        fputc(']', f);
    }
    if (p->n_aex > 0)
        fprintf(f, ", exclude: [%s]", w->apps[p->aex[0]].name);
    fputs("}, conditions: {", f);
    const char *sep = "";
    if (p->user_risk) {
        fputs("user_risk: ", f);
        pb_y_list(f, pb_risk, p->user_risk);
        sep = ", ";
    }
    if (p->sign_in_risk) {
        fprintf(f, "%ssign_in_risk: ", sep);
        pb_y_list(f, pb_risk, p->sign_in_risk);
        sep = ", ";
    }
    if (p->enrolled >= 0 || p->compliant >= 0 || p->device_risk || p->platforms) {
        const char *dsep = "";
        fprintf(f, "%sdevice: {", sep);
        if (p->enrolled >= 0) {
            fprintf(f, "enrolled: %s", p->enrolled ? "true" : "false");
            dsep = ", ";
        }
        if (p->compliant >= 0) {
            fprintf(f, "%scompliant: %s", dsep, p->compliant ? "true" : "false");
            dsep = ", ";
        }
        if (p->device_risk) {
            fprintf(f, "%srisk: ", dsep);
            pb_y_list(f, pb_risk, p->device_risk);
            dsep = ", ";
        }
        if (p->platforms) {
            fprintf(f, "%splatforms: ", dsep);
            pb_y_list(f, pb_platform, p->platforms);
        }
        fputc('}', f);
        sep = ", ";
    }
    if (p->loc_in) {
        fprintf(f, "%slocations: {include: ", sep);
        pb_y_loc(f, p->loc_in, p->loc_in_mask);
        if (p->loc_out) {
            fputs(", exclude: ", f);
            pb_y_loc(f, p->loc_out, p->loc_out_mask);
        }
        fputc('}', f);
        sep = ", ";
    }
    if (p->anon >= 0) {
        fprintf(f, "%sanonymous_ip: %s", sep, p->anon ? "true" : "false");
        sep = ", ";
    }
    if (p->clients) {
        fprintf(f, "%sclient_types: ", sep);
        pb_y_list(f, pb_client, p->clients);
        sep = ", ";
    }
    if (p->has_time) {
        fprintf(f, "%stime: {", sep);
        if (p->days) {
            fputs("days: ", f);
            pb_y_list(f, pb_days, p->days);
        }
        if (p->from_m >= 0)
            fprintf(f, "%sfrom: \"%02d:%02d\", to: \"%02d:%02d\"", p->days ? ", " : "",
                    p->from_m / 60, p->from_m % 60, p->to_m / 60, p->to_m % 60);
        fputc('}', f);
    }
    fputs("}, grant: {", f);
    if (p->block) {
        fputs("block: true}", f);
    } else {
        fputs("controls: ", f);
        pb_y_list(f, pb_controls, p->controls);
        fprintf(f, ", operator: %s}", p->op_or ? "OR" : "AND");
    }
    if (p->freq_s >= 0 || p->restrict_flags) {
        static const char *const restr[] = {"read_only", "no_download"};
        fputs(", session: {", f);
        if (p->freq_s == 0)
            fputs("sign_in_frequency: every_time", f);
        else if (p->freq_s > 0)
            fprintf(f, "sign_in_frequency: %dh", p->freq_s / 3600);
        if (p->restrict_flags) {
            fprintf(f, "%srestrict: ", p->freq_s >= 0 ? ", " : "");
            pb_y_list(f, restr, p->restrict_flags);
        }
        fputc('}', f);
    }
    fputs("}\n", f);
}

/* ---------------------------------------------------------------------------------------------
 * Cedar. One baseline permit; every enforced policy becomes forbid rules:
 *   block:                 forbid when { applies };
 *   controls:              forbid when { applies } unless { controls satisfied };
 *   sign_in_frequency F:   forbid when { applies && context.auth_age > F };
 * which is ztgate's "block wins, controls are the union, shortest frequency" as deny-overrides.
 * Report-only and off policies never change the outcome and are left out. */

typedef struct pb_cj {
    FILE *f;
    bool any;
} pb_cj;

static void pb_and(pb_cj *c)
{
    if (c->any)
        fputs(" &&\n    ", c->f);
    c->any = true;
}

static void pb_c_strset(FILE *f, const char *const *words, unsigned mask, const char *attr)
{
    const char *sep = "";
    fputc('[', f);
    for (unsigned i = 0; mask >> i; i++)
        if (mask & (1u << i)) {
            fprintf(f, "%s\"%s\"", sep, words[i]);
            sep = ", ";
        }
    fprintf(f, "].contains(%s)", attr);
}

static void pb_c_who(FILE *f, const pb_world *w, const int *v, int n)
{
    fputs("principal in [", f);
    for (int i = 0; i < n; i++) {
        if (v[i] >= 0)
            fprintf(f, "%sGroup::\"%s\"", i ? ", " : "", w->group_names[v[i]]);
        else
            fprintf(f, "%sUser::\"%s\"", i ? ", " : "", w->users[-v[i] - 1].email);
    }
    fputc(']', f);
}

static void pb_c_one_loc(FILE *f, const pb_loc *l)
{
    const char *sep = "";
    fputc('(', f);
    for (int i = 0; i < 3 && l->cidrs[i] != NULL; i++) {
        fprintf(f, "%scontext.ip.isInRange(ip(\"%s\"))", sep, l->cidrs[i]);
        sep = " || ";
    }
    if (l->countries[0] != NULL) {
        fprintf(f, "%s[", sep);
        for (int i = 0; i < 5 && l->countries[i] != NULL; i++)
            fprintf(f, "%s\"%s\"", i ? ", " : "", l->countries[i]);
        fputs("].contains(context.country)", f);
    }
    fputc(')', f);
}

static void pb_c_locs(FILE *f, int mode, unsigned mask)
{
    const char *sep = "";
    fputc('(', f);
    for (size_t i = 0; i < PB_LOCS; i++) {
        bool in = mode == PB_LOC_TRUSTED ? pb_locs[i].trusted : (mask & (1u << i)) != 0;
        if (!in)
            continue;
        fputs(sep, f);
        pb_c_one_loc(f, &pb_locs[i]);
        sep = " || ";
    }
    fputc(')', f);
}

static void pb_c_days(FILE *f, unsigned days, const char *attr)
{
    const char *sep = "";
    fputc('[', f);
    for (unsigned i = 0; i < 7; i++)
        if (days & (1u << i)) {
            fprintf(f, "%s%u", sep, i);
            sep = ", ";
        }
    fprintf(f, "].contains(%s)", attr);
}

/* The "applies" part: scope plus the when-clause terms, without the opening keyword. */
static void pb_c_applies(FILE *f, const pb_world *w, const pb_pol *p, size_t idx, const char *extra)
{
    bool one_group = !p->users_all && p->n_uin == 1 && p->uin[0] >= 0;
    bool one_app = p->apps_mode == 2 && p->n_ain == 1;
    fprintf(f, "@id(\"p%zu%s\")\nforbid (\n  principal", idx, extra);
    if (one_group)
        fprintf(f, " in Group::\"%s\"", w->group_names[p->uin[0]]);
    fputs(",\n  action,\n  resource", f);
    if (one_app)
        fprintf(f, " == App::\"%s\"", w->apps[p->ain[0]].name);
    fputs("\n)\nwhen {\n    ", f);

    pb_cj c = {f, false};
    if (!p->users_all && !one_group) {
        pb_and(&c);
        pb_c_who(f, w, p->uin, p->n_uin);
    }
    if (p->n_uex > 0) {
        pb_and(&c);
        fputs("!(", f);
        pb_c_who(f, w, p->uex, p->n_uex);
        fputc(')', f);
    }
    if (p->apps_mode == 1) {
        pb_and(&c);
        pb_c_strset(f, pb_sens, p->sens_mask, "resource.sensitivity");
    } else if (p->apps_mode == 2 && !one_app) {
        pb_and(&c);
        fputs("resource in [", f);
        for (int i = 0; i < p->n_ain; i++)
            fprintf(f, "%sApp::\"%s\"", i ? ", " : "", w->apps[p->ain[i]].name);
        fputc(']', f);
    }
    if (p->n_aex > 0) {
        pb_and(&c);
        fprintf(f, "resource != App::\"%s\"", w->apps[p->aex[0]].name);
    }
    if (p->user_risk) {
        pb_and(&c);
        pb_c_strset(f, pb_risk, p->user_risk, "context.user_risk");
    }
    if (p->sign_in_risk) {
        pb_and(&c);
        pb_c_strset(f, pb_risk, p->sign_in_risk, "context.sign_in_risk");
    }
    if (p->enrolled >= 0) {
        pb_and(&c);
        fprintf(f, "context.device_enrolled == %s", p->enrolled ? "true" : "false");
    }
    if (p->compliant >= 0) {
        pb_and(&c);
        fprintf(f, "context.device_compliant == %s", p->compliant ? "true" : "false");
    }
    if (p->device_risk) {
        pb_and(&c);
        pb_c_strset(f, pb_risk, p->device_risk, "context.device_risk");
    }
    if (p->platforms) {
        pb_and(&c);
        pb_c_strset(f, pb_platform, p->platforms, "context.platform");
    }
    if (p->loc_in == PB_LOC_TRUSTED || p->loc_in == PB_LOC_NAMES) {
        pb_and(&c);
        pb_c_locs(f, p->loc_in, p->loc_in_mask);
    }
    if (p->loc_out) {
        pb_and(&c);
        fputc('!', f);
        pb_c_locs(f, p->loc_out, p->loc_out_mask);
    }
    if (p->anon >= 0) {
        pb_and(&c);
        fprintf(f, "context.anonymous_ip == %s", p->anon ? "true" : "false");
    }
    if (p->clients) {
        pb_and(&c);
        pb_c_strset(f, pb_client, p->clients, "context.client");
    }
    if (p->has_time) {
        pb_and(&c);
        if (p->from_m < 0) {
            pb_c_days(f, p->days, "context.wday");
        } else if (p->from_m < p->to_m) {
            fprintf(f, "(context.minute >= %d && context.minute < %d", p->from_m, p->to_m);
            if (p->days) {
                fputs(" && ", f);
                pb_c_days(f, p->days, "context.wday");
            }
            fputc(')', f);
        } else if (p->days == 0) {
            fprintf(f, "(context.minute >= %d || context.minute < %d)", p->from_m, p->to_m);
        } else {
            /* across midnight: the small hours belong to the day the window opened */
            fprintf(f, "((context.minute >= %d && ", p->from_m);
            pb_c_days(f, p->days, "context.wday");
            fprintf(f, ") || (context.minute < %d && ", p->to_m);
            pb_c_days(f, p->days, "context.wday_prev");
            fputs("))", f);
        }
    }
    if (!c.any)
        fputs("true", f);
}

static void pb_cedar_policy(FILE *f, const pb_world *w, size_t idx, const pb_pol *p)
{
    static const char *const sat[] = {"context.mfa", "context.phishing_resistant_mfa",
                                      "context.device_compliant", "context.password_ok"};
    if (p->state != 0)
        return;
    if (p->block || p->controls) {
        pb_c_applies(f, w, p, idx, "");
        fputs("\n}", f);
        if (!p->block) {
            const char *sep = "";
            fputs("\nunless {\n    ", f);
            for (unsigned i = 0; i < 4; i++)
                if (p->controls & (1u << i)) {
                    fprintf(f, "%s%s", sep, sat[i]);
                    sep = p->op_or ? " || " : " && ";
                }
            fputs("\n}", f);
        }
        fputs(";\n\n", f);
    }
    if (p->freq_s >= 0) {
        pb_c_applies(f, w, p, idx, "-sign-in-frequency");
        fprintf(f, " &&\n    context.auth_age > %d\n};\n\n",
                p->freq_s == 0 ? ZT_POLICY_FRESH_S : p->freq_s);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Whole config */

char *pb_config(const pb_world *w, size_t n_policies, uint64_t seed, FILE *cedar, size_t stats[5])
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    fputs("gateway:\n  listen:\n    - address: 127.0.0.1:8080\napps:\n", f);
    for (int a = 0; a < PB_APPS; a++)
        fprintf(f,
                "  - {name: %s, path_prefix: /%s, upstream: \"http://127.0.0.1:1\", "
                "sensitivity: %s}\n",
                w->apps[a].name, w->apps[a].name, pb_sens[w->apps[a].sens]);
    fputs("locations:\n", f);
    for (size_t i = 0; i < PB_LOCS; i++) {
        const pb_loc *l = &pb_locs[i];
        fprintf(f, "  - {name: %s", l->name);
        if (l->cidrs[0] != NULL) {
            fputs(", cidrs: [", f);
            for (int k = 0; k < 3 && l->cidrs[k] != NULL; k++)
                fprintf(f, "%s\"%s\"", k ? ", " : "", l->cidrs[k]);
            fputc(']', f);
        }
        if (l->countries[0] != NULL) {
            fputs(", countries: [", f);
            for (int k = 0; k < 5 && l->countries[k] != NULL; k++)
                fprintf(f, "%s%s", k ? ", " : "", l->countries[k]);
            fputc(']', f);
        }
        fprintf(f, "%s}\n", l->trusted ? ", trusted: true" : "");
    }
    fputs("policies:\n", f);
    if (cedar != NULL)
        fputs("// Generated by bench/policy/gen.c; the same policies as the YAML of this size.\n"
              "@id(\"baseline\")\npermit (principal, action, resource);\n\n",
              cedar);
    pb_rng r = {seed};
    memset(stats, 0, 5 * sizeof(size_t));
    for (size_t i = 0; i < n_policies; i++) {
        pb_pol p;
        pb_gen_policy(&r, &p);
        stats[p.state]++;
        stats[p.block ? 3 : 4]++;
        pb_yaml_policy(f, w, i, &p);
        if (cedar != NULL)
            pb_cedar_policy(cedar, w, i, &p);
    }
    if (fclose(f) != 0)
        abort();
    return text;
}

/* ---------------------------------------------------------------------------------------------
 * Requests for Cedar: principal, resource, context and the entity slice */

void pb_requests_json(const pb_world *w, FILE *f)
{
    fputs("[\n", f);
    for (size_t i = 0; i < w->n_reqs; i++) {
        const pb_req *q = &w->reqs[i];
        const zt_policy_input *in = &q->in;
        const pb_user *u = &w->users[q->user];
        const pb_app *a = &w->apps[q->app];
        int64_t days = in->now / 86400;
        unsigned wday = (unsigned)((days + 3) % 7);
        unsigned minute = (unsigned)(in->now % 86400 / 60);
        bool known = in->device_known;
        fprintf(f, "{\"principal\":{\"type\":\"User\",\"id\":\"%s\"},", u->email);
        fprintf(f, "\"resource\":{\"type\":\"App\",\"id\":\"%s\"},", a->name);
        fprintf(f,
                "\"context\":{\"ip\":{\"__extn\":{\"fn\":\"ip\",\"arg\":\"%s\"}},"
                "\"country\":\"%s\",\"anonymous_ip\":%s,\"user_risk\":\"%s\","
                "\"sign_in_risk\":\"%s\",\"device_enrolled\":%s,\"device_compliant\":%s,"
                "\"device_risk\":\"%s\",\"platform\":\"%s\",\"client\":\"%s\","
                "\"minute\":%u,\"wday\":%u,\"wday_prev\":%u,\"mfa\":%s,"
                "\"phishing_resistant_mfa\":%s,\"password_ok\":%s,\"auth_age\":%lld},",
                q->ip, in->country, in->anonymous_ip ? "true" : "false", pb_risk[in->user_risk],
                pb_risk[in->sign_in_risk], known && in->device_enrolled ? "true" : "false",
                known && in->device_compliant ? "true" : "false",
                pb_risk[known ? in->device_risk : ZT_RISK_NONE], pb_platform[in->platform],
                pb_client[in->client], minute, wday, (wday + 6) % 7,
                in->mfa_time > 0 ? "true" : "false", in->mfa_phishing_resistant ? "true" : "false",
                in->password_change_required ? "false" : "true",
                (long long)(in->now - in->auth_time));
        fprintf(f,
                "\"entities\":[{\"uid\":{\"type\":\"User\",\"id\":\"%s\"},\"attrs\":{},"
                "\"parents\":[",
                u->email);
        for (int k = 0; k < u->n_groups; k++)
            fprintf(f, "%s{\"type\":\"Group\",\"id\":\"%s\"}", k ? "," : "",
                    w->group_names[u->groups[k]]);
        fputs("]}", f);
        for (int k = 0; k < u->n_groups; k++)
            fprintf(f, ",{\"uid\":{\"type\":\"Group\",\"id\":\"%s\"},\"attrs\":{},\"parents\":[]}",
                    w->group_names[u->groups[k]]);
        fprintf(f,
                ",{\"uid\":{\"type\":\"App\",\"id\":\"%s\"},\"attrs\":{\"sensitivity\":\"%s\"},"
                "\"parents\":[]}]}%s\n",
                a->name, pb_sens[a->sens], i + 1 < w->n_reqs ? "," : "");
    }
    fputs("]\n", f);
}
