#include "identity/jwt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "identity/jose_int.h"
#include "identity/keys.h"
#include "lib/b64.h"
#include "lib/secure.h"
#include "lib/str.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* Our header is about 106 base64url chars; anything much longer is not ours. */

static zt_jwt_status reject(const char **why, zt_jwt_status st, const char *msg)
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

void zt_jwt_new_jti(char out[ZT_JWT_JTI_LEN + 1])
{
    unsigned char raw[16];
    zt_random(raw, sizeof(raw));
    sodium_bin2base64(out, ZT_JWT_JTI_LEN + 1, raw, sizeof(raw), B64URL);
}

int zt_jwt_sign_payload(const zt_keys *keys, const char *json, size_t n, zt_buf *out)
{
    const zt_keyset *s = zt_keys_acquire(keys);
    char hdr[128];
    int hn = snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                      zt_keyset_kid(s));
    size_t start = out->len;
    unsigned char sig[64];
    int rc = append_b64(out, hdr, (size_t)hn);
    if (rc == 0)
        rc = zt_buf_append_char(out, '.');
    if (rc == 0)
        rc = append_b64(out, json, n);
    /* The signing input is read only after the last append: appends may move out->data. */
    if (rc == 0)
        rc = zt_keyset_sign_es256(s, out->data + start, out->len - start, sig);
    if (rc == 0)
        rc = zt_buf_append_char(out, '.');
    if (rc == 0)
        rc = append_b64(out, sig, sizeof(sig));
    if (rc == 0 && out->len - start > ZT_JWT_MAX_TOKEN)
        rc = -E2BIG;
    if (rc < 0)
        out->len = start;
    zt_keyset_release(s);
    return rc;
}

static int add_str(zt_buf *b, const char *name, const char *v)
{
    int rc = zt_buf_printf(b, ",\"%s\":", name);
    return rc < 0 ? rc : zt_json_str(b, v, strlen(v));
}

/* "pwd,otp" as ,"amr":["pwd","otp"] (words are [a-z], from the session layer). */
static int add_amr(zt_buf *b, const char *amr)
{
    int rc = zt_buf_append_str(b, ",\"amr\":[");
    for (const char *p = amr; rc == 0 && *p != '\0';) {
        size_t w = strcspn(p, ",");
        if (p != amr)
            rc = zt_buf_append_char(b, ',');
        if (rc == 0)
            rc = zt_json_str(b, p, w);
        p += w + (p[w] == ',');
    }
    return rc ? rc : zt_buf_append_char(b, ']');
}

static int build_claims(zt_buf *b, const zt_assertion *c, const char *jti)
{
    int rc = zt_buf_append_str(b, "{\"iss\":");
    if (rc == 0)
        rc = zt_json_str(b, c->iss, strlen(c->iss));
    if (rc == 0)
        rc = add_str(b, "aud", c->aud);
    if (rc == 0)
        rc = add_str(b, "sub", c->sub);
    if (rc == 0 && c->email != NULL)
        rc = add_str(b, "email", c->email);
    if (rc == 0)
        rc = zt_buf_append_str(b, ",\"groups\":[");
    for (size_t i = 0; i < c->ngroups && rc == 0; i++) {
        if (i > 0)
            rc = zt_buf_append_char(b, ',');
        if (rc == 0)
            rc = zt_json_str(b, c->groups[i], strlen(c->groups[i]));
    }
    if (rc == 0)
        rc = zt_buf_append_char(b, ']');
    if (rc == 0 && c->device != NULL)
        rc = add_str(b, "device", c->device);
    if (rc == 0 && c->trust != NULL)
        rc = add_str(b, "trust", c->trust);
    if (rc == 0 && c->amr != NULL && c->amr[0] != '\0')
        rc = add_amr(b, c->amr);
    if (rc == 0)
        rc = zt_buf_printf(b, ",\"iat\":%" PRId64, c->iat);
    if (rc == 0 && c->nbf != 0)
        rc = zt_buf_printf(b, ",\"nbf\":%" PRId64, c->nbf);
    if (rc == 0)
        rc = zt_buf_printf(b, ",\"exp\":%" PRId64, c->exp);
    if (rc == 0)
        rc = add_str(b, "jti", jti);
    if (rc == 0)
        rc = zt_buf_append_char(b, '}');
    return rc;
}

