"""Admin API for devices on a real gateway: make an enrolment code, enrol a "device" with it as
ztagent would (openssl + curl), list and show it (posture, verdict, alerts), revoke it (its next
TLS handshake fails), delete it. Bad input: no token 401, bad JSON 400, unknown fields 400,
unknown device or user 404, wrong method 405, a second revoke 409. Every call is one audit
record, the device calls name the device, and no record holds the enrolment code."""
import json
import os
import shutil
import subprocess

from admin_auth import personal_token
from harness import Skip, check, eq, free_port, port_open, wait_until
from portal_client import PASSWORD, add_user
from test_admin_api import Api
from test_device_server import POSTURE, _curl

ALICE = "alice@example.test"
BOB = "bob@example.test"


def _gateway(h):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host="app.test")], listen=listen,
                   # admin before devices: with `auth:` in the file, a `devices:` section
                   # ahead of `admin:` loses admin.token_file's default (config bug, reported).
                   extra={"admin": {"listen": "127.0.0.1:%d" % admin_port},
                          "audit": {"path": audit},
                          "devices": {"enroll_code_ttl": "15m"}})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, ALICE, PASSWORD)
    add_user(h, gw, BOB, PASSWORD)
    gw.start()
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token file")
    with open(token_path) as f:
        token = personal_token(admin_port, bootstrap=f.read().strip())
    return gw, Api(admin_port, token), audit


