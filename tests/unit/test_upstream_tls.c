/* The client side of proxy/tls.c (https:// upstreams), handshaking in memory with a server
 * context of the same module: names (SNI, the certificate check, IP literals), the CA, the
 * minimum version, the client certificate, resumption, and bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ssl.h>

#include "proxy/tls.h"

typedef struct pki {
    char dir[64];
    char server_cert[128], server_key[128]; /* self-signed: localhost, 127.0.0.1 */
    char client_cert[128], client_key[128];
    char junk[128]; /* not PEM */
} pki;

static pki P;

static int setup(void **state)
{
    (void)state;
    char err[256];
    snprintf(P.dir, sizeof(P.dir), "/tmp/zt-uptls-XXXXXX");
    assert_non_null(mkdtemp(P.dir));
    snprintf(P.server_cert, sizeof(P.server_cert), "%s/s.pem", P.dir);
    snprintf(P.server_key, sizeof(P.server_key), "%s/s.key", P.dir);
    snprintf(P.client_cert, sizeof(P.client_cert), "%s/c.pem", P.dir);
    snprintf(P.client_key, sizeof(P.client_key), "%s/c.key", P.dir);
    snprintf(P.junk, sizeof(P.junk), "%s/junk.pem", P.dir);
    assert_int_equal(zt_tls_make_self_signed(P.server_cert, P.server_key, err, sizeof(err)), 0);
    assert_int_equal(zt_tls_make_self_signed(P.client_cert, P.client_key, err, sizeof(err)), 0);
    FILE *f = fopen(P.junk, "w");
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {P.server_cert, P.server_key, P.client_cert, P.client_key, P.junk};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(P.dir);
    return 0;
}

static SSL_CTX *server_ctx(bool tls12_only, bool want_client_cert)
{
    char err[256];
    zt_tls_cfg cfg = {.cert_file = P.server_cert, .key_file = P.server_key};
    SSL_CTX *ctx = zt_tls_server_ctx(&cfg, err, sizeof(err));
    assert_non_null(ctx);
    if (tls12_only)
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (want_client_cert) {
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, P.client_cert, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

/* Move ciphertext one way: a's output into b's input. */
static void pump(zt_tls_conn *a, zt_tls_conn *b)
{
    zt_buf tmp;
    zt_buf_init(&tmp, 0);
    assert_int_equal(zt_tls_take_output(a, &tmp), 0);
    if (tmp.len > 0)
        assert_int_equal(zt_tls_feed(b, tmp.data, tmp.len), 0);
    zt_buf_dispose(&tmp);
}

typedef struct result {
    int client; /* 1 done, -1 failed */
    char why[256];
    bool resumed;
    char sni[256]; /* what the server saw; "" = none */
    bool server_saw_client_cert;
} result;

/* A whole handshake in memory, then one exchange so the client reads the server's tickets. */
static result handshake(SSL_CTX *cctx, SSL_CTX *sctx)
{
    result r = {0};
    zt_tls_conn c, s;
    assert_int_equal(zt_tls_conn_init_client(&c, cctx), 0);
    assert_int_equal(zt_tls_conn_init(&s, sctx), 0);
    int hs_s = 0;
    for (int i = 0; i < 10 && r.client == 0; i++) {
        r.client = zt_tls_client_handshake(&c, r.why, sizeof(r.why));
        pump(&c, &s);
        if (hs_s == 0)
            hs_s = zt_tls_handshake(&s);
        pump(&s, &c);
    }
    if (r.client == 1) {
        char buf[64];
        assert_int_equal(zt_tls_write(&c, "ping", 4), 0);
        pump(&c, &s);
        assert_int_equal(zt_tls_read(&s, buf, sizeof(buf)), 4);
        assert_int_equal(zt_tls_write(&s, "pong", 4), 0);
        pump(&s, &c);
        assert_int_equal(zt_tls_read(&c, buf, sizeof(buf)), 4); /* tickets read on the way */
        r.resumed = zt_tls_resumed(&c);
        const char *sni = SSL_get_servername(s.ssl, TLSEXT_NAMETYPE_host_name);
        snprintf(r.sni, sizeof(r.sni), "%s", sni ? sni : "");
        r.server_saw_client_cert = SSL_get0_peer_certificate(s.ssl) != NULL;
        zt_tls_shutdown(&c);
    }
    zt_tls_conn_dispose(&c);
    zt_tls_conn_dispose(&s);
    return r;
}

static SSL_CTX *make_client(const zt_upstream_tls_cfg *cfg, const char *url_host)
{
    char err[256] = "";
    SSL_CTX *ctx = zt_tls_client_ctx(cfg, url_host, err, sizeof(err));
    if (ctx == NULL)
        print_error("client ctx: %s\n", err);
    assert_non_null(ctx);
    return ctx;
}

static void test_verified_by_name_with_sni(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, false);
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "localhost");
    result r = handshake(c, s);
    assert_int_equal(r.client, 1);
    assert_string_equal(r.sni, "localhost");
    assert_false(r.server_saw_client_cert);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_ip_literal_no_sni_ip_check(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, false);
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "127.0.0.1");
    result r = handshake(c, s);
    assert_int_equal(r.client, 1);
    assert_string_equal(r.sni, ""); /* RFC 6066: no IP address in SNI */
    SSL_CTX_free(c);
    /* An IP the certificate does not carry. */
    c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "127.0.0.2");
    r = handshake(c, s);
    assert_int_equal(r.client, -1);
    assert_string_equal(r.why, "certificate verify failed: IP address mismatch");
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_server_name_and_verify_name(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, false);
    /* SNI app.internal, checked against localhost (which the certificate carries). */
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert,
                                                    .server_name = "app.internal",
                                                    .verify_name = "localhost"},
                             "10.0.0.1");
    result r = handshake(c, s);
    assert_int_equal(r.client, 1);
    assert_string_equal(r.sni, "app.internal");
    SSL_CTX_free(c);
    /* server_name alone is also the name checked: the certificate lacks it. */
    c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert, .server_name = "app.internal"},
                    "127.0.0.1");
    r = handshake(c, s);
    assert_int_equal(r.client, -1);
    assert_string_equal(r.why, "certificate verify failed: hostname mismatch");
    SSL_CTX_free(c);
    /* "*.localhost" in the certificate matches one label, never a partial one. */
    c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "a.b.localhost");
    r = handshake(c, s);
    assert_int_equal(r.client, -1);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_unknown_ca_refused(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, false);
    /* Trusting another certificate (the client's) only. */
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.client_cert}, "localhost");
    result r = handshake(c, s);
    assert_int_equal(r.client, -1);
    assert_string_equal(r.why, "certificate verify failed: self-signed certificate");
    SSL_CTX_free(c);
    /* The system store does not know a self-signed test certificate either. */
    c = make_client(&(zt_upstream_tls_cfg){0}, "localhost");
    r = handshake(c, s);
    assert_int_equal(r.client, -1);
    assert_string_equal(r.why, "certificate verify failed: self-signed certificate");
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_tls_min(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(true, false); /* TLS 1.2 at most */
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "localhost");
    result r = handshake(c, s);
    assert_int_equal(r.client, 1); /* default minimum 1.2 */
    SSL_CTX_free(c);
    c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert, .tls_min = ZT_TLS_MIN_13},
                    "localhost");
    r = handshake(c, s);
    assert_int_equal(r.client, -1);
    assert_non_null(strstr(r.why, "protocol version"));
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_client_certificate(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, true);
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert,
                                                    .client_cert = P.client_cert,
                                                    .client_key = P.client_key},
                             "localhost");
    result r = handshake(c, s);
    assert_int_equal(r.client, 1);
    assert_true(r.server_saw_client_cert);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

