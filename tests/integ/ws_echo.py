#!/usr/bin/python3
"""A WebSocket (RFC 6455) echo app for the integration suite, standard library only, plus the
client side the tests use over raw sockets.

    ws_echo.py [--port N] [--log FILE]

Binds 127.0.0.1 (port 0 = any free port) and prints "PORT <n>" once listening. Every event is
appended to FILE as one JSON line: {"event": "handshake", "headers": [[name, value]...]},
{"event": "close", "code": N, "reason": "...", "masked": true}, {"event": "raw", "bytes": N}
(bytes that arrived on a connection that did not switch protocols), {"event": "eof"}.

  GET /            a page whose script opens a WebSocket to /ws on its own origin and records
                   every message and the CloseEvent in window.__ws (see PAGE)
  GET /ws          the echo: text and binary messages come back as sent (fragments reassembled),
                   ping gets pong, close gets its close echoed. Query words change the answer:
                   answer=N   answer status N (200, 404, 426...) instead of 101, then keep the
                              connection open and log whatever arrives after (smuggling check)
                   accept=bad a 101 with a wrong Sec-WebSocket-Accept
                   hello=1    a text frame "hello" in the same write as the 101 head
                   push=N     send N bytes in 64 KiB binary frames right after the 101
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024 * 1024

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ws echo</title></head>
<body><h1>WebSocket echo</h1><p id="state">idle</p>
<script>
window.__ws = {opened: false, messages: [], close: null, errors: 0};
window.wsOpen = function (path) {
  return new Promise(function (resolve) {
    var url = location.origin.replace(/^http/, 'ws') + (path || '/ws');
    var ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    window.__sock = ws;
    ws.onopen = function () { window.__ws.opened = true; document.getElementById('state').textContent = 'open'; resolve(true); };
    ws.onmessage = function (e) {
      window.__ws.messages.push(typeof e.data === 'string' ? e.data : {binary: e.data.byteLength, sum: sum(e.data)});
    };
    ws.onerror = function () { window.__ws.errors++; };
    ws.onclose = function (e) {
      window.__ws.close = {code: e.code, reason: e.reason, clean: e.wasClean, at: Date.now()};
      document.getElementById('state').textContent = 'closed ' + e.code + ' ' + e.reason;
      resolve(false);
    };
  });
};
function sum(buf) { var a = new Uint8Array(buf), s = 0; for (var i = 0; i < a.length; i++) s = (s * 31 + a[i]) >>> 0; return s; }
window.wsSum = function (n) { var a = new Uint8Array(n); for (var i = 0; i < n; i++) a[i] = (i * 7) & 255; return sum(a.buffer); };
window.wsEcho = function (count, binaryBytes) {
  var start = window.__ws.messages.length;
  for (var i = 0; i < count; i++) window.__sock.send('message ' + i);
  var want = count;
  if (binaryBytes) {
    var a = new Uint8Array(binaryBytes);
    for (var j = 0; j < binaryBytes; j++) a[j] = (j * 7) & 255;
    window.__sock.send(a.buffer);
    want++;
  }
  return new Promise(function (resolve) {
    var t = setInterval(function () {
      if (window.__ws.messages.length - start >= want || window.__ws.close) {
        clearInterval(t);
        resolve(window.__ws.messages.slice(start));
      }
    }, 10);
  });
};
</script></body></html>
"""


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


# ---- frames (both sides) --------------------------------------------------------------------

def frame(opcode, payload, mask=False, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + xor(payload, key)


def xor(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(len(data), "big")


def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        b = sock.recv(min(n - len(out), 1 << 20))
        if not b:
            raise EOFError("connection closed after %d of %d bytes" % (len(out), n))
        out += b
    return bytes(out)


def read_frame(sock):
    """(fin, opcode, payload, masked) of the next frame; raises EOFError at the end."""
    b0, b1 = recv_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8))[0]
    masked = bool(b1 & 0x80)
    key = recv_exact(sock, 4) if masked else None
    if n > MAX_MESSAGE:
        raise ValueError("frame too large")
    payload = recv_exact(sock, n)
    if masked:
        payload = xor(payload, key)
    return bool(b0 & 0x80), b0 & 0x0F, payload, masked


def read_message(sock):
    """(opcode, payload, masked) of the next data or control message, fragments joined."""
    fin, op, data, masked = read_frame(sock)
    if op >= 8:
        return op, data, masked
    buf = bytearray(data)
    while not fin:
        fin, cont, part, masked = read_frame(sock)
        if cont >= 8:
            continue  # control frames may come between fragments; the tests need none of them
        buf += part
        if len(buf) > MAX_MESSAGE:
            raise ValueError("message too large")
    return op, bytes(buf), masked


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def parse_close(payload):
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


