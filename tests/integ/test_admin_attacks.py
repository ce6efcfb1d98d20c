"""Security review of named administrators (issue 16) through the real admin API: attacks by a
lesser administrator on people who hold admin roles. A help desk scoped to school-a, where the
principal (a global admin) is also a member, must not issue the principal a Temporary Access
Pass, reset their MFA or password, disable, delete or edit them, or change their group
memberships (403 admin_target); the same calls on a pupil of school-a still work, and a global
admin may do them to anyone. The console refuses the same (its forms and its group membership
page)."""
import json
import os

from admin_auth import call
from test_audit_failure import _lift_file_size_limit, _limit_file_size
from harness import check, eq, free_port, port_open, timeout, wait_until
from portal_client import PASSWORD, add_user
from test_console import _gateway as console_gateway
from test_console import _user_id, console_browser, make_admin
from test_console import post as console_post
from test_admin_roles import ALICE, AUD, BOSS, HD, _cli, _gateway, _school, _token

PRINCIPAL = "principal@school-a.test"
SCOPED_AUD = "scoped-aud@city.test"


def test_helpdesk_cannot_take_over_a_global_admin(h):
    gw, port = _gateway(h)
    _school(h, gw)
    _cli(h, gw, "user", "add", PRINCIPAL, "--group", "school-a", "--password-stdin")
    _cli(h, gw, "admin", "add", PRINCIPAL, "--role", "global_admin")
    hd = _token(h, gw, HD)
    u = "/api/v1/users/" + PRINCIPAL
    attacks = [
        ("POST", u + "/tap", {}),
        ("POST", u + "/reset-mfa", None),
        ("POST", u + "/password", {"password": "a brand new long passphrase 42"}),
        ("POST", u + "/disable", None),
        ("POST", u + "/profile", {"name": "pwned"}),
        ("DELETE", "/api/v1/groups/school-a/members/" + PRINCIPAL, None),
        ("DELETE", u, None),
    ]
    for method, path, body in attacks:
        status, doc = call(port, method, path, hd, body)
        eq((status, doc and doc.get("error")), (403, "admin_target"), "%s %s" % (method, path))
    # A help desk is still a help desk for pupils.
    status, doc = call(port, "POST", "/api/v1/users/%s/tap" % ALICE, hd, {})
    eq(status, 201, "TAP for a pupil: %r" % (doc,))
    status, doc = call(port, "POST", "/api/v1/users/%s/reset-mfa" % ALICE, hd)
    eq(status, 200, "MFA reset for a pupil: %r" % (doc,))
    # And the principal is untouched: still enabled, still named as before.
    status, doc = call(port, "GET", u, hd)
    eq((status, doc["disabled"]), (200, False), "principal still enabled: %r" % (doc,))
    # A global admin may.
    boss = _token(h, gw, PRINCIPAL)
    status, doc = call(port, "POST", "/api/v1/users/%s/tap" % HD, boss, {})
    eq(status, 201, "a global admin issues the help desk a TAP: %r" % (doc,))


def test_helpdesk_cannot_move_an_admin_between_groups(h):
    gw, port = _gateway(h)
    _school(h, gw)
    _cli(h, gw, "user", "add", PRINCIPAL, "--group", "school-a", "--password-stdin")
    _cli(h, gw, "admin", "add", PRINCIPAL, "--role", "auditor")
    _cli(h, gw, "admin", "add", HD, "--role", "helpdesk", "--scope", "school-b")
    hd = _token(h, gw, HD)
    # PRINCIPAL (an auditor) is in school-a, in scope: adding them to school-b is a change to an
    # admin's account (their memberships decide their access).
    status, doc = call(port, "POST", "/api/v1/groups/school-b/members", hd, {"user": PRINCIPAL})
    eq((status, doc and doc.get("error")), (403, "admin_target"), "member add: %r" % (doc,))
    status, doc = call(port, "POST", "/api/v1/groups/school-b/members", hd, {"user": ALICE})
    eq(status, 200, "a pupil may be added: %r" % (doc,))


