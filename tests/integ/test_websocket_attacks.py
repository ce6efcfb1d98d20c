"""Adversarial review of the WebSocket path: a scriptable raw upstream (a thread in the test, so
each test decides what the "app" answers and sees every byte it got) against the real gateway.
Upstream connections reused after a refused upgrade or a stray 101, what the app gets when the
gateway completes a cut frame before its close frame, pipelined requests after the upgrade head,
raw bytes after a non-101 answer, a client flooding before the 101, and the audit Close record's
reason and exact byte counts."""
import json
import os
import socket
import struct
import threading
import time

import ws_echo
from harness import check, eq, exchange, get, wait_until
from test_websocket import Echo, connect, open_ws


class RawApp:
    """A TCP server in a thread. `script(conn_no, sock, head, rest)` answers each request head;
    every connection's number, request lines and raw bytes after the heads are recorded."""

    def __init__(self, h, script):
        self.script = script
        self.lock = threading.Lock()
        self.requests = []  # (connection number, request line)
        self.raw = {}  # connection number -> bytes read after the handled heads
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.n = 0
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stop:
            try:
                s, _ = self.srv.accept()
            except OSError:
                return
            self.n += 1
            threading.Thread(target=self.serve, args=(self.n, s), daemon=True).start()

    def record(self, no, data):
        with self.lock:
            self.raw[no] = self.raw.get(no, b"") + data

    def serve(self, no, s):
        s.settimeout(10)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    b = s.recv(65536)
                    if not b:
                        return
                    buf += b
                head, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.requests.append((no, head.split(b"\r\n")[0].decode("latin-1")))
                keep = self.script(no, s, head.decode("latin-1"), buf)
                if keep == "raw":  # record everything else this connection sends
                    self.record(no, buf)
                    while True:
                        b = s.recv(65536)
                        if not b:
                            return
                        self.record(no, b)
                buf = b""
                if not keep:
                    return
        except OSError:
            return
        finally:
            s.close()

    def close(self):
        self.stop = True
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the accept loop (tcp_target.stop)
        except OSError:
            pass
        self.srv.close()


def header(head, name):
    for line in head.split("\r\n")[1:]:
        n, _, v = line.partition(":")
        if n.strip().lower() == name.lower():
            return v.strip()
    return None


def switch(s, head):
    s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n" %
               ws_echo.accept_for(header(head, "Sec-WebSocket-Key"))).encode())


def gateway_for(h, app, extra=None, timeouts=None):
    return h.gateway(h.config([h.app(app)], extra=extra, timeouts=timeouts))


# ---- the upstream connection after an upgrade that did not happen -----------------------------

