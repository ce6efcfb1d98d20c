"""The OpenID Connect provider with a hand-written relying party (oidc_client.py): discovery
and JWKS, the code flow with tokens, userinfo, refresh rotation, introspection and revocation,
sign-in in the middle of an authorize, RP-initiated and back-channel logout, and refresh after a
revocation. The edge cases and attacks are in test_oidc_attacks.py."""
import json
import time
import urllib.parse

from browser import msg
from harness import check, eq, get
from oidc_client import (PORTAL, RP, LogoutReceiver, authorize_path, basic, claims, code_for,
                         csrf_token_of, exchange, gateway, js, oidc_app, portal, post, query_of,
                         signed_in, token, userinfo)
from portal_client import EMAIL, PASSWORD, sign_in


def test_oidc_discovery_on_portal_host_only(h):
    gw = gateway(h)
    r = get(gw.port, "/.well-known/openid-configuration", host="%s:%d" % (PORTAL, gw.port))
    eq(r.status, 200, "discovery")
    d = js(r)
    eq(d["issuer"], gw.issuer, "issuer")
    for k, path in (("authorization_endpoint", "authorize"), ("token_endpoint", "token"),
                    ("userinfo_endpoint", "userinfo"), ("jwks_uri", "jwks"),
                    ("revocation_endpoint", "revoke"), ("introspection_endpoint", "introspect"),
                    ("end_session_endpoint", "logout")):
        eq(d[k], gw.issuer + "/.ztgate/oidc/" + path, k)
    check("RS256" in d["id_token_signing_alg_values_supported"], "RS256 listed")
    eq(d["code_challenge_methods_supported"], ["S256"], "S256 only")
    check("urn:ztgate:acr:mfa" in d["acr_values_supported"], "acr values")
    check(d["authorization_response_iss_parameter_supported"], "RFC 9207")
    check(d["backchannel_logout_supported"] and d["backchannel_logout_session_supported"],
          "back-channel logout")
    eq(d["request_uri_parameter_supported"], False, "request_uri off")
    check("none" not in d["token_endpoint_auth_signing_alg_values_supported"], "no alg none")
    # On any other host the path belongs to the proxied app.
    r = get(gw.port, "/.well-known/openid-configuration", host="app.test")
    eq(r.status, 200, "proxied")
    paths = [q.get("target") or q.get("path") for q in gw.upstream.requests()]
    check(any("openid-configuration" in (p or "") for p in paths),
          "the app got /.well-known/openid-configuration: %r" % paths)
    # JWKS: public keys only.
    r = get(gw.port, "/.ztgate/oidc/jwks", host="%s:%d" % (PORTAL, gw.port))
    eq(r.status, 200, "jwks")
    keys = js(r)["keys"]
    check(keys and all("d" not in k and "kid" in k for k in keys), "public keys with kid")


def test_oidc_code_flow_tokens_userinfo(h):
    gw = gateway(h)
    b = signed_in(gw)
    q = code_for(b)
    eq(q["state"], "st-1", "state echoed")
    eq(q["iss"], gw.issuer, "iss in the response (RFC 9207)")
    r = exchange(gw, q["code"])
    eq(r.status, 200, "token answer: %r" % r.body)
    eq(r.header("Cache-Control"), "no-store", "no-store")
    t = js(r)
    eq(t["token_type"], "Bearer", "token type")
    check(t["refresh_token"] and t["access_token"] != t["refresh_token"], "refresh token")
    hdr, c = claims(t["id_token"])
    check(hdr.get("kid"), "kid in the header")
    eq(hdr.get("alg"), "RS256", "RS256 by default (what most relying parties expect)")
    eq(c["iss"], gw.issuer, "iss")
    eq(c["aud"], "grafana", "aud")
    eq(c["azp"], "grafana", "azp")
    eq(c["nonce"], "no-1", "nonce")
    eq(c["email"], EMAIL, "email by scope")
    eq(c["amr"], ["pwd"], "amr")
    eq(c["acr"], "urn:ztgate:acr:pwd", "acr")
    check(c["exp"] > c["iat"] >= c["auth_time"], "times")
    check(c["sid"] and c["sub"] and c["at_hash"], "sid, sub, at_hash")
    r = userinfo(gw, t["access_token"])
    eq(r.status, 200, "userinfo")
    eq(js(r)["sub"], c["sub"], "userinfo sub = id token sub")
    r = userinfo(gw, "x" * 43)
    eq(r.status, 401, "unknown token")
    check('error="invalid_token"' in r.header("WWW-Authenticate", ""), "RFC 6750 header")
    # Refresh rotates; the old refresh token reused revokes the family.
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
    eq(r.status, 200, "refresh")
    t2 = js(r)
    _, c2 = claims(t2["id_token"])
    eq((c2["sub"], c2["auth_time"], c2.get("nonce")), (c["sub"], c["auth_time"], None),
       "refreshed id token keeps sub and auth_time, no nonce")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
    eq(r.status, 400, "reused refresh token")
    eq(js(r)["error"], "invalid_grant", "invalid_grant")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]})
    eq(r.status, 400, "the family is revoked")
    eq(userinfo(gw, t2["access_token"]).status, 401, "access tokens of the family too")


