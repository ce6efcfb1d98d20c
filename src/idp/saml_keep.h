/* Private to src/idp: the SAML IdP's short-lived server-side state (saml_keep.c). */
#ifndef ZT_IDP_SAML_KEEP_H
#define ZT_IDP_SAML_KEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "idp/saml.h"

#define ZT_SAML_KEEP_ID_LEN 32  /* hex of 128 random bits */
#define ZT_SAML_SESS_KEY_MAX 64 /* a session id hash */

typedef struct zt_saml_kept {
    char *msg; /* the Redirect query or the POST binding's base64 SAMLRequest (owned) */
    bool post;
    bool logout, partial; /* a single logout under way: msg is Lasso's logout state */
    char relay[ZT_SAML_RELAY_MAX + 1];
    int64_t created; /* Unix seconds: a ForceAuthn needs a sign-in after this */
} zt_saml_kept;

/* Keep an incoming AuthnRequest; id gets its resume id. 0 or -1 (out of memory, or the table
 * is full of live entries: logged). */
int zt_saml_keep_put(const char *msg, bool post, const char *relay, int64_t now,
                     char id[ZT_SAML_KEEP_ID_LEN + 1]);
/* Keep (or replace, same id) the state of a single logout going through the session's SPs;
 * partial: an SP could not be told so far; relay: the initiator's RelayState. id: from
 * zt_saml_keep_new_id. */
int zt_saml_keep_logout(const char *dump, bool partial, const char *relay, int64_t now,
                        char id[ZT_SAML_KEEP_ID_LEN + 1]);
void zt_saml_keep_new_id(char id[ZT_SAML_KEEP_ID_LEN + 1]);
/* A copy of the kept request id (not expired). 0, or -1: unknown or expired. The entry stays
 * (the block page's "back to the app" link and a reload use it again) until it expires or the
 * request is answered (zt_saml_keep_drop). */
int zt_saml_keep_get(const char *id, int64_t now, zt_saml_kept *out);
/* The kept request id was answered: its resume id works no more. */
void zt_saml_keep_drop(const char *id);
void zt_saml_kept_dispose(zt_saml_kept *k);

/* The Lasso session dump of a ztgate session (by id hash) in the store: set (0 or negative
 * errno), copy out (free(); NULL when none), forget. */
typedef struct zt_store zt_store;
int zt_saml_parts_put(zt_store *st, const char *sess, const char *dump, int64_t now);
char *zt_saml_parts_get(zt_store *st, const char *sess);
void zt_saml_parts_drop(zt_store *st, const char *sess);

#endif
