"""WebSockets through the gateway against a real RFC 6455 echo app (ws_echo.py), driven over raw
sockets: the handshake rules (h2c and other upgrades ignored, version 8 → 426, bad key, POST,
HTTP/1.0, foreign Origin → 403, websocket off), an upstream that does not switch protocols
(answer passed through, nothing smuggled after it), a bad Sec-WebSocket-Accept (502), echo with
frames split one byte per write, idle timeout, SIGTERM (close 1001)."""
import json
import os
import socket
import time

import ws_echo
from harness import (APP_HOST, HERE, PYTHON, Proc, check, eq, exchange, get, header_values,
                     wait_until)


class Echo:
    """ws_echo.py in its own process; .port, .url, .events()."""

    def __init__(self, h, name="ws-echo"):
        self.log_path = os.path.join(h.dir, name + ".events.jsonl")
        open(self.log_path, "w").close()
        self.proc = Proc(name, [PYTHON, os.path.join(HERE, "ws_echo.py"), "--log", self.log_path],
                         h.dir, stdout_pipe=True)
        h.procs.append(self.proc)
        line = self.proc.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("ws_echo failed to start: %s" % self.proc.stderr_text())
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def events(self, kind=None):
        with open(self.log_path) as f:
            evs = [json.loads(line) for line in f if line.strip()]
        return [e for e in evs if kind is None or e["event"] == kind]


def start(h, app_kw=None, timeouts=None):
    echo = Echo(h)
    app = h.app(echo, **(app_kw or {}))
    gw = h.gateway(h.config([app], timeouts=timeouts))
    return gw, echo


def connect(gw):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def open_ws(gw, path="/ws", **kw):
    """A WebSocket through the gateway: (socket wrapper, status, headers)."""
    s = connect(gw)
    s.sendall(ws_echo.handshake_request(path=path, **kw))
    status, headers, rest = ws_echo.read_head(s)
    return ws_echo.PrefixSock(s, rest), status, headers


# ---- handshakes that never become a WebSocket --------------------------------------------------