def test_oidc_introspect_and_revoke(h):
    gw = gateway(h, apps=[oidc_app(h, "grafana"), oidc_app(h, "gitlab")])
    b = signed_in(gw)
    t = js(exchange(gw, code_for(b)["code"]))
    r = post(gw, "/.ztgate/oidc/introspect", {"token": t["access_token"]},
             [("Authorization", __import__("oidc_client").basic()[1])])
    eq(r.status, 200, "introspect")
    i = js(r)
    check(i["active"] and i["client_id"] == "grafana" and i["scope"], "active: %r" % i)
    # Another client learns nothing.
    r = post(gw, "/.ztgate/oidc/introspect", {"token": t["access_token"]},
             [__import__("oidc_client").basic("gitlab")])
    eq(js(r), {"active": False}, "another client's token")
    # Unauthenticated introspection is refused.
    r = post(gw, "/.ztgate/oidc/introspect", {"token": t["access_token"]})
    eq(r.status, 401, "no client authentication")
    check(r.header("WWW-Authenticate", "").startswith("Basic"), "a 401 names its scheme")
    # Revoking the refresh token revokes the grant: the access token goes inactive.
    from oidc_client import basic
    r = post(gw, "/.ztgate/oidc/revoke", {"token": t["refresh_token"],
                                          "token_type_hint": "refresh_token"}, [basic()])
    eq(r.status, 200, "revoke")
    r = post(gw, "/.ztgate/oidc/revoke", {"token": "unknown"}, [basic()])
    eq(r.status, 200, "unknown token: 200 too (RFC 7009)")
    r = post(gw, "/.ztgate/oidc/introspect", {"token": t["access_token"]}, [basic()])
    eq(js(r), {"active": False}, "inactive after revocation, nothing else")


def test_oidc_sign_in_in_the_middle(h):
    gw = gateway(h)
    b = portal(gw)
    path = authorize_path()
    r = b.get(path)
    eq(r.status, 303, "no session")
    loc = r.header("Location", "")
    check(loc.startswith("/.ztgate/login?rd="), "to the sign-in page: %r" % loc)
    rd = query_of(loc)["rd"]
    check(rd.startswith("/.ztgate/oidc/authorize?"), "rd is this authorize request: %r" % rd)
    r = sign_in(b, rd=rd)
    eq(r.status, 303, "signed in")
    back = r.header("Location", "")
    check("/.ztgate/oidc/authorize?" in back, "back to authorize: %r" % back)
    r = b.get(back[back.index("/.ztgate/"):])
    eq(r.status, 303, "authorize after sign-in")
    q = query_of(r.header("Location", ""))
    check("code" in q and q["state"] == "st-1", "code for the client: %r" % q)
    # prompt=none without a session: login_required to the client, not a page.
    r = portal(gw).get(authorize_path(prompt="none"))
    eq(r.status, 303, "prompt=none")
    eq(query_of(r.header("Location", ""))["error"], "login_required", "login_required")
    # prompt=login with a session: the sign-in page again, then a code.
    r = b.get(authorize_path(prompt="login"))
    loc = r.header("Location", "")
    check(loc.startswith("/.ztgate/login?prompt=login&rd="), "re-authentication: %r" % loc)
    rd = query_of(loc)["rd"]
    check("zt_reauth=" in rd, "the way back carries the re-authentication marker: %r" % rd)
    tok, _ = b.csrf(loc)
    r = b.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD, "csrf_token": tok,
                                  "rd": rd})
    eq(r.status, 303, "signed in again")
    back = r.header("Location", "")
    r = b.get(back[back.index("/.ztgate/"):])
    eq(r.status, 303, "authorize after re-authentication")
    check("code" in query_of(r.header("Location", "")), "a code after prompt=login: %r"
          % r.header("Location"))


