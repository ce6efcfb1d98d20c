/* The `ldap_directories:` section (docs/LDAP.md, docs/CONFIG.md): one item per directory. The
 * rules that keep binds safe are checked here, so a config that would send a password in clear
 * text never loads: the URL must be ldaps:// or ldap:// (then StartTLS is always used). */
#include <string.h>

#include "directory/directory.h"

static const char *const ldap_kinds[] = {"openldap", "ad", NULL};

/* One URL, or several separated by single spaces (tried in order while they refuse the
 * connection), all ldaps:// or all ldap://: whether StartTLS is needed is the same for all. */
static bool url_ok(const char *u)
{
    bool tls = strncmp(u, "ldaps://", 8) == 0;
    if (!tls && strncmp(u, "ldap://", 7) != 0)
        return false;
    for (const char *sp = strchr(u, ' '); sp != NULL; sp = strchr(sp + 1, ' ')) {
        const char *next = sp + 1;
        bool ok = tls ? strncmp(next, "ldaps://", 8) == 0 : strncmp(next, "ldap://", 7) == 0;
        if (!ok)
            return false;
    }
    return strchr(u, ',') == NULL && u[strlen(u) - 1] != ' ';
}

static void check_directory(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_ldap_cfg *d = (zt_ldap_cfg *)(void *)w->target;
    zt_config_mark(w, &d->line, &d->col);
    /* "ldap:NAME" is the users' source, at most ZT_STORE_SOURCE_MAX bytes. */
    if (d->name != NULL && strlen(d->name) + 5 > ZT_STORE_SOURCE_MAX)
        zt_config_err(c, zt_config_seen(w, "name"), "name is longer than %d characters",
                      ZT_STORE_SOURCE_MAX - 5);
    if (d->url != NULL) {
        if (!url_ok(d->url))
            zt_config_err(c, zt_config_seen(w, "url"),
                          "url must be ldaps:// (TLS) or ldap:// (StartTLS is then required) "
                          "URLs, several separated by single spaces, all of one scheme; other "
                          "schemes are refused");
    }
    zt_config_check_file(c, w, "ca_file", d->ca_file, "");
    zt_config_check_file(c, w, "bind_password_file", d->bind_password_file, "");
    if ((d->disabled_attribute == NULL) != (d->disabled_value == NULL))
        zt_config_err(c, w->map, "disabled_attribute and disabled_value go together");
    for (size_t i = 0; i < d->n_domains; i++) {
        const char *s = d->domains[i].s;
        if (s != NULL && (strchr(s, '@') != NULL || strchr(s, '.') == NULL))
            zt_config_word_err(c, &d->domains[i], "is not an e-mail domain (like example.com)");
    }
}

static const zt_config_key ldap_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED, ZT_FIELD(zt_ldap_cfg, name)},
    {"kind", ZT_K_ENUM, 0, ZT_FIELD(zt_ldap_cfg, kind), .def = "openldap", .names = ldap_kinds},
    {"url", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_ldap_cfg, url)},
    {"ca_file", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, ca_file)},
    {"bind_dn", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_ldap_cfg, bind_dn)},
    {"bind_password_file", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_ldap_cfg, bind_password_file)},
    {"base_dn", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_ldap_cfg, base_dn)},
    {"user_filter", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, user_filter)},
    {"login_attribute", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, login_attribute), .def = "mail"},
    {"id_attribute", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, id_attribute)},
    {"mail_attribute", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, mail_attribute), .def = "mail"},
    {"name_attribute", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, name_attribute), .def = "displayName"},
    {"group_base_dn", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, group_base_dn)},
    {"group_filter", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, group_filter)},
    {"disabled_attribute", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, disabled_attribute)},
    {"disabled_value", ZT_K_STR, 0, ZT_FIELD(zt_ldap_cfg, disabled_value)},
    {"domains", ZT_K_STRS, 0, .off = offsetof(zt_ldap_cfg, domains),
     .aux = offsetof(zt_ldap_cfg, n_domains), .min = 1, .max = 100},
    {"timeout", ZT_K_DURATION, 0, ZT_FIELD(zt_ldap_cfg, timeout_ms), .def = "5s", .min = 100,
     .max = 120 * ZT_MS_S},
    {"sync_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_ldap_cfg, sync_interval_ms), .def = "15m",
     .min = 0, .max = 7 * 24 * ZT_MS_H},
    {"jit", ZT_K_BOOL, 0, ZT_FIELD(zt_ldap_cfg, jit), .def = "true"},
};
ZT_CONFIG_SECTION(ldap_section, ldap_keys, check_directory);

/* Names are unique: they are the users' source ("ldap:NAME"). */
static void check_all(zt_config_ctx *c)
{
    zt_config *cfg = zt_config_target(c);
    for (size_t i = 0; i < cfg->n_ldap_directories; i++)
        for (size_t j = 0; j < i; j++) {
            const zt_ldap_cfg *a = &cfg->ldap_directories[i], *b = &cfg->ldap_directories[j];
            if (a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0)
                zt_config_err_at(c, a->line, a->col, "ldap_directories: name '%s' used twice",
                                 a->name);
        }
}

const zt_config_module zt_ldap_config_module = {"ldap_directories", &ldap_section, check_all};
