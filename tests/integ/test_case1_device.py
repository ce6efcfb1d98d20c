"""Acceptance story, Case 1: a compromised device, on the real ztgate and ztagent.

An enrolled, compliant device opens a confidential app (allowed) -> an EICAR file lands in a
folder the agent watches -> within 2 s the next request is blocked with a page that names the
malware alert -> the agent quarantines the file and rescans clean -> the next request is
allowed. `ztgate device show` and the audit log show every step.

How the pieces fit:
* The "browser" is a TLS client that presents the device certificate from the agent's
  directory (device.pem / device.key): that is how ztgate ties a request to a device
  (docs/DEVICE_PROTOCOL.md, Identity). The user signs in over the same HTTPS listener.
* Compliance rule: `require_antivirus` only. The agent always reports its libclamav engine, so
  the rule holds on any machine; disk encryption, firewall and OS-version rules depend on the
  machine running the tests and are left out.
* The agent talks to the gateway through a relay the test controls (UplinkRelay), a stand-in for
  the network between the device and the gateway. ztagent's detection flow is detected ->
  quarantine -> quarantined -> rescan -> clean_scan, three reports a few milliseconds apart, and
  ztagent has no option to pause between them. Letting the reports through one at a time keeps
  each state (alert active, alert quarantined, resolved) visible long enough to request the
  app and read `ztgate device show` in it. The agent itself runs unchanged (`ztagent daemon
  --watch`), and the file is quarantined on the device as soon as it is found.
"""
import json
import os
import re
import signal
import socket
import ssl
import threading
import time
import urllib.parse

from harness import (APP_HOST, Proc, SockReader, build_request, check, eq, free_port,
                     read_response, timeout, wait_until)
from portal_client import FORM, Browser, add_user, complete_sign_in
from test_agent import agent_bin, eicar, run, write_db

EMAIL = "dana@example.test"
PASSWORD = "dana's long passphrase for the vault"
BLOCK_POLICY = "block-high-risk-devices"
DEVICE_POLICY = "confidential-compliant-device"


# ---- the device's browser: HTTPS with the device certificate --------------------------------

