/* `ztgate user import FILE.csv` and `ztgate user export`: the roster (src/roster) from the
 * command line. `user` reaches here through zt_cmd_user_roster, which hands every other action
 * to `ztgate user` (cmd_user.c). Import reads and checks the whole file, prints the plan, and
 * unless --dry-run applies it in one store transaction; any error prints where it is in the file
 * and writes nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/cmd_identity.h"
#include "lib/file.h"
#include "roster/roster.h"

#define IMPORT_USAGE                                                                               \
    "import FILE.csv [--dry-run] [--encoding utf-8|cp932] [--disable-missing] "                    \
    "[--create-groups] [--source NAME]"
#define EXPORT_USAGE                                                                               \
    "export [--format csv|json] [--encoding utf-8|cp932] [--bom] [--source NAME] "                 \
    "[--output FILE]"
#define SOURCE_PREFIX "import"

typedef struct roster_args {
    const char *file, *output, *format;
    bool dry_run, disable_missing, create_groups, bom;
    zt_csv_encoding enc;
    char source[ZT_ROSTER_SOURCE_MAX + 1]; /* "" = every source (export) */
} roster_args;

/* "ztgate: MESSAGE", then the action's usage; ZT_CLI_USAGE. */
__attribute__((format(printf, 2, 3))) static int bad(bool import, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    zt_cli_fail(ZT_CLI_USAGE, "%s", msg);
    fprintf(stderr, "usage: ztgate user %s [--config FILE]\n",
            import ? IMPORT_USAGE : EXPORT_USAGE);
    return ZT_CLI_USAGE;
}

/* An import's source is "import" or "import:NAME", never another source's name: a roster
 * cannot take over (or --disable-missing) the users SCIM or a directory keeps. */
static bool source_of(const char *name, char *out, size_t cap)
{
    if (strcmp(name, SOURCE_PREFIX) == 0 || strncmp(name, SOURCE_PREFIX ":", 7) == 0)
        snprintf(out, cap, "%s", name);
    else
        snprintf(out, cap, SOURCE_PREFIX ":%s", name);
    return zt_store_source_valid(out) && strlen(out) < cap - 1;
}

enum { FOR_IMPORT = 1, FOR_EXPORT = 2 };

static const struct {
    const char *name;
    unsigned used_by;
    bool takes_value;
} options[] = {
    {"--config", FOR_IMPORT | FOR_EXPORT, true},
    {"--encoding", FOR_IMPORT | FOR_EXPORT, true},
    {"--source", FOR_IMPORT | FOR_EXPORT, true},
    {"--dry-run", FOR_IMPORT, false},
    {"--disable-missing", FOR_IMPORT, false},
    {"--create-groups", FOR_IMPORT, false},
    {"--format", FOR_EXPORT, true},
    {"--output", FOR_EXPORT, true},
    {"--bom", FOR_EXPORT, false},
};

/* One option with its value (NULL for a flag) into a. 0 or ZT_CLI_USAGE. */
static int set_option(bool import, const char *o, const char *val, roster_args *a)
{
    if (strcmp(o, "--encoding") == 0 && !zt_csv_encoding_parse(val, &a->enc))
        return bad(import, "unknown encoding '%s' (utf-8 or cp932)", val);
    if (strcmp(o, "--source") == 0 && !source_of(val, a->source, sizeof(a->source)))
        return bad(import, "bad source name '%s' (letters, digits, ':._-')", val);
    if (strcmp(o, "--format") == 0 && strcmp(val, "csv") != 0 && strcmp(val, "json") != 0)
        return bad(import, "unknown format '%s' (csv or json)", val);
    a->format = strcmp(o, "--format") == 0 ? val : a->format;
    a->output = strcmp(o, "--output") == 0 ? val : a->output;
    a->dry_run |= strcmp(o, "--dry-run") == 0;
    a->disable_missing |= strcmp(o, "--disable-missing") == 0;
    a->create_groups |= strcmp(o, "--create-groups") == 0;
    a->bom |= strcmp(o, "--bom") == 0;
    return 0;
}

