"""Per-policy authentication strength (Entra Conditional Access "Require authentication
strength" with a custom strength that allows only some FIDO2 keys by AAGUID):
`grant.authentication_strength: {aaguids: [...]}`. A session signed in or stepped up with a
passkey of a listed AAGUID passes; a passkey of another model is stepped up like
phishing_resistant_mfa (and, stepping up with a listed key, passes); a password+TOTP session is
refused; the refusal and its audit record name the policy; `ztgate whatif --passkey-aaguid` and
`ztgate policy test` (key passkey_aaguid) agree with the gateway for both keys."""
import json

import test_webauthn_api as wa
from harness import check, eq
from portal_client import EMAIL, Browser, complete_sign_in, signed_in_browser
from test_passkey_restrictions import ModelAuthenticator

AAGUID_A = "ee882879-721c-4913-9775-3dfcce97072a"  # the allowed model
AAGUID_B = "cb69481e-8ff7-4039-93ec-0a2729a154a8"  # another model
POLICY = "finance-vendor-keys"
JSON_ACCEPT = [("Accept", "application/json")]


def _policy():
    return [{"name": POLICY, "state": "on", "users": {"include": ["all"]},
             "apps": {"include": ["all"]},
             "grant": {"authentication_strength": {"aaguids": [AAGUID_A.upper()]}}}]


def _refused(r, what):
    check(r.status in (401, 403), "%s: refused (%d %r)" % (what, r.status, r.body[:300]))
    check(b"phishing_resistant_mfa" in r.body, "%s: names the control: %r" % (what, r.body[:300]))


def _step_up(b, key, rd):
    r = wa.call(b, "login/options", {"rd": rd})
    eq(r.status, 200, "login/options (%r)" % r.body[:300])
    r = wa.call(b, "login/verify", key.get(r.obj))
    eq(r.status, 200, "step-up accepted (%r)" % r.body[:300])


def _whatif(h, gw, aaguid):
    r = h.cli("whatif", "--config", gw.config_path, "--user", EMAIL, "--app", "app",
              "--passkey-aaguid", aaguid, "--json")
    eq(r.returncode, 0, "whatif (%s)" % r.stderr)
    return json.loads(r.stdout)


