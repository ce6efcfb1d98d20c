/* WebAuthn relying-party verification (see webauthn.h). CBOR through libcbor, JSON through
 * jansson, hashes, signatures and certificates through OpenSSL 3. Each step returns at its first
 * refusal with a result code and a static reason. */
#include "identity/webauthn.h"

#include <cbor.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/b64.h"

#define FIXED_LEN 37 /* rpIdHash(32) | flags(1) | signCount(4) */
#define AAGUID_LEN 16
#define HASH_LEN 32
#define CBOR_DEPTH_MAX 16 /* COSE keys, attestation objects and extensions are shallow */
#define X5C_MAX 8         /* certificates in an attestation chain */

static zt_webauthn_result refuse(const char **why, zt_webauthn_result r, const char *reason)
{
    if (why != NULL)
        *why = reason;
    return r;
}

static bool sha256(const unsigned char *p, size_t n, unsigned char out[HASH_LEN])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == HASH_LEN;
}

/* ---- CBOR ---- */

/* libcbor allocates a definite array or map for the count its header claims before reading
 * the items, so a 9-byte header could ask for gigabytes. This pass walks the encoded items with
 * libcbor's streaming decoder first and refuses any count larger than the bytes left to hold
 * it, and nesting deeper than CBOR_DEPTH_MAX. */
typedef struct cbor_guard {
    size_t left;                     /* bytes after the header being looked at */
    size_t open[CBOR_DEPTH_MAX + 1]; /* items still expected per open collection */
    bool indef[CBOR_DEPTH_MAX + 1];
    int depth;
    bool bad;
} cbor_guard;

static void guard_item_done(cbor_guard *g)
{
    while (g->depth > 0 && !g->indef[g->depth]) {
        if (g->open[g->depth] > 0 && --g->open[g->depth] > 0)
            return;
        g->depth--;
    }
}

static void guard_open(cbor_guard *g, size_t items, bool indef)
{
    if (g->depth >= CBOR_DEPTH_MAX) {
        g->bad = true;
        return;
    }
    g->depth++;
    g->open[g->depth] = items;
    g->indef[g->depth] = indef;
    if (!indef && items == 0) {
        g->depth--;
        guard_item_done(g);
    }
}

static void on_array(void *ctx, size_t size)
{
    cbor_guard *g = ctx;
    if (size > g->left)
        g->bad = true;
    else
        guard_open(g, size, false);
}

static void on_map(void *ctx, size_t size)
{
    cbor_guard *g = ctx;
    if (size > g->left / 2)
        g->bad = true;
    else
        guard_open(g, size * 2, false);
}

static void on_indef(void *ctx)
{
    guard_open(ctx, 0, true);
}

static void on_break(void *ctx)
{
    cbor_guard *g = ctx;
    if (g->depth == 0 || !g->indef[g->depth]) {
        g->bad = true; /* a break that closes nothing we track (e.g. a chunked string) */
        return;
    }
    g->depth--;
    guard_item_done(g);
}

static void on_leaf(void *ctx)
{
    guard_item_done(ctx);
}
static void on_u8(void *ctx, uint8_t v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_u16(void *ctx, uint16_t v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_u32(void *ctx, uint32_t v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_u64(void *ctx, uint64_t v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_str(void *ctx, cbor_data d, size_t n)
{
    (void)d;
    (void)n;
    on_leaf(ctx);
}
static void on_float(void *ctx, float v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_double(void *ctx, double v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_bool(void *ctx, bool v)
{
    (void)v;
    on_leaf(ctx);
}
static void on_refused(void *ctx)
{
    ((cbor_guard *)ctx)->bad = true;
}
static void on_refused_u64(void *ctx, uint64_t v)
{
    (void)v;
    on_refused(ctx);
}

/* True when p[0..n) starts with one well-formed CBOR item of safe counts and depth, with no
 * tags and no indefinite-length strings (WebAuthn's CTAP2 canonical CBOR has neither). *used
 * receives the item's length. */
static bool cbor_item_safe(const unsigned char *p, size_t n, size_t *used)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = cb.negint8 = on_u8;
    cb.uint16 = cb.negint16 = on_u16;
    cb.uint32 = cb.negint32 = on_u32;
    cb.uint64 = cb.negint64 = on_u64;
    cb.byte_string = cb.string = on_str;
    cb.byte_string_start = cb.string_start = on_refused;
    cb.array_start = on_array;
    cb.map_start = on_map;
    cb.indef_array_start = cb.indef_map_start = on_indef;
    cb.indef_break = on_break;
    cb.tag = on_refused_u64;
    cb.float2 = cb.float4 = on_float;
    cb.float8 = on_double;
    cb.undefined = cb.null = on_leaf;
    cb.boolean = on_bool;
    cbor_guard g = {0};
    size_t off = 0;
    do {
        if (off >= n)
            return false;
        g.left = n - off;
        struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, &g);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || g.bad)
            return false;
        off += r.read;
        g.left = n - off;
    } while (g.depth > 0);
    *used = off;
    return true;
}

/* Exactly one CBOR item filling p[0..n) (or, with used != NULL, the first item and its length). */
static cbor_item_t *cbor_parse(const unsigned char *p, size_t n, size_t *used)
{
    size_t len = 0;
    if (!cbor_item_safe(p, n, &len) || (used == NULL && len != n))
        return NULL;
    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(p, len, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != len) {
        if (item != NULL)
            cbor_decref(&item);
        return NULL;
    }
    if (used != NULL)
        *used = len;
    return item;
}

static bool cbor_text_is(const cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
           memcmp(cbor_string_handle(it), s, n) == 0;
}

static bool cbor_int_is(const cbor_item_t *it, int64_t v)
{
    if (cbor_isa_uint(it))
        return v >= 0 && cbor_get_int(it) == (uint64_t)v;
    if (cbor_isa_negint(it))
        return v < 0 && cbor_get_int(it) == (uint64_t)(-1 - v);
    return false;
}

/* A map member by text key or integer label: 0 found, -ENOENT absent, -EINVAL key twice. */
static int map_get(const cbor_item_t *map, const char *text, int64_t label, cbor_item_t **out)
{
    *out = NULL;
    if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
        return -EINVAL;
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        bool hit =
            text != NULL ? cbor_text_is(pairs[i].key, text) : cbor_int_is(pairs[i].key, label);
        if (!hit)
            continue;
        if (*out != NULL)
            return -EINVAL;
        *out = pairs[i].value;
    }
    return *out != NULL ? 0 : -ENOENT;
}

/* A definite byte string's bytes, or NULL. */
static const unsigned char *cbor_bytes(const cbor_item_t *it, size_t *n)
{
    if (it == NULL || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
        return NULL;
    *n = cbor_bytestring_length(it);
    return cbor_bytestring_handle(it);
}

/* A small integer (COSE labels and algs fit in int). */
static bool cbor_small_int(const cbor_item_t *it, int *out)
{
    if (it == NULL || !(cbor_isa_uint(it) || cbor_isa_negint(it)))
        return false;
    uint64_t v = cbor_get_int(it);
    if (v > 65535)
        return false;
    *out = cbor_isa_uint(it) ? (int)v : -1 - (int)v;
    return true;
}

/* ---- clientDataJSON ---- */

static zt_webauthn_result copy_member(json_t *o, const char *name, char *dst, size_t cap,
                                      const char **why, const char *reason)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, reason);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n > cap || memchr(s, '\0', n) != NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, reason);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return ZT_WEBAUTHN_OK;
}

