"""The console's operations pages (issue 16 deliverable 2, second half; docs/CONSOLE.md): apps,
policies (report-only impact from the audit log), what-if (the same evaluation as `ztgate whatif`
and the running gateway), risk (dismiss, confirm compromised: the same effects as the CLI, the
console's record naming the admin), incidents (timeline, resolve), audit search (filters, bad
input → 400) and "why was reference X refused?" — on a real gateway with real records, in
English and Japanese, with role and scope refusals."""
import json
import os
import re
import urllib.parse

from harness import APP_HOST, check, eq, timeout, wait_until
from portal_client import PASSWORD, add_user, signed_in_browser
from test_console import (ADMIN, CONSOLE, _records, _user_id, console_browser, console_csrf,
                          make_admin)
from test_console import post as _post


def post(b, path, fields, csrf=True):
    """A console POST with this session's token (read from a page that has a form: the risk
    page may have none yet)."""
    if csrf is True:
        csrf = console_csrf(b, "/users" if b"name=\"csrf\"" in b.get("/users").body else path)
    return _post(b, path, fields, csrf=csrf)

BLOCKED, RO, CALM = "blocked@example.test", "ro@example.test", "calm@example.test"


def _apps(h):
    return [h.app(h.upstream("hr"), name="hr", host=APP_HOST, sensitivity="confidential")]


POLICIES = [
    {"name": "block-contractors", "users": {"include": ["group:contractors"]},
     "apps": {"include": ["hr"]}, "grant": {"block": True}},
    {"name": "ro-block-night", "state": "report_only", "users": {"include": ["group:night"]},
     "apps": {"include": ["hr"]}, "grant": {"block": True}},
    {"name": "hr-mfa", "users": {"include": ["all"]}, "apps": {"include": ["sensitivity:confidential"]},
     "grant": {"controls": ["mfa"]}},
]


def _ops_gateway(h, policies=POLICIES):
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    apps = [{"name": "console", "kind": "console", "host": CONSOLE}] + _apps(h)
    cfg = h.config(apps, extra={"audit": {"path": audit}, "policies": policies})
    return h.gateway(cfg), audit


def _admin(h, gw, email=ADMIN, role="global_admin", scope=None, lang=None):
    add_user(h, gw, email, PASSWORD)
    make_admin(h, gw, email, role, scope)
    return console_browser(h, gw, email, lang=lang, create=False)


def _data(body, attr):
    m = re.search(rb'id="answer"[^>]*' + attr.encode() + rb'="([^"]*)"', body)
    return m.group(1).decode() if m else None


