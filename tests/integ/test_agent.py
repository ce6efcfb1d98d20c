"""ztagent, the endpoint agent, against device_mock.py (the server side of
docs/DEVICE_PROTOCOL.md): enrolment, posture, scanning with a ClamAV database written here,
quarantine, the inotify daemon, and bad server answers. Needs no ztgate."""
import hashlib
import json
import os
import re
import signal
import ssl
import stat
import subprocess
import time

import harness
from harness import Proc, Skip, check, eq, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SIG = "Eicar-Test-Signature"


def eicar():
    # Built from pieces at run time so no file in the tree trips a scanner.
    head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    tail = "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*"
    return (head + tail).encode("ascii")


def agent_bin(h):
    path = os.path.join(h.build_dir, "ztagent")
    if not os.path.exists(path):
        raise Skip("build has no ztagent")
    return path


SANITIZER = re.compile(r"(AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer)")


def run(h, *args, timeout_s=30):
    r = subprocess.run([agent_bin(h)] + list(args), capture_output=True, text=True,
                       timeout=timeout_s, cwd=h.dir, stdin=subprocess.DEVNULL)
    check(not SANITIZER.search(r.stderr), "sanitizer report from ztagent %s:\n%s" %
          (" ".join(args[:2]), r.stderr))
    return r


def write_db(h):
    """A ClamAV hash database (.hdb: MD5:SIZE:NAME) that knows the EICAR string."""
    d = h.path("clamdb")
    os.makedirs(d, exist_ok=True)
    e = eicar()
    with open(os.path.join(d, "test.hdb"), "w") as f:
        f.write("%s:%d:%s\n" % (hashlib.md5(e).hexdigest(), len(e), SIG))
    return d


class Mock:
    def __init__(self, h, name="mock", codes=("GOOD-CODE-1",)):
        self.dir = h.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "requests.jsonl")
        open(self.log, "w").close()
        self.proc = Proc(name, [harness.PYTHON, os.path.join(HERE, "device_mock.py"),
                                "--dir", self.dir, "--log", self.log,
                                "--codes", ",".join(codes)], h.dir, stdout_pipe=True)
        h.procs.append(self.proc)
        line = self.proc.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("device mock did not start: " + self.proc.stderr_text())
        self.url = "https://127.0.0.1:%d" % int(line.split()[1])
        self.ca = os.path.join(self.dir, "server-ca.pem")

    def records(self, path=None):
        with open(self.log) as f:
            recs = [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
        return [r for r in recs if path is None or r.get("path") == path]

    def alerts(self):
        return [r["body"] for r in self.records("/.ztgate/device/alert") if r["status"] == 200]

    def set_mode(self, mode):
        with open(os.path.join(self.dir, "mode"), "w") as f:
            f.write(mode)

    def server_sha256(self):
        with open(os.path.join(self.dir, "server.pem")) as f:
            return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def enrolled(h, tofu=False):
    m = Mock(h)
    d = h.path("agent")
    trust = ["--insecure-first-use"] if tofu else ["--ca-file", m.ca]
    r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--dir", d, *trust)
    eq(r.returncode, 0, "enroll exit status (stderr: %s)" % r.stderr)
    return m, d


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_conf(d):
    with open(os.path.join(d, "agent.conf")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f
                    if "=" in line and not line.startswith("#"))


# ---------------------------------------------------------------------------------------------

def test_version(h):
    r = run(h, "--version")
    eq(r.returncode, 0, "exit status")
    check(r.stdout.startswith("ztagent 0."), "version line: %r" % r.stdout)
    check("libclamav" in r.stdout, "names the engine: %r" % r.stdout)
    eq(run(h, "frobnicate").returncode, 2, "unknown command")


def test_enroll_codes(h):
    m = Mock(h, codes=("GOOD-CODE-1",))
    d = h.path("agent")
    r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--ca-file", m.ca,
            "--dir", d)
    eq(r.returncode, 0, "good code (stderr: %s)" % r.stderr)
    check("enrolled: device" in r.stdout, r.stdout)
    eq(mode_of(os.path.join(d, "device.key")), 0o600, "device.key mode")
    eq(mode_of(os.path.join(d, "device.pem")), 0o644, "device.pem mode")
    eq(mode_of(os.path.join(d, "ca.pem")), 0o644, "ca.pem mode")
    conf = read_conf(d)
    eq(conf["server"], m.url, "server in agent.conf")
    eq(conf["server_ca"], "server-ca.pem", "server CA in agent.conf")
    check("server_sha256" not in conf, "no pin with --ca-file")
    rec = m.records("/.ztgate/device/enroll")[0]
    eq(rec["status"], 201, "mock status")
    eq(sorted(rec["body"]), ["code", "csr", "hostname", "platform"], "enrol request keys")
    eq(rec["body"]["platform"], "linux", "platform")
    v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(d, "ca.pem"),
                        os.path.join(d, "device.pem")], capture_output=True, text=True)
    eq(v.returncode, 0, "device.pem chains to ca.pem: " + v.stdout + v.stderr)
    subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in",
                           os.path.join(d, "device.pem")], capture_output=True, text=True).stdout
    check(conf["device_id"] in subj, "device id is the certificate's CN: " + subj)
    check(rec["device"] is None, "enrolment needs no client certificate")
    with open(os.path.join(d, "device.key")) as f:
        check("PRIVATE KEY" in f.read(), "device.key is a PEM key")

    # The same code again, and a wrong one: refused (exit 1) with one message for both.
    for code in ("GOOD-CODE-1", "WRONG-CODE-9"):
        d2 = h.path("agent-" + code)
        r = run(h, "enroll", "--server", m.url, "--code", code, "--ca-file", m.ca, "--dir", d2)
        eq(r.returncode, 1, "code %s exit status" % code)
        check("unknown, expired or already used" in r.stderr, r.stderr)
        check(not os.path.exists(os.path.join(d2, "device.pem")), "nothing stored on refusal")
        check(not os.path.exists(os.path.join(d2, "device.key")), "no key kept on refusal")
    # Enrolling an enrolled directory again needs --force.
    r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--ca-file", m.ca,
            "--dir", d)
    eq(r.returncode, 2, "re-enrol without --force")
    check("already enrolled" in r.stderr, r.stderr)
    # Usage errors.
    eq(run(h, "enroll", "--server", m.url, "--code", "X", "--dir", d).returncode, 2,
       "neither --ca-file nor --insecure-first-use")
    eq(run(h, "enroll", "--server", "http://127.0.0.1:1", "--code", "X", "--insecure-first-use",
           "--dir", h.path("x")).returncode, 2, "plain http server URL")


