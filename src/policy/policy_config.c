/* The `locations:` and `policies:` sections of the config file (Conditional Access,
 * docs/POLICY.md): their key tables, the checks of each entry where it was written, and the checks
 * of names across the file (apps, locations, duplicates) once it was read whole. core/config.c is
 * the engine that reads them; policy/compile.c turns the result into the evaluator's index. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_schema.h"
#include "lib/str.h"
#include "policy/policy.h"

#define ZT_CONFIG_LOCATION_CIDRS 2000 /* per location, as in Entra */
#define ZT_CONFIG_CIDRS_TOTAL 20000   /* over all locations: bounds the policy engine's trie */
#define ZT_CONFIG_ASSIGN_MAX 1000     /* entries in one include or exclude list */
#define ZT_STRENGTH_AAGUIDS_MAX 256   /* AAGUIDs in one authentication strength */

static bool is_keyword(const char *s)
{
    return strcmp(s, "all") == 0 || strcmp(s, "trusted") == 0;
}

static void check_location(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_location_cfg *loc = (zt_location_cfg *)(void *)w->target;
    zt_config_mark(w, &loc->line, &loc->col);
    if (loc->name != NULL && is_keyword(loc->name))
        zt_config_err(c, zt_config_seen(w, "name"),
                      "location name '%s' is reserved (it means %s in policies)", loc->name,
                      strcmp(loc->name, "all") == 0 ? "any location" : "every trusted location");
    if (loc->n_cidrs == 0 && loc->n_countries == 0)
        zt_config_err(c, w->map, "location '%s' needs cidrs or countries",
                      loc->name ? loc->name : "?");
    for (size_t i = 0; i < loc->n_countries; i++) {
        const char *s = loc->countries[i].s;
        if (s != NULL && (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z'))
            zt_config_word_err(c, &loc->countries[i],
                               "is not a country code (two capital letters, ISO 3166-1, like JP)");
    }
}

/* Users: "all", "group:NAME" or an email address (one '@', text on both sides, no spaces). */
static bool user_ref(const char *s)
{
    if (strcmp(s, "all") == 0)
        return true;
    if (strncmp(s, "group:", 6) == 0)
        return s[6] != '\0';
    const char *at = strchr(s, '@');
    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
           strpbrk(s, " \t") == NULL;
}

static void check_user_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].s != NULL && !user_ref(v[i].s))
            zt_config_word_err(c, &v[i], "must be all, an email address or group:NAME");
}

static void check_users(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_assign_cfg *a = (const zt_assign_cfg *)(void *)w->target;
    check_user_words(c, a->include, a->n_include);
    check_user_words(c, a->exclude, a->n_exclude);
}

static void check_time(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_time_cond_cfg *t = (zt_time_cond_cfg *)(void *)w->target;
    yaml_node_t *tz = zt_config_seen(w, "timezone");
    zt_config_mark(w, &t->line, &t->col);
    if (tz != NULL) {
        t->line = (unsigned)tz->start_mark.line + 1;
        t->col = (unsigned)tz->start_mark.column + 1;
    }
    if (t->has_from != t->has_to)
        zt_config_err(c, w->map, "'%s' needs both 'from' and 'to'", w->path);
    else if (t->has_from && t->from_min == t->to_min)
        zt_config_err(c, zt_config_seen(w, "to"),
                      "'%s.to' equals 'from': the window would be empty (leave both out for all "
                      "day)",
                      w->path);
    else if (!t->has_from && t->days_mask == 0)
        zt_config_err(c, w->map, "'%s' needs days or from/to", w->path);
}

static void check_strength(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_strength_cfg *st = (const zt_strength_cfg *)(const void *)w->target;
    unsigned char id[16];
    for (size_t i = 0; i < st->n_aaguids; i++)
        if (st->aaguids[i].s != NULL && !zt_uuid_parse(st->aaguids[i].s, id))
            zt_config_word_err(c, &st->aaguids[i], "is not an AAGUID (8-4-4-4-12 hex digits)");
}

static void check_grant(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_grant_cfg *g = (zt_grant_cfg *)(void *)w->target;
    const yaml_node_t *at = zt_config_seen(w, "controls");
    if (at == NULL)
        at = w->map;
    g->line = (unsigned)at->start_mark.line + 1;
    g->col = (unsigned)at->start_mark.column + 1;
    /* A passkey of a listed AAGUID is a phishing-resistant one: the strength is that control,
     * made stricter for this policy (compile.c keeps the list). */
    if (g->has_strength && !g->block)
        g->controls |= ZT_CTL_PHISHING_RESISTANT_MFA;
    if (g->block && g->has_strength)
        zt_config_err(c, zt_config_seen(w, "authentication_strength"),
                      "'%s' sets both block and authentication_strength: block wins, so the "
                      "strength would never be asked",
                      w->path);
    else if (g->block && g->controls != 0)
        zt_config_err(c, zt_config_seen(w, "controls"),
                      "'%s' sets both block and controls: block wins, so the controls would never "
                      "be asked",
                      w->path);
}

