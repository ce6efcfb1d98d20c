/* The OpenID Connect provider's pure parts (src/idp/oidc_params.c): authorize parameters
 * checked in the order that never redirects to an unvalidated URI, exact redirect URI matching
 * against open-redirect lookalikes, PKCE (S256 only, downgrade and plain refused, RFC 7636
 * S256 of a known verifier), prompt/max_age/acr_values, the Basic client header with
 * form-urlencoded parts, amr values and acr levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "idp/oidc.h"
#include "session/session.h"

static zt_cfg_word uris[] = {{"https://rp.example/cb", 0, 0}, {"https://rp.example/cb2?x=1", 0, 0}};
static zt_cfg_word logout_uris[] = {{"https://rp.example/bye", 0, 0}};
static zt_app_cfg apps[2];
static zt_config cfg;

static int setup(void **state)
{
    (void)state;
    memset(apps, 0, sizeof(apps));
    apps[0] = (zt_app_cfg){.name = "web", .kind = ZT_APP_HTTP};
    apps[1] = (zt_app_cfg){.name = "grafana", .kind = ZT_APP_OIDC};
    zt_oidc_client_cfg *o = &apps[1].oidc;
    o->client_id = "grafana";
    o->client_auth = ZT_OIDC_AUTH_SECRET_BASIC;
    o->redirect_uris = uris;
    o->n_redirect_uris = 2;
    o->post_logout_redirect_uris = logout_uris;
    o->n_post_logout_redirect_uris = 1;
    cfg = (zt_config){.apps = apps, .n_apps = 2};
    return 0;
}

#define CH "Ssqdgx0CTwhJDRG5tnkieZ1wzE8qLLBsH362xagNi-8" /* BASE64URL(SHA-256(VERIFIER)) */
#define VERIFIER "dBjftJeZ4CVP-mJ0kqn3yBCGkqMoVR2s0sXGHRsPqhE"
#define BASE "client_id=grafana&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code"

/* az points into the form, kept until the next parse (and freed by the last test's). */
static zt_form form;

static zt_oidc_authz_err parse(const char *q, zt_oidc_authz *az)
{
    zt_form_dispose(&form);
    return zt_oidc_authz_parse(&cfg, q, strlen(q), &form, az);
}

static void test_client_and_redirect_first(void **state)
{
    (void)state;
    zt_oidc_authz az;
    assert_int_equal(parse("response_type=token", &az), ZT_OIDC_AUTHZ_NO_CLIENT);
    assert_int_equal(parse("client_id=nobody&redirect_uri=https%3A%2F%2Frp.example%2Fcb", &az),
                     ZT_OIDC_AUTHZ_NO_CLIENT);
    assert_int_equal(parse("client_id=web&redirect_uri=https%3A%2F%2Frp.example%2Fcb", &az),
                     ZT_OIDC_AUTHZ_NO_CLIENT); /* an http app is no client */
    /* A bad redirect URI wins over every other problem: never redirected to. */
    assert_int_equal(parse("client_id=grafana&redirect_uri=https%3A%2F%2Fevil.example%2F", &az),
                     ZT_OIDC_AUTHZ_BAD_REDIRECT_URI);
    assert_int_equal(parse("client_id=grafana", &az), ZT_OIDC_AUTHZ_BAD_REDIRECT_URI);
    assert_int_equal(parse("client_id=grafana&client_id=x", &az), ZT_OIDC_AUTHZ_BAD_FORM);
    assert_int_equal(parse("client_id=%zz", &az), ZT_OIDC_AUTHZ_BAD_FORM);
}

