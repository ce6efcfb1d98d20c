/* The `incidents:` and `playbooks:` sections of the config file (incident response: correlation,
 * the notify webhook, and the playbooks with their signal types and actions, docs/INCIDENTS.md),
 * read by the engine in core/config.c through these tables. */
#include <stddef.h>
#include <string.h>

#include "core/config_schema.h"
#include "response/incident.h"
#include "response/playbook.h"

static const char *const signal_types[] = {"leaked_credentials",
                                           "anonymous_ip",
                                           "malicious_ip",
                                           "password_spray",
                                           "impossible_travel",
                                           "atypical_travel",
                                           "unfamiliar_sign_in",
                                           "admin_confirmed_compromised",
                                           "cloned_credential",
                                           "malware",
                                           "device_noncompliant",
                                           "device_silent",
                                           NULL};
static const char *const playbook_actions[] = {"revoke_sessions",
                                               "require_password_change",
                                               "isolate_device",
                                               "disable_user",
                                               "notify",
                                               "open_incident",
                                               NULL};

static void check_webhook(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_webhook_cfg *n = (const zt_webhook_cfg *)(void *)w->target;
    const char *u = n->url;
    bool https = u != NULL && strncmp(u, "https://", 8) == 0;
    const char *host = u == NULL                       ? NULL
                       : https                         ? u + 8
                       : strncmp(u, "http://", 7) == 0 ? u + 7
                                                       : NULL;
    if (u != NULL && (host == NULL || *host == '\0' || *host == '/' || strlen(u) > 2048 ||
                      strpbrk(u, " \t\r\n#?@") != NULL))
        zt_config_err(c, zt_config_seen(w, "url"),
                      "url must be http://HOST[:PORT]/PATH or https://... (no user info, query "
                      "or fragment; at most 2048 bytes)");
    zt_config_check_file(c, w, "secret_file", n->secret_file, "");
    zt_config_check_file(c, w, "ca", n->ca_file, "");
    if (n->ca_file != NULL && !https)
        zt_config_err(c, zt_config_seen(w, "ca"), "ca is only used with an https:// url");
}

static const zt_config_key webhook_keys[] = {
    {"url", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_webhook_cfg, url)},
    {"timeout", ZT_K_DURATION, 0, ZT_FIELD(zt_webhook_cfg, timeout_ms), .min = 100,
     .max = 60 * ZT_MS_S, .def = "5s"},
    {"retries", ZT_K_UINT, 0, ZT_FIELD(zt_webhook_cfg, retries), .min = 0, .max = 20, .def = "5"},
    {"backoff", ZT_K_DURATION, 0, ZT_FIELD(zt_webhook_cfg, backoff_ms), .min = 10,
     .max = 60 * ZT_MS_S, .def = "1s"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_webhook_cfg, queue_limit), .min = 1, .max = 100000,
     .def = "1000"},
    {"secret_file", ZT_K_STR, 0, ZT_FIELD(zt_webhook_cfg, secret_file)},
    {"ca", ZT_K_STR, 0, ZT_FIELD(zt_webhook_cfg, ca_file)},
};
ZT_CONFIG_SECTION(webhook_section, webhook_keys, check_webhook);

static void check_incidents(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_incidents_cfg *in = (const zt_incidents_cfg *)(void *)w->target;
    if (in->min_severity == 0)
        zt_config_err(c, zt_config_seen(w, "min_severity"),
                      "min_severity must be low, medium or high");
}

static const zt_config_key incidents_keys[] = {
    {"correlation_window", ZT_K_DURATION, 0, ZT_FIELD(zt_incidents_cfg, correlation_window_ms),
     .min = ZT_MS_M, .max = 7 * 24 * ZT_MS_H, .def = "1h"},
    {"min_severity", ZT_K_ENUM, 0, ZT_FIELD(zt_incidents_cfg, min_severity), .def = "medium",
     .names = zt_risk_names},
    {"notify", ZT_K_SECTION, ZT_CFG_PRESENT, .off = offsetof(zt_incidents_cfg, notify),
     .aux = offsetof(zt_incidents_cfg, has_notify), .sub = &webhook_section},
};
ZT_CONFIG_SECTION(incidents_section, incidents_keys, check_incidents);

