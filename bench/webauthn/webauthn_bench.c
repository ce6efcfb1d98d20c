/* WebAuthn assertion verification benchmark (issue 12 item 6; bench/webauthn/run.sh runs it):
 *
 *   webauthn_bench gen FILE [PER_ALG]   writes the assertion set, JSON, that this program and
 *                                       the Node peer (bench/webauthn/node/bench.mjs) both read
 *   webauthn_bench run FILE [SECONDS]   checks the set (every good assertion verifies, every
 *                                       tampered one is refused), then times
 *                                       zt_webauthn_verify_assertion on one thread, per alg,
 *                                       then OpenSSL's verification alone for SECONDS/2 (the
 *                                       ceiling; WEBAUTHN_BENCH_RAW=0 leaves it out)
 *
 * The set: PER_ALG assertions for each of ES256, EdDSA and RS256, made with OpenSSL by a few
 * credentials per alg, each with its own random challenge, UP and UV set, counters growing, and
 * per alg one copy with its signature corrupted ("tampered"). The timed loop starts from the
 * base64url strings of the JSON (the form a browser posts), so it includes decoding them, as the
 * Node peer's verifyAuthenticationResponse does; the stored credential (COSE key, counter, user
 * handle) is bytes for both. */
#include <cbor.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "identity/webauthn.h"
#include "lib/b64.h"

#define RP_ID "bench.ztgate.test"
#define ORIGIN "https://bench.ztgate.test"
#define MAX_KEYS 16
#define BUF 4096

static const char *const alg_names[] = {"ES256", "EdDSA", "RS256"};
static const int alg_ids[] = {ZT_WEBAUTHN_ES256, ZT_WEBAUTHN_EDDSA, ZT_WEBAUTHN_RS256};
#define N_ALGS 3

static void die(const char *msg)
{
    fprintf(stderr, "webauthn_bench: %s\n", msg);
    exit(1);
}

static char *b64url(const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (s == NULL)
        die("out of memory");
    sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

/* ---- gen ---- */

typedef struct cred {
    EVP_PKEY *key;
    unsigned char id[16], handle[32], cose[BUF];
    size_t cose_len;
} cred;

static void bn_bytes(EVP_PKEY *k, const char *name, unsigned char *out, size_t *n, int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        die("key parameter");
    *n = (size_t)(pad > 0 ? BN_bn2binpad(bn, out, pad) : BN_bn2bin(bn, out));
    BN_free(bn);
}

/* The shortest encoding, as authenticators write it (strict CBOR decoders refuse others). */
static cbor_item_t *cint(int v)
{
    unsigned int m = (unsigned int)(v >= 0 ? v : -1 - v);
    if (m < 256)
        return v >= 0 ? cbor_build_uint8((uint8_t)m) : cbor_build_negint8((uint8_t)m);
    return v >= 0 ? cbor_build_uint16((uint16_t)m) : cbor_build_negint16((uint16_t)m);
}

static void map_put(cbor_item_t *m, int label, cbor_item_t *v)
{
    if (!cbor_map_add(m, (struct cbor_pair){.key = cbor_move(cint(label)), .value = cbor_move(v)}))
        die("cbor");
}

/* The credential public key as a COSE_Key (what a credential record stores). */
static void cose_key(cred *c, int alg)
{
    unsigned char a[512], b[512];
    size_t an = 0, bn = 0;
    cbor_item_t *m = cbor_new_definite_map(5);
    if (alg == ZT_WEBAUTHN_ES256) {
        bn_bytes(c->key, OSSL_PKEY_PARAM_EC_PUB_X, a, &an, 32);
        bn_bytes(c->key, OSSL_PKEY_PARAM_EC_PUB_Y, b, &bn, 32);
        map_put(m, 1, cint(2));
        map_put(m, 3, cint(alg));
        map_put(m, -1, cint(1));
        map_put(m, -2, cbor_build_bytestring(a, an));
        map_put(m, -3, cbor_build_bytestring(b, bn));
    } else if (alg == ZT_WEBAUTHN_EDDSA) {
        an = sizeof(a);
        if (EVP_PKEY_get_raw_public_key(c->key, a, &an) != 1)
            die("Ed25519 key");
        map_put(m, 1, cint(1));
        map_put(m, 3, cint(alg));
        map_put(m, -1, cint(6));
        map_put(m, -2, cbor_build_bytestring(a, an));
    } else {
        bn_bytes(c->key, OSSL_PKEY_PARAM_RSA_N, a, &an, 0);
        bn_bytes(c->key, OSSL_PKEY_PARAM_RSA_E, b, &bn, 0);
        map_put(m, 1, cint(3));
        map_put(m, 3, cint(alg));
        map_put(m, -1, cbor_build_bytestring(a, an));
        map_put(m, -2, cbor_build_bytestring(b, bn));
    }
    c->cose_len = cbor_serialize(m, c->cose, sizeof(c->cose));
    cbor_decref(&m);
    if (c->cose_len == 0)
        die("COSE key too long");
}

static EVP_PKEY *keygen(int alg)
{
    if (alg == ZT_WEBAUTHN_ES256)
        return EVP_EC_gen("P-256");
    if (alg == ZT_WEBAUTHN_EDDSA)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return EVP_RSA_gen(2048);
}

static size_t sign(cred *c, int alg, const unsigned char *msg, size_t n, unsigned char *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 1024;
    const EVP_MD *md = alg == ZT_WEBAUTHN_EDDSA ? NULL : EVP_sha256();
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, c->key) != 1 ||
        EVP_DigestSign(ctx, sig, &len, msg, n) != 1)
        die("signing failed");
    EVP_MD_CTX_free(ctx);
    return len;
}

