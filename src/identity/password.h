/* Passwords: NFKC-normalised, checked against a length policy and the breached corpus, stored as
 * argon2id strings (salt and parameters inside). Hashing costs tens of milliseconds, so a loop
 * thread must only use zt_password_pool; this module never logs or keeps a password. */
#ifndef ZT_IDENTITY_PASSWORD_H
#define ZT_IDENTITY_PASSWORD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "identity/breach.h"

#define ZT_PASSWORD_ENCODED_MAX 128 /* crypto_pwhash_STRBYTES, NUL included */
/* Bytes accepted from a peer before normalisation; longer is refused unread (ASVS 2.1.2 allows
 * 128 code points, i.e. at most 512 bytes of UTF-8; the rest is room for decomposed input). */
#define ZT_PASSWORD_MAX_BYTES 1024

typedef struct zt_password_params {
    unsigned long long opslimit; /* argon2id passes (t) */
    size_t memlimit;             /* bytes (m); lanes are always 1 in libsodium */
} zt_password_params;

/* Stronger than the OWASP floor (19 MiB, t=2): RFC 9106's second choice with one lane. */
#define ZT_PASSWORD_PARAMS_DEFAULT ((zt_password_params){3, 64u << 20})

/* True when p is at least as costly as one of OWASP's argon2id rows (m >= 7 MiB and
 * m*t >= 35 MiB) and within libsodium's bounds; else false with a reason in *why. */
__attribute__((warn_unused_result)) bool zt_password_params_ok(const zt_password_params *p,
                                                               const char **why);

typedef struct zt_password_policy {
    size_t min_chars; /* code points after NFKC, runs of spaces counted once (ASVS 2.1.1) */
    size_t max_chars; /* code points after NFKC (ASVS 2.1.2) */
} zt_password_policy;

#define ZT_PASSWORD_POLICY_DEFAULT ((zt_password_policy){12, 128})

typedef enum zt_password_verdict {
    ZT_PASSWORD_OK = 0,
    ZT_PASSWORD_INVALID_UTF8,
    ZT_PASSWORD_CONTROL, /* contains NUL: C interfaces down the line would cut it short */
    ZT_PASSWORD_TOO_SHORT,
    ZT_PASSWORD_TOO_LONG,
    ZT_PASSWORD_BREACHED,
} zt_password_verdict;

/* Policy check for a new password. No composition rules, no truncation, spaces allowed. Both the
 * password as given and its NFKC form are looked up in corpus (may be NULL). Returns a verdict
 * (*why: one English sentence for logs and the CLI; the portal maps the verdict to its catalogue)
 * or -ENOMEM. policy NULL = ZT_PASSWORD_POLICY_DEFAULT. */
__attribute__((warn_unused_result)) int zt_password_check(const char *pw, size_t len,
                                                          const zt_password_policy *policy,
                                                          const zt_breach *corpus,
                                                          const char **why);

/* Hash the NFKC form of pw into out (NUL-terminated "$argon2id$v=19$m=...,t=...,p=1$salt$tag").
 * params NULL = default. 0, -EINVAL (invalid UTF-8, NUL, too long, weak params) or -ENOMEM.
 * Blocks for the whole hash: not on a loop thread. */
__attribute__((warn_unused_result)) int zt_password_hash(const char *pw, size_t len,
                                                         const zt_password_params *params,
                                                         char out[ZT_PASSWORD_ENCODED_MAX]);

/* True only when encoded is a valid argon2id string and pw (NFKC-normalised) matches it.
 * Constant time in the password (libsodium). Refuses strings asking for more than 1 GiB. */
__attribute__((warn_unused_result)) bool zt_password_verify(const char *encoded, const char *pw,
                                                            size_t len);

/* True when encoded is not argon2id at exactly params (NULL = default): hash again on the next
 * successful sign-in. Invalid strings also answer true. */
__attribute__((warn_unused_result)) bool zt_password_needs_rehash(const char *encoded,
                                                                  const zt_password_params *params);

/* ---- off the event loop ---- */

typedef struct zt_password_pool zt_password_pool;

#define ZT_PASSWORD_THREADS_MAX 16

typedef struct zt_password_pool_cfg {
    zt_password_params params; /* for new hashes and the dummy hash */
    unsigned max_in_flight;    /* queued + running jobs, process-wide; 0 = 64 */
    unsigned threads;          /* hashing threads, 1..ZT_PASSWORD_THREADS_MAX; 0 = 1 */
    int nice;                  /* their CPU priority below the loops, 0..19 (0: the same) */
    unsigned duty;             /* percent of its core a thread may hash, 1..100; 0 = 100 */
} zt_password_pool_cfg;

/* Computes the dummy hash (one full hash: call at start-up, not on a loop) and starts the pool's
 * own threads (SCHED_BATCH at the given nice value). After a hash that took t, a thread rests
 * t x (100 - duty) / duty before the next one, so a stream of sign-ins (a password spray) takes
 * at most `duty` percent of a core per thread, and with it its share of memory bandwidth and
 * cache, from the proxied traffic; the queue absorbs the wait, 503 beyond it. At most `threads`
 * hashes run at once, so hashing memory is threads x params.memlimit, refused above 1 GiB. NULL
 * with a reason in *why on weak parameters, too many threads or no memory. The pool may be shared
 * by every loop. */
zt_password_pool *zt_password_pool_new(const zt_password_pool_cfg *cfg, const char **why);
/* From any thread: later submissions get -ECANCELED, queued jobs finish with -ECANCELED (their
 * done still runs on their loop), running ones finish normally. Idempotent; NULL is fine. */
void zt_password_pool_shutdown(zt_password_pool *pool);
/* Shuts down and joins the threads. Only once zt_password_pool_in_flight() is 0 (every done
 * callback has run). NULL is fine. */
void zt_password_pool_free(zt_password_pool *pool);
unsigned zt_password_pool_in_flight(const zt_password_pool *pool);

/* Results given to done callbacks. */
#define ZT_PASSWORD_MATCH 0
#define ZT_PASSWORD_MISMATCH (-EACCES) /* also every answer for an unknown user */

/* Verify on the pool's threads; done(ctx, result) later runs on loop's thread with
 * ZT_PASSWORD_MATCH, ZT_PASSWORD_MISMATCH, -ENOMEM or -ECANCELED. encoded NULL = unknown user:
 * verified against the pool's dummy hash, at the same cost, and always a mismatch. pw and encoded
 * are copied (the copy of pw is wiped after use). Returns 0 when queued (done will run exactly
 * once; the job keeps loop alive until then), -EBUSY at once when max_in_flight jobs are
 * outstanding (answer 503 for this sign-in), -E2BIG for a password over ZT_PASSWORD_MAX_BYTES,
 * -ECANCELED after shutdown, -ENOMEM; done is not called on an error return. */
__attribute__((warn_unused_result)) int
zt_password_verify_async(zt_password_pool *pool, uv_loop_t *loop, const char *encoded,
                         const char *pw, size_t pwlen, void (*done)(void *ctx, int result),
                         void *ctx);

/* Hash with the pool's parameters; done(ctx, result, encoded) with result 0 and the string, or a
 * negative errno and NULL. encoded is valid only during the call. Same queueing rules. */
__attribute__((warn_unused_result)) int
zt_password_hash_async(zt_password_pool *pool, uv_loop_t *loop, const char *pw, size_t pwlen,
                       void (*done)(void *ctx, int result, const char *encoded), void *ctx);

/* Synchronous dummy verify against the pool's fake hash (same cost as a real verify). */
void zt_password_dummy_verify(const zt_password_pool *pool, const char *pw, size_t len);

#endif
