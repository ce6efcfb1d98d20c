/* The SCIM endpoint: authenticate the `scim:` bearer token, route /scim/v2/..., read the query
 * and the body under limits, answer discovery (ServiceProviderConfig, ResourceTypes, Schemas),
 * and finish every call the same way: one audit record (OCSF HTTP Activity, actor "scim:" +
 * the token's fingerprint), then a body in application/scim+json. Resource work is in users.c
 * and groups.c, over the handlers they share in resource.c. */
#include <errno.h>
#include <llhttp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit/event.h"
#include "core/log.h"
#include "http/api.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "scim/scim_int.h"
#include "session/session.h"

#define TOKEN_FP_HEX 16
#define QUERY_MAX_PARAMS 16

bool zt_scim_path_is_scim(const char *path, size_t n)
{
    size_t p = sizeof(ZT_SCIM_PREFIX) - 1;
    return n >= p && memcmp(path, ZT_SCIM_PREFIX, p) == 0 && (n == p || path[p] == '/');
}

/* ---- answers ---- */

static bool audit_call(zt_scim_call *c, int status, const char *scim_type)
{
    zt_local_req *r = c->r;
    bool ok = status < 400;
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    zt_event ev;
    char msg[160];
    snprintf(msg, sizeof(msg), "SCIM %s %s", c->action ? c->action : "request",
             ok ? "succeeded" : "failed");
    zt_event_begin(&ev, &b, ZT_EV_HTTP_ACTIVITY,
                   zt_event_http_activity(llhttp_method_name((llhttp_method_t)r->method)),
                   ok              ? ZT_SEV_INFO
                   : status == 401 ? ZT_SEV_MEDIUM
                                   : ZT_SEV_LOW);
    zt_event_status(&ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "status_detail", scim_type);
    zt_event_str(&ev, "message", msg);
    zt_api_event_actor(&ev, c->actor[0] != '\0' ? c->actor : NULL, sizeof("scim:") - 1);
    zt_api_event_request(&ev, r, c->action);
    zt_event_int(&ev, "http_response.code", status);
    if (c->user_id[0] != '\0')
        zt_event_str(&ev, "user.uid", c->user_id);
    if (c->user_email[0] != '\0')
        zt_event_str(&ev, "user.email_addr", c->user_email);
    if (c->group[0] != '\0')
        zt_event_str(&ev, "group.name", c->group);
    if (c->change[0] != '\0')
        zt_event_str(&ev, "unmapped.change", c->change);
    return zt_api_event_queue(r, &ev, &b, "SCIM");
}

static void call_free(zt_scim_call *c)
{
    json_decref(c->body);
    free(c->q.filter);
    free(c->q.attributes);
    free(c->q.excluded);
    free(c);
}

static void send_answer(zt_local_req *r, int status, char *doc, const char *etag,
                        const char *location)
{
    (void)zt_api_answer_head(r, status, "application/scim+json");
    if (etag != NULL)
        (void)zt_buf_printf(&r->resp_headers, "ETag: %s\r\n", etag);
    if (location != NULL)
        (void)zt_buf_printf(&r->resp_headers, "Location: %s\r\n", location);
    if (status == 401)
        (void)zt_buf_append_str(&r->resp_headers, "WWW-Authenticate: Bearer realm=\"scim\"\r\n");
    if (doc != NULL && (zt_buf_append_str(&r->resp_body, doc) != 0 ||
                        zt_buf_append_str(&r->resp_body, "\n") != 0)) {
        zt_buf_reset(&r->resp_body);
        r->status = 500;
        (void)zt_buf_append_str(&r->resp_body, "{\"schemas\":[\"" ZT_SCIM_MSG_ERROR
                                               "\"],\"status\":\"500\",\"detail\":\"response "
                                               "too large\"}\n");
    }
    zt_local_respond(r);
}

