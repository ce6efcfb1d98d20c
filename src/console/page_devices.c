/* Devices, `/devices`: the enrolled devices of the users the grant reaches, by compliance; on
 * `/devices/ID` one device's compliance reasons (in the page's language), open alerts and last
 * posture report, and revoking it (its certificate is refused, its sessions end). Revoking is
 * zt_device_revoke_service (device/device.h), the same call as `ztgate device revoke` and
 * POST /api/v1/devices/{id}/revoke: same effect, same record, this admin as the actor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "console/console_int.h"
#include "core/log.h"
#include "device/device.h"
#include "device/posture.h"
#include "http/api.h"
#include "session/session.h"
#include "store/store_device.h"

static void th(zt_console_ctx *cx, zt_msg m)
{
    zt_console_printf(cx, "<th scope=\"col\">");
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</th>");
}

static void compliance_badge(zt_console_ctx *cx, const zt_store_device *d)
{
    const char *cls = d->revoked_at ? "bad" : d->compliant ? "ok" : "warn";
    zt_msg m = d->revoked_at  ? CON_DEV_REVOKED
               : d->compliant ? CON_DEV_COMPLIANT
                              : CON_DEV_NONCOMPLIANT;
    zt_console_printf(cx, "<span class=\"badge %s\">", cls);
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</span>");
}

typedef struct dev_vec {
    zt_store_device *v;
    size_t n, cap;
} dev_vec;

static int collect_cb(void *ctx, const zt_store_device *d)
{
    dev_vec *vec = ctx;
    if (vec->n == vec->cap && zt_array_grow(&vec->v, &vec->cap, sizeof(*vec->v), 32) != 0)
        return -ENOMEM;
    vec->v[vec->n++] = *d;
    return 0;
}

static void device_list(zt_console_ctx *cx)
{
    const char *state = zt_console_param(cx, "state");
    if (state != NULL && state[0] != '\0' && strcmp(state, "compliant") != 0 &&
        strcmp(state, "noncompliant") != 0 && strcmp(state, "revoked") != 0) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_QUERY));
        return;
    }
    dev_vec vec = {0};
    int rc = zt_store_device_list(zt_console_store(cx), NULL, collect_cb, &vec);
    if (rc != 0) {
        free(vec.v);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, CON_DEVICES);
    zt_console_printf(cx, "<div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    th(cx, CON_NAME);
    th(cx, CON_OWNER);
    th(cx, CON_PLATFORM);
    th(cx, CON_COMPLIANCE);
    th(cx, CON_LAST_SEEN);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < vec.n; i++) {
        const zt_store_device *d = &vec.v[i];
        const char *st = d->revoked_at ? "revoked" : d->compliant ? "compliant" : "noncompliant";
        if ((state && state[0] && strcmp(state, st) != 0) ||
            zt_console_user_in_scope(cx, d->user_id) != 1)
            continue;
        zt_console_printf(cx,
                          "<tr><td><a href=\"/devices/%s\">%s</a></td><td>%s</td><td>%s</td><td>",
                          zt_console_url_enc(cx, d->id), zt_console_esc(cx, d->name),
                          zt_console_esc(cx, d->email), zt_console_esc(cx, d->platform));
        compliance_badge(cx, d);
        zt_console_printf(cx, "</td><td>%s</td></tr>", zt_console_time(cx, d->last_seen_at));
    }
    zt_console_printf(cx, "</tbody></table></div>");
    free(vec.v);
    zt_console_end(cx);
}

static int alert_cb(void *ctx, const zt_store_alert *a)
{
    zt_console_ctx *cx = ctx;
    zt_console_printf(cx, "<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>",
                      zt_console_time(cx, a->detected_at), zt_console_esc(cx, a->path),
                      zt_console_esc(cx, a->signature), zt_store_alert_state_name(a->state));
    return 0;
}

/* The reasons as the gate shows them on its pages (catalogue texts, this page's language). */
static void reasons(zt_console_ctx *cx, const zt_store_device *d)
{
    zt_devices *devs = cx->r->svc->devices;
    zt_device_state st;
    zt_console_printf(cx, "<h3>");
    zt_console_msg(cx, CON_REASONS);
    zt_console_printf(cx, "</h3><ul>");
    unsigned shown = 0;
    if (devs != NULL && d->revoked_at == 0 && zt_devices_state(devs, d->id, cx->now, &st) == 0) {
        for (unsigned i = 0; i < st.n_why && i < ZT_DEVICE_WHY_MAX; i++, shown++) {
            zt_console_printf(cx, "<li>");
            zt_console_msg(cx, st.why[i]);
            zt_console_printf(cx, "</li>");
        }
        if (st.facts[0] != '\0')
            zt_console_printf(cx, "<li>%s</li>", zt_console_esc(cx, st.facts));
    }
    if (shown == 0 && d->failed[0] != '\0') {
        zt_console_printf(cx, "<li>%s</li>", zt_console_esc(cx, d->failed));
        shown++;
    }
    if (shown == 0) {
        zt_console_printf(cx, "<li>");
        zt_console_msg(cx, CON_NONE);
        zt_console_printf(cx, "</li>");
    }
    zt_console_printf(cx, "</ul>");
}

