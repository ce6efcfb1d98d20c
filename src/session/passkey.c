/* The WebAuthn ceremonies (passkey.h): challenges in the store, options as JSON, registration
 * and assertion verified by identity/webauthn.c, credentials and counters in the store. */
#include "session/passkey.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "identity/webauthn.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "risk/risk.h"
#include "session/session.h"

static const struct {
    const char *code;
    int http;
} status_info[] = {
    [ZT_PASSKEY_OK] = {"ok", 200},
    [ZT_PASSKEY_NO_CHALLENGE] = {"invalid_challenge", 400},
    [ZT_PASSKEY_EXPIRED] = {"challenge_expired", 400},
    [ZT_PASSKEY_BAD_INPUT] = {"malformed", 400},
    [ZT_PASSKEY_MISMATCH] = {"verification_failed", 401},
    [ZT_PASSKEY_BAD_SIGNATURE] = {"verification_failed", 401},
    [ZT_PASSKEY_FLAGS] = {"user_verification_required", 401},
    [ZT_PASSKEY_UNSUPPORTED] = {"unsupported", 400},
    [ZT_PASSKEY_UNKNOWN_CRED] = {"unknown_credential", 401},
    [ZT_PASSKEY_USER_MISMATCH] = {"user_mismatch", 401},
    [ZT_PASSKEY_CLONED] = {"cloned_credential", 401},
    [ZT_PASSKEY_RACE] = {"verification_failed", 409},
    [ZT_PASSKEY_EXISTS] = {"credential_exists", 409},
    [ZT_PASSKEY_FULL] = {"too_many_credentials", 409},
    [ZT_PASSKEY_WRONG_SESSION] = {"invalid_challenge", 400},
    [ZT_PASSKEY_NOT_ALLOWED] = {"key_not_allowed", 403},
    [ZT_PASSKEY_ATTESTATION] = {"attestation_required", 403},
    [ZT_PASSKEY_ERROR] = {"unavailable", 503},
};

const char *zt_passkey_status_code(zt_passkey_status s)
{
    return (unsigned)s <= ZT_PASSKEY_ERROR ? status_info[s].code : "unavailable";
}

int zt_passkey_status_http(zt_passkey_status s)
{
    return (unsigned)s <= ZT_PASSKEY_ERROR ? status_info[s].http : 503;
}

