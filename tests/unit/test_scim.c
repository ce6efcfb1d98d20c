/* SCIM's pure parts: the filter grammar (RFC 7644 §3.4.2.2) parsed and evaluated over JSON
 * resources, its refusals, PATCH paths, and PATCH operations in RFC form and in both dialects
 * Entra ID sends (round2.md §5.2/§5.4). Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scim/scim.h"

static const char *const ALICE =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"u1\","
    "\"userName\":\"Alice@Example.com\",\"externalId\":\"A1\",\"active\":true,"
    "\"name\":{\"givenName\":\"Alice\",\"familyName\":\"Liddell\"},\"title\":\"Tour Guide\","
    "\"emails\":[{\"type\":\"work\",\"value\":\"alice@example.com\",\"primary\":true},"
    "{\"type\":\"home\",\"value\":\"al@home.example\"}],\"age\":30,"
    "\"meta\":{\"lastModified\":\"2011-05-13T04:42:34Z\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"Tour\"}}";

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", je.text, s);
    return j;
}

typedef struct match_case {
    const char *filter;
    bool want;
} match_case;

static void test_filter_match(void **state)
{
    (void)state;
    static const match_case cases[] = {
        {"userName eq \"alice@example.com\"", true}, /* caseExact false */
        {"USERNAME Eq \"ALICE@EXAMPLE.COM\"", true},
        {"externalId eq \"a1\"", false}, /* externalId is caseExact */
        {"externalId eq \"A1\"", true},
        {"externalId eq A1", true}, /* Entra's older jobs: unquoted */
        {"userName ne \"bob@example.com\"", true},
        {"userName co \"@example\"", true},
        {"userName sw \"ali\"", true},
        {"userName ew \".com\"", true},
        {"userName ew \".org\"", false},
        {"title pr", true},
        {"nickName pr", false},
        {"name.givenName eq \"Alice\"", true},
        {"name.familyName sw \"L\" and name.givenName eq \"Bob\"", false},
        {"name.familyName sw \"L\" or name.givenName eq \"Bob\"", true},
        {"not (title pr)", false},
        {"not(userName eq \"x\")", true},
        {"active eq true", true},
        {"active eq false", false},
        {"age gt 29", true},
        {"age ge 30.0", true},
        {"age lt 30", false},
        {"age le 30", true},
        {"meta.lastModified gt \"2011-05-13T04:42:34Z\"", false},
        {"meta.lastModified ge \"2011-05-13T04:42:34Z\"", true},
        {"emails[type eq \"work\" and value co \"@example.com\"]", true},
        {"emails[type eq \"work\"].value eq \"alice@example.com\"", true},
        {"emails[type eq \"home\"].value eq \"alice@example.com\"", false},
        {"emails co \"home.example\"", true}, /* complex multi-valued: compares "value" */
        {"emails.type eq \"home\"", true},
        {"emails.type eq \"other\"", false},
        {"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"A\"", true},
        {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"tour\"", true},
        {"title pr and (userName eq \"x\" or userName eq \"alice@example.com\")", true},
        {"userName eq \"x\" or title pr and nickName pr", false}, /* and binds tighter */
        {"userName eq \"x\" or (title pr and not (nickName pr))", true},
        {"nickName eq null", true},
        {"title ne null", true},
        {"userName eq \"al\\u0069ce@example.com\"", true},
        /* Numbers out of the integer range are reals, never an undefined cast (a fuzz find). */
        {"(age le 3.e50 or active eq false)", true},
        {"age lt 99999999999999999999", true},
        {"age gt -1e300", true},
    };
    json_t *alice = load(ALICE);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_scim_filter *f = NULL;
        zt_scim_error err = {0};
        int rc = zt_scim_filter_parse(cases[i].filter, strlen(cases[i].filter), &f, &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].filter, err.detail);
        if (zt_scim_filter_match(f, alice) != cases[i].want)
            fail_msg("%s: want %d", cases[i].filter, cases[i].want);
        zt_scim_filter_free(f);
    }
    json_decref(alice);
}

static void test_filter_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "userName eq \"a",
        "(userName eq \"a\"",
        "userName eq \"a\")",
        "userName eq \"a\" and",
        "userName eq \"a\" xor title pr",
        "not userName eq \"a\"",
        "emails[type eq \"work\"",
        "emails[type eq \"work\"] x",
        "emails[types[value eq \"x\"] pr]",
        "1bad eq \"x\"",
        "userName.a.b eq \"x\"",
        "urn:x eq 1",
        "userNameeq \"x\"",
        "userName eq\"x\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zt_scim_filter *f = NULL;
        zt_scim_error err = {0};
        if (zt_scim_filter_parse(bad[i], strlen(bad[i]), &f, &err) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_null(f);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.scim_type, "invalidFilter");
    }
    /* Depth and size limits. */
    char deep[512] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "(");
    strcat(deep, "title pr");
    for (int i = 0; i < 40; i++)
        strcat(deep, ")");
    zt_scim_filter *f = NULL;
    zt_scim_error err = {0};
    assert_int_not_equal(zt_scim_filter_parse(deep, strlen(deep), &f, &err), 0);
    assert_non_null(strstr(err.detail, "deep"));
    static char many[8192];
    many[0] = '\0';
    for (int i = 0; i < 300; i++)
        strcat(many, i ? " or a pr" : "a pr");
    assert_int_not_equal(zt_scim_filter_parse(many, strlen(many), &f, &err), 0);
    /* Error body: status as a string. */
    json_t *body = zt_scim_error_json(&err);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "400");
    assert_string_equal(json_string_value(json_object_get(body, "scimType")), "invalidFilter");
    json_decref(body);
}

