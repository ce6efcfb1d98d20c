"""Access log: one JSON object per line with the documented fields."""
import json
import os

from harness import check, eq, get, wait_until

FIELDS = ["time", "conn_id", "request_id", "client_ip", "method", "host", "path", "status",
          "bytes_in", "bytes_out", "upstream", "duration_us"]


def _entries(path, n):
    def read():
        if not os.path.exists(path):
            return None
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        return lines if len(lines) >= n else None

    lines = wait_until(read, 5)
    check(lines, "fewer than %d access log lines in %s within 5s" % (n, path))
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            raise AssertionError("access log line is not JSON: %r" % line)
    return out


def test_access_log_fields(h):
    gw, up = h.simple()
    c = h.connect(gw.port)
    eq(c.request("GET", "/one?x=1").status, 200, "first")
    eq(c.request("POST", "/two", body=b"12345").status, 200, "second")
    eq(get(gw.port, "/", host="nope.test").status, 404, "unknown host")
    entries = _entries(gw.access_log_path(), 3)
    for e in entries:
        missing = [f for f in FIELDS if f not in e]
        eq(missing, [], "fields missing in %r" % e)
        check(isinstance(e["time"], str) and e["time"], "time should be a timestamp string")
        check(isinstance(e["duration_us"], int) and e["duration_us"] >= 0, "duration_us")
        check(isinstance(e["bytes_in"], int) and isinstance(e["bytes_out"], int),
              "bytes_in/bytes_out should be integers")
        eq(e["client_ip"], "127.0.0.1", "client_ip")
    first = next(e for e in entries if e["path"].startswith("/one"))
    second = next(e for e in entries if e["path"] == "/two")
    denied = next(e for e in entries if e["host"] == "nope.test")
    eq((first["method"], first["status"], first["host"]), ("GET", 200, "app.test"), "first entry")
    eq((second["method"], second["status"]), ("POST", 200), "second entry")
    check(second["bytes_in"] >= 5, "bytes_in of a 5-byte POST is %r" % second["bytes_in"])
    check(first["bytes_out"] > 0, "bytes_out of a 200 is 0")
    eq(first["conn_id"], second["conn_id"], "same conn_id on one keep-alive connection")
    check(denied["conn_id"] != first["conn_id"], "new connection has a new conn_id")
    ids = [e["request_id"] for e in entries]
    eq(len(set(ids)), len(ids), "request_id unique")
    eq(denied["status"], 404, "status of the denied request")
    check(first["upstream"] not in (None, "", "-"), "upstream of a proxied request is empty")
    check(denied["upstream"] in (None, "", "-"),
          "a denied request names an upstream: %r" % denied["upstream"])


def test_access_log_one_line_per_request_with_odd_target(h):
    """A request-target with encoded quotes/newlines still yields one valid JSON line."""
    gw, up = h.simple()
    get(gw.port, "/q%22?a=%22x%22%0A%7B%22status%22:1%7D")
    entries = _entries(gw.access_log_path(), 1)
    eq(len(entries), 1, "one line per request")
