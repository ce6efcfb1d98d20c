/* The web console (docs/CONSOLE.md): an app of kind console that ztgate answers itself once
 * the whole pipeline (session, policies, risk, audit) allowed the request. The gateway
 * registers this handler as the ZT_LOCAL_CONSOLE entry of its table; the request carries the
 * signed-in identity the pipeline verified (http/handler.h). Pages are server-rendered HTML
 * and SVG without any script, every change a POST with a CSRF token bound to the session, and
 * each change goes through the same service functions as the CLI and the admin API. */
#ifndef ZT_CONSOLE_CONSOLE_H
#define ZT_CONSOLE_CONSOLE_H

#include "http/handler.h"

/* zt_handler_fn for the ZT_LOCAL_CONSOLE entry; ctx is unused (NULL). */
void zt_console_handle(void *ctx, zt_local_req *r);

#endif