def test_wsa_no_upstream_reuse_after_refused_upgrade(h):
    """The app answers the upgrade with a keep-alive 426 (or 200): the upstream connection was
    asked to switch protocols, so it must never carry another request (an app, or a proxy in
    front of it, that tunnels on any answer would get the next user's request raw)."""
    def script(no, s, head, rest):
        body = b"no"
        s.sendall(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\n\r\n" + body)
        return True  # keep-alive

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        r, closed, _ = exchange(gw.port, ws_echo.handshake_request())
        eq(r[0].status, 426, "the app's answer passed through")
        check(closed, "client connection left open after a refused upgrade")
        eq(get(gw.port, "/after").status, 426, "plain request")
        eq(len(app.requests), 2, "requests at the app")
        no_ws, no_plain = app.requests[0][0], app.requests[1][0]
        check(no_ws != no_plain,
              "the plain request rode the connection that was asked to upgrade: %r" % app.requests)
    finally:
        app.close()


def test_wsa_101_to_plain_request_is_502(h):
    """A 101 nobody asked for (plain GET, or an h2c upgrade the gateway never forwards) is a
    502; the connection it came on is never used again."""
    def script(no, s, head, rest):
        if head.startswith("GET /ok"):
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            return True
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
                  b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        return "raw"

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        eq(get(gw.port, "/x").status, 502, "stray 101 to a plain GET")
        r = get(gw.port, "/x", headers=[("Upgrade", "h2c"), ("Connection", "Upgrade")])
        eq(r.status, 502, "101 to an h2c upgrade (never forwarded)")
        eq(get(gw.port, "/ok").status, 200, "next request")
        nos = [no for no, _ in app.requests]
        eq(len(set(nos)), 3, "a connection that sent a stray 101 was reused: %r" % app.requests)
    finally:
        app.close()


def test_wsa_raw_bytes_after_non_101(h):
    """The app answers 200 with Content-Length 0 and goes on with WebSocket frames and a second
    response in the same write: the client gets the 200 and nothing else."""
    def script(no, s, head, rest):
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + ws_echo.frame(1, b"sneaky") +
                  b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nowned")
        return "raw"

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        r, closed, raw = exchange(gw.port, ws_echo.handshake_request() + b"GET /admin HTTP/1.1\r\n"
                                  b"Host: app.test\r\n\r\n")
        eq([x.status for x in r], [200], "responses to the client")
        check(b"sneaky" not in raw and b"owned" not in raw, "raw upstream bytes reached the client")
        check(closed, "connection left open")
        time.sleep(0.3)
        check(all(b"/admin" not in v for v in app.raw.values()), "pipelined request reached the app")
        eq(len(app.requests), 1, "requests at the app")
    finally:
        app.close()


def test_wsa_pipelined_request_after_upgrade_head(h):
    """A request pipelined behind the upgrade head is not a frame: the stream closes with 1002
    and not one of its bytes reaches the app."""
    def script(no, s, head, rest):
        switch(s, head)
        return "raw"

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request() +
                  b"GET /admin HTTP/1.1\r\nHost: app.test\r\nX-ZT-User: admin@example.test\r\n\r\n")
        status, _, rest = ws_echo.read_head(s)
        eq(status, 101, "status")
        op, data, _ = ws_echo.read_message(ws_echo.PrefixSock(s, rest))
        eq((op, ws_echo.parse_close(data)[0]), (8, 1002), "close for a request after the head")
        time.sleep(0.3)
        got = b"".join(app.raw.values())
        check(b"GET" not in got and b"X-ZT-User" not in got,
              "pipelined request bytes reached the app: %r" % got[:100])
    finally:
        app.close()


# ---- the frame the gateway completes before its close frame -----------------------------------

def unmask_frames(data):
    """Client-to-server frames as [(opcode, unmasked payload)]."""
    out = []
    while len(data) >= 2:
        b0, b1 = data[0], data[1]
        n, i = b1 & 0x7F, 2
        if n == 126:
            n, i = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, i = struct.unpack("!Q", data[2:10])[0], 10
        key = data[i:i + 4] if b1 & 0x80 else b"\0\0\0\0"
        i += 4 if b1 & 0x80 else 0
        if len(data) < i + n:
            break
        out.append((b0 & 0x0F, ws_echo.xor(data[i:i + n], key)))
        data = data[i + n:]
    return out


def test_wsa_cut_text_frame_completed_with_zero_bytes(h):
    """The client is in the middle of a masked text frame when the gateway closes (SIGTERM): the
    rest of the frame the gateway writes must unmask to zero bytes (valid UTF-8), not to the
    mask key (arbitrary bytes: a strict app fails the connection with 1007 and never reads the
    close frame 1001 that follows)."""
    def script(no, s, head, rest):
        switch(s, head)
        return "raw"

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request())
        status, _, rest = ws_echo.read_head(s)
        eq(status, 101, "status")
        # a 40-byte text frame with a mask key whose bytes are not valid UTF-8 on their own
        whole = bytearray(ws_echo.frame(1, b"x" * 40, mask=True))
        whole[2:6] = b"\xff\xfe\xfd\xfc"
        payload = ws_echo.xor(b"x" * 40, bytes(whole[2:6]))
        whole[6:] = payload
        s.sendall(bytes(whole[:6 + 5]))  # header + 5 payload bytes
        check(wait_until(lambda: len(b"".join(app.raw.values())) >= 11, 5), "first bytes")
        gw.proc.signal(15)
        check(wait_until(lambda: len(unmask_frames(b"".join(app.raw.values()))) >= 2, 5),
              "the app got no completed frame and close: %r" % app.raw)
        frames = unmask_frames(b"".join(app.raw.values()))
        eq(frames[0][0], 1, "opcode of the completed frame")
        eq(frames[0][1], b"x" * 5 + b"\0" * 35, "the completed frame's payload at the app")
        eq((frames[1][0], ws_echo.parse_close(frames[1][1])[0]), (8, 1001), "then the close")
        frames[0][1].decode("utf-8")
    finally:
        app.close()


