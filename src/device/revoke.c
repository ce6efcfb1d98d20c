/* Revoking a device, written once for every front-end (device.h zt_device_revoke_service). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit/event.h"
#include "device/device.h"
#include "lib/buf.h"
#include "lib/time.h"
#include "session/session.h"
#include "store/store_device.h"

#define ACT_DISABLE 5 /* OCSF Account Change: the credential is disabled */

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The same shape as the account service's records (session/account.c), with the device. */
static int write_record(const zt_account_env *env, const zt_actor *who,
                        const zt_device_revoke_result *res)
{
    if (env->audit.write == NULL)
        return 0;
    zt_buf b;
    zt_event ev;
    zt_actor_event_begin(&ev, &b, ZT_EV_ACCOUNT_CHANGE, ACT_DISABLE,
                         "account change: device.revoke", who);
    zt_event_str(&ev, "user.uid", has(res->device.user_id) ? res->device.user_id : NULL);
    zt_event_str(&ev, "user.email_addr", has(res->device.email) ? res->device.email : NULL);
    zt_event_str(&ev, "device.uid", res->device.id);
    zt_event_str(&ev, "device.name", has(res->device.name) ? res->device.name : NULL);
    zt_event_str(&ev, "unmapped.operation", "device.revoke");
    zt_event_str(&ev, "unmapped.change", res->change);
    return zt_actor_event_write(&ev, &b, env->audit, who);
}

int zt_device_revoke_service(const zt_account_env *env, zt_devices *devs, const zt_actor *who,
                             const char *device_id, zt_device_revoke_result *res)
{
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (env == NULL || env->store == NULL || who == NULL || device_id == NULL || res == NULL)
        return -EINVAL;
    int rc = zt_store_device_get(env->store, device_id, &res->device);
    if (rc != 0)
        return rc;
    if (res->device.revoked_at != 0)
        return -EALREADY;
    rc = zt_store_device_revoke(env->store, res->device.id, zt_wall_us() / 1000000);
    if (rc != 0)
        return rc;
    (void)zt_store_device_get(env->store, res->device.id, &res->device); /* revoked_at */
    snprintf(res->change, sizeof(res->change),
             "device revoked (certificate serial %s refused; sessions ended)",
             res->device.cert_serial);
    if (devs != NULL)
        zt_devices_refresh_revoked(devs);
    res->audit_rc = write_record(env, who, res);
    res->revocation_rc = has(env->state_dir) ? zt_revocation_bump(env->state_dir) : -EINVAL;
    return 0;
}
