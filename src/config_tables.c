/* Which module owns which section of the config file. The engine (core/config.c) must not
 * include module headers, so this file, above every module, hands it their key tables. When
 * src/gateway/ (the composition root) lands, this list belongs there.
 * Adding a module's section: write its table beside its code (see src/risk/risk_config.c),
 * add a ZT_CFG_MODULE slot for it in core/config.c's root table, and list it here. */
#include "admin/admin.h"
#include "audit/audit.h"
#include "core/config_schema.h"
#include "device/device.h"
#include "federation/federation.h"
#include "directory/directory.h"
#include "idp/idp.h"
#include "policy/policy.h"
#include "proxy/proxy.h"
#include "response/incident.h"
#include "response/playbook.h"
#include "risk/risk.h"
#include "scim/scim.h"
#include "session/session.h"
#include "store/store.h"

const zt_config_module *const zt_config_modules[] = {
    &zt_gateway_config_module,   &zt_apps_config_module,     &zt_admin_config_module,
    &zt_store_config_module,     &zt_audit_config_module,    &zt_auth_config_module,
    &zt_devices_config_module,   &zt_risk_config_module,     &zt_idp_config_module,
    &zt_locations_config_module, &zt_policies_config_module, &zt_incidents_config_module,
    &zt_playbooks_config_module, &zt_scim_config_module,     &zt_oidc_providers_config_module,
    &zt_ldap_config_module,
};
const size_t zt_config_n_modules = sizeof(zt_config_modules) / sizeof(zt_config_modules[0]);