static void device_show(zt_console_ctx *cx, const zt_store_device *d)
{
    zt_console_begin(cx, CON_DEVICES);
    zt_console_printf(cx, "<h2>%s</h2><dl class=\"facts\"><dt>", zt_console_esc(cx, d->name));
    zt_console_msg(cx, CON_OWNER);
    zt_console_printf(cx, "</dt><dd><a href=\"/users/%s\">%s</a></dd><dt>", d->user_id,
                      zt_console_esc(cx, d->email));
    zt_console_msg(cx, CON_PLATFORM);
    zt_console_printf(cx, "</dt><dd>%s</dd><dt>", zt_console_esc(cx, d->platform));
    zt_console_msg(cx, CON_COMPLIANCE);
    zt_console_printf(cx, "</dt><dd>");
    compliance_badge(cx, d);
    zt_console_printf(cx, "</dd><dt>");
    zt_console_msg(cx, CON_ENROLLED);
    zt_console_printf(cx, "</dt><dd>%s</dd><dt>", zt_console_time(cx, d->enrolled_at));
    zt_console_msg(cx, CON_LAST_SEEN);
    zt_console_printf(cx, "</dt><dd>%s</dd></dl>", zt_console_time(cx, d->last_seen_at));
    reasons(cx, d);
    zt_console_printf(cx, "<h3>");
    zt_console_msg(cx, CON_ALERTS);
    zt_console_printf(cx, "</h3><div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    th(cx, CON_DETECTED);
    th(cx, CON_TYPE);
    th(cx, CON_NAME);
    th(cx, CON_STATE);
    zt_console_printf(cx, "</tr></thead><tbody>");
    (void)zt_store_device_alert_list_active(zt_console_store(cx), d->id, alert_cb, cx);
    zt_console_printf(cx, "</tbody></table></div>");
    char *posture = NULL;
    int64_t at = 0;
    if (zt_store_device_posture_get(zt_console_store(cx), d->id, &posture, &at) == 0 &&
        posture != NULL) {
        zt_console_printf(cx, "<details><summary>");
        zt_console_msg(cx, CON_POSTURE);
        zt_console_printf(cx, " (%s)</summary><pre>%s</pre></details>", zt_console_time(cx, at),
                          zt_console_esc(cx, posture));
    }
    free(posture);
    if (d->revoked_at == 0 && zt_console_may(cx, ZT_PERM_DEVICES_WRITE)) {
        char path[96];
        snprintf(path, sizeof(path), "/devices/%s", d->id);
        zt_console_form_open(cx, path);
        zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"revoke\">"
                              "<button type=\"submit\" class=\"danger\">");
        zt_console_msg(cx, CON_REVOKE_DEVICE);
        zt_console_printf(cx, "</button></form>");
    }
    zt_console_end(cx);
}

static void device_revoke(zt_console_ctx *cx, const zt_store_device *d)
{
    const char *action = zt_console_param(cx, "action");
    if (action == NULL || strcmp(action, "revoke") != 0) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (!zt_console_may(cx, ZT_PERM_DEVICES_WRITE)) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_device_revoke_result res;
    int rc = zt_device_revoke_service(&env, cx->r->svc->devices, &who, d->id, &res);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (res.revocation_rc != 0)
        zt_error("request %s: console device.revoke: saved, but gateways not told (%d)",
                 cx->r->request_id, res.revocation_rc);
    if (res.audit_rc != 0)
        zt_error("request %s: console device.revoke: saved, but its record could not be queued",
                 cx->r->request_id);
    char path[96];
    snprintf(path, sizeof(path), "/devices/%s", d->id);
    zt_console_redirect_done(cx, path, CON_DONE_DEVICE_REVOKED);
}

static bool device_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ZT_STORE_DEV_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void devices(zt_console_ctx *cx)
{
    const char *sub = zt_console_subpath(cx);
    bool post = cx->r->method == HTTP_POST;
    if (sub[0] == '\0') {
        if (post)
            zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
        else
            device_list(cx);
        return;
    }
    if (post && !zt_console_post_ok(cx))
        return;
    zt_store_device d;
    int rc = device_id_ok(sub) ? zt_store_device_get(zt_console_store(cx), sub, &d) : -ENOENT;
    if (rc == 0) {
        int in = zt_console_user_in_scope(cx, d.user_id);
        rc = in == 1 ? 0 : in == 0 ? -ENOENT : in;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (post)
        device_revoke(cx, &d);
    else
        device_show(cx, &d);
}

const zt_console_page zt_console_page_devices = {"/devices", true, CON_DEVICES,
                                                 ZT_PERM_DEVICES_READ, devices};
