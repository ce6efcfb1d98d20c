/* Account operations (account.h): look up, change the store, record, tell gateways. */
#include "session/account.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/event.h"
#include "lib/buf.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/session.h"

#define RECORD_MAX (16 * 1024) /* one Account Change record: a few short fields */
/* Sessions of one user a pass revocation looks at; a user has a handful. */
#define TAP_SESSIONS_SCAN 256

/* OCSF Account Change (3001) activity ids, as the admin API's call records use them. */
enum {
    ACT_CREATE = 1,
    ACT_ENABLE = 2,
    ACT_PASSWORD_RESET = 4,
    ACT_DISABLE = 5,
    ACT_DELETE = 6,
    ACT_MFA_DISABLE = 11,
    ACT_OTHER = 99,
};

static const struct {
    const char *name;
    unsigned activity;
} ops[ZT_ACCOUNT_N_OPS] = {
    [ZT_ACCOUNT_CREATE] = {"user.create", ACT_CREATE},
    [ZT_ACCOUNT_DISABLE] = {"user.disable", ACT_DISABLE},
    [ZT_ACCOUNT_ENABLE] = {"user.enable", ACT_ENABLE},
    [ZT_ACCOUNT_SET_PASSWORD] = {"user.password", ACT_PASSWORD_RESET},
    [ZT_ACCOUNT_RESET_MFA] = {"user.reset_mfa", ACT_MFA_DISABLE},
    [ZT_ACCOUNT_REVOKE_SESSIONS] = {"user.revoke_sessions", ACT_OTHER},
    [ZT_ACCOUNT_DELETE] = {"user.delete", ACT_DELETE},
    [ZT_ACCOUNT_GROUP_CREATE] = {"group.create", ACT_CREATE},
    [ZT_ACCOUNT_GROUP_DELETE] = {"group.delete", ACT_DELETE},
    [ZT_ACCOUNT_MEMBER_ADD] = {"group.member_add", ACT_OTHER},
    [ZT_ACCOUNT_MEMBER_REMOVE] = {"group.member_remove", ACT_OTHER},
    [ZT_ACCOUNT_TAP_ISSUE] = {"user.tap_issue", ACT_OTHER},
    [ZT_ACCOUNT_TAP_REVOKE] = {"user.tap_revoke", ACT_OTHER},
    [ZT_ACCOUNT_UPDATE] = {"user.update", ACT_OTHER},
    [ZT_ACCOUNT_SYNC_GROUPS] = {"user.groups.sync", ACT_OTHER},
    [ZT_ACCOUNT_GROUP_UPDATE] = {"group.update", ACT_OTHER},
    /* OCSF 3001: 7 = Attach Policy, 8 = Detach Policy (a role is a set of permissions). */
    [ZT_ACCOUNT_ADMIN_GRANT] = {"admin.grant", 7},
    [ZT_ACCOUNT_ADMIN_REVOKE] = {"admin.revoke", 8},
    [ZT_ACCOUNT_ADMIN_TOKEN_CREATE] = {"admin_token.create", ACT_OTHER},
    [ZT_ACCOUNT_ADMIN_TOKEN_REVOKE] = {"admin_token.revoke", ACT_OTHER},
};

const char *zt_account_op_name(zt_account_op op)
{
    return (unsigned)op < ZT_ACCOUNT_N_OPS ? ops[op].name : "unknown";
}

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* ---- the record and the bump every operation ends with ---- */

void zt_actor_event_begin(zt_event *ev, zt_buf *b, zt_event_class cls, unsigned activity,
                          const char *message, const zt_actor *who)
{
    zt_buf_init(b, RECORD_MAX);
    zt_event_begin(ev, b, cls, activity, ZT_SEV_INFO);
    zt_event_status(ev, ZT_STATUS_SUCCESS);
    zt_event_str(ev, "message", message);
    zt_event_str(ev, "actor.user.name", has(who->name) ? who->name : "?");
    zt_event_str(ev, "actor.user.type", has(who->type) ? who->type : "Unknown");
    zt_event_str(ev, "actor.user.credential_uid",
                 has(who->credential_uid) ? who->credential_uid : NULL);
    zt_event_str(ev, "actor.process.name", has(who->process) ? who->process : NULL);
}

