"""The OpenID Connect provider against bad input (issue 13, deliverable 4): redirect_uri
mismatch and open-redirect payloads (never followed), PKCE missing, downgraded, plain or wrong,
code replay (revokes what the code gave), client authentication (wrong secret, two methods,
the wrong method), private_key_jwt with alg none, HS256 keyed with the RSA public key, a
replayed jti and a foreign key, oversized and malformed requests: 4xx and a log line, never a
crash. A hand-written client (oidc_client.py); client assertions signed with `cryptography`."""
import base64
import json
import time
import urllib.parse

from browser import msg
from harness import check, eq, get
from oidc_client import (PORTAL, RP, SECRET, authorize_path, basic, code_for, exchange, gateway,
                         js, oidc_app, pkce_pair, portal, post, query_of, signed_in, token,
                         userinfo, write_secret)


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def test_oidc_redirect_uri_never_followed(h):
    gw = gateway(h)
    b = signed_in(gw)
    payloads = [
        "https://rp.example/cb/", "https://rp.example/cbx", "https://rp.example/cb?x=1",
        "https://rp.example:444/cb", "https://evil.example@rp.example/cb",
        "https://rp.example@evil.example/cb", "https://rp.example/%63b",
        "https://rp.example/cb#x", "https://rp.example.evil.example/cb", "http://rp.example/cb",
        "//evil.example/cb", "https://evil.example/cb", "https://RP.EXAMPLE/cb",
        "https://rp.example/cb%0d%0aSet-Cookie:x", "",
    ]
    for uri in payloads:
        r = b.get(authorize_path(redirect=uri))
        eq(r.status, 400, "redirect_uri %r refused" % uri)
        check(r.header("Location") is None, "no redirect for %r" % uri)
    # The page is in the visitor's language.
    b.lang = "ja"
    r = b.get(authorize_path(redirect="https://evil.example/"))
    b.lang = None
    eq(r.status, 400, "refused (ja)")
    check(msg("OI_BAD_REDIRECT_URI", "ja") in r.body.decode(), "the Japanese page")
    r = b.get(authorize_path(client_id="nobody"))
    eq(r.status, 400, "unknown client")
    check(r.header("Location") is None, "no redirect for an unknown client")
    r = b.get(authorize_path(redirect=None))
    eq(r.status, 400, "no redirect_uri")
    # Errors after the redirect URI is validated go back to it, with state and iss.
    r = b.get(authorize_path(scope="email"))
    eq(r.status, 303, "invalid_scope to the client")
    q = query_of(r.header("Location"))
    eq((q["error"], q["state"], q["iss"]), ("invalid_scope", "st-1", gw.issuer), "error answer")
    r = b.get(authorize_path(response_type="token"))
    eq(query_of(r.header("Location"))["error"], "unsupported_response_type", "implicit refused")
    r = b.get(authorize_path(request_uri="https://evil.example/req"))
    eq(query_of(r.header("Location"))["error"], "request_uri_not_supported", "no request_uri")


def test_oidc_pkce(h):
    gw = gateway(h, apps=[oidc_app(h, "grafana"), oidc_app(h, "spa", auth="none")])
    b = signed_in(gw)
    v, c = pkce_pair()
    public = [("Content-Type", "application/x-www-form-urlencoded")]
    # A public client must send a challenge, S256 only.
    r = b.get(authorize_path(client_id="spa"))
    eq(query_of(r.header("Location"))["error"], "invalid_request", "public client without PKCE")
    r = b.get(authorize_path(client_id="spa", code_challenge=v, code_challenge_method="plain"))
    eq(query_of(r.header("Location"))["error"], "invalid_request", "plain refused")
    r = b.get(authorize_path(client_id="spa", code_challenge=c))
    eq(query_of(r.header("Location"))["error"], "invalid_request", "method missing = plain")

    def spa_code():
        return code_for(b, client_id="spa", code_challenge=c,
                        code_challenge_method="S256")["code"]

    def spa_token(code, verifier):
        f = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP,
             "client_id": "spa"}
        if verifier is not None:
            f["code_verifier"] = verifier
        return token(gw, f, headers=[])

    r = spa_token(spa_code(), None)
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "verifier missing")
    r = spa_token(spa_code(), pkce_pair()[0])
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "wrong verifier")
    r = spa_token(spa_code(), c)
    eq(r.status, 400, "the challenge itself as verifier")
    r = spa_token(spa_code(), v)
    eq(r.status, 200, "right verifier: %r" % r.body)
    check("refresh_token" in js(r), "public client gets a rotating refresh token")
    # Downgrade: no challenge at authorize, a verifier at the token endpoint.
    q = code_for(b)
    r = exchange(gw, q["code"], verifier=v)
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "PKCE downgrade refused")