def test_enroll_tofu_pins_fingerprint(h):
    m, d = enrolled(h, tofu=True)
    conf = read_conf(d)
    eq(conf.get("server_sha256"), m.server_sha256(), "pinned fingerprint")
    check("server_ca" not in conf, "no CA file with TOFU")
    r = run(h, "report", "--dir", d)
    eq(r.returncode, 0, "report over the pinned connection (stderr: %s)" % r.stderr)
    # Another server (another certificate) at the configured URL: refused, exit 2.
    m2 = Mock(h, name="impostor")
    with open(os.path.join(d, "agent.conf")) as f:
        text = f.read()
    with open(os.path.join(d, "agent.conf"), "w") as f:
        f.write(text.replace(m.url, m2.url))
    r = run(h, "report", "--dir", d)
    eq(r.returncode, 2, "report to an impostor")
    check("does not match the pinned" in r.stderr, r.stderr)
    eq(m2.records("/.ztgate/device/posture"), [], "nothing reached the impostor")


def test_enroll_tofu_warns(h):
    m = Mock(h)
    r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--insecure-first-use",
            "--dir", h.path("agent"))
    eq(r.returncode, 0, "exit status")
    check("WARNING" in r.stderr and "NOT verified" in r.stderr, r.stderr)
    fp = m.server_sha256()
    check(":".join(fp[i:i + 2] for i in range(0, 64, 2)) in r.stderr, "fingerprint shown")


def test_enroll_wrong_ca(h):
    m = Mock(h)
    other = Mock(h, name="other")
    d = h.path("agent")
    r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--ca-file", other.ca,
            "--dir", d)
    eq(r.returncode, 2, "exit status")
    check("not trusted" in r.stderr, r.stderr)
    eq(m.records("/.ztgate/device/enroll"), [], "the code never left the device")
    check(not os.path.exists(os.path.join(d, "device.pem")), "nothing stored")