zt_webauthn_result zt_webauthn_parse_client_data(const unsigned char *json, size_t len,
                                                 zt_webauthn_client_data *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (json == NULL || len == 0 || len > ZT_WEBAUTHN_CLIENT_DATA_MAX)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "clientDataJSON empty or too long");
    /* The UTF-8 decode of §7.1 step 2 drops a BOM; the hash is still over the raw bytes. */
    if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0) {
        json += 3;
        len -= 3;
    }
    json_error_t err;
    json_t *o = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &err);
    zt_webauthn_result r = ZT_WEBAUTHN_BAD_INPUT;
    if (!json_is_object(o)) {
        refuse(why, r, "clientDataJSON is not a JSON object");
        goto out;
    }
    r = copy_member(o, "type", out->type, ZT_WEBAUTHN_TYPE_MAX, why,
                    "clientDataJSON type missing or not a short string");
    if (r != ZT_WEBAUTHN_OK)
        goto out;
    r = copy_member(o, "origin", out->origin, ZT_WEBAUTHN_ORIGIN_MAX, why,
                    "clientDataJSON origin missing or not a short string");
    if (r != ZT_WEBAUTHN_OK)
        goto out;
    r = ZT_WEBAUTHN_BAD_INPUT;
    json_t *ch = json_object_get(o, "challenge");
    if (!json_is_string(ch) ||
        !zt_b64url_decode(json_string_value(ch), json_string_length(ch), out->challenge,
                          sizeof(out->challenge), &out->challenge_len)) {
        refuse(why, r, "clientDataJSON challenge missing or not base64url without padding");
        goto out;
    }
    json_t *co = json_object_get(o, "crossOrigin");
    if (co != NULL && !json_is_boolean(co)) {
        refuse(why, r, "clientDataJSON crossOrigin is not a boolean");
        goto out;
    }
    out->cross_origin = json_is_true(co);
    json_t *top = json_object_get(o, "topOrigin");
    if (top != NULL && !json_is_string(top)) {
        refuse(why, r, "clientDataJSON topOrigin is not a string");
        goto out;
    }
    out->has_top_origin = top != NULL;
    r = ZT_WEBAUTHN_OK;
out:
    json_decref(o);
    return r;
}

/* ---- authenticator data ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One CBOR item at p[0..n): its length in *used, and whether it is a map. */
static bool cbor_item_at(const unsigned char *p, size_t n, size_t *used, bool *is_map)
{
    cbor_item_t *it = cbor_parse(p, n, used);
    if (it == NULL)
        return false;
    *is_map = cbor_isa_map(it);
    cbor_decref(&it);
    return true;
}

static zt_webauthn_result parse_attested(const unsigned char *p, size_t n, size_t *off,
                                         zt_webauthn_auth_data *out, const char **why)
{
    if (n - *off < AAGUID_LEN + 2)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData attested credential data truncated");
    out->aaguid = p + *off;
    size_t idlen = (size_t)p[*off + AAGUID_LEN] << 8 | p[*off + AAGUID_LEN + 1];
    *off += AAGUID_LEN + 2;
    if (idlen == 0 || idlen > ZT_WEBAUTHN_CRED_ID_MAX)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "credential id empty or longer than 1023 bytes");
    if (n - *off < idlen)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData credential id truncated");
    out->cred_id = p + *off;
    out->cred_id_len = idlen;
    *off += idlen;
    size_t used = 0;
    bool is_map = false;
    if (!cbor_item_at(p + *off, n - *off, &used, &is_map) || !is_map)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData credential public key is not CBOR map");
    if (used > ZT_WEBAUTHN_COSE_MAX)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "credential public key too long");
    out->cose_key = p + *off;
    out->cose_key_len = used;
    *off += used;
    return ZT_WEBAUTHN_OK;
}

zt_webauthn_result zt_webauthn_parse_auth_data(const unsigned char *p, size_t n,
                                               zt_webauthn_auth_data *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (p == NULL || n < FIXED_LEN || n > ZT_WEBAUTHN_AUTH_DATA_MAX)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData shorter than 37 bytes or too long");
    out->rp_id_hash = p;
    out->flags = p[32];
    out->sign_count = be32(p + 33);
    size_t off = FIXED_LEN;
    if (out->flags & ZT_WEBAUTHN_AT) {
        zt_webauthn_result r = parse_attested(p, n, &off, out, why);
        if (r != ZT_WEBAUTHN_OK)
            return r;
    }
    if (out->flags & ZT_WEBAUTHN_ED) {
        size_t used = 0;
        bool is_map = false;
        if (off == n || !cbor_item_at(p + off, n - off, &used, &is_map) || !is_map)
            return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData ED set but no extensions map");
        out->ext = p + off;
        out->ext_len = used;
        off += used;
    }
    if (off != n)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "authData has trailing bytes");
    if ((out->flags & ZT_WEBAUTHN_BS) && !(out->flags & ZT_WEBAUTHN_BE))
        return refuse(why, ZT_WEBAUTHN_FLAGS, "backup state set without backup eligibility");
    return ZT_WEBAUTHN_OK;
}

/* ---- COSE keys ---- */

/* A parsed COSE key. The pointers point into the CBOR item and die with it; x and y are
 * copies (fido-u2f needs them after the item is gone). */
typedef struct cose {
    int alg;
    const unsigned char *px, *py, *n, *e;
    size_t xlen, ylen, nlen, elen;
    unsigned char x[32], y[32];
} cose;

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* P-256 domain parameters, made once: building the group (Montgomery constants for the field
 * and the order) for every key cost about an eighth of an ES256 assertion verification. */
static EVP_PKEY *p256_params;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void p256_params_init(void)
{
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &p256_params, EVP_PKEY_KEY_PARAMETERS, params) != 1)
        p256_params = NULL;
    EVP_PKEY_CTX_free(ctx);
}

/* A P-256 public key from x and y (a copy of the shared parameters with the point set),
 * refused when the point is not on the curve. zt_keys_p256_public uses the full public check,
 * which adds n·Q = O, a scalar multiplication that cost a third of each ES256 assertion
 * verification (bench/webauthn); P-256 has cofactor 1, so any point on the curve other than
 * infinity (which has no affine x, y) already has order n: the quick check (on the curve) is the
 * whole check. */
