"""The audit log fails under load (issue 10, finding 9): no request reaches the upstream before
its record is written, the client of a record that could not be written gets 503 (never a
hang, never a 200), the gateway refuses meanwhile (fail closed) and resumes by itself once the
log takes writes again.

How the failure is made: the gateway's RLIMIT_FSIZE is lowered from outside (prlimit(2), as
`prlimit --pid` does) to the audit log's current size, so the kernel refuses the next append
with EFBIG, just as a full disk refuses it with ENOSPC: a real failed write(2) on the real file,
no test hook in the binary. ztgate ignores SIGXFSZ so the limit cannot kill it. Raising the
limit again is "space is back". The access and error logs are kept smaller than the audit log
so that only the audit log hits the limit."""
import json
import os
import resource
import threading
import time

from harness import Conn, check, eq, timeout, wait_until


def _gateway(h):
    up = h.upstream()
    audit_dir = os.path.join(h.dir, "state", "audit")
    log = os.path.join(audit_dir, "audit.log")
    cfg = h.config([h.app(up)], extra={"audit": {"path": log}})
    gw = h.gateway(cfg)
    return gw, up, log


def _limit_file_size(pid, size):
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, hard))


def _lift_file_size_limit(pid):
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))


def _request(port, path, timeout_s=10.0, host="app.test"):
    """Status of one request on a new connection: an int, "closed" (no answer) or "hang"."""
    c = Conn(port, timeout_s=timeout_s)
    try:
        r = c.request("GET", path, host=host)
        return "closed" if r is None else r.status
    except (TimeoutError, OSError) as e:
        return "hang" if "timed out" in str(e) else "closed"
    finally:
        c.close()


def _records(log):
    with open(log) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _allowed_paths(log):
    return {r["http_request"]["url"]["path"] for r in _records(log)
            if r.get("class_uid") == 4002 and r.get("decision") == "allow"}


def _fill_audit_log(port, n=40):
    """Grow the audit log well past the access and error logs (records are the biggest)."""
    for i in range(n):
        eq(_request(port, "/warm-%d" % i), 200, "warm-up request %d" % i)


@timeout(90)
def test_audit_failure_refuses_then_resumes(h):
    gw, up, log = _gateway(h)
    _fill_audit_log(gw.port)
    _limit_file_size(gw.pid, os.path.getsize(log))
    # The first request after the limit is the one in flight when the log fails.
    during = [_request(gw.port, "/during-%d" % i) for i in range(5)]
    eq(during, [503] * 5, "answers while the audit log cannot be written")
    received = up.paths()
    eq([p for p in received if p.startswith("/during")], [],
       "requests that reached the upstream without a record")
    _lift_file_size_limit(gw.pid)
    after = None
    for i in range(100):  # the writer retries every second
        after = _request(gw.port, "/after-%d" % i)
        if after == 200:
            break
        check(after == 503, "answer while waiting for the log to resume: %r" % (after,))
        time.sleep(0.1)
    eq(after, 200, "the gateway serves again once the log can be written")
    check("audit log failed" in gw.stderr_text(), "the failure is in the error log")
    check(wait_until(lambda: "writable again" in gw.stderr_text(), 5.0),
          "and so is the recovery")
    gw.proc.stop()
    recs = _records(log)
    check(any(r.get("message", "").startswith("audit log resumed") for r in recs),
          "a 'resumed' record marks the recovery")
    allowed = _allowed_paths(log)
    check(not any(p.startswith("/during") for p in allowed), "a refused request was recorded")
    missing = [p for p in up.paths() if p not in allowed]
    eq(missing, [], "upstream requests without an allow record")
    res = h.cli("audit", "verify", "--config", gw.config_path)
    eq(res.returncode, 0, "audit verify after the failure (%s%s)" % (res.stdout, res.stderr))
    with open(gw.access_log_path()) as f:
        access = [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
    wrong = [a["path"] for a in access if a["path"].startswith("/during") and a["status"] != 503]
    eq(wrong, [], "access log lines of refused requests that do not say 503")


def _load(port, tag, results, stop, host="app.test"):
    i = 0
    while not stop.is_set():
        path = "/load-%s-%d" % (tag, i)
        i += 1
        results.append((path, _request(port, path, timeout_s=10.0, host=host)))


@timeout(120)
def test_audit_failure_under_load_never_forwards_unrecorded(h):
    """Clients keep sending while the log fails and comes back: every request the upstream
    received has its allow record, every 200 too, nobody hangs, and both outcomes happened.
    One more client asks for a host no app serves: its 404 pages are held until their record
    is written, so at the failure it gets 404 or 503, never a hang."""
    gw, up, log = _gateway(h)
    _fill_audit_log(gw.port)
    results = []
    refusals = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(gw.port, t, results, stop))
               for t in range(4)]
    threads.append(threading.Thread(target=_load, args=(gw.port, "nohost", refusals, stop),
                                    kwargs={"host": "nope.test"}))
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        _limit_file_size(gw.pid, os.path.getsize(log))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(s == 503 for _, s in results):
            time.sleep(0.05)
        time.sleep(0.5)
        _lift_file_size_limit(gw.pid)
        mark = len(results)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(s == 200 for _, s in results[mark:]):
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        _lift_file_size_limit(gw.pid)
        stop.set()
        for t in threads:
            t.join(30)
    statuses = [s for _, s in results]
    print("    %d requests: %d x 200, %d x 503, other %r" % (
        len(results), statuses.count(200), statuses.count(503),
        sorted({s for s in statuses if s not in (200, 503)}, key=str)), flush=True)
    text = gw.stderr_text()
    print("    lost while held: %d answer(s) replaced by 503; %d refused while waiting"
          % (text.count("answering 503 instead"), text.count("failed before this request's")),
          flush=True)
    check(statuses.count(503) > 0, "no request was refused while the log failed")
    check(any(s == 200 for _, s in results[mark:]), "the gateway did not resume")
    eq([p for p, s in results if s == "hang"], [], "requests that hung")
    eq(sorted({s for _, s in refusals} - {404, 503}, key=str), [],
       "answers for a host no app serves")
    gw.proc.stop()
    allowed = _allowed_paths(log)
    eq([p for p in up.paths() if p not in allowed], [],
       "upstream requests without an allow record")
    eq([p for p, s in results if s == 200 and p not in allowed], [],
       "200 answers without an allow record")
    res = h.cli("audit", "verify", "--config", gw.config_path)
    eq(res.returncode, 0, "audit verify (%s%s)" % (res.stdout, res.stderr))
