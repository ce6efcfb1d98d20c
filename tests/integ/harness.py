"""Integration-test harness: starts the real ztgate with an inline config, test upstreams, and
drives them with raw-socket and TLS clients. Each test gets a Harness with its own temp dir and
ports; everything it starts is stopped afterwards (SIGTERM, then SIGKILL), even on failure.

Python 3 standard library only; run with /usr/bin/python3 through tests/integ/run.sh.
"""
import atexit
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
APP_HOST = "app.test"

_live_procs = []  # every process any harness started, for the atexit safety net


class Skip(Exception):
    """Raised by a test that cannot run here (a missing tool); reported, not failed."""


def sqlite_only(reason):
    """Decorator: the test cannot run when the suite runs against PostgreSQL (ZT_INTEG_PG_DSN),
    e.g. it reads the SQLite file itself; the runner reports it skipped with reason."""
    def wrap(fn):
        fn.sqlite_only = reason
        return fn
    return wrap


def timeout(seconds):
    """Decorator: per-test time limit in seconds (default 60)."""
    def wrap(fn):
        fn.timeout = seconds
        return fn
    return wrap


# ---------------------------------------------------------------------------------------------
# the store the suite runs against

def pg_dsn():
    """ZT_INTEG_PG_DSN (a libpq connection string to a throwaway server: scripts/with-pg.sh) or
    None: every gateway config then gets a store: section on PostgreSQL, a schema per test."""
    return os.environ.get("ZT_INTEG_PG_DSN") or None


def store_name():
    dsn = pg_dsn()
    return "postgresql (%s)" % dsn if dsn else "sqlite"


def psql(dsn, sql):
    """SQL (one or more statements, on stdin) through the psql CLI (the standard library has
    no libpq): stdout."""
    r = subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"],
                       capture_output=True, text=True, timeout=60, input=sql + ";\n")
    if r.returncode != 0:
        raise RuntimeError("psql: %s" % r.stderr.strip())
    return r.stdout


def pg_schema_dsn(dsn, schema):
    """dsn confined to schema. options replaces the store's own (statement and lock timeouts,
    src/store/pg.c), so they are given again at the store's default."""
    return ("%s options='-c search_path=%s -c statement_timeout=5000 -c lock_timeout=5000'"
            % (dsn, schema))


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "'\\x%s'::bytea" % bytes(v).hex()
    return "'%s'" % str(v).replace("'", "''")


def _bind(sql, params):
    """sqlite3's ? placeholders replaced by SQL literals (the tests' SQL has no ? in strings)."""
    parts = sql.split("?")
    if len(parts) - 1 != len(params):
        raise ValueError("%d placeholders, %d parameters: %s" % (len(parts) - 1, len(params), sql))
    out = [parts[0]]
    for v, rest in zip(params, parts[1:]):
        out += [_sql_literal(v), rest]
    return "".join(out)


def _pg_value(v):
    if isinstance(v, str) and v.startswith("\\x") and re.fullmatch(r"\\x([0-9a-f]{2})*", v):
        return bytes.fromhex(v[2:])  # bytea, as sqlite3 gives a blob
    return v


class PgRows:
    def __init__(self, rows):
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


