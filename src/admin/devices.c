/* Admin API for device trust: list and show enrolled devices (with the latest posture, today's
 * compliance verdict and unresolved alerts), revoke and delete them, and make enrolment codes.
 * The same store calls as `ztgate device ...` (src/cli/cmd_device.c), but every call is audited
 * and names the device, and every change bumps the revocation counter: running gateways reload
 * the revoked serials, so a revoked certificate fails its next TLS handshake, and a browser
 * tied to the device (binding cookie) loses it on its next request. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/levels.h"
#include "device/device.h"
#include "device/posture.h"
#include "lib/time.h"

#define TTL_MIN_S 60          /* an enrolment code lives at least a minute */
#define TTL_MAX_S (7 * 86400) /* and at most a week (as the CLI) */
#define ALERTS_SHOWN 100      /* unresolved alerts listed by GET /devices/{id} */

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

static zt_store *store_of(zt_admin_call *c)
{
    return c->r->svc->store;
}

static const char *state_name(const zt_store_device *d)
{
    return d->revoked_at != 0   ? "revoked"
           : d->posture_at == 0 ? "no_report"
           : d->compliant       ? "compliant"
                                : "not_compliant";
}

static json_t *device_json(const zt_store_device *d)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:s?, s:s, s:I, "
        "s:s, s:s}",
        "id", d->id, "user_id", d->user_id, "user", d->email, "name", d->name, "platform",
        d->platform, "state", state_name(d), "enrolled_at", zt_admin_json_time(d->enrolled_at),
        "cert_not_after", zt_admin_json_time(d->cert_not_after), "revoked_at",
        zt_admin_json_time(d->revoked_at), "last_seen_at", zt_admin_json_time(d->last_seen_at),
        "posture_at", zt_admin_json_time(d->posture_at), "compliant", d->compliant, "failed",
        d->failed[0] ? d->failed : NULL, "risk", zt_risk_name((zt_risk)d->risk), "active_alerts",
        (json_int_t)d->unresolved_alerts, "cert_serial", d->cert_serial, "cert_sha256",
        d->cert_sha256);
}

/* A device id is 32 lowercase hex characters; anything else cannot name one (404). */
static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    return n == ZT_DEVICE_ID_LEN && strspn(id, "0123456789abcdef") == n;
}

/* {id} into *dev with the call's user and device noted for the event, or finish with 404. */
static bool load_device(zt_admin_call *c, zt_store_device *dev)
{
    int rc = id_ok(c->route.id) ? zt_store_device_get(store_of(c), c->route.id, dev) : -ENOENT;
    if (rc == 0 && !zt_admin_user_visible(c, dev->user_id))
        rc = -ENOENT; /* outside the caller's scope: as if it did not exist */
    if (rc != 0) {
        zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "device", c->route.id);
        return false;
    }
    snprintf(c->device_id, sizeof(c->device_id), "%s", dev->id);
    snprintf(c->user_id, sizeof(c->user_id), "%s", dev->user_id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", dev->email);
    return true;
}

/* An action without fields takes no body or {}. */
static bool no_fields(zt_admin_call *c)
{
    zt_admin_error err;
    json_t *body = NULL;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, NULL, 0, &body, &err) != 0) {
        zt_admin_fail(c, err.status, err.code, "%s", err.message);
        return false;
    }
    json_decref(body);
    return true;
}

/* Running gateways (this one included) reload the revoked serials and drop cached sessions
 * and device verdicts. */
static bool tell_gateways(zt_admin_call *c)
{
    if (c->r->svc->devices != NULL)
        zt_devices_refresh_revoked(c->r->svc->devices);
    return zt_admin_revoked(c);
}

/* ---- GET /api/v1/devices[?user=U] ---- */

static bool parse_query(zt_admin_call *c, char *user)
{
    const char *q = c->r->query, *end = q + c->r->query_len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        if (stop == q) {
            q = stop + 1;
            continue;
        }
        size_t kn = (size_t)((eq ? eq : stop) - q);
        if (kn != 4 || memcmp(q, "user", 4) != 0) {
            zt_admin_fail(c, 400, "invalid_query", "unknown query parameter; use user");
            return false;
        }
        if (user[0] != '\0' || eq == NULL ||
            zt_admin_seg_decode(eq + 1, (size_t)(stop - eq - 1), user, ZT_ADMIN_SEG_MAX + 1) != 0) {
            zt_admin_fail(c, 400, "invalid_query",
                          "query parameter user takes one non-empty value");
            return false;
        }
        q = stop + (amp ? 1 : 0);
    }
    return true;
}

typedef struct device_rows {
    zt_admin_call *c;
    json_t *arr;
} device_rows;

/* A scoped admin sees the devices of users in scope only. */
static int list_cb(void *ctx, const zt_store_device *d)
{
    device_rows *rows = ctx;
    if (!zt_admin_user_visible(rows->c, d->user_id))
        return 0;
    json_t *j = device_json(d);
    return j != NULL && json_array_append_new(rows->arr, j) == 0 ? 0 : -ENOMEM;
}