static bool nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int zt_jwt_sign_assertion(const zt_keys *keys, const zt_assertion *c, zt_buf *out)
{
    if (keys == NULL || c == NULL || !nonempty(c->iss) || !nonempty(c->aud) || !nonempty(c->sub) ||
        c->iat <= 0 || c->exp <= c->iat || c->exp - c->iat > ZT_JWT_MAX_TTL_S || c->nbf < 0 ||
        c->nbf >= c->exp || c->ngroups > ZT_JWT_MAX_GROUPS || (c->ngroups > 0 && c->groups == NULL))
        return -EINVAL;
    for (size_t i = 0; i < c->ngroups; i++)
        if (c->groups[i] == NULL)
            return -EINVAL;
    char jti[ZT_JWT_JTI_LEN + 1];
    if (c->jti == NULL)
        zt_jwt_new_jti(jti);
    zt_buf json;
    /* Base64url grows by 4/3: a payload past this cannot make a token under the cap. */
    zt_buf_init(&json, ZT_JWT_MAX_TOKEN * 3 / 4);
    int rc = build_claims(&json, c, c->jti ? c->jti : jti);
    if (rc == 0)
        rc = zt_jwt_sign_payload(keys, json.data, json.len, out);
    zt_buf_dispose(&json);
    return rc;
}

/* --- JWKS --------------------------------------------------------------------------------- */

typedef struct jwk {
    char kid[ZT_JWT_MAX_KID + 1];
    EVP_PKEY *pkey;
} jwk;

struct zt_jwt_jwks {
    EVP_MD *sha256;
    size_t n;
    jwk key[ZT_JWT_MAX_JWKS_KEYS];
};

void zt_jwt_jwks_free(zt_jwt_jwks *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++)
        EVP_PKEY_free(j->key[i].pkey);
    EVP_MD_free(j->sha256);
    free(j);
}

/* Strict base64url (no padding, zero trailing bits) into exactly want bytes. */
static bool b64_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
    size_t got = 0;
    return n > 0 && zt_b64url_decode(s, n, out, want, &got) && got == want;
}

static const char *member_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* One "keys" entry: added, or skipped when it is not an ES256 signing key. */
static zt_jwt_status jwk_add(zt_jwt_jwks *j, json_t *e, const char **why)
{
    if (!json_is_object(e))
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS entry is not an object");
    const char *kty = member_str(e, "kty"), *crv = member_str(e, "crv");
    const char *alg = member_str(e, "alg"), *use = member_str(e, "use");
    if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0 ||
        (json_object_get(e, "alg") != NULL && (alg == NULL || strcmp(alg, "ES256") != 0)) ||
        (json_object_get(e, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0)))
        return ZT_JWT_OK; /* skipped: not for us */
    if (json_object_get(e, "d") != NULL)
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS contains a private key (\"d\")");
    const char *kid = member_str(e, "kid"), *xs = member_str(e, "x"), *ys = member_str(e, "y");
    if (kid == NULL || kid[0] == '\0' || strlen(kid) > ZT_JWT_MAX_KID)
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS key without a usable kid");
    unsigned char x[32], y[32];
    if (xs == NULL || ys == NULL || !b64_exact(xs, strlen(xs), x, 32) ||
        !b64_exact(ys, strlen(ys), y, 32))
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS P-256 key with bad x or y");
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->key[i].kid, kid) == 0)
            return reject(why, ZT_JWT_BAD_JWKS, "JWKS has a duplicate kid");
    if (j->n == ZT_JWT_MAX_JWKS_KEYS)
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS has too many keys");
    EVP_PKEY *pkey = zt_keys_p256_public(x, y);
    if (pkey == NULL)
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS key is not a valid P-256 point");
    memcpy(j->key[j->n].kid, kid, strlen(kid) + 1);
    j->key[j->n++].pkey = pkey;
    return ZT_JWT_OK;
}