static void test_open_redirect_lookalikes(void **state)
{
    (void)state;
    const zt_oidc_client_cfg *o = &apps[1].oidc;
    static const char *const bad[] = {
        "https://rp.example/cb/",
        "https://rp.example/cbx",
        "https://rp.example/c",
        "https://rp.example:8443/cb",
        "https://evil@rp.example/cb",
        "https://rp.example@evil.example/cb",
        "https://rp.example/%63b",
        "https://rp.example/cb#frag",
        "https://RP.example/cb",
        "http://rp.example/cb",
        "https://rp.example/cb?x=1",
        "https://rp.example/cb2",
        "https://rp.example.evil.example/cb",
        "//rp.example/cb",
        "https://rp.example/cb\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_oidc_redirect_uri_ok(o, bad[i], strlen(bad[i])));
    assert_true(zt_oidc_redirect_uri_ok(o, "https://rp.example/cb", 21));
    assert_true(zt_oidc_redirect_uri_ok(o, "https://rp.example/cb2?x=1", 26));
    assert_true(zt_oidc_post_logout_uri_ok(o, "https://rp.example/bye", 22));
    assert_false(zt_oidc_post_logout_uri_ok(o, "https://rp.example/cb", 21));
}

static void test_request_checks(void **state)
{
    (void)state;
    zt_oidc_authz az;
    assert_int_equal(parse(BASE "&scope=openid+email&state=s1&nonce=n1", &az), ZT_OIDC_AUTHZ_OK);
    assert_string_equal(az.state, "s1");
    assert_string_equal(az.nonce, "n1");
    assert_int_equal(az.max_age, -1);
    assert_int_equal(parse(BASE "&scope=email", &az), ZT_OIDC_AUTHZ_INVALID_SCOPE);
    assert_int_equal(parse(BASE "&scope=openidx", &az), ZT_OIDC_AUTHZ_INVALID_SCOPE);
    assert_int_equal(parse("client_id=grafana&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
                           "&response_type=token&scope=openid",
                           &az),
                     ZT_OIDC_AUTHZ_UNSUPPORTED_RESPONSE_TYPE);
    assert_int_equal(parse(BASE "&scope=openid&request=eyJ", &az),
                     ZT_OIDC_AUTHZ_REQUEST_NOT_SUPPORTED);
    assert_int_equal(parse(BASE "&scope=openid&request_uri=https%3A%2F%2Fx", &az),
                     ZT_OIDC_AUTHZ_REQUEST_URI_NOT_SUPPORTED);
    assert_int_equal(parse(BASE "&scope=openid&response_mode=fragment", &az),
                     ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_string_equal(zt_oidc_authz_err_code(ZT_OIDC_AUTHZ_INVALID_SCOPE), "invalid_scope");
}

static void test_pkce_rules(void **state)
{
    (void)state;
    zt_oidc_authz az;
    assert_int_equal(
        parse(BASE "&scope=openid&code_challenge=" CH "&code_challenge_method=S256", &az),
        ZT_OIDC_AUTHZ_OK);
    assert_string_equal(az.code_challenge, CH);
    /* plain, a missing method (plain by default) and a short challenge are refused */
    assert_int_equal(
        parse(BASE "&scope=openid&code_challenge=" CH "&code_challenge_method=plain", &az),
        ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_int_equal(parse(BASE "&scope=openid&code_challenge=" CH, &az),
                     ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_int_equal(parse(BASE "&scope=openid&code_challenge=abc&code_challenge_method=S256", &az),
                     ZT_OIDC_AUTHZ_INVALID_REQUEST);
    /* public clients and require_pkce: a challenge is needed */
    apps[1].oidc.client_auth = ZT_OIDC_AUTH_NONE;
    assert_int_equal(parse(BASE "&scope=openid", &az), ZT_OIDC_AUTHZ_INVALID_REQUEST);
    apps[1].oidc.client_auth = ZT_OIDC_AUTH_SECRET_BASIC;
    apps[1].oidc.require_pkce = true;
    assert_int_equal(parse(BASE "&scope=openid", &az), ZT_OIDC_AUTHZ_INVALID_REQUEST);
    apps[1].oidc.require_pkce = false;
    /* the verifier */
    assert_true(zt_oidc_pkce_verify(CH, VERIFIER, strlen(VERIFIER)));
    assert_false(zt_oidc_pkce_verify(CH, CH, strlen(CH)));
    assert_false(zt_oidc_pkce_verify(CH, "short", 5));
    assert_false(zt_oidc_pkce_verify(CH, VERIFIER "!", strlen(VERIFIER) + 1));
}

static void test_prompt_max_age_acr(void **state)
{
    (void)state;
    zt_oidc_authz az;
    char q[1024];
    char long_nonce[ZT_STORE_OIDC_NONCE_MAX + 2];
    memset(long_nonce, 'n', sizeof(long_nonce) - 1);
    long_nonce[sizeof(long_nonce) - 1] = '\0';
    snprintf(q, sizeof(q), "%s&scope=openid&nonce=%s", BASE, long_nonce);
    assert_int_equal(parse(q, &az), ZT_OIDC_AUTHZ_INVALID_REQUEST); /* refused, not cut */
    long_nonce[ZT_STORE_OIDC_NONCE_MAX] = '\0';
    snprintf(q, sizeof(q), "%s&scope=openid&nonce=%s", BASE, long_nonce);
    assert_int_equal(parse(q, &az), ZT_OIDC_AUTHZ_OK);
    assert_int_equal(parse(BASE "&scope=openid&prompt=login&max_age=0", &az), ZT_OIDC_AUTHZ_OK);
    assert_int_equal(az.prompt, ZT_OIDC_PROMPT_LOGIN);
    assert_int_equal(az.max_age, 0);
    assert_int_equal(parse(BASE "&scope=openid&prompt=none+login", &az),
                     ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_int_equal(parse(BASE "&scope=openid&prompt=bogus", &az), ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_int_equal(parse(BASE "&scope=openid&max_age=-1", &az), ZT_OIDC_AUTHZ_INVALID_REQUEST);
    assert_int_equal(parse(BASE "&scope=openid&acr_values=urn%3Aztgate%3Aacr%3Amfa+other", &az),
                     ZT_OIDC_AUTHZ_OK);
    assert_int_equal(az.acr_wanted, ZT_OIDC_WANT_MFA);
    assert_int_equal(
        parse(BASE "&scope=openid&acr_values=urn%3Aztgate%3Aacr%3Aphishing-resistant", &az),
        ZT_OIDC_AUTHZ_OK);
    assert_true(az.acr_wanted & ZT_OIDC_WANT_PHR);
}

/* The re-authentication marker: only ours, for this request and user, within its lifetime. */
static void test_reauth_marker(void **state)
{
    (void)state;
    unsigned char key[ZT_OIDC_REAUTH_KEY_LEN] = {1}, other_key[ZT_OIDC_REAUTH_KEY_LEN] = {2};
    zt_oidc_authz az;
    char m[ZT_OIDC_REAUTH_MAX], q[512];
    assert_int_equal(parse(BASE "&scope=openid&state=s1&nonce=n1", &az), ZT_OIDC_AUTHZ_OK);
    zt_oidc_reauth_marker(key, 1000, "u1", &az, m);
    snprintf(q, sizeof(q), "%s&scope=openid&state=s1&nonce=n1&zt_reauth=%s", BASE, m);
    assert_int_equal(parse(q, &az), ZT_OIDC_AUTHZ_OK);
    assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 1000), 1000);
    assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 1000 + ZT_OIDC_REAUTH_TTL_S), 1000);
    assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 1001 + ZT_OIDC_REAUTH_TTL_S), 0);
    assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 999), 0);
    assert_int_equal(zt_oidc_reauth_check(key, "u2", &az, 1000), 0);
    assert_int_equal(zt_oidc_reauth_check(other_key, "u1", &az, 1000), 0);
    snprintf(q, sizeof(q), "%s&scope=openid&state=s2&nonce=n1&zt_reauth=%s", BASE, m);
    assert_int_equal(parse(q, &az), ZT_OIDC_AUTHZ_OK);
    assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 1000), 0);
    const char *forged[] = {"1", "1000", "1000.", "1000.AAAA", ".x", "99999999999999.x"};
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        snprintf(q, sizeof(q), "%s&scope=openid&state=s1&nonce=n1&zt_reauth=%s", BASE, forged[i]);
        assert_int_equal(parse(q, &az), ZT_OIDC_AUTHZ_OK);
        assert_int_equal(zt_oidc_reauth_check(key, "u1", &az, 1000), 0);
    }
}

