/* SCIM Groups (RFC 7643 §4.2) over the store's groups with source "scim". A group's SCIM id
 * is its ztgate name (the [A-Za-z0-9._-] identifier policies use), made once from displayName
 * at creation and never changed by a rename: renaming in Entra changes the display name only,
 * so a policy naming the group keeps matching. Members are users SCIM provisioned; each
 * membership change is the account service's group sync with source "scim" (an admin's manual
 * membership in the same group is left alone) and tells running gateways. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "lib/secure.h"
#include "scim/scim_int.h"
#include "store/store_source.h"

static zt_store *store_of(zt_scim_call *c)
{
    return c->r->svc->store;
}

typedef struct member_ctx {
    zt_scim_call *c;
    json_t *arr;
} member_ctx;

static int member_cb(void *ctx, const zt_user *u)
{
    member_ctx *m = ctx;
    char *ref = zt_scim_location(m->c, "Users", u->id);
    json_t *e = json_pack("{s:s, s:s, s:s?, s:s}", "value", u->id, "display", u->email, "$ref", ref,
                          "type", "User");
    free(ref);
    return e != NULL && json_array_append_new(m->arr, e) == 0 ? 0 : -ENOMEM;
}

/* The resource for g, whole (the caller projects it for the answer). */
static json_t *group_json(zt_scim_call *c, const zt_scim_item *it, char etag[40])
{
    const zt_store_group *g = &it->group;
    json_t *res = json_pack("{s:[s], s:s, s:s}", "schemas", ZT_SCIM_SCHEMA_GROUP, "id", g->name,
                            "displayName", g->display_name[0] ? g->display_name : g->name);
    if (res == NULL)
        return NULL;
    if (g->external_id[0] != '\0')
        json_object_set_new(res, "externalId", json_string(g->external_id));
    json_t *members = json_array();
    member_ctx m = {c, members};
    if (members == NULL || zt_store_group_members(store_of(c), g->name, member_cb, &m) != 0) {
        json_decref(members);
        json_decref(res);
        return NULL;
    }
    json_object_set_new(res, "members", members);
    /* The version covers the members even when they are left out of the answer. */
    if (zt_scim_set_meta(c, res, "Groups", g->name, g->created_at, g->created_at, etag) < 0) {
        json_decref(res);
        return NULL;
    }
    return res;
}

static int find_group(zt_scim_call *c, zt_scim_item *it)
{
    zt_store_group *g = &it->group;
    int rc = zt_store_group_get(store_of(c), c->id, g);
    if (rc == -EINVAL)
        rc = -ENOENT;
    if (rc == 0 && strcmp(g->source, ZT_SCIM_SOURCE) != 0)
        rc = -ENOENT;
    if (rc == 0)
        snprintf(c->group, sizeof(c->group), "%s", g->name);
    return rc;
}

/* ---- membership through the account service ---- */

typedef struct name_list {
    char names[ZT_STORE_USER_GROUPS_MAX + 1][ZT_STORE_GROUP_MAX + 1];
    size_t n;
    zt_store *st;
} name_list;

static int scim_group_cb(void *ctx, const char *name)
{
    name_list *l = ctx;
    zt_store_group g;
    if (zt_store_group_get(l->st, name, &g) != 0 || strcmp(g.source, ZT_SCIM_SOURCE) != 0)
        return 0;
    if (l->n >= ZT_STORE_USER_GROUPS_MAX)
        return -E2BIG;
    snprintf(l->names[l->n++], ZT_STORE_GROUP_MAX + 1, "%s", name);
    return 0;
}

