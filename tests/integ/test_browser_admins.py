"""The console's `/admins` page in Chromium, in English and Japanese (docs/ADMINS.md): an
administrator signs in through the portal, sees their role, makes an API token through the form
(shown once on the answer; gone when the page is opened again) and revokes it through its
button; every page passes axe-core with no serious violation. Screenshots under
BUILD_DIR/browser-shots/browser_admins-*/."""
import re

from browser import Chromium, msg
from harness import check, eq, timeout
from portal_client import add_user
from test_console import CONSOLE, make_admin

ADMIN = "root@example.test"
PASSWORD = "correct horse battery staple"


def _walk(h, locale, lang):
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    gw = h.gateway(h.config([app], extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                                   "argon2_passes": 2}}))
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    base = "http://%s:%d" % (CONSOLE, gw.port)
    tab = Chromium(h).context(locale=locale)
    tab.goto(base + "/admins", "login")
    p = tab.submit("admins", username=ADMIN, password=PASSWORD)
    eq(p.status, 200, "the page after sign-in: %s" % p.text[:300])
    eq(p.lang, lang, "page language")
    eq(p.h1, msg("ADM_ADMINS_TITLE", lang), "title")
    check(msg("ADM_ROLE_GLOBAL_ADMIN", lang) in p.text, "my role")
    tab.check_accessible("admins " + lang)

    p = tab.submit("token-created", button="form:has(input[value='create']) button",
                   name="backup " + lang)
    eq(p.status, 200, "token made: %s" % p.text[:300])
    shown = tab.texts("code.secret")
    check(shown and re.fullmatch(r"ztg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", shown[0]),
          "the token shown: %r" % shown)
    check(msg("ADM_TOKEN_SHOWN_ONCE", lang) in p.text, "shown once")
    tab.check_accessible("token created " + lang)
    p = tab.goto(base + "/admins", "admins-again")
    check(shown[0] not in p.text and "backup " + lang in p.text, "listed, not shown again")
    p = tab.submit("revoked", button="form:has(input[value='revoke']) button")
    eq(p.status, 200, "after revoking (redirect followed)")
    check(msg("ADM_TOKEN_REVOKED_DONE", lang) in p.text, "notice after revoking")
    check(msg("ADM_TOKEN_REVOKED", lang) in p.text, "the token's status")
    tab.check_accessible("revoked " + lang)


@timeout(180)
def test_browser_admins_english(h):
    _walk(h, "en-US", "en")


@timeout(180)
def test_browser_admins_japanese(h):
    _walk(h, "ja-JP", "ja")