def test_oidc_logout_backchannel_and_refresh_refused(h):
    rx = LogoutReceiver()
    try:
        gw = gateway(h, apps=[oidc_app(h, "grafana", backchannel_logout_uri=rx.url),
                              oidc_app(h, "gitlab", backchannel_logout_uri=rx.url)])
        b = signed_in(gw)
        t1 = js(exchange(gw, code_for(b)["code"]))
        from oidc_client import basic
        q = code_for(b, client_id="gitlab")
        t2 = js(exchange(gw, q["code"], headers=[basic("gitlab")]))
        _, c1 = claims(t1["id_token"])
        _, c2 = claims(t2["id_token"])
        eq(c1["sid"], c2["sid"], "one ztgate session, one sid for both clients")
        # RP-initiated logout with the hint: no confirmation, back to the registered URI.
        r = b.get("/.ztgate/oidc/logout?" + urllib.parse.urlencode({
            "id_token_hint": t1["id_token"], "post_logout_redirect_uri": "https://rp.example/bye",
            "state": "bye-1"}))
        eq(r.status, 303, "logout")
        eq(r.header("Location"), "https://rp.example/bye?state=bye-1", "post-logout redirect")
        got = rx.wait(2)
        eq(len(got), 2, "a logout token for each client")
        auds = set()
        for ctype, form in got:
            eq(ctype, "application/x-www-form-urlencoded", "form-encoded")
            hdr, lt = claims(form["logout_token"])
            eq(hdr.get("typ"), "logout+jwt", "explicit typ")
            check("nonce" not in lt, "no nonce in a logout token")
            check("http://schemas.openid.net/event/backchannel-logout" in lt["events"], "event")
            eq(lt["sid"], c1["sid"], "sid")
            eq(lt["iss"], gw.issuer, "iss")
            check(lt["jti"] and lt["exp"] > lt["iat"], "jti and times")
            auds.add(lt["aud"])
        eq(auds, {"grafana", "gitlab"}, "both clients")
        r = token(gw, {"grant_type": "refresh_token", "refresh_token": t1["refresh_token"]})
        eq((r.status, js(r)["error"]), (400, "invalid_grant"), "refresh after logout")
        eq(userinfo(gw, t2["access_token"]).status, 401, "access token of the ended session")
    finally:
        rx.close()


def test_oidc_admin_revocation_ends_rp_sessions(h):
    """Every way an admin ends sessions reaches the relying parties: the session-ending CLI
    actions each send a logout token, and the refresh token of the ended session is refused."""
    from portal_client import Browser, add_user
    rx = LogoutReceiver()
    try:
        gw = gateway(h, apps=[oidc_app(h, "grafana", backchannel_logout_uri=rx.url)])
        actions = [("revoke-sessions",), ("disable",), ("passwd", "--password-stdin"),
                   ("reset-mfa",), ("delete",)]
        for i, action in enumerate(actions):
            email = "u%d@example.test" % i
            add_user(h, gw, email)
            b = Browser(gw.port, host="%s:%d" % (PORTAL, gw.port))
            eq(sign_in(b, email=email).status, 303, "%s signed in" % email)
            t = js(exchange(gw, code_for(b)["code"]))
            before = len(rx.tokens)
            r = h.cli("user", action[0], email, *action[1:], "--config", gw.config_path,
                      input="another password entirely\n" if "passwd" in action else None)
            eq(r.returncode, 0, "user %s (%s)" % (action[0], r.stdout + r.stderr))
            got = rx.wait(before + 1)
            eq(len(got), before + 1, "a logout token after `user %s`" % action[0])
            _, lt = claims(got[-1][1]["logout_token"])
            _, idt = claims(t["id_token"])
            eq(lt["sid"], idt["sid"], "the ended session's sid")
            r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
            eq(r.status, 400, "refresh refused after `user %s`" % action[0])
        # A risk confirmed by an admin ends the user's sessions too.
        add_user(h, gw, "risky@example.test")
        b = Browser(gw.port, host="%s:%d" % (PORTAL, gw.port))
        eq(sign_in(b, email="risky@example.test").status, 303, "signed in")
        js(exchange(gw, code_for(b)["code"]))
        before = len(rx.tokens)
        r = h.cli("risk", "confirm-compromised", "risky@example.test", "--config",
                  gw.config_path)
        eq(r.returncode, 0, "confirm-compromised (%s)" % r.stderr)
        eq(len(rx.wait(before + 1)), before + 1, "a logout token after confirm-compromised")
    finally:
        rx.close()