static void device_list(zt_admin_call *c)
{
    char who[ZT_ADMIN_SEG_MAX + 1] = "";
    if (!parse_query(c, who))
        return;
    zt_user u;
    memset(&u, 0, sizeof(u));
    if (who[0] != '\0') {
        int rc = zt_admin_find_user_in_scope(c, who, &u);
        if (rc != 0) {
            zt_user_dispose(&u);
            zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", who);
            return;
        }
        snprintf(c->user_id, sizeof(c->user_id), "%s", u.id);
        snprintf(c->user_email, sizeof(c->user_email), "%s", u.email);
    }
    json_t *arr = json_array();
    device_rows rows = {c, arr};
    int rc =
        arr ? zt_store_device_list(store_of(c), u.id[0] ? u.id : NULL, list_cb, &rows) : -ENOMEM;
    zt_user_dispose(&u);
    if (rc != 0) {
        json_decref(arr);
        zt_admin_store_fail(c, rc, "devices", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "devices", arr));
}

/* ---- GET /api/v1/devices/{id} ---- */

typedef struct alert_list {
    json_t *arr;
    size_t n;
} alert_list;

static int alert_cb(void *ctx, const zt_store_alert *a)
{
    alert_list *l = ctx;
    if (l->n++ >= ALERTS_SHOWN)
        return 0;
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)a->id, "path",
                          a->path, "sha256", a->sha256, "signature", a->signature, "state",
                          zt_store_alert_state_name(a->state), "detected_at",
                          zt_admin_json_time(a->detected_at), "updated_at",
                          zt_admin_json_time(a->updated_at));
    return j != NULL && json_array_append_new(l->arr, j) == 0 ? 0 : -ENOMEM;
}

/* Today's verdict: judged now (staleness included) when the device service runs, else the one
 * stored with the last report. */
static json_t *compliance_json(zt_admin_call *c, const zt_store_device *d, int64_t now)
{
    zt_devices *devs = c->r->svc->devices;
    zt_device_state st;
    zt_compliance comp;
    json_t *failed = json_array();
    if (failed == NULL)
        return NULL;
    if (devs != NULL && d->revoked_at == 0 &&
        zt_devices_compliance(devs, d->id, now, &st, &comp) == 0) {
        for (size_t i = 0; i < comp.n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++)
            json_array_append_new(failed, json_pack("{s:s, s:s}", "rule", comp.failed[i].rule,
                                                    "message", comp.failed[i].message));
        return json_pack("{s:b, s:o, s:o, s:s}", "compliant", comp.compliant, "failed", failed,
                         "judged_at", zt_admin_json_time(now), "risk",
                         zt_risk_name((zt_risk)st.risk));
    }
    if (d->failed[0] != '\0')
        json_array_append_new(failed,
                              json_pack("{s:s, s:s}", "rule", "stored", "message", d->failed));
    return json_pack("{s:b, s:o, s:o, s:s}", "compliant", d->revoked_at == 0 && d->compliant,
                     "failed", failed, "judged_at", zt_admin_json_time(d->posture_at), "risk",
                     zt_risk_name((zt_risk)d->risk));
}

static void device_get(zt_admin_call *c)
{
    zt_store_device d;
    if (!load_device(c, &d))
        return;
    int64_t now = now_s();
    char *posture = NULL;
    int64_t at = 0;
    int rc = zt_store_device_posture_get(store_of(c), d.id, &posture, &at);
    if (rc != 0 && rc != -ENOENT) {
        zt_admin_store_fail(c, rc, "device", d.id);
        return;
    }
    json_t *report = NULL;
    if (posture != NULL) {
        json_error_t jerr;
        report = json_loads(posture, JSON_REJECT_DUPLICATES, &jerr);
        free(posture);
    }
    alert_list l = {.arr = json_array()};
    rc = l.arr != NULL ? zt_store_device_alert_list_active(store_of(c), d.id, alert_cb, &l)
                       : -ENOMEM;
    if (rc != 0) {
        json_decref(report);
        json_decref(l.arr);
        zt_admin_store_fail(c, rc, "device", d.id);
        return;
    }
    json_t *j = device_json(&d);
    json_t *comp = compliance_json(c, &d, now);
    if (j == NULL || comp == NULL) {
        json_decref(j);
        json_decref(comp);
        json_decref(report);
        json_decref(l.arr);
        zt_admin_fail(c, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(j, "posture", report != NULL ? report : json_null());
    json_object_set_new(j, "compliance", comp);
    json_object_set_new(j, "alerts", l.arr);
    zt_admin_finish(c, 200, j);
}

/* ---- POST /api/v1/devices/{id}/revoke, DELETE /api/v1/devices/{id} ---- */

static void device_revoke(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_DISABLE;
    c->action = "device.revoke";
    zt_store_device d;
    if (!no_fields(c) || !load_device(c, &d))
        return;
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_device_revoke_result res;
    int rc = zt_device_revoke_service(&env, c->r->svc->devices, &who, d.id, &res);
    if (rc == -EALREADY) {
        zt_admin_fail(c, 409, "conflict", "device %s is already revoked", d.id);
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "device", d.id);
        return;
    }
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    if (!zt_admin_account_done(c, &done))
        return;
    zt_admin_finish(c, 200, json_pack("{s:o}", "device", device_json(&res.device)));
}

static void device_delete(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_DELETE;
    c->action = "device.delete";
    zt_store_device d;
    if (!load_device(c, &d))
        return;
    int rc = zt_store_device_delete(store_of(c), d.id, now_s());
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "device", d.id);
        return;
    }
    snprintf(c->change, sizeof(c->change),
             "device deleted (certificate serial %s stays refused until it expires)",
             d.cert_serial);
    if (!tell_gateways(c))
        return;
    zt_admin_finish(c, 204, NULL);
}

