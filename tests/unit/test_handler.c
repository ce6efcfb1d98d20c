/* The house's seams: the handler table the gateway hands to the proxy (http/handler.h) and the
 * client connection's table of allowed state transitions (proxy/conn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/handler.h"
#include "proxy/proxy_int.h"

static void noop(void *ctx, zt_local_req *r)
{
    (void)ctx;
    (void)r;
}

static const zt_handler entries[] = {
    {ZT_LOCAL_DEVICE, "/.ztgate/device/enroll", noop, NULL, false},
    {ZT_LOCAL_DEVICE, "/.ztgate/device", noop, NULL, false},
    {ZT_LOCAL_PORTAL, "/.ztgate", noop, NULL, false},
    {ZT_LOCAL_ADMIN, NULL, noop, NULL, false},
};
static const zt_handlers table = {entries, sizeof(entries) / sizeof(entries[0])};

static const zt_handler *match(bool admin, const char *path)
{
    return zt_handlers_match(&table, admin, false, path, strlen(path));
}

static void test_prefix_at_segment_boundary(void **state)
{
    (void)state;
    assert_ptr_equal(match(false, "/.ztgate"), &entries[2]);
    assert_ptr_equal(match(false, "/.ztgate/login"), &entries[2]);
    assert_ptr_equal(match(false, "/.ztgate/device"), &entries[1]);
    assert_ptr_equal(match(false, "/.ztgate/device/posture"), &entries[1]);
    assert_ptr_equal(match(false, "/.ztgate/device/enroll"), &entries[0]);
    assert_ptr_equal(match(false, "/.ztgate/device/enrollx"), &entries[1]);
    assert_ptr_equal(match(false, "/.ztgate/devicex"), &entries[2]);
    assert_null(match(false, "/.ztgatex"));
    assert_null(match(false, "/"));
    assert_null(match(false, "/app/.ztgate"));
}

static void test_admin_listener_takes_everything(void **state)
{
    (void)state;
    assert_ptr_equal(match(true, "/api/v1/users"), &entries[3]);
    assert_ptr_equal(match(true, "/.ztgate/login"), &entries[3]);
    zt_handlers none = {entries, 3}; /* no admin handler registered */
    assert_null(zt_handlers_match(&none, true, false, "/api/v1/users", 13));
    assert_null(zt_handlers_match(NULL, false, false, "/.ztgate", 8));
}

/* The identity provider's discovery document lives on the portal host only: on an app's host
 * the same path belongs to the app. */
static void test_portal_host_only_entry(void **state)
{
    (void)state;
    const zt_handler e[] = {
        {ZT_LOCAL_PORTAL, "/.well-known/openid-configuration", noop, NULL, true},
        {ZT_LOCAL_PORTAL, "/.ztgate", noop, NULL, false},
    };
    zt_handlers t = {e, 2};
    const char *d = "/.well-known/openid-configuration";
    assert_ptr_equal(zt_handlers_match(&t, false, true, d, strlen(d)), &e[0]);
    assert_null(zt_handlers_match(&t, false, false, d, strlen(d)));
    assert_ptr_equal(zt_handlers_match(&t, false, false, "/.ztgate/x", 10), &e[1]);
}

static void test_connection_transitions(void **state)
{
    (void)state;
    /* The request's path through the states. */
    assert_true(zt_conn_transition_allowed(CS_TLS_HANDSHAKE, CS_IDLE));
    assert_true(zt_conn_transition_allowed(CS_IDLE, CS_HEAD));
    assert_true(zt_conn_transition_allowed(CS_HEAD, CS_DISPATCH));
    assert_true(zt_conn_transition_allowed(CS_DISPATCH, CS_AUDIT_WAIT));
    assert_true(zt_conn_transition_allowed(CS_AUDIT_WAIT, CS_CONNECTING));
    assert_true(zt_conn_transition_allowed(CS_CONNECTING, CS_BODY));
    assert_true(zt_conn_transition_allowed(CS_BODY, CS_WAIT_RESPONSE));
    assert_true(zt_conn_transition_allowed(CS_WAIT_RESPONSE, CS_IDLE));
    assert_true(zt_conn_transition_allowed(CS_BODY, CS_LOCAL_RUN));
    assert_true(zt_conn_transition_allowed(CS_LOCAL_RUN, CS_LOCAL_WAIT));
    assert_true(zt_conn_transition_allowed(CS_LOCAL_WAIT, CS_WAIT_RESPONSE));
    /* streams: WebSocket after the upstream's 101, tunnel after the target connected; a
     * stream only ever closes */
    assert_true(zt_conn_transition_allowed(CS_WAIT_RESPONSE, CS_STREAM));
    assert_true(zt_conn_transition_allowed(CS_CONNECTING, CS_STREAM));
    for (int s = CS_TLS_HANDSHAKE; s < CS_CLOSING; s++)
        if (s != CS_STREAM)
            assert_false(zt_conn_transition_allowed(CS_STREAM, (zt_conn_state)s));
    assert_false(zt_conn_transition_allowed(CS_DISPATCH, CS_STREAM));
    assert_false(zt_conn_transition_allowed(CS_BODY, CS_STREAM));
    assert_false(zt_conn_transition_allowed(CS_IDLE, CS_STREAM));
    /* Every live state may close; closing is final. */
    for (int s = CS_TLS_HANDSHAKE; s < CS_CLOSING; s++)
        assert_true(zt_conn_transition_allowed((zt_conn_state)s, CS_CLOSING));
    for (int s = CS_TLS_HANDSHAKE; s < CS_CLOSING; s++)
        assert_false(zt_conn_transition_allowed(CS_CLOSING, (zt_conn_state)s));
    /* Moves that would skip a decision or a handshake. */
    assert_false(zt_conn_transition_allowed(CS_HEAD, CS_CONNECTING));
    assert_false(zt_conn_transition_allowed(CS_IDLE, CS_DISPATCH));
    assert_false(zt_conn_transition_allowed(CS_TLS_HANDSHAKE, CS_HEAD));
    assert_false(zt_conn_transition_allowed(CS_LOCAL_WAIT, CS_IDLE));
    assert_false(zt_conn_transition_allowed(CS_WAIT_RESPONSE, CS_DISPATCH));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_at_segment_boundary),
        cmocka_unit_test(test_admin_listener_takes_everything),
        cmocka_unit_test(test_portal_host_only_entry),
        cmocka_unit_test(test_connection_transitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
