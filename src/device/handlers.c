/* /.ztgate/device/...: the agent's JSON API (enrol, posture, alert, status; see
 * docs/DEVICE_PROTOCOL.md), and the actions behind the portal page where a signed-in user gets an
 * enrolment code (the page itself is portal/device_page.c).
 * Every body is validated strictly before anything is stored; every change is audited, and a
 * log that cannot take the record turns the answer into 503. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <llhttp.h>

#include "audit/event.h"
#include "device/device_int.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/levels.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "lib/time.h"
#include "http/handler.h"
#include "response/incident.h"
#include "session/session.h"
#include "store/store.h"

#define DEV_PREFIX "/.ztgate/device/"
#define DEV_ENROLL "/.ztgate/device/enroll"
#define DEV_POSTURE "/.ztgate/device/posture"
#define DEV_ALERT "/.ztgate/device/alert"
#define DEV_STATUS "/.ztgate/device/status"
#define DEV_AUDIT_MAX 8192       /* bytes of one audit record */
#define DEV_ALERTS_IN_STATUS 100 /* active alerts listed by /status */

/* OCSF classes the audit enum does not name (yet). */
#define DEV_EV_DEVICE_CONFIG_STATE 5019 /* Discovery: Device Config State */
#define DEV_ACT_LOG 1                   /* its activity "Log" */
#define DEV_ACT_ACCOUNT_CREATE 1        /* Account Change: Create (a device credential) */
#define DEV_ACT_ACCOUNT_OTHER 99        /* Account Change: Other (a browser tied to a device) */
#define DEV_PENDING_SLACK_S 3600        /* the pending cookie outlives its code: come back later */

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

/* ---- responses ---- */

/* Every JSON answer of the device endpoints: never cached, and the text wiped once sent (an
 * enrolment answer holds a certificate's key material, a sign-in answer a token). */
void zt_device_json_answer(zt_local_req *r, int status, json_t *v)
{
    r->status = status;
    r->content_type = "application/json";
    r->no_security_headers = true;
    zt_buf_reset(&r->resp_body);
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    if (text == NULL) {
        r->status = 500;
        zt_buf_append_str(&r->resp_body, "{\"error\":\"internal\",\"message\":\"out of memory\"}");
    } else {
        zt_buf_append_str(&r->resp_body, text);
        zt_wipe(text, strlen(text));
    }
    zt_buf_append_char(&r->resp_body, '\n');
    free(text);
    json_decref(v);
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\n");
    zt_local_respond(r);
}

static void json_error(zt_local_req *r, int status, const char *code, const char *message)
{
    r->log_detail = code;
    zt_device_json_answer(r, status,
                          json_pack("{s:s, s:i, s:s, s:s}", "error", code, "status", status,
                                    "message", message, "request_id",
                                    r->request_id ? r->request_id : ""));
}

/* ---- audit ---- */

typedef struct dev_event {
    unsigned cls, activity;
    zt_event_severity sev;
    bool success;
    const char *message;
    const char *user_id, *email, *device_id, *device_name;
    json_t *unmapped; /* extra fields under "unmapped" (borrowed); may be NULL */
} dev_event;

