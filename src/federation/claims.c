/* Pure readers of what an upstream provider sends: its discovery document, the claims of its
 * ID tokens and of its logout tokens. The signature was checked before (identity/jws.h); these
 * decide whether the signed statement is about this sign-in, for this client, now. Outside
 * input: fuzzed by fuzz/fuzz_fed_claims.c. */
#include <string.h>

#include <jansson.h>

#include "federation/federation.h"
#include "lib/net.h"
#include "lib/secure.h"

#define MAX_DATE 9000000000LL
#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

static zt_fed_status reject(const char **why, zt_fed_status st, const char *msg)
{
    if (why != NULL)
        *why = msg;
    return st;
}

const char *zt_fed_status_name(zt_fed_status st)
{
    static const char *const names[] = {
        [ZT_FED_OK] = "ok",
        [ZT_FED_MALFORMED] = "malformed",
        [ZT_FED_WRONG_ISS] = "wrong_iss",
        [ZT_FED_WRONG_AUD] = "wrong_aud",
        [ZT_FED_EXPIRED] = "expired",
        [ZT_FED_NOT_YET_VALID] = "not_yet_valid",
        [ZT_FED_BAD_NONCE] = "bad_nonce",
        [ZT_FED_BAD_CLAIMS] = "bad_claims",
        [ZT_FED_WRONG_HD] = "wrong_hd",
    };
    if ((size_t)st >= sizeof(names) / sizeof(names[0]) || names[st] == NULL)
        return "unknown";
    return names[st];
}

/* Provider URLs may carry a query (a tenant's discovery URL does); lib/net's rule otherwise. */
const char *zt_fed_url_problem(const char *s)
{
    return zt_url_problem(s, ZT_FED_URL_MAX, true);
}

/* A string member copied into out (cap bytes with the NUL); false when present but not a
 * string, too long or holding a control character. Absent: out = "" and true. */
static bool str_member(json_t *o, const char *name, char *out, size_t cap)
{
    json_t *v = json_object_get(o, name);
    out[0] = '\0';
    if (v == NULL)
        return true;
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (s == NULL || n >= cap || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(out, s, n + 1);
    return true;
}

static zt_fed_status endpoint(json_t *doc, const char *name, bool required, char *out,
                              const char **why)
{
    if (!str_member(doc, name, out, ZT_FED_URL_MAX + 1))
        return reject(why, ZT_FED_MALFORMED, "an endpoint is not a string or too long");
    if (out[0] == '\0')
        return required ? reject(why, ZT_FED_MALFORMED, "a required endpoint is missing")
                        : ZT_FED_OK;
    if (zt_fed_url_problem(out) != NULL)
        return reject(why, ZT_FED_MALFORMED, "an endpoint is not an https URL");
    return ZT_FED_OK;
}

zt_fed_status zt_fed_discovery_parse(const char *json, size_t n, const char *want_issuer,
                                     zt_fed_metadata *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    json_t *doc = json_loadb(json, n, JSON_REJECT_DUPLICATES, NULL);
    zt_fed_status st = ZT_FED_OK;
    if (!json_is_object(doc))
        st = reject(why, ZT_FED_MALFORMED, "discovery document is not a JSON object");
    else if (!str_member(doc, "issuer", out->issuer, sizeof(out->issuer)) ||
             strcmp(out->issuer, want_issuer) != 0)
        st = reject(why, ZT_FED_WRONG_ISS, "discovery document names another issuer");
    if (st == ZT_FED_OK)
        st = endpoint(doc, "authorization_endpoint", true, out->authorization_endpoint, why);
    if (st == ZT_FED_OK)
        st = endpoint(doc, "token_endpoint", true, out->token_endpoint, why);
    if (st == ZT_FED_OK)
        st = endpoint(doc, "jwks_uri", true, out->jwks_uri, why);
    if (st == ZT_FED_OK)
        st = endpoint(doc, "end_session_endpoint", false, out->end_session_endpoint, why);
    json_decref(doc);
    if (st != ZT_FED_OK)
        memset(out, 0, sizeof(*out));
    return st;
}

static bool date_member(json_t *o, const char *name, bool required, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return !required;
    double d = json_is_integer(v) ? (double)json_integer_value(v)
               : json_is_real(v)  ? json_real_value(v)
                                  : -1.0;
    if (!(d >= 0.0 && d <= (double)MAX_DATE))
        return false;
    *out = (int64_t)d;
    return true;
}

/* aud holds client_id (a string, or an array with it); azp, when present or when aud names
 * more than one audience, is client_id (OIDC Core 3.1.3.7 items 3 to 5). */
static bool audience_ok(json_t *p, const char *client_id)
{
    json_t *aud = json_object_get(p, "aud");
    json_t *azp = json_object_get(p, "azp");
    bool found = false;
    size_t count = 0;
    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), client_id) == 0;
        count = 1;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *e;
        json_array_foreach(aud, i, e)
        {
            if (!json_is_string(e))
                return false;
            found = found || strcmp(json_string_value(e), client_id) == 0;
        }
        count = json_array_size(aud);
    }
    if (!found)
        return false;
    if (azp != NULL && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0))
        return false;
    return count == 1 || azp != NULL;
}

