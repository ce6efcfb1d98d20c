"""Identity end to end, as apps and users see it: what a signed-in request carries to the app
(X-ZT-* headers and an ES256 assertion that an app verifying with jose accepts, while forged
tokens fail there), revocation through the real CLI on the very next request, idle expiry,
logout scope, host-only cookies, central sign-in across hosts, and the cookie over HTTPS."""
import base64
import json
import os
import shutil
import subprocess
import urllib.parse

from harness import (HERE, Conn, Proc, Skip, check, eq, free_port, get, header_values,
                     wait_until)
from portal_client import (PASSWORD, Browser, add_user, complete_sign_in, session_cookie,
                           sign_in, signed_in_browser)

BROWSER = ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
ALICE = "alice@example.test"
BOB = "bob@example.test"
JWT_DIR = os.path.join(HERE, "jwt")


# ---------------------------------------------------------------------------------------------
# helpers

def _auth(**kw):
    a = {"argon2_memory": "19MiB", "argon2_passes": 2}
    a.update(kw)
    return a


def _gateway(h, apps=None, auth=None, listen=None, start=True, name="ztgate"):
    """A gateway in front of one echo upstream; apps default to one internal app on app.test."""
    up = h.upstream()
    if apps is None:
        apps = [h.app(up, sensitivity="internal")]
    else:
        apps = [dict(a, upstream=a.get("upstream") or up.url) for a in apps]
    cfg = h.config(apps, listen=listen, extra={"auth": _auth(**(auth or {}))})
    gw = h.gateway(cfg, start=start, name=name)
    return gw, up, cfg


def _cli(h, gw, *args, stdin=None):
    r = h.cli(*(list(args) + ["--config", gw.config_path]), input=stdin)
    eq(r.returncode, 0, "ztgate %s (%s)" % (" ".join(args), (r.stdout + r.stderr).strip()))
    return r


def _user_id(h, gw, email):
    r = _cli(h, gw, "user", "show", email, "--json")
    return json.loads(r.stdout)["id"]


def _echo(r, what):
    eq(r.status, 200, what)
    return r.json()


def _only(echo, name, what):
    vals = header_values(echo, name)
    eq(len(vals), 1, "%s: one %s header (got %r)" % (what, name, vals))
    return vals[0]


def _groups(csv):
    return sorted(g.strip() for g in csv.split(",") if g.strip())


def _b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _claims(token):
    """Header and payload of a JWT, not verified (the jose tests verify)."""
    parts = token.split(".")
    eq(len(parts), 3, "JWT has three parts")
    return json.loads(_b64d(parts[0])), json.loads(_b64d(parts[1]))


def _page(b, path="/page", conn=None, accept=True):
    """A proxied GET as this browser (on `conn` when given, else a fresh connection)."""
    headers = [BROWSER] if accept else []
    if conn is None:
        return b.get(path, headers)
    r = conn.request("GET", path, host=b.host, headers=b._headers(headers))
    check(r is not None, "connection closed without a response")
    return r


def _refused(b, what, up=None, conn=None):
    """The next requests as `b` are sent to sign in: 302 for a browser (on the kept connection
    first, then fresh ones), 401 for an API client; the app sees none of them."""
    before = len(up.requests()) if up else 0
    if conn is not None:
        r = _page(b, conn=conn)
        eq(r.status, 302, "%s: next request on the same connection" % what)
    for i in range(3):
        r = _page(b)
        eq(r.status, 302, "%s: browser request %d" % (what, i + 1))
        check("/.ztgate/login?rd=" in (r.header("Location") or ""),
              "%s: sent to sign in (%r)" % (what, r.header("Location")))
    r = _page(b, accept=False)
    eq(r.status, 401, "%s: API client" % what)
    if up is not None:
        eq(len(up.requests()), before, "%s: the app saw a request" % what)


def _signed_in_here(b, what, conn=None):
    """Several requests (kept connection and fresh ones, so every worker's cache holds the
    session) reach the app."""
    if conn is not None:
        eq(_page(b, conn=conn).status, 200, "%s (kept connection)" % what)
    for _ in range(4):
        eq(_page(b).status, 200, what)


def _access_log_error(h, request_id):
    """The access log's "error" field (the session status for a refusal) of one request."""
    def find():
        with open(h.path("access.log"), errors="replace") as f:
            for line in f:
                rec = json.loads(line) if line.endswith("\n") else {}
                if rec.get("request_id") == request_id:
                    return [rec.get("error")]
        return None
    found = wait_until(find, 5.0)
    check(found, "request %s in the access log" % request_id)
    return found[0]


