#!/usr/bin/env python3
"""Open N keep-alive connections to a proxy, make one request on each, and hold them idle.

usage: holdconns.py PORT HOST COOKIE N [SOURCES]

Loopback only: connects to 127.0.0.1:PORT from SOURCES source addresses (127.0.0.11,
127.0.0.12, ...; default 8), so no single address holds more than N/SOURCES connections (a
per-address connection limit then does not decide the result). Each connection sends
`GET /1k.html` with the session cookie and reads the whole answer; at most 256 connections
are being opened at a time. Then it prints one line `ready ok=A failed=B` and holds every
connection open, idle, until its standard input closes (or 600 s pass), then prints
`held open=C of A` (connections the server had not closed) and exits. Never sends anything
after the first answer."""
import errno
import os
import selectors
import socket
import sys
import time

BATCH = 256
DEADLINE_S = 600


class Conn:
    def __init__(self, sock, request):
        self.sock = sock
        self.out = request
        self.inp = b""
        self.need = None  # bytes of a complete answer, once the head is read
        self.status = 0


def parse_head(c):
    end = c.inp.find(b"\r\n\r\n")
    if end < 0:
        return
    head = c.inp[:end].decode("latin-1").split("\r\n")
    c.status = int(head[0].split(" ")[1])
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    c.need = end + 4 + length


def open_all(port, host, cookie, n, sources):
    request = ("GET /1k.html HTTP/1.1\r\nHost: %s\r\nCookie: ztgate_session=%s\r\n"
               "User-Agent: ztgate-bench-holdconns\r\n\r\n" % (host, cookie)).encode()
    sel = selectors.DefaultSelector()
    done, failed, pending, started = [], 0, 0, 0
    deadline = time.monotonic() + 120
    while (started < n or pending) and time.monotonic() < deadline:
        while started < n and pending < BATCH:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.%d" % (11 + started % sources), 0))
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
            else:
                sel.register(s, selectors.EVENT_WRITE, Conn(s, request))
                pending += 1
            started += 1
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    sent = c.sock.send(c.out)
                    c.out = c.out[sent:]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if data:
                c.inp += data
                if c.need is None:
                    parse_head(c)
                if c.need is None or len(c.inp) < c.need:
                    continue
            sel.unregister(c.sock)
            pending -= 1
            if data and c.status == 200 and len(c.inp) == c.need:
                done.append(c.sock)
            else:
                c.sock.close()
                failed += 1
    failed += pending
    return done, failed


def still_open(socks):
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                continue  # the server closed it
        except BlockingIOError:
            pass  # nothing to read: still open
        except OSError:
            continue
        n += 1
    return n


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: holdconns.py PORT HOST COOKIE N [SOURCES]")
    port, host, cookie, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    sources = int(sys.argv[5]) if len(sys.argv) == 6 else 8
    socks, failed = open_all(port, host, cookie, n, sources)
    print("ready ok=%d failed=%d" % (len(socks), failed), flush=True)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        if sel.select(timeout=1.0) and not os.read(sys.stdin.fileno(), 4096):
            break
    print("held open=%d of %d" % (still_open(socks), len(socks)), flush=True)


if __name__ == "__main__":
    main()
