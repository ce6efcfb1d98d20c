/* `ztgate admin ACTION`: named administrators and their personal API tokens, on the store
 * directly (a shell on the gateway host is root's) through the same service functions as the
 * admin API (session/admins.h), so a change has the same effect and audit record; the actor is
 * the Unix user. add, remove, list; token create, list, revoke. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/admins.h"

static int user_of(zt_store *st, const char *email, char id[ZT_STORE_ID_LEN + 1])
{
    zt_user u;
    int rc = zt_store_user_get_by_email(st, email, &u);
    snprintf(id, ZT_STORE_ID_LEN + 1, "%s", rc == 0 ? u.id : "");
    zt_user_dispose(&u);
    return rc == 0 ? 0 : zt_cli_store_fail(rc == -EINVAL ? -ENOENT : rc, "user", email);
}

static int role_of(const char *s, zt_admin_role *out)
{
    if (s != NULL && zt_admins_role_parse(s, out) == 0)
        return 0;
    return zt_cli_fail(ZT_CLI_USAGE,
                       "%s: role must be global_admin, security_operator, helpdesk "
                       "or auditor",
                       s != NULL ? s : "--role is required");
}

static int grant_one(zt_store *st, const char *id, const char *email, zt_admin_role role,
                     const char *scope)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = zt_admins_grant(&env, zt_cli_actor(), id, role, scope, &res);
    if (rc == -ENOENT && res.missing_group[0] != '\0')
        return zt_cli_fail(ZT_CLI_FAIL, "group %s not found (create it first: ztgate group add)",
                           res.missing_group);
    if (rc == -EEXIST)
        return zt_cli_fail(ZT_CLI_FAIL, "%s holds %s %s%s already", email,
                           zt_admins_role_name(role), scope ? "in " : "everywhere",
                           scope ? scope : "");
    if (rc == -ENOSPC)
        return zt_cli_fail(ZT_CLI_FAIL, "a person may hold roles in at most %d groups",
                           ZT_ADMINS_SCOPES_MAX);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", email);
    printf("%s: %s\n", email, res.change);
    return zt_cli_account_done(&res);
}

static int admin_add(zt_store *st, const zt_cli_args *a)
{
    zt_admin_role role;
    char id[ZT_STORE_ID_LEN + 1];
    int rc = role_of(a->role, &role);
    if (rc != 0)
        return rc;
    if ((rc = user_of(st, a->pos[0], id)) != 0)
        return rc;
    if (a->n_groups == 0)
        return grant_one(st, id, a->pos[0], role, NULL);
    for (size_t i = 0; rc == 0 && i < a->n_groups; i++)
        rc = grant_one(st, id, a->pos[0], role, a->groups[i]);
    return rc;
}

static int admin_remove(zt_store *st, const zt_cli_args *a)
{
    zt_admin_role role = ZT_ROLE_COUNT;
    char id[ZT_STORE_ID_LEN + 1];
    int rc = a->role != NULL ? role_of(a->role, &role) : 0;
    if (rc == 0 && a->n_groups > 1)
        rc = zt_cli_fail(ZT_CLI_USAGE, "admin remove takes at most one --scope");
    if (rc == 0)
        rc = user_of(st, a->pos[0], id);
    if (rc != 0)
        return rc;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    rc = zt_admins_revoke(&env, zt_cli_actor(), id, role, a->n_groups ? a->groups[0] : NULL, &res);
    if (rc == -ENOENT)
        return zt_cli_fail(ZT_CLI_FAIL, "%s holds no such role", a->pos[0]);
    if (rc == -EMLINK)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "%s is the last global admin: grant global_admin to someone else first",
                           a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    printf("%s: %s\n", a->pos[0], res.change);
    return zt_cli_account_done(&res);
}

/* ---- listings ---- */

typedef struct list_out {
    zt_cli_table t;
    json_t *arr; /* NULL for the table */
    int64_t now;
} list_out;

static int list_start(list_out *o, bool json, size_t ncols, const char *const *head)
{
    memset(o, 0, sizeof(*o));
    o->now = zt_wall_us() / 1000000;
    if (json)
        return (o->arr = json_array()) != NULL ? 0 : -ENOMEM;
    return zt_cli_table_init(&o->t, ncols, head);
}

static int list_finish(list_out *o, int rc)
{
    if (rc == 0 && o->arr != NULL) {
        rc = zt_cli_json_print(o->arr);
        o->arr = NULL;
    } else if (rc == 0) {
        rc = zt_cli_table_print(&o->t);
    } else {
        rc = rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                           : zt_cli_store_fail(rc, "admins", NULL);
    }
    json_decref(o->arr);
    zt_cli_table_dispose(&o->t);
    return rc;
}

