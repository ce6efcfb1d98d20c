"""WebSockets as a person meets them in Chromium: sign in, open the echo app's WebSocket
(ws_echo.py) through the gateway, echo 1,000 messages and a 1 MiB binary one, then end the
access from the command line (`ztgate user revoke-sessions` in English, `ztgate user disable` in
Japanese): the page's CloseEvent says 1008 (policy violation) within the bound, and the audit
log says why. Screenshots under BUILD_DIR/browser-shots/websocket-*/."""
import os
import time

from browser import Chromium
from harness import check, eq, timeout, wait_until
from portal_client import add_user
from test_websocket import Echo

PASSWORD = "correct horse battery staple"
ALICE, HANA = "alice@example.test", "hana@example.test"
ONE_MIB = 1024 * 1024


def _bound(h):
    """How long a live stream may take to learn of a revocation (the foundation's helper when
    there is one; 1 s, x3 on sanitizer builds, as runner.py scales time limits)."""
    if hasattr(h, "stream_close_bound"):
        return h.stream_close_bound()
    return 3.0 if h.sanitized else 1.0


def _gateway(h):
    echo = Echo(h)
    extra = {"auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")}}
    gw = h.gateway(h.config([h.app(echo, sensitivity="internal")], extra=extra))
    return gw, echo, "http://app.test:%d" % gw.port


def _sign_in_and_echo(tab, base, email, lang):
    p = tab.goto(base + "/", lang + "-login")
    check("/.ztgate/login" in p.url, "the app asks for sign-in: %s" % p.url)
    p = tab.submit(lang + "-signed-in", username=email, password=PASSWORD)
    eq(p.title, "ws echo", "the echo app's page after sign-in")
    check(tab.evaluate("wsOpen()"), "WebSocket did not open: %r" % tab.evaluate("window.__ws"))
    msgs = tab.evaluate("wsEcho(1000, %d)" % ONE_MIB)
    eq(len(msgs), 1001, "echoed messages")
    eq(msgs[:1000], ["message %d" % i for i in range(1000)], "text messages in order")
    eq(msgs[1000], {"binary": ONE_MIB, "sum": tab.evaluate("wsSum(%d)" % ONE_MIB)},
       "1 MiB binary message")
    tab.screenshot(lang + "-echoed")


def _closed_by(h, tab, lang, action):
    """Runs action (a CLI command ending the access), then waits for the CloseEvent: its code
    and how long after the command returned it came."""
    action()
    done = time.time()
    check(wait_until(lambda: tab.evaluate("window.__ws.close") is not None, 10),
          "the WebSocket stayed open after the revocation")
    close = tab.evaluate("window.__ws.close")
    tab.screenshot(lang + "-closed")
    latency = close["at"] / 1000.0 - done
    print("    %s: CloseEvent %d %r %.0f ms after the command returned" %
          (lang, close["code"], close["reason"], latency * 1000))
    eq(close["code"], 1008, "close code")
    check(latency <= _bound(h), "closed %.2f s after the revocation (bound %.1f s)" %
          (latency, _bound(h)))
    return close


@timeout(180)
def test_browser_websocket_echo_then_revoked(h):
    gw, echo, base = _gateway(h)
    add_user(h, gw, ALICE, PASSWORD)
    add_user(h, gw, HANA, PASSWORD)
    chromium = Chromium(h)

    tab = chromium.context("en")
    _sign_in_and_echo(tab, base, ALICE, "en")
    _closed_by(h, tab, "en", lambda: eq(h.cli("user", "revoke-sessions", ALICE, "--config",
                                              gw.config_path).returncode, 0, "revoke-sessions"))

    ja = chromium.context("ja", locale="ja-JP")
    _sign_in_and_echo(ja, base, HANA, "ja")
    _closed_by(h, ja, "ja", lambda: eq(h.cli("user", "disable", HANA, "--config",
                                             gw.config_path).returncode, 0, "user disable"))
    # the app saw both closes, masked like a client's, with the same code
    check(wait_until(lambda: len(echo.events("close")) >= 2, 5), "the app saw no close frame")
    eq([e["code"] for e in echo.events("close")], [1008, 1008], "close codes at the app")
    check(all(e["masked"] for e in echo.events("close")), "close frames to the app masked")