/* ---- base64url and bindings ---- */

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Strict base64url without padding into out (at most cap bytes); false on anything else. */
static bool unb64url(const char *in, size_t len, unsigned char *out, size_t cap, size_t *n)
{
    const char *end = NULL;
    return in != NULL && len > 0 &&
           sodium_base642bin(out, cap, in, len, NULL, n, &end,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
           end == in + len;
}

static void sha256_hex(const unsigned char *p, size_t n, char out[ZT_STORE_WA_BINDING_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(out, ZT_STORE_WA_BINDING_LEN + 1, h, sizeof(h));
}

void zt_passkey_binding_new(char cookie[ZT_PASSKEY_BINDING_COOKIE_LEN + 1],
                            char binding[ZT_STORE_WA_BINDING_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    b64url(raw, sizeof(raw), cookie, ZT_PASSKEY_BINDING_COOKIE_LEN + 1);
    sha256_hex((const unsigned char *)cookie, ZT_PASSKEY_BINDING_COOKIE_LEN, binding);
    zt_wipe(raw, sizeof(raw));
}

bool zt_passkey_binding_of(const char *cookie, size_t len,
                           char binding[ZT_STORE_WA_BINDING_LEN + 1])
{
    unsigned char raw[32];
    size_t n = 0;
    if (len != ZT_PASSKEY_BINDING_COOKIE_LEN || !unb64url(cookie, len, raw, sizeof(raw), &n) ||
        n != sizeof(raw))
        return false;
    sha256_hex((const unsigned char *)cookie, len, binding);
    return true;
}

/* ---- which keys are allowed ---- */

bool zt_passkey_aaguid_parse(const char *s, unsigned char out[16])
{
    return zt_uuid_parse(s, out);
}

/* Whether the rules let a key of this AAGUID register or sign in. */
static bool aaguid_allowed(const zt_passkey_rules *rules, const unsigned char aaguid[16])
{
    if (rules == NULL || rules->n_aaguids == 0)
        return true;
    unsigned char want[16];
    for (size_t i = 0; i < rules->n_aaguids; i++)
        if (zt_passkey_aaguid_parse(rules->aaguids[i].s, want) && memcmp(want, aaguid, 16) == 0)
            return true;
    return false;
}

/* ---- options ---- */

static bool has_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Keep a new challenge for who and purpose; raw receives its bytes. */
static zt_passkey_status keep_challenge(zt_store *st, const zt_passkey_who *who,
                                        const char *purpose, const char *rd, bool uv, int64_t now,
                                        unsigned char raw[ZT_STORE_WA_CHALLENGE_LEN])
{
    zt_store_webauthn_challenge c = {.uv_required = uv, .expires_at = now + ZT_PASSKEY_TIMEOUT_S};
    randombytes_buf(c.challenge, sizeof(c.challenge));
    memcpy(raw, c.challenge, sizeof(c.challenge));
    snprintf(c.binding, sizeof(c.binding), "%s", who->binding);
    snprintf(c.purpose, sizeof(c.purpose), "%s", purpose);
    snprintf(c.user_id, sizeof(c.user_id), "%s", has_text(who->user_id) ? who->user_id : "");
    snprintf(c.session_hash, sizeof(c.session_hash), "%s",
             has_text(who->session_hash) ? who->session_hash : "");
    if (rd != NULL && strlen(rd) <= ZT_STORE_WA_RD_MAX)
        snprintf(c.rd, sizeof(c.rd), "%s", rd);
    int rc = zt_store_webauthn_challenge_put(st, &c, now);
    return rc == 0 ? ZT_PASSKEY_OK : rc == -EINVAL ? ZT_PASSKEY_BAD_INPUT : ZT_PASSKEY_ERROR;
}

static json_t *b64_json(const unsigned char *p, size_t n)
{
    char buf[ZT_PASSKEY_ID_B64_MAX + 1];
    b64url(p, n, buf, sizeof(buf));
    return json_string(buf);
}

/* {id, type, transports} of each of a user's credentials (excludeCredentials,
 * allowCredentials). */
static int add_descriptor(void *ctx, const zt_store_webauthn_cred *c)
{
    json_t *d = json_pack("{s:o, s:s}", "id", b64_json(c->id, c->id_len), "type", "public-key");
    json_t *tr = json_array();
    for (const char *p = c->transports; p[0] != '\0';) {
        size_t w = strcspn(p, ",");
        json_array_append_new(tr, json_stringn(p, w));
        p += w + (p[w] == ',');
    }
    if (d == NULL || tr == NULL) {
        json_decref(d);
        json_decref(tr);
        return -ENOMEM;
    }
    json_object_set_new(d, "transports", tr);
    return json_array_append_new(ctx, d) == 0 ? 0 : -ENOMEM;
}

static json_t *descriptors(zt_store *st, const char *user_id)
{
    json_t *a = json_array();
    if (a != NULL && has_text(user_id) && zt_store_webauthn_list(st, user_id, add_descriptor, a)) {
        json_decref(a);
        return NULL;
    }
    return a;
}

zt_passkey_status zt_passkey_register_options(zt_store *st, const zt_passkey_rp *rp,
                                              const zt_passkey_who *who, const char *attachment,
                                              int64_t now, json_t **out)
{
    *out = NULL;
    if (!has_text(who->user_id) || !has_text(who->email))
        return ZT_PASSKEY_WRONG_SESSION;
    unsigned char handle[ZT_STORE_WA_HANDLE_LEN], raw[ZT_STORE_WA_CHALLENGE_LEN];
    if (zt_store_webauthn_handle(st, who->user_id, true, handle) != 0)
        return ZT_PASSKEY_ERROR;
    zt_passkey_status s = keep_challenge(st, who, "register", NULL, true, now, raw);
    if (s != ZT_PASSKEY_OK)
        return s;
    json_t *exclude = descriptors(st, who->user_id);
    if (exclude == NULL)
        return ZT_PASSKEY_ERROR;
    json_t *sel = json_pack("{s:s, s:b, s:s}", "residentKey", "required", "requireResidentKey", 1,
                            "userVerification", "required");
    if (sel != NULL && attachment != NULL)
        json_object_set_new(sel, "authenticatorAttachment", json_string(attachment));
    *out = json_pack(
        "{s:{s:s, s:s}, s:{s:o, s:s, s:s}, s:o, s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], s:i, "
        "s:o, s:o, s:s}",
        "rp", "id", rp->rp_id, "name", rp->name, "user", "id", b64_json(handle, sizeof(handle)),
        "name", who->email, "displayName",
        has_text(who->display_name) ? who->display_name : who->email, "challenge",
        b64_json(raw, sizeof(raw)), "pubKeyCredParams", "type", "public-key", "alg",
        ZT_WEBAUTHN_ES256, "type", "public-key", "alg", ZT_WEBAUTHN_EDDSA, "type", "public-key",
        "alg", ZT_WEBAUTHN_RS256, "timeout", ZT_PASSKEY_TIMEOUT_S * 1000, "excludeCredentials",
        exclude, "authenticatorSelection", sel, "attestation", "direct");
    return *out != NULL ? ZT_PASSKEY_OK : ZT_PASSKEY_ERROR;
}

zt_passkey_status zt_passkey_login_options(zt_store *st, const zt_passkey_rp *rp,
                                           const zt_passkey_who *who, const char *rd, int64_t now,
                                           json_t **out)
{
    *out = NULL;
    bool passwordless = !has_text(who->user_id);
    unsigned char raw[ZT_STORE_WA_CHALLENGE_LEN];
    zt_passkey_status s = keep_challenge(st, who, "login", rd, passwordless, now, raw);
    if (s != ZT_PASSKEY_OK)
        return s;
    json_t *allow = descriptors(st, who->user_id);
    if (allow == NULL)
        return ZT_PASSKEY_ERROR;
    *out = json_pack("{s:o, s:i, s:s, s:o, s:s}", "challenge", b64_json(raw, sizeof(raw)),
                     "timeout", ZT_PASSKEY_TIMEOUT_S * 1000, "rpId", rp->rp_id, "allowCredentials",
                     allow, "userVerification", passwordless ? "required" : "preferred");
    return *out != NULL ? ZT_PASSKEY_OK : ZT_PASSKEY_ERROR;
}

/* ---- reading the response JSON ---- */

/* A base64url string member of obj, decoded into a fresh buffer of up to cap bytes. */
typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

static bool get_b64(const json_t *obj, const char *key, size_t cap, bytes *out)
{
    const json_t *v = json_object_get(obj, key);
    out->p = NULL;
    out->n = 0;
    if (!json_is_string(v) || cap == 0)
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > cap / 3 * 4 + 4)
        return false;
    out->p = malloc(cap);
    if (out->p == NULL)
        return false;
    if (!unb64url(s, len, out->p, cap, &out->n)) {
        free(out->p);
        out->p = NULL;
        return false;
    }
    return true;
}

static void bytes_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
}

static zt_passkey_status from_webauthn(zt_webauthn_result r)
{
    switch (r) {
    case ZT_WEBAUTHN_OK:
        return ZT_PASSKEY_OK;
    case ZT_WEBAUTHN_BAD_INPUT:
        return ZT_PASSKEY_BAD_INPUT;
    case ZT_WEBAUTHN_MISMATCH:
        return ZT_PASSKEY_MISMATCH;
    case ZT_WEBAUTHN_BAD_SIGNATURE:
        return ZT_PASSKEY_BAD_SIGNATURE;
    case ZT_WEBAUTHN_FLAGS:
        return ZT_PASSKEY_FLAGS;
    case ZT_WEBAUTHN_CLONED:
        return ZT_PASSKEY_CLONED;
    case ZT_WEBAUTHN_UNSUPPORTED:
        return ZT_PASSKEY_UNSUPPORTED;
    case ZT_WEBAUTHN_UNTRUSTED:
        return ZT_PASSKEY_ATTESTATION;
    }
    return ZT_PASSKEY_ERROR;
}

/* Take this browser's challenge of `purpose`. */
static zt_passkey_status take(zt_store *st, const char *binding, const char *purpose, int64_t now,
                              zt_store_webauthn_challenge *c, const char **why)
{
    int rc = zt_store_webauthn_challenge_take(st, binding, purpose, now, c);
    if (rc == 0)
        return ZT_PASSKEY_OK;
    *why = rc == -ETIMEDOUT ? "challenge expired"
           : rc == -ENOENT  ? "no challenge for this browser (replayed, or another browser's)"
                            : "store error";
    return rc == -ETIMEDOUT ? ZT_PASSKEY_EXPIRED
           : rc == -ENOENT  ? ZT_PASSKEY_NO_CHALLENGE
           : rc == -EINVAL  ? ZT_PASSKEY_NO_CHALLENGE
                            : ZT_PASSKEY_ERROR;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* The user's label for the credential: 1..64 bytes, no control characters; default Passkey. */
static bool read_name(const json_t *body, char out[ZT_STORE_WA_NAME_MAX + 1])
{
    const json_t *v = json_object_get(body, "name");
    if (v == NULL || json_is_null(v)) {
        snprintf(out, ZT_STORE_WA_NAME_MAX + 1, "%s", ZT_PASSKEY_NAME_DEFAULT);
        return true;
    }
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n > ZT_STORE_WA_NAME_MAX)
        return false;
    const char *s = json_string_value(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* Whether the JSON array a holds the string word. */
static bool array_has(const json_t *a, const char *word)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (v != NULL && strcmp(v, word) == 0)
            return true;
    }
    return false;
}

/* transports: the known words the browser listed, in a fixed order, joined by commas, each
 * once (the store's rule); anything else is dropped. All of them fit the store's limit. */
static void read_transports(const json_t *resp, char out[ZT_STORE_WA_TRANSPORTS_MAX + 1])
{
    static const char *const words[] = {ZT_STORE_WA_TRANSPORT_WORDS};
    const json_t *a = json_object_get(resp, "transports");
    out[0] = '\0';
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t at = strlen(out);
        if (array_has(a, words[w]))
            snprintf(out + at, ZT_STORE_WA_TRANSPORTS_MAX + 1 - at, "%s%s", at ? "," : "",
                     words[w]);
    }
}

