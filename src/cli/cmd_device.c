/* `ztgate device ...`: enrolment codes for a user, and the enrolled devices (list, show,
 * revoke, delete). Revoking or deleting ends the device's sessions and, through the shared
 * revocation counter, makes running gateways refuse its certificate on the next handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/levels.h"
#include "device/device.h"
#include "lib/time.h"
#include "session/session.h"
#include "store/store.h"

#define TTL_MAX_S (7 * 86400) /* a code lives at most a week */

/* Options taken out of argv before the shared parser sees it. */
static struct {
    const char *user; /* --user EMAIL */
    const char *ttl;  /* --ttl 15m */
} opts;

static char state_dir[4096];
static int64_t cfg_ttl_s = 900;

static void remember_config(int argc, char **argv)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load(zt_cli_config_path(argc, argv), &d);
    if (cfg != NULL && cfg->state_dir != NULL)
        snprintf(state_dir, sizeof(state_dir), "%s", cfg->state_dir);
    if (cfg != NULL && cfg->devices.enroll_code_ttl_ms >= 1000)
        cfg_ttl_s = (int64_t)(cfg->devices.enroll_code_ttl_ms / 1000);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

/* The change is committed; tell running gateways so their caches and revoked sets reload. */
static int tell_gateways(int rc)
{
    if (rc != ZT_CLI_OK)
        return rc;
    int b = state_dir[0] != '\0' ? zt_revocation_bump(state_dir) : -EINVAL;
    if (b == 0)
        return ZT_CLI_OK;
    return zt_cli_fail(ZT_CLI_FAIL,
                       "the change is saved, but running gateways were not told: cannot update "
                       "%s/%s (%s); restart them to apply it",
                       state_dir[0] != '\0' ? state_dir : "(state_dir)", ZT_REVOCATION_FILE,
                       strerror(-b));
}

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

/* "900", "900s", "15m", "2h", "1d" → seconds; false when malformed or out of range. */
static bool parse_ttl(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v <= 0 || s[0] == '-' || s[0] == '+')
        return false;
    int64_t mul = 1;
    if (*end == 'm')
        mul = 60;
    else if (*end == 'h')
        mul = 3600;
    else if (*end == 'd')
        mul = 86400;
    else if (*end != 's' && *end != '\0')
        return false;
    if (*end != '\0' && end[1] != '\0')
        return false;
    if (v > TTL_MAX_S / mul)
        return false;
    *out = (int64_t)v * mul;
    return *out >= 60;
}

/* ---- enroll-code ---- */

static int act_enroll_code(zt_store *st, const zt_cli_args *a)
{
    if (opts.user == NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "enroll-code needs --user EMAIL");
    int64_t ttl = cfg_ttl_s;
    if (opts.ttl != NULL && !parse_ttl(opts.ttl, &ttl))
        return zt_cli_fail(ZT_CLI_USAGE, "--ttl must be a duration from 1m to 7d (e.g. 15m)");
    zt_user u;
    int rc = zt_store_user_get_by_email(st, opts.user, &u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", opts.user);
    if (u.disabled) {
        zt_user_dispose(&u);
        return zt_cli_fail(ZT_CLI_FAIL, "user %s is disabled", opts.user);
    }
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1];
    int64_t now = now_s();
    rc = zt_device_enroll_code(st, u.id, ttl, now, code);
    zt_user_dispose(&u);
    if (rc != 0)
        return zt_cli_store_fail(rc, NULL, NULL);
    if (a->json) {
        json_t *v = json_pack("{s:s, s:s, s:o}", "code", code, "user", opts.user, "expires_at",
                              zt_cli_json_time(now + ttl));
        return tell_gateways(zt_cli_json_print(v));
    }
    char when[32];
    zt_cli_time(now + ttl, when);
    printf("%s\n", code);
    fprintf(stderr,
            "enrolment code for %s, valid until %s, single use.\n"
            "On the device: ztagent enroll --server https://HOST:PORT --code %s\n",
            opts.user, when, code);
    return tell_gateways(ZT_CLI_OK);
}

/* ---- list / show ---- */