static void set_b64(json_t *o, const char *name, const unsigned char *p, size_t n)
{
    char *s = b64url(p, n);
    json_object_set_new(o, name, json_string(s));
    free(s);
}

/* One assertion by credential c, with sign counter count. */
static json_t *make_assertion(cred *c, int a, uint32_t count, bool tampered)
{
    unsigned char challenge[32], ad[37], msg[37 + 32], sig[1024];
    char cd[512];
    randombytes_buf(challenge, sizeof(challenge));
    char *ch = b64url(challenge, sizeof(challenge));
    int cdn = snprintf(cd, sizeof(cd),
                       "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"%s\","
                       "\"crossOrigin\":false}",
                       ch, ORIGIN);
    free(ch);
    unsigned int hl = 0;
    EVP_Digest(RP_ID, strlen(RP_ID), ad, &hl, EVP_sha256(), NULL);
    ad[32] = ZT_WEBAUTHN_UP | ZT_WEBAUTHN_UV;
    ad[33] = (unsigned char)(count >> 24);
    ad[34] = (unsigned char)(count >> 16);
    ad[35] = (unsigned char)(count >> 8);
    ad[36] = (unsigned char)count;
    memcpy(msg, ad, sizeof(ad));
    EVP_Digest(cd, (size_t)cdn, msg + sizeof(ad), &hl, EVP_sha256(), NULL);
    size_t siglen = sign(c, alg_ids[a], msg, sizeof(msg), sig);
    if (tampered)
        sig[siglen / 2] ^= 0x01;
    json_t *o = json_object();
    json_object_set_new(o, "alg", json_string(alg_names[a]));
    json_object_set_new(o, "tampered", json_boolean(tampered));
    set_b64(o, "credentialId", c->id, sizeof(c->id));
    set_b64(o, "publicKey", c->cose, c->cose_len);
    json_object_set_new(o, "counter", json_integer(0));
    set_b64(o, "challenge", challenge, sizeof(challenge));
    set_b64(o, "clientDataJSON", (const unsigned char *)cd, (size_t)cdn);
    set_b64(o, "authenticatorData", ad, sizeof(ad));
    set_b64(o, "signature", sig, siglen);
    set_b64(o, "userHandle", c->handle, sizeof(c->handle));
    return o;
}

static int gen(const char *path, int per_alg)
{
    if (per_alg < 1 || per_alg > 100000)
        die("PER_ALG must be 1..100000");
    json_t *list = json_array();
    for (int a = 0; a < N_ALGS; a++) {
        int nkeys = alg_ids[a] == ZT_WEBAUTHN_RS256 ? 4 : MAX_KEYS;
        cred creds[MAX_KEYS];
        for (int k = 0; k < nkeys; k++) {
            creds[k].key = keygen(alg_ids[a]);
            if (creds[k].key == NULL)
                die("key generation failed");
            randombytes_buf(creds[k].id, sizeof(creds[k].id));
            randombytes_buf(creds[k].handle, sizeof(creds[k].handle));
            cose_key(&creds[k], alg_ids[a]);
        }
        for (int i = 0; i < per_alg; i++)
            json_array_append_new(list,
                                  make_assertion(&creds[i % nkeys], a, (uint32_t)i + 1, false));
        json_array_append_new(list, make_assertion(&creds[0], a, (uint32_t)per_alg + 1, true));
        for (int k = 0; k < nkeys; k++)
            EVP_PKEY_free(creds[k].key);
    }
    json_t *doc = json_pack("{s:s, s:s, s:o}", "rpId", RP_ID, "origin", ORIGIN, "assertions", list);
    if (doc == NULL || json_dump_file(doc, path, JSON_COMPACT) != 0)
        die("cannot write the assertion set");
    json_decref(doc);
    printf("webauthn_bench: %d assertions per alg (+1 tampered each) written to %s\n", per_alg,
           path);
    return 0;
}

/* ---- run ---- */

