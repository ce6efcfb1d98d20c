/* The console's shared audit rollup (console/rollup.c), private to the console's pages. */
#ifndef ZT_CONSOLE_ROLLUP_H
#define ZT_CONSOLE_ROLLUP_H

#include <stdint.h>

#include "audit/query.h"

/* The process's rollup of the log whose live file is `live`, once its first count is done:
 * bring it up to date with zt_aq_stats_async as any rollup. NULL while it is being counted
 * (*counted: records so far; a count is started if none runs for this log), and the page
 * says so. The rollup lives until zt_console_rollup_stop. */
zt_aq_rollup *zt_console_rollup_get(const char *live, uint64_t *counted);

#endif
