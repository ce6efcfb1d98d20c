/* Backend-independent half of the roster batch (store_roster.h): every op is checked before the
 * transaction opens, so a refused batch writes nothing and names the op. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_roster.h"

#define ROSTER_ENTER(st)                                                                           \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->roster == NULL)                                                             \
            return zt_store_seterr(-EIO, "this store backend has no roster batches");              \
    } while (0)

int zt_store_roster_snapshot(zt_store *st, zt_store_roster_cb cb, void *ctx)
{
    ROSTER_ENTER(st);
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "callback is missing");
    return st->ops->roster->snapshot(st, cb, ctx);
}

static int check_text_id(const char *id)
{
    return id == NULL || zt_store_external_id_valid(id)
               ? 0
               : zt_store_seterr(-EINVAL, "external id is too long or has control characters");
}

static int check_sponsor(const char *s)
{
    return s == NULL || s[0] == '\0' ? 0 : zt_store_check_email(s);
}

static int check_op(const zt_store_roster_op *op)
{
    int rc = 0;
    switch (op->kind) {
    case ZT_STORE_ROSTER_CREATE:
        rc = zt_store_check_email(op->create.email);
        if (rc == 0)
            rc = zt_store_check_name(op->create.name);
        if (rc == 0)
            rc = zt_store_check_hash("password hash", op->create.password_hash, false);
        if (rc == 0)
            rc = check_text_id(op->create.external_id);
        if (rc == 0)
            rc = check_sponsor(op->create.sponsor);
        if (rc == 0 && op->create.expires_at < 0)
            rc = zt_store_seterr(-EINVAL, "expiry is before 1970");
        return rc == 0 ? zt_store_check_groups(op->create.groups, op->create.n_groups) : rc;
    case ZT_STORE_ROSTER_UPDATE:
        rc = zt_store_check_user_id(op->user_id);
        if (rc == 0 && op->profile.email != NULL)
            rc = zt_store_check_email(op->profile.email);
        if (rc == 0)
            rc = zt_store_check_name(op->profile.name);
        if (rc == 0 && op->profile.source != NULL && !zt_store_source_valid(op->profile.source))
            rc = zt_store_seterr(-EINVAL, "source is not valid");
        if (rc == 0)
            rc = check_text_id(op->profile.external_id);
        if (rc == 0)
            rc = check_sponsor(op->profile.sponsor);
        if (rc == 0 && op->profile.set_expires && op->profile.expires_at < 0)
            rc = zt_store_seterr(-EINVAL, "expiry is before 1970");
        return rc == 0 && op->sync_groups ? zt_store_check_groups(op->groups, op->n_groups) : rc;
    case ZT_STORE_ROSTER_DISABLE:
        return zt_store_check_user_id(op->user_id);
    default:
        return zt_store_seterr(-EINVAL, "unknown roster change");
    }
}

int zt_store_roster_apply(zt_store *st, const char *source, const char *const *new_groups,
                          size_t n_new_groups, zt_store_roster_op *ops, size_t n_ops,
                          size_t *failed_at)
{
    ROSTER_ENTER(st);
    size_t ignored;
    if (failed_at == NULL)
        failed_at = &ignored;
    *failed_at = n_ops;
    if (!zt_store_source_valid(source))
        return zt_store_seterr(-EINVAL, "source is not valid");
    if (n_ops > ZT_STORE_ROSTER_OPS_MAX || (n_ops > 0 && ops == NULL))
        return zt_store_seterr(-EINVAL, "bad list of changes");
    for (size_t i = 0; i < n_new_groups; i++) {
        int rc = zt_store_check_group(new_groups[i]);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < n_ops; i++) {
        int rc = check_op(&ops[i]);
        if (rc != 0) {
            *failed_at = i;
            return rc;
        }
    }
    return st->ops->roster->apply(st, source, new_groups, n_new_groups, ops, n_ops, failed_at);
}