int zt_actor_event_write(zt_event *ev, zt_buf *b, zt_audit_sink sink, const zt_actor *who)
{
    char uid[33];
    zt_random_hex(uid, 16);
    zt_event_metadata(ev, uid, has(who->request_id) ? who->request_id : NULL);
    int rc = zt_event_end(ev);
    if (rc == 0)
        rc = sink.write(sink.ctx, b->data, b->len);
    zt_buf_dispose(b);
    return rc;
}

static int write_record(const zt_account_env *env, const zt_actor *who, zt_account_op op,
                        const zt_account_result *res)
{
    if (env->audit.write == NULL)
        return 0;
    zt_buf b;
    char msg[96];
    snprintf(msg, sizeof(msg), "account change: %s", ops[op].name);
    zt_event ev;
    zt_actor_event_begin(&ev, &b, ZT_EV_ACCOUNT_CHANGE, ops[op].activity, msg, who);
    zt_event_str(&ev, "user.uid", has(res->user_id) ? res->user_id : NULL);
    zt_event_str(&ev, "user.email_addr", has(res->email) ? res->email : NULL);
    zt_event_str(&ev, "group.name", has(res->group) ? res->group : NULL);
    zt_event_str(&ev, "unmapped.operation", ops[op].name);
    zt_event_str(&ev, "unmapped.change", res->change);
    zt_event_uint(&ev, "unmapped.sessions_revoked", res->sessions_revoked);
    return zt_actor_event_write(&ev, &b, env->audit, who);
}

/* The change is saved: record it, then tell gateways when it can change what a session may do. */
static int finish(const zt_account_env *env, const zt_actor *who, zt_account_op op, bool tell,
                  zt_account_result *res)
{
    res->audit_rc = write_record(env, who, op, res);
    if (tell)
        res->revocation_rc = has(env->state_dir) ? zt_revocation_bump(env->state_dir) : -EINVAL;
    return 0;
}

int zt_account_record(const zt_account_env *env, const zt_actor *who, zt_account_op op,
                      const zt_account_result *res)
{
    if (env == NULL || who == NULL || res == NULL || (unsigned)op >= ZT_ACCOUNT_N_OPS)
        return -EINVAL;
    return write_record(env, who, op, res);
}

static bool args_ok(const zt_account_env *env, const zt_actor *who, zt_account_result *res)
{
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    return env != NULL && env->store != NULL && who != NULL && res != NULL;
}

/* ---- one user ---- */

static int note_user(zt_store *st, const char *id, zt_account_result *res)
{
    if (!has(id))
        return -EINVAL;
    zt_user u;
    int rc = zt_store_user_get_by_id(st, id, &u);
    if (rc == 0) {
        snprintf(res->user_id, sizeof(res->user_id), "%s", u.id);
        snprintf(res->email, sizeof(res->email), "%s", u.email);
        res->epoch = u.revocation_epoch;
    }
    zt_user_dispose(&u);
    return rc;
}

static int count_cb(void *ctx, const zt_store_session *s)
{
    (void)s;
    ++*(uint64_t *)ctx;
    return 0;
}

/* Session rows before a revoking change: what the answer says was revoked. */
static uint64_t count_sessions(zt_store *st, const char *id)
{
    uint64_t n = 0;
    return zt_store_session_list_by_user(st, id, count_cb, &n) == 0 ? n : 0;
}

