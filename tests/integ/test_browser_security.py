"""The self-service security page in Chromium, in English and in Japanese: a person signs in
(TOTP enrolment included), opens the security page from the account page, renames a passkey
(seeded into the store's webauthn_credentials table after the first sign-in), signs out
a session they have on another computer and presses "This wasn't me" on a failed sign-in they
did not make. Every page is saved under BUILD_DIR/browser-shots/security-*/."""
import json
import re

from browser import Chromium, check_japanese, msg
from harness import check, eq, timeout
from portal_client import PASSWORD, Browser, complete_sign_in, sign_in, _fresh_step, totp
from test_security_page import ALICE, KEY1, _mmdb, b64u, passkeys, seed_now, setup


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _journey(h, locale, lang):
    gw = setup(h, geo=_mmdb(h))
    base = "http://app.test:%d" % gw.port
    tab = Chromium(h, name="security-" + lang).context(locale=locale)

    # Sign in with the password and set up the authenticator app.
    tab.goto(base + "/.ztgate/login", "login")
    tab.submit("enrol", username=ALICE, password=PASSWORD)
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    p = tab.submit("recovery-codes", code=_code(secret))
    eq(p.status, 200, "enrolled")
    seed_now(gw)

    # The same person on another computer, and a failed attempt by someone else.
    other = Browser(gw.port)
    complete_sign_in(other, ALICE, PASSWORD, secret=secret, codes=[])
    eq(sign_in(Browser(gw.port), ALICE, "not the password").status, 200, "a failed attempt")

    # The account page leads to the security page.
    tab.goto(base + "/.ztgate/", "account")
    p = tab.click("main a[href='/.ztgate/security']", "security")
    eq((p.status, p.h1), (200, msg("SM_TITLE", lang)), "the security page")
    if lang == "ja":
        check_japanese(p, "SM_TITLE", "security page")
    check("Laptop" in p.text and "Phone" in p.text, "the passkeys are listed")
    eq(len(tab.texts("#session-list tr.session")), 2, "two sessions: this browser and the other")
    check(msg("SM_THIS_BROWSER", lang) in p.text, "this browser is marked")
    check(tab.attr("[data-passkey='register'] button", "type"), "the Add a passkey button")

    # Rename a passkey.
    row = "#passkey-list form:has(input[value='%s']):has(input[value='passkey_rename'])" % b64u(KEY1)
    tab.c.cmd("fill", ctx=tab.name, selector=row + " input[name='name']", value="仕事用 laptop")
    p = tab.click(row + " button", "renamed")
    eq(p.status, 200, "back on the page")
    check(msg("SM_DONE_RENAMED", lang) in p.text, "the result line")
    check("仕事用 laptop" in p.text, "the new name is shown")
    check((KEY1, "仕事用 laptop") in passkeys(gw, ALICE), "the store has the new name")
    if lang == "ja":
        check_japanese(p, "SM_TITLE", "after renaming")

    # Sign out the other computer.
    p = tab.click("#session-list form:has(input[value='session_sign_out']) button", "signed-out")
    check(msg("SM_DONE_SESSION", lang) in p.text, "the result line")
    eq(len(tab.texts("#session-list tr.session")), 1, "only this browser left")
    eq(other.get("/.ztgate/security").status, 303, "the other computer is signed out")

    # "This wasn't me" on the failed attempt.
    p = tab.click("#activity-list tr.failed form button", "reported")
    check(msg("SM_DONE_REPORTED", lang) in p.text, "the result line")
    if lang == "ja":
        check_japanese(p, "SM_TITLE", "after reporting")
    r = h.cli("risk", "list", "--user", ALICE, "--json", "--config", gw.config_path)
    eq([(d["type"], d["level"]) for d in json.loads(r.stdout)],
       [("user_reported_suspicious", "high")], "the user's risk is high")
    r = h.cli("incident", "list", "--json", "--config", gw.config_path)
    check([i for i in json.loads(r.stdout) if i.get("email") == ALICE], "an incident is open")
    check(re.search(r"user_reported_suspicious|" + re.escape(ALICE), r.stdout), "named")


@timeout(120)
def test_browser_security_page_english(h):
    _journey(h, "en-US", "en")


@timeout(120)
def test_browser_security_page_japanese(h):
    _journey(h, "ja-JP", "ja")