static EVP_PKEY *p256_key(const unsigned char x[32], const unsigned char y[32])
{
    unsigned char pub[65];
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    if (pthread_once(&p256_once, p256_params_init) != 0 || p256_params == NULL)
        return NULL;
    EVP_PKEY *pkey = EVP_PKEY_dup(p256_params);
    if (pkey != NULL && EVP_PKEY_set1_encoded_public_key(pkey, pub, sizeof(pub)) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX *chk = pkey != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (pkey != NULL && (chk == NULL || EVP_PKEY_public_check_quick(chk) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(chk);
    return pkey;
}

static EVP_PKEY *rsa_key(const cose *c)
{
    BIGNUM *n = BN_bin2bn(c->n, (int)c->nlen, NULL);
    BIGNUM *e = BN_bin2bn(c->e, (int)c->elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    if (n != NULL && e != NULL && bld != NULL && BN_is_odd(e) && !BN_is_one(e) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
        pkey = pkey_from_params("RSA", params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static bool cose_member(const cbor_item_t *map, int label, const unsigned char **p, size_t *n)
{
    cbor_item_t *v = NULL;
    if (map_get(map, NULL, label, &v) != 0)
        return false;
    *p = cbor_bytes(v, n);
    return *p != NULL;
}

static bool cose_int(const cbor_item_t *map, int label, int *out)
{
    cbor_item_t *v = NULL;
    return map_get(map, NULL, label, &v) == 0 && cbor_small_int(v, out);
}

/* Reads and checks the members for the key's alg; fills c. */
static zt_webauthn_result cose_parse(const cbor_item_t *map, cose *c, const char **why)
{
    int kty = 0, crv = 0;
    memset(c, 0, sizeof(*c));
    if (!cose_int(map, 1, &kty) || !cose_int(map, 3, &c->alg))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "COSE key without integer kty or alg");
    switch (c->alg) {
    case ZT_WEBAUTHN_ES256:
        if (kty != 2 || !cose_int(map, -1, &crv) || crv != 1 ||
            !cose_member(map, -2, &c->px, &c->xlen) || !cose_member(map, -3, &c->py, &c->ylen) ||
            c->xlen != 32 || c->ylen != 32)
            return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "ES256 COSE key not EC2 P-256 with x, y");
        return ZT_WEBAUTHN_OK;
    case ZT_WEBAUTHN_EDDSA:
        if (kty != 1 || !cose_int(map, -1, &crv) || crv != 6 ||
            !cose_member(map, -2, &c->px, &c->xlen) || c->xlen != 32)
            return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "EdDSA COSE key not OKP Ed25519 with x");
        return ZT_WEBAUTHN_OK;
    case ZT_WEBAUTHN_RS256:
        if (kty != 3 || !cose_member(map, -1, &c->n, &c->nlen) ||
            !cose_member(map, -2, &c->e, &c->elen) || c->elen == 0 || c->elen > 4)
            return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "RS256 COSE key not RSA with n, e");
        if (c->nlen < 256 || c->nlen > 512 || c->n[0] == 0)
            return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "RSA modulus not 2048..4096 bits");
        return ZT_WEBAUTHN_OK;
    default:
        return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "COSE algorithm not supported");
    }
}

static zt_webauthn_result cose_decode(const unsigned char *p, size_t n, cose *c, EVP_PKEY **out,
                                      const char **why)
{
    *out = NULL;
    cbor_item_t *map = p != NULL && n > 0 ? cbor_parse(p, n, NULL) : NULL;
    if (map == NULL || !cbor_isa_map(map)) {
        if (map != NULL)
            cbor_decref(&map);
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "COSE key is not one CBOR map");
    }
    zt_webauthn_result r = cose_parse(map, c, why);
    if (r == ZT_WEBAUTHN_OK) {
        if (c->px != NULL)
            memcpy(c->x, c->px, 32);
        if (c->py != NULL)
            memcpy(c->y, c->py, 32);
        if (c->alg == ZT_WEBAUTHN_ES256)
            *out = p256_key(c->x, c->y);
        else if (c->alg == ZT_WEBAUTHN_EDDSA)
            *out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, c->x, 32);
        else
            *out = rsa_key(c);
        if (*out == NULL)
            r = refuse(why, ZT_WEBAUTHN_BAD_INPUT, "COSE key is not a valid public key");
    }
    /* The pointers die with the map. */
    c->px = c->py = c->n = c->e = NULL;
    cbor_decref(&map);
    return r;
}

zt_webauthn_result zt_webauthn_cose_key(const unsigned char *p, size_t n, int *alg, EVP_PKEY **out,
                                        const char **why)
{
    cose c;
    zt_webauthn_result r = cose_decode(p, n, &c, out, why);
    if (r == ZT_WEBAUTHN_OK)
        *alg = c.alg;
    return r;
}

/* ---- signatures ---- */

/* Verifies sig over a‖b with key under alg (ES256 DER, EdDSA raw 64, RS256 PKCS#1 v1.5). */
static bool verify_sig(EVP_PKEY *key, int alg, const unsigned char *a, size_t alen,
                       const unsigned char *b, size_t blen, const unsigned char *sig, size_t siglen)
{
    if (sig == NULL || siglen == 0 || siglen > ZT_WEBAUTHN_SIG_MAX || alen + blen < alen)
        return false;
    unsigned char *msg = OPENSSL_malloc(alen + blen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = false;
    if (msg == NULL || ctx == NULL)
        goto out;
    memcpy(msg, a, alen);
    if (blen > 0)
        memcpy(msg + alen, b, blen);
    if (alg == ZT_WEBAUTHN_EDDSA) {
        ok = EVP_PKEY_is_a(key, "ED25519") && siglen == 64 &&
             EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, msg, alen + blen) == 1;
    } else {
        bool kind = alg == ZT_WEBAUTHN_ES256 ? EVP_PKEY_is_a(key, "EC") : EVP_PKEY_is_a(key, "RSA");
        ok = (alg == ZT_WEBAUTHN_ES256 || alg == ZT_WEBAUTHN_RS256) && kind &&
             EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, msg, alen + blen) == 1;
    }
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(msg);
    return ok;
}

/* ---- shared ceremony checks (§7.1 steps 4-7, §7.2 step 5-6) ---- */

static zt_webauthn_result check_client_data(const zt_webauthn_expect *exp, const char *type,
                                            const unsigned char *cd, size_t cdlen,
                                            unsigned char hash[HASH_LEN], const char **why)
{
    zt_webauthn_client_data c;
    zt_webauthn_result r = zt_webauthn_parse_client_data(cd, cdlen, &c, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    if (strcmp(c.type, type) != 0)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "clientDataJSON type is not the ceremony's");
    if (exp->challenge == NULL || exp->challenge_len == 0 ||
        c.challenge_len != exp->challenge_len ||
        CRYPTO_memcmp(c.challenge, exp->challenge, c.challenge_len) != 0)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "challenge is not the one issued");
    bool origin_ok = false;
    for (size_t i = 0; exp->origins != NULL && i < exp->n_origins; i++)
        if (exp->origins[i] != NULL && strcmp(c.origin, exp->origins[i]) == 0)
            origin_ok = true;
    if (!origin_ok)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "origin is not an expected origin");
    if (c.cross_origin)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "cross-origin ceremony (iframe) not allowed");
    if (c.has_top_origin)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "topOrigin present without crossOrigin");
    if (!sha256(cd, cdlen, hash))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "SHA-256 failed");
    return ZT_WEBAUTHN_OK;
}

/* rpIdHash, UP, UV (§7.1 steps 10-13, §7.2 steps 7-9). */
static zt_webauthn_result check_auth_flags(const zt_webauthn_expect *exp,
                                           const zt_webauthn_auth_data *ad, const char **why)
{
    unsigned char rp[HASH_LEN];
    if (exp->rp_id == NULL || !sha256((const unsigned char *)exp->rp_id, strlen(exp->rp_id), rp))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "no relying party id");
    if (CRYPTO_memcmp(rp, ad->rp_id_hash, HASH_LEN) != 0)
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "rpIdHash is not SHA-256 of the RP ID");
    if (!(ad->flags & ZT_WEBAUTHN_UP))
        return refuse(why, ZT_WEBAUTHN_FLAGS, "user presence (UP) not set");
    if (exp->require_uv && !(ad->flags & ZT_WEBAUTHN_UV))
        return refuse(why, ZT_WEBAUTHN_FLAGS, "user verification (UV) required but not set");
    return ZT_WEBAUTHN_OK;
}

static bool alg_allowed(const zt_webauthn_expect *exp, int alg)
{
    static const int defaults[] = {ZT_WEBAUTHN_ES256, ZT_WEBAUTHN_EDDSA, ZT_WEBAUTHN_RS256};
    const int *list = exp->algs != NULL ? exp->algs : defaults;
    size_t n = exp->algs != NULL ? exp->n_algs : sizeof(defaults) / sizeof(defaults[0]);
    for (size_t i = 0; i < n; i++)
        if (list[i] == alg)
            return true;
    return false;
}

/* ---- attestation statements (§8) ---- */

typedef struct att_ctx {
    const cbor_item_t *stmt;
    const unsigned char *auth_data;
    size_t adlen;
    const unsigned char *cd_hash;
    const zt_webauthn_auth_data *ad;
    EVP_PKEY *cred_key;
    const cose *cred;
} att_ctx;

