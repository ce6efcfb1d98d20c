/* Measuring for the assessment (assess.h): the config part is pure (it reads the parsed policies
 * as the policy compiler does, and answers "which apps does an enforced policy for every user
 * always protect with X"); the store part counts through store calls; the audit part reads the
 * log over a window (audit_stats.c). Nothing here writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assess/assess.h"
#include "assess/assess_int.h"
#include "policy/policy.h"

/* ---- config ---- */

static bool words_have(const zt_cfg_word *w, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].s != NULL && strcasecmp(w[i].s, s) == 0)
            return true;
    return false;
}

static bool users_all(const zt_assign_cfg *u)
{
    return words_have(u->include, u->n_include, "all");
}

/* "all", the app's name or its "sensitivity:LEVEL". */
static bool names_app(const zt_cfg_word *w, size_t n, const zt_app_cfg *app)
{
    char sens[32];
    snprintf(sens, sizeof(sens), "sensitivity:%s", zt_sensitivity_name(app->sensitivity));
    for (size_t i = 0; i < n; i++)
        if (w[i].s != NULL && (strcmp(w[i].s, "all") == 0 || strcmp(w[i].s, app->name) == 0 ||
                               strcasecmp(w[i].s, sens) == 0))
            return true;
    return false;
}

static bool applies_to_app(const zt_policy_cfg *p, const zt_app_cfg *app)
{
    return names_app(p->apps.include, p->apps.n_include, app) &&
           !names_app(p->apps.exclude, p->apps.n_exclude, app);
}

/* A condition narrows a policy to some requests: such a policy does not "always" protect. */
static bool unconditioned(const zt_cond_cfg *c)
{
    return c->user_risk_mask == 0 && c->sign_in_risk_mask == 0 && !c->has_device &&
           !c->has_locations && !c->has_anonymous_ip && c->client_mask == 0 && !c->has_time;
}

/* Whether the grant always asks for one of `family` (AND: any of them listed; OR: every
 * listed control is of the family, so whichever is met is one of them). */
static bool demands(const zt_grant_cfg *g, unsigned family)
{
    unsigned c = g->controls;
    if (g->has_strength)
        c |= ZT_CTL_PHISHING_RESISTANT_MFA;
    if (g->block || c == 0)
        return false;
    return g->operator_or ? (c & ~family) == 0 : (c & family) != 0;
}

typedef struct app_cover {
    bool policy, mfa, pr, compliant, restrict_, risk;
} app_cover;

static void cover_app(const zt_config *cfg, const zt_app_cfg *app, app_cover *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const zt_policy_cfg *p = &cfg->policies[i];
        if (p->state != ZT_POLICY_ON || !users_all(&p->users) || !applies_to_app(p, app))
            continue;
        if (p->conditions.user_risk_mask != 0 || p->conditions.sign_in_risk_mask != 0)
            out->risk = true;
        if (p->session.restrict_flags != 0)
            out->restrict_ = true;
        if (!unconditioned(&p->conditions))
            continue;
        if (p->grant.block || p->grant.controls != 0 || p->grant.has_strength)
            out->policy = true;
        out->mfa |= demands(&p->grant, ZT_CTL_MFA | ZT_CTL_PHISHING_RESISTANT_MFA);
        out->pr |= demands(&p->grant, ZT_CTL_PHISHING_RESISTANT_MFA);
        out->compliant |= demands(&p->grant, ZT_CTL_COMPLIANT_DEVICE);
    }
}

static void note_app(char *name, size_t nlen, char *up, size_t ulen, const zt_app_cfg *app)
{
    if (name[0] != '\0')
        return;
    snprintf(name, nlen, "%s", app->name);
    snprintf(up, ulen, "%s", app->upstream.url != NULL ? app->upstream.url : "");
}

