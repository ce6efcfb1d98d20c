"""Entra's "Passkey (FIDO2)" key restrictions as global auth keys: `auth.passkey_aaguids` (only
these authenticator models may register, and a key registered before the list narrowed is
refused at sign-in, passwordless and as a second factor) and `auth.passkey_attestation:
required` with `auth.passkey_attestation_roots` (a registration must carry an x5c chain that
verifies to a configured root; none, or a chain to another root, is refused). The software
authenticator of test_webauthn_api is extended here with an AAGUID and a "packed" statement
whose chain comes from a test CA made with `cryptography`. Every refusal is a 403 JSON error
and an audit record."""
import datetime
import hashlib
import json
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import test_webauthn_api as wa
from harness import check, eq, wait_until
from portal_client import Browser, sign_in, signed_in_browser

AAGUID_A = "ee882879-721c-4913-9775-3dfcce97072a"  # written lower case in the config
AAGUID_B = "CB69481E-8FF7-4039-93EC-0A2729A154A8"  # upper case: the config is case-insensitive


def aaguid_bytes(s):
    return bytes.fromhex(s.replace("-", ""))


class TestCA:
    """A self-signed attestation root and the leaf certificates it issues for authenticators."""

    def __init__(self, name):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, key, aaguid):
        """A packed attestation certificate (WebAuthn §8.2.1) for key."""
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ztgate test vendor"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Key")])
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"),
                    b"\x04\x10" + aaguid), False)
                .sign(self.key, hashes.SHA256()))


class ModelAuthenticator(wa.Authenticator):
    """The software authenticator with a model (AAGUID) and, given a CA, "packed" attestation
    signed by an attestation key whose certificate that CA issued (x5c: [leaf, root])."""

    def __init__(self, aaguid, ca=None, be=False):
        super().__init__(be=be)
        self.aaguid = aaguid_bytes(aaguid)
        self.ca = ca
        self.att_key = ec.generate_private_key(ec.SECP256R1())

    def create(self, options, origin=wa.ORIGIN, name="My key"):
        self.user_handle = wa.unb64u(options["user"]["id"])
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() +
                     bytes([self.flags(at=True)]) + struct.pack(">I", self.counter) +
                     self.aaguid + struct.pack(">H", len(self.cred_id)) + self.cred_id +
                     self.cose_key())
        cd = self.client_data("webauthn.create", options["challenge"], origin)
        if self.ca is None:
            att = wa.cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        else:
            leaf = self.ca.issue(self.att_key, self.aaguid)
            sig = self.att_key.sign(auth_data + hashlib.sha256(cd).digest(),
                                    ec.ECDSA(hashes.SHA256()))
            der = serialization.Encoding.DER
            stmt = {"alg": -7, "sig": sig,
                    "x5c": [leaf.public_bytes(der), self.ca.cert.public_bytes(der)]}
            att = wa.cbor({"fmt": "packed", "attStmt": stmt, "authData": auth_data})
        return {"id": wa.b64u(self.cred_id), "rawId": wa.b64u(self.cred_id), "type": "public-key",
                "response": {"clientDataJSON": wa.b64u(cd), "attestationObject": wa.b64u(att),
                             "transports": ["usb"]},
                "clientExtensionResults": {}, "name": name}


def try_register(b, auth):
    r = wa.call(b, "register/options", {})
    eq(r.status, 200, "register/options (%r)" % r.body[:300])
    return wa.call(b, "register/verify", auth.create(r.obj))


def refusal_reasons(h, message):
    return [x.get("status_detail") or "" for x in wa.audit_records(h)
            if x.get("message") == message]


def test_aaguid_allowed_and_refused(h):
    gw, _ = wa.gateway(h, auth={"passkey_aaguids": [AAGUID_A]})
    b = signed_in_browser(h, gw)
    r = try_register(b, ModelAuthenticator(AAGUID_B))
    wa.refused(r, 403, "key_not_allowed", "a model not in auth.passkey_aaguids")
    check(any("AAGUID" in x for x in refusal_reasons(h, "passkey registration refused")),
          "the refusal is audited with its reason")
    # In Japanese for a Japanese browser.
    opts = wa.call(b, "register/options", {}).obj
    data = json.dumps(ModelAuthenticator(AAGUID_B).create(opts)).encode()
    r = b.post("/.ztgate/webauthn/register/verify", None, raw=data,
               headers=[wa.JSON_CT, ("Origin", wa.ORIGIN), ("Accept-Language", "ja")])
    eq(r.status, 403, "refused (ja)")
    check("許可されていません" in json.loads(r.body)["message"], "message in Japanese: %r" % r.body)
    allowed = ModelAuthenticator(AAGUID_A)
    r = try_register(b, allowed)
    eq(r.status, 200, "an allowed model registers (%r)" % r.body[:300])
    r, _ = wa.passwordless(Browser(gw.port), allowed)
    eq(r.status, 200, "and signs in")


