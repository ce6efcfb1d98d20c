"""A real Apache httpd (Debian's apache2) as the relying party of ztgate's identity provider:
mod_auth_openidc (OpenID Connect RP) protecting /protected/, or mod_auth_mellon (SAML 2.0 SP)
protecting /secret/. Everything lives in the test's temp dir (config, PidFile, Mutex, logs,
runtime dir, keys); the system's /etc/apache2 and its service are never used.

Apache serves HTTPS on a loopback port with its own self-signed certificate (cookies with
SameSite=None, which both modules need for the cross-site return from the IdP, must be Secure);
give `apache.spki` to browser.Chromium(spki=[...]) with the IdP's so Chromium trusts both.
The protected page is a CGI that prints REMOTE_USER and the module's variables as JSON.

Host names: Chromium resolves every name to 127.0.0.1; Apache's own calls to the OP (discovery,
token, JWKS, userinfo through libcurl) go through HostMapProxy, an HTTP CONNECT proxy of the
harness that connects every name to 127.0.0.1 (`OIDCOutgoingProxy`), so the OP can be
https://auth.test:PORT as the browser sees it.

    ap = apache.openidc(h, issuer, "apache", "secret", ca_file=cert)   # started
    tab.goto(ap.url("/protected/"), "rp")  ->  the OP's sign-in, then the JSON page
    ap.backchannel_uri, ap.redirect_uri     # register these at the OP

    ap = apache.mellon(h, idp_metadata_file)    # SP metadata: ap.sp_metadata_path
"""
import json
import os
import pwd
import select
import shutil
import socket
import subprocess
import threading
import urllib.parse

from harness import Proc, Skip, check, free_port, port_open, wait_until
from browser import spki_sha256

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
# mod_cgi, not mod_cgid: cgid's socket path would exceed the 108 bytes of a Unix socket name in
# the harness's long temp dirs (it truncates and collides); forking from a threaded MPM is fine
# at a test's load.
BASE_MODULES = ["mpm_event", "authn_core", "authz_core", "authz_user", "alias", "mime", "env",
                "headers", "setenvif", "ssl", "socache_shmcb", "cgi"]

# The protected page: REMOTE_USER, AUTH_TYPE and every OIDC_* / MELLON_* variable as JSON.
CGI = r"""#!/usr/bin/python3
import json, os
keys = ("REMOTE_USER", "AUTH_TYPE")
out = {k: v for k, v in os.environ.items()
       if k in keys or k.startswith(("OIDC_", "MELLON_"))}
print("Content-Type: application/json")
print("Cache-Control: no-store")
print()
print(json.dumps(out, sort_keys=True))
"""


def _missing(what):
    msg = "apache: %s (run scripts/setup.sh)" % what
    if os.environ.get("CI") == "true":
        raise AssertionError(msg)
    raise Skip(msg)


def _need(module):
    if not os.access(APACHE, os.X_OK):
        _missing("%s not installed (Debian package apache2)" % APACHE)
    if not os.path.exists(os.path.join(MODULES, "mod_%s.so" % module)):
        _missing("mod_%s not installed" % module)


# ---------------------------------------------------------------------------------------------
# outgoing calls of Apache: every host name to 127.0.0.1

class HostMapProxy:
    """An HTTP proxy on a loopback port: CONNECT host:port and absolute-form http:// requests
    go to 127.0.0.1:port whatever the host. A harness process (stopped after the test)."""

    def __init__(self, h, name="hostmap-proxy"):
        self.name = name
        self.exit_problem = None
        self.killed_on_purpose = False
        self.port = free_port()
        self.log = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._stop = False
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()
        h.procs.append(self)
        self.url = "http://127.0.0.1:%d" % self.port

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                d = c.recv(4096)
                if not d:
                    return
                head += d
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = line.split(" ", 2)
            self.log.append(line)
            if method == "CONNECT":
                port = int(target.rsplit(":", 1)[1])
                up = socket.create_connection(("127.0.0.1", port), timeout=10)
                c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
            else:
                u = urllib.parse.urlsplit(target)
                up = socket.create_connection(("127.0.0.1", u.port or 80), timeout=10)
                path = (u.path or "/") + ("?" + u.query if u.query else "")
                rest = head.replace(target.encode(), path.encode(), 1)
            if rest:
                up.sendall(rest)
            self._pipe(c, up)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            c.close()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                r, _, _ = select.select([a, b], [], [], 30)
                if not r:
                    return
                for s in r:
                    d = s.recv(65536)
                    if not d:
                        return
                    (b if s is a else a).sendall(d)
        finally:
            b.close()

    def stop(self, grace_s=0):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        return 0

    def stderr_text(self):
        return ""

    def stdout_text(self):
        return "\n".join(self.log[-20:])


