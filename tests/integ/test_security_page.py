"""The self-service security page /.ztgate/security (issue 12, item 4) through the portal's form
client: every section shown, every action (rename and remove a passkey, the last passkey kept
without a fresh passkey assertion, remove the authenticator app, new recovery codes, sign out
one session or every other one, "this wasn't me"), each answered with a 303 and a result line
and audited with the user as the actor; another user's passkey, session or sign-in, unknown
ids, too-long names, garbage and a missing or wrong CSRF token each get a 4xx page and change
nothing. Passkeys are seeded into the store's webauthn_credentials table while the gateway is
stopped (registration is the WebAuthn endpoints' part)."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

from harness import check, eq
from portal_client import PASSWORD, Browser, add_user, complete_sign_in, sign_in

ALICE, BOB = "alice@example.test", "bob@example.test"
PAGE = "/.ztgate/security"
KEY1, KEY2, BOBKEY = b"\x01alice-key-one", b"\x02alice-key-two", b"\x03bob-key"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _db(gw):
    return os.path.join(gw.state_dir, "ztgate.db")


def seed_passkey(gw, email, cred_id, name, be=False, transports="internal"):
    """One credential row as a verified registration would store it."""
    con = gw.h.store_db(_db(gw))
    try:
        uid = con.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]
        con.execute("INSERT INTO webauthn_credentials (id, user_id, name, cose_key, alg, "
                    "sign_count, uv, be, bs, aaguid, fmt, attestation_type, transports, "
                    "created_at) VALUES (?, ?, ?, ?, -7, 0, 1, ?, 0, ?, 'none', 'none', ?, ?)",
                    (cred_id, uid, name, b"\xa5\x01\x02", 1 if be else 0, b"\0" * 16,
                     transports, int(time.time()) - 3600))
        con.commit()
    finally:
        con.close()


def passkeys(gw, email):
    con = gw.h.store_db(_db(gw))
    try:
        return sorted((bytes(r[0]), r[1]) for r in con.execute(
            "SELECT c.id, c.name FROM webauthn_credentials c JOIN users u ON u.id = c.user_id "
            "WHERE u.email = ?", (email,)))
    finally:
        con.close()


def _mmdb(h):
    """A City database placing 127.0.0.0/8 in Japan, or None without perl's MaxMind writer."""
    if shutil.which("perl") is None:
        return None
    src, out = h.path("city.json"), h.path("city.mmdb")
    with open(src, "w") as f:
        json.dump({"layout": "city", "networks": {"127.0.0.0/8": {"country": "JP"}}}, f)
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                        "make_mmdb.pl")
    r = subprocess.run(["perl", tool, src, out], capture_output=True, text=True, timeout=60)
    return out if r.returncode == 0 else None


def setup(h, seed=True, geo=None):
    """Gateway with its audit log; alice and bob created before it starts. seed: alice's two
    passkeys and bob's one are seeded once the first browser has signed in (a passkey counts as
    a second factor, so a password sign-in of a user who has one asks for it, and these seeded
    keys cannot sign). geo: a GeoIP City database for the places."""
    state = h.path("state")
    extra = {"audit": {"path": os.path.join(state, "audit", "audit.log")}}
    if geo:
        extra["risk"] = {"geoip_city": geo}
    gw = h.gateway(h.config([h.app(h.upstream())], extra=extra), start=False)
    gw.state_dir = state
    add_user(h, gw, ALICE)
    add_user(h, gw, BOB)
    gw.start()
    gw.pending_seeds = seed
    return gw


def seed_now(gw):
    """The seeded passkeys, written while the gateway runs (SQLite takes the second writer)."""
    if getattr(gw, "pending_seeds", False):
        gw.pending_seeds = False
        seed_passkey(gw, ALICE, KEY1, "Laptop", transports="internal")
        seed_passkey(gw, ALICE, KEY2, "Phone", be=True, transports="hybrid,internal")
        seed_passkey(gw, BOB, BOBKEY, "Bob's key", transports="usb")


