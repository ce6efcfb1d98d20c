"""A person's whole account life in Chromium, in English over HTTP and in Japanese over HTTPS:
first sign-in, TOTP enrolment (the code computed from the key the page shows, as an
authenticator app does), the recovery codes, the account page, a password change, sign-out,
sign-in with a TOTP code, sign-in with a recovery code, a wrong code, setting the authenticator
up again. Every page is saved under
BUILD_DIR/browser-shots/mfa-*/."""
import re

from browser import Chromium, check_japanese, make_cert
from harness import check, eq, free_port, timeout
from portal_client import _fresh_step, add_user, totp

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase for alice"

# Page titles (h1) a person sees, per language (src/core/i18n.h).
TITLES = {
    "en": {"login": "Sign in", "enrol": "Set up two-step verification",
           "recovery": "Save your recovery codes", "account": "Your account",
           "password": "Change password", "changed": "Password changed", "logout": "Sign out",
           "signed_out": "You are signed out", "mfa": "Verification code"},
    "ja": {"login": "サインイン", "enrol": "2 段階認証の設定",
           "recovery": "回復コードを保存してください", "account": "アカウント",
           "password": "パスワードの変更", "changed": "パスワードを変更しました",
           "logout": "サインアウト", "signed_out": "サインアウトしました", "mfa": "確認コード"},
}


def _gateway(h, tls):
    up = h.upstream()
    auth = {"mfa": "required", "argon2_memory": "19MiB", "argon2_passes": 2}
    listen, spki = None, []
    if tls:
        cert, key, pin = make_cert(h, ["app.test"])
        listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
        spki = [pin]
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], listen=listen,
                            extra={"auth": auth}))
    add_user(h, gw, EMAIL, PASSWORD)
    base = ("https://app.test:%d" % gw.tls_port) if tls else ("http://app.test:%d" % gw.port)
    return gw, up, base, spki


# The catalogue ids of those titles (src/core/i18n.h).
TITLE_IDS = {"login": "PM_TITLE_SIGN_IN", "enrol": "PM_TITLE_ENROL",
             "recovery": "PM_TITLE_RECOVERY", "account": "PM_TITLE_ACCOUNT",
             "password": "PM_TITLE_PASSWORD", "changed": "PM_TITLE_PASSWORD_CHANGED",
             "logout": "PM_TITLE_LOGOUT", "signed_out": "PM_TITLE_SIGNED_OUT",
             "mfa": "PM_TITLE_MFA"}


