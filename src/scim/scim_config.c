/* The `scim:` section of the config file, read by the engine in core/config.c through this
 * table. SCIM answers on the admin listener, so it needs `admin: listen` too. */
#include <stddef.h>

#include "core/config_schema.h"
#include "scim/scim.h"

static const zt_config_key scim_keys[] = {
    {"token_file", ZT_K_STR, 0, ZT_FIELD(zt_scim_cfg, token_file)},
};
ZT_CONFIG_SECTION(scim_section, scim_keys, NULL);

const zt_config_module zt_scim_config_module = {"scim", &scim_section, NULL};
