"""Device signals through the real gateway (issue 10, finding 6): a posture report whose
compliance breaks raises `device_noncompliant` (with the rule that broke) into an incident whose
playbook isolates the device and notifies the webhook; the next compliant report remediates it,
releases the isolation and resolves the incident. An agent that stops reporting raises
`device_silent` from the gateway's own timer (devices.silent_after: 2s), with no request at all;
its next report resolves the incident. Both leave audit records. The device is driven with the
openssl and curl CLIs, as test_device_server.py does."""
import json
import os
import shutil
import subprocess

from harness import Skip, check, eq, free_port, wait_until
from portal_client import PASSWORD, add_user
from test_device_server import POSTURE, _curl
from test_incident import Receiver

ALICE = "alice@example.test"


def _gateway(h, extra):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host="app.test")], listen=listen,
                   extra=extra)
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, ALICE, PASSWORD)
    gw.start()
    return gw


def _enrol(h, gw):
    """(device id, cert, key, base URL) of a device enrolled for ALICE."""
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port
    r = h.cli("device", "enroll-code", "--user", ALICE, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "enroll-code: " + r.stderr)
    code = json.loads(r.stdout)["code"]
    key, csr, cert = h.path("device.key"), h.path("device.csr"), h.path("device.pem")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=pc-17"], check=True, capture_output=True)
    body = {"code": code, "csr": open(csr).read(), "hostname": "pc-17", "platform": "linux"}
    _, status, out = _curl(base + "enroll", body)
    eq(status, 201, "enrol: %r" % (out,))
    with open(cert, "w") as f:
        f.write(out["certificate"])
    return out["device_id"], cert, key, base