static bool pkey_is_p256(EVP_PKEY *k)
{
    char group[32];
    size_t glen = 0;
    return EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &glen) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

/* One DER certificate filling a CBOR byte string exactly, or NULL. */
static X509 *der_cert(const cbor_item_t *it)
{
    size_t n = 0;
    const unsigned char *der = cbor_bytes(it, &n);
    if (der == NULL || n == 0 || n > (size_t)ZT_WEBAUTHN_ATT_OBJ_MAX)
        return NULL;
    const unsigned char *q = der;
    X509 *cert = d2i_X509(NULL, &q, (long)n);
    if (cert != NULL && q != der + n) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

/* x5c: a non-empty array of DER certificates; the first one, parsed whole. */
static X509 *first_cert(const cbor_item_t *x5c, size_t *count)
{
    if (!cbor_isa_array(x5c) || !cbor_array_is_definite(x5c) || cbor_array_size(x5c) == 0)
        return NULL;
    *count = cbor_array_size(x5c);
    return der_cert(cbor_array_handle(x5c)[0]);
}

/* The chain as the authenticator gave it: each certificate after the first issued the one
 * before it (issuer name and signature). Nothing says the last one is trusted: no trust anchors
 * are configured, so a statement that passes is reported as "basic (unverified chain)". */
static const char *chain_problem(const cbor_item_t *x5c)
{
    size_t n = cbor_array_size(x5c);
    if (n > X5C_MAX)
        return "x5c has more than 8 certificates";
    X509 *prev = NULL;
    const char *problem = NULL;
    for (size_t i = 0; i < n && problem == NULL; i++) {
        X509 *cur = der_cert(cbor_array_handle(x5c)[i]);
        if (cur == NULL)
            problem = "x5c holds something that is not one DER certificate";
        else if (prev != NULL &&
                 (X509_NAME_cmp(X509_get_issuer_name(prev), X509_get_subject_name(cur)) != 0 ||
                  X509_get0_pubkey(cur) == NULL || X509_verify(prev, X509_get0_pubkey(cur)) != 1))
            problem = "x5c certificate is not issued by the next one in the chain";
        X509_free(prev);
        prev = cur;
    }
    X509_free(prev);
    return problem;
}

/* Basic constraints absent or CA false, and not repeated. */
static const char *ca_problem(X509 *cert)
{
    int crit = 0;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
    bool ca = bc != NULL && bc->ca;
    BASIC_CONSTRAINTS_free(bc);
    if (ca || crit == -2)
        return "attestation certificate is a CA (or has basic constraints twice)";
    return NULL;
}

/* id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4): when present, not critical and equal to the
 * AAGUID in authData. */
static const char *aaguid_problem(X509 *cert, const unsigned char *aaguid)
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
    int at = oid != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -2;
    int again = at >= 0 ? X509_get_ext_by_OBJ(cert, oid, at) : -1;
    ASN1_OBJECT_free(oid);
    if (at == -2 || again >= 0)
        return "attestation certificate AAGUID extension unreadable or repeated";
    if (at >= 0) {
        X509_EXTENSION *ext = X509_get_ext(cert, at);
        ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
        const unsigned char *b = ASN1_STRING_get0_data(d);
        /* The value is an OCTET STRING (04 10 ...) inside the extension's OCTET STRING. */
        if (X509_EXTENSION_get_critical(ext) || ASN1_STRING_length(d) != 2 + AAGUID_LEN ||
            b[0] != 0x04 || b[1] != AAGUID_LEN || CRYPTO_memcmp(b + 2, aaguid, AAGUID_LEN) != 0)
            return "attestation certificate AAGUID does not match authData";
    }
    return NULL;
}

/* §8.2.1 packed attestation certificate requirements. */
static const char *packed_cert_problem(X509 *cert, const unsigned char *aaguid)
{
    if (X509_get_version(cert) != X509_VERSION_3)
        return "attestation certificate is not X.509 v3";
    X509_NAME *subj = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subj, NID_organizationalUnitName, -1);
    const char ou[] = "Authenticator Attestation";
    ASN1_STRING *v = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)) : NULL;
    if (v == NULL || ASN1_STRING_length(v) != (int)sizeof(ou) - 1 ||
        memcmp(ASN1_STRING_get0_data(v), ou, sizeof(ou) - 1) != 0 ||
        X509_NAME_get_index_by_NID(subj, NID_organizationalUnitName, i) >= 0)
        return "attestation certificate OU is not \"Authenticator Attestation\"";
    const char *problem = ca_problem(cert);
    return problem != NULL ? problem : aaguid_problem(cert, aaguid);
}

static zt_webauthn_result att_packed(const att_ctx *a, const char **type, const char **why)
{
    cbor_item_t *alg_it = NULL, *sig_it = NULL, *x5c = NULL;
    int alg = 0;
    size_t siglen = 0;
    const unsigned char *sig = NULL;
    if (map_get(a->stmt, "alg", 0, &alg_it) != 0 || !cbor_small_int(alg_it, &alg) ||
        map_get(a->stmt, "sig", 0, &sig_it) != 0 || (sig = cbor_bytes(sig_it, &siglen)) == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "packed attStmt needs integer alg and sig");
    int has_x5c = map_get(a->stmt, "x5c", 0, &x5c);
    if (has_x5c == -EINVAL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "packed attStmt x5c twice");
    if (has_x5c == -ENOENT) {
        if (alg != a->cred->alg)
            return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "packed self attestation alg differs");
        if (!verify_sig(a->cred_key, alg, a->auth_data, a->adlen, a->cd_hash, HASH_LEN, sig,
                        siglen))
            return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "packed self attestation sig invalid");
        *type = "self";
        return ZT_WEBAUTHN_OK;
    }
    if (alg != ZT_WEBAUTHN_ES256 && alg != ZT_WEBAUTHN_EDDSA && alg != ZT_WEBAUTHN_RS256)
        return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "packed attestation alg not supported");
    size_t count = 0;
    X509 *cert = first_cert(x5c, &count);
    if (cert == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "packed x5c is not an array of certificates");
    zt_webauthn_result r = ZT_WEBAUTHN_OK;
    const char *problem = packed_cert_problem(cert, a->ad->aaguid);
    EVP_PKEY *ck = X509_get0_pubkey(cert);
    if (problem == NULL)
        problem = chain_problem(x5c);
    if (problem != NULL)
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, problem);
    else if (ck == NULL || (alg == ZT_WEBAUTHN_ES256 && !pkey_is_p256(ck)) ||
             (alg == ZT_WEBAUTHN_RS256 && EVP_PKEY_get_bits(ck) < 2048) ||
             !verify_sig(ck, alg, a->auth_data, a->adlen, a->cd_hash, HASH_LEN, sig, siglen))
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "packed attestation sig invalid for x5c[0]");
    else
        *type = "basic (unverified chain)";
    X509_free(cert);
    return r;
}

