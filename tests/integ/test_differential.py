"""Differential test: enforcement equals explanation. Random Conditional Access policy sets and
random requests, each sent through the real gateway and asked of `ztgate whatif --json` with the
same attributes; the two decisions (and the deciding policy, the session restriction and the
platform) must agree. Every mismatch is printed with the policy set and the whatif command that
reproduces it.

What varies: users (real users made with the CLI, in different groups; one with a second
factor), apps of three sensitivities, browser vs API clients, User-Agent and client hints
(docs/POLICY.md's platform table), the source address (X-Forwarded-For from a trusted proxy:
named-location CIDRs, countries from a generated GeoIP database, a Tor exit on the anonymous
list, IPv6), time (the gateway's clock moved ahead by 0, 5 or 9 hours per policy set, so
sign-in frequencies expire and windows and days vary), and devices: one user's browser
presents an enrolled, compliant ChromeOS device's certificate (its posture platform beats any
User-Agent), another's a device failing posture, the rest none.

Seeded: ZT_DIFF_SEED=N reproduces a run (the seed is printed first); ZT_DIFF_ROUNDS and
ZT_DIFF_REQUESTS bound it (default 8 policy sets x 40 requests)."""
import datetime
import json
import os
import random
import shutil
import subprocess
import time

from harness import Skip, check, free_port, timeout
from portal_client import FORM, PASSWORD, add_user, complete_sign_in, enrol
from test_case1_device import DeviceBrowser
from test_device_server import POSTURE, _curl

SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

APPS = [("intranet", "/int", "internal"), ("records", "/rec", "confidential"),
        ("payroll", "/pay", "restricted")]
GROUPS = ["staff", "admins", "contractors"]
USERS = [("ana@example.test", ["staff"]), ("ben@example.test", ["staff", "admins"]),
         ("cat@example.test", ["contractors"]), ("dan@example.test", []),
         ("eve@example.test", ["staff"])]
MFA_USER = "ben@example.test"
RISKY_USER = "eve@example.test"  # an admin confirmed her compromised: user risk high
# Enrolled devices: user -> (os-release ID in its posture, compliant?, the whatif platform,
# the device risk after its EDR alerts)
DEVICES = {"ana@example.test": ("chromeos", True, "chromeos", "none"),
           "cat@example.test": ("debian", False, "linux", "high")}

# (source address, country in the GeoIP database or None, on the anonymous list)
SOURCES = [("10.1.4.7", None, False), ("10.2.9.1", None, False), ("203.0.113.20", "JP", False),
           ("198.51.100.9", "US", False), ("192.0.2.55", None, False),
           ("185.220.101.4", "DE", True), ("2001:db8::7", None, False),
           ("127.0.0.1", None, False)]
GEO = {"203.0.113.0/24": "JP", "198.51.100.0/24": "US", "185.220.101.0/24": "DE"}
TOR_EXIT = "185.220.101.4"

CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
# (User-Agent or None, Sec-CH-UA-Platform or None, Sec-CH-UA-Mobile or None, the platform
# docs/POLICY.md says ztgate reads from them)
CLIENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + CHROME, '"Windows"', "?0", "windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + CHROME + " Edg/131.0.0.0", None, None,
     "windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " + SAFARI, None, None, "macos"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.1 Mobile/15E148 Safari/604.1", None, None, "ios"),
    ("Mozilla/5.0 (Linux; Android 10; K) " + CHROME.replace("Safari", "Mobile Safari"),
     '"Android"', "?1", "android"),
    ("Mozilla/5.0 (X11; Linux x86_64) " + CHROME, '"Android"', "?0", "android"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) " + CHROME, '"Chrome OS"', "?0", "chromeos"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", None,
     None, "linux"),
    ("curl/8.5.0", None, None, "unknown"),
    (None, None, None, "unknown"),
]
PLATFORMS = ["unknown", "windows", "macos", "linux", "ios", "android", "chromeos"]


# ---- the gateway -----------------------------------------------------------------------------

def _mmdb(h):
    """A City database for GEO, or None when perl's MaxMind writer is missing (countries are
    then unknown everywhere, and the test says so)."""
    if shutil.which("perl") is None:
        return None
    desc = {"layout": "city", "networks": {net: {"country": cc} for net, cc in GEO.items()}}
    src, out = h.path("city.json"), h.path("city.mmdb")
    with open(src, "w") as f:
        json.dump(desc, f)
    r = subprocess.run(["perl", os.path.join(SRC_DIR, "tests", "tools", "make_mmdb.pl"), src, out],
                       capture_output=True, text=True, timeout=60)
    return out if r.returncode == 0 else None


