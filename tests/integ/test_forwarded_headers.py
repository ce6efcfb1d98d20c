"""Client-origin headers and forward-auth inputs from untrusted peers (issue 10, finding 9):
the headers frameworks believe about the client's address or host never reach an app from an
untrusted peer (a trusted proxy's are kept); /.ztgate/verify takes X-Forwarded-Proto only from
a trusted proxy; its login URL is built from the validated X-Forwarded-Host, never repeated
as sent."""
from harness import APP_HOST, check, eq, get, header_values

ORIGIN_HEADERS = ["X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Original-Forwarded-For",
                  "X-Real-IP", "X-Cluster-Client-IP", "Fastly-Client-IP", "Client-IP",
                  "X-Forwarded", "X-Originating-IP", "X-Remote-Addr", "X-Original-Host",
                  "X_Client_IP"]


def _sent():
    return [(n, "203.0.113.66") for n in ORIGIN_HEADERS]


def test_client_origin_headers_from_untrusted_peer_removed(h):
    gw, up = h.simple()
    r = get(gw.port, "/", headers=_sent())
    eq(r.status, 200, "status")
    seen = [(n, v) for n, v in r.json()["headers"] if "203.0.113.66" in v]
    eq(seen, [], "client-origin headers that reached the app")


def test_client_origin_headers_from_trusted_proxy_kept(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up)], gateway={"trusted_proxies": ["127.0.0.1/32"]}))
    echo = get(gw.port, "/", headers=_sent()).json()
    for name in ("X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "X-Real-IP"):
        eq(header_values(echo, name), ["203.0.113.66"], "%s from a trusted proxy" % name)


def _verify(gw, headers):
    return get(gw.port, "/.ztgate/verify", host="gw.test", headers=headers)


def test_verify_login_url_from_validated_host(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, host="int.test", sensitivity="internal")]))
    for sent in ("int.test,@evil.example", "int.test, evil.example", "INT.test"):
        r = _verify(gw, [("X-Forwarded-Host", sent), ("X-Forwarded-Uri", "/x")])
        eq(r.status, 401, "verify for X-Forwarded-Host %r" % sent)
        url = r.header("X-ZT-Login-URL", "")
        check(url.startswith("http://int.test/.ztgate/login?rd="), "login URL %r" % url)
        check("evil" not in url and "@" not in url, "login URL repeats the header: %r" % url)
        check("evil" not in r.body.decode(), "body repeats the header")
    r = _verify(gw, [("X-Forwarded-Host", "int.test:8443"), ("X-Forwarded-Uri", "/x")])
    check(r.header("X-ZT-Login-URL", "").startswith("http://int.test:8443/.ztgate/login?rd="),
          "port kept: %r" % r.header("X-ZT-Login-URL"))
    for bad in ("int.test@evil.example", "user:pw@int.test", "int.test/evil", "int.test:x"):
        r = _verify(gw, [("X-Forwarded-Host", bad), ("X-Forwarded-Uri", "/x")])
        eq(r.status, 400, "verify for X-Forwarded-Host %r" % bad)


def test_verify_proto_only_from_trusted_peer(h):
    up = h.upstream()
    app = h.app(up, host="int.test", sensitivity="internal")
    fwd = [("X-Forwarded-Host", "int.test"), ("X-Forwarded-Uri", "/x"),
           ("X-Forwarded-Proto", "https")]
    gw = h.gateway(h.config([app]))
    url = _verify(gw, fwd).header("X-ZT-Login-URL", "")
    check(url.startswith("http://int.test/"), "an untrusted peer chose the scheme: %r" % url)
    gw2 = h.gateway(h.config([app], gateway={"trusted_proxies": ["127.0.0.1/32"]}),
                    name="ztgate-trusted")
    url = _verify(gw2, fwd).header("X-ZT-Login-URL", "")
    check(url.startswith("https://int.test/"), "a trusted proxy's scheme: %r" % url)
