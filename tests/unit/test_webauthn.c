/* WebAuthn verification core: every vector is built here with OpenSSL (ES256, Ed25519 and RSA
 * keys, a self-signed attestation certificate) and libcbor (COSE keys, attestation objects), so
 * each refusal is a good ceremony with exactly one thing changed. With ZT_WEBAUTHN_SEED_DIR set,
 * the good ceremonies are also written there as fuzz_webauthn seeds (see fuzz/fuzz_webauthn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "identity/webauthn.h"

#define RP_ID "example.test"
#define ORIGIN "https://example.test"
#define CAP 16384

static const unsigned char challenge[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char aaguid[16] = {0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39,
                                         0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8};
static const char *const origins[] = {"https://other.example.test", ORIGIN};
static EVP_PKEY *es256, *ed25519, *rsa, *att_key;

/* ---- building blocks ---- */

typedef struct bytes {
    unsigned char p[CAP];
    size_t n;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    assert_true(b->n + n <= CAP);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void serialize(bytes *b, cbor_item_t *it)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    size_t n = cbor_serialize_alloc(it, &buf, &size);
    assert_true(n > 0);
    b->n = 0;
    put(b, buf, n);
    free(buf);
    cbor_decref(&it);
}

static void map_put(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v)
{
    assert_true(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)}));
}

static cbor_item_t *cint(int v)
{
    /* the shortest encoding, as authenticators write it (the u2f case finds y by its offset) */
    unsigned int m = (unsigned int)(v >= 0 ? v : -1 - v);
    if (m < 256)
        return v >= 0 ? cbor_build_uint8((uint8_t)m) : cbor_build_negint8((uint8_t)m);
    return v >= 0 ? cbor_build_uint16((uint16_t)m) : cbor_build_negint16((uint16_t)m);
}

static void bn_param(EVP_PKEY *k, const char *name, unsigned char *out, size_t *n, int pad)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
    *n = (size_t)(pad > 0 ? BN_bn2binpad(bn, out, pad) : BN_bn2bin(bn, out));
    BN_free(bn);
}

/* The COSE_Key of a public key, under the COSE alg given (a wrong alg makes a bad key). */
static void cose_of(EVP_PKEY *k, int alg, bytes *out)
{
    unsigned char a[512], b[512];
    size_t an = 0, bn = 0;
    cbor_item_t *m = cbor_new_definite_map(5);
    if (EVP_PKEY_is_a(k, "EC")) {
        bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, a, &an, 32);
        bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, b, &bn, 32);
        map_put(m, cint(1), cint(2));
        map_put(m, cint(3), cint(alg));
        map_put(m, cint(-1), cint(1));
        map_put(m, cint(-2), cbor_build_bytestring(a, an));
        map_put(m, cint(-3), cbor_build_bytestring(b, bn));
    } else if (EVP_PKEY_is_a(k, "ED25519")) {
        an = sizeof(a);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, a, &an), 1);
        map_put(m, cint(1), cint(1));
        map_put(m, cint(3), cint(alg));
        map_put(m, cint(-1), cint(6));
        map_put(m, cint(-2), cbor_build_bytestring(a, an));
    } else {
        bn_param(k, OSSL_PKEY_PARAM_RSA_N, a, &an, 0);
        bn_param(k, OSSL_PKEY_PARAM_RSA_E, b, &bn, 0);
        map_put(m, cint(1), cint(3));
        map_put(m, cint(3), cint(alg));
        map_put(m, cint(-1), cbor_build_bytestring(a, an));
        map_put(m, cint(-2), cbor_build_bytestring(b, bn));
    }
    serialize(out, m);
}

static int alg_of(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "EC"))
        return ZT_WEBAUTHN_ES256;
    return EVP_PKEY_is_a(k, "ED25519") ? ZT_WEBAUTHN_EDDSA : ZT_WEBAUTHN_RS256;
}

static void sign(EVP_PKEY *k, const bytes *a, const unsigned char *b, size_t bn, bytes *sig)
{
    unsigned char msg[2 * CAP];
    memcpy(msg, a->p, a->n);
    if (bn > 0)
        memcpy(msg + a->n, b, bn);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();
    size_t n = CAP;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig->p, &n, msg, a->n + bn), 1);
    sig->n = n;
    EVP_MD_CTX_free(ctx);
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

/* A self-signed attestation certificate for key (ou NULL: none; ca: basic constraints CA). */
static void make_cert(EVP_PKEY *key, const char *ou, const unsigned char *guid, bool ca, bytes *der)
{
    X509 *x = X509_new();
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Test", -1, -1, 0);
    if (ou != NULL)
        X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Key", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509_EXTENSION *bc =
        X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, ca ? "CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, bc, -1);
    X509_EXTENSION_free(bc);
    if (guid != NULL) {
        unsigned char v[18] = {0x04, 0x10};
        memcpy(v + 2, guid, 16);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, v, sizeof(v));
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(os);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    unsigned char *p = der->p;
    int n = i2d_X509(x, &p);
    assert_true(n > 0 && n <= CAP);
    der->n = (size_t)n;
    X509_free(x);
}