static void check_playbook_on(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_playbook_on_cfg *on = (const zt_playbook_on_cfg *)(void *)w->target;
    for (size_t i = 0; i < on->n_types; i++)
        if (!zt_config_in_list(on->types[i].s, signal_types))
            zt_config_word_err(c, &on->types[i],
                               "is not a signal type (leaked_credentials, anonymous_ip, "
                               "malicious_ip, password_spray, impossible_travel, atypical_travel, "
                               "unfamiliar_sign_in, admin_confirmed_compromised, malware, "
                               "device_noncompliant, device_silent)");
    if (on->min_severity != 0 && on->severity_mask != 0)
        zt_config_err(c, zt_config_seen(w, "severities"),
                      "give min_severity or severities, not both");
}

static const zt_config_key playbook_on_keys[] = {
    {"types", ZT_K_STRS, 0, .off = offsetof(zt_playbook_on_cfg, types),
     .aux = offsetof(zt_playbook_on_cfg, n_types), .min = 1, .max = 32},
    {"min_severity", ZT_K_ENUM, 0, ZT_FIELD(zt_playbook_on_cfg, min_severity),
     .names = zt_risk_names},
    {"severities", ZT_K_FLAGS, 0, ZT_FIELD(zt_playbook_on_cfg, severity_mask), .min = 1, .max = 4,
     .names = zt_risk_names},
};
ZT_CONFIG_SECTION(playbook_on_section, playbook_on_keys, check_playbook_on);

static void check_playbook(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_playbook_cfg *pb = (zt_playbook_cfg *)(void *)w->target;
    zt_config_mark(w, &pb->line, &pb->col);
    for (size_t i = 0; i < pb->n_actions; i++) {
        const zt_cfg_word *a = &pb->actions[i];
        if (!zt_config_in_list(a->s, playbook_actions)) {
            zt_config_word_err(c, a,
                               "is not an action (revoke_sessions, require_password_change, "
                               "isolate_device, disable_user, notify, open_incident)");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (pb->actions[j].s != NULL && strcmp(pb->actions[j].s, a->s) == 0)
                zt_config_word_err(c, a, "is listed twice");
    }
}

static const zt_config_key playbook_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED, ZT_FIELD(zt_playbook_cfg, name)},
    {"on", ZT_K_SECTION, ZT_CFG_REQUIRED, .off = offsetof(zt_playbook_cfg, on),
     .sub = &playbook_on_section},
    {"actions", ZT_K_STRS, ZT_CFG_REQUIRED, .off = offsetof(zt_playbook_cfg, actions),
     .aux = offsetof(zt_playbook_cfg, n_actions), .min = 1, .max = 6},
    {"undo_on_remediation", ZT_K_BOOL, 0, ZT_FIELD(zt_playbook_cfg, undo_on_remediation),
     .def = "false"},
};
ZT_CONFIG_SECTION(playbook_section, playbook_keys, check_playbook);

/* Across playbooks: unique names; `notify` needs incidents.notify. */
static void check_playbooks(zt_config_ctx *c)
{
    const zt_config *cfg = zt_config_target(c);
    for (size_t i = 0; i < cfg->n_playbooks; i++) {
        const zt_playbook_cfg *pb = &cfg->playbooks[i];
        for (size_t j = 0; j < i && pb->name != NULL; j++)
            if (cfg->playbooks[j].name != NULL && strcmp(cfg->playbooks[j].name, pb->name) == 0)
                zt_config_err_at(c, pb->line, pb->col,
                                 "playbook '%s' is defined twice (first at line %u)", pb->name,
                                 cfg->playbooks[j].line);
        for (size_t k = 0; k < pb->n_actions && !cfg->incidents.has_notify; k++)
            if (pb->actions[k].s != NULL && strcmp(pb->actions[k].s, "notify") == 0)
                zt_config_word_err(c, &pb->actions[k], "needs a webhook: set incidents.notify.url");
    }
}

const zt_config_module zt_incidents_config_module = {"incidents", &incidents_section, NULL};
const zt_config_module zt_playbooks_config_module = {"playbooks", &playbook_section,
                                                     check_playbooks};
