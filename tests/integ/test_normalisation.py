"""Path normalisation (security.md §4.3): the upstream sees the normalised path, routing uses the
same path, and spellings that cannot be made safe are refused."""
from harness import build_request, check, eq, exchange


def _path_seen(h, gw, up, target, expect_status=200):
    """Sends target raw on its own connection; returns the path the upstream saw (or None)."""
    before = len(up.requests())
    responses, _, raw = exchange(gw.port, build_request("GET", target,
                                                        headers=[("Connection", "close")]))
    check(responses, "no response for %r (raw %r)" % (target, raw[:200]))
    eq(responses[0].status, expect_status, "status for %r" % target)
    new = up.requests()[before:]
    return new[0]["path"] if new else None


def test_dot_segments_removed(h):
    gw, up = h.simple()
    eq(_path_seen(h, gw, up, "/a/./b/../c"), "/a/c", "upstream path for /a/./b/../c")


def test_repeated_slashes_merged(h):
    gw, up = h.simple()
    eq(_path_seen(h, gw, up, "//a///b"), "/a/b", "upstream path for //a///b")


def test_unreserved_percent_decoded(h):
    gw, up = h.simple()
    eq(_path_seen(h, gw, up, "/%61bc"), "/abc", "upstream path for /%61bc")


def test_encoded_dot_segments_resolved(h):
    gw, up = h.simple()
    eq(_path_seen(h, gw, up, "/a/%2e%2e/b"), "/b", "upstream path for /a/%2e%2e/b")
    eq(_path_seen(h, gw, up, "/a/%2E/b"), "/a/b", "upstream path for /a/%2E/b")


def test_query_is_not_normalised(h):
    gw, up = h.simple()
    eq(_path_seen(h, gw, up, "/a/../b?x=/../y&z=%2F"), "/b?x=/../y&z=%2F",
       "upstream target with a query")


def test_escape_above_root_refused(h):
    gw, up = h.simple()
    for target in ("/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd"):
        eq(_path_seen(h, gw, up, target, 400), None, "upstream request for %r" % target)


def test_encoded_slash_refused_by_default(h):
    gw, up = h.simple()
    for target in ("/a%2Fb", "/a%2fb", "/a%5Cb"):
        eq(_path_seen(h, gw, up, target, 400), None, "upstream request for %r" % target)


def test_encoded_slash_allowed_per_app(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, allow_encoded_slash=True)]))
    eq(_path_seen(h, gw, up, "/a%2Fb"), "/a%2Fb", "upstream path with allow_encoded_slash")


def test_nul_refused(h):
    gw, up = h.simple()
    for target in ("/a%00b", "/%00", "/a%00/../b"):
        eq(_path_seen(h, gw, up, target, 400), None, "upstream request for %r" % target)


def _two_apps(h):
    root, admin = h.upstream("root-upstream"), h.upstream("admin-upstream")
    gw = h.gateway(h.config([
        h.app(admin, name="admin", path_prefix="/admin"),
        h.app(root, name="root", path_prefix="/"),
    ]))
    return gw, root, admin


def test_routing_uses_normalised_path(h):
    gw, root, admin = _two_apps(h)
    _path_seen(h, gw, admin, "/x/../admin/page")
    eq(admin.paths(), ["/admin/page"], "admin app requests")
    eq(root.paths(), [], "root app requests")


def test_dot_dot_out_of_prefix_goes_to_other_app(h):
    gw, root, admin = _two_apps(h)
    _path_seen(h, gw, root, "/admin/../public")
    eq(root.paths(), ["/public"], "root app requests")
    eq(admin.paths(), [], "admin app requests")


def test_prefix_matches_whole_segments(h):
    gw, root, admin = _two_apps(h)
    _path_seen(h, gw, root, "/administrator")
    _path_seen(h, gw, admin, "/admin")
    _path_seen(h, gw, admin, "//admin//x")
    eq(root.paths(), ["/administrator"], "root app requests")
    eq(admin.paths(), ["/admin", "/admin/x"], "admin app requests")


def test_encoded_prefix_spellings_route_to_admin(h):
    gw, root, admin = _two_apps(h)
    for target in ("/%61dmin/x", "/./admin/x", "/public/../admin/x"):
        _path_seen(h, gw, admin, target)
    eq(admin.paths(), ["/admin/x"] * 3, "admin app requests")
    eq(root.paths(), [], "root app requests")
