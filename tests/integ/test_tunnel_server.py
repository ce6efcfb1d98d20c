"""The tunnel server: `CONNECT host:port` on a TLS listener, as ztagent sends it (Python's ssl
with the enrolled device's certificate stands in for the agent), to an app of kind tcp.

Positive cases use an agent token made by the fixture `mint_token`, which writes the session row
straight into the SQLite store (test-only fixture: the binary has no back door; the real agent
gets its token through the device-code sign-in). Every tunnel has audited Network Activity
(4001) records, Open and Close with exact byte counts; refusals are Refuse records; a live
tunnel ends within the bound when its session is revoked, its device revoked, or a reload adds a
blocking policy; SIGTERM ends every tunnel with a record."""
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import threading
import time

from harness import Skip, check, eq, free_port, proc_rss_kb, wait_until
from portal_client import PASSWORD, add_user
from tcp_target import TcpTarget, pattern

ALICE = "alice@example.test"
BOB = "bob@example.test"
SSH_HOST = "ssh.test"
AGENT_HOST = ".ztgate-agent"  # ZT_SESSION_HOST_AGENT


def _bound(h):
    """The revocation-to-close bound: 1 s (3 s on sanitizer builds)."""
    return 3.0 if h.sanitized else 1.0


def _config(h, target, policies=None, ssh_target=None, idle_timeout=None, admin_port=None):
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}},
              {"address": "127.0.0.1:%d" % free_port()}]
    apps = [h.app("http://127.0.0.1:9", name="web", host="app.test"),
            {"name": "ssh", "kind": "tcp", "host": SSH_HOST, "port": 22,
             "target": ssh_target or target.address, "sensitivity": "restricted"}]
    if idle_timeout:
        apps[1]["idle_timeout"] = idle_timeout
    extra = {"devices": {"enroll_code_ttl": "15m"},
             "audit": {"path": h.path("state/audit/audit.log")}}
    if policies:
        extra["policies"] = policies
    if admin_port:
        extra["admin"] = {"listen": "127.0.0.1:%d" % admin_port}
    return h.config(apps, listen=listen, extra=extra)


def _gateway(h, target, **kw):
    if subprocess.run(["which", "openssl"], capture_output=True).returncode != 0:
        raise Skip("needs openssl")
    cfg = _config(h, target, **kw)
    gw = h.gateway(cfg, start=False)
    gw.base_cfg = cfg  # reloads change policies only: the listeners stay
    add_user(h, gw, ALICE, PASSWORD)
    add_user(h, gw, BOB, PASSWORD)
    gw.start()
    return gw


def _https_post(port, path, body):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json",
                                              "Host": "app.test"})
    r = c.getresponse()
    out = r.status, json.loads(r.read() or b"null")
    c.close()
    return out


def enrol(h, gw, user, name):
    """(device_id, cert path, key path) of a device of `user` enrolled like the agent does."""
    r = h.cli("device", "enroll-code", "--user", user, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "enroll-code: " + r.stderr)
    code = json.loads(r.stdout)["code"]
    key, csr, cert = h.path(name + ".key"), h.path(name + ".csr"), h.path(name + ".pem")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + name], check=True, capture_output=True)
    status, out = _https_post(gw.tls_port, "/.ztgate/device/enroll",
                              {"code": code, "csr": open(csr).read(), "hostname": name,
                               "platform": "linux"})
    eq(status, 201, "enrol: %r" % (out,))
    with open(cert, "w") as f:
        f.write(out["certificate"])
    return out["device_id"], cert, key