# ---- the client side (tests) ------------------------------------------------------------------

def handshake_request(path="/ws", host="app.test", key="dGhlIHNhbXBsZSBub25jZQ==", version="13",
                      extra=(), origin=None, method="GET", http="HTTP/1.1", upgrade="websocket",
                      connection="Upgrade"):
    lines = ["%s %s %s" % (method, path, http), "Host: " + host]
    if upgrade is not None:
        lines.append("Upgrade: " + upgrade)
    if connection is not None:
        lines.append("Connection: " + connection)
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    if origin is not None:
        lines.append("Origin: " + origin)
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_head(sock, limit=65536):
    """The response head as (status, {lower name: value}, rest bytes already read)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(4096)
        if not b:
            raise EOFError("closed before a response head: %r" % buf[:200])
        buf += b
        if len(buf) > limit:
            raise ValueError("head too large")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


class PrefixSock:
    """A socket whose first recv() calls return bytes already read past a head."""

    def __init__(self, sock, rest):
        self.sock, self.rest = sock, rest

    def recv(self, n):
        if self.rest:
            out, self.rest = self.rest[:n], self.rest[n:]
            return out
        return self.sock.recv(n)

    def sendall(self, data):
        self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


# ---- the server ---------------------------------------------------------------------------------

class Handler(socketserver.BaseRequestHandler):
    def log(self, **event):
        self.server.log_event(event)

    def handle(self):
        sock = self.request
        try:
            status_line, headers, rest = self.read_request(sock)
        except (EOFError, ValueError, OSError):
            return
        method, target, _ = (status_line.split(" ") + ["", "", ""])[:3]
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path.rsplit("/", 1)[-1]
        if path == "ws":
            self.websocket(sock, headers, query, rest)
        else:
            body = PAGE.encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)

    def read_request(self, sock):
        buf = b""
        while b"\r\n\r\n" not in buf:
            b = sock.recv(4096)
            if not b:
                raise EOFError()
            buf += b
            if len(buf) > 65536:
                raise ValueError()
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
        self.log(event="handshake", request=lines[0], headers=headers)
        return lines[0], headers, rest

    def websocket(self, sock, headers, query, rest):
        h = {n.lower(): v for n, v in headers}
        if "answer" in query:
            code = int(query["answer"])
            body = b"not a websocket answer\n"
            # Connection: close, so the gateway never reuses this connection for another request:
            # anything arriving after the answer is then a byte it let through
            sock.sendall(b"HTTP/1.1 %d Nope\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % (code, len(body)) + body)
            self.drain_raw(sock, rest)
            return
        key = h.get("sec-websocket-key", "")
        accept = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" if query.get("accept") == "bad" else accept_for(key)
        out = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode()
        if query.get("hello") == "1":
            out += frame(1, b"hello")
        sock.sendall(out)
        push = int(query.get("push", "0"))
        if push:
            threading.Thread(target=self.push, args=(sock, push), daemon=True).start()
        self.echo(PrefixSock(sock, rest))

    def push(self, sock, n):
        block = bytes((i * 7) & 0xFF for i in range(65536))
        try:
            while n > 0:
                k = min(n, len(block))
                with self.server.send_lock:
                    sock.sendall(frame(2, block[:k]))
                n -= k
        except OSError:
            pass

    def drain_raw(self, sock, rest):
        total = len(rest)
        sock.settimeout(5)
        try:
            while True:
                b = sock.recv(65536)
                if not b:
                    break
                total += len(b)
        except OSError:
            pass
        self.log(event="raw", bytes=total)

    def echo(self, sock):
        while True:
            try:
                op, data, masked = read_message(sock)
            except (EOFError, OSError, ValueError):
                self.log(event="eof")
                return
            if op == 8:
                code, reason = parse_close(data)
                self.log(event="close", code=code, reason=reason, masked=masked)
                try:
                    with self.server.send_lock:
                        sock.sendall(frame(8, data[:2]))
                except OSError:
                    pass
                return
            reply = frame(10, data) if op == 9 else (None if op == 10 else frame(op, data))
            if reply is None:
                continue
            try:
                with self.server.send_lock:
                    sock.sendall(reply)
            except OSError:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, log_path):
        super().__init__(addr, Handler)
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.send_lock = threading.Lock()

    def log_event(self, event):
        if not self.log_path:
            return
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(event) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), args.log)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
