/* SCIM filters (RFC 7644 §3.4.2.2) and PATCH attribute paths (§3.5.2): a recursive-descent
 * parser straight over the text into a small tree, and an evaluator over a resource's JSON.
 * "and" binds tighter than "or"; every nesting (parentheses, not(...), value paths) counts
 * against ZT_SCIM_FILTER_MAX_DEPTH and every node against ZT_SCIM_FILTER_MAX_NODES, so a
 * hostile filter costs bounded stack and memory. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scim/scim.h"

typedef enum node_kind { N_CMP, N_PR, N_AND, N_OR, N_NOT, N_VALUEPATH } node_kind;
typedef enum cmp_op { OP_EQ, OP_NE, OP_CO, OP_SW, OP_EW, OP_GT, OP_GE, OP_LT, OP_LE } cmp_op;

struct zt_scim_filter {
    node_kind kind;
    cmp_op op;
    char *uri, *attr, *sub; /* the attribute path (N_CMP, N_PR, N_VALUEPATH) */
    json_t *value;          /* N_CMP literal */
    zt_scim_filter *l, *r;  /* and/or: both; not and value path: l */
};

typedef struct parser {
    const char *s;
    size_t n, i;
    int depth, nodes;
    zt_scim_error *err;
    const char *scim_type;
} parser;

static const char *const op_names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};

void zt_scim_filter_free(zt_scim_filter *f)
{
    if (f == NULL)
        return;
    zt_scim_filter_free(f->l);
    zt_scim_filter_free(f->r);
    free(f->uri);
    free(f->attr);
    free(f->sub);
    json_decref(f->value);
    free(f);
}

static int perr(parser *p, const char *what)
{
    return zt_scim_fail(p->err, 400, p->scim_type, "%s at offset %zu", what, p->i);
}

static zt_scim_filter *node_new(parser *p, node_kind k)
{
    if (++p->nodes > ZT_SCIM_FILTER_MAX_NODES) {
        perr(p, "filter has too many terms");
        return NULL;
    }
    zt_scim_filter *f = calloc(1, sizeof(*f));
    if (f == NULL)
        perr(p, "out of memory");
    else
        f->kind = k;
    return f;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
        p->i++;
}

static bool path_char(char c)
{
    return isalnum((unsigned char)c) || c == ':' || c == '.' || c == '_' || c == '-' || c == '$';
}

/* Length of the word at p->i (attribute path characters). */
static size_t word_len(const parser *p)
{
    size_t k = p->i;
    while (k < p->n && path_char(p->s[k]))
        k++;
    return k - p->i;
}

/* The word at p->i equals kw (case-insensitive) and is followed by a delimiter. */
static bool at_keyword(const parser *p, const char *kw)
{
    size_t len = strlen(kw);
    return word_len(p) == len && strncasecmp(p->s + p->i, kw, len) == 0;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '$'))
        return false;
    for (size_t k = 1; k < n; k++)
        if (!(isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '-'))
            return false;
    return true;
}

static bool is_core_uri(const char *s, size_t n)
{
    return (n == strlen(ZT_SCIM_SCHEMA_USER) && strncasecmp(s, ZT_SCIM_SCHEMA_USER, n) == 0) ||
           (n == strlen(ZT_SCIM_SCHEMA_GROUP) && strncasecmp(s, ZT_SCIM_SCHEMA_GROUP, n) == 0);
}

