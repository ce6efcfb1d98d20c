"""Timeouts and limits: slowloris, idle keep-alive, dead/slow upstreams, connection cap."""
import socket
import time

from harness import Conn, check, eq, free_port, get, timeout


@timeout(30)
def test_slowloris_headers_cut_off(h):
    gw, up = h.simple(timeouts={"header_read": "1s"})
    c = h.connect(gw.port)
    start = time.monotonic()
    head = b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: " + b"a" * 30 + b"\r\n\r\n"
    closed_at = None
    for b in head:
        try:
            c.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic()
            break
        data, closed = c.read_all(timeout_s=1.0)
        if closed:
            closed_at = time.monotonic()
            check(b" 200 " not in data, "slow request was answered 200")
            break
        if time.monotonic() - start > 8:
            break
    check(closed_at is not None, "connection still open after %.1fs of one byte per second"
          % (time.monotonic() - start))
    check(closed_at - start < 4.0, "closed only after %.1fs (header_read is 1s)"
          % (closed_at - start))
    eq(up.requests(), [], "upstream requests")


@timeout(30)
def test_idle_keepalive_closed(h):
    gw, up = h.simple(timeouts={"keepalive": "1s"})
    c = h.connect(gw.port)
    eq(c.request("GET", "/").status, 200, "first request")
    start = time.monotonic()
    check(c.wait_closed(5.0), "idle keep-alive connection not closed within 5s")
    check(time.monotonic() - start < 4.0, "closed after %.1fs (keepalive is 1s)"
          % (time.monotonic() - start))


@timeout(30)
def test_busy_keepalive_not_closed_early(h):
    gw, up = h.simple(timeouts={"keepalive": "2s"})
    c = h.connect(gw.port)
    for i in range(4):
        eq(c.request("GET", "/k%d" % i).status, 200, "request %d" % i)
        time.sleep(1.0)  # each gap is under the idle timeout


def test_upstream_down_is_502(h):
    dead = free_port()  # nobody listens here
    gw = h.gateway(h.config([h.app("http://127.0.0.1:%d" % dead)]))
    r = get(gw.port, "/", headers=[("Accept", "text/html")])
    eq(r.status, 502, "status with the upstream down")
    check(b"<" in r.body, "error page should be HTML for a browser")
    r = get(gw.port, "/")
    eq(r.status, 502, "status with the upstream down, API client")
    eq(r.json()["error"], "bad_gateway", "API clients get the JSON refusal")


def test_upstream_closes_without_response_is_502(h):
    gw, up = h.simple()
    eq(get(gw.port, "/close").status, 502, "status when the upstream hangs up")
    eq(get(gw.port, "/after").status, 200, "next request works")


@timeout(30)
def test_slow_upstream_is_504(h):
    gw, up = h.simple(timeouts={"upstream_response": "1s"})
    start = time.monotonic()
    r = get(gw.port, "/slow?ms=4000")
    eq(r.status, 504, "status when the upstream is slower than upstream_response")
    check(time.monotonic() - start < 3.5, "504 came after %.1fs" % (time.monotonic() - start))


@timeout(30)
def test_upstream_response_timeout_does_not_cut_fast_upstream(h):
    gw, up = h.simple(timeouts={"upstream_response": "2s"})
    eq(get(gw.port, "/slow?ms=500").status, 200, "status for a 0.5s upstream")


@timeout(40)
def test_max_connections(h):
    cap = 4
    gw, up = h.simple(limits={"max_connections": cap})
    held = []
    for i in range(cap):
        c = h.connect(gw.port)
        eq(c.request("GET", "/held%d" % i).status, 200, "request on held connection %d" % i)
        held.append(c)
    # One more must not be served while the cap is reached (refused, closed, 503 or left waiting).
    extra_status = None
    try:
        extra = Conn(gw.port, timeout_s=2.0)
        h.conns.append(extra)
        extra.send(b"GET /extra HTTP/1.1\r\nHost: app.test\r\n\r\n")
        data, _ = extra.read_all(timeout_s=1.5)
        if data.startswith(b"HTTP/1.1 "):
            extra_status = int(data[9:12])
        extra.close()
    except (OSError, socket.timeout):
        pass
    check(extra_status != 200, "connection over max_connections was served")
    check("/extra" not in up.paths(), "request over the cap reached the upstream")
    for c in held:
        c.close()
    # Capacity comes back once the held connections are gone.
    ok = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not ok:
        try:
            ok = get(gw.port, "/again").status == 200
        except (OSError, AssertionError):
            time.sleep(0.2)
    check(ok, "no request served after the held connections closed")
