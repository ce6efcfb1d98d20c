"""The console's top bar carries a "why was reference id X refused?" box on every page (people
arrive with the id from a block page): a GET form to /ref with a <label> for its field, in English
and Japanese, shown only to those who may open /ref (a help desk may not)."""
import re
import urllib.parse

from harness import check, eq, timeout
from portal_client import PASSWORD, add_user
from test_console import ADMIN, _gateway, console_browser, make_admin

PAGES = ("/", "/users", "/groups", "/devices", "/risk", "/incidents", "/audit", "/policies",
         "/assess", "/ref")
BOX = re.compile(rb'<form method="get" action="/ref" class="refbox" role="search">'
                 rb'<label for="refbox-id">(.*?)</label><input id="refbox-id" name="id"[^>]*>'
                 rb'<button type="submit">(.*?)</button></form>')


def _box(body):
    header = body.split(b"</header>", 1)[0]
    return BOX.search(header)


@timeout(120)
def test_console_ref_box_on_every_page(h):
    gw, _ = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    for path in PAGES:
        r = a.get(path + "?lang=en")
        eq(r.status, 200, "GET %s" % path)
        m = _box(r.body)
        check(m, "no reference box in the top bar of %s: %r" % (path, r.body[:1500]))
        eq(m.group(1).decode(), "Why was reference id … refused?", "label on " + path)
        eq(m.group(2), b"Explain", "button on " + path)
    for path in ("/", "/users", "/assess"):
        m = _box(a.get(path + "?lang=ja").body)
        check(m, "no reference box on the Japanese %s" % path)
        eq(m.group(1).decode(), "参照番号 … が拒否された理由", "Japanese label")
        eq(m.group(2).decode(), "理由を表示", "Japanese button")
    # What the form sends: /ref?id=... answers for that id (none here: not found).
    r = a.get("/ref?" + urllib.parse.urlencode({"id": "no-such-ref-1", "lang": "en"}))
    eq(r.status, 404, "unknown reference through the box's query")
    check(b'id="not-found"' in r.body, "the reference page answered: %r" % r.body[-600:])
    # A help desk may not open /ref: no box for them.
    hd = "hd@example.test"
    add_user(h, gw, hd, PASSWORD)
    make_admin(h, gw, hd, "helpdesk")
    b = console_browser(h, gw, hd, create=False)
    r = b.get("/users")
    eq(r.status, 200, "help desk users page")
    check(_box(r.body) is None and b"refbox" not in r.body, "no box without /ref")
    eq(b.get("/ref").status, 403, "help desk cannot open /ref")
