/* The sign-in state machine (signin.h): the transition table, the one transition function and
 * the pure decisions of each step. */
/* zt_session_create_capped: a session step that caps the expiry (a pass's session). */
#define ZT_SESSION_INTERNAL
#include "session/signin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <unistr.h>
#include <uninorm.h>

#include "core/log.h"
#include "identity/breach.h"
#include "identity/password.h"
#include "lib/secure.h"
#include "store/store_source.h"

static const char *const names[ZT_SIGNIN_N_STATES] = {
#define ZT_SIGNIN_NAME(id, name) [id] = name,
    ZT_SIGNIN_STATES(ZT_SIGNIN_NAME)
#undef ZT_SIGNIN_NAME
};

/* next[from] has bit `to` set when the flow may go from → to. Error is reachable from every
 * non-terminal state; terminal states go nowhere. */
#define B(s) (1u << (s))
static const unsigned next[ZT_SIGNIN_N_STATES] = {
    [ZT_SIGNIN_THROTTLE] = B(ZT_SIGNIN_CREDENTIAL) | B(ZT_SIGNIN_REFUSED) | B(ZT_SIGNIN_ERROR),
    [ZT_SIGNIN_CREDENTIAL] = B(ZT_SIGNIN_RISK) | B(ZT_SIGNIN_FAILED) | B(ZT_SIGNIN_ERROR),
    [ZT_SIGNIN_RISK] = B(ZT_SIGNIN_SECOND_FACTOR) | B(ZT_SIGNIN_SESSION) | B(ZT_SIGNIN_BLOCKED) |
                       B(ZT_SIGNIN_ERROR),
    /* The second factor is its own request (the MFA page), resumed here. */
    [ZT_SIGNIN_SECOND_FACTOR] = B(ZT_SIGNIN_SESSION) | B(ZT_SIGNIN_FAILED) | B(ZT_SIGNIN_ERROR),
};
#undef B

const char *zt_signin_state_name(zt_signin_state s)
{
    return (unsigned)s < ZT_SIGNIN_N_STATES ? names[s] : "?";
}

bool zt_signin_allowed(zt_signin_state from, zt_signin_state to)
{
    return (unsigned)from < ZT_SIGNIN_N_STATES && (unsigned)to < ZT_SIGNIN_N_STATES &&
           (next[from] & (1u << to)) != 0;
}

bool zt_signin_terminal(zt_signin_state s)
{
    return (unsigned)s >= ZT_SIGNIN_N_STATES || next[s] == 0;
}

void zt_signin_init(zt_signin *s, const char *trace_id)
{
    *s = (zt_signin){.state = ZT_SIGNIN_THROTTLE, .trace_id = trace_id};
}

void zt_signin_resume_second_factor(zt_signin *s, const char *trace_id)
{
    *s = (zt_signin){.state = ZT_SIGNIN_SECOND_FACTOR, .trace_id = trace_id, .exists = true};
}

zt_signin_state zt_signin_on_second_factor(bool verified, bool error)
{
    return error ? ZT_SIGNIN_ERROR : verified ? ZT_SIGNIN_SESSION : ZT_SIGNIN_FAILED;
}

bool zt_signin_go(zt_signin *s, zt_signin_state to)
{
    const char *id = s->trace_id != NULL ? s->trace_id : "-";
    if (!zt_signin_allowed(s->state, to)) {
        zt_error("request %s: sign-in: no transition %s -> %s (a bug); failing closed", id,
                 zt_signin_state_name(s->state), zt_signin_state_name(to));
        s->state = ZT_SIGNIN_ERROR;
        return false;
    }
    zt_debug("request %s: sign-in %s -> %s", id, zt_signin_state_name(s->state),
             zt_signin_state_name(to));
    s->state = to;
    return true;
}

zt_signin_state zt_signin_on_throttle(zt_signin *s, zt_throttle_result r)
{
    if (r == ZT_THROTTLE_SOURCE || r == ZT_THROTTLE_WAIT)
        return ZT_SIGNIN_REFUSED;
    s->limited = r == ZT_THROTTLE_ACCOUNT;
    return ZT_SIGNIN_CREDENTIAL;
}