/* false: the log refused the record; the caller answers 503 (fail closed). */
static bool audit(zt_local_req *r, const dev_event *e)
{
    zt_buf b;
    zt_buf_init(&b, DEV_AUDIT_MAX);
    zt_event ev;
    zt_event_begin(&ev, &b, (zt_event_class)e->cls, e->activity, e->sev);
    zt_event_status(&ev, e->success ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_metadata(&ev, r->request_id, NULL);
    zt_event_str(&ev, "message", e->message);
    zt_event_str(&ev, "actor.user.uid", e->user_id);
    zt_event_str(&ev, "actor.user.email_addr", e->email);
    zt_event_str(&ev, "device.uid", e->device_id);
    zt_event_str(&ev, "device.hostname", e->device_name);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    if (e->unmapped != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(e->unmapped, key, v)
        {
            char path[96];
            snprintf(path, sizeof(path), "unmapped.%s", key);
            if (json_is_string(v))
                zt_event_str(&ev, path, json_string_value(v));
            else if (json_is_integer(v))
                zt_event_int(&ev, path, json_integer_value(v));
            else if (json_is_boolean(v))
                zt_event_bool(&ev, path, json_is_true(v));
        }
    }
    bool ok = zt_event_end(&ev) == 0 && zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}

/* ---- the enrolment page's actions (the page itself: portal/device_page.c) ---- */

static const zt_secretbox *secrets_of(const zt_local_req *r)
{
    return r->svc != NULL ? r->svc->secrets : NULL;
}

/* This browser asked for the code that enrols device `id`: once that device exists (for this
 * user, not revoked, certificate valid) it gets the binding cookie, and the pending one goes. */
static zt_device_bind bind_browser(zt_devices *d, zt_local_req *r, const char *user_id,
                                   const char *email, const char *id, int64_t now,
                                   zt_store_device *dev)
{
    int rc = zt_store_device_get(d->store, id, dev);
    if (rc == -ENOENT)
        return ZT_BIND_WAITING;
    if (rc != 0)
        return ZT_BIND_FAILED;
    if (dev->revoked_at != 0 || strcmp(dev->user_id, user_id) != 0 || dev->cert_not_after <= now) {
        (void)zt_device_pending_clear(&r->resp_headers, r->https);
        return ZT_BIND_NONE;
    }
    json_t *extra = json_pack("{s:s}", "device_proof", "cookie");
    dev_event e = {.cls = ZT_EV_ACCOUNT_CHANGE,
                   .activity = DEV_ACT_ACCOUNT_OTHER,
                   .sev = ZT_SEV_INFO,
                   .success = true,
                   .message = "browser tied to enrolled device",
                   .user_id = user_id,
                   .email = email,
                   .device_id = dev->id,
                   .device_name = dev->name,
                   .unmapped = extra};
    bool logged = audit(r, &e);
    json_decref(extra);
    if (!logged)
        return ZT_BIND_FAILED;
    if (zt_device_binding_set(secrets_of(r), &r->resp_headers, dev->id, user_id, r->https, now,
                              dev->cert_not_after - now) != 0 ||
        zt_device_pending_clear(&r->resp_headers, r->https) != 0)
        return ZT_BIND_FAILED;
    return ZT_BIND_DONE;
}

zt_device_bind zt_device_page_bind(zt_devices *d, zt_local_req *r, const zt_span *cookies,
                                   const char *user_id, const char *email, int64_t now,
                                   zt_store_device *dev)
{
    char pending[ZT_DEVICE_ID_LEN + 1];
    if (secrets_of(r) == NULL ||
        !zt_device_pending_check(secrets_of(r), cookies, user_id, r->https, now, pending))
        return ZT_BIND_NONE;
    return bind_browser(d, r, user_id, email, pending, now, dev);
}

int zt_device_page_mint(zt_devices *d, zt_local_req *r, const char *user_id, const char *email,
                        int64_t now, char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1], bool *pending)
{
    char norm[ZT_ENROLL_CODE_CHARS + 1];
    char expect[ZT_DEVICE_ID_LEN + 1];
    *pending = false;
    if (zt_device_enroll_code(d->store, user_id, d->code_ttl_s, now, code) != 0)
        return -EIO;
    /* This browser may be tied to the device the code enrols: remember which one it will be. */
    bool p = secrets_of(r) != NULL && zt_enroll_code_normalise(code, strlen(code), norm);
    if (p) {
        zt_device_id_from_code(secrets_of(r), norm, expect);
        p = zt_device_pending_set(secrets_of(r), &r->resp_headers, user_id, expect, r->https, now,
                                  now + d->code_ttl_s + DEV_PENDING_SLACK_S) == 0;
        zt_wipe(norm, sizeof(norm));
    }
    dev_event e = {.cls = ZT_EV_ACCOUNT_CHANGE,
                   .activity = DEV_ACT_ACCOUNT_CREATE,
                   .sev = ZT_SEV_INFO,
                   .success = true,
                   .message = "device enrolment code issued (portal)",
                   .user_id = user_id,
                   .email = email};
    if (!audit(r, &e)) {
        zt_buf_reset(&r->resp_headers); /* no pending cookie for a code nobody will see */
        return -EPIPE;
    }
    *pending = p;
    return 0;
}