def mint_token(h, user, device_id, host=AGENT_HOST, auth_age_s=0):
    """TEST FIXTURE: a session row written straight into the store, as the device-code sign-in
    would create it (zt_session_create with host ZT_SESSION_HOST_AGENT and the device)."""
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    id_hash = hashlib.sha256(token.encode()).hexdigest()
    now = int(time.time()) - auth_age_s
    db = h.store_db()
    uid, epoch = db.execute("SELECT id, revocation_epoch FROM users WHERE email = ?",
                            (user,)).fetchone()
    db.execute("INSERT INTO sessions (id_hash, user_id, created_at, auth_time, mfa_time, "
               "mfa_method, idle_expires_at, absolute_expires_at, user_epoch, device_id, host, "
               "amr) VALUES (?, ?, ?, ?, ?, 'totp', ?, ?, ?, ?, ?, 'pwd,otp,mfa')",
               (id_hash, uid, now, now, now, now + 1800, now + 43200, epoch, device_id, host))
    db.commit()
    db.close()
    return token


class Tunnel:
    """A TLS connection to the gateway that sent CONNECT; status/headers/body of the answer."""

    def __init__(self, port, authority, token=None, cert=None, key=None, first=b"",
                 extra=b""):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname=authority.rsplit(":", 1)[0])
        head = b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (authority.encode(), authority.encode())
        if token:
            head += b"Proxy-Authorization: Bearer %s\r\n" % token.encode()
        self.s.sendall(head + extra + b"\r\n" + first)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(65536)
            if not d:
                break
            buf += d
        head, _, self.rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        n = int(self.headers.get("content-length", "0"))
        while self.status != 200 and len(self.rest) < n:
            d = self.s.recv(65536)
            if not d:
                break
            self.rest += d

    def json(self):
        return json.loads(self.rest)

    def recv_exactly(self, n):
        out = bytearray(self.rest)
        self.rest = b""
        while len(out) < n:
            d = self.s.recv(min(1 << 20, n - len(out)))
            if not d:
                break
            out += d
        return bytes(out)

    def closed(self, timeout_s):
        """True when the gateway ended the connection (EOF or reset) within timeout_s."""
        self.s.settimeout(timeout_s)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (ssl.SSLError, OSError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def audit(h):
    try:
        with open(h.path("state/audit/audit.log")) as f:
            return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
    except FileNotFoundError:
        return []


def net_records(h, activity=None):
    return [r for r in audit(h) if r.get("class_uid") == 4001 and
            (activity is None or r.get("activity_id") == activity)]


def close_record(h, request_id, timeout_s=5.0):
    found = []

    def look():
        found[:] = [r for r in net_records(h, 2)
                    if r.get("metadata", {}).get("uid") == request_id]
        return bool(found)
    check(wait_until(look, timeout_s), "a Close record for %s" % request_id)
    return found[0]


def open_record(h):
    recs = net_records(h, 1)
    check(recs, "an Open record")
    return recs[-1]


def _setup(h, mode="echo", gw_kw=None, **kw):
    target = TcpTarget(mode, **kw)
    gw = _gateway(h, target, **(gw_kw or {}))
    dev, cert, key = enrol(h, gw, ALICE, "pc-alice")
    token = mint_token(h, ALICE, dev)
    return target, gw, dev, cert, key, token


def _open(gw, token, cert, key, first=b""):
    t = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, cert, key, first=first)
    eq(t.status, 200, "tunnel answer %r" % (t.rest,))
    return t


def test_tunnel_exact_bytes_and_records(h):
    target, gw, dev, cert, key, token = _setup(h, "triple", expect=1_000_000)
    try:
        payload = os.urandom(1_000_000)
        # The first 1000 bytes go with the CONNECT head, before the 200 (like an SSH banner).
        t = _open(gw, token, cert, key, first=payload[:1000])
        rec = open_record(h)
        eq(rec.get("dst_endpoint", {}).get("name"), target.address, "Open: the target")
        eq(rec.get("device", {}).get("uid"), dev, "Open: the device")
        eq(rec.get("actor", {}).get("user", {}).get("email_addr"), ALICE, "Open: the user")
        t.s.sendall(payload[1000:])
        got = t.recv_exactly(3_000_000)
        eq(len(got), 3_000_000, "bytes back")
        check(got == payload * 3, "the bytes are exactly the target's")
        check(t.closed(5.0), "the target's FIN reaches the client (close_notify)")
        t.close()
        close = close_record(h, rec["metadata"]["uid"])
        eq(close["traffic"]["bytes_in"], 1_000_000, "Close: bytes_in")
        eq(close["traffic"]["bytes_out"], 3_000_000, "Close: bytes_out")
        eq(close.get("reasons"), "upstream closed", "Close: reason")
        eq(target.conns[0].read, 1_000_000, "the target read every byte once")
    finally:
        target.stop()