/* The second connection resumes the first one's session (a TLS 1.3 ticket, used once); a
 * context of another generation starts without sessions. */
static void test_resumption(void **state)
{
    (void)state;
    SSL_CTX *s = server_ctx(false, false);
    SSL_CTX *c = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "localhost");
    result r1 = handshake(c, s);
    assert_int_equal(r1.client, 1);
    assert_false(r1.resumed);
    result r2 = handshake(c, s);
    assert_int_equal(r2.client, 1);
    assert_true(r2.resumed);
    SSL_CTX *c2 = make_client(&(zt_upstream_tls_cfg){.ca_file = P.server_cert}, "localhost");
    result r3 = handshake(c2, s);
    assert_false(r3.resumed);
    SSL_CTX_free(c2);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_bad_files(void **state)
{
    (void)state;
    char err[256] = "";
    zt_upstream_tls_cfg cfg = {.ca_file = P.junk};
    assert_null(zt_tls_client_ctx(&cfg, "localhost", err, sizeof(err)));
    assert_non_null(strstr(err, P.junk));
    cfg = (zt_upstream_tls_cfg){.client_cert = P.client_cert, .client_key = P.server_key};
    err[0] = '\0';
    assert_null(zt_tls_client_ctx(&cfg, "localhost", err, sizeof(err)));
    assert_non_null(strstr(err, P.server_key)); /* the key does not match the certificate */
    cfg = (zt_upstream_tls_cfg){.client_cert = P.junk, .client_key = P.client_key};
    assert_null(zt_tls_client_ctx(&cfg, "localhost", err, sizeof(err)));
    assert_non_null(strstr(err, P.junk));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_by_name_with_sni),
        cmocka_unit_test(test_ip_literal_no_sni_ip_check),
        cmocka_unit_test(test_server_name_and_verify_name),
        cmocka_unit_test(test_unknown_ca_refused),
        cmocka_unit_test(test_tls_min),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