def browser(gw, email, b=None, lang=None):
    b = b or Browser(gw.port, lang=lang)
    b.secret = getattr(b, "secret", None)
    b.recovery_codes = getattr(b, "recovery_codes", [])
    complete_sign_in(b, email, PASSWORD)
    seed_now(gw)
    return b


def second(gw, first, email):
    """Another browser of the same user (MFA with the first browser's secret)."""
    b = Browser(gw.port)
    complete_sign_in(b, email, PASSWORD, secret=first.secret, codes=first.recovery_codes)
    return b


def page(b, path=PAGE):
    r = b.get(path)
    eq(r.status, 200, "security page")
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', r.body).group(1).decode()
    return r.body, tok


def refs(body, action):
    return [m.decode() for m in re.findall(
        rb'name="action" value="' + action.encode() + rb'"><input type="hidden" name="id" '
        rb'value="([^"]+)"', body)]


def session_ref(b):
    """The page's reference of browser b's session: BLAKE2b-128 keyed "ztgate session ref" over
    the store key (SHA-256 hex of the cookie value)."""
    cookie = [v for k, v in b.cookies.items() if "ztgate_session" in k][0]
    key = hashlib.sha256(cookie.encode()).hexdigest().encode()
    return hashlib.blake2b(key, digest_size=16, key=b"ztgate session ref").hexdigest()


def act(b, action, tok, **fields):
    return b.post(PAGE, dict(fields, csrf_token=tok, action=action))


def done(r, what):
    eq(r.status, 303, "%s answered with a redirect (%s)" % (what, r.body[:300]))
    loc = r.header("Location", "")
    check(loc.startswith(PAGE + "?done="), "%s back to the page: %r" % (what, loc))
    return loc


def refused(r, status, what):
    eq(r.status, status, "%s refused (%s)" % (what, r.body[:300]))
    check(b"<html" in r.body and PAGE.encode() in r.body, "%s: a page with the way back" % what)


def audit_ops(gw):
    out = []
    with open(os.path.join(gw.state_dir, "audit", "audit.log")) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a record being written now
            rec = json.loads(line)
            op = rec.get("unmapped", {}).get("operation")
            if op:
                out.append((op, rec.get("status_id"), rec.get("actor", {}).get("user", {})))
    return out


def wait_audit(gw, pred, what):
    for _ in range(200):
        if pred(audit_ops(gw)):
            return
        time.sleep(0.05)
    check(False, "audit record: " + what)


# ---------------------------------------------------------------------------------------------

def test_security_page_shows_every_section(h):
    geo = _mmdb(h)
    gw = setup(h, geo=geo)
    a = browser(gw, ALICE)
    second(gw, a, ALICE)
    r = a.get("/.ztgate/")
    check(PAGE.encode() in r.body, "the account page links to the security page")
    body, _ = page(a)
    for text in (b"Laptop", b"Phone", b"Synced passkey", b"Device-bound passkey",
                 b'data-passkey="register"', b"An authenticator app is set up.",
                 b"This browser", b"Sign out everywhere else", b"No device is enrolled.",
                 b"Recent sign-in activity", b"This wasn&#39;t me"):
        check(text in body, "security page shows %r" % text)
    check(b"Bob" not in body, "nothing of bob's on alice's page")
    check(re.search(rb'id="recovery-left">[^<]*<strong>10</strong>', body), "10 recovery codes")
    eq(len(refs(body, "session_sign_out")), 1, "one other session with a sign-out button")
    eq(body.count(b'class="session'), 2, "two sessions listed")
    check(len(refs(body, "report")) >= 2, "the sign-ins are listed with a report button each")
    if geo:  # the place of every session and sign-in, from the GeoIP feed
        places = re.findall(rb'<td>127\.0\.0\.1</td>', body)
        eq(body.count(b"<td>JP</td>"), len(places), "every row placed in JP")
        check(len(places) >= 4, "sessions and sign-ins listed with their address")
    else:
        print("no perl MaxMind writer: places not checked")
    ja = Browser(gw.port, lang="ja")
    ja.cookies = dict(a.cookies)
    r = ja.get(PAGE)
    eq(r.status, 200, "Japanese page")
    check("セキュリティ情報".encode() in r.body and "心当たりがない".encode() in r.body,
          "Japanese text")
    check(b"Recent sign-in activity" not in r.body, "no English section title in Japanese")