def test_tunnel_refusals(h):
    target = TcpTarget("echo")
    admin_port = free_port()
    try:
        gw = _gateway(h, target, admin_port=admin_port)
        dev, cert, key = enrol(h, gw, ALICE, "pc-alice")
        dev_b, cert_b, key_b = enrol(h, gw, BOB, "pc-bob")
        token = mint_token(h, ALICE, dev)
        browser = mint_token(h, ALICE, dev, host="app.test")  # a browser session's cookie
        port = gw.tls_port
        refused = 0

        def expect(t, status, error, what):
            nonlocal refused
            eq(t.status, status, what + ": status (%r)" % (t.rest,))
            eq(t.json().get("error"), error, what + ": error")
            t.close()
            refused += 1

        t = Tunnel(port, "127.0.0.1:22", token, cert, key)
        expect(t, 403, "blocked", "an address that is no tcp app")
        check("not an open proxy" in t.json().get("reason", ""), t.json())
        check("only to the TCP apps" in t.json().get("message", ""), t.json())
        t = Tunnel(port, "127.0.0.1:22", token, cert, key, extra=b"Accept-Language: ja\r\n")
        expect(t, 403, "blocked", "the same in Japanese")
        eq(t.json().get("lang"), "ja", "lang")
        check("TCP アプリにのみ接続" in t.json().get("message", ""), t.json())
        expect(Tunnel(port, "app.test:%d" % port, token, cert, key), 403, "blocked",
               "an http app's host")
        expect(Tunnel(port, "%s:2222" % SSH_HOST, token, cert, key), 403, "blocked",
               "the tcp app's host on another port")
        t = Tunnel(port, "%s:22" % SSH_HOST, None, cert, key)
        eq(t.headers.get("proxy-authenticate"), 'Bearer realm="ztgate"', "407 challenge")
        expect(t, 407, "sign_in", "no token")
        expect(Tunnel(port, "%s:22" % SSH_HOST, "x" * 43, cert, key), 407, "sign_in",
               "a malformed token")
        expect(Tunnel(port, "%s:22" % SSH_HOST, browser, cert, key), 407, "sign_in",
               "a browser session instead of an agent token")
        expect(Tunnel(port, "%s:22" % SSH_HOST, token, cert_b, key_b), 407, "sign_in",
               "Alice's token on Bob's device")
        expect(Tunnel(port, "%s:22" % SSH_HOST, token), 407, "sign_in",
               "a token without a device certificate")
        eq(len(net_records(h, 5)) >= refused, True, "every refusal audited (Refuse records)")
        # Malformed CONNECTs never reach a decision: 400.
        t = Tunnel(port, "%s:22" % SSH_HOST, token, cert, key, extra=b"Content-Length: 5\r\n",
                   first=b"hello")
        eq(t.status, 400, "CONNECT with a body")
        t.close()
        # The plain listener never tunnels.
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        s.sendall(b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n"
                  b"Proxy-Authorization: Bearer " + token.encode() + b"\r\n\r\n")
        answer = s.recv(65536)
        check(answer.startswith(b"HTTP/1.1 400"), "plain listener: %r" % answer[:80])
        s.close()
        # Nor does the admin listener.
        s = socket.create_connection(("127.0.0.1", admin_port), timeout=10)
        s.sendall(b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n\r\n")
        answer = s.recv(65536)
        check(answer.startswith(b"HTTP/1.1 400"), "admin listener: %r" % answer[:80])
        s.close()
        eq(target.accepted(), 0, "no refused tunnel reached the target")
        # ... and the good one does.
        t = _open(gw, token, cert, key)
        t.s.sendall(b"ping")
        eq(t.recv_exactly(4), b"ping", "echo through the tunnel")
        t.close()
        eq(target.accepted(), 1, "one connection to the target")
    finally:
        target.stop()


def test_tunnel_target_down(h):
    # A port bound but not listening: connecting is refused, and no other test or listener
    # can take the port meanwhile.
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    try:
        gw = _gateway(h, None, ssh_target="127.0.0.1:%d" % hole.getsockname()[1])
        dev, cert, key = enrol(h, gw, ALICE, "pc-alice")
        token = mint_token(h, ALICE, dev)
        t = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, cert, key)
        eq(t.status, 502, "target unreachable")
        t.close()
        check(wait_until(lambda: net_records(h, 4), 5.0), "a Fail record follows the Open one")
        eq(net_records(h, 4)[0]["metadata"]["uid"], open_record(h)["metadata"]["uid"],
           "for the same tunnel")
    finally:
        hole.close()


