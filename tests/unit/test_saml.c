/* The SAML IdP's pure pieces and its Lasso core (src/idp/saml_*.c): the urlencoded field reader
 * of the bindings, the persistent NameID, the AuthnContext class, RelayState, the metadata
 * document, the key and certificate created at start; then a whole AuthnRequest answered by
 * Lasso with a server built from those files, its NameID, attributes and status checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lasso/lasso.h>
#include <lasso/logging.h>

#include "core/config.h"
#include "idp/saml.h"
#include "idp/saml_login.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "session/session.h"
#include "pg_fixture.h"
#include "store/store.h"

/* ---- zt_saml_param ---- */

static int param(const char *s, const char *name, char *out, size_t cap)
{
    zt_buf b;
    zt_buf_init(&b, cap);
    int rc = zt_saml_param(s, strlen(s), name, &b);
    snprintf(out, cap, "%s", rc == 1 ? b.data : "");
    zt_buf_dispose(&b);
    return rc;
}

static void test_param(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(param("SAMLRequest=a%2Bb+c&RelayState=x", "SAMLRequest", v, sizeof(v)), 1);
    assert_string_equal(v, "a+b c");
    assert_int_equal(param("SAMLRequest=a&RelayState=x%2F", "RelayState", v, sizeof(v)), 1);
    assert_string_equal(v, "x/");
    assert_int_equal(param("SAMLRequest=a", "RelayState", v, sizeof(v)), 0);
    assert_int_equal(param("SAMLRequestX=a", "SAMLRequest", v, sizeof(v)), 0);
    assert_int_equal(param("SAMLRequest", "SAMLRequest", v, sizeof(v)), 1); /* empty value */
    assert_string_equal(v, "");
    assert_int_equal(param("SAMLRequest=a&SAMLRequest=b", "SAMLRequest", v, sizeof(v)), -1);
    assert_int_equal(param("SAMLRequest=%zz", "SAMLRequest", v, sizeof(v)), -1);
    assert_int_equal(param("SAMLRequest=%2", "SAMLRequest", v, sizeof(v)), -1);
    assert_int_equal(param("SAMLRequest=%", "SAMLRequest", v, sizeof(v)), -1);
    assert_int_equal(param("SAMLRequest=%00", "SAMLRequest", v, sizeof(v)), -1);
    assert_int_equal(param("SAMLRequest=0123456789", "SAMLRequest", v, 8), -1); /* over cap */
    assert_int_equal(param("&&SAMLRequest=ok&", "SAMLRequest", v, sizeof(v)), 1);
    assert_string_equal(v, "ok");
}

/* ---- NameID, AuthnContext, RelayState ---- */