/* ---- a ceremony, good by default; each test changes one thing ---- */

typedef enum stmt_kind { ST_NONE, ST_PACKED_SELF, ST_PACKED_X5C, ST_U2F } stmt_kind;

typedef struct ceremony {
    EVP_PKEY *key;
    int cose_alg; /* alg written in the COSE key */
    const char *type;
    const char *challenge_b64; /* NULL: the right one */
    const char *origin;
    const char *cd_extra; /* appended members, e.g. ,"crossOrigin":true */
    const char *rp_id;
    uint8_t flags;
    uint32_t count;
    size_t cred_id_len;
    const char *ext_hex; /* raw extension bytes appended after the key ("a0": empty map) */
    size_t trailing;     /* junk bytes after everything */
    const char *fmt;
    stmt_kind stmt;
    int stmt_alg;        /* packed alg (0: the credential's) */
    bool stmt_extra;     /* a stray member in the attStmt */
    const char *cert_ou; /* packed x5c certificate OU */
    bool cert_ca;        /* packed x5c certificate says CA */
    bool cert_bad_guid;  /* certificate AAGUID differs from authData */
    int n_certs;         /* x5c length */
    bool flip_sig;       /* corrupt the signature */
    zt_webauthn_expect exp;
    /* outputs */
    bytes cd, ad, ao, sig, cose;
} ceremony;

static void ceremony_init(ceremony *c, EVP_PKEY *key, const char *type)
{
    memset(c, 0, sizeof(*c));
    c->key = key;
    c->cose_alg = alg_of(key);
    c->type = type;
    c->origin = ORIGIN;
    c->cd_extra = "";
    c->rp_id = RP_ID;
    c->flags = ZT_WEBAUTHN_UP | ZT_WEBAUTHN_UV;
    c->count = 5;
    c->cred_id_len = 20;
    c->fmt = "none";
    c->cert_ou = "Authenticator Attestation";
    c->n_certs = 1;
    c->exp = (zt_webauthn_expect){.rp_id = RP_ID,
                                  .origins = origins,
                                  .n_origins = 2,
                                  .challenge = challenge,
                                  .challenge_len = sizeof(challenge)};
}

