"""A counting TCP server for tunnel tests (a kind tcp app's target), in a thread of the test.

Modes, per accepted connection:
  echo    — sends back every byte it reads, until the client's EOF; then closes.
  triple  — reads `expect` bytes, then sends each of them three times (in order) and closes
            its side (FIN) right away; reads on until the client's EOF.
  banner  — sends `banner` first (like an SSH server), then echoes.
  sink    — reads until the client's EOF (a half-close), then answers "COUNT SHA256HEX\n" and
            closes: it can only answer if the EOF came through while its own side was open.
  source  — sends `size` bytes of pattern() and closes.
It counts connections and the bytes read and written on each, so a test can check that an
audit record's byte counts are exact and that a refused tunnel never reached the target."""
import hashlib
import socket
import threading


def pattern(n):
    """The bytes a source target sends."""
    block = bytes(range(256)) * 256
    return (block * (n // len(block) + 1))[:n]


class Conn:
    def __init__(self):
        self.read = 0
        self.written = 0
        self.closed = threading.Event()


class TcpTarget:
    def __init__(self, mode="echo", expect=0, banner=b"", size=0):
        self.mode, self.expect, self.banner, self.size = mode, expect, banner, size
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def accepted(self):
        with self.lock:
            return len(self.conns)

    def open_count(self):
        with self.lock:
            return sum(1 for c in self.conns if not c.closed.is_set())

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            c = Conn()
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(s, c), daemon=True).start()

    def _send(self, s, c, data):
        s.sendall(data)
        c.written += len(data)

    def _serve(self, s, c):
        try:
            if self.mode == "banner":
                self._send(s, c, self.banner)
            if self.mode == "source":
                data = pattern(self.size)
                for i in range(0, len(data), 1 << 20):
                    self._send(s, c, data[i:i + (1 << 20)])
                return
            got = bytearray()
            digest = hashlib.sha256()
            while True:
                data = s.recv(65536)
                if not data:
                    break
                c.read += len(data)
                digest.update(data)
                if self.mode in ("echo", "banner"):
                    self._send(s, c, data)
                elif self.mode == "triple" and len(got) < self.expect:
                    got += data
                    if len(got) >= self.expect:
                        out = bytes(got[:self.expect])
                        for _ in range(3):
                            self._send(s, c, out)
                        s.shutdown(socket.SHUT_WR)
            if self.mode == "sink":
                self._send(s, c, b"%d %s\n" % (c.read, digest.hexdigest().encode()))
        except OSError:
            pass
        finally:
            s.close()
            c.closed.set()

    def stop(self):
        """Stops accepting and waits for the accept thread to end. The listener is shut down
        before it is closed: that wakes an accept() blocked on it, and a thread left in accept()
        after the close would take a connection of whatever socket gets the same descriptor
        number next (a later test's target, in the same process)."""
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5.0)
        try:
            self.sock.close()
        except OSError:
            pass