/* Split "[URI:]attr[.sub]" of length n into f's uri/attr/sub. A URI runs to the last ':'. */
static int split_path(parser *p, const char *s, size_t n, char **uri, char **attr, char **sub)
{
    const char *colon = NULL;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ':')
            colon = s + k;
    const char *name = s;
    if (colon != NULL) {
        size_t ulen = (size_t)(colon - s);
        if (strncasecmp(s, "urn:", 4) != 0 || ulen < 5)
            return perr(p, "attribute path has a malformed schema URI");
        if (!is_core_uri(s, ulen) && (*uri = strndup(s, ulen)) == NULL)
            return perr(p, "out of memory");
        name = colon + 1;
    }
    size_t rest = n - (size_t)(name - s);
    const char *dot = memchr(name, '.', rest);
    size_t alen = dot ? (size_t)(dot - name) : rest;
    if (!valid_name(name, alen))
        return perr(p, "invalid attribute name");
    if (dot != NULL && !valid_name(dot + 1, rest - alen - 1))
        return perr(p, "invalid sub-attribute name");
    *attr = strndup(name, alen);
    if (dot != NULL)
        *sub = strndup(dot + 1, rest - alen - 1);
    if (*attr == NULL || (dot != NULL && *sub == NULL))
        return perr(p, "out of memory");
    return 0;
}

static int parse_or(parser *p, bool in_vp, zt_scim_filter **out);

/* A JSON string literal starting at p->i ('"'), decoded by jansson. */
static int parse_string(parser *p, json_t **out)
{
    size_t k = p->i + 1;
    while (k < p->n && p->s[k] != '"') {
        if (p->s[k] == '\\')
            k++;
        k++;
    }
    if (k >= p->n)
        return perr(p, "unterminated string");
    json_error_t je;
    *out = json_loadb(p->s + p->i, k + 1 - p->i, JSON_DECODE_ANY, &je);
    if (*out == NULL || !json_is_string(*out)) {
        json_decref(*out);
        *out = NULL;
        return perr(p, "invalid string literal");
    }
    p->i = k + 1;
    return 0;
}

/* compValue: a string, true/false/null, a number, or (tolerated) a bare word as a string. */
static int parse_value(parser *p, json_t **out)
{
    if (p->i < p->n && p->s[p->i] == '"')
        return parse_string(p, out);
    size_t k = p->i;
    while (k < p->n && p->s[k] != ' ' && p->s[k] != '\t' && p->s[k] != ')' && p->s[k] != ']')
        k++;
    size_t len = k - p->i;
    if (len == 0)
        return perr(p, "expected a value");
    const char *w = p->s + p->i;
    if (len == 4 && strncasecmp(w, "true", 4) == 0)
        *out = json_true();
    else if (len == 5 && strncasecmp(w, "false", 5) == 0)
        *out = json_false();
    else if (len == 4 && strncasecmp(w, "null", 4) == 0)
        *out = json_null();
    else {
        char num[64];
        char *end = NULL;
        double d = 0;
        if (len < sizeof(num) && (isdigit((unsigned char)w[0]) || w[0] == '-')) {
            memcpy(num, w, len);
            num[len] = '\0';
            d = strtod(num, &end);
        }
        /* An integer only when written as one and within json_int_t: casting a double out of
         * range (3.e50) is undefined behaviour. */
        bool integral = end != NULL && *end == '\0' && memchr(w, '.', len) == NULL &&
                        memchr(w, 'e', len) == NULL && memchr(w, 'E', len) == NULL &&
                        d >= -9223372036854775808.0 && d < 9223372036854775808.0;
        if (end != NULL && *end == '\0' && isfinite(d))
            *out =
                integral && d == (double)(json_int_t)d ? json_integer((json_int_t)d) : json_real(d);
        else
            *out = json_stringn(w, len);
    }
    if (*out == NULL)
        return perr(p, "invalid value");
    p->i = k;
    return 0;
}

static int parse_op(parser *p, bool *is_pr, cmp_op *op)
{
    if (at_keyword(p, "pr")) {
        *is_pr = true;
        p->i += 2;
        return 0;
    }
    for (size_t k = 0; k < sizeof(op_names) / sizeof(op_names[0]); k++)
        if (at_keyword(p, op_names[k])) {
            *is_pr = false;
            *op = (cmp_op)k;
            p->i += 2;
            return 0;
        }
    return perr(p, "expected an operator (eq ne co sw ew gt ge lt le pr)");
}