def test_report_posture(h):
    m, d = enrolled(h)
    r = run(h, "report", "--dir", d)
    eq(r.returncode, 0, "report exit status (stderr: %s)" % r.stderr)
    check("compliant (device risk: none)" in r.stdout, r.stdout)
    recs = m.records("/.ztgate/device/posture")
    eq(len(recs), 1, "one posture report")
    eq(recs[0]["status"], 200, "the mock accepted every field and type")
    eq(recs[0]["device"], read_conf(d)["device_id"], "sent with the device certificate")
    body = recs[0]["body"]
    eq(sorted(body), sorted(["agent_version", "collected_at", "os", "updates", "disk_encryption",
                             "firewall", "screen_lock", "antivirus", "alerts_active"]), "keys")
    eq(body["antivirus"]["engine"], "clamav", "engine")
    check(body["antivirus"]["engine_version"], "engine version")
    check(body["disk_encryption"]["root"] in ("luks", "none", "unknown"), "disk encryption")

    # --json collects without sending; the signature version comes from a CLD header.
    db = h.path("headers")
    os.makedirs(db)
    hdr = b"ClamAV-VDB:22 Nov 2026 08-14 +0000:27450:2000000:90:" + b"0" * 32 + \
        b":SIG:builder:1795335240"
    with open(os.path.join(db, "daily.cld"), "wb") as f:
        f.write(hdr.ljust(512, b" ") + b"\0" * 512)
    r = run(h, "report", "--dir", d, "--json", "--db", db)
    eq(r.returncode, 0, "report --json")
    p = json.loads(r.stdout)
    eq(p["antivirus"]["signature_version"], 27450, "signature version")
    eq(p["antivirus"]["signature_time"], "2026-11-22T08:14:00Z", "signature time")
    eq(len(m.records("/.ztgate/device/posture")), 1, "--json sent nothing")


def test_status(h):
    """`ztagent status`: enrolment, certificate, the gateway's last report and verdict."""
    r = run(h, "status", "--dir", h.path("empty"))
    eq(r.returncode, 1, "not enrolled: exit status")
    check("not enrolled" in r.stdout, r.stdout)
    m, d = enrolled(h)
    r = run(h, "status", "--dir", d)
    eq(r.returncode, 0, "status exit status (stderr: %s)" % r.stderr)
    check(read_conf(d)["device_id"] in r.stdout, r.stdout)
    check("last report:  never" in r.stdout, r.stdout)
    check("compliance:   compliant" in r.stdout and "device risk:  none" in r.stdout, r.stdout)
    check(re.search(r"certificate:  valid until \d{4}-\d\d-\d\dT", r.stdout), r.stdout)
    eq(run(h, "report", "--dir", d).returncode, 0, "report")
    r = run(h, "status", "--dir", d, "--json")
    eq(r.returncode, 0, "status --json (stderr: %s)" % r.stderr)
    st = json.loads(r.stdout)
    eq(st["enrolled"], True, "enrolled")
    check(re.match(r"\d{4}-\d\d-\d\dT", st["gateway_status"]["last_report_at"] or ""),
          "last report time: %r" % st)
    eq(len(m.records("/.ztgate/device/status")), 2, "asked the gateway each time")
    m.proc.stop()
    r = run(h, "status", "--dir", d)
    eq(r.returncode, 2, "gateway unreachable: exit status")
    check("verdict:      unknown" in r.stdout, r.stdout)


def test_report_not_enrolled(h):
    r = run(h, "report", "--dir", h.path("empty"))
    eq(r.returncode, 2, "exit status")
    check("not enrolled" in r.stderr, r.stderr)
    r = run(h, "report", "--dir", h.path("empty"), "--json")
    eq(r.returncode, 0, "--json works before enrolment")