static void test_persistent_id(void **state)
{
    (void)state;
    unsigned char key[32], other[32];
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    char a[ZT_SAML_PERSISTENT_LEN + 1], b[ZT_SAML_PERSISTENT_LEN + 1];
    zt_saml_persistent_id(key, "u1", "https://sp.example/md", a);
    assert_int_equal(strlen(a), ZT_SAML_PERSISTENT_LEN);
    assert_null(strstr(a, "u1"));
    zt_saml_persistent_id(key, "u1", "https://sp.example/md", b);
    assert_string_equal(a, b); /* stable */
    zt_saml_persistent_id(key, "u1", "https://sp2.example/md", b);
    assert_string_not_equal(a, b); /* per SP */
    zt_saml_persistent_id(key, "u2", "https://sp.example/md", b);
    assert_string_not_equal(a, b); /* per user */
    zt_saml_persistent_id(other, "u1", "https://sp.example/md", b);
    assert_string_not_equal(a, b); /* per gateway key */
    zt_saml_persistent_id(key, "u1x", "https://sp.example/md", a);
    zt_saml_persistent_id(key, "u1", "xhttps://sp.example/md", b);
    assert_string_not_equal(a, b); /* the boundary between the two is kept */
    for (const char *p = a; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

/* xs:dateTime in UTC, as the freshness checks of LogoutRequests read it. */
static void test_parse_time(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(zt_saml_parse_time("2023-11-14T22:13:20Z", &t), 0);
    assert_int_equal(t, 1700000000);
    assert_int_equal(zt_saml_parse_time("2023-11-14T22:13:20.123Z", &t), 0);
    assert_int_equal(t, 1700000000);
    char back[32];
    zt_saml_iso_time(1700000000, back);
    assert_int_equal(zt_saml_parse_time(back, &t), 0);
    assert_int_equal(t, 1700000000);
    const char *bad[] = {"",
                         "2023-11-14T22:13:20",
                         "2023-11-14T22:13:20+01:00",
                         "2023-13-14T22:13:20Z",
                         "2023-11-14 22:13:20Z",
                         "2023-11-14T25:13:20Z",
                         "20x3-11-14T22:13:20Z",
                         "2023-11-14T22:13:20ZZ"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(zt_saml_parse_time(bad[i], &t), -1);
    assert_int_equal(zt_saml_parse_time(NULL, &t), -1);
}

static void test_authn_class_and_relay(void **state)
{
    (void)state;
    assert_string_equal(zt_saml_authn_class(ZT_AMR_PWD), ZT_SAML_AC_PASSWORD);
    assert_string_equal(zt_saml_authn_class(ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA), ZT_SAML_AC_MFA);
    assert_true(zt_saml_relay_ok("https://sp/x?a=b", 16));
    assert_true(zt_saml_relay_ok("", 0));
    assert_false(zt_saml_relay_ok("a\nb", 3));
    assert_false(zt_saml_relay_ok("\xc3\xa9", 2));
    char big[ZT_SAML_RELAY_MAX + 2];
    memset(big, 'a', sizeof(big));
    assert_true(zt_saml_relay_ok(big, ZT_SAML_RELAY_MAX));
    assert_false(zt_saml_relay_ok(big, ZT_SAML_RELAY_MAX + 1));
    char t[32];
    zt_saml_iso_time(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00Z");
}

/* ---- keys and metadata ---- */

static char dir[] = "/tmp/ztgate-test-saml-XXXXXX";
static char cert_path[256], key_path[256], sp_md_path[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void test_keys(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(zt_saml_keys_ensure(cert_path, key_path, "auth.test", err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Existing and matching: read, not replaced. */
    assert_int_equal(zt_saml_keys_ensure(cert_path, key_path, "auth.test", err, sizeof(err)), 0);
    char other[300];
    snprintf(other, sizeof(other), "%s/only.crt", dir);
    assert_int_equal(zt_saml_keys_ensure(other, key_path, "auth.test", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "one exists and the other does not"));
    FILE *f = fopen(other, "w");
    fputs("not a certificate\n", f);
    fclose(f);
    assert_int_equal(zt_saml_keys_ensure(other, key_path, "auth.test", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a readable PEM certificate"));
    /* A key others can read is refused, with the fix in the message. */
    assert_int_equal(chmod(key_path, 0640), 0);
    assert_int_equal(zt_saml_keys_ensure(cert_path, key_path, "auth.test", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "readable by group or others"));
    assert_int_equal(chmod(key_path, 0600), 0);
    assert_int_equal(zt_saml_keys_ensure(cert_path, key_path, "auth.test", err, sizeof(err)), 0);
    /* Created through a temporary file: none is left behind. */
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", key_path);
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_metadata(void **state)
{
    (void)state;
    zt_buf pem, md;
    zt_buf_init(&pem, 0);
    zt_buf_init(&md, 0);
    assert_int_equal(zt_read_file(cert_path, &pem), 0);
    assert_int_equal(zt_buf_cstr(&pem), 0);
    zt_saml_meta_in in = {"https://auth.test/.ztgate/saml/metadata?a=1&b=\"2\"",
                          "https://auth.test", pem.data, true};
    assert_int_equal(zt_saml_metadata(&md, &in), 0);
    assert_int_equal(zt_buf_cstr(&md), 0);
    assert_non_null(strstr(md.data, "entityID=\"https://auth.test/.ztgate/saml/metadata?a=1&amp;"
                                    "b=&quot;2&quot;\""));
    assert_non_null(strstr(md.data, "WantAuthnRequestsSigned=\"true\""));
    assert_non_null(strstr(md.data, "Location=\"https://auth.test/.ztgate/saml/sso\""));
    assert_non_null(strstr(md.data, "Location=\"https://auth.test/.ztgate/saml/slo\""));
    assert_null(strstr(md.data, "-----BEGIN")); /* the base64 body only */
    zt_buf_reset(&md);
    assert_int_not_equal(zt_saml_pem_body(&md, "no certificate here"), 0);
    zt_buf_dispose(&pem);
    zt_buf_dispose(&md);
}

/* ---- a whole AuthnRequest through Lasso ---- */

static const char sp_entity[] = "https://sp.test/saml/metadata";

static void write_sp_metadata(void)
{
    FILE *f = fopen(sp_md_path, "w");
    fprintf(f,
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
            "entityID=\"%s\"><md:SPSSODescriptor protocolSupportEnumeration="
            "\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:AssertionConsumerService index=\"0\" "
            "isDefault=\"true\" Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
            "Location=\"https://sp.test/acs\"/></md:SPSSODescriptor></md:EntityDescriptor>",
            sp_entity);
    fclose(f);
}

/* base64 of the XML: the POST binding's SAMLRequest. */
static char *post_msg(const char *xml)
{
    gchar *b64 = g_base64_encode((const guchar *)xml, strlen(xml));
    char *out = strdup(b64);
    g_free(b64);
    return out;
}

static char *authn_request(const char *acs, const char *format)
{
    char xml[2048];
    snprintf(xml, sizeof(xml),
             "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
             "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r1\" Version=\"2.0\" "
             "IssueInstant=\"2026-01-01T00:00:00Z\" AssertionConsumerServiceURL=\"%s\">"
             "<saml:Issuer>%s</saml:Issuer>%s%s%s</samlp:AuthnRequest>",
             acs, sp_entity, format ? "<samlp:NameIDPolicy Format=\"" : "", format ? format : "",
             format ? "\"/>" : "");
    return post_msg(xml);
}

static zt_config *config(void)
{
    static zt_app_cfg app;
    static zt_config cfg;
    memset(&app, 0, sizeof(app));
    memset(&cfg, 0, sizeof(cfg));
    app.name = "sp";
    app.kind = ZT_APP_SAML;
    app.saml.metadata_file = sp_md_path;
    app.saml.attributes = (zt_saml_attrs_cfg){"mail", "displayName", "groups"};
    cfg.apps = &app;
    cfg.n_apps = 1;
    cfg.idp.issuer = "https://auth.test";
    cfg.idp.saml_entity_id = "https://auth.test/.ztgate/saml/metadata";
    cfg.idp.saml_cert = cert_path;
    cfg.idp.saml_key = key_path;
    return &cfg;
}

static void test_lasso_answer(void **state)
{
    (void)state;
    write_sp_metadata();
    const zt_config *cfg = config();
    struct _LassoServer *server = zt_saml_server_lock(cfg);
    assert_non_null(server);
    assert_ptr_equal(zt_saml_app_of(cfg, sp_entity), &cfg->apps[0]);
    assert_null(zt_saml_app_of(cfg, "https://other.test"));
    char *msg = authn_request("https://sp.test/acs", NULL);
    zt_saml_req_info info;
    assert_int_equal(zt_saml_authn_parse(server, msg, &info), 0);
    assert_string_equal(info.sp, sp_entity);
    assert_string_equal(info.request_id, "_r1");
    const char *groups[] = {"staff", "teachers"};
    zt_saml_subject subj = {.name_id = "alice@example.test",
                            .name_id_format = ZT_SAML_FMT_EMAIL,
                            .email = "alice@example.test",
                            .display_name = "Alice",
                            .groups = groups,
                            .n_groups = 2,
                            .amr = ZT_AMR_PWD | ZT_AMR_OTP | ZT_AMR_MFA,
                            .auth_time = 1700000000,
                            .now = 1700000100,
                            .session_expires = 1700043200,
                            .attrs = &cfg->apps[0].saml.attributes};
    zt_saml_answer_in in = {
        .msg = msg, .relay = "rs", .status = ZT_SAML_ST_SUCCESS, .subject = &subj};
    zt_saml_out out;
    assert_int_equal(zt_saml_authn_answer(server, &in, &out), 0);
    assert_string_equal(out.url, "https://sp.test/acs");
    gsize n = 0;
    guchar *xml = g_base64_decode(out.body, &n);
    char *x = g_strndup((const char *)xml, n);
    assert_non_null(strstr(x, ">alice@example.test</saml:NameID>"));
    assert_non_null(strstr(x, ZT_SAML_AC_MFA));
    assert_non_null(strstr(x, "Name=\"groups\""));
    assert_non_null(strstr(x, ">teachers</saml:AttributeValue>"));
    assert_non_null(strstr(x, "Name=\"displayName\""));
    assert_non_null(strstr(x, "InResponseTo=\"_r1\""));
    /* The assertion expires: a window of now-1min..now+5min in Conditions and in the bearer
     * confirmation, and the SP's session ends with ours. */
    assert_non_null(strstr(x, "NotBefore=\"2023-11-14T22:14:00Z\""));
    assert_non_null(strstr(x, "NotOnOrAfter=\"2023-11-14T22:20:00Z\""));
    char *conf = strstr(x, "<saml:SubjectConfirmationData");
    assert_non_null(conf);
    char *conf_end = strchr(conf, '>');
    assert_non_null(conf_end);
    *conf_end = '\0';
    assert_non_null(strstr(conf, "NotOnOrAfter=\"2023-11-14T22:20:00Z\""));
    *conf_end = '>';
    assert_non_null(strstr(x, "SessionNotOnOrAfter=\"2023-11-15T10:13:20Z\""));
    assert_non_null(out.session_dump);
    g_free(x);
    g_free(xml);
    zt_saml_out_dispose(&out);
    free(msg);
    /* An ACS URL the metadata does not list: no response at all. */
    msg = authn_request("https://evil.test/acs", NULL);
    in.msg = msg;
    assert_int_not_equal(zt_saml_authn_answer(server, &in, &out), 0);
    free(msg);
    /* A NameID format the app does not give: InvalidNameIDPolicy. */
    msg = authn_request("https://sp.test/acs", ZT_SAML_FMT_PERSISTENT);
    in.msg = msg;
    assert_int_equal(zt_saml_authn_answer(server, &in, &out), 0);
    assert_int_equal(out.status, ZT_SAML_ST_BAD_NAMEID_POLICY);
    zt_saml_out_dispose(&out);
    /* Denied: Responder / RequestDenied, no assertion. */
    in.status = ZT_SAML_ST_DENIED;
    assert_int_equal(zt_saml_authn_answer(server, &in, &out), 0);
    xml = g_base64_decode(out.body, &n);
    x = g_strndup((const char *)xml, n);
    assert_non_null(strstr(x, "status:RequestDenied"));
    assert_null(strstr(x, "<saml:Assertion"));
    g_free(x);
    g_free(xml);
    zt_saml_out_dispose(&out);
    free(msg);
    /* Not a request at all. */
    assert_int_not_equal(zt_saml_authn_parse(server, "bm90IHhtbA==", &info), 0);
    zt_saml_server_unlock();
    zt_saml_server_free();
}

/* ---- Lasso's fatal-level log lines do not abort (ztgate's lasso_log) ---- */

static void test_lasso_log_not_fatal(void **state)
{
    (void)state;
    lasso_log(G_LOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, "%s", "a test of the ERROR level");
    lasso_log(G_LOG_LEVEL_CRITICAL, __FILE__, __LINE__, __func__, "%d", 42);
    /* And through Lasso itself: a LogoutRequest without NameID is logged at ERROR level. */
    write_sp_metadata();
    struct _LassoServer *server = zt_saml_server_lock(config());
    assert_non_null(server);
    const char *xml = "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                      "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_x\" "
                      "Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\"><saml:Issuer>"
                      "https://sp.test/saml/metadata</saml:Issuer></samlp:LogoutRequest>";
    char *msg = post_msg(xml);
    zt_saml_logout_msg slo;
    assert_int_not_equal(zt_saml_logout_read(server, msg, NULL, &slo), 0);
    zt_saml_slo_dispose(&slo);
    free(msg);
    zt_saml_server_unlock();
    zt_saml_server_free();
}

/* ---- the store's saml_sessions (schema 11, 12) ---- */

typedef struct taken {
    size_t n;
    char user[128];
    char dump[64];
} taken;

static void on_taken(void *ctx, const zt_store_saml_ended *e)
{
    taken *t = ctx;
    t->n++;
    snprintf(t->user, sizeof(t->user), "%s", e->user_id);
    snprintf(t->dump, sizeof(t->dump), "%s", e->dump);
}

static void store_sessions_on(zt_store *st)
{
    zt_user u;
    assert_int_equal(zt_store_user_add(st, "a@example.test", "", "", NULL, 0, &u), 0);
    zt_store_session s;
    memset(&s, 0, sizeof(s));
    memset(s.id_hash, 'a', 64);
    s.created_at = s.auth_time = 1000;
    s.idle_expires_at = 2000;
    s.absolute_expires_at = 5000;
    memcpy(s.user_id, u.id, sizeof(s.user_id));
    assert_int_equal(zt_store_session_create(st, &s), 0);
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_store_saml_get(st, s.id_hash, &b), -ENOENT);
    assert_int_equal(zt_store_saml_put(st, s.id_hash, "<Session/>", 1001), 0);
    assert_int_equal(zt_store_saml_put(st, s.id_hash, "<Session a=\"2\"/>", 1002),
                     0); /* replaced */
    assert_int_equal(zt_store_saml_get(st, s.id_hash, &b), 0);
    assert_string_equal(b.data, "<Session a=\"2\"/>");
    assert_int_equal(zt_store_saml_put(st, "nosuch", "<Session/>", 1001), -ENOENT);
    assert_int_equal(zt_store_saml_put(st, s.id_hash, "", 1001), -EINVAL);
    /* A live session's row is not taken. */
    taken t = {0};
    uint64_t n = 9;
    assert_int_equal(zt_store_saml_take_ended(st, 1500, on_taken, &t, &n), 0);
    assert_int_equal(n, 0);
    /* It outlives its session until the back-channel logout takes it, once, with its user. */
    assert_int_equal(zt_store_session_delete(st, s.id_hash), 0);
    zt_buf_reset(&b);
    assert_int_equal(zt_store_saml_get(st, s.id_hash, &b), 0);
    assert_int_equal(zt_store_saml_take_ended(st, 1500, on_taken, &t, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.user, u.id);
    assert_string_equal(t.dump, "<Session a=\"2\"/>");
    assert_int_equal(zt_store_saml_take_ended(st, 1500, on_taken, &t, &n), 0);
    assert_int_equal(n, 0);
    zt_buf_reset(&b);
    assert_int_equal(zt_store_saml_get(st, s.id_hash, &b), -ENOENT);
    assert_int_equal(zt_store_saml_delete(st, s.id_hash), 0);
    /* An expired session's row is taken though the session row is still there. */
    memset(s.id_hash, 'b', 64);
    assert_int_equal(zt_store_session_create(st, &s), 0);
    assert_int_equal(zt_store_saml_put(st, s.id_hash, "<Session/>", 1001), 0);
    assert_int_equal(zt_store_saml_take_ended(st, 1999, on_taken, &t, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zt_store_saml_take_ended(st, 2000, on_taken, &t, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t.n, 2);
    /* A replaced session hands its row to the new one of the same user, never to another's. */
    char from[65], to[65];
    memset(s.id_hash, 'c', 64);
    memcpy(from, s.id_hash, sizeof(from));
    assert_int_equal(zt_store_session_create(st, &s), 0);
    assert_int_equal(zt_store_saml_put(st, s.id_hash, "<Session/>", 1001), 0);
    memset(s.id_hash, 'd', 64);
    memcpy(to, s.id_hash, sizeof(to));
    assert_int_equal(zt_store_session_create(st, &s), 0);
    assert_int_equal(zt_store_saml_move(st, from, to), 0);
    zt_buf_reset(&b);
    assert_int_equal(zt_store_saml_get(st, from, &b), -ENOENT);
    assert_int_equal(zt_store_saml_get(st, to, &b), 0);
    zt_user v;
    assert_int_equal(zt_store_user_add(st, "b@example.test", "", "", NULL, 0, &v), 0);
    memset(s.id_hash, 'e', 64);
    memcpy(s.user_id, v.id, sizeof(s.user_id));
    assert_int_equal(zt_store_session_create(st, &s), 0);
    assert_int_equal(zt_store_saml_move(st, to, s.id_hash), 0);
    zt_buf_reset(&b);
    assert_int_equal(zt_store_saml_get(st, s.id_hash, &b), -ENOENT);
    assert_int_equal(zt_store_saml_get(st, to, &b), 0);
    zt_user_dispose(&v);
    zt_buf_dispose(&b);
    zt_user_dispose(&u);
}

static void test_store_sessions(void **state)
{
    (void)state;
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    char err[256];
    zt_store *st = zt_store_open(&cfg, err, sizeof(err));
    assert_non_null(st);
    store_sessions_on(st);
    zt_store_close(st);
}

/* The same against PostgreSQL (ZT_TEST_PG_DSN; a schema of its own), skipped without it. */
static void test_store_sessions_pg(void **state)
{
    (void)state;
    if (!zt_test_pg_enabled())
        skip();
    char schema[ZT_TEST_PG_SCHEMA_MAX], err[256] = "";
    zt_store *st = zt_test_pg_open(schema, err, sizeof(err));
    if (st == NULL)
        fail_msg("open: %s", err);
    store_sessions_on(st);
    zt_store_close(st);
    zt_test_pg_drop(schema);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cert_path, sizeof(cert_path), "%s/idp.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/idp.key", dir);
    snprintf(sp_md_path, sizeof(sp_md_path), "%s/sp.xml", dir);
    return lasso_init();
}

static int teardown(void **state)
{
    (void)state;
    lasso_shutdown();
    return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param),
        cmocka_unit_test(test_persistent_id),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_authn_class_and_relay),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_lasso_answer),
        cmocka_unit_test(test_store_sessions),
        cmocka_unit_test(test_store_sessions_pg),
        cmocka_unit_test(test_lasso_log_not_fatal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
