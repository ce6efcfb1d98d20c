/* The pure parts of the OpenID Connect provider: authorize parameter checks (in the order that
 * keeps a bad redirect URI from ever being redirected to), PKCE, exact redirect URI matching,
 * the Basic client authentication header and the amr/acr values of a session. No request, no
 * store: unit-tested (tests/unit/test_oidc.c) and fuzzed (fuzz/fuzz_oidc_authorize.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "idp/oidc.h"
#include "lib/b64.h"
#include "lib/secure.h"
#include "session/session.h"

const zt_app_cfg *zt_oidc_client(const zt_config *cfg, const char *client_id, size_t n)
{
    for (size_t i = 0; cfg != NULL && client_id != NULL && i < cfg->n_apps; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (a->kind == ZT_APP_OIDC && a->oidc.client_id != NULL && strlen(a->oidc.client_id) == n &&
            memcmp(a->oidc.client_id, client_id, n) == 0)
            return a;
    }
    return NULL;
}

/* Simple string comparison (OIDC Core 3.1.2.1, RFC 9700 4.1.3): no normalisation, no prefix,
 * no pattern. A lookalike (a port, a userinfo@, an encoded byte, a suffix) is another URI. */
static bool in_list(const zt_cfg_word *w, size_t n_w, const char *uri, size_t n)
{
    for (size_t i = 0; uri != NULL && i < n_w; i++)
        if (w[i].s != NULL && strlen(w[i].s) == n && memcmp(w[i].s, uri, n) == 0)
            return true;
    return false;
}

bool zt_oidc_redirect_uri_ok(const zt_oidc_client_cfg *c, const char *uri, size_t n)
{
    return in_list(c->redirect_uris, c->n_redirect_uris, uri, n);
}

bool zt_oidc_post_logout_uri_ok(const zt_oidc_client_cfg *c, const char *uri, size_t n)
{
    return in_list(c->post_logout_redirect_uris, c->n_post_logout_redirect_uris, uri, n);
}

static bool b64url_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

bool zt_oidc_pkce_challenge_ok(const char *s, size_t n)
{
    return s != NULL && n == 43 && b64url_chars(s, n);
}

/* RFC 7636 4.1: 43..128 characters of [A-Za-z0-9-._~]. */
static bool verifier_ok(const char *v, size_t n)
{
    if (v == NULL || n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!b64url_chars(v + i, 1) && v[i] != '.' && v[i] != '~')
            return false;
    return true;
}

