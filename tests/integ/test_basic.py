"""Basics: proxying, default deny, version, config checking."""
import re

from harness import APP_HOST, check, eq, get, free_port, pg_dsn, yaml_dump

LOC = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def test_get_is_proxied(h):
    gw, up = h.simple()
    r = get(gw.port, "/hello?x=1")
    eq(r.status, 200, "status")
    echo = r.json()
    eq(echo["method"], "GET", "method seen upstream")
    eq(echo["path"], "/hello?x=1", "request-target seen upstream")
    eq(up.paths(), ["/hello?x=1"], "upstream requests")


def test_post_body_is_proxied(h):
    gw, up = h.simple()
    body = b"name=value&x=" + b"y" * 5000
    r = get(gw.port, "/form", method="POST", body=body,
            headers=[("Content-Type", "application/x-www-form-urlencoded")])
    eq(r.status, 200, "status")
    eq(r.json()["body_length"], len(body), "body length seen upstream")


def test_unknown_host_is_denied(h):
    gw, up = h.simple()
    r = get(gw.port, "/", host="other.test", headers=[("Accept", "text/html")])
    eq(r.status, 404, "status for a host no app matches")
    check(b"<" in r.body, "error page should be HTML for a browser, got %r" % r.body[:100])
    r = get(gw.port, "/", host="other.test")  # no Accept: an API client (README)
    eq(r.status, 404, "status for a host no app matches, API client")
    eq(r.json()["error"], "not_found", "API clients get the JSON refusal")
    eq(up.requests(), [], "upstream must not see a request for an unknown host")


def test_host_match_ignores_case_and_port(h):
    gw, up = h.simple()
    eq(get(gw.port, "/", host="APP.Test").status, 200, "Host in upper case")
    eq(get(gw.port, "/", host="%s:%d" % (APP_HOST, gw.port)).status, 200, "Host with port")


def test_version(h):
    r = h.cli("--version")
    eq(r.returncode, 0, "ztgate --version exit status")
    check(re.search(r"\d+\.\d+\.\d+", r.stdout + r.stderr),
          "no version number in %r" % (r.stdout + r.stderr))


def test_check_config_good(h):
    up_port = free_port()
    cfg = h.config([h.app("http://127.0.0.1:%d" % up_port)])
    path = h.path("good.yaml")
    with open(path, "w") as f:
        f.write(yaml_dump(cfg) + "\n")
    r = h.cli("check-config", path)
    eq(r.returncode, 0, "check-config exit status (output: %r)" % (r.stdout + r.stderr))


def _bad_config(h):
    """A config with an unknown key and an invalid value; returns (path, {what: line})."""
    text = """state_dir: {dir}/state
gateway:
  listen:
    - address: "127.0.0.1:{port}"
  workers: 1
  bogus_key: 7
log:
  access: "off"
  error: "-"
audit:
  path: "off"
apps:
  - name: app
    host: app.test
    upstream: "http://127.0.0.1:1"
    sensitivity: top-secret
""".format(dir=h.dir, port=free_port())
    path = h.path("bad.yaml")
    with open(path, "w") as f:
        f.write(text)
    lines = text.splitlines()
    where = {
        "bogus_key": next(i for i, l in enumerate(lines) if "bogus_key" in l) + 1,
        "sensitivity": next(i for i, l in enumerate(lines) if "sensitivity" in l) + 1,
    }
    return path, where


def _diag_lines(output, path, anywhere=False):
    """FILE:LINE:COL: lines for path; anywhere=True also finds them inside log lines."""
    if anywhere:
        pat = re.compile(r"%s:(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$" % re.escape(path))
        return [m.groupdict() for m in map(pat.search, output.splitlines()) if m]
    return [m.groupdict() for m in map(LOC.match, output.splitlines())
            if m and m.group("file") == path]


def test_check_config_bad_reports_file_line_col(h):
    path, where = _bad_config(h)
    r = h.cli("check-config", path)
    check(r.returncode != 0, "check-config of a bad file must fail")
    diags = _diag_lines(r.stdout + r.stderr, path)
    check(diags, "no FILE:LINE:COL: lines in output:\n%s" % (r.stdout + r.stderr))
    by_line = {int(d["line"]): d for d in diags}
    check(where["bogus_key"] in by_line,
          "unknown key on line %d not reported: %r" % (where["bogus_key"], diags))
    eq(int(by_line[where["bogus_key"]]["col"]), 3, "column of the unknown key (1-based)")
    check(where["sensitivity"] in by_line,
          "every error is reported: invalid sensitivity on line %d missing in %r"
          % (where["sensitivity"], diags))


def test_check_config_missing_file(h):
    r = h.cli("check-config", h.path("does-not-exist.yaml"))
    check(r.returncode != 0, "check-config of a missing file must fail")


def test_serve_refuses_bad_config(h):
    path, where = _bad_config(h)
    r = h.cli("serve", "--config", path, timeout_s=15)
    check(r.returncode != 0, "serve must refuse a bad config")
    check(_diag_lines(r.stdout + r.stderr, path, anywhere=True),
          "serve should explain with FILE:LINE:COL lines, got:\n%s" % (r.stdout + r.stderr))


def test_second_gateway_on_a_taken_port_refuses(h):
    """Listeners use SO_REUSEPORT, which the kernel would also grant to a second gateway of the
    same user: it must refuse to start rather than take a share of the first one's traffic."""
    gw, up = h.simple()
    cfg = dict(gw.config)
    cfg["state_dir"] = h.path("second-state")
    cfg["audit"] = {"path": "off"}
    if "store" in cfg and pg_dsn():
        # A store of its own: on the first one's database its own auth.secrets_key would be
        # refused first (docs/CLUSTER.md), and this test is about the port.
        cfg["store"] = h.pg_store_section(cfg["state_dir"])
    path = h.path("second.yaml")
    with open(path, "w") as f:
        f.write(yaml_dump(cfg) + "\n")
    r = h.cli("serve", "--config", path, timeout_s=30)
    check(r.returncode != 0, "a second serve on the same port must exit non-zero")
    said = r.stdout + r.stderr
    check("127.0.0.1:%d: another process is already listening there" % gw.port in said,
          "the refusal names the address and why:\n%s" % said)
    for _ in range(20):
        eq(get(gw.port, "/", host="app.test").status, 200, "the first gateway keeps every request")
