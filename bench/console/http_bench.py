#!/usr/bin/env python3
"""The console's pages through HTTP for bench/console/run.sh (issue 16, deliverable 5): signs in
through the portal with a password (the bench's config asks for nothing more), then times GETs
of the dashboard and the audit pages on the running gateway, and reads its RSS.
  usage: http_bench.py PORT HOST EMAIL PASSWORD PID RUNS USER REF FROM TO
Prints one line per figure: `ms NAME WALL_MS STATUS BYTES [NOTE]`, `rss NAME VmRSS VmHWM`
(KiB), and `info ...`. Loopback only; every request bounded by the client's timeout."""
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integ"))
from portal_client import Browser, session_cookie, sign_in  # noqa: E402


def rss(pid, name):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = v.split()[0]
    print("rss %s %s %s" % (name, vals.get("VmRSS", 0), vals.get("VmHWM", 0)), flush=True)


def timed(b, path):
    t0 = time.monotonic()
    r = b.get(path)
    return (time.monotonic() - t0) * 1000.0, r


def main():
    port, host, email, password, pid, runs = sys.argv[1:7]
    user, ref, since, until = sys.argv[7:11]
    pid, runs = int(pid), int(runs)
    rss(pid, "start")
    b = Browser(int(port), host=host)
    r = sign_in(b, email, password)
    if r.status != 303 or not session_cookie(b):
        print("info SIGN-IN FAILED: %s %s" % (r.status, r.header("Location", "")), flush=True)
        return 1
    print("info signed in as %s with a password only" % email, flush=True)
    # Cold: the first dashboard after start whose figures are there (the rollup counted on its
    # own thread from start-up; until then the page says it is counting).
    t_start = time.monotonic()
    polls = 0
    while True:
        ms, r = timed(b, "/?period=24h")
        polls += 1
        if r.status != 200 or b'class="card counting"' not in r.body:
            break
        if time.monotonic() - t_start > 300:
            print("info the rollup was still counting after 300 s", flush=True)
            return 1
        time.sleep(0.2)
    print("ms dashboard_cold %.1f %d %d (first with figures; %d page(s) said counting first)"
          % (ms, r.status, len(r.body), polls - 1), flush=True)
    rss(pid, "rollup_ready")
    pages = [("dashboard_24h", "/?period=24h"), ("dashboard_7d", "/?period=7d"),
             ("dashboard_30d", "/?period=30d"),
             ("audit_user", "/audit?" + urllib.parse.urlencode({"user": user})),
             ("audit_ref", "/audit?" + urllib.parse.urlencode({"ref": ref})),
             ("audit_blocks", "/audit?" + urllib.parse.urlencode(
                 {"decision": "block", "from": since, "to": until})),
             ("ref", "/ref?" + urllib.parse.urlencode({"id": ref})),
             ("policies", "/policies")]
    for name, path in pages:
        times, last = [], None
        for _ in range(runs):
            ms, last = timed(b, path)
            times.append(ms)
        print("ms %s %.1f %d %d" % (name, statistics.median(times), last.status, len(last.body)),
              flush=True)
    rss(pid, "end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