# ---- memory and the audit trail ---------------------------------------------------------------

def test_wsa_flood_before_the_101_is_bounded(h):
    """The app takes its time to switch while the client already streams 48 MiB of frames: the
    gateway stops reading (memory bounded); once switched every byte arrives in order."""
    total = 48 << 20
    answered = threading.Event()
    received = [0]

    def script(no, s, head, rest):
        answered.wait(10)
        switch(s, head)
        received[0] += len(rest)
        while received[0] < total:
            b = s.recv(1 << 20)
            if not b:
                break
            received[0] += len(b)
        return False

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request())
        rss0 = gw.rss_kb()
        chunk = ws_echo.frame(2, b"\x5a" * ((1 << 20) - 14), mask=True)
        sent = [0]

        def pump():
            try:
                while sent[0] < total:
                    s.sendall(chunk[:min(len(chunk), total - sent[0])])
                    sent[0] += min(len(chunk), total - sent[0])
            except OSError:
                pass

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        time.sleep(1.5)
        grown = gw.rss_kb() - rss0
        print("    gateway RSS grew by %d KiB before the 101 (client sent %d KiB)" %
              (grown, sent[0] >> 10))
        check(grown < 16 * 1024, "gateway RSS grew by %d KiB before the 101" % grown)
        answered.set()
        t.join(30)
        check(wait_until(lambda: received[0] >= total, 30),
              "bytes at the app %d of %d" % (received[0], total))
    finally:
        answered.set()
        app.close()


def close_records(audit):
    recs = []
    if not os.path.exists(audit):
        return recs
    for line in open(audit):
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("class_uid") == 4001 and e.get("activity_id") == 2:
            recs.append(e)
    return recs


def test_wsa_close_record_reason_and_exact_bytes(h):
    """The Close record of a stream the client broke (unmasked frame) says why and counts
    exactly the bytes moved each way (leftovers after both heads included, the rejected bytes
    and the gateway's own close frames not)."""
    echo = Echo(h)
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    gw = h.gateway(h.config([h.app(echo)], extra={"audit": {"path": audit}}))
    s = connect(gw)
    early = ws_echo.frame(1, b"early", mask=True)
    s.sendall(ws_echo.handshake_request(path="/ws?hello=1") + early)
    status, _, rest = ws_echo.read_head(s)
    eq(status, 101, "status")
    ws = ws_echo.PrefixSock(s, rest)
    eq(ws_echo.read_message(ws)[:2], (1, b"hello"), "hello")
    eq(ws_echo.read_message(ws)[:2], (1, b"early"), "echo of early")
    f2 = ws_echo.frame(2, b"b" * 300, mask=True)
    ws.sendall(f2)
    eq(ws_echo.read_message(ws)[:2], (2, b"b" * 300), "echo")
    ws.sendall(ws_echo.frame(1, b"unmasked", mask=False))
    op, data, _ = ws_echo.read_message(ws)
    eq((op, ws_echo.parse_close(data)[0]), (8, 1002), "close")
    check(wait_until(lambda: close_records(audit), 5), "no Close record")
    rec = close_records(audit)[-1]
    flat = json.dumps(rec)
    check("unmasked" in flat, "reason not in the Close record: %s" % flat[:400])
    traffic = rec.get("traffic", {})
    up = len(early) + len(f2)
    down = len(ws_echo.frame(1, b"hello")) + len(ws_echo.frame(1, b"early")) + \
        len(ws_echo.frame(2, b"b" * 300))
    eq((traffic.get("bytes_in"), traffic.get("bytes_out")), (up, down), "bytes in the record")


