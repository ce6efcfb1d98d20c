/* `ztgate store migrate`: a SQLite deployment onto PostgreSQL (store/store_migrate.h,
 * docs/STORE.md). The config given names the PostgreSQL target in its store: section; the
 * source is the SQLite store of --from, by default the config's state_dir. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "lib/secure.h"
#include "store/store_migrate.h"

static const char store_usage[] =
    "usage: ztgate store migrate --config NEW.yaml [--from STATE_DIR] [--json]\n"
    "\n"
    "Copies the SQLite store of STATE_DIR (ztgate.db and ztgate-idp.db; default: the config's\n"
    "state_dir) into the PostgreSQL database the config's store: section names, in one\n"
    "transaction, then prints per table the row count and SHA-256 of both sides. The target\n"
    "must be empty (a fresh database or schema); the gateway must be stopped.\n";

static void print_report(const zt_migrate_report *rep)
{
    printf("%-24s %10s %10s  %-64s  %s\n", "TABLE", "SQLITE", "POSTGRES", "SHA-256", "CHECK");
    for (size_t i = 0; i < rep->n; i++) {
        const zt_migrate_table *m = &rep->tables[i];
        bool same = m->rows_source == m->rows_target && strcmp(m->sum_source, m->sum_target) == 0;
        printf("%-24s %10" PRIu64 " %10" PRIu64 "  %-64s  %s\n", m->name, m->rows_source,
               m->rows_target, m->sum_source, same ? "ok" : "DIFFERS");
        if (!same && m->sum_target[0] != '\0')
            printf("%-24s %10s %10s  %-64s  (PostgreSQL)\n", "", "", "", m->sum_target);
    }
}

static int print_json(const zt_migrate_report *rep, int rc)
{
    json_t *tables = json_array();
    for (size_t i = 0; tables != NULL && i < rep->n; i++) {
        const zt_migrate_table *m = &rep->tables[i];
        json_array_append_new(tables, json_pack("{s:s, s:I, s:I, s:s, s:s}", "table", m->name,
                                                "rows_sqlite", (json_int_t)m->rows_source,
                                                "rows_postgresql", (json_int_t)m->rows_target,
                                                "sha256_sqlite", m->sum_source, "sha256_postgresql",
                                                m->sum_target));
    }
    return zt_cli_json_print(
        json_pack("{s:b, s:o*}", "ok", rc == 0, "tables", tables != NULL ? tables : json_null()));
}

typedef struct migrate_args {
    const char *config, *from;
    bool json;
} migrate_args;

static int parse_migrate(int argc, char **argv, migrate_args *a)
{
    for (int i = 2; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--config") == 0 && has_value)
            a->config = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            a->config = argv[i] + 9;
        else if (strcmp(argv[i], "--from") == 0 && has_value)
            a->from = argv[++i];
        else if (strncmp(argv[i], "--from=", 7) == 0)
            a->from = argv[i] + 7;
        else if (strcmp(argv[i], "--json") == 0)
            a->json = true;
        else {
            fprintf(stderr, "ztgate: unexpected argument '%s'\n%s", argv[i], store_usage);
            return ZT_CLI_USAGE;
        }
    }
    if (a->config == NULL)
        a->config = zt_cli_config_path(argc, argv);
    return ZT_CLI_OK;
}

/* The migration's own audit record, in the spool of the config's state_dir: the first gateway
 * started on the new store appends it to its hash-chained log. */
static int record_migration(const zt_config *cfg, int argc, char **argv)
{
    zt_cli_use_config(cfg);
    int rc = zt_cli_audit_command("store", "migrate", argc, argv);
    if (rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "the copy was committed, but its audit record could not be queued "
                           "in %s/%s: %s",
                           cfg->state_dir, ZT_AUDIT_SPOOL_DIR, strerror(-rc));
    return ZT_CLI_OK;
}

static int migrate_with(const zt_config *cfg, const migrate_args *a, int argc, char **argv)
{
    if (cfg->store.backend != ZT_STORE_POSTGRES)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "%s: store.backend is not postgresql; the config given to migrate "
                           "names the PostgreSQL target",
                           a->config);
    char err[512];
    zt_store *target = zt_store_open_config(cfg, err, sizeof(err));
    if (target == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s", err);
    const char *from = a->from != NULL ? a->from : cfg->state_dir;
    zt_migrate_report rep;
    int rc = zt_store_migrate(from, target, &rep);
    char why[1024];
    snprintf(why, sizeof(why), "%s", zt_store_errmsg());
    zt_store_close(target);
    if (a->json)
        print_json(&rep, rc);
    else if (rc == 0 || rc == -EPROTO)
        print_report(&rep);
    if (rc == -EPROTO)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "%s; the copy was committed: drop the target and run "
                           "migrate again",
                           why);
    if (rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL, "%s; nothing was written to PostgreSQL", why);
    if (!a->json)
        printf("migrated %zu tables from %s: every count and checksum matches\n", rep.n, from);
    return record_migration(cfg, argc, argv);
}

static int store_migrate(int argc, char **argv)
{
    migrate_args a = {0};
    int st = parse_migrate(argc, argv, &a);
    if (st != ZT_CLI_OK)
        return st;
    if (!zt_secure_init())
        return zt_cli_fail(ZT_CLI_FAIL, "libsodium cannot initialise");
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(a.config, &diags);
    if (diags.text.len > 0)
        fwrite(diags.text.data, 1, diags.text.len, stderr);
    st = cfg != NULL ? migrate_with(cfg, &a, argc, argv)
                     : zt_cli_fail(ZT_CLI_FAIL, "cannot use configuration %s", a.config);
    zt_config_free(cfg);
    zt_diags_dispose(&diags);
    return st;
}

int zt_cmd_store(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return store_migrate(argc, argv);
    bool help = argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0);
    fputs(store_usage, help ? stdout : stderr);
    return help ? ZT_CLI_OK : ZT_CLI_USAGE;
}
