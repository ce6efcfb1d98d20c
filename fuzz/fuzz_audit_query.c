/* Arbitrary bytes as audit log lines for the query engine: the field scanner, every field's
 * decoding, the filters (their values cut from the input) and the rollup must answer, never
 * crash or read past a line. The scanner's verdict is checked against jansson's: a line jansson
 * reads as an object is one the scanner accepts. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/query.h"

/* A NUL-terminated copy of up to 24 bytes of the input, as a filter value. */
static char *cut(const uint8_t *data, size_t size, size_t at)
{
    size_t n = size > at ? size - at : 0;
    n = n > 24 ? 24 : n;
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, data + (size > at ? at : 0), n);
    s[n] = '\0';
    return s;
}

static void one_line(const char *line, size_t n, const zt_aq_filter *f)
{
    zt_aq_fields x;
    char buf[256];
    bool ok = zt_aq_scan_line(line, n, &x);
    for (int i = 0; ok && i < ZT_AQF_COUNT; i++) {
        zt_aq_span_str(&x.f[i], buf, sizeof(buf));
        (void)zt_aq_span_int(&x.f[i], 0);
        if (x.f[i].p != NULL && (x.f[i].p < line || x.f[i].p + x.f[i].n > line + n))
            abort(); /* a span outside its line */
    }
    (void)zt_aq_match(f, line, n, NULL);
    size_t open = 0; /* the scanner stops at ZT_AQ_MAX_DEPTH; jansson goes deeper */
    for (size_t i = 0; i < n; i++)
        open += line[i] == '{' || line[i] == '[';
    json_error_t err;
    /* jansson takes a NUL byte for the end of its input; JSON has no raw NUL */
    bool nul = memchr(line, '\0', n) != NULL;
    json_t *j = open < ZT_AQ_MAX_DEPTH && !nul ? json_loadb(line, n, JSON_DECODE_ANY, &err) : NULL;
    if (json_is_object(j) && !ok)
        abort(); /* the scanner refused an object jansson reads */
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_aq_filter f;
    zt_aq_filter_init(&f);
    char *a = cut(data, size, 0), *b = cut(data, size, 8);
    const char *allowed[1] = {b};
    unsigned sel = size > 0 ? data[0] : 0;
    f.user = sel & 1 ? a : NULL;
    f.ref = sel & 2 ? b : NULL;
    f.text = sel & 4 ? a : NULL;
    f.policy = sel & 8 ? b : NULL;
    f.decision = sel & 16 ? "report_only_block" : NULL;
    f.allowed_users = sel & 32 ? allowed : NULL;
    f.n_allowed = 1;
    f.class_uid = sel & 64 ? 4002 : 0;
    f.since_us = sel & 128 ? 0 : INT64_MIN;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one_line(p, n, &f);
        p += n + 1;
    }
    zt_aq_rollup *r = zt_aq_rollup_new(NULL, sel & 32 ? &f : NULL);
    if (r != NULL) {
        zt_aq_rollup_feed(r, (const char *)data, size);
        zt_aq_stats st;
        zt_aq_stats_req req = {
            .since_us = 0, .until_us = 4102444800LL * 1000000, .bucket_s = 86400 * 30};
        if (zt_aq_rollup_stats(r, &req, &st) == 0)
            zt_aq_stats_dispose(&st);
        zt_aq_rollup_free(r);
    }
    free(a);
    free(b);
    return 0;
}
