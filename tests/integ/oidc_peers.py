"""The Node peers of the OpenID Connect tests, as harness processes (stopped after the test):

- OidcRp: the openid-client relying party (tests/integ/oidc_rp/rp.mjs) — a test points it at an
  issuer (ztgate's portal, or the stand-in OP) and drives /login in Chromium, then reads /state.
- OidcProvider: npm oidc-provider (tests/integ/oidc_op/op.mjs), a stand-in OP used by
  test_oidc_peers_selfcheck.py to show the relying parties work, and by bench/oidc.

npm packages come from scripts/setup.sh (`npm ci` in each folder); when missing they are
installed here, and when that cannot be done the test is skipped (a failure under CI=true).
"""
import json
import os
import select
import shutil
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from harness import Proc, Skip, check, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
RP_DIR = os.path.join(HERE, "oidc_rp")
OP_DIR = os.path.join(HERE, "oidc_op")


def _missing(what):
    msg = "oidc peers: %s (run scripts/setup.sh)" % what
    if os.environ.get("CI") == "true":
        raise AssertionError(msg)
    raise Skip(msg)


def ensure_npm(folder, package):
    """node and folder/node_modules/package, installing them with `npm ci` if missing."""
    if shutil.which("node") is None:
        _missing("node not installed")
    if os.path.exists(os.path.join(folder, "node_modules", package, "package.json")):
        return
    if shutil.which("npm") is None:
        _missing("npm not installed")
    res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                         cwd=folder, capture_output=True, text=True, timeout=240)
    if res.returncode != 0:
        _missing("npm ci in %s failed: %s" % (folder, res.stderr.strip()[-400:]))


def _process_state(pid):
    """State, wait channel and threads of a process (and its children: `env` execs node)."""
    out = []
    try:
        with open("/proc/%d/status" % pid) as f:
            out += [x.strip() for x in f if x.startswith(("Name:", "State:", "Threads:"))]
        with open("/proc/%d/wchan" % pid) as f:
            out.append("wchan: " + f.read().strip())
    except OSError as e:
        out.append("no /proc entry: %s" % e)
    return "; ".join(out)


def _start_node(h, name, script, opts, cwd, env=None):
    """Starts `node script JSON` (with env's variables set) and waits for its {"ready": true}
    line; returns (proc, that line as a dict)."""
    argv = ["node", script, json.dumps(opts)]
    if env:
        argv = ["env"] + ["%s=%s" % kv for kv in sorted(env.items())] + argv
    proc = Proc(name, argv, h.dir, cwd=cwd, stdout_pipe=True)
    h.procs.append(proc)
    # Node starts in well under a second here; a minute without its line is a hang, reported
    # with what the kernel says the process is doing rather than waiting out the test's limit.
    ready, _, _ = select.select([proc.p.stdout], [], [], 60.0)
    if not ready:
        raise AssertionError("%s printed nothing in 60 s; %s\n%s" % (
            name, _process_state(proc.pid), proc.stderr_text()[-3000:]))
    line = proc.p.stdout.readline().decode()
    try:
        hello = json.loads(line)
    except ValueError:
        hello = {}
    check(hello.get("ready"), "%s did not start: %r\n%s" % (name, line, proc.stderr_text()[-3000:]))
    return proc, hello


def make_client_key(h, name="client", alg="ES256"):
    """A key pair for private_key_jwt: returns (private JWK dict for OidcRp(private_key_jwk=),
    path of a JWKS file with the public key, for the OP's client config (ztgate's
    oidc.jwks_file))."""
    ensure_npm(RP_DIR, "openid-client")
    js = ("const c=require('crypto');const a=process.argv[1];"
          "const k=a==='RS256'?c.generateKeyPairSync('rsa',{modulusLength:2048})"
          ":c.generateKeyPairSync('ec',{namedCurve:'P-256'});"
          "const kid=c.randomBytes(8).toString('hex');"
          "const pub={...k.publicKey.export({format:'jwk'}),kid,alg:a,use:'sig'};"
          "const prv={...k.privateKey.export({format:'jwk'}),kid,alg:a};"
          "console.log(JSON.stringify({prv,pub}))")
    res = subprocess.run(["node", "-e", js, alg], capture_output=True, text=True, check=True)
    keys = json.loads(res.stdout)
    path = h.path(name + ".jwks.json")
    with open(path, "w") as f:
        json.dump({"keys": [keys["pub"]]}, f)
    return keys["prv"], path