static zt_fed_status common_claims(json_t *p, const zt_fed_expect *x, zt_fed_claims *out,
                                   bool exp_required, const char **why)
{
    char iss[ZT_FED_URL_MAX + 1];
    int64_t nbf = 0;
    if (!str_member(p, "iss", iss, sizeof(iss)) || strcmp(iss, x->issuer) != 0)
        return reject(why, ZT_FED_WRONG_ISS, "iss is not the provider's issuer");
    if (!audience_ok(p, x->client_id))
        return reject(why, ZT_FED_WRONG_AUD, "aud or azp is not this client");
    if (!date_member(p, "exp", exp_required, &out->exp) ||
        !date_member(p, "iat", true, &out->iat) || !date_member(p, "nbf", false, &nbf))
        return reject(why, ZT_FED_MALFORMED, "exp, iat or nbf missing or not a date");
    if (out->exp != 0 && x->now - x->leeway_s >= out->exp)
        return reject(why, ZT_FED_EXPIRED, "token expired");
    if (out->iat > x->now + x->leeway_s || nbf > x->now + x->leeway_s)
        return reject(why, ZT_FED_NOT_YET_VALID, "iat or nbf in the future");
    if (!str_member(p, "sub", out->sub, sizeof(out->sub)) ||
        !str_member(p, "sid", out->sid, sizeof(out->sid)))
        return reject(why, ZT_FED_MALFORMED, "sub or sid not a string or too long");
    return ZT_FED_OK;
}

static bool nonce_ok(json_t *p, const char *want)
{
    const char *got = json_string_value(json_object_get(p, "nonce"));
    size_t n = strlen(want);
    return got != NULL && want[0] != '\0' && strlen(got) == n && zt_ct_eq(got, want, n);
}

static void read_amr(json_t *p, zt_fed_claims *out)
{
    size_t i;
    json_t *e;
    json_t *amr = json_object_get(p, "amr");
    if (!json_is_array(amr))
        return;
    json_array_foreach(amr, i, e)
    {
        const char *m = json_string_value(e);
        if (m == NULL)
            continue;
        if (strcmp(m, "pwd") == 0)
            out->amr |= ZT_FED_AMR_PWD;
        else if (strcmp(m, "mfa") == 0)
            out->amr |= ZT_FED_AMR_MFA;
        else if (strcmp(m, "otp") == 0)
            out->amr |= ZT_FED_AMR_OTP;
        else if (strcmp(m, "hwk") == 0 || strcmp(m, "fido") == 0)
            out->amr |= ZT_FED_AMR_HWK;
    }
}

/* Group values: an array of strings (or one string); values too long or not strings are a
 * malformed token, not silently dropped, since a missing group could grant or deny. */
static zt_fed_status read_groups(json_t *p, const char *claim, zt_fed_claims *out, const char **why)
{
    json_t *g = json_object_get(p, claim);
    json_t *names = json_object_get(p, "_claim_names");
    out->groups_overage = json_is_object(names) && json_object_get(names, claim) != NULL;
    if (g == NULL)
        return ZT_FED_OK;
    if (json_is_string(g))
        g = json_pack("[O]", g);
    else if (json_is_array(g))
        json_incref(g);
    else
        return reject(why, ZT_FED_MALFORMED, "groups claim is not an array of strings");
    if (g == NULL)
        return reject(why, ZT_FED_MALFORMED, "out of memory");
    zt_fed_status st = ZT_FED_OK;
    if (json_array_size(g) > ZT_FED_GROUPS_MAX)
        st = reject(why, ZT_FED_MALFORMED, "more than 256 group values");
    size_t i;
    json_t *e;
    json_array_foreach(g, i, e)
    {
        const char *s = json_string_value(e);
        size_t n = s ? json_string_length(e) : 0;
        if (st != ZT_FED_OK)
            break;
        if (s == NULL || n == 0 || n > ZT_FED_CLAIM_MAX || strlen(s) != n)
            st = reject(why, ZT_FED_MALFORMED, "a group value is not a short string");
        else
            memcpy(out->groups[out->n_groups++], s, n + 1);
    }
    json_decref(g);
    return st;
}

