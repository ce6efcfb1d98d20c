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
 * Accounts are keyed by the lowercased user name as typed, whether or not the user exists, so
 * the limiter's behaviour reveals nothing about which accounts exist. Memory is bounded: the
 * oldest entries are evicted beyond a fixed number. Thread-safe (one mutex). */
#ifndef ZT_SESSION_THROTTLE_H
#define ZT_SESSION_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct zt_throttle zt_throttle;

/* A side of an account that refuses (ZT_THROTTLE_ACCOUNT) opens again after a success or after
 * this long without a recorded failure. */
#define ZT_THROTTLE_ACCOUNT_RESET_MS (15 * 60 * 1000)
#define ZT_THROTTLE_WINDOW_S 60 /* the per-source sliding window */

typedef struct zt_throttle_cfg {
    unsigned account_failure_limit;      /* default 100 */
    unsigned source_failures_per_minute; /* default 30 */
    unsigned free_failures;              /* failures before delays start; default 3 */
    uint64_t base_delay_ms;              /* first delay; doubles; default 500 */
    uint64_t max_delay_ms;               /* cap; default 30000 */
    unsigned max_entries;                /* accounts + sources remembered; default 100000 */
} zt_throttle_cfg;

zt_throttle *zt_throttle_new(const zt_throttle_cfg *cfg);
void zt_throttle_free(zt_throttle *t);
/* Reload: new limits apply from the next check. */
void zt_throttle_configure(zt_throttle *t, const zt_throttle_cfg *cfg);

typedef enum zt_throttle_result {
    ZT_THROTTLE_GO = 0,  /* verify now, or after delay_ms */
    ZT_THROTTLE_SOURCE,  /* this IP has too many recent failures: refuse (429) */
    ZT_THROTTLE_ACCOUNT, /* this account refuses unknown devices: fail like a wrong password */
} zt_throttle_result;

typedef struct zt_throttle_verdict {
    zt_throttle_result result;
    uint64_t delay_ms;      /* GO: hold the answer this long before verifying */
    uint64_t retry_after_s; /* SOURCE: for Retry-After */
} zt_throttle_verdict;

/* Callers record every attempt whose answer was given as a sign-in result, including those
 * refused by the account lock (checked against a dummy hash, answered like a wrong password):
 * an attack in progress keeps the lock. A SOURCE refusal (429) is not recorded. No clock is read inside: now_ms is the caller's (monotonic or wall) milliseconds. */
zt_throttle_verdict zt_throttle_check(zt_throttle *t, const char *account, const char *ip,
                                      bool known_device, int64_t now_ms);
void zt_throttle_record(zt_throttle *t, const char *account, const char *ip, bool known_device,
                        bool success, int64_t now_ms);
/* Accounts plus sources remembered now (for tests and metrics). */
unsigned zt_throttle_entries(zt_throttle *t);

#endif
