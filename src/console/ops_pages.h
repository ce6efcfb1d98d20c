/* What the operations pages (page_apps.c ... page_ref.c) share beside console_int.h: table
 * headings, the scoped admin's users for audit filters, and the admin API's record of a risk
 * verdict made from the console. Private to src/console. */
#ifndef ZT_CONSOLE_OPS_PAGES_H
#define ZT_CONSOLE_OPS_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/event.h"
#include "audit/query.h"
#include "console/console_int.h"

/* <th scope="col">text</th> */
void cop_th(zt_console_ctx *cx, zt_msg m);

/* The live audit log, or NULL when audit is off. */
const char *cop_audit_live(const zt_console_ctx *cx);

/* A scoped admin's users (ids and e-mails) for zt_aq_filter.allowed_users; an unscoped grant
 * gets none (everything allowed). Free with cop_scope_free. 0 or a negative errno (fail
 * closed: the caller refuses the search). */
typedef struct cop_scope {
    char **users;
    size_t n;
    bool limited; /* the grant is scoped: only these users' records */
} cop_scope;
int cop_scope_users(zt_console_ctx *cx, cop_scope *out);
void cop_scope_apply(const cop_scope *s, zt_aq_filter *f);
void cop_scope_free(cop_scope *s);

/* A record's `time` (RFC 3339) in Unix seconds; 0 when absent or unreadable. */
int64_t cop_record_time(const zt_aq_fields *f);

#endif