static void check_policy(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_policy_cfg *p = (zt_policy_cfg *)(void *)w->target;
    zt_config_mark(w, &p->line, &p->col);
    if (!p->grant.block && p->grant.controls == 0 && !p->session.has_sign_in_frequency &&
        p->session.restrict_flags == 0)
        zt_config_err(c, w->map,
                      "policy '%s' does nothing: set grant.block, grant.controls or a session "
                      "control",
                      p->name ? p->name : "?");
}

static const zt_location_cfg *find_location(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_locations; i++)
        if (cfg->locations[i].name != NULL && strcmp(cfg->locations[i].name, name) == 0)
            return &cfg->locations[i];
    return NULL;
}

static bool app_exists(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].name != NULL && strcmp(cfg->apps[i].name, name) == 0)
            return true;
    return false;
}

static bool sensitivity_ref(const char *s)
{
    for (int i = ZT_SENS_PUBLIC; i <= ZT_SENS_RESTRICTED; i++)
        if (strcmp(s, zt_sensitivity_name((zt_sensitivity)i)) == 0)
            return true;
    return false;
}

static void check_app_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = v[i].s;
        if (s == NULL || strcmp(s, "all") == 0)
            continue;
        if (strncmp(s, "sensitivity:", 12) == 0) {
            if (!sensitivity_ref(s + 12))
                zt_config_word_err(c, &v[i],
                                   "names no sensitivity (public, internal, "
                                   "confidential, restricted)");
        } else if (!app_exists(zt_config_target(c), s)) {
            zt_config_word_err(c, &v[i], "is not an app name (see apps)");
        }
    }
}

static void check_location_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].s != NULL && !is_keyword(v[i].s) &&
            find_location(zt_config_target(c), v[i].s) == NULL)
            zt_config_word_err(c, &v[i], "is not a location name (see locations)");
}

/* Names seen so far (policies, locations), so duplicates are found in one pass: open addressing
 * on an FNV-1a hash, exact (case-sensitive) compare. slot is NULL when there was no memory; the
 * callers then compare against every earlier name instead. */
typedef struct name_slot {
    const char *name; /* NULL = empty */
    size_t index;
} name_slot;

typedef struct name_table {
    name_slot *slot;
    size_t mask;
} name_table;

static void name_table_init(name_table *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    t->slot = calloc(cap, sizeof(*t->slot));
    t->mask = cap - 1;
}

/* The index of an earlier entry with this name, or SIZE_MAX after recording name at index. */
static size_t name_table_add(name_table *t, const char *name, size_t index)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (t->slot == NULL)
        return SIZE_MAX;
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    size_t j = (size_t)h & t->mask;
    for (; t->slot[j].name != NULL; j = (j + 1) & t->mask)
        if (strcmp(t->slot[j].name, name) == 0)
            return t->slot[j].index;
    t->slot[j] = (name_slot){name, index};
    return SIZE_MAX;
}

static void check_locations(zt_config_ctx *c)
{
    const zt_config *cfg = zt_config_target(c);
    size_t total = 0;
    name_table names;
    name_table_init(&names, cfg->n_locations);
    for (size_t j = 0; j < cfg->n_locations; j++) {
        const zt_location_cfg *b = &cfg->locations[j];
        total += b->n_cidrs;
        if (b->name == NULL)
            continue;
        size_t i = name_table_add(&names, b->name, j);
        for (size_t k = 0; names.slot == NULL && i == SIZE_MAX && k < j; k++)
            if (cfg->locations[k].name != NULL && strcmp(cfg->locations[k].name, b->name) == 0)
                i = k;
        if (i != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col, "duplicate location name '%s' (first at line %u)",
                             b->name, cfg->locations[i].line);
    }
    free(names.slot);
    if (total > ZT_CONFIG_CIDRS_TOTAL)
        zt_config_err_at(c, cfg->locations[0].line, cfg->locations[0].col,
                         "locations hold %zu CIDR blocks; at most %u in total", total,
                         ZT_CONFIG_CIDRS_TOTAL);
}

