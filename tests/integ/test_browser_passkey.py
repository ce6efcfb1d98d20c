"""Passkeys and security keys as a person uses them, in Chromium with its virtual authenticators
(CDP WebAuthn domain, round2.md §1.12): register from the account page with a platform
authenticator (internal, user verification, resident keys) and a USB CTAP2 key; a USB U2F key
as the second factor on the MFA page; passwordless sign-in; step-up to an app whose policy needs
phishing_resistant_mfa; a cloned credential (a lower sign counter) refused; the phishing proof
(an assertion Chromium made for a look-alike origin, replayed to ztgate, is refused); Case 2 with
passkeys. English and Japanese; screenshots under BUILD_DIR/browser-shots/passkey-*/.

The page side (the script, the CSP of exactly the passkey pages, feature detection on a page
that is no secure context) is tested here too."""
import base64
import http.server
import json
import os
import re
import ssl
import threading
import urllib.parse

from browser import Chromium, check_japanese, make_cert, msg
from harness import check, eq, free_port, get, header_values, timeout
from portal_client import Browser, _fresh_step, add_user, enrol, sign_in, totp

PASSWORD = "correct horse battery staple"
OWNER, ATTACKER_TYPED = "mika@example.test", "mika@example.test"
HOST = "app.test"
EVIL = "app-test.example"  # the look-alike origin (another name, another port)
STRONG = "admins-need-phishing-resistant-mfa"

