/* The `devices:` section of the config file (device trust: the internal CA, enrolment, posture
 * and compliance rules), read by the engine in core/config.c through this table. */
#include <stddef.h>
#include <string.h>

#include "core/config_schema.h"
#include "device/device.h"

static void check_devices(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_devices_settings *d = (const zt_devices_settings *)(void *)w->target;
    for (size_t i = 0; i < d->n_min_os_versions; i++) {
        const zt_cfg_word *v = &d->min_os_versions[i];
        if (v->s == NULL) /* not a string: the engine has reported it already */
            continue;
        const char *colon = strchr(v->s, ':');
        bool ok = colon != NULL && colon != v->s && colon[1] != '\0' && strlen(v->s) < 64;
        for (const char *p = colon ? colon + 1 : ""; ok && *p; p++)
            ok = (*p >= '0' && *p <= '9') || *p == '.';
        if (!ok)
            zt_config_err_at(c, v->line, v->col,
                             "'%s' is not OS:VERSION (e.g. debian:12, ubuntu:22.04)", v->s);
    }
    if (d->n_min_os_versions > 8)
        zt_config_err(c, zt_config_seen(w, "min_os_versions"),
                      "at most 8 entries in 'min_os_versions'");
    /* A silent agent is the early warning; at posture_max_age the device is non-compliant.
     * The default (1h) shrinks to a shorter posture_max_age (src/device); a value given is
     * checked. */
    yaml_node_t *silent = zt_config_seen(w, "silent_after");
    if (silent != NULL && d->silent_after_ms > d->posture_max_age_ms)
        zt_config_err(c, silent, "silent_after must not be longer than posture_max_age");
}

static const zt_config_key devices_keys[] = {
    {"ca_dir", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_devices_settings, ca_dir),
     .def = "device-ca"},
    {"certificate_lifetime", ZT_K_DURATION, 0,
     ZT_FIELD(zt_devices_settings, certificate_lifetime_ms), .min = ZT_MS_H,
     .max = 5 * 8760 * ZT_MS_H, .def = "8760h"},
    {"enroll_code_ttl", ZT_K_DURATION, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, enroll_code_ttl_ms), .min = ZT_MS_M, .max = 24 * ZT_MS_H,
     .def = "15m"},
    {"posture_max_age", ZT_K_DURATION, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, posture_max_age_ms), .min = ZT_MS_M, .max = 30 * 24 * ZT_MS_H,
     .def = "24h"},
    {"silent_after", ZT_K_DURATION, 0, ZT_FIELD(zt_devices_settings, silent_after_ms),
     .min = ZT_MS_S, .max = 30 * 24 * ZT_MS_H, .def = "1h"},
    {"min_os_versions", ZT_K_STRS, ZT_CFG_RELOAD,
     .off = offsetof(zt_devices_settings, min_os_versions),
     .aux = offsetof(zt_devices_settings, n_min_os_versions), .min = 0, .max = 8},
    {"max_signature_age", ZT_K_DURATION, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, max_signature_age_ms), .min = 0, .max = 365 * 24 * ZT_MS_H,
     .def = "0"},
    {"max_update_age", ZT_K_DURATION, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, max_update_age_ms), .min = 0, .max = 365 * 24 * ZT_MS_H,
     .def = "0"},
    {"require_disk_encryption", ZT_K_BOOL, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, require_disk_encryption), .def = "false"},
    {"require_firewall", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_settings, require_firewall),
     .def = "false"},
    {"require_antivirus", ZT_K_BOOL, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_settings, require_antivirus), .def = "false"},
};
ZT_CONFIG_SECTION(devices_section, devices_keys, check_devices);

const zt_config_module zt_devices_config_module = {"devices", &devices_section, NULL};
