/* The SAML identity provider's state per ztgate session (schema 11): the Lasso session dump
 * (an XML text Lasso writes: the assertions issued in this session, one per service provider,
 * with their NameIDs and SessionIndexes), which single logout needs to check an SP's
 * LogoutRequest and to know the session's other SPs. Included by store/store.h users that need
 * it; the error codes and threading rules of store/store.h apply.
 *
 * The row belongs to a session (`sessions.id_hash`): it goes with it (sign-out, revocation,
 * expiry, the user deleted) through a foreign key, so nothing here outlives the sign-in it
 * describes. Keyed by the session's id hash, never by the id. */
#ifndef ZT_STORE_STORE_SAML_H
#define ZT_STORE_STORE_SAML_H

#include <stdint.h>

#include "lib/buf.h"

typedef struct zt_store zt_store;

#define ZT_STORE_SAML_DUMP_MAX (256 * 1024) /* bytes of one session's dump */

/* Set the dump of session_hash (insert or replace). -ENOENT: no such session; -EINVAL: a dump
 * over ZT_STORE_SAML_DUMP_MAX or empty. */
int zt_store_saml_put(zt_store *st, const char *session_hash, const char *dump, int64_t now);
/* Append the dump of session_hash to out (NUL-terminated). -ENOENT when there is none. */
int zt_store_saml_get(zt_store *st, const char *session_hash, zt_buf *out);
/* Forget it (0 also when there was none). */
int zt_store_saml_delete(zt_store *st, const char *session_hash);

#endif
