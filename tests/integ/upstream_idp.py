"""A scriptable upstream OpenID provider for test_upstream_oidc.py: discovery, JWKS and a token
endpoint whose ID token the test builds (good, or broken in one chosen way), signed with an RSA
key made here (`cryptography`). The authorize endpoint is never visited: the test reads the
authorization URL ztgate redirects to and calls ztgate's callback itself."""
import base64
import json
import ssl
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from harness import free_port, gen_cert


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class FakeOP:
    def __init__(self, h, client_id="ztgate-client", client_secret="upstream-secret-123",
                 tls=False):
        """tls: serve https://localhost:PORT with a self-signed certificate (self.ca_file)."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.port = free_port()
        self.issuer = ("https://localhost:%d" if tls else "http://127.0.0.1:%d") % self.port
        self.ca_file = None
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "fake-rs256"
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.next_token = None
        self.token_requests = []
        self.token_status = 200
        self.client_jwks_url = None  # private_key_jwt: where ztgate publishes its public keys
        self.assertions = []  # the verified client assertions' claims
        self.discovery_issuer = None  # another issuer in the discovery document (mix-up)
        op = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, op.discovery())
                elif self.path == "/jwks":
                    self._json(200, op.jwks())
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                op.token_requests.append({"form": form, "auth": self.headers.get("Authorization")})
                expect = "Basic " + base64.b64encode(
                    ("%s:%s" % (op.client_id, op.client_secret)).encode()).decode()
                if op.client_jwks_url is not None:
                    authorized = op.check_assertion(form)
                else:
                    authorized = self.headers.get("Authorization") == expect
                if not authorized:
                    self._json(401, {"error": "invalid_client"})
                elif op.token_status != 200:
                    self._json(op.token_status, {"error": "invalid_grant"})
                else:
                    self._json(200, {"access_token": "at", "token_type": "Bearer",
                                     "id_token": op.next_token})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls:
            cert, key = gen_cert(h.dir, cn="localhost", name="fake-op")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.ca_file = cert
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        h.procs.append(self)  # stopped by the harness (stop())

    # harness Proc protocol
    name = "fake-op"
    exit_problem = None

    def stop(self, grace_s=0):
        self.server.shutdown()
        self.server.server_close()
        return 0

    def alive(self):
        return False

    def stderr_text(self):
        return ""

    def stdout_text(self):
        return ""

    def check_assertion(self, form):
        """private_key_jwt (RFC 7523): RS256 by a key of the client's JWKS (fetched from ztgate),
        iss = sub = client_id, aud = our token endpoint, exp within a minute, a jti."""
        try:
            if form.get("client_assertion_type") != [
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]:
                return False
            token = form["client_assertion"][0]
            h64, p64, s64 = token.split(".")
            pad = lambda x: x + "=" * (-len(x) % 4)
            header = json.loads(base64.urlsafe_b64decode(pad(h64)))
            claims = json.loads(base64.urlsafe_b64decode(pad(p64)))
            sig = base64.urlsafe_b64decode(pad(s64))
            req = urllib.request.Request(self.client_jwks_url, headers={"Host": "app.test"})
            keys = json.loads(urllib.request.urlopen(req, timeout=5).read())["keys"]
            k = [k for k in keys if k.get("kid") == header.get("kid") and k["kty"] == "RSA"][0]
            n = int.from_bytes(base64.urlsafe_b64decode(pad(k["n"])), "big")
            e = int.from_bytes(base64.urlsafe_b64decode(pad(k["e"])), "big")
            pub = rsa.RSAPublicNumbers(e, n).public_key()
            pub.verify(sig, (h64 + "." + p64).encode(), padding.PKCS1v15(), hashes.SHA256())
            now = time.time()
            ok = (header["alg"] == "RS256" and claims["iss"] == self.client_id and
                  claims["sub"] == self.client_id and claims["aud"] == self.issuer + "/token" and
                  now < claims["exp"] <= now + 120 and claims.get("jti"))
            if ok:
                self.assertions.append(claims)
            return bool(ok)
        except Exception:  # noqa: BLE001 - any failure is a refused client
            return False

    def discovery(self):
        return {"issuer": self.discovery_issuer or self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "end_session_endpoint": self.issuer + "/logout"}

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                          "n": _int_b64u(pub.n), "e": _int_b64u(pub.e)}]}

    def claims(self, nonce, **over):
        now = int(time.time())
        c = {"iss": self.issuer, "aud": self.client_id, "sub": "sub-alice-0001",
             "email": "alice@corp.test", "name": "Alice Upstream", "nonce": nonce,
             "iat": now, "exp": now + 300, "groups": ["g-staff-guid", "g-unmapped"],
             "amr": ["pwd"]}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def sign(self, claims, alg="RS256", kid=None, key=None, typ="JWT"):
        header = {"alg": alg, "kid": kid or self.kid}
        if typ:
            header["typ"] = typ
        signing_input = b64u(json.dumps(header)) + "." + b64u(json.dumps(claims))
        if alg == "none":
            return signing_input + "."
        sig = (key or self.key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64u(sig)
