"""SIEM export against a real rsyslogd (imudp, imtcp) and, for TLS, `openssl s_server`: the
installed rsyslog has no TLS netstream driver (no lmnsd_gtls.so / lmnsd_ossl.so). Every audit
record arrives as one RFC 5424 message with the right framing and fields, CEF lines parse,
hostile request bytes never split a line, and a collector outage neither stops the gateway nor
the other sinks; delivery resumes when the collector is back."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from harness import Proc, Skip, check, eq, free_port, get, port_open, timeout, wait_until
from portal_client import Browser

RSYSLOG = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
SYSLOG_RE = re.compile(
    r'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) (\S+) (\S+) (\S+) (\S+) '
    r'(\[ztgate@32473(?: [a-z_]+="(?:[^"\\\]]|\\["\\\]])*")*\]|-) (.*)$')


def wildcard_port():
    """A port free on every address, IPv4 and IPv6: rsyslogd binds 0.0.0.0 and ::, which fails
    when any socket holds the port on any address (TIME-WAIT ones of tests that connect from
    127.0.0.x included); harness.free_port only asks 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind(("0.0.0.0", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s6.bind(("::", port))
                    return port
            except OSError:
                continue
    raise AssertionError("no port free on both 0.0.0.0 and ::")


class Rsyslog:
    """rsyslogd -n as this user, imtcp + imudp on free ports, each input into its own files:
    NAME.log holds %rawmsg% (the message exactly as framed), NAME.parsed what rsyslog parsed."""

    def __init__(self, h, tcp_inputs, udp_inputs):
        if not os.path.exists(RSYSLOG):
            raise Skip("rsyslogd not installed")
        self.h = h
        self.dir = os.path.join(h.dir, "rsyslog")
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        self.ports = {}
        lines = ['global(workDirectory="%s/work" maxMessageSize="64k")' % self.dir,
                 'module(load="imtcp")', 'module(load="imudp")',
                 'template(name="raw" type="string" string="%rawmsg%\\n")',
                 'template(name="parsed" type="string" string="%syslogfacility%|'
                 '%syslogseverity%|%hostname%|%app-name%|%procid%|%msgid%|'
                 '%structured-data%\\n")']
        for kind, names in (("imtcp", tcp_inputs), ("imudp", udp_inputs)):
            for name in names:
                self.ports[name] = wildcard_port()
                lines.append('ruleset(name="%s") { action(type="omfile" file="%s" '
                             'template="raw") action(type="omfile" file="%s" '
                             'template="parsed") }' % (name, self.path(name),
                                                       self.path(name, "parsed")))
                lines.append('input(type="%s" port="%d" ruleset="%s")'
                             % (kind, self.ports[name], name))
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.tcp_inputs = tcp_inputs
        self.proc = None
        self.runs = 0

    def path(self, name, ext="log"):
        return os.path.join(self.dir, "%s.%s" % (name, ext))

    def start(self):
        self.runs += 1
        self.proc = Proc("rsyslog%d" % self.runs,
                         [RSYSLOG, "-n", "-f", self.conf, "-i", os.path.join(self.dir, "pid")],
                         self.h.dir)
        self.h.procs.append(self.proc)
        for name in self.tcp_inputs:
            ok = wait_until(lambda: port_open(self.ports[name]) or not self.proc.alive(), 10)
            check(ok and self.proc.alive(), "rsyslogd did not start: %s" % self.proc.stderr_text())
        return self

    def kill(self):
        """SIGKILL: the collector dies without closing anything gracefully."""
        self.proc.killed_on_purpose = True
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(5)
        self.proc.stop()

    def lines(self, name, ext="log"):
        try:
            with open(self.path(name, ext), "rb") as f:
                return f.read().decode("utf-8").split("\n")[:-1]
        except FileNotFoundError:
            return []


def make_pki(d):
    """A test CA and a server certificate for siem.test signed by it."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-days", "2", "-keyout", "ca.key", "-out", "ca.crt",
        "-subj", "/CN=ztgate test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")
    run("req", *ec, "-keyout", "siem.key", "-out", "siem.csr", "-subj", "/CN=siem.test")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:siem.test\n")
    run("x509", "-req", "-in", "siem.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "siem.crt", "-extfile", "ext.cnf")
    return [os.path.join(d, n) for n in ("ca.crt", "siem.crt", "siem.key")]


def tls_sink(h, name, cert, key):
    """openssl s_server printing what it receives to NAME.stdout; returns (proc, port). Its
    stdin must stay open: at EOF on stdin s_server closes every connection."""
    port = free_port()
    p = Proc(name, ["sh", "-c", "sleep 3600 | exec openssl s_server -accept 127.0.0.1:%d "
                    "-cert '%s' -key '%s' -quiet" % (port, cert, key)], h.dir)
    h.procs.append(p)
    check(wait_until(lambda: port_open(port) or not p.alive(), 10) and p.alive(),
          "s_server did not start: %s" % p.stderr_text())
    return p, port


def gateway(h, exports):
    up = h.upstream()
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log"), "export": exports}
    return h.gateway(h.config([h.app(up)], extra={"audit": audit}))


def audit_records(h):
    with open(os.path.join(h.dir, "state", "audit", "audit.log")) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def unframe(data):
    """Octet-counted frames (RFC 6587 3.4.1) from a byte stream; raises on anything else."""
    out = []
    i = 0
    while i < len(data):
        sp = data.index(b" ", i)
        n = int(data[i:sp])
        check(data[i:sp].isdigit() and 0 < n, "bad frame length %r" % data[i:sp])
        out.append(data[sp + 1:sp + 1 + n])
        check(len(out[-1]) == n, "short frame")
        i = sp + 1 + n
    return out


def parse_syslog(line, what):
    m = SYSLOG_RE.match(line)
    check(m is not None, "%s: not an RFC 5424 message: %r" % (what, line[:300]))
    return m


def cef_fields(msg):
    """Header fields and extension dict of a CEF line, parsed the strict way a SIEM does."""
    hdr = []
    cur = ""
    i = 0
    while len(hdr) < 7:
        c = msg[i]
        if c == "\\":
            cur += msg[i + 1]
            i += 2
            continue
        if c == "|":
            hdr.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    ext = msg[i:]
    keys = list(re.finditer(r"(?:^| )([A-Za-z0-9]+)=", ext))
    out = {}
    for k, nxt in zip(keys, keys[1:] + [None]):
        check(k.start() == 0 or ext[k.start() - 1] != "\\", "escaped space before key")
        raw = ext[k.end():nxt.start() if nxt else len(ext)]
        val = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), raw)
        check(k.group(1) not in out, "key %s repeated in %r" % (k.group(1), msg))
        out[k.group(1)] = val
    return hdr, out


HOSTILE_USER = "eve\r\nforged] suser=root|act=allow \"x\\\x1b[31m\u00e9"


def requests_with_hostile_bytes(gw):
    """Requests whose records carry CR, LF, ESC, ], ", \\, |, = and non-ASCII: the failed
    sign-in records the username exactly as the form sent it."""
    b = Browser(gw.port)
    tok, _ = b.csrf("/.ztgate/login")
    r = b.post("/.ztgate/login", {"username": HOSTILE_USER, "password": "x" * 12,
                                  "csrf_token": tok})
    eq(r.status, 200, "failed sign-in")
    eq(get(gw.port, "/hello").status, 200, "allowed request")
    eq(get(gw.port, "/", host="nope.test").status, 404, "default deny")
    eq(get(gw.port, "/a%0d%0aforged%5d%22%00x%20suser=root%20act=allow").status, 400,
       "encoded CR LF NUL in the path")
    eq(get(gw.port, "/x", host="evil\x1b[31m.test").status, 400, "escape byte in Host")
    eq(get(gw.port, "/caf%C3%A9|x=y").status, 200, "non-ASCII and CEF specials in the path")


@timeout(90)
def test_export_udp_tcp_cef_tls(h):
    rs = Rsyslog(h, ["tcp", "cef"], ["udp"]).start()
    ca, cert, key = make_pki(h.dir)
    tls_proc, tls_port = tls_sink(h, "siem_tls", cert, key)
    bad_proc, bad_port = tls_sink(h, "siem_badname", cert, key)
    gw = gateway(h, [
        {"name": "tcp", "transport": "tcp", "address": "127.0.0.1:%d" % rs.ports["tcp"]},
        {"name": "udp", "transport": "udp", "address": "127.0.0.1:%d" % rs.ports["udp"],
         "facility": "local3", "app_name": "zt-udp"},
        {"name": "cef", "type": "cef", "transport": "tcp",
         "address": "127.0.0.1:%d" % rs.ports["cef"]},
        {"name": "tls", "transport": "tls", "address": "127.0.0.1:%d" % tls_port,
         "ca": ca, "server_name": "siem.test"},
        {"name": "badname", "transport": "tls", "address": "127.0.0.1:%d" % bad_port,
         "ca": ca, "server_name": "other.test"},
    ])
    requests_with_hostile_bytes(gw)
    gw.proc.stop()  # the final checkpoint is exported and flushed at close
    recs = audit_records(h)
    with open(os.path.join(h.dir, "state", "audit", "audit.log"), encoding="utf-8") as f:
        raw_records = [line.rstrip("\n") for line in f]
    check(len(recs) >= 7, "requests, start/stop events, checkpoints: %d" % len(recs))
    n = len(recs)
    for name in ("tcp", "udp", "cef"):
        wait_until(lambda: len(rs.lines(name)) >= n, 10)
        eq(len(rs.lines(name)), n, "%s: one message per record (no split, none lost)" % name)

    # syslog over TCP: MSG is the audit record byte for byte; SD and header from its fields.
    for rec, raw, line in zip(recs, raw_records, rs.lines("tcp")):
        m = parse_syslog(line, "tcp")
        eq(m.group(8), raw, "MSG is the record as written")
        sev = {1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1}.get(rec.get("severity_id"), 5)
        if rec.get("type") == "checkpoint":
            sev = 6
            eq(m.group(6), "Checkpoint", "MSGID of a checkpoint")
        eq(int(m.group(1)), 10 * 8 + sev, "PRI authpriv + severity of seq %d" % rec["seq"])
        eq(m.group(4), "ztgate", "APP-NAME")
        eq(m.group(5), str(gw.pid), "PROCID")
        check('seq="%d"' % rec["seq"] in m.group(7), "seq in SD: %s" % m.group(7))
        check(m.group(2).startswith(rec["time"][:19]), "timestamp from the record")
    http = [(r, l) for r, l in zip(recs, rs.lines("tcp")) if r.get("class_uid") == 4002]
    check(len(http) >= 3, "HTTP Activity records: %d" % len(http))
    for r, line in http:
        check(" HTTPActivity [ztgate@32473 " in line, "MSGID HTTPActivity: %s" % line[:120])
        check('decision="%s"' % r["decision"] in line, "decision in SD")
    parsed = [p.split("|", 6) for p in rs.lines("tcp", "parsed")]
    eq(len(parsed), n, "rsyslog parsed every message")
    for p in parsed:
        eq(p[0], "10", "facility as parsed by rsyslog")
        check(p[5] in ("HTTPActivity", "Authentication", "ApplicationLifecycle", "Checkpoint"),
              "MSGID %r" % p[5])
        check(p[6].startswith("[ztgate@32473 seq="), "structured data as parsed: %r" % p[6])

    # syslog over UDP: same records, facility local3, app zt-udp.
    for raw, line in zip(raw_records, rs.lines("udp")):
        m = parse_syslog(line, "udp")
        eq(int(m.group(1)) // 8, 19, "local3")
        eq(m.group(4), "zt-udp", "APP-NAME")
        eq(m.group(8), raw, "UDP MSG is the record")

    # CEF over TCP: every line parses; the hostile path stays inside request=.
    cefs = []
    for rec, line in zip(recs, rs.lines("cef")):
        m = parse_syslog(line, "cef")
        check(m.group(8).startswith("CEF:0|ztgate|ztgate|"), "CEF MSG: %r" % m.group(8)[:80])
        hdr, ext = cef_fields(m.group(8))
        eq(len(hdr), 7, "CEF header fields")
        eq(ext.get("cn1"), str(rec["seq"]), "cn1 carries seq")
        cefs.append((rec, hdr, ext))
    auth = [(r, hd, e) for r, hd, e in cefs if r.get("class_uid") == 3002]
    eq(len(auth), 1, "one Authentication record")
    rec, hdr, ext = auth[0]
    eq(rec["user"]["email_addr"], HOSTILE_USER, "the audit log keeps the username as sent")
    eq((hdr[4], hdr[5], hdr[6]), ("3002:1", "Authentication: Logon", "3"), "CEF header")
    # CR LF round-trip as \r \n, ESC became U+FFFD, and "suser=root|act=allow" added no keys.
    eq(ext.get("suser"), HOSTILE_USER.replace("\x1b", "\ufffd"), "suser holds the whole name")
    eq(ext.get("outcome"), "failure", "outcome")
    eq(ext.get("reason"), "unknown user", "reason")
    check("act" not in ext, "no act= injected: %r" % ext)
    tcp_auth = [l for r, l in zip(recs, rs.lines("tcp")) if r.get("class_uid") == 3002][0]
    check(' user="eve\ufffd\ufffdforged\\] suser=root|act=allow \\"x\\\\\ufffd[31m\u00e9" '
          in tcp_auth, "SD user escaped: %r" % tcp_auth[:400])
    allowed = [e for r, hd, e in cefs if r.get("decision") == "allow"]
    eq(len(allowed), 2, "allowed requests in CEF")
    check(any(e.get("request", "").endswith("/caf%C3%A9|x=y") for e in allowed),
          "| and = kept in request=: %r" % [e.get("request") for e in allowed])
    for e in allowed:
        eq(e.get("outcome"), "success", "outcome")
        eq(e.get("src"), "127.0.0.1", "src")
    check(all(not l.startswith("forged") for n_ in ("tcp", "udp", "cef") for l in rs.lines(n_)),
          "a line starts with injected text")

    # TLS to s_server: octet-counted frames, verified against the test CA and siem.test.
    tls_proc.stop()
    with open(tls_proc.out_path, "rb") as f:
        frames = unframe(f.read())
    eq(len(frames), n, "TLS frames")
    eq([parse_syslog(fr.decode(), "tls").group(8) for fr in frames], raw_records, "TLS MSGs")
    bad_proc.stop()
    eq(os.path.getsize(bad_proc.out_path), 0, "nothing sent to a server with the wrong name")
    err = gw.stderr_text()
    check("audit export badname: cannot reach" in err and "verification failed" in err,
          "wrong server name refused: %s" % err[-2000:])
    check(re.search(r"audit export tcp: stopped; sent %d, dropped 0" % n, err),
          "tcp counters at stop: %s" % err[-2000:])


@timeout(120)
def test_export_collector_outage(h):
    rs = Rsyslog(h, ["tcp"], ["udp"]).start()
    gw = gateway(h, [
        {"name": "tcp", "transport": "tcp", "address": "127.0.0.1:%d" % rs.ports["tcp"],
         "queue_limit": 5},
        {"name": "udp", "transport": "udp", "address": "127.0.0.1:%d" % rs.ports["udp"]},
    ])
    for i in range(3):
        eq(get(gw.port, "/before-%d" % i).status, 200, "before the outage")
    check(wait_until(lambda: any("/before-2" in l for l in rs.lines("tcp")), 10),
          "delivered before the outage")
    rs.kill()
    # The gateway keeps serving while the collector is gone; the small queue overflows.
    t0 = time.monotonic()
    for i in range(20):
        eq(get(gw.port, "/during-%d" % i).status, 200, "during the outage")
    check(time.monotonic() - t0 < 10, "requests slowed down by a dead collector")
    # Lost on the next write, then refused reconnects with backoff while rsyslog stays down.
    check(wait_until(lambda: "connection to 127.0.0.1:%d lost" % rs.ports["tcp"]
                     in gw.stderr_text() and "audit export tcp: cannot reach" in gw.stderr_text(),
                     10), "outage noticed: %s" % gw.stderr_text()[-1500:])
    time.sleep(1.5)
    eq(get(gw.port, "/still-serving").status, 200, "serving while the collector is down")
    rs.start()
    check(wait_until(lambda: gw.stderr_text().count("audit export tcp: connected") >= 2, 40),
          "reconnected: %s" % gw.stderr_text()[-1500:])
    for i in range(3):
        eq(get(gw.port, "/after-%d" % i).status, 200, "after the outage")
    check(wait_until(lambda: any("/after-2" in l for l in rs.lines("tcp")), 10),
          "delivery resumed: %r" % rs.lines("tcp")[-3:])
    check(wait_until(lambda: any("/after-2" in l for l in rs.lines("udp")), 10),
          "UDP delivery resumed")
    gw.proc.stop()
    err = gw.stderr_text()
    m = re.search(r"audit export tcp: stopped; sent (\d+), dropped (\d+), truncated \d+, "
                  r"reconnects (\d+)", err)
    check(m is not None, "counters logged at stop: %s" % err[-1500:])
    sent, dropped, reconnects = (int(x) for x in m.groups())
    check(dropped >= 15, "20 records into a queue of 5 while down: dropped %d" % dropped)
    check(reconnects >= 1, "reconnects %d" % reconnects)
    # What arrived is a subset of the log, in order, each record whole.
    recs = {r["seq"]: r for r in audit_records(h)}
    got = [json.loads(parse_syslog(l, "tcp").group(8)) for l in rs.lines("tcp")]
    seqs = [r["seq"] for r in got]
    eq(seqs, sorted(seqs), "in log order")
    for r in got:
        eq(r, recs[r["seq"]], "record %d as in the log" % r["seq"])
    check(sent >= len(set(seqs)), "sent %d, received %d" % (sent, len(set(seqs))))