static zt_webauthn_result att_fido_u2f(const att_ctx *a, const char **type, const char **why)
{
    cbor_item_t *sig_it = NULL, *x5c = NULL;
    size_t siglen = 0, count = 0;
    const unsigned char *sig = NULL;
    if (a->cred->alg != ZT_WEBAUTHN_ES256)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "fido-u2f credential key is not ES256");
    if (map_get(a->stmt, "sig", 0, &sig_it) != 0 || (sig = cbor_bytes(sig_it, &siglen)) == NULL ||
        map_get(a->stmt, "x5c", 0, &x5c) != 0 || cbor_map_size(a->stmt) != 2)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "fido-u2f attStmt needs exactly sig and x5c");
    X509 *cert = first_cert(x5c, &count);
    if (cert == NULL || count != 1) {
        X509_free(cert);
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "fido-u2f x5c is not exactly one certificate");
    }
    /* verificationData = 0x00 | rpIdHash | clientDataHash | credentialId | 0x04 | x | y */
    unsigned char head[1 + HASH_LEN + HASH_LEN + ZT_WEBAUTHN_CRED_ID_MAX + 65];
    size_t n = 0;
    head[n++] = 0x00;
    memcpy(head + n, a->ad->rp_id_hash, HASH_LEN);
    n += HASH_LEN;
    memcpy(head + n, a->cd_hash, HASH_LEN);
    n += HASH_LEN;
    memcpy(head + n, a->ad->cred_id, a->ad->cred_id_len);
    n += a->ad->cred_id_len;
    head[n++] = 0x04;
    memcpy(head + n, a->cred->x, 32);
    memcpy(head + n + 32, a->cred->y, 32);
    n += 64;
    EVP_PKEY *ck = X509_get0_pubkey(cert);
    zt_webauthn_result r = ZT_WEBAUTHN_OK;
    if (ck == NULL || !pkey_is_p256(ck))
        r = refuse(why, ZT_WEBAUTHN_BAD_INPUT, "fido-u2f certificate key is not P-256");
    else if (!verify_sig(ck, ZT_WEBAUTHN_ES256, head, n, NULL, 0, sig, siglen))
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "fido-u2f attestation sig invalid");
    else
        *type = "basic (unverified chain)";
    X509_free(cert);
    return r;
}

/* ---- tpm (§8.3; TPM 2.0 Library Part 2 for the structures) ---- */

#define TPM_GENERATED_VALUE 0xff544347u
#define TPM_ST_ATTEST_CERTIFY 0x8017u
#define TPM_ALG_RSA 0x0001u
#define TPM_ALG_SHA1 0x0004u
#define TPM_ALG_SHA256 0x000bu
#define TPM_ALG_SHA384 0x000cu
#define TPM_ALG_SHA512 0x000du
#define TPM_ALG_NULL 0x0010u
#define TPM_ALG_ECC 0x0023u
#define TPM_ECC_NIST_P256 0x0003u
#define TPM_CLOCK_INFO_LEN 17 /* clock u64, resetCount u32, restartCount u32, safe u8 */
#define TPM_FIRMWARE_LEN 8

/* COSE algorithms a TPM or an attestation CA signs with, beyond the credential ones. */
#define COSE_ES384 (-35)
#define COSE_ES512 (-36)
#define COSE_RS384 (-258)
#define COSE_RS512 (-259)
#define COSE_RS1 (-65535) /* RSASSA-PKCS1-v1_5 with SHA-1: what Windows TPMs sign certInfo with */

/* A big-endian reader over a TPM structure; a read past the end sets bad and returns 0/NULL. */
typedef struct tpm_rd {
    const unsigned char *p;
    size_t n, off;
    bool bad;
} tpm_rd;