zt_jwt_status zt_jwt_jwks_parse(const char *json, size_t n, zt_jwt_jwks **out, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *out = NULL;
    *why = "ok";
    if (n > ZT_JWT_MAX_JWKS)
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS too large");
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        json_decref(root);
        return reject(why, ZT_JWT_BAD_JWKS, "JWKS is not an object with a \"keys\" array");
    }
    zt_jwt_jwks *j = calloc(1, sizeof(*j));
    zt_jwt_status st = ZT_JWT_OK;
    if (j == NULL || (j->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
        *why = "out of memory";
        st = ZT_JWT_NOMEM;
    }
    size_t i;
    json_t *e;
    json_array_foreach(keys, i, e)
    {
        if (st != ZT_JWT_OK)
            break;
        zt_jwt_status r = jwk_add(j, e, why);
        if (r != ZT_JWT_OK)
            st = r;
    }
    json_decref(root);
    if (st == ZT_JWT_OK && j->n == 0) {
        *why = "JWKS has no ES256 P-256 key";
        st = ZT_JWT_BAD_JWKS;
    }
    if (st != ZT_JWT_OK) {
        zt_jwt_jwks_free(j);
        return st;
    }
    *why = "ok";
    *out = j;
    return ZT_JWT_OK;
}

/* --- verification ------------------------------------------------------------------------- */

const char *zt_jwt_status_name(zt_jwt_status st)
{
    static const char *const names[] = {
        [ZT_JWT_OK] = "ok",
        [ZT_JWT_MALFORMED] = "malformed",
        [ZT_JWT_BAD_ALG] = "bad_alg",
        [ZT_JWT_BAD_HEADER] = "bad_header",
        [ZT_JWT_UNKNOWN_KID] = "unknown_kid",
        [ZT_JWT_BAD_SIGNATURE] = "bad_signature",
        [ZT_JWT_BAD_CLAIMS] = "bad_claims",
        [ZT_JWT_WRONG_ISS] = "wrong_iss",
        [ZT_JWT_WRONG_AUD] = "wrong_aud",
        [ZT_JWT_EXPIRED] = "expired",
        [ZT_JWT_NOT_YET_VALID] = "not_yet_valid",
        [ZT_JWT_BAD_JWKS] = "bad_jwks",
        [ZT_JWT_NOMEM] = "nomem",
    };
    if ((size_t)st >= sizeof(names) / sizeof(names[0]) || names[st] == NULL)
        return "unknown";
    return names[st];
}

