"""Upstream OpenID Connect sign-in (src/federation, docs/SIGNIN-OIDC.md) against a scriptable
provider (upstream_idp.py): the code flow end to end with just-in-time creation and group
mapping, home-realm discovery from the sign-in form, and every bad token refused with its
reason in the audit log: unknown key, wrong issuer, wrong audience, nonce, expired, alg none,
malformed claims, a replayed or foreign state. Back-channel logout ends the session."""
import html
import json
import os
import re
import time
import urllib.parse

from harness import check, eq, wait_until
from portal_client import Browser, session_cookie
from upstream_idp import FakeOP

DOMAIN = "corp.test"


def _gateway(h, op, mfa="optional", extra=None, **prov):
    secret = h.path("upstream-secret")
    with open(secret, "w") as f:
        f.write(op.client_secret + "\n")
    os.chmod(secret, 0o600)
    p = {"name": "corp", "label": "Sign in with Corp", "label_ja": "Corp でサインイン",
         "issuer": op.issuer, "client_id": op.client_id, "client_secret_file": secret,
         "domains": [DOMAIN], "group_map": ["g-staff-guid=staff", "g-admins-guid=admins"]}
    p.update(prov)
    if p.get("private_key_dir"):
        del p["client_secret_file"]
    up = h.upstream()
    audit = h.path("state/audit/audit.log")
    cfg = h.config([h.app(up, sensitivity="internal")],
                   extra={"auth": {"mfa": mfa, "argon2_memory": "19MiB",
                                   "argon2_passes": 2},
                          "audit": {"path": audit},
                          "oidc_providers": [p]})
    cfg.update(extra or {})
    return h.gateway(cfg), audit


def _start(b, rd="/hello", hint=None):
    q = "provider=corp&rd=" + urllib.parse.quote(rd, safe="")
    if hint:
        q += "&login_hint=" + urllib.parse.quote(hint)
    r = b.get("/.ztgate/upstream/start?" + q)
    eq(r.status, 303, "start sends the browser to the provider: %r" % r.body[:300])
    loc = urllib.parse.urlparse(r.header("Location"))
    return {k: v[0] for k, v in urllib.parse.parse_qs(loc.query).items()}, loc


def _callback(b, state, code="code-1"):
    return b.get("/.ztgate/upstream/callback?code=%s&state=%s" % (code, state))


def _sign_in(b, op, make=None, start=None):
    q, _ = (start or _start)(b)
    op.next_token = (make or (lambda nonce: op.sign(op.claims(nonce))))(q["nonce"])
    return _callback(b, q["state"])


def _db_user(h, email):
    db = h.store_db()
    try:
        row = db.execute("SELECT id, source, external_id, name FROM users WHERE email = ?",
                         (email,)).fetchone()
        groups = [g for (g,) in db.execute(
            "SELECT g.name FROM memberships m JOIN groups g ON g.id = m.group_id "
            "JOIN users u ON u.id = m.user_id WHERE u.email = ? ORDER BY g.name", (email,))]
    finally:
        db.close()
    return row, groups


def _audit_reasons(audit):
    time.sleep(0.2)
    out = []
    with open(audit) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a record being written now
            rec = json.loads(line)
            text = json.dumps(rec)
            if "upstream sign-in refused" in text:
                out.append(text)
    return out


