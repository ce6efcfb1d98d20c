"""Named administrators (docs/ADMINS.md) through the real admin API and CLI: the bootstrap token
only creates the first admin (409 after it, 403 bootstrap_only for anything else, neither read
nor made with admin.bootstrap_token: false); each role's allowed and refused calls; a help desk
scoped to one school cannot see or change another school's users (404, as if they did not
exist); an auditor changes nothing; a token dies with its expiry, its revocation and its owner's
role; no token in any log; every record names the person and the token; bad input refused."""
import json
import os
import time

from admin_auth import call, first_admin, read_bootstrap
from harness import check, eq, free_port, port_open, wait_until

PW = "correct horse battery staple"
ALICE, BOB = "alice@school-a.test", "bob@school-b.test"
HD, SEC, AUD, BOSS = ("helpdesk@city.test", "secop@city.test", "auditor@city.test",
                      "boss@city.test")


def _gateway(h, bootstrap=True, offset=None):
    up = h.upstream()
    port = free_port()
    admin = {"listen": "127.0.0.1:%d" % port}
    if not bootstrap:
        admin["bootstrap_token"] = False
    extra = {"admin": admin,
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")}}
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra=extra), start=False)
    _start(gw, offset)
    check(wait_until(lambda: port_open(port), 10.0), "admin port never opened")
    return gw, port


def _start(gw, offset):
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    if offset is not None:
        os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(offset)
    try:
        gw.start()
    finally:
        if old is None:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old


def _cli(h, gw, *args, rc=0):
    r = h.cli(*args, "--config", gw.config_path, input=PW + "\n")
    eq(r.returncode, rc, "ztgate %s: %s" % (" ".join(args), r.stdout + r.stderr))
    return r


def _token(h, gw, email, *extra):
    r = _cli(h, gw, "admin", "token", "create", email, "--name", "test", "--json", *extra)
    doc = json.loads(r.stdout)
    check(doc["token"].startswith("ztg_"), "token shape: %r" % doc)
    return doc["token"]


def _school(h, gw):
    """Two schools, a user in each, and one person per role (made by root through the CLI)."""
    for g in ("school-a", "school-b"):
        _cli(h, gw, "group", "add", g)
    _cli(h, gw, "user", "add", ALICE, "--group", "school-a", "--password-stdin")
    _cli(h, gw, "user", "add", BOB, "--group", "school-b", "--password-stdin")
    for who in (HD, SEC, AUD, BOSS):
        _cli(h, gw, "user", "add", who, "--password-stdin")
    _cli(h, gw, "admin", "add", HD, "--role", "helpdesk", "--scope", "school-a")
    _cli(h, gw, "admin", "add", SEC, "--role", "security_operator")
    _cli(h, gw, "admin", "add", AUD, "--role", "auditor")
    _cli(h, gw, "admin", "add", BOSS, "--role", "global_admin")


def _audit(h):
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    with open(path, errors="replace") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _expect(port, token, cases):
    for method, path, body, want in cases:
        status, doc = call(port, method, path, token, body)
        eq(status, want, "%s %s: %r" % (method, path, doc))


def test_bootstrap_makes_only_the_first_admin(h):
    gw, port = _gateway(h)
    boot = read_bootstrap(os.path.join(h.dir, "state"))
    # Anything but POST /admins/first: 403 bootstrap_only (health and metrics too).
    for method, path in (("GET", "/api/v1/health"), ("GET", "/api/v1/users"),
                         ("POST", "/api/v1/admins"), ("GET", "/metrics"),
                         ("GET", "/api/v1/nothing")):
        status, doc = call(port, method, path, boot)
        eq((status, doc and doc.get("error")), (403, "bootstrap_only"), "%s %s" % (method, path))
    doc = first_admin(port, boot, email=BOSS)  # made when missing
    token = doc["token"]
    eq(doc["email"], BOSS, "the first admin")
    check("admins" in doc["scopes"], "all permissions: %r" % doc["scopes"])
    status, doc = call(port, "POST", "/api/v1/admins/first", boot, {"user": "x@y.test"})
    eq((status, doc["error"]), (409, "admin_exists"), "a second first admin")
    status, doc = call(port, "POST", "/api/v1/admins/first", token, {"user": "x@y.test"})
    eq((status, doc["error"]), (403, "bootstrap_required"), "a personal token on /first")
    eq(call(port, "GET", "/api/v1/users", token)[0], 200, "the personal token works")
    status, doc = call(port, "GET", "/api/v1/admins", token)
    eq([(a["email"], [r["role"] for r in a["roles"]]) for a in doc["admins"]],
       [(BOSS, ["global_admin"])], "admins")
    time.sleep(0.3)
    first = [e for e in _audit(h) if e.get("unmapped", {}).get("operation") == "admin.grant"]
    eq(len(first), 1, "one grant record")
    check(first[0]["actor"]["user"]["name"].startswith("bootstrap-token:"), "bootstrap actor")
    text = open(os.path.join(h.dir, "state", "audit", "audit.log")).read()
    check(boot not in text and token not in text, "no token in the audit log")


