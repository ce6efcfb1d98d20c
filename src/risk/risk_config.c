/* The `risk:` section of the config file (Identity Protection: feed files and detection
 * thresholds), read by the engine in core/config.c through this table. docs/CONFIG.md lists
 * the same keys. */
#include <stddef.h>

#include "core/config_schema.h"
#include "risk/risk.h"

static void check_feed_file(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_feed_file_cfg *f = (zt_feed_file_cfg *)(void *)w->target;
    f->line = (unsigned)w->map->start_mark.line + 1;
    f->col = (unsigned)w->map->start_mark.column + 1;
    zt_config_check_file(c, w, "path", f->path, "");
}

static const zt_config_key feed_file_keys[] = {
    {"path", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_feed_file_cfg, path)},
    {"source", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_feed_file_cfg, source), .def = "list"},
};
ZT_CONFIG_SECTION(feed_file_section, feed_file_keys, check_feed_file);

static void check_risk(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_risk_settings *r = (const zt_risk_settings *)(void *)w->target;
    zt_config_check_file(c, w, "geoip_city", r->geoip_city, "");
    zt_config_check_file(c, w, "geoip_asn", r->geoip_asn, "");
    zt_config_check_file(c, w, "leaked_credentials", r->leaked_credentials, "");
}

static const zt_config_key risk_keys[] = {
    {"geoip_city", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_settings, geoip_city)},
    {"geoip_asn", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_settings, geoip_asn)},
    {"anonymous_ips", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_risk_settings, anonymous_ips),
     .aux = offsetof(zt_risk_settings, n_anonymous_ips), .min = 0, .max = 64,
     .sub = &feed_file_section, .item_size = sizeof(zt_feed_file_cfg)},
    {"malicious_ips", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_risk_settings, malicious_ips),
     .aux = offsetof(zt_risk_settings, n_malicious_ips), .min = 0, .max = 64,
     .sub = &feed_file_section, .item_size = sizeof(zt_feed_file_cfg)},
    {"leaked_credentials", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_settings, leaked_credentials)},
    {"vpn_egress", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_risk_settings, vpn_egress),
     .aux = offsetof(zt_risk_settings, n_vpn_egress), .min = 0, .max = 1024},
    {"feed_check_interval", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_settings, feed_check_ms),
     .min = ZT_MS_S, .max = 24 * ZT_MS_H, .def = "60s"},
    {"impossible_travel_kmh", ZT_K_UINT, 0, ZT_FIELD(zt_risk_settings, impossible_travel_kmh),
     .min = 100, .max = 100000, .def = "900"},
    {"spray_accounts", ZT_K_UINT, 0, ZT_FIELD(zt_risk_settings, spray_accounts), .min = 2,
     .max = 1000, .def = "10"},
    {"spray_passwords", ZT_K_UINT, 0, ZT_FIELD(zt_risk_settings, spray_passwords), .min = 1,
     .max = 7, .def = "2"},
    {"spray_window", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_settings, spray_window_ms), .min = ZT_MS_M,
     .max = 24 * ZT_MS_H, .def = "10m"},
    {"reputation_accounts", ZT_K_UINT, 0, ZT_FIELD(zt_risk_settings, reputation_accounts), .min = 2,
     .max = 1000, .def = "10"},
    {"reputation_window", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_settings, reputation_window_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "10m"},
    {"reputation_ttl", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_settings, reputation_ttl_ms),
     .min = ZT_MS_M, .max = 30 * 24 * ZT_MS_H, .def = "24h"},
    {"learning_period", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_settings, learning_period_ms), .min = 0,
     .max = 365 * 24 * ZT_MS_H, .def = "336h"},
    {"learning_sign_ins", ZT_K_UINT, 0, ZT_FIELD(zt_risk_settings, learning_sign_ins), .min = 0,
     .max = 100000, .def = "10"},
};
ZT_CONFIG_SECTION(risk_section, risk_keys, check_risk);

const zt_config_module zt_risk_config_module = {"risk", &risk_section, NULL};
