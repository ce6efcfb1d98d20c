/* Upstream sign-in's pure parts (src/federation/claims.c): the ID token claim rules of OIDC Core
 * 3.1.3.7 one by one (issuer, audience and azp, times, nonce, sub, e-mail, hd, groups, amr), the
 * logout token rules of Back-Channel Logout 2.6, the discovery document, the URL rule, and the
 * `oidc_providers:` section's checks through the config loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/config.h"
#include "federation/federation.h"

#define ISS "https://login.example.test/tenant/v2.0"
#define CID "client-1"
#define NONCE "nonce-abcdef"
#define NOW 1767225600

static zt_fed_expect expect(void)
{
    return (zt_fed_expect){
        .issuer = ISS, .client_id = CID, .nonce = NONCE, .now = NOW, .leeway_s = 120};
}

/* A good ID token payload, then one member changed (NULL value: removed). */
static char *payload_with(const char *key, json_t *value)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:[s,s], s:[s,s]}", "iss", ISS,
                          "aud", CID, "sub", "sub-1", "email", "Alice@Example.Test", "name",
                          "Alice", "nonce", NONCE, "iat", (json_int_t)NOW, "exp",
                          (json_int_t)NOW + 300, "groups", "g1", "g2", "amr", "pwd", "mfa");
    if (key != NULL && value != NULL)
        json_object_set_new(o, key, value);
    else if (key != NULL)
        json_object_del(o, key);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static zt_fed_status check_with(const char *key, json_t *value, zt_fed_expect x, zt_fed_claims *out)
{
    char *p = payload_with(key, value);
    const char *why = NULL;
    zt_fed_status st = zt_fed_id_claims(p, strlen(p), &x, out, &why);
    assert_non_null(why);
    free(p);
    return st;
}

static void test_good_token(void **state)
{
    (void)state;
    zt_fed_claims *c = malloc(sizeof(*c));
    assert_int_equal(check_with(NULL, NULL, expect(), c), ZT_FED_OK);
    assert_string_equal(c->sub, "sub-1");
    assert_string_equal(c->email, "alice@example.test"); /* lowercased */
    assert_string_equal(c->name, "Alice");
    assert_int_equal(c->n_groups, 2);
    assert_string_equal(c->groups[1], "g2");
    assert_true(c->amr & ZT_FED_AMR_MFA);
    assert_true(c->amr & ZT_FED_AMR_PWD);
    assert_false(c->groups_overage);
    free(c);
}