# Virtual authenticators (CDP WebAuthn.addVirtualAuthenticator options).
PLATFORM = {"protocol": "ctap2", "ctap2Version": "ctap2_1", "transport": "internal",
            "hasResidentKey": True, "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}
USB_CTAP2 = {"protocol": "ctap2", "ctap2Version": "ctap2_1", "transport": "usb",
             "hasResidentKey": True, "hasUserVerification": True, "isUserVerified": True,
             "automaticPresenceSimulation": True}
USB_U2F = {"protocol": "u2f", "transport": "usb", "automaticPresenceSimulation": True}


# ---- set-up ----------------------------------------------------------------------------------

def _gateway(h, policies=(), mfa="required", tls=True):
    """app.test over HTTPS (WebAuthn needs a secure context): the app at / and an admin app at
    /admin (confidential). The RP ID is the portal host, app.test."""
    up = h.upstream()
    listen, spki = None, []
    if tls:
        cert, key, pin = make_cert(h, [HOST, EVIL])
        listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
        spki = [pin]
    apps = [h.app(up, sensitivity="internal"),
            h.app(up, name="admin", path_prefix="/admin", sensitivity="confidential")]
    extra = {"auth": {"mfa": mfa, "argon2_memory": "19MiB", "argon2_passes": 2},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
             "policies": list(policies)}
    gw = h.gateway(h.config(apps, listen=listen, extra=extra))
    base = ("https://%s:%d" % (HOST, gw.tls_port)) if tls else ("http://%s:%d" % (HOST, gw.port))
    return gw, up, base, spki


def _strong_policy():
    return {"name": STRONG, "state": "on", "users": {"include": ["all"]},
            "apps": {"include": ["sensitivity:confidential"]},
            "grant": {"controls": ["phishing_resistant_mfa"]}}


def _authenticator(tab, options):
    """A virtual authenticator on this browser context; its id."""
    tab.cdp("WebAuthn.enable", enableUI=False)
    return tab.cdp("WebAuthn.addVirtualAuthenticator", options=options)["authenticatorId"]


def _credentials(tab, auth_id):
    return tab.cdp("WebAuthn.getCredentials", authenticatorId=auth_id)["credentials"]


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _password_and_totp(tab, base, email, shot, rd="/.ztgate/"):
    """First sign-in of a user: password, then the authenticator app is set up (the code from
    the key shown). Returns the TOTP secret; the browser is fully signed in."""
    tab.goto(base + "/.ztgate/login?rd=" + urllib.parse.quote(rd, safe=""), shot + "-login")
    p = tab.submit(shot + "-totp", username=email, password=PASSWORD)
    check("/.ztgate/totp" in p.url, "after the password, TOTP enrolment: %s" % p.url)
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    tab.submit(shot + "-recovery", code=_code(secret))
    return secret


def _add_passkey(tab, base, name, shot):
    """From the account page: the name, the button; back on the account page, listed."""
    p = tab.goto(base + "/.ztgate/", shot + "-account")
    check(tab.visible(".passkey button") == [True], "the Add a passkey button is shown")
    tab.c.cmd("fill", ctx=tab.name, selector="[data-passkey-name]", value=name)
    p = tab.click(".passkey[data-passkey=register] button", shot + "-added")
    eq(p.url, base + "/.ztgate/", "back on the account page after adding a passkey")
    check(name in tab.texts("ul.passkeys li"), "the new passkey is listed: %s" % p.text[:600])
    return p


def _passkey_sign_in(tab, base, rd, shot):
    """The sign-in page's "Sign in with a passkey" (no user name)."""
    tab.goto(base + "/.ztgate/login?rd=" + urllib.parse.quote(rd, safe=""), shot + "-login")
    return tab.click(".passkey[data-passkey=login] button", shot)


def _signed_in_cookie(tab):
    return [c for c in tab.cookies() if "ztgate_session" in c["name"]]


def _amr(up, path):
    """The amr claim of the X-ZT-Assertion the app got with its request for path."""
    recs = [r for r in up.requests() if r["path"] == path]
    check(recs, "the app got %s" % path)
    jwt = header_values(recs[-1], "X-ZT-Assertion")[0]
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("amr")


def _audit(gw_dir):
    path = os.path.join(gw_dir, "state", "audit", "audit.log")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


# ---- the pages, the script and their CSP (no ceremony needed) ---------------------------------

def _csp(r):
    return r.header("Content-Security-Policy") or ""


@timeout(60)
def test_browser_passkey_script_and_csp(h):
    """passkey.js: text/javascript, nosniff, a strong ETag that answers 304; exactly the
    sign-in, MFA, account and passkey pages get script-src/connect-src 'self'; every other page
    keeps the script-less CSP."""
    gw, up, base, _ = _gateway(h, tls=False, mfa="optional")
    add_user(h, gw, OWNER, PASSWORD)
    r = get(gw.port, "/.ztgate/passkey.js", host=HOST)
    eq(r.status, 200, "the script")
    eq(r.header("Content-Type"), "text/javascript; charset=utf-8", "its type")
    eq(r.header("X-Content-Type-Options"), "nosniff", "nosniff")
    etag = r.header("ETag") or ""
    check(re.fullmatch(r'"[0-9a-f]{32}"', etag), "a strong ETag: %r" % etag)
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "src", "portal", "assets",
                           "passkey.js"), "rb") as f:
        eq(r.body, f.read(), "the body is the file in the tree, byte for byte")
    check(b"navigator.credentials" in r.body, "it runs the ceremonies")
    r2 = get(gw.port, "/.ztgate/passkey.js", host=HOST, headers=[("If-None-Match", etag)])
    eq((r2.status, r2.body), (304, b""), "unchanged: 304 without a body")
    r3 = get(gw.port, "/.ztgate/passkey.js", host=HOST, headers=[("If-None-Match", '"x"')])
    eq(r3.status, 200, "another tag: the file")

    script = "script-src 'self'; connect-src 'self'"
    anon = Browser(gw.port, host=HOST)
    with_script = {"login": anon.get("/.ztgate/login"),
                   "passkey page": anon.get("/.ztgate/passkey")}
    b = Browser(gw.port, host=HOST)
    eq(sign_in(b, OWNER, PASSWORD).status, 303, "password sign-in (MFA optional)")
    with_script["account"] = b.get("/.ztgate/")
    with_script["passkey page, signed in"] = b.get("/.ztgate/passkey?rd=%2Fadmin%2F")
    # The MFA page of a user with an authenticator app and no passkey: no script either.
    eq(b.get("/.ztgate/totp").status, 200, "enrolment page")
    enrol(b)
    c = Browser(gw.port, host=HOST)
    sign_in(c, OWNER, PASSWORD)
    without = {"mfa (no passkey)": c.get("/.ztgate/mfa"),
               "signed-out": anon.get("/.ztgate/signed-out"),
               "logout": b.get("/.ztgate/logout"),
               "password": b.get("/.ztgate/password"),
               "totp": b.get("/.ztgate/totp"),
               "portal 404": anon.get("/.ztgate/nothing-here"),
               "app (proxied)": b.get("/hello")}
    for what, r in with_script.items():
        eq(r.status, 200, what)
        check(script in _csp(r), "%s: CSP allows our script: %s" % (what, _csp(r)))
        check(b'<script src="/.ztgate/passkey.js" defer></script>' in r.body,
              "%s: loads the script" % what)
        check(b"<script>" not in r.body and b"unsafe-inline'; img" in _csp(r).encode()
              and "script-src 'self';" in _csp(r) and "'unsafe-inline' 'self'" not in _csp(r),
              "%s: no inline script allowed" % what)
    eq(without["mfa (no passkey)"].status, 200, "the MFA page")
    check(b'name="code"' in without["mfa (no passkey)"].body, "the MFA page's code form")
    for what, r in without.items():
        check("script-src" not in _csp(r) and "connect-src" not in _csp(r),
              "%s: CSP unchanged (no script): %r" % (what, _csp(r)))
        check(b"passkey.js" not in r.body, "%s: no script loaded" % what)
    check(_csp(without["signed-out"]).startswith("default-src 'none'; style-src"),
          "the ordinary CSP: %s" % _csp(without["signed-out"]))


