/* JWS for the identity provider: RSA keys in the key directory (creation, permissions, family
 * checks, rotation, JWKS and RFC 7638 kids against the RFC's own vector), zt_jws_sign_json round
 * trips in RS256 and ES256 (also from threads while the keys rotate), at_hash against the OIDC Core
 * example, and the private_key_jwt verifier: RS256/PS256/ES256 accepted from keys the test makes,
 * and every refusal (alg none, HS256 keyed with the RSA public key, alg not fitting the key,
 * audience, times, jti, iss/sub, encodings, size) plus the client JWKS parser's. */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
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
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "identity/jws.h"
#include "identity/keys.h"
#include "lib/secure.h"
#include "lib/time.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define ISSUER "https://sso.example.test:8443"
#define TOKEN_EP ISSUER "/.ztgate/oidc/token"
#define CLIENT "grafana"

/* ---- fixture: an IdP key directory and a client with an RSA and an EC key ---- */

typedef struct fx {
    char root[128];
    char dir[160];
    zt_keys *keys;
    EVP_PKEY *rsa; /* the client's keys, kids "r1" and "e1" */
    EVP_PKEY *ec;
    zt_jws_jwks *jwks;
    int64_t now;
} fx;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void b64_of(char *out, size_t cap, const void *p, size_t n)
{
    sodium_bin2base64(out, cap, p, n, B64);
}

static void bn_b64(const EVP_PKEY *k, const char *param, int pad, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    unsigned char raw[1024];
    assert_true(EVP_PKEY_get_bn_param(k, param, &bn));
    int n = pad ? pad : BN_num_bytes(bn);
    assert_int_equal(BN_bn2binpad(bn, raw, n), n);
    b64_of(out, cap, raw, (size_t)n);
    BN_free(bn);
}

/* A public JWK for k (RSA or P-256) with optional kid and extra members (",\"alg\":...").  */
static char *jwk_json(const EVP_PKEY *k, const char *kid, const char *extra)
{
    char a[1400], b[1400], *out = malloc(3200);
    char kidm[200] = "";
    if (kid != NULL)
        snprintf(kidm, sizeof(kidm), ",\"kid\":\"%s\"", kid);
    if (EVP_PKEY_is_a(k, "RSA")) {
        bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0, a, sizeof(a));
        bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0, b, sizeof(b));
        snprintf(out, 3200, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s%s}", a, b, kidm,
                 extra ? extra : "");
    } else {
        bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32, a, sizeof(a));
        bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32, b, sizeof(b));
        snprintf(out, 3200, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"%s%s}", a,
                 b, kidm, extra ? extra : "");
    }
    return out;
}

