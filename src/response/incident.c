/* Signal correlation into incidents, the timeline, and running playbooks (incident.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/event.h"
#include "lib/buf.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "response/incident.h"
#include "response/playbook.h"
#include "response/webhook.h"

#define AUDIT_EVENT_MAX (16 * 1024)

struct zt_response {
    pthread_mutex_t mu; /* one signal at a time: correlation reads then writes */
    zt_store *store;
    struct zt_risk_engine *risk;
    char *state_dir;
    zt_webhook *webhook;
    zt_response_audit_fn audit;
    void *audit_ctx;
    int64_t window_s;
    zt_risk min_severity;
    size_t n_pbs;
    zt_playbook pbs[ZT_PB_MAX];
};

/* What every timeline step of one signal shares. */
typedef struct step_ctx {
    zt_response *r;
    const zt_signal *s;
    zt_store_incident inc; /* id 0: no incident (actions still run and are audited) */
    int64_t now;
} step_ctx;

const char *zt_signal_kind_name(zt_signal_kind k)
{
    return k == ZT_SIGNAL_DETECTION     ? "detection"
           : k == ZT_SIGNAL_REMEDIATION ? "remediation"
           : k == ZT_SIGNAL_ADMIN       ? "admin"
                                        : "unknown";
}

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static const char *opt(const char *s)
{
    return has(s) ? s : NULL;
}

/* ---- titles ---- */

static const struct {
    const char *type, *label;
} type_labels[] = {
    {"leaked_credentials", "Leaked credentials"},
    {"anonymous_ip", "Sign-in from an anonymous IP address"},
    {"malicious_ip", "Sign-in from a malicious IP address"},
    {"password_spray", "Password spray"},
    {"impossible_travel", "Impossible travel"},
    {"atypical_travel", "Atypical travel"},
    {"unfamiliar_sign_in", "Unfamiliar sign-in"},
    {"admin_confirmed_compromised", "Account confirmed compromised"},
    {"cloned_credential", "Possibly cloned passkey"},
    {"user_reported_suspicious", "Activity reported by the user as not theirs"},
    {"malware", "Malware"},
    {"device_noncompliant", "Non-compliant device"},
    {"device_silent", "Silent agent"},
};

void zt_response_title(const zt_signal *s, char *out, size_t cap)
{
    const char *label = has(s->type) ? s->type : "Detection";
    for (size_t i = 0; i < sizeof(type_labels) / sizeof(type_labels[0]); i++)
        if (has(s->type) && strcmp(s->type, type_labels[i].type) == 0)
            label = type_labels[i].label;
    bool device_first = has(s->type) && (strcmp(s->type, "malware") == 0 ||
                                         strcmp(s->type, "device_noncompliant") == 0 ||
                                         strcmp(s->type, "device_silent") == 0);
    const char *dev = has(s->device_name) ? s->device_name : s->device_id;
    const char *user = has(s->email) ? s->email : s->user_id;
    if (has(dev) && (device_first || !has(user)))
        snprintf(out, cap, "%s on device %s", label, dev);
    else if (has(user))
        snprintf(out, cap, "%s for %s", label, user);
    else
        snprintf(out, cap, "%s", label);
}

/* ---- audit ---- */

static zt_event_severity ocsf_severity(int level)
{
    return level >= ZT_RISK_HIGH     ? ZT_SEV_HIGH
           : level == ZT_RISK_MEDIUM ? ZT_SEV_MEDIUM
           : level == ZT_RISK_LOW    ? ZT_SEV_LOW
                                     : ZT_SEV_INFO;
}