bool zt_oidc_pkce_verify(const char *challenge, const char *verifier, size_t n)
{
    if (challenge == NULL || strlen(challenge) != 43 || !verifier_ok(verifier, n))
        return false;
    unsigned char h[crypto_hash_sha256_BYTES];
    char enc[64];
    crypto_hash_sha256(h, (const unsigned char *)verifier, n);
    sodium_bin2base64(enc, sizeof(enc), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return zt_ct_eq(enc, challenge, 43);
}

bool zt_oidc_scope_has(const char *scope, const char *w)
{
    size_t wn = strlen(w);
    for (const char *p = scope; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == wn && memcmp(p, w, n) == 0)
            return true;
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

const char *zt_oidc_authz_err_code(zt_oidc_authz_err e)
{
    switch (e) {
    case ZT_OIDC_AUTHZ_UNSUPPORTED_RESPONSE_TYPE:
        return "unsupported_response_type";
    case ZT_OIDC_AUTHZ_INVALID_SCOPE:
        return "invalid_scope";
    case ZT_OIDC_AUTHZ_REQUEST_NOT_SUPPORTED:
        return "request_not_supported";
    case ZT_OIDC_AUTHZ_REQUEST_URI_NOT_SUPPORTED:
        return "request_uri_not_supported";
    default:
        return "invalid_request";
    }
}

/* Space-separated words of prompt: none and login known, select_account and consent accepted
 * (there is one account and no consent screen), none with anything else refused. */
static bool parse_prompt(const char *s, unsigned *out)
{
    unsigned bits = 0, words = 0;
    for (const char *p = s; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == 4 && memcmp(p, "none", 4) == 0)
            bits |= ZT_OIDC_PROMPT_NONE;
        else if (n == 5 && memcmp(p, "login", 5) == 0)
            bits |= ZT_OIDC_PROMPT_LOGIN;
        else if (!(n == 7 && memcmp(p, "consent", 7) == 0) &&
                 !(n == 14 && memcmp(p, "select_account", 14) == 0))
            return false;
        words += n > 0;
        p += n;
        p += strspn(p, " ");
    }
    *out = bits;
    return !((bits & ZT_OIDC_PROMPT_NONE) && words > 1);
}

/* A decimal number of seconds, 0..10 years; -1 when s is NULL. */
static bool parse_seconds(const char *s, int64_t *out)
{
    *out = -1;
    if (s == NULL)
        return true;
    size_t n = strlen(s);
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return v <= 10LL * 366 * 24 * 3600;
}

/* acr_values is voluntary (Core 5.5.1.1): the values we know raise what we ask, others are
 * ignored. */
static unsigned parse_acr_values(const char *s)
{
    unsigned want = 0;
    if (s == NULL)
        return 0;
    if (zt_oidc_scope_has(s, ZT_OIDC_ACR_PHR))
        want |= ZT_OIDC_WANT_PHR | ZT_OIDC_WANT_MFA;
    if (zt_oidc_scope_has(s, ZT_OIDC_ACR_MFA))
        want |= ZT_OIDC_WANT_MFA;
    return want;
}

static const char *get(const zt_form *f, const char *name)
{
    return zt_form_get(f, name, NULL);
}

/* The checks whose failure is sent back to the (validated) redirect URI. */
static zt_oidc_authz_err check_request(const zt_form *f, zt_oidc_authz *az)
{
    const char *rt = get(f, "response_type"), *method = get(f, "code_challenge_method");
    const char *mode = get(f, "response_mode");
    if (get(f, "request") != NULL)
        return az->error_description = "request objects are not supported",
               ZT_OIDC_AUTHZ_REQUEST_NOT_SUPPORTED;
    if (get(f, "request_uri") != NULL)
        return az->error_description = "request_uri is not supported",
               ZT_OIDC_AUTHZ_REQUEST_URI_NOT_SUPPORTED;
    if (rt == NULL || strcmp(rt, "code") != 0)
        return az->error_description = "only response_type=code is supported",
               ZT_OIDC_AUTHZ_UNSUPPORTED_RESPONSE_TYPE;
    if (az->scope == NULL || !zt_oidc_scope_has(az->scope, "openid"))
        return az->error_description = "scope must contain openid", ZT_OIDC_AUTHZ_INVALID_SCOPE;
    if (mode != NULL && strcmp(mode, "query") != 0)
        return az->error_description = "only response_mode=query is supported",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    if (az->code_challenge != NULL && (method == NULL || strcmp(method, "S256") != 0))
        return az->error_description = "code_challenge_method must be S256 (plain is refused)",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    if (az->code_challenge == NULL && method != NULL)
        return az->error_description = "code_challenge_method without code_challenge",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    if (az->code_challenge != NULL &&
        !zt_oidc_pkce_challenge_ok(az->code_challenge, strlen(az->code_challenge)))
        return az->error_description = "code_challenge must be 43 base64url characters",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    const zt_oidc_client_cfg *c = &az->app->oidc;
    bool pkce_needed = c->client_auth == ZT_OIDC_AUTH_NONE || c->require_pkce;
    if (pkce_needed && az->code_challenge == NULL)
        return az->error_description = "this client must use PKCE (S256)",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    if (!parse_prompt(get(f, "prompt"), &az->prompt))
        return az->error_description = "prompt is not valid", ZT_OIDC_AUTHZ_INVALID_REQUEST;
    if (!parse_seconds(get(f, "max_age"), &az->max_age))
        return az->error_description = "max_age is not a number of seconds",
               ZT_OIDC_AUTHZ_INVALID_REQUEST;
    az->reauth_marker = get(f, ZT_OIDC_REAUTH_PARAM);
    az->acr_wanted = parse_acr_values(get(f, "acr_values"));
    return ZT_OIDC_AUTHZ_OK;
}

zt_oidc_authz_err zt_oidc_authz_parse(const zt_config *cfg, const char *params, size_t len,
                                      zt_form *form, zt_oidc_authz *az)
{
    memset(az, 0, sizeof(*az));
    az->max_age = -1;
    /* Real relying parties send more than a portal form has (ui_locales, login_hint, claims,
     * their own extras): the authorize request gets its own cap. */
    if (zt_form_parse_max(form, params, len, ZT_OIDC_AUTHZ_MAX_PARAMS) != ZT_FORM_OK)
        return az->error_description = "the parameters cannot be read (malformed, repeated or "
                                       "too long)",
               ZT_OIDC_AUTHZ_BAD_FORM;
    size_t n = 0;
    az->client_id = zt_form_get(form, "client_id", &n);
    az->app = zt_oidc_client(cfg, az->client_id, n);
    if (az->app == NULL)
        return az->error_description = "unknown client_id", ZT_OIDC_AUTHZ_NO_CLIENT;
    az->redirect_uri = zt_form_get(form, "redirect_uri", &n);
    if (az->redirect_uri == NULL || !zt_oidc_redirect_uri_ok(&az->app->oidc, az->redirect_uri, n))
        return az->error_description = "redirect_uri is not registered for this client",
               ZT_OIDC_AUTHZ_BAD_REDIRECT_URI;
    az->state = get(form, "state");
    az->nonce = get(form, "nonce");
    az->scope = get(form, "scope");
    az->code_challenge = get(form, "code_challenge");
    if ((az->nonce != NULL && strlen(az->nonce) > ZT_STORE_OIDC_NONCE_MAX) ||
        (az->scope != NULL && strlen(az->scope) > ZT_STORE_OIDC_SCOPE_MAX))
        return az->error_description = "nonce or scope too long", ZT_OIDC_AUTHZ_INVALID_REQUEST;
    return check_request(form, az);
}

/* ---- client authentication header ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* application/x-www-form-urlencoded decoding of one part; false on a bad escape, a NUL or
 * overflow. */
static bool form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

bool zt_oidc_basic_parse(const char *value, size_t n, char *id, size_t id_cap, char *secret,
                         size_t secret_cap)
{
    unsigned char dec[1024];
    size_t dn = 0;
    while (n > 0 && (*value == ' ' || *value == '\t'))
        value++, n--;
    if (n < 6 || strncasecmp(value, "Basic ", 6) != 0)
        return false;
    value += 6, n -= 6;
    while (n > 0 && *value == ' ')
        value++, n--;
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 1360 ||
        sodium_base642bin(dec, sizeof(dec) - 1, value, n, NULL, &dn, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    const unsigned char *colon = memchr(dec, ':', dn);
    bool ok =
        colon != NULL && colon != dec &&
        form_decode((const char *)dec, (size_t)(colon - dec), id, id_cap) &&
        form_decode((const char *)colon + 1, dn - (size_t)(colon - dec) - 1, secret, secret_cap) &&
        id[0] != '\0';
    zt_wipe(dec, sizeof(dec));
    if (!ok) {
        id[0] = '\0';
        zt_wipe(secret, secret_cap);
    }
    return ok;
}

/* ---- amr and acr ---- */

void zt_oidc_amr_json(unsigned amr, char out[ZT_OIDC_AMR_JSON_MAX])
{
    /* RFC 8176: pwd, otp, hwk/swk, and a passkey is a user presence and user verification test
     * (user, pin: a UV passkey asked for the PIN or a biometric), mfa for two kinds of factor. */
    static const struct {
        unsigned bit;
        const char *names;
    } map[] = {{ZT_AMR_PWD, "\"pwd\""},
               {ZT_AMR_OTP, "\"otp\""},
               {ZT_AMR_HWK, "\"hwk\",\"user\",\"pin\""},
               {ZT_AMR_SWK, "\"swk\",\"user\",\"pin\""},
               {ZT_AMR_MFA, "\"mfa\""}};
    size_t at = 0;
    out[at++] = '[';
    bool key_done = false;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!(amr & map[i].bit))
            continue;
        const char *names = map[i].names;
        if ((map[i].bit == ZT_AMR_SWK) && key_done)
            names = "\"swk\"";
        key_done |= map[i].bit == ZT_AMR_HWK || map[i].bit == ZT_AMR_SWK;
        size_t n = strlen(names);
        if (at + n + 3 > ZT_OIDC_AMR_JSON_MAX)
            break;
        if (at > 1)
            out[at++] = ',';
        memcpy(out + at, names, n);
        at += n;
    }
    out[at++] = ']';
    out[at] = '\0';
}

