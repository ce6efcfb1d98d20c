/* The OpenID Connect provider: its lifetime (keys, back-channel sender), the dispatch of
 * /.ztgate/oidc/..., discovery and JWKS, and the helpers every endpoint shares (signing, codes
 * and tokens, JSON answers, audit records). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/event.h"
#include "core/log.h"
#include "identity/jws.h"
#include "identity/keys.h"
#include "idp/idp.h"
#include "idp/oidc.h"
#include "lib/secure.h"
#include "session/session.h"

/* ---- lifetime ---- */

static bool has_oidc_app(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_OIDC)
            return true;
    return false;
}

int zt_idp_open(const zt_config *cfg, zt_idp **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!has_oidc_app(cfg))
        return 0;
    zt_idp *idp = calloc(1, sizeof(*idp));
    if (idp == NULL)
        return -ENOMEM;
    char why[256] = "";
    int rc = zt_keys_open_with(cfg->idp.keys_dir, ZT_KEYS_WITH_RSA, &idp->keys, why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "idp.keys_dir %s: %s", cfg->idp.keys_dir, why);
    else if ((idp->bcl = zt_oidc_bcl_new(err, errlen)) == NULL)
        rc = -EIO;
    if (rc != 0) {
        zt_idp_free(idp);
        return rc;
    }
    *out = idp;
    return 0;
}

void zt_idp_free(zt_idp *idp)
{
    if (idp == NULL)
        return;
    zt_oidc_bcl_free(idp->bcl);
    zt_oidc_secrets_free(idp->secrets);
    zt_keys_free(idp->keys);
    free(idp);
}

/* ---- dispatch ---- */

typedef void oidc_endpoint(zt_idp *idp, zt_local_req *r);

static const struct {
    const char *path;
    oidc_endpoint *fn;
} endpoints[] = {
    {ZT_OIDC_AUTHORIZE, zt_oidc_authorize}, {ZT_OIDC_TOKEN, zt_oidc_token},
    {ZT_OIDC_USERINFO, zt_oidc_userinfo},   {ZT_OIDC_JWKS, zt_oidc_jwks},
    {ZT_OIDC_REVOKE, zt_oidc_revoke},       {ZT_OIDC_INTROSPECT, zt_oidc_introspect},
    {ZT_OIDC_LOGOUT, zt_oidc_logout},
};

void zt_idp_handle(void *ctx, zt_local_req *r)
{
    zt_idp *idp = ctx;
    const char *portal = r->cfg->auth.portal_host;
    /* The provider lives on the portal host: its cookies, its issuer. */
    if (portal == NULL || strcmp(r->host, portal) != 0) {
        r->log_detail = "oidc endpoint on a host other than the portal host";
        zt_local_respond_page(r, 404, MSG_NOT_FOUND_TITLE, MSG_NOT_FOUND_BODY, r->log_detail);
        return;
    }
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
        if (strcmp(r->path, endpoints[i].path) == 0) {
            endpoints[i].fn(idp, r);
            return;
        }
    zt_local_respond_page(r, 404, MSG_NOT_FOUND_TITLE, MSG_NOT_FOUND_BODY, "no such oidc endpoint");
}

void zt_idp_discovery_handle(void *ctx, zt_local_req *r)
{
    zt_oidc_discovery(ctx, r);
}

/* ---- shared helpers ---- */

const char *zt_oidc_issuer(const zt_local_req *r)
{
    return r->cfg->idp.issuer != NULL ? r->cfg->idp.issuer : "";
}

/* The one place tokens are signed: the client's alg (RS256 unless it asked for ES256) with the
 * provider's own keys (idp.keys_dir, not the assertion keys). */
int zt_oidc_sign(const zt_idp *idp, unsigned alg, const char *typ, const char *json, size_t n,
                 zt_buf *out)
{
    zt_jws_alg a = alg == ZT_ID_TOKEN_ES256 ? ZT_JWS_ES256 : ZT_JWS_RS256;
    return zt_jws_sign_json(idp->keys, a, typ, json, n, out, NULL);
}

void zt_oidc_hash(const char *s, size_t n, unsigned char hash[ZT_STORE_OIDC_HASH_LEN])
{
    crypto_hash_sha256(hash, (const unsigned char *)s, n);
}

