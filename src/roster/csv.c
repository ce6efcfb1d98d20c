/* RFC 4180 reader and the encodings around it (csv.h). */
#include "roster/csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "lib/buf.h"
#include "lib/str.h"

static const char bom[] = "\xEF\xBB\xBF";

void zt_csv_error_text(const zt_csv_error *e, char *out, size_t cap)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    if (e->row > 0)
        zt_buf_printf(&b, "row %zu", e->row);
    if (e->line > 0 && e->line != e->row)
        zt_buf_printf(&b, "%sline %zu%s", e->row > 0 ? " (" : "", e->line, e->row > 0 ? ")" : "");
    if (e->column > 0)
        zt_buf_printf(&b, "%scolumn %zu", b.len > 0 ? ", " : "", e->column);
    zt_buf_printf(&b, "%s%s", b.len > 0 ? ": " : "", e->msg);
    snprintf(out, cap, "%s", b.data != NULL ? b.data : e->msg);
    zt_buf_dispose(&b);
}

int zt_csv_fail(zt_csv_error *err, size_t row, size_t line, size_t column, const char *fmt, ...)
{
    if (err != NULL) {
        err->row = row;
        err->line = line;
        err->column = column;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* ---- parser ---- */

typedef struct parser {
    const char *p, *end;
    size_t line;     /* current physical line */
    zt_buf field;    /* the field being read */
    zt_csv_row cur;  /* the record being read */
    size_t cur_cap;  /* fields allocated in cur */
    size_t expected; /* fields per record (the first record's count) */
    zt_csv *out;
    zt_csv_error *err;
} parser;

static size_t row_no(const parser *ps)
{
    return ps->out->n_rows + 1;
}

static int end_field(parser *ps)
{
    if (ps->cur.n == ZT_CSV_FIELDS_MAX)
        return zt_csv_fail(ps->err, row_no(ps), ps->cur.line, ps->cur.n + 1,
                           "more than %d fields in one record", ZT_CSV_FIELDS_MAX);
    if (ps->cur.n == ps->cur_cap &&
        zt_array_grow(&ps->cur.fields, &ps->cur_cap, sizeof(char *), 8) != 0)
        return -ENOMEM;
    char *s = malloc(ps->field.len + 1);
    if (s == NULL)
        return -ENOMEM;
    if (ps->field.len > 0)
        memcpy(s, ps->field.data, ps->field.len);
    s[ps->field.len] = '\0';
    ps->cur.fields[ps->cur.n++] = s;
    zt_buf_reset(&ps->field);
    return 0;
}

static void row_free(zt_csv_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->fields[i]);
    free(r->fields);
    memset(r, 0, sizeof(*r));
}

static int end_record(parser *ps)
{
    int rc = end_field(ps);
    if (rc != 0)
        return rc;
    if (ps->out->n_rows == 0)
        ps->expected = ps->cur.n;
    else if (ps->cur.n != ps->expected)
        return zt_csv_fail(ps->err, row_no(ps), ps->cur.line, 0,
                           "%zu fields, but the first row has %zu (a comma or quote out of place?)",
                           ps->cur.n, ps->expected);
    if (ps->out->n_rows == ZT_CSV_ROWS_MAX)
        return zt_csv_fail(ps->err, row_no(ps), ps->cur.line, 0, "more than %d rows",
                           ZT_CSV_ROWS_MAX);
    if (ps->out->n_rows == ps->out->cap &&
        zt_array_grow(&ps->out->rows, &ps->out->cap, sizeof(zt_csv_row), 64) != 0)
        return -ENOMEM;
    ps->out->rows[ps->out->n_rows++] = ps->cur;
    memset(&ps->cur, 0, sizeof(ps->cur));
    ps->cur_cap = 0;
    return 0;
}

static int add_byte(parser *ps, char c)
{
    int rc = zt_buf_append_char(&ps->field, c);
    if (rc == -E2BIG)
        return zt_csv_fail(ps->err, row_no(ps), ps->cur.line, ps->cur.n + 1,
                           "field longer than %d bytes", ZT_CSV_FIELD_MAX);
    return rc;
}

/* At a line end (CR LF or LF) at ps->p: step over it. False when p is a lone CR. */
static bool line_end(parser *ps)
{
    if (*ps->p == '\n') {
        ps->p++;
    } else if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n') {
        ps->p += 2;
    } else {
        return false;
    }
    ps->line++;
    return true;
}

/* A quoted field, ps->p just after its opening quote; ends after the closing quote. */
static int quoted(parser *ps)
{
    size_t open_line = ps->line, column = ps->cur.n + 1;
    for (;;) {
        if (ps->p == ps->end)
            return zt_csv_fail(ps->err, row_no(ps), open_line, column,
                               "quoted field not closed (opened on line %zu)", open_line);
        char c = *ps->p++;
        if (c == '\0')
            return zt_csv_fail(ps->err, row_no(ps), ps->line, column, "NUL byte in the file");
        if (c == '"') {
            if (ps->p < ps->end && *ps->p == '"') {
                ps->p++;
            } else {
                return 0;
            }
        } else if (c == '\n') {
            ps->line++;
        }
        int rc = add_byte(ps, c);
        if (rc != 0)
            return rc;
    }
}

