"""`ztgate risk` as an admin uses it on a real state directory: confirm a user compromised, see
the detection in list (text and JSON) and show, dismiss it, remediate, and get exit status 2
for bad input and 1 for unknown users or detections. Every change bumps STATE_DIR/revocation."""
import json
import os

from harness import check, eq
from portal_client import PASSWORD, add_user

ALICE = "alice@example.test"


def _gw(h):
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host="app.test")])
    return h.gateway(cfg, start=False)


def _revocation(gw):
    path = os.path.join(gw.config["state_dir"], "revocation")
    return open(path, "rb").read() if os.path.exists(path) else b""


def test_risk_cli_confirm_list_show_dismiss_remediate(h):
    gw = _gw(h)
    conf = ("--config", gw.config_path)
    add_user(h, gw, ALICE, PASSWORD)

    r = h.cli("risk", "list", *conf)
    eq(r.returncode, 0, "empty list: " + r.stderr)
    before = _revocation(gw)
    r = h.cli("risk", "confirm-compromised", ALICE, *conf)
    eq(r.returncode, 0, "confirm: " + r.stderr)
    check("compromised" in r.stdout, r.stdout)
    check(_revocation(gw) != before, "confirm bumps the revocation counter")

    r = h.cli("risk", "list", "--user", ALICE, "--json", *conf)
    eq(r.returncode, 0, r.stderr)
    dets = json.loads(r.stdout)
    eq(len(dets), 1, r.stdout)
    d = dets[0]
    eq(d["type"], "admin_confirmed_compromised", r.stdout)
    eq(d["level"], "high", r.stdout)
    eq(d["state"], "confirmed_compromised", r.stdout)
    eq(d["email"], ALICE, r.stdout)
    did = str(d["id"])

    r = h.cli("risk", "list", *conf)
    check(ALICE in r.stdout and "admin_confirmed_compromised" in r.stdout, r.stdout)
    r = h.cli("risk", "list", "--state", "at_risk", "--json", *conf)
    eq(json.loads(r.stdout), [], "no at_risk detections")
    r = h.cli("risk", "show", did, *conf)
    eq(r.returncode, 0, r.stderr)
    check("adminConfirmedUserCompromised" in r.stdout, r.stdout)

    r = h.cli("risk", "dismiss", did, *conf)
    eq(r.returncode, 0, "dismiss: " + r.stderr)
    r = h.cli("risk", "show", did, "--json", *conf)
    eq(json.loads(r.stdout)["state"], "dismissed", r.stdout)
    r = h.cli("risk", "dismiss", did, *conf)
    eq(r.returncode, 1, "dismissing twice: " + r.stderr)
    check("already closed" in r.stderr, r.stderr)

    h.cli("risk", "confirm-compromised", ALICE, *conf)
    r = h.cli("risk", "remediate", ALICE, *conf)
    eq(r.returncode, 0, "remediate: " + r.stderr)
    check("remediated 1 " in r.stdout, r.stdout)
    r = h.cli("risk", "list", "--state", "remediated", "--json", *conf)
    eq(len(json.loads(r.stdout)), 1, r.stdout)


def test_risk_cli_bad_input(h):
    gw = _gw(h)
    conf = ("--config", gw.config_path)
    for args in (["risk", "show", "abc"], ["risk", "show", "-3"], ["risk", "dismiss", "1x"],
                 ["risk", "list", "--state", "bogus"], ["risk", "list", "--user"],
                 ["risk", "frobnicate"], ["risk", "show"], ["risk", "list", "--nope"]):
        r = h.cli(*args, *conf)
        eq(r.returncode, 2, "%s: %s" % (" ".join(args), r.stderr))
    for args in (["risk", "show", "999"], ["risk", "dismiss", "999"],
                 ["risk", "confirm-compromised", "ghost@example.test"],
                 ["risk", "list", "--user", "ghost@example.test"]):
        r = h.cli(*args, *conf)
        eq(r.returncode, 1, "%s: %s" % (" ".join(args), r.stderr))
        check("not found" in r.stderr, r.stderr)