static void gather_apps(const zt_config *cfg, zt_assess_facts *f)
{
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *app = &cfg->apps[i];
        app_cover cv;
        cover_app(cfg, app, &cv);
        f->apps++;
        f->apps_policy += cv.policy;
        f->apps_mfa += cv.mfa;
        f->apps_pr_mfa += cv.pr;
        f->apps_compliant += cv.compliant;
        f->apps_risk += cv.risk;
        if (app->sensitivity != ZT_SENS_INTERNAL)
            f->apps_labelled++;
        if (app->sensitivity >= ZT_SENS_CONFIDENTIAL) {
            f->apps_sensitive++;
            f->apps_sensitive_protected += cv.compliant && cv.restrict_;
        }
        if (app->kind == ZT_APP_TCP) {
            f->tunnel_apps++;
            f->stream_apps++;
        }
        if (app->kind != ZT_APP_HTTP)
            continue;
        if (app->websocket)
            f->stream_apps++;
        f->upstreams++;
        if (app->sensitivity == ZT_SENS_INTERNAL)
            note_app(f->label_app, sizeof(f->label_app), f->label_upstream,
                     sizeof(f->label_upstream), app);
        if (!app->upstream.tls) {
            note_app(f->plain_app, sizeof(f->plain_app), f->plain_upstream,
                     sizeof(f->plain_upstream), app);
            continue;
        }
        f->upstreams_tls++;
        if (app->upstream.has_tls_cfg && app->upstream.tls_cfg.client_cert != NULL)
            f->upstreams_mtls++;
        else
            note_app(f->nomtls_app, sizeof(f->nomtls_app), f->nomtls_upstream,
                     sizeof(f->nomtls_upstream), app);
    }
}

static void gather_policies(const zt_config *cfg, zt_assess_facts *f)
{
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const zt_policy_cfg *p = &cfg->policies[i];
        if (p->state == ZT_POLICY_OFF) {
            f->policies_off++;
            continue;
        }
        if (p->state == ZT_POLICY_REPORT_ONLY) {
            f->policies_report_only++;
            if (f->n_report_only_names < ZT_ASSESS_NAMES_MAX) {
                snprintf(f->report_only_names[f->n_report_only_names],
                         sizeof(f->report_only_names[0]), "%s", p->name);
                f->report_only_lines[f->n_report_only_names++] = p->line;
            }
            continue;
        }
        f->policies_on++;
        if (p->conditions.user_risk_mask != 0 || p->conditions.sign_in_risk_mask != 0)
            f->risk_policies++;
        if (p->conditions.has_device && p->conditions.device.risk_mask != 0)
            f->device_risk_policies++;
        if (p->session.has_sign_in_frequency)
            f->frequency_policies++;
    }
}

static bool contains(const zt_cfg_word *a, size_t n)
{
    static const char *const acts[] = {"revoke_sessions", "isolate_device", "disable_user",
                                       "require_password_change"};
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        if (words_have(a, n, acts[i]))
            return true;
    return false;
}

static void gather_response(const zt_config *cfg, zt_assess_facts *f)
{
    f->playbooks = (unsigned)cfg->n_playbooks;
    for (size_t i = 0; i < cfg->n_playbooks; i++) {
        const zt_playbook_cfg *pb = &cfg->playbooks[i];
        f->playbooks_contain += contains(pb->actions, pb->n_actions);
        f->playbooks_undo += pb->undo_on_remediation;
    }
    f->notify = cfg->incidents.has_notify;
    f->provisioning = cfg->scim.token_file != NULL;
    for (size_t i = 0; i < cfg->n_ldap_directories; i++)
        if (cfg->ldap_directories[i].sync_interval_ms > 0)
            f->provisioning = true;
}

void zt_assess_gather_config(const zt_config *cfg, zt_assess_facts *f)
{
    f->config_path = cfg->path;
    f->mfa_required = !cfg->auth.mfa_optional;
    f->passkeys_enabled = cfg->auth.passkeys;
    gather_apps(cfg, f);
    gather_policies(cfg, f);
    const zt_devices_settings *d = &cfg->devices;
    f->device_rules = (d->n_min_os_versions > 0) + (d->max_signature_age_ms > 0) +
                      (d->max_update_age_ms > 0) + d->require_disk_encryption +
                      d->require_firewall + d->require_antivirus;
    f->listeners = (unsigned)cfg->n_listeners;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        f->listeners_tls += cfg->listeners[i].tls;
    f->audit_on = cfg->audit.path != NULL && strcmp(cfg->audit.path, "off") != 0;
    f->audit_fail_closed = !cfg->audit.fail_open;
    f->exports = (unsigned)cfg->audit.n_exports;
    const zt_risk_settings *r = &cfg->risk;
    f->feeds = (unsigned)(r->n_anonymous_ips + r->n_malicious_ips) +
               (r->leaked_credentials != NULL) + (r->geoip_city != NULL) + (r->geoip_asn != NULL);
    gather_response(cfg, f);
}

/* ---- store ---- */

#define STALE_S (7 * 86400)
#define SAMPLES_MAX 100000
#define INCIDENTS_MAX 10000

typedef struct det_ctx {
    zt_assess_facts *f;
    int64_t *durations;
    size_t n, cap;
} det_ctx;