def test_security_page_needs_a_full_session(h):
    gw = setup(h, seed=False)
    r = Browser(gw.port).get(PAGE)
    eq(r.status, 303, "not signed in")
    check(r.header("Location", "").startswith("/.ztgate/login"), "to the sign-in page")
    a = browser(gw, ALICE)
    p = Browser(gw.port)
    eq(sign_in(p, ALICE, PASSWORD).status, 303, "password only")
    r = p.get(PAGE)
    eq(r.status, 303, "MFA pending")
    check(r.header("Location", "").startswith("/.ztgate/mfa"), "to the MFA page")
    _, tok = page(a)
    # The pending browser with a valid CSRF cookie and token (copied from a full one): still
    # sent to MFA, nothing done.
    p.cookies.update({k: v for k, v in a.cookies.items() if "csrf" in k})
    r = p.post(PAGE, {"csrf_token": tok, "action": "sessions_sign_out_others"})
    eq(r.status, 303, "a pending session cannot act")
    check(r.header("Location", "").startswith("/.ztgate/mfa"), "to MFA, nothing done")
    eq(a.get(PAGE).status, 200, "the full session was not signed out")


def test_security_page_passkeys(h):
    gw = setup(h)
    a = browser(gw, ALICE)
    body, tok = page(a)
    eq(sorted(refs(body, "passkey_remove")), sorted([b64u(KEY1), b64u(KEY2)]), "alice's ids")

    loc = done(act(a, "passkey_rename", tok, id=b64u(KEY1), name="Work laptop ✓"), "rename")
    body, tok = page(a, loc)
    check("Work laptop ✓".encode() in body and b"The passkey was renamed." in body,
          "new name and the result line")

    before = passkeys(gw, ALICE), passkeys(gw, BOB)
    refused(act(a, "passkey_rename", tok, id=b64u(KEY1), name="x" * 65), 400, "65-byte name")
    refused(act(a, "passkey_rename", tok, id=b64u(KEY1), name=""), 400, "empty name")
    refused(act(a, "passkey_rename", tok, id=b64u(KEY1), name="a\tb"), 400, "control character")
    refused(act(a, "passkey_rename", tok, id=b64u(BOBKEY), name="mine"), 404, "bob's passkey")
    refused(act(a, "passkey_rename", tok, id=b64u(b"nope"), name="x"), 404, "unknown id")
    refused(act(a, "passkey_rename", tok, id="!!garbage==", name="x"), 400, "garbage id")
    refused(act(a, "passkey_remove", tok, id=b64u(BOBKEY)), 404, "remove bob's passkey")
    refused(act(a, "passkey_remove", tok), 400, "remove without an id")
    refused(act(a, "no_such_action", tok), 400, "unknown action")
    eq((passkeys(gw, ALICE), passkeys(gw, BOB)), before, "nothing changed by the refusals")

    done(act(a, "passkey_remove", tok, id=b64u(KEY2)), "remove one of two")
    eq([k for k, _ in passkeys(gw, ALICE)], [KEY1], "one passkey left")
    # The last phishing-resistant method: only right after a passkey assertion, which this
    # password + TOTP session never made.
    r = act(a, "passkey_remove", tok, id=b64u(KEY1))
    refused(r, 403, "the last passkey without a fresh passkey assertion")
    check(b"last passkey" in r.body, "the page says why")
    eq([k for k, _ in passkeys(gw, ALICE)], [KEY1], "the last passkey is kept")
    eq(len(passkeys(gw, BOB)), 1, "bob's passkey untouched")

    wait_audit(gw, lambda ops: {("passkey_rename", 1), ("passkey_remove", 1),
                                ("passkey_remove", 2)} <= {(o, s) for o, s, _ in ops},
               "renames and removals, done and refused")
    users = {(u.get("name"), u.get("type")) for o, _, u in audit_ops(gw)
             if o.startswith("passkey_")}
    eq(users, {(ALICE, "User")}, "the user is the actor of every record")