def _tls_request(port, method, path, headers, body, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert[0], cert[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=APP_HOST)
    try:
        s.sendall(build_request(method, path, APP_HOST, headers, body))
        s.settimeout(10)
        r = read_response(SockReader(s), method)
        check(r is not None, "no response to %s %s" % (method, path))
        return r
    finally:
        s.close()


class DeviceBrowser(Browser):
    """A Browser over HTTPS whose connections present `cert` = (device.pem, device.key), or
    no client certificate when cert is None."""

    def __init__(self, port, cert=None):
        super().__init__(port, host=APP_HOST, tls=True)
        self.cert = cert

    def get(self, path, headers=()):
        return self._keep(_tls_request(self.port, "GET", path, self._headers(headers), None,
                                       self.cert))

    def post(self, path, fields, headers=(FORM,), raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
        return self._keep(_tls_request(self.port, "POST", path, self._headers(headers), body,
                                       self.cert))


def _page(b):
    """GET / as a browser (Accept: text/html)."""
    return b.get("/", headers=[("Accept", "text/html")])


# ---- the device's uplink ---------------------------------------------------------------------

class UplinkRelay:
    """TCP relay 127.0.0.1:port -> the gateway. open(): everything passes. allow(n): the next n
    connections pass, later ones wait (accepted, nothing forwarded) until allowed."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.cond = threading.Condition()
        self.budget = None  # None: open
        self.waiting = 0
        self.passed = 0
        self.closed = False
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with self.cond:
            self.socks.append(c)
            self.waiting += 1
            self.cond.notify_all()
            while not self.closed and self.budget is not None and self.budget <= 0:
                self.cond.wait()
            self.waiting -= 1
            if self.closed:
                c.close()
                return
            if self.budget is not None:
                self.budget -= 1
            self.passed += 1
            self.cond.notify_all()
        try:
            u = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            c.close()
            return
        u.settimeout(None)
        c.settimeout(None)
        with self.cond:
            self.socks.append(u)
        t = threading.Thread(target=_pipe, args=(u, c), daemon=True)
        t.start()
        _pipe(c, u)
        t.join(20)
        c.close()
        u.close()

    def open(self):
        with self.cond:
            self.budget = None
            self.cond.notify_all()

    def allow(self, n):
        with self.cond:
            self.budget = (self.budget or 0) + n if self.budget is not None else n
            self.cond.notify_all()

    def hold(self):
        self.allow(0)

    def wait_waiting(self, timeout_s):
        with self.cond:
            return self.cond.wait_for(lambda: self.waiting > 0, timeout_s)

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
            socks = list(self.socks)
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the accept loop (tcp_target.stop)
        except OSError:
            pass
        self.srv.close()
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


# ---- the gateway -----------------------------------------------------------------------------

def _config(h, up, hook_port):
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    policies = [
        {"name": BLOCK_POLICY,
         "users": {"include": ["all"]},
         "apps": {"include": ["sensitivity:confidential", "sensitivity:restricted"]},
         "conditions": {"device": {"risk": ["high"]}},
         "grant": {"block": True}},
        {"name": DEVICE_POLICY,
         "users": {"include": ["all"]},
         "apps": {"include": ["sensitivity:confidential", "sensitivity:restricted"]},
         "grant": {"controls": ["compliant_device"]}},
    ]
    return h.config([h.app(up, name="vault", sensitivity="confidential")], listen=listen,
                    extra={"audit": {"path": audit},
                           "devices": {"require_antivirus": True},
                           "policies": policies,
                           # The SOC is told about malware; the device policy already blocks.
                           "incidents": {"notify": {"url": "http://127.0.0.1:%d/hook" % hook_port,
                                                    "timeout": "2s", "retries": 3,
                                                    "backoff": "200ms"}},
                           "playbooks": [{"name": "notify-soc-malware",
                                          "on": {"types": ["malware"]},
                                          "actions": ["open_incident", "notify"]}]}), audit


def _show(h, gw, device_id):
    r = h.cli("device", "show", device_id, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "device show: " + r.stderr)
    return json.loads(r.stdout)


def _show_text(h, gw, device_id):
    r = h.cli("device", "show", device_id, "--config", gw.config_path)
    eq(r.returncode, 0, "device show: " + r.stderr)
    return r.stdout


def _alerts(show):
    return [(a["state"], a["signature"]) for a in show["alerts"]]


def _device_findings(audit, device_id):
    out = []
    with open(audit, errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            # The agent's alert records (incident timelines are findings about the device too).
            if (rec.get("class_uid") == 2004 and rec.get("device", {}).get("uid") == device_id
                    and "event" in rec.get("unmapped", {})):
                out.append(rec)
    return out


def _poll(b, want, timeout_s, interval=0.02):
    """Requests the app until the status is `want`; (response, seconds) or (last, None)."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout_s:
        last = _page(b)
        if last.status == want:
            return last, time.monotonic() - start
        time.sleep(interval)
    return last, None


# ---- the story -------------------------------------------------------------------------------

@timeout(120)
def test_case1_compromised_device(h):
    agent = agent_bin(h)
    up = h.upstream()
    from test_case2_password import Hook
    hook = Hook()
    cfg, audit = _config(h, up, hook.port)
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, EMAIL, PASSWORD)
    gw.start()
    conf = ("--config", gw.config_path)
    relay = UplinkRelay(gw.tls_port)
    problems = []  # story checks that fail but let the rest of the story run
    try:
        # Enrol the device: an admin's code, the agent through its uplink.
        r = h.cli("device", "enroll-code", "--user", EMAIL, "--json", *conf)
        eq(r.returncode, 0, "enroll-code: " + r.stderr)
        code = json.loads(r.stdout)["code"]
        adir, db = h.path("agent"), write_db(h)
        r = run(h, "enroll", "--server", "https://127.0.0.1:%d" % relay.port, "--code", code,
                "--insecure-first-use", "--dir", adir)
        eq(r.returncode, 0, "ztagent enroll: " + r.stdout + r.stderr)
        with open(os.path.join(adir, "agent.conf")) as f:
            device_id = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)["device_id"]
        cert = (os.path.join(adir, "device.pem"), os.path.join(adir, "device.key"))

        # Signed in on the device, but no posture yet: not compliant, refused.
        b = DeviceBrowser(gw.tls_port, cert)
        complete_sign_in(b, EMAIL, PASSWORD)
        r = _page(b)
        eq(r.status, 403, "before the first posture report")
        check(DEVICE_POLICY.encode() in r.body, "the page names the device policy")
        # The same session without the device certificate: no device, refused too.
        nodev = DeviceBrowser(gw.tls_port, None)
        nodev.cookies = dict(b.cookies)
        r = _page(nodev)
        eq(r.status, 403, "without the device certificate")
        check(b"compliant" in r.body, "the page asks for a compliant device")

        # 1. The agent reports a compliant posture: the confidential app opens.
        r = run(h, "report", "--db", db, "--dir", adir)
        eq(r.returncode, 0, "ztagent report: " + r.stdout + r.stderr)
        r = _page(b)
        eq(r.status, 200, "compliant device: allowed (%r)" % r.body[:300])
        echo = r.json()
        check(any(n.lower() == "x-zt-email" and v == EMAIL for n, v in echo["headers"]),
              "the app got the user's identity")
        show = _show(h, gw, device_id)
        eq((show["compliant"], show["risk"], show["alerts"]), (True, "none", []),
           "device show after the posture report")
        print("  step 1 allowed; device show: compliant=%s risk=%s alerts=%s"
              % (show["compliant"], show["risk"], show["alerts"]))

        # The agent's daemon watches the downloads folder.
        inbox = h.path("inbox")
        os.makedirs(inbox)
        daemon = Proc("ztagent-daemon", [agent, "daemon", "--dir", adir, "--db", db,
                                         "--watch", inbox, "--interval", "1h"], h.dir)
        h.procs.append(daemon)
        check(wait_until(lambda: "posture sent" in daemon.stderr_text(), 10),
              "the daemon reported posture at start: " + daemon.stderr_text())
        # From now on the uplink carries one report at a time.
        relay.allow(1)

        # 2. EICAR lands in the watched folder, the way a browser saves a download.
        tmp = h.path("invoice.pdf.part")
        with open(tmp, "wb") as f:
            f.write(eicar())
        target = os.path.join(inbox, "invoice.com")
        landed = time.monotonic()
        os.rename(tmp, target)
        r, took = _poll(b, 403, 5.0)
        blocked_after = time.monotonic() - landed
        check(took is not None, "blocked after the detection (last status %s); daemon: %s"
              % (r.status, daemon.stderr_text()))
        print("  step 2 blocked %.3f s after the file landed" % blocked_after)
        if blocked_after > 2.0:
            problems.append("blocked %.2f s after the file landed (more than 2 s)" % blocked_after)
        check(BLOCK_POLICY.encode() in r.body, "the block page names the policy: %r" % r.body)
        body = r.body.decode("utf-8", "replace")
        if "Eicar-Test-Signature" not in body or "malware" not in body.lower():
            problems.append("the block page does not name the malware alert "
                            "(no 'malware' / 'Eicar-Test-Signature' in it): %s"
                            % _page_text(body))
        show = _show(h, gw, device_id)
        eq(show["risk"], "high", "device risk after the detection")
        eq(len(show["alerts"]), 1, "one alert")
        a = show["alerts"][0]
        eq((a["state"], a["path"]), ("active", target), "the alert is active for the file")
        check(a["signature"].startswith("Eicar-Test-Signature"), "signature: %r" % a)
        print("  step 2 device show: risk=%s alerts=%s" % (show["risk"], _alerts(show)))
        print("  " + _show_text(h, gw, device_id).replace("\n", "\n  ").rstrip())
        # On the device the file is already in quarantine; its report waits on the uplink.
        check(not os.path.exists(target), "the agent moved the file away")
        q = json.loads(run(h, "quarantine", "list", "--json", "--dir", adir).stdout)
        eq([(e["path"], e["state"]) for e in q], [(target, "quarantined")], "quarantine list")

        # 3. The quarantine report reaches the gateway: still blocked until a clean rescan.
        check(relay.wait_waiting(10), "the agent sends its next report")
        relay.allow(1)
        check(wait_until(lambda: _alerts(_show(h, gw, device_id))[:1] ==
                         [("quarantined", a["signature"])], 5),
              "device show: alert quarantined (%r)" % _show(h, gw, device_id))
        show = _show(h, gw, device_id)
        eq(show["risk"], "high", "quarantined without a clean rescan is still high risk")
        eq(_page(b).status, 403, "still blocked while the rescan is outstanding")
        print("  step 3 device show: risk=%s alerts=%s" % (show["risk"], _alerts(show)))

        # 4. The clean rescan: resolved, and the next request is allowed again.
        check(relay.wait_waiting(10), "the agent sends its rescan report")
        relay.open()
        released = time.monotonic()
        r, took = _poll(b, 200, 5.0)
        check(took is not None, "allowed again after the clean rescan (last %s)" % r.status)
        print("  step 4 allowed again %.3f s after the rescan report was let through"
              % (time.monotonic() - released))
        show = _show(h, gw, device_id)
        eq((show["compliant"], show["risk"], show["alerts"], show["active_alerts"]),
           (True, "none", [], 0), "device show after the clean rescan")
        print("  step 4 device show: compliant=%s risk=%s alerts=%s"
              % (show["compliant"], show["risk"], show["alerts"]))
        check(wait_until(lambda: daemon.stderr_text().count("alert ") >= 3, 5),
              "the daemon logged three alerts: " + daemon.stderr_text())

        # The audit log holds the alert's history in order, and verifies.
        found = _device_findings(audit, device_id)
        eq([f["unmapped"]["event"] for f in found], ["detected", "quarantined", "clean_scan"],
           "Detection Finding records for the device, in order")
        eq([f["unmapped"]["active_alerts"] for f in found], [1, 1, 0], "active alerts")
        check(all(f["unmapped"]["path"] == target for f in found), "every record names the file")
        r = h.cli("audit", "search", "--device", device_id, "--json", *conf)
        if r.returncode == 0:
            recs = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
            events = [x["unmapped"]["event"] for x in recs
                      if x.get("class_uid") == 2004 and x.get("unmapped", {}).get("event")]
            eq(events, ["detected", "quarantined", "clean_scan"], "audit search --device")
        else:
            problems.append("ztgate audit search --device failed: " + r.stderr.strip())
        # Core 6: the alert opened an incident whose timeline tells the story in order, and
        # the clean scan resolved it.
        r = h.cli("incident", "list", "--json", *conf)
        eq(r.returncode, 0, "incident list: " + r.stderr)
        incidents = [i for i in json.loads(r.stdout) if i.get("device_id") == device_id
                     or i.get("device") == device_id]
        eq(len(incidents), 1, "one incident for the device: %s" % r.stdout)
        eq(incidents[0]["status"], "resolved", "the clean scan resolved it")
        r = h.cli("incident", "show", str(incidents[0]["id"]), "--json", *conf)
        eq(r.returncode, 0, "incident show: " + r.stderr)
        kinds = [e["kind"] for e in json.loads(r.stdout)["timeline"]]
        check(kinds[0] == "detection" and "remediation" in kinds and kinds.index("detection")
              < kinds.index("remediation") and kinds[-1] == "status",
              "timeline detection -> remediation -> resolved: %r" % kinds)
        check(wait_until(lambda: len(hook.posts) >= 1, 10.0), "the SOC webhook got nothing")
        check(any(p.get("incident_id") == incidents[0]["id"] or
                  p.get("incident", {}).get("id") == incidents[0]["id"] for p in hook.posts),
              "the notification names the incident: %r" % hook.posts)
        r = h.cli("audit", "verify", *conf)
        eq(r.returncode, 0, "audit verify: " + r.stdout + r.stderr)
        check(r.stdout.startswith("OK"), r.stdout)

        daemon.signal(signal.SIGTERM)
        eq(daemon.wait(5), 0, "the daemon stops cleanly")
    finally:
        relay.close()
        hook.close()
    if problems:
        raise AssertionError("the story ran to the end, but:\n  - " + "\n  - ".join(problems))


def _page_text(body):
    """The visible text of a page, compact, for failure messages."""
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", body)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).strip()[:600]
