/* Identity assertions: key directory (creation, permissions, crash recovery, reload, rotation,
 * revocation), JWKS shape and RFC 7638 kids, ES256 sign/verify round trip including short R/S,
 * and every way the verifier must say no (alg none, HS256 with the public key as secret, unknown
 * kid, key substitution, embedded jwk, claims, times, malformed encodings). */
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
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "identity/jwt.h"
#include "identity/keys.h"
#include "lib/secure.h"
#include "lib/time.h"

#define ISS "https://gw.example.test"
#define AUD "wiki"

/* ---- fixture: a key directory in a temp dir ---- */

typedef struct fx {
    char root[128];
    char dir[160];
    zt_keys *keys;
    zt_jwt_jwks *jwks;
    int64_t now;
} fx;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static zt_jwt_jwks *jwks_of(zt_keys *k)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_keys_jwks(k, &b), 0);
    zt_jwt_jwks *j = NULL;
    const char *why = NULL;
    assert_int_equal(zt_jwt_jwks_parse(b.data, b.len, &j, &why), ZT_JWT_OK);
    zt_buf_dispose(&b);
    return j;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/zt-jwt-XXXXXX");
    if (f == NULL || mkdtemp(f->root) == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/keys", f->root);
    char err[256];
    if (zt_keys_open(f->dir, &f->keys, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->jwks = jwks_of(f->keys);
    f->now = zt_wall_us() / 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    zt_time_set_offset_us(0);
    zt_jwt_jwks_free(f->jwks);
    zt_keys_free(f->keys);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static const char *const groups3[] = {"staff", "wiki-admins", "\xe6\x97\xa5\xe6\x9c\xac"};

static zt_assertion claims_at(int64_t now)
{
    return (zt_assertion){.iss = ISS,
                          .aud = AUD,
                          .sub = "u-42",
                          .email = "a\"lice@example.test",
                          .groups = groups3,
                          .ngroups = 3,
                          .device = "dev-1",
                          .trust = "managed",
                          .iat = now,
                          .exp = now + 300};
}

static char *sign(zt_keys *k, const zt_assertion *c)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_jwt_sign_assertion(k, c, &b), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    return b.data;
}

static zt_jwt_status check(const zt_jwt_jwks *j, const char *tok, int64_t now, const char **why)
{
    zt_jwt_expect want = {.iss = ISS, .aud = AUD, .now = now};
    return zt_jwt_verify(j, tok, strlen(tok), &want, NULL, why);
}

static void b64u(zt_buf *b, const void *p, size_t n)
{
    char out[1024];
    sodium_bin2base64(out, sizeof(out), p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_int_equal(zt_buf_append_str(b, out), 0);
}

/* An independent ES256 signer for forged tokens: OpenSSL one-shot, DER to R||S here. */
static void es256_raw(EVP_PKEY *key, const char *msg, size_t n, unsigned char sig[64])
{
    unsigned char der[80];
    size_t dl = sizeof(der);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(c, der, &dl, (const unsigned char *)msg, n), 1);
    EVP_MD_CTX_free(c);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(es);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    ECDSA_SIG_free(es);
}

/* header.payload signed with key (ES256), or with an HMAC secret, or unsigned. */
static char *forge(const char *hdr, const char *payload, EVP_PKEY *key, const char *hmac_secret)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    b64u(&b, hdr, strlen(hdr));
    zt_buf_append_char(&b, '.');
    b64u(&b, payload, strlen(payload));
    size_t in = b.len;
    zt_buf_append_char(&b, '.');
    if (key != NULL) {
        unsigned char sig[64];
        es256_raw(key, b.data, in, sig);
        b64u(&b, sig, sizeof(sig));
    } else if (hmac_secret != NULL) {
        unsigned char mac[32];
        unsigned int ml = sizeof(mac);
        HMAC(EVP_sha256(), hmac_secret, (int)strlen(hmac_secret), (unsigned char *)b.data, in, mac,
             &ml);
        b64u(&b, mac, ml);
    }
    zt_buf_cstr(&b);
    return b.data;
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

static void payload_of(const char *tok, char *out, size_t cap)
{
    const char *a = strchr(tok, '.') + 1, *b = strchr(a, '.');
    size_t n = 0;
    assert_int_equal(sodium_base642bin((unsigned char *)out, cap - 1, a, (size_t)(b - a), NULL, &n,
                                       NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    out[n] = '\0';
}

static void sig_of(const char *tok, unsigned char sig[64])
{
    const char *s = strrchr(tok, '.') + 1;
    size_t n = 0;
    assert_int_equal(sodium_base642bin(sig, 64, s, strlen(s), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(n, 64);
}

static char *kid_of(zt_keys *k)
{
    const zt_keyset *s = zt_keys_acquire(k);
    char *kid = strdup(zt_keyset_kid(s));
    zt_keyset_release(s);
    return kid;
}

/* ---- round trip ---- */

static void test_roundtrip(void **state)
{
    fx *f = *state;
    zt_assertion c = claims_at(f->now);
    c.nbf = f->now - 5;
    c.amr = "pwd,hwk,mfa";
    char *tok = sign(f->keys, &c);
    assert_true(strlen(tok) < ZT_JWT_MAX_TOKEN);
    /* amr is the RFC 8176 array in the payload. */
    {
        const char *dot = strchr(tok, '.') + 1;
        unsigned char pl[2048];
        size_t pn = 0;
        assert_int_equal(sodium_base642bin(pl, sizeof(pl) - 1, dot, strcspn(dot, "."), NULL, &pn,
                                           NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                         0);
        pl[pn] = '\0';
        assert_non_null(strstr((const char *)pl, "\"amr\":[\"pwd\",\"hwk\",\"mfa\"]"));
    }

    zt_jwt_expect want = {.iss = ISS, .aud = AUD, .now = f->now};
    zt_assertion a;
    const char *why = NULL;
    assert_int_equal(zt_jwt_verify(f->jwks, tok, strlen(tok), &want, &a, &why), ZT_JWT_OK);
    assert_string_equal(why, "ok");
    assert_string_equal(a.iss, ISS);
    assert_string_equal(a.aud, AUD);
    assert_string_equal(a.sub, "u-42");
    assert_string_equal(a.email, "a\"lice@example.test");
    assert_int_equal(a.ngroups, 3);
    assert_string_equal(a.groups[2], groups3[2]);
    assert_string_equal(a.device, "dev-1");
    assert_string_equal(a.trust, "managed");
    assert_int_equal(a.iat, f->now);
    assert_int_equal(a.exp, f->now + 300);
    assert_int_equal(a.nbf, f->now - 5);
    assert_int_equal(strlen(a.jti), ZT_JWT_JTI_LEN);
    zt_jwt_assertion_dispose(&a);
    zt_jwt_assertion_dispose(&a); /* zeroed: harmless */
    zt_jwt_assertion_dispose(NULL);

    /* Header is exactly what apps are told to expect. */
    const char *dot = strchr(tok, '.');
    unsigned char hdr[256];
    size_t hn = 0;
    assert_int_equal(sodium_base642bin(hdr, sizeof(hdr) - 1, tok, (size_t)(dot - tok), NULL, &hn,
                                       NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    hdr[hn] = '\0';
    char *kid = kid_of(f->keys), want_hdr[128];
    snprintf(want_hdr, sizeof(want_hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    assert_string_equal((char *)hdr, want_hdr);
    free(kid);

    /* Optional claims absent; caller-given jti kept; two signatures differ (fresh jti, k). */
    zt_assertion m = {.iss = ISS, .aud = AUD, .sub = "u", .iat = f->now, .exp = f->now + 60};
    m.jti = "fixed-jti";
    char *t2 = sign(f->keys, &m), *t3 = sign(f->keys, &m);
    assert_string_not_equal(t2, t3);
    char pl[512];
    payload_of(t2, pl, sizeof(pl));
    char expect[256];
    snprintf(expect, sizeof(expect),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,\"exp\":%lld,"
             "\"jti\":\"fixed-jti\"}",
             ISS, AUD, (long long)f->now, (long long)f->now + 60);
    assert_string_equal(pl, expect);
    assert_int_equal(zt_jwt_verify(f->jwks, t2, strlen(t2), &want, &a, &why), ZT_JWT_OK);
    assert_null(a.email);
    assert_null(a.device);
    assert_int_equal(a.ngroups, 0);
    zt_jwt_assertion_dispose(&a);

    /* aud as an array (other issuers do that) is accepted when it contains ours. */
    EVP_PKEY *priv = load_pem(f->dir, "active.pem");
    kid = kid_of(f->keys);
    char h[160], p[300];
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
    snprintf(p, sizeof(p),
             "{\"iss\":\"%s\",\"aud\":[\"x\",\"%s\"],\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)f->now, (long long)f->now + 60);
    char *t4 = forge(h, p, priv, NULL);
    assert_int_equal(check(f->jwks, t4, f->now, &why), ZT_JWT_OK);
    assert_true(zt_jwt_reusable(f->now + 300, f->now + 239));
    assert_false(zt_jwt_reusable(f->now + 300, f->now + 240));
    free(t4);
    free(kid);
    EVP_PKEY_free(priv);
    free(tok);
    free(t2);
    free(t3);
}

/* About 1 signature in 128 has R or S below 2^248, i.e. a DER integer shorter than 32 bytes
 * that must be left-padded. Sign until both kinds were seen (at least 1000) and verify all. */
static void test_short_r_s(void **state)
{
    fx *f = *state;
    zt_assertion c = claims_at(f->now);
    int short_r = 0, short_s = 0, n = 0;
    while (n < 1000 || short_r == 0 || short_s == 0) {
        assert_true(n < 50000);
        char *tok = sign(f->keys, &c);
        unsigned char sig[64];
        sig_of(tok, sig);
        short_r += sig[0] == 0;
        short_s += sig[32] == 0;
        const char *why = NULL;
        zt_jwt_status st = check(f->jwks, tok, f->now, &why);
        if (st != ZT_JWT_OK)
            fail_msg("signature %d (%02x.. %02x..) rejected: %s", n, sig[0], sig[32], why);
        free(tok);
        n++;
    }
    print_message("%d signatures, %d short R, %d short S\n", n, short_r, short_s);
}

/* ---- keys ---- */

static void test_jwks_fields(void **state)
{
    fx *f = *state;
    const zt_keyset *s = zt_keys_acquire(f->keys);
    size_t len = 0;
    const char *doc = zt_keyset_jwks(s, &len);
    assert_int_equal(strlen(doc), len);
    json_error_t jerr;
    json_t *root = json_loads(doc, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(root);
    json_t *keys = json_object_get(root, "keys");
    assert_int_equal(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    assert_int_equal(json_object_size(k), 7);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    assert_null(json_object_get(k, "d"));
    const char *x = json_string_value(json_object_get(k, "x"));
    const char *y = json_string_value(json_object_get(k, "y"));
    const char *kid = json_string_value(json_object_get(k, "kid"));
    assert_int_equal(strlen(x), 43);
    assert_int_equal(strlen(y), 43);
    assert_string_equal(kid, zt_keyset_kid(s));
    assert_int_equal(strlen(kid), ZT_KEYS_KID_LEN);

    /* RFC 7638: SHA-256 of the required members, sorted, no whitespace, base64url. */
    json_t *tp = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
    char *canon = json_dumps(tp, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char h[32];
    crypto_hash_sha256(h, (unsigned char *)canon, strlen(canon));
    char want[64];
    sodium_bin2base64(want, sizeof(want), h, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_string_equal(kid, want);
    free(canon);
    json_decref(tp);

    /* x and y are the public point of the private key on disk. */
    EVP_PKEY *priv = load_pem(f->dir, "active.pem");
    BIGNUM *bx = NULL;
    assert_true(EVP_PKEY_get_bn_param(priv, "qx", &bx));
    unsigned char xb[32], xj[32];
    BN_bn2binpad(bx, xb, 32);
    size_t got = 0;
    assert_int_equal(sodium_base642bin(xj, 32, x, 43, NULL, &got, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_memory_equal(xb, xj, 32);
    BN_free(bx);
    EVP_PKEY_free(priv);
    json_decref(root);
    zt_keyset_release(s);
}

static void test_kid_stable_across_reload(void **state)
{
    fx *f = *state;
    char *kid = kid_of(f->keys);
    const zt_keyset *s0 = zt_keys_acquire(f->keys);
    uint64_t gen = zt_keyset_generation(s0);
    char err[256];
    assert_int_equal(zt_keys_reload(f->keys, err, sizeof(err)), 0);
    char *kid2 = kid_of(f->keys);
    assert_string_equal(kid, kid2);
    const zt_keyset *s1 = zt_keys_acquire(f->keys);
    assert_true(zt_keyset_generation(s1) > gen);
    assert_string_equal(zt_keyset_kid(s0), kid); /* the old snapshot stays valid while held */
    zt_keyset_release(s0);
    zt_keyset_release(s1);

    zt_keys *other = NULL;
    assert_int_equal(zt_keys_open(f->dir, &other, err, sizeof(err)), 0);
    char *kid3 = kid_of(other);
    assert_string_equal(kid, kid3);
    zt_buf a, b;
    zt_buf_init(&a, 0);
    zt_buf_init(&b, 0);
    assert_int_equal(zt_keys_jwks(f->keys, &a), 0);
    assert_int_equal(zt_keys_jwks(other, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    zt_buf_dispose(&a);
    zt_buf_dispose(&b);
    zt_keys_free(other);
    free(kid);
    free(kid2);
    free(kid3);
}

static mode_t mode_of(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_key_files(void **state)
{
    fx *f = *state;
    char err[256], path[256], dir2[200];
    zt_keys *k = NULL;
    assert_int_equal(mode_of(f->dir, "."), 0700);
    assert_int_equal(mode_of(f->dir, "active.pem"), 0600);

    snprintf(path, sizeof(path), "%s/active.pem", f->dir);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(zt_keys_open(f->dir, &k, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "0600"));
    assert_int_equal(chmod(path, 0600), 0);

    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(zt_keys_open(f->dir, &k, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "0700"));
    assert_int_equal(chmod(f->dir, 0700), 0);

    /* Symlinked key directory or key file. */
    snprintf(dir2, sizeof(dir2), "%s/link", f->root);
    assert_int_equal(symlink(f->dir, dir2), 0);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), -EPERM);
    snprintf(dir2, sizeof(dir2), "%s/k2", f->root);
    assert_int_equal(mkdir(dir2, 0700), 0);
    snprintf(path, sizeof(path), "%s/active.pem", dir2);
    char target[256];
    snprintf(target, sizeof(target), "%s/active.pem", f->dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), -EPERM);
    assert_int_equal(unlink(path), 0);

    /* Not a key, and a key of the wrong curve. */
    FILE *fp = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", fp);
    fclose(fp);
    chmod(path, 0600);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), -EBADMSG);
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    fp = fopen(path, "w");
    PEM_write_PrivateKey(fp, p384, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    EVP_PKEY_free(p384);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), -EBADMSG);
    assert_non_null(strstr(err, "P-256"));

    /* A rotation that died between its renames: active.pem gone, next.pem complete. */
    assert_int_equal(unlink(path), 0);
    char next[256];
    snprintf(next, sizeof(next), "%s/next.pem", dir2);
    snprintf(path, sizeof(path), "%s/active.pem", f->dir);
    assert_int_equal(link(path, next), 0);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), 0);
    char *a = kid_of(f->keys), *b = kid_of(k);
    assert_string_equal(a, b);
    assert_int_equal(access(next, F_OK), -1);
    zt_keys_free(k);
    free(a);
    free(b);

    /* Missing parent directory: a clear error, not a crash. */
    snprintf(dir2, sizeof(dir2), "%s/no/such", f->root);
    assert_int_equal(zt_keys_open(dir2, &k, err, sizeof(err)), -ENOENT);
    assert_null(k);
}

static void test_rotation(void **state)
{
    fx *f = *state;
    char err[256];
    const char *why = NULL;
    zt_assertion c = claims_at(f->now);
    char *ka = kid_of(f->keys), *ta = sign(f->keys, &c);

    /* First rotation: nothing to drop, allowed at once. */
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), 0);
    char *kb = kid_of(f->keys), *tb = sign(f->keys, &c);
    assert_string_not_equal(ka, kb);
    assert_int_equal(mode_of(f->dir, "previous.pem"), 0600);
    zt_jwt_jwks *j = jwks_of(f->keys);
    assert_int_equal(check(j, ta, f->now, &why), ZT_JWT_OK); /* previous still verifies */
    assert_int_equal(check(j, tb, f->now, &why), ZT_JWT_OK);
    zt_jwt_jwks_free(j);
    const zt_keyset *s = zt_keys_acquire(f->keys);
    json_t *doc = json_loads(zt_keyset_jwks(s, NULL), 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "keys")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "keys"), 0), "kid")),
        kb); /* active first */
    json_decref(doc);
    zt_keyset_release(s);

    /* Second rotation within 10 minutes would drop A while tokens it signed may be live. */
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), -EBUSY);
    assert_non_null(strstr(err, "600"));
    char *still = kid_of(f->keys);
    assert_string_equal(still, kb);
    free(still);

    zt_time_set_offset_us((int64_t)(ZT_KEYS_MIN_ROTATE_INTERVAL_S + 1) * 1000000);
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), 0);
    char *kc = kid_of(f->keys);
    j = jwks_of(f->keys);
    assert_int_equal(check(j, ta, f->now, &why), ZT_JWT_UNKNOWN_KID); /* oldest dropped */
    assert_int_equal(check(j, tb, f->now, &why), ZT_JWT_OK);
    zt_jwt_jwks_free(j);

    /* Another process's view agrees after reload. */
    zt_keys *other = NULL;
    assert_int_equal(zt_keys_open(f->dir, &other, err, sizeof(err)), 0);
    char *kc2 = kid_of(other);
    assert_string_equal(kc, kc2);
    zt_keys_free(other);

    /* Compromise: revoke drops both the active and the previous key at once. */
    zt_assertion c2 = claims_at(f->now + ZT_KEYS_MIN_ROTATE_INTERVAL_S + 1);
    char *tc = sign(f->keys, &c2);
    assert_int_equal(zt_keys_rotate(f->keys, ZT_KEYS_ROTATE_REVOKE, err, sizeof(err)), 0);
    j = jwks_of(f->keys);
    assert_int_equal(check(j, tb, f->now, &why), ZT_JWT_UNKNOWN_KID);
    assert_int_equal(check(j, tc, c2.iat, &why), ZT_JWT_UNKNOWN_KID);
    zt_jwt_jwks_free(j);
    assert_int_equal(access(f->dir, F_OK), 0);
    char prev[256];
    snprintf(prev, sizeof(prev), "%s/previous.pem", f->dir);
    assert_int_equal(access(prev, F_OK), -1);

    /* Force rotates inside the interval. */
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), 0); /* no previous: ok */
    assert_int_equal(zt_keys_rotate(f->keys, 0, err, sizeof(err)), -EBUSY);
    assert_int_equal(zt_keys_rotate(f->keys, ZT_KEYS_ROTATE_FORCE, err, sizeof(err)), 0);

    free(ka);
    free(kb);
    free(kc);
    free(kc2);
    free(ta);
    free(tb);
    free(tc);
}