static void finish_typed(zt_scim_call *c, int status, json_t *body, const char *etag,
                         const char *location, const char *scim_type)
{
    zt_local_req *r = c->r;
    char *doc = NULL;
    if (body != NULL) {
        doc = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (doc == NULL)
            status = 500;
    }
    if (!audit_call(c, status, scim_type)) {
        zt_error("request %s: SCIM call %s refused: the audit log cannot record it", r->request_id,
                 c->action ? c->action : "?");
        free(doc);
        zt_scim_error e = {503, NULL,
                           "the audit log cannot record this call; nothing is "
                           "reported as done"};
        json_t *j = zt_scim_error_json(&e);
        doc = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        status = 503;
        etag = location = NULL;
    }
    r->log_detail = status < 400 ? "SCIM" : "SCIM refused";
    char etag_copy[48] = "", *loc_copy = location ? strdup(location) : NULL;
    if (etag != NULL)
        snprintf(etag_copy, sizeof(etag_copy), "%s", etag);
    call_free(c);
    send_answer(r, status, doc, etag ? etag_copy : NULL, loc_copy);
    free(loc_copy);
    free(doc);
}

void zt_scim_finish(zt_scim_call *c, int status, json_t *body, const char *etag,
                    const char *location)
{
    finish_typed(c, status, body, etag, location, NULL);
}

void zt_scim_finish_error(zt_scim_call *c, const zt_scim_error *err)
{
    zt_info("request %s: SCIM %s refused: %d %s: %s", c->r->request_id,
            c->action ? c->action : "request", err->status, err->scim_type ? err->scim_type : "-",
            err->detail);
    finish_typed(c, err->status, zt_scim_error_json(err), NULL, NULL, err->scim_type);
}

void zt_scim_refuse(zt_scim_call *c, int status, const char *scim_type, const char *fmt, ...)
{
    zt_scim_error e = {.status = status, .scim_type = scim_type};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
    va_end(ap);
    zt_scim_finish_error(c, &e);
}

void zt_scim_store_fail(zt_scim_call *c, int rc, const char *what)
{
    if (rc == -ENOENT)
        zt_scim_refuse(c, 404, NULL, "%s %s not found", what, c->id);
    else if (rc == -EEXIST)
        zt_scim_refuse(c, 409, "uniqueness", "a %s with that name or externalId exists", what);
    else if (rc == -EINVAL || rc == -E2BIG)
        zt_scim_refuse(c, 400, "invalidValue", "the %s's values are not acceptable", what);
    else {
        zt_error("request %s: SCIM %s: store: %s", c->r->request_id, c->action, strerror(-rc));
        zt_scim_refuse(c, 500, NULL, "internal error");
    }
}

zt_account_env zt_scim_account_env(zt_scim_call *c)
{
    return (zt_account_env){.store = c->r->svc->store,
                            .state_dir = c->r->svc->state_dir,
                            .audit = {.write = zt_api_audit_sink, .ctx = c->r}};
}

void zt_scim_actor(zt_scim_call *c, zt_actor *who)
{
    *who = (zt_actor){.name = c->actor,
                      .type = "Admin",
                      .credential_uid = c->actor + 5,
                      .request_id = c->r->request_id};
}

bool zt_scim_account_done(zt_scim_call *c, const zt_account_result *res)
{
    if (res->audit_rc != 0)
        zt_error("request %s: SCIM %s: the change is saved but its record could not be queued: "
                 "%s",
                 c->r->request_id, c->action, strerror(-res->audit_rc));
    if (res->revocation_rc == 0)
        return true;
    zt_error("request %s: SCIM %s: cannot bump the revocation counter: %s", c->r->request_id,
             c->action, strerror(-res->revocation_rc));
    zt_scim_refuse(c, 500, NULL,
                   "the change is saved, but running gateways were not told (%s/%s: %s)",
                   c->r->svc->state_dir, ZT_REVOCATION_FILE, strerror(-res->revocation_rc));
    return false;
}

/* ---- meta, versions, lists ---- */