def _closed_within(h, t, what):
    start = time.monotonic()
    ok = t.closed(_bound(h) + 2.0)
    took = time.monotonic() - start
    print("%s: tunnel closed after %.3f s" % (what, took))
    check(ok and took <= _bound(h) + 0.3, "%s: closed within the bound (%.3f s)" % (what, took))


def test_tunnel_revocations_close_live_tunnels(h):
    target, gw, dev, cert, key, token = _setup(h)
    try:
        conf = ("--config", gw.config_path)
        # 1. revoke-sessions
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        r = h.cli("user", "revoke-sessions", ALICE, *conf)
        eq(r.returncode, 0, r.stderr)
        _closed_within(h, t, "revoke-sessions")
        eq(close_record(h, rid)["reasons"], "session ended (signed out or revoked)", "reason")
        check(wait_until(lambda: target.open_count() == 0, 5.0), "the target side closed too")
        # 2. a reload that adds a blocking policy
        token = mint_token(h, ALICE, dev)
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        cfg = dict(gw.base_cfg, policies=[{"name": "no-ssh", "users": {"include": ["all"]},
                                           "apps": {"include": ["ssh"]},
                                           "grant": {"block": True}}])
        gw.reload(cfg)
        _closed_within(h, t, "policy reload")
        eq(close_record(h, rid)["reasons"], "blocked by policy no-ssh", "reason")
        gw.reload(gw.base_cfg)
        # 3. device revoke
        check(wait_until(lambda: Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, cert,
                                        key).status == 200, 5.0), "tunnels open again")
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        r = h.cli("device", "revoke", dev, *conf)
        eq(r.returncode, 0, r.stderr)
        _closed_within(h, t, "device revoke")
        why = close_record(h, rid)["reasons"]
        print("device revoke: Close reason %r" % why)
        check(why not in ("client closed", "client connection lost"), "closed by the gateway")
    finally:
        target.stop()


def test_tunnel_sigterm_closes_streams(h):
    target, gw, dev, cert, key, token = _setup(h)
    try:
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        t.s.sendall(b"x" * 10)
        eq(t.recv_exactly(10), b"x" * 10, "echo")
        start = time.monotonic()
        gw.proc.signal(signal.SIGTERM)
        check(t.closed(5.0), "SIGTERM closes the tunnel")
        check(gw.proc.wait(10.0) is not None, "the gateway exits without waiting for drain")
        print("SIGTERM: exited after %.3f s" % (time.monotonic() - start))
        rec = close_record(h, rid)
        eq(rec["reasons"], "gateway shutting down", "reason")
        eq(rec["traffic"]["bytes_in"], 10, "bytes_in")
        eq(rec["traffic"]["bytes_out"], 10, "bytes_out")
    finally:
        target.stop()