static int parse(int argc, char **argv, bool import, roster_args *a)
{
    memset(a, 0, sizeof(*a));
    if (import)
        snprintf(a->source, sizeof(a->source), SOURCE_PREFIX);
    unsigned mine = import ? FOR_IMPORT : FOR_EXPORT;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        size_t k = 0, n = sizeof(options) / sizeof(options[0]);
        while (k < n && !(strcmp(o, options[k].name) == 0 && (options[k].used_by & mine)))
            k++;
        if (k == n && import && o[0] != '-' && a->file == NULL) {
            a->file = o;
            continue;
        }
        if (k == n)
            return bad(import, "unexpected argument '%s'", o);
        const char *val = NULL;
        if (options[k].takes_value && (val = i + 1 < argc ? argv[++i] : NULL) == NULL)
            return bad(import, "%s needs a value", o);
        int rc = set_option(import, o, val, a);
        if (rc != 0)
            return rc;
    }
    if (import && a->file == NULL)
        return bad(import, "which file? (a CSV with a header row)");
    if (a->format != NULL && strcmp(a->format, "json") == 0 && a->enc != ZT_CSV_UTF8)
        return bad(import, "JSON is always UTF-8");
    return 0;
}

/* ---- import ---- */

static int file_fail(const char *file, const zt_csv_error *e)
{
    char where[400];
    zt_csv_error_text(e, where, sizeof(where));
    return zt_cli_fail(ZT_CLI_FAIL, "%s: %s", file, where);
}

/* The file as roster entries; prints the problem and returns ZT_CLI_FAIL. */
static int read_roster(const roster_args *a, zt_roster *r)
{
    zt_buf raw;
    zt_buf_init(&raw, ZT_CSV_INPUT_MAX);
    int rc = zt_read_file(a->file, &raw);
    if (rc != 0) {
        zt_buf_dispose(&raw);
        return zt_cli_fail(ZT_CLI_FAIL, "%s: %s", a->file,
                           rc == -E2BIG ? "file too large" : strerror(-rc));
    }
    char *text = NULL;
    size_t len = 0;
    zt_csv_error e;
    zt_csv csv;
    rc = zt_csv_decode(raw.data != NULL ? raw.data : "", raw.len, a->enc, &text, &len, &e);
    zt_buf_dispose(&raw);
    if (rc == 0)
        rc = zt_csv_parse(text, len, &csv, &e);
    if (rc == 0)
        rc = zt_roster_read(&csv, r, &e);
    free(text);
    if (rc == -ENOMEM)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    return rc != 0 ? file_fail(a->file, &e) : ZT_CLI_OK;
}

static int print_plan(const zt_roster_plan *p, const zt_roster_opts *o)
{
    char *text = zt_roster_plan_text(p, o);
    if (text == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    fputs(text, stdout);
    free(text);
    fflush(stdout);
    return ZT_CLI_OK;
}

static int report(const zt_roster_plan *p, const zt_roster_outcome *out)
{
    printf("applied in one transaction: %zu created, %zu updated, %zu disabled (%llu "
           "session(s) ended); %zu audit record(s)\n",
           p->n_create, p->n_update, p->n_disable, (unsigned long long)out->sessions_ended,
           out->records);
    zt_account_result res = {.audit_rc = out->audit_rc, .revocation_rc = out->revocation_rc};
    return zt_cli_account_done(&res);
}

static int import_with(zt_store *st, const roster_args *a, const zt_roster *r)
{
    zt_roster_opts o = {.source = a->source,
                        .disable_missing = a->disable_missing,
                        .create_groups = a->create_groups};
    zt_roster_snapshot snap;
    int rc = zt_roster_load(st, o.source, &snap);
    if (rc != 0)
        return zt_cli_store_fail(rc, NULL, NULL);
    zt_roster_plan plan;
    zt_csv_error e;
    rc = zt_roster_plan_make(r, &snap, &o, &plan, &e);
    if (rc != 0) {
        zt_roster_snapshot_dispose(&snap);
        return rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory") : file_fail(a->file, &e);
    }
    rc = print_plan(&plan, &o);
    if (rc == ZT_CLI_OK && a->dry_run)
        printf("dry run: nothing was changed\n");
    else if (rc == ZT_CLI_OK && plan.n + plan.n_new_groups == 0)
        printf("nothing to change\n");
    else if (rc == ZT_CLI_OK) {
        zt_account_env env = zt_cli_account_env(st);
        zt_roster_outcome out;
        zt_cli_audit_defer_sync(); /* one syncfs for the batch's records, not one fsync each */
        int arc = zt_roster_apply(&env, zt_cli_actor(), &plan, &o, &out, &e);
        int frc = zt_cli_audit_flush();
        if (arc == 0 && out.audit_rc == 0)
            out.audit_rc = frc;
        rc = arc != 0 ? file_fail(a->file, &e) : report(&plan, &out);
    }
    zt_roster_plan_dispose(&plan);
    zt_roster_snapshot_dispose(&snap);
    return rc;
}

static int user_import(int argc, char **argv)
{
    roster_args a;
    int rc = parse(argc, argv, true, &a);
    if (rc != 0)
        return rc;
    zt_roster r;
    if ((rc = read_roster(&a, &r)) != ZT_CLI_OK)
        return rc;
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL) {
        zt_roster_dispose(&r);
        return ZT_CLI_FAIL;
    }
    rc = import_with(st, &a, &r);
    zt_store_close(st);
    if (rc == ZT_CLI_OK && !a.dry_run && zt_cli_audit_command("user", "import", argc, argv) != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL, "the import is saved, but its command-line audit record "
                                      "could not be queued");
    zt_roster_dispose(&r);
    return rc;
}

