/* Security review (issue 16): the web console's host serves the console and nothing else. An app
 * of kind http on the console's host (any path_prefix, any letter case) would put an upstream's
 * pages on the console's origin, where a script could read the console with the admin's cookie,
 * take the CSRF token and drive it: the config is refused with FILE:LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/config_schema.h"

#define NAME "t.yaml"
#define HEAD                                                                                       \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 127.0.0.1:8080\n"                                                              \
    "apps:\n"

static zt_config *load(const char *yaml, zt_diags *d)
{
    zt_diags_init(d);
    return zt_config_load_mem(NAME, yaml, strlen(yaml), d);
}

static void test_console_host_alone_loads(void **state)
{
    (void)state;
    zt_diags d;
    zt_config *cfg =
        load(HEAD "  - {name: console, kind: console, host: console.test}\n"
                  "  - {name: wiki, host: wiki.test, upstream: \"http://127.0.0.1:1\"}\n",
             &d);
    if (cfg == NULL)
        fail_msg("unexpected errors:\n%s", d.text.data ? d.text.data : "(none)");
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

static void test_console_host_shared_refused(void **state)
{
    (void)state;
    zt_diags d;
    zt_config *cfg = load(HEAD "  - {name: console, kind: console, host: console.test}\n"
                               "  - {name: wiki, host: Console.Test, path_prefix: /wiki, "
                               "upstream: \"http://127.0.0.1:1\"}\n",
                          &d);
    assert_null(cfg);
    assert_non_null(d.text.data);
    assert_string_equal(d.text.data,
                        NAME ":5:5: app 'console' is of kind console: its host console.test is "
                             "also app 'wiki' (line 6); the console needs a host of its own "
                             "(another app's pages on the console's origin could read and drive "
                             "it)\n");
    zt_diags_dispose(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_host_alone_loads),
        cmocka_unit_test(test_console_host_shared_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