static int role_row_cb(void *ctx, const zt_store_admin_role *r)
{
    list_out *o = ctx;
    if (o->arr != NULL) {
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "user_id", r->user_id, "email", r->email,
                      "role", r->role, "scope", r->scope[0] ? json_string(r->scope) : json_null(),
                      "granted_by", r->created_by, "granted_at", zt_cli_json_time(r->created_at));
        return json_array_append_new(o->arr, j) == 0 ? 0 : -ENOMEM;
    }
    char when[32];
    zt_cli_time(r->created_at, when);
    const char *row[] = {r->email, r->role, r->scope[0] ? r->scope : "(everywhere)", r->created_by,
                         when};
    return zt_cli_table_add(&o->t, row);
}

static int admin_list(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"EMAIL", "ROLE", "SCOPE", "GRANTED BY", "GRANTED"};
    list_out o;
    int rc = list_start(&o, a->json, 5, head);
    if (rc == 0)
        rc = zt_store_admin_role_list(st, NULL, role_row_cb, &o);
    return list_finish(&o, rc);
}

static const char *token_status(const zt_store_admin_token *t, int64_t now)
{
    return t->revoked_at != 0 ? "revoked" : now >= t->expires_at ? "expired" : "active";
}

static int token_row_cb(void *ctx, const zt_store_admin_token *t)
{
    list_out *o = ctx;
    char scopes[512];
    zt_admins_perms_format(t->scopes, scopes, sizeof(scopes));
    if (o->arr != NULL) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
                              t->id, "email", t->email, "name", t->name, "scopes", scopes, "status",
                              token_status(t, o->now), "created_by", t->created_by, "parent",
                              t->parent_id[0] ? json_string(t->parent_id) : json_null(),
                              "created_at", zt_cli_json_time(t->created_at), "expires_at",
                              zt_cli_json_time(t->expires_at), "last_used_at",
                              zt_cli_json_time(t->last_used_at), "revoked_at",
                              zt_cli_json_time(t->revoked_at));
        return json_array_append_new(o->arr, j) == 0 ? 0 : -ENOMEM;
    }
    char expires[32], used[32];
    zt_cli_time(t->expires_at, expires);
    zt_cli_time(t->last_used_at, used);
    const char *row[] = {t->id,   t->email, t->name, token_status(t, o->now),
                         expires, used,     scopes,  t->parent_id[0] ? t->parent_id : "-"};
    return zt_cli_table_add(&o->t, row);
}

static int token_list(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"ID",      "EMAIL",     "NAME",   "STATUS",
                                       "EXPIRES", "LAST USED", "SCOPES", "MADE BY TOKEN"};
    char id[ZT_STORE_ID_LEN + 1] = "";
    if (a->n_pos == 1) {
        int rc = user_of(st, a->pos[0], id);
        if (rc != 0)
            return rc;
    }
    list_out o;
    int rc = list_start(&o, a->json, 8, head);
    if (rc == 0)
        rc = zt_store_admin_token_list(st, id[0] ? id : NULL, token_row_cb, &o);
    return list_finish(&o, rc);
}

/* ---- tokens ---- */

static int token_create(zt_store *st, const zt_cli_args *a)
{
    zt_perms scopes = 0;
    int64_t life = 0;
    char bad[64];
    if (a->name == NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "--name is required: what the token is for");
    if (a->scopes != NULL && zt_admins_perms_parse(a->scopes, &scopes, bad, sizeof(bad)) != 0)
        return zt_cli_fail(ZT_CLI_USAGE, "--scopes: unknown permission '%s' (docs/ADMINS.md)", bad);
    if (a->expires != NULL && zt_admins_lifetime_parse(a->expires, &life) != 0)
        return zt_cli_fail(ZT_CLI_USAGE,
                           "--expires must be a lifetime from 1h to 365d, such as 12h or 30d");
    char id[ZT_STORE_ID_LEN + 1];
    int rc = user_of(st, a->pos[0], id);
    if (rc != 0)
        return rc;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    zt_admins_token_new n = {.user_id = id, .name = a->name, .scopes = scopes, .lifetime_s = life};
    rc = zt_admins_token_create(&env, zt_cli_actor(), &n, tok, &t, &res);
    if (rc == -ENOENT)
        return zt_cli_fail(ZT_CLI_FAIL, "%s is not an administrator (ztgate admin add)", a->pos[0]);
    if (rc == -EPERM)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "%s does not hold every permission in --scopes (or the "
                           "account is disabled)",
                           a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "token", NULL);
    char expires[32];
    zt_cli_time(t.expires_at, expires);
    if (a->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "id", t.id, "token", tok, "email", t.email,
                              "expires_at", zt_cli_json_time(t.expires_at));
        zt_wipe(tok, sizeof(tok));
        rc = zt_cli_json_print(j);
    } else {
        printf("%s\n", tok);
        zt_wipe(tok, sizeof(tok));
        fprintf(stderr,
                "token %s for %s, expires %s. It is shown once: keep it in a secret store.\n", t.id,
                t.email, expires);
    }
    int done = zt_cli_account_done(&res);
    return rc != 0 ? rc : done;
}

