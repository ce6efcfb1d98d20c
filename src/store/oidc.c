/* Backend-independent half of the OpenID Connect provider's records (store_oidc.h): every
 * argument is checked here, once, before the backend's ops run, so a refused call writes
 * nothing. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

#define OIDC_ENTER(st)                                                                             \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->oidc == NULL)                                                               \
            return zt_store_seterr(-EIO, "this store backend has no oidc records");                \
    } while (0)

static bool hex_id(const char *s, size_t len)
{
    return s != NULL && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static int check_grant(const zt_store_oidc_grant *g)
{
    if (g == NULL || !hex_id(g->id, ZT_STORE_OIDC_ID_LEN) || !hex_id(g->user_id, 32))
        return zt_store_seterr(-EINVAL, "grant and user ids must be lowercase hex");
    if (g->client_id[0] == '\0' || g->app[0] == '\0' || g->sid[0] == '\0' ||
        !hex_id(g->session_hash, 64))
        return zt_store_seterr(-EINVAL, "a grant needs a client, an app, a sid and a session");
    if (g->expires_at <= g->created_at)
        return zt_store_seterr(-EINVAL, "a grant must expire after it was made");
    return 0;
}

int zt_store_oidc_grant_add(zt_store *st, const zt_store_oidc_grant *g)
{
    OIDC_ENTER(st);
    int rc = check_grant(g);
    return rc != 0 ? rc : st->ops->oidc->grant_add(st, g);
}

int zt_store_oidc_grant_get(zt_store *st, const char *id, zt_store_oidc_grant *out)
{
    OIDC_ENTER(st);
    if (!hex_id(id, ZT_STORE_OIDC_ID_LEN) || out == NULL)
        return zt_store_seterr(-EINVAL, "bad grant id");
    return st->ops->oidc->grant_get(st, id, out);
}

int zt_store_oidc_grant_revoke(zt_store *st, const char *id, int64_t now)
{
    OIDC_ENTER(st);
    if (!hex_id(id, ZT_STORE_OIDC_ID_LEN))
        return zt_store_seterr(-EINVAL, "bad grant id");
    return st->ops->oidc->grant_revoke(st, id, now);
}

int zt_store_oidc_code_add(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                           const zt_store_oidc_code *c)
{
    OIDC_ENTER(st);
    if (hash == NULL || c == NULL || !hex_id(c->grant_id, ZT_STORE_OIDC_ID_LEN) ||
        c->redirect_uri[0] == '\0')
        return zt_store_seterr(-EINVAL, "a code needs its grant and redirect_uri");
    return st->ops->oidc->code_add(st, hash, c);
}

int zt_store_oidc_grant_code_add(zt_store *st, const zt_store_oidc_grant *g,
                                 const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                                 const zt_store_oidc_code *c)
{
    OIDC_ENTER(st);
    int rc = check_grant(g);
    if (rc != 0)
        return rc;
    if (hash == NULL || c == NULL || strcmp(c->grant_id, g->id) != 0 || c->redirect_uri[0] == '\0')
        return zt_store_seterr(-EINVAL, "a code needs its grant and redirect_uri");
    return st->ops->oidc->grant_code_add(st, g, hash, c);
}

int zt_store_oidc_code_take(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            int64_t now, zt_store_oidc_code *code_out,
                            zt_store_oidc_grant *grant_out)
{
    OIDC_ENTER(st);
    if (hash == NULL || code_out == NULL || grant_out == NULL)
        return zt_store_seterr(-EINVAL, "bad arguments");
    memset(code_out, 0, sizeof(*code_out));
    memset(grant_out, 0, sizeof(*grant_out));
    return st->ops->oidc->code_take(st, hash, now, code_out, grant_out);
}

int zt_store_oidc_token_add(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            const char *grant_id, zt_store_oidc_kind kind, int64_t now,
                            int64_t expires_at)
{
    OIDC_ENTER(st);
    if (hash == NULL || !hex_id(grant_id, ZT_STORE_OIDC_ID_LEN) || expires_at <= now ||
        (kind != ZT_STORE_OIDC_ACCESS && kind != ZT_STORE_OIDC_REFRESH &&
         kind != ZT_STORE_OIDC_ID_TOKEN))
        return zt_store_seterr(-EINVAL, "bad token arguments");
    return st->ops->oidc->token_add(st, hash, grant_id, (int)kind, now, expires_at);
}

int zt_store_oidc_tokens_add(zt_store *st, const char *grant_id, int64_t now,
                             const zt_store_oidc_new_token *t, size_t n)
{
    OIDC_ENTER(st);
    if (t == NULL || n == 0 || n > ZT_STORE_OIDC_BATCH_MAX ||
        !hex_id(grant_id, ZT_STORE_OIDC_ID_LEN))
        return zt_store_seterr(-EINVAL, "bad token arguments");
    for (size_t i = 0; i < n; i++)
        if (t[i].expires_at <= now ||
            (t[i].kind != ZT_STORE_OIDC_ACCESS && t[i].kind != ZT_STORE_OIDC_REFRESH &&
             t[i].kind != ZT_STORE_OIDC_ID_TOKEN))
            return zt_store_seterr(-EINVAL, "bad token arguments");
    return st->ops->oidc->tokens_add(st, grant_id, now, t, n);
}

int zt_store_oidc_token_get(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            int64_t now, zt_store_oidc_kind *kind_out, int64_t *iat_out,
                            int64_t *exp_out, zt_store_oidc_grant *grant_out)
{
    OIDC_ENTER(st);
    if (hash == NULL || kind_out == NULL || iat_out == NULL || exp_out == NULL || grant_out == NULL)
        return zt_store_seterr(-EINVAL, "bad arguments");
    int kind = 0;
    int rc = st->ops->oidc->token_get(st, hash, now, &kind, iat_out, exp_out, grant_out);
    *kind_out = kind == ZT_STORE_OIDC_REFRESH ? ZT_STORE_OIDC_REFRESH : ZT_STORE_OIDC_ACCESS;
    return rc;
}

int zt_store_oidc_id_token_find(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                                zt_store_oidc_grant *grant_out)
{
    OIDC_ENTER(st);
    if (hash == NULL || grant_out == NULL)
        return zt_store_seterr(-EINVAL, "bad arguments");
    return st->ops->oidc->id_token_find(st, hash, grant_out);
}

int zt_store_oidc_refresh_rotate(zt_store *st, const unsigned char old_hash[ZT_STORE_OIDC_HASH_LEN],
                                 const unsigned char new_hash[ZT_STORE_OIDC_HASH_LEN], int64_t now,
                                 int64_t new_exp, zt_store_oidc_grant *grant_out)
{
    OIDC_ENTER(st);
    if (old_hash == NULL || new_hash == NULL || grant_out == NULL || new_exp <= now)
        return zt_store_seterr(-EINVAL, "bad arguments");
    memset(grant_out, 0, sizeof(*grant_out));
    return st->ops->oidc->refresh_rotate(st, old_hash, new_hash, now, new_exp, grant_out);
}

int zt_store_oidc_token_revoke(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                               const char *client_id, int64_t now)
{
    OIDC_ENTER(st);
    if (hash == NULL || client_id == NULL)
        return zt_store_seterr(-EINVAL, "bad arguments");
    return st->ops->oidc->token_revoke(st, hash, client_id, now);
}

int zt_store_oidc_jti_use(zt_store *st, const char *client_id, const char *jti, int64_t expires_at,
                          int64_t now)
{
    OIDC_ENTER(st);
    size_t n = jti != NULL ? strlen(jti) : 0;
    if (client_id == NULL || n == 0 || n > ZT_STORE_OIDC_JTI_MAX)
        return zt_store_seterr(-EINVAL, "jti must be 1..%d bytes", ZT_STORE_OIDC_JTI_MAX);
    return st->ops->oidc->jti_use(st, client_id, jti, expires_at, now);
}

int zt_store_oidc_end_orphans(zt_store *st, int64_t now, zt_store_oidc_grant_cb cb, void *ctx,
                              uint64_t *n_out)
{
    OIDC_ENTER(st);
    return st->ops->oidc->end_orphans(st, now, cb, ctx, n_out);
}

int zt_store_oidc_sweep(zt_store *st, int64_t now, uint64_t *n_out)
{
    OIDC_ENTER(st);
    return st->ops->oidc->sweep(st, now, n_out);
}
