"""Two gateways on one PostgreSQL in Chromium (docs/CLUSTER.md): a person signs in on one and is
served by the other (one session in the database, the cookie sent to both); the database goes
away: the signed-in person keeps working on both (outage grace), a new visitor gets the
"Sign-in unavailable" page in English and in Japanese (503, nothing else to fill in, no serious
axe-core finding) instead of a form that could only fail; the database is back: the visitor
signs in. Screenshots: BUILD_DIR/browser-shots/cluster-*."""
import pgcluster
from browser import Chromium, check_japanese, msg
from harness import check, eq, timeout
from portal_client import Browser, add_user

USER = "nurse@example.test"
PASSWORD = "correct horse battery staple"


def _cluster(h):
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity="internal")],
                   extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                   "argon2_passes": 2}})
    cfg["store"] = {"resync_interval": "500ms", "timeout": "1s", "outage_grace": "60s"}
    gws = pgcluster.start_gateways(h, 2, cfg)
    add_user(h, gws[0], USER, PASSWORD)
    return gws, up


def _sign_in_page_back(gw):
    """Polled over plain HTTP (one screenshot per try would only fill the folder)."""
    return pgcluster.wait_for(lambda: Browser(gw.port).get("/.ztgate/login").status == 200,
                              15.0)[0]


@timeout(180)
def test_browser_cluster_outage(h):
    gws, up = _cluster(h)
    base_a, base_b = ("http://app.test:%d" % g.port for g in gws)
    chromium = Chromium(h)
    person = chromium.context("en")
    person.goto(base_a + "/ward", "cluster-sign-in")
    p = person.submit("cluster-signed-in-a", username=USER, password=PASSWORD)
    eq((p.status, p.url), (200, base_a + "/ward"), "signed in on gw-a")
    p = person.goto(base_b + "/ward", "cluster-served-by-b")
    eq((p.status, p.url), (200, base_b + "/ward"), "the same session served by gw-b")

    pg = gws[0].pg
    pg.pause()
    try:
        for base, node in ((base_a, "a"), (base_b, "b")):
            p = person.goto(base + "/during", "cluster-outage-served-" + node)
            eq((p.status, p.url), (200, base + "/during"),
               "gw-%s serves the signed-in person while the database is down" % node)
        visitor = chromium.context("visitor")
        p = visitor.goto(base_a + "/ward", "cluster-outage-en")
        eq((p.status, p.h1), (503, msg("PM_TITLE_DATABASE_DOWN")), "the outage page, en")
        eq(visitor.attr("input[name=password]", "name"), [], "no form that could only fail")
        visitor.check_accessible("the outage page (en)")
        ja = chromium.context("ja", locale="ja-JP")
        p = ja.goto(base_b + "/ward", "cluster-outage-ja")
        eq(p.status, 503, "the outage page, ja")
        check_japanese(p, "PM_TITLE_DATABASE_DOWN", "the Japanese outage page")
        ja.check_accessible("the outage page (ja)")
    finally:
        pg.start()
    check(_sign_in_page_back(gws[0]), "the sign-in page is back")
    visitor.goto(base_a + "/ward", "cluster-visitor-sign-in")
    p = visitor.submit("cluster-visitor-signed-in", username=USER, password=PASSWORD)
    eq((p.status, p.url), (200, base_a + "/ward"), "the visitor signs in once it is back")
    check(up.paths().count("/during") == 2, "both outage visits reached the app")
