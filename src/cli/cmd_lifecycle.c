/* `ztgate user set`, `ztgate user inactive` and `ztgate access review` (cmd_lifecycle.h). Reports
 * print as an aligned table (default), CSV (RFC 4180, UTF-8, CRLF; cells that a spreadsheet
 * would run as a formula are quoted with a leading apostrophe) or JSON. */
#include "cli/cmd_lifecycle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_whatif.h"
#include "cli/commands.h"
#include "lib/time.h"
#include "lifecycle/lifecycle.h"

typedef enum { FMT_TABLE = 0, FMT_CSV, FMT_JSON } report_fmt;

static int parse_format(const char *s, report_fmt *out)
{
    if (s == NULL || strcmp(s, "table") == 0)
        *out = FMT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = FMT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = FMT_JSON;
    else
        return zt_cli_fail(ZT_CLI_USAGE, "--format: '%s' is not table, csv or json", s);
    return ZT_CLI_OK;
}

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

/* ---- CSV ---- */

/* One cell: quoted when it holds a comma, quote or line break; a cell a spreadsheet would take
 * for a formula (= + - @, tab, CR first) gets a leading apostrophe inside the quotes, so a name
 * that came from a directory cannot run in the reviewer's spreadsheet. */
static void csv_cell(FILE *f, const char *s, bool last)
{
    if (s == NULL)
        s = "";
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
    fputs(last ? "\r\n" : ",", f);
}

static void csv_row(FILE *f, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_cell(f, cells[i], i + 1 == n);
}

static int stdout_done(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return zt_cli_fail(ZT_CLI_FAIL, "writing to stdout failed");
    return ZT_CLI_OK;
}

/* ---- --expires and --sponsor ---- */

int zt_cli_lifecycle_args(const zt_cli_args *a, int64_t *expires, const char **sponsor)
{
    *expires = 0;
    *sponsor = NULL;
    if (a->expires != NULL && !zt_lifecycle_parse_expiry(a->expires, expires))
        return zt_cli_fail(ZT_CLI_USAGE,
                           "--expires: '%s' is not a date (YYYY-MM-DD, valid through that day, "
                           "UTC), an RFC 3339 date-time or 'never'",
                           a->expires);
    if (a->sponsor != NULL) {
        *sponsor = strcmp(a->sponsor, "none") == 0 ? "" : a->sponsor;
        if (!zt_lifecycle_sponsor_ok(*sponsor))
            return zt_cli_fail(ZT_CLI_USAGE,
                               "--sponsor: '%s' is not an e-mail address (or 'none' to clear it)",
                               a->sponsor);
    }
    return ZT_CLI_OK;
}

/* ---- what user show and list say ---- */

const char *zt_cli_lifecycle_status(const zt_user *u)
{
    return zt_lifecycle_status(u, now_s());
}

int zt_cli_lifecycle_json(json_t *j, const zt_user *u)
{
    if (json_object_set_new(j, "status", json_string(zt_cli_lifecycle_status(u))) != 0 ||
        json_object_set_new(j, "source", json_string(u->source)) != 0 ||
        json_object_set_new(j, "expires_at", zt_cli_json_time(u->expires_at)) != 0 ||
        json_object_set_new(j, "sponsor", u->sponsor[0] ? json_string(u->sponsor) : json_null()) !=
            0 ||
        json_object_set_new(j, "last_sign_in_at", zt_cli_json_time(u->last_sign_in_at)) != 0)
        return -ENOMEM;
    return 0;
}

void zt_cli_lifecycle_text(const zt_user *u)
{
    char expires[32], last[32];
    zt_lifecycle_expiry_text(u->expires_at, expires);
    zt_cli_time(u->last_sign_in_at, last);
    printf("%-18s %s\n", "source:", u->source[0] ? u->source : "local");
    printf("%-18s %s\n", "expires:", expires);
    printf("%-18s %s\n", "sponsor:", u->sponsor[0] ? u->sponsor : "-");
    printf("%-18s %s\n", "last sign-in:", u->last_sign_in_at ? last : "never");
}

/* ---- user set ---- */

