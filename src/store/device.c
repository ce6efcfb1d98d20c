/* Backend-independent half of the device-trust store: every argument is checked against the
 * limits in store_device.h here, once, before the backend's device ops run. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

/* Same contract as store.c's ENTER: no stale message, no NULL store, a backend that has it. */
#define DEV_ENTER(st)                                                                              \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->device == NULL)                                                             \
            return zt_store_seterr(-EIO, "this store backend has no device records");              \
    } while (0)

const char *zt_store_alert_state_name(zt_store_alert_state s)
{
    switch (s) {
    case ZT_STORE_ALERT_ACTIVE:
        return "active";
    case ZT_STORE_ALERT_QUARANTINED:
        return "quarantined";
    case ZT_STORE_ALERT_RESOLVED:
        return "resolved";
    }
    return "unknown";
}

static bool in_set(const char *s, const char *set)
{
    for (; *s != '\0'; s++)
        if (strchr(set, *s) == NULL)
            return false;
    return true;
}

/* Exactly `len` lowercase hex digits when exact, else 1..len. */
static int check_hex(const char *what, const char *s, size_t len, bool exact)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > len || (exact && n != len) || !in_set(s, "0123456789abcdef"))
        return zt_store_seterr(-EINVAL, "%s must be %s%zu lowercase hex characters", what,
                               exact ? "" : "at most ", len);
    return 0;
}

/* 1..max bytes of text without control characters (UTF-8 passes through as bytes >= 0x80). */
static int check_text(const char *what, const char *s, size_t max, bool empty_ok)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (s == NULL || (n == 0 && !empty_ok) || n > max)
        return zt_store_seterr(-EINVAL, "%s must be %s1..%zu bytes", what,
                               empty_ok ? "empty or " : "", max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return zt_store_seterr(-EINVAL, "%s contains a control character", what);
    }
    return 0;
}

static int check_time(const char *what, int64_t t)
{
    return t > 0 ? 0 : zt_store_seterr(-EINVAL, "%s must be a positive time", what);
}

