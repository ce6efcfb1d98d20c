#!/usr/bin/python3
"""Test upstream for the integration suite: a threaded HTTP/1.1 server on raw sockets, so what it
reports is exactly what arrived on the wire (request-target unmodified, headers in order).

    upstream.py [--port N] [--log FILE]

Binds 127.0.0.1 (port 0 = any free port) and prints "PORT <n>" on stdout once listening. Every
request head is appended to FILE as one JSON line as soon as it is parsed (before the body), so a
test can tell whether a smuggled second request ever reached it.

Endpoints (chosen by the last path segment, so they work under any app prefix):
  /big?bytes=N   N bytes of pattern() streamed chunked, generated on the fly
  /slow?ms=N     wait N ms, then echo
  /status?code=N respond with that status (small body unless 1xx/204/304)
  /file?type=T[&attachment=1]  a small file with that Content-Type (and Content-Disposition)
  /close         close the connection without a response
  /sink, others  echo as JSON: method, path, version, headers [[name, value]...],
                 body_length, body_sha256 (the body is read streaming, never held)
"""
import argparse
import hashlib
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

BLOCK = 64 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 1000


def pattern_block():
    """64 KiB of deterministic, non-repeating-within-the-block bytes (shared with the tests)."""
    return bytes(((i * 7) ^ (i >> 8) ^ (i >> 13)) & 0xFF for i in range(BLOCK))


_BLOCK = pattern_block()


def pattern_chunks(n):
    """Yields pattern bytes totalling n, in 64 KiB pieces."""
    while n > 0:
        k = min(n, BLOCK)
        yield _BLOCK if k == BLOCK else _BLOCK[:k]
        n -= k


def pattern_sha256(n):
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    return h.hexdigest()


class BadRequest(Exception):
    pass


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 256 * 1024

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _line(self):
        line = self.rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadRequest("line too long")
        return line

    def handle(self):
        try:
            while self._one_request():
                pass
        except (BadRequest, ValueError, ConnectionError, socket.timeout):
            pass

    def _one_request(self):
        line = self._line()
        if not line:
            return False
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            raise BadRequest("bad request line")
        headers = []
        while True:
            h = self._line()
            if not h:
                return False
            if h in (b"\r\n", b"\n"):
                break
            if len(headers) >= MAX_HEADERS:
                raise BadRequest("too many headers")
            name, _, value = h.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append([name, value.strip(" \t")])
        lower = [(n.lower(), v) for n, v in headers]
        te = ",".join(v for n, v in lower if n == "transfer-encoding").lower()
        cl = [v for n, v in lower if n == "content-length"]
        conn = ",".join(v for n, v in lower if n == "connection").lower()
        keep = version == "HTTP/1.1" and "close" not in conn

        record = {"t": time.time(), "method": method, "path": target, "version": version,
                  "headers": headers, "peer": self.client_address[0]}
        self.server.log_request(record)

        length, digest = self._read_body(te, cl)
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        leaf = url.path.rstrip("/").rsplit("/", 1)[-1]
        if method == "HEAD":
            leaf = ""

        if leaf == "close":
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        if leaf == "big":
            self._send_big(int(query.get("bytes", ["0"])[0]), keep)
            return keep
        if leaf == "slow":
            time.sleep(int(query.get("ms", ["1000"])[0]) / 1000.0)
        if leaf == "file":  # a download: ?type=CONTENT-TYPE[&attachment=1]
            ctype = query.get("type", ["text/plain"])[0]
            extra = "Content-Disposition: attachment; filename=\"report.bin\"\r\n" \
                if query.get("attachment") else ""
            body = b"file contents\n" * 100
            self.wfile.write(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n"
                              % (ctype, extra, len(body))).encode() + body)
            self.wfile.flush()
            return keep
        if leaf == "status":
            code = int(query.get("code", ["200"])[0])
            body = b"" if code in (204, 304) or code < 200 else b"status %d\n" % code
            self._send(code, body, "text/plain", keep)
            return keep
        echo = {"method": method, "path": target, "version": version, "headers": headers,
                "body_length": length, "body_sha256": digest}
        body = json.dumps(echo).encode()
        self._send(200, body, "application/json", keep, head_only=(method == "HEAD"))
        return keep

    def _read_body(self, te, cl):
        h = hashlib.sha256()
        total = 0
        if te:
            # The gateway owns framing towards us; anything but plain chunked is a test failure.
            if te.strip() != "chunked":
                raise BadRequest("unexpected transfer-encoding " + te)
            while True:
                size_line = self._line().split(b";", 1)[0].strip()
                if not size_line:
                    raise BadRequest("missing chunk size")
                size = int(size_line, 16)
                if size == 0:
                    while self._line() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                while size > 0:
                    piece = self.rfile.read(min(size, 1 << 20))
                    if not piece:
                        raise BadRequest("eof in chunk")
                    h.update(piece)
                    total += len(piece)
                    size -= len(piece)
                self._line()
        elif cl:
            n = int(cl[0])
            while n > 0:
                piece = self.rfile.read(min(n, 1 << 20))
                if not piece:
                    raise BadRequest("eof in body")
                h.update(piece)
                total += len(piece)
                n -= len(piece)
        return total, h.hexdigest()

    def _send(self, code, body, ctype, keep, head_only=False):
        head = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n" % (code, reason(code), ctype))
        if code not in (204, 304) and code >= 200:
            head += "Content-Length: %d\r\n" % len(body)
        if not keep:
            head += "Connection: close\r\n"
        out = head.encode() + b"\r\n"
        if not head_only:
            out += body
        self.wfile.write(out)
        self.wfile.flush()

    def _send_big(self, n, keep):
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" \
               "Transfer-Encoding: chunked\r\nX-Body-Length: %d\r\n" % n
        if not keep:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n")
        for c in pattern_chunks(n):
            self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def reason(code):
    return {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
            302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}.get(code, "Status")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, log_path):
        super().__init__(("127.0.0.1", port), Handler)
        self._log = open(log_path, "a", buffering=1) if log_path else None
        self._lock = threading.Lock()

    def log_request(self, record):
        if self._log:
            with self._lock:
                self._log.write(json.dumps(record) + "\n")
                self._log.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    args = ap.parse_args()
    server = Server(args.port, args.log)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