/* Put user_id in group (add) or take it out, keeping the user's other SCIM groups. */
static int member_set(zt_scim_call *c, const char *group, const char *user_id, bool add)
{
    name_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->st = store_of(c);
    int rc = zt_store_user_groups(l->st, user_id, scim_group_cb, l);
    const char *names[ZT_STORE_USER_GROUPS_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++)
        if (strcasecmp(l->names[i], group) != 0)
            names[n++] = l->names[i];
    if (rc == 0 && add) {
        if (n >= ZT_STORE_USER_GROUPS_MAX)
            rc = -E2BIG;
        else
            names[n++] = group;
    }
    if (rc == 0) {
        zt_account_env env = zt_scim_account_env(c);
        zt_actor who;
        zt_scim_actor(c, &who);
        zt_account_result res = {0};
        rc = zt_account_sync_groups(&env, &who, user_id, ZT_SCIM_SOURCE, names, n, false, &res);
        if (rc == 0 && (res.revocation_rc != 0 || res.audit_rc != 0))
            rc = res.revocation_rc != 0 ? -EIO : 0;
    }
    free(l);
    return rc;
}

/* A group's SCIM description (display name, source, external id) through the account service,
 * so the change has its record like every other. */
static int group_describe(zt_scim_call *c, const char *name, const zt_store_group_meta *m)
{
    zt_account_env env = zt_scim_account_env(c);
    zt_actor who;
    zt_scim_actor(c, &who);
    zt_account_result res = {0};
    int rc = zt_account_group_update(&env, &who, name, m, &res);
    if (rc == 0 && res.audit_rc != 0)
        zt_error("request %s: SCIM group update: record not queued", c->r->request_id);
    return rc;
}

/* The member ids a resource lists (each {"value": id}); -EINVAL with err when malformed or a
 * member is not a SCIM user. *out is a JSON array of strings. */
static int member_ids(zt_scim_call *c, const json_t *res, json_t **out, zt_scim_error *err)
{
    const json_t *members = zt_scim_get(res, "members", NULL);
    *out = json_array();
    if (*out == NULL)
        return zt_scim_fail(err, 500, NULL, "out of memory");
    if (members == NULL || json_is_null(members))
        return 0;
    if (!json_is_array(members))
        return zt_scim_fail(err, 400, "invalidValue", "members must be an array");
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        const char *id = json_string_value(zt_scim_get(m, "value", NULL));
        if (id == NULL)
            return zt_scim_fail(err, 400, "invalidValue", "members[%zu].value must be a string", i);
        zt_user u;
        if (zt_store_user_get_by_id(store_of(c), id, &u) != 0 ||
            strcmp(u.source, ZT_SCIM_SOURCE) != 0)
            return zt_scim_fail(err, 400, "invalidValue",
                                "members[%zu] is not a user provisioned over SCIM", i);
        bool dup = false;
        size_t k;
        json_t *have;
        json_array_foreach(*out, k, have) if (strcmp(json_string_value(have), id) == 0) dup = true;
        if (!dup)
            json_array_append_new(*out, json_string(id));
    }
    return 0;
}

static bool listed(const json_t *ids, const char *id)
{
    size_t k;
    json_t *v;
    json_array_foreach(ids, k, v) if (strcmp(json_string_value(v), id) == 0) return true;
    return false;
}

/* Make the group's members exactly want (ids), from have (ids). */
static int members_sync(zt_scim_call *c, const char *group, const json_t *have, const json_t *want,
                        unsigned *added, unsigned *removed)
{
    size_t k;
    json_t *v;
    json_array_foreach(want, k, v)
    {
        if (listed(have, json_string_value(v)))
            continue;
        int rc = member_set(c, group, json_string_value(v), true);
        if (rc < 0)
            return rc;
        (*added)++;
    }
    json_array_foreach(have, k, v)
    {
        if (listed(want, json_string_value(v)))
            continue;
        int rc = member_set(c, group, json_string_value(v), false);
        if (rc < 0)
            return rc;
        (*removed)++;
    }
    return 0;
}

/* ---- create ---- */

/* A policy-usable name from a display name: [A-Za-z0-9._-], spaces as '-', starting with a
 * letter or digit; "group" when nothing is left (a Japanese name, say). */
static void slug(const char *display, char out[ZT_STORE_GROUP_MAX + 1])
{
    size_t o = 0;
    for (const char *p = display; *p != '\0' && o < ZT_STORE_GROUP_MAX - 9; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (ch == ' ')
            ch = '-', ok = true;
        if (!ok || (o == 0 && (ch == '.' || ch == '_' || ch == '-')))
            continue;
        out[o++] = ch;
    }
    while (o > 0 && (out[o - 1] == '-' || out[o - 1] == '.'))
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, ZT_STORE_GROUP_MAX + 1, "group");
}

