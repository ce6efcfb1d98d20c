"""The quickstart as a person runs it (`make run`), in Chromium: examples/quickstart.yaml copied
with the harness's ports, state in the test's directory, examples/demo_app.py behind the proxy
and examples/oidc_demo/server.mjs (openid-client) signing in through ztgate's OpenID Connect
provider on the portal host, sso.localhost.

1. The proxied demo app: app.localhost sends the person to sign in on the portal host; the
   password, TOTP enrolment (mfa: required) and the way back to the app.
2. The OIDC demo app: "Sign in with ztgate" -> the portal's sign-in -> back at the demo app,
   which shows the e-mail, acr/amr and the verified ID token claims; "Sign out" (RP-initiated
   logout) -> signed out at ztgate too; signed in again, then signed out at ztgate's own sign-out
   page -> the back-channel logout ends the demo app's session. Skipped until ztgate's
   provider is in the binary under test.
3. The demo app's own checks against a stand-in provider that signs with its own key: PKCE
   S256, state, nonce, client_secret_basic; logout tokens wrong in one way each are refused.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from browser import Chromium, spki_sha256
from harness import Proc, Skip, check, eq, free_port, port_open, timeout, wait_until
from portal_client import _fresh_step, add_user, totp
from test_quickstart import QUICKSTART, ROOT, client_secret

EMAIL = "mika@example.test"
PASSWORD = "mika's long quickstart passphrase"
OIDC_DIR = os.path.join(ROOT, "examples", "oidc_demo")


def _replace(text, old, new, what):
    check(old in text, "the quickstart still has %s (%r)" % (what, old))
    return text.replace(old, new)


def _config_text(ports):
    """The quickstart with this test's ports; cheap password hashing and a short drain so the
    test stays quick; everything else exactly as shipped (state under ./data, relative to the
    gateway's working directory, the test's directory)."""
    with open(QUICKSTART) as f:
        text = f.read()
    text = _replace(text, "127.0.0.1:8080", "127.0.0.1:%d" % ports["http"], "the HTTP listener")
    text = _replace(text, "127.0.0.1:8443", "127.0.0.1:%d" % ports["https"], "the TLS listener")
    text = _replace(text, "127.0.0.1:9444", "127.0.0.1:%d" % ports["admin"], "the admin API")
    text = _replace(text, "http://127.0.0.1:8081", "http://127.0.0.1:%d" % ports["demo"],
                    "the demo app's upstream")
    text = _replace(text, "http://127.0.0.1:8082/", "http://127.0.0.1:%d/" % ports["oidc"],
                    "the OIDC demo app's URLs")
    text = _replace(text, "  workers: 0", "  workers: 2", "the worker count")
    text = _replace(text, "drain: 30s", "drain: 3s", "the drain timeout")
    return _replace(text, "  password_min_length: 12\n",
                    "  password_min_length: 12\n  argon2_memory: 19MiB\n  argon2_passes: 2\n",
                    "the auth section")


def _ensure_oidc_demo():
    """The demo app's npm tree (scripts/setup.sh installs it; `npm ci` here otherwise). Missing
    set-up skips the test, except under CI, where the suite must not pass by not running."""
    if os.path.isdir(os.path.join(OIDC_DIR, "node_modules", "openid-client")):
        return
    why = None
    if shutil.which("node") is None or shutil.which("npm") is None:
        why = "node or npm not installed"
    else:
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=OIDC_DIR, capture_output=True, text=True, timeout=240)
        if r.returncode != 0:
            why = "npm ci in examples/oidc_demo failed: " + r.stderr.strip()[-400:]
    if why:
        if os.environ.get("CI") == "true":
            raise AssertionError("OIDC demo app: %s (run scripts/setup.sh)" % why)
        raise Skip("OIDC demo app: %s (run scripts/setup.sh)" % why)


def _quickstart(h, with_oidc_demo):
    ports = {k: free_port() for k in ("http", "https", "admin", "demo", "oidc")}
    client_secret(h)
    gw = h.gateway(_config_text(ports), start=False, name="ztgate")
    gw.ports, gw.tls_ports = [ports["http"]], [ports["https"]]
    gw.port, gw.tls_port = ports["http"], ports["https"]
    gw.start()
    demo = Proc("demo-app", ["python3", os.path.join(ROOT, "examples", "demo_app.py"),
                             str(ports["demo"])], h.dir, cwd=h.dir)
    h.procs.append(demo)
    apps = [(demo, ports["demo"])]
    oidc = None
    if with_oidc_demo:
        _ensure_oidc_demo()
        oidc = Proc("oidc-demo", [
            "node", os.path.join(OIDC_DIR, "server.mjs"), "--port", str(ports["oidc"]),
            "--issuer", "https://sso.localhost:%d" % ports["https"], "--client-id", "demo-oidc",
            "--secret-file", "./data/demo-oidc.secret",
            "--ca", "./data/tls/gateway-cert.pem"], h.dir, cwd=h.dir)
        h.procs.append(oidc)
        apps.append((oidc, ports["oidc"]))
    for proc, port in apps:
        check(wait_until(lambda: port_open(port) or not proc.alive(), 15.0) and proc.alive(),
              "%s did not start:\n%s" % (proc.name, proc.stderr_text()))
    add_user(h, gw, EMAIL, PASSWORD, groups=("nurses",))
    spki = spki_sha256(os.path.join(h.dir, "data", "tls", "gateway-cert.pem"))
    return ports, oidc, Chromium(h, spki=[spki])


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _first_sign_in(tab, portal):
    """On the portal's sign-in page: password, TOTP enrolment, recovery codes, continue.
    Returns the page the person lands on and the TOTP key."""
    check(tab.page.url.startswith(portal + "/.ztgate/login"),
          "signed in on the portal host %s: %s" % (portal, tab.page.url))
    p = tab.submit("enrol", username=EMAIL, password=PASSWORD)
    check(tab.attr("a[href^='otpauth://totp/']", "href"),
          "the quickstart asks for TOTP enrolment (mfa: required): %s" % p.text[:300])
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    p = tab.submit("recovery-codes", code=_code(secret))
    check(len(tab.texts("ul.codes li")) == 10, "recovery codes shown: %s" % p.text[:300])
    return tab.click("main a[href^='/.ztgate/login']", "continue"), secret


@timeout(180)
def test_quickstart_sign_in_on_the_portal_host(h):
    """auth.portal_host: sso.localhost moves the sign-in of app.localhost to the portal host;
    the person comes back to the demo app signed in, and the app sees who it is."""
    ports, _, chromium = _quickstart(h, with_oidc_demo=False)
    tab = chromium.context()
    app = "http://app.localhost:%d" % ports["http"]
    portal = "http://sso.localhost:%d" % ports["http"]
    p = tab.goto(app + "/records", "sign-in")
    eq(p.status, 200, "the sign-in page")
    p, _ = _first_sign_in(tab, portal)
    eq((p.status, p.url), (200, app + "/records"), "back at the demo app, at the page asked for")
    check("Hello from the demo app behind ztgate" in p.text, "the demo app answers: %s"
          % p.text[:300])
    check(re.search(r"X-ZT-Email\s+%s" % re.escape(EMAIL), p.text),
          "the demo app sees the signed-in user: %s" % p.text[:1500])


def _oidc_provider_built(h):
    """The binary under test serves the OpenID Connect provider (issue 13)."""
    with open(h.ztgate, "rb") as f:
        return b"/.ztgate/oidc/authorize" in f.read()


@timeout(240)
def test_quickstart_oidc_sign_in_and_out(h):
    if not _oidc_provider_built(h):
        raise Skip("this ztgate has no OpenID Connect provider yet (issue 13: src/idp/oidc*.c): "
                   "the OIDC demo app has nothing to sign in with")
    ports, oidc, chromium = _quickstart(h, with_oidc_demo=True)
    tab = chromium.context()
    rp = "http://127.0.0.1:%d" % ports["oidc"]
    issuer = "https://sso.localhost:%d" % ports["https"]

    # 1. Sign in with ztgate: the portal's sign-in on the issuer's host, then back.
    p = tab.goto(rp + "/", "oidc-demo")
    check("Sign in with ztgate" in p.text, "the demo app offers to sign in: %s" % p.text[:300])
    p = tab.click("#sign-in", "oidc-sign-in")
    p, secret = _first_sign_in(tab, issuer)
    eq((p.status, p.url), (200, rp + "/"), "back at the OIDC demo app, signed in")
    eq(p.h1, "Signed in with ztgate", "the demo app's signed-in page")
    eq(tab.texts("#email"), [EMAIL], "the e-mail from the ID token")
    eq(tab.texts("#groups"), ["nurses"], "the groups (scope groups, advertised in discovery)")
    amr = tab.texts("#amr")[0]
    check("otp" in amr or "mfa" in amr, "amr names the second factor: %r" % amr)
    claims = tab.texts("#id-token-claims td")
    check(issuer in claims and "demo-oidc" in claims,
          "the ID token's iss and aud, verified by openid-client: %r" % claims)

    # 2. One sign-in: the proxied app on the same portal (HTTPS, where the session cookie is)
    # needs none.
    app = "https://app.localhost:%d" % ports["https"]
    p = tab.goto(app + "/", "app-single-sign-on")
    eq((p.status, p.url), (200, app + "/"), "the proxied demo app without a second sign-in")

    # 3. Sign out (RP-initiated logout): back at the demo app, signed out at ztgate too.
    p = tab.goto(rp + "/", "oidc-demo-again")
    p = tab.click("#sign-out", "signed-out")
    check(p.url.startswith(rp + "/signed-out"), "back at the post-logout URI: %s" % p.url)
    check("You are signed out of this app and of ztgate." in p.text, p.text[:300])
    p = tab.click("#sign-in", "sign-in-after-sign-out")
    check(p.url.startswith(issuer + "/.ztgate/login"),
          "ztgate asks for the password again: signed out there: %s" % p.url)

    # 4. Signed in again; signed out at ztgate's own sign-out page: ztgate's back-channel
    # logout token ends the demo app's session (verified by the app: signature, iss, aud,
    # events, no nonce).
    tab.submit("password-again", username=EMAIL, password=PASSWORD)
    p = tab.submit("totp-again", code=_code(secret))
    eq((p.status, p.url, p.h1), (200, rp + "/", "Signed in with ztgate"), "signed in again")
    tab.goto(issuer + "/.ztgate/logout", "ztgate-sign-out")
    tab.submit("ztgate-signed-out")

    def demo_signed_out():
        return "Sign in with ztgate" in tab.goto(rp + "/", "after-back-channel").text

    check(wait_until(demo_signed_out, 15.0, interval=0.5),
          "the back-channel logout ended the demo app's session:\n%s"
          % oidc.stderr_text()[-2000:])
    check("back-channel logout" in tab.page.text or "back-channel" in tab.page.text,
          "the demo app says why: %s" % tab.page.text[:400])
    check(re.search(r"back-channel logout \(sid [^)]+\): 1 session", oidc.stderr_text()),
          "the demo app ended exactly one session: %s" % oidc.stderr_text()[-1500:])


# ---------------------------------------------------------------------------------------------
# The demo app's own checks, against a stand-in provider: a few lines of Python that sign with a
# key of their own, so a token can be wrong in exactly one way. This runs without ztgate's
# provider and shows that the demo app does what it promises (PKCE S256, state, nonce,
# client_secret_basic; back-channel logout tokens checked for signature, iss, aud, events, nonce,
# expiry and replay).

def _b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Signer:
    """An ES256 key: its JWK and compact JWS."""

    def __init__(self, kid):
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                    "x": _b64u(nums.x.to_bytes(32, "big")), "y": _b64u(nums.y.to_bytes(32, "big"))}

    def jws(self, claims, header=None):
        head = dict({"alg": "ES256", "kid": self.kid}, **(header or {}))
        signing_input = ("%s.%s" % (_b64u(json.dumps(head).encode()),
                                    _b64u(json.dumps(claims).encode()))).encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return signing_input.decode() + "." + _b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class _StandInProvider:
    """Discovery, JWKS, a token endpoint that checks client_secret_basic and PKCE S256, and
    userinfo, on plain HTTP on loopback (the demo app allows that only for loopback issuers)."""

    def __init__(self, secret, redirect_uri):
        self.port = free_port()
        self.issuer = "http://127.0.0.1:%d" % self.port
        self.signer = _Signer("stand-in-1")
        self.secret, self.redirect_uri = secret, redirect_uri
        self.codes = {}  # code -> (challenge, nonce)
        self.nonce_override = None
        self.token_requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.get(self)

            def do_POST(self):
                outer.post(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def metadata(self):
        i = self.issuer
        return {"issuer": i, "authorization_endpoint": i + "/authorize",
                "token_endpoint": i + "/token", "userinfo_endpoint": i + "/userinfo",
                "jwks_uri": i + "/jwks", "end_session_endpoint": i + "/logout",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "email", "profile", "groups"],
                "authorization_response_iss_parameter_supported": True,
                "backchannel_logout_supported": True, "backchannel_logout_session_supported": True}

    def _answer(self, req, status, obj):
        body = json.dumps(obj).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Cache-Control", "no-store")
        req.end_headers()
        req.wfile.write(body)

    def get(self, req):
        path = req.path.split("?")[0]
        if path == "/.well-known/openid-configuration":
            return self._answer(req, 200, self.metadata())
        if path == "/jwks":
            return self._answer(req, 200, {"keys": [self.signer.jwk]})
        if path == "/userinfo":
            return self._answer(req, 200, {"sub": "u-1", "email": EMAIL, "name": "Mika",
                                           "groups": ["staff", "nurses"]})
        self._answer(req, 404, {"error": "not_found"})

    def post(self, req):
        form = urllib.parse.parse_qs(req.rfile.read(int(req.headers.get("Content-Length", "0")))
                                     .decode(), keep_blank_values=True)
        f = {k: v[0] for k, v in form.items()}
        self.token_requests.append((req.headers.get("Authorization"), f))
        if self._client(req.headers.get("Authorization")) != ("demo-oidc", self.secret) or \
                "client_secret" in f:
            return self._answer(req, 401, {"error": "invalid_client"})
        code = self.codes.pop(f.get("code"), None)
        verifier = f.get("code_verifier", "").encode()
        if (code is None or f.get("redirect_uri") != self.redirect_uri or
                _b64u(hashlib.sha256(verifier).digest()) != code[0]):
            return self._answer(req, 400, {"error": "invalid_grant"})
        self._answer(req, 200, {"access_token": "at-" + secrets.token_urlsafe(16),
                                "token_type": "Bearer", "expires_in": 600,
                                "id_token": self.id_token(code[1])})

    @staticmethod
    def _client(authorization):
        """client_secret_basic: id and secret each form-urlencoded, then joined and base64'd
        (RFC 6749 2.3.1); openid-client encodes even '-' ("demo%2Doidc")."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        pair = base64.b64decode(authorization[6:]).decode()
        cid, _, secret = pair.partition(":")
        return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)

    def id_token(self, nonce):
        now = int(time.time())
        return self.signer.jws({
            "iss": self.issuer, "sub": "u-1", "aud": "demo-oidc", "iat": now, "exp": now + 600,
            "auth_time": now, "nonce": self.nonce_override or nonce, "sid": "sid-1",
            "email": EMAIL, "acr": "urn:ztgate:acr:mfa", "amr": ["pwd", "otp", "mfa"]})

    def authorize(self, url):
        """What the provider would do after the person signed in: a code for this request."""
        q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
        eq((q.get("response_type"), q.get("client_id"), q.get("redirect_uri"),
            q.get("code_challenge_method")),
           ("code", "demo-oidc", self.redirect_uri, "S256"), "the authorization request")
        check(q.get("state") and q.get("nonce") and len(q.get("code_challenge", "")) == 43,
              "state, nonce and an S256 challenge are sent: %r" % q)
        check("openid" in q["scope"].split(), "scope openid: %r" % q["scope"])
        code = secrets.token_urlsafe(16)
        self.codes[code] = (q["code_challenge"], q["nonce"])
        return "?" + urllib.parse.urlencode({"code": code, "state": q["state"], "iss": self.issuer})

    def logout_token(self, signer=None, header=None, **changes):
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": "demo-oidc", "iat": now, "exp": now + 120,
                  "jti": secrets.token_urlsafe(12), "sub": "u-1", "sid": "sid-1",
                  "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
        for k, v in changes.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return (signer or self.signer).jws(claims, dict({"typ": "logout+jwt"}, **(header or {})))


