/* The `oidc_providers:` section: upstream OpenID providers users sign in with. Read by the
 * engine in core/config.c through this table; the checks across providers (unique names and
 * home-realm domains) run once the whole file was read. */
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config_schema.h"
#include "federation/federation.h"

static const char *const jit_modes[] = {"create", "update", "off", NULL};

#define FED_SCOPES_MAX 16
#define FED_DOMAINS_MAX 256
#define FED_GROUP_MAP_MAX 1024

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ZT_FED_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* An e-mail domain: lowercase letters, digits, '-' and '.', not starting with '.'. */
static bool domain_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '.'))
            return false;
    return true;
}

static void check_group_map(zt_config_ctx *c, const zt_oidc_provider_cfg *p)
{
    for (size_t i = 0; i < p->n_group_map; i++) {
        const char *s = p->group_map[i].s;
        const char *eq = s ? strrchr(s, '=') : NULL;
        if (eq == NULL || eq == s || eq[1] == '\0' || strlen(eq + 1) > ZT_FED_GROUP_MAX) {
            zt_config_word_err(c, &p->group_map[i],
                               "a group_map entry is CLAIM-VALUE=GROUP (the ztgate group after "
                               "the last '=')");
            continue;
        }
        for (const char *g = eq + 1; *g; g++)
            if (!((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z') ||
                  (*g >= '0' && *g <= '9') || *g == '.' || *g == '_' || *g == '-')) {
                zt_config_word_err(c, &p->group_map[i],
                                   "group '%s' may hold only letters, digits, '.', '_' and '-'",
                                   eq + 1);
                break;
            }
    }
}

static void check_provider(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_oidc_provider_cfg *p = (zt_oidc_provider_cfg *)(void *)w->target;
    zt_config_mark(w, &p->line, &p->col);
    if (p->name != NULL && !name_ok(p->name))
        zt_config_err(c, zt_config_seen(w, "name"),
                      "'name' must be 1 to %d of a-z, 0-9 and '-' (it is part of URLs)",
                      ZT_FED_NAME_MAX);
    const char *why = p->issuer ? zt_fed_url_problem(p->issuer) : NULL;
    if (why != NULL)
        zt_config_err(c, zt_config_seen(w, "issuer"), "'issuer' %s", why);
    if (p->client_secret_file != NULL) {
        struct stat st;
        zt_config_check_file(c, w, "client_secret_file", p->client_secret_file, "");
        if (stat(p->client_secret_file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
            zt_config_err(c, zt_config_seen(w, "client_secret_file"),
                          "'client_secret_file' file '%s' is readable by group or others "
                          "(mode %03o): chmod 600 it",
                          p->client_secret_file, (unsigned)(st.st_mode & 0777));
    }
    if ((p->client_secret_file == NULL) == (p->private_key_dir == NULL))
        zt_config_err_at(c, p->line, p->col,
                         "provider '%s': give exactly one of 'client_secret_file' "
                         "(client_secret_basic) and 'private_key_dir' (private_key_jwt)",
                         p->name ? p->name : "?");
    if (p->ca_file != NULL)
        zt_config_check_file(c, w, "ca_file", p->ca_file, "");
    for (size_t i = 0; i < p->n_domains; i++)
        if (!domain_ok(p->domains[i].s))
            zt_config_word_err(c, &p->domains[i],
                               "a domain is written in lowercase, like example.ac.jp");
    bool has_openid = false;
    for (size_t i = 0; i < p->n_scopes; i++)
        has_openid = has_openid || strcmp(p->scopes[i].s, "openid") == 0;
    if (p->n_scopes > 0 && !has_openid)
        zt_config_err(c, zt_config_seen(w, "scopes"), "'scopes' must include openid");
    check_group_map(c, p);
    if (p->label_ja == NULL)
        p->label_ja = p->label;
}

static const zt_config_key provider_keys[] = {
    {"name", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, name)},
    {"label", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, label)},
    {"label_ja", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, label_ja)},
    {"issuer", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, issuer)},
    {"client_id", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_provider_cfg, client_id)},
    {"client_secret_file", ZT_K_STR, ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_provider_cfg, client_secret_file)},
    {"private_key_dir", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, private_key_dir)},
    {"ca_file", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, ca_file)},
    {"scopes", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_oidc_provider_cfg, scopes),
     .aux = offsetof(zt_oidc_provider_cfg, n_scopes), .min = 0, .max = FED_SCOPES_MAX},
    {"domains", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_oidc_provider_cfg, domains),
     .aux = offsetof(zt_oidc_provider_cfg, n_domains), .min = 0, .max = FED_DOMAINS_MAX},
    {"email_claim", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, email_claim),
     .def = "email"},
    {"name_claim", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, name_claim),
     .def = "name"},
    {"groups_claim", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, groups_claim),
     .def = "groups"},
    {"group_map", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_oidc_provider_cfg, group_map),
     .aux = offsetof(zt_oidc_provider_cfg, n_group_map), .min = 0, .max = FED_GROUP_MAP_MAX},
    {"hosted_domain", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, hosted_domain)},
    {"jit", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, jit), .def = "create",
     .names = jit_modes},
    {"trust_upstream_mfa", ZT_K_BOOL, ZT_CFG_RELOAD,
     ZT_FIELD(zt_oidc_provider_cfg, trust_upstream_mfa), .def = "false"},
    {"end_session", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_oidc_provider_cfg, end_session),
     .def = "true"},
};
ZT_CONFIG_SECTION(provider_section, provider_keys, check_provider);

/* Names and home-realm domains are unique over all providers; sign-in pages need a portal. */
static void check_providers_all(zt_config_ctx *c)
{
    zt_config *cfg = zt_config_target(c);
    for (size_t j = 0; j < cfg->n_oidc_providers; j++) {
        const zt_oidc_provider_cfg *b = &cfg->oidc_providers[j];
        for (size_t i = 0; i < j; i++) {
            const zt_oidc_provider_cfg *a = &cfg->oidc_providers[i];
            if (a->name && b->name && strcmp(a->name, b->name) == 0)
                zt_config_err_at(c, b->line, b->col, "provider name '%s' is used twice (line %u)",
                                 b->name, a->line);
            for (size_t x = 0; x < b->n_domains; x++)
                for (size_t y = 0; y < a->n_domains; y++)
                    if (strcmp(b->domains[x].s, a->domains[y].s) == 0)
                        zt_config_word_err(c, &b->domains[x],
                                           "domain '%s' already goes to provider '%s'",
                                           b->domains[x].s, a->name ? a->name : "?");
        }
    }
}

const zt_config_module zt_oidc_providers_config_module = {"oidc_providers", &provider_section,
                                                          check_providers_all};
