"""Acceptance story, Case 2: a phished password, through the proxy, with the baseline policies of
examples/quickstart.yaml (copied from that file at test time, so the story runs on exactly what
the quickstart ships).

The owner signs in from Tokyo; ten minutes later an attacker signs in with the right password
from Sao Paulo -> impossible travel -> MFA demanded -> the attacker cannot pass it -> the app
stays out of reach; the admin confirms the compromise -> the owner's sessions die; the owner
signs in with MFA, the app refuses with a link to change the password, the owner changes it ->
risk remediated -> access returns. The audit log (verified) tells it in order.

Places: loopback aliases mapped by a generated GeoIP database (tests/tools/make_mmdb.pl).
Ten minutes: the gateway restarts with ZTGATE_TEST_CLOCK_OFFSET_S=600. Needs perl with
libmaxmind-db-writer-perl; skipped without it."""
import http.server
import json
import threading
import os
import time

from harness import check, eq, free_port, port_open, timeout, wait_until, yaml_dump
from portal_client import add_user, complete_sign_in, totp
from test_risk_e2e import SrcBrowser, _admin, _mfa, _mmdb, _sign_in

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "examples", "quickstart.yaml")
OWNER = "mika@example.test"
OWNER_PASSWORD = "mika's long passphrase, first edition"
NEW_PASSWORD = "mika's long passphrase, second edition"
TOKYO, SAO_PAULO = "127.0.0.10", "127.0.0.20"
TEN_MINUTES = 600
HTML = [("Accept", "text/html")]


def _baseline_policies():
    """The top-level `policies:` block of the quickstart, as text."""
    with open(QUICKSTART) as f:
        lines = f.read().split("\n")
    start = lines.index("policies:")
    end = start + 1
    while end < len(lines) and (lines[end] == "" or lines[end][0] in " #"):
        end += 1
    block = "\n".join(lines[start:end]).rstrip() + "\n"
    for name in ("sign-in-risk-mfa", "user-risk-password-change"):
        check("name: " + name in block, "the quickstart has the policy " + name)
    return block


