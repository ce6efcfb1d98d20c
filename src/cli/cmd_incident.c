/* `ztgate incident ACTION`: list, show (with the timeline in order), resolve. Resolving runs
 * through src/response like an automatic resolution, so isolations the incident's playbooks made
 * are released; its timeline records are queued in the audit spool for the gateway to append. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/levels.h"
#include "response/confirm.h"
#include "response/incident.h"

/* list's own option, taken out of argv before the shared parser sees it. */
static const char *opt_status;
static zt_config *config; /* for resolve: playbooks and state_dir */

/* Timeline steps are audit records like the gateway's, queued for it to append. */
static int spool_audit(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    return zt_cli_audit_queue(json, len);
}

static bool parse_id(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v <= 0)
        return false;
    *out = v;
    return true;
}

static json_t *inc_json(const zt_store_incident *i)
{
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:o, s:o}", "id", (json_int_t)i->id, "title",
        i->title, "severity", zt_risk_name((zt_risk)i->severity), "status",
        zt_store_incident_status_name(i->status), "user_id", i->user_id[0] ? i->user_id : NULL,
        "email", i->email[0] ? i->email : NULL, "device_id", i->device_id[0] ? i->device_id : NULL,
        "events", (json_int_t)i->n_events, "created_at", zt_cli_json_time(i->created_at),
        "updated_at", zt_cli_json_time(i->updated_at));
}

typedef struct list_out {
    zt_cli_table t;
    json_t *arr;
} list_out;

static int list_cb(void *ctx, const zt_store_incident *i)
{
    list_out *o = ctx;
    if (o->arr != NULL)
        return json_array_append_new(o->arr, inc_json(i)) == 0 ? 0 : -ENOMEM;
    char id[24], n[24], updated[32];
    snprintf(id, sizeof(id), "%" PRId64, i->id);
    snprintf(n, sizeof(n), "%" PRIu64, i->n_events);
    zt_cli_time(i->updated_at, updated);
    const char *row[] = {id,
                         zt_store_incident_status_name(i->status),
                         zt_risk_name((zt_risk)i->severity),
                         i->title,
                         i->email[0]     ? i->email
                         : i->user_id[0] ? i->user_id
                                         : NULL,
                         i->device_id[0] ? i->device_id : NULL,
                         n,
                         updated};
    return zt_cli_table_add(&o->t, row);
}

static int print_list(zt_store *st, const zt_store_incident_filter *f, bool json)
{
    static const char *const head[] = {"ID",   "STATUS", "SEVERITY", "TITLE",
                                       "USER", "DEVICE", "EVENTS",   "UPDATED"};
    list_out o;
    memset(&o, 0, sizeof(o));
    int rc =
        json ? ((o.arr = json_array()) != NULL ? 0 : -ENOMEM) : zt_cli_table_init(&o.t, 8, head);
    if (rc == 0)
        rc = zt_store_incident_list(st, f, list_cb, &o);
    if (rc == 0 && o.arr != NULL) {
        rc = zt_cli_json_print(o.arr);
        o.arr = NULL;
    } else if (rc == 0) {
        rc = zt_cli_table_print(&o.t);
    } else if (rc == -ENOMEM) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    } else {
        rc = zt_cli_store_fail(rc, "incident", NULL);
    }
    json_decref(o.arr);
    zt_cli_table_dispose(&o.t);
    return rc;
}

static int incident_list(zt_store *st, const zt_cli_args *a)
{
    zt_store_incident_filter f = {.status = -1};
    zt_store_incident_status s;
    if (opt_status != NULL) {
        if (!zt_store_incident_status_parse(opt_status, &s))
            return zt_cli_fail(
                ZT_CLI_USAGE, "--status must be open, contained or resolved, not '%s'", opt_status);
        f.status = (int)s;
    }
    return print_list(st, &f, a->json);
}

static json_t *event_json(const zt_store_incident_event *e)
{
    json_t *d = json_loads(e->detail, 0, NULL);
    return json_pack("{s:I, s:o, s:s, s:s, s:s?, s:o, s:s?}", "id", (json_int_t)e->id, "at",
                     zt_cli_json_time(e->at), "kind", e->kind, "summary", e->summary, "playbook",
                     e->playbook[0] ? e->playbook : NULL, "detail", d != NULL ? d : json_object(),
                     "request_id", e->request_id[0] ? e->request_id : NULL);
}

typedef struct show_out {
    json_t *arr;
    int failed;
} show_out;

static int show_cb(void *ctx, const zt_store_incident_event *e)
{
    show_out *o = ctx;
    if (o->arr != NULL)
        return json_array_append_new(o->arr, event_json(e)) == 0 ? 0 : -ENOMEM;
    char at[32];
    zt_cli_time(e->at, at);
    /* Stored text never holds control characters (the store refuses them). */
    if (printf("  %s  %-11s %-20s %s\n", at, e->kind, e->playbook[0] ? e->playbook : "-",
               e->summary) < 0)
        o->failed = 1;
    return 0;
}

