/* WebAuthn verification core on arbitrary input; must never crash, leak or hit UB.
 * The first byte picks the entry point; "[n]" is a 2-byte big-endian length, the last part takes
 * the rest:
 *   0: clientDataJSON for zt_webauthn_parse_client_data
 *   1: authenticatorData for zt_webauthn_parse_auth_data
 *   2: [n] clientDataJSON, attestationObject for zt_webauthn_verify_registration
 *   3: [n] clientDataJSON, [n] authenticatorData, [n] signature, [n] stored COSE key,
 *      user handle (none when empty) for zt_webauthn_verify_assertion
 *   4: a COSE key for zt_webauthn_cose_key
 *   5: as 2, with attestation required (an empty trust store: every x5c chain is built and
 *      refused, none/self refused)
 * The expectation is fixed and matches tests/unit/test_webauthn.c, whose good ceremonies are the
 * seeds (ZT_WEBAUTHN_SEED_DIR=fuzz/corpus/fuzz_webauthn build/tests/unit/test_webauthn), so the
 * fuzzer starts past the challenge, origin and signature checks. */
#include <stdint.h>
#include <string.h>

#include "identity/webauthn.h"

static X509_STORE *no_roots; /* created once, kept for the process */

static const unsigned char challenge[32] = "0123456789abcdef0123456789abcdef";
static const char *const origins[] = {"https://other.example.test", "https://example.test"};

/* Takes a length-prefixed part off the front of *p; false when the input is too short. */
static bool take(const uint8_t **p, size_t *n, const uint8_t **part, size_t *len)
{
    if (*n < 2)
        return false;
    size_t l = (size_t)(*p)[0] << 8 | (*p)[1];
    if (*n - 2 < l)
        return false;
    *part = *p + 2;
    *len = l;
    *p += 2 + l;
    *n -= 2 + l;
    return true;
}

static void assertion(const zt_webauthn_expect *exp, const uint8_t *p, size_t n)
{
    const uint8_t *cd, *ad, *sig, *key;
    size_t cdlen, adlen, siglen, keylen;
    if (!take(&p, &n, &cd, &cdlen) || !take(&p, &n, &ad, &adlen) || !take(&p, &n, &sig, &siglen) ||
        !take(&p, &n, &key, &keylen))
        return;
    zt_webauthn_stored st = {.cose_key = key,
                             .cose_key_len = keylen,
                             .user_handle = (const unsigned char *)"fuzz-user",
                             .user_handle_len = 9};
    zt_webauthn_assertion_result out;
    const char *why = NULL;
    zt_webauthn_verify_assertion(exp, &st, cd, cdlen, ad, adlen, sig, siglen, n > 0 ? p : NULL, n,
                                 &out, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    zt_webauthn_expect exp = {.rp_id = "example.test",
                              .origins = origins,
                              .n_origins = 2,
                              .challenge = challenge,
                              .challenge_len = sizeof(challenge)};
    const char *why = NULL;
    switch (data[0]) {
    case 0: {
        zt_webauthn_client_data cd;
        zt_webauthn_parse_client_data(p, n, &cd, &why);
        break;
    }
    case 1: {
        zt_webauthn_auth_data ad;
        zt_webauthn_parse_auth_data(p, n, &ad, &why);
        break;
    }
    case 2:
    case 5: {
        const uint8_t *cd;
        size_t cdlen;
        zt_webauthn_credential cred;
        if (data[0] == 5 && no_roots == NULL)
            no_roots = X509_STORE_new();
        exp.attestation_roots = data[0] == 5 ? no_roots : NULL;
        if (take(&p, &n, &cd, &cdlen))
            zt_webauthn_verify_registration(&exp, cd, cdlen, p, n, &cred, &why);
        break;
    }
    case 3:
        assertion(&exp, p, n);
        break;
    case 4: {
        EVP_PKEY *key = NULL;
        int alg = 0;
        if (zt_webauthn_cose_key(p, n, &alg, &key, &why) == ZT_WEBAUTHN_OK)
            EVP_PKEY_free(key);
        break;
    }
    default:
        break;
    }
    return 0;
}
