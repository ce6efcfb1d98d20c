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
        if (rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_ADMINLIMIT_EXCEEDED) {
            /* Never a partial read: users past the limit would look deleted and be disabled. */
            zt_warn("ldap %s: the server's size limit stopped the read under %s: allow the "
                    "service account unlimited paged results (slapd: limits dn.exact=\"%s\" "
                    "size.prtotal=unlimited)",
                    d->name, base, d->bind_dn);
            ldap_msgfree(res);
            out = -EFBIG;
            break;
        }
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

/* Who is in which group, the other way round: every (member DN, group) pair sorted by DN, so
 * the groups holding a DN are found by binary search instead of a scan of every group. */
typedef struct pair {
    const char *member;
    size_t group;
} pair;

typedef struct member_index {
    pair *v;
    size_t n;
} member_index;

static int pair_cmp(const void *a, const void *b)
{
    return strcasecmp(((const pair *)a)->member, ((const pair *)b)->member);
}

static int index_build(const group_list *gl, member_index *ix)
{
    size_t n = 0;
    for (size_t i = 0; i < gl->n; i++)
        n += gl->v[i].n_members;
    ix->v = n > 0 ? malloc(n * sizeof(pair)) : NULL;
    ix->n = 0;
    if (n > 0 && ix->v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < gl->n; i++)
        for (size_t k = 0; k < gl->v[i].n_members; k++)
            ix->v[ix->n++] = (pair){gl->v[i].members[k], i};
    if (ix->n > 1)
        qsort(ix->v, ix->n, sizeof(pair), pair_cmp);
    return 0;
}

/* The groups holding dn, added to u; -E2BIG when u is full. */
static int add_holders(const group_list *gl, const member_index *ix, const char *dn, zt_dir_user *u)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) { /* first pair with member >= dn */
        size_t mid = lo + (hi - lo) / 2;
        if (strcasecmp(ix->v[mid].member, dn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < ix->n && strcasecmp(ix->v[i].member, dn) == 0; i++) {
        const dgroup *g = &gl->v[ix->v[i].group];
        if (zt_dir_groups_add(u, g->dn, g->cn, g->desc) < 0)
            return -E2BIG;
    }
    return 0;
}

/* The user's groups: those naming the user, then those naming a group found, level by level
 * (nested), up to ZT_DIR_NEST_MAX levels. */
static int closure(const group_list *gl, const member_index *ix, zt_dir_user *u)
{
    if (add_holders(gl, ix, u->dn, u) != 0)
        return -E2BIG;
    size_t done = 0;
    for (int level = 0; level < ZT_DIR_NEST_MAX && done < u->n_groups; level++) {
        size_t end = u->n_groups;
        for (; done < end; done++) {
            char dn[ZT_DIR_DN_MAX];
            snprintf(dn, sizeof(dn), "%s", u->groups[done].dn); /* u->groups may move */
            if (add_holders(gl, ix, dn, u) != 0)
                return -E2BIG;
        }
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
    member_index ix = {0};
    if (rc == 0)
        rc = index_build(&gl, &ix);
    for (size_t i = 0; rc == 0 && i < ul.n; i++)
        if (closure(&gl, &ix, &ul.v[i]) != 0)
            zt_warn("ldap %s: %s is in more than %d groups: the rest are ignored", d->name,
                    ul.v[i].dn, ZT_DIR_GROUPS_MAX);
    free(ix.v);
    groups_free(&gl);
    if (rc != 0) {
        zt_dir_users_free(ul.v, ul.n);
        return rc;
    }
    *users = ul.v;
    *n = ul.n;
    return 0;
}