/* ---- agent enrolment ---- */

static void enroll_agent(zt_devices *d, zt_local_req *r)
{
    zt_enroll_result res;
    const char *why = NULL;
    int64_t now = now_s();
    zt_enroll_err e = zt_enroll_run_keyed(d, secrets_of(r), r->body, r->body_len, now, &res, &why);
    if (e == ZT_ENROLL_BAD_REQUEST) {
        json_error(r, 400, "invalid_request", why);
        return;
    }
    if (e == ZT_ENROLL_BAD_CODE) {
        dev_event ev = {.cls = ZT_EV_ACCOUNT_CHANGE,
                        .activity = DEV_ACT_ACCOUNT_CREATE,
                        .sev = ZT_SEV_LOW,
                        .message = "device enrolment refused: bad code"};
        if (!audit(r, &ev)) {
            json_error(r, 503, "unavailable", "the audit log is unavailable");
            return;
        }
        json_error(r, 403, "invalid_code", why);
        return;
    }
    if (e != ZT_ENROLL_OK) {
        json_error(r, 503, "unavailable", why != NULL ? why : "try again later");
        return;
    }
    zt_devices_invalidate(d, res.device_id);
    zt_store_device dev;
    bool have = zt_store_device_get(d->store, res.device_id, &dev) == 0;
    json_t *extra =
        json_pack("{s:s, s:s}", "cert_serial", res.cert.serial, "cert_sha256", res.cert.sha256);
    dev_event ev = {.cls = ZT_EV_ACCOUNT_CHANGE,
                    .activity = DEV_ACT_ACCOUNT_CREATE,
                    .sev = ZT_SEV_INFO,
                    .success = true,
                    .message = "device enrolled",
                    .user_id = have ? dev.user_id : NULL,
                    .email = res.email,
                    .device_id = res.device_id,
                    .device_name = have ? dev.name : NULL,
                    .unmapped = extra};
    bool logged = audit(r, &ev);
    json_decref(extra);
    /* The device is stored by now; without its audit record the agent gets no certificate
     * and the admin sees an enrolment that never completed (revoke it). */
    if (!logged) {
        zt_issued_dispose(&res.cert);
        json_error(r, 503, "unavailable", "the audit log is unavailable");
        return;
    }
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "device_id", res.device_id, "certificate",
                          res.cert.pem, "ca", d->ca.pem, "user", res.email);
    zt_issued_dispose(&res.cert);
    r->log_detail = "device enrolled";
    zt_device_json_answer(r, 201, v);
}

/* ---- mTLS endpoints ---- */

/* The calling device, enrolled and not revoked; else an error has been sent. */
static bool require_device(zt_devices *d, zt_local_req *r, zt_store_device *dev)
{
    if (r->device_id[0] == '\0') {
        json_error(r, 401, "client_certificate_required",
                   "this endpoint needs the device certificate from enrolment");
        return false;
    }
    int rc = zt_store_device_get(d->store, r->device_id, dev);
    if (rc == -ENOENT || (rc == 0 && dev->revoked_at != 0)) {
        json_error(r, 403, "device_not_enrolled",
                   "this device is unknown or its enrolment was revoked");
        return false;
    }
    if (rc != 0) {
        json_error(r, 503, "unavailable", "the device store is unavailable");
        return false;
    }
    return true;
}

static json_t *failed_json(const zt_compliance *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "rule", c->failed[i].rule, "message", c->failed[i].message));
    return a;
}