/* Signers on several threads while the admin thread rotates: snapshots must never be used
 * after free (ASan) and every token must be well formed. */
typedef struct worker {
    zt_keys *keys;
    int64_t now;
    int bad;
} worker;

static void *sign_loop(void *arg)
{
    worker *w = arg;
    zt_assertion c = claims_at(w->now);
    zt_buf b;
    zt_buf_init(&b, 0);
    for (int i = 0; i < 300; i++) {
        zt_buf_reset(&b);
        const zt_keyset *s = zt_keys_acquire(w->keys);
        size_t n = 0;
        w->bad += zt_keyset_jwks(s, &n)[n - 1] != '}';
        zt_keyset_release(s);
        w->bad += zt_jwt_sign_assertion(w->keys, &c, &b) != 0;
    }
    zt_buf_dispose(&b);
    return NULL;
}

static void test_threads(void **state)
{
    fx *f = *state;
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.keys = f->keys, .now = f->now};
        assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &w[i]), 0);
    }
    char err[256];
    for (int i = 0; i < 10; i++)
        assert_int_equal(zt_keys_rotate(f->keys, ZT_KEYS_ROTATE_FORCE, err, sizeof(err)), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
}

/* ---- rejections ---- */

typedef struct bad_case {
    const char *name;
    char *token;
    zt_jwt_status want;
    int64_t now;
    const char *why; /* substring */
} bad_case;

