/* `ztgate risk ACTION`: list, show, dismiss, confirm-compromised, remediate. Changes go through
 * the risk engine's state machine and then bump STATE_DIR/revocation so running gateways reload
 * each session's user risk on its next request.
 *
 * confirm-compromised is zt_response_confirm_compromised (src/response/confirm.h), the function
 * the admin API runs: executed here against the shared store, with the configured playbooks, its
 * audit records queued in STATE_DIR/audit-spool (the gateway appends them after this command's
 * own record) and its webhook notifications sent from this process, which waits for them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/levels.h"
#include "identity/secretbox.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "response/confirm.h"
#include "response/webhook.h"
#include "risk/risk.h"
#include "session/session.h"

/* list's own options, taken out of argv before the shared parser sees it. */
static struct {
    const char *user;  /* --user EMAIL */
    const char *state; /* --state S */
} opts;

static char state_dir[4096];
static zt_config *config; /* playbooks, webhook and keys for confirm-compromised */

static void remember_state_dir(int argc, char **argv)
{
    zt_diags d;
    zt_diags_init(&d);
    config = zt_config_load(zt_cli_config_path(argc, argv), &d);
    if (config != NULL && config->state_dir != NULL)
        snprintf(state_dir, sizeof(state_dir), "%s", config->state_dir);
    zt_diags_dispose(&d);
}

/* The change is committed; running gateways still cache the old user risk until told. */
static int tell_gateways(int rc)
{
    if (rc != ZT_CLI_OK)
        return rc;
    int b = state_dir[0] != '\0' ? zt_revocation_bump(state_dir) : -EINVAL;
    if (b == 0)
        return ZT_CLI_OK;
    return zt_cli_fail(ZT_CLI_FAIL,
                       "the change is saved, but running gateways were not told: cannot update "
                       "%s/%s (%s); they keep using cached risk until restarted",
                       state_dir[0] != '\0' ? state_dir : "(state_dir)", ZT_REVOCATION_FILE,
                       strerror(-b));
}

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

/* A detection id: a positive decimal number, nothing else. */
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

static zt_risk_engine *engine(zt_store *st)
{
    char err[256];
    zt_risk_engine *eng = zt_risk_new(NULL, st, err, sizeof(err));
    if (eng == NULL)
        zt_cli_fail(ZT_CLI_FAIL, "%s", err);
    return eng;
}

static json_t *det_json(const zt_store_detection *d)
{
    json_error_t jerr;
    json_t *ev = json_loads(d->evidence, 0, &jerr);
    if (ev == NULL)
        ev = json_string(d->evidence);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o}", "id",
                     (json_int_t)d->id, "user_id", d->user_id, "email", d->email, "type", d->type,
                     "activity", d->user_activity ? "user" : "signin", "level",
                     zt_risk_name((zt_risk)d->level), "state", zt_store_risk_state_name(d->state),
                     "detail", d->detail, "evidence", ev, "ip", d->ip, "session_hash",
                     d->session_hash, "created_at", zt_cli_json_time(d->created_at), "updated_at",
                     zt_cli_json_time(d->updated_at));
}

typedef struct list_out {
    zt_cli_table t;
    json_t *arr;
} list_out;

static int list_cb(void *ctx, const zt_store_detection *d)
{
    list_out *o = ctx;
    if (o->arr != NULL)
        return json_array_append_new(o->arr, det_json(d)) == 0 ? 0 : -ENOMEM;
    char id[24], created[32];
    snprintf(id, sizeof(id), "%" PRId64, d->id);
    zt_cli_time(d->created_at, created);
    const char *row[] = {id,
                         d->email,
                         d->type,
                         zt_risk_name((zt_risk)d->level),
                         zt_store_risk_state_name(d->state),
                         d->ip[0] ? d->ip : NULL,
                         created};
    return zt_cli_table_add(&o->t, row);
}