def test_bootstrap_token_off(h):
    state = os.path.join(h.dir, "state")
    os.makedirs(state, mode=0o700, exist_ok=True)
    planted = os.path.join(state, "admin.token")
    with open(planted, "w") as f:
        f.write("p" * 43 + "\n")
    os.chmod(planted, 0o644)  # would stop the start if it were read
    gw, port = _gateway(h, bootstrap=False)
    status, doc = call(port, "POST", "/api/v1/admins/first", "p" * 43, {"user": BOSS})
    eq(status, 401, "the file's token matches nothing: %r" % doc)
    os.remove(planted)
    gw.proc.stop()
    _start(gw, None)
    check(wait_until(lambda: port_open(port), 10.0), "admin port never opened")
    check(not os.path.exists(planted), "admin.token is not made when the bootstrap is off")
    _cli(h, gw, "user", "add", BOSS, "--password-stdin")
    _cli(h, gw, "admin", "add", BOSS, "--role", "global_admin")
    eq(call(port, "GET", "/api/v1/health", _token(h, gw, BOSS))[0], 200, "a CLI-made token")


def test_roles_allow_and_refuse(h):
    gw, port = _gateway(h)
    _school(h, gw)
    hd, sec, aud, boss = (_token(h, gw, x) for x in (HD, SEC, AUD, BOSS))
    alice = "/api/v1/users/" + ALICE.replace("@", "%40")
    bob = "/api/v1/users/" + BOB.replace("@", "%40")

    # Help desk in school-a: alice's credentials and sessions; bob does not exist for them.
    status, doc = call(port, "GET", "/api/v1/users", hd)
    eq([u["email"] for u in doc["users"]], [ALICE], "help desk sees school-a only")
    status, doc = call(port, "GET", "/api/v1/groups", hd)
    eq([g["name"] for g in doc["groups"]], ["school-a"], "groups in scope")
    _expect(port, hd, [
        ("GET", alice, None, 200),
        ("POST", alice + "/reset-mfa", None, 200),
        ("POST", alice + "/revoke-sessions", None, 200),
        ("POST", alice + "/tap", {"uses": 1}, 201),
        ("GET", bob, None, 404),
        ("POST", bob + "/disable", None, 404),
        ("POST", bob + "/tap", {"uses": 1}, 404),
        ("GET", bob + "/sessions", None, 404),
        ("GET", "/api/v1/groups/school-b", None, 404),
        ("DELETE", "/api/v1/groups/school-b/members/" + BOB.replace("@", "%40"), None, 404),
        ("POST", "/api/v1/groups/school-a/members", {"user": BOB}, 404),
        ("GET", "/api/v1/devices?user=" + BOB.replace("@", "%40"), None, 404),
        ("POST", "/api/v1/devices/enroll-codes", {"user": BOB}, 403),  # not a help desk's
        ("POST", "/api/v1/users", {"email": "new@school-b.test", "groups": ["school-b"]}, 403),
        ("POST", "/api/v1/users", {"email": "new@school-x.test"}, 403),
        ("POST", "/api/v1/users", {"email": "new@school-a.test", "groups": ["school-a"]}, 201),
        ("POST", "/api/v1/groups", {"name": "school-c"}, 403),
        ("GET", "/api/v1/risk", None, 403),
        ("GET", "/api/v1/admins", None, 403),
        ("POST", "/api/v1/admins", {"user": HD, "role": "global_admin"}, 403),
        ("GET", "/metrics", None, 403),
    ])
    status, doc = call(port, "GET", bob, hd)
    eq(doc["message"], "user %s not found" % BOB, "the same words as for nobody")
    status, doc = call(port, "GET", "/api/v1/users/nobody%40school-b.test", hd)
    eq(doc["message"], "user nobody@school-b.test not found", "nobody")

    # The auditor reads everything and changes nothing.
    status, doc = call(port, "GET", "/api/v1/users", aud)
    check({ALICE, BOB} <= {u["email"] for u in doc["users"]}, "auditor sees both schools")
    _expect(port, aud, [
        ("GET", bob, None, 200), ("GET", "/api/v1/risk", None, 200),
        ("GET", "/api/v1/devices", None, 200), ("GET", "/api/v1/admins", None, 200),
        ("GET", "/metrics", None, 200),
        ("POST", bob + "/disable", None, 403), ("POST", bob + "/reset-mfa", None, 403),
        ("POST", bob + "/revoke-sessions", None, 403), ("DELETE", bob, None, 403),
        ("POST", "/api/v1/users", {"email": "x@x.test"}, 403),
        ("POST", "/api/v1/groups", {"name": "g"}, 403),
        ("POST", bob + "/confirm-compromised", None, 403),
        ("POST", "/api/v1/devices/enroll-codes", {"user": BOB}, 403),
        ("POST", "/api/v1/admins", {"user": AUD, "role": "global_admin"}, 403),
        ("POST", "/api/v1/tokens", {"name": "more", "scopes": ["users:write"]}, 403),
    ])

    # Security operator: risk, sessions, devices; no credentials, no accounts.
    _expect(port, sec, [
        ("GET", "/api/v1/risk", None, 200), ("POST", bob + "/revoke-sessions", None, 200),
        ("POST", "/api/v1/devices/enroll-codes", {"user": BOB}, 201),
        ("POST", bob + "/dismiss-risk", None, 200),
        ("POST", bob + "/reset-mfa", None, 403), ("POST", bob + "/disable", None, 403),
        ("POST", "/api/v1/admins", {"user": SEC, "role": "global_admin"}, 403),
    ])

    # Global admin: manages admins.
    _expect(port, boss, [
        ("POST", "/api/v1/admins", {"user": SEC, "role": "helpdesk", "scope": "school-b"}, 201),
        ("DELETE", "/api/v1/admins/" + SEC.replace("@", "%40") + "?role=helpdesk", None, 200),
        ("DELETE", "/api/v1/admins/" + BOSS.replace("@", "%40"), None, 409),  # the last one
        ("POST", bob + "/disable", None, 200),
    ])
    r = _cli(h, gw, "admin", "list", "--json")
    roles = {(x["email"], x["role"], x["scope"]) for x in json.loads(r.stdout)}
    eq(roles, {(HD, "helpdesk", "school-a"), (SEC, "security_operator", None),
               (AUD, "auditor", None), (BOSS, "global_admin", None)}, "admin list")


