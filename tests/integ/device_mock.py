#!/usr/bin/python3
"""A stand-in for ztgate's device endpoints (docs/DEVICE_PROTOCOL.md, server side), so the agent
can be tested without the gateway. Python standard library + the openssl CLI.

    device_mock.py --dir DIR --log FILE [--codes CODE,CODE...]

On first start in DIR it makes a test PKI with the openssl CLI: server-ca.pem (signs the TLS
certificate server.pem, SAN IP:127.0.0.1 and DNS:localhost) and device-ca.pem (issues device
certificates from CSRs). Binds 127.0.0.1 on a free port and prints "PORT <n>" once listening.

Every request is appended to FILE as one JSON line: method, path, status, device (the client
certificate's CN or null), body (parsed JSON or the raw text), t (time.time()).

Endpoints: POST /.ztgate/device/enroll (codes from --codes, single use; 403 for unknown or used),
POST /.ztgate/device/posture and /.ztgate/device/alert and GET /.ztgate/device/status (client
certificate required; bodies validated strictly, 400 naming the field). The file DIR/mode, when
present, makes every answer misbehave: "nonjson" (200 with a text body), "500" (a JSON error),
"badshape" (200 with a JSON object of the wrong shape).
"""
import argparse
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), input=input, capture_output=True, check=True)