class PgDb:
    """The few sqlite3.Connection methods tests use to read or seed rows (execute, executemany,
    commit, close, with), over psql in the test's PostgreSQL schema: rows come back as tuples
    of JSON-typed values (numbers, strings, blobs as bytes); each statement commits alone."""

    def __init__(self, dsn):
        self.dsn = dsn

    def execute(self, sql, params=()):
        q = _bind(sql, tuple(params)).strip().rstrip(";")
        if not re.match(r"(?is)^(SELECT|WITH)\b", q):
            psql(self.dsn, q)
            return PgRows([])
        out = psql(self.dsn, "SELECT coalesce(json_agg(q), '[]') FROM (%s) q" % q)
        rows = json.loads(out, object_pairs_hook=lambda kv: tuple(_pg_value(v) for _, v in kv))
        return PgRows(rows)

    def executemany(self, sql, seq):
        """One psql for all rows (one process per row would take a minute for a thousand)."""
        stmts = [_bind(sql, tuple(params)).strip().rstrip(";") for params in seq]
        if stmts:
            psql(self.dsn, ";\n".join(stmts))

    def commit(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------------------------------------
# small helpers

_ports_given = set()


def _port_slice():
    """(index, count) from ZT_INTEG_PORT_SLICE="i/n", set by runner.py -j for each of its
    concurrent workers: a worker only hands out ports p with (p // 16) % n == i, so a port one
    worker picked and has not bound yet is never picked by another. (Not p % n: Linux hands out
    even ports to bind(0) and keeps the odd ones for connect().)"""
    try:
        i, n = (int(x) for x in os.environ.get("ZT_INTEG_PORT_SLICE", "0/1").split("/"))
    except ValueError:
        return 0, 1
    return (i, n) if 0 <= i < n else (0, 1)


def _listen_port_range():
    """Ports for our servers: above the well-known ones and below the kernel's ephemeral range.
    A port in that range, free when we look, may become the source port of some client's
    connection before the server binds it, and the server then fails to start."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    return 10000, ephemeral_low


_port_random = random.Random(os.urandom(16))


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: a TIME-WAIT on it counts as taken
        except OSError:
            return False
    return True


def free_port():
    """A port nothing listens on, never one handed out before in this run: two calls in a row
    can otherwise get the same port back, and a gateway told to listen twice on it refuses."""
    slot, slots = _port_slice()
    low, high = _listen_port_range()
    for _ in range(20000 if high - low >= 2000 else 0):
        port = _port_random.randrange(low, high)
        if (port // 16) % slots == slot and port not in _ports_given and _bindable(port):
            _ports_given.add(port)
            return port
    while True:  # no room below the ephemeral range on this machine: let the kernel pick
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if (port // 16) % slots == slot and port not in _ports_given:
            _ports_given.add(port)
            return port


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def wait_until(pred, timeout_s, interval=0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_YAML_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if _YAML_PLAIN.match(s) and s.lower() not in _YAML_WORDS and not re.match(r"^[0-9.\-]+$", s):
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def yaml_dump(obj, indent=0):
    """Block-style YAML for dicts/lists/scalars (enough for configs; keys keep their order)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(yaml_dump(v, indent + 2))
            elif isinstance(v, (dict, list)):
                lines.append("%s%s: %s" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict) and item:
                body = yaml_dump(item, indent + 2).split("\n")
                lines.append("%s- %s" % (pad, body[0].lstrip()))
                lines.extend(body[1:])
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(item)))
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


def proc_rss_kb(pid):
    """VmRSS of pid plus all its descendants (workers may be threads or processes), in KiB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class RssSampler:
    """Samples proc_rss_kb(pid) every interval on a thread; .peak_kb after stop()."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, proc_rss_kb(self.pid))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak_kb = max(self.peak_kb, proc_rss_kb(self.pid))


def gen_cert(dirpath, cn=APP_HOST, name="tls"):
    """Self-signed ECDSA P-256 certificate + key (PEM); returns (cert_path, key_path)."""
    cert = os.path.join(dirpath, name + ".crt")
    key = os.path.join(dirpath, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
                   check=True, capture_output=True)
    return cert, key


# ---------------------------------------------------------------------------------------------
# HTTP client pieces (raw sockets so tests control every byte)

class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in order
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %s, %d body bytes>" % (self.status, self.reason, len(self.body))


class IncompleteResponse(Exception):
    pass