def test_scan_clean_and_eicar(h):
    m, d = enrolled(h)
    db = write_db(h)
    files = h.path("files")
    os.makedirs(files)
    clean = os.path.join(files, "notes.txt")
    with open(clean, "w") as f:
        f.write("nothing to see\n")
    r = run(h, "scan", clean, "--db", db, "--dir", d)
    eq(r.returncode, 0, "clean file (stderr: %s)" % r.stderr)
    eq(m.alerts(), [], "no alert for a clean file")

    bad = os.path.join(files, "x.com")
    with open(bad, "wb") as f:
        f.write(eicar())
    r = run(h, "scan", bad, "--db", db, "--dir", d)
    eq(r.returncode, 1, "infected (stderr: %s)" % r.stderr)
    sha = hashlib.sha256(eicar()).hexdigest()
    alerts = m.alerts()
    eq([a["event"] for a in alerts], ["detected", "quarantined", "clean_scan"], "alert order")
    for a in alerts:
        eq(a["path"], bad, "alert path")
        eq(a["sha256"], sha, "alert sha256")
        check(a["signature"].startswith(SIG), "signature %r" % a["signature"])
    check(not os.path.exists(bad), "the file left its folder")
    check(os.path.exists(clean), "the clean file stayed")
    q = os.path.join(d, "quarantine")
    eq(mode_of(q), 0o700, "quarantine dir mode")
    with open(os.path.join(q, "index.json")) as f:
        entries = json.load(f)["entries"]
    eq(len(entries), 1, "one index entry")
    e = entries[0]
    eq((e["path"], e["sha256"], e["state"]), (bad, sha, "quarantined"), "index entry")
    qf = os.path.join(q, e["id"])
    eq(mode_of(qf), 0o400, "quarantined file mode")
    with open(qf, "rb") as f:
        eq(f.read(), eicar(), "quarantined content")
    # A directory scan walks the tree and skips nothing but the quarantine itself.
    with open(os.path.join(files, "again.com"), "wb") as f:
        f.write(eicar())
    r = run(h, "scan", files, "--db", db, "--dir", d)
    eq(r.returncode, 1, "directory scan finds the new file")
    eq(len(m.alerts()), 6, "three more alerts")


def test_quarantine_list_restore(h):
    m, d = enrolled(h)
    db = write_db(h)
    bad = h.path("x.com")
    with open(bad, "wb") as f:
        f.write(eicar())
    os.chmod(bad, 0o640)
    eq(run(h, "scan", bad, "--db", db, "--dir", d).returncode, 1, "scan")
    r = run(h, "quarantine", "list", "--dir", d)
    eq(r.returncode, 0, "list")
    check(bad in r.stdout and "quarantined" in r.stdout, r.stdout)
    entries = json.loads(run(h, "quarantine", "list", "--json", "--dir", d).stdout)
    qid = entries[0]["id"]
    r = run(h, "quarantine", "restore", qid, "--dir", d)
    eq(r.returncode, 0, "restore (stderr: %s)" % r.stderr)
    with open(bad, "rb") as f:
        eq(f.read(), eicar(), "content back")
    eq(mode_of(bad), 0o640, "original mode back")
    last = m.alerts()[-1]
    eq((last["event"], last["path"]), ("restored", bad), "restored alert")
    eq(run(h, "quarantine", "restore", qid, "--dir", d).returncode, 2, "restore twice")
    eq(run(h, "quarantine", "restore", "nothex", "--dir", d).returncode, 2, "bad id")
    p = json.loads(run(h, "report", "--json", "--dir", d).stdout)
    eq(p["alerts_active"], 1, "a restored infected file counts as an active alert")
    # Restoring over an existing file is refused.
    eq(run(h, "scan", bad, "--db", db, "--dir", d).returncode, 1, "rescan")
    qid2 = [e for e in json.loads(run(h, "quarantine", "list", "--json", "--dir", d).stdout)
            if e["state"] == "quarantined"][0]["id"]
    with open(bad, "w") as f:
        f.write("new file\n")
    r = run(h, "quarantine", "restore", qid2, "--dir", d)
    eq(r.returncode, 2, "restore over an existing file")
    check("already exists" in r.stderr, r.stderr)
    with open(bad) as f:
        eq(f.read(), "new file\n", "existing file untouched")


