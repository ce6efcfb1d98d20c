/* The sign-in flow as an explicit state machine: throttle → credential check → risk → second
 * factor → session. Each sign-in attempt holds one zt_signin; the portal does the HTTP, form
 * and page work around it and asks this module what each step's outcome means. Every move goes
 * through zt_signin_go, the one transition function: it refuses a move the table below does not
 * allow (a bug, logged as an error, and the attempt ends in ZT_SIGNIN_ERROR) and traces each
 * move at debug level with the request id, like curl's mstate().
 *
 *   throttle ──admitted──▶ credential ──password ok──▶ risk ──low, no MFA due──▶ session
 *      │                      │                         ├──MFA due or risky───▶ second-factor
 *      └─refused (429)        └─wrong/unusable: failed  └──risky, no factor───▶ blocked (403)
 *   second-factor (the MFA page, a request of its own) ──code ok──▶ session
 *                                                     └──wrong, replayed, throttled: failed
 *   (any state can end in error: store, audit or queue failure, client gone: 503)
 *
 * The decisions are pure functions of their inputs (table-tested in tests/unit/test_signin.c);
 * this module never does I/O. docs/ARCHITECTURE.md "The sign-in state machine" describes it. */
#ifndef ZT_SESSION_SIGNIN_H
#define ZT_SESSION_SIGNIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "identity/secretbox.h"
#include "risk/cidr.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "session/session.h"
#include "session/throttle.h"
#include "store/store.h"

#define ZT_SIGNIN_STATES(X)                                                                        \
    X(ZT_SIGNIN_THROTTLE, "throttle")           /* admitted by the brute-force throttle? */        \
    X(ZT_SIGNIN_CREDENTIAL, "credential")       /* password verified on the pool */                \
    X(ZT_SIGNIN_RISK, "risk")                   /* Identity Protection assessment */               \
    X(ZT_SIGNIN_SECOND_FACTOR, "second-factor") /* session made MFA-pending: MFA or enrolment */   \
    X(ZT_SIGNIN_SESSION, "session")             /* signed in */                                    \
    X(ZT_SIGNIN_REFUSED, "refused")             /* throttled before any check (429) */             \
    X(ZT_SIGNIN_FAILED, "failed")               /* the one failure page for every reason */        \
    X(ZT_SIGNIN_BLOCKED, "blocked")             /* risky and no second factor to ask (403) */      \
    X(ZT_SIGNIN_ERROR, "error")                 /* fail closed (503), or the client went away */

typedef enum zt_signin_state {
#define ZT_SIGNIN_ENUM(id, name) id,
    ZT_SIGNIN_STATES(ZT_SIGNIN_ENUM)
#undef ZT_SIGNIN_ENUM
        ZT_SIGNIN_N_STATES
} zt_signin_state;

/* A Temporary Access Pass typed in the password field (store_tap.h): what redeeming it said.
 * NONE: not tried (not pass-shaped, or an account that cannot sign in: nothing is redeemed);
 * ABSENT: the user has no pass, so the text is checked as a password. */
typedef enum zt_signin_tap {
    ZT_SIGNIN_TAP_NONE = 0,
    ZT_SIGNIN_TAP_OK,
    ZT_SIGNIN_TAP_ABSENT,
    ZT_SIGNIN_TAP_WRONG,
    ZT_SIGNIN_TAP_REVOKED,
    ZT_SIGNIN_TAP_EXPIRED,
    ZT_SIGNIN_TAP_USED_UP,
} zt_signin_tap;

typedef struct zt_signin {
    zt_signin_state state;
    const char *trace_id; /* borrowed: the request id the trace names */
    /* What the steps learnt, for later steps and the failure reason. */
    bool exists;   /* the account exists */
    bool disabled; /* ... and is disabled */
    bool expired;  /* ... or its expiry has come (zt_account_expired): refused as if disabled */
    bool no_password;
    bool limited;      /* the throttle limits this account for unknown devices */
    zt_signin_tap tap; /* a pass typed as the password, once redeemed */
} zt_signin;

const char *zt_signin_state_name(zt_signin_state s); /* "throttle", ...; "?" out of range */
bool zt_signin_allowed(zt_signin_state from, zt_signin_state to);
bool zt_signin_terminal(zt_signin_state s);

/* Start in ZT_SIGNIN_THROTTLE. */
void zt_signin_init(zt_signin *s, const char *trace_id);
/* Start in ZT_SIGNIN_SECOND_FACTOR: the MFA page's attempt on a pending (or step-up) session. */
void zt_signin_resume_second_factor(zt_signin *s, const char *trace_id);
/* Second factor: the code verified → SESSION, refused (wrong, replayed, throttled) → FAILED,
 * the store or audit failed → ERROR. */
zt_signin_state zt_signin_on_second_factor(bool verified, bool error);
/* The one transition: true when the table allows from → to (then s->state = to); otherwise
 * logs the bug and sets ZT_SIGNIN_ERROR. */
bool zt_signin_go(zt_signin *s, zt_signin_state to);