# ---------------------------------------------------------------------------------------------
# Apache itself

class Apache:
    """One httpd in h.dir/NAME: .port, .url(path), .spki, .cert (its certificate), .logs()."""

    def __init__(self, h, name, host):
        self.h = h
        self.name = name
        self.host = host
        self.dir = h.path(name)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "cgi"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "htdocs"), exist_ok=True)
        self.port = free_port()
        self.cert = os.path.join(self.dir, "tls.crt")
        self.key = os.path.join(self.dir, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout", self.key,
                        "-out", self.cert, "-subj", "/CN=" + host, "-addext",
                        "subjectAltName=DNS:%s,IP:127.0.0.1" % host],
                       check=True, capture_output=True)
        self.spki = spki_sha256(self.cert)
        cgi = os.path.join(self.dir, "cgi", "show")
        with open(cgi, "w") as f:
            f.write(CGI)
        os.chmod(cgi, 0o755)
        self.proc = None

    def url(self, path="/"):
        return "https://%s:%d%s" % (self.host, self.port, path)

    def _common(self, modules):
        lines = ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in modules]
        d = self.dir
        lines += [
            "ServerRoot %s" % d,
            "ServerName %s:%d" % (self.host, self.port),
            "Listen 127.0.0.1:%d" % self.port,
            "PidFile %s/run/httpd.pid" % d,
            "DefaultRuntimeDir %s/run" % d,
            "Mutex file:%s/run default" % d,
            "ErrorLog %s/error.log" % d,
            "LogLevel warn " + " ".join("%s:info" % m for m in modules if m.startswith("auth_")),
            'LogFormat "%h \\"%r\\" %>s %{Location}o" brief',
            "CustomLog %s/access.log brief" % d,
            "TypesConfig /etc/mime.types",
            "DocumentRoot %s/htdocs" % d,
            "StartServers 1",
            "ServerLimit 1",
            "ThreadsPerChild 16",
            "MaxRequestWorkers 16",
            "SSLEngine on",
            "SSLCertificateFile %s" % self.cert,
            "SSLCertificateKeyFile %s" % self.key,
            "SSLSessionCache shmcb:%s/run/ssl_scache(65536)" % d,
        ]
        if os.geteuid() == 0:
            lines += ["User www-data", "Group www-data"]
        return lines

    def start(self, conf_lines, timeout_s=15):
        conf = os.path.join(self.dir, "httpd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(conf_lines) + "\n")
        self._grant_www_data()
        res = subprocess.run([APACHE, "-t", "-f", conf], capture_output=True, text=True)
        check(res.returncode == 0, "apache config refused:\n%s\n%s" % (res.stderr, "\n".join(
            "%3d %s" % (i + 1, x) for i, x in enumerate(conf_lines))))
        self.proc = Proc(self.name, [APACHE, "-f", conf, "-DFOREGROUND"], self.h.dir, cwd=self.dir)
        self.h.procs.append(self.proc)
        up = wait_until(lambda: not self.proc.alive() or port_open(self.port), timeout_s)
        check(up and self.proc.alive(), "apache did not start:\n%s" % self.logs())
        return self

    def _grant_www_data(self):
        """As root, Apache's children run as www-data: they read the keys and metadata (mellon
        loads them on the first request) and run the CGI, so the test dir must be reachable."""
        if os.geteuid() != 0:
            return
        www = pwd.getpwnam("www-data")
        os.chmod(self.h.dir, 0o711)
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chown(os.path.join(root, n), www.pw_uid, www.pw_gid)
        os.chown(self.dir, www.pw_uid, www.pw_gid)

    def logs(self):
        out = []
        for n in ("error.log", "access.log"):
            try:
                with open(os.path.join(self.dir, n), errors="replace") as f:
                    out.append("---- %s %s\n%s" % (self.name, n, f.read()[-6000:]))
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def _q(s):
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"')


# ---------------------------------------------------------------------------------------------
# mod_auth_openidc

def openidc(h, issuer, client_id, client_secret=None, ca_file=None, auth="client_secret_basic",
            acr_values=None, scope="openid email profile", host="rp.test", remote_user="email",
            extra=(), name="apache-oidc", start=True):
    """Apache with mod_auth_openidc protecting /protected/ (a CGI answering JSON of REMOTE_USER
    and the OIDC_CLAIM_* variables) against the OP at `issuer` (discovery at
    ISSUER/.well-known/openid-configuration).

    - ca_file: the OP's certificate or CA (OIDCCABundlePath); None = do not verify TLS.
    - auth: OIDCProviderTokenEndpointAuth (client_secret_basic | client_secret_post | none |
      private_key_jwt: an RSA key and certificate are made here, .jwks_uri serves the public
      JWKS (register it at the OP, or fetch it for ztgate's oidc.jwks_file)).
    - acr_values: sent on every authorize as OIDCAuthRequestParams acr_values=...
    - remote_user: the claim that becomes REMOTE_USER (OIDCRemoteUserClaim).
    Sessions are server-cache (shm), so a back-channel logout ends them. Register at the OP:
    redirect URI .redirect_uri, back-channel logout URI .backchannel_uri (or
    .backchannel_uri_loopback), post-logout URI .url("/loggedout"). RP-initiated logout:
    .logout_url(return_to). Its JWKS (private_key_jwt) is served at .redirect_uri + "?jwks"."""
    _need("auth_openidc")
    ap = Apache(h, name, host)
    ap.proxy = HostMapProxy(h, name + "-proxy")
    ap.redirect_uri = ap.url("/protected/redirect_uri")
    ap.backchannel_uri = ap.redirect_uri + "?logout=backchannel"
    # The same by address, for an OP that cannot resolve test names (ztgate): Apache's
    # certificate names IP 127.0.0.1 too, and the module matches the path, not the host.
    ap.backchannel_uri_loopback = ("https://127.0.0.1:%d/protected/redirect_uri?logout=backchannel"
                                   % ap.port)
    ap.issuer = issuer
    lines = ap._common(BASE_MODULES + ["auth_openidc"])
    ap.jwks_uri = ap.redirect_uri + "?jwks="  # 2.4.12.3 looks for "jwks=", not "jwks"
    if auth.startswith("private_key_jwt"):
        # The keys must come before OIDCProviderTokenEndpointAuth: the module refuses
        # private_key_jwt there when it has no private key yet.
        pkey, pcert = os.path.join(ap.dir, "client.key"), os.path.join(ap.dir, "client.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", pkey, "-out", pcert, "-subj", "/CN=" + client_id],
                       check=True, capture_output=True)
        lines.append("OIDCPrivateKeyFiles apache-client-key#%s" % pkey)
        lines.append("OIDCPublicKeyFiles apache-client-key#%s" % pcert)
    lines += [
        "OIDCProviderMetadataURL %s"
        % _q(issuer.rstrip("/") + "/.well-known/openid-configuration"),
        "OIDCClientID %s" % _q(client_id),
        "OIDCRedirectURI %s" % _q(ap.redirect_uri),
        "OIDCCryptoPassphrase %s" % _q(os.urandom(16).hex()),
        "OIDCPKCEMethod S256",
        "OIDCScope %s" % _q(scope),
        "OIDCResponseType code",
        "OIDCProviderTokenEndpointAuth %s" % auth,
        "OIDCProviderBackChannelLogoutSupported On",
        "OIDCSessionType server-cache",
        "OIDCCacheType shm",
        # 2.4.12.3: Off = SameSite=None on its cookies (On: Lax/Strict)
        "OIDCCookieSameSite Off",
        "OIDCRemoteUserClaim %s" % remote_user,
        "OIDCPassClaimsAs environment",
        "OIDCPassIDTokenAs claims payload",
        "OIDCOutgoingProxy 127.0.0.1:%d" % ap.proxy.port,
        "OIDCDefaultLoggedOutURL %s" % _q(ap.url("/loggedout")),
        "OIDCHTTPTimeoutLong 20",
        "OIDCHTTPTimeoutShort 10",
    ]
    if client_secret is not None:
        lines.append("OIDCClientSecret %s" % _q(client_secret))
    if ca_file:
        dst = os.path.join(ap.dir, "op-ca.pem")
        shutil.copyfile(ca_file, dst)
        lines += ["OIDCSSLValidateServer On", "OIDCCABundlePath %s" % dst]
    else:
        lines.append("OIDCSSLValidateServer Off")
    if acr_values:
        lines.append("OIDCAuthRequestParams %s"
                     % _q("acr_values=" + urllib.parse.quote(acr_values)))
    lines += list(extra)
    lines += [
        'ScriptAlias /protected/ "%s/cgi/show/"' % ap.dir,
        "<Location /protected/>",
        "  AuthType openid-connect",
        "  Require valid-user",
        "</Location>",
        "Alias /loggedout %s/htdocs/loggedout.txt" % ap.dir,
    ]
    with open(os.path.join(ap.dir, "htdocs", "loggedout.txt"), "w") as f:
        f.write("logged out\n")
    ap.logout_url = lambda return_to=None: ap.redirect_uri + "?logout=" + urllib.parse.quote(
        return_to or ap.url("/loggedout"), safe="")
    ap.conf_lines = lines
    if start:
        ap.start(lines)
    return ap


