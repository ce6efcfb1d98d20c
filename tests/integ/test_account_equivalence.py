"""One account service under every front-end (issue 11, item 4): every account operation runs
once through the CLI and once through the admin API, on two identical setups (a gateway with
its audit log, a signed-in user, a playbook on a confirmed compromise). Afterwards the two
stores (users, groups, memberships, sessions, MFA state, detections, incidents with their
timelines, temporary access passes), the service's audit records (Account Change records of
the changes and the Detection Findings of incidents, without the actor, times and ids) and the
playbook effects must be equal. Before the service layer the CLI wrote one generic "command
line" record per change and the admin API none of the change itself, so the records could not
match."""
import json
import os

from admin_auth import FIRST_ADMIN, personal_token
from harness import APP_HOST, eq, free_port
from portal_client import PASSWORD, complete_sign_in, Browser
from test_admin_api import Api

ALICE, BOB = "alice@example.test", "bob@example.test"
NEW_PW = PASSWORD + "-rotated"


def _setup(h, name):
    state = h.path("state-" + name)
    admin_port = free_port()
    extra = {
        "state_dir": state,
        "audit": {"path": os.path.join(state, "audit", "audit.log")},
        "admin": {"listen": "127.0.0.1:%d" % admin_port},
        "playbooks": [{"name": "stolen-password",
                       "on": {"types": ["admin_confirmed_compromised"]},
                       "actions": ["revoke_sessions", "disable_user", "open_incident"]}],
    }
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host=APP_HOST,
                          sensitivity="internal")], extra=extra)
    gw = h.gateway(cfg, name="ztgate-" + name)
    return gw, admin_port


def _ok_cli(h, gw, *args, password=None):
    r = h.cli(*args, "--config", gw.config_path,
              input=None if password is None else password + "\n")
    eq(r.returncode, 0, " ".join(args) + ": " + r.stdout + r.stderr)
    return r


class CliDoor:
    """The operations as `ztgate` commands."""

    def __init__(self, h, gw):
        self.h, self.gw = h, gw

    def group_create(self, g):
        _ok_cli(self.h, self.gw, "group", "add", g)

    def group_delete(self, g):
        _ok_cli(self.h, self.gw, "group", "delete", g)

    def member_add(self, g, u):
        _ok_cli(self.h, self.gw, "group", "member-add", g, u)

    def member_remove(self, g, u):
        _ok_cli(self.h, self.gw, "group", "member-remove", g, u)

    def create(self, email, name, groups, password):
        args = ["user", "add", email, "--name", name, "--password-stdin"]
        for g in groups:
            args += ["--group", g]
        _ok_cli(self.h, self.gw, *args, password=password)

    def user(self, action, email, password=None):
        cmd = {"password": "passwd"}.get(action, action)
        args = ["user", cmd, email] + (["--password-stdin"] if password else [])
        _ok_cli(self.h, self.gw, *args, password=password)

    def confirm(self, email):
        _ok_cli(self.h, self.gw, "risk", "confirm-compromised", email)

    def tap_issue(self, email):
        _ok_cli(self.h, self.gw, "user", "tap", email, "--lifetime", "2h", "--uses", "3")

    def tap_revoke(self, email):
        _ok_cli(self.h, self.gw, "user", "tap", email, "--revoke")


class ApiDoor:
    """The same operations as admin API calls."""

    def __init__(self, gw, port):
        self.api = Api(port, personal_token(port, gw.config["state_dir"]))

    def _ok(self, method, path, body=None, want=(200, 201, 204)):
        r = self.api.req(method, path, body)
        eq(r.status in want, True, "%s %s: %d %r" % (method, path, r.status, r.body[:300]))
        return r

    def group_create(self, g):
        self._ok("POST", "/api/v1/groups", {"name": g})

    def group_delete(self, g):
        self._ok("DELETE", "/api/v1/groups/" + g)

    def member_add(self, g, u):
        self._ok("POST", "/api/v1/groups/%s/members" % g, {"user": u})

    def member_remove(self, g, u):
        self._ok("DELETE", "/api/v1/groups/%s/members/%s" % (g, u))

    def create(self, email, name, groups, password):
        self._ok("POST", "/api/v1/users", {"email": email, "name": name, "groups": groups,
                                           "password": password})

    def user(self, action, email, password=None):
        if action == "delete":
            self._ok("DELETE", "/api/v1/users/" + email)
        elif action == "password":
            self._ok("POST", "/api/v1/users/%s/password" % email, {"password": password})
        else:
            self._ok("POST", "/api/v1/users/%s/%s" % (email, action))

    def confirm(self, email):
        self._ok("POST", "/api/v1/users/%s/confirm-compromised" % email)

    def tap_issue(self, email):
        self._ok("POST", "/api/v1/users/%s/tap" % email, {"lifetime_minutes": 120, "uses": 3})

    def tap_revoke(self, email):
        self._ok("DELETE", "/api/v1/users/%s/tap" % email)