/* ---- POST /api/v1/devices/enroll-codes ---- */

/* "900", "900s", "15m", "2h", "1d": 1 minute to 7 days. */
static bool parse_ttl(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > TTL_MAX_S)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || (s[i] != '\0' && s[i + 1] != '\0'))
        return false;
    int64_t mul = s[i] == 'm' ? 60 : s[i] == 'h' ? 3600 : s[i] == 'd' ? 86400 : 1;
    if (s[i] != '\0' && s[i] != 's' && mul == 1)
        return false;
    if (v > TTL_MAX_S / mul)
        return false;
    *out = v * mul;
    return *out >= TTL_MIN_S;
}

static const zt_admin_field code_fields[] = {
    {.name = "user", .type = ZT_ADMIN_F_STRING, .required = true, .max = ZT_STORE_EMAIL_MAX},
    {.name = "ttl", .type = ZT_ADMIN_F_STRING, .max = 16},
};

static void enroll_code(zt_admin_call *c)
{
    c->cls = ZT_EV_ACCOUNT_CHANGE;
    c->activity = ZT_ADMIN_ACT_CREATE;
    c->action = "device.enroll_code";
    zt_admin_error err;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, code_fields, 2, &c->body, &err) != 0) {
        zt_admin_fail(c, err.status, err.code, "%s", err.message);
        return;
    }
    const char *who = json_string_value(json_object_get(c->body, "user"));
    const json_t *ttl_v = json_object_get(c->body, "ttl");
    int64_t ttl = zt_devices_code_ttl(c->r->svc->devices);
    if (ttl_v != NULL && !parse_ttl(json_string_value(ttl_v), &ttl)) {
        zt_admin_fail(c, 400, "invalid_field", "ttl must be a duration from 1m to 7d (e.g. 15m)");
        return;
    }
    zt_user u;
    int rc = zt_admin_find_user_in_scope(c, who, &u);
    if (rc != 0) {
        zt_user_dispose(&u);
        if (strchr(who, '@') != NULL)
            snprintf(c->user_email, sizeof(c->user_email), "%s", who);
        zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", who);
        return;
    }
    snprintf(c->user_id, sizeof(c->user_id), "%s", u.id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", u.email);
    bool disabled = u.disabled;
    zt_user_dispose(&u);
    if (disabled) {
        zt_admin_fail(c, 409, "conflict", "user %s is disabled", c->user_email);
        return;
    }
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1];
    int64_t now = now_s();
    rc = zt_device_enroll_code(store_of(c), c->user_id, ttl, now, code);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->user_email);
        return;
    }
    snprintf(c->change, sizeof(c->change), "enrolment code issued, valid %llds", (long long)ttl);
    if (!tell_gateways(c)) {
        memset(code, 0, sizeof(code)); /* the admin issues another once the file is fixed */
        return;
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "code", code, "user", c->user_email, "user_id",
                          c->user_id, "expires_at", zt_admin_json_time(now + ttl));
    memset(code, 0, sizeof(code));
    zt_admin_finish(c, 201, j);
}

void zt_admin_devices(zt_admin_call *c)
{
    if (c->r->svc->store == NULL) {
        zt_admin_fail(c, 503, "unavailable", "the store is not open");
        return;
    }
    switch (c->route.ep) {
    case ZT_ADMIN_EP_DEVICES:
        device_list(c);
        return;
    case ZT_ADMIN_EP_DEVICE:
        if (c->r->method == HTTP_DELETE)
            device_delete(c);
        else
            device_get(c);
        return;
    case ZT_ADMIN_EP_DEVICE_REVOKE:
        device_revoke(c);
        return;
    case ZT_ADMIN_EP_ENROLL_CODES:
        enroll_code(c);
        return;
    default:
        zt_admin_fail(c, 404, "not_found", "no such endpoint");
        return;
    }
}