/* attrPath SP ("pr" / compareOp SP compValue), the path already split into f. */
static int parse_attr_exp(parser *p, zt_scim_filter *f)
{
    size_t before = p->i;
    skip_ws(p);
    if (p->i == before)
        return perr(p, "expected a space after the attribute");
    bool is_pr = false;
    if (parse_op(p, &is_pr, &f->op) < 0)
        return -EINVAL;
    if (is_pr) {
        f->kind = N_PR;
        return 0;
    }
    f->kind = N_CMP;
    before = p->i;
    skip_ws(p);
    if (p->i == before)
        return perr(p, "expected a space after the operator");
    return parse_value(p, &f->value);
}

/* attrPath "[" valFilter "]" ["." subAttr SP op value]: elements of a multi-valued attribute. */
static int parse_value_path(parser *p, zt_scim_filter *f)
{
    p->i++; /* '[' */
    f->kind = N_VALUEPATH;
    if (f->sub != NULL)
        return perr(p, "a value filter cannot follow a sub-attribute");
    if (parse_or(p, true, &f->l) < 0)
        return -EINVAL;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ']')
        return perr(p, "expected ']'");
    p->i++;
    if (p->i >= p->n || p->s[p->i] != '.')
        return 0;
    /* emails[type eq "work"].value eq "x": the element must also match `value eq "x"`. */
    p->i++;
    size_t len = word_len(p);
    zt_scim_filter *cmp = node_new(p, N_CMP);
    zt_scim_filter *both = node_new(p, N_AND);
    if (cmp == NULL || both == NULL) {
        free(cmp);
        free(both);
        return -EINVAL;
    }
    both->l = f->l;
    both->r = cmp;
    f->l = both;
    if (!valid_name(p->s + p->i, len))
        return perr(p, "invalid sub-attribute name");
    if ((cmp->attr = strndup(p->s + p->i, len)) == NULL)
        return perr(p, "out of memory");
    p->i += len;
    return parse_attr_exp(p, cmp);
}

static int parse_unary(parser *p, bool in_vp, zt_scim_filter **out)
{
    if (++p->depth > ZT_SCIM_FILTER_MAX_DEPTH)
        return perr(p, "filter nests too deeply");
    skip_ws(p);
    int rc;
    if (p->i < p->n && p->s[p->i] == '(') {
        p->i++;
        if ((rc = parse_or(p, in_vp, out)) < 0)
            return rc;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')')
            return perr(p, "expected ')'");
        p->i++;
        p->depth--;
        return 0;
    }
    if (at_keyword(p, "not")) {
        p->i += 3;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != '(')
            return perr(p, "expected '(' after not");
        zt_scim_filter *f = node_new(p, N_NOT);
        if ((*out = f) == NULL)
            return -EINVAL;
        p->i++;
        if ((rc = parse_or(p, in_vp, &f->l)) < 0)
            return rc;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')')
            return perr(p, "expected ')'");
        p->i++;
        p->depth--;
        return 0;
    }
    size_t len = word_len(p);
    if (len == 0)
        return perr(p, "expected an attribute");
    zt_scim_filter *f = node_new(p, N_CMP);
    if ((*out = f) == NULL)
        return -EINVAL;
    if ((rc = split_path(p, p->s + p->i, len, &f->uri, &f->attr, &f->sub)) < 0)
        return rc;
    p->i += len;
    if (p->i < p->n && p->s[p->i] == '[') {
        if (in_vp)
            return perr(p, "value filters do not nest");
        rc = parse_value_path(p, f);
    } else {
        rc = parse_attr_exp(p, f);
    }
    p->depth--;
    return rc;
}