def refused_records(audit):
    out = []
    if os.path.exists(audit):
        for line in open(audit):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("class_uid") == 4002 and e.get("message") == "request refused":
                out.append(json.dumps(e))
    return out


def test_wsa_every_handshake_refusal_is_audited(h):
    """A handshake refused after sign-in and policy (426 version, 400 bad key / POST / body) has
    its audit record with the reason, like the 403s (foreign Origin)."""
    echo = Echo(h)
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    gw = h.gateway(h.config([h.app(echo)], extra={"audit": {"path": audit}}))
    cases = [(dict(version="8"), 426, "version"), (dict(key=None), 400, "Sec-WebSocket-Key"),
             (dict(method="POST"), 400, "method"), (dict(origin="null"), 403, "Origin"),
             (dict(extra=["Sec_WebSocket_Key: AAAAAAAAAAAAAAAAAAAAAA=="]), 400, "underscore")]
    for kw, status, word in cases:
        r, _, _ = exchange(gw.port, ws_echo.handshake_request(**kw))
        eq(r[0].status, status, "status for %r" % kw)
        check(wait_until(lambda: any(word in x for x in refused_records(audit)), 5),
              "no audit record for the refused handshake %r" % kw)
        rec = json.loads([x for x in refused_records(audit) if word in x][-1])
        eq(rec.get("decision"), "block", "decision in the record for %r" % kw)
    eq(echo.events("handshake"), [], "a refused handshake reached the app")


def test_wsa_handshake_hop_by_hop_never_reaches_the_app(h):
    """The checked handshake reaches the app with our Connection/Upgrade only: the client's
    hop-by-hop fields (and those it names in Connection), HTTP2-Settings, ztgate's own cookies
    and X-ZT-* it forged never do; the 101 back carries no hop-by-hop field of the app's."""
    def script(no, s, head, rest):
        seen.append(head)
        s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade, X-App-Secret\r\nX-App-Secret: s3cret\r\nKeep-Alive: 5\r\n"
                   "Proxy-Authenticate: Basic\r\nSec-WebSocket-Accept: %s\r\n\r\n" %
                   ws_echo.accept_for(header(head, "Sec-WebSocket-Key"))).encode())
        return "raw"

    seen = []
    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request(connection="keep-alive, Upgrade, X-Hop, TE", extra=[
            "X-Hop: 1", "TE: trailers", "Keep-Alive: 5", "Proxy-Connection: keep-alive",
            "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA", "Transfer-Encoding-X: no",
            "Cookie: ztgate_session=abc; app=1", "X-ZT-User: admin@example.test",
            "X_ZT_User: admin@example.test", "Proxy-Authorization: Basic Zm9vOmJhcg=="]))
        status, headers, _ = ws_echo.read_head(s)
        eq(status, 101, "status")
        for name in ("x-app-secret", "keep-alive", "proxy-authenticate"):
            check(name not in headers, "the app's hop-by-hop %s reached the client" % name)
        eq(headers.get("connection", "").lower(), "upgrade", "Connection to the client")
        head = seen[0].lower()
        for bad in ("x-hop:", "\r\nte:", "keep-alive", "proxy-connection", "http2-settings",
                    "ztgate_session", "x-zt-user: admin", "x_zt_user", "proxy-authorization"):
            check(bad not in head, "%r reached the app:\n%s" % (bad, seen[0]))
        eq(header(seen[0], "Connection"), "Upgrade", "Connection at the app")
        eq(header(seen[0], "Upgrade"), "websocket", "Upgrade at the app")
        check("app=1" in (header(seen[0], "Cookie") or ""), "the app's own cookie was dropped")
    finally:
        app.close()


