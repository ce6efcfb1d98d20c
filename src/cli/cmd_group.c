/* `ztgate group ACTION`: add, list, members, member-add, member-remove, delete. Changes are the
 * account service's (session/account.h), as through the admin API. Membership changes do not
 * end sessions; they bump STATE_DIR/revocation so running gateways reload the groups of every
 * session on its next request (if that or the audit record fails the command says so and exits
 * 1 although the change is saved). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/cmd_identity.h"
#include "cli/commands.h"
#include "session/account.h"

static int group_add(zt_store *st, const zt_cli_args *a)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = zt_account_group_create(&env, zt_cli_actor(), a->pos[0], &res);
    if (rc != 0)
        return zt_cli_store_fail(rc, "group", rc == -EEXIST ? a->pos[0] : NULL);
    printf("added group %s\n", a->pos[0]);
    return zt_cli_account_done(&res);
}

static int group_delete(zt_store *st, const zt_cli_args *a)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = zt_account_group_delete(&env, zt_cli_actor(), a->pos[0], &res);
    if (rc != 0)
        return zt_cli_store_fail(rc, "group", rc == -ENOENT ? a->pos[0] : NULL);
    printf("deleted group %s\n", a->pos[0]);
    return zt_cli_account_done(&res);
}

typedef struct list_out {
    zt_cli_table t;
    json_t *arr; /* NULL for the table */
} list_out;

static int group_row_cb(void *ctx, const zt_store_group *g)
{
    list_out *o = ctx;
    if (o->arr != NULL) {
        json_t *j =
            json_pack("{s:s, s:I, s:o}", "name", g->name, "members", (json_int_t)g->n_members,
                      "created_at", zt_cli_json_time(g->created_at));
        return json_array_append_new(o->arr, j) == 0 ? 0 : -ENOMEM;
    }
    char members[24], created[32];
    snprintf(members, sizeof(members), "%llu", (unsigned long long)g->n_members);
    zt_cli_time(g->created_at, created);
    const char *row[] = {g->name, members, created};
    return zt_cli_table_add(&o->t, row);
}

static int member_row_cb(void *ctx, const zt_user *u)
{
    list_out *o = ctx;
    const char *status = u->disabled ? "disabled" : "active";
    if (o->arr != NULL) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "id", u->id, "email", u->email, "name",
                              u->name, "status", status);
        return json_array_append_new(o->arr, j) == 0 ? 0 : -ENOMEM;
    }
    const char *row[] = {u->email, u->name[0] ? u->name : NULL, status};
    return zt_cli_table_add(&o->t, row);
}

/* Shared ending of the two listings. */
static int list_finish(list_out *o, int rc, const char *who)
{
    if (rc == 0 && o->arr != NULL) {
        rc = zt_cli_json_print(o->arr); /* takes the array, printed or not */
        o->arr = NULL;
    } else if (rc == 0)
        rc = zt_cli_table_print(&o->t);
    else if (rc == -ENOMEM)
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    else
        rc = zt_cli_store_fail(rc, "group", rc == -ENOENT ? who : NULL);
    json_decref(o->arr);
    zt_cli_table_dispose(&o->t);
    return rc;
}

static int list_start(list_out *o, bool json, size_t ncols, const char *const *head)
{
    memset(o, 0, sizeof(*o));
    if (json)
        return (o->arr = json_array()) != NULL ? 0 : -ENOMEM;
    return zt_cli_table_init(&o->t, ncols, head);
}

static int group_list(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"NAME", "MEMBERS", "CREATED"};
    list_out o;
    int rc = list_start(&o, a->json, 3, head);
    if (rc == 0)
        rc = zt_store_group_list(st, group_row_cb, &o);
    return list_finish(&o, rc, NULL);
}

static int group_members(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"EMAIL", "NAME", "STATUS"};
    list_out o;
    int rc = list_start(&o, a->json, 3, head);
    if (rc == 0)
        rc = zt_store_group_members(st, a->pos[0], member_row_cb, &o);
    return list_finish(&o, rc, a->pos[0]);
}

/* Resolve both names first so each "not found" names the right thing. */
static int member_change(zt_store *st, const zt_cli_args *a, bool add)
{
    const char *group = a->pos[0], *email = a->pos[1];
    zt_store_group g;
    zt_user u;
    int rc = zt_store_group_get(st, group, &g);
    if (rc != 0)
        return zt_cli_store_fail(rc, "group", group);
    if ((rc = zt_store_user_get_by_email(st, email, &u)) != 0)
        return zt_cli_store_fail(rc, "user", email);
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    rc = add ? zt_account_member_add(&env, zt_cli_actor(), g.name, u.id, &res)
             : zt_account_member_remove(&env, zt_cli_actor(), g.name, u.id, &res);
    if (rc == -EEXIST)
        rc = zt_cli_fail(ZT_CLI_FAIL, "user %s is already a member of group %s", u.email, g.name);
    else if (rc == -ENOENT && !add)
        rc = zt_cli_fail(ZT_CLI_FAIL, "user %s is not a member of group %s", u.email, g.name);
    else if (rc != 0)
        rc = zt_cli_store_fail(rc, "group", NULL);
    else {
        printf("%s %s %s group %s\n", add ? "added" : "removed", u.email, add ? "to" : "from",
               g.name);
        rc = zt_cli_account_done(&res);
    }
    zt_user_dispose(&u);
    return rc;
}

static int group_member_add(zt_store *st, const zt_cli_args *a)
{
    return member_change(st, a, true);
}

static int group_member_remove(zt_store *st, const zt_cli_args *a)
{
    return member_change(st, a, false);
}

static const zt_cli_action group_actions[] = {
    {"add", "add NAME", "create a group", 0, 1, group_add},
    {"list", "list [--json]", "list groups with their member counts", ZT_CLI_OPT_JSON, 0,
     group_list},
    {"members", "members NAME [--json]", "list a group's members", ZT_CLI_OPT_JSON, 1,
     group_members},
    {"member-add", "member-add GROUP EMAIL", "add a user to a group", 0, 2, group_member_add},
    {"member-remove", "member-remove GROUP EMAIL", "remove a user from a group", 0, 2,
     group_member_remove},
    {"delete", "delete NAME", "delete a group (its memberships go with it)", 0, 1, group_delete},
};

int zt_cmd_group(int argc, char **argv)
{
    return zt_cli_dispatch("group", group_actions, sizeof(group_actions) / sizeof(group_actions[0]),
                           argc, argv);
}