static void test_basic_header(void **state)
{
    (void)state;
    char id[256], secret[257];
    /* "grafana:s%3Ac+r%25t" = id grafana, secret "s:c r%t" */
    assert_true(zt_oidc_basic_parse("Basic Z3JhZmFuYTpzJTNBYytyJTI1dA==", 34, id, sizeof(id),
                                    secret, sizeof(secret)));
    assert_string_equal(id, "grafana");
    assert_string_equal(secret, "s:c r%t");
    assert_false(zt_oidc_basic_parse("Bearer abc", 10, id, sizeof(id), secret, sizeof(secret)));
    assert_false(zt_oidc_basic_parse("Basic !!!", 9, id, sizeof(id), secret, sizeof(secret)));
    /* "nocolon" */
    assert_false(
        zt_oidc_basic_parse("Basic bm9jb2xvbg==", 18, id, sizeof(id), secret, sizeof(secret)));
    /* "a:%zz" */
    assert_false(zt_oidc_basic_parse("Basic YToleno=", 14, id, sizeof(id), secret, sizeof(secret)));
}

static void test_amr_and_acr(void **state)
{
    (void)state;
    char j[ZT_OIDC_AMR_JSON_MAX];
    zt_oidc_amr_json(ZT_AMR_PWD, j);
    assert_string_equal(j, "[\"pwd\"]");
    zt_oidc_amr_json(ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA, j);
    assert_string_equal(j, "[\"pwd\",\"otp\",\"mfa\"]");
    zt_oidc_amr_json(ZT_AMR_HWK | ZT_AMR_MFA, j);
    assert_string_equal(j, "[\"hwk\",\"user\",\"pin\",\"mfa\"]");
    zt_oidc_amr_json(ZT_AMR_PWD | ZT_AMR_HWK | ZT_AMR_SWK | ZT_AMR_OTP | ZT_AMR_MFA, j);
    assert_string_equal(j, "[\"pwd\",\"otp\",\"hwk\",\"user\",\"pin\",\"swk\",\"mfa\"]");
    assert_string_equal(zt_oidc_acr_for(ZT_AMR_PWD), ZT_OIDC_ACR_PWD);
    assert_string_equal(zt_oidc_acr_for(ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA), ZT_OIDC_ACR_MFA);
    assert_string_equal(zt_oidc_acr_for(ZT_AMR_SWK | ZT_AMR_MFA), ZT_OIDC_ACR_PHR);
    assert_true(zt_oidc_acr_meets(ZT_AMR_PWD, 0));
    assert_false(zt_oidc_acr_meets(ZT_AMR_PWD, ZT_OIDC_WANT_MFA));
    assert_false(zt_oidc_acr_meets(ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA, ZT_OIDC_WANT_PHR));
    assert_true(zt_oidc_acr_meets(ZT_AMR_HWK | ZT_AMR_MFA, ZT_OIDC_WANT_PHR | ZT_OIDC_WANT_MFA));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_client_and_redirect_first, setup),
        cmocka_unit_test_setup(test_open_redirect_lookalikes, setup),
        cmocka_unit_test_setup(test_request_checks, setup),
        cmocka_unit_test_setup(test_pkce_rules, setup),
        cmocka_unit_test_setup(test_prompt_max_age_acr, setup),
        cmocka_unit_test_setup(test_reauth_marker, setup),
        cmocka_unit_test_setup(test_basic_header, setup),
        cmocka_unit_test_setup(test_amr_and_acr, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zt_form_dispose(&form);
    return rc;
}