@timeout(90)
def test_browser_passkey_feature_detection(h):
    """Plain HTTP is no secure context: Chromium has no WebAuthn there, so the passkey button
    stays hidden and the page says why (en, ja); the password form still works."""
    gw, up, base, _ = _gateway(h, tls=False, mfa="optional")
    chromium = Chromium(h)
    for locale, lang in (("en-US", "en"), ("ja-JP", "ja")):
        tab = chromium.context("insecure-" + lang, locale=locale)
        p = tab.goto(base + "/.ztgate/login", "no-webauthn-" + lang)
        eq(tab.visible(".passkey button"), [False], "no passkey button without WebAuthn")
        status = tab.texts(".passkey [role=status]")
        eq(status, [msg("PK_ERR_UNSUPPORTED", lang)], "the page says passkeys cannot work here")
        if lang == "ja":
            check_japanese(p, "PM_TITLE_SIGN_IN", "sign-in page without WebAuthn (ja)")


@timeout(90)
def test_browser_passkey_pages_offer(h):
    """Over HTTPS the sign-in page shows "Sign in with a passkey" (en, ja), with the texts the
    script shows taken from the catalogue in the page's language; the step-up page of an app
    needing phishing-resistant MFA links to the passkey page, which comes back to the app."""
    gw, up, base, spki = _gateway(h)
    chromium = Chromium(h, spki=spki)
    for locale, lang in (("en-US", "en"), ("ja-JP", "ja")):
        tab = chromium.context("offer-" + lang, locale=locale)
        p = tab.goto(base + "/.ztgate/login", "sign-in-page-" + lang)
        eq(tab.visible(".passkey button"), [True], "the passkey button is shown (%s)" % lang)
        eq(tab.texts(".passkey button"), [msg("PK_BUTTON_SIGN_IN", lang)], "its label")
        eq(tab.attr(".passkey", "data-msg-cancelled"), [msg("PK_ERR_CANCELLED", lang)],
           "the script's texts come from the catalogue (%s)" % lang)
        eq(tab.texts("[role=alert]:not([hidden])"), [], "no error before anything happens")
        if lang == "ja":
            check_japanese(p, "PM_TITLE_SIGN_IN", "sign-in page with a passkey (ja)")
        # An authenticator with no passkey for this site: the ceremony ends, and the page says
        # so in its language (role=alert), the button usable again.
        _authenticator(tab, PLATFORM)
        p = tab.click_outcome(".passkey[data-passkey=login] button", "no-passkey-" + lang)
        eq((p.navigated, p.alert), (False, msg("PK_ERR_CANCELLED", lang)),
           "the refusal shown in the page's language")
        if lang == "ja":
            check_japanese(p, "PM_TITLE_SIGN_IN", "sign-in page with the passkey error (ja)")
        eq(tab.attr(".passkey button", "disabled"), [None], "the button can be pressed again")
        p = tab.goto(base + "/.ztgate/passkey?rd=%2Fadmin%2F", "passkey-page-" + lang)
        eq(p.h1, msg("PK_BUTTON_SIGN_IN", lang), "the passkey page, not signed in")
        eq(tab.attr(".passkey", "data-rd"), ["/admin/"], "it leads back to the page asked for")
        if lang == "ja":
            check_japanese(p, "PK_BUTTON_SIGN_IN", "passkey page (ja)")


# ---- ceremonies (need the server side: /.ztgate/webauthn/*) ------------------------------------

def _register_and_sign_in(h, locale, lang, authenticator, name):
    gw, up, base, spki = _gateway(h)
    add_user(h, gw, OWNER, PASSWORD)
    chromium = Chromium(h, spki=spki)
    tab = chromium.context("owner", locale=locale)
    auth_id = _authenticator(tab, authenticator)
    _password_and_totp(tab, base, OWNER, "first")
    p = _add_passkey(tab, base, name, "register")
    if lang == "ja":
        check_japanese(p, "PM_TITLE_ACCOUNT", "account page with a passkey (ja)")
    creds = _credentials(tab, auth_id)
    eq(len(creds), 1, "the authenticator holds one credential")
    eq((creds[0]["rpId"], creds[0]["isResidentCredential"]), (HOST, True),
       "a discoverable credential for the portal host")

    # Passwordless, in a fresh browser session with the same authenticator: no user name.
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit("signed-out")
    check(not _signed_in_cookie(tab), "signed out")
    p = _passkey_sign_in(tab, base, "/records?id=3", "passwordless")
    eq((p.status, p.url), (200, base + "/records?id=3"), "signed in with the passkey alone")
    check("/records?id=3" in up.paths(), "the app got the request")
    check(_signed_in_cookie(tab), "a session cookie")
    # A device-bound passkey (no backup) with user verification: hwk + mfa, no password.
    eq(_amr(up, "/records?id=3"), ["hwk", "mfa"], "the app is told how the person signed in")
    return gw, up, base, chromium, tab, auth_id