int zt_cli_user_set(zt_store *st, const zt_cli_args *a)
{
    int64_t expires = 0;
    const char *sponsor = NULL;
    if (zt_cli_lifecycle_args(a, &expires, &sponsor) != ZT_CLI_OK)
        return ZT_CLI_USAGE;
    if (a->expires == NULL && a->sponsor == NULL && a->name == NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "nothing to set: give --name, --expires or --sponsor");
    zt_user u;
    int rc = zt_store_user_get_by_email(st, a->pos[0], &u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    zt_store_user_profile p = {.name = a->name,
                               .sponsor = sponsor,
                               .set_expires = a->expires != NULL,
                               .expires_at = expires};
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    rc = zt_account_update(&env, zt_cli_actor(), u.id, &p, &res);
    zt_user_dispose(&u);
    if (rc == -EINVAL)
        return zt_cli_fail(ZT_CLI_FAIL, "user %s: %s", a->pos[0], zt_store_errmsg());
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    printf("updated user %s", res.email);
    if (a->expires != NULL) {
        char when[32];
        zt_lifecycle_expiry_text(expires, when);
        printf(" (expires %s", when);
        if (expires != 0 && expires <= now_s())
            printf(": expired, %llu session(s) ended", (unsigned long long)res.sessions_revoked);
        printf(")");
    }
    printf("\n");
    return zt_cli_account_done(&res);
}

/* ---- user inactive ---- */

typedef struct inactive_out {
    report_fmt fmt;
    zt_cli_table t;
    json_t *arr;
} inactive_out;

static const char *const inactive_head[] = {
    "email",      "name",      "status",     "source",  "last_sign_in_at",
    "created_at", "idle_days", "expires_at", "sponsor",
};
#define INACTIVE_COLS (sizeof(inactive_head) / sizeof(inactive_head[0]))

static json_t *inactive_json(const zt_lifecycle_inactive *r)
{
    const zt_user *u = r->u;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:s?}", "email", u->email, "name",
                     u->name, "status", r->status, "source", u->source, "last_sign_in_at",
                     zt_cli_json_time(u->last_sign_in_at), "created_at",
                     zt_cli_json_time(u->created_at), "idle_days", (json_int_t)r->idle_days,
                     "expires_at", zt_cli_json_time(u->expires_at), "sponsor",
                     u->sponsor[0] ? u->sponsor : NULL);
}

static int inactive_cb(void *ctx, const zt_lifecycle_inactive *r)
{
    inactive_out *o = ctx;
    if (o->fmt == FMT_JSON)
        return json_array_append_new(o->arr, inactive_json(r)) == 0 ? 0 : -ENOMEM;
    const zt_user *u = r->u;
    char last[32], created[32], idle[24], expires[32];
    zt_cli_time(u->last_sign_in_at, last);
    zt_cli_time(u->created_at, created);
    zt_cli_time(u->expires_at, expires);
    snprintf(idle, sizeof(idle), "%lld", (long long)r->idle_days);
    bool csv = o->fmt == FMT_CSV;
    const char *row[INACTIVE_COLS] = {u->email,
                                      u->name,
                                      r->status,
                                      u->source,
                                      u->last_sign_in_at ? last : (csv ? "" : "never"),
                                      created,
                                      idle,
                                      u->expires_at ? expires : (csv ? "" : "never"),
                                      u->sponsor};
    if (csv) {
        csv_row(stdout, row, INACTIVE_COLS);
        return 0;
    }
    return zt_cli_table_add(&o->t, row);
}