/* The verdict of the device's previous report as judged when it arrived (its failed rules
 * re-judged at its receipt time); NULL when it had not reported. */
static const zt_compliance *previous_verdict(zt_devices *d, const zt_store_device *dev,
                                             zt_compliance *out)
{
    memset(out, 0, sizeof(*out));
    if (dev->posture_at <= 0)
        return NULL;
    char *json = NULL;
    int64_t at = 0;
    zt_posture p;
    const char *why = NULL;
    if (zt_store_device_posture_get(d->store, dev->id, &json, &at) == 0 &&
        zt_posture_parse(json, strlen(json), &p, &why) == 0)
        zt_compliance_eval(&d->rules, &p, at, at, out);
    free(json);
    /* The stored verdict is what was signalled then (rules may have changed since). */
    out->compliant = dev->compliant;
    return out;
}

/* Alerts the agent reported and has not resolved yet (containment alerts the playbooks
 * raise, "ztgate:incident:N", are not the agent's). */
static int count_agent_alert(void *ctx, const zt_store_alert *a)
{
    if (strncmp(a->path, "ztgate:", 7) != 0)
        ++*(size_t *)ctx;
    return 0;
}

static size_t agent_alerts(zt_store *st, const char *device_id)
{
    size_t open = 0;
    if (zt_store_device_alert_list_active(st, device_id, count_agent_alert, &open) < 0)
        open = 1; /* unknown: never resolve on a guess */
    return open;
}

/* false: the log refused the record (the caller answers 503). */
static bool audit_signal(zt_local_req *r, const zt_dev_signal *s)
{
    zt_buf b;
    zt_buf_init(&b, DEV_AUDIT_MAX);
    bool ok = zt_dev_signal_record(s, &b) == 0 && zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}

static void respond_signal(zt_local_req *r, const zt_dev_signal *s)
{
    int rc = zt_dev_signal_respond(r->svc != NULL ? r->svc->response : NULL, s);
    if (rc != 0)
        zt_error("request %s: incident response for %s failed: %s", r->request_id,
                 zt_dev_signal_type(s->kind), strerror(-rc));
}

/* What a posture report changed, for incident response: the agent is back after a silence,
 * compliance broke (with the rules that broke) or was restored. Every signal is audited first;
 * false when the log refused one. */
static bool posture_signals(zt_devices *d, zt_local_req *r, const zt_store_device *dev,
                            const zt_compliance *before, const zt_compliance *now, bool was_silent,
                            int64_t quiet_s)
{
    zt_compliance broke;
    zt_compliance_change change = zt_compliance_compare(before, now, &broke);
    int64_t t = now_s();
    zt_dev_signal sig[3];
    size_t n = 0;
    bool clear = now->compliant && agent_alerts(d->store, dev->id) == 0;
    if (was_silent)
        sig[n++] = (zt_dev_signal){.kind = ZT_DS_REPORTING,
                                   .quiet_s = quiet_s,
                                   .last_seen = dev->last_seen_at,
                                   .resolves = clear && change != ZT_COMPLIANCE_RESTORED};
    if (change == ZT_COMPLIANCE_BROKE)
        sig[n++] = (zt_dev_signal){.kind = ZT_DS_NONCOMPLIANT, .failed = &broke};
    else if (change == ZT_COMPLIANCE_RESTORED)
        sig[n++] = (zt_dev_signal){.kind = ZT_DS_COMPLIANT, .resolves = clear};
    for (size_t i = 0; i < n; i++) {
        sig[i].dev = dev;
        sig[i].request_id = r->request_id;
        sig[i].now = t;
        if (!audit_signal(r, &sig[i]))
            return false;
    }
    for (size_t i = 0; i < n; i++)
        respond_signal(r, &sig[i]);
    if (n > 0)
        zt_devices_invalidate(d, dev->id); /* a playbook may have isolated or released it */
    return true;
}

