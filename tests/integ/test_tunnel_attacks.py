"""Adversarial review of the TCP tunnel path and its device-code sign-in (issue 15, tunreview):
each test is an attack that must fail. Loopback only, bounded counts."""
import socket

from harness import check, eq, wait_until
from portal_client import Browser
from test_tunnel_server import (ALICE, AGENT_HOST, SSH_HOST, Tunnel, _setup, net_records)

COOKIE = "__Host-ztgate_session"


def test_agent_token_is_no_browser_cookie_on_the_agent_host(h):
    """An agent token (a stolen token file) sent as the session cookie with Host: .ztgate-agent
    must not sign anyone in to the portal: that host is no web host at all."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        for tls, name in ((True, COOKIE), (False, "ztgate_session")):
            b = Browser(gw.tls_port if tls else gw.port, host=AGENT_HOST, tls=tls)
            b.cookies[name] = token
            r = b.get("/.ztgate/agent/approve")
            check(b'name="code"' not in r.body and r.status != 200,
                  "tls=%s: the agent token opened the approval page: %d %r"
                  % (tls, r.status, r.body[:200]))
            r = b.get("/.ztgate/")
            check(ALICE.encode() not in r.body,
                  "tls=%s: the portal shows Alice to an agent token: %r" % (tls, r.body[:300]))
    finally:
        target.stop()


def _raw_connect(gw, cert, key, head, first=b""):
    """Sends head (bytes, whole request head without the final CRLF) over TLS with the device
    certificate; (status, answer bytes)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw.tls_port), timeout=10),
                        server_hostname="ssh.test")
    s.sendall(head + b"\r\n" + first)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except OSError:
        pass
    s.close()
    try:
        status = int(buf.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, buf


def test_connect_authority_tricks(h):
    """Spellings of an authority: none reaches anything but the configured target, none is
    resolved, and each answer is a refusal (4xx) unless it names the same app."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        auth = b"Proxy-Authorization: Bearer " + token.encode() + b"\r\n"
        cases = [
            (b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n", "an IP literal"),
            (b"CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n", "an IPv6 literal"),
            (b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: app.test\r\n", "Host of another app"),
            (b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:2222\r\n", "Host on another port"),
            (b"CONNECT ssh.test HTTP/1.1\r\nHost: ssh.test\r\n", "no port"),
            (b"CONNECT ssh.test:0022x HTTP/1.1\r\nHost: ssh.test:0022x\r\n", "junk port"),
            (b"CONNECT ssh.test:65558 HTTP/1.1\r\nHost: ssh.test:65558\r\n", "port > 65535"),
            (b"CONNECT http://ssh.test:22/ HTTP/1.1\r\nHost: ssh.test:22\r\n", "absolute-form"),
            (b"CONNECT ssh.test:22/x HTTP/1.1\r\nHost: ssh.test:22\r\n", "a path"),
            (b"CONNECT user@ssh.test:22 HTTP/1.1\r\nHost: user@ssh.test:22\r\n", "userinfo"),
            (b"CONNECT ssh.test:22 HTTP/1.1\r\n", "no Host"),
            (b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\nHost: ssh.test:22\r\n",
             "two Hosts"),
            (b"CONNECT ssh.test%3a22 HTTP/1.1\r\nHost: ssh.test%3a22\r\n", "encoded colon"),
            (b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n"
             b"Transfer-Encoding: chunked\r\n", "chunked body"),
        ]
        for head, what in cases:
            status, buf = _raw_connect(gw, cert, key, head + auth)
            check(400 <= status < 500, "%s: %r" % (what, buf[:120]))
        eq(target.accepted(), 0, "no refused CONNECT reached the target")
        # Spellings of the same app: either refused or the same app (the configured target).
        for head, what in [
                (b"CONNECT SSH.TEST:22 HTTP/1.1\r\nHost: SSH.TEST:22\r\n", "upper case"),
                (b"CONNECT ssh.test:22 HTTP/1.0\r\nHost: ssh.test:22\r\n", "HTTP/1.0"),
                (b"CONNECT ssh.test:022 HTTP/1.1\r\nHost: ssh.test:022\r\n", "port 022"),
                (b"CONNECT ssh.test.:22 HTTP/1.1\r\nHost: ssh.test.:22\r\n", "a trailing dot")]:
            status, buf = _raw_connect(gw, cert, key, head + auth)
            check(status == 200 or 400 <= status < 500, "%s: %r" % (what, buf[:120]))
        check(target.accepted() <= 4, "only the configured target was connected to")
    finally:
        target.stop()


def _conf(gw):
    return ("--config", gw.config_path)


def _connect(gw, token, cert, key):
    t = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, cert, key)
    t.close()
    return t.status


def test_token_after_disable_or_device_revoke(h):
    """A token stops opening tunnels once its user is disabled or its device revoked (not only
    live tunnels close: new CONNECTs are refused), and each refusal is a Refuse record."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        eq(_connect(gw, token, cert, key), 200, "the token works")
        r = h.cli("user", "disable", ALICE, *_conf(gw))
        eq(r.returncode, 0, "disable: " + r.stderr)
        refused_before = len(net_records(h, 5))
        eq(_connect(gw, token, cert, key), 407, "a disabled user's token")
        r = h.cli("user", "enable", ALICE, *_conf(gw))
        eq(r.returncode, 0, "enable: " + r.stderr)
        eq(_connect(gw, token, cert, key), 407, "the token stays dead after enable")
        eq(len(net_records(h, 5)), refused_before + 2, "both refusals audited")
        # A fresh token on a device revoked afterwards.
        from test_tunnel_server import mint_token
        token2 = mint_token(h, ALICE, dev)
        eq(_connect(gw, token2, cert, key), 200, "a new token works")
        r = h.cli("device", "revoke", dev, *_conf(gw))
        eq(r.returncode, 0, "revoke: " + r.stderr)
        status = 0
        try:
            status = _connect(gw, token2, cert, key)
        except OSError:
            status = -1  # the handshake itself refused the revoked certificate: also fine
        check(status != 200, "a revoked device's token opened a tunnel")
        # The target's accept thread may still be catching up with the second connection.
        wait_until(lambda: target.accepted() >= 2, 5.0)
        eq(target.accepted(), 2, "only the two allowed tunnels reached the target")
    finally:
        target.stop()


def _signin_setup(h):
    from agent_signin import Agent, approver, tcp_app, tunnel_gateway
    from portal_client import add_user
    from tcp_target import TcpTarget
    target = TcpTarget("echo")
    gw = tunnel_gateway(h, [tcp_app("ssh", SSH_HOST, 22, int(target.address.rsplit(":", 1)[1]))],
                        start=False)
    add_user(h, gw, ALICE, "alice's long passphrase for tunnels")
    add_user(h, gw, "bob@example.test", "bob's long passphrase for tunnels")
    gw.start()
    agent = Agent(h, gw, ALICE)
    b = approver(h, gw, ALICE, "alice's long passphrase for tunnels")
    return target, gw, agent, b


def _start(gw, agent):
    import json
    from test_case1_device import _tls_request
    r = _tls_request(gw.tls_port, "POST", "/.ztgate/agent/signin/start",
                     [("Content-Type", "application/json")],
                     json.dumps({"app": "%s:22" % SSH_HOST}).encode(), agent.cert)
    eq(r.status, 200, "start: %r" % r.body)
    return r.json()


def _poll(gw, agent, device_code):
    import json
    import time
    from test_case1_device import _tls_request
    time.sleep(5.0)  # the protocol's interval: polling sooner is slow_down
    r = _tls_request(gw.tls_port, "POST", "/.ztgate/agent/signin/poll",
                     [("Content-Type", "application/json")],
                     json.dumps({"device_code": device_code}).encode(), agent.cert)
    return r.status, r.json()


def test_signin_code_works_once_and_user_disable_wins(h):
    """An approved code cannot be approved again nor denied after; a user disabled between the
    approval and the agent's poll gets no working token."""
    from agent_signin import approve
    target, gw, agent, b = _signin_setup(h)
    try:
        ans = _start(gw, agent)
        r = approve(b, ans["user_code"])
        check(b'id="agent-approved"' in r.body, "approved: %r" % r.body[:300])
        r = approve(b, ans["user_code"])
        eq(r.status, 400, "approving the same code twice")
        r = approve(b, ans["user_code"], action="deny")
        eq(r.status, 400, "denying an approved code")
        r = h.cli("user", "disable", ALICE, "--config", gw.config_path)
        eq(r.returncode, 0, "disable: " + r.stderr)
        status, out = _poll(gw, agent, ans["device_code"])
        token = out.get("token")
        if token is not None:
            t = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, *agent.cert)
            t.close()
            check(t.status != 200, "a disabled user's fresh token opened a tunnel")
            check(False, "a token was issued to a disabled user (poll %d)" % status)
        eq(target.accepted(), 0, "nothing reached the target")
        _no_secret_logged(h, gw, [ans["device_code"], ans["user_code"],
                                  ans["user_code"].replace("-", "")] + ([token] if token else []))
    finally:
        target.stop()


