"""Audit log: every routing decision is a hash-chained record, `ztgate audit verify` passes on
what the gateway wrote and fails once a record is altered."""
import json
import os

from harness import check, eq, get


def _audit_gateway(h):
    up = h.upstream()
    audit_dir = os.path.join(h.dir, "state", "audit")
    cfg = h.config([h.app(up)], extra={"audit": {"path": os.path.join(audit_dir, "audit.log")}})
    gw = h.gateway(cfg)
    return gw, audit_dir


def _records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_decisions_are_audited_and_verify(h):
    gw, audit_dir = _audit_gateway(h)
    eq(get(gw.port, "/hello").status, 200, "allowed request")
    eq(get(gw.port, "/", host="nope.test").status, 404, "default deny")
    gw.proc.stop()
    log = os.path.join(audit_dir, "audit.log")
    recs = _records(log)
    http = [r for r in recs if r.get("class_uid") == 4002]
    eq(len(http), 2, "one HTTP Activity record per decision")
    allowed = next(r for r in http if r.get("decision") == "allow")
    denied = next(r for r in http if r.get("decision") == "block")
    eq(allowed["http_request"]["url"]["path"], "/hello", "path of the allowed request")
    eq(denied["http_request"]["url"]["hostname"], "nope.test", "host of the refused request")
    check(any(r.get("type") == "checkpoint" for r in recs), "no signed checkpoint at stop")
    res = h.cli("audit", "verify", "--config", gw.config_path)
    eq(res.returncode, 0, "audit verify exit status (%s%s)" % (res.stdout, res.stderr))
    check(res.stdout.startswith("OK"), "audit verify says OK: %r" % res.stdout)


def test_verify_detects_a_modified_record(h):
    gw, audit_dir = _audit_gateway(h)
    eq(get(gw.port, "/secret-report").status, 200, "allowed request")
    gw.proc.stop()
    log = os.path.join(audit_dir, "audit.log")
    with open(log) as f:
        text = f.read()
    check("/secret-report" in text, "request path missing from the audit log")
    with open(log, "w") as f:
        f.write(text.replace("/secret-report", "/public-report"))
    res = h.cli("audit", "verify", "--config", gw.config_path)
    check(res.returncode != 0, "verify accepted a modified log: %r" % res.stdout)
    check("modified" in (res.stdout + res.stderr), "verify names the damage: %r" % res.stdout)


def test_header_injection_stays_in_one_record(h):
    gw, audit_dir = _audit_gateway(h)
    eq(get(gw.port, "/a%0d%0aforged").status, 400, "encoded CR LF in the path")
    eq(get(gw.port, "/x", host="evil\x1b[31m.test").status, 400, "escape byte in Host")
    eq(get(gw.port, "/ok").status, 200, "normal request")
    gw.proc.stop()
    res = h.cli("audit", "verify", "--config", gw.config_path)
    eq(res.returncode, 0, "audit verify (%s%s)" % (res.stdout, res.stderr))
    # Every line parses on its own: nothing a client sent could split or forge a record.
    recs = _records(os.path.join(audit_dir, "audit.log"))
    eq([r["seq"] for r in recs], list(range(recs[0]["seq"], recs[0]["seq"] + len(recs))),
       "records are consecutive")


def test_kill9_loses_no_acknowledged_decision(h):
    """Every request that got a response has its record, even when the gateway is killed with
    SIGKILL right after answering; the chain still verifies and continues after restarts."""
    import signal
    import threading
    gw, audit_dir = _audit_gateway(h)
    answered = []
    for round_no in range(5):
        if round_no:
            gw.start()
        stop = threading.Event()

        def load(tag):
            c = None
            i = 0
            while not stop.is_set():
                try:
                    if c is None:
                        c = h.connect(gw.port)
                    path = "/r%d-%s-%d" % (round_no, tag, i)
                    if c.request("GET", path).status == 200:
                        answered.append(path)
                    i += 1
                except Exception:
                    c = None
                    if stop.is_set():
                        return
        threads = [threading.Thread(target=load, args=(t,)) for t in "ab"]
        for t in threads:
            t.start()
        import time
        time.sleep(0.4)
        gw.proc.killed_on_purpose = True
        gw.proc.signal(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(5)
        gw.proc.wait(5)
    gw.start()
    gw.proc.stop()
    check(len(answered) > 50, "too little load to mean anything: %d answers" % len(answered))
    logged = set()
    for name in sorted(os.listdir(audit_dir)):
        if name.startswith("audit.log"):
            with open(os.path.join(audit_dir, name)) as f:
                for line in f:
                    if '"http_request"' in line:
                        logged.add(json.loads(line)["http_request"]["url"]["path"])
    missing = [p for p in answered if p not in logged]
    eq(missing, [], "answered requests missing from the audit log")
    res = h.cli("audit", "verify", "--config", gw.config_path)
    eq(res.returncode, 0, "audit verify after 5 kill -9 (%s%s)" % (res.stdout, res.stderr))