static uint32_t rd_uint(tpm_rd *r, size_t width)
{
    if (r->bad || r->n - r->off < width) {
        r->bad = true;
        return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = v << 8 | r->p[r->off + i];
    r->off += width;
    return v;
}

static void rd_skip(tpm_rd *r, size_t len)
{
    if (r->bad || r->n - r->off < len)
        r->bad = true;
    else
        r->off += len;
}

/* A TPM2B_*: a u16 size, then that many bytes. */
static const unsigned char *rd_tpm2b(tpm_rd *r, size_t *len)
{
    *len = rd_uint(r, 2);
    const unsigned char *p = r->bad ? NULL : r->p + r->off;
    rd_skip(r, *len);
    return r->bad ? NULL : p;
}

/* A TPMT_*_SCHEME: an algorithm, and a hashAlg after it unless the algorithm is TPM_ALG_NULL. */
static void rd_scheme(tpm_rd *r)
{
    if (rd_uint(r, 2) != TPM_ALG_NULL)
        rd_skip(r, 2);
}

/* What we need of a TPMT_PUBLIC. Pointers point into pubArea. */
typedef struct tpm_public {
    uint32_t type, name_alg;
    const unsigned char *n; /* RSA modulus */
    size_t nlen;
    uint32_t exponent;          /* RSA; 0 means 65537 */
    uint32_t curve;             /* ECC */
    const unsigned char *x, *y; /* ECC point */
    size_t xlen, ylen;
} tpm_public;

/* TPMT_PUBLIC with an RSA or ECC signing key (no symmetric part), filling pubArea exactly. */
static bool tpm_parse_public(const unsigned char *p, size_t n, tpm_public *pub)
{
    tpm_rd r = {p, n, 0, false};
    size_t len = 0;
    memset(pub, 0, sizeof(*pub));
    pub->type = rd_uint(&r, 2);
    pub->name_alg = rd_uint(&r, 2);
    rd_skip(&r, 4);                     /* objectAttributes */
    rd_tpm2b(&r, &len);                 /* authPolicy */
    if (rd_uint(&r, 2) != TPM_ALG_NULL) /* parameters.symmetric: a signing key has none */
        return false;
    rd_scheme(&r);
    if (pub->type == TPM_ALG_RSA) {
        rd_skip(&r, 2); /* keyBits: the modulus says it */
        pub->exponent = rd_uint(&r, 4);
        pub->n = rd_tpm2b(&r, &pub->nlen);
    } else if (pub->type == TPM_ALG_ECC) {
        pub->curve = rd_uint(&r, 2);
        rd_scheme(&r); /* kdf */
        pub->x = rd_tpm2b(&r, &pub->xlen);
        pub->y = rd_tpm2b(&r, &pub->ylen);
    } else {
        return false;
    }
    return !r.bad && r.off == n;
}

/* The pubArea's key as an OpenSSL key, or NULL (only what a credential can be: RSA, P-256). */
static EVP_PKEY *tpm_public_key(const tpm_public *pub)
{
    if (pub->type == TPM_ALG_ECC) {
        if (pub->curve != TPM_ECC_NIST_P256 || pub->xlen != 32 || pub->ylen != 32)
            return NULL;
        return p256_key(pub->x, pub->y);
    }
    uint32_t e = pub->exponent != 0 ? pub->exponent : 65537;
    unsigned char ebytes[4] = {(unsigned char)(e >> 24), (unsigned char)(e >> 16),
                               (unsigned char)(e >> 8), (unsigned char)e};
    cose c = {.n = pub->n, .nlen = pub->nlen, .e = ebytes, .elen = sizeof(ebytes)};
    return pub->nlen > 0 && pub->nlen <= 512 ? rsa_key(&c) : NULL;
}

/* What we need of a TPMS_ATTEST. Pointers point into certInfo. */
typedef struct tpm_attest {
    uint32_t magic, type;
    const unsigned char *extra, *name;
    size_t extra_len, name_len;
} tpm_attest;

/* TPMS_ATTEST whose attested part is a TPMS_CERTIFY_INFO, filling certInfo exactly. */
static bool tpm_parse_attest(const unsigned char *p, size_t n, tpm_attest *at)
{
    tpm_rd r = {p, n, 0, false};
    size_t len = 0;
    memset(at, 0, sizeof(*at));
    at->magic = rd_uint(&r, 4);
    at->type = rd_uint(&r, 2);
    rd_tpm2b(&r, &len); /* qualifiedSigner */
    at->extra = rd_tpm2b(&r, &at->extra_len);
    rd_skip(&r, TPM_CLOCK_INFO_LEN);
    rd_skip(&r, TPM_FIRMWARE_LEN);
    at->name = rd_tpm2b(&r, &at->name_len);
    rd_tpm2b(&r, &len); /* qualifiedName */
    return !r.bad && r.off == n;
}

static const EVP_MD *tpm_name_md(uint32_t alg)
{
    switch (alg) {
    case TPM_ALG_SHA1:
        return EVP_sha1();
    case TPM_ALG_SHA256:
        return EVP_sha256();
    case TPM_ALG_SHA384:
        return EVP_sha384();
    case TPM_ALG_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* The digest of a COSE signature algorithm we verify attestation signatures with, or NULL. */
static const EVP_MD *cose_md(int alg)
{
    switch (alg) {
    case ZT_WEBAUTHN_ES256:
    case ZT_WEBAUTHN_RS256:
        return EVP_sha256();
    case COSE_ES384:
    case COSE_RS384:
        return EVP_sha384();
    case COSE_ES512:
    case COSE_RS512:
        return EVP_sha512();
    case COSE_RS1:
        return EVP_sha1();
    default:
        return NULL;
    }
}

static bool cose_alg_is_rsa(int alg)
{
    return alg == ZT_WEBAUTHN_RS256 || alg == COSE_RS384 || alg == COSE_RS512 || alg == COSE_RS1;
}

/* md(a‖b) into out (EVP_MAX_MD_SIZE bytes); *len receives its length. */
static bool digest2(const EVP_MD *md, const unsigned char *a, size_t alen, const unsigned char *b,
                    size_t blen, unsigned char *out, unsigned int *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
              EVP_DigestUpdate(ctx, a, alen) == 1 &&
              (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
              EVP_DigestFinal_ex(ctx, out, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* An ECDSA or RSASSA-PKCS1-v1_5 signature under COSE alg over msg (RSA keys of 2048+ bits). */
static bool verify_alg(EVP_PKEY *key, int alg, const unsigned char *msg, size_t len,
                       const unsigned char *sig, size_t siglen)
{
    const EVP_MD *md = cose_md(alg);
    bool rsa = cose_alg_is_rsa(alg);
    if (md == NULL || key == NULL || sig == NULL || siglen == 0 || siglen > ZT_WEBAUTHN_SIG_MAX ||
        !(rsa ? EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048
              : EVP_PKEY_is_a(key, "EC")))
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* An X509_NAME holds a non-empty attribute of this OID. */
static bool name_has(X509_NAME *name, const char *oid)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int i = o != NULL ? X509_NAME_get_index_by_OBJ(name, o, -1) : -1;
    ASN1_OBJECT_free(o);
    return i >= 0 && ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) > 0;
}

/* SAN with a directoryName naming the TPM: manufacturer, model and version (TPM EK profile
 * 3.2.9: tcg-at-tpmManufacturer 2.23.133.2.1, tpmModel .2, tpmVersion .3). */
static bool tpm_san_ok(X509 *cert)
{
    int crit = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    bool ok = false;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DIRNAME && name_has(g->d.directoryName, "2.23.133.2.1") &&
            name_has(g->d.directoryName, "2.23.133.2.2") &&
            name_has(g->d.directoryName, "2.23.133.2.3"))
            ok = true;
    }
    GENERAL_NAMES_free(names);
    return ok;
}

/* Extended key usage includes tcg-kp-AIKCertificate (2.23.133.8.3). */
static bool tpm_eku_ok(X509 *cert)
{
    int crit = 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
    ASN1_OBJECT *want = OBJ_txt2obj("2.23.133.8.3", 1);
    bool ok = false;
    for (int i = 0; eku != NULL && want != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
        if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0)
            ok = true;
    ASN1_OBJECT_free(want);
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

/* §8.3.1 TPM attestation (AIK) certificate requirements. */
static const char *aik_cert_problem(X509 *cert, const unsigned char *aaguid)
{
    if (X509_get_version(cert) != X509_VERSION_3)
        return "AIK certificate is not X.509 v3";
    if (X509_NAME_entry_count(X509_get_subject_name(cert)) != 0)
        return "AIK certificate subject is not empty";
    if (!tpm_san_ok(cert))
        return "AIK certificate SAN lacks TPM manufacturer, model and version";
    if (!tpm_eku_ok(cert))
        return "AIK certificate EKU lacks 2.23.133.8.3 (AIK certificate)";
    const char *problem = ca_problem(cert);
    return problem != NULL ? problem : aaguid_problem(cert, aaguid);
}

/* The statement's members: ver "2.0", alg, sig, x5c, certInfo, pubArea, nothing else
 * (ecdaaKeyId was dropped from WebAuthn Level 2). */
typedef struct tpm_stmt {
    int alg;
    const unsigned char *sig, *cert_info, *pub_area;
    size_t siglen, cilen, palen;
    cbor_item_t *x5c;
} tpm_stmt;

static zt_webauthn_result tpm_members(const cbor_item_t *stmt, tpm_stmt *t, const char **why)
{
    cbor_item_t *ver = NULL, *alg = NULL, *sig = NULL, *ci = NULL, *pa = NULL;
    if (map_get(stmt, "ver", 0, &ver) != 0 || !cbor_text_is(ver, "2.0"))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "tpm attStmt ver is not \"2.0\"");
    if (map_get(stmt, "alg", 0, &alg) != 0 || !cbor_small_int(alg, &t->alg) ||
        map_get(stmt, "sig", 0, &sig) != 0 || (t->sig = cbor_bytes(sig, &t->siglen)) == NULL ||
        map_get(stmt, "certInfo", 0, &ci) != 0 ||
        (t->cert_info = cbor_bytes(ci, &t->cilen)) == NULL ||
        map_get(stmt, "pubArea", 0, &pa) != 0 ||
        (t->pub_area = cbor_bytes(pa, &t->palen)) == NULL ||
        map_get(stmt, "x5c", 0, &t->x5c) != 0 || cbor_map_size(stmt) != 6)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT,
                      "tpm attStmt needs exactly ver, alg, sig, x5c, certInfo and pubArea");
    if (cose_md(t->alg) == NULL)
        return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "tpm attestation alg not supported");
    return ZT_WEBAUTHN_OK;
}

/* pubArea is the credential's key; certInfo certifies it (name) for this ceremony (extraData). */
static zt_webauthn_result tpm_check_certify(const att_ctx *a, const tpm_stmt *t, const char **why)
{
    tpm_public pub;
    if (!tpm_parse_public(t->pub_area, t->palen, &pub))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "tpm pubArea is not a TPMT_PUBLIC RSA/ECC key");
    EVP_PKEY *pk = tpm_public_key(&pub);
    bool same = pk != NULL && EVP_PKEY_eq(pk, a->cred_key) == 1;
    EVP_PKEY_free(pk);
    if (!same)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "tpm pubArea key is not the credential key");
    tpm_attest at;
    if (!tpm_parse_attest(t->cert_info, t->cilen, &at))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "tpm certInfo is not a TPMS_ATTEST");
    if (at.magic != TPM_GENERATED_VALUE)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "tpm certInfo magic is not TPM_GENERATED");
    if (at.type != TPM_ST_ATTEST_CERTIFY)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "tpm certInfo type is not ATTEST_CERTIFY");
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    if (!digest2(cose_md(t->alg), a->auth_data, a->adlen, a->cd_hash, HASH_LEN, h, &hlen) ||
        at.extra_len != hlen || CRYPTO_memcmp(at.extra, h, hlen) != 0)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE,
                      "tpm certInfo extraData is not the hash of authData and clientDataHash");
    const EVP_MD *name_md = tpm_name_md(pub.name_alg);
    if (name_md == NULL)
        return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "tpm pubArea nameAlg not supported");
    if (!digest2(name_md, t->pub_area, t->palen, NULL, 0, h, &hlen) || at.name_len != 2 + hlen ||
        (uint32_t)(at.name[0] << 8 | at.name[1]) != pub.name_alg ||
        CRYPTO_memcmp(at.name + 2, h, hlen) != 0)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "tpm certInfo name is not the pubArea's");
    return ZT_WEBAUTHN_OK;
}