def test_oidc_logout_without_hint_asks(h):
    gw = gateway(h)
    b = signed_in(gw)
    r = b.get("/.ztgate/oidc/logout?client_id=grafana&post_logout_redirect_uri="
              + urllib.parse.quote("https://rp.example/bye", safe=""))
    eq(r.status, 200, "a confirmation page, not a sign-out")
    tok = csrf_token_of(r.body)
    check(tok, "a CSRF-protected form")
    b.lang = "ja"
    r = b.get("/.ztgate/oidc/logout?client_id=grafana")
    b.lang = None
    check(msg("OI_LOGOUT_CONFIRM", "ja") in r.body.decode(), "the confirmation in Japanese")
    tok = csrf_token_of(r.body) or tok
    check(b"zt_confirm" in r.body, "the confirm field")
    # Without the token: refused, still signed in.
    r = b.post("/.ztgate/oidc/logout", {"zt_confirm": "1", "client_id": "grafana"})
    eq(r.status, 403, "no CSRF token")
    q = code_for(b)
    check(q.get("code"), "still signed in")
    r = b.post("/.ztgate/oidc/logout", {"zt_confirm": "1", "csrf_token": tok,
                                        "client_id": "grafana",
                                        "post_logout_redirect_uri": "https://rp.example/bye"})
    eq(r.status, 303, "confirmed")
    eq(r.header("Location"), "https://rp.example/bye", "post-logout redirect")
    r = b.get(authorize_path())
    check(r.header("Location", "").startswith("/.ztgate/login"), "signed out")
    # An unregistered post-logout URI is never followed.
    r = b.get("/.ztgate/oidc/logout?client_id=grafana&post_logout_redirect_uri="
              + urllib.parse.quote("https://evil.example/", safe=""))
    eq(r.status, 400, "unregistered post_logout_redirect_uri")
    check(r.header("Location") is None, "no redirect")


def _audit(h):
    import json
    import os
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def test_oidc_conditional_access_at_authorize(h):
    """Policies decide at the authorize endpoint like for a proxied request: a report-only block
    is recorded and not enforced; an MFA policy sends the person to the step-up prompt, back to
    this very authorize request; prompt=none gets interaction_required instead."""
    import os
    policies = [
        {"name": "would-block-grafana", "state": "report_only", "users": {"include": ["all"]},
         "apps": {"include": ["grafana"]}, "grant": {"block": True}},
        {"name": "mfa-for-gitlab", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["gitlab"]}, "grant": {"controls": ["mfa"]}},
    ]
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    gw = gateway(h, apps=[oidc_app(h, "grafana"), oidc_app(h, "gitlab")],
                 extra={"policies": policies, "audit": audit})
    b = signed_in(gw)
    q = code_for(b)
    check(q.get("code"), "report-only: not enforced")
    rec = [e for e in _audit(h) if e.get("unmapped", {}).get("oidc", {}).get("event") ==
           "authorize"][-1]
    eq((rec["decision"], rec.get("report_only", {}).get("decision"), rec["app"]["name"]),
       ("allow", "block", "grafana"), "the record says what report-only would have done")
    check("would-block-grafana (report-only)" in rec.get("policies", ""), "policies: %r" % rec)
    r = b.get(authorize_path(client_id="gitlab"))
    eq(r.status, 303, "challenge")
    loc = r.header("Location", "")
    check(loc.startswith("/.ztgate/mfa?rd="), "to the step-up prompt: %r" % loc)
    rd = query_of(loc)["rd"]
    check(rd.startswith("/.ztgate/oidc/authorize?") and "client_id=gitlab" in rd,
          "back to this authorize request: %r" % rd)
    rec = [e for e in _audit(h) if e.get("unmapped", {}).get("oidc", {}).get("event") ==
           "authorize"][-1]
    eq((rec["decision"], rec["policy"]["name"]), ("challenge", "mfa-for-gitlab"),
       "the challenge is audited with its policy")
    r = b.get(authorize_path(client_id="gitlab", prompt="none"))
    eq(query_of(r.header("Location", ""))["error"], "interaction_required", "prompt=none")