static void test_refusals(void **state)
{
    (void)state;
    zt_fed_claims *c = malloc(sizeof(*c));
    zt_fed_expect x = expect();
    assert_int_equal(check_with("iss", json_string("https://evil.test"), x, c), ZT_FED_WRONG_ISS);
    assert_int_equal(check_with("iss", NULL, x, c), ZT_FED_WRONG_ISS);
    assert_int_equal(check_with("aud", json_string("other"), x, c), ZT_FED_WRONG_AUD);
    assert_int_equal(check_with("aud", json_pack("[s,s]", CID, "other"), x, c),
                     ZT_FED_WRONG_AUD); /* several audiences need azp */
    assert_int_equal(check_with("aud", json_pack("[s]", CID), x, c), ZT_FED_OK);
    assert_int_equal(check_with("azp", json_string("other"), x, c), ZT_FED_WRONG_AUD);
    assert_int_equal(check_with("exp", json_integer(NOW - 121), x, c), ZT_FED_EXPIRED);
    assert_int_equal(check_with("exp", json_integer(NOW - 60), x, c), ZT_FED_OK); /* leeway */
    assert_int_equal(check_with("exp", NULL, x, c), ZT_FED_MALFORMED);
    assert_int_equal(check_with("exp", json_string("soon"), x, c), ZT_FED_MALFORMED);
    assert_int_equal(check_with("iat", json_integer(NOW + 600), x, c), ZT_FED_NOT_YET_VALID);
    assert_int_equal(check_with("nbf", json_integer(NOW + 600), x, c), ZT_FED_NOT_YET_VALID);
    assert_int_equal(check_with("nonce", json_string("other"), x, c), ZT_FED_BAD_NONCE);
    assert_int_equal(check_with("nonce", NULL, x, c), ZT_FED_BAD_NONCE);
    assert_int_equal(check_with("sub", NULL, x, c), ZT_FED_BAD_CLAIMS);
    assert_int_equal(check_with("sub", json_integer(7), x, c), ZT_FED_MALFORMED);
    assert_int_equal(check_with("email", NULL, x, c), ZT_FED_BAD_CLAIMS);
    assert_int_equal(check_with("email", json_string("not-an-address"), x, c), ZT_FED_BAD_CLAIMS);
    assert_int_equal(check_with("email", json_string("a@b@c"), x, c), ZT_FED_BAD_CLAIMS);
    assert_int_equal(check_with("email_verified", json_false(), x, c), ZT_FED_BAD_CLAIMS);
    assert_int_equal(check_with("groups", json_pack("[i]", 1), x, c), ZT_FED_MALFORMED);
    assert_int_equal(check_with("groups", json_integer(1), x, c), ZT_FED_MALFORMED);
    assert_int_equal(check_with("groups", json_string("one"), x, c), ZT_FED_OK);
    assert_int_equal(c->n_groups, 1);
    x.hosted_domain = "school.example";
    assert_int_equal(check_with(NULL, NULL, x, c), ZT_FED_WRONG_HD);
    assert_int_equal(check_with("hd", json_string("school.example"), x, c), ZT_FED_OK);
    assert_int_equal(check_with("hd", json_string("other.example"), x, c), ZT_FED_WRONG_HD);
    x = expect();
    x.email_claim = "preferred_username";
    assert_int_equal(check_with("preferred_username", json_string("bob@example.test"), x, c),
                     ZT_FED_OK);
    assert_string_equal(c->email, "bob@example.test");
    const char *why = NULL;
    assert_int_equal(zt_fed_id_claims("[1]", 3, &x, c, &why), ZT_FED_MALFORMED);
    assert_int_equal(zt_fed_id_claims("{\"a\":1,\"a\":2}", 13, &x, c, &why), ZT_FED_MALFORMED);
    free(c);
}

static void test_overage(void **state)
{
    (void)state;
    zt_fed_claims *c = malloc(sizeof(*c));
    assert_int_equal(check_with("_claim_names", json_pack("{s:s}", "groups", "src1"), expect(), c),
                     ZT_FED_OK);
    assert_true(c->groups_overage);
    free(c);
}

static void test_logout_token(void **state)
{
    (void)state;
    zt_fed_claims *c = malloc(sizeof(*c));
    zt_fed_expect x = expect();
    x.nonce = NULL;
    const char *why = NULL;
    char good[512];
    snprintf(good, sizeof(good),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%d,\"jti\":\"j1\",\"sid\":\"s1\",\"events\":"
             "{\"http://schemas.openid.net/event/backchannel-logout\":{}}}",
             ISS, CID, NOW);
    assert_int_equal(zt_fed_logout_claims(good, strlen(good), &x, c, &why), ZT_FED_OK);
    assert_string_equal(c->sid, "s1");
    assert_string_equal(c->jti, "j1");
    char bad[600];
    snprintf(bad, sizeof(bad), "%.*s,\"nonce\":\"n\"}", (int)strlen(good) - 1, good);
    assert_int_equal(zt_fed_logout_claims(bad, strlen(bad), &x, c, &why), ZT_FED_BAD_CLAIMS);
    snprintf(bad, sizeof(bad),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%d,\"jti\":\"j1\",\"sid\":\"s1\"}", ISS, CID,
             NOW);
    assert_int_equal(zt_fed_logout_claims(bad, strlen(bad), &x, c, &why), ZT_FED_BAD_CLAIMS);
    free(c);
}