static zt_webauthn_result att_tpm(const att_ctx *a, const char **type, const char **why)
{
    tpm_stmt t;
    zt_webauthn_result r = tpm_members(a->stmt, &t, why);
    if (r == ZT_WEBAUTHN_OK)
        r = tpm_check_certify(a, &t, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    size_t count = 0;
    X509 *cert = first_cert(t.x5c, &count);
    if (cert == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "tpm x5c is not an array of certificates");
    const char *problem = aik_cert_problem(cert, a->ad->aaguid);
    if (problem == NULL)
        problem = chain_problem(t.x5c);
    if (problem != NULL)
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, problem);
    else if (!verify_alg(X509_get0_pubkey(cert), t.alg, t.cert_info, t.cilen, t.sig, t.siglen))
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "tpm sig over certInfo invalid for x5c[0]");
    else
        *type = "basic (unverified chain)"; /* AttCA in the spec's terms */
    X509_free(cert);
    return r;
}

/* ---- apple (§8.8) ---- */

/* One DER header at *p (*left bytes) of this tag and class that fills *left exactly; on success
 * *p points at its contents and *left is their length. */
static bool der_enter(const unsigned char **p, long *left, int tag, int cls, bool constructed)
{
    const unsigned char *q = *p;
    long len = 0;
    int t = 0, c = 0;
    int ret = ASN1_get_object(&q, &len, &t, &c, *left);
    if ((ret & 0x80) != 0 || ret == (V_ASN1_CONSTRUCTED | 1) || t != tag || c != cls ||
        ((ret & V_ASN1_CONSTRUCTED) != 0) != constructed || (q - *p) + len != *left)
        return false;
    *p = q;
    *left = len;
    return true;
}

/* The nonce in credCert's extension 1.2.840.113635.100.8.2: SEQUENCE { [1] OCTET STRING }. */
static bool apple_nonce(X509 *cert, unsigned char out[HASH_LEN])
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113635.100.8.2", 1);
    int at = oid != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
    int again = at >= 0 ? X509_get_ext_by_OBJ(cert, oid, at) : -1;
    ASN1_OBJECT_free(oid);
    if (at < 0 || again >= 0)
        return false;
    ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(cert, at));
    const unsigned char *p = ASN1_STRING_get0_data(d);
    long left = ASN1_STRING_length(d);
    if (!der_enter(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, true) ||
        !der_enter(&p, &left, 1, V_ASN1_CONTEXT_SPECIFIC, true) ||
        !der_enter(&p, &left, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, false) || left != HASH_LEN)
        return false;
    memcpy(out, p, HASH_LEN);
    return true;
}

static zt_webauthn_result att_apple(const att_ctx *a, const char **type, const char **why)
{
    cbor_item_t *x5c = NULL;
    size_t count = 0;
    if (map_get(a->stmt, "x5c", 0, &x5c) != 0 || cbor_map_size(a->stmt) != 1)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "apple attStmt needs exactly x5c");
    X509 *cert = first_cert(x5c, &count);
    if (cert == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "apple x5c is not an array of certificates");
    unsigned char want[EVP_MAX_MD_SIZE], got[HASH_LEN];
    unsigned int wlen = 0;
    zt_webauthn_result r = ZT_WEBAUTHN_OK;
    const char *problem = NULL;
    if (!apple_nonce(cert, got))
        r = refuse(why, ZT_WEBAUTHN_BAD_INPUT,
                   "apple certificate nonce extension missing or malformed");
    else if (!digest2(EVP_sha256(), a->auth_data, a->adlen, a->cd_hash, HASH_LEN, want, &wlen) ||
             wlen != HASH_LEN || CRYPTO_memcmp(want, got, HASH_LEN) != 0)
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE,
                   "apple certificate nonce is not SHA-256(authData || clientDataHash)");
    else if (X509_get0_pubkey(cert) == NULL ||
             EVP_PKEY_eq(X509_get0_pubkey(cert), a->cred_key) != 1)
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE,
                   "apple certificate key is not the credential key");
    else if ((problem = chain_problem(x5c)) != NULL)
        r = refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, problem);
    else
        *type = "basic (unverified chain)"; /* Anonymization CA in the spec's terms */
    X509_free(cert);
    return r;
}

static zt_webauthn_result verify_statement(const char *fmt, const att_ctx *a, const char **type,
                                           const char **why)
{
    if (!cbor_isa_map(a->stmt) || !cbor_map_is_definite(a->stmt))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attStmt is not a map");
    if (strcmp(fmt, "none") == 0) {
        if (cbor_map_size(a->stmt) != 0)
            return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestation none with a non-empty attStmt");
        *type = "none";
        return ZT_WEBAUTHN_OK;
    }
    if (strcmp(fmt, "packed") == 0)
        return att_packed(a, type, why);
    if (strcmp(fmt, "fido-u2f") == 0)
        return att_fido_u2f(a, type, why);
    if (strcmp(fmt, "tpm") == 0)
        return att_tpm(a, type, why);
    if (strcmp(fmt, "apple") == 0)
        return att_apple(a, type, why);
    if (strcmp(fmt, "android-key") == 0)
        return refuse(why, ZT_WEBAUTHN_UNSUPPORTED,
                      "attestation format android-key not supported yet");
    return refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "attestation format not supported");
}

/* ---- attestation trust (auth.passkey_attestation: required) ---- */

X509_STORE *zt_webauthn_roots_load(const char *path, const char **why)
{
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL) {
        *why = "cannot be opened";
        return NULL;
    }
    X509_STORE *store = X509_STORE_new();
    size_t n = 0;
    X509 *cert = NULL;
    while (store != NULL && (cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1)
            n++;
        X509_free(cert);
    }
    fclose(f);
    ERR_clear_error(); /* the end of the file reads as an error */
    if (store == NULL || n == 0) {
        X509_STORE_free(store);
        *why = "holds no PEM certificate";
        return NULL;
    }
    return store;
}

/* x5c[0] as the leaf, the rest as untrusted intermediates, verified to a trust anchor of
 * exp->attestation_roots at exp->now. Every certificate was parsed already by the format. */
static bool chain_trusted(const zt_webauthn_expect *exp, const cbor_item_t *x5c)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *rest = sk_X509_new_null();
    X509 *leaf = der_cert(cbor_array_handle(x5c)[0]);
    bool ok = ctx != NULL && rest != NULL && leaf != NULL;
    for (size_t i = 1; ok && i < cbor_array_size(x5c); i++) {
        X509 *c = der_cert(cbor_array_handle(x5c)[i]);
        ok = c != NULL && sk_X509_push(rest, c) > 0;
        if (!ok)
            X509_free(c);
    }
    if (ok && X509_STORE_CTX_init(ctx, exp->attestation_roots, leaf, rest) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
        /* The metadata service lists intermediates as anchors too. */
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        X509_VERIFY_PARAM_set_time(param, (time_t)exp->now);
        ok = X509_verify_cert(ctx) == 1;
    } else {
        ok = false;
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    return ok;
}

/* With trust anchors: only an x5c statement that verifies to one of them is accepted. */
static zt_webauthn_result check_trust(const zt_webauthn_expect *exp, const cbor_item_t *stmt,
                                      const char **type, const char **why)
{
    if (exp->attestation_roots == NULL)
        return ZT_WEBAUTHN_OK;
    cbor_item_t *x5c = NULL;
    if (strcmp(*type, "basic (unverified chain)") != 0 || map_get(stmt, "x5c", 0, &x5c) != 0)
        return refuse(why, ZT_WEBAUTHN_UNTRUSTED,
                      "attestation required: none or self attestation has no certificate");
    if (!chain_trusted(exp, x5c))
        return refuse(why, ZT_WEBAUTHN_UNTRUSTED,
                      "attestation chain does not verify to a trusted root (or is out of date)");
    *type = "basic (trusted root)";
    return ZT_WEBAUTHN_OK;
}