const char *zt_oidc_acr_for(unsigned amr)
{
    bool key = (amr & (ZT_AMR_HWK | ZT_AMR_SWK)) != 0;
    if (key && (amr & ZT_AMR_MFA))
        return ZT_OIDC_ACR_PHR;
    if (amr & ZT_AMR_MFA)
        return ZT_OIDC_ACR_MFA;
    return ZT_OIDC_ACR_PWD;
}

bool zt_oidc_acr_meets(unsigned amr, unsigned wanted)
{
    const char *acr = zt_oidc_acr_for(amr);
    if (wanted & ZT_OIDC_WANT_PHR)
        return strcmp(acr, ZT_OIDC_ACR_PHR) == 0;
    if (wanted & ZT_OIDC_WANT_MFA)
        return strcmp(acr, ZT_OIDC_ACR_PWD) != 0;
    return true;
}

/* ---- the re-authentication marker ---- */

static void reauth_part(crypto_auth_hmacsha256_state *st, const char *s)
{
    /* Each part with its NUL: "ab"+"c" and "a"+"bc" differ. */
    const char *v = s != NULL ? s : "";
    crypto_auth_hmacsha256_update(st, (const unsigned char *)v, strlen(v) + 1);
}

static void reauth_mac(const unsigned char key[ZT_OIDC_REAUTH_KEY_LEN], const char *t,
                       const char *user_id, const zt_oidc_authz *az,
                       unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, ZT_OIDC_REAUTH_KEY_LEN);
    const char *parts[] = {t, user_id, az->client_id, az->redirect_uri, az->state, az->nonce};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        reauth_part(&st, parts[i]);
    crypto_auth_hmacsha256_final(&st, mac);
}