/* One Detection Finding per timeline step (docs/INCIDENTS.md). */
static void audit_step(const step_ctx *sc, unsigned activity, const zt_store_incident_event *e,
                       const char *action, const char *result)
{
    zt_response *r = sc->r;
    if (r->audit == NULL)
        return;
    char uid[32];
    zt_buf b;
    zt_event ev;
    zt_buf_init(&b, AUDIT_EVENT_MAX);
    int sev = sc->inc.id > 0 ? sc->inc.severity : (int)sc->s->severity;
    zt_event_begin(&ev, &b, ZT_EV_DETECTION_FINDING, activity, ocsf_severity(sev));
    zt_event_str(&ev, "message", e->summary);
    snprintf(uid, sizeof(uid), "incident:%" PRId64, sc->inc.id);
    if (sc->inc.id > 0) {
        zt_event_str(&ev, "finding_info.uid", uid);
        zt_event_str(&ev, "finding_info.title", sc->inc.title);
        zt_event_int(&ev, "incident.id", sc->inc.id);
        zt_event_str(&ev, "incident.status", zt_store_incident_status_name(sc->inc.status));
        zt_event_str(&ev, "incident.severity", zt_risk_name((zt_risk)sc->inc.severity));
    }
    zt_event_str(&ev, "incident.event", e->kind);
    zt_event_str(&ev, "incident.signal_type", opt(sc->s->type));
    zt_event_str(&ev, "incident.playbook", opt(e->playbook));
    zt_event_str(&ev, "incident.action", action);
    zt_event_str(&ev, "incident.result", result);
    const char *user_id = has(sc->s->user_id) ? sc->s->user_id : opt(sc->inc.user_id);
    zt_event_str(&ev, "user.uid", user_id);
    zt_event_str(&ev, "user.email_addr", opt(sc->s->email));
    zt_event_str(&ev, "device.uid",
                 has(sc->s->device_id) ? sc->s->device_id : opt(sc->inc.device_id));
    zt_event_metadata(&ev, opt(sc->s->request_id), sc->inc.id > 0 ? uid : NULL);
    if (zt_event_end(&ev) == 0)
        r->audit(r->audit_ctx, b.data, b.len);
    zt_buf_dispose(&b);
}

/* ---- timeline ---- */

/* Serialise `o` (stolen) into the event's detail; {} when it does not fit. */
static void set_detail(zt_store_incident_event *e, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    snprintf(e->detail, sizeof(e->detail), "%s",
             s != NULL && strlen(s) < sizeof(e->detail) ? s : "{}");
    free(s);
    json_decref(o);
}

static void init_event(zt_store_incident_event *e, const step_ctx *sc, const char *kind,
                       const char *playbook, const char *summary)
{
    memset(e, 0, sizeof(*e));
    e->at = sc->now;
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->summary, sizeof(e->summary), "%s", has(summary) ? summary : kind);
    /* The store refuses control characters; a summary is one line. */
    for (char *p = e->summary; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    snprintf(e->playbook, sizeof(e->playbook), "%s", playbook != NULL ? playbook : "");
    if (has(sc->s->request_id) && strlen(sc->s->request_id) <= ZT_STORE_INC_REQUEST_MAX &&
        strspn(sc->s->request_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "-_.:") == strlen(sc->s->request_id))
        snprintf(e->request_id, sizeof(e->request_id), "%s", sc->s->request_id);
}

/* Add e to the incident (when there is one) with update u, refresh sc->inc, then audit. */
static int record(step_ctx *sc, zt_store_incident_event *e, const zt_store_incident_update *u,
                  unsigned activity, const char *action, const char *result)
{
    int rc = 0;
    if (sc->inc.id > 0) {
        rc = zt_store_incident_append(sc->r->store, sc->inc.id, u, e);
        if (rc == 0)
            rc = zt_store_incident_get(sc->r->store, sc->inc.id, &sc->inc);
    }
    audit_step(sc, activity, e, action, result);
    return rc;
}

static json_t *signal_detail(const zt_signal *s)
{
    json_t *ev = NULL;
    if (has(s->evidence) && strlen(s->evidence) <= ZT_SIGNAL_EVIDENCE_MAX)
        ev = json_loads(s->evidence, JSON_REJECT_DUPLICATES, NULL);
    if (ev != NULL && !json_is_object(ev)) {
        json_decref(ev);
        ev = NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o}", "signal", zt_signal_kind_name(s->kind),
                     "type", s->type, "severity", zt_risk_name(s->severity), "user_id",
                     opt(s->user_id), "device_id", opt(s->device_id), "evidence",
                     ev != NULL ? ev : json_object());
}

/* ---- playbook steps ---- */

static const zt_pb_env *env_of(const zt_response *r, zt_pb_env *env)
{
    *env = (zt_pb_env){r->store, r->risk, r->state_dir, r->webhook, r->audit, r->audit_ctx};
    return env;
}