@timeout(150)
def test_browser_passkey_platform_english(h):
    """Register with a platform authenticator (internal, UV, resident key) and sign in with it
    without a password (English)."""
    gw, up, base, chromium, tab, auth_id = _register_and_sign_in(
        h, "en-US", "en", PLATFORM, "Laptop")
    recs = [e for e in _audit(h.dir) if "passkey" in json.dumps(e).lower()
            or "webauthn" in json.dumps(e).lower()]
    check(recs, "registration and sign-in are audited")


@timeout(150)
def test_browser_passkey_usb_japanese(h):
    """Register with a USB CTAP2 security key (resident key, PIN/UV) and sign in without a
    password, in Japanese."""
    _register_and_sign_in(h, "ja-JP", "ja", USB_CTAP2, "セキュリティキー")


@timeout(150)
def test_browser_passkey_u2f_second_factor(h):
    """A U2F key cannot hold a discoverable credential, so it is a second factor only: after
    the password, the MFA page offers it beside the code form, and it signs in.

    The registration options demand a resident key (the contract), which a U2F device cannot
    make: registering with the U2F key alone is refused in the page (tested first). So the
    credential is registered through a CTAP2 key and then moved, as a
    non-resident credential (the same id and private key), onto the U2F authenticator: what
    the U2F key then signs (UP only, no UV, U2F-style) is what this test checks."""
    gw, up, base, spki = _gateway(h)
    add_user(h, gw, OWNER, PASSWORD)
    chromium = Chromium(h, spki=spki)
    tab = chromium.context("owner")
    u2f_first = _authenticator(tab, USB_U2F)
    secret = _password_and_totp(tab, base, OWNER, "first")
    # A U2F key alone cannot make the discoverable credential registration asks for.
    tab.goto(base + "/.ztgate/", "u2f-register-account")
    p = tab.click_outcome(".passkey[data-passkey=register] button", "u2f-register-refused",
                          timeout_ms=15000)
    check(not p.navigated and p.alert, "a U2F key cannot register a passkey: %r" % p.alert)
    eq(_credentials(tab, u2f_first), [], "nothing was made")
    tab.cdp("WebAuthn.removeVirtualAuthenticator", authenticatorId=u2f_first)
    ctap = tab.cdp("WebAuthn.addVirtualAuthenticator", options=USB_CTAP2)["authenticatorId"]
    _add_passkey(tab, base, "Old key", "register")
    cred = _credentials(tab, ctap)[0]
    tab.cdp("WebAuthn.removeVirtualAuthenticator", authenticatorId=ctap)
    u2f = tab.cdp("WebAuthn.addVirtualAuthenticator", options=USB_U2F)["authenticatorId"]
    tab.cdp("WebAuthn.addCredential", authenticatorId=u2f,
            credential={"credentialId": cred["credentialId"], "isResidentCredential": False,
                        "rpId": HOST, "privateKey": cred["privateKey"],
                        "signCount": cred["signCount"] + 1})
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit(None)
    tab.goto(base + "/.ztgate/login?rd=%2Fu2f", None)
    p = tab.submit("mfa-page", username=OWNER, password=PASSWORD)
    check("/.ztgate/mfa" in p.url, "after the password: the second factor (%s)" % p.url)
    eq(tab.visible(".passkey[data-passkey=second-factor] button"), [True],
       "the MFA page offers the security key")
    check(tab.attr("input[name=code]", "name"), "and the code form")
    check("script-src 'self'; connect-src 'self'" in (p.csp or ""),
          "the MFA page with a passkey block allows our script: %r" % p.csp)
    p = tab.click(".passkey button", "u2f-signed-in")
    eq((p.status, p.url), (200, base + "/u2f"), "the U2F key is the second factor")
    check("hwk" in _amr(up, "/u2f"), "a hardware key recorded: %r" % _amr(up, "/u2f"))
    eq(_credentials(tab, u2f)[0]["signCount"], cred["signCount"] + 2,
       "the U2F key signed once")
    del secret


