/* The sign-in state machine (signin.h): the transition table, the one transition function and
 * the pure decisions of each step. */
#include "session/signin.h"

#include "core/log.h"
#include "identity/password.h"

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
    return s->exists && !s->disabled && !s->no_password && !s->limited;
}

zt_signin_state zt_signin_on_credential(const zt_signin *s, int verify_result)
{
    if (verify_result != ZT_PASSWORD_MATCH && verify_result != ZT_PASSWORD_MISMATCH)
        return ZT_SIGNIN_ERROR;
    return zt_signin_usable(s) && verify_result == ZT_PASSWORD_MATCH ? ZT_SIGNIN_RISK
                                                                     : ZT_SIGNIN_FAILED;
}

zt_signin_state zt_signin_on_risk(bool risky, bool has_totp, bool mfa_optional)
{
    if (risky && !has_totp)
        return ZT_SIGNIN_BLOCKED;
    return has_totp || !mfa_optional || risky ? ZT_SIGNIN_SECOND_FACTOR : ZT_SIGNIN_SESSION;
}

const char *zt_signin_failure_reason(const zt_signin *s)
{
    if (!s->exists)
        return "unknown user";
    if (s->disabled)
        return "disabled";
    if (s->no_password)
        return "no password set";
    if (s->limited)
        return "throttled";
    return "wrong password";
}
