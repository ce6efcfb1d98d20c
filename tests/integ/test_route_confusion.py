"""Route confusion on a shared backend (issue 10, finding 9): a public app on "/" and a
signed-in app on "/admin" of the same host and upstream. Spellings an upstream may read as
"/admin" (other case, ";params", trailing dots or spaces) must not reach it as the public app:
refused with 400 by default, through the proxy and through /.ztgate/verify, or routed the way
the app's path_match says its upstream reads paths."""
from harness import check, eq, get, wait_until

HOST = "int.test"
AMBIGUOUS = ["/ADMIN/x", "/Admin/x", "/admin;jsessionid=1/x", "/admin./x", "/admin%20/x",
             "/admin.%20./x", "/ADMIN;x=1./x"]


def _gateway(h, public_match=None, admin_match=None, name="ztgate"):
    up = h.upstream("up-" + name)
    public = h.app(up, name="public", host=HOST)
    admin = h.app(up, name="admin", host=HOST, path_prefix="/admin", sensitivity="internal")
    if public_match:
        public["path_match"] = public_match
    if admin_match:
        admin["path_match"] = admin_match
    return h.gateway(h.config([public, admin]), name=name), up


def _verify(gw, uri):
    return get(gw.port, "/.ztgate/verify", host="gw.test",
               headers=[("X-Forwarded-Host", HOST), ("X-Forwarded-Uri", uri)])


def test_ambiguous_paths_refused_by_default(h):
    gw, up = _gateway(h)
    eq(get(gw.port, "/x", host=HOST).status, 200, "public page")
    check(get(gw.port, "/admin/x", host=HOST).status in (302, 401), "admin needs sign-in")
    for path in AMBIGUOUS:
        r = get(gw.port, path, host=HOST)
        eq(r.status, 400, "status of %s" % path)
        eq(_verify(gw, path).status, 400, "forward-auth answer for %s" % path)
    eq([p for p in up.paths() if p != "/x"], [], "ambiguous paths that reached the upstream")
    # Spellings that cannot reach another app's prefix stay allowed.
    for path in ("/shop;jsessionid=1/cart", "/Shop/Cart.", "/adminx/y", "/a/admin/x"):
        eq(get(gw.port, path, host=HOST).status, 200, "status of %s" % path)
    eq(_verify(gw, "/x").status, 200, "forward-auth: public page")
    eq(_verify(gw, "/admin/x").status, 401, "forward-auth: admin needs sign-in")
    check(wait_until(lambda: "ambiguous path" in open(gw.access_log_path()).read(), 5.0),
          "the access log says why")


def test_declared_case_insensitive_backend_routes_to_admin(h):
    """Both apps say their (shared) upstream ignores case: "/ADMIN/x" is the admin app's and
    needs sign-in; it does not strip ";params", so "/admin;x/y" is the public app's."""
    gw, up = _gateway(h, ["case_insensitive"], ["case_insensitive"])
    for path in ("/ADMIN/x", "/Admin/x"):
        check(get(gw.port, path, host=HOST).status in (302, 401), "%s needs sign-in" % path)
        eq(_verify(gw, path).status, 401, "forward-auth for %s" % path)
    eq(get(gw.port, "/admin;x/y", host=HOST).status, 200, "not a param-stripping backend")
    eq(get(gw.port, "/admin./x", host=HOST).status, 200, "not a dot-trimming backend")
    eq(up.paths(), ["/admin;x/y", "/admin./x"], "what reached the upstream")


def test_declared_exact_backend_reads_byte_for_byte(h):
    gw, up = _gateway(h, ["exact"], ["exact"])
    for path in AMBIGUOUS:
        eq(get(gw.port, path, host=HOST).status, 200, "%s is the public app's" % path)


def test_declared_param_stripping_backend(h):
    gw, up = _gateway(h, ["strip_params", "trim_dots"], ["strip_params", "trim_dots"])
    for path in ("/admin;jsessionid=1/x", "/admin./x", "/admin%20/x"):
        check(get(gw.port, path, host=HOST).status in (302, 401), "%s needs sign-in" % path)
    eq(get(gw.port, "/ADMIN/x", host=HOST).status, 200, "a case-sensitive backend")


def test_path_match_exact_is_alone(h):
    up = h.upstream()
    cfg = h.config([h.app(up, path_match=["exact", "case_insensitive"])])
    gw = h.gateway(cfg, start=False)
    res = h.cli("check-config", gw.config_path)
    check(res.returncode != 0, "check-config accepted exact with another word")
    check("cannot be combined" in res.stderr + res.stdout, res.stderr + res.stdout)
