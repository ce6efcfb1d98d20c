"""`ztgate audit search` and `ztgate audit tail -f` against what a real gateway wrote: each
filter gives exactly the records an independent reading of the log selects, malformed lines
are skipped with a warning, bad arguments exit 2, and tail -f sees new records, across a real
rotation and a replaced file, until SIGINT."""
import datetime
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

from harness import Conn, check, eq, get
from portal_client import EMAIL, Browser, add_user, sign_in


def _gateway(h, rotate=None):
    up = h.upstream()
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    if rotate:
        audit["rotate_size"] = rotate
    gw = h.gateway(h.config([h.app(up)], extra={"audit": audit}))
    return gw, audit["path"]


def _records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _events(path):
    return [r for r in _records(path) if r.get("type") != "checkpoint"]


def _search(h, gw, *args):
    return h.cli("audit", "search", "--config", gw.config_path, *args)


def _seqs(res):
    eq(res.returncode, 0, "search exit status (%s)" % res.stderr)
    return [json.loads(line)["seq"] for line in res.stdout.splitlines() if line.strip()]


def _when(rec):
    return datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def _populate(h):
    """Two allowed requests, one refused, one failed and one successful sign-in."""
    gw, log = _gateway(h)
    add_user(h, gw)
    eq(get(gw.port, "/one").status, 200, "allowed request")
    eq(get(gw.port, "/two").status, 200, "allowed request")
    eq(get(gw.port, "/", host="nope.test").status, 404, "refused request")
    eq(sign_in(Browser(gw.port), password="not the password").status, 200, "failed sign-in")
    eq(sign_in(Browser(gw.port)).status, 303, "password sign-in")
    # A stopped gateway's log is final: the CLI's `user add` record (queued in the audit spool,
    # appended within a second or at stop) cannot land between reading and searching.
    gw.proc.stop()
    return gw, log


def test_search_filters_exact(h):
    gw, log = _populate(h)
    ev = _events(log)

    def want(pred):
        return [r["seq"] for r in ev if pred(r)]

    def user_of(r):
        u = r.get("user") or r.get("actor", {}).get("user") or {}
        return u.get("email_addr", ""), u.get("uid", "")

    allowed = want(lambda r: r.get("decision") == "allow")
    blocked = want(lambda r: r.get("decision") == "block")
    http = want(lambda r: r["class_uid"] == 4002)
    auth = want(lambda r: r["class_uid"] == 3002)
    alice = want(lambda r: user_of(r)[0].lower() == EMAIL)
    eq(len(allowed), 2, "allowed requests in the log")
    eq(len(blocked), 1, "refused requests in the log")
    eq(len(auth), 2, "sign-in events in the log")
    check(len(alice) >= 2, "alice's events in the log")

    eq(_seqs(_search(h, gw, "--json")), [r["seq"] for r in ev], "no filter: every event")
    eq(_seqs(_search(h, gw, "--json", "--decision", "allow")), allowed, "--decision allow")
    eq(_seqs(_search(h, gw, "--json", "--decision", "block")), blocked, "--decision block")
    eq(_seqs(_search(h, gw, "--json", "--type", "http_activity")), http, "--type name")
    eq(_seqs(_search(h, gw, "--json", "--type", "4002")), http, "--type class_uid")
    eq(_seqs(_search(h, gw, "--json", "--type", "authentication")), auth, "--type auth")
    eq(_seqs(_search(h, gw, "--json", "--user", EMAIL.upper())), alice, "--user email")
    uid = next(user_of(r)[1] for r in ev if user_of(r)[1])
    eq(_seqs(_search(h, gw, "--json", "--user", uid)),
       want(lambda r: user_of(r)[1] == uid), "--user id")
    eq(_seqs(_search(h, gw, "--json", "--user", "bob@example.test")), [], "--user nobody")
    with_ip = want(lambda r: r.get("src_endpoint", {}).get("ip") == "127.0.0.1")
    check(len(with_ip) >= 5, "events with a source address")
    eq(_seqs(_search(h, gw, "--json", "--ip", "127.0.0.1")), with_ip, "--ip address")
    eq(_seqs(_search(h, gw, "--json", "--ip", "127.0.0.0/8")), with_ip, "--ip CIDR")
    eq(_seqs(_search(h, gw, "--json", "--ip", "10.0.0.0/8")), [], "--ip other CIDR")
    eq(_seqs(_search(h, gw, "--json", "--device", "dev-1")), [], "--device (none yet)")
    eq(_seqs(_search(h, gw, "--json", "--decision", "block", "--type", "authentication")), [],
       "filters combine")

    # Time: from the refused request on, and up to it (inclusive both ways).
    mark = next(r for r in ev if r["seq"] == blocked[0])
    eq(_seqs(_search(h, gw, "--json", "--since", mark["time"])),
       want(lambda r: _when(r) >= _when(mark)), "--since RFC 3339")
    eq(_seqs(_search(h, gw, "--json", "--until", mark["time"])),
       want(lambda r: _when(r) <= _when(mark)), "--until RFC 3339")
    local = _when(mark).astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    eq(_seqs(_search(h, gw, "--json", "--since", local.isoformat(timespec="microseconds"))),
       want(lambda r: _when(r) >= _when(mark)), "--since with an offset")
    eq(_seqs(_search(h, gw, "--json", "--since", "1h")), [r["seq"] for r in ev], "--since 1h")
    eq(_seqs(_search(h, gw, "--json", "--until", "1d")), [], "--until a day ago")

    # The table: one row per match, request id shown, count on stderr.
    res = _search(h, gw, "--decision", "block")
    eq(res.returncode, 0, "table search")
    rows = res.stdout.splitlines()
    eq(len(rows), 2, "header and one row")
    check(rows[0].startswith("TIME"), "header row: %r" % rows[0])
    check(mark["metadata"]["uid"] in rows[1], "request id in the row: %r" % rows[1])
    check("http_activity" in rows[1] and "block" in rows[1], "class and decision shown")
    eq(res.stderr.strip(), "1 record", "count on stderr")


