"""Conditional Access as a person meets it in Chromium (docs/POLICY.md, docs/RISK.md): step-up
MFA that ends on the page first asked for, the policy block page, the sign-in refused for risk,
and the user-risk page that sends the person to change the password - in English and Japanese;
every Japanese page is titled for its outcome and has no English catalogue text.
Screenshots under BUILD_DIR/browser-shots/policy-*/."""
import os
import re

from browser import Chromium, check_japanese, msg
from harness import check, eq, timeout
from portal_client import _fresh_step, add_user, totp

PASSWORD = "correct horse battery staple"
GINA, EVE, CAROL = "gina@example.test", "eve@example.test", "carol@example.test"
HANA = "hana@example.test"
BLOCK = "no-contractors-on-records"


def _gateway(h, policies, risk=None):
    up = h.upstream()
    extra = {"auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
             "policies": policies}
    if risk:
        extra["risk"] = risk
    gw = h.gateway(h.config([h.app(up, sensitivity="confidential")], extra=extra))
    return gw, up, "http://app.test:%d" % gw.port


def _sign_in(tab, base, path, email, shot):
    p = tab.goto(base + path, shot and shot + "-login")
    check("/.ztgate/login" in p.url, "the app asks for sign-in: %s" % p.url)
    return tab.submit(shot, username=email, password=PASSWORD)


def _code(secret):
    return totp(secret, at=_fresh_step(secret) * 30)


@timeout(120)
def test_browser_step_up_and_policy_block(h):
    gw, up, base = _gateway(h, [
        {"name": BLOCK, "state": "on", "users": {"include": ["group:contractors"]},
         "apps": {"include": ["sensitivity:confidential"]}, "grant": {"block": True}},
        {"name": "mfa-for-confidential", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["sensitivity:confidential"]}, "grant": {"controls": ["mfa"]}}])
    add_user(h, gw, GINA, PASSWORD, groups=("staff",))
    add_user(h, gw, EVE, PASSWORD, groups=("contractors",))
    chromium = Chromium(h)

    # Step-up: the password alone is not enough for this app; no authenticator yet, so the
    # person sets one up, and ends on the page first asked for.
    tab = chromium.context("gina")
    p = _sign_in(tab, base, "/chart?id=7", GINA, "step-up-enrol")
    check("/.ztgate/totp" in p.url, "step-up without an authenticator: enrolment (%s)" % p.url)
    eq(p.h1, "Set up two-step verification", "enrolment page")
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    p = tab.submit("step-up-recovery-codes", code=_code(secret))
    eq(p.h1, "Save your recovery codes", "recovery codes")
    p = tab.click("main a[href^='/.ztgate/login']", "step-up-done")
    eq((p.status, p.url), (200, base + "/chart?id=7"), "after the second factor, the page")
    check("/chart?id=7" in up.paths(), "the app got the request")

    # Step-up in Japanese (another staff member): the enrolment page, in Japanese only.
    add_user(h, gw, HANA, PASSWORD, groups=("staff",))
    ja = chromium.context("hana", locale="ja-JP")
    p = _sign_in(ja, base, "/chart?id=9", HANA, "step-up-enrol-ja")
    check("/.ztgate/totp" in p.url, "step-up without an authenticator (ja): %s" % p.url)
    check_japanese(p, "PM_TITLE_ENROL", "step-up enrolment (ja)")
    p = ja.submit("step-up-recovery-codes-ja", code=_code(ja.texts(".mono strong")[0]
                                                          .replace(" ", "")))
    check_japanese(p, "PM_TITLE_RECOVERY", "step-up recovery codes (ja)")
    p = ja.click("main a[href^='/.ztgate/login']", "step-up-done-ja")
    eq((p.status, p.url), (200, base + "/chart?id=9"), "after the second factor (ja), the page")

    # The policy block page, in English and Japanese: names the policy and a reference.
    for locale in ("en-US", "ja-JP"):
        tab = chromium.context("eve-" + locale, locale=locale)
        p = _sign_in(tab, base, "/chart?id=8", EVE, "policy-block-" + locale)
        eq(p.status, 403, "the block page (%s)" % locale)
        if locale == "ja-JP":
            check_japanese(p, "MSG_BLOCKED_TITLE", "the policy block page (ja)")
        else:
            eq((p.title, p.h1), (msg("MSG_BLOCKED_TITLE"),) * 2, "the block page's title")
        check(BLOCK in p.text, "the page names the policy: %s" % p.text[:400])
        check(re.search(r"[0-9a-f]{8}-[0-9a-f]+-[0-9a-f]+", p.text), "a reference id on the page")
    check("/chart?id=8" not in up.paths(), "the blocked request never reached the app")