def test_wsa_backpressure_app_not_reading(h):
    """The client pushes 64 MiB while the app reads nothing: the gateway stops reading from the
    client (memory bounded); every byte arrives once the app reads."""
    total = 64 << 20
    go = threading.Event()
    received = [0]

    def script(no, s, head, rest):
        switch(s, head)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        go.wait(20)
        received[0] += len(rest)
        while received[0] < total:
            b = s.recv(1 << 20)
            if not b:
                break
            received[0] += len(b)
        return False

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request())
        status, _, _ = ws_echo.read_head(s)
        eq(status, 101, "status")
        rss0 = gw.rss_kb()
        chunk = ws_echo.frame(2, b"\xa5" * ((1 << 20) - 14), mask=True)

        def pump():
            try:
                for _ in range(total // len(chunk)):
                    s.sendall(chunk)
                s.sendall(chunk[:total % len(chunk)])
            except OSError:
                pass

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        time.sleep(1.5)
        grown = gw.rss_kb() - rss0
        print("    gateway RSS grew by %d KiB while the app did not read" % grown)
        check(grown < 24 * 1024, "gateway RSS grew by %d KiB: no backpressure" % grown)
        go.set()
        t.join(60)
        check(wait_until(lambda: received[0] >= total, 30),
              "bytes at the app %d of %d" % (received[0], total))
    finally:
        go.set()
        app.close()


def test_wsa_101_during_shutdown_closes_1001(h):
    """SIGTERM while the app has not answered the upgrade yet: its 101 arrives during the drain.
    That WebSocket must end like the ones already open (1001 both ways, Close record "gateway
    shutting down"), not live on until the drain time is over and then be cut without a word."""
    def script(no, s, head, rest):
        sigterm_sent.wait(10)
        time.sleep(0.3)
        switch(s, head)
        return "raw"

    sigterm_sent = threading.Event()
    app = RawApp(h, script)
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    gw = gateway_for(h, app, extra={"audit": {"path": audit}}, timeouts={"drain": "30s"})
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request())
        check(wait_until(lambda: app.requests, 5), "the handshake never reached the app")
        gw.proc.signal(15)
        sigterm_sent.set()
        s.settimeout(10)
        status, _, rest = ws_echo.read_head(s)
        eq(status, 101, "status")
        op, data, _ = ws_echo.read_message(ws_echo.PrefixSock(s, rest))
        eq((op, ws_echo.parse_close(data)[0]), (8, 1001), "close frame to the client")
        check(wait_until(lambda: len(unmask_frames(b"".join(app.raw.values()))) >= 1, 5),
              "the app got no close frame")
        frames = unmask_frames(b"".join(app.raw.values()))
        eq((frames[0][0], ws_echo.parse_close(frames[0][1])[0]), (8, 1001), "close at the app")
        eq(gw.proc.wait(20), 0, "exit status")
        eq([r.get("reasons") for r in close_records(audit)], ["gateway shutting down"],
           "Close record reason")
    finally:
        app.close()


def test_wsa_101_one_byte_per_write(h):
    """The app's 101 and its first frame cut one byte per write (an interim 100 before it):
    the head is checked whole, the frame after it arrives intact."""
    def script(no, s, head, rest):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = (b"HTTP/1.1 100 Continue\r\n\r\n"
               b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Accept: " +
               ws_echo.accept_for(header(head, "Sec-WebSocket-Key")).encode() + b"\r\n\r\n" +
               ws_echo.frame(1, b"first"))
        for i in range(len(out)):
            s.sendall(out[i:i + 1])
            time.sleep(0.001)
        return "raw"

    app = RawApp(h, script)
    gw = gateway_for(h, app)
    try:
        s = connect(gw)
        s.sendall(ws_echo.handshake_request())
        status, _, rest = ws_echo.read_head(s)
        eq(status, 101, "status")
        eq(ws_echo.read_message(ws_echo.PrefixSock(s, rest))[:2], (1, b"first"), "first frame")
    finally:
        app.close()


# ---- a reload re-checks live WebSockets like new handshakes ------------------------------------