def test_search_skips_malformed_lines(h):
    gw, log = _populate(h)
    gw.proc.stop()
    copy = h.path("copy.log")
    with open(log) as f:
        lines = f.readlines()
    lines.insert(2, "this is not json\n")
    lines.insert(4, '["an", "array"]\n')
    with open(copy, "w") as f:
        f.writelines(lines)
    res = h.cli("audit", "search", "--json", "--decision", "block", copy)
    eq(res.returncode, 0, "search is not verify: exit 0")
    eq(len(_seqs(res)), 1, "the refused request still found")
    check("%s:3:" % copy in res.stderr, "file:line of the first bad line: %r" % res.stderr)
    check("%s:5:" % copy in res.stderr, "file:line of the second bad line: %r" % res.stderr)
    res = h.cli("audit", "search", h.path("missing.log"))
    eq(res.returncode, 1, "missing file")
    check("missing.log" in res.stderr, "names the missing file")


def test_search_bad_arguments(h):
    gw, log = _gateway(h)
    for args, word in [(["--bogus"], "unknown option"), (["--since", "yesterday"], "--since"),
                       (["--until", "2026-02-30T00:00:00Z"], "--until"),
                       (["--since", "2026-01-01T00:00:00"], "--since"),
                       (["--ip", "300.1.2.3"], "--ip"), (["--ip", "10.0.0.1/8"], "--ip"),
                       (["--ip", "10.0.0.0/33"], "--ip"), (["--type", "nonsense"], "--type"),
                       (["--decision", "maybe"], "--decision"), (["--user"], "needs a value"),
                       (["--since", "1h", "--until", "2h"], "later than")]:
        res = _search(h, gw, *args)
        eq(res.returncode, 2, "exit status for %r" % args)
        check(word in res.stderr, "message for %r names the problem: %r" % (args, res.stderr))
        eq(res.stdout, "", "nothing on stdout for %r" % args)
    res = h.cli("audit", "tail", "-n", "lots", "--config", gw.config_path)
    eq(res.returncode, 2, "tail -n lots")
    res = h.cli("audit", "tail", "--bogus", "--config", gw.config_path)
    eq(res.returncode, 2, "tail --bogus")


class Follower:
    """`ztgate audit tail -f` in the background; lines arrive on a queue."""

    def __init__(self, h, *args):
        self.p = subprocess.Popen([h.ztgate, "audit", "tail", "-f"] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=h.dir)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line)

    def wait_for(self, text, timeout_s=5.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError("tail -f did not show %r within %.0f s" % (text, timeout_s))

    def stop(self, sig=signal.SIGINT):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("tail -f did not stop on %s" % sig)
        return rc, self.p.stderr.read()


def test_tail_follow_across_rotation(h):
    gw, log = _gateway(h, rotate="1MiB")  # the smallest rotate_size the config accepts
    eq(get(gw.port, "/before-follow").status, 200, "request")
    f = Follower(h, "-n", "5", "--config", gw.config_path)
    try:
        f.wait_for("/before-follow")  # the last records first
        eq(get(gw.port, "/first-followed").status, 200, "request")
        f.wait_for("/first-followed")
        # Fill 1 MiB so the writer rotates: audit.log becomes audit.log.<first seq>.
        c = Conn(gw.port)
        sent = 0
        audit_dir = os.path.dirname(log)
        while not any(n.startswith("audit.log.") for n in os.listdir(audit_dir)):
            r = c.request("GET", "/fill/" + "x" * 400 + "/%d" % sent)
            check(r is not None and r.status == 200, "fill request %d" % sent)
            sent += 1
            check(sent < 20000, "no rotation after %d requests" % sent)
        c.close()
        eq(get(gw.port, "/after-rotation").status, 200, "request after the rotation")
        f.wait_for("/after-rotation", timeout_s=10.0)
    finally:
        rc, err = f.stop()
    eq(rc, 0, "tail -f exit status on SIGINT (%s)" % err)


def test_tail_follow_replaced_file(h):
    """A file replaced by another (rename + create, like logrotate) without a gateway."""
    path = h.path("plain.log")
    with open(path, "w") as out:
        out.write('{"seq":1,"message":"old one"}\n{"seq":2,"message":"old two"}\n')
    f = Follower(h, "-n", "1", path)
    try:
        f.wait_for("old two")
        with open(path, "a") as out:
            out.write('{"seq":3,"message":"appended"}\n')
        f.wait_for("appended")
        with open(path, "a") as out:
            out.write('{"seq":4,"message":"split ')  # half a line: nothing yet
            out.flush()
            time.sleep(0.5)
            out.write('line"}\n')
        f.wait_for("split line")
        shutil.move(path, path + ".4")
        with open(path, "w") as out:
            out.write('{"seq":5,"message":"new file"}\n')
        f.wait_for("new file")
        os.unlink(path)  # gone for a while, then back
        time.sleep(0.5)
        with open(path, "w") as out:
            out.write('{"seq":6,"message":"back again"}\n')
        f.wait_for("back again")
    finally:
        rc, err = f.stop(signal.SIGTERM)
    eq(rc, 0, "tail -f exit status on SIGTERM (%s)" % err)