def test_tunnel_half_close_client_side(h):
    """The client's close_notify reaches the target as EOF while the other direction stays open:
    the sink target answers only after that EOF, and the answer still arrives."""
    target, gw, dev, cert, key, token = _setup(h, "sink")
    try:
        payload = os.urandom(300_000)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(cert, key)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname=SSH_HOST)
        sock = socket.create_connection(("127.0.0.1", gw.tls_port), timeout=10)

        def flush():
            data = out.read()
            if data:
                sock.sendall(data)

        def feed():
            d = sock.recv(65536)
            if d:
                inc.write(d)
            else:
                inc.write_eof()
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                feed()
        flush()
        head = b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n" \
               b"Proxy-Authorization: Bearer %s\r\n\r\n" % token.encode()
        obj.write(head + payload)
        flush()
        try:
            obj.unwrap()  # our close_notify: a half-close
        except ssl.SSLWantReadError:
            pass
        flush()
        got, clean = b"", False
        while True:
            try:
                got += obj.read(65536)
            except ssl.SSLWantReadError:
                feed()
            except ssl.SSLZeroReturnError:
                clean = True
                break
            except (ssl.SSLEOFError, ssl.SSLSyscallError):
                break
        sock.close()
        head_part, _, answer = got.partition(b"\r\n\r\n")
        check(head_part.startswith(b"HTTP/1.1 200"), head_part[:60])
        want = b"%d %s\n" % (len(payload), hashlib.sha256(payload).hexdigest().encode())
        eq(answer, want, "the target saw every byte, then our EOF, and its answer came back")
        check(clean, "the gateway ended with close_notify")
        rec = close_record(h, open_record(h)["metadata"]["uid"])
        eq(rec["reasons"], "client closed", "reason")
        eq(rec["traffic"]["bytes_in"], len(payload), "bytes_in")
        eq(rec["traffic"]["bytes_out"], len(want), "bytes_out")
    finally:
        target.stop()


def test_tunnel_backpressure(h):
    """A client that stops reading while the target sends 64 MiB: the gateway holds about
    ZT_WQ_HIGH, not the stream; once the client reads, every byte arrives in order."""
    size = 64 << 20
    target, gw, dev, cert, key, token = _setup(h, "source", size=size)
    try:
        rss0 = proc_rss_kb(gw.proc.pid)
        t = _open(gw, token, cert, key)
        time.sleep(1.0)  # the target writes until every buffer on the way is full
        rss1 = proc_rss_kb(gw.proc.pid)
        print("RSS before %d KiB, with a stalled 64 MiB stream %d KiB" % (rss0, rss1))
        check(rss1 - rss0 < 16 * 1024, "the gateway did not buffer the stream (%d KiB more)"
              % (rss1 - rss0))
        got = hashlib.sha256()
        n = len(t.rest)
        got.update(t.rest)
        while n < size:
            d = t.s.recv(1 << 20)
            if not d:
                break
            got.update(d)
            n += len(d)
        eq(n, size, "every byte")
        eq(got.hexdigest(), hashlib.sha256(pattern(size)).hexdigest(), "in order (SHA-256)")
        t.close()
    finally:
        target.stop()


def test_tunnel_idle_timeout(h):
    target, gw, dev, cert, key, token = _setup(h, gw_kw={"idle_timeout": "1s"})
    try:
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        check(t.closed(5.0), "an idle tunnel closes")
        eq(close_record(h, rid)["reasons"], "idle", "reason")
    finally:
        target.stop()


