/* Account lifecycle (docs/LIFECYCLE.md): expiry dates with a sponsor for guests, partners and
 * contractors, the sweep that ends an expired account's sessions, the report of accounts nobody
 * has used for N days, and the access review (who reaches which app, by which policy).
 *
 * Enforcement itself is where sessions are checked and opened: the store's session lookup and
 * session creation treat an expired account like a disabled one (session/account.h,
 * zt_account_expired), so every sign-in method and every cached session is refused at the
 * expiry second. The sweep here is what tells everyone else: it ends the sessions through the
 * account service (an audit record naming the System actor "lifecycle", the revocation counter
 * that makes gateways drop their caches and tell relying parties).
 *
 * The access review evaluates the compiled Conditional Access policy set (src/policy) for every
 * user and app, with the question `ztgate whatif --user EMAIL --app APP` asks by default: a
 * browser sign-in just now, password only, no device, address and risk unknown. Its answer is
 * the gateway's for that request, the deciding policy named as the gateway's audit records name
 * it (zt_access_decide: the cause, else the first applicable policy). */
#ifndef ZT_LIFECYCLE_LIFECYCLE_H
#define ZT_LIFECYCLE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "policy/policy.h"
#include "session/account.h"
#include "store/store.h"

/* The System actor of the sweep's records. */
#define ZT_LIFECYCLE_ACTOR "lifecycle"
/* How often the gateway sweeps (and once at start). */
#define ZT_LIFECYCLE_SWEEP_MS (60 * 1000)
/* Accounts one sweep ends at most: each is a transaction, an audit record and a counter bump
 * on the gateway's main thread (about 3 ms), so a class expiring at one second is ended in
 * batches a second apart rather than in one long stall. */
#define ZT_LIFECYCLE_SWEEP_BATCH 200
#define ZT_LIFECYCLE_SWEEP_AGAIN_MS 1000
#define ZT_LIFECYCLE_DAYS_MAX 36600 /* --days: a hundred years is surely a typo beyond */

/* An expiry as an admin writes it: "YYYY-MM-DD" (the account works through that day, UTC: it
 * expires at the next midnight UTC), an RFC 3339 date-time (it expires at that instant), or
 * "never" / "" (no expiry: 0). false on anything else, and for times before 1970. */
bool zt_lifecycle_parse_expiry(const char *s, int64_t *out);
/* "2027-04-01T00:00:00Z", or "never" for 0, into out. */
void zt_lifecycle_expiry_text(int64_t t, char out[32]);
/* "active", "disabled" or "expired" (disabled wins: an admin's act). */
const char *zt_lifecycle_status(const zt_user *u, int64_t now);
/* A sponsor as the store keeps it: an e-mail address (one @, no spaces or control characters,
 * at most ZT_STORE_EMAIL_MAX bytes), or "" for none. */
bool zt_lifecycle_sponsor_ok(const char *s);

/* ---- the sweep ---- */

typedef struct zt_lifecycle_sweep_result {
    unsigned ended;  /* expired accounts whose sessions were ended (one audit record each) */
    unsigned failed; /* accounts the account service refused or could not record */
    bool more;       /* the batch was full: sweep again soon (ZT_LIFECYCLE_SWEEP_AGAIN_MS) */
} zt_lifecycle_sweep_result;

/* End the sessions of every account that expired since it was last changed: expires_at is set,
 * at or before now, and later than updated_at (revoking moves updated_at past it, so each
 * expiry is handled once, whichever gateway or restart comes first), or expired within the last
 * week and still holding session rows. Through zt_account_revoke_sessions with actor
 * {ZT_LIFECYCLE_ACTOR, "System"}. 0 or a store error. */
int zt_lifecycle_sweep(const zt_account_env *env, int64_t now, zt_lifecycle_sweep_result *res);

/* ---- accounts nobody uses ---- */

typedef struct zt_lifecycle_inactive {
    const zt_user *u;    /* the password hash is wiped before the callback */
    int64_t last_active; /* last_sign_in_at, or created_at for an account never signed in */
    int64_t idle_days;   /* whole days since last_active */
    const char *status;  /* zt_lifecycle_status */
} zt_lifecycle_inactive;

typedef int (*zt_lifecycle_inactive_cb)(void *ctx, const zt_lifecycle_inactive *row);

/* Every account (by email) whose last sign-in, or creation when it never signed in, is at least
 * `days` whole days before now; disabled and expired ones too (the report is for clean-up).
 * The callback may call the store. 0, a store error or what the callback returned. */
int zt_lifecycle_inactive_list(zt_store *st, int64_t now, unsigned days,
                               zt_lifecycle_inactive_cb cb, void *ctx);

/* ---- the access review ---- */

/* How a policy's users include someone: by e-mail, through a group, or as "all". */
typedef enum zt_review_via {
    ZT_REVIEW_VIA_NONE = 0, /* no policy decided */
    ZT_REVIEW_VIA_USER,
    ZT_REVIEW_VIA_GROUP,
    ZT_REVIEW_VIA_ALL,
} zt_review_via;

typedef struct zt_review_row {
    const zt_user *u;
    const char *status; /* zt_lifecycle_status */
    const char *const *groups;
    size_t n_groups;
    const zt_app_cfg *app;
    zt_policy_result res;
    const char *verdict;   /* allow, block, mfa, phishing_resistant_mfa, ..., reauth (as whatif) */
    int cause;             /* zt_policy_cause: the policy whatif names; -1 for allow */
    int policy;            /* the deciding policy as the gateway names it; -1 none applies */
    zt_review_via via;     /* how the deciding policy includes the user */
    const char *via_group; /* ZT_REVIEW_VIA_GROUP: which group (the policy's spelling) */
    /* Policies whose users and apps include this pair but a condition (location, device, risk,
     * platform, client, time) left out of the reviewed request: they act on other requests. */
    const int *conditional;
    size_t n_conditional;
} zt_review_row;

typedef int (*zt_review_cb)(void *ctx, const zt_review_row *row);

/* One row per user (by email) and app (config order). set may be NULL (no policies). The
 * callback may call the store. 0, -ENOMEM, a store error or what the callback returned. */
int zt_lifecycle_review(zt_store *st, const zt_config *cfg, const zt_policy_set *set, int64_t now,
                        zt_review_cb cb, void *ctx);
/* The policy's assignment words: "user", "group:NAME", "all"; "" for none. */
void zt_review_via_text(const zt_review_row *row, char *out, size_t cap);
/* A policy's grant as words: "block", "mfa AND compliant_device", "mfa OR compliant_device",
 * "" for no control (session controls only). */
void zt_review_grant_text(const zt_config *cfg, int policy, char *out, size_t cap);

#endif