/* The store change of each one-user operation; epoch receives the new revocation epoch. */
static int apply(zt_store *st, zt_account_op op, const char *id, const char *hash, int64_t *epoch)
{
    switch (op) {
    case ZT_ACCOUNT_DISABLE:
        return zt_store_user_set_disabled(st, id, true, epoch);
    case ZT_ACCOUNT_ENABLE:
        return zt_store_user_set_disabled(st, id, false, epoch);
    case ZT_ACCOUNT_SET_PASSWORD:
        return has(hash) ? zt_store_user_set_password(st, id, hash, epoch) : -EINVAL;
    case ZT_ACCOUNT_RESET_MFA:
        return zt_store_user_reset_mfa(st, id, epoch);
    case ZT_ACCOUNT_REVOKE_SESSIONS:
        return zt_store_user_bump_epoch(st, id, epoch);
    case ZT_ACCOUNT_DELETE:
        return zt_store_user_delete(st, id);
    default:
        return -EINVAL;
    }
}

static const char *change_text(zt_account_op op)
{
    switch (op) {
    case ZT_ACCOUNT_DISABLE:
        return "disabled; sessions revoked";
    case ZT_ACCOUNT_ENABLE:
        return "enabled";
    case ZT_ACCOUNT_SET_PASSWORD:
        return "password set; sessions revoked";
    case ZT_ACCOUNT_RESET_MFA:
        return "TOTP and recovery codes removed; sessions revoked";
    case ZT_ACCOUNT_REVOKE_SESSIONS:
        return "sessions revoked";
    case ZT_ACCOUNT_DELETE:
        return "deleted with sessions, credentials and memberships";
    default:
        return "";
    }
}

static int user_op(const zt_account_env *env, const zt_actor *who, zt_account_op op, const char *id,
                   const char *hash, zt_account_result *res)
{
    if (!args_ok(env, who, res))
        return -EINVAL;
    int rc = note_user(env->store, id, res);
    if (rc != 0)
        return rc;
    if (op != ZT_ACCOUNT_ENABLE)
        res->sessions_revoked = count_sessions(env->store, res->user_id);
    int64_t epoch = res->epoch;
    rc = apply(env->store, op, res->user_id, hash, &epoch);
    if (rc != 0)
        return rc;
    if (op != ZT_ACCOUNT_DELETE)
        res->epoch = epoch;
    snprintf(res->change, sizeof(res->change), "%s", change_text(op));
    return finish(env, who, op, true, res);
}

int zt_account_disable(const zt_account_env *env, const zt_actor *who, const char *user_id,
                       zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_DISABLE, user_id, NULL, res);
}

int zt_account_enable(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_ENABLE, user_id, NULL, res);
}

int zt_account_set_password(const zt_account_env *env, const zt_actor *who, const char *user_id,
                            const char *password_hash, zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_SET_PASSWORD, user_id, password_hash, res);
}

int zt_account_reset_mfa(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_RESET_MFA, user_id, NULL, res);
}

int zt_account_revoke_sessions(const zt_account_env *env, const zt_actor *who, const char *user_id,
                               zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_REVOKE_SESSIONS, user_id, NULL, res);
}

int zt_account_delete(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      zt_account_result *res)
{
    return user_op(env, who, ZT_ACCOUNT_DELETE, user_id, NULL, res);
}

/* ---- Temporary Access Pass ---- */

/* "1 use", "5 uses", "any number of uses": the same words through every front-end. */
static void describe_uses(int uses, char *out, size_t cap)
{
    if (uses == ZT_STORE_TAP_UNLIMITED)
        snprintf(out, cap, "any number of uses");
    else
        snprintf(out, cap, "%d use%s", uses, uses == 1 ? "" : "s");
}