static void check_policies(zt_config_ctx *c)
{
    const zt_config *cfg = zt_config_target(c);
    name_table names;
    name_table_init(&names, cfg->n_policies);
    for (size_t j = 0; j < cfg->n_policies; j++) {
        const zt_policy_cfg *p = &cfg->policies[j];
        if (p->name == NULL)
            continue;
        size_t i = name_table_add(&names, p->name, j);
        for (size_t k = 0; names.slot == NULL && i == SIZE_MAX && k < j; k++)
            if (cfg->policies[k].name != NULL && strcmp(cfg->policies[k].name, p->name) == 0)
                i = k;
        if (i != SIZE_MAX)
            zt_config_err_at(c, p->line, p->col, "duplicate policy name '%s' (first at line %u)",
                             p->name, cfg->policies[i].line);
        check_app_words(c, p->apps.include, p->apps.n_include);
        check_app_words(c, p->apps.exclude, p->apps.n_exclude);
        check_location_words(c, p->conditions.locations.include, p->conditions.locations.n_include);
        check_location_words(c, p->conditions.locations.exclude, p->conditions.locations.n_exclude);
    }
    free(names.slot);
}

/* Word lists follow the enum order in policy/policy.h (bit i = names[i]). */
static const char *const policy_states[] = {"off", "on", "report_only", NULL};
static const char *const platforms[] = {"unknown", "windows", "macos",    "linux",
                                        "ios",     "android", "chromeos", NULL};
static const char *const clients[] = {"browser", "api", NULL};
static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};
static const char *const controls[] = {"mfa", "phishing_resistant_mfa", "compliant_device",
                                       "password_change", NULL};
static const char *const operators[] = {"AND", "OR", NULL};
static const char *const restricts[] = {"read_only", "no_download", NULL};

#define ZT_WORDS(T, list, n_list)                                                                  \
    .off = offsetof(T, list), .aux = offsetof(T, n_list), .max = ZT_CONFIG_ASSIGN_MAX

static const zt_config_key location_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_location_cfg, name)},
    {"cidrs", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_location_cfg, cidrs),
     .aux = offsetof(zt_location_cfg, n_cidrs), .min = 1, .max = ZT_CONFIG_LOCATION_CIDRS},
    {"countries", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_location_cfg, countries),
     .aux = offsetof(zt_location_cfg, n_countries), .min = 1, .max = 300},
    {"trusted", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_location_cfg, trusted), .def = "false"},
};
ZT_CONFIG_SECTION(location_section, location_keys, check_location);

static const zt_config_key assign_keys[] = {
    {"include", ZT_K_STRS, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     ZT_WORDS(zt_assign_cfg, include, n_include), .min = 1},
    {"exclude", ZT_K_STRS, ZT_CFG_RELOAD, ZT_WORDS(zt_assign_cfg, exclude, n_exclude), .min = 0},
};
ZT_CONFIG_SECTION(users_assign_section, assign_keys, check_users);
/* App and location names are checked against their lists once the whole file was read. */
ZT_CONFIG_SECTION(assign_section, assign_keys, NULL);

static const zt_config_key device_cond_keys[] = {
    {"enrolled", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, enrolled),
     .aux = offsetof(zt_device_cond_cfg, has_enrolled)},
    {"compliant", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     ZT_FIELD(zt_device_cond_cfg, compliant), .aux = offsetof(zt_device_cond_cfg, has_compliant)},
    {"risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, risk_mask), .min = 1, .max = 4,
     .names = zt_risk_names},
    {"platforms", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, platform_mask), .min = 1,
     .max = 7, .names = platforms},
};
ZT_CONFIG_SECTION(device_cond_section, device_cond_keys, NULL);

static const zt_config_key time_cond_keys[] = {
    {"days", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, days_mask), .min = 1, .max = 7,
     .names = days},
    {"from", ZT_K_CLOCK, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, from_min),
     .aux = offsetof(zt_time_cond_cfg, has_from)},
    {"to", ZT_K_CLOCK, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, to_min),
     .aux = offsetof(zt_time_cond_cfg, has_to)},
    {"timezone", ZT_K_TZ, ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, timezone), .def = "UTC"},
};
ZT_CONFIG_SECTION(time_cond_section, time_cond_keys, check_time);

static const zt_config_key cond_keys[] = {
    {"user_risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, user_risk_mask), .min = 1,
     .max = 4, .names = zt_risk_names},
    {"sign_in_risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, sign_in_risk_mask), .min = 1,
     .max = 4, .names = zt_risk_names},
    {"device", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_cond_cfg, device),
     .aux = offsetof(zt_cond_cfg, has_device), .sub = &device_cond_section},
    {"locations", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     .off = offsetof(zt_cond_cfg, locations), .aux = offsetof(zt_cond_cfg, has_locations),
     .sub = &assign_section},
    {"anonymous_ip", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, anonymous_ip),
     .aux = offsetof(zt_cond_cfg, has_anonymous_ip)},
    {"client_types", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, client_mask), .min = 1,
     .max = 2, .names = clients},
    {"time", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_cond_cfg, time),
     .aux = offsetof(zt_cond_cfg, has_time), .sub = &time_cond_section},
};
ZT_CONFIG_SECTION(cond_section, cond_keys, NULL);