/* ---- registration ---- */

/* attestationObject {fmt: text, authData: bytes, attStmt: map}, copied fmt. */
static zt_webauthn_result split_att_obj(const cbor_item_t *obj, char fmt[16],
                                        const unsigned char **ad, size_t *adlen, cbor_item_t **stmt,
                                        const char **why)
{
    cbor_item_t *f = NULL, *a = NULL;
    if (!cbor_isa_map(obj) || map_get(obj, "fmt", 0, &f) != 0 ||
        map_get(obj, "authData", 0, &a) != 0 || map_get(obj, "attStmt", 0, stmt) != 0)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestationObject lacks fmt/authData/attStmt");
    if (!cbor_isa_string(f) || !cbor_string_is_definite(f) || cbor_string_length(f) == 0 ||
        cbor_string_length(f) > 15 || memchr(cbor_string_handle(f), 0, cbor_string_length(f)))
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestationObject fmt is not a short string");
    memcpy(fmt, cbor_string_handle(f), cbor_string_length(f));
    fmt[cbor_string_length(f)] = '\0';
    if ((*ad = cbor_bytes(a, adlen)) == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestationObject authData is not bytes");
    return ZT_WEBAUTHN_OK;
}

static void fill_credential(zt_webauthn_credential *out, const zt_webauthn_auth_data *ad, int alg,
                            const char *fmt, const char *type)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, ad->cred_id, ad->cred_id_len);
    out->id_len = ad->cred_id_len;
    memcpy(out->cose_key, ad->cose_key, ad->cose_key_len);
    out->cose_key_len = ad->cose_key_len;
    out->alg = alg;
    out->sign_count = ad->sign_count;
    out->uv = (ad->flags & ZT_WEBAUTHN_UV) != 0;
    out->be = (ad->flags & ZT_WEBAUTHN_BE) != 0;
    out->bs = (ad->flags & ZT_WEBAUTHN_BS) != 0;
    memcpy(out->aaguid, ad->aaguid, AAGUID_LEN);
    snprintf(out->fmt, sizeof(out->fmt), "%s", fmt);
    out->attestation_type = type;
}

zt_webauthn_result zt_webauthn_verify_registration(const zt_webauthn_expect *exp,
                                                   const unsigned char *client_data_json,
                                                   size_t cdlen,
                                                   const unsigned char *attestation_object,
                                                   size_t aolen, zt_webauthn_credential *out,
                                                   const char **why)
{
    unsigned char cd_hash[HASH_LEN];
    zt_webauthn_result r =
        check_client_data(exp, "webauthn.create", client_data_json, cdlen, cd_hash, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    if (attestation_object == NULL || aolen == 0 || aolen > ZT_WEBAUTHN_ATT_OBJ_MAX)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestationObject empty or too long");
    cbor_item_t *obj = cbor_parse(attestation_object, aolen, NULL);
    if (obj == NULL)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "attestationObject is not one CBOR item");
    char fmt[16];
    const unsigned char *adp = NULL;
    size_t adlen = 0;
    cbor_item_t *stmt = NULL;
    zt_webauthn_auth_data ad;
    EVP_PKEY *key = NULL;
    cose c;
    const char *type = NULL;
    r = split_att_obj(obj, fmt, &adp, &adlen, &stmt, why);
    if (r == ZT_WEBAUTHN_OK)
        r = zt_webauthn_parse_auth_data(adp, adlen, &ad, why);
    if (r == ZT_WEBAUTHN_OK && !(ad.flags & ZT_WEBAUTHN_AT))
        r = refuse(why, ZT_WEBAUTHN_BAD_INPUT, "registration authData without credential (AT)");
    if (r == ZT_WEBAUTHN_OK)
        r = check_auth_flags(exp, &ad, why);
    if (r == ZT_WEBAUTHN_OK)
        r = cose_decode(ad.cose_key, ad.cose_key_len, &c, &key, why);
    if (r == ZT_WEBAUTHN_OK && !alg_allowed(exp, c.alg))
        r = refuse(why, ZT_WEBAUTHN_UNSUPPORTED, "credential alg not in the requested list");
    if (r == ZT_WEBAUTHN_OK) {
        att_ctx a = {stmt, adp, adlen, cd_hash, &ad, key, &c};
        r = verify_statement(fmt, &a, &type, why);
    }
    if (r == ZT_WEBAUTHN_OK)
        r = check_trust(exp, stmt, &type, why);
    if (r == ZT_WEBAUTHN_OK)
        fill_credential(out, &ad, c.alg, fmt, type);
    EVP_PKEY_free(key);
    cbor_decref(&obj);
    return r;
}

/* ---- authentication ---- */

zt_webauthn_result zt_webauthn_verify_assertion(const zt_webauthn_expect *exp,
                                                const zt_webauthn_stored *cred,
                                                const unsigned char *client_data_json, size_t cdlen,
                                                const unsigned char *auth_data, size_t adlen,
                                                const unsigned char *sig, size_t siglen,
                                                const unsigned char *user_handle, size_t uhlen,
                                                zt_webauthn_assertion_result *out, const char **why)
{
    /* §7.2 step 3: a user handle the authenticator returns names the account. */
    if (user_handle != NULL &&
        (uhlen != cred->user_handle_len || uhlen == 0 || uhlen > ZT_WEBAUTHN_USER_HANDLE_MAX ||
         CRYPTO_memcmp(user_handle, cred->user_handle, uhlen) != 0))
        return refuse(why, ZT_WEBAUTHN_MISMATCH, "user handle is not the credential owner's");
    unsigned char cd_hash[HASH_LEN];
    zt_webauthn_result r =
        check_client_data(exp, "webauthn.get", client_data_json, cdlen, cd_hash, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    zt_webauthn_auth_data ad;
    r = zt_webauthn_parse_auth_data(auth_data, adlen, &ad, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    if (ad.flags & ZT_WEBAUTHN_AT)
        return refuse(why, ZT_WEBAUTHN_BAD_INPUT, "assertion authData carries a credential (AT)");
    r = check_auth_flags(exp, &ad, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    bool be = (ad.flags & ZT_WEBAUTHN_BE) != 0;
    if (be != cred->be)
        return refuse(why, ZT_WEBAUTHN_FLAGS, "backup eligibility (BE) changed since registration");
    EVP_PKEY *key = NULL;
    int alg = 0;
    r = zt_webauthn_cose_key(cred->cose_key, cred->cose_key_len, &alg, &key, why);
    if (r != ZT_WEBAUTHN_OK)
        return r;
    bool ok = verify_sig(key, alg, auth_data, adlen, cd_hash, HASH_LEN, sig, siglen);
    EVP_PKEY_free(key);
    if (!ok)
        return refuse(why, ZT_WEBAUTHN_BAD_SIGNATURE, "assertion signature invalid");
    /* §7.2 step 13; 0 and 0 means the authenticator keeps no counter (synced passkeys). */
    if ((ad.sign_count != 0 || cred->sign_count != 0) && ad.sign_count <= cred->sign_count)
        return refuse(why, ZT_WEBAUTHN_CLONED, "sign counter did not grow: possible clone");
    out->sign_count = ad.sign_count;
    out->uv = (ad.flags & ZT_WEBAUTHN_UV) != 0;
    out->be = be;
    out->bs = (ad.flags & ZT_WEBAUTHN_BS) != 0;
    return ZT_WEBAUTHN_OK;
}
