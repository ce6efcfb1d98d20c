"""SCIM 2.0 conformance against RFC 7644's own examples: create (§3.3), retrieve (§3.4.1),
filters (§3.4.2.2) with the whole grammar, pagination (§3.4.2.4), replace (§3.5.1), PATCH
(§3.5.2), delete (§3.6), versioning (§3.14: ETag, If-Match → 412, If-None-Match → 304) and
errors (§3.12: status as a string, scimType). Then Okta's way (GET then PUT of the whole user,
deactivate by PATCH without path) and bad input: invalid filters, wrong types, deep and huge
bodies, duplicate keys, wrong media type."""
import json
import urllib.parse

from harness import Conn, check, eq
from scim_client import ENTERPRISE, LIST, PATCHOP, USER, scim_gateway

# RFC 7644 §3.3's example body.
BJENSEN = {
    "schemas": [USER],
    "userName": "bjensen@example.com",
    "externalId": "bjensen",
    "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen",
             "givenName": "Barbara"},
}


def _mk(scim, user_name, **attrs):
    body = {"schemas": [USER], "userName": user_name}
    body.update(attrs)
    return scim.ok("POST", "/Users", body, status=201)


def test_scim_rfc_create_get_replace_delete(h):
    gw, scim, _ = scim_gateway(h)
    r = scim.req("POST", "/Users", BJENSEN)
    eq(r.status, 201, "create: %s" % r.body[:300])
    u = r.json()
    check(r.header("Location", "").endswith("/scim/v2/Users/" + u["id"]), "Location header")
    eq(r.header("ETag"), u["meta"]["version"], "ETag header is meta.version")
    eq(u["meta"]["resourceType"], "User", "meta.resourceType")
    eq(u["name"]["formatted"], "Ms. Barbara J Jensen III", "name.formatted")
    eq(u["displayName"], "Ms. Barbara J Jensen III", "display name from name.formatted")
    # §3.4.1 retrieve; §3.14 If-None-Match.
    r = scim.req("GET", "/Users/" + u["id"], headers=[("If-None-Match", u["meta"]["version"])])
    eq(r.status, 304, "If-None-Match with the current version")
    r = scim.req("GET", "/Users/" + u["id"], headers=[("If-None-Match", 'W/"other"')])
    eq(r.status, 200, "If-None-Match with another version")
    # §3.5.1 replace, with If-Match.
    put = dict(BJENSEN, id=u["id"], displayName="Babs Jensen", nickName="Babs",
               emails=[{"value": "bjensen@example.com", "type": "work", "primary": True}])
    scim.error("PUT", "/Users/" + u["id"], put, status=412,
               headers=[("If-Match", 'W/"3694e05e9dff590"')])
    r = scim.req("PUT", "/Users/" + u["id"], put, headers=[("If-Match", u["meta"]["version"])])
    eq(r.status, 200, "replace: %s" % r.body[:300])
    v2 = r.json()
    eq((v2["displayName"], v2["nickName"]), ("Babs Jensen", "Babs"), "replaced")
    check(v2["meta"]["version"] != u["meta"]["version"], "a new version after a change")
    # PUT replaces: nickName left out is gone.
    put.pop("nickName")
    v3 = scim.ok("PUT", "/Users/" + u["id"], put)
    check("nickName" not in v3, "PUT dropped the attribute it left out")
    scim.error("PUT", "/Users/" + u["id"], dict(put, id="another"), scim_type="mutability")
    # The old version no longer matches a delete.
    scim.error("DELETE", "/Users/" + u["id"], status=412, headers=[("If-Match",
                                                                   u["meta"]["version"])])
    scim.ok("DELETE", "/Users/" + u["id"], status=204, headers=[("If-Match", "*")])
    scim.error("GET", "/Users/" + u["id"], status=404)