def _at(p, lang, page, what):
    eq(p.h1, TITLES[lang][page], "%s: page title (at %s, status %s)" % (what, p.url, p.status))
    eq(p.lang, lang, "%s: page language" % what)
    if lang == "ja":
        check_japanese(p, TITLE_IDS[page], what)


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _journey(h, tls, locale, lang):
    gw, up, base, spki = _gateway(h, tls)
    tab = Chromium(h, spki=spki).context(locale=locale)

    # 1. The app asks for sign-in; the password is right; enrolment comes next.
    p = tab.goto(base + "/records?id=7", "login")
    _at(p, lang, "login", "the app sends the person to sign in")
    p = tab.submit("totp-enrol", username=EMAIL, password=PASSWORD)
    _at(p, lang, "enrol", "after the password, TOTP enrolment")
    check(tab.attr("svg", "viewBox"), "a QR code on the enrolment page")
    uri = tab.attr("a[href^='otpauth://totp/']", "href")
    check(uri, "an otpauth:// link for phone authenticator apps")
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    check(re.fullmatch(r"[A-Z2-7]{16,}", secret), "the key shown: %r" % secret)
    check("secret=" + secret in uri[0], "the link carries the key shown")

    # 2. The code an authenticator app computes from that key confirms it.
    p = tab.submit("recovery-codes", code=_code(secret))
    _at(p, lang, "recovery", "recovery codes after enrolment")
    codes = [c for c in tab.texts("ul.codes li") if re.fullmatch(r"[0-9a-z-]{14}", c)]
    eq(len(codes), 10, "ten recovery codes shown")
    p = tab.click("main a[href^='/.ztgate/login']", "app-after-enrol")
    eq((p.status, p.url), (200, base + "/records?id=7"), "continue: the page first asked for")
    check("/records?id=7" in up.paths(), "the app got the request")

    # 3. The account page and a password change (the second factor is fresh).
    p = tab.goto(base + "/.ztgate/", "account")
    _at(p, lang, "account", "account page")
    check(EMAIL in p.text, "the account page names the person")
    p = tab.click("main a[href='/.ztgate/password']", "password-form")
    _at(p, lang, "password", "password change form")
    p = tab.submit("password-changed", current_password=PASSWORD, new_password=NEW_PASSWORD,
                   confirm_password=NEW_PASSWORD)
    _at(p, lang, "changed", "password changed")
    eq(tab.goto(base + "/records?id=8", None).status, 200, "still signed in after the change")

    # A new phone: set up the authenticator again from the account page; the old key and the
    # old recovery codes stop working.
    tab.goto(base + "/.ztgate/", None)
    p = tab.click("main a[href='/.ztgate/totp']", "totp-again")
    _at(p, lang, "enrol", "enrolment again")
    old_secret, old_codes = secret, codes
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    check(secret != old_secret, "a new key")
    p = tab.submit("recovery-codes-again", code=_code(secret))
    _at(p, lang, "recovery", "new recovery codes")
    codes = [c for c in tab.texts("ul.codes li") if re.fullmatch(r"[0-9a-z-]{14}", c)]
    eq(len(codes), 10, "ten new recovery codes")
    check(not set(codes) & set(old_codes), "the recovery codes are new")

    # 4. Sign out: a confirmation form, then the signed-out page; the app asks again.
    p = tab.goto(base + "/.ztgate/logout", "logout-confirm")
    _at(p, lang, "logout", "logout confirmation")
    p = tab.submit("signed-out")
    _at(p, lang, "signed_out", "signed out")
    check(not [c for c in tab.cookies() if "ztgate_session" in c["name"]], "no session cookie")
    p = tab.goto(base + "/records?id=9", "login-again")
    _at(p, lang, "login", "signed out: the app asks for sign-in again")

    # 5. The old password is gone; the new one and a TOTP code sign in.
    p = tab.submit("old-password-refused", username=EMAIL, password=PASSWORD)
    _at(p, lang, "login", "the old password is refused")
    check(tab.texts(".notice.error"), "an error notice: %s" % p.text[:200])
    p = tab.submit("mfa", username=EMAIL, password=NEW_PASSWORD)
    _at(p, lang, "mfa", "new password: the second factor")
    right = {totp(secret, step_offset=d) for d in (-1, 0, 1)}
    p = tab.submit("wrong-code", code=min({"000000", "111111", "222222", "333333"} - right))
    _at(p, lang, "mfa", "a wrong code: the form again")
    check(tab.texts(".notice.error"), "a wrong code is said to be wrong")
    p = tab.submit("app-after-mfa", code=_code(secret))
    eq((p.status, p.url), (200, base + "/records?id=9"), "signed in with a TOTP code")

    # 6. A recovery code instead (the phone is lost), once.
    tab.goto(base + "/.ztgate/logout", None)
    tab.submit(None)
    p = tab.goto(base + "/.ztgate/login", None)
    p = tab.submit(None, username=EMAIL, password=NEW_PASSWORD)
    _at(p, lang, "mfa", "second sign-in: the second factor")
    p = tab.submit("recovery-code-used", code=codes[0])
    eq(p.status, 200, "a recovery code signs in")
    check(p.url.startswith(base + "/.ztgate/"), "to the account page: %s" % p.url)
    other = tab.c.context("again", locale=locale)
    other.goto(base + "/.ztgate/login", None)
    p = other.submit(None, username=EMAIL, password=NEW_PASSWORD)
    p = other.submit("recovery-code-reused", code=codes[0])
    _at(p, lang, "mfa", "a used recovery code is refused")
    check(other.texts(".notice.error"), "refusal notice for a used recovery code")


@timeout(120)
def test_browser_mfa_journey_english_http(h):
    _journey(h, tls=False, locale="en-US", lang="en")


@timeout(120)
def test_browser_mfa_journey_japanese_https(h):
    _journey(h, tls=True, locale="ja-JP", lang="ja")