@timeout(150)
def test_console_ops_reference_audit_and_policies(h):
    gw, audit = _ops_gateway(h)
    a = _admin(h, gw)
    # A refused request: its reference id, as the block page shows it.
    b = signed_in_browser(h, gw, BLOCKED, groups=("contractors",))
    r = b.get("/")
    eq(r.status, 403, "contractor blocked: %r" % r.body[:300])
    ref = r.header("X-Request-Id")
    check(ref and ref.encode() in r.body, "the block page shows the reference")
    check(wait_until(lambda: _records(audit, lambda x: x.get("metadata", {}).get("uid") == ref,
                                      1, 0.2), 10.0), "decision record written")
    r = a.get("/ref?id=" + ref)
    eq(r.status, 200, "reference lookup: %r" % r.body[-800:])
    check(BLOCKED.encode() in r.body, "names the user")
    check(b'id="app">hr<' in r.body, "names the app")
    check(b"block-contractors" in r.body, "names the policy")
    check(b"A block policy refused it" in r.body, "says what to do")
    r = a.get("/ref?id=" + ref + "&lang=ja")
    check("ブロックポリシーが拒否しました".encode() in r.body, "Japanese explanation")
    a.get("/?lang=en")
    eq(a.get("/ref?id=nope-0-0").status, 404, "unknown reference")
    r = a.get("/ref?id=%3Cscript%3E")
    eq(r.status, 400, "malformed reference")
    check(b"<script>" not in r.body, "never echoed as markup")
    # Audit search: by reference, by user and decision; bad filters are a 400 page.
    r = a.get("/audit?ref=" + ref)
    eq(r.status, 200, "audit by ref")
    check(ref.encode() in r.body and b'data-decision="block"' in r.body, "the record listed")
    r = a.get("/audit?" + urllib.parse.urlencode({"user": BLOCKED, "decision": "block"}))
    check(b'data-decision="block"' in r.body and b'data-decision="allow"' not in r.body,
          "decision filter")
    r = a.get("/audit?" + urllib.parse.urlencode({"user": BLOCKED, "decision": "block",
                                                  "lang": "ja"}))
    check("ブロック".encode() in r.body and b"<td>block</td>" not in r.body,
          "a Japanese page names the decision in Japanese")
    a.get("/?lang=en")
    r = a.get("/audit?" + urllib.parse.urlencode({"user": "nobody@example.test"}))
    check(b'id="no-records"' in r.body, "no match")
    for q, field in (({"ip": "10.0.0.1/99"}, b"IP address or CIDR"),
                     ({"from": "yesterday"}, b"From (RFC 3339)"),
                     ({"decision": "maybe"}, b"Decision"),
                     ({"class": "<x>"}, b"Event class"),
                     ({"ref": "a b"}, b"Reference id"),
                     ({"cursor": "-1"}, b"Older records"),
                     ({"text": "x" * 300}, b"Text")):
        r = a.get("/audit?" + urllib.parse.urlencode(q))
        eq(r.status, 400, "bad filter %r" % q)
        check(b'id="bad-filter"' in r.body and field in r.body, "names %r: %r" % (q, r.body[-900:]))
    eq(a.get("/audit?ip=%zz").status, 400, "malformed query")
    # Report-only impact: the number of requests the policy would have blocked.
    night = signed_in_browser(h, gw, RO, groups=("night",))
    n = 3
    for _ in range(n):
        eq(night.get("/").status, 200, "report-only never enforced")

    def impact():
        m = re.search(rb'class="ro-impact" data-policy="ro-block-night">(\d+)<',
                      a.get("/policies/ro-block-night").body)
        return m and int(m.group(1))
    expected = len(_records(audit, lambda x: "ro-block-night (report-only)" in x.get("policies", "")
                            and x.get("report_only", {}).get("decision") == "block", n))
    check(expected >= n, "report-only records: %d" % expected)
    check(wait_until(lambda: impact() == expected, 10.0), "impact %r != %d" % (impact(), expected))
    r = a.get("/policies")
    eq(r.status, 200, "policy list")
    check(b"block-contractors" in r.body and b"edit" in r.body.lower(), "list and GitOps note")
    r = a.get("/policies/hr-mfa?lang=ja")
    check("多要素認証".encode() in r.body and "対象ユーザー".encode() in r.body, "policy in Japanese")
    a.get("/?lang=en")
    eq(a.get("/policies/none-such").status, 404, "unknown policy")
    # Apps: each app with the policies that take it in.
    r = a.get("/apps")
    eq(r.status, 200, "apps")
    row = re.search(rb'<tr data-app="hr">.*?</tr>', r.body, re.S)
    check(row and b"block-contractors" in row.group(0) and b"hr-mfa" in row.group(0),
          "hr's policies: %r" % (row and row.group(0)))
    check(b"http://127.0.0.1:" in row.group(0), "upstream shown")


WHATIF_CASES = [
    {"user": BLOCKED, "app": "hr"},
    {"user": CALM, "app": "hr"},
    {"user": CALM, "app": "hr", "mfa": True},
    {"groups": "night", "app": "hr", "mfa": True},
    {"groups": "contractors", "app": "console"},
    {"user": CALM, "app": "hr", "ip": "203.0.113.9", "device": "compliant", "platform": "ios"},
]


def _cli_whatif(h, gw, case):
    args = ["whatif", "--json", "--config", gw.config_path, "--app", case["app"]]
    if "user" in case:
        args += ["--user", case["user"]]
    if "groups" in case:
        args += ["--groups", case["groups"]]
    if case.get("mfa"):
        args.append("--mfa")
    for k in ("ip", "platform"):
        if k in case:
            args += ["--" + k, case[k]]
    if "device" in case:
        args.append("--device-" + case["device"])
    r = h.cli(*args)
    eq(r.returncode, 0, "whatif %r: %s" % (case, r.stderr))
    return json.loads(r.stdout)