static void test_rejections(void **state)
{
    fx *f = *state;
    int64_t now = f->now;
    EVP_PKEY *ours = load_pem(f->dir, "active.pem");
    EVP_PKEY *attacker = EVP_EC_gen("P-256");
    char *kid = kid_of(f->keys);
    char hdr[256], hdr_nokid[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", pl[512];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    snprintf(pl, sizeof(pl),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)now, (long long)now + 300);
    zt_assertion c = claims_at(now);
    char *good = sign(f->keys, &c);
    const char *why = NULL;
    assert_int_equal(check(f->jwks, good, now, &why), ZT_JWT_OK);
    char *good2 = forge(hdr, pl, ours, NULL);
    assert_int_equal(check(f->jwks, good2, now, &why), ZT_JWT_OK); /* the forger itself works */
    free(good2);

    /* HS256 keyed with every public form of our key an attacker could pick. */
    const zt_keyset *s = zt_keys_acquire(f->keys);
    char *jwks_doc = strdup(zt_keyset_jwks(s, NULL));
    zt_keyset_release(s);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, ours);
    char *pub_pem = NULL;
    long pn = BIO_get_mem_data(bio, &pub_pem);
    char *pem = strndup(pub_pem, (size_t)pn);
    BIO_free(bio);
    char hs[256], none[64], rs[256], crit[300], typ[300], emb[600], dup[300], jku[400];
    snprintf(hs, sizeof(hs), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    snprintf(none, sizeof(none), "{\"alg\":\"none\",\"typ\":\"JWT\"}");
    snprintf(rs, sizeof(rs), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    snprintf(crit, sizeof(crit),
             "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"b64\"],\"b64\":false}", kid);
    snprintf(typ, sizeof(typ), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid);
    snprintf(dup, sizeof(dup), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"alg\":\"none\"}", kid);
    /* Embedded attacker key (CVE-2018-0114 style) and jku: must be ignored. */
    BIGNUM *ax = NULL, *ay = NULL;
    EVP_PKEY_get_bn_param(attacker, "qx", &ax);
    EVP_PKEY_get_bn_param(attacker, "qy", &ay);
    unsigned char xb[32], yb[32];
    char xs[64], ys[64];
    BN_bn2binpad(ax, xb, 32);
    BN_bn2binpad(ay, yb, 32);
    BN_free(ax);
    BN_free(ay);
    sodium_bin2base64(xs, sizeof(xs), xb, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(ys, sizeof(ys), yb, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(emb, sizeof(emb),
             "{\"alg\":\"ES256\",\"kid\":\"%s\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\","
             "\"x\":\"%s\",\"y\":\"%s\"}}",
             kid, xs, ys);
    snprintf(jku, sizeof(jku), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"jku\":\"https://evil/\"}", kid);

    char pl_exp[512], pl_nbf[512], pl_life[512], pl_type[512], pl_groups[512], pl_iss[512],
        pl_noexp[512];
    snprintf(pl_exp, sizeof(pl_exp),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)now - 400, (long long)now - 100);
    snprintf(pl_nbf, sizeof(pl_nbf),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)now, (long long)now + 60, (long long)now + 300);
    snprintf(pl_life, sizeof(pl_life),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)now, (long long)now + 3600);
    snprintf(pl_type, sizeof(pl_type),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":\"%lld\",\"jti\":\"j\"}",
             ISS, AUD, (long long)now, (long long)now + 300);
    snprintf(pl_groups, sizeof(pl_groups),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[\"a\",1],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             ISS, AUD, (long long)now, (long long)now + 300);
    snprintf(pl_iss, sizeof(pl_iss),
             "{\"iss\":\"https://other\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"exp\":%lld,\"jti\":\"j\"}",
             AUD, (long long)now, (long long)now + 300);
    snprintf(pl_noexp, sizeof(pl_noexp),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"groups\":[],\"iat\":%lld,"
             "\"jti\":\"j\"}",
             ISS, AUD, (long long)now);
    zt_assertion other_aud = claims_at(now);
    other_aud.aud = "payroll";

    /* Tampering with a good token. */
    size_t gl = strlen(good);
    char *flipped = strdup(good);
    char *pdot = strchr(flipped, '.') + 1;
    pdot[3] = pdot[3] == 'A' ? 'B' : 'A';
    char *trail_nl = malloc(gl + 2), *trail_dot = malloc(gl + 3), *trail_x = malloc(gl + 2);
    snprintf(trail_nl, gl + 2, "%s\n", good);
    snprintf(trail_dot, gl + 3, "%s.e", good);
    snprintf(trail_x, gl + 2, "%sA", good);
    char *two_seg = strndup(good, (size_t)(strrchr(good, '.') - good));
    char *padded = malloc(gl + 3);
    snprintf(padded, gl + 3, "%s==", good);
    char *zero_sig = strdup(good);
    memset(strrchr(zero_sig, '.') + 1, 'A', 86);
    /* Non-canonical base64url: our 79-byte header leaves 4 spare bits in its last char. */
    char *bad_bits = strdup(good);
    char *sl = strchr(bad_bits, '.') - 1;
    *sl = (char)(*sl + 1);

    bad_case cases[] = {
        {"alg none", forge(none, pl, NULL, NULL), ZT_JWT_BAD_ALG, now, "none"},
        {"alg none, no typ", forge("{\"alg\":\"none\"}", pl, NULL, NULL), ZT_JWT_BAD_ALG, now,
         "none"},
        {"HS256 keyed with public PEM", forge(hs, pl, NULL, pem), ZT_JWT_BAD_ALG, now, "HS"},
        {"HS256 keyed with JWKS", forge(hs, pl, NULL, jwks_doc), ZT_JWT_BAD_ALG, now, "HS"},
        {"HS256 keyed with x", forge(hs, pl, NULL, xs), ZT_JWT_BAD_ALG, now, "HS"},
        {"RS256", forge(rs, pl, ours, NULL), ZT_JWT_BAD_ALG, now, "only ES256"},
        {"alg missing", forge("{\"kid\":\"k\"}", pl, ours, NULL), ZT_JWT_BAD_ALG, now, "missing"},
        {"crit", forge(crit, pl, ours, NULL), ZT_JWT_BAD_HEADER, now, "crit"},
        {"typ", forge(typ, pl, ours, NULL), ZT_JWT_BAD_HEADER, now, "typ"},
        {"duplicate header member", forge(dup, pl, ours, NULL), ZT_JWT_MALFORMED, now, "header"},
        {"no kid", forge(hdr_nokid, pl, ours, NULL), ZT_JWT_UNKNOWN_KID, now, "missing"},
        {"unknown kid", forge("{\"alg\":\"ES256\",\"kid\":\"attacker\"}", pl, attacker, NULL),
         ZT_JWT_UNKNOWN_KID, now, "not in JWKS"},
        {"key substitution", forge(hdr, pl, attacker, NULL), ZT_JWT_BAD_SIGNATURE, now,
         "does not verify"},
        {"embedded jwk", forge(emb, pl, attacker, NULL), ZT_JWT_BAD_SIGNATURE, now,
         "does not verify"},
        {"jku", forge(jku, pl, attacker, NULL), ZT_JWT_BAD_SIGNATURE, now, "does not verify"},
        {"payload tampered", flipped, ZT_JWT_BAD_SIGNATURE, now, "does not verify"},
        {"zero signature", zero_sig, ZT_JWT_BAD_SIGNATURE, now, "does not verify"},
        {"non-canonical base64", bad_bits, ZT_JWT_MALFORMED, now, "header"},
        {"wrong aud", sign(f->keys, &other_aud), ZT_JWT_WRONG_AUD, now, "aud"},
        {"wrong iss", forge(hdr, pl_iss, ours, NULL), ZT_JWT_WRONG_ISS, now, "iss"},
        {"expired", forge(hdr, pl_exp, ours, NULL), ZT_JWT_EXPIRED, now, "expired"},
        {"expired at exp exactly", strdup(good), ZT_JWT_EXPIRED, now + 300, "expired"},
        {"not yet valid", forge(hdr, pl_nbf, ours, NULL), ZT_JWT_NOT_YET_VALID, now, "nbf"},
        {"lifetime 1 h", forge(hdr, pl_life, ours, NULL), ZT_JWT_BAD_CLAIMS, now, "lifetime"},
        {"exp is a string", forge(hdr, pl_type, ours, NULL), ZT_JWT_BAD_CLAIMS, now, "exp"},
        {"no exp", forge(hdr, pl_noexp, ours, NULL), ZT_JWT_BAD_CLAIMS, now, "exp"},
        {"groups member", forge(hdr, pl_groups, ours, NULL), ZT_JWT_BAD_CLAIMS, now, "groups"},
        {"hostile times",
         forge(hdr,
               "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u\",\"groups\":[],"
               "\"iat\":-9223372036854775807,\"exp\":9223372036854775807,\"jti\":\"j\"}",
               ours, NULL),
         ZT_JWT_BAD_CLAIMS, now, "lifetime"},
        {"payload not JSON", forge(hdr, "{\"iss\":", ours, NULL), ZT_JWT_MALFORMED, now, "payload"},
        {"payload trailing garbage", forge(hdr, "{}x", ours, NULL), ZT_JWT_MALFORMED, now,
         "payload"},
        {"payload array", forge(hdr, "[1]", ours, NULL), ZT_JWT_MALFORMED, now, "payload"},
        {"header not JSON", forge("{alg:ES256}", pl, ours, NULL), ZT_JWT_MALFORMED, now, "header"},
        {"two segments", two_seg, ZT_JWT_MALFORMED, now, "3 segments"},
        {"four segments", trail_dot, ZT_JWT_MALFORMED, now, "more than 3"},
        {"trailing newline", trail_nl, ZT_JWT_MALFORMED, now, "base64url"},
        {"trailing base64 char", trail_x, ZT_JWT_BAD_SIGNATURE, now, "64 bytes"},
        {"padding", padded, ZT_JWT_MALFORMED, now, "base64url"},
        {"empty", strdup(""), ZT_JWT_MALFORMED, now, "empty"},
        {"dots only", strdup(".."), ZT_JWT_MALFORMED, now, "header"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bad_case *bc = &cases[i];
        zt_assertion out;
        zt_jwt_expect want = {.iss = ISS, .aud = AUD, .now = bc->now};
        zt_jwt_status st = zt_jwt_verify(f->jwks, bc->token, strlen(bc->token), &want, &out, &why);
        if (st != bc->want || strstr(why, bc->why) == NULL)
            fail_msg("%s: got %s (%s), want %s (%s)", bc->name, zt_jwt_status_name(st), why,
                     zt_jwt_status_name(bc->want), bc->why);
        assert_null(out.owned_);
        free(bc->token);
    }

    /* Over-long token. */
    size_t big = ZT_JWT_MAX_TOKEN + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = '\0';
    assert_int_equal(check(f->jwks, huge, now, &why), ZT_JWT_MALFORMED);
    free(huge);

    /* Expected audience is mandatory. */
    zt_jwt_expect noaud = {.iss = ISS, .now = now};
    assert_int_equal(zt_jwt_verify(f->jwks, good, gl, &noaud, NULL, &why), ZT_JWT_MALFORMED);
    /* iss is optional for the caller; leeway covers small skew. */
    zt_jwt_expect loose = {.aud = AUD, .now = now + 305, .leeway_s = 10};
    assert_int_equal(zt_jwt_verify(f->jwks, good, gl, &loose, NULL, NULL), ZT_JWT_OK);

    free(good);
    free(pem);
    free(jwks_doc);
    free(kid);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(attacker);
}

/* ECDSA malleability: (r, n-s) also verifies. JOSE does not demand low-S and we do not either;
 * this test pins the documented behaviour. */
static void test_high_s_accepted(void **state)
{
    fx *f = *state;
    zt_assertion c = claims_at(f->now);
    char *tok = sign(f->keys, &c);
    unsigned char sig[64];
    sig_of(tok, sig);
    BIGNUM *n = NULL, *s = BN_bin2bn(sig + 32, 32, NULL);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    n = BN_dup(EC_GROUP_get0_order(g));
    assert_int_equal(BN_sub(s, n, s), 1);
    BN_bn2binpad(s, sig + 32, 32);
    char *last = strrchr(tok, '.') + 1;
    char enc[100];
    sodium_bin2base64(enc, sizeof(enc), sig, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    memcpy(last, enc, 86);
    const char *why = NULL;
    assert_int_equal(check(f->jwks, tok, f->now, &why), ZT_JWT_OK);
    BN_free(n);
    BN_free(s);
    EC_GROUP_free(g);
    free(tok);
}

static void test_sign_misuse(void **state)
{
    fx *f = *state;
    zt_buf b;
    zt_buf_init(&b, 0);
    zt_assertion c = claims_at(f->now);
    c.exp = c.iat + ZT_JWT_MAX_TTL_S + 1;
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -EINVAL);
    c = claims_at(f->now);
    c.exp = c.iat;
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -EINVAL);
    c = claims_at(f->now);
    c.sub = "";
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -EINVAL);
    c = claims_at(f->now);
    c.aud = NULL;
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -EINVAL);
    c = claims_at(f->now);
    c.ngroups = ZT_JWT_MAX_GROUPS + 1;
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -EINVAL);
    assert_int_equal(b.len, 0);

    /* Many long groups: refused as too big, and out is left as it was. */
    char name[100];
    memset(name, 'g', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    const char *many[ZT_JWT_MAX_GROUPS];
    for (size_t i = 0; i < ZT_JWT_MAX_GROUPS; i++)
        many[i] = name;
    c = claims_at(f->now);
    c.groups = many;
    c.ngroups = ZT_JWT_MAX_GROUPS;
    assert_int_equal(zt_buf_append_str(&b, "X-ZT-Assertion: "), 0);
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), -E2BIG);
    assert_int_equal(b.len, 16);
    c.ngroups = 40; /* ~4 KiB of JSON still fits */
    assert_int_equal(zt_jwt_sign_assertion(f->keys, &c, &b), 0);
    assert_memory_equal(b.data, "X-ZT-Assertion: ey", 18);
    zt_buf_dispose(&b);

    /* Control characters and invalid UTF-8 from a directory still make valid JSON. */
    c = claims_at(f->now);
    c.sub = "u\r\nX-Evil: 1\x01\xff";
    char *tok = sign(f->keys, &c);
    zt_assertion a;
    zt_jwt_expect want = {.iss = ISS, .aud = AUD, .now = f->now};
    assert_int_equal(zt_jwt_verify(f->jwks, tok, strlen(tok), &want, &a, NULL), ZT_JWT_OK);
    assert_string_equal(a.sub, "u\r\nX-Evil: 1\x01\xef\xbf\xbd");
    zt_jwt_assertion_dispose(&a);
    free(tok);
}