static void target_of(const step_ctx *sc, const char *playbook, zt_pb_target *t)
{
    const zt_signal *s = sc->s;
    *t = (zt_pb_target){
        .playbook = playbook,
        .incident_id = sc->inc.id,
        .title = sc->inc.title,
        .severity = sc->inc.id > 0 ? (zt_risk)sc->inc.severity : s->severity,
        .status = sc->inc.id > 0 ? zt_store_incident_status_name(sc->inc.status) : "",
        .type = s->type,
        .user_id = has(s->user_id) ? s->user_id : sc->inc.user_id,
        .email = s->email,
        .device_id = has(s->device_id) ? s->device_id : sc->inc.device_id,
        .summary = s->summary,
        .now = sc->now,
    };
}

static int run_step(step_ctx *sc, const zt_pb_step *st, zt_response_result *out)
{
    const zt_playbook *pb = &sc->r->pbs[st->playbook];
    char summary[ZT_PB_SUMMARY_MAX];
    zt_pb_env env;
    zt_pb_target t;
    target_of(sc, pb->name, &t);
    zt_pb_result res =
        zt_playbook_run(env_of(sc->r, &env), st->action, &t, summary, sizeof(summary));
    out->actions++;
    out->failed += res == ZT_PB_FAILED;
    zt_store_incident_event e;
    init_event(&e, sc, "action", pb->name, summary);
    const char *action = zt_pb_action_name(st->action);
    set_detail(&e, json_pack("{s:s, s:s}", "action", action, "result", zt_pb_result_name(res)));
    int rc = record(sc, &e, NULL, ZT_ACT_FINDING_UPDATE, action, zt_pb_result_name(res));
    if (rc != 0 || res != ZT_PB_DONE || !zt_pb_action_contains(st->action) || sc->inc.id == 0 ||
        sc->inc.status != ZT_STORE_INC_OPEN)
        return rc;
    zt_store_incident_update u = {.status = ZT_STORE_INC_CONTAINED,
                                  .from_mask = 1u << ZT_STORE_INC_OPEN};
    init_event(&e, sc, "status", pb->name, "status: contained (automatic containment ran)");
    set_detail(&e, json_pack("{s:s, s:s}", "from", "open", "to", "contained"));
    rc = record(sc, &e, &u, ZT_ACT_FINDING_UPDATE, NULL, NULL);
    return rc == -EALREADY ? 0 : rc; /* resolved meanwhile by an admin */
}

/* ---- detection ---- */

/* Join the subject's open incident or open one, in one store step: with several gateways on
 * one database, two of them seeing detections of one user at once still make one incident. */
static int open_or_join(step_ctx *sc, bool may_open, zt_response_result *out)
{
    zt_response *r = sc->r;
    const zt_signal *s = sc->s;
    zt_store_incident_event e;
    init_event(&e, sc, "detection", NULL, s->summary);
    set_detail(&e, signal_detail(s));
    zt_store_incident_update u = {.severity = (int)s->severity,
                                  .status = -1,
                                  .user_id = opt(s->user_id),
                                  .device_id = opt(s->device_id)};
    memset(&sc->inc, 0, sizeof(sc->inc));
    zt_response_title(s, sc->inc.title, sizeof(sc->inc.title));
    sc->inc.severity = s->severity > ZT_RISK_NONE ? (int)s->severity : ZT_RISK_LOW;
    snprintf(sc->inc.user_id, sizeof(sc->inc.user_id), "%s", has(s->user_id) ? s->user_id : "");
    snprintf(sc->inc.device_id, sizeof(sc->inc.device_id), "%s",
             has(s->device_id) ? s->device_id : "");
    sc->inc.created_at = sc->now;
    bool opened = false;
    int rc = zt_store_incident_join_or_open(r->store, &sc->inc, sc->now - r->window_s, &u, may_open,
                                            &e, &opened);
    if (rc != 0) {
        memset(&sc->inc, 0, sizeof(sc->inc));
        return rc == -ENOENT ? 0 : rc; /* -ENOENT: none open and this one may not open one */
    }
    if (opened)
        out->opened = true;
    audit_step(sc, opened ? ZT_ACT_FINDING_CREATE : ZT_ACT_FINDING_UPDATE, &e, NULL, NULL);
    return 0;
}