@timeout(150)
def test_console_ops_whatif_equals_cli_and_gateway(h):
    gw, audit = _ops_gateway(h)
    a = _admin(h, gw)
    add_user(h, gw, BLOCKED, PASSWORD, groups=("contractors",))
    add_user(h, gw, CALM, PASSWORD)
    for case in WHATIF_CASES:
        q = {k: ("1" if v is True else v) for k, v in case.items()}
        r = a.get("/whatif?" + urllib.parse.urlencode(q))
        eq(r.status, 200, "whatif %r: %r" % (case, r.body[-600:]))
        cli = _cli_whatif(h, gw, case)
        eq(_data(r.body, "data-verdict"), cli["verdict"], "verdict %r" % case)
        eq(_data(r.body, "data-policy") or None, cli["policy"], "deciding policy %r" % case)
    # The running gateway decides the first case the same way.
    b = signed_in_browser(h, gw, BLOCKED, groups=("contractors",), create=False)
    eq(b.get("/").status, 403, "gateway blocks")
    recs = _records(audit, lambda x: x.get("app", {}).get("name") == "hr"
                    and x.get("actor", {}).get("user", {}).get("email_addr") == BLOCKED)
    eq(recs[-1]["decision"], "block", "gateway decision")
    check("block-contractors" in recs[-1]["reasons"], "gateway's deciding policy")
    # ... and a signed-in (MFA) user the same as the MFA case: allowed.
    c = signed_in_browser(h, gw, CALM, create=False)
    eq(c.get("/").status, 200, "gateway allows the user after MFA")
    r = a.get("/whatif?" + urllib.parse.urlencode({"user": CALM, "app": "hr", "mfa": "1"}))
    eq(_data(r.body, "data-verdict"), "allow", "what-if allows the same request")
    # Bad input names the field; unknown user and app are clear; Japanese.
    for q, text in (({"user": CALM, "app": "hr", "ip": "999.1.1.1"}, b"IP address"),
                    ({"user": CALM, "app": "hr", "at": "soon"}, b"Time (RFC 3339"),
                    ({"user": CALM, "app": "hr", "platform": "beos"}, b"Platform"),
                    ({"user": "ghost@example.test", "app": "hr"}, b"No user has this"),
                    ({"user": CALM, "app": "nope"}, b"No app has this name"),
                    ({"app": "hr"}, b"hypothetical user")):
        r = a.get("/whatif?" + urllib.parse.urlencode(q))
        eq(r.status, 400, "bad what-if %r" % q)
        check(text in r.body, "message for %r: %r" % (q, r.body[-900:]))
    r = a.get("/whatif?lang=ja&" + urllib.parse.urlencode({"user": CALM, "app": "hr"}))
    check("多要素認証が必要".encode() in r.body, "Japanese verdict")


@timeout(180)
def test_console_ops_risk_and_incidents(h):
    gw, audit = _ops_gateway(h, policies=[])
    a = _admin(h, gw)
    u1, u2 = "r1@example.test", "r2@example.test"
    for u in (u1, u2):
        signed_in_browser(h, gw, u)
    id1, id2 = _user_id(h, gw, u1), _user_id(h, gw, u2)
    conf = ("--config", gw.config_path)
    # Confirm compromised: u1 through the console, u2 through the CLI.
    r = post(a, "/risk", {"action": "confirm", "user": id1})
    eq(r.status, 303, "console confirm: %r" % r.body[-600:])
    eq(a.get(r.header("Location")).status, 200, "after confirm")
    eq(h.cli("risk", "confirm-compromised", u2, *conf).returncode, 0, "cli confirm")

    def dets(email):
        r = h.cli("risk", "list", "--user", email, "--json", *conf)
        out = []
        for d in json.loads(r.stdout):
            d = {k: v for k, v in d.items() if k not in ("id", "user_id", "email", "created_at",
                                                         "updated_at")}
            ev = d.get("evidence")
            if isinstance(ev, dict):
                ev.pop("by", None)
            out.append(d)
        return out
    eq(dets(u1), dets(u2), "same detections through the console and the CLI")
    check(dets(u1) and dets(u1)[0]["state"] == "confirmed_compromised", "confirmed")
    sess = json.loads(h.cli("user", "sessions", u1, "--json", *conf).stdout)
    eq(sess, [], "u1's sessions revoked")
    recs = _records(audit, lambda x: x.get("api", {}).get("operation") ==
                    "risk.confirm_compromised")
    check(recs and recs[-1]["actor"]["user"]["name"] == "admin:" + ADMIN, "record names the admin")
    eq(recs[-1]["user"]["email_addr"], u1, "record names the user")
    check(recs[-1]["actor"]["user"]["credential_uid"].startswith("console:"), "console credential")
    # Dismiss: u1's detection through the console, u2's through the CLI.
    r = a.get("/risk")
    eq(r.status, 200, "risk page")
    check(u1.encode() in r.body and b'id="risky-users"' in r.body, "risky users listed")
    did1 = json.loads(h.cli("risk", "list", "--user", u1, "--json", *conf).stdout)[0]["id"]
    did2 = json.loads(h.cli("risk", "list", "--user", u2, "--json", *conf).stdout)[0]["id"]
    r = post(a, "/risk", {"action": "dismiss", "id": str(did1)})
    eq(r.status, 303, "console dismiss: %r" % r.body[-600:])
    eq(h.cli("risk", "dismiss", str(did2), *conf).returncode, 0, "cli dismiss")
    eq(dets(u1), dets(u2), "same detections after dismissing")
    eq(post(a, "/risk", {"action": "dismiss", "id": str(did1)}).status, 409, "dismissed twice")
    for bad in ({"action": "dismiss", "id": "x"}, {"action": "explode"},
                {"action": "confirm", "user": "../x"}):
        eq(post(a, "/risk", bad).status, 400, "bad risk action %r" % bad)
    eq(post(a, "/risk", {"action": "dismiss", "id": "999999"}).status, 404, "unknown detection")
    # Incidents: both users' incidents listed; the console resolves u1's.
    r = a.get("/incidents")
    eq(r.status, 200, "incidents")
    incs = json.loads(h.cli("incident", "list", "--json", *conf).stdout)
    mine = [i for i in incs if i.get("email") == u1]
    check(mine, "u1's incident: %r" % incs)
    iid = mine[0]["id"]
    check(('data-incident="%d"' % iid).encode() in r.body, "listed")
    r = a.get("/incidents/%d" % iid)
    check(b'id="timeline"' in r.body and b"<li" in r.body, "timeline shown")
    r = post(a, "/incidents/%d" % iid, {"action": "resolve"})
    eq(r.status, 303, "resolve: %r" % r.body[-600:])
    show = json.loads(h.cli("incident", "show", str(iid), "--json", *conf).stdout)
    eq(show["status"], "resolved", "resolved in the store")
    eq(post(a, "/incidents/%d" % iid, {"action": "resolve"}).status, 409, "resolved twice")
    r = a.get("/incidents?status=resolved")
    check(('data-incident="%d"' % iid).encode() in r.body, "resolved filter")
    eq(a.get("/incidents?status=bogus").status, 400, "bad status")
    eq(a.get("/incidents/abc").status, 404, "bad id")
    eq(a.get("/incidents/424242").status, 404, "unknown incident")
    r = a.get("/incidents/%d?lang=ja" % iid)
    check("タイムライン".encode() in r.body, "Japanese timeline")


