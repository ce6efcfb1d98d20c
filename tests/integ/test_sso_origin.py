"""One-time SSO codes and rd are bound to origins the gateway serves (issue 10, finding 9).

Before the fix, central sign-in sent the code to any scheme and port of an app host
(rd=http://app.test:6666/x: the code went to port 6666, where anyone able to listen on that host
got it, and it redeemed on the real app origin); http:// was accepted from an HTTPS page; and
without a portal host the same host on another port or scheme was an accepted rd too."""
import os
import urllib.parse

from harness import check, eq, free_port
from portal_client import Browser, add_user, session_cookie, sign_in

APP = "app.test"
PORTAL = "portal.test"


def _gateway(h, portal_host=True):
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port()},
              {"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    up = h.upstream()
    auth = {"mfa": "optional", "argon2_passes": 2, "argon2_memory": "19MiB"}
    if portal_host:
        auth["portal_host"] = PORTAL
    gw = h.gateway(h.config([h.app(up, host=APP, sensitivity="internal")], listen=listen,
                            extra={"auth": auth}))
    add_user(h, gw)
    return gw


def _bad_rds(gw):
    """rd values naming the app host on a scheme/port the gateway does not serve it on."""
    p, t = gw.port, gw.tls_port
    return ["http://%s:6666/x" % APP, "https://%s:6666/x" % APP, "http://%s/x" % APP,
            "https://%s/x" % APP, "http://%s:%d/x" % (APP, t), "https://%s:%d/x" % (APP, p),
            "HTTP://APP.TEST:6666/x", "http://%s:06666/x" % APP]


def _sso(portal, rd):
    r = portal.get("/.ztgate/login?rd=" + urllib.parse.quote(rd, safe=""))
    eq(r.status, 303, "single sign-on answer for rd=%s" % rd)
    return r.header("Location", "")


def test_sso_code_goes_only_to_served_origins(h):
    gw = _gateway(h)
    p, t = gw.port, gw.tls_port
    # The portal over HTTPS, as a real deployment.
    portal = Browser(t, host="%s:%d" % (PORTAL, t), tls=True)
    r = sign_in(portal, rd="https://%s:%d/hello" % (APP, t))
    eq(r.status, 303, "signed in at the portal")
    good = r.header("Location", "")
    prefix = "https://%s:%d/.ztgate/callback?code=" % (APP, t)
    check(good.startswith(prefix), "a code for the app's HTTPS origin: %r" % good)

    # Attack payloads: never a code (nor a redirect) to an unserved origin.
    for rd in _bad_rds(gw) + ["http://%s:%d/x" % (APP, p)]:  # + downgrade to the HTTP listener
        loc = _sso(portal, rd)
        eq(loc, "/.ztgate/", "rd=%s refused (went to %r)" % (rd, loc))

    # The code is bound to its origin: the same code on another port or scheme of the app
    # host fails (and is not used up), then works on its own origin.
    query = good[len("https://%s:%d" % (APP, t)):]
    other_port = Browser(t, host="%s:6666" % APP, tls=True)
    eq(other_port.get(query).status, 400, "code redeemed with Host port 6666: refused")
    plain = Browser(p, host="%s:%d" % (APP, t))
    eq(plain.get(query).status, 400, "code redeemed over plain HTTP: refused")
    app = Browser(t, host="%s:%d" % (APP, t), tls=True)
    r = app.get(query)
    eq(r.status, 303, "code redeemed on its own origin")
    eq(r.header("Location"), "/hello", "on to the page")
    check(session_cookie(app), "the app origin has its own session")

    # A code for the HTTP origin (portal over HTTP) does not redeem over HTTPS either.
    portal_http = Browser(p, host="%s:%d" % (PORTAL, p))
    sign_in(portal_http)
    loc = _sso(portal_http, "http://%s:%d/y" % (APP, p))
    check(loc.startswith("http://%s:%d/.ztgate/callback?code=" % (APP, p)),
          "HTTP portal: code for the HTTP origin: %r" % loc)
    query = loc[len("http://%s:%d" % (APP, p)):]
    tls_app = Browser(t, host="%s:%d" % (APP, p), tls=True)
    eq(tls_app.get(query).status, 400, "an HTTP origin's code over HTTPS: refused")


def test_rd_without_portal_host_stays_on_served_origins(h):
    gw = _gateway(h, portal_host=False)
    p = gw.port
    b = Browser(p, host="%s:%d" % (APP, p))
    r = sign_in(b, rd="http://%s:6666/x" % APP)
    eq(r.status, 303, "signed in")
    eq(r.header("Location"), "/.ztgate/", "rd to another port of the same host refused")
    for rd in _bad_rds(gw):
        loc = _sso(b, rd)
        eq(loc, "/.ztgate/", "rd=%s refused (went to %r)" % (rd, loc))
    eq(_sso(b, "http://%s:%d/ok" % (APP, p)), "http://%s:%d/ok" % (APP, p),
       "the origin the browser is on is fine")