typedef struct entry {
    int alg; /* index into alg_ids */
    bool tampered;
    const char *cd, *ad, *sig, *uh; /* base64url, as posted */
    unsigned char cose[BUF], challenge[64], handle[64];
    size_t cose_len, challenge_len, handle_len;
} entry;

static void decode_field(json_t *o, const char *name, unsigned char *out, size_t cap, size_t *n)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v) ||
        !zt_b64url_decode(json_string_value(v), json_string_length(v), out, cap, n))
        die("assertion set: a field is not base64url");
}

static const char *string_field(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL)
        die("assertion set: a field is missing");
    return s;
}

/* Verifies one entry from its base64url strings, as the endpoint will. */
static zt_webauthn_result verify_entry(const entry *e, const char **why)
{
    static unsigned char cd[BUF], ad[BUF], sig[BUF], uh[BUF];
    size_t cdn = 0, adn = 0, sgn = 0, uhn = 0;
    if (!zt_b64url_decode(e->cd, strlen(e->cd), cd, sizeof(cd), &cdn) ||
        !zt_b64url_decode(e->ad, strlen(e->ad), ad, sizeof(ad), &adn) ||
        !zt_b64url_decode(e->sig, strlen(e->sig), sig, sizeof(sig), &sgn) ||
        !zt_b64url_decode(e->uh, strlen(e->uh), uh, sizeof(uh), &uhn))
        return ZT_WEBAUTHN_BAD_INPUT;
    static const char *const origins[] = {ORIGIN};
    zt_webauthn_expect exp = {.rp_id = RP_ID,
                              .origins = origins,
                              .n_origins = 1,
                              .challenge = e->challenge,
                              .challenge_len = e->challenge_len,
                              .require_uv = true};
    zt_webauthn_stored st = {.cose_key = e->cose,
                             .cose_key_len = e->cose_len,
                             .sign_count = 0,
                             .user_handle = e->handle,
                             .user_handle_len = e->handle_len};
    zt_webauthn_assertion_result out;
    return zt_webauthn_verify_assertion(&exp, &st, cd, cdn, ad, adn, sig, sgn, uh, uhn, &out, why);
}

static entry *load(const char *path, json_t **doc, size_t *n)
{
    json_error_t err;
    *doc = json_load_file(path, 0, &err);
    json_t *list = json_object_get(*doc, "assertions");
    if (!json_is_array(list) || json_array_size(list) == 0)
        die("cannot read the assertion set (run gen first)");
    *n = json_array_size(list);
    entry *es = calloc(*n, sizeof(*es));
    if (es == NULL)
        die("out of memory");
    for (size_t i = 0; i < *n; i++) {
        json_t *o = json_array_get(list, i);
        entry *e = &es[i];
        const char *alg = string_field(o, "alg");
        e->alg = -1;
        for (int a = 0; a < N_ALGS; a++)
            if (strcmp(alg, alg_names[a]) == 0)
                e->alg = a;
        if (e->alg < 0)
            die("assertion set: unknown alg");
        e->tampered = json_is_true(json_object_get(o, "tampered"));
        e->cd = string_field(o, "clientDataJSON");
        e->ad = string_field(o, "authenticatorData");
        e->sig = string_field(o, "signature");
        e->uh = string_field(o, "userHandle");
        decode_field(o, "publicKey", e->cose, sizeof(e->cose), &e->cose_len);
        decode_field(o, "challenge", e->challenge, sizeof(e->challenge), &e->challenge_len);
        decode_field(o, "userHandle", e->handle, sizeof(e->handle), &e->handle_len);
    }
    return es;
}

/* Every good assertion verifies and every tampered one is refused for its signature: otherwise
 * the timing below could be measuring a refusal path. */
static bool check(const entry *es, size_t n)
{
    size_t good[N_ALGS] = {0}, refused[N_ALGS] = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const char *why = "";
        zt_webauthn_result r = verify_entry(&es[i], &why);
        zt_webauthn_result want = es[i].tampered ? ZT_WEBAUTHN_BAD_SIGNATURE : ZT_WEBAUTHN_OK;
        if (r != want) {
            fprintf(stderr, "webauthn_bench: assertion %zu (%s%s): result %d (%s)\n", i,
                    alg_names[es[i].alg], es[i].tampered ? ", tampered" : "", (int)r, why);
            ok = false;
        } else if (es[i].tampered) {
            refused[es[i].alg]++;
        } else {
            good[es[i].alg]++;
        }
    }
    for (int a = 0; a < N_ALGS; a++)
        printf("CHECK verifier=ztgate alg=%s accepted=%zu tampered_refused=%zu\n", alg_names[a],
               good[a], refused[a]);
    return ok;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whole passes over the alg's good assertions until seconds have gone by. */