def _base_config(h, up, mmdb):
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "ExitAddress %s 2026-11-01 12:07:50\n" % TOR_EXIT)
    apps = [h.app(up, name=n, path_prefix=p, sensitivity=s) for n, p, s in APPS]
    risk = {"anonymous_ips": [{"path": tor}]}
    if mmdb:
        risk["geoip_city"] = mmdb
    cfg = h.config(apps, gateway={"trusted_proxies": ["127.0.0.1/32"]}, extra={
        "devices": {"require_disk_encryption": True},
        "auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
                 "session_idle_timeout": "24h", "session_lifetime": "24h"},
        "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
        "risk": risk,
        "locations": [
            {"name": "office", "cidrs": ["10.1.0.0/16"], "trusted": True},
            {"name": "branch", "cidrs": ["10.2.0.0/16", "2001:db8::/32"]},
            {"name": "japan", "countries": ["JP"]},
            {"name": "abroad", "countries": ["US", "DE"]},
        ],
    })
    return cfg


def _start(h, cfg, name, offset=0):
    """A gateway whose clock runs `offset` seconds ahead (ZTGATE_TEST_CLOCK_OFFSET_S)."""
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(offset)
    try:
        return _start_now(h, cfg, name)
    finally:
        if old is None:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old


def _start_now(h, cfg, name):
    tls_dir = h.path("state/tls")
    cfg["gateway"]["listen"] = [{"address": "127.0.0.1:%d" % free_port(),
                                 "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                                         "key": os.path.join(tls_dir, "key.pem"),
                                         "self_signed": True}}]
    return h.gateway(cfg, name=name)


