/* ztagent's own parsers (src/agent/parse.c): ClamAV CVD/CLD headers, os-release, agent.conf,
 * intervals and URLs, the tunnel's HOST[:PORT] and --listen address. The agent is not part of
 * ztcore, so its parser file is compiled into this test directly; it depends on libc only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/parse.c"

static void test_cvd_header(void **state)
{
    char hdr[ZTA_CVD_HEADER_LEN];
    static const char h[] = "ClamAV-VDB:22 Nov 2026 08-14 +0000:27450:2000000:90:"
                            "0123456789abcdef0123456789abcdef:SIG:builder:1795335240";
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, h, sizeof h - 1);
    zta_cvd_header c;
    assert_int_equal(zta_cvd_header_parse(hdr, sizeof hdr, &c), 0);
    assert_int_equal(c.version, 27450);
    assert_int_equal(c.sigs, 2000000);
    assert_int_equal(c.fl, 90);
    assert_int_equal((long long)c.build_time, 1795335240LL);

    /* No stime: the build time text is used (2026-11-22T08:14:00Z). */
    static const char h2[] = "ClamAV-VDB:22 Nov 2026 08-14 +0000:27450:2000000:90:md5:dsig:b";
    assert_int_equal(zta_cvd_header_parse(h2, sizeof h2 - 1, &c), 0);
    assert_int_equal((long long)c.build_time, 1795335240LL);
    /* Time zone offsets are applied. */
    time_t t;
    assert_int_equal(zta_cvd_time_parse("22 Nov 2026 09-14 +0100", 23, &t), 0);
    assert_int_equal((long long)t, 1795335240LL);
    assert_int_equal(zta_cvd_time_parse("22 Nov 2026 07-44 -0030", 23, &t), 0);
    assert_int_equal((long long)t, 1795335240LL);

    static const char *const bad[] = {
        "ClamAV-VDB:x:27450",                                          /* too few fields */
        "ClamAV-VDC:22 Nov 2026 08-14 +0000:1:1:90:m:d:b:1",           /* wrong magic */
        "ClamAV-VDB:22 Nov 2026 08-14 +0000:-1:1:90:m:d:b:1",          /* negative version */
        "ClamAV-VDB:22 Nov 2026 08-14 +0000:99999999999:1:90:m:d:b:1", /* overflow */
        "ClamAV-VDB:22 Foo 2026 08-14 +0000:1:1:90:m:d:b",             /* bad month, no stime */
        "ClamAV-VDB:22 Nov 2026 25-14 +0000:1:1:90:m:d:b",             /* bad hour */
        "ClamAV-VDB:22 Nov 2026 08-14 +0000:1:1:90:m:d:b:1:2:3",       /* too many fields */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(zta_cvd_header_parse(bad[i], strlen(bad[i]), &c), -1);
    /* Control bytes inside the header are refused. */
    char ctl[] = "ClamAV-VDB:22 Nov 2026 08-14 +0000:1:1:90:m:d\n:b:1";
    assert_int_equal(zta_cvd_header_parse(ctl, strlen(ctl), &c), -1);
}

