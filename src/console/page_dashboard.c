/* The dashboard, `/`: the state of the organisation at a glance over a chosen period. */
#include <string.h>

#include "console/console_int.h"

static void dashboard(zt_console_ctx *cx)
{
    const char *period = zt_console_param(cx, "period");
    if (period != NULL && strcmp(period, "24h") != 0 && strcmp(period, "7d") != 0 &&
        strcmp(period, "30d") != 0) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_PERIOD));
        return;
    }
    zt_console_begin(cx, CON_DASHBOARD);
    zt_console_printf(cx, "<p>");
    zt_console_msg(cx, CON_AUDIT_PENDING);
    zt_console_printf(cx, "</p>");
    zt_console_end(cx);
}

const zt_console_page zt_console_page_dashboard = {"/", false, CON_DASHBOARD, 0, dashboard};
