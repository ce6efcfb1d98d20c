/* Backend-independent half of the SAML session store (store_saml.h): argument checks. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_saml.h"

#define SAML_ENTER(st)                                                                             \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->saml == NULL)                                                               \
            return zt_store_seterr(-EIO, "this store backend has no SAML sessions");               \
    } while (0)

static int check_hash(const char *h)
{
    size_t n = h != NULL ? strlen(h) : 0;
    return n == 0 || n > 128 ? zt_store_seterr(-EINVAL, "bad session hash") : 0;
}

int zt_store_saml_put(zt_store *st, const char *session_hash, const char *dump, int64_t now)
{
    SAML_ENTER(st);
    int rc = check_hash(session_hash);
    size_t n = dump != NULL ? strlen(dump) : 0;
    if (rc == 0 && (n == 0 || n > ZT_STORE_SAML_DUMP_MAX))
        rc = zt_store_seterr(-EINVAL, "SAML session dump empty or too large (%zu bytes)", n);
    return rc != 0 ? rc : st->ops->saml->put(st, session_hash, dump, now);
}

int zt_store_saml_get(zt_store *st, const char *session_hash, zt_buf *out)
{
    SAML_ENTER(st);
    int rc = check_hash(session_hash);
    return rc != 0 ? rc : st->ops->saml->get(st, session_hash, out);
}

int zt_store_saml_delete(zt_store *st, const char *session_hash)
{
    SAML_ENTER(st);
    int rc = check_hash(session_hash);
    return rc != 0 ? rc : st->ops->saml->del(st, session_hash);
}

int zt_store_saml_move(zt_store *st, const char *from_hash, const char *to_hash)
{
    SAML_ENTER(st);
    int rc = check_hash(from_hash);
    rc = rc ? rc : check_hash(to_hash);
    return rc != 0 ? rc : st->ops->saml->move(st, from_hash, to_hash);
}

int zt_store_saml_take_ended(zt_store *st, int64_t now, zt_store_saml_ended_cb cb, void *ctx,
                             uint64_t *n_out)
{
    if (n_out != NULL)
        *n_out = 0;
    SAML_ENTER(st);
    return st->ops->saml->take_ended(st, now, cb, ctx, n_out);
}