def _sign_in(gw, email, password, b=None):
    """A browser signed in (enrolling TOTP the first time); returns it."""
    if b is None:
        b = Browser(gw.port, host=APP_HOST)
        b.secret, b.recovery_codes = None, []
    b.cookies.clear()
    complete_sign_in(b, email, password)
    return b


def _run_everything(gw, door):
    """Every account operation, in an order where each one has something to act on."""
    door.group_create("eng")
    door.group_create("ops")
    door.create(ALICE, "Alice", ["eng"], PASSWORD)
    door.create(BOB, "Bob", [], PASSWORD)
    b = _sign_in(gw, ALICE, PASSWORD)
    door.member_add("ops", ALICE)
    door.member_remove("eng", ALICE)
    door.user("revoke-sessions", ALICE)
    _sign_in(gw, ALICE, PASSWORD, b)
    door.user("reset-mfa", ALICE)
    b = _sign_in(gw, ALICE, PASSWORD)  # enrols again
    door.user("password", ALICE, NEW_PW)
    _sign_in(gw, ALICE, NEW_PW, b)
    door.user("disable", ALICE)
    door.user("enable", ALICE)
    _sign_in(gw, ALICE, NEW_PW, b)
    door.tap_issue(ALICE)
    door.tap_revoke(ALICE)
    door.tap_issue(BOB)  # deleted with bob below
    door.confirm(ALICE)  # playbook: revoke, disable, incident
    door.user("delete", BOB)
    door.group_delete("ops")
    return b


DROP = {"id", "at", "created_at", "updated_at", "request_id", "time", "seq", "prev", "hash",
        "actor", "metadata", "last_sign_in_at", "password_changed_at", "auth_time", "mfa_time",
        "idle_expires_at", "absolute_expires_at", "id_hash", "first_seen", "last_seen",
        "detected_at", "revocation_epoch_at", "expires_at"}


def _strip(v):
    """v without times, ids and the actor."""
    if isinstance(v, dict):
        out = {k: _strip(x) for k, x in v.items() if k not in DROP}
        if isinstance(out.get("evidence"), dict):
            out["evidence"].pop("by", None)
        for k in ("user_id", "uid"):
            out.pop(k, None)
        return out
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


def _cli_json(h, gw, *args):
    r = _ok_cli(h, gw, *args, "--json")
    return json.loads(r.stdout)


def _passes(gw):
    """Temporary access passes as stored, without the hash (random), times and issuer (the
    actor): whose, how many uses, how many left, whether revoked."""
    db = gw.h.store_db(os.path.join(gw.config["state_dir"], "ztgate.db"))
    try:
        return db.execute("SELECT u.email, t.uses, t.uses_left, t.revoked_at > 0, "
                          "length(t.pass_hash), t.expires_at - t.created_at "
                          "FROM temporary_access_passes t JOIN users u ON u.id = t.user_id "
                          "ORDER BY u.email").fetchall()
    finally:
        db.close()


def _store(h, gw):
    groups = _cli_json(h, gw, "group", "list")
    incs = _cli_json(h, gw, "incident", "list")
    return {
        # The admin API's caller (the first admin, docs/ADMINS.md) is not part of the comparison.
        "users": [u for u in _strip(_cli_json(h, gw, "user", "list")) if u["email"] != FIRST_ADMIN],
        "alice": _strip(_cli_json(h, gw, "user", "show", ALICE)),
        "groups": _strip(groups),
        "members": {g["name"]: _strip(_cli_json(h, gw, "group", "members", g["name"]))
                    for g in groups},
        "sessions": _strip(_cli_json(h, gw, "user", "sessions", ALICE)),
        "risk": _strip(_cli_json(h, gw, "risk", "list")),
        "incidents": _strip(incs),
        "timelines": [_strip(_cli_json(h, gw, "incident", "show", str(i["id"]))["timeline"])
                      for i in incs],
        "passes": _passes(gw),
    }


def _service_records(gw):
    """The account service's records and the incidents' Detection Findings, in log order;
    the front-ends' own records (the API call, the command line) are theirs to differ."""
    out = []
    with open(gw.config["audit"]["path"], errors="replace") as f:
        for line in f:
            rec = json.loads(line)
            ours = rec.get("class_uid") == 3001 and "operation" in rec.get("unmapped", {})
            finding = rec.get("class_uid") == 2004 and "api" not in rec
            # The first admin the API door's token comes from (admin_auth) is not compared.
            mine = rec.get("user", {}).get("email_addr") == FIRST_ADMIN
            if (ours or finding) and not mine:
                out.append(_strip(rec))
    return out


