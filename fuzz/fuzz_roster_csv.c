/* The roster reader on arbitrary bytes: decoding (UTF-8 or CP932, BOM, mixed files) then the
 * RFC 4180 parser. Must never crash, leak or hit UB; a failure must say where; a success must
 * give records of equal width whose fields are valid UTF-8, then rows the roster reader accepts
 * or refuses with a reason. The first byte picks the encoding. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "roster/csv.h"
#include "roster/roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zt_csv_encoding enc = (data[0] & 1) ? ZT_CSV_CP932 : ZT_CSV_UTF8;
    char *text = NULL;
    size_t len = 0;
    zt_csv_error err;
    int rc = zt_csv_decode((const char *)data + 1, size - 1, enc, &text, &len, &err);
    if (rc != 0) {
        if (rc == -EINVAL && err.msg[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    if (u8_check((const uint8_t *)text, len) != NULL)
        abort();
    zt_csv csv;
    rc = zt_csv_parse(text, len, &csv, &err);
    if (rc == -EINVAL && (err.msg[0] == '\0' || (err.row == 0 && err.line == 0)))
        abort();
    for (size_t r = 0; rc == 0 && r < csv.n_rows; r++) {
        if (csv.rows[r].n != csv.rows[0].n)
            abort();
        for (size_t f = 0; f < csv.rows[r].n; f++)
            if (u8_check((const uint8_t *)csv.rows[r].fields[f], strlen(csv.rows[r].fields[f])))
                abort();
    }
    /* Then the rows: header names, cell checks, duplicates (takes the CSV over). */
    if (rc == 0) {
        zt_roster r;
        rc = zt_roster_read(&csv, &r, &err);
        if (rc == -EINVAL && err.msg[0] == '\0')
            abort();
        for (size_t i = 0; rc == 0 && i < r.n; i++)
            if (r.entries[i].email[0] == '\0' || r.entries[i].n_groups > ZT_ROSTER_GROUPS_MAX)
                abort();
        zt_roster_dispose(&r);
    }
    free(text);
    return 0;
}