bool zt_signin_usable(const zt_signin *s)
{
    return s->exists && !s->disabled && !s->expired && !s->no_password && !s->limited;
}

bool zt_signin_tap_usable(const zt_signin *s)
{
    return s->exists && !s->disabled && !s->expired && !s->limited;
}

int zt_signin_tap_from_store(int rc)
{
    switch (rc) {
    case 0:
        return ZT_SIGNIN_TAP_OK;
    case -ENOENT:
        return ZT_SIGNIN_TAP_ABSENT;
    case -EACCES:
        return ZT_SIGNIN_TAP_WRONG;
    case -ECANCELED:
        return ZT_SIGNIN_TAP_REVOKED;
    case -ETIMEDOUT:
        return ZT_SIGNIN_TAP_EXPIRED;
    case -EDQUOT:
        return ZT_SIGNIN_TAP_USED_UP;
    default:
        return -1;
    }
}

zt_signin_state zt_signin_on_credential(const zt_signin *s, int verify_result)
{
    if (verify_result != ZT_PASSWORD_MATCH && verify_result != ZT_PASSWORD_MISMATCH)
        return ZT_SIGNIN_ERROR;
    if (s->tap == ZT_SIGNIN_TAP_OK)
        return zt_signin_tap_usable(s) ? ZT_SIGNIN_RISK : ZT_SIGNIN_FAILED;
    return zt_signin_usable(s) && verify_result == ZT_PASSWORD_MATCH ? ZT_SIGNIN_RISK
                                                                     : ZT_SIGNIN_FAILED;
}

zt_signin_state zt_signin_on_risk(bool risky, bool has_totp, bool mfa_optional)
{
    if (risky && !has_totp)
        return ZT_SIGNIN_BLOCKED;
    return has_totp || !mfa_optional || risky ? ZT_SIGNIN_SECOND_FACTOR : ZT_SIGNIN_SESSION;
}

zt_signin_state zt_signin_on_tap_risk(bool risky)
{
    return risky ? ZT_SIGNIN_BLOCKED : ZT_SIGNIN_SECOND_FACTOR;
}

/* A pass that was found but refused: why, for the audit record. NULL otherwise. */
static const char *tap_reason(zt_signin_tap t)
{
    switch (t) {
    case ZT_SIGNIN_TAP_WRONG:
        return "wrong temporary access pass";
    case ZT_SIGNIN_TAP_REVOKED:
        return "temporary access pass revoked";
    case ZT_SIGNIN_TAP_EXPIRED:
        return "temporary access pass expired";
    case ZT_SIGNIN_TAP_USED_UP:
        return "temporary access pass used up";
    default:
        return NULL;
    }
}

const char *zt_signin_failure_reason(const zt_signin *s)
{
    if (!s->exists)
        return "unknown user";
    if (s->disabled)
        return "disabled";
    if (s->expired)
        return "account expired";
    const char *tap = tap_reason(s->tap); /* tried only for an enabled, unthrottled account */
    if (tap != NULL)
        return tap;
    if (s->no_password)
        return "no password set";
    if (s->limited)
        return "throttled";
    return "wrong password";
}

/* ---- the risk step's inputs ---- */

/* What the risk engine and the leaked-credentials feed see of a password: a keyed tag (spray
 * detection counts distinct passwords per source) and its SHA-1 (the feed's format), both over
 * the NFKC form, as the password is hashed. */
typedef struct pw_marks {
    unsigned char tag[ZT_RISK_TAG_LEN];
    unsigned char sha1[20];
} pw_marks;

static void password_marks(zt_secretbox *secrets, const char *pw, size_t len, pw_marks *out)
{
    uint8_t stack[1024];
    size_t n = sizeof(stack);
    const uint8_t *p = (const uint8_t *)pw;
    uint8_t *norm = NULL;
    if (len > 0 && u8_check(p, len) == NULL) {
        norm = u8_normalize(UNINORM_NFKC, p, len, stack, &n);
        if (norm != NULL) {
            p = norm;
            len = n;
        }
    }
    unsigned char key[ZT_SECRETBOX_KEY_LEN], mac[crypto_auth_hmacsha256_BYTES];
    zt_secretbox_derive(secrets, "password-spray", key);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, p, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out->tag, mac, ZT_RISK_TAG_LEN);
    zt_breach_sha1(p, len, out->sha1);
    zt_wipe(&st, sizeof(st));
    zt_wipe(key, sizeof(key));
    zt_wipe(mac, sizeof(mac));
    if (norm != NULL) {
        zt_wipe(norm, n);
        if (norm != stack)
            free(norm);
    }
    zt_wipe(stack, sizeof(stack));
}