@timeout(120)
def test_console_helpdesk_cannot_take_over_a_global_admin(h):
    gw, audit = console_gateway(h)
    h.cli("group", "add", "school-a", "--config", gw.config_path)
    add_user(h, gw, PRINCIPAL, PASSWORD, groups=("school-a",))
    make_admin(h, gw, PRINCIPAL)
    add_user(h, gw, "pupil@school-a.test", PASSWORD, groups=("school-a",))
    add_user(h, gw, HD, PASSWORD)
    make_admin(h, gw, HD, "helpdesk", "school-a")
    hd = console_browser(h, gw, HD, create=False)
    boss = _user_id(h, gw, PRINCIPAL)
    pupil = _user_id(h, gw, "pupil@school-a.test")
    eq(hd.get("/users/" + boss).status, 200, "the principal is in scope (readable)")
    for action in ("tap", "reset_mfa", "disable"):
        r = console_post(hd, "/users/" + boss, {"action": action})
        eq(r.status, 403, "console %s on a global admin: %r" % (action, r.body[-300:]))
        check(b'class="secret"' not in r.body, "no pass shown")
    r = console_post(hd, "/groups/school-a", {"action": "remove", "user": boss})
    eq(r.status, 403, "console: remove the principal from school-a: %r" % r.body[-300:])
    r = h.cli("user", "show", PRINCIPAL, "--json", "--config", gw.config_path)
    doc = json.loads(r.stdout)
    eq(doc["status"], "active", "principal still enabled")
    check("school-a" in doc.get("groups", []), "principal still in school-a: %r" % doc)
    # The pupil: the help desk's job, still allowed.
    r = console_post(hd, "/users/" + pupil, {"action": "tap"})
    eq(r.status, 200, "TAP for a pupil")


def test_a_token_cannot_outlive_the_token_that_makes_it(h):
    """A leaked token, found and about to be revoked (or about to expire), must not be able to
    mint itself a successor for a year."""
    gw, port = _gateway(h)
    _school(h, gw)
    short = _token(h, gw, BOSS, "--expires", "2h")
    status, parent = call(port, "GET", "/api/v1/tokens", short)
    eq(status, 200, "list")
    parent_exp = [t for t in parent["tokens"] if short.startswith("ztg_" + t["id"])][0]["expires_at"]
    status, doc = call(port, "POST", "/api/v1/tokens", short, {"name": "successor",
                                                               "expires": "365d"})
    eq((status, doc and doc.get("error")), (400, "invalid_field"), "a year from a 2h token: %r"
       % (doc,))
    # The default lifetime (30 days) is cut to the caller's.
    status, doc = call(port, "POST", "/api/v1/tokens", short, {"name": "child"})
    eq(status, 201, "a token within the caller's life: %r" % (doc,))
    check(doc["expires_at"] <= parent_exp, "child %s outlives parent %s" % (doc["expires_at"],
                                                                           parent_exp))
    # Within it: as asked.
    status, doc = call(port, "POST", "/api/v1/tokens", short, {"name": "hour", "expires": "1h"})
    eq(status, 201, "1h from a 2h token: %r" % (doc,))