static int parse_chain(parser *p, bool in_vp, zt_scim_filter **out, bool is_or)
{
    int rc = is_or ? parse_chain(p, in_vp, out, false) : parse_unary(p, in_vp, out);
    if (rc < 0)
        return rc;
    const char *kw = is_or ? "or" : "and";
    for (;;) {
        size_t save = p->i;
        skip_ws(p);
        if (p->i == save || !at_keyword(p, kw)) {
            p->i = save;
            return 0;
        }
        p->i += strlen(kw);
        zt_scim_filter *f = node_new(p, is_or ? N_OR : N_AND);
        if (f == NULL)
            return -EINVAL;
        f->l = *out;
        *out = f;
        rc = is_or ? parse_chain(p, in_vp, &f->r, false) : parse_unary(p, in_vp, &f->r);
        if (rc < 0)
            return rc;
    }
}

static int parse_or(parser *p, bool in_vp, zt_scim_filter **out)
{
    return parse_chain(p, in_vp, out, true);
}

int zt_scim_filter_parse(const char *s, size_t n, zt_scim_filter **out, zt_scim_error *err)
{
    *out = NULL;
    parser p = {.s = s, .n = n, .err = err, .scim_type = "invalidFilter"};
    if (n > ZT_SCIM_FILTER_MAX_LEN)
        return perr(&p, "filter is too long");
    if (memchr(s, '\0', n) != NULL)
        return perr(&p, "filter holds a NUL byte");
    int rc = parse_or(&p, false, out);
    if (rc == 0) {
        skip_ws(&p);
        if (p.i != n)
            rc = perr(&p, "unexpected text after the filter");
    }
    if (rc < 0) {
        zt_scim_filter_free(*out);
        *out = NULL;
    }
    return rc;
}

void zt_scim_path_dispose(zt_scim_path *path)
{
    if (path == NULL)
        return;
    free(path->uri);
    free(path->attr);
    free(path->sub);
    zt_scim_filter_free(path->filter);
    memset(path, 0, sizeof(*path));
}

int zt_scim_path_parse(const char *s, size_t n, zt_scim_path *out, zt_scim_error *err)
{
    memset(out, 0, sizeof(*out));
    parser p = {.s = s, .n = n, .err = err, .scim_type = "invalidPath"};
    if (n > ZT_SCIM_FILTER_MAX_LEN)
        return perr(&p, "path is too long");
    if (memchr(s, '\0', n) != NULL)
        return perr(&p, "path holds a NUL byte");
    size_t len = word_len(&p);
    int rc = split_path(&p, s, len, &out->uri, &out->attr, &out->sub);
    p.i = len;
    if (rc == 0 && p.i < n && s[p.i] == '[') {
        if (out->sub != NULL) {
            rc = perr(&p, "a value filter cannot follow a sub-attribute");
        } else {
            p.i++;
            p.scim_type = "invalidFilter";
            rc = parse_or(&p, true, &out->filter);
            p.scim_type = "invalidPath";
            skip_ws(&p);
            if (rc == 0 && (p.i >= n || s[p.i] != ']'))
                rc = perr(&p, "expected ']'");
            else if (rc == 0)
                p.i++;
            if (rc == 0 && p.i < n && s[p.i] == '.') {
                p.i++;
                size_t sl = word_len(&p);
                if (!valid_name(s + p.i, sl))
                    rc = perr(&p, "invalid sub-attribute name");
                else if ((out->sub = strndup(s + p.i, sl)) == NULL)
                    rc = perr(&p, "out of memory");
                p.i += sl;
            }
        }
    }
    if (rc == 0 && p.i != n)
        rc = perr(&p, "unexpected text in the path");
    if (rc < 0)
        zt_scim_path_dispose(out);
    return rc;
}

/* ---- evaluation ---- */

static bool case_exact(const char *attr)
{
    return strcasecmp(attr, "id") == 0 || strcasecmp(attr, "externalId") == 0 ||
           strcasecmp(attr, "$ref") == 0;
}

static bool ends_with(const char *s, size_t n, const char *t, size_t m, bool exact)
{
    return m <= n && (exact ? memcmp(s + n - m, t, m) == 0 : strncasecmp(s + n - m, t, m) == 0);
}