def test_upstream_sign_in_jit_and_groups(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port)
    q, loc = _start(b)
    eq(loc.scheme + "://" + loc.netloc + loc.path, op.issuer + "/authorize", "authorize endpoint")
    eq(q["client_id"], op.client_id, "client_id")
    eq(q["code_challenge_method"], "S256", "PKCE S256")
    # The raw client's Host header has no port: the redirect URI is built from it.
    eq(q["redirect_uri"], "http://app.test/.ztgate/upstream/callback", "redirect URI")
    check("openid" in q["scope"].split(), "openid scope")
    op.next_token = op.sign(op.claims(q["nonce"]))
    r = _callback(b, q["state"])
    eq(r.status, 303, "signed in: %r" % r.body[:400])
    eq(r.header("Location"), "/hello", "back to the page asked for")
    check(session_cookie(b), "a session cookie")
    eq(b.get("/hello").status, 200, "the app answers the new session")
    form = op.token_requests[-1]["form"]
    eq(form["grant_type"], ["authorization_code"], "code grant")
    check(len(form["code_verifier"][0]) >= 43, "the PKCE verifier is sent")
    row, groups = _db_user(h, "alice@corp.test")
    check(row is not None, "the user was created just in time")
    eq(row[1:], ("oidc:corp", "sub-alice-0001", "Alice Upstream"), "source, sub and name")
    eq(groups, ["staff"], "g-staff-guid mapped to staff; unmapped values ignored")
    # Second sign-in: the groups follow the token (admins added, staff gone).
    b2 = Browser(gw.port)
    r = _sign_in(b2, op, lambda n: op.sign(op.claims(n, groups=["g-admins-guid"],
                                                      name="Alice U.")))
    eq(r.status, 303, "second sign-in")
    row, groups = _db_user(h, "alice@corp.test")
    eq(groups, ["admins"], "group sync replaces the provider's memberships")
    eq(row[3], "Alice U.", "name updated")


def test_upstream_bad_tokens_refused(h):
    op = FakeOP(h)
    gw, audit = _gateway(h, op)
    cases = [
        ("unknown key", lambda n: op.sign(op.claims(n), key=op.other_key, kid="rotated-away")),
        ("bad signature", lambda n: op.sign(op.claims(n), key=op.other_key)),
        ("wrong issuer", lambda n: op.sign(op.claims(n, iss="https://evil.test"))),
        ("wrong audience", lambda n: op.sign(op.claims(n, aud="another-client"))),
        ("several audiences, no azp", lambda n: op.sign(op.claims(n, aud=[op.client_id, "x"]))),
        ("bad nonce", lambda n: op.sign(op.claims("not-" + n))),
        ("no nonce", lambda n: op.sign(op.claims(None))),
        ("expired", lambda n: op.sign(op.claims(n, exp=int(time.time()) - 600,
                                                 iat=int(time.time()) - 900))),
        ("alg none", lambda n: op.sign(op.claims(n), alg="none")),
        ("HS256", lambda n: op.sign(op.claims(n), alg="HS256")),
        ("email not a string", lambda n: op.sign(op.claims(n, email=["a@corp.test"]))),
        ("no email", lambda n: op.sign(op.claims(n, email=None))),
        ("email_verified false", lambda n: op.sign(op.claims(n, email_verified=False))),
        ("groups not strings", lambda n: op.sign(op.claims(n, groups=[1, 2]))),
        ("not a JWT", lambda n: "garbage"),
    ]
    for what, make in cases:
        b = Browser(gw.port)
        r = _sign_in(b, op, make)
        check(r.status in (400, 403, 502), "%s: refused (%d)" % (what, r.status))
        check(not session_cookie(b), "%s: no session" % what)
        check(b"Sign-in with your organisation failed" in r.body, "%s: the failure page" % what)
    reasons = _audit_reasons(audit)
    eq(len(reasons), len(cases), "one audit record per refusal")
    for needle in ("key not in the provider's JWKS", "bad signature", "wrong issuer",
                   "wrong audience", "nonce mismatch", "expired", "alg refused",
                   "no usable sub or e-mail", "malformed"):
        check(any(needle in t for t in reasons), "audit names %r" % needle)
    row, _ = _db_user(h, "alice@corp.test")
    check(row is None, "no user was created by any bad token")


def test_upstream_state_checks(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port)
    q, _ = _start(b)
    op.next_token = op.sign(op.claims(q["nonce"]))
    other = Browser(gw.port)  # another browser: no state cookie
    r = _callback(other, q["state"])
    eq(r.status, 400, "a callback in another browser (login CSRF) is refused")
    r = _callback(b, "A" * 43)
    eq(r.status, 400, "an unknown state is refused")
    r = _callback(b, q["state"])
    eq(r.status, 400, "the state was spent by the refused attempt with this cookie")
    q, _ = _start(b)
    op.next_token = op.sign(op.claims(q["nonce"]))
    eq(_callback(b, q["state"]).status, 303, "a fresh sign-in works")
    b.cookies["ztgate_oidc"] = q["state"]
    eq(_callback(b, q["state"]).status, 400, "a state is good once (replay refused)")
    r = b.get("/.ztgate/upstream/callback?error=access_denied&state=" + q["state"])
    eq(r.status, 400, "an error answer with a spent state")
    eq(b.get("/.ztgate/upstream/start?provider=nope").status, 404, "unknown provider")