static bool response_parts(const json_t *body, const json_t **resp, const char **why)
{
    const json_t *type = json_object_get(body, "type");
    *resp = json_object_get(body, "response");
    if (!json_is_object(body) || !json_is_object(*resp) || !json_is_string(type) ||
        strcmp(json_string_value(type), "public-key") != 0) {
        *why = "not a public-key credential response";
        return false;
    }
    return true;
}

/* ---- registration ---- */

static zt_passkey_status store_credential(zt_store *st, const char *user_id,
                                          const zt_webauthn_credential *wc, const char *name,
                                          const char *transports, int64_t now)
{
    zt_store_webauthn_cred *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ZT_PASSKEY_ERROR;
    memcpy(c->id, wc->id, wc->id_len);
    c->id_len = wc->id_len;
    snprintf(c->user_id, sizeof(c->user_id), "%s", user_id);
    snprintf(c->name, sizeof(c->name), "%s", name);
    memcpy(c->cose_key, wc->cose_key, wc->cose_key_len);
    c->cose_key_len = wc->cose_key_len;
    c->alg = wc->alg;
    c->sign_count = wc->sign_count;
    c->uv = wc->uv;
    c->be = wc->be;
    c->bs = wc->bs;
    memcpy(c->aaguid, wc->aaguid, sizeof(c->aaguid));
    snprintf(c->fmt, sizeof(c->fmt), "%s", wc->fmt);
    snprintf(c->attestation_type, sizeof(c->attestation_type), "%s", wc->attestation_type);
    snprintf(c->transports, sizeof(c->transports), "%s", transports);
    c->created_at = now;
    int rc = zt_store_webauthn_add(st, c);
    free(c);
    return rc == 0         ? ZT_PASSKEY_OK
           : rc == -EEXIST ? ZT_PASSKEY_EXISTS
           : rc == -ENOSPC ? ZT_PASSKEY_FULL
                           : ZT_PASSKEY_ERROR;
}

