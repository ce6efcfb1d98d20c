"""The approval of a `ztagent tunnel` sign-in in Chromium (docs/TUNNELS.md, "Signing in"): the
real agent asks and prints a code; the person opens /.ztgate/agent/approve, signs in, types the
code, sees the device, the app and both addresses, presses Approve, and the agent gets its token.
The same in Japanese, with no English catalogue text left on the pages. Screenshots under
BUILD_DIR/browser-shots/agent-*/."""
from agent_signin import APPROVE, Agent, tcp_app
from browser import Chromium, check_japanese, make_cert, msg
from harness import check, eq, free_port, timeout
from portal_client import add_user

EMAIL = "yui@example.test"
PASSWORD = "yui's long passphrase for the browser"


def _gateway(h):
    cert, key, spki = make_cert(h, ["localhost"])
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    cfg = h.config([tcp_app("ssh", "ssh.test", 22, free_port())], listen=listen,
                   extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                   "argon2_passes": 2},
                          "audit": {"path": h.path("state/audit/audit.log")}})
    gw = h.gateway(cfg)
    add_user(h, gw, EMAIL, PASSWORD)
    return gw, spki, "https://localhost:%d" % gw.tls_port


def _approve_in(chromium, base, agent, locale):
    lang = "ja" if locale == "ja" else "en"
    p_agent, code = agent.start_sign_in("ssh.test:22")
    tab = chromium.context("agent-" + lang, locale=locale)
    p = tab.goto(base + APPROVE, "signin")
    p = tab.submit("signed-in", username=EMAIL, password=PASSWORD)
    eq((p.status, p.url), (200, base + APPROVE), "back on the approval page after sign-in")
    if lang == "ja":
        check_japanese(p, "AG_TITLE", "the code page")
    else:
        eq(p.h1, msg("AG_TITLE"), "the code page")
    p = tab.submit("confirm", code=code)
    eq(p.status, 200, "the confirmation page")
    if lang == "ja":
        check_japanese(p, "AG_TITLE", "the confirmation page")
    for shown in ("ssh.test:22", "127.0.0.1", msg("AG_APPROVE", lang), msg("AG_DENY", lang)):
        check(shown in p.text, "the page shows %r: %s" % (shown, p.text[:600]))
    p = tab.click("#agent-approve", "approved")
    eq(p.status, 200, "approved")
    check(msg("AG_APPROVED", lang) in p.text, "the page says approved: %s" % p.text[:400])
    if lang == "ja":
        check_japanese(p, "AG_TITLE", "the approved page")
    rc, err = agent.finish(p_agent)
    eq(rc, 0, "the agent got its token: " + err)
    tab.close()


@timeout(180)
def test_browser_agent_signin_en_ja(h):
    gw, spki, base = _gateway(h)
    agent = Agent(h, gw, EMAIL)
    chromium = Chromium(h, spki=[spki])
    _approve_in(chromium, base, agent, "en-US")
    first = agent.token()
    _approve_in(chromium, base, agent, "ja")
    check(agent.token() not in (None, first), "a new token after the second sign-in")