def make_pki(d):
    """Server CA + server certificate + device CA in d (idempotent)."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    if os.path.exists(p("device-ca.pem")):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-keyout", p("server-ca.key"),
            "-out", p("server-ca.pem"), "-subj", "/CN=mock server CA")
    openssl("req", "-new", *ec, "-keyout", p("server.key"), "-out", p("server.csr"),
            "-subj", "/CN=localhost")
    with open(p("server.cnf"), "w") as f:
        f.write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:FALSE\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("server-ca.pem"), "-CAkey",
            p("server-ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("server.cnf"),
            "-extensions", "ext", "-out", p("server.pem"))
    openssl("req", "-x509", *ec, "-days", "2", "-keyout", p("device-ca.key"),
            "-out", p("device-ca.pem"), "-subj", "/CN=mock device CA")


class BadRequest(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def obj(v, field, keys):
    """v must be an object with exactly these keys: {name: checker}."""
    if not isinstance(v, dict):
        raise BadRequest(field, "%s must be an object" % field)
    for k in v:
        if k not in keys:
            raise BadRequest("%s.%s" % (field, k), "unknown key %s.%s" % (field, k))
    for k, check in keys.items():
        if k not in v:
            raise BadRequest("%s.%s" % (field, k), "missing %s.%s" % (field, k))
        check(v[k], "%s.%s" % (field, k))


def string(limit, nullable=False, pattern=None):
    def check(v, field):
        if v is None and nullable:
            return
        if not isinstance(v, str) or len(v) > limit or (pattern and not pattern.match(v)):
            raise BadRequest(field, "%s must be a string (max %d)" % (field, limit))
    return check


def boolean(nullable=False):
    def check(v, field):
        if not (isinstance(v, bool) or (nullable and v is None)):
            raise BadRequest(field, "%s must be a boolean" % field)
    return check


def integer(nullable=False):
    def check(v, field):
        if v is None and nullable:
            return
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise BadRequest(field, "%s must be a non-negative integer" % field)
    return check


def one_of(*values):
    def check(v, field):
        if v not in values:
            raise BadRequest(field, "%s must be one of %s" % (field, values))
    return check


def time_str(nullable=False):
    return string(40, nullable, RFC3339)


POSTURE = {
    "agent_version": string(32),
    "collected_at": time_str(),
    "os": lambda v, f: obj(v, f, {"id": string(64, True), "version_id": string(64, True),
                                  "pretty_name": string(256, True), "kernel": string(128, True)}),
    "updates": lambda v, f: obj(v, f, {"last_package_update": time_str(True)}),
    "disk_encryption": lambda v, f: obj(v, f, {"root": one_of("luks", "none", "unknown")}),
    "firewall": lambda v, f: obj(v, f, {"active": boolean(True), "rules": integer(True)}),
    "screen_lock": lambda v, f: obj(v, f, {"enabled": boolean(True)}),
    "antivirus": lambda v, f: obj(v, f, {
        "engine": one_of("clamav"), "engine_version": string(32),
        "signature_version": integer(True), "signature_time": time_str(True),
        "on_access": boolean()}),
    "alerts_active": integer(),
}

ALERT = {
    "event": one_of("detected", "quarantined", "restored", "clean_scan"),
    "path": string(4096),
    "sha256": string(64, pattern=HEX64),
    "signature": string(256),
    "detected_at": time_str(),
}


class State:
    def __init__(self, args):
        self.dir = args.dir
        self.log_path = args.log
        self.codes = set(c for c in (args.codes or "").split(",") if c)
        self.used = set()
        self.devices = {}  # id -> {"user", "alerts": {path: event}}
        self.lock = threading.Lock()

    def log(self, rec):
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def mode(self):
        try:
            with open(os.path.join(self.dir, "mode")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def issue(self, csr_pem):
        """Device certificate for a CSR (P-256, valid self-signature) or BadRequest."""
        try:
            out = openssl("req", "-noout", "-verify", "-text", input=csr_pem.encode()).stdout
        except subprocess.CalledProcessError:
            raise BadRequest("csr", "csr is not a valid certificate request")
        if b"prime256v1" not in out:
            raise BadRequest("csr", "csr key is not P-256")
        dev_id = secrets.token_hex(16)
        work = os.path.join(self.dir, "issue-" + dev_id)
        os.mkdir(work)
        with open(os.path.join(work, "csr.pem"), "w") as f:
            f.write(csr_pem)
        with open(os.path.join(work, "ext.cnf"), "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\n"
                    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=clientAuth\n"
                    "subjectAltName=URI:urn:ztgate:device:%s\n" % dev_id)
        openssl("req", "-in", os.path.join(work, "csr.pem"), "-x509",
                "-CA", os.path.join(self.dir, "device-ca.pem"),
                "-CAkey", os.path.join(self.dir, "device-ca.key"), "-days", "365",
                "-subj", "/CN=" + dev_id, "-config", os.path.join(work, "ext.cnf"),
                "-set_serial", "0x" + secrets.token_hex(16), "-out", os.path.join(work, "dev.pem"))
        with open(os.path.join(work, "dev.pem")) as f:
            return dev_id, f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "device-mock"

    def log_message(self, fmt, *args):
        pass

    def device(self):
        cert = self.connection.getpeercert()
        if not cert:
            return None
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def answer(self, status, obj_, rec):
        st = self.server.state
        mode = st.mode()
        if mode == "nonjson":
            status, body, ctype = 200, b"<html>hello</html>", "text/html"
        elif mode == "500":
            status, body, ctype = 500, b'{"error":"internal","message":"mock failure"}', \
                "application/json"
        elif mode == "badshape":
            status, body, ctype = (201 if self.path.endswith("/enroll") else 200), \
                b'{"something":"else"}', "application/json"
        else:
            body, ctype = json.dumps(obj_).encode(), "application/json"
        rec["status"] = status
        st.log(rec)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def error(self, status, code, message, rec):
        self.answer(status, {"error": code, "message": message}, rec)

    def read_json(self, rec):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise BadRequest("body", "body too large")
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw.decode("utf-8"))
            rec["body"] = body
        except (UnicodeDecodeError, ValueError):
            rec["body"] = raw.decode("latin-1")
            raise BadRequest("body", "body is not JSON")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise BadRequest("content-type", "Content-Type must be application/json")
        return body

    def do_GET(self):
        rec = {"method": "GET", "path": self.path, "device": self.device(), "t": time.time()}
        st = self.server.state
        if self.path != "/.ztgate/device/status":
            return self.error(404, "not_found", "no such endpoint", rec)
        dev = st.devices.get(rec["device"])
        if dev is None:
            return self.error(403, "device_required", "a device certificate is required", rec)
        active = sorted(p for p, e in dev["alerts"].items() if e != "clean_scan")
        self.answer(200, {"device_id": rec["device"], "user": dev["user"], "compliant": True,
                          "failed": [], "risk": "high" if active else "none",
                          "active_alerts": active,
                          "last_report_at": dev.get("last_report_at")}, rec)

    def do_POST(self):
        rec = {"method": "POST", "path": self.path, "device": self.device(), "t": time.time()}
        st = self.server.state
        try:
            body = self.read_json(rec)
            if self.path == "/.ztgate/device/enroll":
                return self.enroll(body, rec)
            if self.path not in ("/.ztgate/device/posture", "/.ztgate/device/alert"):
                return self.error(404, "not_found", "no such endpoint", rec)
            dev = st.devices.get(rec["device"])
            if dev is None:
                return self.error(403, "device_required", "a device certificate is required",
                                  rec)
            if self.path.endswith("/posture"):
                obj(body, "body", POSTURE)
                dev["last_report_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                return self.answer(200, {"compliant": True, "failed": [], "risk":
                                         "high" if self.active(dev) else "none"}, rec)
            obj(body, "body", ALERT)
            with st.lock:
                if body["event"] == "clean_scan":
                    dev["alerts"].pop(body["path"], None)
                else:
                    dev["alerts"][body["path"]] = body["event"]
            n = self.active(dev)
            self.answer(200, {"risk": "high" if n else "none", "active_alerts": n}, rec)
        except BadRequest as e:
            self.error(400, "bad_request", e.message, rec)

    def active(self, dev):
        return len(dev["alerts"])

    def enroll(self, body, rec):
        st = self.server.state
        obj(body, "body", {"code": string(64), "csr": string(8192), "hostname": string(255),
                           "platform": one_of("linux")})
        with st.lock:
            ok = body["code"] in st.codes and body["code"] not in st.used
            if ok:
                st.used.add(body["code"])
        if not ok:
            return self.error(403, "invalid_code", "unknown, expired or used code", rec)
        dev_id, cert = st.issue(body["csr"])
        with open(os.path.join(st.dir, "device-ca.pem")) as f:
            ca = f.read()
        st.devices[dev_id] = {"user": "alice@example.org", "alerts": {}}
        self.answer(201, {"device_id": dev_id, "certificate": cert, "ca": ca,
                          "user": "alice@example.org"}, rec)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs on the request's thread, so a stuck client blocks nobody.
        request.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.state.log({"tls_error": str(e), "t": time.time()})
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--codes", default="")
    args = ap.parse_args()
    make_pki(args.dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.pem"), os.path.join(args.dir, "server.key"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(os.path.join(args.dir, "device-ca.pem"))
    srv = Server(("127.0.0.1", 0), Handler)
    srv.ctx = ctx
    srv.state = State(args)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
