/* Admin API users: list, create, show, delete, disable, enable, reset MFA, revoke sessions, set
 * a password, list sessions. Every change is the account service's (session/account.h), as
 * with `ztgate user`: this file parses, checks the password policy, hashes on the pool (argon2id
 * never runs on the event loop) and answers. Session ids never leave the store: listings show a
 * prefix of the id's hash. */
#include <errno.h>
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "identity/password.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "lifecycle/lifecycle.h"
#include "session/session.h"

#define SESSION_PREFIX_CHARS 16 /* of the id hash, enough to tell sessions apart */

/* ---- JSON views of users and sessions ---- */

static int add_name_cb(void *ctx, const char *name)
{
    return json_array_append_new(ctx, json_string(name)) == 0 ? 0 : -ENOMEM;
}

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

static bool session_active(const zt_store_session *s, int64_t now)
{
    return !s->user_disabled && s->user_epoch == s->user_epoch_now && s->idle_expires_at > now &&
           s->absolute_expires_at > now;
}

static const char *session_status(const zt_store_session *s, int64_t now)
{
    if (s->user_disabled)
        return "disabled";
    if (s->user_epoch != s->user_epoch_now)
        return "revoked";
    return session_active(s, now) ? "active" : "expired";
}

typedef struct counts {
    unsigned recovery_left, recovery_total;
    unsigned sessions, sessions_active;
    int64_t now;
} counts;

static int count_recovery_cb(void *ctx, const zt_store_recovery *rc)
{
    counts *k = ctx;
    k->recovery_total++;
    k->recovery_left += rc->used_at == 0;
    return 0;
}

static int count_session_cb(void *ctx, const zt_store_session *s)
{
    counts *k = ctx;
    k->sessions++;
    k->sessions_active += session_active(s, k->now);
    return 0;
}

/* The fields every view of a user has, groups included (those the caller's grant may see). NULL
 * with *rc on failure. */
static json_t *user_json(zt_store *st, const zt_admin_grant *g, const zt_user *u, int *rc)
{
    json_t *groups = json_array();
    *rc = groups ? zt_admins_user_groups(st, g, u->id, add_name_cb, groups) : -ENOMEM;
    if (*rc != 0) {
        json_decref(groups);
        return NULL;
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:b, s:s, s:o, s:b, s:o, s:I, s:o, s:o, s:s, s:o, s:s?, s:o}", "id", u->id,
        "email", u->email, "name", u->name, "disabled", u->disabled, "status",
        zt_lifecycle_status(u, now_s()), "groups", groups, "password_set",
        u->password_hash[0] != '\0', "password_changed_at",
        zt_admin_json_time(u->password_changed_at), "revocation_epoch",
        (json_int_t)u->revocation_epoch, "created_at", zt_admin_json_time(u->created_at),
        "updated_at", zt_admin_json_time(u->updated_at), "source", u->source, "expires_at",
        zt_admin_json_time(u->expires_at), "sponsor", u->sponsor[0] ? u->sponsor : NULL,
        "last_sign_in_at", zt_admin_json_time(u->last_sign_in_at));
    *rc = j ? 0 : -ENOMEM;
    return j;
}

/* The user's Temporary Access Pass (never the pass): null, or status, expiry and uses. */
static json_t *tap_view(const zt_store_tap *t, bool has)
{
    if (!has)
        return json_null();
    return json_pack("{s:s, s:o, s:i, s:i}", "status", zt_store_tap_status(t, now_s()),
                     "expires_at", zt_admin_json_time(t->expires_at), "uses", t->uses, "uses_left",
                     t->uses == ZT_STORE_TAP_UNLIMITED ? 0 : t->uses_left);
}

