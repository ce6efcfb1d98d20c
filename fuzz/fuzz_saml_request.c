/* The SAML IdP's AuthnRequest path (src/idp/saml_login.c over Lasso) on arbitrary bytes, as
 * /.ztgate/saml/sso receives them; must never crash, leak or hit UB. A fixed LassoServer (a key
 * and certificate made once in a temp directory, one SP) answers. The first byte picks the
 * binding: 0 the POST binding's SAMLRequest made of the rest (base64-encoded here, so the XML
 * parser sees the bytes), 1 the rest as the POST value itself (base64 or not), 2 the rest as
 * the Redirect binding's query (SAMLRequest, RelayState, SigAlg, Signature), 3 the bindings'
 * field reader, 4 the rest as a LogoutRequest (POST binding, base64-encoded here) read against
 * an empty session and answered, 5 the rest as an SP's SOAP answer to ztgate's back-channel
 * LogoutRequest (saml_bcl.c; the request made once at start, for a session signed in to the SP
 * IdP-initiated); an AuthnRequest Lasso accepts is answered as ztgate would (success, with a
 * NameID and attributes, and a denial). */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lasso/lasso.h>

#include "core/config.h"
#include "idp/saml.h"
#include "idp/saml_login.h"
#include "session/session.h"

#define SP_ENTITY "https://sp.test/saml/metadata"

static char dir[64], cert_path[128], key_path[128], md_path[128];
static zt_app_cfg app;
static zt_config cfg;
static char *bcl_dump; /* the back-channel LogoutRequest's state (mode 5) */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    free(bcl_dump);
    zt_saml_server_free();
    lasso_shutdown();
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_sp(void)
{
    FILE *f = fopen(md_path, "w");
    if (f == NULL)
        abort();
    fputs("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
          "entityID=\"" SP_ENTITY
          "\"><md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
          "protocol\"><md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:"
          "SOAP\" Location=\"https://sp.test/soap\"/><md:AssertionConsumerService index=\"0\" "
          "isDefault=\"true\" Binding=\"urn:"
          "oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp.test/acs\"/>"
          "</md:SPSSODescriptor></md:EntityDescriptor>",
          f);
    fclose(f);
}

/* A session signed in to the SP (IdP-initiated), then the back-channel LogoutRequest for it. */
static void bcl_request(struct _LassoServer *server)
{
    zt_saml_subject subj = {.name_id = "alice@example.test",
                            .name_id_format = ZT_SAML_FMT_EMAIL,
                            .email = "alice@example.test",
                            .display_name = "Alice",
                            .amr = ZT_AMR_PWD,
                            .auth_time = 1800000000,
                            .attrs = &app.saml.attributes};
    zt_saml_answer_in in = {.sp = SP_ENTITY, .status = ZT_SAML_ST_SUCCESS, .subject = &subj};
    zt_saml_out out;
    char *url = NULL, *body = NULL;
    if (zt_saml_authn_answer(server, &in, &out) != 0 || out.session_dump == NULL ||
        zt_saml_bcl_request(server, out.session_dump, SP_ENTITY, &url, &body, &bcl_dump) != 0)
        abort();
    free(url);
    free(body);
    zt_saml_out_dispose(&out);
}

static void run_bcl_answer(const char *msg)
{
    struct _LassoServer *server = zt_saml_server_lock(&cfg);
    if (server == NULL)
        abort();
    (void)zt_saml_bcl_answer(server, bcl_dump, msg);
    zt_saml_server_unlock();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof(dir), "%s/zt-fuzz-saml-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL || lasso_init() != 0)
        abort();
    snprintf(cert_path, sizeof(cert_path), "%s/idp.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/idp.key", dir);
    snprintf(md_path, sizeof(md_path), "%s/sp.xml", dir);
    char err[256];
    if (zt_saml_keys_ensure(cert_path, key_path, "auth.test", err, sizeof(err)) != 0)
        abort();
    write_sp();
    app = (zt_app_cfg){.name = "sp", .kind = ZT_APP_SAML};
    app.saml.metadata_file = md_path;
    app.saml.attributes = (zt_saml_attrs_cfg){"mail", "displayName", "groups"};
    cfg.apps = &app;
    cfg.n_apps = 1;
    cfg.idp.issuer = "https://auth.test";
    cfg.idp.saml_entity_id = "https://auth.test/.ztgate/saml/metadata";
    cfg.idp.saml_cert = cert_path;
    cfg.idp.saml_key = key_path;
    struct _LassoServer *server = zt_saml_server_lock(&cfg);
    if (server == NULL)
        abort();
    bcl_request(server);
    zt_saml_server_unlock();
    atexit(cleanup);
    return 0;
}

static void answer(struct _LassoServer *server, const char *msg, zt_saml_status st)
{
    static const char *const groups[] = {"staff", "a&b<c>"};
    zt_saml_subject subj = {.name_id = "alice@example.test",
                            .name_id_format = ZT_SAML_FMT_EMAIL,
                            .email = "alice@example.test",
                            .display_name = "Alice",
                            .groups = groups,
                            .n_groups = 2,
                            .amr = ZT_AMR_PWD,
                            .auth_time = 1800000000,
                            .now = 1800000000,
                            .session_expires = 1800043200,
                            .attrs = &app.saml.attributes};
    zt_saml_answer_in in = {.msg = msg, .relay = "rs", .status = st, .subject = &subj};
    zt_saml_out out;
    if (zt_saml_authn_answer(server, &in, &out) == 0)
        zt_saml_out_dispose(&out);
}

static void run_lasso(const char *msg)
{
    struct _LassoServer *server = zt_saml_server_lock(&cfg);
    if (server == NULL)
        abort();
    zt_saml_req_info info;
    if (zt_saml_authn_parse(server, msg, &info) == 0 && strcmp(info.sp, SP_ENTITY) == 0) {
        answer(server, msg, ZT_SAML_ST_SUCCESS);
        answer(server, msg, ZT_SAML_ST_DENIED);
    }
    zt_saml_server_unlock();
}

static void run_logout(const char *msg)
{
    struct _LassoServer *server = zt_saml_server_lock(&cfg);
    if (server == NULL)
        abort();
    zt_saml_logout_msg slo;
    if (zt_saml_logout_read(server, msg, NULL, &slo) == 0) {
        /* the freshness, Destination and replay checks read the request's own fields */
        (void)zt_saml_logout_check(&slo, "https://idp.test/.ztgate/saml/slo", true, 1700000000);
        (void)zt_saml_logout_respond(&slo);
    }
    zt_saml_slo_dispose(&slo);
    zt_saml_server_unlock();
}

static void run_param(const char *s, size_t n)
{
    zt_buf out;
    zt_buf_init(&out, ZT_SAML_MSG_MAX + 1);
    (void)zt_saml_param(s, n, "SAMLRequest", &out);
    zt_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > ZT_SAML_MSG_MAX)
        return 0;
    unsigned mode =
        data[0] >= 250 ? 5 : data[0] % 5; /* 5 came later: the older seeds keep theirs */
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    char *msg = NULL;
    if (mode == 0 || mode == 4) {
        gchar *b64 = g_base64_encode((const guchar *)rest, n);
        msg = strdup(b64);
        g_free(b64);
    } else {
        msg = strndup(rest, n); /* the handler's strings are NUL-terminated too */
    }
    if (msg == NULL)
        return 0;
    if (mode == 3)
        run_param(rest, n);
    else if (mode == 4)
        run_logout(msg);
    else if (mode == 5)
        run_bcl_answer(msg);
    else if (msg[0] != '\0')
        run_lasso(msg);
    free(msg);
    return 0;
}
