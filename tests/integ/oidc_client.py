"""A hand-written OpenID Connect relying party for the provider's edge cases (tests/integ/
test_oidc*.py): a gateway with a portal host and oidc apps, authorize/token/userinfo calls, the
ID token's claims (read, not verified: the real RPs of tests/integ/oidc_rp and Apache verify),
and a back-channel logout receiver. Python standard library only."""
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import threading
import urllib.parse

from harness import check, eq, free_port, get
from portal_client import Browser, add_user, sign_in

PORTAL = "auth.test"
RP = "https://rp.example/cb"
SECRET = "s3cr:t+%/ &x"  # special characters: Basic must form-urlencode them (RFC 6749 2.3.1)
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def write_secret(h, name, value=SECRET):
    path = h.path(name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def oidc_app(h, name, client_id=None, auth="client_secret_basic", redirect=RP, **kw):
    o = {"client_id": client_id or name, "client_auth": auth, "redirect_uris": [redirect],
         "post_logout_redirect_uris": ["https://rp.example/bye"]}
    if auth in ("client_secret_basic", "client_secret_post"):
        o["client_secret_file"] = write_secret(h, name + ".secret")
    o.update(kw)
    return {"name": name, "kind": "oidc", "sensitivity": "internal", "oidc": o}


def gateway(h, apps=(), extra_auth=None, extra=None, upstream_app=True):
    up = h.upstream()
    auth = {"mfa": "optional", "argon2_passes": 2, "argon2_memory": "19MiB",
            "portal_host": PORTAL}
    auth.update(extra_auth or {})
    all_apps = list(apps) or [oidc_app(h, "grafana")]
    if upstream_app:
        all_apps.insert(0, h.app(up, host="app.test", sensitivity="public"))
    cfg = h.config(all_apps, extra=dict({"auth": auth}, **(extra or {})))
    gw = h.gateway(cfg)
    gw.upstream = up
    gw.issuer = "http://%s:%d" % (PORTAL, gw.port)
    add_user(h, gw)
    return gw


def portal(gw):
    return Browser(gw.port, host="%s:%d" % (PORTAL, gw.port))


def signed_in(gw):
    b = portal(gw)
    r = sign_in(b)
    eq(r.status, 303, "signed in at the portal")
    return b


def pkce_pair():
    v = secrets.token_urlsafe(32)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def authorize_path(client_id="grafana", redirect=RP, scope="openid email profile groups",
                   **extra):
    q = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code",
         "scope": scope, "state": "st-1", "nonce": "no-1"}
    q.update(extra)
    q = {k: v for k, v in q.items() if v is not None}
    return "/.ztgate/oidc/authorize?" + urllib.parse.urlencode(q)


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def code_for(b, **kw):
    r = b.get(authorize_path(**kw))
    eq(r.status, 303, "authorize answer")
    loc = r.header("Location", "")
    check(loc.startswith(kw.get("redirect", RP) + "?"), "code sent to the client: %r" % loc)
    q = query_of(loc)
    check("code" in q, "a code in %r" % loc)
    return q


def basic(client_id="grafana", secret=SECRET):
    cred = "%s:%s" % (urllib.parse.quote_plus(client_id), urllib.parse.quote_plus(secret))
    return ("Authorization", "Basic " + base64.b64encode(cred.encode()).decode())


def post(gw, path, fields, headers=()):
    body = urllib.parse.urlencode(fields).encode()
    return get(gw.port, path, host="%s:%d" % (PORTAL, gw.port), method="POST", body=body,
               headers=[FORM] + list(headers))


def token(gw, fields, headers=None):
    return post(gw, "/.ztgate/oidc/token", fields, [basic()] if headers is None else headers)


def exchange(gw, code, verifier=None, redirect=RP, headers=None):
    f = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    if verifier is not None:
        f["code_verifier"] = verifier
    return token(gw, f, headers)


def js(r):
    return json.loads(r.body.decode())


def claims(jwt):
    parts = jwt.split(".")
    eq(len(parts), 3, "a compact JWS")
    pad = lambda s: s + "=" * (-len(s) % 4)
    return (json.loads(base64.urlsafe_b64decode(pad(parts[0]))),
            json.loads(base64.urlsafe_b64decode(pad(parts[1]))))


def userinfo(gw, access):
    return get(gw.port, "/.ztgate/oidc/userinfo", host="%s:%d" % (PORTAL, gw.port),
               headers=[("Authorization", "Bearer " + access)])


class LogoutReceiver:
    """An http:// back-channel logout endpoint on loopback: records each POSTed logout token."""

    def __init__(self):
        self.tokens = []
        self.event = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                form = dict(urllib.parse.parse_qsl(body))
                outer.tokens.append((self.headers.get("Content-Type"), form))
                outer.event.set()
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/bcl" % self.port

    def wait(self, n=1, timeout=20):
        """Until n tokens arrived (the gateway's timer notices an ended session within 250 ms)."""
        import time
        end = time.time() + timeout
        while len(self.tokens) < n and time.time() < end:
            self.event.wait(0.2)
            self.event.clear()
        return self.tokens

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def csrf_token_of(body):
    m = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    return m.group(1).decode() if m else None