/* After a closing quote: a comma, a line end or the end of the text must follow. */
static int after_quote(parser *ps, bool *record_done)
{
    *record_done = false;
    if (ps->p == ps->end) {
        *record_done = true;
        return 0;
    }
    if (*ps->p == ',') {
        ps->p++;
        return end_field(ps);
    }
    size_t line = ps->line;
    if (line_end(ps)) {
        *record_done = true;
        return 0;
    }
    return zt_csv_fail(
        ps->err, row_no(ps), line, ps->cur.n + 1,
        "'%c' after a closing quote (a quote inside a quoted field must be doubled: \"\")",
        *ps->p >= 0x20 && *ps->p < 0x7f ? *ps->p : '?');
}

/* One record starting at ps->p (not at an empty line). */
static int record(parser *ps)
{
    ps->cur.line = ps->line;
    bool at_field_start = true;
    for (;;) {
        if (ps->p == ps->end)
            return end_record(ps);
        char c = *ps->p;
        if (c == '"' && at_field_start) {
            ps->p++;
            bool done;
            int rc = quoted(ps);
            if (rc == 0)
                rc = after_quote(ps, &done);
            if (rc != 0)
                return rc;
            if (done)
                return end_record(ps);
            continue; /* next field, start of it */
        }
        at_field_start = false;
        if (c == ',') {
            ps->p++;
            int rc = end_field(ps);
            if (rc != 0)
                return rc;
            at_field_start = true;
            continue;
        }
        if (c == '\n' || c == '\r') {
            size_t line = ps->line;
            if (!line_end(ps))
                return zt_csv_fail(ps->err, row_no(ps), line, ps->cur.n + 1,
                                   "carriage return without a line feed");
            return end_record(ps);
        }
        if (c == '"')
            return zt_csv_fail(
                ps->err, row_no(ps), ps->line, ps->cur.n + 1,
                "quote inside an unquoted field (quote the whole field and double the "
                "quote: \"a\"\"b\")");
        if (c == '\0')
            return zt_csv_fail(ps->err, row_no(ps), ps->line, ps->cur.n + 1,
                               "NUL byte in the file");
        ps->p++;
        int rc = add_byte(ps, c);
        if (rc != 0)
            return rc;
    }
}

int zt_csv_parse(const char *text, size_t len, zt_csv *out, zt_csv_error *err)
{
    memset(out, 0, sizeof(*out));
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (len > ZT_CSV_INPUT_MAX)
        return zt_csv_fail(err, 0, 0, 0, "file larger than %u bytes", ZT_CSV_INPUT_MAX);
    parser ps = {.p = text, .end = text + len, .line = 1, .out = out, .err = err};
    zt_buf_init(&ps.field, ZT_CSV_FIELD_MAX);
    int rc = 0;
    while (rc == 0 && ps.p < ps.end) {
        if (*ps.p == '\n' || (*ps.p == '\r' && ps.p + 1 < ps.end && ps.p[1] == '\n')) {
            line_end(&ps); /* an empty line is no record */
            continue;
        }
        rc = record(&ps);
    }
    zt_buf_dispose(&ps.field);
    row_free(&ps.cur);
    if (rc != 0)
        zt_csv_dispose(out);
    return rc;
}

void zt_csv_dispose(zt_csv *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_rows; i++)
        row_free(&c->rows[i]);
    free(c->rows);
    memset(c, 0, sizeof(*c));
}

/* ---- encodings ---- */

bool zt_csv_encoding_parse(const char *s, zt_csv_encoding *out)
{
    static const struct {
        const char *name;
        zt_csv_encoding enc;
    } names[] = {{"utf-8", ZT_CSV_UTF8},       {"utf8", ZT_CSV_UTF8},       {"cp932", ZT_CSV_CP932},
                 {"shift_jis", ZT_CSV_CP932},  {"shift-jis", ZT_CSV_CP932}, {"sjis", ZT_CSV_CP932},
                 {"windows-31j", ZT_CSV_CP932}};
    if (s == NULL)
        return false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].enc;
            return true;
        }
    return false;
}

/* What one line's bytes are: plain ASCII fits both encodings. */
typedef enum { LINE_ASCII, LINE_UTF8, LINE_OTHER } line_kind;

static line_kind classify(const uint8_t *p, size_t n)
{
    bool ascii = true;
    for (size_t i = 0; i < n && ascii; i++)
        ascii = p[i] < 0x80;
    if (ascii)
        return LINE_ASCII;
    return u8_check(p, n) == NULL ? LINE_UTF8 : LINE_OTHER;
}

/* The first line of each kind, and a NUL byte's line (0 = none). */
typedef struct survey {
    size_t first_utf8, first_other, nul_line;
} survey;

