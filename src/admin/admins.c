/* Admin API: named administrators and personal tokens (session/admins.h does the work; this
 * file reads requests and writes answers). GET/POST /api/v1/admins, DELETE /api/v1/admins/{u},
 * POST /api/v1/admins/first (the bootstrap token), GET/POST /api/v1/tokens,
 * DELETE /api/v1/tokens/{id}. admin.c has checked the endpoint's permission already; a token
 * call checks its own (anyone manages their own tokens, the admins permission anyone's). */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "admin/admin.h"
#include "lib/secure.h"
#include "lib/time.h"

static zt_store *store_of(zt_admin_call *c)
{
    return c->r->svc->store;
}

static void note_change(zt_admin_call *c, const zt_account_result *res)
{
    snprintf(c->user_id, sizeof(c->user_id), "%s", res->user_id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", res->email);
    snprintf(c->change, sizeof(c->change), "%s", res->change);
}

static bool parse_body(zt_admin_call *c, const zt_admin_field *f, size_t n)
{
    zt_admin_error err;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, f, n, &c->body, &err) == 0)
        return true;
    zt_admin_fail(c, err.status, err.code, "%s", err.message);
    return false;
}

static const char *body_str(const zt_admin_call *c, const char *name)
{
    return json_string_value(json_object_get(c->body, name));
}

/* One query parameter among `keys` (each at most once, percent-decoded); false when answered. */
static bool parse_query(zt_admin_call *c, const char *const *keys,
                        char (*vals)[ZT_ADMIN_SEG_MAX + 1], size_t n)
{
    const char *q = c->r->query, *end = q + c->r->query_len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        size_t kn = (size_t)((eq ? eq : stop) - q);
        size_t k = 0;
        while (k < n && !(strlen(keys[k]) == kn && memcmp(q, keys[k], kn) == 0))
            k++;
        if (stop > q && (k == n || vals[k][0] != '\0' || eq == NULL ||
                         zt_admin_seg_decode(eq + 1, (size_t)(stop - eq - 1), vals[k],
                                             ZT_ADMIN_SEG_MAX + 1) != 0)) {
            zt_admin_fail(c, 400, "invalid_query",
                          "unknown or repeated query parameter, or one without a value");
            return false;
        }
        q = stop + (amp ? 1 : 0);
    }
    return true;
}

static json_t *perms_json(zt_perms p)
{
    json_t *arr = json_array();
    for (int i = 0; arr != NULL && i < ZT_PERM_COUNT; i++)
        if (p & (1u << i))
            json_array_append_new(arr, json_string(zt_admins_perm_name(1u << i)));
    return arr;
}

/* ---- GET /api/v1/admins ---- */

typedef struct admin_rows {
    zt_admin_call *c;
    json_t *arr;
    json_t *cur; /* the current person's roles array */
    char cur_id[ZT_STORE_ID_LEN + 1];
} admin_rows;

static int admin_row_cb(void *ctx, const zt_store_admin_role *r)
{
    admin_rows *rows = ctx;
    if (!zt_admin_user_visible(rows->c, r->user_id))
        return 0;
    if (strcmp(rows->cur_id, r->user_id) != 0) {
        rows->cur = json_array();
        json_t *person = json_pack("{s:s, s:s, s:o}", "user_id", r->user_id, "email", r->email,
                                   "roles", rows->cur);
        if (person == NULL || json_array_append_new(rows->arr, person) != 0)
            return -ENOMEM;
        snprintf(rows->cur_id, sizeof(rows->cur_id), "%s", r->user_id);
    }
    json_t *role = json_pack("{s:s, s:o, s:s, s:o}", "role", r->role, "scope",
                             r->scope[0] ? json_string(r->scope) : json_null(), "granted_by",
                             r->created_by, "granted_at", zt_admin_json_time(r->created_at));
    return role != NULL && json_array_append_new(rows->cur, role) == 0 ? 0 : -ENOMEM;
}

static void admins_list(zt_admin_call *c)
{
    admin_rows rows = {.c = c, .arr = json_array()};
    int rc = rows.arr ? zt_store_admin_role_list(store_of(c), NULL, admin_row_cb, &rows) : -ENOMEM;
    if (rc != 0) {
        json_decref(rows.arr);
        zt_admin_store_fail(c, rc, "admins", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "admins", rows.arr));
}