/* The bytes checked against the challenge, with the trust anchors when attestation is
 * required (read now: a changed bundle counts from the next registration). */
static zt_passkey_status verify_registration(const zt_passkey_rp *rp,
                                             const zt_store_webauthn_challenge *ch, const bytes *cd,
                                             const bytes *ao, int64_t now,
                                             zt_webauthn_credential *wc, const char **why)
{
    zt_webauthn_expect exp = {.rp_id = rp->rp_id,
                              .origins = &rp->origin,
                              .n_origins = 1,
                              .challenge = ch->challenge,
                              .challenge_len = sizeof(ch->challenge),
                              .require_uv = ch->uv_required,
                              .now = now};
    const char *roots = rp->rules != NULL ? rp->rules->attestation_roots : NULL;
    if (roots != NULL && (exp.attestation_roots = zt_webauthn_roots_load(roots, why)) == NULL) {
        *why = "auth.passkey_attestation_roots cannot be read";
        return ZT_PASSKEY_ERROR; /* fail closed */
    }
    zt_passkey_status s =
        from_webauthn(zt_webauthn_verify_registration(&exp, cd->p, cd->n, ao->p, ao->n, wc, why));
    X509_STORE_free(exp.attestation_roots);
    return s;
}

zt_passkey_status zt_passkey_register_verify(zt_store *st, const zt_passkey_rp *rp,
                                             const zt_passkey_who *who, const json_t *body,
                                             int64_t now, zt_passkey_registered *out)
{
    memset(out, 0, sizeof(*out));
    zt_store_webauthn_challenge ch;
    zt_passkey_status s = take(st, who->binding, "register", now, &ch, &out->why);
    if (s != ZT_PASSKEY_OK)
        return s;
    if (!same(ch.user_id, who->user_id) || !same(ch.session_hash, who->session_hash)) {
        out->why = "challenge asked by another session";
        return ZT_PASSKEY_WRONG_SESSION;
    }
    const json_t *resp = NULL;
    if (!response_parts(body, &resp, &out->why))
        return ZT_PASSKEY_BAD_INPUT;
    if (!read_name(body, out->name)) {
        out->why = "name must be 1..64 bytes without control characters";
        return ZT_PASSKEY_BAD_INPUT;
    }
    bytes cd = {0}, ao = {0};
    zt_webauthn_credential *wc = calloc(1, sizeof(*wc));
    if (wc == NULL)
        return ZT_PASSKEY_ERROR;
    if (!get_b64(resp, "clientDataJSON", ZT_WEBAUTHN_CLIENT_DATA_MAX, &cd) ||
        !get_b64(resp, "attestationObject", ZT_WEBAUTHN_ATT_OBJ_MAX, &ao)) {
        out->why = "clientDataJSON or attestationObject missing or not base64url";
        s = ZT_PASSKEY_BAD_INPUT;
    } else {
        s = verify_registration(rp, &ch, &cd, &ao, now, wc, &out->why);
    }
    if (s == ZT_PASSKEY_OK && !aaguid_allowed(rp->rules, wc->aaguid)) {
        out->why = "the key's AAGUID is not in auth.passkey_aaguids";
        s = ZT_PASSKEY_NOT_ALLOWED;
    }
    if (s == ZT_PASSKEY_OK) {
        char transports[ZT_STORE_WA_TRANSPORTS_MAX + 1];
        read_transports(resp, transports);
        s = store_credential(st, who->user_id, wc, out->name, transports, now);
        out->why = s == ZT_PASSKEY_EXISTS ? "credential id registered already"
                   : s == ZT_PASSKEY_FULL ? "the user has the most passkeys allowed"
                   : s != ZT_PASSKEY_OK   ? "store error"
                                          : NULL;
    }
    if (s == ZT_PASSKEY_OK) {
        memcpy(out->id, wc->id, wc->id_len);
        out->id_len = wc->id_len;
        b64url(wc->id, wc->id_len, out->id_b64, sizeof(out->id_b64));
        snprintf(out->fmt, sizeof(out->fmt), "%s", wc->fmt);
        snprintf(out->attestation, sizeof(out->attestation), "%s", wc->attestation_type);
        sodium_bin2hex(out->aaguid_hex, sizeof(out->aaguid_hex), wc->aaguid, sizeof(wc->aaguid));
        out->be = wc->be;
    }
    bytes_free(&cd);
    bytes_free(&ao);
    free(wc);
    return s;
}