def test_oidc_code_replay_revokes_tokens(h):
    gw = gateway(h)
    b = signed_in(gw)
    code = code_for(b)["code"]
    r = exchange(gw, code)
    eq(r.status, 200, "first use")
    t = js(r)
    eq(userinfo(gw, t["access_token"]).status, 200, "access token works")
    r = exchange(gw, code)
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "second use refused")
    eq(userinfo(gw, t["access_token"]).status, 401, "tokens from the replayed code revoked")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
    eq(r.status, 400, "its refresh token too")
    # A code for one client is no good to another; a wrong redirect_uri is refused.
    code = code_for(b)["code"]
    r = exchange(gw, code, redirect="https://rp.example/other")
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "redirect_uri differs")


def test_oidc_client_authentication(h):
    gw = gateway(h, apps=[oidc_app(h, "grafana"), oidc_app(h, "poster", auth="client_secret_post")])
    b = signed_in(gw)
    r = exchange(gw, code_for(b)["code"], headers=[basic(secret="wrong")])
    eq(r.status, 401, "wrong secret")
    check(r.header("WWW-Authenticate", "").startswith("Basic"), "WWW-Authenticate for Basic")
    eq(js(r)["error"], "invalid_client", "invalid_client")
    # The secret with special characters must be form-urlencoded inside Basic: raw is wrong.
    raw = base64.b64encode(("grafana:" + SECRET).encode()).decode()
    r = exchange(gw, code_for(b)["code"], headers=[("Authorization", "Basic " + raw)])
    eq(r.status, 401, "secret not form-urlencoded")
    # Two methods in one request.
    f = {"grant_type": "authorization_code", "code": code_for(b)["code"], "redirect_uri": RP,
         "client_id": "grafana", "client_secret": SECRET}
    r = token(gw, f)
    eq((r.status, js(r)["error"]), (400, "invalid_request"), "two methods")
    # A basic client using post is the wrong method.
    r = token(gw, f, headers=[])
    eq((r.status, js(r)["error"]), (400, "invalid_client"), "method not the registered one")
    check(r.header("WWW-Authenticate") is None, "no challenge for a client authenticating in "
          "the body: 400, not a 401 without WWW-Authenticate (RFC 6749 5.2)")
    # client_secret_post works for its client; constant-time compare of the right secret.
    q = code_for(b, client_id="poster")
    f = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": RP,
         "client_id": "poster", "client_secret": SECRET}
    r = token(gw, f, headers=[])
    eq(r.status, 200, "client_secret_post: %r" % r.body)
    r = token(gw, {"grant_type": "password", "username": "x", "password": "y"})
    eq(js(r)["error"], "unsupported_grant_type", "password grant")



def test_oidc_client_secret_rotated_without_reload(h):
    # The secret's hash is kept per file version and the file looked at again after a second:
    # a rotated secret file is taken without a reload, and the old secret stops working.
    gw = gateway(h, apps=[oidc_app(h, "grafana")])
    b = signed_in(gw)
    r = exchange(gw, code_for(b)["code"])
    eq(r.status, 200, "the first secret: %r" % r.body)
    write_secret(h, "grafana.secret", "rotated-Secret/2+x")
    time.sleep(1.2)  # past the once-a-second look at the file
    r = exchange(gw, code_for(b)["code"])
    eq(r.status, 401, "the old secret after rotation")
    r = exchange(gw, code_for(b)["code"], headers=[basic(secret="rotated-Secret/2+x")])
    eq(r.status, 200, "the rotated secret: %r" % r.body)

def _rsa_client(h, name="jwt-client"):
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_numbers()
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    jwk = {"kty": "RSA", "n": _b64(n), "e": _b64(pub.e.to_bytes(3, "big")), "kid": "k1",
           "use": "sig", "alg": "RS256"}
    path = h.path(name + ".jwks.json")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)
    return key, path


def _assertion(gw, alg, sign, claims=None, header=None):
    now = int(time.time())
    c = {"iss": "jwtc", "sub": "jwtc", "aud": gw.issuer + "/.ztgate/oidc/token",
         "iat": now, "exp": now + 60, "jti": base64.b16encode(__import__("os").urandom(8)).decode()}
    c.update(claims or {})
    hd = {"alg": alg, "typ": "JWT", "kid": "k1"}
    hd.update(header or {})
    si = _b64(json.dumps(hd).encode()) + "." + _b64(json.dumps(c).encode())
    return si + "." + sign(si.encode())