class _Client:
    """A cookie-keeping client for the demo app (no redirects followed)."""

    def __init__(self, port):
        self.port, self.cookie = port, None

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        hs = dict(headers or {})
        if self.cookie:
            hs["Cookie"] = self.cookie
        c.request(method, path, body=body, headers=hs)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        c.close()
        return r.status, r.getheader("Location"), text

    def sign_in(self, op):
        status, location, _ = self.request("GET", "/login")
        eq(status, 303, "/login sends the browser to the provider")
        check(location.startswith(op.issuer + "/authorize?"), "to the authorization endpoint: %s"
              % location)
        return self.request("GET", "/callback" + op.authorize(location))

    def back_channel(self, token):
        body = urllib.parse.urlencode({"logout_token": token})
        return self.request("POST", "/backchannel-logout", body,
                            {"Content-Type": "application/x-www-form-urlencoded"})[0]


def _start_demo_against(h, op, port):
    _ensure_oidc_demo()
    demo = Proc("oidc-demo", ["node", os.path.join(OIDC_DIR, "server.mjs"), "--port", str(port),
                              "--issuer", op.issuer, "--secret-file", "./data/demo-oidc.secret",
                              "--id-token-alg", "ES256"], h.dir, cwd=h.dir)
    h.procs.append(demo)
    check(wait_until(lambda: port_open(port) or not demo.alive(), 15.0) and demo.alive(),
          "the OIDC demo app did not start:\n" + demo.stderr_text())
    return demo


