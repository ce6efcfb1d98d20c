"""The console's operations pages in Chromium, in English and in Japanese: an administrator signs
in (TOTP enrolment included) on the console's host, walks apps, policies, one policy, the what-if
form, risk (confirms a user compromised with the page's own button), incidents (resolves one),
the audit search (a bad filter, then a good one) and the reference lookup of a block page's id.
No script runs on any of them; axe-core finds no serious violation. Every page is saved under
BUILD_DIR/browser-shots/console-ops-*/."""
import urllib.parse

from browser import Chromium, msg
from harness import check, eq, timeout, wait_until
from portal_client import PASSWORD, _fresh_step, add_user, signed_in_browser, totp
from test_console import ADMIN, CONSOLE, make_admin
from test_console_ops import BLOCKED, _ops_gateway


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _check_lang(p, title_id, lang, what):
    """The page is in the language asked, headed by its title, and (in Japanese) shows no
    English text of this page group's catalogue rows."""
    eq((p.status, p.lang, p.h1), (200, lang, msg(title_id, lang)), what)
    if lang != "ja":
        return
    from browser import catalogue
    left = sorted({en for k, (en, ja) in catalogue().items()
                   if k.startswith("COP_") and len(en) >= 4 and en != ja and en in p.text})
    check(not left, "%s: English text on the Japanese page: %r" % (what, left))


def _journey(h, locale, lang):
    gw, audit = _ops_gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    blocked = signed_in_browser(h, gw, BLOCKED, groups=("contractors",))
    ref = blocked.get("/").header("X-Request-Id")
    victim = "victim@example.test"
    signed_in_browser(h, gw, victim)
    base = "http://%s:%d" % (CONSOLE, gw.port)
    tab = Chromium(h, name="console-ops-" + lang).context(locale=locale)

    tab.goto(base + "/", "login")
    tab.submit("enrol", username=ADMIN, password=PASSWORD)
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    eq(tab.submit("recovery-codes", code=_code(secret)).status, 200, "enrolled")

    p = tab.goto(base + "/apps", "apps")
    _check_lang(p, "COP_APPS_TITLE", lang, "apps")
    check("block-contractors" in p.text and "hr-mfa" in p.text, "apps name their policies")
    tab.check_accessible("apps")
    p = tab.goto(base + "/policies", "policies")
    _check_lang(p, "COP_POLICIES_TITLE", lang, "policies")
    p = tab.click("a[href='/policies/ro-block-night']", "policy-report-only")
    _check_lang(p, "COP_POLICIES_TITLE", lang, "one policy")
    check(msg("COP_RO_IMPACT", lang) in p.text, "report-only impact shown")
    tab.check_accessible("policy")

    p = tab.goto(base + "/whatif", "whatif-form")
    _check_lang(p, "COP_WHATIF_TITLE", lang, "what-if form")
    p = tab.submit("whatif-answer", user=BLOCKED)
    eq(p.status, 200, "what-if answered: %s" % p.text[:300])
    check(tab.attr("#answer", "data-verdict"), "an answer")
    p = tab.goto(base + "/whatif?" + urllib.parse.urlencode({"user": BLOCKED, "app": "hr"}),
                 "whatif-block")
    eq(tab.attr("#answer", "data-verdict"), ["block"], "blocked")
    check(msg("COP_V_BLOCK", lang) in p.text, "the decision in words")
    tab.check_accessible("what-if")
    p = tab.goto(base + "/whatif?app=hr&user=x&ip=999", "whatif-bad")
    eq(p.status, 400, "bad what-if input")

    p = tab.goto(base + "/risk", "risk")
    _check_lang(p, "COP_RISK_TITLE", lang, "risk")
    h.cli("risk", "confirm-compromised", BLOCKED, "--config", gw.config_path)
    p = tab.goto(base + "/risk", "risk-listed")
    check(BLOCKED in p.text, "risky user listed")
    p = tab.click("#risky-users form button", "risk-confirmed")
    check(msg("COP_RISK_CONFIRMED", lang) in p.text, "the result line")
    tab.check_accessible("risk")

    p = tab.goto(base + "/incidents", "incidents")
    _check_lang(p, "COP_INCIDENTS_TITLE", lang, "incidents")
    p = tab.click("#incidents a", "incident")
    check(msg("COP_INC_TIMELINE", lang) in p.text, "timeline")
    p = tab.click("main form button", "incident-resolved")
    check(msg("COP_INC_RESOLVED_NOTICE", lang) in p.text, "resolved")
    tab.check_accessible("incident")

    p = tab.goto(base + "/audit?ip=10.0.0.1/99", "audit-bad-filter")
    eq(p.status, 400, "bad filter")
    check(msg("COP_AUDIT_BAD_FILTER", lang) in p.text, "says which filter")
    check(wait_until(lambda: ref in tab.goto(base + "/audit?ref=" + ref, "audit-ref").text, 10.0),
          "the record is found")
    tab.check_accessible("audit")
    p = tab.goto(base + "/ref?id=" + ref, "reference")
    _check_lang(p, "COP_REF_TITLE", lang, "reference")
    check(BLOCKED in p.text and "block-contractors" in p.text, "the refusal explained")
    check(msg("COP_REF_DO_BLOCK", lang) in p.text, "what to do")
    tab.check_accessible("reference")
    check("<script" not in tab.html().lower(), "no script")


@timeout(300)
def test_browser_console_ops_english(h):
    _journey(h, "en-US", "en")


@timeout(300)
def test_browser_console_ops_japanese(h):
    _journey(h, "ja-JP", "ja")