/* ---- authentication ---- */

typedef struct assertion_in {
    bytes id, cd, ad, sig, uh;
    bool has_uh;
} assertion_in;

static void assertion_free(assertion_in *a)
{
    bytes_free(&a->id);
    bytes_free(&a->cd);
    bytes_free(&a->ad);
    bytes_free(&a->sig);
    bytes_free(&a->uh);
}

static bool read_assertion(const json_t *body, assertion_in *a, const char **why)
{
    const json_t *resp = NULL;
    if (!response_parts(body, &resp, why))
        return false;
    const json_t *uh = json_object_get(resp, "userHandle");
    a->has_uh =
        uh != NULL && !json_is_null(uh) && !(json_is_string(uh) && json_string_length(uh) == 0);
    if (!get_b64(body, "rawId", ZT_WEBAUTHN_CRED_ID_MAX, &a->id) ||
        !get_b64(resp, "clientDataJSON", ZT_WEBAUTHN_CLIENT_DATA_MAX, &a->cd) ||
        !get_b64(resp, "authenticatorData", ZT_WEBAUTHN_AUTH_DATA_MAX, &a->ad) ||
        !get_b64(resp, "signature", ZT_WEBAUTHN_SIG_MAX, &a->sig) ||
        (a->has_uh && !get_b64(resp, "userHandle", ZT_WEBAUTHN_USER_HANDLE_MAX, &a->uh))) {
        *why = "rawId, clientDataJSON, authenticatorData, signature or userHandle missing or not "
               "base64url";
        return false;
    }
    return true;
}