def test_tokens_expire_revoke_and_follow_roles(h):
    gw, port = _gateway(h)
    _school(h, gw)
    short = _token(h, gw, HD, "--expires", "1h")
    narrow = _token(h, gw, HD, "--scopes", "users:read")
    revoked = _token(h, gw, HD)
    alice = "/api/v1/users/" + ALICE.replace("@", "%40")
    eq(call(port, "GET", alice, narrow)[0], 200, "a narrow token reads")
    eq(call(port, "POST", alice + "/reset-mfa", narrow)[0], 403, "and changes nothing")
    # A token cannot make a wider one.
    status, doc = call(port, "POST", "/api/v1/tokens", narrow,
                       {"name": "wider", "scopes": ["credentials"]})
    eq((status, doc["error"]), (403, "scopes_beyond_grant"), "no wider token")
    status, doc = call(port, "POST", "/api/v1/tokens", narrow, {"name": "same", "expires": "2h"})
    eq((status, doc["scopes"]), (201, ["users:read"]), "a token as narrow as its maker")

    # Revoke through the API; someone else's token is not found.
    rid = revoked.split("_")[1]
    status, doc = call(port, "GET", "/api/v1/tokens", short)
    eq(len(doc["tokens"]), 4, "HD's tokens")
    boss = _token(h, gw, BOSS)
    status, doc = call(port, "DELETE", "/api/v1/tokens/" + boss.split("_")[1], short)
    eq(status, 404, "another person's token")
    eq(call(port, "DELETE", "/api/v1/tokens/" + rid, short)[0], 200, "revoke")
    status, doc = call(port, "GET", "/api/v1/health", revoked)
    eq((status, doc["message"]), (401, "the token has been revoked"), "revoked")
    status, doc = call(port, "GET", "/api/v1/tokens", short)
    used = [t for t in doc["tokens"] if t["id"] == short.split("_")[1]][0]
    check(used["last_used_at"] is not None, "last use kept: %r" % used)
    check("token" not in used, "a listing never shows a token")

    # Expiry: two hours later the 1-hour token is refused, the 30-day one still works.
    gw.proc.stop()
    _start(gw, 7200)
    check(wait_until(lambda: port_open(port), 10.0), "admin port never opened")
    status, doc = call(port, "GET", "/api/v1/health", short)
    eq((status, doc["message"]), (401, "the token has expired"), "expired")
    eq(call(port, "GET", alice, narrow)[0], 200, "an unexpired token")

    # Removing the role disarms every token of the person at once.
    _cli(h, gw, "admin", "remove", HD)
    status, doc = call(port, "GET", alice, narrow)
    eq(status, 401, "no role, no power: %r" % doc)
    check("holds no admin role" in doc["message"], doc["message"])

    # No token in any log.
    time.sleep(0.3)
    logs = ""
    for name in ("access.log", "state/audit/audit.log"):
        with open(os.path.join(h.dir, name), errors="replace") as f:
            logs += f.read()
    logs += gw.stderr_text()
    for tok in (short, narrow, revoked, boss):
        check(tok.split("_", 2)[2] not in logs, "a token's secret in a log")