static zt_jws_jwks *parse_ok(const char *doc)
{
    zt_jws_jwks *j = NULL;
    const char *why = NULL;
    zt_jws_status st = zt_jws_client_jwks_parse(doc, strlen(doc), &j, &why);
    if (st != ZT_JWS_OK)
        fail_msg("jwks: %s: %s", zt_jws_status_name(st), why);
    return j;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/zt-jws-XXXXXX");
    if (f == NULL || mkdtemp(f->root) == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/idp-keys", f->root);
    char err[256];
    if (zt_keys_open_with(f->dir, ZT_KEYS_WITH_RSA, &f->keys, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->rsa = EVP_RSA_gen(2048);
    f->ec = EVP_EC_gen("P-256");
    char *r = jwk_json(f->rsa, "r1", NULL), *e = jwk_json(f->ec, "e1", NULL), doc[8000];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", r, e);
    free(r);
    free(e);
    f->jwks = parse_ok(doc);
    f->now = zt_wall_us() / 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    zt_jws_jwks_free(f->jwks);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ec);
    zt_keys_free(f->keys);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- a client-side signer, written with OpenSSL directly (not with the code under test) ---- */

static void append_b64(char *out, size_t cap, const void *p, size_t n)
{
    size_t len = strlen(out);
    assert_true(sodium_base64_ENCODED_LEN(n, B64) <= cap - len);
    b64_of(out + len, cap - len, p, n);
}

/* header and payload JSON → "b64.b64." (the signature is appended by the caller). */
static void signing_input(char *out, size_t cap, const char *hdr, const char *payload)
{
    out[0] = '\0';
    append_b64(out, cap, hdr, strlen(hdr));
    strncat(out, ".", cap - strlen(out) - 1);
    append_b64(out, cap, payload, strlen(payload));
}

static size_t sign_raw(EVP_PKEY *k, const char *alg, const char *input, unsigned char *sig)
{
    size_t len = 1024;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k), 1);
    if (strcmp(alg, "PS256") == 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
    }
    assert_int_equal(EVP_DigestSign(md, sig, &len, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(k, "EC")) { /* DER to JOSE R||S */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        unsigned char rs[64];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, rs, 64);
        len = 64;
    }
    return len;
}

/* A compact token: alg is what the header says; k signs unless alg is "none". */
static char *token(EVP_PKEY *k, const char *hdr, const char *payload)
{
    char *out = calloc(1, 16384);
    signing_input(out, 16384, hdr, payload);
    strncat(out, ".", 16384 - strlen(out) - 1);
    if (k != NULL) {
        unsigned char sig[1024];
        json_t *h = json_loads(hdr, 0, NULL);
        const char *alg = json_string_value(json_object_get(h, "alg"));
        char input[16384];
        snprintf(input, sizeof(input), "%.*s", (int)(strlen(out) - 1), out);
        size_t n = sign_raw(k, alg ? alg : "RS256", input, sig);
        json_decref(h);
        append_b64(out, 16384, sig, n);
    }
    return out;
}

static char *claims(const fx *f, const char *iss, const char *sub, const char *aud_json,
                    int64_t iat_off, int64_t exp_off, const char *jti_json)
{
    char *p = malloc(2048);
    snprintf(p, 2048, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"iat\":%lld,\"exp\":%lld%s%s}",
             iss, sub, aud_json, (long long)(f->now + iat_off), (long long)(f->now + exp_off),
             jti_json ? ",\"jti\":" : "", jti_json ? jti_json : "");
    return p;
}

static char *good_claims(const fx *f)
{
    return claims(f, CLIENT, CLIENT, "\"" TOKEN_EP "\"", 0, 60, "\"j-1\"");
}

static const char *const auds[] = {ISSUER, TOKEN_EP};

static zt_jws_client_expect expect_of(const fx *f)
{
    return (zt_jws_client_expect){
        .client_id = CLIENT, .audiences = auds, .naudiences = 2, .now = f->now, .leeway_s = 5};
}

static zt_jws_status check(const fx *f, const zt_jws_jwks *j, const char *t,
                           zt_jws_client_assertion *out, const char **why)
{
    zt_jws_client_expect x = expect_of(f);
    return zt_jws_verify_client_assertion(j, t, strlen(t), &x, out, why);
}

/* Expects status st for the token made by k over hdr and payload; frees payload. */
static void expect_status(const fx *f, EVP_PKEY *k, const char *hdr, char *payload,
                          zt_jws_status st, const char *why_part)
{
    char *t = token(k, hdr, payload);
    const char *why = NULL;
    zt_jws_client_assertion a;
    zt_jws_status got = check(f, f->jwks, t, &a, &why);
    if (got != st || (why_part != NULL && strstr(why, why_part) == NULL))
        fail_msg("%s %s: got %s (%s), want %s", hdr, payload, zt_jws_status_name(got), why,
                 zt_jws_status_name(st));
    if (got != ZT_JWS_OK)
        assert_string_equal(a.jti, "");
    free(t);
    free(payload);
}

/* ---- client assertions: accepted ---- */

static void test_assertion_accepted(void **state)
{
    fx *f = *state;
    struct {
        EVP_PKEY *k;
        const char *hdr;
        zt_jws_alg alg;
        const char *kid;
    } ok[] = {
        {f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", ZT_JWS_RS256, "r1"},
        {f->rsa, "{\"alg\":\"PS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", ZT_JWS_PS256, "r1"},
        {f->ec, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", ZT_JWS_ES256, "e1"},
        /* No kid: every key of the alg's type is tried. */
        {f->rsa, "{\"alg\":\"RS256\"}", ZT_JWS_RS256, "r1"},
        {f->ec, "{\"alg\":\"ES256\",\"typ\":\"client-authentication+jwt\"}", ZT_JWS_ES256, "e1"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *p = good_claims(f), *t = token(ok[i].k, ok[i].hdr, p);
        zt_jws_client_assertion a;
        const char *why = NULL;
        zt_jws_status st = check(f, f->jwks, t, &a, &why);
        if (st != ZT_JWS_OK)
            fail_msg("%s: %s %s", ok[i].hdr, zt_jws_status_name(st), why);
        assert_string_equal(a.jti, "j-1");
        assert_int_equal(a.exp, f->now + 60);
        assert_int_equal(a.iat, f->now);
        assert_int_equal(a.alg, ok[i].alg);
        assert_string_equal(a.kid, ok[i].kid);
        free(p);
        free(t);
    }
    /* A JWKS without kids: the key that verified is named by its RFC 7638 thumbprint. */
    char *r = jwk_json(f->rsa, NULL, NULL), doc[4000];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", r);
    free(r);
    zt_jws_jwks *nokid = parse_ok(doc);
    char *c = good_claims(f), *t = token(f->rsa, "{\"alg\":\"RS256\"}", c);
    zt_jws_client_assertion a;
    const char *why = NULL;
    assert_int_equal(check(f, nokid, t, &a, &why), ZT_JWS_OK);
    char tp[ZT_KEYS_KID_LEN + 1];
    assert_int_equal(zt_keys_thumbprint(f->rsa, tp), 0);
    assert_string_equal(a.kid, tp);
    zt_jws_jwks_free(nokid);
    free(c);
    free(t);
    /* aud as an array of accepted values, and as the issuer alone; reals as dates. */
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                  claims(f, CLIENT, CLIENT, "[\"" ISSUER "\",\"" TOKEN_EP "\"]", 0, 60, "\"a\""),
                  ZT_JWS_OK, NULL);
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
                  claims(f, CLIENT, CLIENT, "\"" ISSUER "\"", 0, 60, "\"a\""), ZT_JWS_OK, NULL);
    char p[512];
    snprintf(p, sizeof(p),
             "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT "\",\"aud\":\"" ISSUER
             "\",\"exp\":%lld.5,\"jti\":\"x\"}",
             (long long)f->now + 30);
    expect_status(f, f->ec, "{\"alg\":\"ES256\"}", strdup(p), ZT_JWS_OK, NULL);
}

/* ---- client assertions: refused ---- */

static void test_assertion_alg_attacks(void **state)
{
    fx *f = *state;
    /* alg none, with and without a signature. */
    expect_status(f, NULL, "{\"alg\":\"none\",\"kid\":\"r1\"}", good_claims(f), ZT_JWS_BAD_ALG,
                  "none");
    char *p = good_claims(f), *t = token(NULL, "{\"alg\":\"none\"}", p);
    strncat(t, "AAAA", 16384 - strlen(t) - 1);
    const char *why = NULL;
    assert_int_equal(check(f, f->jwks, t, NULL, &why), ZT_JWS_BAD_ALG);
    assert_non_null(strstr(why, "none"));
    free(t);
    free(p);
    expect_status(f, NULL, "{\"alg\":\"None\"}", good_claims(f), ZT_JWS_BAD_ALG, "none");

    /* HS256 keyed with the client's RSA public key (PEM and DER): algorithm confusion. */
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, f->rsa), 1);
    char *pem = NULL;
    long pemlen = BIO_get_mem_data(bio, &pem);
    p = good_claims(f);
    char input[4096];
    signing_input(input, sizeof(input), "{\"alg\":\"HS256\",\"kid\":\"r1\"}", p);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), pem, (int)pemlen, (unsigned char *)input, strlen(input), mac, &maclen);
    char tok[4200];
    snprintf(tok, sizeof(tok), "%s.", input);
    append_b64(tok, sizeof(tok), mac, maclen);
    assert_int_equal(check(f, f->jwks, tok, NULL, &why), ZT_JWS_BAD_ALG);
    assert_non_null(strstr(why, "HS"));
    BIO_free(bio);
    free(p);

    /* Key type and alg must fit: RS256/PS256 naming the EC key, ES256 naming the RSA key. */
    expect_status(f, f->ec, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", good_claims(f), ZT_JWS_BAD_ALG,
                  "fit");
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", good_claims(f), ZT_JWS_BAD_ALG,
                  "fit");
    expect_status(f, f->rsa, "{\"alg\":\"PS256\",\"kid\":\"e1\"}", good_claims(f), ZT_JWS_BAD_ALG,
                  "fit");
    /* Other algs, even real ones. */
    expect_status(f, f->rsa, "{\"alg\":\"RS512\",\"kid\":\"r1\"}", good_claims(f), ZT_JWS_BAD_ALG,
                  NULL);
    expect_status(f, f->rsa, "{\"kid\":\"r1\"}", good_claims(f), ZT_JWS_BAD_ALG, "missing");
    /* A kid we do not know; a key the client never registered with its own kid. */
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"zz\"}", good_claims(f),
                  ZT_JWS_UNKNOWN_KID, NULL);
    EVP_PKEY *other = EVP_EC_gen("P-256");
    expect_status(f, other, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", good_claims(f),
                  ZT_JWS_BAD_SIGNATURE, NULL);
    expect_status(f, other, "{\"alg\":\"ES256\"}", good_claims(f), ZT_JWS_BAD_SIGNATURE, NULL);
    /* An embedded jwk is never used. */
    char *ojwk = jwk_json(other, NULL, NULL), hdr[600];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"e1\",\"jwk\":%s}", ojwk);
    expect_status(f, other, hdr, good_claims(f), ZT_JWS_BAD_SIGNATURE, NULL);
    free(ojwk);
    /* PS256 signature presented as RS256 and the reverse. */
    p = good_claims(f);
    t = token(f->rsa, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", p);
    char *t2 = token(f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", p);
    char swapped[8192];
    snprintf(swapped, sizeof(swapped), "%.*s%s", (int)(strchr(strchr(t2, '.') + 1, '.') - t2), t2,
             strchr(strchr(t, '.') + 1, '.'));
    assert_int_equal(check(f, f->jwks, swapped, NULL, &why), ZT_JWS_BAD_SIGNATURE);
    free(t);
    free(t2);
    free(p);
    /* Only EC keys registered: RS256 finds no key. */
    char *e = jwk_json(f->ec, NULL, NULL), doc[1024];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", e);
    zt_jws_jwks *ecj = parse_ok(doc);
    p = good_claims(f);
    t = token(f->rsa, "{\"alg\":\"RS256\"}", p);
    assert_int_equal(check(f, ecj, t, NULL, &why), ZT_JWS_UNKNOWN_KID);
    free(t);
    free(p);
    zt_jws_jwks_free(ecj);
    free(e);
    /* A JWKS entry pinned to RS256 refuses PS256. */
    char *r = jwk_json(f->rsa, "r1", ",\"alg\":\"RS256\"");
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", r);
    zt_jws_jwks *pinned = parse_ok(doc);
    p = good_claims(f);
    t = token(f->rsa, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", p);
    assert_int_equal(check(f, pinned, t, NULL, &why), ZT_JWS_BAD_ALG);
    free(t);
    free(p);
    zt_jws_jwks_free(pinned);
    free(r);
    EVP_PKEY_free(other);
}

static void test_assertion_header_rules(void **state)
{
    fx *f = *state;
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}",
                  good_claims(f), ZT_JWS_BAD_HEADER, "crit");
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"logout+jwt\"}",
                  good_claims(f), ZT_JWS_BAD_HEADER, "typ");
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":7}", good_claims(f), ZT_JWS_UNKNOWN_KID,
                  NULL);
    expect_status(f, f->rsa, "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"r1\"}", good_claims(f),
                  ZT_JWS_MALFORMED, "header");
}