@timeout(180)
def test_browser_passkey_step_up(h):
    """An app whose policy needs phishing_resistant_mfa: a password + TOTP session is refused
    and sent to the passkey page; registering (none yet) and using the passkey lets the person
    in, on the page first asked for. English, then Japanese for another person."""
    gw, up, base, spki = _gateway(h, [_strong_policy()])
    chromium = Chromium(h, spki=spki)
    for locale, lang, email in (("en-US", "en", OWNER), ("ja-JP", "ja", "yui@example.test")):
        add_user(h, gw, email, PASSWORD)
        tab = chromium.context(lang, locale=locale)
        _authenticator(tab, PLATFORM)
        _password_and_totp(tab, base, email, "step-up-" + lang, rd="/")
        target = "/admin/panel?lang=" + lang
        p = tab.goto(base + target, "step-up-refused-" + lang)
        check(target not in up.paths(), "password + TOTP: the admin app not reached")
        if "/.ztgate/passkey" not in p.url:
            eq(p.status, 403, "password + TOTP is not phishing-resistant (%s)" % lang)
            if lang == "ja":
                check_japanese(p, "MSG_PASSKEY_TITLE", "the step-up page (ja)")
            links = tab.attr("main a[href*='/.ztgate/passkey']", "href")
            check(links and "rd=" in links[0], "a link to the passkey page: %s" % p.text[:500])
            p = tab.click("main a[href*='/.ztgate/passkey']", "step-up-passkey-page-" + lang)
        eq(p.h1, msg("PK_TITLE_ADD", lang), "no passkey yet: the page offers to add one")
        tab.c.cmd("fill", ctx=tab.name, selector="[data-passkey-name]", value="Phone")
        p = tab.click(".passkey[data-passkey=register] button", "step-up-registered-" + lang)
        eq(p.h1, msg("PK_TITLE_CONFIRM", lang), "then the prompt to use it")
        if lang == "ja":
            check_japanese(p, "PK_TITLE_CONFIRM", "the passkey prompt (ja)")
        p = tab.click(".passkey[data-passkey=second-factor] button", "step-up-done-" + lang)
        eq((p.status, p.url), (200, base + target),
           "the passkey satisfies the policy: the page first asked for")
        check(target in up.paths(), "the admin app got the request")
        eq(_amr(up, target), ["pwd", "otp", "hwk", "mfa"], "the session now records the passkey")


@timeout(150)
def test_browser_passkey_cloned_credential(h):
    """A clone of the credential (same key, a sign counter behind the one the gateway saw) is
    refused with a message, audited, a cloned_credential detection raised; the credential is
    then marked and refused for the original too."""
    gw, up, base, chromium, tab, auth_id = _register_and_sign_in(
        h, "en-US", "en", PLATFORM, "Laptop")
    cred = _credentials(tab, auth_id)[0]
    check(cred["signCount"] >= 1, "the authenticator counts: %r" % cred["signCount"])
    clone = chromium.context("clone", locale="ja-JP")  # the thief's browser is Japanese
    clone_id = _authenticator(clone, PLATFORM)
    clone.cdp("WebAuthn.addCredential", authenticatorId=clone_id,
              credential={"credentialId": cred["credentialId"], "isResidentCredential": True,
                          "rpId": HOST, "privateKey": cred["privateKey"],
                          "userHandle": cred["userHandle"], "signCount": 0})
    clone.goto(base + "/.ztgate/login?rd=%2Fcloned", "clone-login")
    p = clone.click_alert(".passkey[data-passkey=login] button", "clone-refused")
    check(p.alert and p.alert not in (msg("PK_ERR_FAILED", "ja"), msg("PK_ERR_CANCELLED", "ja"))
          and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", p.alert),
          "the server's own refusal, in Japanese: %r" % p.alert)
    check_japanese(p, "PM_TITLE_SIGN_IN", "the refused clone's sign-in page (ja)")
    check(not _signed_in_cookie(clone), "the clone gets no session")
    check("/cloned" not in up.paths(), "the clone reached nothing")
    refused = [e for e in _audit(h.dir) if e.get("status_id") == 2
               and "/.ztgate/webauthn/login/verify" in json.dumps(e)]
    check(refused, "the refusal is an audit record")
    check([e for e in _audit(h.dir) if "cloned_credential" in json.dumps(e)],
          "a cloned_credential detection is raised")
    # A cloned key cannot be told from its original: the credential is marked and refused from
    # then on, whichever copy shows it (the owner registers a new one).
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit(None)
    tab.goto(base + "/.ztgate/login?rd=%2Foriginal", "original-login")
    p = tab.click_outcome(".passkey[data-passkey=login] button", "original-refused-too")
    check(not p.navigated and p.alert, "the marked credential is refused: %r" % p.alert)
    check("/original" not in up.paths(), "nothing reached with the marked credential")


# ---- the phishing proof --------------------------------------------------------------------------

class _LookAlike:
    """https://app-test.example:PORT/ - a look-alike site on another name and port (a
    loopback listener of this test) serving one page."""

    def __init__(self, h, cert, key):
        page = b"<!doctype html><title>Sign in</title><p>Sign in to app.test"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "https://%s:%d/" % (EVIL, self.port)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


_GET_JS = """(async () => {
  const b = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')
                      + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
                      .replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
  const c = await navigator.credentials.get({publicKey: {challenge: b(@CHALLENGE@),
      rpId: @RP@, userVerification: 'required',
      allowCredentials: [{type: 'public-key', id: b(@ID@)}]}});
  return {id: c.id, rawId: u(c.rawId), type: c.type, clientExtensionResults: {},
          response: {clientDataJSON: u(c.response.clientDataJSON),
                     authenticatorData: u(c.response.authenticatorData),
                     signature: u(c.response.signature),
                     userHandle: c.response.userHandle ? u(c.response.userHandle) : undefined}};
})()"""