static int risk_list(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"ID", "USER", "TYPE", "LEVEL", "STATE", "IP", "CREATED"};
    zt_store_risk_filter f = {NULL, -1, 0};
    zt_store_risk_state s;
    zt_user u;
    memset(&u, 0, sizeof(u));
    if (opts.state != NULL) {
        if (!zt_store_risk_state_parse(opts.state, &s))
            return zt_cli_fail(ZT_CLI_USAGE,
                               "--state must be at_risk, remediated, dismissed or "
                               "confirmed_compromised, not '%s'",
                               opts.state);
        f.state = (int)s;
    }
    if (opts.user != NULL) {
        int rc = zt_store_user_get_by_email(st, opts.user, &u);
        if (rc != 0)
            return zt_cli_store_fail(rc, "user", opts.user);
        f.user_id = u.id;
    }
    list_out o;
    memset(&o, 0, sizeof(o));
    int rc =
        a->json ? ((o.arr = json_array()) != NULL ? 0 : -ENOMEM) : zt_cli_table_init(&o.t, 7, head);
    if (rc == 0)
        rc = zt_store_detection_list(st, &f, list_cb, &o);
    if (rc == 0 && o.arr != NULL) {
        rc = zt_cli_json_print(o.arr);
        o.arr = NULL;
    } else if (rc == 0) {
        rc = zt_cli_table_print(&o.t);
    } else if (rc == -ENOMEM) {
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    } else {
        rc = zt_cli_store_fail(rc, "detection", NULL);
    }
    json_decref(o.arr);
    zt_cli_table_dispose(&o.t);
    zt_user_dispose(&u);
    return rc;
}

static int risk_show(zt_store *st, const zt_cli_args *a)
{
    int64_t id;
    if (!parse_id(a->pos[0], &id))
        return zt_cli_fail(ZT_CLI_USAGE, "detection id must be a positive number, not '%s'",
                           a->pos[0]);
    zt_store_detection d;
    int rc = zt_store_detection_get(st, id, &d);
    if (rc != 0)
        return zt_cli_store_fail(rc, "detection", a->pos[0]);
    if (a->json)
        return zt_cli_json_print(det_json(&d));
    char created[32], updated[32];
    zt_cli_time(d.created_at, created);
    zt_cli_time(d.updated_at, updated);
    printf("id:        %" PRId64 "\nuser:      %s (%s)\ntype:      %s (%s risk)\nlevel:     %s\n"
           "state:     %s%s%s%s\nevidence:  %s\nip:        %s\nsession:   %s\ncreated:   %s\n"
           "updated:   %s\n",
           d.id, d.email, d.user_id, d.type, d.user_activity ? "user" : "sign-in",
           zt_risk_name((zt_risk)d.level), zt_store_risk_state_name(d.state),
           d.detail[0] ? " (" : "", d.detail, d.detail[0] ? ")" : "", d.evidence,
           d.ip[0] ? d.ip : "-", d.session_hash[0] ? d.session_hash : "-", created, updated);
    return ZT_CLI_OK;
}

static int risk_dismiss(zt_store *st, const zt_cli_args *a)
{
    int64_t id;
    if (!parse_id(a->pos[0], &id))
        return zt_cli_fail(ZT_CLI_USAGE, "detection id must be a positive number, not '%s'",
                           a->pos[0]);
    zt_risk_engine *eng = engine(st);
    if (eng == NULL)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_verdict_result res;
    int rc = zt_response_risk_dismiss(&env, eng, zt_cli_actor(), id, &res);
    zt_risk_free(eng);
    if (rc == -EALREADY)
        return zt_cli_fail(ZT_CLI_FAIL, "detection %s is already closed (remediated or dismissed)",
                           a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "detection", a->pos[0]);
    printf("dismissed detection %s\n", a->pos[0]);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    return zt_cli_account_done(&done);
}