def test_scim_rfc_filters_and_pages(h):
    gw, scim, _ = scim_gateway(h)
    ids = {}
    people = [("bjensen@example.com", "Barbara", "Jensen", "Tour Guide", True),
              ("jsmith@example.com", "John", "Smith", "Intern", True),
              ("akaur@example.org", "Amrit", "Kaur", None, False),
              ("ywatanabe@example.jp", "Yui", "Watanabe", "Engineer", True)]
    for user_name, given, family, title, active in people:
        attrs = {"name": {"givenName": given, "familyName": family}, "active": active,
                 "emails": [{"value": user_name, "type": "work"}]}
        if title:
            attrs["title"] = title
        ids[user_name] = _mk(scim, user_name, **attrs)["id"]

    def names(filt):
        r = scim.find(filt)
        eq(r["schemas"], [LIST], "ListResponse")
        return sorted(x["userName"] for x in r["Resources"])

    # RFC 7644 §3.4.2.2's examples, on these users.
    eq(names('userName Eq "bjensen@example.com"'), ["bjensen@example.com"], "eq")
    eq(names('name.familyName co "en"'), ["bjensen@example.com"], "co")
    eq(names('userName sw "J"'), ["jsmith@example.com"], "sw, case-insensitive")
    eq(names('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "j"'),
       ["jsmith@example.com"], "sw with the schema URN")
    eq(names("title pr"), ["bjensen@example.com", "jsmith@example.com",
                           "ywatanabe@example.jp"], "pr")
    eq(names('meta.lastModified gt "2011-05-13T04:42:34Z"'), sorted(ids), "gt on a date")
    eq(names('meta.lastModified lt "2011-05-13T04:42:34Z"'), [], "lt on a date")
    eq(names('title pr and userType eq "Employee"'), [], "and")
    eq(names('title pr or userName ew ".org"'), sorted(ids), "or")
    eq(names('userName ew ".com" and (emails co "smith" or emails.value co "jensen")'),
       ["bjensen@example.com", "jsmith@example.com"], "grouping")
    eq(names('userName ew ".com" and not (emails co "example.com")'), [], "not")
    eq(names('emails[type eq "work" and value co "@example.jp"]'), ["ywatanabe@example.jp"],
       "value path")
    eq(names("active eq false"), ["akaur@example.org"], "boolean")
    eq(names('userName ne "bjensen@example.com" and title pr'),
       ["jsmith@example.com", "ywatanabe@example.jp"], "ne")
    eq(names('name.givenName ge "John" and name.givenName le "Yui"'),
       ["jsmith@example.com", "ywatanabe@example.jp"], "ge/le")

    # Pagination: ordered and stable, 1-based.
    r = scim.ok("GET", "/Users?startIndex=1&count=2")
    eq((r["totalResults"], r["itemsPerPage"], r["startIndex"]), (4, 2, 1), "page 1")
    first = [x["userName"] for x in r["Resources"]]
    r = scim.ok("GET", "/Users?startIndex=3&count=2")
    second = [x["userName"] for x in r["Resources"]]
    eq(sorted(first + second), sorted(ids), "two pages cover every user once")
    eq(scim.ok("GET", "/Users?count=0")["Resources"], [], "count=0: only the total")
    eq(scim.ok("GET", "/Users?count=0")["totalResults"], 4, "count=0 total")
    eq(scim.ok("GET", "/Users?startIndex=9")["Resources"], [], "past the end")
    r = scim.find("title pr", startIndex=2, count=1)
    eq((r["totalResults"], len(r["Resources"])), (3, 1), "filter and page")

    # §3.9: attributes and excludedAttributes.
    one = ids["bjensen@example.com"]
    u = scim.ok("GET", "/Users/%s?attributes=userName,name.givenName" % one)
    eq(sorted(u), ["id", "meta", "name", "schemas", "userName"], "attributes=")
    u = scim.ok("GET", "/Users/%s?excludedAttributes=emails,%s" % (
        one, urllib.parse.quote("urn:ietf:params:scim:schemas:core:2.0:User:title")))
    check("emails" not in u and "title" not in u and "userName" in u, "excludedAttributes=")
    r = scim.find('userName eq "bjensen@example.com"', attributes="active")
    eq(sorted(r["Resources"][0]), ["active", "id", "meta", "schemas"], "attributes in a list")

    for bad in ['userName eq', 'userName zz "a"', '(userName eq "a"', 'userName eq "a" and',
                'emails[type eq "work"', 'not userName eq "a"', "(" * 40 + "title pr" + ")" * 40]:
        scim.error("GET", "/Users?" + urllib.parse.urlencode({"filter": bad}),
                   scim_type="invalidFilter")
    scim.error("GET", "/Users?startIndex=abc", scim_type="invalidValue")


def test_scim_rfc_patch(h):
    gw, scim, _ = scim_gateway(h)
    u = _mk(scim, "bjensen@example.com", emails=[{"value": "bjensen@example.com",
                                                  "type": "work"}])
    uid = u["id"]
    # §3.5.2.1 add, §3.5.2.3 replace of a filtered sub-attribute, §3.5.2.2 remove.
    scim.patch("Users", uid, [
        {"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}],
                                "nickName": "Babs"}},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "bj@example.com"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
        {"op": "add", "path": ENTERPRISE + ":employeeNumber", "value": "701984"},
    ])
    u = scim.ok("GET", "/Users/" + uid)
    eq([e["value"] for e in u["emails"]], ["bj@example.com"], "emails after the operations")
    eq(u["nickName"], "Babs", "nickName added")
    eq(u[ENTERPRISE]["employeeNumber"], "701984", "extension attribute")
    # All or nothing: one bad operation and none applies.
    version = u["meta"]["version"]
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "replace", "path": "nickName", "value": "Barb"},
        {"op": "replace", "path": "active", "value": "maybe"}]}, scim_type="invalidValue")
    eq(scim.ok("GET", "/Users/" + uid)["meta"]["version"], version, "nothing applied")
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "replace", "path": "id", "value": "x"}]}, scim_type="mutability")
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "copy", "path": "x"}]}, scim_type="invalidSyntax")
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "add", "path": "emails[type eq", "value": "x"}]}, scim_type="invalidFilter")
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": []},
               scim_type="invalidSyntax")
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "replace", "path": "userName", "value": "not-an-email"}]},
        scim_type="invalidValue")
    scim.patch("Users", uid, [{"op": "replace", "path": "nickName", "value": "B"}],
               headers=[("If-Match", version)])
    scim.error("PATCH", "/Users/" + uid, {"schemas": [PATCHOP], "Operations": [
        {"op": "replace", "path": "nickName", "value": "C"}]}, status=412,
        headers=[("If-Match", version)])