/* user_json plus MFA state and session counts (GET /users/{u} and the actions). */
static json_t *user_detail(zt_store *st, const zt_admin_grant *g, const zt_user *u, int *rc)
{
    json_t *j = user_json(st, g, u, rc);
    if (j == NULL)
        return NULL;
    counts k = {.now = now_s()};
    zt_store_totp totp;
    *rc = zt_store_totp_get(st, u->id, &totp);
    bool has_totp = *rc == 0;
    zt_store_totp_dispose(&totp);
    if (*rc == -ENOENT)
        *rc = 0;
    if (*rc == 0)
        *rc = zt_store_recovery_list(st, u->id, count_recovery_cb, &k);
    if (*rc == 0)
        *rc = zt_store_session_list_by_user(st, u->id, count_session_cb, &k);
    zt_store_tap tap;
    int trc = *rc == 0 ? zt_store_tap_get(st, u->id, &tap) : 0;
    if (*rc == 0 && trc != 0 && trc != -ENOENT)
        *rc = trc;
    if (*rc == 0 && json_object_set_new(j, "temporary_access_pass", tap_view(&tap, trc == 0)) != 0)
        *rc = -ENOMEM;
    if (*rc == 0 &&
        (json_object_set_new(j, "has_totp", json_boolean(has_totp)) != 0 ||
         json_object_set_new(j, "recovery_codes_left", json_integer(k.recovery_left)) != 0 ||
         json_object_set_new(j, "recovery_codes_total", json_integer(k.recovery_total)) != 0 ||
         json_object_set_new(j, "sessions", json_integer(k.sessions)) != 0 ||
         json_object_set_new(j, "sessions_active", json_integer(k.sessions_active)) != 0))
        *rc = -ENOMEM;
    if (*rc != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- shared steps ---- */

static zt_store *store_of(zt_admin_call *c)
{
    return c->r->svc->store;
}

static void note_user(zt_admin_call *c, const zt_user *u)
{
    snprintf(c->user_id, sizeof(c->user_id), "%s", u->id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", u->email);
}

/* Resolve {u} into *u, or finish the call with 404/500 and return false. */
static bool load_target(zt_admin_call *c, zt_user *u)
{
    int rc = zt_admin_find_user(store_of(c), c->route.user, u);
    if (rc == 0) {
        note_user(c, u);
        return true;
    }
    /* Name the target as given (it is the admin's own input, not a secret). */
    if (strchr(c->route.user, '@') != NULL)
        snprintf(c->user_email, sizeof(c->user_email), "%s", c->route.user);
    zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", c->route.user);
    zt_user_dispose(u);
    return false;
}

/* Parse the body against fields; on a refusal finish with 400 and return false. */
static bool parse_body(zt_admin_call *c, const zt_admin_field *fields, size_t n)
{
    zt_admin_error err;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, fields, n, &c->body, &err) == 0)
        return true;
    zt_admin_fail(c, err.status, err.code, "%s", err.message);
    return false;
}

static const char *body_str(const zt_admin_call *c, const char *name)
{
    return json_string_value(json_object_get(c->body, name));
}

/* Wipe a password held in the parsed body as soon as the pool has its own copy. */
static void wipe_body_password(zt_admin_call *c)
{
    json_t *pw = json_object_get(c->body, "password");
    if (json_is_string(pw))
        zt_wipe((void *)json_string_value(pw), json_string_length(pw));
    json_object_del(c->body, "password");
}

/* ---- list ---- */

typedef struct user_vec {
    zt_user *v;
    size_t n, cap;
} user_vec;

/* Copy out: the store may not be called from inside its own callback. */
static int collect_user_cb(void *ctx, const zt_user *u)
{
    user_vec *vec = ctx;
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 32;
        zt_user *v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n] = *u;
    /* The list never shows a hash; keep only whether one is set. */
    if (vec->v[vec->n].password_hash[0] != '\0') {
        zt_wipe(vec->v[vec->n].password_hash, sizeof(vec->v[vec->n].password_hash));
        vec->v[vec->n].password_hash[0] = '*';
    }
    vec->n++;
    return 0;
}

static void user_list(zt_admin_call *c)
{
    user_vec vec = {0};
    zt_store *st = store_of(c);
    json_t *arr = json_array();
    int rc = arr ? zt_store_user_list(st, collect_user_cb, &vec) : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < vec.n; i++) {
        if (!zt_admin_user_visible(c, vec.v[i].id))
            continue;
        json_t *j = user_json(st, &c->grant, &vec.v[i], &rc);
        if (j != NULL && json_array_append_new(arr, j) != 0)
            rc = -ENOMEM;
    }
    for (size_t i = 0; i < vec.n; i++)
        zt_user_dispose(&vec.v[i]);
    free(vec.v);
    if (rc != 0) {
        json_decref(arr);
        zt_admin_store_fail(c, rc, "user", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "users", arr));
}

