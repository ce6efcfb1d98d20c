"""Forward-auth: GET /.ztgate/verify answering nginx's auth_request (a real nginx from Debian in
front of the app), and the contract itself: 2xx only for an explicit allow, 401 with the sign-in
URL without a session, 403 for no app, never 2xx on bad input."""
import os
import shutil
import time
import urllib.parse

from harness import APP_HOST, Proc, Skip, check, eq, free_port, get, port_open

try:
    from portal_client import Browser, add_user, sign_in
except ImportError:  # helpers not split out yet
    from test_portal import Browser, add_user, sign_in

PASSWORD = "correct horse battery staple"
BROWSER = [("Accept", "text/html")]

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        server_name {host};

        # Every request is first asked of ztgate.
        location / {{
            auth_request /.ztgate/verify;
            auth_request_set $zt_user $upstream_http_x_zt_user;
            auth_request_set $zt_email $upstream_http_x_zt_email;
            auth_request_set $zt_groups $upstream_http_x_zt_groups;
            auth_request_set $zt_assertion $upstream_http_x_zt_assertion;
            auth_request_set $zt_login $upstream_http_x_zt_login_url;
            error_page 401 = @zt_sign_in;
            proxy_set_header X-ZT-User $zt_user;
            proxy_set_header X-ZT-Email $zt_email;
            proxy_set_header X-ZT-Groups $zt_groups;
            proxy_set_header X-ZT-Assertion $zt_assertion;
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location = /.ztgate/verify {{
            internal;
            proxy_pass http://127.0.0.1:{ztgate};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Method $request_method;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
        }}
        # ztgate's own pages (sign-in, MFA, logout) on the app's host.
        location /.ztgate/ {{
            proxy_pass http://127.0.0.1:{ztgate};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location @zt_sign_in {{
            return 302 $zt_login;
        }}
    }}
}}
"""


def _setup(h):
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        raise Skip("nginx not installed")
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity="internal")],
                   gateway={"trusted_proxies": ["127.0.0.1/32"]},
                   extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                   "argon2_passes": 2}})
    gw = h.gateway(cfg)
    port = free_port()
    ndir = h.path("nginx")
    os.makedirs(os.path.join(ndir, "tmp"))
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=ndir, port=port, host=APP_HOST, upstream=up.port,
                                  ztgate=gw.port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = Proc("nginx", [nginx, "-p", ndir, "-c", conf, "-e", os.path.join(ndir, "err.log")],
                h.dir)
    h.procs.append(proc)
    deadline = time.monotonic() + 10
    while not port_open(port):
        check(proc.alive(), "nginx exited: %s" % proc.stderr_text())
        check(time.monotonic() < deadline, "nginx did not listen")
        time.sleep(0.05)
    return gw, up, port


def test_nginx_auth_request_without_session_redirects_to_sign_in(h):
    gw, up, port = _setup(h)
    r = get(port, "/reports?q=1", headers=BROWSER)
    eq(r.status, 302, "status through nginx")
    loc = r.header("Location")
    prefix = "http://%s/.ztgate/login?rd=" % APP_HOST
    check(loc is not None and loc.startswith(prefix), "Location %r" % loc)
    eq(urllib.parse.unquote(loc[len(prefix):]), "http://%s/reports?q=1" % APP_HOST, "rd")
    eq(up.requests(), [], "the app must not see an unauthenticated request")


def test_nginx_auth_request_signed_in_passes_identity(h):
    gw, up, port = _setup(h)
    add_user(h, gw, "carol@example.test", PASSWORD)
    b = Browser(port)  # the browser only ever talks to nginx
    r = sign_in(b, "carol@example.test", PASSWORD, rd="/after")
    check(r.status in (302, 303), "sign-in through nginx: %d %r" % (r.status, r.body[:200]))
    r = b.get("/after", headers=[("X-ZT-User", "spoofed")])
    eq(r.status, 200, "signed-in request through nginx")
    echo = r.json()
    hdrs = {n.lower(): v for n, v in echo["headers"]}
    eq(hdrs.get("x-zt-email"), "carol@example.test", "X-ZT-Email set by nginx from ztgate")
    check(hdrs.get("x-zt-user") not in (None, "", "spoofed"), "X-ZT-User %r" % hdrs.get("x-zt-user"))
    check(hdrs.get("x-zt-assertion", "").count(".") == 2, "X-ZT-Assertion is a JWT")


def test_verify_contract(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal"),
                             h.app(up, name="open", host="open.test")]))

    def verify(headers):
        return get(gw.port, "/.ztgate/verify", host="gw.test", headers=headers)

    fwd = [("X-Forwarded-Host", APP_HOST), ("X-Forwarded-Uri", "/x?y=1"),
           ("X-Forwarded-Proto", "http"), ("X-Forwarded-Method", "GET")]
    r = verify(fwd)
    eq(r.status, 401, "no session")
    check(r.header("X-ZT-Login-URL", "").startswith("http://%s/.ztgate/login?rd=" % APP_HOST),
          "X-ZT-Login-URL %r" % r.header("X-ZT-Login-URL"))
    eq(verify([("X-Forwarded-Host", "open.test"), ("X-Forwarded-Uri", "/")]).status, 200,
       "public app")
    eq(verify([("X-Forwarded-Host", "nope.test"), ("X-Forwarded-Uri", "/")]).status, 403,
       "no app for this host")
    bad = [
        [],
        [("X-Forwarded-Host", APP_HOST)],
        [("X-Forwarded-Uri", "/")],
        [("X-Forwarded-Host", APP_HOST), ("X-Forwarded-Uri", "x")],
        [("X-Forwarded-Host", APP_HOST), ("X-Forwarded-Uri", "/a#b")],
        [("X-Forwarded-Host", APP_HOST), ("X-Forwarded-Uri", "/../../etc/passwd")],
        [("X-Forwarded-Host", APP_HOST), ("X-Forwarded-Uri", "/a%2fb")],
        [("X-Forwarded-Host", "app test"), ("X-Forwarded-Uri", "/")],
        [("X-Forwarded-Host", APP_HOST + ":99999"), ("X-Forwarded-Uri", "/")],
        [("X-Forwarded-Host", "[::1"), ("X-Forwarded-Uri", "/")],
    ]
    for hs in bad:
        r = verify(hs)
        check(r.status >= 400, "verify with %r answered %d" % (hs, r.status))
    eq(get(gw.port, "/.ztgate/verify", method="POST", body=b"x", headers=fwd).status, 400,
       "POST with a body")
    eq(up.requests(), [], "verify never forwards anything")
