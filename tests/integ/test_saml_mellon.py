"""ztgate's SAML IdP with a real SP: Apache httpd with mod_auth_mellon (Debian) protecting
/secret/ (tests/integ/apache.py), driven by Chromium. SP-initiated sign-in (the CGI shows the
NameID and the attributes), IdP-initiated sign-in, single logout from mellon, two SPs with one
sign-in, a policy blocking the app (mellon gets Responder/RequestDenied), and MFA step-up for
the app (the assertion then says multipleauthn). English and Japanese; every page is kept as a
screenshot under BUILD/browser-shots/saml-mellon-*."""
import json
import os
import urllib.parse

import apache
from browser import Chromium, check_japanese, make_cert
from harness import check, eq, free_port, get, timeout
from portal_client import EMAIL, PASSWORD, _fresh_step, add_user, totp

PORTAL = "auth.test"
ATTRS = {"email": "mail", "display_name": "displayName", "groups": "groups"}


def _gateway(h, sps, policies=None):
    cert, key, spki = make_cert(h, [PORTAL], name="ztgate-tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    apps = [{"name": name, "kind": "saml", "sensitivity": "confidential",
             "saml": {"metadata_file": sp.sp_metadata_path, "attributes": ATTRS}}
            for name, sp in sps]
    extra = {"auth": {"portal_host": PORTAL, "mfa": "optional", "argon2_passes": 2,
                      "argon2_memory": "19MiB"},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")}}
    if policies:
        extra["policies"] = policies
    gw = h.gateway(h.config(apps, listen=listen, extra=extra))
    add_user(h, gw, groups=("staff", "teachers"))
    gw.base = "https://%s:%d" % (PORTAL, gw.tls_port)
    r = get(gw.tls_port, "/.ztgate/saml/metadata", host=PORTAL, tls=True)
    eq(r.status, 200, "IdP metadata")
    path = h.path("ztgate-idp-metadata.xml")
    with open(path, "wb") as f:
        f.write(r.body)
    for _, sp in sps:
        sp.start_with_idp(path)
    return gw, spki


def _secret_env(tab, sp, what):
    p = apache.wait_page(tab, sp.url("/secret/"))
    eq(p["url"].split("?")[0], sp.url("/secret/"),
       "%s: at the SP's page\n%s\n%s" % (what, p["text"][:600], sp.logs()))
    return json.loads(p["text"])


def _sign_in_at_sp(tab, sp, shot, lang_title=None):
    p = tab.goto(sp.url("/secret/"), shot + "-to-idp")
    check("/.ztgate/login" in p.url, "mellon sends the browser to ztgate's sign-in: %s" % p.url)
    if lang_title:
        check_japanese(p, lang_title, "sign-in page (ja)")
    return tab.submit(shot + "-signed-in", username=EMAIL, password=PASSWORD)


def _sso_and_slo(h, locale):
    sp = apache.mellon(h)
    gw, spki = _gateway(h, [("mellon", sp)])
    tab = Chromium(h, spki=[spki, sp.spki]).context(locale=locale)
    _sign_in_at_sp(tab, sp, "sp-initiated", "PM_TITLE_SIGN_IN" if locale == "ja-JP" else None)
    env = _secret_env(tab, sp, "SP-initiated")
    eq(env.get("REMOTE_USER"), EMAIL, "the NameID is the user's email: %r" % env)
    eq(env.get("MELLON_mail"), EMAIL, "mail attribute")
    groups = sorted(v for k, v in env.items() if k.startswith("MELLON_groups"))
    check("staff" in groups and "teachers" in groups, "groups, multi-valued: %r" % env)
    eq(env.get("AUTH_TYPE"), "Mellon", "mellon authenticated")
    # Single logout from mellon: ztgate ends its own session too.
    p = tab.goto(sp.logout_url(), "slo")
    check(p.url.startswith(sp.url("/loggedout")), "back at the SP after SLO: %s\n%s"
          % (p.url, sp.logs()))
    p = tab.goto(gw.base + "/.ztgate/security", "portal-after-slo")
    check("/.ztgate/login" in p.url, "the ztgate session ended with the SLO: %s" % p.url)
    # IdP-initiated: straight from the portal to the SP, RelayState = where to land.
    p = _sign_in_at_sp(tab, sp, "again")
    _secret_env(tab, sp, "SP-initiated again")
    tab.goto(sp.logout_url(), "slo-2")
    p = tab.goto(gw.base + "/.ztgate/login", "portal-login")
    tab.submit("portal-signed-in", username=EMAIL, password=PASSWORD)
    init = "%s/.ztgate/saml/init?app=mellon&RelayState=%s" % (
        gw.base, urllib.parse.quote(sp.url("/secret/"), safe=""))
    tab.goto(init, "idp-initiated")
    env = _secret_env(tab, sp, "IdP-initiated")
    eq(env.get("REMOTE_USER"), EMAIL, "IdP-initiated: the NameID")
    return gw


@timeout(180)
def test_saml_mellon_sso_slo_english(h):
    _sso_and_slo(h, "en-US")


@timeout(180)
def test_saml_mellon_sso_slo_japanese(h):
    _sso_and_slo(h, "ja-JP")


@timeout(180)
def test_saml_mellon_two_sps_one_sign_in(h):
    sp1 = apache.mellon(h)
    sp2 = apache.mellon(h, host="sp2.test", name="apache-mellon-2")
    gw, spki = _gateway(h, [("mellon", sp1), ("mellon2", sp2)])
    tab = Chromium(h, spki=[spki, sp1.spki, sp2.spki]).context()
    _sign_in_at_sp(tab, sp1, "first-sp")
    eq(_secret_env(tab, sp1, "first SP").get("REMOTE_USER"), EMAIL, "first SP")
    p = tab.goto(sp2.url("/secret/"), "second-sp")  # no sign-in page this time
    env = _secret_env(tab, sp2, "second SP")
    eq(env.get("REMOTE_USER"), EMAIL, "second SP, same user, one sign-in")
    logins = [x for x in open(os.path.join(h.dir, "access.log")) if "/.ztgate/login" in x and
              '"POST"' in x]
    eq(len(logins), 1, "one password sign-in for both SPs")
    recs = [json.loads(x) for x in open(os.path.join(h.dir, "state", "audit", "audit.log"))
            if '"saml.assertion"' in x]
    eq(sorted(r["app"]["name"] for r in recs), ["mellon", "mellon2"], "two assertions audited")
    check(all(r["service"]["uid"] in (sp1.entity_id, sp2.entity_id) for r in recs),
          "each names the SP's entity id")
    # Single logout from the first SP goes through the second one (front channel) and back.
    p = tab.goto(sp1.logout_url(), "slo-both")
    check(p.url.startswith(sp1.url("/loggedout")), "back at the first SP: %s\n%s\n%s"
          % (p.url, sp1.logs(), sp2.logs()))
    check("/mellon/logout" in open(os.path.join(sp2.dir, "access.log")).read(),
          "the second SP was sent a LogoutRequest:\n" + sp2.logs())
    p = tab.goto(sp2.url("/secret/"), "second-sp-after-slo")
    check("/.ztgate/login" in p.url, "the second SP's session ended too: %s" % p.url)


@timeout(180)
def test_saml_mellon_blocked_by_policy(h):
    sp = apache.mellon(h)
    gw, spki = _gateway(h, [("mellon", sp)], policies=[
        {"name": "no-staff-on-mellon", "state": "on", "users": {"include": ["group:staff"]},
         "apps": {"include": ["mellon"]}, "grant": {"block": True}}])
    for locale in ("en-US", "ja-JP"):
        tab = Chromium(h, spki=[spki, sp.spki], name="saml-mellon-blocked-" + locale).context(
            locale=locale)
        p = _sign_in_at_sp(tab, sp, "blocked")
        eq(p.status, 403, "the block page")
        check("no-staff-on-mellon" in tab.html(), "the page names the policy")
        if locale == "ja-JP":
            check_japanese(p, "MSG_BLOCKED_TITLE", "block page (ja)")
        tab.click("main a[href*='deny=1']", "back-to-app")
        p = apache.wait_page(tab, sp.url("/mellon/postResponse"), text_prefix="")
        check("/secret/" not in p["url"], "mellon did not let the user in: %r" % p)
        log = sp.error_log()
        check("RequestDenied" in log or "urn:oasis:names:tc:SAML:2.0:status:Responder" in log,
              "mellon got the error status:\n%s" % log[-3000:])


@timeout(180)
def test_saml_mellon_step_up(h):
    sp = apache.mellon(h)
    gw, spki = _gateway(h, [("mellon", sp)], policies=[
        {"name": "mfa-for-mellon", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["mellon"]}, "grant": {"controls": ["mfa"]}}])
    tab = Chromium(h, spki=[spki, sp.spki]).context()
    p = _sign_in_at_sp(tab, sp, "step-up")
    check("/.ztgate/totp" in p.url, "step-up without an authenticator: enrolment (%s)" % p.url)
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    p = tab.submit("step-up-codes", code=totp(secret, at=_fresh_step(secret) * 30))
    tab.click("main a[href^='/.ztgate/login']", "step-up-done")
    env = _secret_env(tab, sp, "after step-up")
    eq(env.get("REMOTE_USER"), EMAIL, "signed in to the SP after the second factor")
    recs = [json.loads(x) for x in open(os.path.join(h.dir, "state", "audit", "audit.log"))
            if '"saml.' in x]
    eq([r["message"] for r in recs if r["message"].startswith("saml.sso.")][:2],
       ["saml.sso.challenge", "saml.sso.allow"], "challenge, then allow")
    issued = [r for r in recs if r["message"] == "saml.assertion"]
    check(issued and issued[-1].get("is_mfa") is True, "the assertion's session had MFA")