static void build_client_data(ceremony *c)
{
    char b64[64];
    sodium_bin2base64(b64, sizeof(b64), challenge, sizeof(challenge),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int n = snprintf((char *)c->cd.p, CAP,
                     "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s,"
                     "\"other_keys_can_be_added_here\":\"ignored\"}",
                     c->type, c->challenge_b64 ? c->challenge_b64 : b64, c->origin, c->cd_extra);
    assert_true(n > 0 && n < CAP);
    c->cd.n = (size_t)n;
}

static void build_auth_data(ceremony *c)
{
    unsigned char h[32];
    sha256(c->rp_id, strlen(c->rp_id), h);
    c->ad.n = 0;
    put(&c->ad, h, 32);
    put(&c->ad, &c->flags, 1);
    unsigned char cnt[4] = {(unsigned char)(c->count >> 24), (unsigned char)(c->count >> 16),
                            (unsigned char)(c->count >> 8), (unsigned char)c->count};
    put(&c->ad, cnt, 4);
    cose_of(c->key, c->cose_alg, &c->cose);
    if (c->flags & ZT_WEBAUTHN_AT) {
        put(&c->ad, aaguid, 16);
        unsigned char l[2] = {(unsigned char)(c->cred_id_len >> 8), (unsigned char)c->cred_id_len};
        put(&c->ad, l, 2);
        for (size_t i = 0; i < c->cred_id_len; i++)
            put(&c->ad, &(unsigned char){(unsigned char)(i * 7)}, 1);
        put(&c->ad, c->cose.p, c->cose.n);
    }
    for (const char *h2 = c->ext_hex; h2 != NULL && h2[0] && h2[1]; h2 += 2) {
        unsigned int v = 0;
        assert_int_equal(sscanf(h2, "%2x", &v), 1);
        put(&c->ad, &(unsigned char){(unsigned char)v}, 1);
    }
    for (size_t i = 0; i < c->trailing; i++)
        put(&c->ad, "\0", 1);
}

static cbor_item_t *x5c_of(ceremony *c, EVP_PKEY *key)
{
    bytes der;
    make_cert(key, c->cert_ou, c->cert_bad_guid ? challenge : aaguid, c->cert_ca, &der);
    cbor_item_t *arr = cbor_new_definite_array((size_t)c->n_certs);
    for (int i = 0; i < c->n_certs; i++)
        assert_true(cbor_array_push(arr, cbor_move(cbor_build_bytestring(der.p, der.n))));
    return arr;
}

static void maybe_flip(ceremony *c)
{
    if (c->flip_sig)
        c->sig.p[c->sig.n / 2] ^= 0x01;
}

static cbor_item_t *build_stmt(ceremony *c, const unsigned char cd_hash[32])
{
    cbor_item_t *m = cbor_new_definite_map(4);
    int alg = c->stmt_alg != 0 ? c->stmt_alg : c->cose_alg;
    if (c->stmt == ST_PACKED_SELF || c->stmt == ST_PACKED_X5C) {
        EVP_PKEY *signer = c->stmt == ST_PACKED_SELF ? c->key : att_key;
        if (c->stmt == ST_PACKED_X5C)
            alg = ZT_WEBAUTHN_ES256;
        sign(signer, &c->ad, cd_hash, 32, &c->sig);
        maybe_flip(c);
        map_put(m, cbor_build_string("alg"), cint(alg));
        map_put(m, cbor_build_string("sig"), cbor_build_bytestring(c->sig.p, c->sig.n));
        if (c->stmt == ST_PACKED_X5C)
            map_put(m, cbor_build_string("x5c"), x5c_of(c, att_key));
    } else if (c->stmt == ST_U2F) {
        /* 0x00 | rpIdHash | clientDataHash | credentialId | 0x04 | x | y */
        bytes v = {.n = 0};
        put(&v, "\0", 1);
        put(&v, c->ad.p, 32);
        put(&v, cd_hash, 32);
        put(&v, c->ad.p + 37 + 18, c->cred_id_len);
        put(&v, "\x04", 1);
        put(&v, c->cose.p + c->cose.n - 32 - 3 - 32, 32); /* x: before "22 58 20" y */
        put(&v, c->cose.p + c->cose.n - 32, 32);
        sign(att_key, &v, NULL, 0, &c->sig);
        maybe_flip(c);
        map_put(m, cbor_build_string("sig"), cbor_build_bytestring(c->sig.p, c->sig.n));
        map_put(m, cbor_build_string("x5c"), x5c_of(c, att_key));
    }
    if (c->stmt_extra)
        map_put(m, cbor_build_string("ver"), cbor_build_string("2.0"));
    return m;
}

static void build_registration(ceremony *c)
{
    c->flags |= ZT_WEBAUTHN_AT;
    build_client_data(c);
    build_auth_data(c);
    unsigned char h[32];
    sha256(c->cd.p, c->cd.n, h);
    cbor_item_t *obj = cbor_new_definite_map(3);
    map_put(obj, cbor_build_string("fmt"), cbor_build_string(c->fmt));
    map_put(obj, cbor_build_string("attStmt"), build_stmt(c, h));
    map_put(obj, cbor_build_string("authData"), cbor_build_bytestring(c->ad.p, c->ad.n));
    serialize(&c->ao, obj);
}

static zt_webauthn_result register_it(ceremony *c, zt_webauthn_credential *cred, const char **why)
{
    build_registration(c);
    return zt_webauthn_verify_registration(&c->exp, c->cd.p, c->cd.n, c->ao.p, c->ao.n, cred, why);
}

/* Registration result, with the reason printed when it is not the expected one. */
static zt_webauthn_result reg(ceremony *c)
{
    zt_webauthn_credential cred;
    const char *why = "";
    zt_webauthn_result r = register_it(c, &cred, &why);
    if (r != ZT_WEBAUTHN_OK)
        print_message("  registration refused: %s\n", why);
    return r;
}

static void seed(const char *name, const bytes *const *parts, size_t n, unsigned char sel)
{
    const char *dir = getenv("ZT_WEBAUTHN_SEED_DIR");
    if (dir == NULL)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputc(sel, f);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n) {
            fputc((int)(parts[i]->n >> 8), f);
            fputc((int)(parts[i]->n & 0xff), f);
        }
        fwrite(parts[i]->p, 1, parts[i]->n, f);
    }
    fclose(f);
}

/* ---- good registrations ---- */