static bool contains(const char *s, size_t n, const char *t, size_t m, bool exact)
{
    for (size_t k = 0; k + m <= n; k++)
        if (exact ? memcmp(s + k, t, m) == 0 : strncasecmp(s + k, t, m) == 0)
            return true;
    return false;
}

static bool cmp_strings(cmp_op op, const char *a, size_t an, const char *b, size_t bn, bool exact)
{
    size_t m = an < bn ? an : bn;
    int c = exact ? memcmp(a, b, m) : strncasecmp(a, b, m);
    if (c == 0)
        c = an < bn ? -1 : an > bn;
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_CO:
        return contains(a, an, b, bn, exact);
    case OP_SW:
        return an >= bn && (exact ? memcmp(a, b, bn) == 0 : strncasecmp(a, b, bn) == 0);
    case OP_EW:
        return ends_with(a, an, b, bn, exact);
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    }
    return false;
}

static bool cmp_numbers(cmp_op op, double a, double b)
{
    switch (op) {
    case OP_EQ:
        return a == b;
    case OP_NE:
        return a != b;
    case OP_GT:
        return a > b;
    case OP_GE:
        return a >= b;
    case OP_LT:
        return a < b;
    case OP_LE:
        return a <= b;
    default:
        return false;
    }
}

/* Booleans as Entra sometimes stores them: "True"/"False" strings count. */
static int bool_of(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0)
        return 1;
    if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0)
        return 0;
    return -1;
}

static bool cmp_one(cmp_op op, const json_t *actual, const json_t *lit, bool exact)
{
    if (json_is_null(lit))
        return op == OP_EQ ? json_is_null(actual) : op == OP_NE ? !json_is_null(actual) : false;
    if (json_is_string(lit) && json_is_string(actual))
        return cmp_strings(op, json_string_value(actual), json_string_length(actual),
                           json_string_value(lit), json_string_length(lit), exact);
    if (json_is_boolean(lit)) {
        int b = bool_of(actual);
        if (b < 0)
            return false;
        return op == OP_EQ ? b == json_is_true(lit) : op == OP_NE ? b != json_is_true(lit) : false;
    }
    if (json_is_number(lit) && json_is_number(actual))
        return cmp_numbers(op, json_number_value(actual), json_number_value(lit));
    return op == OP_NE;
}

/* The object an attribute path starts from: the resource, or its extension object. */
static const json_t *base_of(const json_t *obj, const char *uri)
{
    return uri == NULL ? obj : zt_scim_get(obj, uri, NULL);
}

