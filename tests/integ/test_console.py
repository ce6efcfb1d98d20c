"""The web console (issue 16, deliverable 2; docs/CONSOLE.md): an app of kind console that ztgate
answers itself behind the whole pipeline. A signed-in user who is not an administrator gets the
403 page; an administrator gets the pages their role allows, in English or Japanese; every change
is a POST with this session's CSRF token from the console's own origin and goes through the same
account service as the CLI (the same audit record but the actor); a sign-in older than
session_max_age is sent to sign in again; the CSP allows no script at all."""
import json
import os
import re
import time
import urllib.parse

from harness import check, eq, free_port, timeout, wait_until
from portal_client import FORM, PASSWORD, Browser, add_user, complete_sign_in

CONSOLE = "console.test"
ADMIN, HELPER, USER = "root@example.test", "help@example.test", "user@example.test"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def _gateway(h, max_age=None, extra_apps=()):
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    if max_age:
        app["session_max_age"] = max_age
    cfg = h.config([app] + list(extra_apps), extra={"audit": {"path": audit}})
    gw = h.gateway(cfg)
    return gw, audit


def make_admin(h, gw, email, role="global_admin", scope=None):
    """`ztgate admin add EMAIL --role ROLE [--scope GROUP]` (docs/ADMINS.md)."""
    args = ["admin", "add", email, "--role", role] + (["--scope", scope] if scope else [])
    r = h.cli(*args, "--config", gw.config_path)
    eq(r.returncode, 0, "admin add %s: %s" % (email, r.stdout + r.stderr))


SECRETS = {}  # email -> (TOTP secret, recovery codes) once enrolled


def console_browser(h, gw, email, lang=None, create=True):
    if create:
        add_user(h, gw, email, PASSWORD)
    b = Browser(gw.port, host=CONSOLE, lang=lang)
    b.secret, b.recovery_codes = SECRETS.get(email, (None, []))
    complete_sign_in(b, email, PASSWORD, secret=b.secret, codes=b.recovery_codes)
    SECRETS[email] = (b.secret, b.recovery_codes)
    return b


def origin(b):
    return ("Origin", "http://%s" % CONSOLE)


def console_csrf(b, path):
    r = b.get(path)
    eq(r.status, 200, "GET %s" % path)
    m = re.search(rb'name="csrf" value="([^"]+)"', r.body)
    check(m, "no csrf field on %s" % path)
    return m.group(1).decode()