def test_upstream_home_realm_discovery(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port)
    tok, page = b.csrf("/.ztgate/login?rd=%2Fhello")
    check(b'data-provider="corp"' in page.body and b"Sign in with Corp" in page.body,
          "the sign-in page shows the provider's button")
    r = b.post("/.ztgate/login", {"username": "Bob@Corp.Test", "password": "",
                                  "csrf_token": tok, "rd": "/hello"})
    eq(r.status, 200, "an e-mail of the provider's domain goes to it (a page, not a redirect: "
       "the sign-in page's CSP form-action covers the POST's redirects)")
    m = re.search(rb'http-equiv="refresh" content="0;url=([^"]+)"', r.body)
    check(m, "the page moves on by itself: %r" % r.body[:600])
    loc = html.unescape(m.group(1).decode())
    check(loc.startswith("/.ztgate/upstream/start?provider=corp&login_hint=Bob%40Corp.Test"),
          "home realm: %s" % loc)
    r = b.get(loc)
    eq(r.status, 303, "then to the provider")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(r.header("Location")).query)
    eq(q["login_hint"], ["Bob@Corp.Test"], "the e-mail is the login_hint")
    tok, _ = b.csrf("/.ztgate/login")
    r = b.post("/.ztgate/login", {"username": "carol@elsewhere.test", "password": "x",
                                  "csrf_token": tok})
    eq(r.status, 200, "another domain stays on the password form")
    ja = Browser(gw.port, lang="ja")
    _, page = ja.csrf("/.ztgate/login")
    check("Corp でサインイン".encode() in page.body, "the Japanese label")


def test_upstream_jit_off_and_takeover(h):
    op = FakeOP(h)
    gw, audit = _gateway(h, op, jit="off")
    r = _sign_in(Browser(gw.port), op)
    eq(r.status, 403, "jit off: an unknown user is refused")
    # An existing account of a domain the provider is not home to is never taken over.
    from portal_client import add_user
    add_user(h, gw, "victim@other.test", "a long password for victim")
    op2 = op
    r = _sign_in(Browser(gw.port), op2,
                 lambda n: op.sign(op.claims(n, email="victim@other.test", sub="attacker")))
    eq(r.status, 403, "e-mail of another domain's account: refused")
    row, _ = _db_user(h, "victim@other.test")
    eq(row[1:3], ("local", ""), "the victim's account is untouched")