def _enrol(h, gw, code, name="pc-17"):
    """Enrol as ztagent does; returns (device id, (cert, key))."""
    key, csr = h.path(name + ".key"), h.path(name + ".csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + name], check=True, capture_output=True)
    body = {"code": code, "csr": open(csr).read(), "hostname": name, "platform": "linux"}
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port
    rc, status, out = _curl(base + "enroll", body)
    eq(status, 201, "enrol: %r" % (out,))
    cert = h.path(name + ".pem")
    with open(cert, "w") as f:
        f.write(out["certificate"])
    return out["device_id"], (cert, key)


def _audit(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _ops(path):
    return [(r.get("api", {}).get("operation"), r.get("http_response", {}).get("code"))
            for r in _audit(path) if r.get("api", {}).get("operation")]


def test_device_admin_api(h):
    gw, api, audit = _gateway(h)
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port

    # No token, wrong token.
    r = api.req("GET", "/api/v1/devices", token=False)
    eq(r.status, 401, "no token")
    check(r.header("WWW-Authenticate", "").startswith("Bearer"), "WWW-Authenticate")
    r = api.req("POST", "/api/v1/devices/enroll-codes", {"user": ALICE}, token="x" * 43)
    eq(r.status, 401, "wrong token")

    # Enrolment codes: good path and bad input.
    r = api.req("POST", "/api/v1/devices/enroll-codes", {"user": ALICE, "ttl": "15m"})
    eq(r.status, 201, "enroll-code: %r" % r.body)
    out = r.json()
    code = out["code"]
    check(len(code) == 11 and code[5] == "-", code)
    eq(out["user"], ALICE, "code for alice")
    check(out["expires_at"].endswith("Z"), out)
    for body, raw, status, err in (
            (None, b"{not json", 400, "invalid_json"),
            ({"user": ALICE, "colour": "red"}, None, 400, "unknown_field"),
            ({"ttl": "15m"}, None, 400, "missing_field"),
            ({"user": ALICE, "ttl": "forever"}, None, 400, "invalid_field"),
            ({"user": ALICE, "ttl": "30s"}, None, 400, "invalid_field"),
            ({"user": ALICE, "ttl": 900}, None, 400, "invalid_field"),
            ({"user": "ghost@example.test"}, None, 404, "not_found")):
        r = api.req("POST", "/api/v1/devices/enroll-codes", body, raw=raw)
        eq(r.status, status, "enroll-code %r: %r" % (body or raw, r.body))
        eq(r.json()["error"], err, "error code for %r" % (body or raw,))
    r = api.req("POST", "/api/v1/devices/enroll-codes", raw=b'{"user":"a"}', ctype=False)
    eq(r.status, 415, "no Content-Type")
    r = api.req("GET", "/api/v1/devices/enroll-codes")
    eq(r.status, 405, "GET enroll-codes")
    eq(r.header("Allow"), "POST", "Allow")

    # The code enrols a device; it reports posture and a malware alert.
    device_id, (cert, key) = _enrol(h, gw, code)
    rc, status, out = _curl(base + "posture", POSTURE, cert, key)
    eq(status, 200, "posture: %r" % (out,))
    alert = {"event": "detected", "path": "/home/alice/x.com", "sha256": "ab" * 32,
             "signature": "Eicar-Test-Signature", "detected_at": "2026-11-23T10:05:00Z"}
    rc, status, out = _curl(base + "alert", alert, cert, key)
    eq(status, 200, "alert: %r" % (out,))

    # List, filter, show.
    r = api.req("GET", "/api/v1/devices")
    eq(r.status, 200, "list: %r" % r.body)
    devs = r.json()["devices"]
    eq([d["id"] for d in devs], [device_id], "listed")
    eq((devs[0]["user"], devs[0]["name"], devs[0]["platform"], devs[0]["state"]),
       (ALICE, "pc-17", "linux", "compliant"), "list entry")
    eq((devs[0]["risk"], devs[0]["active_alerts"]), ("high", 1), "risk in the list")
    r = api.req("GET", "/api/v1/devices?user=alice%40example.test")
    eq([d["id"] for d in r.json()["devices"]], [device_id], "alice's devices")
    r = api.req("GET", "/api/v1/devices?user=" + BOB)
    eq(r.json()["devices"], [], "bob has none")
    r = api.req("GET", "/api/v1/devices?user=ghost%40example.test")
    eq(r.status, 404, "unknown user in the filter")
    r = api.req("GET", "/api/v1/devices?colour=red")
    eq((r.status, r.json()["error"]), (400, "invalid_query"), "unknown query parameter")

    r = api.req("GET", "/api/v1/devices/" + device_id)
    eq(r.status, 200, "show: %r" % r.body)
    d = r.json()
    eq(d["id"], device_id, "show id")
    eq(d["posture"]["os"]["id"], "debian", "latest posture report")
    check(d["posture_at"] is not None, "posture time")
    eq(d["compliance"]["compliant"], True, "verdict: %r" % d["compliance"])
    eq(d["compliance"]["risk"], "high", "risk from the alert")
    eq([(a["state"], a["signature"]) for a in d["alerts"]],
       [("active", "Eicar-Test-Signature")], "active alerts")
    for bad in ("0" * 32, "not-a-device", "A" * 32):
        r = api.req("GET", "/api/v1/devices/" + bad)
        eq((r.status, r.json()["error"]), (404, "not_found"), "unknown device %s" % bad)
    r = api.req("GET", "/api/v1/devices/%2F")
    eq(r.status, 400, "encoded slash")
    r = api.req("PUT", "/api/v1/devices/" + device_id)
    eq(r.status, 405, "PUT")
    r = api.req("POST", "/api/v1/devices/%s/frobnicate" % device_id)
    eq(r.status, 404, "unknown action")
    r = api.req("GET", "/api/v1/devices/" + device_id, raw=b"{}")
    eq(r.status, 400, "GET with a body")

    # Revoke: bad body, then for real; the certificate's next handshake fails.
    rc, status, _ = _curl(base + "status", None, cert, key)
    eq((rc, status), (0, 200), "the certificate works before the revocation")
    r = api.req("POST", "/api/v1/devices/%s/revoke" % device_id, raw=b"[1")
    eq((r.status, r.json()["error"]), (400, "invalid_json"), "revoke with bad JSON")
    r = api.req("POST", "/api/v1/devices/%s/revoke" % device_id, {"why": "x"})
    eq((r.status, r.json()["error"]), (400, "unknown_field"), "revoke with a field")
    r = api.req("POST", "/api/v1/devices/%s/revoke" % ("0" * 32))
    eq(r.status, 404, "revoke an unknown device")
    r = api.req("POST", "/api/v1/devices/%s/revoke" % device_id)
    eq(r.status, 200, "revoke: %r" % r.body)
    eq(r.json()["device"]["state"], "revoked", "revoked")
    check(r.json()["device"]["revoked_at"] is not None, "revoked_at")
    check(wait_until(lambda: _curl(base + "status", None, cert, key)[0] != 0, 5.0),
          "the revoked certificate fails the handshake")
    rc, status, _ = _curl(base + "status")
    eq((rc, status), (0, 401), "a connection without a certificate still works")
    r = api.req("POST", "/api/v1/devices/%s/revoke" % device_id, {})
    eq((r.status, r.json()["error"]), (409, "conflict"), "revoke twice")

    # Delete.
    r = api.req("DELETE", "/api/v1/devices/" + device_id)
    eq(r.status, 204, "delete")
    eq(r.body, b"", "204 has no body")
    r = api.req("GET", "/api/v1/devices/" + device_id)
    eq(r.status, 404, "deleted")
    r = api.req("DELETE", "/api/v1/devices/" + device_id)
    eq(r.status, 404, "delete twice")
    r = api.req("GET", "/api/v1/devices")
    eq(r.json()["devices"], [], "nothing left")

    # A second device, deleted without a revocation first: its certificate is refused too.
    r = api.req("POST", "/api/v1/devices/enroll-codes", {"user": BOB})
    eq(r.status, 201, "code for bob")
    dev2, (cert2, key2) = _enrol(h, gw, r.json()["code"], "pc-18")
    rc, status, _ = _curl(base + "status", None, cert2, key2)
    eq(status, 200, "bob's device works")
    r = api.req("DELETE", "/api/v1/devices/" + dev2)
    eq(r.status, 204, "delete bob's device")
    check(wait_until(lambda: _curl(base + "status", None, cert2, key2)[0] != 0, 5.0),
          "a deleted device's certificate fails the handshake")

    # The audit log: one record per call, devices named, no code anywhere.
    check(wait_until(lambda: ("device.delete", 404) in _ops(audit), 5.0), "audit written")
    ops = _ops(audit)
    for want in (("auth", 401), ("device.enroll_code", 201), ("device.enroll_code", 400),
                 ("device.enroll_code", 404), ("device.list", 200), ("device.list", 404),
                 ("device.get", 200), ("device.get", 404), ("device.revoke", 200),
                 ("device.revoke", 409), ("device.delete", 204), ("device.delete", 404)):
        check(want in ops, "audit record %r missing from %r" % (want, ops))
    recs = [r for r in _audit(audit) if r.get("api", {}).get("operation") in
            ("device.revoke", "device.delete") and r.get("http_response", {}).get("code") in
            (200, 204)]
    eq(sorted((r["api"]["operation"], r["device"]["uid"]) for r in recs),
       sorted([("device.delete", device_id), ("device.delete", dev2),
               ("device.revoke", device_id)]), "device changes name the device")
    check(all(r["class_uid"] == 3001 for r in recs), "device changes are Account Change")
    check(all(r["user"]["email_addr"] in (ALICE, BOB) for r in recs), "and the owner")
    with open(audit, errors="replace") as f:
        text = f.read()
    check(code not in text and code.replace("-", "") not in text, "no enrolment code in the audit")
    check(api.token not in text, "no token in the audit")
    r = h.cli("audit", "verify", "--config", gw.config_path)
    eq(r.returncode, 0, "audit verify: " + r.stdout + r.stderr)