static void posture(zt_devices *d, zt_local_req *r)
{
    zt_store_device dev;
    if (!require_device(d, r, &dev))
        return;
    zt_posture p;
    const char *why = NULL;
    if (!zt_local_is_json(r)) {
        json_error(r, 415, "unsupported_media_type", "send Content-Type: application/json");
        return;
    }
    if (zt_posture_parse(r->body, r->body_len, &p, &why) != 0) {
        json_error(r, 400, "invalid_posture", why != NULL ? why : "invalid posture report");
        return;
    }
    if (memchr(r->body, '\0', r->body_len) != NULL) {
        json_error(r, 400, "invalid_posture", "the body contains a NUL byte");
        return;
    }
    int64_t now = now_s();
    zt_compliance comp, before_c;
    zt_compliance_eval(&d->rules, &p, now, now, &comp);
    const zt_compliance *before = previous_verdict(d, &dev, &before_c);
    int64_t quiet_s = 0;
    bool was_silent = zt_devices_was_silent(d, &dev, &quiet_s);
    char failed[ZT_STORE_DEV_FAILED_MAX + 1];
    zt_compliance_summary(&comp, failed, sizeof(failed));
    int rc = zt_store_device_posture_add(d->store, dev.id, now, r->body, comp.compliant, failed);
    zt_devices_invalidate(d, dev.id);
    if (rc == -ENOENT) {
        json_error(r, 403, "device_not_enrolled", "this device's enrolment was revoked");
        return;
    }
    if (rc != 0) {
        json_error(r, 503, "unavailable", "the posture report could not be stored");
        return;
    }
    json_t *extra = json_pack("{s:b, s:s, s:s, s:s}", "compliant", comp.compliant, "failed", failed,
                              "os", p.os_id, "os_version", p.os_version);
    dev_event ev = {.cls = DEV_EV_DEVICE_CONFIG_STATE,
                    .activity = DEV_ACT_LOG,
                    .sev = comp.compliant ? ZT_SEV_INFO : ZT_SEV_LOW,
                    .success = true,
                    .message = comp.compliant ? "device posture: compliant"
                                              : "device posture: not compliant",
                    .user_id = dev.user_id,
                    .email = dev.email,
                    .device_id = dev.id,
                    .device_name = dev.name,
                    .unmapped = extra};
    bool logged = audit(r, &ev);
    json_decref(extra);
    if (!logged || !posture_signals(d, r, &dev, before, &comp, was_silent, quiet_s)) {
        json_error(r, 503, "unavailable", "the audit log is unavailable");
        return;
    }
    r->log_detail = comp.compliant ? "posture compliant" : "posture not compliant";
    zt_device_json_answer(r, 200,
                          json_pack("{s:b, s:o, s:s}", "compliant", comp.compliant, "failed",
                                    failed_json(&comp), "risk", zt_risk_name((zt_risk)dev.risk)));
}

/* ---- alerts ---- */

typedef enum alert_event { AE_DETECTED, AE_QUARANTINED, AE_RESTORED, AE_CLEAN_SCAN } alert_event;

typedef struct alert_req {
    alert_event event;
    const char *path, *sha256, *signature;
    int64_t detected_at;
} alert_req;

