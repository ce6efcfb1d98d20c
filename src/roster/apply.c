/* A plan against the store: the snapshot it is made from, the one-transaction batch, and the
 * audit records after the commit (roster.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/roster.h"
#include "session/session.h"
#include "store/store_roster.h"

/* ---- snapshot ---- */

typedef struct load_ctx {
    zt_roster_snapshot *snap;
    const char *source;
} load_ctx;

static int load_user_cb(void *ctx, const zt_store_roster_user *ru)
{
    load_ctx *l = ctx;
    const zt_user *u = ru->user;
    bool by_source[ZT_STORE_USER_GROUPS_MAX * 4];
    size_t n = ru->n_groups < sizeof(by_source) ? ru->n_groups : sizeof(by_source);
    for (size_t i = 0; i < n; i++)
        by_source[i] = strcmp(ru->sources[i], l->source) == 0;
    zt_roster_user v = {.email = (char *)u->email,
                        .name = (char *)u->name,
                        .source = (char *)u->source,
                        .external_id = (char *)u->external_id,
                        .sponsor = (char *)u->sponsor,
                        .expires_at = u->expires_at,
                        .disabled = u->disabled,
                        .groups = (char **)ru->groups,
                        .by_source = by_source,
                        .n_groups = n};
    snprintf(v.id, sizeof(v.id), "%s", u->id);
    return zt_roster_snapshot_add_user(l->snap, &v);
}

static int load_group_cb(void *ctx, const zt_store_group *g)
{
    return zt_roster_snapshot_add_group(ctx, g->name);
}

int zt_roster_load(zt_store *st, const char *source, zt_roster_snapshot *snap)
{
    memset(snap, 0, sizeof(*snap));
    load_ctx l = {snap, source};
    int rc = zt_store_roster_snapshot(st, load_user_cb, &l);
    if (rc == 0)
        rc = zt_store_group_list(st, load_group_cb, snap);
    if (rc == 0)
        zt_roster_snapshot_sort(snap);
    else
        zt_roster_snapshot_dispose(snap);
    return rc;
}

/* ---- the batch ---- */

static void op_of(const zt_roster_change *c, const zt_roster_opts *o, zt_store_roster_op *op)
{
    memset(op, 0, sizeof(*op));
    const zt_roster_entry *e = c->entry;
    if (c->kind == ZT_ROSTER_CREATE) {
        op->kind = ZT_STORE_ROSTER_CREATE;
        op->create = (zt_store_user_new){.email = e->email,
                                         .name = e->name,
                                         .source = o->source,
                                         .external_id = e->external_id,
                                         .sponsor = e->sponsor,
                                         .expires_at = e->expires_at,
                                         .groups = e->groups,
                                         .n_groups = e->n_groups};
        return;
    }
    op->user_id = c->user->id;
    if (c->kind == ZT_ROSTER_DISABLE) {
        op->kind = ZT_STORE_ROSTER_DISABLE;
        return;
    }
    op->kind = ZT_STORE_ROSTER_UPDATE;
    zt_store_user_profile *p = &op->profile;
    p->name = (c->what & ZT_ROSTER_CH_NAME) ? e->name : NULL;
    p->sponsor = (c->what & ZT_ROSTER_CH_SPONSOR) ? e->sponsor : NULL;
    p->external_id = (c->what & ZT_ROSTER_CH_EXTERNAL_ID) ? e->external_id : NULL;
    p->source = (c->what & ZT_ROSTER_CH_SOURCE) ? o->source : NULL;
    p->set_expires = (c->what & ZT_ROSTER_CH_EXPIRES) != 0;
    p->expires_at = e->expires_at;
    op->sync_groups = (c->what & ZT_ROSTER_CH_GROUPS) != 0;
    op->groups = e->groups;
    op->n_groups = e->n_groups;
}

static void failure(const zt_roster_plan *p, size_t at, int rc, zt_csv_error *err)
{
    const char *why = zt_store_errmsg();
    memset(err, 0, sizeof(*err));
    if (why == NULL || why[0] == '\0')
        why = strerror(-rc);
    if (at >= p->n) {
        snprintf(err->msg, sizeof(err->msg), "nothing was changed: %s", why);
        return;
    }
    const zt_roster_change *c = &p->changes[at];
    if (c->entry != NULL) {
        err->row = c->entry->row;
        err->line = c->entry->line;
        snprintf(err->msg, sizeof(err->msg), "%s: %s (nothing was changed)", c->entry->email, why);
    } else {
        snprintf(err->msg, sizeof(err->msg), "disabling %s: %s (nothing was changed)",
                 c->user->email, why);
    }
}

