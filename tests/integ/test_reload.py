"""SIGHUP reloads the config (a bad one is refused and the old one keeps serving); SIGTERM drains
in-flight requests and exits 0."""
import re
import signal
import socket
import threading
import time

from harness import check, eq, get, timeout, wait_until


def _status(port, host):
    try:
        return get(port, "/", host=host).status
    except (OSError, AssertionError):
        return None


@timeout(30)
def test_sighup_good_config_adds_app(h):
    up = h.upstream()
    cfg = h.config([h.app(up, name="a", host="a.test")])
    gw = h.gateway(cfg)
    eq(_status(gw.port, "b.test"), 404, "b.test before reload")
    cfg["apps"].append(h.app(up, name="b", host="b.test"))
    gw.reload(cfg)
    check(wait_until(lambda: _status(gw.port, "b.test") == 200, 10),
          "new app not served within 10s of SIGHUP")
    eq(_status(gw.port, "a.test"), 200, "old app after reload")
    check(gw.alive(), "ztgate died on reload")


@timeout(30)
def test_sighup_removes_app(h):
    up = h.upstream()
    cfg = h.config([h.app(up, name="a", host="a.test"), h.app(up, name="b", host="b.test")])
    gw = h.gateway(cfg)
    eq(_status(gw.port, "b.test"), 200, "b.test before reload")
    cfg["apps"] = cfg["apps"][:1]
    gw.reload(cfg)
    check(wait_until(lambda: _status(gw.port, "b.test") == 404, 10),
          "removed app still served 10s after SIGHUP")


@timeout(30)
def test_sighup_bad_config_keeps_old(h):
    up = h.upstream()
    cfg = h.config([h.app(up, name="a", host="a.test")])
    gw = h.gateway(cfg)
    with open(gw.config_path) as f:
        lines = f.read().splitlines()
    # An unknown key under gateway:, right after the workers line.
    idx = next(i for i, l in enumerate(lines) if l.strip().startswith("workers:"))
    indent = lines[idx][:len(lines[idx]) - len(lines[idx].lstrip())]
    lines.insert(idx + 1, indent + "no_such_key: 1")
    gw.reload("\n".join(lines) + "\n")
    bad_line = idx + 2
    pattern = re.compile(r"%s:%d:\d+:" % (re.escape(gw.config_path), bad_line))
    check(wait_until(lambda: pattern.search(gw.stderr_text() + gw.proc.stdout_text()), 10),
          "no error line naming %s:%d:COL after SIGHUP" % (gw.config_path, bad_line))
    check(gw.alive(), "ztgate exited on a bad reload")
    eq(_status(gw.port, "a.test"), 200, "old config still serving")


@timeout(40)
def test_sigterm_drains_in_flight_request(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up)], timeouts={"drain": "10s"}))
    result = {}

    def slow_request():
        try:
            r = get(gw.port, "/slow?ms=1500")
            result["status"] = r.status
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = repr(e)

    t = threading.Thread(target=slow_request)
    t.start()
    check(up.wait_requests(1, 5), "slow request did not reach the upstream")
    gw.proc.signal(signal.SIGTERM)
    time.sleep(0.3)
    # New connections are no longer served while draining.
    refused = False
    try:
        with socket.create_connection(("127.0.0.1", gw.port), timeout=1) as s:
            s.sendall(b"GET /new HTTP/1.1\r\nHost: app.test\r\n\r\n")
            s.settimeout(1.0)
            data = s.recv(100)
            refused = not data.startswith(b"HTTP/1.1 200")
    except (ConnectionRefusedError, ConnectionResetError, socket.timeout):
        refused = True
    check(refused, "a new connection was served during drain")
    t.join(10)
    eq(result.get("status"), 200, "in-flight request result (%s)" % result.get("error"))
    rc = gw.proc.wait(10)
    eq(rc, 0, "exit status after SIGTERM")
    check("/new" not in up.paths(), "request on a new connection reached the upstream")


@timeout(30)
def test_sigterm_idle_exits_promptly(h):
    gw, up = h.simple()
    c = h.connect(gw.port)
    eq(c.request("GET", "/").status, 200, "request before SIGTERM")
    start = time.monotonic()
    gw.proc.signal(signal.SIGTERM)
    rc = gw.proc.wait(5)
    check(rc is not None, "ztgate still running 5s after SIGTERM with only an idle connection")
    eq(rc, 0, "exit status")
    check(time.monotonic() - start < 2.5, "exit took %.1fs" % (time.monotonic() - start))