def test_oidc_expired_session_ends_rp_sessions(h):
    """A ztgate session that simply expires ends its relying parties' sessions too: the gateway
    restarted a day later (test clock) sends the logout token and refuses the refresh."""
    import os
    rx = LogoutReceiver()
    try:
        gw = gateway(h, apps=[oidc_app(h, "grafana", backchannel_logout_uri=rx.url)],
                     extra={"idp": {"refresh_token_ttl": "48h"}})
        b = signed_in(gw)
        t = js(exchange(gw, code_for(b)["code"]))
        gw.proc.stop()
        eq(rx.tokens, [], "nothing sent while the session lived")
        os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(26 * 3600)
        try:
            gw.start()
        finally:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        eq(len(rx.wait(1)), 1, "a logout token once the session expired")
        r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
        eq(r.status, 400, "refresh refused after expiry")
    finally:
        rx.close()


def test_oidc_client_added_and_removed_by_reload(h):
    """A second client appears with a reload (SIGHUP), and a removed one is unknown at once."""
    from harness import wait_until
    gw = gateway(h)
    b = signed_in(gw)
    r = b.get(authorize_path(client_id="gitlab"))
    eq(r.status, 400, "gitlab is not a client yet")
    cfg = dict(gw.config)
    cfg["apps"] = list(cfg["apps"]) + [oidc_app(h, "gitlab")]
    gw.reload(cfg)
    check(wait_until(lambda: b.get(authorize_path(client_id="gitlab")).status == 303, 10),
          "gitlab is a client after the reload")
    cfg["apps"] = [a for a in cfg["apps"] if a["name"] != "gitlab"]
    gw.reload(cfg)
    check(wait_until(lambda: b.get(authorize_path(client_id="gitlab")).status == 400, 10),
          "gitlab is unknown again after the next reload")
    check(code_for(b).get("code"), "grafana still works")


def test_oidc_refresh_decided_again(h):
    """Conditional Access is decided again at every refresh, from the grant's ztgate session: a
    block policy that starts to apply refuses the refresh and ends the grant (audited); a
    challenge (MFA now required) refuses it and leaves the grant, so the client sends the user
    back through authorize."""
    import os
    from harness import wait_until
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    gw = gateway(h, apps=[oidc_app(h, "grafana"), oidc_app(h, "gitlab")], extra={"audit": audit})
    b = signed_in(gw)
    t = js(exchange(gw, code_for(b)["code"]))
    t2 = js(exchange(gw, code_for(b, client_id="gitlab")["code"], headers=[basic("gitlab")]))
    cfg = dict(gw.config)
    cfg["policies"] = [
        {"name": "block-grafana", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["grafana"]}, "grant": {"block": True}},
        {"name": "mfa-for-gitlab", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["gitlab"]}, "grant": {"controls": ["mfa"]}}]
    gw.reload(cfg)
    check(wait_until(lambda: b.get(authorize_path()).status == 403, 10), "authorize blocked")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "refresh under a block policy")
    eq(userinfo(gw, t["access_token"]).status, 401, "the blocked grant is ended")
    rec = [e for e in _audit(h) if e.get("unmapped", {}).get("oidc", {}).get("event") ==
           "refresh"][-1]
    eq((rec["decision"], rec["policy"]["name"]), ("block", "block-grafana"), "audited: %r" % rec)
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]},
              headers=[basic("gitlab")])
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "refresh under an MFA policy")
    eq(userinfo(gw, t2["access_token"]).status, 200, "a challenge leaves the grant")
    # Policies relaxed: the same refresh token works (the refusal did not spend it).
    cfg["policies"] = []
    gw.reload(cfg)
    check(wait_until(lambda: b.get(authorize_path()).status == 303, 10), "authorize allowed")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]},
              headers=[basic("gitlab")])
    eq(r.status, 200, "refresh allowed again: %r" % r.body)


def test_oidc_refresh_scope(h):
    """A refused refresh (a scope wider than the grant) does not spend the token, so the
    corrected retry is not taken for a reuse; a narrower scope gives tokens with only it."""
    gw = gateway(h)
    b = signed_in(gw)
    t = js(exchange(gw, code_for(b)["code"]))
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                   "scope": "openid admin"})
    eq((r.status, js(r)["error"]), (400, "invalid_scope"), "scope exceeding: refused")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                   "scope": "openid"})
    eq(r.status, 200, "the retry with a narrower scope: %r" % r.body)
    t2 = js(r)
    eq(t2["scope"], "openid", "the scope answered is the one asked")
    _, c = claims(t2["id_token"])
    check("email" not in c and "groups" not in c, "no email or groups claims: %r" % sorted(c))
    eq(userinfo(gw, t["access_token"]).status, 200, "the grant lives")
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]})
    eq(r.status, 200, "the next refresh without scope")
    eq(js(r)["scope"], "openid email profile groups", "without scope: the grant's scope")


