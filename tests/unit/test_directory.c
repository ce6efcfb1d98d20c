/* src/directory's pure parts: RFC 4515 escaping, AD userAccountControl, group names, the
 * directory chosen for an e-mail, the empty password refused before any connection, and the
 * config section's rules (schemes, paired keys, duplicate names). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "lib/buf.h"
#include "directory/directory.h"

static void test_filter_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"taro@example.test", 17, "taro@example.test"},
        {"*", 1, "\\2a"},
        {"*)(uid=*", 8, "\\2a\\29\\28uid=\\2a"},
        {"a\\b", 3, "a\\5cb"},
        {"a\0b", 3, "a\\00b"},
        {"山田", 6, "山田"}, /* UTF-8 stays as it is */
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        assert_int_equal(zt_ldap_filter_escape(cases[i].in, cases[i].len, out, sizeof(out)), 0);
        assert_string_equal(out, cases[i].out);
    }
    char small[4];
    assert_int_equal(zt_ldap_filter_escape("**", 2, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(zt_ldap_filter_escape("abc", 3, small, sizeof(small)), 0);
    assert_int_equal(zt_ldap_filter_escape("abcd", 4, small, sizeof(small)), -ENOSPC);
}

static void test_uac(void **state)
{
    (void)state;
    assert_true(zt_dir_uac_disabled("514"));    /* NORMAL_ACCOUNT | ACCOUNTDISABLE */
    assert_false(zt_dir_uac_disabled("512"));   /* NORMAL_ACCOUNT */
    assert_false(zt_dir_uac_disabled("66048")); /* + DONT_EXPIRE_PASSWD */
    assert_true(zt_dir_uac_disabled("66050"));
    assert_true(zt_dir_uac_disabled("2"));
    assert_true(zt_dir_uac_disabled("-2147483646")); /* 0x80000002 as a signed 32-bit value */
    assert_false(zt_dir_uac_disabled(""));
    assert_false(zt_dir_uac_disabled("abc"));
    assert_false(zt_dir_uac_disabled("514x"));
    assert_false(zt_dir_uac_disabled("99999999999999999999"));
    assert_false(zt_dir_uac_disabled("4294967298")); /* beyond 32 bits: not AD's */
}

static void test_group_names(void **state)
{
    (void)state;
    zt_dir_group g;
    zt_dir_group_fill(&g, "cn=grade1,ou=groups,dc=x", "grade1", "1年1組");
    assert_string_equal(g.name, "grade1");
    assert_string_equal(g.display, "1年1組");
    zt_dir_group_fill(&g, "cn=教員,ou=groups,dc=x", "教員", NULL);
    assert_memory_equal(g.name, "ldap-", 5);
    assert_int_equal(strlen(g.name), 5 + 16);
    assert_string_equal(g.display, "教員");
    zt_dir_group g2;
    zt_dir_group_fill(&g2, "cn=教員,ou=groups,dc=x", "教員", "x");
    assert_string_equal(g.name, g2.name); /* stable for one DN */
    zt_dir_group_fill(&g2, "cn=Domain Users,cn=Users,dc=x", "Domain Users", NULL);
    assert_memory_equal(g2.name, "ldap-", 5); /* a space is no identifier */
    zt_dir_group_fill(&g2, "cn=-x,dc=x", "-x", NULL);
    assert_memory_equal(g2.name, "ldap-", 5); /* must start with a letter or digit */
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/zt-test-dir-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_choose_and_empty_password(void **state)
{
    (void)state;
    char *pw = write_tmp("secret\n");
    zt_cfg_word dom = {.s = "example.test"};
    zt_ldap_cfg c[2] = {
        {.name = "corp",
         .url = "ldaps://127.0.0.1:1",
         .bind_dn = "cn=svc",
         .base_dn = "dc=x",
         .bind_password_file = pw,
         .domains = &dom,
         .n_domains = 1,
         .timeout_ms = 200},
        {.name = "rest",
         .url = "ldap://127.0.0.1:1",
         .bind_dn = "cn=svc",
         .base_dn = "dc=x",
         .bind_password_file = pw,
         .timeout_ms = 200},
    };
    char err[256];
    zt_directories *ds = zt_directories_open(c, 2, err, sizeof(err));
    assert_non_null(ds);
    assert_string_equal(zt_directory_name(zt_directories_for_email(ds, "a@EXAMPLE.test")), "corp");
    assert_string_equal(zt_directory_name(zt_directories_for_email(ds, "a@other.test")), "rest");
    assert_string_equal(zt_directory_source(zt_directories_find(ds, "corp")), "ldap:corp");
    assert_null(zt_directories_find(ds, "nope"));
    /* A reload compares: the same settings match, a changed one does not. */
    assert_true(zt_directories_match(ds, c, 2));
    assert_false(zt_directories_match(ds, c, 1));
    c[1].url = "ldaps://127.0.0.1:2";
    assert_false(zt_directories_match(ds, c, 2));
    c[1].url = "ldap://127.0.0.1:1";
    /* An empty password never reaches the network: WRONG at once, not UNREACHABLE (port 1). */
    zt_dir_user u;
    zt_directory *d = zt_directories_find(ds, "corp");
    assert_int_equal(zt_directory_authenticate(d, "a@example.test", "", 0, &u), ZT_DIR_AUTH_WRONG);
    assert_int_equal(zt_directory_authenticate(d, "a@example.test", "x", 1, &u),
                     ZT_DIR_AUTH_UNREACHABLE);
    zt_directories_close(ds);
    /* A password file that is empty: refused at open. */
    char *empty = write_tmp("\n");
    c[0].bind_password_file = empty;
    assert_null(zt_directories_open(c, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "empty"));
    unlink(empty);
    unlink(pw);
}

static void test_config(void **state)
{
    (void)state;
    char *pw = write_tmp("secret\n");
    static const char head[] = "gateway:\n  listen:\n    - address: 127.0.0.1:18080\n"
                               "apps:\n  - name: a\n    host: a.test\n"
                               "    upstream: http://127.0.0.1:9\n"
                               "ldap_directories:\n  - name: corp\n    bind_dn: cn=svc\n"
                               "    base_dn: dc=x\n    bind_password_file: ";
    static const struct {
        const char *tail;  /* after the password file's path */
        const char *error; /* NULL: loads */
    } cases[] = {
        {"\n    url: ldaps://dc.example.test\n    sync_interval: 0s\n", NULL},
        {"\n    url: http://dc.example.test\n", "url must be ldaps://"},
        {"\n    url: ldaps://dc1 ldap://dc2\n", "all of one scheme"},
        {"\n    url: \"ldaps://dc1,ldaps://dc2\"\n", "all of one scheme"},
        {"\n    url: ldaps://dc\n    disabled_attribute: x\n", "go together"},
        {"\n    url: ldaps://dc\n    domains: [bad]\n", "not an e-mail domain"},
        {"\n    url: ldaps://dc\n  - name: corp\n    bind_dn: cn=svc\n    base_dn: dc=x\n"
         "    bind_password_file: /dev/null\n    url: ldaps://dc2\n",
         "name 'corp' used twice"},
        {"\n    url: ldaps://dc\n  - name: "
         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\n    bind_dn: cn=svc\n"
         "    base_dn: dc=x\n    bind_password_file: /dev/null\n    url: ldaps://dc2\n",
         "name is longer than 59 characters"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_buf text;
        zt_buf_init(&text, 4096);
        assert_int_equal(zt_buf_append_str(&text, head), 0);
        assert_int_equal(zt_buf_append_str(&text, pw), 0);
        assert_int_equal(zt_buf_append_str(&text, cases[i].tail), 0);
        zt_diags d;
        zt_diags_init(&d);
        zt_config *cfg = zt_config_load_mem("test.yaml", (const char *)text.data, text.len, &d);
        zt_buf_dispose(&text);
        if (cases[i].error == NULL) {
            if (cfg == NULL)
                fprintf(stderr, "%.*s\n", (int)d.text.len, (const char *)d.text.data);
            assert_non_null(cfg);
            assert_int_equal(cfg->n_ldap_directories, 1);
            assert_int_equal(cfg->ldap_directories[0].sync_interval_ms, 0);
            assert_true(cfg->ldap_directories[0].jit);
            assert_int_equal(cfg->ldap_directories[0].timeout_ms, 5000);
            zt_config_free(cfg);
        } else {
            assert_null(cfg);
            zt_buf_append_char(&d.text, '\0');
            assert_non_null(strstr((const char *)d.text.data, cases[i].error));
        }
        zt_diags_dispose(&d);
    }
    unlink(pw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_escape), cmocka_unit_test(test_uac),
        cmocka_unit_test(test_group_names),   cmocka_unit_test(test_choose_and_empty_password),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