@timeout(120)
def test_console_never_fails_open(h):
    """audit.on_audit_failure: fail_open keeps apps reachable when the audit log cannot be
    written; the console (the admin plane) stays closed: 503, and no change is made."""
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    app = {"name": "console", "kind": "console", "host": "console.test"}
    cfg = h.config([app], extra={"audit": {"path": audit, "on_audit_failure": "fail_open"}})
    gw = h.gateway(cfg)
    add_user(h, gw, "root@example.test", PASSWORD)
    make_admin(h, gw, "root@example.test")
    add_user(h, gw, "victim@example.test", PASSWORD)
    victim = _user_id(h, gw, "victim@example.test")
    a = console_browser(h, gw, "root@example.test", create=False)
    for i in range(40):  # grow the audit log past the access and error logs
        eq(a.get("/users?q=warm%d" % i).status, 200, "warm-up %d" % i)
    csrf = a.get("/users/" + victim)
    eq(csrf.status, 200, "user page")
    import re
    tok = re.search(rb'name="csrf" value="([^"]+)"', csrf.body).group(1).decode()
    _limit_file_size(gw.pid, os.path.getsize(audit))
    try:
        got = [a.get("/users").status for _ in range(3)]
        eq(got, [503] * 3, "console pages while the audit log cannot be written")
        r = console_post(a, "/users/" + victim, {"action": "disable"}, csrf=tok)
        eq(r.status, 503, "a console change while the audit log cannot be written")
    finally:
        _lift_file_size_limit(gw.pid)
    r = h.cli("user", "show", "victim@example.test", "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout)["status"], "active", "nothing changed unaudited")


def test_scoped_auditor_gets_no_gateway_wide_metrics(h):
    """/metrics counts every session and device of the gateway: an auditor scoped to school-a,
    who may learn nothing about other groups, is refused; an unscoped auditor reads them."""
    gw, port = _gateway(h)
    _school(h, gw)
    _cli(h, gw, "user", "add", "scoped-aud@city.test", "--password-stdin")
    _cli(h, gw, "admin", "add", "scoped-aud@city.test", "--role", "auditor", "--scope", "school-a")
    scoped = _token(h, gw, "scoped-aud@city.test")
    status, doc = call(port, "GET", "/metrics", scoped)
    eq((status, doc and doc.get("error")), (403, "forbidden"), "scoped auditor /metrics")
    eq(call(port, "GET", "/metrics", _token(h, gw, AUD))[0], 200, "unscoped auditor /metrics")


@timeout(150)
def test_console_audit_of_a_scoped_auditor_names_nobody_outside_its_scope(h):
    """An auditor scoped to school-a searches the audit log in the console. The principal (a
    global admin, member of school-a) ended the sessions of bob (school-b) through the admin
    API: that record names bob, who is out of scope, so the auditor must not see it; the same
    call on alice (school-a) is shown."""
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    api = free_port()
    app = {"name": "console", "kind": "console", "host": "console.test"}
    cfg = h.config([app], extra={"audit": {"path": audit},
                                 "admin": {"listen": "127.0.0.1:%d" % api}})
    gw = h.gateway(cfg)
    check(wait_until(lambda: port_open(api), 10.0), "admin port never opened")
    for g in ("school-a", "school-b"):
        h.cli("group", "add", g, "--config", gw.config_path)
    add_user(h, gw, PRINCIPAL, PASSWORD, groups=("school-a",))
    make_admin(h, gw, PRINCIPAL)
    add_user(h, gw, ALICE, PASSWORD, groups=("school-a",))
    add_user(h, gw, "bob@school-b.test", PASSWORD, groups=("school-b",))
    add_user(h, gw, SCOPED_AUD, PASSWORD)
    make_admin(h, gw, SCOPED_AUD, "auditor", "school-a")
    boss = _token(h, gw, PRINCIPAL)
    for who in ("bob@school-b.test", ALICE):
        status, doc = call(api, "POST", "/api/v1/users/%s/revoke-sessions" % who, boss)
        eq(status, 200, "revoke-sessions %s: %r" % (who, doc))
    # The scan reads the file: wait until both calls are in it.
    check(wait_until(lambda: open(audit).read().count("user.revoke_sessions") >= 2, 10.0),
          "records written")
    hd = console_browser(h, gw, SCOPED_AUD, create=False)
    r = hd.get("/audit")
    eq(r.status, 200, "audit page: %r" % r.body[-300:])
    check(ALICE.encode() in r.body, "in-scope record shown")
    check(b"bob@school-b.test" not in r.body, "out-of-scope user named on the scoped auditor's audit "
          "page: %r" % r.body[r.body.find(b"bob@"):][:200])
    r = hd.get("/audit?text=school-b")
    eq(r.status, 200, "search")
    check(b"bob@school-b.test" not in r.body, "out-of-scope user found by a text search")