static void iso_time(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

char *zt_scim_location(zt_scim_call *c, const char *type, const char *id)
{
    zt_local_req *r = c->r;
    char *s = NULL;
    if (asprintf(&s, "%s://%s%s/%s%s%s", r->https ? "https" : "http",
                 r->host_port && r->host_port[0] ? r->host_port : "localhost", ZT_SCIM_PREFIX, type,
                 id ? "/" : "", id ? id : "") < 0)
        return NULL;
    return s;
}

int zt_scim_set_meta(zt_scim_call *c, json_t *res, const char *type, const char *id,
                     int64_t created, int64_t modified, char etag_out[40])
{
    zt_scim_del(res, "meta");
    char *dump = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
    if (dump == NULL)
        return -ENOMEM;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)dump, strlen(dump));
    free(dump);
    char hex[17];
    sodium_bin2hex(hex, sizeof(hex), h, 8);
    snprintf(etag_out, 40, "W/\"%s\"", hex);
    char cr[32], mo[32];
    iso_time(created, cr);
    iso_time(modified > 0 ? modified : created, mo);
    char *loc = zt_scim_location(c, type, id);
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "resourceType",
                             strcmp(type, "Users") == 0 ? "User" : "Group", "created", cr,
                             "lastModified", mo, "location", loc, "version", etag_out);
    free(loc);
    return meta != NULL && json_object_set_new(res, "meta", meta) == 0 ? 0 : -ENOMEM;
}