int zt_account_tap_issue(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         int64_t lifetime_s, int uses, char pass_out[ZT_STORE_TAP_TEXT_LEN + 1],
                         int64_t *expires_out, zt_account_result *res)
{
    if (!args_ok(env, who, res) || pass_out == NULL || expires_out == NULL)
        return -EINVAL;
    pass_out[0] = '\0';
    if (lifetime_s == 0)
        lifetime_s = ZT_STORE_TAP_LIFETIME_DEFAULT_S;
    if (lifetime_s < ZT_STORE_TAP_LIFETIME_MIN_S || lifetime_s > ZT_STORE_TAP_LIFETIME_MAX_S ||
        uses < 0 || uses > ZT_STORE_TAP_USES_MAX)
        return -EINVAL;
    zt_user u;
    int rc = zt_store_user_get_by_id(env->store, has(user_id) ? user_id : "", &u);
    /* An expired account could not sign in with the pass either (extend it first). */
    bool disabled = rc == 0 && (u.disabled || zt_account_expired(&u, zt_wall_us() / 1000000));
    zt_user_dispose(&u);
    if (rc == 0)
        rc = note_user(env->store, user_id, res);
    if (rc != 0)
        return rc == -EINVAL ? -ENOENT : rc;
    if (disabled)
        return -EPERM;
    int64_t now = (zt_wall_us() / 1000000);
    zt_store_tap t = {.created_at = now, .expires_at = now + lifetime_s, .uses = uses};
    snprintf(t.user_id, sizeof(t.user_id), "%s", res->user_id);
    snprintf(t.created_by, sizeof(t.created_by), "%s", has(who->name) ? who->name : "?");
    unsigned char hash[ZT_STORE_TAP_HASH_LEN];
    zt_store_tap_generate(pass_out);
    rc = zt_store_tap_hash(res->user_id, pass_out, strlen(pass_out), hash);
    if (rc == 0)
        rc = zt_store_tap_put(env->store, &t, hash);
    zt_wipe(hash, sizeof(hash));
    if (rc != 0) {
        zt_wipe(pass_out, ZT_STORE_TAP_TEXT_LEN + 1);
        return rc;
    }
    *expires_out = t.expires_at;
    char n[32];
    describe_uses(uses, n, sizeof(n));
    snprintf(res->change, sizeof(res->change),
             "temporary access pass issued: valid %lld s, %s; any earlier pass replaced",
             (long long)lifetime_s, n);
    return finish(env, who, ZT_ACCOUNT_TAP_ISSUE, false, res);
}

/* The user's sessions opened with a pass (pending, method "tap"), collected by id hash: the
 * store cannot be called from inside its own list callback. */
typedef struct tap_sessions {
    char hash[TAP_SESSIONS_SCAN][ZT_STORE_SESSION_HASH_MAX + 1];
    size_t n;
} tap_sessions;

static int tap_session_cb(void *ctx, const zt_store_session *s)
{
    tap_sessions *t = ctx;
    if (s->mfa_pending && s->mfa_time == 0 && strcmp(s->mfa_method, ZT_SESSION_PURPOSE_TAP) == 0 &&
        t->n < TAP_SESSIONS_SCAN)
        snprintf(t->hash[t->n++], sizeof(t->hash[0]), "%s", s->id_hash);
    return 0;
}

/* End what a revoked pass opened: someone enrolling with it stops at their next request. */
static int end_tap_sessions(zt_store *st, const char *user_id, uint64_t *n_out)
{
    tap_sessions *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    int rc = zt_store_session_list_by_user(st, user_id, tap_session_cb, t);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        rc = zt_store_session_delete(st, t->hash[i]);
        rc = rc == -ENOENT ? 0 : rc; /* gone meanwhile */
    }
    *n_out = rc == 0 ? t->n : 0;
    free(t);
    return rc;
}

int zt_account_tap_revoke(const zt_account_env *env, const zt_actor *who, const char *user_id,
                          zt_account_result *res)
{
    if (!args_ok(env, who, res))
        return -EINVAL;
    int rc = note_user(env->store, user_id, res);
    if (rc == 0)
        rc = zt_store_tap_revoke(env->store, res->user_id, (zt_wall_us() / 1000000));
    if (rc != 0)
        return rc == -EINVAL ? -ENOENT : rc;
    rc = end_tap_sessions(env->store, res->user_id, &res->sessions_revoked);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change),
             "temporary access pass revoked; sessions opened with it ended");
    return finish(env, who, ZT_ACCOUNT_TAP_REVOKE, res->sessions_revoked > 0, res);
}