def _start_with_clock_offset(h, cfg, seconds, name):
    """The same config (same state dir, keys and sessions) in a new gateway whose wall clock is
    moved by `seconds` (ZTGATE_TEST_CLOCK_OFFSET_S, read in src/gateway/gateway.c)."""
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(seconds)
    try:
        gw = h.gateway(cfg, name=name)
    finally:
        if old is None:
            del os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"]
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old
    if "test clock offset" not in gw.stderr_text():  # logged before it listens
        raise Skip("this ztgate build ignores ZTGATE_TEST_CLOCK_OFFSET_S (expiry needs minutes)")
    return gw


# ---------------------------------------------------------------------------------------------
# 1. what the app receives

def test_identity_headers_reach_the_app_and_spoofs_do_not(h):
    gw, up, _ = _gateway(h)
    b = signed_in_browser(h, gw, ALICE, PASSWORD, groups=("staff", "eng"))
    uid = _user_id(h, gw, ALICE)
    check(uid and uid != ALICE, "user id %r" % uid)

    echo = _echo(_page(b, "/whoami"), "signed-in request")
    eq(_only(echo, "X-ZT-User", "signed in"), uid, "X-ZT-User")
    eq(_only(echo, "X-ZT-Email", "signed in"), ALICE, "X-ZT-Email")
    eq(_groups(_only(echo, "X-ZT-Groups", "signed in")), ["eng", "staff"], "X-ZT-Groups")
    hdr, claims = _claims(_only(echo, "X-ZT-Assertion", "signed in"))
    eq(hdr.get("alg"), "ES256", "assertion alg")
    eq(claims.get("sub"), uid, "assertion sub")
    eq(claims.get("email"), ALICE, "assertion email")
    eq(sorted(claims.get("groups", [])), ["eng", "staff"], "assertion groups")
    eq(claims.get("aud"), "app", "assertion aud (the app's name)")
    eq(claims.get("iss"), "ztgate", "assertion iss (default issuer)")
    check(0 < claims["exp"] - claims["iat"] <= 300, "assertion lifetime %r" % claims)

    # The session is valid, and the client still cannot speak for the gateway.
    spoofs = [("X-ZT-User", "admin-id"), ("x-zt-email", "ceo@example.test"),
              ("X-Zt-Groups", "admins"), ("X-ZT-Assertion", "eyJhbGciOiJub25lIn0.e30."),
              ("X-ZT-Device", "spoofed-device"), ("X-ZT-Trust", "managed"),
              ("X-ZT-Restrict", "none"), ("X-ZT-Request-Id", "spoofed-request-id"),
              ("X_ZT_User", "underscore-admin"), ("x_zt_groups", "underscore-admins"),
              ("X-ZT-Anything", "spoofed-other")]
    echo = _echo(b.get("/whoami", [BROWSER] + spoofs), "signed-in request with spoofs")
    spoof_values = {v for _, v in spoofs}
    leaked = [(n, v) for n, v in echo["headers"] if v in spoof_values]
    eq(leaked, [], "client-sent X-ZT-* headers forwarded")
    eq(header_values(echo, "X-ZT-User"), [uid], "X-ZT-User after spoofing")
    eq(header_values(echo, "X-ZT-Email"), [ALICE], "X-ZT-Email after spoofing")
    eq(len(header_values(echo, "X-ZT-Groups")), 1, "one X-ZT-Groups after spoofing")
    eq(_groups(header_values(echo, "X-ZT-Groups")[0]), ["eng", "staff"], "groups after spoofing")
    tok = header_values(echo, "X-ZT-Assertion")
    eq(len(tok), 1, "one X-ZT-Assertion after spoofing")
    eq(_claims(tok[0])[1]["sub"], uid, "the assertion is the gateway's")
    # X-ZT-Trust is the gateway's: this request proved no device.
    eq(header_values(echo, "X-ZT-Trust"), ["unmanaged"], "X-ZT-Trust after spoofing")
    for n, _ in echo["headers"]:
        norm = n.lower().replace("_", "-")
        check(norm not in ("x-zt-device", "x-zt-restrict", "x-zt-anything") and
              (norm != "x-zt-trust" or n == "X-ZT-Trust"),
              "%s reached the app without a device/restrict decision" % n)

    # The same spoofs without a session never reach the app.
    before = len(up.requests())
    r = get(gw.port, "/whoami", headers=spoofs)
    eq(r.status, 401, "spoofed identity without a session")
    eq(len(up.requests()), before, "app saw an anonymous spoofed request")