static bool email_ok(char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(s) > 254)
        return false;
    for (char *c = s; *c; c++) {
        if (*c == ' ' || *c == '"' || *c == '<' || *c == '>')
            return false;
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    }
    return true;
}

static zt_fed_status identity_claims(json_t *p, const zt_fed_expect *x, zt_fed_claims *out,
                                     const char **why)
{
    const char *ec = x->email_claim ? x->email_claim : "email";
    const char *nc = x->name_claim ? x->name_claim : "name";
    if (out->sub[0] == '\0')
        return reject(why, ZT_FED_BAD_CLAIMS, "sub missing");
    if (!str_member(p, ec, out->email, sizeof(out->email)) || !email_ok(out->email))
        return reject(why, ZT_FED_BAD_CLAIMS, "the e-mail claim is missing or not an address");
    json_t *ev = json_object_get(p, "email_verified");
    if (json_is_false(ev) || (json_is_string(ev) && strcmp(json_string_value(ev), "false") == 0))
        return reject(why, ZT_FED_BAD_CLAIMS, "email_verified is false");
    if (!str_member(p, nc, out->name, sizeof(out->name)))
        return reject(why, ZT_FED_MALFORMED, "the name claim is not a short string");
    if (x->hosted_domain != NULL) {
        char hd[ZT_FED_CLAIM_MAX + 1];
        if (!str_member(p, "hd", hd, sizeof(hd)) || strcmp(hd, x->hosted_domain) != 0)
            return reject(why, ZT_FED_WRONG_HD, "hd is not the configured hosted domain");
    }
    read_amr(p, out);
    return read_groups(p, x->groups_claim ? x->groups_claim : "groups", out, why);
}

zt_fed_status zt_fed_id_claims(const char *payload, size_t n, const zt_fed_expect *x,
                               zt_fed_claims *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (x == NULL || x->issuer == NULL || x->client_id == NULL || x->nonce == NULL)
        return reject(why, ZT_FED_MALFORMED, "nothing to check against");
    json_t *p = json_loadb(payload, n, JSON_REJECT_DUPLICATES, NULL);
    zt_fed_status st = json_is_object(p) ? common_claims(p, x, out, true, why)
                                         : reject(why, ZT_FED_MALFORMED, "not a JSON object");
    if (st == ZT_FED_OK && !nonce_ok(p, x->nonce))
        st = reject(why, ZT_FED_BAD_NONCE, "nonce is not the one sent");
    if (st == ZT_FED_OK)
        st = identity_claims(p, x, out, why);
    json_decref(p);
    if (st != ZT_FED_OK)
        memset(out, 0, sizeof(*out));
    else if (why != NULL)
        *why = "ok";
    return st;
}

zt_fed_status zt_fed_logout_claims(const char *payload, size_t n, const zt_fed_expect *x,
                                   zt_fed_claims *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (x == NULL || x->issuer == NULL || x->client_id == NULL)
        return reject(why, ZT_FED_MALFORMED, "nothing to check against");
    json_t *p = json_loadb(payload, n, JSON_REJECT_DUPLICATES, NULL);
    zt_fed_status st = json_is_object(p) ? common_claims(p, x, out, false, why)
                                         : reject(why, ZT_FED_MALFORMED, "not a JSON object");
    json_t *events = st == ZT_FED_OK ? json_object_get(p, "events") : NULL;
    if (st == ZT_FED_OK && !json_is_object(json_object_get(events, BCL_EVENT)))
        st = reject(why, ZT_FED_BAD_CLAIMS, "no back-channel logout event");
    else if (st == ZT_FED_OK && json_object_get(p, "nonce") != NULL)
        st = reject(why, ZT_FED_BAD_CLAIMS, "a logout token must not hold a nonce");
    else if (st == ZT_FED_OK &&
             (!str_member(p, "jti", out->jti, sizeof(out->jti)) || out->jti[0] == '\0'))
        st = reject(why, ZT_FED_BAD_CLAIMS, "jti missing");
    else if (st == ZT_FED_OK && out->sub[0] == '\0' && out->sid[0] == '\0')
        st = reject(why, ZT_FED_BAD_CLAIMS, "neither sub nor sid");
    json_decref(p);
    if (st != ZT_FED_OK)
        memset(out, 0, sizeof(*out));
    return st;
}
