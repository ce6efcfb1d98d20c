/* Brute-force limits on sign-in, without locking the owner out (NIST SP 800-63B 5.2.2,
 * OWASP ASVS V2.2.1).
 *
 * - Per account, growing delays: after a few consecutive failures each further attempt waits
 *   longer (doubling, capped), and after `account_failure_limit` consecutive failures the
 *   account refuses attempts outright. Both apply only to attempts from browsers that are not a
 *   known device of that account: the owner, presenting the signed known-device cookie of an
 *   earlier successful sign-in, is counted separately and is never slowed by an attacker's
 *   failures. A success resets the counter of its side.
 * - Per source IP: at most `source_failures_per_minute` failures in a sliding minute; further
 *   attempts from that IP are refused until it slides.
 *
 * Limits hold at the verdict, not only at admission: an admitted attempt holds a reservation on
 * its account side and its source until its password has been checked (zt_throttle_settle) or
 * dropped unchecked (zt_throttle_release), and admission counts reservations as failures. So
 * however many attempts run concurrently, on however many loops and from however many
 * addresses, an account side sees at most `account_failure_limit` checked guesses between two
 * resets and a source at most `source_failures_per_minute` failed verdicts in any minute.
 *
 * Shared (zt_throttle_set_shared, when the store is PostgreSQL and several gateways share it):
 * the failures, the per-second source counts and the reservations live in the database
 * (store/store_counter.h), so the limits above hold across all gateways together, not per
 * gateway. Admission is one round trip (two when the attempt is refused); a database error
 * during admission refuses the attempt (SOURCE, fail closed). A reservation lasts at most
 * ZT_THROTTLE_HOLD_TTL_MS after its admission, by the admitting gateway's clock: the
 * reservations of a gateway that crashed stop counting within that bound.
 *
 * Accounts are keyed by the lowercased user name as typed, whether or not the user exists, so
 * the limiter's behaviour reveals nothing about which accounts exist. Memory is bounded: the
 * oldest entries are evicted beyond a fixed number (never one holding a reservation).
 * Thread-safe (one mutex): every loop shares one throttle. */
#ifndef ZT_SESSION_THROTTLE_H
#define ZT_SESSION_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct zt_throttle zt_throttle;

/* A side of an account that refuses (ZT_THROTTLE_ACCOUNT) opens again after a success or after
 * this long without a recorded failure. */
#define ZT_THROTTLE_ACCOUNT_RESET_MS (15 * 60 * 1000)
#define ZT_THROTTLE_WINDOW_S 60 /* the per-source sliding window */
/* Shared mode: how long a reservation counts at most (admission to verdict takes the delay,
 * at most max_hold_ms, plus the password hash; a verdict after it is still recorded). */
#define ZT_THROTTLE_HOLD_TTL_MS (60 * 1000)
#define ZT_THROTTLE_SHARED_KEY_LEN 32

typedef struct zt_throttle_cfg {
    unsigned account_failure_limit;      /* default 100 */
    unsigned source_failures_per_minute; /* default 30 */
    unsigned free_failures;              /* failures before delays start; default 3 */
    uint64_t base_delay_ms;              /* first delay; doubles; default 500 */
    uint64_t max_delay_ms;               /* cap; default 30000 */
    unsigned max_entries;                /* accounts + sources remembered; default 100000 */
    uint64_t max_hold_ms; /* admit: longer delays are refused with a wait; default 2000 */
} zt_throttle_cfg;

zt_throttle *zt_throttle_new(const zt_throttle_cfg *cfg);
void zt_throttle_free(zt_throttle *t);
/* Count through the store's shared counters from now on (store borrowed, must outlive the
 * throttle), keyed with key, which every gateway on the database must share. -ENOTSUP when the
 * store keeps no shared counters (SQLite): the throttle stays in memory. Call before the first
 * admission. */
struct zt_store;
int zt_throttle_set_shared(zt_throttle *t, struct zt_store *store,
                           const unsigned char key[ZT_THROTTLE_SHARED_KEY_LEN]);
/* Reload: new limits apply from the next check. */
void zt_throttle_configure(zt_throttle *t, const zt_throttle_cfg *cfg);

typedef enum zt_throttle_result {
    ZT_THROTTLE_GO = 0,  /* verify now, or after delay_ms */
    ZT_THROTTLE_SOURCE,  /* this IP has too many recent failures: refuse (429) */
    ZT_THROTTLE_ACCOUNT, /* this account refuses unknown devices: fail like a wrong password */
    ZT_THROTTLE_WAIT,    /* refuse now, say how long: the delay is over max_hold_ms (admit
                            only), or guesses in flight already fill the account limit */
} zt_throttle_result;

typedef struct zt_throttle_verdict {
    zt_throttle_result result;
    uint64_t delay_ms;      /* GO: hold the answer this long before verifying */
    uint64_t retry_after_s; /* SOURCE, WAIT: for Retry-After and the page (>= 1) */
} zt_throttle_verdict;

/* One attempt from admission to verdict. Zero it before zt_throttle_admit. */
typedef struct zt_throttle_ticket {
    unsigned char account_key[16], source_key[16];
    bool known_device;
    bool has_account, has_source;      /* keys set */
    bool account_held, source_held;    /* reservations held until settle/release */
    bool counts;                       /* GO or ACCOUNT: settle records the verdict */
    bool shared;                       /* admitted through the database */
    int64_t account_hold, source_hold; /* shared: the reservations' ids (0 none) */
} zt_throttle_ticket;

/* Admission. GO: the attempt holds a reservation; verify after delay_ms, then settle.
 * ACCOUNT: no guess may be checked (verify a dummy hash, answer like a wrong password), then
 * settle(false), which keeps the lock in place. SOURCE and WAIT: refuse now; nothing to settle
 * (settle and release are no-ops). When memory for a reservation runs out the attempt is
 * refused as SOURCE (fail closed). No clock is read inside: now_ms is the caller's. */
zt_throttle_verdict zt_throttle_admit(zt_throttle *t, const char *account, const char *ip,
                                      bool known_device, int64_t now_ms,
                                      zt_throttle_ticket *ticket);
/* The verdict of an admitted attempt: its reservation becomes a failure or a success. */
void zt_throttle_settle(zt_throttle *t, zt_throttle_ticket *ticket, bool success, int64_t now_ms);
/* The attempt ended with no verdict (client gone, hashing queue full): drop its reservation. */
void zt_throttle_release(zt_throttle *t, zt_throttle_ticket *ticket);

/* What admission would say now, without reserving anything and without the max_hold_ms cut
 * (for tests and diagnostics). */
zt_throttle_verdict zt_throttle_check(zt_throttle *t, const char *account, const char *ip,
                                      bool known_device, int64_t now_ms);
/* Record a verdict that held no reservation (tests; an attempt admitted before a restart). */
void zt_throttle_record(zt_throttle *t, const char *account, const char *ip, bool known_device,
                        bool success, int64_t now_ms);
/* Accounts plus sources remembered now (for tests and metrics). */
unsigned zt_throttle_entries(zt_throttle *t);

#endif