static void test_jwks_parse_errors(void **state)
{
    const char *why = NULL;
    zt_jwt_jwks *j = NULL;
    fx *f = *state;
    const zt_keyset *s = zt_keys_acquire(f->keys);
    json_t *doc = json_loads(zt_keyset_jwks(s, NULL), 0, NULL);
    zt_keyset_release(s);
    json_t *k = json_array_get(json_object_get(doc, "keys"), 0);
    char x[64], kid[64];
    snprintf(x, sizeof(x), "%s", json_string_value(json_object_get(k, "x")));
    snprintf(kid, sizeof(kid), "%s", json_string_value(json_object_get(k, "kid")));
    json_decref(doc);
    char buf[1024];
    struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"", "keys"},
        {"[]", "keys"},
        {"{\"keys\":{}}", "keys"},
        {"{\"keys\":[]}", "no ES256"},
        {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":\"r\"}]}", "no ES256"},
        {"{\"keys\":[1]}", "not an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(zt_jwt_jwks_parse(cases[i].json, strlen(cases[i].json), &j, &why),
                         ZT_JWT_BAD_JWKS);
        assert_non_null(strstr(why, cases[i].why));
        assert_null(j);
    }
    /* d present; duplicate kid; y not on the curve (x reused as y); short x. */
    snprintf(buf, sizeof(buf),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
             "\"kid\":\"a\",\"d\":\"AA\"}]}",
             x, x);
    assert_int_equal(zt_jwt_jwks_parse(buf, strlen(buf), &j, &why), ZT_JWT_BAD_JWKS);
    assert_non_null(strstr(why, "private"));
    snprintf(buf, sizeof(buf),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
             "\"kid\":\"a\"}]}",
             x, x);
    assert_int_equal(zt_jwt_jwks_parse(buf, strlen(buf), &j, &why), ZT_JWT_BAD_JWKS);
    assert_non_null(strstr(why, "point"));
    snprintf(buf, sizeof(buf),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"%s\","
             "\"kid\":\"a\"}]}",
             x);
    assert_int_equal(zt_jwt_jwks_parse(buf, strlen(buf), &j, &why), ZT_JWT_BAD_JWKS);
    assert_non_null(strstr(why, "x or y"));

    s = zt_keys_acquire(f->keys);
    const char *ours = zt_keyset_jwks(s, NULL);
    const char *body = strchr(ours, '[') + 1;
    size_t blen = strlen(body) - 2; /* without "]}" */
    snprintf(buf, sizeof(buf), "{\"keys\":[%.*s,%.*s]}", (int)blen, body, (int)blen, body);
    zt_keyset_release(s);
    assert_int_equal(zt_jwt_jwks_parse(buf, strlen(buf), &j, &why), ZT_JWT_BAD_JWKS);
    assert_non_null(strstr(why, "duplicate"));

    /* Other key types and other uses are skipped, ours still found. */
    snprintf(buf, sizeof(buf),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\"},{\"kty\":\"EC\",\"crv\":\"P-256\","
             "\"use\":\"enc\",\"kid\":\"e\"},%.*s]}",
             (int)blen, body);
    assert_int_equal(zt_jwt_jwks_parse(buf, strlen(buf), &j, &why), ZT_JWT_OK);
    zt_jwt_jwks_free(j);
    zt_jwt_jwks_free(NULL);
    assert_string_equal(zt_jwt_status_name(ZT_JWT_UNKNOWN_KID), "unknown_kid");
    assert_string_equal(zt_jwt_status_name((zt_jwt_status)99), "unknown");
    (void)kid;
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_r_s, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kid_stable_across_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_s_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_parse_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