static void test_assertion_claims(void **state)
{
    fx *f = *state;
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";
    const char *tep = "\"" TOKEN_EP "\"";
    expect_status(f, f->rsa, h,
                  claims(f, CLIENT, CLIENT, "\"https://other.example\"", 0, 60, "\"j\""),
                  ZT_JWS_WRONG_AUD, NULL);
    expect_status(
        f, f->rsa, h,
        claims(f, CLIENT, CLIENT, "[\"" TOKEN_EP "\",\"https://other.example\"]", 0, 60, "\"j\""),
        ZT_JWS_WRONG_AUD, NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, "[]", 0, 60, "\"j\""), ZT_JWS_WRONG_AUD,
                  NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, "7", 0, 60, "\"j\""), ZT_JWS_WRONG_AUD,
                  NULL);
    expect_status(f, f->rsa, h,
                  claims(f, CLIENT, CLIENT, "\"" ISSUER "/.ztgate/oidc/token/\"", 0, 60, "\"j\""),
                  ZT_JWS_WRONG_AUD, NULL);
    expect_status(f, f->rsa, h, claims(f, "gitlab", CLIENT, tep, 0, 60, "\"j\""), ZT_JWS_WRONG_ISS,
                  NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, "alice", tep, 0, 60, "\"j\""), ZT_JWS_WRONG_ISS,
                  NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, -120, -60, "\"j\""), ZT_JWS_EXPIRED,
                  NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, -60, -5, "\"j\""), ZT_JWS_EXPIRED,
                  NULL); /* exactly at the leeway */
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, -60, -4, "\"j\""), ZT_JWS_OK, NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 60, 120, "\"j\""),
                  ZT_JWS_NOT_YET_VALID, "iat");
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 3600, "\"j\""), ZT_JWS_BAD_CLAIMS,
                  "lifetime");
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 300, "\"j\""), ZT_JWS_OK, NULL);
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 60, NULL), ZT_JWS_BAD_CLAIMS,
                  "jti");
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 60, "\"\""), ZT_JWS_BAD_CLAIMS,
                  "jti");
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 60, "42"), ZT_JWS_BAD_CLAIMS,
                  "jti");
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 60, "\"a\\u0001b\""),
                  ZT_JWS_BAD_CLAIMS, "jti");
    char big[400];
    memset(big, 'j', sizeof(big));
    big[0] = '"';
    big[257] = '"';
    big[258] = '\0';
    expect_status(f, f->rsa, h, claims(f, CLIENT, CLIENT, tep, 0, 60, big), ZT_JWS_BAD_CLAIMS,
                  "jti");
    /* exp missing, not a number, absurd; nbf in the future; no iat but exp too far. */
    char p[600];
    snprintf(p, sizeof(p), "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"jti\":\"j\"}", CLIENT,
             CLIENT, tep);
    expect_status(f, f->rsa, h, strdup(p), ZT_JWS_BAD_CLAIMS, "exp");
    snprintf(p, sizeof(p),
             "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"jti\":\"j\",\"exp\":\"%lld\"}", CLIENT,
             CLIENT, tep, (long long)f->now + 60);
    expect_status(f, f->rsa, h, strdup(p), ZT_JWS_BAD_CLAIMS, "exp");
    snprintf(p, sizeof(p), "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"jti\":\"j\",\"exp\":1e300}",
             CLIENT, CLIENT, tep);
    expect_status(f, f->rsa, h, strdup(p), ZT_JWS_BAD_CLAIMS, "exp");
    snprintf(p, sizeof(p),
             "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"jti\":\"j\",\"exp\":%lld,\"nbf\":%lld}",
             CLIENT, CLIENT, tep, (long long)f->now + 120, (long long)f->now + 60);
    expect_status(f, f->rsa, h, strdup(p), ZT_JWS_NOT_YET_VALID, "nbf");
    snprintf(p, sizeof(p), "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"jti\":\"j\",\"exp\":%lld}",
             CLIENT, CLIENT, tep, (long long)f->now + 1000);
    expect_status(f, f->rsa, h, strdup(p), ZT_JWS_BAD_CLAIMS, "lifetime");
    /* A caller's own cap. */
    char *c = claims(f, CLIENT, CLIENT, tep, 0, 120, "\"j\""), *t = token(f->rsa, h, c);
    zt_jws_client_expect x = expect_of(f);
    x.max_lifetime_s = 60;
    const char *why = NULL;
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, t, strlen(t), &x, NULL, &why),
                     ZT_JWS_BAD_CLAIMS);
    free(c);
    free(t);
    /* The payload is not JSON; or it was changed after signing. */
    expect_status(f, f->rsa, h, strdup("not json"), ZT_JWS_MALFORMED, "payload");
    c = good_claims(f);
    t = token(f->rsa, h, c);
    char *dot = strchr(t, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    assert_int_equal(check(f, f->jwks, t, NULL, &why), ZT_JWS_BAD_SIGNATURE);
    free(c);
    free(t);
}

