/* SCIM Users (RFC 7643 §4.1) over the store's users with source "scim". The mapping:
 * userName is the e-mail ztgate signs in with, externalId the store's external_id, active the
 * opposite of disabled, displayName (or name.formatted, or givenName familyName) the display
 * name; every other attribute the client sent is kept as sent in the user's attrs object and
 * given back. Changes go through the account service: disabling (active false) and DELETE end
 * the user's sessions at once and tell running gateways. PUT and PATCH share one path: PATCH
 * applies its operations to the current resource, then both store the result. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scim/scim_int.h"
#include "store/store_source.h"

/* Attributes held in the store's columns (or never stored): not kept in attrs. */
static const char *const column_attrs[] = {"id",     "meta",     "schemas", "userName",
                                           "active", "password", "groups",  "externalId"};

static const char *const string_attrs[] = {
    "userName", "externalId",        "displayName", "nickName", "profileUrl", "title",
    "userType", "preferredLanguage", "locale",      "timezone", "password"};
static const char *const array_attrs[] = {"emails",    "phoneNumbers", "ims",   "photos",
                                          "addresses", "entitlements", "roles", "x509Certificates"};

/* What a User resource asks of the store. Strings borrow from the resource. */
typedef struct user_fields {
    const char *user_name, *external_id; /* external_id "" = none */
    char name[ZT_STORE_NAME_MAX + 1];
    int active;  /* -1 not given */
    char *attrs; /* JSON text of the kept attributes (malloc'd) */
} user_fields;

static zt_store *store_of(zt_scim_call *c)
{
    return c->r->svc->store;
}

