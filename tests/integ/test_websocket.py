"""WebSockets through the gateway against a real RFC 6455 echo app (ws_echo.py), driven over raw
sockets: the handshake rules (h2c and other upgrades ignored, version 8 → 426, bad key, POST,
HTTP/1.0, foreign Origin → 403, websocket off), an upstream that does not switch protocols
(answer passed through, nothing smuggled after it), a bad Sec-WebSocket-Accept (502), echo with
frames split one byte per write, idle timeout, SIGTERM (close 1001)."""
import hashlib
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
            evs = [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
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


# ---- the spliced WebSocket ------------------------------------------------------------------

def _digest(b):
    return (len(b), hashlib.sha256(b).hexdigest()[:16])


def _echo_round(ws, payload, opcode=1):
    ws.sendall(ws_echo.frame(opcode, payload, mask=True))
    op, data, masked = ws_echo.read_message(ws)
    eq((op, _digest(data), masked), (opcode, _digest(payload), False),
       "echo of %d bytes" % len(payload))


def test_ws_echo_and_leftover_bytes(h):
    """A frame sent in the same write as the handshake and one the app sends in the same write
    as its 101 both arrive; text, binary, 64 KiB and 1 MiB messages echo unchanged; ping/pong."""
    gw, echo = start(h)
    s = connect(gw)
    s.sendall(ws_echo.handshake_request(path="/ws?hello=1") +
              ws_echo.frame(1, b"early", mask=True))
    status, headers, rest = ws_echo.read_head(s)
    eq(status, 101, "status")
    eq(headers.get("upgrade", "").lower(), "websocket", "Upgrade")
    eq(headers.get("connection", "").lower(), "upgrade", "Connection")
    eq(headers.get("sec-websocket-accept"), ws_echo.accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
       "Sec-WebSocket-Accept passed through")
    ws = ws_echo.PrefixSock(s, rest)
    eq(ws_echo.read_message(ws)[:2], (1, b"hello"), "the app's frame after its 101")
    eq(ws_echo.read_message(ws)[:2], (1, b"early"), "the client's frame after its handshake")
    for payload, op in ((b"x", 1), (os.urandom(200), 2), (os.urandom(65536), 2),
                        (os.urandom(1 << 20), 2)):
        _echo_round(ws, payload, op)
    ws.sendall(ws_echo.frame(9, b"p", mask=True))
    eq(ws_echo.read_message(ws)[:2], (10, b"p"), "pong")
    # the app saw the upgrade asked with our own headers
    hs = echo.events("handshake")[0]
    names = {n.lower(): v for n, v in hs["headers"]}
    eq(names.get("upgrade"), "websocket", "Upgrade at the app")
    eq(names.get("connection"), "Upgrade", "Connection at the app")
    ws.sendall(ws_echo.frame(8, ws_echo.close_payload(1000), mask=True))
    op, data, _ = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0]), (8, 1000), "close echoed")
    s.close()


def test_ws_frames_split_one_byte_per_write(h):
    """Frame headers and payloads cut anywhere (1 byte per write, TCP_NODELAY) are tracked, so
    the gateway can still close cleanly between two frames afterwards."""
    gw, echo = start(h)
    ws, status, _ = open_ws(gw)
    eq(status, 101, "status")
    msgs = [b"a" * 3, b"b" * 130, b"c" * 70000]
    for m in msgs:
        f = ws_echo.frame(2, m, mask=True)
        for byte in f[:400]:
            ws.sendall(bytes([byte]))
        ws.sendall(f[400:])
        op, data, _ = ws_echo.read_message(ws)
        eq((op, _digest(data)), (2, _digest(m)), "echo of a split %d-byte message" % len(m))
    gw.proc.signal(15)  # SIGTERM: a close frame 1001 between two frames
    op, data, masked = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0], masked), (8, 1001, False), "close on SIGTERM")
    check(wait_until(lambda: echo.events("close"), 5), "the app got no close frame")
    eq(echo.events("close")[0]["code"], 1001, "close code at the app")
    check(echo.events("close")[0]["masked"], "the close frame to the app is masked")
    eq(gw.proc.wait(10), 0, "ztgate's exit status after SIGTERM with a live WebSocket")


