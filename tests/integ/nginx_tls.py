"""A real nginx as an https:// upstream, with a throwaway PKI made by the test (`cryptography`):
a test CA, a good server certificate (app.internal and 127.0.0.1), the bad ones (expired,
self-signed, wrong name, from an unknown CA), a client certificate for mTLS, and one nginx
server block per case, each on its own port with its own access log.

Every TLS server block asks for a client certificate (`ssl_verify_client on`) and answers with
what it saw in headers: X-Client-Verify, X-Client-DN, X-Session-Reused, X-Conn, X-Proto, X-SNI."""
import datetime
import os
import shutil
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import Proc, Skip, check, free_port, port_open

SERVER_NAME = "app.internal"
BIG_BYTES = 24 * 1024 * 1024  # /big.bin, random
CLIENT_CN = "ztgate-client"

# name -> (certificate, protocols, keepalive_requests); "plain" is HTTP without TLS.
CASES = {
    "good": ("good", "TLSv1.2 TLSv1.3", 1000),
    "short": ("good", "TLSv1.2 TLSv1.3", 5),  # closes after 5 requests: the next one resumes
    "idle": ("good", "TLSv1.2 TLSv1.3", 1000),  # keepalive_timeout 1s: closes idle connections
    "tls12": ("good", "TLSv1.2", 1000),
    "expired": ("expired", "TLSv1.2 TLSv1.3", 1000),
    "selfsigned": ("selfsigned", "TLSv1.2 TLSv1.3", 1000),
    "wrongname": ("wrongname", "TLSv1.2 TLSv1.3", 1000),
    "unknownca": ("unknownca", "TLSv1.2 TLSv1.3", 1000),
    "plain": (None, None, 1000),
}

SERVER = """
    server {{
        listen 127.0.0.1:{port}{ssl};
        access_log {dir}/{name}-access.log main;
        keepalive_requests {keepalive_requests};
        keepalive_timeout {keepalive_timeout};
        {tls}
        location = /big.bin {{
            root {dir};
        }}
        location / {{
            add_header X-Client-Verify $ssl_client_verify always;
            add_header X-Client-DN $ssl_client_s_dn always;
            add_header X-Session-Reused $ssl_session_reused always;
            add_header X-Conn $connection always;
            add_header X-Proto $ssl_protocol always;
            add_header X-SNI $ssl_server_name always;
            return 200 "{name} $request_uri\\n";
        }}
    }}
"""

# A WebSocket app behind TLS: nginx terminates TLS (client certificate required) and relays the
# upgrade to a plain WebSocket backend (ws_echo.py).
WS_SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl;
        access_log {dir}/ws-access.log main;
        {tls}
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_read_timeout 3600s;
        }}
    }}
"""

TLS = """ssl_certificate {dir}/{cert}.pem;
        ssl_certificate_key {dir}/{cert}.key;
        ssl_protocols {protocols};
        ssl_verify_client on;
        ssl_client_certificate {dir}/ca.pem;
        ssl_session_tickets on;"""

CONF = """
daemon off;
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    log_format main '$request|$connection|$ssl_session_reused|$ssl_client_verify';
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
{servers}
}}
"""


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject_cn, key, issuer_cn, issuer_key, sans=None, ca=False, days=(-1, 30),
          client=False):
    b = (x509.CertificateBuilder().subject_name(_name(subject_cn)).issuer_name(_name(issuer_cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(_now() + datetime.timedelta(days=days[0]))
         .not_valid_after(_now() + datetime.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
    elif not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(d, name, cert, key):
    with open(os.path.join(d, name + ".pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path = os.path.join(d, name + ".key")
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(path, 0o600)


def make_pki(d):
    """ca.pem, good/expired/selfsigned/wrongname/unknownca .pem+.key, client.pem/.key,
    other-ca.pem (a CA that signed nothing of nginx's)."""
    import ipaddress
    os.makedirs(d, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("ztgate test CA", ca_key, "ztgate test CA", ca_key, ca=True, days=(-1, 365))
    _write(d, "ca", ca, None)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert("unknown CA", other_key, "unknown CA", other_key, ca=True, days=(-1, 365))
    _write(d, "other-ca", other, None)
    good_sans = [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for name, sans, issuer, days in (
            ("good", good_sans, (ca, ca_key), (-1, 30)),
            ("expired", good_sans, (ca, ca_key), (-30, -1)),
            ("wrongname", [x509.DNSName("other.internal")], (ca, ca_key), (-1, 30)),
            ("unknownca", good_sans, (other, other_key), (-1, 30))):
        key = ec.generate_private_key(ec.SECP256R1())
        cn = issuer[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        _write(d, name, _cert(SERVER_NAME, key, cn, issuer[1], sans=sans, days=days), key)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(d, "selfsigned", _cert(SERVER_NAME, key, SERVER_NAME, key, sans=good_sans), key)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(d, "client", _cert(CLIENT_CN, key, "ztgate test CA", ca_key, client=True), key)


class NginxTLS:
    """nginx with one server block per CASES entry: .ports[name], .requests(name)."""

    def __init__(self, h, name="nginx-tls", ws_backend=None):
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            raise Skip("nginx not installed")
        self.dir = h.path(name)
        os.makedirs(os.path.join(self.dir, "tmp"))
        make_pki(self.dir)
        with open(os.path.join(self.dir, "big.bin"), "wb") as f:
            f.write(os.urandom(BIG_BYTES))
        self.ports = {n: free_port() for n in CASES}
        servers = []
        for n, (cert, protocols, kreq) in CASES.items():
            tls = TLS.format(dir=self.dir, cert=cert, protocols=protocols) if cert else ""
            servers.append(SERVER.format(port=self.ports[n], ssl=" ssl" if cert else "",
                                         dir=self.dir, name=n, tls=tls,
                                         keepalive_requests=kreq,
                                         keepalive_timeout="1s" if n == "idle" else "75s"))
        if ws_backend is not None:
            self.ports["ws"] = free_port()
            tls = TLS.format(dir=self.dir, cert="good", protocols="TLSv1.2 TLSv1.3")
            servers.append(WS_SERVER.format(port=self.ports["ws"], dir=self.dir, tls=tls,
                                            backend=ws_backend))
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            # As root, workers would run as nobody and not read the test's 0700 directory.
            user = "user root;" if os.geteuid() == 0 else ""
            f.write(CONF.format(dir=self.dir, servers="".join(servers), user=user))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = Proc(name, [nginx, "-p", self.dir, "-c", conf, "-e",
                                os.path.join(self.dir, "err.log")], h.dir)
        h.procs.append(self.proc)
        deadline = time.monotonic() + 10
        for port in self.ports.values():
            while not port_open(port):
                check(self.proc.alive(), "nginx exited: %s" % self.proc.stderr_text())
                check(time.monotonic() < deadline, "nginx did not listen")
                time.sleep(0.05)

    def file(self, name):
        return os.path.join(self.dir, name)

    def url(self, case):
        return "https://127.0.0.1:%d" % self.ports[case]

    def requests(self, case):
        """The access log of one server block: [(request line, connection, reused, verify)]."""
        path = os.path.join(self.dir, case + "-access.log")
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            return [tuple(line.rstrip("\n").split("|")) for line in f if line.endswith("\n") and line.strip()]

    def tls_cfg(self, **kw):
        """upstream_tls with the test CA, app.internal and our client certificate."""
        cfg = {"ca_file": self.file("ca.pem"), "server_name": SERVER_NAME,
               "client_cert": self.file("client.pem"), "client_key": self.file("client.key")}
        cfg.update(kw)
        return {k: v for k, v in cfg.items() if v is not None}