static void survey_lines(const char *in, size_t len, survey *s)
{
    memset(s, 0, sizeof(*s));
    size_t line = 1, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && in[i] == '\0' && s->nul_line == 0)
            s->nul_line = line;
        if (i < len && in[i] != '\n')
            continue;
        line_kind k = classify((const uint8_t *)in + start, i - start);
        if (k == LINE_UTF8 && s->first_utf8 == 0)
            s->first_utf8 = line;
        if (k == LINE_OTHER && s->first_other == 0)
            s->first_other = line;
        line++;
        start = i + 1;
    }
}

static size_t line_of(const char *in, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        line += in[i] == '\n';
    return line;
}

/* iconv from `from` to `to`, all or nothing; -EILSEQ/-EINVAL with *bad_at the input offset. */
static int convert(const char *to, const char *from, const char *in, size_t len, char **out,
                   size_t *out_len, size_t *bad_at)
{
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return -errno;
    size_t cap = len * 3 / 2 + 16, used = 0;
    char *buf = malloc(cap + 1);
    char *ip = (char *)in;
    size_t ileft = len;
    int rc = buf == NULL ? -ENOMEM : 0;
    while (rc == 0 && ileft > 0) {
        char *op = buf + used;
        size_t oleft = cap - used;
        size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
        used = (size_t)(op - buf);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG) {
            char *nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, cap * 2 + 1);
            if (nb == NULL)
                rc = -ENOMEM;
            else {
                buf = nb;
                cap *= 2;
            }
        } else {
            rc = errno == EINVAL ? -EINVAL : -EILSEQ;
            *bad_at = (size_t)(ip - in);
        }
    }
    iconv_close(cd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    return 0;
}

static int decode_utf8(const char *in, size_t len, const survey *s, char **out, size_t *out_len,
                       zt_csv_error *err)
{
    if (s->first_other != 0 && s->first_utf8 != 0)
        return zt_csv_fail(
            err, 0, s->first_other, 0,
            "not UTF-8, but line %zu is: mixed encodings in one file (save it again in "
            "one encoding)",
            s->first_utf8);
    if (s->first_other != 0)
        return zt_csv_fail(err, 0, s->first_other, 0,
                           "not valid UTF-8 (a file from Excel in Japanese is usually CP932: use "
                           "--encoding cp932)");
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, in, len);
    copy[len] = '\0';
    *out = copy;
    *out_len = len;
    return 0;
}

static int decode_cp932(const char *in, size_t len, const survey *s, char **out, size_t *out_len,
                        zt_csv_error *err)
{
    if (s->first_utf8 != 0 && s->first_other != 0)
        return zt_csv_fail(
            err, 0, s->first_utf8, 0,
            "UTF-8, but line %zu is not: mixed encodings in one file (save it again in "
            "one encoding)",
            s->first_other);
    if (s->first_utf8 != 0)
        return zt_csv_fail(err, 0, s->first_utf8, 0,
                           "the file is UTF-8, not CP932 (leave out --encoding cp932)");
    size_t bad_at = 0;
    int rc = convert("UTF-8", "CP932", in, len, out, out_len, &bad_at);
    if (rc == -EILSEQ || rc == -EINVAL)
        return zt_csv_fail(err, 0, line_of(in, bad_at), 0,
                           "byte 0x%02X (file offset %zu) is not CP932 text",
                           (unsigned char)in[bad_at], bad_at);
    return rc;
}

int zt_csv_decode(const char *in, size_t len, zt_csv_encoding enc, char **out, size_t *out_len,
                  zt_csv_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    *out = NULL;
    *out_len = 0;
    if (len > ZT_CSV_INPUT_MAX) {
        zt_csv_fail(err, 0, 0, 0, "file larger than %u bytes", ZT_CSV_INPUT_MAX);
        return -E2BIG;
    }
    bool had_bom = len >= 3 && memcmp(in, bom, 3) == 0;
    if (had_bom) {
        in += 3;
        len -= 3;
    }
    survey s;
    survey_lines(in, len, &s);
    if (s.nul_line != 0)
        return zt_csv_fail(err, 0, s.nul_line, 0,
                           "NUL byte in the file (UTF-16? save it as UTF-8 or CP932 CSV)");
    if (enc == ZT_CSV_CP932 && had_bom)
        return zt_csv_fail(err, 0, 1, 0,
                           "the file starts with a UTF-8 BOM, so it is UTF-8, not CP932 "
                           "(leave out --encoding cp932)");
    return enc == ZT_CSV_CP932 ? decode_cp932(in, len, &s, out, out_len, err)
                               : decode_utf8(in, len, &s, out, out_len, err);
}

int zt_csv_encode(const char *utf8, size_t len, zt_csv_encoding enc, bool with_bom, char **out,
                  size_t *out_len, size_t *bad_at)
{
    *bad_at = 0;
    if (enc == ZT_CSV_CP932)
        return convert("CP932", "UTF-8", utf8, len, out, out_len, bad_at);
    size_t pre = with_bom ? 3 : 0;
    char *b = malloc(pre + len + 1);
    if (b == NULL)
        return -ENOMEM;
    memcpy(b, bom, pre);
    memcpy(b + pre, utf8, len);
    b[pre + len] = '\0';
    *out = b;
    *out_len = pre + len;
    return 0;
}
