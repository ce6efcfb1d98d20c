"""Bodies stream through in bounded memory: 100 MiB up and down while ztgate's RSS is sampled.

ZT_INTEG_STREAM_MIB changes the size; the RSS allowance is 64 MiB above idle (256 MiB for
sanitizer builds, whose allocator quarantine keeps freed buffers resident)."""
import hashlib
import os
import socket
import time

from harness import Conn, RssSampler, check, eq, get, timeout
from upstream import pattern_chunks, pattern_sha256

SIZE = int(os.environ.get("ZT_INTEG_STREAM_MIB", "100")) * 1024 * 1024


def _slack_kb(h):
    return (256 if h.sanitized else 64) * 1024


def _idle_rss(h, gw):
    # Warm up both directions once so lazily allocated pools count as idle.
    get(gw.port, "/warm", method="POST", body=b"w" * 100000)
    get(gw.port, "/big?bytes=200000")
    return gw.rss_kb()


@timeout(240)
def test_chunked_upload_100mib(h):
    gw, up = h.simple()
    idle = _idle_rss(h, gw)
    c = h.connect(gw.port, timeout_s=120)
    with RssSampler(gw.pid) as rss:
        c.send(b"POST /sink HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/octet-stream\r\n\r\n")
        for piece in pattern_chunks(SIZE):
            c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.response()
    check(r is not None, "no response to the upload")
    eq(r.status, 200, "status")
    echo = r.json()
    eq(echo["body_length"], SIZE, "bytes received upstream")
    eq(echo["body_sha256"], pattern_sha256(SIZE), "sha256 of the body upstream")
    grew = rss.peak_kb - idle
    check(grew < _slack_kb(h), "RSS grew by %d KiB (idle %d, peak %d) streaming %d MiB up"
          % (grew, idle, rss.peak_kb, SIZE >> 20))


@timeout(240)
def test_content_length_upload_100mib(h):
    gw, up = h.simple()
    idle = _idle_rss(h, gw)
    c = h.connect(gw.port, timeout_s=120)
    with RssSampler(gw.pid) as rss:
        c.send(b"PUT /sink HTTP/1.1\r\nHost: app.test\r\nContent-Length: %d\r\n\r\n" % SIZE)
        for piece in pattern_chunks(SIZE):
            c.send(piece)
        r = c.response()
    eq(r.status, 200, "status")
    eq(r.json()["body_sha256"], pattern_sha256(SIZE), "sha256 of the body upstream")
    grew = rss.peak_kb - idle
    check(grew < _slack_kb(h), "RSS grew by %d KiB streaming %d MiB up" % (grew, SIZE >> 20))


@timeout(240)
def test_download_100mib(h):
    gw, up = h.simple()
    idle = _idle_rss(h, gw)
    c = h.connect(gw.port, timeout_s=120)
    digest = hashlib.sha256()
    got = [0]

    def sink(piece):
        digest.update(piece)
        got[0] += len(piece)

    with RssSampler(gw.pid) as rss:
        c.send(b"GET /big?bytes=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % SIZE)
        r = c.response(body_sink=sink)
    eq(r.status, 200, "status")
    eq(got[0], SIZE, "bytes downloaded")
    eq(digest.hexdigest(), pattern_sha256(SIZE), "sha256 of the download")
    grew = rss.peak_kb - idle
    check(grew < _slack_kb(h), "RSS grew by %d KiB (idle %d, peak %d) streaming %d MiB down"
          % (grew, idle, rss.peak_kb, SIZE >> 20))


@timeout(240)
def test_slow_reader_download_is_bounded(h):
    """A client that reads slowly must not make ztgate buffer the whole response."""
    gw, up = h.simple()
    idle = _idle_rss(h, gw)
    size = min(SIZE, 64 * 1024 * 1024)
    c = Conn(gw.port, timeout_s=120)
    h.conns.append(c)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    digest = hashlib.sha256()
    with RssSampler(gw.pid) as rss:
        c.send(b"GET /big?bytes=%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % size)
        time.sleep(2.0)  # upstream is fast, client is not reading: backpressure must hold
        r = c.response(body_sink=digest.update)
    eq(r.status, 200, "status")
    eq(digest.hexdigest(), pattern_sha256(size), "sha256 of the download")
    grew = rss.peak_kb - idle
    check(grew < _slack_kb(h), "RSS grew by %d KiB while the client was not reading" % grew)
