/* Upstream sign-in's readers of what a provider sends (src/federation/claims.c) and the generic
 * signed-token reader they follow (zt_jws_verify_signed), on arbitrary input; must never crash,
 * leak or hit UB. The first byte picks the entry point so one corpus covers all:
 *   0: the rest is an ID token payload, checked against a fixed expectation
 *   1: the rest is a logout token payload
 *   2: the rest is a discovery document
 *   3: the rest is "JWKS 0xff TOKEN": a provider JWKS, then an ID token verified with it
 * The payload checks run on bytes the signature would have covered; feeding them directly is
 * what lets the fuzzer reach every claim rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "federation/federation.h"
#include "identity/jws.h"

#define FUZZ_NOW 1767225600

static void id_claims(const uint8_t *d, size_t n)
{
    static zt_fed_claims out;
    zt_fed_expect x = {.issuer = "https://login.example.test/tenant/v2.0",
                       .client_id = "client-1",
                       .nonce = "n-0S6_WzA2Mj",
                       .now = FUZZ_NOW,
                       .leeway_s = 120,
                       .groups_claim = "groups",
                       .hosted_domain = (n & 1) ? "school.example" : NULL};
    const char *why = NULL;
    zt_fed_status st = zt_fed_id_claims((const char *)d, n, &x, &out, &why);
    if (st == ZT_FED_OK &&
        (out.sub[0] == '\0' || strchr(out.email, '@') == NULL || out.n_groups > ZT_FED_GROUPS_MAX))
        abort(); /* accepted a token the checker promised to refuse */
    (void)zt_fed_status_name(st);
}

static void logout_claims(const uint8_t *d, size_t n)
{
    static zt_fed_claims out;
    zt_fed_expect x = {.issuer = "https://op.example.test", .client_id = "c", .now = FUZZ_NOW};
    const char *why = NULL;
    if (zt_fed_logout_claims((const char *)d, n, &x, &out, &why) == ZT_FED_OK &&
        out.sub[0] == '\0' && out.sid[0] == '\0')
        abort();
}

static void discovery(const uint8_t *d, size_t n)
{
    static zt_fed_metadata m;
    const char *why = NULL;
    if (zt_fed_discovery_parse((const char *)d, n, "https://op.example.test", &m, &why) ==
            ZT_FED_OK &&
        (zt_fed_url_problem(m.token_endpoint) != NULL || zt_fed_url_problem(m.jwks_uri) != NULL))
        abort();
}

static void signed_token(const uint8_t *d, size_t n)
{
    const uint8_t *sep = memchr(d, 0xff, n);
    if (sep == NULL)
        return;
    zt_jws_jwks *j = NULL;
    const char *why = NULL;
    if (zt_jws_client_jwks_parse((const char *)d, (size_t)(sep - d), &j, &why) != ZT_JWS_OK)
        return;
    char *payload = NULL;
    size_t pn = 0;
    size_t tn = n - (size_t)(sep - d) - 1;
    if (zt_jws_verify_signed(j, (const char *)sep + 1, tn, ZT_JWS_ID_TOKEN, &payload, &pn, &why) ==
        ZT_JWS_OK)
        free(payload);
    zt_jws_jwks_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        id_claims(data + 1, size - 1);
        break;
    case 1:
        logout_claims(data + 1, size - 1);
        break;
    case 2:
        discovery(data + 1, size - 1);
        break;
    default:
        signed_token(data + 1, size - 1);
        break;
    }
    return 0;
}