@timeout(90)
def test_console_frame_admin_and_not_admin(h):
    gw, audit = _gateway(h)
    # Not an administrator: the 403 page, no nav.
    u = console_browser(h, gw, USER)
    r = u.get("/")
    eq(r.status, 403, "non-admin dashboard")
    check(b"Not an administrator" in r.body, "403 page text: %r" % r.body[:400])
    check(b"<nav" not in r.body, "no nav for a non-admin")
    eq(r.header("Content-Security-Policy"), CSP, "CSP on the 403 page")
    # Administrator: the dashboard, nav, CSS, exact CSP, en and ja.
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    r = a.get("/")
    eq(r.status, 200, "admin dashboard: %r" % r.body[-700:])
    eq(r.header("Content-Security-Policy"), CSP, "CSP")
    eq(r.header("Cache-Control"), "no-store", "no-store")
    eq(r.header("X-Frame-Options"), "DENY", "no framing")
    check(b"<script" not in r.body.lower(), "no script on the dashboard")
    check(b'<link rel="stylesheet" href="/console.css">' in r.body, "stylesheet link")
    check(b"Dashboard" in r.body, "English title")
    check(b"Sign-ins and MFA" in r.body and b"<svg" in r.body, "charts: %r" % r.body[-1500:])
    check(b"Access decisions by outcome" in r.body, "decisions chart")
    check(b"Devices by compliance" in r.body, "devices chart")
    for p in ("24h", "7d", "30d"):
        eq(a.get("/?period=" + p).status, 200, "period " + p)
    # The sign-ins counted include this admin's own (from the audit log's rollup).
    m = re.search(rb"Sign-ins: (\d+)", a.get("/?period=24h").body)
    check(m and int(m.group(1)) >= 2, "sign-ins counted: %r" % (m and m.group(0)))
    css = a.get("/console.css")
    eq(css.status, 200, "stylesheet")
    check(css.header("Content-Type", "").startswith("text/css"), "css content type")
    r = a.get("/?lang=ja")
    eq(r.status, 200, "ja")
    check("ダッシュボード".encode() in r.body, "Japanese title")
    check(b'lang="ja"' in r.body, "html lang ja")
    check(any("ztc_lang=ja" in c for c in a.set_cookies), "language kept in a cookie")
    r = a.get("/")
    check("ダッシュボード".encode() in r.body, "language cookie honoured")
    # Unknown page: 404 in the frame; bad query: 400 with a clear message.
    eq(a.get("/nope").status, 404, "unknown page")
    r = a.get("/?lang=en&period=forever")
    eq(r.status, 400, "bad period")
    check(b"24h, 7d or 30d" in r.body, "period message")
    r = a.get("/?a=%zz")
    eq(r.status, 400, "malformed query")
    # A client-sent identity header means nothing.
    r = u.get("/", headers=(("X-ZT-User", ADMIN), ("X-ZT-Assertion", "x")))
    eq(r.status, 403, "identity header ignored")


@timeout(90)
def test_console_stale_sign_in_reauth(h):
    gw, audit = _gateway(h, max_age="1m")
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    eq(a.get("/").status, 200, "fresh sign-in")
    # Age the session's sign-in in the store: the console asks to sign in again.
    db = h.store_db()
    db.execute("UPDATE sessions SET auth_time = auth_time - 600")
    db.commit()
    db.close()
    # The session cache may hold the old row for a moment; wait for the store's answer.
    def stale():
        r = a.get("/users", headers=(("Accept", "text/html"),))
        return r.status in (302, 303) and "prompt=login" in r.header("Location", "")
    check(wait_until(stale, 15.0, 0.5), "stale sign-in not sent to re-authenticate")


def _records(audit, pred, n=1, timeout_s=10.0):
    """Audit records matching pred (the CLI's arrive through the spool: wait for them)."""
    def read():
        if not os.path.exists(audit):
            return []
        with open(audit, errors="replace") as f:
            return [r for r in (json.loads(l) for l in f if l.endswith("\n") and l.strip()) if pred(r)]
    wait_until(lambda: len(read()) >= n, timeout_s)
    return read()


def _op(name):
    return lambda r: r.get("class_uid") == 3001 and r.get("unmapped", {}).get("operation") == name


DROP = {"time", "metadata", "actor", "user", "http_request", "src_endpoint", "api", "seq", "prev",
        "hash"}


def _strip(rec):
    out = {k: v for k, v in rec.items() if k not in DROP}
    return out


