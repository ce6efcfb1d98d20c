"""Passkeys through the four WebAuthn JSON endpoints of the real gateway, driven by a software
authenticator written here (ES256, attestation "none", a small CBOR encoder: test code only):
registration, passwordless sign-in and a proxied request carrying amr; a policy requiring
phishing_resistant_mfa allowing a passkey session and not a password+TOTP one; and the bad
inputs of issue 12, each a clear JSON error and an audit record, never a crash: malformed CBOR,
attestation and clientDataJSON, wrong challenge, replayed challenge, a challenge from another
browser, a look-alike origin, a user-handle mismatch, an unknown credential id, and a counter
going backwards (refused, a cloned_credential detection raised and shown by `ztgate risk`)."""
import base64
import hashlib
import json
import os
import re
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from harness import check, eq
from portal_client import (EMAIL, Browser, add_user, complete_sign_in, session_cookie, sign_in,
                           signed_in_browser)

ORIGIN = "http://app.test"  # the portal origin the raw client's Host header names
RP_ID = "app.test"
JSON_CT = ("Content-Type", "application/json")


# ---------------------------------------------------------------------------------------------
# a software authenticator (test code only)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def cbor(v):
    """The CBOR subset WebAuthn uses: ints, bytes, text, lists, dicts (keys in given order)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | ai]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        e = v.encode()
        return head(3, len(e)) + e
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(type(v))


class Authenticator:
    """One ES256 discoverable credential. be=True makes it a synced passkey (BE|BS)."""

    def __init__(self, be=False):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cred_id = os.urandom(16)
        self.counter = 0
        self.be = be
        self.user_handle = None

    def cose_key(self):
        n = self.key.public_key().public_numbers()
        return cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})

    def flags(self, at=False):
        return 0x01 | 0x04 | (0x18 if self.be else 0) | (0x40 if at else 0)

    def client_data(self, typ, challenge, origin=ORIGIN):
        return json.dumps({"type": typ, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options, origin=ORIGIN, name="My key"):
        self.user_handle = unb64u(options["user"]["id"])
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() +
                     bytes([self.flags(at=True)]) + struct.pack(">I", self.counter) +
                     b"\0" * 16 + struct.pack(">H", len(self.cred_id)) + self.cred_id +
                     self.cose_key())
        att = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cd = self.client_data("webauthn.create", options["challenge"], origin)
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(cd), "attestationObject": b64u(att),
                             "transports": ["usb"]},
                "clientExtensionResults": {}, "name": name}

    def get(self, options, origin=ORIGIN, counter=None, user_handle=None, rp_id=RP_ID):
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([self.flags()]) +
                     struct.pack(">I", self.counter))
        cd = self.client_data("webauthn.get", options["challenge"], origin)
        sig = self.key.sign(auth_data + hashlib.sha256(cd).digest(), ec.ECDSA(hashes.SHA256()))
        uh = self.user_handle if user_handle is None else user_handle
        return {"id": b64u(self.cred_id), "rawId": b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": b64u(cd), "authenticatorData": b64u(auth_data),
                             "signature": b64u(sig), "userHandle": b64u(uh)},
                "clientExtensionResults": {}}


# ---------------------------------------------------------------------------------------------
# the endpoints

def call(b, path, body, origin=ORIGIN, ct=JSON_CT, raw=None):
    hs = [ct] if ct else []
    if origin:
        hs.append(("Origin", origin))
    data = raw if raw is not None else json.dumps(body).encode()
    r = b.post("/.ztgate/webauthn/" + path, None, headers=hs, raw=data)
    try:
        r.obj = json.loads(r.body or b"null")
    except ValueError:
        r.obj = None
    return r


def refused(r, status, code, what):
    eq(r.status, status, "%s: status (%r)" % (what, r.body[:300]))
    check(isinstance(r.obj, dict) and r.obj.get("error") == code,
          "%s: error %s (%r)" % (what, code, r.body[:300]))
    check(r.obj.get("message"), "%s: a message" % what)
    eq(r.header("Content-Type"), "application/json", "%s: JSON" % what)


def register(b, auth, name="My key"):
    r = call(b, "register/options", {})
    eq(r.status, 200, "register/options (%r)" % r.body[:300])
    r = call(b, "register/verify", auth.create(r.obj, name=name))
    eq(r.status, 200, "register/verify (%r)" % r.body[:300])
    return r


def passwordless(b, auth, rd=None, **kw):
    r = call(b, "login/options", {"rd": rd} if rd else {})
    eq(r.status, 200, "login/options (%r)" % r.body[:300])
    return call(b, "login/verify", auth.get(r.obj, **kw)), r.obj


def audit_path(h):
    return os.path.join(h.dir, "state", "audit", "audit.log")


def audit_records(h):
    with open(audit_path(h)) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def gateway(h, policies=None, auth=None, playbooks=None):
    up = h.upstream()
    extra = {"audit": {"path": audit_path(h)}}
    if playbooks:
        extra["playbooks"] = playbooks
    if auth:
        extra["auth"] = dict({"argon2_memory": "19MiB", "argon2_passes": 2}, **auth)
    if policies:
        extra["policies"] = policies
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra=extra))
    return gw, up


def jwt_claims(token):
    return json.loads(unb64u(token.split(".")[1]))


def assertion_of(up):
    rec = up.requests()[-1]
    for n, v in rec["headers"]:
        if n.lower() == "x-zt-assertion":
            return jwt_claims(v)
    return None


# ---------------------------------------------------------------------------------------------
# tests

def test_register_passwordless_and_proxied(h):
    gw, up = gateway(h)
    b = signed_in_browser(h, gw)
    auth = Authenticator()
    r = call(b, "register/options", {"authenticatorAttachment": "cross-platform"})
    eq(r.status, 200, "register/options")
    o = r.obj
    eq(o["rp"]["id"], RP_ID, "rp.id is the portal host")
    eq(len(unb64u(o["challenge"])), 32, "32-byte challenge")
    eq([p["alg"] for p in o["pubKeyCredParams"]], [-7, -8, -257], "ES256, EdDSA, RS256")
    eq(o["authenticatorSelection"]["residentKey"], "required", "discoverable")
    eq(o["authenticatorSelection"]["userVerification"], "required", "UV required")
    eq(o["authenticatorSelection"]["authenticatorAttachment"], "cross-platform", "attachment")
    eq(o["attestation"], "direct", "attestation")
    eq(o["user"]["name"], EMAIL, "user.name")
    eq(len(unb64u(o["user"]["id"])), 32, "user handle: 32 random bytes")
    check(any("ztgate_webauthn=" in c and "SameSite=Strict" in c and "HttpOnly" in c
              for c in b.set_cookies), "a SameSite=Strict HttpOnly binding cookie")
    r = call(b, "register/verify", auth.create(o, name="Yubikey 5"))
    eq(r.status, 200, "registered (%r)" % r.body)
    eq(r.obj, {"verified": True, "id": b64u(auth.cred_id), "name": "Yubikey 5"}, "answer")

    # Another one needs a passkey proved just now: not from this password+TOTP session.
    refused(call(b, "register/options", {}), 403, "passkey_required", "a second from pwd+otp")

    # Passwordless sign-in in a fresh browser.
    b2 = Browser(gw.port)
    r = call(b2, "login/options", {"rd": "/hello?x=1"})
    eq(r.status, 200, "login/options")
    eq(r.obj["allowCredentials"], [], "passwordless: no allowCredentials")
    eq(r.obj["userVerification"], "required", "passwordless: UV required")
    eq(r.obj["rpId"], RP_ID, "rpId")
    r = call(b2, "login/verify", auth.get(r.obj))
    eq(r.status, 200, "passwordless sign-in (%r)" % r.body)
    eq(r.obj, {"verified": True, "redirect": "/hello?x=1"}, "answer with the redirect")
    check(any("ztgate_session" in k for k in b2.cookies), "session cookie set")
    # Right after it, the next registration is allowed and excludes it.
    r = call(b2, "register/options", {})
    eq([c["id"] for c in r.obj["excludeCredentials"]], [b64u(auth.cred_id)], "excluded")
    eq(r.obj["excludeCredentials"][0]["transports"], ["usb"], "transports kept")
    r = b2.get("/hello?x=1")
    eq(r.status, 200, "proxied request allowed")
    claims = assertion_of(up)
    check(claims is not None, "the upstream got an assertion")
    eq(claims.get("amr"), ["hwk", "mfa"], "amr: device-bound passkey, user-verified")
    # The password + TOTP session says so too.
    r = b.get("/after-totp")
    eq(r.status, 200, "password+TOTP session proxied")
    eq(assertion_of(up).get("amr"), ["pwd", "otp", "mfa"], "amr of password+TOTP")

    recs = audit_records(h)
    check(any(x.get("message", "").startswith("passkey registered") for x in recs),
          "registration audited")
    check(any(x.get("message") == "signed in with a passkey (passwordless)" for x in recs),
          "passwordless sign-in audited")

    # A synced passkey is swk; the same credential as a second factor after a password.
    synced = Authenticator(be=True)
    register(b2, synced, name="Phone")  # b2 just proved a passkey
    b4 = Browser(gw.port)
    r, _ = passwordless(b4, synced)
    eq(r.status, 200, "synced passkey sign-in")
    b4.get("/synced")
    eq(assertion_of(up).get("amr"), ["swk", "mfa"], "amr of a synced passkey")


def test_phishing_resistant_policy(h):
    pol = [{"name": "admins-passkeys", "state": "on", "users": {"include": ["all"]},
            "apps": {"include": ["all"]}, "grant": {"controls": ["phishing_resistant_mfa"]}}]
    gw, up = gateway(h, pol)
    r = h.cli("check-config", gw.config_path)
    eq(r.returncode, 0, "check-config accepts phishing_resistant_mfa (%s)" % r.stderr)
    b = signed_in_browser(h, gw)
    r = b.get("/x", headers=[("Accept", "application/json")])
    check(r.status in (401, 403), "password + TOTP is not enough (%d %r)" % (r.status, r.body))
    check(b"phishing_resistant_mfa" in r.body, "names the control: %r" % r.body[:300])
    auth = Authenticator()
    register(b, auth)
    # Step-up on the same session: the assertion is recorded on it (a new session id).
    r = call(b, "login/options", {"rd": "/x"})
    eq([c["id"] for c in r.obj["allowCredentials"]], [b64u(auth.cred_id)], "the user's keys")
    eq(r.obj["userVerification"], "preferred", "second factor: UV preferred")
    r = call(b, "login/verify", auth.get(r.obj))
    eq(r.status, 200, "step-up accepted (%r)" % r.body)
    eq(r.obj["redirect"], "/x", "back to the app")
    r = b.get("/x")
    eq(r.status, 200, "after the step-up the policy is met")
    eq(assertion_of(up).get("amr"), ["pwd", "otp", "hwk", "mfa"], "amr after the step-up")
    b2 = Browser(gw.port)
    r, _ = passwordless(b2, auth)
    eq(r.status, 200, "passwordless")
    eq(b2.get("/y").status, 200, "a passkey session meets phishing_resistant_mfa")
    b3 = Browser(gw.port)
    complete_sign_in(b3, secret=b.secret, codes=b.recovery_codes)
    check(b3.get("/z", headers=[("Accept", "application/json")]).status in (401, 403),
          "a new password+TOTP session still is not")
    r = h.cli("whatif", "--config", gw.config_path, "--user", EMAIL, "--app", "app", "--mfa",
              "--phishing-resistant")
    eq(r.returncode, 0, "whatif (%s)" % r.stderr)
    check("allow" in r.stdout.lower(), "whatif allows a phishing-resistant session: %r" % r.stdout)


def test_bad_inputs(h):
    gw, up = gateway(h, playbooks=[{"name": "cloned-passkey",
                                    "on": {"types": ["cloned_credential"]},
                                    "actions": ["open_incident"]}])
    b = signed_in_browser(h, gw)
    auth = Authenticator()

    # ---- registration
    r = call(b, "register/options", {})
    opts = r.obj
    good = auth.create(opts)
    bad = json.loads(json.dumps(good))
    bad["response"]["attestationObject"] = b64u(b"\xa3\x63fmt\x64none\xff\xff")
    refused(call(b, "register/verify", bad), 400, "malformed", "malformed CBOR")
    # The challenge was taken by that failed attempt: the good one now finds none.
    refused(call(b, "register/verify", good), 400, "invalid_challenge", "challenge used once")
    r = call(b, "register/options", {})
    bad = auth.create(r.obj)
    bad["response"]["attestationObject"] = b64u(cbor({"fmt": "none", "attStmt": {"x": 1},
                                                      "authData": b"\0" * 37}))
    refused(call(b, "register/verify", bad), 400, "malformed", "malformed attestation")
    r = call(b, "register/options", {})
    bad = auth.create(r.obj)
    bad["response"]["clientDataJSON"] = b64u(b'{"type":"webauthn.create",')
    refused(call(b, "register/verify", bad), 400, "malformed", "malformed clientDataJSON")
    r = call(b, "register/options", {})
    refused(call(b, "register/verify", auth.create(r.obj, origin="http://app.test.evil.example")),
            401, "verification_failed", "registration from a look-alike origin")
    r = call(b, "register/options", {})
    register_ok = call(b, "register/verify", auth.create(r.obj))
    eq(register_ok.status, 200, "the real registration")
    fb = Browser(gw.port)
    eq(passwordless(fb, auth)[0].status, 200, "a session that just proved the passkey")
    r = call(fb, "register/options", {})
    refused(call(fb, "register/verify", auth.create(r.obj)), 409, "credential_exists",
            "the same credential again")
    anon = Browser(gw.port)
    refused(call(anon, "register/options", {}), 401, "not_signed_in", "registration needs a session")

    # ---- the gate
    refused(call(b, "login/options", {}, origin="https://evil.example"), 403, "forbidden_origin",
            "cross-origin request")
    refused(call(b, "login/options", {}, ct=("Content-Type", "text/plain")), 403,
            "unsupported_media_type", "not JSON")
    refused(call(b, "login/options", None, raw=b"{not json"), 400, "malformed", "bad JSON body")
    r = b.get("/.ztgate/webauthn/login/options")
    r.obj = json.loads(r.body or b"null")
    refused(r, 405, "method_not_allowed", "GET")

    # ---- sign-in
    r, opts = passwordless(Browser(gw.port), auth, origin="http://app-test.example")
    refused(r, 401, "verification_failed", "assertion for a look-alike origin")
    c = Browser(gw.port)
    r = call(c, "login/options", {})
    opts = r.obj
    wrong = dict(opts, challenge=b64u(os.urandom(32)))
    refused(call(c, "login/verify", auth.get(wrong)), 401, "verification_failed",
            "wrong challenge")
    r = call(c, "login/options", {})
    good = auth.get(r.obj)
    eq(call(c, "login/verify", good).status, 200, "a good sign-in")
    refused(call(c, "login/verify", good), 400, "invalid_challenge", "replayed challenge")
    # A challenge another browser asked for.
    victim = Browser(gw.port)
    r = call(victim, "login/options", {})
    attacker = Browser(gw.port)
    refused(call(attacker, "login/verify", auth.get(r.obj)), 400, "invalid_challenge",
            "a challenge from another browser")
    call(attacker, "login/options", {})  # its own cookie and challenge, then the victim's
    refused(call(attacker, "login/verify", auth.get(victim_opts(victim))), 401,
            "verification_failed", "another browser's challenge under this browser's cookie")
    # User-handle mismatch: another user's handle.
    other = signed_in_browser(h, gw, email="bob@example.test", password="another fine password 9")
    bob_key = Authenticator()
    register(other, bob_key)
    r, _ = passwordless(Browser(gw.port), auth, user_handle=bob_key.user_handle)
    refused(r, 401, "user_mismatch", "user handle of another user")
    # Unknown credential id.
    stranger = Authenticator()
    stranger.user_handle = auth.user_handle
    r, _ = passwordless(Browser(gw.port), stranger)
    refused(r, 401, "unknown_credential", "unknown credential id")
    # Bob's credential as Alice's second factor: not hers.
    r = call(b, "login/options", {})
    refused(call(b, "login/verify", bob_key.get(r.obj)), 401, "unknown_credential",
            "another user's credential as the second factor")
    # Malformed assertion parts.
    r = call(c, "login/options", {})
    bad = auth.get(r.obj)
    bad["response"]["authenticatorData"] = b64u(b"\x01\x02")
    refused(call(c, "login/verify", bad), 400, "malformed", "malformed authenticatorData")
    r = call(c, "login/options", {})
    bad = auth.get(r.obj)
    bad["response"]["clientDataJSON"] = "%%%"
    refused(call(c, "login/verify", bad), 400, "malformed", "clientDataJSON not base64url")

    # A disabled user's passkey signs nobody in.
    r = h.cli("user", "disable", "bob@example.test", "--config", gw.config_path)
    eq(r.returncode, 0, "user disable (%s)" % r.stderr)
    r, _ = passwordless(Browser(gw.port), bob_key)
    refused(r, 403, "account_disabled", "a disabled user")

    # Counter going backwards: refused, a cloned_credential detection raised, and every
    # session of the user ended (the copy may have opened some already).
    eq(b.get("/before-clone").status, 200, "the user's session works before")
    r, _ = passwordless(Browser(gw.port), auth, counter=1)
    refused(r, 401, "cloned_credential", "counter went backwards")
    check(b.get("/after-clone").status in (302, 303, 401), "the user's sessions are ended")
    r, _ = passwordless(Browser(gw.port), auth, counter=1000)
    refused(r, 401, "cloned_credential", "a marked credential stays refused")
    r = h.cli("risk", "list", "--config", gw.config_path)
    eq(r.returncode, 0, "risk list (%s)" % r.stderr)
    check("cloned_credential" in r.stdout, "the detection is listed: %r" % r.stdout)
    r = h.cli("incident", "list", "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "incident list (%s)" % r.stderr)
    check("cloned passkey" in r.stdout, "the playbook opened an incident: %r" % r.stdout[:400])
    recs = audit_records(h)
    check(any("cloned_credential" in (x.get("finding_info") or {}).get("types", [])
              for x in recs), "a Detection Finding for it")
    refusals = [x for x in recs if x.get("message") == "passkey sign-in refused"]
    reasons = {x.get("status_detail") for x in refusals}
    for want in ("unknown credential id", "userHandle is not the credential owner's"):
        check(want in reasons, "refusal audited with reason %r: %r" % (want, reasons))
    check(len(refusals) >= 10, "every sign-in refusal audited (%d)" % len(refusals))
    check(gw.alive(), "the gateway is still up")


def test_second_factor_after_password(h):
    """Password, then the passkey as the second factor on the MFA-pending session (like a TOTP
    code on the MFA page): a new session id, amr pwd + hwk + mfa."""
    gw, up = gateway(h)
    b = signed_in_browser(h, gw)
    auth = Authenticator()
    register(b, auth)
    b2 = Browser(gw.port)
    r = sign_in(b2, rd="/after")
    eq(r.status, 303, "password accepted")
    check(r.header("Location").startswith("/.ztgate/mfa"), "MFA next")
    pending = dict(b2.cookies)
    check(b2.get("/after").status != 200, "a pending session is not signed in")
    r = call(b2, "login/options", {"rd": "/after"})
    eq([c["id"] for c in r.obj["allowCredentials"]], [b64u(auth.cred_id)], "the user's keys")
    r = call(b2, "login/verify", auth.get(r.obj))
    eq(r.status, 200, "second factor accepted (%r)" % r.body)
    eq(r.obj["redirect"], "/after", "on to rd")
    check(b2.cookies != pending, "a new session id")
    eq(b2.get("/after").status, 200, "signed in")
    eq(assertion_of(up).get("amr"), ["pwd", "hwk", "mfa"], "amr of password + passkey")


def test_passkey_only_account(h):
    """First sign-in: the password, then a passkey registered on the MFA-pending session instead
    of TOTP, then that passkey as the second factor. Afterwards the password alone goes nowhere
    (Case 2): it is sent to the MFA page, and cannot enrol a TOTP of its own."""
    from portal_client import add_user, PASSWORD
    gw, up = gateway(h)
    add_user(h, gw)
    b = Browser(gw.port)
    r = sign_in(b)
    check(r.header("Location").startswith("/.ztgate/totp"), "no second factor yet: enrolment")
    auth = Authenticator()
    register(b, auth)
    r = call(b, "login/options", {"rd": "/in"})
    r = call(b, "login/verify", auth.get(r.obj))
    eq(r.status, 200, "the new passkey as the second factor (%r)" % r.body)
    eq(b.get("/in").status, 200, "signed in")
    eq(assertion_of(up).get("amr"), ["pwd", "hwk", "mfa"], "amr")

    attacker = Browser(gw.port)
    r = sign_in(attacker, EMAIL, PASSWORD)
    eq(r.status, 303, "the password is right")
    check(r.header("Location").startswith("/.ztgate/mfa"), "MFA next, not enrolment: %r" %
          r.header("Location"))
    r = attacker.get("/.ztgate/totp")
    eq(r.status, 303, "no TOTP enrolment for a pending session of a passkey user")
    check(r.header("Location").startswith("/.ztgate/mfa"), "sent to the MFA page")
    refused(call(attacker, "register/options", {}), 403, "second_factor_required",
            "no passkey registration on that pending session either")
    check(attacker.get("/in").status != 200, "the attacker is not signed in")


def test_risky_passwordless_is_remediated(h):
    """A passwordless sign-in from an anonymous IP (medium sign-in risk) is not refused: the
    user-verified passkey is the phishing-resistant second factor a risky password sign-in would
    be asked for, so the anonymous_ip detection is recorded and remediated at once."""
    from test_risk_e2e import SrcBrowser
    tor_ip = "127.0.0.30"
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "Published 2026-11-01 11:37:27\nLastStatus 2026-11-01 12:00:00\n"
                "ExitAddress %s 2026-11-01 12:07:50\n" % tor_ip)
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra={
        "audit": {"path": audit_path(h)}, "risk": {"anonymous_ips": [{"path": tor}]}}))
    b = signed_in_browser(h, gw)
    auth = Authenticator()
    register(b, auth)
    t = SrcBrowser(gw.port, tor_ip)
    r, _ = passwordless(t, auth)
    eq(r.status, 200, "a risky passwordless sign-in is let in (%r)" % r.body)
    eq(t.get("/x").status, 200, "signed in")
    r = h.cli("risk", "list", "--user", EMAIL, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, r.stderr)
    dets = [d for d in json.loads(r.stdout) if d["type"] == "anonymous_ip"]
    eq(len(dets), 1, "the detection is recorded: %s" % r.stdout)
    eq(dets[0]["state"], "remediated", "and remediated by the passkey: %s" % r.stdout)


def test_source_throttle(h):
    """Failed passkey sign-ins count against the source like failed passwords: past the limit
    the source is refused with 429 and Retry-After before anything is checked."""
    gw, up = gateway(h, auth={"source_failures_per_minute": 3})
    stranger = Authenticator()
    stranger.user_handle = os.urandom(32)
    for i in range(3):
        r, _ = passwordless(Browser(gw.port), stranger)
        refused(r, 401, "unknown_credential", "failure %d" % (i + 1))
    r, _ = passwordless(Browser(gw.port), stranger)
    refused(r, 429, "too_many_attempts", "the source is throttled")
    check(int(r.header("Retry-After", "0")) > 0, "Retry-After")
    b = Browser(gw.port, lang="ja")
    r = call(b, "login/verify", {})
    refused(r, 429, "too_many_attempts", "Japanese")
    check("試行" in r.obj["message"], "the message in Japanese: %r" % r.obj["message"])


def victim_opts(victim):
    """Fresh options for the victim's browser (its challenge, kept under its own cookie)."""
    return call(victim, "login/options", {}).obj