def _b64u(std_b64):
    return base64.urlsafe_b64encode(base64.b64decode(std_b64)).decode().rstrip("=")


@timeout(180)
def test_browser_passkey_phishing_proof(h):
    """A relay phishing kit: the attacker asks ztgate for a real challenge, serves it on a
    look-alike origin, the victim's Chromium signs it there - even with the very same key (the
    victim's credential copied onto the look-alike RP, the worst case) - and the attacker
    replays the assertion to ztgate. Chromium writes the look-alike origin and RP ID into what
    it signs, so ztgate refuses it; the same steps on the real origin sign in (the control)."""
    gw, up, base, spki = _gateway(h)
    add_user(h, gw, OWNER, PASSWORD)
    cert = h.path("browser-tls.crt")
    key = h.path("browser-tls.key")
    evil = _LookAlike(h, cert, key)
    try:
        chromium = Chromium(h, spki=spki)
        victim = chromium.context("victim")
        auth_id = _authenticator(victim, PLATFORM)
        _password_and_totp(victim, base, OWNER, "victim")
        _add_passkey(victim, base, "Laptop", "victim-register")
        cred = _credentials(victim, auth_id)[0]
        # The worst case: the very same key also answers for the look-alike RP (in a second
        # profile of the victim's browser, so the original stays as it is for the control).
        phished = chromium.context("victim-phished")
        phished_auth = _authenticator(phished, PLATFORM)
        phished.cdp("WebAuthn.addCredential", authenticatorId=phished_auth,
                    credential={"credentialId": cred["credentialId"],
                                "isResidentCredential": True, "rpId": EVIL,
                                "privateKey": cred["privateKey"],
                                "userHandle": cred["userHandle"], "signCount": 100})

        # The attacker's side: a real challenge from ztgate, bound to the attacker's client.
        attacker = Browser(gw.tls_port, host="%s:%d" % (HOST, gw.tls_port), tls=True)
        origin = base
        hdrs = [("Content-Type", "application/json"), ("Origin", origin)]
        r = attacker.post("/.ztgate/webauthn/login/options", None, headers=hdrs, raw=b"{}")
        eq(r.status, 200, "login options for the attacker: %r" % r.body[:300])
        challenge = r.json()["challenge"]

        phished.goto(evil.url, "look-alike-site")
        assertion = phished.evaluate(
            _GET_JS.replace("@CHALLENGE@", json.dumps(challenge)).replace(
                "@RP@", json.dumps(EVIL)).replace("@ID@", json.dumps(_b64u(cred["credentialId"]))))
        client_data = json.loads(base64.urlsafe_b64decode(
            assertion["response"]["clientDataJSON"] + "=="))
        eq((client_data["origin"], client_data["challenge"]),
           ("https://%s:%d" % (EVIL, evil.port), challenge),
           "Chromium signed ztgate's challenge for the look-alike origin")
        eq(assertion["id"], _b64u(cred["credentialId"]), "with the victim's credential id")

        r = attacker.post("/.ztgate/webauthn/login/verify", None, headers=hdrs,
                          raw=json.dumps(assertion).encode())
        eq((r.status, r.json().get("error")), (401, "verification_failed"),
           "the replayed assertion is refused: %r" % r.body[:300])
        check(b'"verified":true' not in r.body, "not verified")
        check(not [c for c in attacker.cookies if "ztgate_session" in c],
              "the attacker has no session")
        refused = [e for e in _audit(h.dir) if e.get("status_id") == 2
                   and "/.ztgate/webauthn/login/verify" in json.dumps(e)]
        check(refused, "the refusal is an audit record")

        check([e for e in refused if "origin" in json.dumps(e).lower()],
              "the audit record says the origin was wrong: %r" % refused[-1:])

        # Control: the very same relay, when the victim's browser is on ztgate's own origin
        # (no phishing), is accepted - so the refusal above is the origin binding, nothing else.
        r = attacker.post("/.ztgate/webauthn/login/options", None, headers=hdrs, raw=b"{}")
        challenge = r.json()["challenge"]
        victim.goto(base + "/.ztgate/login", "real-origin")
        assertion = victim.evaluate(
            _GET_JS.replace("@CHALLENGE@", json.dumps(challenge)).replace(
                "@RP@", json.dumps(HOST)).replace("@ID@", json.dumps(_b64u(cred["credentialId"]))))
        r = attacker.post("/.ztgate/webauthn/login/verify", None, headers=hdrs,
                          raw=json.dumps(assertion).encode())
        eq((r.status, r.json().get("verified")), (200, True),
           "the same steps on the real origin verify: %r" % r.body[:300])
    finally:
        evil.stop()


# ---- Case 2 with passkeys ----------------------------------------------------------------------