static int group_read(const json_t *res, const char **display, const char **external,
                      zt_scim_error *err)
{
    const json_t *dn = zt_scim_get(res, "displayName", NULL);
    if (!json_is_string(dn) || json_string_length(dn) == 0)
        return zt_scim_fail(err, 400, "invalidValue", "displayName is required");
    if (json_string_length(dn) > ZT_STORE_NAME_MAX)
        return zt_scim_fail(err, 400, "invalidValue", "displayName is longer than %d bytes",
                            ZT_STORE_NAME_MAX);
    const json_t *ext = zt_scim_get(res, "externalId", NULL);
    if (ext != NULL && !json_is_null(ext) && !json_is_string(ext))
        return zt_scim_fail(err, 400, "invalidValue", "externalId must be a string");
    *display = json_string_value(dn);
    *external = json_is_string(ext) ? json_string_value(ext) : "";
    if (!zt_store_external_id_valid(*external))
        return zt_scim_fail(err, 400, "invalidValue", "externalId is not acceptable");
    return 0;
}

/* Create the group under a free name made from display: the slug, then slug-XXXXXXXX. */
static int create_named(zt_scim_call *c, const char *display, char name[ZT_STORE_GROUP_MAX + 1])
{
    char base[ZT_STORE_GROUP_MAX + 1];
    slug(display, base);
    zt_account_env env = zt_scim_account_env(c);
    zt_actor who;
    zt_scim_actor(c, &who);
    int rc = -EEXIST;
    for (int attempt = 0; attempt < 4 && rc == -EEXIST; attempt++) {
        unsigned char rnd[4];
        zt_random(rnd, sizeof(rnd));
        if (attempt == 0)
            snprintf(name, ZT_STORE_GROUP_MAX + 1, "%s", base);
        else
            snprintf(name, ZT_STORE_GROUP_MAX + 1, "%.55s-%02x%02x%02x%02x", base, rnd[0], rnd[1],
                     rnd[2], rnd[3]);
        zt_account_result res = {0};
        rc = zt_account_group_create(&env, &who, name, &res);
        if (rc == 0 && res.audit_rc != 0)
            zt_error("request %s: SCIM group create: record not queued", c->r->request_id);
    }
    return rc;
}

static void group_create(zt_scim_call *c)
{
    c->action = "scim.group.create";
    zt_scim_error err = {0};
    const char *display, *external;
    json_t *want = NULL;
    if (group_read(c->body, &display, &external, &err) < 0 ||
        member_ids(c, c->body, &want, &err) < 0) {
        json_decref(want);
        zt_scim_finish_error(c, &err);
        return;
    }
    zt_store_group existing;
    if (external[0] != '\0' &&
        zt_store_group_get_by_external(store_of(c), ZT_SCIM_SOURCE, external, &existing) == 0) {
        json_decref(want);
        zt_scim_refuse(c, 409, "uniqueness", "a group with that externalId exists");
        return;
    }
    char name[ZT_STORE_GROUP_MAX + 1];
    int rc = create_named(c, display, name);
    if (rc == 0) {
        snprintf(c->group, sizeof(c->group), "%s", name);
        zt_store_group_meta m = {
            .display_name = display, .source = ZT_SCIM_SOURCE, .external_id = external};
        rc = group_describe(c, name, &m);
    }
    unsigned added = 0, removed = 0;
    json_t *none = json_array();
    if (rc == 0)
        rc = members_sync(c, name, none, want, &added, &removed);
    json_decref(none);
    json_decref(want);
    if (rc < 0) {
        zt_scim_store_fail(c, rc, "group");
        return;
    }
    snprintf(c->change, sizeof(c->change), "created with %u members", added);
    zt_scim_resource_answer(c, &zt_scim_group_kind, 201, name, true);
}

/* ---- change ---- */