def _made(port, maker, name, **more):
    status, doc = call(port, "POST", "/api/v1/tokens", maker, dict(name=name, **more))
    eq(status, 201, "token %s: %r" % (name, doc))
    return doc["token"], doc["id"]


def _revoked(port, tok, what):
    status, doc = call(port, "GET", "/api/v1/health", tok)
    eq((status, (doc or {}).get("message")), (401, "the token has been revoked"), what)


def test_token_offspring_revoked_with_it(h):
    """A leaked token's offspring (tokens it made, and tokens those made, for anyone) die with
    it, by the CLI as by the API; its siblings, its maker and unrelated tokens live on. Each
    revoked token has a record on its owner."""
    gw, port = _gateway(h)
    _school(h, gw)
    leak = _token(h, gw, BOSS)
    other = _token(h, gw, BOSS)
    leak_id = leak.split("_")[1]
    kid, kid_id = _made(port, leak, "made by the leaked token")
    for_hd, for_hd_id = _made(port, leak, "made for the help desk", user=HD,
                              scopes=["users:read"])
    grand, grand_id = _made(port, kid, "grandchild")
    status, doc = call(port, "GET", "/api/v1/tokens?user=" + HD.replace("@", "%40"), other)
    eq(status, 200, "HD's tokens: %r" % (doc,))
    eq([t["parent"] for t in doc["tokens"] if t["id"] == for_hd_id], [leak_id],
       "the API lists the token that made it")
    listed = {t["id"]: t for t in json.loads(_cli(h, gw, "admin", "token", "list", "--json").stdout)}
    eq((listed[kid_id]["parent"], listed[grand_id]["parent"], listed[leak_id]["parent"]),
       (leak_id, kid_id, None), "the CLI lists each token's maker")
    table = _cli(h, gw, "admin", "token", "list").stdout
    check("MADE BY TOKEN" in table and leak_id in table, "the table shows the maker:\n" + table)

    # Revoked with the CLI: the token and its three offspring, nothing else.
    r = _cli(h, gw, "admin", "token", "revoke", leak_id)
    check("with 3 made from it" in r.stdout, r.stdout)
    for tid in (kid_id, for_hd_id, grand_id):
        check("also revoked: token %s" % tid in r.stdout, "%s named: %s" % (tid, r.stdout))
    _revoked(port, leak, "the leaked token")
    _revoked(port, kid, "its child")
    _revoked(port, for_hd, "its child for another person")
    _revoked(port, grand, "its grandchild")
    eq(call(port, "GET", "/api/v1/health", other)[0], 200, "an unrelated token lives")
    r = _cli(h, gw, "admin", "token", "revoke", leak_id, rc=1)
    check("revoked already" in r.stderr, r.stderr)

    # Revoked through the API: the answer names what went with it.
    mid, mid_id = _made(port, other, "middle")
    low, low_id = _made(port, mid, "low")
    sib, _ = _made(port, other, "sibling")
    status, doc = call(port, "DELETE", "/api/v1/tokens/" + mid_id, other)
    eq((status, doc.get("offspring_revoked"), doc.get("offspring")), (200, 1, [low_id]),
       "DELETE answers with the offspring: %r" % (doc,))
    _revoked(port, low, "the API's offspring")
    eq(call(port, "GET", "/api/v1/health", sib)[0], 200, "a sibling lives")
    eq(call(port, "GET", "/api/v1/health", other)[0], 200, "the maker lives")

    # One record per revoked token, each on its owner, naming the token it came from.
    want = "token %s revoked: made from token %s" % (for_hd_id, leak_id)
    check(wait_until(lambda: any(e.get("unmapped", {}).get("change") == want for e in _audit(h)),
                     10.0), "the offspring's record arrives")
    recs = [e for e in _audit(h) if e.get("unmapped", {}).get("operation") == "admin_token.revoke"]
    changes = sorted(e["unmapped"]["change"] for e in recs)
    hd_rec = [e for e in recs if e["unmapped"]["change"] == want][0]
    eq(hd_rec["user"]["email_addr"], HD, "the record is on the token's owner")
    for tid, parent in ((kid_id, leak_id), (grand_id, leak_id), (low_id, mid_id)):
        check("token %s revoked: made from token %s" % (tid, parent) in changes, changes)
    check("token %s revoked, with 3 made from it" % leak_id in changes, changes)


