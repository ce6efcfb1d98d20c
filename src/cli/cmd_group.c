/* `ztgate group ACTION`: add, list, members, member-add, member-remove, delete. Membership
 * changes do not end sessions; they bump STATE_DIR/revocation so running gateways reload the
 * groups of every session on its next request (if that fails the command says so and exits 1
 * although the change is saved). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/cmd_identity.h"
#include "cli/commands.h"
#include "core/config.h"
#include "session/session.h"

/* ---- telling running gateways ---- */

/* STATE_DIR from the same configuration the store was opened from; "" if it cannot be read
 * (the dispatcher then fails to open the store and says why). */
static char state_dir[4096];

static void remember_state_dir(int argc, char **argv)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load(zt_cli_config_path(argc, argv), &d);
    if (cfg != NULL && cfg->state_dir != NULL)
        snprintf(state_dir, sizeof(state_dir), "%s", cfg->state_dir);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

/* After a change that can end sessions or change what they may do: bump the revocation counter
 * so every running gateway drops its session caches on its next request. The change itself is
 * already committed; failing to bump is still a failure, because gateways would keep serving
 * cached sessions (and groups) until they restart. */
static int tell_gateways(int rc)
{
    if (rc != ZT_CLI_OK)
        return rc;
    int b = state_dir[0] != '\0' ? zt_revocation_bump(state_dir) : -EINVAL;
    if (b == 0)
        return ZT_CLI_OK;
    return zt_cli_fail(ZT_CLI_FAIL,
                       "the change is saved, but running gateways were not told: cannot update "
                       "%s/%s (%s); they keep using cached sessions until restarted. Fix the "
                       "file's ownership or permissions, then restart the gateways",
                       state_dir[0] != '\0' ? state_dir : "(state_dir)", ZT_REVOCATION_FILE,
                       strerror(-b));
}

static int group_add(zt_store *st, const zt_cli_args *a)
{
    int rc = zt_store_group_add(st, a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "group", rc == -EEXIST ? a->pos[0] : NULL);
    printf("added group %s\n", a->pos[0]);
    return ZT_CLI_OK;
}

static int group_delete(zt_store *st, const zt_cli_args *a)
{
    int rc = zt_store_group_delete(st, a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "group", rc == -ENOENT ? a->pos[0] : NULL);
    printf("deleted group %s\n", a->pos[0]);
    return tell_gateways(ZT_CLI_OK);
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
    rc = add ? zt_store_group_member_add(st, g.name, u.id)
             : zt_store_group_member_remove(st, g.name, u.id);
    if (rc == -EEXIST)
        rc = zt_cli_fail(ZT_CLI_FAIL, "user %s is already a member of group %s", u.email, g.name);
    else if (rc == -ENOENT && !add)
        rc = zt_cli_fail(ZT_CLI_FAIL, "user %s is not a member of group %s", u.email, g.name);
    else if (rc != 0)
        rc = zt_cli_store_fail(rc, "group", NULL);
    else
        printf("%s %s %s group %s\n", add ? "added" : "removed", u.email, add ? "to" : "from",
               g.name);
    zt_user_dispose(&u);
    return tell_gateways(rc);
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
    remember_state_dir(argc, argv);
    return zt_cli_dispatch("group", group_actions, sizeof(group_actions) / sizeof(group_actions[0]),
                           argc, argv);
}