static void test_reg_none(void **state)
{
    (void)state;
    ceremony c;
    ceremony_init(&c, es256, "webauthn.create");
    c.flags |= ZT_WEBAUTHN_BE | ZT_WEBAUTHN_BS;
    zt_webauthn_credential cred;
    const char *why = NULL;
    assert_int_equal(register_it(&c, &cred, &why), ZT_WEBAUTHN_OK);
    assert_int_equal(cred.id_len, 20);
    assert_int_equal(cred.id[1], 7);
    assert_int_equal(cred.alg, ZT_WEBAUTHN_ES256);
    assert_int_equal(cred.sign_count, 5);
    assert_true(cred.uv && cred.be && cred.bs);
    assert_memory_equal(cred.aaguid, aaguid, 16);
    assert_string_equal(cred.fmt, "none");
    assert_string_equal(cred.attestation_type, "none");
    assert_int_equal(cred.cose_key_len, c.cose.n);
    assert_memory_equal(cred.cose_key, c.cose.p, c.cose.n);
    const bytes *parts[] = {&c.cd, &c.ao};
    seed("reg_none", parts, 2, 2);
    seed("client_data", (const bytes *const[]){&c.cd}, 1, 0);
    seed("auth_data_at", (const bytes *const[]){&c.ad}, 1, 1);
}

static void test_reg_packed_self(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {es256, ed25519, rsa};
    const char *names[] = {"reg_packed_es256", "reg_packed_ed25519", "reg_packed_rs256"};
    for (int i = 0; i < 3; i++) {
        ceremony c;
        ceremony_init(&c, keys[i], "webauthn.create");
        c.fmt = "packed";
        c.stmt = ST_PACKED_SELF;
        zt_webauthn_credential cred;
        const char *why = NULL;
        assert_int_equal(register_it(&c, &cred, &why), ZT_WEBAUTHN_OK);
        assert_int_equal(cred.alg, alg_of(keys[i]));
        assert_string_equal(cred.attestation_type, "self");
        seed(names[i], (const bytes *const[]){&c.cd, &c.ao}, 2, 2);
        /* the same with the signature corrupted */
        ceremony_init(&c, keys[i], "webauthn.create");
        c.fmt = "packed";
        c.stmt = ST_PACKED_SELF;
        c.flip_sig = true;
        assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    }
    /* self attestation whose alg is not the credential's */
    ceremony c;
    ceremony_init(&c, es256, "webauthn.create");
    c.fmt = "packed";
    c.stmt = ST_PACKED_SELF;
    c.stmt_alg = ZT_WEBAUTHN_RS256;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
}

static void packed_x5c(ceremony *c, EVP_PKEY *key)
{
    ceremony_init(c, key, "webauthn.create");
    c->fmt = "packed";
    c->stmt = ST_PACKED_X5C;
}

static void test_reg_packed_x5c(void **state)
{
    (void)state;
    ceremony c;
    packed_x5c(&c, ed25519);
    zt_webauthn_credential cred;
    const char *why = NULL;
    assert_int_equal(register_it(&c, &cred, &why), ZT_WEBAUTHN_OK);
    assert_string_equal(cred.attestation_type, "basic (unverified chain)");
    assert_string_equal(cred.fmt, "packed");
    seed("reg_packed_x5c", (const bytes *const[]){&c.cd, &c.ao}, 2, 2);

    packed_x5c(&c, ed25519);
    c.cert_ou = "Not Attestation";
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.cert_ou = "Authenticator Attestatiom"; /* same length, one letter off */
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.cert_ou = NULL;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.cert_ca = true;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.cert_bad_guid = true;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.flip_sig = true;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    packed_x5c(&c, ed25519);
    c.n_certs = 0;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_INPUT);
}

static void test_reg_fido_u2f(void **state)
{
    (void)state;
    ceremony c;
    ceremony_init(&c, es256, "webauthn.create");
    c.fmt = "fido-u2f";
    c.stmt = ST_U2F;
    zt_webauthn_credential cred;
    const char *why = NULL;
    assert_int_equal(register_it(&c, &cred, &why), ZT_WEBAUTHN_OK);
    assert_string_equal(cred.fmt, "fido-u2f");
    assert_string_equal(cred.attestation_type, "basic (unverified chain)");
    seed("reg_fido_u2f", (const bytes *const[]){&c.cd, &c.ao}, 2, 2);

    ceremony_init(&c, es256, "webauthn.create");
    c.fmt = "fido-u2f";
    c.stmt = ST_U2F;
    c.flip_sig = true;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_SIGNATURE);
    ceremony_init(&c, es256, "webauthn.create");
    c.fmt = "fido-u2f";
    c.stmt = ST_U2F;
    c.n_certs = 2;
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_INPUT);
    ceremony_init(&c, ed25519, "webauthn.create"); /* u2f needs an ES256 credential */
    c.fmt = "fido-u2f";
    c.stmt = ST_PACKED_SELF; /* the key type is refused before the statement is read */
    assert_int_equal(reg(&c), ZT_WEBAUTHN_BAD_INPUT);
}

/* ---- registration refusals ---- */