def test_passkeys_off(h):
    """auth.passkeys: false turns the endpoints off, and check-config then refuses an enforced
    phishing_resistant_mfa policy (test_whatif has the wording)."""
    gw, up = gateway(h, auth={"passkeys": False})
    for path in ("register/options", "register/verify", "login/options", "login/verify"):
        refused(call(Browser(gw.port), path, {}), 404, "passkeys_disabled", "off: " + path)
    refused(call(Browser(gw.port), "nothing/here", {}), 404, "not_found", "unknown endpoint")
    r = Browser(gw.port).get("/.ztgate/webauthn/login/options")
    r.obj = json.loads(r.body or b"null")
    refused(r, 404, "passkeys_disabled", "GET while off")


def test_tap_registers_a_passkey(h):
    """A Temporary Access Pass session registers a passkey (its one purpose), then ends; the
    user signs in with the new passkey. A passkey prompt on a pass session is passwordless,
    never a second factor completing the pass session."""
    gw, up = gateway(h)
    add_user(h, gw, EMAIL)
    r = h.cli("user", "tap", EMAIL, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user tap: " + r.stdout + r.stderr)
    tap = json.loads(r.stdout)["pass"]
    b = Browser(gw.port)
    r = sign_in(b, EMAIL, tap)
    eq((r.status, r.header("Location")), (303, "/.ztgate/totp"), "the pass signs in, limited")
    r = call(b, "login/options", {})
    eq(r.status, 200, "login/options on a pass session")
    eq(r.obj["allowCredentials"], [], "a pass session gets the passwordless prompt")
    auth = Authenticator()
    r = call(b, "register/options", {})
    eq(r.status, 200, "register/options accepts the pass session (%r)" % r.body[:300])
    r = call(b, "register/verify", auth.create(r.obj, name="Laptop"))
    eq(r.status, 200, "registered with the pass (%r)" % r.body[:300])
    eq(r.obj, {"verified": True, "id": b64u(auth.cred_id), "name": "Laptop",
               "redirect": "/.ztgate/login"}, "answer: sign in with it next")
    check(not session_cookie(b), "the pass's session ended")
    eq(b.get("/").status, 401, "no access with the ended pass session")
    b2 = Browser(gw.port)
    r, _ = passwordless(b2, auth)
    eq(r.status, 200, "passwordless sign-in with the new passkey (%r)" % r.body[:300])
    eq(b2.get("/after-tap").status, 200, "the app with the new passkey")
    recs = audit_records(h)
    check(any(x.get("message", "").startswith("passkey registered") for x in recs),
          "the registration is audited")


def test_last_passkey_removed_right_after_proving_it(h):
    """The security page removes the last passkey only from a session that proved a passkey
    in the last five minutes: refused on the password+TOTP session, allowed on a passkey one."""
    gw, up = gateway(h)
    b = signed_in_browser(h, gw)
    auth = Authenticator()
    register(b, auth)

    def remove(br):
        r = br.get("/.ztgate/security")
        eq(r.status, 200, "the security page")
        tok = re.search(rb'name="csrf_token" value="([^"]+)"', r.body).group(1).decode()
        return br.post("/.ztgate/security", {"csrf_token": tok, "action": "passkey_remove",
                                             "id": b64u(auth.cred_id)})

    eq(remove(b).status, 403, "password+TOTP session: the last passkey stays")
    b2 = Browser(gw.port)
    r, _ = passwordless(b2, auth)
    eq(r.status, 200, "passwordless sign-in")
    r = remove(b2)
    eq(r.status, 303, "a session that just proved the passkey removes it (%r)" % r.body[:200])
    check(b.get("/after-removal").status in (302, 303, 401),
          "the user's other sessions end with the passkey")
    eq(b2.get("/still-here").status, 200, "the session that removed it stays")
    r, _ = passwordless(Browser(gw.port), auth)
    refused(r, 401, "unknown_credential", "the removed passkey signs in no more")


def test_relayed_password_and_code_cannot_add_a_passkey(h):
    """Case 2 with a relay kit: the attacker holds a session made from the password and a
    relayed TOTP code. The owner has a passkey, so adding one needs a passkey proved just now:
    the kit's own passkey is refused and audited, and the owner can still add a second one."""
    gw, up = gateway(h)
    owner = signed_in_browser(h, gw)
    mine = Authenticator()
    register(owner, mine)  # the first passkey, from the password+TOTP session
    attacker = Browser(gw.port)
    complete_sign_in(attacker, secret=owner.secret, codes=owner.recovery_codes)
    refused(call(attacker, "register/options", {}), 403, "passkey_required",
            "the relayed session adds no passkey")
    recs = audit_records(h)
    check(any(x.get("status_detail", "").startswith("the user has a passkey") or
              "the user has a passkey" in json.dumps(x) for x in recs), "the refusal is audited")
    # The owner proves the passkey, then adds a second one.
    b = Browser(gw.port)
    r, _ = passwordless(b, mine)
    eq(r.status, 200, "passwordless sign-in")
    register(b, Authenticator(be=True), name="Phone")


def test_host_port_is_not_trusted_for_the_origin(h):
    """RP ID scoping ignores ports: a page on another port of the portal's host name can get
    assertions for it. A Host header naming that port must not make its origin ours."""
    gw, up = gateway(h)
    b = signed_in_browser(h, gw)
    auth = Authenticator()
    register(b, auth)
    other = "http://app.test:9443"
    r, _ = passwordless(Browser(gw.port), auth, origin=other)
    refused(r, 401, "verification_failed", "another port's origin")
    for origin_header in (other, None):
        rb = Browser(gw.port, host="app.test:9443")
        r = call(rb, "login/options", {}, origin=origin_header)
        eq(r.status, 200, "options")
        r = call(rb, "login/verify", auth.get(r.obj, origin=other), origin=origin_header)
        refused(r, 401, "verification_failed", "Host names the other port (Origin %r)"
                % origin_header)
        check(not session_cookie(rb), "no session")
    # The port this gateway listens on, named explicitly, is ours.
    rb = Browser(gw.port, host="app.test:%d" % gw.port)
    ours = "http://app.test:%d" % gw.port
    r = call(rb, "login/options", {}, origin=ours)
    r = call(rb, "login/verify", auth.get(r.obj, origin=ours), origin=ours)
    eq(r.status, 200, "Host with our own port (%r)" % r.body[:200])


def test_first_passkey_only_with_a_pass(h):
    """auth.passkey_registration: tap — a password+TOTP session (which a relay kit can hold)
    cannot add a first passkey; a Temporary Access Pass session can."""
    gw, up = gateway(h, auth={"passkey_registration": "tap"})
    b = signed_in_browser(h, gw)
    refused(call(b, "register/options", {}), 403, "temporary_access_pass_required",
            "first passkey from a password+TOTP session")
    r = h.cli("user", "tap", EMAIL, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user tap: " + r.stdout + r.stderr)
    p = Browser(gw.port)
    eq(sign_in(p, EMAIL, json.loads(r.stdout)["pass"]).status, 303, "pass sign-in")
    auth = Authenticator()
    r = call(p, "register/options", {})
    eq(r.status, 200, "a pass session may add the first passkey (%r)" % r.body[:200])
    eq(call(p, "register/verify", auth.create(r.obj)).status, 200, "registered")
    r, _ = passwordless(Browser(gw.port), auth)
    eq(r.status, 200, "and signs in with it")
