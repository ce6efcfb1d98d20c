/* The security page's pure parts: the recent sign-ins read from an audit file's tail
 * (security_activity.c) and the page's HTML (render_security.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "portal/portal.h"

#define ALICE "0123456789abcdef0123456789abcdef"
#define BOB "fedcba9876543210fedcba9876543210"

static const char *const lines[] = {
    /* 1: alice's success */
    "{\"seq\":1,\"class_uid\":3002,\"activity_id\":1,\"time\":\"2026-12-06T10:00:48.123Z\","
    "\"status_id\":1,\"user\":{\"uid\":\"" ALICE "\"},\"src_endpoint\":{\"ip\":\"192.0.2.7\"},"
    "\"auth_factors\":[{\"factor_type\":\"password\"}]}",
    /* 2: bob's */
    "{\"seq\":2,\"class_uid\":3002,\"activity_id\":1,\"time\":\"2026-12-06T10:00:49Z\","
    "\"status_id\":1,\"user\":{\"uid\":\"" BOB "\"}}",
    /* 3: alice's id in another class (an account change), not a sign-in */
    "{\"seq\":3,\"class_uid\":3001,\"activity_id\":1,\"user\":{\"uid\":\"" ALICE "\"}}",
    /* 4: alice's id only in the message, not as the user */
    "{\"seq\":4,\"class_uid\":3002,\"activity_id\":1,\"message\":\"" ALICE "\"}",
    /* 5: not JSON at all, with the id in it */
    "garbage " ALICE,
    /* 6: alice's logoff: not a sign-in attempt */
    "{\"seq\":6,\"class_uid\":3002,\"activity_id\":2,\"user\":{\"uid\":\"" ALICE "\"}}",
    /* 7: alice's failure, odd characters in the address */
    "{\"seq\":7,\"class_uid\":3002,\"activity_id\":1,\"time\":\"bad\",\"status_id\":2,"
    "\"user\":{\"uid\":\"" ALICE "\"},\"src_endpoint\":{\"ip\":\"<b>\\n\"}}",
};

static char *write_log(void)
{
    char *path = strdup("/tmp/zt-sec-activity-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        fprintf(f, "%s\n", lines[i]);
    fclose(f);
    return path;
}

static void test_activity_newest_first_own_only(void **state)
{
    (void)state;
    char *path = write_log();
    zt_sec_signin out[10];
    size_t n = 0;
    assert_int_equal(zt_sec_activity_read(path, ALICE, 1 << 20, out, 10, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].seq, 7);
    assert_false(out[0].success);
    assert_int_equal(out[0].at, 0);         /* a time it cannot read: unknown */
    assert_string_equal(out[0].ip, "<b>?"); /* printable only; escaped when shown */
    assert_int_equal(out[1].seq, 1);
    assert_true(out[1].success);
    assert_int_equal(out[1].at, 1796551248); /* 2026-12-06T10:00:48Z */
    assert_string_equal(out[1].ip, "192.0.2.7");
    assert_string_equal(out[1].factor, "password");
    assert_int_equal(zt_sec_activity_read(path, BOB, 1 << 20, out, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].seq, 2);
    /* cap */
    assert_int_equal(zt_sec_activity_read(path, ALICE, 1 << 20, out, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].seq, 7);
    unlink(path);
    free(path);
}

/* A window that cuts into a line skips that line instead of parsing half of it. */
static void test_activity_window(void **state)
{
    (void)state;
    char *path = write_log();
    zt_sec_signin out[10];
    size_t n = 0;
    size_t last = strlen(lines[6]) + 1;
    assert_int_equal(zt_sec_activity_read(path, ALICE, last, out, 10, &n), 0);
    assert_int_equal(n, 0); /* exactly the last line, but its start is not known to be one */
    assert_int_equal(zt_sec_activity_read(path, ALICE, last + 1, out, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].seq, 7);
    assert_int_equal(zt_sec_activity_read("/nonexistent/audit.log", ALICE, 100, out, 10, &n),
                     -ENOENT);
    assert_int_equal(zt_sec_activity_read(path, "", 100, out, 10, &n), -EINVAL);
    unlink(path);
    free(path);
}

/* Stored values are escaped; each action is a form with the token; the add button is there. */
static void test_render_escapes_and_forms(void **state)
{
    (void)state;
    zt_sec_passkey pk = {.id = "AQ", .name = "<script>\"x", .type = SM_TYPE_KEY};
    zt_sec_session ss[2] = {{.ref = "r1", .device = "<i>", .this_browser = true},
                            {.ref = "r2", .device = "Chrome"}};
    zt_sec_signin act = {.seq = 42, .ip = "192.0.2.1"};
    zt_security_view v = {.lang = ZT_LANG_EN,
                          .csrf_token = "TOKEN",
                          .passkeys = &pk,
                          .n_passkeys = 1,
                          .sessions = ss,
                          .n_sessions = 2,
                          .activity = &act,
                          .n_activity = 1,
                          .passkeys_on = true};
    zt_buf b;
    zt_buf_init(&b, 1 << 20);
    assert_int_equal(zt_render_security(&b, &v), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_null(strstr(b.data, "<script>\""));
    assert_null(strstr(b.data, "<i>"));
    assert_non_null(strstr(b.data, "&lt;script&gt;"));
    assert_non_null(strstr(b.data, "data-passkey=\"register\""));
    assert_non_null(strstr(b.data, "name=\"action\" value=\"passkey_remove\"><input "
                                   "type=\"hidden\" name=\"id\" value=\"AQ\">"));
    assert_non_null(strstr(b.data, "value=\"session_sign_out\"><input type=\"hidden\" "
                                   "name=\"id\" value=\"r2\">"));
    assert_null(strstr(b.data, "value=\"r1\"")); /* this browser: no button */
    assert_non_null(strstr(b.data, "value=\"report\"><input type=\"hidden\" name=\"id\" "
                                   "value=\"42\">"));
    assert_non_null(strstr(b.data, "sessions_sign_out_others"));
    assert_null(strstr(b.data, "totp_remove")); /* not enrolled: nothing to remove */
    zt_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activity_newest_first_own_only),
        cmocka_unit_test(test_activity_window),
        cmocka_unit_test(test_render_escapes_and_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