def _enrol_device(h, gw, email, os_id, compliant, risk):
    """An enrolled device for email (an admin's code, the agent's CSR) that reported a posture
    with os_id, passing the disk-encryption rule or not, and a malware alert when risk is high:
    (cert, key) paths."""
    r = h.cli("device", "enroll-code", "--user", email, "--json", "--config", gw.config_path)
    check(r.returncode == 0, "enroll-code: " + r.stderr)
    key, csr, cert = (h.path("%s.%s" % (email, x)) for x in ("key", "csr", "pem"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=laptop"], check=True, capture_output=True)
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port
    body = {"code": json.loads(r.stdout)["code"], "csr": open(csr).read(), "hostname": "laptop",
            "platform": "linux"}
    rc, status, out = _curl(base + "enroll", body)
    check(status == 201, "device enrolment: %r" % (out,))
    with open(cert, "w") as f:
        f.write(out["certificate"])
    posture = dict(POSTURE, os=dict(POSTURE["os"], id=os_id),
                   disk_encryption={"root": "luks" if compliant else "none"})
    rc, status, out = _curl(base + "posture", posture, cert, key)
    check(status == 200 and out.get("compliant") == compliant, "posture: %r" % (out,))
    if risk == "high":
        alert = {"event": "detected", "path": "/home/cat/Downloads/x.com", "sha256": "ab" * 32,
                 "signature": "Eicar-Test-Signature", "detected_at": "2026-11-23T10:05:00Z"}
        rc, status, out = _curl(base + "alert", alert, cert, key)
        check(status == 200 and out.get("risk") == "high", "alert: %r" % (out,))
    return cert, key


# ---- random policy sets ----------------------------------------------------------------------

def _some(rng, words, most=3):
    return rng.sample(words, rng.randint(1, min(most, len(words))))


def _time_condition(rng, now):
    """A window that contains now or misses it, on days that do or do not include today (UTC)."""
    cond = {}
    minute = now.hour * 60 + now.minute
    if rng.random() < 0.7:
        start = (minute + rng.choice([-120, -30, 20, 90, 600])) % 1440
        length = rng.choice([60, 180, 900])
        cond["from"] = "%02d:%02d" % divmod(start, 60)
        cond["to"] = "%02d:%02d" % divmod((start + length) % 1440, 60)
    if rng.random() < 0.5 or not cond:
        days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        cond["days"] = _some(rng, days, 4)
    cond["timezone"] = "UTC"
    return cond


def _conditions(rng, now):
    c = {}
    if rng.random() < 0.4:
        c["device"] = {"platforms": _some(rng, PLATFORMS)}
    if rng.random() < 0.2:
        loc = {"include": _some(rng, ["office", "branch", "japan", "abroad", "trusted", "all"], 2)}
        if rng.random() < 0.3:
            loc["exclude"] = _some(rng, ["office", "trusted", "japan"], 1)
        c["locations"] = loc
    if rng.random() < 0.1:
        c["anonymous_ip"] = rng.random() < 0.5
    if rng.random() < 0.1:
        c["sign_in_risk"] = _some(rng, ["none", "low", "medium", "high"], 2)
    if rng.random() < 0.05:
        c["user_risk"] = _some(rng, ["none", "high"], 1)
    if rng.random() < 0.1:
        c["client_types"] = _some(rng, ["browser", "api"], 1)
    if rng.random() < 0.05:
        c["device"] = dict(c.get("device", {}), enrolled=rng.random() < 0.5)
    if rng.random() < 0.1:
        c["device"] = dict(c.get("device", {}), compliant=rng.random() < 0.5)
    if rng.random() < 0.1:
        c["device"] = dict(c.get("device", {}), risk=_some(rng, ["none", "medium", "high"], 2))
    if rng.random() < 0.1:
        c["time"] = _time_condition(rng, now)
    return c


def _grant_and_session(rng, state):
    g, s = {}, {}
    roll = rng.random()
    if roll < 0.35:
        g["block"] = True
    elif roll < 0.85:
        # Passkeys are on (the default), so check-config accepts phishing_resistant_mfa in
        # any state; the test's sessions are password ones, which never meet it.
        controls = ["mfa", "compliant_device", "password_change", "phishing_resistant_mfa"]
        g["controls"] = _some(rng, controls, 2)
        if len(g["controls"]) > 1 and rng.random() < 0.5:
            g["operator"] = "OR"
        if rng.random() < 0.15:
            # An authentication strength (a passkey model list): these password sessions
            # prove no passkey (whatif: no --passkey-aaguid), so it is unmet like
            # phishing_resistant_mfa, which it implies.
            g["authentication_strength"] = {"aaguids": ["ee882879-721c-4913-9775-3dfcce97072a"]}
    if not g or rng.random() < 0.2:
        s["restrict"] = _some(rng, ["read_only", "no_download"], 2)
    if rng.random() < 0.15:
        s["sign_in_frequency"] = rng.choice(["4h", "8h", "1d"])
    return g, s


def _policy(rng, i, now):
    state = rng.choice(["on", "on", "on", "report_only", "off"])
    users = {"include": _some(rng, ["all", "all"] + ["group:" + g for g in GROUPS] +
                              [u for u, _ in USERS[:2]], 2)}
    if rng.random() < 0.25:
        users["exclude"] = _some(rng, ["group:admins", "group:contractors", USERS[0][0]], 1)
    apps = {"include": _some(rng, ["all", "all"] + [n for n, _, _ in APPS] +
                             ["sensitivity:" + s for _, _, s in APPS], 2)}
    if rng.random() < 0.2:
        apps["exclude"] = _some(rng, [n for n, _, _ in APPS], 1)
    p = {"name": "p%d" % i, "state": state, "users": users, "apps": apps}
    cond = _conditions(rng, now)
    if cond:
        p["conditions"] = cond
    g, s = _grant_and_session(rng, state)
    if g:
        p["grant"] = g
    if s:
        p["session"] = s
    return p


# ---- one request, both ways ------------------------------------------------------------------

def _flat(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _audit_record(h, path):
    """The audit record of the request for `path` (each request has its own path)."""
    needle = '"%s"' % path
    with open(os.path.join(h.dir, "state", "audit", "audit.log")) as f:
        for line in f:
            if needle in line and '"http_request"' in line:
                return _flat(json.loads(line))
    return None


def _gateway_verdict(r, rec):
    """allow | block | mfa | reauth | compliant_device | password_change |
    phishing_resistant_mfa, from the response and its audit record."""
    if r.status == 200:
        return "allow"
    reasons = (rec or {}).get("reasons", "")
    if r.status == 302:
        loc = r.header("Location", "")
        return "reauth" if "prompt=login" in loc else "mfa" if "/.ztgate/mfa" in loc else loc
    if r.status == 401:
        body = r.json()
        return "reauth" if body.get("required") == "sign_in" else body.get("required")
    if r.status == 403 and (rec or {}).get("decision") == "block":
        return "block"
    if r.status == 403 and " requires " in reasons:
        return reasons.rsplit(" requires ", 1)[1]
    return "status %d (%s)" % (r.status, reasons)


def _whatif_args(gw, email, app, src, client, api, mfa, at, auth_age):
    ip, country, anonymous = src
    device = DEVICES.get(email)
    args = ["whatif", "--config", gw.config_path, "--user", email, "--app", app, "--ip", ip,
            "--platform", device[2] if device else client[3],
            "--client", "api" if api else "browser",
            "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"), "--auth-age", "%ds" % auth_age, "--json"]
    if country and gw.has_geo:
        args += ["--country", country]
    if anonymous:  # the anonymous list raises the sign-in risk to medium (docs/RISK.md)
        args += ["--anonymous-ip", "--sign-in-risk", "medium"]
    if device:
        args += ["--device-compliant" if device[1] else "--device-noncompliant",
                 "--device-risk", device[3]]
    if mfa:
        args.append("--mfa")
    if email == RISKY_USER:  # open user risk: a secure password change is owed (docs/POLICY.md)
        args += ["--user-risk", "high", "--password-change-required"]
    return args


def _whatif(h, args):
    r = h.cli(*args)
    check(r.returncode == 0, "whatif failed: %s\n%s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout)


def _send(b, path, client, src, api, method):
    headers = [("X-Forwarded-For", src[0]),
               ("Accept", "application/json" if api else "text/html")]
    for name, value in zip(("User-Agent", "Sec-CH-UA-Platform", "Sec-CH-UA-Mobile"), client[:3]):
        if value is not None:
            headers.append((name, value))
    if method == "POST":  # a form post: an `api` client whatever it accepts (docs/POLICY.md)
        return b.post(path, {"x": "1"}, headers=[FORM] + headers)
    return b.get(path, headers=headers)


def _compare(h, gw, r, path, want, method):
    """Differences between the gateway's answer and whatif's, as a list of words."""
    rec = _audit_record(h, path)
    got = _gateway_verdict(r, rec)
    diffs = []
    read_only = "read_only" in want["session"]["restrict"]
    if method == "POST" and want["verdict"] == "allow" and read_only:
        # allowed, but a read-only session refuses the unsafe method itself
        reasons = (rec or {}).get("reasons", "")
        if got != "block" or not reasons.startswith("restrict read_only"):
            diffs.append("read-only session: gateway %s (%r), want the POST refused"
                         % (got, reasons))
        return diffs
    if got != want["verdict"]:
        diffs.append("gateway %s, whatif %s" % (got, want["verdict"]))
    if rec is None:
        return diffs + ["no audit record for %s" % path]
    if got == want["verdict"] and got not in ("allow", "reauth"):
        said = ("blocked by policy %s" if got == "block" else "policy %s requires " + got)
        if said % want["policy"] != rec.get("reasons"):
            diffs.append("audit says %r, whatif names %s" % (rec.get("reasons"), want["policy"]))
    if got == "allow":
        hdrs = {n.lower(): v for n, v in r.json()["headers"]}
        restrict = sorted(x.strip() for x in hdrs.get("x-zt-restrict", "").split(",") if x)
        if restrict != sorted(want["session"]["restrict"]):
            diffs.append("restrict gateway %s, whatif %s" % (restrict, want["session"]["restrict"]))
    return diffs


@timeout(600)
def test_gateway_and_whatif_agree_on_random_policies(h):
    seed = int(os.environ.get("ZT_DIFF_SEED", random.SystemRandom().randrange(1 << 30)))
    rounds = int(os.environ.get("ZT_DIFF_ROUNDS", "8"))
    per_round = int(os.environ.get("ZT_DIFF_REQUESTS", "40"))
    print("differential: seed %d (ZT_DIFF_SEED=%d reproduces), %d rounds x %d requests"
          % (seed, seed, rounds, per_round), flush=True)
    rng = random.Random(seed)
    up = h.upstream()
    mmdb = _mmdb(h)
    if mmdb is None:
        print("differential: no GeoIP writer (libmaxmind-db-writer-perl): countries unknown")
    cfg = _base_config(h, up, mmdb)
    cfg["policies"] = []
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl (device enrolment)")
    gw = _start(h, cfg, "ztgate-users")
    browsers, signed_at = {}, {}
    for email, groups in USERS:
        add_user(h, gw, email, PASSWORD, groups)
        cert = (_enrol_device(h, gw, email, DEVICES[email][0], DEVICES[email][1],
                              DEVICES[email][3]) if email in DEVICES else None)
        browsers[email] = DeviceBrowser(gw.tls_port, cert)
        browsers[email].secret = None
        complete_sign_in(browsers[email], email, PASSWORD)
        signed_at[email] = time.time()
        if email == MFA_USER:
            enrol(browsers[email])  # a second factor on this session
    r = h.cli("risk", "confirm-compromised", RISKY_USER, "--config", gw.config_path)
    check(r.returncode == 0, "confirm-compromised: " + r.stdout + r.stderr)
    # That ended her sessions; she signs in again (the portal may ask for a second factor).
    risky = browsers[RISKY_USER]
    risky.cookies, risky.secret = {}, None
    complete_sign_in(risky, RISKY_USER, PASSWORD)
    signed_at[RISKY_USER] = time.time()
    mfa_users = {MFA_USER} | ({RISKY_USER} if risky.secret else set())
    print("differential: after confirm-compromised %s signed in again%s"
          % (RISKY_USER, " with a second factor" if risky.secret else ""))
    gw.proc.stop()

    mismatches, compared, boundary, verdicts = [], 0, 0, {}
    for rnd in range(rounds):
        offset = datetime.timedelta(hours=rng.choice([0, 0, 5, 9]))
        now = datetime.datetime.now(datetime.timezone.utc) + offset
        cfg["policies"] = [_policy(rng, i, now) for i in range(rng.randint(2, 6))]
        gw = _start(h, cfg, "ztgate-r%d" % rnd, int(offset.total_seconds()))
        gw.has_geo = mmdb is not None
        for b in browsers.values():
            b.port = gw.tls_port
        for n in range(per_round):
            email = rng.choice([u for u, _ in USERS])
            app, prefix, _ = rng.choice(APPS)
            src, client, api = rng.choice(SOURCES), rng.choice(CLIENTS), rng.random() < 0.2
            method = "POST" if rng.random() < 0.1 else "GET"
            path = "%s/r%d-q%d" % (prefix, rnd, n)
            before = datetime.datetime.now(datetime.timezone.utc) + offset
            r = _send(browsers[email], path, client, src, api, method)
            after = datetime.datetime.now(datetime.timezone.utc) + offset
            api = api or method == "POST"
            args = [_whatif_args(gw, email, app, src, client, api, email in mfa_users, t,
                                 int(t.timestamp() - signed_at[email])) for t in (before, after)]
            want = _whatif(h, args[0])
            if any("time" in p.get("conditions", {}) for p in cfg["policies"]) and \
                    _whatif(h, args[1])["verdict"] != want["verdict"]:
                boundary += 1  # a time window opened or closed during the request
                continue
            compared += 1
            verdicts[want["verdict"]] = verdicts.get(want["verdict"], 0) + 1
            diffs = _compare(h, gw, r, path, want, method)
            if diffs:
                mismatches.append((rnd, path, email, src, client,
                                   "%s %s" % (method, "api" if api else "browser"), diffs,
                                   args[0]))
        rec_policies = json.dumps(cfg["policies"], sort_keys=True)
        for m in [m for m in mismatches if m[0] == rnd][:10]:
            rnd_, path, email, src, client, how, diffs, args = m
            print("MISMATCH seed %d round %d %s: %s\n  user %s from %s, UA %r, hint %r, %s\n"
                  "  policies: %s\n  repro (ZT_INTEG_KEEP=1 keeps the config): ztgate %s"
                  % (seed, rnd_, path, "; ".join(diffs), email, src[0], client[0], client[1],
                     how, rec_policies, " ".join(args)), flush=True)
        gw.proc.stop()
    print("differential: %d compared (%s), %d at a time-window boundary, %d mismatches"
          % (compared, ", ".join("%s %d" % kv for kv in sorted(verdicts.items())), boundary,
             len(mismatches)), flush=True)
    check(compared >= rounds * per_round // 2, "too few comparisons: %d" % compared)
    check(not mismatches, "%d of %d decisions differ between the gateway and whatif (seed %d)"
          % (len(mismatches), compared, seed))