def test_narrowed_list_refuses_a_registered_key(h):
    """The list changes after a key registered (SIGHUP): that key is refused at sign-in,
    passwordless and as the second factor after a password."""
    auth_cfg = {"passkey_aaguids": [AAGUID_A, AAGUID_B]}
    gw, _ = wa.gateway(h, auth=auth_cfg)
    b = signed_in_browser(h, gw)
    key = ModelAuthenticator(AAGUID_A)
    eq(try_register(b, key).status, 200, "registered while allowed")
    eq(wa.passwordless(Browser(gw.port), key)[0].status, 200, "signs in while allowed")

    cfg = gw.config
    cfg["auth"]["passkey_aaguids"] = [AAGUID_B]
    gw.reload(cfg)
    last = {}

    def refused_now():
        last["r"] = wa.passwordless(Browser(gw.port), key)[0]
        return last["r"].status == 403
    check(wait_until(refused_now, 10), "refused within 10 s of SIGHUP (%r)" % last["r"].body)
    wa.refused(last["r"], 403, "key_not_allowed", "passwordless with a model no longer allowed")

    b2 = Browser(gw.port)
    eq(sign_in(b2, rd="/after").status, 303, "password accepted, second factor next")
    r = wa.call(b2, "login/options", {"rd": "/after"})
    eq(r.status, 200, "second-factor options")
    wa.refused(wa.call(b2, "login/verify", key.get(r.obj)), 403, "key_not_allowed",
               "second factor with a model no longer allowed")
    check(b2.get("/after").status != 200, "still not signed in")
    reasons = refusal_reasons(h, "passkey sign-in refused")
    check(sum("no longer" in x for x in reasons) >= 2,
          "both sign-in refusals audited with their reason: %r" % reasons)
    check(gw.alive(), "ztgate alive")


def test_attestation_required(h):
    trusted, other = TestCA("ztgate Test Attestation Root"), TestCA("Another Vendor Root")
    roots = h.path("attestation-roots.pem")
    with open(roots, "wb") as f:
        f.write(trusted.pem())
    gw, _ = wa.gateway(h, auth={"passkey_attestation": "required",
                                "passkey_attestation_roots": roots})
    r = h.cli("check-config", gw.config_path)
    eq(r.returncode, 0, "check-config accepts it (%s)" % r.stderr)
    b = signed_in_browser(h, gw)
    wa.refused(try_register(b, ModelAuthenticator(AAGUID_A)), 403, "attestation_required",
               "attestation none")
    wa.refused(try_register(b, ModelAuthenticator(AAGUID_A, ca=other)), 403,
               "attestation_required", "packed, chained to a root not configured")
    reasons = refusal_reasons(h, "passkey registration refused")
    check(any("none or self" in x for x in reasons), "none refusal audited: %r" % reasons)
    check(any("trusted root" in x for x in reasons), "untrusted chain audited: %r" % reasons)
    key = ModelAuthenticator(AAGUID_A, ca=trusted)
    r = try_register(b, key)
    eq(r.status, 200, "packed, chained to the configured root (%r)" % r.body[:300])
    check(any("format packed, attestation basic (trusted root)" in (x.get("message") or "")
              for x in wa.audit_records(h)), "registration audited with what was verified")
    eq(wa.passwordless(Browser(gw.port), key)[0].status, 200, "and signs in")


def test_check_config_refusals(h):
    up = h.upstream()
    cfg = h.config([h.app(up)], extra={"auth": {"passkey_aaguids": [AAGUID_A, "not-an-aaguid"],
                                                "passkey_attestation": "required"}})
    gw = h.gateway(cfg, start=False)
    gw_cfg = gw.config_path
    r = h.cli("check-config", gw_cfg)
    check(r.returncode != 0, "check-config refuses")
    check("'not-an-aaguid' is not an AAGUID" in r.stderr, "bad AAGUID named: %s" % r.stderr)
    check("needs 'passkey_attestation_roots'" in r.stderr, "roots missing named: %s" % r.stderr)
    check(r.stderr.split(":")[0].endswith(".yaml") and r.stderr.split(":")[1].isdigit(),
          "FILE:LINE:COL: %s" % r.stderr)
    empty = h.path("empty-roots.pem")
    with open(empty, "w") as f:
        f.write("no certificate here\n")
    for roots, says in ((h.path("missing.pem"), "cannot be read"),
                        (empty, "holds no PEM certificate")):
        cfg["auth"] = dict(cfg["auth"], passkey_aaguids=[AAGUID_A],
                           passkey_attestation_roots=roots)
        gw.write_config(cfg)
        r = h.cli("check-config", gw_cfg)
        check(r.returncode != 0 and says in r.stderr, "%s: %s" % (says, r.stderr))
