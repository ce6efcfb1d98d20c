"""Sign-in portal under /.ztgate/: password sign-in, TOTP enrolment and MFA, identical failure
pages, CSRF, form limits, replayed codes, logout, open redirects, Japanese pages, JWKS."""
import time
import urllib.parse

from harness import APP_HOST, check, eq, get
from portal_client import (EMAIL, FORM, PASSWORD, Browser, add_user, enrol, mfa,  # noqa: F401
                           session_cookie, sign_in, totp)


# ---------------------------------------------------------------------------------------------
# helpers (the reusable client is in portal_client.py)

def gateway(h, auth=None):
    up = h.upstream()
    a = {"argon2_passes": 2, "argon2_memory": "19MiB"}
    a.update(auth or {})
    gw = h.gateway(h.config([h.app(up)], extra={"auth": a}))
    return gw, up


# ---------------------------------------------------------------------------------------------
# tests

def test_portal_sign_in_enrol_and_mfa(h):
    gw, up = gateway(h)
    add_user(h, gw)
    b = Browser(gw.port)
    r = sign_in(b, rd="/hello")
    eq(r.status, 303, "password accepted")
    check(r.header("Location").startswith("/.ztgate/totp"), "enrolment next: %r" % r.header("Location"))
    pending = session_cookie(b)
    check(pending, "a pending session cookie was set")
    secret, codes, r = enrol(b)
    check(session_cookie(b) != pending, "a new session id after the second factor")
    r = b.get("/.ztgate/")
    eq(r.status, 200, "account page")
    check(EMAIL.encode() in r.body, "account page names the user")

    # sign in again: now the MFA page, with the next time step's code
    b2 = Browser(gw.port)
    r = sign_in(b2, rd="/hello")
    eq(r.status, 303, "password accepted")
    check(r.header("Location").startswith("/.ztgate/mfa"), "MFA next: %r" % r.header("Location"))
    code = totp(secret, step_offset=1)
    r = mfa(b2, code)
    eq(r.status, 303, "MFA accepted")
    eq(r.header("Location"), "/.ztgate/", "rd is kept through the flow (form field) or default")

    # the same code once more (another sign-in): a replay, refused
    b3 = Browser(gw.port)
    eq(sign_in(b3).status, 303, "password accepted")
    r = mfa(b3, code)
    eq(r.status, 200, "replayed code gets the form again")
    check(b"notice error" in r.body, "replayed TOTP refused")

    # a recovery code works once
    r = mfa(b3, codes[0])
    eq(r.status, 303, "recovery code accepted")
    b4 = Browser(gw.port)
    eq(sign_in(b4).status, 303, "password accepted")
    r = mfa(b4, codes[0])
    eq(r.status, 200, "used recovery code refused")


def test_portal_failures_are_identical(h):
    gw, up = gateway(h, {"mfa": "optional"})
    add_user(h, gw)
    add_user(h, gw, "nopass-disabled@example.test", "another long password 1")
    r = h.cli("user", "disable", "nopass-disabled@example.test", "--config", gw.config_path)
    eq(r.returncode, 0, "user disable")
    b = Browser(gw.port)
    tok, _ = b.csrf("/.ztgate/login")
    answers = []
    for user, pw in ((EMAIL, "wrong password here"), ("nobody@example.test", PASSWORD),
                     ("nopass-disabled@example.test", "another long password 1")):
        t0 = time.monotonic()
        r = b.post("/.ztgate/login", {"username": user, "password": pw, "csrf_token": tok})
        answers.append((r, time.monotonic() - t0))
    first = answers[0][0]
    eq(first.status, 200, "failure status")
    # The form keeps the e-mail each one typed; apart from that the bodies are the same.
    same = lambda r, user: r.body.replace(('value="%s"' % user).encode(), b'value=""')  # noqa
    users = [EMAIL, "nobody@example.test", "nopass-disabled@example.test"]
    for (r, _), user in zip(answers[1:], users[1:]):
        eq(r.status, first.status, "same status")
        check(('value="%s"' % user).encode() in r.body, "the e-mail typed is kept")
        eq(same(r, user), same(first, users[0]), "same failure body")
        names = lambda x: sorted(n.lower() for n, _ in x.headers if n.lower() != "x-request-id")
        eq(names(r), names(first), "same header names")
    check(not session_cookie(b), "no session after failures")
    # and the right password still works
    r = b.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD, "csrf_token": tok})
    eq(r.status, 303, "good password")