/* ---- password jobs (create with a password, set a password) ---- */

static zt_password_policy policy_of(const zt_local_req *r)
{
    zt_password_policy p = ZT_PASSWORD_POLICY_DEFAULT;
    if (r->cfg != NULL && r->cfg->auth.password_min_chars > 0)
        p.min_chars = r->cfg->auth.password_min_chars;
    if (r->cfg != NULL && r->cfg->auth.password_max_chars > 0)
        p.max_chars = r->cfg->auth.password_max_chars;
    return p;
}

/* Check the body's password against the policy; finish with 400 and return false when it is
 * refused. */
static bool password_acceptable(zt_admin_call *c, const char *pw, size_t len)
{
    zt_password_policy policy = policy_of(c->r);
    const char *why = NULL;
    int v = zt_password_check(pw, len, &policy, c->r->svc->breach, &why);
    if (v == ZT_PASSWORD_OK)
        return true;
    if (v < 0)
        zt_admin_fail(c, 500, "internal", "out of memory checking the password");
    else
        zt_admin_fail(c, 400, "invalid_field", "password refused: %s",
                      why != NULL ? why : "it does not meet the password policy");
    return false;
}

static void create_finish(zt_admin_call *c, const char *hash);
static void password_finish(zt_admin_call *c, const char *hash);

static void hash_done(void *ctx, int result, const char *encoded)
{
    zt_admin_call *c = ctx;
    if (zt_local_cancelled(c->r)) {
        zt_admin_fail(c, 503, "cancelled",
                      "the client went away before the password was hashed; nothing changed");
        return;
    }
    if (result == -ECANCELED) {
        zt_admin_fail(c, 503, "busy", "the password could not be hashed now; try again");
        return;
    }
    if (result != 0 || encoded == NULL) {
        zt_admin_fail(c, 500, "internal", "hashing the password failed");
        return;
    }
    if (c->route.ep == ZT_ADMIN_EP_USERS)
        create_finish(c, encoded);
    else
        password_finish(c, encoded);
}

/* Queue the body's password for hashing; hash_done finishes. On a refusal finish now. */
static void hash_then_finish(zt_admin_call *c)
{
    json_t *pw = json_object_get(c->body, "password");
    int rc = zt_password_hash_async(c->r->svc->passwords, c->r->loop, json_string_value(pw),
                                    json_string_length(pw), hash_done, c);
    wipe_body_password(c);
    if (rc == 0)
        return;
    if (rc == -EBUSY)
        zt_admin_fail(c, 503, "busy", "too many passwords are being hashed; try again");
    else if (rc == -E2BIG)
        zt_admin_fail(c, 400, "invalid_field", "password is too long");
    else
        zt_admin_fail(c, 500, "internal", "the password could not be queued for hashing");
}

/* ---- create ---- */

static const zt_admin_field create_fields[] = {
    {"email", ZT_ADMIN_F_STRING, true, ZT_STORE_EMAIL_MAX, 0},
    {"name", ZT_ADMIN_F_STRING, false, ZT_STORE_NAME_MAX, 0},
    {"groups", ZT_ADMIN_F_STRINGS, false, ZT_STORE_GROUP_MAX, ZT_STORE_USER_GROUPS_MAX},
    {"password", ZT_ADMIN_F_STRING, false, ZT_PASSWORD_MAX_BYTES, 0},
    {"expires_at", ZT_ADMIN_F_STRING, false, 64, 0},
    {"sponsor", ZT_ADMIN_F_STRING, false, ZT_STORE_EMAIL_MAX, 0},
};

/* expires_at and sponsor of a body (create, profile): "YYYY-MM-DD" (through that day, UTC), an
 * RFC 3339 date-time or "never"; an e-mail address or "none". false after a 400. */
static bool lifecycle_fields(zt_admin_call *c, int64_t *expires, const char **sponsor)
{
    const char *e = body_str(c, "expires_at"), *sp = body_str(c, "sponsor");
    *expires = 0;
    *sponsor = NULL;
    if (e != NULL && !zt_lifecycle_parse_expiry(e, expires)) {
        zt_admin_fail(c, 400, "invalid_field",
                      "expires_at: not a date (YYYY-MM-DD), an RFC 3339 date-time or \"never\"");
        return false;
    }
    if (sp != NULL) {
        *sponsor = strcmp(sp, "none") == 0 ? "" : sp;
        if (!zt_lifecycle_sponsor_ok(*sponsor)) {
            zt_admin_fail(c, 400, "invalid_field",
                          "sponsor: not an e-mail address (\"none\" clears it)");
            return false;
        }
    }
    return true;
}

