"""SCIM provisioning as Microsoft Entra ID's provisioning service does it (reference:
round2.md §5.2 and Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint"):
test connection with a random filter, match by userName then create, GET by id, PATCH in the
default (2017) dialect with capitalised ops and "False" strings, PATCH in the aadOptscim062020
dialect with dotted keys and no path, groups created empty and filled by PATCH, members removed
by value, deprovisioning by active=false that ends the user's session at once, and DELETE."""
import uuid

from harness import check, eq
from portal_client import Browser, complete_sign_in
from scim_client import ENTERPRISE, GROUP, LIST, USER, audit_lines, scim_gateway

PASSWORD = "correct horse battery staple"


def _entra_user(upn, mail_nickname, given="Test", family="User"):
    # The shape of Microsoft's sample create request: null values, the enterprise extension.
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": mail_nickname,
        "userName": upn,
        "active": True,
        "addresses": [{"primary": True, "type": "work", "country": "JP", "formatted": None}],
        "displayName": "%s %s" % (given, family),
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": family, "givenName": given},
        "title": None,
        ENTERPRISE: {"department": "Sales", "employeeNumber": "0042"},
    }


def test_scim_auth_and_discovery(h):
    gw, scim, admin_token = scim_gateway(h)
    e = scim.error("GET", "/Users", token=False, status=401)
    check("Bearer" in e["detail"], "401 says how to authenticate")
    scim.error("GET", "/Users", token=admin_token, status=401)  # never the admin token
    scim.error("GET", "/Users", token="x" * 43, status=401)
    # And the SCIM token opens nothing in the admin API.
    from harness import Conn
    c = Conn(scim.port, server_name="localhost")
    r = c.request("GET", "/api/v1/users", host="127.0.0.1",
                  headers=[("Authorization", "Bearer " + scim.token)])
    c.close()
    eq(r.status, 401, "SCIM token on the admin API")

    spc = scim.ok("GET", "/ServiceProviderConfig")
    eq(spc["patch"]["supported"], True, "patch supported")
    eq(spc["etag"]["supported"], True, "etag supported")
    eq(spc["bulk"]["supported"], False, "bulk not supported")
    eq(spc["authenticationSchemes"][0]["type"], "oauthbearertoken", "auth scheme")
    rt = scim.ok("GET", "/ResourceTypes")
    eq(rt["schemas"], [LIST], "ResourceTypes is a ListResponse")
    eq(sorted(x["name"] for x in rt["Resources"]), ["Group", "User"], "resource types")
    eq(scim.ok("GET", "/ResourceTypes/User")["endpoint"], "/Users", "User endpoint")
    schemas = scim.ok("GET", "/Schemas")
    ids = [s["id"] for s in schemas["Resources"]]
    check(USER in ids and GROUP in ids and ENTERPRISE in ids, "schemas listed: %r" % ids)
    user_schema = scim.ok("GET", "/Schemas/" + USER)
    names = [a["name"] for a in user_schema["attributes"]]
    check("userName" in names and "active" in names, "User schema attributes")
    scim.error("GET", "/Nothing", status=404)
    scim.error("GET", "/Me", status=501)
    scim.error("POST", "/Bulk", {"schemas": []}, status=501)
    check(scim.token not in gw.stderr_text(), "token in the error log")