def _incidents(h, gw):
    r = h.cli("incident", "list", "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "incident list: " + r.stderr)
    return json.loads(r.stdout)


def _timeline(h, gw, iid):
    r = h.cli("incident", "show", str(iid), "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "incident show: " + r.stderr)
    return json.loads(r.stdout)["timeline"]


def _records(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _setup(h, rv, devices, playbook):
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    extra = {"audit": {"path": audit},
             "devices": devices,
             "incidents": {"notify": {"url": "http://127.0.0.1:%d/hook" % rv.port,
                                      "timeout": "2s", "retries": 3, "backoff": "200ms"}},
             "playbooks": [playbook]}
    gw = _gateway(h, extra)
    return gw, audit


def test_device_noncompliant_opens_and_resolves_an_incident(h):
    rv = Receiver(fail_first=0)
    try:
        gw, audit = _setup(h, rv, {"require_disk_encryption": True},
                           {"name": "device-hygiene",
                            "on": {"types": ["device_noncompliant"]},
                            "actions": ["isolate_device", "open_incident", "notify"],
                            "undo_on_remediation": True})
        device_id, cert, key, base = _enrol(h, gw)
        _, status, out = _curl(base + "posture", POSTURE, cert, key)
        eq((status, out.get("compliant")), (200, True), "compliant report: %r" % (out,))
        eq(_incidents(h, gw), [], "a compliant device is no incident")

        bad = dict(POSTURE, disk_encryption={"root": "none"})
        _, status, out = _curl(base + "posture", bad, cert, key)
        eq((status, out.get("compliant")), (200, False), "non-compliant report: %r" % (out,))
        incs = _incidents(h, gw)
        eq(len(incs), 1, "device_noncompliant opened an incident: %s" % json.dumps(incs))
        inc = incs[0]
        eq(inc["title"], "Non-compliant device on device pc-17", json.dumps(inc))
        eq((inc["device_id"], inc["status"], inc["severity"]), (device_id, "contained", "medium"),
           json.dumps(inc))
        tl = _timeline(h, gw, inc["id"])
        eq(tl[0]["kind"], "detection", json.dumps(tl))
        eq(tl[0]["detail"]["type"], "device_noncompliant", json.dumps(tl[0]))
        eq(tl[0]["detail"]["evidence"], {"rules": "disk_encryption"}, json.dumps(tl[0]))
        check("Disk encryption is off" in tl[0]["summary"], tl[0]["summary"])
        r = h.cli("device", "show", device_id, "--json", "--config", gw.config_path)
        eq(json.loads(r.stdout)["risk"], "high", "the playbook isolated the device")

        # The same failure again is no news; a compliant report remediates.
        _curl(base + "posture", bad, cert, key)
        eq(len(_timeline(h, gw, inc["id"])), len(tl), "a repeated failure adds nothing")
        _, status, out = _curl(base + "posture", POSTURE, cert, key)
        eq((status, out.get("compliant")), (200, True), "compliant again: %r" % (out,))
        eq(_incidents(h, gw)[0]["status"], "resolved", "the incident resolved")
        kinds = [(e["kind"], e["detail"].get("type") or e["detail"].get("action"))
                 for e in _timeline(h, gw, inc["id"])]
        check(("remediation", "device_compliant") in kinds, kinds)
        check(("undo", "isolate_device") in kinds, kinds)
        r = h.cli("device", "show", device_id, "--json", "--config", gw.config_path)
        eq(json.loads(r.stdout)["risk"], "none", "the isolation was released")

        check(wait_until(lambda: len(rv.posts) >= 1, 10.0), "webhook notified")
        doc = json.loads(rv.posts[0][2])
        eq((doc["type"], doc["device"]), ("device_noncompliant", device_id), json.dumps(doc))
        gw.proc.stop()
        found = [r for r in _records(audit) if r.get("class_uid") == 2003
                 and r.get("device", {}).get("uid") == device_id]
        eq([(r["activity_id"], r["unmapped"]["signal_type"]) for r in found],
           [(1, "device_noncompliant"), (3, "device_compliant")], json.dumps(found))
        eq(found[0]["unmapped"]["rules"], "disk_encryption", json.dumps(found[0]))
    finally:
        rv.close()


def test_device_silent_agent_raises_an_incident_from_the_timer(h):
    rv = Receiver(fail_first=0)
    try:
        gw, audit = _setup(h, rv, {"silent_after": "2s", "posture_max_age": "1m"},
                           {"name": "silent-agent", "on": {"types": ["device_silent"]},
                            "actions": ["open_incident", "notify"]})
        device_id, cert, key, base = _enrol(h, gw)
        _, status, out = _curl(base + "posture", POSTURE, cert, key)
        eq(status, 200, "posture: %r" % (out,))
        # No request from now on: only the gateway's timer can notice the silence.
        got = []
        check(wait_until(lambda: got.extend(_incidents(h, gw)) or got, 20.0, interval=0.25),
              "no incident after the agent fell silent")
        inc = got[0]
        eq((inc["device_id"], inc["title"]), (device_id, "Silent agent on device pc-17"), json.dumps(inc))
        tl = _timeline(h, gw, inc["id"])
        eq((tl[0]["kind"], tl[0]["detail"]["type"]), ("detection", "device_silent"),
           json.dumps(tl))
        check(tl[0]["summary"].startswith("agent silent: no report for"), tl[0]["summary"])
        check(wait_until(lambda: len(rv.posts) >= 1, 10.0), "webhook notified")
        eq(json.loads(rv.posts[0][2])["type"], "device_silent", rv.posts[0][2].decode())

        # The agent reports again: the incident resolves.
        _, status, out = _curl(base + "posture", POSTURE, cert, key)
        eq(status, 200, "posture: %r" % (out,))
        first = [i for i in _incidents(h, gw) if i["id"] == inc["id"]][0]
        eq(first["status"], "resolved", json.dumps(first))
        kinds = [(e["kind"], e["detail"].get("type")) for e in _timeline(h, gw, inc["id"])]
        check(("remediation", "agent_reported") in kinds, kinds)

        # Silent again: a new incident; this time the agent comes back with an alert.
        again = []
        check(wait_until(lambda: again.extend(i for i in _incidents(h, gw)
                                              if i["status"] != "resolved") or again,
                         20.0, interval=0.25), "no incident for the second silence")
        alert = {"event": "clean_scan", "path": "/home/alice/nothing", "detected_at":
                 "2026-11-23T10:05:00Z"}
        _, status, out = _curl(base + "alert", alert, cert, key)
        eq(status, 200, "alert: %r" % (out,))
        kinds = [(e["kind"], e["detail"].get("type")) for e in _timeline(h, gw, again[0]["id"])]
        check(("remediation", "agent_reported") in kinds, kinds)
        gw.proc.stop()
        types = [(r["activity_id"], r["unmapped"]["signal_type"]) for r in _records(audit)
                 if r.get("class_uid") == 2004 and r.get("device", {}).get("uid") == device_id
                 and "signal_type" in r.get("unmapped", {})]
        check((1, "device_silent") in types and (3, "agent_reported") in types, types)
        check(types.index((1, "device_silent")) < types.index((3, "agent_reported")), types)
    finally:
        rv.close()


def test_device_silent_after_longer_than_posture_max_age_is_refused(h):
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host="app.test")],
                   extra={"devices": {"silent_after": "2h", "posture_max_age": "1h"}})
    gw = h.gateway(cfg, start=False)
    r = h.cli("check-config", "--config", gw.config_path)
    check(r.returncode != 0, "accepted: " + r.stdout)
    check("silent_after must not be longer than posture_max_age" in r.stdout + r.stderr,
          r.stdout + r.stderr)
    cfg["devices"] = {"posture_max_age": "10m"}  # the 1h default shrinks to fit
    gw = h.gateway(cfg, start=False)
    r = h.cli("check-config", "--config", gw.config_path)
    eq(r.returncode, 0, r.stdout + r.stderr)