static const char *str_or_null(const json_t *o, const char *key, bool *bad)
{
    const json_t *v = zt_scim_get(o, key, NULL);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

/* Types of the attributes ztgate knows; anything else is kept as sent. */
static int check_types(const json_t *res, zt_scim_error *err)
{
    bool bad = false;
    for (size_t i = 0; i < sizeof(string_attrs) / sizeof(string_attrs[0]); i++) {
        (void)str_or_null(res, string_attrs[i], &bad);
        if (bad)
            return zt_scim_fail(err, 400, "invalidValue", "%s must be a string", string_attrs[i]);
    }
    for (size_t i = 0; i < sizeof(array_attrs) / sizeof(array_attrs[0]); i++) {
        const json_t *v = zt_scim_get(res, array_attrs[i], NULL);
        if (v != NULL && !json_is_null(v) && !json_is_array(v))
            return zt_scim_fail(err, 400, "invalidValue", "%s must be an array", array_attrs[i]);
    }
    const json_t *name = zt_scim_get(res, "name", NULL);
    if (name != NULL && !json_is_null(name) && !json_is_object(name))
        return zt_scim_fail(err, 400, "invalidValue", "name must be an object");
    const json_t *active = zt_scim_get(res, "active", NULL);
    if (active != NULL && !json_is_null(active) && !json_is_boolean(active))
        return zt_scim_fail(err, 400, "invalidValue", "active must be a boolean");
    const json_t *ext = zt_scim_get(res, ZT_SCIM_SCHEMA_ENTERPRISE, NULL);
    if (ext != NULL && !json_is_null(ext) && !json_is_object(ext))
        return zt_scim_fail(err, 400, "invalidValue", "the enterprise extension must be an object");
    return 0;
}

static void display_name(const json_t *res, char out[ZT_STORE_NAME_MAX + 1])
{
    bool bad = false;
    const json_t *name = zt_scim_get(res, "name", NULL);
    const char *dn = str_or_null(res, "displayName", &bad);
    const char *formatted = str_or_null(name, "formatted", &bad);
    const char *given = str_or_null(name, "givenName", &bad);
    const char *family = str_or_null(name, "familyName", &bad);
    if (dn != NULL && dn[0] != '\0')
        snprintf(out, ZT_STORE_NAME_MAX + 1, "%s", dn);
    else if (formatted != NULL && formatted[0] != '\0')
        snprintf(out, ZT_STORE_NAME_MAX + 1, "%s", formatted);
    else
        snprintf(out, ZT_STORE_NAME_MAX + 1, "%s%s%s", given ? given : "",
                 given && family ? " " : "", family ? family : "");
    /* Cut at a character boundary when it was too long. */
    size_t n = strlen(out);
    if (n == ZT_STORE_NAME_MAX)
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
            out[--n] = '\0';
    if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
        out[n - 1] = '\0';
}

/* Read what the store needs out of a resource (after zt_scim_coerce_booleans). */
static int user_fields_read(const json_t *res, user_fields *f, zt_scim_error *err)
{
    memset(f, 0, sizeof(*f));
    f->active = -1;
    if (check_types(res, err) < 0)
        return -EINVAL;
    bool bad = false;
    f->user_name = str_or_null(res, "userName", &bad);
    if (f->user_name == NULL || f->user_name[0] == '\0')
        return zt_scim_fail(err, 400, "invalidValue", "userName is required");
    if (strlen(f->user_name) > ZT_STORE_EMAIL_MAX)
        return zt_scim_fail(err, 400, "invalidValue", "userName is longer than %d bytes",
                            ZT_STORE_EMAIL_MAX);
    f->external_id = str_or_null(res, "externalId", &bad);
    if (f->external_id == NULL)
        f->external_id = "";
    if (!zt_store_external_id_valid(f->external_id))
        return zt_scim_fail(err, 400, "invalidValue", "externalId is not acceptable");
    const json_t *active = zt_scim_get(res, "active", NULL);
    if (json_is_boolean(active))
        f->active = json_is_true(active);
    display_name(res, f->name);
    json_t *kept = json_deep_copy(res);
    for (size_t i = 0; kept != NULL && i < sizeof(column_attrs) / sizeof(column_attrs[0]); i++)
        zt_scim_del(kept, column_attrs[i]);
    f->attrs = kept ? json_dumps(kept, JSON_COMPACT) : NULL;
    json_decref(kept);
    if (f->attrs == NULL)
        return zt_scim_fail(err, 500, NULL, "out of memory");
    if (strlen(f->attrs) > ZT_STORE_ATTRS_MAX) {
        free(f->attrs);
        f->attrs = NULL;
        return zt_scim_fail(err, 413, NULL, "the user's attributes exceed %d bytes",
                            ZT_STORE_ATTRS_MAX);
    }
    return 0;
}

static int add_group_cb(void *ctx, const char *name)
{
    json_t *g = json_pack("{s:s, s:s}", "value", name, "display", name);
    return g != NULL && json_array_append_new(ctx, g) == 0 ? 0 : -ENOMEM;
}

/* The resource for u, with meta and its version in etag. */
static json_t *user_json(zt_scim_call *c, const zt_scim_item *it, char etag[40])
{
    const zt_user *u = &it->user;
    char *attrs = NULL;
    json_t *res = NULL;
    if (zt_store_user_attrs_get(store_of(c), u->id, &attrs) == 0)
        res = json_loads(attrs, 0, NULL);
    free(attrs);
    if (!json_is_object(res)) {
        json_decref(res);
        res = json_object();
    }
    if (res == NULL)
        return NULL;
    json_t *schemas = json_pack("[s]", ZT_SCIM_SCHEMA_USER);
    if (zt_scim_get(res, ZT_SCIM_SCHEMA_ENTERPRISE, NULL) != NULL)
        json_array_append_new(schemas, json_string(ZT_SCIM_SCHEMA_ENTERPRISE));
    zt_scim_set(res, "schemas", schemas);
    zt_scim_set(res, "id", json_string(u->id));
    zt_scim_set(res, "userName", json_string(u->email));
    zt_scim_set(res, "active", json_boolean(!u->disabled));
    if (u->external_id[0] != '\0')
        zt_scim_set(res, "externalId", json_string(u->external_id));
    if (zt_scim_get(res, "displayName", NULL) == NULL && u->name[0] != '\0')
        zt_scim_set(res, "displayName", json_string(u->name));
    json_t *groups = json_array();
    if (groups != NULL && zt_store_user_groups(store_of(c), u->id, add_group_cb, groups) == 0 &&
        json_array_size(groups) > 0)
        zt_scim_set(res, "groups", groups);
    else
        json_decref(groups);
    if (zt_scim_set_meta(c, res, "Users", u->id, u->created_at, u->updated_at, etag) < 0) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* The SCIM user named c->id: -ENOENT also for users other sources own. */
static int find_user(zt_scim_call *c, zt_scim_item *it)
{
    zt_user *u = &it->user;
    int rc = zt_store_user_get_by_id(store_of(c), c->id, u);
    if (rc == -EINVAL)
        rc = -ENOENT; /* not even shaped like an id */
    if (rc == 0 && strcmp(u->source, ZT_SCIM_SOURCE) != 0)
        rc = -ENOENT;
    if (rc == 0) {
        snprintf(c->user_id, sizeof(c->user_id), "%s", u->id);
        snprintf(c->user_email, sizeof(c->user_email), "%s", u->email);
    }
    return rc;
}

static int account_rc_fail(zt_scim_call *c, int rc)
{
    if (rc == -EINVAL)
        zt_scim_refuse(c, 400, "invalidValue", "userName must be an e-mail address ztgate accepts");
    else
        zt_scim_store_fail(c, rc, "user");
    return rc;
}

static void user_create(zt_scim_call *c)
{
    c->action = "scim.user.create";
    zt_scim_error err = {0};
    zt_scim_coerce_booleans(c->body);
    user_fields f;
    if (user_fields_read(c->body, &f, &err) < 0) {
        zt_scim_finish_error(c, &err);
        return;
    }
    snprintf(c->user_email, sizeof(c->user_email), "%s", f.user_name);
    zt_account_env env = zt_scim_account_env(c);
    zt_actor who;
    zt_scim_actor(c, &who);
    zt_account_result res = {0};
    zt_account_new n = {.email = f.user_name,
                        .name = f.name,
                        .source = ZT_SCIM_SOURCE,
                        .external_id = f.external_id};
    int rc = zt_account_create(&env, &who, &n, &res);
    if (rc < 0) {
        free(f.attrs);
        account_rc_fail(c, rc);
        return;
    }
    snprintf(c->user_id, sizeof(c->user_id), "%s", res.user_id);
    if (!zt_scim_account_done(c, &res)) {
        free(f.attrs);
        return;
    }
    zt_account_result ra = {0};
    rc = zt_account_set_attrs(&env, &who, res.user_id, f.attrs, &ra);
    free(f.attrs);
    if (rc < 0) {
        zt_scim_store_fail(c, rc, "user");
        return;
    }
    if (!zt_scim_account_done(c, &ra))
        return;
    if (f.active == 0) {
        zt_account_result r2 = {0};
        rc = zt_account_disable(&env, &who, res.user_id, &r2);
        if (rc < 0) {
            zt_scim_store_fail(c, rc, "user");
            return;
        }
        if (!zt_scim_account_done(c, &r2))
            return;
    }
    snprintf(c->change, sizeof(c->change), "created%s", f.active == 0 ? " disabled" : "");
    zt_scim_resource_answer(c, &zt_scim_user_kind, 201, res.user_id, true);
}

/* Store the resource res as user u's new state (PUT and PATCH). false: the call is finished. */
static bool user_store(zt_scim_call *c, const zt_user *u, json_t *res)
{
    zt_scim_error err = {0};
    zt_scim_coerce_booleans(res);
    user_fields f;
    if (user_fields_read(res, &f, &err) < 0) {
        zt_scim_finish_error(c, &err);
        return false;
    }
    zt_account_env env = zt_scim_account_env(c);
    zt_actor who;
    zt_scim_actor(c, &who);
    zt_account_result ar = {0};
    zt_store_user_profile p = {0};
    if (strcmp(f.user_name, u->email) != 0)
        p.email = f.user_name;
    if (strcmp(f.name, u->name) != 0)
        p.name = f.name;
    if (strcmp(f.external_id, u->external_id) != 0)
        p.external_id = f.external_id;
    int rc = 0;
    if (p.email != NULL || p.name != NULL || p.external_id != NULL) {
        rc = zt_account_update(&env, &who, u->id, &p, &ar);
        if (rc == 0 && !zt_scim_account_done(c, &ar)) {
            free(f.attrs);
            return false;
        }
    }
    zt_account_result ra = {0};
    if (rc == 0)
        rc = zt_account_set_attrs(&env, &who, u->id, f.attrs, &ra);
    free(f.attrs);
    if (rc < 0) {
        account_rc_fail(c, rc);
        return false;
    }
    if (ra.change[0] != '\0' && !zt_scim_account_done(c, &ra))
        return false;
    if (f.active >= 0 && (f.active == 0) != u->disabled) {
        zt_account_result r2 = {0};
        rc = f.active ? zt_account_enable(&env, &who, u->id, &r2)
                      : zt_account_disable(&env, &who, u->id, &r2);
        if (rc < 0) {
            zt_scim_store_fail(c, rc, "user");
            return false;
        }
        if (!zt_scim_account_done(c, &r2))
            return false;
        snprintf(c->change, sizeof(c->change), "%s",
                 f.active ? "enabled" : "disabled; sessions revoked");
    } else {
        snprintf(c->change, sizeof(c->change), "updated");
    }
    return true;
}

/* PUT or PATCH /Users/{id}. */
static void user_change(zt_scim_call *c, bool patch)
{
    c->action = patch ? "scim.user.patch" : "scim.user.replace";
    zt_scim_item it;
    char etag[40];
    json_t *cur = zt_scim_resource_for_change(c, &zt_scim_user_kind, &it, etag);
    if (cur == NULL)
        return;
    const zt_user *u = &it.user;
    json_t *next = NULL;
    zt_scim_error err = {0};
    if (patch) {
        if (zt_scim_patch_apply(cur, c->body, &err) < 0) {
            json_decref(cur);
            zt_scim_finish_error(c, &err);
            return;
        }
        next = cur;
    } else {
        json_decref(cur);
        next = json_incref(c->body);
        /* id is immutable: a PUT naming another one is refused (§3.5.1). */
        const json_t *id = zt_scim_get(next, "id", NULL);
        if (json_is_string(id) && strcmp(json_string_value(id), u->id) != 0) {
            json_decref(next);
            zt_scim_refuse(c, 400, "mutability", "id cannot change");
            return;
        }
    }
    bool ok = user_store(c, u, next);
    json_decref(next);
    if (ok)
        zt_scim_resource_answer(c, &zt_scim_user_kind, 200, u->id, false);
}

/* ---- list ---- */

typedef struct id_list {
    char (*ids)[ZT_STORE_ID_LEN + 1];
    size_t n, cap;
} id_list;

static int collect_cb(void *ctx, const zt_user *u)
{
    id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *grown = realloc(l->ids, cap * sizeof(*l->ids));
        if (grown == NULL)
            return -ENOMEM;
        l->ids = grown;
        l->cap = cap;
    }
    memcpy(l->ids[l->n++], u->id, ZT_STORE_ID_LEN + 1);
    return 0;
}

/* Candidates for the filter: one by the store's index when the filter is exactly
 * `userName eq` or `externalId eq` (what Entra and Okta send before every create), else every
 * SCIM user. */
static int candidates(zt_scim_call *c, const zt_scim_filter *f, id_list *l, bool *exact)
{
    zt_user u;
    const char *v;
    *exact = true;
    if ((v = zt_scim_filter_eq_string(f, "userName")) != NULL) {
        int rc = zt_store_user_get_by_email(store_of(c), v, &u);
        if (rc == 0 && strcmp(u.source, ZT_SCIM_SOURCE) == 0)
            return collect_cb(l, &u);
        return rc == -ENOENT || rc == -EINVAL || rc == 0 ? 0 : rc;
    }
    if ((v = zt_scim_filter_eq_string(f, "externalId")) != NULL) {
        int rc = zt_store_user_get_by_external(store_of(c), ZT_SCIM_SOURCE, v, &u);
        if (rc == 0)
            return collect_cb(l, &u);
        return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
    }
    *exact = f == NULL;
    return zt_store_user_list_by_source(store_of(c), ZT_SCIM_SOURCE, collect_cb, l);
}

static void user_list(zt_scim_call *c)
{
    c->action = "scim.user.list";
    zt_scim_page p;
    if (!zt_scim_page_begin(c, &p))
        return;
    id_list l = {0};
    bool exact = false;
    int rc = candidates(c, p.f, &l, &exact);
    for (size_t i = 0; rc == 0 && p.items != NULL && i < l.n; i++) {
        if (exact && !zt_scim_page_wants(c, &p)) {
            p.total++; /* no filter to evaluate: the resource is needed only on the page */
            continue;
        }
        zt_scim_item it;
        char etag[40];
        if (zt_store_user_get_by_id(store_of(c), l.ids[i], &it.user) != 0)
            continue; /* deleted meanwhile */
        json_t *res = user_json(c, &it, etag);
        if (res == NULL) {
            rc = -ENOMEM;
            break;
        }
        zt_scim_page_add(c, &p, res, !exact);
    }
    free(l.ids);
    zt_scim_page_end(c, &p, rc, "user");
}

/* ---- the type's entries for resource.c ---- */

static int user_fetch(zt_scim_call *c, const char *id, zt_scim_item *it)
{
    return zt_store_user_get_by_id(store_of(c), id, &it->user);
}

static int user_remove(const zt_account_env *env, const zt_actor *who, const zt_scim_item *it,
                       zt_account_result *res)
{
    return zt_account_delete(env, who, it->user.id, res);
}

const zt_scim_kind zt_scim_user_kind = {
    .type = "Users",
    .what = "user",
    .get_action = "scim.user.get",
    .delete_action = "scim.user.delete",
    .deleted = "deleted; sessions revoked",
    .find = find_user,
    .fetch = user_fetch,
    .to_json = user_json,
    .remove = user_remove,
    .list = user_list,
    .create = user_create,
    .change = user_change,
};
