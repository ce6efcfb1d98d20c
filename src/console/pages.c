/* The console's page table: one line per page, grouped by the file (and area) that owns it, so
 * a new page is one declaration and one table line. The order is the nav's. */
#include <string.h>

#include "console/console_int.h"

/* ---- console: frame, dashboard, users, groups, devices ---- */
extern const zt_console_page zt_console_page_dashboard;
extern const zt_console_page zt_console_page_users;
extern const zt_console_page zt_console_page_groups;
extern const zt_console_page zt_console_page_devices;
/* ---- console-ops: apps, policies, what-if, risk, incidents, audit, reference ---- */
extern const zt_console_page zt_console_page_apps;
extern const zt_console_page zt_console_page_policies;
extern const zt_console_page zt_console_page_whatif;
extern const zt_console_page zt_console_page_risk;
extern const zt_console_page zt_console_page_incidents;
extern const zt_console_page zt_console_page_audit;
extern const zt_console_page zt_console_page_ref;
/* ---- assess ---- */
extern const zt_console_page zt_console_page_assess;
/* ---- admins ---- */
extern const zt_console_page zt_console_page_admins;

const zt_console_page *const zt_console_pages[] = {
    /* console */
    &zt_console_page_dashboard,
    &zt_console_page_users,
    &zt_console_page_groups,
    &zt_console_page_devices,
    /* console-ops */
    &zt_console_page_apps,
    &zt_console_page_policies,
    &zt_console_page_whatif,
    &zt_console_page_risk,
    &zt_console_page_incidents,
    &zt_console_page_audit,
    &zt_console_page_ref,
    /* assess */
    &zt_console_page_assess,
    /* admins */
    &zt_console_page_admins,
    NULL,
};

/* "/users" answers "/users" and, as a prefix page, "/users/..."; "/" only itself. */
const zt_console_page *zt_console_page_find(const char *path, size_t len)
{
    for (size_t i = 0; zt_console_pages[i] != NULL; i++) {
        const zt_console_page *p = zt_console_pages[i];
        size_t n = strlen(p->path);
        if (len == n && memcmp(path, p->path, n) == 0)
            return p;
        if (p->prefix && len > n && memcmp(path, p->path, n) == 0 && path[n] == '/')
            return p;
    }
    return NULL;
}