static int on_detection(step_ctx *sc, zt_response_result *out)
{
    zt_response *r = sc->r;
    zt_pb_step plan[ZT_PB_STEPS_MAX];
    size_t n =
        zt_playbook_plan(r->pbs, r->n_pbs, sc->s->type, sc->s->severity, plan, ZT_PB_STEPS_MAX);
    bool force = false;
    for (size_t i = 0; i < n; i++)
        force |= plan[i].action == ZT_PB_OPEN_INCIDENT;
    int rc = open_or_join(sc, force || sc->s->severity >= r->min_severity, out);
    /* Containment still runs when the incident could not be recorded: the threat is real. */
    for (size_t i = 0; i < n; i++) {
        int src = run_step(sc, &plan[i], out);
        if (rc == 0)
            rc = src;
    }
    return rc;
}

/* ---- remediation and resolution ---- */

typedef struct acted {
    char names[ZT_PB_MAX][ZT_PB_NAME_MAX + 1];
    size_t n;
} acted;

/* Playbooks that isolated a device for this incident (their events are the record). */
static int collect_isolations(void *ctx, const zt_store_incident_event *e)
{
    acted *a = ctx;
    if (strcmp(e->kind, "action") != 0 || e->playbook[0] == '\0' || a->n >= ZT_PB_MAX)
        return 0;
    json_t *d = json_loads(e->detail, 0, NULL);
    const char *act = json_string_value(json_object_get(d, "action"));
    const char *res = json_string_value(json_object_get(d, "result"));
    bool isolated = act != NULL && res != NULL && strcmp(act, "isolate_device") == 0 &&
                    strcmp(res, "done") == 0;
    json_decref(d);
    for (size_t i = 0; isolated && i < a->n; i++)
        isolated = strcmp(a->names[i], e->playbook) != 0;
    if (isolated)
        snprintf(a->names[a->n++], sizeof(a->names[0]), "%s", e->playbook);
    return 0;
}

static const zt_playbook *find_playbook(const zt_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_pbs; i++)
        if (strcmp(r->pbs[i].name, name) == 0)
            return &r->pbs[i];
    return NULL;
}

/* Undo isolations (all of them when an admin resolves; else those of playbooks with
 * undo_on_remediation), then mark the incident resolved. */
static int resolve(step_ctx *sc, const char *why, bool by_admin, zt_response_result *out)
{
    acted a;
    memset(&a, 0, sizeof(a));
    int rc = zt_store_incident_events(sc->r->store, sc->inc.id, collect_isolations, &a);
    for (size_t i = 0; rc == 0 && i < a.n; i++) {
        const zt_playbook *pb = find_playbook(sc->r, a.names[i]);
        if (!by_admin && (pb == NULL || !pb->undo_on_remediation))
            continue;
        char summary[ZT_PB_SUMMARY_MAX];
        zt_pb_env env;
        zt_pb_target t;
        target_of(sc, a.names[i], &t);
        t.device_id = sc->inc.device_id;
        zt_pb_result res = zt_playbook_undo(env_of(sc->r, &env), ZT_PB_ISOLATE_DEVICE, &t, summary,
                                            sizeof(summary));
        out->actions++;
        out->failed += res == ZT_PB_FAILED;
        zt_store_incident_event e;
        init_event(&e, sc, "undo", a.names[i], summary);
        set_detail(&e, json_pack("{s:s, s:s}", "action", "isolate_device", "result",
                                 zt_pb_result_name(res)));
        rc = record(sc, &e, NULL, ZT_ACT_FINDING_UPDATE, "isolate_device", zt_pb_result_name(res));
    }
    if (rc != 0)
        return rc;
    const char *from = zt_store_incident_status_name(sc->inc.status);
    zt_store_incident_update u = {.status = ZT_STORE_INC_RESOLVED,
                                  .from_mask =
                                      (1u << ZT_STORE_INC_OPEN) | (1u << ZT_STORE_INC_CONTAINED)};
    char summary[ZT_STORE_INC_SUMMARY_MAX];
    snprintf(summary, sizeof(summary), "status: resolved (%s)", why);
    zt_store_incident_event e;
    init_event(&e, sc, "status", NULL, summary);
    set_detail(&e, json_pack("{s:s, s:s}", "from", from, "to", "resolved"));
    rc = record(sc, &e, &u, ZT_ACT_FINDING_CLOSE, NULL, NULL);
    out->resolved = rc == 0;
    return rc;
}