static int check_device_in(const zt_store_device *d, bool need_user)
{
    if (d == NULL)
        return zt_store_seterr(-EINVAL, "no device given");
    int rc = check_hex("device id", d->id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0 && need_user)
        rc = check_hex("user id", d->user_id, ZT_STORE_ID_LEN, true);
    if (rc == 0 && (d->name[0] == '\0' || strlen(d->name) > ZT_STORE_DEV_NAME_MAX ||
                    !in_set(d->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-_")))
        rc = zt_store_seterr(-EINVAL, "device name must be 1..%d characters of [A-Za-z0-9._-]",
                             ZT_STORE_DEV_NAME_MAX);
    if (rc == 0 && (d->platform[0] == '\0' || strlen(d->platform) > ZT_STORE_DEV_PLATFORM_MAX ||
                    !in_set(d->platform, "abcdefghijklmnopqrstuvwxyz0123456789_-")))
        rc = zt_store_seterr(-EINVAL, "platform must be 1..%d characters of [a-z0-9_-]",
                             ZT_STORE_DEV_PLATFORM_MAX);
    if (rc == 0)
        rc = check_hex("certificate serial", d->cert_serial, ZT_STORE_DEV_SERIAL_MAX, false);
    if (rc == 0)
        rc = check_hex("certificate SHA-256", d->cert_sha256, ZT_STORE_DEV_SHA256_LEN, true);
    if (rc == 0)
        rc = check_time("enrolled_at", d->enrolled_at);
    if (rc == 0 && d->cert_not_after <= d->enrolled_at)
        rc = zt_store_seterr(-EINVAL, "certificate must expire after enrolment");
    return rc;
}

int zt_store_enroll_code_add(zt_store *st, const char *code_hash, const char *user_id, int64_t now,
                             int64_t expires_at)
{
    DEV_ENTER(st);
    int rc = check_hex("code hash", code_hash, ZT_STORE_ENROLL_HASH_LEN, true);
    if (rc == 0)
        rc = check_hex("user id", user_id, ZT_STORE_ID_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    if (rc == 0 && expires_at <= now)
        rc = zt_store_seterr(-EINVAL, "a code must expire after it is made");
    return rc != 0 ? rc : st->ops->device->code_add(st, code_hash, user_id, now, expires_at);
}

int zt_store_enroll_code_use(zt_store *st, const char *code_hash, int64_t now,
                             char user_id_out[ZT_STORE_ID_LEN + 1])
{
    DEV_ENTER(st);
    int rc = check_hex("code hash", code_hash, ZT_STORE_ENROLL_HASH_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    if (rc == 0 && user_id_out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->device->code_use(st, code_hash, now, user_id_out);
}

int zt_store_device_create(zt_store *st, const zt_store_device *d)
{
    DEV_ENTER(st);
    int rc = check_device_in(d, true);
    return rc != 0 ? rc : st->ops->device->create(st, d);
}

int zt_store_device_enroll(zt_store *st, const char *code_hash, int64_t now, zt_store_device *d)
{
    DEV_ENTER(st);
    int rc = check_hex("code hash", code_hash, ZT_STORE_ENROLL_HASH_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    if (rc == 0)
        rc = check_device_in(d, false);
    return rc != 0 ? rc : st->ops->device->enroll(st, code_hash, now, d);
}

int zt_store_device_get(zt_store *st, const char *id, zt_store_device *out)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->device->get(st, id, out);
}

int zt_store_device_list(zt_store *st, const char *user_id, zt_store_device_cb cb, void *ctx)
{
    DEV_ENTER(st);
    int rc = user_id != NULL ? check_hex("user id", user_id, ZT_STORE_ID_LEN, true) : 0;
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->device->list(st, user_id, cb, ctx);
}

int zt_store_device_revoke(zt_store *st, const char *id, int64_t now)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    return rc != 0 ? rc : st->ops->device->revoke(st, id, now);
}

int zt_store_device_delete(zt_store *st, const char *id, int64_t now)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    return rc != 0 ? rc : st->ops->device->remove(st, id, now);
}

int zt_store_device_revoked_serials(zt_store *st, int64_t now, zt_store_name_cb cb, void *ctx)
{
    DEV_ENTER(st);
    int rc = check_time("now", now);
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->device->revoked_serials(st, now, cb, ctx);
}

int zt_store_device_posture_add(zt_store *st, const char *id, int64_t now, const char *json,
                                bool compliant, const char *failed)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0)
        rc = check_time("now", now);
    if (rc == 0 && (json == NULL || json[0] == '\0' || strlen(json) > ZT_STORE_DEV_POSTURE_MAX))
        rc = zt_store_seterr(-EINVAL, "posture must be 1..%d bytes", ZT_STORE_DEV_POSTURE_MAX);
    if (rc == 0)
        rc = check_text("compliance failures", failed, ZT_STORE_DEV_FAILED_MAX, true);
    return rc != 0 ? rc : st->ops->device->posture_add(st, id, now, json, compliant, failed);
}

int zt_store_device_posture_get(zt_store *st, const char *id, char **json_out, int64_t *at_out)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0 && (json_out == NULL || at_out == NULL))
        rc = zt_store_seterr(-EINVAL, "no output given");
    if (rc == 0)
        *json_out = NULL;
    return rc != 0 ? rc : st->ops->device->posture_get(st, id, json_out, at_out);
}

int zt_store_device_alert_add(zt_store *st, zt_store_alert *a)
{
    DEV_ENTER(st);
    if (a == NULL)
        return zt_store_seterr(-EINVAL, "no alert given");
    int rc = check_hex("device id", a->device_id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0)
        rc = check_text("alert path", a->path, ZT_STORE_DEV_ALERT_PATH_MAX, false);
    if (rc == 0 && a->sha256[0] != '\0')
        rc = check_hex("alert SHA-256", a->sha256, ZT_STORE_DEV_SHA256_LEN, true);
    if (rc == 0)
        rc = check_text("alert signature", a->signature, ZT_STORE_DEV_ALERT_SIG_MAX, false);
    if (rc == 0)
        rc = check_time("detected_at", a->detected_at);
    if (rc == 0)
        rc = check_time("updated_at", a->updated_at);
    return rc != 0 ? rc : st->ops->device->alert_add(st, a);
}

int zt_store_device_alert_set_path(zt_store *st, const char *device_id, const char *path,
                                   zt_store_alert_state to, int64_t now, uint64_t *n_out)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", device_id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0)
        rc = check_text("alert path", path, ZT_STORE_DEV_ALERT_PATH_MAX, false);
    if (rc == 0 && (to < ZT_STORE_ALERT_ACTIVE || to > ZT_STORE_ALERT_RESOLVED))
        rc = zt_store_seterr(-EINVAL, "unknown alert state");
    if (rc == 0)
        rc = check_time("now", now);
    return rc != 0 ? rc : st->ops->device->alert_set_path(st, device_id, path, to, now, n_out);
}

int zt_store_device_alert_list_active(zt_store *st, const char *device_id, zt_store_alert_cb cb,
                                      void *ctx)
{
    DEV_ENTER(st);
    int rc = check_hex("device id", device_id, ZT_STORE_DEV_ID_LEN, true);
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->device->alert_list_active(st, device_id, cb, ctx);
}
