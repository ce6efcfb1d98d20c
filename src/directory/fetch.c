/* Reading a whole directory for a sync: every user (paged, RFC 2696) and every group once, then
 * each user's groups computed here, nested groups followed through the groups' `member` values
 * (one pass over the directory instead of a search per user). Blocking. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "directory/directory_int.h"

#define PAGE_SIZE 500 /* below AD's MaxPageSize (1000) */

typedef int (*entry_fn)(void *ctx, const zt_directory *d, LDAP *ld, LDAPMessage *e);

static int paged_search(const zt_directory *d, LDAP *ld, const char *base, const char *filter,
                        const char **attrs, entry_fn fn, void *ctx)
{
    struct berval *cookie = NULL;
    struct timeval tv = {.tv_sec = (time_t)(d->timeout_ms / 1000),
                         .tv_usec = (suseconds_t)(d->timeout_ms % 1000) * 1000};
    int out = 0;
    do {
        LDAPControl *page = NULL;
        if (ldap_create_page_control(ld, PAGE_SIZE, cookie, 0, &page) != LDAP_SUCCESS) {
            out = -ENOMEM;
            break;
        }
        ber_bvfree(cookie);
        cookie = NULL;
        LDAPControl *sctrls[] = {page, NULL};
        LDAPMessage *res = NULL;
        int rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0, sctrls,
                                   NULL, &tv, 0, &res);
        ldap_control_free(page);
        if (rc != LDAP_SUCCESS) {
            zt_warn("ldap %s: search under %s failed: %s", d->name, base, ldap_err2string(rc));
            ldap_msgfree(res);
            out = -EHOSTUNREACH;
            break;
        }
        for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL && out == 0;
             e = ldap_next_entry(ld, e))
            out = fn(ctx, d, ld, e);
        int err = 0;
        LDAPControl **rctrls = NULL;
        if (ldap_parse_result(ld, res, &err, NULL, NULL, NULL, &rctrls, 0) == LDAP_SUCCESS) {
            LDAPControl *pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
            ber_int_t count = 0;
            struct berval c = {0, NULL};
            if (pr != NULL && ldap_parse_pageresponse_control(ld, pr, &count, &c) == LDAP_SUCCESS &&
                c.bv_len > 0)
                cookie = ber_bvdup(&c);
            ber_memfree(c.bv_val);
            ldap_controls_free(rctrls);
        }
        ldap_msgfree(res);
    } while (cookie != NULL && out == 0);
    ber_bvfree(cookie);
    return out;
}

/* ---- users ---- */

typedef struct user_list {
    zt_dir_user *v;
    size_t n, cap;
} user_list;

static int add_user(void *ctx, const zt_directory *d, LDAP *ld, LDAPMessage *e)
{
    user_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        zt_dir_user *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (zt_dir_user_from_entry(d, ld, e, &l->v[l->n]) == 0)
        l->n++; /* an entry without an id is skipped (logged) */
    return 0;
}

/* ---- groups, in memory ---- */

typedef struct dgroup {
    char *dn, *cn, *desc;
    char **members;
    size_t n_members;
} dgroup;

typedef struct group_list {
    dgroup *v;
    size_t n, cap;
} group_list;

static int add_group(void *ctx, const zt_directory *d, LDAP *ld, LDAPMessage *e)
{
    (void)d;
    group_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        dgroup *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    dgroup *g = &l->v[l->n];
    memset(g, 0, sizeof(*g));
    char *dn = ldap_get_dn(ld, e);
    g->dn = dn != NULL ? strdup(dn) : NULL;
    ldap_memfree(dn);
    struct berval **cn = ldap_get_values_len(ld, e, "cn");
    struct berval **desc = ldap_get_values_len(ld, e, "description");
    struct berval **m = ldap_get_values_len(ld, e, "member");
    if (cn != NULL && cn[0] != NULL)
        g->cn = strndup(cn[0]->bv_val, cn[0]->bv_len);
    if (desc != NULL && desc[0] != NULL)
        g->desc = strndup(desc[0]->bv_val, desc[0]->bv_len);
    size_t nm = (size_t)ldap_count_values_len(m);
    g->members = nm > 0 ? calloc(nm, sizeof(char *)) : NULL;
    for (size_t i = 0; g->members != NULL && i < nm; i++)
        if ((g->members[g->n_members] = strndup(m[i]->bv_val, m[i]->bv_len)) != NULL)
            g->n_members++;
    ldap_value_free_len(cn);
    ldap_value_free_len(desc);
    ldap_value_free_len(m);
    if (g->dn != NULL)
        l->n++;
    return 0;
}

static void groups_free(group_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].dn);
        free(l->v[i].cn);
        free(l->v[i].desc);
        for (size_t k = 0; k < l->v[i].n_members; k++)
            free(l->v[i].members[k]);
        free(l->v[i].members);
    }
    free(l->v);
}

static bool member_of(const dgroup *g, const char *dn)
{
    for (size_t k = 0; k < g->n_members; k++)
        if (strcasecmp(g->members[k], dn) == 0)
            return true;
    return false;
}

/* The user's groups: those naming the user, then, until nothing is added, those naming one of
 * the groups found (nested), bounded by ZT_DIR_NEST_MAX rounds. */
static int closure(const group_list *gl, zt_dir_user *u)
{
    for (size_t i = 0; i < gl->n; i++)
        if (member_of(&gl->v[i], u->dn) &&
            zt_dir_groups_add(u, gl->v[i].dn, gl->v[i].cn, gl->v[i].desc) < 0)
            return -E2BIG;
    for (int round = 0; round < ZT_DIR_NEST_MAX; round++) {
        bool added = false;
        for (size_t i = 0; i < gl->n; i++)
            for (size_t k = 0; k < u->n_groups; k++)
                if (member_of(&gl->v[i], u->groups[k].dn)) {
                    int r = zt_dir_groups_add(u, gl->v[i].dn, gl->v[i].cn, gl->v[i].desc);
                    if (r < 0)
                        return r;
                    added = added || r > 0;
                    break;
                }
        if (!added)
            break;
    }
    return 0;
}

int zt_directory_fetch_all(zt_directory *d, zt_dir_user **users, size_t *n)
{
    *users = NULL;
    *n = 0;
    LDAP *ld = NULL;
    int rc = zt_dir_service(d, &ld);
    if (rc != 0)
        return rc;
    user_list ul = {0};
    group_list gl = {0};
    const char *uattrs[8];
    zt_dir_user_attrs(d, uattrs);
    const char *gattrs[] = {"cn", "description", "member", NULL};
    rc = paged_search(d, ld, d->base_dn, d->user_filter, uattrs, add_user, &ul);
    if (rc == 0)
        rc = paged_search(d, ld, d->group_base, d->group_filter, gattrs, add_group, &gl);
    ldap_unbind_ext_s(ld, NULL, NULL);
    for (size_t i = 0; rc == 0 && i < ul.n; i++)
        if (closure(&gl, &ul.v[i]) != 0)
            zt_warn("ldap %s: %s is in more than %d groups: the rest are ignored", d->name,
                    ul.v[i].dn, ZT_DIR_GROUPS_MAX);
    groups_free(&gl);
    if (rc != 0) {
        zt_dir_users_free(ul.v, ul.n);
        return rc;
    }
    *users = ul.v;
    *n = ul.n;
    return 0;
}
