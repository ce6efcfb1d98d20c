/* Conditional Access for an OIDC client's app, shared by the authorization endpoint (the
 * browser's request, at sign-in) and the refresh grant (the grant's ztgate session, each time
 * the client renews its tokens): src/access decides exactly as for a proxied request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "idp/oidc.h"
#include "policy/policy.h"

#define GROUPS_MAX 64

typedef struct user_groups {
    char names[GROUPS_MAX][ZT_STORE_GROUP_MAX + 1];
    const char *ptrs[GROUPS_MAX];
    size_t n;
} user_groups;

static int add_group(void *ctx, const char *name)
{
    user_groups *g = ctx;
    if (g->n < GROUPS_MAX) {
        snprintf(g->names[g->n], sizeof(g->names[0]), "%s", name);
        g->ptrs[g->n] = g->names[g->n];
        g->n++;
    }
    return 0;
}

int zt_oidc_decide(zt_local_req *r, zt_access_request *rq, zt_oidc_decision *d)
{
    user_groups *g = calloc(1, sizeof(*g));
    if (g == NULL || zt_store_user_groups(r->svc->store, rq->user_id, add_group, g) != 0) {
        free(g);
        return -1;
    }
    rq->groups = g->ptrs;
    rq->n_groups = g->n;
    zt_policy_input in;
    zt_policy_result res;
    memset(d, 0, sizeof(*d));
    zt_access_input(r->svc, rq, &in, &d->facts);
    d->policy = zt_access_decide(r->policies, &in, &res);
    d->outcome = res.outcome;
    d->reauth = res.reauth_required;
    d->control = res.next_control;
    if (res.report_only_outcome != ZT_OUTCOME_ALLOW)
        d->report_only = zt_outcome_name(res.report_only_outcome);
    zt_access_policy_names(r->policies, &res, d->policies, sizeof(d->policies));
    rq->groups = NULL;
    rq->n_groups = 0;
    free(g);
    return 0;
}