/* ---- POST /api/v1/admins {user, role, scope} ---- */

static const zt_admin_field grant_fields[] = {
    {"user", ZT_ADMIN_F_STRING, true, ZT_STORE_EMAIL_MAX, 0},
    {"role", ZT_ADMIN_F_STRING, true, ZT_STORE_ROLE_MAX, 0},
    {"scope", ZT_ADMIN_F_STRING, false, ZT_STORE_GROUP_MAX, 0},
};

/* {u} or a body's user into its id (the record itself is wiped at once: it holds a hash). */
static bool find_user(zt_admin_call *c, const char *who, char id[ZT_STORE_ID_LEN + 1])
{
    zt_user u;
    int rc = zt_admin_find_user_in_scope(c, who, &u);
    snprintf(id, ZT_STORE_ID_LEN + 1, "%s", rc == 0 ? u.id : "");
    zt_user_dispose(&u);
    if (rc == 0)
        return true;
    zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", who);
    return false;
}

static bool role_of(zt_admin_call *c, const char *s, zt_admin_role *out)
{
    if (zt_admins_role_parse(s, out) == 0)
        return true;
    zt_admin_fail(c, 400, "invalid_field",
                  "role must be global_admin, security_operator, helpdesk or auditor");
    return false;
}

static void grant_fail(zt_admin_call *c, int rc, const zt_account_result *res, const char *who)
{
    if (rc == -ENOENT && res->missing_group[0] != '\0')
        zt_admin_fail(c, 400, "invalid_field", "scope: group %s not found", res->missing_group);
    else if (rc == -EEXIST)
        zt_admin_fail(c, 409, "conflict", "%s holds this role with this scope already", who);
    else if (rc == -ENOSPC)
        zt_admin_fail(c, 400, "invalid_field", "a person may hold roles in at most %d groups",
                      ZT_ADMINS_SCOPES_MAX);
    else
        zt_admin_store_fail(c, rc, "user", who);
}

static void admins_add(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "admin.grant";
    zt_admin_role role;
    char uid[ZT_STORE_ID_LEN + 1];
    if (!parse_body(c, grant_fields, sizeof(grant_fields) / sizeof(grant_fields[0])) ||
        !role_of(c, body_str(c, "role"), &role) || !find_user(c, body_str(c, "user"), uid))
        return;
    const char *scope = body_str(c, "scope");
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc = zt_admins_grant(&env, &who, uid, role, scope, &res);
    snprintf(c->group, sizeof(c->group), "%s", scope ? scope : "");
    if (rc != 0) {
        grant_fail(c, rc, &res, body_str(c, "user"));
        return;
    }
    note_change(c, &res);
    (void)zt_admin_account_done(c, &res);
    zt_admin_finish(c, 201,
                    json_pack("{s:s, s:s, s:s, s:o}", "user_id", res.user_id, "email", res.email,
                              "role", zt_admins_role_name(role), "scope",
                              res.group[0] ? json_string(res.group) : json_null()));
}

/* ---- DELETE /api/v1/admins/{u}?role=R&scope=G ---- */