def test_portal_csrf(h):
    gw, up = gateway(h)
    add_user(h, gw)
    b = Browser(gw.port)
    fields = {"username": EMAIL, "password": PASSWORD, "csrf_token": "x" * 43}
    eq(b.post("/.ztgate/login", fields).status, 403, "no CSRF cookie")
    tok, _ = b.csrf("/.ztgate/login")
    eq(b.post("/.ztgate/login", fields).status, 403, "wrong token")
    eq(b.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD}).status, 403,
       "missing token")
    fields["csrf_token"] = tok
    r = b.post("/.ztgate/login", fields, headers=(FORM, ("Origin", "https://evil.test")))
    eq(r.status, 403, "foreign Origin")
    # What browsers send (docs/PORTAL.md, CSRF): Origin "null" only with Sec-Fetch-Site:
    # same-origin, and a Sec-Fetch-Site other than same-origin/none refuses whatever the Origin.
    own = "http://" + APP_HOST  # the Host header this client sends
    for hs, what in (((("Origin", "null"),), "Origin null without Fetch metadata"),
                     ((("Origin", "null"), ("Sec-Fetch-Site", "cross-site")),
                      "Origin null from a cross-site (sandboxed or data:) page"),
                     ((("Origin", "null"), ("Sec-Fetch-Site", "same-site")),
                      "Origin null from a same-site page"),
                     ((("Origin", own), ("Sec-Fetch-Site", "cross-site")),
                      "own Origin but the browser says cross-site"),
                     ((("Sec-Fetch-Site", "same-site"),), "same-site, no Origin"),
                     ((("Origin", "http://app.test:1"),), "another port")):
        eq(b.post("/.ztgate/login", fields, headers=(FORM,) + hs).status, 403, what)
    logout_tok, _ = b.csrf("/.ztgate/logout")
    eq(b.post("/.ztgate/login", dict(fields, csrf_token=logout_tok)).status, 403,
       "a token of another form")
    r = b.post("/.ztgate/login", fields,
               headers=(FORM, ("Origin", "null"), ("Sec-Fetch-Site", "same-origin")))
    eq(r.status, 303, "Origin null from a page of this origin (a no-referrer browser setting)")
    b.cookies = {k: v for k, v in b.cookies.items() if "session" not in k}
    r = b.post("/.ztgate/login", fields, headers=(FORM, ("Origin", own),
                                                  ("Sec-Fetch-Site", "same-origin")))
    eq(r.status, 303, "this origin, as Chromium sends it")
    eq(b.post("/.ztgate/login", fields).status, 303, "right token")


def test_portal_form_limits(h):
    gw, up = gateway(h)
    b = Browser(gw.port)
    tok, _ = b.csrf("/.ztgate/login")
    base = {"username": EMAIL, "csrf_token": tok}
    eq(b.post("/.ztgate/login", dict(base, password="p" * 1025)).status, 400, "password > 1024")
    eq(b.post("/.ztgate/login", dict(base, password="x", rd="/" + "a" * 4096)).status, 400,
       "field > 4096")
    raw = ("username=a&username=b&password=x&csrf_token=%s" % tok).encode()
    eq(b.post("/.ztgate/login", None, raw=raw).status, 400, "duplicate field")
    raw = ("username=a%zz&password=x&csrf_token=" + tok).encode()
    eq(b.post("/.ztgate/login", None, raw=raw).status, 400, "bad escape")
    eq(b.post("/.ztgate/login", dict(base, password="x"),
              headers=(("Content-Type", "application/json"),)).status, 415, "not a form")
    eq(b.get("/.ztgate/nope").status, 404, "unknown portal page")
    r = b.post("/.ztgate/jwks.json", {"a": "b"})
    eq(r.status, 405, "POST to a GET page")
    check(r.header("Allow"), "405 names the allowed methods")


def test_portal_logout_kills_session(h):
    gw, up = gateway(h, {"mfa": "optional"})
    add_user(h, gw)
    b = Browser(gw.port)
    eq(sign_in(b).status, 303, "signed in")
    cookies = dict(b.cookies)
    check(EMAIL.encode() in b.get("/.ztgate/").body, "signed in")
    tok, _ = b.csrf("/.ztgate/logout")
    r = b.post("/.ztgate/logout", {"csrf_token": tok})
    eq(r.status, 303, "logout")
    eq(r.header("Location"), "/.ztgate/signed-out", "signed-out page next")
    check(not session_cookie(b), "session cookie cleared")
    old = Browser(gw.port)
    old.cookies = cookies
    r = old.get("/.ztgate/")
    check(EMAIL.encode() not in r.body, "the old cookie no longer works")
    eq(b.get("/.ztgate/signed-out").status, 200, "signed-out page")


