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

/* The console's reading of a form body or query (application/x-www-form-urlencoded, strict):
 * the number of fields, or -1 when refused whole (a bad escape, a NUL, a repeated name, more
 * than 64 fields). Exposed for the fuzz target. */
long zt_console_form_fields(const char *s, size_t n);
/* Whether the request's Origin (or, without one, Referer) is http(s)://HOST[:PORT] of the
 * request itself, the check on every console POST. */
bool zt_console_origin_ok(const zt_local_req *r);

/* Start counting the audit log for the dashboard on a thread of its own when the
 * configuration has a console app and audit is on; returns at once. Called as the gateway
 * starts serving. */
void zt_console_rollup_start(const zt_config *cfg);
/* Stop that count (cancelled when it still runs), join its thread and free the counters. After
 * the event loops have stopped. */
void zt_console_rollup_stop(void);

#endif