def _no_secret_logged(h, gw, secrets_):
    """None of the secrets appears in the gateway's stderr, access log or audit log."""
    import os
    texts = {"stderr": gw.stderr_text()}
    for name, path in (("access", gw.access_log_path()),
                       ("audit", h.path("state/audit/audit.log"))):
        if path and os.path.exists(path):
            with open(path, errors="replace") as f:
                texts[name] = f.read()
    for sec in secrets_:
        for name, text in texts.items():
            check(sec not in text, "a secret (%s...) is in the %s log" % (sec[:4], name))


def test_real_token_not_logged_and_not_a_cookie(h):
    """The whole flow with the real agent: its token never shows in a log, and as a browser
    cookie on the approval page or an app host it signs nobody in."""
    target, gw, agent, b = _signin_setup(h)
    try:
        token = agent.sign_in(b, "%s:22" % SSH_HOST)
        t = Tunnel(gw.tls_port, "%s:22" % SSH_HOST, token, *agent.cert)
        eq(t.status, 200, "the real token opens the tunnel")
        t.close()
        for host in ("app.test", "ssh.test"):
            nb = Browser(gw.tls_port, host=host, tls=True)
            nb.cookies[COOKIE] = token
            r = nb.get("/.ztgate/agent/approve")
            check(b'name="code"' not in r.body, "%s: the token as a cookie is a session" % host)
        _no_secret_logged(h, gw, [token])
    finally:
        target.stop()