def test_oidc_refresh_keeps_session_alive(h):
    """A refresh is activity of the ztgate session: a relying party refreshing every 20 minutes
    keeps its grant past the 30-minute idle timeout (up to refresh_token_ttl and the session's
    absolute lifetime); without refreshes the idle timeout still ends it. The gateway is
    restarted with the test clock moved forward."""
    import os
    gw = gateway(h, extra={"idp": {"refresh_token_ttl": "8h"}})
    b = signed_in(gw)
    t = js(exchange(gw, code_for(b)["code"]))
    refresh = t["refresh_token"]
    for minutes in (20, 40, 60):
        gw.proc.stop()
        os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(minutes * 60)
        try:
            gw.start()
        finally:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        r = token(gw, {"grant_type": "refresh_token", "refresh_token": refresh})
        eq(r.status, 200, "refresh at +%d min: %r" % (minutes, r.body))
        refresh = js(r)["refresh_token"]
    gw.proc.stop()
    os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(95 * 60)
    try:
        gw.start()
    finally:
        os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
    r = token(gw, {"grant_type": "refresh_token", "refresh_token": refresh})
    eq(r.status, 400, "35 minutes without a refresh: the idle timeout ended the session")


def test_oidc_failed_code_exchange_audited(h):
    """A code presented with another redirect URI or a wrong PKCE verifier is spent, its grant
    revoked, and the refusal recorded (how code theft or injection looks)."""
    import os
    from oidc_client import pkce_pair
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    gw = gateway(h, extra={"audit": audit})
    b = signed_in(gw)
    r = exchange(gw, code_for(b)["code"], redirect="https://rp.example/cb2")
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "another redirect_uri")
    _, challenge = pkce_pair()
    r = exchange(gw, code_for(b, code_challenge=challenge, code_challenge_method="S256")["code"],
                 verifier=pkce_pair()[0])
    eq((r.status, js(r)["error"]), (400, "invalid_grant"), "wrong verifier")
    recs = [e for e in _audit(h) if e.get("unmapped", {}).get("oidc", {}).get("event") == "code"]
    reasons = [e.get("status_detail") or e.get("message") for e in recs]
    eq(len(recs), 2, "two refused exchanges recorded: %r" % reasons)
    check(all(e["app"]["name"] == "grafana" and e.get("status") != "Success" for e in recs),
          "failures naming the app: %r" % recs)
    text = json.dumps(recs)
    check("redirect_uri differs" in text and "code_verifier does not match" in text,
          "the reasons: %r" % reasons)


def test_oidc_backchannel_slow_rp_holds_back_only_itself(h):
    """A relying party that accepts the connection and never answers does not hold back the
    other relying parties' logout tokens: the healthy one gets its token while the gateway is
    still waiting on the silent one (its connection still open)."""
    import socket
    rx = LogoutReceiver()
    hole = socket.socket()
    conn = None
    try:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        hole_url = "http://127.0.0.1:%d/bcl" % hole.getsockname()[1]
        gw = gateway(h, apps=[oidc_app(h, "grafana", backchannel_logout_uri=hole_url),
                              oidc_app(h, "gitlab", backchannel_logout_uri=rx.url)])
        b = signed_in(gw)
        t1 = js(exchange(gw, code_for(b)["code"]))
        js(exchange(gw, code_for(b, client_id="gitlab")["code"], headers=[basic("gitlab")]))
        r = b.get("/.ztgate/oidc/logout?" + urllib.parse.urlencode({"id_token_hint": t1["id_token"]}))
        eq(r.status, 200, "logged out")
        hole.settimeout(30)
        conn, _ = hole.accept()  # the silent relying party's attempt, never answered
        eq(len(rx.wait(1, timeout=30)), 1, "the healthy relying party got its token")
        conn.setblocking(False)
        still_open = True
        try:
            while still_open:  # the request it sent, then either nothing more (open) or EOF
                still_open = conn.recv(65536) != b""
        except BlockingIOError:
            pass
        check(still_open, "delivered while the silent relying party's attempt was still open")
    finally:
        if conn is not None:
            conn.close()
        hole.close()
        rx.close()