/* An If-Match / If-None-Match list: "*" or ETags separated by commas; W/ compared weakly. */
static bool etag_listed(const zt_span *v, const char *etag)
{
    zt_span s = zt_span_trim(*v);
    if (s.n == 1 && s.p[0] == '*')
        return true;
    const char *want = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t wn = strlen(want);
    size_t i = 0;
    while (i < s.n) {
        size_t j = i;
        while (j < s.n && s.p[j] != ',')
            j++;
        zt_span one = zt_span_trim((zt_span){s.p + i, j - i});
        if (one.n >= 2 && (one.p[0] == 'W' || one.p[0] == 'w') && one.p[1] == '/') {
            one.p += 2;
            one.n -= 2;
        }
        if (one.n == wn && memcmp(one.p, want, wn) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

bool zt_scim_if_match_ok(zt_scim_call *c, const char *etag)
{
    const zt_span *v = zt_local_header_get(c->r, "If-Match");
    if (v == NULL || etag_listed(v, etag))
        return true;
    zt_scim_refuse(c, 412, NULL, "the resource has changed: If-Match does not name version %s",
                   etag);
    return false;
}

bool zt_scim_if_none_match_hit(const zt_scim_call *c, const char *etag)
{
    const zt_span *v = zt_local_header_get(c->r, "If-None-Match");
    return v != NULL && etag_listed(v, etag);
}

json_t *zt_scim_list_response(json_t *resources, size_t total, long start_index)
{
    return json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", ZT_SCIM_MSG_LIST, "totalResults",
                     (json_int_t)total, "itemsPerPage", (json_int_t)json_array_size(resources),
                     "startIndex", (json_int_t)start_index, "Resources", resources);
}

/* ---- discovery (RFC 7643 §5-7) ---- */

static json_t *attr_def(const char *name, const char *type, bool multi, bool required,
                        const char *mutability, const char *uniqueness, json_t *subs)
{
    json_t *a = json_pack(
        "{s:s, s:s, s:b, s:s, s:b, s:b, s:s, s:s, s:s}", "name", name, "type", type, "multiValued",
        multi, "description", name, "required", required, "caseExact",
        strcmp(name, "id") == 0 || strcmp(name, "externalId") == 0, "mutability", mutability,
        "returned", strcmp(name, "password") == 0 ? "never" : "default", "uniqueness", uniqueness);
    if (a != NULL && subs != NULL)
        json_object_set_new(a, "subAttributes", subs);
    return a;
}

static json_t *multi_subs(void)
{
    return json_pack("[o, o, o, o]",
                     attr_def("value", "string", false, false, "readWrite", "none", NULL),
                     attr_def("display", "string", false, false, "readWrite", "none", NULL),
                     attr_def("type", "string", false, false, "readWrite", "none", NULL),
                     attr_def("primary", "boolean", false, false, "readWrite", "none", NULL));
}

static json_t *schema_doc(zt_scim_call *c, const char *id, const char *name, json_t *attrs)
{
    char *loc = zt_scim_location(c, "Schemas", id);
    json_t *s = json_pack("{s:[s], s:s, s:s, s:s, s:o, s:{s:s, s:s?}}", "schemas",
                          "urn:ietf:params:scim:schemas:core:2.0:Schema", "id", id, "name", name,
                          "description", name, "attributes", attrs, "meta", "resourceType",
                          "Schema", "location", loc);
    free(loc);
    return s;
}

static json_t *user_schema(zt_scim_call *c)
{
    json_t *name =
        json_pack("[o, o, o, o, o, o]",
                  attr_def("formatted", "string", false, false, "readWrite", "none", NULL),
                  attr_def("familyName", "string", false, false, "readWrite", "none", NULL),
                  attr_def("givenName", "string", false, false, "readWrite", "none", NULL),
                  attr_def("middleName", "string", false, false, "readWrite", "none", NULL),
                  attr_def("honorificPrefix", "string", false, false, "readWrite", "none", NULL),
                  attr_def("honorificSuffix", "string", false, false, "readWrite", "none", NULL));
    json_t *attrs = json_pack(
        "[o, o, o, o, o, o, o, o, o, o, o, o, o, o]",
        attr_def("userName", "string", false, true, "readWrite", "server", NULL),
        attr_def("name", "complex", false, false, "readWrite", "none", name),
        attr_def("displayName", "string", false, false, "readWrite", "none", NULL),
        attr_def("nickName", "string", false, false, "readWrite", "none", NULL),
        attr_def("title", "string", false, false, "readWrite", "none", NULL),
        attr_def("userType", "string", false, false, "readWrite", "none", NULL),
        attr_def("preferredLanguage", "string", false, false, "readWrite", "none", NULL),
        attr_def("locale", "string", false, false, "readWrite", "none", NULL),
        attr_def("timezone", "string", false, false, "readWrite", "none", NULL),
        attr_def("active", "boolean", false, false, "readWrite", "none", NULL),
        attr_def("password", "string", false, false, "writeOnly", "none", NULL),
        attr_def("emails", "complex", true, false, "readWrite", "none", multi_subs()),
        attr_def("phoneNumbers", "complex", true, false, "readWrite", "none", multi_subs()),
        attr_def("groups", "complex", true, false, "readOnly", "none", multi_subs()));
    return schema_doc(c, ZT_SCIM_SCHEMA_USER, "User", attrs);
}

static json_t *group_schema(zt_scim_call *c)
{
    json_t *members = json_pack(
        "[o, o, o, o]", attr_def("value", "string", false, false, "immutable", "none", NULL),
        attr_def("$ref", "reference", false, false, "immutable", "none", NULL),
        attr_def("display", "string", false, false, "readOnly", "none", NULL),
        attr_def("type", "string", false, false, "immutable", "none", NULL));
    json_t *attrs = json_pack(
        "[o, o]", attr_def("displayName", "string", false, true, "readWrite", "none", NULL),
        attr_def("members", "complex", true, false, "readWrite", "none", members));
    return schema_doc(c, ZT_SCIM_SCHEMA_GROUP, "Group", attrs);
}

static json_t *enterprise_schema(zt_scim_call *c)
{
    json_t *manager =
        json_pack("[o, o, o]", attr_def("value", "string", false, false, "readWrite", "none", NULL),
                  attr_def("$ref", "reference", false, false, "readWrite", "none", NULL),
                  attr_def("displayName", "string", false, false, "readOnly", "none", NULL));
    json_t *attrs =
        json_pack("[o, o, o, o, o, o]",
                  attr_def("employeeNumber", "string", false, false, "readWrite", "none", NULL),
                  attr_def("costCenter", "string", false, false, "readWrite", "none", NULL),
                  attr_def("organization", "string", false, false, "readWrite", "none", NULL),
                  attr_def("division", "string", false, false, "readWrite", "none", NULL),
                  attr_def("department", "string", false, false, "readWrite", "none", NULL),
                  attr_def("manager", "complex", false, false, "readWrite", "none", manager));
    return schema_doc(c, ZT_SCIM_SCHEMA_ENTERPRISE, "EnterpriseUser", attrs);
}

static json_t *resource_type(zt_scim_call *c, const char *name, const char *endpoint,
                             const char *schema, bool enterprise)
{
    char *loc = zt_scim_location(c, "ResourceTypes", name);
    json_t *t = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s?}}", "schemas",
                          "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id", name, "name",
                          name, "description", name, "endpoint", endpoint, "schema", schema, "meta",
                          "resourceType", "ResourceType", "location", loc);
    free(loc);
    if (t != NULL && enterprise)
        json_object_set_new(
            t, "schemaExtensions",
            json_pack("[{s:s, s:b}]", "schema", ZT_SCIM_SCHEMA_ENTERPRISE, "required", false));
    return t;
}

