/* The access review (lifecycle.h): every user × app through the compiled policy set, with the
 * request `ztgate whatif` asks by default, so the export is what the gateway enforces for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/secure.h"
#include "lifecycle/lifecycle.h"

typedef struct name_vec {
    char **v;
    size_t n, cap;
} name_vec;

static int name_cb(void *ctx, const char *name)
{
    name_vec *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        char **v = realloc(g->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        g->v = v;
        g->cap = cap;
    }
    if ((g->v[g->n] = strdup(name)) == NULL)
        return -ENOMEM;
    g->n++;
    return 0;
}

static void name_vec_free(name_vec *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i]);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

typedef struct user_list {
    zt_user *v;
    size_t n, cap;
} user_list;

static int user_cb(void *ctx, const zt_user *u)
{
    user_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        zt_user *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = *u;
    zt_wipe(l->v[l->n].password_hash, sizeof(l->v[l->n].password_hash)); /* nobody needs it */
    l->n++;
    return 0;
}

/* How the policy's include list takes this user: the most specific entry wins (their e-mail,
 * else the first of their groups it names, else "all"). Exclusions need no look: the policy
 * applied, so none matched. */
static zt_review_via policy_via(const zt_policy_cfg *p, const zt_user *u, const name_vec *groups,
                                const char **group_out)
{
    zt_review_via via = ZT_REVIEW_VIA_NONE;
    *group_out = NULL;
    for (size_t i = 0; i < p->users.n_include; i++) {
        const char *w = p->users.include[i].s;
        if (strcasecmp(w, u->email) == 0)
            return ZT_REVIEW_VIA_USER;
        if (strncmp(w, "group:", 6) == 0 && via != ZT_REVIEW_VIA_GROUP) {
            for (size_t k = 0; k < groups->n; k++) {
                if (strcasecmp(w + 6, groups->v[k]) == 0) {
                    via = ZT_REVIEW_VIA_GROUP;
                    *group_out = w + 6;
                    break;
                }
            }
        } else if (strcmp(w, "all") == 0 && via == ZT_REVIEW_VIA_NONE) {
            via = ZT_REVIEW_VIA_ALL;
        }
    }
    return via;
}

/* A miss after both assignments matched: the policy is the pair's, on other requests. */
static bool conditional_miss(zt_policy_miss m)
{
    return m != ZT_MISS_NONE && m != ZT_MISS_STATE_OFF && m != ZT_MISS_USER_NOT_INCLUDED &&
           m != ZT_MISS_USER_EXCLUDED && m != ZT_MISS_APP_NOT_INCLUDED && m != ZT_MISS_APP_EXCLUDED;
}

static const char *verdict_word(const zt_policy_result *res)
{
    if (res->outcome == ZT_OUTCOME_ALLOW)
        return "allow";
    if (res->outcome == ZT_OUTCOME_BLOCK)
        return "block";
    if (res->reauth_required)
        return "reauth";
    return zt_control_name(res->next_control);
}

typedef struct review_job {
    const zt_config *cfg;
    const zt_policy_set *set;
    int64_t now;
    zt_policy_miss *misses;
    int *conditional;
    zt_review_cb cb;
    void *ctx;
} review_job;

/* The request whatif asks by default (cli/cmd_whatif.c zt_whatif_init): a browser, platform
 * unknown, no device, no address, no risk, signed in just now with a password only. */
static void review_input(const review_job *j, const zt_user *u, const name_vec *groups,
                         const zt_app_cfg *app, zt_policy_input *in)
{
    memset(in, 0, sizeof(*in));
    in->user_id = u->id;
    in->email = u->email;
    in->groups = (const char *const *)groups->v;
    in->n_groups = groups->n;
    in->app = app->name;
    in->sensitivity = (int)app->sensitivity;
    in->client = ZT_CLIENT_BROWSER;
    in->platform = ZT_PLATFORM_UNKNOWN;
    in->now = j->now;
    in->auth_time = j->now;
}

