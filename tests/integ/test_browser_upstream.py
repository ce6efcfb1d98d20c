"""A person signs in with "Sign in with Microsoft" / "Sign in with Google" in Chromium, through
npm oidc-provider standing in for Entra ID (a groups claim of object ids, amr with mfa) and for
Google Workspace (an hd claim, a password-only amr): the buttons on the sign-in page (en/ja),
home-realm discovery from the e-mail typed, just-in-time accounts with their groups, the
provider's MFA honoured when trusted and ztgate's own second factor asked when not
(docs/SIGNIN-OIDC.md)."""
import os

from browser import Chromium, msg
from harness import check, eq, free_port, wait_until
from oidc_peers import OP_DIR, _start_node, ensure_npm

STAFF_OID = "5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"


class UpstreamOP:
    def __init__(self, h, name, redirect_uri, accounts, default_account):
        ensure_npm(OP_DIR, "oidc-provider")
        self.port = free_port()
        self.issuer = "http://127.0.0.1:%d" % self.port
        self.client_id = "ztgate-" + name
        self.secret = "secret-of-%s-0123456789" % name
        opts = {"port": self.port, "issuer": self.issuer, "accounts": accounts,
                "defaultAccount": default_account,
                "clients": [{"client_id": self.client_id, "client_secret": self.secret,
                             "redirect_uris": [redirect_uri],
                             "token_endpoint_auth_method": "client_secret_basic"}]}
        self.proc, _ = _start_node(h, "upstream-" + name, os.path.join(OP_DIR, "upstream.mjs"),
                                   opts, OP_DIR)

    def provider(self, h, **kw):
        path = h.path(self.client_id + ".secret")
        with open(path, "w") as f:
            f.write(self.secret)
        os.chmod(path, 0o600)
        p = {"issuer": self.issuer, "client_id": self.client_id, "client_secret_file": path}
        p.update(kw)
        return p


def _groups(h, email):
    db = h.store_db()
    try:
        return [g for (g,) in db.execute(
            "SELECT g.name FROM memberships m JOIN groups g ON g.id = m.group_id JOIN users u "
            "ON u.id = m.user_id WHERE u.email = ? ORDER BY g.name", (email,))]
    finally:
        db.close()


def test_browser_upstream_entra_and_google(h):
    gw_port = free_port()
    base = "http://app.test:%d" % gw_port
    callback = base + "/.ztgate/upstream/callback"
    entra = UpstreamOP(h, "entra", callback, {
        "alice@contoso.test": {"name": "Alice Contoso", "groups": [STAFF_OID, "other-oid"],
                               "amr": ["pwd", "mfa"]},
        "bob@contoso.test": {"name": "Bob Contoso", "groups": [], "amr": ["pwd", "mfa"]}},
        "alice@contoso.test")
    google = UpstreamOP(h, "google", callback, {
        "carol@school.example": {"name": "Carol School", "hd": "school.example",
                                 "amr": ["pwd"]}}, "carol@school.example")
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity="internal")],
                   listen=[{"address": "127.0.0.1:%d" % gw_port}],
                   extra={"auth": {"mfa": "required", "argon2_memory": "19MiB",
                                   "argon2_passes": 2},
                          "oidc_providers": [
                              entra.provider(h, name="entra", label="Sign in with Microsoft",
                                             label_ja="Microsoft でサインイン",
                                             domains=["contoso.test"],
                                             group_map=[STAFF_OID + "=staff"],
                                             trust_upstream_mfa=True),
                              google.provider(h, name="google", label="Sign in with Google",
                                              label_ja="Google でサインイン",
                                              hosted_domain="school.example",
                                              group_map=[]),
                          ]})
    gw = h.gateway(cfg)
    eq(gw.port, gw_port, "the gateway's port")
    chromium = Chromium(h)

    # Entra through its button: MFA done upstream and trusted, straight to the app.
    tab = chromium.context("entra")
    p = tab.goto(base + "/hello", "login")
    check(msg("FED_OR") in p.text and "Sign in with Microsoft" in p.text
          and "Sign in with Google" in p.text, "the buttons: %s" % p.text[:500])
    p = tab.click('a[data-provider="entra"]', "entra-button")
    eq((p.status, p.url), (200, base + "/hello"), "signed in through Entra, at the app")
    eq(_groups(h, "alice@contoso.test"), ["staff"], "the Entra group object id mapped to staff")
    # Sign-out ends the ztgate session and goes on to Entra's end_session (RP-initiated logout).
    tab.goto(base + "/.ztgate/logout", "logout")
    tab.submit("logout-submit")
    check(wait_until(lambda: chromium.cmd("info", ctx="entra").get("url", "").startswith(
        entra.issuer + "/session/end"), 20),
          "at the provider's sign-out: %s" % chromium.cmd("info", ctx="entra").get("url"))
    tab.screenshot("entra-end-session")
    p = tab.goto(base + "/hello", "after-logout")
    check(p.url.startswith(base + "/.ztgate/login"), "signed out of ztgate: %s" % p.url)

    # Home-realm discovery: bob types his e-mail and no password.
    tab = chromium.context("hrd")
    tab.goto(base + "/hello", "login")
    p = tab.submit("hrd", username="bob@contoso.test", password="")
    eq(p.status, 200, "home realm: the page that moves on to Entra (already moving on)")
    # Its meta refresh goes on to Entra and back: wait for the browser to land at the app.
    check(wait_until(lambda: chromium.cmd("info", ctx="hrd").get("url") == base + "/hello", 20),
          "home realm: to Entra and back at the app: %s" % chromium.cmd("info", ctx="hrd"))
    tab.screenshot("hrd-at-app")

    # Google: hd checked; its password-only sign-in still owes ztgate's second factor.
    tab = chromium.context("google")
    tab.goto(base + "/hello", "login")
    p = tab.click('a[data-provider="google"]', "google-button")
    check(p.url.startswith(base + "/.ztgate/totp"),
          "Google (amr pwd): ztgate asks its own second factor: %s" % p.url)

    # Japanese sign-in page: the labels in Japanese.
    tab = chromium.context("ja", locale="ja-JP")
    p = tab.goto(base + "/hello", "login-ja")
    check("Microsoft でサインイン" in p.text and msg("FED_OR", "ja") in p.text,
          "Japanese buttons: %s" % p.text[:400])
