/* SCIM 2.0 server (RFC 7643 schema, RFC 7644 protocol) under /scim/v2/ on the admin listener,
 * for provisioning from Microsoft Entra ID, Okta or Google. Users and Groups are kept in the
 * store through the account service (session/account.h), so a SCIM change is audited and
 * revokes sessions exactly like the same change made by the CLI or the admin API.
 *
 * The pure parts live apart and are unit-tested and fuzzed on their own: the filter grammar
 * (filter.c, RFC 7644 §3.4.2.2), the PATCH operations (patch.c, §3.5.2, with the dialects
 * Entra ID sends). scim.c routes and answers; users.c and groups.c
 * map resources onto the store. */
#ifndef ZT_SCIM_SCIM_H
#define ZT_SCIM_SCIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/handler.h"

#define ZT_SCIM_PREFIX "/scim/v2"

#define ZT_SCIM_SCHEMA_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define ZT_SCIM_SCHEMA_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define ZT_SCIM_SCHEMA_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define ZT_SCIM_MSG_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define ZT_SCIM_MSG_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define ZT_SCIM_MSG_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

/* Limits on what a client controls. */
#define ZT_SCIM_FILTER_MAX_LEN 4096   /* bytes of one filter or PATCH path */
#define ZT_SCIM_FILTER_MAX_DEPTH 32   /* nested parentheses, not(...) and [...] */
#define ZT_SCIM_FILTER_MAX_NODES 256  /* comparisons and logical operators */
#define ZT_SCIM_PATCH_MAX_OPS 1000    /* Operations in one PATCH */
#define ZT_SCIM_JSON_MAX_DEPTH 16     /* nesting of a request body */
#define ZT_SCIM_MAX_RESULTS 1000      /* itemsPerPage cap (filter.maxResults) */
#define ZT_SCIM_PAGE_BYTES (2u << 20) /* a page stops growing here (the answer buffer is 4 MiB) */

/* A refusal in SCIM's terms: HTTP status, scimType (static; NULL = none) and detail. */
typedef struct zt_scim_error {
    int status;
    const char *scim_type;
    char detail[256];
} zt_scim_error;

/* Fill err and return -EINVAL (for parsers' one-line refusals). */
int zt_scim_fail(zt_scim_error *err, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The SCIM Error body for err (new reference): status as a string, as §3.12 requires. */
json_t *zt_scim_error_json(const zt_scim_error *err);

/* Case-insensitive member lookup (attribute names are case-insensitive, §2.1); NULL when none.
 * The key found is stored in *key_out when non-NULL. */
json_t *zt_scim_get(const json_t *obj, const char *key, const char **key_out);
/* Set obj[key], replacing a member spelled with other case. 0 or -ENOMEM. Steals value. */
int zt_scim_set(json_t *obj, const char *key, json_t *value);
/* Remove obj[key] in any case; true when one was there. */
bool zt_scim_del(json_t *obj, const char *key);
/* Nesting depth of a JSON value (a scalar is 0). Stops counting at limit + 1. */
int zt_scim_json_depth(const json_t *v, int limit);

/* ---- filter.c: filters (§3.4.2.2) and attribute paths (§3.5.2) ---- */

typedef struct zt_scim_filter zt_scim_filter;

/* Parse a filter (the full grammar: eq ne co sw ew gt ge lt le pr, and/or/not, grouping,
 * value paths "emails[type eq \"work\"]", optionally followed by ".value eq ..."; literals
 * true false null, numbers, JSON strings, and, as Entra's older jobs send, an unquoted word
 * taken as a string). 0 with *out, or -EINVAL with err (400 invalidFilter). */
int zt_scim_filter_parse(const char *s, size_t n, zt_scim_filter **out, zt_scim_error *err);
void zt_scim_filter_free(zt_scim_filter *f);
/* Whether resource (a JSON object) matches. */
bool zt_scim_filter_match(const zt_scim_filter *f, const json_t *resource);
/* When f is exactly `ATTR eq "string"` with ATTR equal to attr (case-insensitively, the core
 * schema URN allowed in front), the string; else NULL. Lets a lookup by userName, externalId
 * or displayName use the store's index instead of a scan. */
const char *zt_scim_filter_eq_string(const zt_scim_filter *f, const char *attr);

/* When f is `A eq LIT` or such terms joined by "and" (no sub-attributes, no URIs), set each
 * obj[A] = LIT and return 0; else -EINVAL. PATCH uses it to create the element a filtered path
 * names when none matches (`emails[type eq "work"].value` on a user without a work address). */
int zt_scim_filter_seed(const zt_scim_filter *f, json_t *obj);

/* A PATCH path: attrPath ["[" valFilter "]"] ["." subAttr]. uri is NULL for the core schema
 * (its URN, when written, is dropped); an extension's URN otherwise. */
typedef struct zt_scim_path {
    char *uri;
    char *attr;
    zt_scim_filter *filter; /* NULL: no value filter */
    char *sub;              /* NULL: none */
} zt_scim_path;
/* 0 or -EINVAL with err (400 invalidPath). */
int zt_scim_path_parse(const char *s, size_t n, zt_scim_path *out, zt_scim_error *err);
void zt_scim_path_dispose(zt_scim_path *p);

/* ---- patch.c: PATCH operations (§3.5.2) ---- */

/* Apply a PatchOp body to resource (a JSON object, changed in place only on success: the
 * operations are all or nothing). Accepts both dialects Entra ID sends: capitalised op names,
 * "remove" of path "members" with a value array (remove those members, not all of them),
 * add/replace without a path whose value object has dotted keys ("name.givenName") or an
 * extension's URN as prefix, filtered paths with a sub-attribute, and "$ref": null in values.
 * 0, or -EINVAL with err (400 invalidSyntax / invalidPath / noTarget / invalidValue). */
int zt_scim_patch_apply(json_t *resource, const json_t *body, zt_scim_error *err);

/* Coerce the strings "True"/"False" (any case) Entra sends for booleans to JSON booleans in
 * resource's `active` and in every `primary` of its multi-valued attributes. */
void zt_scim_coerce_booleans(json_t *resource);

/* The bearer token: the gateway reads `scim.token_file` as it reads the admin token (created
 * 0600 when missing, refused when others can read it) and keeps only its SHA-256 in
 * zt_services.scim_token_hash; scim.c compares in constant time. */
#define ZT_SCIM_TOKEN_MAX_CHARS 512
#define ZT_SCIM_HASH_HEX 64

/* ---- scim.c ---- */

/* True when path is /scim/v2 or below: the admin listener's handler hands those here. */
bool zt_scim_path_is_scim(const char *path, size_t n);
/* Answer one SCIM request (authenticate with the `scim:` token, route, act, respond). */
void zt_scim_handle(zt_local_req *r);

/* The `scim:` section's key table (scim_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_scim_config_module;

#endif
