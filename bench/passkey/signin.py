#!/usr/bin/env python3
"""Sign-ins per second through the real gateway: passwordless passkey sign-in against password +
TOTP sign-in (issue 12 item 6). Driven by bench/passkey/run.sh, which starts ztgate and creates
the users with the CLI; this program talks HTTP to it over loopback only.

  signin.py setup PORT HOST USERS.tsv STATE.json CLIENTS SOURCES
      for each user: password sign-in, TOTP enrolment (mfa: required), then registration of one
      ES256 passkey from the software authenticator below, all through the portal and the
      WebAuthn endpoints; writes the secrets, keys and counters to STATE.json.
  signin.py measure PORT HOST STATE.json CLIENTS SOURCES SECONDS WARMUP RUNS GATEWAY_PID
      runs the two rows (a warm-up of each, then RUNS measured runs of each, order alternating)
      and prints one RESULT line per measured run.

One sign-in is, in the passkey row, POST /.ztgate/webauthn/login/options then POST
/.ztgate/webauthn/login/verify (checked: 200, {"verified":true} and a new session cookie); in the
password row POST /.ztgate/login (303 to /.ztgate/mfa) then POST /.ztgate/mfa with the TOTP code
of an unused time step (checked: 303 and a new session cookie). Pages are not fetched per sign-in
in either row: each client fetches its CSRF pair once from its own source address (on plain HTTP
the CSRF cookie is bound to it), as bench/signin.sh does. Anything else is an error."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import resource
import struct
import sys
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

SESSION = "ztgate_session"
CSRF = "ztgate_csrf"
FORM = "application/x-www-form-urlencoded"


# ---- a software authenticator: ES256, attestation "none", UP+UV (bench code only; the
# integration tests have their own in tests/integ/test_webauthn_api.py, which imports the
# test harness, so it is not imported here)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def cbor(v):
    """The CBOR subset a "none" attestation needs: ints, bytes, text, dicts."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | ai]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(type(v))


class Passkey:
    FLAGS = 0x01 | 0x04  # UP | UV: a device-bound passkey, user verified

    def __init__(self, state=None):
        if state is None:
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.cred_id, self.user_handle, self.counter = os.urandom(16), None, 0
        else:
            self.key = ec.derive_private_key(int(state["d"], 16), ec.SECP256R1())
            self.cred_id, self.user_handle = unb64u(state["id"]), unb64u(state["uh"])
            self.counter = state["counter"]

    def state(self):
        return {"d": "%x" % self.key.private_numbers().private_value, "id": b64u(self.cred_id),
                "uh": b64u(self.user_handle), "counter": self.counter}

    def create(self, options, origin):
        self.user_handle = unb64u(options["user"]["id"])
        n = self.key.public_key().public_numbers()
        cose = cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() +
                     bytes([self.FLAGS | 0x40]) + struct.pack(">I", self.counter) + b"\0" * 16 +
                     struct.pack(">H", len(self.cred_id)) + self.cred_id + cose)
        cd = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                         "origin": origin, "crossOrigin": False}).encode()
        att = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(cd), "attestationObject": b64u(att),
                             "transports": ["internal"]},
                "clientExtensionResults": {}, "name": "bench"}

    def get(self, options, origin):
        self.counter += 1
        auth_data = (hashlib.sha256(options["rpId"].encode()).digest() + bytes([self.FLAGS]) +
                     struct.pack(">I", self.counter))
        cd = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                         "origin": origin, "crossOrigin": False}).encode()
        sig = self.key.sign(auth_data + hashlib.sha256(cd).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(cd), "authenticatorData": b64u(auth_data),
                             "signature": b64u(sig), "userHandle": b64u(self.user_handle)},
                "clientExtensionResults": {}}