void zt_oidc_new_token(char out[ZT_OIDC_TOKEN_CHARS + 1],
                       unsigned char hash[ZT_STORE_OIDC_HASH_LEN])
{
    unsigned char raw[32];
    zt_random(raw, sizeof(raw));
    sodium_bin2base64(out, ZT_OIDC_TOKEN_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    zt_wipe(raw, sizeof(raw));
    zt_oidc_hash(out, ZT_OIDC_TOKEN_CHARS, hash);
}

void zt_oidc_sid(const char *session_hash, char out[ZT_STORE_OIDC_SID_MAX + 1])
{
    static const char label[] = "ztgate-oidc-sid-v1";
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)label, sizeof(label));
    crypto_hash_sha256_update(&st, (const unsigned char *)session_hash, strlen(session_hash));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2base64(out, ZT_STORE_OIDC_SID_MAX + 1, h, 24,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void zt_oidc_json(zt_local_req *r, int status, const char *json)
{
    r->status = status;
    r->content_type = "application/json";
    r->no_security_headers = true;
    zt_buf_reset(&r->resp_body);
    zt_buf_append_str(&r->resp_body, json);
    zt_buf_append_str(&r->resp_headers, "Cache-Control: no-store\r\nPragma: no-cache\r\n");
    zt_local_respond(r);
}

void zt_oidc_json_error(zt_local_req *r, int status, const char *code, const char *desc)
{
    json_t *o = json_pack("{ss}", "error", code);
    if (o != NULL && desc != NULL)
        json_object_set_new(o, "error_description", json_string(desc));
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    if (r->log_detail == NULL)
        r->log_detail = desc != NULL ? desc : code;
    zt_info("request %s: oidc %s: %s: %s", r->request_id, r->path, code, desc ? desc : "");
    zt_oidc_json(r, status, text != NULL ? text : "{\"error\":\"server_error\"}");
    free(text);
    json_decref(o);
}

bool zt_oidc_audit(zt_local_req *r, const zt_oidc_event *e)
{
    zt_buf b;
    zt_buf_init(&b, 16 * 1024);
    zt_event ev;
    bool logoff = strcmp(e->event, "logout") == 0;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, logoff ? ZT_ACT_AUTH_LOGOFF : ZT_ACT_AUTH_LOGON,
                   e->success ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, e->success ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", e->message);
    zt_event_str(&ev, "status_detail", e->reason);
    zt_event_str(&ev, "user.uid", e->user_id);
    zt_event_str(&ev, "user.email_addr", e->email);
    zt_event_str(&ev, "app.name", e->app);
    zt_event_str(&ev, "decision", e->decision);
    zt_event_str(&ev, "policy.name", e->policy);
    zt_event_str(&ev, "policies", e->policies);
    zt_event_str(&ev, "report_only.decision", e->report_only);
    zt_event_str(&ev, "auth_protocol", "OpenID Connect");
    zt_event_str(&ev, "unmapped.oidc.event", e->event);
    zt_event_str(&ev, "unmapped.oidc.client_id", e->client_id);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    zt_event_str(&ev, "dst_endpoint.hostname", r->host);
    zt_event_str(&ev, "http_request.url.path", r->path);
    zt_event_metadata(&ev, r->request_id, NULL);
    bool ok = zt_event_end(&ev) == 0 ? zt_local_audit(r, b.data, b.len) : r->svc->audit_fail_open;
    zt_buf_dispose(&b);
    return ok;
}

/* ---- discovery and JWKS ---- */

static json_t *endpoint_url(const char *issuer, const char *path)
{
    size_t n = strlen(issuer) + strlen(path) + 1;
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    snprintf(s, n, "%s%s", issuer, path);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *discovery_doc(const char *iss)
{
    static const char *const rt[] = {"code", NULL}, *const modes[] = {"query", NULL};
    static const char *const grants[] = {"authorization_code", "refresh_token", NULL};
    static const char *const subj[] = {"public", NULL}, *const algs[] = {"RS256", "ES256", NULL};
    static const char *const auths[] = {"client_secret_basic", "client_secret_post",
                                        "private_key_jwt", "none", NULL};
    static const char *const auth_algs[] = {"RS256", "PS256", "ES256", NULL};
    static const char *const scopes[] = {"openid", "email", "profile", "groups", NULL};
    static const char *const pkce[] = {"S256", NULL};
    static const char *const acrs[] = {ZT_OIDC_ACR_PWD, ZT_OIDC_ACR_MFA, ZT_OIDC_ACR_PHR, NULL};
    static const char *const claims[] = {
        "iss",  "sub",    "aud", "exp", "iat",     "auth_time", "nonce",
        "acr",  "amr",    "sid", "azp", "at_hash", "email",     "email_verified",
        "name", "groups", NULL};
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(iss));
    json_object_set_new(d, "authorization_endpoint", endpoint_url(iss, ZT_OIDC_AUTHORIZE));
    json_object_set_new(d, "token_endpoint", endpoint_url(iss, ZT_OIDC_TOKEN));
    json_object_set_new(d, "userinfo_endpoint", endpoint_url(iss, ZT_OIDC_USERINFO));
    json_object_set_new(d, "jwks_uri", endpoint_url(iss, ZT_OIDC_JWKS));
    json_object_set_new(d, "revocation_endpoint", endpoint_url(iss, ZT_OIDC_REVOKE));
    json_object_set_new(d, "introspection_endpoint", endpoint_url(iss, ZT_OIDC_INTROSPECT));
    json_object_set_new(d, "end_session_endpoint", endpoint_url(iss, ZT_OIDC_LOGOUT));
    json_object_set_new(d, "response_types_supported", strings(rt));
    json_object_set_new(d, "response_modes_supported", strings(modes));
    json_object_set_new(d, "grant_types_supported", strings(grants));
    json_object_set_new(d, "subject_types_supported", strings(subj));
    json_object_set_new(d, "id_token_signing_alg_values_supported", strings(algs));
    json_object_set_new(d, "token_endpoint_auth_methods_supported", strings(auths));
    json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported", strings(auth_algs));
    json_object_set_new(d, "revocation_endpoint_auth_methods_supported", strings(auths));
    json_object_set_new(d, "introspection_endpoint_auth_methods_supported", strings(auths));
    json_object_set_new(d, "scopes_supported", strings(scopes));
    json_object_set_new(d, "claims_supported", strings(claims));
    json_object_set_new(d, "code_challenge_methods_supported", strings(pkce));
    json_object_set_new(d, "acr_values_supported", strings(acrs));
    json_object_set_new(d, "prompt_values_supported",
                        json_pack("[ssss]", "none", "login", "consent", "select_account"));
    json_object_set_new(d, "claims_parameter_supported", json_false());
    json_object_set_new(d, "request_parameter_supported", json_false());
    json_object_set_new(d, "request_uri_parameter_supported", json_false());
    json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
    json_object_set_new(d, "backchannel_logout_supported", json_true());
    json_object_set_new(d, "backchannel_logout_session_supported", json_true());
    json_object_set_new(d, "frontchannel_logout_supported", json_false());
    return d;
}

static void public_json(zt_local_req *r, const char *text, size_t n)
{
    r->status = 200;
    r->content_type = "application/json";
    r->no_security_headers = true;
    zt_buf_reset(&r->resp_body);
    zt_buf_append(&r->resp_body, text, n);
    zt_buf_append_str(&r->resp_headers, "Cache-Control: public, max-age=300\r\n"
                                        "Access-Control-Allow-Origin: *\r\n");
    zt_local_respond(r);
}

void zt_oidc_discovery(zt_idp *idp, zt_local_req *r)
{
    (void)idp;
    if (!zt_portal_method_ok(r, false))
        return;
    json_t *d = discovery_doc(zt_oidc_issuer(r));
    char *text = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (text == NULL) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    public_json(r, text, strlen(text));
    free(text);
}

void zt_oidc_jwks(zt_idp *idp, zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_buf jwks;
    zt_buf_init(&jwks, 0);
    if (zt_keys_jwks(idp->keys, &jwks) != 0) {
        zt_buf_dispose(&jwks);
        zt_portal_unavailable(r, "jwks unavailable");
        return;
    }
    public_json(r, jwks.data, jwks.len);
    zt_buf_dispose(&jwks);
}