def test_scoped_view_hides_groups_outside_the_scope(h):
    """A help desk scoped to school-a sees Alice (in school-a) but not her other groups; an
    auditor, who reads users everywhere, sees them all."""
    gw, port = _gateway(h)
    _school(h, gw)
    _cli(h, gw, "group", "add", "hr-private")
    _cli(h, gw, "group", "member-add", "hr-private", ALICE)
    alice = "/api/v1/users/" + ALICE.replace("@", "%40")
    hd, aud = _token(h, gw, HD), _token(h, gw, AUD)
    status, doc = call(port, "GET", alice, hd)
    eq((status, doc["groups"]), (200, ["school-a"]), "the help desk's view of Alice")
    status, doc = call(port, "GET", "/api/v1/users", hd)
    eq([u["groups"] for u in doc["users"] if u["email"] == ALICE], [["school-a"]],
       "the help desk's list")
    status, doc = call(port, "GET", alice, aud)
    eq(sorted(doc["groups"]), ["hr-private", "school-a"], "the auditor's view of Alice")


def test_records_name_the_person_and_the_token(h):
    gw, port = _gateway(h)
    _school(h, gw)
    hd = _token(h, gw, HD)
    alice = "/api/v1/users/" + ALICE.replace("@", "%40")
    eq(call(port, "POST", alice + "/reset-mfa", hd)[0], 200, "reset MFA")
    # The CLI's records reach the log through the spool, which the gateway drains each second.
    check(wait_until(lambda: any(e.get("unmapped", {}).get("operation") == "admin_token.create"
                                 for e in _audit(h)), 10.0), "the token's record arrives")
    events = _audit(h)
    change = [e for e in events if e.get("class_uid") == 3001 and
              e.get("unmapped", {}).get("operation") == "user.reset_mfa"]
    eq(len(change), 1, "one account change record")
    actor = change[0]["actor"]["user"]
    eq((actor["name"], actor["type"], actor["credential_uid"]),
       ("admin:" + HD, "Admin", "token:" + hd.split("_")[1]), "the change names person + token")
    call_rec = [e for e in events if e.get("api", {}).get("operation") == "user.reset_mfa"]
    eq(call_rec[-1]["actor"]["user"]["name"], "admin:" + HD, "the call names the person")
    grants = [e for e in events if e.get("unmapped", {}).get("operation") == "admin.grant"]
    eq(len(grants), 4, "one record per role granted")
    check(all(e["actor"]["user"].get("name") not in (None, "", "?") for e in grants),
          "the CLI's grants name the Unix user")
    made = [e for e in events if e.get("unmapped", {}).get("operation") == "admin_token.create"]
    eq(len(made), 1, "the token's creation is recorded")
    check(hd not in json.dumps(events), "no token in the records")