static void test_assertion_encoding(void **state)
{
    fx *f = *state;
    char *p = good_claims(f), *t = token(f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", p);
    const char *why = NULL;
    size_t n = strlen(t);
    char buf[20000];
    zt_jws_client_expect x = expect_of(f);
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, t, n, &x, NULL, &why), ZT_JWS_OK);
    /* Trailing garbage: a newline, a space, a fourth segment, padding. */
    const char *tails[] = {"\n", " ", ".AAAA", "=", "=="};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", t, tails[i]);
        assert_int_equal(zt_jws_verify_client_assertion(f->jwks, buf, strlen(buf), &x, NULL, &why),
                         ZT_JWS_MALFORMED);
    }
    /* Standard base64 characters instead of base64url. */
    snprintf(buf, sizeof(buf), "%s", t);
    buf[5] = '+';
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, buf, n, &x, NULL, &why),
                     ZT_JWS_MALFORMED);
    /* A NUL inside the length given. */
    snprintf(buf, sizeof(buf), "%s", t);
    buf[10] = '\0';
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, buf, n, &x, NULL, &why),
                     ZT_JWS_MALFORMED);
    /* Two segments; empty signature; signature one byte short. */
    snprintf(buf, sizeof(buf), "%.*s", (int)(strrchr(t, '.') - t), t);
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, buf, strlen(buf), &x, NULL, &why),
                     ZT_JWS_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s.", (int)(strrchr(t, '.') - t), t);
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, buf, strlen(buf), &x, NULL, &why),
                     ZT_JWS_BAD_SIGNATURE);
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, t, n - 3, &x, NULL, &why),
                     ZT_JWS_BAD_SIGNATURE);
    /* Huge: over ZT_JWS_MAX_ASSERTION, refused before decoding. */
    memset(buf, 'A', sizeof(buf));
    memcpy(buf, t, n);
    assert_int_equal(
        zt_jws_verify_client_assertion(f->jwks, buf, ZT_JWS_MAX_ASSERTION + 1, &x, NULL, &why),
        ZT_JWS_MALFORMED);
    assert_non_null(strstr(why, "too long"));
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, "", 0, &x, NULL, &why),
                     ZT_JWS_MALFORMED);
    /* Missing expectations are the caller's bug, reported rather than crashing. */
    zt_jws_client_expect none = {0};
    assert_int_equal(zt_jws_verify_client_assertion(f->jwks, t, n, &none, NULL, &why),
                     ZT_JWS_MALFORMED);
    assert_int_equal(zt_jws_verify_client_assertion(NULL, t, n, &x, NULL, &why), ZT_JWS_MALFORMED);
    assert_string_equal(zt_jws_status_name(ZT_JWS_WRONG_AUD), "wrong_aud");
    assert_string_equal(zt_jws_status_name((zt_jws_status)99), "unknown");
    free(p);
    free(t);
}

