"""`ztagent tunnel`'s client side against a stand-in gateway written here (a TLS server that
answers CONNECT as docs/TUNNELS.md says), so the edge cases of the agent alone are exact: the
CONNECT head and token it sends, bytes the gateway sends right after its 200 in the same record,
half-close both ways, 1 MiB each way byte for byte, a refusal's reason printed, --listen on a
non-loopback address refused. The real gateway and a real sshd: test_tunnel_ssh.py."""
import hashlib
import os
import socket
import ssl
import subprocess
import threading

from agent_signin import Agent, tcp_app, tunnel_gateway
from harness import check, eq, free_port, timeout
from portal_client import add_user

EMAIL = "sam@example.test"
PASSWORD = "sam's long passphrase for tunnels"
TOKEN = "A" * 43


class StandIn:
    """One-connection-at-a-time TLS server. mode: "echo" (200, then echoes until the client's
    close_notify, then closes its side), "refuse" (403 JSON)."""

    def __init__(self, h, mode, greeting=b""):
        self.mode, self.greeting = mode, greeting
        d = h.path("standin")
        os.makedirs(d, exist_ok=True)
        self.cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                       capture_output=True)
        with open(self.cert) as f:
            self.sha256 = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.heads, self.received = [], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.cert.replace("cert.pem", "key.pem"))
        s = ctx.wrap_socket(c, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                return
            head += chunk
        self.heads.append(head.decode())
        if self.mode == "refuse":
            body = b'{"error":"blocked","reason":"not an open proxy","policy":"p1"}'
            s.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            s.close()
            return
        # The 200 and the first app bytes in one write: the agent must keep them apart.
        s.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + self.greeting)
        got = bytearray()
        while True:
            data = s.recv(65536)
            if not data:  # close_notify: the client's half-close
                break
            got += data
            s.sendall(data)
        self.received.append(bytes(got))
        s.sendall(b"bye")
        s.unwrap()
        c.close()


def _agent_for(h, standin):
    """An agent enrolled with a real gateway, then pointed (pinned) at the stand-in."""
    gw = tunnel_gateway(h, [tcp_app("ssh", "ssh.test", 22, free_port())], start=False)
    add_user(h, gw, EMAIL, PASSWORD)
    gw.start()
    a = Agent(h, gw, EMAIL)
    conf = os.path.join(a.dir, "agent.conf")
    lines = [ln for ln in open(conf).read().splitlines()
             if not ln.startswith(("server=", "server_ca=", "server_sha256="))]
    lines += ["server=https://127.0.0.1:%d" % standin.port, "server_sha256=%s" % standin.sha256]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.makedirs(os.path.dirname(a.token_path()), exist_ok=True)
    with open(a.token_path(), "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(a.token_path(), 0o600)
    return a


@timeout(90)
def test_stdio_splice_exact(h):
    si = StandIn(h, "echo", greeting=b"SSH-2.0-standin\r\n")
    a = _agent_for(h, si)
    payload = os.urandom(1 << 20)
    p = subprocess.run(a.argv("tunnel", "SSH.test:22", "--stdio"), input=payload,
                       capture_output=True, timeout=60, env=a.env)
    eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr)
    head = si.heads[0]
    check(head.startswith("CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n"),
          "CONNECT head: %r" % head)
    check("Proxy-Authorization: Bearer %s\r\n" % TOKEN in head, "token sent")
    eq(len(si.received[0]), len(payload), "bytes that reached the gateway")
    check(si.received[0] == payload, "the same bytes")
    want = b"SSH-2.0-standin\r\n" + payload + b"bye"
    eq(len(p.stdout), len(want), "bytes written to stdout")
    check(p.stdout == want, "greeting, echo and the bytes after our half-close, in order")


@timeout(60)
def test_refused_reason_printed(h):
    si = StandIn(h, "refuse")
    a = _agent_for(h, si)
    p = subprocess.run(a.argv("tunnel", "ssh.test:22", "--stdio"), input=b"",
                       capture_output=True, timeout=30, env=a.env)
    eq(p.returncode, 1, "exit status")
    err = p.stderr.decode()
    check("403" in err and "not an open proxy" in err and "p1" in err, "reason: %r" % err)


@timeout(60)
def test_listen_loopback_only_and_usage(h):
    si = StandIn(h, "echo")
    a = _agent_for(h, si)
    for spec in ("0.0.0.0:2222", "192.0.2.1:2222", "[::]:2222", "example.com:22"):
        r = a.run("tunnel", "ssh.test:22", "--listen", spec)
        eq(r.returncode, 2, "--listen %s" % spec)
    r = a.run("tunnel", "ssh.test:22")
    eq(r.returncode, 2, "neither --stdio nor --listen")
    r = a.run("tunnel", "ssh.test:22", "--stdio", "--listen", "127.0.0.1:1")
    eq(r.returncode, 2, "both")
    r = a.run("tunnel", "bad host:22", "--stdio")
    eq(r.returncode, 2, "bad HOST")
    r = a.run("tunnel", "ssh.test:70000", "--stdio")
    eq(r.returncode, 2, "bad PORT")


@timeout(90)
def test_listen_two_parallel(h):
    si = StandIn(h, "echo")
    a = _agent_for(h, si)
    port = free_port()
    p = subprocess.Popen(a.argv("tunnel", "ssh.test:22", "--listen", "127.0.0.1:%d" % port),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=a.env)
    try:
        line = p.stderr.readline().decode()
        check("listening" in line, "listening: %r" % line)
        conns = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(2)]
        for i, c in enumerate(conns):
            c.sendall(b"hello %d" % i)
        for i, c in enumerate(conns):
            got = b""
            while len(got) < 7:
                got += c.recv(100)
            eq(got, b"hello %d" % i, "echo on connection %d" % i)
        for c in conns:
            c.shutdown(socket.SHUT_WR)
            rest = b""
            while True:
                d = c.recv(100)
                if not d:
                    break
                rest += d
            eq(rest, b"bye", "the gateway's last bytes after our half-close, then EOF")
            c.close()
    finally:
        p.kill()
        p.wait()