# ---------------------------------------------------------------------------------------------
# 2. an app that verifies the assertion with jose

class JoseUpstream:
    """tests/integ/jwt/upstream.mjs as a process of the harness (stopped with the test)."""

    def __init__(self, h, jwks_port, jwks_host, audience, issuer="ztgate", name="jose-upstream"):
        self.proc = Proc(name, ["node", os.path.join(JWT_DIR, "upstream.mjs"),
                                "--jwks", "http://127.0.0.1:%d/.ztgate/jwks.json" % jwks_port,
                                "--jwks-host", jwks_host, "--issuer", issuer,
                                "--audience", audience],
                         h.dir, stdout_pipe=True)
        h.procs.append(self.proc)
        line = self.proc.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise AssertionError("jose upstream did not start: %r\n%s"
                                 % (line, self.proc.stderr_text()))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def send(self, token, host="direct.test"):
        """A request straight to the app, bypassing the gateway: (status, JSON answer)."""
        headers = [("X-ZT-Assertion", token)] if token is not None else []
        r = get(self.port, "/", host=host, headers=headers)
        return r.status, r.json()


def _need_jose():
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Skip("node/npm not installed")
    if not os.path.exists(os.path.join(JWT_DIR, "node_modules", "jose", "package.json")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=JWT_DIR, capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise Skip("npm ci failed (offline?): %s" % r.stderr.strip()[-300:])


def _assertion_seen_by(b, path="/"):
    """The X-ZT-Assertion the jose app received for this browser's next request (whatever the
    app's verdict)."""
    r = _page(b, path)
    check(r.status in (200, 401), "jose app answered %d: %r" % (r.status, r.body[:200]))
    tok = r.json().get("token")
    check(tok, "the jose app saw no assertion: %r" % r.body[:200])
    return tok


def _jose_setup(h, two_apps=False):
    """Gateway with app "wiki" (wiki.test, and "payroll" on payroll.test when two_apps) in front
    of the jose upstream, which takes its keys from this gateway's JWKS."""
    _need_jose()
    gport = free_port()
    ju = JoseUpstream(h, gport, "wiki.test", "wiki")
    apps = [h.app(ju.url, name="wiki", host="wiki.test", sensitivity="internal")]
    if two_apps:
        apps.append(h.app(ju.url, name="payroll", host="payroll.test", sensitivity="internal"))
    gw, up, cfg = _gateway(h, apps=apps, listen=[{"address": "127.0.0.1:%d" % gport}])
    return gw, ju, cfg


def test_jose_app_verifies_the_assertion(h):
    gw, ju, _ = _jose_setup(h)
    b = signed_in_browser(h, gw, ALICE, PASSWORD, groups=("staff", "eng.tokyo_2"), host="wiki.test")
    uid = _user_id(h, gw, ALICE)
    r = _page(b, "/")
    eq(r.status, 200, "the jose app accepted the gateway's assertion (%r)" % r.body[:300])
    ans = r.json()
    p = ans["payload"]
    eq(p["sub"], uid, "sub")
    eq(p["email"], ALICE, "email")
    eq(sorted(p["groups"]), sorted(["staff", "eng.tokyo_2"]), "groups")
    eq(p["aud"], "wiki", "aud")
    eq(p["iss"], "ztgate", "iss")
    check(isinstance(p.get("jti"), str) and p["jti"], "jti")
    check(0 < p["exp"] - p["iat"] <= 300, "exp - iat = %d" % (p["exp"] - p["iat"]))
    eq(ans["header"]["alg"], "ES256", "alg")
    eq(ans["identity"].get("x-zt-user"), uid, "X-ZT-User next to the assertion")
    # Without a gateway in between there is no assertion, and the app says so.
    status, ans = ju.send(None)
    eq((status, ans["error"]), (401, "missing"), "direct request without a token")


def test_jose_app_rejects_forged_tokens(h):
    gw, ju, cfg = _jose_setup(h, two_apps=True)
    b = signed_in_browser(h, gw, ALICE, PASSWORD, host="wiki.test")
    # The good token, captured from a real request: the app accepts it when sent directly too.
    token = _assertion_seen_by(b)
    status, ans = ju.send(token)
    eq(status, 200, "the captured real token verifies when replayed directly (%r)" % ans)

    jwks_path = h.path("jwks.json")
    r = get(gw.port, "/.ztgate/jwks.json", host="wiki.test")
    eq(r.status, 200, "JWKS")
    eq(len(r.json()["keys"]), 1, "a fresh gateway publishes one key")
    with open(jwks_path, "wb") as f:
        f.write(r.body)
    out = h.path("forged")
    res = subprocess.run(["node", os.path.join(JWT_DIR, "forge.mjs"), jwks_path, token, out, "1"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    eq(res.returncode, 0, "forge.mjs (%s)" % res.stderr[-500:])
    kid = _claims(token)[0]["kid"]

    def forged(name):
        with open(os.path.join(out, name + ".jwt")) as f:
            return f.read().strip()

    attacks = {
        "none": None, "hs256-pem": None, "hs256-jwk": None, "hs256-jwks": None,
        "attacker-kid": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        "embedded-jwk": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        "attacker-own": "ERR_JWKS_NO_MATCHING_KEY",
    }
    for name, code in attacks.items():
        t = forged(name)
        hdr = json.loads(_b64d(t.split(".")[0]))
        if name in ("attacker-kid", "embedded-jwk", "hs256-pem", "none"):
            eq(hdr.get("kid"), kid, "%s carries the gateway's kid" % name)
        status, ans = ju.send(t)
        eq(status, 401, "forged token %s accepted by the app: %r" % (name, ans))
        if code:
            eq(ans["error"], code, "jose error for %s" % name)
        else:
            check(ans["error"] in ("ERR_JOSE_ALG_NOT_ALLOWED", "ERR_JWS_INVALID",
                                   "ERR_JOSE_NOT_SUPPORTED"),
                  "jose error for %s: %r" % (name, ans))

    # A token the gateway really signed, for another app: wrong audience.
    pb = Browser(gw.port, host="payroll.test")
    complete_sign_in(pb, ALICE, PASSWORD, secret=b.secret, codes=b.recovery_codes)
    r = _page(pb, "/")
    eq(r.status, 401, "the wiki-pinned app refused payroll's token (via the gateway)")
    eq(r.json()["error"], "ERR_JWT_CLAIM_VALIDATION_FAILED", "wrong audience (via the gateway)")
    payroll_token = _assertion_seen_by(pb)
    eq(_claims(payroll_token)[1]["aud"], "payroll", "payroll's token names payroll")
    status, ans = ju.send(payroll_token)
    eq((status, ans["error"]), (401, "ERR_JWT_CLAIM_VALIDATION_FAILED"),
       "payroll's token sent straight to the wiki app")
    # Tampering with a real token: same signature, another subject.
    head, body, sig = token.split(".")
    claims = json.loads(_b64d(body))
    claims["sub"] = "someone-else"
    tampered = "%s.%s.%s" % (head, base64.urlsafe_b64encode(
        json.dumps(claims).encode()).rstrip(b"=").decode(), sig)
    status, ans = ju.send(tampered)
    eq((status, ans["error"]), (401, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"), "tampered sub")



def test_jose_app_rejects_an_expired_token(h):
    """A token the gateway's real key signed, expired: a gateway on the same state whose clock is
    10 minutes behind signs one (exp = real now - 5 min at most)."""
    gw, ju, cfg = _jose_setup(h)
    b = signed_in_browser(h, gw, ALICE, PASSWORD, host="wiki.test")
    token = _assertion_seen_by(b)
    gw.proc.stop()
    gw2 = _start_with_clock_offset(h, cfg, -600, "ztgate-past")
    b2 = Browser(gw2.port, host="wiki.test")
    complete_sign_in(b2, ALICE, PASSWORD, secret=b.secret, codes=b.recovery_codes)
    r = _page(b2, "/")
    eq(r.status, 401, "the app refused the gateway-in-the-past's token")
    eq(r.json()["error"], "ERR_JWT_EXPIRED", "expired (signature good, exp past)")
    old = _assertion_seen_by(b2)
    status, ans = ju.send(old)
    eq((status, ans["error"]), (401, "ERR_JWT_EXPIRED"), "expired token sent directly")
    # Control: the first, unexpired token still verifies against the same JWKS and key.
    status, ans = ju.send(token)
    eq(status, 200, "the unexpired token of the same key still verifies (%r)" % ans)


# ---------------------------------------------------------------------------------------------
# 3. revocation through the CLI, on the very next request

def _two_users(h, groups=("staff",)):
    gw, up, cfg = _gateway(h)
    alice = signed_in_browser(h, gw, ALICE, PASSWORD, groups=groups)
    bob = signed_in_browser(h, gw, BOB, "bob's long enough password", groups=groups)
    conn = Conn(gw.port)
    h.conns.append(conn)
    _signed_in_here(alice, "alice before the change", conn)
    _signed_in_here(bob, "bob before the change")
    return gw, up, alice, bob, conn


def test_revoke_disable_then_enable(h):
    gw, up, alice, bob, conn = _two_users(h)
    old_cookies = dict(alice.cookies)
    _cli(h, gw, "user", "disable", ALICE)
    _refused(alice, "after user disable", up, conn)
    _signed_in_here(bob, "another user is not affected by disabling alice")
    r = sign_in(Browser(gw.port), ALICE, PASSWORD)
    eq(r.status, 200, "a disabled user cannot sign in")
    check(b"notice error" in r.body, "sign-in refused page")

    _cli(h, gw, "user", "enable", ALICE)
    again = Browser(gw.port)
    again.cookies = dict(old_cookies)
    _refused(again, "the old session after user enable", up)
    fresh = Browser(gw.port)
    complete_sign_in(fresh, ALICE, PASSWORD, secret=alice.secret, codes=alice.recovery_codes)
    eq(_page(fresh).status, 200, "signing in again after enable")


def test_revoke_sessions(h):
    gw, up, alice, bob, conn = _two_users(h)
    second = Browser(gw.port)
    complete_sign_in(second, ALICE, PASSWORD, secret=alice.secret, codes=alice.recovery_codes)
    _signed_in_here(second, "alice's second browser")
    _cli(h, gw, "user", "revoke-sessions", ALICE)
    _refused(alice, "after revoke-sessions", up, conn)
    _refused(second, "alice's second browser after revoke-sessions", up)
    _signed_in_here(bob, "bob after alice's revoke-sessions")
    fresh = Browser(gw.port)
    complete_sign_in(fresh, ALICE, PASSWORD, secret=alice.secret, codes=alice.recovery_codes)
    eq(_page(fresh).status, 200, "signing in again after revoke-sessions")


def test_revoke_passwd(h):
    gw, up, alice, bob, conn = _two_users(h)
    new_pw = "a brand new passphrase 42"
    _cli(h, gw, "user", "passwd", ALICE, "--password-stdin", stdin=new_pw + "\n")
    _refused(alice, "after user passwd", up, conn)
    _signed_in_here(bob, "bob after alice's passwd")
    r = sign_in(Browser(gw.port), ALICE, PASSWORD)
    eq(r.status, 200, "the old password no longer signs in")
    fresh = Browser(gw.port)
    complete_sign_in(fresh, ALICE, new_pw, secret=alice.secret, codes=alice.recovery_codes)
    eq(_page(fresh).status, 200, "the new password signs in")


def test_revoke_reset_mfa(h):
    gw, up, alice, bob, conn = _two_users(h)
    _cli(h, gw, "user", "reset-mfa", ALICE)
    _refused(alice, "after user reset-mfa", up, conn)
    _signed_in_here(bob, "bob after alice's reset-mfa")
    b = Browser(gw.port)
    r = sign_in(b, ALICE, PASSWORD)
    eq(r.status, 303, "password still good")
    check(r.header("Location", "").startswith("/.ztgate/totp"),
          "TOTP enrolment again after reset-mfa: %r" % r.header("Location"))
    eq(_page(b).status, 302, "a session that owes enrolment does not reach the app")


def test_revoke_delete(h):
    gw, up, alice, bob, conn = _two_users(h)
    _cli(h, gw, "user", "delete", ALICE)
    _refused(alice, "after user delete", up, conn)
    _signed_in_here(bob, "bob after alice's deletion")
    r = sign_in(Browser(gw.port), ALICE, PASSWORD)
    eq(r.status, 200, "a deleted user cannot sign in")


def _groups_seen(b, conn=None):
    echo = _echo(_page(b, "/groups", conn=conn), "signed-in request")
    csv = _only(echo, "X-ZT-Groups", "groups")
    claim = _claims(_only(echo, "X-ZT-Assertion", "groups"))[1].get("groups", [])
    return _groups(csv), sorted(claim)


def test_group_changes_reach_the_next_request(h):
    gw, up, alice, bob, conn = _two_users(h, groups=("staff",))
    eq(_groups_seen(alice, conn), (["staff"], ["staff"]), "groups before")
    _cli(h, gw, "group", "add", "finance")
    _cli(h, gw, "group", "member-add", "finance", ALICE)
    eq(_groups_seen(alice, conn), (["finance", "staff"], ["finance", "staff"]),
       "header and assertion after member-add (kept connection)")
    eq(_groups_seen(alice), (["finance", "staff"], ["finance", "staff"]),
       "after member-add (fresh connection)")
    eq(_groups_seen(bob), (["staff"], ["staff"]), "bob's groups unchanged")
    _cli(h, gw, "group", "member-remove", "staff", ALICE)
    eq(_groups_seen(alice, conn), (["finance"], ["finance"]), "after member-remove")
    _cli(h, gw, "group", "delete", "finance")
    eq(_groups_seen(alice, conn), ([], []), "after the group is deleted")
    eq(_groups_seen(bob), (["staff"], ["staff"]), "bob keeps staff")


# ---------------------------------------------------------------------------------------------
# 4. idle expiry (the gateway's wall clock is moved instead of sleeping)

def test_idle_timeout_ends_the_session(h):
    gw, up, cfg = _gateway(h, auth={"session_idle_timeout": "1m"})
    b = signed_in_browser(h, gw, ALICE, PASSWORD)
    eq(_page(b).status, 200, "signed in")
    gw.proc.stop()
    # 40 s later (under the idle timeout): still signed in, from the stored session.
    gw2 = _start_with_clock_offset(h, cfg, 40, "ztgate-40s")
    eq(_page(b).status, 200, "40 s idle with a 1 min timeout")
    gw2.proc.stop()
    # 5 minutes later: idle for longer than the timeout, whatever the last touch wrote.
    _start_with_clock_offset(h, cfg, 300, "ztgate-5m")
    r = _page(b)
    eq(r.status, 302, "5 min idle with a 1 min timeout")
    why = _access_log_error(h, r.header("X-Request-Id"))
    check("expired" in (why or ""), "refused as expired, not %r" % why)
    r = _page(b, accept=False)
    eq(r.status, 401, "API client after idle expiry")
    r = b.get("/.ztgate/")
    check(ALICE.encode() not in r.body, "the account page no longer knows the user")


def test_absolute_lifetime_ends_an_active_session(h):
    gw, up, cfg = _gateway(h, auth={"session_lifetime": "5m"})
    b = signed_in_browser(h, gw, ALICE, PASSWORD)
    eq(_page(b).status, 200, "signed in")
    gw.proc.stop()
    # Kept active (a request every couple of minutes), so only the absolute limit can end it.
    for i, offset in enumerate((120, 240)):
        g = _start_with_clock_offset(h, cfg, offset, "ztgate-%ds" % offset)
        eq(_page(b).status, 200, "active session %d s after sign-in" % offset)
        g.proc.stop()
    _start_with_clock_offset(h, cfg, 330, "ztgate-330s")
    r = _page(b)
    eq(r.status, 302, "5.5 min after sign-in with a 5 min lifetime")
    why = _access_log_error(h, r.header("X-Request-Id"))
    check("expired" in (why or ""), "refused as expired, not %r" % why)


# ---------------------------------------------------------------------------------------------
# 5. logout scope and host-only cookies

def test_logout_in_one_browser_keeps_the_other(h):
    gw, up, _ = _gateway(h)
    b1 = signed_in_browser(h, gw, ALICE, PASSWORD)
    b2 = Browser(gw.port)
    complete_sign_in(b2, ALICE, PASSWORD, secret=b1.secret, codes=b1.recovery_codes)
    check(session_cookie(b1) != session_cookie(b2), "two sessions")
    eq(_page(b1).status, 200, "browser 1 signed in")
    eq(_page(b2).status, 200, "browser 2 signed in")
    old = dict(b1.cookies)
    r = b1.logout()
    eq(r.status, 303, "logout")
    check(not session_cookie(b1), "browser 1's cookie cleared")
    stale = Browser(gw.port)
    stale.cookies = old
    _refused(stale, "browser 1's old cookie after its logout", up)
    for _ in range(3):
        eq(_page(b2).status, 200, "browser 2 is still signed in after browser 1 logged out")


def test_session_cookie_is_bound_to_its_host(h):
    up_a, up_b = h.upstream("upstream-a"), h.upstream("upstream-b")
    apps = [h.app(up_a, name="a", host="a.test", sensitivity="internal"),
            h.app(up_b, name="b", host="b.test", sensitivity="internal")]
    gw, _, _ = _gateway(h, apps=apps)
    a = signed_in_browser(h, gw, ALICE, PASSWORD, host="a.test")
    eq(_page(a).status, 200, "signed in on a.test")
    # The same cookie jar presented to b.test (a user agent would not, an attacker would).
    b = Browser(gw.port, host="b.test")
    b.cookies = dict(a.cookies)
    for conn in (None, Conn(gw.port)):
        r = _page(b, conn=conn)
        eq(r.status, 302, "a.test's session cookie on b.test")
        check(r.header("Location", "").startswith("/.ztgate/login?rd="), "sent to sign in")
        if conn is not None:
            conn.close()
    eq(_page(b, accept=False).status, 401, "a.test's session cookie on b.test (API client)")
    eq(up_b.requests(), [], "b.test's app saw a request with a.test's cookie")
    r = b.get("/.ztgate/")
    check(ALICE.encode() not in r.body, "b.test's portal does not know the user")
    eq(_page(a).status, 200, "still signed in on a.test")


def test_gateway_cookies_are_not_forwarded_to_apps(h):
    """The session cookie is the user's credential at the gateway; an app has the identity
    headers and never needs it. Forwarded, any app on the host (a public one included), or
    whoever reads its logs, could replay it to every other app on that host as the user."""
    up_pub, up_hr = h.upstream("upstream-public"), h.upstream("upstream-hr")
    apps = [h.app(up_pub, name="pub", sensitivity="public", path_prefix="/public/"),
            h.app(up_hr, name="hr", sensitivity="confidential")]
    gw, _, _ = _gateway(h, apps=apps)
    b = signed_in_browser(h, gw, ALICE, PASSWORD)
    app_cookie = ("Cookie", "app_pref=dark")
    for path, name in (("/public/x", "public app"), ("/hr/x", "confidential app")):
        echo = _echo(b.get(path, [BROWSER, app_cookie]), name)
        sent = "; ".join(header_values(echo, "Cookie"))
        check("app_pref=dark" in sent, "%s: the app's own cookie is forwarded (%r)" % (name, sent))
        for ck, val in b.cookies.items():
            check(val not in sent, "%s received the gateway's %s cookie: %r" % (name, ck, sent))


# ---------------------------------------------------------------------------------------------
# 6. central sign-in at a portal host

def _via_portal(portal, app, gw_port, path="/page"):
    """The app host sends the browser to the portal, which (already signed in) answers with a
    one-time code for the app host, which the app host redeems for its own session."""
    r = _page(app, path)
    eq(r.status, 302, "%s: not signed in yet" % app.host)
    loc = r.header("Location", "")
    prefix = "http://auth.test:%d/.ztgate/login?rd=" % gw_port
    check(loc.startswith(prefix), "%s sends sign-in to the portal host: %r" % (app.host, loc))
    r = portal.get(loc[len("http://auth.test:%d" % gw_port):])
    eq(r.status, 303, "%s: portal session sends the browser on" % app.host)
    loc = r.header("Location", "")
    cb = "http://%s/.ztgate/callback?code=" % app.host
    check(loc.startswith(cb), "code for %s: %r" % (app.host, loc))
    r = app.get(loc[len("http://" + app.host):])
    eq(r.status, 303, "%s redeems the code" % app.host)
    eq(r.header("Location"), path, "%s: on to the page" % app.host)
    check(session_cookie(app), "%s has its own session cookie" % app.host)
    return r


def test_portal_host_signs_in_app_hosts_and_logout_ends_them(h):
    up_a, up_b = h.upstream("upstream-a"), h.upstream("upstream-b")
    apps = [h.app(up_a, name="a", host="a.test", sensitivity="internal"),
            h.app(up_b, name="b", host="b.test", sensitivity="internal")]
    gw, _, _ = _gateway(h, apps=apps, auth={"portal_host": "auth.test"})
    hp = lambda host: "%s:%d" % (host, gw.port)  # noqa: E731

    def browser():
        portal = Browser(gw.port, host=hp("auth.test"))
        return portal, Browser(gw.port, host=hp("a.test")), Browser(gw.port, host=hp("b.test"))

    portal, app_a, app_b = browser()
    add_user(h, gw, ALICE, PASSWORD, groups=("staff",))
    portal.secret, portal.recovery_codes = None, []
    complete_sign_in(portal, ALICE, PASSWORD)
    for app in (app_a, app_b):
        _via_portal(portal, app, gw.port)
    cookies = [session_cookie(x) for x in (portal, app_a, app_b)]
    values = [list(c.values())[0] for c in cookies]
    eq(len(set(values)), 3, "a distinct session per host")
    uid = _user_id(h, gw, ALICE)
    for app, up in ((app_a, up_a), (app_b, up_b)):
        echo = _echo(_page(app), "%s signed in" % app.host)
        eq(_only(echo, "X-ZT-User", app.host), uid, "%s: X-ZT-User" % app.host)
        eq(_claims(_only(echo, "X-ZT-Assertion", app.host))[1]["aud"],
           "a" if app is app_a else "b", "%s: assertion for its own app" % app.host)
    # Each host's cookie works only there (the portal's too).
    swapped = Browser(gw.port, host=hp("b.test"))
    swapped.cookies = dict(app_a.cookies)
    _refused(swapped, "a.test's cookie on b.test", up_b)
    swapped.cookies = dict(portal.cookies)
    _refused(swapped, "the portal host's cookie on b.test", up_b)

    # A second browser of the same user, signed in separately through the portal.
    portal2, app_a2, _ = browser()
    complete_sign_in(portal2, ALICE, PASSWORD, secret=portal.secret, codes=portal.recovery_codes)
    _via_portal(portal2, app_a2, gw.port)
    eq(_page(app_a2).status, 200, "second browser on a.test")

    # Logout at the portal host ends the sessions made from that portal session.
    r = portal.logout()
    eq(r.status, 303, "logout at the portal host")
    check(not session_cookie(portal), "portal cookie cleared")
    _refused(app_a, "a.test after logout at the portal host", up_a)
    _refused(app_b, "b.test after logout at the portal host", up_b)
    r = portal.get("/.ztgate/login?rd=" + urllib.parse.quote("http://%s/" % hp("a.test"),
                                                              safe=""))
    eq(r.status, 200, "the portal asks for a password again (no single sign-on left)")
    # ... and not the other browser's sessions.
    eq(_page(app_a2).status, 200, "the other browser's a.test session survives")
    eq(portal2.get("/.ztgate/").status, 200, "the other browser's portal page")
    check(ALICE.encode() in portal2.get("/.ztgate/").body, "the other portal session survives")


# ---------------------------------------------------------------------------------------------
# 7. over HTTPS

def _cookie_attrs(v):
    parts = [p.strip() for p in v.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, val = p.partition("=")
        attrs[k.lower()] = val
    return name, value, attrs


def test_https_session_cookie_and_hsts(h):
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    gw, up, _ = _gateway(h, listen=listen)
    b = Browser(gw.tls_port, tls=True)
    r = b.get("/page", [BROWSER])
    eq(r.status, 302, "challenge over HTTPS")
    check(r.header("Strict-Transport-Security"), "HSTS on the sign-in redirect")
    r = b.get("/.ztgate/login")
    check(r.header("Strict-Transport-Security"), "HSTS on the login page")

    b = signed_in_browser(h, gw, ALICE, PASSWORD, tls=True)
    session_sets = [v for v in b.set_cookies if "ztgate_session" in v.split("=", 1)[0]]
    check(len(session_sets) >= 2, "pending and full session cookies set: %r" % session_sets)
    for v in session_sets:
        name, value, attrs = _cookie_attrs(v)
        eq(name, "__Host-ztgate_session", "session cookie name over HTTPS")
        check(len(value) == 43, "43-character session id (%r)" % v)
        for flag in ("secure", "httponly"):
            check(flag in attrs, "%s missing in %r" % (flag, v))
        eq(attrs.get("samesite", "").lower(), "lax", "SameSite in %r" % v)
        eq(attrs.get("path"), "/", "Path in %r" % v)
        check("domain" not in attrs, "no Domain in %r" % v)
        check("max-age" not in attrs and "expires" not in attrs,
              "a browser-session cookie (no Max-Age/Expires) in %r" % v)
    check(not any(k == "ztgate_session" for k in b.cookies), "no plain-HTTP cookie name")
    r = _page(b)
    eq(r.status, 200, "signed in over HTTPS")
    eq(header_values(r.json(), "X-Forwarded-Proto"), ["https"], "the app is told https")
    r = b.get("/.ztgate/")
    check(r.header("Strict-Transport-Security"), "HSTS on the account page")
    check(ALICE.encode() in r.body, "account page over HTTPS")
    r = b.logout()
    eq(r.status, 303, "logout over HTTPS")
    check(r.header("Strict-Transport-Security"), "HSTS on the logout answer")
    cleared = [v for v in b.set_cookies[-3:] if v.startswith("__Host-ztgate_session=")]
    check(cleared, "logout clears the __Host- cookie")
    _, value, attrs = _cookie_attrs(cleared[-1])
    eq(value, "", "cleared value")
    eq(attrs.get("max-age"), "0", "Max-Age=0 on logout")
    check("secure" in attrs and attrs.get("path") == "/" and "domain" not in attrs,
          "the clearing cookie keeps the __Host- rules (%r)" % cleared[-1])
