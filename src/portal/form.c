/* application/x-www-form-urlencoded: strict, bounded, never truncating. A field over its limit,
 * a repeated name or a malformed escape is an error for the whole form, because a lenient
 * parser lets two components read different values from the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"
#include "lib/str.h"
#include "portal/portal.h"

/* Decode s[0..n) into out (NUL-terminated); returns the decoded length or a zt_form_err. */
static long decode(const char *s, size_t n, char *out, size_t max)
{
    long r = zt_urlform_decode(s, n, out, max);
    if (r == ZT_URLFORM_BAD)
        return ZT_FORM_E_SYNTAX;
    return r == ZT_URLFORM_LONG ? ZT_FORM_E_TOO_LONG : r;
}

static zt_form_err parse_pairs(zt_form *form, const char *s, size_t len, size_t max)
{
    size_t used = 0, i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && s[i] != '&')
            i++;
        size_t end = i++;
        if (end == start)
            continue; /* "a=1&&b=2" */
        const char *eq = memchr(s + start, '=', end - start);
        size_t name_n = eq != NULL ? (size_t)(eq - (s + start)) : end - start;
        const char *val = eq != NULL ? eq + 1 : s + end;
        size_t val_n = (size_t)(s + end - val);
        if (form->n >= max)
            return ZT_FORM_E_TOO_MANY;
        char *name_out = form->mem + used;
        long nn = decode(s + start, name_n, name_out, ZT_FORM_NAME_MAX);
        if (nn < 0)
            return (zt_form_err)nn;
        if (nn == 0)
            return ZT_FORM_E_SYNTAX;
        used += (size_t)nn + 1;
        char *val_out = form->mem + used;
        long vn = decode(val, val_n, val_out, ZT_FORM_VALUE_MAX);
        if (vn < 0)
            return (zt_form_err)vn;
        used += (size_t)vn + 1;
        for (size_t k = 0; k < form->n; k++)
            if (strcmp(form->f[k].name, name_out) == 0)
                return ZT_FORM_E_DUP;
        form->f[form->n++] = (zt_form_field){name_out, val_out, (size_t)vn};
    }
    return ZT_FORM_OK;
}

zt_form_err zt_form_parse(zt_form *form, const char *s, size_t len)
{
    return zt_form_parse_max(form, s, len, ZT_FORM_MAX_FIELDS);
}

zt_form_err zt_form_parse_max(zt_form *form, const char *s, size_t len, size_t max)
{
    memset(form, 0, sizeof(*form));
    if (max > ZT_FORM_FIELDS_CAP)
        max = ZT_FORM_FIELDS_CAP;
    /* Decoded text is never longer than its source; each name and value adds one NUL. */
    form->mem_len = len + 2 * (max + 1) + 1;
    form->mem = malloc(form->mem_len);
    if (form->mem == NULL) {
        form->mem_len = 0;
        return ZT_FORM_E_NOMEM;
    }
    zt_form_err rc = parse_pairs(form, s, len, max);
    if (rc != ZT_FORM_OK) {
        zt_wipe(form->mem, form->mem_len);
        form->n = 0;
    }
    return rc;
}

void zt_form_dispose(zt_form *form)
{
    if (form->mem != NULL) {
        zt_wipe(form->mem, form->mem_len);
        free(form->mem);
    }
    memset(form, 0, sizeof(*form));
}

const char *zt_form_get(const zt_form *form, const char *name, size_t *len)
{
    for (size_t i = 0; i < form->n; i++) {
        if (strcmp(form->f[i].name, name) == 0) {
            if (len != NULL)
                *len = form->f[i].value_len;
            return form->f[i].value;
        }
    }
    return NULL;
}

bool zt_form_content_type_ok(zt_span ct)
{
    static const char want[] = "application/x-www-form-urlencoded";
    zt_span t = zt_span_trim(ct);
    size_t n = 0;
    while (n < t.n && t.p[n] != ';')
        n++;
    zt_span type = zt_span_trim((zt_span){t.p, n});
    return zt_span_ieq_cstr(type, want);
}

int zt_url_encode(zt_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            rc = zt_buf_append_char(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = zt_buf_append(out, e, 3);
        }
    }
    return rc;
}
