/* What the directory says, made true in ztgate, through the account service only: users created
 * (JIT or sync), profile and external id kept in step, memberships made by this source replaced
 * by the directory's groups (nested ones included), accounts disabled in the directory disabled
 * here with their sessions ended, and users the directory no longer has disabled. The actor of
 * every record is {"ldap:NAME", System}.
 *
 * An account the directory disabled is re-enabled when the directory enables it again; an
 * account an admin disabled in ztgate stays disabled (the user's attrs remember who disabled
 * it: {"dn": ..., "directory_disabled": true}). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "directory/directory_int.h"
#include "store/store_source.h"

static zt_actor actor_of(const zt_directory *d)
{
    return (zt_actor){.name = d->source, .type = "System"};
}

/* The user's attrs: the DN and whether the directory disabled the account. */
static bool directory_disabled(zt_store *st, const char *id)
{
    char *js = NULL;
    if (zt_store_user_attrs_get(st, id, &js) != 0)
        return false;
    json_t *o = json_loads(js, 0, NULL);
    free(js);
    bool v = json_is_true(json_object_get(o, "directory_disabled"));
    json_decref(o);
    return v;
}

static void attrs_set(const zt_account_env *env, const zt_directory *d, const char *id,
                      const char *dn, bool disabled)
{
    json_t *o = json_pack("{s:s, s:b}", "dn", dn, "directory_disabled", disabled);
    char *js = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    zt_actor who = actor_of(d);
    zt_account_result res;
    if (js == NULL || zt_account_set_attrs(env, &who, id, js, &res) != 0)
        zt_warn("ldap: cannot keep the attributes of user %s", id);
    free(js);
    json_decref(o);
}

/* Find the ztgate user of a directory entry: by (source, external id), or by e-mail when it is
 * this source's (an entry deleted and made again gets a new id). 0, -ENOENT, or -EEXIST when
 * the e-mail belongs to an account of another source: never taken over. */
static int find_user(zt_store *st, const zt_directory *d, const zt_dir_user *u, zt_user *cur)
{
    int rc = zt_store_user_get_by_external(st, d->source, u->external_id, cur);
    if (rc != -ENOENT || u->email == NULL)
        return rc;
    rc = zt_store_user_get_by_email(st, u->email, cur);
    if (rc == -EINVAL)
        return -ENOENT;
    if (rc == 0 && strcmp(cur->source, d->source) != 0) {
        zt_warn("ldap %s: %s is a %s account in ztgate: the directory entry %s is not applied",
                d->name, u->email, cur->source, u->dn);
        return -EEXIST;
    }
    return rc;
}

/* The directory's display name within the store's bound, cut at a character boundary (a
 * Japanese name cut mid-character would be refused as invalid UTF-8). */
static void display_name(const zt_dir_user *u, char out[ZT_STORE_NAME_MAX + 1])
{
    size_t n = u->name != NULL ? strlen(u->name) : 0;
    if (n > ZT_STORE_NAME_MAX) {
        n = ZT_STORE_NAME_MAX;
        while (n > 0 && ((unsigned char)u->name[n] & 0xC0) == 0x80)
            n--; /* back to the first byte of the character that did not fit */
    }
    memcpy(out, u->name != NULL ? u->name : "", n);
    out[n] = '\0';
}

static int create_user(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                       zt_user *cur)
{
    if (u->email == NULL || u->email[0] == '\0') {
        zt_warn("ldap %s: %s has no %s: not created", d->name, u->dn, d->mail_attr);
        return -EINVAL;
    }
    zt_actor who = actor_of(d);
    char name[ZT_STORE_NAME_MAX + 1];
    display_name(u, name);
    zt_account_new n = {
        .email = u->email, .name = name, .source = d->source, .external_id = u->external_id};
    zt_account_result res;
    int rc = zt_account_create(env, &who, &n, &res);
    if (rc != 0)
        return rc;
    return zt_store_user_get_by_id(env->store, res.user_id, cur);
}