static json_t *device_json(const zt_store_device *d)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:s, s:I, s:s, s:s}", "id", d->id,
        "user", d->email, "name", d->name, "platform", d->platform, "enrolled_at",
        zt_cli_json_time(d->enrolled_at), "cert_not_after", zt_cli_json_time(d->cert_not_after),
        "revoked_at", zt_cli_json_time(d->revoked_at), "last_seen_at",
        zt_cli_json_time(d->last_seen_at), "compliant", d->compliant, "failed", d->failed, "risk",
        zt_risk_name((zt_risk)d->risk), "active_alerts", (json_int_t)d->unresolved_alerts,
        "cert_serial", d->cert_serial, "cert_sha256", d->cert_sha256);
}

typedef struct list_ctx {
    bool json;
    json_t *arr;
    zt_cli_table t;
} list_ctx;

static int list_one(void *ctx, const zt_store_device *d)
{
    list_ctx *l = ctx;
    if (l->json)
        return json_array_append_new(l->arr, device_json(d)) == 0 ? 0 : -ENOMEM;
    char seen[32], alerts[24];
    zt_cli_time(d->last_seen_at, seen);
    snprintf(alerts, sizeof(alerts), "%llu", (unsigned long long)d->unresolved_alerts);
    const char *state = d->revoked_at != 0   ? "revoked"
                        : d->posture_at == 0 ? "no report"
                        : d->compliant       ? "compliant"
                                             : "not compliant";
    const char *cells[] = {
        d->id, d->email, d->name, d->platform, state, zt_risk_name((zt_risk)d->risk), alerts, seen};
    return zt_cli_table_add(&l->t, cells);
}

static int act_list(zt_store *st, const zt_cli_args *a)
{
    static const char *const headers[] = {"ID",    "USER", "NAME",   "PLATFORM",
                                          "STATE", "RISK", "ALERTS", "LAST SEEN"};
    char uid[ZT_STORE_ID_LEN + 1] = "";
    if (opts.user != NULL) {
        zt_user u;
        int rc = zt_store_user_get_by_email(st, opts.user, &u);
        if (rc != 0)
            return zt_cli_store_fail(rc, "user", opts.user);
        memcpy(uid, u.id, sizeof(uid));
        zt_user_dispose(&u);
    }
    list_ctx l = {.json = a->json};
    if (l.json && (l.arr = json_array()) == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    if (!l.json && zt_cli_table_init(&l.t, 8, headers) != 0)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    int rc = zt_store_device_list(st, uid[0] != '\0' ? uid : NULL, list_one, &l);
    if (rc != 0) {
        json_decref(l.arr);
        if (!l.json)
            zt_cli_table_dispose(&l.t);
        return zt_cli_store_fail(rc, NULL, NULL);
    }
    if (l.json)
        return zt_cli_json_print(l.arr);
    rc = zt_cli_table_print(&l.t);
    zt_cli_table_dispose(&l.t);
    return rc == 0 ? ZT_CLI_OK : ZT_CLI_FAIL;
}

static int print_alert(void *ctx, const zt_store_alert *al)
{
    json_t *arr = ctx;
    if (arr != NULL)
        return json_array_append_new(
                   arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "path", al->path, "sha256",
                                  al->sha256, "signature", al->signature, "state",
                                  zt_store_alert_state_name(al->state), "detected_at",
                                  zt_cli_json_time(al->detected_at))) == 0
                   ? 0
                   : -ENOMEM;
    char when[32];
    zt_cli_time(al->detected_at, when);
    printf("  alert:         %s %s (%s, %s)\n", zt_store_alert_state_name(al->state), al->path,
           al->signature, when);
    return 0;
}