def test_tunnel_device_alert_and_sign_in_frequency(h):
    """The device epoch (a malware alert) and a finite sign-in frequency end a live tunnel."""
    policies = [{"name": "no-infected", "users": {"include": ["all"]},
                 "apps": {"include": ["all"]},
                 "conditions": {"device": {"risk": ["high"]}}, "grant": {"block": True}},
                {"name": "hourly", "users": {"include": ["all"]}, "apps": {"include": ["ssh"]},
                 "session": {"sign_in_frequency": "1m"}}]
    target, gw, dev, cert, key, token = _setup(h, gw_kw={"policies": policies})
    try:
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        alert = {"event": "detected", "path": "/home/alice/x.com", "sha256": "ab" * 32,
                 "signature": "Eicar-Test-Signature", "detected_at": "2026-11-23T10:05:00Z"}
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(cert, key)
        c = http.client.HTTPSConnection("127.0.0.1", gw.tls_port, context=ctx, timeout=10)
        c.request("POST", "/.ztgate/device/alert", json.dumps(alert),
                  {"Content-Type": "application/json", "Host": "app.test"})
        eq(c.getresponse().status, 200, "alert accepted")
        c.close()
        _closed_within(h, t, "malware alert")
        eq(close_record(h, rid)["reasons"], "blocked by policy no-infected", "reason")
        c = http.client.HTTPSConnection("127.0.0.1", gw.tls_port, context=ctx, timeout=10)
        c.request("POST", "/.ztgate/device/alert", json.dumps(dict(alert, event="clean_scan")),
                  {"Content-Type": "application/json", "Host": "app.test"})
        eq(c.getresponse().status, 200, "clean scan accepted")
        c.close()
        # Signed in 57 s ago under a 1 minute frequency: open now, closed about 4 s later.
        token = mint_token(h, ALICE, dev, auth_age_s=57)
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        check(t.closed(10.0), "closed when the sign-in frequency runs out")
        eq(close_record(h, rid)["reasons"], "sign-in frequency of policy hourly", "reason")
    finally:
        target.stop()


def test_tunnel_many_concurrent(h):
    """200 tunnels at once, each echoing its own bytes."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        tunnels = [_open(gw, token, cert, key) for _ in range(200)]
        for i, t in enumerate(tunnels):
            t.s.sendall(b"%06d" % i)
        for i, t in enumerate(tunnels):
            try:
                got = t.recv_exactly(6)
            except OSError as e:
                # Where the bytes stopped: the target's view of every connection.
                with target.lock:
                    reads = [c.read for c in target.conns]
                # The kernel's view of the target's port: its accept queue (Recv-Q of the
                # listener) and the state of every connection to it.
                try:
                    ss = subprocess.run(["ss", "-tnp", "-a", "( sport = :%d or dport = :%d )"
                                         % (target.port, target.port)],
                                        capture_output=True, text=True).stdout
                except OSError:
                    ss = ""
                states = {}
                for line in ss.splitlines()[1:]:
                    f = line.split()
                    mine = ":%d" % target.port
                    side = "target" if f[3].endswith(mine) else "gateway"
                    owner = re.sub(r",fd=\d+", "", f[5]) if len(f) > 5 else "?"
                    k = "%s %s %s" % (f[0], side, owner)
                    states[k] = states.get(k, 0) + 1
                listener = [x for x in ss.splitlines() if x.startswith("LISTEN")]
                raise AssertionError(
                    "tunnel %d: no echo (%s); target accepted %d, read 6 on %d, 0 on %d; "
                    "sockets on its port by state %r; listener %r" % (
                        i, e, len(reads), reads.count(6), reads.count(0), states,
                        listener)) from e
            eq(got, b"%06d" % i, "tunnel %d echo" % i)
        # Each tunnel echoed its own bytes, so each has its own target connection; the
        # target's accept thread may still be catching up with its count.
        check(wait_until(lambda: target.accepted() == 200, 5.0),
              "200 target connections (%d)" % target.accepted())
        for t in tunnels:
            t.close()
        check(wait_until(lambda: len(net_records(h, 2)) == 200, 10.0), "200 Close records")
    finally:
        target.stop()


def test_tunnel_survives_reloads(h):
    """Reloads that keep the app leave live tunnels alone (they move to the new generation at
    their next evaluation, pinning no old one): 20 SIGHUPs with 5 tunnels echoing between."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        tunnels = [_open(gw, token, cert, key) for _ in range(5)]
        for i in range(20):
            cfg = dict(gw.base_cfg, policies=[{"name": "p%d" % i, "users": {"include": ["all"]},
                                               "apps": {"include": ["web"]},
                                               "grant": {"block": True}}])
            gw.reload(cfg)
            time.sleep(0.1)
            for k, t in enumerate(tunnels):
                msg = b"%02d-%d" % (i, k)
                t.s.sendall(msg)
                eq(t.recv_exactly(len(msg)), msg, "echo after reload %d" % i)
        check("reload" in gw.stderr_text(), "the reloads happened")
        for t in tunnels:
            t.close()
        check(wait_until(lambda: len(net_records(h, 2)) == 5, 10.0), "5 Close records")
        eq(sorted({r["reasons"] for r in net_records(h, 2)}) in
           (["client connection lost"], ["client closed"]), True, "closed by their clients")
    finally:
        target.stop()