/* ---- create ---- */

/* Cheap refusals first, so a duplicate or a typo leaves nothing behind. */
static int create_check(zt_store *st, const zt_account_new *n, zt_account_result *res)
{
    zt_user u;
    int rc = zt_store_user_get_by_email(st, n->email, &u);
    zt_user_dispose(&u);
    if (rc == 0)
        return -EEXIST;
    if (rc != -ENOENT)
        return rc;
    for (size_t i = 0; i < n->n_groups; i++) {
        zt_store_group g;
        rc = zt_store_group_get(st, n->groups[i], &g);
        if (rc == -ENOENT || rc == -EINVAL) {
            snprintf(res->missing_group, sizeof(res->missing_group), "%s", n->groups[i]);
            return -ENOENT;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int zt_account_create(const zt_account_env *env, const zt_actor *who, const zt_account_new *n,
                      zt_account_result *res)
{
    if (!args_ok(env, who, res) || n == NULL || !has(n->email))
        return -EINVAL;
    snprintf(res->email, sizeof(res->email), "%s", n->email);
    int rc = create_check(env->store, n, res);
    if (rc != 0)
        return rc;
    zt_user u;
    zt_store_user_new sn = {.email = n->email,
                            .name = n->name,
                            .password_hash = n->password_hash,
                            .source = has(n->source) ? n->source : "local",
                            .external_id = n->external_id,
                            .sponsor = n->sponsor,
                            .expires_at = n->expires_at,
                            .groups = n->groups,
                            .n_groups = n->n_groups};
    rc = zt_store_user_create(env->store, &sn, &u);
    if (rc == 0) {
        snprintf(res->user_id, sizeof(res->user_id), "%s", u.id);
        snprintf(res->email, sizeof(res->email), "%s", u.email);
        res->epoch = u.revocation_epoch;
    }
    zt_user_dispose(&u);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "created%s%s%s%s%s",
             has(n->password_hash) ? " with a password" : "", n->n_groups ? " with groups" : "",
             has(n->source) && strcmp(n->source, "local") != 0 ? " from " : "",
             has(n->source) && strcmp(n->source, "local") != 0 ? n->source : "",
             n->expires_at != 0 ? ", expiring" : "");
    return finish(env, who, ZT_ACCOUNT_CREATE, false, res);
}

/* ---- groups ---- */

static int note_group(zt_store *st, const char *name, zt_account_result *res, uint64_t *members)
{
    if (!has(name))
        return -EINVAL;
    zt_store_group g;
    int rc = zt_store_group_get(st, name, &g);
    if (rc == -EINVAL)
        rc = -ENOENT; /* a name no group can have is a group that does not exist */
    if (rc == 0) {
        snprintf(res->group, sizeof(res->group), "%s", g.name);
        if (members != NULL)
            *members = g.n_members;
    }
    return rc;
}

int zt_account_group_create(const zt_account_env *env, const zt_actor *who, const char *name,
                            zt_account_result *res)
{
    if (!args_ok(env, who, res) || !has(name))
        return -EINVAL;
    int rc = zt_store_group_add(env->store, name);
    if (rc == 0)
        rc = note_group(env->store, name, res, NULL);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "group created");
    return finish(env, who, ZT_ACCOUNT_GROUP_CREATE, false, res);
}

int zt_account_group_delete(const zt_account_env *env, const zt_actor *who, const char *name,
                            zt_account_result *res)
{
    uint64_t members = 0;
    if (!args_ok(env, who, res))
        return -EINVAL;
    int rc = note_group(env->store, name, res, &members);
    if (rc == 0)
        rc = zt_store_group_delete(env->store, res->group);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "group deleted with its %llu memberships",
             (unsigned long long)members);
    return finish(env, who, ZT_ACCOUNT_GROUP_DELETE, true, res);
}