static int token_revoke(zt_store *st, const zt_cli_args *a)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    zt_store_admin_cascade more;
    int rc = zt_admins_token_revoke(&env, zt_cli_actor(), a->pos[0], &res, &more);
    if (rc == -ENOENT)
        return zt_cli_fail(ZT_CLI_FAIL, "token %s not found", a->pos[0]);
    if (rc == -EALREADY)
        return zt_cli_fail(ZT_CLI_FAIL, "token %s is revoked already", a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "token", a->pos[0]);
    printf("%s: %s\n", res.email, res.change);
    size_t named = more.n < ZT_STORE_ADMIN_CASCADE_NAMED ? more.n : ZT_STORE_ADMIN_CASCADE_NAMED;
    for (size_t i = 0; i < named; i++)
        printf("  also revoked: token %s (made from it)\n", more.named[i].id);
    if (more.n > named)
        printf("  and %zu more (ztgate admin token list)\n", more.n - named);
    return zt_cli_account_done(&res);
}

/* Reached only through `admin token` (zt_cmd_admin); listed so `admin help` shows it. */
static int token_help(zt_store *st, const zt_cli_args *a)
{
    (void)st, (void)a;
    return zt_cli_fail(ZT_CLI_USAGE, "usage: ztgate admin token create|list|revoke ...");
}

static const zt_cli_action admin_actions[] = {
    {"add", "add EMAIL --role ROLE [--scope GROUP]...",
     "make a user an administrator (roles: global_admin, security_operator, helpdesk, auditor)",
     ZT_CLI_OPT_ADMIN, 1, admin_add},
    {"remove", "remove EMAIL [--role ROLE] [--scope GROUP]",
     "take a role away (every role when --role is not given)", ZT_CLI_OPT_ADMIN, 1, admin_remove},
    {"list", "list [--json]", "list administrators and their roles", ZT_CLI_OPT_JSON, 0,
     admin_list},
    {"token", "token create|list|revoke ... [--name N] [--scopes LIST] [--expires 30d]",
     "personal API tokens of administrators (ztgate admin token help)", 0, 0, token_help},
};

/* "list" twice: with and without an EMAIL (the parser counts positionals exactly). */
static const zt_cli_action token_actions_all[] = {
    {"create", "create EMAIL --name NAME [--scopes LIST] [--expires 30d] [--json]",
     "make a personal API token (printed once)",
     ZT_CLI_OPT_NAME | ZT_CLI_OPT_ADMIN | ZT_CLI_OPT_JSON, 1, token_create},
    {"list", "list [EMAIL] [--json]", "list tokens (never their secrets)", ZT_CLI_OPT_JSON, 0,
     token_list},
    {"revoke", "revoke ID", "revoke a token at once", 0, 1, token_revoke},
};
static const zt_cli_action token_actions_user[] = {
    {"list", "list [EMAIL] [--json]", "list tokens (never their secrets)", ZT_CLI_OPT_JSON, 1,
     token_list},
};

/* Whether argv (from the action on) names a positional besides options: `token list EMAIL`. */
static bool has_positional(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            return true;
    }
    return false;
}

int zt_cmd_admin(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "token") == 0) {
        argc--, argv++;
        if (argc >= 2 && strcmp(argv[1], "list") == 0 && has_positional(argc, argv))
            return zt_cli_dispatch("admin token", token_actions_user, 1, argc, argv);
        return zt_cli_dispatch("admin token", token_actions_all,
                               sizeof(token_actions_all) / sizeof(token_actions_all[0]), argc,
                               argv);
    }
    return zt_cli_dispatch("admin", admin_actions, sizeof(admin_actions) / sizeof(admin_actions[0]),
                           argc, argv);
}
