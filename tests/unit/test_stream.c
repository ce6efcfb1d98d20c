/* The verdict of a live stream's re-evaluation (proxy/stream.c): a pure table from what the
 * session check, the app lookup and the Conditional Access decision said to keep or close, with
 * the reason the audit Close record carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "proxy/proxy_int.h"
#include "session/session.h"

typedef struct verdict_case {
    const char *name;
    zt_stream_facts f;
    bool keep;
    const char *reason; /* NULL when kept */
    uint16_t ws_code;
} verdict_case;

/* session status, app still there, outcome, restrict flags, reauth, every_time, policy, control */
#define F(st, app, out, rs, reauth, every, pol, ctl)                                               \
    {                                                                                              \
        .session_status = (st), .app_ok = (app), .outcome = (out), .restrict_flags = (rs),         \
        .reauth_required = (reauth), .frequency_every_time = (every), .policy = (pol),             \
        .control = (ctl)                                                                           \
    }
#define VALID ZT_SESSION_VALID
#define ALLOW ZT_OUTCOME_ALLOW
#define CHALLENGE ZT_OUTCOME_CHALLENGE

static const verdict_case cases[] = {
    {"allowed", F(VALID, true, ALLOW, 0, false, false, "p", NULL), true, NULL, 0},
    {"store error: kept (the caller retries, then fails closed)",
     F(ZT_SESSION_ERROR, true, ALLOW, 0, false, false, NULL, NULL), true, NULL, 0},
    {"revoked", F(ZT_SESSION_REVOKED, true, ALLOW, 0, false, false, NULL, NULL), false,
     "session revoked or user disabled", 1008},
    {"expired", F(ZT_SESSION_EXPIRED, true, ALLOW, 0, false, false, NULL, NULL), false,
     "session expired", 1008},
    {"signed out", F(ZT_SESSION_UNKNOWN, true, ALLOW, 0, false, false, NULL, NULL), false,
     "session ended (signed out or revoked)", 1008},
    {"wrong host", F(ZT_SESSION_WRONG_HOST, true, ALLOW, 0, false, false, NULL, NULL), false,
     "session ended (signed out or revoked)", 1008},
    {"app removed", F(VALID, false, ALLOW, 0, false, false, NULL, NULL), false,
     "app removed by config reload", 1008},
    {"session before app", F(ZT_SESSION_REVOKED, false, ALLOW, 0, false, false, NULL, NULL), false,
     "session revoked or user disabled", 1008},
    {"blocked", F(VALID, true, ZT_OUTCOME_BLOCK, 0, false, false, "no-tor", NULL), false,
     "blocked by policy no-tor", 1008},
    {"mfa owed", F(VALID, true, CHALLENGE, 0, false, false, "ssh-mfa", "mfa"), false,
     "policy ssh-mfa requires mfa", 1008},
    {"finite sign-in frequency ran out", F(VALID, true, CHALLENGE, 0, true, false, "8h", NULL),
     false, "sign-in frequency of policy 8h", 1008},
    {"every_time: checked at open only", F(VALID, true, CHALLENGE, 0, true, true, "p", NULL), true,
     NULL, 0},
    {"every_time beside a finite frequency that ran out",
     {.session_status = VALID,
      .app_ok = true,
      .outcome = CHALLENGE,
      .reauth_required = true,
      .frequency_every_time = true,
      .finite_frequency_out = true,
      .policy = "8h"},
     false,
     "sign-in frequency of policy 8h",
     1008},
    {"WebSocket turned off by a reload",
     {.session_status = VALID, .app_change = "WebSocket turned off by config reload"},
     false,
     "WebSocket turned off by config reload",
     1008},
    {"anonymous stream, app no longer public",
     {.session_status = VALID,
      .app_change = "sign-in required: app no longer public (config reload)"},
     false,
     "sign-in required: app no longer public (config reload)",
     1008},
    {"restricted session", F(VALID, true, ALLOW, 1, false, false, "ro", NULL), false,
     "policy ro restricts the session", 1008},
    {"no policy name", F(VALID, true, ZT_OUTCOME_BLOCK, 0, false, false, NULL, NULL), false,
     "blocked by policy ?", 1008},
};

static void test_verdict_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const verdict_case *c = &cases[i];
        char buf[160];
        zt_stream_verdict v = zt_stream_verdict_of(&c->f, buf, sizeof(buf));
        if (v.keep != c->keep)
            fail_msg("%s: keep %d", c->name, v.keep);
        if (c->keep)
            continue;
        if (v.reason == NULL || strcmp(v.reason, c->reason) != 0)
            fail_msg("%s: reason \"%s\"", c->name, v.reason ? v.reason : "(null)");
        if (v.ws_code != c->ws_code)
            fail_msg("%s: ws code %u", c->name, v.ws_code);
    }
}

/* The per-kind tracker storage the websocket kind keeps its frame state in: none without a
 * stream (the rest is exercised through ws.c and the integration tests). */
static void test_kind_state(void **state)
{
    (void)state;
    assert_null(zt_stream_kind_state(NULL));
    assert_true(ZT_STREAM_KIND_STATE >= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_table),
        cmocka_unit_test(test_kind_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