int zt_account_group_update(const zt_account_env *env, const zt_actor *who, const char *name,
                            const zt_store_group_meta *m, zt_account_result *res)
{
    if (!args_ok(env, who, res) || m == NULL)
        return -EINVAL;
    int rc = note_group(env->store, name, res, NULL);
    if (rc == 0)
        rc = zt_store_group_set_meta(env->store, res->group, m);
    if (rc != 0)
        return rc;
    const char *parts[] = {m->display_name != NULL ? "display name" : NULL,
                           m->source != NULL ? "source" : NULL,
                           m->external_id != NULL ? "external id" : NULL};
    size_t at = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (parts[i] != NULL)
            at += (size_t)snprintf(res->change + at, sizeof(res->change) - at, "%s%s",
                                   at ? ", " : "", parts[i]);
    snprintf(res->change + at, sizeof(res->change) - at, "%s", at ? " changed" : "nothing changed");
    return finish(env, who, ZT_ACCOUNT_GROUP_UPDATE, false, res);
}

static int member_op(const zt_account_env *env, const zt_actor *who, bool add, const char *group,
                     const char *user_id, zt_account_result *res)
{
    if (!args_ok(env, who, res))
        return -EINVAL;
    int rc = note_group(env->store, group, res, NULL);
    if (rc == 0)
        rc = note_user(env->store, user_id, res);
    if (rc != 0)
        return rc;
    rc = add ? zt_store_group_member_add(env->store, res->group, res->user_id)
             : zt_store_group_member_remove(env->store, res->group, res->user_id);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "%s group %s", add ? "added to" : "removed from",
             res->group);
    return finish(env, who, add ? ZT_ACCOUNT_MEMBER_ADD : ZT_ACCOUNT_MEMBER_REMOVE, true, res);
}

int zt_account_member_add(const zt_account_env *env, const zt_actor *who, const char *group,
                          const char *user_id, zt_account_result *res)
{
    return member_op(env, who, true, group, user_id, res);
}

int zt_account_member_remove(const zt_account_env *env, const zt_actor *who, const char *group,
                             const char *user_id, zt_account_result *res)
{
    return member_op(env, who, false, group, user_id, res);
}

/* ---- profile and source memberships ---- */

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

/* "email, name, expiry": what a profile changes, for the record. */
static void describe_profile(const zt_store_user_profile *p, char *out, size_t cap)
{
    const char *parts[] = {
        p->email != NULL ? "email" : NULL,     p->name != NULL ? "name" : NULL,
        p->source != NULL ? "source" : NULL,   p->external_id != NULL ? "external id" : NULL,
        p->sponsor != NULL ? "sponsor" : NULL, p->set_expires ? "expiry" : NULL};
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && at < cap; i++)
        if (parts[i] != NULL)
            at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? ", " : "", parts[i]);
    if (at < cap)
        snprintf(out + at, cap - at, "%s", at ? " changed" : "nothing changed");
}

int zt_account_update(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      const zt_store_user_profile *p, zt_account_result *res)
{
    if (!args_ok(env, who, res) || p == NULL)
        return -EINVAL;
    int rc = note_user(env->store, user_id, res);
    if (rc != 0)
        return rc;
    bool revoke = (p->email != NULL && strcasecmp(p->email, res->email) != 0) ||
                  (p->set_expires && p->expires_at != 0 && p->expires_at <= now_s());
    if (revoke)
        res->sessions_revoked = count_sessions(env->store, res->user_id);
    rc = zt_store_user_update(env->store, res->user_id, p);
    if (rc == 0 && revoke)
        rc = zt_store_user_bump_epoch(env->store, res->user_id, &res->epoch);
    if (rc != 0)
        return rc;
    if (p->email != NULL)
        snprintf(res->email, sizeof(res->email), "%s", p->email);
    describe_profile(p, res->change, sizeof(res->change));
    if (revoke)
        snprintf(res->change + strlen(res->change), sizeof(res->change) - strlen(res->change),
                 "; sessions revoked");
    else
        res->sessions_revoked = 0;
    return finish(env, who, ZT_ACCOUNT_UPDATE, revoke, res);
}