@timeout(120)
def test_browser_risk_sign_in_refused(h):
    """Sign-in from an anonymising network (127.0.0.1 is listed as a Tor exit here): a person
    with no second factor to ask is refused with a page that says whom to ask."""
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "ExitAddress 127.0.0.1 2026-11-01 12:07:50\n")
    gw, up, base = _gateway(h, [], risk={"anonymous_ips": [{"path": tor, "source": "tor"}]})
    add_user(h, gw, CAROL, PASSWORD)
    chromium = Chromium(h)
    for locale, title, ask in (("en-US", "Sign-in blocked", "administrator"),
                               ("ja-JP", "サインインがブロックされました", "管理者")):
        tab = chromium.context(locale, locale=locale)
        p = _sign_in(tab, base, "/", CAROL, "risk-refused-" + locale)
        eq((p.status, p.h1), (403, title), "the risk refusal (%s)" % locale)
        if locale == "ja-JP":
            check_japanese(p, "PM_TITLE_RISK_BLOCKED", "the risk refusal (ja)")
        check(ask in p.text, "the page says whom to ask: %s" % p.text[:400])
        check(not [c for c in tab.cookies() if "ztgate_session" in c["name"]], "no session")
    eq(up.paths(), [], "nothing reached the app")


@timeout(120)
def test_browser_user_risk_password_change(h):
    """An admin confirms the account compromised (CLI): at the next sign-in the policy for
    high user risk sends the person to change the password, and then lets them in."""
    gw, up, base = _gateway(h, [
        {"name": "risky-users-change-password", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["all"]}, "conditions": {"user_risk": ["high"]},
         "grant": {"controls": ["password_change"]}}])
    add_user(h, gw, CAROL, PASSWORD)
    r = h.cli("risk", "confirm-compromised", CAROL, "--config", gw.config_path)
    eq(r.returncode, 0, "confirm-compromised: " + r.stderr)
    chromium = Chromium(h)
    for locale in ("ja-JP", "en-US"):
        tab = chromium.context(locale, locale=locale)
        p = _sign_in(tab, base, "/inbox", CAROL, "user-risk-" + locale)
        eq(p.status, 403, "a password change is needed first (%s)" % locale)
        if locale == "ja-JP":
            check_japanese(p, "MSG_PASSWORD_CHANGE_TITLE", "the password change page (ja)")
            eq(tab.texts("main a[href*='/.ztgate/password']"),
               [msg("MSG_CHANGE_PASSWORD_LINK", "ja")], "the link to change it, in Japanese")
            p = tab.click("main a[href*='/.ztgate/password']", "user-risk-password-form-ja")
            check_japanese(p, "PM_TITLE_PASSWORD", "the password form (ja)")
            continue
        eq((p.title, p.h1), (msg("MSG_PASSWORD_CHANGE_TITLE"),) * 2, "titled for the outcome")
        check("password" in p.text.lower(), "the page asks for a password change: %s"
              % p.text[:400])
        links = tab.attr("main a[href*='/.ztgate/password']", "href")
        check(links, "a link to change the password: %s" % p.text[:400])
        p = tab.click("main a[href*='/.ztgate/password']", "user-risk-password-form")
        eq(p.h1, "Change password", "the password form")
        p = tab.submit("user-risk-password-changed", current_password=PASSWORD,
                       new_password="carol's new and long passphrase",
                       confirm_password="carol's new and long passphrase")
        eq(p.h1, "Password changed", "changed")
        p = tab.goto(base + "/inbox", "user-risk-app")
        eq((p.status, p.url), (200, base + "/inbox"), "the app after the change")