static void test_eq_string(void **state)
{
    (void)state;
    zt_scim_filter *f = NULL;
    zt_scim_error err;
    const char *s = "userName eq \"bob@example.com\"";
    assert_int_equal(zt_scim_filter_parse(s, strlen(s), &f, &err), 0);
    assert_string_equal(zt_scim_filter_eq_string(f, "username"), "bob@example.com");
    assert_null(zt_scim_filter_eq_string(f, "externalId"));
    zt_scim_filter_free(f);
    s = "userName eq \"a\" and title pr";
    assert_int_equal(zt_scim_filter_parse(s, strlen(s), &f, &err), 0);
    assert_null(zt_scim_filter_eq_string(f, "userName"));
    zt_scim_filter_free(f);
}

static void test_path(void **state)
{
    (void)state;
    zt_scim_path p;
    zt_scim_error err;
    const char *s = "members[value eq \"2819c223\"]";
    assert_int_equal(zt_scim_path_parse(s, strlen(s), &p, &err), 0);
    assert_string_equal(p.attr, "members");
    assert_non_null(p.filter);
    assert_null(p.sub);
    zt_scim_path_dispose(&p);
    s = "emails[type eq \"work\"].value";
    assert_int_equal(zt_scim_path_parse(s, strlen(s), &p, &err), 0);
    assert_string_equal(p.sub, "value");
    zt_scim_path_dispose(&p);
    s = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";
    assert_int_equal(zt_scim_path_parse(s, strlen(s), &p, &err), 0);
    assert_string_equal(p.uri, ZT_SCIM_SCHEMA_ENTERPRISE);
    assert_string_equal(p.attr, "manager");
    zt_scim_path_dispose(&p);
    s = "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName";
    assert_int_equal(zt_scim_path_parse(s, strlen(s), &p, &err), 0);
    assert_null(p.uri);
    assert_string_equal(p.attr, "name");
    assert_string_equal(p.sub, "givenName");
    zt_scim_path_dispose(&p);
    static const char *const bad[] = {"",
                                      "members[",
                                      "members[value eq 1] x",
                                      "a b",
                                      "name.givenName[value pr]",
                                      "emails[type eq \"w\"]."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (zt_scim_path_parse(bad[i], strlen(bad[i]), &p, &err) == 0)
            fail_msg("accepted path: %s", bad[i]);
}

typedef struct patch_case {
    const char *before, *patch, *after; /* after NULL: refused with scim_type */
    const char *scim_type;
} patch_case;

#define OPS(x)                                                                                     \
    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[" x "]}"