class _SlowTarget:
    """A target whose accept queue is full (listen(0) and one connection it has not accepted):
    the gateway's SYN is dropped and sent again about 1 s later. release() makes room, so the
    connect completes then: a tunnel decided before that point begins after it."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(0)
        self.address = "127.0.0.1:%d" % self.srv.getsockname()[1]
        self.filler = socket.create_connection(self.srv.getsockname())
        self.accepted = []

    def release(self):
        def loop():
            try:
                while True:
                    self.accepted.append(self.srv.accept()[0])
            except OSError:
                pass
        threading.Thread(target=loop, daemon=True).start()

    def stop(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes the accept loop (tcp_target.stop)
        except OSError:
            pass
        for s in [self.srv, self.filler] + self.accepted:
            s.close()


def test_tunnel_begun_during_drain_closes_at_once(h):
    """SIGTERM while a tunnel's target is still connecting: the tunnel begins during the drain
    and must end at once ("gateway shutting down", audited), not stay open until the drain time
    (30 s here) runs out."""
    target = _SlowTarget()
    try:
        cfg = _config(h, target)
        cfg["gateway"]["timeouts"]["drain"] = "30s"
        gw = h.gateway(cfg, start=False)
        add_user(h, gw, ALICE, PASSWORD)
        gw.start()
        dev, cert, key = enrol(h, gw, ALICE, "pc-alice")
        token = mint_token(h, ALICE, dev)
        result = {}

        def connect():
            try:
                result["t"] = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, cert, key)
            except (ssl.SSLError, OSError) as e:
                result["error"] = e
        th = threading.Thread(target=connect, daemon=True)
        th.start()
        # The decision's Open record is written before the target is connected.
        check(wait_until(lambda: net_records(h, 1), 5.0), "the tunnel was decided")
        rid = open_record(h)["metadata"]["uid"]
        time.sleep(0.1)
        start = time.monotonic()
        gw.proc.signal(signal.SIGTERM)
        time.sleep(0.2)
        target.release()
        th.join(10.0)
        t = result.get("t")
        if t is not None:
            print("answer during the drain: %d" % t.status)
            check(t.status != 200 or t.closed(5.0), "the tunnel begun in the drain closes at once")
        rec = close_record(h, rid, timeout_s=5.0)
        eq(rec["reasons"], "gateway shutting down", "reason")
        eq(rec["traffic"]["bytes_out"], 0, "no byte to the client")
        check(gw.proc.wait(10.0) is not None, "the gateway exits without waiting for the drain")
        print("exited %.3f s after SIGTERM" % (time.monotonic() - start))
    finally:
        target.stop()


def test_tunnel_finite_frequency_beside_every_time(h):
    """every_time (one policy) is checked when a tunnel opens only; a finite frequency (another
    policy) still ends it when it runs out, though every_time is the shortest of the two."""
    policies = [{"name": "fresh", "users": {"include": ["all"]}, "apps": {"include": ["ssh"]},
                 "session": {"sign_in_frequency": "every_time"}},
                {"name": "minutely", "users": {"include": ["all"]}, "apps": {"include": ["ssh"]},
                 "session": {"sign_in_frequency": "1m"}}]
    target, gw, dev, cert, key, token = _setup(h, gw_kw={"policies": policies})
    try:
        # Signed in 55 s ago: fresh enough for every_time at open; 1m runs out about 6 s later.
        token = mint_token(h, ALICE, dev, auth_age_s=55)
        t = _open(gw, token, cert, key)
        rid = open_record(h)["metadata"]["uid"]
        check(t.closed(15.0), "closed when the 1m sign-in frequency runs out")
        eq(close_record(h, rid)["reasons"], "sign-in frequency of policy minutely", "reason")
    finally:
        target.stop()