static void cloned_detection(zt_store *st, const zt_store_webauthn_cred *c, uint32_t seen,
                             int64_t now, zt_passkey_login *out)
{
    char ev[256];
    char id[49];
    b64url(c->id, c->id_len < 32 ? c->id_len : 32, id, sizeof(id));
    snprintf(ev, sizeof(ev),
             "{\"credential\":\"%s\",\"stored_counter\":%u,\"presented_counter\":%u}", id,
             c->sign_count, seen);
    zt_risk_event rev;
    if (zt_risk_cloned_credential(st, c->user_id, ev, now, &rev) == 0)
        out->detection_id = rev.detection_id;
}

/* The counter the authenticator presented (for the evidence of a clone); 0 if unreadable. */
static uint32_t presented_counter(const bytes *ad)
{
    zt_webauthn_auth_data d;
    const char *why = NULL;
    return zt_webauthn_parse_auth_data(ad->p, ad->n, &d, &why) == ZT_WEBAUTHN_OK ? d.sign_count : 0;
}

static zt_passkey_status check_assertion(zt_store *st, const zt_passkey_rp *rp,
                                         const zt_store_webauthn_challenge *ch,
                                         const zt_store_webauthn_cred *c, const assertion_in *a,
                                         int64_t now, zt_passkey_login *out)
{
    if (c->cloned_at != 0) {
        out->why = "credential marked as possibly cloned";
        return ZT_PASSKEY_CLONED;
    }
    unsigned char handle[ZT_STORE_WA_HANDLE_LEN];
    int rc = zt_store_webauthn_handle(st, c->user_id, true, handle);
    if (rc != 0)
        return ZT_PASSKEY_ERROR;
    if (a->has_uh && (a->uh.n != sizeof(handle) || sodium_memcmp(a->uh.p, handle, a->uh.n))) {
        out->why = "userHandle is not the credential owner's";
        return ZT_PASSKEY_USER_MISMATCH;
    }
    zt_webauthn_expect exp = {.rp_id = rp->rp_id,
                              .origins = &rp->origin,
                              .n_origins = 1,
                              .challenge = ch->challenge,
                              .challenge_len = sizeof(ch->challenge),
                              .require_uv = ch->uv_required};
    zt_webauthn_stored stored = {.cose_key = c->cose_key,
                                 .cose_key_len = c->cose_key_len,
                                 .sign_count = c->sign_count,
                                 .be = c->be,
                                 .user_handle = handle,
                                 .user_handle_len = sizeof(handle)};
    zt_webauthn_assertion_result res;
    zt_passkey_status s = from_webauthn(zt_webauthn_verify_assertion(
        &exp, &stored, a->cd.p, a->cd.n, a->ad.p, a->ad.n, a->sig.p, a->sig.n,
        a->has_uh ? a->uh.p : NULL, a->has_uh ? a->uh.n : 0, &res, &out->why));
    if (s == ZT_PASSKEY_CLONED) {
        /* Marked first: even if the detection cannot be stored, the key signs nobody in. */
        if (zt_store_webauthn_mark_cloned(st, c->id, c->id_len, now) != 0)
            return ZT_PASSKEY_ERROR;
        cloned_detection(st, c, presented_counter(&a->ad), now, out);
        return s;
    }
    if (s != ZT_PASSKEY_OK)
        return s;
    /* Proven, but of a kind the configuration no longer allows (changed since it registered). */
    if (!aaguid_allowed(rp->rules, c->aaguid)) {
        out->why = "the key's AAGUID is no longer in auth.passkey_aaguids";
        return ZT_PASSKEY_NOT_ALLOWED;
    }
    rc = zt_store_webauthn_used(st, c->id, c->id_len, c->sign_count, res.sign_count, res.uv, res.bs,
                                now);
    if (rc == -EAGAIN) {
        out->why = "the sign counter moved under this assertion";
        return ZT_PASSKEY_RACE;
    }
    if (rc != 0) {
        out->why = "store error";
        return rc == -ENOENT ? ZT_PASSKEY_UNKNOWN_CRED : ZT_PASSKEY_ERROR;
    }
    out->uv = res.uv;
    out->be = res.be;
    out->amr = zt_amr_of_passkey(res.be, res.uv);
    memcpy(out->aaguid, c->aaguid, sizeof(out->aaguid));
    return ZT_PASSKEY_OK;
}