static json_t *service_provider_config(zt_scim_call *c)
{
    char *loc = zt_scim_location(c, "ServiceProviderConfig", NULL);
    json_t *j = json_pack(
        "{s:[s], s:s, s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b},"
        " s:[{s:s, s:s, s:s, s:b}], s:{s:s, s:s?}}",
        "schemas", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "documentationUri", "https://github.com/ztgate/ztgate/blob/main/docs/SCIM.md", "patch",
        "supported", true, "bulk", "supported", false, "maxOperations", 0, "maxPayloadSize", 0,
        "filter", "supported", true, "maxResults", ZT_SCIM_MAX_RESULTS, "changePassword",
        "supported", false, "sort", "supported", false, "etag", "supported", true,
        "authenticationSchemes", "type", "oauthbearertoken", "name", "OAuth Bearer Token",
        "description", "the token in the file scim.token_file names", "primary", true, "meta",
        "resourceType", "ServiceProviderConfig", "location", loc);
    free(loc);
    return j;
}

/* GET /ServiceProviderConfig, /ResourceTypes[/{id}], /Schemas[/{id}]. */
static void discovery(zt_scim_call *c, const char *what)
{
    c->action = "scim.discovery";
    if (c->r->method != HTTP_GET) {
        zt_scim_refuse(c, 405, NULL, "%s is read-only", what);
        return;
    }
    if (strcmp(what, "ServiceProviderConfig") == 0) {
        zt_scim_finish(c, 200, service_provider_config(c), NULL, NULL);
        return;
    }
    json_t *all = json_array();
    if (strcmp(what, "ResourceTypes") == 0) {
        json_array_append_new(all, resource_type(c, "User", "/Users", ZT_SCIM_SCHEMA_USER, true));
        json_array_append_new(all,
                              resource_type(c, "Group", "/Groups", ZT_SCIM_SCHEMA_GROUP, false));
    } else {
        json_array_append_new(all, user_schema(c));
        json_array_append_new(all, group_schema(c));
        json_array_append_new(all, enterprise_schema(c));
    }
    if (c->id[0] == '\0') {
        size_t n = json_array_size(all);
        zt_scim_finish(c, 200, zt_scim_list_response(all, n, 1), NULL, NULL);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "id")), c->id) == 0) {
            json_incref(e);
            json_decref(all);
            zt_scim_finish(c, 200, e, NULL, NULL);
            return;
        }
    }
    json_decref(all);
    zt_scim_refuse(c, 404, NULL, "no %s named %s", what, c->id);
}

/* ---- request reading ---- */

/* Percent-decode (and '+' as space in a query) into a new string; NULL on a bad escape or NUL. */
static char *pct_decode(const char *s, size_t n, bool plus)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 1 < n ? zt_hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? zt_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return out;
}

static bool parse_long(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0)
        return false;
    *out = v;
    return true;
}

/* The top-level attribute an attributes entry names: "name.givenName" → "name",
 * "urn:...:core:2.0:User:userName" → "userName", an extension's attribute → the extension. */
static bool entry_names(const char *e, size_t n, const char *key)
{
    static const char *const core[] = {ZT_SCIM_SCHEMA_USER ":", ZT_SCIM_SCHEMA_GROUP ":"};
    for (size_t i = 0; i < 2; i++) {
        size_t cl = strlen(core[i]);
        if (n > cl && strncasecmp(e, core[i], cl) == 0) {
            e += cl;
            n -= cl;
        }
    }
    if (n >= 4 && strncasecmp(e, "urn:", 4) == 0) {
        size_t kl = strlen(key);
        return n >= kl && strncasecmp(e, key, kl) == 0 && (n == kl || e[kl] == ':');
    }
    const char *dot = memchr(e, '.', n);
    size_t an = dot ? (size_t)(dot - e) : n;
    return an == strlen(key) && strncasecmp(e, key, an) == 0;
}