class Hook:
    """The SOC's webhook receiver: records every notification ztgate POSTs."""

    def __init__(self):
        self.posts = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts.append(json.loads(body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _config(h, hook):
    up = h.upstream()
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    # The quickstart's policies name its console app too.
    console = {"name": "console", "kind": "console", "host": "console.test"}
    cfg = h.config([h.app(up, name="mail", sensitivity="confidential"), console], extra={
        "auth": {"mfa": "required", "argon2_memory": "19MiB", "argon2_passes": 2},
        "audit": {"path": audit},
        "admin": {"listen": "127.0.0.1:%d" % admin_port},
        "risk": {"geoip_city": _mmdb(h)},
        # The SOC is told; containment itself is the admin's call in this story.
        "incidents": {"notify": {"url": "http://127.0.0.1:%d/hook" % hook.port,
                                 "timeout": "2s", "retries": 3, "backoff": "200ms"}},
        "playbooks": [{"name": "notify-soc",
                       "on": {"types": ["impossible_travel", "admin_confirmed_compromised"]},
                       "actions": ["open_incident", "notify"]}],
    })
    return cfg, admin_port


def _start(h, cfg, admin_port, offset=0, name="ztgate"):
    gw = h.gateway(cfg, start=False, name=name)
    gw.write_config(yaml_dump(cfg) + "\n" + _baseline_policies())
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    if offset:
        os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(offset)
    try:
        gw.start()
    finally:
        if old is None:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old
    if offset:
        check("test clock offset" in gw.stderr_text(), "the gateway took the clock offset")
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    return gw


def _risk(h, gw):
    r = h.cli("risk", "list", "--user", OWNER, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "ztgate risk list: " + r.stderr)
    return sorted((d["type"], d["state"]) for d in json.loads(r.stdout))


def _app(b):
    return b.get("/", headers=HTML)


def _search(h, gw, *args):
    r = h.cli("audit", "search", *args, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "audit search %s: %s" % (" ".join(args), r.stderr))
    return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]


def _first(recs, what, pred, after=0):
    """seq of the first record after seq `after` that matches."""
    for rec in recs:
        if rec["seq"] > after and pred(rec):
            return rec
    raise AssertionError("audit: no %s after seq %d in:\n%s" % (
        what, after, "\n".join("%d %s %s %s" % (x["seq"], x.get("class_uid"), x.get("message"),
                                                 x.get("reasons", "")) for x in recs)))


def _audit_story(h, gw):
    """The story's records in the audit log, in order: [(step, seq)]. The owner's come from
    `audit search --user`; the attacker's refused app requests carry no user (their session
    never passed MFA) and come from `audit search --ip`."""
    mine = _search(h, gw, "--user", OWNER)
    theirs = _search(h, gw, "--ip", SAO_PAULO, "--decision", "block")
    det = _first(mine, "impossible_travel detection", lambda x: x.get("class_uid") == 2004 and
                 x.get("finding_info", {}).get("title") == "risk.detected" and
                 "impossible_travel" in x["finding_info"].get("types", []))
    # The sign-in that raised it: same request, MFA demanded because of the risk.
    chal = _first(mine, "risky sign-in challenge", lambda x: x.get("class_uid") == 3002 and
                  x.get("metadata", {}).get("uid") == det.get("metadata", {}).get("uid") and
                  "risky sign-in: second factor demanded" in x.get("message", ""))
    eq(chal["src_endpoint"]["ip"], SAO_PAULO, "the risky sign-in came from Sao Paulo")
    after = max(det["seq"], chal["seq"])
    steps = [("detection", det["seq"]), ("challenge", chal["seq"])]
    for step, recs, pred in (
            ("attacker's MFA fails", mine,
             lambda x: x.get("class_uid") == 3002 and x.get("status_id") == 2 and
             x.get("src_endpoint", {}).get("ip") == SAO_PAULO),
            ("attacker blocked", theirs,
             lambda x: x.get("class_uid") == 4002 and x.get("decision") == "block"),
            ("admin confirms compromised", mine,
             lambda x: x.get("class_uid") == 2004 and
             "risk.confirm_compromised" in x.get("message", "")),
            ("owner refused until password change", mine,
             lambda x: x.get("class_uid") == 4002 and
             "requires password_change" in x.get("reasons", "")),
            ("remediation", mine,
             lambda x: x.get("class_uid") == 2004 and
             x.get("finding_info", {}).get("title") == "risk.remediated"),
            ("owner allowed", mine,
             lambda x: x.get("class_uid") == 4002 and x.get("decision") == "allow")):
        after = _first(recs, step, pred, after)["seq"]
        steps.append((step, after))
    return steps


@timeout(120)
def test_case2_phished_password(h):
    hook = Hook()
    try:
        _case2(h, hook)
    finally:
        hook.close()


def _case2(h, hook):
    cfg, admin_port = _config(h, hook)
    gw = _start(h, cfg, admin_port)

    # The owner signs in from Tokyo (enrolling TOTP: auth.mfa is required) and reads mail.
    add_user(h, gw, OWNER, OWNER_PASSWORD)
    owner = SrcBrowser(gw.port, TOKYO)
    owner.secret, owner.recovery_codes = None, []
    complete_sign_in(owner, OWNER, OWNER_PASSWORD)
    secret = owner.secret
    eq(_app(owner).status, 200, "the owner reaches the app from Tokyo")
    eq(_risk(h, gw), [], "no detection for the owner's sign-in")
    gw.proc.stop()

    # Ten minutes later the attacker, with the phished password, from Sao Paulo.
    gw = _start(h, cfg, admin_port, offset=TEN_MINUTES, name="ztgate-10m")
    owner.port = gw.port
    eq(_app(owner).status, 200, "the owner's session still works ten minutes later")
    attacker = SrcBrowser(gw.port, SAO_PAULO)
    r = _sign_in(attacker, OWNER, OWNER_PASSWORD)
    eq(r.status, 303, "attacker: the password is right")
    check(r.header("Location", "").startswith("/.ztgate/mfa"),
          "attacker: MFA demanded (%r)" % r.header("Location"))
    eq(_risk(h, gw), [("impossible_travel", "at_risk")], "impossible travel detected")
    print("  attacker from %s: impossible travel -> MFA demanded" % SAO_PAULO)

    # The attacker has no authenticator: a wrong code, and the app stays out of reach.
    good = totp(secret, at=time.time() + TEN_MINUTES)
    r = _mfa(attacker, "%06d" % ((int(good) + 1) % 1000000))
    eq(r.status, 200, "the wrong code is refused (the form again)")
    check(b"csrf_token" in r.body, "the MFA form again")
    r = _app(attacker)
    check(r.status in (302, 303), "attacker, browser: sent to sign-in, not the app (%d)"
          % r.status)
    r = attacker.get("/")
    eq(r.status, 401, "attacker, API client: 401")
    eq(_risk(h, gw), [("impossible_travel", "at_risk")], "a failed MFA remediates nothing")
    print("  attacker: wrong code -> app answers %d (browser) / 401 (API)" % _app(attacker).status)

    # The admin confirms the compromise: the owner's sessions die.
    r = _admin(h, admin_port, "POST", "/api/v1/users/%s/confirm-compromised" % OWNER)
    eq(r.status, 200, "confirm-compromised: %r" % r.body)
    ans = r.json()
    eq(ans["user_risk"], "high", "user risk after confirmation")
    check(ans["sessions_revoked"] >= 1, "sessions revoked: %r" % ans)
    r = _app(owner)
    check(r.status in (302, 303) and "/.ztgate/login" in r.header("Location", ""),
          "the owner's old session is dead (%d %r)" % (r.status, r.header("Location")))
    eq(_app(attacker).status in (302, 303), True, "the attacker's pending session is dead too")
    eq(_risk(h, gw), [("admin_confirmed_compromised", "confirmed_compromised"),
                      ("impossible_travel", "confirmed_compromised")], "after confirmation")
    print("  admin confirmed compromised: %d session(s) revoked" % ans["sessions_revoked"])

    # The owner signs in again with MFA; the app asks for a password change first.
    owner = SrcBrowser(gw.port, TOKYO)
    r = _sign_in(owner, OWNER, OWNER_PASSWORD)
    check(r.status == 303 and r.header("Location", "").startswith("/.ztgate/mfa"),
          "owner: MFA asked (%d %r)" % (r.status, r.header("Location")))
    r = _mfa(owner, totp(secret, at=time.time() + TEN_MINUTES))
    eq(r.status, 303, "the owner's code is accepted")
    r = _app(owner)
    eq(r.status, 403, "high user risk: refused until the password is changed")
    check(b"user-risk-password-change" in r.body, "the page names the policy")
    check(b'href="/.ztgate/password"' in r.body, "the page links to the password change")
    print("  owner after MFA: %d, page links to /.ztgate/password" % r.status)

    tok, _ = owner.csrf("/.ztgate/password")
    r = owner.post("/.ztgate/password", {"csrf_token": tok, "current_password": OWNER_PASSWORD,
                                         "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    eq(r.status, 200, "password changed")
    check(b"Password changed" in r.body, "the confirmation page")
    eq(_risk(h, gw), [("admin_confirmed_compromised", "remediated"),
                      ("impossible_travel", "remediated")], "risk remediated")
    r = _app(owner)
    eq(r.status, 200, "access returns")
    print("  owner changed the password: risk remediated, app answers %d" % r.status)

    # The phished password is worth nothing now.
    late = SrcBrowser(gw.port, SAO_PAULO)
    r = _sign_in(late, OWNER, OWNER_PASSWORD)
    check(r.status != 303, "the old password is refused (%d)" % r.status)

    # The audit log: intact, and the story in order.
    r = h.cli("audit", "verify", "--config", gw.config_path)
    eq(r.returncode, 0, "audit verify: " + r.stdout + r.stderr)
    check(r.stdout.startswith("OK"), r.stdout)
    steps = _audit_story(h, gw)
    print("  audit: " + " -> ".join("%s (#%d)" % st for st in steps))

    # Decisions carry where the request came from (GeoIP of the client address).
    recs = _search(h, gw, "--user", OWNER, "--type", "http_activity")
    countries = {x.get("src_endpoint", {}).get("location", {}).get("country") for x in recs}
    check({"JP", "BR"} <= countries, "decisions name the countries: %r" % countries)

    # Core 6: one incident for the owner whose timeline tells the story in order, resolved by
    # the password change, and the SOC's webhook received the notifications.
    r = h.cli("incident", "list", "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "incident list: " + r.stderr)
    mine = [i for i in json.loads(r.stdout) if i.get("email") == OWNER]
    eq(len(mine), 1, "one incident for the owner: %s" % r.stdout)
    eq(mine[0]["status"], "resolved", "the secure password change resolved it")
    r = h.cli("incident", "show", str(mine[0]["id"]), "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "incident show: " + r.stderr)
    tl = json.loads(r.stdout)["timeline"]
    kinds = [e["kind"] for e in tl]
    det = [i for i, k in enumerate(kinds) if k == "detection"]
    check(kinds[0] == "detection" and len(det) >= 2 and "remediation" in kinds
          and det[-1] < kinds.index("remediation") and kinds[-1] == "status",
          "timeline travel -> admin verdict -> remediation -> resolved: %r" % kinds)
    eq([e["detail"].get("type") for e in tl if e["kind"] == "detection"][:2],
       ["impossible_travel", "admin_confirmed_compromised"], "the two detections, in order")
    eq([e["at"] for e in tl], sorted(e["at"] for e in tl), "timeline in time order")
    check(wait_until(lambda: len(hook.posts) >= 2, 10.0),
          "the webhook got the notifications: %r" % hook.posts)
    check(all(p.get("incident_id") == mine[0]["id"] or p.get("incident", {}).get("id")
              == mine[0]["id"] for p in hook.posts), "notifications name the incident: %r"
          % hook.posts)
    print("  incident %s: %s; webhook got %d notification(s)"
          % (mine[0]["id"], " -> ".join(kinds), len(hook.posts)))