/* ---- client JWKS ---- */

static zt_jws_status parse_st(const char *doc, const char **why)
{
    zt_jws_jwks *j = NULL;
    zt_jws_status st = zt_jws_client_jwks_parse(doc, strlen(doc), &j, why);
    assert_true((st == ZT_JWS_OK) == (j != NULL));
    zt_jws_jwks_free(j);
    return st;
}

static void test_client_jwks(void **state)
{
    fx *f = *state;
    const char *why = NULL;
    char doc[8000];
    assert_int_equal(zt_jws_jwks_count(f->jwks), 2);
    const char *bad[] = {"",
                         "[]",
                         "{\"keys\":{}}",
                         "{\"keys\":[]}",
                         "{\"keys\":[1]}",
                         "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
                         "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_st(bad[i], &why), ZT_JWS_BAD_JWKS);
    struct {
        const char *extra;
        const char *why; /* NULL: the entry is skipped, so the set is empty */
    } rsa_cases[] = {
        {",\"d\":\"AQAB\"", "private"}, {",\"p\":\"AQAB\"", "private"},
        {",\"use\":\"enc\"", NULL},     {",\"key_ops\":[\"encrypt\"]", NULL},
        {",\"alg\":\"RS512\"", NULL},   {",\"alg\":\"ES256\"", NULL},
        {",\"kid\":\"\"", "kid"},
    };
    for (size_t i = 0; i < sizeof(rsa_cases) / sizeof(rsa_cases[0]); i++) {
        char *r = jwk_json(f->rsa, NULL, rsa_cases[i].extra);
        snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", r);
        free(r);
        assert_int_equal(parse_st(doc, &why), ZT_JWS_BAD_JWKS);
        assert_non_null(strstr(why, rsa_cases[i].why ? rsa_cases[i].why : "no RSA or EC"));
    }
    /* Duplicate kid; too small an RSA modulus; an EC point off the curve. */
    char *r = jwk_json(f->rsa, "k", NULL), *e = jwk_json(f->ec, "k", NULL);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", r, e);
    assert_int_equal(parse_st(doc, &why), ZT_JWS_BAD_JWKS);
    assert_non_null(strstr(why, "duplicate"));
    free(r);
    free(e);
    EVP_PKEY *small = EVP_RSA_gen(1024);
    r = jwk_json(small, NULL, NULL);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", r);
    assert_int_equal(parse_st(doc, &why), ZT_JWS_BAD_JWKS);
    assert_non_null(strstr(why, "2048"));
    free(r);
    EVP_PKEY_free(small);
    e = jwk_json(f->ec, NULL, NULL);
    char *y = strstr(e, "\"y\":\"") + 5;
    y[0] = y[0] == 'A' ? 'B' : 'A';
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", e);
    assert_int_equal(parse_st(doc, &why), ZT_JWS_BAD_JWKS);
    free(e);
    /* Unknown entries beside a good one are skipped; our own IdP JWKS parses (RSA and EC). */
    r = jwk_json(f->rsa, NULL, NULL);
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"},%s]}",
             r);
    free(r);
    assert_int_equal(parse_st(doc, &why), ZT_JWS_OK);
    const zt_keyset *s = zt_keys_acquire(f->keys);
    assert_int_equal(parse_st(zt_keyset_jwks(s, NULL), &why), ZT_JWS_OK);
    zt_keyset_release(s);
}

