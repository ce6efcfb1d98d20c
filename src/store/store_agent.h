/* Pending sign-ins of `ztagent tunnel` (device/agent_signin.c, docs/TUNNELS.md): the device-code
 * flow's state between the agent's start, the person's approval and the agent's polls. In the
 * store, not in one gateway's memory, so that with many gateways on one database the three may
 * reach different ones. Included by store/store.h; the error codes and threading rules there
 * apply.
 *
 * Both codes are kept only as SHA-256 (hex) and looked up by it: they are 256 and 40 random
 * bits, and the user code's guesses are throttled by the caller. A row lives five minutes at
 * most (expires); one per device (a new start replaces the device's previous row). Rows are
 * short-lived: SQLite keeps them in ztgate-idp.db with the identity provider's codes (no
 * fsync per commit), PostgreSQL in table agent_signins (schema step 5). Nothing is copied by
 * `ztgate store migrate`. */
#ifndef ZT_STORE_STORE_AGENT_H
#define ZT_STORE_STORE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_AGENT_HASH_LEN 64      /* SHA-256, lowercase hex */
#define ZT_STORE_AGENT_DEVICE_ID_LEN 32 /* the device's id: 16 random bytes, lowercase hex */
#define ZT_STORE_AGENT_APP_MAX 260      /* "host:port" */
#define ZT_STORE_AGENT_IP_MAX 63
#define ZT_STORE_AGENT_MFA_METHOD_MAX 16
#define ZT_STORE_AGENT_PENDING_MAX 1024 /* unexpired rows, all devices */

typedef enum zt_store_agent_state {
    ZT_STORE_AGENT_PENDING = 0,
    ZT_STORE_AGENT_APPROVED = 1,
    ZT_STORE_AGENT_DENIED = 2,
} zt_store_agent_state;

typedef struct zt_store_agent_signin {
    char device_hash[ZT_STORE_AGENT_HASH_LEN + 1]; /* of the device code (the agent's secret) */
    char user_hash[ZT_STORE_AGENT_HASH_LEN + 1];   /* of the normalised user code */
    char device_id[ZT_STORE_AGENT_DEVICE_ID_LEN + 1];
    char app[ZT_STORE_AGENT_APP_MAX + 1];
    char ip[ZT_STORE_AGENT_IP_MAX + 1]; /* the agent's address when it asked */
    int64_t expires;                    /* Unix seconds */
    int64_t last_poll_ms;               /* Unix milliseconds; the start counts as a poll */
    int interval_s;                     /* the poll interval, grown by each slow_down */
    zt_store_agent_state state;
    /* The approval (state APPROVED), from the approving session: */
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
    int64_t auth_time, mfa_time;
    int64_t expires_cap; /* the approving session's absolute expiry */
    char mfa_method[ZT_STORE_AGENT_MFA_METHOD_MAX + 1];
    unsigned amr;
    char aaguid[33]; /* the approving passkey's AAGUID, lowercase hex; "" = none */
} zt_store_agent_signin;

/* Store a new pending sign-in (state PENDING), replacing the device's previous one, and drop
 * rows expired at `now`. -ENOSPC when ZT_STORE_AGENT_PENDING_MAX unexpired rows of other
 * devices exist already; -EEXIST a code hash is taken (never, with random codes). */
int zt_store_agent_signin_put(zt_store *st, const zt_store_agent_signin *s, int64_t now);
/* The row whose device code (by_device_code) or user code has this hash. -ENOENT none. */
int zt_store_agent_signin_get(zt_store *st, bool by_device_code, const char *hash,
                              zt_store_agent_signin *out);
/* Remember a poll that changed nothing else: last_poll_ms and interval_s. -ENOENT none. */
int zt_store_agent_signin_polled(zt_store *st, const char *device_hash, int64_t last_poll_ms,
                                 int interval_s);
/* Delete the row if it is in `state` (any state when state < 0): the one poller that gets 0
 * hands the decision out; -ENOENT for everyone else. */
int zt_store_agent_signin_take(zt_store *st, const char *device_hash, int state);
/* Decide a sign-in: the row with this user-code hash moves from state `from` to d->state,
 * with d's approval fields (user_id ... aaguid), only while it is unexpired at `now` and was
 * started by device_id. -ENOENT otherwise (decided meanwhile, expired, another device). */
int zt_store_agent_signin_decide(zt_store *st, const char *user_hash, const char *device_id,
                                 int64_t now, zt_store_agent_state from,
                                 const zt_store_agent_signin *d);

#endif