static void test_reg_refusals(void **state)
{
    (void)state;
    ceremony c;
#define REG(setup, want)                                                                           \
    do {                                                                                           \
        ceremony_init(&c, es256, "webauthn.create");                                               \
        setup;                                                                                     \
        assert_int_equal(reg(&c), want);                                                           \
    } while (0)
    REG((void)0, ZT_WEBAUTHN_OK); /* the baseline every case below changes once */
    REG(c.type = "webauthn.get", ZT_WEBAUTHN_MISMATCH);
    REG(c.challenge_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZeY", ZT_WEBAUTHN_MISMATCH);
    REG(c.challenge_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", ZT_WEBAUTHN_BAD_INPUT);
    REG(c.challenge_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZW+", ZT_WEBAUTHN_BAD_INPUT);
    REG(c.origin = "https://example.test.evil", ZT_WEBAUTHN_MISMATCH);
    REG(c.origin = "https://EXAMPLE.test", ZT_WEBAUTHN_MISMATCH);
    REG(c.cd_extra = ",\"crossOrigin\":true", ZT_WEBAUTHN_MISMATCH);
    REG(c.cd_extra = ",\"crossOrigin\":false", ZT_WEBAUTHN_OK);
    REG(c.cd_extra = ",\"crossOrigin\":\"true\"", ZT_WEBAUTHN_BAD_INPUT);
    REG(c.cd_extra = ",\"topOrigin\":\"https://evil.test\"", ZT_WEBAUTHN_MISMATCH);
    REG(c.cd_extra = ",\"type\":\"webauthn.create\"", ZT_WEBAUTHN_BAD_INPUT); /* duplicate */
    REG(c.rp_id = "evil.test", ZT_WEBAUTHN_MISMATCH);
    REG(c.flags = ZT_WEBAUTHN_UV, ZT_WEBAUTHN_FLAGS);
    REG((c.flags = ZT_WEBAUTHN_UP, c.exp.require_uv = true), ZT_WEBAUTHN_FLAGS);
    REG(c.flags = ZT_WEBAUTHN_UP, ZT_WEBAUTHN_OK); /* UV not required */
    REG(c.flags |= ZT_WEBAUTHN_BS, ZT_WEBAUTHN_FLAGS);
    REG((c.exp.algs = (const int[]){ZT_WEBAUTHN_EDDSA}, c.exp.n_algs = 1), ZT_WEBAUTHN_UNSUPPORTED);
    REG(c.cose_alg = -35, ZT_WEBAUTHN_UNSUPPORTED);             /* ES384 */
    REG(c.cose_alg = ZT_WEBAUTHN_EDDSA, ZT_WEBAUTHN_BAD_INPUT); /* EC2 key labelled EdDSA */
    REG(c.stmt_extra = true, ZT_WEBAUTHN_BAD_INPUT);            /* none with a non-empty attStmt */
    REG(c.fmt = "tpm", ZT_WEBAUTHN_UNSUPPORTED);
    REG(c.fmt = "apple", ZT_WEBAUTHN_UNSUPPORTED);
    REG(c.fmt = "None", ZT_WEBAUTHN_UNSUPPORTED); /* case-sensitive */
    REG(c.trailing = 1, ZT_WEBAUTHN_BAD_INPUT);
    REG(c.flags |= ZT_WEBAUTHN_ED, ZT_WEBAUTHN_BAD_INPUT);                     /* no map */
    REG((c.flags |= ZT_WEBAUTHN_ED, c.ext_hex = "a0"), ZT_WEBAUTHN_OK);        /* empty map */
    REG((c.flags |= ZT_WEBAUTHN_ED, c.ext_hex = "80"), ZT_WEBAUTHN_BAD_INPUT); /* array */
    REG(c.ext_hex = "a0", ZT_WEBAUTHN_BAD_INPUT);                              /* no ED */
    REG(c.cred_id_len = 1023, ZT_WEBAUTHN_OK);
    REG(c.cred_id_len = 1024, ZT_WEBAUTHN_BAD_INPUT);
#undef REG
}

static void test_reg_malformed(void **state)
{
    (void)state;
    ceremony c;
    ceremony_init(&c, es256, "webauthn.create");
    build_registration(&c);
    zt_webauthn_credential cred;
    const char *why = NULL;
    /* every truncation of the attestation object */
    for (size_t n = 0; n < c.ao.n; n++)
        assert_int_equal(
            zt_webauthn_verify_registration(&c.exp, c.cd.p, c.cd.n, c.ao.p, n, &cred, &why),
            ZT_WEBAUTHN_BAD_INPUT);
    /* one trailing byte after the CBOR item */
    c.ao.p[c.ao.n] = 0;
    assert_int_equal(
        zt_webauthn_verify_registration(&c.exp, c.cd.p, c.cd.n, c.ao.p, c.ao.n + 1, &cred, &why),
        ZT_WEBAUTHN_BAD_INPUT);
    /* an array header claiming 2^32 items in 9 bytes: refused before any allocation */
    const unsigned char huge[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(
        zt_webauthn_verify_registration(&c.exp, c.cd.p, c.cd.n, huge, sizeof(huge), &cred, &why),
        ZT_WEBAUTHN_BAD_INPUT);
    /* nesting deeper than any WebAuthn structure */
    unsigned char deep[64];
    memset(deep, 0x81, sizeof(deep));
    deep[63] = 0x00;
    assert_int_equal(
        zt_webauthn_verify_registration(&c.exp, c.cd.p, c.cd.n, deep, sizeof(deep), &cred, &why),
        ZT_WEBAUTHN_BAD_INPUT);
    /* malformed JSON, every truncation of the client data */
    const char *bad[] = {"", "[]", "{", "{\"type\":1}", "\"webauthn.create\"", "{\"type\":\"x\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(zt_webauthn_verify_registration(&c.exp, (const unsigned char *)bad[i],
                                                         strlen(bad[i]), c.ao.p, c.ao.n, &cred,
                                                         &why),
                         ZT_WEBAUTHN_BAD_INPUT);
    for (size_t n = 0; n < c.cd.n; n++)
        assert_int_equal(
            zt_webauthn_verify_registration(&c.exp, c.cd.p, n, c.ao.p, c.ao.n, &cred, &why),
            ZT_WEBAUTHN_BAD_INPUT);
    /* and the whole thing still verifies */
    assert_int_equal(
        zt_webauthn_verify_registration(&c.exp, c.cd.p, c.cd.n, c.ao.p, c.ao.n, &cred, &why),
        ZT_WEBAUTHN_OK);
}

static void test_parse_direct(void **state)
{
    (void)state;
    zt_webauthn_client_data cd;
    const char *why = NULL;
    const char *j = "\xEF\xBB\xBF{\"type\":\"webauthn.get\",\"challenge\":\"AAEC\","
                    "\"origin\":\"https://a.test\",\"crossOrigin\":true,\"topOrigin\":\"x\"}";
    assert_int_equal(zt_webauthn_parse_client_data((const unsigned char *)j, strlen(j), &cd, &why),
                     ZT_WEBAUTHN_OK);
    assert_string_equal(cd.type, "webauthn.get");
    assert_string_equal(cd.origin, "https://a.test");
    assert_int_equal(cd.challenge_len, 3);
    assert_memory_equal(cd.challenge, "\x00\x01\x02", 3);
    assert_true(cd.cross_origin && cd.has_top_origin);
    /* members in any order, with whitespace: parsed, never compared to a template */
    const char *loose = "{ \"origin\" : \"https://a.test\",\n \"challenge\":\"AAEC\", "
                        "\"type\": \"webauthn.get\" }";
    assert_int_equal(
        zt_webauthn_parse_client_data((const unsigned char *)loose, strlen(loose), &cd, &why),
        ZT_WEBAUTHN_OK);
    assert_string_equal(cd.origin, "https://a.test");
    assert_false(cd.cross_origin || cd.has_top_origin);
    const char *nul = "{\"type\":\"webauthn.get\",\"challenge\":\"AAEC\",\"origin\":\"a\\u0000b\"}";
    assert_int_equal(
        zt_webauthn_parse_client_data((const unsigned char *)nul, strlen(nul), &cd, &why),
        ZT_WEBAUTHN_BAD_INPUT);
    zt_webauthn_auth_data ad;
    unsigned char raw[37] = {0};
    raw[32] = ZT_WEBAUTHN_UP;
    raw[33] = 1;
    raw[36] = 2;
    assert_int_equal(zt_webauthn_parse_auth_data(raw, 37, &ad, &why), ZT_WEBAUTHN_OK);
    assert_int_equal(ad.sign_count, 0x01000002u);
    assert_int_equal(zt_webauthn_parse_auth_data(raw, 36, &ad, &why), ZT_WEBAUTHN_BAD_INPUT);
    raw[32] = ZT_WEBAUTHN_AT; /* AT without the data */
    assert_int_equal(zt_webauthn_parse_auth_data(raw, 37, &ad, &why), ZT_WEBAUTHN_BAD_INPUT);
    /* COSE keys: not a map, and an RSA modulus under 2048 bits */
    int alg = 0;
    EVP_PKEY *k = NULL;
    assert_int_equal(zt_webauthn_cose_key((const unsigned char *)"\x80", 1, &alg, &k, &why),
                     ZT_WEBAUTHN_BAD_INPUT);
    EVP_PKEY *small = EVP_RSA_gen(1024);
    bytes cose;
    cose_of(small, ZT_WEBAUTHN_RS256, &cose);
    assert_int_equal(zt_webauthn_cose_key(cose.p, cose.n, &alg, &k, &why), ZT_WEBAUTHN_UNSUPPORTED);
    EVP_PKEY_free(small);
    cose_of(rsa, ZT_WEBAUTHN_RS256, &cose);
    assert_int_equal(zt_webauthn_cose_key(cose.p, cose.n, &alg, &k, &why), ZT_WEBAUTHN_OK);
    assert_int_equal(alg, ZT_WEBAUTHN_RS256);
    EVP_PKEY_free(k);
    /* an EC point off the curve */
    cose_of(es256, ZT_WEBAUTHN_ES256, &cose);
    cose.p[cose.n - 1] ^= 0x01;
    k = NULL;
    assert_int_equal(zt_webauthn_cose_key(cose.p, cose.n, &alg, &k, &why), ZT_WEBAUTHN_BAD_INPUT);
    assert_null(k);
}

/* ---- assertions ---- */

static void build_assertion(ceremony *c)
{
    build_client_data(c);
    build_auth_data(c);
    unsigned char h[32];
    sha256(c->cd.p, c->cd.n, h);
    sign(c->key, &c->ad, h, 32, &c->sig);
    maybe_flip(c);
}

typedef struct stored_case {
    uint32_t count;
    bool be;
    const char *handle;      /* stored user handle */
    const char *sent_handle; /* NULL: not sent */
} stored_case;

static zt_webauthn_result assert_it(ceremony *c, const stored_case *s,
                                    zt_webauthn_assertion_result *out)
{
    build_assertion(c);
    zt_webauthn_stored st = {.cose_key = c->cose.p,
                             .cose_key_len = c->cose.n,
                             .sign_count = s->count,
                             .be = s->be,
                             .user_handle = (const unsigned char *)s->handle,
                             .user_handle_len = strlen(s->handle)};
    const char *why = "";
    const unsigned char *uh = (const unsigned char *)s->sent_handle;
    zt_webauthn_result r = zt_webauthn_verify_assertion(
        &c->exp, &st, c->cd.p, c->cd.n, c->ad.p, c->ad.n, c->sig.p, c->sig.n, uh,
        uh != NULL ? strlen(s->sent_handle) : 0, out, &why);
    if (r != ZT_WEBAUTHN_OK)
        print_message("  assertion refused: %s\n", why);
    return r;
}

static void test_assert_good(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {es256, ed25519, rsa};
    const char *names[] = {"assert_es256", "assert_ed25519", "assert_rs256"};
    for (int i = 0; i < 3; i++) {
        ceremony c;
        ceremony_init(&c, keys[i], "webauthn.get");
        c.flags |= ZT_WEBAUTHN_BE | ZT_WEBAUTHN_BS;
        zt_webauthn_assertion_result out;
        stored_case s = {.count = 4, .be = true, .handle = "user-1", .sent_handle = "user-1"};
        assert_int_equal(assert_it(&c, &s, &out), ZT_WEBAUTHN_OK);
        assert_int_equal(out.sign_count, 5);
        assert_true(out.uv && out.be && out.bs);
        /* fuzz seed: stored BE false and counter 0 in the target, so no BE here */
        ceremony_init(&c, keys[i], "webauthn.get");
        stored_case f = {.count = 0, .handle = "fuzz-user", .sent_handle = "fuzz-user"};
        assert_int_equal(assert_it(&c, &f, &out), ZT_WEBAUTHN_OK);
        bytes uh = {.n = 0};
        put(&uh, "fuzz-user", 9);
        seed(names[i], (const bytes *const[]){&c.cd, &c.ad, &c.sig, &c.cose, &uh}, 5, 3);
        char cose_name[32];
        snprintf(cose_name, sizeof(cose_name), "cose_%s", names[i] + 7);
        seed(cose_name, (const bytes *const[]){&c.cose}, 1, 4);
    }
}

static void test_assert_refusals(void **state)
{
    (void)state;
    ceremony c;
    zt_webauthn_assertion_result out;
    stored_case s;
#define ASSERTION(key, setup, want)                                                                \
    do {                                                                                           \
        ceremony_init(&c, key, "webauthn.get");                                                    \
        s = (stored_case){.count = 4, .handle = "user-1"};                                         \
        setup;                                                                                     \
        assert_int_equal(assert_it(&c, &s, &out), want);                                           \
    } while (0)
    EVP_PKEY *keys[] = {es256, ed25519, rsa};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *k = keys[i];
        ASSERTION(k, (void)0, ZT_WEBAUTHN_OK);
        ASSERTION(k, c.flip_sig = true, ZT_WEBAUTHN_BAD_SIGNATURE);
        ASSERTION(k, c.count = 4, ZT_WEBAUTHN_CLONED);
        ASSERTION(k, c.count = 3, ZT_WEBAUTHN_CLONED);
        ASSERTION(k, c.count = 0, ZT_WEBAUTHN_CLONED);
        ASSERTION(k, (c.count = 0, s.count = 0), ZT_WEBAUTHN_OK);
        ASSERTION(k, (c.count = 1, s.count = 0), ZT_WEBAUTHN_OK);
    }
    ASSERTION(es256, c.type = "webauthn.create", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.challenge_b64 = "AAAA", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.challenge_b64 = "AA A", ZT_WEBAUTHN_BAD_INPUT);
    ASSERTION(es256, c.origin = "http://example.test", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.cd_extra = ",\"crossOrigin\":true", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.rp_id = "example.tes", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.flags = ZT_WEBAUTHN_UV, ZT_WEBAUTHN_FLAGS);
    ASSERTION(es256, (c.flags = ZT_WEBAUTHN_UP, c.exp.require_uv = true), ZT_WEBAUTHN_FLAGS);
    ASSERTION(es256, (c.exp.require_uv = true), ZT_WEBAUTHN_OK);
    ASSERTION(es256, c.flags |= ZT_WEBAUTHN_BE, ZT_WEBAUTHN_FLAGS); /* BE appeared */
    ASSERTION(es256, s.be = true, ZT_WEBAUTHN_FLAGS);               /* BE went away */
    ASSERTION(es256, (c.flags |= ZT_WEBAUTHN_BS, s.be = false), ZT_WEBAUTHN_FLAGS); /* BS w/o BE */
    ASSERTION(es256, (c.flags |= ZT_WEBAUTHN_BE | ZT_WEBAUTHN_BS, s.be = true), ZT_WEBAUTHN_OK);
    ASSERTION(es256, s.sent_handle = "user-1", ZT_WEBAUTHN_OK);
    ASSERTION(es256, s.sent_handle = "user-2", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, s.sent_handle = "user-10", ZT_WEBAUTHN_MISMATCH);
    ASSERTION(es256, c.flags |= ZT_WEBAUTHN_AT, ZT_WEBAUTHN_BAD_INPUT);
    ASSERTION(es256, c.trailing = 1, ZT_WEBAUTHN_BAD_INPUT);
    ASSERTION(es256, c.flags |= ZT_WEBAUTHN_ED, ZT_WEBAUTHN_BAD_INPUT);
    ASSERTION(es256, (c.flags |= ZT_WEBAUTHN_ED, c.ext_hex = "a0"), ZT_WEBAUTHN_OK);
#undef ASSERTION
    /* a signature made by another key of the same kind */
    ceremony_init(&c, es256, "webauthn.get");
    build_assertion(&c);
    bytes other;
    cose_of(att_key, ZT_WEBAUTHN_ES256, &other);
    zt_webauthn_stored st = {.cose_key = other.p, .cose_key_len = other.n, .sign_count = 4};
    const char *why = NULL;
    assert_int_equal(zt_webauthn_verify_assertion(&c.exp, &st, c.cd.p, c.cd.n, c.ad.p, c.ad.n,
                                                  c.sig.p, c.sig.n, NULL, 0, &out, &why),
                     ZT_WEBAUTHN_BAD_SIGNATURE);
    /* an Ed25519 signature must be exactly 64 bytes */
    ceremony_init(&c, ed25519, "webauthn.get");
    build_assertion(&c);
    st = (zt_webauthn_stored){.cose_key = c.cose.p, .cose_key_len = c.cose.n, .sign_count = 4};
    assert_int_equal(zt_webauthn_verify_assertion(&c.exp, &st, c.cd.p, c.cd.n, c.ad.p, c.ad.n,
                                                  c.sig.p, c.sig.n - 1, NULL, 0, &out, &why),
                     ZT_WEBAUTHN_BAD_SIGNATURE);
    assert_int_equal(zt_webauthn_verify_assertion(&c.exp, &st, c.cd.p, c.cd.n, c.ad.p, c.ad.n,
                                                  c.sig.p, c.sig.n, NULL, 0, &out, &why),
                     ZT_WEBAUTHN_OK);
}

static int setup_keys(void **state)
{
    (void)state;
    es256 = EVP_EC_gen("P-256");
    att_key = EVP_EC_gen("P-256");
    ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    rsa = EVP_RSA_gen(2048);
    return es256 && att_key && ed25519 && rsa ? 0 : -1;
}

static int teardown_keys(void **state)
{
    (void)state;
    EVP_PKEY_free(es256);
    EVP_PKEY_free(att_key);
    EVP_PKEY_free(ed25519);
    EVP_PKEY_free(rsa);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reg_none),        cmocka_unit_test(test_reg_packed_self),
        cmocka_unit_test(test_reg_packed_x5c),  cmocka_unit_test(test_reg_fido_u2f),
        cmocka_unit_test(test_reg_refusals),    cmocka_unit_test(test_reg_malformed),
        cmocka_unit_test(test_parse_direct),    cmocka_unit_test(test_assert_good),
        cmocka_unit_test(test_assert_refusals),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