/* RFC 7638 3.1's example key: its thumbprint is printed in the RFC. */
static void test_thumbprint_rfc7638(void **state)
{
    (void)state;
    static const char n64[] =
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
        "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
        "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
        "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    unsigned char n[256];
    size_t got = 0;
    assert_int_equal(sodium_base642bin(n, sizeof(n), n64, strlen(n64), NULL, &got, NULL, B64), 0);
    assert_int_equal(got, 256);
    BIGNUM *bn = BN_bin2bn(n, 256, NULL), *be = BN_new();
    BN_set_word(be, 65537);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    char kid[ZT_KEYS_KID_LEN + 1];
    assert_int_equal(zt_keys_thumbprint(pkey, kid), 0);
    assert_string_equal(kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    assert_int_equal(zt_keys_thumbprint(NULL, kid), -EINVAL);
}

/* ---- IdP key directory with RSA ---- */

static mode_t mode_of(const char *dir, const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static EVP_PKEY *load_pem(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

static json_t *jwks_keys(zt_keys *k)
{
    const zt_keyset *s = zt_keys_acquire(k);
    json_t *doc = json_loads(zt_keyset_jwks(s, NULL), JSON_REJECT_DUPLICATES, NULL);
    zt_keyset_release(s);
    assert_non_null(doc);
    json_t *keys = json_incref(json_object_get(doc, "keys"));
    json_decref(doc);
    return keys;
}

static void test_rsa_key_files(void **state)
{
    fx *f = *state;
    assert_int_equal(mode_of(f->dir, "."), 0700);
    assert_int_equal(mode_of(f->dir, "active.pem"), 0600);
    assert_int_equal(mode_of(f->dir, "rsa-active.pem"), 0600);
    EVP_PKEY *rsa = load_pem(f->dir, "rsa-active.pem");
    assert_true(EVP_PKEY_is_a(rsa, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(rsa), 2048);

    /* JWKS: the EC key, then the RSA key, each with kty, kid, use, alg; no private parts. */
    json_t *keys = jwks_keys(f->keys);
    assert_int_equal(json_array_size(keys), 2);
    json_t *k = json_array_get(keys, 1);
    assert_int_equal(json_object_size(k), 6);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "RS256");
    assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 0), "alg")),
                        "ES256");
    /* The kid recomputed here from the published n and e (RFC 7638 3.3), and from the key on
     * disk, and what kid_for says. */
    char canon[1024], want[64];
    snprintf(canon, sizeof(canon), "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}",
             json_string_value(json_object_get(k, "n")));
    unsigned char h[32];
    crypto_hash_sha256(h, (unsigned char *)canon, strlen(canon));
    b64_of(want, sizeof(want), h, 32);
    assert_string_equal(json_string_value(json_object_get(k, "kid")), want);
    char disk[ZT_KEYS_KID_LEN + 1];
    assert_int_equal(zt_keys_thumbprint(rsa, disk), 0);
    assert_string_equal(disk, want);
    const zt_keyset *s = zt_keys_acquire(f->keys);
    assert_string_equal(zt_keyset_kid_for(s, ZT_JWS_RS256), want);
    assert_string_equal(zt_keyset_kid_for(s, ZT_JWS_ES256), zt_keyset_kid(s));
    assert_null(zt_keyset_kid_for(s, ZT_JWS_PS256));
    zt_keyset_release(s);
    json_decref(keys);
    EVP_PKEY_free(rsa);

    /* Permission and type rules hold for the RSA files too. */
    char err[256], path[256];
    zt_keys *other = NULL;
    snprintf(path, sizeof(path), "%s/rsa-active.pem", f->dir);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(zt_keys_open_with(f->dir, ZT_KEYS_WITH_RSA, &other, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "rsa-active.pem"));
    /* A directory opened without RSA never reads (or minds) the RSA files. */
    assert_int_equal(zt_keys_open(f->dir, &other, err, sizeof(err)), 0);
    keys = jwks_keys(other);
    assert_int_equal(json_array_size(keys), 1);
    json_decref(keys);
    zt_keys_free(other);
    assert_int_equal(chmod(path, 0600), 0);

    char dir2[200];
    snprintf(dir2, sizeof(dir2), "%s/k2", f->root);
    assert_int_equal(zt_keys_open(dir2, &other, err, sizeof(err)), 0);
    zt_keys_free(other);
    snprintf(path, sizeof(path), "%s/rsa-active.pem", dir2);
    assert_int_equal(access(path, F_OK), -1); /* the assertion dir stays P-256 only */
    /* An EC key where the RSA key belongs. */
    char src[256];
    snprintf(src, sizeof(src), "%s/active.pem", dir2);
    assert_int_equal(link(src, path), 0);
    assert_int_equal(zt_keys_open_with(dir2, ZT_KEYS_WITH_RSA, &other, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "RSA"));
    assert_null(other);
}

static void test_rsa_rotation(void **state)
{
    fx *f = *state;
    char err[256];
    const zt_keyset *s = zt_keys_acquire(f->keys);
    char rsa0[64], ec0[64];
    snprintf(rsa0, sizeof(rsa0), "%s", zt_keyset_kid_for(s, ZT_JWS_RS256));
    snprintf(ec0, sizeof(ec0), "%s", zt_keyset_kid_for(s, ZT_JWS_ES256));
    zt_keyset_release(s);
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), 0);
    assert_int_equal(mode_of(f->dir, "rsa-previous.pem"), 0600);
    json_t *keys = jwks_keys(f->keys);
    assert_int_equal(json_array_size(keys), 4);
    const char *want_alg[] = {"ES256", "ES256", "RS256", "RS256"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(keys, i), "alg")),
                            want_alg[i]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 1), "kid")), ec0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 3), "kid")), rsa0);
    json_decref(keys);
    s = zt_keys_acquire(f->keys);
    assert_string_not_equal(zt_keyset_kid_for(s, ZT_JWS_RS256), rsa0);
    zt_keyset_release(s);
    /* The interval rule covers both; revoke drops both previous keys. */
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), -EBUSY);
    assert_int_equal(zt_keys_rotate(f->keys, ZT_KEYS_ROTATE_REVOKE, err, sizeof(err)), 0);
    keys = jwks_keys(f->keys);
    assert_int_equal(json_array_size(keys), 2);
    json_decref(keys);
    char path[256];
    snprintf(path, sizeof(path), "%s/rsa-previous.pem", f->dir);
    assert_int_equal(access(path, F_OK), -1);
    /* A rotation that died between the RSA renames is finished by the next open. */
    char next[256];
    snprintf(path, sizeof(path), "%s/rsa-active.pem", f->dir);
    snprintf(next, sizeof(next), "%s/rsa-next.pem", f->dir);
    assert_int_equal(rename(path, next), 0);
    assert_int_equal(zt_keys_reload(f->keys, err, sizeof(err)), 0);
    assert_int_equal(access(next, F_OK), -1);
    assert_int_equal(mode_of(f->dir, "rsa-active.pem"), 0600);
}