static bool listed_in(const char *list, const char *key)
{
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t > 0 && entry_names(p, t, key))
            return true;
        p += n;
    }
    return false;
}

void zt_scim_project(json_t *res, const zt_scim_query *q)
{
    if (q->attributes == NULL && q->excluded == NULL)
        return;
    json_t *drop = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(res, k, v)
    {
        if (strcmp(k, "id") == 0 || strcmp(k, "schemas") == 0 || strcmp(k, "meta") == 0)
            continue;
        if ((q->attributes != NULL && !listed_in(q->attributes, k)) ||
            (q->excluded != NULL && listed_in(q->excluded, k)))
            json_array_append_new(drop, json_string(k));
    }
    size_t i;
    json_array_foreach(drop, i, v)
    {
        json_object_del(res, json_string_value(v));
    }
    json_decref(drop);
}

/* filter, startIndex, count, attributes, excludedAttributes; sortBy/sortOrder are ignored
 * (sort.supported is false). */
static int parse_query(zt_scim_call *c, zt_scim_error *err)
{
    zt_scim_query *q = &c->q;
    q->start_index = 1;
    q->count = -1;
    const char *s = c->r->query;
    size_t n = c->r->query_len, i = 0;
    int params = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        if (j > i && ++params > QUERY_MAX_PARAMS)
            return zt_scim_fail(err, 400, "invalidValue", "too many query parameters");
        const char *eq = memchr(s + i, '=', j - i);
        size_t kn = eq ? (size_t)(eq - (s + i)) : j - i;
        char *key = pct_decode(s + i, kn, true);
        char *val = eq ? pct_decode(eq + 1, (size_t)(s + j - eq - 1), true) : strdup("");
        int rc = 0;
        if (key == NULL || val == NULL)
            rc = zt_scim_fail(err, 400, "invalidValue", "a query parameter does not decode");
        else if (strcasecmp(key, "filter") == 0) {
            free(q->filter);
            q->filter = val;
            val = NULL;
        } else if (strcasecmp(key, "startIndex") == 0) {
            if (!parse_long(val, &q->start_index))
                rc = zt_scim_fail(err, 400, "invalidValue", "startIndex must be an integer");
            if (q->start_index < 1)
                q->start_index = 1;
        } else if (strcasecmp(key, "count") == 0) {
            if (!parse_long(val, &q->count))
                rc = zt_scim_fail(err, 400, "invalidValue", "count must be an integer");
            if (q->count < 0)
                q->count = 0;
        } else if (strcasecmp(key, "excludedAttributes") == 0) {
            free(q->excluded);
            q->excluded = val;
            val = NULL;
        } else if (strcasecmp(key, "attributes") == 0) {
            free(q->attributes);
            q->attributes = val;
            val = NULL;
        }
        free(key);
        free(val);
        if (rc < 0)
            return rc;
        i = j + 1;
    }
    return 0;
}

static bool content_type_ok(const zt_local_req *r)
{
    const zt_span *ct = zt_local_header_get(r, "Content-Type");
    if (ct == NULL)
        return true; /* tolerated: some clients send none */
    zt_span v = zt_span_trim(*ct);
    const char *semi = memchr(v.p, ';', v.n);
    if (semi != NULL)
        v = zt_span_trim((zt_span){v.p, (size_t)(semi - v.p)});
    return zt_span_ieq_cstr(v, "application/scim+json") || zt_span_ieq_cstr(v, "application/json");
}

static int parse_body(zt_scim_call *c, zt_scim_error *err)
{
    zt_local_req *r = c->r;
    if (r->method != HTTP_POST && r->method != HTTP_PUT && r->method != HTTP_PATCH)
        return 0;
    if (!content_type_ok(r))
        return zt_scim_fail(err, 415, NULL, "send the body as Content-Type: application/scim+json");
    json_error_t je;
    c->body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (c->body == NULL)
        return zt_scim_fail(err, 400, "invalidSyntax",
                            "the body is not a JSON object: %s (line %d)", je.text, je.line);
    if (!json_is_object(c->body))
        return zt_scim_fail(err, 400, "invalidSyntax", "the body is not a JSON object");
    if (zt_scim_json_depth(c->body, ZT_SCIM_JSON_MAX_DEPTH) > ZT_SCIM_JSON_MAX_DEPTH)
        return zt_scim_fail(err, 400, "invalidSyntax", "the body nests deeper than %d levels",
                            ZT_SCIM_JSON_MAX_DEPTH);
    return 0;
}