def test_ws_bad_accept_is_502(h):
    gw, echo = start(h)
    s = connect(gw)
    s.sendall(ws_echo.handshake_request(path="/ws?accept=bad") +
              ws_echo.frame(1, b"must not pass", mask=True))
    status, _, _ = ws_echo.read_head(s)
    eq(status, 502, "status for a wrong Sec-WebSocket-Accept")
    s.close()


def test_ws_protocol_error_closes_1002(h):
    """A reserved opcode from the client: 1002 to the client, the stream ends."""
    gw, echo = start(h)
    ws, status, _ = open_ws(gw)
    eq(status, 101, "status")
    _echo_round(ws, b"fine")
    ws.sendall(bytes([0x83, 0x80, 0, 0, 0, 0]))
    op, data, _ = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0]), (8, 1002), "close code")


def test_ws_idle_timeout(h):
    gw, echo = start(h, app_kw={"idle_timeout": "1s"})
    ws, status, _ = open_ws(gw)
    eq(status, 101, "status")
    _echo_round(ws, b"still here")
    t0 = time.monotonic()
    op, data, _ = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0]), (8, 1001), "close after idle_timeout")
    check(time.monotonic() - t0 >= 0.9, "closed before idle_timeout")


def test_ws_revoked_session_closes_1008(h):
    """A signed-in WebSocket (raw socket with the session cookie) closes with 1008 when the
    user's sessions are revoked; the audit Close record says why."""
    from portal_client import signed_in_browser
    echo = Echo(h)
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    gw = h.gateway(h.config([h.app(echo, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2},
                                   "audit": {"path": audit}}))
    b = signed_in_browser(h, gw, "rita@example.test", "correct horse battery staple")
    cookie = [v for n, v in b._headers(()) if n.lower() == "cookie"]
    check(cookie, "no session cookie")
    ws, status, _ = open_ws(gw, extra=["Cookie: " + cookie[0]])
    eq(status, 101, "status of a signed-in WebSocket")
    _echo_round(ws, b"before")
    # the client is in the middle of a frame when the access ends: the gateway completes that
    # frame towards the app (zero bytes) so its close frame still lands between two frames
    partial = ws_echo.frame(2, b"z" * 1000, mask=True)[:8 + 10]
    ws.sendall(partial)
    time.sleep(0.2)
    eq(h.cli("user", "revoke-sessions", "rita@example.test", "--config",
             gw.config_path).returncode, 0, "revoke-sessions")
    op, data, _ = ws_echo.read_message(ws)
    code, reason = ws_echo.parse_close(data)
    eq((op, code), (8, 1008), "close after the revocation")
    # revoke-sessions deletes the sessions: the stream finds its session gone
    check(reason in ("session ended (signed out or revoked)", "session revoked or user disabled"),
          "close reason: %r" % reason)
    check(wait_until(lambda: reason in open(audit).read().split('"class_uid":4001')[-1], 5),
          "no audit Close record with the reason")
    check(wait_until(lambda: echo.events("close"), 5), "the app got no close frame")
    eq(echo.events("close")[0]["code"], 1008, "close code at the app after a cut frame")