def test_upstream_backchannel_logout(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port)
    r = _sign_in(b, op, lambda n: op.sign(op.claims(n, sid="op-session-1")))
    eq(r.status, 303, "signed in")
    eq(b.get("/hello").status, 200, "session works")
    now = int(time.time())
    logout = {"iss": op.issuer, "aud": op.client_id, "iat": now, "jti": "j1",
              "sid": "op-session-1",
              "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    bad = dict(logout, nonce="n")
    other = Browser(gw.port)
    r = other.post("/.ztgate/upstream/backchannel/corp",
                   {"logout_token": op.sign(bad, typ="logout+jwt")})
    eq(r.status, 400, "a logout token with a nonce is refused")
    r = other.post("/.ztgate/upstream/backchannel/corp",
                   {"logout_token": op.sign(logout, key=op.other_key, typ="logout+jwt")})
    eq(r.status, 400, "a logout token with a bad signature is refused")
    eq(b.get("/hello").status, 200, "still signed in")
    r = other.post("/.ztgate/upstream/backchannel/corp",
                   {"logout_token": op.sign(logout, typ="logout+jwt")})
    eq(r.status, 200, "the provider's logout token is accepted")
    r = b.get("/hello")
    check(r.status in (302, 303, 401), "the session has ended: %d" % r.status)
    r = other.post("/.ztgate/upstream/backchannel/corp",
                   {"logout_token": op.sign(logout, typ="logout+jwt")})
    eq(r.status, 400, "the same logout token again (its jti) is a replay: refused")


def test_upstream_mfa_trust(h):
    """mfa required: the provider's MFA (amr mfa/otp/hwk) is the second factor only with
    trust_upstream_mfa; otherwise ztgate asks its own (here: TOTP enrolment), and a password-only
    amr never counts."""
    op = FakeOP(h)
    gw, _ = _gateway(h, op, mfa="required", trust_upstream_mfa=True)
    r = _sign_in(Browser(gw.port), op, lambda n: op.sign(op.claims(n, amr=["pwd", "mfa"])))
    eq((r.status, r.header("Location")), (303, "/hello"), "trusted upstream MFA: signed in")
    r = _sign_in(Browser(gw.port), op, lambda n: op.sign(op.claims(n, amr=["pwd"])))
    eq(r.status, 303, "password-only upstream")
    check(r.header("Location").startswith("/.ztgate/totp"),
          "pwd only: ztgate's own second factor: %s" % r.header("Location"))


def test_upstream_mfa_not_trusted(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op, mfa="required")
    r = _sign_in(Browser(gw.port), op, lambda n: op.sign(op.claims(n, amr=["pwd", "mfa"])))
    eq(r.status, 303, "signed in upstream")
    check(r.header("Location").startswith("/.ztgate/totp"),
          "untrusted upstream MFA: ztgate's second factor: %s" % r.header("Location"))


def test_upstream_rp_initiated_logout(h):
    """Signing out of ztgate also signs out at the provider (end_session): a page that moves on to
    its end_session_endpoint with id_token_hint, the client and our signed-out page; the session
    is gone at once. end_session: false signs out of ztgate only."""
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port)
    eq(_sign_in(b, op).status, 303, "signed in")
    id_token = op.next_token
    r = b.logout()
    eq(r.status, 200, "sign-out answers with a page (CSP form-action covers POST redirects)")
    m = re.search(rb'http-equiv="refresh" content="0;url=([^"]+)"', r.body)
    check(m, "the page moves on to the provider: %r" % r.body[:500])
    url = urllib.parse.urlparse(html.unescape(m.group(1).decode()))
    eq(url.scheme + "://" + url.netloc + url.path, op.issuer + "/logout", "end_session_endpoint")
    q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
    eq(q.get("id_token_hint"), id_token, "id_token_hint is the sign-in's ID token")
    eq(q.get("client_id"), op.client_id, "client_id")
    eq(q.get("post_logout_redirect_uri"), "http://app.test/.ztgate/signed-out", "back to us")
    check(b.get("/hello").status in (302, 303, 401), "the ztgate session is gone")


def test_upstream_logout_local_only(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op, end_session=False)
    b = Browser(gw.port)
    eq(_sign_in(b, op).status, 303, "signed in")
    r = b.logout()
    eq((r.status, r.header("Location")), (303, "/.ztgate/signed-out"), "ztgate sign-out only")


TOR_EXIT = "127.0.0.30"