static int on_remediation(step_ctx *sc, zt_response_result *out)
{
    const zt_signal *s = sc->s;
    int rc = zt_store_incident_find_open(sc->r->store, s->user_id, s->device_id, 0, &sc->inc);
    if (rc == -ENOENT) {
        memset(&sc->inc, 0, sizeof(sc->inc));
        return 0; /* nothing open: a remediation alone is no incident */
    }
    if (rc != 0)
        return rc;
    zt_store_incident_event e;
    init_event(&e, sc, s->kind == ZT_SIGNAL_ADMIN ? "admin" : "remediation", NULL, s->summary);
    set_detail(&e, signal_detail(s));
    rc = record(sc, &e, NULL, ZT_ACT_FINDING_UPDATE, NULL, NULL);
    if (rc != 0 || !s->resolves)
        return rc;
    char why[64];
    snprintf(why, sizeof(why), "%s: %s", s->kind == ZT_SIGNAL_ADMIN ? "admin" : "remediated",
             s->type);
    return resolve(sc, why, false, out);
}

static bool valid_signal(const zt_signal *s)
{
    size_t n = s != NULL && s->type != NULL ? strlen(s->type) : 0;
    return n > 0 && n <= ZT_SIGNAL_TYPE_MAX &&
           strspn(s->type, "abcdefghijklmnopqrstuvwxyz_") == n &&
           (has(s->user_id) || has(s->device_id)) && (unsigned)s->kind <= ZT_SIGNAL_ADMIN &&
           (unsigned)s->severity <= ZT_RISK_HIGH && s->now >= 0;
}

static int64_t now_s(int64_t now)
{
    return now > 0 ? now : zt_wall_us() / 1000000;
}

int zt_response_signal(zt_response *r, const zt_signal *s, zt_response_result *out)
{
    zt_response_result ignored;
    if (out == NULL)
        out = &ignored;
    memset(out, 0, sizeof(*out));
    if (r == NULL || !valid_signal(s))
        return -EINVAL;
    zt_signal copy = *s;
    char name[ZT_STORE_DEV_NAME_MAX + 1] = "";
    zt_store_device dev;
    /* The device's name makes a title an admin recognises. */
    if (s->kind == ZT_SIGNAL_DETECTION && has(s->device_id) && !has(s->device_name) &&
        zt_store_device_get(r->store, s->device_id, &dev) == 0) {
        snprintf(name, sizeof(name), "%s", dev.name);
        copy.device_name = name;
    }
    step_ctx sc = {.r = r, .s = &copy, .now = now_s(s->now)};
    pthread_mutex_lock(&r->mu);
    bool closes = s->kind == ZT_SIGNAL_REMEDIATION || (s->kind == ZT_SIGNAL_ADMIN && s->resolves);
    int rc = closes ? on_remediation(&sc, out) : on_detection(&sc, out);
    pthread_mutex_unlock(&r->mu);
    out->incident_id = sc.inc.id;
    return rc;
}

int zt_response_resolve(zt_response *r, int64_t id, const char *actor, int64_t now,
                        zt_response_result *out)
{
    zt_response_result ignored;
    if (out == NULL)
        out = &ignored;
    memset(out, 0, sizeof(*out));
    if (r == NULL)
        return -EINVAL;
    zt_signal s = {.kind = ZT_SIGNAL_ADMIN, .type = "admin_resolved", .resolves = true};
    step_ctx sc = {.r = r, .s = &s, .now = now_s(now)};
    char why[96];
    snprintf(why, sizeof(why), "by %s", has(actor) ? actor : "an admin");
    pthread_mutex_lock(&r->mu);
    int rc = zt_store_incident_get(r->store, id, &sc.inc);
    if (rc == 0 && sc.inc.status == ZT_STORE_INC_RESOLVED)
        rc = -EALREADY;
    if (rc == 0)
        rc = resolve(&sc, why, true, out);
    pthread_mutex_unlock(&r->mu);
    out->incident_id = rc == 0 ? id : 0;
    return rc;
}