def read_response(reader, method="GET", body_sink=None):
    """Reads one response from a binary reader (readline/read). None on clean EOF before it.
    body_sink(bytes) gets the body instead of Response.body when given (for huge bodies)."""
    while True:
        line = reader.readline(65537)
        if not line:
            return None
        status_line = line.decode("latin-1").rstrip("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise IncompleteResponse("bad status line %r" % status_line)
        status = int(parts[1])
        headers = []
        while True:
            h = reader.readline(65537)
            if not h:
                raise IncompleteResponse("EOF in response head")
            if h in (b"\r\n", b"\n"):
                break
            n, _, v = h.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((n, v.strip()))
        if 100 <= status < 200 and status != 101:
            continue  # interim response
        break
    chunks = []
    sink = body_sink or chunks.append
    hmap = {n.lower(): v for n, v in headers}
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        pass
    elif "chunked" in hmap.get("transfer-encoding", "").lower():
        while True:
            size_line = reader.readline(1024)
            if not size_line:
                raise IncompleteResponse("EOF in chunk size")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            while size:
                piece = reader.read(min(size, 1 << 20))
                if not piece:
                    raise IncompleteResponse("EOF in chunk")
                sink(piece)
                size -= len(piece)
            reader.readline(16)
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        while n:
            piece = reader.read(min(n, 1 << 20))
            if not piece:
                raise IncompleteResponse("EOF in body (%d bytes missing)" % n)
            sink(piece)
            n -= len(piece)
    else:
        while True:
            piece = reader.read(65536)
            if not piece:
                break
            sink(piece)
    return Response(parts[0], status, parts[2] if len(parts) > 2 else "", headers,
                    b"".join(chunks))


def parse_responses(data, methods=None):
    """All complete responses in a byte string (a pipelined exchange); trailing junk raises."""
    reader = io.BufferedReader(io.BytesIO(data))
    out = []
    methods = list(methods or [])
    while True:
        m = methods.pop(0) if methods else "GET"
        r = read_response(reader, m)
        if r is None:
            return out
        out.append(r)


def build_request(method="GET", path="/", host=APP_HOST, headers=(), body=None,
                  version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: " + host)
    for n, v in headers:
        lines.append("%s: %s" % (n, v))
    if body is not None and not any(n.lower() in ("content-length", "transfer-encoding")
                                    for n, _ in headers):
        lines.append("Content-Length: %d" % len(body))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw + (body or b"")


class SockReader:
    """readline/read over a socket with its own buffer, so a read timeout leaves it usable
    (socket.makefile readers refuse to read again after a timeout)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        self.buf += data
        return len(data)

    def readline(self, limit=65536):
        while True:
            i = self.buf.find(b"\n", 0, limit)
            if i >= 0 or len(self.buf) >= limit:
                n = i + 1 if i >= 0 else limit
                out = bytes(self.buf[:n])
                del self.buf[:n]
                return out
            if not self._fill():
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def read(self, n=65536):
        """Up to n bytes; b"" only at EOF."""
        if not self.buf:
            return self.sock.recv(min(n, 262144))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    read1 = read


class Conn:
    """One client connection (plain or TLS)."""

    def __init__(self, port, tls=False, server_name=APP_HOST, timeout_s=10.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = ctx.wrap_socket(raw, server_hostname=server_name)
        self.sock = raw
        self.timeout_s = timeout_s
        self.reader = SockReader(raw)

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method="GET", path="/", host=APP_HOST, headers=(), body=None):
        self.send(build_request(method, path, host, headers, body))
        return self.response(method)

    def response(self, method="GET", body_sink=None):
        self.sock.settimeout(self.timeout_s)
        return read_response(self.reader, method, body_sink)

    def read_all(self, timeout_s=5.0):
        """Everything until EOF/reset or timeout: (bytes, closed). The connection stays usable
        after a timeout."""
        chunks = []
        closed = False
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                piece = self.reader.read1(65536)
                if not piece:
                    closed = True
                    break
                chunks.append(piece)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            closed = True
        except (socket.timeout, TimeoutError):
            pass
        return b"".join(chunks), closed

    def wait_closed(self, timeout_s):
        """True when the peer closes (EOF or reset) within timeout_s; data read is discarded."""
        _, closed = self.read_all(timeout_s)
        return closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def exchange(port, data, timeout_s=5.0, tls=False):
    """Sends raw bytes in one write, reads until close/timeout: (responses, closed, raw)."""
    c = Conn(port, tls=tls)
    try:
        try:
            c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway may close before reading everything; its answer still counts
        raw, closed = c.read_all(timeout_s)
    finally:
        c.close()
    try:
        responses = parse_responses(raw)
    except (IncompleteResponse, ValueError) as e:
        raise AssertionError("unparsable response bytes (%s): %r" % (e, raw[:300]))
    return responses, closed, raw


def get(port, path="/", host=APP_HOST, headers=(), tls=False, method="GET", body=None):
    """One request on a fresh connection."""
    c = Conn(port, tls=tls)
    try:
        r = c.request(method, path, host, headers, body)
        if r is None:
            raise AssertionError("connection closed without a response to %s %s" % (method, path))
        return r
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# processes

class Proc:
    def __init__(self, name, argv, log_dir, cwd=None, stdout_pipe=False):
        self.name = name
        self.argv = argv
        self.err_path = os.path.join(log_dir, name + ".stderr")
        self.out_path = os.path.join(log_dir, name + ".stdout")
        self._err = open(self.err_path, "wb")
        self._out = subprocess.PIPE if stdout_pipe else open(self.out_path, "wb")
        self.p = subprocess.Popen(argv, stdout=self._out, stderr=self._err, cwd=cwd,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid
        self.stopped_by_us = False
        self.exit_problem = None
        self.killed_on_purpose = False  # a test sent SIGKILL: a non-zero status is expected
        _live_procs.append(self)

    def alive(self):
        return self.p.poll() is None

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stdout_text(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout_s):
        try:
            return self.p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s=8.0):
        """SIGTERM to the process group, SIGKILL after grace_s. Returns the exit status."""
        if self.alive():
            self.stopped_by_us = True
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(grace_s) is None:
                self.exit_problem = "did not exit within %.0fs of SIGTERM; killed" % grace_s
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        for f in (self._err, self._out):
            if hasattr(f, "close"):
                f.close()
        if self in _live_procs:
            _live_procs.remove(self)
        return self.p.returncode


def _kill_everything():
    for p in list(_live_procs):
        try:
            p.stop(grace_s=2.0)
        except Exception:
            pass


atexit.register(_kill_everything)


class Upstream:
    """tests/integ/upstream.py in its own process; .port, .url, .requests()."""

    def __init__(self, h, name):
        self.name = name
        self.log_path = os.path.join(h.dir, name + ".requests.jsonl")
        open(self.log_path, "w").close()
        self.proc = Proc(name, [PYTHON, os.path.join(HERE, "upstream.py"), "--log", self.log_path],
                         h.dir, stdout_pipe=True)
        line = self.proc.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("upstream %s failed to start: %s" % (name, self.proc.stderr_text()))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def requests(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]

    def paths(self):
        return [r["path"] for r in self.requests()]

    def wait_requests(self, n, timeout_s=5.0):
        return wait_until(lambda: len(self.requests()) >= n, timeout_s)


def header_values(record_or_echo, name):
    """All values of header `name` (case-insensitive) in an upstream echo/log record."""
    name = name.lower()
    return [v for n, v in record_or_echo["headers"] if n.lower() == name]


class Gateway:
    """ztgate serve --config FILE as a subprocess; ready once every listener accepts."""

    def __init__(self, h, config, name="ztgate"):
        self.h = h
        self.name = name
        self.config_path = os.path.join(h.dir, name + ".yaml")
        self.write_config(config)
        self.config = config
        self.ports, self.tls_ports = [], []
        if isinstance(config, dict):
            for lst in config.get("gateway", {}).get("listen", []):
                port = int(lst["address"].rsplit(":", 1)[1])
                (self.tls_ports if "tls" in lst else self.ports).append(port)
        self.port = self.ports[0] if self.ports else None
        self.tls_port = self.tls_ports[0] if self.tls_ports else None
        self.proc = None

    def write_config(self, config):
        text = config if isinstance(config, str) else yaml_dump(config) + "\n"
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, timeout_s=None):
        timeout_s = timeout_s or (30.0 if self.h.sanitized else 10.0)
        self.proc = Proc(self.name, [self.h.ztgate, "serve", "--config", self.config_path],
                         self.h.dir, cwd=self.h.dir)
        self.h.procs.append(self.proc)
        deadline = time.monotonic() + timeout_s
        for port in self.ports + self.tls_ports:
            while not port_open(port):
                if not self.proc.alive():
                    raise AssertionError("ztgate exited with status %s during start-up:\n%s"
                                         % (self.proc.p.returncode, self.proc.stderr_text()))
                if time.monotonic() > deadline:
                    raise AssertionError("ztgate did not listen on port %d within %.0fs"
                                         % (port, timeout_s))
                time.sleep(0.03)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def rss_kb(self):
        return proc_rss_kb(self.pid)

    def reload(self, config):
        self.write_config(config)
        self.proc.signal(signal.SIGHUP)

    def stderr_text(self):
        return self.proc.stderr_text() if self.proc else ""

    def access_log_path(self):
        if isinstance(self.config, dict):
            return self.config.get("log", {}).get("access")
        return None


class Harness:
    """Per-test context: temp dir, ports, processes; cleanup() stops everything."""

    def __init__(self, build_dir, test_name):
        self.build_dir = os.path.abspath(build_dir)
        self.ztgate = os.path.join(self.build_dir, "ztgate")
        self.sanitized = is_sanitized(self.ztgate)
        self.test_name = test_name
        self.dir = tempfile.mkdtemp(prefix="ztgate-integ-%s-" % test_name.replace(".", "-"))
        self.procs = []
        self.gateways = []
        self.conns = []
        self.keep_dir = False
        self.finalizers = []  # run by cleanup() after every process stopped, last added first
        self.pg_schemas = {}  # state_dir -> its schema under ZT_INTEG_PG_DSN (pg_store_section)

    # -- building blocks
    def upstream(self, name="upstream"):
        u = Upstream(self, name)
        self.procs.append(u.proc)
        return u

    def app(self, upstream, name="app", host=APP_HOST, **kw):
        """An app entry. Public unless the test says otherwise: proxy tests need no sign-in;
        identity tests pass sensitivity="internal" (or higher)."""
        a = {"name": name, "sensitivity": "public"}
        if host is not None:
            a["host"] = host
        a["upstream"] = upstream if isinstance(upstream, str) else upstream.url
        a.update(kw)
        return a

    def config(self, apps, listen=None, gateway=None, limits=None, timeouts=None, log=None,
               extra=None):
        """A complete config dict; tests tweak what they need through the keyword dicts."""
        gw = {"listen": listen or [{"address": "127.0.0.1:%d" % free_port()}], "workers": 2}
        if limits:
            gw["limits"] = dict(limits)
        gw["timeouts"] = dict({"drain": "3s"}, **(timeouts or {}))
        gw.update(gateway or {})
        cfg = {
            "state_dir": os.path.join(self.dir, "state"),
            "gateway": gw,
            "log": dict({"access": os.path.join(self.dir, "access.log"), "error": "-",
                         "level": "info"}, **(log or {})),
            # ZT_INTEG_AUDIT=1 runs every test with the audit log on (responses held until
            # their record is written).
            "audit": ({"path": os.path.join(self.dir, "state", "audit", "audit.log")}
                      if os.environ.get("ZT_INTEG_AUDIT") == "1" else {"path": "off"}),
            # The cheapest argon2id the config allows (OWASP's 19 MiB, t=2): sign-ins in tests
            # stay fast; bench/ measures the default parameters.
            "auth": {"argon2_memory": "19MiB", "argon2_passes": 2},
            "apps": apps,
        }
        cfg.update(extra or {})
        if pg_dsn() and "store" not in cfg:
            cfg["store"] = self.pg_store_section(cfg["state_dir"])
        return cfg

    def pg_store_section(self, state_dir=None):
        """store: on PostgreSQL in a schema of this test (made on first use, dropped at
        cleanup), one per state_dir: configs sharing a state_dir share the store, as they would
        share its SQLite file, and gateways with state dirs of their own keep stores apart."""
        key = os.path.abspath(state_dir or os.path.join(self.dir, "state"))
        if key not in self.pg_schemas:
            base = pg_dsn()
            schema = "t_" + os.urandom(6).hex()
            psql(base, "CREATE SCHEMA %s" % schema)
            self.pg_schemas[key] = schema

            def drop_schema():
                psql(base, "DROP SCHEMA IF EXISTS %s CASCADE" % schema)
            self.on_cleanup(drop_schema)
        return {"backend": "postgresql", "dsn": pg_schema_dsn(pg_dsn(), self.pg_schemas[key])}

    def store_db(self, sqlite_path=None, timeout=10):
        """The store's database for a test that reads or seeds rows itself: sqlite3 on
        sqlite_path (default STATE_DIR/ztgate.db), or a PgDb in this test's PostgreSQL schema."""
        path = sqlite_path or os.path.join(self.dir, "state", "ztgate.db")
        schema = self.pg_schemas.get(os.path.abspath(os.path.dirname(path)))
        if pg_dsn() and schema is not None:
            return PgDb(pg_schema_dsn(pg_dsn(), schema))
        import sqlite3
        return sqlite3.connect(path, timeout=timeout)

    def gateway(self, config, start=True, name="ztgate"):
        g = Gateway(self, config, name)
        self.gateways.append(g)
        if start:
            g.start()
        return g

    def simple(self, **config_kw):
        """One upstream, one app on host app.test, gateway started: (gateway, upstream)."""
        up = self.upstream()
        gw = self.gateway(self.config([self.app(up)], **config_kw))
        return gw, up

    def connect(self, port, tls=False, **kw):
        c = Conn(port, tls=tls, **kw)
        self.conns.append(c)
        return c

    def cli(self, *args, timeout_s=30, input=None):
        """Runs `ztgate ARGS`; `input` (text) is its stdin, e.g. for --password-stdin."""
        if input is None:
            return subprocess.run([self.ztgate] + list(args), capture_output=True, text=True,
                                  timeout=timeout_s, cwd=self.dir, stdin=subprocess.DEVNULL)
        return subprocess.run([self.ztgate] + list(args), capture_output=True, text=True,
                              timeout=timeout_s, cwd=self.dir, input=input)

    def path(self, name):
        return os.path.join(self.dir, name)

    # -- teardown
    def cleanup(self):
        """Stops everything; returns problems found on the way (sanitizer reports, exit codes)."""
        problems = []
        for c in self.conns:
            c.close()
        for p in reversed(self.procs):
            rc = p.stop()
            if p.exit_problem:
                problems.append("%s %s" % (p.name, p.exit_problem))
            if p.name.startswith("ztgate"):
                text = p.stderr_text()
                if re.search(r"(AddressSanitizer|LeakSanitizer|runtime error:|"
                             r"UndefinedBehaviorSanitizer)", text):
                    problems.append("%s: sanitizer report in stderr" % p.name)
                elif rc != 0 and not p.exit_problem and not p.killed_on_purpose:
                    # SIGTERM must end in a clean exit 0; anything else is a crash or a leak.
                    problems.append("%s exited with status %s" % (p.name, rc))
        # Databases and relays go after the gateways that use them, so those exit cleanly.
        while self.finalizers:
            fn = self.finalizers.pop()
            try:
                fn()
            except Exception as e:  # noqa: B902 - a failed teardown is reported, not raised
                problems.append("cleanup %s: %s" % (getattr(fn, "__name__", fn), e))
        return problems

    def on_cleanup(self, fn):
        """fn() runs when the test ends, pass or fail, after its processes were stopped."""
        self.finalizers.append(fn)

    def report(self):
        """Logs worth reading when a test failed."""
        out = []
        for p in self.procs:
            for label, text in (("stderr", p.stderr_text()), ("stdout", p.stdout_text())):
                text = text.strip()
                if text and (p.name.startswith("ztgate") or label == "stderr"):
                    lines = text.splitlines()
                    out.append("---- %s %s (last %d of %d lines)" %
                               (p.name, label, min(40, len(lines)), len(lines)))
                    out.extend(lines[-40:])
        for g in self.gateways:
            al = g.access_log_path()
            if al and al not in ("-", "off") and os.path.exists(al):
                with open(al, errors="replace") as f:
                    lines = f.read().splitlines()
                if lines:
                    out.append("---- access log (last %d lines)" % min(10, len(lines)))
                    out.extend(lines[-10:])
        return "\n".join(out)

    def remove_dir(self):
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


_sanitized_cache = {}


def is_sanitized(path):
    """True when the binary carries the ASan runtime (RSS and timing allowances differ)."""
    if path not in _sanitized_cache:
        found = False
        try:
            with open(path, "rb") as f:
                tail = b""
                while True:
                    block = f.read(1 << 20)
                    if not block:
                        break
                    if b"__asan_init" in tail + block:
                        found = True
                        break
                    tail = block[-16:]
        except OSError:
            pass
        _sanitized_cache[path] = found
    return _sanitized_cache[path]