def _reload_closes(h, app_kw_after, reload_seen, reason_has, origin=None, audit=None, echo2=None):
    """Open a WebSocket, reload with the app changed by app_kw_after, wait until the reload has
    taken effect (reload_seen(gw)), then the live stream must get a close frame 1008 naming why
    instead of the echo of the next message."""
    echo = Echo(h)
    extra = {"audit": {"path": audit}} if audit else None
    cfg = h.config([h.app(echo)], extra=extra)
    gw = h.gateway(cfg)
    ws, st, _ = open_ws(gw, origin=origin)
    eq(st, 101, "status")
    cfg2 = h.config([h.app(echo2 or echo, **app_kw_after)], extra=extra)
    cfg2["gateway"] = cfg["gateway"]
    gw.reload(cfg2)
    check(wait_until(lambda: reload_seen(gw), 5), "the reload never took effect")
    time.sleep(0.6)  # more than two re-evaluation ticks
    ws.settimeout(5)
    ws.sendall(ws_echo.frame(1, b"after", mask=True))
    op, data, _ = ws_echo.read_message(ws)
    code, reason = ws_echo.parse_close(data) if op == 8 else (None, data)
    eq((op, code), (8, 1008), "close after reload (got %r)" % (reason,))
    check(reason_has in reason, "close reason %r does not say %r" % (reason, reason_has))
    return gw


def _refused(gw, origin=None):
    s, status, _ = open_ws(gw, origin=origin, extra=["Accept: application/json"])
    s.close()
    return status in (401, 403)


def test_wsa_reload_public_app_to_internal_closes_anonymous_ws(h):
    """An anonymous stream (public app, no session) is re-checked too: a reload that makes the
    app need sign-in (new handshakes: 401) ends it, as the pipeline would refuse it now."""
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    _reload_closes(h, {"sensitivity": "internal"}, _refused, "no longer public", audit=audit)
    check(wait_until(lambda: close_records(audit), 5), "no Close record")
    check("no longer public" in close_records(audit)[-1].get("reasons", ""),
          "Close record reason: %r" % close_records(audit)[-1].get("reasons"))


def test_wsa_reload_websocket_off_closes_live_ws(h):
    """`websocket: false` by reload closes a live WebSocket (1008, the reason names it)."""
    _reload_closes(h, {"websocket": False}, _refused, "WebSocket turned off by config reload")


def test_wsa_reload_origins_no_longer_admit_closes_live_ws(h):
    """The handshake's Origin is kept with the stream: a reload whose websocket_origins no
    longer admit it closes the live WebSocket; a browser-less one (no Origin) stays."""
    own = "http://app.test"
    _reload_closes(h, {"websocket_origins": ["https://portal.example"]},
                   lambda gw: _refused(gw, origin=own), "Origin no longer allowed", origin=own)


def test_wsa_reload_origins_keeps_ws_without_origin(h):
    """The same reload leaves a WebSocket without Origin (not a browser) open: new handshakes
    without Origin are admitted too."""
    echo = Echo(h)
    cfg = h.config([h.app(echo)])
    gw = h.gateway(cfg)
    ws, st, _ = open_ws(gw)
    eq(st, 101, "status")
    cfg2 = h.config([h.app(echo, websocket_origins=["https://portal.example"])])
    cfg2["gateway"] = cfg["gateway"]
    gw.reload(cfg2)
    check(wait_until(lambda: _refused(gw, origin="http://app.test"), 5), "reload")
    time.sleep(0.6)
    ws.settimeout(5)
    ws.sendall(ws_echo.frame(1, b"still", mask=True))
    eq(ws_echo.read_message(ws)[:2], (1, b"still"), "echo after the reload")


def test_wsa_reload_changed_upstream_closes_live_ws(h):
    """A reload that points the app at another upstream ends the live WebSocket to the old one
    (like a tunnel whose target changed)."""
    echo2 = Echo(h, name="ws-echo-2")

    def seen(gw):
        s, st, _ = open_ws(gw)
        s.close()
        return st == 101 and len(echo2.events("handshake")) > 0

    _reload_closes(h, {}, seen, "upstream changed by config reload", echo2=echo2)
