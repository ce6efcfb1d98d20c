/* What pg_source.c lends pg_roster.c: the bodies of the one-user calls, run inside the
 * caller's transaction, so a roster batch writes exactly what the one-by-one calls would (the
 * SQLite backend shares them the same way, sqlite_roster.inc). Nothing outside src/store. */
#ifndef ZT_STORE_PG_SOURCE_H
#define ZT_STORE_PG_SOURCE_H

#include "store/pg_int.h"
#include "store/store_source.h"

/* Inside a transaction: a user made (its row into out, nullable), a profile changed, a
 * source's memberships set (*changed: anything written). */
int pgsrc_create_in(pg_conn *c, const zt_store_user_new *n, zt_user *out);
int pgsrc_update_in(pg_conn *c, const char *id, const zt_store_user_profile *p);
int pgsrc_sync_in(pg_conn *c, const char *user_id, const char *source, const char *const *groups,
                  size_t n, bool create, bool *changed);
/* A group made by source unless one of that name (any case) exists; *made (nullable): 1 when
 * it was made here. */
int pgsrc_group_create(pg_conn *c, const char *name, const char *source, int64_t *made);

#endif
