/* `ztgate ldap check NAME` and `ztgate ldap sync [NAME]` (docs/LDAP.md): what the gateway's sync
 * thread does, on demand. check reads the directory (TLS verified, service bind, every user and
 * group) and changes nothing; sync applies it through the account service, its records queued
 * in the audit spool like every CLI change. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "directory/directory.h"

static const char usage[] =
    "usage: ztgate ldap ACTION [ARGS] [--config FILE]\n\nActions:\n"
    "  ldap check NAME     read directory NAME (TLS, service bind, users, groups); change nothing\n"
    "  ldap sync [NAME]    sync directory NAME (default: every directory) now\n";

static const char *why(int rc)
{
    if (rc == -EHOSTUNREACH)
        return "unreachable, certificate refused, or the service account could not bind";
    if (rc == -EFBIG)
        return "the server's size limit stopped the read";
    return strerror(-rc);
}

static int check_one(zt_directory *d)
{
    zt_dir_user *users = NULL;
    size_t n = 0;
    int rc = zt_directory_fetch_all(d, &users, &n);
    if (rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "ldap %s: cannot read the directory: %s (see the log "
                           "lines above)",
                           zt_directory_name(d), why(rc));
    size_t disabled = 0, grouped = 0;
    for (size_t i = 0; i < n; i++) {
        disabled += users[i].disabled;
        grouped += users[i].n_groups > 0;
    }
    printf("ldap %s: TLS verified, service account bound; %zu users (%zu disabled, %zu in at "
           "least one group)\n",
           zt_directory_name(d), n, disabled, grouped);
    zt_dir_users_free(users, n);
    return ZT_CLI_OK;
}

static int sync_one(zt_directory *d, zt_store *st)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_dir_sync_stats s;
    int rc = zt_directory_sync(&env, d, &s);
    if (rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL, "ldap %s: sync failed: %s; nothing was changed",
                           zt_directory_name(d), why(rc));
    printf("ldap %s: %u created, %u updated, %u disabled, %u enabled, %u group changes, %u "
           "unchanged, %u failed\n",
           zt_directory_name(d), s.created, s.updated, s.disabled, s.enabled, s.groups_changed,
           s.unchanged, s.failed);
    return s.failed > 0 ? ZT_CLI_FAIL : ZT_CLI_OK;
}

/* Positionals after the action, --config FILE skipped. */
static int positionals(int argc, char **argv, const char **out, int max)
{
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) == 0)
            continue;
        if (argv[i][0] == '-' || n == max)
            return -1;
        out[n++] = argv[i];
    }
    return n;
}

int zt_cmd_ldap(int argc, char **argv)
{
    const char *pos[1] = {NULL};
    bool check = argc >= 2 && strcmp(argv[1], "check") == 0;
    bool sync = argc >= 2 && strcmp(argv[1], "sync") == 0;
    if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return ZT_CLI_OK;
    }
    int n = positionals(argc, argv, pos, 1);
    if ((!check && !sync) || n < 0 || (check && n != 1)) {
        fputs(usage, stderr);
        return ZT_CLI_USAGE;
    }
    const char *path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg == NULL) {
        if (diags.text.len > 0)
            fwrite(diags.text.data, 1, diags.text.len, stderr);
        zt_diags_dispose(&diags);
        return zt_cli_fail(ZT_CLI_FAIL, "cannot use configuration %s", path);
    }
    zt_diags_dispose(&diags);
    char err[512] = "";
    zt_directories *ds =
        zt_directories_open(cfg->ldap_directories, cfg->n_ldap_directories, err, sizeof(err));
    zt_config_free(cfg);
    if (ds == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s", err);
    int rc = ZT_CLI_OK;
    zt_directory *one = pos[0] != NULL ? zt_directories_find(ds, pos[0]) : NULL;
    if (pos[0] != NULL && one == NULL) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "no directory named %s in ldap_directories", pos[0]);
    } else if (zt_directories_count(ds) == 0) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "%s has no ldap_directories", path);
    } else if (check) {
        rc = check_one(one);
    } else {
        zt_store *st = zt_cli_open_store(argc, argv);
        if (st == NULL) {
            rc = ZT_CLI_FAIL;
        } else {
            for (size_t i = 0; i < zt_directories_count(ds); i++) {
                zt_directory *d = zt_directories_find_at(ds, i);
                if (one == NULL || d == one)
                    rc |= sync_one(d, st);
            }
            zt_store_close(st);
        }
    }
    zt_directories_close(ds);
    return rc;
}
