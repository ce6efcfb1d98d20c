"""Several gateways on one PostgreSQL, for the cluster tests (docs/CLUSTER.md).

    import pgcluster
    pg = pgcluster.PgServer(h)                 # a throwaway server of this test (tests/pg/pgtmp.sh)
    gws = pgcluster.start_gateways(h, 3, cfg, pg)   # gw-a, gw-b, gw-c sharing its database
    gws[1].relay.cut()                         # gw-b no longer reaches the database (blackhole)
    gws[1].relay.restore()                     # and now it does again
    pg.restart(); pg.stop()

Everything is stopped by the test's cleanup, pass or fail: gateways first, then relays, then the
server. The server listens on a Unix socket in its own temp dir and on 127.0.0.1 with TLS
(pg.ca_file is its CA); gateways reach it over TCP through their relay, with
sslmode=verify-full, as a production deployment would.
"""
import copy
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PGTMP = os.path.join(HERE, "..", "pg", "pgtmp.sh")
NODE_NAMES = ["gw-a", "gw-b", "gw-c", "gw-d", "gw-e"]


psql = harness.psql  # one statement through the psql CLI: stdout


class PgServer:
    """A PostgreSQL server of one test: its own temp dir and port, stopped at cleanup."""

    def __init__(self, h, port=None):
        self.h = h
        # initdb runs as user postgres: the parent must be traversable, the dir is chowned.
        self.parent = tempfile.mkdtemp(prefix="ztgate-pg-")
        os.chmod(self.parent, 0o711)
        self.dir = os.path.join(self.parent, "pg")
        self.port = port or harness.free_port()
        self.running = False
        h.on_cleanup(self.stop)
        r = subprocess.run(["sh", PGTMP, "start", self.dir, str(self.port)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("tests/pg/pgtmp.sh start failed: %s %s"
                               % (r.stderr.strip(), self._log_tail()))
        self.running = True
        self.dsn = r.stdout.strip()  # Unix socket, superuser: for the test's own SQL
        self.ca_file = os.path.join(self.dir, "ca.pem")

    def tcp_dsn(self, port=None, dbname="postgres", extra=""):
        """What a gateway is given: TCP to localhost (or a relay's port), TLS verify-full."""
        return ("host=localhost hostaddr=127.0.0.1 port=%d user=postgres dbname=%s "
                "sslmode=verify-full sslrootcert=%s%s"
                % (port or self.port, dbname, self.ca_file, (" " + extra) if extra else ""))

    def sql(self, sql, dbname=None):
        dsn = self.dsn if dbname is None else self.dsn.replace("dbname=postgres",
                                                              "dbname=" + dbname)
        return psql(dsn, sql)

    def create_database(self, name):
        self.sql("CREATE DATABASE %s" % name)
        return name

    def restart(self):
        subprocess.run(["sh", PGTMP, "restart", self.dir], check=True, capture_output=True,
                       timeout=120)
        self.running = True

    def pause(self):
        """Stops the server but keeps its data (start() brings it back): the database down."""
        subprocess.run(["runuser", "-u", "postgres", "--", self._pg_ctl(), "-D",
                        os.path.join(self.dir, "data"), "-m", "fast", "-w", "stop"],
                       check=True, capture_output=True, timeout=120)
        self.running = False

    def start(self):
        """After pause(): pg_ctl restart starts a stopped server with the options it last ran
        with (postmaster.opts: port, socket dir, TLS)."""
        self.restart()

    def stop(self):
        """Stops the server and removes its directory (idempotent)."""
        if os.path.isdir(self.dir):
            subprocess.run(["sh", PGTMP, "stop", self.dir], capture_output=True, timeout=120)
        self.running = False
        shutil.rmtree(self.parent, ignore_errors=True)

    def _pg_ctl(self):
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
        return "/usr/lib/postgresql/%s/bin/pg_ctl" % bins[-1]

    def _log_tail(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""


class Relay:
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target in a thread. cut() simulates a network
    partition: nothing is read or forwarded any more and no new connection is accepted, so the
    gateway's packets go unanswered (not refused) as on a real blackholed link; restore() resumes
    (bytes held in the socket buffers flow again, as TCP retransmission would deliver them).
    drop() resets every relayed connection (a firewall sending RSTs, a failover)."""

    def __init__(self, h, target_port, port=None):
        self.target = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port or 0))
        self.lsock.listen(128)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.pairs = {}  # socket -> its peer
        self.is_cut = False
        self.accepted = 0
        self._mu = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._t = threading.Thread(target=self._run, name="relay-%d" % self.port, daemon=True)
        self._t.start()
        h.on_cleanup(self.close)

    # -- control, from the test's thread
    def cut(self):
        with self._mu:
            self.is_cut = True
        self._wake()

    def restore(self):
        with self._mu:
            self.is_cut = False
        self._wake()

    def drop(self):
        with self._mu:
            self._drop_all = True
        self._wake()

    def connections(self):
        with self._mu:
            return len(self.pairs) // 2

    def close(self):
        self._stopping = True
        self._wake()
        self._t.join(10)
        for s in list(self.pairs) + [self.lsock, self._wake_r, self._wake_w]:
            try:
                s.close()
            except OSError:
                pass
        self.pairs.clear()

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the relay thread
    _drop_all = False

    def _interest(self, sel):
        """(Re)register what the loop waits for: nothing but the wake-up while cut."""
        for key in list(sel.get_map().values()):
            sel.unregister(key.fileobj)
        sel.register(self._wake_r, selectors.EVENT_READ)
        if self.is_cut:
            return
        sel.register(self.lsock, selectors.EVENT_READ)
        for s in self.pairs:
            sel.register(s, selectors.EVENT_READ)

    def _run(self):
        sel = selectors.DefaultSelector()
        self._interest(sel)
        while not self._stopping:
            changed = False
            for key, _ in sel.select(timeout=1.0):
                s = key.fileobj
                if s is self._wake_r:
                    self._wake_r.recv(4096)
                    changed = True
                elif s is self.lsock:
                    changed |= self._accept()
                elif s in self.pairs:
                    changed |= self._forward(s)
            with self._mu:
                if self._drop_all:
                    self._drop_all = False
                    for s in list(self.pairs):
                        self._close_pair(s, reset=True)
                    changed = True
            if changed:
                self._interest(sel)
        sel.close()

    def _accept(self):
        try:
            c, _ = self.lsock.accept()
        except BlockingIOError:
            return False
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            c.close()
            return False
        for s in (c, u):
            s.setblocking(True)
            s.settimeout(5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._mu:
            self.pairs[c], self.pairs[u] = u, c
            self.accepted += 1
        return True

    def _forward(self, s):
        peer = self.pairs[s]
        try:
            data = s.recv(65536)
            if data:
                peer.sendall(data)
                return False
        except OSError:
            pass
        with self._mu:
            self._close_pair(s, reset=False)
        return True

    def _close_pair(self, s, reset):
        peer = self.pairs.pop(s, None)
        if peer is not None:
            self.pairs.pop(peer, None)
        for x in (s, peer):
            if x is None:
                continue
            if reset:  # SO_LINGER 0: close() sends RST
                x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            try:
                x.close()
            except OSError:
                pass


def start_gateways(h, n, config, pg=None, names=None, start=True, database="postgres"):
    """n gateways on one database: each its own state_dir, listen ports, access log and relay to
    the server, store.node_name gw-a, gw-b, ...; the rest of config (a dict from h.config())
    is the same for all. Returns the Gateway objects, each with .relay and .node_name.
    pg: a PgServer (one is started when None; then gateways[0].pg is it)."""
    pg = pg or PgServer(h)
    names = names or NODE_NAMES[:n]
    gws = []
    for i, node in enumerate(names):
        cfg = copy.deepcopy(config)
        cfg["state_dir"] = os.path.join(h.dir, "state-" + node)
        gw = cfg.setdefault("gateway", {})
        gw["listen"] = [_fresh_listen(lst) for lst in gw.get("listen", [{}])]
        log = cfg.setdefault("log", {})
        if log.get("access") not in (None, "-", "off"):
            log["access"] = os.path.join(h.dir, "access-%s.log" % node)
        audit = cfg.get("audit", {})
        if audit.get("path") not in (None, "off"):
            audit["path"] = os.path.join(cfg["state_dir"], "audit", "audit.log")
        # One secrets key and one signing-key directory for every node, as docs/CLUSTER.md
        # asks of a real cluster (TOTP secrets sealed on one node are opened on another).
        auth = cfg.setdefault("auth", {})
        auth.setdefault("secrets_key", os.path.join(h.dir, "cluster-secrets.key"))
        auth.setdefault("keys_dir", os.path.join(h.dir, "cluster-keys"))
        # And one device CA: a device enrolled through one node is trusted by the others.
        devices = cfg.setdefault("devices", {})
        devices.setdefault("ca_dir", os.path.join(h.dir, "cluster-device-ca"))
        relay = Relay(h, pg.port)
        store = dict(cfg.get("store") or {})
        store.update({"backend": "postgresql", "node_name": node,
                      "dsn": pg.tcp_dsn(relay.port, dbname=database)})
        store.pop("dsn_file", None)
        cfg["store"] = store
        g = h.gateway(cfg, start=False, name="ztgate-" + node)
        g.relay, g.node_name, g.pg = relay, node, pg
        gws.append(g)
    if start:
        for g in gws:
            g.start()
    return gws


def _fresh_listen(lst):
    out = dict(lst)
    out["address"] = "127.0.0.1:%d" % harness.free_port()
    return out


def wait_for(pred, cap_s, interval=0.05):
    """Polls pred until true or cap_s passed: (value, seconds taken) so a test can report the
    measured figure instead of asserting a tight bound."""
    t0 = time.monotonic()
    v = harness.wait_until(pred, cap_s, interval)
    return v, time.monotonic() - t0