def test_upstream_conditional_access_and_risk(h):
    """An upstream sign-in meets the same Conditional Access and risk engine as a password: the
    mapped group is what a policy blocks; a sign-in from an anonymous IP (a Tor exit) is a risk
    detection that demands ztgate's second factor, or, with the provider's MFA trusted, is
    remediated by it."""
    from test_risk_e2e import SrcBrowser
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "ExitAddress %s 2026-11-01 12:07:50\n" % TOR_EXIT)
    op = FakeOP(h)
    gw, audit = _gateway(h, op, trust_upstream_mfa=True, extra={
        "risk": {"anonymous_ips": [{"path": tor}]},
        "policies": [{"name": "no-admins-here", "state": "on",
                      "users": {"include": ["group:admins"]},
                      "apps": {"include": ["all"]}, "grant": {"block": True}}]})
    html_accept = [("Accept", "text/html")]
    b = Browser(gw.port)
    eq(_sign_in(b, op).status, 303, "staff signs in")
    eq(b.get("/hello", headers=html_accept).status, 200, "staff passes the policy")
    a = Browser(gw.port)
    r = _sign_in(a, op, lambda n: op.sign(op.claims(n, sub="sub-bob", email="bob@corp.test",
                                                     groups=["g-admins-guid"])))
    eq(r.status, 303, "bob signs in upstream")
    r = a.get("/hello", headers=html_accept)
    eq(r.status, 403, "the policy blocks the group the token mapped")
    check(b"no-admins-here" in r.body, "the block page names the policy")

    # From a Tor exit, password-only upstream and no ztgate factor to ask: refused, as a
    # password sign-in is (the risk engine's rule: a risky sign-in may not enrol its own).
    t = SrcBrowser(gw.port, TOR_EXIT)
    r = _sign_in(t, op, lambda n: op.sign(op.claims(n, sub="sub-carol", email="carol@corp.test",
                                                     amr=["pwd"])))
    eq(r.status, 403, "carol from a Tor exit: risky, no second factor to ask: refused")
    check(not session_cookie(t), "no session")
    # With the provider's MFA (trusted): signed in, the detection remediated by it.
    t2 = SrcBrowser(gw.port, TOR_EXIT)
    r = _sign_in(t2, op, lambda n: op.sign(op.claims(n, sub="sub-dave", email="dave@corp.test",
                                                      amr=["pwd", "mfa"])))
    eq((r.status, r.header("Location")), (303, "/hello"), "upstream MFA remediates the risk")
    time.sleep(0.3)
    with open(audit) as f:
        text = f.read()
    check(text.count("anonymous_ip") >= 2, "the detections are audited")
    check("signed in upstream with MFA; sign-in risk remediated by it" in text,
          "the remediation is recorded")


def test_upstream_disabled_account_refused(h):
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    eq(_sign_in(Browser(gw.port), op).status, 303, "first sign-in creates alice")
    r = h.cli("user", "disable", "alice@corp.test", "--config", gw.config_path)
    eq(r.returncode, 0, "user disable: %s" % (r.stdout + r.stderr))
    b = Browser(gw.port)
    r = _sign_in(b, op, lambda n: op.sign(op.claims(n, groups=["g-admins-guid"])))
    eq(r.status, 403, "a disabled account is refused whatever the provider says")
    check(not session_cookie(b), "no session")
    _, groups = _db_user(h, "alice@corp.test")
    eq(groups, ["staff"], "the refused token changed nothing")


def test_upstream_failure_page_japanese(h):
    from browser import msg
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    b = Browser(gw.port, lang="ja")
    r = _sign_in(b, op, lambda n: op.sign(op.claims(n, aud="someone-else")))
    eq(r.status, 502, "refused")
    body = r.body.decode()
    check(msg("FED_TITLE_FAILED", "ja") in body and msg("FED_BODY_FAILED", "ja") in body,
          "the failure page in Japanese: %s" % body[:600])
    check(msg("FED_TITLE_FAILED") not in body, "no English title on the Japanese page")
    r = Browser(gw.port, lang="ja").get("/.ztgate/upstream/callback?code=x&state=" + "B" * 43)
    check(msg("FED_BODY_EXPIRED", "ja") in r.body.decode(), "expired sign-in page in Japanese")



def test_upstream_over_https(h):
    """The provider over HTTPS, verified against ca_file (discovery, JWKS, token endpoint); the
    same provider without ca_file (the system store does not know its certificate) is
    unavailable, a clear page, not a sign-in."""
    op = FakeOP(h, tls=True)
    gw, _ = _gateway(h, op, ca_file=op.ca_file)
    b = Browser(gw.port)
    q, loc = _start(b)
    eq(loc.scheme + "://" + loc.netloc, op.issuer, "authorization endpoint over https")
    op.next_token = op.sign(op.claims(q["nonce"]))
    eq(_callback(b, q["state"]).status, 303, "signed in through an https provider")
    gw.proc.stop()
    gw2, _ = _gateway(h, op)  # no ca_file
    r = Browser(gw2.port).get("/.ztgate/upstream/start?provider=corp")
    eq(r.status, 503, "an unverifiable certificate: the provider is unavailable")
    check(b"cannot be reached" in r.body, "the page says so")



