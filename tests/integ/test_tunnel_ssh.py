"""SSH through ztgate, end to end: a real sshd (sshd.py) behind a `kind: tcp` app, the real
`ssh`/`scp` with `ProxyCommand ztagent tunnel %h:%p --stdio`, the token from the real device-code
sign-in (agent_signin.py). A command runs, 20 MiB go up and come back by scp with the same
SHA-256, `--listen` serves two sessions at once, `ztgate user revoke-sessions` ends a live
session, and a host:port that is no tcp app is refused with the gateway's reason."""
import hashlib
import json
import os
import subprocess
import time

from agent_signin import Agent, approver, audit_records, tcp_app, tunnel_gateway, wait_exit
from harness import check, eq, free_port, timeout
from portal_client import add_user
from sshd import Sshd

EMAIL = "mio@example.test"
PASSWORD = "mio's long passphrase for ssh"
HOST = "ssh.test"


def _setup(h, policies=None):
    sshd = Sshd(h)
    gw = tunnel_gateway(h, [tcp_app("ssh", HOST, 22, sshd.port)], policies=policies, start=False)
    add_user(h, gw, EMAIL, PASSWORD)
    gw.start()
    agent = Agent(h, gw, EMAIL)
    agent.sign_in(approver(h, gw, EMAIL, PASSWORD), "%s:22" % HOST)
    return sshd, gw, agent


def _proxy(agent):
    return "%s tunnel %%h:%%p --stdio --dir %s" % (agent.bin, agent.dir)


def _ssh(sshd, agent, *cmd, timeout_s=60):
    argv = sshd.ssh_argv(HOST, 22, _proxy(agent)) + ["%s@%s" % (sshd.user, HOST)] + list(cmd)
    return subprocess.run(argv, capture_output=True, timeout=timeout_s, env=agent.env,
                          stdin=subprocess.DEVNULL)