static int det_cb(void *ctx, const zt_store_detection *d)
{
    det_ctx *c = ctx;
    if (d->state == ZT_STORE_RISK_AT_RISK) {
        c->f->detections_open++;
        c->f->detections_open_high += d->level >= 3;
        c->f->detections_stale += d->created_at < c->f->now - STALE_S;
        return 0;
    }
    c->f->detections_closed++;
    if (c->n < SAMPLES_MAX && zt_array_grow(&c->durations, &c->cap, sizeof(int64_t), 64) == 0)
        c->durations[c->n++] = d->updated_at > d->created_at ? d->updated_at - d->created_at : 0;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int gather_detections(zt_store *st, zt_assess_facts *f)
{
    det_ctx c = {.f = f};
    zt_store_risk_filter rf = {.state = -1};
    int rc = zt_store_detection_list(st, &rf, det_cb, &c);
    f->remediation_median_s = -1;
    if (rc == 0 && c.n > 0) {
        qsort(c.durations, c.n, sizeof(int64_t), cmp_i64);
        f->remediation_median_s = c.durations[c.n / 2];
    }
    free(c.durations);
    return rc;
}

static int dev_cb(void *ctx, const zt_store_device *d)
{
    zt_assess_facts *f = ctx;
    if (d->revoked_at != 0)
        return 0;
    f->devices++;
    f->devices_compliant += d->compliant;
    return 0;
}

typedef struct inc_ctx {
    zt_assess_facts *f;
    int64_t ids[INCIDENTS_MAX];
    size_t n;
} inc_ctx;

static int inc_cb(void *ctx, const zt_store_incident *i)
{
    inc_ctx *c = ctx;
    if (i->status == ZT_STORE_INC_RESOLVED)
        c->f->incidents_resolved++;
    else
        c->f->incidents_open[i->severity >= 0 && i->severity <= 3 ? i->severity : 0]++;
    if (c->n < INCIDENTS_MAX)
        c->ids[c->n++] = i->id;
    return 0;
}

static int ev_cb(void *ctx, const zt_store_incident_event *e)
{
    zt_assess_facts *f = ctx;
    if (strcmp(e->kind, "action") == 0 && e->playbook[0] != '\0')
        f->responses_auto++;
    else if (strcmp(e->kind, "admin") == 0)
        f->responses_manual++;
    return 0;
}

static int gather_incidents(zt_store *st, zt_assess_facts *f)
{
    inc_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->f = f;
    zt_store_incident_filter inf = {.status = -1};
    int rc = zt_store_incident_list(st, &inf, inc_cb, c);
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        rc = zt_store_incident_events(st, c->ids[i], ev_cb, f);
    free(c);
    return rc;
}

static int answer_cb(void *ctx, const zt_store_assess_answer *a)
{
    zt_assess_facts *f = ctx;
    zt_assess_q q;
    const zt_assess_question *qq = zt_assess_question_find(a->key, &q);
    if (qq != NULL)
        f->answers[q] = zt_assess_answer_index(qq, a->value);
    return 0;
}

static void gather_store(zt_store *st, zt_assess_facts *f)
{
    zt_store_assess_mfa m;
    int rc = zt_store_assess_mfa_counts(st, &m);
    if (rc == 0) {
        f->users = m.users;
        f->users_mfa = m.users_mfa;
        f->users_passkey = m.users_passkey;
        rc = zt_store_device_list(st, NULL, dev_cb, f);
    }
    rc = rc ? rc : gather_detections(st, f);
    rc = rc ? rc : gather_incidents(st, f);
    rc = rc ? rc : zt_store_assess_answer_list(st, answer_cb, f);
    rc = rc ? rc : zt_store_admin_count(st, &f->admins);
    f->store_ok = rc == 0;
}

void zt_assess_gather(const zt_config *cfg, zt_store *st, int64_t now, unsigned window_days,
                      zt_assess_facts *out)
{
    memset(out, 0, sizeof(*out));
    out->now = now;
    out->remediation_median_s = -1;
    for (int i = 0; i < ZT_Q_COUNT; i++)
        out->answers[i] = -1;
    zt_assess_gather_config(cfg, out);
    if (st != NULL)
        gather_store(st, out);
    out->window_days = window_days > 0 ? window_days : ZT_ASSESS_WINDOW_DAYS;
    if (out->audit_on)
        zt_assess_audit_stats(cfg->audit.path, now - (int64_t)out->window_days * 86400, out);
}