/* ---- export ---- */

static int write_out(const roster_args *a, const char *data, size_t len)
{
    FILE *f = a->output != NULL ? fopen(a->output, "wbx") : stdout;
    if (f == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s: %s", a->output, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (f == stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
    return ok ? ZT_CLI_OK : zt_cli_fail(ZT_CLI_FAIL, "writing the export failed");
}

static int export_with(zt_store *st, const roster_args *a)
{
    zt_roster_snapshot snap;
    int rc = zt_roster_load(st, a->source[0] ? a->source : SOURCE_PREFIX, &snap);
    if (rc != 0)
        return zt_cli_store_fail(rc, NULL, NULL);
    bool json = a->format != NULL && strcmp(a->format, "json") == 0;
    const char *only = a->source[0] ? a->source : NULL;
    zt_buf b;
    zt_buf_init(&b, 0);
    rc = json ? zt_roster_export_json(&snap, only, &b) : zt_roster_export_csv(&snap, only, &b);
    zt_roster_snapshot_dispose(&snap);
    char *enc = NULL;
    size_t n = 0, bad = 0;
    if (rc == 0)
        rc = zt_csv_encode(b.data != NULL ? b.data : "", b.len, a->enc, a->bom && !json, &enc, &n,
                           &bad);
    if (rc == -EILSEQ) {
        size_t line = 1;
        for (size_t i = 0; i < bad; i++)
            line += b.data[i] == '\n';
        rc = zt_cli_fail(ZT_CLI_FAIL,
                         "line %zu of the export has a character CP932 cannot hold; export as "
                         "utf-8 (Excel reads UTF-8 with --bom)",
                         line);
    } else if (rc != 0) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "%s", strerror(-rc));
    } else {
        rc = write_out(a, enc, n);
    }
    free(enc);
    zt_buf_dispose(&b);
    return rc;
}

static int user_export(int argc, char **argv)
{
    roster_args a;
    int rc = parse(argc, argv, false, &a);
    if (rc != 0)
        return rc;
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL)
        return ZT_CLI_FAIL;
    rc = export_with(st, &a);
    zt_store_close(st);
    return rc;
}

int zt_cmd_user_roster(int argc, char **argv)
{
    const char *action = argc >= 2 ? argv[1] : "";
    if (strcmp(action, "import") == 0)
        return user_import(argc, argv);
    if (strcmp(action, "export") == 0)
        return user_export(argc, argv);
    int rc = zt_cmd_user(argc, argv);
    bool help =
        strcmp(action, "help") == 0 || strcmp(action, "--help") == 0 || strcmp(action, "-h") == 0;
    if (help || action[0] == '\0') /* the action list the user command just printed */
        fprintf(help ? stdout : stderr, "  user %-54s %s\n  user %-54s %s\n", IMPORT_USAGE,
                "create, update, move and disable users from a CSV roster (docs/ROSTER.md)",
                EXPORT_USAGE, "write users as a CSV the import reads back, or JSON");
    return rc;
}