def test_security_page_sessions(h):
    gw = setup(h, seed=False)
    a = browser(gw, ALICE)
    b = second(gw, a, ALICE)
    bob = browser(gw, BOB)
    body, tok = page(a)
    other = refs(body, "session_sign_out")
    eq(len(other), 1, "one other session")
    bob_ref = refs(page(bob)[0], "session_sign_out")
    check(not bob_ref, "bob has only this browser")
    bob_body = page(bob)[0]
    check(session_ref(b) == other[0], "the reference is the one the test computes")
    refused(act(a, "session_sign_out", tok, id=session_ref(bob)), 404, "bob's session")
    refused(act(a, "session_sign_out", tok, id=session_ref(a)), 400, "this browser's own")
    refused(act(a, "session_sign_out", tok, id="0" * 32), 404, "unknown session")
    refused(act(a, "session_sign_out", tok, id="zz"), 400, "garbage session reference")
    mine = re.search(rb'class="session this">', bob_body)
    check(mine, "bob's page marks his browser")
    eq(b.get(PAGE).status, 200, "the other browser is still signed in")

    done(act(a, "session_sign_out", tok, id=other[0]), "sign out the other session")
    r = b.get(PAGE)
    eq(r.status, 303, "the other browser is signed out")
    eq(a.get(PAGE).status, 200, "this browser stays signed in")
    eq(bob.get(PAGE).status, 200, "bob's session untouched")

    c, d = second(gw, a, ALICE), second(gw, a, ALICE)
    body, tok = page(a)
    eq(len(refs(body, "session_sign_out")), 2, "two others again")
    loc = done(act(a, "sessions_sign_out_others", tok), "sign out everywhere else")
    eq((c.get(PAGE).status, d.get(PAGE).status), (303, 303), "both others signed out")
    body, tok = page(a, loc)
    check(b"Every other session was signed out." in body, "result line")
    eq(bob.get(PAGE).status, 200, "bob still signed in")
    wait_audit(gw, lambda ops: {"session_sign_out", "sessions_sign_out_others"}
               <= {o for o, s, _ in ops if s == 1}, "sign-outs audited")


def test_security_page_totp_and_recovery(h):
    gw = setup(h, seed=False)
    a = browser(gw, ALICE)
    other = second(gw, a, ALICE)
    _, tok = page(a)
    r = act(a, "recovery_regenerate", tok)
    eq(r.status, 200, "new codes shown on the answer")
    codes = re.findall(rb"<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</li>", r.body)
    eq(len(codes), 10, "ten new codes")
    check(not set(c.encode() for c in a.recovery_codes) & set(codes), "all of them new")
    body, tok = page(a)
    check(not any(c in body for c in codes), "the codes are shown once, not on the page")
    # An old code no longer works as a second factor.
    p = Browser(gw.port)
    eq(sign_in(p, ALICE, PASSWORD).status, 303, "password")
    tok_m = p.csrf("/.ztgate/mfa")[0]
    r = p.post("/.ztgate/mfa", {"csrf_token": tok_m, "code": a.recovery_codes[-1]})
    check(r.status != 303, "an old recovery code is refused")

    done(act(a, "totp_remove", tok), "remove the authenticator app")
    body, tok = page(a)
    check(b"No authenticator app is set up." in body, "TOTP off, this browser still signed in")
    check(b"recovery-left" not in body, "no recovery codes without the app")
    eq(other.get(PAGE).status, 303, "other sessions ended with the change")
    refused(act(a, "totp_remove", tok), 409, "nothing to remove")
    refused(act(a, "recovery_regenerate", tok), 409, "no codes without the app")