static void admin_remove(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "admin.revoke";
    static const char *const keys[] = {"role", "scope"};
    char vals[2][ZT_ADMIN_SEG_MAX + 1] = {"", ""};
    zt_admin_role role = ZT_ROLE_COUNT;
    char uid[ZT_STORE_ID_LEN + 1];
    if (!parse_query(c, keys, vals, 2) || (vals[0][0] != '\0' && !role_of(c, vals[0], &role)) ||
        !find_user(c, c->route.user, uid))
        return;
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    int rc = zt_admins_revoke(&env, &who, uid, role, vals[1][0] != '\0' ? vals[1] : NULL, &res);
    snprintf(c->group, sizeof(c->group), "%s", vals[1]);
    if (rc == -ENOENT) {
        zt_admin_fail(c, 404, "not_found", "%s holds no such role", c->route.user);
        return;
    }
    if (rc == -EMLINK) { /* the service's guard, the same through every front-end */
        zt_admin_fail(c, 409, "last_global_admin",
                      "%s is the last global admin: grant global_admin to someone else first",
                      c->route.user);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    note_change(c, &res);
    (void)zt_admin_account_done(c, &res);
    zt_admin_finish(c, 200,
                    json_pack("{s:s, s:s, s:s}", "user_id", res.user_id, "email", res.email,
                              "change", res.change));
}

/* ---- POST /api/v1/admins/first {user} (the bootstrap token) ---- */

static const zt_admin_field first_fields[] = {
    {"user", ZT_ADMIN_F_STRING, true, ZT_STORE_EMAIL_MAX, 0},
};

static json_t *token_json(const zt_store_admin_token *t, int64_t now)
{
    const char *status = t->revoked_at != 0     ? "revoked"
                         : now >= t->expires_at ? "expired"
                                                : "active";
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", t->id,
                     "user_id", t->user_id, "email", t->email, "name", t->name, "scopes",
                     perms_json(t->scopes), "status", status, "created_by", t->created_by, "parent",
                     t->parent_id[0] ? json_string(t->parent_id) : json_null(), "created_at",
                     zt_admin_json_time(t->created_at), "expires_at",
                     zt_admin_json_time(t->expires_at), "last_used_at",
                     zt_admin_json_time(t->last_used_at), "revoked_at",
                     zt_admin_json_time(t->revoked_at));
}

/* The tokens a revocation took with it, as far as the store named them. */
static json_t *cascade_json(const zt_store_admin_cascade *more)
{
    json_t *a = json_array();
    size_t named = more->n < ZT_STORE_ADMIN_CASCADE_NAMED ? more->n : ZT_STORE_ADMIN_CASCADE_NAMED;
    for (size_t i = 0; a != NULL && i < named; i++)
        json_array_append_new(a, json_string(more->named[i].id));
    return a;
}

/* 201 with the token shown once; the answer buffer is wiped after sending (admin.c). */
static void token_answer(zt_admin_call *c, const zt_store_admin_token *t, char *tok)
{
    json_t *j = token_json(t, zt_wall_us() / 1000000);
    if (j != NULL)
        json_object_set_new(j, "token", json_string(tok));
    zt_wipe(tok, ZT_ADMINS_TOKEN_LEN + 1);
    zt_admin_finish(c, 201, j);
}

/* The first admin's user; on a fresh install nobody exists yet, so an email that names no
 * user creates one (no password: the first token sets one, or issues a TAP). */
static bool first_user(zt_admin_call *c, const zt_account_env *env, const zt_actor *who,
                       const char *user, char uid[ZT_STORE_ID_LEN + 1])
{
    zt_user u;
    int rc = zt_admin_find_user(store_of(c), user, &u);
    snprintf(uid, ZT_STORE_ID_LEN + 1, "%s", rc == 0 ? u.id : "");
    zt_user_dispose(&u);
    if (rc == -EINVAL)
        rc = -ENOENT; /* a user id of the wrong shape names nobody */
    if (rc == -ENOENT && strchr(user, '@') != NULL) {
        uint64_t n = 0;
        rc = zt_store_admin_count(store_of(c), &n);
        if (rc == 0 && n > 0) {
            zt_admin_fail(c, 409, "admin_exists",
                          "an administrator exists already: the bootstrap token makes only the "
                          "first");
            return false;
        }
        zt_account_result made = {.audit_rc = 0};
        zt_account_new nu = {.email = user, .name = ""};
        rc = rc ? rc : zt_account_create(env, who, &nu, &made);
        snprintf(uid, ZT_STORE_ID_LEN + 1, "%s", made.user_id);
    }
    if (rc == 0)
        return true;
    zt_admin_store_fail(c, rc, "user", user);
    return false;
}

static void admins_first(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "admin.first";
    char uid[ZT_STORE_ID_LEN + 1];
    if (!parse_body(c, first_fields, 1))
        return;
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    if (!first_user(c, &env, &who, body_str(c, "user"), uid))
        return;
    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    int rc = zt_admins_first(&env, &who, uid, tok, &t, &res);
    if (rc == -EEXIST) {
        zt_admin_fail(c, 409, "admin_exists",
                      "an administrator exists already: the bootstrap token makes only the first");
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", body_str(c, "user"));
        return;
    }
    note_change(c, &res);
    (void)zt_admin_account_done(c, &res);
    token_answer(c, &t, tok);
}