static zt_jwt_status check_header(json_t *h, const zt_jwt_jwks *j, const jwk **key,
                                  const char **why)
{
    const char *alg = member_str(h, "alg");
    if (alg == NULL)
        return reject(why, ZT_JWT_BAD_ALG, "alg missing");
    if (strcmp(alg, "ES256") != 0) {
        if (strcasecmp(alg, "none") == 0)
            *why = "alg none refused: only ES256";
        else if (strncmp(alg, "HS", 2) == 0)
            *why = "symmetric alg (HS*) refused: only ES256";
        else
            *why = "alg refused: only ES256";
        return ZT_JWT_BAD_ALG;
    }
    /* RFC 7515 4.1.11: extensions we do not understand make the token invalid. */
    if (json_object_get(h, "crit") != NULL)
        return reject(why, ZT_JWT_BAD_HEADER, "crit header not supported");
    json_t *typ = json_object_get(h, "typ");
    if (typ != NULL && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        return reject(why, ZT_JWT_BAD_HEADER, "typ is not JWT");
    /* Keys come from the JWKS only, by kid; jwk/jku/x5u/x5c in the header are never used. */
    const char *kid = member_str(h, "kid");
    if (kid == NULL)
        return reject(why, ZT_JWT_UNKNOWN_KID, "kid missing");
    for (size_t i = 0; i < j->n; i++) {
        if (strcmp(j->key[i].kid, kid) == 0) {
            *key = &j->key[i];
            return ZT_JWT_OK;
        }
    }
    return reject(why, ZT_JWT_UNKNOWN_KID, "kid not in JWKS");
}

/* JOSE R||S to DER and ECDSA verify over SHA-256 of the signing input. */
static bool es256_ok(const zt_jwt_jwks *j, const jwk *key, const char *input, size_t n,
                     const unsigned char sig[64])
{
    unsigned char h[32], der[80], *p = der;
    if (!EVP_Digest(input, n, h, NULL, j->sha256, NULL))
        return false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    int derlen = -1;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, NULL) <= (int)sizeof(der) ? i2d_ECDSA_SIG(es, &p) : -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    if (derlen <= 0)
        return false;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, (size_t)derlen, h, sizeof(h)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

typedef struct owned {
    json_t *payload;
    const char *groups[];
} owned;

static bool opt_str(json_t *o, const char *name, const char **out)
{
    json_t *v = json_object_get(o, name);
    *out = json_string_value(v);
    return v == NULL || *out != NULL;
}

static bool int_claim(json_t *o, const char *name, bool required, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return !required;
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool aud_matches(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
            return true;
    }
    return false;
}

/* Types first, then issuer, audience and times. */
static zt_jwt_status check_claims(json_t *p, const zt_jwt_expect *want, zt_assertion *a,
                                  const char **why)
{
    json_t *aud = json_object_get(p, "aud");
    json_t *groups = json_object_get(p, "groups");
    if (!opt_str(p, "iss", &a->iss) || a->iss == NULL)
        return reject(why, ZT_JWT_BAD_CLAIMS, "iss missing or not a string");
    if (!opt_str(p, "sub", &a->sub) || a->sub == NULL || a->sub[0] == '\0')
        return reject(why, ZT_JWT_BAD_CLAIMS, "sub missing or not a string");
    if (!opt_str(p, "jti", &a->jti) || a->jti == NULL)
        return reject(why, ZT_JWT_BAD_CLAIMS, "jti missing or not a string");
    if (!opt_str(p, "email", &a->email) || !opt_str(p, "device", &a->device) ||
        !opt_str(p, "trust", &a->trust))
        return reject(why, ZT_JWT_BAD_CLAIMS, "email, device or trust not a string");
    if (!json_is_string(aud) && !json_is_array(aud))
        return reject(why, ZT_JWT_BAD_CLAIMS, "aud missing or not a string");
    if (!json_is_array(groups) || json_array_size(groups) > ZT_JWT_MAX_GROUPS)
        return reject(why, ZT_JWT_BAD_CLAIMS, "groups missing, not an array or too long");
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (!json_is_string(g))
            return reject(why, ZT_JWT_BAD_CLAIMS, "groups member not a string");
    }
    if (!int_claim(p, "iat", true, &a->iat) || !int_claim(p, "exp", true, &a->exp) ||
        !int_claim(p, "nbf", false, &a->nbf))
        return reject(why, ZT_JWT_BAD_CLAIMS, "iat, exp or nbf missing or not an integer");
    /* Non-negative times keep exp - iat from overflowing on hostile values. */
    if (a->iat < 0 || a->nbf < 0 || a->exp <= a->iat || a->exp - a->iat > ZT_JWT_MAX_TTL_S)
        return reject(why, ZT_JWT_BAD_CLAIMS, "lifetime not within (0, 300] s");
    if (want->iss != NULL && strcmp(a->iss, want->iss) != 0)
        return reject(why, ZT_JWT_WRONG_ISS, "iss does not match");
    if (!aud_matches(aud, want->aud))
        return reject(why, ZT_JWT_WRONG_AUD, "aud does not match");
    if (want->now - want->leeway_s >= a->exp)
        return reject(why, ZT_JWT_EXPIRED, "expired");
    if (a->nbf != 0 && want->now + want->leeway_s < a->nbf)
        return reject(why, ZT_JWT_NOT_YET_VALID, "not yet valid (nbf)");
    a->aud = want->aud;
    return ZT_JWT_OK;
}

