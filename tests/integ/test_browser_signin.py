"""A person signs in with Chromium: the app's sign-in redirect, the password form, and the app
behind it (docs/PORTAL.md). Finding 1 of issue 10: Chromium posts ztgate's forms with
`Origin: null` under `Referrer-Policy: no-referrer`, and the portal refused every one."""
from browser import Chromium, make_cert
from harness import check, eq, free_port, timeout
from portal_client import add_user

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"


def test_browser_sign_in_http(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    tab = Chromium(h).context()
    base = "http://app.test:%d" % gw.port
    p = tab.goto(base + "/hello", "login")
    eq(p.status, 200, "the sign-in page")
    check(p.url.startswith(base + "/.ztgate/login"), "the app sends a person to sign in: %s" % p.url)
    p = tab.submit("after-password", username=EMAIL, password=PASSWORD)
    sent = tab.posts()[-1]["headers"]
    check("Request refused" not in p.text,
          "the sign-in form is accepted: %s\n(the browser sent Origin: %s, Sec-Fetch-Site: %s)"
          % (p.text[:300], sent.get("origin"), sent.get("sec-fetch-site")))
    eq(sent.get("origin"), base, "Chromium names the page's origin in the form post")
    eq(p.status, 200, "the app answers")
    eq(p.url, base + "/hello", "back at the page asked for")


def test_browser_sign_in_https_japanese(h):
    cert, key, spki = make_cert(h, ["app.test"])
    up = h.upstream()
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], listen=listen,
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    tab = Chromium(h, spki=[spki]).context(locale="ja-JP")
    base = "https://app.test:%d" % gw.tls_port
    p = tab.goto(base + "/hello", "login-ja")
    eq((p.status, p.lang), (200, "ja"), "the Japanese sign-in page")
    check("サインイン" in p.text, "Japanese text: %s" % p.text[:200])
    p = tab.submit("after-password-ja", username=EMAIL, password=PASSWORD)
    sent = tab.posts()[-1]["headers"]
    check("Request refused" not in p.text and "拒否" not in p.text,
          "the sign-in form is accepted: %s\n(the browser sent Origin: %s, Sec-Fetch-Site: %s)"
          % (p.text[:300], sent.get("origin"), sent.get("sec-fetch-site")))
    eq(sent.get("origin"), base, "Chromium names the page's origin in the form post")
    eq((p.status, p.url), (200, base + "/hello"), "the app answers at the page asked for")


@timeout(120)
def test_browser_sign_in_throttled(h):
    """Too many wrong passwords from one network: the person gets the "Too many attempts" page
    in their language, and the right password is refused until the window passes. (Issue 10,
    finding 7 / area 7 will add: how long to wait, and the e-mail kept in the form.)"""
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra={"auth": {
        "mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
        "source_failures_per_minute": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    chromium = Chromium(h)
    base = "http://app.test:%d" % gw.port
    tab = chromium.context("en")
    tab.goto(base + "/hello", None)
    for i in range(2):
        p = tab.submit("wrong-password-%d" % (i + 1), username=EMAIL, password="wrong %d" % i)
        eq((p.status, p.h1), (200, "Sign in"), "a wrong password: the form again")
        check(tab.texts(".notice.error"), "the error is shown")
    p = tab.submit("throttled", username=EMAIL, password=PASSWORD)
    eq((p.status, p.h1), (429, "Too many attempts"), "over the limit, even the right password")
    check("Wait" in p.text, "the page says to wait: %s" % p.text[:300])
    ja = chromium.context("ja", locale="ja-JP")
    p = ja.goto(base + "/.ztgate/login", None)
    p = ja.submit("throttled-ja", username=EMAIL, password=PASSWORD)
    eq((p.status, p.h1, p.lang), (429, "試行回数が多すぎます", "ja"), "the Japanese page")
    check(not [c for c in tab.cookies() + ja.cookies() if "ztgate_session" in c["name"]],
          "no session while throttled")
    eq([x for x in up.paths() if x != "/favicon.ico"], [], "nothing reached the app")
