"""A counting TCP server for tunnel tests (a kind tcp app's target), in a thread of the test.

Modes, per accepted connection:
  echo    — sends back every byte it reads, until the client's EOF; then closes.
  triple  — reads `expect` bytes, then sends each of them three times (in order) and closes
            its side (FIN) right away; reads on until the client's EOF.
  banner  — sends `banner` first (like an SSH server), then echoes.
It counts connections and the bytes read and written on each, so a test can check that an
audit record's byte counts are exact and that a refused tunnel never reached the target."""
import socket
import threading


class Conn:
    def __init__(self):
        self.read = 0
        self.written = 0
        self.closed = threading.Event()


class TcpTarget:
    def __init__(self, mode="echo", expect=0, banner=b""):
        self.mode, self.expect, self.banner = mode, expect, banner
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
            got = bytearray()
            while True:
                data = s.recv(65536)
                if not data:
                    break
                c.read += len(data)
                if self.mode in ("echo", "banner"):
                    self._send(s, c, data)
                elif self.mode == "triple" and len(got) < self.expect:
                    got += data
                    if len(got) >= self.expect:
                        out = bytes(got[:self.expect])
                        for _ in range(3):
                            self._send(s, c, out)
                        s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            s.close()
            c.closed.set()

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