static bool present(const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

/* One value (or a multi-valued attribute's element) against the comparison or pr. */
static bool test_one(const zt_scim_filter *f, const json_t *e, bool exact)
{
    if (f->kind == N_PR)
        return present(e);
    return cmp_one(f->op, e != NULL ? e : json_null(), f->value, exact);
}

/* attr[.sub] op value, any-of over a multi-valued attribute's elements; a complex element
 * without a sub-attribute named compares by its "value" (§3.4.2.2). */
static bool eval_attr(const zt_scim_filter *f, const json_t *obj)
{
    const json_t *v = zt_scim_get(base_of(obj, f->uri), f->attr, NULL);
    bool exact = case_exact(f->sub != NULL ? f->sub : f->attr);
    if (!json_is_array(v))
        return test_one(f, f->sub != NULL ? zt_scim_get(v, f->sub, NULL) : v, exact);
    if (json_array_size(v) == 0)
        return test_one(f, NULL, exact);
    size_t k;
    json_t *e;
    json_array_foreach(v, k, e)
    {
        const json_t *x = e;
        if (f->sub != NULL)
            x = zt_scim_get(e, f->sub, NULL);
        else if (json_is_object(e))
            x = zt_scim_get(e, "value", NULL);
        if (test_one(f, x, exact))
            return true;
    }
    return false;
}

bool zt_scim_filter_match(const zt_scim_filter *f, const json_t *obj)
{
    if (f == NULL || !json_is_object(obj))
        return false;
    switch (f->kind) {
    case N_AND:
        return zt_scim_filter_match(f->l, obj) && zt_scim_filter_match(f->r, obj);
    case N_OR:
        return zt_scim_filter_match(f->l, obj) || zt_scim_filter_match(f->r, obj);
    case N_NOT:
        return !zt_scim_filter_match(f->l, obj);
    case N_CMP:
    case N_PR:
        return eval_attr(f, obj);
    case N_VALUEPATH: {
        const json_t *v = zt_scim_get(base_of(obj, f->uri), f->attr, NULL);
        if (json_is_object(v))
            return zt_scim_filter_match(f->l, v);
        size_t k;
        json_t *e;
        json_array_foreach(v, k, e) if (zt_scim_filter_match(f->l, e)) return true;
        return false;
    }
    }
    return false;
}

const char *zt_scim_filter_eq_string(const zt_scim_filter *f, const char *attr)
{
    if (f == NULL || f->kind != N_CMP || f->op != OP_EQ || f->uri != NULL || f->sub != NULL ||
        !json_is_string(f->value) || strcasecmp(f->attr, attr) != 0)
        return NULL;
    return json_string_value(f->value);
}

int zt_scim_filter_seed(const zt_scim_filter *f, json_t *obj)
{
    if (f == NULL)
        return -EINVAL;
    if (f->kind == N_AND)
        return zt_scim_filter_seed(f->l, obj) == 0 ? zt_scim_filter_seed(f->r, obj) : -EINVAL;
    if (f->kind != N_CMP || f->op != OP_EQ || f->uri != NULL || f->sub != NULL)
        return -EINVAL;
    return zt_scim_set(obj, f->attr, json_deep_copy(f->value));
}

/* ---- JSON helpers shared by the module ---- */

json_t *zt_scim_get(const json_t *obj, const char *key, const char **key_out)
{
    if (!json_is_object(obj) || key == NULL)
        return NULL;
    json_t *v = json_object_get(obj, key);
    if (v != NULL) {
        if (key_out != NULL)
            *key_out = json_object_iter_key(json_object_iter_at((json_t *)obj, key));
        return v;
    }
    const char *k;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strcasecmp(k, key) == 0) {
            if (key_out != NULL)
                *key_out = k;
            return v;
        }
    }
    return NULL;
}

bool zt_scim_del(json_t *obj, const char *key)
{
    bool any = false;
    const char *k;
    while (zt_scim_get(obj, key, &k) != NULL) {
        char *copy = strdup(k);
        if (copy == NULL || json_object_del(obj, copy) != 0) {
            free(copy);
            break;
        }
        free(copy);
        any = true;
    }
    return any;
}

int zt_scim_set(json_t *obj, const char *key, json_t *value)
{
    zt_scim_del(obj, key);
    return json_object_set_new(obj, key, value) == 0 ? 0 : -ENOMEM;
}

int zt_scim_json_depth(const json_t *v, int limit)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (limit < 0)
        return 1;
    int deepest = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            int d = zt_scim_json_depth(e, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            int d = zt_scim_json_depth(e, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    }
    return deepest + 1;
}

int zt_scim_fail(zt_scim_error *err, int status, const char *scim_type, const char *fmt, ...)
{
    err->status = status;
    err->scim_type = scim_type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

json_t *zt_scim_error_json(const zt_scim_error *err)
{
    char status[8];
    snprintf(status, sizeof(status), "%d", err->status);
    json_t *j = json_pack("{s:[s], s:s, s:s}", "schemas", ZT_SCIM_MSG_ERROR, "status", status,
                          "detail", err->detail);
    if (j != NULL && err->scim_type != NULL)
        json_object_set_new(j, "scimType", json_string(err->scim_type));
    return j;
}
