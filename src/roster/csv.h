/* CSV as spreadsheets write it (RFC 4180) and the encodings Japanese ones use. Pure functions
 * over a byte buffer: no store, no printing. Errors fill a zt_csv_error that names where the
 * problem is (row = record number counting the header as row 1, the way a spreadsheet numbers
 * its rows; line = the physical line the record starts on, which differs once a quoted field
 * spans lines; column = 1-based field number) so the admin can open the file and find it. */
#ifndef ZT_ROSTER_CSV_H
#define ZT_ROSTER_CSV_H

#include <stdbool.h>
#include <stddef.h>

#define ZT_CSV_INPUT_MAX (256u * 1024 * 1024) /* bytes of one file */
#define ZT_CSV_FIELD_MAX 4096                 /* bytes of one field after unquoting */
#define ZT_CSV_FIELDS_MAX 64                  /* fields of one record */
#define ZT_CSV_ROWS_MAX 1000000               /* records of one file */

typedef struct zt_csv_error {
    size_t row, line, column; /* 0 when not about one place */
    char msg[256];
} zt_csv_error;

/* "row 5 (line 6), column 3: MESSAGE" (parts that are 0 left out) into out. */
void zt_csv_error_text(const zt_csv_error *e, char *out, size_t cap);
/* Fill err (when not NULL) with the place and the message; returns -EINVAL. For the roster
 * folder's readers, so every error about the file is made the same way. */
__attribute__((format(printf, 5, 6))) int zt_csv_fail(zt_csv_error *err, size_t row, size_t line,
                                                      size_t column, const char *fmt, ...);

typedef struct zt_csv_row {
    char **fields; /* n NUL-terminated UTF-8 strings */
    size_t n;
    size_t line; /* where the record starts */
} zt_csv_row;

typedef struct zt_csv {
    zt_csv_row *rows; /* rows[0] is the header when the file has one */
    size_t n_rows;
    size_t cap;
} zt_csv;

/* Parse UTF-8 text (BOM already removed by zt_csv_decode). Records end with CRLF or LF; the last
 * one may lack it; wholly empty lines are skipped. Fields containing , " CR or LF are quoted, a
 * quote inside is doubled. Every record must have as many fields as the first. Refused, naming
 * the place: a quote inside an unquoted field, anything but , or a line end after a closing
 * quote, a quote left open at the end, a NUL byte, a CR not followed by LF, a wrong field count,
 * and the limits above. 0, or -EINVAL (err filled) / -ENOMEM. out is empty after a failure. */
int zt_csv_parse(const char *text, size_t len, zt_csv *out, zt_csv_error *err);
void zt_csv_dispose(zt_csv *c);

typedef enum zt_csv_encoding {
    ZT_CSV_UTF8 = 0,
    ZT_CSV_CP932, /* Microsoft's code page 932 (Excel's "Shift_JIS"): ～ − ① Ⅰ ㈱ 髙 */
} zt_csv_encoding;

/* "utf-8"/"utf8" or "cp932"/"shift_jis"/"sjis"/"windows-31j" (case-insensitive); false else. */
bool zt_csv_encoding_parse(const char *s, zt_csv_encoding *out);

/* The file's bytes as UTF-8 in *out (malloc'd, NUL-terminated, *out_len without the NUL),
 * without a UTF-8 BOM. Lines are classified first, so a file whose lines are in two encodings
 * is refused naming one line of each (an Excel export pasted under a UTF-8 one). UTF-8: every
 * byte must be valid UTF-8 (a CP932 file gets a hint to say --encoding cp932). CP932: a file
 * that is UTF-8 with non-ASCII text (or has a UTF-8 BOM) is refused rather than decoded into
 * mojibake; bytes CP932 has no character for are refused naming the line. NUL bytes are
 * refused. 0, -EINVAL (err filled), -E2BIG (over ZT_CSV_INPUT_MAX) or -ENOMEM. */
int zt_csv_decode(const char *in, size_t len, zt_csv_encoding enc, char **out, size_t *out_len,
                  zt_csv_error *err);

/* The UTF-8 text in enc for writing: UTF-8 unchanged (with a BOM when bom, for Excel), CP932
 * through iconv; a character CP932 cannot hold is -EILSEQ with *bad_at its byte offset. */
int zt_csv_encode(const char *utf8, size_t len, zt_csv_encoding enc, bool bom, char **out,
                  size_t *out_len, size_t *bad_at);

#endif