def test_oidc_private_key_jwt(h):
    from cryptography.hazmat.primitives import hashes, hmac, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    key, jwks = _rsa_client(h)
    gw = gateway(h, apps=[oidc_app(h, "jwtc", auth="private_key_jwt", jwks_file=jwks)])
    b = signed_in(gw)
    rs256 = lambda m: _b64(key.sign(m, padding.PKCS1v15(), hashes.SHA256()))

    def call(assertion, with_id=True):
        f = {"grant_type": "authorization_code",
             "code": code_for(b, client_id="jwtc")["code"], "redirect_uri": RP,
             "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
             "client_assertion": assertion}
        if with_id:
            f["client_id"] = "jwtc"
        return token(gw, f, headers=[])

    good = _assertion(gw, "RS256", rs256)
    r = call(good, with_id=False)
    eq(r.status, 200, "a valid assertion, client from its iss: %r" % r.body)
    r = call(good)
    eq(r.status, 400, "the same jti again (replay)")
    r = call(_assertion(gw, "none", lambda m: ""))
    eq(r.status, 400, "alg none")
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def hs256(m):
        mac = hmac.HMAC(pem, hashes.SHA256())
        mac.update(m)
        return _b64(mac.finalize())
    r = call(_assertion(gw, "HS256", hs256))
    eq(r.status, 400, "HS256 keyed with the RSA public key (key confusion)")
    r = call(_assertion(gw, "RS256", rs256, claims={"aud": "https://evil.example/token"}))
    eq(r.status, 400, "wrong audience")
    r = call(_assertion(gw, "RS256", rs256, claims={"exp": int(time.time()) - 120}))
    eq(r.status, 400, "expired")
    other, _ = _rsa_client(h, "unregistered")
    r = call(_assertion(gw, "RS256",
                        lambda m: _b64(other.sign(m, padding.PKCS1v15(), hashes.SHA256()))))
    eq(r.status, 400, "signed by a key not registered")
    r = call(_assertion(gw, "RS256", rs256, header={"jwk": {"kty": "oct"}, "kid": "nope"}))
    eq(r.status, 400, "a key named by the token itself is not used")


def test_oidc_malformed_and_oversized(h):
    gw = gateway(h)
    b = signed_in(gw)
    host = "%s:%d" % (PORTAL, gw.port)
    for q in ("client_id=%zz", "client_id=grafana&client_id=grafana", "a=" + "x" * 5000,
              "&".join("p%d=1" % i for i in range(40)), "client_id=gra%00fana"):
        r = get(gw.port, "/.ztgate/oidc/authorize?" + q, host=host)
        check(400 <= r.status < 500, "authorize %r: %d" % (q[:40], r.status))
        check(r.header("Location") is None, "no redirect for %r" % q[:40])
    r = b.get(authorize_path(state="s" * 6000))
    check(400 <= r.status < 500, "oversized state: %d" % r.status)
    r = get(gw.port, "/.ztgate/oidc/authorize", host=host, method="POST", body=b"{}",
            headers=[("Content-Type", "application/json")])
    eq(r.status, 415, "authorize POST as JSON")
    for body in (b"grant_type=authorization_code&code=%", b"\x00\xff" * 10,
                 b"grant_type=" + b"a" * 70000):
        r = get(gw.port, "/.ztgate/oidc/token", host=host, method="POST", body=body,
                headers=[("Content-Type", "application/x-www-form-urlencoded"), basic()])
        check(400 <= r.status < 500, "token body %r: %d" % (body[:20], r.status))
    r = get(gw.port, "/.ztgate/oidc/token", host=host)
    eq(r.status, 405, "token GET")
    r = get(gw.port, "/.ztgate/oidc/userinfo", host=host,
            headers=[("Authorization", "Bearer " + "x" * 5000)])
    eq(r.status, 401, "oversized bearer")
    r = get(gw.port, "/.ztgate/oidc/nothing", host=host)
    eq(r.status, 404, "unknown endpoint")
    # Endpoints live on the portal host only.
    r = get(gw.port, "/.ztgate/oidc/jwks", host="app.test")
    eq(r.status, 404, "not on an app host")
    # The gateway is still up and serving.
    eq(get(gw.port, "/.well-known/openid-configuration", host=host).status, 200, "still up")


def test_oidc_reauth_marker_cannot_be_forged(h):
    """prompt=login, max_age and the acr step-up are skipped only by the marker ztgate itself put
    on the way back, for this request and user, used after the sign-in it asked for."""
    gw = gateway(h)
    b = signed_in(gw)
    time.sleep(1.1)  # the sign-in is in an earlier second than any marker asked from now on
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        for marker in ("1", "9999999999", "%d.AAAA" % int(time.time())):
            r = b.get(authorize_path(zt_reauth=marker, **extra))
            loc = r.header("Location", "")
            check(loc.startswith("/.ztgate/login?prompt=login"),
                  "%r with a hand-made marker %r still asks to sign in: %r" % (extra, marker, loc))
    # A real marker, moved to another request (another state) or not followed by a sign-in.
    loc = b.get(authorize_path(prompt="login")).header("Location", "")
    marker = urllib.parse.parse_qs(urllib.parse.urlsplit(query_of(loc)["rd"]).query)["zt_reauth"][0]
    r = b.get(authorize_path(prompt="login", state="other", zt_reauth=marker))
    check(r.header("Location", "").startswith("/.ztgate/login?prompt=login"),
          "a marker of another request is refused: %r" % r.header("Location"))
    r = b.get(authorize_path(prompt="login", zt_reauth=marker))
    check(r.header("Location", "").startswith("/.ztgate/login?prompt=login"),
          "a marker without the sign-in it asked for is refused: %r" % r.header("Location"))