def test_scim_entra_user_lifecycle(h):
    gw, scim, _ = scim_gateway(h, sensitivity="internal")
    # "Test connection": a random GUID filter answers 200 with an empty list.
    r = scim.find('id eq "%s"' % uuid.uuid4())
    eq((r["schemas"], r["totalResults"], r["Resources"]), ([LIST], 0, []), "test connection")
    # Matching before create.
    upn = "Test_User_dfeef4c5@contoso.test"
    eq(scim.find('userName eq "%s"' % upn)["totalResults"], 0, "no match yet")
    created = scim.ok("POST", "/Users", _entra_user(upn, "Test_User_00aa"), status=201)
    uid = created["id"]
    eq(created["userName"], upn, "userName kept as sent")
    eq(created["active"], True, "active")
    eq(created["name"], {"familyName": "User", "givenName": "Test"}, "name kept")
    eq(created[ENTERPRISE]["department"], "Sales", "enterprise extension kept")
    check(ENTERPRISE in created["schemas"], "schemas list the extension")
    check(created["meta"]["version"].startswith('W/"'), "weak ETag in meta.version")
    check(created["meta"]["location"].endswith("/scim/v2/Users/" + uid), "meta.location")
    # Conflict on the same userName, in another case.
    scim.error("POST", "/Users", _entra_user(upn.upper(), "other"), status=409,
               scim_type="uniqueness")
    # Matching again finds it, by userName (case-insensitively) and by externalId unquoted.
    eq(scim.find('userName eq "%s"' % upn.lower())["Resources"][0]["id"], uid, "by userName")
    eq(scim.find("externalId eq Test_User_00aa")["totalResults"], 1, "by unquoted externalId")
    eq(scim.find('externalId eq "test_user_00aa"')["totalResults"], 0, "externalId caseExact")
    eq(scim.find('emails[type eq "work"].value eq "%s"' % upn)["totalResults"], 1, "by email")
    eq(scim.ok("GET", "/Users/" + uid)["id"], uid, "GET by id")
    scim.error("GET", "/Users/" + uuid.uuid4().hex, status=404)

    # 2017 dialect: capitalised ops, manager as a one-element array with $ref null.
    scim.patch("Users", uid, [
        {"op": "Replace", "path": "displayName", "value": "Tess User"},
        {"op": "Add", "path": 'emails[type eq "other"].value', "value": "tess@home.test"},
        {"op": "Add", "path": ENTERPRISE + ":manager", "value": [{"$ref": None, "value": "m-1"}]},
        {"op": "Replace", "path": "title", "value": "Lead"},
    ])
    u = scim.ok("GET", "/Users/" + uid)
    eq(u["displayName"], "Tess User", "displayName replaced")
    eq(u["title"], "Lead", "title")
    eq(u[ENTERPRISE]["manager"]["value"], "m-1", "manager")
    eq(sorted(e["value"] for e in u["emails"]), sorted([upn, "tess@home.test"]), "emails")
    # aadOptscim062020 dialect: replace without path, dotted keys.
    scim.patch("Users", uid, [{"op": "replace", "value": {
        "displayName": "Tessa U", "name.givenName": "Tessa", ENTERPRISE + ":department": "Ops"}}])
    u = scim.ok("GET", "/Users/" + uid)
    eq((u["displayName"], u["name"]["givenName"], u["name"]["familyName"]),
       ("Tessa U", "Tessa", "User"), "dotted keys update name's sub-attributes")
    eq(u[ENTERPRISE]["department"], "Ops", "URN-prefixed key")
    check("name.givenName" not in u, "no literal dotted attribute")
    scim.error("PATCH", "/Users/" + uid, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                      "PatchOp"],
                                          "Operations": [{"op": "remove"}]},
               scim_type="noTarget")

    # A password set by an admin lets the user sign in; deprovisioning ends that session.
    r = h.cli("user", "passwd", upn, "--password-stdin", "--config", gw.config_path,
              input=PASSWORD + "\n")
    eq(r.returncode, 0, "passwd: %s" % (r.stdout + r.stderr))
    b = Browser(gw.port)
    b.secret, b.recovery_codes = None, []
    complete_sign_in(b, upn, PASSWORD)
    eq(b.get("/").status, 200, "signed in before deprovisioning")
    scim.patch("Users", uid, [{"op": "Replace", "path": "active", "value": "False"}])
    eq(scim.ok("GET", "/Users/" + uid)["active"], False, "active false")
    r = b.get("/")
    check(r.status in (302, 303, 401, 403), "session ended at once (got %d)" % r.status)
    # Re-enabled by the boolean form.
    scim.patch("Users", uid, [{"op": "replace", "value": {"active": True}}])
    eq(scim.ok("GET", "/Users/" + uid)["active"], True, "active true again")

    # Signed in again, then deleted: that session ends too.
    secret = b.secret  # enrolled at the first sign-in
    b = Browser(gw.port)
    b.secret, b.recovery_codes = secret, []
    complete_sign_in(b, upn, PASSWORD)
    eq(b.get("/").status, 200, "signed in again after re-enabling")
    scim.ok("DELETE", "/Users/" + uid, status=204)
    r = b.get("/")
    check(r.status in (302, 303, 401, 403), "session ended by DELETE (got %d)" % r.status)
    scim.error("GET", "/Users/" + uid, status=404)
    scim.error("DELETE", "/Users/" + uid, status=404)
    ops = [a.get("api", {}).get("operation") for a in audit_lines(h)]
    for op in ("scim.user.create", "scim.user.patch", "scim.user.delete"):
        check(op in ops, "audit record for %s" % op)
    actors = {a["actor"]["user"]["name"] for a in audit_lines(h)
              if a.get("api", {}).get("operation", "").startswith("scim.user")}
    check(all(x.startswith("scim:") for x in actors), "SCIM actor named by fingerprint %r" % actors)


