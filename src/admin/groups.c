/* Admin API groups: list, create, show with members, delete, add and remove members. Changes
 * are the account service's (session/account.h), as with `ztgate group`: membership decides
 * authorization, so every membership change and every group deletion bumps the revocation
 * counter and caches drop what they know about groups on the very next request. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"

static zt_store *store_of(zt_admin_call *c)
{
    return c->r->svc->store;
}

static json_t *group_json(const zt_store_group *g)
{
    return json_pack("{s:s, s:I, s:o}", "name", g->name, "member_count", (json_int_t)g->n_members,
                     "created_at", zt_admin_json_time(g->created_at));
}

typedef struct group_rows {
    zt_admin_call *c;
    json_t *arr;
} group_rows;

/* A scoped admin sees the groups of their scope only. */
static int group_row_cb(void *ctx, const zt_store_group *g)
{
    group_rows *rows = ctx;
    if (rows->c->scoped && !zt_admins_group_in_scope(&rows->c->grant, g->name))
        return 0;
    json_t *j = group_json(g);
    return j != NULL && json_array_append_new(rows->arr, j) == 0 ? 0 : -ENOMEM;
}

static int member_row_cb(void *ctx, const zt_user *u)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "id", u->id, "email", u->email, "name", u->name,
                          "disabled", u->disabled);
    return j != NULL && json_array_append_new(ctx, j) == 0 ? 0 : -ENOMEM;
}

static void group_list(zt_admin_call *c)
{
    json_t *arr = json_array();
    group_rows rows = {c, arr};
    int rc = arr ? zt_store_group_list(store_of(c), group_row_cb, &rows) : -ENOMEM;
    if (rc != 0) {
        json_decref(arr);
        zt_admin_store_fail(c, rc, "group", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "groups", arr));
}

/* Resolve {g} into *g (canonical spelling noted for the event), or finish with 404. */
static bool load_group(zt_admin_call *c, zt_store_group *g)
{
    snprintf(c->group, sizeof(c->group), "%s", c->route.group);
    int rc = zt_store_group_get(store_of(c), c->route.group, g);
    if (rc == 0) {
        snprintf(c->group, sizeof(c->group), "%s", g->name);
        return true;
    }
    zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "group", c->route.group);
    return false;
}

static void group_get(zt_admin_call *c)
{
    zt_store_group g;
    if (!load_group(c, &g))
        return;
    json_t *j = group_json(&g);
    json_t *members = json_array();
    int rc = j && members ? zt_store_group_members(store_of(c), g.name, member_row_cb, members)
                          : -ENOMEM;
    if (rc == 0 && json_object_set_new(j, "members", members) != 0)
        rc = -ENOMEM;
    else if (rc == 0)
        members = NULL;
    json_decref(members);
    if (rc != 0) {
        json_decref(j);
        zt_admin_store_fail(c, rc, "group", c->route.group);
        return;
    }
    zt_admin_finish(c, 200, j);
}

static const zt_admin_field create_fields[] = {
    {"name", ZT_ADMIN_F_STRING, true, ZT_STORE_GROUP_MAX, 0},
};

static void group_create(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_CREATE;
    c->action = "group.create";
    zt_admin_error err;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, create_fields, 1, &c->body, &err) != 0) {
        zt_admin_fail(c, err.status, err.code, "%s", err.message);
        return;
    }
    const char *name = json_string_value(json_object_get(c->body, "name"));
    snprintf(c->group, sizeof(c->group), "%s", name);
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    zt_store_group g;
    int rc = zt_account_group_create(&env, &who, name, &res);
    if (rc == 0)
        rc = zt_store_group_get(store_of(c), res.group, &g);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "group", rc == -EEXIST ? name : NULL);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_admin_finish(c, 201, group_json(&g));
}

static void group_delete(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_DELETE;
    c->action = "group.delete";
    zt_store_group g;
    if (!load_group(c, &g))
        return;
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc = zt_account_group_delete(&env, &who, g.name, &res);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "group", c->route.group);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_admin_finish(c, 204, NULL);
}

static const zt_admin_field member_fields[] = {
    {"user", ZT_ADMIN_F_STRING, true, ZT_STORE_EMAIL_MAX, 0},
};

/* Add (POST .../members {user}) or remove (DELETE .../members/{u}) one membership. */
static void member_change(zt_admin_call *c, bool add)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = add ? "group.member_add" : "group.member_remove";
    const char *who = c->route.user;
    if (add) {
        zt_admin_error err;
        if (zt_admin_body_parse(c->r->body, c->r->body_len, member_fields, 1, &c->body, &err)) {
            zt_admin_fail(c, err.status, err.code, "%s", err.message);
            return;
        }
        who = json_string_value(json_object_get(c->body, "user"));
    }
    zt_store_group g;
    if (!load_group(c, &g))
        return;
    zt_user u;
    int rc = zt_admin_find_user_in_scope(c, who, &u);
    if (rc != 0) {
        zt_user_dispose(&u);
        if (strchr(who, '@') != NULL)
            snprintf(c->user_email, sizeof(c->user_email), "%s", who);
        zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", who);
        return;
    }
    snprintf(c->user_id, sizeof(c->user_id), "%s", u.id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", u.email);
    zt_user_dispose(&u);
    if (add && !zt_admin_may_change_person(c, c->user_id))
        return; /* the removal's user is in the path: admin.c checked it */
    zt_account_env env = zt_admin_account_env(c);
    zt_actor actor;
    zt_admin_actor(c, &actor);
    zt_account_result res;
    rc = add ? zt_account_member_add(&env, &actor, g.name, c->user_id, &res)
             : zt_account_member_remove(&env, &actor, g.name, c->user_id, &res);
    if (rc == -EEXIST) {
        zt_admin_fail(c, 409, "conflict", "user %s is already a member of group %s", c->user_email,
                      g.name);
        return;
    }
    if (rc == -ENOENT && !add) {
        zt_admin_fail(c, 404, "not_found", "user %s is not a member of group %s", c->user_email,
                      g.name);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "group", NULL);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    if (!add) {
        zt_admin_finish(c, 204, NULL);
        return;
    }
    zt_admin_finish(c, 200,
                    json_pack("{s:s, s:{s:s, s:s}}", "group", g.name, "user", "id", c->user_id,
                              "email", c->user_email));
}

void zt_admin_groups(zt_admin_call *c)
{
    int m = c->r->method;
    switch (c->route.ep) {
    case ZT_ADMIN_EP_GROUPS:
        if (m == HTTP_POST)
            group_create(c);
        else
            group_list(c);
        return;
    case ZT_ADMIN_EP_GROUP:
        if (m == HTTP_DELETE)
            group_delete(c);
        else
            group_get(c);
        return;
    case ZT_ADMIN_EP_GROUP_MEMBERS:
        member_change(c, true);
        return;
    case ZT_ADMIN_EP_GROUP_MEMBER:
        member_change(c, false);
        return;
    default:
        zt_admin_fail(c, 404, "not_found", "no such endpoint");
        return;
    }
}
