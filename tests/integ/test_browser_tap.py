"""A Temporary Access Pass in Chromium, in English and in Japanese: an admin issues a pass with
`ztgate user tap`; the person types it in the password field of the sign-in page, lands on TOTP
enrolment with a notice that the pass only sets up a sign-in method, finds the app still closed,
enrols (the code computed from the key the page shows), is told the pass's session ended, and
signs in with the password and a code. Every page is saved under
BUILD_DIR/browser-shots/tap-*/."""
import json
import re

from browser import Chromium, check_japanese, msg
from harness import check, eq, timeout
from portal_client import _fresh_step, add_user, totp

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
TITLE_IDS = {"login": "PM_TITLE_SIGN_IN", "enrol": "PM_TITLE_ENROL",
             "recovery": "PM_TITLE_RECOVERY", "mfa": "PM_TITLE_MFA"}


def _at(p, lang, page, what):
    eq(p.h1, msg(TITLE_IDS[page], lang), "%s: page title (at %s, status %s)" % (what, p.url,
                                                                                p.status))
    eq(p.lang, lang, "%s: page language" % what)
    if lang == "ja":
        check_japanese(p, TITLE_IDS[page], what)


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _journey(h, locale, lang):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "required", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    r = h.cli("user", "tap", EMAIL, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user tap: " + r.stderr)
    tap = json.loads(r.stdout)["pass"]
    base = "http://app.test:%d" % gw.port
    tab = Chromium(h).context(locale=locale)

    # 1. The sign-in page says where a pass goes; the pass goes in the password field.
    p = tab.goto(base + "/records?id=7", "login")
    _at(p, lang, "login", "the app sends the person to sign in")
    check(msg("PM_LOGIN_TAP_HINT", lang) in p.text, "the sign-in page mentions the pass")
    p = tab.submit("tap-enrol", username=EMAIL, password=tap)
    _at(p, lang, "enrol", "after the pass, TOTP enrolment")
    check(msg("PM_TAP_NOTICE", lang) in p.text, "the notice says what the pass allows")

    # 2. Nothing else: the app asks for sign-in again, the enrolment page is still there.
    p = tab.goto(base + "/records?id=8", "app-refused")
    _at(p, lang, "login", "the app does not take the pass's session")
    eq(up.paths(), [], "nothing reached the app")
    p = tab.goto(base + "/.ztgate/totp", "tap-enrol-again")
    _at(p, lang, "enrol", "back to enrolment")
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    check(re.fullmatch(r"[A-Z2-7]{16,}", secret), "the key shown: %r" % secret)

    # 3. Enrol: the recovery codes, and the pass's session is over.
    p = tab.submit("tap-recovery-codes", code=_code(secret))
    _at(p, lang, "recovery", "recovery codes after enrolment with a pass")
    check(msg("PM_TAP_DONE", lang) in p.text, "the page says to sign in again")
    check(not [c for c in tab.cookies() if "ztgate_session" in c["name"]], "no session cookie")

    # 4. The new method signs in: password, then a code from the app.
    p = tab.click("main a[href^='/.ztgate/login']", "login-after-tap")
    _at(p, lang, "login", "continue: sign in again")
    p = tab.submit("mfa", username=EMAIL, password=PASSWORD)
    _at(p, lang, "mfa", "password, then the code")
    p = tab.submit("app", code=_code(secret))
    eq(p.status, 200, "signed in with the new method")
    p = tab.goto(base + "/records?id=9", "app-open")
    eq(p.status, 200, "the app opens")
    check("/records?id=9" in up.paths(), "the app got the request")

    # 5. The pass worked once: typed again, the one failure notice.
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit(None)
    p = tab.goto(base + "/.ztgate/login", None)
    p = tab.submit("tap-used-up", username=EMAIL, password=tap)
    _at(p, lang, "login", "a used pass: the sign-in form again")
    check(tab.texts(".notice.error"), "an error notice")


@timeout(120)
def test_browser_tap_english(h):
    _journey(h, "en-US", "en")


@timeout(120)
def test_browser_tap_japanese(h):
    _journey(h, "ja-JP", "ja")