static bool differs(const char *want, const char *have)
{
    return want != NULL && strcmp(want, have) != 0;
}

static int update_profile(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                          const zt_user *cur, bool *changed)
{
    char name[ZT_STORE_NAME_MAX + 1];
    display_name(u, name);
    bool mail = u->email != NULL && u->email[0] != '\0' && strcasecmp(u->email, cur->email) != 0;
    zt_store_user_profile p = {
        .email = mail ? u->email : NULL,
        .name = u->name != NULL && differs(name, cur->name) ? name : NULL,
        .external_id = differs(u->external_id, cur->external_id) ? u->external_id : NULL};
    if (p.email == NULL && p.name == NULL && p.external_id == NULL)
        return 0;
    zt_actor who = actor_of(d);
    zt_account_result res;
    *changed = true;
    return zt_account_update(env, &who, cur->id, &p, &res);
}

static int apply_groups(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                        const char *user_id, bool *changed)
{
    size_t n = u->n_groups < ZT_STORE_USER_GROUPS_MAX ? u->n_groups : ZT_STORE_USER_GROUPS_MAX;
    if (n < u->n_groups)
        zt_warn("ldap %s: %s is in %zu groups; the first %d are kept", d->name, u->dn, u->n_groups,
                ZT_STORE_USER_GROUPS_MAX);
    const char *names[ZT_STORE_USER_GROUPS_MAX];
    for (size_t i = 0; i < n; i++)
        names[i] = u->groups[i].name;
    zt_actor who = actor_of(d);
    zt_account_result res;
    int rc = zt_account_sync_groups(env, &who, user_id, d->source, names, n, true, &res);
    if (rc != 0)
        return rc;
    *changed = res.change[0] != '\0';
    /* The directory's own words for its groups ("1年1組"), on the groups this source made. */
    for (size_t i = 0; i < n; i++) {
        zt_store_group g;
        if (zt_store_group_get(env->store, names[i], &g) != 0 || strcmp(g.source, d->source) != 0)
            continue;
        if (strcmp(g.display_name, u->groups[i].display) != 0 ||
            strcmp(g.external_id, u->groups[i].dn) != 0) {
            zt_store_group_meta m = {
                .display_name = u->groups[i].display,
                .external_id =
                    strlen(u->groups[i].dn) <= ZT_STORE_EXTERNAL_ID_MAX ? u->groups[i].dn : NULL};
            zt_account_result gr;
            (void)zt_account_group_update(env, &who, names[i], &m, &gr);
        }
    }
    return 0;
}

static int apply_state(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                       zt_user *cur, zt_dir_sync_stats *st)
{
    zt_actor who = actor_of(d);
    zt_account_result res;
    if (u->disabled && !cur->disabled) {
        int rc = zt_account_disable(env, &who, cur->id, &res);
        if (rc == 0) {
            attrs_set(env, d, cur->id, u->dn, true);
            cur->disabled = true;
            st->disabled++;
        }
        return rc;
    }
    if (!u->disabled && cur->disabled && directory_disabled(env->store, cur->id)) {
        int rc = zt_account_enable(env, &who, cur->id, &res);
        if (rc == 0) {
            attrs_set(env, d, cur->id, u->dn, false);
            cur->disabled = false;
            st->enabled++;
        }
        return rc;
    }
    return 0;
}

int zt_directory_apply_user(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                            bool create, zt_user *out, zt_dir_sync_stats *st)
{
    zt_dir_sync_stats scratch = {0};
    if (st == NULL)
        st = &scratch;
    zt_user cur;
    int rc = find_user(env->store, d, u, &cur);
    bool created = false, changed = false;
    if (rc == -ENOENT) {
        if (!create || u->disabled)
            return -ENOENT; /* a disabled entry is never brought in */
        rc = create_user(env, d, u, &cur);
        created = rc == 0;
        if (created) {
            attrs_set(env, d, cur.id, u->dn, false);
            st->created++;
        }
    } else if (rc == 0) {
        rc = update_profile(env, d, u, &cur, &changed);
    }
    if (rc == 0)
        rc = apply_groups(env, d, u, cur.id, &changed);
    if (rc == 0)
        rc = apply_state(env, d, u, &cur, st);
    if (rc != 0) {
        st->failed++;
        zt_user_dispose(&cur);
        return rc;
    }
    if (!created)
        changed ? st->updated++ : st->unchanged++;
    if (changed)
        st->groups_changed++;
    if (out != NULL)
        rc = zt_store_user_get_by_id(env->store, cur.id, out);
    zt_user_dispose(&cur);
    return rc;
}