/* ---- lifecycle ---- */

/* The HMAC key: secret_file's bytes (one trailing newline dropped), else the caller's. */
static int notify_key(const zt_response_cfg *cfg, unsigned char *key, size_t *len, char *err,
                      size_t errlen)
{
    const char *file = cfg->config->incidents.notify.secret_file;
    if (file == NULL) {
        if (cfg->notify_key == NULL || cfg->notify_key_len < ZT_WEBHOOK_KEY_MIN ||
            cfg->notify_key_len > ZT_WEBHOOK_KEY_MAX) {
            snprintf(err, errlen, "incidents.notify: no signing key (set secret_file)");
            return -EINVAL;
        }
        memcpy(key, cfg->notify_key, cfg->notify_key_len);
        *len = cfg->notify_key_len;
        return 0;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n = fd >= 0 ? read(fd, key, ZT_WEBHOOK_KEY_MAX + 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n > 0 && key[n - 1] == '\n')
        n--;
    if (n < ZT_WEBHOOK_KEY_MIN || n > ZT_WEBHOOK_KEY_MAX) {
        snprintf(err, errlen, "incidents.notify.secret_file %s: need %d..%d bytes of key", file,
                 ZT_WEBHOOK_KEY_MIN, ZT_WEBHOOK_KEY_MAX);
        zt_wipe(key, ZT_WEBHOOK_KEY_MAX + 1);
        return -EINVAL;
    }
    *len = (size_t)n;
    return 0;
}

static int start_webhook(zt_response *r, const zt_response_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->no_webhook || !cfg->config->incidents.has_notify)
        return 0;
    unsigned char key[ZT_WEBHOOK_KEY_MAX + 1];
    size_t len = 0;
    int rc = notify_key(cfg, key, &len, err, errlen);
    if (rc != 0)
        return rc;
    r->webhook = zt_webhook_new(&cfg->config->incidents.notify, key, len, err, errlen);
    zt_wipe(key, sizeof(key));
    return r->webhook != NULL ? 0 : -EINVAL;
}

zt_response *zt_response_new(const zt_response_cfg *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || cfg->config == NULL || cfg->store == NULL) {
        snprintf(err, errlen, "response: no configuration or store");
        return NULL;
    }
    zt_response *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "response: out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->store = cfg->store;
    r->risk = cfg->risk;
    r->audit = cfg->audit;
    r->audit_ctx = cfg->audit_ctx;
    r->window_s = (int64_t)(cfg->config->incidents.correlation_window_ms / 1000);
    r->min_severity = (zt_risk)cfg->config->incidents.min_severity;
    if (r->window_s <= 0)
        r->window_s = 3600;
    if (r->min_severity == ZT_RISK_NONE)
        r->min_severity = ZT_RISK_MEDIUM;
    int rc =
        cfg->state_dir != NULL && (r->state_dir = strdup(cfg->state_dir)) == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = zt_playbooks_from_config(cfg->config, r->pbs, ZT_PB_MAX, &r->n_pbs, err, errlen);
    if (rc == 0)
        rc = start_webhook(r, cfg, err, errlen);
    if (rc != 0) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "response: out of memory");
        zt_response_free(r);
        return NULL;
    }
    return r;
}

void zt_response_free(zt_response *r)
{
    if (r == NULL)
        return;
    zt_webhook_free(r->webhook);
    pthread_mutex_destroy(&r->mu);
    free(r->state_dir);
    free(r);
}

zt_webhook *zt_response_webhook(zt_response *r)
{
    return r != NULL ? r->webhook : NULL;
}

zt_store *zt_response_store(zt_response *r)
{
    return r != NULL ? r->store : NULL;
}

struct zt_risk_engine *zt_response_risk(zt_response *r)
{
    return r != NULL ? r->risk : NULL;
}

const char *zt_response_state_dir(zt_response *r)
{
    return r != NULL ? r->state_dir : NULL;
}

zt_audit_sink zt_response_audit_sink(zt_response *r)
{
    return (zt_audit_sink){.write = r != NULL ? r->audit : NULL,
                           .ctx = r != NULL ? r->audit_ctx : NULL};
}
