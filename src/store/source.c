/* Backend-independent half of the identity-source calls (store_source.h): every argument is
 * checked here, once, so a refused call writes nothing and every backend refuses the same. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "store/store_int.h"

#define SOURCE_ENTER(st)                                                                           \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->source == NULL)                                                             \
            return zt_store_seterr(-EIO, "this store backend has no identity sources");            \
    } while (0)

#define SOURCE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-"

bool zt_store_source_valid(const char *source)
{
    if (source == NULL || source[0] == '\0')
        return false;
    size_t n = strnlen(source, ZT_STORE_SOURCE_MAX + 1);
    return n <= ZT_STORE_SOURCE_MAX && strspn(source, SOURCE_CHARS) == n;
}

bool zt_store_external_id_valid(const char *external_id)
{
    if (external_id == NULL)
        return false;
    size_t n = strnlen(external_id, ZT_STORE_EXTERNAL_ID_MAX + 1);
    return n <= ZT_STORE_EXTERNAL_ID_MAX && zt_store_text_ok(external_id, n);
}

static int check_source(const char *source)
{
    return zt_store_source_valid(source)
               ? 0
               : zt_store_seterr(-EINVAL, "source must be 1..%d of letters, digits and ':._-'",
                                 ZT_STORE_SOURCE_MAX);
}

static int check_external_id(const char *external_id)
{
    return zt_store_external_id_valid(external_id)
               ? 0
               : zt_store_seterr(-EINVAL,
                                 "external id must be at most %d bytes of UTF-8 without "
                                 "control characters",
                                 ZT_STORE_EXTERNAL_ID_MAX);
}

/* sponsor: "" (nobody) or an email. */
static int check_sponsor(const char *sponsor)
{
    return sponsor == NULL || sponsor[0] == '\0' ? 0 : zt_store_check_email(sponsor);
}

static int check_expiry(int64_t at)
{
    return at >= 0 ? 0 : zt_store_seterr(-EINVAL, "expiry is before 1970");
}

/* A lookup by the source's id: both named, the id not empty, somewhere to put the answer. */
static int check_lookup(const char *source, const char *external_id, const void *out)
{
    int rc = check_source(source);
    if (rc == 0)
        rc = check_external_id(external_id);
    if (rc == 0 && external_id[0] == '\0')
        rc = zt_store_seterr(-EINVAL, "external id is empty");
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "output argument is missing");
    return rc;
}

static int check_user_new(const zt_store_user_new *n)
{
    if (n == NULL)
        return zt_store_seterr(-EINVAL, "new user is missing");
    int rc = zt_store_check_email(n->email);
    if (rc == 0)
        rc = zt_store_check_name(n->name);
    if (rc == 0)
        rc = zt_store_check_hash("password hash", n->password_hash, false);
    if (rc == 0 && n->source != NULL)
        rc = check_source(n->source);
    if (rc == 0 && n->external_id != NULL)
        rc = check_external_id(n->external_id);
    if (rc == 0)
        rc = check_sponsor(n->sponsor);
    if (rc == 0)
        rc = check_expiry(n->expires_at);
    if (rc == 0)
        rc = zt_store_check_groups(n->groups, n->n_groups);
    return rc;
}

int zt_store_user_create(zt_store *st, const zt_store_user_new *n, zt_user *out)
{
    SOURCE_ENTER(st);
    int rc = check_user_new(n);
    if (rc != 0)
        return rc;
    zt_store_user_new v = *n;
    v.name = n->name != NULL ? n->name : "";
    v.password_hash = n->password_hash != NULL ? n->password_hash : "";
    v.source = n->source != NULL ? n->source : "local";
    v.external_id = n->external_id != NULL ? n->external_id : "";
    v.sponsor = n->sponsor != NULL ? n->sponsor : "";
    return st->ops->source->user_create(st, &v, out);
}

int zt_store_user_get_by_external(zt_store *st, const char *source, const char *external_id,
                                  zt_user *out)
{
    SOURCE_ENTER(st);
    int rc = check_lookup(source, external_id, out);
    return rc != 0 ? rc : st->ops->source->user_by_external(st, source, external_id, out);
}

int zt_store_user_list_by_source(zt_store *st, const char *source, zt_store_user_cb cb, void *ctx)
{
    SOURCE_ENTER(st);
    int rc = check_source(source);
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "callback is missing");
    return rc != 0 ? rc : st->ops->source->user_list_by_source(st, source, cb, ctx);
}