def test_oidc_logout_hint_of_another_session(h):
    """An id_token_hint ends a session without asking only in the browser whose session it
    names: a cookieless request with the victim's ID token, or the victim's browser sent to
    logout with another user's ID token (logout CSRF), gets the confirmation page and ends
    nothing; the victim's cookie is not cleared."""
    from portal_client import add_user, sign_in
    gw = gateway(h)
    victim = signed_in(gw)
    hint = js(exchange(gw, code_for(victim)["code"]))["id_token"]
    r = portal(gw).get("/.ztgate/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": hint}))
    eq(r.status, 200, "a stranger with the victim's hint: the confirmation page")
    check(b"zt_confirm" in r.body, "the confirm form")
    check(code_for(victim).get("code"), "the victim is still signed in")
    add_user(h, gw, email="mallory@example.test")
    mb = portal(gw)
    eq(sign_in(mb, email="mallory@example.test").status, 303, "mallory signed in")
    foreign = js(exchange(gw, code_for(mb)["code"]))["id_token"]
    r = victim.get("/.ztgate/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": foreign}))
    eq(r.status, 200, "another user's hint in the victim's browser: the confirmation page")
    check("ztgate_session" not in (r.header("Set-Cookie") or ""), "no cookie cleared: %r"
          % r.header("Set-Cookie"))
    check(code_for(victim).get("code"), "the victim is still signed in")
    check(code_for(mb).get("code"), "and mallory too")
    # The victim's own hint in the victim's browser: ended at once.
    r = victim.get("/.ztgate/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": hint}))
    eq(r.status, 200, "own hint: signed out page")
    check(b"zt_confirm" not in r.body, "no confirmation asked")
    check(victim.get(authorize_path()).header("Location", "").startswith("/.ztgate/login"),
          "the victim is signed out")


def test_oidc_max_age_zero_is_prompt_login(h):
    """max_age=0 asks for the password even when the sign-in is of this very second."""
    gw = gateway(h)
    b = signed_in(gw)
    r = b.get(authorize_path(max_age="0"))
    check(r.header("Location", "").startswith("/.ztgate/login?prompt=login"),
          "max_age=0 right after signing in: %r" % r.header("Location"))
    r = b.get(authorize_path(max_age="3600"))
    check("code" in query_of(r.header("Location", "")), "max_age=3600: a code")


def test_oidc_prompt_none_blocked_goes_back(h):
    """prompt=none must show no page: a block goes back to the client as access_denied (with
    state and iss), a challenge as interaction_required."""
    policies = [{"name": "block-grafana", "state": "on", "users": {"include": ["all"]},
                 "apps": {"include": ["grafana"]}, "grant": {"block": True}}]
    gw = gateway(h, extra={"policies": policies})
    b = signed_in(gw)
    r = b.get(authorize_path(prompt="none"))
    eq(r.status, 303, "prompt=none under a block policy: a redirect, not a page")
    loc = r.header("Location", "")
    check(loc.startswith(RP + "?"), "to the client: %r" % loc)
    q = query_of(loc)
    eq((q.get("error"), q.get("state"), q.get("iss")), ("access_denied", "st-1", gw.issuer),
       "access_denied with state and iss")
    eq(b.get(authorize_path()).status, 403, "without prompt=none: the block page")


def test_oidc_authorize_with_many_parameters(h):
    """Relying parties send more parameters than a portal form has (ui_locales, login_hint,
    claims_locales, their own extras): up to 32 are read; more is still a refusal page."""
    gw = gateway(h)
    b = signed_in(gw)
    extras = {"x_extra_%d" % i: "v" for i in range(20)}
    extras.update(ui_locales="en", login_hint="alice@example.test", display="page")
    q = code_for(b, **extras)  # 6 standard + 23 = 29 parameters
    check(q.get("code"), "a code for an authorize request with 29 parameters")
    more = {"x_extra_%d" % i: "v" for i in range(30)}
    r = b.get(authorize_path(**more))
    eq(r.status, 400, "36 parameters: refused with a page")
    check(r.header("Location") is None, "never redirected")
