"""Accessibility of the pages a person meets, checked with axe-core (npm, Deque) in Chromium: the
sign-in page, a wrong-password answer, a refusal page and the self-service security page, in
English and Japanese. A serious or critical violation fails the test (browser.py
check_accessible); the console's pages are checked by their own browser tests."""
from browser import Chromium
from harness import eq
from portal_client import add_user

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"


def _gateway(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    return gw


def _walk(h, gw, locale, tag):
    tab = Chromium(h).context(locale=locale)
    base = "http://app.test:%d" % gw.port
    p = tab.goto(base + "/hello", "login-" + tag)
    eq(p.status, 200, "the sign-in page")
    tab.check_accessible("sign-in page (%s)" % tag)
    p = tab.submit("wrong-password-" + tag, username=EMAIL, password="not the password")
    tab.check_accessible("wrong password answer (%s)" % tag)
    p = tab.goto("http://nowhere.test:%d/" % gw.port, "no-app-" + tag)
    eq(p.status, 404, "no app at this host")
    tab.check_accessible("refusal page (%s)" % tag)
    p = tab.goto(base + "/hello", "login-again-" + tag)
    p = tab.submit("signed-in-" + tag, username=EMAIL, password=PASSWORD)
    eq(p.status, 200, "signed in")
    p = tab.goto(base + "/.ztgate/security", "security-" + tag)
    eq(p.status, 200, "the security page")
    tab.check_accessible("security page (%s)" % tag)


def test_browser_portal_pages_accessible(h):
    gw = _gateway(h)
    _walk(h, gw, "en-US", "en")
    _walk(h, gw, "ja-JP", "ja")