def test_upstream_private_key_jwt(h):
    """private_key_jwt: ztgate signs a client assertion with the RS256 key of private_key_dir
    (created at first use) and publishes the public keys at /.ztgate/upstream/jwks/NAME for the
    provider (its jwks_uri); the provider here fetches them and verifies the assertion."""
    op = FakeOP(h)
    gw, _ = _gateway(h, op, private_key_dir=h.path("state/upstream-keys"))
    op.client_jwks_url = "http://127.0.0.1:%d/.ztgate/upstream/jwks/corp" % gw.port
    b = Browser(gw.port)
    r = _sign_in(b, op)
    eq(r.status, 303, "signed in with private_key_jwt: %r" % r.body[:300])
    eq(len(op.assertions), 1, "the provider verified one client assertion")
    check(op.token_requests[-1]["auth"] is None, "no client secret sent")
    jwks = json.loads(Browser(gw.port).get("/.ztgate/upstream/jwks/corp").body)
    check(all("d" not in k for k in jwks["keys"]) and any(k["kty"] == "RSA" for k in jwks["keys"]),
          "the JWKS holds public keys only")
    mode = os.stat(h.path("state/upstream-keys")).st_mode & 0o777
    eq(mode, 0o700, "the key directory is private")
    eq(Browser(gw.port).get("/.ztgate/upstream/jwks/nope").status, 404, "unknown provider")
    op.client_jwks_url = "http://127.0.0.1:1/none"  # the provider cannot verify: refused
    r = _sign_in(Browser(gw.port), op)
    eq(r.status, 502, "a client assertion the provider refuses: the sign-in fails")


def test_upstream_reload_adds_and_changes_providers(h):
    """oidc_providers is reloadable: a provider added by SIGHUP shows its button and signs in; a
    changed client_id is used from the next sign-in on."""
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    cfg = json.loads(json.dumps(gw.config))
    cfg["oidc_providers"][0]["name"] = "corp2"
    cfg["oidc_providers"][0]["label"] = "Sign in with Corp Two"
    gw.reload(cfg)
    check(wait_until(lambda: b"Sign in with Corp Two" in Browser(gw.port).get(
        "/.ztgate/login").body, 10), "the new provider's button after reload")
    eq(Browser(gw.port).get("/.ztgate/upstream/start?provider=corp").status, 404,
       "the old name is gone")
    b = Browser(gw.port)
    r = b.get("/.ztgate/upstream/start?provider=corp2")
    eq(r.status, 303, "the new provider starts")
    q = {k: v[0] for k, v in urllib.parse.parse_qs(
        urllib.parse.urlparse(r.header("Location")).query).items()}
    op.next_token = op.sign(op.claims(q["nonce"], sub="sub-z", email="z@corp.test"))
    eq(_callback(b, q["state"]).status, 303, "and signs in")
    row, _ = _db_user(h, "z@corp.test")
    eq(row[1], "oidc:corp2", "users of the new provider have its source")



def test_upstream_discovery_names_another_issuer(h):
    """A discovery document for another issuer (OIDC Discovery 4.3: a mix-up, or a wrong
    `issuer` in the config) is refused: the provider is unavailable, nothing is sent to it."""
    op = FakeOP(h)
    op.discovery_issuer = "https://login.evil.test"
    gw, _ = _gateway(h, op)
    r = Browser(gw.port).get("/.ztgate/upstream/start?provider=corp")
    eq(r.status, 503, "unavailable")
    check(b"cannot be reached" in r.body, "the unavailable page")
    check("discovery document of %s: discovery document names another issuer" % op.issuer
          in gw.stderr_text(), "the error log says why: %s" % gw.stderr_text()[-500:])


def test_upstream_pending_per_source(h):
    """Sign-ins started and not finished are kept per client address up to 32; more from the
    same address push out its oldest (a flood of starts cannot fill the table for everyone)."""
    op = FakeOP(h)
    gw, _ = _gateway(h, op)
    first = Browser(gw.port)
    q_first, _ = _start(first)
    for _ in range(32):
        _start(Browser(gw.port))
    op.next_token = op.sign(op.claims(q_first["nonce"]))
    eq(_callback(first, q_first["state"]).status, 400, "the oldest of the address was pushed out")
    b = Browser(gw.port)
    eq(_sign_in(b, op).status, 303, "a new sign-in from the same address works")
