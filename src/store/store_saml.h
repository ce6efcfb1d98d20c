/* The SAML identity provider's state per ztgate session (schema 11): the Lasso session dump
 * (an XML text Lasso writes: the assertions issued in this session, one per service provider,
 * with their NameIDs and SessionIndexes), which single logout needs to check an SP's
 * LogoutRequest and to know the session's other SPs. Included by store/store.h users that need
 * it; the error codes and threading rules of store/store.h apply.
 *
 * The row is made for a live session (`sessions.id_hash`) and names its user. It outlives the
 * session on purpose (schema 12): when the session ends in any way (sign-out, revocation, the
 * user disabled, expiry) the gateway's timer takes the row with zt_store_saml_take_ended and
 * tells the service providers (SAML back-channel logout); a single logout that an SP started
 * deletes it first (its SPs are told through the browser). Keyed by the session's id hash,
 * never by the id. */
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

/* A session replaced by a new one of the same user (a sign-in again, a step-up): the row moves
 * to the new session, so its SPs are not told it ended. Nothing moves when the new session is
 * another user's or either is unknown. 0 or negative errno. */
int zt_store_saml_move(zt_store *st, const char *from_hash, const char *to_hash);

/* One row whose session is no longer live (deleted, expired, revoked, its user disabled). */
typedef struct zt_store_saml_ended {
    const char *session_hash;
    const char *user_id; /* "" when unknown */
    const char *dump;
} zt_store_saml_ended;
typedef void (*zt_store_saml_ended_cb)(void *ctx, const zt_store_saml_ended *e);
/* Delete up to 64 rows whose session is not live at now and hand each to cb (after the
 * delete is committed: a row is taken once). *n_out: how many. 0 or negative errno. */
int zt_store_saml_take_ended(zt_store *st, int64_t now, zt_store_saml_ended_cb cb, void *ctx,
                             uint64_t *n_out);

#endif