def _sha256(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            d.update(chunk)
    return d.hexdigest()


@timeout(60)
def test_sshd_fixture(h):
    """The fixture alone (no gateway): a failure here is the machine's, not the tunnel's."""
    sshd = Sshd(h)
    argv = sshd.ssh_argv("127.0.0.1", sshd.port) + ["%s@127.0.0.1" % sshd.user, "echo", "direct"]
    r = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    eq(r.returncode, 0, "direct ssh: %r" % r.stderr)
    eq(r.stdout, b"direct\n", "output")


@timeout(180)
def test_ssh_and_scp_20mib(h):
    sshd, gw, agent = _setup(h)
    r = _ssh(sshd, agent, "echo", "ok")
    eq(r.returncode, 0, "ssh through the tunnel: %r" % r.stderr)
    eq(r.stdout, b"ok\n", "command output")
    src, there, back = h.path("up.bin"), h.path("there.bin"), h.path("back.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(20 << 20))
    scp = sshd.ssh_argv(HOST, 22, _proxy(agent), prog="scp")
    t0 = time.monotonic()
    r = subprocess.run(scp + [src, "%s@%s:%s" % (sshd.user, HOST, there)], capture_output=True,
                       timeout=120, env=agent.env, stdin=subprocess.DEVNULL)
    up_s = time.monotonic() - t0
    eq(r.returncode, 0, "scp up: %r" % r.stderr)
    t0 = time.monotonic()
    r = subprocess.run(scp + ["%s@%s:%s" % (sshd.user, HOST, there), back], capture_output=True,
                       timeout=120, env=agent.env, stdin=subprocess.DEVNULL)
    down_s = time.monotonic() - t0
    eq(r.returncode, 0, "scp down: %r" % r.stderr)
    digest = _sha256(src)
    eq(_sha256(there), digest, "SHA-256 of what arrived at the sshd side")
    eq(_sha256(back), digest, "SHA-256 of what came back")
    print("scp 20 MiB through the tunnel: up %.2f s, down %.2f s" % (up_s, down_s))
    # Every tunnel was recorded (OCSF Network Activity) with its byte counts.
    closes = [x for x in audit_records(gw) if x.get("class_uid") == 4001 and
              x.get("activity_id") == 2]
    check(len(closes) >= 3, "a Close record per tunnel (%d)" % len(closes))
    check(any(x.get("traffic", {}).get("bytes_in", 0) >= 20 << 20 for x in closes),
          "the upload's tunnel counted at least 20 MiB in")


@timeout(120)
def test_listen_two_sessions(h):
    sshd, gw, agent = _setup(h)
    port = free_port()
    p = subprocess.Popen(agent.argv("tunnel", "%s:22" % HOST, "--listen", "127.0.0.1:%d" % port),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=agent.env)
    try:
        check("listening" in p.stderr.readline().decode(), "listening")
        argv = sshd.ssh_argv("127.0.0.1", port) + ["%s@127.0.0.1" % sshd.user]
        # ssh checks the host key under the local name; the key is the sshd's.
        procs = [subprocess.Popen(argv + ["echo", "s%d" % i], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                 for i in range(2)]
        for i, sp in enumerate(procs):
            out, err = sp.communicate(timeout=60)
            eq(sp.returncode, 0, "session %d: %r" % (i, err))
            eq(out, b"s%d\n" % i, "session %d output" % i)
    finally:
        p.kill()
        p.wait()


@timeout(120)
def test_revoke_sessions_ends_live_ssh(h):
    sshd, gw, agent = _setup(h)
    argv = sshd.ssh_argv(HOST, 22, _proxy(agent)) + ["%s@%s" % (sshd.user, HOST),
                                                     "echo started; sleep 60"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent.env,
                         stdin=subprocess.DEVNULL)
    try:
        eq(p.stdout.readline(), b"started\n", "the session is live")
        t0 = time.monotonic()
        r = h.cli("user", "revoke-sessions", EMAIL, "--config", gw.config_path)
        eq(r.returncode, 0, "revoke-sessions: " + r.stderr)
        rc = wait_exit(p, 10)
        took = time.monotonic() - t0
        check(rc is not None, "ssh still running 10 s after revoke-sessions")
        eq(rc, 255, "ssh's exit status when the connection is cut")
        print("revoke-sessions -> ssh ended in %.3f s" % took)
        bound = h.stream_close_bound() if hasattr(h, "stream_close_bound") else 1.0
        check(took < bound + 1.0, "ended within the bound (%.3f s)" % took)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    # The token is dead too: a new tunnel asks for a sign-in (the agent would prompt).
    p = subprocess.Popen(agent.argv("tunnel", "%s:22" % HOST, "--stdio"), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=agent.env)
    try:
        line = p.stderr.readline()
        check(b"sign-in needed" in line, "a revoked token leads to a new sign-in: %r" % line)
    finally:
        p.kill()
        p.wait()


@timeout(90)
def test_not_a_tcp_app(h):
    sshd, gw, agent = _setup(h)
    r = subprocess.run(agent.argv("tunnel", "db.test:5432", "--stdio"), input=b"",
                       capture_output=True, timeout=30, env=agent.env)
    eq(r.returncode, 1, "exit status: %r" % r.stderr)
    check(b"403" in r.stderr and b"open proxy" in r.stderr, "the reason: %r" % r.stderr)


@timeout(150)
def test_malware_alert_ends_live_ssh(h):
    """The same device reports a malware detection (the agent's alert, with its certificate): its
    risk turns high and the policy blocking high-risk devices closes the live session. (A whole
    `ztagent scan` would quarantine and report a clean rescan milliseconds later, lowering the
    risk again before anyone could look: the alert alone is the signal under test.)"""
    from test_case1_device import _tls_request
    block = [{"name": "block-risky-devices", "users": {"include": ["all"]},
              "apps": {"include": ["ssh"]}, "conditions": {"device": {"risk": ["high"]}},
              "grant": {"block": True}}]
    sshd, gw, agent = _setup(h, policies=block)
    argv = sshd.ssh_argv(HOST, 22, _proxy(agent)) + ["%s@%s" % (sshd.user, HOST),
                                                     "echo started; sleep 60"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent.env,
                         stdin=subprocess.DEVNULL)
    try:
        eq(p.stdout.readline(), b"started\n", "the session is live")
        alert = {"event": "detected", "path": "/home/mio/Downloads/eicar.com",
                 "sha256": hashlib.sha256(b"eicar").hexdigest(),
                 "signature": "Eicar-Test-Signature", "detected_at": "2026-12-06T00:00:00Z"}
        t0 = time.monotonic()
        r = _tls_request(gw.tls_port, "POST", "/.ztgate/device/alert",
                         [("Content-Type", "application/json")], json.dumps(alert).encode(),
                         agent.cert)
        eq(r.status, 200, "alert accepted: %r" % r.body)
        rc = wait_exit(p, 10)
        took = time.monotonic() - t0
        check(rc is not None, "ssh still running 10 s after the malware alert")
        eq(rc, 255, "ssh's exit status")
        print("malware alert -> ssh ended in %.3f s" % took)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    closes = [x for x in audit_records(gw) if x.get("class_uid") == 4001 and
              x.get("activity_id") == 2]
    check(any("block-risky-devices" in json.dumps(x) for x in closes),
          "the Close record names the policy: %s" % [x.get("message") for x in closes])