def test_bad_input(h):
    gw, port = _gateway(h)
    _school(h, gw)
    boss = _token(h, gw, BOSS)
    for body, want in (({"user": HD, "role": "root"}, "role must be"),
                       ({"user": HD, "role": "helpdesk", "scope": "nowhere"}, "group nowhere"),
                       ({"user": HD, "role": "helpdesk", "scope": "bad group!"}, "group name"),
                       ({"user": HD, "role": "helpdesk", "extra": 1}, "unknown field"),
                       ({"role": "helpdesk"}, "required")):
        status, doc = call(port, "POST", "/api/v1/admins", boss, body)
        eq(status, 400, "%r: %r" % (body, doc))
        check(want in doc["message"], "%r: %s" % (body, doc["message"]))
    eq(call(port, "POST", "/api/v1/admins", boss, {"user": "ghost@x.test",
                                                   "role": "auditor"})[0], 404, "no such user")
    for body in ({"name": "t", "expires": "10y"}, {"name": "t", "expires": "0d"},
                 {"name": "t", "expires": "30"}, {"name": "t", "scopes": ["root"]},
                 {"name": "t", "scopes": "users:read"}, {"name": ""}, {"scopes": ["assess"]}):
        status, doc = call(port, "POST", "/api/v1/tokens", boss, body)
        eq(status, 400, "%r: %r" % (body, doc))
    for bad in ("ztg_zz", "ztg_" + "0" * 16 + "_" + "A" * 43, boss[:-1] + ("A" if boss[-1] != "A"
                                                                         else "B"), boss + "x"):
        status, doc = call(port, "GET", "/api/v1/health", bad)
        eq(status, 401, "malformed or wrong token %r" % bad[:12])
    eq(call(port, "DELETE", "/api/v1/tokens/nothex", boss)[0], 404, "a bad token id")
    eq(call(port, "DELETE", "/api/v1/admins/" + HD.replace("@", "%40") + "?role=root",
            boss)[0], 400, "unknown role in the query")
    eq(call(port, "DELETE", "/api/v1/admins/" + HD.replace("@", "%40") + "?colour=red",
            boss)[0], 400, "unknown query parameter")
    # The CLI refuses the same things (usage errors exit 2, failures 1).
    _cli(h, gw, "admin", "add", HD, "--role", "root", rc=2)
    _cli(h, gw, "admin", "add", HD, rc=2)
    _cli(h, gw, "admin", "add", HD, "--role", "helpdesk", "--scope", "nowhere", rc=1)
    _cli(h, gw, "admin", "add", "ghost@x.test", "--role", "auditor", rc=1)
    _cli(h, gw, "admin", "token", "create", HD, "--name", "t", "--expires", "2y", rc=2)
    _cli(h, gw, "admin", "token", "create", HD, "--name", "t", "--scopes", "root", rc=2)
    _cli(h, gw, "admin", "token", "create", HD, rc=2)
    _cli(h, gw, "admin", "token", "create", ALICE, "--name", "t", rc=1)  # not an admin
    _cli(h, gw, "admin", "token", "create", HD, "--name", "t", "--scopes", "risk:write", rc=1)
    _cli(h, gw, "admin", "token", "revoke", "0123456789abcdef", rc=1)
    _cli(h, gw, "admin", "remove", ALICE, rc=1)
    r = _cli(h, gw, "admin", "token", "list", HD, "--json")
    eq(json.loads(r.stdout), [], "no token for HD")
