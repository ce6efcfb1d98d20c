/* Server-side state of the SAML IdP:
 *
 * - kept AuthnRequests: a request that has to wait for the browser (sign-in, step-up, a fresh
 *   password for ForceAuthn, the block page) is kept here under a random id and resumed by
 *   GET /.ztgate/saml/sso?resume=ID, so the HTTP-POST binding (whose message cannot ride in a
 *   URL) and long Redirect queries come back intact. ZT_SAML_RESUME_TTL_S at most.
 *   In memory, bounded (when full of live entries a new request is refused with 503, none
 *   evicted) so no client can grow it; an entry is dropped once the request is answered
 *   (single use). A restart costs a pending sign-in its resume (the SP starts it again). One mutex;
 * never held across a Lasso call.
 * - SSO participants: the Lasso session dump of each ztgate session that signed in to an SP,
 *   which single logout needs (the session's SPs and NameIDs), in the store (saml_sessions,
 *   keyed by the session's id hash, deleted with the session). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "idp/saml_keep.h"
#include "lib/secure.h"
#include "store/store.h"

#define KEPT_MAX 1024

typedef struct kept {
    char id[ZT_SAML_KEEP_ID_LEN + 1];
    char *msg; /* NULL: free slot */
    bool post;
    bool logout, partial; /* a single logout under way (msg: Lasso's logout dump) */
    char relay[ZT_SAML_RELAY_MAX + 1];
    int64_t created;
} kept;

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;
static kept kept_tab[KEPT_MAX];

/* The slot to write: a free or expired one; NULL when every slot holds a live entry (a live
 * one is never evicted: a flood of requests must not drop the sign-ins under way). */
static kept *kept_slot(int64_t now)
{
    for (size_t i = 0; i < KEPT_MAX; i++) {
        kept *k = &kept_tab[i];
        if (k->msg == NULL || now - k->created > ZT_SAML_RESUME_TTL_S)
            return k;
    }
    return NULL;
}

static int keep(const char *msg, bool post, const char *relay, int64_t now,
                char id[ZT_SAML_KEEP_ID_LEN + 1], bool logout, bool partial)
{
    char *copy = strdup(msg);
    if (copy == NULL)
        return -1;
    if (id[0] == '\0')
        zt_random_hex(id, ZT_SAML_KEEP_ID_LEN / 2); /* 16 bytes: 32 hex digits and the NUL */
    pthread_mutex_lock(&keep_lock);
    kept *k = NULL;
    for (size_t i = 0; i < KEPT_MAX && k == NULL; i++) /* the same id again: replace it */
        if (kept_tab[i].msg != NULL && strcmp(kept_tab[i].id, id) == 0)
            k = &kept_tab[i];
    if (k == NULL)
        k = kept_slot(now);
    if (k == NULL) {
        pthread_mutex_unlock(&keep_lock);
        free(copy);
        zt_warn("saml: %d requests are waiting for their browsers already; refused", KEPT_MAX);
        return -1;
    }
    free(k->msg);
    k->msg = copy;
    k->post = post;
    k->logout = logout;
    k->partial = partial;
    k->created = now;
    memcpy(k->id, id, sizeof(k->id));
    strncpy(k->relay, relay ? relay : "", sizeof(k->relay) - 1);
    k->relay[sizeof(k->relay) - 1] = '\0';
    pthread_mutex_unlock(&keep_lock);
    return 0;
}

int zt_saml_keep_put(const char *msg, bool post, const char *relay, int64_t now,
                     char id[ZT_SAML_KEEP_ID_LEN + 1])
{
    id[0] = '\0';
    return keep(msg, post, relay, now, id, false, false);
}

int zt_saml_keep_logout(const char *dump, bool partial, const char *relay, int64_t now,
                        char id[ZT_SAML_KEEP_ID_LEN + 1])
{
    return keep(dump, false, relay, now, id, true, partial);
}

void zt_saml_keep_new_id(char id[ZT_SAML_KEEP_ID_LEN + 1])
{
    zt_random_hex(id, ZT_SAML_KEEP_ID_LEN / 2);
}

int zt_saml_keep_get(const char *id, int64_t now, zt_saml_kept *out)
{
    int rc = -1;
    if (id == NULL || strlen(id) != ZT_SAML_KEEP_ID_LEN)
        return -1;
    pthread_mutex_lock(&keep_lock);
    for (size_t i = 0; i < KEPT_MAX && rc < 0; i++) {
        kept *k = &kept_tab[i];
        if (k->msg == NULL || now - k->created > ZT_SAML_RESUME_TTL_S ||
            !zt_ct_eq(k->id, id, ZT_SAML_KEEP_ID_LEN))
            continue;
        out->msg = strdup(k->msg);
        out->post = k->post;
        out->logout = k->logout;
        out->partial = k->partial;
        out->created = k->created;
        memcpy(out->relay, k->relay, sizeof(out->relay));
        rc = out->msg != NULL ? 0 : -1;
    }
    pthread_mutex_unlock(&keep_lock);
    return rc;
}

void zt_saml_keep_drop(const char *id)
{
    if (id == NULL || strlen(id) != ZT_SAML_KEEP_ID_LEN)
        return;
    pthread_mutex_lock(&keep_lock);
    for (size_t i = 0; i < KEPT_MAX; i++) {
        kept *k = &kept_tab[i];
        if (k->msg != NULL && zt_ct_eq(k->id, id, ZT_SAML_KEEP_ID_LEN)) {
            free(k->msg);
            k->msg = NULL;
        }
    }
    pthread_mutex_unlock(&keep_lock);
}

void zt_saml_kept_dispose(zt_saml_kept *k)
{
    free(k->msg);
    k->msg = NULL;
}

/* ---- participants: the store's saml_sessions (store_saml.h) ---- */

int zt_saml_parts_put(zt_store *st, const char *sess, const char *dump, int64_t now)
{
    return zt_store_saml_put(st, sess, dump, now);
}

char *zt_saml_parts_get(zt_store *st, const char *sess)
{
    zt_buf b;
    zt_buf_init(&b, ZT_STORE_SAML_DUMP_MAX + 1);
    char *dump = zt_store_saml_get(st, sess, &b) == 0 ? strdup(b.data) : NULL;
    zt_buf_dispose(&b);
    return dump;
}

void zt_saml_parts_drop(zt_store *st, const char *sess)
{
    (void)zt_store_saml_delete(st, sess);
}
