"""Front-ends are thin (issue 16): the same action through the CLI, the admin API and the web
console calls one service function, so it has the same effect in the store and writes the same
audit record but for the actor, times and ids.

Device revoke: three devices of one owner, one revoked through each front-end; the three
service records (Account Change, unmapped.operation device.revoke) must be equal field by field
once the actor, times, ids and the device itself are left out, and all three devices revoked.
Before zt_device_revoke_service the CLI wrote no record of the change at all (only its command
line) and the console a copy of the API's call record.

Admin role revoke: the same record through the CLI and the admin API, and the guard that keeps
the last unscoped global admin, which used to live in the admin API only (the CLI removed the
last one without a word)."""
import json
import os
import re
import shutil

from admin_auth import FIRST_ADMIN, personal_token
from harness import Skip, check, eq, free_port, port_open, timeout, wait_until
from portal_client import PASSWORD, add_user
from test_admin_api import Api
from test_console import CONSOLE, console_browser, make_admin, post

ADMIN, OWNER = "root@example.test", "owner@example.test"
HD1, HD2 = "hd1@example.test", "hd2@example.test"


def _gateway(h, playbooks=None):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port()},
              {"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    cfg = h.config([app], listen=listen,
                   extra={"admin": {"listen": "127.0.0.1:%d" % admin_port},
                          "audit": {"path": audit},
                          "playbooks": playbooks or []})
    gw = h.gateway(cfg)
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    api = Api(admin_port, personal_token(admin_port, gw.config["state_dir"]))
    return gw, api, audit


def _cli(h, gw, *args):
    r = h.cli(*args, "--config", gw.config_path)
    return r.returncode, r.stdout + r.stderr


def _ok_cli(h, gw, *args):
    rc, out = _cli(h, gw, *args)
    eq(rc, 0, " ".join(args) + ": " + out)
    return out


def _read(audit):
    if not os.path.exists(audit):
        return []
    with open(audit, errors="replace") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _service(audit, op, n, cls=3001):
    """The service's records of `op` (the CLI's arrive through the spool: wait for n)."""
    def found():
        return [r for r in _read(audit) if r.get("class_uid") == cls
                and r.get("unmapped", {}).get("operation") == op]
    wait_until(lambda: len(found()) >= n, 10.0)
    return found()


DROP = {"time", "metadata", "actor", "seq", "prev", "hash"}


def _strip(rec, also=()):
    """rec without the actor, times, ids and `also`; a certificate serial or detection id in the
    change text is the object's own, so it is left out too."""
    out = {k: v for k, v in rec.items() if k not in DROP and k not in also}
    if "change" in out.get("unmapped", {}):
        out["unmapped"] = dict(out["unmapped"],
                               change=re.sub(r"(detection|incident) \d+", r"\1 N",
                                             re.sub(r"serial [0-9a-f]+", "serial S",
                                                    out["unmapped"]["change"])))
    return out


def _enrol_device(h, gw, name):
    from test_device_admin import _enrol
    out = _ok_cli(h, gw, "device", "enroll-code", "--user", OWNER, "--json")
    dev, _ = _enrol(h, gw, json.loads(out)["code"], name=name)
    return dev


@timeout(180)
def test_device_revoke_same_through_cli_api_console(h):
    gw, api, audit = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    add_user(h, gw, OWNER, PASSWORD)
    devs = {door: _enrol_device(h, gw, "pc-" + door) for door in ("cli", "api", "console")}

    _ok_cli(h, gw, "device", "revoke", devs["cli"])
    r = api.req("POST", "/api/v1/devices/%s/revoke" % devs["api"])
    eq(r.status, 200, "API revoke: %r" % r.body[:300])
    b = console_browser(h, gw, ADMIN, create=False)
    r = post(b, "/devices/" + devs["console"], {"action": "revoke"})
    eq(r.status, 303, "console revoke: %r" % r.body[:300])

    # The effect: all three revoked in the store.
    for door, dev in devs.items():
        shown = json.loads(_ok_cli(h, gw, "device", "show", dev, "--json"))
        check(shown.get("revoked_at"), "%s: device revoked in the store: %r" % (door, shown))

    recs = _service(audit, "device.revoke", 3)
    by_dev = {r.get("device", {}).get("uid"): r for r in recs}
    for door, dev in devs.items():
        check(dev in by_dev, "%s: a device.revoke record of the change (have %r)"
              % (door, [r.get("device") for r in recs]))
    eq(len(recs), 3, "one service record per revoke")
    names = {door: by_dev[dev]["actor"]["user"]["name"] for door, dev in devs.items()}
    eq(names["api"], "admin:" + FIRST_ADMIN, "the API's actor")
    eq(names["console"], "admin:" + ADMIN, "the console's actor")
    base = _strip(by_dev[devs["api"]], also=("device",))
    for door in ("cli", "console"):
        eq(_strip(by_dev[devs[door]], also=("device",)), base, "%s record = API record" % door)
    eq(base["user"]["email_addr"], OWNER, "the owner named")
    # Revoking again is refused the same way everywhere.
    rc, out = _cli(h, gw, "device", "revoke", devs["api"])
    eq((rc != 0, "already revoked" in out), (True, True), "CLI again: " + out)
    eq(api.req("POST", "/api/v1/devices/%s/revoke" % devs["console"]).status, 409, "API again")