@timeout(90)
def test_oidc_demo_checks_what_it_promises(h):
    path = client_secret(h)
    with open(path) as f:
        secret = f.read().split("\n")[0]
    port = free_port()
    op = _StandInProvider(secret, "http://127.0.0.1:%d/callback" % port)
    try:
        demo = _start_demo_against(h, op, port)
        _demo_checks(op, demo, _Client(port))
    finally:
        op.close()


def _signed_in(b):
    return "Signed in with ztgate" in b.request("GET", "/")[2]


def _demo_checks(op, demo, b):
    # Sign-in: client_secret_basic and the PKCE verifier reach the token endpoint (the
    # stand-in refuses anything else), the ID token's nonce is checked.
    status, location, text = b.sign_in(op)
    eq((status, location), (303, "/"), "signed in: %s\n%s" % (text[:300], demo.stderr_text()))
    page = b.request("GET", "/")[2]
    for shown in (EMAIL, "staff, nurses", "urn:ztgate:acr:mfa", "pwd, otp, mfa", "sid-1",
                  op.issuer):
        check(shown in page, "the signed-in page shows %r" % shown)
    ja = b.request("GET", "/", headers={"Accept-Language": "ja,en;q=0.5"})[2]
    check('lang="ja"' in ja and "ztgate でサインインしました" in ja, "the page in Japanese")

    # A callback with another state, or an ID token with another nonce, signs nobody in.
    other = _Client(b.port)
    status, location, _ = other.request("GET", "/login")
    q = op.authorize(location).replace("state=", "state=x")
    status, _, text = other.request("GET", "/callback" + q)
    check(status >= 400 and "state" in text, "a wrong state is refused: %s %s" % (status,
                                                                               text[:400]))
    op.nonce_override = "not-the-nonce"
    status, _, text = other.sign_in(op)
    op.nonce_override = None
    check(status >= 400 and "nonce" in text, "a wrong nonce is refused: %s %s" % (status,
                                                                               text[:400]))
    check(not _signed_in(other), "nobody signed in by either")

    # Back-channel logout tokens wrong in one way each: refused (400), the session lives on.
    stranger = _Signer(op.signer.kid)
    bad = {
        "signed by another key": op.logout_token(signer=stranger),
        "alg none": _b64u(b'{"alg":"none","typ":"logout+jwt"}') + "." +
                    op.logout_token().split(".")[1] + ".",
        "another issuer": op.logout_token(iss="http://127.0.0.1:1"),
        "another audience": op.logout_token(aud="someone-else"),
        "no logout event": op.logout_token(events={"urn:other": {}}),
        "a nonce (an ID token)": op.logout_token(nonce="n"),
        "expired": op.logout_token(iat=int(time.time()) - 900, exp=int(time.time()) - 600),
        "no jti": op.logout_token(jti=None),
        "neither sub nor sid": op.logout_token(sub=None, sid=None),
        "an ID token": op.id_token("n"),
    }
    for what, token in bad.items():
        eq(b.back_channel(token), 400, "a logout token with %s is refused" % what)
        check(_signed_in(b), "still signed in after a logout token with %s" % what)
    eq(b.back_channel("not a token"), 400, "garbage is refused")

    # The right one ends the session; the page says why; the same token again is refused.
    good = op.logout_token()
    eq(b.back_channel(good), 200, "a valid logout token is accepted")
    page = b.request("GET", "/")[2]
    check("Sign in with ztgate" in page and "back-channel logout" in page,
          "signed out, and told why: %s" % page[:600])
    eq(b.back_channel(good), 400, "a logout token works once (jti)")

    # RP-initiated logout: the end-session URL carries id_token_hint, the registered
    # post-logout URI and a state.
    status, _, _ = b.sign_in(op)
    eq(status, 303, "signed in again")
    status, location, _ = b.request("POST", "/logout", headers={"Origin": "http://127.0.0.1:%d"
                                                                          % b.port})
    eq(status, 303, "sign out goes to the provider")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    check(location.startswith(op.issuer + "/logout?") and q.get("id_token_hint") and
          q.get("state") and q.get("post_logout_redirect_uri") ==
          ["http://127.0.0.1:%d/signed-out" % b.port], "the end-session request: %s" % location)
    check(not _signed_in(b), "the demo app's own session ended at once")
    text = b.request("GET", "/signed-out?state=" + urllib.parse.quote(q["state"][0]))[2]
    check("You are signed out of this app and of ztgate." in text, text[:400])
