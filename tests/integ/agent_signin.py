"""Helpers for tests of `ztagent tunnel` and its device-code sign-in (docs/TUNNELS.md), for any
test that needs an enrolled agent with a tunnel token: no back door, the real flow.

    gw = tunnel_gateway(h, apps=[tcp_app("ssh", SSH_HOST, 22, sshd.port)])
    agent = Agent(h, gw, EMAIL)                   # user created elsewhere; enrolled here
    b = approver(gw, EMAIL, PASSWORD)             # a signed-in browser (HTTPS, TOTP enrolled)
    token = agent.sign_in(b, "ssh.test:22")       # `ztagent signin` + approval in b

Each Agent has its own AGENT_DIR and its own XDG_STATE_HOME (where the token is cached)."""
import json
import os
import re
import subprocess
import time

from harness import APP_HOST, check, eq, free_port
from portal_client import signed_in_browser
from test_agent import agent_bin

APPROVE = "/.ztgate/agent/approve"
CODE_RE = re.compile(r"enter the code\s+([A-Z0-9]{4}-[A-Z0-9]{4})")


def tls_listen(h):
    tls_dir = h.path("state/tls")
    return [{"address": "127.0.0.1:%d" % free_port(),
             "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                     "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]


def tcp_app(name, host, port, target_port, **kw):
    """A `kind: tcp` app: clients name host:port, ztgate connects to 127.0.0.1:target_port."""
    a = {"name": name, "kind": "tcp", "host": host, "port": port,
         "target": "127.0.0.1:%d" % target_port, "sensitivity": "internal"}
    a.update(kw)
    return a


def tunnel_gateway(h, apps, policies=None, extra=None, start=True):
    """A gateway with an HTTPS listener (the tunnel and the device protocol need TLS) and the
    audit log on; returns it (gw.audit_path is the log)."""
    audit = h.path("state/audit/audit.log")
    ext = {"audit": {"path": audit}}
    if policies is not None:
        ext["policies"] = policies
    ext.update(extra or {})
    gw = h.gateway(h.config(apps, listen=tls_listen(h), extra=ext), start=start)
    gw.audit_path = audit
    return gw


def audit_records(gw, event=None):
    out = []
    with open(gw.audit_path, errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if event is None or rec.get("unmapped", {}).get("event") == event:
                out.append(rec)
    return out


def approver(h, gw, email, password, create=False):
    """A browser signed in over HTTPS (not presenting any device certificate)."""
    return signed_in_browser(h, gw, email, password, tls=True, create=create, host=APP_HOST)


def approve(b, code, action="approve"):
    """Types the code on the approval page and presses Approve (or Deny); the last response."""
    tok, _ = b.csrf(APPROVE)
    r = b.post(APPROVE, {"csrf_token": tok, "code": code})
    if r.status != 200 or action is None or b'id="agent-approve"' not in r.body:
        return r
    m = re.search(rb'name="csrf_token" value="([^"]+)"', r.body)
    check(m, "the confirmation page has a form")
    return b.post(APPROVE, {"csrf_token": m.group(1).decode(), "code": code, "action": action})


class Agent:
    """An agent enrolled for `email` (the user must exist) against gw's HTTPS listener."""

    def __init__(self, h, gw, email, name="agent"):
        self.h, self.gw, self.bin = h, gw, agent_bin(h)
        self.dir = h.path(name)
        self.state = h.path(name + "-state")
        os.makedirs(self.state, exist_ok=True)
        self.env = dict(os.environ, XDG_STATE_HOME=self.state)
        r = h.cli("device", "enroll-code", "--user", email, "--json", "--config", gw.config_path)
        eq(r.returncode, 0, "enroll-code: " + r.stderr)
        code = json.loads(r.stdout)["code"]
        r = self.run("enroll", "--server", "https://127.0.0.1:%d" % gw.tls_port, "--code", code,
                     "--insecure-first-use")
        eq(r.returncode, 0, "ztagent enroll: " + r.stdout + r.stderr)
        with open(os.path.join(self.dir, "agent.conf")) as f:
            conf = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)
        self.device_id = conf["device_id"]
        self.cert = (os.path.join(self.dir, "device.pem"), os.path.join(self.dir, "device.key"))

    def argv(self, *args):
        return [self.bin] + list(args) + ["--dir", self.dir]

    def run(self, *args, timeout_s=60, input=None):
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout_s, cwd=self.h.dir, env=getattr(self, "env", None),
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def token_path(self):
        return os.path.join(self.state, "ztagent", "tunnel-%s.token" % self.device_id)

    def token(self):
        try:
            with open(self.token_path()) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def start_sign_in(self, app):
        """Starts `ztagent signin app`; (process, user code) once the code is printed."""
        p = subprocess.Popen(self.argv("signin", app), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.h.dir,
                             env=self.env)
        seen = []
        for _ in range(20):
            line = p.stderr.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            m = CODE_RE.search(line)
            if m:
                return p, m.group(1)
        p.kill()
        p.wait()
        raise AssertionError("ztagent signin printed no code: %r" % "".join(seen))

    def finish(self, p, timeout_s=40):
        """Waits for a signin process; (exit status, rest of stderr)."""
        try:
            _, err = p.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            raise AssertionError("ztagent signin did not finish: %r" % err)
        return p.returncode, err.decode(errors="replace")

    def sign_in(self, b, app):
        """The whole device-code flow, approved in browser b; returns the token."""
        p, code = self.start_sign_in(app)
        r = approve(b, code)
        eq(r.status, 200, "approval page answer: %r" % r.body[:300])
        check(b'id="agent-approved"' in r.body, "approved: %r" % r.body[:400])
        rc, err = self.finish(p)
        eq(rc, 0, "ztagent signin exit status (stderr: %s)" % err)
        tok = self.token()
        check(tok is not None and len(tok) == 43, "token cached: %r" % tok)
        mode = os.stat(self.token_path()).st_mode & 0o777
        eq(mode, 0o600, "token file mode")
        return tok


def wait_exit(p, timeout_s):
    """Waits up to timeout_s for p; its exit status, or None when it still runs."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if p.poll() is not None:
            return p.returncode
        time.sleep(0.02)
    return None
