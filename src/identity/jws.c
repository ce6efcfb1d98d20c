#include "identity/jws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "identity/jose_int.h"
#include "lib/b64.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define MAX_TYP 64
/* A client's header is well under 200 base64url chars; anything much longer is not one. */
/* A JSON NumericDate past this (year 2255) is not a date we take; keeps arithmetic in range. */
#define MAX_NUMERIC_DATE 9000000000LL

static zt_jws_status reject(const char **why, zt_jws_status st, const char *msg)
{
    *why = msg;
    return st;
}

/* --- signing ------------------------------------------------------------------------------ */

static int append_b64(zt_buf *out, const void *p, size_t n)
{
    size_t enc = sodium_base64_ENCODED_LEN(n, B64URL); /* includes the NUL */
    int rc = zt_buf_reserve(out, enc);
    if (rc < 0)
        return rc;
    sodium_bin2base64(out->data + out->len, enc, p, n, B64URL);
    out->len += enc - 1;
    return 0;
}

/* A media type token: nothing that could break out of the header's JSON string. */
static bool typ_ok(const char *typ)
{
    size_t n = typ ? strlen(typ) : 0;
    if (n == 0 || n > MAX_TYP)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = typ[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

static int sign_with(const zt_keyset *s, zt_jws_alg alg, const char *typ, const char *payload,
                     size_t n, zt_buf *out)
{
    const char *kid = zt_keyset_kid_for(s, alg);
    if (kid == NULL || alg == ZT_JWS_PS256)
        return -ENOENT;
    char hdr[192];
    int hn = snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}",
                      zt_jws_alg_name(alg), typ, kid);
    if (hn < 0 || (size_t)hn >= sizeof(hdr))
        return -EINVAL;
    size_t start = out->len;
    unsigned char sig[ZT_KEYS_MAX_SIG];
    size_t siglen = sizeof(sig);
    int rc = append_b64(out, hdr, (size_t)hn);
    if (rc == 0)
        rc = zt_buf_append_char(out, '.');
    if (rc == 0)
        rc = append_b64(out, payload, n);
    /* The signing input is read only after the last append: appends may move out->data. */
    if (rc == 0)
        rc = zt_keyset_sign(s, alg, out->data + start, out->len - start, sig, &siglen);
    if (rc == 0)
        rc = zt_buf_append_char(out, '.');
    if (rc == 0)
        rc = append_b64(out, sig, siglen);
    if (rc == 0 && out->len - start > ZT_JWS_MAX_SIGNED)
        rc = -E2BIG;
    if (rc < 0)
        out->len = start;
    return rc;
}

int zt_jws_sign_json(const zt_keys *keys, zt_jws_alg alg, const char *typ, const char *payload,
                     size_t n, zt_buf *out, char kid_out[ZT_KEYS_KID_LEN + 1])
{
    if (keys == NULL || payload == NULL || out == NULL || !typ_ok(typ))
        return -EINVAL;
    /* Base64url grows by 4/3: a payload past this cannot make a token under the cap. */
    if (n > ZT_JWS_MAX_SIGNED / 4 * 3)
        return -E2BIG;
    const zt_keyset *s = zt_keys_acquire(keys);
    int rc = sign_with(s, alg, typ, payload, n, out);
    if (rc == 0 && kid_out != NULL)
        memcpy(kid_out, zt_keyset_kid_for(s, alg), ZT_KEYS_KID_LEN + 1);
    zt_keyset_release(s);
    return rc;
}

int zt_jws_at_hash(zt_jws_alg alg, const char *access_token, size_t n,
                   char out[ZT_JWS_AT_HASH_LEN + 1])
{
    (void)alg; /* ES256, RS256 and PS256 all hash with SHA-256 */
    unsigned char h[32];
    if (!EVP_Digest(access_token, n, h, NULL, EVP_sha256(), NULL))
        return -EIO;
    sodium_bin2base64(out, ZT_JWS_AT_HASH_LEN + 1, h, 16, B64URL);
    return 0;
}

/* --- client JWKS -------------------------------------------------------------------------- */

typedef enum key_type { KEY_RSA, KEY_EC } key_type;