/* ---- tokens ---- */

/* Whether the caller may act on `owner`'s tokens: their own, or anyone's with the admins
 * permission held without scope. */
static bool may_manage(const zt_admin_call *c, const char *owner)
{
    return strcmp(owner, c->grant.user_id) == 0 ||
           (c->grant.perms_everywhere & ZT_PERM_ADMINS) == ZT_PERM_ADMINS;
}

typedef struct token_rows {
    json_t *arr;
    int64_t now;
} token_rows;

static int token_row_cb(void *ctx, const zt_store_admin_token *t)
{
    token_rows *rows = ctx;
    json_t *j = token_json(t, rows->now);
    return j != NULL && json_array_append_new(rows->arr, j) == 0 ? 0 : -ENOMEM;
}

static void tokens_list(zt_admin_call *c)
{
    static const char *const keys[] = {"user"};
    char vals[1][ZT_ADMIN_SEG_MAX + 1] = {""};
    if (!parse_query(c, keys, vals, 1))
        return;
    char owner[ZT_STORE_ID_LEN + 1];
    snprintf(owner, sizeof(owner), "%s", c->grant.user_id);
    if (vals[0][0] != '\0') {
        zt_user u;
        int rc = zt_admin_find_user(store_of(c), vals[0], &u);
        if (rc == 0)
            snprintf(owner, sizeof(owner), "%s", u.id);
        zt_user_dispose(&u);
        if (rc != 0 || !may_manage(c, owner)) {
            zt_admin_fail(c, 404, "not_found", "user %s not found", vals[0]);
            return;
        }
    }
    token_rows rows = {.arr = json_array(), .now = zt_wall_us() / 1000000};
    int rc =
        rows.arr ? zt_store_admin_token_list(store_of(c), owner, token_row_cb, &rows) : -ENOMEM;
    if (rc != 0) {
        json_decref(rows.arr);
        zt_admin_store_fail(c, rc, "tokens", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "tokens", rows.arr));
}

static const zt_admin_field token_fields[] = {
    {"name", ZT_ADMIN_F_STRING, true, ZT_STORE_ADMIN_TOKEN_NAME_MAX, 0},
    {"scopes", ZT_ADMIN_F_STRINGS, false, 32, ZT_PERM_COUNT + 1},
    {"expires", ZT_ADMIN_F_STRING, false, 8, 0},
    {"user", ZT_ADMIN_F_STRING, false, ZT_STORE_EMAIL_MAX, 0},
};

/* The body's scopes as a mask; false when answered. Absent: all the caller may do. */
static bool body_scopes(zt_admin_call *c, zt_perms *out)
{
    json_t *arr = json_object_get(c->body, "scopes");
    *out = arr != NULL ? 0 : c->grant.perms;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        zt_perms one;
        char bad[64];
        if (zt_admins_perms_parse(json_string_value(v), &one, bad, sizeof(bad)) != 0) {
            zt_admin_fail(c, 400, "invalid_field",
                          "scopes: unknown permission '%s' (docs/ADMINS.md lists them)", bad);
            return false;
        }
        *out |= one;
    }
    if (*out == 0 || (*out & ~c->grant.perms) != 0) {
        zt_admin_fail(c, 403, "scopes_beyond_grant",
                      "a token cannot carry permissions the calling token does not have");
        return false;
    }
    return true;
}

