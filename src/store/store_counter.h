/* Counters shared by every gateway on one database (PostgreSQL schema 3): the brute-force
 * throttle's account sides, per-second source failures and reservations (session/throttle.h),
 * and the risk engine's per-source failure telemetry and flags (risk/risk.h). Included by
 * store/store.h; the error codes and threading rules there apply.
 *
 * Only a backend shared by several gateways has them (PostgreSQL). On SQLite, a single node,
 * zt_store_counter_shared() is false and every other function here returns -ENOTSUP: the
 * throttle and the risk engine keep their counters in memory as before.
 *
 * Every key is ZT_STORE_COUNTER_KEY_LEN bytes of a keyed hash the caller computes with a key
 * all gateways share (derived from auth.secrets_key), so the database never holds an account
 * name, an address or a password tag in clear: only hashes nobody without the key can link to
 * a name. Each call is one statement (one round trip); the ones that read and then write run
 * under a transaction-scoped advisory lock on their key, so two gateways admitting attempts on
 * one account at the same moment are serialised and the limits hold across them. */
#ifndef ZT_STORE_STORE_COUNTER_H
#define ZT_STORE_STORE_COUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_COUNTER_KEY_LEN 16
/* Seconds of source failures an admission reads: the throttle's sliding minute plus one. */
#define ZT_STORE_THROTTLE_SECS 61
#define ZT_STORE_THROTTLE_SOURCE_SIDE (-1) /* a reservation on a source, not an account side */

/* True when the backend keeps shared counters (PostgreSQL). */
bool zt_store_counter_shared(zt_store *st);

/* What an admission saw, before its own reservations. */
typedef struct zt_store_throttle_seen {
    int64_t fails;           /* the account side's consecutive failures recorded */
    int64_t last_fail_ms;    /* when the last of them was recorded (0 none) */
    int64_t account_pending; /* unexpired reservations on the side (other attempts) */
    int64_t source_pending;  /* unexpired reservations on the source (other attempts) */
    size_t n_secs;           /* per-second failures of the source in the window, oldest first */
    int64_t sec[ZT_STORE_THROTTLE_SECS];
    int64_t count[ZT_STORE_THROTTLE_SECS];
    int64_t account_hold, source_hold; /* ids of the reservations taken (0 none) */
} zt_store_throttle_seen;

/* Read an account side (account_key, side 0 or 1; account_key NULL: none) and a source
 * (source_key, nullable) and, when hold_until_ms > 0, take a reservation on each that lasts
 * until hold_until_ms unless settled or dropped first. Reservations that expired by now_ms
 * are not counted. Failures of seconds after now_ms (another gateway's clock ahead) count as
 * now. */
int zt_store_throttle_admit(zt_store *st, const unsigned char *account_key, int side,
                            const unsigned char *source_key, int64_t now_ms, int64_t hold_until_ms,
                            zt_store_throttle_seen *out);
/* Drop reservations (ids from admit; 0 = none). */
int zt_store_throttle_unhold(zt_store *st, int64_t hold1, int64_t hold2);
/* A verdict: drop its reservations, then on success reset the side's failures, on failure add
 * one to the side (forgiving older ones when the last was reset_ms or more ago) and one to the
 * source's second of now_ms. Either key may be NULL. */
int zt_store_throttle_settle(zt_store *st, const unsigned char *account_key, int side,
                             const unsigned char *source_key, bool success, int64_t now_ms,
                             int64_t reset_ms, int64_t hold1, int64_t hold2);

/* The password-spray and reputation rules (risk/risk.h zt_risk_cfg), evaluated over every
 * gateway's failures. */
typedef struct zt_store_spray_rule {
    int64_t spray_window_s;
    int64_t spray_accounts, spray_passwords;
    int64_t reputation_window_s;
    int64_t reputation_accounts;
    int64_t ttl_s;
} zt_store_spray_rule;

enum {
    ZT_STORE_FLAG_SPRAY = 1u << 0,      /* = ZT_RISK_SRC_SPRAY */
    ZT_STORE_FLAG_REPUTATION = 1u << 1, /* = ZT_RISK_SRC_REPUTATION */
};

typedef struct zt_store_source_flags {
    unsigned char source[ZT_STORE_COUNTER_KEY_LEN];
    int64_t reputation_until, spray_until; /* Unix seconds; 0 never flagged */
    unsigned raised; /* ZT_STORE_FLAG_* newly raised by this call (failure only) */
} zt_store_source_flags;

/* A failed sign-in from source against account, with the attempted password's tag (nullable):
 * recorded, then the rules applied to the source's failures within their windows; a flag that
 * holds is set (or renewed) to now + ttl_s. out: the source's flags after the call and which
 * were newly raised (exactly one gateway sees a flag raised). */
int zt_store_risk_failure(zt_store *st, const unsigned char *source, const unsigned char *account,
                          const unsigned char *pw_tag, int64_t now, const zt_store_spray_rule *rule,
                          zt_store_source_flags *out);
/* Every source flagged beyond now (either flag), for gateways to copy into memory. */
typedef int (*zt_store_source_flags_cb)(void *ctx, const zt_store_source_flags *f);
int zt_store_risk_flags(zt_store *st, int64_t now, zt_store_source_flags_cb cb, void *ctx);

/* Delete what no longer counts: reservations expired by now_ms, source seconds out of the
 * window, account sides with no failure for reset_ms, risk failures older than risk_keep_s
 * and flags expired. n_out (nullable): rows deleted. */
int zt_store_counter_sweep(zt_store *st, int64_t now_ms, int64_t reset_ms, int64_t risk_keep_s,
                           uint64_t *n_out);

/* A value every gateway on the database must agree on (e.g. a check value of auth.secrets_key):
 * the first gateway to ask stores `value` under `name`; every call answers with the value
 * stored (into stored[cap]), so a caller compares it with its own. name: 1..64 of [a-z0-9._-];
 * value: 1..128 printable ASCII. */
#define ZT_STORE_SHARED_VALUE_MAX 128
int zt_store_shared_claim(zt_store *st, const char *name, const char *value, char *stored,
                          size_t cap);

#endif
