"""Central sign-in (`auth.portal_host`, docs/PORTAL.md) in Chromium: an app host sends the
person to the portal host, the password is typed there once, a one-time code brings the browser
back to the app host with its own session, and a second app host needs no password at all.
Logout at the portal ends it. English over HTTP, Japanese over HTTPS (no English catalogue
text on a Japanese page); screenshots under
BUILD_DIR/browser-shots/sso-*/."""
from browser import Chromium, check_japanese, make_cert
from harness import check, eq, free_port, timeout
from portal_client import add_user

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
HOSTS = ["auth.test", "a.test", "b.test"]


def _sessions(tab):
    return sorted(c["domain"] for c in tab.cookies() if "ztgate_session" in c["name"])


def _sso(chromium, locale, base):
    tab = chromium.context(locale, locale=locale)
    ja = locale.startswith("ja")
    # 1. a.test sends the person to the portal host to sign in.
    p = tab.goto(base("a.test") + "/page-a", "portal-login")
    check(p.url.startswith(base("auth.test") + "/.ztgate/login?rd="),
          "the sign-in page is on the portal host: %s" % p.url)
    eq(p.h1, "サインイン" if ja else "Sign in", "sign-in page")
    if ja:
        check_japanese(p, "PM_TITLE_SIGN_IN", "the portal's sign-in page (ja)")
    # 2. The password at the portal; back on a.test, at the page asked for.
    p = tab.submit("app-a", username=EMAIL, password=PASSWORD)
    eq((p.status, p.url), (200, base("a.test") + "/page-a"), "a.test after signing in")
    # 3. b.test: single sign-on, no password typed.
    p = tab.goto(base("b.test") + "/page-b", "app-b-single-sign-on")
    eq((p.status, p.url), (200, base("b.test") + "/page-b"), "b.test without a password")
    eq(_sessions(tab), sorted(HOSTS), "a session cookie for each host, none shared")
    # 4. Logout at the portal host ends the app hosts' sessions made from it.
    p = tab.goto(base("auth.test") + "/.ztgate/logout", "portal-logout")
    if ja:
        check_japanese(p, "PM_TITLE_LOGOUT", "the portal's sign-out form (ja)")
    p = tab.submit("portal-signed-out")
    eq(p.h1, "サインアウトしました" if ja else "You are signed out", "signed out")
    if ja:
        check_japanese(p, "PM_TITLE_SIGNED_OUT", "the portal's signed-out page (ja)")
    for host, path in (("a.test", "/page-a"), ("b.test", "/page-b")):
        p = tab.goto(base(host) + path, "after-logout-" + host)
        check(p.url.startswith(base("auth.test") + "/.ztgate/login"),
              "%s asks for sign-in again: %s" % (host, p.url))
    tab.close()


@timeout(120)
def test_browser_portal_host_single_sign_on(h):
    cert, key, spki = make_cert(h, HOSTS)
    up_a, up_b = h.upstream("upstream-a"), h.upstream("upstream-b")
    plain, tls = free_port(), free_port()
    listen = [{"address": "127.0.0.1:%d" % plain},
              {"address": "127.0.0.1:%d" % tls, "tls": {"cert": cert, "key": key}}]
    apps = [h.app(up_a, name="a", host="a.test", sensitivity="internal"),
            h.app(up_b, name="b", host="b.test", sensitivity="internal")]
    gw = h.gateway(h.config(apps, listen=listen, extra={"auth": {
        "mfa": "optional", "portal_host": "auth.test", "argon2_memory": "19MiB",
        "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    chromium = Chromium(h, spki=[spki])
    _sso(chromium, "en-US", lambda host: "http://%s:%d" % (host, plain))
    _sso(chromium, "ja-JP", lambda host: "https://%s:%d" % (host, tls))
    eq(sorted(set(x["path"] for x in up_a.requests() if x["path"] != "/favicon.ico")),
       ["/page-a"], "a.test's app saw only its page")
    eq(sorted(set(x["path"] for x in up_b.requests() if x["path"] != "/favicon.ico")),
       ["/page-b"], "b.test's app saw only its page")