static int act_show(zt_store *st, const zt_cli_args *a)
{
    zt_store_device d;
    int rc = zt_store_device_get(st, a->pos[0], &d);
    if (rc != 0)
        return zt_cli_store_fail(rc, "device", a->pos[0]);
    if (a->json) {
        json_t *v = device_json(&d);
        json_t *arr = json_array();
        rc = v != NULL && arr != NULL
                 ? zt_store_device_alert_list_active(st, d.id, print_alert, arr)
                 : -ENOMEM;
        if (rc != 0) {
            json_decref(v);
            json_decref(arr);
            return zt_cli_store_fail(rc, NULL, NULL);
        }
        json_object_set_new(v, "alerts", arr);
        return zt_cli_json_print(v);
    }
    char enrolled[32], expires[32], revoked[32], seen[32], posture[32];
    zt_cli_time(d.enrolled_at, enrolled);
    zt_cli_time(d.cert_not_after, expires);
    zt_cli_time(d.revoked_at, revoked);
    zt_cli_time(d.last_seen_at, seen);
    zt_cli_time(d.posture_at, posture);
    printf("id:            %s\nuser:          %s\nname:          %s\nplatform:      %s\n"
           "enrolled:      %s\ncert expires:  %s\ncert serial:   %s\nrevoked:       %s\n"
           "last seen:     %s\nlast posture:  %s\ncompliant:     %s\n",
           d.id, d.email, d.name, d.platform, enrolled, expires, d.cert_serial, revoked, seen,
           posture,
           d.posture_at == 0 ? "no report yet"
           : d.compliant     ? "yes"
                             : "no");
    if (d.failed[0] != '\0')
        printf("failed:        %s\n", d.failed);
    printf("risk:          %s\n", zt_risk_name((zt_risk)d.risk));
    rc = zt_store_device_alert_list_active(st, d.id, print_alert, NULL);
    return rc == 0 ? ZT_CLI_OK : zt_cli_store_fail(rc, NULL, NULL);
}

/* ---- revoke / delete ---- */

static int act_revoke(zt_store *st, const zt_cli_args *a)
{
    zt_account_env env = zt_cli_account_env(st);
    zt_device_revoke_result res;
    int rc = zt_device_revoke_service(&env, NULL, zt_cli_actor(), a->pos[0], &res);
    if (rc == -EALREADY)
        return zt_cli_fail(ZT_CLI_FAIL, "device %s is already revoked", a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "device", a->pos[0]);
    printf("revoked device %s; its sessions are ended and its certificate is refused\n", a->pos[0]);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    return zt_cli_account_done(&done);
}

static int act_delete(zt_store *st, const zt_cli_args *a)
{
    int rc = zt_store_device_delete(st, a->pos[0], now_s());
    if (rc != 0)
        return zt_cli_store_fail(rc, "device", a->pos[0]);
    printf("deleted device %s; its certificate stays revoked until it expires\n", a->pos[0]);
    return tell_gateways(ZT_CLI_OK);
}

static const zt_cli_action device_actions[] = {
    {"enroll-code", "enroll-code --user EMAIL [--ttl 15m] [--json]",
     "make a single-use enrolment code for a user's device", ZT_CLI_OPT_JSON, 0, act_enroll_code},
    {"list", "list [--user EMAIL] [--json]", "list enrolled devices", ZT_CLI_OPT_JSON, 0, act_list},
    {"show", "show ID [--json]", "show one device with its posture verdict and alerts",
     ZT_CLI_OPT_JSON, 1, act_show},
    {"revoke", "revoke ID", "revoke a device: its certificate and sessions stop working", 0, 1,
     act_revoke},
    {"delete", "delete ID", "delete a device record (its certificate stays revoked)", 0, 1,
     act_delete},
};

/* Take --user and --ttl out of argv (they are ours, not the shared parser's). */
static int take_opts(int *argc, char **argv)
{
    int w = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **dst = strcmp(a, "--user") == 0  ? &opts.user
                           : strcmp(a, "--ttl") == 0 ? &opts.ttl
                                                     : NULL;
        if (strcmp(a, "--") == 0) {
            while (i < *argc)
                argv[w++] = argv[i++];
            break;
        }
        if (dst != NULL) {
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

int zt_cmd_device(int argc, char **argv)
{
    remember_config(argc, argv);
    if (take_opts(&argc, argv) != 0)
        return ZT_CLI_USAGE;
    return zt_cli_dispatch("device", device_actions,
                           sizeof(device_actions) / sizeof(device_actions[0]), argc, argv);
}