/* ---- signing ---- */

/* Splits our token and checks the header: {"alg","typ","kid"} exactly. */
static void check_header(const char *t, const char *alg, const char *typ, const char *kid)
{
    unsigned char raw[512];
    size_t got = 0;
    const char *dot = strchr(t, '.');
    assert_int_equal(
        sodium_base642bin(raw, sizeof(raw), t, (size_t)(dot - t), NULL, &got, NULL, B64), 0);
    json_t *h = json_loadb((const char *)raw, got, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(h);
    assert_int_equal(json_object_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), typ);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), kid);
    json_decref(h);
}

static void test_sign_round_trip(void **state)
{
    fx *f = *state;
    const zt_keyset *s = zt_keys_acquire(f->keys);
    char *idp_jwks = strdup(zt_keyset_jwks(s, NULL));
    zt_keyset_release(s);
    zt_jws_jwks *j = parse_ok(idp_jwks);
    /* Client-assertion-shaped claims, so the verifier under test can check our signatures too;
     * an independent check is in tests/integ/jwt (npm jose). */
    char *p = good_claims(f);
    zt_jws_alg algs[] = {ZT_JWS_RS256, ZT_JWS_ES256};
    for (size_t i = 0; i < 2; i++) {
        zt_buf b;
        zt_buf_init(&b, 0);
        char kid[ZT_KEYS_KID_LEN + 1];
        assert_int_equal(zt_jws_sign_json(f->keys, algs[i], "JWT", p, strlen(p), &b, kid), 0);
        assert_int_equal(zt_buf_cstr(&b), 0);
        s = zt_keys_acquire(f->keys);
        assert_string_equal(kid, zt_keyset_kid_for(s, algs[i]));
        zt_keyset_release(s);
        check_header(b.data, zt_jws_alg_name(algs[i]), "JWT", kid);
        zt_jws_client_assertion a;
        const char *why = NULL;
        zt_jws_status st = check(f, j, b.data, &a, &why);
        if (st != ZT_JWS_OK)
            fail_msg("%s: %s", zt_jws_status_name(st), why);
        assert_int_equal(a.alg, algs[i]);
        assert_string_equal(a.kid, kid);
        /* RS256 signature length is the modulus size; verify it with OpenSSL here too. */
        if (algs[i] == ZT_JWS_RS256) {
            EVP_PKEY *rsa = load_pem(f->dir, "rsa-active.pem");
            const char *last = strrchr(b.data, '.');
            unsigned char sig[512];
            size_t siglen = 0;
            assert_int_equal(sodium_base642bin(sig, sizeof(sig), last + 1, strlen(last + 1), NULL,
                                               &siglen, NULL, B64),
                             0);
            EVP_MD_CTX *md = EVP_MD_CTX_new();
            assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, rsa), 1);
            assert_int_equal(
                EVP_DigestVerify(md, sig, siglen, (unsigned char *)b.data, (size_t)(last - b.data)),
                1);
            EVP_MD_CTX_free(md);
            EVP_PKEY_free(rsa);
        }
        zt_buf_dispose(&b);
    }
    /* typ is written as given, and only safe media types are taken. */
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_jws_sign_json(f->keys, ZT_JWS_RS256, "logout+jwt", "{}", 2, &b, NULL), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    s = zt_keys_acquire(f->keys);
    check_header(b.data, "RS256", "logout+jwt", zt_keyset_kid_for(s, ZT_JWS_RS256));
    zt_keyset_release(s);
    size_t len = b.len;
    assert_int_equal(zt_jws_sign_json(f->keys, ZT_JWS_RS256, "JWT\",\"x\":\"", "{}", 2, &b, NULL),
                     -EINVAL);
    assert_int_equal(zt_jws_sign_json(f->keys, ZT_JWS_RS256, "", "{}", 2, &b, NULL), -EINVAL);
    assert_int_equal(zt_jws_sign_json(f->keys, ZT_JWS_PS256, "JWT", "{}", 2, &b, NULL), -ENOENT);
    char *huge = malloc(ZT_JWS_MAX_SIGNED);
    memset(huge, 'a', ZT_JWS_MAX_SIGNED);
    assert_int_equal(
        zt_jws_sign_json(f->keys, ZT_JWS_ES256, "JWT", huge, ZT_JWS_MAX_SIGNED, &b, NULL), -E2BIG);
    free(huge);
    assert_int_equal(b.len, len); /* nothing appended on failure */
    zt_buf_dispose(&b);
    /* The assertion key directory has no RSA key: RS256 is refused, ES256 works. */
    char dir2[200], err[256];
    zt_keys *plain = NULL;
    snprintf(dir2, sizeof(dir2), "%s/plain", f->root);
    assert_int_equal(zt_keys_open(dir2, &plain, err, sizeof(err)), 0);
    zt_buf_init(&b, 0);
    assert_int_equal(zt_jws_sign_json(plain, ZT_JWS_RS256, "JWT", "{}", 2, &b, NULL), -ENOENT);
    assert_int_equal(zt_jws_sign_json(plain, ZT_JWS_ES256, "JWT", "{}", 2, &b, NULL), 0);
    zt_buf_dispose(&b);
    zt_keys_free(plain);
    zt_jws_jwks_free(j);
    free(idp_jwks);
    free(p);
}

/* Threads sign RS256 and ES256 while the key set rotates under them: every signature succeeds
 * (snapshots stay whole while held; run under ASan to see no freed key is touched). */
typedef struct signer {
    zt_keys *keys;
    int n;
    int failures;
} signer;