static bool hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int alert_parse(json_t *root, alert_req *q, const char **why)
{
    static const char *const events[] = {"detected", "quarantined", "restored", "clean_scan"};
    const char *event = NULL, *when = NULL;
    memset(q, 0, sizeof(*q));
    if (!json_is_object(root)) {
        *why = "the body must be a JSON object";
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        const char **dst = strcmp(key, "event") == 0         ? &event
                           : strcmp(key, "path") == 0        ? &q->path
                           : strcmp(key, "sha256") == 0      ? &q->sha256
                           : strcmp(key, "signature") == 0   ? &q->signature
                           : strcmp(key, "detected_at") == 0 ? &when
                                                             : NULL;
        if (dst == NULL) {
            *why = "unknown field in the alert";
            return -1;
        }
        if (!json_is_string(v)) {
            *why = "every alert field must be a string";
            return -1;
        }
        *dst = json_string_value(v);
    }
    size_t i = 0;
    while (event != NULL && i < 4 && strcmp(event, events[i]) != 0)
        i++;
    if (event == NULL || i == 4) {
        *why = "event: one of detected, quarantined, restored, clean_scan";
        return -1;
    }
    q->event = (alert_event)i;
    if (q->path == NULL || q->path[0] == '\0' || strlen(q->path) > ZT_STORE_DEV_ALERT_PATH_MAX ||
        !printable(q->path)) {
        *why = "path: 1..1024 bytes without control characters";
        return -1;
    }
    if (q->sha256 != NULL && !hex64(q->sha256)) {
        *why = "sha256: 64 lowercase hex characters";
        return -1;
    }
    if (q->signature != NULL &&
        (q->signature[0] == '\0' || strlen(q->signature) > ZT_STORE_DEV_ALERT_SIG_MAX ||
         !printable(q->signature))) {
        *why = "signature: 1..128 bytes without control characters";
        return -1;
    }
    int64_t when_us;
    if (when == NULL || !zt_parse_rfc3339(when, strlen(when), 0, &when_us) ||
        (q->detected_at = when_us / 1000000) <= 0) {
        *why = "detected_at: an RFC 3339 time";
        return -1;
    }
    if (q->event == AE_DETECTED && (q->sha256 == NULL || q->signature == NULL)) {
        *why = "a detected alert needs sha256 and signature";
        return -1;
    }
    return 0;
}

static int alert_apply(zt_devices *d, const zt_store_device *dev, const alert_req *q, int64_t now)
{
    zt_store_alert a = {.detected_at = q->detected_at, .updated_at = now};
    memcpy(a.device_id, dev->id, sizeof(a.device_id));
    snprintf(a.path, sizeof(a.path), "%s", q->path);
    snprintf(a.sha256, sizeof(a.sha256), "%s", q->sha256 != NULL ? q->sha256 : "");
    snprintf(a.signature, sizeof(a.signature), "%s",
             q->signature != NULL ? q->signature : "unknown");
    uint64_t n = 0;
    int rc;
    switch (q->event) {
    case AE_DETECTED:
        return zt_store_device_alert_add(d->store, &a);
    case AE_QUARANTINED:
        rc = zt_store_device_alert_set_path(d->store, dev->id, q->path, ZT_STORE_ALERT_QUARANTINED,
                                            now, &n);
        /* Quarantined before we heard of the detection: record it, then quarantine it. */
        if (rc == 0 && n == 0 && (rc = zt_store_device_alert_add(d->store, &a)) == 0)
            rc = zt_store_device_alert_set_path(d->store, dev->id, q->path,
                                                ZT_STORE_ALERT_QUARANTINED, now, &n);
        return rc;
    case AE_RESTORED:
        rc = zt_store_device_alert_set_path(d->store, dev->id, q->path, ZT_STORE_ALERT_ACTIVE, now,
                                            &n);
        if (rc == 0 && n == 0)
            rc = zt_store_device_alert_add(d->store, &a);
        return rc;
    case AE_CLEAN_SCAN:
        return zt_store_device_alert_set_path(d->store, dev->id, q->path, ZT_STORE_ALERT_RESOLVED,
                                              now, &n);
    }
    return -EINVAL;
}

/* Malware found opens (or joins) the device's incident and runs its playbooks; quarantine and
 * a clean scan are remediation, and once no agent alert is left the incident resolves (and a
 * playbook's isolation is undone). */