static const zt_config_key strength_keys[] = {
    {"aaguids", ZT_K_STRS, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     .off = offsetof(zt_strength_cfg, aaguids), .aux = offsetof(zt_strength_cfg, n_aaguids),
     .min = 1, .max = ZT_STRENGTH_AAGUIDS_MAX},
};
ZT_CONFIG_SECTION(strength_section, strength_keys, check_strength);

static const zt_config_key grant_keys[] = {
    {"block", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, block), .def = "false"},
    {"controls", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, controls), .min = 1, .max = 4,
     .names = controls},
    {"operator", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, operator_or), .def = "AND",
     .names = operators},
    {"authentication_strength", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     .off = offsetof(zt_grant_cfg, strength), .aux = offsetof(zt_grant_cfg, has_strength),
     .sub = &strength_section},
};
ZT_CONFIG_SECTION(grant_section, grant_keys, check_grant);

static const zt_config_key session_ctl_keys[] = {
    {"sign_in_frequency", ZT_K_FREQ, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     ZT_FIELD(zt_session_ctl_cfg, sign_in_frequency_s),
     .aux = offsetof(zt_session_ctl_cfg, has_sign_in_frequency)},
    {"restrict", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_session_ctl_cfg, restrict_flags), .min = 1,
     .max = 2, .names = restricts},
};
ZT_CONFIG_SECTION(session_ctl_section, session_ctl_keys, NULL);

static const zt_config_key policy_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_policy_cfg, name)},
    {"state", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_policy_cfg, state), .def = "on",
     .names = policy_states},
    {"users", ZT_K_SECTION, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, users),
     .sub = &users_assign_section},
    {"apps", ZT_K_SECTION, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, apps),
     .sub = &assign_section},
    {"conditions", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, conditions),
     .sub = &cond_section},
    {"grant", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, grant),
     .sub = &grant_section},
    {"session", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, session),
     .sub = &session_ctl_section},
};
ZT_CONFIG_SECTION(policy_section, policy_keys, check_policy);

/* ---------------------------------------------------------------------------------------------
 * Deployment checks: can what the policies ask for be done here? */

/* Why no sign-in method enabled in cfg meets grant control number i (controls order),
 * and what to do; NULL when one does. TOTP with its recovery codes is always on (under
 * `mfa: optional` a signed-in user can still enrol when a policy asks), so mfa can be met; the
 * device CA and ztagent posture are always on, so compliant_device can; the portal's password
 * change meets password_change. Passkeys (auth.passkeys, on by default) meet
 * phishing_resistant_mfa. A
 * method that gets an on/off switch reads it here. */
typedef struct unmet_control {
    const char *why, *todo;
} unmet_control;

static unmet_control control_unmet(const zt_config *cfg, size_t i)
{
    if (strcmp(controls[i], "phishing_resistant_mfa") == 0 && !cfg->auth.passkeys)
        return (unmet_control){
            "no enabled sign-in method is phishing-resistant (auth.passkeys is false)",
            "set auth.passkeys: true, use state: report_only, or ask for mfa instead"};
    return (unmet_control){NULL, NULL};
}

unsigned zt_config_check_grants(const zt_config *cfg, zt_diags *diags)
{
    unsigned errors = 0;
    for (size_t j = 0; cfg != NULL && j < cfg->n_policies; j++) {
        const zt_policy_cfg *p = &cfg->policies[j];
        const zt_grant_cfg *g = &p->grant;
        if (p->state != ZT_POLICY_ON || g->controls == 0)
            continue;
        unsigned stuck = 0;
        for (size_t i = 0; controls[i] != NULL; i++)
            if ((g->controls & (1u << i)) && control_unmet(cfg, i).why != NULL)
                stuck |= 1u << i;
        /* AND needs every control; OR is met by any one, so only all of them stuck counts. */
        if (stuck == 0 || (g->operator_or && stuck != g->controls))
            continue;
        for (size_t i = 0; controls[i] != NULL; i++) {
            if (!(stuck & (1u << i)))
                continue;
            unmet_control u = control_unmet(cfg, i);
            zt_diag_add(diags, cfg->path, g->line, g->col,
                        "policy '%s' is on and requires %s, but %s: every request it applies to "
                        "would be refused; %s",
                        p->name, controls[i], u.why, u.todo);
            errors++;
        }
    }
    return errors;
}

const zt_config_module zt_locations_config_module = {"locations", &location_section,
                                                     check_locations};
const zt_config_module zt_policies_config_module = {"policies", &policy_section, check_policies};