int zt_store_user_list_expired(zt_store *st, int64_t now, int64_t window_s, zt_store_user_cb cb,
                               void *ctx)
{
    SOURCE_ENTER(st);
    if (now <= 0 || window_s < 0)
        return zt_store_seterr(-EINVAL, "time or window out of range");
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "callback is missing");
    return st->ops->source->user_list_expired(st, now, window_s, cb, ctx);
}

static int check_profile(const zt_store_user_profile *p)
{
    if (p == NULL)
        return zt_store_seterr(-EINVAL, "profile is missing");
    int rc = p->email != NULL ? zt_store_check_email(p->email) : 0;
    if (rc == 0)
        rc = zt_store_check_name(p->name);
    if (rc == 0 && p->source != NULL)
        rc = check_source(p->source);
    if (rc == 0 && p->external_id != NULL)
        rc = check_external_id(p->external_id);
    if (rc == 0)
        rc = check_sponsor(p->sponsor);
    if (rc == 0 && p->set_expires)
        rc = check_expiry(p->expires_at);
    return rc;
}

int zt_store_user_update(zt_store *st, const char *id, const zt_store_user_profile *p)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_user_id(id);
    if (rc == 0)
        rc = check_profile(p);
    return rc != 0 ? rc : st->ops->source->user_update(st, id, p);
}

int zt_store_user_touch_sign_in(zt_store *st, const char *id, int64_t when)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_user_id(id);
    if (rc == 0 && when <= 0)
        rc = zt_store_seterr(-EINVAL, "sign-in time is missing");
    return rc != 0 ? rc : st->ops->source->user_touch(st, id, when);
}

int zt_store_user_attrs_get(zt_store *st, const char *id, char **json_out)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_user_id(id);
    if (rc == 0 && json_out == NULL)
        rc = zt_store_seterr(-EINVAL, "output argument is missing");
    if (rc != 0)
        return rc;
    *json_out = NULL;
    return st->ops->source->attrs_get(st, id, json_out);
}

/* The backend checks it is one JSON object; here only the size and the first character. */
int zt_store_user_attrs_set(zt_store *st, const char *id, const char *json)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_user_id(id);
    if (rc != 0)
        return rc;
    if (json == NULL || strnlen(json, ZT_STORE_ATTRS_MAX + 1) > ZT_STORE_ATTRS_MAX)
        return zt_store_seterr(-EINVAL, "attributes are missing or longer than %d bytes",
                               ZT_STORE_ATTRS_MAX);
    return st->ops->source->attrs_set(st, id, json);
}

int zt_store_user_sync_groups(zt_store *st, const char *user_id, const char *source,
                              const char *const *groups, size_t n, bool create_missing,
                              bool *changed)
{
    SOURCE_ENTER(st);
    if (changed != NULL)
        *changed = false;
    int rc = zt_store_check_user_id(user_id);
    if (rc == 0)
        rc = check_source(source);
    if (rc == 0)
        rc = zt_store_check_groups(groups, n);
    return rc != 0 ? rc
                   : st->ops->source->sync_groups(st, user_id, source, groups, n, create_missing,
                                                  changed);
}

int zt_store_group_set_meta(zt_store *st, const char *name, const zt_store_group_meta *m)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_group(name);
    if (rc == 0 && m == NULL)
        rc = zt_store_seterr(-EINVAL, "group facts are missing");
    if (rc == 0)
        rc = zt_store_check_name(m->display_name);
    if (rc == 0 && m->source != NULL)
        rc = check_source(m->source);
    if (rc == 0 && m->external_id != NULL)
        rc = check_external_id(m->external_id);
    return rc != 0 ? rc : st->ops->source->group_set_meta(st, name, m);
}

int zt_store_group_rename(zt_store *st, const char *name, const char *new_name)
{
    SOURCE_ENTER(st);
    int rc = zt_store_check_group(name);
    if (rc == 0)
        rc = zt_store_check_group(new_name);
    return rc != 0 ? rc : st->ops->source->group_rename(st, name, new_name);
}

int zt_store_group_get_by_external(zt_store *st, const char *source, const char *external_id,
                                   zt_store_group *out)
{
    SOURCE_ENTER(st);
    int rc = check_lookup(source, external_id, out);
    return rc != 0 ? rc : st->ops->source->group_by_external(st, source, external_id, out);
}
