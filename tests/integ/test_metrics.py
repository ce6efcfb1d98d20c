"""Prometheus metrics on the admin listener: bearer token required, text format 0.0.4 that a
strict parser accepts, and counters that move by exactly what the test did (sign-ins, second
factors, proxied requests), plus the store and audit gauges."""
import os
import re
import time

from admin_auth import personal_token
from harness import Conn, Skip, check, eq, free_port, get, port_open, wait_until
from portal_client import (EMAIL, PASSWORD, Browser, add_user, enrol, mfa, session_cookie,
                           sign_in)

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse_prometheus(text):
    """Strict enough for our output: {(name, ((label, value), ...)): float}. Checks each sample
    follows a TYPE line of its family, label values use only the three escapes, no series twice,
    the document ends in a newline."""
    check(text.endswith("\n"), "exposition does not end with a newline")
    types, samples = {}, {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        check(line != "", "empty line %d" % n)
        if line.startswith("# HELP "):
            check(len(line.split(" ", 3)) == 4, "HELP without text at line %d" % n)
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            check(typ in ("counter", "gauge", "histogram", "summary", "untyped"),
                  "bad type %r" % typ)
            check(name not in types, "TYPE twice for %s" % name)
            types[name] = typ
            continue
        check(not line.startswith("#"), "unknown comment at line %d: %r" % (n, line))
        m = SERIES.match(line)
        check(m, "line %d is not a sample: %r" % (n, line))
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        check(family in types, "sample %s before its TYPE line" % name)
        labels, pos = [], 0
        while pos < len(labels_text):
            lm = LABEL.match(labels_text, pos)
            check(lm, "bad labels at line %d: %r" % (n, labels_text))
            raw = lm.group(2)
            val = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), raw)
            labels.append((lm.group(1), val))
            pos = lm.end()
        key = (name, tuple(labels))
        check(key not in samples, "series twice: %r" % (key,))
        samples[key] = float(value)
    return types, samples


def val(samples, name, **labels):
    return samples.get((name, tuple(labels.items())))


def _gateway(h):
    up = h.upstream()
    port = free_port()
    extra = {"admin": {"listen": "127.0.0.1:%d" % port},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
             "auth": {"argon2_passes": 2, "argon2_memory": "19MiB"}}
    gw = h.gateway(h.config([h.app(up)], extra=extra))
    check(wait_until(lambda: port_open(port), 10.0), "admin port never opened")
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token file")
    with open(token_path) as f:
        token = f.read().strip()
    return gw, port, personal_token(port, bootstrap=token)


def scrape(port, token=None, method="GET", path="/metrics"):
    headers = [("Authorization", "Bearer %s" % token)] if token else []
    c = Conn(port, server_name="localhost")
    try:
        r = c.request(method, path, host="127.0.0.1:%d" % port, headers=headers)
    finally:
        c.close()
    check(r is not None, "no response from /metrics")
    return r