static void tokens_create(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "admin_token.create";
    if (!parse_body(c, token_fields, sizeof(token_fields) / sizeof(token_fields[0])))
        return;
    int64_t life = ZT_ADMINS_TOKEN_LIFETIME_DEFAULT_S;
    const char *expires = body_str(c, "expires");
    if (expires != NULL && zt_admins_lifetime_parse(expires, &life) != 0) {
        zt_admin_fail(c, 400, "invalid_field",
                      "expires must be a lifetime from 1h to 365d, such as 12h or 30d");
        return;
    }
    /* A token never outlives the token that made it: else a leaked token about to expire (or
     * about to be revoked once the leak is found) could mint itself a successor for a year. */
    int64_t left = c->token_expires_at - zt_wall_us() / 1000000;
    if (left < ZT_ADMINS_TOKEN_LIFETIME_MIN_S) {
        zt_admin_fail(c, 400, "invalid_field",
                      "the calling token expires within the hour: a token it makes cannot outlive "
                      "it; make the new token with the CLI or a longer-lived token");
        return;
    }
    if (life > left) {
        if (expires != NULL) {
            zt_admin_fail(c, 400, "invalid_field",
                          "expires: a token cannot outlive the token that makes it (%lld hours "
                          "left)",
                          (long long)(left / 3600));
            return;
        }
        life = left; /* the default lifetime, cut to the calling token's */
    }
    zt_perms scopes;
    if (!body_scopes(c, &scopes))
        return;
    char owner[ZT_STORE_ID_LEN + 1];
    snprintf(owner, sizeof(owner), "%s", c->grant.user_id);
    const char *user = body_str(c, "user");
    if (user != NULL) {
        zt_user u;
        int rc = zt_admin_find_user(store_of(c), user, &u);
        if (rc == 0)
            snprintf(owner, sizeof(owner), "%s", u.id);
        zt_user_dispose(&u);
        if (rc != 0 || !may_manage(c, owner)) {
            zt_admin_fail(c, 404, "not_found", "user %s not found", user);
            return;
        }
    }
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    zt_admins_token_new n = {.user_id = owner,
                             .name = body_str(c, "name"),
                             .scopes = scopes,
                             .lifetime_s = life,
                             .parent_id = c->token_id};
    int rc = zt_admins_token_create(&env, &who, &n, tok, &t, &res);
    if (rc == -EPERM || rc == -ENOENT) {
        zt_admin_fail(c, rc == -EPERM ? 403 : 404,
                      rc == -EPERM ? "scopes_beyond_grant" : "not_found",
                      rc == -EPERM ? "the token's owner does not hold every permission asked for"
                                   : "the token's owner is not an administrator");
        return;
    }
    if (rc == -ENOSPC) {
        zt_admin_fail(c, 409, "too_many_tokens", "%s", zt_store_errmsg());
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "token", NULL);
        return;
    }
    note_change(c, &res);
    (void)zt_admin_account_done(c, &res);
    token_answer(c, &t, tok);
}

static void token_revoke(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_OTHER;
    c->action = "admin_token.revoke";
    zt_store_admin_token t;
    int rc = zt_store_admin_token_get(store_of(c), c->route.id, &t, NULL);
    if (rc == 0 && !may_manage(c, t.user_id))
        rc = -ENOENT; /* someone else's token: as if it did not exist */
    if (rc == -ENOENT || rc == -EINVAL) {
        zt_admin_fail(c, 404, "not_found", "token %s not found", c->route.id);
        return;
    }
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_account_result res;
    zt_store_admin_cascade more;
    rc = rc ? rc : zt_admins_token_revoke(&env, &who, t.id, &res, &more);
    if (rc == -EALREADY) {
        zt_admin_fail(c, 409, "conflict", "token %s is revoked already", t.id);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "token", c->route.id);
        return;
    }
    note_change(c, &res);
    (void)zt_admin_account_done(c, &res);
    zt_admin_finish(c, 200,
                    json_pack("{s:s, s:b, s:I, s:o}", "id", t.id, "revoked", 1, "offspring_revoked",
                              (json_int_t)more.n, "offspring", cascade_json(&more)));
}

void zt_admin_admins(zt_admin_call *c)
{
    bool get = c->r->method == HTTP_GET;
    switch (c->route.ep) {
    case ZT_ADMIN_EP_ADMINS:
        if (get)
            admins_list(c);
        else
            admins_add(c);
        return;
    case ZT_ADMIN_EP_ADMIN:
        admin_remove(c);
        return;
    case ZT_ADMIN_EP_ADMINS_FIRST:
        admins_first(c);
        return;
    case ZT_ADMIN_EP_TOKENS:
        if (get)
            tokens_list(c);
        else
            tokens_create(c);
        return;
    default:
        token_revoke(c);
        return;
    }
}