def test_every_account_operation_same_through_cli_and_admin_api(h):
    gw_api, admin_port = _setup(h, "api")
    gw_cli, _ = _setup(h, "cli")
    b_api = _run_everything(gw_api, ApiDoor(gw_api, admin_port))
    b_cli = _run_everything(gw_cli, CliDoor(h, gw_cli))

    api, cli = _store(h, gw_api), _store(h, gw_cli)
    # Whether a sign-in spent a recovery code depends on the clock (two sign-ins inside one
    # TOTP step), not on the door: each store must hold exactly the codes its browser did not
    # spend, and the rest of the MFA state is compared across the doors.
    for store, b in ((api, b_api), (cli, b_cli)):
        left = len(b.recovery_codes)
        for u in store["users"] + [store["alice"]]:
            if u["email"] == ALICE:
                eq(u["mfa"]["recovery_codes_left"], left, "alice's unspent recovery codes")
                u["mfa"]["recovery_codes_left"] = "as spent"
    for part in api:
        eq(cli[part], api[part], "store: " + part)
    eq(api["alice"]["status"], "disabled", "the playbook disabled alice: %r" % api["alice"])
    eq(len(api["incidents"]), 1, "one incident: %r" % api["incidents"])
    eq([u["email"] for u in api["users"]], [ALICE], "bob is gone")
    eq(api["passes"], [(ALICE, 3, 3, 1, 32, 7200)], "alice's pass revoked, bob's gone with him")

    # The CLI's records reach the log through the spool: stop both to read final logs.
    gw_api.proc.stop()
    gw_cli.proc.stop()
    ra, rc = _service_records(gw_api), _service_records(gw_cli)
    ops = [r["unmapped"]["operation"] for r in ra if r["class_uid"] == 3001]
    for op in ("group.create", "group.delete", "group.member_add", "group.member_remove",
               "user.create", "user.disable", "user.enable", "user.password", "user.reset_mfa",
               "user.revoke_sessions", "user.delete", "user.tap_issue", "user.tap_revoke"):
        eq(op in ops, True, "an Account Change record for %s in %r" % (op, ops))
    print("    %d service records, %d account changes" % (len(ra), len(ops)), flush=True)
    eq(len(rc), len(ra), "as many service records through both doors")
    for i, (a, c) in enumerate(zip(ra, rc)):
        eq(c, a, "audit record %d" % i)


def test_gateways_not_told_is_an_error_through_both_doors(h):
    """A change whose revocation bump fails is saved, but running gateways keep their cached
    sessions: the CLI exits non-zero and the admin API answers 500 gateways_not_told, with the
    same words, instead of 200."""
    gw, admin_port = _setup(h, "notold")
    cli, api = CliDoor(h, gw), ApiDoor(gw, admin_port)
    cli.create(ALICE, "Alice", [], PASSWORD)
    cli.create(BOB, "Bob", [], PASSWORD)
    cli.group_create("nurses")
    rev = os.path.join(gw.config["state_dir"], "revocation")
    os.rename(rev, rev + ".moved")
    os.mkdir(rev)  # the counter cannot be opened: every bump fails
    try:
        r = h.cli("user", "revoke-sessions", ALICE, "--config", gw.config_path)
        said = r.stdout + r.stderr
        eq(r.returncode != 0, True, "CLI exit status: " + said)
        eq("running gateways were not told" in said, True, "CLI says why: " + said)
        a = api.api.req("POST", "/api/v1/users/%s/revoke-sessions" % BOB)
        eq(a.status, 500, "admin API status: %r" % a.body[:300])
        body = json.loads(a.body)
        eq(body["error"], "gateways_not_told", "admin API error code")
        eq("running gateways were not told" in body["message"], True, body["message"])
        eq("restart the gateways" in body["message"], True, body["message"])
        a = api.api.req("POST", "/api/v1/groups/nurses/members", {"user": ALICE})
        eq((a.status, json.loads(a.body)["error"]), (500, "gateways_not_told"), "member add")
    finally:
        os.rmdir(rev)
        os.rename(rev + ".moved", rev)
    # The changes were saved: with the counter back, the next change through either door is
    # plain success, and the membership added above is there.
    api._ok("POST", "/api/v1/users/%s/revoke-sessions" % BOB)
    members = json.loads(api.api.req("GET", "/api/v1/groups/nurses").body)["members"]
    eq([m["email"] for m in members], [ALICE], "the membership was saved")
