"""TLS listener: HTTPS works with a P-256 certificate, TLS < 1.2 is refused, self_signed works."""
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import threading
import warnings

from harness import APP_HOST, Skip, check, eq, free_port, gen_cert, get, header_values

# An OpenSSL config that lets *our client* offer TLS 1.0/1.1 (Debian's default forbids it), so a
# refused handshake proves the server refused.
LEGACY_CNF = """openssl_conf = oc
[oc]
ssl_conf = sc
[sc]
system_default = sd
[sd]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
"""


def _tls_gateway(h, up=None):
    up = up or h.upstream()
    cert, key = gen_cert(h.dir)
    tls_port = free_port()
    cfg = h.config([h.app(up)], listen=[
        {"address": "127.0.0.1:%d" % free_port()},
        {"address": "127.0.0.1:%d" % tls_port, "tls": {"cert": cert, "key": key}},
    ])
    return h.gateway(cfg), up, cert


def _s_client(h, port, version_flag):
    """openssl s_client handshake; True when it negotiated a cipher."""
    cnf = h.path("legacy-openssl.cnf")
    with open(cnf, "w") as f:
        f.write(LEGACY_CNF)
    env = dict(os.environ, OPENSSL_CONF=cnf)
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", APP_HOST, version_flag, "-cipher", "DEFAULT@SECLEVEL=0"],
                       input="", capture_output=True, text=True, env=env, timeout=15)
    # The exit status also reflects how the peer closed; the negotiated cipher is what counts.
    return re.search(r"Cipher is (?!\(NONE\))\S+", r.stdout) is not None


def _legacy_control_server(h):
    """A Python TLS server that accepts TLS 1.0+, to prove the client side can do old TLS."""
    cert, key = gen_cert(h.dir, name="control")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(20)

    def serve():
        for _ in range(2):
            try:
                c, _ = srv.accept()
                c.settimeout(5)
                ctx.wrap_socket(c, server_side=True).close()
            except (OSError, ssl.SSLError):
                pass
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def test_https_with_curl(h):
    gw, up, _ = _tls_gateway(h)
    url = "https://%s:%d/secure?q=1" % (APP_HOST, gw.tls_port)
    r = subprocess.run(["curl", "-sk", "--resolve", "%s:%d:127.0.0.1" % (APP_HOST, gw.tls_port),
                        "-o", "-", "-w", "\n%{http_code}", url],
                       capture_output=True, text=True, timeout=20)
    eq(r.returncode, 0, "curl exit status (%s)" % r.stderr.strip())
    body, code = r.stdout.rsplit("\n", 1)
    eq(code, "200", "status over HTTPS")
    echo = json.loads(body)
    eq(echo["path"], "/secure?q=1", "path upstream")
    eq(header_values(echo, "X-Forwarded-Proto"), ["https"], "X-Forwarded-Proto upstream")


def test_https_keepalive_and_plain_listener_side_by_side(h):
    gw, up, _ = _tls_gateway(h)
    c = h.connect(gw.tls_port, tls=True)
    for i in range(3):
        eq(c.request("GET", "/t%d" % i).status, 200, "HTTPS request %d" % i)
    r = get(gw.port, "/plain")
    eq(r.status, 200, "plain listener")
    eq(header_values(r.json(), "X-Forwarded-Proto"), ["http"], "X-Forwarded-Proto on plain")


def test_tls12_and_tls13_accepted(h):
    gw, _, _ = _tls_gateway(h)
    check(_s_client(h, gw.tls_port, "-tls1_2"), "TLS 1.2 handshake failed")
    check(_s_client(h, gw.tls_port, "-tls1_3"), "TLS 1.3 handshake failed")


def test_tls10_and_tls11_refused(h):
    control = _legacy_control_server(h)
    if not _s_client(h, control, "-tls1_1"):
        raise Skip("local openssl client cannot speak TLS 1.1 even when allowed")
    gw, _, _ = _tls_gateway(h)
    check(not _s_client(h, gw.tls_port, "-tls1_1"), "TLS 1.1 handshake succeeded")
    check(not _s_client(h, gw.tls_port, "-tls1"), "TLS 1.0 handshake succeeded")


def test_plain_http_on_tls_port_does_not_reach_upstream(h):
    gw, up, _ = _tls_gateway(h)
    try:
        with socket.create_connection(("127.0.0.1", gw.tls_port), timeout=5) as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: app.test\r\n\r\n")
            s.recv(4096)
    except OSError:
        pass
    eq(up.requests(), [], "upstream requests after plaintext on the TLS port")


def _cert_info(path):
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-text", "-fingerprint",
                        "-sha256"], capture_output=True, text=True, check=True)
    return r.stdout


def test_self_signed_creates_files(h):
    up = h.upstream()
    tls_dir = h.path("state/tls")
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    cfg = h.config([h.app(up)], listen=[
        {"address": "127.0.0.1:%d" % free_port(),
         "tls": {"cert": cert, "key": key, "self_signed": True}},
    ])
    gw = h.gateway(cfg)
    check(os.path.exists(cert) and os.path.exists(key), "self_signed did not create cert+key")
    mode = stat.S_IMODE(os.stat(key).st_mode)
    check(mode & 0o077 == 0, "private key is readable by others (mode %o)" % mode)
    info = _cert_info(cert)
    check("prime256v1" in info or "P-256" in info, "certificate is not ECDSA P-256")
    c = h.connect(gw.tls_port, tls=True)
    eq(c.request("GET", "/").status, 200, "HTTPS with the generated certificate")
    c.close()
    # A restart keeps the existing certificate instead of generating a new one.
    before = _cert_info(cert)
    gw.proc.stop()
    gw2 = h.gateway(cfg, name="ztgate-restart")
    eq(_cert_info(cert), before, "certificate after restart")
    eq(get(gw2.tls_port, "/", tls=True).status, 200, "HTTPS after restart")