/* remediate: a user by email, through the engine. */
static int risk_remediate(zt_store *st, const zt_cli_args *a)
{
    zt_user u;
    int rc = zt_store_user_get_by_email(st, a->pos[0], &u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    zt_risk_engine *eng = engine(st);
    zt_risk_event ev;
    memset(&ev, 0, sizeof(ev));
    rc = eng != NULL ? zt_risk_remediate_user(eng, u.id, now_s(), &ev) : -ENOMEM;
    zt_risk_free(eng);
    if (rc != 0) {
        zt_user_dispose(&u);
        return eng == NULL ? ZT_CLI_FAIL : zt_cli_store_fail(rc, "user", NULL);
    }
    printf("remediated %" PRIu64 " open detection(s) of %s\n", ev.n, u.email);
    zt_user_dispose(&u);
    return tell_gateways(ZT_CLI_OK);
}

/* Playbook steps are audit records like the gateway's, queued for it to append; ctx counts
 * the ones that could not be queued. */
static int spool_audit(void *ctx, const char *json, size_t len)
{
    int rc = zt_cli_audit_queue(json, len);
    if (rc != 0)
        ++*(unsigned *)ctx;
    return rc;
}

/* Incident response in this process, as the gateway's: same playbooks, same webhook and key. */
static zt_response *cli_response(zt_store *st, zt_risk_engine *eng, unsigned *unaudited)
{
    char err[512];
    unsigned char key[ZT_SECRETBOX_KEY_LEN] = {0};
    bool derived = config->incidents.has_notify && config->incidents.notify.secret_file == NULL;
    if (derived) {
        zt_secretbox *box =
            zt_secretbox_load_key(config->auth.secrets_key, false, err, sizeof(err));
        if (box == NULL) {
            zt_cli_fail(ZT_CLI_FAIL, "incidents.notify signs with a key from auth.secrets_key: %s",
                        err);
            return NULL;
        }
        zt_secretbox_derive(box, "ztgate webhook v1", key);
        zt_secretbox_free(box);
    }
    zt_response_cfg rc = {.config = config,
                          .store = st,
                          .risk = eng,
                          .state_dir = config->state_dir,
                          .notify_key = derived ? key : NULL,
                          .notify_key_len = derived ? sizeof(key) : 0,
                          .audit = spool_audit,
                          .audit_ctx = unaudited};
    zt_response *r = zt_response_new(&rc, err, sizeof(err));
    zt_wipe(key, sizeof(key));
    if (r == NULL)
        zt_cli_fail(ZT_CLI_FAIL, "%s", err);
    return r;
}

/* Every attempt the gateway's notifier would make: each timeout plus each backoff. */
static uint64_t webhook_patience_ms(void)
{
    const zt_webhook_cfg *n = &config->incidents.notify;
    uint64_t total = n->timeout_ms, backoff = n->backoff_ms;
    for (unsigned i = 0; i < n->retries; i++) {
        total += n->timeout_ms + backoff;
        backoff = backoff * 2 > ZT_WEBHOOK_BACKOFF_MAX_MS ? ZT_WEBHOOK_BACKOFF_MAX_MS : backoff * 2;
    }
    return total + 1000;
}

/* Notifications queued by the playbooks leave before the command ends; the number that could
 * not be delivered. */
static uint64_t deliver_notifications(zt_response *r)
{
    zt_webhook *w = zt_response_webhook(r);
    if (w == NULL)
        return 0;
    zt_webhook_drain(w, webhook_patience_ms());
    zt_webhook_stats ws;
    zt_webhook_stats_get(w, &ws);
    return ws.queued - ws.delivered;
}

/* What a verdict on one user needs: the user, the risk engine and incident response (whose
 * playbook records go to the spool; unaudited counts those that could not). */
typedef struct verdict_ctx {
    zt_user u;
    zt_risk_engine *eng;
    zt_response *r;
    unsigned unaudited;
} verdict_ctx;

/* ZT_CLI_OK with v filled, else the exit status (the failure said). */
static int verdict_open(zt_store *st, const char *email, verdict_ctx *v)
{
    memset(v, 0, sizeof(*v));
    if (config == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "cannot read the configuration");
    int rc = zt_store_user_get_by_email(st, email, &v->u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", email);
    v->eng = engine(st);
    v->r = v->eng != NULL ? cli_response(st, v->eng, &v->unaudited) : NULL;
    if (v->r == NULL) {
        zt_risk_free(v->eng);
        zt_user_dispose(&v->u);
        return ZT_CLI_FAIL;
    }
    return ZT_CLI_OK;
}

/* After a saved verdict: what could not follow it (its records, its webhooks). */
static int verdict_aftermath(unsigned unaudited, uint64_t undelivered)
{
    if (unaudited > 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "the change is saved, but %u of its audit record(s) could not be "
                           "queued in STATE_DIR/" ZT_AUDIT_SPOOL_DIR,
                           unaudited);
    if (undelivered > 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "the change is saved, but %" PRIu64 " webhook notification(s) could "
                           "not be delivered to incidents.notify",
                           undelivered);
    return ZT_CLI_OK;
}

static int risk_confirm(zt_store *st, const zt_cli_args *a)
{
    verdict_ctx v;
    int rc = verdict_open(st, a->pos[0], &v);
    if (rc != ZT_CLI_OK)
        return rc;
    zt_confirm_req q = {.user_id = v.u.id,
                        .email = v.u.email,
                        .actor = "cli",
                        .request_id = zt_cli_request_id(),
                        .who = zt_cli_actor()};
    zt_confirm_result res;
    rc = zt_response_confirm_compromised(v.r, &q, &res);
    uint64_t undelivered = rc == 0 ? deliver_notifications(v.r) : 0;
    zt_response_free(v.r);
    zt_risk_free(v.eng);
    if (rc != 0) {
        zt_user_dispose(&v.u);
        return zt_cli_store_fail(rc, "user", NULL);
    }
    printf("confirmed %s compromised: user risk is high (detection %" PRId64
           "); every session of the user is revoked. The user signs in with MFA and changes "
           "the password to recover\n",
           v.u.email, res.risk.detection_id);
    if (res.incident.incident_id > 0)
        printf("incident %" PRId64 "%s: %u playbook action(s), %u failed\n",
               res.incident.incident_id, res.incident.opened ? " opened" : " updated",
               res.incident.actions, res.incident.failed);
    zt_user_dispose(&v.u);
    if (res.revocation_rc != 0)
        return tell_gateways(ZT_CLI_OK);
    if (res.incident_rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "the change is saved, but the incident could not be "
                           "recorded: %s",
                           strerror(-res.incident_rc));
    int after = verdict_aftermath(v.unaudited, undelivered);
    if (after != ZT_CLI_OK)
        return after;
    return res.incident.failed > 0 ? ZT_CLI_FAIL : ZT_CLI_OK;
}

/* dismiss-user: every open detection of a user, and the user's incident resolved (its
 * isolations undone) - the same service call as the admin API's dismiss-risk and the console's
 * "Dismiss user risk". */
static int risk_dismiss_user(zt_store *st, const zt_cli_args *a)
{
    verdict_ctx v;
    int rc = verdict_open(st, a->pos[0], &v);
    if (rc != ZT_CLI_OK)
        return rc;
    zt_account_env env = zt_cli_account_env(st);
    zt_verdict_result res;
    rc = zt_response_risk_dismiss_user(&env, v.eng, v.r, zt_cli_actor(), v.u.id, &res);
    uint64_t undelivered = rc == 0 ? deliver_notifications(v.r) : 0;
    zt_response_free(v.r);
    zt_risk_free(v.eng);
    if (rc != 0) {
        zt_user_dispose(&v.u);
        return zt_cli_store_fail(rc, "user", NULL);
    }
    printf("%s: %s\n", v.u.email, res.change);
    zt_user_dispose(&v.u);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    int out = zt_cli_account_done(&done);
    if (out != ZT_CLI_OK)
        return out;
    if (res.incident_rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL,
                           "the change is saved, but the user's incident could not be resolved: "
                           "%s",
                           strerror(-res.incident_rc));
    return verdict_aftermath(v.unaudited, undelivered);
}

static const zt_cli_action risk_actions[] = {
    {"list", "list [--user EMAIL] [--state S] [--json]",
     "list detections, newest first (S: at_risk, remediated, dismissed, confirmed_compromised)",
     ZT_CLI_OPT_JSON, 0, risk_list},
    {"show", "show ID [--json]", "show one detection with its evidence", ZT_CLI_OPT_JSON, 1,
     risk_show},
    {"dismiss", "dismiss ID", "dismiss one open detection (admin: not a risk)", 0, 1, risk_dismiss},
    {"dismiss-user", "dismiss-user EMAIL",
     "dismiss every open detection of a user and resolve the user's incident", 0, 1,
     risk_dismiss_user},
    {"confirm-compromised", "confirm-compromised EMAIL",
     "confirm a user compromised: user risk becomes high", 0, 1, risk_confirm},
    {"remediate", "remediate EMAIL",
     "mark a user's open detections remediated (after a secure password reset)", 0, 1,
     risk_remediate},
};

/* Take `--user X`/`--user=X` and `--state X`/`--state=X` out of argv (list only). */
static int take_list_opts(int *argc, char **argv)
{
    int w = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char **dst = strncmp(a, "--user", 6) == 0    ? &opts.user
                           : strncmp(a, "--state", 7) == 0 ? &opts.state
                                                           : NULL;
        size_t n = dst == &opts.user ? 6 : 7;
        if (dst != NULL && a[n] == '=') {
            *dst = a + n + 1;
        } else if (dst != NULL && a[n] == '\0') {
            if (i + 1 >= *argc)
                return zt_cli_fail(ZT_CLI_USAGE, "%s needs a value", a);
            *dst = argv[++i];
        } else {
            argv[w++] = argv[i];
        }
    }
    *argc = w;
    return 0;
}

int zt_cmd_risk(int argc, char **argv)
{
    remember_state_dir(argc, argv);
    int rc = ZT_CLI_USAGE;
    if (argc < 2 || strcmp(argv[1], "list") != 0 || take_list_opts(&argc, argv) == 0)
        rc = zt_cli_dispatch("risk", risk_actions, sizeof(risk_actions) / sizeof(risk_actions[0]),
                             argc, argv);
    zt_config_free(config);
    config = NULL;
    return rc;
}
