/* The `audit:` section of the config file (the hash-chained log and its export sinks), read by
 * the engine in core/config.c through these tables. docs/AUDIT.md describes the keys. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit/audit.h"
#include "core/config_schema.h"

static const char *const failure_modes[] = {"fail_closed", "fail_open", NULL};

/* TLS keys only make sense with transport tls, and a tls sink must be able to verify. */
static void check_export(zt_config_ctx *c, const zt_config_walk *w)
{
    static const char *const tls_only[] = {"ca", "server_name", "insecure_skip_verify"};
    zt_export_cfg *x = (zt_export_cfg *)(void *)w->target;
    x->line = (unsigned)w->map->start_mark.line + 1;
    x->col = (unsigned)w->map->start_mark.column + 1;
    bool tls = x->transport == ZT_EXPORT_TLS;
    for (size_t i = 0; !tls && i < sizeof(tls_only) / sizeof(tls_only[0]); i++)
        if (zt_config_seen(w, tls_only[i]) != NULL)
            zt_config_err(c, zt_config_seen(w, tls_only[i]),
                          "'%s.%s' only applies to transport: tls", w->path, tls_only[i]);
    if (tls && x->ca_file == NULL && !x->insecure_skip_verify)
        zt_config_err(c, w->map,
                      "'%s' uses transport: tls and needs 'ca' to verify the server "
                      "(or insecure_skip_verify: true)",
                      w->path);
    if (tls && x->ca_file != NULL && x->insecure_skip_verify)
        zt_config_err(c, zt_config_seen(w, "insecure_skip_verify"),
                      "'%s': 'ca' and 'insecure_skip_verify' exclude each other", w->path);
    if (x->ca_file != NULL)
        zt_config_check_file(c, w, "ca", x->ca_file, "");
    bool ok = x->app_name != NULL && strlen(x->app_name) <= 48;
    for (size_t i = 0; ok && x->app_name[i] != '\0'; i++)
        ok = x->app_name[i] > ' ' && x->app_name[i] < 127;
    if (!ok && x->app_name != NULL)
        zt_config_err(c, zt_config_seen(w, "app_name"),
                      "'%s.app_name' must be 1 to 48 printable ASCII characters without spaces",
                      w->path);
}

/* Sink names identify the counters in metrics and logs. */
static void check_audit(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_audit_cfg *a = (const zt_audit_cfg *)(void *)w->target;
    for (size_t j = 0; j < a->n_exports; j++)
        for (size_t i = 0; i < j; i++)
            if (a->exports[i].name != NULL && a->exports[j].name != NULL &&
                strcmp(a->exports[i].name, a->exports[j].name) == 0) {
                zt_config_err_at(c, a->exports[j].line, a->exports[j].col,
                                 "duplicate export name '%s' (first at line %u)",
                                 a->exports[j].name, a->exports[i].line);
                break;
            }
}

static const char *const export_types[] = {"syslog", "cef", NULL};
static const char *const export_transports[] = {"udp", "tcp", "tls", NULL};
static const char *const facilities[] = {
    "kern",   "user",     "mail",   "daemon", "auth",   "syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock", "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", NULL};

static const zt_config_key export_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED, ZT_FIELD(zt_export_cfg, name)},
    {"type", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, type), .def = "syslog", .names = export_types},
    {"transport", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, transport), .def = "tcp",
     .names = export_transports},
    {"address", ZT_K_ADDR, ZT_CFG_REQUIRED, ZT_FIELD(zt_export_cfg, address),
     .aux = offsetof(zt_export_cfg, addr)},
    {"ca", ZT_K_STR, 0, ZT_FIELD(zt_export_cfg, ca_file)},
    {"server_name", ZT_K_HOST, 0, ZT_FIELD(zt_export_cfg, server_name)},
    {"insecure_skip_verify", ZT_K_BOOL, 0, ZT_FIELD(zt_export_cfg, insecure_skip_verify),
     .def = "false"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_export_cfg, queue_limit), .min = 1, .max = 1000000,
     .def = "10000"},
    {"facility", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, facility), .def = "authpriv",
     .names = facilities},
    {"app_name", ZT_K_STR, 0, ZT_FIELD(zt_export_cfg, app_name), .def = "ztgate"},
};
ZT_CONFIG_SECTION(export_section, export_keys, check_export);

static const zt_config_key audit_keys[] = {
    {"path", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_audit_cfg, path), .def = "audit/audit.log"},
    {"signing_key", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_audit_cfg, signing_key_file),
     .def = "audit/signing.key"},
    {"checkpoint_every", ZT_K_UINT, 0, ZT_FIELD(zt_audit_cfg, checkpoint_every), .min = 1,
     .max = 1000000, .def = "1000"},
    {"checkpoint_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, checkpoint_interval_ms),
     .min = ZT_MS_S, .max = 24 * ZT_MS_H, .def = "10s"},
    {"fsync_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, fsync_interval_ms), .min = 0,
     .max = ZT_MS_S, .def = "5ms"},
    {"rotate_size", ZT_K_SIZE, 0, ZT_FIELD(zt_audit_cfg, rotate_bytes), .min = 1ull << 20,
     .max = 1ull << 40, .def = "64MiB"},
    {"rotate_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, rotate_interval_ms), .min = 0,
     .max = 30 * 24 * ZT_MS_H, .def = "0"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_audit_cfg, queue_limit), .min = 1, .max = 1ull << 24,
     .def = "65536"},
    {"on_audit_failure", ZT_K_ENUM, 0, ZT_FIELD(zt_audit_cfg, fail_open), .def = "fail_closed",
     .names = failure_modes},
    {"export", ZT_K_LIST, 0, .off = offsetof(zt_audit_cfg, exports),
     .aux = offsetof(zt_audit_cfg, n_exports), .min = 0, .max = 16, .sub = &export_section,
     .item_size = sizeof(zt_export_cfg)},
};
ZT_CONFIG_SECTION(audit_section, audit_keys, check_audit);

const zt_config_module zt_audit_config_module = {"audit", &audit_section, NULL};