def _user_id(h, gw, email):
    r = h.cli("user", "show", email, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user show %s" % email)
    return json.loads(r.stdout)["id"]


def post(b, path, fields, csrf=True, hdrs=None):
    f = dict(fields)
    if csrf is True:
        f["csrf"] = console_csrf(b, path)
    elif csrf:
        f["csrf"] = csrf
    return b.post(path, f, headers=(FORM,) + tuple(hdrs if hdrs is not None else (origin(b),)))


@timeout(120)
def test_console_user_actions_same_record_as_cli(h):
    gw, audit = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    add_user(h, gw, "u1@example.test", PASSWORD)
    add_user(h, gw, "u2@example.test", PASSWORD)
    u1, u2 = _user_id(h, gw, "u1@example.test"), _user_id(h, gw, "u2@example.test")
    # The list, search and paging.
    r = a.get("/users?q=u1")
    eq(r.status, 200, "search")
    check(b"u1@example.test" in r.body and b"u2@example.test" not in r.body, "search filters")
    for bad in ("/users?page=0", "/users?page=x", "/users?q=" + "a" * 300):
        r = a.get(bad)
        eq(r.status, 400, bad)
    # Each change through the console and through the CLI: the same record but the actor.
    for action, cli in (("disable", "disable"), ("enable", "enable"),
                        ("reset_mfa", "reset-mfa"), ("revoke_sessions", "revoke-sessions")):
        r = post(a, "/users/" + u1, {"action": action})
        eq(r.status, 303, "console %s: %r" % (action, r.body[:300]))
        check("done=" in r.header("Location", ""), "redirect with a notice")
        done = a.get(r.header("Location"))
        eq(done.status, 200, "after %s" % action)
        check(b'class="notice"' in done.body, "notice shown after %s" % action)
        rc = h.cli("user", cli, "u2@example.test", "--config", gw.config_path)
        eq(rc.returncode, 0, "cli %s: %s" % (cli, rc.stdout + rc.stderr))
        op = {"revoke_sessions": "user.revoke_sessions", "reset_mfa": "user.reset_mfa"}.get(
            action, "user." + action)
        recs = _records(audit, _op(op), 2)
        eq(len(recs), 2, "two %s records: %r" % (op, recs))
        mine = [x for x in recs if x["actor"]["user"]["name"] == "admin:" + ADMIN]
        root = [x for x in recs if x["actor"]["user"]["name"] == "root"]
        eq(len(mine), 1, "console record names the admin: %r" % recs)
        eq(len(root), 1, "cli record names root")
        check(mine[0]["actor"]["user"]["credential_uid"].startswith("console:"),
              "console credential: %r" % mine[0]["actor"])
        eq(_strip(mine[0]), _strip(root[0]), "%s records equal but the actor" % op)
    # The pass: shown once in the answer, never in the redirect or a URL.
    r = post(a, "/users/" + u1, {"action": "tap"})
    eq(r.status, 200, "tap issued")
    m = re.search(rb'class="secret" id="tap">([A-Z0-9-]+)<', r.body)
    check(m, "pass shown")
    eq(r.header("Cache-Control"), "no-store", "pass page not stored")
    r = a.get("/users/" + u1)
    check(m.group(1) not in r.body, "pass not shown again")
    # Create.
    r = post(a, "/users", {"action": "create", "email": "new@example.test", "name": "N"})
    eq(r.status, 303, "create: %r" % r.body[:300])
    check(_records(audit, _op("user.create")), "create recorded")
    for fields, code, text in (({"email": "not-an-email"}, 400, b"valid e-mail"),
                               ({"email": "new@example.test"}, 409, b"already exists"),
                               ({"email": "x@example.test", "group": "nope"}, 400,
                                b"does not exist"),
                               ({"email": "y@example.test", "name": "n" * 200}, 400,
                                b"128 bytes")):
        r = post(a, "/users", dict(fields, action="create"))
        eq(r.status, code, "create %r" % fields)
        check(text in r.body, "message for %r: %r" % (fields, r.body[-600:]))
    r = post(a, "/users/" + u1, {"action": "explode"})
    eq(r.status, 400, "unknown action")
    eq(a.get("/users/" + "0" * 32).status, 404, "unknown user")
    eq(a.get("/users/../etc").status, 404, "bad id")


@timeout(120)
def test_console_csrf_origin_and_roles(h):
    gw, audit = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    add_user(h, gw, "v@example.test", PASSWORD)
    v = _user_id(h, gw, "v@example.test")
    before = len(_records(audit, _op("user.disable"), 0, 0.1))
    # CSRF missing, wrong, another session's; cross-origin; no Origin at all.
    r = post(a, "/users/" + v, {"action": "disable"}, csrf=None)
    eq(r.status, 403, "no csrf")
    check(b"Nothing was changed" in r.body, "csrf message")
    eq(post(a, "/users/" + v, {"action": "disable"}, csrf="A" * 43).status, 403, "wrong csrf")
    a2 = console_browser(h, gw, ADMIN, create=False)
    other = console_csrf(a2, "/users")
    eq(post(a, "/users/" + v, {"action": "disable"}, csrf=other).status, 403,
       "another session's token")
    eq(post(a, "/users/" + v, {"action": "disable"},
            hdrs=(("Origin", "http://evil.test"),)).status, 403, "cross-origin")
    eq(post(a, "/users/" + v, {"action": "disable"}, hdrs=()).status, 403, "no origin")
    eq(len(_records(audit, _op("user.disable"), 0, 0.1)), before, "nothing changed")
    r = h.cli("user", "show", "v@example.test", "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout)["status"], "active", "v still enabled")
    # An auditor sees but cannot change; no forms offered.
    add_user(h, gw, "aud@example.test", PASSWORD)
    make_admin(h, gw, "aud@example.test", "auditor")
    au = console_browser(h, gw, "aud@example.test", create=False)
    r = au.get("/users/" + v)
    eq(r.status, 200, "auditor reads")
    check(b'name="action"' not in r.body, "no action forms for an auditor")
    tok = console_csrf(a, "/users")  # even with a token (another admin's), nothing goes
    r = post(au, "/users/" + v, {"action": "disable"}, csrf=tok)
    eq(r.status, 403, "auditor POST refused")
    check(b"role" in r.body, "refused for the role: %r" % r.body[-500:])
    r = post(au, "/users", {"action": "create", "email": "z@example.test"}, csrf=tok)
    eq(r.status, 403, "auditor create refused")
    r = h.cli("user", "show", "v@example.test", "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout)["status"], "active", "v still enabled after the auditor")
    # A help desk scoped to one group sees only its users; others are 404.
    for g in ("school-a", "school-b"):
        h.cli("group", "add", g, "--config", gw.config_path)
    add_user(h, gw, "a1@example.test", PASSWORD, groups=("school-a", "hr-private"))
    add_user(h, gw, "b1@example.test", PASSWORD, groups=("school-b",))
    add_user(h, gw, "hd@example.test", PASSWORD)
    make_admin(h, gw, "hd@example.test", "helpdesk", "school-a")
    hd = console_browser(h, gw, "hd@example.test", create=False)
    r = hd.get("/users")
    check(b"a1@example.test" in r.body and b"b1@example.test" not in r.body,
          "scoped list: %r" % r.body[-1500:])
    # Of a user in scope, only the groups in scope: not the person's other groups.
    a1 = _user_id(h, gw, "a1@example.test")
    r = hd.get("/users/" + a1)
    check(b"school-a" in r.body and b"hr-private" not in r.body,
          "scoped view of a1's groups: %r" % r.body[-1500:])
    check(b"hr-private" in a.get("/users/" + a1).body, "an unscoped admin sees every group")
    b1 = _user_id(h, gw, "b1@example.test")
    eq(hd.get("/users/" + b1).status, 404, "out of scope user")
    eq(post(hd, "/users/" + b1, {"action": "disable"}, csrf=console_csrf(hd, "/users")).status,
       404, "out of scope change")
    eq(hd.get("/groups/school-b").status, 404, "out of scope group")
    r = hd.get("/groups")
    check(b"school-a" in r.body and b"school-b" not in r.body, "scoped groups")
    eq(hd.get("/devices").status, 200, "helpdesk reads devices")
    r = hd.get("/")
    eq(r.status, 200, "scoped dashboard")
    check(b"b1@example.test" not in r.body, "scoped dashboard names no other school's user")
    r = post(hd, "/users", {"action": "create", "email": "c@example.test", "group": "school-b"})
    eq(r.status, 403, "scoped create outside the scope")
    r = post(hd, "/users", {"action": "create", "email": "c@example.test", "group": "school-a"})
    eq(r.status, 303, "scoped create inside the scope")
    # Groups: add and remove through the console, the CLI's records.
    r = post(a, "/groups/school-b", {"action": "add", "email": "v@example.test"})
    eq(r.status, 303, "member add: %r" % r.body[:300])
    eq(post(a, "/groups/school-b", {"action": "add", "email": "v@example.test"}).status, 409,
       "already a member")
    eq(post(a, "/groups/school-b", {"action": "add", "email": "nobody@example.test"}).status,
       400, "unknown member")
    r = post(a, "/groups/school-b", {"action": "remove", "user": v})
    eq(r.status, 303, "member remove")
    rc = h.cli("group", "member-add", "school-b", "v@example.test", "--config", gw.config_path)
    eq(rc.returncode, 0, "cli member-add")
    recs = _records(audit, _op("group.member_add"), 2)
    names = sorted(x["actor"]["user"]["name"] for x in recs)
    eq(names, ["admin:" + ADMIN, "root"], "member add by the console and by the CLI")
    eq(_strip(recs[0]), _strip(recs[1]), "group.member_add records equal but the actor")


@timeout(120)
def test_console_devices_revoke(h):
    import shutil
    from harness import Skip
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    from test_device_admin import _enrol
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port()},
              {"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    gw = h.gateway(h.config([app], listen=listen, extra={"audit": {"path": audit}}))
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    add_user(h, gw, "owner@example.test", PASSWORD)
    r = h.cli("device", "enroll-code", "--user", "owner@example.test", "--json",
              "--config", gw.config_path)
    eq(r.returncode, 0, "enroll-code: %s" % (r.stdout + r.stderr))
    dev, _ = _enrol(h, gw, json.loads(r.stdout)["code"])
    a = console_browser(h, gw, ADMIN, create=False)
    r = a.get("/devices")
    eq(r.status, 200, "devices")
    check(b"owner@example.test" in r.body and dev.encode() in r.body, "device listed")
    eq(a.get("/devices?state=bogus").status, 400, "bad state filter")
    eq(a.get("/devices?state=revoked").body.count(dev.encode()), 0, "not revoked yet")
    r = a.get("/devices/" + dev)
    eq(r.status, 200, "device page")
    check(b"Why it is not compliant" in r.body, "reasons section")
    eq(a.get("/devices/" + "0" * 32).status, 404, "unknown device")
    # A help desk reads devices but cannot revoke them.
    add_user(h, gw, "hd@example.test", PASSWORD)
    make_admin(h, gw, "hd@example.test", "helpdesk")
    hd = console_browser(h, gw, "hd@example.test", create=False)
    r = hd.get("/devices/" + dev)
    eq(r.status, 200, "helpdesk reads the device")
    check(b'value="revoke"' not in r.body, "no revoke form for the help desk")
    r = post(hd, "/devices/" + dev, {"action": "revoke"}, csrf=console_csrf(hd, "/users"))
    eq(r.status, 403, "helpdesk revoke refused")
    r = post(a, "/devices/" + dev, {"action": "revoke"})
    eq(r.status, 303, "revoked: %r" % r.body[:300])
    # zt_device_revoke_service's record, the same through the CLI and the admin API.
    recs = _records(audit, _op("device.revoke"))
    eq(len(recs), 1, "one device.revoke record")
    eq(recs[0]["actor"]["user"]["name"], "admin:" + ADMIN, "the admin named")
    eq(recs[0]["device"]["uid"], dev, "the device named")
    r = h.cli("device", "show", dev, "--json", "--config", gw.config_path)
    check(json.loads(r.stdout).get("revoked_at"), "revoked in the store: %s" % r.stdout)
    eq(post(a, "/devices/" + dev, {"action": "revoke"}, csrf=console_csrf(a, "/users")).status,
       409, "already revoked")