@timeout(180)
def test_console_ops_roles_and_scope(h):
    gw, audit = _ops_gateway(h)
    for g in ("school-a", "school-b"):
        h.cli("group", "add", g, "--config", gw.config_path)
    a_user, b_user = "a1@example.test", "b1@example.test"
    ba = signed_in_browser(h, gw, a_user, groups=("school-a", "contractors"))
    bb = signed_in_browser(h, gw, b_user, groups=("school-b", "contractors"))
    ref_a = ba.get("/").header("X-Request-Id")
    ref_b = bb.get("/").header("X-Request-Id")
    conf = ("--config", gw.config_path)
    h.cli("risk", "confirm-compromised", b_user, *conf)
    h.cli("risk", "confirm-compromised", a_user, *conf)  # the scoped operator's /risk has forms
    did_b = json.loads(h.cli("risk", "list", "--user", b_user, "--json", *conf).stdout)[0]["id"]
    # An auditor sees everything, changes nothing.
    au = _admin(h, gw, "aud@example.test", "auditor")
    r = au.get("/risk")
    eq(r.status, 200, "auditor reads risk")
    check(b'name="action"' not in r.body, "no forms for an auditor")
    tok = re.search(rb'name="csrf" value="([^"]+)"', au.get("/risk").body)
    r = post(au, "/risk", {"action": "dismiss", "id": str(did_b)}, csrf=tok and tok.group(1).decode()
             or "x" * 43)
    eq(r.status, 403, "auditor dismiss refused")
    eq(json.loads(h.cli("risk", "show", str(did_b), "--json", *conf).stdout)["state"],
       "confirmed_compromised", "nothing changed")
    check(wait_until(lambda: au.get("/ref?id=" + ref_b).status == 200, 10.0), "auditor reads refs")
    # A help desk has no risk, incident or audit pages at all.
    hd = _admin(h, gw, "hd@example.test", "helpdesk", "school-a")
    for path in ("/risk", "/incidents", "/audit", "/ref?id=" + ref_a, "/policies", "/whatif",
                 "/apps"):
        eq(hd.get(path).status, 403, "helpdesk " + path)
    # A security operator scoped to school-a sees only school-a's records and risk.
    so = _admin(h, gw, "so@example.test", "security_operator", "school-a")
    check(wait_until(lambda: so.get("/ref?id=" + ref_a).status == 200, 10.0), "own user's ref")
    eq(so.get("/ref?id=" + ref_b).status, 404, "other school's reference is not found")
    r = so.get("/audit?decision=block")
    check(a_user.encode() in r.body and b_user.encode() not in r.body, "scoped audit search")
    r = so.get("/risk")
    check(b_user.encode() not in r.body, "scoped risk list")
    r = post(so, "/risk", {"action": "dismiss", "id": str(did_b)})
    eq(r.status, 404, "out-of-scope detection")
    r = post(so, "/risk", {"action": "confirm", "user": _user_id(h, gw, b_user)})
    eq(r.status, 404, "out-of-scope user")
    r = so.get("/incidents")
    check(b_user.encode() not in r.body, "scoped incidents")
    r = so.get("/whatif?" + urllib.parse.urlencode({"user": b_user, "app": "hr"}))
    eq(r.status, 400, "out-of-scope user in what-if is unknown")
