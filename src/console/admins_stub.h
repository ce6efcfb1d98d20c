/* TEMPORARY: the contract of session/admins.h (issue 16 brief) until the admins foundation is
 * in main; removed at that merge. Members of the group "ztgate-admins" are global admins. */
#ifndef ZT_CONSOLE_ADMINS_STUB_H
#define ZT_CONSOLE_ADMINS_STUB_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

typedef enum zt_admin_role {
    ZT_ROLE_GLOBAL_ADMIN,
    ZT_ROLE_SECURITY_OPERATOR,
    ZT_ROLE_HELPDESK,
    ZT_ROLE_AUDITOR,
    ZT_ROLE_COUNT
} zt_admin_role;
typedef uint32_t zt_perms;
enum {
    ZT_PERM_USERS_READ = 1u << 0,
    ZT_PERM_USERS_WRITE = 1u << 1,
    ZT_PERM_CREDENTIALS = 1u << 2,
    ZT_PERM_SESSIONS_REVOKE = 1u << 3,
    ZT_PERM_DEVICES_READ = 1u << 4,
    ZT_PERM_DEVICES_WRITE = 1u << 5,
    ZT_PERM_RISK_READ = 1u << 6,
    ZT_PERM_RISK_WRITE = 1u << 7,
    ZT_PERM_INCIDENTS_READ = 1u << 8,
    ZT_PERM_INCIDENTS_WRITE = 1u << 9,
    ZT_PERM_AUDIT_READ = 1u << 10,
    ZT_PERM_POLICY_READ = 1u << 11,
    ZT_PERM_ASSESS = 1u << 12,
    ZT_PERM_ADMINS = 1u << 13
};
typedef struct zt_admin_grant {
    zt_perms perms;
    bool everywhere;
    size_t n_scopes;
    char scopes[16][ZT_STORE_NAME_MAX + 1];
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
} zt_admin_grant;
int zt_admins_grant_of(zt_store *st, const char *user_id, zt_admin_grant *out);
bool zt_admins_may(const zt_admin_grant *g, zt_perms p);
int zt_admins_user_in_scope(zt_store *st, const zt_admin_grant *g, const char *user_id);

#endif