def test_approval_never_outlives_the_approving_sign_in(h):
    """The agent's token is a new session, but not a new sign-in: it ends when the approving
    browser session's absolute lifetime ends, never later (else approving a code just before a
    sign-in expires would buy another full lifetime without signing in)."""
    from agent_signin import approve
    target, gw, agent, b = _signin_setup(h)
    try:
        ans = _start(gw, agent)
        r = approve(b, ans["user_code"])
        check(b'id="agent-approved"' in r.body, "approved: %r" % r.body[:300])
        status, out = _poll(gw, agent, ans["device_code"])  # 5 s later than the sign-in
        eq(status, 200, "token: %r" % out)
        db = h.store_db()
        browser = db.execute("SELECT MAX(absolute_expires_at) FROM sessions WHERE host != ?",
                             (AGENT_HOST,)).fetchone()[0]
        agent_abs = db.execute("SELECT absolute_expires_at FROM sessions WHERE host = ?",
                               (AGENT_HOST,)).fetchone()[0]
        db.close()
        check(agent_abs <= browser, "the token ends at %d, after the approving sign-in (%d)"
              % (agent_abs, browser))
    finally:
        target.stop()


def test_pipelined_after_refused_connect(h):
    """A refused CONNECT ends the connection: a request pipelined behind it is never served
    (no smuggling a second request past the refusal), and a refusal's bytes never reach a
    target."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        smuggled = b"GET /.ztgate/agent/approve HTTP/1.1\r\nHost: app.test\r\n\r\n"
        for head in (b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n",
                     b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n"):  # no token
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.load_cert_chain(cert, key)
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw.tls_port), timeout=10),
                                server_hostname="ssh.test")
            s.sendall(head + b"\r\n" + smuggled * 3)
            got = b""
            try:
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    got += d
            except OSError:
                pass
            s.close()
            eq(got.count(b"HTTP/1.1 "), 1, "one answer only: %r" % got[:400])
            check(got.startswith(b"HTTP/1.1 40"), "refused: %r" % got[:80])
        eq(target.accepted(), 0, "nothing reached the target")
    finally:
        target.stop()


def test_tcp_app_is_no_http_app(h):
    """An HTTP request naming a kind tcp app's host (with or without its port) is never proxied
    to the tcp target: that target is reached through CONNECT only (device + token)."""
    target, gw, dev, cert, key, token = _setup(h)
    try:
        from test_tunnel_server import mint_token
        # TEST FIXTURE: browser sessions for the tcp app's host, as if a sign-in had made them.
        cookies = {True: mint_token(h, ALICE, dev, host="ssh.test"),
                   False: mint_token(h, ALICE, dev, host="ssh.test")}
        for host in ("ssh.test", "ssh.test:22", "SSH.TEST"):
            for tls in (True, False):
                nb = Browser(gw.tls_port if tls else gw.port, host=host, tls=tls)
                nb.cookies[COOKIE if tls else "ztgate_session"] = cookies[tls]
                r = nb.get("/")
                check(r.status != 200 and r.status != 502,
                      "%s tls=%s: %d %r" % (host, tls, r.status, r.body[:120]))
        eq(target.accepted(), 0, "no HTTP request reached the tcp target")
    finally:
        target.stop()


def test_approval_csrf_and_foreign_device(h):
    """Approval needs the form's CSRF token of this session (a cross-site form cannot approve),
    and a code of Bob's device typed by Alice approves nothing (the Storm-2372 pattern); after
    both, the code is still Bob's to approve and nobody else's."""
    from agent_signin import Agent, approve, approver
    target, gw, agent, b = _signin_setup(h)
    try:
        bob = Agent(h, gw, "bob@example.test", name="agent-bob")
        ans = _start(gw, bob)
        code = ans["user_code"]
        # A forged cross-site POST in Alice's browser: her cookie, no token / a made-up token.
        for fields in ({"code": code, "action": "approve"},
                       {"code": code, "action": "approve", "csrf_token": "A" * 43}):
            r = b.post("/.ztgate/agent/approve", fields,
                       headers=(("Content-Type", "application/x-www-form-urlencoded"),
                                ("Origin", "https://evil.example")))
            check(r.status in (400, 403), "forged POST: %d %r" % (r.status, r.body[:200]))
            check(b"agent-approved" not in r.body, "a forged POST approved")
        # Alice, with her own CSRF token, types Bob's code: refused, audited.
        r = approve(b, code)
        eq(r.status, 403, "another user's device: %r" % r.body[:200])
        # Bob's token from another user's CSRF token: refused.
        tok, _ = b.csrf("/.ztgate/agent/approve")
        bb = approver(h, gw, "bob@example.test", "bob's long passphrase for tunnels")
        r = bb.post("/.ztgate/agent/approve", {"csrf_token": tok, "code": code,
                                               "action": "approve"})
        check(r.status in (400, 403) and b"agent-approved" not in r.body,
              "Alice's CSRF token in Bob's session: %d" % r.status)
        # Bob himself can still approve it: nothing above used the code up.
        r = approve(bb, code)
        check(b'id="agent-approved"' in r.body, "Bob approves: %r" % r.body[:300])
        status, out = _poll(gw, bob, ans["device_code"])
        eq(status, 200, "Bob's agent gets its token: %r" % out)
        # Alice's device cannot poll Bob's code (a stolen device code is useless elsewhere).
        status, out = _poll(gw, agent, ans["device_code"])
        check(status != 200 and "token" not in out, "Alice's device polled Bob's code: %r" % out)
    finally:
        target.stop()


def test_revoked_device_sign_in_is_refused_and_audited(h):
    """A revoked device (a stolen laptop) asking for a sign-in, or polling one it started
    before the revocation, is refused, and each refusal is an audit record naming the device:
    both while the gateway's loops still let its certificate through (the device endpoints
    refuse it) and once they refuse it in the TLS handshake."""
    import json
    import ssl
    import time
    from agent_signin import audit_records
    from test_case1_device import _tls_request
    target, gw, agent, b = _signin_setup(h)

    def attempt(path, body):
        """True when refused in the handshake; else the answer must be a refusal."""
        try:
            r = _tls_request(gw.tls_port, "POST", path, [("Content-Type", "application/json")],
                             json.dumps(body).encode(), agent.cert)
        except (ssl.SSLError, ConnectionResetError) as e:
            check("revoked" in str(e) or isinstance(e, ConnectionResetError), str(e))
            return True
        check(r.status in (401, 403) and b"token" not in r.body,
              "%s from a revoked device: %d %r" % (path, r.status, r.body[:200]))
        return False

    def audited(n_before):
        time.sleep(0.5)  # the audit writer flushes in batches
        return [x for x in audit_records(gw)[n_before:]
                if x.get("device", {}).get("uid") == agent.device_id and x.get("status_id") == 2]

    try:
        ans = _start(gw, agent)
        r = h.cli("device", "revoke", agent.device_id, "--config", gw.config_path)
        eq(r.returncode, 0, "revoke: " + r.stderr)
        n = len(audit_records(gw))
        attempt("/.ztgate/agent/signin/poll", {"device_code": ans["device_code"]})
        attempt("/.ztgate/agent/signin/start", {"app": "%s:22" % SSH_HOST})
        check(len(audited(n)) >= 2, "both refusals audited with the device: %r"
              % audit_records(gw)[n:])
        # Once the loops have the new revoked set, the handshake itself refuses it.
        handshake_refused = False
        for _ in range(50):
            n = len(audit_records(gw))
            if attempt("/.ztgate/agent/signin/start", {"app": "%s:22" % SSH_HOST}):
                handshake_refused = True
                break
            time.sleep(0.1)
        check(handshake_refused, "the handshake refuses the revoked certificate in time")
        recs = audited(n)
        check(any(x.get("class_uid") == 4001 and x.get("activity_id") == 5 for x in recs),
              "the refused handshake is a Network Activity Refuse record: %r"
              % audit_records(gw)[n:])
        check(agent.device_id in gw.stderr_text(), "and a warning in the log")
    finally:
        target.stop()