def test_scim_okta_get_then_put(h):
    gw, scim, _ = scim_gateway(h)
    eq(scim.find('userName eq "dade@example.com"', startIndex=1, count=100)["totalResults"], 0,
       "Okta lookup, no match")
    body = {"schemas": [USER], "userName": "dade@example.com",
            "name": {"givenName": "Dade", "familyName": "Murphy"},
            "emails": [{"primary": True, "value": "dade@example.com", "type": "work"}],
            "displayName": "Dade Murphy", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "t1meMa$heen", "active": True}
    u = scim.ok("POST", "/Users", body, status=201)
    check("password" not in u, "password never returned")
    scim.error("POST", "/Users", body, status=409, scim_type="uniqueness")
    # Profile update: GET, change, PUT the whole object back.
    cur = scim.ok("GET", "/Users/" + u["id"])
    cur["name"]["familyName"] = "Murphy-Zero"
    cur["displayName"] = "Dade Zero"
    new = scim.ok("PUT", "/Users/" + u["id"], cur)
    eq((new["name"]["familyName"], new["displayName"]), ("Murphy-Zero", "Dade Zero"), "PUT")
    # Deactivation: PATCH without path, lowercase op, boolean.
    scim.patch("Users", u["id"], [{"op": "replace", "value": {"active": False}}])
    eq(scim.ok("GET", "/Users/" + u["id"])["active"], False, "deactivated")
    # Okta's group push: create, rename with {id, displayName}, add, remove by filter.
    g = scim.ok("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                    "displayName": "Test SCIMv2", "members": []}, status=201)
    scim.patch("Groups", g["id"], [{"op": "replace", "value": {"id": g["id"],
                                                               "displayName": "Renamed"}}])
    scim.patch("Groups", g["id"], [{"op": "add", "path": "members",
                                    "value": [{"value": u["id"], "display": "dade"}]}])
    eq(scim.ok("GET", "/Groups/" + g["id"])["displayName"], "Renamed", "renamed")
    scim.patch("Groups", g["id"], [{"op": "remove", "path": 'members[value eq "%s"]' % u["id"]}])
    eq(scim.ok("GET", "/Groups/" + g["id"])["members"], [], "member removed")


def test_scim_bad_input(h):
    gw, scim, _ = scim_gateway(h)
    scim.error("POST", "/Users", {"schemas": [USER]}, scim_type="invalidValue")
    scim.error("POST", "/Users", {"userName": 42}, scim_type="invalidValue")
    scim.error("POST", "/Users", {"userName": "a@example.com", "active": "yes"},
               scim_type="invalidValue")
    scim.error("POST", "/Users", {"userName": "a@example.com", "emails": "a@example.com"},
               scim_type="invalidValue")
    scim.error("POST", "/Users", {"userName": "a@example.com", "name": "A"},
               scim_type="invalidValue")
    scim.error("POST", "/Users", {"userName": "x" * 300 + "@example.com"},
               scim_type="invalidValue")
    scim.error("POST", "/Users", raw=b"[1,2]", scim_type="invalidSyntax")
    scim.error("POST", "/Users", raw=b"{\"userName\":", scim_type="invalidSyntax")
    scim.error("POST", "/Users", raw=b'{"userName":"a@b.c","userName":"d@e.f"}',
               scim_type="invalidSyntax")
    deep = "[" * 40 + "]" * 40
    scim.error("POST", "/Users", raw=('{"userName":"a@example.com","x":%s}' % deep).encode(),
               scim_type="invalidSyntax")
    scim.error("POST", "/Users", raw=b'{"userName":"a@example.com"}', ctype="text/plain",
               status=415)
    scim.error("POST", "/Groups", {"displayName": ""}, scim_type="invalidValue")
    scim.error("POST", "/Groups", {"displayName": "G", "members": "all"},
               scim_type="invalidValue")
    # A body over the listener's limit is refused before SCIM reads it.
    big = json.dumps({"userName": "big@example.com", "x": "a" * (70 * 1024)}).encode()
    r = scim.req("POST", "/Users", raw=big)
    eq(r.status, 413, "huge body")
    # Methods and unknown resources.
    scim.error("DELETE", "/Users", status=405)
    scim.error("PATCH", "/Users/nobody", {"schemas": [PATCHOP], "Operations": [
        {"op": "add", "path": "title", "value": "x"}]}, status=404)
    scim.error("GET", "/Users/%2Fetc", status=404)
    # Nothing half-written: no user exists after all of that.
    eq(scim.ok("GET", "/Users")["totalResults"], 0, "no user was created")
    c = Conn(scim.port, server_name="localhost")
    r = c.request("GET", "/scim/v2/Users", host="127.0.0.1",
                  headers=[("Authorization", "Bearer " + scim.token),
                           ("Authorization", "Bearer " + scim.token)])
    c.close()
    eq(r.status, 401, "two Authorization headers")
