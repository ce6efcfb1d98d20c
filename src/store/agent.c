/* Backend-independent half of the pending agent sign-ins (store_agent.h): the shape checks,
 * done once before the backend runs so a refused call writes nothing. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

#define AGENT_ENTER(st)                                                                            \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->agent == NULL)                                                              \
            return zt_store_seterr(-EIO, "this store backend has no agent sign-ins");              \
    } while (0)

static bool lower_hex(const char *s, size_t len)
{
    return s != NULL && strlen(s) == len && s[strspn(s, "0123456789abcdef")] == '\0';
}

static int check_hash(const char *what, const char *h)
{
    return lower_hex(h, ZT_STORE_AGENT_HASH_LEN)
               ? 0
               : zt_store_seterr(-EINVAL, "%s must be 64 lowercase hex characters", what);
}

static int check_device(const char *id)
{
    return lower_hex(id, ZT_STORE_AGENT_DEVICE_ID_LEN)
               ? 0
               : zt_store_seterr(-EINVAL, "device id must be 32 lowercase hex characters");
}

static int check_text(const char *what, const char *s, size_t max, bool required)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if ((required && n == 0) || n > max || (n > 0 && !zt_store_text_ok(s, n)))
        return zt_store_seterr(-EINVAL, "%s must be %s1..%zu characters of text", what,
                               required ? "" : "0 or ", max);
    return 0;
}

static bool state_ok(int s)
{
    return s == ZT_STORE_AGENT_PENDING || s == ZT_STORE_AGENT_APPROVED ||
           s == ZT_STORE_AGENT_DENIED;
}

/* The approval fields: a user and an AAGUID of the right shape when approving. */
static int check_decision(const zt_store_agent_signin *d)
{
    if (d == NULL || !state_ok((int)d->state) || d->state == ZT_STORE_AGENT_PENDING)
        return zt_store_seterr(-EINVAL, "a decision is approved or denied");
    if (d->state == ZT_STORE_AGENT_DENIED)
        return 0;
    int rc = zt_store_check_user_id(d->user_id);
    rc = rc ? rc : check_text("email", d->email, ZT_STORE_EMAIL_MAX, false);
    rc = rc ? rc : check_text("mfa method", d->mfa_method, ZT_STORE_AGENT_MFA_METHOD_MAX, false);
    if (rc == 0 && d->aaguid[0] != '\0' && !lower_hex(d->aaguid, 32))
        rc = zt_store_seterr(-EINVAL, "aaguid must be 32 lowercase hex characters or empty");
    if (rc == 0 && (d->auth_time < 0 || d->mfa_time < 0 || d->expires_cap <= 0))
        rc = zt_store_seterr(-EINVAL, "approval times must be positive");
    return rc;
}

int zt_store_agent_signin_put(zt_store *st, const zt_store_agent_signin *s, int64_t now)
{
    AGENT_ENTER(st);
    if (s == NULL)
        return zt_store_seterr(-EINVAL, "no sign-in given");
    int rc = check_hash("device code hash", s->device_hash);
    rc = rc ? rc : check_hash("user code hash", s->user_hash);
    rc = rc ? rc : check_device(s->device_id);
    rc = rc ? rc : check_text("app", s->app, ZT_STORE_AGENT_APP_MAX, true);
    rc = rc ? rc : check_text("address", s->ip, ZT_STORE_AGENT_IP_MAX, false);
    if (rc == 0 && (s->expires <= now || s->interval_s <= 0 || s->last_poll_ms < 0))
        rc = zt_store_seterr(-EINVAL, "a sign-in must expire later and poll at an interval");
    if (rc == 0 && s->state != ZT_STORE_AGENT_PENDING)
        rc = zt_store_seterr(-EINVAL, "a new sign-in is pending");
    return rc != 0 ? rc : st->ops->agent->put(st, s, now);
}

int zt_store_agent_signin_get(zt_store *st, bool by_device_code, const char *hash,
                              zt_store_agent_signin *out)
{
    AGENT_ENTER(st);
    int rc = check_hash("code hash", hash);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->agent->get(st, by_device_code, hash, out);
}

int zt_store_agent_signin_polled(zt_store *st, const char *device_hash, int64_t last_poll_ms,
                                 int interval_s)
{
    AGENT_ENTER(st);
    int rc = check_hash("device code hash", device_hash);
    if (rc == 0 && (last_poll_ms < 0 || interval_s <= 0))
        rc = zt_store_seterr(-EINVAL, "bad poll time or interval");
    return rc != 0 ? rc : st->ops->agent->polled(st, device_hash, last_poll_ms, interval_s);
}

int zt_store_agent_signin_take(zt_store *st, const char *device_hash, int state)
{
    AGENT_ENTER(st);
    int rc = check_hash("device code hash", device_hash);
    if (rc == 0 && state >= 0 && !state_ok(state))
        rc = zt_store_seterr(-EINVAL, "no such state");
    return rc != 0 ? rc : st->ops->agent->take(st, device_hash, state < 0 ? -1 : state);
}

int zt_store_agent_signin_decide(zt_store *st, const char *user_hash, const char *device_id,
                                 int64_t now, zt_store_agent_state from,
                                 const zt_store_agent_signin *d)
{
    AGENT_ENTER(st);
    int rc = check_hash("user code hash", user_hash);
    rc = rc ? rc : check_device(device_id);
    rc = rc ? rc : check_decision(d);
    if (rc == 0 && !state_ok((int)from))
        rc = zt_store_seterr(-EINVAL, "no such state");
    return rc != 0 ? rc : st->ops->agent->decide(st, user_hash, device_id, now, (int)from, d);
}
