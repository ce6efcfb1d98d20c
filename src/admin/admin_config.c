/* The `admin:` section of the config file (the admin API's listener, TLS and token file), read
 * by the engine in core/config.c through this table. */
#include <stddef.h>

#include "admin/admin.h"
#include "core/config_schema.h"

static const zt_config_key admin_keys[] = {
    {"listen", ZT_K_ADDR, 0, ZT_FIELD(zt_admin_cfg, address), .aux = offsetof(zt_admin_cfg, addr)},
    {"tls", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_admin_cfg, tls_cfg),
     .aux = offsetof(zt_admin_cfg, tls), .sub = &zt_config_tls_section},
    {"token_file", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_admin_cfg, token_file),
     .def = "admin.token"},
    /* The token file only creates the first named admin (POST /api/v1/admins/first); false
     * turns it off altogether once one exists (docs/ADMINS.md). */
    {"bootstrap_token", ZT_K_BOOL, 0, ZT_FIELD(zt_admin_cfg, bootstrap_token), .def = "true"},
};
/* Remembers where listen was written: the gateway's check compares it with every listener. */
static void check_admin(zt_config_ctx *c, const zt_config_walk *w)
{
    (void)c;
    zt_admin_cfg *admin = (zt_admin_cfg *)(void *)w->target;
    yaml_node_t *listen = zt_config_seen(w, "listen");
    if (listen != NULL) {
        admin->line = (unsigned)listen->start_mark.line + 1;
        admin->col = (unsigned)listen->start_mark.column + 1;
    }
}
ZT_CONFIG_SECTION(admin_section, admin_keys, check_admin);

const zt_config_module zt_admin_config_module = {"admin", &admin_section, NULL};
