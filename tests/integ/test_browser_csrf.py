"""CSRF stays strict in a real browser: pages on other origins post ztgate's forms in Chromium -
with a valid CSRF token (as if it had leaked), so only the origin check stands in the way - and
every post is refused, while the person's own forms keep working. Over HTTP (no Fetch metadata:
the Origin decides) and HTTPS (Sec-Fetch-Site too):

- another origin of the same site (evil.app.test: the SameSite=Strict CSRF cookie IS sent);
- the same, under `Referrer-Policy: no-referrer` (the browser sends `Origin: null`);
- a sandboxed iframe (opaque origin: `Origin: null`, `Sec-Fetch-Site: cross-site`);
- another site (evil.test);
- the logout and password forms of a signed-in person.
"""
import html
import http.server
import json
import ssl
import threading

from browser import Chromium, make_cert
from harness import check, eq, free_port, timeout, wait_until
from portal_client import add_user

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
REFUSED = "cross-origin form post"


def _attack_page(action, fields, no_referrer=False):
    inputs = "".join('<input type="hidden" name="%s" value="%s">'
                     % (html.escape(k), html.escape(v)) for k, v in fields.items())
    meta = '<meta name="referrer" content="no-referrer">' if no_referrer else ""
    return ('<!doctype html><html><head>%s<title>Win a prize</title></head><body>'
            '<form id="f" method="POST" action="%s">%s</form>'
            '<script>document.getElementById("f").submit()</script></body></html>'
            % (meta, html.escape(action), inputs))


def _sandboxed_page(inner_url):
    return ('<!doctype html><html><body><p>an app page with a sandboxed frame</p>'
            '<iframe sandbox="allow-forms allow-scripts" src="%s"></iframe></body></html>'
            % html.escape(inner_url))


def _refusals(h):
    with open(h.path("access.log")) as f:
        recs = [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
    return [r for r in recs if r.get("method") == "POST" and r.get("error") == REFUSED]


class _AttackerSite:
    """The attacker's web server (evil.app.test, evil.test all map to it), plain or TLS, serving
    `pages` by path. A real server, not request interception, so the browser sends exactly the
    headers it sends to any site. Stopped by close()."""

    def __init__(self, cert=None, key=None):
        self.pages = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _token(tab, base, path):
    tab.goto(base + path, None)
    tok = tab.attr("input[name=csrf_token]", "value")
    check(tok and tok[0], "a CSRF token on %s" % path)
    return tok[0]


def _attack(h, tab, site, path, page, target, shot):
    site.pages[path] = page
    r = tab.goto_and_wait_post(site.url + path, target)
    tab.screenshot(shot)
    hs = r["request_headers"]
    eq(r["status"], 403, "%s refused (the browser sent Origin %r, Sec-Fetch-Site %r)"
       % (shot, hs.get("origin"), hs.get("sec-fetch-site")))
    h.attacks += 1
    return hs


@timeout(120)
def test_browser_cross_origin_forms_are_refused(h):
    cert, key, spki = make_cert(h, ["app.test", "evil.app.test", "evil.test"])
    up = h.upstream()
    plain, tls = free_port(), free_port()
    listen = [{"address": "127.0.0.1:%d" % plain},
              {"address": "127.0.0.1:%d" % tls, "tls": {"cert": cert, "key": key}}]
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], listen=listen,
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, EMAIL, PASSWORD)
    chromium = Chromium(h, spki=[spki])
    sites = {"http": _AttackerSite(), "https": _AttackerSite(cert, key)}
    h.attacks = 0
    try:
        for scheme, port in (("http", plain), ("https", tls)):
            _attacks(h, chromium, scheme, port, sites[scheme])
    finally:
        for site in sites.values():
            site.close()
    # Each refusal was the origin check's, not a missing cookie or token. The access log is
    # written just after the answers: wait for its lines.
    check(wait_until(lambda: len(_refusals(h)) >= h.attacks, 10.0),
          "every attack refused by the origin check: %d of %d in the access log"
          % (len(_refusals(h)), h.attacks))
    eq(len(_refusals(h)), h.attacks, "refusals by the origin check")


def _attacks(h, chromium, scheme, port, evil):
    tab = chromium.context("victim-" + scheme)
    base = "%s://app.test:%d" % (scheme, port)
    login = base + "/.ztgate/login"
    fields = {"username": EMAIL, "password": PASSWORD,
              "csrf_token": _token(tab, base, "/.ztgate/login")}
    https = scheme == "https"
    evil.url = "%s://evil.app.test:%d" % (scheme, evil.port)  # same site, other origin

    hs = _attack(h, tab, evil, "/prize", _attack_page(login, fields), login,
                 "%s-same-site-origin" % scheme)
    eq(hs.get("origin"), evil.url, "the attacker's Origin")
    check("ztgate_csrf" in hs.get("cookie", ""), "same site: the CSRF cookie is sent along")
    if https:
        eq(hs.get("sec-fetch-site"), "same-site", "Fetch metadata over HTTPS")
    hs = _attack(h, tab, evil, "/prize2", _attack_page(login, fields, no_referrer=True), login,
                 "%s-same-site-no-referrer" % scheme)
    eq(hs.get("origin"), "null", "Origin null under no-referrer")
    if https:
        eq(hs.get("sec-fetch-site"), "same-site", "Fetch metadata over HTTPS")
    evil.pages["/framed-form"] = _attack_page(login, fields)
    hs = _attack(h, tab, evil, "/framed", _sandboxed_page(evil.url + "/framed-form"), login,
                 "%s-sandboxed-iframe" % scheme)
    eq(hs.get("origin"), "null", "Origin null from a sandboxed frame")
    if https:
        eq(hs.get("sec-fetch-site"), "cross-site", "a sandboxed frame is cross-site")
    evil.url = "%s://evil.test:%d" % (scheme, evil.port)  # another site
    _attack(h, tab, evil, "/prize", _attack_page(login, fields), login, "%s-cross-site" % scheme)
    check(not [c for c in tab.cookies() if "ztgate_session" in c["name"]],
          "no attack signed the browser in")

    # The person's own form still works...
    tab.goto(base + "/hello", None)
    p = tab.submit("%s-own-form" % scheme, username=EMAIL, password=PASSWORD)
    eq((p.status, p.url), (200, base + "/hello"), "the person's own sign-in")
    # ...and signed in, the logout and password forms cannot be posted from elsewhere.
    evil.url = "%s://evil.app.test:%d" % (scheme, evil.port)
    for path, extra in (("/.ztgate/logout", {}),
                        ("/.ztgate/password", {"current_password": PASSWORD,
                                               "new_password": "attacker's chosen password",
                                               "confirm_password": "attacker's chosen password"})):
        fields = dict(extra, csrf_token=_token(tab, base, path))
        name = path.replace("/.ztgate/", "-")
        _attack(h, tab, evil, "/prize" + name, _attack_page(base + path, fields), base + path,
                "%s-same-site%s" % (scheme, name))
    p = tab.goto(base + "/hello", "%s-still-signed-in" % scheme)
    eq((p.status, p.url), (200, base + "/hello"), "still signed in")
    tab.close()
    # The password is unchanged: a fresh browser signs in with it.
    other = chromium.context("check-" + scheme)
    other.goto(base + "/hello", None)
    p = other.submit(None, username=EMAIL, password=PASSWORD)
    eq((p.status, p.url), (200, base + "/hello"), "the password was not changed")
    other.close()