static zt_jwt_status fill_out(json_t *p, zt_assertion *tmp, zt_assertion *out)
{
    json_t *groups = json_object_get(p, "groups");
    size_t n = json_array_size(groups);
    owned *o = malloc(sizeof(*o) + n * sizeof(o->groups[0]));
    if (o == NULL)
        return ZT_JWT_NOMEM;
    for (size_t i = 0; i < n; i++)
        o->groups[i] = json_string_value(json_array_get(groups, i));
    o->payload = json_incref(p);
    *out = *tmp;
    out->groups = o->groups;
    out->ngroups = n;
    out->owned_ = o;
    return ZT_JWT_OK;
}

static zt_jwt_status verify(const zt_jwt_jwks *j, const char *t, size_t len,
                            const zt_jwt_expect *want, zt_assertion *out, const char **why)
{
    if (j == NULL || t == NULL || want == NULL || want->aud == NULL)
        return reject(why, ZT_JWT_MALFORMED, "no JWKS, token or expected audience");
    if (len == 0 || len > ZT_JWT_MAX_TOKEN)
        return reject(why, ZT_JWT_MALFORMED, "token empty or too long");
    size_t dot[2];
    const char *bad = zt_jose_split(t, len, dot);
    if (bad != NULL)
        return reject(why, ZT_JWT_MALFORMED, bad);

    json_t *h = zt_jose_segment_json(t, dot[0]);
    if (h == NULL)
        return reject(why, ZT_JWT_MALFORMED, "header is not base64url JSON object");
    const jwk *key = NULL;
    zt_jwt_status st = check_header(h, j, &key, why);
    json_decref(h);
    if (st != ZT_JWT_OK)
        return st;

    /* Signature before the payload is parsed: unsigned bytes never reach the claim checks. */
    const char *sig_b64 = t + dot[1] + 1;
    size_t sig_n = len - dot[1] - 1;
    unsigned char sig[64];
    if (sig_n != 86 || !b64_exact(sig_b64, sig_n, sig, sizeof(sig)))
        return reject(why, ZT_JWT_BAD_SIGNATURE,
                      "signature is not 64 bytes of base64url (ES256 R||S)");
    if (!es256_ok(j, key, t, dot[1], sig))
        return reject(why, ZT_JWT_BAD_SIGNATURE, "signature does not verify");

    json_t *p = zt_jose_segment_json(t + dot[0] + 1, dot[1] - dot[0] - 1);
    if (p == NULL)
        return reject(why, ZT_JWT_MALFORMED, "payload is not base64url JSON object");
    zt_assertion tmp;
    memset(&tmp, 0, sizeof(tmp));
    st = check_claims(p, want, &tmp, why);
    if (st == ZT_JWT_OK && out != NULL) {
        st = fill_out(p, &tmp, out);
        if (st != ZT_JWT_OK)
            *why = "out of memory";
    }
    json_decref(p);
    return st;
}

zt_jwt_status zt_jwt_verify(const zt_jwt_jwks *jwks, const char *token, size_t len,
                            const zt_jwt_expect *want, zt_assertion *out, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    *why = "ok";
    return verify(jwks, token, len, want, out, why);
}

void zt_jwt_assertion_dispose(zt_assertion *a)
{
    if (a == NULL || a->owned_ == NULL)
        return;
    owned *o = a->owned_;
    json_decref(o->payload);
    free(o);
    memset(a, 0, sizeof(*a));
}