static void *sign_many(void *arg)
{
    signer *w = arg;
    zt_buf b;
    zt_buf_init(&b, 0);
    for (int i = 0; i < w->n; i++) {
        zt_buf_reset(&b);
        zt_jws_alg alg = (i & 1) ? ZT_JWS_RS256 : ZT_JWS_ES256;
        w->failures += zt_jws_sign_json(w->keys, alg, "JWT", "{\"a\":1}", 7, &b, NULL) != 0;
    }
    zt_buf_dispose(&b);
    return NULL;
}

static void test_sign_during_rotation(void **state)
{
    fx *f = *state;
    pthread_t t[2];
    signer w[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (signer){.keys = f->keys, .n = 300};
        assert_int_equal(pthread_create(&t[i], NULL, sign_many, &w[i]), 0);
    }
    char err[256];
    for (int i = 0; i < 3; i++)
        assert_int_equal(zt_keys_rotate(f->keys, ZT_KEYS_ROTATE_FORCE, err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
}

static void test_at_hash(void **state)
{
    (void)state;
    /* OIDC Core, Appendix A.4's ID token: this access token and its at_hash. */
    const char *at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    char out[ZT_JWS_AT_HASH_LEN + 1];
    assert_int_equal(zt_jws_at_hash(ZT_JWS_RS256, at, strlen(at), out), 0);
    assert_string_equal(out, "77QmUPtjPfzWtF2AnpK9RQ");
    assert_int_equal(zt_jws_at_hash(ZT_JWS_ES256, at, strlen(at), out), 0);
    assert_string_equal(out, "77QmUPtjPfzWtF2AnpK9RQ");
}

static void test_alg_names(void **state)
{
    (void)state;
    zt_jws_alg a;
    assert_true(zt_jws_alg_parse("RS256", 5, &a) && a == ZT_JWS_RS256);
    assert_true(zt_jws_alg_parse("PS256", 5, &a) && a == ZT_JWS_PS256);
    assert_true(zt_jws_alg_parse("ES256", 5, &a) && a == ZT_JWS_ES256);
    assert_false(zt_jws_alg_parse("rs256", 5, &a));
    assert_false(zt_jws_alg_parse("RS25", 4, &a));
    assert_false(zt_jws_alg_parse("none", 4, &a));
    assert_false(zt_jws_alg_parse("HS256", 5, &a));
    assert_string_equal(zt_jws_alg_name((zt_jws_alg)9), "unknown");
}

/* ---- zt_jws_verify_signed: upstream ID and logout tokens (src/federation) ---- */

static zt_jws_status signed_status(const fx *f, EVP_PKEY *k, const char *hdr,
                                   zt_jws_token_kind kind, char **payload)
{
    char *t = token(k, hdr, "{\"sub\":\"s\",\"x\":1}");
    size_t n = 0;
    const char *why = NULL;
    *payload = NULL;
    zt_jws_status st = zt_jws_verify_signed(f->jwks, t, strlen(t), kind, payload, &n, &why);
    assert_non_null(why);
    if (st == ZT_JWS_OK)
        assert_int_equal(n, strlen(*payload));
    free(t);
    return st;
}

static void test_verify_signed(void **state)
{
    fx *f = *state;
    char *p = NULL;
    assert_int_equal(
        signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_OK);
    assert_string_equal(p, "{\"sub\":\"s\",\"x\":1}");
    free(p);
    assert_int_equal(
        signed_status(f, f->ec, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_OK);
    free(p);
    /* typ: a logout token is not an ID token, and the other way round is fine */
    assert_int_equal(
        signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"typ\":\"logout+jwt\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_BAD_HEADER);
    assert_null(p);
    assert_int_equal(signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"typ\":\"logout+jwt\"}",
                                   ZT_JWS_LOGOUT_TOKEN, &p),
                     ZT_JWS_OK);
    free(p);
    assert_int_equal(
        signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", ZT_JWS_LOGOUT_TOKEN, &p),
        ZT_JWS_BAD_HEADER);
    /* alg none, HMAC, alg not fitting the key, unknown kid, another key */
    assert_int_equal(signed_status(f, NULL, "{\"alg\":\"none\"}", ZT_JWS_ID_TOKEN, &p),
                     ZT_JWS_BAD_ALG);
    assert_int_equal(signed_status(f, f->rsa, "{\"alg\":\"HS256\"}", ZT_JWS_ID_TOKEN, &p),
                     ZT_JWS_BAD_ALG);
    assert_int_equal(
        signed_status(f, f->ec, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_BAD_ALG);
    assert_int_equal(
        signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"kid\":\"gone\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_UNKNOWN_KID);
    EVP_PKEY *other = EVP_RSA_gen(2048);
    assert_int_equal(
        signed_status(f, other, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_BAD_SIGNATURE);
    EVP_PKEY_free(other);
    assert_int_equal(
        signed_status(f, f->rsa, "{\"alg\":\"RS256\",\"crit\":[\"b64\"]}", ZT_JWS_ID_TOKEN, &p),
        ZT_JWS_BAD_HEADER);
    size_t n = 0;
    const char *why = NULL;
    assert_int_equal(zt_jws_verify_signed(f->jwks, "a.b", 3, ZT_JWS_ID_TOKEN, &p, &n, &why),
                     ZT_JWS_MALFORMED);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assertion_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertion_alg_attacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertion_header_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertion_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertion_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_jwks, setup, teardown),
        cmocka_unit_test(test_thumbprint_rfc7638),
        cmocka_unit_test_setup_teardown(test_rsa_key_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_during_rotation, setup, teardown),
        cmocka_unit_test(test_at_hash),
        cmocka_unit_test_setup_teardown(test_verify_signed, setup, teardown),
        cmocka_unit_test(test_alg_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
