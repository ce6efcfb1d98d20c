"""Identity Protection in the sign-in path, end to end on the real daemon (Core 4 items 3-4, 7).

Places are loopback aliases put on the map by a City mmdb generated at test time with
tests/tools/make_mmdb.pl (127.0.0.10 Tokyo, 127.0.0.20 Sao Paulo); clients bind their socket
to the alias before connecting. "Ten minutes later" is a restarted gateway on the same state
with ZTGATE_TEST_CLOCK_OFFSET_S.

1. Stolen password: the owner signs in from Tokyo, the attacker with the right password from Sao
   Paulo ten minutes later -> impossible travel -> MFA demanded -> a wrong code -> no session.
   An admin confirms the owner compromised (admin API) -> the owner's sessions die; the owner
   signs in, passes MFA, sees the risk notice, changes the password -> every detection
   remediated -> the account page is clean.
2. Tor: a sign-in from an exit on the anonymous list -> anonymous_ip -> MFA demanded, and MFA
   remediates it; a user without a second factor is refused from there, not from home.

Needs perl with Debian's libmaxmind-db-writer-perl for the mmdb; skipped without it."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

from admin_auth import personal_token
from harness import (APP_HOST, Conn, SockReader, Skip, build_request, check, eq, free_port,
                     port_open, read_response, timeout, wait_until)
from portal_client import FORM, Browser, _fresh_step, add_user, enrol, session_cookie, totp

OWNER = "owner@example.test"
OWNER_PASSWORD = "the owner's long passphrase 1"
NEW_PASSWORD = "a brand new owner passphrase 2"
TOKYO, SAO_PAULO, TOR_EXIT = "127.0.0.10", "127.0.0.20", "127.0.0.30"
TEN_MINUTES = 600
SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- clients from a given source address -----------------------------------------------------

def _src_get(port, path, host, headers, method, body, src):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    try:
        raw.sendall(build_request(method, path, host, headers, body))
        raw.settimeout(10)
        r = read_response(SockReader(raw), method)
        check(r is not None, "no response to %s %s from %s" % (method, path, src))
        return r
    finally:
        raw.close()


class SrcBrowser(Browser):
    """A Browser whose every connection comes from `src` (a loopback alias)."""

    def __init__(self, port, src, host=APP_HOST):
        super().__init__(port, host=host)
        self.src = src

    def get(self, path, headers=()):
        return self._keep(_src_get(self.port, path, self.host, self._headers(headers), "GET",
                                   None, self.src))

    def post(self, path, fields, headers=(FORM,), raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
        return self._keep(_src_get(self.port, path, self.host, self._headers(headers), "POST",
                                   body, self.src))


def _sign_in(b, email, password):
    tok, _ = b.csrf("/.ztgate/login")
    return b.post("/.ztgate/login", {"username": email, "password": password,
                                     "csrf_token": tok})


def _mfa(b, code):
    tok, _ = b.csrf("/.ztgate/mfa")
    return b.post("/.ztgate/mfa", {"csrf_token": tok, "code": code})


# ---- the gateway -----------------------------------------------------------------------------

def _mmdb(h):
    if shutil.which("perl") is None:
        raise Skip("perl is missing (tests/tools/make_mmdb.pl)")
    desc = {"layout": "city", "networks": {
        TOKYO + "/32": {"country": "JP", "city": "Tokyo", "latitude": 35.68,
                        "longitude": 139.69, "accuracy_radius": 20},
        SAO_PAULO + "/32": {"country": "BR", "city": "Sao Paulo", "latitude": -23.55,
                            "longitude": -46.63, "accuracy_radius": 50},
        TOR_EXIT + "/32": {"country": "US"}}}
    src, out = h.path("city.json"), h.path("city.mmdb")
    with open(src, "w") as f:
        json.dump(desc, f)
    r = subprocess.run(["perl", os.path.join(SRC_DIR, "tests", "tools", "make_mmdb.pl"), src, out],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 and "MaxMind" in r.stderr:
        raise Skip("perl lacks MaxMind::DB::Writer (libmaxmind-db-writer-perl)")
    eq(r.returncode, 0, "make_mmdb.pl: " + r.stderr)
    return out


def _config(h):
    up = h.upstream()
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "Published 2026-11-01 11:37:27\n"
                "LastStatus 2026-11-01 12:00:00\n"
                "ExitAddress %s 2026-11-01 12:07:50\n" % TOR_EXIT)
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    cfg = h.config([h.app(up, sensitivity="internal")], extra={
        "auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2},
        "audit": {"path": audit},
        "admin": {"listen": "127.0.0.1:%d" % admin_port},
        "risk": {"geoip_city": _mmdb(h), "anonymous_ips": [{"path": tor}]},
    })
    return cfg, admin_port, audit


def _start(h, cfg, admin_port, offset=0, name="ztgate"):
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    if offset:
        os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(offset)
    try:
        gw = h.gateway(cfg, name=name)
    finally:
        if old is None:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old
    if offset and "test clock offset" not in gw.stderr_text():
        raise Skip("this ztgate build ignores ZTGATE_TEST_CLOCK_OFFSET_S")
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    return gw


def _admin(h, admin_port, method, path, body=None):
    token = personal_token(admin_port, os.path.join(h.dir, "state"))
    headers = [("Authorization", "Bearer " + token)]
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    c = Conn(admin_port)
    try:
        r = c.request(method, path, host="127.0.0.1:%d" % admin_port, headers=headers, body=data)
    finally:
        c.close()
    check(r is not None, "no answer to %s %s" % (method, path))
    return r


def _risk_list(h, gw, email):
    r = h.cli("risk", "list", "--user", email, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "ztgate risk list: " + r.stderr)
    return json.loads(r.stdout)


def _findings(audit, type_name=None):
    out = []
    if not os.path.exists(audit):
        return out
    with open(audit, errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("class_uid") != 2004:
                continue
            types = rec.get("finding_info", {}).get("types", [])
            if type_name is None or type_name in types:
                out.append(rec)
    return out


def _account(b):
    r = b.get("/.ztgate/")
    eq(r.status, 200, "account page")
    return r.body


def _enrolled_owner(h, gw):
    """The owner signs in from Tokyo (no second factor yet: MFA is optional), then sets up TOTP
    from the account page."""
    add_user(h, gw, OWNER, OWNER_PASSWORD)
    b = SrcBrowser(gw.port, TOKYO)
    r = _sign_in(b, OWNER, OWNER_PASSWORD)
    eq((r.status, r.header("Location")), (303, "/.ztgate/"), "owner's first sign-in")
    secret, codes, _ = enrol(b)
    return b, secret, codes


# ---- 1. stolen password ----------------------------------------------------------------------

@timeout(60)
def test_stolen_password_impossible_travel_then_remediation(h):
    cfg, admin_port, audit = _config(h)
    gw = _start(h, cfg, admin_port)
    owner, secret, _ = _enrolled_owner(h, gw)
    check(OWNER.encode() in _account(owner), "the owner is signed in")
    eq(_findings(audit), [], "no finding for the owner's own sign-in")
    gw.proc.stop()

    # Ten minutes later, from the other side of the world, with the right password.
    gw = _start(h, cfg, admin_port, offset=TEN_MINUTES, name="ztgate-10m")
    attacker = SrcBrowser(gw.port, SAO_PAULO)
    r = _sign_in(attacker, OWNER, OWNER_PASSWORD)
    eq(r.status, 303, "attacker: password accepted")
    check(r.header("Location", "").startswith("/.ztgate/mfa"),
          "attacker: MFA demanded (%r)" % r.header("Location"))
    travel = _findings(audit, "impossible_travel")
    eq(len(travel), 1, "one impossible_travel finding in the audit log")
    eq(travel[0]["user"]["email_addr"], OWNER, "finding names the user")
    eq(travel[0]["src_endpoint"]["ip"], SAO_PAULO, "finding names the source")
    eq(travel[0]["risk_level"], "Medium", "impossible travel is medium")
    ev = json.loads(travel[0]["finding_info"]["desc"])
    eq((ev["from"], ev["to"]), ("JP", "BR"), "evidence: from Tokyo to Sao Paulo")
    dets = _risk_list(h, gw, OWNER)
    eq([(d["type"], d["state"]) for d in dets], [("impossible_travel", "at_risk")],
       "the detection is stored at risk")

    # A wrong code: still no session that can do anything.
    good = totp(secret, at=time.time() + TEN_MINUTES)
    wrong = "%06d" % ((int(good) + 1) % 1000000)
    r = _mfa(attacker, wrong)
    eq(r.status, 200, "wrong code refused")
    r = attacker.get("/.ztgate/")
    eq((r.status, r.header("Location")), (303, "/.ztgate/mfa"), "attacker's session is pending")
    r = attacker.get("/")
    check(r.status in (302, 303, 401), "attacker does not reach the app (%d)" % r.status)
    eq(_risk_list(h, gw, OWNER)[0]["state"], "at_risk", "a failed MFA remediates nothing")

    # The admin confirms the owner compromised: the owner's sessions die with it.
    eq(_account(owner).count(OWNER.encode()) > 0, True, "owner still signed in before")
    r = _admin(h, admin_port, "POST", "/api/v1/users/%s/confirm-compromised" % OWNER)
    eq(r.status, 200, "confirm-compromised: %r" % r.body)
    ans = r.json()
    eq(ans["user_risk"], "high", "user risk after confirmation")
    check(ans["sessions_revoked"] >= 1, "sessions revoked: %r" % ans)
    check(OWNER.encode() not in _account(owner), "the owner's session died")
    r = _admin(h, admin_port, "GET", "/api/v1/risk?user=%s" % urllib.parse.quote(OWNER))
    eq(r.status, 200, "risk list over the API")
    states = sorted((d["type"], d["state"]) for d in r.json()["detections"])
    eq(states, [("admin_confirmed_compromised", "confirmed_compromised"),
                ("impossible_travel", "confirmed_compromised")], "states after confirmation")

    # The owner signs in again (still allowed: the fix needs a session), passes MFA, sees the
    # notice and changes the password.
    owner = SrcBrowser(gw.port, TOKYO)
    r = _sign_in(owner, OWNER, OWNER_PASSWORD)
    check(r.status == 303 and r.header("Location", "").startswith("/.ztgate/mfa"),
          "owner: MFA asked (%d %r)" % (r.status, r.header("Location")))
    r = _mfa(owner, totp(secret, at=time.time() + TEN_MINUTES))
    eq(r.status, 303, "owner's code accepted")
    page = _account(owner)
    check(b"Your account is at risk" in page and b'href="/.ztgate/password"' in page,
          "the account page asks for a password change")
    tok, _ = owner.csrf("/.ztgate/password")
    r = owner.post("/.ztgate/password", {"csrf_token": tok, "current_password": OWNER_PASSWORD,
                                         "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    eq(r.status, 200, "password changed")
    check(b"Password changed" in r.body, "password changed page")
    dets = _risk_list(h, gw, OWNER)
    eq(sorted((d["type"], d["state"]) for d in dets),
       [("admin_confirmed_compromised", "remediated"), ("impossible_travel", "remediated")],
       "every detection remediated by the secure password change")
    r = h.cli("risk", "list", "--config", gw.config_path)
    check("remediated" in r.stdout, "ztgate risk list shows remediated: " + r.stdout)
    page = _account(owner)
    check(OWNER.encode() in page and b"Your account is at risk" not in page,
          "signed in, no risk notice any more")
    eq(owner.get("/").status, 200, "the owner reaches the app")
    check(_findings(audit, None) and any(f.get("finding_info", {}).get("title") ==
                                         "risk.remediated" for f in _findings(audit)),
          "the remediation is audited")


@timeout(60)
def test_password_change_needs_a_fresh_second_factor(h):
    cfg, admin_port, _ = _config(h)
    gw = _start(h, cfg, admin_port)
    owner, secret, _ = _enrolled_owner(h, gw)
    eq(owner.get("/.ztgate/password").status, 200, "right after enrolment: allowed")
    gw.proc.stop()
    gw = _start(h, cfg, admin_port, offset=11 * 60, name="ztgate-11m")
    owner.port = gw.port
    r = owner.get("/.ztgate/password")
    eq((r.status, r.header("Location")), (303, "/.ztgate/mfa?rd=%2F.ztgate%2Fpassword"),
       "11 minutes after MFA: a second factor first")
    r = _mfa(owner, totp(secret, at=time.time() + 11 * 60))
    eq(r.status, 303, "code accepted")
    eq(owner.get("/.ztgate/password").status, 200, "after a fresh MFA: allowed")


# ---- 2. Tor ----------------------------------------------------------------------------------

@timeout(60)
def test_tor_exit_sign_in_demands_mfa_or_is_refused(h):
    cfg, admin_port, audit = _config(h)
    gw = _start(h, cfg, admin_port)
    owner, secret, _ = _enrolled_owner(h, gw)

    b = SrcBrowser(gw.port, TOR_EXIT)
    r = _sign_in(b, OWNER, OWNER_PASSWORD)
    check(r.status == 303 and r.header("Location", "").startswith("/.ztgate/mfa"),
          "from a Tor exit: MFA demanded (%d %r)" % (r.status, r.header("Location")))
    anon = _findings(audit, "anonymous_ip")
    eq(len(anon), 1, "one anonymous_ip finding")
    eq(anon[0]["src_endpoint"]["ip"], TOR_EXIT, "finding source")
    check("anonymizedIPAddress" in anon[0]["finding_info"]["types"], "Entra alias in the finding")
    eq([(d["type"], d["state"]) for d in _risk_list(h, gw, OWNER)],
       [("anonymous_ip", "at_risk")], "stored at risk")
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP step")
    r = _mfa(b, totp(secret, at=step * 30))
    eq(r.status, 303, "second factor accepted")
    eq([(d["type"], d["state"], d["detail"]) for d in _risk_list(h, gw, OWNER)],
       [("anonymous_ip", "remediated", "userPassedMFADrivenByRiskBasedPolicy")],
       "MFA remediated the sign-in risk")

    # No second factor to ask: refused from the exit, signed in from home.
    carol = "carol@example.test"
    add_user(h, gw, carol, "carol's long passphrase 3")
    c = SrcBrowser(gw.port, TOR_EXIT)
    r = _sign_in(c, carol, "carol's long passphrase 3")
    eq(r.status, 403, "no TOTP, risky sign-in: refused")
    check(b"Contact your administrator" in r.body, "the page says whom to ask")
    check(not session_cookie(c), "no session")
    eq(len(_findings(audit, "anonymous_ip")), 2, "the refused sign-in's detection is audited")
    c = SrcBrowser(gw.port, "127.0.0.1")
    r = _sign_in(c, carol, "carol's long passphrase 3")
    eq((r.status, r.header("Location")), (303, "/.ztgate/"), "from home: signed in")