class OidcRp:
    """The openid-client RP. Its redirect URI is `self.redirect_uri` (register it at the OP),
    its back-channel logout URI `self.backchannel_uri` (by name) or `.backchannel_uri_loopback`
    (by 127.0.0.1: for an OP that cannot resolve test names, like ztgate), its post-logout
    landing page `self.post_logout_uri`. Outbound calls go to the issuer with every host name
    resolved to 127.0.0.1; TLS is trusted through ca_file (NODE_EXTRA_CA_CERTS: the OP's
    self-signed certificate or its CA). tls=(cert, key) serves the RP itself on https (cert
    for `host` and IP 127.0.0.1, e.g. browser.make_cert; give its spki to Chromium)."""

    def __init__(self, h, issuer, client_id, client_secret=None, auth="client_secret_basic",
                 ca_file=None, private_key_jwk=None, host="rp.test", scope=None,
                 id_token_alg=None, port=None, tls=None, name="oidc-rp"):
        ensure_npm(RP_DIR, "openid-client")
        self.h = h
        self.port = port or free_port()
        scheme = "https" if tls else "http"
        self.base = "%s://%s:%d" % (scheme, host, self.port)
        self.redirect_uri = self.base + "/cb"
        self.backchannel_uri = self.base + "/bcl"
        self.post_logout_uri = self.base + "/logged-out"
        self.local = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.backchannel_uri_loopback = self.local + "/bcl"
        self._ssl = None
        if tls:
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        opts = {"issuer": issuer, "client_id": client_id, "client_secret": client_secret,
                "auth": auth, "port": self.port, "base": self.base, "resolve_to": "127.0.0.1",
                "insecure": issuer.startswith("http:")}
        if private_key_jwk:
            opts["private_key_jwk"] = private_key_jwk
        if scope:
            opts["scope"] = scope
        if id_token_alg:
            opts["id_token_alg"] = id_token_alg
        if tls:
            opts["tls"] = {"cert": tls[0], "key": tls[1]}
        env = {"NODE_EXTRA_CA_CERTS": ca_file} if ca_file else None
        self.proc, _ = _start_node(h, name, os.path.join(RP_DIR, "rp.mjs"), opts, RP_DIR, env)

    def login_url(self, **params):
        """The URL a browser opens to sign in (params: acr_values, prompt, max_age, ...)."""
        q = urllib.parse.urlencode(params)
        return self.base + "/login" + ("?" + q if q else "")

    def get(self, path):
        """(status, JSON) of one of the RP's own routes, fetched directly (not via a browser)."""
        try:
            with urllib.request.urlopen(self.local + path, timeout=20, context=self._ssl) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def state(self):
        return self.get("/state")[1]


class OidcProvider:
    """npm oidc-provider on https://HOST:PORT (the test's certificate) or http. `clients` are
    oidc-provider client records ({client_id, client_secret, redirect_uris,
    token_endpoint_auth_method, grant_types, post_logout_redirect_uris, backchannel_logout_uri,
    ...}). Any login and password signs in at its login page (devInteractions); consent is
    never asked. Its back-channel logout POSTs reach any host name at 127.0.0.1; rp_ca_file
    (PEM, may hold several certificates) is what it trusts there for https RPs."""

    def __init__(self, h, clients, cert=None, key=None, host="op.test", auto_login=None,
                 port=None, rp_ca_file=None, name="oidc-provider"):
        ensure_npm(OP_DIR, "oidc-provider")
        self.port = port or free_port()
        scheme = "https" if cert else "http"
        self.issuer = "%s://%s:%d" % (scheme, host, self.port)
        opts = {"port": self.port, "issuer": self.issuer, "clients": clients,
                "resolveTo": "127.0.0.1"}
        if cert:
            opts["tls"] = {"cert": cert, "key": key}
        if auto_login:
            opts["autoLogin"] = auto_login
        env = {"NODE_EXTRA_CA_CERTS": rp_ca_file} if rp_ca_file else None
        self.proc, _ = _start_node(h, name, os.path.join(OP_DIR, "op.mjs"), opts, OP_DIR, env)
        self.metadata_url = self.issuer + "/.well-known/openid-configuration"

