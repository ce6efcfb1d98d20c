"""The console on a tablet (issue 16: "usable on a tablet"): Chromium with a touch screen the size
of a 10-inch tablet, upright (768 x 1024) and on its side (1024 x 768), in Japanese and English,
opens every page the navigation offers a global administrator. No page may be wider than the
screen (wide tables scroll inside their own box, the navigation wraps), every button and field is
at least 40 px tall (a finger, not a mouse pointer), and axe-core finds no serious violation.
Screenshots under BUILD_DIR/browser-shots/console-tablet-*/."""
from browser import Chromium
from harness import check, eq, timeout
from portal_client import add_user
from test_browser_console import ADMIN, PASSWORD, _gateway
from test_console import CONSOLE, make_admin

# Width of the page beyond the screen, and the shortest tap target (CSS pixels): measured in the
# page as the person sees it.
_LAYOUT = """(() => {
  const over = document.documentElement.scrollWidth - window.innerWidth;
  let short = null;
  for (const e of document.querySelectorAll('main button, main input:not([type=hidden]), main select')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (short === null || r.height < short.h))
      short = {h: Math.round(r.height), what: e.outerHTML.slice(0, 80)};
  }
  return {over: over, short: short};
})()"""


def _walk(h, name, locale, viewport):
    gw = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    h.cli("group", "add", "school-a", "--config", gw.config_path)
    add_user(h, gw, "teacher@example.test", PASSWORD, groups=("school-a",))
    base = "http://%s:%d" % (CONSOLE, gw.port)
    tab = Chromium(h, name="console-tablet-" + name).context(locale=locale, viewport=viewport)
    tab.goto(base + "/", "login")
    p = tab.submit("dashboard", username=ADMIN, password=PASSWORD)
    eq(p.status, 200, "signed in to the console")
    pages = [href for href in tab.attr("nav a", "href") if href and href.startswith("/")]
    check(len(pages) >= 10, "a global administrator's navigation lists every page: %r" % pages)
    tab.goto(base + "/users", "users-list")
    one_user = tab.attr("main a[href^='/users/']", "href")
    check(one_user, "the users page links to a user")
    for href in pages + [one_user[0], "/groups/school-a"]:
        p = tab.goto(base + href, "page" + href.replace("/", "-"))
        eq(p.status, 200, "%s on a %dx%d tablet" % (href, viewport[0], viewport[1]))
        m = tab.evaluate(_LAYOUT)
        check(m["over"] <= 0, "%s is %d px wider than a %d px screen" % (href, m["over"],
                                                                         viewport[0]))
        check(m["short"] is None or m["short"]["h"] >= 40,
              "%s: a control only %s px tall (%s)" % (href, m["short"] and m["short"]["h"],
                                                     m["short"] and m["short"]["what"]))
        tab.check_accessible("%s (%s, %dx%d)" % (href, locale, viewport[0], viewport[1]))


@timeout(240)
def test_browser_console_tablet_upright_japanese(h):
    _walk(h, "ja-upright", "ja-JP", (768, 1024))


@timeout(240)
def test_browser_console_tablet_landscape_english(h):
    _walk(h, "en-landscape", "en-US", (1024, 768))