@timeout(120)
def test_admin_revoke_same_record_and_last_admin_guard(h):
    gw, api, audit = _gateway(h)
    for u in (HD1, HD2):
        add_user(h, gw, u, PASSWORD)
        make_admin(h, gw, u, "helpdesk")
    _ok_cli(h, gw, "admin", "remove", HD1, "--role", "helpdesk")
    r = api.req("DELETE", "/api/v1/admins/%s?role=helpdesk" % HD2)
    eq(r.status, 200, "API remove: %r" % r.body[:300])
    recs = _service(audit, "admin.revoke", 2)
    eq(len(recs), 2, "two admin.revoke records")
    eq(_strip(recs[0], also=("user",)), _strip(recs[1], also=("user",)), "CLI record = API record")

    # FIRST_ADMIN (the API's caller) is now the only unscoped global admin: no front-end may
    # take the role away.
    rc, out = _cli(h, gw, "admin", "remove", FIRST_ADMIN, "--role", "global_admin")
    eq(rc != 0, True, "CLI must refuse to remove the last global admin: " + out)
    check("last global admin" in out, "CLI says why: " + out)
    rc, out = _cli(h, gw, "admin", "remove", FIRST_ADMIN)
    eq(rc != 0, True, "CLI must refuse to remove every role of the last global admin: " + out)
    r = api.req("DELETE", "/api/v1/admins/%s" % FIRST_ADMIN)
    eq(r.status, 409, "API refuses: %r" % r.body[:300])
    eq(json.loads(r.body)["error"], "last_global_admin", "API error code")
    out = _ok_cli(h, gw, "admin", "list", "--json")
    check(FIRST_ADMIN in out, "still an admin: " + out)
    # With a second global admin, the first may go (through the CLI here).
    make_admin(h, gw, HD1)
    _ok_cli(h, gw, "admin", "remove", FIRST_ADMIN, "--role", "global_admin")


PLAYBOOK = [{"name": "stolen", "on": {"types": ["admin_confirmed_compromised"]},
             "actions": ["revoke_sessions", "open_incident"]}]
DOOR_USERS = {"cli": "u-cli@example.test", "api": "u-api@example.test",
              "console": "u-console@example.test"}


def _same_by_door(recs, doors, what):
    by_user = {r.get("user", {}).get("email_addr"): r for r in recs}
    for door in doors:
        check(DOOR_USERS[door] in by_user, "%s: a %s record (have %r)"
              % (door, what, sorted(k for k in by_user if k)))
    ref = _strip(by_user[DOOR_USERS[doors[0]]], also=("user",))
    for door in doors[1:]:
        eq(_strip(by_user[DOOR_USERS[door]], also=("user",)), ref,
           "%s: %s record = %s's" % (door, what, doors[0]))
    return ref


def _risk_state(h, gw, email):
    """The user's detections and incidents without ids, times and who decided."""
    from test_account_equivalence import _strip as strip_ids
    dets = json.loads(_ok_cli(h, gw, "risk", "list", "--user", email, "--json"))
    incs = [i for i in json.loads(_ok_cli(h, gw, "incident", "list", "--json"))
            if i.get("email") == email]
    lines = [strip_ids(json.loads(_ok_cli(h, gw, "incident", "show", str(i["id"]), "--json"))
                       ["timeline"]) for i in incs]
    out = {"detections": strip_ids(dets), "incidents": strip_ids(incs), "timelines": lines}
    text = re.sub(r"incident \d+", "incident N", json.dumps(out).replace(email, "U"))
    return json.loads(re.sub(r"\(by [^)]*\)", "(by A)", text))  # the actor, in a summary