def test_scim_entra_groups(h):
    gw, scim, _ = scim_gateway(h)
    ids = []
    for n in ("a", "b", "c"):
        ids.append(scim.ok("POST", "/Users", _entra_user("%s@contoso.test" % n, n),
                           status=201)["id"])
    q = {"excludedAttributes": "members"}
    eq(scim.find('displayName eq "Sales Team"', "Groups", **q)["totalResults"], 0, "no group")
    g = scim.ok("POST", "/Groups", {"schemas": [GROUP], "displayName": "Sales Team",
                                    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                                    "members": []}, status=201)
    gid = g["id"]
    eq(gid, "Sales-Team", "a policy-usable name made from displayName")
    eq(g["displayName"], "Sales Team", "displayName kept")
    found = scim.find('displayName eq "Sales Team"', "Groups", **q)
    eq(found["totalResults"], 1, "found by displayName")
    check("members" not in found["Resources"][0], "excludedAttributes=members honoured")
    # Members added by PATCH, Entra style.
    scim.patch("Groups", gid, [{"op": "Add", "path": "members",
                                "value": [{"$ref": None, "value": i} for i in ids]}])
    members = sorted(m["value"] for m in scim.ok("GET", "/Groups/" + gid)["members"])
    eq(members, sorted(ids), "three members")
    u = scim.ok("GET", "/Users/" + ids[0])
    eq([x["value"] for x in u["groups"]], [gid], "user's groups")
    # Remove by value (2017 dialect): only that member goes.
    scim.patch("Groups", gid, [{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}])
    members = sorted(m["value"] for m in scim.ok("GET", "/Groups/" + gid)["members"])
    eq(members, sorted(ids[1:]), "remove-by-value removed one member only")
    # Remove by filter (aadOptscim062020 and Okta).
    scim.patch("Groups", gid, [{"op": "remove", "path": 'members[value eq "%s"]' % ids[1]}])
    eq([m["value"] for m in scim.ok("GET", "/Groups/" + gid)["members"]], [ids[2]], "one left")
    # Rename: displayName only; the id (policy name) stays.
    scim.patch("Groups", gid, [{"op": "Replace", "path": "displayName", "value": "営業部"}])
    g = scim.ok("GET", "/Groups/" + gid)
    eq((g["id"], g["displayName"]), (gid, "営業部"), "renamed display name")
    # A Japanese-only displayName still gets a usable name.
    g2 = scim.ok("POST", "/Groups", {"displayName": "3年1組", "members": [{"value": ids[0]}]},
                 status=201)
    check(g2["id"].startswith("3"), "name from the ASCII part: %r" % g2["id"])
    eq([m["value"] for m in g2["members"]], [ids[0]], "member at create")
    scim.error("POST", "/Groups", {"displayName": "X", "members": [{"value": "nobody"}]},
               scim_type="invalidValue")
    scim.error("POST", "/Groups", {"displayName": "Sales Team 2",
                                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"},
               status=409, scim_type="uniqueness")
    scim.ok("DELETE", "/Groups/" + gid, status=204)
    scim.error("GET", "/Groups/" + gid, status=404)
    # Groups made outside SCIM are not SCIM's.
    r = h.cli("group", "add", "local-admins", "--config", gw.config_path)
    eq(r.returncode, 0, "group add")
    scim.error("GET", "/Groups/local-admins", status=404)
    eq(scim.find('displayName eq "local-admins"', "Groups")["totalResults"], 0, "not listed")


def test_scim_token_is_not_the_admin_token(h):
    """A scim.token_file holding the admin token stops the start: one token must not open both."""
    import os
    import subprocess
    state = os.path.join(h.dir, "state")
    os.makedirs(state, mode=0o700)
    with open(os.path.join(state, "admin.token"), "w") as f:
        f.write("tok_" + "a" * 40 + "\n")
    os.chmod(os.path.join(state, "admin.token"), 0o600)
    up = h.upstream()
    from harness import free_port
    gw = h.gateway(h.config([h.app(up)], extra={
        "admin": {"listen": "127.0.0.1:%d" % free_port()},
        "scim": {"token_file": os.path.join(state, "admin.token")}}), start=False)
    gw.write_config(gw.config)
    r = subprocess.run([h.ztgate, "serve", "--config", gw.config_path], capture_output=True,
                       text=True, timeout=60, cwd=h.dir, stdin=subprocess.DEVNULL)
    check(r.returncode != 0, "serve refused to start")
    check("scim.token_file holds the admin token" in r.stderr, "says why: %s" % r.stderr[-500:])
