"""A person signs in with Chromium: the app's sign-in redirect, the password form, and the app
behind it (docs/PORTAL.md). Finding 1 of issue 10: Chromium posts ztgate's forms with
`Origin: null` under `Referrer-Policy: no-referrer`, and the portal refused every one."""
import re

from browser import Chromium, check_japanese, make_cert, msg
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
    eq(p.status, 200, "the Japanese sign-in page")
    check_japanese(p, "PM_TITLE_SIGN_IN", "the Japanese sign-in page")
    p = tab.submit("after-password-ja", username=EMAIL, password=PASSWORD)
    sent = tab.posts()[-1]["headers"]
    check("Request refused" not in p.text and "拒否" not in p.text,
          "the sign-in form is accepted: %s\n(the browser sent Origin: %s, Sec-Fetch-Site: %s)"
          % (p.text[:300], sent.get("origin"), sent.get("sec-fetch-site")))
    eq(sent.get("origin"), base, "Chromium names the page's origin in the form post")
    eq((p.status, p.url), (200, base + "/hello"), "the app answers at the page asked for")


def _wait_seconds(tab, lang):
    """The number of seconds the wait notice asks for (en: "Please wait N seconds", ja:
    "N 秒待って"), read from the notice the person sees."""
    notices = tab.texts(".notice.error")
    before = msg("PM_WAIT_BEFORE", lang)
    after = msg("PM_WAIT_AFTER", lang).strip().split()[0]
    for text in notices:
        m = re.search(re.escape(before.strip()) + r"\s*(\d+)\s*" + re.escape(after), text)
        if m:
            return int(m.group(1))
    raise AssertionError("no wait notice in %s: %r" % (lang, notices))


@timeout(120)
def test_browser_sign_in_throttled(h):
    """Too many wrong passwords from one network: the sign-in form comes back with 429, says in
    the person's language how many seconds to wait, and keeps the e-mail typed; the right
    password is refused until the window passes. A plain wrong password keeps the e-mail too."""
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra={"auth": {
        "mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
        "source_failures_per_minute": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    chromium = Chromium(h)
    base = "http://app.test:%d" % gw.port
    tab = chromium.context("en")
    tab.goto(base + "/hello", "sign-in")
    for i in range(2):
        p = tab.submit("wrong-password-%d" % (i + 1), username=EMAIL, password="wrong %d" % i)
        eq((p.status, p.h1), (200, msg("PM_TITLE_SIGN_IN")), "a wrong password: the form again")
        eq(tab.texts(".notice.error"), [msg("PM_ERR_SIGN_IN")], "the error is shown")
        eq(tab.value("input[name=username]"), EMAIL, "a wrong password keeps the e-mail")
        eq(tab.value("input[name=password]"), "", "but not the password")
    p = tab.submit("throttled", username=EMAIL, password=PASSWORD)
    eq((p.status, p.h1), (429, msg("PM_TITLE_SIGN_IN")),
       "over the limit, even the right password: the form again, with 429")
    wait = _wait_seconds(tab, "en")
    check(1 <= wait <= 61, "a wait within the window (61 one-second slots): %d s" % wait)
    check(re.search(r"Please wait %d seconds?, then try again" % wait, p.text),
          "the sentence reads right: %s" % p.text[:300])
    eq(tab.value("input[name=username]"), EMAIL, "the throttled form keeps the e-mail")
    check("/.ztgate/login" in p.url, "still at the sign-in page: %s" % p.url)

    ja = chromium.context("ja", locale="ja-JP")
    p = ja.goto(base + "/hello", "sign-in-ja")
    check_japanese(p, "PM_TITLE_SIGN_IN", "the Japanese sign-in page")
    p = ja.submit("throttled-ja", username=EMAIL, password=PASSWORD)
    eq(p.status, 429, "throttled in Japanese too")
    check_japanese(p, "PM_TITLE_SIGN_IN", "the throttled Japanese sign-in form")
    wait = _wait_seconds(ja, "ja")
    check(1 <= wait <= 61, "a wait within the window (61 one-second slots): %d 秒" % wait)
    check("%d 秒待って" % wait in p.text, "the Japanese sentence: %s" % p.text[:300])
    eq(ja.value("input[name=username]"), EMAIL, "the Japanese form keeps the e-mail")
    check(not [c for c in tab.cookies() + ja.cookies() if "ztgate_session" in c["name"]],
          "no session while throttled")
    eq([x for x in up.paths() if x != "/favicon.ico"], [], "nothing reached the app")