@timeout(180)
def test_browser_passkey_case2(h):
    """Case 2 replayed with passkeys: the admin app needs phishing-resistant MFA. The attacker
    has the owner's password and even a TOTP code relayed in real time; they reach the app
    nowhere - not directly, not through the passkey page (their browser holds no credential of
    the owner's), and not by adding a passkey of their own. The owner passes with the passkey."""
    gw, up, base, spki = _gateway(h, [_strong_policy()])
    add_user(h, gw, OWNER, PASSWORD)
    chromium = Chromium(h, spki=spki)
    owner = chromium.context("owner")
    owner_auth = _authenticator(owner, PLATFORM)
    secret = _password_and_totp(owner, base, OWNER, "owner")
    _add_passkey(owner, base, "Owner's laptop", "owner-register")
    owner.goto(base + "/.ztgate/logout", None)
    owner.submit(None)

    attacker = chromium.context("attacker")
    _authenticator(attacker, PLATFORM)  # an authenticator of their own, empty for app.test
    attacker.goto(base + "/.ztgate/login?rd=%2Fadmin%2Fusers", "attacker-login")
    p = attacker.submit("attacker-mfa", username=ATTACKER_TYPED, password=PASSWORD)
    check("/.ztgate/mfa" in p.url, "the password alone: the second factor is asked (%s)" % p.url)
    p = attacker.submit("attacker-relayed-totp", code=_code(secret))
    if p.url != base + "/admin/users":
        p = attacker.goto(base + "/admin/users", "attacker-admin")
    check("/admin/users" not in up.paths(), "password + relayed TOTP: the admin app not reached")
    if "/.ztgate/passkey" not in p.url:
        eq(p.status, 403, "refused: phishing-resistant MFA needed")
        p = attacker.click("main a[href*='/.ztgate/passkey']", "attacker-passkey-page")
    eq(p.h1, msg("PK_TITLE_CONFIRM"), "the owner has a passkey: the page asks for it")
    p = attacker.click_outcome(".passkey[data-passkey=second-factor] button",
                               "attacker-no-credential")
    check(not p.navigated and p.alert, "the attacker's browser cannot answer: %r" % p.alert)
    # Adding a passkey of their own from the account page must not open the door.
    attacker.goto(base + "/.ztgate/", "attacker-account")
    attacker.c.cmd("fill", ctx=attacker.name, selector="[data-passkey-name]", value="mine")
    added = attacker.click_outcome(".passkey[data-passkey=register] button",
                                   "attacker-add-own").navigated
    p = attacker.goto(base + "/admin/users", "attacker-admin-again")
    if "/.ztgate/passkey" not in p.url and attacker.attr("main a[href*='/.ztgate/passkey']",
                                                          "href"):
        p = attacker.click("main a[href*='/.ztgate/passkey']", "attacker-passkey-page-again")
    if attacker.visible(".passkey[data-passkey=second-factor] button") == [True]:
        attacker.click_outcome(".passkey[data-passkey=second-factor] button",
                               "attacker-own-passkey")
    attacker_in = "/admin/users" in up.paths()

    # The owner: passkey sign-in, straight to the admin app.
    p = _passkey_sign_in(owner, base, "/admin/owner", "owner-passkey")
    eq((p.status, p.url), (200, base + "/admin/owner"), "the owner passes with the passkey")
    check("/admin/owner" in up.paths(), "the admin app got the owner's request")
    del owner_auth

    check(not attacker_in,
          "the attacker never reaches the admin app (own passkey added: %s)" % added)
    check(not added, "a password (+ relayed TOTP) session cannot add a passkey to an account "
          "that has one")


@timeout(60)
def test_browser_passkey_off(h):
    """auth.passkeys: false - no page offers a passkey or loads the script, the CSP stays
    script-less everywhere, and the script and the passkey page are 404."""
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "passkeys": False,
                                            "argon2_memory": "19MiB", "argon2_passes": 2}}))
    add_user(h, gw, OWNER, PASSWORD)
    b = Browser(gw.port, host=HOST)
    pages = {"login": b.get("/.ztgate/login")}
    sign_in(b, OWNER, PASSWORD)
    pages["account"] = b.get("/.ztgate/")
    for what, r in pages.items():
        eq(r.status, 200, what)
        check("script-src" not in _csp(r), "%s: no script in the CSP: %s" % (what, _csp(r)))
        body = r.body.split(b"<body>", 1)[1]
        check(b"data-passkey" not in body and b"passkey.js" not in body,
              "%s: no passkey offered" % what)
    for path in ("/.ztgate/passkey.js", "/.ztgate/passkey"):
        eq(b.get(path).status, 404, path + " with passkeys off")