# ---------------------------------------------------------------------------------------------
# mod_auth_mellon

def _sp_metadata(entity_id, cert_pem, acs, slo, soap_slo):
    body = "".join(cert_pem.strip().splitlines()[1:-1])
    return """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{eid}">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </KeyDescriptor>
    <KeyDescriptor use="encryption">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo}"/>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="{soap_slo}"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
    <AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}"/>
  </SPSSODescriptor>
</EntityDescriptor>
""".format(eid=entity_id, cert=body, acs=acs, slo=slo, soap_slo=soap_slo)


def mellon(h, idp_metadata_file=None, host="sp.test", name="apache-mellon", extra=(),
           start=None):
    """Apache with mod_auth_mellon protecting /secret/ (the CGI: REMOTE_USER = the NameID,
    MELLON_<attribute> variables). The SP's RSA key and certificate are made here and its
    metadata written to .sp_metadata_path (entityID .entity_id = URL of /mellon/metadata, ACS
    /mellon/postResponse HTTP-POST, SLO /mellon/logout HTTP-Redirect and SOAP (by address:
    .soap_slo_url), AuthnRequestsSigned):
    put that file in ztgate's config (saml.metadata_file), then start Apache with the IdP's
    metadata (ztgate's /.ztgate/saml/metadata, saved by the test):

        sp = apache.mellon(h)                      # not started: no IdP metadata yet
        ... write ztgate config with sp.sp_metadata_path, start ztgate, fetch its metadata ...
        sp.start_with_idp(metadata_path)

    With idp_metadata_file given it starts at once (start=False to defer). Login:
    .url("/secret/"); SP-initiated logout: .logout_url(return_to)."""
    _need("auth_mellon")
    ap = Apache(h, name, host)
    ap.entity_id = ap.url("/mellon/metadata")
    ap.acs_url = ap.url("/mellon/postResponse")
    ap.slo_url = ap.url("/mellon/logout")
    # Back-channel (SOAP) logout from the IdP: the same endpoint, POSTed to with no query. By
    # address: ztgate cannot resolve the test host names (the certificate has IP:127.0.0.1).
    ap.soap_slo_url = "https://127.0.0.1:%d/mellon/logout" % ap.port
    ap.sp_key = os.path.join(ap.dir, "sp.key")
    ap.sp_cert = os.path.join(ap.dir, "sp.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", ap.sp_key, "-out", ap.sp_cert, "-subj", "/CN=" + host],
                   check=True, capture_output=True)
    with open(ap.sp_cert) as f:
        cert_pem = f.read()
    ap.sp_metadata_path = os.path.join(ap.dir, "sp-metadata.xml")
    with open(ap.sp_metadata_path, "w") as f:
        f.write(_sp_metadata(ap.entity_id, cert_pem, ap.acs_url, ap.slo_url, ap.soap_slo_url))
    ap.logout_url = lambda return_to=None: ap.url("/mellon/logout?ReturnTo=") + urllib.parse.quote(
        return_to or ap.url("/loggedout"), safe="")

    def start_with_idp(idp_metadata):
        dst = os.path.join(ap.dir, "idp-metadata.xml")
        shutil.copyfile(idp_metadata, dst)
        lines = ap._common(BASE_MODULES + ["auth_mellon"])
        lines += [
            "<Location />",
            "  MellonEnable info",
            "  MellonEndpointPath /mellon",
            "  MellonSPPrivateKeyFile %s" % ap.sp_key,
            "  MellonSPCertFile %s" % ap.sp_cert,
            "  MellonSPMetadataFile %s" % ap.sp_metadata_path,
            "  MellonIdPMetadataFile %s" % dst,
            "  MellonSecureCookie On",
            "  MellonCookieSameSite None",
            "  MellonSignatureMethod rsa-sha256",
            "  MellonRedirectDomains [self]",
        ] + ["  " + x for x in extra] + [
            "</Location>",
            'ScriptAlias /secret/ "%s/cgi/show/"' % ap.dir,
            "<Location /secret/>",
            "  MellonEnable auth",
            "  AuthType Mellon",
            "  Require valid-user",
            "</Location>",
            "Alias /loggedout %s/htdocs/loggedout.txt" % ap.dir,
        ]
        with open(os.path.join(ap.dir, "htdocs", "loggedout.txt"), "w") as f:
            f.write("logged out\n")
        ap.conf_lines = lines
        return ap.start(lines)

    ap.start_with_idp = start_with_idp
    if idp_metadata_file and start is not False:
        start_with_idp(idp_metadata_file)
    return ap