def metrics(port, token):
    r = scrape(port, token)
    eq(r.status, 200, "GET /metrics")
    eq(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
    eq(r.header("Cache-Control"), "no-store", "Cache-Control")
    return parse_prometheus(r.body.decode("utf-8"))


def test_metrics_requires_token(h):
    gw, port, token = _gateway(h)
    r = scrape(port)
    eq(r.status, 401, "no token")
    check("Bearer" in r.header("WWW-Authenticate", ""), "WWW-Authenticate on 401")
    eq(scrape(port, "x" * 43).status, 401, "wrong token")
    eq(scrape(port, token, method="POST").status, 405, "POST /metrics")
    eq(scrape(port, token, path="/metrics?x=1").status, 400, "query string")
    eq(scrape(port, token, path="/metrics/").status, 404, "other path")
    eq(scrape(port, token, method="HEAD").status, 200, "HEAD /metrics")


def test_metrics_format_and_families(h):
    gw, port, token = _gateway(h)
    types, s = metrics(port, token)
    for name, typ in [("ztgate_requests_total", "counter"), ("ztgate_decisions_total", "counter"),
                      ("ztgate_policy_matches_total", "counter"),
                      ("ztgate_sign_ins_total", "counter"), ("ztgate_detections_total", "counter"),
                      ("ztgate_active_sessions", "gauge"), ("ztgate_devices", "gauge"),
                      ("ztgate_audit_queue_depth", "gauge"),
                      ("ztgate_audit_records_total", "counter"),
                      ("ztgate_audit_fsync_seconds", "histogram"),
                      ("ztgate_audit_drops_total", "counter"), ("ztgate_audit_failed", "gauge"),
                      ("ztgate_build_info", "gauge"), ("ztgate_connections", "gauge")]:
        eq(types.get(name), typ, "type of %s" % name)
    version = [k for k in s if k[0] == "ztgate_build_info"]
    eq(len(version), 1, "one build_info series")
    eq(s[version[0]], 1.0, "build_info value")
    for outcome in ("allow", "challenge", "block", "report_only_block", "report_only_challenge"):
        check(val(s, "ztgate_decisions_total", outcome=outcome) is not None, outcome)
    for cls in ("2xx", "3xx", "4xx", "5xx"):
        check(val(s, "ztgate_requests_total", status_class=cls) is not None, cls)
    eq(val(s, "ztgate_active_sessions"), 0.0, "no sessions yet")
    eq(val(s, "ztgate_audit_failed"), 0.0, "audit healthy")
    check(val(s, "ztgate_audit_records_total") >= 2, "audit start records counted")
    eq(val(s, "ztgate_audit_fsync_seconds_count"),
       val(s, "ztgate_audit_fsync_seconds_bucket", le="+Inf"), "histogram count = +Inf bucket")
    buckets = [v for (n, lab), v in s.items() if n == "ztgate_audit_fsync_seconds_bucket"]
    eq(buckets, sorted(buckets), "cumulative buckets")


def test_metrics_sign_ins(h):
    gw, port, token = _gateway(h)
    add_user(h, gw)
    _, s0 = metrics(port, token)

    b = Browser(gw.port)
    eq(sign_in(b, password="wrong password entirely").status, 200, "wrong password")
    eq(sign_in(Browser(gw.port), email="nobody@example.test").status, 200, "unknown user")
    r = sign_in(b)
    eq(r.status, 303, "password accepted")
    check(r.header("Location", "").startswith("/.ztgate/totp"), "enrolment asked for")
    _, s1 = metrics(port, token)
    eq(val(s1, "ztgate_active_sessions"), 0.0, "a session owing its second factor is not active")
    _, codes, _ = enrol(b)
    check(session_cookie(b), "session after enrolment")
    _, s2 = metrics(port, token)
    eq(val(s2, "ztgate_active_sessions"), 1.0, "one active session after enrolment")

    b2 = Browser(gw.port)
    eq(sign_in(b2).status, 303, "second sign-in, password")
    eq(mfa(b2, "000000" if codes[0] != "000000" else "111111").status, 200, "wrong code")
    eq(mfa(b2, codes[0]).status, 303, "recovery code accepted")
    _, s3 = metrics(port, token)

    def delta(result):
        return (val(s3, "ztgate_sign_ins_total", result=result) -
                val(s0, "ztgate_sign_ins_total", result=result))
    eq(delta("success"), 2.0, "password sign-ins")
    eq(delta("failure"), 2.0, "failed sign-ins")
    eq(delta("mfa_failure"), 1.0, "refused second factors")
    eq(delta("mfa_success"), 1.0, "accepted second factors")
    eq(delta("throttled"), 0.0, "nothing throttled")
    eq(val(s3, "ztgate_active_sessions"), 2.0, "two browsers signed in")
    check(val(s3, "ztgate_audit_records_total") > val(s0, "ztgate_audit_records_total"),
          "audit records counted")


def test_metrics_requests(h):
    """Scrapes are 2xx themselves and may be counted a moment after they answer, so the exact
    checks use classes only the test's proxied requests produce."""
    gw, port, token = _gateway(h)
    _, a = metrics(port, token)

    def moved(s, cls):
        return (val(s, "ztgate_requests_total", status_class=cls) -
                val(a, "ztgate_requests_total", status_class=cls))
    for _ in range(3):
        eq(get(gw.port, "/hello").status, 200, "proxied request")
    for _ in range(2):
        eq(get(gw.port, "/", host="nope.test").status, 404, "unknown host")
    eq(get(gw.port, "/status?code=302").status, 302, "upstream redirect")
    for _ in range(4):
        eq(get(gw.port, "/status?code=503").status, 503, "upstream 503")
    # A request is counted when it is logged, just after its answer went out: scrape until
    # the last one is in (bounded), then check exact figures.
    deadline = time.monotonic() + 3.0
    scrapes = 1  # the baseline scrape `a`, counted after it answered
    while True:
        _, c = metrics(port, token)
        scrapes += 1
        if (moved(c, "3xx"), moved(c, "4xx"), moved(c, "5xx")) == (1.0, 2.0, 4.0) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if all(moved(c, k) == 0 for k in ("3xx", "4xx", "5xx")):
        raise Skip("zt_metric_request is not called from the proxy yet")
    eq(moved(c, "3xx"), 1.0, "3xx requests")
    eq(moved(c, "4xx"), 2.0, "4xx requests")
    eq(moved(c, "5xx"), 4.0, "5xx requests")
    # Every scrape before the last one may be in the count too (the loop above can take several
    # under load): 3 proxied, plus at most scrapes - 1.
    check(3 <= moved(c, "2xx") <= 3 + scrapes - 1,
          "2xx requests: 3 proxied (+ up to %d scrapes): %r" % (scrapes - 1, moved(c, "2xx")))
    # ztgate_connections is hooked in conn.c; it must never go negative.
    check(val(c, "ztgate_connections") >= 0, "connections gauge not negative")
