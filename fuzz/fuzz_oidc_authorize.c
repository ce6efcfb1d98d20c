/* libFuzzer target for the OpenID Connect provider's authorize parameter parser and validator
 * (src/idp/oidc_params.c) on arbitrary bytes: either the request is refused, or the redirect
 * URI it would send the browser to is byte for byte a registered one, the response type is
 * code, the scope holds openid and a PKCE challenge is S256-shaped. The same bytes go through
 * the Basic client-authentication parser and the PKCE verifier. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idp/oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static zt_cfg_word uris[] = {{"https://rp.example/cb", 0, 0}, {"http://127.0.0.1:8080/", 0, 0}};

static const zt_config *config(bool public_client)
{
    static zt_app_cfg apps[2];
    static zt_config cfg;
    apps[0] = (zt_app_cfg){.name = "web", .kind = ZT_APP_HTTP};
    apps[1] = (zt_app_cfg){.name = "rp", .kind = ZT_APP_OIDC};
    apps[1].oidc.client_id = "rp";
    apps[1].oidc.client_auth = public_client ? ZT_OIDC_AUTH_NONE : ZT_OIDC_AUTH_SECRET_BASIC;
    apps[1].oidc.redirect_uris = uris;
    apps[1].oidc.n_redirect_uris = 2;
    cfg = (zt_config){.apps = apps, .n_apps = 2};
    return &cfg;
}

static void check_authorize(const char *s, size_t n, bool public_client)
{
    zt_form f;
    zt_oidc_authz az;
    zt_oidc_authz_err e = zt_oidc_authz_parse(config(public_client), s, n, &f, &az);
    bool redirectable = e != ZT_OIDC_AUTHZ_BAD_FORM && e != ZT_OIDC_AUTHZ_NO_CLIENT &&
                        e != ZT_OIDC_AUTHZ_BAD_REDIRECT_URI;
    if (redirectable) {
        CHECK(az.app != NULL && az.redirect_uri != NULL);
        CHECK(strcmp(az.redirect_uri, uris[0].s) == 0 || strcmp(az.redirect_uri, uris[1].s) == 0);
        CHECK(zt_oidc_authz_err_code(e) != NULL);
    }
    if (e == ZT_OIDC_AUTHZ_OK) {
        CHECK(strcmp(zt_form_get(&f, "response_type", NULL), "code") == 0);
        CHECK(zt_oidc_scope_has(az.scope, "openid"));
        CHECK(az.code_challenge == NULL || strlen(az.code_challenge) == 43);
        CHECK(!public_client || az.code_challenge != NULL);
        CHECK(!((az.prompt & ZT_OIDC_PROMPT_NONE) && (az.prompt & ZT_OIDC_PROMPT_LOGIN)));
        CHECK(az.max_age >= -1);
    }
    zt_form_dispose(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_authorize(s, size, false);
    check_authorize(s, size, true);
    char id[256], secret[257];
    if (zt_oidc_basic_parse(s, size, id, sizeof(id), secret, sizeof(secret)))
        CHECK(id[0] != '\0' && strlen(id) < sizeof(id) && strlen(secret) < sizeof(secret));
    char *challenge = malloc(44);
    if (challenge != NULL) {
        memcpy(challenge, "Ssqdgx0CTwhJDRG5tnkieZ1wzE8qLLBsH362xagNi-8", 44);
        if (zt_oidc_pkce_verify(challenge, s, size))
            CHECK(size == 43 && memcmp(s, "dBjftJeZ4CVP-mJ0kqn3yBCGkqMoVR2s0sXGHRsPqhE", 43) == 0);
        free(challenge);
    }
    char amr[ZT_OIDC_AMR_JSON_MAX];
    zt_oidc_amr_json(size > 0 ? data[0] : 0, amr);
    CHECK(amr[0] == '[' && amr[strlen(amr) - 1] == ']');
    return 0;
}