typedef struct jwk {
    key_type type;
    bool has_alg; /* the entry pins one alg */
    zt_jws_alg alg;
    bool has_kid;
    char kid[ZT_JWS_MAX_KID + 1];
    EVP_PKEY *pkey;
} jwk;

struct zt_jws_jwks {
    EVP_MD *sha256;
    size_t n;
    jwk key[ZT_JWS_MAX_JWKS_KEYS];
};

void zt_jws_jwks_free(zt_jws_jwks *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++)
        EVP_PKEY_free(j->key[i].pkey);
    EVP_MD_free(j->sha256);
    free(j);
}

size_t zt_jws_jwks_count(const zt_jws_jwks *j)
{
    return j ? j->n : 0;
}

static const char *member_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static bool b64_exact(const char *s, unsigned char *out, size_t want)
{
    size_t got = 0, n = s ? strlen(s) : 0;
    return n > 0 && zt_b64url_decode(s, n, out, want, &got) && got == want;
}

/* An RSA public key from base64url n and e; NULL when malformed, out of the size range or
 * failing OpenSSL's public key check. */
static EVP_PKEY *rsa_public(const char *ns, const char *es)
{
    unsigned char n[ZT_JWS_RSA_MAX_BITS / 8], e[8];
    size_t nlen = 0, elen = 0;
    if (ns == NULL || es == NULL || !zt_b64url_decode(ns, strlen(ns), n, sizeof(n), &nlen) ||
        !zt_b64url_decode(es, strlen(es), e, sizeof(e), &elen) || nlen == 0 || elen == 0)
        return NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    int bits = bn ? BN_num_bits(bn) : 0;
    if (bn != NULL && be != NULL && bld != NULL && ctx != NULL && bits >= ZT_JWS_RSA_MIN_BITS &&
        bits <= ZT_JWS_RSA_MAX_BITS && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    EVP_PKEY_CTX_free(ctx);
    /* OpenSSL's check: odd modulus, odd exponent above 1 and so on. */
    EVP_PKEY_CTX *chk = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (pkey != NULL && (chk == NULL || EVP_PKEY_public_check(chk) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(chk);
    return pkey;
}

static bool has_private_member(json_t *e)
{
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
        if (json_object_get(e, priv[i]) != NULL)
            return true;
    return false;
}

/* use "sig" (or absent) and key_ops holding "verify" (or absent). */
static bool for_signatures(json_t *e)
{
    json_t *use = json_object_get(e, "use"), *ops = json_object_get(e, "key_ops");
    if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
        return false;
    if (ops == NULL)
        return true;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
            return true;
    }
    return false;
}

/* The alg member, if any, must be one we accept for the key type; false = skip the entry. */
static bool alg_fits(json_t *e, key_type type, jwk *k)
{
    json_t *a = json_object_get(e, "alg");
    if (a == NULL)
        return true;
    const char *s = json_string_value(a);
    zt_jws_alg alg;
    if (s == NULL || !zt_jws_alg_parse(s, strlen(s), &alg))
        return false;
    if ((type == KEY_EC) != (alg == ZT_JWS_ES256))
        return false;
    k->has_alg = true;
    k->alg = alg;
    return true;
}

static zt_jws_status key_material(json_t *e, jwk *k, const char **why)
{
    if (k->type == KEY_RSA) {
        k->pkey = rsa_public(member_str(e, "n"), member_str(e, "e"));
        if (k->pkey == NULL)
            return reject(why, ZT_JWS_BAD_JWKS,
                          "JWKS RSA key with bad n or e, or not 2048 to 8192 bits");
        return ZT_JWS_OK;
    }
    unsigned char x[32], y[32];
    if (!b64_exact(member_str(e, "x"), x, 32) || !b64_exact(member_str(e, "y"), y, 32))
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS P-256 key with bad x or y");
    k->pkey = zt_keys_p256_public(x, y);
    if (k->pkey == NULL)
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS key is not a valid P-256 point");
    return ZT_JWS_OK;
}

static zt_jws_status jwk_kid(json_t *e, const zt_jws_jwks *j, jwk *k, const char **why)
{
    json_t *kv = json_object_get(e, "kid");
    if (kv == NULL)
        return ZT_JWS_OK;
    const char *kid = json_string_value(kv);
    if (kid == NULL || kid[0] == '\0' || strlen(kid) > ZT_JWS_MAX_KID)
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS kid is not a string of 1 to 128 chars");
    for (size_t i = 0; i < j->n; i++)
        if (j->key[i].has_kid && strcmp(j->key[i].kid, kid) == 0)
            return reject(why, ZT_JWS_BAD_JWKS, "JWKS has a duplicate kid");
    k->has_kid = true;
    memcpy(k->kid, kid, strlen(kid) + 1);
    return ZT_JWS_OK;
}

/* One "keys" entry: added, or skipped when it is not a signing key we can use. */
static zt_jws_status jwk_add(zt_jws_jwks *j, json_t *e, const char **why)
{
    if (!json_is_object(e))
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS entry is not an object");
    /* Checked before anything else: a secret in a public key set is an error, not a skip. */
    if (has_private_member(e))
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS contains private or secret key material");
    const char *kty = member_str(e, "kty"), *crv = member_str(e, "crv");
    jwk k;
    memset(&k, 0, sizeof(k));
    if (kty != NULL && strcmp(kty, "RSA") == 0)
        k.type = KEY_RSA;
    else if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
        k.type = KEY_EC;
    else
        return ZT_JWS_OK; /* skipped: another key type or curve */
    if (!for_signatures(e) || !alg_fits(e, k.type, &k))
        return ZT_JWS_OK;
    zt_jws_status st = jwk_kid(e, j, &k, why);
    if (st != ZT_JWS_OK)
        return st;
    if (j->n == ZT_JWS_MAX_JWKS_KEYS)
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS has too many keys");
    st = key_material(e, &k, why);
    if (st == ZT_JWS_OK)
        j->key[j->n++] = k;
    return st;
}

zt_jws_status zt_jws_client_jwks_parse(const char *json, size_t n, zt_jws_jwks **out,
                                       const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *out = NULL;
    if (json == NULL || n > ZT_JWS_MAX_JWKS)
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS missing or too large");
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        json_decref(root);
        return reject(why, ZT_JWS_BAD_JWKS, "JWKS is not an object with a \"keys\" array");
    }
    zt_jws_jwks *j = calloc(1, sizeof(*j));
    zt_jws_status st = ZT_JWS_OK;
    if (j == NULL || (j->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        st = reject(why, ZT_JWS_NOMEM, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(keys, i, e)
    {
        if (st != ZT_JWS_OK)
            break;
        st = jwk_add(j, e, why);
    }
    json_decref(root);
    if (st == ZT_JWS_OK && j->n == 0)
        st = reject(why, ZT_JWS_BAD_JWKS, "JWKS has no RSA or EC P-256 signing key");
    if (st != ZT_JWS_OK) {
        zt_jws_jwks_free(j);
        return st;
    }
    *why = "ok";
    *out = j;
    return ZT_JWS_OK;
}

/* --- client assertions -------------------------------------------------------------------- */

const char *zt_jws_status_name(zt_jws_status st)
{
    static const char *const names[] = {
        [ZT_JWS_OK] = "ok",
        [ZT_JWS_MALFORMED] = "malformed",
        [ZT_JWS_BAD_ALG] = "bad_alg",
        [ZT_JWS_BAD_HEADER] = "bad_header",
        [ZT_JWS_UNKNOWN_KID] = "unknown_kid",
        [ZT_JWS_BAD_SIGNATURE] = "bad_signature",
        [ZT_JWS_BAD_CLAIMS] = "bad_claims",
        [ZT_JWS_WRONG_ISS] = "wrong_iss",
        [ZT_JWS_WRONG_AUD] = "wrong_aud",
        [ZT_JWS_EXPIRED] = "expired",
        [ZT_JWS_NOT_YET_VALID] = "not_yet_valid",
        [ZT_JWS_BAD_JWKS] = "bad_jwks",
        [ZT_JWS_NOMEM] = "nomem",
    };
    if ((size_t)st >= sizeof(names) / sizeof(names[0]) || names[st] == NULL)
        return "unknown";
    return names[st];
}

typedef struct parts {
    const char *input; /* header.payload, the signing input */
    size_t input_len;
    const char *payload;
    size_t payload_len;
    const char *sig_b64;
    size_t sig_b64_len;
    unsigned char sig[ZT_JWS_RSA_MAX_BITS / 8];
    size_t sig_len;
} parts;

static zt_jws_status split_max(const char *t, size_t len, size_t max, parts *p, const char **why)
{
    if (len == 0 || len > max)
        return reject(why, ZT_JWS_MALFORMED, "token empty or too long");
    size_t dot[2];
    const char *bad = zt_jose_split(t, len, dot);
    if (bad != NULL)
        return reject(why, ZT_JWS_MALFORMED, bad);
    p->input = t;
    p->input_len = dot[1];
    p->payload = t + dot[0] + 1;
    p->payload_len = dot[1] - dot[0] - 1;
    p->sig_b64 = t + dot[1] + 1;
    p->sig_b64_len = len - dot[1] - 1;
    return ZT_JWS_OK;
}

static zt_jws_status split(const char *t, size_t len, parts *p, const char **why)
{
    return split_max(t, len, ZT_JWS_MAX_ASSERTION, p, why);
}

/* After the header passed, so "alg: none" with no signature is reported as the alg. */
static zt_jws_status decode_signature(parts *p, const char **why)
{
    if (p->sig_b64_len == 0 ||
        !zt_b64url_decode(p->sig_b64, p->sig_b64_len, p->sig, sizeof(p->sig), &p->sig_len))
        return reject(why, ZT_JWS_BAD_SIGNATURE, "signature missing, not base64url or too long");
    return ZT_JWS_OK;
}

/* typ_ok_fn: whether the header's typ (NULL: absent) is one this reader takes. */
typedef bool typ_rule(const char *typ);

static bool client_typ(const char *ts)
{
    return strcasecmp(ts, "JWT") == 0 || strcasecmp(ts, "client-authentication+jwt") == 0;
}

static zt_jws_status header_alg(json_t *h, typ_rule *typ_fits, zt_jws_alg *alg, const char **why)
{
    const char *name = member_str(h, "alg");
    if (name == NULL)
        return reject(why, ZT_JWS_BAD_ALG, "alg missing");
    if (!zt_jws_alg_parse(name, strlen(name), alg)) {
        if (strcasecmp(name, "none") == 0)
            return reject(why, ZT_JWS_BAD_ALG, "alg none refused");
        if (strncmp(name, "HS", 2) == 0)
            return reject(
                why, ZT_JWS_BAD_ALG,
                "symmetric alg (HS*) refused: private_key_jwt needs RS256, PS256 or ES256");
        return reject(why, ZT_JWS_BAD_ALG, "alg refused: only RS256, PS256 or ES256");
    }
    /* RFC 7515 4.1.11: extensions we do not understand make the token invalid. */
    if (json_object_get(h, "crit") != NULL)
        return reject(why, ZT_JWS_BAD_HEADER, "crit header not supported");
    /* Other JWTs (ID tokens are "JWT" too, but they fail iss == sub == client_id; logout or
     * access tokens carry their own typ) must not pass as client assertions. */
    json_t *typ = json_object_get(h, "typ");
    const char *ts = json_string_value(typ);
    if (typ != NULL && (ts == NULL || !typ_fits(ts)))
        return reject(why, ZT_JWS_BAD_HEADER, "typ is not one this token may have");
    return ZT_JWS_OK;
}

static bool key_takes(const jwk *k, zt_jws_alg alg)
{
    if ((k->type == KEY_EC) != (alg == ZT_JWS_ES256))
        return false;
    return !k->has_alg || k->alg == alg;
}

/* JOSE R||S to DER, then ECDSA over SHA-256 of the signing input. */
static bool es256_ok(const zt_jws_jwks *j, const jwk *k, const parts *p)
{
    unsigned char h[32], der[80], *d = der;
    if (p->sig_len != 64 || !EVP_Digest(p->input, p->input_len, h, NULL, j->sha256, NULL))
        return false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(p->sig, 32, NULL), *s = BN_bin2bn(p->sig + 32, 32, NULL);
    int derlen = -1;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, NULL) <= (int)sizeof(der) ? i2d_ECDSA_SIG(es, &d) : -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    if (derlen <= 0)
        return false;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, (size_t)derlen, h, sizeof(h)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* RS256: PKCS#1 v1.5; PS256: PSS with MGF1-SHA-256 and a 32-byte salt (RFC 7518 3.5). */
static bool rsa_ok(const zt_jws_jwks *j, const jwk *k, zt_jws_alg alg, const parts *p)
{
    if (p->sig_len != (size_t)EVP_PKEY_get_size(k->pkey))
        return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL; /* owned by md */
    bool ok = md != NULL && EVP_DigestVerifyInit(md, &pctx, j->sha256, NULL, k->pkey) == 1;
    if (ok && alg == ZT_JWS_PS256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, j->sha256) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    else if (ok)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_DigestVerify(md, p->sig, p->sig_len, (const unsigned char *)p->input,
                                p->input_len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static bool signature_ok(const zt_jws_jwks *j, const jwk *k, zt_jws_alg alg, const parts *p)
{
    return alg == ZT_JWS_ES256 ? es256_ok(j, k, p) : rsa_ok(j, k, alg, p);
}

/* kid names the key; without one every key that takes alg is tried (at most
 * ZT_JWS_MAX_JWKS_KEYS signature checks). */
static zt_jws_status find_key(const zt_jws_jwks *j, json_t *h, zt_jws_alg alg, const parts *p,
                              const jwk **used, const char **why)
{
    json_t *kv = json_object_get(h, "kid");
    if (kv != NULL) {
        const char *kid = json_string_value(kv);
        if (kid == NULL)
            return reject(why, ZT_JWS_UNKNOWN_KID, "kid is not a string");
        for (size_t i = 0; i < j->n; i++) {
            const jwk *k = &j->key[i];
            if (!k->has_kid || strcmp(k->kid, kid) != 0)
                continue;
            if (!key_takes(k, alg))
                return reject(why, ZT_JWS_BAD_ALG, "alg does not fit the kid's key type or alg");
            if (!signature_ok(j, k, alg, p))
                return reject(why, ZT_JWS_BAD_SIGNATURE, "signature does not verify");
            *used = k;
            return ZT_JWS_OK;
        }
        return reject(why, ZT_JWS_UNKNOWN_KID, "kid not in the client's JWKS");
    }
    bool any = false;
    for (size_t i = 0; i < j->n; i++) {
        const jwk *k = &j->key[i];
        if (!key_takes(k, alg))
            continue;
        any = true;
        if (signature_ok(j, k, alg, p)) {
            *used = k;
            return ZT_JWS_OK;
        }
    }
    if (!any)
        return reject(why, ZT_JWS_UNKNOWN_KID, "no key in the client's JWKS takes this alg");
    return reject(why, ZT_JWS_BAD_SIGNATURE, "signature does not verify with any key");
}

/* NumericDate (RFC 7519 2): an integer or a real, in [0, MAX_NUMERIC_DATE]. */
static bool date_claim(json_t *o, const char *name, bool required, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return !required;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > MAX_NUMERIC_DATE)
            return false;
        *out = (int64_t)i;
        return true;
    }
    double d = json_is_real(v) ? json_real_value(v) : -1.0;
    if (!(d >= 0.0 && d <= (double)MAX_NUMERIC_DATE))
        return false;
    *out = (int64_t)d; /* d >= 0: truncation is floor */
    return true;
}

static bool aud_accepted(const char *aud, const zt_jws_client_expect *x)
{
    for (size_t i = 0; i < x->naudiences; i++)
        if (x->audiences[i] != NULL && strcmp(aud, x->audiences[i]) == 0)
            return true;
    return false;
}

/* A string, or a non-empty array of strings every one of which is accepted: an assertion
 * also addressed to another server could be replayed there (audience hardening, 2025). */
static bool aud_ok(json_t *aud, const zt_jws_client_expect *x)
{
    if (json_is_string(aud))
        return aud_accepted(json_string_value(aud), x);
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e)
    {
        if (!json_is_string(e) || !aud_accepted(json_string_value(e), x))
            return false;
    }
    return true;
}

static bool jti_ok(const char *jti)
{
    size_t n = jti ? strlen(jti) : 0;
    if (n == 0 || n > ZT_JWS_MAX_JTI)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)jti[i] < 0x20 || jti[i] == 0x7f)
            return false;
    return true;
}

static zt_jws_status check_times(json_t *p, const zt_jws_client_expect *x, int64_t *exp,
                                 int64_t *iat, const char **why)
{
    int64_t nbf = 0;
    if (!date_claim(p, "exp", true, exp))
        return reject(why, ZT_JWS_BAD_CLAIMS, "exp missing or not a date");
    if (!date_claim(p, "iat", false, iat) || !date_claim(p, "nbf", false, &nbf))
        return reject(why, ZT_JWS_BAD_CLAIMS, "iat or nbf not a date");
    int64_t max = x->max_lifetime_s > 0 ? x->max_lifetime_s : ZT_JWS_ASSERTION_MAX_LIFETIME_S;
    if (x->now - x->leeway_s >= *exp)
        return reject(why, ZT_JWS_EXPIRED, "expired");
    if (*iat != 0 && *iat > x->now + x->leeway_s)
        return reject(why, ZT_JWS_NOT_YET_VALID, "iat in the future");
    if (nbf != 0 && nbf > x->now + x->leeway_s)
        return reject(why, ZT_JWS_NOT_YET_VALID, "not yet valid (nbf)");
    /* Without iat the lifetime is measured from now, so leaving iat out buys nothing. */
    if ((*iat != 0 && *exp - *iat > max) || *exp - x->now > max + x->leeway_s)
        return reject(why, ZT_JWS_BAD_CLAIMS, "lifetime over the cap (exp too far ahead)");
    return ZT_JWS_OK;
}

static zt_jws_status check_claims(json_t *p, const zt_jws_client_expect *x,
                                  zt_jws_client_assertion *a, const char **why)
{
    const char *iss = member_str(p, "iss"), *sub = member_str(p, "sub");
    const char *jti = member_str(p, "jti");
    if (iss == NULL || sub == NULL)
        return reject(why, ZT_JWS_BAD_CLAIMS, "iss or sub missing or not a string");
    if (strcmp(iss, x->client_id) != 0 || strcmp(sub, x->client_id) != 0)
        return reject(why, ZT_JWS_WRONG_ISS, "iss and sub must both be the client_id");
    if (!aud_ok(json_object_get(p, "aud"), x))
        return reject(why, ZT_JWS_WRONG_AUD, "aud is not this server (issuer or token endpoint)");
    zt_jws_status st = check_times(p, x, &a->exp, &a->iat, why);
    if (st != ZT_JWS_OK)
        return st;
    if (!jti_ok(jti))
        return reject(why, ZT_JWS_BAD_CLAIMS, "jti missing, empty, too long or with controls");
    memcpy(a->jti, jti, strlen(jti) + 1);
    return ZT_JWS_OK;
}

static void note_key(const jwk *k, zt_jws_alg alg, zt_jws_client_assertion *a)
{
    a->alg = alg;
    if (k->has_kid)
        memcpy(a->kid, k->kid, strlen(k->kid) + 1);
    else if (zt_keys_thumbprint(k->pkey, a->kid) != 0)
        a->kid[0] = '\0';
}

static zt_jws_status verify(const zt_jws_jwks *j, const char *t, size_t len,
                            const zt_jws_client_expect *x, zt_jws_client_assertion *a,
                            const char **why)
{
    if (j == NULL || t == NULL || x == NULL || x->client_id == NULL || x->client_id[0] == '\0' ||
        (x->naudiences > 0 && x->audiences == NULL))
        return reject(why, ZT_JWS_MALFORMED, "no JWKS, token, client_id or audiences");
    parts *p = malloc(sizeof(*p));
    if (p == NULL)
        return reject(why, ZT_JWS_NOMEM, "out of memory");
    zt_jws_status st = split(t, len, p, why);
    json_t *h = st == ZT_JWS_OK ? zt_jose_segment_json(t, (size_t)(p->payload - 1 - t)) : NULL;
    if (st == ZT_JWS_OK && h == NULL)
        st = reject(why, ZT_JWS_MALFORMED, "header is not base64url JSON object");
    zt_jws_alg alg = ZT_JWS_ES256;
    const jwk *used = NULL;
    if (st == ZT_JWS_OK)
        st = header_alg(h, client_typ, &alg, why);
    if (st == ZT_JWS_OK)
        st = decode_signature(p, why);
    /* Signature before the payload is parsed: unsigned bytes never reach the claim checks. */
    if (st == ZT_JWS_OK)
        st = find_key(j, h, alg, p, &used, why);
    json_decref(h);
    json_t *payload = NULL;
    if (st == ZT_JWS_OK && (payload = zt_jose_segment_json(p->payload, p->payload_len)) == NULL)
        st = reject(why, ZT_JWS_MALFORMED, "payload is not base64url JSON object");
    if (st == ZT_JWS_OK)
        st = check_claims(payload, x, a, why);
    if (st == ZT_JWS_OK)
        note_key(used, alg, a);
    json_decref(payload);
    free(p);
    return st;
}

zt_jws_status zt_jws_verify_client_assertion(const zt_jws_jwks *jwks, const char *token, size_t len,
                                             const zt_jws_client_expect *expect,
                                             zt_jws_client_assertion *out, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = "ok";
    zt_jws_client_assertion tmp;
    memset(&tmp, 0, sizeof(tmp));
    zt_jws_status st = verify(jwks, token, len, expect, &tmp, why);
    if (st == ZT_JWS_OK && out != NULL)
        *out = tmp;
    else if (out != NULL)
        memset(out, 0, sizeof(*out));
    return st;
}

/* --- any signed token from a key set (upstream ID and logout tokens) --------------------- */

static bool id_typ(const char *ts)
{
    return strcasecmp(ts, "JWT") == 0;
}

static bool logout_typ(const char *ts)
{
    return strcasecmp(ts, "logout+jwt") == 0 || strcasecmp(ts, "JWT") == 0;
}

static zt_jws_status verified_payload(const zt_jws_jwks *j, const char *t, size_t len,
                                      typ_rule *typ_fits, char **out, size_t *out_len,
                                      const char **why)
{
    parts *p = malloc(sizeof(*p));
    if (p == NULL)
        return reject(why, ZT_JWS_NOMEM, "out of memory");
    zt_jws_status st = split_max(t, len, ZT_JWS_MAX_TOKEN, p, why);
    json_t *h = st == ZT_JWS_OK ? zt_jose_segment_json(t, (size_t)(p->payload - 1 - t)) : NULL;
    if (st == ZT_JWS_OK && h == NULL)
        st = reject(why, ZT_JWS_MALFORMED, "header is not base64url JSON object");
    zt_jws_alg alg = ZT_JWS_ES256;
    const jwk *used = NULL;
    if (st == ZT_JWS_OK)
        st = header_alg(h, typ_fits, &alg, why);
    if (st == ZT_JWS_OK)
        st = decode_signature(p, why);
    if (st == ZT_JWS_OK)
        st = find_key(j, h, alg, p, &used, why);
    json_decref(h);
    /* Only now, signed, is the payload decoded for the caller to read. */
    size_t cap = p->payload_len / 4 * 3 + 3;
    char *text = st == ZT_JWS_OK ? malloc(cap + 1) : NULL;
    size_t n = 0;
    if (st == ZT_JWS_OK && text == NULL)
        st = reject(why, ZT_JWS_NOMEM, "out of memory");
    else if (st == ZT_JWS_OK &&
             !zt_b64url_decode(p->payload, p->payload_len, (unsigned char *)text, cap, &n))
        st = reject(why, ZT_JWS_MALFORMED, "payload is not base64url");
    free(p);
    if (st != ZT_JWS_OK) {
        free(text);
        return st;
    }
    text[n] = '\0';
    *out = text;
    *out_len = n;
    return ZT_JWS_OK;
}

zt_jws_status zt_jws_verify_signed(const zt_jws_jwks *jwks, const char *token, size_t len,
                                   zt_jws_token_kind kind, char **payload_out, size_t *n_out,
                                   const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = "ok";
    if (payload_out == NULL || n_out == NULL || jwks == NULL || token == NULL)
        return reject(why, ZT_JWS_MALFORMED, "no JWKS, token or output");
    *payload_out = NULL;
    *n_out = 0;
    return verified_payload(jwks, token, len, kind == ZT_JWS_LOGOUT_TOKEN ? logout_typ : id_typ,
                            payload_out, n_out, why);
}