static void signal_incident(zt_local_req *r, const zt_store_device *dev, const alert_req *q)
{
    if (q->event == AE_DETECTED)
        zt_metric_detection("malware");
    if (r->svc->response == NULL)
        return;
    size_t open = agent_alerts(r->svc->store, dev->id);
    bool detection = q->event == AE_DETECTED || q->event == AE_RESTORED;
    char summary[400];
    snprintf(summary, sizeof(summary), "%s: %.64s in %.200s",
             q->event == AE_DETECTED      ? "malware detected"
             : q->event == AE_RESTORED    ? "quarantined file restored by the user"
             : q->event == AE_QUARANTINED ? "malware quarantined by the agent"
                                          : "clean rescan",
             q->signature != NULL ? q->signature : "-", q->path);
    zt_signal s = {.kind = detection ? ZT_SIGNAL_DETECTION : ZT_SIGNAL_REMEDIATION,
                   .type = detection                    ? "malware"
                           : q->event == AE_QUARANTINED ? "quarantined"
                                                        : "clean_scan",
                   .severity = detection ? ZT_RISK_HIGH : ZT_RISK_NONE,
                   .user_id = dev->user_id,
                   .email = dev->email,
                   .device_id = dev->id,
                   .device_name = dev->name,
                   .summary = summary,
                   .request_id = r->request_id,
                   .resolves = !detection && open == 0};
    zt_response_result res;
    int rc = zt_response_signal(r->svc->response, &s, &res);
    if (rc != 0)
        zt_error("request %s: incident response for a device alert failed: %s", r->request_id,
                 strerror(-rc));
    else
        zt_devices_invalidate(r->svc->devices, dev->id); /* a playbook may have isolated it */
}

static void alert(zt_devices *d, zt_local_req *r)
{
    static const unsigned activity[] = {ZT_ACT_FINDING_CREATE, ZT_ACT_FINDING_UPDATE,
                                        ZT_ACT_FINDING_UPDATE, ZT_ACT_FINDING_CLOSE};
    static const char *const names[] = {"detected", "quarantined", "restored", "clean_scan"};
    zt_store_device dev;
    if (!require_device(d, r, &dev))
        return;
    if (!zt_local_is_json(r)) {
        json_error(r, 415, "unsupported_media_type", "send Content-Type: application/json");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    alert_req q;
    const char *why = "the body is not valid JSON (or repeats a field)";
    if (root == NULL || alert_parse(root, &q, &why) != 0) {
        json_decref(root);
        json_error(r, 400, "invalid_alert", why);
        return;
    }
    int64_t now = now_s(), quiet_s = 0;
    bool was_silent = zt_devices_was_silent(d, &dev, &quiet_s);
    int rc = alert_apply(d, &dev, &q, now);
    zt_devices_invalidate(d, dev.id);
    zt_store_device after;
    if (rc == 0)
        rc = zt_store_device_get(d->store, dev.id, &after);
    if (rc == -ENOENT) {
        json_decref(root);
        json_error(r, 403, "device_not_enrolled",
                   "this device is unknown or its enrolment was revoked");
        return;
    }
    if (rc != 0) {
        json_decref(root);
        json_error(r, 503, "unavailable", "the alert could not be stored");
        return;
    }
    json_t *extra = json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", names[q.event], "path", q.path,
                              "sha256", q.sha256 != NULL ? q.sha256 : "", "signature",
                              q.signature != NULL ? q.signature : "", "active_alerts",
                              (json_int_t)after.unresolved_alerts);
    dev_event ev = {.cls = ZT_EV_DETECTION_FINDING,
                    .activity = activity[q.event],
                    .sev = q.event == AE_CLEAN_SCAN ? ZT_SEV_INFO : ZT_SEV_HIGH,
                    .success = true,
                    .message = q.event == AE_CLEAN_SCAN ? "device malware alert resolved"
                                                        : "device malware alert",
                    .user_id = after.user_id,
                    .email = after.email,
                    .device_id = after.id,
                    .device_name = after.name,
                    .unmapped = extra};
    bool logged = audit(r, &ev);
    json_decref(extra);
    /* The agent is back; the alert itself decides about the device's incident. */
    zt_dev_signal back = {.kind = ZT_DS_REPORTING,
                          .dev = &after,
                          .quiet_s = quiet_s,
                          .last_seen = dev.last_seen_at,
                          .request_id = r->request_id,
                          .now = now};
    if (logged && was_silent && (logged = audit_signal(r, &back)))
        respond_signal(r, &back);
    if (logged)
        signal_incident(r, &after, &q); /* q points into root: before it is freed */
    json_decref(root);
    if (!logged) {
        json_error(r, 503, "unavailable", "the audit log is unavailable");
        return;
    }
    r->log_detail = "device alert";
    zt_device_json_answer(r, 200,
                          json_pack("{s:s, s:I}", "risk", zt_risk_name((zt_risk)after.risk),
                                    "active_alerts", (json_int_t)after.unresolved_alerts));
}