/* ---- one full sync ---- */

typedef struct id_list {
    char (*ids)[ZT_STORE_ID_LEN + 1];
    char (*ext)[ZT_STORE_EXTERNAL_ID_MAX + 1];
    bool *disabled;
    size_t n, cap;
    int err;
} id_list;

static int collect(void *ctx, const zt_user *u)
{
    id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *a = realloc(l->ids, cap * sizeof(*l->ids));
        if (a != NULL)
            l->ids = a;
        void *b = realloc(l->ext, cap * sizeof(*l->ext));
        if (b != NULL)
            l->ext = b;
        void *c = realloc(l->disabled, cap * sizeof(*l->disabled));
        if (c != NULL)
            l->disabled = c;
        if (a == NULL || b == NULL || c == NULL) {
            l->err = -ENOMEM;
            return -ENOMEM;
        }
        l->cap = cap;
    }
    snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", u->id);
    snprintf(l->ext[l->n], sizeof(l->ext[0]), "%s", u->external_id);
    l->disabled[l->n] = u->disabled;
    l->n++;
    return 0;
}

static bool seen(const zt_dir_user *users, size_t n, const char *ext)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(users[i].external_id, ext) == 0)
            return true;
    return false;
}

/* Users of this source the directory no longer lists: disabled (sessions ended), not deleted. */
static void disable_missing(const zt_account_env *env, const zt_directory *d,
                            const zt_dir_user *users, size_t n, zt_dir_sync_stats *st)
{
    id_list l = {0};
    if (zt_store_user_list_by_source(env->store, d->source, collect, &l) != 0 || l.err != 0) {
        zt_warn("ldap %s: cannot list this directory's users: %s", d->name, zt_store_errmsg());
    } else if (n == 0 && l.n > 0) {
        /* An empty answer is far likelier a wrong base_dn or filter than everyone leaving. */
        zt_warn("ldap %s: the directory listed no users: nobody is disabled for it", d->name);
    } else {
        zt_actor who = actor_of(d);
        for (size_t i = 0; i < l.n; i++) {
            if (l.disabled[i] || seen(users, n, l.ext[i]))
                continue;
            zt_account_result res;
            if (zt_account_disable(env, &who, l.ids[i], &res) == 0) {
                attrs_set(env, d, l.ids[i], "", true);
                st->disabled++;
            } else {
                st->failed++;
            }
        }
    }
    free(l.ids);
    free(l.ext);
    free(l.disabled);
}

int zt_directory_sync(const zt_account_env *env, zt_directory *d, zt_dir_sync_stats *st)
{
    memset(st, 0, sizeof(*st));
    zt_dir_user *users = NULL;
    size_t n = 0;
    int rc = zt_directory_fetch_all(d, &users, &n);
    if (rc != 0) {
        zt_warn("ldap %s: sync skipped: the directory cannot be read (%s); accounts unchanged",
                d->name, strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        (void)zt_directory_apply_user(env, d, &users[i], d->jit, NULL, st);
    disable_missing(env, d, users, n, st);
    zt_dir_users_free(users, n);
    zt_info("ldap %s: sync: %u created, %u updated, %u disabled, %u enabled, %u group changes, "
            "%u unchanged, %u failed",
            d->name, st->created, st->updated, st->disabled, st->enabled, st->groups_changed,
            st->unchanged, st->failed);
    return 0;
}