int zt_account_set_attrs(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         const char *json, zt_account_result *res)
{
    if (!args_ok(env, who, res) || json == NULL)
        return -EINVAL;
    int rc = note_user(env->store, user_id, res);
    if (rc != 0)
        return rc;
    char *cur = NULL;
    rc = zt_store_user_attrs_get(env->store, res->user_id, &cur);
    bool same = rc == 0 && strcmp(cur, json) == 0;
    free(cur);
    if (rc != 0 || same)
        return rc;
    rc = zt_store_user_attrs_set(env->store, res->user_id, json);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "attributes changed");
    return finish(env, who, ZT_ACCOUNT_UPDATE, false, res);
}

/* A user's group names, comma-joined into out (",a,b," so a lookup is one strstr). */
typedef struct group_set {
    char text[ZT_STORE_USER_GROUPS_MAX * 4 * (ZT_STORE_GROUP_MAX + 1) + 2];
    size_t len;
} group_set;

static int group_set_cb(void *ctx, const char *name)
{
    group_set *g = ctx;
    size_t n = strlen(name);
    if (g->len == 0)
        g->text[g->len++] = ',';
    if (g->len + n + 2 > sizeof(g->text))
        return 0; /* a user in more groups than that: the record names the first ones */
    memcpy(g->text + g->len, name, n);
    g->len += n;
    g->text[g->len++] = ',';
    g->text[g->len] = '\0';
    return 0;
}

/* Appends to out the names in a that are not in b: "+x" or "-x" each. */
static void diff_groups(const group_set *a, const group_set *b, char sign, char *out, size_t cap)
{
    const char *p = a->text;
    while (p != NULL && *p == ',' && p[1] != '\0') {
        const char *end = strchr(p + 1, ',');
        if (end == NULL)
            break;
        char key[ZT_STORE_GROUP_MAX + 3];
        int n = snprintf(key, sizeof(key), "%.*s", (int)(end - p + 1), p);
        size_t at = strlen(out);
        if (n > 0 && strstr(b->text, key) == NULL && at < cap)
            snprintf(out + at, cap - at, "%s%c%.*s", at ? " " : "", sign, (int)(end - p - 1),
                     p + 1);
        p = end;
    }
}

int zt_account_sync_groups(const zt_account_env *env, const zt_actor *who, const char *user_id,
                           const char *source, const char *const *groups, size_t n,
                           bool create_missing, zt_account_result *res)
{
    if (!args_ok(env, who, res))
        return -EINVAL;
    int rc = note_user(env->store, user_id, res);
    group_set *before = calloc(2, sizeof(group_set));
    if (before == NULL)
        return -ENOMEM;
    group_set *after = before + 1;
    if (rc == 0)
        rc = zt_store_user_groups(env->store, res->user_id, group_set_cb, before);
    bool changed = false;
    if (rc == 0)
        rc = zt_store_user_sync_groups(env->store, res->user_id, source, groups, n, create_missing,
                                       &changed);
    if (rc == 0 && changed)
        rc = zt_store_user_groups(env->store, res->user_id, group_set_cb, after);
    if (rc == 0 && changed) {
        diff_groups(after, before, '+', res->change, sizeof(res->change));
        diff_groups(before, after, '-', res->change, sizeof(res->change));
        if (res->change[0] == '\0')
            snprintf(res->change, sizeof(res->change), "groups of %s synced", source);
    }
    free(before);
    if (rc != 0 || !changed)
        return rc;
    return finish(env, who, ZT_ACCOUNT_SYNC_GROUPS, true, res);
}