/* Throttle: REFUSED (source limit, or a wait too long to hold) or CREDENTIAL; notes limited. */
zt_signin_state zt_signin_on_throttle(zt_signin *s, zt_throttle_result r);
/* Whether the password can sign in at all: when not, it is checked against the dummy hash for
 * the same cost, and fails whatever it is. An expired account fails like a disabled one: the
 * same page, the same cost, only the audit record says why. */
bool zt_signin_usable(const zt_signin *s);
/* Whether a pass-shaped text may be redeemed as a Temporary Access Pass: the account exists,
 * is enabled and not limited by the throttle (a password is not needed). Otherwise nothing is
 * redeemed and the attempt goes the password's way (and fails the same way). */
bool zt_signin_tap_usable(const zt_signin *s);
/* The store's answer to redeeming (store_tap.h: 0, -ENOENT, -EACCES, -ECANCELED, -ETIMEDOUT,
 * -EDQUOT) as a zt_signin_tap; another error is -1 (fail closed: ERROR). */
int zt_signin_tap_from_store(int rc);
/* Credential: verify_result is ZT_PASSWORD_MATCH, ZT_PASSWORD_MISMATCH or an error → RISK,
 * FAILED or ERROR. A redeemed pass (tap OK) is the credential: the password check ran against
 * the dummy hash only for the same cost. */
zt_signin_state zt_signin_on_credential(const zt_signin *s, int verify_result);
/* Risk: a medium or high sign-in owes a second factor even where MFA is optional; without one
 * to ask (no TOTP) it is BLOCKED rather than let it enrol its own. */
zt_signin_state zt_signin_on_risk(bool risky, bool has_totp, bool mfa_optional);
/* Risk after a Temporary Access Pass: a risky one is BLOCKED (a pass proves no second factor to
 * remediate with); otherwise SECOND_FACTOR, the session limited to enrolment (a pending session
 * marked ZT_SESSION_PURPOSE_TAP), never a full one. */
zt_signin_state zt_signin_on_tap_risk(bool risky);
/* Why a failed attempt failed, for the audit record (never shown to the client). */
const char *zt_signin_failure_reason(const zt_signin *s);

/* ---- the risk step's inputs (Identity Protection); never the password itself ---- */

/* The services the risk step reads; all borrowed. risk and feeds NULL: none configured. */
typedef struct zt_signin_env {
    zt_risk_engine *risk;
    const zt_feeds *feeds;
    zt_secretbox *secrets; /* derives the spray tag's key */
    const zt_cidr *vpn_egress;
    size_t n_vpn_egress;
} zt_signin_env;

/* A failed attempt: the engine counts distinct passwords per source by a keyed tag of the
 * password. Returns the ZT_RISK_SRC_* flags newly raised (0 without an engine). */
unsigned zt_signin_note_failure(const zt_signin_env *e, const char *account,
                                const struct sockaddr *sa, const char *pw, size_t len, int64_t now);

/* The assessment of a correct password, nothing written yet: feeds lookup of the source, the
 * leaked-credentials check (SHA-1 of the NFKC password), VPN egress, then zt_risk_assess. in
 * points into u, info and the strings given: keep them alive while in is used (zt_risk_record).
 * 0 or a negative errno: fail closed. */
int zt_signin_assess(const zt_signin_env *e, const zt_user *u, const char *pw, size_t len,
                     const struct sockaddr *sa, const char *ua, const char *device_id, int64_t now,
                     zt_risk_sign_in *in, zt_ip_info *info, zt_risk_assessment *a);

/* ---- the session step: the same whatever proved who is signing in ---- */

typedef struct zt_signin_session {
    zt_session_new session; /* who, for which host, auth/MFA times, pending or not */
    /* The browser's previous session on this host (NULL: none): replaced, not left behind, and
     * forgotten by the calling loop's cache. */
    const char *replaces_hash;
    zt_session_cache *cache;
    /* The sign-in's assessment (NULL: no risk engine, or nothing to record): recorded against
     * the new session, which is removed again if that fails. */
    zt_risk_sign_in *risk_in;
    zt_risk_assessment *assessment; /* zt_risk_record fills in the detections' ids */
    const char *state_dir;          /* for telling every gateway when the assessment asks to */
    /* 0, or the latest absolute expiry the session may have: a pass's session ends with the
     * pass (its expires_at), not 12 hours later. */
    int64_t expires_cap;
} zt_signin_session;

/* Open the session a completed step earned (ZT_SIGNIN_SECOND_FACTOR: MFA-pending; SESSION:
 * signed in) for every front-end that signs people in: replace the old one, create, record the
 * risk, bump the revocation counter when the assessment reloads sessions. 0 with the cookie
 * value and id hash, or a negative errno with nothing left behind (fail closed); -EACCES when
 * the account is disabled or expired. A full session (not pending) is a completed sign-in: the
 * user's last_sign_in_at moves to now (the inactive-accounts report reads it; best effort, a
 * failure to note it is logged, not fatal). */
int zt_signin_open_session(zt_sessions *sessions, zt_risk_engine *risk, const zt_signin_session *q,
                           int64_t now, char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                           char hash_out[ZT_SESSION_HASH_LEN + 1]);

#endif
