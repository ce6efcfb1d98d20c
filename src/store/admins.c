/* Backend-independent half of the admin roles and tokens store (store_admin.h): argument checks
 * done once before the backend runs, so a refused call writes nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define ADMIN_ENTER(st)                                                                            \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->admin == NULL)                                                              \
            return zt_store_seterr(-EIO, "this store backend has no administrators");              \
    } while (0)

static const char *const roles[] = {"global_admin", "security_operator", "helpdesk", "auditor"};

static int check_role(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(role, roles[i]) == 0)
            return 0;
    return zt_store_seterr(-EINVAL,
                           "role must be global_admin, security_operator, helpdesk or auditor");
}

/* 1..cap-1 bytes of UTF-8 without control characters (names an actor or a token). */
static int check_text(const char *what, const char *s, size_t cap)
{
    size_t n = s != NULL ? strnlen(s, cap) : 0;
    if (n == 0 || n == cap)
        return zt_store_seterr(-EINVAL, "%s must be 1..%zu bytes", what, cap - 1);
    if (!zt_store_text_ok(s, n))
        return zt_store_seterr(-EINVAL, "%s contains a control character or bad UTF-8", what);
    return 0;
}

static int check_token_id(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n != ZT_STORE_ADMIN_TOKEN_ID_LEN || strspn(id, "0123456789abcdef") != n)
        return zt_store_seterr(-EINVAL, "token id must be %d lowercase hex characters",
                               ZT_STORE_ADMIN_TOKEN_ID_LEN);
    return 0;
}

int zt_store_admin_role_add(zt_store *st, const zt_store_admin_role *r, bool only_first)
{
    ADMIN_ENTER(st);
    if (r == NULL)
        return zt_store_seterr(-EINVAL, "no role given");
    int rc = zt_store_check_user_id(r->user_id);
    rc = rc ? rc : check_role(r->role);
    if (rc == 0 && r->scope[0] != '\0')
        rc = zt_store_check_group(r->scope);
    rc = rc ? rc : check_text("granted by", r->created_by, sizeof(r->created_by));
    if (rc == 0 && r->created_at <= 0)
        rc = zt_store_seterr(-EINVAL, "created_at must be a positive time");
    return rc != 0 ? rc : st->ops->admin->role_add(st, r, only_first);
}

int zt_store_admin_role_remove(zt_store *st, const char *user_id, const char *role,
                               const char *scope, uint64_t *n_out)
{
    ADMIN_ENTER(st);
    int rc = zt_store_check_user_id(user_id);
    if (rc == 0 && role != NULL)
        rc = check_role(role);
    if (rc == 0 && scope != NULL && scope[0] != '\0')
        rc = zt_store_check_group(scope);
    return rc != 0 ? rc : st->ops->admin->role_remove(st, user_id, role, scope, n_out);
}

int zt_store_admin_role_list(zt_store *st, const char *user_id, zt_store_admin_role_cb cb,
                             void *ctx)
{
    ADMIN_ENTER(st);
    int rc = user_id != NULL ? zt_store_check_user_id(user_id) : 0;
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->admin->role_list(st, user_id, cb, ctx);
}

int zt_store_admin_count(zt_store *st, uint64_t *n_out)
{
    ADMIN_ENTER(st);
    if (n_out == NULL)
        return zt_store_seterr(-EINVAL, "no output given");
    return st->ops->admin->count(st, n_out);
}

int zt_store_admin_token_add(zt_store *st, const zt_store_admin_token *t,
                             const unsigned char hash[ZT_STORE_ADMIN_TOKEN_HASH_LEN])
{
    ADMIN_ENTER(st);
    if (t == NULL || hash == NULL)
        return zt_store_seterr(-EINVAL, "no token given");
    int rc = check_token_id(t->id);
    rc = rc ? rc : zt_store_check_user_id(t->user_id);
    rc = rc ? rc : check_text("token name", t->name, sizeof(t->name));
    rc = rc ? rc : check_text("created by", t->created_by, sizeof(t->created_by));
    if (rc == 0 && t->parent_id[0] != '\0')
        rc = check_token_id(t->parent_id);
    if (rc == 0 && strcmp(t->parent_id, t->id) == 0)
        rc = zt_store_seterr(-EINVAL, "a token cannot be its own parent");
    if (rc == 0 && (t->created_at <= 0 || t->expires_at <= t->created_at))
        rc = zt_store_seterr(-EINVAL, "a token must expire after it is made");
    return rc != 0 ? rc : st->ops->admin->token_add(st, t, hash);
}

int zt_store_admin_token_get(zt_store *st, const char *id, zt_store_admin_token *out,
                             unsigned char hash_out[ZT_STORE_ADMIN_TOKEN_HASH_LEN])
{
    ADMIN_ENTER(st);
    int rc = check_token_id(id);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->admin->token_get(st, id, out, hash_out);
}

int zt_store_admin_token_list(zt_store *st, const char *user_id, zt_store_admin_token_cb cb,
                              void *ctx)
{
    ADMIN_ENTER(st);
    int rc = user_id != NULL ? zt_store_check_user_id(user_id) : 0;
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->admin->token_list(st, user_id, cb, ctx);
}

int zt_store_admin_token_revoke(zt_store *st, const char *id, int64_t now,
                                zt_store_admin_cascade *more)
{
    ADMIN_ENTER(st);
    int rc = check_token_id(id);
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    zt_store_admin_cascade ignored;
    if (more == NULL)
        more = &ignored;
    memset(more, 0, sizeof(*more));
    return rc != 0 ? rc : st->ops->admin->token_revoke(st, id, now, more);
}

void zt_store_admin_cascade_add(zt_store_admin_cascade *more, const char *id, const char *user_id)
{
    if (more->n < ZT_STORE_ADMIN_CASCADE_NAMED) {
        snprintf(more->named[more->n].id, sizeof(more->named[0].id), "%s", id);
        snprintf(more->named[more->n].user_id, sizeof(more->named[0].user_id), "%s", user_id);
    }
    more->n++;
}

int zt_store_admin_token_touch(zt_store *st, const char *id, int64_t now)
{
    ADMIN_ENTER(st);
    int rc = check_token_id(id);
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    return rc != 0 ? rc : st->ops->admin->token_touch(st, id, now);
}