def test_ws_h2c_and_other_upgrades_are_ignored(h):
    """h2c (the upgrade that would let HTTP/2 requests past every check) and any other token:
    served as plain HTTP/1.1, Upgrade/HTTP2-Settings never reach the app, the connection ends."""
    gw, up = h.simple()
    for upgrade, extra in (("h2c", [("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]),
                           ("foo", []), ("TLS/1.0", [])):
        r = get(gw.port, "/x", headers=[("Upgrade", upgrade),
                                        ("Connection", "Upgrade, HTTP2-Settings")] + extra)
        eq(r.status, 200, "status with Upgrade: %s" % upgrade)
        eq(header_values(r.json(), "upgrade"), [], "Upgrade forwarded (%s)" % upgrade)
        eq(header_values(r.json(), "http2-settings"), [], "HTTP2-Settings forwarded")
        eq(header_values(r.json(), "connection"), [], "Connection forwarded")
        eq((r.header("connection") or "").lower(), "close", "connection kept after an upgrade")
    # HTTP2-Settings not named in Connection: still never forwarded
    r = get(gw.port, "/x", headers=[("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
    eq(header_values(r.json(), "http2-settings"), [], "lone HTTP2-Settings forwarded")


def test_ws_bad_handshakes_refused(h):
    gw, echo = start(h)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    cases = [
        ("version 8", dict(version="8"), 426),
        ("no version", dict(version=None), 426),
        ("no key", dict(key=None), 400),
        ("short key", dict(key="c2hvcnQ="), 400),
        ("key not base64", dict(key="!!!!!!!!!!!!!!!!!!!!!!=="), 400),
        ("websocket and h2c", dict(upgrade="websocket, h2c"), 400),
        ("POST", dict(method="POST"), 400),
        ("no Connection: upgrade", dict(connection="keep-alive"), 400),
        ("body", dict(extra=["Content-Length: 2"]), 400),
    ]
    for name, kw, status in cases:
        raw = ws_echo.handshake_request(**kw)
        if name == "body":
            raw += b"hi"
        responses, closed, _ = exchange(gw.port, raw)
        check(responses, "%s: no answer" % name)
        eq(responses[0].status, status, "status for %s" % name)
        if status == 426:
            eq(responses[0].header("sec-websocket-version"), "13", "426 names the version")
        check(closed, "%s: connection left open" % name)
    eq(echo.events("handshake"), [], "a refused handshake reached the app")
    _ = key


def test_ws_http10_upgrade_is_plain(h):
    """RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored: the app gets a plain GET."""
    gw, echo = start(h)
    responses, closed, _ = exchange(gw.port, ws_echo.handshake_request(path="/", http="HTTP/1.0"))
    eq(responses[0].status, 200, "status")
    hs = echo.events("handshake")
    eq(len(hs), 1, "requests at the app")
    names = [n.lower() for n, _ in hs[0]["headers"]]
    check("upgrade" not in names, "Upgrade forwarded for HTTP/1.0: %r" % names)


def test_ws_foreign_origin_refused(h):
    """Cross-site WebSocket hijacking: the browser sends the cookies whatever the page's site,
    so an Origin other than the app's own (or websocket_origins) is a 403, in en and ja."""
    gw, echo = start(h)
    own = "http://%s:%d" % (APP_HOST, gw.port)
    for origin in ("http://evil.example", "null", own + ".evil.example", "https://%s:%d" %
                   (APP_HOST, gw.port)):
        for lang, word in (("en", "Live connection refused"), ("ja", "ライブ接続が拒否されました")):
            raw = ws_echo.handshake_request(origin=origin, extra=[
                "Accept-Language: " + lang, "Accept: text/html"])
            responses, _, _ = exchange(gw.port, raw)
            eq(responses[0].status, 403, "status for Origin %s" % origin)
            check(word in responses[0].body.decode(), "%s page text for %s" % (lang, origin))
    eq(echo.events("handshake"), [], "a foreign-origin handshake reached the app")
    # its own origin and no Origin at all (not a browser) pass the check (what the app then
    # answers is the next tests' business)
    for origin in (own, None):
        raw = ws_echo.handshake_request(origin=origin, path="/ws?answer=403",
                                        host="%s:%d" % (APP_HOST, gw.port))
        responses, _, _ = exchange(gw.port, raw)
        eq(responses[0].status, 403, "upstream's own answer")
        check(b"not a websocket answer" in responses[0].body, "the app's answer")
    eq(len(echo.events("handshake")), 2, "allowed handshakes at the app")


def test_ws_configured_origins_and_off(h):
    echo = Echo(h)
    apps = [h.app(echo, name="a", host="a.test", websocket_origins=["https://portal.test"]),
            h.app(echo, name="b", host="b.test", websocket=False)]
    gw = h.gateway(h.config(apps))
    own = "http://a.test:%d" % gw.port
    r, _, _ = exchange(gw.port, ws_echo.handshake_request(host="a.test", origin=own))
    eq(r[0].status, 403, "own origin when a list is configured")
    r, _, _ = exchange(gw.port, ws_echo.handshake_request(host="a.test", origin="https://portal.test",
                                                          path="/ws?answer=404"))
    eq(r[0].status, 404, "listed origin reaches the app")
    r, _, _ = exchange(gw.port, ws_echo.handshake_request(host="b.test", extra=["Accept: application/json"]))
    eq(r[0].status, 403, "websocket: false")
    eq(r[0].json().get("error"), "websocket_disabled", "JSON error code")
    # a plain request to the app with websocket off still works
    eq(get(gw.port, "/", host="b.test").status, 200, "plain request to a websocket: false app")


def test_ws_upstream_does_not_switch(h):
    """An app that answers 200/404/426 to the upgrade: its answer reaches the client and the
    connection ends; bytes the client sent after the handshake never reach the app (the
    "WebSocket smuggling" trick that talks raw HTTP to the app through a half-open tunnel)."""
    gw, echo = start(h)
    smuggled = b"GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n"
    for code in (200, 404, 426):
        raw = ws_echo.handshake_request(path="/ws?answer=%d" % code) + smuggled
        responses, closed, _ = exchange(gw.port, raw)
        eq(responses[0].status, code, "status passed through")
        eq(len(responses), 1, "answers")
        check(closed, "connection left open after a %d" % code)
    check(wait_until(lambda: len(echo.events("raw")) == 3, 10), "app connections never ended")
    eq([e["bytes"] for e in echo.events("raw")], [0, 0, 0], "bytes after the handshake at the app")