static void test_discovery(void **state)
{
    (void)state;
    zt_fed_metadata m;
    const char *why = NULL;
    const char *doc =
        "{\"issuer\":\"https://op.test\",\"authorization_endpoint\":\"https://op.test/a\","
        "\"token_endpoint\":\"https://op.test/t\",\"jwks_uri\":\"https://op.test/j\"}";
    assert_int_equal(zt_fed_discovery_parse(doc, strlen(doc), "https://op.test", &m, &why),
                     ZT_FED_OK);
    assert_string_equal(m.token_endpoint, "https://op.test/t");
    assert_string_equal(m.end_session_endpoint, "");
    assert_int_equal(zt_fed_discovery_parse(doc, strlen(doc), "https://op.test/", &m, &why),
                     ZT_FED_WRONG_ISS);
    const char *plain = "{\"issuer\":\"https://op.test\",\"authorization_endpoint\":"
                        "\"https://op.test/a\",\"token_endpoint\":\"http://op.test/t\","
                        "\"jwks_uri\":\"https://op.test/j\"}";
    assert_int_equal(zt_fed_discovery_parse(plain, strlen(plain), "https://op.test", &m, &why),
                     ZT_FED_MALFORMED); /* plain http to a non-loopback host */
    assert_null(zt_fed_url_problem("http://127.0.0.1:8080/x"));
    assert_non_null(zt_fed_url_problem("http://127.evil.test/x"));
    assert_non_null(zt_fed_url_problem("https://user@op.test/"));
    assert_non_null(zt_fed_url_problem("https://op.test/#frag"));
}

static const char *base_cfg =
    "gateway:\n  listen:\n    - address: 127.0.0.1:18080\n"
    "apps:\n  - name: a\n    host: a.test\n    upstream: http://127.0.0.1:9\n"
    "oidc_providers:\n";

static unsigned config_errors(const char *providers, const char *want)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", base_cfg, providers);
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("t.yaml", text, strlen(text), &d);
    unsigned errors = d.errors;
    if (want == NULL)
        fprintf(stderr, "%s", d.text.data ? d.text.data : "");
    if (want != NULL && (d.text.data == NULL || strstr(d.text.data, want) == NULL))
        fail_msg("expected '%s' in:\n%s", want, d.text.data ? d.text.data : "(none)");
    zt_config_free(cfg);
    zt_diags_dispose(&d);
    return errors;
}

#define SECRET "/tmp/ztgate-unit-federation.secret"

#define PROVIDER(name, issuer, extra)                                                              \
    "  - name: " name "\n    label: L\n    issuer: " issuer "\n    client_id: c\n"                 \
    "    client_secret_file: " SECRET "\n" extra

static void test_config(void **state)
{
    (void)state;
    FILE *f = fopen(SECRET, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    assert_int_equal(chmod(SECRET, 0600), 0);
    assert_int_equal(config_errors(PROVIDER("corp", "https://op.test", ""), NULL), 0);
    assert_int_equal(chmod(SECRET, 0644), 0);
    config_errors(PROVIDER("corp", "https://op.test", ""), "chmod 600");
    assert_int_equal(chmod(SECRET, 0600), 0);
    config_errors(PROVIDER("Corp!", "https://op.test", ""), "'name' must be");
    config_errors(PROVIDER("corp", "http://op.test", ""), "must use https://");
    config_errors(PROVIDER("corp", "https://op.test", "    scopes: [email]\n"),
                  "must include openid");
    config_errors(PROVIDER("corp", "https://op.test", "    group_map: [nogroup]\n"),
                  "CLAIM-VALUE=GROUP");
    config_errors(PROVIDER("corp", "https://op.test", "    domains: [Example.COM]\n"), "lowercase");
    config_errors(PROVIDER("a", "https://op.test", "    domains: [x.test]\n")
                      PROVIDER("b", "https://op2.test", "    domains: [x.test]\n"),
                  "already goes to provider 'a'");
    config_errors(PROVIDER("a", "https://op.test", "") PROVIDER("a", "https://op2.test", ""),
                  "used twice");
    config_errors(PROVIDER("corp", "https://op.test", "    jit: sometimes\n"), "jit");
    config_errors(PROVIDER("corp", "https://op.test", "    private_key_dir: /tmp/k\n"),
                  "exactly one of");
    config_errors("  - name: corp\n    label: L\n    issuer: https://op.test\n    client_id: c\n",
                  "exactly one of");
    unlink(SECRET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_token), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_overage),    cmocka_unit_test(test_logout_token),
        cmocka_unit_test(test_discovery),  cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