def test_strength_allows_only_the_listed_model(h):
    gw, up = wa.gateway(h, _policy())
    r = h.cli("check-config", gw.config_path)
    eq(r.returncode, 0, "check-config accepts the strength (%s)" % r.stderr)

    # Password + TOTP: not enough; the HTML answer steps up on the passkey page.
    b = signed_in_browser(h, gw)
    _refused(b.get("/x", headers=JSON_ACCEPT), "password+TOTP")
    r = b.get("/x", headers=[("Accept", "text/html")])
    loc = r.header("Location", "") or ""
    body = r.body.decode(errors="replace")
    check("/.ztgate/passkey" in loc or "/.ztgate/passkey" in body,
          "steps up on the passkey page (%d %r %r)" % (r.status, loc, body[:300]))

    # Both models registered on this account (the second right after proving the first).
    key_a, key_b = ModelAuthenticator(AAGUID_A), ModelAuthenticator(AAGUID_B)
    wa.register(b, key_a, name="Vendor key")
    _step_up(b, key_a, "/x")
    eq(b.get("/x").status, 200, "stepped up with the listed model: allowed")
    wa.register(b, key_b, name="Other key")

    # Passwordless with each model in a fresh browser.
    ba = Browser(gw.port)
    eq(wa.passwordless(ba, key_a)[0].status, 200, "passwordless with A")
    eq(ba.get("/a").status, 200, "a session proven with model A passes")
    bb = Browser(gw.port)
    eq(wa.passwordless(bb, key_b)[0].status, 200, "passwordless with B")
    _refused(bb.get("/b", headers=JSON_ACCEPT), "a session proven with model B")
    # Its page says another key model is needed (not just "use a passkey"), names the policy
    # and links to the passkey step-up, in English and Japanese.
    for lang, words in (("en", "only certain models"), ("ja", "特定の機種")):
        r = bb.get("/b", headers=[("Accept", "text/html"), ("Accept-Language", lang)])
        page = r.body.decode(errors="replace")
        eq(r.status, 403, "model B page (%s)" % lang)
        check(words in page and POLICY in page and "/.ztgate/passkey?rd=" in page,
              "model B page (%s): %r" % (lang, page[:1500]))
    # Stepping that session up with the listed key meets the strength.
    _step_up(bb, key_a, "/b")
    eq(bb.get("/b").status, 200, "after a step-up with A")

    # A new password + TOTP session is still refused.
    b3 = Browser(gw.port)
    complete_sign_in(b3, secret=b.secret, codes=b.recovery_codes)
    _refused(b3.get("/c", headers=JSON_ACCEPT), "a new password+TOTP session")
    eq([p for p in up.paths() if p in ("/b", "/c")], ["/b"],
       "only the allowed requests reached the app")

    # The audit records of the refusals name the policy.
    gw.proc.stop()
    recs = [x for x in wa.audit_records(h) if x.get("decision") in ("challenge", "block")]
    check(recs and all(POLICY in x.get("policies", "") for x in recs),
          "the refusals' audit records name the policy: %r" % recs[:2])

    # whatif and policy test say the same for both keys.
    doc = _whatif(h, gw, AAGUID_A)
    eq(doc["verdict"], "allow", "whatif: model A")
    eq(doc["request"]["passkey_aaguid"], AAGUID_A, "whatif shows the key")
    doc = _whatif(h, gw, AAGUID_B)
    eq((doc["decision"], doc["next_control"], doc["policy"]),
       ("challenge", "phishing_resistant_mfa", POLICY), "whatif: model B")
    r = h.cli("whatif", "--config", gw.config_path, "--user", EMAIL, "--app", "app",
              "--passkey-aaguid", AAGUID_B)
    check("challenge: phishing_resistant_mfa (policy %s)" % POLICY in r.stdout, r.stdout)
    check("authentication strength: 1 passkey model" in r.stdout, r.stdout)
    check("passkey AAGUID %s" % AAGUID_B in r.stdout, r.stdout)
    tests = h.path("strength-tests.yaml")
    with open(tests, "w") as f:
        f.write("- name: vendor key\n  email: a@example.test\n  groups: []\n  app: app\n"
                "  passkey_aaguid: %s\n  expect: allow\n"
                "- name: other key\n  email: a@example.test\n  groups: []\n  app: app\n"
                "  passkey_aaguid: %s\n  expect: phishing_resistant_mfa\n"
                "  expect_policy: %s\n"
                "- name: password and code\n  email: a@example.test\n  groups: []\n  app: app\n"
                "  mfa: true\n  expect: phishing_resistant_mfa\n" % (AAGUID_A, AAGUID_B, POLICY))
    r = h.cli("policy", "test", tests, "--config", gw.config_path)
    eq(r.returncode, 0, "policy test (%s%s)" % (r.stdout, r.stderr))
    check("3 passed, 0 failed" in r.stdout, r.stdout)


def test_bad_aaguids_are_config_errors(h):
    bad = [{"name": "p", "state": "on", "users": {"include": ["all"]},
            "apps": {"include": ["all"]},
            "grant": {"authentication_strength": {"aaguids": [AAGUID_A, "not-a-uuid"]}}}]
    gw = h.gateway(h.config([h.app(h.upstream())], extra={"policies": bad}), start=False)
    r = h.cli("check-config", gw.config_path)
    check(r.returncode != 0, "check-config refuses it (%s)" % r.stdout)
    check("'not-a-uuid' is not an AAGUID" in r.stderr, r.stderr)
    good, _ = wa.gateway(h, _policy())
    r = h.cli("whatif", "--config", good.config_path, "--user", EMAIL, "--app", "app",
              "--passkey-aaguid", "zz")
    eq(r.returncode, 2, "whatif refuses a bad AAGUID (%s)" % r.stderr)
    check("--passkey-aaguid" in r.stderr, r.stderr)