static int incident_show(zt_store *st, const zt_cli_args *a)
{
    int64_t id;
    if (!parse_id(a->pos[0], &id))
        return zt_cli_fail(ZT_CLI_USAGE, "incident id must be a positive number, not '%s'",
                           a->pos[0]);
    zt_store_incident inc;
    int rc = zt_store_incident_get(st, id, &inc);
    if (rc != 0)
        return zt_cli_store_fail(rc, "incident", a->pos[0]);
    show_out o = {0};
    if (a->json) {
        json_t *j = inc_json(&inc);
        o.arr = json_array();
        rc = j != NULL && o.arr != NULL ? zt_store_incident_events(st, id, show_cb, &o) : -ENOMEM;
        if (rc == 0 && json_object_set(j, "timeline", o.arr) == 0) {
            json_decref(o.arr);
            return zt_cli_json_print(j);
        }
        json_decref(o.arr);
        json_decref(j);
        return rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                             : zt_cli_store_fail(rc, "incident", a->pos[0]);
    }
    char created[32], updated[32];
    zt_cli_time(inc.created_at, created);
    zt_cli_time(inc.updated_at, updated);
    printf("id:        %" PRId64
           "\ntitle:     %s\nseverity:  %s\nstatus:    %s\nuser:      %s%s%s%s\n"
           "device:    %s\ncreated:   %s\nupdated:   %s\ntimeline:\n",
           inc.id, inc.title, zt_risk_name((zt_risk)inc.severity),
           zt_store_incident_status_name(inc.status),
           inc.email[0]     ? inc.email
           : inc.user_id[0] ? inc.user_id
                            : "-",
           inc.email[0] ? " (" : "", inc.email[0] ? inc.user_id : "", inc.email[0] ? ")" : "",
           inc.device_id[0] ? inc.device_id : "-", created, updated);
    rc = zt_store_incident_events(st, id, show_cb, &o);
    if (rc != 0)
        return zt_cli_store_fail(rc, "incident", a->pos[0]);
    return o.failed || fflush(stdout) != 0 ? ZT_CLI_FAIL : ZT_CLI_OK;
}

static int incident_resolve(zt_store *st, const zt_cli_args *a)
{
    int64_t id;
    if (!parse_id(a->pos[0], &id))
        return zt_cli_fail(ZT_CLI_USAGE, "incident id must be a positive number, not '%s'",
                           a->pos[0]);
    if (config == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "cannot read the configuration");
    char err[256];
    zt_response_cfg rc_cfg = {.config = config,
                              .store = st,
                              .state_dir = config->state_dir,
                              .no_webhook = true,
                              .audit = spool_audit};
    zt_response *r = zt_response_new(&rc_cfg, err, sizeof(err));
    if (r == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s", err);
    zt_response_result res;
    int audit_rc = 0;
    int rc = zt_response_resolve_incident(r, zt_cli_actor(), id, 0, &res, &audit_rc);
    zt_response_free(r);
    if (rc == -EALREADY)
        return zt_cli_fail(ZT_CLI_FAIL, "incident %s is already resolved", a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "incident", a->pos[0]);
    printf("resolved incident %s", a->pos[0]);
    if (res.actions > 0)
        printf(" (%u undo action(s), %u failed)", res.actions, res.failed);
    printf("\n");
    zt_account_result done = {.audit_rc = audit_rc};
    if (zt_cli_account_done(&done) != ZT_CLI_OK)
        return ZT_CLI_FAIL;
    return res.failed > 0 ? ZT_CLI_FAIL : ZT_CLI_OK;
}

static const zt_cli_action incident_actions[] = {
    {"list", "list [--status S] [--json]",
     "list incidents, newest first (S: open, contained, resolved)", ZT_CLI_OPT_JSON, 0,
     incident_list},
    {"show", "show ID [--json]", "show one incident with its timeline in order", ZT_CLI_OPT_JSON, 1,
     incident_show},
    {"resolve", "resolve ID", "resolve an incident (releases device isolations it made)", 0, 1,
     incident_resolve},
};

/* Take `--status X`/`--status=X` out of argv (list only). */
static int take_status(int *argc, char **argv)
{
    int w = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--status", 8) == 0 && a[8] == '=') {
            opt_status = a + 9;
        } else if (strcmp(a, "--status") == 0) {
            if (i + 1 >= *argc)
                return zt_cli_fail(ZT_CLI_USAGE, "--status needs a value");
            opt_status = argv[++i];
        } else {
            argv[w++] = argv[i];
        }
    }
    *argc = w;
    return 0;
}

int zt_cmd_incident(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0 && take_status(&argc, argv) != 0)
        return ZT_CLI_USAGE;
    if (argc >= 2 && strcmp(argv[1], "resolve") == 0) {
        zt_diags d;
        zt_diags_init(&d);
        config = zt_config_load(zt_cli_config_path(argc, argv), &d);
        zt_diags_dispose(&d);
    }
    int rc = zt_cli_dispatch("incident", incident_actions,
                             sizeof(incident_actions) / sizeof(incident_actions[0]), argc, argv);
    zt_config_free(config);
    config = NULL;
    return rc;
}