OPEN_REDIRECTS = [
    "//evil.test", "/\\evil.test", "\\/evil.test", "https:evil.test", "https:/evil.test",
    "http://evil.test", "HTTPS://EVIL.TEST", "//evil.test%2f", "%2f%2fevil.test", "/%5cevil.test",
    "http://app.test@evil.test", "http://evil.test#@app.test", "http://evil.test\\@app.test",
    "http://app.test.evil.test", "javascript:alert(1)", "data:text/html,x", "/\t/evil.test",
    "https://app\u3002test/", "https://xn--pp-wka.test/", "JaVaScRiPt:alert(1)",
]


def test_portal_open_redirects_end_at_default(h):
    gw, up = gateway(h, {"mfa": "optional"})
    add_user(h, gw)
    b = Browser(gw.port)
    r = sign_in(b, rd="//evil.test")
    eq(r.status, 303, "signed in")
    eq(r.header("Location"), "/.ztgate/", "bad rd at sign-in")
    for rd in OPEN_REDIRECTS:
        q = urllib.parse.quote(rd, safe="")
        r = b.get("/.ztgate/login?rd=" + q)
        eq(r.status, 303, "signed-in browser is sent on (%r)" % rd)
        eq(r.header("Location"), "/.ztgate/", "rd %r" % rd)
    r = b.get("/.ztgate/login?rd=%2Fhello%3Fx%3D1")
    eq(r.header("Location"), "/hello?x=1", "a good relative rd")
    r = b.get("/.ztgate/login?rd=" + urllib.parse.quote("http://app.test/x", safe=""))
    eq(r.header("Location"), "http://app.test/x", "a good absolute rd on this host")
    r = b.get("/.ztgate/callback?code=bogus&rd=%2F")
    eq(r.status, 400, "bad one-time code")


def test_portal_japanese(h):
    gw, up = gateway(h)
    b = Browser(gw.port, lang="ja,en;q=0.5")
    r = b.get("/.ztgate/login")
    eq(r.status, 200, "login page")
    check(b'<html lang="ja">' in r.body, "lang attribute")
    check("サインイン".encode() in r.body, "Japanese text")
    check(b'name="username"' in r.body and b'name="password"' in r.body, "field names")
    eq(r.header("Cache-Control"), "no-store", "no caching of portal pages")
    # same-origin, not no-referrer: browsers then send the page's Origin with its forms.
    eq(r.header("Referrer-Policy"), "same-origin", "referrer policy")
    check("frame-ancestors 'none'" in (r.header("Content-Security-Policy") or ""), "CSP")
    r = Browser(gw.port).get("/.ztgate/login")
    check(b'<html lang="en">' in r.body and b"Sign in" in r.body, "English by default")


def test_portal_jwks(h):
    gw, up = gateway(h)
    r = get(gw.port, "/.ztgate/jwks.json")
    eq(r.status, 200, "JWKS")
    check(r.header("Content-Type", "").startswith("application/json"), "JSON")
    check("max-age=300" in r.header("Cache-Control", ""), "cacheable for 5 minutes")
    check(r.json()["keys"], "at least one key")


def test_portal_central_sign_in(h):
    gw, up = gateway(h, {"mfa": "optional", "portal_host": "portal.test"})
    add_user(h, gw)
    hp = "%s:%d" % (APP_HOST, gw.port)
    app = Browser(gw.port, host=hp)
    r = app.get("/.ztgate/login?rd=%2Fhello")
    eq(r.status, 303, "app host sends sign-in to the portal host")
    eq(r.header("Location"), "http://portal.test:%d/.ztgate/login?rd=%%2Fhello" % gw.port,
       "same scheme and port")
    portal = Browser(gw.port, host="portal.test:%d" % gw.port)
    r = sign_in(portal, rd="http://%s/hello?x=1" % hp)
    eq(r.status, 303, "signed in on the portal host")
    loc = r.header("Location")
    prefix = "http://%s/.ztgate/callback?code=" % hp
    check(loc.startswith(prefix), "one-time code to the app host: %r" % loc)
    check(loc.endswith("&rd=/hello%3Fx%3D1"), "rd is the path and query: %r" % loc)
    r = app.get(loc[len("http://" + hp):])
    eq(r.status, 303, "code redeemed")
    eq(r.header("Location"), "/hello?x=1", "on to the path")
    check(session_cookie(app), "the app host has its own session cookie")
    eq(app.get(loc[len("http://" + hp):]).status, 400, "a code works once")
    # single sign-on: the portal session sends the browser straight on
    r = portal.get("/.ztgate/login?rd=" + urllib.parse.quote("http://%s/" % hp, safe=""))
    eq(r.status, 303, "SSO redirect")
    check(r.header("Location").startswith(prefix), "a fresh code")
