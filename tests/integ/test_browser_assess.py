"""The console's /assess page in Chromium, in English and Japanese: an administrator opens it
from the nav, answers a question and keeps a run through the forms (Chromium's own POST with its
Origin and the page's CSRF field), sees the trend drawn, and the page passes axe-core with no
serious violation. Pages are saved under BUILD_DIR/browser-shots/console-assess-*/."""
import json

from browser import Chromium, msg
from harness import check, eq, timeout
from portal_client import add_user
from test_browser_console import ADMIN, PASSWORD, _gateway
from test_console import CONSOLE, make_admin


def _walk(h, locale, lang):
    gw = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    base = "http://%s:%d" % (CONSOLE, gw.port)
    tab = Chromium(h, name="console-assess-" + lang).context(locale=locale)
    tab.goto(base + "/", "login")
    p = tab.submit("dashboard", username=ADMIN, password=PASSWORD)
    eq(p.status, 200, "signed in: %s" % p.text[:200])

    p = tab.click("nav a[href='/assess']", "assess")
    eq(p.status, 200, "the page")
    eq(p.lang, lang, "page language")
    eq(p.h1, msg("ASM_TITLE", lang), "title")
    check(msg("ASM_MEASURES", lang) in p.text, "measures section")
    tab.check_accessible("assess " + lang)

    tab.evaluate("document.querySelector('select[name=\"data.backups\"]').value = 'tested'")
    p = tab.submit("answered", button="form:has(input[value='answers']) button")
    eq(p.status, 200, "after saving answers (redirect followed)")
    check(msg("ASM_ANSWERS_SAVED", lang) in p.text, "notice after saving")
    r = h.cli("assess", "--json", "--config", gw.config_path)
    q = {x["key"]: x["answer"] for x in json.loads(r.stdout)["questionnaire"]}
    eq(q["data.backups"], "tested", "the answer is in the store")

    p = tab.submit("kept", button="form:has(input[value='keep']) button")
    eq(p.status, 200, "after run and keep")
    check(msg("ASM_SAVED", lang) in p.text, "notice after keeping")
    check(tab.visible("figure.chart svg"), "the trend is drawn")
    tab.check_accessible("assess kept " + lang)
    r = h.cli("assess", "history", "--json", "--config", gw.config_path)
    eq(len(json.loads(r.stdout)), 1, "one kept run")


@timeout(180)
def test_browser_assess_english(h):
    _walk(h, "en-US", "en")


@timeout(180)
def test_browser_assess_japanese(h):
    _walk(h, "ja-JP", "ja")
