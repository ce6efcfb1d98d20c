/* TEMPORARY stand-in for session/admins.c (see admins_stub.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "console/admins_stub.h"

typedef struct find {
    const char *want;
    bool found;
} find;

static int group_cb(void *ctx, const char *name)
{
    find *f = ctx;
    if (strcmp(name, f->want) == 0)
        f->found = true;
    return 0;
}

static bool member_of(zt_store *st, const char *user_id, const char *group)
{
    find f = {group, false};
    return zt_store_user_groups(st, user_id, group_cb, &f) == 0 && f.found;
}

int zt_admins_grant_of(zt_store *st, const char *user_id, zt_admin_grant *out)
{
    memset(out, 0, sizeof(*out));
    zt_user u;
    int rc = zt_store_user_get_by_id(st, user_id, &u);
    if (rc != 0)
        return rc;
    snprintf(out->user_id, sizeof(out->user_id), "%s", u.id);
    snprintf(out->email, sizeof(out->email), "%s", u.email);
    zt_user_dispose(&u);
    if (member_of(st, user_id, "ztgate-admins")) {
        out->perms = 0x3fffu;
        out->everywhere = true;
        return 0;
    }
    return -ENOENT;
}

bool zt_admins_may(const zt_admin_grant *g, zt_perms p)
{
    return (g->perms & p) == p;
}

int zt_admins_user_in_scope(zt_store *st, const zt_admin_grant *g, const char *user_id)
{
    if (g->everywhere)
        return 1;
    for (size_t i = 0; i < g->n_scopes; i++)
        if (member_of(st, user_id, g->scopes[i]))
            return 1;
    return 0;
}