void zt_oidc_reauth_marker(const unsigned char key[ZT_OIDC_REAUTH_KEY_LEN], int64_t t,
                           const char *user_id, const zt_oidc_authz *az,
                           char out[ZT_OIDC_REAUTH_MAX])
{
    char ts[24];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    snprintf(ts, sizeof(ts), "%lld", (long long)t);
    reauth_mac(key, ts, user_id, az, mac);
    int n = snprintf(out, ZT_OIDC_REAUTH_MAX, "%s.", ts);
    sodium_bin2base64(out + n, (size_t)(ZT_OIDC_REAUTH_MAX - n), mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int64_t zt_oidc_reauth_check(const unsigned char key[ZT_OIDC_REAUTH_KEY_LEN], const char *user_id,
                             const zt_oidc_authz *az, int64_t now)
{
    const char *m = az->reauth_marker;
    size_t digits = m != NULL ? strspn(m, "0123456789") : 0;
    if (digits == 0 || digits > 12 || m[digits] != '.')
        return 0;
    int64_t t = 0;
    for (size_t i = 0; i < digits; i++)
        t = t * 10 + (m[i] - '0');
    if (t <= 0 || t > now || now - t > ZT_OIDC_REAUTH_TTL_S)
        return 0;
    char want[ZT_OIDC_REAUTH_MAX];
    zt_oidc_reauth_marker(key, t, user_id, az, want);
    size_t n = strlen(m);
    bool ok = n == strlen(want) && sodium_memcmp(m, want, n) == 0;
    zt_wipe(want, sizeof(want));
    return ok ? t : 0;
}