@timeout(240)
def test_risk_verdicts_same_through_cli_api_console(h):
    from test_console_ops import post as ops_post
    gw, api, audit = _gateway(h, PLAYBOOK)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    ids = {}
    for door, email in DOOR_USERS.items():
        add_user(h, gw, email, PASSWORD)
        ids[door] = json.loads(_ok_cli(h, gw, "user", "show", email, "--json"))["id"]
    b = console_browser(h, gw, ADMIN, create=False)

    # Confirm compromised (the playbook opens an incident and revokes sessions).
    _ok_cli(h, gw, "risk", "confirm-compromised", DOOR_USERS["cli"])
    r = api.req("POST", "/api/v1/users/%s/confirm-compromised" % DOOR_USERS["api"])
    eq(r.status, 200, "API confirm: %r" % r.body[:300])
    r = ops_post(b, "/risk", {"action": "confirm", "user": ids["console"]})
    eq(r.status, 303, "console confirm: %r" % r.body[-300:])
    recs = _service(audit, "risk.confirm_compromised", 3, cls=2004)
    _same_by_door(recs, ["api", "cli", "console"], "risk.confirm_compromised")
    states = {door: _risk_state(h, gw, email) for door, email in DOOR_USERS.items()}
    check(states["api"]["incidents"], "the playbook opened an incident: %r" % states["api"])
    for door in ("cli", "console"):
        eq(states[door], states["api"], "%s: detections, incident and playbook steps" % door)

    # Dismiss one detection each.
    did = {door: json.loads(_ok_cli(h, gw, "risk", "list", "--user", email, "--json"))[0]["id"]
           for door, email in DOOR_USERS.items()}
    _ok_cli(h, gw, "risk", "dismiss", str(did["cli"]))
    r = api.req("POST", "/api/v1/risk/%d/dismiss" % did["api"])
    eq(r.status, 200, "API dismiss: %r" % r.body[:300])
    r = ops_post(b, "/risk", {"action": "dismiss", "id": str(did["console"])})
    eq(r.status, 303, "console dismiss: %r" % r.body[-300:])
    recs = _service(audit, "risk.dismiss", 3, cls=2004)
    _same_by_door(recs, ["api", "cli", "console"], "risk.dismiss")
    states = {door: _risk_state(h, gw, email) for door, email in DOOR_USERS.items()}
    for door in ("cli", "console"):
        eq(states[door], states["api"], "%s: after dismiss" % door)

    # Resolve the incident the playbook opened: the CLI and the console (the admin API has no
    # incident endpoint).
    inc = {door: [i for i in json.loads(_ok_cli(h, gw, "incident", "list", "--json"))
                  if i.get("email") == DOOR_USERS[door]][0]["id"] for door in ("cli", "console")}
    _ok_cli(h, gw, "incident", "resolve", str(inc["cli"]))
    r = ops_post(b, "/incidents/%d" % inc["console"], {"action": "resolve"})
    eq(r.status, 303, "console resolve: %r" % r.body[-300:])
    recs = _service(audit, "incident.resolve", 2, cls=2004)
    _same_by_door(recs, ["cli", "console"], "incident.resolve")
    eq(_risk_state(h, gw, DOOR_USERS["console"]), _risk_state(h, gw, DOOR_USERS["cli"]),
       "console: after resolving the incident")

    # Dismiss all of a user's risk: the admin API, the console and the CLI.
    for door in ("api", "console", "cli"):  # risky again, the same way
        _ok_cli(h, gw, "risk", "confirm-compromised", DOOR_USERS[door])
    _ok_cli(h, gw, "risk", "dismiss-user", DOOR_USERS["cli"])
    r = api.req("POST", "/api/v1/users/%s/dismiss-risk" % DOOR_USERS["api"])
    eq(r.status, 200, "API dismiss-risk: %r" % r.body[:300])
    page = b.get("/risk").body
    check(b'value="dismiss_user"' in page, "the console offers dismissing a user's risk")
    r = ops_post(b, "/risk", {"action": "dismiss_user", "user": ids["console"]})
    eq(r.status, 303, "console dismiss user: %r" % r.body[-300:])
    recs = _service(audit, "risk.dismiss_user", 3, cls=2004)
    _same_by_door(recs, ["api", "console", "cli"], "risk.dismiss_user")
    a, c = _risk_state(h, gw, DOOR_USERS["api"]), _risk_state(h, gw, DOOR_USERS["console"])
    eq(_risk_state(h, gw, DOOR_USERS["cli"]), c, "cli: the same as the console after dismissing")
    # The console user's first incident was resolved above, so its second confirm opened a new
    # one where the API user's joined the open one: compare the detections and that the
    # newest incident of each is resolved by the verdict.
    eq(c["detections"], a["detections"], "console: detections after dismissing the user's risk")
    eq([x["incidents"][0]["status"] for x in (a, c)], ["resolved", "resolved"],
       "the user's incident resolved by the dismissal")
