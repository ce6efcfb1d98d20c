"""bench/oidc/prepare.py: gets an OpenID provider ready for bench/oidc/run.sh and checks it does
what the benchmark counts, before any timing:

  1. discovery at https://HOST:PORT/.well-known/openid-configuration (exit 3 with NO_DISCOVERY
     when it answers 404: ztgate without its OpenID provider);
  2. a browser session: ztgate — the portal's sign-in form (CSRF cookie + token, then user and
     password; the session cookie comes back); oidc-provider — an authorize whose login the
     stand-in finishes on its own (its autoLogin), cookies followed like a browser;
  3. one authorize with that session must answer a redirect to the RP with a code (no page,
     no consent), the code must exchange at the token endpoint with client_secret_basic and the
     PKCE verifier for an RS256-signed ID token, and the same code must then be refused;
  4. prints KEY=VALUE lines for run.sh: COOKIE, AUTH_PATH, TOKEN_PATH, VERIFIER, CHALLENGE.

  usage: prepare.py ztgate|oidc-provider PORT HOST CLIENT_ID SECRET REDIRECT_URI [USER PASSWORD]
Python 3 standard library only. TLS certificates are not checked (the bench's own, loopback).
"""
import base64
import hashlib
import http.client
import json
import os
import re
import ssl
import sys
import urllib.parse


class Browser:
    """Just enough of one: a cookie jar (name -> value) and requests to one host."""

    def __init__(self, port, host):
        self.port, self.host = port, host
        self.jar = {}
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.jar.items())

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
        h = {"Host": "%s:%d" % (self.host, self.port)}
        if self.jar:
            h["Cookie"] = self.cookie_header()
        h.update(headers or {})
        # SNI = the host name, as a browser sends it.
        c.sock = self.ctx.wrap_socket(
            __import__("socket").create_connection(("127.0.0.1", self.port), timeout=30),
            server_hostname=self.host)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if re.search(r"(?i)max-age=0|expires=thu, 01 jan 1970", v) or value == "":
                    self.jar.pop(name.strip(), None)
                else:
                    self.jar[name.strip()] = value
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def die(msg, code=1):
    print("prepare: " + msg, file=sys.stderr)
    sys.exit(code)


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def authorize_path(meta, client_id, redirect_uri, challenge):
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "openid", "state": "benchstate", "nonce": "benchnonce",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    return path_of(meta["authorization_endpoint"]) + "?" + q


def portal_sign_in(b, user, password):
    st, _, body = b.request("GET", "/.ztgate/login")
    m = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if st != 200 or not m:
        die("no sign-in form at /.ztgate/login (status %d)" % st)
    form = urllib.parse.urlencode({"username": user, "password": password,
                                   "csrf_token": m.group(1).decode()})
    st, h, _ = b.request("POST", "/.ztgate/login", form,
                         {"Content-Type": "application/x-www-form-urlencoded"})
    if st != 303:
        die("portal sign-in answered %d, not 303" % st)


def follow_to_rp(b, path, redirect_uri, limit=10):
    """Follows redirects on the OP's host until one goes to the RP: returns that Location."""
    for _ in range(limit):
        st, h, body = b.request("GET", path)
        loc = h.get("location", "")
        if st not in (302, 303) or not loc:
            die("GET %s answered %d, not a redirect: %s" % (path[:80], st, body[:300]))
        if loc.startswith(redirect_uri):
            return loc
        path = path_of(urllib.parse.urljoin("https://%s/" % b.host, loc))
    die("no redirect to the RP after %d hops" % limit)


def main(argv):
    if len(argv) not in (7, 9):
        die(__doc__.strip().splitlines()[-3], 2)
    mode, port, host, client_id, secret, redirect_uri = argv[1:7]
    b = Browser(int(port), host)
    st, _, body = b.request("GET", "/.well-known/openid-configuration")
    if st == 404:
        print("NO_DISCOVERY")
        sys.exit(3)
    if st != 200:
        die("discovery answered %d" % st)
    meta = json.loads(body)
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    auth_path = authorize_path(meta, client_id, redirect_uri, challenge)
    if mode == "ztgate":
        portal_sign_in(b, argv[7], argv[8])
    else:
        follow_to_rp(b, auth_path, redirect_uri)  # the stand-in signs the browser in

    # The measured round trip: one redirect straight to the RP with a code.
    st, h, body = b.request("GET", auth_path)
    loc = h.get("location", "")
    if st not in (302, 303) or not loc.startswith(redirect_uri):
        die("authorize with a session answered %d %s, not a redirect to the RP: %s"
            % (st, loc[:100], body[:300]))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    if "code" not in q or q.get("state") != ["benchstate"]:
        die("no code (or a wrong state) in %s" % loc)
    token_path = path_of(meta["token_endpoint"])
    basic = base64.b64encode(("%s:%s" % (urllib.parse.quote(client_id, safe=""),
                                         urllib.parse.quote(secret, safe=""))).encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": q["code"][0],
                                   "redirect_uri": redirect_uri, "code_verifier": verifier})
    hdrs = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic}
    jar = b.jar
    b.jar = {}  # the token endpoint is a back-channel call: no browser cookies
    st, _, body = b.request("POST", token_path, form, hdrs)
    if st != 200:
        die("token endpoint answered %d: %s" % (st, body[:300]))
    tok = json.loads(body)
    hdr = json.loads(base64.urlsafe_b64decode(tok["id_token"].split(".")[0] + "=="))
    if hdr.get("alg") != "RS256" or not tok.get("access_token"):
        die("expected an RS256 ID token and an access token: %r %r" % (hdr, list(tok)))
    st, _, body = b.request("POST", token_path, form, hdrs)
    if st != 400:
        die("a used code must be refused (400 invalid_grant), got %d" % st)
    b.jar = jar
    print("COOKIE=" + b.cookie_header())
    print("AUTH_PATH=" + auth_path)
    print("TOKEN_PATH=" + token_path)
    print("VERIFIER=" + verifier)
    print("CHALLENGE=" + challenge)
    print("BASIC=" + basic)


if __name__ == "__main__":
    main(sys.argv)
