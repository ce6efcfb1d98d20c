"""A person signs in with Chromium: the app's sign-in redirect, the password form, and the app
behind it (docs/PORTAL.md). Finding 1 of issue 10: Chromium posts ztgate's forms with
`Origin: null` under `Referrer-Policy: no-referrer`, and the portal refused every one."""
from browser import Chromium, make_cert
from harness import check, eq, free_port
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