/* Group names from the body (pointers into c->body); n 0 when none. */
static size_t body_groups(const zt_admin_call *c, const char *out[ZT_STORE_USER_GROUPS_MAX])
{
    json_t *arr = json_object_get(c->body, "groups");
    size_t i, n = 0;
    json_t *g;
    json_array_foreach(arr, i, g)
    {
        if (n < ZT_STORE_USER_GROUPS_MAX)
            out[n++] = json_string_value(g);
    }
    return n;
}

static void create_finish(zt_admin_call *c, const char *hash)
{
    const char *groups[ZT_STORE_USER_GROUPS_MAX];
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    int64_t expires = 0;
    const char *sponsor = NULL;
    (void)lifecycle_fields(c, &expires, &sponsor); /* checked before the hash: cannot fail */
    zt_account_new n = {.email = body_str(c, "email"),
                        .name = body_str(c, "name"),
                        .password_hash = hash,
                        .groups = groups,
                        .n_groups = body_groups(c, groups),
                        .sponsor = sponsor,
                        .expires_at = expires};
    zt_account_result res;
    int rc = zt_account_create(&env, &who, &n, &res);
    if (rc == -ENOENT && res.missing_group[0] != '\0') {
        zt_admin_fail(c, 400, "invalid_field", "groups: group %s not found", res.missing_group);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", rc == -EEXIST ? n.email : NULL);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->user_id, sizeof(c->user_id), "%s", res.user_id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", res.email);
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_user u;
    rc = zt_store_user_get_by_id(store_of(c), res.user_id, &u);
    json_t *j = rc == 0 ? user_detail(store_of(c), &c->grant, &u, &rc) : NULL;
    zt_user_dispose(&u);
    if (j == NULL)
        zt_admin_store_fail(c, rc, "user", NULL);
    else
        zt_admin_finish(c, 201, j);
}

/* A scoped admin creates users inside their scope only: in at least one scope group, and in
 * no group outside it. */
static bool groups_in_scope(zt_admin_call *c)
{
    if (!c->scoped)
        return true;
    const char *groups[ZT_STORE_USER_GROUPS_MAX];
    size_t n = body_groups(c, groups);
    bool ok = n > 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = zt_admins_group_in_scope(&c->grant, groups[i]) == 1;
    if (!ok)
        zt_admin_fail(c, 403, "out_of_scope",
                      "your role is scoped to groups: put the new user in one or more of them, "
                      "and in no other group");
    return ok;
}

static void user_create(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_CREATE;
    c->action = "user.create";
    if (!parse_body(c, create_fields, sizeof(create_fields) / sizeof(create_fields[0])))
        return;
    const char *email = body_str(c, "email");
    snprintf(c->user_email, sizeof(c->user_email), "%s", email);
    int64_t expires = 0;
    const char *sponsor = NULL;
    if (!lifecycle_fields(c, &expires, &sponsor))
        return;
    if (!groups_in_scope(c))
        return;
    zt_store *st = store_of(c);
    /* Cheap refusals first, so a duplicate or a typo costs no hash (as the CLI does). */
    zt_user u;
    int rc = zt_store_user_get_by_email(st, email, &u);
    zt_user_dispose(&u);
    if (rc == 0) {
        zt_admin_fail(c, 409, "conflict", "user %s already exists", email);
        return;
    }
    if (rc != -ENOENT) {
        zt_admin_store_fail(c, rc, "user", NULL);
        return;
    }
    const char *groups[ZT_STORE_USER_GROUPS_MAX];
    size_t n = body_groups(c, groups);
    for (size_t i = 0; i < n; i++) {
        zt_store_group g;
        rc = zt_store_group_get(st, groups[i], &g);
        if (rc == -ENOENT) {
            zt_admin_fail(c, 400, "invalid_field",
                          "groups: group %s not found (create it first: POST /api/v1/groups)",
                          groups[i]);
            return;
        }
        if (rc != 0) {
            zt_admin_store_fail(c, rc, "group", NULL);
            return;
        }
    }
    json_t *pw = json_object_get(c->body, "password");
    if (pw == NULL) {
        create_finish(c, NULL);
        return;
    }
    if (password_acceptable(c, json_string_value(pw), json_string_length(pw)))
        hash_then_finish(c);
}