@harness.timeout(60)
def test_daemon_watch(h):
    m, d = enrolled(h)
    db = write_db(h)
    watched = h.path("Downloads")
    os.makedirs(watched)
    daemon = Proc("ztagent-daemon", [agent_bin(h), "daemon", "--dir", d, "--db", db,
                                     "--watch", watched, "--interval", "1h"], h.dir)
    h.procs.append(daemon)
    check(wait_until(lambda: m.records("/.ztgate/device/posture"), 10),
          "posture report at start: " + daemon.stderr_text())
    # Land the file the way a browser does: written elsewhere, renamed in (IN_MOVED_TO).
    tmp = h.path("partial.download")
    with open(tmp, "wb") as f:
        f.write(eicar())
    target = os.path.join(watched, "invoice.com")
    landed = time.time()
    os.rename(tmp, target)
    check(wait_until(lambda: [a for a in m.alerts() if a["event"] == "detected"], 5),
          "detected alert: " + daemon.stderr_text())
    rec = [r for r in m.records("/.ztgate/device/alert") if r["body"]["event"] == "detected"][0]
    check(rec["t"] - landed <= 2.0, "detected reported within 2 s (took %.2fs)" %
          (rec["t"] - landed))
    check(wait_until(lambda: [a["event"] for a in m.alerts()] ==
                     ["detected", "quarantined", "clean_scan"], 5), "remediation alerts")
    eq(m.alerts()[0]["path"], target, "path")
    check(not os.path.exists(target), "quarantined")
    # A file written in place (IN_CLOSE_WRITE) is caught too.
    with open(os.path.join(watched, "second.com"), "wb") as f:
        f.write(eicar())
    check(wait_until(lambda: len(m.alerts()) == 6, 5), "second file handled")
    daemon.signal(signal.SIGTERM)
    eq(daemon.wait(5), 0, "daemon exit status on SIGTERM")
    check("stopping" in daemon.stderr_text(), daemon.stderr_text())
    check(not SANITIZER.search(daemon.stderr_text()), "sanitizer report from the daemon")


def test_bad_server_answers(h):
    m, d = enrolled(h)
    db = write_db(h)
    for mode, words in (("nonjson", "not a JSON object"), ("500", "server answered 500"),
                        ("badshape", "malformed")):
        m.set_mode(mode)
        r = run(h, "report", "--dir", d)
        eq(r.returncode, 2, "report with %s answers" % mode)
        check(words in r.stderr, "%s: %s" % (mode, r.stderr))
        r = run(h, "enroll", "--server", m.url, "--code", "GOOD-CODE-1", "--ca-file", m.ca,
                "--dir", h.path("fresh-" + mode))
        eq(r.returncode, 2, "enrol with %s answers (stderr: %s)" % (mode, r.stderr))
        check(not os.path.exists(os.path.join(h.path("fresh-" + mode), "device.pem")),
              "nothing stored")
    # A detection the server fails to take is still quarantined locally, but exits 2.
    m.set_mode("500")
    bad = h.path("x.com")
    with open(bad, "wb") as f:
        f.write(eicar())
    r = run(h, "scan", bad, "--db", db, "--dir", d)
    eq(r.returncode, 2, "scan with failing alerts")
    check(not os.path.exists(bad), "still quarantined")
    # Server gone entirely.
    m.proc.stop()
    r = run(h, "report", "--dir", d)
    eq(r.returncode, 2, "report with no server")
    check("cannot connect" in r.stderr, r.stderr)


def test_scan_errors(h):
    d = h.path("agent")
    r = run(h, "scan", h.path("nothing-here"), "--db", write_db(h), "--dir", d)
    eq(r.returncode, 2, "missing path")
    empty = h.path("emptydb")
    os.makedirs(empty)
    f = h.path("f.txt")
    open(f, "w").close()
    r = run(h, "scan", f, "--db", empty, "--dir", d)
    eq(r.returncode, 2, "empty database")
    check("no signatures" in r.stderr or "cannot load" in r.stderr, r.stderr)
    # Scanning works before enrolment: quarantine, no alerts.
    bad = h.path("x.com")
    with open(bad, "wb") as fh:
        fh.write(eicar())
    r = run(h, "scan", bad, "--db", write_db(h), "--dir", d)
    eq(r.returncode, 1, "unenrolled scan (stderr: %s)" % r.stderr)
    check("not enrolled" in r.stderr, r.stderr)


def test_daemon_interval(h):
    m, d = enrolled(h)
    daemon = Proc("ztagent-daemon", [agent_bin(h), "daemon", "--dir", d, "--interval", "1s"],
                  h.dir)
    h.procs.append(daemon)
    check(wait_until(lambda: len(m.records("/.ztgate/device/posture")) >= 3, 6),
          "a posture report every second: " + daemon.stderr_text())
    check(all(r["status"] == 200 for r in m.records("/.ztgate/device/posture")), "accepted")
    daemon.signal(signal.SIGINT)
    eq(daemon.wait(5), 0, "daemon exit status on SIGINT")
    r = run(h, "daemon", "--dir", d, "--interval", "0s")
    eq(r.returncode, 2, "bad interval")