def totp(secret, step):
    """RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def free_step(user, margin=2.0):
    """The oldest time step the gateway still accepts (now-1 .. now+1) that is after the last one
    this user spent (each code works once) and stays accepted for `margin` seconds more (the
    code is posted a moment later, possibly across a step boundary); None when none is left."""
    t = time.time()
    now = int(t // 30)
    oldest = now - 1 if 30 - t % 30 > margin else now
    step = max(oldest, user.get("last_step", 0) + 1)
    return step if step <= now + 1 else None


# ---- HTTP: one keep-alive connection per client, from its own loopback source address

class Client:
    def __init__(self, port, host, source):
        self.port, self.host, self.source = port, host, source
        self.origin = "http://" + host
        self.conn = None
        self.cookies = {}

    def request(self, method, path, body=b"", ctype=None, origin=False):
        hs = {"Host": self.host}
        if ctype:
            hs["Content-Type"] = ctype
        if origin:
            hs["Origin"] = self.origin
        if self.cookies:
            hs["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        for attempt in (0, 1):  # a keep-alive connection the server closed: reconnect once
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                                       source_address=(self.source, 0))
            try:
                self.conn.request(method, path, body=body if method == "POST" else None,
                                  headers=hs)
                r = self.conn.getresponse()
                r.data = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        r.new_cookies = {}
        for n, v in r.getheaders():
            if n.lower() == "set-cookie":
                name, _, value = v.split(";", 1)[0].partition("=")
                r.new_cookies[name] = value
                if value and not re.search(r"(?i)max-age=0\b", v):
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r

    def post_json(self, path, obj):
        r = self.request("POST", path, json.dumps(obj).encode(), "application/json", origin=True)
        try:
            r.obj = json.loads(r.data or b"null")
        except ValueError:
            r.obj = None
        return r

    def post_form(self, path, fields):
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), FORM)

    def token(self, path):
        r = self.request("GET", path)
        m = re.search(rb'name="csrf_token" value="([^"]+)"', r.data)
        if r.status != 200 or not m:
            raise RuntimeError("GET %s: %d, no csrf_token" % (path, r.status))
        return m.group(1).decode()

    def fresh(self):
        """A browser that has never signed in, except for its CSRF cookie."""
        self.cookies = {k: v for k, v in self.cookies.items() if k == CSRF}


def sources(n):
    return ["127.0.0.%d" % (10 + i) for i in range(n)]


# ---- setup: TOTP enrolment and one passkey per user, through the portal

def enrol_user(c, user):
    c.cookies = {}
    tok = c.token("/.ztgate/login")
    r = c.post_form("/.ztgate/login", {"username": user["email"], "password": user["password"],
                                      "csrf_token": tok})
    if r.status != 303 or not r.getheader("Location", "").startswith("/.ztgate/totp"):
        raise RuntimeError("%s: password sign-in: %d %s" % (user["email"], r.status,
                                                            r.getheader("Location")))
    r = c.request("GET", "/.ztgate/totp")
    page = r.data
    secret = re.search(rb'class="mono"><strong>([A-Z2-7 ]+)</strong>', page).group(1)
    user["secret"] = secret.decode().replace(" ", "")
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    sealed = re.search(rb'name="enrol" value="([^"]+)"', page).group(1).decode()
    step = free_step(user)
    r = c.post_form("/.ztgate/totp", {"csrf_token": tok, "enrol": sealed,
                                      "code": totp(user["secret"], step)})
    if r.status != 200 or SESSION not in c.cookies:
        raise RuntimeError("%s: TOTP enrolment: %d" % (user["email"], r.status))
    user["last_step"] = step
    pk = Passkey()
    r = c.post_json("/.ztgate/webauthn/register/options", {})
    if r.status != 200:
        raise RuntimeError("%s: register/options: %d %r" % (user["email"], r.status, r.data[:200]))
    r = c.post_json("/.ztgate/webauthn/register/verify", pk.create(r.obj, c.origin))
    if r.status != 200 or not (r.obj or {}).get("verified"):
        raise RuntimeError("%s: register/verify: %d %r" % (user["email"], r.status, r.data[:200]))
    user["passkey"] = pk.state()


def setup(port, host, users_tsv, state_path, nclients, nsources):
    users = []
    with open(users_tsv) as f:
        for line in f:
            email, password = line.rstrip("\n").split("\t")
            users.append({"email": email, "password": password})
    errors = []
    srcs = sources(nsources)

    def work(i):
        c = Client(port, host, srcs[i % len(srcs)])
        for u in users[i::nclients]:
            try:
                enrol_user(c, u)
            except Exception as e:  # reported below; the bench does not run without all users
                errors.append(str(e))
                return
    ts = [threading.Thread(target=work, args=(i,)) for i in range(nclients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print("setup failed: " + errors[0], file=sys.stderr)
        return 1
    with open(state_path, "w") as f:
        json.dump(users, f)
    print("setup: %d users, each with a TOTP authenticator and one ES256 passkey" % len(users))
    return 0


# ---- the two sign-ins

def passkey_sign_in(c, user):
    c.fresh()
    r = c.post_json("/.ztgate/webauthn/login/options", {})
    if r.status != 200 or not r.obj or r.obj.get("allowCredentials"):
        return "login/options %d" % r.status
    r = c.post_json("/.ztgate/webauthn/login/verify", user["pk"].get(r.obj, c.origin))
    if r.status != 200 or not (r.obj or {}).get("verified") or not r.new_cookies.get(SESSION):
        return "login/verify %d %s" % (r.status, (r.obj or {}).get("error", ""))
    return None


def totp_sign_in(c, user):
    c.fresh()
    r = c.post_form("/.ztgate/login", {"username": user["email"], "password": user["password"],
                                      "csrf_token": c.login_token})
    if r.status != 303 or not r.getheader("Location", "").startswith("/.ztgate/mfa"):
        return "login %d %s" % (r.status, r.getheader("Location", ""))
    if c.mfa_token is None:  # the token is per form and cookie: fetched once per client
        c.mfa_token = c.token("/.ztgate/mfa")
    step = free_step(user)  # chosen now: the password step may have waited for a hash
    if step is None:
        return "no unused TOTP step left for %s" % user["email"]
    r = c.post_form("/.ztgate/mfa", {"csrf_token": c.mfa_token, "code": totp(user["secret"], step)})
    user["last_step"] = step
    if r.status != 303 or not r.new_cookies.get(SESSION):
        return "mfa %d" % r.status
    return None


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def run_row(row, users, clients, seconds):
    """CLIENTS threads, each with its own share of the users (so one passkey's counter and one
    TOTP secret's steps are only ever used by one client, in order), for SECONDS."""
    stats = {"ok": 0, "errors": 0, "waited": 0.0, "first_error": None}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(c, mine):
        ok = err = 0
        waited = 0.0
        first = None
        i = 0
        while time.monotonic() < deadline:
            user = mine[i % len(mine)]
            i += 1
            try:
                if row == "passkey":
                    why = passkey_sign_in(c, user)
                else:
                    step = None
                    for _ in range(len(mine)):  # the next user with an unused step
                        step = free_step(user)
                        if step is not None:
                            break
                        user = mine[i % len(mine)]
                        i += 1
                    if step is None:  # every user of this client spent: wait for the next step
                        t = min(30 - time.time() % 30 + 0.05, deadline - time.monotonic())
                        if t > 0:
                            time.sleep(t)
                            waited += t
                        continue
                    why = totp_sign_in(c, user)
            except Exception as e:
                why = "%s: %s" % (type(e).__name__, e)
            if why is None:
                ok += 1
            else:
                err += 1
                first = first or why
        with lock:
            stats["ok"] += ok
            stats["errors"] += err
            stats["waited"] += waited
            stats["first_error"] = stats["first_error"] or first

    threads = [threading.Thread(target=work, args=(c, users[k::len(clients)]))
               for k, c in enumerate(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats["secs"] = time.monotonic() - start
    return stats


def measure(port, host, state_path, nclients, nsources, seconds, warmup, runs, gw_pid):
    with open(state_path) as f:
        users = json.load(f)
    for u in users:
        u["pk"] = Passkey(u["passkey"])
    if len(users) < nclients:
        print("measure: fewer users than clients", file=sys.stderr)
        return 2
    srcs = sources(nsources)
    clients = [Client(port, host, srcs[k % len(srcs)]) for k in range(nclients)]
    for c in clients:
        c.login_token = c.token("/.ztgate/login")  # sets this client's CSRF cookie
        c.mfa_token = None
    hz = os.sysconf("SC_CLK_TCK")
    rows = ["passkey", "totp"]
    for row in rows:
        s = run_row(row, users, clients, warmup)
        print("WARMUP row=%s ok=%d errors=%d first_error=%s" % (row, s["ok"], s["errors"],
                                                                 s["first_error"]), flush=True)
    for run in range(runs):
        for row in (rows if run % 2 == 0 else rows[::-1]):
            g0, d0 = cpu_ticks(gw_pid), resource.getrusage(resource.RUSAGE_SELF)
            s = run_row(row, users, clients, seconds)
            g1, d1 = cpu_ticks(gw_pid), resource.getrusage(resource.RUSAGE_SELF)
            drv = (d1.ru_utime + d1.ru_stime) - (d0.ru_utime + d0.ru_stime)
            print("RESULT row=%s run=%d ok=%d errors=%d secs=%.3f rate=%.2f gw_cpu=%.3f "
                  "driver_cpu=%.3f waited=%.1f first_error=%s" % (
                      row, run + 1, s["ok"], s["errors"], s["secs"], s["ok"] / s["secs"],
                      (g1 - g0) / hz, drv, s["waited"],
                      (s["first_error"] or "-").replace(" ", "_")), flush=True)
    return 0


def main(argv):
    if len(argv) == 8 and argv[1] == "setup":
        return setup(int(argv[2]), argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]))
    if len(argv) == 11 and argv[1] == "measure":
        return measure(int(argv[2]), argv[3], argv[4], int(argv[5]), int(argv[6]),
                       float(argv[7]), float(argv[8]), int(argv[9]), int(argv[10]))
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