static void test_os_release(void **state)
{
    static const char text[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                               "NAME=\"Debian GNU/Linux\"\n"
                               "VERSION_ID=\"12\"\n"
                               "# a comment\n"
                               "\n"
                               "ID=debian\n"
                               "HOME_URL='https://www.debian.org/'\n"
                               "VARIANT=\"with \\\"quotes\\\"\"\n";
    zta_os_release os;
    assert_int_equal(zta_os_release_parse(text, sizeof text - 1, &os), 0);
    assert_string_equal(os.id, "debian");
    assert_string_equal(os.version_id, "12");
    assert_string_equal(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");

    static const char *const bad[] = {
        "ID=\"unterminated\n", "no equals sign\n", "=value\n", "ID=two words\n", "ID=\"a\"b\"\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(zta_os_release_parse(bad[i], strlen(bad[i]), &os), -1);
    /* Missing keys stay empty. */
    assert_int_equal(zta_os_release_parse("NAME=x\n", 7, &os), 0);
    assert_string_equal(os.id, "");
}

static void test_conf(void **state)
{
    static const char text[] = "# c\nserver=https://gw.example:8443\nserver_ca=server-ca.pem\n"
                               "device_id=0123456789abcdef0123456789abcdef\nuser=a@b.c\n";
    zta_conf c;
    char err[128];
    assert_int_equal(zta_conf_parse(text, sizeof text - 1, &c, err, sizeof err), 0);
    assert_string_equal(c.server, "https://gw.example:8443");
    assert_string_equal(c.server_ca, "server-ca.pem");
    char out[1024];
    int n = zta_conf_format(&c, out, sizeof out);
    assert_true(n > 0);
    zta_conf c2;
    assert_int_equal(zta_conf_parse(out, (size_t)n, &c2, err, sizeof err), 0);
    assert_memory_equal(&c, &c2, sizeof c);

    static const char *const bad[] = {
        "colour=blue\n",                        /* unknown key */
        "server=https://a\nserver=https://b\n", /* duplicate */
        "server=http://plain\n",                /* not https */
        "server_sha256=ABCDEF\n",               /* not 64 lowercase hex */
        "device_id=xyz\n",
        "justtext\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(zta_conf_parse(bad[i], strlen(bad[i]), &c, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(zta_conf_parse("colour=blue\n", 12, &c, err, sizeof err), -1);
    assert_string_equal(err, "line 1: unknown key 'colour'");
}

static void test_interval_url(void **state)
{
    unsigned s;
    assert_int_equal(zta_interval_parse("15m", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(zta_interval_parse("90", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(zta_interval_parse("2h", &s), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(zta_interval_parse("7d", &s), 0);
    assert_int_equal(zta_interval_parse("8d", &s), -1);
    assert_int_equal(zta_interval_parse("0s", &s), -1);
    assert_int_equal(zta_interval_parse("m", &s), -1);
    assert_int_equal(zta_interval_parse("-5m", &s), -1);
    assert_int_equal(zta_interval_parse("99999999999s", &s), -1);

    char host[64];
    unsigned port;
    assert_int_equal(zta_url_parse("https://127.0.0.1:8443", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8443);
    assert_int_equal(zta_url_parse("https://gw.example/", host, sizeof host, &port), 0);
    assert_int_equal(port, 443);
    assert_int_equal(zta_url_parse("https://[::1]:9", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(zta_url_parse("http://gw", host, sizeof host, &port), -1);
    assert_int_equal(zta_url_parse("https://gw/path", host, sizeof host, &port), -1);
    assert_int_equal(zta_url_parse("https://gw:0", host, sizeof host, &port), -1);
    assert_int_equal(zta_url_parse("https://gw:70000", host, sizeof host, &port), -1);
    assert_int_equal(zta_url_parse("https://user@gw", host, sizeof host, &port), -1);

    char ts[21];
    zta_rfc3339(1795335240, ts);
    assert_string_equal(ts, "2026-11-22T08:14:00Z");
}

/* `ztagent tunnel HOST[:PORT]` and `--listen ADDR:PORT`: names only, loopback only. */
static void test_tunnel_args(void **state)
{
    (void)state;
    char host[256];
    unsigned port = 0;
    assert_true(zta_parse_app("SSH.Hospital.example:2222", host, sizeof host, &port));
    assert_string_equal(host, "ssh.hospital.example");
    assert_int_equal(port, 2222);
    assert_true(zta_parse_app("db", host, sizeof host, &port));
    assert_int_equal(port, 22); /* the default */
    const char *bad[] = {"",      ":22",     "a b:22",   "host:0",    "host:65536",
                         "host:", "host:2x", "[::1]:22", "host/x:22", "h\xc3\xa9:22"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(zta_parse_app(bad[i], host, sizeof host, &port));
    assert_false(zta_parse_app("abcdef:22", host, 6, &port)); /* does not fit */

    struct sockaddr_storage ss;
    unsigned len = 0;
    assert_int_equal(zta_listen_parse("127.0.0.1:2222", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 2222);
    assert_int_equal(zta_listen_parse("127.8.9.10:1", &ss, &len), 0);
    assert_int_equal(zta_listen_parse("[::1]:15432", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    const char *outside[] = {"0.0.0.0:2222", "192.0.2.1:22",     "[::]:22",
                             "localhost:22", "[2001:db8::1]:22", "128.0.0.1:22"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        assert_int_equal(zta_listen_parse(outside[i], &ss, &len), -2);
    const char *malformed[] = {
        "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "[::1:22", "[zz]:22"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(zta_listen_parse(malformed[i], &ss, &len), -1);
}

/* The gateway's answer to CONNECT, as the agent reads it. */
static void test_connect_answer(void **state)
{
    (void)state;
    unsigned status = 0;
    size_t body = 99;
    const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    assert_int_equal(zta_connect_answer_parse(ok, strlen(ok), &status, &body), 0);
    assert_int_equal(status, 200);
    assert_int_equal(body, 0);
    const char no[] = "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Bearer "
                      "realm=\"ztgate\"\r\ncontent-length:  20 \r\n\r\n";
    assert_int_equal(zta_connect_answer_parse(no, strlen(no), &status, &body), 0);
    assert_int_equal(status, 407);
    assert_int_equal(body, 20);
    const char *bad[] = {
        "HTTP/1.1 200 OK\r\n",                                               /* no blank line */
        "HTTP/2 200 OK\r\n\r\n",                                             /* not 1.x */
        "HTTP/1.1 20 OK\r\n\r\n",                                            /* two digits */
        "HTTP/1.1 099 OK\r\n\r\n",                                           /* below 100 */
        "HTTP/1.1 2000 OK\r\n\r\n",                                          /* four digits */
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", /* two */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\nX: y\r\n\r\n", /* bare LF */
        "HTTP/1.1 200 OK\r\nX: y\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(zta_connect_answer_parse(bad[i], strlen(bad[i]), &status, &body), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cvd_header),  cmocka_unit_test(test_os_release),
        cmocka_unit_test(test_conf),        cmocka_unit_test(test_interval_url),
        cmocka_unit_test(test_tunnel_args), cmocka_unit_test(test_connect_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
