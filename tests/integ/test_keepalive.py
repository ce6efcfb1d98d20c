"""Persistent connections and pipelining."""
from harness import build_request, check, eq, exchange


def test_several_requests_on_one_connection(h):
    gw, up = h.simple()
    c = h.connect(gw.port)
    for i in range(5):
        r = c.request("GET", "/n%d" % i)
        check(r is not None, "connection closed after %d requests" % i)
        eq(r.status, 200, "status of request %d" % i)
        eq(r.json()["path"], "/n%d" % i, "path of request %d" % i)
        check("close" not in (r.header("Connection") or "").lower(),
              "gateway asked to close a keep-alive connection")
    eq(up.paths(), ["/n%d" % i for i in range(5)], "upstream saw every request once")


def test_keepalive_with_bodies(h):
    gw, up = h.simple()
    c = h.connect(gw.port)
    for size in (0, 1, 1000, 70000):
        r = c.request("POST", "/post", body=b"z" * size)
        eq(r.status, 200, "status")
        eq(r.json()["body_length"], size, "body length upstream")


def test_pipelining_three_requests_in_one_write(h):
    gw, up = h.simple()
    data = b"".join(build_request("GET", "/p%d" % i) for i in (1, 2, 3))
    data += build_request("GET", "/last", headers=[("Connection", "close")])
    responses, closed, _ = exchange(gw.port, data)
    eq([r.status for r in responses], [200, 200, 200, 200], "statuses")
    eq([r.json()["path"] for r in responses], ["/p1", "/p2", "/p3", "/last"],
       "responses in request order")
    check(closed, "Connection: close on the last request must close the connection")


def test_connection_close_is_honoured(h):
    gw, up = h.simple()
    c = h.connect(gw.port)
    r = c.request("GET", "/", headers=[("Connection", "close")])
    eq(r.status, 200, "status")
    check(c.wait_closed(3), "gateway must close after Connection: close")


def test_http10_closes_by_default(h):
    gw, up = h.simple()
    responses, closed, _ = exchange(gw.port, build_request("GET", "/old", version="HTTP/1.0"))
    eq([r.status for r in responses], [200], "statuses")
    check(closed, "HTTP/1.0 request without keep-alive must be closed after the response")