/* ---- records, in the shapes of session/account.c's one-user operations ---- */

/* "+a -b": the shape zt_account_sync_groups writes. */
static void change_append(zt_account_result *res, char sign, const char *group)
{
    size_t at = strlen(res->change);
    if (at < sizeof(res->change))
        snprintf(res->change + at, sizeof(res->change) - at, "%s%c%s", at ? " " : "", sign, group);
}

static void profile_text(unsigned what, bool revoked, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *word;
    } words[] = {{ZT_ROSTER_CH_NAME, "name"},
                 {ZT_ROSTER_CH_SOURCE, "source"},
                 {ZT_ROSTER_CH_EXTERNAL_ID, "external id"},
                 {ZT_ROSTER_CH_SPONSOR, "sponsor"},
                 {ZT_ROSTER_CH_EXPIRES, "expiry"}};
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && at < cap; i++)
        if (what & words[i].bit)
            at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? ", " : "", words[i].word);
    if (at < cap)
        snprintf(out + at, cap - at, "%s%s", at ? " changed" : "nothing changed",
                 revoked ? "; sessions revoked" : "");
}

static int record(const zt_account_env *env, const zt_actor *who, zt_account_op op,
                  zt_account_result *res, zt_roster_outcome *out)
{
    int rc = zt_account_record(env, who, op, res);
    if (rc == 0)
        out->records++;
    else if (out->audit_rc == 0)
        out->audit_rc = rc;
    return rc;
}

static void records_of(const zt_account_env *env, const zt_actor *who, const zt_roster_change *c,
                       const zt_store_roster_op *op, const zt_roster_opts *o,
                       zt_roster_outcome *out)
{
    zt_account_result res;
    memset(&res, 0, sizeof(res));
    const char *id = c->kind == ZT_ROSTER_CREATE ? op->user_id_out : c->user->id;
    snprintf(res.user_id, sizeof(res.user_id), "%s", id);
    snprintf(res.email, sizeof(res.email), "%s",
             c->user != NULL ? c->user->email : c->entry->email);
    res.epoch = op->epoch_out;
    res.sessions_revoked = op->sessions_out;
    out->sessions_ended += op->sessions_out;
    if (c->kind == ZT_ROSTER_CREATE) {
        snprintf(res.change, sizeof(res.change), "created%s from %s%s",
                 c->entry->n_groups ? " with groups" : "", o->source,
                 c->entry->expires_at != 0 ? ", expiring" : "");
        record(env, who, ZT_ACCOUNT_CREATE, &res, out);
        return;
    }
    if (c->kind == ZT_ROSTER_DISABLE) {
        snprintf(res.change, sizeof(res.change), "disabled; sessions revoked");
        record(env, who, ZT_ACCOUNT_DISABLE, &res, out);
        return;
    }
    if (c->what & ~(unsigned)ZT_ROSTER_CH_GROUPS) {
        profile_text(c->what, op->revoked, res.change, sizeof(res.change));
        record(env, who, ZT_ACCOUNT_UPDATE, &res, out);
    }
    if (c->what & ZT_ROSTER_CH_GROUPS) {
        res.change[0] = '\0';
        res.sessions_revoked = 0;
        for (size_t i = 0; i < c->n_added; i++)
            change_append(&res, '+', c->added[i]);
        for (size_t i = 0; i < c->n_removed; i++)
            change_append(&res, '-', c->removed[i]);
        record(env, who, ZT_ACCOUNT_SYNC_GROUPS, &res, out);
    }
}

int zt_roster_apply(const zt_account_env *env, const zt_actor *who, const zt_roster_plan *p,
                    const zt_roster_opts *o, zt_roster_outcome *out, zt_csv_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    zt_store_roster_op *ops = calloc(p->n + 1, sizeof(*ops));
    if (ops == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        op_of(&p->changes[i], o, &ops[i]);
    size_t failed_at = p->n;
    int rc = zt_store_roster_apply(env->store, o->source, p->new_groups, p->n_new_groups, ops, p->n,
                                   &failed_at);
    if (rc != 0) {
        failure(p, failed_at, rc, err);
        free(ops);
        return rc;
    }
    bool tell = false;
    for (size_t i = 0; i < p->n; i++) {
        const zt_roster_change *c = &p->changes[i];
        records_of(env, who, c, &ops[i], o, out);
        tell |= ops[i].revoked || (c->what & ZT_ROSTER_CH_GROUPS) != 0;
    }
    if (tell)
        out->revocation_rc = env->state_dir != NULL && env->state_dir[0] != '\0'
                                 ? zt_revocation_bump(env->state_dir)
                                 : -EINVAL;
    free(ops);
    return 0;
}
