/* SCIM PATCH (RFC 7644 §3.5.2) over a resource's JSON. The operations run on a copy, which
 * replaces the resource only when all of them succeeded (§3.5.2: all or nothing).
 *
 * Entra ID's two dialects are both accepted (reference: round2.md §5.2, §5.4): op names in any
 * case; "remove" on "members" with a value array removes those members only (applying the RFC's
 * meaning there would empty the group); add/replace without a path whose value object holds
 * dotted keys ("name.givenName") or URN-prefixed keys; "$ref": null inside values; booleans as
 * the strings "True"/"False" (zt_scim_coerce_booleans, run by the caller after PUT and PATCH). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "scim/scim.h"

typedef enum patch_op { P_ADD, P_REMOVE, P_REPLACE } patch_op;

/* Two elements of a multi-valued attribute are the same when their "value" is (objects), or
 * when they are equal (anything else). */
static bool same_element(const json_t *a, const json_t *b)
{
    if (json_is_object(a) && json_is_object(b)) {
        const json_t *va = zt_scim_get(a, "value", NULL);
        const json_t *vb = zt_scim_get(b, "value", NULL);
        if (va != NULL && vb != NULL)
            return json_equal(va, vb);
    }
    return json_equal(a, b);
}

/* Append value (one element or an array of them) to arr, skipping elements already there. */
static int append_elements(json_t *arr, const json_t *value)
{
    size_t n = json_is_array(value) ? json_array_size(value) : 1;
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_is_array(value) ? json_array_get(value, k) : value;
        bool dup = false;
        size_t i;
        json_t *have;
        json_array_foreach(arr, i, have) if (same_element(have, e)) dup = true;
        if (!dup && json_array_append_new(arr, json_deep_copy(e)) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Remove from arr every element the same as one in value (one element or an array). */
static void remove_elements(json_t *arr, const json_t *value)
{
    size_t n = json_is_array(value) ? json_array_size(value) : 1;
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_is_array(value) ? json_array_get(value, k) : value;
        for (size_t i = json_array_size(arr); i-- > 0;)
            if (same_element(json_array_get(arr, i), e))
                json_array_remove(arr, i);
    }
}

/* Merge src's members into dst (case-insensitive names). */
static int merge_object(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (zt_scim_set(dst, k, json_deep_copy(v)) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* A single-valued complex attribute given as a one-element array (Entra's manager). */
static const json_t *unwrap_single(const json_t *current, const json_t *value)
{
    if (json_is_array(value) && json_array_size(value) == 1 &&
        json_is_object(json_array_get(value, 0)) && (current == NULL || json_is_object(current)))
        return json_array_get(value, 0);
    return value;
}

/* add / replace / remove of attr (no filter, no sub-attribute) in base. */
static int op_whole(json_t *base, patch_op op, const char *attr, const json_t *value)
{
    json_t *cur = zt_scim_get(base, attr, NULL);
    if (op == P_REMOVE) {
        if (value != NULL && json_is_array(cur)) { /* Entra: remove these members only */
            remove_elements(cur, value);
            return 0;
        }
        zt_scim_del(base, attr);
        return 0;
    }
    if (op == P_ADD && json_is_array(cur))
        return append_elements(cur, value);
    if (json_is_object(cur) && json_is_object(unwrap_single(cur, value)))
        return merge_object(cur, unwrap_single(cur, value));
    if (op == P_ADD && cur == NULL && !json_is_array(value) &&
        (strcasecmp(attr, "members") == 0 || strcasecmp(attr, "emails") == 0)) {
        json_t *arr = json_array();
        if (arr == NULL || json_array_append_new(arr, json_deep_copy(value)) != 0) {
            json_decref(arr);
            return -ENOMEM;
        }
        return zt_scim_set(base, attr, arr);
    }
    return zt_scim_set(base, attr, json_deep_copy(unwrap_single(cur, value)));
}

/* attr.sub without a filter: on a complex attribute, or on every element of a multi-valued. */
static int op_sub(json_t *base, patch_op op, const char *attr, const char *sub, const json_t *value)
{
    json_t *cur = zt_scim_get(base, attr, NULL);
    if (json_is_array(cur)) {
        size_t i;
        json_t *e;
        json_array_foreach(cur, i, e)
        {
            if (!json_is_object(e))
                continue;
            if (op == P_REMOVE)
                zt_scim_del(e, sub);
            else if (zt_scim_set(e, sub, json_deep_copy(value)) < 0)
                return -ENOMEM;
        }
        return 0;
    }
    if (op == P_REMOVE) {
        if (json_is_object(cur))
            zt_scim_del(cur, sub);
        return 0;
    }
    if (!json_is_object(cur)) {
        if (zt_scim_set(base, attr, json_object()) < 0)
            return -ENOMEM;
        cur = zt_scim_get(base, attr, NULL);
    }
    return zt_scim_set(cur, sub, json_deep_copy(value));
}

/* attr[filter](.sub)?: the matching elements of a multi-valued attribute. */
static int op_filtered(json_t *base, patch_op op, const zt_scim_path *path, const json_t *value,
                       zt_scim_error *err)
{
    json_t *cur = zt_scim_get(base, path->attr, NULL);
    if (cur != NULL && !json_is_array(cur))
        return zt_scim_fail(err, 400, "invalidPath", "%s is not multi-valued", path->attr);
    bool matched = false;
    for (size_t i = json_array_size(cur); i-- > 0;) {
        json_t *e = json_array_get(cur, i);
        if (!zt_scim_filter_match(path->filter, e))
            continue;
        matched = true;
        int rc = 0;
        if (op == P_REMOVE && path->sub == NULL)
            json_array_remove(cur, i);
        else if (op == P_REMOVE)
            zt_scim_del(e, path->sub);
        else if (path->sub != NULL)
            rc = zt_scim_set(e, path->sub, json_deep_copy(value));
        else if (json_is_object(value))
            rc = op == P_ADD ? merge_object(e, value)
                             : json_array_set_new(cur, i, json_deep_copy(value));
        else
            return zt_scim_fail(err, 400, "invalidValue", "value for %s[...] must be an object",
                                path->attr);
        if (rc < 0)
            return zt_scim_fail(err, 500, NULL, "out of memory");
    }
    if (matched || op == P_REMOVE)
        return 0;
    /* No element matched: make the one the filter describes (emails[type eq "work"].value). */
    json_t *e = json_object();
    if (e == NULL || zt_scim_filter_seed(path->filter, e) < 0) {
        json_decref(e);
        return zt_scim_fail(err, 400, "noTarget", "no element of %s matches the filter",
                            path->attr);
    }
    int rc = path->sub != NULL       ? zt_scim_set(e, path->sub, json_deep_copy(value))
             : json_is_object(value) ? merge_object(e, value)
                                     : -EINVAL;
    if (rc == 0 && cur == NULL) {
        rc = zt_scim_set(base, path->attr, json_array());
        cur = zt_scim_get(base, path->attr, NULL);
    }
    if (rc < 0 || json_array_append_new(cur, e) != 0) {
        if (rc < 0)
            json_decref(e);
        return zt_scim_fail(err, 400, "invalidValue", "cannot add to %s", path->attr);
    }
    return 0;
}

static int apply_path(json_t *root, patch_op op, const zt_scim_path *path, const json_t *value,
                      zt_scim_error *err)
{
    json_t *base = root;
    if (path->uri != NULL) {
        base = zt_scim_get(root, path->uri, NULL);
        if (base == NULL && op == P_REMOVE)
            return 0;
        if (base == NULL) {
            if (zt_scim_set(root, path->uri, json_object()) < 0)
                return zt_scim_fail(err, 500, NULL, "out of memory");
            base = zt_scim_get(root, path->uri, NULL);
        }
        if (!json_is_object(base))
            return zt_scim_fail(err, 400, "invalidPath", "%s is not an object", path->uri);
    }
    if (op != P_REMOVE && value == NULL)
        return zt_scim_fail(err, 400, "invalidValue", "operation on %s has no value", path->attr);
    int rc;
    if (path->filter != NULL)
        return op_filtered(base, op, path, value, err);
    if (path->sub != NULL)
        rc = op_sub(base, op, path->attr, path->sub, value);
    else
        rc = op_whole(base, op, path->attr, value);
    return rc < 0 ? zt_scim_fail(err, 500, NULL, "out of memory") : 0;
}

static bool read_only(const char *key)
{
    return strcasecmp(key, "id") == 0 || strcasecmp(key, "meta") == 0 ||
           strcasecmp(key, "schemas") == 0;
}

/* add / replace without a path: every member of value is an attribute (maybe dotted, maybe
 * URN-prefixed, maybe an extension's whole object). */
static int apply_object(json_t *root, patch_op op, const json_t *value, zt_scim_error *err)
{
    if (!json_is_object(value))
        return zt_scim_fail(err, 400, "invalidValue",
                            "an operation without a path needs an "
                            "object value");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)value, k, v)
    {
        if (read_only(k))
            continue; /* Okta sends the id beside a rename; readOnly attributes are ignored */
        if (strncasecmp(k, "urn:", 4) == 0 && json_is_object(v) &&
            strcasecmp(k, ZT_SCIM_SCHEMA_ENTERPRISE) == 0) {
            json_t *ext = zt_scim_get(root, k, NULL);
            if (!json_is_object(ext)) {
                zt_scim_set(root, ZT_SCIM_SCHEMA_ENTERPRISE, json_object());
                ext = zt_scim_get(root, ZT_SCIM_SCHEMA_ENTERPRISE, NULL);
            }
            if (ext == NULL || merge_object(ext, v) < 0)
                return zt_scim_fail(err, 500, NULL, "out of memory");
            continue;
        }
        zt_scim_path path;
        if (zt_scim_path_parse(k, strlen(k), &path, err) < 0)
            return -EINVAL;
        int rc = apply_path(root, op, &path, v, err);
        zt_scim_path_dispose(&path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_op_name(const json_t *o, patch_op *op, zt_scim_error *err)
{
    const json_t *name = zt_scim_get(o, "op", NULL);
    const char *s = json_string_value(name);
    if (s == NULL)
        return zt_scim_fail(err, 400, "invalidSyntax", "operation has no \"op\" string");
    if (strcasecmp(s, "add") == 0)
        *op = P_ADD;
    else if (strcasecmp(s, "remove") == 0)
        *op = P_REMOVE;
    else if (strcasecmp(s, "replace") == 0)
        *op = P_REPLACE;
    else
        return zt_scim_fail(err, 400, "invalidSyntax", "unknown op (add, remove or replace)");
    return 0;
}

static int apply_one(json_t *root, const json_t *o, size_t index, zt_scim_error *err)
{
    patch_op op = P_ADD;
    if (!json_is_object(o))
        return zt_scim_fail(err, 400, "invalidSyntax", "Operations[%zu] is not an object", index);
    if (parse_op_name(o, &op, err) < 0)
        return -EINVAL;
    const json_t *path = zt_scim_get(o, "path", NULL);
    const json_t *value = zt_scim_get(o, "value", NULL);
    if (path != NULL && !json_is_string(path) && !json_is_null(path))
        return zt_scim_fail(err, 400, "invalidPath", "Operations[%zu].path is not a string", index);
    if (json_is_null(value))
        value = NULL;
    if (path == NULL || json_is_null(path) || json_string_length(path) == 0) {
        if (op == P_REMOVE)
            return zt_scim_fail(err, 400, "noTarget", "remove needs a path");
        return apply_object(root, op, value, err);
    }
    zt_scim_path p;
    if (zt_scim_path_parse(json_string_value(path), json_string_length(path), &p, err) < 0)
        return -EINVAL;
    int rc = read_only(p.attr) && p.uri == NULL
                 ? zt_scim_fail(err, 400, "mutability", "%s is read-only", p.attr)
                 : apply_path(root, op, &p, value, err);
    zt_scim_path_dispose(&p);
    return rc;
}

static bool lists_patch_schema(const json_t *schemas)
{
    size_t i;
    json_t *s;
    json_array_foreach(schemas, i, s)
    {
        if (json_is_string(s) && strcasecmp(json_string_value(s), ZT_SCIM_MSG_PATCH) == 0)
            return true;
    }
    return false;
}

int zt_scim_patch_apply(json_t *resource, const json_t *body, zt_scim_error *err)
{
    if (!json_is_object(body))
        return zt_scim_fail(err, 400, "invalidSyntax", "PATCH body is not a JSON object");
    const json_t *schemas = zt_scim_get(body, "schemas", NULL);
    if (schemas != NULL && !lists_patch_schema(schemas))
        return zt_scim_fail(err, 400, "invalidSyntax", "schemas must list " ZT_SCIM_MSG_PATCH);
    const json_t *ops = zt_scim_get(body, "Operations", NULL);
    if (!json_is_array(ops) || json_array_size(ops) == 0)
        return zt_scim_fail(err, 400, "invalidSyntax", "Operations must be a non-empty array");
    if (json_array_size(ops) > ZT_SCIM_PATCH_MAX_OPS)
        return zt_scim_fail(err, 400, "tooMany", "more than %d operations", ZT_SCIM_PATCH_MAX_OPS);
    json_t *work = json_deep_copy(resource);
    if (work == NULL)
        return zt_scim_fail(err, 500, NULL, "out of memory");
    for (size_t i = 0; i < json_array_size(ops); i++) {
        if (apply_one(work, json_array_get(ops, i), i, err) < 0) {
            json_decref(work);
            return -EINVAL;
        }
    }
    json_object_clear(resource);
    int rc = json_object_update(resource, work);
    json_decref(work);
    return rc == 0 ? 0 : zt_scim_fail(err, 500, NULL, "out of memory");
}

static void coerce(json_t *obj, const char *key)
{
    const char *k = NULL;
    json_t *v = zt_scim_get(obj, key, &k);
    if (!json_is_string(v))
        return;
    const char *s = json_string_value(v);
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
        json_object_set_new(obj, k, json_boolean(strcasecmp(s, "true") == 0));
}

void zt_scim_coerce_booleans(json_t *resource)
{
    if (!json_is_object(resource))
        return;
    coerce(resource, "active");
    const char *k;
    json_t *v;
    json_object_foreach(resource, k, v)
    {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (json_is_object(e))
                coerce(e, "primary");
        }
    }
}