def wait_page(tab, url, text_prefix="{", timeout_s=15):
    """{url, text} of a browser tab once it shows a page under `url` whose text starts with
    text_prefix (the protected CGI's JSON by default). Needed after an IdP's self-submitting
    form: Tab.goto returns when the IdP's page has loaded, before its onload POST lands."""
    from browser import BrowserError

    def now():
        try:
            return tab.evaluate("({url: location.href, text: document.body.innerText})")
        except BrowserError:  # the page navigated while asked
            return {"url": "", "text": ""}

    def landed():
        x = now()
        return x if x["url"].startswith(url) and x["text"].startswith(text_prefix) else None

    got = wait_until(landed, timeout_s)
    tab.screenshot("landed")
    return got or now()


def fetch(ap, path, cookies=None):
    """Not a browser: for tests that only need to see that a page is protected (302 to the IdP).
    Returns (status, headers dict, body bytes)."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=ap.cert)
    ctx.check_hostname = False
    c = http.client.HTTPSConnection("127.0.0.1", ap.port, context=ctx, timeout=15)
    hdrs = {"Host": "%s:%d" % (ap.host, ap.port)}
    if cookies:
        hdrs["Cookie"] = cookies
    c.request("GET", path, headers=hdrs)
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out




# ---------------------------------------------------------------------------------------------
# a stand-in SAML IdP (Lasso), for the harness's own check of mellon

class LassoIdp:
    """tests/integ/saml_idp.py on https://HOST:PORT: answers every AuthnRequest of the SP whose
    metadata it is given for `user`. .metadata_path (give it to sp.start_with_idp), .spki (for
    Chromium), .sso_count() (AuthnRequests it answered)."""

    def __init__(self, h, sp_metadata, user, host="idp.test", name="saml-idp"):
        import importlib.util
        if importlib.util.find_spec("lasso") is None:
            _missing("python3-lasso not installed (Debian package python3-lasso)")
        from browser import make_cert
        self.port = free_port()
        self.tls_cert, tls_key, self.spki = make_cert(h, [host], name=name + "-tls")
        self.sign_key, self.sign_cert = h.path(name + "-sign.key"), h.path(name + "-sign.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", self.sign_key, "-out", self.sign_cert, "-subj", "/CN=" + host],
                       check=True, capture_output=True)
        self.metadata_path = h.path(name + "-metadata.xml")
        self.entity_id = "https://%s:%d/metadata" % (host, self.port)
        opts = {"port": self.port, "host": host, "tls_cert": self.tls_cert, "tls_key": tls_key,
                "sign_cert": self.sign_cert, "sign_key": self.sign_key,
                "sp_metadata": sp_metadata, "metadata_out": self.metadata_path, "user": user}
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = Proc(name, ["/usr/bin/python3", os.path.join(here, "saml_idp.py"),
                                json.dumps(opts)], h.dir, stdout_pipe=True)
        h.procs.append(self.proc)
        line = self.proc.p.stdout.readline().decode()
        check(line.startswith("PORT "), "saml idp did not start: %r\n%s"
              % (line, self.proc.stderr_text()[-2000:]))

    def sso_count(self):
        return self.proc.stderr_text().count('"GET /sso?')


__all__ = ["Apache", "HostMapProxy", "LassoIdp", "openidc", "mellon", "fetch", "wait_page"]