@timeout(150)
def test_browser_passkey_only_user(h):
    """A user whose second factor is a passkey (no authenticator app; MFA optional here, so the
    first sign-in needed only the password): after the password the MFA page asks for the
    passkey - the password alone no longer signs in, and it cannot enrol an authenticator app
    in its place. The owner passes with the passkey, after the password or without it."""
    gw, up, base, spki = _gateway(h, mfa="optional")
    add_user(h, gw, OWNER, PASSWORD)
    chromium = Chromium(h, spki=spki)
    owner = chromium.context("owner")
    _authenticator(owner, PLATFORM)
    owner.goto(base + "/.ztgate/login", "owner-login")
    p = owner.submit("owner-account", username=OWNER, password=PASSWORD)
    eq(p.url, base + "/.ztgate/", "MFA optional, no second factor yet: the password signs in")
    _add_passkey(owner, base, "Phone", "owner-register")

    attacker = chromium.context("attacker")
    attacker.goto(base + "/.ztgate/login?rd=%2Fmail", "attacker-login")
    p = attacker.submit("attacker-after-password", username=OWNER, password=PASSWORD)
    check("/.ztgate/mfa" in p.url, "the password alone: the passkey is asked (%s)" % p.url)
    eq(attacker.attr("input[name=code]", "name"), [], "no code form: there is no app to ask")
    eq(attacker.visible(".passkey[data-passkey=second-factor] button"), [True],
       "the passkey button")
    p = attacker.goto(base + "/.ztgate/totp", "attacker-enrol-totp")
    check("/.ztgate/mfa" in p.url, "no authenticator app enrolled on a password alone: %s" % p.url)
    p = attacker.goto(base + "/mail", "attacker-app")
    check("/mail" not in up.paths(), "the password alone reaches nothing")

    # The owner: password then passkey; and passkey alone.
    owner.goto(base + "/.ztgate/logout", None)
    owner.submit(None)
    owner.goto(base + "/.ztgate/login?rd=%2Fmail", None)
    p = owner.submit("owner-after-password", username=OWNER, password=PASSWORD)
    check("/.ztgate/mfa" in p.url, "the owner too is asked for the passkey (%s)" % p.url)
    p = owner.click(".passkey[data-passkey=second-factor] button", "owner-in")
    eq((p.status, p.url), (200, base + "/mail"), "password + passkey")
    eq(_amr(up, "/mail"), ["pwd", "hwk", "mfa"], "amr: password and a hardware key")
    # With a passkey session the authenticator app can still be added.
    p = owner.goto(base + "/.ztgate/totp", "owner-enrol-totp")
    eq(p.h1, msg("PM_TITLE_ENROL"), "a passkey-verified session may add an authenticator app")


def _tap_to_passkey(h, locale, lang):
    """A first-day user (or one who lost their phone) gets a Temporary Access Pass from the help
    desk, types it in the password field, chooses "Add a passkey" instead of the authenticator
    app, adds one, is sent to sign in, and signs in with the passkey alone; the pass is spent.
    With auth.passkey_registration: tap, the pass is the only way to a first passkey."""
    gw, up, base, spki = _gateway(h)
    add_user(h, gw, OWNER, PASSWORD)
    r = h.cli("user", "tap", OWNER, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user tap: " + r.stderr)
    tap = json.loads(r.stdout)["pass"]
    chromium = Chromium(h, spki=spki, name="passkey-tap-" + lang)
    tab = chromium.context("owner", locale=locale)
    auth_id = _authenticator(tab, PLATFORM)
    tab.goto(base + "/.ztgate/login", "login")
    p = tab.submit("pass-signed-in", username=OWNER, password=tap)
    check("/.ztgate/totp" in p.url, "the pass leads to setting up a method: %s" % p.url)
    p = tab.click("main a[href='/.ztgate/passkey']", "add-passkey-page")
    eq(p.h1, msg("PK_TITLE_ADD", lang), "the add-a-passkey page")
    if lang == "ja":
        check_japanese(p, "PK_TITLE_ADD", "add-a-passkey page (ja)")
    tab.c.cmd("fill", ctx=tab.name, selector="[data-passkey-name]", value="Work laptop")
    p = tab.click(".passkey[data-passkey=register] button", "added-to-sign-in")
    check("/.ztgate/login" in p.url, "after adding it, sign in with it: %s" % p.url)
    check(not _signed_in_cookie(tab), "the pass's session ended")
    eq(len(_credentials(tab, auth_id)), 1, "the authenticator holds the new passkey")
    p = _passkey_sign_in(tab, base, "/day-one", "passwordless")
    eq((p.status, p.url), (200, base + "/day-one"), "signed in with the new passkey")
    eq(_amr(up, "/day-one"), ["hwk", "mfa"], "a passkey sign-in")
    # The pass was for one use: it signs in no more.
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit("signed-out")
    tab.goto(base + "/.ztgate/login", "login-again")
    p = tab.submit("pass-spent", username=OWNER, password=tap)
    check("/.ztgate/login" in p.url and not _signed_in_cookie(tab), "the spent pass is refused")


@timeout(150)
def test_browser_passkey_tap_english(h):
    _tap_to_passkey(h, "en-US", "en")


@timeout(150)
def test_browser_passkey_tap_japanese(h):
    _tap_to_passkey(h, "ja-JP", "ja")