/* Exactly one Authorization header: Bearer and the token whose SHA-256 the gateway holds. */
static bool authorized(zt_scim_call *c)
{
    zt_local_req *r = c->r;
    const char *hash = r->svc->scim_token_hash;
    if (strlen(hash) != ZT_SCIM_HASH_HEX)
        return false;
    const zt_span *found = zt_api_authorization(r);
    if (found == NULL)
        return false;
    zt_span v = zt_span_trim(*found);
    if (v.n < 8 || !zt_span_istarts(v, "bearer") || (v.p[6] != ' ' && v.p[6] != '\t'))
        return false;
    zt_span t = zt_span_trim((zt_span){v.p + 7, v.n - 7});
    if (t.n == 0 || t.n > ZT_SCIM_TOKEN_MAX_CHARS)
        return false;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)t.p, t.n);
    char hex[ZT_SCIM_HASH_HEX + 1];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    bool ok = zt_ct_eq(hex, hash, ZT_SCIM_HASH_HEX);
    zt_wipe(h, sizeof(h));
    zt_wipe(hex, sizeof(hex));
    if (ok)
        snprintf(c->actor, sizeof(c->actor), "scim:%.*s", TOKEN_FP_HEX, hash);
    return ok;
}

/* /scim/v2/TYPE[/ID]: TYPE into type (static name), the decoded ID into c->id. */
static const char *route(zt_scim_call *c, zt_scim_error *err)
{
    static const char *const types[] = {"Users",   "Groups",        "ServiceProviderConfig",
                                        "Schemas", "ResourceTypes", "Me",
                                        "Bulk",    ".search"};
    const char *p = c->r->path + sizeof(ZT_SCIM_PREFIX) - 1;
    size_t n = c->r->path_len - (sizeof(ZT_SCIM_PREFIX) - 1);
    while (n > 0 && *p == '/') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == '/')
        n--;
    const char *slash = memchr(p, '/', n);
    size_t tn = slash ? (size_t)(slash - p) : n;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (tn != strlen(types[i]) || strncasecmp(p, types[i], tn) != 0)
            continue;
        if (slash != NULL) {
            size_t in = n - tn - 1;
            char *id = pct_decode(slash + 1, in, false);
            if (id == NULL || strlen(id) > ZT_SCIM_SEG_MAX || strchr(id, '/') != NULL) {
                free(id);
                zt_scim_fail(err, 404, NULL, "no such resource");
                return NULL;
            }
            snprintf(c->id, sizeof(c->id), "%s", id);
            free(id);
        }
        return types[i];
    }
    zt_scim_fail(err, 404, NULL, "no such endpoint; SCIM resources are /Users and /Groups");
    return NULL;
}

void zt_scim_handle(zt_local_req *r)
{
    zt_scim_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        send_answer(r, 503, NULL, NULL, NULL);
        return;
    }
    c->r = r;
    c->action = "scim.request";
    zt_scim_error err = {0};
    if (!authorized(c)) {
        c->action = "scim.auth";
        zt_scim_refuse(c, 401, NULL, "a valid SCIM token is required: Authorization: Bearer TOKEN");
        return;
    }
    const char *type = route(c, &err);
    if (type == NULL || parse_query(c, &err) < 0 || parse_body(c, &err) < 0) {
        zt_scim_finish_error(c, &err);
        return;
    }
    if (strcmp(type, "Users") == 0)
        zt_scim_resource_route(c, &zt_scim_user_kind);
    else if (strcmp(type, "Groups") == 0)
        zt_scim_resource_route(c, &zt_scim_group_kind);
    else if (strcmp(type, "Me") == 0 || strcmp(type, "Bulk") == 0 || strcmp(type, ".search") == 0)
        zt_scim_refuse(c, 501, NULL, "/%s is not implemented", type);
    else
        discovery(c, type);
}
