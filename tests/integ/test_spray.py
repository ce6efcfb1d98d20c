"""Password spray with a real attack tool (Core 4 item 7): hydra's http-post-form module tries ONE
common password against 50 accounts (`-L users.txt -p PASSWORD`) from 127.0.0.2. Three of the
accounts really use that password and have no second factor.

Expected: the source is flagged for password spray and as malicious by ztgate's own reputation
(Detection Findings in the audit log); the sprayed accounts whose password is right get a
password_spray user detection and are refused (no second factor to ask), so hydra finds 0
valid pairs and the audit log holds no successful sign-in from 127.0.0.2; a legitimate user
signing in from 127.0.0.1 meanwhile is unaffected.

The per-source throttle is raised for this test so every attempt reaches the password check
(with the default, the throttle alone would stop the spray after 30 failures and hide what the
detections do). Needs hydra (Debian package hydra) and a C compiler for
tests/integ/tools/bindsrc.c; skipped without them."""
import json
import os
import re
import shutil
import subprocess

from harness import HERE, Proc, Skip, check, eq, timeout
from portal_client import Browser, add_user, csrf_from, session_cookie

ATTACKER_IP = "127.0.0.2"
SPRAYED = "Welcome-Spring-2026!"
N_ACCOUNTS = 50
WEAK = (45, 47, 49)  # accounts (0-based) whose password is the sprayed one
LEGIT = "legit@example.test"
LEGIT_PASSWORD = "a legitimate user's passphrase 9"


def _audit(path):
    out = []
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def _bindsrc(h):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise Skip("no C compiler for tests/integ/tools/bindsrc.c")
    so = h.path("bindsrc.so")
    r = subprocess.run([cc, "-shared", "-fPIC", "-o", so,
                        os.path.join(HERE, "tools", "bindsrc.c"), "-ldl"],
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "compiling bindsrc.so (%s)" % r.stderr.strip())
    return so


def _sign_in(b, email, password):
    tok, _ = b.csrf("/.ztgate/login")
    return b.post("/.ztgate/login", {"username": email, "password": password,
                                     "csrf_token": tok})


@timeout(60)
def test_password_spray_with_hydra(h):
    hydra = shutil.which("hydra")
    if hydra is None:
        raise Skip("hydra is not installed (Debian package hydra)")
    if shutil.which("timeout") is None:
        raise Skip("timeout (coreutils) is missing")
    so = _bindsrc(h)

    audit_path = os.path.join(h.dir, "state", "audit", "audit.log")
    up = h.upstream()
    auth = {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
            "source_failures_per_minute": 10000}
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": auth, "audit": {"path": audit_path}}))
    users = ["user%02d@example.test" % i for i in range(N_ACCOUNTS)]
    weak = [users[i] for i in WEAK]
    for i, u in enumerate(users):
        add_user(h, gw, u, SPRAYED if i in WEAK else "the own passphrase of user %02d!" % i)
    add_user(h, gw, LEGIT, LEGIT_PASSWORD)
    users_file = h.path("users.txt")
    with open(users_file, "w") as f:
        f.write("".join(u + "\n" for u in users))

    # One CSRF cookie + token pair, as any visitor of the login page gets.
    # (fetched from the attacker's address: on plain HTTP the CSRF cookie is bound to it)
    acookie, atok = csrf_from(gw.port, ATTACKER_IP)
    found_file = h.path("hydra-found.txt")
    form = ("/.ztgate/login:username=^USER^&password=^PASS^&csrf_token=%s"
            ":H=Cookie\\: ztgate_csrf=%s:H=Host\\: app.test:S=ztgate_session=" % (atok, acookie))
    argv = ["env", "LD_PRELOAD=" + so, "ZT_BIND_SRC=" + ATTACKER_IP, "timeout", "-s", "TERM",
            "40", hydra, "-L", users_file, "-p", SPRAYED, "-s", str(gw.port), "-t", "4", "-I",
            "-V", "-o", found_file, "127.0.0.1", "http-post-form", form]
    proc = Proc("hydra", argv, h.dir, cwd=h.dir)
    h.procs.append(proc)
    proc.wait(45)
    out = proc.stdout_text() + proc.stderr_text()

    # ---- hydra: every account tried, none found
    attempts = re.findall(r'\[ATTEMPT\] target 127\.0\.0\.1 - login "([^"]*)"', out)
    eq(sorted(set(attempts)), sorted(users), "hydra tried every account once (%s)" % out[-400:])
    found = [line for line in out.splitlines() if re.search(r"\]\[http-post-form\] host:", line)]
    eq(found, [], "hydra reported no valid pair")
    summary = re.search(r"(\d+) valid passwords? found", out)
    check(summary is not None, "hydra finished on its own: %s" % out[-400:])
    eq(summary.group(1), "0", "hydra's summary")

    # ---- the audit log: the source flagged, no success from it
    recs = _audit(audit_path)
    findings = [r for r in recs if r.get("class_uid") == 2004
                and r.get("src_endpoint", {}).get("ip") == ATTACKER_IP]
    flagged = {t for r in findings if r.get("finding_info", {}).get("title") ==
               "risk.source_flagged" for t in r["finding_info"].get("types", [])}
    check("password_spray" in flagged, "spray detection in the audit log: %r" % flagged)
    check("malicious_ip" in flagged, "source flagged malicious in the audit log: %r" % flagged)
    ok = [r for r in recs if r.get("class_uid") == 3002 and r.get("status_id") == 1
          and r.get("src_endpoint", {}).get("ip") == ATTACKER_IP]
    eq(ok, [], "successful sign-ins from %s" % ATTACKER_IP)
    refused = {r.get("user", {}).get("email_addr") for r in recs
               if r.get("class_uid") == 3002 and r.get("status_detail") == "sign-in risk"}
    eq(refused, set(weak), "the right passwords from the spraying source were refused")

    # ---- the sprayed accounts with the right password carry user risk; the others none
    r = h.cli("risk", "list", "--json", "--config", gw.config_path)
    eq(r.returncode, 0, r.stderr)
    dets = json.loads(r.stdout)
    spray_users = {d["email"] for d in dets if d["type"] == "password_spray"}
    eq(spray_users, set(weak), "password_spray detections")
    check(all(d["email"] in weak for d in dets), "no detection for accounts not compromised")

    # ---- a legitimate user from 127.0.0.1 is unaffected
    b = Browser(gw.port)
    r = _sign_in(b, LEGIT, LEGIT_PASSWORD)
    eq((r.status, r.header("Location")), (303, "/.ztgate/"), "legitimate sign-in")
    check(session_cookie(b), "legitimate user has a session")
    eq(b.get("/hello").status, 200, "legitimate user reaches the app")
    print("    spray: hydra %d attempts; %d findings from %s; %d detections"
          % (len(attempts), len(findings), ATTACKER_IP, len(dets)))