static bool parse_days(const char *s, unsigned *out)
{
    if (s == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > ZT_LIFECYCLE_DAYS_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

int zt_cli_user_inactive(zt_store *st, const zt_cli_args *a)
{
    unsigned days = 0;
    inactive_out o = {0};
    if (!parse_days(a->days, &days))
        return zt_cli_fail(ZT_CLI_USAGE, "--days: give a whole number of days, 0 to %d",
                           ZT_LIFECYCLE_DAYS_MAX);
    if (parse_format(a->format, &o.fmt) != ZT_CLI_OK)
        return ZT_CLI_USAGE;
    static const char *const upper[INACTIVE_COLS] = {"EMAIL",     "NAME",         "STATUS",
                                                     "SOURCE",    "LAST-SIGN-IN", "CREATED",
                                                     "IDLE-DAYS", "EXPIRES",      "SPONSOR"};
    int rc = 0;
    if (o.fmt == FMT_JSON)
        rc = (o.arr = json_array()) == NULL ? -ENOMEM : 0;
    else if (o.fmt == FMT_TABLE)
        rc = zt_cli_table_init(&o.t, INACTIVE_COLS, upper);
    else
        csv_row(stdout, inactive_head, INACTIVE_COLS);
    if (rc == 0)
        rc = zt_lifecycle_inactive_list(st, now_s(), days, inactive_cb, &o);
    if (rc != 0) {
        json_decref(o.arr);
        zt_cli_table_dispose(&o.t);
        return rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                             : zt_cli_store_fail(rc, "user", NULL);
    }
    if (o.fmt == FMT_JSON)
        return zt_cli_json_print(o.arr);
    rc = o.fmt == FMT_TABLE ? zt_cli_table_print(&o.t) : stdout_done();
    zt_cli_table_dispose(&o.t);
    return rc;
}

/* ---- access review ---- */

typedef struct review_out {
    report_fmt fmt;
    const zt_whatif_env *env;
    zt_cli_table t;
    json_t *arr;
} review_out;

static const char *const review_head[] = {
    "email",    "name",       "status",  "app",         "sensitivity", "sign_in_required",
    "decision", "verdict",    "policy",  "assigned_by", "grant",       "conditional_policies",
    "groups",   "expires_at", "sponsor",
};
#define REVIEW_COLS (sizeof(review_head) / sizeof(review_head[0]))

/* "a;b;c" of names into out (cut at cap). */
static void join_names(const char *const *names, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ";" : "", names[i]);
}

static json_t *names_json(const char *const *names, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    return arr;
}

/* A public app lets anonymous visitors in; its policies apply to signed-in ones only. */
static bool sign_in_required(const zt_app_cfg *app)
{
    return app->sensitivity != ZT_SENS_PUBLIC;
}

static json_t *review_json(const review_out *o, const zt_review_row *r, const char *via,
                           const char *grant, const char *const *cond)
{
    const zt_policy_set *set = o->env->set;
    const zt_user *u = r->u;
    return json_pack(
        "{s:{s:s, s:s, s:s, s:o, s:o, s:s?}, s:{s:s, s:s}, s:s, s:s, s:s?, s:s?, s:s?, s:s?, "
        "s:o, s:b}",
        "user", "email", u->email, "name", u->name, "status", r->status, "groups",
        names_json(r->groups, r->n_groups), "expires_at", zt_cli_json_time(u->expires_at),
        "sponsor", u->sponsor[0] ? u->sponsor : NULL, "app", "name", r->app->name, "sensitivity",
        zt_sensitivity_name(r->app->sensitivity), "decision", zt_outcome_name(r->res.outcome),
        "verdict", r->verdict, "policy", r->policy >= 0 ? zt_policy_name(set, r->policy) : NULL,
        "cause", r->cause >= 0 ? zt_policy_name(set, r->cause) : NULL, "assigned_by",
        via[0] ? via : NULL, "grant", r->policy >= 0 ? grant : NULL, "conditional_policies",
        names_json(cond, r->n_conditional), "sign_in_required", sign_in_required(r->app));
}

static int review_cb(void *ctx, const zt_review_row *r)
{
    review_out *o = ctx;
    const zt_policy_set *set = o->env->set;
    char via[ZT_STORE_GROUP_MAX + 16], grant[128], groups[2048], conds[2048], expires[32];
    zt_review_via_text(r, via, sizeof(via));
    zt_review_grant_text(o->env->cfg, r->policy, grant, sizeof(grant));
    const char **cond = calloc(r->n_conditional + 1, sizeof(*cond));
    if (cond == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_conditional; i++)
        cond[i] = zt_policy_name(set, r->conditional[i]);
    int rc = 0;
    if (o->fmt == FMT_JSON) {
        rc = json_array_append_new(o->arr, review_json(o, r, via, grant, cond)) == 0 ? 0 : -ENOMEM;
        free(cond);
        return rc;
    }
    join_names(cond, r->n_conditional, conds, sizeof(conds));
    join_names(r->groups, r->n_groups, groups, sizeof(groups));
    free(cond);
    zt_cli_time(r->u->expires_at, expires);
    bool csv = o->fmt == FMT_CSV;
    const char *row[REVIEW_COLS] = {r->u->email,
                                    r->u->name,
                                    r->status,
                                    r->app->name,
                                    zt_sensitivity_name(r->app->sensitivity),
                                    sign_in_required(r->app) ? "yes" : "no",
                                    zt_outcome_name(r->res.outcome),
                                    r->verdict,
                                    r->policy >= 0 ? zt_policy_name(set, r->policy) : "",
                                    via,
                                    r->policy >= 0 && grant[0] == '\0' ? "none" : grant,
                                    conds,
                                    groups,
                                    r->u->expires_at ? expires : "",
                                    r->u->sponsor};
    if (csv) {
        csv_row(stdout, row, REVIEW_COLS);
        return 0;
    }
    /* The table: the columns a reviewer reads first. */
    const char *brief[] = {row[0], row[3], row[2], row[7], row[8], row[9], row[10], row[11]};
    return zt_cli_table_add(&o->t, brief);
}

#define ACCESS_USAGE "access review [--format table|csv|json] [--config FILE]"

static int access_review(int argc, char **argv)
{
    zt_cli_args a;
    if (zt_cli_parse(argc, argv, 2, ZT_CLI_OPT_REPORT, 0, ACCESS_USAGE, &a) != 0)
        return ZT_CLI_USAGE;
    review_out o = {0};
    if (a.days != NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "access review takes no --days");
    if (parse_format(a.format, &o.fmt) != ZT_CLI_OK)
        return ZT_CLI_USAGE;
    zt_whatif_env env;
    if (zt_whatif_env_open(&env, zt_cli_config_path(argc, argv)) != ZT_CLI_OK)
        return ZT_CLI_USAGE;
    o.env = &env;
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL) {
        zt_whatif_env_close(&env);
        return ZT_CLI_FAIL;
    }
    static const char *const upper[] = {"EMAIL",  "APP",         "STATUS", "VERDICT",
                                        "POLICY", "ASSIGNED-BY", "GRANT",  "CONDITIONAL"};
    int rc = 0;
    if (o.fmt == FMT_JSON)
        rc = (o.arr = json_array()) == NULL ? -ENOMEM : 0;
    else if (o.fmt == FMT_TABLE)
        rc = zt_cli_table_init(&o.t, sizeof(upper) / sizeof(upper[0]), upper);
    else
        csv_row(stdout, review_head, REVIEW_COLS);
    if (rc == 0)
        rc = zt_lifecycle_review(st, env.cfg, env.set, now_s(), review_cb, &o);
    zt_store_close(st);
    zt_whatif_env_close(&env);
    if (rc != 0) {
        json_decref(o.arr);
        zt_cli_table_dispose(&o.t);
        return rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                             : zt_cli_store_fail(rc, "user", NULL);
    }
    if (o.fmt == FMT_JSON)
        return zt_cli_json_print(o.arr);
    rc = o.fmt == FMT_TABLE ? zt_cli_table_print(&o.t) : stdout_done();
    zt_cli_table_dispose(&o.t);
    return rc;
}

int zt_cmd_access(int argc, char **argv)
{
    const char *act = argc >= 2 ? argv[1] : NULL;
    if (act != NULL && strcmp(act, "review") == 0)
        return access_review(argc, argv);
    bool help = act != NULL && (strcmp(act, "help") == 0 || strcmp(act, "--help") == 0);
    fprintf(help ? stdout : stderr,
            "usage: ztgate " ACCESS_USAGE "\n"
            "  every user x app: the decision for a browser sign-in just now (password only,\n"
            "  no device, unknown address, no risk), the policy that decides, how it assigns\n"
            "  the user (user, group:NAME, all) and its grant controls (docs/LIFECYCLE.md)\n");
    if (help)
        return ZT_CLI_OK;
    if (act != NULL)
        zt_cli_fail(ZT_CLI_USAGE, "unknown action 'access %s'", act);
    return ZT_CLI_USAGE;
}