/* Store res as group g's new state: display name, external id, members. */
static bool group_store(zt_scim_call *c, const zt_store_group *g, const json_t *before,
                        const json_t *res)
{
    zt_scim_error err = {0};
    const char *display, *external;
    json_t *have = NULL, *want = NULL;
    if (group_read(res, &display, &external, &err) < 0 || member_ids(c, before, &have, &err) < 0 ||
        member_ids(c, res, &want, &err) < 0) {
        json_decref(have);
        json_decref(want);
        zt_scim_finish_error(c, &err);
        return false;
    }
    int rc = 0;
    if (strcmp(display, g->display_name) != 0 || strcmp(external, g->external_id) != 0) {
        zt_store_group_meta m = {.display_name = display, .external_id = external};
        rc = group_describe(c, g->name, &m);
    }
    unsigned added = 0, removed = 0;
    if (rc == 0)
        rc = members_sync(c, g->name, have, want, &added, &removed);
    json_decref(have);
    json_decref(want);
    if (rc < 0) {
        zt_scim_store_fail(c, rc, "group");
        return false;
    }
    snprintf(c->change, sizeof(c->change), "updated; %u members added, %u removed", added, removed);
    return true;
}

static void group_change(zt_scim_call *c, bool patch)
{
    c->action = patch ? "scim.group.patch" : "scim.group.replace";
    zt_scim_item it;
    char etag[40];
    json_t *cur = zt_scim_resource_for_change(c, &zt_scim_group_kind, &it, etag);
    if (cur == NULL)
        return;
    const zt_store_group *g = &it.group;
    json_t *next = json_deep_copy(cur);
    zt_scim_error err = {0};
    if (patch && zt_scim_patch_apply(next, c->body, &err) < 0) {
        json_decref(cur);
        json_decref(next);
        zt_scim_finish_error(c, &err);
        return;
    }
    if (!patch) {
        json_decref(next);
        next = json_incref(c->body);
    }
    bool ok = group_store(c, g, cur, next);
    json_decref(cur);
    json_decref(next);
    /* Entra wants 204 for a group PATCH; PUT answers with the group. */
    if (ok)
        zt_scim_resource_answer(c, &zt_scim_group_kind, patch ? 204 : 200, g->name, false);
}

/* ---- list ---- */

static int scim_groups_cb(void *ctx, const zt_store_group *g)
{
    if (strcmp(g->source, ZT_SCIM_SOURCE) != 0)
        return 0;
    json_t *name = json_string(g->name);
    return name != NULL && json_array_append_new(ctx, name) == 0 ? 0 : -ENOMEM;
}

static void group_list(zt_scim_call *c)
{
    c->action = "scim.group.list";
    zt_scim_page p;
    if (!zt_scim_page_begin(c, &p))
        return;
    json_t *names = json_array();
    int rc = names ? zt_store_group_list(store_of(c), scim_groups_cb, names) : -ENOMEM;
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm)
    {
        if (rc < 0 || p.items == NULL)
            break;
        zt_scim_item it;
        char etag[40];
        if (zt_store_group_get(store_of(c), json_string_value(nm), &it.group) != 0)
            continue;
        json_t *res = group_json(c, &it, etag);
        if (res == NULL) {
            rc = -ENOMEM;
            break;
        }
        zt_scim_page_add(c, &p, res, true);
    }
    json_decref(names);
    zt_scim_page_end(c, &p, rc, "group");
}

/* ---- the type's entries for resource.c ---- */

static int group_fetch(zt_scim_call *c, const char *name, zt_scim_item *it)
{
    return zt_store_group_get(store_of(c), name, &it->group);
}

static int group_remove(const zt_account_env *env, const zt_actor *who, const zt_scim_item *it,
                        zt_account_result *res)
{
    return zt_account_group_delete(env, who, it->group.name, res);
}

const zt_scim_kind zt_scim_group_kind = {
    .type = "Groups",
    .what = "group",
    .get_action = "scim.group.get",
    .delete_action = "scim.group.delete",
    .deleted = "deleted",
    .find = find_group,
    .fetch = group_fetch,
    .to_json = group_json,
    .remove = group_remove,
    .list = group_list,
    .create = group_create,
    .change = group_change,
};