def test_security_page_this_wasnt_me(h):
    gw = setup(h, seed=False)
    a = browser(gw, ALICE)
    bob = browser(gw, BOB)
    # A failed attempt on alice's account from "somewhere else".
    x = Browser(gw.port)
    eq(sign_in(x, ALICE, "wrong password").status, 200, "wrong password")
    body, tok = page(a)
    check(b'class="signin failed"' in body, "the failed attempt is listed")
    mine = refs(body, "report")
    bobs = refs(page(bob)[0], "report")
    check(mine and bobs and not set(mine) & set(bobs), "each sees only their own sign-ins")

    refused(act(a, "report", tok, id=bobs[0]), 404, "bob's sign-in")
    refused(act(a, "report", tok, id="99999999"), 404, "unknown record")
    refused(act(a, "report", tok, id="1; DROP"), 400, "garbage")
    r = h.cli("risk", "list", "--user", ALICE, "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout), [], "no detection from the refusals")

    failed = re.search(rb'class="signin failed">.*?name="id" value="(\d+)"', body).group(1)
    loc = done(act(a, "report", tok, id=failed.decode()), "this wasn't me")
    check(loc.endswith("done=reported"), "reported")
    r = h.cli("risk", "list", "--user", ALICE, "--json", "--config", gw.config_path)
    dets = json.loads(r.stdout)
    eq([(d["type"], d["state"], d["level"]) for d in dets],
       [("user_reported_suspicious", "at_risk", "high")], "user risk high: %s" % r.stdout)
    r = h.cli("incident", "list", "--json", "--config", gw.config_path)
    incs = [i for i in json.loads(r.stdout) if i.get("email") == ALICE]
    eq(len(incs), 1, "an incident for alice: %s" % r.stdout)
    r = h.cli("risk", "list", "--user", BOB, "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout), [], "bob untouched")
    body, _ = page(a, loc)
    check(b"Your administrator has been alerted" in body, "result line")
    wait_audit(gw, lambda ops: ("report_suspicious", 1) in {(o, s) for o, s, _ in ops},
               "the report is audited")


def test_security_page_csrf(h):
    gw = setup(h)
    a = browser(gw, ALICE)
    _, tok = page(a)
    before = passkeys(gw, ALICE)
    r = a.post(PAGE, {"action": "passkey_rename", "id": b64u(KEY1), "name": "evil"})
    eq(r.status, 403, "no CSRF token")
    other_tok, _ = a.csrf("/.ztgate/logout")  # a valid token, for another form
    r = act(a, "passkey_rename", other_tok, id=b64u(KEY1), name="evil")
    eq(r.status, 403, "a token for another path")
    r = act(a, "passkey_rename", "A" * 43, id=b64u(KEY1), name="evil")
    eq(r.status, 403, "a wrong token")
    r = a.post(PAGE, {"csrf_token": tok, "action": "passkey_rename", "id": b64u(KEY1),
                      "name": "evil"}, headers=(("Content-Type", "application/x-www-form-urlencoded"),
                                                ("Origin", "http://evil.example")))
    eq(r.status, 403, "a cross-origin post")
    r = act(a, "sessions_sign_out_others", "")
    eq(r.status, 403, "an empty token")
    eq(passkeys(gw, ALICE), before, "nothing changed")


def test_security_page_last_passkey_race(h):
    """Two removals of a user's two passkeys at once (two browsers, so two workers may take
    them): one passkey must be left; the other removal is refused as the last one, or finds its
    session ended by the first removal."""
    import threading
    gw = setup(h)
    a = browser(gw, ALICE)
    b = second(gw, a, ALICE)
    ta, tb = page(a)[1], page(b)[1]
    res = {}
    go = threading.Barrier(2)

    def remove(name, br, tok, key):
        go.wait()
        r = act(br, "passkey_remove", tok, id=b64u(key))
        # removed (back to the page), refused as the last one, or signed out by the other
        # removal (which ends every other session of the user)
        res[name] = ("removed" if r.status == 303 and "done=" in r.header("Location", "") else
                     "last" if r.status == 403 else
                     "signed out" if r.status == 303 else r.status)

    ts = [threading.Thread(target=remove, args=("a", a, ta, KEY1)),
          threading.Thread(target=remove, args=("b", b, tb, KEY2))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(sorted(res.values()) in (["last", "removed"], ["removed", "signed out"]),
          "one removed, the other refused as the last or signed out: %r" % res)
    eq(len(passkeys(gw, ALICE)), 1, "one passkey left")