static void time_alg(const entry *es, size_t n, int a, double seconds)
{
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        good += es[i].alg == a && !es[i].tampered;
    if (good == 0)
        return;
    size_t count = 0;
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), t1 = t0;
    while (t1 - t0 < seconds) {
        for (size_t i = 0; i < n; i++) {
            if (es[i].alg != a || es[i].tampered)
                continue;
            const char *why = "";
            if (verify_entry(&es[i], &why) != ZT_WEBAUTHN_OK)
                die("a good assertion failed during the timed loop");
            count++;
        }
        t1 = now(CLOCK_MONOTONIC);
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("RESULT verifier=ztgate alg=%s verifies=%zu seconds=%.3f rate=%.1f cpu=%.2f "
           "cpu_rate=%.1f\n",
           alg_names[a], count, t1 - t0, (double)count / (t1 - t0), cpu / (t1 - t0),
           cpu > 0 ? (double)count / cpu : 0.0);
}

/* The ceiling: OpenSSL's signature verification alone, with each key built once and the
 * signed message (authData || SHA-256(clientDataJSON)) made once, no parsing at all. The same
 * primitive is what both verifiers end in (Node's WebCrypto is OpenSSL too), so
 * raw / SimpleWebAuthn bounds the ratio any verifier could reach on this machine. */
typedef struct raw_case {
    EVP_PKEY *key;
    unsigned char msg[BUF], sig[BUF];
    size_t msg_len, sig_len;
} raw_case;

static bool raw_prepare(const entry *e, raw_case *rc)
{
    unsigned char cd[BUF];
    size_t cdn = 0;
    int alg = 0;
    const char *why = NULL;
    unsigned int hl = 0;
    if (zt_webauthn_cose_key(e->cose, e->cose_len, &alg, &rc->key, &why) != ZT_WEBAUTHN_OK ||
        !zt_b64url_decode(e->ad, strlen(e->ad), rc->msg, sizeof(rc->msg) - 32, &rc->msg_len) ||
        !zt_b64url_decode(e->cd, strlen(e->cd), cd, sizeof(cd), &cdn) ||
        !zt_b64url_decode(e->sig, strlen(e->sig), rc->sig, sizeof(rc->sig), &rc->sig_len))
        return false;
    EVP_Digest(cd, cdn, rc->msg + rc->msg_len, &hl, EVP_sha256(), NULL);
    rc->msg_len += hl;
    return true;
}

static bool raw_verify(const raw_case *rc, int alg)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = alg_ids[alg] == ZT_WEBAUTHN_EDDSA ? NULL : EVP_sha256();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, rc->key) == 1 &&
              EVP_DigestVerify(ctx, rc->sig, rc->sig_len, rc->msg, rc->msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void time_raw(const entry *es, size_t n, int a, double seconds)
{
    raw_case *rcs = calloc(n, sizeof(*rcs));
    size_t m = 0, count = 0;
    if (rcs == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        if (es[i].alg == a && !es[i].tampered && !raw_prepare(&es[i], &rcs[m++]))
            die("cannot prepare the raw case");
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), t1 = t0;
    while (m > 0 && t1 - t0 < seconds) {
        for (size_t i = 0; i < m; i++, count++)
            if (!raw_verify(&rcs[i], a))
                die("a good signature failed the raw verification");
        t1 = now(CLOCK_MONOTONIC);
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (m > 0)
        printf("RESULT verifier=openssl-raw alg=%s verifies=%zu seconds=%.3f rate=%.1f cpu=%.2f "
               "cpu_rate=%.1f\n",
               alg_names[a], count, t1 - t0, (double)count / (t1 - t0), cpu / (t1 - t0),
               cpu > 0 ? (double)count / cpu : 0.0);
    for (size_t i = 0; i < m; i++)
        EVP_PKEY_free(rcs[i].key);
    free(rcs);
}

static int run(const char *path, double seconds)
{
    json_t *doc = NULL;
    size_t n = 0;
    entry *es = load(path, &doc, &n);
    if (!check(es, n)) {
        free(es);
        json_decref(doc);
        return 1;
    }
    for (int a = 0; a < N_ALGS; a++)
        time_alg(es, n, a, seconds);
    if (getenv("WEBAUTHN_BENCH_RAW") == NULL || strcmp(getenv("WEBAUTHN_BENCH_RAW"), "0") != 0)
        for (int a = 0; a < N_ALGS; a++)
            time_raw(es, n, a, seconds / 2);
    free(es);
    json_decref(doc);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        die("libsodium failed to start");
    if (argc >= 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argc > 3 ? (int)strtol(argv[3], NULL, 10) : 200);
    if (argc >= 3 && strcmp(argv[1], "run") == 0)
        return run(argv[2], argc > 3 ? strtod(argv[3], NULL) : 3.0);
    fprintf(stderr, "usage: webauthn_bench gen FILE [PER_ALG] | run FILE [SECONDS]\n");
    return 2;
}