/* ---- changes to one user ---- */

static const zt_admin_field password_fields[] = {
    {"password", ZT_ADMIN_F_STRING, true, ZT_PASSWORD_MAX_BYTES, 0},
};

/* Answer an action: {"user": detail, "sessions_revoked": n, "revocation_epoch": e}. */
static void action_finish(zt_admin_call *c, const char *id, uint64_t revoked)
{
    zt_store *st = store_of(c);
    zt_user u;
    memset(&u, 0, sizeof(u));
    int rc = zt_store_user_get_by_id(st, id, &u);
    json_t *j = rc == 0 ? user_detail(st, &c->grant, &u, &rc) : NULL;
    int64_t epoch = u.revocation_epoch;
    zt_user_dispose(&u);
    if (j == NULL) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    zt_admin_finish(c, 200,
                    json_pack("{s:o, s:I, s:I}", "user", j, "sessions_revoked", (json_int_t)revoked,
                              "revocation_epoch", (json_int_t)epoch));
}

/* Let the account service apply fn (hash only for a password) and answer with the user. */
static void account_act(zt_admin_call *c, zt_account_op op, const char *hash)
{
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc;
    switch (op) {
    case ZT_ACCOUNT_SET_PASSWORD:
        rc = zt_account_set_password(&env, &who, c->user_id, hash, &res);
        break;
    case ZT_ACCOUNT_DISABLE:
        rc = zt_account_disable(&env, &who, c->user_id, &res);
        break;
    case ZT_ACCOUNT_ENABLE:
        rc = zt_account_enable(&env, &who, c->user_id, &res);
        break;
    case ZT_ACCOUNT_RESET_MFA:
        rc = zt_account_reset_mfa(&env, &who, c->user_id, &res);
        break;
    case ZT_ACCOUNT_REVOKE_SESSIONS:
        rc = zt_account_revoke_sessions(&env, &who, c->user_id, &res);
        break;
    default:
        rc = zt_account_delete(&env, &who, c->user_id, &res);
        break;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    if (op == ZT_ACCOUNT_DELETE)
        zt_admin_finish(c, 204, NULL);
    else
        action_finish(c, res.user_id, res.sessions_revoked);
}

static void password_finish(zt_admin_call *c, const char *hash)
{
    account_act(c, ZT_ACCOUNT_SET_PASSWORD, hash);
}

static void user_password(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_PASSWORD_RESET;
    c->action = "user.password";
    zt_user u;
    if (!parse_body(c, password_fields, 1) || !load_target(c, &u))
        return;
    zt_user_dispose(&u);
    json_t *pw = json_object_get(c->body, "password");
    if (password_acceptable(c, json_string_value(pw), json_string_length(pw)))
        hash_then_finish(c);
}

static void user_act(zt_admin_call *c, zt_account_op op)
{
    static const struct {
        const char *action;
        unsigned activity;
    } acts[ZT_ACCOUNT_N_OPS] = {
        [ZT_ACCOUNT_DISABLE] = {"user.disable", ZT_ADMIN_ACT_DISABLE},
        [ZT_ACCOUNT_ENABLE] = {"user.enable", ZT_ADMIN_ACT_ENABLE},
        [ZT_ACCOUNT_RESET_MFA] = {"user.reset_mfa", ZT_ADMIN_ACT_MFA_DISABLE},
        [ZT_ACCOUNT_REVOKE_SESSIONS] = {"user.revoke_sessions", ZT_ADMIN_ACT_OTHER},
    };
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = acts[op].activity;
    c->action = acts[op].action;
    zt_user u;
    /* Actions take no fields: an empty body or {}. */
    if (!parse_body(c, NULL, 0) || !load_target(c, &u))
        return;
    zt_user_dispose(&u);
    account_act(c, op, NULL);
}

static void user_delete(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_DELETE;
    c->action = "user.delete";
    zt_user u;
    if (!load_target(c, &u))
        return;
    zt_user_dispose(&u);
    account_act(c, ZT_ACCOUNT_DELETE, NULL);
}

/* ---- profile: name, expiry, sponsor ---- */

static const zt_admin_field profile_fields[] = {
    {"name", ZT_ADMIN_F_STRING, false, ZT_STORE_NAME_MAX, 0},
    {"expires_at", ZT_ADMIN_F_STRING, false, 64, 0},
    {"sponsor", ZT_ADMIN_F_STRING, false, ZT_STORE_EMAIL_MAX, 0},
};

/* POST /users/{u}/profile: the fields given change (an expiry in the past ends the sessions). */
static void user_profile(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "user.update";
    zt_user u;
    int64_t expires = 0;
    const char *sponsor = NULL;
    if (!parse_body(c, profile_fields, sizeof(profile_fields) / sizeof(profile_fields[0])) ||
        !lifecycle_fields(c, &expires, &sponsor) || !load_target(c, &u))
        return;
    zt_user_dispose(&u);
    zt_store_user_profile p = {.name = body_str(c, "name"),
                               .sponsor = sponsor,
                               .set_expires = body_str(c, "expires_at") != NULL,
                               .expires_at = expires};
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc = zt_account_update(&env, &who, c->user_id, &p, &res);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    action_finish(c, res.user_id, res.sessions_revoked);
}

/* ---- Temporary Access Pass ---- */

static const zt_admin_field tap_fields[] = {
    {"lifetime_minutes", ZT_ADMIN_F_INT, false, ZT_STORE_TAP_LIFETIME_MAX_S / 60, 0},
    {"uses", ZT_ADMIN_F_INT, false, ZT_STORE_TAP_USES_MAX, 0},
};

static int64_t body_int(const zt_admin_call *c, const char *name, int64_t dflt)
{
    json_t *v = json_object_get(c->body, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* POST: a new pass, shown once in the answer (201); it replaces any earlier one. */
static void tap_issue(zt_admin_call *c)
{
    c->action = "user.tap_issue";
    zt_user u;
    if (!parse_body(c, tap_fields, sizeof(tap_fields) / sizeof(tap_fields[0])) ||
        !load_target(c, &u))
        return;
    zt_user_dispose(&u);
    int64_t minutes = body_int(c, "lifetime_minutes", ZT_STORE_TAP_LIFETIME_DEFAULT_S / 60);
    int uses = (int)body_int(c, "uses", 1);
    if (minutes * 60 < ZT_STORE_TAP_LIFETIME_MIN_S) {
        zt_admin_fail(c, 400, "invalid_field", "lifetime_minutes must be from %d to %d",
                      ZT_STORE_TAP_LIFETIME_MIN_S / 60, ZT_STORE_TAP_LIFETIME_MAX_S / 60);
        return;
    }
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    int64_t expires = 0;
    int rc = zt_account_tap_issue(&env, &who, c->user_id, minutes * 60, uses, pass, &expires, &res);
    if (rc == -EPERM) {
        zt_admin_fail(c, 409, "conflict", "user %s is disabled: enable the user first",
                      c->user_email);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (!zt_admin_account_done(c, &res)) {
        zt_wipe(pass, sizeof(pass));
        return;
    }
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:i}", "user_id", res.user_id, "email",
                          res.email, "pass", pass, "expires_at", zt_admin_json_time(expires),
                          "lifetime_minutes", (json_int_t)minutes, "uses", uses);
    zt_wipe(pass, sizeof(pass));
    zt_admin_finish(c, 201, j);
}

static void tap_revoke(zt_admin_call *c)
{
    c->action = "user.tap_revoke";
    zt_user u;
    if (!load_target(c, &u))
        return;
    zt_user_dispose(&u);
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc = zt_account_tap_revoke(&env, &who, c->user_id, &res);
    if (rc == -ENOENT) {
        zt_admin_fail(c, 404, "not_found", "user %s has no temporary access pass", c->user_email);
        return;
    }
    if (rc == -EALREADY) {
        zt_admin_fail(c, 409, "conflict", "the temporary access pass of %s is revoked already",
                      c->user_email);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (!zt_admin_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_admin_finish(c, 204, NULL);
}

static void user_tap(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    if (c->r->method == HTTP_DELETE)
        tap_revoke(c);
    else
        tap_issue(c);
}

/* ---- reads of one user ---- */

static void user_get(zt_admin_call *c)
{
    zt_user u;
    if (!load_target(c, &u))
        return;
    int rc;
    json_t *j = user_detail(store_of(c), &c->grant, &u, &rc);
    zt_user_dispose(&u);
    if (j == NULL)
        zt_admin_store_fail(c, rc, "user", c->route.user);
    else
        zt_admin_finish(c, 200, j);
}

typedef struct sessions_out {
    json_t *arr;
    int64_t now;
} sessions_out;

static int session_row_cb(void *ctx, const zt_store_session *s)
{
    sessions_out *o = ctx;
    char prefix[SESSION_PREFIX_CHARS + 1];
    snprintf(prefix, sizeof(prefix), "%.*s", SESSION_PREFIX_CHARS, s->id_hash);
    char amr[ZT_AMR_TEXT_MAX + 1];
    zt_amr_text(zt_amr_parse(s->amr, s->mfa_time), amr);
    json_t *j =
        json_pack("{s:s, s:s, s:o, s:o, s:o, s:s?, s:s?, s:s?, s:o, s:o, s:s?, s:s}",
                  "id_hash_prefix", prefix, "status", session_status(s, o->now), "created_at",
                  zt_admin_json_time(s->created_at), "auth_time", zt_admin_json_time(s->auth_time),
                  "mfa_time", zt_admin_json_time(s->mfa_time), "mfa_method",
                  s->mfa_method[0] ? s->mfa_method : NULL, "ip", s->ip[0] ? s->ip : NULL,
                  "user_agent", s->user_agent[0] ? s->user_agent : NULL, "idle_expires_at",
                  zt_admin_json_time(s->idle_expires_at), "absolute_expires_at",
                  zt_admin_json_time(s->absolute_expires_at), "device_id",
                  s->device_id[0] ? s->device_id : NULL, "amr", amr);
    return j != NULL && json_array_append_new(o->arr, j) == 0 ? 0 : -ENOMEM;
}

static void user_sessions(zt_admin_call *c)
{
    zt_user u;
    if (!load_target(c, &u))
        return;
    sessions_out o = {.arr = json_array(), .now = now_s()};
    int rc = o.arr ? zt_store_session_list_by_user(store_of(c), u.id, session_row_cb, &o) : -ENOMEM;
    zt_user_dispose(&u);
    if (rc != 0) {
        json_decref(o.arr);
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    zt_admin_finish(c, 200,
                    json_pack("{s:s, s:s, s:o}", "user_id", c->user_id, "email", c->user_email,
                              "sessions", o.arr));
}

void zt_admin_users(zt_admin_call *c)
{
    bool post = c->r->method == HTTP_POST;
    switch (c->route.ep) {
    case ZT_ADMIN_EP_USERS:
        if (post)
            user_create(c);
        else
            user_list(c);
        return;
    case ZT_ADMIN_EP_USER:
        if (c->r->method == HTTP_DELETE)
            user_delete(c);
        else
            user_get(c);
        return;
    case ZT_ADMIN_EP_USER_DISABLE:
        user_act(c, ZT_ACCOUNT_DISABLE);
        return;
    case ZT_ADMIN_EP_USER_ENABLE:
        user_act(c, ZT_ACCOUNT_ENABLE);
        return;
    case ZT_ADMIN_EP_USER_RESET_MFA:
        user_act(c, ZT_ACCOUNT_RESET_MFA);
        return;
    case ZT_ADMIN_EP_USER_REVOKE:
        user_act(c, ZT_ACCOUNT_REVOKE_SESSIONS);
        return;
    case ZT_ADMIN_EP_USER_PASSWORD:
        user_password(c);
        return;
    case ZT_ADMIN_EP_USER_SESSIONS:
        user_sessions(c);
        return;
    case ZT_ADMIN_EP_USER_TAP:
        user_tap(c);
        return;
    case ZT_ADMIN_EP_USER_PROFILE:
        user_profile(c);
        return;
    default:
        zt_admin_fail(c, 404, "not_found", "no such endpoint");
        return;
    }
}