/* ---- status ---- */

typedef struct alert_list {
    json_t *arr;
    size_t n;
} alert_list;

static int alert_to_json(void *ctx, const zt_store_alert *a)
{
    alert_list *l = ctx;
    if (l->n++ >= DEV_ALERTS_IN_STATUS)
        return 0;
    char when[40];
    zt_rfc3339(a->detected_at * 1000000, when, sizeof(when));
    json_array_append_new(l->arr,
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "path", a->path, "sha256",
                                    a->sha256, "signature", a->signature, "state",
                                    zt_store_alert_state_name(a->state), "detected_at", when));
    return 0;
}

static void status(zt_devices *d, zt_local_req *r)
{
    zt_store_device dev;
    if (!require_device(d, r, &dev))
        return;
    zt_device_state st;
    zt_compliance comp;
    alert_list l = {.arr = json_array()};
    int rc = zt_devices_compliance(d, dev.id, now_s(), &st, &comp);
    if (rc == 0)
        rc = zt_store_device_alert_list_active(d->store, dev.id, alert_to_json, &l);
    if (rc != 0 || l.arr == NULL) {
        json_decref(l.arr);
        json_error(r, 503, "unavailable", "the device store is unavailable");
        return;
    }
    char last[40] = "";
    if (dev.posture_at > 0)
        zt_rfc3339(dev.posture_at * 1000000, last, sizeof(last));
    zt_device_json_answer(r, 200,
                          json_pack("{s:s, s:s, s:b, s:o, s:s, s:o, s:s?}", "device_id", dev.id,
                                    "user", dev.email, "compliant", st.compliant, "failed",
                                    failed_json(&comp), "risk", zt_risk_name((zt_risk)st.risk),
                                    "active_alerts", l.arr, "last_report_at",
                                    last[0] ? last : NULL));
}

/* ---- dispatch ---- */

static bool path_is(const zt_local_req *r, const char *p)
{
    return strcmp(r->path, p) == 0;
}

static bool method_only(zt_local_req *r, int method, const char *allow)
{
    if (r->method == method)
        return true;
    r->status = 405;
    zt_buf_printf(&r->resp_headers, "Allow: %s\r\n", allow);
    json_error(r, 405, "method_not_allowed", "this endpoint does not take that method");
    return false;
}

void zt_device_handle_with(zt_devices *d, zt_local_req *r)
{
    if (d == NULL) {
        json_error(r, 503, "unavailable", "device trust is not enabled on this gateway");
        return;
    }
    if (path_is(r, DEV_ENROLL)) {
        /* GET/HEAD and the page's form reach the portal's page (portal/device_page.c), which
         * hands everything else here. */
        if (r->method != HTTP_POST)
            method_only(r, HTTP_POST, "GET, HEAD, POST");
        else
            enroll_agent(d, r);
    } else if (path_is(r, DEV_POSTURE)) {
        if (method_only(r, HTTP_POST, "POST"))
            posture(d, r);
    } else if (path_is(r, DEV_ALERT)) {
        if (method_only(r, HTTP_POST, "POST"))
            alert(d, r);
    } else if (path_is(r, DEV_STATUS)) {
        if (method_only(r, HTTP_GET, "GET"))
            status(d, r);
    } else {
        json_error(r, 404, "not_found", "no such device endpoint");
    }
}