zt_passkey_status zt_passkey_login_verify(zt_store *st, const zt_passkey_rp *rp,
                                          const char *binding, const json_t *body, int64_t now,
                                          zt_passkey_login *out)
{
    memset(out, 0, sizeof(*out));
    zt_store_webauthn_challenge ch;
    zt_passkey_status s = take(st, binding, "login", now, &ch, &out->why);
    if (s != ZT_PASSKEY_OK)
        return s;
    out->passwordless = ch.user_id[0] == '\0';
    snprintf(out->session_hash, sizeof(out->session_hash), "%s", ch.session_hash);
    snprintf(out->rd, sizeof(out->rd), "%s", ch.rd);
    assertion_in a = {0};
    zt_store_webauthn_cred *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ZT_PASSKEY_ERROR;
    if (!read_assertion(body, &a, &out->why)) {
        s = ZT_PASSKEY_BAD_INPUT;
    } else if (out->passwordless && !a.has_uh) {
        out->why = "passwordless sign-in without a userHandle";
        s = ZT_PASSKEY_BAD_INPUT;
    } else {
        int rc = zt_store_webauthn_get(st, a.id.p, a.id.n, c);
        if (rc == -ENOENT || rc == -EINVAL ||
            (rc == 0 && !out->passwordless && strcmp(c->user_id, ch.user_id) != 0)) {
            out->why = rc == 0 ? "credential of another user" : "unknown credential id";
            s = ZT_PASSKEY_UNKNOWN_CRED;
        } else if (rc != 0) {
            out->why = "store error";
            s = ZT_PASSKEY_ERROR;
        } else {
            snprintf(out->user_id, sizeof(out->user_id), "%s", c->user_id);
            snprintf(out->name, sizeof(out->name), "%s", c->name);
            b64url(c->id, c->id_len, out->id_b64, sizeof(out->id_b64));
            s = check_assertion(st, rp, &ch, c, &a, now, out);
        }
    }
    assertion_free(&a);
    free(c);
    return s;
}
