"""The web console in Chromium, in English and in Japanese (issue 16, deliverables 2 and 4): an
administrator signs in through the portal on the console's host, walks the dashboard, users,
one user, groups, one group and devices, issues a Temporary Access Pass and disables a user
through the forms (Chromium's own POST with its Origin and the page's CSRF field), and every page
passes axe-core with no serious violation. A person who is not an administrator gets the 403
page. Every page is saved under BUILD_DIR/browser-shots/console-*/."""
import json
import os
import re

from browser import Chromium, catalogue, msg
from harness import check, eq, timeout
from portal_client import add_user
from test_console import CONSOLE, make_admin

ADMIN = "root@example.test"
PASSWORD = "correct horse battery staple"
TEACHER = "teacher@example.test"


def _no_english(p, lang, what):
    """A Japanese page carries no English text of the catalogue (4 letters or more)."""
    if lang != "ja":
        return
    shown = p.title + "\n" + p.text
    left = sorted({en.strip() for en, ja in catalogue().values()
                   if len(en.strip()) >= 4 and en.strip() != ja.strip() and en.strip() in shown})
    check(not left, "%s: English catalogue text on the Japanese page: %r" % (what, left))


def _gateway(h):
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    return h.gateway(h.config([app], extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                                     "argon2_passes": 2},
                                            "audit": {"path": audit}}))


def _walk(h, locale, lang):
    gw = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    h.cli("group", "add", "school-a", "--config", gw.config_path)
    add_user(h, gw, TEACHER, PASSWORD, groups=("school-a",))
    base = "http://%s:%d" % (CONSOLE, gw.port)
    tab = Chromium(h).context(locale=locale)

    p = tab.goto(base + "/", "login")
    check(p.url.startswith(base + "/.ztgate/login"), "the console sends a person to sign in: %s"
          % p.url)
    p = tab.submit("dashboard", username=ADMIN, password=PASSWORD)
    eq(p.status, 200, "the dashboard after sign-in: %s" % p.text[:300])
    eq(p.lang, lang, "page language")
    eq(p.h1, msg("CON_DASHBOARD", lang), "dashboard title")
    check(tab.visible("svg"), "charts drawn")
    tab.check_accessible("dashboard " + lang)
    _no_english(p, lang, "dashboard " + lang)
    for period in ("7d", "30d"):
        p = tab.goto(base + "/?period=" + period, "dashboard-" + period)
        eq(p.status, 200, "period " + period)

    p = tab.click("nav a[href='/users']", "users")
    eq(p.h1, msg("CON_USERS", lang), "users title")
    check(TEACHER in p.text, "the teacher is listed")
    tab.check_accessible("users " + lang)
    _no_english(p, lang, "users " + lang)
    p = tab.submit("users-search", q="teach")
    eq(tab.texts("main table.list td:first-child a"), [TEACHER], "search finds only the teacher")
    p = tab.click("main a[href^='/users/']", "user")
    eq(p.status, 200, "one user")
    check(msg("CON_RISK_HISTORY", lang) in p.text, "risk history section")
    tab.check_accessible("user " + lang)
    _no_english(p, lang, "user " + lang)
    user_url = p.url

    # A pass, shown once; then disable through the form.
    p = tab.submit("tap", button="form:has(input[value='tap']) button")
    eq(p.status, 200, "pass issued: %s" % p.text[:300])
    passes = tab.texts("#tap")
    check(passes and re.fullmatch(r"[A-Z0-9-]{20,}", passes[0]), "pass shown: %r" % passes)
    check(msg("CON_TAP_ONCE", lang) in p.text, "shown once")
    sent = tab.posts()[-1]["headers"]
    eq(sent.get("origin"), base, "Chromium sends the console's origin")
    p = tab.goto(user_url, "user-again")
    check(passes[0] not in p.text, "the pass is not shown again")
    p = tab.submit("disabled", button="form:has(input[value='disable']) button")
    eq(p.status, 200, "after disable (redirect followed)")
    check(msg("CON_DONE_DISABLED", lang) in p.text, "notice after disabling")
    r = h.cli("user", "show", TEACHER, "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout)["status"], "disabled", "the teacher is disabled")

    p = tab.click("nav a[href='/groups']", "groups")
    eq(p.h1, msg("CON_GROUPS", lang), "groups title")
    tab.check_accessible("groups " + lang)
    _no_english(p, lang, "groups " + lang)
    p = tab.click("main a[href='/groups/school-a']", "group")
    check(TEACHER in p.text, "the member is listed")
    tab.check_accessible("group " + lang)
    _no_english(p, lang, "group " + lang)
    p = tab.click("nav a[href='/devices']", "devices")
    eq(p.h1, msg("CON_DEVICES", lang), "devices title")
    tab.check_accessible("devices " + lang)
    _no_english(p, lang, "devices " + lang)

    # The language switch, kept in a cookie.
    other = "ja" if lang == "en" else "en"
    p = tab.goto(base + "/users?lang=" + other, "switched-" + other)
    eq(p.lang, other, "switched language")
    p = tab.goto(base + "/", "switched-kept")
    eq(p.lang, other, "the switch is kept")

    # Not an administrator: the 403 page.
    add_user(h, gw, "pupil@example.test", PASSWORD)
    t2 = Chromium(h, name="console-" + lang + "-pupil").context(locale=locale)
    t2.goto(base + "/", "pupil-login")
    p = t2.submit("pupil-403", username="pupil@example.test", password=PASSWORD)
    eq(p.status, 403, "not an administrator")
    eq(p.h1, msg("CON_NOT_ADMIN_TITLE", lang), "the 403 page")
    t2.check_accessible("403 " + lang)
    _no_english(p, lang, "403")


@timeout(180)
def test_browser_console_english(h):
    _walk(h, "en-US", "en")


@timeout(180)
def test_browser_console_japanese(h):
    _walk(h, "ja-JP", "ja")