static void test_patch(void **state)
{
    (void)state;
    static const patch_case cases[] = {
        /* RFC 7644 §3.5.2.1: add members */
        {"{\"members\":[{\"value\":\"a\"}]}",
         OPS("{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"display\":\"B\",\"value\":\"b\"}]"
             "}"),
         "{\"members\":[{\"value\":\"a\"},{\"display\":\"B\",\"value\":\"b\"}]}", NULL},
        /* add an existing member again: no duplicate */
        {"{\"members\":[{\"value\":\"a\"}]}",
         OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"a\"}]}"),
         "{\"members\":[{\"value\":\"a\"}]}", NULL},
        /* §3.5.2.2: remove one member by filter */
        {"{\"members\":[{\"value\":\"a\"},{\"value\":\"b\"}]}",
         OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"b\\\"]\"}"),
         "{\"members\":[{\"value\":\"a\"}]}", NULL},
        /* Entra 2017 dialect: Remove with the member in value: only that one goes */
        {"{\"members\":[{\"value\":\"a\"},{\"value\":\"b\"}]}",
         OPS("{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"a\"}]}"),
         "{\"members\":[{\"value\":\"b\"}]}", NULL},
        /* RFC: remove all members */
        {"{\"members\":[{\"value\":\"a\"},{\"value\":\"b\"}]}",
         OPS("{\"op\":\"remove\",\"path\":\"members\"}"), "{}", NULL},
        /* Entra: Replace active with the string "False" (coerced by the caller) */
        {"{\"active\":true}", OPS("{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}"),
         "{\"active\":false}", NULL},
        /* aadOptscim062020: replace without path, dotted keys */
        {"{\"displayName\":\"A\",\"name\":{\"givenName\":\"A\",\"familyName\":\"F\"},\"active\":"
         "true}",
         OPS("{\"op\":\"replace\",\"value\":{\"displayName\":\"B\",\"name.givenName\":\"Bee\","
             "\"active\":false}}"),
         "{\"displayName\":\"B\",\"name\":{\"givenName\":\"Bee\",\"familyName\":\"F\"},\"active\":"
         "false}",
         NULL},
        /* Okta: replace without path, value with id and displayName (id ignored) */
        {"{\"id\":\"g\",\"displayName\":\"Old\"}",
         OPS("{\"op\":\"replace\",\"value\":{\"id\":\"other\",\"displayName\":\"New\"}}"),
         "{\"id\":\"g\",\"displayName\":\"New\"}", NULL},
        /* filtered path with sub-attribute, element exists */
        {"{\"emails\":[{\"type\":\"work\",\"value\":\"a@x\"}]}",
         OPS("{\"op\":\"replace\",\"path\":\"emails[type eq "
             "\\\"work\\\"].value\",\"value\":\"b@x\"}"),
         "{\"emails\":[{\"type\":\"work\",\"value\":\"b@x\"}]}", NULL},
        /* Entra: Add to emails[type eq "work"].value when there is none: created */
        {"{}",
         OPS("{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"c@x\"}"),
         "{\"emails\":[{\"type\":\"work\",\"value\":\"c@x\"}]}", NULL},
        /* enterprise manager as a one-element array with $ref null */
        {"{}",
         OPS("{\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
             "User:manager\",\"value\":[{\"$ref\":null,\"value\":\"m1\"}]}"),
         "{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"manager\":"
         "{\"$ref\":null,\"value\":\"m1\"}}}",
         NULL},
        /* URN-prefixed dotted key without path */
        {"{}",
         OPS("{\"op\":\"add\",\"value\":{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
             "User:department\":\"Ops\",\"name.familyName\":\"F\"}}"),
         "{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"Ops\"},"
         "\"name\":{\"familyName\":\"F\"}}",
         NULL},
        /* the whole extension object without a path: merged */
        {"{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"division\":\"D\"}}",
         OPS("{\"op\":\"add\",\"value\":{\"urn:ietf:params:scim:schemas:extension:enterprise:"
             "2.0:User\":{\"department\":\"X\"}}}"),
         "{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"division\":\"D\","
         "\"department\":\"X\"}}",
         NULL},
        /* attribute names are case-insensitive: the existing spelling is replaced */
        {"{\"displayName\":\"A\"}",
         OPS("{\"op\":\"replace\",\"path\":\"DISPLAYNAME\",\"value\":\"B\"}"),
         "{\"DISPLAYNAME\":\"B\"}", NULL},
        /* atomic: the second op fails, the first is not applied */
        {"{\"displayName\":\"A\"}",
         OPS("{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"B\"},{\"op\":\"remove\"}"),
         NULL, "noTarget"},
        {"{}", OPS("{\"op\":\"move\",\"path\":\"x\"}"), NULL, "invalidSyntax"},
        {"{}", OPS("{\"op\":\"add\",\"path\":\"x[\"}"), NULL, "invalidFilter"},
        {"{}", OPS("{\"op\":\"add\",\"path\":7,\"value\":1}"), NULL, "invalidPath"},
        {"{}", OPS("{\"op\":\"replace\",\"value\":\"notobject\"}"), NULL, "invalidValue"},
        {"{}", OPS("{\"op\":\"replace\",\"path\":\"id\",\"value\":\"x\"}"), NULL, "mutability"},
        {"{}", "{\"Operations\":[]}", NULL, "invalidSyntax"},
        {"{}",
         "{\"schemas\":[\"urn:x\"],\"Operations\":[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]}",
         NULL, "invalidSyntax"},
        {"{\"emails\":[]}",
         OPS("{\"op\":\"replace\",\"path\":\"emails[type co "
             "\\\"w\\\"]\",\"value\":{\"value\":\"x\"}}"),
         NULL, "noTarget"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *res = load(cases[i].before);
        json_t *body = load(cases[i].patch);
        zt_scim_error err = {0};
        int rc = zt_scim_patch_apply(res, body, &err);
        if (cases[i].after == NULL) {
            if (rc == 0)
                fail_msg("case %zu accepted", i);
            if (strcmp(err.scim_type, cases[i].scim_type) != 0)
                fail_msg("case %zu: scimType %s, want %s (%s)", i, err.scim_type,
                         cases[i].scim_type, err.detail);
            json_t *again = load(cases[i].before);
            assert_true(json_equal(res, again)); /* untouched */
            json_decref(again);
        } else {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err.detail);
            zt_scim_coerce_booleans(res);
            json_t *want = load(cases[i].after);
            if (!json_equal(res, want)) {
                char *got = json_dumps(res, JSON_SORT_KEYS);
                fail_msg("case %zu: got %s", i, got);
            }
            json_decref(want);
        }
        json_decref(res);
        json_decref(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_match), cmocka_unit_test(test_filter_refusals),
        cmocka_unit_test(test_eq_string),    cmocka_unit_test(test_path),
        cmocka_unit_test(test_patch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
