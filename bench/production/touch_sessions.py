#!/usr/bin/env python3
"""Use every session cookie of a file once: one proxied request each, over a few keep-alive
connections (loopback only), so each session is looked up, validated and cached by ztgate.

usage: touch_sessions.py PORT HOST COOKIES_FILE [CONNECTIONS]

Prints `touched ok=A other=B failed=C seconds=S` (A: answers 200 with the 1 KiB body)."""
import selectors
import socket
import sys
import time

from holdconns import parse_head, Conn


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: touch_sessions.py PORT HOST COOKIES_FILE [CONNECTIONS]")
    port, host = int(sys.argv[1]), sys.argv[2]
    with open(sys.argv[3]) as f:
        cookies = [line.strip() for line in f if line.strip()]
    nconn = int(sys.argv[4]) if len(sys.argv) == 5 else 32
    template = "GET /1k.html HTTP/1.1\r\nHost: %s\r\nCookie: ztgate_session=%%s\r\n\r\n" % host
    sel = selectors.DefaultSelector()
    nxt, ok, other, failed, live = 0, 0, 0, 0, 0
    start = time.monotonic()

    def send_next(c):
        nonlocal nxt
        c.out = (template % cookies[nxt]).encode()
        c.inp, c.need, c.status = b"", None, 0
        nxt += 1
        sel.modify(c.sock, selectors.EVENT_WRITE, c)

    for _ in range(min(nconn, len(cookies))):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        c = Conn(s, b"")
        sel.register(s, selectors.EVENT_READ, c)
        send_next(c)
        live += 1
    deadline = start + 600
    while live and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    c.out = c.out[c.sock.send(c.out):]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                failed += 1
                sel.unregister(c.sock)
                c.sock.close()
                live -= 1
                continue
            c.inp += data
            if c.need is None:
                parse_head(c)
            if c.need is None or len(c.inp) < c.need:
                continue
            if c.status == 200 and len(c.inp) == c.need:
                ok += 1
            else:
                other += 1
            if nxt < len(cookies):
                send_next(c)
            else:
                sel.unregister(c.sock)
                c.sock.close()
                live -= 1
    print("touched ok=%d other=%d failed=%d seconds=%.1f"
          % (ok, other, failed + (len(cookies) - nxt), time.monotonic() - start))


if __name__ == "__main__":
    main()