def test_ws_backpressure_client_not_reading(h):
    """The app pushes 64 MiB while the client reads nothing: the gateway stops reading from the
    app (its memory stays bounded), then every byte arrives once the client reads."""
    total = 64 << 20
    gw, echo = start(h)
    s = connect(gw)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(ws_echo.handshake_request(path="/ws?push=%d" % total))
    status, _, rest = ws_echo.read_head(s)
    eq(status, 101, "status")
    rss0 = gw.rss_kb()
    time.sleep(1.5)  # the app writes as fast as the gateway lets it
    grown = gw.rss_kb() - rss0
    print("    gateway RSS grew by %d KiB while the client did not read" % grown)
    check(grown < 24 * 1024, "gateway RSS grew by %d KiB: no backpressure" % grown)
    ws = ws_echo.PrefixSock(s, rest)
    got = 0
    while got < total:
        op, data, _ = ws_echo.read_message(ws)
        eq(op, 2, "opcode")
        got += len(data)
    eq(got, total, "bytes after the client resumed")


def test_ws_over_tls_listener(h):
    """wss:// to the gateway (the TLS read path feeds the stream): the page's own https origin
    passes, the http one does not; echo and a 1 MiB message; the close reaches the app."""
    import ssl
    from harness import free_port, gen_cert
    echo = Echo(h)
    cert, key = gen_cert(h.dir)
    port = free_port()
    gw = h.gateway(h.config([h.app(echo)], listen=[
        {"address": "127.0.0.1:%d" % port, "tls": {"cert": cert, "key": key}}]))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    host = "%s:%d" % (APP_HOST, port)
    for origin, want in (("http://" + host, 403), ("https://" + host, 101)):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=APP_HOST)
        s.sendall(ws_echo.handshake_request(host=host, origin=origin))
        status, _, rest = ws_echo.read_head(s)
        eq(status, want, "status for Origin %s over TLS" % origin)
    ws = ws_echo.PrefixSock(s, rest)
    _echo_round(ws, b"over tls")
    _echo_round(ws, os.urandom(1 << 20), 2)
    ws.sendall(ws_echo.frame(8, ws_echo.close_payload(1000, b"bye"), mask=True))
    op, data, _ = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0]), (8, 1000), "close echoed over TLS")
    check(wait_until(lambda: echo.events("close"), 5), "the app got no close")
    eq(echo.events("close")[0]["reason"], "bye", "close reason at the app")


def test_ws_policy_restrict_and_reload_block(h):
    """A session a policy restricts (read_only) cannot open a WebSocket (403); once the policy is
    gone it can, and a reload that blocks the app closes the live WebSocket with 1008."""
    from portal_client import signed_in_browser
    echo = Echo(h)
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    restrict = {"name": "read-only-everyone", "state": "on", "users": {"include": ["all"]},
                "apps": {"include": ["all"]}, "session": {"restrict": ["read_only"]}}
    block = {"name": "block-everyone", "state": "on", "users": {"include": ["all"]},
             "apps": {"include": ["all"]}, "grant": {"block": True}}

    base = h.config([h.app(echo, sensitivity="internal")],
                    extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                    "argon2_passes": 2},
                           "audit": {"path": audit}})

    def config(policies):
        return dict(base, policies=policies)

    gw = h.gateway(config([restrict]))
    b = signed_in_browser(h, gw, "rob@example.test", "correct horse battery staple")
    cookie = [v for n, v in b._headers(()) if n.lower() == "cookie"][0]
    ws, status, _ = open_ws(gw, extra=["Cookie: " + cookie, "Accept: application/json"])
    eq(status, 403, "WebSocket from a read_only session")
    eq(echo.events("handshake"), [], "a restricted handshake reached the app")
    gw.reload(config([]))
    check(wait_until(lambda: open_ws(gw, extra=["Cookie: " + cookie])[1] == 101, 5),
          "WebSocket refused after the restriction was removed")
    ws, status, _ = open_ws(gw, extra=["Cookie: " + cookie])
    eq(status, 101, "status")
    _echo_round(ws, b"allowed")
    gw.reload(config([block]))
    op, data, _ = ws_echo.read_message(ws)
    code, reason = ws_echo.parse_close(data)
    eq((op, code), (8, 1008), "close after a reload that blocks")
    check("block-everyone" in reason, "close reason names the policy: %r" % reason)