unsigned zt_signin_note_failure(const zt_signin_env *e, const char *account,
                                const struct sockaddr *sa, const char *pw, size_t len, int64_t now)
{
    if (e->risk == NULL)
        return 0;
    pw_marks m;
    password_marks(e->secrets, pw, len, &m);
    unsigned flags = zt_risk_on_failure(e->risk, account, sa, m.tag, now);
    zt_wipe(&m, sizeof(m));
    return flags;
}

int zt_signin_assess(const zt_signin_env *e, const zt_user *u, const char *pw, size_t len,
                     const struct sockaddr *sa, const char *ua, const char *device_id, int64_t now,
                     zt_risk_sign_in *in, zt_ip_info *info, zt_risk_assessment *a)
{
    zt_feeds_lookup(e->feeds, sa, info);
    pw_marks m;
    password_marks(e->secrets, pw, len, &m);
    bool leaked = e->feeds != NULL && zt_feeds_leaked(e->feeds, u->email, m.sha1);
    zt_wipe(&m, sizeof(m));
    bool vpn = false;
    for (size_t i = 0; sa != NULL && i < e->n_vpn_egress && !vpn; i++)
        vpn = zt_cidr_contains(&e->vpn_egress[i], sa);
    *in = (zt_risk_sign_in){.user_id = u->id,
                            .email = u->email,
                            .ip = sa,
                            .info = info,
                            .user_agent = ua,
                            .device_id = device_id,
                            .leaked = leaked,
                            .vpn_egress = vpn,
                            .now = now};
    return zt_risk_assess(e->risk, in, a);
}

/* The one place a completed sign-in is noted for the inactive-accounts report: every front-end
 * (password, passkey, MFA, upstream providers) opens its session here. */
static void note_sign_in(zt_sessions *sessions, const zt_session_new *n, int64_t now)
{
    if (n->mfa_pending) /* a second factor (or enrolment) still owed: not signed in yet */
        return;
    if (zt_store_user_touch_sign_in(sessions->store, n->user_id, now) != 0)
        zt_warn("user %s: the sign-in could not be noted (last_sign_in_at): %s", n->user_id,
                zt_store_errmsg());
}

int zt_signin_open_session(zt_sessions *sessions, zt_risk_engine *risk, const zt_signin_session *q,
                           int64_t now, char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                           char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    int rc =
        zt_session_create_capped(sessions, &q->session, now, q->expires_cap, cookie_out, hash_out);
    if (q->replaces_hash != NULL) {
        /* The new session first, so the old one's SAML SPs move to it before it ends (else
         * they would be sent a back-channel logout for a step-up or a sign-in again). */
        if (rc == 0 && zt_session_carry_over(sessions, q->replaces_hash, hash_out) != 0)
            zt_warn("sessions: the replaced session's SAML sign-ins could not be carried over");
        zt_session_destroy(sessions, q->replaces_hash);
        if (q->cache != NULL)
            zt_session_cache_forget(q->cache, q->replaces_hash);
    }
    if (rc != 0)
        return rc;
    if (risk == NULL || q->risk_in == NULL || q->assessment == NULL) {
        note_sign_in(sessions, &q->session, now);
        return 0;
    }
    q->risk_in->session_hash = hash_out;
    rc = zt_risk_record(risk, q->risk_in, q->assessment);
    if (rc != 0) {
        zt_session_destroy(sessions, hash_out);
        sodium_memzero(cookie_out, ZT_SESSION_COOKIE_LEN + 1);
        return rc < 0 ? rc : -EIO;
    }
    if (q->assessment->reload_sessions && q->state_dir != NULL)
        zt_revocation_bump(q->state_dir);
    note_sign_in(sessions, &q->session, now);
    return 0;
}