static int review_pair(const review_job *j, const zt_user *u, const name_vec *groups,
                       const zt_app_cfg *app)
{
    zt_policy_input in;
    review_input(j, u, groups, app, &in);
    zt_review_row row = {.u = u,
                         .status = zt_lifecycle_status(u, j->now),
                         .groups = (const char *const *)groups->v,
                         .n_groups = groups->n,
                         .app = app,
                         .conditional = j->conditional};
    zt_policy_eval(j->set, &in, &row.res);
    row.verdict = verdict_word(&row.res);
    /* Named as the gateway names it (access/access.c zt_access_decide). */
    row.cause = zt_policy_cause(j->set, &in, &row.res);
    row.policy = row.cause >= 0 ? row.cause : row.res.n_matched > 0 ? row.res.matched[0] : -1;
    if (row.policy >= 0 && (size_t)row.policy < j->cfg->n_policies)
        row.via = policy_via(&j->cfg->policies[row.policy], u, groups, &row.via_group);
    size_t n = zt_policy_count(j->set);
    if (n > 0) {
        zt_policy_explain(j->set, &in, j->misses);
        for (size_t i = 0; i < n; i++)
            if (conditional_miss(j->misses[i]))
                j->conditional[row.n_conditional++] = (int)i;
    }
    return j->cb(j->ctx, &row);
}

static int review_user(const review_job *j, zt_store *st, const zt_user *u)
{
    name_vec groups = {0};
    int rc = zt_store_user_groups(st, u->id, name_cb, &groups);
    for (size_t a = 0; rc == 0 && a < j->cfg->n_apps; a++)
        rc = review_pair(j, u, &groups, &j->cfg->apps[a]);
    name_vec_free(&groups);
    return rc;
}

int zt_lifecycle_review(zt_store *st, const zt_config *cfg, const zt_policy_set *set, int64_t now,
                        zt_review_cb cb, void *ctx)
{
    size_t n = zt_policy_count(set);
    review_job j = {.cfg = cfg, .set = set, .now = now, .cb = cb, .ctx = ctx};
    j.misses = calloc(n + 1, sizeof(*j.misses));
    j.conditional = calloc(n + 1, sizeof(*j.conditional));
    user_list users = {0};
    int rc = j.misses == NULL || j.conditional == NULL ? -ENOMEM
                                                       : zt_store_user_list(st, user_cb, &users);
    for (size_t i = 0; rc == 0 && i < users.n; i++)
        rc = review_user(&j, st, &users.v[i]);
    free(users.v);
    free(j.misses);
    free(j.conditional);
    return rc;
}

void zt_review_via_text(const zt_review_row *row, char *out, size_t cap)
{
    switch (row->via) {
    case ZT_REVIEW_VIA_USER:
        snprintf(out, cap, "user");
        break;
    case ZT_REVIEW_VIA_GROUP:
        snprintf(out, cap, "group:%s", row->via_group != NULL ? row->via_group : "");
        break;
    case ZT_REVIEW_VIA_ALL:
        snprintf(out, cap, "all");
        break;
    default:
        snprintf(out, cap, "%s", "");
    }
}

void zt_review_grant_text(const zt_config *cfg, int policy, char *out, size_t cap)
{
    static const zt_control order[] = {ZT_CTL_MFA, ZT_CTL_PHISHING_RESISTANT_MFA,
                                       ZT_CTL_COMPLIANT_DEVICE, ZT_CTL_PASSWORD_CHANGE};
    out[0] = '\0';
    if (policy < 0 || (size_t)policy >= cfg->n_policies)
        return;
    const zt_grant_cfg *g = &cfg->policies[policy].grant;
    if (g->block) {
        snprintf(out, cap, "block");
        return;
    }
    size_t o = 0;
    const char *sep = g->operator_or ? " OR " : " AND ";
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && o < cap; i++)
        if (g->controls & (unsigned)order[i])
            o +=
                (size_t)snprintf(out + o, cap - o, "%s%s", o ? sep : "", zt_control_name(order[i]));
}
